#!/usr/bin/env python3
"""Run a corpus of DNS wire files through the enforcer's in-kernel parser and dnspython.

Usage: scripts/dns_corpus_check.py CORPUS_DIR [--json] [--quiet]   (root; `make build` first)

Corpus layout: any tree of files under CORPUS_DIR; the first directory level is the
category (its source, e.g. zeek/, unbound/, malicious/). `*.bin` is one DNS message as
carried by UDP; `*.tcp` is a DNS-over-TCP byte stream (2-byte length-prefixed messages).
Other files are ignored.

Kernel side: `fqdnkit dns-parse`'s harness (toolkit/enforcer/harness.py, BPF_PROG_TEST_RUN
of build/enforcer/dns_parse_test.bpf.o). A UDP message goes through fqk_test_udp; one
longer than a test run takes (3500 bytes) but within DNS_MSG_MAX goes through the TCP
framing path in two segments (same parse function); one longer than DNS_MSG_MAX (4096)
is not run (the kernel drops it by design: DNS_E_MSG_TOO_LONG). A TCP stream is fed twice
through fqk_test_tcp: coalesced (chunks of up to 3400 bytes, several messages per
segment) and split (a cut after the first prefix byte and in the middle of each body);
both runs must report one result per complete message before the first prefix above
4096 (the kernel abandons the stream there).

Oracle: toolkit/bench/oracle.py (dnspython 2.x plus the issue's rules), compared as the
fuzzer compares (toolkit/bench/fuzz.classify). A message on which the kernel is stricter
than dnspython is "explained" only when it falls under a documented category (see
docs/ENFORCER.md, "Stricter than dnspython") and the message shows the cause:
  unchecked-type  reason FQK_DNS_RR_TYPE and an RR of a type/class whose RDATA the kernel
                  does not check (or TXT/SPF with more than 64 strings)
  mailbox-type    an MD/MF/MB/MG/MR/MINFO RR: the kernel reads its RDATA as RFC 1035
                  names, dnspython 2.x keeps it opaque
  opt-options     reason FQK_DNS_BAD_OPT and an OPT RR with more than 16 options
  too-long        a message over 4096 bytes (UDP) or after a TCP prefix over 4096
Every other difference is a disagreement: printed, and the exit status is 1.
Exit 0 when there is none, 2 on usage errors (no corpus, nothing built).
"""
from __future__ import annotations

import argparse
import json
import struct
import sys
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import dns.exception  # noqa: E402
import dns.message  # noqa: E402
import dns.rdataclass  # noqa: E402
import dns.rdatatype  # noqa: E402

from toolkit.bench import fuzz  # noqa: E402
from toolkit.bench.oracle import learn  # noqa: E402

MSG_MAX = 4096          # DNS_MSG_MAX of reference_bpf/lib/dns_walk.bpf.h
RUN_MAX = 3400          # bytes per test run we feed (harness limit 3500)
PER_RUN = 16            # messages completing in one test run (FQK_TEST_RESULTS)
# RR types whose RDATA the kernel checks (dns_msg.bpf.h fqk_g_rr / fqk_g_rdata_names)
CHECKED_ANY_CLASS = {2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 14, 15, 16, 17, 39, 41, 46, 99}
CHECKED_IN_ONLY = {1, 28, 33}
MAILBOX_TYPES = {3, 4, 7, 8, 9, 14}      # MD MF MB MG MR MINFO
MAX_STRINGS, MAX_OPTIONS = 64, 16
DOCUMENTED = ("unchecked-type", "mailbox-type", "opt-options", "too-long")


def _records(wire: bytes):
    """(section, type, class, rdata) of every RR dnspython finds, [] if it cannot parse."""
    try:
        m = dns.message.from_wire(wire, one_rr_per_rrset=True)
    except (dns.exception.DNSException, ValueError, IndexError, UnicodeError):
        return None, []
    out = []
    for sec, rrsets in (("answer", m.answer), ("authority", m.authority), ("additional", m.additional)):
        for rs in rrsets:
            for rd in rs:
                out.append((sec, rs.rdtype, rs.rdclass, rd))
    return m, out


def explain(res: dict, wire: bytes) -> str | None:
    """Documented category of a message the kernel rejects and dnspython accepts, or None."""
    reason = res.get("reason") or ""
    if len(wire) > MSG_MAX:
        return "too-long"
    m, recs = _records(wire)
    if m is None:
        return None
    if any(t in MAILBOX_TYPES for _s, t, _c, _r in recs):
        return "mailbox-type"
    if reason == "FQK_DNS_RR_TYPE":
        for _s, t, c, rd in recs:
            if not (t in CHECKED_ANY_CLASS or (t in CHECKED_IN_ONLY and c == dns.rdataclass.IN)):
                return "unchecked-type"
            if t in (16, 99) and len(rd.strings) > MAX_STRINGS:
                return "unchecked-type"
    if reason == "FQK_DNS_BAD_OPT" and m.opt is not None and len(m.opt[0].options) > MAX_OPTIONS:
        return "opt-options"
    return None


def judge(res: dict, wire: bytes) -> tuple[str, str]:
    """(class, detail): class is agree, explained or a fuzz.classify disagreement class."""
    cls, o = fuzz.classify(res, wire, check_rejected=True)
    if cls == "agree":
        return "agree", ""
    if cls == "rejected_valid":
        why = explain(res, wire)
        if why:
            return "explained", why
    oracle = o.reason if o is not None and not o.valid else "valid"
    return cls, f"kernel {res.get('reason') or 'valid'} learned={res.get('learned')}; oracle {oracle}"


def split_stream(stream: bytes) -> tuple[list[bytes], list[bytes]]:
    """(messages the kernel must report, messages after a prefix > 4096 it abandons)."""
    done, p = [], 0
    while p + 2 <= len(stream):
        n = struct.unpack("!H", stream[p:p + 2])[0]
        if n > MSG_MAX:
            rest, q = [], p
            while q + 2 <= len(stream):
                k = struct.unpack("!H", stream[q:q + 2])[0]
                if q + 2 + k > len(stream):
                    break
                rest.append(stream[q + 2:q + 2 + k])
                q += 2 + k
            return done, rest
        if p + 2 + n > len(stream):
            break
        done.append(stream[p + 2:p + 2 + n])
        p += 2 + n
    return done, []


def coalesced(stream: bytes) -> list[bytes]:
    """Whole framed messages packed into segments (<= RUN_MAX bytes, <= PER_RUN messages:
    the test-run result map holds 16); a longer message is cut into RUN_MAX pieces."""
    frames, p = [], 0
    while p < len(stream):
        n = struct.unpack("!H", stream[p:p + 2])[0] if p + 2 <= len(stream) else 0
        frames.append(stream[p:p + 2 + n])
        p += 2 + n
    out, cur, k = [], b"", 0
    for f in frames:
        if cur and (len(cur) + len(f) > RUN_MAX or k == PER_RUN):
            out.append(cur)
            cur, k = b"", 0
        if len(f) > RUN_MAX:
            out += [f[i:i + RUN_MAX] for i in range(0, len(f), RUN_MAX)]
            continue
        cur += f
        k += 1
    return out + ([cur] if cur else [])


def split(stream: bytes) -> list[bytes]:
    cuts, p = set(), 0
    while p + 2 <= len(stream):
        n = struct.unpack("!H", stream[p:p + 2])[0]
        cuts |= {p + 1, p + 2 + n // 2}
        p += 2 + n
    cuts |= set(range(RUN_MAX, len(stream), RUN_MAX))
    pts = [0] + sorted(c for c in cuts if 0 < c < len(stream)) + [len(stream)]
    segs = [stream[a:b] for a, b in zip(pts, pts[1:]) if b > a]
    out = []
    for s in segs:                       # keep every run within the harness limit
        out += [s[i:i + RUN_MAX] for i in range(0, len(s), RUN_MAX)]
    return out


class Checker:
    """Judges files; `rows` holds (category, file, index, class, detail) per message."""

    def __init__(self, harness):
        self.h = harness
        self.rows: list[tuple[str, str, int, str, str]] = []
        self.kinds: list[tuple[str, bool, int]] = []     # (category, QR set, IPs learned)

    def _add(self, cat, name, i, cls, detail="", wire=b"", res=None):
        self.rows.append((cat, name, i, cls, detail))
        self.kinds.append((cat, len(wire) > 2 and bool(wire[2] & 0x80),
                           len((res or {}).get("learned") or []) if cls == "agree" else 0))

    def udp(self, cat: str, name: str, wire: bytes) -> None:
        if len(wire) > MSG_MAX:
            res = {"valid": False, "reason": "DNS_E_MSG_TOO_LONG", "learned": [], "qname": None}
        elif len(wire) + 14 > 3500:
            self.h.reset_stream()
            frame = struct.pack("!H", len(wire)) + wire
            got = self.h.parse_tcp([(name + "#1", frame[:len(frame) // 2]), (name + "#2", frame[len(frame) // 2:])])
            if len(got) != 1:
                self._add(cat, name, 0, "count_mismatch", f"{len(got)} results for 1 message")
                return
            res = got[0]
        else:
            res = self.h.parse_udp(name, wire)
        self._add(cat, name, 0, *judge(res, wire), wire, res)

    def tcp(self, cat: str, name: str, stream: bytes) -> None:
        msgs, abandoned = split_stream(stream)
        for how, segs in (("coalesced", coalesced(stream)), ("split", split(stream))):
            got = self.h.parse_tcp([(f"{name}:{how}{i}", s) for i, s in enumerate(segs)])
            if len(got) != len(msgs):
                self._add(cat, f"{name} ({how})", 0, "count_mismatch",
                          f"{len(got)} results for {len(msgs)} complete messages")
                continue
            for i, (res, wire) in enumerate(zip(got, msgs)):
                self._add(cat, f"{name} ({how})", i, *judge(res, wire), wire, res)
            for j, wire in enumerate(abandoned):
                res = {"valid": False, "reason": "FQK_TCP_FRAMING", "learned": [], "qname": None}
                cls, detail = judge(res, wire)
                if cls == "rejected_valid":
                    cls, detail = "explained", "too-long"
                self._add(cat, f"{name} ({how})", len(msgs) + j, cls, detail, wire, res)

    def run(self, root: Path) -> None:
        files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".bin", ".tcp"))
        for p in files:
            rel = p.relative_to(root)
            cat = rel.parts[0] if len(rel.parts) > 1 else "(top)"
            data = p.read_bytes()
            if p.suffix == ".bin":
                self.udp(cat, str(rel), data)
            else:
                self.tcp(cat, str(rel), data)

    def summary(self) -> dict:
        per = defaultdict(Counter)
        for cat, qr, learned in self.kinds:
            per[cat]["responses"] += qr
            per[cat]["learning"] += learned > 0
        for cat, _f, _i, cls, detail in self.rows:
            per[cat]["messages"] += 1
            per[cat][cls] += 1
            if cls == "explained":
                per[cat]["explained:" + detail] += 1
        total = Counter()
        for c in per.values():
            total.update(c)
        bad = [r for r in self.rows if r[3] not in ("agree", "explained")]
        return {"categories": {k: dict(v) for k, v in sorted(per.items())}, "total": dict(total),
                "disagreements": [{"category": c, "file": f, "message": i, "class": k, "detail": d}
                                  for c, f, i, k, d in bad]}


def print_table(s: dict) -> None:
    print("messages: DNS messages judged (a TCP stream counts once per feeding: coalesced, split);"
          " responses: QR=1; learning: agreed and learned >= 1 IP")
    print(f"{'category':<14}{'messages':>9}{'responses':>10}{'learning':>9}{'agree':>8}{'explained':>10}"
          f"{'disagree':>9}  explained by")
    rows = list(s["categories"].items()) + [("TOTAL", s["total"])]
    for cat, c in rows:
        dis = c.get("messages", 0) - c.get("agree", 0) - c.get("explained", 0)
        ex = ", ".join(f"{k.split(':', 1)[1]} {v}" for k, v in sorted(c.items()) if k.startswith("explained:"))
        print(f"{cat:<14}{c.get('messages', 0):>9}{c.get('responses', 0):>10}{c.get('learning', 0):>9}"
              f"{c.get('agree', 0):>8}{c.get('explained', 0):>10}{dis:>9}  {ex}")
    for d in s["disagreements"]:
        print(f"DISAGREE {d['class']}: {d['file']} message {d['message']}: {d['detail']}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    a = ap.parse_args(argv)
    if not a.corpus.is_dir():
        print(f"{a.corpus}: not a directory", file=sys.stderr)
        return 2
    from toolkit.enforcer.harness import OBJ, Harness
    if not OBJ.exists():
        print(f"{OBJ}: not built (make build)", file=sys.stderr)
        return 2
    with Harness() as h:
        ck = Checker(h)
        ck.run(a.corpus)
    s = ck.summary()
    if not s["total"].get("messages"):
        print(f"{a.corpus}: no *.bin or *.tcp files", file=sys.stderr)
        return 2
    if a.json:
        print(json.dumps(s, indent=1))
    else:
        print_table(s)
    return 1 if s["disagreements"] else 0


if __name__ == "__main__":
    sys.exit(main())
