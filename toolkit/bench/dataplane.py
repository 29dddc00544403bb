"""The three DNS-path configurations the benchmark compares, as context managers.

Contract: each of `no_enforcement(topo)`, `fqdnkit_enforcer(topo, policy)` and
`proxy_design(topo, policy, mode)` yields a `Path` (name, DNS server address the
workload must query, details) with its data plane in force on the workload's cgroup, and
on exit removes everything it attached, pinned or started (also on exceptions):
  none      nothing attached; the workload queries unbound directly;
  enforcer  `fqdnkit enforce --policy FILE --cgroup CG` (through enforcer_glue), the
            workload queries unbound directly and the kernel learns from the answers;
            with agent_running=False (`kernel-only`) the policy is applied with --once and
            no agent runs: the data plane's own cost, and the state after an agent crash;
  proxy     reference_bpf/bench/allowlist.bpf.o on cgroup egress (a bpf_link held by this
            process), its allow map pinned at /sys/fs/bpf/<prefix>allow, and
            toolkit.bench.dnsproxy in the resolver netns on PROXY_IP:53 forwarding to
            unbound; the workload queries the proxy.
`write_policy(dir)` writes the policy both enforce (a CiliumNetworkPolicy allowing
`*.bench.test`, plus what the enforcer needs to know of the resolver).
"""
from __future__ import annotations

import json
import os
import select
import struct
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from toolkit.build import REPO_ROOT
from toolkit.model import FqdnkitError

from . import enforcer_glue
from .topology import PROXY_IP, RES_IP

ALLOWLIST_OBJ = REPO_ROOT / "build" / "bench" / "allowlist.bpf.o"


@dataclass
class DataPath:
    name: str
    server: str
    details: dict = field(default_factory=dict)


def write_policy(directory: str) -> str:
    path = os.path.join(directory, "policy.yaml")
    Path(path).write_text(enforcer_glue.policy_yaml(RES_IP))
    return path


@contextmanager
def no_enforcement(topo) -> Iterator[DataPath]:
    yield DataPath("none", RES_IP, {"what": "no program attached; workload -> unbound"})


@contextmanager
def fqdnkit_enforcer(topo, policy: str, agent_running: bool = True) -> Iterator[DataPath]:
    with enforcer_glue.enforcing(topo, policy, agent_running) as details:
        yield DataPath("enforcer" if agent_running else "kernel-only", RES_IP, details)


@contextmanager
def allowlist(topo, proxy_ip: str = PROXY_IP, proxy_port: int = 53):
    """The proxy design's data plane: allowlist.bpf.o on the cgroup's egress."""
    from toolkit import libbpf
    import socket
    pin = f"/sys/fs/bpf/{topo.prefix}allow"
    if os.path.exists(pin):
        os.unlink(pin)
    obj = libbpf.BpfObject.open(str(ALLOWLIST_OBJ))
    link_fd = cg_fd = -1
    try:
        if obj.load() != 0:
            raise FqdnkitError(f"{ALLOWLIST_OBJ}: load failed (run `fqdnkit check` on it)")
        val = socket.inet_aton(proxy_ip) + struct.pack("!H", proxy_port) + b"\0\0"
        libbpf.map_update(obj.map("proxy").fd, struct.pack("=I", 0), val)
        obj.map("allow_ips").pin(pin)
        cg_fd = os.open(topo.cgroup, os.O_RDONLY | os.O_DIRECTORY)
        link_fd = libbpf.link_create(obj.program("allowlist_egress").fd, cg_fd, "cgroup_inet_egress")
        yield {"pin": pin, "drops_map_fd": obj.map("drops").fd, "allow_fd": obj.map("allow_ips").fd}
    finally:
        if link_fd >= 0:
            os.close(link_fd)
        if cg_fd >= 0:
            os.close(cg_fd)
        if os.path.exists(pin):
            os.unlink(pin)
        obj.close()


def allowlist_drops(fd: int) -> int:
    from toolkit import libbpf
    ncpu = libbpf.num_possible_cpus()
    raw = libbpf.map_lookup(fd, struct.pack("=I", 0), 8 * ncpu)
    return sum(struct.unpack(f"={ncpu}Q", raw)) if raw else 0


@contextmanager
def proxy_design(topo, policy: str, mode: str = "sync") -> Iterator[DataPath]:
    with allowlist(topo) as al:
        p = topo.res_popen([sys.executable, "-m", "toolkit.bench.dnsproxy", "--listen", PROXY_IP,
                            "--upstream", RES_IP, "--policy", policy, "--allow-map", al["pin"],
                            "--mode", mode], stdout=__import__("subprocess").PIPE,
                           stderr=__import__("subprocess").PIPE, cwd=str(REPO_ROOT))
        try:
            r, _, _ = select.select([p.stdout], [], [], 15)
            line = p.stdout.readline().decode().strip() if r else ""
            if line != "ready":
                err = p.stderr.read().decode(errors="replace") if p.poll() is not None else ""
                raise FqdnkitError(f"dnsproxy did not start: {line!r} {err.strip()[-800:]}")
            details = {"what": f"toolkit.bench.dnsproxy ({mode}) on {PROXY_IP}:53 -> unbound "
                               f"{RES_IP}:53; allowlist.bpf.o on cgroup egress", "mode": mode}
            dp = DataPath("proxy" if mode == "sync" else f"proxy-{mode}", PROXY_IP, details)
            yield dp
            dp.details["dataplane_drops"] = allowlist_drops(al["drops_map_fd"])
        finally:
            topo.stop(p)
            out = p.stdout.read().decode(errors="replace").strip().splitlines() if p.stdout else []
            if out:
                try:
                    details_stats = json.loads(out[-1])
                except ValueError:
                    details_stats = {"unparsed": out[-1]}
                if "dp" in locals():
                    dp.details["proxy_stats"] = details_stats
