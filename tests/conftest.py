"""Shared fixtures: paths to built reference objects, a root/kernel guard, bpffs."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / "build"


def pytest_collection_modifyitems(config, items):
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root and CAP_BPF to load programs on the kernel")
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def build_dir() -> Path:
    """The build/ directory, built with `make build` if an object is missing."""
    if not (BUILD / "examples" / "dns_count_tc.bpf.o").exists():
        subprocess.run(["make", "-C", str(REPO), "build"], check=True, capture_output=True)
    return BUILD


@pytest.fixture(scope="session")
def example_obj(build_dir):
    def get(name: str) -> str:
        p = build_dir / "examples" / f"{name}.bpf.o"
        assert p.exists(), f"{p} not built"
        return str(p)
    return get
