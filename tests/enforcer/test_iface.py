"""Interface workloads end to end: `fqdnkit enforce --iface fqkw0` run inside the
workload netns (the veth of tests/enforcer/lab.py), unbound as the resolver, tcx links
really attached. The workload's commands run in its netns but outside any workload
cgroup (lab.run(..., cgroup=False)), so only the tc programs see them. The agent fixture
`iface_agent` (conftest.py) removes its pins and links also on failure."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from lab import FORGER4, RESOLVER4, WL_IFACE
from toolkit.enforcer import bpfsys
from toolkit import libbpf

pytestmark = pytest.mark.root


def tcx_links(pin_dir: str) -> dict[str, tuple[int, int]]:
    """pinned tcx link name -> (link id, ifindex)"""
    out = {}
    d = os.path.join(pin_dir, "links")
    for name in sorted(os.listdir(d)):
        if name.startswith("tcx_"):
            fd = libbpf.obj_get(os.path.join(d, name))
            try:
                out[name] = bpfsys.tcx_link_info(fd)
            finally:
                os.close(fd)
    return out


def kernel_link_ids() -> set[int]:
    r = subprocess.run(["bpftool", "-j", "link", "show"], capture_output=True, text=True,
                       check=True)
    return {x["id"] for x in json.loads(r.stdout or "[]")}


def test_iface_learns_udp_and_drops_the_rest(lab, iface_agent):
    first = iface_agent.start()
    assert "loaded" in first and "tcx_egress" in first and "tcx_ingress" in first, first
    # printed right after the first line (a blocking read: it may sit in the pipe buffer)
    note = iface_agent.proc.stdout.readline()
    assert note.startswith("note:") and "UDP DNS only" in note, note
    assert not lab.connect("10.77.1.1", cgroup=False), "allowed before any DNS answer"
    assert lab.dig("long.test", cgroup=False) == ["10.77.1.1"]   # TTL 300: no expiry races
    assert lab.connect("10.77.1.1", cgroup=False)
    # a denied name resolves but teaches nothing
    assert lab.dig("denied.test", cgroup=False) == ["10.77.1.2"]
    assert not lab.connect("10.77.1.2", cgroup=False)
    # IPv6 resolver (neighbour discovery passes the egress program) and a CNAME chain
    assert lab.dig("alias.test", server="fd77::1", cgroup=False)[-1] == "10.77.1.3"
    assert lab.connect("10.77.1.3", cgroup=False)
    st = iface_agent.status()
    (wl,) = st["workloads"]
    assert wl["kind"] == "iface" and wl["iface"] == WL_IFACE and wl["attached"], wl
    learned = {x["ip"]: x for x in st["ips"]}
    assert learned["10.77.1.1"]["name"] == "long.test." and \
        learned["10.77.1.1"]["workload"].startswith("iface ")
    assert "10.77.1.2" not in learned
    c = st["counters"]
    assert c["FQK_LEARNED"] >= 2 and c["FQK_NAME_NOT_ALLOWED"] >= 1
    assert c["FQK_DROP_NOT_LEARNED"] >= 2 and c["FQK_ALLOW_LEARNED"] >= 2
    text = iface_agent.cli("--status")
    assert f"workload iface {WL_IFACE}" in text.stdout, text.stdout


def test_iface_forged_responses_learn_nothing(lab, iface_agent):
    """tc ingress sees every datagram, sockets or not: unsolicited answers (from a
    non-resolver address, and from the resolver's address) teach nothing."""
    iface_agent.start()
    forger = f"""
import socket, dns.message, dns.rrset
q = dns.message.make_query("long.test", "A"); q.id = 0x4321
r = dns.message.make_response(q)
r.answer.append(dns.rrset.from_text("long.test.", 300, "IN", "A", "10.77.1.2"))
for src in (("{FORGER4}", 53), ("{RESOLVER4}", 53)):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(src)
    for _ in range(3):
        s.sendto(r.to_wire(), ("10.77.0.2", 40000))
"""
    r = lab.res_run([sys.executable, "-c", forger])
    assert r.returncode == 0, r.stderr
    assert not lab.connect("10.77.1.2", cgroup=False)
    assert iface_agent.status()["counters"]["FQK_SPOOF_NO_QUERY"] >= 6


def test_iface_audit_mode_counts_without_dropping(lab, iface_agent):
    iface_agent.policy.write_text(iface_agent.policy.read_text() + "audit: true\n")
    iface_agent.start()
    assert lab.connect("10.77.1.2", cgroup=False)
    assert iface_agent.status()["counters"]["FQK_DROP_NOT_LEARNED"] >= 1


def test_iface_sigkill_keeps_enforcing_and_restart_adopts(lab, iface_agent):
    assert "loaded" in iface_agent.start()
    links = tcx_links(iface_agent.pin_dir)
    assert len(links) == 2 and all(ifx > 0 for _, ifx in links.values()), links
    assert lab.dig("long.test", cgroup=False) == ["10.77.1.1"]
    iface_agent.kill()
    # no agent: enforcement and learning go on
    assert lab.connect("10.77.1.1", cgroup=False)
    assert lab.dig("alias.test", cgroup=False)[-1] == "10.77.1.3"
    assert lab.connect("10.77.1.3", cgroup=False)
    assert lab.dig("denied.test", cgroup=False) == ["10.77.1.2"]
    assert not lab.connect("10.77.1.2", cgroup=False)
    # restart: the same tcx links (same ids) adopted, nothing detached or re-attached
    first = iface_agent.start()
    assert "adopted" in first and "nothing new" in first, first
    assert tcx_links(iface_agent.pin_dir) == links
    assert lab.connect("10.77.1.1", cgroup=False) and lab.connect("10.77.1.3", cgroup=False)
    assert not lab.connect("10.77.1.2", cgroup=False)


def test_iface_detach_removes_everything(lab, iface_agent):
    iface_agent.start()
    ids = {i for i, _ in tcx_links(iface_agent.pin_dir).values()}
    assert ids <= kernel_link_ids()
    iface_agent.kill()
    assert not lab.connect("10.77.1.2", cgroup=False)
    r = iface_agent.cli("--detach")
    assert r.returncode == 0 and "removed" in r.stdout
    assert not os.path.exists(iface_agent.pin_dir)
    assert not ids & kernel_link_ids(), "tcx links must be released with their pins"
    assert lab.connect("10.77.1.2", cgroup=False)


def test_cgroup_and_iface_are_two_workloads(lab, iface_agent):
    """--cgroup and --iface together: the cgroup's processes (which also send through the
    interface) belong to the cgroup workload only; everything else in the netns to the
    interface workload. Learning on one does not open the other."""
    iface_agent.target = ["--cgroup", lab.cgroup, "--iface", WL_IFACE]
    first = iface_agent.start()
    assert "slots" in first and "sockops" in first and "tcx_egress" in first, first
    # cgroup, UDP: learned by cgroup ingress (tc ingress leaves it alone)
    assert lab.dig("alias.test")[-1] == "10.77.1.3"
    assert lab.connect("10.77.1.3")
    assert not lab.connect("10.77.1.3", cgroup=False)
    # cgroup, TCP DNS (sockops + sk_skb)
    assert lab.dig("long.test", tcp=True) == ["10.77.1.1"]
    assert lab.connect("10.77.1.1")
    assert not lab.connect("10.77.1.1", cgroup=False)
    # the rest of the netns, UDP: the interface workload (the same name, learned apart)
    assert lab.dig("long.test", cgroup=False) == ["10.77.1.1"]
    assert lab.connect("10.77.1.1", cgroup=False)
    assert not lab.connect("10.77.1.2") and not lab.connect("10.77.1.2", cgroup=False)
    st = iface_agent.status()
    assert sorted(w["kind"] for w in st["workloads"]) == ["cgroup", "iface"]
    # every response was handled once: no "answers no query" from double processing
    assert "FQK_SPOOF_NO_QUERY" not in st["counters"], st["counters"]
    by = {(x["ip"], x["workload"].split()[0]) for x in st["ips"] if not x["expired"]}
    assert {("10.77.1.3", "cgroup"), ("10.77.1.1", "cgroup"), ("10.77.1.1", "iface")} <= by, by


def test_iface_config_struct_matches_btf(enforcer_build):
    """maps.Iface mirrors struct fqk_iface, which only the tc objects carry."""
    import ctypes
    import re
    import shutil
    from toolkit.enforcer import maps
    if shutil.which("bpftool") is None:
        pytest.skip("bpftool not installed")
    out = subprocess.run(["bpftool", "btf", "dump", "file",
                          str(enforcer_build[0].parent / "tc_egress.bpf.o")],
                         capture_output=True, text=True, check=True).stdout
    sizes = dict(re.findall(r"STRUCT '(\w+)' size=(\d+)", out))
    assert int(sizes["fqk_iface"]) == ctypes.sizeof(maps.Iface)
