"""Reference model of reference_bpf/lib/dns_walk.bpf.h and dns_rr.bpf.h, and of what the
technique program dns_walk_tc.bpf.c writes into its walk_out map.

Contract: pure Python, no kernel. `read_name(msg, off)` follows the same rules and returns
the same codes as dns_name_read (see the header's comment); `walk_qname(msg)` and
`walk_answers(msg)` compute the WalkResult the two BPF programs must produce for a DNS
message; `parse_result(raw)` decodes the map value. The reason codes are read from
reference_bpf/lib/reasons.def.h so the model and the BPF code share one table.
"""
from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

REASONS_DEF = Path(__file__).resolve().parents[2] / "reference_bpf" / "lib" / "reasons.def.h"
_ENTRY = re.compile(r'^FQDNKIT_REASON\((\w+),\s*(\d+),\s*"([^"]*)"\)\s*$')


def load_reasons(path: Path = REASONS_DEF) -> dict[str, int]:
    """NAME -> value of every FQDNKIT_REASON line of reasons.def.h."""
    out = {}
    for line in path.read_text().splitlines():
        m = _ENTRY.match(line.strip())
        if m:
            out[m.group(1)] = int(m.group(2))
    if not out:
        raise ValueError(f"{path}: no FQDNKIT_REASON(...) entries found")
    return out


E = load_reasons()
HDR_LEN, MAX_NAME, MAX_HOPS, MSG_MAX, MAX_RR = 12, 255, 16, 4096, 4   # MAX_RR: WALK_MAX_RR
TC_ACT_OK, TC_ACT_SHOT = 0, 2


def _lower(b: bytes) -> bytes:
    return bytes(c | 0x20 if 0x41 <= c <= 0x5A else c for c in b)


def read_name(msg: bytes, off: int) -> tuple[int, bytes, int]:
    """(return value, flattened lower-cased wire name, labels) as dns_name_read gives them.

    On error the name is b"" (the BPF output is then partial and not compared)."""
    n = len(msg)
    pos = seg = off
    hops = end = labels = 0
    lim = n          # reads stay below: the message end, then the latest pointer's segment start

    def past_lim() -> int:
        return -E["DNS_E_PTR_OVERLAP"] if end else -E["DNS_E_TRUNCATED"]
    out = bytearray()
    while True:
        if pos >= lim:
            return past_lim(), b"", 0
        c = msg[pos]
        if c & 0xC0 == 0xC0:
            if pos + 2 > lim:
                return past_lim(), b"", 0
            target = ((c & 0x3F) << 8) | msg[pos + 1]
            if target < HDR_LEN:
                return -E["DNS_E_PTR_INTO_HEADER"], b"", 0
            if target >= pos:
                return -E["DNS_E_PTR_FORWARD"], b"", 0
            if target >= seg:
                return -E["DNS_E_PTR_LOOP"], b"", 0
            if hops >= MAX_HOPS:
                return -E["DNS_E_PTR_TOO_MANY_HOPS"], b"", 0
            hops += 1
            if not end:
                end = pos + 2
            lim = seg    # the target's name must end before the segment holding the pointer
            seg = pos = target
            continue
        if c & 0xC0:
            return -E["DNS_E_BAD_LABEL_TYPE"], b"", 0
        if c == 0:
            out.append(0)
            return (end or pos + 1), bytes(out), labels
        if len(out) + c + 2 > MAX_NAME:
            return -E["DNS_E_NAME_TOO_LONG"], b"", 0
        if pos + c >= lim:
            return past_lim(), b"", 0
        out += bytes([c]) + _lower(msg[pos + 1:pos + 1 + c])
        labels += 1
        pos += 1 + c


@dataclass
class RR:
    type: int
    rclass: int
    ttl: int
    rdlength: int
    rdata_off: int
    name_off: int
    next_off: int


@dataclass
class WalkResult:
    msg_len: int = 0
    qname_ret: int = 0
    owner_ret: int = 0
    eq: int = 0
    an_ret: int = 0
    an_parsed: int = 0
    rrs: list[RR] = field(default_factory=list)
    qname: bytes = b""
    qname_labels: int = 0
    owner: bytes = b""
    owner_labels: int = 0
    retval: int = TC_ACT_OK


_HEAD = struct.Struct("<5iI")
_RR = struct.Struct("<HHIHHHH")
_NAME = struct.Struct("<HH256s")
RESULT_SIZE = _HEAD.size + MAX_RR * _RR.size + 2 * _NAME.size


def parse_result(raw: bytes, retval: int) -> WalkResult:
    """Decode struct walk_result (layout of dns_walk_tc.bpf.c)."""
    if len(raw) != RESULT_SIZE:
        raise ValueError(f"walk_out value is {len(raw)} bytes, dns_walk_tc.bpf.c layout is {RESULT_SIZE}")
    msg_len, qret, oret, eq, an_ret, an_parsed = _HEAD.unpack_from(raw, 0)
    off = _HEAD.size
    rrs = [RR(*_RR.unpack_from(raw, off + i * _RR.size)) for i in range(min(an_parsed, MAX_RR))]
    off += MAX_RR * _RR.size
    qlen, qlabels, qwire = _NAME.unpack_from(raw, off)
    olen, olabels, owire = _NAME.unpack_from(raw, off + _NAME.size)
    return WalkResult(msg_len, qret, oret, eq, an_ret, an_parsed, rrs,
                      qwire[:qlen] if qret > 0 else b"", qlabels if qret > 0 else 0,
                      owire[:olen] if oret > 0 else b"", olabels if oret > 0 else 0, retval)


def _u16(msg: bytes, i: int) -> int:
    return (msg[i] << 8) | msg[i + 1]


def _load(msg: bytes) -> WalkResult | None:
    if len(msg) < HDR_LEN:
        return WalkResult(msg_len=-E["DNS_E_MSG_TOO_SHORT"], retval=TC_ACT_SHOT)
    if len(msg) > MSG_MAX:
        return WalkResult(msg_len=-E["DNS_E_MSG_TOO_LONG"], retval=TC_ACT_SHOT)
    return None


def walk_qname(msg: bytes) -> WalkResult:
    """What the walk_qname program writes for DNS message `msg`."""
    bad = _load(msg)
    if bad:
        return bad
    r = WalkResult(msg_len=len(msg))
    r.qname_ret, r.qname, r.qname_labels = read_name(msg, HDR_LEN)
    if r.qname_ret < 0:
        r.retval = TC_ACT_SHOT
        return r
    if _u16(msg, 6) == 0:
        return r
    r.owner_ret, r.owner, r.owner_labels = read_name(msg, r.qname_ret + 4)
    if r.owner_ret < 0:
        r.retval = TC_ACT_SHOT
        return r
    r.eq = int(r.qname.lower() == r.owner.lower())
    return r


def skip_name(msg: bytes, off: int) -> int:
    return read_name(msg, off)[0]


def rr_next(msg: bytes, off: int) -> tuple[int, RR | None]:
    p = skip_name(msg, off)
    if p < 0:
        return p, None
    rdata = p + 10
    if rdata > len(msg):
        return -E["DNS_E_RR_TRUNCATED"], None
    rdlength = _u16(msg, p + 8)
    end = rdata + rdlength
    if end > len(msg):
        return -E["DNS_E_RR_TRUNCATED"], None
    ttl = struct.unpack_from("!I", msg, p + 4)[0]
    return end, RR(_u16(msg, p), _u16(msg, p + 2), ttl, rdlength, rdata, off, end)


def walk_answers(msg: bytes) -> WalkResult:
    """What the walk_answers program writes for DNS message `msg`."""
    bad = _load(msg)
    if bad:
        return bad
    r = WalkResult(msg_len=len(msg))
    p = skip_name(msg, HDR_LEN)
    if p >= 0 and p + 4 > len(msg):
        p = -E["DNS_E_TRUNCATED"]
    off = r.an_ret = p if p < 0 else p + 4
    if off < 0:
        r.retval = TC_ACT_SHOT
        return r
    count = _u16(msg, 6)
    while r.an_parsed < min(count, MAX_RR):
        nxt, rr = rr_next(msg, off)
        r.an_ret = nxt
        if nxt < 0:
            break
        r.rrs.append(rr)
        r.an_parsed += 1
        off = nxt
    r.retval = TC_ACT_SHOT if r.an_ret < 0 else TC_ACT_OK
    return r


def udp_packet(payload: bytes, ipv6: bool = False) -> bytes:
    """Ethernet + IPv4/IPv6 + UDP (53 -> 40000) around `payload`."""
    udp = struct.pack("!HHHH", 53, 40000, 8 + len(payload), 0)
    if ipv6:
        ip = struct.pack("!IHBB16s16s", 6 << 28, 8 + len(payload), 17, 64, b"\0" * 15 + b"\1", b"\0" * 15 + b"\2")
        return b"\0" * 12 + b"\x86\xdd" + ip + udp + payload
    total = 20 + 8 + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0, 64, 17, 0, bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    return b"\0" * 12 + b"\x08\x00" + ip + udp + payload
