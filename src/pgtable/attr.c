/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Attribute changes of live leaves without a change of output:
 * write-protect, test-and-clear young, relax permissions, mkyoung.
 */
#include "internal.h"

/* ------------------------------------------------------------ wrprotect */

static s2_always_inline int wrprot_visit(struct s2_walk_ctx *c, unsigned visit)
{
	struct s2_tlb_batch *g = c->arg;
	const struct s2_fmt_level *lv = s2_lv(c->pgt, c->level);
	uint64_t new;

	(void)visit;
	if (!lv_leaf(lv, c->old) || !(c->old & (lv->w | lv->dbm)))
		return 0;
	/* DBM cleared too, or the hardware would make it writable again. */
	if (update_leaf(c, false, 0, lv->w | lv->dbm, &new))
		return 0;
	gather_add(c->pgt, g, c->addr, c->pgt->span[S2_LVL(c->level)], c->level, true);
	return 0;
}

/*
 * The walk's S2_WALK_RUN visit: wrprot_visit's work over a run of
 * last-level entries, each stretch of consecutive leaves it changed
 * gathered as one range (what the per-leaf gathers would have grown it
 * to), without the per-leaf visit's bookkeeping (issue 17 item 4).
 */
static s2_always_inline int wrprot_run(struct s2_walk_ctx *c, struct s2_tlb_batch *g)
{
	struct s2_pgtable *pgt = c->pgt;
	const struct s2_fmt_level *lv = s2_lv(pgt, S2_LAST_LEVEL);
	const uint64_t span = pgt_span(pgt, S2_LAST_LEVEL), wbits = lv->w | lv->dbm;
	uint64_t *const first = c->ptep, *const stop = first + c->old;
	uint64_t addr = c->addr, from = 0, new;
	bool stretch = false;

	for (uint64_t *ptep = first; ptep < stop; ptep++, addr += span) {
		c->old = pte_load(pgt, ptep);
		c->ptep = ptep;
		if (lv_leaf(lv, c->old) && (c->old & wbits) &&
		    !update_leaf(c, false, 0, wbits, &new)) {
			if (!stretch)
				from = addr;
			stretch = true;
			continue;
		}
		if (stretch)
			gather_add(pgt, g, from, addr - from, S2_LAST_LEVEL, true);
		stretch = false;
	}
	if (stretch)
		gather_add(pgt, g, from, addr - from, S2_LAST_LEVEL, true);
	return 0;
}

static s2_always_inline int wrprot_visit_runs(struct s2_walk_ctx *c, unsigned visit)
{
	if (visit == S2_WALK_RUN)
		return wrprot_run(c, c->arg);
	return wrprot_visit(c, visit);
}

static s2_noinline int wrprot_walk(struct s2_pgtable *pgt, uint64_t ipa, uint64_t end,
				   struct s2_tlb_batch *g)
{
	return s2_walk_inline(pgt, ipa, end, S2_WALK_LEAF | S2_WALK_RUN, wrprot_visit_runs, g);
}

int s2_pgt_wrprotect(struct s2_pgtable *pgt, s2_gpa_t ipa, uint64_t size)
{
	struct s2_tlb_batch g;
	int ret;

	ret = range_ok(pgt, ipa, size);
	if (ret)
		return ret;
	s2_tlb_batch_init(&g);
	ret = wrprot_walk(pgt, ipa.v, ipa.v + size, &g);
	/* Write permission removed: stale writable TLB entries must be gone
	 * before we return, or a guest write after a dirty-log harvest would
	 * go unrecorded (I7).  wrprotect_no_flush: left for a later flush. */
	if (!S2_BUG_INJECTED(pgt->plat, pgt->ctx, wrprotect_no_flush))
		s2_pgt_tlb_flush(pgt, &g);
	return ret;
}

/* ---------------------------------------------------------------- young */

struct young_data {
	bool young;
	bool mkold;
};

static s2_always_inline int young_visit(struct s2_walk_ctx *c, unsigned visit, bool shared)
{
	struct young_data *d = c->arg;
	const struct s2_fmt_level *lv = s2_lv(c->pgt, c->level);
	uint64_t new;

	(void)visit;
	if (!lv_leaf(lv, c->old))
		return 0;
	/*
	 * A format without an access flag (EPT with A/D disabled) cannot
	 * age: every valid leaf counts as young and there is nothing to
	 * clear, as KVM's is_accessed_spte() answers for such entries.
	 * Claiming "old" instead would let reclaim evict pages in use.
	 */
	if (!lv->af) {
		d->young = true;
		return 0;
	}
	if (!(c->old & lv->af))
		return 0;
	d->young = true;
	if (d->mkold)
		update_leaf(c, shared, 0, lv->af, &new);
	return 0;
}

S2_VISITOR_WITH(young_visit, shared, true)

/*
 * The exclusive walk's S2_WALK_RUN visit: young_visit over a run of
 * last-level entries without the per-leaf visit's bookkeeping (issue 17
 * item 4).  Shared walks (aging under mmu_lock held for read) keep the
 * per-leaf visit and its scheduling points.
 */
static s2_always_inline int young_visit_excl(struct s2_walk_ctx *c, unsigned visit)
{
	uint64_t *first, *stop;

	if (visit != S2_WALK_RUN)
		return young_visit(c, visit, false);
	first = c->ptep;
	stop = first + c->old;
	for (uint64_t *ptep = first; ptep < stop; ptep++) {
		c->ptep = ptep;
		c->old = pte_load(c->pgt, ptep);
		young_visit(c, S2_WALK_LEAF, false);
	}
	return 0;
}

static s2_noinline int young_walk_excl(struct s2_pgtable *pgt, uint64_t ipa, uint64_t end,
				       struct young_data *d)
{
	return s2_walk_inline(pgt, ipa, end, S2_WALK_LEAF | S2_WALK_RUN, young_visit_excl, d);
}

static s2_noinline int young_walk_shared(struct s2_pgtable *pgt, uint64_t ipa,
					 uint64_t end, struct young_data *d)
{
	return s2_walk_inline(pgt, ipa, end, S2_WALK_LEAF, young_visit_shared, d);
}

int s2_pgt_test_clear_young(struct s2_pgtable *pgt, s2_gpa_t ipa, uint64_t size,
			    bool mkold, unsigned flags)
{
	struct young_data d = { false, mkold };
	int ret;

	if (!pgt_live(pgt) || (flags & ~S2_WALK_SHARED))
		return -S2_EINVAL;
	ret = check_range(pgt, ipa.v, size);
	if (ret)
		return ret;
	if (flags & S2_WALK_SHARED) {
		walk_rcu_enter(pgt);
		young_walk_shared(pgt, ipa.v, ipa.v + size, &d);
		walk_rcu_exit(pgt);
	} else
		young_walk_excl(pgt, ipa.v, ipa.v + size, &d);
	return d.young;
}

/* ------------------------------------------------- relax and mkyoung */

/*
 * One page's leaf, the fault path's relax and access-flag update: the
 * iterator's descent and one update, rather than a range walk with a
 * visitor, so that nothing but the entry's own compare-and-exchange is
 * stored on the way (a locked update waits for earlier stores to
 * drain).  Inlined into each caller with @young and @shared constant.
 * On success
 * *@changed says whether the TLB may hold the entry with fewer rights
 * than it now has, at *@level / *@addr.
 */
static s2_always_inline int attr_page(struct s2_pgtable *pgt, uint64_t ipa, unsigned prot,
				      bool young, bool shared, int *level, uint64_t *addr,
				      bool *changed)
{
	const struct s2_fmt_level *lv;
	uint64_t a = ipa & ~((1ULL << pgt->page_shift) - 1);
	uint64_t set = 0, clear = 0, new;
	struct s2_walk_ctx c;
	struct s2_iter it;
	uint64_t pte;
	int ret;

	if (ipa >= (1ULL << pgt->ia_bits))
		return -S2_ERANGE;
	c.pgt = pgt;
	iter_start(&it, pgt, a);
	pte = iter_descend(&it, pgt, a, NULL);
	iter_ctx(&it, &c, a, pte);
	lv = s2_lv(pgt, c.level);
	if (!lv_valid(lv, c.old))
		return (c.old & lv->locked) ? -S2_EAGAIN : -S2_ENOENT;
	if (prot & S2_PROT_R)
		set |= lv->r;
	if (prot & S2_PROT_W)
		set |= lv->w;
	if (prot & S2_PROT_X) {
		set |= lv->x_on;
		clear |= lv->x_off;
	}
	if (young)
		set |= lv->af;
	/* I11: the instruction cache before the entry that lets the guest
	 * fetch from the page */
	if ((prot & S2_PROT_X) && !(lv_prot(lv, c.old) & S2_PROT_X))
		icache_exec_added(pgt, lv_oa(pgt, lv, c.old), pgt_span(pgt, c.level));
	ret = update_leaf(&c, shared, set, clear, &new);
	if (ret)
		return ret;
	*changed = new != c.old || (prot && (lv_prot(lv, c.old) & prot) != prot);
	*level = c.level;
	*addr = c.addr;
	return 0;
}

/* One function per walk mode, so neither carries the other's registers. */
static s2_always_inline int relax_page(struct s2_pgtable *pgt, uint64_t ipa, unsigned prot,
				       bool shared)
{
	uint64_t addr;
	bool changed;
	int ret, level;

	ret = attr_page(pgt, ipa, prot, false, shared, &level, &addr, &changed);
	/*
	 * The TLB may hold the entry with its old permissions (entries that
	 * cause permission faults can be cached): invalidate it locally so
	 * the vCPU does not fault again, as KVM does.
	 */
	if (!ret && changed)
		pgt->plat->tlbi_ipa(pgt->ctx, s2_gpa(addr), level,
				    S2_TLBI_LEAF | S2_TLBI_LOCAL);
	return ret;
}

static s2_noinline int relax_shared(struct s2_pgtable *pgt, uint64_t ipa, unsigned prot)
{
	int ret;

	walk_rcu_enter(pgt);
	ret = relax_page(pgt, ipa, prot, true);
	walk_rcu_exit(pgt);
	return ret;
}

static s2_noinline int relax_excl(struct s2_pgtable *pgt, uint64_t ipa, unsigned prot)
{
	return relax_page(pgt, ipa, prot, false);
}

int s2_pgt_relax_perms(struct s2_pgtable *pgt, s2_gpa_t ipa, unsigned prot,
		       unsigned flags)
{
	if (!pgt_live(pgt) || !prot || (prot & ~S2_PROT_RWX) || (flags & ~S2_WALK_SHARED))
		return -S2_EINVAL;
	if (flags & S2_WALK_SHARED)
		return relax_shared(pgt, ipa.v, prot);
	return relax_excl(pgt, ipa.v, prot);
}

int s2_pgt_mkyoung(struct s2_pgtable *pgt, s2_gpa_t ipa, unsigned flags)
{
	uint64_t addr;
	bool changed;
	int level;

	if (!pgt_live(pgt) || (flags & ~S2_WALK_SHARED))
		return -S2_EINVAL;
	/* No TLBI: an entry with AF clear faults and is never cached. */
	if (flags & S2_WALK_SHARED) {
		int ret;

		walk_rcu_enter(pgt);
		ret = attr_page(pgt, ipa.v, 0, true, true, &level, &addr, &changed);
		walk_rcu_exit(pgt);
		return ret;
	}
	return attr_page(pgt, ipa.v, 0, true, false, &level, &addr, &changed);
}
