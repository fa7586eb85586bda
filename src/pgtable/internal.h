/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Engine internals shared by the operations' files: the entry layer
 * (entry.h), the walker (walk.h), what removing a translation owes
 * (owed.h), and the argument checks every public operation makes.
 */
#ifndef S2_PGTABLE_INTERNAL_H
#define S2_PGTABLE_INTERNAL_H

#include "entry.h"
#include "walk.h"
#include "owed.h"

static inline int check_range(const struct s2_pgtable *pgt, uint64_t addr, uint64_t size)
{
	uint64_t mask = (1ULL << pgt->page_shift) - 1;

	if (!size || (addr & mask) || (size & mask))
		return -S2_EINVAL;
	if (addr + size < addr)
		return -S2_EINVAL;
	if (addr + size > (1ULL << pgt->ia_bits))
		return -S2_ERANGE;
	return 0;
}

static inline bool pgt_live(const struct s2_pgtable *pgt)
{
	return pgt && pgt->root;
}

/* What every range operation checks first: a live table and a range
 * check_range accepts.  Return: 0, -S2_EINVAL or -S2_ERANGE. */
static inline int range_ok(const struct s2_pgtable *pgt, s2_gpa_t ipa, uint64_t size)
{
	if (!pgt_live(pgt))
		return -S2_EINVAL;
	return check_range(pgt, ipa.v, size);
}

/*
 * R is required (write-only and execute-only stage-2 mappings are legal on
 * arm64 but not on EPT, and no caller needs them); device memory is never
 * executable.
 */
static inline bool prot_ok(const struct s2_pgtable *pgt, unsigned prot)
{
	if (prot & ~(S2_PROT_RWX | S2_PROT_DEVICE | S2_PROT_CLEAN))
		return false;
	/* writable-clean needs write permission to defer, and hardware that
	 * records the first write (HD with DBM, or EPT A/D) */
	if ((prot & S2_PROT_CLEAN) &&
	    (!(prot & S2_PROT_W) || !(pgt->flags & (S2_PGT_HW_DBM | S2_PGT_EPT_AD))))
		return false;
	if (!(prot & S2_PROT_R))
		return false;
	if ((prot & S2_PROT_DEVICE) && (prot & S2_PROT_X))
		return false;
	return true;
}

#endif
