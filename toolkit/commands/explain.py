"""`fqdnkit explain LOG`: parse a verifier log and explain the rejection down to the source line.

LOG is a verifier log as the kernel prints it, with or without libbpf's wrapping, plain or
gzipped ("-" reads stdin). With --object (and --program, default: the only program of the
object, or the log file's stem) source lines come from the object's BTF line info when
the log has none (kernel 6.1). Exit 0 when the log was explained (accepted or rejected),
1 when the log shows no verdict (truncated), 2 on usage or I/O errors.
JSON keys: lines_total, lines_recognized, recognition, unrecognized (first 20, with line
numbers), kinds, verdict, error (null when accepted; else class, category, message, insn,
source_file, source_line, explanation, fix, ...), stats, kernel_report (7.3's own report,
structured, or null).
"""
from __future__ import annotations

import argparse
import json
import os
import sys


def register(sub) -> None:
    p = sub.add_parser("explain", help="explain a verifier log (class, source line, fix)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("log", metavar="LOG")
    p.add_argument("--object", metavar="OBJ", help="the .bpf.o the log comes from")
    p.add_argument("--program", metavar="NAME", help="program name inside OBJ")
    p.add_argument("--output", choices=("text", "json"), default="text")
    p.set_defaults(func=run)


def _program_name(args) -> str | None:
    if args.program or not args.object:
        return args.program
    from toolkit.elf import read_object
    spec = read_object(args.object)
    if len(spec.programs) == 1:
        return spec.programs[0].name
    stem = os.path.basename(args.log).split(".")[0]
    for p in spec.programs:
        if p.name == stem:
            return p.name
    from toolkit.model import FqdnkitError
    raise FqdnkitError(f"{args.object}: holds {len(spec.programs)} programs; name one with --program")


def render_text(doc: dict) -> str:
    out = []
    e = doc["error"]
    out.append(f"verdict: {doc['verdict']}")
    if e:
        where = f"{e['source_file']}:{e['source_line']}" if e["source_line"] else "(no line info)"
        out.append(f"error:   {e['message']}")
        out.append(f"class:   {e['class']} ({e['category']})")
        out.append(f"at:      insn {e['insn']} `{e['insn_text']}` {where}")
        if e.get("source_code"):
            out.append(f"         {e['source_code']}")
        out.append(f"why:     {e['explanation']}")
        out.append(f"fix:     {e['fix']}")
        if e.get("helper"):
            out.append(f"helper:  reference_bpf/lib/{e['helper']}")
        if e.get("kernel_fix"):
            out.append(f"kernels: {e['kernel_fix']}")
        if e["causal_path"]:
            out.append("causal path (backward slice):")
            for s in e["causal_path"]:
                loc = f"{s['file']}:{s['line']}" if s["line"] else ""
                out.append(f"  {s['role']:<6} {s['insn']:>5}: {s['text']:<36} {loc}")
        for l in e["loops"][:3]:
            out.append(f"loop insns {l['head']}..{l['tail']}: {l['insns_processed']} insns "
                       f"({l['share']:.0%}), {l['states']} states, {l['iterations']} iterations")
    kr = doc.get("kernel_report")
    if kr:
        loc = kr["location"]
        out.append(f"kernel report: {kr['category']} at {loc['file']}:{loc['line']}:{loc['col']}")
        if kr["reason"]:
            out.append(f"  reason: {kr['reason']}")
        for s in kr["causal_path"]:
            out.append(f"  step: {s['file']}:{s['line']} {s['note'] or ''}")
        if kr["suggestion"]:
            out.append(f"  suggestion: {kr['suggestion']}")
    s = doc["stats"]
    out.append(f"stats:   {s['insns_processed']} insns processed, {s['total_states']} states, "
               f"{s['paths']} paths, {s['verification_time_us']} us")
    out.append(f"lines:   {doc['lines_recognized']}/{doc['lines_total']} recognized")
    for u in doc["unrecognized"]:
        out.append(f"  unrecognized line {u['line']}: {u['text']}")
    return "\n".join(out)


def run(args) -> int:
    from toolkit.analysis import explain
    from toolkit.logparse import read_log_lines
    lines = sys.stdin if args.log == "-" else read_log_lines(args.log)
    doc = explain(lines, args.object, _program_name(args))
    if args.output == "json":
        json.dump(doc, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(render_text(doc))
    return 0 if doc["verdict"] in ("accepted", "rejected") else 1
