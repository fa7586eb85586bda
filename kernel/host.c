// SPDX-License-Identifier: GPL-2.0-only
/*
 * The host side of the library's fault path (struct s2_host_ops): the
 * frame behind an hva, from get_user_pages, and the size of the host's
 * mapping of it, from a lockless walk of the VM's page tables.
 */
#include <linux/mm.h>
#include <linux/pgtable.h>
#include <linux/sched/mm.h>
#include "kmod.h"

/*
 * Resolve @hva to its frame, faulting it in (and breaking COW for a
 * write) the way KVM's hva_to_pfn does.  Context: may sleep; the library
 * calls it without mmu_lock.
 */
static int s2k_host_resolve(void *host, s2_hva_t hva, bool write, struct s2_resolved *r)
{
	struct s2k_vm *vm = host;
	struct page *page = NULL;
	bool writable;
	int locked = 1;
	long got;

	/*
	 * A read may still map writable when the host pte already is: the
	 * lockless GUP never faults or breaks COW, so it tells us without
	 * changing the host (KVM's hva_to_pfn_fast).  It walks current->mm,
	 * so only for the VM's own process.
	 */
	if (!write && current->mm == vm->mm &&
	    get_user_page_fast_only(hva.v, FOLL_WRITE, &page)) {
		writable = true;
	} else {
		/* Accesses may come from another task holding the file
		 * (seed 001): reach the VM's mm, unless it is exiting. */
		/*
		 * mm_users reached zero: the owner's exit_mmap is about to
		 * release the VM, but has not yet (its mappings, and ours,
		 * are all still there).  Retry until release has run, so
		 * that ESRCH means "released": an access that failed with
		 * it must never be followed by one that succeeds.
		 */
		if (!mmget_not_zero(vm->mm)) {
			WRITE_ONCE(vm->mm_gone, true);
			return -S2_EAGAIN;
		}
		mmap_read_lock(vm->mm);
		/* A passive mirror must not populate what the target has
		 * not touched (S2K_ATTACH_NOFAULT): its faults are its own. */
		got = get_user_pages_remote(vm->mm, hva.v, 1,
					    (write ? FOLL_WRITE : 0) |
					    (vm->nofault ? FOLL_NOFAULT : 0),
					    &page, NULL, &locked);
		if (locked)
			mmap_read_unlock(vm->mm);
		mmput(vm->mm);
		if (got != 1) {
			s2k_count(vm, S2K_ST_HOST_EFAULT, 1);
			return got == -ENOMEM ? -S2_ENOMEM : -S2_EFAULT;
		}
		writable = write;
	}
	r->pa = s2_hpa(PFN_PHYS(page_to_pfn(page)));
	r->writable = writable;
	r->device = false;
	r->cookie = (u64)(uintptr_t)page;
	return 0;
}

/*
 * Drop resolve's reference.  No pin is kept: from here the MMU notifier,
 * not a page reference, keeps the frame valid for as long as stage 2 maps
 * it.  A writable mapping may dirty the page behind the host's back, so
 * mark it now (reclaim unmaps, and so zaps us, before it writes a page
 * out).  Context: the library calls it after dropping mmu_lock, so
 * set_page_dirty_lock may sleep here.
 */
static void s2k_host_put(void *host, const struct s2_resolved *r)
{
	struct page *page = (struct page *)(uintptr_t)r->cookie;

	if (r->writable)
		set_page_dirty_lock(page);
	put_page(page);
}

/*
 * The size of the host mapping of @hva now: a lockless walk of the VM's
 * page tables, like GUP-fast and KVM's host_pfn_mapping_level.  Each
 * level is read once (READ_ONCE) and the next level is found from that
 * copy, never by re-reading the entry (hostlevel_reread, seed 002).
 * Interrupts are off so that page-table pages freed through RCU or an
 * IPI-synchronised TLB flush stay readable while we walk.  The library
 * calls this with mmu_lock held and only after the retry check passed,
 * so any THP collapse or split that changes the answer has either
 * finished its invalidation (the sequence moved: retry) or will zap what
 * we install; the value is never used after the lock is dropped.
 * Context: mmu_lock held (spinning): must not sleep.
 */
static uint64_t s2k_host_mapping_size(void *host, s2_hva_t hva)
{
	struct s2k_vm *vm = host;
	unsigned long addr = hva.v, flags;
	u64 size = 0;
	pgd_t *pgdp, pgd;
	p4d_t *p4dp, p4d;
	pud_t *pudp, pud;
	pmd_t *pmdp, pmd;
	pte_t *ptep, pte;

	local_irq_save(flags);
	pgdp = pgd_offset(vm->mm, addr);
	pgd = READ_ONCE(*pgdp);
	if (pgd_none(pgd) || pgd_bad(pgd))
		goto out;
	p4dp = p4d_offset(pgdp, addr);
	p4d = READ_ONCE(*p4dp);
	if (p4d_none(p4d) || p4d_bad(p4d))
		goto out;
	pudp = pud_offset(&p4d, addr);
	pud = READ_ONCE(*pudp);
	if (pud_none(pud) || !pud_present(pud))
		goto out;
	if (pud_large(pud)) {
		size = PUD_SIZE;
		goto out;
	}
	pmdp = pmd_offset(&pud, addr);
	pmd = READ_ONCE(*pmdp);
	if (pmd_none(pmd) || !pmd_present(pmd))
		goto out;
	if (pmd_trans_huge(pmd) || pmd_large(pmd)) {
		size = PMD_SIZE;
		goto out;
	}
	if (pmd_bad(pmd))
		goto out;
	/* From the copy: a pte table the pmd pointed at when we read it. */
	ptep = pte_offset_map(&pmd, addr);
	pte = READ_ONCE(*ptep);
	pte_unmap(ptep);
	if (pte_present(pte))
		size = PAGE_SIZE;
out:
	local_irq_restore(flags);
	return size;
}

const struct s2_host_ops s2k_host_ops = {
	.resolve	= s2k_host_resolve,
	.put		= s2k_host_put,
	.mapping_size	= s2k_host_mapping_size,
	/* .vma_info: no PFNMAP slots here, so no prefault. */
};
