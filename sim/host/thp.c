/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Transparent huge pages: __split_huge_pmd and khugepaged's collapse.
 */
#include <stdlib.h>
#include "sim/host/host_internal.h"

/*
 * __split_huge_pmd, anonymous case (__split_huge_pmd_locked): S(CLEAR,2M),
 * then under the PMD lock pmdp_invalidate (the PMD becomes non-present and
 * the 2M range is flushed), the PTE table is filled with the same frames
 * and permissions and populated, then E (only_end: the same pages stay
 * mapped, nothing to invalidate twice).  The folio's single PMD reference
 * becomes one reference per PTE (page_ref_add(HPAGE_PMD_NR - 1)).  The
 * table page is allocated before S, as Linux deposits it at fault time, so
 * nothing inside the critical section can fail.
 */
int split_huge_pmd(struct host_mm *mm, struct host_vma *v, uint64_t addr)
{
	struct host_phys *phys = mm->phys;
	uint64_t haddr = addr & ~(HOST_PMD_SIZE - 1), e, pfn;
	struct host_table *t;
	hsync_u64 *ep;
	int l, ret = 0;

	if (v->kind != HOST_VMA_THP)
		return -EINVAL;
	t = table_alloc();
	mn_invalidate_start(mm, haddr, haddr + HOST_PMD_SIZE, HOST_MN_CLEAR, true);
	hsync_mutex_lock(&mm->ptl);
	ep = pt_walk(mm, haddr, 2, false, &l);
	e = ep && l == 2 ? hsync_load64(ep) : 0;
	if (!pte_is_leaf(e, 2)) {
		ret = -EINVAL;	/* raced with another split or a zap */
		goto unlock;
	}
	pt_set(mm, ep, haddr, 2, e & ~HOST_PTE_P);
	trace_flush(mm, haddr, haddr + HOST_PMD_SIZE);
	pfn = pte_pfn(e);
	for (unsigned i = 0; i < PTRS_PER_TABLE; i++) {
		uint64_t pe = mk_leaf(pfn + i, 1, e & HOST_PTE_RW);

		pe = (pe & ~(HOST_PTE_A | HOST_PTE_D)) | (e & (HOST_PTE_A | HOST_PTE_D));
		hsync_store64(&t->e[i], pe);
		mapcount_inc(phys, pe, 1);
	}
	hsync_addi(&phys_frame(phys, pfn)->refcount, PTRS_PER_TABLE - 1);
	mapcount_dec(phys, e, 2);
	pt_set(mm, ep, haddr, 2, mk_table_entry(t));
	t = NULL;
unlock:
	hsync_mutex_unlock(&mm->ptl);
	mn_invalidate_end(mm, haddr, haddr + HOST_PMD_SIZE, HOST_MN_CLEAR, true);
	free(t);
	return ret;
}

int host_thp_split(struct host_mm *mm, s2_hva_t addr)
{
	struct host_vma *v;
	int r;

	if (addr.v >= HOST_TASK_SIZE)
		return -EINVAL;
	hsync_read_lock(&mm->mmap_lock);
	if (hsync_loadi(&mm->exited)) {
		r = -ESRCH;
	} else {
		v = vma_find(mm, addr.v);
		r = v ? split_huge_pmd(mm, v, addr.v) : -EINVAL;
	}
	hsync_read_unlock(&mm->mmap_lock);
	return r;
}

/*
 * Can the folio mapped by the PTEs of @t be collapsed?  Every present page
 * must be anonymous, not KSM, and referenced only by the PTEs of this very
 * table (is_refcount_suitable): a GUP pin or a COW sharer after fork
 * makes the collapse fail, as in __collapse_huge_page_isolate.
 */
static bool collapse_refs_ok(struct host_phys *phys, struct host_table *t)
{
	uint64_t checked = UINT64_MAX;

	for (unsigned i = 0; i < PTRS_PER_TABLE; i++) {
		uint64_t e = hsync_load64(&t->e[i]), pfn, head;
		struct host_frame *h;
		int in_table = 0, mapped = 0;
		unsigned n;

		if (!pte_present(e))
			continue;
		pfn = pte_pfn(e);
		if (pfn >= phys->nr_frames)
			return false;
		head = phys_head(phys, pfn);
		h = phys_frame(phys, head);
		if (hsync_loadi(&h->flags) & (FRF_KSM | FRF_HUGETLB))
			return false;
		n = 1u << h->order;
		if (n == 1) {
			if (hsync_loadi(&h->mapcount) != 1 || hsync_loadi(&h->refcount) != 1)
				return false;
			continue;
		}
		if (head == checked)
			continue;
		checked = head;
		for (unsigned j = 0; j < PTRS_PER_TABLE; j++) {
			uint64_t o = hsync_load64(&t->e[j]);

			if (pte_present(o) && pte_pfn(o) >= head && pte_pfn(o) < head + n)
				in_table++;
		}
		for (unsigned j = 0; j < n; j++)
			mapped += hsync_loadi(&phys_frame(phys, head + j)->mapcount);
		mapped += hsync_loadi(&h->entire_mapcount);
		if (mapped != in_table || hsync_loadi(&h->refcount) != in_table)
			return false;
	}
	return true;
}

/*
 * collapse_huge_page (khugepaged): allocate the huge page first, then under
 * mmap_lock for write: S(CLEAR,2M); pmdp_collapse_flush detaches the whole
 * PTE table (PT) and flushes (FL); E; tlb_remove_table_sync_one waits out
 * lockless walkers (SYNC) that may still be reading the detached table;
 * the isolation check (restoring the PMD on failure, no notification);
 * copy; the small pages are freed (FREE); the old table is freed; the huge
 * PMD is installed with set_pmd_at, which needs no notification because
 * nothing is mapped there.
 */
int host_thp_collapse(struct host_mm *mm, s2_hva_t addr)
{
	struct host_phys *phys = mm->phys;
	uint64_t haddr = addr.v, hpfn, pmdv = 0;
	struct host_table *t = NULL;
	struct host_vma *v;
	hsync_u64 *ep;
	bool writable, any = false;
	int l, r = 0;

	if ((haddr & (HOST_PMD_SIZE - 1)) || haddr >= HOST_TASK_SIZE)
		return -EINVAL;
	if (phys_alloc(phys, PMD_ORDER, mm, haddr, &hpfn))
		return -ENOMEM;
	hsync_write_lock(&mm->mmap_lock);
	if (hsync_loadi(&mm->exited)) {
		r = -ESRCH;
		goto out;
	}
	v = vma_find(mm, haddr);
	if (!v || v->kind != HOST_VMA_THP || v->end < haddr + HOST_PMD_SIZE) {
		r = -EINVAL;
		goto out;
	}
	writable = v->prot & HOST_PROT_WRITE;
	hsync_mutex_lock(&mm->ptl);
	ep = pt_walk(mm, haddr, 2, false, &l);
	if (ep && l == 2)
		pmdv = hsync_load64(ep);
	if (!pte_is_table(pmdv, 2)) {
		hsync_mutex_unlock(&mm->ptl);
		r = -EINVAL;	/* none, or PMD-mapped already */
		goto out;
	}
	t = pte_table(pmdv);
	/* hpage_collapse_scan_pmd: swap entries would need swap-in (not
	 * modelled); the referenced test asks the secondary MMU only when
	 * the host young bit is clear, as the short-circuit in Linux does. */
	for (unsigned i = 0; i < PTRS_PER_TABLE; i++) {
		uint64_t e = hsync_load64(&t->e[i]);

		if (pte_is_swap(e) || pte_is_migr(e)) {
			r = -EBUSY;
			break;
		}
		if (!pte_present(e))
			continue;
		any = true;
		if (!(e & HOST_PTE_A))
			mn_test_young(mm, haddr + i * HOST_PAGE_SIZE,
				      haddr + (i + 1) * HOST_PAGE_SIZE);
	}
	if (!r && (!any || !collapse_refs_ok(phys, t)))
		r = -EBUSY;
	hsync_mutex_unlock(&mm->ptl);
	if (r)
		goto out;

	mn_invalidate_start(mm, haddr, haddr + HOST_PMD_SIZE, HOST_MN_CLEAR, true);
	hsync_mutex_lock(&mm->ptl);
	pt_set(mm, ep, haddr, 2, 0);
	trace_flush(mm, haddr, haddr + HOST_PMD_SIZE);
	hsync_mutex_unlock(&mm->ptl);
	mn_invalidate_end(mm, haddr, haddr + HOST_PMD_SIZE, HOST_MN_CLEAR, true);
	lockless_sync(mm);

	/* Recheck after the flush: with mmap_lock held for write no fault
	 * can have raised a reference, but a holder of an earlier reference
	 * (GUP pin) may not have dropped it; Linux restores the PMD. */
	if (!collapse_refs_ok(phys, t)) {
		hsync_mutex_lock(&mm->ptl);
		pt_set(mm, ep, haddr, 2, pmdv);
		hsync_mutex_unlock(&mm->ptl);
		r = -EBUSY;
		goto out;
	}
	for (unsigned i = 0; i < PTRS_PER_TABLE; i++) {
		uint64_t e = hsync_load64(&t->e[i]);

		if (!pte_present(e))
			continue;
		host_frame_write(phys, hpfn + i, host_frame_read(phys, pte_pfn(e)));
		/* each source read from memory: its data must be there (I8) */
		trace_simple(mm, HOST_TR_COPY, pte_pfn(e), hpfn + i);
	}
	for (unsigned i = 0; i < PTRS_PER_TABLE; i++) {
		uint64_t e = hsync_load64(&t->e[i]);

		if (!pte_present(e))
			continue;
		hsync_store64(&t->e[i], 0);	/* ptep_clear in the detached table */
		mapcount_dec(phys, e, 1);
		host_frame_put_mm(mm, pte_pfn(e));
	}
	/* The walkers that could see this table were waited out above. */
	table_free_now(mm, t);
	hsync_mutex_lock(&mm->ptl);
	pt_set(mm, ep, haddr, 2, mk_leaf(hpfn, 2, writable));
	mapcount_inc(phys, mk_leaf(hpfn, 2, writable), 2);
	hsync_mutex_unlock(&mm->ptl);
	hsync_write_unlock(&mm->mmap_lock);
	return 0;
out:
	hsync_write_unlock(&mm->mmap_lock);
	host_frame_put(phys, hpfn);
	return r;
}
