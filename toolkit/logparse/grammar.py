"""The Lark parser for verifier-log line parts, built once, lazily, and cached per module.

Contract: `parse_insn(opcode, text) -> Insn | None`, `parse_item(text) -> Slot | tuple |
None`, `parse_stat(start, text) -> object | None`. None means the grammar rejected the
text (the caller then keeps the line as unknown); these functions never raise. Results are
memoised in bounded LRU caches (verifier logs repeat the same instructions and state
entries many times), so memory stays bounded whatever the log size.
"""
from __future__ import annotations

import re
from dataclasses import fields as _dc_fields
from functools import lru_cache
from importlib import resources
from typing import Optional

from ..logmodel import Insn, Processed, RegValue, Slot

GRAMMAR_FILE = "verifier_log.lark"
START_SYMBOLS = ["insn_text", "item", "processed", "stack_depth", "vtime"]
_PARSER = None
_REGVALUE_FIELDS = [f.name for f in _dc_fields(RegValue)]

# key names the kernel uses for the same bound across versions
_BOUND_KEYS = {
    "smin": "smin", "smax": "smax", "umin": "umin", "umax": "umax",
    "smin32": "smin32", "smax32": "smax32", "umin32": "umin32", "umax32": "umax32",
    "smin_value": "smin", "smax_value": "smax", "umin_value": "umin", "umax_value": "umax",
    "s32_min_value": "smin32", "s32_max_value": "smax32",
    "u32_min_value": "umin32", "u32_max_value": "umax32",
    "id": "id", "ref_obj_id": "ref_obj_id", "off": "off", "r": "r", "ks": "ks", "vs": "vs",
}


def _int(s: str) -> int:
    return int(s, 0) if not s.startswith("-") else -int(s[1:], 0)


def _reg(tok: str) -> tuple[str, bool]:
    """'w3' -> ('r3', True); 'r3' -> ('r3', False)."""
    return "r" + tok[1:], tok[0] == "w"


def _build_transformer():
    from lark import Transformer

    class _ToModel(Transformer):
        """Turns parse trees into plain values; runs inside the LALR parser (no trees kept)."""

        # ---- instructions: each returns a dict of Insn fields
        def mov(self, c):
            dst, w = _reg(c[0])
            src = c[1]
            if src.type == "REG":
                return {"op": "mov", "dst": dst, "src": _reg(src)[0], "alu": "=", "is32": w}
            return {"op": "mov", "dst": dst, "imm": _int(src), "alu": "=", "is32": w}

        def movsx(self, c):
            dst, w = _reg(c[0])
            return {"op": "mov", "dst": dst, "src": _reg(c[2])[0], "alu": "=", "size": str(c[1]),
                    "is32": w}

        def alu(self, c):
            dst, w = _reg(c[0])
            src = c[2]
            d = {"op": "alu", "dst": dst, "alu": str(c[1]), "is32": w}
            if src.type == "REG":
                d["src"] = _reg(src)[0]
            else:
                d["imm"] = _int(src)
            return d

        def neg(self, c):
            dst, w = _reg(c[0])
            return {"op": "neg", "dst": dst, "alu": "neg", "is32": w}

        def endian(self, c):
            dst, w = _reg(c[0])
            return {"op": "endian", "dst": dst, "alu": str(c[1]), "is32": w}

        def memref(self, c):
            return (str(c[0]), _reg(c[1])[0], int(c[2]))

        def mem(self, c):
            return c[0]

        def load(self, c):
            dst, w = _reg(c[0])
            size, base, off = c[1]
            return {"op": "load", "dst": dst, "size": size, "base": base, "mem_off": off,
                    "is32": w}

        def store(self, c):
            size, base, off = c[0]
            src = c[1]
            d = {"op": "store", "size": size, "base": base, "mem_off": off}
            if src.type == "REG":
                d["src"] = _reg(src)[0]
            else:
                d["imm"] = _int(src)
            return d

        def atomic_rmw(self, c):
            size, base, off = c[0]
            return {"op": "atomic", "size": size, "base": base, "mem_off": off, "alu": str(c[1]),
                    "src": _reg(c[2])[0]}

        def atomic_call(self, c):
            dst, _ = _reg(c[0])
            size, base, off = c[2]
            srcs = [_reg(t)[0] for t in c[3:] if getattr(t, "type", "") == "REG"]
            return {"op": "atomic", "dst": dst, "size": size, "base": base, "mem_off": off,
                    "alu": "fetch", "callee": str(c[1]), "src": srcs[-1] if srcs else None}

        def atomic_store(self, c):
            size, base, off = c[1]
            src = c[2]
            return {"op": "store", "size": size, "base": base, "mem_off": off,
                    "callee": str(c[0]),
                    "src": _reg(src)[0] if src.type == "REG" else None}

        def jcond(self, c):
            dst, w = _reg(c[0])
            src = c[2]
            d = {"op": "jcond", "dst": dst, "alu": str(c[1]), "target": int(c[3][2:]),
                 "is32": w}
            if src.type == "REG":
                d["src"] = _reg(src)[0]
            else:
                d["imm"] = _int(src)
            return d

        def ja(self, c):
            return {"op": "ja", "target": int(c[1][2:])}

        def maygoto(self, c):
            return {"op": "may_goto", "target": int(c[0][2:])}

        def call(self, c):
            t = c[0]
            if t.type == "PCOFF":
                return {"op": "call", "target": int(t[2:]), "callee": None}
            name, _, num = str(t).rpartition("#")
            return {"op": "call", "callee": name, "callee_id": int(num)}

        def callx(self, c):
            return {"op": "call", "src": _reg(c[0])[0], "callee": "callx"}

        def exit(self, c):
            return {"op": "exit"}

        def nospec(self, c):
            return {"op": "other", "alu": "nospec"}

        def skbidx(self, c):
            return [_reg(t)[0] for t in c if t.type == "REG"]

        def ldabs(self, c):
            regs = c[2]
            return {"op": "ld_abs", "size": str(c[1]), "src": regs[0] if regs else None}

        def addrcast(self, c):
            return {"op": "mov", "dst": _reg(c[0])[0], "src": _reg(c[1])[0],
                    "alu": "addr_space_cast"}

        # ---- state entries
        def const(self, c):
            s = str(c[0])
            precise = s.startswith("P")
            return RegValue(type="scalar", precise=precise, const=_int(s[1:] if precise else s))

        def fp(self, c):
            t = str(c[0])                       # fp-8, or 6.18's fp[0]-40 (frame 0)
            if t.startswith("fp["):
                frame, _, off = t[3:].partition("]")
                return RegValue(type="fp", off=int(off), extra=(("frame", frame),))
            return RegValue(type="fp", off=int(t[2:]))

        def precise_only(self, c):
            return RegValue(type="", precise=True)

        def marks(self, c):
            return str(c[0])

        def arg_chain(self, c):
            vals = [str(t) for t in c]
            return [(k, vals[-1]) for k in vals[:-1]]

        def arg_tnum(self, c):
            return [("var_off", (_int(str(c[1])), _int(str(c[2]))))]

        def args(self, c):
            out = []
            for pairs in c:
                out.extend(pairs)
            return out

        def typed(self, c):
            name = str(c[0])
            precise = name.startswith("P") and len(name) > 1
            if precise:
                name = name[1:]
            kw: dict = {}
            extra = []
            for k, v in (c[1] or ()) if len(c) > 1 else ():
                if k == "var_off":
                    kw["var_off"] = v
                    continue
                key = _BOUND_KEYS.get(k)
                if key == "id" and isinstance(v, str) and "+" in v:
                    v = v.split("+", 1)[0]      # 6.18 "id=1+0": id plus a delta
                if key is not None:
                    try:
                        kw[key] = _int(v)
                        continue
                    except ValueError:
                        pass
                if k == "map":
                    kw["map"] = v
                    continue
                extra.append((k, v if isinstance(v, str) else repr(v)))
            return RegValue(type=name, precise=precise, extra=tuple(extra), **kw)

        def slot(self, c):
            name, _, live = str(c[0]).partition("_")
            prefix, v = c[1], c[2]
            if v is None:                       # 6.1 prints "fp-104=" for some slots
                return Slot(name=name, marks=str(prefix) if prefix else "", liveness=live)
            if isinstance(v, str):
                return Slot(name=name, marks=v, liveness=live)
            # 6.18: "fp-16=????scalar()": partial spill, marks then the spilled value
            return Slot(name=name, value=v, marks=str(prefix) if prefix else None, liveness=live)

        def refs(self, c):
            return ("refs", tuple(int(t) for t in c))

        def frame_label(self, c):
            return ("frame", int(str(c[0])[5:-1]))

        def flag(self, c):
            return ("flag", str(c[0]))

        # ---- statistics
        def counter(self, c):
            return (str(c[0]), int(c[1]))

        def processed(self, c):
            kv = dict(c[2:])
            return Processed(insns=int(c[0]), limit=int(c[1]),
                             max_states_per_insn=kv.get("max_states_per_insn"),
                             total_states=kv.get("total_states"),
                             peak_states=kv.get("peak_states"), mark_read=kv.get("mark_read"))

        def stack_depth(self, c):
            return str(c[0])

        def vtime(self, c):
            return int(c[0])

    return _ToModel()


def parser():
    """The LALR parser, built on first use and kept for the life of the process."""
    global _PARSER
    if _PARSER is None:
        from lark import Lark
        text = resources.files(__package__).joinpath(GRAMMAR_FILE).read_text()
        _PARSER = Lark(text, parser="lalr", lexer="contextual", start=START_SYMBOLS,
                       transformer=_build_transformer(), maybe_placeholders=True,
                       propagate_positions=False)
    return _PARSER


LARK_PARSES = [0]       # how many texts went through Lark (shapes, instructions, statistics)


def _safe_parse(text: str, start: str):
    from lark.exceptions import LarkError
    LARK_PARSES[0] += 1
    try:
        return parser().parse(text, start=start)
    except LarkError:
        return None
    except (ValueError, IndexError):     # a number the grammar accepted but int() did not
        return None


@lru_cache(maxsize=65536)
def parse_insn(opcode: int, text: str) -> Optional[Insn]:
    d = _safe_parse(text, "insn_text")
    if not isinstance(d, dict):
        return None
    return Insn(opcode=opcode, text=text, **d)


# Numbers inside a state entry (bounds, offsets, ids, constants) vary from one iteration of
# a loop to the next while the entry's structure does not. An entry is therefore parsed once
# per *shape*: its numbers are replaced by numbered placeholders, Lark parses the shape, and
# the placeholders in the typed result are replaced by the entry's own numbers. Register
# names and key names (R3, smin32) are not numbers here (no placeholder after a letter).
# (Same matches as (?<=[=(;, \-P])(0x[0-9a-fA-F]+|\d+)(?=[),; ]|$), written to start with
# the digit so that the regex engine can skip to digits: 2-3x faster on state text.)
_NUM = re.compile(r"(\d(?<=[=(;, \-P]\d)(?:(?<=0)x[0-9a-fA-F]+|\d*))(?=[),; ]|$)")
_PH = 7_770_000_000          # placeholder k is _PH + k (never a real printed value here)
_PH_RE = re.compile(r"777000000\d")


def _fill(v, nums: list[int]):
    """v with every placeholder replaced by the corresponding number."""
    t = type(v)
    if t is int:
        a = abs(v)
        if _PH <= a < _PH + len(nums):
            n = nums[a - _PH]
            return -n if v < 0 else n
        return v
    if t is Slot:
        return Slot(v.name, _fill(v.value, nums), v.marks, v.liveness) if v.value is not None else v
    if t is RegValue:
        return RegValue(*[_fill(getattr(v, f), nums) for f in _REGVALUE_FIELDS])
    if t is tuple:
        return tuple(_fill(x, nums) for x in v)
    if t is str and _PH_RE.search(v):
        return _PH_RE.sub(lambda m: str(nums[int(m.group(0)) - _PH]), v)
    return v


def _has_ph(v) -> bool:
    t = type(v)
    if t is int:
        return _PH <= abs(v) < _PH + 10
    if t is tuple:
        return any(_has_ph(x) for x in v)
    if t is str:
        return _PH_RE.search(v) is not None
    return False


# A register or stack slot entry's name (R3_w, fp-8; the grammar's SLOTNAME) takes no part
# in how the rest of the entry is parsed: the rest ("=scalar(...)") is parsed once behind a
# fixed name, and the entry's own name and liveness suffix are put in the Slot as the
# grammar's slot() would. So R1=..., R2_w=..., fp-8=... of the same value shape cost one
# Lark parse, not one each.
_SLOTNAME = re.compile(r"(R\d+|fp-?\d+)(_[rwD]+)?")


@lru_cache(maxsize=65536)
def _parse_shape(shape: str):
    """(typed result of the shape, fill plan): the plan lists the RegValue fields that hold
    placeholders, so filling in the numbers costs one RegValue construction."""
    i = shape.find("=")
    if i > 0 and _SLOTNAME.fullmatch(shape, 0, i):
        r, vals, plan = _parse_slot_rest(shape[i:])
        if r is None:
            return None, None, None
        name, _, live = shape[:i].partition("_")
        return Slot(name, r.value, r.marks, live), vals, plan
    return _parse_whole(shape)


@lru_cache(maxsize=16384)
def _parse_slot_rest(rest: str):
    return _parse_whole("R0" + rest)


def _parse_whole(shape: str):
    r = _safe_parse(shape, "item")
    if type(r) is Slot and r.value is not None:
        vals = [getattr(r.value, f) for f in _REGVALUE_FIELDS]
        plan = tuple(i for i, x in enumerate(vals) if _has_ph(x))
        return r, vals, plan
    return r, None, None


def shape_of(text: str) -> tuple[str, list[int]]:
    """(text with its numbers replaced by placeholders, the numbers as ints). Raises
    ValueError for a number int(_, 0) refuses (e.g. "08"), as the per-number conversion did."""
    parts = _NUM.split(text)
    if len(parts) == 1:
        return text, []
    nums = [int(x, 0) for x in parts[1::2]]
    out = [parts[0]]
    for k in range(len(nums)):
        out.append(_PH_STR[k] if k < len(_PH_STR) else str(_PH + k))
        out.append(parts[2 * k + 2])
    return "".join(out), nums


_PH_STR = tuple(str(_PH + k) for k in range(10))


def _has_ph_deep(v) -> bool:
    """Whether v (a template value) holds a placeholder anywhere (conservative)."""
    t = type(v)
    if t is Slot:
        return _has_ph_deep(v.value)
    if t is RegValue:
        return any(_has_ph_deep(getattr(v, f)) for f in _REGVALUE_FIELDS)
    return _has_ph(v)


@lru_cache(maxsize=16384)
def parse_item(text: str):
    """One state entry -> Slot, ("refs", (..)), ("frame", n), ("flag", name) or None."""
    try:
        shape, nums = shape_of(text)
    except ValueError:
        # digits that are not one number, e.g. fp-8=00002047: the slot-type chars "0000"
        # above a sub-register spill, then the spilled value 2047: the grammar splits them
        return _safe_parse(text, "item")
    if not nums:
        return _parse_shape(text)[0]
    if len(nums) > 9:
        return _safe_parse(text, "item")
    r, vals, plan = _parse_shape(shape)
    if r is None:
        return None
    if vals is None:
        return _fill(r, nums)
    vals = list(vals)
    for i in plan:
        vals[i] = _fill(vals[i], nums)
    return Slot(r.name, RegValue(*vals), r.marks, r.liveness)


def parse_stat(start: str, text: str):
    return _safe_parse(text, start)
