"""Align two verifier logs of the same program and say where and how they differ.

Contract (self-contained: a light line-level reader, not the Lark grammar of logparse):
- `read_trace(log) -> Trace`: the classic verification trace (column-0 lines
  `N: (op) insn ; state`, `N: state`, `from A to B: state`, `N: safe`) as events, with the
  source line (`; text @ file:LINE`) in force at each event, the error message (the lines
  between the last trace line and the statistics; 7.3's multi-line "Verification failed"
  report is cut off and kept separately), and the statistics. Preambles (6.18's
  `Live regs before insn:`, 7.3's control-flow/liveness listing) are indented and skipped.
- `normalise_state(text)` removes cosmetic format differences between kernels: `_w`
  suffixes, `inv` -> `scalar`, hex -> decimal numbers, `off=0`/`imm=0` defaults.
- `diff_logs(a, b) -> LogDiff`: the first divergent event by raw text and the first that
  survives normalisation, aligned by position in the trace (the visit order of instruction
  indices), each with both sides' instruction index, instruction and source line; the
  format changes seen (`_w`, `inv`/`scalar`, hex bounds, `@ file:line`, preambles,
  7.3 report); whether the error message changed.
- `diff_dirs(a, b) -> DirDiff`: one row per program of two kernel directories of the
  corpus with verdict and statistics on each side, differences and percentages (like
  veristat's compare mode), plus a LogDiff for every program whose log changed.
- `technique_matrix(root)`: for each techniques variant (object stem `name.technique`),
  verdict and cost on every captured kernel and the oldest kernel where it verifies.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from toolkit import corpus

TECHNIQUES = ("unroll", "bounded", "bpf_loop", "iter", "may_goto")

CUT_MARK = "[fqdnkit capture: level-2 log cut"
_INSN = re.compile(r"^(\d+): \(([0-9a-f]{2})\) (.*?)(?:\s+;(?: (.*))?)?$")
_STATE = re.compile(r"^(\d+): (R\d.*|frame\d.*)$")
_FROM = re.compile(r"^from (\d+) to (\d+)( \(speculative execution\))?: (.*)$")
_SAFE = re.compile(r"^(\d+): safe$")
_SRC = re.compile(r"^; (.*?)(?: @ (\S+):(\d+))?$")
_STATS = re.compile(r"^(verification time \d+ usec|stack depth|processed \d+ insns|"
                    r"subprog \d+ \(.*\) main insns_self|max_states_per_insn)")
_NOISE = re.compile(r"^(\[fqdnkit capture:|frame\d+: |frame \d+: propagating|"
                    r"Validating .*\(\) func#\d+\.\.\.$|Func#\d+ |SCC (?:exit|backedge|entry)|mark_precise:|last_idx |parent didn't have|regs=|func#\d+ @|"
                    r"Live regs before insn:|topo_order|subprog#|stack use/def|\s)")


@dataclass(frozen=True)
class Event:
    kind: str            # "insn", "state", "branch", "safe"
    idx: int             # instruction index (for "branch": the target)
    text: str            # instruction text, or the state
    state: str = ""      # the state printed after the instruction (insn events)
    src: str = ""        # source text in force
    src_line: Optional[int] = None
    line_no: int = 0     # line number in the log (1-based)

    def key(self) -> tuple:
        return (self.kind, self.idx)

    def raw(self) -> str:
        return f"{self.kind} {self.idx} {self.text} ; {self.state}"

    def normal(self) -> str:
        return f"{self.kind} {self.idx} {normalise_insn(self.text)} ; {normalise_state(self.state)}" \
            if self.kind == "insn" else f"{self.kind} {self.idx} {normalise_state(self.text)}"


@dataclass
class Trace:
    events: list[Event]
    error: str                      # classic error message ("" when accepted)
    report: str                     # 7.3 multi-line "Verification failed" report, else ""
    stats: dict
    features: set[str]              # format features seen (see _features)
    accepted: bool
    cut: bool = False               # the level-2 log was cut by fqdnkit capture


def normalise_insn(text: str) -> str:
    """Kernel addresses (map pointers loaded by ld_imm64) differ on every boot."""
    s = re.sub(r"\b0x(?:ffff|ff[0-9a-f]{2})[0-9a-f]{12}\b", "<kaddr>", text.strip())
    return re.sub(r"\s+", " ", s)


_HEX = re.compile(r"(?<![\w.])(-?)0x([0-9a-f]+)\b")
_DEFAULTS = re.compile(r"(?<=[(,])(?:off|imm)=0(?:,|(?=\)))")


_PTR_ARGS = re.compile(r"\b([a-z_]+)\(([^()]*)\)")


def _canon_ptr(m: re.Match) -> str:
    """7.3 prints a pointer's constant offset as imm=N where older kernels print off=N; the
    order of the fields is not significant."""
    kind, args = m.group(1), m.group(2)
    if kind == "scalar" or not args:
        return m.group(0)
    parts = [p for p in args.split(",") if p]
    keys = {p.split("=", 1)[0] for p in parts}
    if "imm" in keys and "off" not in keys:
        parts = ["off=" + p[4:] if p.startswith("imm=") else p for p in parts]
    return f"{kind}({','.join(sorted(parts))})"


_SCALAR = re.compile(r"\bscalar\(((?:[^()]|\([^()]*\))*)\)")
_RENAME32 = {"s32_min": "smin32", "s32_max": "smax32", "u32_min": "umin32", "u32_max": "umax32"}


def _canon_scalar(args: str) -> str:
    """scalar(...) bounds in one spelling: chained `smax=umax=V` expanded, 6.1's `s32_min`
    names mapped to `smin32`, and the bounds 6.1 leaves out because they follow from the
    others (smin=0 beside an unsigned max, smax equal to umax, 32-bit equal to 64-bit)
    dropped. Heuristic: two states that print differently may still be equal."""
    fields: dict[str, str] = {}
    for part in re.split(r",(?![^()]*\))", args):
        if "=" not in part:
            if part:
                fields[part] = ""
            continue
        *names, value = part.split("=")
        for n in names:
            fields[_RENAME32.get(n, n)] = value
    f = fields
    for a, b in (("smax", "umax"), ("smax32", "umax32"), ("smin32", "smin"), ("smax32", "smax"),
                 ("umin32", "umin"), ("umax32", "umax"), ("umin", "smin")):
        if a in f and b in f and f[a] == f[b]:
            del f[a]
    for k in ("smin", "smin32", "umin", "umin32"):
        if f.get(k) == "0" and k != "umin":
            del f[k]
    if f.get("umin") == "0":
        del f["umin"]
    body = ",".join(f"{k}={v}" if v != "" else k for k, v in sorted(f.items()))
    return f"scalar({body})" if body else "scalar()"


def normalise_state(text: str) -> str:
    """Remove cosmetic differences between kernels' register-state printing."""
    s = re.sub(r"\b(R\d+)_w\b", r"\1", text)
    # stack slot byte types: 6.1 "????0000", newer kernels "????0"
    s = re.sub(r"(fp-\d+=[?mz0]*?)0+(?=\s|$)", r"\g<1>0", s)
    s = re.sub(r"\binv(?=[\d(P-]|\b)", "scalar", s)
    s = _HEX.sub(lambda m: m.group(1) + str(int(m.group(2), 16)), s)
    s = _DEFAULTS.sub("", s)
    s = s.replace(",)", ")")
    s = re.sub(r"\bmap=[\w.]+,?", "", s)
    s = _PTR_ARGS.sub(_canon_ptr, s)
    s = _SCALAR.sub(lambda m: _canon_scalar(m.group(1)), s)
    s = re.sub(r"\bscalar\(\)", "scalar", s)
    return re.sub(r"\s+", " ", s.strip())


def _features(log: str) -> set[str]:
    # format properties show in the first lines; scanning 256 KB keeps diffs of big logs fast
    log = log[:262144]
    f = set()
    if re.search(r"\bR\d+_w\b", log):
        f.add("_w suffixes")
    if re.search(r"=inv\b|=inv\d|=inv\(", log):
        f.add("inv (pre-5.18 scalar name)")
    if re.search(r"\b[us]?(?:min|max)(?:32)?=0x[0-9a-f]+", log) or re.search(r"=0x[0-9a-f]{5,}", log):
        f.add("hex bounds")
    if re.search(r"^; .* @ \S+:\d+$", log, re.M):
        f.add("source @ file:line")
    elif re.search(r"^; ", log, re.M):
        f.add("source text without file:line")
    if "Live regs before insn:" in log:
        f.add("Live regs preamble")
    if re.search(r"^topo_order\[|^subprog#\d+: analyzing", log, re.M):
        f.add("control-flow/liveness preamble")
    if re.search(r"^Verification failed: ", log, re.M):
        f.add("Verification failed report")
    if re.search(r"\((?:off=0,)?imm=0\)|off=0,imm=0", log):
        f.add("off=0/imm=0 printed")
    return f


def read_trace(log: str) -> Trace:
    lines = log.split("\n")
    report = ""
    pos = log.find("\nVerification failed: ")
    if pos >= 0:
        i = log.count("\n", 0, pos + 1)
        end = i
        while end < len(lines) and not _STATS.match(lines[end]):
            end += 1
        report = "\n".join(lines[i:end]).strip()
        lines = lines[:i] + lines[end:]
    events: list[Event] = []
    src, src_line = "", None
    last_trace = -1
    # The trace starts at the first register state ("0: R1=ctx() R10=fp0"); 7.3's
    # preamble also has column-0 instruction lines (with a tab before a pointer summary).
    started = False
    for n, line in enumerate(lines, 1):
        if not started:
            started = _STATE.match(line) is not None
            if not started:
                continue
        c = line[:1]
        if not (c.isdigit() or c == ";" or c == "f") or (c.isdigit() and "\t" in line):
            continue
        m = _SRC.match(line) if c == ";" else None
        if m:
            src, src_line = m.group(1), int(m.group(3)) if m.group(3) else None
            last_trace = n
            continue
        if (m := _INSN.match(line)):
            events.append(Event("insn", int(m.group(1)), m.group(3), m.group(4) or "", src,
                                src_line, n))
        elif (m := _SAFE.match(line)):
            events.append(Event("safe", int(m.group(1)), "safe", "", src, src_line, n))
        elif (m := _FROM.match(line)):
            txt = m.group(4) + (" (speculative)" if m.group(3) else "")
            events.append(Event("branch", int(m.group(2)), f"from {m.group(1)}: {txt}", "", src,
                                src_line, n))
        elif (m := _STATE.match(line)):
            events.append(Event("state", int(m.group(1)), m.group(2), "", src, src_line, n))
        else:
            continue
        last_trace = n
    err_lines = []
    text = "\n".join(lines) if report else log
    cpos = text.find("\n" + CUT_MARK)
    cut = text.count("\n", 0, cpos + 1) if cpos >= 0 else None
    # a cut log (see toolkit.kernels.capture) ends with the level-4 log: the error is there
    first = cut + 1 if cut is not None else max(last_trace, 0)
    for line in lines[first:]:
        if _STATS.match(line):
            break
        if line.strip() and not _NOISE.match(line):
            err_lines.append(line.strip())
    stats = corpus.parse_stats(log)
    error = "\n".join(err_lines)
    accepted = not error and stats.get("insns_processed") is not None
    return Trace(events, error, report, stats, _features(log), accepted, cut is not None)


@dataclass
class Divergence:
    position: int                  # index in both traces' event lists
    a: Optional[Event]
    b: Optional[Event]

    def to_json(self) -> dict:
        def ev(e: Optional[Event]):
            if e is None:
                return None
            return {"kind": e.kind, "insn_idx": e.idx, "text": e.text, "state": e.state,
                    "source": e.src, "source_line": e.src_line, "log_line": e.line_no}
        return {"position": self.position, "a": ev(self.a), "b": ev(self.b)}


@dataclass
class LogDiff:
    identical: bool
    first_raw: Optional[Divergence]
    first_semantic: Optional[Divergence]
    first_path: Optional[Divergence]
    error_a: str
    error_b: str
    report_a: str
    report_b: str
    features_only_a: list[str]
    features_only_b: list[str]
    events_a: int
    events_b: int
    stats_a: dict
    stats_b: dict
    cut_a: bool = False
    cut_b: bool = False

    @property
    def error_changed(self) -> bool:
        return _norm_err(self.error_a) != _norm_err(self.error_b)

    def to_json(self) -> dict:
        return {
            "identical": self.identical,
            "first_raw_divergence": self.first_raw.to_json() if self.first_raw else None,
            "first_semantic_divergence":
                self.first_semantic.to_json() if self.first_semantic else None,
            "first_path_divergence": self.first_path.to_json() if self.first_path else None,
            "error_a": self.error_a, "error_b": self.error_b,
            "error_changed": self.error_changed,
            "report_a": self.report_a, "report_b": self.report_b,
            "format_only_a": self.features_only_a, "format_only_b": self.features_only_b,
            "events_a": self.events_a, "events_b": self.events_b,
            "cut_a": self.cut_a, "cut_b": self.cut_b,
        }


def _norm_err(e: str) -> str:
    return normalise_state(e)


def steps(events: list[Event]) -> list[Event]:
    """The path: instruction, branch and prune ("safe") events. A standalone state line
    ("N: R...", printed by 6.1 where newer kernels print the state inline) is folded into
    the preceding instruction when that one printed no state of its own."""
    out: list[Event] = []
    for e in events:
        if e.kind == "state":
            if out and out[-1].kind == "insn" and not out[-1].state:
                p = out[-1]
                out[-1] = Event(p.kind, p.idx, p.text, e.text, p.src, p.src_line, p.line_no)
            continue
        out.append(e)
    return out


def _first_divergence(a: list[Event], b: list[Event], mode: str) -> Optional[Divergence]:
    """mode "path": first step visiting another instruction (or another kind of step);
    "normal": first that differs after normalise_* (states compared where both sides
    print one); "raw": first event that differs at all (a and b are then all events)."""
    for i, (x, y) in enumerate(zip(a, b)):
        if x.key() != y.key():
            return Divergence(i, x, y)
        if mode == "path":
            if x.kind == "insn" and normalise_insn(x.text) != normalise_insn(y.text):
                return Divergence(i, x, y)
            continue
        if mode == "normal":
            if x.kind == "insn":
                if normalise_insn(x.text) != normalise_insn(y.text):
                    return Divergence(i, x, y)
                if x.state and y.state and normalise_state(x.state) != normalise_state(y.state):
                    return Divergence(i, x, y)
            elif x.normal() != y.normal():
                return Divergence(i, x, y)
            continue
        if x.raw() != y.raw():
            return Divergence(i, x, y)
    if len(a) != len(b):
        i = min(len(a), len(b))
        return Divergence(i, a[i] if i < len(a) else None, b[i] if i < len(b) else None)
    return None


def _fill_lines(t: Trace, lines: dict[int, int]) -> None:
    """6.1 prints no `@ file:LINE`: both logs are of the same object, so the line of an
    instruction index is taken from the other log."""
    t.events = [e if e.src_line is not None or e.idx not in lines else
                Event(e.kind, e.idx, e.text, e.state, e.src, lines[e.idx], e.line_no)
                for e in t.events]


def diff_logs(log_a: str, log_b: str) -> LogDiff:
    ta, tb = read_trace(log_a), read_trace(log_b)
    known = {e.idx: e.src_line for t in (ta, tb) for e in t.events
             if e.kind == "insn" and e.src_line is not None}
    _fill_lines(ta, known)
    _fill_lines(tb, known)
    sa, sb = steps(ta.events), steps(tb.events)

    def past_cut(d: Optional[Divergence]) -> Optional[Divergence]:
        # "one log ends here" is no divergence when that log was cut by the capture
        if d is not None and ((d.a is None and ta.cut) or (d.b is None and tb.cut)):
            return None
        return d
    return LogDiff(
        cut_a=ta.cut, cut_b=tb.cut,
        identical=log_a == log_b,
        first_raw=past_cut(_first_divergence(ta.events, tb.events, "raw")),
        first_semantic=past_cut(_first_divergence(sa, sb, "normal")),
        first_path=past_cut(_first_divergence(sa, sb, "path")),
        error_a=ta.error, error_b=tb.error, report_a=ta.report, report_b=tb.report,
        features_only_a=sorted(ta.features - tb.features),
        features_only_b=sorted(tb.features - ta.features),
        events_a=len(sa), events_b=len(sb), stats_a=ta.stats, stats_b=tb.stats)


# ---------------------------------------------------------------- directories

DIFF_STATS = ("insns_processed", "total_states", "peak_states", "max_states_per_insn",
              "insn_count", "verification_time_us")


@dataclass
class ProgramRow:
    object: str
    program: str
    verdict_a: Optional[str]
    verdict_b: Optional[str]
    errno_a: Optional[int]
    errno_b: Optional[int]
    stats_a: dict
    stats_b: dict
    log: Optional[LogDiff] = None

    def delta(self, key: str) -> tuple[Optional[int], Optional[float]]:
        a, b = self.stats_a.get(key), self.stats_b.get(key)
        if not isinstance(a, int) or not isinstance(b, int):
            return None, None
        return b - a, (100.0 * (b - a) / a if a else None)

    def to_json(self) -> dict:
        d = {"object": self.object, "program": self.program,
             "verdict_a": self.verdict_a, "verdict_b": self.verdict_b,
             "errno_a": self.errno_a, "errno_b": self.errno_b, "stats": {}}
        for k in DIFF_STATS:
            diff, pct = self.delta(k)
            d["stats"][k] = {"a": self.stats_a.get(k), "b": self.stats_b.get(k), "diff": diff,
                             "pct": None if pct is None else round(pct, 2)}
        d["log"] = self.log.to_json() if self.log else None
        return d


@dataclass
class DirDiff:
    a: str
    b: str
    rows: list[ProgramRow] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"a": self.a, "b": self.b, "programs": [r.to_json() for r in self.rows]}


def diff_dirs(dir_a: str | Path, dir_b: str | Path) -> DirDiff:
    ea = {(e.object, e.program): e for e in corpus.iter_kernel(Path(dir_a))}
    eb = {(e.object, e.program): e for e in corpus.iter_kernel(Path(dir_b))}
    out = DirDiff(str(dir_a), str(dir_b))
    for key in sorted(set(ea) | set(eb)):
        a, b = ea.get(key), eb.get(key)
        row = ProgramRow(key[0], key[1],
                         a.meta.get("verdict") if a else None, b.meta.get("verdict") if b else None,
                         a.meta.get("errno") if a else None, b.meta.get("errno") if b else None,
                         dict(a.meta.get("stats", {})) if a else {},
                         dict(b.meta.get("stats", {})) if b else {})
        if a and b:
            la, lb = corpus.read_log(a.path), corpus.read_log(b.path)
            if la != lb:
                row.log = diff_logs(la, lb)
        out.rows.append(row)
    return out


# ---------------------------------------------------------------- technique matrix

def split_variant(stem: str) -> Optional[tuple[str, str]]:
    base, _, tech = stem.rpartition(".")
    return (base, tech) if base and tech in TECHNIQUES else None


@dataclass
class MatrixRow:
    variant: str          # object stem, e.g. "label_walk.bounded"
    base: str
    technique: str
    program: str
    cells: dict           # kernel release -> {"verdict", "insns_processed", "errno", ...}
    oldest_accepting: Optional[str]   # oldest captured kernel that accepts it
    rejected_after: list = field(default_factory=list)  # newer kernels that reject it again


def technique_matrix(root: str | Path) -> tuple[list[str], list[MatrixRow]]:
    """(kernels oldest first, rows) for every techniques variant in the corpus."""
    kdirs = corpus.kernels(root)
    rows: dict[tuple[str, str], MatrixRow] = {}
    for kdir in kdirs:
        for e in corpus.iter_kernel(kdir):
            sv = split_variant(e.object)
            if not sv:
                continue
            row = rows.setdefault((e.object, e.program),
                                  MatrixRow(e.object, sv[0], sv[1], e.program, {}, None))
            st = e.meta.get("stats", {})
            row.cells[kdir.name] = {"verdict": e.meta.get("verdict"), "errno": e.meta.get("errno"),
                                    "insns_processed": st.get("insns_processed"),
                                    "total_states": st.get("total_states"),
                                    "insn_count": st.get("insn_count")}
    names = [k.name for k in kdirs]
    for row in rows.values():
        ok = [k for k in names if row.cells.get(k, {}).get("verdict") == "accepted"]
        row.oldest_accepting = ok[0] if ok else None
        if ok:
            row.rejected_after = [k for k in names[names.index(ok[0]):]
                                  if k in row.cells and row.cells[k]["verdict"] != "accepted"]
    order = {t: i for i, t in enumerate(TECHNIQUES)}
    return names, sorted(rows.values(), key=lambda r: (r.base, order[r.technique], r.program))
