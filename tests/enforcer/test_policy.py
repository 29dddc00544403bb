"""Policy files: Cilium toFQDNs and native form, compiled rules, errors naming the line."""
from __future__ import annotations

import pytest

from toolkit import reasons
from toolkit.enforcer import maps
from toolkit.enforcer.policy import PolicyError, compile_rule, parse_policy, rule_matches

CNP = """apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: fqdn
spec:
  endpointSelector:
    matchLabels: {app: test}
  egress:
  - toCIDR: ["10.96.0.10/32"]
    toPorts:
    - ports: [{port: "53", protocol: ANY}]
      rules:
        dns: [{matchPattern: "*"}]
  - toFQDNs:
    - matchName: "api.example.com"
    - matchPattern: "*.cdn.example.com"
    - matchPattern: "**.internal.example"
"""


def test_cilium_policy_accepted_as_is():
    p = parse_policy(CNP, "cnp.yaml")
    assert [(s.kind, s.text) for s in p.selectors] == [
        ("matchName", "api.example.com"), ("matchPattern", "*.cdn.example.com"),
        ("matchPattern", "**.internal.example")]
    assert p.resolvers == [("10.96.0.10", 53)]
    assert p.per_name_cap == 50


def test_native_policy_and_cli_resolver():
    p = parse_policy("min_ttl: 7\nper_name_cap: 3\nnames: [A.Example.COM.]\n", "n.yaml",
                     extra_resolvers=["[fd00::1]:5353"])
    assert (p.min_ttl, p.per_name_cap, p.resolvers) == (7, 3, [("fd00::1", 5353)])
    assert rule_matches(p.rules[0], "a.example.com")


@pytest.mark.parametrize("pattern,name,ok", [
    ("*.example.com", "a.example.com", True),
    ("*.example.com", "a.b.example.com", False),
    ("*.example.com", "example.com", False),
    ("**.example.com", "a.b.example.com", True),
    ("**.example.com", "example.com", False),
    ("api-*.example.com", "api-v1.example.com", True),
    ("api-*.example.com", "api.example.com", False),
    ("*-prod.example.com", "eu-prod.example.com", True),
    ("*", "anything.at.all", True),
    ("www.EXAMPLE.com", "WWW.example.COM", True),
])
def test_cilium_pattern_semantics(pattern, name, ok):
    assert rule_matches(compile_rule(pattern, "matchPattern"), name.lower()) is ok


@pytest.mark.parametrize("text,problem", [
    ("names:\n  - matchPattern: 'a..b'\nresolvers: [1.1.1.1]\n", ":2: matchPattern: 'a..b' has an empty label"),
    ("names:\n  - matchName: 'a*.b'\nresolvers: [1.1.1.1]\n", ":2: matchName: matchName 'a*.b' contains '*'"),
    ("names:\n  - matchPattern: '" + "x" * 64 + ".com'\nresolvers: [1.1.1.1]\n", "longer than 63 bytes"),
    ("names:\n  - matchPattern: 'a.**.b'\nresolvers: [1.1.1.1]\n", "only allowed as the leading label"),
    ("names:\n  - matchPattern: 'a b.c'\nresolvers: [1.1.1.1]\n", "can never match"),
    ("names: [a.com]\nresolvers: [1.1.1.1]\nper_name_cap: 500\n", ":3: per_name_cap = 500 outside"),
    ("names: [a.com]\nresolvers: [999.1.1.1]\n", ":2: bad resolver"),
    ("names: [a.com]\n", "no resolver"),
    ("names: [a.com\nresolvers: [1.1.1.1]\n", "not valid YAML"),
    ("nams: [a.com]\n", ":1: unknown key 'nams'"),
])
def test_bad_policies_name_line_and_problem(text, problem):
    with pytest.raises(PolicyError) as e:
        parse_policy(text, "bad.yaml")
    assert str(e.value).startswith("bad.yaml") and problem in str(e.value)


def test_compiled_rule_layout():
    r = compile_rule("api-*.example.com", "matchPattern")
    assert (r.kind, r.multi, r.nlabels) == (maps.FQK_RULE_LABELS, 0, 3)
    assert bytes(r.label[0].buf[:3]) == b"com" and not r.label[0].star
    assert (r.label[2].plen, r.label[2].slen, r.label[2].star) == (4, 0, 1)
    assert compile_rule("*", "matchPattern").kind == maps.FQK_RULE_ALL


def test_reason_table_is_shared_and_consistent():
    table = reasons.load_reasons()
    names = {r.name for r in table}
    assert {"DNS_E_PTR_LOOP", "FQK_DROP_NOT_LEARNED", "FQK_SPOOF_NO_QUERY"} <= names
    assert all(r.value >= 100 for r in table if r.name.startswith("FQK_"))
    assert reasons.describe(reasons.value("FQK_DROP_EXPIRED")).startswith("FQK_DROP_EXPIRED: ")
