"""BPF_PROG_TEST_RUN wrapper on real DNS packets built with dnspython."""
from __future__ import annotations

import struct

import dns.message
import pytest

from toolkit import libbpf
from toolkit.loader import open_loaded
from toolkit.testrun import run_program

pytestmark = pytest.mark.root


def _udp_packet(payload: bytes, sport: int, dport: int) -> bytes:
    eth = b"\x00" * 12 + b"\x08\x00"
    ip = bytes([0x45, 0, 0, 20 + 8 + len(payload) >> 8 & 0xFF]) + b"\0" * 4 + bytes([64, 17, 0, 0]) + bytes([10, 0, 0, 1, 10, 0, 0, 2])
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0)
    return eth + ip + udp + payload


def _counts(obj) -> list[int]:
    ncpu = libbpf.num_possible_cpus()
    fd = obj.map("dns_counts").fd
    return [sum(struct.unpack(f"{ncpu}Q", libbpf.map_lookup(fd, struct.pack("I", i), 8 * ncpu)))
            for i in range(4)]


def test_question_counter_counts_queries_and_responses(example_obj):
    q = dns.message.make_query("example.com", "A")
    resp = dns.message.make_response(q)
    with open_loaded(example_obj("dns_count_tc"), "dns_count_tc") as (obj, prog):
        r = run_program(prog.fd, _udp_packet(q.to_wire(), 40000, 53), repeat=3)
        assert r.retval == 0 and r.repeat == 3 and r.duration_ns > 0
        run_program(prog.fd, _udp_packet(resp.to_wire(), 53, 40000), repeat=1)
        run_program(prog.fd, _udp_packet(b"\0" * 20, 40000, 8080), repeat=1)
        packets, queries, responses, questions = _counts(obj)
    assert (packets, queries, responses, questions) == (5, 3, 1, 4)


def test_output_bytes_are_returned(example_obj):
    pkt = _udp_packet(dns.message.make_query("a.example", "AAAA").to_wire(), 1, 53)
    with open_loaded(example_obj("dns_count_tc"), "dns_count_tc") as (_, prog):
        r = run_program(prog.fd, pkt)
    assert r.data_out == pkt


def test_refused_run_raises(example_obj):
    with open_loaded(example_obj("dns_count_tc"), "dns_count_tc") as (_, prog):
        with pytest.raises(OSError):
            run_program(prog.fd, b"\0" * 4)  # shorter than an Ethernet header
