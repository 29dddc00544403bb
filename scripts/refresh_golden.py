#!/usr/bin/env python3
"""Write baseline `<program>.expected.json` files next to recorded verifier logs.

The golden test (tests/analysis/test_golden.py) checks the diagnosis of every recorded
log against the expected.json next to it. Most of those files are *baselines*: the
engine's own output at the time the log was recorded, reviewed against the object's
FQDNKIT_EXPECT annotation (a mismatch is written into the file as a "note" so a reviewer
sees it) — they catch regressions, they do not prove correctness. Files carrying
`"checked": "by hand"` were verified line by line and are never overwritten.

Usage: scripts/refresh_golden.py [--stale] [KERNEL_DIR ...]
  default  write expected.json only where none exists
  --stale  also rewrite baselines whose log now diagnoses differently (after a recapture)
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from toolkit.analysis import analyse  # noqa: E402
from toolkit.elf import read_object  # noqa: E402
from toolkit.logparse import read_log_lines  # noqa: E402

FIELDS = ("class", "category", "message", "insn", "source_file", "source_line", "check_line", "proved")


def _matching_object(meta: dict):
    """The object the log was recorded from, when it is built here with the same hash."""
    obj = REPO / meta.get("object", "")
    if not meta.get("object") or not obj.is_file():
        return None
    return str(obj) if hashlib.sha256(obj.read_bytes()).hexdigest() == meta.get("object_sha256") else None


def baseline(log: Path, meta: dict) -> dict:
    trace, _report, _counter, diag = analyse(read_log_lines(str(log)))
    if diag is None:
        return {"verdict": "accepted"}
    in_log = diag.source_line is not None
    obj = None if in_log else _matching_object(meta)
    if obj is not None:   # 6.1: no line info in the log, take it from the object (as the test does)
        diag = analyse(read_log_lines(str(log)), obj, meta.get("program"))[3]
    d = diag.to_json()
    d["check_line"], d["proved"] = diag.check_line, diag.proved
    out = {"verdict": "rejected"}
    for k in FIELDS:
        if k in ("check_line", "proved") and d.get(k) is None:
            continue    # optional in the golden test
        out[k] = d.get(k)
    out["line_info_in_log"] = in_log
    if meta.get("object"):
        out["object"] = meta["object"]
    obj = REPO / meta.get("object", "")
    if meta.get("object") and obj.is_file():
        exp = read_object(str(obj)).expectation(meta.get("program", ""))
        if exp is not None and exp.failure_class and exp.failure_class != out.get("class"):
            out["note"] = (f"the object's annotation says {exp.failure_class}; on this kernel the "
                           f"verifier fails differently ({out.get('class')})")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dirs", nargs="*", help="kernel directories (default: all of verifier_logs/)")
    ap.add_argument("--stale", action="store_true")
    args = ap.parse_args()
    roots = [Path(d) for d in args.dirs] or sorted(p for p in (REPO / "verifier_logs").iterdir() if p.is_dir())
    written = kept = 0
    for root in roots:
        for meta_path in sorted(root.glob("*/*.meta.json")):
            prog = meta_path.name[: -len(".meta.json")]
            log = next((meta_path.with_name(prog + s) for s in (".level2.log", ".level2.log.gz",
                        ".level1.log", ".level1.log.gz") if meta_path.with_name(prog + s).exists()), None)
            if log is None:
                continue
            exp_path = meta_path.with_name(prog + ".expected.json")
            old = json.loads(exp_path.read_text()) if exp_path.exists() else None
            if old is not None and (old.get("checked") == "by hand" or not args.stale):
                kept += 1
                continue
            new = baseline(log, json.loads(meta_path.read_text()))
            if old is not None and old == new:
                kept += 1
                continue
            exp_path.write_text(json.dumps(new, indent=2) + "\n")
            written += 1
            print(f"wrote {os.path.relpath(exp_path, REPO)}: {new.get('class', new['verdict'])}")
    print(f"{written} written, {kept} kept", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
