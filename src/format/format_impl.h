/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Format constructors, private to the library. */
#ifndef S2_FORMAT_IMPL_H
#define S2_FORMAT_IMPL_H

#include <s2mmu/pgtable.h>

/*
 * Fill @f for @cfg and choose the geometry: start level and the number of
 * root entries (concatenated initial-level tables included).
 * Return: 0 or -S2_EINVAL when the combination is not architecturally legal.
 */
int s2_format_arm64(struct s2_format *f, const struct s2_pgt_cfg *cfg,
		    int *start_level, unsigned *root_entries);
int s2_format_test(struct s2_format *f, const struct s2_pgt_cfg *cfg,
		   int *start_level, unsigned *root_entries);
int s2_format_ept(struct s2_format *f, const struct s2_pgt_cfg *cfg,
		  int *start_level, unsigned *root_entries);

/* Start level and root size by the arm64 rule (formats.md 1.7); @concat:
 * concatenate initial tables as far as allowed (else never). */
int s2_format_geometry(unsigned page_shift, unsigned ia_bits, int min_level, bool concat,
		       int *start_level, unsigned *root_entries);

/* Shift of the span of one entry at @level (page_shift at the last level). */
static inline unsigned s2_level_shift(unsigned page_shift, int level)
{
	return page_shift + (unsigned)(S2_LAST_LEVEL - level) * (page_shift - 3);
}

#endif
