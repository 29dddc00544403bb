"""`fqdnkit capture --kernel KERNEL [--out DIR] [--objects OBJ...]`: record the verifier's
level-2 log and statistics of every reference program on a kernel.

KERNEL is `host` (the running kernel), a Debian kernel series
(`6.1` bookworm, `6.12` bookworm-security, `7.3` trixie-backports, or an exact release
such as `6.1.0-56-cloud-amd64`) booted in qemu with TCG, or `all` (host and the three
Debian series). Kernels are downloaded into the cache (`--cache`, default <repo>/cache) and
never installed. Output: DIR/<kernel-release>/<object>/<program>.level2.log and .meta.json.
Exit 0 when every kernel was captured, 2 when one failed (the others are still written).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ALL = ("host", "6.1", "6.12", "7.3")


def register(sub) -> None:
    p = sub.add_parser("capture", help="capture verifier logs on this or other kernels (qemu)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kernel", action="append", required=True, metavar="KERNEL",
                   help="host, all, 6.1, 6.12, 7.3 or an exact Debian release (repeatable)")
    p.add_argument("--out", default="verifier_logs", metavar="DIR")
    p.add_argument("--objects", nargs="+", metavar="OBJ",
                   help="objects or directories (default: every build/**/*.bpf.o)")
    p.add_argument("--cache", metavar="DIR", help="download cache (default <repo>/cache)")
    p.add_argument("--timeout", type=float, default=900.0,
                   help="seconds a guest may run before it is killed (default 900)")
    p.add_argument("--level2-budget", type=int, default=15, metavar="SECS",
                   help="guest: seconds per program for the level-2 log; beyond it the log "
                        "is cut and a level-4 load gives the verdict (default 15)")
    p.add_argument("--level4-budget", type=int, default=90, metavar="SECS",
                   help="guest: seconds per program for that level-4 load (default 90)")
    p.add_argument("--host-loader", choices=("static", "toolkit"), default="static",
                   help="host: the guests' static loader (default; level-2 logs cut at 4 MB "
                        "or the budget like in the guests) or toolkit.loader (whole logs, "
                        "slow near the 1M-instruction limit)")
    p.set_defaults(func=run)


def _objects(paths: list[str] | None) -> list[Path]:
    from toolkit.model import FqdnkitError
    if not paths:
        from toolkit.build import reference_objects
        return [Path(p) for p in reference_objects()]
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(p.rglob("*.bpf.o"))
            if not found:
                raise FqdnkitError(f"{p}: directory holds no *.bpf.o")
            out += found
        elif p.is_file():
            out.append(p)
        else:
            raise FqdnkitError(f"{p}: no such object file")
    return out


def run(args) -> int:
    import signal
    from toolkit.kernels.capture import capture_guest, capture_host, capture_host_static

    # SIGTERM runs the clean-up (qemu killed, temporary directories removed)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    from toolkit.model import FqdnkitError

    kernels: list[str] = []
    for k in args.kernel:
        for kk in (ALL if k == "all" else (k,)):
            if kk not in kernels:
                kernels.append(kk)
    objects = _objects(args.objects)
    full = not args.objects
    out = Path(args.out)
    cache = Path(args.cache) if args.cache else None

    def progress(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    failed = []
    rows = []
    for k in kernels:
        try:
            if k == "host" and args.host_loader == "toolkit":
                s = capture_host(objects, out, full=full, progress=progress)
            elif k == "host":
                s = capture_host_static(objects, out, full=full, l2_budget=args.level2_budget,
                                        l4_budget=args.level4_budget, progress=progress)
            else:
                s = capture_guest(k, objects, out, cache=cache, timeout=args.timeout, full=full,
                                  l2_budget=args.level2_budget, l4_budget=args.level4_budget,
                                  progress=progress)
        except FqdnkitError as e:
            print(f"fqdnkit capture: kernel {k}: {e}", file=sys.stderr)
            failed.append(k)
            continue
        for n in s.notes:
            progress(f"  note: {n}")
        boot = f", boot {s.boot_seconds:.1f} s" if s.boot_seconds is not None else ""
        rows.append(f"{k:>6}  {s.release:<28} {s.programs:>4} programs  {s.accepted:>4} accepted  "
                    f"{s.rejected:>4} rejected  {s.seconds:6.1f} s{boot}  -> {s.out_dir}")
    if rows:
        print("\n".join(rows))
    if failed:
        print(f"fqdnkit capture: failed: {', '.join(failed)}", file=sys.stderr)
        return 2
    return 0
