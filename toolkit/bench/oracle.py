"""What a DNS response teaches, computed with dnspython: the fuzzers' and the proxy's oracle.

Contract: `learn(wire)` parses one DNS message with dnspython and returns an Outcome:
`valid` (dnspython parsed it and it is a response the enforcer's rules accept: QR=1,
opcode QUERY, exactly one question, at most MAX_ANSWERS answers, no compression pointer
into the 12-byte header), `qname` (lower-case, no trailing dot) and `learned`, the set of
(ip, ttl) of class-IN A/AAAA records in the ANSWER section whose owner is the question
name or is reached from it through class-IN CNAMEs of the answer section (at most
MAX_CNAME_HOPS hops); authority and additional records are never credited; TTLs are per
record, raw (parsed with one_rr_per_rrset so dnspython does not merge TTLs). Also
invalid: more than MAX_OTHER_RRS authority+additional records, a pointer into the header
in a name the enforcer walks (question, owners, names in CNAME/NS/PTR/MX/SOA/RP/SRV RDATA). These are the
rules of reference_bpf/enforcer/dns_msg.bpf.h, restated independently. `learned_from_message(msg)` is the
same rule on an already-parsed message (the proxy uses it). Pure, no root.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype

# dnspython caches rdata classes per (class, type) on first use, and parsing e.g. an A RR
# of class ANY first caches GenericRdata under (ANY, A), which later (IN, A) lookups fall
# back to: the verdict on a message would depend on the messages parsed before it in the
# process (seen with dnspython 2.9.2, still in its get_rdata_class upstream). Loading every
# implemented type up front makes each lookup independent of order.
dns.rdata.load_all_types()

MAX_ANSWERS = 32
MAX_CNAME_HOPS = 8
MAX_OTHER_RRS = 64
DNS_HEADER = 12


@dataclass
class Outcome:
    valid: bool
    qname: str = ""
    learned: set = field(default_factory=set)      # {(ip, ttl)}
    reason: str = ""


def _lname(n: dns.name.Name) -> str:
    return n.to_text(omit_final_dot=True).lower()


def explain_failure(wire: bytes) -> str:
    """dnspython's error message on `wire` (for triage of fuzz samples)."""
    try:
        dns.message.from_wire(wire, one_rr_per_rrset=True)
    except Exception as e:       # noqa: BLE001 - any parser error is the answer here
        return f"{type(e).__name__}: {e}"
    return ""


def reachable_names(msg: dns.message.Message, qname: dns.name.Name) -> set[dns.name.Name]:
    cnames = {}
    for rrset in msg.answer:
        if rrset.rdtype == dns.rdatatype.CNAME and rrset.rdclass == dns.rdataclass.IN:
            for rd in rrset:
                cnames.setdefault(rrset.name, []).append(rd.target)
    seen = {qname}
    frontier = [qname]
    for _ in range(MAX_CNAME_HOPS):
        nxt = []
        for n in frontier:
            for t in cnames.get(n, []):
                if t not in seen:
                    seen.add(t)
                    nxt.append(t)
        frontier = nxt
    return seen


def learned_from_message(msg: dns.message.Message) -> set[tuple[str, int]]:
    if len(msg.question) != 1:
        return set()
    names = reachable_names(msg, msg.question[0].name)
    out = set()
    for rrset in msg.answer:
        if (rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA)
                and rrset.rdclass == dns.rdataclass.IN and rrset.name in names):
            for rd in rrset:
                out.add((rd.address, rrset.ttl))
    return out


def _pointer_into_header(wire: bytes) -> bool:
    """True if any name in the message uses a compression pointer below offset 12.

    Called only on messages dnspython parsed, so the walk can trust the structure."""
    import struct
    pos = DNS_HEADER
    qd, an, ns, ar = struct.unpack("!HHHH", wire[4:12])

    def chain_bad(p: int) -> bool:
        """Follow the name at p through its pointers (dnspython checked they go backwards)."""
        while True:
            ln = wire[p]
            if ln & 0xC0 == 0xC0:
                p = (ln & 0x3F) << 8 | wire[p + 1]
                if p < DNS_HEADER:
                    return True
                continue
            if ln == 0:
                return False
            p += ln + 1

    def name_end(p: int) -> tuple[int, bool]:
        bad = chain_bad(p)
        while True:
            ln = wire[p]
            if ln & 0xC0 == 0xC0:
                return p + 2, bad
            if ln == 0:
                return p + 1, bad
            p += ln + 1

    def names_in_rdata(rtype: int, rclass: int, start: int) -> bool:
        """Names dnspython reads in RDATA that the kernel walks too (dns_msg.bpf.h)."""
        if rtype in (dns.rdatatype.CNAME, dns.rdatatype.NS, dns.rdatatype.PTR):
            return chain_bad(start)
        if rtype == dns.rdatatype.MX:
            return chain_bad(start + 2)
        if rtype == dns.rdatatype.SRV and rclass == dns.rdataclass.IN:
            return chain_bad(start + 6)
        if rtype in (dns.rdatatype.SOA, dns.rdatatype.RP):
            return chain_bad(start) or chain_bad(name_end(start)[0])
        return False

    for _ in range(qd):
        pos, bad = name_end(pos)
        if bad:
            return True
        pos += 4
    for _ in range(an + ns + ar):
        pos, bad = name_end(pos)
        if bad:
            return True
        rtype, rclass, _t, rdlen = struct.unpack("!HHIH", wire[pos:pos + 10])
        pos += 10
        if names_in_rdata(rtype, rclass, pos):
            return True
        pos += rdlen
    return False


def learn(wire: bytes) -> Outcome:
    try:
        msg = dns.message.from_wire(wire, one_rr_per_rrset=True)
    except (dns.exception.DNSException, ValueError, IndexError, UnicodeError) as e:
        return Outcome(False, reason=f"dnspython: {type(e).__name__}: {e}")
    if not msg.flags & dns.flags.QR:
        return Outcome(False, reason="not a response")
    if msg.opcode() != dns.opcode.QUERY:
        return Outcome(False, reason="opcode")
    if len(msg.question) != 1:
        return Outcome(False, reason="qdcount")
    qname = _lname(msg.question[0].name)
    if sum(len(r) for r in msg.answer) > MAX_ANSWERS:
        return Outcome(False, qname, reason="too many answers")
    if len(msg.authority) + len(msg.additional) + (1 if msg.opt else 0) > MAX_OTHER_RRS:
        return Outcome(False, qname, reason="too many other records")
    if _pointer_into_header(wire):
        return Outcome(False, qname, reason="pointer into header")
    return Outcome(True, qname, learned_from_message(msg))
