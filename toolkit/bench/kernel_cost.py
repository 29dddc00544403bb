"""In-kernel cost of parsing DNS responses, measured with BPF_PROG_TEST_RUN.

Contract: `measure(target, repeat, rounds, progress)` runs every response of
`messages.cases()` through the parser program named by `target` and through the trivial
program of the same type (reference_bpf/bench/trivial.bpf.c), alternately, `rounds` times
each at `repeat` repetitions per run (the kernel reports the mean ns per repetition; the
parser gets fewer, down to 1000, when one run would exceed RUN_BUDGET_NS), and
returns per case the median ns of both and their ratio. Both programs get the same packet
(SCHED_CLS from the Ethernet header, CGROUP_SKB from the IP header). The parser's return
value on each case is recorded, so a parser that bails out early is visible as such.

`parser_target()` picks the enforcer's UDP parsing program when its object is built and
otherwise a placeholder (reported as such in results.json and BENCHMARKS.md).
`target.prepare(obj)` may fill maps before the runs (e.g. an outstanding query), so the
measured path is the one a real response takes.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Callable, Optional

from toolkit.build import REPO_ROOT

from . import messages

TRIVIAL_OBJ = REPO_ROOT / "build" / "bench" / "trivial.bpf.o"
RUN_BUDGET_NS = 100_000_000     # ~0.1 s per parser run
TRIVIAL_PROG = {"tc": "trivial_tc", "cgroup_skb": "trivial_cgroup_ingress"}


@dataclass
class Target:
    obj: str
    prog: str
    kind: str                   # "tc" (data from Ethernet) or "cgroup_skb" (from IP)
    description: str
    placeholder: bool = False
    prepare: Optional[Callable] = field(default=None, repr=False)   # prepare(bpf_object, case)
    packet: Optional[Callable] = field(default=None, repr=False)    # packet(dns_wire) -> bytes


def parser_target() -> Target:
    """The program to measure: the enforcer's UDP response parser if built, else a placeholder."""
    from . import enforcer_glue
    t = enforcer_glue.kernel_cost_target()
    if t is not None:
        return t
    return Target(obj=str(REPO_ROOT / "build" / "examples" / "dns_count_tc.bpf.o"),
                  prog="dns_count_tc", kind="tc", placeholder=True,
                  description="PLACEHOLDER build/examples/dns_count_tc.bpf.o (counts questions; "
                              "the enforcer's parser was not built)")


def _median_ns(fd: int, pkt: bytes, repeat: int, ctx: Optional[bytes]) -> tuple[float, int]:
    from toolkit.testrun import run_program
    r = run_program(fd, pkt, repeat=repeat, ctx=ctx)
    return float(r.duration_ns), r.retval


def measure(target: Target, repeat: int = 200_000, rounds: int = 5, progress=None) -> dict:
    from toolkit.loader import open_loaded

    kind = target.kind
    l2 = kind == "tc"
    out = {"target": {"object": target.obj, "program": target.prog, "type": kind,
                      "description": target.description, "placeholder": target.placeholder},
           "trivial": {"object": str(TRIVIAL_OBJ), "program": TRIVIAL_PROG[kind]},
           "repeat": repeat, "rounds": rounds, "cases": []}
    with open_loaded(str(TRIVIAL_OBJ), TRIVIAL_PROG[kind]) as (_tobj, tprog), \
            open_loaded(target.obj, target.prog) as (pobj, pprog):
        for case in messages.cases():
            pkt = target.packet(case.wire) if target.packet else messages.udp_packet(case.wire, l2=l2)
            ctx = None
            if target.prepare is not None:
                ctx = target.prepare(pobj, case)
            triv, pars, rets = [], [], set()
            # a slow parser gets fewer repetitions: each run stays near RUN_BUDGET_NS
            est, _rv = _median_ns(pprog.fd, pkt, 1000, ctx)
            prep = max(1000, min(repeat, int(RUN_BUDGET_NS / max(est, 1.0))))
            for _ in range(rounds):
                t, _rv = _median_ns(tprog.fd, pkt, repeat, None)
                p, rv = _median_ns(pprog.fd, pkt, prep, ctx)
                triv.append(t)
                pars.append(p)
                rets.add(rv)
            t_med, p_med = statistics.median(triv), statistics.median(pars)
            row = {"case": case.key, "title": case.title, "dns_bytes": len(case.wire),
                   "packet_bytes": len(pkt), "parser_repeat": prep, "trivial_ns": t_med, "parser_ns": p_med,
                   "ratio": p_med / t_med if t_med else None, "retvals": sorted(rets),
                   "trivial_samples": triv, "parser_samples": pars}
            out["cases"].append(row)
            if progress:
                progress.note(f"{case.title:45} trivial {t_med:6.0f} ns  parser {p_med:6.0f} ns  "
                              f"ratio {row['ratio']:.2f}")
    four = next(c for c in out["cases"] if c["case"] == "four_a")
    out["goal"] = {"text": "four-A response <= 3x the trivial program", "value": four["ratio"],
                   "met": four["ratio"] is not None and four["ratio"] <= 3.0}
    return out
