"""One `fqdnkit bench` run: every part in order, one results dict, then the report.

Contract: `run_bench(args, parts)` runs the requested parts (kernel, dns, race, fuzz,
toolkit) with progress on stderr, records the conditions (date, kernel, load average
before and after, whether other work was running), and writes results.json, the plots
and BENCHMARKS.md through report.write_all. The topology (fqbench-* namespaces, cgroup,
unbound) exists only inside the dns and race parts and is removed on exit or Ctrl-C.
A part that cannot run records why in results["not_measured"]; the run goes on.
"""
from __future__ import annotations

import datetime
import os
import shlex
import signal
import sys
import time

from toolkit.build import REPO_ROOT
from toolkit.model import FqdnkitError

from . import dataplane, enforcer_glue, race, report
from .dnsproxy import __doc__ as PROXY_DOC
from .progress import Progress


def _loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def _cpu_snapshot() -> tuple[float, float]:
    """(machine busy CPU-seconds from /proc/stat, this process + waited children CPU-seconds)."""
    import resource
    with open("/proc/stat") as f:
        vals = [int(x) for x in f.readline().split()[1:]]
    busy = sum(vals) - vals[3] - (vals[4] if len(vals) > 4 else 0)     # minus idle, iowait
    me = sum(getattr(resource.getrusage(w), a) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
             for a in ("ru_utime", "ru_stime"))
    return busy / os.sysconf("SC_CLK_TCK"), me


def _others_busy() -> list[str]:
    """Other processes using CPU right now (from ps), to state contention honestly."""
    import subprocess
    r = subprocess.run(["ps", "-eo", "pid,pcpu,comm", "--sort=-pcpu"], capture_output=True, text=True)
    me = os.getpid()
    out = []
    for line in r.stdout.splitlines()[1:8]:
        parts = line.split(None, 2)
        if len(parts) == 3 and int(parts[0]) != me and float(parts[1]) >= 10:
            out.append(f"{parts[2]} ({parts[1]}% CPU)")
    return out


def short_error(e) -> str:
    """First line and last meaningful line of an error (verifier logs can be megabytes)."""
    lines = [x.strip() for x in str(e).splitlines() if x.strip()]
    if len(lines) <= 2:
        return " ".join(lines)[:400]
    tail = next((x for x in reversed(lines) if "failed" in x or "error" in x.lower()), lines[-1])
    return f"{lines[0][:200]} ... {tail[:200]}"


def proxy_description() -> str:
    text = PROXY_DOC.split("What it is, exactly (this is what BENCHMARKS.md's \"proxy\" rows measure): ", 1)[-1]
    text = text.split("\n\nRun:", 1)[0]
    return " ".join(text.split())


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def run_bench(args, parts: list[str]) -> int:
    # Ctrl-C and SIGTERM unwind through every `finally` (namespaces, cgroup, pins, processes),
    # also when started in the background with SIGINT ignored.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    if os.geteuid() != 0 and set(parts) - {"toolkit"}:
        raise FqdnkitError("fqdnkit bench needs root (BPF test runs, namespaces); "
                           "use --only toolkit otherwise")
    results_path = args.results or str(REPO_ROOT / "bench" / "results.json")
    plots = args.plots or str(REPO_ROOT / "bench" / "plots")
    doc = args.doc or str(REPO_ROOT / "docs" / "BENCHMARKS.md")
    prog = Progress(len(parts) + 1)
    t0 = time.monotonic()
    before = _loadavg()
    busy = _others_busy()
    cpu0 = _cpu_snapshot()
    res: dict = {"meta": {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "kernel": os.uname().release, "cpus": os.cpu_count(), "repo": str(REPO_ROOT),
        "command": "fqdnkit bench " + " ".join(shlex.quote(a) for a in sys.argv[2:]),
        "loadavg_before": before, "others_busy_at_start": busy, "nice": getattr(args, "nice", 0),
        "enforcer": enforcer_glue.describe()},
        "not_measured": [], "proxy_description": proxy_description()}
    ok, why = enforcer_glue.available()
    if not ok:
        res["not_measured"].append(f"fqdnkit enforcer: {why}")

    if "kernel" in parts:
        prog.step("in-kernel cost per DNS response (BPF_PROG_TEST_RUN)")
        from . import kernel_cost
        try:
            target = kernel_cost.parser_target()
            res["kernel_cost"] = kernel_cost.measure(target, repeat=args.repeat, progress=prog)
            if target.placeholder:
                res["not_measured"].append("in-kernel cost of the enforcer's parser: measured a "
                                           "placeholder program instead (" + target.description + ")")
        except (FqdnkitError, OSError) as e:
            res["not_measured"].append(f"in-kernel cost: {short_error(e)}")
            prog.note(f"failed: {short_error(e)}")

    if "dns" in parts or "race" in parts:
        from . import dnspath
        from .topology import Topology
        rates = [int(x) for x in args.rates.split(",") if x.strip()]
        with Topology(n_race=max(args.race_names, 1) * 4, nice=args.nice) as topo:
            policy = dataplane.write_policy(topo.workdir)
            if "dns" in parts:
                prog.step("DNS path: dnsperf UDP/TCP, none vs enforcer vs kernel-only vs proxy")
                res["dns_path"] = dnspath.measure(topo, policy, rates + ["max"], seconds=args.dns_seconds,
                                                  rounds=args.rounds, progress=prog)
                for c, v in res["dns_path"]["configs"].items():
                    if "error" in v:
                        v["error"] = short_error(v["error"])
                        res["not_measured"].append(f"DNS path, {c}: {v['error']}")
            if "race" in parts:
                prog.step("first-connection race (fresh names)")
                res["race"] = measure_race(topo, policy, args.race_names, prog)
    if "fuzz" in parts:
        prog.step(f"fuzzing the in-kernel parser: {args.fuzz:,} messages")
        res["fuzz"] = run_fuzz(args.fuzz, args.fuzz_workers, prog)
        if res["fuzz"].get("error"):
            res["fuzz"]["error"] = short_error(res["fuzz"]["error"])
            res["not_measured"].append(f"fuzzing: {res['fuzz']['error']}")
    if "toolkit" in parts:
        prog.step("toolkit scripts (grammar, TUI, loader)")
        from .tools import run_scripts
        res["toolkit"] = run_scripts(prog)
        for k, v in res["toolkit"].items():
            if v["status"] != "ok":
                res["not_measured"].append(f"toolkit {v['title']}: {v['status']} ({v['script']})")
    after = _loadavg()
    wall = time.monotonic() - t0
    cpu1 = _cpu_snapshot()
    # CPU used on the machine during the run by everything but this run (and its waited
    # children); kernel work done for the run's own traffic in softirq context counts as
    # "other", so this is an upper bound of the contention
    others = max(0.0, (cpu1[0] - cpu0[0]) - (cpu1[1] - cpu0[1]))
    share = others / (wall * (os.cpu_count() or 1)) if wall else 0.0
    res["meta"].update({"loadavg_after": after, "seconds": wall, "others_cpu_seconds": round(others, 1),
                        "others_cpu_share": round(share, 3)})
    contended = bool(busy) or share > 0.10
    res["meta"]["contended"] = contended
    measured = (f"during the run, work other than the benchmark used at most {others:.0f} CPU-seconds, "
                f"{100 * share:.0f}% of the machine (upper bound: the kernel's softirq work for the "
                "benchmark's own traffic counts here too)")
    res["meta"]["contention_note"] = (
        f"Measured UNDER CONTENTION: {measured}"
        + (f"; busy at the start: {'; '.join(busy)}" if busy else "")
        + ". Absolute figures are pessimistic and noisy, ratios within the run less so."
        if contended else
        f"The machine was otherwise quiet: no other process above 10% CPU at the start; {measured}.")
    prog.step("writing results.json, plots, BENCHMARKS.md")
    written = report.write_all(res, results_path, plots, doc)
    prog.note(f"{results_path}, {doc}, {len(written)} plots under {plots}")
    return 0


def measure_race(topo, policy: str, n: int, prog) -> dict:
    out = {"method": (
        f"For each configuration, {n} names never asked before (r<i>.bench.test, one A each) are "
        "resolved over UDP from the workload netns and cgroup; right after each answer arrives the client "
        "(toolkit/bench/race.py) takes the address from the answer's last 4 bytes and calls a non-blocking "
        "connect() to it (port 80, a listener in the resolver netns accepts). A connection established "
        f"within {race.FIRST_SYN_WINDOW_S} s went through on its first SYN; later (after the 1 s SYN "
        "retransmission) or never means the first SYN was dropped. Control: connections to addresses of "
        "names never resolved must fail. `proxy-async` is the same proxy answering first and writing the "
        "allow-list right after, as a proxy that hands datapath updates to another task does."),
        "configs": {}}
    race.start_listener(topo)
    start = 0
    configs = [("none", lambda: dataplane.no_enforcement(topo)),
               ("enforcer", lambda: dataplane.fqdnkit_enforcer(topo, policy)),
               ("proxy", lambda: dataplane.proxy_design(topo, policy, "sync")),
               ("proxy-async", lambda: dataplane.proxy_design(topo, policy, "async"))]
    for name, cm in configs:
        try:
            with cm() as dp:
                r = race.measure(topo, dp, n, start)
            r["details"] = dp.details
            out["configs"][name] = r
            prog.note(f"{name:12} first SYN dropped {r['first_connection_dropped']}/{r['resolved']}  "
                      f"control connected {r['control_connected']}/{r['control_total']}")
        except FqdnkitError as e:
            out["configs"][name] = {"error": short_error(e)}
            prog.note(f"{name}: not measured: {short_error(e)}")
        start += n
    return out


def run_fuzz(n: int, workers: int, prog) -> dict:
    from . import fuzz_driver
    try:
        return fuzz_driver.run_parallel(n, workers, prog)
    except FqdnkitError as e:
        return {"error": str(e)}
