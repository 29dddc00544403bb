"""`fqdnkit bench` itself, on a tiny budget: it runs, writes its three outputs, cleans up.

Parts kernel, race and fuzz with small budgets into a temporary directory (the DNS-path
part is the same topology and dataplane code as race, minus dnsperf, which the fault
tests run). Afterwards no fqbench- namespace, cgroup or pin may remain.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.root, pytest.mark.slow]


def _leftovers(pid: int) -> list[str]:
    from toolkit.bench.topology import cgroup2_root
    mine = f"fqbench-{pid}-"
    left = [n for n in os.listdir("/run/netns") if n.startswith(mine)] if os.path.isdir("/run/netns") else []
    left += [n for n in os.listdir(cgroup2_root()) if n.startswith(mine)]
    left += [n for n in os.listdir("/sys/fs/bpf") if n.startswith(mine)]
    return left


def test_bench_small_run_writes_results_plots_and_doc(tmp_path, build_dir):
    res, plots, doc = tmp_path / "results.json", tmp_path / "plots", tmp_path / "BENCHMARKS.md"
    p = subprocess.Popen([sys.executable, "-m", "toolkit.cli", "bench", "--only", "kernel,race,fuzz",
                          "--repeat", "2000", "--race-names", "10", "--fuzz", "300", "--fuzz-workers", "1",
                          "--results", str(res), "--plots", str(plots), "--doc", str(doc)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err[-2000:]
    assert "[1/" in err                          # progress shown
    data = json.loads(res.read_text())
    assert {"meta", "kernel_cost", "race", "fuzz"} <= set(data)
    assert len(data["kernel_cost"]["cases"]) == 5
    assert (plots / "kernel_cost.png").stat().st_size > 1000
    text = doc.read_text()
    assert "In-kernel cost" in text and "First-connection race" in text
    assert _leftovers(p.pid) == []
