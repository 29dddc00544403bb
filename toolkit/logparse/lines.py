"""Streaming, line-by-line parser: text lines in, typed `LogLine`s out.

Contract: `parse_lines(lines)` is a generator; it keeps only O(1) state between lines
(whether it is inside a libbpf dump block, inside a kernel 7.3 report, and which report
section), so memory does not grow with the log. It never raises on any input: a line it
cannot parse becomes kind "unknown" with its text and 1-based line number. A cheap regex on
the line's prefix chooses the kind; the Lark grammar (grammar.py) parses the structured
part (instruction, state entries, statistics).
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable, Iterator, Optional

from ..logmodel import (FrameLine, FromLine, FuncLine, InsnLine, LogLine, Precision,
                        ReportLine, SafeLine, SourceRef, State, StateLine)
from . import grammar, shapes
from .messages import classify_message, is_info

parse_insn = grammar.parse_insn

# ------------------------------------------------------------------ prefix regexes
_LIBBPF = re.compile(r"^libbpf: (?:prog '(?P<prog>[^']*)': )?(?P<rest>.*)$")
_BEGIN = re.compile(r"^-- BEGIN (?:DUMP LOG|PROG LOAD LOG) ---?$")
_END = re.compile(r"^-- END (?:LOG|PROG LOAD LOG) --$")
_NUM = re.compile(r"^(\d+):(?: (.*))?$")
_INSN = re.compile(r"^\(([0-9a-f]{2})\) ([^;]*?)\s*(?:;\s?(.*))?$")
# _NUM and then _INSN on its rest in one (greedy, so cheaper) match, for the commonest
# line: the instruction is the text before the first ";" with trailing whitespace taken off,
# the state what follows "; " (one whitespace character taken off), as _INSN gives them. It
# fails on any newline inside the line, where _NUM fails too (then the general path runs).
_INSN_LINE = re.compile(r"(\d+): \(([0-9a-f]{2})\) ([^;\n]*)(?:;(.*))?")
# 6.18: "      0: .1........ (b7) r0 = 0"; an SCC (loop) number may precede the index
_LIVE = re.compile(r"^\s+(?:(\d+)\s+)?(\d+): ([.0-9]{6,}) \(([0-9a-f]{2})\) ([^;]*?)\s*(?:;\s*(\w[\w ]*))?$")
# 7.3 preamble listings: "  8: (bf) r3 = r10\tr3: _ -> fp0+0", " 13: (85) call f#26 // r3=fp0-68"
_PRE_INSN = re.compile(r"^\s*(\d+): \(([0-9a-f]{2})\) ([^\t;]*?)\s*(?:\t(.*)| // (.*)|; (?:use|def): (.*))?$")
_FROM = re.compile(r"^from (\d+) to (\d+)( \(speculative execution\))?: ?(.*)$")
_SOURCE = re.compile(r"^; ?(.*?)(?: @ (\S+):(\d+))?$")
_FUNC = re.compile(r"^func#(\d+) @(\d+)$")
_ITEM = shapes._ITEM
_MP = re.compile(r"^mark_precise: frame(\d+): (.*)$")
_LASTIDX = re.compile(r"^last_idx (-?\d+) first_idx (-?\d+)(?: subseq_idx (-?\d+))?\s*$")
_REGS_BEFORE = re.compile(r"^regs=(\S*) stack=(\S*) before (\d+): (.*)$")
_PARENT = re.compile(r"^parent state regs=(\S*) stack=(\S*):\s*(.*)$")
_PARENT_OLD = re.compile(r"^parent (didn't have|already had) regs=(\S*) stack=(\S*) marks:?\s*(.*)$")
_FRAME_STATE = re.compile(r"^frame(\d+): (.*)$")
_TO_CALLER = re.compile(r"^to caller at (\d+):$")
_SUBPROG = re.compile(r"^(?:Validating \S+ func#\d+\.\.\.|Func#\d+ \('.*'\) is .*|Func#\d+ is global and valid\. Skipping\.|Func#\d+ is safe for any args that match its prototype)$")
_SCC = re.compile(r"^SCC (enter|exit|backedge) \(([\d, ]*)\)$")
# 6.18 stack liveness debug output: "(0) frame 0 insn 6 +live -8", "(0) live stack update done in 2 iterations"
_LIVESTACK = re.compile(r"^\(([\d,]+)\) (?:frame \d+ insn \d+(?: [+-]\w+(?: -?[\d,-]+)?)*|live stack update done in \d+ iterations?)\s*$")
_CUROLD = re.compile(r"^(cur|old) state: (.*)$")
_PROPAGATE = re.compile(r"^(?:frame \d+: )?propagating ((?:r\d+|fp-?\d+)(?:,(?:r\d+|fp-?\d+))*)$")
_FORCE = re.compile(r"^force_precise: frame(\d+): forcing (r\d+|fp-?\d+) to be precise$")
_ARGJOIN = re.compile(r"^arg JOIN insn \d+ -> \d+ r\d+: .* => .*$")
_ANNOT = re.compile(r"^\[fqdnkit [^\]]*\]$")
# kernel 7.3 report
_REPORT_HDR = re.compile(r"^Verification failed: (.*)$")
_REPORT_SECTION = re.compile(r"^\s*(Reason|At|Source context|Instruction context|Causal path|Suggestion|Suggestions|Note|Notes|Details):\s*$")
_REPORT_LOC = re.compile(r"^\s+(\S+) @ ([^\s:]+):(\d+)(?::(\d+))?(.*)$")
_REPORT_INSN_LOC = re.compile(r"^\s+insn (\d+)\s*$")     # 7.3 "At: insn 3" (no line info)
_REPORT_CTX = re.compile(r"^\s*(>>>)?\s*(\d+)?\s*\|\s?(.*)$")
_NOTE = re.compile(r"\^--\s*(.*)$")
_SECTION_KEYS = {"Reason": "reason", "At": "at", "Source context": "source",
                 "Instruction context": "insn", "Causal path": "causal",
                 "Suggestion": "suggestion", "Suggestions": "suggestion",
                 "Note": "note", "Notes": "note", "Details": "reason"}
# kernel 7.3 preamble (control flow and register liveness): hand-written from FACTS.md
# and issue 9, no real sample yet; see README of tests/logparse.
_PREAMBLE = re.compile(
    r"^(?:topo_order\[\d+\] = \S*|subprog#\d+: analyzing \(depth \d+\)\.\.\.|"
    r"subprog#\d+(?: \S+)?:|stack use/def subprog#\d+(?: \S+)? \([^)]*\):)\s*$")

_STAT_EXTRA = re.compile(r"^(?:stack depth max \d+|subprog \d+ \(\S+\) \w+ insns_self \d+ insns_total \d+ stack \d+)$")
_STAT_PREFIXES = (("processed ", "processed", "processed"),
                  ("stack depth ", "stack_depth", "stack_depth"),
                  ("verification time ", "vtime", "verification_time"))


# Bounded caches (here and in grammar.py, shapes.py) are kept small on purpose: every
# entry is a few objects the cyclic garbage collector walks again and again, and with large
# caches the collector took a quarter of the parse time. The sizes keep the repeats that do
# occur (a state printed again a few lines later; the same instruction in every iteration).
@lru_cache(maxsize=1024)
def parse_state(text: str) -> Optional[State]:
    """A printed state ("R1=ctx() R10=fp0", "frame1: R1=..", "") -> State, or None.
    Parsed once per shape (shapes.py), with the same result as parse_state_items."""
    return shapes.parse_state_by_shape(text, parse_state_items)


def parse_state_items(text: str) -> Optional[State]:
    """The reference: a printed state parsed entry by entry (grammar.parse_item)."""
    results = []
    for tok in _ITEM.findall(text):
        r = grammar.parse_item(tok)
        if r is None:
            # "var_off=(0x0; 0xff)" holds a space: findall splits it only if unbalanced
            return None
        results.append(r)
    return shapes.aggregate(results)


class _Parser:
    __slots__ = ("in_dump", "wrapped", "report", "section", "sub")

    def __init__(self):
        self.in_dump = False
        self.wrapped = False
        self.report = False
        self.section = ""
        self.sub = ""

    def line(self, lineno: int, raw: str) -> LogLine:
        s = raw.rstrip("\r\n")
        if (self.in_dump or not self.wrapped) and not s.startswith(("libbpf: ", "-- ")):
            # the common case (as the branches below would): verifier output, unwrapped
            if not self.report:
                m = _INSN_LINE.fullmatch(s)
                if m:                           # "N: (op) insn [; state]", as content() does
                    idx, op, text, st = m.groups()
                    insn = parse_insn(int(op, 16), text.rstrip())
                    if insn is not None:
                        if st is None:
                            return LogLine(lineno, "insn", s, InsnLine(int(idx), insn, None))
                        if st[:1].isspace():
                            st = st[1:]
                        state = parse_state(st)
                        if state is not None:
                            return LogLine(lineno, "insn", s, InsnLine(int(idx), insn, state))
                    return self.preamble_insn(lineno, s)
            return self.content(lineno, s)
        if s.startswith("libbpf: "):
            m = _LIBBPF.match(s)
            rest = m.group("rest")
            if _BEGIN.match(rest):
                self.in_dump, self.wrapped = True, True
                return LogLine(lineno, "libbpf", s)
            if _END.match(rest):
                self.in_dump = False
                self.report = False
                return LogLine(lineno, "libbpf", s)
            if not self.in_dump:
                return LogLine(lineno, "libbpf", s)
            s = rest
        elif _BEGIN.match(s):
            self.in_dump, self.wrapped = True, True
            return LogLine(lineno, "libbpf", s)
        elif _END.match(s):
            self.in_dump = False
            self.report = False
            return LogLine(lineno, "libbpf", s)
        elif self.wrapped and not self.in_dump:
            # text around a libbpf dump that is not verifier output (bpftool's messages)
            if s.strip():
                return LogLine(lineno, "libbpf", s)
        return self.content(lineno, s)

    def content(self, lineno: int, s: str) -> LogLine:
        if not s or s.isspace():
            return LogLine(lineno, "blank", s)
        c = s[0]
        if self.report:
            r = self.report_line(lineno, s)
            if r is not None:
                return r
        if c.isdigit():
            m = _NUM.match(s)
            if m:
                idx = int(m.group(1))
                rest = m.group(2) or ""
                if rest.startswith("("):
                    mi = _INSN.match(rest)
                    if mi:
                        insn = grammar.parse_insn(int(mi.group(1), 16), mi.group(2))
                        if insn is not None:
                            st = mi.group(3)
                            state = None
                            if st is not None:
                                state = parse_state(st)
                                if state is None:
                                    return self.preamble_insn(lineno, s)
                            return LogLine(lineno, "insn", s, InsnLine(idx, insn, state))
                    return self.preamble_insn(lineno, s)
                if rest == "safe":
                    return LogLine(lineno, "safe", s, SafeLine(idx))
                if not rest.strip():            # 7.3: "278:" (nothing live to print)
                    return LogLine(lineno, "state", s, StateLine(idx, State()))
                state = parse_state(rest)
                if state is not None and state.slots:
                    return LogLine(lineno, "state", s, StateLine(idx, state))
            return self.message(lineno, s)
        if c == ";":
            m = _SOURCE.match(s)
            ln = m.group(3)
            return LogLine(lineno, "source", s,
                           SourceRef(m.group(1), m.group(2), int(ln) if ln else None))
        if c == "f":
            if s.startswith("from "):
                m = _FROM.match(s)
                if m:
                    rest = m.group(4)
                    if rest == "safe":
                        return LogLine(lineno, "from", s, FromLine(int(m.group(1)), int(m.group(2)),
                                                                   bool(m.group(3)), None, True))
                    state = parse_state(rest)
                    if state is not None:
                        return LogLine(lineno, "from", s, FromLine(int(m.group(1)), int(m.group(2)),
                                                                   bool(m.group(3)), state))
                return LogLine(lineno, "unknown", s)
            if s.startswith("func#"):
                m = _FUNC.match(s)
                if m:
                    return LogLine(lineno, "func", s, FuncLine(int(m.group(1)), int(m.group(2))))
            if s.startswith("frame"):
                if _PROPAGATE.match(s):
                    return LogLine(lineno, "propagate", s, s.rsplit(" ", 1)[1])
                m = _FRAME_STATE.match(s)
                if m:
                    state = parse_state(s)
                    if state is not None:
                        return LogLine(lineno, "frame", s,
                                       FrameLine("frame", int(m.group(1)), None, state))
        if c == " " and s.lstrip()[:1] in ("R", "f"):
            # state printed under "returning from callee:" / "to caller at N:"
            st = parse_state(s.strip())
            if st is not None and st.slots:
                return LogLine(lineno, "frame", s, FrameLine("state", st.frame, None, st))
        if c == " ":
            m = _LIVE.match(s)
            if m:
                insn = grammar.parse_insn(int(m.group(4), 16), m.group(5))
                if insn is not None:
                    return LogLine(lineno, "live_insn", s,
                                   InsnLine(int(m.group(2)), insn, None, m.group(3)))
            r = self.preamble_insn(lineno, s)
            if r.kind != "unknown":
                return r
        if c == "f" and s.startswith("force_precise: "):
            m = _FORCE.match(s)
            if m:
                return LogLine(lineno, "precision", s, Precision("force", int(m.group(1)), m.group(2)))
        if c == "a" and _ARGJOIN.match(s):
            return LogLine(lineno, "preamble", s)
        if c == "[" and _ANNOT.match(s):
            return LogLine(lineno, "libbpf", s, "cut" if " cut " in s else None)
        if c == "m" and s.startswith("mark_precise: "):
            return self.precision(lineno, s)
        if s.startswith(("last_idx ", "regs=", "parent ")):
            return self.precision(lineno, s, old=True)
        if c in "psv":
            if _STAT_EXTRA.match(s):
                return LogLine(lineno, "stack_depth" if s.startswith("stack") else "subprog_stats", s)
            for prefix, start, kind in _STAT_PREFIXES:
                if s.startswith(prefix):
                    v = grammar.parse_stat(start, s)
                    if v is not None:
                        return LogLine(lineno, kind, s, v)
                    return LogLine(lineno, "unknown", s)
            if s.startswith("propagating "):
                if _PROPAGATE.match(s):
                    return LogLine(lineno, "propagate", s, s.rsplit(" ", 1)[1])
        if c == "(":
            if _LIVESTACK.match(s):
                return LogLine(lineno, "liveness", s)
        if c in "co" and s.startswith(("cur state: ", "old state: ")):
            m = _CUROLD.match(s)
            st = parse_state(m.group(2))
            if st is not None:
                return LogLine(lineno, "loop_state", s, StateLine(-1, st))
        if c == "S" and s.startswith("SCC "):
            m = _SCC.match(s)
            if m:
                return LogLine(lineno, "scc", s, (m.group(1), m.group(2)))
        if s == "Live regs before insn:":
            return LogLine(lineno, "live_header", s)
        if s in ("caller:", "callee:", "returning from callee:"):
            return LogLine(lineno, "frame", s, FrameLine(s.rstrip(":").split()[0]))
        if s.startswith("to caller at "):
            m = _TO_CALLER.match(s)
            if m:
                return LogLine(lineno, "frame", s, FrameLine("to_caller", None, int(m.group(1))))
        if _SUBPROG.match(s):
            return LogLine(lineno, "subprog", s)
        m = _REPORT_HDR.match(s)
        if m:
            self.report, self.section, self.sub = True, "header", ""
            return LogLine(lineno, "report_header", s, ReportLine("header", s, category=m.group(1).strip()))
        if _PREAMBLE.match(s):
            return LogLine(lineno, "preamble", s)
        return self.message(lineno, s)

    def preamble_insn(self, lineno: int, s: str) -> LogLine:
        """7.3 preamble listings (control flow, stack use/def, argument tracking)."""
        m = _PRE_INSN.match(s)
        if m:
            insn = grammar.parse_insn(int(m.group(2), 16), m.group(3))
            if insn is not None:
                return LogLine(lineno, "preamble", s, InsnLine(int(m.group(1)), insn))
        return LogLine(lineno, "unknown", s)

    def message(self, lineno: int, s: str) -> LogLine:
        e = classify_message(s)
        if e is not None:
            return LogLine(lineno, "error", s, e)
        if is_info(s):
            return LogLine(lineno, "info", s)
        return LogLine(lineno, "unknown", s)

    def precision(self, lineno: int, s: str, old: bool = False) -> LogLine:
        frame = None
        body = s
        if not old:
            m = _MP.match(s)
            if not m:
                return LogLine(lineno, "unknown", s)
            frame, body = int(m.group(1)), m.group(2)
        m = _LASTIDX.match(body)
        if m:
            sub = m.group(3)
            return LogLine(lineno, "precision", s, Precision(
                "last_idx", frame, last_idx=int(m.group(1)), first_idx=int(m.group(2)),
                subseq_idx=int(sub) if sub is not None else None))
        m = _REGS_BEFORE.match(body)
        if m:
            # the instruction after "before N:" is printed as in an insn line
            mi = _INSN.match(m.group(4))
            if mi and grammar.parse_insn(int(mi.group(1), 16), mi.group(2)) is not None:
                return LogLine(lineno, "precision", s, Precision(
                    "regs", frame, m.group(1), m.group(2), before=int(m.group(3))))
            return LogLine(lineno, "unknown", s)
        m = _PARENT.match(body)
        if m:
            st = parse_state(m.group(3))
            if st is not None:
                return LogLine(lineno, "precision", s, Precision(
                    "parent", frame, m.group(1), m.group(2), state=st))
            return LogLine(lineno, "unknown", s)
        m = _PARENT_OLD.match(body)
        if m:
            st = parse_state(m.group(4))
            if st is not None:
                what = "parent_missing" if m.group(1) == "didn't have" else "parent"
                return LogLine(lineno, "precision", s, Precision(
                    what, frame, m.group(2), m.group(3), state=st))
        if body.startswith("falling back to forcing all scalars precise"):
            return LogLine(lineno, "precision", s, Precision("fallback", frame))
        if body.startswith(("skipping precision", "parent state", "callback")):
            return LogLine(lineno, "precision", s, Precision("other", frame))
        return LogLine(lineno, "unknown", s)

    def report_line(self, lineno: int, s: str) -> Optional[LogLine]:
        """A line inside a 7.3 report, or None when the report is over."""
        if s.startswith(("processed ", "verification time ", "stack depth ")):
            self.report = False
            return None
        m = _REPORT_SECTION.match(s)
        if m:
            key = _SECTION_KEYS[m.group(1)]
            if key in ("source", "insn"):
                self.sub = key
            else:
                self.section, self.sub = key, ""
            return LogLine(lineno, "report_section", s, ReportLine(key, s))
        m = _REPORT_LOC.match(s)
        if m and self.section in ("at", "causal"):
            self.sub = ""
            note = _NOTE.search(m.group(5) or "")
            rl = ReportLine(self.section, s, func=m.group(1), file=m.group(2),
                            line=int(m.group(3)), col=int(m.group(4)) if m.group(4) else None,
                            note=note.group(1) if note else None)
            kind = "report_step" if self.section == "causal" else "report_location"
            return LogLine(lineno, kind, s, rl)
        m = _REPORT_INSN_LOC.match(s)
        if m and self.section in ("at", "causal"):
            self.sub = ""
            rl = ReportLine(self.section, s, line=None, note=f"insn {m.group(1)}")
            kind = "report_step" if self.section == "causal" else "report_location"
            return LogLine(lineno, kind, s, rl)
        m = _REPORT_CTX.match(s)
        if m and (self.sub or m.group(1) or "^--" in s):
            note = _NOTE.search(m.group(3))
            return LogLine(lineno, "report_context", s, ReportLine(
                self.section, s, line=int(m.group(2)) if m.group(2) else None,
                marker=bool(m.group(1)), note=note.group(1) if note else None,
                context=self.sub or None))
        if s[:1] in (" ", "\t") or self.section in ("reason", "suggestion", "note"):
            kind = "report_step" if self.section == "causal" else "report_text"
            return LogLine(lineno, kind, s, ReportLine(self.section, s.strip()))
        return None


def parse_lines(lines: Iterable[str], start: int = 1) -> Iterator[LogLine]:
    """Typed lines of a verifier log, one per input line, in order. Never raises."""
    line = _Parser().line
    n = start
    for n, raw in enumerate(lines, start):
        try:
            yield line(n, raw)
        except Exception as exc:  # noqa: BLE001 - contract: parsing never raises
            yield LogLine(n, "unknown", raw.rstrip("\r\n"), f"internal parser error: {exc!r}")


def parse_text(text: str) -> Iterator[LogLine]:
    return parse_lines(text.splitlines())
