"""Kernel 7.3 report variants HAND-WRITTEN from issue 9's category list and the layout of the
real 7.3.4 report in verifier_logs/ (no real sample of these categories has been recorded
yet): a NULL dereference with a two-step causal path, and a report cut off by truncation."""
from __future__ import annotations

from toolkit.analysis import analyse, build_report
from toolkit.logparse import parse_text

NULL_DEREF = """0: R1=ctx() R10=fp0
; __u64 *cnt = bpf_map_lookup_elem(&qtypes, &qt); @ n.bpf.c:8
6: (85) call bpf_map_lookup_elem#1    ; R0=map_value_or_null(id=1,map=qtypes,ks=2,vs=8)
; *cnt += 1; @ n.bpf.c:9
7: (79) r1 = *(u64 *)(r0 +0)
R0 invalid mem access 'map_value_or_null'

Verification failed: Register Type Safety: Invalid dereference

Reason:
  R0 may be NULL; it must be checked before it is dereferenced.

At:
  d_null_lookup @ n.bpf.c:9:7
  Source context:
  >>>  9 |         *cnt += 1;
         |         ^-- error: possibly NULL pointer dereferenced
  Instruction context:
       6 | (85) call bpf_map_lookup_elem#1
  >>>  7 | (79) r1 = *(u64 *)(r0 +0)

Causal path:
  d_null_lookup @ n.bpf.c:8:15
  Source context:
  >>>  8 |         __u64 *cnt = bpf_map_lookup_elem(&qtypes, &qt);
         |         ^-- update: R0 changed from scalar to map_value_or_null

Suggestion:
  Check the pointer against NULL first.

verification time 50 usec
stack depth 8
processed 8 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
"""


def test_null_deref_report():
    lines = list(parse_text(NULL_DEREF))
    assert not [l for l in lines if l.kind == "unknown"]
    rep = build_report(lines)
    assert rep.category == "Register Type Safety: Invalid dereference"
    assert (rep.file, rep.line, rep.col, rep.insn) == ("n.bpf.c", 9, 7, 7)
    assert len(rep.causal_path) == 1 and rep.causal_path[0].note.startswith("update: R0")
    assert rep.suggestion == "Check the pointer against NULL first."
    _, report, _, diag = analyse(NULL_DEREF.splitlines())
    assert diag.message == "R0 invalid mem access 'map_value_or_null'"   # never report text
    assert diag.class_id == "null-not-checked" and diag.category == "other"
    assert diag.kernel_report is not None and report is not None


def test_truncated_report_never_raises():
    cut = NULL_DEREF.split("Causal path:")[0]
    lines = list(parse_text(cut))
    rep = build_report(lines)
    assert rep.category.startswith("Register Type Safety") and rep.causal_path == ()
    _, _, _, diag = analyse(cut.splitlines(), strip=True)
    assert diag.class_id == "null-not-checked" and diag.kernel_report is None
