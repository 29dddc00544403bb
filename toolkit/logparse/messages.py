"""Catalog of the verifier's error and informational messages, by family.

Contract: `classify_message(text) -> ErrorMessage | None` for error lines (the text is kept
as printed; `family` names the message family and `fields` the numbers/names in it) and
`is_info(text)` for known non-error lines. The formats come from kernel/bpf/verifier.c,
kernel/bpf/log.c and kernel/bpf/btf.c of kernels 6.1 .. 7.x (read, not copied); a message
whose numbers moved between versions is matched loosely (the family is what matters).
Order matters: the first matching family wins.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Optional

from ..logmodel import ErrorMessage

R = r"R(?P<reg>\d+)"
N = r"(?P<{}>-?\d+)"


def _n(name: str) -> str:
    return N.format(name)


# (family, regex). Regexes are anchored at the start of the (stripped) line.
ERROR_FAMILIES: list[tuple[str, str]] = [
    # ---- packet pointers
    ("pkt-access", r"invalid access to packet, off=" + _n("off") + r" size=" + _n("size")
     + r", " + R + r"\(id=" + _n("id") + r",off=" + _n("regoff") + r",r=" + _n("range") + r"\)"),
    ("pkt-outside", R + r" offset is outside of the packet"),
    ("pkt-unbounded-min", r"math between pkt pointer and register with unbounded min value is not allowed"),
    ("pkt-unbounded-min", R + r" unbounded min value is not allowed"),
    ("ptr-unbounded-min", r"math between (?P<ptr>\w+) pointer and register with unbounded min value is not allowed"),
    ("pkt-offset-too-large", r"value " + _n("value") + r" makes pkt pointer be out of bounds"),
    ("pkt-offset-too-large", R + r" (?:pointer arithmetic on pkt_end|pkt pointer) .*out of bounds"),
    ("pkt-end-arith", R + r" pointer arithmetic on (?P<what>pkt_end|PTR_TO_PACKET_END|\w+) prohibited"),
    ("pkt-misaligned", r"misaligned packet access off " + _n("off")),
    ("pkt-cmp", R + r" pointer comparison prohibited"),
    # ---- memory bounds
    ("map-value-oob", r"invalid access to map value, value_size=" + _n("value_size")
     + r" off=" + _n("off") + r" size=" + _n("size")),
    ("map-key-oob", r"invalid access to map key, key_size=" + _n("key_size") + r" off="
     + _n("off") + r" size=" + _n("size")),
    ("mem-oob", r"invalid access to memory, mem_size=" + _n("mem_size") + r" off="
     + _n("off") + r" size=" + _n("size")),
    ("min-negative", R + r" min value is negative, either use unsigned index or do a if \(index >=0\) check\."),
    ("min-outside", R + r" min value is outside of the allowed memory range"),
    ("max-outside", R + r" max value is outside of the allowed memory range"),
    ("unbounded-access", R + r" unbounded memory access, make sure to bounds check any such access"),
    ("ptr-arith-oob", R + r" pointer arithmetic of map value goes out of range"),
    ("ptr-arith-oob", R + r" tried to \w+ (?:from|beyond) .*"),
    ("ptr-arith-unbounded", R + r" (?:has )?unbounded (?:min|max) value"),
    ("ptr-arith-prohibited", R + r" (?:bitwise operator \S+|32-bit pointer arithmetic|pointer arithmetic) .*prohibited"),
    ("ptr-arith-prohibited", R + r" (?:pointer \+= pointer|pointer -= pointer) prohibited"),
    ("ptr-arith-prohibited", r"(?:R\d+ )?pointer arithmetic (?:with|on) .* prohibited"),
    ("ptr-offset", R + r" (?:var_off|variable \w+ access|has var_off).*"),
    ("ptr-offset", r"(?:dereference of modified \w+ ptr|invalid \w+ ptr) R(?P<reg>\d+)"),
    ("ctx-access", r"invalid bpf_context access off=" + _n("off") + r" size=" + _n("size")),
    ("ctx-access", r"invalid bpf_context access"),
    # ---- stack
    ("stack-var-off", r"invalid (?:unbounded )?variable-offset (?P<rw>read|write|indirect access) (?:from|to|of) stack R" + r"(?P<reg>\d+)"),
    ("stack-var-off", r"variable (?:stack|ctx|\w+) access var_off="),
    # check_stack_access_within_bounds(): "invalid%s stack R%d off=%d size=%d" where %s is
    # "", " read from", " write to" or " indirect access to" (a helper's memory argument)
    ("stack-oob", r"invalid(?: (?P<rw>read from|write to|indirect access to))? stack R(?P<reg>\d+) off="
     + _n("off") + r" size=" + _n("size")),
    ("stack-oob", r"invalid (?:stack|write to stack) off=" + _n("off")),
    # check_stack_read_fixed_off() / check_stack_range_initialized(): bytes never written
    ("stack-uninit", r"invalid read from stack off " + _n("off") + r"\+" + _n("sub") + r" size " + _n("size")),
    ("stack-uninit", r"invalid (?:indirect read|read) from stack (?:R(?P<reg>\d+) )?(?:var_off|off)"),
    ("stack-too-big", r"combined stack size of " + _n("frames") + r" calls is " + _n("size")),
    ("stack-too-big", r"stack (?:size|depth) .* (?:too large|exceeds)"),
    ("stack-too-deep", r"the call stack of " + _n("frames") + r" frames is too deep"),
    ("fp-readonly", r"frame pointer is read only"),
    # ---- registers / types
    ("uninit-reg", R + r" !read_ok"),
    ("invalid-mem-access", R + r" invalid mem access '(?P<type>[^']*)'"),
    ("reg-type", R + r" type=(?P<type>\S+) expected=(?P<expected>.*)"),
    ("reg-invalid", R + r" is (?:invalid|not a pointer|not a scalar)"),
    ("ptr-leak", R + r" leaks addr (?:into|as) .*"),
    ("ptr-leak", r"(?:R\d+ )?(?:partial copy of pointer|leaking pointer).*"),
    ("null-arg", r"(?:Possibly NULL pointer passed to (?:trusted|helper) arg|R(?P<reg>\d+) must be (?:referenced|trusted|a rcu pointer)).*"),
    ("helper-arg", r"arg#?(?P<arg>\d+) (?:expected|reference|type|is not|doesn't|pointer type|has).*"),
    ("helper-arg", r"(?:expected (?:an? )?\w+.* as arg #?\d+|.* (?:arg|argument) #?\d+ .*(?:expected|is not|must).*)"),
    ("helper-arg", r"R(?P<reg>\d+) (?:invalid zero-sized read|min value is negative|is not a known constant|doesn't have constant offset).*"),
    ("helper-arg", r"(?:invalid map_ptr to access map->|cannot pass map_type \d+ into func|map '.*' has to have BTF|R\d+ points to (?:map|pkt)|helper access to the packet is not allowed|invalid indirect read from stack).*"),
    ("helper-arg", r"(?:Unrecognized arg#\d+ type|R\d+ has value.*expected|R\d+ unbounded memory access.*).*"),
    ("r0-exit", r"At (?:program exit|async callback return|callback return) the register R0 .*"),
    ("r0-exit", r"(?:Global function \S+ doesn't return scalar|R0 leaks addr as return value).*"),
    ("ref-leak", r"(?:Unreleased reference id=" + _n("id") + r"(?: alloc_insn=" + _n("alloc_insn") + r")?.*|BPF_EXIT instruction (?:cannot be used inside|in main prog).*|.*lock is still held.*|.*must be released before.*)"),
    ("ref-invalid", r"(?:release kernel function .* expects refcounted PTR_TO_BTF_ID|.*reference has not been acquired before|Unreleased reference|cannot release unowned const bpf_dynptr|.*invalid ref.*)"),
    ("func-call", r"(?:unknown func \S+|program of this type cannot use helper \S+|cannot call GPL-restricted function from non-GPL compatible program|calling kernel function \S+ is not allowed|kernel function \S+ args#\d+ .*|invalid func \S+|function calls are not allowed while holding a lock|.* is not allowed in (?:this|sleepable).*|helper call might sleep.*|sleepable helper .* within rcu_read_lock region).*"),
    ("func-call", r"(?:Caller passes invalid args into func#\d+|func#\d+ .*(?:is not|has|too).*|Func#\d+ \('.*'\) (?:return type|arg).*|global function .* (?:expects|returns).*|caller passes invalid args).*"),
    # ---- complexity and control flow
    ("too-large", r"BPF program is too large\. Processed " + _n("insns") + r" insn"),
    ("jumps-too-complex", r"The sequence of " + _n("jumps") + r" jumps is too complex\."),
    ("infinite-loop", r"infinite loop detected at insn " + _n("insn")),
    ("back-edge", r"back-edge from insn " + _n("from") + r" to " + _n("to")),
    ("loop-detected", r"loop detected at insn " + _n("insn")),
    ("unreachable", r"unreachable insn " + _n("insn")),
    ("jump-range", r"jump out of range from insn " + _n("from") + r" to " + _n("to")),
    ("jump-range", r"jump to reserved code"),
    ("bad-exit", r"last insn is not an exit or jmp"),
    ("spill-size", r"invalid size of register (?P<what>spill|fill)"),
    ("bad-insn", r"(?:unknown opcode \S+|invalid BPF_\w+ .*|BPF_\w+ uses reserved fields|invalid insn idx|invalid src register \d+|invalid dst register \d+|R\d+ is invalid|misaligned (?:stack|value|context) access.*|invalid .* insn.*).*"),
    ("too-many", r"(?:too many (?:states|subprograms|jumps|map elements|\w+)|insn \d+ cannot be called from callback|number of funcs in func_info doesn't match|total number of subprogs exceeds).*"),
    ("callback", r"(?:cannot pass in dynptr at an offset|.* callback .* (?:is not|must|has).*|bpf_loop .*|loop callback.*).*"),
    ("iter", r"(?:expected (?:an )?(?:initialized|uninitialized) iter_\w+ as arg #?\d+|.*iter.* is not (?:initialized|allowed).*)"),
    ("btf", r"(?:invalid btf\w*|BTF .*(?:invalid|not found|missing).*|.* is not a struct|invalid (?:line|func) info.*|\[\d+\] .*(?:Invalid|size).*).*"),
    ("verifier-bug", r"(?:verifier bug.*|BUG .*|WARNING:.*)"),
    ("attach", r"(?:attach to unsupported member|Cannot (?:replace|attach|recursively attach).*|.* is not a valid attach target|tracing progs cannot use .*|Extension programs should be.*|.* prog cannot be attached.*)"),
]

# Known non-error lines (other than those lines.py recognises structurally).
INFO_PATTERNS = [
    r"arg#\d+ reference type\('.*'\) size cannot be determined: -?\d+",
    r"Func#\d+ (?:\('.*'\) )?is (?:global and assumed valid|safe for any args that match its prototype)\.?",
    r"reg type unsupported for arg#\d+ function \S+",
    r"Validating \S+ func#\d+\.\.\.",
    r"calling kernel function .* is (?:allowed|ok)",
    r"(?:reg type unsupported|btf_vmlinux is malformed|func_info: .*|line_info: .*)",
    r"returning from callee:",
    r"to caller at \d+:",
    r"(?:caller|callee):",
    r"\d+: safe",
    r"(?:propagating|propagating spill|checkpoint) .*",
    r"(?:INSN|insn) \d+ .*",
    r"live_regs? .*",
    r"(?:sanitize|speculative|Spectre v1|unsafe) .*",
]

_ERR = [(fam, re.compile(rx)) for fam, rx in ERROR_FAMILIES]
_INFO = [re.compile(rx + r"\s*$") for rx in INFO_PATTERNS]


@lru_cache(maxsize=8192)
def classify_message(text: str) -> Optional[ErrorMessage]:
    """The error family of a message line, or None if it is not a known error message."""
    s = text.strip()
    for fam, rx in _ERR:
        m = rx.match(s)
        if m:
            fields = tuple((k, v) for k, v in m.groupdict().items() if v is not None)
            return ErrorMessage(family=fam, text=text, fields=fields)
    return None


def is_info(text: str) -> bool:
    s = text.strip()
    return any(rx.match(s) for rx in _INFO)
