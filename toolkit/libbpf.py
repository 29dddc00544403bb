"""ctypes binding of the system libbpf (Debian's libbpf 1.1, /usr/lib/.../libbpf.so.1).

Contract: a thin, typed wrapper; every failing call raises OSError(errno, message naming
the object/program/path). Objects own their fds: `BpfObject.close()` (or `with`) releases
them. No policy lives here: `loader` decides how programs are loaded one at a time,
`enforcer` how they are pinned and attached. Only `model` may be imported.

Why libbpf through ctypes rather than a pure-Python ELF loader: libbpf performs the
relocations (maps, subprograms, CO-RE, kfuncs) exactly as production loaders do, so the
verifier sees the same instructions bpftool or a C agent would hand it.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import errno as errno_mod
import os
import threading
from ctypes import (CFUNCTYPE, POINTER, Structure, byref, c_bool, c_char, c_char_p, c_int,
                    c_size_t, c_uint, c_uint8, c_uint32, c_uint64, c_void_p, create_string_buffer)
from typing import Iterator, Optional

from .sections import ATTACH_TYPES, PROG_TYPE_NAMES, PROG_TYPES, SECTION_TYPES, section_type  # noqa: F401

# --- structures ---
class TestRunOpts(Structure):
    _fields_ = [
        ("sz", c_size_t), ("data_in", c_void_p), ("data_out", c_void_p),
        ("data_size_in", c_uint32), ("data_size_out", c_uint32),
        ("ctx_in", c_void_p), ("ctx_out", c_void_p),
        ("ctx_size_in", c_uint32), ("ctx_size_out", c_uint32),
        ("retval", c_uint32), ("repeat", c_int), ("duration", c_uint32),
        ("flags", c_uint32), ("cpu", c_uint32), ("batch_size", c_uint32),
    ]


class ProgInfo(Structure):
    """struct bpf_prog_info up to verified_insns (UAPI, kernel 5.16+)."""
    _fields_ = [
        ("type", c_uint32), ("id", c_uint32), ("tag", c_uint8 * 8),
        ("jited_prog_len", c_uint32), ("xlated_prog_len", c_uint32),
        ("jited_prog_insns", c_uint64), ("xlated_prog_insns", c_uint64),
        ("load_time", c_uint64), ("created_by_uid", c_uint32), ("nr_map_ids", c_uint32),
        ("map_ids", c_uint64), ("name", c_char * 16), ("ifindex", c_uint32),
        ("gpl_compatible", c_uint32), ("netns_dev", c_uint64), ("netns_ino", c_uint64),
        ("nr_jited_ksyms", c_uint32), ("nr_jited_func_lens", c_uint32),
        ("jited_ksyms", c_uint64), ("jited_func_lens", c_uint64),
        ("btf_id", c_uint32), ("func_info_rec_size", c_uint32), ("func_info", c_uint64),
        ("nr_func_info", c_uint32), ("nr_line_info", c_uint32), ("line_info", c_uint64),
        ("jited_line_info", c_uint64), ("nr_jited_line_info", c_uint32),
        ("line_info_rec_size", c_uint32), ("jited_line_info_rec_size", c_uint32),
        ("nr_prog_tags", c_uint32), ("prog_tags", c_uint64), ("run_time_ns", c_uint64),
        ("run_cnt", c_uint64), ("recursion_misses", c_uint64), ("verified_insns", c_uint32),
        ("attach_btf_obj_id", c_uint32), ("attach_btf_id", c_uint32),
    ]


class MapInfo(Structure):
    _fields_ = [
        ("type", c_uint32), ("id", c_uint32), ("key_size", c_uint32),
        ("value_size", c_uint32), ("max_entries", c_uint32), ("map_flags", c_uint32),
        ("name", c_char * 16),
    ]


class LinkCreateOpts(Structure):
    """struct bpf_link_create_opts of libbpf 1.1 (sz, flags, then a union we leave zero)."""
    _fields_ = [("sz", c_size_t), ("flags", c_uint32), ("_pad", c_uint32),
                ("_union", c_uint64 * 8)]


PRINT_FN = CFUNCTYPE(c_int, c_int, c_char_p, c_void_p)

_lib = None
_libc = None
_lib_lock = threading.Lock()
_messages = threading.local()
_print_cb = None


def _libbpf():
    """Load libbpf once and declare the signatures we use."""
    global _lib, _libc, _print_cb
    with _lib_lock:
        if _lib is not None:
            return _lib
        path = ctypes.util.find_library("bpf") or "libbpf.so.1"
        try:
            lib = ctypes.CDLL(path, use_errno=True)
        except OSError as e:
            raise OSError(errno_mod.ENOENT, f"libbpf not found ({path}): install libbpf-dev ({e})")
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.vsnprintf.argtypes = [c_char_p, c_size_t, c_char_p, c_void_p]
        sigs = {
            "bpf_object__open_file": (c_void_p, [c_char_p, c_void_p]),
            "bpf_object__load": (c_int, [c_void_p]),
            "bpf_object__close": (None, [c_void_p]),
            "bpf_object__name": (c_char_p, [c_void_p]),
            "bpf_object__next_program": (c_void_p, [c_void_p, c_void_p]),
            "bpf_object__next_map": (c_void_p, [c_void_p, c_void_p]),
            "bpf_object__find_program_by_name": (c_void_p, [c_void_p, c_char_p]),
            "bpf_object__find_map_by_name": (c_void_p, [c_void_p, c_char_p]),
            "bpf_program__name": (c_char_p, [c_void_p]),
            "bpf_program__section_name": (c_char_p, [c_void_p]),
            "bpf_program__type": (c_int, [c_void_p]),
            "bpf_program__set_type": (c_int, [c_void_p, c_int]),
            "bpf_program__expected_attach_type": (c_int, [c_void_p]),
            "bpf_program__set_expected_attach_type": (c_int, [c_void_p, c_int]),
            "bpf_program__set_autoload": (c_int, [c_void_p, c_bool]),
            "bpf_program__set_log_level": (c_int, [c_void_p, c_uint32]),
            "bpf_program__set_log_buf": (c_int, [c_void_p, c_void_p, c_size_t]),
            "bpf_program__fd": (c_int, [c_void_p]),
            "bpf_program__insn_cnt": (c_size_t, [c_void_p]),
            "bpf_program__pin": (c_int, [c_void_p, c_char_p]),
            "bpf_program__unpin": (c_int, [c_void_p, c_char_p]),
            "bpf_map__name": (c_char_p, [c_void_p]),
            "bpf_map__fd": (c_int, [c_void_p]),
            "bpf_map__pin": (c_int, [c_void_p, c_char_p]),
            "bpf_map__unpin": (c_int, [c_void_p, c_char_p]),
            "bpf_map__set_pin_path": (c_int, [c_void_p, c_char_p]),
            "bpf_map__reuse_fd": (c_int, [c_void_p, c_int]),
            "bpf_map__key_size": (c_uint32, [c_void_p]),
            "bpf_map__value_size": (c_uint32, [c_void_p]),
            "bpf_map__set_max_entries": (c_int, [c_void_p, c_uint32]),
            "bpf_map_update_elem": (c_int, [c_int, c_void_p, c_void_p, c_uint64]),
            "bpf_map_lookup_elem": (c_int, [c_int, c_void_p, c_void_p]),
            "bpf_map_delete_elem": (c_int, [c_int, c_void_p]),
            "bpf_map_get_next_key": (c_int, [c_int, c_void_p, c_void_p]),
            "bpf_prog_attach": (c_int, [c_int, c_int, c_int, c_uint]),
            "bpf_prog_detach2": (c_int, [c_int, c_int, c_int]),
            "bpf_obj_get": (c_int, [c_char_p]),
            "bpf_obj_pin": (c_int, [c_int, c_char_p]),
            "bpf_obj_get_info_by_fd": (c_int, [c_int, c_void_p, POINTER(c_uint32)]),
            "bpf_link_create": (c_int, [c_int, c_int, c_int, c_void_p]),
            "bpf_prog_test_run_opts": (c_int, [c_int, c_void_p]),
            "libbpf_set_print": (c_void_p, [PRINT_FN]),
            "libbpf_num_possible_cpus": (c_int, []),
        }
        for name, (res, args) in sigs.items():
            fn = getattr(lib, name)
            fn.restype = res
            fn.argtypes = args

        def _print(level: int, fmt: bytes, va: int) -> int:
            buf = create_string_buffer(4096)
            libc.vsnprintf(buf, 4096, fmt, va)
            sink = getattr(_messages, "sink", None)
            if sink is not None:
                sink.append(buf.value.decode("utf-8", "replace"))
            return 0

        _print_cb = PRINT_FN(_print)  # keep a reference: libbpf holds the pointer
        lib.libbpf_set_print(_print_cb)
        _lib, _libc = lib, libc
        return lib


class capture_messages:
    """Context manager collecting libbpf's own messages (warnings, debug) of this thread."""

    def __enter__(self) -> list[str]:
        _libbpf()
        self.prev = getattr(_messages, "sink", None)
        _messages.sink = []
        return _messages.sink

    def __exit__(self, *exc) -> None:
        _messages.sink = self.prev


def _err(what: str) -> OSError:
    e = ctypes.get_errno()
    return OSError(e, f"{what}: {os.strerror(e)}")


def _check(ret: int, what: str) -> int:
    if ret < 0:
        code = -ret if ret < -1 else (ctypes.get_errno() or 1)
        raise OSError(code, f"{what}: {os.strerror(code)}")
    return ret


class Program:
    """A program of an open object (owned by the object: no separate close)."""

    def __init__(self, obj: "BpfObject", ptr: int):
        self._obj, self._p = obj, ptr

    @property
    def name(self) -> str:
        return _libbpf().bpf_program__name(self._p).decode()

    @property
    def section(self) -> str:
        return _libbpf().bpf_program__section_name(self._p).decode()

    @property
    def prog_type(self) -> int:
        return _libbpf().bpf_program__type(self._p)

    @property
    def fd(self) -> int:
        return _libbpf().bpf_program__fd(self._p)

    @property
    def insn_cnt(self) -> int:
        return _libbpf().bpf_program__insn_cnt(self._p)

    def set_type(self, prog_type: str, attach_type: str = "") -> None:
        _check(_libbpf().bpf_program__set_type(self._p, PROG_TYPES[prog_type]), f"{self.name}: set type")
        if attach_type:
            _check(_libbpf().bpf_program__set_expected_attach_type(
                self._p, ATTACH_TYPES[attach_type]), f"{self.name}: set attach type")

    def set_autoload(self, on: bool) -> None:
        _check(_libbpf().bpf_program__set_autoload(self._p, on), f"{self.name}: set autoload")

    def set_log(self, level: int, buf) -> None:
        lib = _libbpf()
        _check(lib.bpf_program__set_log_level(self._p, level), f"{self.name}: set log level")
        _check(lib.bpf_program__set_log_buf(self._p, ctypes.addressof(buf) if buf is not None else None,
                                            len(buf) if buf is not None else 0),
               f"{self.name}: set log buffer")

    def pin(self, path: str) -> None:
        _check(_libbpf().bpf_program__pin(self._p, path.encode()), f"pin {self.name} at {path}")


class Map:
    """A map of an open object."""

    def __init__(self, obj: "BpfObject", ptr: int):
        self._obj, self._p = obj, ptr

    @property
    def name(self) -> str:
        return _libbpf().bpf_map__name(self._p).decode()

    @property
    def fd(self) -> int:
        return _libbpf().bpf_map__fd(self._p)

    @property
    def key_size(self) -> int:
        return _libbpf().bpf_map__key_size(self._p)

    @property
    def value_size(self) -> int:
        return _libbpf().bpf_map__value_size(self._p)

    def pin(self, path: str) -> None:
        _check(_libbpf().bpf_map__pin(self._p, path.encode()), f"pin map {self.name} at {path}")

    def set_pin_path(self, path: str) -> None:
        _check(_libbpf().bpf_map__set_pin_path(self._p, path.encode()), f"pin path of {self.name}")

    def reuse_fd(self, fd: int) -> None:
        _check(_libbpf().bpf_map__reuse_fd(self._p, fd), f"reuse fd for map {self.name}")

    def set_max_entries(self, n: int) -> None:
        _check(_libbpf().bpf_map__set_max_entries(self._p, n), f"max_entries of {self.name}")


class BpfObject:
    """An opened BPF ELF object (libbpf's bpf_object). Close it, or use it in `with`."""

    def __init__(self, ptr: int, path: str):
        self._p, self.path = ptr, path

    @classmethod
    def open(cls, path: str) -> "BpfObject":
        lib = _libbpf()
        if not os.path.exists(path):
            raise OSError(errno_mod.ENOENT, f"{path}: no such file")
        ctypes.set_errno(0)
        ptr = lib.bpf_object__open_file(path.encode(), None)
        if not ptr:
            e = ctypes.get_errno() or errno_mod.EINVAL
            raise OSError(e, f"{path}: libbpf cannot open it as a BPF object: {os.strerror(e)}")
        return cls(ptr, path)

    def programs(self) -> Iterator[Program]:
        lib, p = _libbpf(), None
        while True:
            p = lib.bpf_object__next_program(self._p, p)
            if not p:
                return
            yield Program(self, p)

    def maps(self) -> Iterator[Map]:
        lib, m = _libbpf(), None
        while True:
            m = lib.bpf_object__next_map(self._p, m)
            if not m:
                return
            yield Map(self, m)

    def program(self, name: str) -> Program:
        p = _libbpf().bpf_object__find_program_by_name(self._p, name.encode())
        if not p:
            raise KeyError(f"{self.path}: no program named {name!r}")
        return Program(self, p)

    def map(self, name: str) -> Map:
        m = _libbpf().bpf_object__find_map_by_name(self._p, name.encode())
        if not m:
            raise KeyError(f"{self.path}: no map named {name!r}")
        return Map(self, m)

    def load(self) -> int:
        """Load the object; returns 0 or a negative errno (a rejection is not an exception)."""
        ctypes.set_errno(0)
        return _libbpf().bpf_object__load(self._p)

    def close(self) -> None:
        if self._p:
            _libbpf().bpf_object__close(self._p)
            self._p = None

    def __enter__(self) -> "BpfObject":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --- fd-level operations -------------------------------------------------------------
def _buf(data: bytes | None, size: int):
    b = create_string_buffer(size)
    if data is not None:
        ctypes.memmove(b, data, min(len(data), size))
    return b


def map_update(fd: int, key: bytes, value: bytes, flags: int = 0) -> None:
    _check(_libbpf().bpf_map_update_elem(fd, _buf(key, len(key)), _buf(value, len(value)), flags),
           f"map fd {fd}: update")


def map_lookup(fd: int, key: bytes, value_size: int) -> Optional[bytes]:
    v = create_string_buffer(value_size)
    ctypes.set_errno(0)
    ret = _libbpf().bpf_map_lookup_elem(fd, _buf(key, len(key)), v)
    if ret < 0:
        code = -ret if ret < -1 else ctypes.get_errno()
        if code == errno_mod.ENOENT:
            return None
        raise OSError(code, f"map fd {fd}: lookup: {os.strerror(code)}")
    return v.raw


def map_delete(fd: int, key: bytes) -> bool:
    ctypes.set_errno(0)
    ret = _libbpf().bpf_map_delete_elem(fd, _buf(key, len(key)))
    if ret < 0:
        code = -ret if ret < -1 else ctypes.get_errno()
        if code == errno_mod.ENOENT:
            return False
        raise OSError(code, f"map fd {fd}: delete: {os.strerror(code)}")
    return True


def map_keys(fd: int, key_size: int) -> Iterator[bytes]:
    lib = _libbpf()
    cur = None
    nxt = create_string_buffer(key_size)
    while True:
        ctypes.set_errno(0)
        ret = lib.bpf_map_get_next_key(fd, cur, nxt)
        if ret < 0:
            code = -ret if ret < -1 else ctypes.get_errno()
            if code == errno_mod.ENOENT:
                return
            raise OSError(code, f"map fd {fd}: next key: {os.strerror(code)}")
        yield nxt.raw
        cur = _buf(nxt.raw, key_size)


def map_info(fd: int) -> MapInfo:
    info = MapInfo()
    n = c_uint32(ctypes.sizeof(info))
    _check(_libbpf().bpf_obj_get_info_by_fd(fd, byref(info), byref(n)), f"fd {fd}: map info")
    return info


def prog_info(fd: int) -> ProgInfo:
    info = ProgInfo()
    n = c_uint32(ctypes.sizeof(info))
    _check(_libbpf().bpf_obj_get_info_by_fd(fd, byref(info), byref(n)), f"fd {fd}: prog info")
    return info


def prog_attach(prog_fd: int, target_fd: int, attach_type: str, flags: int = 0) -> None:
    _check(_libbpf().bpf_prog_attach(prog_fd, target_fd, ATTACH_TYPES[attach_type], flags),
           f"attach prog fd {prog_fd} ({attach_type})")


def prog_detach2(prog_fd: int, target_fd: int, attach_type: str) -> None:
    _check(_libbpf().bpf_prog_detach2(prog_fd, target_fd, ATTACH_TYPES[attach_type]),
           f"detach prog fd {prog_fd} ({attach_type})")


def link_create(prog_fd: int, target_fd: int, attach_type: str, flags: int = 0) -> int:
    """Create a BPF link (kernel-owned attachment); returns the link fd."""
    opts = LinkCreateOpts(sz=ctypes.sizeof(LinkCreateOpts), flags=flags)
    return _check(_libbpf().bpf_link_create(prog_fd, target_fd, ATTACH_TYPES[attach_type], byref(opts)),
                  f"link prog fd {prog_fd} ({attach_type})")


def obj_get(path: str) -> int:
    """Open a pinned object (program, map or link); returns a new fd."""
    return _check(_libbpf().bpf_obj_get(path.encode()), f"open pin {path}")


def obj_pin(fd: int, path: str) -> None:
    _check(_libbpf().bpf_obj_pin(fd, path.encode()), f"pin fd {fd} at {path}")


def test_run(prog_fd: int, opts: TestRunOpts) -> None:
    _check(_libbpf().bpf_prog_test_run_opts(prog_fd, byref(opts)), f"test run of prog fd {prog_fd}")


def num_possible_cpus() -> int:
    return _check(_libbpf().libbpf_num_possible_cpus(), "possible cpus")
