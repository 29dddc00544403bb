"""The DNS responses the in-kernel cost benchmark runs, as wire bytes and as packets.

Contract: `cases()` returns the named responses (one A; four A with compression; a CNAME
chain ending in AAAA; twenty answers; maximum-length names), each a dnspython-built
message; `udp_packet(msg, l2=...)` wraps DNS bytes in Ethernet (for SCHED_CLS test runs)
or starts at the IP header (CGROUP_SKB test runs see data from the IP header), IPv4/UDP
from the resolver address and port 53 to the workload. Pure: no root, no I/O.
"""
from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rrset

RESOLVER_IP = "10.210.0.1"
WORKLOAD_IP = "10.210.0.2"
WORKLOAD_PORT = 40000


@dataclass(frozen=True)
class Case:
    key: str
    title: str
    wire: bytes
    qname: str


def _response(qname: str, qtype: str, answers: list[tuple[str, str, str]], qid: int = 0x1234,
              ttl: int = 300) -> bytes:
    q = dns.message.make_query(qname, qtype)
    q.id = qid
    r = dns.message.make_response(q)
    r.flags |= 0x0080  # RA
    for owner, rtype, rdata in answers:
        r.answer.append(dns.rrset.from_text(owner, ttl, "IN", rtype, rdata))  # one RR each: fixed order
    return r.to_wire()


def _max_name(tag: str, zone: str = "example.com.") -> str:
    """A name of exactly 255 wire bytes ending in `zone`."""
    zone_wire = len(dns.name.from_text(zone).to_wire())
    left = 255 - zone_wire          # bytes for the extra labels, length octets included
    labels = []
    while left > 0:
        n = min(63, left - 1)
        if n <= 0:
            break
        labels.append(n)
        left -= n + 1
    parts = []
    for i, n in enumerate(labels):
        s = (tag + str(i) + "x" * 63)[:n]
        parts.append(s)
    name = ".".join(parts) + "." + zone
    assert len(dns.name.from_text(name).to_wire()) == 255, name
    return name


def cases() -> list[Case]:
    q = "www.example.com."
    out = [
        Case("one_a", "one A", _response(q, "A", [(q, "A", "93.184.216.34")]), q),
        Case("four_a", "four A, compressed", _response(
            q, "A", [(q, "A", f"93.184.216.{i}") for i in (31, 32, 33, 34)]), q),
        Case("cname_aaaa", "CNAME chain ending in AAAA", _response(q, "AAAA", [
            (q, "CNAME", "www.example.com.cdn.example.net."),
            ("www.example.com.cdn.example.net.", "CNAME", "e1234.b.cdn.example.net."),
            ("e1234.b.cdn.example.net.", "CNAME", "edge7.fra.cdn.example.net."),
            ("edge7.fra.cdn.example.net.", "AAAA", "2001:db8::7"),
        ]), q),
        Case("twenty", "twenty answers", _response(
            q, "A", [(q, "A", f"198.51.100.{i}") for i in range(1, 21)]), q),
    ]
    big, target = _max_name("q"), _max_name("t")
    out.append(Case("max_names", "maximum-length names (255-byte CNAME + A)", _response(
        big, "A", [(big, "CNAME", target), (target, "A", "203.0.113.9")]), big))
    return out


def _csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def udp_packet(dns_wire: bytes, l2: bool, src: str = RESOLVER_IP, dst: str = WORKLOAD_IP,
               sport: int = 53, dport: int = WORKLOAD_PORT) -> bytes:
    """IPv4/UDP packet carrying `dns_wire`; with an Ethernet header when `l2`."""
    udp_len = 8 + len(dns_wire)
    saddr, daddr = socket.inet_aton(src), socket.inet_aton(dst)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0, 0x4000, 64, socket.IPPROTO_UDP,
                     0, saddr, daddr)
    ip = ip[:10] + struct.pack("!H", _csum(ip)) + ip[12:]
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + dns_wire
    pkt = ip + udp
    if l2:
        pkt = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00" + pkt
    return pkt


def tcp_frame(dns_wire: bytes) -> bytes:
    """DNS over TCP framing: a 2-byte big-endian length prefix."""
    return struct.pack("!H", len(dns_wire)) + dns_wire
