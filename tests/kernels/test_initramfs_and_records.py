"""Guest side pieces without a VM: the newc writer, the static loader (built and run on the
host kernel), the framing parser, Debian package selection and qemu failure handling."""
from __future__ import annotations

import base64
import gzip
import os
import subprocess

import pytest

from toolkit.kernels import debian, initramfs, qemu
from toolkit.model import FqdnkitError


def test_cpio_archive_lists_the_guest_files(tmp_path):
    loader = tmp_path / "loader"
    loader.write_bytes(b"\x7fELF fake")
    obj = tmp_path / "x.bpf.o"
    obj.write_bytes(b"obj")
    out = tmp_path / "initrd.gz"
    guest = initramfs.build_initramfs(out, loader, [obj])
    assert guest == ["/objs/000_x.bpf.o"]
    listing = subprocess.run(["cpio", "-it", "--quiet"], input=gzip.decompress(out.read_bytes()),
                             capture_output=True, check=True).stdout.decode().split()
    for name in ("init", "loader", "bin/busybox", "dev/console", "dev/ttyS1", "objs/000_x.bpf.o"):
        assert name in listing


def test_parse_records_roundtrip_and_corruption():
    blob = base64.b64encode(gzip.compress(b"0: (95) exit\nprocessed 1 insns")).decode()
    text = ("@@FQDNKIT-RELEASE 6.1.0-56-cloud-amd64@@\r\n"
            "@@FQDNKIT-BEGIN obj=0 prog=p sec=tc type=3 attach=0 ret=-13 insn_cnt=1 "
            "xlated_insns=0 verified_insns=0 log_len=30 log_truncated=0 log_size=8 load_us=5@@\n"
            f"@@LOG@@\n{blob}\n@@LIBBPF@@\n@@FQDNKIT-END@@\n@@FQDNKIT-DONE 1 1@@\n")
    release, recs, done = qemu.parse_records(text)
    assert release == "6.1.0-56-cloud-amd64" and done
    assert recs[0].header["prog"] == "p" and recs[0].header["ret"] == "-13"
    assert recs[0].log.startswith("0: (95) exit")
    with pytest.raises(FqdnkitError, match="corrupt"):
        qemu.parse_records(text.replace(blob, blob[:-8] + "AAAAAAAA"))


def test_debian_candidates_pick_the_newest_of_a_series():
    pkgs = {n: [("1", "")] for n in (
        "linux-image-6.1.0-9-cloud-amd64", "linux-image-6.1.0-56-cloud-amd64",
        "linux-image-6.1.0-56-cloud-amd64-unsigned", "linux-image-6.12.117+deb12-cloud-amd64",
        "linux-image-6.12-cloud-amd64", "linux-image-7.3.4+deb13-cloud-amd64",
        "linux-image-6.1.0-56-amd64")}
    assert debian._candidates(pkgs, "6.1")[-1] == (
        "6.1.0-56-cloud-amd64", "linux-image-6.1.0-56-cloud-amd64")
    assert [r for r, _ in debian._candidates(pkgs, "6.12")] == ["6.12.117+deb12-cloud-amd64"]
    assert debian._candidates(pkgs, "7.3")[-1][0] == "7.3.4+deb13-cloud-amd64"
    assert debian._candidates(pkgs, "5.10") == []


def test_qemu_failure_is_a_clear_error(tmp_path):
    bogus = tmp_path / "vmlinuz"
    bogus.write_bytes(b"not a kernel")
    initrd = tmp_path / "initrd"
    initrd.write_bytes(b"")
    run = qemu.boot(bogus, initrd, tmp_path, timeout=30)
    assert run.returncode != 0 and not run.timed_out
    release, recs, done = qemu.parse_records(run.data)
    assert release == "" and not recs and not done


@pytest.mark.root
def test_static_loader_on_the_host_kernel(tmp_path, example_obj):
    loader = initramfs.build_loader(tmp_path)
    data = tmp_path / "data.txt"
    data.write_text("")
    proc = subprocess.run([str(loader), str(data), example_obj("dns_qname_unchecked"),
                           example_obj("dns_count_tc")], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    release, recs, done = qemu.parse_records(data.read_text())
    assert release == os.uname().release and done
    by = {r.header["prog"]: r for r in recs}
    assert by["dns_qname_unchecked"].header["ret"] == "-13"
    assert "invalid access to packet" in by["dns_qname_unchecked"].log
    assert by["dns_count_tc"].header["ret"] == "0"
    assert "processed " in by["dns_count_tc"].log


BIG_LOOP = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("tc")
int big_loop(struct __sk_buff *skb)
{
	volatile int x = 0;
	for (int i = 0; i < 40000; i++) {
		if (skb->len > i) x += i; else x ^= i;
	}
	return x & 1;
}
char LICENSE[] SEC("license") = "GPL";
"""


@pytest.mark.root
def test_static_loader_cuts_a_huge_log_and_keeps_the_verdict(tmp_path):
    """A level-2 log far above the 4 MB buffer: the head is kept, and a level-4 load gives
    the verifier's own ending (error and statistics)."""
    src = tmp_path / "big.bpf.c"
    src.write_text(BIG_LOOP)
    obj = tmp_path / "big.bpf.o"
    subprocess.run(["clang-19", "-target", "bpf", "-O2", "-g",
                    f"-I/usr/include/{os.uname().machine}-linux-gnu", "-c", str(src), "-o",
                    str(obj)], check=True, capture_output=True)
    loader = initramfs.build_loader(tmp_path)
    data = tmp_path / "data.txt"
    data.write_text("")
    subprocess.run([str(loader), "-t", "30", "-T", "60", str(data), str(obj)], check=True,
                   capture_output=True, timeout=120)
    _, (rec,), done = qemu.parse_records(data.read_text())
    assert done
    assert rec.header["log_truncated"] == "1" and rec.header["l2_timeout"] == "0"
    assert int(rec.header["log_len"]) == 4 * 1024 * 1024 - 1
    assert rec.log.startswith("func#0 @0")
    assert int(rec.header["ret"]) < 0 and rec.header["ret"] != "-28"   # not ENOSPC
    assert "processed " in rec.tail1 and "(limit 1000000)" in rec.tail1
