"""Differential fuzzing of the enforcer's in-kernel DNS parser against dnspython (CI budget).

Two generators, one oracle (toolkit/bench/oracle.py):
  - hypothesis builds responses structurally (question name case, CNAME chains in any
    order, A/AAAA/CNAME/other records in all three sections, TTLs, header flags) and
    optionally corrupts one byte or cuts the message;
  - the byte-mutation fuzzer of toolkit/bench/fuzz.py, over single UDP messages and over
    TCP streams (2-byte framing, cut at random points: several messages per segment, one
    message across segments).
Both go through the kernel parser by BPF_PROG_TEST_RUN (enforcer_glue.dns_parser: the
enforcer's dns-parse test-run programs). Failure = anything learned from an invalid
message, or a different learned set / question name on a valid one. The benchmark runs
10^6 messages (`fqdnkit bench --fuzz N`); here FQDNKIT_FAULT_SCALE scales a small budget.
"""
from __future__ import annotations

import os
from collections import Counter

import dns.flags
import dns.message
import dns.rrset
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from toolkit.bench import enforcer_glue, fuzz


def scaled(n: float) -> int:
    """CI budget times FQDNKIT_FAULT_SCALE (default 1)."""
    return max(1, int(n * float(os.environ.get("FQDNKIT_FAULT_SCALE", "1"))))


pytestmark = pytest.mark.root

NO_SHRINK = [Phase.explicit, Phase.reuse, Phase.generate]   # CI time: report the example as found
_ok, _why = enforcer_glue.parser_available()
needs_parser = pytest.mark.skipif(not _ok, reason=f"kernel DNS parser not available: {_why}")


@pytest.fixture(scope="module")
def parse():
    with enforcer_glue.dns_parser() as p:
        yield p


label = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-",
                min_size=1, max_size=63)
name = st.lists(label, min_size=1, max_size=4).map(lambda ls: ".".join(ls) + ".")
ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
ipv6 = st.lists(st.integers(0, 0xFFFF), min_size=8, max_size=8).map(lambda t: ":".join(f"{x:x}" for x in t))
ttl = st.integers(0, 2**32 - 1)


@st.composite
def responses(draw):
    qname = draw(name)
    if sum(len(x) + 1 for x in qname.split(".")) > 255:
        qname = "q.example."
    chain = [qname] + draw(st.lists(name.filter(lambda n: len(n) < 120), max_size=4))
    recs = []
    for a, b in zip(chain, chain[1:]):
        recs.append(("answer", a, "CNAME", b))
    owners = st.sampled_from(chain + ["other.example."])
    for _ in range(draw(st.integers(0, 6))):
        t = draw(st.sampled_from(["A", "AAAA", "TXT", "MX"]))
        rd = {"A": ipv4, "AAAA": ipv6, "TXT": st.just('"x"'), "MX": st.just("10 mx.example.")}[t]
        recs.append((draw(st.sampled_from(["answer", "answer", "authority", "additional"])),
                     draw(owners), t, draw(rd)))
    recs = draw(st.permutations(recs))
    q = dns.message.make_query(chain[0], draw(st.sampled_from(["A", "AAAA"])))
    r = dns.message.make_response(q)
    for sect, owner, t, rd in recs:
        if draw(st.booleans()):
            owner = owner.upper()
        getattr(r, sect).append(dns.rrset.from_text(owner, draw(ttl) % 2**31, "IN", t, rd))
    if draw(st.integers(0, 9)) == 0:
        r.flags &= ~dns.flags.QR
    wire = bytearray(r.to_wire())
    cut = draw(st.sampled_from(["none", "none", "byte", "truncate"]))
    if cut == "byte":
        i = draw(st.integers(0, len(wire) - 1))
        wire[i] = draw(st.integers(0, 255))
    elif cut == "truncate":
        wire = wire[:draw(st.integers(0, len(wire)))]
    return bytes(wire)


def _check(tally: Counter, samples: dict) -> None:
    bad = {k: v for k, v in tally.items() if k in ("learned_invalid", "learned_differs", "count_mismatch")}
    assert not bad, f"{bad}: {samples}"


@needs_parser
@settings(max_examples=scaled(150), deadline=None, suppress_health_check=list(HealthCheck), phases=NO_SHRINK)
@given(responses())
def test_hypothesis_responses_udp(parse, wire):
    tally, samples = Counter(), {}
    fuzz.compare(parse([wire], False), [wire], tally, samples)
    _check(tally, samples)


@needs_parser
@settings(max_examples=scaled(50), deadline=None, suppress_health_check=list(HealthCheck), phases=NO_SHRINK)
@given(st.lists(responses(), min_size=1, max_size=4), st.randoms(use_true_random=False))
def test_hypothesis_responses_tcp_framing(parse, wires, rnd):
    f = fuzz.Fuzzer(rnd.randint(0, 2**31))
    tally, samples = Counter(), {}
    fuzz.compare(parse(f.tcp_stream(wires), True), wires, tally, samples)
    _check(tally, samples)


@needs_parser
def test_byte_mutation_fuzzer_udp_and_tcp(parse):
    res = fuzz.run(parse, scaled(5_000), batch=500, tcp_share=0.3, seed=11)
    assert res["tally"].get("agree", 0) > 0
    assert res["goal_met"], ({k: v for k, v in res["tally"].items() if k in fuzz.BAD}, res["where"],
                             {k: v[:2] for k, v in res["samples"].items() if k in fuzz.BAD})


@needs_parser
def test_invalid_corpus_teaches_nothing(parse):
    """Hand-made malicious messages: loops, forward pointers, pointers into the header,
    over-long labels and names, answer only in the additional section."""
    from toolkit.bench.messages import cases
    base = cases()[0].wire           # www.example.com A -> 93.184.216.34
    loop = bytearray(base)
    i = loop.index(b"\xc0\x0c", 12)
    loop[i:i + 2] = bytes([0xC0, i & 0xFF])           # pointer to itself
    fwd = bytearray(base)
    fwd[i:i + 2] = bytes([0xC0, (i + 2) & 0xFF])      # forward pointer
    hdr = bytearray(base)
    hdr[i:i + 2] = b"\xc0\x02"                        # into the header
    longlabel = bytearray(base)
    longlabel[12] = 64                                # label length 64
    q = dns.message.make_query("www.example.com.", "A")
    r = dns.message.make_response(q)
    r.additional.append(dns.rrset.from_text("www.example.com.", 60, "IN", "A", "192.0.2.9"))
    msgs = [bytes(loop), bytes(fwd), bytes(hdr), bytes(longlabel), r.to_wire(), base[:-2], base + b"\0"]
    out = parse(msgs, False)
    assert len(out) == len(msgs)
    for m, o in zip(msgs, out):
        assert not o.get("learned"), (m.hex(), o)
