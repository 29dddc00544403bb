"""Replay, paths, backward slice, loop costs and classification on hand-written logs.

The logs below are written in the 6.18 spelling (copied in form, not content, from the
recorded corpus); they are small so each test is exact about what it expects.
"""
from __future__ import annotations

from toolkit.analysis import analyse, backward_slice, build_trace, diagnose, loop_costs
from toolkit.logparse import parse_text

SPILL = """func#0 @0
0: R1=ctx() R10=fp0
; void *data = (void *)(long)skb->data; @ t.bpf.c:10
0: (61) r2 = *(u32 *)(r1 +76)         ; R1=ctx() R2=pkt(r=0)
1: (7b) *(u64 *)(r10 -8) = r2         ; R2=pkt(r=0) R10=fp0 fp-8=pkt(r=0)
; __u8 *p = saved; @ t.bpf.c:12
2: (79) r3 = *(u64 *)(r10 -8)         ; R3=pkt(r=0) R10=fp0
3: (07) r3 += 42                      ; R3=pkt(off=42,r=0)
; return p[0]; @ t.bpf.c:14
4: (71) r0 = *(u8 *)(r3 +0)
invalid access to packet, off=42 size=1, R3(id=0,off=42,r=0)
R3 offset is outside of the packet
processed 5 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
"""

JOIN = """func#0 @0
0: R1=ctx() R10=fp0
; data @ t.bpf.c:5
0: (61) r2 = *(u32 *)(r1 +76)         ; R1=ctx() R2=pkt(r=0)
1: (61) r3 = *(u32 *)(r1 +80)         ; R3=pkt_end()
2: (61) r4 = *(u32 *)(r1 +16)         ; R4=scalar()
; if (v6) @ t.bpf.c:7
3: (15) if r4 == 0x0 goto pc+3        ; R4=scalar()
; if (dns + 4 > end) @ t.bpf.c:9
4: (bf) r5 = r2                       ; R5=pkt(r=0)
5: (07) r5 += 4                       ; R5=pkt(off=4,r=0)
6: (2d) if r5 > r3 goto pc+2          ; R3=pkt_end() R5=pkt(off=4,r=4)
; return dns[3]; @ t.bpf.c:13
7: (71) r0 = *(u8 *)(r2 +3)           ; R0=scalar(smin=smin32=0,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff)) R2=pkt(r=4)
8: (95) exit
from 3 to 7: R1=ctx() R2=pkt(r=0) R3=pkt_end() R4=0 R10=fp0
; return dns[3]; @ t.bpf.c:13
7: (71) r0 = *(u8 *)(r2 +3)
invalid access to packet, off=3 size=1, R2(id=0,off=3,r=0)
R2 offset is outside of the packet
processed 10 insns (limit 1000000) max_states_per_insn 0 total_states 1 peak_states 1 mark_read 0
"""


def test_spill_fill_slice_and_class():
    d = diagnose(SPILL)
    assert d.class_id == "pkt-no-check"        # no check at all, even before the spill
    roles = [s.role for s in d.causal_path]
    assert roles == ["def", "spill", "fill", "def", "use"]
    assert d.source_line == 14 and d.insn == 4


def test_paths_are_kept_apart_and_join_is_found():
    t = build_trace(parse_text(JOIN))
    assert len(t.paths) == 2
    assert (t.paths[1].src, t.paths[1].dst, t.paths[1].parent) == (3, 7, 0)
    # replayed state of the failing path comes from the branch header, not from path 0
    assert t.failing_regs["R2"].r == 0
    assert t.step(t.paths[0].first_seq + 6).regs["R5"].off == 4
    d = diagnose(JOIN)
    assert d.class_id == "range-lost-join"
    assert d.source_line == 13
    assert "from the branch at insn 3" in d.explanation


def test_slice_crosses_into_parent_path():
    t = build_trace(parse_text(JOIN))
    sl = backward_slice(t, "r2", t.failing.seq)
    assert [s.idx for s in sl] == [7, 0]          # use on path 1, def on path 0


LOOP = """func#0 @0
0: R1=ctx() R10=fp0
; i = 0 @ l.bpf.c:3
0: (b7) r1 = 0                        ; R1=0
; for (;;) @ l.bpf.c:4
1: (07) r1 += 1                       ; R1=1
2: (a5) if r1 < 0x3 goto pc-2         ; R1=1
1: (07) r1 += 1                       ; R1=2
2: (a5) if r1 < 0x3 goto pc-2         ; R1=2
1: (07) r1 += 1                       ; R1=3
2: (a5) if r1 < 0x3 goto pc-2         ; R1=3
from 2 to 1: safe
3: (95) exit
BPF program is too large. Processed 1000001 insn
processed 1000001 insns (limit 1000000) max_states_per_insn 4 total_states 10 peak_states 10 mark_read 1
"""


def test_loop_costs_and_bounded_loop_class():
    t = build_trace(parse_text(LOOP))
    (c,) = loop_costs(t)
    assert (c.head, c.tail, c.insns_processed, c.iterations, c.prunes) == (1, 2, 6, 3, 1)
    d = diagnose(LOOP)
    assert d.class_id == "too-many-insns" and d.category == "bounded-loop"
    assert d.insn == 1 and d.source_line == 4
    assert "1000001" in d.explanation and "dns_loop" in d.helper


def test_off_by_one_numbers():
    log = """0: R1=ctx() R10=fp0
; data @ q.bpf.c:26
1: (61) r2 = *(u32 *)(r1 +76)         ; R1=ctx() R2=pkt(r=0)
2: (07) r2 += 54                      ; R2=pkt(off=54,r=0)
3: (61) r1 = *(u32 *)(r1 +80)         ; R1=pkt_end()
; if (dns + 12 > end) @ q.bpf.c:30
4: (2d) if r2 > r1 goto pc+5          ; R1=pkt_end() R2=pkt(off=54,r=54)
; if (dns[12] > 63) @ q.bpf.c:33
5: (71) r1 = *(u8 *)(r2 +0)
invalid access to packet, off=54 size=1, R2(id=0,off=54,r=54)
"""
    d = diagnose(log)
    assert d.class_id == "pkt-off-by-one"
    assert "needs bytes [54, 55) but the check at line 30 proved only 54 bytes" in d.explanation
    assert (d.check_line, d.proved, d.source_line) == (30, 54, 33)
    assert "cursor_pull" in d.fix


def test_accepted_truncated_and_empty_logs():
    assert diagnose("") is None
    assert diagnose("func#0 @0\n0: R1=ctx() R10=fp0\n0: (b7) r0 = 0 ; R0=0\n1: (95) ex") is None
    # truncated right after the error line: still diagnosed
    d = diagnose("0: R1=ctx() R10=fp0\n0: (95) exit\nR0 !read_ok")
    assert d.class_id == "r0-not-set" and d.insn == 0


def test_explain_document_keys():
    from toolkit.analysis import explain
    doc = explain(JOIN.splitlines() + ["some line nobody knows"])
    for k in ("lines_total", "lines_recognized", "unrecognized", "verdict", "error", "stats",
              "kernel_report"):
        assert k in doc
    assert doc["verdict"] == "rejected" and doc["kernel_report"] is None
    assert doc["unrecognized"] == [{"line": doc["lines_total"], "text": "some line nobody knows"}]
    e = doc["error"]
    for k in ("class", "category", "message", "insn", "source_file", "source_line",
              "explanation", "fix"):
        assert k in e


def test_diagnose_result_for_check():
    """`fqdnkit check` calls diagnose_result(LoadResult) and prints the dict's keys."""
    from toolkit.analysis import diagnose_result
    from toolkit.model import LoadResult, Verdict, VerifierStats
    r = LoadResult(object="/nonexistent.bpf.o", program="p", section="tc", prog_type="sched_cls",
                   verdict=Verdict.REJECTED, errno=13, log_level=2, log=JOIN,
                   stats=VerifierStats(), kernel_release="6.18")
    d = diagnose_result(r)
    for k in ("class", "category", "message", "insn", "source_file", "source_line",
              "explanation", "fix", "kernel_report"):
        assert k in d
    assert d["class"] == "range-lost-join" and d["source_line"] == 13
