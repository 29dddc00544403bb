"""`fqdnkit parse LOG`: the typed lines of a verifier log.

--output json prints JSON lines, one object per input line: {"line", "kind", "text",
"data"} where data is the structured payload (instruction, registers and stack slots with
their bounds, error family and fields, ...). --output text prints "line kind text".
--summary prints only the counts per kind and the recognition rate. Streaming: memory does
not grow with the log. Exit 0, or 1 when some lines were not recognised.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys


def register(sub) -> None:
    p = sub.add_parser("parse", help="parse a verifier log into typed lines",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("log", metavar="LOG")
    p.add_argument("--output", choices=("text", "json"), default="text")
    p.add_argument("--summary", action="store_true")
    p.set_defaults(func=run)


def to_jsonable(v):
    if hasattr(v, "to_json"):
        return v.to_json()
    if dataclasses.is_dataclass(v):
        out = {}
        for f in dataclasses.fields(v):
            x = getattr(v, f.name)
            if x is None or x is False or (isinstance(x, (tuple, str)) and not x):
                continue
            out[f.name] = to_jsonable(x)
        return out
    if isinstance(v, tuple):
        if v and all(isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], str) for x in v):
            return {k: to_jsonable(x) for k, x in v}
        return [to_jsonable(x) for x in v]
    return v


def run(args) -> int:
    from toolkit.logparse import LineCounter, parse_lines, read_log_lines
    lines = sys.stdin if args.log == "-" else read_log_lines(args.log)
    c = LineCounter()
    w = sys.stdout.write
    for ln in parse_lines(lines):
        c.add(ln)
        if args.summary:
            continue
        if args.output == "json":
            w(json.dumps({"line": ln.lineno, "kind": ln.kind, "text": ln.text,
                          "data": to_jsonable(ln.data)}) + "\n")
        else:
            w(f"{ln.lineno:>7} {ln.kind:<17} {ln.text}\n")
    if args.summary:
        rate = c.recognized / c.total if c.total else 1.0
        print(json.dumps({"lines_total": c.total, "lines_recognized": c.recognized,
                          "recognition": round(rate, 5), "kinds": c.kinds,
                          "unrecognized": [{"line": l.lineno, "text": l.text}
                                           for l in c.first_unknown]}, indent=2))
    return 0 if c.unknown == 0 else 1
