"""Data behind `fqdnkit tui`, free of Textual: program entries, the log document, state,
slices, source lines, diagnosis, kernel-to-kernel alignment and enforcer status.

Contract:
- `expand_inputs(paths, tmp, bcc)` turns command-line paths (objects, directories, C sources,
  verifier logs) into `ProgramEntry`s; objects are read with `toolkit.elf.read_object` (no
  root), nothing is loaded. `load_entry(entry)` loads one entry (root) and returns
  LoadResults; `rebuild_entry(entry, tmp)` recompiles its C source and loads it again.
- `LogDoc` and `align_logs` live in `toolkit.tui_logdoc` (re-exported here).
- `source_info(entry, doc)`: the C file (entry's source, BTF line info, or the log's
  `@ file:LINE`), its failing line, and the offset of bcc's line numbers.
- `analyse_entry(entry, doc)` runs `toolkit.analysis` over the whole log (in a thread):
  trace (for slices), diagnosis and kernel 7.3 report; `diagnosis_for(result, doc)` is the
  quick one from the error line alone; `kernel_report(doc)` structures the 7.3 report.
- `enforcer_status(pin_dir)` reads the enforcer through `toolkit.enforcer.status`, or
  returns None when none is pinned.
Everything here is pure Python over the lead's and colleagues' APIs; no module imports
Textual, and none raises on log content.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from .model import Expectation, FqdnkitError, LoadResult, ProgramSpec, Verdict
from .tui_logdoc import _SOURCE_REF, Aligned, LogDoc, align_logs, corpus_logs  # noqa: F401

__all__ = ["ProgramEntry", "expand_inputs", "entries_for_object", "entry_for_log",
           "result_from_log", "load_entry", "level2_log_size", "log_level_of", "rebuild_entry", "source_mtime", "LogDoc",
           "Aligned", "align_logs", "corpus_logs", "SourceInfo", "source_info",
           "source_line_for_log", "line_offset", "Analysis", "analyse_entry", "diagnosis_for",
           "kernel_report", "enforcer_status", "format_slot", "stat_cells"]

LOG_SUFFIXES = (".level2.log", ".level2.log.gz", ".log", ".log.gz")


# ------------------------------------------------------------------ program entries
@dataclass
class ProgramEntry:
    """One row of the programs screen.

    kind: "object" (load with libbpf), "bcc" (a bcc source; `program` is filled in after
    loading), "log" (a recorded log: `result` is built from the file, nothing is loaded).
    `source` is the C file to rebuild from (a SOURCE argument, else the object's line info).
    """
    object: str
    program: str
    kind: str = "object"
    spec: Optional[ProgramSpec] = None
    expectation: Optional[Expectation] = None
    source: Optional[str] = None
    result: Optional[LoadResult] = field(default=None, repr=False)   # its log can be 750 MB
    error: Optional[str] = None
    log_path: Optional[str] = None

    @property
    def key(self) -> str:
        return f"{self.object}::{self.program}"

    @property
    def expected_failure(self) -> bool:
        exp = self.expectation or (self.result.expectation if self.result else None)
        return exp is not None and exp.verdict is Verdict.REJECTED

    @property
    def status(self) -> str:
        """pending | loading | accepted | rejected | error"""
        if self.error:
            return "error"
        if self.result is None:
            return "pending"
        return self.result.verdict.value

    def source_file(self) -> Optional[str]:
        """The C file this program is built from, when it is on disk."""
        if self.source and os.path.isfile(self.source):
            return self.source
        if self.spec is not None and self.spec.lines:
            f = self.spec.lines[0].file
            if os.path.isfile(f):
                return f
        return None


def _stem(name: str) -> str:
    for suf in (".bpf.o", ".o", ".bpf.c", ".c", *LOG_SUFFIXES):
        if name.endswith(suf):
            return name[: -len(suf)]
    return name


def is_log_path(path: str) -> bool:
    return path.endswith(LOG_SUFFIXES)


def entries_for_object(path: str, source: Optional[str] = None) -> list[ProgramEntry]:
    from .elf import read_object
    spec = read_object(path)
    return [ProgramEntry(object=path, program=p.name, spec=p, expectation=spec.expectation(p.name),
                         source=source) for p in spec.programs]


def entry_for_log(path: str) -> ProgramEntry:
    """A recorded log (corpus layout or any file): the result comes from the file; the
    object named in its meta.json, when on disk, supplies line info and the expectation."""
    from dataclasses import replace
    result = result_from_log(path)
    spec = None
    obj = result.object
    if obj and obj.endswith(".o"):
        from .build import REPO_ROOT
        cand = obj if os.path.isabs(obj) else str(REPO_ROOT / obj)
        if os.path.isfile(cand):
            from .elf import read_object
            try:
                ospec = read_object(cand)
                spec = ospec.program(result.program)
            except (KeyError, FqdnkitError):
                ospec = None
            if ospec is not None and result.expectation is None:
                exp = ospec.expectation(result.program)
                if exp is not None:
                    result = replace(result, expectation=exp)
    return ProgramEntry(object=path, program=result.program, kind="log", spec=spec,
                        expectation=result.expectation, result=result, log_path=path)


def result_from_log(path: str) -> LoadResult:
    """A LoadResult for a log file, using `<program>.meta.json` beside it when present."""
    from .corpus import read_log
    text = read_log(path)
    name = Path(path).name
    program = name
    for suf in LOG_SUFFIXES:
        if name.endswith(suf):
            program = name[: -len(suf)]
            break
    meta: dict = {}
    meta_path = Path(path).with_name(program + ".meta.json")
    if meta_path.is_file():
        from .corpus import read_meta
        meta = read_meta(meta_path)
    from .loader import parse_stats
    # statistics are the log's last lines: parse only the tail (a 1M-line log is ~50 MB);
    # the capture's meta.json, when present, has the figures the log lacks (insn_count)
    stats = parse_stats(text[-16384:])
    ms = meta.get("stats")
    if isinstance(ms, dict):
        from dataclasses import fields, replace
        known = {f.name for f in fields(stats)}
        stats = replace(stats, **{k: v for k, v in ms.items()
                                  if k in known and v is not None and getattr(stats, k) is None})
    exp = None
    em = meta.get("expected")
    if isinstance(em, dict) and em.get("verdict") in ("accepted", "rejected"):
        exp = Expectation(program=em.get("program", program), verdict=Verdict(em["verdict"]),
                          failure_class=em.get("failure_class", ""), message=em.get("message", ""),
                          min_kernel=em.get("min_kernel", ""))
    verdict = meta.get("verdict")
    if verdict not in ("accepted", "rejected"):
        verdict = "accepted" if log_looks_accepted(text) else "rejected"
    kernel = meta.get("kernel_release") or ""
    if not kernel:
        # corpus layout <root>/<kernel-release>/<object>/<program>.level2.log
        grand = Path(path).resolve().parent.parent.name
        kernel = grand if re.match(r"\d+\.\d+", grand) else "unknown"
    return LoadResult(object=meta.get("object", str(path)), program=meta.get("program", program),
                      section=meta.get("section", ""), prog_type=meta.get("prog_type", ""),
                      verdict=Verdict(verdict), errno=int(meta.get("errno") or 0),
                      log_level=int(meta.get("log_level") or 2), log=text, stats=stats,
                      kernel_release=kernel, loader=meta.get("loader", "log"), expectation=exp)


def log_looks_accepted(text: str) -> bool:
    """A log without meta: accepted when the line before the statistics is not an error."""
    tail = [l for l in text[-4000:].splitlines() if l.strip()]
    for l in reversed(tail):
        if l.startswith(("processed ", "verification time", "stack depth")):
            continue
        return l.startswith(("safe", "exit")) or bool(re.match(r"^\d+: (\(95\) exit|safe)", l))
    return True


def expand_inputs(paths: list[str], tmp: str, bcc: bool = False) -> list[ProgramEntry]:
    """Program entries for command-line paths; with none, the built reference objects."""
    from .build import compile_source, reference_objects
    if not paths:
        return [e for o in reference_objects() for e in entries_for_object(o)]
    out: list[ProgramEntry] = []
    for p in paths:
        if os.path.isdir(p):
            found = sorted(str(x) for x in Path(p).rglob("*") if x.is_file()
                           and (x.name.endswith(".o") or is_log_path(x.name)))
            if not found:
                raise FqdnkitError(f"{p}: directory holds no .o objects or verifier logs")
            for f in found:
                out += entries_for_object(f) if f.endswith(".o") else [entry_for_log(f)]
        elif not os.path.exists(p):
            raise FqdnkitError(f"{p}: no such file or directory")
        elif p.endswith(".c"):
            if bcc:
                out.append(ProgramEntry(object=p, program="", kind="bcc", source=p))
            else:
                out += entries_for_object(compile_source(p, tmp), source=os.path.abspath(p))
        elif is_log_path(p):
            out.append(entry_for_log(p))
        else:
            out += entries_for_object(p)
    return out


def level2_log_size(quick: Optional[LoadResult]) -> int:
    """Initial level-2 log buffer for a program whose level-1 load processed N insns.

    The loader grows its buffer by doubling on ENOSPC and verifies again each time: a
    500k-insn program would be verified eight times from the 1 MiB default. A level-2 log
    takes ~100-200 bytes per processed instruction, so start at 256 bytes per insn."""
    from .loader import DEFAULT_LOG_SIZE, MAX_LOG_SIZE
    n = quick.stats.insns_processed if quick is not None else None
    if not n:
        return DEFAULT_LOG_SIZE
    size = DEFAULT_LOG_SIZE
    while size < n * 256 and size < MAX_LOG_SIZE:
        size *= 2
    return min(size, MAX_LOG_SIZE)


def load_entry(entry: ProgramEntry, level: int = 2, prog_type: str = "sched_cls") -> list[LoadResult]:
    """Load one entry on this kernel (root) at verifier log level `level` (1: verdict and
    statistics, fast; 2: the full log). Log entries return their recorded result; bcc
    sources always load at level 2 (they are small)."""
    if entry.kind == "log":
        return [entry.result] if entry.result else []
    if entry.kind == "bcc":
        from .bcc_loader import load_source
        return load_source(entry.source or entry.object, log_level=2, prog_type=prog_type)
    from .loader import load_program
    size = level2_log_size(entry.result) if level >= 2 else None
    if size is None:
        return [load_program(entry.object, entry.program, log_level=level)]
    return [load_program(entry.object, entry.program, log_level=level, log_size=size)]


def log_level_of(result: Optional[LoadResult]) -> int:
    """1 or 2 (the verifier log level of a result, without the stats bit), 0 for none."""
    if result is None:
        return 0
    if result.loader == "log" or result.log_level & 3 == 0:
        return 2
    return result.log_level & 3


def rebuild_entry(entry: ProgramEntry, tmp: str) -> tuple[ProgramEntry, list[LoadResult]]:
    """Recompile the entry's C source into `tmp` and load the program again.

    Returns the updated entry (new object path and spec) and its results; raises
    FqdnkitError naming the source when there is none or clang fails.
    """
    if entry.kind == "bcc":
        return entry, load_entry(entry, level=2)
    src = entry.source_file()
    if src is None:
        raise FqdnkitError(f"{entry.object}: no C source on disk to rebuild {entry.program!r} from")
    from .build import compile_source
    obj = compile_source(src, tmp)
    fresh = {e.program: e for e in entries_for_object(obj, source=src)}
    if entry.program not in fresh:
        raise FqdnkitError(f"{src}: the rebuilt object has no program {entry.program!r}")
    new = fresh[entry.program]
    new.kind = "object"
    return new, load_entry(new, level=2)


def source_mtime(entry: ProgramEntry) -> Optional[float]:
    src = entry.source_file()
    try:
        return os.stat(src).st_mtime if src else None
    except OSError:
        return None


# ------------------------------------------------------------------ source
@dataclass(frozen=True)
class SourceInfo:
    path: Optional[str]
    lines: tuple[str, ...]
    failing_line: Optional[int]      # 1-based
    note: str = ""
    offset: int = 0                  # log's `@ file:LINE` minus the line in `path` (bcc: >0)


def find_source_file(entry: ProgramEntry, doc: LogDoc) -> Optional[str]:
    """The C file: the entry's source, the object's BTF line info, else the log's
    `@ file:LINE` basename searched beside the object and under reference_bpf/."""
    f = entry.source_file()
    if f:
        return f
    base = None
    for j in range(min(len(doc), 2000)):
        s = doc.lines[j]
        if s.startswith(";"):
            m = _SOURCE_REF.match(s)
            if m and m.group(2):
                base = m.group(2)
                break
    if base is None:
        return None
    if os.path.isabs(base) and os.path.isfile(base):
        return base
    from .build import REPO_ROOT
    cands = [Path(entry.object).parent / base]
    cands += sorted((REPO_ROOT / "reference_bpf").rglob(Path(base).name))
    for c in cands:
        if c.is_file():
            return str(c)
    return None


def source_info(entry: ProgramEntry, doc: LogDoc) -> SourceInfo:
    path = find_source_file(entry, doc)
    lines: tuple[str, ...] = ()
    note = ""
    if path:
        try:
            lines = tuple(Path(path).read_text(errors="replace").splitlines())
        except OSError as e:
            note = f"{path}: {e.strerror}"
    else:
        note = "no C source found (no line info in the object, no `@ file:line` in the log)"
    offset = line_offset(doc, lines) if lines else 0
    failing = None
    err = doc.error_line()
    if err is not None:
        failing = source_line_for_log(entry, doc, err, offset)
    return SourceInfo(path, lines, failing, note, offset)


def line_offset(doc: LogDoc, lines: tuple[str, ...]) -> int:
    """How far the log's line numbers are from the file's: 0 for clang objects; bcc
    compiles its own main.c (a prelude, then the file), so its `@ main.c:N` is N - k.
    Found by matching the code of the first annotations to a unique line of the file."""
    index: dict[str, list[int]] = {}
    for n, text in enumerate(lines, 1):
        index.setdefault(text.strip(), []).append(n)
    votes: dict[int, int] = {}
    for j in range(min(len(doc), 5000)):
        s = doc.lines[j]
        if not s.startswith(";"):
            continue
        m = _SOURCE_REF.match(s)
        if not (m and m.group(3)):
            continue
        hits = index.get(m.group(1).strip(), [])
        if len(hits) == 1:
            off = int(m.group(3)) - hits[0]
            votes[off] = votes.get(off, 0) + 1
            if votes[off] >= 3:
                return off
    return max(votes, key=votes.get) if votes else 0


def source_line_for_log(entry: ProgramEntry, doc: LogDoc, i: int, offset: int = 0) -> Optional[int]:
    """1-based C line for log line i: the log's `@ file:LINE` (minus `offset`, see
    line_offset), else BTF line info (kernel 6.1 prints no `@ file:LINE`)."""
    ref = doc.source_ref_at(i)
    if ref and ref[1] is not None:
        return ref[1] - offset
    idx = doc.insn_index_at(i)
    if idx is not None and entry.spec is not None:
        from .elf import source_line_for
        sl = source_line_for(entry.spec, idx)
        if sl is not None:
            return sl.line
    return None


# ------------------------------------------------------------------ diagnosis
@dataclass
class Analysis:
    """What toolkit.analysis says about one log: trace (for slices), diagnosis, report."""
    trace: object
    diagnosis: dict
    report: Optional[dict]


def analysis_available() -> bool:
    try:
        from .analysis import analyse  # noqa: F401
    except ImportError:
        return False
    return True


def analyse_entry(entry: "ProgramEntry", doc: LogDoc,
                  cancelled: Callable[[], bool] = lambda: False) -> Optional[Analysis]:
    """Run toolkit.analysis over the whole log (~30 us a line: call it in a thread).

    None when toolkit.analysis is not installed or `cancelled()` became true (checked
    every 4096 lines, so quitting never waits for a 1M-line analysis). The object (for BTF line info when the
    log has no `@ file:line`, kernel 6.1) is used when it is on disk."""
    try:
        from .analysis import analyse
    except ImportError:
        return None
    r = entry.result
    if r is None:
        return None
    obj = entry.object if entry.object.endswith(".o") and os.path.isfile(entry.object) else None
    if obj is None and r.object.endswith(".o"):
        from .build import REPO_ROOT
        cand = r.object if os.path.isabs(r.object) else str(REPO_ROOT / r.object)
        obj = cand if os.path.isfile(cand) else None
    def lines():
        for k, text in enumerate(doc.lines):
            if not k & 4095 and cancelled():
                return
            yield text
    try:
        trace, report, _counter, diag = analyse(lines(), obj, entry.program)
    except FqdnkitError:
        trace, report, _counter, diag = analyse(lines(), None, entry.program)
    if cancelled():
        return None
    if diag is not None:
        d = _plain(diag)
        d["source"] = "toolkit.analysis"
    elif r.verdict is Verdict.ACCEPTED:
        d = {"class": "accepted", "explanation": "The verifier accepted this program.",
             "source": "verdict"}
    else:
        d = diagnosis_for(r, doc)
        d["source"] = "error line (toolkit.analysis found no rejection in the log)"
    exp = r.expectation
    if exp is not None and exp.failure_class:
        d["expected_class"] = exp.failure_class
    rep = report.to_json() if report is not None and hasattr(report, "to_json") else None
    return Analysis(trace, d, rep)


def diagnosis_for(result: LoadResult, doc: LogDoc) -> dict:
    """A quick diagnosis from the error line alone (shown until toolkit.analysis, which
    reads the whole log, has finished): class = message family, numbers = its fields."""
    if result.verdict is Verdict.ACCEPTED:
        return {"class": "accepted", "explanation": "The verifier accepted this program.",
                "source": "verdict"}
    err = doc.error_line()
    out: dict = {"source": "error line"}
    if err is not None:
        ln = doc.line(err)
        out["message"] = ln.text
        fam = getattr(ln.data, "family", None)
        out["class"] = fam or "?"
        fields = dict(getattr(ln.data, "fields", ()) or ())
        if fields:
            out["explanation"] = ", ".join(f"{k}={v}" for k, v in fields.items())
        out["insn"] = doc.insn_index_at(err)
        ref = doc.source_ref_at(err)
        if ref:
            out["source_file"], out["source_line"] = ref[0], ref[1]
    else:
        out["class"] = "?"
        out["message"] = "no error line found in the log"
    exp = result.expectation
    if exp and exp.failure_class:
        out["expected_class"] = exp.failure_class
    return out


def _plain(d) -> dict:
    if isinstance(d, dict):
        return dict(d)
    if hasattr(d, "to_json"):
        return dict(d.to_json())
    if hasattr(d, "__dataclass_fields__"):
        from dataclasses import asdict
        return asdict(d)
    return {"explanation": str(d)}


def kernel_report(doc: LogDoc) -> Optional[dict]:
    """Kernel 7.3's "Verification failed" report as a dict (category, reason, location,
    source/instruction context, causal path, suggestion), or None when the log has none."""
    rep = doc.report_range()
    if rep is None:
        return None
    try:
        from .analysis import build_report
    except ImportError:
        build_report = None
    if build_report is not None:
        r = build_report(ln for ln in doc.parsed(rep[0], rep[1] + 1) if ln.kind.startswith("report_"))
        if r is not None:
            return r.to_json()
    out: dict = {"category": "", "reason": "", "location": None, "source_context": [],
                 "insn_context": [], "causal_path": [], "suggestion": ""}
    texts: dict[str, list[str]] = {"reason": [], "suggestion": [], "note": []}
    for ln in doc.parsed(rep[0], rep[1] + 1):
        d = ln.data
        if ln.kind == "report_header":
            out["category"] = d.category or ""
        elif ln.kind == "report_location" and d.section == "at" and out["location"] is None:
            out["location"] = {"function": d.func, "file": d.file, "line": d.line, "col": d.col}
        elif ln.kind == "report_context":
            key = "insn_context" if d.section == "insn" else "source_context"
            out[key].append(ln.text.strip())
        elif ln.kind == "report_step":
            out["causal_path"].append({"function": d.func, "file": d.file, "line": d.line,
                                       "col": d.col, "text": d.text.strip(), "note": d.note})
        elif ln.kind == "report_text" and d.section in texts:
            texts[d.section].append(d.text)
    out["reason"] = " ".join(texts["reason"])
    out["suggestion"] = " ".join(texts["suggestion"])
    return out


# ------------------------------------------------------------------ enforcer
ENFORCER_PIN_DIR = "/sys/fs/bpf/fqdnkit"


def enforcer_status(pin_dir: str = ENFORCER_PIN_DIR) -> Optional[dict]:
    """The running enforcer's state, or None when no enforcer is pinned under pin_dir.

    Uses `toolkit.enforcer.status(pin_dir)` ({"workloads", "ips": [{"cgid", "ip", "name",
    "ttl_left", "expired"}], "counters": {reason: n}}); adds "pins" (the entries of
    pin_dir) and "note" (why only part of the state could be read, e.g. not root).
    """
    if not os.path.isdir(pin_dir):
        return None
    try:
        pins = sorted(os.listdir(pin_dir))
    except OSError as e:
        return {"pins": [], "ips": [], "counters": {}, "workloads": [],
                "note": f"{pin_dir}: {e.strerror}"}
    if not pins:
        return None
    out: dict = {"pins": pins, "ips": [], "counters": {}, "workloads": [], "note": ""}
    try:
        from .enforcer import status
    except ImportError:
        out["note"] = "toolkit.enforcer is not installed: showing the pins only"
        return out
    try:
        st = status(pin_dir)
    except FileNotFoundError:
        return None                      # pins of something else, no enforcer programs
    except OSError as e:
        if e.errno == 2:
            return None
        out["note"] = f"cannot read the enforcer's maps: {e}"
        return out
    out.update({k: st.get(k, out.get(k)) for k in ("ips", "counters", "workloads")})
    return out


# ------------------------------------------------------------------ display helpers
_BOUND_ORDER = ("id", "ref_obj_id", "off", "r", "smin", "smax", "umin", "umax", "smin32",
                "smax32", "umin32", "umax32", "map", "ks", "vs")


def format_slot(slot) -> str:
    """A state slot as the verifier prints it, roughly: `pkt(off=54,r=54)`, `0`, `mmmm????`."""
    v = slot.value
    if v is None:
        return slot.marks or "?"
    if v.type == "scalar" and v.const is not None:
        return ("P" if v.precise else "") + str(v.const)
    parts = [f"{k}={getattr(v, k)}" for k in _BOUND_ORDER if getattr(v, k) is not None]
    if v.var_off is not None:
        parts.append(f"var_off=({v.var_off[0]:#x}; {v.var_off[1]:#x})")
    parts += [f"{k}={val}" for k, val in v.extra]
    name = ("P" if v.precise else "") + v.type
    if v.type == "fp" and v.off is not None:
        return f"fp{v.off}" if v.off else "fp0"
    return f"{name}({','.join(parts)})" if parts or v.type not in ("scalar",) else name


def stat_cells(result: Optional[LoadResult]) -> list[str]:
    """insns processed, total states, peak states, time (us), stack depth, prog insns."""
    if result is None:
        return ["", "", "", "", "", ""]
    s = result.stats

    def f(v):
        return "-" if v is None else str(v)
    return [f(s.insns_processed), f(s.total_states), f(s.peak_states),
            f(s.verification_time_us), f(s.stack_depth), f(s.insn_count)]
