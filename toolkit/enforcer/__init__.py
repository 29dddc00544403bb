"""The in-kernel FQDN egress enforcer's user-space side (see docs/ENFORCER.md).

Contract: `status(pin_dir)` returns the running enforcer's state as plain data
({"workloads", "ips": [{"ip", "name", "ttl_left", ...}], "counters": {reason: n}}) or
raises OSError when nothing is pinned; used by `fqdnkit enforce --status` and the TUI.
Modules: policy (YAML -> rules), maps (struct mirrors), agent (load/pin/attach/apply),
harness (dns-parse through BPF_PROG_TEST_RUN), bpfsys (extra kernel calls).
"""
from __future__ import annotations

PIN_DIR = "/sys/fs/bpf/fqdnkit"


def status(pin_dir: str = PIN_DIR) -> dict:
    from .agent import Enforcer
    enf = Enforcer(pin_dir)
    if not enf.is_loaded():
        raise OSError(2, f"{pin_dir}: no enforcer pinned")
    enf._open_pins()
    try:
        return enf.status()
    finally:
        enf.close()
