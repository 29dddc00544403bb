"""The few kernel calls the enforcer needs beyond toolkit.libbpf (lead: candidates to move).

Contract: `RingBuffer(map_fd, callback)` wraps libbpf's ring_buffer__new/poll/free
(callback(bytes) per record); `cgroup_id(path)` is the cgroup v2 id of a directory (its
kernfs inode number, what bpf_skb_cgroup_id returns); `cgroup2_mount()` finds the v2
hierarchy (findmnt -t cgroup2, per FACTS /sys/fs/cgroup/unified here); `boot_ns()` is
CLOCK_BOOTTIME in ns (bpf_ktime_get_boot_ns). Errors are OSError naming the object.
"""
from __future__ import annotations

import ctypes
import os
import subprocess
import time
from ctypes import CFUNCTYPE, c_int, c_size_t, c_void_p

from .. import libbpf

_SAMPLE_FN = CFUNCTYPE(c_int, c_void_p, c_void_p, c_size_t)
_declared = False


def _lib():
    global _declared
    lib = libbpf._libbpf()
    if not _declared:
        lib.ring_buffer__new.restype = c_void_p
        lib.ring_buffer__new.argtypes = [c_int, _SAMPLE_FN, c_void_p, c_void_p]
        lib.ring_buffer__poll.restype = c_int
        lib.ring_buffer__poll.argtypes = [c_void_p, c_int]
        lib.ring_buffer__free.restype = None
        lib.ring_buffer__free.argtypes = [c_void_p]
        _declared = True
    return lib


class RingBuffer:
    """Consume a BPF_MAP_TYPE_RINGBUF map: poll(timeout_ms) calls callback(bytes) per record."""

    def __init__(self, map_fd: int, callback):
        self._cb_user = callback

        def _sample(_ctx, data, size):
            self._cb_user(ctypes.string_at(data, size))
            return 0

        self._cb = _SAMPLE_FN(_sample)  # keep a reference: libbpf holds the pointer
        ctypes.set_errno(0)
        self._rb = _lib().ring_buffer__new(map_fd, self._cb, None, None)
        if not self._rb:
            e = ctypes.get_errno() or 22
            raise OSError(e, f"ring buffer on map fd {map_fd}: {os.strerror(e)}")

    def poll(self, timeout_ms: int) -> int:
        n = _lib().ring_buffer__poll(self._rb, timeout_ms)
        if n < 0 and n != -4:  # -EINTR: a signal arrived, not an error
            raise OSError(-n, f"ring buffer poll: {os.strerror(-n)}")
        return max(n, 0)

    def close(self) -> None:
        if self._rb:
            _lib().ring_buffer__free(self._rb)
            self._rb = None


def cgroup_id(path: str) -> int:
    """cgroup v2 id of the cgroup directory at path (its inode number on cgroup2)."""
    st = os.stat(path)
    import stat as st_mod
    if not st_mod.S_ISDIR(st.st_mode):
        raise OSError(20, f"{path}: not a cgroup directory")
    return st.st_ino


def cgroup2_mount() -> str:
    """Mount point of the cgroup v2 hierarchy."""
    try:
        out = subprocess.run(["findmnt", "-n", "-t", "cgroup2", "-o", "TARGET"],
                             capture_output=True, text=True, check=False).stdout.split()
    except FileNotFoundError:
        out = []
    if out:
        return out[0]
    for cand in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
        if os.path.exists(os.path.join(cand, "cgroup.procs")) and \
                os.path.exists(os.path.join(cand, "cgroup.controllers")):
            return cand
    raise OSError(2, "no cgroup v2 hierarchy mounted (findmnt -t cgroup2 finds nothing)")


def boot_ns() -> int:
    return time.clock_gettime_ns(time.CLOCK_BOOTTIME)
