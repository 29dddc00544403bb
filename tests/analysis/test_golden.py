"""Golden diagnoses: every recorded log with an <program>.expected.json next to it."""
from __future__ import annotations

import glob
import hashlib
import json
import os

import pytest

from toolkit.analysis import analyse, build_report, kernel_report, strip_report
from toolkit.analysis.catalog import kernel_category_to_ours
from toolkit.logparse import parse_file, read_log_lines

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "verifier_logs")
EXPECTED = sorted(glob.glob(os.path.join(CORPUS, "*", "*", "*.expected.json")))


def log_for(expected: str) -> str:
    stem = expected[: -len(".expected.json")]
    for suffix in (".level2.log", ".level2.log.gz", ".level1.log", ".level1.log.gz"):
        if os.path.exists(stem + suffix):
            return stem + suffix
    pytest.skip(f"{expected}: no log next to it")


def matching_object(expected: str, exp: dict):
    """The object the log was recorded from, if it is built here and has the same hash."""
    obj = os.path.join(ROOT, exp.get("object", ""))
    meta_path = expected.replace(".expected.json", ".meta.json")
    if not exp.get("object") or not os.path.exists(obj) or not os.path.exists(meta_path):
        return None
    want = json.load(open(meta_path)).get("object_sha256")
    have = hashlib.sha256(open(obj, "rb").read()).hexdigest()
    return obj if want in (None, have) else None


@pytest.mark.skipif(not EXPECTED, reason="no expected.json files in verifier_logs/")
@pytest.mark.parametrize("expected", EXPECTED, ids=lambda p: os.path.relpath(p, CORPUS))
def test_golden(expected):
    exp = json.load(open(expected))
    log = log_for(expected)
    obj = None if exp.get("line_info_in_log", True) else matching_object(expected, exp)
    program = os.path.basename(expected)[: -len(".expected.json")]
    trace, report, counter, diag = analyse(read_log_lines(log), obj, program if obj else None)
    if exp["verdict"] == "accepted":
        assert diag is None
        assert trace.processed is not None
        return
    assert diag is not None
    assert diag.class_id == exp["class"]
    assert diag.category == exp["category"]
    assert diag.message.startswith(exp["message"])
    assert diag.insn == exp["insn"]
    assert diag.proved == exp.get("proved", diag.proved)
    if exp.get("line_info_in_log", True) or obj is not None:
        assert (diag.source_file, diag.source_line) == (exp["source_file"], exp["source_line"])
        assert diag.check_line == exp.get("check_line", diag.check_line)
    else:
        assert diag.source_line is None      # 6.1 without the object: no line to give


LOGS_73 = [e for e in EXPECTED if os.path.basename(os.path.dirname(os.path.dirname(e))).startswith("7.")]


@pytest.mark.skipif(not LOGS_73, reason="no 7.x logs recorded")
@pytest.mark.parametrize("expected", LOGS_73, ids=lambda p: os.path.relpath(p, CORPUS))
def test_ours_without_report_agrees_with_kernel_73(expected):
    """Strip 7.3's report, diagnose as on an older kernel, compare location and category."""
    log = log_for(expected)
    report = build_report(parse_file(log))
    _, _, _, ours = analyse(read_log_lines(log), strip=True)
    exp = json.load(open(expected))
    if report is None:
        # no report: accepted, or a failure 7.3 does not explain (complexity limits, and
        # some messages such as zero-sized helper reads): ours still gives the class
        assert (ours is None) == (exp["verdict"] == "accepted")
        return
    assert ours is not None and ours.kernel_report is None    # computed without the report
    if report.file is not None:
        assert (ours.source_file, ours.source_line) == (report.file, report.line)
    assert ours.insn == report.insn
    assert ours.category == kernel_category_to_ours(report.category)
