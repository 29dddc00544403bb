"""Plain data shared by every layer: frozen dataclasses, no behaviour beyond conversion.

Contract: nothing here imports another fqdnkit module, touches the kernel or reads
files. `elf` produces ObjectSpec/ProgramSpec/Expectation, `loader` produces LoadResult,
`logparse`/`analysis` consume LoadResult.log and produce their own types.
"""
from __future__ import annotations

from dataclasses import dataclass, field, asdict
from enum import Enum
from typing import Optional


class Verdict(str, Enum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"


@dataclass(frozen=True)
class SourceLine:
    """One entry of the object's BTF line info: instruction -> file:line:col."""
    insn_off: int          # instruction index inside the ELF section
    file: str
    line: int
    col: int
    text: str              # the source line as recorded in BTF (may be "")


@dataclass(frozen=True)
class Expectation:
    """What a program is expected to do, from its FQDNKIT_EXPECT annotation.

    verdict is "accepted" or "rejected"; for rejections `message` is a regex that must
    match the verifier's error message and `failure_class` is a diagnosis class id.
    """
    program: str
    verdict: Verdict
    failure_class: str = ""
    message: str = ""
    min_kernel: str = ""   # e.g. "6.4": below it the program is not expected to verify


@dataclass(frozen=True)
class ProgramSpec:
    """A program as found in an object, before loading."""
    name: str
    section: str
    prog_type: str         # libbpf's name for the type, e.g. "sched_cls", "sk_skb"
    attach_type: str       # e.g. "cgroup_inet_egress", "sk_skb_stream_parser", "" if none
    sec_insn_off: int      # first instruction of this program inside its section
    insn_count: int        # instructions of the program itself (without subprograms)
    lines: tuple[SourceLine, ...] = ()


@dataclass(frozen=True)
class ObjectSpec:
    """A BPF ELF object read without loading it (pure, no root needed)."""
    path: str
    sha256: str
    programs: tuple[ProgramSpec, ...]
    maps: tuple[str, ...]
    expectations: tuple[Expectation, ...] = ()
    license: str = ""

    def program(self, name: str) -> ProgramSpec:
        for p in self.programs:
            if p.name == name:
                return p
        raise KeyError(f"{self.path}: no program named {name!r}")

    def expectation(self, name: str) -> Optional[Expectation]:
        for e in self.expectations:
            if e.program == name:
                return e
        return None


@dataclass(frozen=True)
class VerifierStats:
    """Statistics of one verification. None where the kernel did not report the figure."""
    insns_processed: Optional[int] = None
    insn_limit: Optional[int] = None
    max_states_per_insn: Optional[int] = None
    total_states: Optional[int] = None
    peak_states: Optional[int] = None
    mark_read: Optional[int] = None
    verification_time_us: Optional[int] = None
    stack_depth: Optional[str] = None   # per subprogram, "a+b" as the kernel prints it
    insn_count: Optional[int] = None    # instructions handed to the kernel (xlated if accepted)


@dataclass(frozen=True)
class LoadResult:
    """The verifier's verdict on one program, loaded alone on one kernel."""
    object: str
    program: str
    section: str
    prog_type: str
    verdict: Verdict
    errno: int                # 0 when accepted
    log_level: int
    log: str                  # the whole verifier log, never truncated
    stats: VerifierStats
    kernel_release: str
    loader: str = "libbpf"    # "libbpf" or "bcc"
    expectation: Optional[Expectation] = None
    load_time_us: Optional[int] = None

    @property
    def as_expected(self) -> bool:
        """True when the verdict (and for rejections, the message) is what is expected."""
        exp = self.expectation
        if exp is None:
            return self.verdict is Verdict.ACCEPTED
        if exp.verdict is not self.verdict:
            return False
        if self.verdict is Verdict.REJECTED and exp.message:
            import re
            return re.search(exp.message, self.log, re.MULTILINE) is not None
        return True

    def to_json(self) -> dict:
        """Flat JSON record as `fqdnkit check --output json` prints it."""
        s = self.stats
        return {
            "object": self.object,
            "program": self.program,
            "section": self.section,
            "prog_type": self.prog_type,
            "verdict": self.verdict.value,
            "errno": self.errno,
            "insns_processed": s.insns_processed,
            "total_states": s.total_states,
            "peak_states": s.peak_states,
            "max_states_per_insn": s.max_states_per_insn,
            "verification_time_us": s.verification_time_us,
            "stack_depth": s.stack_depth,
            "insn_count": s.insn_count,
            "log_level": self.log_level,
            "kernel_release": self.kernel_release,
            "loader": self.loader,
            "expected": None if self.expectation is None else asdict(self.expectation) | {
                "verdict": self.expectation.verdict.value},
            "as_expected": self.as_expected,
            "log": self.log,
        }


class FqdnkitError(Exception):
    """A usage or I/O problem: the message names the file and the problem."""


@dataclass(frozen=True)
class TestRunResult:
    """One BPF_PROG_TEST_RUN: return value, output bytes and mean duration per run."""
    retval: int
    data_out: bytes
    duration_ns: int
    repeat: int
