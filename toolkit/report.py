"""Render load results as a veristat-like table, CSV or JSON, with diagnoses of rejections.

Contract: pure formatting of LoadResult lists (plus the diagnosis of each rejected program
when the analysis layer can produce one); no kernel access.
"""
from __future__ import annotations

import csv
import io
import json
from typing import Callable, Optional

from .build import display_path
from .model import LoadResult, Verdict

COLUMNS = [("File", 0), ("Program", 0), ("Verdict", 0), ("Duration (us)", 1), ("Insns", 1),
           ("States", 1), ("Peak states", 1), ("Stack", 1), ("Prog insns", 1), ("Expected", 0)]

Diagnoser = Callable[[LoadResult], Optional[dict]]


def _fmt(v) -> str:
    return "-" if v is None else str(v)


def _expected_cell(r: LoadResult) -> str:
    exp = r.expectation
    want = "reject" if exp and exp.verdict is Verdict.REJECTED else "accept"
    return f"{'yes' if r.as_expected else 'NO'} ({want})"


def _stack(depth: str | None) -> str:
    """Main program's stack depth, '+...' when subprograms have their own frames."""
    if depth is None:
        return "-"
    parts = depth.split("+")
    return parts[0] + ("+..." if len(parts) > 1 else "")


def row(r: LoadResult) -> list[str]:
    s = r.stats
    return [display_path(r.object), r.program, "success" if r.verdict is Verdict.ACCEPTED else "failure",
            _fmt(s.verification_time_us), _fmt(s.insns_processed), _fmt(s.total_states),
            _fmt(s.peak_states), _stack(s.stack_depth), _fmt(s.insn_count), _expected_cell(r)]


def render_table(results: list[LoadResult], diagnoses: dict[int, dict] | None = None) -> str:
    rows = [row(r) for r in results]
    widths = [max([len(c[0])] + [len(r[i]) for r in rows]) for i, c in enumerate(COLUMNS)]

    def line(cells):
        return "  ".join(c.rjust(w) if COLUMNS[i][1] else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    out = [line([c[0] for c in COLUMNS]), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    done = sum(r.as_expected for r in results)
    out.append("")
    out.append(f"Done. Processed {len(results)} programs: {sum(r.verdict is Verdict.ACCEPTED for r in results)} "
               f"accepted, {sum(r.verdict is Verdict.REJECTED for r in results)} rejected; "
               f"{done} as expected, {len(results) - done} not.")
    for i, r in enumerate(results):
        if r.verdict is not Verdict.REJECTED:
            continue
        out.append("")
        out.append(f"== {display_path(r.object)} :: {r.program} rejected (errno {r.errno}) =="
                   + ("" if r.as_expected else "  ** NOT AS EXPECTED **"))
        d = (diagnoses or {}).get(i)
        if d:
            loc = f"{d.get('source_file') or '?'}:{d.get('source_line') or '?'}"
            out.append(f"  class:       {d.get('class')} ({d.get('category')})")
            out.append(f"  message:     {d.get('message')}")
            out.append(f"  where:       insn {d.get('insn')} at {loc}")
            out.append(f"  explanation: {d.get('explanation')}")
            out.append(f"  fix:         {d.get('fix')}")
        else:
            tail = [l for l in r.log.strip().splitlines() if l.strip()][-4:]
            out.extend("  " + l for l in tail)
        if r.expectation and r.expectation.failure_class and d and d.get("class") != r.expectation.failure_class:
            out.append(f"  note: annotated class {r.expectation.failure_class}, diagnosed {d.get('class')}")
    return "\n".join(out)


def render_csv(results: list[LoadResult]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([c[0] for c in COLUMNS] + ["errno"])
    for r in results:
        w.writerow(row(r) + [r.errno])
    return buf.getvalue()


def render_json(results: list[LoadResult], diagnoses: dict[int, dict] | None = None) -> str:
    items = []
    for i, r in enumerate(results):
        item = r.to_json()
        item["object"] = display_path(r.object)
        item["diagnosis"] = (diagnoses or {}).get(i)
        items.append(item)
    return json.dumps(items, indent=2)
