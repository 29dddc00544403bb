"""Line kinds and typed values of the verifier-log grammar (pure, no kernel)."""
from __future__ import annotations

import pytest

from toolkit.logmodel import ErrorMessage, FromLine, InsnLine, Precision, SourceRef, StateLine
from toolkit.logparse import parse_lines, parse_state, parse_text
from toolkit.logparse.grammar import parse_insn, parse_item


def one(text):
    (ln,) = list(parse_lines([text]))
    return ln


def test_insn_line_with_state_618():
    ln = one("4: (2d) if r2 > r1 goto pc+5          ; R1=pkt_end() R2=pkt(off=54,r=54)")
    assert ln.kind == "insn"
    d: InsnLine = ln.data
    assert d.idx == 4 and d.insn.op == "jcond" and d.insn.dst == "r2" and d.insn.src == "r1"
    assert d.insn.target == 5 and d.insn.alu == ">"
    r2 = d.state.get("R2").value
    assert (r2.type, r2.off, r2.r) == ("pkt", 54, 54)


def test_insn_kinds():
    cases = {
        "r2 = *(u32 *)(r1 +76)": ("load", "r2", None, "r1", 76),
        "*(u32 *)(r10 -4) = r6": ("store", None, "r6", "r10", -4),
        "*(u64 *)(r10 -8) = 0": ("store", None, None, "r10", -8),
        "r3 += -68": ("alu", "r3", None, None, None),
        "w1 = w2": ("mov", "r1", "r2", None, None),
        "r1 = (s8)r2": ("mov", "r1", "r2", None, None),
        "r1 = be16 r1": ("endian", "r1", None, None, None),
        "r1 = -r1": ("neg", "r1", None, None, None),
        "lock *(u64 *)(r1 +0) += r2": ("atomic", None, "r2", "r1", 0),
        "r0 = atomic64_fetch_add((u64 *)(r1 +8), r0)": ("atomic", "r0", "r0", "r1", 8),
        "call bpf_map_lookup_elem#1": ("call", None, None, None, None),
        "call pc+5": ("call", None, None, None, None),
        "goto pc-23": ("ja", None, None, None, None),
        "may_goto pc+2": ("may_goto", None, None, None, None),
        "exit": ("exit", None, None, None, None),
        "r1 = 0xffff8881395fb200": ("mov", "r1", None, None, None),
        "r0 = *(u8 *)skb[12]": ("ld_abs", None, None, None, None),
    }
    for text, (op, dst, src, base, off) in cases.items():
        i = parse_insn(0, text)
        assert i is not None, text
        assert (i.op, i.dst, i.src, i.base, i.mem_off) == (op, dst, src, base, off), text


def test_register_values_all_spellings():
    v = parse_item("R3_w=scalar(id=5,smin=smin32=0,smax=umax=smax32=umax32=0xff,var_off=(0x0; 0xff))")
    assert v.liveness == "w"
    r = v.value
    assert (r.id, r.smin, r.smin32, r.smax, r.umax, r.smax32, r.umax32) == (5, 0, 0, 255, 255, 255, 255)
    assert r.var_off == (0, 255)
    old = parse_item("R1_w=inv(id=0,umax_value=255,var_off=(0x0; 0xff))").value   # pre-5.18
    assert (old.type, old.umax) == ("inv", 255)
    assert parse_item("R6_rw=P0").value.const == 0 and parse_item("R6_rw=P0").value.precise
    assert parse_item("R1=-1").value.const == -1
    assert parse_item("R10=fp0").value.type == "fp"
    assert parse_item("R2=fp-8").value.off == -8
    m = parse_item("R1=map_value(map=.rodata.str1.1,ks=4,vs=8,off=3)").value
    assert (m.map, m.ks, m.vs, m.off) == (".rodata.str1.1", 4, 8, 3)
    assert parse_item("R0=map_value_or_null(id=1,map=m,ks=4,vs=8)").value.is_null_possible
    assert parse_item("R2=pkt(id=1+0,off=54,r=54)").value.id == 1       # 6.18 id+delta
    assert parse_item("R1=ctx(off=0,imm=0)").value.extra == (("imm", "0"),)  # 6.1


def test_stack_slots():
    st = parse_state("R10=fp0 fp-8=0000???? fp-16_w=mmmmmmmm fp-24=0 fp-40=mm??pppp "
                     "fp-32=iter_num(ref_id=1,state=active,depth=0) fp-48=??????0")
    assert st is not None
    assert st.get("fp-8").marks == "0000????"
    assert st.get("fp-16").marks == "mmmmmmmm" and st.get("fp-16").liveness == "w"
    assert st.get("fp-24").value.const == 0
    assert st.get("fp-32").value.type == "iter_num"
    assert st.get("fp-8").stack_off == -8


def test_frames_refs_and_state_lines():
    ln = one("12: frame1: R1=ctx() R10=fp0 refs=2,4")
    assert ln.kind == "state"
    assert ln.data.state.frame == 1 and ln.data.state.refs == (2, 4)
    assert one("frame 0: propagating r6").kind == "propagate"
    for text in ("caller:", "callee:", "returning from callee:", "to caller at 12:"):
        assert one(text).kind == "frame", text


def test_from_and_safe():
    ln = one("from 4 to 10: R0=0 R1=ctx() R10=fp0")
    assert ln.kind == "from" and isinstance(ln.data, FromLine)
    assert (ln.data.src, ln.data.dst, ln.data.safe) == (4, 10, False)
    assert one("from 4 to 10 (speculative execution): R1=ctx()").data.speculative
    assert one("from 31 to 11: safe").data.safe
    assert one("11: safe").kind == "safe"


def test_source_lines_with_and_without_line_info():
    s = one("; if (dns[DNS_HDR_LEN] > 63) @ dns_qname_unchecked.bpf.c:33").data
    assert isinstance(s, SourceRef) and (s.file, s.line) == ("dns_qname_unchecked.bpf.c", 33)
    s61 = one("; if (dns[DNS_HDR_LEN] > 63)").data          # 6.1: no "@ file:line"
    assert s61.line is None and s61.code == "if (dns[DNS_HDR_LEN] > 63)"


def test_precision_lines():
    assert one("mark_precise: frame0: last_idx 19 first_idx 11 subseq_idx -1 ").data.last_idx == 19
    d = one("mark_precise: frame0: regs=r4 stack= before 18: (71) r4 = *(u8 *)(r3 +0)").data
    assert isinstance(d, Precision) and d.what == "regs" and d.before == 18 and d.regs == "r4"
    p = one("mark_precise: frame0: parent state regs=r1 stack=:  R1_rw=P3 R10=fp0").data
    assert p.what == "parent" and p.state.get("R1").value.const == 3
    assert one("mark_precise: frame0: falling back to forcing all scalars precise").kind == "precision"
    assert one("last_idx 26 first_idx 20").kind == "precision"                    # 5.x spelling
    assert one("regs=4 stack=0 before 25: (bf) r3 = r2").kind == "precision"
    assert one("parent didn't have regs=4 stack=0 marks: R3_rw=P0").data.what == "parent_missing"


def test_618_liveness_and_scc():
    assert one("Live regs before insn:").kind == "live_header"
    assert one("      5: ..2....... (71) r1 = *(u8 *)(r2 +0)").kind == "live_insn"
    assert one("  1  32: 0123...... (a7) r3 ^= 4660").kind == "live_insn"    # SCC column
    assert one("SCC enter (1)").kind == "scc"
    assert one("(0) frame 0 insn 81 +live -32,-40,-48 -live -16,-24").kind == "liveness"
    assert one("func#0 @0").kind == "func"


def test_stats_lines():
    p = one("processed 6 insns (limit 1000000) max_states_per_insn 0 total_states 0 "
            "peak_states 0 mark_read 0").data
    assert (p.insns, p.limit, p.total_states) == (6, 1000000, 0)
    assert one("verification time 112 usec").data == 112
    assert one("stack depth 0+16").data == "0+16"


@pytest.mark.parametrize("text,family", [
    ("invalid access to packet, off=54 size=1, R2(id=0,off=54,r=54)", "pkt-access"),
    ("R2 offset is outside of the packet", "pkt-outside"),
    ("math between pkt pointer and register with unbounded min value is not allowed", "pkt-unbounded-min"),
    ("value -2147483648 makes pkt pointer be out of bounds", "pkt-offset-too-large"),
    ("invalid access to map value, value_size=64 off=64 size=8", "map-value-oob"),
    ("R0 unbounded memory access, make sure to bounds check any such access", "unbounded-access"),
    ("R6 min value is negative, either use unsigned index or do a if (index >=0) check.", "min-negative"),
    ("invalid variable-offset write to stack R2 var_off=(0x0; 0xff) off=-64 size=1", "stack-var-off"),
    ("R0 !read_ok", "uninit-reg"),
    ("R0 invalid mem access 'map_value_or_null'", "invalid-mem-access"),
    ("R3 type=map_value_or_null expected=fp, pkt, pkt_meta", "reg-type"),
    ("BPF program is too large. Processed 1000001 insn", "too-large"),
    ("The sequence of 8193 jumps is too complex.", "jumps-too-complex"),
    ("infinite loop detected at insn 9", "infinite-loop"),
    ("back-edge from insn 31 to 11", "back-edge"),
    ("At program exit the register R0 has smin=0 smax=7 should have been in [0, 3]", "r0-exit"),
    ("invalid bpf_context access off=0 size=4", "ctx-access"),
    ("R4 invalid zero-sized read: u64=[0,255]", "helper-arg"),
])
def test_error_families_keep_text(text, family):
    ln = one(text)
    assert ln.kind == "error" and isinstance(ln.data, ErrorMessage)
    assert ln.data.family == family and ln.data.text == text


def test_unknown_lines_are_kept_and_never_raise():
    weird = ["", "garbage ((( ]]]", "12: (zz) nonsense ; R1=", "from x to y:", "\x00\xff",
             "R1=scalar(smin=", "mark_precise: frame0: ???", "processed lots of insns"]
    out = list(parse_lines(weird))
    assert [l.lineno for l in out] == list(range(1, len(weird) + 1))
    assert out[0].kind == "blank"
    for l in out[1:]:
        assert l.kind == "unknown", l
        assert l.text == weird[l.lineno - 1]


def test_libbpf_wrapping_is_taken_off():
    text = """libbpf: loading build/x.bpf.o
libbpf: prog 'p': BPF program load failed: Permission denied
libbpf: prog 'p': -- BEGIN PROG LOAD LOG --
0: R1=ctx() R10=fp0
0: (b7) r0 = 0                        ; R0=0
1: (95) exit
processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
-- END PROG LOAD LOG --
libbpf: prog 'p': failed to load: -13
Error: failed to load object file
"""
    kinds = [l.kind for l in parse_text(text)]
    assert kinds == ["libbpf", "libbpf", "libbpf", "state", "insn", "insn", "processed", "libbpf",
                     "libbpf", "libbpf"]
    old = ["libbpf: -- BEGIN DUMP LOG ---", "libbpf: ", "libbpf: 0: (95) exit",
           "libbpf: processed 1 insns (limit 1000000) max_states_per_insn 0 total_states 0 "
           "peak_states 0 mark_read 0", "libbpf: -- END LOG --"]
    assert [l.kind for l in parse_lines(old)] == ["libbpf", "blank", "insn", "processed", "libbpf"]


def test_truncated_log_parses():
    text = "func#0 @0\n0: R1=ctx() R10=fp0\n0: (b7) r0 = 0 ; R0=0\n1: (61) r2 = *(u32 *)(r1 +7"
    out = list(parse_text(text))
    assert [l.kind for l in out] == ["func", "state", "insn", "unknown"]


def test_streaming_is_lazy():
    def gen():
        yield "0: (95) exit"
        raise AssertionError("read past what was consumed")
    it = parse_lines(gen())
    assert next(it).kind == "insn"
