"""Forged DNS responses teach the enforcer nothing.

The workload asks 10.210.0.4:53, a resolver of its policy where nothing listens, so each
query stays outstanding; a raw socket in the resolver netns then sends responses with any
source. Each forgery targets one check (wrong source, unmatched id, a question never
asked, the answer only in the additional section); a final correct response from the
resolver address proves the forging path itself works (else the test would prove
nothing). Learned = listed by `fqdnkit enforce --status` and reachable by TCP.
"""
from __future__ import annotations

import dns.message
import dns.rrset
import pytest

from toolkit.bench import enforcer_glue
from toolkit.bench.faults import Asker, Forger, connect_ok
from toolkit.bench.topology import PROXY_IP, SILENT_RESOLVER_IP, WL_IP

pytestmark = [pytest.mark.root, pytest.mark.slow]


def _query(name: str, qid: int) -> dns.message.Message:
    q = dns.message.make_query(name, "A")
    q.id = qid
    return q


def _answer(q: dns.message.Message, ip: str, section: str = "answer", qname: str | None = None,
            qid: int | None = None) -> bytes:
    if qname is not None:
        q2 = dns.message.make_query(qname, "A")
        q2.id = q.id
        q = q2
    r = dns.message.make_response(q)
    if qid is not None:
        r.id = qid
    getattr(r, section).append(dns.rrset.from_text(q.question[0].name, 300, "IN", "A", ip))
    return r.to_wire()


def _learned_ips(pins: str) -> set[str]:
    return {x["ip"] for x in enforcer_glue.status(pins)["ips"]}


def test_forged_responses_teach_nothing(topo, enforcer):
    race_listener(topo)
    forger, asker = Forger(topo), Asker(topo)
    cases = [
        # (label, question asked, forged source, forged payload builder, forged IP)
        ("wrong source", "f1.bench.test", PROXY_IP, lambda q: _answer(q, "10.77.200.1"), "10.77.200.1"),
        ("unmatched id", "f2.bench.test", SILENT_RESOLVER_IP,
         lambda q: _answer(q, "10.77.200.2", qid=(q.id + 1) & 0xFFFF), "10.77.200.2"),
        ("name never asked", "f3.bench.test", SILENT_RESOLVER_IP,
         lambda q: _answer(q, "10.77.200.3", qname="never-asked.bench.test"), "10.77.200.3"),
        ("answer in additional", "f4.bench.test", SILENT_RESOLVER_IP,
         lambda q: _answer(q, "10.77.200.4", section="additional"), "10.77.200.4"),
        ("answer in authority", "f5.bench.test", SILENT_RESOLVER_IP,
         lambda q: _answer(q, "10.77.200.5", section="authority"), "10.77.200.5"),
    ]
    for i, (label, name, src, build, ip) in enumerate(cases):
        q = _query(name, 0x4000 + i)
        asker.ask(SILENT_RESOLVER_IP, q.to_wire())
        forger.send_udp(src, 53, WL_IP, asker.port, build(q))
    assert asker.drain() == len(cases), "the forged datagrams must reach the workload socket"
    learned = _learned_ips(enforcer["pins"])
    for label, _n, _s, _b, ip in cases:
        assert ip not in learned, f"{label}: {ip} was learned"
        assert not connect_ok(topo, ip), f"{label}: connection to {ip} was let through"
    # control: the same path with everything right is learned
    q = _query("f9.bench.test", 0x4100)
    asker.ask(SILENT_RESOLVER_IP, q.to_wire())
    forger.send_udp(SILENT_RESOLVER_IP, 53, WL_IP, asker.port, _answer(q, "10.77.200.9"))
    assert asker.drain() == 1
    assert "10.77.200.9" in _learned_ips(enforcer["pins"]), "control response from the resolver not learned"
    assert connect_ok(topo, "10.77.200.9")


def test_replayed_response_after_the_answer_teaches_nothing(topo, enforcer):
    """A response is credited once: a copy (with another address) after the real answer
    matches no outstanding query."""
    race_listener(topo)
    forger, asker = Forger(topo), Asker(topo)
    q = _query("f10.bench.test", 0x4200)
    asker.ask(SILENT_RESOLVER_IP, q.to_wire())
    forger.send_udp(SILENT_RESOLVER_IP, 53, WL_IP, asker.port, _answer(q, "10.77.200.10"))
    forger.send_udp(SILENT_RESOLVER_IP, 53, WL_IP, asker.port, _answer(q, "10.77.200.11"))
    assert asker.drain() == 2
    learned = _learned_ips(enforcer["pins"])
    assert "10.77.200.10" in learned and "10.77.200.11" not in learned
    assert not connect_ok(topo, "10.77.200.11")


def race_listener(topo):
    from toolkit.bench import race
    return race.start_listener(topo)
