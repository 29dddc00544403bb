"""The reason-code table shared by the BPF code and Python: reference_bpf/lib/reasons.def.h.

Contract: `load_reasons()` parses the X-macro file (one `FQDNKIT_REASON(NAME, value,
"text")` per line) into Reason tuples, checking that names and values are unique and
values in 1..255; `by_value()` / `by_name()` index it; `describe(value)` gives
"NAME: text" (or "reason N (unknown)"). Pure: reads one file, no kernel.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from .model import FqdnkitError

REASONS_DEF = Path(__file__).resolve().parent.parent / "reference_bpf" / "lib" / "reasons.def.h"
_LINE = re.compile(r'^\s*FQDNKIT_REASON\(\s*([A-Z][A-Z0-9_]*)\s*,\s*(\d+)\s*,\s*"((?:[^"\\]|\\.)*)"\s*\)\s*$')
SLOTS = 256


class Reason(NamedTuple):
    name: str
    value: int
    text: str


def parse_reasons(text: str, path: str = "reasons.def.h") -> tuple[Reason, ...]:
    """Parse the table; raises FqdnkitError naming the file and line of a bad entry."""
    out: list[Reason] = []
    names: dict[str, int] = {}
    values: dict[int, int] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if "FQDNKIT_REASON(" not in line or line.lstrip().startswith(("#", "/*", "*")):
            continue
        m = _LINE.match(line)
        if not m:
            raise FqdnkitError(f"{path}:{n}: not a FQDNKIT_REASON(NAME, value, \"text\") line")
        name, value, desc = m.group(1), int(m.group(2)), m.group(3)
        if not 0 < value < SLOTS:
            raise FqdnkitError(f"{path}:{n}: {name} = {value} outside 1..{SLOTS - 1}")
        if name in names:
            raise FqdnkitError(f"{path}:{n}: {name} already defined on line {names[name]}")
        if value in values:
            raise FqdnkitError(f"{path}:{n}: value {value} already used on line {values[value]}")
        names[name], values[value] = n, n
        out.append(Reason(name, value, desc))
    return tuple(out)


@lru_cache(maxsize=None)
def load_reasons(path: str = str(REASONS_DEF)) -> tuple[Reason, ...]:
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise FqdnkitError(f"{path}: cannot read the reason table: {e.strerror}") from None
    return parse_reasons(text, path)


def by_value() -> dict[int, Reason]:
    return {r.value: r for r in load_reasons()}


def by_name() -> dict[str, Reason]:
    return {r.name: r for r in load_reasons()}


def value(name: str) -> int:
    try:
        return by_name()[name].value
    except KeyError:
        raise FqdnkitError(f"{REASONS_DEF}: no reason named {name}") from None


def name_of(value_: int) -> str:
    r = by_value().get(value_)
    return r.name if r else f"REASON_{value_}"


def describe(value_: int) -> str:
    r = by_value().get(value_)
    return f"{r.name}: {r.text}" if r else f"reason {value_} (unknown)"
