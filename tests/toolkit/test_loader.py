"""Loading programs on the running kernel: verdicts, logs, statistics."""
from __future__ import annotations

import re
import struct

import pytest

from toolkit import libbpf
from toolkit.loader import load_object, load_program, open_loaded
from toolkit.model import FqdnkitError, Verdict

pytestmark = pytest.mark.root


def _strip_time(log: str) -> str:
    """Drop what differs between two loads of the same program: time and map addresses."""
    log = re.sub(r"verification time \d+ usec", "verification time N usec", log)
    return re.sub(r"0xffff[0-9a-f]{12}", "0xADDR", log)


def test_accepted_program_has_stats_and_full_level2_log(example_obj):
    r = load_program(example_obj("dns_count_tc"), "dns_count_tc", log_level=2)
    assert r.verdict is Verdict.ACCEPTED and r.errno == 0
    assert r.prog_type == "sched_cls"
    assert r.stats.insns_processed and r.stats.insns_processed > 50
    assert r.stats.total_states is not None and r.stats.peak_states is not None
    assert r.stats.verification_time_us is not None
    assert r.stats.stack_depth is not None
    assert r.stats.insn_count and r.stats.insn_count > 20
    # level 2 keeps the paths of an accepted program (level 1 would drop them)
    assert "from " in r.log and ": safe" in r.log
    assert r.as_expected


def test_level1_of_accepted_program_is_only_the_summary(example_obj):
    r = load_program(example_obj("dns_count_tc"), "dns_count_tc", log_level=1)
    assert r.verdict is Verdict.ACCEPTED
    assert "processed" in r.log and "from " not in r.log


def test_rejected_program_is_a_result_with_errno_13(example_obj):
    r = load_program(example_obj("dns_qname_unchecked"), "dns_qname_unchecked", log_level=2)
    assert r.verdict is Verdict.REJECTED
    assert r.errno == 13
    body = [l for l in r.log.splitlines() if l and not l.startswith(("verification time", "stack depth", "processed"))]
    assert body[-2].startswith("invalid access to packet, off=54 size=1")
    assert r.log.rstrip().splitlines()[-1].startswith("processed ")
    assert r.as_expected  # the annotation says it must be rejected with that message


def test_tiny_log_buffer_still_yields_the_whole_log(example_obj):
    big = load_program(example_obj("dns_count_tc"), "dns_count_tc", log_level=2)
    tiny = load_program(example_obj("dns_count_tc"), "dns_count_tc", log_level=2, log_size=64)
    assert len(big.log) > 10_000
    assert _strip_time(tiny.log) == _strip_time(big.log)
    rej = load_program(example_obj("dns_qname_unchecked"), "dns_qname_unchecked", log_level=2, log_size=64)
    assert rej.verdict is Verdict.REJECTED and rej.errno == 13
    assert "invalid access to packet" in rej.log and rej.log.startswith("func#0 @0")


def test_each_program_loads_alone_with_section_types(example_obj):
    results = load_object(example_obj("dns_count_cgroup"))
    assert [r.program for r in results] == ["dns_count_egress", "dns_count_ingress"]
    assert all(r.prog_type == "cgroup_skb" and r.verdict is Verdict.ACCEPTED for r in results)


def test_missing_and_non_bpf_files_are_clear_errors(tmp_path):
    with pytest.raises(FqdnkitError, match="missing.o: no such file"):
        load_object(str(tmp_path / "missing.o"))
    with pytest.raises(FqdnkitError, match="not a BPF object"):
        load_object("/bin/true")


def test_open_loaded_keeps_maps_usable(example_obj):
    with open_loaded(example_obj("dns_count_tc"), "dns_count_tc") as (obj, prog):
        assert prog.fd > 0
        m = obj.map("dns_counts")
        ncpu = libbpf.num_possible_cpus()
        v = libbpf.map_lookup(m.fd, struct.pack("I", 0), 8 * ncpu)
        assert v is not None and sum(struct.unpack(f"{ncpu}Q", v)) == 0


def test_open_loaded_refuses_a_rejected_program(example_obj):
    with pytest.raises(FqdnkitError, match="rejected"):
        with open_loaded(example_obj("dns_qname_unchecked"), "dns_qname_unchecked"):
            pass


def test_level1_reloads_only_rejected_programs(example_obj):
    ok = load_program(example_obj("dns_count_tc"), "dns_count_tc", log_level=1)
    assert ok.log_level == 4  # accepted: the stats-only load was enough
    bad = load_program(example_obj("dns_qname_unchecked"), "dns_qname_unchecked", log_level=1)
    assert bad.log_level == 5  # rejected: reloaded at level 1 for the failing path
    assert "5: (71) r1 = *(u8 *)(r2 +0)" in bad.log and "invalid access to packet" in bad.log


def test_log_size_estimate_from_an_overflowing_tail():
    from toolkit.loader import estimate_log_size
    tail = b"".join(b"%d: (07) r2 += 54                      ; R2=pkt(off=54,r=0)\n" % i for i in range(100))
    tail += b"processed 1000000 insns (limit 1000000) max_states_per_insn 4 total_states 9 peak_states 9 mark_read 0\n"
    est = estimate_log_size(tail, len(tail))
    assert est > 1_000_000 * 50  # ~57 bytes per instruction line, a million of them
    assert estimate_log_size(b"no summary line here", 4096) == 4096 * 8  # head kept: grow 8x
