"""Boot a kernel with an initramfs in qemu (TCG) and collect what the guest loader sends.

Contract:
- `boot(vmlinuz, initrd, workdir, timeout, on_line) -> GuestRun`: runs
  `qemu-system-x86_64 -accel tcg -nographic -no-reboot` with the console on ttyS0 (stdout,
  passed line by line to `on_line`, ANSI escapes removed) and the data channel on a sparse
  raw NVMe disk (NVMe is built into Debian's cloud kernels; DMA is far faster than an
  emulated UART under TCG) or, failing that, ttyS1 (a file in workdir). The qemu process is killed on timeout and on any exception, so no
  process outlives the call. Kernel command line `console=ttyS0 panic=-1 quiet`.
- `parse_records(text) -> (release, records, done)`: decodes the framed records the guest
  loader (guest/loader.c) writes; raises FqdnkitError on a corrupt frame.
"""
from __future__ import annotations

import base64
import gzip
import re
import selectors
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from toolkit.model import FqdnkitError

QEMU = "qemu-system-x86_64"
CMDLINE = "console=ttyS0 panic=-1 quiet"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1bc|\r")


@dataclass
class GuestRun:
    returncode: Optional[int]
    console: str
    data: str
    seconds: float
    timed_out: bool = False


@dataclass
class Record:
    header: dict
    log: str
    libbpf: str
    tail1: str = ""


DISK_BYTES = 1 << 30   # sparse raw image for the data channel


def qemu_command(vmlinuz: Path, initrd: Path, data_path: Path, disk_path: Path,
                 memory_mb: int = 2048) -> list[str]:
    return [QEMU, "-accel", "tcg", "-cpu", "max", "-m", str(memory_mb), "-smp", "1",
            "-nodefaults", "-nographic", "-no-reboot",
            "-kernel", str(vmlinuz), "-initrd", str(initrd), "-append", CMDLINE,
            "-serial", "stdio", "-serial", f"file:{data_path}",
            "-drive", f"file={disk_path},format=raw,if=none,id=data,cache=unsafe",
            "-device", "nvme,drive=data,serial=fqdnkit"]


def _read_disk(path: Path) -> str:
    """The framed text the guest wrote to the raw disk, up to the first NUL byte."""
    out = bytearray()
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            z = chunk.find(b"\0")
            if z >= 0:
                out += chunk[:z]
                break
            out += chunk
    return out.decode(errors="replace")


def boot(vmlinuz: Path, initrd: Path, workdir: Path, timeout: float = 300.0,
         on_line: Callable[[str], None] = lambda s: None) -> GuestRun:
    if shutil.which(QEMU) is None:
        raise FqdnkitError(f"{QEMU}: not found (install qemu-system-x86)")
    data_path = Path(workdir) / "ttyS1.txt"
    data_path.write_text("")
    disk_path = Path(workdir) / "data.img"
    with open(disk_path, "wb") as f:
        f.truncate(DISK_BYTES)
    cmd = qemu_command(vmlinuz, initrd, data_path, disk_path)
    t0 = time.monotonic()
    console: list[str] = []
    timed_out = False
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        pending = b""
        while True:
            left = timeout - (time.monotonic() - t0)
            if left <= 0:
                timed_out = True
                break
            if not sel.select(timeout=min(left, 1.0)):
                if proc.poll() is not None:
                    break
                continue
            chunk = proc.stdout.read1(65536)
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for raw in lines:
                line = ANSI.sub("", raw.decode(errors="replace"))
                console.append(line)
                on_line(line)
        if pending:
            console.append(ANSI.sub("", pending.decode(errors="replace")))
        if not timed_out:
            proc.wait(timeout=max(1.0, timeout - (time.monotonic() - t0)))
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    data = data_path.read_text(errors="replace")
    if "@@FQDNKIT-RELEASE" not in data:
        data = _read_disk(disk_path)
    disk_path.unlink()
    return GuestRun(proc.returncode, "\n".join(console), data, time.monotonic() - t0, timed_out)


_BEGIN = re.compile(r"^@@FQDNKIT-BEGIN (.*)@@$")
_KV = re.compile(r"(\w+)=(\S+)")


def _decode(lines: list[str], what: str) -> str:
    if not lines:
        return ""
    try:
        return gzip.decompress(base64.b64decode("".join(lines))).decode(errors="replace")
    except (ValueError, OSError, EOFError) as e:
        raise FqdnkitError(f"guest data channel: corrupt {what} block ({e})") from e


def parse_records(text: str) -> tuple[str, list[Record], bool]:
    """Decode the guest's data channel: (kernel release, records, DONE marker seen)."""
    release = ""
    records: list[Record] = []
    done = False
    header: Optional[dict] = None
    section = ""
    blocks: dict[str, list[str]] = {}
    for line in text.replace("\r", "").split("\n"):
        if line.startswith("@@FQDNKIT-RELEASE "):
            release = line[len("@@FQDNKIT-RELEASE "):].rstrip("@")
        elif (m := _BEGIN.match(line)):
            header = dict(_KV.findall(m.group(1)))
            blocks = {"LOG": [], "LIBBPF": [], "TAIL1": []}
            section = ""
        elif line in ("@@LOG@@", "@@LIBBPF@@", "@@TAIL1@@"):
            section = line.strip("@")
        elif line == "@@FQDNKIT-END@@":
            if header is None:
                raise FqdnkitError("guest data channel: END without BEGIN")
            what = f"{header.get('obj')}/{header.get('prog')}"
            records.append(Record(header, _decode(blocks["LOG"], what + " log"),
                                  _decode(blocks["LIBBPF"], what + " libbpf"),
                                  _decode(blocks["TAIL1"], what + " level-1 tail")))
            header = None
            section = ""
        elif line.startswith("@@FQDNKIT-DONE"):
            done = True
        elif header is not None and section and line:
            blocks[section].append(line)
    return release, records, done
