"""bench/tui_speed.py still runs (on a small log, so this stays fast)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_tui_speed_bench_runs_on_a_small_log():
    out = subprocess.run([sys.executable, str(REPO / "bench" / "tui_speed.py"), "--lines", "20000",
                          "--pages", "3"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "time to first screen, 19,99" in out.stdout
    assert "page down, render + side panes" in out.stdout
