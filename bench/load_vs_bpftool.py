#!/usr/bin/env python3
"""Benchmark: fqdnkit's load-and-capture against `bpftool prog loadall`, same objects, same run.

Prints, per object and in total, the median wall time of
  - fqdnkit: every program loaded alone (object reopened per program, as veristat does)
    with the verifier's statistics captured (level 4, what `fqdnkit check` uses for an
    accepted program) and, with --level2, with the full level-2 log captured as well;
  - bpftool: `bpftool prog loadall OBJ PINDIR` (all programs of the object at once,
    log level 0, pins removed afterwards), a fresh process each time;
and the ratio fqdnkit/bpftool (issue 2 goal: <= 2x). Accepted objects only, since
bpftool stops at the first rejected program. Usage: bench/load_vs_bpftool.py [--repeat N]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from toolkit.build import display_path, reference_objects  # noqa: E402
from toolkit.elf import read_object  # noqa: E402
from toolkit.loader import load_object  # noqa: E402
from toolkit.model import Verdict  # noqa: E402


def time_bpftool(obj: str, pindir: str) -> float:
    t0 = time.perf_counter()
    subprocess.run(["bpftool", "prog", "loadall", obj, pindir], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    dt = time.perf_counter() - t0
    shutil.rmtree(pindir)
    return dt


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--level2", action="store_true",
                    help="also time the capture of the full level-2 log (minutes on the reference set)")
    args = ap.parse_args()
    if not os.path.ismount("/sys/fs/bpf"):
        print("bpffs is not mounted at /sys/fs/bpf (run ./scripts/setup.sh)", file=sys.stderr)
        return 2
    objs = []
    for o in reference_objects():
        res = load_object(o, log_level=1)
        if all(r.verdict is Verdict.ACCEPTED for r in res) and read_object(o).programs:
            objs.append(o)
    print(f"{len(objs)} objects whose programs are all accepted; repeat {args.repeat}", file=sys.stderr)
    total_f = total_2 = total_b = 0.0
    print(f"{'object':50} {'progs':>5} {'stats ms':>9} {'level2 ms':>10} {'bpftool ms':>11} {'ratio':>6} {'ratio L2':>8}")
    for n, o in enumerate(objs, 1):
        print(f"[{n}/{len(objs)}] {display_path(o)}", file=sys.stderr)
        fq, f2, bt = [], [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            load_object(o, log_level=1)   # accepted programs: one stats-only load each
            fq.append(time.perf_counter() - t0)
            if args.level2:
                t0 = time.perf_counter()
                load_object(o, log_level=2)
                f2.append(time.perf_counter() - t0)
            else:
                f2.append(float("nan"))
            pindir = tempfile.mkdtemp(prefix="fqdnkit-bench-", dir="/sys/fs/bpf")
            os.rmdir(pindir)
            bt.append(time_bpftool(o, pindir))
        f, l2, b = statistics.median(fq), statistics.median(f2), statistics.median(bt)
        total_f += f
        total_2 += l2
        total_b += b
        print(f"{display_path(o):50} {len(read_object(o).programs):5} {f*1e3:9.2f} {l2*1e3:10.2f} "
              f"{b*1e3:11.2f} {f/b:6.2f} {l2/b:8.2f}")
    print(f"{'TOTAL':50} {'':5} {total_f*1e3:9.2f} {total_2*1e3:10.2f} {total_b*1e3:11.2f} "
          f"{total_f/total_b:6.2f} {total_2/total_b:8.2f}")
    print(f"load-and-capture / bpftool loadall = {total_f/total_b:.2f}x (goal <= 2x)")
    if args.level2:
        print(f"with the full level-2 log = {total_2/total_b:.2f}x (the kernel formats every verified "
              "instruction; bpftool asks for no log)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
