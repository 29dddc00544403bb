"""Helpers of the TUI tests (imported as `tuidata`; tests/ has no packages). Deterministic data: recorded logs as fixed LoadResults (no timings
that vary), a copy of the failing program's source, a two-kernel verifier_logs tree."""
from __future__ import annotations

from pathlib import Path

from toolkit.model import Expectation, LoadResult, Verdict, VerifierStats

DATA = Path(__file__).resolve().parent / "data"
SIZE = (160, 48)


def fixed_result(program: str, log_file: str, verdict: Verdict, stats: VerifierStats,
                 expectation: Expectation | None = None, prog_type: str = "sched_cls") -> LoadResult:
    return LoadResult(object=f"build/examples/{program}.bpf.o", program=program, section="tc",
                      prog_type=prog_type, verdict=verdict, errno=13 if verdict is Verdict.REJECTED else 0,
                      log_level=2, log=(DATA / log_file).read_text(), stats=stats,
                      kernel_release="6.18.44-test", expectation=expectation)


def make_entries():
    from toolkit.tui_model import ProgramEntry
    twin_exp = Expectation("dns_qname_unchecked", Verdict.REJECTED, "pkt-off-by-one",
                           "invalid access to packet, off=54 size=1")
    twin = ProgramEntry(
        object="build/examples/dns_qname_unchecked.bpf.o", program="dns_qname_unchecked",
        source=str(DATA / "dns_qname_unchecked.bpf.c"), expectation=twin_exp,
        result=fixed_result("dns_qname_unchecked", "dns_qname_unchecked.level2.log", Verdict.REJECTED,
                            VerifierStats(6, 1000000, 0, 0, 0, 0, 80, "0", 11), twin_exp))
    ok = ProgramEntry(
        object="build/examples/dns_count_tc.bpf.o", program="dns_count_tc",
        result=fixed_result("dns_count_tc", "dns_count_tc.level2.log", Verdict.ACCEPTED,
                            VerifierStats(190, 1000000, 1, 14, 14, 3, 1400, "8", 114)))
    return [ok, twin]


def make_app(entries=None, **kw):
    from toolkit.tui.app import FqdnkitApp
    kw.setdefault("load_fn", None)
    kw.setdefault("corpus_root", str(DATA / "verifier_logs"))
    kw.setdefault("pin_dir", "/nonexistent/fqdnkit-test-pins")
    return FqdnkitApp(make_entries() if entries is None else entries, **kw)



FAKE_STATUS = {
    "workloads": [{"cgid": 4242, "slot": 0, "rules": 2}],
    "ips": [{"cgid": 4242, "ip": "93.184.216.34", "name": "example.com", "ttl_left": 287.5, "expired": False},
            {"cgid": 4242, "ip": "2606:2800:220:1:248:1893:25c8:1946", "name": "example.com",
             "ttl_left": 287.5, "expired": False},
            {"cgid": 4242, "ip": "140.82.121.4", "name": "api.github.com", "ttl_left": 0.0, "expired": True}],
    "counters": {"ALLOW_LEARNED": 120, "DROP_NOT_ALLOWED": 7, "DROP_DNS_BYPASS": 1},
    "pins": ["links", "maps", "progs"], "note": "",
}


def fake_status(pin_dir: str):
    return FAKE_STATUS


def accepted_rebuild(entry, tmp_dir):
    """A rebuild that returns the program accepted (fixed data, no clang, no kernel)."""
    from dataclasses import replace
    from toolkit.tui_model import ProgramEntry
    ok = make_entries()[0].result
    result = replace(ok, program=entry.program, object=entry.object, expectation=entry.expectation,
                     log=ok.log)
    new = ProgramEntry(object=entry.object, program=entry.program, source=entry.source,
                       expectation=entry.expectation)
    return new, [result]
