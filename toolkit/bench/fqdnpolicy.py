"""The toFQDNs policy as the user-space proxy design applies it (pure Python).

Contract: `load_patterns(path)` reads the `toFQDNs` selectors (matchName, matchPattern) of
a CiliumNetworkPolicy YAML (every egress rule of every document), or a native policy's
`names:` list (strings are matchName unless they contain `*`, mappings carry matchName /
matchPattern), and raises FqdnkitError naming the file when none is found. `Matcher`
applies Cilium's semantics: matchName exact, case-insensitive, trailing dot optional;
in matchPattern `*` matches within one label (`*.example.com` does not match
`a.b.example.com`), a leading `**.` matches one or more labels, `*` alone matches all.
This is the proxy's copy of the policy, independent of the enforcer's kernel matcher.
"""
from __future__ import annotations

import re

from toolkit.model import FqdnkitError


def _norm(name: str) -> str:
    return name.lower().rstrip(".")


def _pattern_regex(pat: str) -> re.Pattern:
    pat = _norm(pat)
    if pat == "*":
        return re.compile(r".*")
    prefix = ""
    if pat.startswith("**."):
        prefix = r"(?:[^.]+\.)+"
        pat = pat[3:]
    body = re.escape(pat).replace(r"\*", r"[^.]*")
    return re.compile(prefix + body)


class Matcher:
    def __init__(self, names: list[str] = (), patterns: list[str] = ()):
        self.names = {_norm(n) for n in names}
        self.patterns = [_pattern_regex(p) for p in patterns]
        self.sources = list(names) + list(patterns)

    def allows(self, qname: str) -> bool:
        n = _norm(qname)
        return n in self.names or any(p.fullmatch(n) for p in self.patterns)


def _collect(node, names: list, patterns: list) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "toFQDNs" and isinstance(v, list):
                for sel in v:
                    if isinstance(sel, dict):
                        if "matchName" in sel:
                            names.append(str(sel["matchName"]))
                        if "matchPattern" in sel:
                            patterns.append(str(sel["matchPattern"]))
            else:
                _collect(v, names, patterns)
    elif isinstance(node, list):
        for v in node:
            _collect(v, names, patterns)


def load_patterns(path: str) -> Matcher:
    import yaml
    try:
        with open(path) as f:
            docs = [d for d in yaml.safe_load_all(f) if d is not None]
    except yaml.YAMLError as e:
        raise FqdnkitError(f"{path}: not valid YAML: {e}") from None
    names: list[str] = []
    patterns: list[str] = []
    for d in docs:
        _collect(d, names, patterns)
        if isinstance(d, dict) and isinstance(d.get("names"), list):
            for n in d["names"]:
                if isinstance(n, str):
                    (patterns if "*" in n else names).append(n)
                elif isinstance(n, dict):
                    _collect({"toFQDNs": [n]}, names, patterns)
    if not names and not patterns:
        raise FqdnkitError(f"{path}: no toFQDNs matchName/matchPattern found")
    return Matcher(names, patterns)
