"""The DNS-path benchmark: dnsperf through no enforcement, the enforcer and the proxy.

Contract: `measure(topo, policy, loads, protos, seconds, rounds, progress)` runs, for each
configuration (none, enforcer with its agent, kernel-only = enforcer applied with --once
and no agent, proxy) that can be set up, dnsperf from the workload netns+cgroup for every (proto, load) pair, `rounds` times,
and keeps per pair the median over rounds of qps, p50, p99, p99.9 and the lost count,
plus the latency samples of the median round (for the CDF plots). A load is an offered
rate in q/s (dnsperf -Q) or "max" (no rate limit: throughput). Rounds go round-robin over
the configurations, so slow drift of the shared machine hits all of them alike. A
configuration that cannot be set up is reported with its error, not silently dropped.
`goals(result)` evaluates the issue's goals: enforcer qps >= 0.95x none at max load, p99
added <= 20 us at the fixed rates every configuration sustains.
"""
from __future__ import annotations

import statistics
from contextlib import ExitStack

from toolkit.model import FqdnkitError

from . import dataplane
from .dnsperf import run_dnsperf

CONFIGS = ("none", "enforcer", "kernel-only", "proxy")


def _open(name: str, topo, policy: str):
    if name == "none":
        return dataplane.no_enforcement(topo)
    if name == "enforcer":
        return dataplane.fqdnkit_enforcer(topo, policy)
    if name == "kernel-only":
        return dataplane.fqdnkit_enforcer(topo, policy, agent_running=False)
    return dataplane.proxy_design(topo, policy, "sync")


def _median_row(rows: list[dict]) -> dict:
    keys = ("qps", "p50_us", "p99_us", "p999_us", "mean_us", "lost", "sent", "completed")
    out = {}
    for k in keys:
        vals = [r[k] for r in rows if r.get(k) is not None]
        out[k] = statistics.median(vals) if vals else None
    med_qps = out["qps"]
    pick = min(rows, key=lambda r: abs((r["qps"] or 0) - (med_qps or 0)))
    out["latencies_us"] = pick["latencies_us"]
    out["rounds"] = [{k: r.get(k) for k in keys} for r in rows]
    out["rcodes"] = pick["rcodes"]
    return out


def measure(topo, policy: str, loads: list, protos=("udp", "tcp"), seconds: float = 3,
            rounds: int = 3, progress=None, configs=CONFIGS) -> dict:
    raw: dict = {c: {} for c in configs}
    errors: dict = {}
    details: dict = {}
    for rnd in range(rounds):
        order = list(configs) if rnd % 2 == 0 else list(reversed(configs))
        for cfg in order:
            if cfg in errors:
                continue
            try:
                with ExitStack() as st:
                    dp = st.enter_context(_open(cfg, topo, policy))
                    for proto in protos:
                        for load in loads:
                            qps = None if load == "max" else int(load)
                            r = run_dnsperf(topo, dp.server, proto, seconds, qps=qps)
                            raw[cfg].setdefault(f"{proto}/{load}", []).append(r)
                            if progress:
                                progress.note(f"round {rnd + 1}/{rounds} {cfg:8} {proto} {str(load):>6}: "
                                              f"{r['qps']:8.0f} q/s  p50 {r['p50_us'] or 0:7.0f}  "
                                              f"p99 {r['p99_us'] or 0:7.0f}  p99.9 {r['p999_us'] or 0:7.0f} us"
                                              f"  lost {r['lost']}")
                details[cfg] = dp.details
            except FqdnkitError as e:
                errors[cfg] = str(e)
                if progress:
                    progress.note(f"{cfg}: not measured: {str(e).splitlines()[0][:200]}")
    out = {"configs": {}, "errors": errors, "loads": [str(x) for x in loads], "protos": list(protos),
           "seconds": seconds, "rounds": rounds}
    for cfg in configs:
        if cfg in errors:
            out["configs"][cfg] = {"error": errors[cfg]}
            continue
        out["configs"][cfg] = {"details": details.get(cfg, {}),
                               "runs": {k: _median_row(v) for k, v in raw[cfg].items()},
                               "p99_spread_us": {k: _p99_spread(v) for k, v in raw[cfg].items()}}
    out["goals"] = goals(out)
    return out


def _p99_spread(rows: list[dict]) -> float | None:
    """Max - min of the rounds' p99 for one (proto, load): the run-to-run noise."""
    vals = [r["p99_us"] for r in rows if r.get("p99_us") is not None]
    return (max(vals) - min(vals)) if len(vals) >= 2 else None


def judge_p99_added(added: float, noise: float | None) -> tuple[bool | None, str]:
    """Verdict for "p99 added by the enforcer <= 20 us".

    A negative difference, or one smaller than the rounds' own p99 spread, does not show the
    enforcer's cost: the tail then measures scheduling noise, so it is not evaluated (None)
    rather than called met."""
    if noise is not None and abs(added) <= noise:
        return None, f"within noise (rounds' p99 spread {noise:.0f} us)"
    if added < 0:
        return None, "negative: the run without enforcement had the worse tail (noise)"
    return added <= 20, ""


def goals(res: dict) -> dict:
    cf = res["configs"]
    g = {}
    if "runs" not in cf.get("enforcer", {}) or "runs" not in cf.get("none", {}):
        return {"evaluated": False, "why": cf.get("enforcer", {}).get("error", "enforcer not measured")}
    for proto in res["protos"]:
        n = cf["none"]["runs"].get(f"{proto}/max")
        e = cf["enforcer"]["runs"].get(f"{proto}/max")
        if n and e and n["qps"]:
            ratio = e["qps"] / n["qps"]
            g[f"{proto}_qps_ratio"] = {"value": ratio, "goal": ">= 0.95", "met": ratio >= 0.95}
        for load in res["loads"]:
            if load == "max":
                continue
            n = cf["none"]["runs"].get(f"{proto}/{load}")
            e = cf["enforcer"]["runs"].get(f"{proto}/{load}")
            if n and e and n["p99_us"] is not None and e["p99_us"] is not None:
                added = e["p99_us"] - n["p99_us"]
                spreads = [cf[c].get("p99_spread_us", {}).get(f"{proto}/{load}") for c in ("none", "enforcer")]
                spreads = [x for x in spreads if x is not None]
                met, note = judge_p99_added(added, max(spreads) if spreads else None)
                g[f"{proto}_{load}_p99_added_us"] = {"value": added, "goal": "<= 20", "met": met, "note": note}
    g["evaluated"] = True
    return g
