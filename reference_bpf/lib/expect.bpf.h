/* SPDX-License-Identifier: GPL-2.0 */
/*
 * expect.bpf.h - annotate the expected verifier outcome next to a program.
 *
 * In the spirit of the kernel selftests' __failure __msg(...): each annotation is
 * stored as a record in the ELF section ".fqdnkit.expect" (never loaded into the
 * kernel; libbpf skips unknown data sections), so `fqdnkit check` reads it from the
 * object itself with no source at hand. Record: NUL-separated
 *   "fqdnkit:expect", program, verdict ("accepted"|"rejected"), class, message regex,
 *   minimum kernel ("" if none)
 * Usage, right above the program:
 *   FQDNKIT_EXPECT_REJECT(neg_no_check, "pkt-no-check", "invalid access to packet");
 *   FQDNKIT_EXPECT_ACCEPT_SINCE(walk_iter, "6.4");
 */
#ifndef FQDNKIT_EXPECT_BPF_H
#define FQDNKIT_EXPECT_BPF_H

#define __FQDNKIT_EXPECT(prog, verdict, cls, msg, minkver)                          \
	static const char __fqdnkit_expect_##prog[]                                   \
	__attribute__((section(".fqdnkit.expect"), used, aligned(1))) =              \
		"fqdnkit:expect\0" #prog "\0" verdict "\0" cls "\0" msg "\0" minkver

/* The program is rejected; msg is a regex matched against the verifier log. */
#define FQDNKIT_EXPECT_REJECT(prog, cls, msg) \
	__FQDNKIT_EXPECT(prog, "rejected", cls, msg, "")
/* The program is accepted (the default for unannotated programs). */
#define FQDNKIT_EXPECT_ACCEPT(prog) __FQDNKIT_EXPECT(prog, "accepted", "", "", "")
/* The program is accepted on kernels >= minkver and may be rejected below. */
#define FQDNKIT_EXPECT_ACCEPT_SINCE(prog, minkver) \
	__FQDNKIT_EXPECT(prog, "accepted", "", "", minkver)

#endif
