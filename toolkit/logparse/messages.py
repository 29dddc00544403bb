"""Catalog of the verifier's error and informational messages, by family.

Contract: `classify_message(text) -> ErrorMessage | None` for error lines (the text is kept
as printed; `family` names the message family and `fields` the numbers/names in it) and
`is_info(text)` for known non-error lines. The formats come from kernel/bpf/verifier.c,
kernel/bpf/log.c and kernel/bpf/btf.c of kernels 6.1 .. 7.x (read, not copied); a message
whose numbers moved between versions is matched loosely (the family is what matters).
Order matters: the first matching family wins. Every error format the verifier of 6.1,
6.12 and 7.3 can print (tests/logparse/data/verifier_formats_<tag>.txt, taken from the
kernels' own strings by scripts/message_coverage.py) has a family here; the families added
for that coverage come after the older ones, so a line the catalog knew keeps its family.
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
    # check_reg_sane_offset() / sanitize_ptr_alu(): a constant or bound that takes a
    # (non-packet) pointer out of range
    ("ptr-value-oob", r"value " + _n("value") + r" makes (?P<ptr>\w+) pointer be out of bounds"),
    ("ptr-const-math", r"math between (?P<ptr>\w+) pointer and " + _n("value") + r" is not allowed"),
    ("ptr-const-math", r"(?P<ptr>\w+) pointer offset " + _n("value") + r" is not allowed"),
    ("ptr-sum-too-big", r"the sum of " + R + r" (?P<bound>umin|umax)_value " + _n("value") + r" is too big"),
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
    ("ctx-access", r"invalid access to (?:context, ctx_size=" + _n("ctx_size") + r" |flow keys )off="
     + _n("off") + r" size=" + _n("size")),
    # ---- stack
    ("stack-var-off", r"invalid (?:unbounded )?variable-offset (?P<rw>read|write|indirect access) (?:from|to|of) stack R" + r"(?P<reg>\d+)"),
    ("stack-var-off", r"variable (?:stack|ctx|\w+) access var_off="),
    # 6.x: "invalid unbounded variable-offset%s stack R%d", "invalid variable-offset%s stack
    # R%d var_off=%s off=%d size=%d" with %s "", " read from", " write to", " indirect access to"
    ("stack-var-off", r"invalid (?:unbounded )?variable-offset(?: (?P<rw>read from|write to|indirect access to))? stack R(?P<reg>\d+)"),
    ("stack-var-off", R + r"(?: \w+)? variable (?:offset )?stack access prohibited for !root"),
    ("stack-var-off", r"variable offset stack pointer cannot be passed into helper function"),
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
    ("stack-too-big", r"stack size of subprog " + _n("subprog") + r" is " + _n("size") + r"\. Too large"),
    ("stack-too-big", r"tail_calls are not allowed when call stack of previous frames is " + _n("size")
     + r" bytes\. Too large"),
    ("stack-too-big", r"stack arg write offset " + _n("off") + r" exceeds max " + _n("max")),
    ("stack-uninit", r"reading from stack (?:R(?P<reg>\d+) )?off " + _n("off") + r"\+" + _n("sub")
     + r" size " + _n("size") + r", slot poisoned by dead code elimination"),
    ("stack-uninit", r"invalid read from stack arg off " + _n("off") + r" depth " + _n("depth")),
    ("stack-spill", r"(?:attempt to corrupt spilled pointer on stack|leaking pointer from stack off "
     + _n("off") + r"|cannot spill pointers to stack into stack frame of the caller|spilled ptr in "
     r"range of var-offset stack write|uninit stack in range of var-offset write prohibited)"),
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
    # 7.x names the argument by its register: "R2 reference type('struct foo') ..."
    ("helper-arg", R + r" (?:reference type\(|(?:pointer type \S+ \S+ must|expected pointer|expects pointer|expected for|doesn't point to) ).*"),
    ("helper-arg", r"arg#?(?P<arg>\d+) (?:arena|untrusted|struct|should|is expected|is neither|BTF type|no referenced|offset=|arg#\d+ memory).*"),
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
    ("r0-exit", r"In (?:async )?callback the register R0 .*"),      # 7.x spelling
    ("callback", r"(?:cannot pass in dynptr at an offset|.* callback .* (?:is not|must|has).*|bpf_loop .*|loop callback.*).*"),
    ("iter", r"(?:expected (?:an )?(?:initialized|uninitialized) iter_\w+ as arg #?\d+|.*iter.* is not (?:initialized|allowed).*)"),
    ("btf", r"(?:invalid btf\w*|BTF .*(?:invalid|not found|missing).*|.* is not a struct|invalid (?:line|func) info.*|\[\d+\] .*(?:Invalid|size).*).*"),
    ("verifier-bug", r"(?:verifier bug.*|BUG .*|WARNING:.*)"),
    ("attach", r"(?:attach to unsupported member|Cannot (?:replace|attach|recursively attach).*|.* is not a valid attach target|tracing progs cannot use .*|Extension programs should be.*|.* prog cannot be attached.*)"),
    # ---- formats of 6.1 .. 7.3 that the families above do not cover (found by
    # scripts/message_coverage.py against the kernels' format strings)
    ("ptr-arith-sanitize", R + r" (?:has unknown scalar with mixed signed bounds|has pointer with "
     r"unsupported alu operation|could not be pushed for speculative verification|stack pointer "
     r"arithmetic goes out of range)"),
    ("ptr-arith-prohibited", R + r" (?:tried to subtract pointer from scalar|subtraction from stack "
     r"pointer prohibited|pointer \S+ pointer prohibited|sign-extension part of pointer)"),
    ("ptr-offset", r"negative offset (?P<ptr>\w+) ptr R(?P<reg>\d+) off=" + _n("off") + r" disallowed"),
    ("ptr-offset", R + r" invalid (?:variable buffer offset|negative \w+ buffer offset|variable offset "
     r"to flow keys): off=" + _n("off")),
    ("mem-oob", R + r" invalid (?P<what>\w+)(?: buffer)? access:? off=" + _n("off") + r",? size=" + _n("size")),
    ("map-value-oob", r"invalid access to map value pointer, value_size=" + _n("value_size") + r" off=" + _n("off")),
    ("map-rdonly", r"(?P<rw>read from|write into) map forbidden(?:, value_size=" + _n("value_size")
     + r" off=" + _n("off") + r" size=" + _n("size") + r")?"),
    ("btf-ptr-access", R + r" is (?:ptr_)?\w+ (?:invalid negative access|invalid variable offset|access "
     r"user memory|access percpu memory): off=" + _n("off")),
    ("btf-ptr-access", r"(?:access beyond struct \S+ at off " + _n("off") + r" size " + _n("size")
     + r"|access beyond the end of member|struct \S+ doesn't have field at offset|cannot access ptr "
     r"member|direct access to \S+ is disallowed|only read (?:from \S+ )?is supported|R\d+ cannot "
     r"write into|Cannot access kernel 'struct|'struct \S+' access is allowed only to|\S+ access is "
     r"allowed only to|\S+ is allowed only to CAP_PERFMON)"),
    ("pkt-write", r"(?:cannot write into packet|the prog does not allow writes to packet data)"),
    ("pkt-invalidated", R + r" is a packet pointer, but func#" + _n("func") + r" may change packet data"),
    ("misaligned-access", r"misaligned (?:\w+ )?access off "),
    ("null-arg", r"(?:Possibly NULL pointer passed to (?:helper|trusted) \S+|(?:R\d+|arg#\d+) is expected to be non-NULL)"),
    ("r0-exit", r"(?:At subprogram exit the register R(?P<reg>\d+) is not a scalar value|.* the register "
     r"R\d+ is not a known value|R0 not a scalar value|exception cb cannot return void|cannot return "
     r"stack pointer to the caller)"),
    ("ref-leak", r"Leaking reference id=" + _n("id") + r" alloc_insn=" + _n("alloc_insn")),
    ("ref-leak", r"(?:\S+ would lead to reference leak|bpf_\w+ is missing|" + _n("count")
     + r" bpf_preempt_enable\S* missing|cannot restore irq state out of order)"),
    ("ref-invalid", r"(?:arg \d+ is an unacquired reference|release (?:helper|kfunc) \S+ expects "
     r"referenced|R\d+ must (?:be referenced|have zero offset when passed to release)|"
     r"CONST_PTR_TO_DYNPTR cannot be released|allocated object must be referenced)"),
    ("lock", r"(?:\w+_unlock (?:without taking a lock|of different lock|cannot be out of order)|Locking two "
     r"bpf_spin_locks|Acquiring the same lock again|bpf_spin_lock at off=" + _n("off") + r" must be held|"
     r"held lock and object are not in the same allocation|can't (?:res_)?spin_\{lock,unlock\} in rbtree cb|"
     r"irq flag acquired by)"),
    ("lock-region", r"\S+ cannot be used inside \S+-ed region"),
    ("func-unavailable", r"(?:\S+ is not sleepable|program must be sleepable to call|kernel func(?:tion)? \S+ "
     r"(?:is sleepable|requires RCU)|sleepable (?:helper|global function) |nested rcu read lock|unmatched "
     r"(?:rcu read unlock|attempt to enable preemption)|destructive kfunc calls require|cannot call kernel "
     r"function from non-GPL|calling kernel functions? (?:is|are) not (?:supported|allowed)|JIT (?:does not|doesn't) "
     r"support|JIT is required|callbacks are not allowed in non-JITed|func \S+ (?:supported only for|not "
     r"supported for program type)|cannot get callchain buffer|helper call is not allowed in probe|"
     r"css_task_iter is only allowed|failed to find BTF for kernel function|kernel btf_id \S+ is not a "
     r"function|kernel function btf_id|cannot find address for kernel function|address of kernel "
     r"func(?:tion|_id) \S+ is out of range|loading/calling other bpf or kernel functions|negative offset "
     r"disallowed for kernel module function|kfunc (?:offset|fd_idx)|invalid (?:module BTF|kernel function "
     r"btf_id)|BTF fd for kfunc|kernel function \S+ (?:returns|unhandled)|acquire kernel function|kernel "
     r"supports at most|func \S+ has non-overwritten|(?:invalid|unknown) return type \S+ of func|kfunc \S+ "
     r"(?:failed callback verification|has inconsistent|conversion of owning)|program requires BPF JIT|"
     r"Private stack not supported)"),
    ("helper-arg", r"(?:R\d+ (?:has type|is of type|is not a|must (?:be a|point to)|does not point|has no valid|"
     r"has non-overwritten|rdonly/rdwr_buf_size|points to outside|doesn't have constant offset|invalid "
     r"zero-sized read)|invalid zero-sized read|pointer in \S+ isn't map pointer|register "
     r"R\d+ doesn't point|expected \S+ or socket|Expected (?:a|an initialized) dynptr|Dynptr has to be|cannot "
     r"pass (?:pointer to const bpf_dynptr|in \S+ at an offset)|cannot overwrite referenced dynptr|potential "
     r"write to dynptr|\S+ has to be at a constant offset|Unsupported reg type|expected (?:valid iter pointer|"
     r"(?:an initialized|uninitialized) (?:iter_\S*|irq flag)|an RCU CS)|\S+\(\) may write into memory|kernel "
     r"function \S+ (?:args#|\S+ expected)|\S+ memory, len pair|\S+ not found at offset|\S+ doesn't point to|"
     r"\S+ (?:expected|expects|is neither|should be|must (?:be|have|point)|has (?:invalid|unsupported|pointer|type)) |"
     r"off[= ]?" + _n("off") + r" (?:doesn't point|kptr isn't)|map '.*' (?:doesn't have|has (?:more|no|repeating))|"
     r"(?:timer|workqueue) pointer in|operation on \S+ expects|rbtree_remove|local type ID argument|"
     r"bpf_(?:percpu_)?obj_new|kfunc bpf_rdonly_cast|Unknown type ID|Unrecognized \S+ type|invalid arg_type|"
     r"cannot update sockmap|callback function not allowed for map|get_local_storage\(\)|string is not "
     r"zero-terminated|direct value access on string|\S+ points to \w+ map which|Invalid format string|"
     r"unknown dynptr type|\S+ (?:prog->aux|arena pointer) |arena argument of|\S+ allocation size exceeds|"
     r"\S+ memory size \S+ is too large|Helper has invalid btf|\S+ can only take|\S+ not allowed in rbtree cb|Invalid read of \S+ bytes from insn_array)"),
    ("special-field", r"(?:store to (?:referenced kptr|uptr) disallowed|BPF_ST imm must be 0 when storing to kptr|"
     r"\S+ cannot be accessed (?:in)?directly|\S+ access (?:cannot have variable offset|misaligned|size must be)|"
     r"kptr in map can only be accessed|write to change key|\S+ '.*' has no valid|\S+ cannot be used in tracing "
     r"programs on types with NMI unsafe)"),
    ("map-use", r"(?:fd -?\d+ is not pointing to valid|fd_idx|fd_array|The total number of maps|(?:socket filter|"
     r"sleepable) progs cannot use|offload device mismatch|bpf_struct_ops map cannot be used|Sleepable programs "
     r"can only use|direct value offset of|no direct value access support|only one cgroup storage|CAP_BPF and "
     r"CAP_PERFMON are required|arena's user address|Only one arena per program|map_ptr access not supported|"
     r"failed to retrieve map value address|metadata kfuncs)"),
    ("bad-insn", r"(?:BPF_\w+(?:[|/]\w+)?(?:_\[ABS\|IND\])? (?:uses |stores |loads |cannot be mixed|instructions not allowed).*|at the time of BPF_LD_ABS|invalid (?:BPF_\S+ opcode|may_goto|"
     r"atomic operand size|shift)|div by zero|call to invalid destination|jump into the middle of ldimm64|indirect "
     r"jump out of range|jump table for insn|no jump tables found|Unknown conditional jump|addr_space_cast insn|"
     r"sign extending loads from arena|same insn cannot be used with|r11 load must be before|insn " + _n("insn")
     + r" cannot be patched|ldimm64 |pseudo btf_id|unrecognized bpf_ld_imm64)"),
    ("uninit-trap", r"unexpected __bpf_trap\(\) due to uninitialized variable"),
    ("callback", r"(?:callback function (?:not static|cannot be the main program)|cannot tail call within|cannot use "
     r"BPF_LD_\[ABS\|IND\] within callback|bpf_throw |insn \d+ cannot call exception cb|frame\d+ bpf_loop "
     r"iteration limit|\S+: too many iterations|Calling \S+ in unnecessary rbtree callback|exception (?:callback|cb) |multiple exception callback|"
     r"invalid exception callback)"),
    ("func-call", r"(?:recursive call from|mixing of tail_calls and bpf-to-bpf|tail_calls? (?:are|is) not allowed|"
     r"tail_call is only allowed|LD_ABS is (?:not|only) allowed|program with __ref argument cannot tail call|"
     r"func#\d+ writes \S+ stack arg slots|stack args are not supported|callee expects \S+ args|global "
     r"function (?:calls are not allowed|\S+ has)|Function \S+ has \S+ > \S+ args|Caller passes invalid args)"),
    ("jumps-too-complex", r"The sequence of " + _n("jumps") + r" jumps is too complex for async cb"),
    ("too-many", r"liveness analysis exceeded complexity limit \(" + _n("calls") + r" calls\)"),
    ("btf", r"(?:missing (?:btf func_info|bpf_line_info)|Invalid (?:line_info|insn code at line_info|core_relo|BTF of "
     r"func|type of function)|nonzero (?:tailing record|insn_off)|same or smaller insn offset|invalid (?:func info|"
     r"type id \S+ in func info|btf_id for context)|func_info BTF section|relo #|Global functions? |global function "
     r"\S+ has|BTF of func(?:#\d+|_id \S+) |Verifier bug in function|Arg#\d+ type|The function \S+ |func '.*' |function "
     r"signature member|type '.*' has multiple type tags|(?:btf_vmlinux|in-kernel BTF) is malformed|kernel is missing "
     r"BTF|max struct nesting depth|field \S+ doesn't have size|kern ctx type id)"),
    ("attach", r"(?:attach_btf_id|Tracing program|FENTRY/FEXIT program|Only (?:FENTRY|fentry)|Cannot (?:extend|nest)|Can "
     r"attach to only|Extension program|Attach(?:ing)? |The address of function|can't modify return codes|Sleepable "
     r"program|Syscall programs can only be sleepable|Program of this type cannot be sleepable|BPF_LSM_CGROUP|struct"
     r"(?: ops programs must|_ops module)|attach to invalid member|\S+ programs cannot attach|ret type \S+ not allowed|"
     r"freplace programs with|Subprog \S+ doesn't exist|Program extension requires BTF|\S+\(\) (?:is not a global "
     r"function|has \S+ args while|is not modifiable|is %s while)|Return type \S+ of|arg\d+ (?:in \S+\(\)|\S+\(struct))"),
    ("signature", r"(?:signature verification failed|signed (?:program|payload)|program's hash doesn't match|cannot "
     r"resolve signing keyring|failed to read signed metadata map)"),
    ("verifier-bug", r"(?:verifier (?:BUG|internal error|insn history bug|bug)|Verifier bug|BUG[_: ].*|[\w ]+ internal bug|"
     r"propagate_live:|mark_reg_\w+\(regs, |REG INVARIANTS VIOLATION|unknown (?:stack slot type|iter state)|"
     r"tail_call abusing map_ptr|allocated_stack too small|bpf verifier (?:is|narrow ctx)|kernel subsystem "
     r"misconfigured|invalid kernel function call not eliminated|adding tail call poke descriptor failed|tracking "
     r"tail call prog failed|failed to (?:push state|mark s32 range)|Unhandled enum type|__bpf_trampoline_unlink_prog|"
     r"\S+ has non-overwritten BPF_PTR_POISON)"),
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
    r"Cannot find btf of tracepoint template, fall back to \S*\.",
    r"Note, BPF_LSM_CGROUP that attach to void LSM hooks can't modify return value!",
    r"use static function instead",
    r"signature verification passed",
    r"reg type unsupported for arg#\d+ (?:\w+ )?function \S+",
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
