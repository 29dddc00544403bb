"""Printed verifier states parsed once per *shape*, then filled with each state's numbers.

Contract: `parse_state_by_shape(text, parse_items) -> State | None` returns a value equal
to what `parse_items(text)` (the entry-by-entry parser in lines.py) returns for the same
text, and raises where it raises. It never calls Lark itself: every typed value comes from
`grammar._parse_shape`, i.e. from the Lark grammar applied to the entry with its numbers
replaced by placeholders (the scheme grammar.parse_item already used for one entry).

Why: in a level-2 log the same state line comes back once per loop iteration with other
bounds (`R3=scalar(smin=0,smax=4095)`, then `smax=4094` ...). Splitting the whole state
once at its numbers and filling a plan made for its shape costs less than finding the
entries, then splitting, looking up and filling each one.

How: the state text is split at the numbers grammar._NUM recognises; the literal parts,
joined, are the key. The first text of a shape goes to parse_items (the reference) and the
key is remembered; the second builds the plan: for each entry either its value (an entry
without numbers) or (where its numbers are, spec id, build), where build(m) is a function
generated from the entry shape's placeholder template that puts the entry's numbers m where
the template holds placeholders. The plan is run once on that text and kept only if the
result equals the reference. Entry values are memoised by (spec id, numbers), so an entry
that did not change since an earlier state is not built again. Shapes whose entries do not
split like the whole text (a number at an entry boundary), entries without parse or with
more than 9 numbers, and texts holding NUL keep using parse_items. All tables are bounded.
"""
from __future__ import annotations

import dataclasses
import re
from functools import lru_cache
from itertools import repeat
from typing import Callable, Optional

from ..logmodel import RegValue, Slot, State
from . import grammar

MAX_SHAPES = 16384
_SHAPES: dict = {}
# grammar._NUM for ASCII text ([0-9] is \d there), possessive: ~20 % faster on states
_NUM = re.compile(r"([0-9](?<=[=(;, \-P][0-9])(?:(?<=0)x[0-9a-fA-F]++|[0-9]*+))(?=[),; ]|$)")
_PH = grammar._PH
# one entry of a printed state: a word, with one level of nested parentheses after it
_ITEM = re.compile(r"[^\s(]+(?:\([^()]*(?:\([^()]*\)[^()]*)*\))?")


def parse_state_by_shape(text: str, parse_items: Callable[[str], Optional[State]]):
    parts = _NUM.split(text)
    if len(parts) == 1 or not text.isascii() or "\x00" in text:
        return parse_items(text)
    key = "\x00".join(parts[0::2])
    plan = _SHAPES.get(key)
    if type(plan) is tuple:
        try:
            nums = list(map(int, parts[1::2], repeat(0)))
        except ValueError:
            # digits that are not one number (fp-8=00002047: slot-type chars "0000" above
            # a sub-register spill, then 2047): the entry-by-entry parse splits them
            return parse_items(text)
        return _run(plan, nums)
    if plan is None:                        # first sighting: the reference, and remember
        ref = parse_items(text)             # raises (and keeps nothing) where it raises
        if len(_SHAPES) >= MAX_SHAPES:
            _SHAPES.clear()
        _SHAPES[key] = _SEEN
        return ref
    if plan is _SEEN:                       # second sighting: build the plan
        ref = parse_items(text)
        _SHAPES[key] = _plan(text, ref)
        return ref
    return parse_items(text)                # _FALLBACK


def shape_stats() -> dict:
    """Shapes kept, how many have a plan and how many use the entry-by-entry fallback."""
    v = list(_SHAPES.values())
    return {"shapes": len(v), "planned": sum(1 for p in v if type(p) is tuple),
            "fallback": sum(1 for p in v if p is _FALLBACK), "entry_values": len(_VALUES),
            "value_hits": 1 - _COUNTS[1] / _COUNTS[0] if _COUNTS[0] else 0.0}


_SEEN = "seen"
_FALLBACK = "fallback"
MAX_VALUES = 2048
_VALUES: dict = {}          # (entry spec id, its numbers...) -> its value
_COUNTS = [0, 0]            # entry values looked up, built


def _run(plan, n: list[int]) -> State:
    """The State of a shape's plan with the numbers n (see _plan)."""
    entries, simple, nfill = plan
    _COUNTS[0] += nfill
    out = []
    ap = out.append
    values = _VALUES
    for e in entries:
        if type(e) is not tuple:            # an entry without numbers: its value
            ap(e)
            continue
        a, b, sid, build = e
        m = n[a:b]
        key = (sid, *m)
        r = values.get(key)
        if r is None:
            r = build(m)
            _COUNTS[1] += 1
            if len(values) >= MAX_VALUES:
                values.clear()
            values[key] = r
        ap(r)
    if simple:
        return State(0, tuple(out), (), ())
    return aggregate(out)


def aggregate(results) -> State:
    """Entry results (Slot, or ("frame"|"refs"|"flag", value)) put together into a State:
    the first frame label, the refs, the flags and the slots in order (shared with
    lines.parse_state_items, the reference parse)."""
    slots = []
    frame = None
    refs: tuple = ()
    flags = []
    for r in results:
        if type(r) is tuple:
            tag, val = r
            if tag == "frame":
                if frame is None:
                    frame = val
            elif tag == "refs":
                refs = val
            else:
                flags.append(val)
        else:
            slots.append(r)
    return State(frame=frame or 0, slots=tuple(slots), refs=refs, flags=tuple(flags))


_SPEC_IDS = iter(range(1 << 62))


def _setters(cls):
    """The slot setters of cls, in field order, if cls is a slots dataclass whose __init__
    only assigns its fields (no __post_init__, no init=False field, slots = fields): setting
    them on object.__new__(cls) makes the object cls(*values) makes, at half the cost for
    RegValue's 20 fields. None otherwise (then the generated code calls the class)."""
    if not dataclasses.is_dataclass(cls) or hasattr(cls, "__post_init__"):
        return None
    fs = dataclasses.fields(cls)
    names = tuple(f.name for f in fs)
    if getattr(cls, "__slots__", None) != names or not all(f.init for f in fs):
        return None
    return [getattr(cls, n).__set__ for n in names]


_R, _S = _setters(RegValue), _setters(Slot)
_FAST = (_R, _S) if _R and _S and len(_S) == 4 else None
_LITERAL = (type(None), bool, int)


@lru_cache(maxsize=4096)
def _spec(shape: str, cnt: int):
    """(id, build, template) for an entry shape (numbers replaced by placeholders), or
    None (no parse). build(m) -> the entry's value with its numbers m: a function generated
    for the shape that puts m[k] where the template holds placeholder k (with its sign) and
    calls grammar._fill for anything else holding a placeholder (strings)."""
    r, vals, plan = grammar._parse_shape(shape)
    if r is None:
        return None
    consts: list = []

    def const(v) -> str:
        if type(v) in _LITERAL:
            return repr(v)
        consts.append(v)
        return f"c{len(consts) - 1}"

    def expr(v) -> str:
        if type(v) is int:
            a = abs(v)
            if _PH <= a < _PH + cnt:
                return f"{'-' if v < 0 else ''}m[{a - _PH}]"
            return const(v)
        if type(v) is tuple and v and all(type(x) is int for x in v):
            return "(" + "".join(expr(x) + ", " for x in v) + ")"
        if grammar._has_ph_deep(v):
            return f"_fill({const(v)}, m)"
        return const(v)

    if vals is None:
        body = [f"return {expr(r)}"]
    else:
        args = [expr(v) if i in plan else const(v) for i, v in enumerate(vals)]
        sargs = [const(r.name), "v", const(r.marks), const(r.liveness)]
        if _FAST:       # what RegValue(*args) and Slot(*sargs) do, without the call layers
            body = (["v = new(RegValue)"] + [f"R{i}(v, {a})" for i, a in enumerate(args)]
                    + ["s = new(Slot)"] + [f"S{i}(s, {a})" for i, a in enumerate(sargs)]
                    + ["return s"])
        else:
            body = [f"v = RegValue({', '.join(args)})", f"return Slot({', '.join(sargs)})"]
    names = [f"c{i}" for i in range(len(consts))]
    src = (f"def make({', '.join(names)}):\n    def build(m):\n"
           + "".join(f"        {line}\n" for line in body) + "    return build\n")
    ns = {"Slot": Slot, "RegValue": RegValue, "_fill": grammar._fill, "new": object.__new__}
    if _FAST:
        ns.update((f"R{i}", f) for i, f in enumerate(_FAST[0]))
        ns.update((f"S{i}", f) for i, f in enumerate(_FAST[1]))
    exec(compile(src, "<entry shape>", "exec"), ns)
    return next(_SPEC_IDS), ns["make"](*consts), r


def _plan(text: str, ref: Optional[State]):
    """The plan of text's shape, checked against the reference result, or _FALLBACK.
    Plan: (entries, simple): an entry is the value of an entry without numbers, or
    (first number, end, spec); simple = only registers and stack slots (no frame/refs/flag)."""
    if ref is None:
        return _FALLBACK
    whole = [m.span() for m in _NUM.finditer(text)]
    per_entry = []
    entries = []
    simple = True
    for m in _ITEM.finditer(text):
        tok, base = m.group(0), m.start()
        spans = [(a + base, b + base) for a, b in (x.span() for x in _NUM.finditer(tok))]
        a, cnt = len(per_entry), len(spans)
        per_entry.extend(spans)
        if cnt > 9:
            return _FALLBACK
        if cnt == 0:
            r = grammar.parse_item(tok)
            if r is None:
                return _FALLBACK
            if type(r) is tuple:            # frame label, flag, refs: kept apart from fills
                simple = False
                entries.append((a, a, next(_SPEC_IDS), lambda m, r=r: r))
            else:
                entries.append(r)
            continue
        try:
            spec = _spec(grammar.shape_of(tok)[0], cnt)
        except ValueError:                  # digits that are not one number: fp-8=00001
            return _FALLBACK
        if spec is None:
            return _FALLBACK
        sid, build, tmpl = spec
        if type(tmpl) is not Slot:
            simple = False
        entries.append((a, a + cnt, sid, build))
    if per_entry != whole:
        return _FALLBACK
    plan = (tuple(entries), simple, sum(1 for e in entries if type(e) is tuple))
    try:
        ok = _run(plan, [int(x, 0) for x in _NUM.findall(text)]) == ref
    except Exception:       # noqa: BLE001 - a plan that cannot run is not kept
        ok = False
    return plan if ok else _FALLBACK


_fill = grammar._fill
