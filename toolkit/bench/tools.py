"""The toolkit's own benchmark scripts, run as subprocesses, their printed figures kept.

Contract: `run_scripts(progress)` runs, when the file exists, each of
  bench/grammar_speed.py   grammar lines/s on a one-million-line log vs a regex floor,
  bench/tui_speed.py       time to the TUI's first screen,
  bench/load_vs_bpftool.py load-and-capture vs `bpftool prog loadall`,
with the venv's python, a timeout each (a timed-out script is reported with what it printed), and returns per script: status ("ok", "missing",
"exit N" (the script's own verdict, e.g. a goal it missed), "timeout"), wall seconds, stdout (last lines), stderr tail and `figures`: every
stdout line of the form "<label> = <number><unit> ..." or "<label>: <number> ...", as
printed. The scripts are other engineers' work; nothing here interprets them further.
"""
from __future__ import annotations

import re
import subprocess
import sys
import time

from toolkit.build import REPO_ROOT

SCRIPTS = [   # key, script, arguments, title, timeout in s
    ("grammar_speed", "bench/grammar_speed.py", [], "grammar lines/s vs regex floor", 150),
    ("tui_speed", "bench/tui_speed.py", [], "TUI first screen", 90),
    ("load_vs_bpftool", "bench/load_vs_bpftool.py", ["--repeat", "1"], "load-and-capture vs bpftool", 150),
]
_FIG = re.compile(r"^\s*([^=:]{3,80}?)\s*[=:]\s*([-+]?\d[\d,]*\.?\d*(?:e[-+]?\d+)?)\s*(\S.*)?$", re.I)


def figures(text: str) -> list[dict]:
    out = []
    for line in text.splitlines():
        m = _FIG.match(line)
        if m:
            out.append({"label": m.group(1).strip(), "value": float(m.group(2).replace(",", "")),
                        "rest": (m.group(3) or "").strip(), "line": line.strip()})
    return out


def run_scripts(progress=None, only: list[str] | None = None) -> dict:
    res = {}
    for key, rel, extra, title, timeout in SCRIPTS:
        if only and key not in only:
            continue
        path = REPO_ROOT / rel
        if progress:
            progress.note(f"{title}: {rel}")
        if not path.exists():
            res[key] = {"status": "missing", "script": rel, "title": title}
            continue
        t0 = time.monotonic()
        try:
            r = subprocess.run([sys.executable, str(path)] + extra, capture_output=True, text=True,
                               timeout=timeout, cwd=str(REPO_ROOT))
            status = "ok" if r.returncode == 0 else f"exit {r.returncode}"
            out, err, rc = r.stdout, r.stderr, r.returncode
        except subprocess.TimeoutExpired as e:
            status, rc = "timeout", None
            out = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
            err = (e.stderr or b"").decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        dt = time.monotonic() - t0
        lines = out.strip().splitlines()
        res[key] = {"status": status, "script": rel, "title": title, "returncode": rc,
                    "seconds": round(dt, 2), "stdout_tail": lines[-25:],
                    "stderr_tail": err.strip().splitlines()[-8:], "figures": figures(out)}
        if progress:
            last = lines[-1] if lines else err.strip().splitlines()[-1:] or [""]
            progress.note(f"  {status} in {dt:.1f}s: {last if isinstance(last, str) else last[0]}")
    return res
