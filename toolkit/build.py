"""Compile BPF C sources into objects with clang, the same way the Makefile does.

Contract: `compile_source(src, out_dir)` returns the object path or raises FqdnkitError
carrying clang's diagnostics and naming the source. `reference_objects()` lists the
built reference objects under build/ (run `make build` first).
"""
from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path

from .corpus import object_stem
from .model import FqdnkitError

REPO_ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = REPO_ROOT / "build"
CLANG = os.environ.get("CLANG", "clang-19")


def bpf_cflags() -> list[str]:
    arch = platform.machine()
    return ["-target", "bpf", "-O2", "-g", "-Wall", "-Wno-unused-function", "-D__TARGET_ARCH_x86",
            "-I", str(REPO_ROOT / "reference_bpf" / "lib"), "-I", str(REPO_ROOT / "reference_bpf"),
            "-I", f"/usr/include/{arch}-linux-gnu"]


def compile_source(src: str, out_dir: str, extra: tuple[str, ...] = ()) -> str:
    """Compile one .bpf.c/.c file to `out_dir/<stem>.bpf.o`; returns the object path."""
    if not os.path.isfile(src):
        raise FqdnkitError(f"{src}: no such file")
    if shutil.which(CLANG) is None:
        raise FqdnkitError(f"{src}: {CLANG} not found; run ./scripts/setup.sh")
    os.makedirs(out_dir, exist_ok=True)
    out = os.path.join(out_dir, f"{object_stem(src)}.bpf.o")
    proc = subprocess.run([CLANG, *bpf_cflags(), *extra, "-c", src, "-o", out],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise FqdnkitError(f"{src}: clang failed:\n{proc.stderr.strip()}")
    return out


def reference_objects() -> list[str]:
    """All built reference objects, sorted (examples, enforcer, techniques, negative...)."""
    if not BUILD_DIR.is_dir():
        raise FqdnkitError(f"{BUILD_DIR}: no build directory; run `make build` first")
    objs = sorted(str(p) for p in BUILD_DIR.rglob("*.bpf.o"))
    if not objs:
        raise FqdnkitError(f"{BUILD_DIR}: holds no *.bpf.o; run `make build` first")
    return objs


def display_path(path: str) -> str:
    """A path relative to the repository when it is inside it (for tables)."""
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return path
