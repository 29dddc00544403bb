"""A policy replaced under load drops no allowed packet.

While dnsperf runs and a loop keeps opening TCP connections to four learned addresses,
the policy file is rewritten K times, alternating between two policies that both allow
the names in use (the running agent re-applies it on each change, SIGHUP to make it
immediate), and once more through a second `fqdnkit enforce --once`. Then: every reload
happened (agent log), no connection failed, no DNS query was lost, and the enforcer's
drop counters did not move (the only traffic in the cgroup is allowed traffic).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from toolkit.bench import enforcer_glue, race
from toolkit.bench.dnsperf import parse_output
from toolkit.bench.faults import ConnectLoop, resolve
from toolkit.bench.topology import RES_IP, SILENT_RESOLVER_IP, race_ip

pytestmark = [pytest.mark.root, pytest.mark.slow]

POLICY_B_EXTRA = ["r1.bench.test", "r2.bench.test", "*.other.test", "**.deep.bench.test"]


def _drops(counters: dict) -> int:
    return sum(v for k, v in counters.items() if "DROP" in k)


def _write(path: str, text: str) -> None:
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)      # atomic: the agent never reads half a file


def test_policy_replaced_under_load_drops_nothing_allowed(topo, enforcer, scaled):
    seconds, swaps = scaled(8), scaled(8)
    race.start_listener(topo)
    pins, policy = enforcer["pins"], enforcer["policy"]
    ips = [race_ip(i) for i in range(1, 5)]
    for i, ip in enumerate(ips, 1):
        assert resolve(topo, f"r{i}.bench.test", RES_IP) == [ip]
    text_a = enforcer_glue.policy_yaml(RES_IP)
    text_b = enforcer_glue.policy_yaml(RES_IP, patterns=("*.bench.test", *POLICY_B_EXTRA))
    drops0 = _drops(enforcer_glue.status(pins)["counters"])

    out = os.path.join(topo.workdir, "dnsperf-replace.out")
    with open(out, "w") as f:
        perf = topo.wl_popen(["dnsperf", "-s", RES_IP, "-d", topo.datafile(), "-l", str(seconds), "-Q", "2000",
                              "-t", "2", "-v"], stdout=f, stderr=subprocess.STDOUT)
    loop = ConnectLoop(topo, ips, seconds)
    agent = enforcer["agent"]
    interval = seconds * 0.7 / swaps
    time.sleep(0.5)
    for k in range(swaps):
        _write(policy, text_b if k % 2 == 0 else text_a)
        os.killpg(agent.pid, signal.SIGHUP)
        time.sleep(interval)
    # a second process replacing it too (the CLI, not the running agent)
    r = subprocess.run([sys.executable, "-m", "toolkit.cli", "enforce", "--policy", policy, "--cgroup", topo.cgroup,
                        "--pin-dir", pins, "--resolver", f"{SILENT_RESOLVER_IP}:53", "--once"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    perf.wait(timeout=seconds + 60)
    res = parse_output(open(out).read())
    lr = loop.result()
    log = open(agent.log_path).read()
    assert log.count("policy reloaded") >= swaps // 2, log[-1500:]
    assert lr["failed"] == 0 and lr["ok"] > 0, lr
    assert res["lost"] == 0 and set(res["rcodes"]) == {"NOERROR"}, {k: res[k] for k in ("sent", "lost", "rcodes")}
    counters = enforcer_glue.status(pins)["counters"]
    assert _drops(counters) == drops0, counters
