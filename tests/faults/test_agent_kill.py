"""The agent killed with SIGKILL under DNS load: the kernel keeps enforcing, DNS goes on.

During D seconds of dnsperf load (UDP and TCP; D = 10 s in CI, 30 s with
FQDNKIT_FAULT_SCALE=3) and a connection loop to an address learned before, the agent is
killed with SIGKILL. Then: no DNS query fails (dnsperf: none lost, all NOERROR), the
connection loop never fails, fresh allowed names still resolve and connect (learning
needs no agent), denied addresses stay dropped; a restarted agent adopts the pins
(prints "adopted", creates no link) and still lists what was learned.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from toolkit.bench import enforcer_glue, race
from toolkit.bench.dnsperf import parse_output
from toolkit.bench.faults import ConnectLoop, connect_ok, resolve
from toolkit.bench.topology import RES_IP

pytestmark = [pytest.mark.root, pytest.mark.slow]


def _dnsperf(topo, proto: str, seconds: int, qps: int) -> subprocess.Popen:
    """Background dnsperf writing to a file (-v prints a line per query: a pipe left unread
    would fill and stall it)."""
    out = os.path.join(topo.workdir, f"dnsperf-{proto}.out")
    with open(out, "w") as f:
        p = topo.wl_popen(["dnsperf", "-s", RES_IP, "-m", proto, "-d", topo.datafile(), "-l", str(seconds),
                           "-Q", str(qps), "-t", "2", "-v"], stdout=f, stderr=subprocess.STDOUT)
    p.out_path = out
    return p


def test_sigkill_under_dns_load_keeps_dns_and_enforcement(topo, enforcer, scaled):
    seconds = scaled(10)
    race.start_listener(topo)
    pins = enforcer["pins"]
    before = resolve(topo, "r1.bench.test", RES_IP)
    assert before == ["10.77.1.1"] and connect_ok(topo, "10.77.1.1")
    links_before = sorted(os.listdir(os.path.join(pins, "links")))

    udp = _dnsperf(topo, "udp", seconds, 2000)
    tcp = _dnsperf(topo, "tcp", seconds, 500)
    loop = ConnectLoop(topo, ["10.77.1.1"], seconds)
    time.sleep(min(2, seconds / 4))
    agent = enforcer["agent"]
    os.killpg(agent.pid, signal.SIGKILL)
    agent.wait(timeout=10)
    assert agent.returncode == -signal.SIGKILL

    # while the agent is dead and the load goes on
    for i in range(2, 6):
        assert resolve(topo, f"r{i}.bench.test", RES_IP) == [race_ip(i)], f"r{i} did not resolve"
        assert connect_ok(topo, race_ip(i)), f"fresh allowed r{i} not reachable without the agent"
    assert resolve(topo, "x1.denied.test", RES_IP) == ["10.77.250.2"]
    assert not connect_ok(topo, "10.77.250.2"), "a name outside the policy became reachable"
    assert not connect_ok(topo, "10.77.250.9"), "a never-resolved address became reachable"

    for p, proto in ((udp, "udp"), (tcp, "tcp")):
        p.wait(timeout=seconds + 60)
        out = open(p.out_path).read()
        assert p.returncode == 0, out[-400:]
        r = parse_output(out)
        assert r["lost"] == 0 and r["completed"] == r["sent"] > 0, (proto, {k: r[k] for k in ("sent", "completed", "lost")})
        assert set(r["rcodes"]) == {"NOERROR"}, (proto, r["rcodes"])
    lr = loop.result()
    assert lr["failed"] == 0 and lr["ok"] > 0, lr

    # restart: adopt the pins, no new link, learned state intact
    again = enforcer["start"]()
    assert "adopted" in again.first_line and "nothing new" in again.first_line, again.first_line
    assert sorted(os.listdir(os.path.join(pins, "links"))) == links_before
    learned = {x["ip"] for x in enforcer_glue.status(pins)["ips"]}
    assert {"10.77.1.1", race_ip(2), race_ip(5)} <= learned
    assert connect_ok(topo, "10.77.1.1")


def race_ip(i: int) -> str:
    from toolkit.bench.topology import race_ip as rip
    return rip(i)
