"""Namespaces, a cgroup and a resolver for the DNS-path benchmark and the fault tests.

Contract: `Topology(prefix)` is a context manager. On enter it creates
  - netns `<prefix>res` (resolver side, 10.210.0.1/24 for unbound, 10.210.0.3/24 for a
    DNS proxy, 10.210.0.4/24 where nothing listens: a resolver address whose queries stay
    outstanding, for forged-response tests) and `<prefix>wl` (workload, 10.210.0.2/24), joined by a veth pair;
  - in the resolver netns a local route for TARGET_NET (10.77.0.0/16) so a listener bound
    to 0.0.0.0 accepts connections to any of those addresses (the "servers" the workload
    connects to after resolving a name); the workload routes TARGET_NET via the resolver;
  - the cgroup `<cgroup2 mount>/<prefix>wl` for the workload's processes;
  - unbound (Debian) in the resolver netns serving the local zone `bench.test.`
    (n<i>.bench.test A for dnsperf, r<i>.bench.test A 10.77.x.y for connection tests,
    all allowed by the policy) and `denied.test.` (never allowed).
On exit (also on exceptions and Ctrl-C) it kills every process it started, deletes both
namespaces and removes the cgroup. All names start with `prefix` (default "fqbench-")
followed by this process's pid ("fqbench-1234-res"), so two runs at once (a benchmark
and the fault tests of someone else's `make test`) never touch each other's namespaces,
cgroups or pins; leftovers of runs whose process is gone are removed at start.

`wl_popen(argv)` / `wl_run(argv)` start a process inside the workload netns and cgroup;
with `nice=-10` every process started here (unbound, dnsperf, proxy, probes) gets that
niceness, to shield the measurement from other work on a shared machine;
`res_popen(argv)` inside the resolver netns (bpffs pins stay visible: nsenter --net).
"""
from __future__ import annotations

import ipaddress
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from toolkit.model import FqdnkitError

RES_IP = "10.210.0.1"
WL_IP = "10.210.0.2"
PROXY_IP = "10.210.0.3"
SILENT_RESOLVER_IP = "10.210.0.4"   # on the resolver side, nothing listens: queries stay outstanding
TARGET_NET = "10.77.0.0/16"
ZONE = "bench.test."
DENIED_ZONE = "denied.test."
N_QUERY_NAMES = 200
CREATE_ATTEMPTS = 3


def cgroup2_root() -> str:
    out = subprocess.run(["findmnt", "-n", "-o", "TARGET", "-t", "cgroup2"], capture_output=True,
                         text=True, check=False).stdout.split()
    if not out:
        raise FqdnkitError("no cgroup2 mount found (findmnt -t cgroup2)")
    return out[0]


def race_ip(i: int) -> str:
    return str(ipaddress.ip_network(TARGET_NET)[256 + i])


def _sh(*argv: str) -> None:
    r = subprocess.run(list(argv), capture_output=True, text=True)
    if r.returncode != 0:
        raise FqdnkitError(f"{' '.join(argv)}: {r.stderr.strip() or r.stdout.strip()}")


def unbound_conf(workdir: str, n_race: int, threads: int = 1) -> str:
    zone = ZONE.rstrip(".")
    lines = [
        "server:",
        f"  interface: {RES_IP}",
        "  port: 53",
        "  do-ip6: no",
        "  do-udp: yes",
        "  do-tcp: yes",
        f"  num-threads: {threads}",
        "  incoming-num-tcp: 256",
        "  so-reuseport: yes",
        "  access-control: 0.0.0.0/0 allow",
        "  username: \"\"",
        "  chroot: \"\"",
        f"  directory: \"{workdir}\"",
        "  pidfile: \"\"",
        "  use-syslog: no",
        "  logfile: \"\"",
        "  verbosity: 0",
        "  module-config: \"iterator\"",
        "  do-not-query-localhost: yes",
        "  minimal-responses: yes",
        "  tcp-idle-timeout: 30000",
        f"  local-zone: \"{zone}.\" static",
        f"  local-zone: \"{DENIED_ZONE}\" static",
    ]
    for i in range(N_QUERY_NAMES):
        lines.append(f"  local-data: \"n{i}.{zone}. 300 IN A 10.78.{i // 250}.{i % 250 + 1}\"")
    for i in range(n_race):
        lines.append(f"  local-data: \"r{i}.{zone}. 300 IN A {race_ip(i)}\"")
    for i in range(16):
        lines.append(f"  local-data: \"x{i}.{DENIED_ZONE} 300 IN A 10.77.250.{i + 1}\"")
    lines.append("remote-control:\n  control-enable: no")
    return "\n".join(lines) + "\n"


class Topology:
    def __init__(self, prefix: str = "fqbench-", n_race: int = 2000, unbound_threads: int = 1,
                 nice: int = 0):
        self.nice = nice            # niceness of every process started here (negative: shielded)
        self.base_prefix = prefix
        prefix = f"{prefix}{os.getpid()}-"
        self.prefix = prefix
        self.res_ns = prefix + "res"
        self.wl_ns = prefix + "wl"
        self.n_race = n_race
        self.unbound_threads = unbound_threads
        self.cgroup = os.path.join(cgroup2_root(), prefix + "wl")
        self.procs: list[subprocess.Popen] = []
        self.workdir = ""
        self._veth = prefix[:6] + "v"

    # --- lifecycle -------------------------------------------------------------------
    def __enter__(self) -> "Topology":
        if os.geteuid() != 0:
            raise FqdnkitError("the DNS-path benchmark needs root (namespaces, cgroups, BPF)")
        for tool in ("ip", "nsenter", "unbound"):
            if shutil.which(tool) is None:
                raise FqdnkitError(f"{tool} not found; run ./scripts/setup.sh")
        for attempt in range(CREATE_ATTEMPTS):
            self.cleanup_stale()
            try:
                self._create()
                return self
            except FqdnkitError:
                # `ip netns add` run concurrently by other users of the machine can leave a
                # namespace unopenable for a moment: start again from nothing, a few times
                self.close()
                if attempt == CREATE_ATTEMPTS - 1:
                    raise
                time.sleep(0.5)
            except BaseException:
                self.close()
                raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def cleanup_stale(self) -> None:
        """Remove leftovers of earlier runs with the same base prefix whose process is gone
        (killed with SIGKILL), and anything left under this run's own names."""
        import re
        rx = re.compile(re.escape(self.base_prefix) + r"(\d+)-")

        def stale(name: str) -> bool:
            m = rx.match(name)
            if not m:
                return False
            pid = int(m.group(1))
            return pid == os.getpid() or not os.path.exists(f"/proc/{pid}")
        netns = os.listdir("/run/netns") if os.path.isdir("/run/netns") else []
        for ns in netns:
            if stale(ns):
                self._kill_netns_pids(ns)
                subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        root = cgroup2_root()
        for cg in os.listdir(root):
            if stale(cg) and os.path.isdir(os.path.join(root, cg)):
                self._remove_cgroup(os.path.join(root, cg))
        for pin in os.listdir("/sys/fs/bpf") if os.path.isdir("/sys/fs/bpf") else []:
            if stale(pin) and pin.endswith("-allow"):
                os.unlink(os.path.join("/sys/fs/bpf", pin))

    def _create(self) -> None:
        self.workdir = tempfile.mkdtemp(prefix=self.prefix)
        _sh("ip", "netns", "add", self.res_ns)
        _sh("ip", "netns", "add", self.wl_ns)
        r, w = self._veth + "r", self._veth + "w"
        _sh("ip", "-n", self.res_ns, "link", "add", r, "type", "veth", "peer", "name", w,
            "netns", self.wl_ns)
        _sh("ip", "-n", self.res_ns, "addr", "add", RES_IP + "/24", "dev", r)
        _sh("ip", "-n", self.res_ns, "addr", "add", PROXY_IP + "/24", "dev", r)
        _sh("ip", "-n", self.res_ns, "addr", "add", SILENT_RESOLVER_IP + "/24", "dev", r)
        _sh("ip", "-n", self.wl_ns, "addr", "add", WL_IP + "/24", "dev", w)
        for ns, dev in ((self.res_ns, r), (self.wl_ns, w)):
            _sh("ip", "-n", ns, "link", "set", "lo", "up")
            _sh("ip", "-n", ns, "link", "set", dev, "up")
        _sh("ip", "-n", self.res_ns, "route", "add", "local", TARGET_NET, "dev", "lo")
        _sh("ip", "-n", self.wl_ns, "route", "add", TARGET_NET, "via", RES_IP)
        os.makedirs(self.cgroup, exist_ok=True)
        conf = os.path.join(self.workdir, "unbound.conf")
        Path(conf).write_text(unbound_conf(self.workdir, self.n_race, self.unbound_threads))
        _sh("unbound-checkconf", conf)
        self.unbound = self.res_popen(["unbound", "-d", "-c", conf],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._wait_resolver()

    def _wait_resolver(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = self.wl_run(["dig", "+time=1", "+tries=1", "+short", "@" + RES_IP, "n0." + ZONE],
                            capture_output=True, text=True, join_cgroup=False)
            if r.returncode == 0 and r.stdout.strip():
                return
            if self.unbound.poll() is not None:
                err = self.unbound.stderr.read().decode(errors="replace") if self.unbound.stderr else ""
                raise FqdnkitError(f"unbound exited ({self.unbound.returncode}): {err.strip()}")
            time.sleep(0.1)
        raise FqdnkitError(f"unbound in {self.res_ns} did not answer within {timeout}s")

    def close(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for p in reversed(self.procs):
            try:
                p.wait(timeout=3)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=3)
        self.procs.clear()
        for ns in (self.wl_ns, self.res_ns):
            if os.path.exists(f"/run/netns/{ns}"):
                self._kill_netns_pids(ns)
                subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self._remove_cgroup()
        if self.workdir and os.path.isdir(self.workdir):
            shutil.rmtree(self.workdir)

    def _kill_netns_pids(self, ns: str) -> None:
        r = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
        for pid in r.stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _remove_cgroup(self, path: str | None = None) -> None:
        path = path or self.cgroup
        if not os.path.isdir(path):
            return
        procs = Path(path, "cgroup.procs")
        for _ in range(50):
            pids = procs.read_text().split()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
        os.rmdir(path)

    # --- processes -------------------------------------------------------------------
    def _nsenter(self, ns: str, argv: list[str]) -> list[str]:
        return ["nsenter", f"--net=/run/netns/{ns}", "--"] + list(argv)

    def _preexec(self, join_cgroup: bool):
        cg, nice = self.cgroup, self.nice

        def fn():
            os.setpgrp()
            if nice:
                os.nice(nice)
            if join_cgroup:
                with open(os.path.join(cg, "cgroup.procs"), "w") as f:
                    f.write(str(os.getpid()))
        return fn

    def wl_popen(self, argv: list[str], join_cgroup: bool = True, **kw) -> subprocess.Popen:
        p = subprocess.Popen(self._nsenter(self.wl_ns, argv), preexec_fn=self._preexec(join_cgroup), **kw)
        self.procs.append(p)
        return p

    def wl_run(self, argv: list[str], join_cgroup: bool = True, timeout: float | None = None,
               **kw) -> subprocess.CompletedProcess:
        return subprocess.run(self._nsenter(self.wl_ns, argv), preexec_fn=self._preexec(join_cgroup),
                              timeout=timeout, **kw)

    def res_popen(self, argv: list[str], **kw) -> subprocess.Popen:
        p = subprocess.Popen(self._nsenter(self.res_ns, argv), preexec_fn=self._preexec(False), **kw)
        self.procs.append(p)
        return p

    def stop(self, p: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 5) -> int:
        if p.poll() is None:
            os.killpg(p.pid, sig)
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        if p in self.procs:
            self.procs.remove(p)
        return p.returncode

    def cgroup_id(self) -> int:
        return os.stat(self.cgroup).st_ino

    def datafile(self, n: int = N_QUERY_NAMES) -> str:
        """dnsperf's query file (written once: a running dnsperf rereads it at EOF)."""
        path = os.path.join(self.workdir, f"queries-{n}.txt")
        if os.path.exists(path):
            return path
        with open(path + ".tmp", "w") as f:
            for i in range(n):
                f.write(f"n{i}.{ZONE.rstrip('.')} A\n")
        os.rename(path + ".tmp", path)
        return path
