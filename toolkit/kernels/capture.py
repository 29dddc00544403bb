"""Capture the verifier's level-2 log of every program on one kernel into the corpus layout.

Contract:
- `capture_guest(version, objects, out_root, ...)` downloads (debian.py) a Debian kernel,
  builds an initramfs (initramfs.py) with the static guest loader and the objects, boots it
  in qemu/TCG (qemu.py) and writes `<out_root>/<release>/<stem>/<prog>.level2.log` and
  `.meta.json` (see toolkit.corpus). `capture_host_static(objects, out_root)` runs the
  same static loader on the running kernel (the default for `--kernel host`: same log
  policy as the guests); `capture_host` uses `toolkit.loader.load_program` instead (whole
  logs, slow for programs near the 1M-instruction limit).
- Everything is written into `<out_root>/.tmp-<release>-*` first and moved into place only
  when the capture is complete: a failed boot or a missing package leaves the existing
  corpus untouched. Files named `*.expected.json` in the old kernel directory are kept.
  When only some objects are captured, only their stem directories are replaced.
- A guest that does not boot, times out or stops early raises FqdnkitError with the tail of
  its console.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from toolkit import corpus
from toolkit.model import FqdnkitError

PROG_TYPE_NAMES = {
    0: "unspec", 1: "socket_filter", 2: "kprobe", 3: "sched_cls", 4: "sched_act",
    5: "tracepoint", 6: "xdp", 7: "perf_event", 8: "cgroup_skb", 9: "cgroup_sock",
    10: "lwt_in", 11: "lwt_out", 12: "lwt_xmit", 13: "sock_ops", 14: "sk_skb",
    15: "cgroup_device", 16: "sk_msg", 17: "raw_tracepoint", 18: "cgroup_sock_addr",
    19: "lwt_seg6local", 20: "lirc_mode2", 21: "sk_reuseport", 22: "flow_dissector",
    23: "cgroup_sysctl", 24: "raw_tracepoint_writable", 25: "cgroup_sockopt", 26: "tracing",
    27: "struct_ops", 28: "ext", 29: "lsm", 30: "sk_lookup", 31: "syscall", 32: "netfilter",
}
GUEST_LOG_LEVEL = 2 | 4


@dataclass
class CaptureSummary:
    release: str
    out_dir: Path
    programs: int = 0
    accepted: int = 0
    rejected: int = 0
    seconds: float = 0.0
    boot_seconds: Optional[float] = None
    notes: list[str] = field(default_factory=list)


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def object_stems(objects: list[Path]) -> dict[Path, str]:
    """Stem per object; two objects with the same file name get their directory prefixed."""
    stems = {Path(o): corpus.object_stem(o) for o in objects}
    counts: dict[str, int] = {}
    for s in stems.values():
        counts[s] = counts.get(s, 0) + 1
    return {o: (f"{o.parent.name}.{s}" if counts[s] > 1 else s) for o, s in stems.items()}


def _display(path: Path) -> str:
    try:
        from toolkit.build import display_path
        return display_path(str(path))
    except ImportError:
        return str(path)


def _meta(obj: Path, digest: str, program: str, section: str, prog_type: str, errno: int,
          stats: dict, release: str, log_level: int, **extra) -> dict:
    m = {
        "object": _display(obj),
        "object_sha256": digest,
        "program": program,
        "section": section,
        "prog_type": prog_type,
        "verdict": "accepted" if errno == 0 else "rejected",
        "errno": errno,
        "stats": {k: stats.get(k) for k in corpus.STAT_KEYS},
        "kernel_release": release,
        "log_level": log_level,
    }
    m.update(extra)
    return m


def _install(tmp_kdir: Path, final: Path, stems: set[str], full: bool) -> None:
    """Move a finished capture into place, keeping *.expected.json of the old directory."""
    if final.exists():
        for exp in final.rglob("*.expected.json"):
            rel = exp.relative_to(final)
            dst = tmp_kdir / rel
            if not dst.exists():
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(exp, dst)
        if not full:
            # keep the old stems that were not captured this time
            for d in final.iterdir():
                if d.name not in stems and not (tmp_kdir / d.name).exists():
                    shutil.move(str(d), str(tmp_kdir / d.name))
        old = final.with_name(f".old-{final.name}-{os.getpid()}")
        final.rename(old)
        tmp_kdir.rename(final)
        shutil.rmtree(old)
    else:
        tmp_kdir.rename(final)


def _write_kernel_json(kdir: Path, info: dict) -> None:
    import json
    (kdir / "kernel.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")


def _write_records(records, objects: list[Path], stems: dict, digests: dict, release: str,
                   kdir: Path, summary: CaptureSummary, l2_budget: int, l4_budget: int,
                   loader_name: str) -> None:
    """Write the guest loader's records (toolkit.kernels.qemu.Record) into kdir."""
    for rec in records:
        h = rec.header
        obj = objects[int(h["obj"])]
        ret = int(h["ret"])
        errno = -ret if ret < 0 else ret
        if h["prog"] == "*":
            summary.notes.append(f"{obj}: libbpf could not open it (errno {errno}): "
                                 f"{rec.libbpf.strip()}")
            continue
        log = rec.log
        if not log and errno and rec.libbpf:
            # like toolkit.loader: the kernel said nothing, keep libbpf's words
            log = rec.libbpf
        l2_cut = ""
        if h.get("l2_timeout") == "1":
            l2_cut = f"the {l2_budget} s time budget"
        elif h.get("log_truncated") == "1":
            l2_cut = f"{int(h['log_size']) >> 20} MB"
        if l2_cut:
            log += (f"\n[fqdnkit capture: level-2 log cut at {l2_cut}; the verifier's "
                    f"own ending, from a second load at log level 4, follows]\n"
                    f"{rec.tail1}")
        timeout = h.get("l4_timeout") == "1"
        stats = corpus.parse_stats(log)
        stats["insn_count"] = int(h["xlated_insns"]) if errno == 0 else int(h["insn_cnt"])
        if stats["insns_processed"] is None and int(h.get("verified_insns", 0)):
            stats["insns_processed"] = int(h["verified_insns"])
        meta = _meta(obj, digests[obj], h["prog"], h["sec"],
                     PROG_TYPE_NAMES.get(int(h["type"]), h["type"]), errno, stats,
                     release, GUEST_LOG_LEVEL, loader=loader_name,
                     log_cut=l2_cut or None, timeout=timeout,
                     level2_time_us=int(h.get("l2_us", 0)),
                     load_time_us=int(h["load_us"]),
                     libbpf_messages=rec.libbpf if errno else "")
        if timeout:
            meta["verdict"] = "timeout"
            summary.notes.append(f"{stems[obj]}/{h['prog']}: no verdict within the "
                                 f"{l4_budget} s level-4 budget")
        corpus.write_program(kdir / stems[obj], h["prog"], log, meta)
        summary.programs += 1
        if errno:
            summary.rejected += 1
        else:
            summary.accepted += 1


def capture_guest(version: str, objects: list[Path], out_root: Path, cache: Optional[Path] = None,
                  timeout: float = 900.0, full: bool = True, l2_budget: int = 15,
                  l4_budget: int = 90,
                  progress: Callable[[str], None] = print) -> CaptureSummary:
    from toolkit.kernels import debian, initramfs, qemu

    t0 = time.monotonic()
    img = debian.fetch_kernel(version, cache, log=progress)
    stems = object_stems(objects)
    digests = {o: sha256(o) for o in objects}
    out_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fqdnkit-guest-") as work:
        w = Path(work)
        loader = initramfs.build_loader(w)
        initrd = w / "initramfs.cpio.gz"
        guest_paths = initramfs.build_initramfs(initrd, loader, objects, l2_budget, l4_budget)
        boot_at: list[float] = []
        btf: list[bool] = []

        def on_line(line: str) -> None:
            if "fqdnkit-guest: up" in line and not boot_at:
                boot_at.append(time.monotonic() - t_boot)
                btf.append(line.rsplit("btf=", 1)[-1].strip() == "yes")
                progress(f"  {img.release}: booted in {boot_at[0]:.1f} s")
            elif "fqdnkit-guest: data channel" in line:
                progress(f"  {img.release}: {line.split('fqdnkit-guest: ', 1)[1]}")
            elif line.startswith("fqdnkit: ["):
                text = line[len("fqdnkit: "):]
                for gp, obj in zip(guest_paths, objects):
                    text = text.replace(gp, _display(obj))
                progress(f"  {img.release}: {text}")

        progress(f"capture: booting {img.release} ({len(objects)} objects) in qemu/TCG")
        t_boot = time.monotonic()
        run = qemu.boot(img.vmlinuz, initrd, w, timeout=timeout, on_line=on_line)
        release, records, done = qemu.parse_records(run.data)
        tail = "\n".join(run.console.strip().splitlines()[-15:])
        if run.timed_out:
            raise FqdnkitError(f"{img.vmlinuz}: guest {img.release} timed out after {timeout:.0f} s "
                               f"({len(records)} programs received); console tail:\n{tail}")
        if not release:
            raise FqdnkitError(f"{img.vmlinuz}: guest {img.release} did not boot to the loader "
                               f"(qemu exit {run.returncode}); console tail:\n{tail}")
        if not done:
            raise FqdnkitError(f"{img.vmlinuz}: guest {release} stopped after {len(records)} "
                               f"programs without finishing; console tail:\n{tail}")
        summary = CaptureSummary(release, out_root / release,
                                 boot_seconds=boot_at[0] if boot_at else None)
        _store_records(records, objects, stems, digests, release, out_root, summary, full,
                       l2_budget, l4_budget, "guest libbpf 1.1 (static)",
                       {"release": release, "source": "debian", "package": img.package,
                        "package_version": img.version, "requested": version,
                        "loader": "guest", "btf": btf[0] if btf else None})
    summary.seconds = time.monotonic() - t0
    return summary


def _store_records(records, objects, stems, digests, release: str, out_root: Path,
                   summary: CaptureSummary, full: bool, l2_budget: int, l4_budget: int,
                   loader_text: str, kernel_meta: dict) -> None:
    """Write a static-loader run's records and kernel.json into a temporary directory
    beside the kernel's, then install it over out_root/<release>; on any error the
    temporary directory is removed and what was there stays."""
    tmp_kdir = Path(tempfile.mkdtemp(prefix=f".tmp-{release}-", dir=out_root))
    tmp_kdir.chmod(0o755)
    try:
        _write_records(records, objects, stems, digests, release, tmp_kdir, summary,
                       l2_budget, l4_budget, loader_text)
        _write_kernel_json(tmp_kdir, kernel_meta)
        _install(tmp_kdir, out_root / release, set(stems.values()), full)
    except BaseException:
        shutil.rmtree(tmp_kdir, ignore_errors=True)
        raise


def capture_host_static(objects: list[Path], out_root: Path, full: bool = True,
                        l2_budget: int = 15, l4_budget: int = 90,
                        progress: Callable[[str], None] = print) -> CaptureSummary:
    """Capture on the running kernel with the same static loader as the guests (level-2
    logs cut at 4 MB or the time budget, then a level-4 load), so that the host's entries
    have the same shape and cost as the guests'."""
    import subprocess
    from toolkit.kernels import initramfs, qemu

    t0 = time.monotonic()
    stems = object_stems(objects)
    digests = {o: sha256(o) for o in objects}
    out_root.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        raise FqdnkitError("capture --kernel host: loading BPF programs needs root")
    with tempfile.TemporaryDirectory(prefix="fqdnkit-host-") as work:
        w = Path(work)
        loader = initramfs.build_loader(w)
        data = w / "data.txt"
        data.write_text("")
        cmd = [str(loader), "-t", str(l2_budget), "-T", str(l4_budget), str(data),
               *map(str, objects)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        release = os.uname().release
        try:
            for line in proc.stdout:
                if line.startswith("fqdnkit: ["):
                    text = line[len("fqdnkit: "):].rstrip()
                    for obj in objects:
                        text = text.replace(f" {obj} ", f" {_display(obj)} ")
                    progress(f"  {release}: {text}")
            proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        release, records, done = qemu.parse_records(data.read_text(errors="replace"))
        if proc.returncode != 0 or not done:
            raise FqdnkitError(f"{loader}: exit {proc.returncode} after {len(records)} programs")
        summary = CaptureSummary(release, out_root / release)
        _store_records(records, objects, stems, digests, release, out_root, summary, full,
                       l2_budget, l4_budget, "host static libbpf 1.1 (guest loader)",
                       {"release": release, "source": "host", "loader": "static",
                        "btf": Path("/sys/kernel/btf/vmlinux").exists()})
    summary.seconds = time.monotonic() - t0
    return summary


def capture_host(objects: list[Path], out_root: Path, full: bool = True,
                 progress: Callable[[str], None] = print) -> CaptureSummary:
    """Capture on the running kernel with toolkit.loader.load_program (whole logs: the
    buffer doubles until the log fits, which for a program near the 1M-instruction limit
    means minutes and hundreds of MB; stored elided above 16 MB)."""
    from toolkit.elf import read_object
    from toolkit.loader import kernel_release, load_program

    t0 = time.monotonic()
    release = kernel_release()
    stems = object_stems(objects)
    out_root.mkdir(parents=True, exist_ok=True)
    summary = CaptureSummary(release, out_root / release)
    specs = {o: read_object(str(o)) for o in objects}
    total = sum(len(s.programs) for s in specs.values())
    tmp_kdir = Path(tempfile.mkdtemp(prefix=f".tmp-{release}-", dir=out_root))
    tmp_kdir.chmod(0o755)
    try:
        n = 0
        for obj, spec in specs.items():
            for p in spec.programs:
                n += 1
                r = load_program(str(obj), p.name, log_level=2)
                s = r.stats
                stats = {k: getattr(s, k) for k in corpus.STAT_KEYS}
                if stats["stack_depth"] is None:
                    stats["stack_depth"] = corpus.parse_stats(r.log)["stack_depth"]
                log, elided = corpus.elide_log(r.log)
                meta = _meta(obj, spec.sha256, p.name, r.section, r.prog_type, r.errno, stats,
                             release, r.log_level, loader="host toolkit.loader",
                             log_cut=(f"{elided} bytes elided in the middle" if elided
                                      else None),
                             timeout=False, load_time_us=r.load_time_us)
                corpus.write_program(tmp_kdir / stems[obj], p.name, log, meta)
                summary.programs += 1
                summary.accepted += r.errno == 0
                summary.rejected += r.errno != 0
                progress(f"  {release}: [{n}/{total}] {_display(obj)} {p.name} {r.verdict.value}")
        _write_kernel_json(tmp_kdir, {"release": release, "source": "host", "loader": "host",
                                      "btf": Path("/sys/kernel/btf/vmlinux").exists()})
        _install(tmp_kdir, out_root / release, set(stems.values()), full)
    except BaseException:
        shutil.rmtree(tmp_kdir, ignore_errors=True)
        raise
    summary.seconds = time.monotonic() - t0
    return summary
