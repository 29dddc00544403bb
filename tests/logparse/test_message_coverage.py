"""Every error message format of the kernels in tests/logparse/data (6.1, 6.12, 7.3; taken
from the kernels' own format strings by scripts/message_coverage.py) is classified by the
grammar as an error line with a family; the info formats are recognised as non-errors.
The new families carry the numbers a diagnosis needs. Pure and fast: no kernel."""
import sys
from pathlib import Path

import pytest

from toolkit.logparse import parse_lines
from toolkit.logparse.messages import classify_message

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
import message_coverage as mc  # noqa: E402

TAGS = mc.data_files(mc.DATA)

# formats the message catalog cannot reach because lines.py claims the line first:
# "stack depth " starts a statistics line there, and a line it cannot parse as one is
# "unknown" (the analysis still reports the rejection, see test_unknown_error.py)
LINES_PY_GAPS = {"stack depth %d exceeds interpreter stack depth limit"}


def test_data_files_cover_the_kernels():
    assert {"6.1", "6.12", "7.3"} <= set(TAGS)
    for tag, path in TAGS.items():
        rows = mc.read_formats(path)
        assert sum(1 for r in rows if r[1] == "error") > 300, tag


@pytest.mark.parametrize("tag", sorted(TAGS))
def test_every_error_format_is_classified(tag):
    rows = [r for r in mc.read_formats(TAGS[tag]) if r[2] not in LINES_PY_GAPS]
    res = mc.coverage(rows)
    ok, total, misses = res["error"]
    assert not misses, [m[:2] for m in misses]
    assert ok == total
    ok, total, misses = res["info"]
    assert not misses, [m[:2] for m in misses]


@pytest.mark.parametrize("fmt,text", [
    ("invalid%s stack R%d off=%d size=%d", "invalid stack R1 off=-8 size=8"),
    ("math between %s pointer and %lld is not allowed", "math between pkt pointer and 8 is not allowed"),
    ("func#%d @%d", "func#1 @8"),
    ("R%d invalid zero-sized read: u64=[%lld,%lld]", "R1 invalid zero-sized read: u64=[-8,8]"),
    ("invalid read from stack %s off %d+%d size %d", "invalid read from stack R1 off -8+8 size 8"),
])
def test_instantiate(fmt, text):
    assert mc.instantiate(fmt) == text


@pytest.mark.parametrize("text,family,fields", [
    ("value -2147483648 makes map_value pointer be out of bounds", "ptr-value-oob",
     {"value": "-2147483648", "ptr": "map_value"}),
    ("value 4294967296 makes pkt pointer be out of bounds", "pkt-offset-too-large",
     {"value": "4294967296"}),
    ("math between pkt pointer and 8589934588 is not allowed", "ptr-const-math",
     {"ptr": "pkt", "value": "8589934588"}),
    ("map_value pointer offset -1073741825 is not allowed", "ptr-const-math",
     {"ptr": "map_value", "value": "-1073741825"}),
    ("the sum of R3 umax_value 18446744073709551615 is too big", "ptr-sum-too-big",
     {"reg": "3", "bound": "umax", "value": "18446744073709551615"}),
    ("R2 invalid zero-sized read: u64=[0,4096]", "helper-arg", {"reg": "2"}),
    ("invalid zero-sized read", "helper-arg", {}),
    ("invalid access to context, ctx_size=192 off=200 size=4", "ctx-access",
     {"ctx_size": "192", "off": "200", "size": "4"}),
    ("R1 invalid tp_buffer access: off=8, size=4", "mem-oob", {"reg": "1", "what": "tp_buffer", "off": "8", "size": "4"}),
    ("invalid unbounded variable-offset stack R2", "stack-var-off", {"reg": "2"}),
    ("invalid variable-offset write to stack R3 var_off=(0x0; 0x7) off=-16 size=8", "stack-var-off",
     {"reg": "3", "rw": "write"}),
    ("stack size of subprog 1 is 544. Too large", "stack-too-big", {"subprog": "1", "size": "544"}),
    ("Leaking reference id=3 alloc_insn=12. Release it first.", "ref-leak", {"id": "3", "alloc_insn": "12"}),
    ("R4 has unknown scalar with mixed signed bounds, pointer arithmetic with it prohibited for !root",
     "ptr-arith-sanitize", {"reg": "4"}),
    ("R3 is a packet pointer, but func#2 may change packet data", "pkt-invalidated", {"reg": "3", "func": "2"}),
    ("In async callback the register R0 is not a known value (scalar())", "r0-exit", {}),
    ("read from map forbidden, value_size=8 off=0 size=4", "map-rdonly",
     {"rw": "read from", "value_size": "8", "off": "0", "size": "4"}),
    ("bpf_spin_unlock without taking a lock", "lock", {}),
    ("bpf_tail_call cannot be used inside bpf_rcu_read_lock-ed region", "lock-region", {}),
    ("verifier internal error: unknown reason (3)", "verifier-bug", {}),
    ("unexpected __bpf_trap() due to uninitialized variable?", "uninit-trap", {}),
    ("kernel function bpf_obj_drop_impl args#0 expected pointer to STRUCT foo but R1 has a pointer to STRUCT bar",
     "func-call", {}),
])
def test_new_families_and_fields(text, family, fields):
    e = classify_message(text)
    assert e is not None and e.family == family, (text, e)
    for k, v in fields.items():
        assert e.field(k) == v, (k, e.fields)


def test_older_families_keep_their_lines():
    """The new families come after the old ones: lines the catalog knew keep their family."""
    for text, family in [
        ("invalid access to packet, off=54 size=1, R2(id=0,off=54,r=54)", "pkt-access"),
        ("R1 min value is negative, either use unsigned index or do a if (index >=0) check.",
         "min-negative"),
        ("invalid write to stack R1 off=-528 size=1", "stack-oob"),
        ("math between map_value pointer and register with unbounded min value is not allowed",
         "ptr-unbounded-min"),
        ("The sequence of 8193 jumps is too complex.", "jumps-too-complex"),
        ("R0 !read_ok", "uninit-reg"),
    ]:
        assert classify_message(text).family == family, text


def test_info_lines_are_not_errors():
    for text in ("Func#1 ('f') is global and assumed valid.",
                 "Cannot find btf of tracepoint template, fall back to bpf_trace_raw_tp.",
                 "signature verification passed"):
        assert next(iter(parse_lines([text]))).kind not in ("error", "unknown"), text
