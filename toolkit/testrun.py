"""Run a loaded program on given bytes through BPF_PROG_TEST_RUN.

Contract: `run_program(prog_fd, data, repeat)` returns the program's return value, the
packet bytes after the run (programs may rewrite them) and the kernel's mean duration per
repetition in ns. `ctx` optionally passes a context struct (for SCHED_CLS and CGROUP_SKB a
`struct __sk_buff`, e.g. to set `mark` or `ifindex`). Per FACTS: SCHED_CLS sees the data
from the Ethernet header, CGROUP_SKB from the IP header.
"""
from __future__ import annotations

import ctypes

from . import libbpf
from .model import TestRunResult

ETH_OVERHEAD = 256  # room for programs that grow the packet (bpf_skb_adjust_room)


def run_program(prog_fd: int, data: bytes, repeat: int = 1, ctx: bytes | None = None,
                data_out_size: int | None = None) -> TestRunResult:
    """Run the program `repeat` times on `data`; raises OSError if the kernel refuses the run."""
    if repeat < 1:
        raise ValueError("repeat must be >= 1")
    din = ctypes.create_string_buffer(bytes(data), len(data))
    out_size = data_out_size if data_out_size is not None else len(data) + ETH_OVERHEAD
    dout = ctypes.create_string_buffer(out_size)
    opts = libbpf.TestRunOpts(sz=ctypes.sizeof(libbpf.TestRunOpts))
    opts.data_in = ctypes.addressof(din)
    opts.data_size_in = len(data)
    opts.data_out = ctypes.addressof(dout)
    opts.data_size_out = out_size
    ctx_buf = None
    if ctx is not None:
        ctx_buf = ctypes.create_string_buffer(bytes(ctx), len(ctx))
        opts.ctx_in = ctypes.addressof(ctx_buf)
        opts.ctx_size_in = len(ctx)
    opts.repeat = repeat
    libbpf.test_run(prog_fd, opts)
    return TestRunResult(retval=opts.retval, data_out=dout.raw[:opts.data_size_out],
                         duration_ns=opts.duration, repeat=repeat)
