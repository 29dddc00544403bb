"""End to end: unbound in one netns, the workload in another netns and its own cgroup,
the enforcer attached to that cgroup. Real packets, real verifier, no mocks."""
from __future__ import annotations

import sys
import time

import pytest

from lab import FORGER4, RESOLVER4

pytestmark = pytest.mark.root

PY = sys.executable


def counters(agent) -> dict:
    return agent.status()["counters"]


def test_udp_learning_enforces_names_cnames_and_patterns(lab, agent):
    agent.start()
    assert not lab.connect("10.77.1.1"), "allowed before any DNS answer"
    assert lab.dig("a.test") == ["10.77.1.1"]
    assert lab.connect("10.77.1.1")
    # the resolver answers a denied name, but its IP is not learned
    assert lab.dig("denied.test") == ["10.77.1.2"]
    assert not lab.connect("10.77.1.2")
    # alias.test -> chain.test -> target.test: the IP is credited to the question name
    assert lab.dig("alias.test")[-1] == "10.77.1.3"
    assert lab.connect("10.77.1.3")
    # *.pat.test matches one label only: x.y.pat.test (10.77.1.2) is not allowed
    assert lab.dig("x.y.pat.test") == ["10.77.1.2"]
    assert not lab.connect("10.77.1.2")
    c = counters(agent)
    assert c["FQK_NAME_NOT_ALLOWED"] >= 2 and c["FQK_LEARNED"] >= 2
    assert c["FQK_DROP_NOT_LEARNED"] >= 3


def test_tcp_dns_and_ipv6(lab, agent):
    agent.start()
    # UDP over IPv6 to the resolver's v6 address
    assert not lab.connect("10.77.1.1")
    assert lab.dig("a.test", server="fd77::1") == ["10.77.1.1"]
    assert lab.connect("10.77.1.1")
    assert lab.dig("a.test", "AAAA", tcp=True) == ["fd77:1::1"]
    assert lab.connect("fd77:1::1")
    assert lab.dig("denied.test", "AAAA", tcp=True) == ["fd77:1::2"]
    assert not lab.connect("fd77:1::2")
    # Python sockets: two queries written in ONE segment (coalesced) over TCP, via IPv6
    code = f"""
import socket, struct, dns.message
qs = [dns.message.make_query(n, "A").to_wire() for n in ("long.test", "target.test")]
s = socket.create_connection(("fd77::1", 53), timeout=3)
s.sendall(b"".join(struct.pack("!H", len(q)) + q for q in qs))
buf = b""
got = 0
while got < 2:
    while len(buf) < 2: buf += s.recv(4096)
    n = struct.unpack("!H", buf[:2])[0]
    while len(buf) < 2 + n: buf += s.recv(4096)
    print(dns.message.from_wire(buf[2:2 + n]).answer[0][0])
    buf = buf[2 + n:]; got += 1
"""
    r = lab.run([PY, "-c", code])
    assert r.stdout.split() == ["10.77.1.1", "10.77.1.3"], r.stderr
    assert lab.connect("10.77.1.1")
    assert not lab.connect("10.77.1.3"), "target.test itself is not allowed"


def test_python_udp_query_and_ttl_expiry(lab, agent):
    agent.start()
    code = """
import dns.message, dns.query
r = dns.query.udp(dns.message.make_query("a.test", "A"), "10.77.0.1", timeout=3)
print(r.answer[0][0], r.answer[0].ttl)
"""
    r = lab.run([PY, "-c", code])
    assert r.stdout.split()[0] == "10.77.1.1", r.stderr
    assert lab.connect("10.77.1.1")
    ips = {x["ip"]: x for x in agent.status()["ips"]}
    assert 0 < ips["10.77.1.1"]["ttl_left"] <= 3 and ips["10.77.1.1"]["name"] == "a.test."
    time.sleep(3.3)
    assert not lab.connect("10.77.1.1"), "still allowed after the TTL expired"
    assert counters(agent)["FQK_DROP_EXPIRED"] >= 1


def test_min_ttl_and_per_name_cap(lab, agent):
    agent.policy.write_text(agent.policy.read_text().replace("min_ttl: 0", "min_ttl: 10")
                            .replace("names:\n", "names:\n  - many.test\n") + "per_name_cap: 2\n")
    agent.start()
    # a.test has TTL 3: min_ttl 10 keeps it allowed after 3 s
    assert lab.dig("a.test") == ["10.77.1.1"]
    time.sleep(3.3)
    assert lab.connect("10.77.1.1")
    # many.test has 3 addresses; the cap keeps 2 for the name, the third is evicted
    three = ["10.77.1.2", "10.77.1.3", "10.77.1.4"]
    assert sorted(lab.dig("many.test")) == three
    st = agent.status()
    kept = {x["ip"] for x in st["ips"] if x["name"] == "many.test." and not x["expired"]}
    assert len(kept) == 2 and kept <= set(three), st["ips"]
    assert st["counters"]["FQK_LEARN_EVICTED"] >= 1
    assert {ip for ip in three if lab.connect(ip)} == kept


def test_forged_responses_learn_nothing(lab, agent):
    agent.start()
    # 1. unsolicited response from a non-resolver address to the workload's socket
    # 2. the workload sends itself a forged response over loopback
    # 3. a response from the resolver's address but another port, racing a real query
    wl = f"""
import socket, time, dns.message, dns.rrset
s = socket.socket(); u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("0.0.0.0", 40000))
q = dns.message.make_query("long.test", "A"); q.id = 0x1234
r = dns.message.make_response(q)
r.answer.append(dns.rrset.from_text("long.test.", 300, "IN", "A", "10.77.1.2"))
f = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); f.bind(("127.0.0.1", 53))
f.sendto(r.to_wire(), ("127.0.0.1", 40000))
time.sleep(0.3)
u.sendto(q.to_wire(), ("{RESOLVER4}", 53))
u.settimeout(2)
for _ in range(300):
    try:
        data, src = u.recvfrom(4096)
    except socket.timeout:
        break
    if src == ("{RESOLVER4}", 53):
        print("real", dns.message.from_wire(data).answer[0][0])
        break
"""
    forger = f"""
import socket, time, dns.message, dns.rrset
q = dns.message.make_query("long.test", "A"); q.id = 0x1234
r = dns.message.make_response(q)
r.answer.append(dns.rrset.from_text("long.test.", 300, "IN", "A", "10.77.1.2"))
a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.bind(("{FORGER4}", 53))
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); b.bind(("{RESOLVER4}", 5353))
end = time.time() + 1.5
while time.time() < end:
    a.sendto(r.to_wire(), ("10.77.0.2", 40000)); b.sendto(r.to_wire(), ("10.77.0.2", 40000))
    time.sleep(0.005)
"""
    import subprocess
    fp = subprocess.Popen([*lab.nsexec(lab.res), PY, "-c", forger])
    lab.procs.append(fp)
    r = lab.run([PY, "-c", wl])
    fp.wait(timeout=10)
    assert "real 10.77.1.1" in r.stdout, r.stderr
    assert lab.connect("10.77.1.1")          # the real answer was learned
    assert not lab.connect("10.77.1.2")      # none of the forged ones
    c = counters(agent)
    assert c["FQK_SPOOF_NO_QUERY"] >= 3


def test_agent_sigkill_keeps_enforcing_and_restart_adopts(lab, agent):
    assert "loaded" in agent.start()
    assert lab.dig("long.test") == ["10.77.1.1"]
    agent.kill()
    # no agent: DNS (UDP and TCP) and learning go on, denied stays denied
    assert lab.connect("10.77.1.1")
    assert lab.dig("alias.test", tcp=True)[-1] == "10.77.1.3"
    assert lab.connect("10.77.1.3")
    assert lab.dig("denied.test") == ["10.77.1.2"]
    assert not lab.connect("10.77.1.2")
    # restart: pins adopted, nothing re-attached, learned state kept
    first = agent.start()
    assert "adopted" in first and "nothing new" in first, first
    assert lab.connect("10.77.1.1") and lab.connect("10.77.1.3")
    assert not lab.connect("10.77.1.2")


def test_policy_update_is_applied_and_bad_policy_keeps_old(lab, agent):
    agent.start()
    assert lab.dig("long.test") == ["10.77.1.1"]
    assert lab.connect("10.77.1.1")
    gen = agent.status()["workloads"][0]["generation"]
    # bad update: error naming the line, old policy stays in force
    agent.policy.write_text(agent.policy.read_text() + "  - matchPattern: \"a..b\"\n")
    line = agent.wait_output("policy not applied")
    assert "policy.yaml:8" in line and "empty label" in line
    assert agent.status()["workloads"][0]["generation"] == gen
    assert lab.connect("10.77.1.1")
    # good update without long.test: its learned IP is revoked at once
    agent.policy.write_text(agent.policy.read_text().replace("  - long.test\n", "")
                            .replace("  - matchPattern: \"a..b\"\n", ""))
    agent.wait_output("policy reloaded")
    assert agent.status()["workloads"][0]["generation"] == gen + 1
    assert not lab.connect("10.77.1.1")
    assert lab.dig("long.test") == ["10.77.1.1"]
    assert not lab.connect("10.77.1.1")


def test_audit_mode_counts_but_does_not_drop(lab, agent):
    agent.policy.write_text(agent.policy.read_text() + "audit: true\n")
    agent.start()
    assert lab.connect("10.77.1.2")
    assert counters(agent)["FQK_DROP_NOT_LEARNED"] >= 1


def test_detach_removes_everything(lab, agent):
    import os
    agent.start()
    agent.kill()
    assert not lab.connect("10.77.1.2")
    r = agent.cli("--detach")
    assert r.returncode == 0 and "removed" in r.stdout
    assert not os.path.exists(agent.pin_dir)
    assert lab.connect("10.77.1.2"), "links must be gone with the pins"


def test_policy_swaps_and_restarts_leave_no_gap(lab, agent):
    """Connections to an allowed name go on while the policy is swapped repeatedly and
    the agent is killed and restarted: the swap is one map update, adoption detaches
    nothing."""
    import subprocess
    agent.start()
    assert lab.dig("long.test") == ["10.77.1.1"]
    loop = ("import socket, time\n"
            "ok = bad = 0\n"
            "end = time.time() + 4\n"
            "while time.time() < end:\n"
            "    s = socket.socket(); s.settimeout(0.5)\n"
            "    try:\n"
            "        s.connect(('10.77.1.1', 8080)); s.recv(3); ok += 1\n"
            "    except OSError:\n"
            "        bad += 1\n"
            "    s.close(); time.sleep(0.005)\n"
            "print(ok, bad)\n")
    bg = subprocess.Popen(lab.wl_argv([PY, "-c", loop]), stdout=subprocess.PIPE, text=True)
    lab.procs.append(bg)
    base = agent.policy.read_text()
    for i in range(4):
        extra = "" if i % 2 else "  - matchName: extra.test\n"
        agent.policy.write_text(base.replace("names:\n", "names:\n" + extra))
        agent.wait_output("policy reloaded")
    agent.kill()
    assert "adopted" in agent.start()
    ok, bad = map(int, bg.communicate(timeout=15)[0].split())
    assert ok > 20 and bad == 0, (ok, bad)


def test_cilium_network_policy_as_is(lab, agent):
    agent.policy.write_text("""apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: fqdn-e2e
spec:
  endpointSelector:
    matchLabels: {app: workload}
  egress:
  - toCIDR: ["10.77.0.1/32"]
    toPorts:
    - ports: [{port: "53", protocol: ANY}]
      rules:
        dns: [{matchPattern: "*"}]
  - toFQDNs:
    - matchName: "long.test"
    - matchPattern: "*.pat.test"
""")
    agent.start()
    assert lab.dig("long.test") == ["10.77.1.1"]
    assert lab.connect("10.77.1.1")
    assert lab.dig("www.pat.test") == ["10.77.1.3"]
    assert lab.connect("10.77.1.3")
    assert lab.dig("denied.test") == ["10.77.1.2"]
    assert not lab.connect("10.77.1.2")
