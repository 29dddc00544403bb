"""Run the enforcer's in-kernel DNS parsing on raw messages (BPF_PROG_TEST_RUN).

Contract: `Harness()` loads build/enforcer/dns_parse_test.bpf.o (SCHED_CLS programs
fqk_test_udp / fqk_test_tcp, see that file); `parse_udp(name, msg)` returns one entry for
one DNS message; `parse_tcp([(name, segment), ...])` feeds consecutive segments of one TCP
stream (2-byte length prefixes) through the same framing code the sk_skb verdict runs and
returns one entry per message, attributed to the segment in which it completed. Entry:
{"file", "valid", "qname", "learned": [{"ip", "ttl"}], "reason"} where learned is what
the enforcer credits to the question name (min_ttl is applied when learning)
and reason is a reasons.def.h name (None when valid). TTLs are per RR, 0 when >= 2^31
(RFC 2181 8), as the enforcer uses them.
Needs root (CAP_BPF).
Limit: BPF_PROG_TEST_RUN takes at most about a page of data per run (~3.7 KB with the
Ethernet header), so larger UDP messages or segments are reported as errors.
"""
from __future__ import annotations

import ctypes

from .. import libbpf, reasons
from ..build import BUILD_DIR
from ..model import FqdnkitError
from ..testrun import run_program
from . import maps

OBJ = BUILD_DIR / "enforcer" / "dns_parse_test.bpf.o"
ETH = b"\0" * 14
MAX_RUN_DATA = 3500  # conservative: PAGE_SIZE minus skb headroom and shared info


def entry(fname: str, r: maps.Result) -> dict:
    qname = None
    if r.qname.len:
        qname = maps.wire_to_text(bytes(r.qname.wire[: r.qname.len]))
        qname = qname[:-1] if qname != "." else qname
    learned = [{"ip": maps.ip_text(bytes(r.learned[i].ip)), "ttl": r.learned[i].ttl}
               for i in range(min(r.nlearned, maps.DNS_MAX_ANSWERS))] if r.valid else []
    return {"file": fname, "valid": bool(r.valid), "qname": qname, "learned": learned,
            "reason": None if r.valid else reasons.name_of(r.reason)}


class Harness:
    def __init__(self, obj_path: str = str(OBJ)):
        self.obj = libbpf.BpfObject.open(obj_path)
        with libbpf.capture_messages() as msgs:
            ret = self.obj.load()
        if ret < 0:
            self.obj.close()
            raise FqdnkitError(f"{obj_path}: load failed: " + "\n".join(msgs[-20:]))
        self.udp_fd = self.obj.program("fqk_test_udp").fd
        self.tcp_fd = self.obj.program("fqk_test_tcp").fd
        self.res_fd = self.obj.map("fqk_test_results").fd
        self.state_fd = self.obj.map("fqk_tcp_state_map").fd

    def close(self) -> None:
        self.obj.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _reset_results(self) -> None:
        libbpf.map_update(self.res_fd, b"\0" * 4, b"\0" * ctypes.sizeof(maps.TestOut))

    def _results(self) -> list[maps.Result]:
        v = libbpf.map_lookup(self.res_fd, b"\0" * 4, ctypes.sizeof(maps.TestOut))
        out = maps.from_bytes(maps.TestOut, v)
        if out.n > maps.FQK_TEST_RESULTS:
            raise FqdnkitError(f"more than {maps.FQK_TEST_RESULTS} messages completed in one segment")
        return [maps.Result.from_buffer_copy(bytes(out.r[i])) for i in range(out.n)]

    def _run(self, fd: int, data: bytes, fname: str) -> None:
        if len(data) > MAX_RUN_DATA:
            raise FqdnkitError(f"{fname}: {len(data)} bytes; BPF_PROG_TEST_RUN takes at most "
                               f"{MAX_RUN_DATA} per run")
        run_program(fd, ETH + data)

    def parse_udp(self, fname: str, msg: bytes) -> dict:
        self._reset_results()
        self._run(self.udp_fd, msg, fname)
        res = self._results()
        if len(res) != 1:
            raise FqdnkitError(f"{fname}: the test program reported {len(res)} results, expected 1")
        return entry(fname, res[0])

    def reset_stream(self) -> None:
        libbpf.map_delete(self.state_fd, b"\0" * ctypes.sizeof(maps.Conn))

    def parse_tcp(self, segments: list[tuple[str, bytes]]) -> list[dict]:
        self.reset_stream()
        out = []
        for fname, seg in segments:
            if not seg:
                continue
            self._reset_results()
            self._run(self.tcp_fd, seg, fname)
            out += [entry(fname, r) for r in self._results()]
        return out
