"""DiagnosisPane: our diagnosis (class, explanation with numbers, fix, helper) and, when
the log carries kernel 7.3's "Verification failed" report, the kernel's report beside it.

Contract: `show(diagnosis, report)` takes the dicts of `tui_model.diagnosis_for` and
`tui_model.kernel_report` (report may be None). Text is assembled as Content (never
parsed as markup: logs contain `[...]`), styled with theme variables only.
"""
from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import Static

_FIELDS = (("class", "class"), ("category", "category"), ("message", "message"),
           ("where", None), ("explanation", "explanation"), ("fix", "fix"),
           ("helper", "helper"), ("kernels", "kernel_fix"), ("check", "check"),
           ("causal path", "causal_path"), ("loops", "loops"),
           ("annotated class", "expected_class"), ("from", "source"))
_HIDDEN = {"family", "insn_text", "source_code", "kernel_report"}


def _value(key: str, v) -> str:
    if key == "check" and isinstance(v, dict):
        return f"insn {v.get('insn')} (line {v.get('line')}) proved {v.get('proved')} bytes"
    if key == "causal_path" and isinstance(v, list):
        return "".join(f"\n  {s.get('role', ''):>5} {s.get('file') or '?'}:{s.get('line') or '?'}  "
                       f"{s.get('code') or s.get('text') or ''}" for s in v)
    if key == "loops" and isinstance(v, list):
        return "".join(f"\n  insns {l.get('head')}-{l.get('tail')}: {l.get('insns_processed')} processed "
                       f"({100 * (l.get('share') or 0):.0f}%), {l.get('iterations')} iterations"
                       for l in v)
    return str(v)


def _assemble(title: tuple[str, str], rows: list[tuple[str, str, str]]) -> Content:
    """A heading and `label value` rows; text is never parsed as markup (logs hold `[...]`)."""
    parts: list = [title]
    for label, style, value in rows:
        parts += ["\n", (label, style), " ", value]
    return Content.assemble(*parts)


def render_diagnosis(d: dict) -> Content:
    rows = []
    for label, key in _FIELDS:
        if key is None:
            f, l, insn = d.get("source_file"), d.get("source_line"), d.get("insn")
            if not (f or l or insn is not None):
                continue
            v = f"insn {insn if insn is not None else '?'} at {f or '?'}:{l or '?'}"
        else:
            v = d.get(key)
        if v in (None, "", [], {}):
            continue
        style = "b $text-accent"
        if label == "class":
            style = "b $text-success" if v == "accepted" else "b $text-error"
        rows.append((label + ":", style, _value(key or "", v)))
    known = {k for _, k in _FIELDS if k} | {"source_file", "source_line", "insn"} | _HIDDEN
    for k, v in d.items():
        if k not in known and isinstance(v, (str, int, float)) and str(v):
            rows.append((k + ":", "$foreground-muted", str(v)))
    return _assemble(("fqdnkit diagnosis", "b $text-primary"), rows)


def render_report(r: dict) -> Content:
    rows = [("category:", "b $text-error", r.get("category") or "?")]
    loc = r.get("location") or {}
    if loc:
        rows.append(("at:", "b $text-accent",
                     f"{loc.get('function') or '?'} @ {loc.get('file') or '?'}:{loc.get('line') or '?'}"
                     + (f":{loc['col']}" if loc.get("col") else "")))
    if r.get("reason"):
        rows.append(("reason:", "b $text-accent", r["reason"]))
    for label, key in (("source:", "source_context"), ("insn:", "insn_context")):
        lines = r.get(key) or []
        if lines:
            rows.append((label, "b $text-accent", "\n  ".join([""] + list(lines))))
    steps = r.get("causal_path") or []
    if steps:
        text = "\n".join(f"  {n}. {s.get('file') or '?'}:{s.get('line') or '?'}  {s.get('note') or s.get('text') or ''}"
                          for n, s in enumerate(steps, 1))
        rows.append(("causal path:", "b $text-accent", "\n" + text))
    if r.get("suggestion"):
        rows.append(("suggestion:", "b $text-accent", r["suggestion"]))
    return _assemble(("kernel's report (7.3)", "b $text-warning"), rows)


class DiagnosisPane(Horizontal):
    ALLOW_MAXIMIZE = True
    DEFAULT_CSS = """
    DiagnosisPane { height: 1fr; }
    DiagnosisPane > VerticalScroll { width: 1fr; height: 1fr; }
    DiagnosisPane > #kernel-report-box { display: none; border-left: vkey $foreground-muted; }
    DiagnosisPane.-with-report > #kernel-report-box { display: block; }
    DiagnosisPane Static { width: 1fr; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="ours-box"):
            yield Static("", id="ours")
        with VerticalScroll(id="kernel-report-box"):
            yield Static("", id="kernel-report")

    def show(self, diagnosis: dict, report: dict | None) -> None:
        self.query_one("#ours", Static).update(render_diagnosis(diagnosis))
        self.set_class(report is not None, "-with-report")
        self.query_one("#kernel-report", Static).update(render_report(report) if report else "")
