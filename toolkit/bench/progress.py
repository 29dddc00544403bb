"""Progress lines for `fqdnkit bench`: one stderr line per step, with elapsed time.

Contract: `Progress(total)` counts steps; `step(title)` prints "[k/total +12.3s] title";
`note(text)` prints an indented detail line. Output goes to stderr so stdout stays
machine-readable. No state beyond the counter and the start time.
"""
from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, total: int, stream=None):
        self.total = total
        self.k = 0
        self.t0 = time.monotonic()
        self.stream = stream or sys.stderr

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def step(self, title: str) -> None:
        self.k += 1
        print(f"[{self.k}/{self.total} +{self.elapsed():6.1f}s] {title}", file=self.stream, flush=True)

    def note(self, text: str) -> None:
        print(f"      {text}", file=self.stream, flush=True)
