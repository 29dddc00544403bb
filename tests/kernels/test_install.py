"""Moving a finished capture into place: old *.expected.json kept, partial captures merge,
nothing half-written is left behind."""
from __future__ import annotations

from pathlib import Path

from toolkit.kernels.capture import _install, object_stems


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_full_capture_replaces_the_kernel_dir_but_keeps_expectations(tmp_path):
    final = _tree(tmp_path / "k", {"a/p.level2.log": "old", "a/p.expected.json": "{}",
                                  "gone/q.level2.log": "old"})
    new = _tree(tmp_path / ".tmp-k", {"a/p.level2.log": "new", "b/r.level2.log": "new"})
    _install(new, final, {"a", "b"}, full=True)
    assert _files(final) == {"a/p.level2.log", "a/p.expected.json", "b/r.level2.log"}
    assert (final / "a/p.level2.log").read_text() == "new"
    assert not new.exists() and [p.name for p in tmp_path.iterdir()] == ["k"]


def test_partial_capture_only_replaces_its_objects(tmp_path):
    final = _tree(tmp_path / "k", {"a/p.level2.log": "old", "c/s.level2.log": "old"})
    new = _tree(tmp_path / ".tmp-k", {"a/p.level2.log": "new"})
    _install(new, final, {"a"}, full=False)
    assert _files(final) == {"a/p.level2.log", "c/s.level2.log"}
    assert (final / "a/p.level2.log").read_text() == "new"


def test_object_stems_disambiguate_same_names():
    s = object_stems([Path("build/examples/x.bpf.o"), Path("build/negative/x.bpf.o"),
                      Path("build/techniques/walk.iter.bpf.o")])
    assert s == {Path("build/examples/x.bpf.o"): "examples.x",
                 Path("build/negative/x.bpf.o"): "negative.x",
                 Path("build/techniques/walk.iter.bpf.o"): "walk.iter"}
