"""Helpers of the fault and abuse tests (tests/faults/): probes run inside a Topology.

Contract:
  - `connect_ok(topo, ip, timeout)` : one TCP connect from the workload netns+cgroup to
    ip:80 (the race listener accepts on TARGET_NET), True if established in time.
  - `connect_loop(topo, ips, seconds)` : a background prober connecting to `ips` in a
    loop for `seconds`; `.result()` returns {"ok", "failed", "failures": [...]}.
  - `resolve(topo, name, server, tcp)` : dig +short from the workload; the addresses.
  - `Forger(topo)` : a raw IPv4 socket in the resolver netns that sends UDP datagrams
    with any source address and port (forged DNS responses), and `Asker`, a process in the
    workload netns+cgroup holding a UDP socket that sends DNS queries on demand and
    reports its port, so a forged response can target an outstanding query.
Everything runs through the topology, so it is stopped and removed with it.
"""
from __future__ import annotations

import json
import select
import socket
import struct
import subprocess
import sys
import time

from toolkit.model import FqdnkitError

_CONNECT = r"""
import socket, sys, time, json
ips = json.loads(sys.argv[1]); seconds = float(sys.argv[2]); timeout = float(sys.argv[3])
ok = failed = 0; failures = []
end = time.monotonic() + seconds
while True:
    for ip in ips:
        s = socket.socket(); s.settimeout(timeout)
        t0 = time.monotonic()
        try:
            s.connect((ip, 80)); ok += 1
        except OSError as e:
            failed += 1; failures.append([ip, round(time.monotonic() - t0, 3), str(e)])
        finally:
            s.close()
    if time.monotonic() >= end:
        break
    time.sleep(0.01)
print(json.dumps({"ok": ok, "failed": failed, "failures": failures[:20]}))
"""


def connect_ok(topo, ip: str, timeout: float = 0.5) -> bool:
    r = topo.wl_run([sys.executable, "-c", _CONNECT, json.dumps([ip]), "0", str(timeout)],
                    capture_output=True, text=True, timeout=timeout + 20)
    if r.returncode != 0:
        raise FqdnkitError(f"connect probe failed: {r.stderr[-400:]}")
    return json.loads(r.stdout)["ok"] == 1


class ConnectLoop:
    def __init__(self, topo, ips: list[str], seconds: float, timeout: float = 0.5):
        self.p = topo.wl_popen([sys.executable, "-c", _CONNECT, json.dumps(ips), str(seconds), str(timeout)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.seconds = seconds

    def result(self) -> dict:
        out, err = self.p.communicate(timeout=self.seconds + 60)
        if self.p.returncode != 0:
            raise FqdnkitError(f"connect loop failed: {err[-400:]}")
        return json.loads(out)


def resolve(topo, name: str, server: str, tcp: bool = False) -> list[str]:
    argv = ["dig", "+short", "+time=1", "+tries=2", "@" + server, name, "A"]
    if tcp:
        argv.insert(1, "+tcp")
    r = topo.wl_run(argv, capture_output=True, text=True, timeout=15)
    return [x for x in r.stdout.split() if x and x[0].isdigit()]


# --- forged responses ----------------------------------------------------------------
def _csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def udp_datagram(src: str, sport: int, dst: str, dport: int, payload: bytes) -> bytes:
    sa, da = socket.inet_aton(src), socket.inet_aton(dst)
    ulen = 8 + len(payload)
    pseudo = sa + da + struct.pack("!BBH", 0, socket.IPPROTO_UDP, ulen)
    udp = struct.pack("!HHHH", sport, dport, ulen, 0) + payload
    c = _csum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, 0, 0x4000, 64, socket.IPPROTO_UDP, 0, sa, da)
    ip = ip[:10] + struct.pack("!H", _csum(ip)) + ip[12:]
    return ip + udp


_FORGER = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
print("ready", flush=True)
for line in sys.stdin:
    dst, hexpkt = line.split()
    s.sendto(bytes.fromhex(hexpkt), (dst, 0))
    print("sent", flush=True)
"""

_ASKER = r"""
import socket, sys, select
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 0))
print(s.getsockname()[1], flush=True)
for line in sys.stdin:
    cmd, *rest = line.split()
    if cmd == "ask":
        server, hexq = rest
        s.sendto(bytes.fromhex(hexq), (server, 53))
        print("asked", flush=True)
    elif cmd == "drain":
        n = 0
        while select.select([s], [], [], 0.3)[0]:
            s.recv(4096); n += 1
        print(n, flush=True)
"""


class _Line:
    def __init__(self, p: subprocess.Popen, what: str):
        self.p, self.what = p, what

    def readline(self, timeout: float = 10) -> str:
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        if not r:
            raise FqdnkitError(f"{self.what}: no answer within {timeout}s")
        line = self.p.stdout.readline().strip()
        if not line:
            raise FqdnkitError(f"{self.what} exited: {self.p.stderr.read()[-400:]}")
        return line

    def send(self, line: str) -> str:
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        return self.readline()


class Forger(_Line):
    def __init__(self, topo):
        super().__init__(topo.res_popen([sys.executable, "-c", _FORGER], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True), "forger")
        if self.readline() != "ready":
            raise FqdnkitError("forger did not start")

    def send_udp(self, src: str, sport: int, dst: str, dport: int, payload: bytes) -> None:
        self.send(f"{dst} {udp_datagram(src, sport, dst, dport, payload).hex()}")
        time.sleep(0.05)


class Asker(_Line):
    def __init__(self, topo):
        super().__init__(topo.wl_popen([sys.executable, "-c", _ASKER], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True), "asker")
        self.port = int(self.readline())

    def ask(self, server: str, query: bytes) -> None:
        self.send(f"ask {server} {query.hex()}")
        time.sleep(0.05)

    def drain(self) -> int:
        return int(self.send("drain"))

