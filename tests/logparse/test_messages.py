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
