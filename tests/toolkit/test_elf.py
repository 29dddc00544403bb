"""Reading objects without loading them (no root needed)."""
from __future__ import annotations

import pytest

from toolkit.elf import read_object, source_line_for
from toolkit.model import FqdnkitError, Verdict


def test_programs_sections_and_types(example_obj):
    spec = read_object(example_obj("dns_count_cgroup"))
    progs = {p.name: p for p in spec.programs}
    assert set(progs) == {"dns_count_egress", "dns_count_ingress"}
    assert progs["dns_count_egress"].section == "cgroup_skb/egress"
    assert progs["dns_count_egress"].prog_type == "cgroup_skb"
    assert progs["dns_count_egress"].attach_type == "cgroup_inet_egress"
    assert progs["dns_count_ingress"].attach_type == "cgroup_inet_ingress"
    assert spec.maps == ("dns_questions",)
    assert spec.license == "GPL"
    assert len(spec.sha256) == 64


def test_line_info_maps_instructions_to_source(example_obj):
    spec = read_object(example_obj("dns_qname_unchecked"))
    prog = spec.program("dns_qname_unchecked")
    assert prog.prog_type == "sched_cls"
    assert prog.lines, "clang -g must leave BTF line info"
    assert all(l.file.endswith("dns_qname_unchecked.bpf.c") for l in prog.lines)
    # The failing read of dns[12] is on the line that says so in the source.
    src_lines = open(prog.lines[0].file).read().splitlines()
    want = next(i + 1 for i, t in enumerate(src_lines) if "if (dns[DNS_HDR_LEN] > 63)" in t)
    assert any(l.line == want and "dns[DNS_HDR_LEN]" in l.text for l in prog.lines)
    last = source_line_for(prog, prog.insn_count - 1)
    assert last is not None and last.line >= prog.lines[0].line


def test_expectation_annotations_are_read_from_the_object(example_obj):
    spec = read_object(example_obj("dns_qname_unchecked"))
    exp = spec.expectation("dns_qname_unchecked")
    assert exp is not None
    assert exp.verdict is Verdict.REJECTED
    assert exp.failure_class == "pkt-off-by-one"
    assert "invalid access to packet" in exp.message
    ok = read_object(example_obj("dns_count_tc")).expectation("dns_count_tc")
    assert ok is not None and ok.verdict is Verdict.ACCEPTED


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(FqdnkitError, match="nope.o: no such file"):
        read_object(str(tmp_path / "nope.o"))


def test_non_bpf_elf_is_a_clear_error():
    with pytest.raises(FqdnkitError, match="not a BPF object"):
        read_object("/bin/true")


def test_non_elf_is_a_clear_error(tmp_path):
    p = tmp_path / "text.o"
    p.write_text("hello")
    with pytest.raises(FqdnkitError, match="text.o: not an ELF file"):
        read_object(str(p))


def test_subprograms_are_laid_out_after_the_program_like_libbpf(build_dir):
    # walk_qname (bpf_loop technique) calls static subprograms and passes bpf_loop callbacks
    # (ld_imm64 relocated against .text): their lines must follow the program's own code
    spec = read_object(str(build_dir / "techniques" / "dns_walk_tc.bpf_loop.bpf.o"))
    prog = spec.program("walk_qname")
    past = [l for l in prog.lines if l.insn_off >= prog.sec_insn_off + prog.insn_count]
    assert past, "the callbacks' line info must be appended"
    assert all(l.file.endswith("dns_walk.bpf.h") or l.file.endswith(".bpf.h") for l in past)
    offs = [l.insn_off for l in prog.lines]
    assert offs == sorted(offs)


@pytest.mark.root
def test_appended_subprogram_lines_agree_with_the_kernels_annotations(build_dir):
    # oracle: the kernel's level-2 log prints `; text @ file:LINE` before instructions, in
    # the instruction numbering after libbpf appended the subprograms
    import re
    from toolkit.loader import load_program
    obj = str(build_dir / "techniques" / "dns_walk_tc.bpf_loop.bpf.o")
    prog = read_object(obj).program("walk_qname")
    res = load_program(obj, "walk_qname", log_level=2)
    assert res.verdict is Verdict.ACCEPTED
    want, pending = {}, None
    for ln in res.log.splitlines():
        m = re.match(r"^; .* @ (\S+):(\d+)$", ln)
        if m:
            pending = (m.group(1).rsplit("/", 1)[-1], int(m.group(2)))
            continue
        m = re.match(r"^(\d+): \(", ln)
        if m and pending:
            want.setdefault(int(m.group(1)), pending)
        pending = None
    beyond = {i: w for i, w in want.items() if i >= prog.insn_count}
    assert beyond, "the log must reach the appended callbacks"
    for insn, (f, line) in want.items():
        got = source_line_for(prog, insn)
        assert got is not None and (got.file.rsplit("/", 1)[-1], got.line) == (f, line), insn
