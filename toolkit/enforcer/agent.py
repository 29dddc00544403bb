"""The enforcer agent: load, pin, attach, adopt, apply policy, report status, detach.

Contract (pins under PIN_DIR = /sys/fs/bpf/fqdnkit):
  maps/<name>             every shared map (maps.SHARED_MAPS present in the objects)
  progs/<name>            fqk_egress, fqk_ingress, fqk_sockops, fqk_stream_verdict,
                          fqk_msg_verdict;
  progs/<name>-<key>      fqk_tc_egress, fqk_tc_ingress: one instance per interface workload
                          (key = workload id in hex), configured through its own
                          fqk_tc_cfg map before it is pinned (tc_iface.bpf.h)
  links/<kind>-<cgid>     cgroup links (egress, ingress, sockops) of each cgroup workload
  links/tcx_<dir>-<key>   tcx links (egress, ingress) of each interface workload
Workloads (`Workload`): a cgroup (id = cgroup id) or an interface (id = maps.iface_key of
the netns cookie and ifindex, computed in the caller's network namespace: run the agent
in the interface's netns). The sk_skb verdict (no stream parser) and the sk_msg verdict are
attached to the pinned sockhash fqk_dns_socks (the attachments live as long as the map). Everything the kernel needs is
pinned: when the agent dies, enforcement, DNS learning and expiry go on unchanged (only
events are not read and policy files not re-read). `ensure_loaded()` adopts existing
pins without detaching or reloading anything (no gap); `attach(cgroup)` and
`attach_iface(workload)` create missing links only (a pinned tcx link whose device is
gone is replaced). The tc objects are loaded per interface workload (`_load_tc`), so a
kernel without tcx still runs cgroup workloads. `apply_policy(workload, policy)` is
atomic for traffic: the new policy is written into an unused slot, then
fqk_workloads[id] is switched with one map update; names no longer allowed lose their
learned IPs right after. Policy descriptions for --status are kept in STATE_DIR
(/run/fqdnkit). `detach_all()` removes every link, pin and state file.
"""
from __future__ import annotations

import ctypes
import json
import os
from dataclasses import dataclass
from pathlib import Path

from .. import libbpf
from ..build import BUILD_DIR
from ..model import FqdnkitError
from . import bpfsys, maps
from .policy import Policy, rule_matches

PIN_DIR = "/sys/fs/bpf/fqdnkit"
STATE_DIR = "/run/fqdnkit"
OBJ_DIR = BUILD_DIR / "enforcer"
# object, {program: (prog_type, expected attach type)} in load order (egress creates maps)
OBJECTS = [
    ("cgroup_egress.bpf.o", {"fqk_egress": ("cgroup_skb", "cgroup_inet_egress")}),
    ("cgroup_ingress.bpf.o", {"fqk_ingress": ("cgroup_skb", "cgroup_inet_ingress")}),
    ("sockops.bpf.o", {"fqk_sockops": ("sock_ops", "cgroup_sock_ops")}),
    # libbpf 1.1 does not know every sk_skb section name: set the types ourselves
    ("sk_skb.bpf.o", {"fqk_stream_verdict": ("sk_skb", "sk_skb_stream_verdict")}),
    ("sk_msg.bpf.o", {"fqk_msg_verdict": ("sk_msg", "sk_msg_verdict")}),
]
CGROUP_LINKS = [("egress", "fqk_egress", "cgroup_inet_egress"),
                ("ingress", "fqk_ingress", "cgroup_inet_ingress"),
                ("sockops", "fqk_sockops", "cgroup_sock_ops")]
# verdict only: with a stream parser attached, kernel 6.18 left received DNS responses
# unread until the next segment arrived (sk_skb.bpf.c); the sk_msg verdict records the
# TCP queries from the outgoing stream (sk_msg.bpf.c)
SOCKHASH_PROGS = [("fqk_stream_verdict", "sk_skb_stream_verdict"),
                  ("fqk_msg_verdict", "sk_msg_verdict")]
# interface workloads: one instance of each per interface, into the pinned maps
TC_OBJECTS = [("tc_egress.bpf.o", {"fqk_tc_egress": ("sched_cls", "")}),
              ("tc_ingress.bpf.o", {"fqk_tc_ingress": ("sched_cls", "")})]
TCX_LINKS = [("tcx_egress", "fqk_tc_egress", "tcx_egress"),
             ("tcx_ingress", "fqk_tc_ingress", "tcx_ingress")]
TCX_HINT = "--iface needs tcx links (kernel 6.6+); use --cgroup on older kernels"


@dataclass(frozen=True)
class Workload:
    """What a policy applies to: a cgroup (`wid` = cgroup id) or an interface
    (`wid` = maps.iface_key(netns cookie, ifindex))."""
    wid: int
    kind: str                  # "cgroup" or "iface"
    name: str                  # cgroup path or interface name
    ifindex: int = 0
    netns_cookie: int = 0
    if_flags: int = 0          # maps.FQK_IF_*

    @classmethod
    def cgroup(cls, path: str) -> "Workload":
        return cls(bpfsys.cgroup_id(path), "cgroup", path)

    @classmethod
    def iface(cls, name: str) -> "Workload":
        """The interface `name` of the caller's network namespace."""
        ifindex, hw = bpfsys.iface_info(name)
        if hw == bpfsys.ARPHRD_ETHER:
            flags = maps.FQK_IF_L2
        elif hw == bpfsys.ARPHRD_NONE:
            flags = 0
        else:
            raise FqdnkitError(f"--iface {name}: link type {hw} not supported (Ethernet-like "
                               "devices, or devices without link-layer header such as tun)")
        cookie = bpfsys.netns_cookie()
        return cls(maps.iface_key(cookie, ifindex), "iface", name, ifindex, cookie, flags)

    def describe(self) -> dict:
        if self.kind == "cgroup":
            return {"kind": "cgroup", "cgroup": self.name}
        return {"kind": "iface", "iface": self.name, "ifindex": self.ifindex,
                "netns_cookie": self.netns_cookie}


def _as_workload(target) -> Workload:
    return target if isinstance(target, Workload) else Workload.cgroup(target)


def _pin(kind: str, name: str, pin_dir: str = PIN_DIR) -> str:
    return os.path.join(pin_dir, kind, name)


class Enforcer:
    """Handle on the pinned enforcer state (fds opened from pins)."""

    def __init__(self, pin_dir: str = PIN_DIR, state_dir: str | None = None):
        self.pin_dir = pin_dir
        # policy descriptions of this pin dir (tests use their own pin dirs)
        self.state_dir = state_dir or os.path.join(STATE_DIR, os.path.basename(pin_dir.rstrip("/")))
        self.map_fds: dict[str, int] = {}
        self.prog_fds: dict[str, int] = {}

    # ------------------------------------------------------------------ load / adopt
    def is_loaded(self) -> bool:
        return os.path.exists(_pin("progs", "fqk_egress", self.pin_dir)) and \
            os.path.exists(_pin("maps", "fqk_workloads", self.pin_dir))

    def lock(self):
        """An exclusive lock on this pin dir (held by the caller while it loads, attaches
        and applies policy), so that two agents started at once do not race."""
        import fcntl
        os.makedirs(STATE_DIR, exist_ok=True)
        fd = os.open(os.path.join(STATE_DIR, os.path.basename(self.pin_dir.rstrip("/")) + ".lock"),
                     os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        return fd

    def unlink_lock(self) -> None:
        path = os.path.join(STATE_DIR, os.path.basename(self.pin_dir.rstrip("/")) + ".lock")
        if os.path.exists(path):
            os.unlink(path)

    def ensure_loaded(self, obj_dir: Path = OBJ_DIR) -> str:
        """Adopt the pinned programs and maps, or load and pin them. Returns "adopted"/"loaded".
        A partial pin dir (an agent killed while loading) is removed and loaded afresh."""
        if self.is_loaded():
            self._open_pins()
            return "adopted"
        if os.path.isdir(self.pin_dir):
            self.detach_all()
        self._load(obj_dir)
        self._open_pins()
        return "loaded"

    def _open_pins(self) -> None:
        for kind, table in (("maps", self.map_fds), ("progs", self.prog_fds)):
            d = os.path.join(self.pin_dir, kind)
            for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
                if name not in table:
                    table[name] = libbpf.obj_get(os.path.join(d, name))

    def _load_object(self, path: str, progs: dict, shared: dict[str, int],
                     hint: str = "", pin_suffix: str = "", configure=None) -> "libbpf.BpfObject":
        """Open, type, load (reusing the maps in `shared`) and pin one object; maps it
        creates that are shared are pinned and added to `shared`; `configure(obj)` runs
        after the load, before the programs are pinned as progs/<name><pin_suffix>."""
        if not os.path.exists(path):
            raise FqdnkitError(f"{path}: not built; run `make build`")
        obj = libbpf.BpfObject.open(path)
        try:
            for name, (ptype, atype) in progs.items():
                obj.program(name).set_type(ptype, atype)
            for m in obj.maps():
                if m.name in shared:
                    m.reuse_fd(shared[m.name])
            with libbpf.capture_messages() as msgs:
                ret = obj.load()
            if ret < 0:
                tail = "\n".join(msgs[-30:])
                raise FqdnkitError(f"{path}: load failed ({os.strerror(-ret)}){hint}:\n{tail}")
            for m in obj.maps():
                if m.name in maps.SHARED_MAPS and m.name not in shared:
                    shared[m.name] = os.dup(m.fd)
                    libbpf.obj_pin(m.fd, _pin("maps", m.name, self.pin_dir))
            if configure:
                configure(obj)
            for name in progs:
                obj.program(name).pin(_pin("progs", name + pin_suffix, self.pin_dir))
        except BaseException:
            obj.close()
            raise
        return obj

    def _load(self, obj_dir: Path) -> None:
        for sub in ("maps", "progs", "links"):
            os.makedirs(os.path.join(self.pin_dir, sub), exist_ok=True)
        shared: dict[str, int] = {}
        objs = []
        try:
            for fname, progs in OBJECTS:
                objs.append(self._load_object(str(obj_dir / fname), progs, shared))
            # sk_skb programs on the sockhash: the attachment lives with the (pinned) map
            sock_fd = shared["fqk_dns_socks"]
            by_prog = {p: obj for obj, (_, progs) in zip(objs, OBJECTS) for p in progs}
            for name, atype in SOCKHASH_PROGS:
                libbpf.prog_attach(by_prog[name].program(name).fd, sock_fd, atype, 0)
        except BaseException:
            for obj in objs:
                obj.close()
            self.detach_all()
            raise
        finally:
            for fd in shared.values():
                os.close(fd)
        for obj in objs:
            obj.close()

    def _load_tc(self, wl: "Workload", obj_dir: Path = OBJ_DIR) -> bool:
        """Load, configure (fqk_tc_cfg) and pin the tc programs of interface workload `wl`
        unless pinned already. Returns True when something was loaded."""
        suffix = f"-{wl.wid:x}"
        cfg = maps.to_bytes(maps.Iface(wid=wl.wid, flags=wl.if_flags, ifindex=wl.ifindex))

        def configure(obj) -> None:
            libbpf.map_update(obj.map("fqk_tc_cfg").fd, (0).to_bytes(4, "little"), cfg)

        loaded = False
        for fname, progs in TC_OBJECTS:
            pins = [_pin("progs", p + suffix, self.pin_dir) for p in progs]
            if all(os.path.exists(p) for p in pins):
                continue
            for p in pins:  # a partial earlier load (agent killed): load afresh
                if os.path.exists(p):
                    os.unlink(p)
            shared = dict(self.map_fds)
            try:
                self._load_object(str(obj_dir / fname), progs, shared, hint=f" ({TCX_HINT})",
                                  pin_suffix=suffix, configure=configure).close()
            finally:
                for name, fd in shared.items():  # dups of maps pinned just now
                    if self.map_fds.get(name) != fd:
                        os.close(fd)
            loaded = True
        self._open_pins()
        return loaded

    # ------------------------------------------------------------------ attach
    def attach_iface(self, wl: Workload) -> list[str]:
        """Load the tc programs of interface workload `wl` and create its tcx links unless
        pinned (a pinned link whose device is gone is replaced). Returns created kinds.
        Call in the interface's network namespace, after apply_policy."""
        self._load_tc(wl)
        made = []
        for kind, prog, atype in TCX_LINKS:
            pin = _pin("links", f"{kind}-{wl.wid:x}", self.pin_dir)
            if os.path.exists(pin):
                fd = libbpf.obj_get(pin)
                try:
                    alive = bpfsys.tcx_link_info(fd)[1] == wl.ifindex
                finally:
                    os.close(fd)
                if alive:
                    continue
                os.unlink(pin)  # its device was removed (and maybe the ifindex reused)
            try:
                link = libbpf.link_create(self.prog_fds[f"{prog}-{wl.wid:x}"], wl.ifindex,
                                          atype, 0)
            except OSError as e:
                raise FqdnkitError(f"--iface {wl.name}: {e} ({TCX_HINT})") from None
            try:
                libbpf.obj_pin(link, pin)
            finally:
                os.close(link)
            made.append(kind)
        return made

    def attach(self, cgroup: str) -> list[str]:
        """Create the cgroup links of `cgroup` that are not pinned yet; returns created kinds."""
        cgid = bpfsys.cgroup_id(cgroup)
        made = []
        fd = os.open(cgroup, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for kind, prog, atype in CGROUP_LINKS:
                pin = _pin("links", f"{kind}-{cgid}", self.pin_dir)
                if os.path.exists(pin):
                    continue
                link = libbpf.link_create(self.prog_fds[prog], fd, atype, 0)
                try:
                    libbpf.obj_pin(link, pin)
                finally:
                    os.close(link)
                made.append(kind)
        finally:
            os.close(fd)
        return made

    # ------------------------------------------------------------------ policy
    def _workloads(self) -> dict[int, int]:
        fd = self.map_fds["fqk_workloads"]
        out = {}
        for k in libbpf.map_keys(fd, 8):
            v = libbpf.map_lookup(fd, k, 4)
            if v is not None:
                out[int.from_bytes(k, "little")] = int.from_bytes(v, "little")
        return out

    def apply_policy(self, target, pol: Policy) -> int:
        """Write `pol` into a free slot, then switch the workload to it (one map update).
        `target`: a Workload, or a cgroup path."""
        wl = _as_workload(target)
        cgid = wl.wid
        used = set(self._workloads().values())
        free = [s for s in range(maps.FQK_POLICY_SLOTS) if s not in used]
        if not free:
            raise FqdnkitError(f"no free policy slot ({maps.FQK_POLICY_SLOTS} in use)")
        slot = free[0]
        rules_fd = self.map_fds["fqk_rules"]
        for i in range(maps.FQK_MAX_RULES):
            r = pol.rules[i] if i < len(pol.rules) else maps.Rule()
            libbpf.map_update(rules_fd, (slot * maps.FQK_MAX_RULES + i).to_bytes(4, "little"),
                              maps.to_bytes(r))
        p = maps.Policy()
        p.nrules = len(pol.rules)
        p.nresolvers = len(pol.resolvers)
        p.min_ttl = pol.min_ttl
        p.per_name_cap = pol.per_name_cap
        p.flags = maps.FQK_F_AUDIT if pol.audit else 0
        gen = self._generation(cgid) + 1
        p.generation = gen
        for i, (addr, port) in enumerate(pol.resolvers):
            p.resolvers[i].addr[:] = list(maps.ip16(addr))
            p.resolvers[i].port = port
        libbpf.map_update(self.map_fds["fqk_policies"], slot.to_bytes(4, "little"), maps.to_bytes(p))
        self._update_resolvers(extra=pol.resolvers, exclude_cgid=cgid)
        # the switch: one update, seen atomically by the data path
        libbpf.map_update(self.map_fds["fqk_workloads"], cgid.to_bytes(8, "little"),
                          slot.to_bytes(4, "little"))
        self._revoke_unmatched(cgid, pol)
        self._update_resolvers(extra=(), exclude_cgid=None)
        os.makedirs(self.state_dir, exist_ok=True)
        state = pol.describe() | wl.describe() | {"cgid": cgid, "slot": slot, "generation": gen}
        tmp = os.path.join(self.state_dir, f".{cgid}.json.tmp")
        with open(tmp, "w") as f:
            json.dump(state, f, indent=1)
        os.replace(tmp, os.path.join(self.state_dir, f"{cgid}.json"))
        return slot

    def _generation(self, cgid: int) -> int:
        try:
            with open(os.path.join(self.state_dir, f"{cgid}.json")) as f:
                return int(json.load(f).get("generation", 0))
        except (OSError, ValueError):
            return 0

    def _read_policy(self, slot: int) -> maps.Policy:
        v = libbpf.map_lookup(self.map_fds["fqk_policies"], slot.to_bytes(4, "little"),
                              ctypes.sizeof(maps.Policy))
        return maps.from_bytes(maps.Policy, v)

    def _update_resolvers(self, extra, exclude_cgid) -> None:
        """fqk_resolvers = union of the resolvers of every workload (+ extra)."""
        want = set()
        for cg, slot in self._workloads().items():
            if cg == exclude_cgid:
                continue
            p = self._read_policy(slot)
            for i in range(min(p.nresolvers, maps.FQK_MAX_RESOLVERS)):
                want.add((bytes(p.resolvers[i].addr), p.resolvers[i].port))
        for addr, port in extra:
            want.add((maps.ip16(addr), port))
        fd = self.map_fds["fqk_resolvers"]
        size = ctypes.sizeof(maps.Resolver)
        have = list(libbpf.map_keys(fd, size))
        keys = set()
        for addr, port in want:
            r = maps.Resolver()
            r.addr[:] = list(addr)
            r.port = port
            k = maps.to_bytes(r)
            keys.add(k)
            libbpf.map_update(fd, k, (1).to_bytes(4, "little"))
        for k in have:
            if k not in keys:
                libbpf.map_delete(fd, k)

    def _revoke_unmatched(self, cgid: int, pol: Policy) -> None:
        """Forget learned IPs of names the new policy no longer allows."""
        nfd, afd = self.map_fds["fqk_names"], self.map_fds["fqk_allow"]
        for k in list(libbpf.map_keys(nfd, ctypes.sizeof(maps.NameKey))):
            key = maps.from_bytes(maps.NameKey, k)
            if key.cgid != cgid:
                continue
            v = libbpf.map_lookup(nfd, k, ctypes.sizeof(maps.NameIps))
            if v is None:
                continue
            e = maps.from_bytes(maps.NameIps, v)
            name = e.name.text()
            if any(rule_matches(r, name) for r in pol.rules):
                continue
            for i in range(min(e.n, maps.FQK_NAME_CAP_MAX)):
                ak = maps.AllowKey(cgid=cgid)
                ak.ip[:] = list(e.slot[i].ip)
                akb = maps.to_bytes(ak)
                av = libbpf.map_lookup(afd, akb, ctypes.sizeof(maps.AllowVal))
                if av is not None and maps.from_bytes(maps.AllowVal, av).name_hash == key.name_hash:
                    libbpf.map_delete(afd, akb)
            libbpf.map_delete(nfd, k)

    # ------------------------------------------------------------------ status
    def status(self) -> dict:
        now = bpfsys.boot_ns()
        wl = self._workloads()
        out = {"pin_dir": self.pin_dir, "workloads": [], "ips": [], "counters": {}}
        names: dict[tuple[int, bytes], str] = {}
        nfd = self.map_fds["fqk_names"]
        for k in libbpf.map_keys(nfd, ctypes.sizeof(maps.NameKey)):
            v = libbpf.map_lookup(nfd, k, ctypes.sizeof(maps.NameIps))
            if v is None:
                continue
            e = maps.from_bytes(maps.NameIps, v)
            key = maps.from_bytes(maps.NameKey, k)
            for i in range(min(e.n, maps.FQK_NAME_CAP_MAX)):
                if e.slot[i].expiry_ns > now:
                    names[(key.cgid, bytes(e.slot[i].ip))] = e.name.text()
        afd = self.map_fds["fqk_allow"]
        for k in libbpf.map_keys(afd, ctypes.sizeof(maps.AllowKey)):
            v = libbpf.map_lookup(afd, k, ctypes.sizeof(maps.AllowVal))
            if v is None:
                continue
            key, val = maps.from_bytes(maps.AllowKey, k), maps.from_bytes(maps.AllowVal, v)
            left = (val.expiry_ns - now) / 1e9
            out["ips"].append({"cgid": key.cgid, "workload": maps.workload_text(key.cgid),
                               "ip": maps.ip_text(bytes(key.ip)),
                               "name": names.get((key.cgid, bytes(key.ip)), ""),
                               "ttl_left": round(left, 1), "expired": left <= 0})
        out["ips"].sort(key=lambda r: (r["cgid"], r["name"], r["ip"]))
        for cgid, slot in sorted(wl.items()):
            try:
                with open(os.path.join(self.state_dir, f"{cgid}.json")) as f:
                    desc = json.load(f)
            except (OSError, ValueError):
                desc = {}
            p = self._read_policy(slot)
            desc.setdefault("kind", "iface" if maps.is_iface_key(cgid) else "cgroup")
            if desc["kind"] == "iface":
                desc["attached"] = self._tcx_attached(cgid)
            desc.update({"cgid": cgid, "workload": maps.workload_text(cgid), "slot": slot,
                         "rules": p.nrules,
                         "audit": bool(p.flags & maps.FQK_F_AUDIT), "min_ttl": p.min_ttl,
                         "per_name_cap": p.per_name_cap})
            out["workloads"].append(desc)
        out["counters"] = self.counters()
        return out

    def _tcx_attached(self, wid: int) -> bool:
        """Both tcx links of interface workload `wid` pinned and on a live device."""
        for kind, _, _ in TCX_LINKS:
            pin = _pin("links", f"{kind}-{wid:x}", self.pin_dir)
            if not os.path.exists(pin):
                return False
            fd = libbpf.obj_get(pin)
            try:
                if not bpfsys.tcx_link_info(fd)[1]:
                    return False
            finally:
                os.close(fd)
        return True

    def counters(self) -> dict[str, int]:
        from .. import reasons
        fd = self.map_fds["fqk_counters"]
        ncpu = libbpf.num_possible_cpus()
        res = {}
        for r in reasons.load_reasons():
            v = libbpf.map_lookup(fd, r.value.to_bytes(4, "little"), 8 * ncpu)
            total = sum(int.from_bytes(v[i * 8:(i + 1) * 8], "little") for i in range(ncpu)) if v else 0
            if total:
                res[r.name] = total
        return res

    # ------------------------------------------------------------------ detach
    def detach_all(self) -> list[str]:
        """Unpin every link, program and map under the pin dir and drop the state files."""
        removed = []
        for fd in list(self.map_fds.values()) + list(self.prog_fds.values()):
            try:
                os.close(fd)
            except OSError:
                pass  # already closed by a failed load path
        self.map_fds.clear()
        self.prog_fds.clear()
        for sub in ("links", "progs", "maps"):
            d = os.path.join(self.pin_dir, sub)
            if not os.path.isdir(d):
                continue
            for name in sorted(os.listdir(d)):
                os.unlink(os.path.join(d, name))
                removed.append(f"{sub}/{name}")
            os.rmdir(d)
        if os.path.isdir(self.pin_dir):
            os.rmdir(self.pin_dir)
        if os.path.isdir(self.state_dir):
            for name in os.listdir(self.state_dir):
                if name.endswith(".json"):
                    os.unlink(os.path.join(self.state_dir, name))
            if not os.listdir(self.state_dir):
                os.rmdir(self.state_dir)
        return removed

    def close(self) -> None:
        for fd in list(self.map_fds.values()) + list(self.prog_fds.values()):
            os.close(fd)
        self.map_fds.clear()
        self.prog_fds.clear()


EVENT_DRAIN_MS = 200      # the agent reads the ring at least this often (enforce.py)
_EV_TYPE_OFF = 32         # offset of fqk_event.type (after ts_ns, cgid, ip[16])


class EventSink:
    """What the agent does with fqk_events records, a batch at a time.

    The kernel wakes the agent at once for drops only (BPF_RB_FORCE_WAKEUP; other events
    are submitted without a wake-up unless the ring is filling, lib/enforcer.bpf.h), so
    the agent drains the ring every EVENT_DRAIN_MS and hands each batch to `handle`.
    Every event is counted by type (`counts`); drops, rejects and evictions are printed
    (one line each, text or JSON); learn events (one per (name, IP) pair that becomes
    live, learn.bpf.h) only with `verbose`. `summary()` is the closing line. The learned
    state itself is in the maps (--status, TUI), not in events."""

    def __init__(self, out, verbose: bool = False, fmt: str = "text"):
        self.out, self.verbose, self.fmt = out, verbose, fmt
        self.counts: dict[str, int] = {}

    def handle(self, records: list) -> int:
        """Count and print a batch of raw records; returns lines printed."""
        lines = []
        for data in records:
            t = int.from_bytes(data[_EV_TYPE_OFF:_EV_TYPE_OFF + 4], "little")
            name = maps.EVENT_TYPES.get(t, str(t))
            self.counts[name] = self.counts.get(name, 0) + 1
            if t == maps.EV_LEARN and not self.verbose:
                continue
            ev = decode_event(data)
            if self.fmt == "json":
                lines.append(json.dumps(ev))
            else:
                lines.append(f"{ev['type']:<6} {ev['reason']:<24} {ev['ip']:<20} {ev['name']}")
        if lines:
            self.out.write("\n".join(lines) + "\n")
            self.out.flush()
        return len(lines)

    def summary(self) -> str:
        parts = [f"{k} {v}" for k, v in sorted(self.counts.items())]
        hidden = "" if self.verbose or not self.counts.get("learn") else \
            " (learn events not printed: -v prints them)"
        return f"events: {', '.join(parts) or 'none'}{hidden}"


def decode_event(data: bytes) -> dict:
    from .. import reasons
    e = maps.from_bytes(maps.Event, data)
    return {"type": maps.EVENT_TYPES.get(e.type, str(e.type)), "reason": reasons.name_of(e.reason),
            "cgid": e.cgid, "workload": maps.workload_text(e.cgid), "ip": maps.ip_text(bytes(e.ip)), "port": e.port, "proto": e.proto,
            "ttl": e.ttl, "audit": bool(e.audit),
            "name": bytes(e.name).split(b"\0", 1)[0].decode("ascii", "replace")}
