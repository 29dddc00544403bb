"""The enforcer agent: load, pin, attach, adopt, apply policy, report status, detach.

Contract (pins under PIN_DIR = /sys/fs/bpf/fqdnkit):
  maps/<name>             every shared map (maps.SHARED_MAPS present in the objects)
  progs/<name>            fqk_egress, fqk_ingress, fqk_sockops, fqk_stream_parser/verdict
  links/<kind>-<cgid>     cgroup links (egress, ingress, sockops) of each workload
The sk_skb parser/verdict are attached to the pinned sockhash fqk_dns_socks (the
attachment lives as long as the map). Everything the kernel needs is pinned: when the
agent dies, enforcement, DNS learning and expiry go on unchanged (only events are not
read and policy files not re-read). `ensure_loaded()` adopts existing pins without
detaching or reloading anything (no gap); `attach(cgroup)` creates missing links only.
`apply_policy(cgroup, policy)` is atomic for traffic: the new policy is written into an
unused slot, then fqk_workloads[cgid] is switched with one map update; names no longer
allowed lose their learned IPs right after. Policy descriptions for --status are kept
in STATE_DIR (/run/fqdnkit). `detach_all()` removes every link, pin and state file.
"""
from __future__ import annotations

import ctypes
import json
import os
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
    ("sk_skb.bpf.o", {"fqk_stream_parser": ("sk_skb", "sk_skb_stream_parser"),
                      "fqk_stream_verdict": ("sk_skb", "sk_skb_stream_verdict")}),
]
CGROUP_LINKS = [("egress", "fqk_egress", "cgroup_inet_egress"),
                ("ingress", "fqk_ingress", "cgroup_inet_ingress"),
                ("sockops", "fqk_sockops", "cgroup_sock_ops")]
SOCKHASH_PROGS = [("fqk_stream_parser", "sk_skb_stream_parser"),
                  ("fqk_stream_verdict", "sk_skb_stream_verdict")]


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

    def _load(self, obj_dir: Path) -> None:
        for sub in ("maps", "progs", "links"):
            os.makedirs(os.path.join(self.pin_dir, sub), exist_ok=True)
        shared: dict[str, int] = {}
        objs = []
        try:
            for fname, progs in OBJECTS:
                path = str(obj_dir / fname)
                if not os.path.exists(path):
                    raise FqdnkitError(f"{path}: not built; run `make build`")
                obj = libbpf.BpfObject.open(path)
                objs.append(obj)
                for name, (ptype, atype) in progs.items():
                    obj.program(name).set_type(ptype, atype)
                for m in obj.maps():
                    if m.name in shared:
                        m.reuse_fd(shared[m.name])
                with libbpf.capture_messages() as msgs:
                    ret = obj.load()
                if ret < 0:
                    tail = "\n".join(msgs[-30:])
                    raise FqdnkitError(f"{path}: load failed ({os.strerror(-ret)}):\n{tail}")
                for m in obj.maps():
                    if m.name in maps.SHARED_MAPS and m.name not in shared:
                        shared[m.name] = os.dup(m.fd)
                        libbpf.obj_pin(m.fd, _pin("maps", m.name, self.pin_dir))
                for name in progs:
                    obj.program(name).pin(_pin("progs", name, self.pin_dir))
            # sk_skb programs on the sockhash: the attachment lives with the (pinned) map
            sock_fd = shared["fqk_dns_socks"]
            sk_obj = objs[-1]
            for name, atype in SOCKHASH_PROGS:
                libbpf.prog_attach(sk_obj.program(name).fd, sock_fd, atype, 0)
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

    # ------------------------------------------------------------------ attach
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

    def apply_policy(self, cgroup: str, pol: Policy) -> int:
        """Write `pol` into a free slot, then switch the workload to it (one map update)."""
        cgid = bpfsys.cgroup_id(cgroup)
        wl = self._workloads()
        used = set(wl.values())
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
        state = pol.describe() | {"cgroup": cgroup, "cgid": cgid, "slot": slot, "generation": gen}
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
            out["ips"].append({"cgid": key.cgid, "ip": maps.ip_text(bytes(key.ip)),
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
            desc.update({"cgid": cgid, "slot": slot, "rules": p.nrules,
                         "audit": bool(p.flags & maps.FQK_F_AUDIT), "min_ttl": p.min_ttl,
                         "per_name_cap": p.per_name_cap})
            out["workloads"].append(desc)
        out["counters"] = self.counters()
        return out

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


def decode_event(data: bytes) -> dict:
    from .. import reasons
    e = maps.from_bytes(maps.Event, data)
    return {"type": maps.EVENT_TYPES.get(e.type, str(e.type)), "reason": reasons.name_of(e.reason),
            "cgid": e.cgid, "ip": maps.ip_text(bytes(e.ip)), "port": e.port, "proto": e.proto,
            "ttl": e.ttl, "audit": bool(e.audit),
            "name": bytes(e.name).split(b"\0", 1)[0].decode("ascii", "replace")}
