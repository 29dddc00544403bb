"""toolkit.logdiff and toolkit.corpus on real logs: inline excerpts of captured logs and the
committed corpus in verifier_logs/ (no VM, no root)."""
from __future__ import annotations

import gzip
import json
from pathlib import Path


from toolkit import corpus
from toolkit.commands import diff as diff_cmd
from toolkit.logdiff import (diff_dirs, diff_logs, normalise_insn, normalise_state, read_trace,
                             split_variant, technique_matrix)

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "verifier_logs"

# dns_qname_unchecked on 6.1 and 7.3 (captured in qemu), trimmed of 7.3's preamble.
LOG_61 = """func#0 @0
0: R1=ctx(off=0,imm=0) R10=fp0
; int dns_qname_unchecked(struct __sk_buff *skb)
0: (b7) r0 = 0                        ; R0_w=0
; void *data = (void *)(long)skb->data;
1: (61) r2 = *(u32 *)(r1 +76)         ; R1=ctx(off=0,imm=0) R2_w=pkt(off=0,r=0,imm=0)
; if ((void *)(dns + DNS_HDR_LEN) > data_end)
2: (07) r2 += 54                      ; R2_w=pkt(off=54,r=0,imm=0)
; void *data_end = (void *)(long)skb->data_end;
3: (61) r1 = *(u32 *)(r1 +80)         ; R1_w=pkt_end(off=0,imm=0)
; if ((void *)(dns + DNS_HDR_LEN) > data_end)
4: (2d) if r2 > r1 goto pc+5          ; R1_w=pkt_end(off=0,imm=0) R2_w=pkt(off=54,r=54,imm=0)
; if (dns[DNS_HDR_LEN] > 63)
5: (71) r1 = *(u8 *)(r2 +0)
invalid access to packet, off=54 size=1, R2(id=0,off=54,r=54)
R2 offset is outside of the packet
verification time 457 usec
stack depth 0
processed 6 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
"""

LOG_73 = """func#0 @0
topo_order[0] = dns_qname_unchecked
subprog#0: analyzing (depth 0)...
subprog#0 dns_qname_unchecked:
  0: (b7) r0 = 0
  5: (71) r1 = *(u8 *)(r2 +0)
Live regs before insn:
      0: .1........ (b7) r0 = 0
      1: 01........ (61) r2 = *(u32 *)(r1 +76)             ; zext
0: R1=ctx() R10=fp0
; int dns_qname_unchecked(struct __sk_buff *skb) @ dns_qname_unchecked.bpf.c:24
0: (b7) r0 = 0                        ; R0=0
; void *data = (void *)(long)skb->data; @ dns_qname_unchecked.bpf.c:26
1: (61) r2 = *(u32 *)(r1 +76)         ; R1=ctx() R2=pkt(r=0)
; if ((void *)(dns + DNS_HDR_LEN) > data_end) @ dns_qname_unchecked.bpf.c:30
2: (07) r2 += 54                      ; R2=pkt(r=0,imm=54)
; void *data_end = (void *)(long)skb->data_end; @ dns_qname_unchecked.bpf.c:27
3: (61) r1 = *(u32 *)(r1 +80)         ; R1=pkt_end()
; if ((void *)(dns + DNS_HDR_LEN) > data_end) @ dns_qname_unchecked.bpf.c:30
4: (2d) if r2 > r1 goto pc+5          ; R1=pkt_end() R2=pkt(r=54,imm=54)
; if (dns[DNS_HDR_LEN] > 63) @ dns_qname_unchecked.bpf.c:33
5: (71) r1 = *(u8 *)(r2 +0)
invalid access to packet, off=54 size=1, R2(id=0,off=54,r=54)
R2 min value is outside of the allowed memory range

Verification failed: Memory Safety: Access outside bounds

Reason:
  The verifier cannot prove offset + access_size <= object_size.

Suggestion:
  Add or adjust a bounds check that proves offset + access_size stays within the object.

verification time 4156 usec
stack depth max 0
subprog 0 (dns_qname_unchecked) main insns_self 6 insns_total 6 stack 0
processed 6 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
"""


def test_read_trace_skips_preambles_and_cuts_the_report():
    t61, t73 = read_trace(LOG_61), read_trace(LOG_73)
    assert [e.idx for e in t61.events] == [e.idx for e in t73.events] == [0, 0, 1, 2, 3, 4, 5]
    assert t73.error.endswith("R2 min value is outside of the allowed memory range")
    assert "Verification failed" not in t73.error
    assert t73.report.startswith("Verification failed: Memory Safety: Access outside bounds")
    assert t73.events[-1].src_line == 33 and t61.events[-1].src_line is None
    assert not t61.accepted and t61.stats["insns_processed"] == 6
    assert t73.stats["stack_depth"] == "0"


def test_normalise_removes_cosmetic_kernel_differences():
    assert normalise_state("R1_w=pkt(off=54,r=0,imm=0) R0=ctx(off=0,imm=0)") == \
        normalise_state("R1=pkt(r=0,imm=54) R0=ctx()")
    assert normalise_state("R1_w=scalar(umax=4294967295,var_off=(0x0; 0xffffffff))") == \
        normalise_state("R1=scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff))")
    assert normalise_state("R3_w=inv(umax=255,var_off=(0x0; 0xff))") == \
        normalise_state("R3=scalar(smin=smin32=0,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff))")
    # a real difference survives
    assert normalise_state("R0=map_value_or_null(id=1,off=0,ks=4,vs=8,imm=0)") != \
        normalise_state("R0=map_value(map=dns_counts,ks=4,vs=8)")
    assert normalise_insn("r1 = 0xff2edf3d1ff87000") == normalise_insn("r1 = 0xffff88813a4b9e00")


def test_diff_logs_aligns_by_instruction_and_reports_message_change():
    d = diff_logs(LOG_61, LOG_73)
    assert not d.identical
    assert d.first_path is None            # same instructions visited in the same order
    assert d.first_semantic is None        # states equal once the format is normalised
    assert d.first_raw is not None and d.first_raw.position == 0
    assert d.error_changed
    assert "Verification failed report" in d.features_only_b
    assert "_w suffixes" in d.features_only_a
    assert "source @ file:line" in d.features_only_b
    # 6.1 has no @ file:line: the line is taken from the other log's same source text
    assert read_trace(LOG_61).events[-1].src_line is None


def test_diff_logs_finds_a_path_divergence():
    b = LOG_61.replace("4: (2d) if r2 > r1 goto pc+5          ; R1_w=pkt_end(off=0,imm=0) "
                       "R2_w=pkt(off=54,r=54,imm=0)\n; if (dns[DNS_HDR_LEN] > 63)\n"
                       "5: (71) r1 = *(u8 *)(r2 +0)\n",
                       "4: (2d) if r2 > r1 goto pc+5          ; R1_w=pkt_end(off=0,imm=0)\n"
                       "10: (95) exit\n")
    d = diff_logs(LOG_61, b)
    assert d.first_path is not None
    assert (d.first_path.a.idx, d.first_path.b.idx) == (5, 10)


def test_two_log_command_on_gzipped_log(tmp_path, capsys):
    a = tmp_path / "a.level2.log"
    a.write_text(LOG_61)
    b = tmp_path / "b.level2.log.gz"
    b.write_bytes(gzip.compress(LOG_73.encode()))
    assert corpus.read_log(b) == LOG_73
    args = type("A", (), {"matrix": None, "a": str(a), "b": str(b), "output": "json",
                          "context": 2, "all": False, "root": "verifier_logs"})
    assert diff_cmd.run(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["error_changed"] is True and out["first_path_divergence"] is None


def _write(root: Path, kernel: str, stem: str, prog: str, log: str, verdict: str, insns: int):
    meta = {"program": prog, "verdict": verdict, "errno": 0 if verdict == "accepted" else 13,
            "stats": {"insns_processed": insns, "total_states": 1, "peak_states": 1}}
    corpus.write_program(root / kernel / stem, prog, log, meta)


def test_diff_dirs_and_matrix_on_a_small_corpus(tmp_path):
    _write(tmp_path, "6.1.0-56-cloud-amd64", "walk.bounded", "walk", LOG_61, "rejected", 6)
    _write(tmp_path, "7.3.4+deb13-cloud-amd64", "walk.bounded", "walk", LOG_73, "accepted", 12)
    _write(tmp_path, "6.12.117+deb12-cloud-amd64", "walk.bounded", "walk", LOG_61, "accepted", 9)
    _write(tmp_path, "6.1.0-56-cloud-amd64", "walk.iter", "walk", LOG_61, "rejected", 6)
    _write(tmp_path, "7.3.4+deb13-cloud-amd64", "walk.iter", "walk", LOG_61, "accepted", 6)
    dd = diff_dirs(tmp_path / "6.1.0-56-cloud-amd64", tmp_path / "7.3.4+deb13-cloud-amd64")
    row = next(r for r in dd.rows if r.object == "walk.bounded")
    assert (row.verdict_a, row.verdict_b) == ("rejected", "accepted")
    assert row.delta("insns_processed") == (6, 100.0)
    assert row.log is not None and row.log.error_changed
    assert next(r for r in dd.rows if r.object == "walk.iter").log is None  # same log
    kernels, rows = technique_matrix(tmp_path)
    assert [corpus.kernel_series(k) for k in kernels] == ["6.1", "6.12", "7.3"]
    by = {r.variant: r for r in rows}
    assert by["walk.bounded"].oldest_accepting == "6.12.117+deb12-cloud-amd64"
    assert by["walk.iter"].oldest_accepting == "7.3.4+deb13-cloud-amd64"
    # a newer kernel that rejects a variant again is reported
    _write(tmp_path, "6.18.44-fc", "walk.bounded", "walk", LOG_61, "rejected", 6)
    _, rows = technique_matrix(tmp_path)
    b = next(r for r in rows if r.variant == "walk.bounded")
    assert b.oldest_accepting == "6.12.117+deb12-cloud-amd64"
    assert b.rejected_after == ["6.18.44-fc"]
    assert split_variant("label_walk.may_goto") == ("label_walk", "may_goto")
    assert split_variant("dns_count_tc") is None


def test_write_program_gzips_large_logs(tmp_path):
    big = "0: (b7) r0 = 0 ; R0_w=0\n" * 100_000
    p = corpus.write_program(tmp_path / "k" / "o", "p", big, {"verdict": "accepted"})
    assert p.name == "p.level2.log.gz"
    e = next(corpus.iter_corpus(tmp_path))
    assert (e.kernel, e.object, e.program) == ("k", "o", "p")
    assert corpus.read_log(e.path) == big


def _corpus_kernels() -> list[Path]:
    return corpus.kernels(CORPUS) if CORPUS.is_dir() else []


def test_committed_corpus_is_complete_and_diffable():
    ks = _corpus_kernels()
    series = {corpus.kernel_series(k.name) for k in ks}
    assert {"6.1", "6.12", "7.3"} <= series, f"{CORPUS}: captured kernels {sorted(series)}"
    entries = list(corpus.iter_corpus(CORPUS))
    assert entries
    for e in entries:
        assert e.meta["kernel_release"] == e.kernel
        assert e.meta["verdict"] in ("accepted", "rejected", "timeout")
        assert set(corpus.STAT_KEYS) <= set(e.meta["stats"])
    # the same reference program on the oldest and the newest kernel
    oldest, newest = ks[0], ks[-1]
    dd = diff_dirs(oldest, newest)
    assert dd.rows and all(r.verdict_a and r.verdict_b for r in dd.rows
                           if r.object == "dns_qname_unchecked")
    r = next(r for r in dd.rows if r.program == "dns_qname_unchecked")
    assert (r.verdict_a, r.verdict_b) == ("rejected", "rejected")
    assert r.log is not None and r.log.first_raw is not None


def test_committed_corpus_shows_61_vs_newer_format_changes():
    ks = {corpus.kernel_series(k.name): k for k in _corpus_kernels()}
    diffs = []
    for prog in ("dns_count_tc", "dns_qname_unchecked"):
        a = corpus.log_path(ks["6.1"] / prog, prog)
        b = corpus.log_path(ks["6.12"] / prog, prog)
        diffs.append(diff_logs(corpus.read_log(a), corpus.read_log(b)))
    feats_a = set().union(*(d.features_only_a for d in diffs))
    feats_b = set().union(*(d.features_only_b for d in diffs))
    assert "_w suffixes" not in feats_a | feats_b   # both print them
    assert "source text without file:line" in feats_a
    assert "source @ file:line" in feats_b


def test_read_trace_verdict_agrees_with_the_kernel_on_the_corpus():
    """The error block read_trace finds is empty exactly for the accepted programs (plain
    logs under 1 MB, to stay fast)."""
    checked = 0
    for e in corpus.iter_corpus(CORPUS):
        if e.path.suffix == ".gz" or e.path.stat().st_size > 1 << 20 \
                or e.meta["verdict"] == "timeout":
            continue
        t = read_trace(corpus.read_log(e.path))
        assert t.accepted == (e.meta["verdict"] == "accepted"), (e.path, t.error)
        checked += 1
    assert checked > 20


def test_error_is_found_after_source_lines_with_tabs_and_7_3_scc_lines():
    log = ("0: R1=ctx() R10=fp0\n"
           "; while (c != 0) {\t\t\t/* mistake */ @ loop.bpf.c:52\n"
           "14: (55) if r1 != 0x0 goto pc-3\n"
           "; while (c != 0) {\t\t\t/* mistake */ @ loop.bpf.c:52\n"
           "infinite loop detected at insn 14\n"
           "verification time 10 usec\nstack depth 0\n"
           "processed 30 insns (limit 1000000) max_states_per_insn 0 total_states 2 "
           "peak_states 2 mark_read 0\n")
    t = read_trace(log)
    assert t.error == "infinite loop detected at insn 14"
    ok = read_trace("0: R1=ctx() R10=fp0\n0: (95) exit\nSCC exit (1)\nverification time 1 usec\n"
                    "processed 1 insns (limit 1000000) max_states_per_insn 0 total_states 0 "
                    "peak_states 0 mark_read 0\n")
    assert ok.accepted and ok.error == ""
