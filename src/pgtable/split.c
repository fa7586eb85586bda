/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Split: replace blocks by tables of the next level's leaves with the
 * same output and attributes, with break-before-make (eager splitting
 * for dirty logging).
 */
#include "internal.h"


struct split_data {
	uint64_t target;
	struct s2_memcache *mc;
};

static s2_always_inline int split_visit(struct s2_walk_ctx *c, unsigned visit, bool shared)
{
	struct split_data *d = c->arg;
	struct s2_pgtable *pgt = c->pgt;
	const struct s2_fmt_level *lv = s2_lv(pgt, c->level), *clv;
	uint64_t old, tmpl, pa, cspan, *child;
	unsigned i, n;

	(void)visit;
	if (c->level == S2_LAST_LEVEL || !lv_leaf(lv, c->old) ||
	    pgt_span(pgt, c->level) <= d->target)
		return 0;
	child = mc_take(d->mc);
	if (!child)
		return -S2_ENOMEM;
	/*
	 * Break first, fill after: the child is built from the final value
	 * of the block, so an access or dirty bit the hardware set up to the
	 * break is carried into every small entry.
	 */
	if (S2_BUG_INJECTED(pgt->plat, pgt->ctx, split_no_bbm)) {
		old = c->old;	/* the table written over the live block */
	} else {
		if (!break_pte(c, shared, &old)) {
			mc_put(d->mc, child);
			return -S2_EAGAIN;
		}
		pgt->plat->tlbi_ipa(pgt->ctx, s2_gpa(c->addr), c->level, S2_TLBI_LEAF);
	}
	clv = s2_lv(pgt, c->level + 1);
	cspan = pgt_span(pgt, c->level + 1);
	pa = lv_oa(pgt, lv, old);
	tmpl = lv_leaf_template(clv, lv_prot(lv, old), old & lv->af) |
	       (((old & lv->sw_mask) >> lv->sw_pos) << clv->sw_pos);
	if (old & lv->dbm)
		tmpl |= clv->dbm;
	if (old & lv->dirty)
		tmpl |= clv->dirty;
	n = 1U << pgt->fmt.bits_per_level;
	/* the shape tested once per table, not once per entry */
	if (s2_likely(!clv->split))
		for (i = 0; i < n; i++)
			child[i] = tmpl | lv_oa_bits_k(pgt, clv, pa + i * cspan, ADDR_CONTIG);
	else
		for (i = 0; i < n; i++)
			child[i] = tmpl | lv_oa_bits_k(pgt, clv, pa + i * cspan, ADDR_SPLIT);
	ref_add(pgt, child, (int)n);
	tables_add(pgt, 1);
	pte_store_release(c->pgt, c->ptep, lv_mk_table(pgt, lv, child));
	/* leaves of the target size already: nothing below to split */
	return cspan <= d->target ? S2_WALK_SKIP : 0;
}

S2_VISITOR_WITH(split_visit, excl, false)
S2_VISITOR_WITH(split_visit, shared, true)

int s2_pgt_split(struct s2_pgtable *pgt, s2_gpa_t ipa, uint64_t size,
		 uint64_t target_size, struct s2_memcache *mc, unsigned flags)
{
	struct split_data d = { target_size, mc };
	int ret;

	if (!pgt_live(pgt) || !mc || (flags & ~S2_WALK_SHARED))
		return -S2_EINVAL;
	ret = check_range(pgt, ipa.v, size);
	if (ret)
		return ret;
	if (target_size < (1ULL << pgt->page_shift) || (target_size & (target_size - 1)))
		return -S2_EINVAL;
	if (flags & S2_WALK_SHARED) {
		walk_rcu_enter(pgt);
		ret = s2_walk_inline(pgt, ipa.v, ipa.v + size, S2_WALK_LEAF | S2_WALK_SKIPS,
				     split_visit_shared, &d);
		walk_rcu_exit(pgt);
		return ret;
	}
	return s2_walk_inline(pgt, ipa.v, ipa.v + size, S2_WALK_LEAF | S2_WALK_SKIPS,
			      split_visit_excl, &d);
}

