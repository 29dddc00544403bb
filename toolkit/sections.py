"""Program and attach types: UAPI enum values and the section-name table.

Contract: pure data shared by `elf` (reading objects) and `libbpf` (loading them).
Debian's libbpf 1.1 does not know some section names (sk_skb/verdict, tcx/*), so the
loader sets the type from this table itself rather than trusting libbpf's guess.
"""
from __future__ import annotations

PROG_TYPES = {
    "unspec": 0, "socket_filter": 1, "kprobe": 2, "sched_cls": 3, "sched_act": 4,
    "tracepoint": 5, "xdp": 6, "perf_event": 7, "cgroup_skb": 8, "cgroup_sock": 9,
    "lwt_in": 10, "lwt_out": 11, "lwt_xmit": 12, "sock_ops": 13, "sk_skb": 14,
    "cgroup_device": 15, "sk_msg": 16, "raw_tracepoint": 17, "cgroup_sock_addr": 18,
    "flow_dissector": 22, "tracing": 26, "syscall": 31,
}
PROG_TYPE_NAMES = {v: k for k, v in PROG_TYPES.items()}

ATTACH_TYPES = {
    "cgroup_inet_ingress": 0, "cgroup_inet_egress": 1, "cgroup_inet_sock_create": 2,
    "cgroup_sock_ops": 3, "sk_skb_stream_parser": 4, "sk_skb_stream_verdict": 5,
    "sk_msg_verdict": 7, "xdp": 37, "sk_skb_verdict": 38, "tcx_ingress": 46, "tcx_egress": 47,
}

# Section prefix -> (program type, expected attach type). Longest prefix wins.
SECTION_TYPES: dict[str, tuple[str, str]] = {
    "socket": ("socket_filter", ""),
    "tc": ("sched_cls", ""),
    "tc/ingress": ("sched_cls", ""),
    "tc/egress": ("sched_cls", ""),
    "tcx/ingress": ("sched_cls", "tcx_ingress"),
    "tcx/egress": ("sched_cls", "tcx_egress"),
    "classifier": ("sched_cls", ""),
    "action": ("sched_act", ""),
    "xdp": ("xdp", ""),
    "cgroup_skb/ingress": ("cgroup_skb", "cgroup_inet_ingress"),
    "cgroup_skb/egress": ("cgroup_skb", "cgroup_inet_egress"),
    "cgroup/skb": ("cgroup_skb", ""),
    "sockops": ("sock_ops", "cgroup_sock_ops"),
    "sk_skb/stream_parser": ("sk_skb", "sk_skb_stream_parser"),
    "sk_skb/stream_verdict": ("sk_skb", "sk_skb_stream_verdict"),
    "sk_skb/verdict": ("sk_skb", "sk_skb_verdict"),
    "sk_skb": ("sk_skb", ""),
    "sk_msg": ("sk_msg", "sk_msg_verdict"),
    "syscall": ("syscall", ""),
}


def section_type(section: str) -> tuple[str, str]:
    """Program type and expected attach type for an ELF section name ("", "") if unknown."""
    best = ""
    for prefix in SECTION_TYPES:
        if (section == prefix or section.startswith(prefix + "/")) and len(prefix) > len(best):
            best = prefix
    return SECTION_TYPES[best] if best else ("", "")


