"""The parser's fast paths give exactly what the general paths give (pure, fast).

- grammar._NUM (written to start with the digit) and shapes._NUM (its ASCII form) find the
  numbers the lookbehind form found;
- lines._INSN_LINE (one greedy match) splits an instruction line as _NUM then _INSN did;
- shapes.parse_state_by_shape (plans per state shape, memoised entry values) returns what
  the entry-by-entry parser returns, on first, second and later sightings of a shape.
"""
from __future__ import annotations

import random
import re

from toolkit.logparse import grammar, lines, shapes

LOOKBEHIND_NUM = re.compile(r"(?<=[=(;, \-P])(0x[0-9a-fA-F]+|\d+)(?=[),; ]|$)")

TRICKY = ["=0x1fg", "=007)", "(0x)", "=0x", "P0x10 ", "-0", "=1+0", ",08,", "=0X1f)", "=0xAB;",
          "=\u0969)", "=1_000)", "R1=-5", "fp[0]-40", "R2=P-3", "var_off=(0x0; 0xff))", "a=1 b=2",
          "id=1+0,off=54", "=12a", "x=0x0x1)", "refs=2,4", "R1=1\tR2=2"]

STATES = [
    "R1=ctx() R10=fp0",
    "R1={a} R3=scalar(smin=smin32=0,smax=umax=smax32=umax32={b},var_off=(0x0; {h})) R10=fp0",
    "R0=map_value(map=scr,ks=4,vs=4096,off={a}) R1_w={b} fp-8=mmmm????",
    "frame1: R1_w=scalar(id={a},umax={b}) R10=fp0 refs={a},{b} cb",
    "R2=pkt(id={a}+0,off={b},r={b}) R6_rw=P{a} fp-16=????scalar(smin=-{b}) fp-24={a}",
    "R1=ctx(off={a},imm={h}) R2=fp[0]-{b} R3=-{a}",
    "R5=scalar(smin={a},smax={b},umin={a},umax={b},smin32={a},smax32={b},umin32={a},umax32={b},var_off=({h}; {h}))",
    "R1={a}\tR2={b}",
    "R1=0{a} R2={b}",
]


def test_num_regex_matches_the_lookbehind_form():
    rnd = random.Random(7)
    samples = list(TRICKY)
    for st in STATES:
        for _ in range(20):
            samples.append(st.format(a=rnd.randint(0, 99999), b=rnd.randint(0, 9),
                                     h=hex(rnd.randint(0, 1 << 40))))
    for s in samples:
        assert grammar._NUM.split(s) == LOOKBEHIND_NUM.split(s), s
        if s.isascii():             # shapes' ASCII-only variant (it is used on ASCII text only)
            assert shapes._NUM.split(s) == LOOKBEHIND_NUM.split(s), s


def _general_insn_split(s):
    m = lines._NUM.match(s)
    if not m or not (m.group(2) or "").startswith("("):
        return None
    mi = lines._INSN.match(m.group(2) or "")
    return (m.group(1), mi.group(1), mi.group(2), mi.group(3)) if mi else None


def test_insn_line_fast_split_matches_the_general_split():
    cases = ["1: (95) exit", "1: (95) exit;", "1: (95) exit ;x", "1: (95) exit ;  x",
             "1: (95) exit\t;\tx", "1: (95)  ", "1: (95) a;b;c", "1: (95) a\n;b", "1: (95) a;\nb",
             "4: (2d) if r2 > r1 goto pc+5          ; R1=pkt_end() R2=pkt(off=54,r=54)",
             "12: (bf) r6 = r3                      ; R3=scalar(id=5) R6=scalar(id=5)",
             "\u0967: (95) exit", "1: (95) r1 = 2 ;\u2003x", "1: (zz) nonsense ; R1="]
    for s in cases:
        m = lines._INSN_LINE.fullmatch(s)
        if m is None:
            continue                # the general path handles it
        idx, op, text, st = m.groups()
        if st is not None and st[:1].isspace():
            st = st[1:]
        assert (idx, op, text.rstrip(), st) == _general_insn_split(s), s


def _outcome(f, text):
    try:
        return f(text)
    except ValueError as e:         # int(_, 0) refuses "08": both paths must raise it
        return repr(e)


def test_state_shapes_equal_entry_by_entry_parsing():
    rnd = random.Random(11)
    by_shape = lambda t: shapes.parse_state_by_shape(t, lines.parse_state_items)  # noqa: E731
    for st in STATES:
        for _ in range(6):          # first sighting, second (plan built), then planned runs
            text = st.format(a=rnd.randint(0, 999), b=rnd.randint(0, 9),
                             h=hex(rnd.randint(0, 1 << 33)))
            assert _outcome(by_shape, text) == _outcome(lines.parse_state_items, text), text
    assert shapes.shape_stats()["planned"] > 0
    for text in ("R1=5 R2=7", "R1=6 R2=8", "R1=6 R2=08", "R1=7 R2=9"):
        assert _outcome(by_shape, text) == _outcome(lines.parse_state_items, text), text


def test_caches_stay_bounded():
    assert lines.parse_state.cache_info().maxsize <= 65536
    assert grammar.parse_item.cache_info().maxsize <= 65536
    assert shapes.MAX_VALUES <= 65536 and shapes.MAX_SHAPES <= 65536
    text = "R1={} R2=scalar(smin={},smax={})"
    old = shapes.MAX_VALUES
    shapes.MAX_VALUES = 16
    try:
        for i in range(100):
            shapes.parse_state_by_shape(text.format(i, i + 1, i + 2), lines.parse_state_items)
        assert len(shapes._VALUES) <= 16
    finally:
        shapes.MAX_VALUES = old
