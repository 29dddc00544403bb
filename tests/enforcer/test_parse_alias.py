"""The parser's name aliases (dns_msg.bpf.h "Aliases": a name whose walk starts at the
same offset as an earlier one's is not copied, only walked, and takes that name's
equality class) give the same credits as comparing every name, against dnspython."""
from __future__ import annotations

import struct

import pytest

from dnsref import kernel_view, reference

pytestmark = pytest.mark.root

A, CNAME = 1, 5


@pytest.fixture(scope="module")
def harness(enforcer_build):
    from toolkit.enforcer.harness import Harness
    h = Harness()
    yield h
    h.close()


def ptr(off: int) -> bytes:
    return struct.pack("!H", 0xC000 | off)


class Wire:
    """A response built byte by byte, so that each owner can point where the test wants."""

    def __init__(self, qname: bytes, ancount: int, arcount: int = 0):
        self.buf = bytearray(struct.pack("!HHHHHH", 0x4242, 0x8180, 1, ancount, 0, arcount))
        self.buf += qname + struct.pack("!HH", A, 1)

    def rr(self, owner: bytes, rtype: int, rdata: bytes, ttl: int = 30, rclass: int = 1) -> int:
        at = len(self.buf)
        self.buf += owner + struct.pack("!HHIH", rtype, rclass, ttl, len(rdata)) + rdata
        return at

    def rdata_off(self, rr_at: int, owner_len: int) -> int:
        return rr_at + owner_len + 10


def test_aliased_and_equal_names_credit_like_dnspython(harness):
    # question a.test at 12 ("test" label at 14)
    w = Wire(b"\x01a\x04test\x00", 6)
    # 1: owner -> question, CNAME b.<test>  (target: label b + pointer to "test")
    r1 = w.rr(ptr(12), CNAME, b"\x01b" + ptr(14))
    target = w.rdata_off(r1, 2)
    # 2: owner -> the CNAME target (an alias of slot "target 1"): credited through the CNAME
    w.rr(ptr(target), A, bytes([10, 0, 0, 1]))
    # 3: owner written out in other case: equal to the question by content, not an alias
    r3 = w.rr(b"\x01A\x04TEST\x00", A, bytes([10, 0, 0, 2]))
    # 4: owner -> answer 3's owner (alias of a name that was read)
    w.rr(ptr(r3), A, bytes([10, 0, 0, 3]))
    # 5: owner -> answer 1's owner, itself a pointer: a pointer chain, no alias by offset
    w.rr(ptr(r1), A, bytes([10, 0, 0, 4]))
    # 6: another name: not credited
    w.rr(b"\x01c" + ptr(14), A, bytes([10, 0, 0, 9]))
    wire = bytes(w.buf)
    got = harness.parse_udp("alias", wire)
    assert got["valid"], got
    assert sorted(x["ip"] for x in got["learned"]) == ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"]
    assert kernel_view(got) == reference(wire)


def test_alias_of_an_uncredited_name_stays_uncredited(harness):
    # question a.test; x.test CNAME y.test; owner -> y.test: y is not reached from a
    w = Wire(b"\x01a\x04test\x00", 3)
    r1 = w.rr(b"\x01x" + ptr(14), CNAME, b"\x01y" + ptr(14))
    w.rr(ptr(w.rdata_off(r1, 4)), A, bytes([10, 0, 0, 5]))
    w.rr(ptr(12), A, bytes([10, 0, 0, 6]))
    wire = bytes(w.buf)
    got = harness.parse_udp("unreached", wire)
    assert [x["ip"] for x in got["learned"]] == ["10.0.0.6"]
    assert kernel_view(got) == reference(wire)


def test_authority_cname_does_not_touch_the_query_slot(harness):
    # a CNAME in the additional section is only checked (it used to be read into the name
    # slot that holds the recorded query during enforcement); a bad one still rejects
    w = Wire(b"\x01a\x04test\x00", 1, arcount=1)
    w.rr(ptr(12), A, bytes([10, 0, 0, 7]))
    w.rr(b"\x01z" + ptr(14), CNAME, ptr(12))
    wire = bytes(w.buf)
    assert kernel_view(harness.parse_udp("ar_cname", wire)) == reference(wire)
    bad = bytearray(wire)
    bad[-1] = 0x40          # the additional CNAME's target now points past itself
    got = harness.parse_udp("ar_cname_bad", bytes(bad))
    assert not got["valid"] and got["learned"] == []


@pytest.mark.parametrize("tail", [b"", b"\xc0", b"\xc0\x0c", b"\xc0\x0c\x00\x01"])
def test_owner_pointer_to_question_fast_path_truncations(harness, tail):
    # fqk_g_rr knows the walk of an owner that is the pointer c0 0c without walking it;
    # a message cut inside or right after that pointer is rejected as the walk rejects it
    w = Wire(b"\x01a\x04test\x00", 2)
    w.rr(ptr(12), A, bytes([10, 0, 0, 1]))
    wire = bytes(w.buf) + tail
    got = harness.parse_udp("cut", wire)
    want = {b"": "DNS_E_TRUNCATED", b"\xc0": "DNS_E_TRUNCATED",
            b"\xc0\x0c": "DNS_E_RR_TRUNCATED", b"\xc0\x0c\x00\x01": "DNS_E_RR_TRUNCATED"}[tail]
    assert (got["valid"], got["reason"], got["learned"]) == (False, want, []), got
    assert kernel_view(got) == reference(wire)
