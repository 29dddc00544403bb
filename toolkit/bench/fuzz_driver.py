"""Run the differential fuzzer in parallel worker processes against the kernel parser.

Contract: `run_parallel(n, workers, progress)` splits `n` messages over `workers` forked
processes, each with its own seed and its own kernel parser (enforcer_glue.dns_parser(),
which loads the enforcer's dns-parse test-run programs), and merges their tallies and
samples into one fuzz.run-shaped dict. Raises FqdnkitError when the kernel parser is
not available (the enforcer's dns-parse API is not built), naming what is missing.
"""
from __future__ import annotations

import multiprocessing as mp
import time
from collections import Counter

from toolkit.model import FqdnkitError

from . import enforcer_glue, fuzz
from .progress import Progress


def _worker(args) -> dict:
    n, seed, report = args
    with enforcer_glue.dns_parser() as parse:
        prog = Progress(0) if report else None
        return fuzz.run(parse, n, seed=seed, progress=prog)


def run_parallel(n: int, workers: int = 2, progress=None, seed0: int = 1) -> dict:
    ok, why = enforcer_glue.parser_available()
    if not ok:
        raise FqdnkitError(why)
    workers = max(1, min(workers, n))
    shares = [n // workers + (1 if i < n % workers else 0) for i in range(workers)]
    t0 = time.monotonic()
    if workers == 1:
        parts = [_worker((shares[0], seed0, progress is not None))]
    else:
        ctx = mp.get_context("fork")
        with ctx.Pool(workers) as pool:
            parts = pool.map(_worker, [(s, seed0 + i, progress is not None and i == 0)
                                       for i, s in enumerate(shares)])
    dt = time.monotonic() - t0
    tally: Counter = Counter()
    where: Counter = Counter()
    samples: dict = {}
    for p in parts:
        tally.update(p["tally"])
        where.update(p["where"])
        for k, v in p["samples"].items():
            samples.setdefault(k, []).extend(v[: fuzz.SAMPLES_PER_CLASS - len(samples.get(k, []))])
    return {"messages": n, "udp": sum(p["udp"] for p in parts), "tcp": sum(p["tcp"] for p in parts),
            "seconds": dt, "rate_per_s": n / dt if dt else None, "seed": f"{seed0}..{seed0 + workers - 1}",
            "workers": workers, "oracle_sample_rejected": fuzz.ORACLE_SAMPLE_REJECTED,
            "tally": dict(tally), "where": dict(where), "samples": samples,
            "parser": enforcer_glue.parser_description(),
            "goal_met": not any(tally[c] for c in fuzz.BAD)}
