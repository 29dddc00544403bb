"""Replay a parsed verifier log: program text, source map, paths, register state per step.

Contract: `build_trace(lines)` consumes an iterable of LogLine once (streaming) and returns
a Trace. Memory is bounded: per-instruction tables are bounded by the program size, the
step history is a ring buffer of HISTORY steps and path summaries are capped at MAX_PATHS,
so a multi-million-line level-2 log does not grow memory.

A *path* is one stretch of exploration: the first one starts at the program entry, each
`from X to Y:` header starts another, whose *parent* is the path that was executing when the
branch at X was pushed (the verifier's DFS stack is simulated to find it). Steps keep the
state the kernel printed after the instruction (level 2), and the register file replayed
along the path (`regs_before(step)`), so each path's states stay apart.
"""
from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Optional

from ..logmodel import (ErrorMessage, FromLine, InsnLine, Insn, LogLine, Processed, RegValue,
                        ReportLine, SourceRef, State, StateLine)

HISTORY = 20_000
_SIZES = {"u8": 1, "u16": 2, "u32": 4, "u64": 8, "s8": 1, "s16": 2, "s32": 4, "s64": 8}
MAX_PATHS = 100_000
MAX_STACK = 65_536


@dataclass(slots=True)
class Step:
    seq: int
    path: int
    idx: int
    insn: Insn
    after: Optional[State]       # state printed after the insn (None if not printed)
    regs: dict                   # replayed register file *before* this insn: name -> RegValue
    lineno: int
    frame: int = 0


@dataclass(slots=True)
class PathInfo:
    id: int
    src: Optional[int]           # branch insn (None for the entry path)
    dst: int
    parent: Optional[int]
    parent_seq: Optional[int]    # seq of the parent's step at the branch
    first_seq: int
    steps: int = 0
    end: str = "open"            # "safe" | "exit" | "error" | "open"
    speculative: bool = False


@dataclass
class Trace:
    program: dict[int, Insn] = field(default_factory=dict)
    source: dict[int, SourceRef] = field(default_factory=dict)
    # insn -> the source line printed last before it when the insn was reached by a jump
    # with no line of its own printed: probably, not surely, its line (see build_trace)
    source_weak: dict[int, SourceRef] = field(default_factory=dict)
    visits: dict[int, int] = field(default_factory=dict)
    prunes: dict[int, int] = field(default_factory=dict)     # "safe" hits per insn
    branch_in: dict[int, int] = field(default_factory=dict)  # `from` headers per target
    paths: list[PathInfo] = field(default_factory=list)
    steps: deque = field(default_factory=lambda: deque(maxlen=HISTORY))
    errors: list[LogLine] = field(default_factory=list)
    report: list[LogLine] = field(default_factory=list)
    processed: Optional[Processed] = None
    verification_time_us: Optional[int] = None
    stack_depth: Optional[str] = None
    failing: Optional[Step] = None       # last insn printed before the first error line
    failing_regs: dict = field(default_factory=dict)
    n_steps: int = 0
    lines_total: int = 0
    has_line_info: bool = False
    func_starts: dict[int, int] = field(default_factory=dict)
    # per memory insn on a packet pointer: best margin (range - bytes needed) over the
    # paths that reached it; >= 0 means some path had the access proved
    pkt_margin: dict[int, int] = field(default_factory=dict)
    scc_backedges: int = 0
    cut: bool = False          # the recorded log was cut (capture annotation): the last
                               # printed insn is not the failing one
    # (line, step, regs): an unrecognised line right after the last instruction, followed
    # by `processed`, when no error line was recognised: a candidate error message of a
    # family the grammar does not know (the diagnosis decides from its text)
    unknown_tail: Optional[tuple] = None

    # ---------------------------------------------------------------- queries
    @property
    def error(self) -> Optional[ErrorMessage]:
        """The classic error message: the first error line after the last instruction."""
        for ln in self.errors:
            if isinstance(ln.data, ErrorMessage):
                return ln.data
        return None

    @property
    def error_text(self) -> Optional[str]:
        return self.errors[0].text if self.errors else None

    def step(self, seq: int) -> Optional[Step]:
        if not self.steps:
            return None
        base = self.steps[0].seq
        i = seq - base
        if 0 <= i < len(self.steps):
            return self.steps[i]
        return None

    def walk_back(self, seq: int, limit: int = 50_000) -> Iterator[Step]:
        """Steps of the path ending at `seq`, newest first, crossing into parent paths."""
        paths = {p.id: p for p in self.paths}
        cur = self.step(seq)
        n = 0
        while cur is not None and n < limit:
            yield cur
            n += 1
            prev = self.step(cur.seq - 1)
            if prev is not None and prev.path == cur.path:
                cur = prev
                continue
            p = paths.get(cur.path)
            if p is None or p.parent_seq is None:
                return
            cur = self.step(p.parent_seq)

    def loops(self) -> list[tuple[int, int]]:
        """Back-edge regions (head, tail) of the program text seen in the log."""
        out = []
        for idx, insn in self.program.items():
            if insn.op in ("jcond", "ja", "may_goto") and insn.target is not None and insn.target < 0:
                head = idx + 1 + insn.target
                out.append((head, idx))
        return sorted(set(out))


def _apply(regs: dict, state: State, full: bool) -> dict:
    new = {} if full else dict(regs)
    for s in state.slots:
        if s.value is not None:
            new[s.name] = s.value
        elif s.marks is not None:
            new[s.name] = s.marks
    return new


def _propagate_range(regs: dict, state: State) -> dict:
    """A packet check gives its range to every packet pointer with the same id, also those
    the kernel did not print (it prints only the registers the insn touched)."""
    ranges = {}
    for s in state.slots:
        v = s.value
        if v is not None and v.type == "pkt" and v.r:
            ranges[v.id or 0] = max(ranges.get(v.id or 0, 0), v.r)
    if not ranges:
        return regs
    out = dict(regs)
    for k, v in regs.items():
        if isinstance(v, RegValue) and v.type == "pkt" and (v.id or 0) in ranges \
                and (v.r or 0) < ranges[v.id or 0]:
            out[k] = RegValue(**{f: getattr(v, f) for f in v.__slots__} | {"r": ranges[v.id or 0]})
    return out


def build_trace(lines: Iterable[LogLine]) -> Trace:
    t = Trace()
    regs: dict = {}
    path_id = -1
    cur_src: Optional[SourceRef] = None
    stack: list[tuple[int, int, int]] = []   # (branch idx, path, seq) of possibly pushed branches
    paths_by_id: dict[int, PathInfo] = {}
    seq = 0
    src_fresh = False
    last_step: Optional[Step] = None
    after_error = False
    # an unrecognised line printed right after an instruction and followed by the final
    # `processed N insns` line: the error message of a family the grammar does not know
    # yet (dropped as soon as the log shows that verification went on; a log that ends
    # without `processed` is truncated and an unknown last line there is not an error)
    pending: Optional[tuple[LogLine, Optional[Step], dict]] = None

    def new_path(src, dst, spec) -> int:
        nonlocal path_id
        parent = parent_seq = None
        if src is not None:
            while stack:
                bidx, bpath, bseq = stack.pop()
                if bidx == src:
                    parent, parent_seq = bpath, bseq
                    break
        path_id += 1
        p = PathInfo(path_id, src, dst, parent, parent_seq, seq, speculative=spec)
        if len(t.paths) < MAX_PATHS:
            t.paths.append(p)
        paths_by_id[path_id] = p
        if len(paths_by_id) > MAX_PATHS:
            paths_by_id.pop(next(iter(paths_by_id)))
        return path_id

    for ln in lines:
        t.lines_total += 1
        k = ln.kind
        if pending is not None and k in ("insn", "from", "state", "safe", "func", "error"):
            pending = None
        if k == "insn":
            d: InsnLine = ln.data
            if path_id < 0:
                new_path(None, d.idx, False)
            if after_error:
                # a new verification (e.g. a second log concatenated): start afresh
                t.errors.clear()
                after_error = False
            t.program[d.idx] = d.insn
            t.visits[d.idx] = t.visits.get(d.idx, 0) + 1
            if cur_src is not None:
                jumped = (last_step is not None and not src_fresh
                          and d.idx not in (last_step.idx + 1, last_step.idx + 2))
                if jumped:
                    # control moved (a taken jump, a call or a return) and the kernel printed
                    # no source line: it prints one only when the line info changes from the
                    # last *printed* one, and a level-1 log drops the printed paths that
                    # verified, so the line above may belong to other code: a guess only
                    if d.idx not in t.source:
                        t.source_weak.setdefault(d.idx, cur_src)
                else:
                    t.source.setdefault(d.idx, cur_src)
                    t.source_weak.pop(d.idx, None)
            src_fresh = False
            st = Step(seq, path_id, d.idx, d.insn, d.state, regs, ln.lineno,
                      d.state.frame if d.state is not None else 0)
            t.steps.append(st)
            t.n_steps += 1
            p = paths_by_id.get(path_id)
            if p is not None:
                p.steps += 1
                if d.insn.op == "exit":
                    p.end = "exit"
            if d.insn.op in ("jcond", "may_goto") or (d.insn.op == "call" and d.insn.callee in (
                    "bpf_loop", "bpf_for_each_map_elem", "bpf_user_ringbuf_drain",
                    "bpf_find_vma", "bpf_iter_num_next")) or d.insn.callee == "bpf_iter_num_next":
                stack.append((d.idx, path_id, seq))
                if len(stack) > MAX_STACK:
                    del stack[: MAX_STACK // 2]     # bounded memory: oldest pushes forgotten
            ins = d.insn
            if ins.base is not None and ins.base != "r10" and ins.op in ("load", "store"):
                v = regs.get("R" + ins.base[1:])
                if isinstance(v, RegValue) and v.type == "pkt":
                    m = (v.r or 0) - ((v.off or 0) + (ins.mem_off or 0) + _SIZES.get(ins.size, 0))
                    if m > t.pkt_margin.get(d.idx, -1 << 62):
                        t.pkt_margin[d.idx] = m
            if d.state is not None:
                regs = _apply(regs, d.state, False)
                if ins.op == "jcond":
                    regs = _propagate_range(regs, d.state)
            last_step = st
            seq += 1
        elif k == "live_insn":
            d = ln.data
            t.program.setdefault(d.idx, d.insn)
        elif k == "source":
            cur_src = ln.data
            src_fresh = True
            if ln.data.file:
                t.has_line_info = True
        elif k == "state":
            d: StateLine = ln.data
            if path_id < 0:
                new_path(None, d.idx, False)
            if d.state.slots:
                regs = _apply(regs, d.state, True)
        elif k == "from":
            d: FromLine = ln.data
            pid = new_path(d.src, d.dst, d.speculative)
            t.branch_in[d.dst] = t.branch_in.get(d.dst, 0) + 1
            cur_src = None
            if d.safe:
                t.prunes[d.dst] = t.prunes.get(d.dst, 0) + 1
                paths_by_id[pid].end = "safe"
            elif d.state is not None:
                regs = _apply(regs, d.state, True)
        elif k == "safe":
            idx = ln.data.idx
            t.prunes[idx] = t.prunes.get(idx, 0) + 1
            p = paths_by_id.get(path_id)
            if p is not None:
                p.end = "safe"
        elif k == "scc":
            if ln.data[0] == "backedge":
                t.scc_backedges += 1
        elif k == "func":
            t.func_starts[ln.data.insn] = ln.data.func
        elif k == "libbpf" and ln.data == "cut":
            t.cut = True
            pending = None      # the line before the cut is cut short: not a message
        elif k == "error":
            if not after_error:
                t.failing = None if t.cut else last_step
                t.failing_regs = regs
                p = paths_by_id.get(path_id)
                if p is not None:
                    p.end = "error"
            after_error = True
            t.errors.append(ln)
        elif k.startswith("report_"):
            t.report.append(ln)
        elif k == "processed":
            if pending is not None and not t.errors:
                _unknown_is_error(t, pending)
            pending = None
            t.processed = ln.data
        elif k == "verification_time":
            t.verification_time_us = ln.data
        elif k == "stack_depth":
            t.stack_depth = ln.data
        elif k == "unknown" and after_error and not t.report:
            # an error message outside the catalog, right after the failing insn
            t.errors.append(ln)
        elif k == "unknown" and not after_error and pending is None \
                and t.processed is None and ln.text.strip():
            pending = (ln, None if t.cut else last_step, regs)
    if pending is not None and not t.errors and t.processed is None and not t.cut \
            and not _CUT_LINE.match(pending[0].text):
        # the log ends (no `processed`) on the unknown line, which is not an instruction or
        # state line cut short ("1: (95) ex")
        _unknown_is_error(t, pending)
    return t


_CUT_LINE = re.compile(r"^\s*\d+:")


def _unknown_is_error(t: Trace, pending: tuple) -> None:
    """An unrecognised line after the last instruction, with no instruction after it and
    nothing but statistics (or the end of the log) following, is the rejection's message:
    a log that holds an error is never read as accepted. The diagnosis classifies it from
    its text (class "other" when no family matches)."""
    ln, step, regs = pending
    t.unknown_tail = pending
    t.errors.append(ln)
    t.failing, t.failing_regs = step, regs

