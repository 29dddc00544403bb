"""Diagnose a rejected program from its verifier log: class, location, explanation, fix.

Contract: `diagnose_trace(trace, lines_of=None) -> Diagnosis | None` (None when the log shows
no rejection). `lines_of(insn) -> (file, line) | None` resolves source lines from the object
(BTF line info) when the log has none (kernel 6.1). The error message is the classic error
line (the first error after the last instruction), never kernel 7.3's report text. The
kernel's own report is attached as `kernel_report` but never used for our answer.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

from ..logmodel import ErrorMessage, KernelReport, RegValue
from . import catalog
from .slicing import LoopCost, SliceStep, backward_slice, loop_costs, pkt_checks
from .trace import Step, Trace

MAX_PACKET_OFF = 0xffff
LinesOf = Callable[[int], Optional[tuple[str, int]]]


@dataclass(frozen=True)
class CausalStep:
    insn: int
    text: str
    role: str
    file: Optional[str]
    line: Optional[int]
    code: Optional[str]


@dataclass(frozen=True)
class Diagnosis:
    class_id: str
    category: str
    message: str
    family: str
    insn: Optional[int]
    insn_text: Optional[str]
    source_file: Optional[str]
    source_line: Optional[int]
    source_code: Optional[str]
    check_insn: Optional[int]
    check_line: Optional[int]
    proved: Optional[int]
    explanation: str
    fix: str
    helper: str
    kernel_fix: str
    causal_path: tuple[CausalStep, ...] = ()
    loops: tuple[LoopCost, ...] = ()
    kernel_report: Optional[KernelReport] = None

    def to_json(self) -> dict:
        return {
            "class": self.class_id,
            "category": self.category,
            "message": self.message,
            "family": self.family,
            "insn": self.insn,
            "insn_text": self.insn_text,
            "source_file": self.source_file,
            "source_line": self.source_line,
            "source_code": self.source_code,
            "check": None if self.check_insn is None else {
                "insn": self.check_insn, "line": self.check_line, "proved": self.proved},
            "explanation": self.explanation,
            "fix": self.fix,
            "helper": self.helper,
            "kernel_fix": self.kernel_fix,
            "causal_path": [vars(s) for s in self.causal_path],
            "loops": [vars(l) for l in self.loops],
        }


def _size_bytes(size: Optional[str]) -> int:
    return int(size[1:]) // 8 if size else 0


def _reg_of(e: ErrorMessage, step: Optional[Step]) -> Optional[str]:
    if e.family == "r0-exit":
        return "r0"
    r = e.field("reg")
    if r is not None:
        return "r" + r
    if step is not None:
        i = step.insn
        if i.base and i.base != "r10":
            return i.base
        if i.src:
            return i.src
        return i.dst
    return None


class _Ctx:
    def __init__(self, trace: Trace, lines_of: Optional[LinesOf]):
        self.t = trace
        self.lines_of = lines_of

    def where(self, idx: Optional[int]) -> tuple[Optional[str], Optional[int], Optional[str]]:
        if idx is None:
            return None, None, None
        src = self.t.source.get(idx)
        if src is not None and src.line is not None:
            return src.file, src.line, src.code
        if self.lines_of is not None:
            r = self.lines_of(idx)
            if r is not None:
                return r[0], r[1], src.code if src else None
        return None, None, src.code if src else None

    def value(self, reg: Optional[str]) -> Optional[RegValue]:
        if reg is None:
            return None
        v = self.t.failing_regs.get("R" + reg[1:])
        return v if isinstance(v, RegValue) else None


def _loc(ctx: _Ctx, idx: Optional[int]) -> str:
    f, l, _ = ctx.where(idx)
    return f"line {l}" if l is not None else f"insn {idx}"


def _pointer_class(ctx: _Ctx, e: ErrorMessage, step: Optional[Step], reg: Optional[str],
                   slc: list[SliceStep]):
    """pkt-access family: (class, explanation, check step, proved range)."""
    off = int(e.field("off", 0))
    size = int(e.field("size", 0))
    rng = int(e.field("range", 0))
    pid = int(e.field("id", 0))
    v = ctx.value(reg)
    seq = step.seq if step else None
    checks = pkt_checks(ctx.t, seq, None) if seq is not None else []
    same = [(s, r) for s, r in checks if r > 0]
    need = f"bytes [{off}, {off + size})"
    fills = [s for s in slc if s.role == "fill"]
    var_umax = None
    if v is not None and v.type == "pkt" and v.umax is not None:
        var_umax = v.umax
    if var_umax is not None and var_umax + off + size > MAX_PACKET_OFF:
        chk = same[0] if same else (checks[0] if checks else None)
        return ("pkt-offset-too-large",
                f"the access needs {need} plus a variable offset of up to {var_umax}; packet "
                f"offsets above {MAX_PACKET_OFF:#x} are never given a range, so "
                + (f"the check at {_loc(ctx, chk[0].idx)} proved nothing for this pointer"
                   if chk else "no check can prove it"), chk, 0)
    if rng > 0:
        chk = None
        for s, r in checks:
            if r == rng:
                chk = (s, r)
        if chk is None and same:
            chk = same[0]
        where = f"the check at {_loc(ctx, chk[0].idx)}" if chk else "an earlier check"
        short = off + size - rng
        return ("pkt-off-by-one",
                f"the access needs {need} but {where} proved only {rng} bytes "
                f"({short} byte{'s' if short != 1 else ''} short)", chk, rng)
    # r == 0: no range for this pointer
    margin = ctx.t.pkt_margin.get(step.idx) if step is not None else None
    if margin is not None and margin >= 0:
        p = next((p for p in reversed(ctx.t.paths) if p.id == step.path), None)
        via = (f" (this path entered at insn {p.dst} from the branch at insn {p.src}, "
               f"{_loc(ctx, p.src)})" if p is not None and p.src is not None else "")
        return ("range-lost-join",
                f"the access needs {need}; on another path reaching the same read the pointer "
                f"had a proved range covering it, but on this path{via} it has none (r=0): "
                f"the check does not dominate the read", same[0] if same else None, 0)
    if same and fills:
        chk = same[0]
        return ("range-lost-spill",
                f"the access needs {need}; the check at {_loc(ctx, chk[0].idx)} proved "
                f"{chk[1]} bytes, but the pointer read at {_loc(ctx, step.idx if step else None)} "
                f"was reloaded from the stack ({fills[0].text}) and carries no range", chk, 0)
    return ("pkt-no-check",
            f"the access needs {need} but no check against data_end covers this pointer "
            f"(range r=0)" + (f"; the last check, at {_loc(ctx, checks[0][0].idx)}, compared "
                              f"another pointer" if checks else ""),
            checks[0] if checks else None, 0)


def _index_range_lost(ctx, step, slc: list[SliceStep], at: str) -> Optional[tuple[str, str]]:
    """An unbounded map-value index that *was* bounded somewhere: at a join or across a spill.

    Spill: the index's backward slice holds a bounds check and, after it, a fill from the
    stack: the register was checked, spilled and reloaded without its range (a narrower
    or misaligned spill keeps no bounds). Join: the failing instruction was already
    verified on an earlier path (level 2 keeps it; level 1 drops verified paths, so this
    needs a level-2 log) and this path entered through a branch: the check does not
    dominate the access.
    """
    checks = [s for s in slc if s.role == "check"]
    fills = [s for s in slc if s.role == "fill"]
    if checks and fills and any(f.seq > c.seq for f in fills for c in checks):
        c = checks[0]
        f = next(f for f in fills if f.seq > c.seq)
        return ("range-lost-spill",
                f"the index was checked at {_loc(ctx, c.idx)} but then went through the stack "
                f"({f.text.strip()} at {_loc(ctx, f.idx)}) and came back without its range, so "
                f"the access at {at} is unbounded")
    if step is not None and ctx.t.visits.get(step.idx, 0) > 1:
        p = next((p for p in reversed(ctx.t.paths) if p.id == step.path), None)
        if p is not None and p.src is not None:
            return ("range-lost-join",
                    f"the access at {at} was verified on an earlier path, where the index was "
                    f"bounded; on this path (entered at insn {p.dst} from the branch at "
                    f"{_loc(ctx, p.src)}) it is not: the bounds check sits on one incoming edge "
                    f"only and does not dominate the access")
    return None


def _last_mask(slc: list[SliceStep]) -> Optional[int]:
    """The constant of the last `&=` applied to the index before the access, if any (within
    the few definitions that lead to the access)."""
    import re as _re
    for s in slc[1:5]:
        if s.role == "def":
            m = _re.match(r"^[rw]\d+ &= (0x[0-9a-f]+|\d+)$", s.text)
            if m:
                return int(m.group(1), 0)
    return None


def classify(ctx: _Ctx, e: ErrorMessage, step: Optional[Step]):
    """(class id, explanation, check step or None, proved range or None, slice)."""
    fam = e.family
    reg = _reg_of(e, step)
    slc = backward_slice(ctx.t, reg, step.seq) if (step is not None and reg) else []
    v = ctx.value(reg)
    vt = v.type if v is not None else None
    at = _loc(ctx, step.idx if step else None)
    if fam in ("pkt-access", "pkt-outside"):
        cls, expl, chk, proved = _pointer_class(ctx, e, step, reg, slc)
        return cls, expl, chk, proved, slc
    if fam == "pkt-unbounded-min":
        return ("pkt-unbounded-min", f"at {at} a scalar whose minimum is unbounded "
                f"(smin={getattr(v, 'smin', None)}) is added to a packet pointer; the verifier "
                f"cannot give the result a range", None, None, slc)
    if fam == "ptr-unbounded-min":
        if e.field("ptr") in ("pkt", "pkt_meta"):
            return ("pkt-unbounded-min", f"at {at} a scalar with an unbounded minimum is added "
                    f"to a packet pointer", None, None, slc)
        return ("negative-min", f"at {at} a scalar whose minimum is unbounded (it may be "
                f"negative) is added to a {e.field('ptr')} pointer; use an unsigned, bounded "
                f"index", None, None, slc)
    if fam == "pkt-offset-too-large" and int(e.field("value", 0)) < 0:
        return ("pkt-unbounded-min", f"at {at} a scalar whose minimum is {e.field('value')} is "
                f"added to a packet pointer (a signed offset: it may move the pointer before "
                f"the packet start)", None, None, slc)
    if fam == "pkt-offset-too-large":
        return ("pkt-offset-too-large", f"at {at} the constant {e.field('value')} would put "
                f"the packet pointer beyond offset {MAX_PACKET_OFF:#x}", None, None, slc)
    if fam in ("map-value-oob", "map-key-oob", "mem-oob"):
        vs = e.field("value_size") or e.field("key_size") or e.field("mem_size")
        off, size = int(e.field("off", 0)), int(e.field("size", 0))
        excess = off + size - int(vs or 0)
        if size == 0:
            return ("helper-arg", f"a helper at {at} is given a size that may be 0 (a zero-sized "
                    f"access to a {vs}-byte value): bound the size to >= 1", None, None, slc)
        mask = _last_mask(slc)
        if excess > size and mask is not None:
            return ("map-value-oob",
                    f"the index is masked with {mask:#x} before the access at {at}, so it can "
                    f"reach byte {off} but the value has only {vs} bytes: the mask is wider than "
                    f"the buffer (use {int(vs) - 1:#x} for a {vs}-byte power-of-two buffer)",
                    None, None, slc)
        if excess > size and v is not None and v.var_off is not None:
            return ("scratch-index-unmasked",
                    f"the access may reach bytes [{off}, {off + size}) of a {vs}-byte value at "
                    f"{at}: the variable index is not masked to the buffer size "
                    f"(umax={v.umax})", None, None, slc)
        return ("map-value-oob", f"the access needs bytes [{off}, {off + size}) of a "
                f"{vs}-byte value at {at}", None, None, slc)
    if fam in ("max-outside", "unbounded-access", "min-outside"):
        if vt == "pkt":
            return ("pkt-unbounded-min" if fam == "min-outside" else "pkt-offset-too-large",
                    f"the packet pointer's variable offset at {at} is not bounded "
                    f"(umax={getattr(v, 'umax', None)})", None, None, slc)
        if vt and vt.startswith("fp"):
            return ("stack-var-offset", f"variable stack offset at {at}", None, None, slc)
        vs = getattr(v, "vs", None)
        umax = getattr(v, "umax", None)
        if fam == "min-outside":
            return ("negative-min", f"the index at {at} may be negative "
                    f"(smin={getattr(v, 'smin', None)})", None, None, slc)
        if fam == "unbounded-access" or umax is None or vs is None or umax >= vs:
            lost = _index_range_lost(ctx, step, slc, at)
            if lost is not None:
                return lost + (None, None, slc)
            return ("scratch-index-unmasked",
                    f"the index into the {vs if vs is not None else '?'}-byte map value at {at} "
                    f"is not bounded by the buffer (umax={umax}{'' if v is None or v.off is None else f', off={v.off}'})",
                    None, None, slc)
        return ("map-value-oob", f"the access at {at} may end past the {vs}-byte value "
                f"(offset up to {umax + (v.off or 0)})", None, None, slc)
    if fam == "min-negative":
        return ("negative-min", f"the offset register R{e.field('reg')} at {at} has a "
                f"negative minimum (smin={getattr(v, 'smin', None)}); use an unsigned index",
                None, None, slc)
    if fam == "stack-var-off":
        return ("stack-var-offset", f"the stack is indexed with a variable offset at {at} "
                f"({e.text.strip()})", None, None, slc)
    if fam == "stack-oob":
        return ("stack-oob", f"stack access at {at} outside the frame: {e.text.strip()}",
                None, None, slc)
    if fam == "stack-uninit":
        return ("uninit-read", f"the stack bytes read at {at} were never written on this "
                "path", None, None, slc)
    if fam == "uninit-reg":
        if e.field("reg") == "0" and step is not None and step.insn.op == "exit":
            return ("r0-not-set", f"the program exits at {at} on a path where R0 was never "
                    "set", None, None, slc)
        return ("uninit-read", f"R{e.field('reg')} is read at {at} before it is written on "
                "this path", None, None, slc)
    if fam == "invalid-mem-access":
        t = e.field("type") or ""
        if "or_null" in t:
            return ("null-not-checked", f"R{e.field('reg')} is a {t} (it may be NULL) and is "
                    f"dereferenced at {at} without a NULL check", None, None, slc)
        if any(s.role == "fill" for s in slc):
            return ("range-lost-spill", f"R{e.field('reg')} is a '{t}' at {at}: the pointer "
                    "lost its type through a stack spill/fill", None, None, slc)
        return ("scalar-deref", f"R{e.field('reg')} is a '{t}', not a pointer, at {at}",
                None, None, slc)
    if fam in ("reg-type", "null-arg"):
        t = e.field("type") or ""
        if "or_null" in t or fam == "null-arg":
            return ("null-not-checked", f"a possibly-NULL pointer ({t or 'or_null'}) is passed "
                    f"at {at}", None, None, slc)
        return ("helper-arg", f"at {at}: {e.text.strip()}", None, None, slc)
    if fam == "helper-arg":
        return ("helper-arg", f"at {at}: {e.text.strip()}", None, None, slc)
    if fam == "r0-exit":
        return ("bad-return", f"at {at}: {e.text.strip()}", None, None, slc)
    if fam == "spill-size":
        return ("range-lost-spill", f"at {at} a pointer is spilled to the stack with a store "
                f"narrower than 8 bytes: the verifier refuses it because the pointer (and its "
                f"proved range) cannot survive a partial spill", None, None, slc)
    if fam in ("too-large", "jumps-too-complex", "infinite-loop", "back-edge", "loop-detected"):
        cls = {"too-large": "too-many-insns", "jumps-too-complex": "jump-seq-too-complex",
               "infinite-loop": "infinite-loop", "back-edge": "back-edge",
               "loop-detected": "back-edge"}[fam]
        return (cls, _loop_explanation(ctx, cls, e), None, None, [])
    if fam in ("ptr-arith-oob", "ptr-arith-unbounded", "ptr-arith-prohibited", "ptr-offset",
               "pkt-end-arith", "pkt-cmp"):
        return ("ptr-arith", f"at {at}: {e.text.strip()}", None, None, slc)
    if fam == "bad-insn" and e.text.startswith("unknown opcode"):
        return ("unsupported-insn", f"{e.text.strip()}: this kernel's verifier does not know "
                f"the instruction at {at}", None, None, slc)
    if fam == "ctx-access":
        return ("ctx-access", f"at {at}: {e.text.strip()}", None, None, slc)
    if fam in ("ref-leak", "ref-invalid"):
        return ("unreleased-ref", f"{e.text.strip()}", None, None, slc)
    if fam == "func-call":
        return ("helper-unavailable", f"at {at}: {e.text.strip()}", None, None, slc)
    return ("other", e.text.strip(), None, None, slc)


def _loop_explanation(ctx: _Ctx, cls: str, e: ErrorMessage) -> str:
    t = ctx.t
    costs = loop_costs(t)
    total = t.processed.insns if t.processed else sum(t.visits.values())
    head = f"{e.text.strip()} "
    if not costs:
        return head + f"({total} insns processed; no back-edge seen in the printed log)"
    c = costs[0]
    f1, l1, _ = ctx.where(c.head)
    f2, l2, _ = ctx.where(c.tail)
    lines = (f"lines {min(l1, l2)}-{max(l1, l2)}" if l1 and l2 and l1 != l2
             else f"line {l1 or l2}" if (l1 or l2) else f"insns {c.head}-{c.tail}")
    return head + (f"(the loop at {lines}, insns {c.head}..{c.tail}, was walked "
                   f"{c.iterations} times and consumed {c.insns_processed} of the "
                   f"{sum(t.visits.values())} printed instruction visits ({c.share:.0%}) and "
                   f"{c.states} branch states; {total} insns processed in all)")


def _loop_region(trace: Trace, idx: Optional[int]) -> Optional[tuple[int, int]]:
    """The widest back-edge region containing idx (the outer loop), else the costliest."""
    loops = trace.loops()
    if idx is not None:
        inside = [(h, t) for h, t in loops if h <= idx <= t]
        if inside:
            return max(inside, key=lambda r: r[1] - r[0])
    costs = loop_costs(trace)
    return (costs[0].head, costs[0].tail) if costs else None


def failing_step_for_loop(ctx: _Ctx, cls: str, e: ErrorMessage) -> Optional[int]:
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
        return costs[0].head
    return ctx.t.failing.idx if ctx.t.failing else None


def diagnose_trace(trace: Trace, lines_of: Optional[LinesOf] = None,
                   kernel_report: Optional[KernelReport] = None) -> Optional[Diagnosis]:
    e = trace.error
    if e is None:
        if trace.error_text is None:
            return None
        e = ErrorMessage("unknown", trace.error_text)
    ctx = _Ctx(trace, lines_of)
    step = trace.failing
    cls_id, expl, chk, proved, slc = classify(ctx, e, step)
    fc = catalog.get(cls_id)
    region = None
    if fc.category == "bounded-loop":
        idx = failing_step_for_loop(ctx, cls_id, e)
        insn_text = trace.program[idx].text if idx in trace.program else None
        region = _loop_region(trace, idx)
    elif cls_id == "bad-return" and slc:
        # blame the instruction that set the return value, not the exit
        defs = [s for s in slc if s.role == "def"]
        idx = defs[0].idx if defs else (step.idx if step else None)
        insn_text = defs[0].text if defs else (step.insn.text if step else None)
    else:
        idx = step.idx if step else None
        insn_text = step.insn.text if step else None
    f, l, code = ctx.where(idx)
    if region is not None:
        # a loop is reported at its first source line (the for/while line): the smallest
        # line among the instructions of the back-edge region, in the failing insn's file
        best = None
        for i in range(region[0], region[1] + 1):
            rf, rl, rc = ctx.where(i)
            if rl is not None and (f is None or rf == f) and (best is None or rl < best[1]):
                best = (rf, rl, rc)
        if best is not None:
            f, l, code = best
    chk_idx = chk[0].idx if chk else None
    chk_line = ctx.where(chk_idx)[1] if chk_idx is not None else None
    causal = []
    for s in reversed(slc):
        sf, sl, sc = ctx.where(s.idx)
        causal.append(CausalStep(s.idx, s.text, s.role, sf, sl, sc))
    if chk is not None and all(c.insn != chk_idx for c in causal):
        sf, sl, sc = ctx.where(chk_idx)
        causal.insert(max(len(causal) - 1, 0),
                      CausalStep(chk_idx, chk[0].insn.text, "check", sf, sl, sc))
    loops = tuple(loop_costs(trace)[:5])
    return Diagnosis(class_id=fc.id, category=fc.category, message=e.text.strip(),
                     family=e.family, insn=idx, insn_text=insn_text, source_file=f,
                     source_line=l, source_code=code, check_insn=chk_idx, check_line=chk_line,
                     proved=proved, explanation=expl, fix=fc.fix, helper=fc.helper,
                     kernel_fix=fc.kernel_fix, causal_path=tuple(causal), loops=loops,
                     kernel_report=kernel_report)
