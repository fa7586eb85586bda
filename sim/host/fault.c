/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The fault side: get_user_pages (handle_mm_fault underneath: anonymous,
 * THP and hugetlb faults, swap-in, COW break), follow_pfn for PFNMAP, and
 * a plain user-space access built on them.
 */
#include "sim/host/host_internal.h"

/* Common entry checks; caller holds mmap_lock for read. */
static int fault_vma(struct host_mm *mm, uint64_t hva, bool write, struct host_vma **vp)
{
	struct host_vma *v;

	/* get_user_pages_remote needs mm_users (mmget_not_zero): once the
	 * last user is gone the address space is being torn down. */
	if (hsync_loadi(&mm->exited) || hsync_loadi64(&mm->mm_users) <= 0)
		return -ESRCH;
	v = vma_find(mm, hva);
	if (!v)
		return -EFAULT;
	if (write && !(v->prot & HOST_PROT_WRITE))
		return -EFAULT;		/* check_vma_flags: no FOLL_FORCE here */
	*vp = v;
	return 0;
}

/* do_anonymous_page / do_huge_pmd_anonymous_page / hugetlb_no_page: a
 * zero-filled folio installed where nothing was mapped; nothing was
 * mapped, so no notifier.  The allocation happens without ptl and the
 * entry is rechecked after (another thread may have faulted it in). */
static int do_anon_fault(struct host_mm *mm, struct host_vma *v, uint64_t hva)
{
	struct host_phys *phys = mm->phys;
	bool writable = v->prot & HOST_PROT_WRITE;
	int level = 1, l;
	uint64_t pfn, base;
	hsync_u64 *ep;

	if (vma_is_hugetlb(v)) {
		level = v->kind == HOST_VMA_HUGETLB_1G ? 3 : 2;
	} else if (v->kind == HOST_VMA_THP) {
		uint64_t h = hva & ~(HOST_PMD_SIZE - 1);

		if (h >= v->start && h + HOST_PMD_SIZE <= v->end) {
			hsync_mutex_lock(&mm->ptl);
			ep = pt_walk(mm, h, 2, false, &l);
			if (!ep || (l == 2 && pte_none(hsync_load64(ep))) || l > 2)
				level = 2;	/* pmd_none: a huge page may go here */
			hsync_mutex_unlock(&mm->ptl);
		}
	}
	base = hva & ~(level_size(level) - 1);
	if (phys_alloc(phys, level_order(level), mm, base, &pfn)) {
		if (level == 2 && v->kind == HOST_VMA_THP)
			level = 1;	/* THP allocation failed: fall back to 4K */
		else
			return -ENOMEM;
		base = hva & ~(HOST_PAGE_SIZE - 1);
		if (phys_alloc(phys, 0, mm, base, &pfn))
			return -ENOMEM;
	}
	if (vma_is_hugetlb(v))
		hsync_storei(&phys_frame(phys, pfn)->flags, FRF_HUGETLB);
	hsync_mutex_lock(&mm->ptl);
	ep = pt_walk(mm, base, level, true, &l);
	if (l == level && pte_none(hsync_load64(ep))) {
		uint64_t e = mk_leaf(pfn, level, writable);

		pt_set(mm, ep, base, level, e);
		mapcount_inc(phys, e, level);
		pfn = UINT64_MAX;	/* the allocation reference is the mapping's */
	}
	hsync_mutex_unlock(&mm->ptl);
	if (pfn != UINT64_MAX)
		host_frame_put(phys, pfn);	/* lost the race: retry sees theirs */
	return 0;
}

/* do_swap_page: a private copy of the swapped content; the swap slot's
 * count drops (other sharers after fork keep theirs). */
static int do_swap_in(struct host_mm *mm, struct host_vma *v, uint64_t hva, uint64_t swpe)
{
	struct host_phys *phys = mm->phys;
	uint64_t base = hva & ~(HOST_PAGE_SIZE - 1), pfn;
	hsync_u64 *ep;
	int l;

	if (phys_alloc(phys, 0, mm, base, &pfn))
		return -ENOMEM;
	hsync_mutex_lock(&mm->ptl);
	ep = pt_walk(mm, base, 1, false, &l);
	if (ep && l == 1 && hsync_load64(ep) == swpe) {
		uint64_t e = mk_leaf(pfn, 1, v->prot & HOST_PROT_WRITE);

		host_frame_write(phys, pfn, swap_read(phys, pte_pfn(swpe)));
		pt_set(mm, ep, base, 1, e);
		mapcount_inc(phys, e, 1);
		swap_free(phys, pte_pfn(swpe));
		pfn = UINT64_MAX;
	}
	hsync_mutex_unlock(&mm->ptl);
	if (pfn != UINT64_MAX)
		host_frame_put(phys, pfn);
	return 0;
}

/*
 * do_wp_page on a present read-only entry in a writable VMA.  The caller
 * took a reference on the folio under the page-table lock that showed it
 * mapped (do_wp_page's folio_get under the PTL), and this function drops
 * it: without it the folio could be zapped, freed and reused between that
 * walk and the reads below, and the copy would take another owner's data.
 * The folio's count is therefore the mapping's reference plus ours (plus
 * any pins).
 * - hugetlb is mapped shared here: just make it writable (wp_page_shared).
 * - an exclusive page (order 0, not KSM, no reference but the mapping's
 *   and ours) is reused: the write bit is set with no notifier, since
 *   permissions only grow (wp_page_reuse).  An exclusive PMD-mapped THP
 *   likewise.
 * - a shared THP PMD is split (its own S/E) and the fault retried on PTEs.
 * - otherwise wp_page_copy: copy without locks, S(CLEAR,4K), recheck
 *   pte_same, ptep_clear_flush (PT, FL), set the new PTE (PT), drop the
 *   old PTE's reference (never the last: ours is held), E, and only after
 *   E drop ours (the FREE if it was last).
 * Returns 0 to retry the walk, or -errno.
 */
static int do_wp_fault(struct host_mm *mm, struct host_vma *v, uint64_t hva, uint64_t e, int l)
{
	struct host_phys *phys = mm->phys;
	uint64_t base = hva & ~(level_size(l) - 1), old = pte_pfn(e), npfn;
	struct host_frame *h = phys_frame(phys, phys_head(phys, old));
	hsync_u64 *ep;
	bool reuse;
	int cl;

	if (l > 1) {
		reuse = vma_is_hugetlb(v) ||
			(hsync_loadi(&h->refcount) == 2 && hsync_loadi(&h->entire_mapcount) == 1);
		if (!reuse) {
			host_frame_put_mm(mm, old);
			/* do_huge_pmd_wp_page: fall back to the PTE path */
			split_huge_pmd(mm, v, hva);
			return 0;
		}
	} else {
		reuse = __atomic_load_n(&h->order, __ATOMIC_RELAXED) == 0 &&
			!(hsync_loadi(&h->flags) & FRF_KSM) &&
			hsync_loadi(&h->refcount) == 2;
	}
	if (reuse) {
		hsync_mutex_lock(&mm->ptl);
		ep = pt_walk(mm, base, l, false, &cl);
		if (ep && cl == l && hsync_load64(ep) == e &&
		    (vma_is_hugetlb(v) || hsync_loadi(&h->refcount) == 2))
			pt_set(mm, ep, base, l, e | HOST_PTE_RW | HOST_PTE_D | HOST_PTE_A);
		hsync_mutex_unlock(&mm->ptl);
		host_frame_put_mm(mm, old);
		return 0;
	}

	if (phys_alloc(phys, 0, mm, base, &npfn)) {
		host_frame_put_mm(mm, old);
		return -ENOMEM;
	}
	host_frame_write(phys, npfn, host_frame_read(phys, old));	/* cow_user_page */
	/* read from memory before any notifier (Linux copies first): the
	 * guest's writes to @old must already be there (I8) */
	trace_simple(mm, HOST_TR_COPY, old, npfn);
	mn_invalidate_start(mm, base, base + HOST_PAGE_SIZE, HOST_MN_CLEAR, true);
	hsync_mutex_lock(&mm->ptl);
	ep = pt_walk(mm, base, 1, false, &cl);
	if (ep && cl == 1 && pte_present(hsync_load64(ep)) &&
	    pte_pfn(hsync_load64(ep)) == old && !(hsync_load64(ep) & HOST_PTE_RW)) {
		uint64_t ne = mk_leaf(npfn, 1, true);

		pt_set(mm, ep, base, 1, 0);		/* ptep_clear_flush_notify */
		trace_flush(mm, base, base + HOST_PAGE_SIZE);
		pt_set(mm, ep, base, 1, ne);		/* set_pte_at_notify */
		mapcount_inc(phys, ne, 1);
		mapcount_dec(phys, e, 1);
		host_frame_put_mm(mm, old);		/* the old PTE's reference */
		npfn = UINT64_MAX;
	}
	hsync_mutex_unlock(&mm->ptl);
	mn_invalidate_end(mm, base, base + HOST_PAGE_SIZE, HOST_MN_CLEAR, true);
	if (npfn != UINT64_MAX)
		host_frame_put(phys, npfn);	/* pte changed under us: retry */
	host_frame_put_mm(mm, old);		/* ours: the FREE if it is the last */
	return 0;
}

int host_gup(struct host_mm *mm, s2_hva_t hva_, bool write,
	     uint64_t *pfn, bool *writable, int *level)
{
	uint64_t hva = hva_.v;
	struct host_vma *v;
	int r;

	if (hva >= HOST_TASK_SIZE)
		return -EFAULT;
	hsync_read_lock(&mm->mmap_lock);
	r = fault_vma(mm, hva, write, &v);
	if (!r && v->kind == HOST_VMA_PFNMAP)
		r = -EFAULT;	/* vm_normal_page: no struct page behind it */
	while (!r) {
		hsync_u64 *ep;
		uint64_t e;
		int l;

		hsync_mutex_lock(&mm->ptl);
		ep = pt_walk(mm, hva, 1, false, &l);
		e = ep ? hsync_load64(ep) : 0;
		if (ep && pte_is_leaf(e, l) && !(write && !(e & HOST_PTE_RW))) {
			uint64_t off = (hva & (level_size(l) - 1)) >> HOST_PAGE_SHIFT;

			/* the access itself: the hardware sets A (and D) */
			atomic_fetch_or(ep, HOST_PTE_A | (write ? HOST_PTE_D : 0));
			*pfn = pte_pfn(e) + off;
			host_frame_get(mm->phys, *pfn);
			*writable = e & HOST_PTE_RW;
			*level = l;
			hsync_mutex_unlock(&mm->ptl);
			break;
		}
		if (ep && pte_is_leaf(e, l)) {
			/* A write to a read-only leaf.  The mapping holds a
			 * reference while the PTL shows it, so the try-get
			 * cannot meet a free folio here; should it ever fail,
			 * nothing has changed and the caller retries. */
			bool got = frame_try_get(mm, pte_pfn(e));

			hsync_mutex_unlock(&mm->ptl);
			r = got ? do_wp_fault(mm, v, hva, e, l) : -EAGAIN;
			continue;
		}
		hsync_mutex_unlock(&mm->ptl);
		if (ep && pte_is_migr(e))
			migration_wait();
		else if (ep && pte_is_swap(e))
			r = do_swap_in(mm, v, hva, e);
		else if (!ep || pte_none(e))
			r = do_anon_fault(mm, v, hva);
		else
			migration_wait();	/* transient: pmdp_invalidate in a split */
	}
	hsync_read_unlock(&mm->mmap_lock);
	return r;
}

/* follow_pte as used by hva_to_pfn_remapped: the pfn is not refcounted;
 * the caller relies on the notifier sequence, not a reference. */
int host_follow_pfn(struct host_mm *mm, s2_hva_t hva, bool write,
		    uint64_t *pfn, bool *writable, int *level)
{
	struct host_vma *v;
	int r;

	if (hva.v >= HOST_TASK_SIZE)
		return -EFAULT;
	hsync_read_lock(&mm->mmap_lock);
	r = fault_vma(mm, hva.v, write, &v);
	if (!r && v->kind != HOST_VMA_PFNMAP)
		r = -EFAULT;
	if (!r) {
		hsync_u64 *ep;
		uint64_t e;
		int l;

		hsync_mutex_lock(&mm->ptl);
		ep = pt_walk(mm, hva.v, 1, false, &l);
		e = ep ? hsync_load64(ep) : 0;
		if (ep && pte_is_leaf(e, l) && (!write || (e & HOST_PTE_RW))) {
			*pfn = pte_pfn(e) + ((hva.v & (level_size(l) - 1)) >> HOST_PAGE_SHIFT);
			*writable = e & HOST_PTE_RW;
			*level = l;
		} else {
			r = -EFAULT;
		}
		hsync_mutex_unlock(&mm->ptl);
	}
	hsync_read_unlock(&mm->mmap_lock);
	return r;
}

int host_access(struct host_mm *mm, s2_hva_t hva, bool write, uint64_t *val)
{
	uint64_t pfn;
	bool w;
	int l, r;

	r = host_gup(mm, hva, write, &pfn, &w, &l);
	if (r == -EFAULT) {
		r = host_follow_pfn(mm, hva, write, &pfn, &w, &l);
		if (r)
			return r;
		if (write)
			host_frame_write(mm->phys, pfn, *val);
		else
			*val = host_frame_read(mm->phys, pfn);
		return 0;
	}
	if (r)
		return r;
	if (write)
		host_frame_write(mm->phys, pfn, *val);
	else
		*val = host_frame_read(mm->phys, pfn);
	host_frame_put(mm->phys, pfn);
	return 0;
}
