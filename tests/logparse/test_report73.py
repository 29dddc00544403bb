"""Kernel 7.3's "Verification failed" report and preamble (real 7.3.4 text from the corpus)."""
from __future__ import annotations

import glob
import os

import pytest

from toolkit.analysis import build_report
from toolkit.logparse import parse_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "verifier_logs")

LOGS_73 = sorted(glob.glob(os.path.join(CORPUS, "7.3*", "*", "*.level2.log")))
QNAME = [p for p in LOGS_73 if p.endswith("dns_qname_unchecked.level2.log")]


@pytest.mark.skipif(not QNAME, reason="no 7.3 log of dns_qname_unchecked recorded")
def test_report_lines_have_their_own_kinds():
    lines = list(parse_file(QNAME[0]))
    kinds = {l.kind for l in lines}
    assert {"report_header", "report_section", "report_location", "report_context",
            "report_text", "report_step", "preamble"} <= kinds
    assert not [l for l in lines if l.kind == "unknown"]
    # the error message is the classic line, not report text
    errors = [l.text for l in lines if l.kind == "error"]
    assert errors[0].startswith("invalid access to packet, off=54 size=1")
    # the preamble's listings are typed instructions
    pre = [l for l in lines if l.kind == "preamble" and l.data is not None]
    assert pre and all(l.data.insn.op for l in pre)


@pytest.mark.skipif(not QNAME, reason="no 7.3 log of dns_qname_unchecked recorded")
def test_report_structure():
    rep = build_report(parse_file(QNAME[0]))
    assert rep.category == "Memory Safety: Access outside bounds"
    assert (rep.file, rep.line, rep.col) == ("dns_qname_unchecked.bpf.c", 33, 6)
    assert rep.insn == 5
    assert "offset + access_size <= object_size" in rep.reason
    assert [(s.line, s.col) for s in rep.causal_path] == [(26, 34), (30, 19), (30, 6)]
    assert rep.causal_path[0].note.startswith("update: R2 changed")
    assert rep.suggestion.startswith("Add or adjust a bounds check")
