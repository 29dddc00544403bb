"""A log that holds an error is never read as accepted: an unrecognised line after the last
instruction (followed only by statistics, or by the end of the log) is the rejection's
message, class "other". The message families added for kernels 6.1 .. 7.3 map to their
catalog classes."""
import pytest

from toolkit.analysis import diagnose, explain

HEAD = "func#0 @0\n0: R1=ctx() R10=fp0\n0: (b7) r0 = 0 ; R0=0\n1: (95) exit\n"
STATS = "processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n"


def test_unknown_last_line_before_processed_is_a_rejection():
    doc = explain((HEAD + "a message no kernel printed yet\n" + STATS).splitlines())
    assert doc["verdict"] == "rejected"
    assert doc["error"]["class"] == "other"
    assert doc["error"]["message"] == "a message no kernel printed yet"
    assert doc["error"]["insn"] == 1


def test_unknown_last_line_at_the_end_of_the_log_is_a_rejection():
    d = diagnose(HEAD + "a message no kernel printed yet\n")
    assert d is not None and d.class_id == "other"
    assert d.message == "a message no kernel printed yet"


def test_unknown_line_before_any_instruction_is_a_rejection():
    # load-time errors come before any instruction is printed
    d = diagnose("a load-time complaint nobody knows\n" + STATS)
    assert d is not None and d.class_id == "other"


def test_accepted_log_stays_accepted():
    doc = explain((HEAD + STATS).splitlines())
    assert doc["verdict"] == "accepted" and doc["error"] is None


def test_unknown_line_followed_by_instructions_is_not_the_error():
    log = ("func#0 @0\n0: R1=ctx() R10=fp0\n0: (b7) r0 = 0 ; R0=0\na line nobody knows\n"
           "1: (95) exit\n" + STATS)
    assert explain(log.splitlines())["verdict"] == "accepted"


@pytest.mark.parametrize("message,cls", [
    ("value -2147483648 makes map_value pointer be out of bounds", "negative-min"),
    ("value 2147483648 makes map_value pointer be out of bounds", "map-value-oob"),
    ("value 2147483648 makes pkt pointer be out of bounds", "pkt-offset-too-large"),
    ("math between pkt pointer and 8589934588 is not allowed", "ptr-arith"),
    ("R2 invalid zero-sized read: u64=[0,0]", "helper-arg"),
    ("invalid zero-sized read", "helper-arg"),
    ("R3 has unknown scalar with mixed signed bounds, pointer arithmetic with it prohibited for !root",
     "ptr-arith"),
    ("stack size of subprog 1 is 544. Too large", "stack-oob"),
    ("bpf_tail_call cannot be used inside bpf_rcu_read_lock-ed region", "helper-unavailable"),
    ("unexpected __bpf_trap() due to uninitialized variable?", "uninit-read"),
    ("kernel function bpf_obj_drop_impl args#0 expected pointer to STRUCT foo but R1 has a "
     "pointer to STRUCT bar", "helper-arg"),
])
def test_new_families_map_to_classes(message, cls):
    log = ("func#0 @0\n0: R1=ctx() R10=fp0\n0: (b7) r0 = 0 ; R0=0\n1: (07) r0 += 1 ; R0=1\n"
           + message + "\n" + STATS)
    d = diagnose(log)
    assert d is not None and d.class_id == cls, (message, d and d.class_id, d and d.family)
