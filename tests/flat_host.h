/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The simplest host a core test can have: every HVA of a slot at HVA0 is
 * backed by the frame at the same offset from PA0, writable, mapped at
 * PG, with no references to count.  For tests whose point is the
 * handlers' work, not the host's (mmu_aging, mmu_dirty_hw).
 */
#ifndef S2_TESTS_FLAT_HOST_H
#define S2_TESTS_FLAT_HOST_H

#include <s2mmu/mmu.h>

#define PG	4096ULL
#define HVA0	0x7f4000000000ULL
#define PA0	0x100000000ULL

static int flat_resolve(void *host, s2_hva_t hva, bool write, struct s2_resolved *r)
{
	(void)host;
	(void)write;
	*r = (struct s2_resolved){ .pa = s2_hpa(PA0 + (hva.v - HVA0)), .writable = true };
	return 0;
}

static void flat_put(void *host, const struct s2_resolved *r) { (void)host; (void)r; }
static uint64_t flat_size(void *host, s2_hva_t hva) { (void)host; (void)hva; return PG; }

static const struct s2_host_ops flat_ops = { flat_resolve, flat_put, flat_size, NULL };

#endif
