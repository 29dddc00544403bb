"""The user-space proxy design the benchmark compares against, under its own faults.

These pin down what BENCHMARKS.md says of the proxy rows: allowed names resolve and
connect through it, names outside the policy are refused and their addresses dropped,
and when the proxy dies DNS fails for the workload (the outage the in-kernel design
removes: compare tests/faults/test_agent_kill.py). Root: namespaces, cgroup, BPF.
"""
from __future__ import annotations

import signal

import pytest

from toolkit.bench import dataplane, race
from toolkit.bench.topology import PROXY_IP

pytestmark = [pytest.mark.root, pytest.mark.slow]


def _dig(topo, name: str, server: str = PROXY_IP, tcp: bool = False) -> tuple[str, str]:
    argv = ["dig", "+time=1", "+tries=1", "@" + server, name, "A"]
    if tcp:
        argv.insert(1, "+tcp")
    r = topo.wl_run(argv, capture_output=True, text=True, timeout=10)
    status = "TIMEOUT" if "timed out" in r.stdout or "no servers" in r.stdout else \
        r.stdout.split("status: ", 1)[1].split(",", 1)[0] if "status: " in r.stdout else r.stdout
    short = topo.wl_run(argv + ["+short"], capture_output=True, text=True, timeout=10).stdout.strip()
    return status, short


def test_proxy_allows_resolved_names_refuses_others_and_drops_unlearned(topo, policy_file):
    race.start_listener(topo)
    with dataplane.proxy_design(topo, policy_file) as dp:
        st, ip = _dig(topo, "r1.bench.test")
        assert st == "NOERROR" and ip == "10.77.1.1"
        st_tcp, _ = _dig(topo, "r2.bench.test", tcp=True)
        assert st_tcp == "NOERROR"
        st, _ = _dig(topo, "x1.denied.test")
        assert st == "REFUSED"
        res = race.measure(topo, dp, 20, 10)
        assert res["first_connection_dropped"] == 0 and res["resolved"] == 20
        assert res["control_connected"] == 0          # never-resolved addresses are dropped
    assert dp.details["dataplane_drops"] >= res["control_total"]


def test_proxy_killed_means_dns_fails(topo, policy_file):
    with dataplane.proxy_design(topo, policy_file):
        assert _dig(topo, "n1.bench.test")[0] == "NOERROR"
        victim = [p for p in topo.procs if "toolkit.bench.dnsproxy" in " ".join(p.args)][0]
        topo.stop(victim, signal.SIGKILL)
        st, _ = _dig(topo, "n2.bench.test")
        assert st == "TIMEOUT", "a dead proxy must leave the workload without DNS (the design's weakness)"
