"""Diagnose a rejected program from its verifier log: class, location, explanation, fix.

Contract: `diagnose_trace(trace, lines_of=None) -> Diagnosis | None` (None when the log shows
no rejection). `lines_of(insn) -> (file, line[, source text]) | None` resolves source lines
from the object (BTF line info) when the log has none (kernel 6.1, or a level-1 jump target
with no line printed). The error message is the classic error line (the first error after
the last instruction), never kernel 7.3's report text; an error line the grammar gives no
family is recognised by its text here (`fallback_error`). The kernel's own report is
attached as `kernel_report` but never used for our answer. The class comes from the error
family refined by the log's evidence (register state, the backward slice, the paths that
reached the failing insn); where it is reported is the failing insn's line except for the
rules in location.py (loops, leaks, returns).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Optional

from ..logmodel import ErrorMessage, KernelReport, RegValue
from . import catalog
from .location import (failing_step_for_loop, is_return_stmt, leak_branch, leak_site, loop_header, return_site,
                       loop_region)
from .slicing import LoopCost, SliceStep, backward_slice, loop_costs, pkt_checks
from .trace import Step, Trace

MAX_PACKET_OFF = 0xffff

# Error messages the log grammar does not (yet) give a family, recognised here by their
# text so a rejection is never reported as "accepted" or "other" for want of a regex.
# (family, regex): the same family names and field names as toolkit/logparse/messages.py.
_FALLBACK_FAMILIES = [
    # check_stack_access_within_bounds(): "invalid%s stack R%d off=%d size=%d" with
    # " write to" / " read from" / " indirect access to"
    ("stack-oob", r"invalid (?:write to|read from|indirect access to) stack R(?P<reg>\d+) "
                  r"off=(?P<off>-?\d+) size=(?P<size>\d+)"),
    ("stack-var-off", r"invalid (?:unbounded )?variable-offset (?:write to|read from|"
                      r"indirect access to) stack R(?P<reg>\d+)"),
]
_FALLBACK_RX = [(f, re.compile(rx)) for f, rx in _FALLBACK_FAMILIES]


def fallback_error(text: str) -> ErrorMessage:
    """An ErrorMessage for a line the grammar left unknown (family "unknown" if no rule)."""
    st = text.strip()
    for fam, rx in _FALLBACK_RX:
        m = rx.match(st)
        if m:
            return ErrorMessage(fam, text, tuple((k, v) for k, v in m.groupdict().items()
                                                 if v is not None))
    return ErrorMessage("unknown", text)


LinesOf = Callable[[int], Optional[tuple]]      # insn -> (file, line[, source text])


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
                code = src.code if src else (r[2] if len(r) > 2 else None)
                return r[0], r[1], code
        if src is None:
            # only a guess from the log (a jump target with no line printed), used when the
            # object cannot say
            src = self.t.source_weak.get(idx)
            if src is not None and src.line is not None:
                return src.file, src.line, src.code
        return None, None, src.code if src else None

    def value(self, reg: Optional[str]) -> Optional[RegValue]:
        if reg is None:
            return None
        v = self.t.failing_regs.get("R" + reg[1:])
        return v if isinstance(v, RegValue) else None


def _passed_elsewhere(ctx: _Ctx, step: Optional[Step]):
    """The join test: an earlier visit of the failing instruction on a path that is *not* an
    ancestor of the failing one (it passed: the verifier stops at the first failure), while
    no ancestor visited it (so this is not a later iteration of a loop around the access).

    Returns (earlier step, the failing path's branch PathInfo or None), or None when the
    access was not verified elsewhere, or the log does not tell (level 1 drops the paths
    that verified; a ring-buffer history that lost the failing path's start is "unknown").
    """
    if step is None:
        return None
    t = ctx.t
    ancestors = set()
    oldest = None
    for st in t.walk_back(step.seq):
        if st.seq != step.seq and st.idx == step.idx:
            return None                      # an earlier iteration of a loop: no join
        ancestors.add(st.seq)
        oldest = st
    if oldest is None or (t.steps and oldest.seq == t.steps[0].seq and t.steps[0].seq > 0):
        return None                          # history cut: cannot tell
    other = None
    for st in t.steps:
        if st.seq >= step.seq:
            break
        if st.idx == step.idx and st.seq not in ancestors:
            other = st
            break
    if other is None:
        return None
    # the branch where the failing path split off from the one that passed
    p = next((p for p in reversed(t.paths) if p.id == step.path), None)
    if p is not None and p.src is not None:
        src = t.program.get(p.src)
        if src is not None and src.op == "call":
            # the path starts at a call: a callback (bpf_loop & co.) verified again for its
            # next iteration, with the state the previous one left: a loop, not a join
            return None
    return other, p


def _spill_lost_range(ctx: _Ctx, slc: list[SliceStep], check_seq: int, known: bool = False):
    """(spill, fill) steps of the slice, after the check, where the fill came back wider than
    what was spilled (a narrow or misaligned spill keeps no bounds), or None. When the log
    does not print both states the pair counts as lost (the older rule), unless `known`:
    then only a reload *known* to be wider than the store counts."""
    spills = [x for x in slc if x.role == "spill"]
    for f in (x for x in slc if x.role == "fill" and x.seq > check_seq):
        sp = next((x for x in spills if x.seq < f.seq), None)
        fst = ctx.t.step(f.seq)
        sst = ctx.t.step(sp.seq) if sp is not None else None
        filled = None
        if fst is not None and fst.after is not None and f.regs:
            want = "R" + f.regs[0][1:]
            filled = next((x.value for x in fst.after.slots if x.name == want), None)
        spilled = None
        if sst is not None and sst.insn.src:
            v = sst.regs.get("R" + sst.insn.src[1:])
            spilled = v if isinstance(v, RegValue) else None
        both = (filled is not None and spilled is not None and filled.umax is not None
                and spilled.umax is not None)
        if both and filled.umax <= spilled.umax:
            continue                          # the range survived this spill
        if known and not both:
            continue                          # cannot tell: not evidence of a lost range
        return sp, f
    return None


def _is_helper_call(insn) -> bool:
    """A call of a helper or kfunc (not of a BPF subprogram, which has a pc-relative target)."""
    return insn.op == "call" and insn.callee is not None and insn.target is None


def _is_scalar_check(ctx: _Ctx, x: SliceStep) -> bool:
    """A slice check that compared a *scalar* (an index or a length), not a pointer (NULL
    checks of a map value are not bounds checks). Unknown when the log has no state: True."""
    st = ctx.t.step(x.seq)
    if st is None:
        return True
    vals = [st.regs.get("R" + r[1:]) for r in x.regs]
    if not any(isinstance(v, RegValue) for v in vals):
        return True
    return any(isinstance(v, RegValue) and v.type == "scalar" for v in vals)


def _index_check(ctx: _Ctx, slc: list[SliceStep]) -> Optional[SliceStep]:
    """The newest scalar check of the slice (see _is_scalar_check), with its state known."""
    for x in slc:
        if x.role != "check" or ctx.t.step(x.seq) is None:
            continue
        st = ctx.t.step(x.seq)
        if any(isinstance(st.regs.get("R" + r[1:]), RegValue)
               and st.regs.get("R" + r[1:]).type == "scalar" for r in x.regs):
            return x
    return None


def ctx_check(ctx: _Ctx, x: SliceStep):
    """(Step, 0) for a slice check, the shape classify() returns checks in."""
    st = ctx.t.step(x.seq)
    return (st, 0) if st is not None else None


def _pointer_spilled(ctx: _Ctx, slc: list[SliceStep]) -> bool:
    """The dereferenced register was filled from a stack slot into which a *pointer* had been
    spilled (so the fill lost its pointer type); a scalar that merely went through the
    stack is not a lost pointer. Without the spill's state in the log, any fill counts."""
    fills = [x for x in slc if x.role == "fill"]
    if not fills:
        return False
    spills = [x for x in slc if x.role == "spill"]
    for f in fills:
        sp = next((x for x in spills if x.seq < f.seq), None)
        sst = ctx.t.step(sp.seq) if sp is not None else None
        if sst is None or not sst.insn.src:
            return True
        v = sst.regs.get("R" + sst.insn.src[1:])
        if not isinstance(v, RegValue) or v.type is None:
            return True
        if v.type != "scalar":
            return True
    return False


def _invalidated_pkt_pointer(ctx: _Ctx, step: Optional[Step], slc: list[SliceStep]):
    """The helper call that turned a packet pointer into a scalar (bpf_skb_pull_data and the
    other packet-changing helpers invalidate every packet pointer), or None. Evidence: the
    slice's definition of the register left a pkt pointer (state printed after it) and a
    helper was called between it and the failing use."""
    if step is None:
        return None
    d = next((x for x in slc[1:] if x.role in ("def", "fill")), None)
    if d is None or not d.regs:
        return None
    dst = ctx.t.step(d.seq)
    if dst is None or dst.after is None:
        return None
    want = "R" + d.regs[0][1:]
    v = next((x.value for x in dst.after.slots if x.name == want), None)
    if v is None or v.type not in ("pkt", "pkt_meta"):
        return None
    for st in ctx.t.walk_back(step.seq):
        if st.seq <= d.seq:
            break
        if _is_helper_call(st.insn):
            return st
    return None


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
    joined = _passed_elsewhere(ctx, step)
    if rng > 0 and joined is not None:
        other, p = joined
        via = (f" (this path entered at insn {p.dst} from the branch at insn {p.src}, "
               f"{_loc(ctx, p.src)})" if p is not None and p.src is not None else "")
        return ("range-lost-join",
                f"the access needs {need}; another path reached the same read with the bytes "
                f"proved, but on this path{via} the pointer is proved for only {rng} bytes: "
                f"the check that covers the read does not dominate it",
                same[0] if same else None, rng)
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
    if margin is not None and margin >= 0 and not _loop_iteration(ctx, step):
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


def _loop_iteration(ctx: _Ctx, step: Optional[Step]) -> bool:
    """The failing path visited the failing instruction before (a later loop iteration)."""
    if step is None:
        return False
    return any(st.seq != step.seq and st.idx == step.idx for st in ctx.t.walk_back(step.seq))


def _index_range_lost(ctx, step, slc: list[SliceStep], at: str) -> Optional[tuple[str, str]]:
    """An unbounded map-value index that *was* bounded somewhere: at a join or across a spill.

    Spill: the index's backward slice holds a bounds check and, after it, a fill from the
    stack: the register was checked, spilled and reloaded without its range (a narrower
    or misaligned spill keeps no bounds). Join: the failing instruction was already
    verified on an earlier path (level 2 keeps it; level 1 drops verified paths, so this
    needs a level-2 log) and this path entered through a branch: the check does not
    dominate the access.
    """
    checks = [s for s in slc if s.role == "check" and _is_scalar_check(ctx, s)]
    lost = _spill_lost_range(ctx, slc, min(c.seq for c in checks)) if checks else None
    if lost is None and not checks:
        # bounded without a compare (a mask, a modulo, a narrow type) and then spilled:
        # only a spill whose reload is *known* to be wider than what was stored counts
        lost = _spill_lost_range(ctx, slc, -1, known=True)
    if lost is not None:
        before = lost[0].seq if lost[0] is not None else lost[1].seq
        f = lost[1]
        if checks:
            c = next((c for c in checks if c.seq < before), checks[-1])
            how = f"the index was checked at {_loc(ctx, c.idx)}"
        else:
            how = f"the index was bounded when it was stored ({lost[0].text.strip()})"
        return ("range-lost-spill",
                f"{how} but then went through the stack ({f.text.strip()} at "
                f"{_loc(ctx, f.idx)}) and came back without its range, so the access at {at} "
                f"is unbounded")
    joined = _passed_elsewhere(ctx, step)
    if joined is not None:
        p = joined[1]
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


def _inside_frame(e: ErrorMessage) -> bool:
    """A constant stack access [off, off+size) that lies inside the 512-byte frame."""
    off, size = e.field("off"), e.field("size")
    if off is None or size is None or e.field("rw") in ("write to",):
        return False
    off, size = int(off), int(size)
    return size > 0 and -512 <= off and off + size <= 0


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
    if fam == "stack-oob" and _inside_frame(e):
        # "invalid read from stack R3 off=-24 size=8" with the bytes inside the 512-byte
        # frame: kernels that track how much stack was written (6.8+) print the bounds
        # message for a read beyond the part ever written when uninitialised reads are
        # not allowed (no CAP_PERFMON): the bytes were never written
        return ("uninit-read", f"the stack bytes [{e.field('off')}, "
                f"{int(e.field('off')) + int(e.field('size'))}) read at {at} lie inside the "
                f"frame but were never written on this path (the kernel reports them beyond "
                f"the written part of the stack)", None, None, slc)
    if (step is not None and _is_helper_call(step.insn)
            and fam in ("map-value-oob", "map-key-oob", "mem-oob", "max-outside",
                        "min-outside", "unbounded-access")):
        # the access is the helper's: a buffer argument and a size argument that do not fit
        return ("helper-arg", f"the helper {step.insn.callee} called at {at} would access "
                f"memory outside the buffer it is given ({e.text.strip()}): pass a size that "
                f"is bounded by the buffer's size (and > 0)", None, None, slc)
    if fam in ("map-value-oob", "map-key-oob", "mem-oob"):
        vs = e.field("value_size") or e.field("key_size") or e.field("mem_size")
        off, size = int(e.field("off", 0)), int(e.field("size", 0))
        if off < 0:
            return ("negative-min", f"the access at {at} starts at offset {off}, before the "
                    f"start of the {vs}-byte value: the index (or the offset computed from it) "
                    f"is negative on this path; use an unsigned index or check `i >= 0`",
                    None, None, slc)
        excess = off + size - int(vs or 0)
        if size == 0:
            return ("helper-arg", f"a helper at {at} is given a size that may be 0 (a zero-sized "
                    f"access to a {vs}-byte value): bound the size to >= 1", None, None, slc)
        mask = _last_mask(slc)
        if excess > size:
            lost = _index_range_lost(ctx, step, slc, at)
            if lost is not None:
                return lost + (None, None, slc)
        ichk = _index_check(ctx, slc) if excess > size else None
        if ichk is not None:
            return ("map-value-oob",
                    f"the index is bounded by the check at {_loc(ctx, ichk.idx)} "
                    f"({ichk.text.strip()}), but that bound lets the access at {at} reach bytes "
                    f"[{off}, {off + size}) of a {vs}-byte value: the check is too loose for "
                    f"the buffer", ctx_check(ctx, ichk), None, slc)
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
        stale = _invalidated_pkt_pointer(ctx, step, slc)
        if stale is not None:
            return ("pkt-no-check", f"R{e.field('reg')} was a packet pointer, but the call at "
                    f"{_loc(ctx, stale.idx)} ({stale.insn.text.strip()}) may change the packet "
                    f"and invalidated every packet pointer: at {at} it is a plain scalar. Load "
                    f"data/data_end again after the call and check the bytes before the read",
                    None, None, slc)
        if _pointer_spilled(ctx, slc):
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
    if fam == "ptr-offset" and re.search(r"\bctx ptr\b|\bctx\b.*\bdisallowed\b", e.text):
        # "dereference of modified ctx ptr R1 off=76 disallowed": the context is accessed
        # through a moved pointer (ctx + off); only ctx->field at its fixed offset is allowed
        return ("ctx-access", f"at {at} the context is read or written through a pointer "
                f"moved away from the context's start ({e.text.strip()}): access the field "
                f"directly (ctx->field) with its own size", None, None, slc)
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
    if fam == "func-call" and "args#" in e.text:
        # "kernel function f args#1 expected pointer to ...": a wrong kfunc argument
        return ("helper-arg", f"at {at}: {e.text.strip()}", None, None, slc)
    if fam in ("func-call", "func-unavailable", "lock-region"):
        return ("helper-unavailable", f"at {at}: {e.text.strip()}", None, None, slc)
    cls = _FAMILY_CLASS.get(fam)
    if fam == "ptr-value-oob":
        # "value X makes <type> pointer be out of bounds": a negative X is a signed index
        # whose minimum may be negative; a positive one runs past the object's end
        value, ptr = int(e.field("value", 0)), e.field("ptr") or ""
        cls = ("negative-min" if value < 0 else "pkt-offset-too-large" if ptr.startswith("pkt")
               else "map-value-oob" if ptr.startswith("map_value") else "ptr-arith")
    elif fam == "ptr-sum-too-big":
        cls = "pkt-offset-too-large" if vt == "pkt" else "ptr-arith"
    if cls is not None:
        return (cls, f"at {at}: {e.text.strip()}", None, None, slc)
    return ("other", e.text.strip(), None, None, slc)


# families (toolkit/logparse/messages.py) whose class follows from the family alone
_FAMILY_CLASS = {
    "ptr-const-math": "ptr-arith", "ptr-arith-sanitize": "ptr-arith",
    "pkt-invalidated": "pkt-no-check", "uninit-trap": "uninit-read",
    "stack-too-big": "stack-oob",
}


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


def diagnose_trace(trace: Trace, lines_of: Optional[LinesOf] = None,
                   kernel_report: Optional[KernelReport] = None) -> Optional[Diagnosis]:
    e = trace.error
    step = trace.failing
    if e is None and trace.error_text is None and trace.unknown_tail is not None:
        # an error line the grammar does not know, recognised here by its text
        ln, st, regs = trace.unknown_tail
        cand = fallback_error(ln.text)
        if cand.family != "unknown":
            e, step = cand, st
            trace.failing, trace.failing_regs = st, regs
    if e is None:
        if trace.error_text is None:
            return None
        e = fallback_error(trace.error_text)
    elif e.family == "stack-uninit":
        # "invalid indirect access to stack R1 off=-16 size=32" is the *bounds* message of
        # check_stack_access_within_bounds() (a helper given more bytes than the frame
        # holds), not an uninitialised read; the grammar files it under stack-uninit
        cand = fallback_error(e.text)
        if cand.family == "stack-oob":
            e = cand
    ctx = _Ctx(trace, lines_of)
    cls_id, expl, chk, proved, slc = classify(ctx, e, step)
    fc = catalog.get(cls_id)
    region = None
    if fc.category == "bounded-loop":
        idx = failing_step_for_loop(ctx, cls_id, e)
        insn_text = trace.program[idx].text if idx in trace.program else None
        named = e.field("insn") is not None or e.field("to") is not None
        region = loop_region(trace, idx, named)
    elif cls_id == "bad-return" and not is_return_stmt(ctx, step):
        # the exit is the function's shared epilogue (its line is the closing brace): blame
        # the instruction that set the return value; an exit on a `return` line of its own
        # is where the value is returned and is reported as it is
        idx, insn_text = return_site(ctx, step, [s for s in slc if s.role == "def"])
    elif cls_id == "unreleased-ref" and step is not None:
        idx = leak_site(ctx, e, step)
        insn_text = trace.program[idx].text if idx in trace.program else step.insn.text
        br = leak_branch(ctx, step)
        expl = (f"the reference acquired at {_loc(ctx, idx)} is still held when the program "
                f"exits at {_loc(ctx, step.idx)}"
                + (f" on the path that leaves through the branch at {_loc(ctx, br)}"
                   if br is not None and br != step.idx else "")
                + f" ({e.text.strip()}): release, submit or discard it on that path too")
    else:
        idx = step.idx if step else None
        insn_text = step.insn.text if step else None
    f, l, code = ctx.where(idx)
    if region is not None:
        best = loop_header(ctx, region, f)
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
