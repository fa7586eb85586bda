/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Unmap: one walk that removes every mapping of a range, per leaf or
 * detaching whole subtrees with one break each, and the single-page
 * shortcut of the per-leaf unmap.  What it removed is owed (owed.h) and
 * settled before return, or, for s2_pgt_unmap_defer, by the caller.
 */
#include "internal.h"

/*
 * Zero the valid leaf at @ptep, read earlier as @old; return its final
 * value.  With hardware-managed bits the exchange keeps an access or dirty
 * bit the hardware set since the entry was read.
 */
static s2_always_inline uint64_t take_leaf(struct s2_pgtable *pgt, uint64_t *ptep,
					   uint64_t old)
{
	if (pgt_hw_updates(pgt))
		return pte_xchg(pgt, ptep, 0);
	pte_store(pgt, ptep, 0);
	return old;
}

/* take_leaf for a walk that removes entries: also drops the table's count
 * and marks the level's table as one that may have emptied. */
static s2_always_inline uint64_t clear_leaf(struct s2_walk_ctx *c, struct refbatch *rb,
					    bool *dirty)
{
	struct s2_pgtable *pgt = c->pgt;
	uint64_t old = take_leaf(pgt, c->ptep, c->old);

	ref_entry(pgt, rb, c->ptep, c->level, -1);
	dirty[S2_LVL(c->level)] = true;
	return old;
}

/*
 * POST visit of a walk that removes entries: if this walk emptied the
 * child table (its count is back to the parent link alone), unlink it and
 * return it for the caller to invalidate and free; NULL otherwise.
 * @dirty[level] says an entry was removed from the table being walked at
 * that level: a table nothing was removed from cannot have become empty,
 * which spares reading its count.
 */
static s2_always_inline uint64_t *unlink_if_empty(struct s2_walk_ctx *c, struct refbatch *rb,
						  bool *dirty)
{
	struct s2_pgtable *pgt = c->pgt;
	uint64_t *child = lv_child(pgt, s2_lv(pgt, c->level), c->old);
	int count;

	if (!dirty[S2_LVL(c->level + 1)])
		return NULL;
	dirty[S2_LVL(c->level + 1)] = false;
	if (rb->table == child)
		count = ref_flush(pgt, rb);
	else
		count = ref_add(pgt, child, 0);
	if (count != 1)
		return NULL;
	pte_store(c->pgt, c->ptep, 0);
	ref_entry(pgt, rb, c->ptep, c->level, -1);
	dirty[S2_LVL(c->level)] = true;
	return child;
}

/*
 * One unmap walk, in one of two shapes chosen per call: per leaf (every
 * leaf visited and removed, tables unlinked as they empty), or detaching
 * (a table wholly inside the range leaves with one break of its parent
 * entry, its leaves untouched and unreachable once the TLBI is done; the
 * edges as per leaf).  What either removed is owed in @owed.
 */
struct unmap_walk {
	struct refbatch rb;
	/* an entry was removed from the table being walked at this level;
	 * a table nothing was removed from cannot have become empty */
	bool dirty[S2_MAX_LEVELS + 1];
	uint64_t start;
	/* last: with its run list first, the fields every leaf touches sat
	 * far enough in to cost the range loop instructions (measured) */
	struct s2_owed owed;
};

static s2_always_inline void unmap_walk_init(struct unmap_walk *d, uint64_t start,
					     const struct s2_tlb_batch *tb,
					     struct s2_detached *det)
{
	owed_init(&d->owed, tb, det);
	d->rb.table = NULL;
	d->rb.n = 0;
	for (unsigned i = 0; i < S2_MAX_LEVELS + 1; i++)
		d->dirty[i] = false;
	d->start = start;
}

/* A LEAF visit of a walk that removes entries: the entry goes if valid,
 * and what it held is owed (or, non-FWB per leaf, settled). */
static s2_always_inline int unmap_leaf(struct s2_walk_ctx *c, struct unmap_walk *d, bool detach)
{
	struct s2_pgtable *pgt = c->pgt;
	const struct s2_fmt_level *lv = s2_lv(pgt, c->level);
	uint64_t span = pgt_span(pgt, c->level), old;

	/* A block only partly in the range goes whole: stage 2 is a cache
	 * of the host's mappings and the rest faults back. */
	if (!lv_valid(lv, c->old))
		return 0;
	old = clear_leaf(c, &d->rb, d->dirty);
	if (!(pgt->flags & S2_PGT_NO_FWB)) {
		owe_tlbi(pgt, &d->owed, c->addr, span, c->level, true);
		return 0;
	}
	if (detach) {
		owe_tlbi(pgt, &d->owed, c->addr, span, c->level, true);
		owe_cmo(pgt, &d->owed, lv, old, span);
		return 0;
	}
	/*
	 * Non-FWB, per leaf: each leaf's TLBI settled and its data cleaned
	 * as it goes (one TLBI per leaf, as this unmap has always issued);
	 * the detaching unmap batches them.
	 */
	if (S2_BUG_INJECTED(pgt->plat, pgt->ctx, cmo_before_tlbi)) {
		/* seed 004: cleaned while the TLB still lets the guest
		 * write, so a later write stays in the cache */
		cmo_unmapped(pgt, lv, old, span);
		owe_tlbi(pgt, &d->owed, c->addr, span, c->level, true);
		s2pgt_owed_settle(pgt, &d->owed, false);
		return 0;
	}
	owe_tlbi(pgt, &d->owed, c->addr, span, c->level, true);
	s2pgt_owed_settle(pgt, &d->owed, false);
	cmo_unmapped(pgt, lv, old, span);
	return 0;
}

/*
 * The walk's S2_WALK_RUN visit of a run of last-level entries.  With FWB,
 * where a removed leaf owes its TLBI and nothing else, each valid leaf is
 * taken as clear_leaf would, the table's count updated once for the run,
 * and each stretch of consecutive removed leaves owed as one range: what
 * the per-leaf calls would have grown the gather to (gather_add extends a
 * range by the next adjacent leaf).  The per-leaf visit's bookkeeping was
 * most of a range unmap's time (issue 17 item 4).
 */
static s2_always_inline int unmap_run(struct s2_walk_ctx *c, struct unmap_walk *d,
				     bool detach)
{
	struct s2_pgtable *pgt = c->pgt;
	const struct s2_fmt_level *lv = s2_lv(pgt, S2_LAST_LEVEL);
	const uint64_t span = pgt_span(pgt, S2_LAST_LEVEL);
	uint64_t *const first = c->ptep, *const stop = first + c->old;
	uint64_t addr = c->addr, from = 0;
	int removed = 0;
	bool stretch = false;

	if (pgt->flags & S2_PGT_NO_FWB) {
		/* cleaning owed or settled per leaf: the LEAF visit's way */
		for (uint64_t *ptep = first; ptep < stop; ptep++, addr += span) {
			c->ptep = ptep;
			c->old = pte_load(pgt, ptep);
			c->addr = addr;
			unmap_leaf(c, d, detach);
		}
		return 0;
	}
	for (uint64_t *ptep = first; ptep < stop; ptep++, addr += span) {
		uint64_t old = pte_load(pgt, ptep);

		if (!lv_valid(lv, old)) {
			if (stretch)
				owe_tlbi(pgt, &d->owed, from, addr - from, S2_LAST_LEVEL, true);
			stretch = false;
			continue;
		}
		take_leaf(pgt, ptep, old);
		removed++;
		if (!stretch)
			from = addr;
		stretch = true;
	}
	if (stretch)
		owe_tlbi(pgt, &d->owed, from, addr - from, S2_LAST_LEVEL, true);
	if (removed) {
		ref_entry(pgt, &d->rb, first, S2_LAST_LEVEL, -removed);
		d->dirty[S2_LVL(S2_LAST_LEVEL)] = true;
	}
	return 0;
}

static s2_always_inline int unmap_visit(struct s2_walk_ctx *c, unsigned visit, bool detach)
{
	struct unmap_walk *d = c->arg;
	struct s2_pgtable *pgt = c->pgt;
	const struct s2_fmt_level *lv;
	uint64_t span;

	if (visit == S2_WALK_RUN)
		return unmap_run(c, d, detach);
	lv = s2_lv(pgt, c->level);
	span = pgt_span(pgt, c->level);

	if (visit == S2_WALK_TABLE_PRE) {
		/*
		 * Detaching: a table wholly inside the range goes with one
		 * break; its entries stay as they are, unreachable once the
		 * owed TLBI (non-leaf: walk caches too) is done.  A table
		 * entry holds nothing the hardware updates that we need, so
		 * a plain store.
		 */
		if (c->addr < d->start || c->addr + span > c->end)
			return 0;
		pte_store(c->pgt, c->ptep, 0);
		ref_entry(pgt, &d->rb, c->ptep, c->level, -1);
		d->dirty[S2_LVL(c->level)] = true;
		owe_tlbi(pgt, &d->owed, c->addr, span, -1, false);
		owe_table(pgt, &d->owed, lv_child(pgt, lv, c->old), c->level + 1);
		return 0;
	}
	if (visit == S2_WALK_LEAF)
		return unmap_leaf(c, d, detach);
	/* POST: the child's entries are done; unlink it if it is empty. */
	{
		uint64_t *child = unlink_if_empty(c, &d->rb, d->dirty);

		if (!child)
			return 0;
		/* Walk caches may hold the table entry: non-leaf invalidation
		 * before the page can be freed (I3).  defer_table_tlbi: a
		 * leaf-only one, which leaves the walk caches pointing at it. */
		if (!detach && S2_BUG_INJECTED(pgt->plat, pgt->ctx, defer_table_tlbi))
			owe_tlbi(pgt, &d->owed, c->addr, span, c->level + 1, true);
		else
			owe_tlbi(pgt, &d->owed, c->addr, span, -1, false);
		owe_table(pgt, &d->owed, child, c->level + 1);
	}
	return 0;
}

S2_VISITOR_WITH(unmap_visit, leaves, false)
S2_VISITOR_WITH(unmap_visit, detach, true)

/* One function per shape, so that neither carries the other's code in
 * its range loop. */
static s2_noinline int unmap_walk_leaves(struct s2_pgtable *pgt, uint64_t ipa, uint64_t end,
					 struct unmap_walk *d)
{
	return s2_walk_inline(pgt, ipa, end, S2_WALK_LEAF | S2_WALK_TABLE_POST | S2_WALK_RUN,
			      unmap_visit_leaves, d);
}

static s2_noinline int unmap_walk_detach(struct s2_pgtable *pgt, uint64_t ipa, uint64_t end,
					 struct unmap_walk *d)
{
	return s2_walk_inline(pgt, ipa, end,
			      S2_WALK_LEAF | S2_WALK_TABLE_PRE | S2_WALK_TABLE_POST |
			      S2_WALK_RUN,
			      unmap_visit_detach, d);
}

/*
 * Walk [@ipa, @end) removing every mapping into @d: per leaf, or with
 * @detach whole subtrees.  Return: 0; what it removed is owed in
 * @d->owed (and the table counts batched in @d->rb are flushed).
 */
static s2_always_inline int unmap_walk(struct s2_pgtable *pgt, uint64_t ipa, uint64_t end,
				       struct unmap_walk *d, bool detach)
{
	int ret = detach ? unmap_walk_detach(pgt, ipa, end, d) :
			   unmap_walk_leaves(pgt, ipa, end, d);

	ref_flush(pgt, &d->rb);
	return ret;
}

/*
 * A range that one entry covers, the per-page or per-block unmap of a
 * fault-like caller (a vCPU page reclaimed, a notifier for one page or
 * one huge page), is mostly a descent, one store, one count drop and one
 * single-entry TLBI; the walker's bookkeeping (visits, reference batch,
 * gather, post-order pass) would double its cost.  So: the iterator
 * descends keeping its path; when the entry it stops at is a leaf that
 * covers all of [@addr, @addr + @size) the leaf goes whole (a block only
 * partly in the range goes whole in the walk too), and only when that
 * emptied its table does the iterator come back up through the same POST
 * visits the walk makes (unlink, non-leaf TLBI, deferred free).  A range
 * wider than the leaf found, a root entry, and non-FWB tables (TLBI then
 * clean, and the cmo_before_tlbi site) take the range walk, before
 * anything has changed.  @size: a power of two, @addr aligned to it.
 * @page (constant): @size is one page, the per-page unmap of reclaim,
 * which keeps its instructions to the last-level case (a block found
 * there takes the walk, which removes it whole just the same).
 */
static s2_always_inline int unmap_entry(struct s2_pgtable *pgt, uint64_t addr, uint64_t size,
					bool page)
{
	const int sl = pgt->start_level;
	uint64_t *path[S2_MAX_LEVELS];
	uint64_t *ptep, old, span;
	struct unmap_walk d;
	struct s2_walk_ctx c;
	struct s2_iter it;
	int level;

	iter_start(&it, pgt, addr);
	old = iter_descend(&it, pgt, addr, path);
	ptep = iter_ptep(&it);
	level = it.level;
	if (page) {
		if (!lv_valid(s2_lv(pgt, level), old))
			return 0;
		span = size;
		if (level != S2_LAST_LEVEL)
			goto walk;
	} else {
		span = pgt_span(pgt, level);
		if (span >= size && !lv_valid(s2_lv(pgt, level), old))
			return 0;
		if (span < size)
			goto walk;
		addr &= ~(span - 1);
	}
	if (level == sl || (pgt->flags & S2_PGT_NO_FWB))
		goto walk;
	take_leaf(pgt, ptep, old);
	/* A count back at 1 (the parent's link alone) is an empty table. */
	if (ref_add(pgt, table_of(pgt, ptep), -1) != 1) {
		pgt->plat->tlbi_ipa(pgt->ctx, s2_gpa(addr), level, S2_TLBI_LEAF);
		return 0;
	}
	unmap_walk_init(&d, addr, NULL, NULL);
	owe_tlbi(pgt, &d.owed, addr, span, level, true);
	d.dirty[S2_LVL(level)] = true;
	c.pgt = pgt;
	c.end = addr + span;
	c.flags = S2_WALK_LEAF | S2_WALK_TABLE_POST;
	c.arg = &d;
	while (it.level > sl) {
		iter_up(&it, pgt, path);
		iter_ctx(&it, &c, addr, pte_load_acquire(pgt, iter_ptep(&it)));
		unmap_visit_leaves(&c, S2_WALK_TABLE_POST);
	}
	ref_flush(pgt, &d.rb);
	s2pgt_owed_settle(pgt, &d.owed, true);
	return 0;
walk:
	unmap_walk_init(&d, addr, NULL, NULL);
	unmap_walk(pgt, addr, addr + size, &d, false);
	s2pgt_owed_settle(pgt, &d.owed, true);
	return 0;
}

int s2_pgt_unmap(struct s2_pgtable *pgt, s2_gpa_t ipa, uint64_t size)
{
	struct unmap_walk d;
	int ret;

	ret = range_ok(pgt, ipa, size);
	if (ret)
		return ret;
	/* one page, or one block's worth: at most one entry to remove */
	if (size == pgt_span(pgt, S2_LAST_LEVEL))
		return unmap_entry(pgt, ipa.v, size, true);
	if (!(size & (size - 1)) && !(ipa.v & (size - 1)) &&
	    size <= pgt_span(pgt, S2_LAST_LEVEL - 1))
		return unmap_entry(pgt, ipa.v, size, false);
	unmap_walk_init(&d, ipa.v, NULL, NULL);
	ret = unmap_walk(pgt, ipa.v, ipa.v + size, &d, false);
	s2pgt_owed_settle(pgt, &d.owed, true);
	return ret;
}

int s2_pgt_unmap_fast(struct s2_pgtable *pgt, s2_gpa_t ipa, uint64_t size,
		      struct s2_detached *det)
{
	struct s2_detached local;
	struct unmap_walk d;
	int ret;

	ret = range_ok(pgt, ipa, size);
	if (ret)
		return ret;
	local.nr = 0;
	unmap_walk_init(&d, ipa.v, NULL, det ? det : &local);
	ret = unmap_walk(pgt, ipa.v, ipa.v + size, &d, true);
	/* One invalidation for the whole operation, before return (seed
	 * 004); the subtrees too unless the caller takes them. */
	s2pgt_owed_settle(pgt, &d.owed, !det);
	return ret;
}

int s2_pgt_unmap_defer(struct s2_pgtable *pgt, s2_gpa_t ipa, uint64_t size,
		       struct s2_detached *det, struct s2_tlb_batch *tb)
{
	struct unmap_walk d;
	int ret;

	if (!det || !tb)
		return -S2_EINVAL;
	ret = range_ok(pgt, ipa, size);
	if (ret)
		return ret;
	unmap_walk_init(&d, ipa.v, tb, det);
	ret = unmap_walk(pgt, ipa.v, ipa.v + size, &d, true);
	/* Non-FWB: the edges' data is cleaned only after their invalidation,
	 * which therefore cannot wait for the caller.  With FWB nothing but
	 * @tb and @det is owed, and they are the caller's to settle. */
	if (pgt->flags & S2_PGT_NO_FWB)
		s2pgt_owed_settle(pgt, &d.owed, false);
	*tb = d.owed.tb;
	return ret;
}
