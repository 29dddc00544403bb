"""Load BPF programs on the running kernel, one at a time, and capture the verifier's verdict.

Contract: like veristat, each program of an object is loaded alone (the object is opened
afresh, every other program has autoload off), with the program type taken from the
section name (libbpf 1.1 does not know them all). The verifier log is captured at the
requested level (1, 2 or 4) with BPF_LOG_STATS (4) always added so statistics come back;
the buffer starts at `log_size` and doubles on ENOSPC until the whole log fits: a log is
never silently truncated. A rejected program is a LoadResult with verdict "rejected", not
an exception. OSError/FqdnkitError are raised only for problems that are not the
verifier's verdict (missing file, not a BPF object, no privilege).

Programs are closed (fds released) before returning: a LoadResult holds no fd. Use
`open_loaded()` to keep a loaded program for test runs.
"""
from __future__ import annotations

import ctypes
import errno as errno_mod
import os
import re
import time
from contextlib import contextmanager
from typing import Iterator, Optional

from . import corpus, libbpf
from .elf import read_object
from .model import FqdnkitError, LoadResult, ObjectSpec, Verdict, VerifierStats

LOG_STATS = 4
DEFAULT_LOG_SIZE = 1 << 20
MAX_LOG_SIZE = (1 << 32) // 4 - 1   # the kernel's cap on log_size (UINT_MAX >> 2)

def kernel_release() -> str:
    return os.uname().release


def parse_stats(log: str) -> VerifierStats:
    """Statistics the verifier prints at the end of the log (present with BPF_LOG_STATS)."""
    return VerifierStats(**corpus.parse_stats(log))


_INSN_LINE = re.compile(rb"^\d+: \(", re.MULTILINE)


def estimate_log_size(tail: bytes, size: int) -> int:
    """Buffer size likely to hold the whole log, from a log that did not fit.

    Since 6.4 the kernel keeps the *end* of a log that overflows (rotating mode), so the
    `processed N insns` line is there: N times the bytes per instruction line seen in the
    tail, with a margin, usually fits in one more load instead of many doublings (a
    level-2 log of a 1M-instruction program is ~800 MB). libbpf 1.1 does not pass the
    kernel's log_true_size back, hence the estimate. Older kernels keep the head: double.
    """
    processed = corpus.parse_stats(tail.decode("utf-8", "replace"))["insns_processed"]
    insn_lines = len(_INSN_LINE.findall(tail))
    if processed is None or insn_lines == 0:
        return size * 8
    per_insn = len(tail) / insn_lines
    return int(processed * per_insn * 1.25) + (1 << 20)


def _check_privilege(path: str) -> None:
    if os.geteuid() != 0:
        raise FqdnkitError(f"{path}: loading BPF programs needs root (CAP_BPF, CAP_SYS_ADMIN)")


def _open_one(path: str, spec: ObjectSpec, name: str) -> libbpf.BpfObject:
    """Open the object with only `name` autoloaded and its type set from the section."""
    try:
        obj = libbpf.BpfObject.open(path)
    except OSError as e:
        raise FqdnkitError(str(e)) from None
    try:
        found = False
        for p in obj.programs():
            if p.name == name:
                found = True
                p.set_autoload(True)
                ps = spec.program(name)
                if ps.prog_type:
                    p.set_type(ps.prog_type, ps.attach_type)
            else:
                p.set_autoload(False)
        if not found:
            raise FqdnkitError(f"{path}: no program named {name!r}")
    except BaseException:
        obj.close()
        raise
    return obj


@contextmanager
def open_loaded(path: str, name: str, log_level: int = 1) -> Iterator[tuple[libbpf.BpfObject, libbpf.Program]]:
    """Load one program (and its maps) and keep it loaded inside the `with` block.

    Raises FqdnkitError if the verifier rejects it (the message carries the log's tail).
    """
    _check_privilege(path)
    spec = read_object(path)
    res, obj = _load(path, spec, name, log_level, DEFAULT_LOG_SIZE, keep=True)
    if obj is None:
        tail = "\n".join(res.log.strip().splitlines()[-5:])
        raise FqdnkitError(f"{path}: program {name} rejected (errno {res.errno}):\n{tail}")
    try:
        yield obj, obj.program(name)
    finally:
        obj.close()


def _load(path: str, spec: ObjectSpec, name: str, log_level: int, log_size: int,
          keep: bool = False) -> tuple[LoadResult, Optional[libbpf.BpfObject]]:
    level = (log_level | LOG_STATS) if log_level else LOG_STATS
    size = max(64, log_size)
    while True:
        obj = _open_one(path, spec, name)
        prog = obj.program(name)
        buf = ctypes.create_string_buffer(size)
        prog.set_log(level, buf)
        with libbpf.capture_messages() as msgs:
            t0 = time.perf_counter()
            ret = obj.load()
            elapsed = time.perf_counter() - t0
        err = -ret if ret < 0 else 0
        if err == errno_mod.ENOSPC and size < MAX_LOG_SIZE:
            obj.close()
            size = min(max(size * 2, estimate_log_size(buf.value, size)), MAX_LOG_SIZE)
            continue
        break
    log = buf.value.decode("utf-8", "replace")
    ps = spec.program(name)
    stats = parse_stats(log)
    insn_count = prog.insn_cnt
    try:
        if err == 0:
            info = libbpf.prog_info(prog.fd)
            insn_count = info.xlated_prog_len // 8
            if stats.insns_processed is None and info.verified_insns:
                stats = VerifierStats(**{**stats.__dict__, "insns_processed": info.verified_insns})
        if not log and err and err != errno_mod.EACCES:
            # The kernel said nothing: the failure is libbpf's (relocation, missing map
            # type, BTF...). Keep libbpf's own words as the log so nothing is lost.
            log = "".join(m if m.endswith("\n") else m + "\n" for m in msgs)
        if err in (errno_mod.EPERM,) and not log:
            raise FqdnkitError(f"{path}: {name}: operation not permitted (needs CAP_BPF/CAP_SYS_ADMIN)")
        stats = VerifierStats(**{**stats.__dict__, "insn_count": insn_count})
        result = LoadResult(object=path, program=name, section=ps.section,
                            prog_type=ps.prog_type or libbpf.PROG_TYPE_NAMES.get(prog.prog_type, "unknown"),
                            verdict=Verdict.ACCEPTED if err == 0 else Verdict.REJECTED, errno=err,
                            log_level=level, log=log, stats=stats, kernel_release=kernel_release(),
                            expectation=spec.expectation(name), load_time_us=int(elapsed * 1e6))
    except BaseException:
        obj.close()
        raise
    if keep and err == 0:
        return result, obj
    obj.close()
    return result, None


def _load_level1(path: str, spec: ObjectSpec, name: str, log_size: int) -> LoadResult:
    """Level 1 without paying for it on accepted programs.

    The kernel formats every instruction it verifies whenever a log is requested, even
    at level 1 where the paths that verify are then dropped: an accepted program's level-1
    log is the statistics lines that level 4 alone returns, plus one "Func#N ... is safe
    for any args" line per global function, which is all this path gives up. Level 1
    costs ~5x the verification time of level 4 on a 400k-instruction program (measured
    on 6.18), so load at level 4 first and reload at level 1 only when the verifier
    rejects the program (to get the failing path).
    """
    first, _ = _load(path, spec, name, LOG_STATS, log_size)
    if first.verdict is Verdict.ACCEPTED:
        return first
    return _load(path, spec, name, 1, log_size)[0]


def load_program(path: str, name: str, log_level: int = 2, log_size: int = DEFAULT_LOG_SIZE) -> LoadResult:
    """Load one program of an object alone and return the verifier's verdict, log and stats.

    At log_level 1 an accepted program is loaded once at level 4 (same log, see
    _load_level1); its result then says log_level 4.
    """
    _check_privilege(path)
    spec = read_object(path)
    if log_level == 1:
        return _load_level1(path, spec, name, log_size)
    return _load(path, spec, name, log_level, log_size)[0]


def load_object(path: str, log_level: int = 2, log_size: int = DEFAULT_LOG_SIZE) -> list[LoadResult]:
    """Load every program of an object, each alone, in section order."""
    _check_privilege(path)
    spec = read_object(path)
    if not spec.programs:
        raise FqdnkitError(f"{path}: holds no BPF program")
    if log_level == 1:
        return [_load_level1(path, spec, p.name, log_size) for p in spec.programs]
    return [_load(path, spec, p.name, log_level, log_size)[0] for p in spec.programs]
