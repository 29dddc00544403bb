"""Where a failure is reported: the source line rules that do not follow the failing insn.

Contract: pure functions of the diagnosis context `ctx` (toolkit.analysis.diagnose._Ctx:
`.t` the Trace, `.where(idx) -> (file, line, code)`, `.lines_of`) and the error:
  failing_step_for_loop(ctx, cls, e) -> insn   the insn a loop failure is blamed on
  loop_region(trace, idx, named) -> (head, tail) | None   the back-edge region around it
  loop_header(ctx, region, file) -> (file, line, code) | None   the loop's for/while line
  leak_site(ctx, e, step) -> insn              where a reference leak is reported (alloc)
  leak_branch(ctx, step) -> insn | None        the branch the leaking path left through
  return_site(ctx, step, defs) -> (insn, text) where a bad return value is reported
  is_return_stmt(ctx, step) -> bool            the exit has a `return` line of its own
Each rule reads only what the log (and the object's line info) says: back-edges, visit
counts, frames, the source text of lines, the path that failed.
"""
from __future__ import annotations

import re
from typing import Optional

from ..logmodel import ErrorMessage
from .slicing import loop_costs
from .trace import Step, Trace


# a source line that opens (or closes, for do-while) a loop
_LOOP_KEYWORD = re.compile(r"^\s*(?:\}\s*)?(?:for|while|do|bpf_for|bpf_for_each|bpf_repeat)\b")


def loop_region(trace: Trace, idx: Optional[int], named: bool = False) -> Optional[tuple[int, int]]:
    """The widest back-edge region containing idx (the outer loop), else the costliest.
    When the error itself named idx (`infinite loop detected at insn N`) and no printed
    back-edge encloses it, there is no region: a loop elsewhere would be the wrong line."""
    loops = trace.loops()
    if idx is not None:
        inside = [(h, t) for h, t in loops if h <= idx <= t]
        if inside:
            return max(inside, key=lambda r: r[1] - r[0])
        if named:
            return None
    costs = loop_costs(trace)
    return (costs[0].head, costs[0].tail) if costs else None


def failing_step_for_loop(ctx, cls: str, e: ErrorMessage) -> Optional[int]:
    """The instruction to blame for a loop failure: the error names it, else the back-edge."""
    for k in ("insn",):
        v = e.field(k)
        if v is not None:
            return int(v)
    v = e.field("to")
    if v is not None:
        return int(v)
    costs = loop_costs(ctx.t)
    if costs:
        # the loop the verifier was in when it gave up, if it is a loop that mattered
        # (a fair share of the work); else the costliest loop
        fail = ctx.t.failing.idx if ctx.t.failing is not None else None
        if fail is not None:
            inside = [c for c in costs if c.head <= fail <= c.tail]
            if inside:
                c = max(inside, key=lambda c: c.tail - c.head)
                if c.share >= 0.25 or c is costs[0]:
                    return c.head
        return costs[0].head
    call = _iterating_call(ctx)
    if call is not None:
        return call
    return ctx.t.failing.idx if ctx.t.failing else None


_ITERATING_HELPERS = ("bpf_loop", "bpf_for_each_map_elem", "bpf_user_ringbuf_drain")


def _iterating_call(ctx) -> Optional[int]:
    """The helper call that iterates a callback (bpf_loop & co.) the failing path is in, when
    the failing insn runs in a deeper frame than it: the verifier walks such callbacks
    again and again with no back-edge in the program text, and the call is "the loop"."""
    st = ctx.t.failing
    if st is None:
        return None
    frame = None
    for x in ctx.t.walk_back(st.seq, limit=200_000):
        if frame is None and x.after is not None:
            frame = x.after.frame            # the failing insn's frame: the last printed one
        if x.insn.op == "call" and x.insn.callee in _ITERATING_HELPERS:
            return x.idx if frame else None
    return None


def loop_header(ctx, region: tuple[int, int], f: Optional[str]):
    """(file, line, code) of a loop's header, the line a loop failure is reported at.

    clang rotates loops: the back-edge is the loop condition at the bottom, the body starts
    at the back-edge target, and the `for`/`while` line is spread over the guard before the
    loop, the increment and the condition, so neither end of the region reliably carries
    it; inlined helpers called in the body bring lines from elsewhere in the file. The
    header is therefore the smallest line whose source text opens a loop (for / while / do
    / bpf_for...) among the region's instructions, else among the few instructions just
    before the region (the rotated loop's guard); without source text (or no such line),
    the smallest line of the region, as before. Only lines of the failing insn's file.
    """
    def scan(rng):
        best_kw = best_any = None
        for i in rng:
            if i not in ctx.t.program and ctx.lines_of is None:
                continue
            rf, rl, rc = ctx.where(i)
            if rl is None or (f is not None and rf != f):
                continue
            if best_any is None or rl < best_any[1]:
                best_any = (rf, rl, rc)
            if rc and _LOOP_KEYWORD.match(rc) and (best_kw is None or rl < best_kw[1]):
                best_kw = (rf, rl, rc)
        return best_kw, best_any
    if f is None:
        f = ctx.where(region[1])[0]       # the back-edge's file when the failing insn has none
    kw, any_ = scan(range(region[0], region[1] + 1))
    if kw is not None:
        return _do_of_do_while(ctx, kw)
    pre_kw, _ = scan(range(max(region[0] - 12, 0), region[0]))
    if pre_kw is not None and (any_ is None or pre_kw[1] <= any_[1]):
        return pre_kw
    return any_


_CLOSING_WHILE = re.compile(r"^\s*\}\s*while\b")


def _do_of_do_while(ctx, found):
    """A `} while (cond);` line is the bottom of a do-while loop whose `do {` line carries no
    instruction (so no line info): read the source file, when the object's line info says
    where it is and it is readable, and walk up to the `do` that opens the matching brace."""
    rf, rl, rc = found
    if not rc or not _CLOSING_WHILE.match(rc):
        return found
    path = getattr(ctx.lines_of, "paths", {}).get(rf)
    try:
        with open(path) as fh:
            src = fh.read().splitlines()
    except (OSError, TypeError):
        return found
    if not (0 < rl <= len(src)) or not _CLOSING_WHILE.match(src[rl - 1]):
        return found                      # the file changed since the object was built
    depth = 0
    for n in range(rl, 0, -1):
        text = src[n - 1].split("//", 1)[0]
        if n == rl:
            text = text[:text.index("}") + 1]
        depth += text.count("}") - text.count("{")
        if depth <= 0:
            for k in (n, n - 1):          # `do {` or `do` on the line above a lone `{`
                if k > 0 and re.match(r"^\s*do\b", src[k - 1]):
                    return rf, k, src[k - 1].strip()
            return found
    return found


_ALLOC_INSN = re.compile(r"alloc_insn=(\d+)")
_RETURN = re.compile(r"\breturn\b")


def is_return_stmt(ctx, step: Optional[Step]) -> bool:
    """The failing exit has a source line of its own that is a `return` statement."""
    if step is None or step.insn.op != "exit":
        return False
    _, line, code = ctx.where(step.idx)
    return line is not None and code is not None and bool(_RETURN.search(code))


def _is_closing_brace(code: Optional[str]) -> bool:
    return code is not None and code.strip() in ("}", "};")


def leak_site(ctx, e: ErrorMessage, step: Step) -> Optional[int]:
    """The instruction to report a reference leak at: where the reference was acquired.

    The kernel names it (`alloc_insn=N`, every kernel 6.1..7.x) and it always has a line of
    its own, while the leaking `return` usually has none (clang merges it into the shared
    epilogue). The leaking path is given by `leak_branch` (for the explanation)."""
    m = _ALLOC_INSN.search(e.text)
    if m is not None:
        return int(m.group(1))
    return step.idx


def leak_branch(ctx, step: Step) -> Optional[int]:
    """The branch through which the leaking path jumped into the shared epilogue, if any."""
    if step.insn.op != "exit":
        return None
    _, exit_line, code = ctx.where(step.idx)
    if not _is_closing_brace(code):
        return step.idx
    for st in ctx.t.walk_back(step.seq, limit=64):
        _, sl, sc = ctx.where(st.idx)
        if sl is None or sl == exit_line or _is_closing_brace(sc):
            continue                      # still in the epilogue
        if st.insn.op == "jcond":
            return st.idx
        break
    return None


def return_site(ctx, step: Optional[Step], defs: list) -> tuple[Optional[int], Optional[str]]:
    """Where a bad return value is reported when the exit is the shared epilogue: the
    nearest definition of R0 on the failing path whose line is not the closing brace (clang
    often materialises the constant in the epilogue), else the nearest instruction on the
    path whose line is a `return` statement, else the exit."""
    for d in defs:
        _, line, code = ctx.where(d.idx)
        if line is not None and not _is_closing_brace(code):
            return d.idx, d.text
    if step is not None:
        for st in ctx.t.walk_back(step.seq, limit=256):
            _, line, code = ctx.where(st.idx)
            if line is not None and code is not None and _RETURN.search(code):
                return st.idx, st.insn.text
    if defs:
        return defs[0].idx, defs[0].text
    return (step.idx, step.insn.text) if step is not None else (None, None)
