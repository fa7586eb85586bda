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
	unsigned oa_bits;		/* 0: 48 */
	/*
	 * Table pages' physical address = their address + this: a 52-bit
	 * format's tables then sit above 2^48, so the top pieces of every
	 * next-table address (descriptor bits [9:8] with LPA2, [15:12] with
	 * LPA) are non-zero, as they are on a machine with memory there.
	 */
	uint64_t pa_offset;
};

/* Physical memory above 2^48: bits 49, 50 and 51 of every table address. */
#define TFMT_PA_HI	(0xeULL << 48)

/* Every engine test runs on each of these. */
static const struct tfmt test_formats[] = {
	{ "arm64-4k", S2_FMT_ARM64, 12, 40, 0, 0, 0 },
	{ "arm64-16k", S2_FMT_ARM64, 14, 40, 0, 0, 0 },
	{ "arm64-64k", S2_FMT_ARM64, 16, 42, 0, 0, 0 },
	{ "test", S2_FMT_TEST, 12, 40, 0, 0, 0 },
	/*
	 * EPT with A/D enabled: the differential model tracks the access
	 * flag, which EPT without A/D does not have (pgt_unit.c runs the
	 * per-format unit tests on that variant too).
	 */
	{ "ept4-ad", S2_FMT_EPT, 12, 48, S2_PGT_EPT_AD, 0, 0 },
	{ "ept5-ad", S2_FMT_EPT, 12, 57, S2_PGT_EPT_AD, 0, 0 },
	/*
	 * 52-bit IPA and output: FEAT_LPA2 with 4K starting at level -1
	 * (no concatenation) and 16K at level 0, FEAT_LPA with 64K.
	 */
	{ "arm64-4k-lpa2", S2_FMT_ARM64, 12, 52, S2_PGT_LPA2 | S2_PGT_NO_CONCAT, 52, TFMT_PA_HI },
	{ "arm64-16k-lpa2", S2_FMT_ARM64, 14, 52, S2_PGT_LPA2, 52, TFMT_PA_HI },
	{ "arm64-64k-lpa", S2_FMT_ARM64, 16, 52, 0, 52, TFMT_PA_HI },
};
#define NR_TEST_FORMATS (sizeof(test_formats) / sizeof(test_formats[0]))

/* The hosted platform, its linear map moved up by TFMT_PA_HI. */
static inline const struct s2_platform *tfmt_platform(const struct tfmt *f)
{
	static struct s2_platform hi;

	if (!f->pa_offset)
		return s2_hosted_platform();
	hi = *s2_hosted_platform();
	hi.linear_offset = (int64_t)f->pa_offset;
	return &hi;
}

/* The format's output size. */
static inline unsigned tfmt_oa(const struct tfmt *f)
{
	return f->oa_bits ? f->oa_bits : 48;
}

/* Base of an IPA window of @size bytes: 0, or with an IPA wider than 48
 * bits the top of the space, where the bits above 48 are all set. */
static inline uint64_t tfmt_ipa_base(const struct tfmt *f, uint64_t size)
{
	return f->ia_bits > 48 ? (1ULL << f->ia_bits) - size : 0;
}

static inline int tfmt_init(struct s2_pgtable *pgt, struct s2_hosted *h,
			    const struct tfmt *f, unsigned extra_flags)
{
	struct s2_pgt_cfg cfg = {
		.format = f->id,
		.granule_shift = f->granule_shift,
		.ia_bits = f->ia_bits,
		.oa_bits = tfmt_oa(f),
		.flags = f->flags | extra_flags,
		.plat = tfmt_platform(f),
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
	/* the child as a hardware walker finds it (split fields included) */
	child = s2_pte_child(pgt, c->old, c->level);
	if (!child) {
		r->bad++;
		return 0;
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
