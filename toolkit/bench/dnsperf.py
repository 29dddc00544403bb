"""Run dnsperf and turn its verbose output into throughput and latency percentiles.

Contract: `run_dnsperf(topo, server, proto, seconds, qps=None, clients=1)` runs dnsperf
(Debian package) inside the workload netns and cgroup against `server`:53 over UDP or
TCP, at a fixed offered rate (`-Q qps`) or unlimited (max throughput), with `-v`, which
prints every query's latency: dnsperf has no percentile option, so the percentiles are
computed here from those per-query latencies (microsecond resolution). Returns a dict:
sent, completed, lost, qps, p50/p99/p999 and mean in microseconds, rcodes, and the
latency samples (for the plots). Raises FqdnkitError if dnsperf fails or prints no summary.
"""
from __future__ import annotations

import re
import statistics

from toolkit.model import FqdnkitError

_LINE = re.compile(r"^> (\S+) \S+ \S+ (\d+\.\d+)$")
_SUM = {
    "sent": re.compile(r"Queries sent:\s+(\d+)"),
    "completed": re.compile(r"Queries completed:\s+(\d+)"),
    "lost": re.compile(r"Queries lost:\s+(\d+)"),
    "qps": re.compile(r"Queries per second:\s+([\d.]+)"),
    "runtime": re.compile(r"Run time \(s\):\s+([\d.]+)"),
}


def percentile(sorted_vals: list[float], p: float) -> float | None:
    """Nearest-rank percentile of an ascending list (p in 0..100)."""
    if not sorted_vals:
        return None
    k = max(0, min(len(sorted_vals) - 1, int(-(-p * len(sorted_vals) // 100)) - 1))
    return sorted_vals[k]


def parse_output(text: str) -> dict:
    lat, rcodes = [], {}
    for line in text.splitlines():
        m = _LINE.match(line)
        if m:
            rcodes[m.group(1)] = rcodes.get(m.group(1), 0) + 1
            lat.append(float(m.group(2)) * 1e6)
    out = {}
    for k, rx in _SUM.items():
        m = rx.search(text)
        if not m:
            raise FqdnkitError(f"dnsperf output has no '{k}' summary:\n{text[-800:]}")
        out[k] = float(m.group(1)) if k in ("qps", "runtime") else int(m.group(1))
    lat.sort()
    out.update({
        "rcodes": rcodes,
        "p50_us": percentile(lat, 50), "p99_us": percentile(lat, 99),
        "p999_us": percentile(lat, 99.9),
        "mean_us": statistics.fmean(lat) if lat else None,
        "latencies_us": lat,
    })
    return out


def run_dnsperf(topo, server: str, proto: str, seconds: float, qps: int | None = None,
                clients: int = 1, outstanding: int = 100, datafile: str | None = None) -> dict:
    argv = ["dnsperf", "-s", server, "-m", proto, "-d", datafile or topo.datafile(),
            "-l", str(seconds), "-c", str(clients), "-q", str(outstanding), "-t", "2", "-v"]
    if qps:
        argv += ["-Q", str(qps)]
    r = topo.wl_run(argv, capture_output=True, text=True, timeout=seconds + 30)
    if r.returncode != 0:
        raise FqdnkitError(f"dnsperf failed ({r.returncode}): {r.stderr.strip()[-500:]}")
    out = parse_output(r.stdout)
    out.update({"proto": proto, "offered_qps": qps, "seconds": seconds, "clients": clients})
    return out
