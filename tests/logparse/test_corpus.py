"""The grammar on every recorded log of the corpus: >= 99 % of lines recognised per kernel."""
from __future__ import annotations

import collections
import glob
import os

import pytest

from toolkit.logparse import LineCounter, parse_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "verifier_logs")

LOGS = sorted(glob.glob(os.path.join(CORPUS, "*", "*", "*.level[12].log"))
              + glob.glob(os.path.join(CORPUS, "*", "*", "*.level[12].log.gz")))


@pytest.mark.skipif(not LOGS, reason="no recorded logs in verifier_logs/")
def test_recognition_per_kernel_and_statistics():
    """One pass over the corpus: >= 99 % recognised per kernel; every log has its
    `processed N insns` line (also the cut ones: the capture appends the verifier's ending)."""
    per_kernel = collections.defaultdict(LineCounter)
    no_stats = []
    for path in LOGS:
        kernel = path.split(os.sep)[-3]
        c = per_kernel[kernel]
        seen = False
        for ln in parse_file(path):
            c.add(ln)
            seen = seen or ln.kind == "processed"
        if not seen:
            no_stats.append(path)
    for kernel, c in per_kernel.items():
        rate = c.recognized / c.total
        assert rate >= 0.99, (kernel, rate, [(l.lineno, l.text) for l in c.first_unknown])
    assert not no_stats
    from toolkit.logmodel import LINE_KINDS
    for c in per_kernel.values():
        assert set(c.kinds) <= set(LINE_KINDS), set(c.kinds) - set(LINE_KINDS)
