"""`fqdnkit check`: load every program of the given objects/sources on this kernel.

With no path, every reference object under build/. A .c source is compiled with clang
(or with bcc when --bcc is given). Exit 0 when every verdict is what is expected of the
program (accepted, or rejected as its FQDNKIT_EXPECT annotation says), 1 otherwise.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("check", help="load programs on this kernel and report the verifier's verdicts",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="*", metavar="OBJECT|DIR|SOURCE")
    p.add_argument("--log-level", type=int, default=1, choices=(1, 2, 4),
                   help="verifier log level (default 1: the failing path of a rejection; 2 keeps "
                        "every path; stats are always collected)")
    p.add_argument("--output", choices=("table", "csv", "json"), default="table")
    p.add_argument("--save-logs", metavar="DIR", help="write each log and a JSON sidecar under DIR")
    p.add_argument("--bcc", action="store_true", help="compile .c sources with bcc instead of clang")
    p.add_argument("--prog-type", default="sched_cls", help="program type for bcc sources")
    p.add_argument("--no-diagnose", action="store_true", help="skip the diagnosis of rejections")
    p.set_defaults(func=run)


def _expand(paths: list[str], bcc: bool, tmp: str) -> list[tuple[str, str]]:
    """(kind, path) pairs: kind is 'object' or 'bcc'."""
    from toolkit.build import compile_source, reference_objects
    from toolkit.model import FqdnkitError

    if not paths:
        return [("object", o) for o in reference_objects()]
    out = []
    for p in paths:
        if os.path.isdir(p):
            objs = sorted(str(x) for x in Path(p).rglob("*.o"))
            if not objs:
                raise FqdnkitError(f"{p}: directory holds no .o objects")
            out += [("object", o) for o in objs]
        elif not os.path.exists(p):
            raise FqdnkitError(f"{p}: no such file or directory")
        elif p.endswith(".c"):
            out.append(("bcc", p) if bcc else ("object", compile_source(p, tmp)))
        else:
            out.append(("object", p))
    return out


def _save(results, root: str) -> None:
    from toolkit.build import display_path
    from toolkit.corpus import object_stem
    for r in results:
        d = Path(root) / r.kernel_release / object_stem(r.object)
        d.mkdir(parents=True, exist_ok=True)
        level = r.log_level & 3 or 4
        (d / f"{r.program}.level{level}.log").write_text(r.log)
        meta = {k: v for k, v in r.to_json().items() if k != "log"}
        meta["object"] = display_path(r.object)
        (d / f"{r.program}.meta.json").write_text(json.dumps(meta, indent=2) + "\n")


def diagnose_results(results) -> dict[int, dict]:
    """Diagnosis of each rejected program, keyed by index in `results`."""
    from toolkit.analysis import diagnose_result
    from toolkit.model import Verdict
    out = {}
    for i, r in enumerate(results):
        if r.verdict is Verdict.REJECTED:
            d = diagnose_result(r)
            if d is not None:
                out[i] = d
    return out


def run(args) -> int:
    from toolkit import report
    from toolkit.loader import load_object

    with tempfile.TemporaryDirectory(prefix="fqdnkit-check-") as tmp:
        items = _expand(args.paths, args.bcc, tmp)
        results = []
        show = sys.stderr.isatty()
        for n, (kind, path) in enumerate(items, 1):
            if show:
                print(f"\r[{n}/{len(items)}] {path}".ljust(100), end="", file=sys.stderr, flush=True)
            if kind == "bcc":
                from toolkit.bcc_loader import load_source
                results += load_source(path, log_level=args.log_level, prog_type=args.prog_type)
            else:
                results += load_object(path, log_level=args.log_level)
        if show:
            print("\r".ljust(100) + "\r", end="", file=sys.stderr, flush=True)
        diagnoses = {} if args.no_diagnose else diagnose_results(results)
    if args.save_logs:
        _save(results, args.save_logs)
    if args.output == "json":
        print(report.render_json(results, diagnoses))
    elif args.output == "csv":
        print(report.render_csv(results), end="")
    else:
        print(report.render_table(results, diagnoses))
    return 0 if all(r.as_expected for r in results) else 1
