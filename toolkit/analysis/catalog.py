"""The diagnosis catalog: failure classes with stable ids, categories, fixes and helpers.

Contract: CLASSES maps a stable class id (used by FQDNKIT_EXPECT_REJECT annotations and by
expected.json files; never rename one) to a FailureClass. `category` is one of
CATEGORIES. `fix` names the helper in reference_bpf/lib/ that solves the problem;
`kernel_fix` says what to change per kernel. KERNEL_CATEGORIES maps kernel 7.3's report
categories to ours (`kernel_category_to_ours`).
"""
from __future__ import annotations

from dataclasses import dataclass

CATEGORIES = ("pointer-range", "bounded-loop", "other")


@dataclass(frozen=True)
class FailureClass:
    id: str
    category: str
    title: str
    fix: str
    helper: str = ""           # file in reference_bpf/lib/ (and function) that solves it
    kernel_fix: str = ""       # per-kernel advice


_CURSOR = "cursor.bpf.h: cursor_pull()"
_SCRATCH = "scratch.bpf.h: dns_msg_load() + scratch_get8()/scratch_get16()"
_WALK = "dns_walk.bpf.h: dns_loop() with DNS_LOOP_TECHNIQUE"

_LIST = [
    FailureClass("pkt-no-check", "pointer-range", "packet read with no bounds check",
                 "compare the pointer plus the bytes you read with data_end right before the "
                 "read; cursor_pull(&c, n) does it and returns NULL when the packet is short",
                 _CURSOR, "any kernel: direct packet access needs the check (4.7+)"),
    FailureClass("pkt-off-by-one", "pointer-range", "bounds check shorter than the read",
                 "make the check cover the whole read: `if (p + off + size > data_end)`; "
                 "cursor_pull(&c, n) checks exactly the n bytes it hands out",
                 _CURSOR, "any kernel"),
    FailureClass("pkt-unbounded-min", "pointer-range",
                 "packet pointer plus a scalar with unbounded minimum",
                 "bound the offset before adding it to the pointer (unsigned type and an upper "
                 "limit, e.g. `if (n > CURSOR_MAX_PULL) return`); cursor_pull() does it",
                 _CURSOR, "any kernel"),
    FailureClass("pkt-offset-too-large", "pointer-range",
                 "packet offset may exceed 0xffff, so no check can prove a range",
                 "keep variable packet offsets small (mask or bound them below 0xffff) or copy "
                 "the message with dns_msg_load() and read it at masked indices",
                 _SCRATCH, "any kernel: MAX_PACKET_OFF is 0xffff"),
    FailureClass("range-lost-spill", "pointer-range",
                 "a proved range or pointer type was lost through a stack spill",
                 "keep the pointer in a register or re-check it after reloading it from the "
                 "stack; or keep offsets (not pointers) and read a scratch copy at masked "
                 "indices", _SCRATCH,
                 "< 5.10 spills of 32-bit scalars lose their bounds; 6.x keeps full spills"),
    FailureClass("range-lost-join", "pointer-range",
                 "the range proved on one path or copy does not hold where the read happens",
                 "re-check the pointer right before the read (cursor_pull), or read from a "
                 "scratch copy at masked indices so no range has to survive the join",
                 _CURSOR + " / " + _SCRATCH, "any kernel"),
    FailureClass("stack-var-offset", "pointer-range", "stack access at a variable offset",
                 "index a map-value scratch buffer (masked) instead of a stack array",
                 "scratch.bpf.h: scratch_put8() / scratch_get8()",
                 "variable-offset stack reads need 5.12+ and initialized bytes"),
    FailureClass("stack-oob", "pointer-range", "stack access outside the 512-byte frame",
                 "shrink the stack frame; move large buffers to a per-CPU scratch map value",
                 "scratch.bpf.h", "any kernel: 512 bytes of stack"),
    FailureClass("map-value-oob", "pointer-range", "map value access beyond value_size",
                 "check the offset against the value size (or mask it) before the access",
                 "scratch.bpf.h: scratch_get8()", "any kernel"),
    FailureClass("scratch-index-unmasked", "pointer-range",
                 "variable index into a map-value buffer without a mask or bound",
                 "mask every index with the buffer size - 1 (power of two): "
                 "buf[i & DNS_MSG_MASK]; scratch_get8()/scratch_put8() do it",
                 "scratch.bpf.h: scratch_get8() / scratch_put8()", "any kernel"),
    FailureClass("negative-min", "pointer-range", "signed index whose minimum may be negative",
                 "use an unsigned index (or check `i >= 0`) and bound it above",
                 "scratch.bpf.h: scratch_get8()", "any kernel"),
    FailureClass("ptr-arith", "pointer-range", "pointer arithmetic the verifier forbids",
                 "do arithmetic on offsets (scalars), add them to the pointer once, then check",
                 _CURSOR, "any kernel"),
    FailureClass("too-many-insns", "bounded-loop",
                 "the verifier processed 1M instructions (loop explored iteration by iteration)",
                 "use a loop the verifier checks once: bpf_loop() (DNS_LOOP_BPF_LOOP, 5.17+), "
                 "bpf_for iterators (DNS_LOOP_ITER, 6.4+) or may_goto (DNS_LOOP_MAY_GOTO, 6.9+); "
                 "or lower the bound", _WALK,
                 "5.17+: bpf_loop; 6.4+: open-coded iterators; 6.9+: may_goto; older: smaller "
                 "bound or #pragma unroll within 1M insns"),
    FailureClass("jump-seq-too-complex", "bounded-loop",
                 "more than 8192 branches pending at once (each iteration forks)",
                 "make the loop body branch less (compute, then check once), or use bpf_loop()/"
                 "iterators so the body is verified once", _WALK,
                 "5.17+: bpf_loop; 6.4+: iterators"),
    FailureClass("infinite-loop", "bounded-loop", "a loop the verifier sees make no progress",
                 "make the loop variable change on every iteration and bound it; or use "
                 "bpf_loop()/may_goto", _WALK, "5.3+ bounded loops"),
    FailureClass("back-edge", "bounded-loop", "a backward jump the kernel does not allow",
                 "unroll (DNS_LOOP_UNROLL) for kernels < 5.3 or unprivileged loaders, else "
                 "bpf_loop()", _WALK, "< 5.3 (or without CAP_BPF): no loops at all"),
    FailureClass("null-not-checked", "other", "pointer that may be NULL used without a check",
                 "check the helper's result against NULL before using it",
                 "scratch.bpf.h (see its map lookup)", "constant-key array lookups are "
                 "non-NULL only on newer kernels: keep the check for older ones"),
    FailureClass("uninit-read", "other", "read of an uninitialized register or stack slot",
                 "initialize the variable (e.g. `= {}` / __builtin_memset) before use", "",
                 "privileged loaders on 6.x accept uninitialized stack reads; others do not"),
    FailureClass("r0-not-set", "other", "the program exits without setting R0",
                 "return a value on every path", "", "any kernel"),
    FailureClass("bad-return", "other", "return value outside the range the program type allows",
                 "return only the values the hook allows (e.g. 0/1 for cgroup_skb)", "",
                 "any kernel"),
    FailureClass("helper-arg", "other", "wrong argument type or size for a helper/kfunc",
                 "pass what the helper's prototype expects (pointer type, bounded size > 0)",
                 _SCRATCH, "check the helper's availability per kernel"),
    FailureClass("helper-unavailable", "other", "helper or kfunc not allowed here",
                 "use a helper the program type allows on the oldest target kernel", "",
                 "see bpftool feature probe per kernel"),
    FailureClass("scalar-deref", "other", "dereference of a scalar (not a pointer)",
                 "keep the pointer's type: do not round-trip it through integers", "", "any"),
    FailureClass("ctx-access", "other", "invalid context access", "read only the ctx fields "
                 "the program type allows, at their exact size", "", "any kernel"),
    FailureClass("unreleased-ref", "other", "a reference was not released on every path",
                 "release (or submit/discard) on every path", "", "any kernel"),
    FailureClass("unsupported-insn", "other", "instruction this kernel does not know",
                 "build the variant for the oldest target kernel (e.g. DNS_LOOP_BOUNDED instead "
                 "of DNS_LOOP_MAY_GOTO)", _WALK,
                 "may_goto needs 6.9+, gotol/ldsx/movsx/bswap need 6.6+ (cpu v4)"),
    FailureClass("other", "other", "failure outside the catalog", "read the error message",
                 "", ""),
]

CLASSES: dict[str, FailureClass] = {c.id: c for c in _LIST}

# kernel 7.3 "Verification failed: <category>" -> our category
KERNEL_CATEGORIES = {
    "memory safety: access outside bounds": "pointer-range",
    "register type safety: pointer offset is not safe": "pointer-range",
    "register type safety: invalid dereference": "other",
    "register type safety: unreadable register": "other",
    "resource lifetime safety: unreleased resource": "other",
}


def kernel_category_to_ours(kernel_category: str) -> str:
    key = kernel_category.strip().lower()
    if key in KERNEL_CATEGORIES:
        return KERNEL_CATEGORIES[key]
    if "bound" in key or "offset" in key or "range" in key:
        return "pointer-range"
    if "loop" in key or "complex" in key:
        return "bounded-loop"
    return "other"


def get(cls_id: str) -> FailureClass:
    return CLASSES.get(cls_id, CLASSES["other"])
