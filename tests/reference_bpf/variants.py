"""The built variants of reference_bpf/techniques/*.bpf.c and their minimum kernels.

Contract: `technique_obj(source, technique)` is the path of
build/techniques/<source>.<technique>.bpf.o (pytest.fail naming it when it is missing);
`supported(technique)` says whether the running kernel is at least the technique's
minimum (the value DNS_LOOP_MIN_KERNEL gives FQDNKIT_EXPECT_ACCEPT_SINCE).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TECHNIQUES = ["unroll", "bounded", "bpf_loop", "iter", "may_goto"]
MIN_KERNEL = {"unroll": "5.2", "bounded": "5.3", "bpf_loop": "5.17", "iter": "6.4", "may_goto": "6.9"}
SOURCES = sorted(p.name[:-len(".bpf.c")] for p in (REPO / "reference_bpf" / "techniques").glob("*.bpf.c"))


def _version(v: str) -> tuple[int, int]:
    m = re.match(r"(\d+)\.(\d+)", v)
    if not m:
        raise ValueError(f"not a kernel version: {v!r}")
    return int(m.group(1)), int(m.group(2))


def supported(technique: str) -> bool:
    return _version(os.uname().release) >= _version(MIN_KERNEL[technique])


def technique_obj(source: str, technique: str) -> str:
    path = REPO / "build" / "techniques" / f"{source}.{technique}.bpf.o"
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make build`")
    return str(path)
