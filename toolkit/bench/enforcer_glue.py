"""Where the benchmark meets the enforcer (reference_bpf/enforcer/, toolkit/enforcer/).

Contract: the only module of toolkit.bench that knows the enforcer's file names, program
names, policy format and CLI. `available()` says whether the enforcer is built and its
CLI registered (with the reason when not); `kernel_cost_target()` returns None until its
UDP parsing program is built; `enforcing(topo, policy)` raises FqdnkitError naming what
is missing, so callers record the configuration as not measured.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager

from toolkit.build import REPO_ROOT
from toolkit.model import FqdnkitError

ENFORCER_BUILD = REPO_ROOT / "build" / "enforcer"


ENFORCER_OBJS = ("cgroup_egress.bpf.o", "cgroup_ingress.bpf.o", "sockops.bpf.o", "sk_skb.bpf.o")


def available() -> tuple[bool, str]:
    """Is the enforcer built and its CLI (`fqdnkit enforce`) present?"""
    missing = [o for o in ENFORCER_OBJS if not (ENFORCER_BUILD / o).exists()]
    if missing:
        return False, f"enforcer objects not built: {', '.join(missing)} (make build)"
    if not (REPO_ROOT / "toolkit" / "commands" / "enforce.py").exists():
        return False, "toolkit/commands/enforce.py missing"
    return True, "built"


PARSE_TEST_OBJ = ENFORCER_BUILD / "dns_parse_test.bpf.o"
ETH_HDR_LEN = 14


def kernel_cost_target():
    """kernel_cost.Target for the enforcer's UDP parsing program, or None if not built.

    fqk_test_udp (reference_bpf/enforcer/dns_parse_test.bpf.c, SCHED_CLS) runs
    fqk_process_msg in test mode: the same parsing function the cgroup_skb ingress program
    runs, without the anti-spoofing lookups and learning writes (a test run cannot keep an
    outstanding query alive across repetitions: the ingress program deletes it when
    answered). Its data is 14 zero bytes then the DNS message."""
    from .kernel_cost import Target
    if not PARSE_TEST_OBJ.exists():
        return None
    return Target(obj=str(PARSE_TEST_OBJ), prog="fqk_test_udp", kind="tc",
                  description="the enforcer's parser through its test-run entry point: dns_msg_load + "
                              "fqk_g_parse_response (validation of every RR, name equality classes, CNAME "
                              "closure), which fqk_process_msg runs for the UDP cgroup_skb ingress program; "
                              "without the anti-spoofing lookups and learning map writes (the result copy to "
                              "the test map stops after 16 runs); data = 14 zero bytes + DNS message",
                  packet=lambda wire: b"\0" * ETH_HDR_LEN + wire)


def policy_yaml(resolver: str, patterns=("*.bench.test",)) -> str:
    """A CiliumNetworkPolicy: toFQDNs for `patterns`, the resolver as toCIDR + port 53
    (how toolkit/enforcer/policy.py names resolvers in Cilium's form)."""
    sel = "\n".join(f'    - matchPattern: "{p}"' for p in patterns)
    return f"""apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: fqbench
spec:
  endpointSelector: {{}}
  egress:
  - toFQDNs:
{sel}
  - toCIDR:
    - {resolver}/32
    toPorts:
    - ports:
      - port: "53"
        protocol: ANY
"""


def pin_dir(topo) -> str:
    """The bench's own pin directory (the agent's hidden --pin-dir), so a run never touches
    /sys/fs/bpf/fqdnkit or another engineer's test pins."""
    return f"/sys/fs/bpf/{topo.prefix}enf"


def _cli(*argv: str) -> list[str]:
    return [sys.executable, "-m", "toolkit.cli", *argv]


def detach(pins: str) -> None:
    r = subprocess.run(_cli("enforce", "--detach", "--pin-dir", pins), capture_output=True, text=True,
                       cwd=str(REPO_ROOT))
    if r.returncode != 0:
        raise FqdnkitError(f"fqdnkit enforce --detach failed: {r.stderr.strip()[-400:]}")


def _agent_preexec(nice: int):
    def fn():
        os.setpgrp()
        if nice:
            os.nice(nice)
    return fn


def start_agent(topo, policy: str, pins: str, extra: tuple = (), log: str | None = None,
                timeout: float = 30) -> subprocess.Popen:
    """`fqdnkit enforce --policy P --cgroup CG` in the foreground (it keeps reading events
    and printing them: its output goes to a file, `log`, so a full pipe never stalls it);
    returns once it printed that the policy is in force. `p.log_path` is that file."""
    log = log or os.path.join(topo.workdir, f"agent-{len(topo.procs)}.log")
    out = open(log, "w")
    try:
        p = subprocess.Popen(_cli("enforce", "--policy", policy, "--cgroup", topo.cgroup, "--pin-dir", pins,
                                  *extra), stdout=out, stderr=subprocess.STDOUT,
                             cwd=str(REPO_ROOT), preexec_fn=_agent_preexec(getattr(topo, "nice", 0)))
    finally:
        out.close()
    p.log_path = log
    topo.procs.append(p)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        first = open(log).readline()
        if first.startswith("enforcer ") and first.endswith("\n"):
            p.first_line = first.strip()
            return p
        if p.poll() is not None:
            break
        time.sleep(0.05)
    topo.stop(p)
    raise FqdnkitError(f"fqdnkit enforce did not come up: {open(log).read().strip()[-600:]}")


def cpu_seconds(pid: int) -> float:
    """user+system CPU time of a process (from /proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def detach_stale(topo) -> None:
    """Detach pin directories of earlier runs (same base prefix) whose process is gone."""
    import re
    rx = re.compile(re.escape(topo.base_prefix) + r"(\d+)-enf$")
    for name in os.listdir("/sys/fs/bpf"):
        m = rx.match(name)
        if m and (int(m.group(1)) == os.getpid() or not os.path.exists(f"/proc/{m.group(1)}")):
            detach(os.path.join("/sys/fs/bpf", name))


@contextmanager
def enforcing(topo, policy: str, agent_running: bool = True):
    """The enforcer on the topology's cgroup. With agent_running, `fqdnkit enforce` stays in
    the foreground (reading events, as deployed); without, `fqdnkit enforce --once` applies
    and exits, and the kernel enforces alone (the state after an agent crash)."""
    ok, why = available()
    if not ok:
        raise FqdnkitError(why)
    pins = pin_dir(topo)
    detach_stale(topo)
    agent = None
    if agent_running:
        what = ("fqdnkit enforce --policy P --cgroup CG (cgroup_skb egress/ingress, sockops, sk_skb on the "
                "workload's cgroup; the agent keeps running, reading events into a file); workload -> unbound")
    else:
        what = ("the same programs and policy applied by `fqdnkit enforce --once`, no agent process left "
                "(kernel only, as after an agent crash); workload -> unbound")
    details = {"what": what, "pin_dir": pins}
    try:
        if agent_running:
            agent = start_agent(topo, policy, pins)
            cpu0 = cpu_seconds(agent.pid)
        else:
            r = subprocess.run(_cli("enforce", "--policy", policy, "--cgroup", topo.cgroup, "--pin-dir", pins,
                                    "--once"), capture_output=True, text=True, cwd=str(REPO_ROOT), timeout=120)
            if r.returncode != 0:
                raise FqdnkitError(f"fqdnkit enforce --once failed: {r.stderr.strip()[-600:]}")
        yield details
        if agent is not None:
            details["agent_cpu_seconds"] = round(cpu_seconds(agent.pid) - cpu0, 2)
        try:
            details["counters"] = status(pins).get("counters", {})
        except (FqdnkitError, ValueError) as e:
            details["counters"] = {"error": str(e)}
    finally:
        if agent is not None:
            topo.stop(agent)
        detach(pins)


def status(pins: str) -> dict:
    r = subprocess.run(_cli("enforce", "--status", "--output", "json", "--pin-dir", pins),
                       capture_output=True, text=True, cwd=str(REPO_ROOT))
    if r.returncode != 0:
        raise FqdnkitError(f"fqdnkit enforce --status failed: {r.stderr.strip()[-400:]}")
    return json.loads(r.stdout)


def describe() -> dict:
    ok, why = available()
    return {"available": ok, "why": why}


def parser_available() -> tuple[bool, str]:
    if not PARSE_TEST_OBJ.exists():
        return False, f"{PARSE_TEST_OBJ} not built (make build)"
    if not (REPO_ROOT / "toolkit" / "enforcer" / "harness.py").exists():
        return False, "toolkit/enforcer/harness.py (the dns-parse Python API) missing"
    return True, "built"


def parser_description() -> str:
    return ("toolkit.enforcer.harness.Harness (the API behind `fqdnkit dns-parse`): fqk_test_udp / "
            "fqk_test_tcp of build/enforcer/dns_parse_test.bpf.o by BPF_PROG_TEST_RUN")


MAX_MSG = 3400      # the harness's limit per test run is 3500 bytes of data


@contextmanager
def dns_parser():
    """Yields parse(list_of_bytes, tcp: bool) -> list[dict] (dns-parse JSON shape): UDP = one
    entry per message; TCP = the messages' framed stream given as segments.

    UDP messages go through the harness's fqk_test_udp in groups of FQK_TEST_RESULTS: the
    program appends one result per run, so the 17 KB result map is reset and read once per
    group instead of once per message (same programs, same decoding: harness.entry)."""
    ok, why = parser_available()
    if not ok:
        raise FqdnkitError(why)
    from toolkit.enforcer import harness as hmod
    from toolkit.enforcer import maps
    group = maps.FQK_TEST_RESULTS
    with hmod.Harness() as h:
        def parse_udp_group(items: list[bytes], base: int) -> list[dict]:
            h._reset_results()
            for i, m in enumerate(items):
                h._run(h.udp_fd, m, f"msg{base + i}")
            res = h._results()
            if len(res) != len(items):
                raise FqdnkitError(f"fqk_test_udp reported {len(res)} results for {len(items)} messages")
            return [hmod.entry(f"msg{base + i}", r) for i, r in enumerate(res)]

        def parse(items: list[bytes], tcp: bool) -> list[dict]:
            if tcp:
                return h.parse_tcp([(f"seg{i}", s) for i, s in enumerate(items)])
            out: list[dict] = []
            for k in range(0, len(items), group):
                out += parse_udp_group(items[k:k + group], k)
            return out
        yield parse
