/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Unmap: the per-leaf unmap (and its single-page shortcut) and the fast
 * unmap that detaches whole subtrees with one break each.
 */
#include "internal.h"

/* ---------------------------------------------------------------- unmap */

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

struct unmap_data {
	struct s2_tlb_batch g;
	struct refbatch rb;
	/* an entry was removed from the table being walked at this level;
	 * a table nothing was removed from cannot have become empty */
	bool dirty[S2_MAX_LEVELS + 1];
	bool rcu;		/* inside rcu_read_lock */
};

static s2_always_inline int unmap_visit(struct s2_walk_ctx *c, unsigned visit)
{
	struct unmap_data *d = c->arg;
	struct s2_pgtable *pgt = c->pgt;
	const struct s2_fmt_level *lv = s2_lv(pgt, c->level);
	uint64_t span = pgt_span(pgt, c->level), old;

	if (visit == S2_VISIT_LEAF) {
		/* A block only partly in the range goes whole: stage 2 is a
		 * cache of the host's mappings and the rest faults back. */
		if (!lv_valid(lv, c->old))
			return 0;
		old = clear_leaf(c, &d->rb, d->dirty);
		if ((pgt->flags & S2_PGT_NO_FWB) &&
		    S2_BUG(pgt->plat, pgt->ctx, cmo_before_tlbi)) {
			/* seed 004: cleaned while the TLB still lets the
			 * guest write, so a later write stays in the cache */
			cmo_unmapped(pgt, lv, old, span);
			gather_add(pgt, &d->g, c->addr, span, c->level, true);
			s2_pgt_tlb_flush(pgt, &d->g);
		} else if (pgt->flags & S2_PGT_NO_FWB) {
			gather_add(pgt, &d->g, c->addr, span, c->level, true);
			s2_pgt_tlb_flush(pgt, &d->g);
			cmo_unmapped(pgt, lv, old, span);
		} else {
			gather_add(pgt, &d->g, c->addr, span, c->level, true);
		}
		return 0;
	}
	/* POST: the child's entries are done; unlink it if it is empty. */
	{
		uint64_t *child = unlink_if_empty(c, &d->rb, d->dirty);

		if (!child)
			return 0;
		/* Walk caches may hold the table entry: non-leaf invalidation
		 * before the page can be freed (I3).  defer_table_tlbi: a
		 * leaf-only one, which leaves the walk caches pointing at it. */
		if (S2_BUG(pgt->plat, pgt->ctx, defer_table_tlbi))
			gather_add(pgt, &d->g, c->addr, span, c->level + 1, true);
		else
			gather_add(pgt, &d->g, c->addr, span, -1, false);
		/*
		 * Queued before the TLBI, yet safe: from the first table on,
		 * the walk holds an RCU read section that ends only after the
		 * gather is flushed, so no grace period started now can end
		 * while a walk cache may still point at the page.
		 */
		if (!d->rcu) {
			pgt->plat->rcu_read_lock(pgt->ctx);
			d->rcu = true;
		}
		s2pgt_defer_free_table(pgt, child, c->level + 1);
	}
	return 0;
}

static s2_noinline int unmap_walk(struct s2_pgtable *pgt, uint64_t ipa, uint64_t end,
				  struct unmap_data *d)
{
	return s2_walk_inline(pgt, ipa, end, S2_VISIT_LEAF | S2_VISIT_POST, unmap_visit, d);
}

static void unmap_data_init(struct unmap_data *d)
{
	s2_tlb_batch_init(&d->g);
	d->rb.table = NULL;
	d->rb.n = 0;
	for (unsigned i = 0; i < S2_MAX_LEVELS + 1; i++)
		d->dirty[i] = false;
	d->rcu = false;
}

/* The TLBI before any page the walk unlinked can be freed (see unmap_visit). */
static void unmap_data_finish(struct s2_pgtable *pgt, struct unmap_data *d)
{
	ref_flush(pgt, &d->rb);
	s2_pgt_tlb_flush(pgt, &d->g);
	if (d->rcu)
		pgt->plat->rcu_read_unlock(pgt->ctx);
}

/*
 * One last-level page, the per-page unmap of a fault-like caller (a vCPU
 * page reclaimed, a notifier for one page), is mostly a descent, one
 * store, one count drop and one single-entry TLBI; the walker's
 * bookkeeping (visits, reference batch, gather, post-order pass) would
 * double its cost.  So: descend keeping the path, remove the leaf, and
 * only when that emptied its table hand the path to the same POST visits
 * the walker makes (unlink, non-leaf TLBI, deferred free).  Blocks and
 * non-FWB tables (TLBI then clean, and the cmo_before_tlbi site) take the
 * walker, before anything has changed.
 */
static s2_always_inline int unmap_page(struct s2_pgtable *pgt, uint64_t addr)
{
	const int sl = pgt->start_level;
	uint64_t *path[S2_MAX_LEVELS];
	uint64_t *ptep, old;
	struct unmap_data d;
	struct s2_walk_ctx c;
	int level;

	ptep = s2_descend(pgt, addr, &level, &old, path);
	if (!lv_valid(s2_lv(pgt, level), old))
		return 0;
	if (level != S2_LAST_LEVEL || level == sl || (pgt->flags & S2_PGT_NO_FWB)) {
		unmap_data_init(&d);
		unmap_walk(pgt, addr, addr + pgt_span(pgt, S2_LAST_LEVEL), &d);
		unmap_data_finish(pgt, &d);
		return 0;
	}
	take_leaf(pgt, ptep, old);
	/* A count back at 1 (the parent's link alone) is an empty table. */
	if (ref_add(pgt, table_of(pgt, ptep), -1) != 1) {
		pgt->plat->tlbi_ipa(pgt->ctx, addr, level, S2_TLBI_LEAF);
		return 0;
	}
	unmap_data_init(&d);
	gather_add(pgt, &d.g, addr, pgt_span(pgt, level), level, true);
	d.dirty[S2_LVL(level)] = true;
	c.pgt = pgt;
	c.end = addr + pgt_span(pgt, level);
	c.flags = S2_VISIT_LEAF | S2_VISIT_POST;
	c.arg = &d;
	for (level--; level >= sl; level--) {
		c.ptep = path[level - sl];
		c.old = pte_load_acquire(pgt, c.ptep);
		c.addr = addr & ~(pgt_span(pgt, level) - 1);
		c.level = level;
		unmap_visit(&c, S2_VISIT_POST);
	}
	unmap_data_finish(pgt, &d);
	return 0;
}

int s2_pgt_unmap(struct s2_pgtable *pgt, s2_gpa_t ipa, uint64_t size)
{
	struct unmap_data d;
	int ret;

	if (!pgt_live(pgt))
		return -S2_EINVAL;
	ret = check_range(pgt, ipa.v, size);
	if (ret)
		return ret;
	if (size == pgt_span(pgt, S2_LAST_LEVEL))
		return unmap_page(pgt, ipa.v);
	unmap_data_init(&d);
	ret = unmap_walk(pgt, ipa.v, ipa.v + size, &d);
	unmap_data_finish(pgt, &d);
	return ret;
}

/* ----------------------------------------------------------- fast unmap */

/*
 * Output runs of leaves removed at the edges of a fast unmap, whose data
 * still has to be cleaned to PoC once the TLBI is done (non-FWB only).
 * Bounded: when it fills, the gather is flushed early and the runs
 * cleaned, one extra TLB operation per S2_FAST_CMO_MAX discontiguous runs.
 */
#define S2_FAST_CMO_MAX	32

struct fast_data {
	struct s2_tlb_batch *g;		/* the caller's for unmap_defer */
	struct refbatch rb;
	bool dirty[S2_MAX_LEVELS + 1];	/* as unmap_data.dirty */
	uint64_t start;
	struct s2_detached *det;
	unsigned ncmo;
	struct { uint64_t pa, size; } cmo[S2_FAST_CMO_MAX];
};


/* Complete everything queued so far: TLBI first, then the CMOs (I8). */
static void fast_drain(struct s2_pgtable *pgt, struct fast_data *d)
{
	unsigned i;

	s2_pgt_tlb_flush(pgt, d->g);
	for (i = 0; i < d->ncmo; i++)
		pgt->plat->dcache_clean_inval_poc(pgt->ctx, d->cmo[i].pa, d->cmo[i].size);
	d->ncmo = 0;
}

static void fast_detach(struct s2_pgtable *pgt, struct fast_data *d, uint64_t *table,
			int level)
{
	struct s2_detached *det = d->det;

	if (det->nr == S2_DETACHED_MAX) {
		/* The gather covers every entry broken so far, these
		 * subtrees' included: after the flush they are unreachable. */
		fast_drain(pgt, d);
		s2_pgt_unmap_fast_finish(pgt, det);
	}
	det->table[det->nr] = table;
	det->level[det->nr] = (signed char)level;
	det->nr++;
}

static s2_always_inline int fast_visit(struct s2_walk_ctx *c, unsigned visit)
{
	struct fast_data *d = c->arg;
	struct s2_pgtable *pgt = c->pgt;
	const struct s2_fmt_level *lv = s2_lv(pgt, c->level);
	uint64_t span = pgt_span(pgt, c->level), old;

	if (visit == S2_VISIT_PRE) {
		/*
		 * A table wholly inside the range goes with one break: its
		 * entries stay as they are, unreachable once the TLBI below
		 * (non-leaf: walk caches too) is done.  A table entry holds
		 * nothing the hardware updates that we need, so a plain store.
		 */
		if (c->addr < d->start || c->addr + span > c->end)
			return 0;
		pte_store(c->pgt, c->ptep, 0);
		ref_entry(pgt, &d->rb, c->ptep, c->level, -1);
		d->dirty[S2_LVL(c->level)] = true;
		gather_add(pgt, d->g, c->addr, span, -1, false);
		fast_detach(pgt, d, lv_child(pgt, lv, c->old), c->level + 1);
		return 0;
	}
	if (visit == S2_VISIT_LEAF) {
		/* The edges: leaves of tables the range covers only partly. */
		if (!lv_valid(lv, c->old))
			return 0;
		old = clear_leaf(c, &d->rb, d->dirty);
		gather_add(pgt, d->g, c->addr, span, c->level, true);
		if ((pgt->flags & S2_PGT_NO_FWB) && !(lv_prot(lv, old) & S2_PROT_DEVICE)) {
			uint64_t pa = lv_oa(pgt, lv, old);

			/* guest memory is usually contiguous: one run */
			if (d->ncmo && d->cmo[d->ncmo - 1].pa + d->cmo[d->ncmo - 1].size == pa) {
				d->cmo[d->ncmo - 1].size += span;
				return 0;
			}
			if (d->ncmo == S2_FAST_CMO_MAX)
				fast_drain(pgt, d);
			d->cmo[d->ncmo].pa = pa;
			d->cmo[d->ncmo].size = span;
			d->ncmo++;
		}
		return 0;
	}
	/* POST: a partly covered table left empty is unlinked like unmap's. */
	{
		uint64_t *child = unlink_if_empty(c, &d->rb, d->dirty);

		if (!child)
			return 0;
		gather_add(pgt, d->g, c->addr, span, -1, false);
		fast_detach(pgt, d, child, c->level + 1);
	}
	return 0;
}

static s2_noinline int fast_walk(struct s2_pgtable *pgt, uint64_t ipa, uint64_t end,
				 struct fast_data *d)
{
	return s2_walk_inline(pgt, ipa, end, S2_VISIT_LEAF | S2_VISIT_PRE | S2_VISIT_POST,
			      fast_visit, d);
}

static int fast_unmap(struct s2_pgtable *pgt, uint64_t ipa, uint64_t size,
		      struct s2_detached *det, struct s2_tlb_batch *tb)
{
	struct fast_data d;
	int ret;

	d.g = tb;
	d.rb.table = NULL;
	d.rb.n = 0;
	for (unsigned i = 0; i < S2_MAX_LEVELS + 1; i++)
		d.dirty[i] = false;
	d.start = ipa;
	d.det = det;
	d.ncmo = 0;
	ret = fast_walk(pgt, ipa, ipa + size, &d);
	ref_flush(pgt, &d.rb);
	/* Non-FWB: the edges' data is cleaned only after their invalidation,
	 * which therefore cannot wait for the caller. */
	if (d.ncmo)
		fast_drain(pgt, &d);
	return ret;
}

int s2_pgt_unmap_fast(struct s2_pgtable *pgt, s2_gpa_t ipa, uint64_t size,
		      struct s2_detached *det)
{
	struct s2_detached local;
	struct s2_tlb_batch g;
	int ret;

	if (!pgt_live(pgt))
		return -S2_EINVAL;
	ret = check_range(pgt, ipa.v, size);
	if (ret)
		return ret;
	local.nr = 0;
	s2_tlb_batch_init(&g);
	ret = fast_unmap(pgt, ipa.v, size, det ? det : &local, &g);
	/* One invalidation for the whole operation, before return (seed 004). */
	s2_pgt_tlb_flush(pgt, &g);
	if (!det)
		s2_pgt_unmap_fast_finish(pgt, &local);
	return ret;
}

int s2_pgt_unmap_defer(struct s2_pgtable *pgt, s2_gpa_t ipa, uint64_t size,
		       struct s2_detached *det, struct s2_tlb_batch *tb)
{
	int ret;

	if (!pgt_live(pgt) || !det || !tb)
		return -S2_EINVAL;
	ret = check_range(pgt, ipa.v, size);
	if (ret)
		return ret;
	ret = fast_unmap(pgt, ipa.v, size, det, tb);
	if (pgt->flags & S2_PGT_NO_FWB)
		s2_pgt_tlb_flush(pgt, tb);
	return ret;
}
