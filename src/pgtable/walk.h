/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The generic walker and the single-address descent, with the RCU read
 * section every shared walk runs in.  Inline, so that each operation's
 * walk is compiled with its visitor known (no indirect call per entry).
 */
#ifndef S2_PGTABLE_WALK_H
#define S2_PGTABLE_WALK_H

#include "entry.h"

#define S2_VISIT_LEAF	S2_WALK_LEAF
#define S2_VISIT_PRE	S2_WALK_TABLE_PRE
#define S2_VISIT_POST	S2_WALK_TABLE_POST

typedef int (*s2_vis_t)(struct s2_walk_ctx *c, unsigned visit);

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
	if (!S2_BUG(pgt->plat, pgt->ctx, shared_walk_no_rcu))
		pgt->plat->rcu_read_lock(pgt->ctx);
}

static s2_always_inline void walk_rcu_exit(struct s2_pgtable *pgt)
{
	if (!S2_BUG(pgt->plat, pgt->ctx, shared_walk_no_rcu))
		pgt->plat->rcu_read_unlock(pgt->ctx);
}

/*
 * The entry that translates @addr now: the first one on the way down that
 * is not a table (a leaf, or an invalid or locked entry, possibly above the
 * last level).  The single-page operations that create nothing (lookup,
 * relax, mkyoung) and a fault whose tables all exist need exactly the
 * walker's LEAF visit of this entry, so they descend here instead of
 * setting the walker up (the fault path's hot loop).  With @path, the
 * table entries passed on the way are kept, indexed by level - start
 * level (the per-page unmap hands them to the walker's POST visits);
 * callers passing NULL pay nothing for it once inlined.
 */
static s2_always_inline uint64_t *s2_descend(const struct s2_pgtable *pgt, uint64_t addr,
					     int *levelp, uint64_t *pte_out, uint64_t **path)
{
	const unsigned mask = (1U << pgt->fmt.bits_per_level) - 1;
	uint64_t *table = pgt->root;
	int level = pgt->start_level;
	unsigned idx = (unsigned)(addr >> pgt->shift[S2_LVL(level)]);

	for (;;) {
		const struct s2_fmt_level *lv = s2_lv(pgt, level);
		uint64_t pte = pte_load_acquire(pgt, &table[idx]);

		if (level == S2_LAST_LEVEL || !lv_table(lv, pte)) {
			*levelp = level;
			*pte_out = pte;
			return &table[idx];
		}
		if (path)
			path[level - pgt->start_level] = &table[idx];
		table = lv_child(pgt, lv, pte);
		level++;
		idx = (unsigned)(addr >> pgt->shift[S2_LVL(level)]) & mask;
	}
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
					     s2_vis_t visit, uint64_t *pte, bool *down)
{
	unsigned kind = lv_table(lv, *pte) ? S2_VISIT_PRE : S2_VISIT_LEAF;
	int ret;

	*down = kind == S2_VISIT_PRE;
	if (!(flags & kind))
		return 0;
	ret = visit(c, kind);
	if (ret)
		return ret;
	if (c->level == S2_LAST_LEVEL) {
		*down = false;
		return 0;
	}
	*pte = pte_load_acquire(c->pgt, c->ptep);
	*down = lv_table(lv, *pte);
	return 0;
}

/*
 * The generic walker.  Iterative, so it can be inlined into each
 * operation with the visitor known at compile time.  Visits every entry
 * overlapping [start, end): leaves and invalid entries with S2_VISIT_LEAF,
 * table entries before their subtree (PRE) and after it (POST).  After a
 * LEAF or PRE visit the entry is re-read: a visitor that installed a table
 * (map creating a level, split) is descended into, a visitor that removed
 * one (collapse into a block) is not.
 */
static s2_always_inline int s2_walk_inline(struct s2_pgtable *pgt, uint64_t start,
					   uint64_t end, unsigned flags, s2_vis_t visit,
					   void *arg)
{
	uint64_t *tables[S2_MAX_LEVELS];
	unsigned idxs[S2_MAX_LEVELS];
	uint64_t bases[S2_MAX_LEVELS];
	const int sl = pgt->start_level;
	const unsigned ptrs = 1U << pgt->fmt.bits_per_level;
	int lvl = sl;
	uint64_t *table = pgt->root;
	unsigned nents = pgt->root_entries;
	unsigned idx = (unsigned)(start >> pgt->shift[S2_LVL(sl)]);
	uint64_t addr = start;
	struct s2_walk_ctx c;
	int ret;

	c.pgt = pgt;
	c.end = end;
	c.flags = flags;
	c.arg = arg;
	if (((start ^ (end - 1)) >> pgt->page_shift) == 0) {
		/*
		 * The range lies in one page: a straight descent with the
		 * same visits the loop below would make, without its
		 * bookkeeping: a fault that must create tables, a per-page
		 * unmap of a block, the aging of one page.
		 */
		for (;;) {
			const struct s2_fmt_level *lv = s2_lv(pgt, lvl);
			uint64_t pte;
			bool down;

			c.ptep = &table[idx];
			c.old = pte = pte_load_acquire(pgt, c.ptep);
			c.addr = start & ~(pgt->span[S2_LVL(lvl)] - 1);
			c.level = lvl;
			ret = walk_visit_entry(&c, lv, flags, visit, &pte, &down);
			if (ret)
				return ret;
			if (!down)
				break;
			tables[lvl - sl] = table;
			idxs[lvl - sl] = idx;
			table = lv_child(pgt, lv, pte);
			lvl++;
			idx = (unsigned)(start >> pgt->shift[S2_LVL(lvl)]) & (ptrs - 1);
		}
		if (flags & S2_VISIT_POST) {
			for (lvl--; lvl >= sl; lvl--) {
				c.ptep = &tables[lvl - sl][idxs[lvl - sl]];
				c.old = pte_load_acquire(pgt, c.ptep);
				c.addr = start & ~(pgt->span[S2_LVL(lvl)] - 1);
				c.level = lvl;
				ret = visit(&c, S2_VISIT_POST);
				if (ret)
					return ret;
			}
		}
		return 0;
	}
	for (;;) {
		const struct s2_fmt_level *lv;
		uint64_t span, base, pte;

		if (idx >= nents || addr >= end) {
			if (lvl == sl)
				return 0;
			lvl--;
			table = tables[lvl - sl];
			idx = idxs[lvl - sl];
			nents = lvl == sl ? pgt->root_entries : ptrs;
			base = bases[lvl - sl];
			if (flags & S2_VISIT_POST) {
				c.ptep = &table[idx];
				c.old = pte_load_acquire(pgt, c.ptep);
				c.addr = base;
				c.level = lvl;
				ret = visit(&c, S2_VISIT_POST);
				if (ret)
					return ret;
			}
			idx++;
			addr = base + pgt->span[S2_LVL(lvl)];
			continue;
		}
		lv = s2_lv(pgt, lvl);
		span = pgt->span[S2_LVL(lvl)];
		base = addr & ~(span - 1);
		if (lvl == S2_LAST_LEVEL) {
			/*
			 * Last level: only leaves and invalid entries, nothing
			 * to descend into.  A tight loop over the run in this
			 * table is where range operations spend their time.
			 */
			uint64_t left = (end - base + span - 1) >> pgt->page_shift;
			unsigned lim = left < nents - idx ? idx + (unsigned)left : nents;

			if (flags & S2_VISIT_LEAF) {
				c.level = lvl;
				for (; idx < lim; idx++, base += span) {
					c.ptep = &table[idx];
					c.old = pte_load(pgt, c.ptep);
					c.addr = base;
					ret = visit(&c, S2_VISIT_LEAF);
					if (ret)
						return ret;
				}
			} else {
				base += (uint64_t)(lim - idx) * span;
				idx = lim;
			}
			addr = base;
			continue;
		}
		c.ptep = &table[idx];
		pte = pte_load_acquire(pgt, c.ptep);
		c.old = pte;
		c.addr = base;
		c.level = lvl;
		{
			bool down;

			ret = walk_visit_entry(&c, lv, flags, visit, &pte, &down);
			if (ret)
				return ret;
			if (!down)
				goto next;
		}
		tables[lvl - sl] = table;
		idxs[lvl - sl] = idx;
		bases[lvl - sl] = base;
		table = lv_child(pgt, lv, pte);
		lvl++;
		nents = ptrs;
		idx = (unsigned)(addr >> pgt->shift[S2_LVL(lvl)]) & (ptrs - 1);
		continue;
next:
		idx++;
		addr = base + span;
	}
}

#endif
