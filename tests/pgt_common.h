/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Shared set-up for the engine tests: every format the engine supports. */
#ifndef S2_TESTS_PGT_COMMON_H
#define S2_TESTS_PGT_COMMON_H

#include <s2mmu/pgtable.h>
#include <s2mmu/hosted.h>

struct tfmt {
	const char *name;
	enum s2_format_id id;
	unsigned granule_shift;
	unsigned ia_bits;
	unsigned flags;
};

/* Every engine test runs on each of these. */
static const struct tfmt test_formats[] = {
	{ "arm64-4k", S2_FMT_ARM64, 12, 40, 0 },
	{ "arm64-16k", S2_FMT_ARM64, 14, 40, 0 },
	{ "arm64-64k", S2_FMT_ARM64, 16, 42, 0 },
	{ "test", S2_FMT_TEST, 12, 40, 0 },
	/*
	 * EPT with A/D enabled: the differential model tracks the access
	 * flag, which EPT without A/D does not have (pgt_unit.c runs the
	 * per-format unit tests on that variant too).
	 */
	{ "ept4-ad", S2_FMT_EPT, 12, 48, S2_PGT_EPT_AD },
	{ "ept5-ad", S2_FMT_EPT, 12, 57, S2_PGT_EPT_AD },
};
#define NR_TEST_FORMATS (sizeof(test_formats) / sizeof(test_formats[0]))

static inline int tfmt_init(struct s2_pgtable *pgt, struct s2_hosted *h,
			    const struct tfmt *f, unsigned extra_flags)
{
	struct s2_pgt_cfg cfg = {
		.format = f->id,
		.granule_shift = f->granule_shift,
		.ia_bits = f->ia_bits,
		.oa_bits = 48,
		.flags = f->flags | extra_flags,
		.plat = s2_hosted_platform(),
		.plat_ctx = h,
	};

	return s2_pgt_init(pgt, &cfg);
}

/* Every table page: refcount == 1 + live entries. Returns tables seen. */
struct refcheck {
	unsigned long tables;
	unsigned long bad;
};

static inline int refcheck_visit(struct s2_walk_ctx *c, unsigned visit)
{
	struct refcheck *r = c->arg;
	struct s2_pgtable *pgt = c->pgt;
	const struct s2_fmt_level *clv;
	uint64_t *child;
	unsigned i, n = 1U << pgt->fmt.bits_per_level, live = 0;

	(void)visit;
	clv = &pgt->fmt.lv[S2_LVL(c->level + 1)];
	/* decode the child address the way the engine does */
	{
		const struct s2_fmt_level *lv = &pgt->fmt.lv[S2_LVL(c->level)];
		uint64_t pa = ((c->old & lv->tbl_mask) >> lv->tbl_pos) << pgt->page_shift;

		child = (uint64_t *)(uintptr_t)pa;
	}
	for (i = 0; i < n; i++)
		if ((child[i] & clv->valid_mask) || (child[i] & clv->locked))
			live++;
	r->tables++;
	if (pgt->plat->page_ref_add(pgt->ctx, child, 0) != (int)(1 + live) || !live)
		r->bad++;
	return 0;
}

static inline struct refcheck refcheck(struct s2_pgtable *pgt)
{
	struct refcheck r = { 0, 0 };

	s2_pgt_walk(pgt, s2_gpa(0), 1ULL << pgt->ia_bits, refcheck_visit, &r, S2_WALK_TABLE_POST);
	return r;
}

#endif
