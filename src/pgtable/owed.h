/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * What removing a translation owes, and in which order: the TLB
 * invalidation, then cache maintenance of the data it mapped, then the
 * freeing of table pages it unlinked (after a grace period).  One object
 * holds it (struct s2_owed) and one function settles it
 * (s2pgt_owed_settle).  The TLB gather, the cache-maintenance helpers and
 * the owing are inline (per entry on range walks); the table-lifetime
 * functions and the cold halves of settling are in owed.c.
 */
#ifndef S2_PGTABLE_OWED_H
#define S2_PGTABLE_OWED_H

#include "entry.h"

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
	/* The next leaf of a range walk: the run just grows.  Likely: it is
	 * every leaf of a range unmap or write-protect but the first, and
	 * the hint keeps it the fall-through path of their loops. */
	if (s2_likely(leaf && addr == g->end && g->end != g->start)) {
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

/*
 * I11: @pa is about to become executable for the guest (mapped with X, or
 * X added to a live leaf): its instruction cache lines may hold what the
 * frame held before the host last wrote it (a fresh page, a migration or
 * COW copy), so they go before the entry that allows the fetch is
 * written.  FEAT_S2FWB forces the data side's attributes only and does
 * not imply CTR_EL0.DIC; only a platform that declares DIC skips this,
 * as KVM does.
 */
static s2_always_inline void icache_exec(struct s2_pgtable *pgt, uint64_t pa, uint64_t size)
{
	if (pgt->plat->icache_dic)
		return;
	/* fwb_no_icache: the old rule, "FWB means no cache maintenance" */
	if (S2_BUG_INJECTED(pgt->plat, pgt->ctx, fwb_no_icache) && !(pgt->flags & S2_PGT_NO_FWB))
		return;
	pgt->plat->icache_inval_pou(pgt->ctx, s2_hpa(pa), size);
}

/* The fwb_no_icache switch also drops the invalidation when X is added to
 * a live leaf (relax, an in-place attribute change), FWB or not. */
static s2_always_inline void icache_exec_added(struct s2_pgtable *pgt, uint64_t pa,
					       uint64_t size)
{
	if (!S2_BUG_INJECTED(pgt->plat, pgt->ctx, fwb_no_icache))
		icache_exec(pgt, pa, size);
}

/* Whether cmo_map can have anything to do for a mapping of @prot: a
 * test a range map makes once rather than per leaf. */
static s2_always_inline bool cmo_map_needed(const struct s2_pgtable *pgt, unsigned prot)
{
	return !(prot & S2_PROT_DEVICE) && ((pgt->flags & S2_PGT_NO_FWB) || (prot & S2_PROT_X));
}

static s2_always_inline void cmo_map(struct s2_pgtable *pgt, uint64_t pa, uint64_t size,
				     unsigned prot)
{
	if (prot & S2_PROT_DEVICE)
		return;
	/* Without FWB the guest may run with its caches off and read memory
	 * straight from PoC: clean the new page there before mapping it. */
	if (pgt->flags & S2_PGT_NO_FWB)
		pgt->plat->dcache_clean_inval_poc(pgt->ctx, s2_hpa(pa), size);
	if (prot & S2_PROT_X)
		icache_exec(pgt, pa, size);
}

static s2_always_inline void cmo_unmapped(struct s2_pgtable *pgt,
					  const struct s2_fmt_level *lv,
					  uint64_t old, uint64_t size)
{
	/*
	 * I8: only once the translation is gone from every TLB can no new
	 * guest write allocate a line, so clean+invalidate after the TLBI
	 * (the order the bug cmo_before_tlbi reverses, seed 004).
	 */
	if (!(pgt->flags & S2_PGT_NO_FWB) || (lv_prot(lv, old) & S2_PROT_DEVICE))
		return;
	pgt->plat->dcache_clean_inval_poc(pgt->ctx, s2_hpa(lv_oa(pgt, lv, old)), size);
}

/* Table-page lifetime (owed.c). */
void s2pgt_free_subtree_now(struct s2_pgtable *pgt, uint64_t *table, int level);
void s2pgt_defer_free_table(struct s2_pgtable *pgt, uint64_t *table, int level);
void s2pgt_cmo_subtree(struct s2_pgtable *pgt, uint64_t *table, int level);

/*
 * Output runs whose data an unmap owes to PoC once the TLBI is done
 * (non-FWB only).  Bounded: when it fills, the TLBI and the cleaning are
 * settled early, one extra TLB operation per S2_OWED_CMO_MAX
 * discontiguous runs.
 */
#define S2_OWED_CMO_MAX	32

/*
 * Everything an unmap has removed but not finished, in one object, so
 * that the order of finishing is written once (s2pgt_owed_settle): the
 * TLB invalidation (I1, and I3 for walk caches of unlinked tables), then
 * the data cleaned to PoC (I8: only once no TLB lets the guest write),
 * then the unlinked tables freed after a grace period (I3).
 * @tb: the invalidation owed (for s2_pgt_unmap_defer, the caller's batch,
 * copied in and back: the walk's gather then needs no pointer chase).
 * @det: where unlinked subtrees wait for the invalidation; NULL queues
 * each for freeing at once inside an RCU read section (@rcu) that only
 * settling ends, which holds their grace period back until after the
 * invalidation just the same.
 */
struct s2_owed {
	struct s2_tlb_batch tb;
	struct s2_detached *det;
	bool rcu;
	unsigned ncmo;
	struct { uint64_t pa, size; } cmo[S2_OWED_CMO_MAX];
};

void s2pgt_owed_clean(struct s2_pgtable *pgt, struct s2_owed *o);

/*
 * Settle @o: the invalidation, then the cleaning; with @free also the
 * detached subtrees (cleaned and queued for freeing) and the RCU read
 * section.  Without @free, what stays owed is only what waits for the
 * invalidation just issued, so the caller may finish it later, unlocked
 * (s2_pgt_unmap_fast_finish).  Inline, with the cleaning out of line:
 * the per-leaf unmap of a non-FWB table settles once per leaf, and the
 * loop over the runs inlined there costs its FWB loop registers.
 */
static s2_always_inline void s2pgt_owed_settle(struct s2_pgtable *pgt, struct s2_owed *o,
					       bool free)
{
	s2_pgt_tlb_flush(pgt, &o->tb);
	/* cmo_before_tlbi reverses these two (in the per-leaf unmap) */
	if (o->ncmo)
		s2pgt_owed_clean(pgt, o);
	if (!free)
		return;
	if (o->det && o->det->nr)
		s2_pgt_unmap_fast_finish(pgt, o->det);
	if (o->rcu) {
		pgt->plat->rcu_read_unlock(pgt->ctx);
		o->rcu = false;
	}
}

/* @tb: an invalidation already owed, to merge with (NULL: none). */
static s2_always_inline void owed_init(struct s2_owed *o, const struct s2_tlb_batch *tb,
				       struct s2_detached *det)
{
	if (tb)
		o->tb = *tb;
	else
		s2_tlb_batch_init(&o->tb);
	o->det = det;
	o->rcu = false;
	o->ncmo = 0;
}

static s2_always_inline void owe_tlbi(struct s2_pgtable *pgt, struct s2_owed *o,
				      uint64_t addr, uint64_t size, int level, bool leaf)
{
	gather_add(pgt, &o->tb, addr, size, level, leaf);
}

/* An unlinked table of @level, owed freeing once the invalidation that
 * covers its entry (owe_tlbi, before this) is done. */
static s2_always_inline void owe_table(struct s2_pgtable *pgt, struct s2_owed *o,
				       uint64_t *table, int level)
{
	struct s2_detached *det = o->det;

	if (!det) {
		/*
		 * Queued before the TLBI, yet safe: from the first table on,
		 * the unmap holds an RCU read section that ends only after the
		 * invalidation is settled, so no grace period started now can
		 * end while a walk cache may still point at the page.
		 */
		if (!o->rcu) {
			pgt->plat->rcu_read_lock(pgt->ctx);
			o->rcu = true;
		}
		s2pgt_defer_free_table(pgt, table, level);
		return;
	}
	/* Full: the gather covers every entry broken so far, these subtrees'
	 * included, so after settling they are unreachable and may go. */
	if (det->nr == S2_DETACHED_MAX)
		s2pgt_owed_settle(pgt, o, true);
	det->table[det->nr] = table;
	det->level[det->nr] = (signed char)level;
	det->nr++;
}

/* The data of the removed leaf @old, owed to PoC after the invalidation
 * (called for non-FWB tables only). */
static s2_always_inline void owe_cmo(struct s2_pgtable *pgt, struct s2_owed *o,
				     const struct s2_fmt_level *lv, uint64_t old,
				     uint64_t size)
{
	uint64_t pa;

	if (lv_prot(lv, old) & S2_PROT_DEVICE)
		return;
	pa = lv_oa(pgt, lv, old);
	/* guest memory is usually contiguous: one run */
	if (o->ncmo && o->cmo[o->ncmo - 1].pa + o->cmo[o->ncmo - 1].size == pa) {
		o->cmo[o->ncmo - 1].size += size;
		return;
	}
	if (o->ncmo == S2_OWED_CMO_MAX)
		s2pgt_owed_settle(pgt, o, false);
	o->cmo[o->ncmo].pa = pa;
	o->cmo[o->ncmo].size = size;
	o->ncmo++;
}

#endif
