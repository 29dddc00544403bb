"""Compile a bcc-style C source with bcc and load each function, capturing the verifier log.

Contract: same LoadResult as `loader`, with loader="bcc". bcc prints the verifier log to
stderr when it loads a program itself; here each function is loaded through libbcc's
`bcc_func_load` with our own log buffer (grown on ENOSPC), so the log is data and the
verdict of a rejected function is a result, not an exception. bcc sources carry no
sections: the program type comes from the function name (bcc's `kprobe__`,
`tracepoint__` conventions) or from `prog_type` (default sched_cls).

bcc is Debian's python3-bpfcc (PyPI's "bcc" is an unrelated package); setup.sh links it
into the venv and links the kernel headers it compiles against.
"""
from __future__ import annotations

import ctypes
import errno as errno_mod
import os
import time

from .loader import LOG_STATS, DEFAULT_LOG_SIZE, MAX_LOG_SIZE, kernel_release, parse_stats
from .model import Expectation, FqdnkitError, LoadResult, Verdict, VerifierStats
from .sections import PROG_TYPES

_NAME_PREFIX_TYPES = {"kprobe__": "kprobe", "kretprobe__": "kprobe", "tracepoint__": "tracepoint",
                      "raw_tracepoint__": "raw_tracepoint"}
_EXPECT_MARK = "FQDNKIT_EXPECT_REJECT("


def _expectations(text: str) -> dict[str, Expectation]:
    """Expected-failure annotations written in the source the same way as in reference_bpf."""
    import re
    out = {}
    for m in re.finditer(r'FQDNKIT_EXPECT_REJECT\(\s*(\w+)\s*,\s*"([^"]*)"\s*,\s*"((?:[^"\\]|\\.)*)"\s*\)', text):
        out[m.group(1)] = Expectation(program=m.group(1), verdict=Verdict.REJECTED,
                                      failure_class=m.group(2), message=m.group(3).encode().decode("unicode_escape"))
    return out


class _stderr_captured:
    """Redirect fd 2 to a temporary file: libbcc prints the log there as well."""

    def __enter__(self):
        import tempfile
        self.tmp = tempfile.TemporaryFile()
        self.saved = os.dup(2)
        os.dup2(self.tmp.fileno(), 2)
        self.text = ""
        return self

    def __exit__(self, *exc):
        os.dup2(self.saved, 2)
        os.close(self.saved)
        self.tmp.seek(0)
        self.text = self.tmp.read().decode("utf-8", "replace")
        self.tmp.close()


def load_source(path: str, log_level: int = 2, prog_type: str = "sched_cls",
                cflags: tuple[str, ...] = ()) -> list[LoadResult]:
    """Compile `path` with bcc and load each of its functions alone."""
    if os.geteuid() != 0:
        raise FqdnkitError(f"{path}: loading BPF programs needs root")
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise FqdnkitError(f"{path}: cannot read: {e.strerror}") from None
    if prog_type not in PROG_TYPES:
        raise FqdnkitError(f"{path}: unknown program type {prog_type!r}")
    try:
        from bcc import BPF
        from bcc.libbcc import lib
    except ImportError as e:
        raise FqdnkitError(f"{path}: bcc is not available ({e}); run ./scripts/setup.sh") from None

    # Expectation macros are fqdnkit's, not bcc's: define them away for the compiler.
    flags = list(cflags) + ["-DFQDNKIT_EXPECT_REJECT(p,c,m)=", "-DFQDNKIT_EXPECT_ACCEPT(p)="]
    try:
        bpf = BPF(text=text.encode(), cflags=flags)
    except Exception as e:  # bcc raises bare Exception on compile errors
        raise FqdnkitError(f"{path}: bcc failed to compile it: {e}") from None
    expectations = _expectations(text)
    results = []
    try:
        module = bpf.module
        names = [lib.bpf_function_name(module, i).decode() for i in range(lib.bpf_num_functions(module))]
        level = (log_level | LOG_STATS) if log_level else LOG_STATS
        for name in names:
            ptype = next((t for p, t in _NAME_PREFIX_TYPES.items() if name.startswith(p)), prog_type)
            bname = name.encode()
            size = DEFAULT_LOG_SIZE
            while True:
                buf = ctypes.create_string_buffer(size)
                ctypes.set_errno(0)
                with _stderr_captured() as printed:
                    t0 = time.perf_counter()
                    fd = lib.bcc_func_load(module, PROG_TYPES[ptype], bname,
                                           lib.bpf_function_start(module, bname),
                                           lib.bpf_function_size(module, bname),
                                           lib.bpf_module_license(module),
                                           lib.bpf_module_kern_version(module),
                                           level, buf, size, None, -1)
                    elapsed = time.perf_counter() - t0
                    err = 0 if fd >= 0 else (ctypes.get_errno() or -fd)
                if err == errno_mod.ENOSPC and size < MAX_LOG_SIZE:
                    size = min(size * 2, MAX_LOG_SIZE)
                    continue
                break
            if fd >= 0:
                os.close(fd)
            log = buf.value.decode("utf-8", "replace") or printed.text
            n_insns = lib.bpf_function_size(module, bname) // 8
            stats = VerifierStats(**{**parse_stats(log).__dict__, "insn_count": n_insns})
            results.append(LoadResult(
                object=path, program=name, section="", prog_type=ptype,
                verdict=Verdict.ACCEPTED if fd >= 0 else Verdict.REJECTED, errno=err,
                log_level=level, log=log, stats=stats, kernel_release=kernel_release(),
                loader="bcc", expectation=expectations.get(name),
                load_time_us=int(elapsed * 1e6)))
    finally:
        bpf.cleanup()
    return results
