"""Rules of docs/DIAGNOSIS_CLASSES.md checked on logs recorded on 6.18 (programs of the
third held-out set, used for development after it was scored once)."""
import gzip
import os
from types import SimpleNamespace

from toolkit.analysis import analyse
from toolkit.analysis.location import _do_of_do_while

DATA = os.path.join(os.path.dirname(__file__), "data")


def _diag(name):
    path = os.path.join(DATA, name)
    op = gzip.open if name.endswith(".gz") else open
    with op(path, "rt") as fh:
        return analyse(fh)[3]


def test_helper_writing_past_a_stack_buffer_is_stack_oob():
    # bpf_probe_read_kernel(buf16, 32, ...): "invalid write to stack R1 off=-16 size=32"
    d = _diag("h3_helper_stack_overrun.level2.log")
    assert d.class_id == "stack-oob" and "call" in d.insn_text


def test_negative_offset_into_a_map_value_is_negative_min():
    # "invalid access to map value, value_size=192 off=-8 size=8": a signed index
    d = _diag("h3_negative_map_offset.level2.log.gz")
    assert d.class_id == "negative-min" and "-8" in d.explanation


def test_index_bounded_by_a_mask_then_spilled_narrow_is_range_lost_spill():
    # idx = port % 64 stored in a 2-byte stack field and reloaded: umax 63 -> 65535
    d = _diag("h3_index_spilled_narrow.level2.log")
    assert d.class_id == "range-lost-spill"
    assert "came back without its range" in d.explanation


def test_do_while_is_reported_at_its_do_line(tmp_path):
    src = tmp_path / "p.bpf.c"
    src.write_text("int f(void)\n{\n\tint i = 0;\n\tdo {\n\t\ti++;\n\t\tif (i) { i--; }\n"
                   "\t} while (i < 4);\n\treturn 0;\n}\n")
    ctx = SimpleNamespace(lines_of=SimpleNamespace(paths={"p.bpf.c": str(src)}))
    found = ("p.bpf.c", 7, "} while (i < 4);")
    assert _do_of_do_while(ctx, found) == ("p.bpf.c", 4, "do {")
    # without the source (or a file that changed) the while line stays
    ctx.lines_of.paths = {}
    assert _do_of_do_while(ctx, found) == found
