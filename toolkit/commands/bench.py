"""`fqdnkit bench`: measure the enforcer against the design it replaces, in one run.

Writes bench/results.json, PNG plots under bench/plots/ and docs/BENCHMARKS.md from the
same run (see toolkit/bench/). Parts, in order: kernel (ns per DNS response through
BPF_PROG_TEST_RUN vs a trivial program), dns (dnsperf UDP/TCP through no enforcement, the
fqdnkit enforcer and a user-space DNS proxy, at fixed rates and at max throughput), race
(first TCP connection right after the answer, fresh names), fuzz (N mutated DNS messages
through the in-kernel parser against dnspython), toolkit (bench/*.py scripts of the
grammar, the TUI and the loader). Progress goes to stderr. Needs root for everything but
the toolkit scripts. Namespaces, cgroups and pins it makes are named fqbench-* and removed
on exit, Ctrl-C included. Exit 0 when the run completed (goals met or not: see the
report), 2 on a set-up error.
"""
from __future__ import annotations

import argparse

PARTS = ("kernel", "dns", "race", "fuzz", "toolkit")


def register(sub) -> None:
    p = sub.add_parser("bench", help="benchmark the enforcer vs no enforcement vs a DNS proxy; fault fuzzing",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", default=",".join(PARTS),
                   help=f"comma-separated parts to run (default all: {','.join(PARTS)})")
    p.add_argument("--fuzz", type=int, default=1_000_000, metavar="N",
                   help="mutated DNS messages through the in-kernel parser (default 10^6)")
    p.add_argument("--fuzz-workers", type=int, default=2, help="processes for fuzzing (default 2)")
    p.add_argument("--repeat", type=int, default=200_000, help="test-run repetitions per run (kernel)")
    p.add_argument("--rates", default="1000,10000",
                   help="fixed offered rates in q/s for latency at equal load (default 1000,10000)")
    p.add_argument("--dns-seconds", type=float, default=3, help="seconds per dnsperf run")
    p.add_argument("--rounds", type=int, default=3, help="dnsperf rounds per configuration (median)")
    p.add_argument("--race-names", type=int, default=200, help="fresh names per configuration (race)")
    p.add_argument("--nice", type=int, default=-10,
                   help="niceness of unbound, dnsperf, the proxy and the agent (default -10: shields the "
                        "measurement from other work on a shared machine; 0 to disable)")
    p.add_argument("--results", default=None, help="results JSON (default bench/results.json)")
    p.add_argument("--plots", default=None, help="plot directory (default bench/plots)")
    p.add_argument("--doc", default=None, help="Markdown report (default docs/BENCHMARKS.md)")
    p.set_defaults(func=run)


def run(args) -> int:
    from toolkit.bench.runner import run_bench
    from toolkit.model import FqdnkitError
    parts = [x.strip() for x in args.only.split(",") if x.strip()]
    bad = [x for x in parts if x not in PARTS]
    if bad:
        raise FqdnkitError(f"--only: unknown part(s) {', '.join(bad)} (choose from {', '.join(PARTS)})")
    return run_bench(args, parts)
