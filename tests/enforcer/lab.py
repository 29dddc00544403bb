"""A throw-away network lab for the enforcer's end-to-end tests.

Contract: `Lab()` (a context manager) creates, and on exit removes even after failures:
  - netns <prefix>-res (resolver side) and <prefix>-wl (workload side) joined by a veth
    pair: 10.77.0.1/24 + fd77::1/64 (resolver), 10.77.0.2/24 + fd77::2/64 (workload);
    the resolver side also holds the "servers" 10.77.1.1 to 10.77.1.4 and
    fd77:1::1, fd77:1::2 (workload routes 10.77.1.0/24 and fd77:1::/64 via the veth);
  - unbound on 10.77.0.1:53 and [fd77::1]:53 serving the local zone ZONE;
  - a TCP listener on port 8080 of every server address (answers b"ok\\n");
  - a cgroup v2 directory for the workload.
`lab.run(argv)` runs a command in the workload netns AND cgroup; `lab.connect(ip)` tries
a TCP connection from the workload (True when "ok" came back). With `cgroup=False`
(run, dig, connect, wl_argv) the command runs in the workload netns only, outside the
cgroup (interface workloads, tests/enforcer/test_iface.py). The workload's veth is
WL_IFACE. Needs root.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

SERVERS4 = ["10.77.1.1", "10.77.1.2", "10.77.1.3", "10.77.1.4"]
SERVERS6 = ["fd77:1::1", "fd77:1::2"]
RESOLVER4, RESOLVER6 = "10.77.0.1", "fd77::1"
FORGER4 = "10.77.0.9"   # a non-resolver address on the resolver side
WL_IFACE = "fqkw0"      # the workload side of the veth pair (in the workload netns)

# the zone "test." served by unbound as an auth-zone (it follows CNAME chains in it);
# short TTLs on purpose (expiry tests)
ZONE = """$ORIGIN test.
@ 300 IN SOA ns.test. admin.test. 1 3600 600 86400 1
@ 300 IN NS ns.test.
ns 300 IN A 10.77.0.1
a 3 IN A 10.77.1.1
a 3 IN AAAA fd77:1::1
alias 30 IN CNAME chain.test.
chain 30 IN CNAME target.test.
target 30 IN A 10.77.1.3
denied 30 IN A 10.77.1.2
denied 30 IN AAAA fd77:1::2
long 300 IN A 10.77.1.1
www.pat 30 IN A 10.77.1.3
x.y.pat 30 IN A 10.77.1.2
many 30 IN A 10.77.1.2
many 30 IN A 10.77.1.3
many 30 IN A 10.77.1.4
"""

LISTENER = r'''
import socket, sys, threading
def serve(addr):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, 8080)); s.listen(64)
    while True:
        c, _ = s.accept()
        try:
            c.sendall(b"ok\n")
        finally:
            c.close()
for a in sys.argv[1:]:
    threading.Thread(target=serve, args=(a,), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
'''


def sh(*argv, check=True, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), check=check, capture_output=True, text=True, **kw)


def cgroup2_root() -> str:
    out = sh("findmnt", "-n", "-t", "cgroup2", "-o", "TARGET").stdout.split()
    assert out, "no cgroup v2 mount"
    return out[0]


class Lab:
    def __init__(self):
        tag = uuid.uuid4().hex[:6]
        self.res, self.wl = f"fqk{tag}r", f"fqk{tag}w"
        self.tmp = Path(tempfile.mkdtemp(prefix="fqk-lab-"))
        self.cgroup = os.path.join(cgroup2_root(), f"fqk-test-{tag}")
        self.procs: list[subprocess.Popen] = []

    # ---------------------------------------------------------------- set-up
    def __enter__(self) -> "Lab":
        try:
            self._setup()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def nsexec(self, ns: str) -> list[str]:
        return ["nsenter", f"--net=/run/netns/{ns}"]

    def _setup(self) -> None:
        sh("ip", "netns", "add", self.res)
        sh("ip", "netns", "add", self.wl)
        r, w = self.nsexec(self.res), self.nsexec(self.wl)
        sh("ip", "link", "add", "fqkr0", "netns", self.res, "type", "veth", "peer", "name", "fqkw0",
           "netns", self.wl)
        for ns in (r, w):
            sh(*ns, "ip", "link", "set", "lo", "up")
        sh(*r, "ip", "addr", "add", "10.77.0.1/24", "dev", "fqkr0")
        sh(*r, "ip", "addr", "add", f"{FORGER4}/24", "dev", "fqkr0")
        sh(*r, "ip", "-6", "addr", "add", "fd77::1/64", "dev", "fqkr0", "nodad")
        for a in SERVERS4:
            sh(*r, "ip", "addr", "add", f"{a}/32", "dev", "lo")
        for a in SERVERS6:
            sh(*r, "ip", "-6", "addr", "add", f"{a}/128", "dev", "lo")
        sh(*r, "ip", "link", "set", "fqkr0", "up")
        sh(*w, "ip", "addr", "add", "10.77.0.2/24", "dev", "fqkw0")
        sh(*w, "ip", "-6", "addr", "add", "fd77::2/64", "dev", "fqkw0", "nodad")
        sh(*w, "ip", "link", "set", "fqkw0", "up")
        sh(*w, "ip", "route", "add", "10.77.1.0/24", "via", "10.77.0.1")
        sh(*w, "ip", "-6", "route", "add", "fd77:1::/64", "via", "fd77::1")
        os.mkdir(self.cgroup)
        self._start_unbound()
        self._start_listener()

    def _start_unbound(self) -> None:
        conf = self.tmp / "unbound.conf"
        conf.write_text("\n".join([
            "server:",
            "  interface: 10.77.0.1", "  interface: fd77::1", "  port: 53",
            "  do-daemonize: no", "  chroot: \"\"", "  username: \"\"", "  use-syslog: no",
            f"  pidfile: \"{self.tmp}/unbound.pid\"", f"  directory: \"{self.tmp}\"",
            "  logfile: \"\"", "  verbosity: 0", "  do-ip6: yes", "  do-tcp: yes",
            "  access-control: 0.0.0.0/0 allow", "  access-control: ::/0 allow",
            "  num-threads: 1", "  so-reuseport: no", "  module-config: \"iterator\"",
            "  local-zone: \"test.\" nodefault",
            "remote-control:", "  control-enable: no",
            "auth-zone:", "  name: \"test.\"", f"  zonefile: \"{self.tmp}/test.zone\"",
            "  for-downstream: yes", "  for-upstream: yes", "  fallback-enabled: no", ""]))
        (self.tmp / "test.zone").write_text(ZONE)
        p = subprocess.Popen([*self.nsexec(self.res), "unbound", "-d", "-c", str(conf)],
                             stdout=subprocess.DEVNULL, stderr=open(self.tmp / "unbound.log", "w"))
        self.procs.append(p)
        deadline = time.time() + 10
        while time.time() < deadline:
            if p.poll() is not None:
                raise RuntimeError("unbound exited: " + (self.tmp / "unbound.log").read_text())
            if sh(*self.nsexec(self.res), "dig", "+short", "+time=1", "+tries=1", "@10.77.0.1",
                  "long.test", check=False).stdout.strip():
                return
            time.sleep(0.1)
        raise RuntimeError("unbound did not answer: " + (self.tmp / "unbound.log").read_text())

    def _start_listener(self) -> None:
        script = self.tmp / "listener.py"
        script.write_text(LISTENER)
        p = subprocess.Popen([*self.nsexec(self.res), "python3", str(script), *SERVERS4, *SERVERS6],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.procs.append(p)
        assert p.stdout.readline().strip() == "ready"

    # ---------------------------------------------------------------- use
    def wl_argv(self, argv: list[str], cgroup: bool = True) -> list[str]:
        """argv run in the workload netns and (unless cgroup=False) cgroup."""
        if not cgroup:
            return [*self.nsexec(self.wl), *argv]
        inner = " ".join(_q(a) for a in argv)
        return ["sh", "-c", f"echo $$ > {self.cgroup}/cgroup.procs && exec "
                f"nsenter --net=/run/netns/{self.wl} {inner}"]

    def run(self, argv: list[str], timeout: float = 10, cgroup: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(self.wl_argv(argv, cgroup), capture_output=True, text=True,
                              timeout=timeout)

    def dig(self, name: str, qtype: str = "A", tcp: bool = False, server: str = RESOLVER4,
            cgroup: bool = True) -> list[str]:
        argv = ["dig", "+short", "+time=2", "+tries=1", f"@{server}", name, qtype]
        if tcp:
            argv.insert(1, "+tcp")
        return [x for x in self.run(argv, cgroup=cgroup).stdout.split() if x]

    def connect(self, ip: str, timeout: float = 0.7, cgroup: bool = True) -> bool:
        code = ("import socket,sys\n"
                f"fam = socket.AF_INET6 if ':' in {ip!r} else socket.AF_INET\n"
                "s = socket.socket(fam, socket.SOCK_STREAM)\n"
                f"s.settimeout({timeout})\n"
                "try:\n"
                f"    s.connect(({ip!r}, 8080)); print(s.recv(3).decode().strip())\n"
                "except OSError as e:\n"
                "    print('fail', e)\n")
        r = self.run(["python3", "-c", code], timeout=timeout + 5, cgroup=cgroup)
        return r.stdout.strip() == "ok"

    def res_run(self, argv: list[str], timeout: float = 10) -> subprocess.CompletedProcess:
        return subprocess.run([*self.nsexec(self.res), *argv], capture_output=True, text=True,
                              timeout=timeout)

    # ---------------------------------------------------------------- tear-down
    def close(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                p.wait(timeout=5)
        self.procs.clear()
        if os.path.isdir(self.cgroup):
            try:
                procs = Path(self.cgroup, "cgroup.procs").read_text().split()
            except OSError:
                procs = []
            for pid in procs:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    continue
            for _ in range(50):
                try:
                    os.rmdir(self.cgroup)
                    break
                except OSError:
                    time.sleep(0.05)
        for ns in (self.res, self.wl):
            sh("ip", "netns", "del", ns, check=False)
        shutil.rmtree(self.tmp, ignore_errors=True)


def _q(a: str) -> str:
    import shlex
    return shlex.quote(a)


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
