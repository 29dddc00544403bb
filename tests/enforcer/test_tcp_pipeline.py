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

Queries are recorded from the outgoing stream (sk_msg verdict, sk_msg.bpf.c), whatever
the writes look like: every pipelined query is recorded exactly once, so every answer
matches an outstanding query (FQK_SPOOF_NO_QUERY stays 0 for the workload's own traffic)
and every allowed name asked over pipelined TCP is learned. The same holds for a query
written in three sends and for several queries in one write; an answer to a query that
was never sent on the connection still teaches nothing.

Framing state is per socket: a connection that ends in the middle of a response leaves
state behind (the map is keyed by the 4-tuple); a new connection on the same 4-tuple must
be framed from its first byte, not as the rest of the old message.
"""
from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
import time

import pytest

from toolkit import libbpf
from toolkit.enforcer import maps

from lab import FORGER4, RESOLVER4, RESOLVER6

pytestmark = pytest.mark.root

PY = sys.executable
N, WINDOW, DEADLINE_S = 2000, 100, 15.0
ALLOWED = {"a.test", "alias.test", "long.test", "www.pat.test"}   # asked by CLIENT, allowed
# the fixture's policy with learned IPs kept 5 minutes (a.test's TTL is 3 s): a name
# learned at any point of the run is still listed by --status at the end
LONG_TTL_POLICY = f"""resolvers: ["{RESOLVER4}:53", "[{RESOLVER6}]:53"]
min_ttl: 300
names:
  - a.test
  - alias.test
  - long.test
  - matchPattern: "*.pat.test"
"""


def rx_states(agent) -> int:
    """Entries of fqk_tcp_state_map (rx framing state, one per live connection)."""
    fd = libbpf.obj_get(f"{agent.pin_dir}/maps/fqk_tcp_state_map")
    try:
        return len(list(libbpf.map_keys(fd, ctypes.sizeof(maps.Conn))))
    finally:
        os.close(fd)


def learned_names(agent) -> set[str]:
    """Names with at least one learned IP (fqk_names; --status lists one name per IP)."""
    fd = libbpf.obj_get(f"{agent.pin_dir}/maps/fqk_names")
    try:
        out = set()
        for k in libbpf.map_keys(fd, ctypes.sizeof(maps.NameKey)):
            v = libbpf.map_lookup(fd, k, ctypes.sizeof(maps.NameIps))
            if v is not None and maps.from_bytes(maps.NameIps, v).n:
                out.add(maps.from_bytes(maps.NameIps, v).name.text().rstrip("."))
        return out
    finally:
        os.close(fd)

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


def _start_fake_resolver(lab, agent, server_src: str) -> None:
    """A policy allowing a.test with FORGER4 as a second resolver, and a fake resolver
    (server_src, a Python program that prints "ready") listening there in the resolver's
    namespace; the lab's clean-up kills it, also on failure."""
    agent.policy.write_text(f"""resolvers: ["{RESOLVER4}:53", "{FORGER4}:53"]
min_ttl: 0
names:
  - a.test
""")
    srv = subprocess.Popen([*lab.nsexec(lab.res), PY, "-c", server_src, FORGER4],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lab.procs.append(srv)
    assert srv.stdout.readline().strip() == "ready", srv.stderr.read() if srv.poll() is not None else ""


def test_pipelined_tcp_queries_all_answered_and_learned(lab, agent):
    agent.policy.write_text(LONG_TTL_POLICY)
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
    # each pipelined query recorded exactly once, every answer matched one
    assert counters.get("FQK_QUERY_RECORDED", 0) == N, counters
    assert counters.get("FQK_SPOOF_NO_QUERY", 0) == 0, counters
    assert learned_names(agent) == ALLOWED, agent.status()["ips"]



# the start of a one-answer-per-connection fake TCP resolver on argv[1]:53 (a Python
# program; prints "ready" when listening): accept_query() -> (connection, query)
FAKE_RESOLVER_HEAD = r"""
import socket, struct, sys, dns.message, dns.rrset
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((sys.argv[1], 53)); srv.listen(8)
print("ready", flush=True)
def accept_query():
    c, _ = srv.accept()
    buf = b""
    while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
        d = c.recv(4096)
        if not d:
            break
        buf += d
    return c, dns.message.from_wire(buf[2:])
"""

# a TCP "resolver" on FORGER4:53 (listed as a resolver by this test's policy): the first
# connection gets 8 bytes of its answer and a close, every later one the whole answer
# (a.test A 10.77.1.4, an address no name in the lab zone allowed by the policy has)
HALF_SERVER = FAKE_RESOLVER_HEAD + r"""
n = 0
while True:
    c, q = accept_query()
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
    _start_fake_resolver(lab, agent, HALF_SERVER)
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


# one query written in three sends (prefix byte / rest of prefix + half the body / the
# rest), then four queries in one write, then a query whose write ends in the middle of
# the next one's prefix; TCP_NODELAY and pauses so that the pieces leave as separate
# segments. Prints the answers (name -> first address).
WRITES_CLIENT = r"""
import socket, struct, sys, time, dns.message
s = socket.create_connection((sys.argv[1], 53), timeout=5)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
def q(name, qtype="A", qid=0):
    w = dns.message.make_query(name, qtype, id=qid).to_wire()
    return struct.pack("!H", len(w)) + w
def send(*parts):
    for p in parts:
        s.sendall(p)
        time.sleep(0.05)
first = q("long.test", qid=1)
send(first[:1], first[1:9], first[9:])
send(q("alias.test", qid=2) + q("www.pat.test", qid=3) + q("a.test", qid=4) + q("a.test", "AAAA", qid=5))
last, tail = q("denied.test", qid=6), q("a.test", qid=7)
send(last + tail[:1], tail[1:])
buf, got = b"", {}
while len(got) < 7:
    d = s.recv(65536)
    if not d:
        break
    buf += d
    while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
        n = struct.unpack("!H", buf[:2])[0]
        m, buf = dns.message.from_wire(buf[2:2 + n]), buf[2 + n:]
        got[m.id] = str(m.answer[-1][0]) if m.answer else ""
print(" ".join(f"{k}={got[k]}" for k in sorted(got)))
"""


def test_tcp_queries_split_across_writes_and_coalesced_are_recorded(lab, agent):
    agent.policy.write_text(LONG_TTL_POLICY)
    agent.start()
    for ip in ("10.77.1.1", "10.77.1.3"):
        assert not lab.connect(ip)
    r = lab.run([PY, "-c", WRITES_CLIENT, RESOLVER4], timeout=20)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1=10.77.1.1", "2=10.77.1.3", "3=10.77.1.3", "4=10.77.1.1",
                                "5=fd77:1::1", "6=10.77.1.2", "7=10.77.1.1"], r.stdout
    counters = agent.status()["counters"]
    assert counters.get("FQK_QUERY_RECORDED", 0) == 7, counters
    assert counters.get("FQK_SPOOF_NO_QUERY", 0) == 0, counters
    assert counters.get("FQK_TCP_FRAMING", 0) == 0, counters
    assert learned_names(agent) == ALLOWED, agent.status()["ips"]
    # the client has closed its connection: sockops deleted its rx framing state
    deadline = time.time() + 3
    while rx_states(agent) and time.time() < deadline:
        time.sleep(0.1)
    assert rx_states(agent) == 0, "rx framing state outlived its connection"
    assert lab.connect("10.77.1.1"), "long.test (query in three writes) not learned"
    assert lab.connect("10.77.1.3"), "alias.test / www.pat.test (one write) not learned"
    assert not lab.connect("10.77.1.2"), "denied.test must stay denied"


# a TCP "resolver" on FORGER4:53 that answers each query with an unsolicited response
# first (id + 1, a.test A 10.77.1.4: a query the workload never sent) and then the real
# one (a.test A 10.77.1.3), both in one write
UNSOLICITED_SERVER = FAKE_RESOLVER_HEAD + r"""
def wire(q, qid, ip):
    r = dns.message.make_response(q)
    r.id = qid
    r.answer.append(dns.rrset.from_text(q.question[0].name, 30, "IN", "A", ip))
    w = r.to_wire()
    return struct.pack("!H", len(w)) + w
while True:
    c, q = accept_query()
    c.sendall(wire(q, (q.id + 1) & 0xffff, "10.77.1.4") + wire(q, q.id, "10.77.1.3"))
    c.close()
"""

ASK_CLIENT = r"""
import socket, struct, sys, dns.message
s = socket.create_connection((sys.argv[1], 53), timeout=5)
q = dns.message.make_query("a.test", "A", id=100).to_wire()
s.sendall(struct.pack("!H", len(q)) + q)
buf = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    buf += d
print(len(buf))
"""


def test_tcp_answer_to_a_query_never_sent_teaches_nothing(lab, agent):
    _start_fake_resolver(lab, agent, UNSOLICITED_SERVER)
    agent.start()
    r = lab.run([PY, "-c", ASK_CLIENT, FORGER4], timeout=20)
    assert r.returncode == 0, r.stderr
    assert int(r.stdout) > 60, r.stdout            # both responses arrived
    assert lab.connect("10.77.1.3"), "the answer to the query sent was not learned"
    assert not lab.connect("10.77.1.4"), "an answer to a query never sent taught an address"
    counters = agent.status()["counters"]
    assert counters.get("FQK_SPOOF_NO_QUERY", 0) == 1, counters
    assert counters.get("FQK_QUERY_RECORDED", 0) == 1, counters


# a TCP "resolver" on FORGER4:53 with a tiny receive buffer that reads nothing for a
# second, then answers every query (A 10.77.1.3) until the client goes quiet
SLOW_SERVER = r"""
import socket, struct, sys, time, dns.message, dns.rrset
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
srv.bind((sys.argv[1], 53)); srv.listen(8)
print("ready", flush=True)
c, _ = srv.accept()
time.sleep(1.0)
c.settimeout(3)
buf = b""
while True:
    try:
        d = c.recv(65536)
    except socket.timeout:
        break
    if not d:
        break
    buf += d
    out = b""
    while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
        n = struct.unpack("!H", buf[:2])[0]
        q, buf = dns.message.from_wire(buf[2:2 + n]), buf[2 + n:]
        r = dns.message.make_response(q)
        r.answer.append(dns.rrset.from_text(q.question[0].name, 30, "IN", "A", "10.77.1.3"))
        w = r.to_wire()
        out += struct.pack("!H", len(w)) + w
    c.sendall(out)
"""

# non-blocking, small send buffer, one query per send(), retried on EAGAIN (as dnsperf)
BACKPRESSURE_CLIENT = r"""
import select, socket, struct, sys, time, dns.message
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 2048)
s.connect((sys.argv[1], 53))
s.setblocking(False)
n, eagain = int(sys.argv[2]), 0
for i in range(n):
    w = dns.message.make_query("a.test", "A", id=i).to_wire()
    data, off = struct.pack("!H", len(w)) + w, 0
    while off < len(data):
        try:
            off += s.send(data[off:])
        except BlockingIOError:
            eagain += 1
            select.select([], [s], [], 1)
got, buf, t0 = 0, b"", time.time()
while got < n and time.time() - t0 < 10:
    if not select.select([s], [], [], 1)[0]:
        continue
    d = s.recv(65536)
    if not d:
        break
    buf += d
    while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
        buf, got = buf[2 + struct.unpack("!H", buf[:2])[0]:], got + 1
print(eagain, got)
"""


def test_tcp_queries_recorded_when_the_send_buffer_fills(lab, agent):
    n = 2000
    _start_fake_resolver(lab, agent, SLOW_SERVER)
    agent.start()
    r = lab.run([PY, "-c", BACKPRESSURE_CLIENT, FORGER4, str(n)], timeout=30)
    assert r.returncode == 0, r.stderr
    eagain, got = map(int, r.stdout.split())
    assert eagain > 0 and got == n, r.stdout     # the send buffer did fill
    counters = agent.status()["counters"]
    assert counters.get("FQK_QUERY_RECORDED", 0) == n, counters
    assert counters.get("FQK_SPOOF_NO_QUERY", 0) == 0, counters
    assert counters.get("FQK_TCP_FRAMING", 0) == 0, counters
    assert lab.connect("10.77.1.3")
