/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Engine internals: entry decode/encode through the format's data, the
 * generic walker, page-cache and refcount helpers, and the TLB gather.
 * Everything is inline so that each operation's walker is specialised on
 * its visitor at compile time (no indirect call per entry).
 */
#ifndef S2_PGTABLE_INTERNAL_H
#define S2_PGTABLE_INTERNAL_H

#include <s2mmu/pgtable.h>
#include <s2mmu/check.h>
#include "../format/format_impl.h"

#define S2_VISIT_LEAF	S2_WALK_LEAF
#define S2_VISIT_PRE	S2_WALK_TABLE_PRE
#define S2_VISIT_POST	S2_WALK_TABLE_POST

typedef int (*s2_vis_t)(struct s2_walk_ctx *c, unsigned visit);

static s2_always_inline const struct s2_fmt_level *
s2_lv(const struct s2_pgtable *pgt, int level)
{
	return &pgt->fmt.lv[S2_LVL(level)];
}

static s2_always_inline bool lv_valid(const struct s2_fmt_level *lv, uint64_t pte)
{
	return (pte & lv->valid_mask) != 0;
}

static s2_always_inline bool lv_table(const struct s2_fmt_level *lv, uint64_t pte)
{
	return lv_valid(lv, pte) && (pte & lv->type_mask) == lv->table_val;
}

static s2_always_inline bool lv_leaf(const struct s2_fmt_level *lv, uint64_t pte)
{
	return lv_valid(lv, pte) && (pte & lv->type_mask) != lv->table_val;
}

static s2_always_inline uint64_t pgt_pa(const struct s2_pgtable *pgt, void *va)
{
	if (s2_likely(pgt->plat->linear))
		return (uint64_t)(uintptr_t)va + (uint64_t)pgt->plat->linear_offset;
	return pgt->plat->virt_to_phys(pgt->ctx, va);
}

static s2_always_inline void *pgt_va(const struct s2_pgtable *pgt, uint64_t pa)
{
	if (s2_likely(pgt->plat->linear))
		return (void *)(uintptr_t)(pa - (uint64_t)pgt->plat->linear_offset);
	return pgt->plat->phys_to_virt(pgt->ctx, pa);
}

static s2_always_inline uint64_t lv_oa(const struct s2_pgtable *pgt,
				       const struct s2_fmt_level *lv, uint64_t pte)
{
	return ((pte & lv->oa_mask) >> lv->oa_pos) << pgt->page_shift;
}

static s2_always_inline uint64_t *lv_child(const struct s2_pgtable *pgt,
					   const struct s2_fmt_level *lv, uint64_t pte)
{
	if (s2_likely(pgt->child_direct))
		return (uint64_t *)(uintptr_t)((pte & lv->tbl_mask) - pgt->child_va_offset);
	return (uint64_t *)pgt_va(pgt, ((pte & lv->tbl_mask) >> lv->tbl_pos) << pgt->page_shift);
}

static s2_always_inline uint64_t lv_mk_table(const struct s2_pgtable *pgt,
					     const struct s2_fmt_level *lv, void *child)
{
	return lv->table_bits | ((pgt_pa(pgt, child) >> pgt->page_shift) << lv->tbl_pos);
}

static s2_always_inline uint64_t lv_oa_bits(const struct s2_pgtable *pgt,
					    const struct s2_fmt_level *lv, uint64_t pa)
{
	return (pa >> pgt->page_shift) << lv->oa_pos;
}

/* Everything of a leaf except its output address. */
static s2_always_inline uint64_t lv_leaf_template(const struct s2_fmt_level *lv,
						  unsigned prot, bool young)
{
	uint64_t t = lv->leaf_bits;

	if (prot & S2_PROT_R)
		t |= lv->r;
	if (prot & S2_PROT_W)
		t |= lv->w;
	t |= (prot & S2_PROT_X) ? lv->x_on : lv->x_off;
	t |= (prot & S2_PROT_DEVICE) ? lv->attr_device : lv->attr_normal;
	if (young)
		t |= lv->af;
	return t;
}

static s2_always_inline unsigned lv_prot(const struct s2_fmt_level *lv, uint64_t pte)
{
	unsigned p = 0;

	if (pte & lv->r)
		p |= S2_PROT_R;
	if (pte & lv->w)
		p |= S2_PROT_W;
	if ((pte & (lv->x_on | lv->x_off)) == lv->x_on)
		p |= S2_PROT_X;
	if ((pte & lv->attr_mask) == lv->attr_device && lv->attr_device != lv->attr_normal)
		p |= S2_PROT_DEVICE;
	return p;
}

/* Hardware may write live leaves (access flag, dirty state). */
static s2_always_inline bool pgt_hw_updates(const struct s2_pgtable *pgt)
{
	return (pgt->flags & (S2_PGT_HW_AF | S2_PGT_HW_DBM | S2_PGT_EPT_AD)) != 0;
}

static s2_always_inline uint64_t *table_of(const struct s2_pgtable *pgt, uint64_t *ptep)
{
	return (uint64_t *)((uintptr_t)ptep & ~(((uintptr_t)1 << pgt->page_shift) - 1));
}

static s2_always_inline int ref_add(const struct s2_pgtable *pgt, void *table, int delta)
{
	return pgt->plat->page_ref_add(pgt->ctx, table, delta);
}

/*
 * Every load, store, exchange and compare-and-exchange of a live table
 * entry in src/pgtable goes through these.  In check builds each is a
 * scheduling point of the controlled scheduler (S2_PREEMPT), so another
 * thread may run between any two entry accesses of a walk: the races of
 * parallel faults, of a collapse freeing the subtree a shared walk is
 * descending (I3), of a hardware update between a read and a store (I7,
 * I9) are reachable wherever they are in the engine, not only where
 * someone thought to put a point.  In every other build the point
 * compiles to nothing and these are the plain atomics.
 */
#define S2_PTE_POINT(pgt, what)	S2_PREEMPT((pgt)->plat, (pgt)->ctx, "pte: " what)

static s2_always_inline uint64_t pte_load(const struct s2_pgtable *pgt, uint64_t *p)
{
	S2_PTE_POINT(pgt, "load");
	return s2_load(p);
}

static s2_always_inline uint64_t pte_load_acquire(const struct s2_pgtable *pgt, uint64_t *p)
{
	S2_PTE_POINT(pgt, "load");
	return s2_load_acquire(p);
}

static s2_always_inline void pte_store(const struct s2_pgtable *pgt, uint64_t *p, uint64_t v)
{
	S2_PTE_POINT(pgt, "store");
	s2_store(p, v);
}

static s2_always_inline void pte_store_release(const struct s2_pgtable *pgt, uint64_t *p,
					       uint64_t v)
{
	S2_PTE_POINT(pgt, "store");
	s2_store_release(p, v);
}

static s2_always_inline uint64_t pte_xchg(const struct s2_pgtable *pgt, uint64_t *p, uint64_t v)
{
	S2_PTE_POINT(pgt, "exchange");
	return s2_xchg(p, v);
}

static s2_always_inline bool pte_cmpxchg(const struct s2_pgtable *pgt, uint64_t *p,
					 uint64_t *old, uint64_t v)
{
	S2_PTE_POINT(pgt, "compare-and-exchange");
	return s2_cmpxchg(p, old, v);
}

/*
 * An entry of a subtree nobody else can reach any more (after its grace
 * period, or at destroy): no walker races it, so no scheduling point.
 */
static s2_always_inline uint64_t pte_load_private(uint64_t *p)
{
	return s2_load(p);
}

static inline void *mc_take(struct s2_memcache *mc)
{
	void **p = mc->head;

	if (!p)
		return NULL;
	mc->head = *p;
	*p = NULL;	/* cache pages are zeroed but for the link word */
	mc->nr--;
	return p;
}

static inline void mc_put(struct s2_memcache *mc, void *page)
{
	*(void **)page = mc->head;
	mc->head = page;
	mc->nr++;
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

/*
 * TLB gather (struct s2_tlb_batch): invalidations of one operation merged
 * into runs of adjacent IPA ranges, issued as a single-entry, range or
 * whole-VM invalidation by size, and flushed before the operation returns
 * (seed 004: a stale TLB entry is harmless only until the notifier
 * returns; s2_pgt_unmap_defer hands that duty to its caller, still under
 * mmu_lock) and before any page it covered is handed to the deferred-free
 * hook.
 */

/* Past this many bytes in one run, invalidate the whole VM instead (the
 * default of pgt->tlbi_vm_threshold). */
#define S2_TLBI_VM_THRESHOLD	(1ULL << 33)

/*
 * FEAT_TLBIRANGE: one range operation covers at most (31+1) * 2^(5*3+1)
 * = 2^21 granules (NUM = 31, SCALE = 3; formats.md 1.8), so a longer run
 * is issued as several operations, each counted.
 */
#define S2_TLBI_RANGE_MAX_PAGES	(1ULL << 21)


static s2_always_inline void gather_add(struct s2_pgtable *pgt, struct s2_tlb_batch *g,
					uint64_t addr, uint64_t size, int level, bool leaf)
{
	/* The next leaf of a range walk: the run just grows. */
	if (leaf && addr == g->end && g->end != g->start) {
		g->end = addr + size;
		if (g->level != level)
			g->level = -1;
		return;
	}
	/* Adjacent or overlapping: a table entry after its own leaves, or
	 * the parent's entry spanning both. */
	if (g->end != g->start && addr <= g->end && addr + size >= g->start) {
		if (addr < g->start)
			g->start = addr;
		if (addr + size > g->end)
			g->end = addr + size;
		if (g->level != level)
			g->level = -1;
		g->leaf_only &= leaf;
		return;
	}
	if (g->end != g->start)
		s2_pgt_tlb_flush(pgt, g);
	g->start = addr;
	g->end = addr + size;
	g->level = level;
	g->leaf_only = leaf;
}

#endif
