"""Backward slice (use-def) of a register along the explored path that failed, and loop costs.

Contract: `backward_slice(trace, reg, seq)` walks the steps of the failing path backwards
(crossing into the parent path at each branch, see Trace.walk_back) and returns the steps
that define the register's value, tracking it through moves, arithmetic and stack
spills/fills (fp-N slots of the same frame), plus the conditional jumps that tested a
register of the slice (the checks). `loop_costs(trace)` returns, per back-edge region, the
processed instructions and states it consumed. Both are pure.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .trace import Step, Trace


@dataclass(frozen=True)
class SliceStep:
    seq: int
    idx: int
    text: str
    role: str            # "def" | "spill" | "fill" | "check" | "use"
    regs: tuple[str, ...]


@dataclass(frozen=True)
class LoopCost:
    head: int
    tail: int
    insns_processed: int
    share: float               # of all processed insns (printed ones)
    states: int                # branch states explored into the region (`from` headers)
    prunes: int                # states pruned ("safe") inside the region
    iterations: int            # visits of the head instruction


def backward_slice(trace: Trace, reg: str, seq: int, limit: int = 5000) -> list[SliceStep]:
    out: list[SliceStep] = []
    live = {reg}
    first = True
    for st in trace.walk_back(seq):
        insn = st.insn
        if first:
            out.append(SliceStep(st.seq, st.idx, insn.text, "use", tuple(sorted(live))))
            first = False
            live = set(r for r in insn.reads() if r != "r10") or live
            continue
        w = insn.writes()
        if insn.op == "store" and insn.base == "r10":
            slot = f"fp{insn.mem_off}"
            if slot in live:
                live.discard(slot)
                if insn.src:
                    live.add(insn.src)
                out.append(SliceStep(st.seq, st.idx, insn.text, "spill", (slot,)))
        elif any(x in live for x in w):
            for x in w:
                live.discard(x)
            if insn.op == "load" and insn.base == "r10":
                live.add(f"fp{insn.mem_off}")
                out.append(SliceStep(st.seq, st.idx, insn.text, "fill", w))
            elif insn.op == "call":
                out.append(SliceStep(st.seq, st.idx, insn.text, "def", ("r0",)))
            else:
                live.update(r for r in insn.reads() if r != "r10")
                out.append(SliceStep(st.seq, st.idx, insn.text, "def", w))
        elif insn.op == "jcond" and (insn.dst in live or (insn.src and insn.src in live)):
            out.append(SliceStep(st.seq, st.idx, insn.text, "check",
                                 tuple(r for r in (insn.dst, insn.src) if r)))
        if not live or len(out) >= limit:
            break
    return out


def loop_costs(trace: Trace) -> list[LoopCost]:
    total = sum(trace.visits.values()) or 1
    out = []
    for head, tail in trace.loops():
        lo, hi = min(head, tail), max(head, tail)
        ins = sum(v for i, v in trace.visits.items() if lo <= i <= hi)
        states = sum(v for i, v in trace.branch_in.items() if lo <= i <= hi)
        prunes = sum(v for i, v in trace.prunes.items() if lo <= i <= hi)
        out.append(LoopCost(head, tail, ins, ins / total, states, prunes,
                            trace.visits.get(head, 0)))
    out.sort(key=lambda c: -c.insns_processed)
    return out


def pkt_checks(trace: Trace, seq: int, pkt_id: Optional[int] = None,
               limit: int = 20000) -> list[tuple[Step, int]]:
    """Conditional jumps on the failing path that compared a packet pointer with pkt_end,
    newest first, with the range (r=) they left on packet pointers of id `pkt_id`."""
    out = []
    n = 0
    for st in trace.walk_back(seq):
        n += 1
        if n > limit:
            break
        insn = st.insn
        if insn.op != "jcond" or insn.src is None:
            continue
        before = st.regs
        a = before.get("R" + insn.dst[1:])
        b = before.get("R" + insn.src[1:])
        types = {getattr(a, "type", None), getattr(b, "type", None)}
        if "pkt_end" not in types and "pkt_meta" not in types:
            continue
        rng = 0
        if st.after is not None:
            for s in st.after.slots:
                v = s.value
                if v is not None and v.type == "pkt" and (pkt_id is None or (v.id or 0) == pkt_id):
                    rng = max(rng, v.r or 0)
        out.append((st, rng))
    return out
