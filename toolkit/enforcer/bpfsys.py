"""The few kernel calls the enforcer needs beyond toolkit.libbpf (lead: candidates to move).

Contract: `RingBuffer(map_fd, callback)` wraps libbpf's ring_buffer__new/poll/consume/free
(callback(bytes) per record; `consume()` reads what is there without waiting, for records
submitted with BPF_RB_NO_WAKEUP, which never wake `poll`); `cgroup_id(path)` is the cgroup v2 id of a directory (its
kernfs inode number, what bpf_skb_cgroup_id returns); `cgroup2_mount()` finds the v2
hierarchy (findmnt -t cgroup2, per FACTS /sys/fs/cgroup/unified here); `boot_ns()` is
CLOCK_BOOTTIME in ns (bpf_ktime_get_boot_ns); `netns_cookie()` is the cookie of the
calling thread's network namespace (SO_NETNS_COOKIE, what bpf_get_netns_cookie returns);
`iface_info(name)` is (ifindex, ARPHRD_* type) of an interface of that namespace (netlink
and ioctl follow the netns; /sys/class/net does not under `nsenter --net`);
`tcx_link_info(fd)` is (link id, ifindex) of a tcx link (ifindex 0 once its device is
gone). Errors are OSError naming the object.
"""
from __future__ import annotations

import ctypes
import fcntl
import os
import socket
import struct
import subprocess
import time
from ctypes import CFUNCTYPE, byref, c_int, c_size_t, c_uint32, c_void_p

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
        lib.ring_buffer__consume.restype = c_int
        lib.ring_buffer__consume.argtypes = [c_void_p]
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

    def consume(self) -> int:
        """Read every record available now (no wait); returns how many."""
        n = _lib().ring_buffer__consume(self._rb)
        if n < 0 and n != -4:
            raise OSError(-n, f"ring buffer consume: {os.strerror(-n)}")
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


SO_NETNS_COOKIE = 71        # asm-generic/socket.h, Linux 5.14+
SIOCGIFHWADDR = 0x8927
ARPHRD_ETHER = 1
ARPHRD_NONE = 0xFFFE        # tun, wireguard: packets start with the IP header


def netns_cookie() -> int:
    """Cookie of the current network namespace (the key bpf_get_netns_cookie returns)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            raw = s.getsockopt(socket.SOL_SOCKET, SO_NETNS_COOKIE, 8)
        except OSError as e:
            raise OSError(e.errno, f"SO_NETNS_COOKIE: {e.strerror} (kernel 5.14+ needed)") from None
    return struct.unpack("=Q", raw)[0]


def iface_info(name: str) -> tuple[int, int]:
    """(ifindex, ARPHRD_* link type) of interface `name` in the current network namespace."""
    try:
        ifindex = socket.if_nametoindex(name)
    except OSError:
        raise OSError(19, f"{name}: no such interface in this network namespace "
                          "(run the agent in the interface's netns: nsenter --net=...)") from None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16s16x", name.encode()[:15])
        res = fcntl.ioctl(s.fileno(), SIOCGIFHWADDR, req)
    return ifindex, struct.unpack_from("=H", res, 16)[0]


def tcx_link_info(link_fd: int) -> tuple[int, int]:
    """(link id, ifindex) of a tcx link (struct bpf_link_info: type, id, prog_id, then the
    union, 8-aligned, whose tcx member starts with ifindex); ifindex 0 when its device is
    gone."""
    buf = ctypes.create_string_buffer(48)
    n = c_uint32(48)
    ret = libbpf._libbpf().bpf_obj_get_info_by_fd(link_fd, buf, byref(n))
    if ret < 0:
        e = -ret if ret < -1 else ctypes.get_errno()
        raise OSError(e, f"link fd {link_fd}: link info: {os.strerror(e)}")
    return struct.unpack_from("=I", buf.raw, 4)[0], struct.unpack_from("=I", buf.raw, 16)[0]
