"""Verifier-log parsing: a Lark grammar (verifier_log.lark) applied line by line.

Public API (all pure; none raises on log content):
  parse_lines(iterable_of_str) -> Iterator[LogLine]    streaming, O(1) memory
  parse_text(str) -> Iterator[LogLine]
  read_log_lines(path) -> Iterator[str]   plain or gzipped (.gz) file, read lazily;
                                          raises FqdnkitError naming a missing/unreadable file
  parse_file(path) -> Iterator[LogLine]
  LineCounter: feeds on LogLines, counts total/recognised and keeps the first unknowns.
Typed values are in toolkit.logmodel.
"""
from __future__ import annotations

import gzip
from typing import Iterator

from ..logmodel import LogLine
from ..model import FqdnkitError
from .lines import parse_lines, parse_state, parse_text
from .messages import classify_message

__all__ = ["parse_lines", "parse_text", "parse_state", "parse_file", "read_log_lines",
           "classify_message", "LineCounter"]


def read_log_lines(path: str) -> Iterator[str]:
    try:
        with open(path, "rb") as probe:
            gz = probe.read(2) == b"\x1f\x8b"
    except OSError as e:
        raise FqdnkitError(f"{path}: cannot read verifier log: {e.strerror}") from e

    def gen():
        opener = gzip.open if gz else open
        with opener(path, "rt", encoding="utf-8", errors="replace") as f:
            for line in f:
                yield line
    return gen()


def parse_file(path: str) -> Iterator[LogLine]:
    return parse_lines(read_log_lines(path))


class LineCounter:
    """Recognition statistics over a stream of LogLines (keeps the first `keep` unknowns)."""

    def __init__(self, keep: int = 20):
        self.total = 0
        self.unknown = 0
        self.first_unknown: list[LogLine] = []
        self.keep = keep
        self.kinds: dict[str, int] = {}

    def add(self, ln: LogLine) -> LogLine:
        self.total += 1
        self.kinds[ln.kind] = self.kinds.get(ln.kind, 0) + 1
        if ln.kind == "unknown":
            self.unknown += 1
            if len(self.first_unknown) < self.keep:
                self.first_unknown.append(ln)
        return ln

    @property
    def recognized(self) -> int:
        return self.total - self.unknown
