/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The generic walker and the single-address descent, with the RCU read
 * section every shared walk runs in.  Inline, so that each operation's
 * walk is compiled with its visitor known (no indirect call per entry).
 */
#ifndef S2_PGTABLE_WALK_H
#define S2_PGTABLE_WALK_H

#include "entry.h"

/*
 * I3: a shared walk runs beside other shared walks, and a shared map that
 * replaces a table by a block (map_collapse) unlinks that subtree and
 * queues it for freeing after a grace period while another fault may be
 * descending through it.  Only an RCU read section around the whole walk
 * keeps such a page alive until the walk is out; holding mmu_lock for
 * read does not (a hosted big-reader lock is no RCU reader; a kernel
 * spinning read lock only happens to imply one).  So the engine enters
 * RCU itself for every shared walk and every lookup, as KVM's walker
 * does, and no caller can forget.  shared_walk_no_rcu: it does not.
 */
static s2_always_inline void walk_rcu_enter(struct s2_pgtable *pgt)
{
	if (!S2_BUG_INJECTED(pgt->plat, pgt->ctx, shared_walk_no_rcu))
		pgt->plat->rcu_read_lock(pgt->ctx);
}

static s2_always_inline void walk_rcu_exit(struct s2_pgtable *pgt)
{
	if (!S2_BUG_INJECTED(pgt->plat, pgt->ctx, shared_walk_no_rcu))
		pgt->plat->rcu_read_unlock(pgt->ctx);
}

/*
 * The one walker.  A position in the table (struct s2_iter: the table
 * holding the current entry, the entry's index and level), the path back
 * up (the table entry followed down from at each level above, in an
 * array of the caller's, indexed by level - start level), and four steps
 * over them: start at the root, go down into the table an entry holds,
 * come back up, and descend straight to the entry that translates an
 * address.  s2_walk_inline drives it over a range with visitors; the
 * single-address operations (lookup, the fault's install, relax,
 * mkyoung, the per-page unmap) start and stop it themselves and act on
 * the entry it stops at with the same context (iter_ctx) and the same
 * per-entry functions the visitors are made of (map_leaf, update_leaf,
 * unmap's POST visit), without a visitor.  Like the x86
 * TDP MMU's iterator with its path array, and for the same reason: the
 * hot single-page paths cannot afford a general walk's setup, and must
 * not have a descent of their own.  The path is not in the struct so
 * that the struct stays three scalars the compiler keeps in registers
 * (an array indexed by level would pin it to the stack).
 */
struct s2_iter {
	uint64_t *table;
	unsigned idx;
	int level;
};

static s2_always_inline uint64_t *iter_ptep(const struct s2_iter *it)
{
	return &it->table[it->idx];
}

/* At the root entry covering @addr. */
static s2_always_inline void iter_start(struct s2_iter *it, const struct s2_pgtable *pgt,
					uint64_t addr)
{
	it->table = pgt->root;
	it->level = pgt->start_level;
	it->idx = (unsigned)(addr >> pgt->shift[S2_LVL(it->level)]);
}

/*
 * Into the table that the current entry, read as @pte, holds, at the
 * entry covering @addr.  @path: where to remember the way back
 * (iter_up); a descent that never comes back up passes NULL and stores
 * nothing on the way (the fault path's descent is a chain of dependent
 * loads that extra stores would only slow).
 */
static s2_always_inline void iter_down(struct s2_iter *it, const struct s2_pgtable *pgt,
				       uint64_t addr, uint64_t pte, uint64_t **path)
{
	const unsigned mask = (1U << pgt->fmt.bits_per_level) - 1;

	if (path)
		path[it->level - pgt->start_level] = &it->table[it->idx];
	it->table = lv_child(pgt, s2_lv(pgt, it->level), pte);
	it->level++;
	it->idx = (unsigned)(addr >> pgt->shift[S2_LVL(it->level)]) & mask;
}

/*
 * Back to the table entry the last iter_down with @path went through.
 * A table below the root is one aligned page, found from the entry's
 * address; the root may be several concatenated pages, so it is taken
 * from the table itself.
 */
static s2_always_inline void iter_up(struct s2_iter *it, const struct s2_pgtable *pgt,
				     uint64_t *const *path)
{
	uint64_t *ptep;

	it->level--;
	ptep = path[it->level - pgt->start_level];
	it->table = it->level == pgt->start_level ? pgt->root : table_of(pgt, ptep);
	it->idx = (unsigned)(ptep - it->table);
}

/*
 * Down to the entry that translates @addr now: the first one on the way
 * that is not a table (a leaf, or an invalid or locked entry, possibly
 * above the last level).  Return: its value, read with acquire so that
 * a table published with release is seen zeroed behind its entry.
 */
static s2_always_inline uint64_t iter_descend(struct s2_iter *it,
					      const struct s2_pgtable *pgt,
					      uint64_t addr, uint64_t **path)
{
	for (;;) {
		uint64_t pte = pte_load_acquire(pgt, iter_ptep(it));

		if (it->level == S2_LAST_LEVEL || !lv_table(s2_lv(pgt, it->level), pte))
			return pte;
		iter_down(it, pgt, addr, pte, path);
	}
}

/* The visit context of the current entry, read as @pte, for @addr
 * (@c->pgt already set). */
static s2_always_inline void iter_ctx(const struct s2_iter *it, struct s2_walk_ctx *c,
				      uint64_t addr, uint64_t pte)
{
	c->ptep = iter_ptep(it);
	c->old = pte;
	c->level = it->level;
	c->addr = addr & ~(c->pgt->span[S2_LVL(it->level)] - 1);
}

/*
 * The engine's own walks only (never s2_pgt_walk's caller, whose flags
 * cannot carry it): with S2_WALK_SKIPS in the walk's flags, a LEAF or
 * PRE visit may return S2_WALK_SKIP to say that the table its entry now
 * holds needs no visit (split, whose new leaves are already of the
 * target size: entering them would visit 512 leaves to do nothing).
 */
#define S2_WALK_SKIPS	0x100
#define S2_WALK_SKIP	1

/*
 * The engine's own walks only, like S2_WALK_SKIPS: with S2_WALK_RUN in
 * the flags the last level is not visited entry by entry but once per
 * run of entries of one table that the range covers, with the visit
 * kind S2_WALK_RUN: c->ptep is the run's first entry, c->addr its
 * address and c->old, which a run has no single value for, the number
 * of entries.  For a visitor whose common case is one store per entry
 * (a range map over fresh tables), the per-entry visit's bookkeeping
 * costs more than the store (issue 17 item 4, the memory floor).
 */
#define S2_WALK_RUN	0x200

/*
 * A visitor specialised on a constant (the walk mode, the unmap's
 * shape): FN_SUFFIX(c, visit) is FN(c, visit, ARG), so each
 * specialisation gets a walker of its own, with the visitor inlined and
 * the constant folded (no indirect call and no test of it per entry).
 */
#define S2_VISITOR_WITH(fn, suffix, arg)					\
	static s2_always_inline int fn##_##suffix(struct s2_walk_ctx *c, unsigned visit) \
	{									\
		return fn(c, visit, arg);					\
	}

/*
 * The walker's visit of one entry above the last-level loop, in both its
 * paths: a table entry gets PRE, anything else LEAF (as @flags select),
 * and the entry is re-read after the visit.  *@down: the walk descends
 * into the table the entry now holds (*@pte), which a LEAF visit may have
 * installed (map creating a level, split) and a PRE visit removed
 * (collapse into a block).  Return: 0 or the visitor's error.
 */
static s2_always_inline int walk_visit_entry(struct s2_walk_ctx *c,
					     const struct s2_fmt_level *lv, unsigned flags,
					     s2_visitor_fn visit, uint64_t *pte, bool *down)
{
	unsigned kind = lv_table(lv, *pte) ? S2_WALK_TABLE_PRE : S2_WALK_LEAF;
	int ret;

	*down = kind == S2_WALK_TABLE_PRE;
	if (!(flags & kind))
		return 0;
	ret = visit(c, kind);
	if (ret) {
		if ((flags & S2_WALK_SKIPS) && ret == S2_WALK_SKIP) {
			*down = false;
			return 0;
		}
		return ret;
	}
	if (c->level == S2_LAST_LEVEL) {
		*down = false;
		return 0;
	}
	*pte = pte_load_acquire(c->pgt, c->ptep);
	*down = lv_table(lv, *pte);
	return 0;
}

/*
 * The range walk over the iterator.  Inlined into each operation with
 * the visitor known at compile time.  Visits every entry overlapping
 * [start, end): leaves and invalid entries with S2_WALK_LEAF, table
 * entries before their subtree (PRE) and after it (POST).  After a LEAF
 * or PRE visit the entry is re-read: a visitor that installed a table
 * (map creating a level, split) is descended into, a visitor that
 * removed one (collapse into a block) is not.
 */
static s2_always_inline int s2_walk_inline(struct s2_pgtable *pgt, uint64_t start,
					   uint64_t end, unsigned flags, s2_visitor_fn visit,
					   void *arg)
{
	uint64_t *path[S2_MAX_LEVELS];
	uint64_t bases[S2_MAX_LEVELS];
	const int sl = pgt->start_level;
	const unsigned ptrs = 1U << pgt->fmt.bits_per_level;
	unsigned nents = pgt->root_entries;
	uint64_t addr = start;
	struct s2_walk_ctx c;
	struct s2_iter it;
	int ret;

	c.pgt = pgt;
	c.end = end;
	c.flags = flags;
	c.arg = arg;
	iter_start(&it, pgt, start);
	if (((start ^ (end - 1)) >> pgt->page_shift) == 0) {
		/*
		 * The range lies in one page: a straight descent with the
		 * same visits the loop below would make, without its
		 * bookkeeping: a fault that must create tables, a per-page
		 * unmap of a block, the aging of one page.
		 */
		for (;;) {
			uint64_t pte = pte_load_acquire(pgt, iter_ptep(&it));
			bool down;

			iter_ctx(&it, &c, start, pte);
			ret = walk_visit_entry(&c, s2_lv(pgt, it.level), flags, visit, &pte,
					       &down);
			if (ret)
				return ret;
			if (!down)
				break;
			iter_down(&it, pgt, start, pte,
				  (flags & S2_WALK_TABLE_POST) ? path : NULL);
		}
		if (flags & S2_WALK_TABLE_POST) {
			while (it.level > sl) {
				iter_up(&it, pgt, path);
				iter_ctx(&it, &c, start, pte_load_acquire(pgt, iter_ptep(&it)));
				ret = visit(&c, S2_WALK_TABLE_POST);
				if (ret)
					return ret;
			}
		}
		return 0;
	}
	for (;;) {
		const struct s2_fmt_level *lv;
		uint64_t span, base, pte;

		if (it.idx >= nents || addr >= end) {
			if (it.level == sl)
				return 0;
			iter_up(&it, pgt, path);
			nents = it.level == sl ? pgt->root_entries : ptrs;
			base = bases[it.level - sl];
			if (flags & S2_WALK_TABLE_POST) {
				c.ptep = iter_ptep(&it);
				c.old = pte_load_acquire(pgt, c.ptep);
				c.addr = base;
				c.level = it.level;
				ret = visit(&c, S2_WALK_TABLE_POST);
				if (ret)
					return ret;
			}
			it.idx++;
			addr = base + pgt->span[S2_LVL(it.level)];
			continue;
		}
		lv = s2_lv(pgt, it.level);
		span = pgt->span[S2_LVL(it.level)];
		base = addr & ~(span - 1);
		if (it.level == S2_LAST_LEVEL) {
			/*
			 * Last level: only leaves and invalid entries, nothing
			 * to descend into.  A tight loop over the run in this
			 * table is where range operations spend their time.
			 */
			uint64_t left = (end - base + span - 1) >> pgt->page_shift;
			unsigned idx = it.idx;
			unsigned lim = left < nents - idx ? idx + (unsigned)left : nents;
			uint64_t *table = it.table;

			if (flags & S2_WALK_RUN) {
				c.level = it.level;
				c.ptep = &table[idx];
				c.addr = base;
				c.old = lim - idx;
				ret = visit(&c, S2_WALK_RUN);
				if (ret)
					return ret;
				base += (uint64_t)(lim - idx) * span;
				idx = lim;
			} else if (flags & S2_WALK_LEAF) {
				c.level = it.level;
				for (; idx < lim; idx++, base += span) {
					c.ptep = &table[idx];
					c.old = pte_load(pgt, c.ptep);
					c.addr = base;
					ret = visit(&c, S2_WALK_LEAF);
					if (ret)
						return ret;
				}
			} else {
				base += (uint64_t)(lim - idx) * span;
				idx = lim;
			}
			it.idx = idx;
			addr = base;
			continue;
		}
		{
			/*
			 * Above the last level: the run of entries of this
			 * table that the range overlaps, in a loop of its own
			 * like the last level's, left for the first table
			 * entry to descend into.  Range operations over blocks
			 * spend their time here; kept apart from the
			 * bookkeeping above, the loop's state stays in
			 * registers.
			 */
			unsigned idx = it.idx;
			uint64_t *table = it.table;
			bool down;

			c.level = it.level;
			for (;;) {
				c.ptep = &table[idx];
				pte = pte_load_acquire(pgt, c.ptep);
				c.old = pte;
				c.addr = base;
				ret = walk_visit_entry(&c, lv, flags, visit, &pte, &down);
				if (ret)
					return ret;
				if (down)
					break;
				idx++;
				base += span;
				addr = base;
				if (idx >= nents || addr >= end)
					break;
			}
			it.idx = idx;
			if (!down)
				continue;
		}
		bases[it.level - sl] = base;
		iter_down(&it, pgt, addr, pte, path);
		nents = ptrs;
	}
}

#endif
