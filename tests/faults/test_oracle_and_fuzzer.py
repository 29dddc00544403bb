"""The fuzzers' own parts, without the kernel: oracle rules, mutation, TCP framing."""
from __future__ import annotations

import struct

import dns.message
import dns.rrset

from toolkit.bench import messages
from toolkit.bench.dnsperf import parse_output, percentile
from toolkit.bench.fuzz import Fuzzer, classify
from toolkit.bench.oracle import learn


def _resp(qname, answers, additional=(), authority=()):
    q = dns.message.make_query(qname, "A")
    r = dns.message.make_response(q)
    for sect, rows in ((r.answer, answers), (r.additional, additional), (r.authority, authority)):
        for owner, t, rd in rows:
            sect.append(dns.rrset.from_text(owner, 60, "IN", t, rd))
    return r.to_wire()


def test_oracle_credits_cname_chain_but_not_other_owners_or_sections():
    w = _resp("a.example.com.", [("a.example.com.", "CNAME", "b.example.net."),
                                 ("b.example.net.", "A", "192.0.2.1"),
                                 ("c.example.org.", "A", "192.0.2.2")],
              additional=[("a.example.com.", "A", "192.0.2.3")],
              authority=[("a.example.com.", "A", "192.0.2.4")])
    o = learn(w)
    assert o.valid and o.qname == "a.example.com"
    assert o.learned == {("192.0.2.1", 60)}


def test_oracle_rejects_pointer_into_header_and_non_responses():
    w = bytearray(_resp("a.example.com.", [("a.example.com.", "A", "192.0.2.1")]))
    # answer owner is a pointer to offset 12 (0xc00c); make it point into the header
    i = w.index(b"\xc0\x0c", 12)
    w[i + 1] = 4
    assert not learn(bytes(w)).valid
    q = dns.message.make_query("a.example.com.", "A").to_wire()
    assert not learn(q).valid


def test_all_benchmark_cases_are_valid_and_teach_something():
    for c in messages.cases():
        o = learn(c.wire)
        assert o.valid and o.learned, c.key


def test_mutations_are_deterministic_per_seed_and_mostly_invalid():
    a, b = Fuzzer(7), Fuzzer(7)
    ma = [a.message() for _ in range(300)]
    assert ma == [b.message() for _ in range(300)]
    valid = sum(learn(m).valid for m in ma)
    assert 0 < valid < len(ma)


def test_tcp_stream_reassembles_to_the_framed_messages():
    f = Fuzzer(3)
    msgs = [f.random_response() for _ in range(4)]
    for _ in range(20):
        segs = f.tcp_stream(msgs)
        assert b"".join(segs) == b"".join(struct.pack("!H", len(m)) + m for m in msgs)


def test_classify_flags_learning_from_an_invalid_message():
    bad = b"\x00" * 5
    cls, _ = classify({"valid": False, "learned": [{"ip": "192.0.2.1", "ttl": 1}]}, bad)
    assert cls == "learned_invalid"
    good = messages.cases()[0]
    cls, _ = classify({"valid": True, "qname": good.qname, "learned": [{"ip": "93.184.216.34", "ttl": 300}]},
                      good.wire)
    assert cls == "agree"


def test_dnsperf_verbose_output_gives_percentiles():
    lines = [f"> NOERROR n{i}.bench.test A 0.{i:06d}" for i in range(1, 1001)]
    text = "\n".join(lines) + """
  Queries sent:         1000
  Queries completed:    1000 (100.00%)
  Queries lost:         0 (0.00%)
  Run time (s):         1.000000
  Queries per second:   1000.000000
"""
    r = parse_output(text)
    assert r["completed"] == 1000
    assert [round(r[k]) for k in ("p50_us", "p99_us", "p999_us")] == [500, 990, 999]
    assert percentile([], 50) is None
