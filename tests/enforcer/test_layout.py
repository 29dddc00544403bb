"""The ctypes mirrors in toolkit/enforcer/maps.py have the sizes of the C structs, as the
built object's BTF records them (bpftool btf dump; no kernel needed)."""
from __future__ import annotations

import ctypes
import re
import shutil
import subprocess

import pytest

from toolkit.enforcer import maps


@pytest.mark.skipif(shutil.which("bpftool") is None, reason="bpftool not installed")
def test_struct_sizes_match_btf(enforcer_build):
    sizes = {}
    for obj in ("cgroup_egress", "cgroup_ingress", "sk_skb", "dns_parse_test"):
        out = subprocess.run(["bpftool", "btf", "dump", "file",
                              str(enforcer_build[0].parent / f"{obj}.bpf.o")],
                             capture_output=True, text=True, check=True).stdout
        for name, size in re.findall(r"STRUCT '(\w+)' size=(\d+)", out):
            sizes[name] = int(size)
    for name, cls in maps.STRUCT_SIZES.items():
        if name == "fqk_event" and name not in sizes:
            continue  # only used through a ring-buffer pointer: no BTF record (checked by e2e)
        assert name in sizes, f"struct {name} not in the objects' BTF"
        assert sizes[name] == ctypes.sizeof(cls), f"{name}: C {sizes[name]} != ctypes {ctypes.sizeof(cls)}"
