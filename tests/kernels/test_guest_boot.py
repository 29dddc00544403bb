"""Boot one Debian kernel (6.1: the fastest to boot) in qemu/TCG and capture one program.

Downloads the kernel into the cache (<repo>/cache or $FQDNKIT_CACHE) if it is not there
(~27 MB). Measured: ~5 s with the kernel cached, ~10 s with the download.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from toolkit import corpus
from toolkit.kernels.capture import capture_guest

pytestmark = [pytest.mark.slow, pytest.mark.root]


def _qemu_children() -> set[int]:
    me = str(os.getpid())
    out = set()
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text().rsplit(")", 1)[1].split()
                if stat[1] == me and "qemu" in (d / "comm").read_text():
                    out.add(int(d.name))
            except OSError:
                continue
    return out


def test_capture_one_program_on_debian_61(tmp_path, example_obj):
    obj = Path(example_obj("dns_qname_unchecked"))
    t0 = time.monotonic()
    s = capture_guest("6.1", [obj], tmp_path, timeout=180, progress=lambda m: None)
    took = time.monotonic() - t0
    assert s.release.startswith("6.1.")
    assert (s.programs, s.rejected) == (1, 1)
    e = next(corpus.iter_corpus(tmp_path))
    assert e.kernel == s.release and e.object == "dns_qname_unchecked"
    assert e.meta["verdict"] == "rejected" and e.meta["errno"] == 13
    assert e.meta["stats"]["insns_processed"] is not None
    log = corpus.read_log(e.path)
    assert "invalid access to packet" in log
    assert " @ " not in log          # 6.1 prints source text without file:line
    assert json.loads((tmp_path / s.release / "kernel.json").read_text())["source"] == "debian"
    assert not list(tmp_path.glob(".tmp-*"))
    assert not _qemu_children()
    assert took < 120, f"guest capture took {took:.0f} s"


def test_timeout_kills_the_guest(tmp_path, example_obj):
    from toolkit.kernels import debian, initramfs, qemu
    img = debian.fetch_kernel("6.1", log=lambda m: None)
    loader = initramfs.build_loader(tmp_path)
    initrd = tmp_path / "initrd.gz"
    initramfs.build_initramfs(initrd, loader, [Path(example_obj("dns_count_tc"))])
    run = qemu.boot(img.vmlinuz, initrd, tmp_path, timeout=0.5)
    assert run.timed_out
    assert not _qemu_children()
