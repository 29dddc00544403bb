"""`fqdnkit diff A B [--output table|json]` and `fqdnkit diff --matrix DIR`.

A and B are two verifier logs (.log or .log.gz) or two kernel directories of the corpus
(verifier_logs/<kernel-release>, or just the series: `fqdnkit diff 6.1 6.18`). For directories: one row per program with verdict and
statistics on each side, the difference and the percentage (as veristat's compare mode),
then for every program whose log changed the first divergent instruction (aligned by
position in the trace, with instruction index and source line) and the message changes.
For two logs: the aligned divergence in detail, with context.
`--matrix DIR`: for each techniques variant (object `name.technique`), verdict and cost on
every captured kernel and the oldest kernel where it verifies (and newer kernels that
reject it again).
Exit 0 (differences are not an error), 2 on bad input.
"""
from __future__ import annotations

import argparse
import errno as errno_mod
import json
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("diff", help="diff verifier logs or kernel directories; --matrix for techniques",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("a", nargs="?", metavar="A")
    p.add_argument("b", nargs="?", metavar="B")
    p.add_argument("--matrix", metavar="DIR", help="technique matrix over a corpus directory")
    p.add_argument("--output", choices=("table", "json"), default="table")
    p.add_argument("--context", type=int, default=3, help="events of context for two logs")
    p.add_argument("--root", default="verifier_logs",
                   help="corpus in which a kernel series such as 6.1 is looked up")
    p.add_argument("--all", action="store_true",
                   help="directories: list unchanged programs' logs too")
    p.set_defaults(func=run)


def _errname(e) -> str:
    if not e:
        return ""
    return errno_mod.errorcode.get(e, str(e))


def _verdict(v, e) -> str:
    if v is None:
        return "-"
    return "ok" if v == "accepted" else f"REJ {_errname(e)}"


def _fmt_delta(diff, pct) -> str:
    if diff is None:
        return ""
    p = "" if pct is None else f" ({pct:+.1f}%)"
    return f"{diff:+d}{p}"


def _ev(e) -> str:
    if e is None:
        return "(log ends)"
    if e.kind == "insn":
        st = f"  ; {e.state}" if e.state else ""
        return f"{e.idx}: {e.text}{st}"
    if e.kind == "branch":
        return f"-> {e.idx} {e.text}"
    return f"{e.idx}: {e.text}"


def _src(e) -> str:
    if e is None or not e.src:
        return ""
    line = f"line {e.src_line}: " if e.src_line else ""
    return f"{line}{e.src}"


def _print_divergence(title: str, d, indent: str = "  ") -> None:
    if d is None:
        print(f"{indent}{title}: none")
        return
    ia = d.a.idx if d.a else "-"
    ib = d.b.idx if d.b else "-"
    print(f"{indent}{title}: trace event {d.position}, insn {ia} vs {ib}")
    sa, sb = _src(d.a), _src(d.b)
    if sa or sb:
        if sa == sb:
            print(f"{indent}  source: {sa}")
        else:
            print(f"{indent}  source A: {sa}\n{indent}  source B: {sb}")
    print(f"{indent}  A: {_ev(d.a)}")
    print(f"{indent}  B: {_ev(d.b)}")


def _print_logdiff(ld, indent: str = "  ") -> None:
    if ld.error_changed:
        print(f"{indent}error changed:")
        for side, err in (("A", ld.error_a), ("B", ld.error_b)):
            first, *rest = (err or "(none: accepted)").split("\n")
            print(f"{indent}  {side}: {first}")
            for r in rest:
                print(f"{indent}     {r}")
    elif ld.error_a:
        print(f"{indent}same error: {ld.error_a.splitlines()[-1]}")
    _print_divergence("first path divergence (another instruction visited)", ld.first_path,
                      indent)
    if ld.first_semantic and (not ld.first_path
                              or ld.first_semantic.position < ld.first_path.position):
        _print_divergence("first state divergence (format normalised)", ld.first_semantic, indent)
    if ld.first_raw and (not ld.first_semantic or ld.first_raw.position != ld.first_semantic.position):
        _print_divergence("first raw divergence (format only)", ld.first_raw, indent)
    if ld.features_only_a or ld.features_only_b:
        print(f"{indent}format: only A: {', '.join(ld.features_only_a) or '-'}; "
              f"only B: {', '.join(ld.features_only_b) or '-'}")
    if ld.report_b and not ld.report_a:
        print(f"{indent}B adds: {ld.report_b.splitlines()[0]}")
    elif ld.report_a and not ld.report_b:
        print(f"{indent}A adds: {ld.report_a.splitlines()[0]}")
    cut = " and ".join(x for x, c in (("A", ld.cut_a), ("B", ld.cut_b)) if c)
    cut = f" ({cut}: level-2 log cut by the capture, compared as far as both go)" if cut else ""
    print(f"{indent}trace events: A {ld.events_a}, B {ld.events_b}{cut}")


def _run_dirs(a: Path, b: Path, output: str, show_all: bool) -> int:
    from toolkit.logdiff import diff_dirs
    dd = diff_dirs(a, b)
    if output == "json":
        print(json.dumps(dd.to_json(), indent=2))
        return 0
    print(f"A: {a}\nB: {b}\n")
    nw = max([len("Object/Program")] + [len(f"{r.object}/{r.program}") for r in dd.rows])
    hdr = (f"{'Object/Program':<{nw}} {'Verdict A':<11} {'Verdict B':<11} {'Insns A':>8} "
           f"{'Insns B':>8} {'Insns DIFF':>16} {'States A':>8} {'States B':>8} "
           f"{'States DIFF':>16} {'Peak A':>6} {'Peak B':>6}")
    print(hdr)
    print("-" * len(hdr))
    for r in dd.rows:
        sa, sb = r.stats_a, r.stats_b
        name = f"{r.object}/{r.program}"
        flag = " *" if r.verdict_a != r.verdict_b else ""
        print(f"{name:<{nw}} {_verdict(r.verdict_a, r.errno_a):<11} "
              f"{_verdict(r.verdict_b, r.errno_b):<11} "
              f"{str(sa.get('insns_processed', '-')):>8} {str(sb.get('insns_processed', '-')):>8} "
              f"{_fmt_delta(*r.delta('insns_processed')):>16} "
              f"{str(sa.get('total_states', '-')):>8} {str(sb.get('total_states', '-')):>8} "
              f"{_fmt_delta(*r.delta('total_states')):>16} "
              f"{str(sa.get('peak_states', '-')):>6} {str(sb.get('peak_states', '-')):>6}{flag}")
    changed = [r for r in dd.rows if r.log is not None]
    print(f"\n{len(dd.rows)} programs, {sum(r.verdict_a != r.verdict_b for r in dd.rows)} "
          f"verdict changes (*), {len(changed)} logs differ")
    for r in changed:
        ld = r.log
        if not show_all and ld.first_semantic is None and not ld.error_changed \
                and r.verdict_a == r.verdict_b:
            continue
        print(f"\n{r.object}/{r.program}: {_verdict(r.verdict_a, r.errno_a)} -> "
              f"{_verdict(r.verdict_b, r.errno_b)}")
        _print_logdiff(ld)
    return 0


def _run_logs(a: Path, b: Path, output: str, context: int) -> int:
    from toolkit.corpus import read_log
    from toolkit.logdiff import diff_logs, read_trace, steps
    la, lb = read_log(a), read_log(b)
    ld = diff_logs(la, lb)
    if output == "json":
        print(json.dumps(ld.to_json(), indent=2))
        return 0
    print(f"A: {a}\nB: {b}")
    if ld.identical:
        print("identical")
        return 0
    _print_logdiff(ld, indent="")
    d = ld.first_path or ld.first_semantic or ld.first_raw
    if d is None:
        return 0
    ta, tb = read_trace(la).events, read_trace(lb).events
    if d is not ld.first_raw or d is ld.first_path:
        ta, tb = steps(ta), steps(tb)
    lo, hi = max(0, d.position - context), d.position + context + 1
    print(f"\naligned trace around event {d.position} (A | B):")
    w = 70
    for i in range(lo, hi):
        ea = ta[i] if i < len(ta) else None
        eb = tb[i] if i < len(tb) else None
        if ea is None and eb is None:
            break
        mark = ">>" if i == d.position else "  "
        print(f"{mark} {i:>5}  {_ev(ea)[:w]:<{w}} | {_ev(eb)[:w]}")
    return 0


def _run_matrix(root: Path, output: str) -> int:
    from toolkit.corpus import kernel_series
    from toolkit.logdiff import technique_matrix
    kernels, rows = technique_matrix(root)
    if output == "json":
        print(json.dumps({"kernels": kernels, "variants": [
            {"variant": r.variant, "base": r.base, "technique": r.technique, "program": r.program,
             "cells": r.cells, "oldest_accepting": r.oldest_accepting,
             "rejected_after": r.rejected_after} for r in rows]}, indent=2))
        return 0
    if not rows:
        print(f"{root}: no techniques variants (object stems like name.bounded) captured")
        return 0
    cols = [kernel_series(k) for k in kernels]
    hdr = f"{'Variant':<34} {'Program':<24} " + " ".join(f"{c:>14}" for c in cols) + "  Verifies since"
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        cells = []
        for k in kernels:
            c = r.cells.get(k)
            if c is None:
                cells.append(f"{'-':>14}")
            elif c["verdict"] == "accepted":
                cells.append(f"{'ok ' + str(c['insns_processed']):>14}")
            else:
                cells.append(f"{'REJ ' + _errname(c['errno']):>14}")
        since = kernel_series(r.oldest_accepting) if r.oldest_accepting else "never"
        if r.rejected_after:
            since += " (rejected again on " + ", ".join(kernel_series(k) for k in r.rejected_after) + ")"
        print(f"{r.variant:<34} {r.program:<24} " + " ".join(cells) + f"  {since}")
    print("\ncells: ok <insns processed> or REJ <errno>; 'verifies since': the oldest captured "
          "kernel that accepts it")
    return 0


def _resolve(arg: str, root: str) -> Path:
    """A path, or a kernel series/release captured under root ("6.1" -> root/6.1.0-56-...)."""
    p = Path(arg)
    if p.exists() or not Path(root).is_dir():
        return p
    from toolkit.corpus import kernel_series, kernels
    hits = [k for k in kernels(root) if k.name == arg or kernel_series(k.name) == arg]
    return hits[-1] if hits else p


def run(args) -> int:
    from toolkit.model import FqdnkitError
    if args.matrix:
        return _run_matrix(Path(args.matrix), args.output)
    if not args.a or not args.b:
        raise FqdnkitError("diff needs two logs or two kernel directories (or --matrix DIR)")
    a, b = _resolve(args.a, args.root), _resolve(args.b, args.root)
    for p in (a, b):
        if not p.exists():
            raise FqdnkitError(f"{p}: no such file or directory")
    if a.is_dir() != b.is_dir():
        raise FqdnkitError(f"{a}, {b}: give two logs or two directories, not one of each")
    if a.is_dir():
        return _run_dirs(a, b, args.output, args.all)
    return _run_logs(a, b, args.output, args.context)
