"""Every negative twin (reference_bpf/negative/*.bpf.c) is rejected, and its verifier log
matches the regex of its FQDNKIT_EXPECT_REJECT annotation.

Twins whose failure is a complexity limit are loaded with the statistics-only log
(level 0 + BPF_LOG_STATS): the kernel still prints the error line, and their level-2 log
would be hundreds of MB (FACTS: the 1M-insn twin takes seconds either way).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from toolkit.elf import read_object
from toolkit.loader import load_program
from toolkit.model import Verdict

REPO = Path(__file__).resolve().parents[2]
TWINS = sorted(p.name[:-len(".bpf.c")] for p in (REPO / "reference_bpf" / "negative").glob("*.bpf.c"))
CLASSES = {"pkt-no-check", "pkt-off-by-one", "pkt-unbounded-min", "pkt-offset-too-large",
           "range-lost-spill", "range-lost-join", "stack-var-offset", "map-value-oob",
           "scratch-index-unmasked", "negative-min", "too-many-insns", "infinite-loop",
           "back-edge", "jump-seq-too-complex", "null-not-checked", "uninit-read",
           "r0-not-set", "helper-arg"}
STATS_ONLY = {"too-many-insns", "jump-seq-too-complex"}


@pytest.fixture(autouse=True, scope="module")
def _built(build_dir):
    """`make build` once if the tree was never built (conftest's build_dir)."""
    return build_dir


def _obj(name: str) -> str:
    path = REPO / "build" / "negative" / f"{name}.bpf.o"
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make build`")
    return str(path)


def test_at_least_twelve_twins():
    assert len(TWINS) >= 12


@pytest.mark.parametrize("name", TWINS)
def test_twin_is_annotated_once(name):
    spec = read_object(_obj(name))
    assert len(spec.programs) == 1, f"{spec.path}: a twin holds exactly one program"
    exp = spec.expectation(spec.programs[0].name)
    assert exp is not None and exp.verdict is Verdict.REJECTED
    assert exp.failure_class in CLASSES, f"{spec.path}: unknown class {exp.failure_class!r}"
    re.compile(exp.message)


@pytest.mark.root
@pytest.mark.parametrize("name", TWINS)
def test_twin_is_rejected_with_the_annotated_message(name):
    path = _obj(name)
    spec = read_object(path)
    prog = spec.programs[0]
    exp = spec.expectation(prog.name)
    r = load_program(path, prog.name, log_level=0 if exp.failure_class in STATS_ONLY else 2)
    assert r.verdict is Verdict.REJECTED, f"{path}: accepted"
    assert re.search(exp.message, r.log, re.MULTILINE), \
        f"{path}: log does not match {exp.message!r}:\n{r.log[-1500:]}"
    assert r.as_expected
