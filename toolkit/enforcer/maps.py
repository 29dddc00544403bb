"""ctypes mirrors of the enforcer's map keys and values (reference_bpf/lib/enforcer.bpf.h,
reference_bpf/enforcer/datapath.bpf.h).

Contract: every Structure here has the same size and layout as its C counterpart (natural
alignment, checked against the object's BTF by tests/enforcer/test_layout.py); constants
repeat the C #defines. Addresses are 16 bytes (IPv4 v4-mapped), ports host order, times
CLOCK_BOOTTIME nanoseconds (bpf_ktime_get_boot_ns). Workload ids (the u64 named `cgid`
in the structs) are cgroup ids or interface keys (`iface_key`, bit 63 set). Pure: no
kernel access.
"""
from __future__ import annotations

import ctypes
import ipaddress
from ctypes import Structure, c_uint8, c_uint16, c_uint32, c_uint64

FQK_POLICY_SLOTS = 32
FQK_MAX_RULES = 64
FQK_PAT_LABELS = 16
FQK_MAX_RESOLVERS = 4
FQK_NAME_CAP_MAX = 64
DNS_MAX_ANSWERS = 32
DNS_MAX_NAME = 255
DNS_MAX_CNAME_HOPS = 8
FQK_TEST_RESULTS = 16
FQK_RULE_LABELS = 1
FQK_RULE_ALL = 2
FQK_F_AUDIT = 1
EV_DROP, EV_LEARN, EV_REJECT, EV_EVICT = 1, 2, 3, 4
# workload ids (the u64 "cgid" of every map): a cgroup v2 id, or an interface key
# (iface_key; reference_bpf/enforcer/datapath.bpf.h)
FQK_WL_IFACE = 1 << 63
FQK_NETNS_COOKIE_MASK = 0x7FFFFFFF
FQK_IF_L2 = 1
EVENT_TYPES = {EV_DROP: "drop", EV_LEARN: "learn", EV_REJECT: "reject", EV_EVICT: "evict"}

# maps created by the first object loaded and reused (by fd) by the others
SHARED_MAPS = ("fqk_workloads", "fqk_policies", "fqk_rules", "fqk_allow", "fqk_names",
               "fqk_queries", "fqk_counters", "fqk_events", "fqk_resolvers", "fqk_dns_socks",
               "fqk_names_zero", "fqk_tcp_state_map", "fqk_tcp_zero",
               "fqk_sock_tx")   # socket storage: workload tag + TCP send framing state


class DnsName(Structure):
    _fields_ = [("len", c_uint16), ("labels", c_uint16), ("wire", c_uint8 * (DNS_MAX_NAME + 1))]

    def text(self) -> str:
        return wire_to_text(bytes(self.wire[: self.len]))


class Label(Structure):
    _fields_ = [("plen", c_uint8), ("slen", c_uint8), ("star", c_uint8), ("pad", c_uint8),
                ("buf", c_uint8 * 64)]


class Rule(Structure):
    _fields_ = [("kind", c_uint8), ("multi", c_uint8), ("nlabels", c_uint8), ("pad", c_uint8),
                ("label", Label * FQK_PAT_LABELS)]


class Resolver(Structure):
    _fields_ = [("addr", c_uint8 * 16), ("port", c_uint16), ("pad", c_uint16)]


class Policy(Structure):
    _fields_ = [("nrules", c_uint32), ("nresolvers", c_uint32), ("min_ttl", c_uint32),
                ("per_name_cap", c_uint32), ("flags", c_uint32), ("generation", c_uint32),
                ("resolvers", Resolver * FQK_MAX_RESOLVERS)]


class Conn(Structure):
    _fields_ = [("waddr", c_uint8 * 16), ("raddr", c_uint8 * 16), ("wport", c_uint16),
                ("rport", c_uint16)]


class AllowKey(Structure):
    _fields_ = [("cgid", c_uint64), ("ip", c_uint8 * 16)]


class AllowVal(Structure):
    _fields_ = [("expiry_ns", c_uint64), ("name_hash", c_uint64)]


class NameKey(Structure):
    _fields_ = [("cgid", c_uint64), ("name_hash", c_uint64)]


class NameSlot(Structure):
    _fields_ = [("ip", c_uint8 * 16), ("expiry_ns", c_uint64)]


class NameIps(Structure):
    _fields_ = [("n", c_uint32), ("pad", c_uint32), ("slot", NameSlot * FQK_NAME_CAP_MAX),
                ("name", DnsName)]


class Learned(Structure):
    _fields_ = [("ip", c_uint8 * 16), ("ttl", c_uint32), ("family", c_uint32)]


class Result(Structure):
    _fields_ = [("valid", c_uint32), ("reason", c_uint32), ("id", c_uint16), ("qtype", c_uint16),
                ("qclass", c_uint16), ("nlearned", c_uint16), ("msg_len", c_uint32),
                ("qname", DnsName), ("learned", Learned * DNS_MAX_ANSWERS)]


class TestOut(Structure):
    _fields_ = [("n", c_uint32), ("pad", c_uint32), ("r", Result * FQK_TEST_RESULTS)]


class Iface(Structure):
    """struct fqk_iface (reference_bpf/enforcer/tc_iface.bpf.h): fqk_tc_cfg[0] of one
    interface workload's tc program instance (only in the tc objects' BTF)."""
    _fields_ = [("wid", c_uint64), ("flags", c_uint32), ("ifindex", c_uint32)]


class Event(Structure):
    _fields_ = [("ts_ns", c_uint64), ("cgid", c_uint64), ("ip", c_uint8 * 16), ("type", c_uint32),
                ("reason", c_uint32), ("ttl", c_uint32), ("port", c_uint16), ("proto", c_uint8),
                ("audit", c_uint8), ("name", c_uint8 * 64)]


STRUCT_SIZES = {  # C struct name -> mirror, for the layout test
    "dns_name": DnsName, "fqk_label": Label, "fqk_rule": Rule, "fqk_resolver": Resolver,
    "fqk_policy": Policy, "fqk_allow_key": AllowKey, "fqk_allow_val": AllowVal,
    "fqk_name_key": NameKey, "fqk_name_ips": NameIps, "fqk_result": Result,
    "fqk_test_out": TestOut, "fqk_event": Event, "fqk_conn": Conn,
}


def iface_key(netns_cookie: int, ifindex: int) -> int:
    """Workload id of interface `ifindex` in the network namespace whose cookie is
    `netns_cookie` (SO_NETNS_COOKIE): unique across namespaces, bit 63 set."""
    return FQK_WL_IFACE | (netns_cookie & FQK_NETNS_COOKIE_MASK) << 32 | (ifindex & 0xFFFFFFFF)


def is_iface_key(wid: int) -> bool:
    return bool(wid & FQK_WL_IFACE)


def workload_text(wid: int) -> str:
    """"cgroup 1234" or "iface ifindex 3 netns 5" (names come from the agent's state files)."""
    if is_iface_key(wid):
        return f"iface ifindex {wid & 0xFFFFFFFF} netns {(wid >> 32) & FQK_NETNS_COOKIE_MASK}"
    return f"cgroup {wid}"


def ip16(addr: str) -> bytes:
    """An address as the BPF side stores it: IPv6 as is, IPv4 as ::ffff:a.b.c.d."""
    ip = ipaddress.ip_address(addr)
    if ip.version == 4:
        return b"\0" * 10 + b"\xff\xff" + ip.packed
    return ip.packed


def ip_text(b: bytes) -> str:
    ip = ipaddress.IPv6Address(bytes(b))
    return str(ip.ipv4_mapped) if ip.ipv4_mapped else str(ip)


def name_to_wire(name: str) -> bytes:
    """Lower-cased wire form of a dotted name ("Example.COM." -> b"\\x07example\\x03com\\x00")."""
    name = name.rstrip(".").lower()
    out = b""
    if name:
        for label in name.split("."):
            b = label.encode("ascii")
            out += bytes([len(b)]) + b
    return out + b"\0"


_ESCAPED = b'"().;\\@$'  # escaped with a backslash in presentation format (as dnspython)


def wire_to_text(wire: bytes) -> str:
    """Dotted text of a flattened wire name in presentation format (RFC 1035 5.1, the
    escaping dnspython uses): special characters as \\c, other bytes outside printable
    ASCII as \\DDD."""
    labels, i = [], 0
    while i < len(wire) and wire[i]:
        n = wire[i]
        raw = wire[i + 1: i + 1 + n]
        labels.append("".join(("\\" + chr(c)) if c in _ESCAPED else chr(c) if 0x20 < c < 0x7f
                              else f"\\{c:03d}" for c in raw))
        i += 1 + n
    return ".".join(labels) + "." if labels else "."


def name_hash(wire: bytes) -> int:
    """FNV-1a 64 of the wire name, as fqk_g_name_hash() computes it."""
    h = 0xcbf29ce484222325
    for c in wire:
        h ^= c
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def to_bytes(s: Structure) -> bytes:
    return ctypes.string_at(ctypes.addressof(s), ctypes.sizeof(s))


def from_bytes(cls, data: bytes):
    return cls.from_buffer_copy(data[: ctypes.sizeof(cls)])
