"""Policy files for the enforcer: CiliumNetworkPolicy toFQDNs or a small native YAML form,
compiled into the kernel's rule table (struct fqk_rule, reference_bpf/lib/dns_policy.bpf.h).

Contract: `load_policy(path, extra_resolvers)` returns a Policy or raises PolicyError whose
message names the file, the line and the problem; nothing is applied on error, so the
policy in force stays. `compile_rule(text, kind)` turns one matchName/matchPattern into a
maps.Rule. Pure: reads the file, no kernel.

Accepted inputs
- CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy (apiVersion cilium.io/v2), with
  `spec` or `specs`: every `egress[].toFQDNs[]` entry (`matchName`, `matchPattern`) is a
  rule; egress rules with `toCIDR`/`toCIDRSet` and `toPorts` port 53 name resolvers
  (/32 or /128 only). Other fields are accepted and ignored (the enforcer only does DNS).
- Native form:
      resolvers: ["10.0.0.1:53", "[fd00::1]:53"]   # address[:port], port 53 by default
      min_ttl: 5                                   # seconds, default 0
      per_name_cap: 50                             # IPs kept per name, default 50
      audit: false                                 # count drops without dropping
      names: ["www.example.com", {matchPattern: "*.example.com"}, {matchName: "a.b"}]
Semantics (Cilium): matchName exact; matchPattern `*` within one label, leading `**.` one
or more labels, `*` alone everything; case-insensitive; a trailing dot is ignored.
Limits (errors, not silent truncation): 64 rules, 16 labels per pattern (besides `**.`),
one `*` per label, 4 resolvers. A pattern that can never match (over-long labels or
names, empty labels, characters outside [a-z0-9_-]) is an error.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from . import maps

DEFAULT_CAP = 50
_LABEL_CHARS = re.compile(r"^[a-z0-9_*-]+$")


class PolicyError(Exception):
    """A bad policy file: the message names the file, line and problem."""


@dataclass(frozen=True)
class Selector:
    kind: str           # "matchName" | "matchPattern"
    text: str
    line: int


@dataclass
class Policy:
    path: str
    selectors: list[Selector] = field(default_factory=list)
    resolvers: list[tuple[str, int]] = field(default_factory=list)
    min_ttl: int = 0
    per_name_cap: int = DEFAULT_CAP
    audit: bool = False
    rules: list[maps.Rule] = field(default_factory=list)

    def describe(self) -> dict:
        return {"file": self.path, "names": [f"{s.kind}: {s.text}" for s in self.selectors],
                "resolvers": [f"[{a}]:{p}" if ":" in a else f"{a}:{p}" for a, p in self.resolvers],
                "min_ttl": self.min_ttl, "per_name_cap": self.per_name_cap, "audit": self.audit}


def _err(path: str, node, msg: str) -> PolicyError:
    line = node.start_mark.line + 1 if node is not None else 0
    return PolicyError(f"{path}:{line}: {msg}")


def compile_rule(text: str, kind: str) -> maps.Rule:
    """One selector -> Rule; raises ValueError(problem) when it is invalid or can never match."""
    r = maps.Rule()
    name = text.strip().lower()
    if name.endswith(".") and name != ".":
        name = name[:-1]
    if not name:
        raise ValueError("empty name")
    if kind == "matchPattern" and name == "*":
        r.kind = maps.FQK_RULE_ALL
        return r
    if kind == "matchName" and "*" in name:
        raise ValueError(f"matchName {text!r} contains '*': use matchPattern")
    multi = False
    if kind == "matchPattern" and name.startswith("**."):
        multi, name = True, name[3:]
    labels = name.split(".")
    if len(labels) > maps.FQK_PAT_LABELS:
        raise ValueError(f"{text!r} has {len(labels)} labels; at most {maps.FQK_PAT_LABELS} are supported")
    min_wire = 1 + (2 if multi else 0)
    for lab in labels:
        if not lab:
            raise ValueError(f"{text!r} has an empty label: can never match")
        if "**" in lab:
            raise ValueError(f"{text!r}: '**' is only allowed as the leading label ('**.')")
        if not _LABEL_CHARS.match(lab):
            raise ValueError(f"{text!r}: label {lab!r} has characters outside [a-z0-9_-]: can never match")
        if lab.count("*") > 1:
            raise ValueError(f"{text!r}: label {lab!r} has more than one '*' (not supported)")
        lit = lab.replace("*", "")
        if len(lit) > 63 or (len(lab) > 63 and "*" not in lab):
            raise ValueError(f"{text!r}: label {lab!r} is longer than 63 bytes: can never match")
        min_wire += 1 + max(len(lit), 1)
    if min_wire > 255:
        raise ValueError(f"{text!r}: names it matches would exceed 255 bytes: can never match")
    r.kind = maps.FQK_RULE_LABELS
    r.multi = 1 if multi else 0
    r.nlabels = len(labels)
    for j, lab in enumerate(reversed(labels)):     # label[0] is the rightmost
        pl = r.label[j]
        if "*" in lab:
            pre, suf = lab.split("*")
            pl.star = 1
        else:
            pre, suf = lab, ""
        pl.plen, pl.slen = len(pre), len(suf)
        data = (pre + suf).encode()
        for k, c in enumerate(data):
            pl.buf[k] = c
    return r


def parse_resolver(text: str) -> tuple[str, int]:
    """'10.0.0.1', '10.0.0.1:5353', '[fd00::1]:53', 'fd00::1' -> (address, port)."""
    t = str(text).strip()
    port = 53
    m = re.match(r"^\[([0-9a-fA-F:.]+)\](?::(\d+))?$", t)
    if m:
        addr, port = m.group(1), int(m.group(2) or 53)
    elif t.count(":") == 1:
        addr, p = t.split(":")
        port = int(p)
    else:
        addr = t
    ipaddress.ip_address(addr)
    if not 0 < port < 65536:
        raise ValueError(f"port {port} out of range")
    return addr, port


def _scalar(path, node, what):
    import yaml
    if not isinstance(node, yaml.ScalarNode):
        raise _err(path, node, f"{what} must be a scalar")
    return node.value


def _mapping(node) -> dict:
    import yaml
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)}


def _int(path, node, what, lo, hi) -> int:
    v = _scalar(path, node, what)
    try:
        n = int(v)
    except ValueError:
        raise _err(path, node, f"{what} must be an integer, not {v!r}") from None
    if not lo <= n <= hi:
        raise _err(path, node, f"{what} = {n} outside {lo}..{hi}")
    return n


def _selector(path, node) -> Selector:
    import yaml
    if isinstance(node, yaml.ScalarNode):
        return Selector("matchName", node.value, node.start_mark.line + 1)
    m = _mapping(node)
    keys = [k for k in ("matchName", "matchPattern") if k in m]
    if len(keys) != 1:
        raise _err(path, node, "a name entry needs exactly one of matchName or matchPattern")
    v = m[keys[0]]
    return Selector(keys[0], _scalar(path, v, keys[0]), v.start_mark.line + 1)


def _cilium(path, root, pol: Policy) -> None:
    import yaml
    top = _mapping(root)
    specs = []
    if "spec" in top:
        specs.append(top["spec"])
    if "specs" in top:
        if not isinstance(top["specs"], yaml.SequenceNode):
            raise _err(path, top["specs"], "specs must be a list")
        specs.extend(top["specs"].value)
    if not specs:
        raise _err(path, root, "CiliumNetworkPolicy without spec or specs")
    for spec in specs:
        egress = _mapping(spec).get("egress")
        if egress is None:
            continue
        if not isinstance(egress, yaml.SequenceNode):
            raise _err(path, egress, "egress must be a list of rules")
        for rule in egress.value:
            r = _mapping(rule)
            fq = r.get("toFQDNs")
            if fq is not None:
                if not isinstance(fq, yaml.SequenceNode):
                    raise _err(path, fq, "toFQDNs must be a list")
                pol.selectors.extend(_selector(path, n) for n in fq.value)
            cidrs = []
            if "toCIDR" in r and isinstance(r["toCIDR"], yaml.SequenceNode):
                cidrs += [(n, n.value) for n in r["toCIDR"].value]
            if "toCIDRSet" in r and isinstance(r["toCIDRSet"], yaml.SequenceNode):
                for n in r["toCIDRSet"].value:
                    c = _mapping(n).get("cidr")
                    if c is not None:
                        cidrs.append((c, c.value))
            ports = _dns_ports(r.get("toPorts"))
            for node, cidr in cidrs:
                if not ports:
                    continue
                try:
                    net = ipaddress.ip_network(cidr, strict=False)
                except ValueError as e:
                    raise _err(path, node, f"bad CIDR {cidr!r}: {e}") from None
                if net.num_addresses != 1:
                    continue  # a range is not a resolver address
                for p in ports:
                    pol.resolvers.append((str(net.network_address), p))


def _dns_ports(node) -> list[int]:
    out = []
    for pr in getattr(node, "value", []) or []:
        for p in getattr(_mapping(pr).get("ports"), "value", []) or []:
            port = _mapping(p).get("port")
            if port is not None and str(port.value) == "53":
                out.append(53)
    return sorted(set(out))


def _native(path, root, pol: Policy) -> None:
    import yaml
    m = _mapping(root)
    known = {"resolvers", "min_ttl", "per_name_cap", "audit", "names"}
    for k, v in root.value:
        if k.value not in known:
            raise _err(path, k, f"unknown key {k.value!r} (expected one of {', '.join(sorted(known))})")
    if "resolvers" in m:
        if not isinstance(m["resolvers"], yaml.SequenceNode):
            raise _err(path, m["resolvers"], "resolvers must be a list of address[:port]")
        for n in m["resolvers"].value:
            try:
                pol.resolvers.append(parse_resolver(_scalar(path, n, "resolver")))
            except ValueError as e:
                raise _err(path, n, f"bad resolver {n.value!r}: {e}") from None
    if "min_ttl" in m:
        pol.min_ttl = _int(path, m["min_ttl"], "min_ttl", 0, 7 * 86400)
    if "per_name_cap" in m:
        pol.per_name_cap = _int(path, m["per_name_cap"], "per_name_cap", 1, maps.FQK_NAME_CAP_MAX)
    if "audit" in m:
        v = _scalar(path, m["audit"], "audit").lower()
        if v not in ("true", "false", "yes", "no"):
            raise _err(path, m["audit"], f"audit must be true or false, not {v!r}")
        pol.audit = v in ("true", "yes")
    names = m.get("names")
    if names is None:
        raise _err(path, root, "native policy without names")
    if not isinstance(names, yaml.SequenceNode):
        raise _err(path, names, "names must be a list")
    pol.selectors.extend(_selector(path, n) for n in names.value)


def parse_policy(text: str, path: str = "<policy>", extra_resolvers=()) -> Policy:
    import yaml
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        raise PolicyError(f"{path}:{line}: not valid YAML: {getattr(e, 'problem', e)}") from None
    if root is None or not isinstance(root, yaml.MappingNode):
        raise PolicyError(f"{path}:1: a policy is a YAML mapping (CiliumNetworkPolicy or native form)")
    pol = Policy(path=path)
    top = _mapping(root)
    if "kind" in top or "apiVersion" in top:
        kind = top.get("kind")
        if kind is None or kind.value not in ("CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy"):
            raise _err(path, kind or root, "kind must be CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy")
        _cilium(path, root, pol)
    else:
        _native(path, root, pol)
    for r in extra_resolvers:
        try:
            pol.resolvers.append(parse_resolver(r))
        except ValueError as e:
            raise PolicyError(f"--resolver {r!r}: {e}") from None
    seen = []
    for r in pol.resolvers:
        if r not in seen:
            seen.append(r)
    pol.resolvers = seen
    if not pol.resolvers:
        raise PolicyError(f"{path}:1: no resolver: give `resolvers:` (native form), a toCIDR rule "
                          "with toPorts port 53 (Cilium form) or --resolver ADDR[:PORT]")
    if len(pol.resolvers) > maps.FQK_MAX_RESOLVERS:
        raise PolicyError(f"{path}:1: {len(pol.resolvers)} resolvers; at most {maps.FQK_MAX_RESOLVERS}")
    if not pol.selectors:
        raise PolicyError(f"{path}:1: no toFQDNs names: the workload could reach nothing but DNS")
    if len(pol.selectors) > maps.FQK_MAX_RULES:
        raise PolicyError(f"{path}:{pol.selectors[maps.FQK_MAX_RULES].line}: more than "
                          f"{maps.FQK_MAX_RULES} names/patterns")
    for s in pol.selectors:
        try:
            pol.rules.append(compile_rule(s.text, s.kind))
        except ValueError as e:
            raise PolicyError(f"{path}:{s.line}: {s.kind}: {e}") from None
    return pol


def load_policy(path: str, extra_resolvers=()) -> Policy:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise PolicyError(f"{path}: cannot read policy: {e.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise PolicyError(f"{path}:{line}: not UTF-8 text (byte {raw[e.start]:#04x} at offset "
                          f"{e.start}): a policy is a YAML file") from None
    return parse_policy(text, path, extra_resolvers)


def rule_matches(rule: maps.Rule, name: str) -> bool:
    """Python statement of what the BPF matcher does (used by tests to cross-check it)."""
    if rule.kind == maps.FQK_RULE_ALL:
        return True
    labels = name.rstrip(".").lower().split(".") if name.strip(".") else []
    n = len(labels)
    if (n <= rule.nlabels) if rule.multi else (n != rule.nlabels):
        return False
    for j in range(rule.nlabels):
        lab = labels[n - 1 - j].encode()
        pl = rule.label[j]
        buf = bytes(pl.buf[: pl.plen + pl.slen])
        pre, suf = buf[: pl.plen], buf[pl.plen:]
        if pl.star:
            if len(lab) < len(pre) + len(suf) or not lab.startswith(pre) or not lab.endswith(suf):
                return False
        elif lab != pre:
            return False
    return True
