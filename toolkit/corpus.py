"""The verifier-log corpus on disk: layout, reading, writing, statistics from the log text.

Layout (written by `fqdnkit capture`):
    <root>/<kernel-release>/kernel.json                      how the kernel was obtained
    <root>/<kernel-release>/<object-stem>/<program>.level2.log     (or .level2.log.gz if > 2 MB)
    <root>/<kernel-release>/<object-stem>/<program>.meta.json
Object stems drop `.bpf.o`: build/techniques/label_walk.iter.bpf.o -> `label_walk.iter`.

Contract: depends only on `toolkit.model`; no kernel access. `iter_corpus(root)` yields
CorpusEntry(kernel, object, program, meta, path) sorted by kernel (oldest first), object,
program; `read_log(path)` returns the text of a `.log` or `.log.gz`; `parse_stats(log)`
extracts the verifier's statistics lines (log level 4) into a dict of ints/strings.
"""
from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

from toolkit.model import FqdnkitError

LOG_SUFFIX = ".level2.log"
GZ_SUFFIX = ".level2.log.gz"
META_SUFFIX = ".meta.json"
GZIP_ABOVE = 2 * 1024 * 1024
STAT_KEYS = ("insns_processed", "total_states", "peak_states", "max_states_per_insn",
             "verification_time_us", "stack_depth", "insn_count")


@dataclass(frozen=True)
class CorpusEntry:
    kernel: str     # kernel release, the directory name
    object: str     # object stem, e.g. "label_walk.iter"
    program: str
    meta: dict
    path: Path      # the log file (.level2.log or .level2.log.gz)


def kernel_key(release: str) -> tuple:
    """Sort key for kernel releases: numeric version first ("6.1.0-56-..." < "6.12.117...")."""
    m = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", release)
    if not m:
        return (10 ** 6, release)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3) or 0), release)


def kernel_series(release: str) -> str:
    """"6.1.0-56-cloud-amd64" -> "6.1"; "6.18.44-fc" -> "6.18"."""
    m = re.match(r"(\d+\.\d+)", release)
    return m.group(1) if m else release


def object_stem(path: str | Path) -> str:
    """`build/techniques/dns_walk_tc.iter.bpf.o` -> `dns_walk_tc.iter` (sources too: `x.bpf.c` -> `x`)."""
    name = Path(path).name
    for suf in (".bpf.o", ".o", ".bpf.c", ".c"):
        if name.endswith(suf):
            return name[: -len(suf)]
    return name


def read_log(path: str | Path) -> str:
    p = Path(path)
    try:
        if p.name.endswith(".gz"):
            with gzip.open(p, "rt", errors="replace") as f:
                return f.read()
        return p.read_text(errors="replace")
    except (OSError, EOFError) as e:
        raise FqdnkitError(f"{p}: cannot read verifier log ({e})") from e


def log_path(obj_dir: Path, program: str) -> Optional[Path]:
    for suf in (LOG_SUFFIX, GZ_SUFFIX):
        p = obj_dir / (program + suf)
        if p.exists():
            return p
    return None


def read_meta(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise FqdnkitError(f"{path}: cannot read program metadata ({e})") from e


def iter_kernel(kdir: Path) -> Iterator[CorpusEntry]:
    """Entries of one kernel directory, sorted by object and program."""
    kdir = Path(kdir)
    for meta_path in sorted(kdir.glob("*/*" + META_SUFFIX)):
        program = meta_path.name[: -len(META_SUFFIX)]
        lp = log_path(meta_path.parent, program)
        if lp is None:
            raise FqdnkitError(f"{meta_path}: no {program}{LOG_SUFFIX}[.gz] beside it")
        yield CorpusEntry(kdir.name, meta_path.parent.name, program, read_meta(meta_path), lp)


def kernels(root: str | Path) -> list[Path]:
    """Kernel directories under root, oldest first."""
    root = Path(root)
    if not root.is_dir():
        raise FqdnkitError(f"{root}: not a directory")
    dirs = [d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")
            and any(d.glob("*/*" + META_SUFFIX))]
    return sorted(dirs, key=lambda d: kernel_key(d.name))


def iter_corpus(root: str | Path) -> Iterator[CorpusEntry]:
    """Every (kernel, object, program) in the corpus, oldest kernel first."""
    for kdir in kernels(root):
        yield from iter_kernel(kdir)


_PROCESSED = re.compile(
    r"processed (\d+) insns \(limit (\d+)\) max_states_per_insn (\d+) total_states (\d+) "
    r"peak_states (\d+) mark_read (\d+)")
_TIME = re.compile(r"^verification time (\d+) usec", re.M)
_STACK = re.compile(r"^stack depth (?:max )?([\d+]+)", re.M)


def parse_stats(log: str) -> dict:
    """Statistics printed at log level 4 (the last occurrence wins); absent ones are None."""
    out: dict = {k: None for k in ("insns_processed", "insn_limit", "max_states_per_insn",
                                   "total_states", "peak_states", "mark_read",
                                   "verification_time_us", "stack_depth")}
    log = log[-65536:]   # the statistics are the last lines
    m = None
    for m in _PROCESSED.finditer(log):
        pass
    if m:
        (out["insns_processed"], out["insn_limit"], out["max_states_per_insn"],
         out["total_states"], out["peak_states"], out["mark_read"]) = map(int, m.groups())
    t = _TIME.findall(log)
    if t:
        out["verification_time_us"] = int(t[-1])
    s = _STACK.findall(log)
    if s:
        out["stack_depth"] = s[-1]
    return out


ELIDE_ABOVE = 16 * 1024 * 1024
ELIDE_KEEP = 4 * 1024 * 1024


def elide_log(log: str) -> tuple[str, int]:
    """Logs above 16 MB keep their first and last 4 MB around a marker line (the error and
    the statistics are at the end); returns (text, bytes elided). The guest loader does the
    same before sending, so both captures store the same shape."""
    data = log.encode()
    if len(data) <= ELIDE_ABOVE:
        return log, 0
    elided = len(data) - 2 * ELIDE_KEEP
    head = data[:ELIDE_KEEP].decode(errors="replace")
    tail = data[-ELIDE_KEEP:].decode(errors="replace")
    return f"{head}\n[fqdnkit capture: {elided} bytes of the level-2 log elided here]\n{tail}", elided


def write_program(obj_dir: Path, program: str, log: str, meta: dict) -> Path:
    """Write <program>.level2.log (gzipped above 2 MB) and <program>.meta.json; return the log."""
    obj_dir.mkdir(parents=True, exist_ok=True)
    data = log.encode()
    if len(data) > GZIP_ABOVE:
        lp = obj_dir / (program + GZ_SUFFIX)
        # mtime=0: the same log gives the same bytes (no churn in git)
        with open(lp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0,
                                                  filename="") as f:
            f.write(data)
    else:
        lp = obj_dir / (program + LOG_SUFFIX)
        lp.write_bytes(data)
    (obj_dir / (program + META_SUFFIX)).write_text(json.dumps(meta, indent=2, sort_keys=True)
                                                    + "\n")
    return lp
