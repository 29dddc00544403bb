"""scripts/dns_corpus_check.py on a tiny corpus generated in a tmpdir (the real corpus
lives outside the repository, /work/dns_corpus): the kernel parser and dnspython agree,
documented stricter-kernel cases are reported as explained, and a disagreement (a fake
kernel that learns from an invalid message) makes the checker fail."""
from __future__ import annotations

import importlib.util
import json
import struct
import subprocess
import sys
from pathlib import Path

import dns.message
import dns.rrset
import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "dns_corpus_check.py"


def _checker_module():
    spec = importlib.util.spec_from_file_location("dns_corpus_check", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _response(qname: str, *rrs: tuple) -> bytes:
    r = dns.message.make_response(dns.message.make_query(qname, "A"))
    for owner, rtype, rdata in rrs:
        r.answer.append(dns.rrset.from_text(owner, 60, "IN", rtype, rdata))
    return r.to_wire()


HDR1 = struct.pack("!6H", 7, 0x8180, 1, 1, 0, 0)
A_RR = struct.pack("!HHIH", 1, 1, 30, 4) + bytes([10, 0, 0, 7])
OWN_LABELS = HDR1 + b"\3abc\0\0\1\0\1" + b"\1\0\xc0\x14" + A_RR        # owner runs into itself
LABEL_64 = HDR1 + b"\x40" + b"a" * 64 + b"\0\0\1\0\1" + b"\xc0\x0c" + A_RR
UNKNOWN_TYPE = HDR1[:6] + b"\0\2" + HDR1[8:] + b"\1a\0\0\1\0\1" + b"\xc0\x0c" + A_RR + \
    b"\xc0\x0c" + struct.pack("!HHIH", 65280, 1, 30, 2) + b"\1\2"          # explained: unchecked type


def _corpus(root: Path) -> None:
    ok = _response("www.example.com", ("www.example.com.", "CNAME", "Web.Example.com."),
                   ("web.example.com.", "A", "192.0.2.1"))
    (root / "valid").mkdir(parents=True)
    (root / "valid" / "cname.bin").write_bytes(ok)
    (root / "valid" / "query.bin").write_bytes(dns.message.make_query("x.test", "A").to_wire())
    (root / "malicious").mkdir()
    for name, wire in (("own_labels", OWN_LABELS), ("label_64", LABEL_64), ("unknown_type", UNKNOWN_TYPE)):
        (root / "malicious" / f"{name}.bin").write_bytes(wire)
    frame = b"".join(struct.pack("!H", len(m)) + m for m in (ok, OWN_LABELS, ok))
    (root / "malicious" / "stream.tcp").write_bytes(frame)


@pytest.mark.root
def test_checker_agrees_on_generated_corpus(tmp_path, enforcer_build):
    _corpus(tmp_path)
    r = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path), "--json"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    s = json.loads(r.stdout)
    assert s["disagreements"] == []
    # 5 UDP files + the stream's 3 messages fed twice (coalesced, split)
    assert s["total"]["messages"] == 5 + 6
    assert s["categories"]["malicious"]["explained:unchecked-type"] == 1
    assert s["total"]["agree"] == 10


def test_checker_reports_a_disagreement_and_fails():
    ck = _checker_module()

    class LyingHarness:       # a kernel that learned from a message dnspython rejects
        def parse_udp(self, name, wire):
            return {"file": name, "valid": True, "qname": "abc",
                    "learned": [{"ip": "10.0.0.7", "ttl": 30}], "reason": None}

    c = ck.Checker(LyingHarness())
    c.udp("malicious", "own_labels.bin", OWN_LABELS)
    s = c.summary()
    assert [d["class"] for d in s["disagreements"]] == ["learned_invalid"]
    assert ck.judge({"valid": False, "reason": "FQK_DNS_RR_TYPE", "learned": []}, UNKNOWN_TYPE) == \
        ("explained", "unchecked-type")
    # a rejection without a documented cause is a disagreement, not "explained"
    ok = _response("a.test", ("a.test.", "A", "192.0.2.9"))
    assert ck.judge({"valid": False, "reason": "FQK_DNS_RR_TYPE", "learned": []}, ok)[0] == "rejected_valid"


def test_tcp_feedings_cut_streams_as_documented():
    ck = _checker_module()
    msgs = [b"x" * 10, b"y" * 3000, b"z" * 5]
    stream = b"".join(struct.pack("!H", len(m)) + m for m in msgs)
    assert b"".join(ck.coalesced(stream)) == stream and b"".join(ck.split(stream)) == stream
    assert all(len(s) <= ck.RUN_MAX for s in ck.coalesced(stream) + ck.split(stream))
    assert len(ck.split(stream)) > len(ck.coalesced(stream))
    assert ck.split_stream(stream) == (msgs, [])
    broken = stream + struct.pack("!H", 5000) + b"w" * 5000 + struct.pack("!H", 1) + b"v"
    assert ck.split_stream(broken) == (msgs, [b"w" * 5000, b"v"])
