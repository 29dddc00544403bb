"""Behaviour of the shared DNS walk (lib/dns_walk.bpf.h, dns_rr.bpf.h) run in the kernel.

Each technique variant of dns_walk_tc.bpf.c that verifies here is run through
BPF_PROG_TEST_RUN on DNS messages built with dnspython and by hand (compression, pointer
loops, forward pointers, pointers into the header, hop limits, over-long names, bad label
types, truncation) plus seeded random corruptions, and what it writes into walk_out is
compared with the Python model in walk_model.py (which encodes the header's rules).
"""
from __future__ import annotations

import contextlib
import random
import struct

import dns.exception
import dns.message
import dns.name
import dns.rrset
import pytest

from toolkit import libbpf
from toolkit.loader import open_loaded
from toolkit.testrun import run_program

import walk_model as wm
from variants import TECHNIQUES, supported, technique_obj

pytestmark = pytest.mark.root


@pytest.fixture(autouse=True, scope="module")
def _built(build_dir):
    """`make build` once if the tree was never built (conftest's build_dir)."""
    return build_dir

HDR = struct.pack("!6H", 0x1234, 0x8180, 1, 1, 0, 0)   # response, 1 question, 1 answer


def _q(name: bytes, ancount: int = 0) -> bytes:
    """Header + question with the given raw name (+ type A class IN)."""
    return struct.pack("!6H", 7, 0x0100, 1, ancount, 0, 0) + name + b"\0\1\0\1"


def _labels(*labels: bytes) -> bytes:
    return b"".join(bytes([len(l)]) + l for l in labels) + b"\0"


def _hop_chain(pointers: int) -> bytes:
    """A response whose 2nd answer owner is a pointer into a chain of `pointers` pointers
    stored in the 1st answer's RDATA; total hops = pointers + 1."""
    q = struct.pack("!6H", 9, 0x8180, 1, 2, 0, 0) + _labels(b"a") + b"\0\1\0\1"   # name at 12
    rr1_owner = len(q)
    rdata_off = rr1_owner + 2 + 10
    chain = bytearray()
    for i in range(pointers):
        target = 12 if i == 0 else rdata_off + 2 * (i - 1)
        chain += bytes([0xC0 | target >> 8, target & 0xFF])
    rr1 = b"\xc0\x0c" + struct.pack("!HHIH", 16, 1, 60, len(chain)) + bytes(chain)
    last = rdata_off + 2 * (pointers - 1)
    rr2 = bytes([0xC0 | last >> 8, last & 0xFF]) + struct.pack("!HHIH", 1, 1, 60, 4) + b"\1\2\3\4"
    return q + rr1 + rr2


def _dnspython_messages() -> list[bytes]:
    q = dns.message.make_query("WWW.Example.COM", "A")
    r = dns.message.make_response(q)
    r.answer.append(dns.rrset.from_text("www.example.com.", 300, "IN", "CNAME", "Web.example.com."))
    r.answer.append(dns.rrset.from_text("web.example.com.", 60, "IN", "A", "192.0.2.1", "192.0.2.2"))
    r6 = dns.message.make_response(dns.message.make_query("ipv6.test", "AAAA"))
    r6.answer.append(dns.rrset.from_text("ipv6.test.", 10, "IN", "AAAA", "2001:db8::1"))
    long_name = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61]) + "."      # exactly 255 on the wire
    rl = dns.message.make_response(dns.message.make_query(long_name, "A"))
    rl.answer.append(dns.rrset.from_text(long_name, 5, "IN", "A", "198.51.100.7"))
    many = dns.message.make_response(dns.message.make_query("m.example", "A"))
    many.answer.append(dns.rrset.from_text("m.example.", 5, "IN", "A", *[f"10.0.0.{i}" for i in range(12)]))
    return [q.to_wire(), r.to_wire(), r6.to_wire(), rl.to_wire(), many.to_wire(),
            dns.message.make_query(".", "NS").to_wire()]


HANDMADE = {
    "uncompressed": _q(_labels(b"WwW", b"example", b"org")),
    "ptr_self_forward": _q(b"\xc0\x0c"),
    "ptr_forward": _q(b"\x01a\xc0\x20") + b"\0" * 20,
    "ptr_loop": _q(b"\x01a\xc0\x0c"),
    "ptr_into_header": _q(b"\x01a\xc0\x05"),
    "label_type_0x40": _q(b"\x41abc\0"),
    "label_type_0x80": _q(b"\x81abc\0"),
    "truncated_label": struct.pack("!6H", 7, 0x0100, 1, 0, 0, 0) + b"\x05ab",
    "truncated_pointer": struct.pack("!6H", 7, 0x0100, 1, 0, 0, 0) + b"\xc0",
    "name_too_long": _q(_labels(b"a" * 63, b"b" * 63, b"c" * 63, b"d" * 62)),   # 256 bytes
    "labels_127_len_255": _q(_labels(*[b"x"] * 127)),                              # 255 bytes
    "hops_16_ok": _hop_chain(15),
    "hops_17_too_many": _hop_chain(16),
    "short_message": b"\0" * 11,
    "header_only": struct.pack("!6H", 1, 0, 0, 0, 0, 0),
    "rr_truncated": _q(_labels(b"t"), ancount=1) + b"\xc0\x0c\0\1\0\1\0\0\0\1\0\4\1\2",
    # answer owner = pointer (at 26) to offset 13, inside the question name, where a
    # 15-byte "label" starts that runs past the pointer itself (found by fuzzing against
    # dnspython, which rejects it)
    "ptr_overlap": struct.pack("!6H", 7, 0x8180, 1, 1, 0, 0) + b"\x08\x0fXXXXXXX\x00\0\1\0\1"
                   + b"\xc0\x0d\0\1\0\1\0\0\0\1\0\4\1\2\3\4" + b"\0" * 8,
    # answer owner at 21 = label "\0" + pointer to 20 (the question's class byte 0x01):
    # the name there, \1 \1 \0, reads the owner's own first two bytes and ends before
    # the pointer's end; dnspython restricts a hop's target to bytes before the segment
    # holding the pointer (21), so it is rejected (fuzz learned_invalid, 2026-11-26)
    "ptr_into_own_labels": struct.pack("!6H", 7, 0x8180, 1, 1, 0, 0) + b"\3abc\0\0\1\0\1"
                           + b"\1\0\xc0\x14\0\1\0\1\0\0\0\1\0\4\1\2\3\4",
}


def _run(obj, prog, msg: bytes, ipv6: bool = False) -> wm.WalkResult:
    r = run_program(prog.fd, wm.udp_packet(msg, ipv6))
    raw = libbpf.map_lookup(obj.map("walk_out").fd, struct.pack("I", 0), wm.RESULT_SIZE)
    return wm.parse_result(raw, r.retval)


def _check(obj, prog, which, msg: bytes, label: str, ipv6: bool = False):
    got = _run(obj, prog, msg, ipv6)
    want = wm.walk_qname(msg) if which == "walk_qname" else wm.walk_answers(msg)
    assert got == want, f"{which} on {label} ({msg.hex()}):\n got {got}\nwant {want}"
    return got


@pytest.fixture(scope="module")
def loaded():
    """(technique, program) -> (obj, prog), each loaded once per module (statistics-only
    log: the unrolled and bounded variants take seconds to verify at log level 1)."""
    cache = {}
    with contextlib.ExitStack() as stack:
        def get(technique: str, which: str):
            if (technique, which) not in cache:
                path = technique_obj("dns_walk_tc", technique)
                cache[technique, which] = stack.enter_context(open_loaded(path, which, log_level=0))
            return cache[technique, which]
        yield get


@pytest.fixture(params=TECHNIQUES)
def variant(request, loaded):
    t = request.param
    if not supported(t):
        pytest.skip(f"{t} needs a newer kernel")
    return lambda which: loaded(t, which)


@pytest.mark.parametrize("which", ["walk_qname", "walk_answers"])
def test_handmade_and_dnspython_messages_match_the_model(variant, which):
    obj, prog = variant(which)
    for label, msg in HANDMADE.items():
        _check(obj, prog, which, msg, label)
    for i, msg in enumerate(_dnspython_messages()):
        _check(obj, prog, which, msg, f"dnspython#{i}")
        _check(obj, prog, which, msg, f"dnspython#{i}/ipv6", ipv6=True)


def test_walk_results_name_the_rules(variant):
    """Spot checks with explicit expected values (not only model == kernel)."""
    obj, prog = variant("walk_qname")
    r = _run(obj, prog, HANDMADE["uncompressed"])
    assert (r.qname, r.qname_labels, r.qname_ret) == (b"\3www\7example\3org\0", 3, 12 + 17)
    assert _run(obj, prog, HANDMADE["ptr_loop"]).qname_ret == -wm.E["DNS_E_PTR_LOOP"]
    assert _run(obj, prog, HANDMADE["ptr_forward"]).qname_ret == -wm.E["DNS_E_PTR_FORWARD"]
    assert _run(obj, prog, HANDMADE["ptr_self_forward"]).qname_ret == -wm.E["DNS_E_PTR_FORWARD"]
    assert _run(obj, prog, HANDMADE["ptr_into_header"]).qname_ret == -wm.E["DNS_E_PTR_INTO_HEADER"]
    overlap = _run(obj, prog, HANDMADE["ptr_overlap"])
    assert overlap.qname_ret == 22 and overlap.owner_ret == -wm.E["DNS_E_PTR_OVERLAP"]
    with pytest.raises(dns.exception.FormError):      # the oracle rejects it too
        dns.message.from_wire(HANDMADE["ptr_overlap"])
    own = _run(obj, prog, HANDMADE["ptr_into_own_labels"])
    assert own.qname_ret == 21 - 4 and own.owner_ret == -wm.E["DNS_E_PTR_OVERLAP"]
    with pytest.raises(dns.exception.FormError):
        dns.message.from_wire(HANDMADE["ptr_into_own_labels"])
    assert _run(obj, prog, HANDMADE["label_type_0x40"]).qname_ret == -wm.E["DNS_E_BAD_LABEL_TYPE"]
    assert _run(obj, prog, HANDMADE["name_too_long"]).qname_ret == -wm.E["DNS_E_NAME_TOO_LONG"]
    r = _run(obj, prog, HANDMADE["labels_127_len_255"])
    assert (len(r.qname), r.qname_labels) == (255, 127)
    cname = _dnspython_messages()[1]
    r = _run(obj, prog, cname)
    assert r.qname == dns.name.from_text("www.example.com").to_wire() and r.eq == 1
    assert r.owner_ret == r.qname_ret + 4 + 2          # owner is one compression pointer
    obj, prog = variant("walk_answers")
    r = _run(obj, prog, HANDMADE["hops_16_ok"])
    assert r.an_parsed == 2 and r.an_ret > 0
    r = _run(obj, prog, HANDMADE["hops_17_too_many"])
    assert r.an_parsed == 1 and r.an_ret == -wm.E["DNS_E_PTR_TOO_MANY_HOPS"]
    r = _run(obj, prog, cname)
    assert [(x.type, x.ttl, x.rdlength) for x in r.rrs] == [(5, 300, 6), (1, 60, 4), (1, 60, 4)]


def _mutants(seed: int, n: int) -> list[bytes]:
    rng = random.Random(seed)
    base = _dnspython_messages()
    out = []
    for _ in range(n):
        m = bytearray(rng.choice(base))
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(m))
            kind = rng.random()
            if kind < 0.4:
                m[i] = rng.randrange(256)
            elif kind < 0.7:                       # plant a compression pointer
                t = rng.randrange(len(m) + 8)
                m[i:i + 2] = bytes([0xC0 | (t >> 8 & 0x3F), t & 0xFF])
            elif kind < 0.85:
                del m[i:]                          # truncate
                if not m:
                    m = bytearray(b"\0" * 12)
            else:
                m[i] = rng.choice([0, 63, 64, 0x80, 0xBF, 0xC0])
        out.append(bytes(m))
    return out


@pytest.mark.parametrize("which", ["walk_qname", "walk_answers"])
def test_random_corruptions_match_the_model(variant, which):
    obj, prog = variant(which)
    for i, msg in enumerate(_mutants(seed=4 + len(which), n=150)):
        _check(obj, prog, which, msg, f"mutant#{i}")
