/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Host page tables (x86-64, 4-level), the lockless mapping-level walk and
 * the synchronisation that lets page-table pages be freed under it.
 *
 * Table pages are 4K-aligned heap pages; a table entry stores the page's
 * address in bits 12..51 as if it were physical (user-space pointers are
 * below 2^47).  Leaf entries store a frame number.  Every entry is a 64-bit
 * atomic: writers hold mm->ptl, the lockless walker reads without it.
 */
#include <stdlib.h>
#include "sim/host/host_internal.h"

/* ---------------------------------------------------------------- srcu */

void host_srcu_init(struct host_srcu *s)
{
	hsync_storei(&s->idx, 0);
	hsync_storei64(&s->cnt[0], 0);
	hsync_storei64(&s->cnt[1], 0);
	hsync_mutex_init(&s->sync_lock);
}

void host_srcu_destroy(struct host_srcu *s)
{
	hsync_mutex_destroy(&s->sync_lock);
}

int host_srcu_read_lock(struct host_srcu *s)
{
	int idx = hsync_loadi(&s->idx) & 1;

	hsync_addi64(&s->cnt[idx], 1);
	/* Pairs with the fence in synchronize: either the updater sees this
	 * reader's count, or this reader sees the updater's unlink. */
	hsync_fence();
	return idx;
}

void host_srcu_read_unlock(struct host_srcu *s, int idx)
{
	hsync_addi64(&s->cnt[idx], -1);
}

/*
 * Two flips, as SRCU does: a reader can sample the index just before one
 * flip and increment its counter after the updater checked it; such a
 * reader entered after the unlink and is harmless for this grace period,
 * but a later grace period must still wait for it, which the second flip
 * guarantees.  New readers go to the other counter, so a stream of walkers
 * never starves the updater (the IPI / RCU grace period always ends).
 */
void host_srcu_synchronize(struct host_srcu *s)
{
	hsync_mutex_lock(&s->sync_lock);
	for (int pass = 0; pass < 2; pass++) {
		int old = hsync_xchgi(&s->idx, hsync_loadi(&s->idx) ^ 1) & 1;

		hsync_fence();
		while (hsync_loadi64(&s->cnt[old]) != 0)
			hsync_yield();
	}
	hsync_mutex_unlock(&s->sync_lock);
}

/* ------------------------------------------------------------- tracing */

void trace_ev(struct host_mm *mm, const struct host_trace_ev *ev)
{
	if (mm && mm->trace)
		mm->trace(mm->trace_priv, ev);
}

void trace_pt(struct host_mm *mm, uint64_t addr, int level, uint64_t old, uint64_t new_)
{
	struct host_trace_ev ev = {
		.kind = HOST_TR_PT, .start = addr, .end = addr + level_size(level),
		.level = level, .old = old, .new_ = new_,
	};

	trace_ev(mm, &ev);
}

void trace_flush(struct host_mm *mm, uint64_t start, uint64_t end)
{
	struct host_trace_ev ev = { .kind = HOST_TR_FLUSH, .start = start, .end = end };

	trace_ev(mm, &ev);
}

void trace_simple(struct host_mm *mm, enum host_trace_kind k, uint64_t a, uint64_t b)
{
	struct host_trace_ev ev = { .kind = k, .start = a, .end = b, .old = a, .new_ = b };

	trace_ev(mm, &ev);
}

void host_mm_set_tracer(struct host_mm *mm, host_trace_fn fn, void *priv)
{
	mm->trace = fn;
	mm->trace_priv = priv;
}

/* -------------------------------------------------------------- tables */

uint64_t mk_leaf(uint64_t pfn, int level, bool write)
{
	uint64_t e = (pfn << HOST_PAGE_SHIFT) | HOST_PTE_P | HOST_PTE_US | HOST_PTE_A;

	if (write)
		e |= HOST_PTE_RW | HOST_PTE_D;
	if (level > 1)
		e |= HOST_PTE_PS;
	return e;
}

uint64_t mk_table_entry(struct host_table *t)
{
	/* RW and US set on tables: permissions are ANDed over the levels, so
	 * the leaf alone decides (what Linux does for user tables). */
	return ((uint64_t)(uintptr_t)t & HOST_PTE_ADDR) |
	       HOST_PTE_P | HOST_PTE_RW | HOST_PTE_US | HOST_PTE_A;
}

struct host_table *table_alloc(void)
{
	struct host_table *t = aligned_alloc(HOST_PAGE_SIZE, HOST_PAGE_SIZE);

	/* The model has no out-of-memory path for page tables: a failure
	 * here is the test machine's, not a state worth simulating. */
	if (!t)
		abort();
	for (unsigned i = 0; i < PTRS_PER_TABLE; i++)
		hsync_store64(&t->e[i], 0);
	return t;
}

/*
 * The model of seed 002's rule: a walker that disabled IRQs cannot be
 * reached by the TLB-shootdown IPI (or, with MMU_GATHER_RCU_TABLE_FREE, holds
 * off the grace period), so the table page stays valid until it finishes.
 * The pages are poisoned before the free so a walker that breaks the rule
 * reads a present entry into nowhere under a sanitizer rather than a
 * plausible stale translation.
 */
void table_free_now(struct host_mm *mm, struct host_table *t)
{
	for (unsigned j = 0; j < PTRS_PER_TABLE; j++)
		hsync_store64(&t->e[j], 0xdead000000000001ULL);
	trace_simple(mm, HOST_TR_TABLE_FREE, (uint64_t)(uintptr_t)t, 0);
	free(t);
}

void lockless_sync(struct host_mm *mm)
{
	host_srcu_synchronize(&mm->walk_srcu);
	trace_simple(mm, HOST_TR_SYNC, 0, 0);
}

void table_free_deferred(struct host_mm *mm, struct host_table **tables, size_t n)
{
	if (!n)
		return;
	lockless_sync(mm);
	for (size_t i = 0; i < n; i++)
		table_free_now(mm, tables[i]);
}

void pt_link(hsync_u64 *ep, struct host_table *t)
{
	hsync_store64(ep, mk_table_entry(t));
}

hsync_u64 *pt_walk(struct host_mm *mm, uint64_t addr, int want_level, bool alloc, int *level)
{
	struct host_table *t = mm->pgd;

	*level = 0;
	if (!t)
		return NULL;
	for (int l = 4;; l--) {
		hsync_u64 *ep = &t->e[pt_index(addr, l)];
		uint64_t v;

		*level = l;
		if (l == want_level)
			return ep;
		v = hsync_load64(ep);
		if (pte_is_table(v, l)) {
			t = pte_table(v);
			continue;
		}
		if (pte_none(v) && alloc) {
			struct host_table *nt = table_alloc();

			pt_link(ep, nt);
			t = nt;
			continue;
		}
		if (pte_none(v) && !alloc)
			return ep;
		return ep;	/* leaf or special entry above want_level */
	}
}

void pt_set(struct host_mm *mm, hsync_u64 *ep, uint64_t addr, int level, uint64_t v)
{
	uint64_t old = hsync_xchg64(ep, v);

	trace_pt(mm, addr & ~(level_size(level) - 1), level, old, v);
}

void mapcount_inc(struct host_phys *phys, uint64_t e, int level)
{
	uint64_t pfn = pte_pfn(e);

	if (pfn >= phys->nr_frames)
		return;
	if (level == 1)
		hsync_addi(&phys->f[pfn].mapcount, 1);
	else
		hsync_addi(&phys->f[phys_head(phys, pfn)].entire_mapcount, 1);
}

void mapcount_dec(struct host_phys *phys, uint64_t e, int level)
{
	uint64_t pfn = pte_pfn(e);

	if (pfn >= phys->nr_frames)
		return;
	if (level == 1)
		hsync_addi(&phys->f[pfn].mapcount, -1);
	else
		hsync_addi(&phys->f[phys_head(phys, pfn)].entire_mapcount, -1);
}

void pt_collect_tables(struct host_table *t, int level, struct gather *g)
{
	if (level > 1)
		for (unsigned i = 0; i < PTRS_PER_TABLE; i++) {
			uint64_t v = hsync_load64(&t->e[i]);

			if (pte_is_table(v, level))
				pt_collect_tables(pte_table(v), level - 1, g);
		}
	gather_table(g, t);
}

/* ---------------------------------------------------------- lockless walk */

/*
 * host_pfn_mapping_level, seed 002: each entry is loaded exactly once into
 * a local and every decision (present? huge? where next?) is made on that
 * copy.  Re-reading could see "not huge" on the first read and follow the
 * new huge entry's frame as if it were a table on the second.
 */
#ifdef S2_CHECK
bool host_bug_hostlevel_reread;
#endif

int host_mapping_level(struct host_mm *mm, s2_hva_t hva)
{
	int idx = host_srcu_read_lock(&mm->walk_srcu);
	struct host_table *t = mm->pgd;
	int ret = HOST_LEVEL_NONE;

	if (!t || hva.v >= HOST_TASK_SIZE)
		goto out;
	for (int l = 4; l >= 1; l--) {
		uint64_t v = hsync_load64(&t->e[pt_index(hva.v, l)]);

		if (!pte_present(v))
			break;
#ifdef S2_CHECK
		if (host_bug_hostlevel_reread) {
			/*
			 * The bug seed 002 documents: each test re-reads the
			 * entry, so a promotion between the "not large" test
			 * and the descent walks into the huge page (or a
			 * cleared entry) as if it were the old table.
			 */
			hsync_point("host: level walk re-read");
			if (l == 1 || (l <= 3 && (hsync_load64(&t->e[pt_index(hva.v, l)]) &
						  HOST_PTE_PS))) {
				ret = l;
				break;
			}
			hsync_point("host: level walk re-read");
			t = pte_table(hsync_load64(&t->e[pt_index(hva.v, l)]));
			continue;
		}
#endif
		if (l == 1 || (l <= 3 && (v & HOST_PTE_PS))) {
			ret = l;
			break;
		}
		t = pte_table(v);
	}
out:
	host_srcu_read_unlock(&mm->walk_srcu, idx);
	return ret;
}

int host_pt_query(struct host_mm *mm, s2_hva_t hva, uint64_t *entry, int *level)
{
	hsync_u64 *ep;
	int l;

	*entry = 0;
	*level = 0;
	if (hva.v >= HOST_TASK_SIZE)
		return -EINVAL;
	hsync_mutex_lock(&mm->ptl);
	ep = pt_walk(mm, hva.v, 1, false, &l);
	if (ep && l <= 3) {
		*entry = hsync_load64(ep);
		*level = l;
	}
	hsync_mutex_unlock(&mm->ptl);
	return 0;
}

int host_pt_query_pfns(struct host_mm *mm, s2_hva_t hva, unsigned n, uint64_t *pfn,
		       bool *rw)
{
	hsync_mutex_lock(&mm->ptl);
	for (unsigned i = 0; i < n; i++) {
		uint64_t a = hva.v + (uint64_t)i * HOST_PAGE_SIZE, ent;
		hsync_u64 *ep;
		int l;

		pfn[i] = ~0ULL;
		rw[i] = false;
		if (a >= HOST_TASK_SIZE)
			continue;
		ep = pt_walk(mm, a, 1, false, &l);
		if (!ep || l > 3)
			continue;
		ent = hsync_load64(ep);
		if (!(ent & HOST_PTE_P))
			continue;
		/* a huge entry: the 4K frame inside it */
		pfn[i] = ((ent & HOST_PTE_ADDR) >> HOST_PAGE_SHIFT) +
			 ((a & (level_size(l) - 1)) >> HOST_PAGE_SHIFT);
		rw[i] = (ent & HOST_PTE_RW) != 0;
	}
	hsync_mutex_unlock(&mm->ptl);
	return 0;
}

/* -------------------------------------------------------------- gather */

void gather_init(struct gather *g)
{
	memset(g, 0, sizeof(*g));
	g->fl_start = UINT64_MAX;
}

void gather_page(struct gather *g, uint64_t pfn)
{
	if (g->n == g->cap) {
		size_t nc = g->cap ? g->cap * 2 : 64;
		uint64_t *np = realloc(g->pfn, nc * sizeof(*np));

		if (!np)
			abort();
		g->pfn = np;
		g->cap = nc;
	}
	g->pfn[g->n++] = pfn;
}

void gather_range(struct gather *g, uint64_t start, uint64_t end)
{
	if (start < g->fl_start)
		g->fl_start = start;
	if (end > g->fl_end)
		g->fl_end = end;
}

void gather_table(struct gather *g, struct host_table *t)
{
	if (g->nt == g->tcap) {
		size_t nc = g->tcap ? g->tcap * 2 : 16;
		struct host_table **np = realloc(g->tables, nc * sizeof(*np));

		if (!np)
			abort();
		g->tables = np;
		g->tcap = nc;
	}
	g->tables[g->nt++] = t;
}

/* tlb_flush_mmu without the tables: FL of what was recorded, then FREE
 * of the pages queued so far; used for the forced mid-zap flush. */
void gather_flush_pages(struct host_mm *mm, struct gather *g)
{
	if (g->fl_start < g->fl_end)
		trace_flush(mm, g->fl_start, g->fl_end);
	g->fl_start = UINT64_MAX;
	g->fl_end = 0;
	for (size_t i = 0; i < g->n; i++)
		host_frame_put_mm(mm, g->pfn[i]);
	g->n = 0;
}

/* tlb_finish_mmu -> tlb_flush_mmu: flush (nothing if no range was
 * recorded), then the table pages, then the batched data pages. */
void gather_finish(struct host_mm *mm, struct gather *g)
{
	if (g->fl_start < g->fl_end)
		trace_flush(mm, g->fl_start, g->fl_end);
	table_free_deferred(mm, g->tables, g->nt);
	for (size_t i = 0; i < g->n; i++)
		host_frame_put_mm(mm, g->pfn[i]);
	free(g->pfn);
	free(g->tables);
	gather_init(g);
}
