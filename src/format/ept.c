/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Intel EPT (SDM vol. 3C, EPT chapter; formats.md section 2). */
#include "format_impl.h"

int s2_format_ept(struct s2_format *f, const struct s2_pgt_cfg *cfg,
		  int *start_level, unsigned *root_entries)
{
	(void)f;
	(void)cfg;
	(void)start_level;
	(void)root_entries;
	return -S2_EOPNOTSUPP;
}
