"""Kernel 7.3's "Verification failed" report, from its parsed lines to a KernelReport.

Contract: `build_report(lines) -> KernelReport | None` takes the report_* LogLines of one log
(in order) and returns the structured report (category, reason, location file:line:col,
source and instruction context, causal path steps, suggestion), or None if there is none.
`strip_report(lines)` returns the lines without the report, to diagnose as on an older
kernel. Pure.
"""
from __future__ import annotations

import re
from typing import Iterable, Optional

from ..logmodel import KernelReport, LogLine, ReportLine

_INSN_CTX = re.compile(r"^\s*(?:>>>)?\s*(\d+)\s*\|\s*\(([0-9a-f]{2})\)")


def build_report(lines: Iterable[LogLine]) -> Optional[KernelReport]:
    category = None
    reason: list[str] = []
    suggestion: list[str] = []
    src_ctx: list[str] = []
    insn_ctx: list[str] = []
    causal: list[ReportLine] = []
    loc: Optional[ReportLine] = None
    insn = None
    for ln in lines:
        d = ln.data
        if not isinstance(d, ReportLine):
            continue
        if ln.kind == "report_header":
            if category is not None:
                break            # a second report: keep the first
            category = d.category
            continue
        if ln.kind == "report_section":
            continue
        sec = d.section
        if sec == "reason":
            reason.append(d.text.strip())
        elif sec == "suggestion":
            suggestion.append(d.text.strip())
        elif sec == "at":
            if ln.kind == "report_location" and loc is None:
                loc = d
                if d.file is None and d.note and d.note.startswith("insn "):
                    insn = int(d.note[5:])
            elif d.context == "source":
                src_ctx.append(d.text)
            elif d.context == "insn":
                insn_ctx.append(d.text)
                m = _INSN_CTX.match(d.text)
                if m and d.marker:
                    insn = int(m.group(1))
        elif sec == "causal":
            if ln.kind == "report_step" and (d.file is not None or (d.note or "").startswith("insn ")):
                causal.append(d)
            elif causal and d.note and (causal[-1].note is None
                                        or causal[-1].note.startswith("insn ")):
                last = causal[-1]
                causal[-1] = ReportLine(last.section, last.text, func=last.func, file=last.file,
                                        line=last.line, col=last.col, note=d.note)
    if category is None:
        return None
    return KernelReport(category=category, reason=" ".join(reason),
                        func=loc.func if loc else None, file=loc.file if loc else None,
                        line=loc.line if loc else None, col=loc.col if loc else None,
                        source_context=tuple(src_ctx), insn_context=tuple(insn_ctx), insn=insn,
                        causal_path=tuple(causal), suggestion=" ".join(suggestion))


def strip_report(lines: Iterable[LogLine]) -> list[LogLine]:
    return [ln for ln in lines if not ln.kind.startswith("report_")]
