"""A verifier log held for display (`LogDoc`) and two logs side by side (`align_logs`).

Contract (pure Python, no Textual): `LogDoc(text)` keeps the log as a list of lines and
classifies lines with `toolkit.logparse` only when asked (LRU-cached), so a 1M-line
level-2 log opens in a fraction of a second; `state_at`, `slice_of`, `search`,
`source_ref_at`, `error_line`, `paths` answer questions about one line with bounded or
C-level scans. `set_trace()` attaches `toolkit.analysis`'s trace so slices come from
`toolkit.analysis.backward_slice`. `align_logs(a, b)` pairs two logs of one program by
instruction (normalised with `toolkit.logdiff` when present) and marks the first
divergence that `toolkit.logdiff.diff_logs` reports. Never raises on log content.
"""
from __future__ import annotations

import difflib
import re
from collections import OrderedDict
from dataclasses import dataclass
from itertools import compress, repeat
from operator import contains
from pathlib import Path
from typing import Optional

SLICE_SCAN_LIMIT = 50_000
STATE_SCAN_LIMIT = 20_000
_SOURCE_REF = re.compile(r"^; ?(.*?)(?: @ (\S+):(\d+))?$")
_INSN_IDX = re.compile(r"^(\d+): ")
_FROM = re.compile(r"^from (\d+) to (\d+)")


# ------------------------------------------------------------------ the log document
KIND_GROUPS = {
    "insn": "insn", "live_insn": "live", "live_header": "live", "state": "state",
    "from": "from", "safe": "from", "source": "source", "func": "info", "subprog": "info",
    "precision": "precision", "propagate": "precision", "frame": "state",
    "processed": "stat", "verification_time": "stat", "stack_depth": "stat",
    "error": "error", "info": "info", "report_header": "report", "report_section": "report",
    "report_location": "report", "report_context": "report", "report_step": "report",
    "report_text": "report", "preamble": "live", "libbpf": "info", "blank": "blank",
    "unknown": "unknown",
}


class LogDoc:
    """A verifier log held as lines, with lazily computed line kinds and bounded scans."""

    def __init__(self, text: str, cache_size: int = 4096):
        # split("\n"), not splitlines(): ~30% faster, and line numbers then agree with
        # grep and editors (splitlines also breaks at \x0b, \x1c, \u2028 ...)
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        self.lines: list[str] = [l[:-1] if l.endswith("\r") else l for l in lines] \
            if "\r" in text[:4096] else lines
        self._cache: "OrderedDict[int, object]" = OrderedDict()
        self._cache_size = cache_size
        self._paths: Optional[list[int]] = None
        self._error_line: Optional[int] = -2
        self._report: Optional[tuple[int, int]] = None
        self._report_done = False
        # widest line of a sample (the head and the tail); views widen as they render
        sample = self.lines[:20_000] + self.lines[-20_000:]
        self.width = max(map(len, sample), default=0)
        self.trace = None                 # toolkit.analysis Trace, set once analysed
        self.analysis = None              # tui_model.Analysis of this log, once analysed
        self._step_lines: Optional[list[int]] = None
        self.last_slice_source = ""

    def set_trace(self, trace) -> None:
        self.trace = trace
        self._step_lines = None

    def __len__(self) -> int:
        return len(self.lines)

    # ---- kinds
    def parsed(self, start: int, end: int) -> list:
        """LogLines (from toolkit.logparse) of lines [start, end), 0-based; cached."""
        from .logparse import parse_lines
        end = min(end, len(self.lines))
        start = max(0, start)
        missing = [i for i in range(start, end) if i not in self._cache]
        if missing:
            a, b = missing[0], missing[-1] + 1
            rep = self.report_range()
            # the parser keeps state only inside a 7.3 report: start at the report's header
            if rep is not None and rep[0] < a <= rep[1]:
                a = rep[0]
            for ln in parse_lines(self.lines[a:b], start=a + 1):
                self._put(ln.lineno - 1, ln)
        out = []
        for i in range(start, end):
            ln = self._cache.get(i)
            if ln is None:   # evicted while filling a large window: parse it alone
                ln = next(iter(parse_lines([self.lines[i]], start=i + 1)))
            out.append(ln)
        return out

    def is_parsed(self, i: int) -> bool:
        return i in self._cache

    def _put(self, i: int, ln) -> None:
        self._cache[i] = ln
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def line(self, i: int):
        return self.parsed(i, i + 1)[0]

    def group(self, i: int) -> str:
        return KIND_GROUPS.get(self.line(i).kind, "unknown")

    # ---- indexes
    def paths(self) -> list[int]:
        """0-based indexes of `from X to Y` path headers (built once, ~0.1 s per 1M lines)."""
        if self._paths is None:
            hits = map(str.startswith, self.lines, repeat("from "))
            self._paths = list(compress(range(len(self.lines)), hits))
        return self._paths

    def report_range(self) -> Optional[tuple[int, int]]:
        """[header, last line] of kernel 7.3's report, searched in the log's tail."""
        if not self._report_done:
            self._report_done = True
            n = len(self.lines)
            lo = max(0, n - 400)
            for i in range(n - 1, lo - 1, -1):
                if self.lines[i].startswith("Verification failed: "):
                    j = i + 1
                    while j < n and not self.lines[j].startswith(
                            ("processed ", "verification time ", "stack depth ")):
                        j += 1
                    self._report = (i, j - 1)
                    break
        return self._report

    def error_line(self) -> Optional[int]:
        """0-based index of the kernel's classic error line (never the 7.3 report)."""
        if self._error_line == -2:
            self._error_line = None
            n = len(self.lines)
            rep = self.report_range()
            hi = rep[0] if rep else n
            lo = max(0, hi - 60)
            for ln in reversed(self.parsed(lo, hi)):
                if ln.kind == "error":
                    self._error_line = ln.lineno - 1
                    # the first of consecutive error lines is the verifier's message
                    j = self._error_line - 1
                    while j >= lo and self.line(j).kind == "error":
                        self._error_line = j
                        j -= 1
                    break
        return self._error_line

    def next_path(self, i: int, direction: int) -> Optional[int]:
        import bisect
        p = self.paths()
        if direction > 0:
            k = bisect.bisect_right(p, i)
            return p[k] if k < len(p) else None
        k = bisect.bisect_left(p, i) - 1
        return p[k] if k >= 0 else None

    def search(self, needle: str, start: int, direction: int = 1) -> Optional[int]:
        """Next line (wrapping) containing `needle` (case-insensitive), from start+direction."""
        if not needle or not self.lines:
            return None
        low = needle.lower()
        lines = self.lines
        n = len(lines)

        def first(idx: range) -> Optional[int]:
            # C-level scan: lower() and `in` mapped over the lines, stopping at the first hit
            texts = map(lines.__getitem__, idx)
            return next(compress(idx, map(contains, map(str.lower, texts), repeat(low))), None)
        if direction > 0:
            hit = first(range(start + 1, n))
            return hit if hit is not None else first(range(0, min(start + 1, n)))
        hit = first(range(start - 1, -1, -1))
        return hit if hit is not None else first(range(n - 1, max(start - 1, -1), -1))

    # ---- per-line questions
    def insn_index_at(self, i: int) -> Optional[int]:
        """Instruction index of line i, or of the nearest instruction line above it."""
        for j in range(i, max(-1, i - 200), -1):
            m = _INSN_IDX.match(self.lines[j])
            if m and self.lines[j][m.end():].startswith("("):
                return int(m.group(1))
        return None

    def source_ref_at(self, i: int) -> Optional[tuple[Optional[str], Optional[int], str]]:
        """(file, line, code) of the nearest `; code @ file:LINE` at or above line i."""
        for j in range(i, max(-1, i - 500), -1):
            s = self.lines[j]
            if s.startswith(";"):
                m = _SOURCE_REF.match(s)
                if m:
                    return (m.group(2), int(m.group(3)) if m.group(3) else None, m.group(1))
            if s.startswith("from ") and j != i:
                break
        return None

    def state_at(self, i: int) -> tuple[list, set[str]]:
        """(slots, changed names) of the verifier state after line i.

        Walks back to the last full state (a `N: R1=..` line or a `from X to Y:` line) and
        applies the per-instruction deltas; `changed` are the slots line i itself wrote.
        """
        start = None
        for j in range(i, max(-1, i - STATE_SCAN_LIMIT), -1):
            s = self.lines[j]
            if s[:1].isdigit() or s.startswith("from "):
                ln = self.line(j)
                if ln.kind == "state" or (ln.kind == "from" and ln.data.state is not None):
                    start = j
                    break
        if start is None:
            return [], set()
        slots: dict[str, object] = {}
        changed: set[str] = set()
        for j in range(start, i + 1):
            s = self.lines[j]
            if not (s[:1].isdigit() or s.startswith("from ")):
                continue
            ln = self.line(j)
            st = getattr(ln.data, "state", None) if ln.kind in ("state", "from", "insn") else None
            if st is None:
                continue
            before = slots
            if ln.kind in ("state", "from"):
                slots = {sl.name: sl for sl in st.slots}
            else:
                slots = dict(slots)
                slots.update((sl.name, sl) for sl in st.slots)
            changed = {k for k, v in slots.items() if before.get(k) != v}
            if ln.kind in ("state", "from") and not before:
                changed = set()

        def order(name: str):
            if name.startswith("R"):
                return (0, int(name[1:]) if name[1:].isdigit() else 99)
            return (1, -(int(name[2:]) if name[2:].lstrip("-").isdigit() else 0))
        return [slots[k] for k in sorted(slots, key=order)], changed

    def analysis_slice(self, i: int, reg: str) -> Optional[list[int]]:
        """`toolkit.analysis.backward_slice` from the last step at or above line i that
        touches `reg`; None when line i is outside the trace's kept history."""
        import bisect
        from .analysis import backward_slice
        tr = self.trace
        if not tr.steps:
            return None
        if self._step_lines is None:
            self._step_lines = [st.lineno - 1 for st in tr.steps]
        k = bisect.bisect_right(self._step_lines, i) - 1
        if k < 0:
            return None
        r = _norm_reg(reg)
        start = None
        for st in tr.walk_back(tr.steps[k].seq):
            insn = st.insn
            slot = f"fp{insn.mem_off}" if insn.base == "r10" and insn.mem_off is not None else None
            if r in insn.reads() or r in insn.writes() or r == slot:
                start = st
                break
        if start is None:
            return []
        out = []
        for ss in backward_slice(tr, r, start.seq):
            st = tr.step(ss.seq)
            if st is not None:
                out.append(st.lineno - 1)
        return sorted(set(out))

    def slice_of(self, i: int, reg: str) -> list[int]:
        """Backward slice of `reg` ("R2", "r2" or "fp-8") at line i: 0-based log lines of
        the instructions whose results flow into it, following the path the verifier took
        (at `from X to Y` the walk continues at the last time insn X was verified)."""
        if self.trace is not None:
            got = self.analysis_slice(i, reg)
            if got is not None:
                self.last_slice_source = "toolkit.analysis"
                return got
        self.last_slice_source = "local use-def walk"
        want = {_norm_reg(reg)}
        out: list[int] = []
        j = i
        jump_to: Optional[int] = None
        steps = 0
        while j >= 0 and want and steps < SLICE_SCAN_LIMIT:
            steps += 1
            s = self.lines[j]
            if jump_to is not None:
                m = _INSN_IDX.match(s)
                if not (m and int(m.group(1)) == jump_to and s[m.end():].startswith("(")):
                    j -= 1
                    continue
                jump_to = None
            if s.startswith("from "):
                m = _FROM.match(s)
                if m and j != i:
                    jump_to = int(m.group(1))
                j -= 1
                continue
            if s[:1].isdigit():
                ln = self.line(j)
                if ln.kind == "insn":
                    insn = ln.data.insn
                    writes = set(insn.writes())
                    if insn.op == "store" and insn.base == "r10" and insn.mem_off is not None:
                        writes = {f"fp{insn.mem_off}"}
                    reads = set(insn.reads())
                    if insn.op == "load" and insn.base == "r10" and insn.mem_off is not None:
                        reads = {f"fp{insn.mem_off}"}
                    if insn.op == "store" and insn.base == "r10":
                        reads = {insn.src} if insn.src else set()
                    hit = want & writes
                    if hit:
                        out.append(j)
                        want -= hit
                        if insn.op != "call":   # a helper's result: the slice ends there
                            want |= {r for r in reads if r != "r10"}
            j -= 1
        return sorted(out)


def _norm_reg(reg: str) -> str:
    """"R2"/"r2"/"w2" -> "r2"; stack slots keep their name ("fp-8")."""
    reg = reg.strip()
    if reg[:1] in "Rr" and reg[1:].isdigit():
        return "r" + reg[1:]
    return reg


# ------------------------------------------------------------------ kernels side by side
def corpus_logs(root: str | Path, obj: str, program: str) -> list[tuple[str, Path]]:
    """(kernel release, log path) of `program` of object `obj` in a verifier_logs tree."""
    from .corpus import kernel_key, log_path, object_stem
    root = Path(root)
    if not root.is_dir():
        return []
    # an object path, or a log inside the corpus (<kernel>/<object-stem>/<program>.level2.log)
    stem = object_stem(obj) if obj.endswith(".o") else Path(obj).parent.name
    out = []
    for kdir in sorted((d for d in root.iterdir() if d.is_dir()), key=lambda d: kernel_key(d.name)):
        p = log_path(kdir / stem, program)
        if p is not None:
            out.append((kdir.name, p))
    return out


@dataclass(frozen=True)
class Aligned:
    rows: tuple[tuple[Optional[int], Optional[int]], ...]   # 0-based line indexes or None
    first_divergence: Optional[int]                          # row index
    summary: str = ""


def _normalise_insn():
    try:
        from .logdiff import normalise_insn
    except ImportError:
        return lambda t: t
    return normalise_insn


def _insn_key(s: str, norm=lambda t: t) -> Optional[str]:
    """An instruction line without its state: "5: (71) r1 = *(u8 *)(r2 +0)", normalised
    with `norm` (toolkit.logdiff's: `w` registers, hex immediates) when given."""
    m = _INSN_IDX.match(s)
    if not m or not s[m.end():].startswith("("):
        return None
    body = s.split(";", 1)[0].rstrip()
    return norm(re.sub(r"\s+", " ", body))


def align_logs(a: list[str], b: list[str], limit: int = 40_000) -> Aligned:
    """Pair two logs of one program line by line on their instruction lines.

    difflib on the instruction lines (state text and source annotations are not compared;
    instructions are normalised by toolkit.logdiff when present, so 6.12's `_w` and hex
    immediates do not count). The first divergence is `toolkit.logdiff.diff_logs`'s first
    semantic one when that module exists, else the first difflib mismatch. Logs longer
    than `limit` lines are compared on their first `limit` lines.
    """
    norm = _normalise_insn()
    a, b = a[:limit], b[:limit]
    ia = [i for i, s in enumerate(a) if _insn_key(s) is not None]
    ib = [i for i, s in enumerate(b) if _insn_key(s) is not None]
    ka = [_insn_key(a[i], norm) for i in ia]
    kb = [_insn_key(b[i], norm) for i in ib]
    sm = difflib.SequenceMatcher(a=ka, b=kb, autojunk=False)
    rows: list[tuple[Optional[int], Optional[int]]] = []
    first = None
    pa = pb = 0   # next unaligned line in a / b

    def flush_until(la: int, lb: int) -> None:
        nonlocal pa, pb
        xs = list(range(pa, la))
        ys = list(range(pb, lb))
        for k in range(max(len(xs), len(ys))):
            rows.append((xs[k] if k < len(xs) else None, ys[k] if k < len(ys) else None))
        pa, pb = la, lb

    for tag, a0, a1, b0, b1 in sm.get_opcodes():
        if tag == "equal":
            for k in range(a1 - a0):
                flush_until(ia[a0 + k], ib[b0 + k])
                rows.append((pa, pb))
                pa, pb = pa + 1, pb + 1
        else:
            if first is None:
                flush_until(ia[a0] if a0 < len(ia) else len(a), ib[b0] if b0 < len(ib) else len(b))
                first = len(rows)
            flush_until(ia[a1] if a1 < len(ia) else len(a), ib[b1] if b1 < len(ib) else len(b))
    flush_until(len(a), len(b))
    same = sum(t[2] for t in sm.get_matching_blocks())
    summary = f"{same} of {len(ka)}/{len(kb)} instruction lines match"
    first, extra = _logdiff_divergence(a, b, rows, first)
    if first is not None:
        summary += f"; first divergence at row {first + 1}"
    return Aligned(tuple(rows), first, summary + extra)


def _logdiff_divergence(a: list[str], b: list[str], rows, first: Optional[int]):
    """(row of toolkit.logdiff's first semantic divergence, extra summary text)."""
    try:
        from .logdiff import diff_logs
    except ImportError:
        return first, ""
    d = diff_logs("\n".join(a), "\n".join(b))
    div = d.first_semantic or d.first_path
    extra = ""
    if d.features_only_a or d.features_only_b:
        extra += (f"; format only left: {', '.join(d.features_only_a) or '-'}, only right: "
                  f"{', '.join(d.features_only_b) or '-'}")
    if d.error_changed:
        extra += "; the error message changed"
    if div is None:
        return (None if d.first_semantic is None and d.first_path is None else first), \
            extra or "; toolkit.logdiff: no semantic divergence"
    la = div.a.line_no - 1 if div.a is not None else None
    lb = div.b.line_no - 1 if div.b is not None else None
    for n, (x, y) in enumerate(rows):
        if (la is not None and x == la) or (la is None and lb is not None and y == lb):
            return n, extra
    return first, extra
