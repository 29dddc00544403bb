"""Malformed policies and logs: a clear error naming the file, and nothing in force lost.

Policies: each bad file given to `fqdnkit enforce --once` (a second process, as an
operator would) and written over the file the running agent follows must be refused
with exit code 2 and a message naming the file (and the line where there is one), no
traceback; afterwards the policy in force, the learned addresses and an allowed
connection are unchanged. Logs: `fqdnkit parse` / `fqdnkit explain` on binary garbage,
a truncated log and an empty file answer without a traceback; a missing file is exit 2
naming it. The log tests need no root.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from toolkit.bench import enforcer_glue, race
from toolkit.bench.faults import connect_ok, resolve
from toolkit.bench.topology import RES_IP, SILENT_RESOLVER_IP, race_ip

BAD_POLICIES = {
    "not_yaml.yaml": ("egress: [\n  - toFQDNs: {matchName: a\n", True),
    "never_matches.yaml": (enforcer_glue.policy_yaml(RES_IP, patterns=("a..bench.test",)), True),
    "label_too_long.yaml": (enforcer_glue.policy_yaml(RES_IP, patterns=("x" * 64 + ".bench.test",)), True),
    "unknown_key.yaml": ("resolvers: [\"10.210.0.1:53\"]\nnamez: [\"a.bench.test\"]\n", True),
    "too_many_rules.yaml": ("resolvers: [\"10.210.0.1:53\"]\nnames:\n" +
                            "".join(f"  - n{i}.bench.test\n" for i in range(65)), False),
    "bad_cidr.yaml": (enforcer_glue.policy_yaml("10.210.0.300"), True),
    "empty.yaml": ("", False),
    "binary.yaml": ("\x00\x01\x02\xff garbage \x7f", False),
}


def _cli(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "toolkit.cli", *argv], capture_output=True, text=True, timeout=60)


def _in_force(pins: str) -> tuple:
    st = enforcer_glue.status(pins)
    w = st["workloads"][0]
    return (w.get("names"), w.get("resolvers"), w.get("generation"), w.get("slot")), {x["ip"] for x in st["ips"]}


@pytest.mark.root
@pytest.mark.slow
def test_bad_policies_are_refused_and_the_policy_in_force_stays(topo, enforcer, tmp_path):
    race.start_listener(topo)
    pins = enforcer["pins"]
    assert resolve(topo, "r1.bench.test", RES_IP) == [race_ip(1)]
    before, learned_before = _in_force(pins)
    problems = []          # every bad case is tried; all problems reported at once
    for name, (text, has_line) in BAD_POLICIES.items():
        path = tmp_path / name
        path.write_bytes(text.encode("latin-1"))
        r = _cli("enforce", "--policy", str(path), "--cgroup", topo.cgroup, "--pin-dir", pins,
                 "--resolver", f"{SILENT_RESOLVER_IP}:53", "--once")
        if r.returncode != 2 or str(path) not in r.stderr or "Traceback" in r.stderr:
            problems.append((name, r.returncode, r.stderr.strip().splitlines()[-1:]))
        elif has_line and not re.search(re.escape(str(path)) + r":\d+", r.stderr):   # "FILE:LINE: problem"
            problems.append((name, "no line number", r.stderr.strip()))
        after, learned_after = _in_force(pins)
        if after != before or not learned_before <= learned_after:
            problems.append((name, "policy in force changed", before, after))
    assert not problems, problems
    assert connect_ok(topo, race_ip(1))
    missing = _cli("enforce", "--policy", str(tmp_path / "nope.yaml"), "--cgroup", topo.cgroup, "--pin-dir", pins,
                   "--once")
    assert missing.returncode == 2 and "nope.yaml" in missing.stderr


@pytest.mark.root
@pytest.mark.slow
def test_running_agent_keeps_its_policy_when_the_file_turns_bad(topo, enforcer):
    race.start_listener(topo)
    pins, policy, agent = enforcer["pins"], enforcer["policy"], enforcer["agent"]
    assert resolve(topo, "r2.bench.test", RES_IP) == [race_ip(2)]
    before, _ = _in_force(pins)
    for name in ("not_yaml.yaml", "never_matches.yaml", "empty.yaml"):
        with open(policy, "w") as f:
            f.write(BAD_POLICIES[name][0])
        os.killpg(agent.pid, signal.SIGHUP)
        time.sleep(0.8)
        assert agent.poll() is None, f"{name}: the agent died on a bad policy"
        assert _in_force(pins)[0] == before, name
    log = open(agent.log_path).read()
    assert log.count("policy not applied") >= 3 and "Traceback" not in log, log[-1500:]
    assert connect_ok(topo, race_ip(2))
    assert resolve(topo, "r3.bench.test", RES_IP) == [race_ip(3)] and connect_ok(topo, race_ip(3))


@pytest.mark.parametrize("command", ["parse", "explain"])
def test_malformed_logs_answer_without_a_traceback(command, tmp_path):
    garbage = tmp_path / "garbage.log"
    garbage.write_bytes(bytes(range(256)) * 8)
    truncated = tmp_path / "truncated.log"
    truncated.write_text("func#0 @0\n0: R1=ctx() R10=fp0\n0: (b7) r0 = \nprocessed 3 insns (limit 100")
    empty = tmp_path / "empty.log"
    empty.write_text("")
    for p in (garbage, truncated, empty):
        r = _cli(command, str(p))
        assert r.returncode in (0, 1), (command, p.name, r.returncode, r.stderr[-500:])
        assert "Traceback" not in r.stderr, (command, p.name, r.stderr[-800:])
    r = _cli(command, str(tmp_path / "missing.log"))
    assert r.returncode == 2 and "missing.log" in r.stderr and "Traceback" not in r.stderr, r.stderr
