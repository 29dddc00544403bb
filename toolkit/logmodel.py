"""Typed verifier-log data: frozen dataclasses produced by `toolkit.logparse`.

Contract: plain data, no behaviour beyond small conversions, imports nothing from fqdnkit
except `model`. One `LogLine` per physical line of the log (after libbpf's wrapping is
taken off); its `kind` is one of LINE_KINDS and `data` holds the typed payload for that
kind (or None). Values are shared between lines (the parser caches them), which is safe
because everything here is immutable.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

# Every kind a line can get. "unknown" lines keep their text and index and are counted.
LINE_KINDS = (
    "insn",            # N: (op) insn [; state]
    "state",           # N: R1=ctx() R10=fp0   (state at insn N, or after a branch)
    "from",            # from X to Y[ (speculative execution)]: state | safe
    "safe",            # N: safe
    "source",          # ; code @ file.c:LINE   (or 6.1's "; code")
    "func",            # func#N @I
    "live_header",     # Live regs before insn:
    "live_insn",       #       0: .1........ (b7) r0 = 0
    "precision",       # mark_precise: ..., last_idx, regs=/stack= lines, parent didn't have regs
    "frame",           # caller:/callee:/returning from callee:/to caller at N:/frameN: state
    "subprog",         # Validating f() func#1... / Func#1 ('f') is global and assumed valid.
    "propagate",       # propagating r6 / propagating fp-8
    "liveness",        # 6.18 stack liveness debug lines: (0) frame 0 insn 6 +live -8
    "loop_state",      # cur state: / old state: after "infinite loop detected"
    "scc",             # 6.17+: SCC enter (1) / SCC exit (1) / SCC backedge (1): loop convergence
    "subprog_stats",   # 7.3: subprog 0 (f) main insns_self 6 insns_total 6 stack 0
    "processed",       # processed N insns (limit M) max_states_per_insn ...
    "verification_time",
    "stack_depth",
    "error",           # the kernel's error messages, classified by family
    "info",            # other known informational messages (BTF/func info notes, etc.)
    "report_header",   # 7.3: Verification failed: <category>
    "report_section",  # 7.3: Reason: / At: / Source context: / Instruction context: / ...
    "report_location", # 7.3:   func @ file.c:LINE:COL
    "report_context",  # 7.3:   >>> 40 | code   /   | ^-- error: ...
    "report_step",     # 7.3: a causal path step
    "report_text",     # 7.3: free text inside Reason/Suggestion
    "preamble",        # 7.3: control-flow / register-liveness preamble lines
    "libbpf",          # libbpf's own lines around a dump (kept, not verifier output)
    "blank",
    "unknown",
)


@dataclass(frozen=True, slots=True)
class RegValue:
    """A register (or spilled stack slot) value as the verifier prints it.

    `type` is the pointer/scalar type name ("scalar", "pkt", "ctx", "map_value_or_null",
    "fp" for frame pointers, ...). Constants are scalars with `const` set. Bounds that were
    not printed are None (the verifier omits defaults).
    """
    type: str
    precise: bool = False
    const: Optional[int] = None
    id: Optional[int] = None
    ref_obj_id: Optional[int] = None
    off: Optional[int] = None
    r: Optional[int] = None           # packet range proved by a check (pkt pointers)
    smin: Optional[int] = None
    smax: Optional[int] = None
    umin: Optional[int] = None
    umax: Optional[int] = None
    smin32: Optional[int] = None
    smax32: Optional[int] = None
    umin32: Optional[int] = None
    umax32: Optional[int] = None
    var_off: Optional[tuple[int, int]] = None   # (value, mask)
    map: Optional[str] = None
    ks: Optional[int] = None
    vs: Optional[int] = None
    extra: tuple[tuple[str, str], ...] = ()      # any other key=value the kernel printed

    @property
    def is_null_possible(self) -> bool:
        return "or_null" in self.type

    def to_json(self) -> dict:
        d = {k: getattr(self, k) for k in self.__slots__
             if k not in ("precise", "extra") and getattr(self, k) is not None}
        if self.precise:
            d["precise"] = True
        if self.extra:
            d["extra"] = dict(self.extra)
        return d


@dataclass(frozen=True, slots=True)
class Slot:
    """One entry of a printed state: a register `R1` or a stack slot `fp-8`.

    `liveness` is the suffix the kernel printed (`w`, `r`, `rw`, `D`, or ""). A stack slot
    holds either a spilled register (`value`) or per-byte type marks (`marks`, e.g.
    "mmmm????"); registers always have a value.
    """
    name: str                  # "R1" or "fp-8"
    value: Optional[RegValue] = None
    marks: Optional[str] = None
    liveness: str = ""

    @property
    def is_stack(self) -> bool:
        return self.name.startswith("fp")

    @property
    def stack_off(self) -> Optional[int]:
        return int(self.name[2:]) if self.is_stack else None

    def to_json(self) -> dict:
        d: dict = {"name": self.name}
        if self.liveness:
            d["liveness"] = self.liveness
        if self.value is not None:
            d["value"] = self.value.to_json()
        if self.marks is not None:
            d["marks"] = self.marks
        return d


@dataclass(frozen=True, slots=True)
class State:
    """A printed verifier state: frame number, registers and stack slots, refs."""
    frame: int = 0
    slots: tuple[Slot, ...] = ()
    refs: tuple[int, ...] = ()
    flags: tuple[str, ...] = ()     # e.g. "cb", "async_cb"

    def get(self, name: str) -> Optional[Slot]:
        for s in self.slots:
            if s.name == name:
                return s
        return None

    def to_json(self) -> dict:
        d: dict = {"frame": self.frame, "slots": [s.to_json() for s in self.slots]}
        if self.refs:
            d["refs"] = list(self.refs)
        if self.flags:
            d["flags"] = list(self.flags)
        return d


@dataclass(frozen=True, slots=True)
class Insn:
    """A decoded BPF instruction as printed by the kernel's disassembler.

    op: "alu" (dst op= src), "mov", "load" (dst = *(size *)(base +off)), "store"
    (*(size *)(base +off) = src), "atomic", "jcond", "ja", "call", "exit", "ld_imm64",
    "ld_abs", "endian", "neg", "may_goto", "other".
    """
    opcode: int
    text: str
    op: str
    dst: Optional[str] = None        # "r1"/"w1" normalised to "r1"
    src: Optional[str] = None        # register read as source, normalised, or None
    imm: Optional[int] = None
    alu: Optional[str] = None        # "+=", "=", ">", "s<", ...
    size: Optional[str] = None       # "u8" ... "u64", "s8" ... for memory ops
    base: Optional[str] = None       # base register of a memory operand
    mem_off: Optional[int] = None
    target: Optional[int] = None     # pc-relative jump/call offset
    callee: Optional[str] = None     # helper or kfunc name
    callee_id: Optional[int] = None
    is32: bool = False

    def reads(self) -> tuple[str, ...]:
        """Registers this instruction reads (for use-def slicing)."""
        r: list[str] = []
        if self.op in ("alu", "jcond", "atomic") and self.dst:
            r.append(self.dst)
        if self.src:
            r.append(self.src)
        if self.base:
            r.append(self.base)
        if self.op == "store" and self.dst:
            r.append(self.dst)
        if self.op in ("endian", "neg") and self.dst:
            r.append(self.dst)
        if self.op == "call" and self.callee is not None:
            r.extend(("r1", "r2", "r3", "r4", "r5"))
        if self.op == "exit":
            r.append("r0")
        return tuple(dict.fromkeys(r))

    def writes(self) -> tuple[str, ...]:
        if self.op in ("alu", "mov", "load", "ld_imm64", "endian", "neg") and self.dst:
            return (self.dst,)
        if self.op == "ld_abs":
            return ("r0",)
        if self.op == "call":
            return ("r0", "r1", "r2", "r3", "r4", "r5")
        if self.op == "atomic" and self.dst and self.alu == "fetch":
            return (self.dst,)
        return ()


@dataclass(frozen=True, slots=True)
class InsnLine:
    idx: int
    insn: Insn
    state: Optional[State] = None
    live: Optional[str] = None       # 6.18 liveness mask ".1........" for live_insn lines


@dataclass(frozen=True, slots=True)
class StateLine:
    idx: int
    state: State


@dataclass(frozen=True, slots=True)
class FromLine:
    src: int
    dst: int
    speculative: bool
    state: Optional[State]           # None when the line says "safe"
    safe: bool = False


@dataclass(frozen=True, slots=True)
class SafeLine:
    idx: int


@dataclass(frozen=True, slots=True)
class SourceRef:
    code: str
    file: Optional[str] = None
    line: Optional[int] = None


@dataclass(frozen=True, slots=True)
class FuncLine:
    func: int
    insn: int


@dataclass(frozen=True, slots=True)
class Precision:
    """Precision backtracking: what= "last_idx" | "regs" | "parent" | "fallback" |
    "parent_missing"; regs/stack as printed (names or masks); before = insn index."""
    what: str
    frame: Optional[int] = None
    regs: str = ""
    stack: str = ""
    last_idx: Optional[int] = None
    first_idx: Optional[int] = None
    subseq_idx: Optional[int] = None
    before: Optional[int] = None
    state: Optional[State] = None


@dataclass(frozen=True, slots=True)
class FrameLine:
    what: str                        # "caller" | "callee" | "returning" | "to_caller" | "frame"
    frame: Optional[int] = None
    insn: Optional[int] = None
    state: Optional[State] = None


@dataclass(frozen=True, slots=True)
class Processed:
    insns: int
    limit: Optional[int]
    max_states_per_insn: Optional[int]
    total_states: Optional[int]
    peak_states: Optional[int]
    mark_read: Optional[int]


@dataclass(frozen=True, slots=True)
class ErrorMessage:
    """A kernel error message: `family` from the message catalog, `fields` the numbers
    and names it carries (e.g. off, size, reg), `text` the line as printed."""
    family: str
    text: str
    fields: tuple[tuple[str, str], ...] = ()

    def field(self, name: str, default=None):
        for k, v in self.fields:
            if k == name:
                return v
        return default


@dataclass(frozen=True, slots=True)
class ReportLine:
    """One line of kernel 7.3's "Verification failed" report."""
    section: str                     # "header", "reason", "at", "source", "insn", "causal", "suggestion"
    text: str
    category: Optional[str] = None
    func: Optional[str] = None
    file: Optional[str] = None
    line: Optional[int] = None
    col: Optional[int] = None
    marker: bool = False             # ">>>" context line
    note: Optional[str] = None       # "error: ..." / "update: ..." after ^--
    context: Optional[str] = None    # "source" | "insn" for context lines


Payload = Union[InsnLine, StateLine, FromLine, SafeLine, SourceRef, FuncLine, Precision,
                FrameLine, Processed, ErrorMessage, ReportLine, int, str, None]


@dataclass(frozen=True, slots=True)
class LogLine:
    """One physical line: `lineno` is 1-based in the input, `text` without libbpf prefix."""
    lineno: int
    kind: str
    text: str
    data: Payload = None


@dataclass(frozen=True)
class KernelReport:
    """Kernel 7.3's own diagnosis, structured."""
    category: str
    reason: str
    func: Optional[str]
    file: Optional[str]
    line: Optional[int]
    col: Optional[int]
    source_context: tuple[str, ...] = ()
    insn_context: tuple[str, ...] = ()
    insn: Optional[int] = None
    causal_path: tuple[ReportLine, ...] = ()
    suggestion: str = ""

    def to_json(self) -> dict:
        return {
            "category": self.category,
            "reason": self.reason,
            "location": {"function": self.func, "file": self.file, "line": self.line,
                         "col": self.col},
            "insn": self.insn,
            "source_context": list(self.source_context),
            "insn_context": list(self.insn_context),
            "causal_path": [{"function": s.func, "file": s.file, "line": s.line, "col": s.col,
                             "text": s.text, "note": s.note} for s in self.causal_path],
            "suggestion": self.suggestion,
        }
