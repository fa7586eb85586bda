/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The flat reference model of the engine (the contract of
 * tests/pgt_property.c, as a header so the fuzz targets and the
 * allocation-failure test check against the very same statement of it):
 * one entry per granule page of a window [base, base + npages pages),
 * holding the output, permissions, access flag and leaf level.
 *
 * The model states the engine's contract for partial overlaps: a block
 * touched by unmap / wrprotect / mkold is affected whole, a map of a
 * smaller leaf into a block drops the rest of the block (lazy split), and
 * split keeps every output.
 */
#ifndef S2_TESTS_PGT_MODEL_H
#define S2_TESTS_PGT_MODEL_H

#include <s2mmu/pgtable.h>

struct pm_page {
	uint64_t pa;
	uint8_t prot;
	uint8_t young;
	int8_t level;			/* -1: unmapped */
};

struct pmodel {
	struct s2_pgtable *pgt;
	unsigned ps;
	uint64_t base;			/* IPA of page 0, aligned to any block */
	uint64_t npages;
	struct pm_page *p;
};

static inline uint64_t pm_span(const struct pmodel *m, int l)
{
	return m->pgt->span[S2_LVL(l)];
}

static inline uint64_t pm_idx(const struct pmodel *m, uint64_t ipa)
{
	return (ipa - m->base) >> m->ps;
}

static inline void pm_reset(struct pmodel *m, uint64_t from, uint64_t to)
{
	for (uint64_t i = from; i < to && i < m->npages; i++)
		m->p[i].level = -1;
}

/* The leaf page @i belongs to: [*s, *s + *n) in pages. */
static inline void pm_group(const struct pmodel *m, uint64_t i, uint64_t *s, uint64_t *n)
{
	uint64_t sz = pm_span(m, m->p[i].level) >> m->ps;

	*s = i & ~(sz - 1);
	*n = sz;
}

static inline void pm_drop_group(struct pmodel *m, uint64_t i)
{
	uint64_t s, n;

	pm_group(m, i, &s, &n);
	for (uint64_t k = s; k < s + n; k++)
		m->p[k].level = -1;
}

static inline bool pm_fits(const struct pmodel *m, int l, uint64_t b, uint64_t ipa,
			   uint64_t end, uint64_t pa, uint64_t max)
{
	if (l != S2_LAST_LEVEL && !m->pgt->fmt.lv[S2_LVL(l)].block_ok)
		return false;
	return pm_span(m, l) <= max && b >= ipa && b + pm_span(m, l) <= end &&
	       !((pa + (b - ipa)) & (pm_span(m, l) - 1));
}

/* A successful s2_pgt_map(ipa, size, pa, prot, max_size = @max or ~0). */
static inline void pm_map(struct pmodel *m, uint64_t ipa, uint64_t size, uint64_t pa,
			  unsigned prot, uint64_t max)
{
	uint64_t a = ipa, end = ipa + size;

	while (a < end) {
		uint64_t b = 0, s, n, k;
		int l;

		for (l = m->pgt->start_level; l <= S2_LAST_LEVEL; l++) {
			b = a & ~(pm_span(m, l) - 1);
			if (pm_fits(m, l, b, ipa, end, pa, max))
				break;
		}
		/* any block larger than this leaf that covers it goes away */
		s = pm_idx(m, b);
		if (m->p[s].level >= 0 && m->p[s].level < l)
			pm_drop_group(m, s);
		n = pm_span(m, l) >> m->ps;
		/* same output, same size, same permissions: left as it was */
		if (m->p[s].level == l && m->p[s].pa == pa + (b - ipa) && m->p[s].prot == prot) {
			a = b + pm_span(m, l);
			continue;
		}
		for (k = s; k < s + n; k++) {
			if (m->p[k].level >= 0 && m->p[k].level != l)
				pm_drop_group(m, k);
			m->p[k].pa = pa + (b - ipa) + ((k - s) << m->ps);
			m->p[k].prot = (uint8_t)prot;
			m->p[k].young = 1;
			m->p[k].level = (int8_t)l;
		}
		a = b + pm_span(m, l);
	}
}

/* @fn on every leaf (whole group) that overlaps [ipa, ipa + size). */
static inline void pm_for_groups(struct pmodel *m, uint64_t ipa, uint64_t size,
				 void (*fn)(struct pmodel *, uint64_t s, uint64_t n, void *),
				 void *arg)
{
	uint64_t i = pm_idx(m, ipa), e = pm_idx(m, ipa + size);

	while (i < e) {
		uint64_t s, n;

		if (m->p[i].level < 0) {
			i++;
			continue;
		}
		pm_group(m, i, &s, &n);
		fn(m, s, n, arg);
		i = s + n;
	}
}

static inline void pm_g_unmap(struct pmodel *m, uint64_t s, uint64_t n, void *arg)
{
	(void)arg;
	for (uint64_t k = s; k < s + n; k++)
		m->p[k].level = -1;
}

static inline void pm_g_wrprot(struct pmodel *m, uint64_t s, uint64_t n, void *arg)
{
	(void)arg;
	for (uint64_t k = s; k < s + n; k++)
		m->p[k].prot &= (uint8_t)~S2_PROT_W;
}

/* arg: bool[2] = { mkold, out: any young } */
static inline void pm_g_young(struct pmodel *m, uint64_t s, uint64_t n, void *arg)
{
	bool *mk = arg;

	if (m->p[s].young)
		mk[1] = true;
	if (mk[0])
		for (uint64_t k = s; k < s + n; k++)
			m->p[k].young = 0;
}

struct pm_split_arg {
	uint64_t ipa, end, target;
};

static inline void pm_g_split(struct pmodel *m, uint64_t s, uint64_t n, void *arg)
{
	struct pm_split_arg *sa = arg;
	int l0 = m->p[s].level;

	if (l0 == S2_LAST_LEVEL || pm_span(m, l0) <= sa->target)
		return;
	for (uint64_t k = s; k < s + n; k++) {
		uint64_t a = m->base + (k << m->ps);
		int l = l0 + 1;

		while (l < S2_LAST_LEVEL && pm_span(m, l) > sa->target) {
			uint64_t b = a & ~(pm_span(m, l) - 1);

			if (b >= sa->end || b + pm_span(m, l) <= sa->ipa)
				break;
			l++;
		}
		m->p[k].level = (int8_t)l;
	}
}

static inline void pm_unmap(struct pmodel *m, uint64_t ipa, uint64_t size)
{
	pm_for_groups(m, ipa, size, pm_g_unmap, NULL);
}

static inline void pm_wrprotect(struct pmodel *m, uint64_t ipa, uint64_t size)
{
	pm_for_groups(m, ipa, size, pm_g_wrprot, NULL);
}

/* Return: what s2_pgt_test_clear_young must return. */
static inline int pm_young(struct pmodel *m, uint64_t ipa, uint64_t size, bool mkold)
{
	bool mk[2] = { mkold, false };

	pm_for_groups(m, ipa, size, pm_g_young, mk);
	return mk[1];
}

/* relax (@prot) or mkyoung (@prot 0): false when nothing maps @ipa. */
static inline bool pm_attr(struct pmodel *m, uint64_t ipa, unsigned prot)
{
	uint64_t i = pm_idx(m, ipa), s, n;

	if (m->p[i].level < 0)
		return false;
	pm_group(m, i, &s, &n);
	for (uint64_t k = s; k < s + n; k++) {
		m->p[k].prot |= (uint8_t)prot;
		if (!prot)
			m->p[k].young = 1;
	}
	return true;
}

static inline void pm_split(struct pmodel *m, uint64_t ipa, uint64_t size, uint64_t target)
{
	struct pm_split_arg sa = { ipa, ipa + size, target };

	pm_for_groups(m, ipa, size, pm_g_split, &sa);
}

/* Compare page @i with the engine (its view left in @got): agree? */
static inline bool pm_check(struct pmodel *m, uint64_t i, struct s2_mapping *got)
{
	const struct pm_page *e = &m->p[i];
	uint64_t a = m->base + (i << m->ps);

	if (s2_pgt_lookup(m->pgt, s2_gpa(a), got))
		return false;
	if (got->valid != (e->level >= 0))
		return false;
	if (!got->valid)
		return true;
	return got->level == e->level && got->pa.v + (a - got->ipa.v) == e->pa &&
	       got->prot == e->prot && got->young == !!e->young;
}

#endif
