"""Build the guest initramfs for `fqdnkit capture`: busybox-static, the static guest loader
(compiled here from guest/loader.c against Debian's libbpf.a/libelf.a/libz.a) and the BPF
objects, as a gzip-compressed newc cpio archive written by Python (no root, no cpio tool).

Contract:
- `build_loader(out_dir) -> Path` compiles guest/loader.c with `gcc -static` (clang-19 when
  there is no gcc; both need libc6-dev's libc.a); raises
  FqdnkitError naming the missing static library or the compiler error.
- `build_initramfs(path, loader, objects) -> list[str]` writes the archive and returns the
  guest paths of the objects, in the order given. The guest's /init mounts proc, sysfs,
  devtmpfs and bpffs, waits up to 5 s for the NVMe data disk (/dev/nvme0n1, else it
  uses /dev/ttyS1), runs `/loader -t L2 -T L4 DATA OBJ...` (per-program time
  budgets in seconds for the level-2 load and the level-4 fallback, see guest/loader.c)
  and powers off.
"""
from __future__ import annotations

import gzip
import shutil
import subprocess
from pathlib import Path

from toolkit.model import FqdnkitError

GUEST_DIR = Path(__file__).resolve().parent / "guest"
LOADER_SRC = GUEST_DIR / "loader.c"
BUSYBOX = Path("/bin/busybox")
STATIC_LIBS = ("libbpf.a", "libelf.a", "libz.a")
LIB_DIRS = (Path("/usr/lib/x86_64-linux-gnu"), Path("/usr/lib64"), Path("/usr/lib"))

INIT_SCRIPT = """#!/bin/busybox sh
B=/bin/busybox
$B mkdir -p /proc /sys /dev /tmp
$B mount -t proc proc /proc
$B mount -t sysfs sysfs /sys
$B mount -t devtmpfs devtmpfs /dev 2>/dev/null
$B mkdir -p /sys/fs/bpf
$B mount -t bpf bpf /sys/fs/bpf
BTF=no; [ -e /sys/kernel/btf/vmlinux ] && BTF=yes
echo "fqdnkit-guest: up $($B uname -r) btf=$BTF"
# data channel: the NVMe disk (fast DMA) when the kernel has probed it, else ttyS1
DATA=/dev/ttyS1
i=0
while [ $i -lt 50 ]; do
  [ -b /dev/nvme0n1 ] && {{ DATA=/dev/nvme0n1; break; }}
  $B usleep 100000; i=$((i+1))
done
echo "fqdnkit-guest: data channel $DATA"
/loader -t {l2_budget} -T {l4_budget} $DATA {objects}
echo "fqdnkit-guest: loader exit $?"
$B sync
$B poweroff -f
"""


def _find_static(name: str) -> Path:
    for d in LIB_DIRS:
        if (d / name).exists():
            return d / name
    raise FqdnkitError(f"{name}: static library not found in {', '.join(map(str, LIB_DIRS))} "
                       f"(install libbpf-dev, libelf-dev, zlib1g-dev)")


def build_loader(out_dir: Path) -> Path:
    """Compile the static guest loader into out_dir/loader and return its path."""
    libs = [_find_static(n) for n in STATIC_LIBS]
    gcc = shutil.which("gcc") or shutil.which("clang-19") or shutil.which("clang")
    if gcc is None:
        raise FqdnkitError("gcc or clang: not found (needed to build the static guest loader)")
    out = Path(out_dir) / "loader"
    cmd = [gcc, "-static", "-O2", "-Wall", "-pthread", "-Wl,--wrap=syscall", "-o", str(out),
           str(LOADER_SRC),
           *map(str, libs)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise FqdnkitError(f"{LOADER_SRC}: {Path(gcc).name} -static failed:\n"
                           f"{proc.stderr.strip()}")
    return out


class _Cpio:
    """Minimal writer of the newc ("070701") cpio format used by the kernel's initramfs."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.ino = 1

    def _entry(self, name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0),
               nlink: int = 1) -> None:
        nameb = name.encode() + b"\0"
        fields = [self.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1],
                  len(nameb), 0]
        self.ino += 1
        hdr = b"070701" + b"".join(b"%08X" % f for f in fields)
        self.buf += hdr + nameb
        self.buf += b"\0" * (-len(self.buf) % 4)
        self.buf += data
        self.buf += b"\0" * (-len(self.buf) % 4)

    def dir(self, name: str) -> None:
        self._entry(name, 0o040755, nlink=2)

    def file(self, name: str, data: bytes, mode: int = 0o644) -> None:
        self._entry(name, 0o100000 | mode, data)

    def symlink(self, name: str, target: str) -> None:
        self._entry(name, 0o120777, target.encode())

    def chardev(self, name: str, major: int, minor: int) -> None:
        self._entry(name, 0o020600, rdev=(major, minor))

    def finish(self) -> bytes:
        self._entry("TRAILER!!!", 0, nlink=1)
        self.buf += b"\0" * (-len(self.buf) % 512)
        return bytes(self.buf)


def build_initramfs(path: Path, loader: Path, objects: list[Path], l2_budget: int = 15,
                    l4_budget: int = 90) -> list[str]:
    """Write a gzip newc initramfs to `path`; return the guest path of each object."""
    if not BUSYBOX.exists():
        raise FqdnkitError(f"{BUSYBOX}: not found (install busybox-static)")
    c = _Cpio()
    for d in ("bin", "dev", "proc", "sys", "tmp", "objs"):
        c.dir(d)
    c.chardev("dev/console", 5, 1)
    c.chardev("dev/null", 1, 3)
    c.chardev("dev/ttyS0", 4, 64)
    c.chardev("dev/ttyS1", 4, 65)
    c.file("bin/busybox", BUSYBOX.read_bytes(), 0o755)
    c.symlink("bin/sh", "busybox")
    c.file("loader", Path(loader).read_bytes(), 0o755)
    guest_paths = []
    for i, obj in enumerate(objects):
        gp = f"objs/{i:03d}_{Path(obj).name}"
        c.file(gp, Path(obj).read_bytes())
        guest_paths.append("/" + gp)
    c.file("init", INIT_SCRIPT.format(objects=" ".join(guest_paths), l2_budget=int(l2_budget),
                                      l4_budget=int(l4_budget)).encode(), 0o755)
    Path(path).write_bytes(gzip.compress(c.finish(), compresslevel=1))
    return guest_paths
