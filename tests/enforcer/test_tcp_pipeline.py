"""DNS over TCP through the enforcer under pipelining: every answer arrives, learning goes on.

Regression test of the TCP collapse (bench: 0.06x the qps without the enforcer, 200 queries
lost at max load). With a stream parser attached to the sockhash, kernel 6.18 left received
responses in the socket, unread, until the next segment arrived: a pipelined client waited
for answers TCP had already received, and the last answers of a burst never came. The test
keeps WINDOW queries outstanding on ONE connection (as dnsperf does), N in all, and
requires every answer within a deadline far above the time it takes (well under a second
here without and with the enforcer), then checks that the kernel learned from the
pipelined answers (connections to the allowed names' addresses go through, the denied
name's address stays dropped) and that TCP framing never broke. A behaviour test, not a
benchmark: no throughput threshold.

Framing state is per socket: a connection that ends in the middle of a response leaves
state behind (the map is keyed by the 4-tuple); a new connection on the same 4-tuple must
be framed from its first byte, not as the rest of the old message.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from lab import FORGER4, RESOLVER4

pytestmark = pytest.mark.root

PY = sys.executable
N, WINDOW, DEADLINE_S = 2000, 100, 15.0

# runs in the workload netns and cgroup; prints one JSON line
CLIENT = r"""
import json, select, socket, struct, sys, time
server, n, window, deadline = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
names = ["a.test", "alias.test", "long.test", "www.pat.test", "denied.test"]

def query(i):
    wire = b"".join(bytes([len(l)]) + l.encode() for l in names[i % len(names)].split(".")) + b"\0"
    m = struct.pack("!HHHHHH", i & 0xffff, 0x0100, 1, 0, 0, 0) + wire + struct.pack("!HH", 1, 1)
    return struct.pack("!H", len(m)) + m

s = socket.create_connection((server, 53), timeout=5)
s.setblocking(False)
sent = got = 0
buf = b""
rcodes, ids = {}, set()
t0 = time.monotonic()
while got < n and time.monotonic() - t0 < deadline:
    if sent < n and sent - got < window:
        k = min(window - (sent - got), n - sent)
        s.sendall(b"".join(query(sent + j) for j in range(k)))
        sent += k
    if not select.select([s], [], [], 0.2)[0]:
        continue
    data = s.recv(65536)
    if not data:
        break
    buf += data
    while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
        ln = struct.unpack("!H", buf[:2])[0]
        msg, buf = buf[2:2 + ln], buf[2 + ln:]
        ids.add(struct.unpack("!H", msg[:2])[0])
        rc = msg[3] & 0xF
        rcodes[rc] = rcodes.get(rc, 0) + 1
        got += 1
print(json.dumps({"sent": sent, "got": got, "distinct_ids": len(ids), "rcodes": rcodes,
                  "seconds": round(time.monotonic() - t0, 3)}))
"""


def test_pipelined_tcp_queries_all_answered_and_learned(lab, agent):
    agent.start()
    assert not lab.connect("10.77.1.1")
    r = lab.run([PY, "-c", CLIENT, "10.77.0.1", str(N), str(WINDOW), str(DEADLINE_S)],
                timeout=DEADLINE_S + 20)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res["sent"] == N and res["got"] == N, \
        f"pipelined TCP answers missing after {res['seconds']} s (deadline {DEADLINE_S} s): {res}"
    assert res["distinct_ids"] == N and res["rcodes"] == {"0": N}, res
    # learned from answers that arrived pipelined (several per segment, some split)
    assert lab.connect("10.77.1.1"), "a.test / long.test not learned over pipelined TCP"
    assert lab.connect("10.77.1.3"), "alias.test / www.pat.test not learned over pipelined TCP"
    assert not lab.connect("10.77.1.2"), "denied.test must stay denied"
    counters = agent.status()["counters"]
    assert counters.get("FQK_TCP_FRAMING", 0) == 0, counters
    assert counters.get("FQK_LEARNED", 0) > 0, counters


# a TCP "resolver" on FORGER4:53 (listed as a resolver by this test's policy): the first
# connection gets 8 bytes of its answer and a close, every later one the whole answer
# (a.test A 10.77.1.4, an address no name in the lab zone allowed by the policy has)
HALF_SERVER = r"""
import socket, struct, sys, dns.message, dns.rrset
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((sys.argv[1], 53)); srv.listen(8)
print("ready", flush=True)
n = 0
while True:
    c, _ = srv.accept()
    buf = b""
    while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
        d = c.recv(4096)
        if not d:
            break
        buf += d
    q = dns.message.from_wire(buf[2:])
    r = dns.message.make_response(q)
    r.answer.append(dns.rrset.from_text(q.question[0].name, 30, "IN", "A", "10.77.1.4"))
    w = r.to_wire()
    w = struct.pack("!H", len(w)) + w
    c.sendall(w[:8] if n == 0 else w)
    n += 1
    c.close()
"""

REUSE_CLIENT = r"""
import socket, struct, sys, time, dns.message
server, port = sys.argv[1], int(sys.argv[2])
def ask():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("10.77.0.2", port))
    s.settimeout(3)
    s.connect((server, 53))
    q = dns.message.make_query("a.test", "A").to_wire()
    s.sendall(struct.pack("!H", len(q)) + q)
    buf = b""
    while True:
        d = s.recv(4096)
        if not d:
            break
        buf += d
    s.close()
    return buf
first = ask()
time.sleep(0.3)
second = ask()
print(len(first), dns.message.from_wire(second[2:]).answer[0][0])
"""


def test_tcp_framing_state_does_not_leak_into_a_reused_4tuple(lab, agent):
    agent.policy.write_text(f"""resolvers: ["{RESOLVER4}:53", "{FORGER4}:53"]
min_ttl: 0
names:
  - a.test
""")
    srv = subprocess.Popen([*lab.nsexec(lab.res), PY, "-c", HALF_SERVER, FORGER4],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lab.procs.append(srv)   # killed by the lab's clean-up, also on failure
    assert srv.stdout.readline().strip() == "ready", srv.stderr.read() if srv.poll() is not None else ""
    agent.start()
    assert not lab.connect("10.77.1.4")
    port = 40000 + int(time.time()) % 20000
    r = lab.run([PY, "-c", REUSE_CLIENT, FORGER4, str(port)], timeout=20)
    assert r.returncode == 0, r.stderr
    first_len, answer = r.stdout.split()
    assert first_len == "8" and answer == "10.77.1.4", r.stdout
    # the second connection's answer was framed from its own first byte and learned
    assert lab.connect("10.77.1.4"), "answer on a reused 4-tuple not learned (stale framing state)"
    assert agent.status()["counters"].get("FQK_TCP_FRAMING", 0) == 0
