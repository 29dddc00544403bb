"""Analysis of verifier logs: replay, backward slice, loop costs, diagnosis.

Public API:
  diagnose(log_text, object_spec=None, program=None) -> Diagnosis | None
      The diagnosis of a rejected program (None when the log shows no rejection).
      `object_spec` is an ObjectSpec or a path to the .bpf.o; with `program` it supplies
      source lines from BTF line info when the log has none (kernel 6.1). Never raises on
      log content; an unreadable object raises FqdnkitError naming it.
      This is what `fqdnkit check` calls for each rejected program.
  diagnose_result(load_result) -> dict | None
      The same for a toolkit.model.LoadResult (its log, object and program), as the JSON
      dict `fqdnkit check` prints (Diagnosis.to_json() plus "kernel_report"); the object
      is used for line info only when it can be read (else the log alone).
  explain(lines, object_spec=None, program=None) -> dict
      The full `fqdnkit explain --output json` document for an iterable of text lines
      (streamed), see toolkit/commands/explain.py.
  build_trace, backward_slice, loop_costs, build_report, strip_report, catalog
"""
from __future__ import annotations

import os
from typing import Iterable, Optional

from ..logmodel import KernelReport
from . import catalog
from .diagnose import Diagnosis, diagnose_trace
from .kernel_report import build_report, strip_report
from .slicing import backward_slice, loop_costs
from .trace import Trace, build_trace

__all__ = ["diagnose", "diagnose_result", "explain", "Diagnosis", "build_trace", "backward_slice", "loop_costs",
           "build_report", "strip_report", "catalog", "lines_resolver", "Trace"]


def lines_resolver(object_spec, program: Optional[str]):
    """insn -> (file, line, source text) from the object's BTF line info, or None without an
    object (or for an instruction the program's own line info does not cover)."""
    if object_spec is None or not program:
        return None
    from ..elf import read_object, source_line_for
    spec = read_object(object_spec) if isinstance(object_spec, str) else object_spec
    try:
        prog = spec.program(program)
    except KeyError:
        return None

    def lines_of(insn: int):
        sl = source_line_for(prog, insn)
        if sl is None:
            return None
        # past the program's own code only the appended subprograms' lines apply (elf lays
        # them out like libbpf); a main-program line there would be a wrong line
        if prog.insn_count and insn >= prog.insn_count and \
                sl.insn_off < prog.sec_insn_off + prog.insn_count:
            return None
        return sl.file.rsplit("/", 1)[-1], sl.line, sl.text
    # file name as reported -> the path line info recorded (to read the source when needed)
    lines_of.paths = {l.file.rsplit("/", 1)[-1]: l.file for l in prog.lines}
    return lines_of


class _Tee:
    """Feeds LogLines through, counting them and keeping the report lines."""

    def __init__(self, src, counter):
        self.src = src
        self.counter = counter
        self.report = []

    def __iter__(self):
        for ln in self.src:
            self.counter.add(ln)
            if ln.kind.startswith("report_"):
                self.report.append(ln)
            yield ln


def analyse(text_lines: Iterable[str], object_spec=None, program=None, strip: bool = False):
    """(trace, kernel_report, counter, diagnosis) for a stream of text lines."""
    from ..logparse import LineCounter, parse_lines
    counter = LineCounter()
    tee = _Tee(parse_lines(text_lines), counter)
    src = (ln for ln in tee if not ln.kind.startswith("report_")) if strip else tee
    trace = build_trace(src)
    report = build_report(tee.report) if not strip else None
    diag = diagnose_trace(trace, lines_resolver(object_spec, program), report)
    return trace, report, counter, diag


def diagnose(log_text: str, object_spec=None, program: Optional[str] = None) -> Optional[Diagnosis]:
    return analyse(log_text.splitlines(), object_spec, program)[3]


def diagnose_result(result) -> Optional[dict]:
    from ..model import FqdnkitError
    obj = result.object if result.object and os.path.isfile(result.object) else None
    try:
        _, report, _, d = analyse(result.log.splitlines(), obj, result.program if obj else None)
    except FqdnkitError:
        _, report, _, d = analyse(result.log.splitlines())
    if d is None:
        return None
    out = d.to_json()
    out["kernel_report"] = report.to_json() if report is not None else None
    return out


def explain(text_lines: Iterable[str], object_spec=None, program: Optional[str] = None) -> dict:
    trace, report, counter, diag = analyse(text_lines, object_spec, program)
    p = trace.processed
    verdict = "rejected" if diag is not None else ("accepted" if p is not None else "unknown")
    return {
        "lines_total": counter.total,
        "lines_recognized": counter.recognized,
        "recognition": round(counter.recognized / counter.total, 5) if counter.total else 1.0,
        "unrecognized": [{"line": ln.lineno, "text": ln.text} for ln in counter.first_unknown],
        "kinds": counter.kinds,
        "verdict": verdict,
        "error": diag.to_json() if diag is not None else None,
        "stats": {
            "insns_processed": p.insns if p else None,
            "insn_limit": p.limit if p else None,
            "max_states_per_insn": p.max_states_per_insn if p else None,
            "total_states": p.total_states if p else None,
            "peak_states": p.peak_states if p else None,
            "mark_read": p.mark_read if p else None,
            "verification_time_us": trace.verification_time_us,
            "stack_depth": trace.stack_depth,
            "paths": len(trace.paths),
            "insns_printed": trace.n_steps,
        },
        "kernel_report": report.to_json() if report is not None else None,
    }
