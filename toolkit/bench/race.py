"""First-connection race: is the first TCP connection after an answer let through?

Contract: `measure(topo, dp, n, start)` resolves `n` fresh names r<start..start+n>.bench.test
(each asked once, never before, so nothing is learned in advance) from inside the workload
netns and cgroup, over UDP to the configuration's DNS server, and opens a TCP connection to
the answer's address immediately after the answer arrives (the client reads the address
straight from the last 4 bytes of the answer, no library parsing, to be as quick as an
application can be). Each connection's SYN is sent by a non-blocking connect() right
then; the client then moves to the next name and finally waits for all of them. A
connection established within FIRST_SYN_WINDOW_S of its connect() went through on its
first SYN; a later one needed a retransmission (the first SYN was dropped: the race), and
one that never connects within WAIT_S was dropped for good. Control: CONTROL_N
connections to addresses of never-resolved names must all fail (the data plane really
drops). Returns counts and the dropped share. A TCP listener on 0.0.0.0:80 in the resolver
netns accepts every connection to TARGET_NET (topology's local route).

`python -m toolkit.bench.race client|listen ...` are the two helper processes.
"""
from __future__ import annotations

import json
import select
import socket
import struct
import sys
import time

FIRST_SYN_WINDOW_S = 0.5    # the first SYN retransmission comes after 1 s
WAIT_S = 3.5
CONTROL_N = 5


def _query(qid: int, name: str) -> bytes:
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack("!HH", 1, 1)


def _reap(ep, pending: dict, res: dict, timeout: float) -> None:
    for fd, _ev in ep.poll(timeout):
        s, t0 = pending.pop(fd)
        ep.unregister(fd)
        e = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        dt = time.monotonic() - t0
        if e == 0:
            res["connect_ms"].append(round(dt * 1e3, 3))
            res["first_syn_ok" if dt < FIRST_SYN_WINDOW_S else "retransmitted"] += 1
        else:
            res["refused"] += 1
        s.close()


def client(server: str, names: list[str], control: list[str]) -> dict:
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.settimeout(2.0)
    udp.connect((server, 53))
    ep = select.epoll()
    pending = {}
    res = {"resolved": 0, "dns_failed": 0, "first_syn_ok": 0, "retransmitted": 0, "never": 0,
           "refused": 0, "connect_ms": []}
    for i, name in enumerate(names):
        try:
            udp.send(_query(i & 0xFFFF, name))
            ans = udp.recv(1500)
        except (socket.timeout, OSError):
            res["dns_failed"] += 1
            continue
        t_ans = time.monotonic()
        if len(ans) < 16 or ans[3] & 0x0F != 0 or struct.unpack("!H", ans[6:8])[0] == 0:
            res["dns_failed"] += 1
            continue
        ip = socket.inet_ntoa(ans[-4:])
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        err = s.connect_ex((ip, 80))
        res["resolved"] += 1
        if err not in (0, 115):     # EINPROGRESS; EPERM when the cgroup program drops the SYN
            res.setdefault("connect_errno", {}).setdefault(str(err), 0)
            res["connect_errno"][str(err)] += 1
        pending[s.fileno()] = (s, t_ans)
        ep.register(s.fileno(), select.EPOLLOUT)
        _reap(ep, pending, res, 0)     # completion times stay exact while resolving on
    ctl_socks = []
    for name in control:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex((name, 80))
        ctl_socks.append(s)
    deadline = time.monotonic() + WAIT_S
    while pending and time.monotonic() < deadline:
        _reap(ep, pending, res, 0.05)
    res["never"] += len(pending)
    for s, _t in pending.values():
        s.close()
    ctl_ok = 0
    for s in ctl_socks:
        if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
            try:
                s.getpeername()
                ctl_ok += 1
            except OSError:
                pass
        s.close()
    res["control_connected"] = ctl_ok
    res["control_total"] = len(ctl_socks)
    return res


def listen() -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", 80))
    s.listen(4096)
    print("ready", flush=True)
    while True:
        c, _ = s.accept()
        c.close()


def start_listener(topo):
    """The accepting side; returns its Popen (the topology stops it)."""
    import subprocess
    from toolkit.build import REPO_ROOT
    from toolkit.model import FqdnkitError
    p = topo.res_popen([sys.executable, "-m", "toolkit.bench.race", "listen"],
                       stdout=subprocess.PIPE, cwd=str(REPO_ROOT))
    r, _, _ = select.select([p.stdout], [], [], 10)
    if not r or p.stdout.readline().strip() != b"ready":
        raise FqdnkitError("race listener did not start")
    return p


def measure(topo, dp, n: int, start: int) -> dict:
    import subprocess
    from toolkit.build import REPO_ROOT
    from toolkit.model import FqdnkitError
    from .topology import ZONE
    names = [f"r{i}.{ZONE.rstrip('.')}" for i in range(start, start + n)]
    control = [f"10.77.250.{i + 1}" for i in range(CONTROL_N)]
    r = topo.wl_run([sys.executable, "-m", "toolkit.bench.race", "client", dp.server,
                     json.dumps(names), json.dumps(control)],
                    capture_output=True, text=True, timeout=n * 0.1 + 60, cwd=str(REPO_ROOT))
    if r.returncode != 0:
        raise FqdnkitError(f"race client failed: {r.stderr.strip()[-800:]}")
    res = json.loads(r.stdout)
    dropped = res["retransmitted"] + res["never"] + res["refused"]
    res["names"] = n
    res["first_connection_dropped"] = dropped
    res["dropped_share"] = dropped / res["resolved"] if res["resolved"] else None
    ms = sorted(res.pop("connect_ms"))
    res["connect_ms_p50"] = ms[len(ms) // 2] if ms else None
    res["connect_ms_max"] = ms[-1] if ms else None
    return res


def main(argv: list[str]) -> int:
    if argv[:1] == ["listen"]:
        listen()
        return 0
    if argv[:1] == ["client"] and len(argv) == 4:
        print(json.dumps(client(argv[1], json.loads(argv[2]), json.loads(argv[3]))))
        return 0
    print("usage: python -m toolkit.bench.race listen | client SERVER NAMES_JSON CONTROL_JSON",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
