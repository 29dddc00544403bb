/* SPDX-License-Identifier: GPL-2.0 */
/*
 * reasons.bpf.h - the reason table of reasons.def.h as a C enum.
 *
 * enum fqdnkit_reason { DNS_E_TRUNCATED = 1, ... };  functions return -DNS_E_TRUNCATED etc.
 */
#ifndef FQDNKIT_REASONS_BPF_H
#define FQDNKIT_REASONS_BPF_H

enum fqdnkit_reason {
	FQDNKIT_REASON_NONE = 0,
#define FQDNKIT_REASON(name, value, text) name = value,
#include "reasons.def.h"
#undef FQDNKIT_REASON
};

/* Every reason fits a counter map of FQDNKIT_REASON_SLOTS entries (checked at build time). */
#define FQDNKIT_REASON_SLOTS 256
#define FQDNKIT_REASON(name, value, text) \
	_Static_assert((value) > 0 && (value) < FQDNKIT_REASON_SLOTS, #name " out of range");
#include "reasons.def.h"
#undef FQDNKIT_REASON

#endif
