"""Write what one `fqdnkit bench` run measured: results.json, PNG plots, BENCHMARKS.md.

Contract: `write_all(results, json_path, plot_dir, md_path)` writes the three from the
same `results` dict (the one run), nothing else. Plots use matplotlib's Agg backend
(imported here only). The Markdown is generated in full: conditions of the run (date,
kernel, load average before/after: other people's work shares the 2 cores), what each
configuration is, every table, the goals met or the gap, and links to the plots.
"""
from __future__ import annotations

import json
import os
from pathlib import Path


def _f(v, fmt="{:.0f}", none="—"):
    return none if v is None else fmt.format(v)


def _slim(results: dict) -> dict:
    """results without the per-query latency samples (kept out of results.json)."""
    def strip(o):
        if isinstance(o, dict):
            return {k: strip(v) for k, v in o.items() if k != "latencies_us"}
        if isinstance(o, list):
            return [strip(v) for v in o]
        return o
    return strip(results)


# --- plots ---------------------------------------------------------------------------
def plot_all(results: dict, plot_dir: str) -> list[str]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(plot_dir, exist_ok=True)
    made = []
    kc = results.get("kernel_cost")
    if kc and kc.get("cases"):
        fig, ax = plt.subplots(figsize=(8, 4))
        xs = range(len(kc["cases"]))
        ax.bar([x - 0.2 for x in xs], [c["trivial_ns"] for c in kc["cases"]], 0.4, label="trivial program")
        ax.bar([x + 0.2 for x in xs], [c["parser_ns"] for c in kc["cases"]], 0.4, label=kc["target"]["program"])
        for x, c in zip(xs, kc["cases"]):
            ax.text(x + 0.2, c["parser_ns"], f"{c['ratio']:.2f}x", ha="center", va="bottom", fontsize=8)
        ax.set_xticks(list(xs), [c["title"].split(" (")[0] for c in kc["cases"]], rotation=15, fontsize=8)
        ax.set_ylabel("ns per run (BPF_PROG_TEST_RUN)")
        ax.set_title(f"In-kernel cost per DNS response ({kc['target']['type']})")
        ax.legend()
        fig.tight_layout()
        p = os.path.join(plot_dir, "kernel_cost.png")
        fig.savefig(p, dpi=110)
        plt.close(fig)
        made.append(p)
    dp = results.get("dns_path")
    if dp:
        cfgs = [c for c, v in dp["configs"].items() if "runs" in v]
        for proto in dp["protos"]:
            fig, ax = plt.subplots(figsize=(6, 4))
            vals = [dp["configs"][c]["runs"].get(f"{proto}/max", {}).get("qps") or 0 for c in cfgs]
            ax.bar(cfgs, vals, color=["#888", "#2a7", "#7c7", "#c44", "#a6c"][:len(cfgs)])
            for i, v in enumerate(vals):
                ax.text(i, v, f"{v:,.0f}", ha="center", va="bottom", fontsize=8)
            ax.set_ylabel("queries per second (dnsperf, no rate limit)")
            ax.set_title(f"DNS throughput over {proto.upper()}")
            fig.tight_layout()
            p = os.path.join(plot_dir, f"dns_qps_{proto}.png")
            fig.savefig(p, dpi=110)
            plt.close(fig)
            made.append(p)
            for load in dp["loads"]:
                if load == "max":
                    continue
                fig, ax = plt.subplots(figsize=(6, 4))
                for c in cfgs:
                    lat = dp["configs"][c]["runs"].get(f"{proto}/{load}", {}).get("latencies_us")
                    if lat:
                        n = len(lat)
                        ax.plot(lat, [(i + 1) / n for i in range(n)], label=c)
                ax.set_xscale("log")
                ax.set_xlabel("latency (µs, dnsperf -v per query)")
                ax.set_ylabel("share of queries")
                ax.set_title(f"DNS latency CDF, {proto.upper()} at {load} q/s offered")
                ax.grid(True, which="both", alpha=0.3)
                ax.legend()
                fig.tight_layout()
                p = os.path.join(plot_dir, f"dns_latency_{proto}_{load}.png")
                fig.savefig(p, dpi=110)
                plt.close(fig)
                made.append(p)
    rc = results.get("race")
    if rc and rc.get("configs"):
        names = [c for c, v in rc["configs"].items() if "dropped_share" in v]
        if names:
            fig, ax = plt.subplots(figsize=(6, 3.5))
            vals = [100 * (rc["configs"][c]["dropped_share"] or 0) for c in names]
            ax.bar(names, vals, color="#c44")
            for i, v in enumerate(vals):
                ax.text(i, v, f"{v:.1f}%", ha="center", va="bottom", fontsize=8)
            ax.set_ylabel("first connections dropped (%)")
            ax.set_title("First-connection race (fresh names)")
            fig.tight_layout()
            p = os.path.join(plot_dir, "race.png")
            fig.savefig(p, dpi=110)
            plt.close(fig)
            made.append(p)
    return made


# --- markdown ------------------------------------------------------------------------
def _goal(met) -> str:
    if met is None:
        return "not evaluated"
    return "met" if met else "**not met**"


def _goal_summary(results: dict) -> list[str]:
    """One table of every goal of issue 8: value, goal, met or the gap."""
    rows = []
    kc = results.get("kernel_cost")
    if kc:
        g = kc["goal"]
        rows.append(("in-kernel cost, four-A response / trivial", f"{g['value']:.2f}x", "<= 3x", g["met"],
                     "placeholder program" if kc["target"].get("placeholder") else ""))
    dp = results.get("dns_path", {})
    for k, v in dp.get("goals", {}).items():
        if isinstance(v, dict):
            label = k.replace("_qps_ratio", " qps enforcer / none (max load)").replace(
                "_p99_added_us", " q/s: p99 added by the enforcer (µs)").replace("_", " ", 1)
            rows.append((label, f"{v['value']:.2f}" if "ratio" in k else f"{v['value']:.0f}", v["goal"], v["met"],
                         v.get("note", "")))
    enf_runs = dp.get("configs", {}).get("enforcer", {}).get("runs")
    if enf_runs:
        lost = {k: v["lost"] for k, v in enf_runs.items() if v.get("lost")}
        rows.append(("DNS queries lost with the enforcer (median run)", f"{sum(lost.values()):,.0f}", "0",
                     not lost, ", ".join(f"{k}: {v:.0f}" for k, v in lost.items())))
    if dp and not dp.get("goals", {}).get("evaluated"):
        rows.append(("DNS path goals", "—", "", None, dp.get("goals", {}).get("why", "")))
    rc = results.get("race", {}).get("configs", {}).get("enforcer")
    if rc is not None:
        if "dropped_share" in rc:
            rows.append(("first connections dropped, enforcer", f"{rc['first_connection_dropped']}/{rc['resolved']}",
                         "0", rc["first_connection_dropped"] == 0, ""))
        else:
            rows.append(("first connections dropped, enforcer", "—", "0", None, "not measured"))
    fz = results.get("fuzz")
    if fz:
        if fz.get("error"):
            rows.append(("fuzzing: disagreements", "—", "0", None, "not run"))
        else:
            bad = sum(fz["tally"].get(c, 0) for c in ("learned_invalid", "learned_differs", "count_mismatch"))
            rows.append((f"fuzzing: disagreements in {fz['messages']:,} messages", f"{bad:,}", "0", bad == 0, ""))
    if not rows:
        return []
    out = ["## Goals at a glance", "", "| goal | measured | target | verdict | note |", "|---|---:|---:|---|---|"]
    for label, val, goal, met, note in rows:
        verdict = "not evaluated" if met is None else ("met" if met else "**not met**")
        out.append(f"| {label} | {val} | {goal} | {verdict} | {note} |")
    return out + [""]


def markdown(results: dict, plots: list[str], md_path: str) -> str:
    rel = lambda p: os.path.relpath(p, os.path.dirname(md_path))  # noqa: E731
    m = results["meta"]
    L = ["# Benchmarks", "",
         "Generated by `fqdnkit bench` (`make bench`) from one run; every figure and plot below "
         "comes from that run (`bench/results.json`). Do not edit by hand: run it again.", "",
         "## Conditions", "",
         f"- Date {m['date']}, kernel {m['kernel']}, {m['cpus']} vCPUs, run took {m['seconds']:.0f} s.",
         f"- Load average (1/5/15 min) before: {m['loadavg_before']}; after: {m['loadavg_after']}.",
         f"- {m['contention_note']}",
         f"- unbound, dnsperf, the proxy, the enforcer's agent and the probes ran at niceness {m.get('nice', 0)} "
         "(same for every configuration)" + (", to shield them from other work on the machine." if m.get('nice') else "."),
         f"- Command: `{m['command']}`", ""]
    L += _goal_summary(results)
    L += ["## Reading these figures", "",
          "- Everything (load generator, resolver, proxy, agent, kernel) shares the same 2 vCPUs, and so do "
          "other engineers' builds and tests when the conditions above say so: tail latencies (p99, p99.9) "
          "then measure scheduling delays far more than the data path; compare configurations within one "
          "run, never across runs.",
          "- A fixed offered rate (`-Q`) compares latency at equal load (an idle CPU wakes slowly, so latency "
          "depends on load); `max` compares throughput. A configuration that cannot sustain a rate shows it "
          "as achieved q/s below offered.",
          "- Over TCP (one pipelined dnsperf connection) latency at low rates flips between two modes, "
          "p50 near 50 µs or near 1 ms, from one round to the next even with no enforcement at all; the "
          "table shows medians over rounds, results.json keeps every round.",
          "- `kernel-only` is the enforcer's programs and policy with no agent process (applied with "
          "`--once`): the difference to `enforcer` is what the running agent (draining the event ring "
          "every 200 ms, printing drops) costs on the same 2 CPUs.",
          "- `lost` counts queries without an answer within dnsperf's 2 s timeout: a lost query is a failed "
          "lookup for the application.", ""]
    kc = results.get("kernel_cost")
    if kc:
        t = kc["target"]
        L += ["## In-kernel cost per DNS response", "",
              f"BPF_PROG_TEST_RUN, {kc['repeat']:,} repetitions per run for the trivial program and up to "
              f"that many for the parser (fewer when a run would exceed 0.1 s; column *reps*), "
              f"median of {kc['rounds']} runs, "
              f"alternating with the trivial program of the same type "
              f"(`{kc['trivial']['program']}` in reference_bpf/bench/trivial.bpf.c) on the same packet. "
              f"Program measured: `{t['program']}` in `{os.path.relpath(t['object'], m['repo'])}` "
              f"({t['type']}): {t['description']}.", ""]
        if t.get("placeholder"):
            L += ["**This is a placeholder, not the enforcer's parser** (see *Not measured*).", ""]
        L += ["| response | DNS bytes | trivial ns | parser ns | reps | ratio | return value |",
              "|---|---:|---:|---:|---:|---:|---|"]
        for c in kc["cases"]:
            L.append(f"| {c['title']} | {c['dns_bytes']} | {c['trivial_ns']:.0f} | {c['parser_ns']:.0f} | "
                     f"{c.get('parser_repeat', kc['repeat']):,} | {c['ratio']:.2f}x | {', '.join(map(str, c['retvals']))} |")
        L += ["", f"Goal: four-A response ≤ 3× the trivial program: {kc['goal']['value']:.2f}× — "
              f"{_goal(kc['goal']['met'])}.", ""]
        if kc.get("notes"):
            L += [kc["notes"], ""]
    dp = results.get("dns_path")
    if dp:
        L += ["## DNS path: throughput and latency", "",
              f"dnsperf 2.10 (`-c 1 -q 100 -v`) from the workload netns and cgroup to unbound 1.17 "
              f"(1 thread, local zone) in the resolver netns, over a veth pair; {dp['seconds']} s per run, "
              f"median of {dp['rounds']} rounds (round-robin over configurations). Percentiles come from "
              "dnsperf's per-query latencies (`-v`, µs resolution). Fixed offered rates (`-Q`) compare "
              "latency at equal load; `max` is no rate limit (throughput). Client, resolver, proxy and "
              "kernel share the same 2 vCPUs.", "",
              "Configurations:", ""]
        for c, v in dp["configs"].items():
            if "error" in v:
                L.append(f"- **{c}**: not measured — {v['error']}")
            else:
                L.append(f"- **{c}**: {v['details'].get('what', '')}")
        for c, v in dp["configs"].items():
            d = v.get("details", {})
            if "agent_cpu_seconds" in d:
                L.append(f"- enforcer agent CPU during its runs: {d['agent_cpu_seconds']} s; kernel counters at "
                         f"the end: {', '.join(f'{k} {n:,}' for k, n in sorted(d.get('counters', {}).items()) if isinstance(n, int))}")
            if "proxy_stats" in d:
                L.append(f"- proxy counters: {d['proxy_stats']}; allow-list drops {d.get('dataplane_drops')}")
        L += ["", "The proxy design, exactly: " + results.get("proxy_description", ""), "",
              "| config | proto | offered q/s | achieved q/s | lost | p50 µs | p99 µs | p99.9 µs |",
              "|---|---|---:|---:|---:|---:|---:|---:|"]
        for proto in dp["protos"]:
            for load in dp["loads"]:
                for c, v in dp["configs"].items():
                    r = v.get("runs", {}).get(f"{proto}/{load}")
                    if not r:
                        continue
                    L.append(f"| {c} | {proto} | {load} | {_f(r['qps'], '{:,.0f}')} | {_f(r['lost'])} | "
                             f"{_f(r['p50_us'])} | {_f(r['p99_us'])} | {_f(r['p999_us'])} |")
        g = dp.get("goals", {})
        L += ["", "Goals (enforcer against no enforcement):", ""]
        if not g.get("evaluated"):
            L.append(f"- not evaluated: {g.get('why')}")
        else:
            for k, v in g.items():
                if isinstance(v, dict):
                    note = f" ({v['note']})" if v.get("note") else ""
                    L.append(f"- {k}: {v['value']:.3f} (goal {v['goal']}) — {_goal(v['met'])}{note}")
        L.append("")
        if dp.get("notes"):
            L += [dp["notes"], ""]
    rc = results.get("race")
    if rc:
        L += ["## First-connection race", "",
              rc.get("method", ""), "",
              "| config | names | resolved | first SYN through | first SYN dropped | never connected | "
              "dropped share | control (denied) connected |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for c, v in rc["configs"].items():
            if "error" in v:
                L.append(f"| {c} | not measured: {v['error']} |||||||")
                continue
            L.append(f"| {c} | {v['names']} | {v['resolved']} | {v['first_syn_ok']} | {v['retransmitted']} | "
                     f"{v['never'] + v['refused']} | {100 * (v['dropped_share'] or 0):.1f}% | "
                     f"{v['control_connected']}/{v['control_total']} |")
        L += ["", "Goal: 0 dropped first connections with the enforcer — " +
              (_goal(rc["configs"].get("enforcer", {}).get("first_connection_dropped") == 0)
               if "dropped_share" in rc["configs"].get("enforcer", {}) else "not evaluated (enforcer not measured)"), ""]
    fz = results.get("fuzz")
    if fz:
        L += ["## Fuzzing the in-kernel parser against dnspython", ""]
        if fz.get("error"):
            L += [f"Not run: {fz['error']}", ""]
        else:
            t = fz["tally"]
            L += [f"{fz['messages']:,} messages ({fz['udp']:,} as UDP datagrams, {fz['tcp']:,} in TCP streams "
                  f"cut at random points), seed {fz['seed']}, {fz['seconds']:.0f} s ({fz['rate_per_s']:,.0f}/s). "
                  "Kernel side: " + fz.get("parser", "") + ". Oracle: toolkit/bench/oracle.py (dnspython).", "",
                  "| outcome | messages |", "|---|---:|"]
            what = {
                "agree": "same verdict; when valid, same question name and learned (IP, TTL) set",
                "learned_invalid": "kernel learned from a message dnspython rejects (goal: 0)",
                "learned_differs": "both valid, different learned set or question name (goal: 0)",
                "count_mismatch": "TCP stream: a different number of messages found (goal: 0)",
                "rejected_valid": "kernel rejected a message dnspython accepts (stricter)",
                "accepted_invalid": "kernel accepted a message dnspython rejects, learned nothing",
                "rejected_unchecked": f"kernel rejected it and learned nothing; oracle run on 1 in "
                                      f"{fz.get('oracle_sample_rejected', '?')} of these only (the checked "
                                      "ones are counted in the rows above)"}
            for k, text in what.items():
                L.append(f"| {k}: {text} | {t.get(k, 0):,} |")
            L += ["", f"Goal: nothing learned from an invalid message and no disagreement on what is learned — "
                  f"{_goal(fz['goal_met'])}.", ""]
            if fz.get("where"):
                L += ["Where dnspython finds the non-agreeing invalid messages invalid (class: section, record "
                      "type, part), most frequent first:", "", "| class: where | messages |", "|---|---:|"]
                for k, v in sorted(fz["where"].items(), key=lambda kv: -kv[1])[:15]:
                    L.append(f"| {k} | {v:,} |")
                L.append("")
            for cls in ("learned_differs", "count_mismatch"):
                for smp in fz.get("samples", {}).get(cls, [])[:2]:
                    k, o = smp.get("kernel", {}), smp.get("oracle", {})
                    L.append(f"- {cls} sample: kernel qname `{str(k.get('qname'))[:60]}` learned "
                             f"{[(x['ip'], x['ttl']) for x in k.get('learned', [])][:4]}; dnspython learned "
                             f"{[tuple(x) for x in o.get('learned', [])][:4]} (hex in results.json)")
            L.append("")
    tl = results.get("toolkit")
    if tl:
        L += ["## Toolkit", "", "| benchmark | status | printed figures |", "|---|---|---|"]
        for k, v in tl.items():
            figs = "; ".join(f["line"] for f in v.get("figures", [])[-4:]) or \
                   (" / ".join(v.get("stdout_tail", [])[-2:]) if v.get("stdout_tail") else "")
            L.append(f"| {v['title']} (`{v['script']}`) | {v['status']} | {figs.replace('|', '/')} |")
        L.append("")
    if plots:
        L += ["## Plots", ""]
        for p in plots:
            L.append(f"![{Path(p).stem}]({rel(p)})")
        L.append("")
    if results.get("not_measured"):
        L += ["## Not measured, and gaps", ""] + [f"- {x}" for x in results["not_measured"]] + [""]
    return "\n".join(L)


def write_all(results: dict, json_path: str, plot_dir: str, md_path: str) -> list[str]:
    plots = plot_all(results, plot_dir)
    results["plots"] = [os.path.relpath(p, results["meta"]["repo"]) for p in plots]
    os.makedirs(os.path.dirname(json_path), exist_ok=True)
    with open(json_path, "w") as f:
        json.dump(_slim(results), f, indent=1, default=str)
        f.write("\n")
    Path(md_path).write_text(markdown(results, plots, md_path))
    return plots
