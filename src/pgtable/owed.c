/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * What removing translations owes, settled in the order the architecture
 * and the grace-period rule require: the TLB gather's invalidation, the
 * data cleaned to PoC (non-FWB), the unlinked table pages freed after a
 * grace period.
 */
#include "internal.h"

void s2_pgt_tlb_flush(struct s2_pgtable *pgt, struct s2_tlb_batch *g)
{
	uint64_t size;

	if (!pgt || !g)
		return;
	size = g->end - g->start;
	if (!size)
		return;
	if (size == pgt_span(pgt, g->level < 0 ? S2_LAST_LEVEL : g->level) && g->leaf_only)
		pgt->plat->tlbi_ipa(pgt->ctx, s2_gpa(g->start), g->level, S2_TLBI_LEAF);
	else if (size >= pgt->tlbi_vm_threshold)
		pgt->plat->tlbi_vm(pgt->ctx);
	else {
		uint64_t max = S2_TLBI_RANGE_MAX_PAGES << pgt->page_shift, a, n;

		for (a = g->start; a < g->end; a += n) {
			uint64_t op;

			n = g->end - a < max ? g->end - a : max;
			op = n;
			/*
			 * tlbi_range_short ("arm64: tlb: Fix TLBI RANGE
			 * operand"): the operand's page count taken as the
			 * encodable (NUM+1) << (5*SCALE+1) part, rounded down,
			 * while the loop moves past all of it: an odd last
			 * page keeps its TLB entries (dirty pages lost).
			 */
			if (S2_BUG_INJECTED(pgt->plat, pgt->ctx, tlbi_range_short) &&
			    (n >> pgt->page_shift) > 2)
				op = n & ~((2ULL << pgt->page_shift) - 1);
			pgt->plat->tlbi_range(pgt->ctx, s2_gpa(a), op,
					      g->leaf_only ? g->level : -1);
		}
	}
	g->start = g->end = 0;
}

/* ------------------------------------------------------ table lifetime */

void s2pgt_free_subtree_now(struct s2_pgtable *pgt, uint64_t *table, int level)
{
	const struct s2_fmt_level *lv = s2_lv(pgt, level);
	unsigned i, n = 1U << pgt->fmt.bits_per_level;

	if (level < S2_LAST_LEVEL) {
		for (i = 0; i < n; i++) {
			uint64_t pte = pte_load_private(&table[i]);

			if (lv_table(lv, pte))
				s2pgt_free_subtree_now(pgt, lv_child(pgt, lv, pte), level + 1);
		}
	}
	pgt->plat->free_page(pgt->ctx, table, pgt->page_shift);
	tables_add(pgt, -1);
}

/* Runs after the grace period: nobody can reach the subtree any more. */
static void free_subtree_cb(void *owner, void *va, int level)
{
	s2pgt_free_subtree_now(owner, va, level);
}

void s2pgt_defer_free_table(struct s2_pgtable *pgt, uint64_t *table, int level)
{
	if (S2_BUG_INJECTED(pgt->plat, pgt->ctx, free_no_grace)) {
		/* freed while shared and hardware walkers may still read it */
		s2pgt_free_subtree_now(pgt, table, level);
		return;
	}
	pgt->plat->defer_free(pgt->ctx, table, level, free_subtree_cb, pgt);
}

/* Physically contiguous output gathered for one clean+invalidate. */
struct cmo_run {
	uint64_t pa, size;
};

static void cmo_run_flush(struct s2_pgtable *pgt, struct cmo_run *r)
{
	if (r->size)
		pgt->plat->dcache_clean_inval_poc(pgt->ctx, s2_hpa(r->pa), r->size);
	r->size = 0;
}

static void cmo_subtree_run(struct s2_pgtable *pgt, uint64_t *table, int level,
			    struct cmo_run *r)
{
	const struct s2_fmt_level *lv = s2_lv(pgt, level);
	unsigned i, n = 1U << pgt->fmt.bits_per_level;
	uint64_t span = pgt_span(pgt, level);

	for (i = 0; i < n; i++) {
		uint64_t pte = pte_load_private(&table[i]), pa;

		if (lv_table(lv, pte)) {
			cmo_subtree_run(pgt, lv_child(pgt, lv, pte), level + 1, r);
			continue;
		}
		/* device memory is never cached by the guest (cmo_unmapped) */
		if (!lv_valid(lv, pte) || (lv_prot(lv, pte) & S2_PROT_DEVICE))
			continue;
		pa = lv_oa(pgt, lv, pte);
		if (r->size && r->pa + r->size == pa) {
			r->size += span;
			continue;
		}
		cmo_run_flush(pgt, r);
		r->pa = pa;
		r->size = span;
	}
}

/*
 * After a table's translations are gone (the TLBI done): push their data
 * to PoC (I8), as cmo_unmapped does leaf by leaf, but one clean+invalidate
 * per run of physically contiguous output: the same cache lines, and a
 * detached 1G of contiguous 4K pages costs one platform call instead of
 * 262,144.  Only without FWB.
 */
void s2pgt_cmo_subtree(struct s2_pgtable *pgt, uint64_t *table, int level)
{
	struct cmo_run r = { 0, 0 };

	if (!(pgt->flags & S2_PGT_NO_FWB))
		return;
	cmo_subtree_run(pgt, table, level, &r);
	cmo_run_flush(pgt, &r);
}

/*
 * After the TLBI: clean the data of every detached subtree (I8), then
 * hand each to the deferred-free hook, which frees it whole after the
 * grace period (free_subtree_cb) without anyone walking it under a lock.
 */
void s2_pgt_unmap_fast_finish(struct s2_pgtable *pgt, struct s2_detached *det)
{
	unsigned i;

	if (!pgt || !det)
		return;
	if (pgt->flags & S2_PGT_NO_FWB) {
		/* one run across the subtrees: neighbours are usually contiguous */
		struct cmo_run r = { 0, 0 };

		for (i = 0; i < det->nr; i++)
			cmo_subtree_run(pgt, det->table[i], det->level[i], &r);
		cmo_run_flush(pgt, &r);
	}
	for (i = 0; i < det->nr; i++)
		s2pgt_defer_free_table(pgt, det->table[i], det->level[i]);
	det->nr = 0;
}

/* The second step of s2pgt_owed_settle, once the invalidation is done. */
void s2pgt_owed_clean(struct s2_pgtable *pgt, struct s2_owed *o)
{
	unsigned i;

	for (i = 0; i < o->ncmo; i++)
		pgt->plat->dcache_clean_inval_poc(pgt->ctx, s2_hpa(o->cmo[i].pa),
						  o->cmo[i].size);
	o->ncmo = 0;
}
