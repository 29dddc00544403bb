#!/usr/bin/env python3
"""Benchmark: the bounded DNS walk in each loop technique on the running kernel.

For every technique object `build/techniques/dns_walk_tc.<technique>.bpf.o` and each of its
programs (walk_qname, walk_answers) prints one Markdown row: verdict, instructions
processed, total and peak states, verification time (median of --loads loads at log
level 4, statistics only), xlated instruction count, stack depth, and the run time per
packet through BPF_PROG_TEST_RUN (median of 3 runs of --repeat repetitions) on one
response: question www.example.com, four A answers with compressed owners, in
Ethernet/IPv4/UDP. The README's technique table is this script's output.
Needs root. Usage: bench/techniques.py [--loads N] [--repeat N]
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import struct
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from toolkit.loader import load_program, open_loaded  # noqa: E402
from toolkit.model import FqdnkitError, Verdict  # noqa: E402
from toolkit.testrun import run_program  # noqa: E402

TECHNIQUES = ["unroll", "bounded", "bpf_loop", "iter", "may_goto"]
PROGRAMS = ["walk_qname", "walk_answers"]


def four_a_response() -> bytes:
    """A DNS response to www.example.com/A with four A records (owners compressed)."""
    hdr = struct.pack("!HHHHHH", 0x1234, 0x8180, 1, 4, 0, 0)
    q = b"\3www\7example\3com\0" + struct.pack("!HH", 1, 1)
    ans = b"".join(b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + bytes([192, 0, 2, i])
                   for i in range(1, 5))
    return hdr + q + ans


def udp_frame(payload: bytes) -> bytes:
    udp = struct.pack("!HHHH", 53, 40000, 8 + len(payload), 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28 + len(payload), 0, 0, 64, 17, 0,
                     bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    return b"\0" * 12 + b"\x08\x00" + ip + udp + payload


def measure(obj: str, prog: str, loads: int, repeat: int) -> list[str]:
    results = [load_program(obj, prog, log_level=4) for _ in range(loads)]
    r = results[-1]
    if r.verdict is not Verdict.ACCEPTED:
        msg = r.log.strip().splitlines()[-2:] if r.log.strip() else [f"errno {r.errno}"]
        return ["rejected", "", "", "", "", "", "", " / ".join(msg)[:80]]
    s = r.stats
    vtime = statistics.median(x.stats.verification_time_us or 0 for x in results)
    frame = udp_frame(four_a_response())
    with open_loaded(obj, prog, log_level=0) as (_o, p):
        runs = [run_program(p.fd, frame, repeat=repeat).duration_ns for _ in range(3)]
    return ["accepted", str(s.insns_processed), str(s.total_states), str(s.peak_states),
            f"{vtime:.0f}", str(s.insn_count), s.stack_depth or "", f"{statistics.median(runs):.0f}"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loads", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=100_000)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("bench/techniques.py: needs root (loads programs)", file=sys.stderr)
        return 2
    print(f"kernel {platform.release()}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.2f}", file=sys.stderr)
    print("| technique | program | verdict | insns processed | total states | peak states | "
          "verification time (µs, median) | insns (xlated) | stack | test run (ns/run) |")
    print("|---|---|---|---:|---:|---:|---:|---:|---|---:|")
    for t in TECHNIQUES:
        obj = REPO / "build" / "techniques" / f"dns_walk_tc.{t}.bpf.o"
        if not obj.exists():
            print(f"bench/techniques.py: {obj} not built (make build)", file=sys.stderr)
            return 2
        for prog in PROGRAMS:
            print(f"  {t} {prog} ...", file=sys.stderr)
            try:
                cells = measure(str(obj), prog, args.loads, args.repeat)
            except FqdnkitError as e:
                cells = ["error", "", "", "", "", "", "", str(e).splitlines()[0][:80]]
            print(f"| {t} | {prog} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
