"""Fixtures of the fault and abuse tests: a fqbench-style topology per test module.

Every namespace, cgroup, pin and process a fixture makes carries the prefix
`fqfault-<pid>-` and is removed in `finally`, also when the test fails. Budgets are small for CI; set
FQDNKIT_FAULT_SCALE=N (default 1) to multiply durations and message counts.
"""
from __future__ import annotations

import os

import pytest


@pytest.fixture
def scaled():
    """scaled(n): a CI budget multiplied by FQDNKIT_FAULT_SCALE (default 1)."""
    factor = float(os.environ.get("FQDNKIT_FAULT_SCALE", "1"))
    return lambda n: max(1, int(n * factor))


@pytest.fixture
def topo(build_dir):
    from toolkit.bench.topology import Topology
    with Topology(prefix="fqfault-", n_race=400) as t:
        yield t


@pytest.fixture
def policy_file(topo):
    from toolkit.bench import dataplane
    return dataplane.write_policy(topo.workdir)


@pytest.fixture
def enforcer(topo, policy_file):
    """`fqdnkit enforce` running on the topology's cgroup with its own pin directory
    (/sys/fs/bpf/fqfault-<pid>-enf), 10.210.0.4:53 as an extra resolver (nothing answers there:
    forged-response tests). Yields a dict: pins, policy, agent (Popen), start() to start
    another agent on the same pins. Stops every agent and detaches in finally."""
    from toolkit.bench import enforcer_glue
    from toolkit.bench.topology import SILENT_RESOLVER_IP
    ok, why = enforcer_glue.available()
    if not ok:
        pytest.skip(f"enforcer not available: {why}")
    pins = enforcer_glue.pin_dir(topo)
    enforcer_glue.detach_stale(topo)
    extra = ("--resolver", f"{SILENT_RESOLVER_IP}:53")
    state = {"pins": pins, "policy": policy_file, "agents": []}

    def start():
        a = enforcer_glue.start_agent(topo, policy_file, pins, extra)
        state["agents"].append(a)
        return a
    state["start"] = start
    try:
        state["agent"] = start()
        yield state
    finally:
        for a in state["agents"]:
            topo.stop(a)
        enforcer_glue.detach(pins)
