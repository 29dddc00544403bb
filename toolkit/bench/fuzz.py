"""Differential fuzzing of the in-kernel DNS parser against dnspython.

Contract: `Fuzzer(seed)` makes DNS responses: `seeds()` builds a corpus of valid
responses (A/AAAA, CNAME chains in any order, compression, authority/additional records,
EDNS, maximum-length names); `mutate(wire)` applies 1-4 byte-level mutations (bit flips,
interesting bytes, inserted/deleted/duplicated chunks, truncation, compression pointers
injected backwards/forwards/into the header, header count changes, splices of two seeds).
`tcp_stream(msgs)` frames messages with 2-byte length prefixes and cuts the byte stream at
random points (several messages per segment, one message across segments, 1-byte segments).

`compare(results, wires, ...)` checks what the kernel parser said (one dict per message,
the `fqdnkit dns-parse --output json` shape: valid, qname, learned [{ip, ttl}], reason)
against oracle.learn on the same bytes and classifies each message:
  agree              same validity and, when valid, the same question name and learned set
                     (kernel TTLs >= 2^31 read as 0, RFC 2181, as dnspython does);
  learned_invalid    the kernel learned an address from a message dnspython/the rules call
                     invalid (must be 0);
  learned_differs    both valid, different learned sets or question names (must be 0);
  count_mismatch     a TCP stream yielded a different number of messages (must be 0);
  rejected_valid     the kernel refused a message the oracle accepts (stricter; listed);
  accepted_invalid   the kernel accepted a message the oracle refuses but learned nothing;
  rejected_unchecked the kernel refused it and learned nothing, and the oracle was not run
                     (it runs on 1 in ORACLE_SAMPLE_REJECTED of those: dnspython is the
                     slowest part, and such a message cannot break the goal).
For invalid messages the part dnspython objects to (section, record type, RDATA or not)
is tallied in `where`, to tell parser bugs from RDATA of types the enforcer does not read.
`run(parse, n, batch, tcp_share)` drives it; `parse(list_of_wires, tcp)` is the kernel
side (enforcer_glue.dns_parser()). Samples of every non-agreeing class are kept (hex).
"""
from __future__ import annotations

import random
import struct
import time
from collections import Counter

import dns.exception
import dns.message
import dns.name
import dns.rrset

from .oracle import learn

INTERESTING = [0x00, 0x01, 0x3F, 0x40, 0x7F, 0x80, 0xC0, 0xC1, 0xFF, 0x0C, 0x0B, 0x3E]
SAMPLES_PER_CLASS = 5
BAD = ("learned_invalid", "learned_differs", "count_mismatch")   # the goal: none of these
MAX_MSG = 3400          # BPF_PROG_TEST_RUN takes ~3.5 KB of data per run (harness limit)


class Fuzzer:
    def __init__(self, seed: int = 1):
        self.r = random.Random(seed)
        self._seeds: list[bytes] | None = None

    # --- corpus ------------------------------------------------------------------------
    def _name(self, depth: int | None = None) -> str:
        r = self.r
        depth = depth or r.randint(1, 5)
        labels = []
        for _ in range(depth):
            n = r.choice([1, 3, 5, 8, 12, 63]) if r.random() < 0.9 else r.randint(1, 63)
            labels.append("".join(r.choice("abcdefghijklmnopqrstuvwxyz0123456789-") for _ in range(n)))
        name = ".".join(labels) + r.choice([".example.com.", ".test.", ".co.uk."])
        if sum(len(x) + 1 for x in name.split(".")) > 255:
            return self._name(2)
        return name

    def random_response(self) -> bytes:
        r = self.r
        qname = self._name()
        if r.random() < 0.3:
            qname = "".join(c.upper() if r.random() < 0.5 else c for c in qname)
        qtype = r.choice(["A", "AAAA"])
        q = dns.message.make_query(qname, qtype, use_edns=r.random() < 0.3)
        q.id = r.randint(0, 0xFFFF)
        m = dns.message.make_response(q)
        chain = [qname]
        for _ in range(r.choice([0, 0, 0, 0, 1, 1, 2, 3, 8, 9])):
            chain.append(self._name())
        rrsets = []
        for a, b in zip(chain, chain[1:]):
            rrsets.append(dns.rrset.from_text(a, r.randint(0, 86400), "IN", "CNAME", b))
        owner = chain[-1] if r.random() < 0.9 else self._name()
        for _ in range(r.choice([0, 1, 1, 1, 2, 2, 3, 4, 4, 8, 20, 33] if r.random() < 0.5 else [1, 2, 4])):
            if r.random() < 0.6:
                rd = ".".join(str(r.randint(0, 255)) for _ in range(4))
                rrsets.append(dns.rrset.from_text(owner, r.randint(0, 86400), "IN", "A", rd))
            else:
                rd = ":".join(f"{r.randint(0, 0xFFFF):x}" for _ in range(8))
                rrsets.append(dns.rrset.from_text(owner, r.randint(0, 86400), "IN", "AAAA", rd))
        r.shuffle(rrsets)
        for rs in rrsets:
            m.answer.append(rs)
        if r.random() < 0.3:
            m.authority.append(dns.rrset.from_text("example.com.", 300, "IN", "NS", "ns1.example.com."))
        if r.random() < 0.3:
            m.additional.append(dns.rrset.from_text("ns1.example.com.", 300, "IN", "A", "192.0.2.53"))
        if r.random() < 0.1:
            m.additional.append(dns.rrset.from_text(qname, 300, "IN", "A", "192.0.2.66"))
        try:
            return m.to_wire(max_size=MAX_MSG)
        except dns.exception.TooBig:
            return self.random_response()

    def seeds(self, n: int = 400) -> list[bytes]:
        if self._seeds is None:
            from .messages import cases
            self._seeds = [c.wire for c in cases()] + [self.random_response() for _ in range(n)]
        return self._seeds

    # --- mutation ------------------------------------------------------------------------
    def mutate(self, wire: bytes) -> bytes:
        r = self.r
        b = bytearray(wire)
        for _ in range(r.choice([1, 1, 1, 2, 3, 4])):
            op = r.randrange(10)
            if not b:
                b = bytearray(r.choice(self.seeds()))
            i = r.randrange(len(b))
            if op == 0:
                b[i] ^= 1 << r.randrange(8)
            elif op == 1:
                b[i] = r.choice(INTERESTING)
            elif op == 2:
                b[i] = r.randrange(256)
            elif op == 3:
                del b[i:i + r.randint(1, 8)]
            elif op == 4:
                b[i:i] = bytes(r.randrange(256) for _ in range(r.randint(1, 8)))
            elif op == 5:
                del b[r.randint(0, len(b)):]
            elif op == 6:      # compression pointer: backwards, forwards, into the header, self
                tgt = r.choice([r.randrange(max(i, 1)), r.randrange(len(b) + 16), r.randrange(12), i])
                b[i:i + 2] = bytes([0xC0 | (tgt >> 8) & 0x3F, tgt & 0xFF])
            elif op == 7:      # header counts
                off = r.choice([4, 6, 8, 10])
                cnt = r.choice([0, 1, 2, 33, 65, 0xFFFF, struct.unpack("!H", bytes(b[off:off + 2]).ljust(2, b"\0"))[0] + r.choice([-1, 1])])
                b[off:off + 2] = struct.pack("!H", cnt & 0xFFFF)
            elif op == 8:      # duplicate a chunk
                j = r.randrange(len(b))
                b[i:i] = b[j:j + r.randint(1, 32)]
            else:              # splice with another seed
                other = r.choice(self.seeds())
                k = r.randrange(len(other))
                b = b[:i] + bytearray(other[k:])
        return bytes(b[:MAX_MSG])

    def message(self) -> bytes:
        r = self.r
        if r.random() < 0.1:
            return r.choice(self.seeds()) if r.random() < 0.5 else self.random_response()
        return self.mutate(r.choice(self.seeds()))

    def tcp_stream(self, msgs: list[bytes]) -> list[bytes]:
        """Segments of the framed stream of `msgs`, cut at random points."""
        r = self.r
        stream = b"".join(struct.pack("!H", len(m)) + m for m in msgs)
        cuts = sorted(set(r.randrange(1, len(stream)) for _ in range(r.randint(0, 6)))) if len(stream) > 1 else []
        if r.random() < 0.1 and len(stream) > 3:
            cuts = sorted(set(cuts) | {1, 2})      # prefix split byte by byte
        cuts = sorted(set(cuts) | set(range(MAX_MSG, len(stream), MAX_MSG)))
        segs, last = [], 0
        for c in cuts + [len(stream)]:
            segs.append(stream[last:c])
            last = c
        return [s for s in segs if s]


RFC2181_TTL_MAX = 2**31 - 1
ORACLE_SAMPLE_REJECTED = 20     # check 1 in N of the messages the kernel rejected, learning nothing


def _kernel_ttl(t: int) -> int:
    """RFC 2181 8: a TTL with the top bit set is 0 (dnspython applies it when parsing;
    dns-parse reports the raw 32-bit value)."""
    return int(t) if int(t) <= RFC2181_TTL_MAX else 0


def where_invalid(wire: bytes) -> str:
    """Which part of the message dnspython objects to: the section and type of the record
    whose bytes hold the first error, or header/question."""
    import dns.rdatatype
    try:
        m = dns.message.from_wire(wire, one_rr_per_rrset=True, continue_on_error=True)
        errs = getattr(m, "errors", [])
    except Exception:        # noqa: BLE001 - errors before the records: header or question
        return "header/question"
    if not errs:
        return "rules (not dnspython)"
    off = errs[0].offset
    try:
        qd, an, ns, ar = struct.unpack("!HHHH", wire[4:12])
        p = 12

        def skip(p):
            while True:
                ln = wire[p]
                if ln & 0xC0 == 0xC0:
                    return p + 2
                if ln == 0:
                    return p + 1
                p += ln + 1
        for _ in range(qd):
            p = skip(p) + 4
        for sec, cnt in (("answer", an), ("authority", ns), ("additional", ar)):
            for _ in range(cnt):
                start = p
                p = skip(p)
                t, _c, _ttl, rdlen = struct.unpack("!HHIH", wire[p:p + 10])
                end = p + 10 + rdlen
                if start <= off <= end:
                    part = "RDATA" if off > p + 10 else "owner/fixed fields"
                    return f"{sec} {dns.rdatatype.to_text(t)} {part}"
                p = end
    except (IndexError, struct.error):
        pass
    return f"{type(errs[0].exception).__name__} at {off}"


_ORACLE_CACHE: dict[bytes, object] = {}


def remember_seeds(seeds: list[bytes]) -> None:
    """Precompute the oracle for the seeds (about 10% of the messages are unmutated seeds)."""
    for w in seeds:
        _ORACLE_CACHE[w] = learn(w)


def _learn_cached(wire: bytes):
    o = _ORACLE_CACHE.get(wire)
    return o if o is not None else learn(wire)


def classify(res: dict, wire: bytes, check_rejected: bool = True) -> tuple[str, object]:
    k_learned = {(x["ip"], _kernel_ttl(x["ttl"])) for x in res.get("learned", [])}
    k_valid = bool(res.get("valid"))
    if not k_valid and not k_learned and not check_rejected:
        return "rejected_unchecked", None
    o = _learn_cached(wire)
    if not o.valid:
        if k_learned:
            return "learned_invalid", o
        return ("accepted_invalid" if k_valid else "agree"), o
    if not k_valid:
        return "rejected_valid", o
    if k_learned != o.learned or not _same_name(res.get("qname"), o.qname):
        return "learned_differs", o
    return "agree", o


def _same_name(kernel: str | None, oracle: str) -> bool:
    """Names compared as DNS names (escapes such as \\192 or \\" differ between printers)."""
    if kernel is None:
        return False
    try:
        return dns.name.from_text(kernel) == dns.name.from_text(oracle)
    except dns.exception.DNSException:
        return kernel.lower().rstrip(".") == oracle


def compare(results: list[dict], wires: list[bytes], tally: Counter, samples: dict,
            where: Counter | None = None) -> None:
    """Classify each (kernel result, message) pair into `tally`; keep samples; count in
    `where` which part of the message made the non-agreeing invalid ones invalid."""
    if len(results) != len(wires):
        tally["count_mismatch"] += 1
        if len(samples.setdefault("count_mismatch", [])) < SAMPLES_PER_CLASS:
            samples["count_mismatch"].append({"expected": len(wires), "got": len(results),
                                              "hex": [w.hex() for w in wires]})
        return
    for res, wire in zip(results, wires):
        n = tally["_seen"] = tally["_seen"] + 1
        cls, o = classify(res, wire, check_rejected=n % ORACLE_SAMPLE_REJECTED == 0)
        tally[cls] += 1
        if cls in ("agree", "rejected_unchecked"):
            continue
        w = where_invalid(wire) if cls in ("learned_invalid", "accepted_invalid") else ""
        if where is not None and w:
            where[f"{cls}: {w}"] += 1
        if len(samples.setdefault(cls, [])) < SAMPLES_PER_CLASS:
            samples[cls].append({"hex": wire.hex(), "kernel": res, "where": w, "oracle": {
                "valid": o.valid, "qname": o.qname, "learned": sorted(o.learned), "reason": o.reason}})


def run(parse, n: int, batch: int = 2000, tcp_share: float = 0.2, seed: int = 1,
        progress=None) -> dict:
    """Fuzz `n` messages: (1 - tcp_share) as single UDP messages, the rest over TCP framing."""
    fz = Fuzzer(seed)
    remember_seeds(fz.seeds())
    tally: Counter = Counter()
    where: Counter = Counter()
    samples: dict = {}
    t0 = time.monotonic()
    done = udp_n = tcp_n = 0
    next_report = 0.0
    while done < n:
        k = min(batch, n - done)
        msgs = [fz.message() for _ in range(k)]
        if fz.r.random() < tcp_share:
            # TCP: a run of short streams; only messages whose length fits the prefix
            msgs = [m[:0xFFFF] for m in msgs]
            i = 0
            while i < len(msgs):
                grp = msgs[i:i + fz.r.randint(1, 4)]
                results = parse(fz.tcp_stream(grp), True)
                compare(results, grp, tally, samples, where)
                i += len(grp)
            tcp_n += k
        else:
            compare(parse(msgs, False), msgs, tally, samples, where)
            udp_n += k
        done += k
        if progress and time.monotonic() >= next_report:
            rate = done / max(time.monotonic() - t0, 1e-9)
            progress.note(f"fuzz {done}/{n} messages ({rate:,.0f}/s), non-agreeing: "
                          f"{sum(v for c, v in tally.items() if c in BAD)}")
            next_report = time.monotonic() + 10
    dt = time.monotonic() - t0
    tally.pop("_seen", None)
    return {"messages": n, "where": dict(where), "oracle_sample_rejected": ORACLE_SAMPLE_REJECTED,
            "udp": udp_n, "tcp": tcp_n, "seconds": dt, "rate_per_s": n / dt if dt else None,
            "seed": seed, "tally": dict(tally), "samples": samples,
            "goal_met": not any(tally[c] for c in BAD)}
