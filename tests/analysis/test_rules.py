"""The diagnosis rules added for generalisation, each on a small recorded or hand-written log.

Recorded logs in data/ come from the dev2 development set (6.18.44, level 2 unless named
.level1.log): small failing programs written before their diagnosis was looked at. The
hand-written logs use the 6.18 spelling and isolate one rule each.
"""
from __future__ import annotations

import os

from toolkit.analysis import analyse, diagnose

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def diag_of(name: str, obj: str | None = None, prog: str | None = None):
    with open(os.path.join(DATA, name)) as fh:
        return analyse(fh, os.path.join(DATA, obj) if obj else None, prog)[3]


# ---------------------------------------------------------------- unknown error lines

def test_error_line_the_grammar_does_not_know_is_still_the_rejection():
    # "invalid write to stack R1 off=-528 size=1" has no family in the grammar: the line
    # right after the last insn, followed by `processed`, is the error; its text says stack-oob
    d = diag_of("e_sub_stack_oob.level2.log")
    assert d is not None
    assert (d.class_id, d.source_line, d.insn) == ("stack-oob", 5, 8)


def test_unknown_line_before_the_last_instruction_is_not_an_error():
    log = """0: R1=ctx() R10=fp0
some debugging line nobody knows
0: (b7) r0 = 0                        ; R0=0
1: (95) exit
processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
"""
    assert diagnose(log) is None


def test_unknown_line_after_the_last_instruction_is_reported_as_the_rejection():
    # the kernel prints its error after the last instruction it verified: a line there that
    # no family knows is still the error (class "other"), never an "accepted" verdict
    log = """0: R1=ctx() R10=fp0
0: (b7) r0 = 0                        ; R0=0
1: (95) exit
some error message nobody knows
processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
"""
    d = diagnose(log)
    assert d is not None and d.class_id == "other" and "nobody knows" in d.message


# ---------------------------------------------------------------- joins

def test_join_with_a_partial_range_on_the_failing_path():
    # r=14 on the IPv4 path (only the Ethernet header checked); the IPv6 path, explored
    # first, passed the same read with r=62: the check does not dominate the read
    d = diag_of("e_xdp_v4v6_join.level2.log")
    assert (d.class_id, d.source_line, d.insn) == ("range-lost-join", 20, 17)
    assert "branch at insn 11" in d.explanation


def test_join_needs_the_other_path_level1_cannot_tell():
    # level 1 drops the IPv6 path that verified: no evidence of a join, the numbers say
    # the check is short
    d = diag_of("e_xdp_v4v6_join.level1.log")
    assert (d.class_id, d.source_line) == ("pkt-off-by-one", 20)


def test_index_bounded_on_one_incoming_edge_only():
    d = diag_of("e_join_index.level2.log")
    assert (d.class_id, d.source_line) == ("range-lost-join", 18)


def test_loop_iterations_are_not_joins():
    # the read inside the loop fails on the first iteration: off-by-one, not a join
    d = diag_of("e_loop_pkt_sum.level2.log")
    assert (d.class_id, d.source_line) == ("pkt-off-by-one", 14)


# ---------------------------------------------------------------- spills

def test_index_range_lost_through_a_misaligned_spill():
    # checked <= 255, stored as u16 at fp-6 (not 8-aligned: no bounds kept), refilled 0..0xffff
    d = diag_of("e_tc_misaligned_spill.level2.log")
    assert (d.class_id, d.source_line) == ("range-lost-spill", 19)
    assert "checked at line 15" in d.explanation


SPILLED = """0: R1=ctx() R10=fp0
; long a = regs->si; @ k.bpf.c:5
0: (79) r2 = *(u64 *)(r1 +104)        ; R1=ctx() R2={what}
1: (7b) *(u64 *)(r10 -8) = r2         ; R2={what} R10=fp0 fp-8={what}
; bpf_get_prandom_u32(); @ k.bpf.c:6
2: (85) call bpf_get_prandom_u32#7    ; R0=scalar()
; return *(char *)a; @ k.bpf.c:7
3: (61) r1 = *(u32 *)(r10 -8)         ; R1=scalar() R10=fp0
4: (71) r0 = *(u8 *)(r1 +0)
R1 invalid mem access 'scalar'
processed 5 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
"""


def test_scalar_through_the_stack_is_a_scalar_deref():
    d = diagnose(SPILLED.format(what="scalar()"))
    assert (d.class_id, d.source_line) == ("scalar-deref", 7)


def test_pointer_through_the_stack_lost_its_type():
    d = diagnose(SPILLED.format(what="pkt(r=0)"))
    assert (d.class_id, d.source_line) == ("range-lost-spill", 7)


def test_scalar_deref_recorded():
    d = diag_of("e_kp_user_ptr.level2.log")
    assert (d.class_id, d.source_line) == ("scalar-deref", 8)


# ---------------------------------------------------------------- map values and helpers

def test_index_bounded_by_a_too_loose_check_is_map_value_oob():
    # q < 100 checked, table of 64 u32: the access may reach byte 396 of 256
    d = diag_of("e_loose_bound.level2.log")
    assert (d.class_id, d.source_line, d.check_line) == ("map-value-oob", 16, 14)


def test_helper_given_a_size_beyond_its_buffer_is_helper_arg():
    # invalid access to map value ... size=255 at `call bpf_probe_read_kernel`
    d = diag_of("e_kp_copy_big.level2.log")
    assert (d.class_id, d.source_line) == ("helper-arg", 15)
    assert "bpf_probe_read_kernel" in d.explanation


# ---------------------------------------------------------------- reference leaks

def test_leak_is_reported_at_the_acquisition_and_names_the_leaking_branch():
    # `if (pid == 1) return 0;` was merged into the epilogue (line 18, "}"): the line is
    # where the reference was acquired (alloc_insn, line 8); the explanation names the
    # branch (line 12) through which the leaking path reached the exit
    d = diag_of("e_ringbuf_leak.level2.log")
    assert (d.class_id, d.insn, d.source_line) == ("unreleased-ref", 4, 8)
    assert "branch at line 12" in d.explanation


def test_leak_on_the_straight_path_reports_the_acquisition():
    d = diag_of("e_tc_sk_lookup_leak.level2.log")
    assert (d.class_id, d.insn, d.source_line) == ("unreleased-ref", 26, 16)


# ---------------------------------------------------------------- level 1 source lines

def test_level1_jump_target_without_a_printed_line_takes_the_objects_line():
    # level 1 dropped the path that printed line 9; after the taken jump the kernel printed
    # no line for insn 4, so the last printed one (line 7) is only a guess: the object says 9
    d = diag_of("e_cgroup_verdict.level1.log", "e_cgroup_verdict.bpf.o", "e_cgroup_verdict")
    assert (d.class_id, d.source_line) == ("bad-return", 9)
    # without the object the guess is all there is
    d = diag_of("e_cgroup_verdict.level1.log")
    assert (d.class_id, d.source_line) == ("bad-return", 7)


# ---------------------------------------------------------------- loop header lines

INLINED = """func#0 @0
0: R1=ctx() R10=fp0
; for (__u32 i = 0; i < 4000; i++) { @ l.bpf.c:20
0: (b7) r1 = 0                        ; R1=0
1: (b7) r2 = 0                        ; R2=0
; if (c >= 'a' && c <= 'z') @ l.bpf.c:7
2: (25) if r2 > 0x7a goto pc+1        ; R2=0
; n++; @ l.bpf.c:24
3: (07) r2 += 1                       ; R2=1
; for (__u32 i = 0; i < 4000; i++) { @ l.bpf.c:20
4: (07) r1 += 1                       ; R1=1
5: (a5) if r1 < 0xfa0 goto pc-4       ; R1=1
6: (95) exit
The sequence of 8193 jumps is too complex.
processed 9 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
"""


def test_loop_line_is_the_for_line_not_an_inlined_helpers_line():
    # the helper inlined into the body sits above the loop (line 7): the smallest line of
    # the region is not the loop's; the for/while line is
    d = diagnose(INLINED)
    assert (d.class_id, d.source_line) == ("jump-seq-too-complex", 20)


ROTATED = """func#0 @0
0: R1=ctx() R10=fp0
; while (a < 1000) { @ w.bpf.c:12
0: (b7) r1 = 0                        ; R1=0
; h = h * 31 + c; @ w.bpf.c:14
1: (27) r2 *= 31                      ; R2=0
; a += 2; @ w.bpf.c:15
2: (07) r1 += 2                       ; R1=2
3: (a5) if r1 < 0x3e8 goto pc-3       ; R1=2
4: (95) exit
BPF program is too large. Processed 1000001 insn
processed 1000001 insns (limit 1000000) max_states_per_insn 4 total_states 10 peak_states 10 mark_read 1
"""


def test_loop_line_from_the_rotated_loops_guard():
    # no instruction of the back-edge region carries the while line; the guard before it does
    d = diagnose(ROTATED)
    assert (d.class_id, d.source_line) == ("too-many-insns", 12)


CALLBACK = """func#0 @0
func#1 @7
0: R1=ctx() R10=fp0
; struct walk w = {}; @ c.bpf.c:20
0: (b7) r1 = 0                        ; R1=0
1: (7b) *(u64 *)(r10 -8) = r1         ; R1=0 R10=fp0 fp-8=0
2: (bf) r3 = r10                      ; R3=fp0 R10=fp0
3: (07) r3 += -8                      ; R3=fp-8
; bpf_loop(255, copy_one, &w, 0); @ c.bpf.c:24
4: (b7) r1 = 255                      ; R1=255
5: (85) call bpf_loop#181
6: (95) exit
from 5 to 7: frame1: R1=scalar() R2=fp[0]-8 R10=fp0 cb
7: frame1: R1=scalar() R2=fp[0]-8 R10=fp0 cb
; w->out++; @ c.bpf.c:12
7: (61) r1 = *(u32 *)(r2 +0)          ; frame1: R1=scalar() R2=fp[0]-8 cb
8: (07) r1 += 1                       ; frame1: R1=scalar() cb
9: (63) *(u32 *)(r2 +0) = r1          ; frame1: R1=scalar() R2=fp[0]-8 cb
; return 0; @ c.bpf.c:14
10: (b7) r0 = 0                       ; frame1: R0=0 cb
11: (95) exit
BPF program is too large. Processed 1000001 insn
processed 1000001 insns (limit 1000000) max_states_per_insn 4 total_states 10 peak_states 10 mark_read 1
"""


def test_bpf_loop_callback_explosion_is_reported_at_the_bpf_loop_call():
    # no back-edge in the program text: the verifier iterated the callback; the loop is
    # the bpf_loop() call
    d = diagnose(CALLBACK)
    assert (d.class_id, d.insn, d.source_line) == ("too-many-insns", 5, 24)


BAD_RET = """0: R1=ctx() R10=fp0
; int v = 0; @ r.bpf.c:5
0: (b7) r0 = 2                        ; R0=2
; {tail} @ r.bpf.c:9
1: (95) exit
At program exit the register R0 has smin=2 smax=2 should have been in [0, 1]
processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
"""


def test_bad_return_on_a_return_line_and_in_the_epilogue():
    # the exit has a `return` line of its own: reported there
    assert diagnose(BAD_RET.replace("{tail}", "return v;")).source_line == 9
    # the exit is the closing brace (merged epilogue): the insn that set R0
    assert diagnose(BAD_RET.replace("{tail}", "}")).source_line == 5


TWO_LOOPS = """func#0 @0
0: R1=ctx() R10=fp0
; for (i = 0; i < 5; i++) @ s.bpf.c:4
0: (b7) r1 = 0                        ; R1=0
1: (07) r1 += 1                       ; R1=1
2: (a5) if r1 < 0x5 goto pc-2         ; R1=1
1: (07) r1 += 1                       ; R1=2
2: (a5) if r1 < 0x5 goto pc-2         ; R1=2
1: (07) r1 += 1                       ; R1=3
2: (a5) if r1 < 0x5 goto pc-2         ; R1=3
1: (07) r1 += 1                       ; R1=4
2: (a5) if r1 < 0x5 goto pc-2         ; R1=4
1: (07) r1 += 1                       ; R1=5
2: (a5) if r1 < 0x5 goto pc-2         ; R1=5
; while (j < n) @ s.bpf.c:8
3: (b7) r2 = 0                        ; R2=0
4: (07) r2 += 1                       ; R2=1
5: (2d) if r3 > r2 goto pc-2          ; R2=1
4: (07) r2 += 1                       ; R2=2
5: (2d) if r3 > r2 goto pc-2          ; R2=2
4: (07) r2 += 1                       ; R2=3
5: (2d) if r3 > r2 goto pc-2
The sequence of 8193 jumps is too complex.
processed 20 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
"""


def test_loop_failure_is_reported_at_the_loop_the_verifier_was_in():
    # the first loop cost more printed visits, but the verifier gave up in the second one
    d = diagnose(TWO_LOOPS)
    assert (d.class_id, d.source_line) == ("jump-seq-too-complex", 8)


HELPER_STACK = """0: R1=ctx() R10=fp0
; __u64 key[2] = {}; @ h.bpf.c:8
0: (b7) r2 = 0                        ; R2=0
1: (7b) *(u64 *)(r10 -8) = r2         ; R2=0 R10=fp0 fp-8=0
2: (7b) *(u64 *)(r10 -16) = r2        ; R2=0 R10=fp0 fp-16=0
3: (bf) r1 = r10                      ; R1=fp0 R10=fp0
4: (07) r1 += -16                     ; R1=fp-16
; bpf_probe_read_kernel(key, 32, src); @ h.bpf.c:9
5: (b7) r2 = 32                       ; R2=32
6: (85) call bpf_probe_read_kernel#113
{msg}
processed 7 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
"""


def test_helper_given_more_bytes_than_the_stack_buffer():
    # 6.18 spelling and the older one: a stack buffer overrun, reported at the call
    # (docs/DIAGNOSIS_CLASSES.md, Stack: stack-oob covers a helper given more bytes)
    for msg in ("invalid write to stack R1 off=-16 size=32",
                "invalid indirect access to stack R1 off=-16 size=32"):
        d = diagnose(HELPER_STACK.replace("{msg}", msg))
        assert (d.class_id, d.source_line) == ("stack-oob", 9), msg


def test_context_read_through_a_moved_pointer_is_ctx_access():
    d = diag_of("e_ctx_moved.level2.log")
    assert (d.class_id, d.source_line) == ("ctx-access", 5)


def test_packet_pointer_invalidated_by_a_packet_changing_helper():
    # dns = data + 42 ... bpf_skb_pull_data() ... dns[2]: the verifier turned the stale
    # pointer into a scalar ("R6 invalid mem access 'scalar'"): a missing re-check
    d = diag_of("e_pull_stale.level2.log")
    assert (d.class_id, d.source_line) == ("pkt-no-check", 12)
    assert "bpf_skb_pull_data" in d.explanation and "line 9" in d.explanation
