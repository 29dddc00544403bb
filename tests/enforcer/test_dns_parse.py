"""The in-kernel DNS parser (through `fqdnkit dns-parse`'s harness, BPF_PROG_TEST_RUN)
against dnspython on generated, malformed and malicious messages, and TCP framing."""
from __future__ import annotations

import json
import struct
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dnsref import build_message, kernel_view, reference

pytestmark = pytest.mark.root

LABELS = [b"a", b"B", b"www", b"Example", b"test", b"x" * 63, b"c-d", b"e_f"]
A, AAAA, CNAME, TXT, OPAQUE = 1, 28, 5, 16, 65280


@pytest.fixture(scope="module")
def harness(enforcer_build):
    from toolkit.enforcer.harness import Harness
    h = Harness()
    yield h
    h.close()


names = st.lists(st.sampled_from(LABELS), min_size=1, max_size=5)


@st.composite
def rr(draw, owners):
    owner = draw(st.sampled_from(owners)) if owners and draw(st.booleans()) else draw(names)
    owner = [lab.upper() if draw(st.booleans()) else lab for lab in owner]  # case games
    rtype = draw(st.sampled_from([A, A, AAAA, CNAME, CNAME, TXT, OPAQUE]))
    rclass = 1 if rtype in (A, AAAA) else draw(st.sampled_from([1, 1, 1, 3]))
    ttl = 60 + (hash(tuple(x.lower() for x in owner)) % 1000)  # one TTL per owner name
    if rtype == A:
        rdata = bytes([10, 0, draw(st.integers(0, 3)), draw(st.integers(1, 3))])
    elif rtype == AAAA:
        rdata = bytes([0xfd] + [0] * 14 + [draw(st.integers(1, 4))])
    elif rtype == CNAME:
        rdata = draw(st.sampled_from(owners)) if owners and draw(st.booleans()) else draw(names)
    elif rtype == TXT:   # counted strings, sometimes malformed
        rdata = draw(st.sampled_from([b"\x01x", b"\x00", b"\x02ab\x01c", b"", b"\x05ab"]))
    else:                # a type the kernel does not check: message rejected (fail closed)
        rdata = draw(st.binary(max_size=8))
    return (owner, rtype, rclass, ttl, rdata)


@st.composite
def message(draw):
    qname = draw(names)
    owners = [qname] + [draw(names) for _ in range(3)]
    answers = draw(st.lists(rr(owners), max_size=8))
    others = draw(st.lists(rr(owners), max_size=3))
    return build_message(qname, answers, others, compress=draw(st.booleans()))


MUTATIONS = ["none", "truncate", "trailing", "qdcount", "qr", "opcode", "ptr_header",
             "ptr_forward", "ptr_self", "label_type", "ancount", "rdlen"]


@st.composite
def mutated(draw):
    wire = bytearray(draw(message()))
    kind = draw(st.sampled_from(MUTATIONS))
    if kind == "truncate":
        del wire[draw(st.integers(0, len(wire) - 1)):]
    elif kind == "trailing":
        wire += draw(st.binary(min_size=1, max_size=4))
    elif kind == "qdcount":
        struct.pack_into("!H", wire, 4, draw(st.sampled_from([0, 2])))
    elif kind == "qr":
        wire[2] &= 0x7F
    elif kind == "opcode":
        wire[2] |= 0x08
    elif kind == "ancount":
        an = struct.unpack_from("!H", wire, 6)[0]
        struct.pack_into("!H", wire, 6, an + draw(st.sampled_from([1, 40])))
    elif kind in ("ptr_header", "ptr_forward", "ptr_self", "label_type", "rdlen") and len(wire) > 14:
        # rewrite the question name's first length byte(s) or a random later position
        at = 12 if draw(st.booleans()) else draw(st.integers(12, len(wire) - 2))
        if kind == "ptr_header":
            wire[at:at + 2] = bytes([0xC0, draw(st.integers(0, 11))])
        elif kind == "ptr_forward":
            wire[at:at + 2] = struct.pack("!H", 0xC000 | min(at + 2 + draw(st.integers(0, 5)), 0x3FFF))
        elif kind == "ptr_self":
            wire[at:at + 2] = struct.pack("!H", 0xC000 | at)
        elif kind == "label_type":
            wire[at] = draw(st.sampled_from([0x40, 0x80, 0xBF]))
        else:
            wire[at] = (wire[at] + 1) & 0xFF
    return bytes(wire)


def check(harness, wire):
    got = kernel_view(harness.parse_udp("m", wire))
    want = reference(wire)
    assert got == want, (wire.hex(), got, want)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(message())
def test_generated_messages_agree_with_dnspython(harness, wire):
    check(harness, wire)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_malformed_messages_agree_with_dnspython(harness, wire):
    check(harness, wire)


def _q(name: bytes) -> list[bytes]:
    return name.split(b".")


def test_malicious_corpus(harness):
    cases = {}
    q = _q(b"www.example.com")
    ok = build_message(q, [(q, A, 1, 30, bytes([10, 0, 0, 1]))], [])
    cases["ok"] = ok
    # compression loop: the question name points at itself
    loop = bytearray(ok)
    loop[12:14] = b"\xc0\x0c"
    cases["self_loop"] = bytes(loop)
    # two pointers pointing at each other (answer owner -> question, question -> answer)
    cases["pointer_into_header"] = ok[:12] + b"\xc0\x02" + ok[14:]
    # pointer chains: a TXT RR holds pointers P0 -> question, Pi -> P(i-1); the next
    # RR's owner points at the last one: n + 1 hops in all (limit 16)
    for n, label in ((15, "chain_16_hops"), (16, "chain_17_hops")):
        head = bytearray(struct.pack("!HHHHHH", 1, 0x8180, 1, 2, 0, 0)) + b"\x01a\x00" + \
            struct.pack("!HH", 1, 1)
        # the pointers sit inside one TXT string (a type the kernel checks)
        head += b"\xc0\x0c" + struct.pack("!HHIH", TXT, 1, 30, 2 * n + 1) + bytes([2 * n])
        start = len(head)
        for i in range(n):
            head += struct.pack("!H", 0xC000 | (12 if i == 0 else start + 2 * (i - 1)))
        head += struct.pack("!H", 0xC000 | (start + 2 * (n - 1)))
        head += struct.pack("!HHIH", A, 1, 30, 4) + bytes([10, 0, 0, 9])
        cases[label] = bytes(head)
    # names over 255 bytes: 5 labels of 63
    longname = [b"x" * 63] * 4 + [b"y" * 3]
    cases["name_too_long"] = build_message(longname, [], [])
    # CNAME to a name whose A is in the additional section: not credited
    a, b = _q(b"a.test"), _q(b"b.test")
    cases["additional_not_credited"] = build_message(
        a, [(a, CNAME, 1, 30, b)], [(b, A, 1, 30, bytes([10, 0, 0, 2]))])
    # A for another name in the answer section: not credited
    cases["unrelated_answer"] = build_message(a, [(b, A, 1, 30, bytes([10, 0, 0, 3]))], [])
    # CNAME chain out of order and mixed case
    c = _q(b"c.test")
    cases["chain_out_of_order"] = build_message(
        a, [(c, A, 1, 30, bytes([10, 0, 0, 4])), ([b"B", b"TEST"], CNAME, 1, 30, c),
            ([b"A", b"test"], CNAME, 1, 30, b)], [])
    # CNAME loop a -> b -> a with an A for a
    cases["cname_loop"] = build_message(
        a, [(a, CNAME, 1, 30, b), (b, CNAME, 1, 30, a), (a, A, 1, 30, bytes([10, 0, 0, 5]))], [])
    # 9 CNAME hops: the A at the end is beyond the 8-hop limit
    hop = [_q(b"h%d.test" % i) for i in range(10)]
    cases["chain_too_deep"] = build_message(
        hop[0], [(hop[i], CNAME, 1, 30, hop[i + 1]) for i in range(9)] +
        [(hop[9], A, 1, 30, bytes([10, 0, 0, 6]))], [])
    cases["a_rdlen_5"] = build_message(a, [(a, A, 1, 30, bytes(5))], [])
    for name, wire in cases.items():
        got = kernel_view(harness.parse_udp(name, wire))
        want = reference(wire)
        assert got == want, (name, got, want)
    assert kernel_view(harness.parse_udp("ok", ok))["learned"] == {"10.0.0.1": {30}}
    assert harness.parse_udp("self_loop", cases["self_loop"])["reason"] == "DNS_E_PTR_FORWARD"
    assert harness.parse_udp("hdr", cases["pointer_into_header"])["reason"] == "DNS_E_PTR_INTO_HEADER"
    assert harness.parse_udp("chain", cases["chain_out_of_order"])["learned"] == \
        [{"ip": "10.0.0.4", "ttl": 30}]
    assert harness.parse_udp("deep", cases["chain_too_deep"])["learned"] == []
    assert harness.parse_udp("16", cases["chain_16_hops"])["learned"] == [{"ip": "10.0.0.9", "ttl": 30}]
    assert harness.parse_udp("17", cases["chain_17_hops"])["reason"] == "DNS_E_PTR_TOO_MANY_HOPS"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(message(), min_size=1, max_size=6), st.data())
def test_tcp_framing_coalesced_and_split(harness, msgs, data):
    stream = b"".join(struct.pack("!H", len(m)) + m for m in msgs)
    cuts = sorted(set(data.draw(st.lists(st.integers(1, max(1, len(stream) - 1)), max_size=8))))
    segs, prev = [], 0
    for c in cuts + [len(stream)]:
        if c > prev:
            segs.append(stream[prev:c])
            prev = c
    segs = [s for s in segs if s]
    if any(len(s) > 3400 for s in segs):
        return
    got = harness.parse_tcp([(f"seg{i}", s) for i, s in enumerate(segs)])
    assert len(got) == len(msgs)
    for g, m in zip(got, msgs):
        assert kernel_view(g) == reference(m)


def test_cli_json_udp_and_tcp(tmp_path, enforcer_build):
    q = _q(b"www.example.com")
    m = build_message(q, [(q, AAAA, 1, 77, bytes(15) + b"\x01")], [])
    f1 = tmp_path / "m.bin"
    f1.write_bytes(m)
    out = subprocess.run([sys.executable, "-m", "toolkit.cli", "dns-parse", str(f1), "--output", "json"],
                         capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == [{"file": str(f1), "valid": True, "qname": "www.example.com",
                                "learned": [{"ip": "::1", "ttl": 77}], "reason": None}]
    s = struct.pack("!H", len(m)) + m
    stream = s + s
    a, b = tmp_path / "s1", tmp_path / "s2"
    a.write_bytes(stream[:5])
    b.write_bytes(stream[5:])
    r = subprocess.run([sys.executable, "-m", "toolkit.cli", "dns-parse", "--tcp", str(a), str(b),
                        "--output", "json"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert [e["file"] for e in got] == [str(b), str(b)]
