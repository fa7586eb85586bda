/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Operations that act on pages behind the process's back: migration,
 * aging, reclaim and KSM.  Linux reaches the mappings through the rmap with
 * no mmap_lock; the model acts on one mm and holds its mmap_lock for read,
 * which keeps the VMAs stable without excluding faults.  Pages mapped by
 * another mm (COW-shared after fork) are left alone: without an rmap the
 * model could not unmap them everywhere, which Linux's operations require.
 */
#include <stdlib.h>
#include "sim/host/host_internal.h"

static int range_op_begin(struct host_mm *mm, uint64_t start, uint64_t len, uint64_t *end)
{
	if (!len || ((start | len) & (HOST_PAGE_SIZE - 1)) || start >= HOST_TASK_SIZE ||
	    len > HOST_TASK_SIZE - start)
		return -EINVAL;
	*end = start + len;
	hsync_read_lock(&mm->mmap_lock);
	if (hsync_loadi(&mm->exited)) {
		hsync_read_unlock(&mm->mmap_lock);
		return -ESRCH;
	}
	if (vma_range_covered(mm, start, *end)) {
		hsync_read_unlock(&mm->mmap_lock);
		return -ENOMEM;
	}
	return 0;
}

/* Total mappings of the folio headed by @head (PTE + PMD/PUD). */
static int folio_mapped(struct host_phys *phys, uint64_t head)
{
	struct host_frame *h = phys_frame(phys, head);
	int n = hsync_loadi(&h->entire_mapcount);

	for (uint64_t i = 0; i < (1ULL << h->order); i++)
		n += hsync_loadi(&phys_frame(phys, head + i)->mapcount);
	return n;
}

/* ----------------------------------------------------------- migration */

/*
 * migrate_pages -> unmap_and_move for one folio mapped once:
 * the caller's isolation reference is taken, the destination allocated,
 * then try_to_migrate_one: S(CLEAR, folio range), ptep_clear_flush and a
 * migration entry (PT, FL), E.  folio_migrate_mapping then insists the
 * only reference left is ours; if a GUP pin holds another, the old entry
 * is put back (remove_migration_ptes, no notifier) and -EBUSY returned.
 * Otherwise copy, install the new entry (no notifier: the migration entry
 * was not present), and drop the old folio: its FREE comes after E.
 */
int host_migrate(struct host_mm *mm, s2_hva_t addr)
{
	struct host_phys *phys = mm->phys;
	struct host_vma *v;
	uint64_t e, old, head, base, size, npfn, me, ne;
	hsync_u64 *ep;
	int l, cl, r;

	if (addr.v >= HOST_TASK_SIZE)
		return -EINVAL;
	hsync_read_lock(&mm->mmap_lock);
	if (hsync_loadi(&mm->exited)) {
		r = -ESRCH;
		goto out;
	}
	v = vma_find(mm, addr.v);
	if (!v || v->kind == HOST_VMA_PFNMAP) {
		r = -EINVAL;
		goto out;
	}
	hsync_mutex_lock(&mm->ptl);
	ep = pt_walk(mm, addr.v, 1, false, &l);
	e = ep ? hsync_load64(ep) : 0;
	r = 0;
	if (!ep || !pte_is_leaf(e, l)) {
		r = -ENOENT;
	} else {
		old = pte_pfn(e);
		head = phys_head(phys, old);
		if (head != old || phys_frame(phys, head)->order != level_order(l) ||
		    (hsync_loadi(&phys_frame(phys, head)->flags) & FRF_KSM) ||
		    folio_mapped(phys, head) != 1)
			r = -EBUSY;	/* PTE-mapped THP, KSM, or mapped elsewhere */
		else
			host_frame_get(phys, head);	/* isolate_lru_page */
	}
	hsync_mutex_unlock(&mm->ptl);
	if (r)
		goto out;
	size = level_size(l);
	base = addr.v & ~(size - 1);
	if (phys_alloc(phys, level_order(l), mm, base, &npfn)) {
		host_frame_put(phys, old);
		r = -ENOMEM;
		goto out;
	}
	hsync_storei(&phys_frame(phys, npfn)->flags, hsync_loadi(&phys_frame(phys, old)->flags));

	mn_invalidate_start(mm, base, base + size, HOST_MN_CLEAR, true);
	hsync_mutex_lock(&mm->ptl);
	ep = pt_walk(mm, base, l, false, &cl);
	if (!ep || cl != l || !pte_is_leaf(hsync_load64(ep), l) ||
	    pte_pfn(hsync_load64(ep)) != old) {
		hsync_mutex_unlock(&mm->ptl);
		mn_invalidate_end(mm, base, base + size, HOST_MN_CLEAR, true);
		host_frame_put(phys, npfn);
		host_frame_put(phys, old);
		r = -EAGAIN;
		goto out;
	}
	e = hsync_load64(ep);
	me = (old << HOST_PAGE_SHIFT) | HOST_PTE_MIGR | (e & (HOST_PTE_RW | HOST_PTE_PS));
	pt_set(mm, ep, base, l, me);
	trace_flush(mm, base, base + size);
	mapcount_dec(phys, e, l);
	host_frame_put(phys, old);	/* the PTE's reference; ours keeps it */
	hsync_mutex_unlock(&mm->ptl);
	mn_invalidate_end(mm, base, base + size, HOST_MN_CLEAR, true);

	hsync_mutex_lock(&mm->ptl);
	if (hsync_loadi(&phys_frame(phys, old)->refcount) != 1) {
		/* an extra reference (GUP pin): undo, the page stays */
		pt_set(mm, ep, base, l, e);
		mapcount_inc(phys, e, l);
		hsync_mutex_unlock(&mm->ptl);
		host_frame_put(phys, npfn);
		r = -EBUSY;
		goto out;
	}
	hsync_mutex_unlock(&mm->ptl);
	for (uint64_t i = 0; i < (size >> HOST_PAGE_SHIFT); i++)
		host_frame_write(phys, npfn + i, host_frame_read(phys, old + i));
	trace_simple(mm, HOST_TR_COPY, old, npfn);
	hsync_mutex_lock(&mm->ptl);
	ne = (e & ~HOST_PTE_ADDR) | (npfn << HOST_PAGE_SHIFT);
	pt_set(mm, ep, base, l, ne);
	mapcount_inc(phys, ne, l);
	hsync_mutex_unlock(&mm->ptl);
	host_frame_put_mm(mm, old);	/* putback: the FREE, after E */
out:
	hsync_read_unlock(&mm->mmap_lock);
	return r;
}

/* ---------------------------------------------------------------- aging */

typedef int (*young_fn)(struct host_mm *mm, uint64_t start, uint64_t end);

/* Age the leaf mapping @a; caller holds ptl.  Returns 1 young, 0 old,
 * -1 nothing (or no struct page) mapped.  *@next gets the next address. */
static int age_one(struct host_mm *mm, uint64_t a, enum host_age_mode mode, uint64_t *next,
		   int *lvl)
{
	hsync_u64 *ep;
	uint64_t e, base;
	int l, young;

	ep = pt_walk(mm, a, 1, false, &l);
	if (!ep) {
		*next = HOST_TASK_SIZE;
		return -1;
	}
	e = hsync_load64(ep);
	base = a & ~(level_size(l) - 1);
	*next = base + level_size(l);
	*lvl = l;
	if (!pte_is_leaf(e, l) || (e & HOST_PTE_SPECIAL))
		return -1;
	switch (mode) {
	case HOST_AGE_TEST_YOUNG:
		/* pte_young || mmu_notifier_test_young: short-circuits */
		young = (e & HOST_PTE_A) || mn_test_young(mm, base, *next);
		break;
	case HOST_AGE_CLEAR_YOUNG:
		/* ptep_clear_young_notify: host A bit, then ->clear_young */
		young = !!(atomic_fetch_and(ep, ~HOST_PTE_A) & HOST_PTE_A);
		young |= mn_clear_young(mm, base, *next);
		break;
	default:
		/* ptep_clear_flush_young_notify: no host flush on x86 */
		young = !!(atomic_fetch_and(ep, ~HOST_PTE_A) & HOST_PTE_A);
		young |= mn_clear_flush_young(mm, base, *next);
		break;
	}
	return young ? 1 : 0;
}

int host_age(struct host_mm *mm, s2_hva_t addr, uint64_t len, enum host_age_mode mode)
{
	uint64_t end, next;
	int r = range_op_begin(mm, addr.v, len, &end), n = 0, l = 0;

	if (r)
		return r;
	if ((unsigned)mode > HOST_AGE_TEST_YOUNG) {
		hsync_read_unlock(&mm->mmap_lock);
		return -EINVAL;
	}
	for (uint64_t a = addr.v; a < end; a = next) {
		hsync_mutex_lock(&mm->ptl);
		if (age_one(mm, a, mode, &next, &l) == 1)
			n++;
		hsync_mutex_unlock(&mm->ptl);
	}
	hsync_read_unlock(&mm->mmap_lock);
	return n;
}

/* -------------------------------------------------------------- reclaim */

/*
 * try_to_unmap_one for one 4K page, deferred-flush flavour: S(CLEAR,4K);
 * under ptl the page must still be mapped once and have no reference
 * besides its mappings (the refcount freeze in __remove_mapping would fail
 * otherwise, so the model does not unmap it); the content goes to a swap
 * slot and the PTE becomes a swap entry (PT, flush deferred); E.  The
 * folio is queued in @g and freed after the batched flush.
 */
static bool unmap_one_to_swap(struct host_mm *mm, uint64_t a, struct gather *g)
{
	struct host_phys *phys = mm->phys;
	hsync_u64 *ep;
	uint64_t e, pfn, head;
	int l;
	bool done = false;

	mn_invalidate_start(mm, a, a + HOST_PAGE_SIZE, HOST_MN_CLEAR, true);
	hsync_mutex_lock(&mm->ptl);
	ep = pt_walk(mm, a, 1, false, &l);
	e = ep ? hsync_load64(ep) : 0;
	if (ep && l == 1 && pte_present(e) && !(e & HOST_PTE_SPECIAL)) {
		pfn = pte_pfn(e);
		head = phys_head(phys, pfn);
		if (hsync_loadi(&phys_frame(phys, pfn)->mapcount) == 1 &&
		    hsync_loadi(&phys_frame(phys, head)->refcount) == folio_mapped(phys, head)) {
			int64_t slot = swap_alloc(phys, host_frame_read(phys, pfn));

			if (slot >= 0) {
				pt_set(mm, ep, a, 1, ((uint64_t)slot << HOST_PAGE_SHIFT) | HOST_PTE_SWAP);
				mapcount_dec(phys, e, 1);
				gather_range(g, a, a + HOST_PAGE_SIZE);
				gather_page(g, pfn);
				done = true;
			}
		}
	}
	hsync_mutex_unlock(&mm->ptl);
	mn_invalidate_end(mm, a, a + HOST_PAGE_SIZE, HOST_MN_CLEAR, true);
	return done;
}

/*
 * shrink_folio_list over the range: folio_referenced ages each mapping
 * (clear_flush_young, no S/E); a cold PMD-mapped THP is split
 * (TTU_SPLIT_HUGE_PMD, its own S/E) and its pages unmapped one by one;
 * try_to_unmap_flush then flushes once and the pages are freed.
 */
int host_reclaim(struct host_mm *mm, s2_hva_t addr, uint64_t len, uint64_t *nr_reclaimed)
{
	uint64_t end, next, n = 0;
	struct gather g;
	int r = range_op_begin(mm, addr.v, len, &end), l = 0;

	if (r)
		return r;
	gather_init(&g);
	for (uint64_t a = addr.v; a < end; a = next) {
		struct host_vma *v = vma_find(mm, a);
		int young;

		if (!vma_is_cow(v)) {
			next = v->end;	/* hugetlb and PFNMAP are not reclaimed */
			continue;
		}
		hsync_mutex_lock(&mm->ptl);
		young = age_one(mm, a, HOST_AGE_CLEAR_FLUSH_YOUNG, &next, &l);
		hsync_mutex_unlock(&mm->ptl);
		if (young != 0)
			continue;
		if (l == 2) {
			uint64_t h = a & ~(HOST_PMD_SIZE - 1);

			if (h < addr.v || h + HOST_PMD_SIZE > end)
				continue;	/* only whole THPs inside the range */
			if (split_huge_pmd(mm, v, h))
				continue;
			for (uint64_t p = h; p < h + HOST_PMD_SIZE; p += HOST_PAGE_SIZE)
				n += unmap_one_to_swap(mm, p, &g);
		} else {
			n += unmap_one_to_swap(mm, a, &g);
		}
	}
	gather_finish(mm, &g);	/* try_to_unmap_flush, free_unref_page_list */
	hsync_read_unlock(&mm->mmap_lock);
	if (nr_reclaimed)
		*nr_reclaimed = n;
	return 0;
}

/* ----------------------------------------------------------------- KSM */

struct ksm_cand {
	uint64_t addr, pfn, content;
};

static int cand_cmp(const void *a, const void *b)
{
	const struct ksm_cand *x = a, *y = b;

	if (x->content != y->content)
		return x->content < y->content ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/*
 * write_protect_page: S(CLEAR,4K); under ptl, a writable or dirty entry is
 * cleared and flushed (ptep_clear_flush, PT, FL); if the page has a
 * reference beyond its mapping and ksmd's (a GUP pin) the entry is put
 * back and the merge abandoned; else the entry is set read-only and clean
 * (set_pte_at_notify, PT); E.  Returns the write-protected entry or 0.
 */
static uint64_t ksm_write_protect(struct host_mm *mm, uint64_t a, uint64_t pfn)
{
	struct host_phys *phys = mm->phys;
	hsync_u64 *ep;
	uint64_t e, ret = 0;
	int l;

	mn_invalidate_start(mm, a, a + HOST_PAGE_SIZE, HOST_MN_CLEAR, true);
	hsync_mutex_lock(&mm->ptl);
	ep = pt_walk(mm, a, 1, false, &l);
	e = ep && l == 1 ? hsync_load64(ep) : 0;
	if (pte_present(e) && pte_pfn(e) == pfn) {
		if (e & (HOST_PTE_RW | HOST_PTE_D)) {
			pt_set(mm, ep, a, 1, 0);
			trace_flush(mm, a, a + HOST_PAGE_SIZE);
			if (hsync_loadi(&phys_frame(phys, pfn)->refcount) !=
			    hsync_loadi(&phys_frame(phys, pfn)->mapcount) + 1) {
				pt_set(mm, ep, a, 1, e);
			} else {
				ret = e & ~(HOST_PTE_RW | HOST_PTE_D);
				pt_set(mm, ep, a, 1, ret);
			}
		} else {
			ret = e;
		}
	}
	hsync_mutex_unlock(&mm->ptl);
	mn_invalidate_end(mm, a, a + HOST_PAGE_SIZE, HOST_MN_CLEAR, true);
	return ret;
}

/*
 * replace_page: S(CLEAR,4K); pte_same against the write-protected entry;
 * the KSM page gains a reference and mapping; ptep_clear_flush (PT, FL),
 * set_pte_at_notify(kpage, read-only) (PT); the old page loses its mapping
 * and the PTE's reference; E.  ksmd's own reference on the old page is
 * dropped by the caller after E: that is the FREE.
 */
static bool ksm_replace(struct host_mm *mm, uint64_t a, uint64_t wpe, uint64_t kpfn)
{
	struct host_phys *phys = mm->phys;
	hsync_u64 *ep;
	bool done = false;
	int l;

	mn_invalidate_start(mm, a, a + HOST_PAGE_SIZE, HOST_MN_CLEAR, true);
	hsync_mutex_lock(&mm->ptl);
	ep = pt_walk(mm, a, 1, false, &l);
	if (ep && l == 1 && hsync_load64(ep) == wpe) {
		uint64_t ne = mk_leaf(kpfn, 1, false);

		host_frame_get(phys, kpfn);
		mapcount_inc(phys, ne, 1);
		pt_set(mm, ep, a, 1, 0);
		trace_flush(mm, a, a + HOST_PAGE_SIZE);
		pt_set(mm, ep, a, 1, ne);
		mapcount_dec(phys, wpe, 1);
		host_frame_put_mm(mm, pte_pfn(wpe));	/* not the last: ksmd holds one */
		done = true;
	}
	hsync_mutex_unlock(&mm->ptl);
	mn_invalidate_end(mm, a, a + HOST_PAGE_SIZE, HOST_MN_CLEAR, true);
	return done;
}

/*
 * follow_page(FOLL_GET): a reference on @pfn only if @a still maps it, taken
 * under ptl.  The scan read the candidates under ptl and dropped it; since
 * then a DONTNEED or munmap (mmap_lock read, like ksmd) may have freed the
 * frame and a fault given it to another page.  A plain get on it then
 * raised a count the allocator's set overwrote, and ksmd's put freed the
 * new owner's frame: its last put underflowed (host model, not library).
 */
static bool ksm_follow_get(struct host_mm *mm, uint64_t a, uint64_t pfn)
{
	hsync_u64 *ep;
	uint64_t e;
	bool got = false;
	int l;

	hsync_mutex_lock(&mm->ptl);
	ep = pt_walk(mm, a, 1, false, &l);
	e = ep && l == 1 ? hsync_load64(ep) : 0;
	if (pte_present(e) && pte_pfn(e) == pfn) {
		host_frame_get(mm->phys, pfn);
		got = true;
	}
	hsync_mutex_unlock(&mm->ptl);
	return got;
}

/* ksmd scan of one range: candidates are 4K anonymous order-0 pages mapped
 * once (or KSM pages already); equal contents are merged into the first
 * page of each group, which becomes the read-only KSM page. */
int host_ksm_merge(struct host_mm *mm, s2_hva_t addr, uint64_t len, uint64_t *nr_merged)
{
	struct host_phys *phys = mm->phys;
	struct ksm_cand *c = NULL;
	size_t n = 0, cap = 0;
	uint64_t end, merged = 0;
	int r = range_op_begin(mm, addr.v, len, &end);

	if (r)
		return r;
	for (uint64_t a = addr.v; a < end;) {
		struct host_vma *v = vma_find(mm, a);
		hsync_u64 *ep;
		uint64_t e, next;
		int l;

		if (!vma_is_cow(v)) {
			a = v->end;
			continue;
		}
		hsync_mutex_lock(&mm->ptl);
		ep = pt_walk(mm, a, 1, false, &l);
		e = ep ? hsync_load64(ep) : 0;
		next = ep ? (a & ~(level_size(l) - 1)) + level_size(l) : end;
		if (ep && l == 1 && pte_present(e)) {
			uint64_t pfn = pte_pfn(e);
			struct host_frame *f = phys_frame(phys, pfn);
			bool ksm = hsync_loadi(&f->flags) & FRF_KSM;

			if (phys_head(phys, pfn) == pfn && f->order == 0 &&
			    (ksm || hsync_loadi(&f->mapcount) == 1)) {
				if (n == cap) {
					cap = cap ? cap * 2 : 64;
					c = realloc(c, cap * sizeof(*c));
					if (!c)
						abort();
				}
				c[n++] = (struct ksm_cand){ a, pfn, host_frame_read(phys, pfn) };
			}
		}
		hsync_mutex_unlock(&mm->ptl);
		a = next;
	}
	if (n)
		qsort(c, n, sizeof(*c), cand_cmp);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1, k = i;
		uint64_t kpfn, kwp;

		while (j < n && c[j].content == c[i].content)
			j++;
		for (size_t m = i; m < j; m++)
			if (hsync_loadi(&phys_frame(phys, c[m].pfn)->flags) & FRF_KSM)
				k = m;	/* reuse an existing KSM page */
		if (j - i < 2)
			goto next_group;
		kpfn = c[k].pfn;
		if (!ksm_follow_get(mm, c[k].addr, kpfn))
			goto next_group;
		kwp = ksm_write_protect(mm, c[k].addr, kpfn);
		if (!kwp || host_frame_read(phys, kpfn) != c[k].content) {
			host_frame_put(phys, kpfn);
			goto next_group;
		}
		hsync_storei(&phys_frame(phys, kpfn)->flags, FRF_KSM);
		for (size_t m = i; m < j; m++) {
			uint64_t wpe;

			if (m == k || c[m].pfn == kpfn)
				continue;
			if (!ksm_follow_get(mm, c[m].addr, c[m].pfn))
				continue;
			wpe = ksm_write_protect(mm, c[m].addr, c[m].pfn);
			/* pages_identical after write-protect: it may have
			 * been written before the protection took */
			if (wpe && host_frame_read(phys, c[m].pfn) == host_frame_read(phys, kpfn) &&
			    ksm_replace(mm, c[m].addr, wpe, kpfn))
				merged++;
			host_frame_put_mm(mm, c[m].pfn);
		}
		host_frame_put(phys, kpfn);
next_group:
		i = j;
	}
	free(c);
	hsync_read_unlock(&mm->mmap_lock);
	if (nr_merged)
		*nr_merged = merged;
	return 0;
}
