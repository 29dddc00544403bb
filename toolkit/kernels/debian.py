"""Find, download and unpack Debian kernel images for `fqdnkit capture` (never installs).

Contract:
- `fetch_kernel(version, cache) -> KernelImage`: `version` is "6.1", "6.12", "7.3" (the
  newest Debian cloud kernel of that series in bookworm, bookworm-security or
  trixie-backports) or an exact release such as "6.1.0-56-cloud-amd64". The package lists
  come from a temporary sources list handed to apt with `-o Dir::Etc::SourceList=...`; lists
  and the apt cache live under `cache/apt/`, so the host's apt state is never touched and the
  temporary sources entry is removed when the command ends. The package is fetched with
  `apt-get download` and unpacked with `dpkg-deb -x` into a temporary directory; only
  `vmlinuz` and `config` are kept in `cache/kernels/<release>/`. A later call with the same
  version reuses the cache without network access when the image is there.
- Errors (no such series, download failure, no vmlinuz in the package) raise FqdnkitError
  with the package name and apt's message.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from toolkit.model import FqdnkitError

KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
MIRROR = os.environ.get("FQDNKIT_DEBIAN_MIRROR", "http://deb.debian.org/debian")
SECURITY_MIRROR = os.environ.get("FQDNKIT_DEBIAN_SECURITY_MIRROR",
                                 "http://deb.debian.org/debian-security")
# The suites searched for kernels: 6.1 (bookworm), 6.12 (bookworm-security), 7.x
# (trixie-backports).
SOURCES = (
    f"deb [signed-by={KEYRING}] {MIRROR} bookworm main",
    f"deb [signed-by={KEYRING}] {SECURITY_MIRROR} bookworm-security main",
    f"deb [signed-by={KEYRING}] {MIRROR} trixie-backports main",
)
FLAVOUR = "cloud-amd64"   # small images (no initramfs needed: virtio/serial built in)
DEFAULT_VERSIONS = ("6.1", "6.12", "7.3")
LISTS_MAX_AGE_S = 24 * 3600


@dataclass(frozen=True)
class KernelImage:
    release: str          # e.g. "6.1.0-56-cloud-amd64" (what uname -r will print)
    package: str          # e.g. "linux-image-6.1.0-56-cloud-amd64"
    version: str          # Debian package version
    vmlinuz: Path
    config: Optional[Path]


def default_cache() -> Path:
    """$FQDNKIT_CACHE, else <repo>/cache when running from a checkout, else ~/.cache/fqdnkit."""
    env = os.environ.get("FQDNKIT_CACHE")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[2]
    if (repo / "pyproject.toml").exists() and os.access(repo, os.W_OK):
        return repo / "cache"
    return Path.home() / ".cache" / "fqdnkit"


class _Apt:
    """apt-get/apt-cache with a private sources list, lists dir and cache dir."""

    def __init__(self, cache: Path, tmp: Path) -> None:
        self.root = cache / "apt"
        (self.root / "lists" / "partial").mkdir(parents=True, exist_ok=True)
        (self.root / "archives" / "partial").mkdir(parents=True, exist_ok=True)
        self.sources = tmp / "sources.list"
        self.sources.write_text("\n".join(SOURCES) + "\n")
        (tmp / "sources.list.d").mkdir(exist_ok=True)
        self.opts = [
            "-o", f"Dir::Etc::SourceList={self.sources}",
            "-o", f"Dir::Etc::SourceParts={tmp / 'sources.list.d'}",
            "-o", f"Dir::State::Lists={self.root / 'lists'}",
            "-o", f"Dir::Cache={self.root / 'cache'}",
            "-o", "Acquire::Languages=none",
            "-o", "APT::Architecture=amd64",
            "-o", "APT::Sandbox::User=root",
            "-q",
        ]

    def _run(self, args: list[str], cwd: Optional[Path] = None, what: str = "") -> str:
        proc = subprocess.run(args[:1] + self.opts + args[1:], cwd=cwd, capture_output=True,
                              text=True)
        if proc.returncode != 0:
            raise FqdnkitError(f"{what or ' '.join(args)}: apt failed "
                               f"(exit {proc.returncode}):\n{proc.stderr.strip()[-2000:]}")
        return proc.stdout

    def update(self, force: bool = False) -> None:
        stamp = self.root / "lists" / ".fqdnkit-updated"
        if not force and stamp.exists() and time.time() - stamp.stat().st_mtime < LISTS_MAX_AGE_S:
            return
        (self.root / "cache").mkdir(exist_ok=True)
        self._run(["apt-get", "update"], what="apt-get update (temporary sources list)")
        stamp.touch()

    def packages(self) -> dict[str, list[tuple[str, str]]]:
        """{package: [(version, depends), ...]} for the kernel images in the lists."""
        out: dict[str, list[tuple[str, str]]] = {}
        for f in sorted((self.root / "lists").glob("*_Packages*")):
            # the lists may be compressed (lz4, gz...): apt-helper cat-file reads them all
            proc = subprocess.run(["/usr/lib/apt/apt-helper", "cat-file", str(f)],
                                  capture_output=True, text=True, errors="replace")
            if proc.returncode != 0:
                raise FqdnkitError(f"{f}: apt-helper cat-file failed: {proc.stderr.strip()}")
            for stanza in proc.stdout.split("\n\n"):
                m = re.search(r"^Package: (linux-(?:image|binary)-\S+)$", stanza, re.M)
                if not m:
                    continue
                v = re.search(r"^Version: (\S+)$", stanza, re.M)
                d = re.search(r"^Depends: (.*)$", stanza, re.M)
                out.setdefault(m.group(1), []).append((v.group(1) if v else "",
                                                      d.group(1) if d else ""))
        return out

    def download(self, package: str, dest: Path) -> Path:
        self._run(["apt-get", "download", package], cwd=dest, what=f"apt-get download {package}")
        debs = sorted(dest.glob(f"{package}_*.deb"))
        if not debs:
            raise FqdnkitError(f"{package}: apt-get download produced no .deb in {dest}")
        return debs[-1]


def _release_key(release: str) -> tuple:
    return tuple(int(x) for x in re.findall(r"\d+", release))


def _candidates(pkgs: dict, version: str) -> list[tuple[str, str]]:
    """(release, package) of the cloud images of `version`, newest last."""
    out = []
    pat = re.compile(rf"^linux-image-(\d+\.\d+\.\d+\S*)-{FLAVOUR}$")
    for name in pkgs:
        m = pat.match(name)
        if not m:
            continue
        rel = m.group(1) + "-" + FLAVOUR
        if rel == version or rel.startswith(version + ".") or m.group(1) == version:
            out.append((rel, name))
    return sorted(out, key=lambda rp: _release_key(rp[0]))


def _find_vmlinuz(root: Path) -> Optional[Path]:
    for pat in ("boot/vmlinuz-*", "usr/lib/modules/*/vmlinuz", "lib/modules/*/vmlinuz"):
        hits = sorted(root.glob(pat))
        if hits:
            return hits[0]
    return None


def cached_image(cache: Path, release: str) -> Optional[KernelImage]:
    d = cache / "kernels" / release
    meta = d / "package"
    if (d / "vmlinuz").exists() and meta.exists():
        package, version = meta.read_text().split()[:2]
        cfg = d / "config"
        return KernelImage(release, package, version, d / "vmlinuz",
                           cfg if cfg.exists() else None)
    return None


def cached_images(cache: Path, version: str) -> list[KernelImage]:
    """Images of `version` already in the cache, newest last (no network)."""
    root = cache / "kernels"
    if not root.is_dir():
        return []
    out = []
    for d in root.iterdir():
        rel = d.name
        short = rel[:-len(FLAVOUR) - 1] if rel.endswith(FLAVOUR) else rel
        if rel == version or short.startswith(version + ".") or short == version:
            img = cached_image(cache, rel)
            if img:
                out.append(img)
    return sorted(out, key=lambda i: _release_key(i.release))


def fetch_kernel(version: str, cache: Optional[Path] = None, offline_ok: bool = True,
                 log=print) -> KernelImage:
    """Return the newest Debian cloud kernel of `version`, downloading it if needed."""
    cache = Path(cache or default_cache())
    with tempfile.TemporaryDirectory(prefix="fqdnkit-apt-") as tmps:
        tmp = Path(tmps)
        apt = _Apt(cache, tmp)
        try:
            apt.update()
        except FqdnkitError:
            hit = cached_images(cache, version) if offline_ok else []
            if hit:
                log(f"capture: apt update failed, using cached {hit[-1].release}")
                return hit[-1]
            raise
        pkgs = apt.packages()
        cands = _candidates(pkgs, version)
        if not cands:
            raise FqdnkitError(f"kernel {version!r}: no linux-image-*-{FLAVOUR} package of that "
                               f"version in {', '.join(s.split()[-2] for s in SOURCES)}")
        release, package = cands[-1]
        hit = cached_image(cache, release)
        if hit:
            return hit
        pkg_version = pkgs[package][-1][0]
        log(f"capture: downloading {package} {pkg_version}")
        dl = tmp / "debs"
        dl.mkdir()
        todo = [package]
        seen: set[str] = set()
        vmlinuz = config = None
        while todo and vmlinuz is None:
            name = todo.pop(0)
            if name in seen:
                continue
            seen.add(name)
            deb = apt.download(name, dl)
            root = tmp / ("x-" + name)
            proc = subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], capture_output=True,
                                  text=True)
            if proc.returncode != 0:
                raise FqdnkitError(f"{deb}: dpkg-deb -x failed: {proc.stderr.strip()}")
            vmlinuz = _find_vmlinuz(root)
            cfgs = sorted(root.glob("boot/config-*"))
            config = config or (cfgs[0] if cfgs else None)
            if vmlinuz is None:
                # Newer Debian kernels split the image: linux-image-X depends on linux-binary-X.
                deps = pkgs.get(name, [("", "")])[-1][1]
                todo += [d.split()[0] for d in re.split(r"[,|]", deps)
                         if d.strip().startswith(("linux-binary-", "linux-image-"))]
        if vmlinuz is None:
            raise FqdnkitError(f"{package}: no vmlinuz in the package or its linux-binary "
                               f"dependency (looked in {', '.join(sorted(seen))})")
        out = cache / "kernels" / release
        out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(vmlinuz, out / "vmlinuz")
        if config:
            shutil.copyfile(config, out / "config")
        (out / "package").write_text(f"{package} {pkg_version}\n")
        return KernelImage(release, package, pkg_version, out / "vmlinuz",
                           out / "config" if config else None)
