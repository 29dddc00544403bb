"""Error-message families: the stack messages of check_stack_access_within_bounds() are
bounds errors whatever the access kind; never-written bytes are a separate family; a leak
names the instruction that acquired the reference."""
import pytest

from toolkit.logparse.messages import classify_message


@pytest.mark.parametrize("text,rw", [
    ("invalid write to stack R1 off=-528 size=1", "write to"),
    ("invalid read from stack R2 off=-520 size=8", "read from"),
    ("invalid indirect access to stack R1 off=-16 size=32", "indirect access to"),
    ("invalid stack R1 off=-600 size=8", None),
])
def test_stack_bounds_messages_are_stack_oob(text, rw):
    m = classify_message(text)
    assert m is not None and m.family == "stack-oob"
    assert m.field("rw") == rw
    assert m.field("off") is not None and m.field("size") is not None


@pytest.mark.parametrize("text", [
    "invalid indirect read from stack R2 off -8+7 size 8",
    "invalid read from stack off -8+0 size 8",
    "invalid indirect read from stack R1 var_off (0x0; 0x7)+-16 size 8",
])
def test_never_written_stack_bytes_are_stack_uninit(text):
    m = classify_message(text)
    assert m is not None and m.family == "stack-uninit"


def test_leak_message_carries_the_acquiring_instruction():
    m = classify_message("Unreleased reference id=2 alloc_insn=5")
    assert m.family == "ref-leak" and m.field("alloc_insn") == "5" and m.field("id") == "2"
    assert classify_message("Unreleased reference id=3").field("alloc_insn") is None


# ------------------------------------------------- stack slots above a sub-register spill

from toolkit.logparse import parse_lines  # noqa: E402
from toolkit.logparse.grammar import parse_item  # noqa: E402


@pytest.mark.parametrize("text,marks,const,typ", [
    ("fp-8=00001", "0000", 1, "scalar"),
    ("fp-8=00002047", "0000", 2047, "scalar"),
    ("fp-8=0000P0", "0000", 0, "scalar"),
    ("fp-16=mmmmPscalar(id=1,smin=umin=smin32=umin32=12,smax=umax=smax32=umax32=76,"
     "var_off=(0x0; 0x7f))", "mmmm", None, "scalar"),
])
def test_slot_type_chars_above_a_subregister_spill_then_the_value(text, marks, const, typ):
    # kernel log.c prints the misc/zero/invalid chars above a 4-byte spill, then the value
    s = parse_item(text)
    assert s is not None and s.marks == marks
    assert s.value is not None and s.value.type == typ and s.value.const == const


def test_plain_slots_and_pointer_values_keep_their_meaning():
    assert parse_item("fp-8=0000????").marks == "0000????"
    assert parse_item("fp-8=mmmmmmmm").marks == "mmmmmmmm"
    assert parse_item("R3=fp-24").value.type == "fp"
    assert parse_item("R2=func()").value.type == "func"
    assert parse_item("R1=map_value(map=m,ks=4,vs=8)").value.type == "map_value"


def test_spilled_counter_lines_are_recognised_every_time_they_repeat():
    line = "35: (63) *(u32 *)(r10 -8) = r1        ; R1={} R10=fp0 fp-8=0000{}"
    kinds = [ln.kind for ln in parse_lines([line.format(i, i) for i in range(1, 8)])]
    assert kinds == ["insn"] * 7
