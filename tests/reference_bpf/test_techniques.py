"""Every loop-technique variant of reference_bpf/techniques/*.bpf.c verifies on this kernel
when the kernel is at least the variant's annotated minimum (FQDNKIT_EXPECT_ACCEPT_SINCE).

Objects come from `make build` (build/techniques/<name>.<technique>.bpf.o). Loaded with the
statistics-only log: at level 1 or 2 the unrolled and bounded variants (100k+ insns) log
hundreds of MB and take tens of seconds.
"""
from __future__ import annotations

import pytest

from toolkit.elf import read_object
from toolkit.loader import load_object
from toolkit.model import Verdict

from variants import MIN_KERNEL, SOURCES, TECHNIQUES, supported, technique_obj


@pytest.fixture(autouse=True, scope="module")
def _built(build_dir):
    """`make build` once if the tree was never built (conftest's build_dir)."""
    return build_dir


@pytest.mark.parametrize("technique", TECHNIQUES)
@pytest.mark.parametrize("source", SOURCES)
def test_variant_annotated_with_the_technique_minimum(source, technique):
    spec = read_object(technique_obj(source, technique))
    assert spec.programs, f"{spec.path}: no programs"
    for prog in spec.programs:
        exp = spec.expectation(prog.name)
        assert exp is not None, f"{spec.path}: {prog.name} has no FQDNKIT_EXPECT annotation"
        assert exp.verdict is Verdict.ACCEPTED and exp.min_kernel == MIN_KERNEL[technique]


@pytest.mark.root
@pytest.mark.parametrize("technique", TECHNIQUES)
@pytest.mark.parametrize("source", SOURCES)
def test_variant_verifies_on_this_kernel(source, technique):
    if not supported(technique):
        pytest.skip(f"{technique} needs kernel >= {MIN_KERNEL[technique]}")
    results = load_object(technique_obj(source, technique), log_level=0)
    for r in results:
        assert r.verdict is Verdict.ACCEPTED, f"{r.object}:{r.program} rejected:\n{r.log[-2000:]}"
        assert r.as_expected
        assert r.stats.insns_processed and r.stats.insns_processed < 1_000_000
