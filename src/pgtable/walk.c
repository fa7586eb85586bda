/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The walk and decode services for callers outside the engine: lookup,
 * the public walk over a visitor, and entry decoding.
 */
#include "internal.h"


void s2_pte_decode(const struct s2_pgtable *pgt, uint64_t pte, int level,
		   struct s2_mapping *out)
{
	const struct s2_fmt_level *lv = s2_lv(pgt, level);

	*out = (struct s2_mapping){ .level = level, .raw = pte,
				    .size = pgt_span(pgt, level) };
	if (!lv_leaf(lv, pte))
		return;
	out->valid = true;
	out->pa = s2_hpa(lv_oa(pgt, lv, pte));
	out->prot = lv_prot(lv, pte);
	out->young = !lv->af || (pte & lv->af);	/* no flag: young (young_visit) */
	out->dirty = (lv->dirty && (pte & lv->dirty)) ||
		     (lv->dbm && (pte & lv->dbm) && (pte & lv->w));
	out->hw_dirty_ok = lv->dbm && (pte & lv->dbm);
	out->sw = (unsigned)((pte & lv->sw_mask) >> lv->sw_pos);
}

bool s2_pte_valid(const struct s2_pgtable *pgt, uint64_t pte, int level)
{
	return lv_valid(s2_lv(pgt, level), pte);
}

bool s2_pte_table(const struct s2_pgtable *pgt, uint64_t pte, int level)
{
	return lv_table(s2_lv(pgt, level), pte);
}

int s2_pgt_lookup(struct s2_pgtable *pgt, s2_gpa_t ipa, struct s2_mapping *out)
{
	struct s2_iter it;
	uint64_t pte;

	if (!pgt_live(pgt) || !out)
		return -S2_EINVAL;
	if (ipa.v >= (1ULL << pgt->ia_bits))
		return -S2_ERANGE;
	/* a lookup may run beside shared walks: inside RCU like them */
	walk_rcu_enter(pgt);
	iter_start(&it, pgt, ipa.v);
	pte = iter_descend(&it, pgt, ipa.v, NULL);
	walk_rcu_exit(pgt);
	s2_pte_decode(pgt, pte, it.level, out);
	out->ipa = s2_gpa(ipa.v & ~(out->size - 1));
	return 0;
}

/* ---------------------------------------------------------- public walk */

struct user_walk {
	s2_visitor_fn fn;
	void *arg;
};

static int user_visit(struct s2_walk_ctx *c, unsigned visit)
{
	struct user_walk *u = c->arg;
	int ret;

	c->arg = u->arg;
	ret = u->fn(c, visit);
	c->arg = u;
	return ret;
}

int s2_pgt_walk(struct s2_pgtable *pgt, s2_gpa_t ipa, uint64_t size,
		s2_visitor_fn fn, void *arg, unsigned flags)
{
	uint64_t addr = ipa.v;
	struct user_walk u = { fn, arg };
	int ret;

	if (!pgt_live(pgt) || !fn)
		return -S2_EINVAL;
	ret = check_range(pgt, addr, size);
	if (ret)
		return ret;
	return s2_walk_inline(pgt, addr, addr + size, flags & ~(S2_WALK_SKIPS | S2_WALK_RUN),
			      user_visit, &u);
}

