"""Reference semantics of the enforcer's DNS parsing, built on dnspython (independent of
the BPF code), and a generator of wire messages for differential tests.

reference(wire) -> {"valid", "qname", "learned": {ip: {ttl, ...}}}:
  valid  = dnspython parses the whole message (no trailing junk) with two hardening
           rules added to its name decompression (no pointer into the 12-byte header;
           its own limit of 16 pointer hops applies), QR=1, opcode QUERY, exactly one
           question, <= 32 answers, <= 64 authority+additional RRs, size <= 4096, and
           every RR of a type the kernel checks (CHECKED_*: the kernel fails closed);
  learned = A/AAAA (class IN) answer RRs whose owner is the question name or reached
           from it through <= 8 class-IN CNAME RRs of the answer section; TTL per RR
           (dnspython maps TTLs >= 2^31 to 0, RFC 2181 8).
"""
from __future__ import annotations

import contextlib
import struct

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rdataclass
import dns.rdatatype
import dns.wire

MAX_ANSWERS, MAX_OTHER, MAX_HOPS = 32, 64, 8
# RR types whose RDATA the kernel checks; any other type makes it reject the message
# (fail closed). A/AAAA/SRV only in class IN. TXT/SPF: <= 64 strings; OPT: <= 16 options.
CHECKED_ANY_CLASS = {2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 14, 15, 16, 17, 99}
CHECKED_IN_ONLY = {1, 28, 33}


def _hardened_from_wire_parser(parser, decompress=True):
    labels = []
    biggest_pointer = parser.current
    hops = 0
    with parser.restore_furthest():
        start = parser.current
        count = parser.get_uint8()
        while count != 0:
            if count < 64:
                labels.append(parser.get_bytes(count))
            elif count >= 192:
                current = (count & 0x3F) * 256 + parser.get_uint8()
                if current < 12:
                    raise dns.name.BadPointer("pointer into the header")
                if current >= biggest_pointer:
                    raise dns.name.BadPointer
                biggest_pointer = current
                hops += 1
                if hops > dns.name.MAX_COMPRESSION_POINTER_CHAIN:
                    raise dns.name.BadPointer("too many hops")
                parser.restrict_end(start)
                parser.seek(current)
                start = current
            else:
                raise dns.name.BadLabelType
            count = parser.get_uint8()
        labels.append(b"")
    return dns.name.Name(labels)


@contextlib.contextmanager
def hardened():
    orig = dns.name.from_wire_parser
    dns.name.from_wire_parser = _hardened_from_wire_parser
    try:
        yield
    finally:
        dns.name.from_wire_parser = orig


def reference(wire: bytes) -> dict:
    bad = {"valid": False, "qname": None, "learned": {}}
    if len(wire) < 12 or len(wire) > 4096:
        return bad
    _id, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", wire[:12])
    if not flags & 0x8000 or (flags >> 11) & 0xF or qd != 1 or an > MAX_ANSWERS or ns + ar > MAX_OTHER:
        return bad
    try:
        with hardened():
            msg = dns.message.from_wire(wire, ignore_trailing=False, one_rr_per_rrset=True)
    except (dns.exception.DNSException, ValueError, TypeError, IndexError, UnicodeError):
        return bad
    for rrset in msg.answer + msg.authority + msg.additional:
        if not (rrset.rdtype in CHECKED_ANY_CLASS or
                (rrset.rdtype in CHECKED_IN_ONLY and rrset.rdclass == dns.rdataclass.IN)):
            return bad
        if rrset.rdtype in (16, 99) and any(len(rd.strings) > 64 for rd in rrset):
            return bad
    if msg.opt is not None and len(msg.opt[0].options) > 16:
        return bad
    qname = msg.question[0].name
    reached = {qname}
    frontier = {qname}
    for _ in range(MAX_HOPS):
        nxt = set()
        for rrset in msg.answer:
            if rrset.rdtype == dns.rdatatype.CNAME and rrset.rdclass == dns.rdataclass.IN \
                    and rrset.name in frontier:
                nxt |= {rd.target for rd in rrset} - reached
        reached |= nxt
        frontier = nxt
    learned: dict[str, set] = {}
    for rrset in msg.answer:
        if rrset.rdclass == dns.rdataclass.IN and rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA) \
                and rrset.name in reached:
            for rd in rrset:
                learned.setdefault(str(rd.address), set()).add(rrset.ttl)
    return {"valid": True, "qname": qname.to_text(omit_final_dot=True).lower() or ".",
            "learned": learned}


def kernel_view(entry: dict) -> dict:
    learned: dict[str, set] = {}
    for x in entry["learned"]:
        learned.setdefault(x["ip"], set()).add(x["ttl"])
    return {"valid": entry["valid"], "qname": entry["qname"] if entry["valid"] else None,
            "learned": learned}


# ------------------------------------------------------------------ wire building
def encode_name(labels: list[bytes], table: dict, buf: bytearray, compress: bool) -> bytes:
    """Wire form of labels placed at len(buf); with compress, suffixes seen before are
    replaced by pointers (table maps lower-cased suffix tuples to offsets)."""
    out = b""
    pos = len(buf)
    for i in range(len(labels)):
        suffix = tuple(x.lower() for x in labels[i:])
        if compress and suffix in table and table[suffix] < 0x3FFF:
            return out + struct.pack("!H", 0xC000 | table[suffix])
        if pos + len(out) < 0x3FFF:
            table.setdefault(suffix, pos + len(out))
        out += bytes([len(labels[i])]) + labels[i]
    return out + b"\0"


def build_message(qname, answers, others, compress=True, qid=0x4242, flags=0x8180):
    """answers/others: lists of (owner_labels, rtype, rclass, ttl, rdata) where rdata is
    bytes, or a label list for CNAME (encoded, maybe compressed)."""
    buf = bytearray(struct.pack("!HHHHHH", qid, flags, 1, len(answers), 0, len(others)))
    table: dict = {}
    buf += encode_name(qname, table, buf, compress)
    buf += struct.pack("!HH", 1, 1)
    for owner, rtype, rclass, ttl, rdata in list(answers) + list(others):
        buf += encode_name(owner, table, buf, compress)
        fixed = len(buf)
        buf += b"\0" * 10
        if isinstance(rdata, list):
            rd = encode_name(rdata, table, buf, compress)
        else:
            rd = rdata
        buf += rd
        struct.pack_into("!HHIH", buf, fixed, rtype, rclass, ttl, len(rd))
    return bytes(buf)
