// SPDX-License-Identifier: GPL-2.0-only
/*
 * s2mmu kernel module: the s2mmu library as the secondary MMU of a user
 * process, driven by the real kernel's MMU notifiers.
 *
 * Opening /dev/s2mmu creates a VM (s2_vm_create, EPT format) whose host
 * memory is the opener's address space.  Memslots map guest-physical
 * ranges onto ranges of that process (s2_vm_set_memslot).  A guest access
 * is what a vCPU's hardware does:
 *
 *   software TLB -> stage-2 table (s2_pgt_lookup under RCU) -> on a miss,
 *   a permission or an access-flag fault, s2_vm_fault -> retry
 *
 * and the library does the rest: the fault path's sequence / in-progress
 * protocol (seed 000), the host mapping size rule (seed 002), notifier
 * handlers (s2_vm_mn_*), dirty logging, release (seed 001).  This file
 * supplies what only the host kernel can: resolving an hva to a frame
 * (get_user_pages), the host mapping level (a lockless page-table walk),
 * the notifier registration, the software TLB that the library's TLB
 * hooks (platform_kernel.c) invalidate, and VERIFY, which compares every
 * stage-2 leaf with what the process's page tables map now.
 *
 * Frame safety of an access.  The load or store itself happens under the
 * vCPU's TLB lock, after the translation was read under that same lock.
 * invalidate_range_start zaps the leaf and then calls the TLB hook, which
 * takes every vCPU's TLB lock before it returns: so either our lookup
 * runs after the zap's store (and misses), or the hook waits until our
 * access is done.  Either way no access touches a frame after the
 * notifier returned and the host may free it (I1, seed 004).
 *
 * Lock order: mmap_lock -> core mmu_lock -> TLB lock.  No core lock is
 * held while this file takes the host's page-table lock (VERIFY), because
 * clear_flush_young and change_pte are called with that lock held.
 */
#define pr_fmt(fmt) "s2mmu: " fmt

#include <linux/bitmap.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pgtable.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <s2mmu/mmu.h>
#include "s2k.h"
#include "s2mmu_uapi.h"

#define S2K_TLB_ENTRIES	64	/* per vCPU, direct mapped */
/* EPT, 4-level: guest-physical addresses below 2^48. */
#define S2K_IA_BITS	48
/* A fault that keeps losing to invalidations gives up: the caller retries
 * (guarantees the ioctl returns; I10 is about completion without an
 * overlapping invalidation, which never takes more than one retry). */
#define S2K_MAX_FAULT_RETRIES	20000
/* Leaves VERIFY collects per RCU section (then checks without RCU). */
#define S2K_VERIFY_BATCH	256

struct s2k_tlbe {
	u64 gfn;
	unsigned long pfn;
	bool valid;
	bool writable;
};

struct s2k_vcpu {
	spinlock_t lock;	/* fills and accesses vs. the TLB hooks */
	struct s2k_tlbe e[S2K_TLB_ENTRIES];
	/*
	 * The library's page cache is "one per thread": two tasks using the
	 * same vCPU number take turns.  Also serialises the vCPU's faults,
	 * as a real vCPU runs one at a time.
	 */
	struct mutex run;
	struct s2_memcache mc;
};

struct s2k_last_event {
	u32 kind;		/* enum s2k_event */
	unsigned long start, end;
};

struct s2k_vm {
	struct mmu_notifier mn;
	struct mm_struct *mm;	/* kept alive by the registration's mmgrab */
	struct s2_vm *core;	/* the library's VM */

	bool released;		/* notifier release ran (for stats only) */
	bool closing;		/* release caused by our unregister */
	bool mm_gone;		/* resolve found the process exiting */

	/*
	 * A shadow of the invalidation state, for VERIFY only (the
	 * library's own is private to it): VERIFY validates its lockless
	 * comparison of stage 2 with the host like a seqlock read.  Updated
	 * before the library's start handler and after its end handler, so
	 * it brackets the library's view.
	 */
	spinlock_t inv_lock;
	unsigned long inv_seq;			/* bumped at every end */
	long inv_in_progress;
	unsigned long inv_start, inv_end;	/* union of in-progress ranges */

	/* Our copy of the memslots' geometry (the library keeps the real
	 * ones), for flag toggles and the AGE ioctl. */
	struct mutex slots_mutex;
	struct s2k_slot slots[S2K_MAX_SLOTS];
	bool slot_used[S2K_MAX_SLOTS];

	struct s2k_vcpu vcpu[S2K_MAX_VCPUS];

	atomic64_t ev[S2K_EV_NR];
	atomic64_t inv_reason[S2K_NR_REASONS];
	atomic64_t stat[S2K_ST_NR];
	spinlock_t last_lock;
	struct s2k_last_event last;
};

static inline void s2k_count(struct s2k_vm *vm, enum s2k_stat s, long n)
{
	atomic64_add(n, &vm->stat[s]);
}

static void s2k_event(struct s2k_vm *vm, enum s2k_event kind,
		      unsigned long start, unsigned long end)
{
	atomic64_inc(&vm->ev[kind]);
	spin_lock(&vm->last_lock);
	vm->last.kind = kind;
	vm->last.start = start;
	vm->last.end = end;
	spin_unlock(&vm->last_lock);
}

/* ---- software TLB (invalidated by the library's TLB hooks) ------------ */

void s2k_tlb_invalidate(struct s2k_vm *vm, u64 ipa, u64 size)
{
	u64 first = ipa >> PAGE_SHIFT;
	u64 last = size ? (ipa + size - 1) >> PAGE_SHIFT : U64_MAX;
	int c, i;

	s2k_count(vm, S2K_ST_TLB_FLUSH, 1);
	for (c = 0; c < S2K_MAX_VCPUS; c++) {
		struct s2k_vcpu *t = &vm->vcpu[c];

		/* Taking each vCPU's lock is what makes the invalidation
		 * complete on return: an access in flight finishes first. */
		spin_lock(&t->lock);
		for (i = 0; i < S2K_TLB_ENTRIES; i++)
			if (t->e[i].valid && t->e[i].gfn >= first && t->e[i].gfn <= last)
				t->e[i].valid = false;
		spin_unlock(&t->lock);
	}
}

/* ---- host side of the fault path (struct s2_host_ops) ------------------ */

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
		got = get_user_pages_remote(vm->mm, hva.v, 1, write ? FOLL_WRITE : 0,
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

static const struct s2_host_ops s2k_host_ops = {
	.resolve	= s2k_host_resolve,
	.put		= s2k_host_put,
	.mapping_size	= s2k_host_mapping_size,
	/* .vma_info: no PFNMAP slots here, so no prefault. */
};

/* ---- MMU notifier: the library's handlers ------------------------------ */

static struct s2k_vm *mn_to_vm(struct mmu_notifier *mn)
{
	return container_of(mn, struct s2k_vm, mn);
}

static int s2k_mn_invalidate_range_start(struct mmu_notifier *mn,
					 const struct mmu_notifier_range *range)
{
	struct s2k_vm *vm = mn_to_vm(mn);

	s2k_event(vm, S2K_EV_INV_START, range->start, range->end);
	if ((unsigned int)range->event < S2K_NR_REASONS)
		atomic64_inc(&vm->inv_reason[range->event]);

	spin_lock(&vm->inv_lock);
	if (!vm->inv_in_progress) {
		vm->inv_start = range->start;
		vm->inv_end = range->end;
	} else {
		vm->inv_start = min(vm->inv_start, range->start);
		vm->inv_end = max(vm->inv_end, range->end);
	}
	vm->inv_in_progress++;
	spin_unlock(&vm->inv_lock);

	/*
	 * Zaps and invalidates the TLB before returning.  It only spins
	 * (mmu_lock is a rwlock_t) and never fails, so non-blockable ranges
	 * (the OOM reaper) are handled the same way.
	 */
	s2_vm_mn_invalidate_range_start(vm->core, s2_hva(range->start), s2_hva(range->end),
					mmu_notifier_range_blockable(range));
	return 0;
}

static void s2k_mn_invalidate_range_end(struct mmu_notifier *mn,
					const struct mmu_notifier_range *range)
{
	struct s2k_vm *vm = mn_to_vm(mn);

	atomic64_inc(&vm->ev[S2K_EV_INV_END]);
	s2_vm_mn_invalidate_range_end(vm->core, s2_hva(range->start), s2_hva(range->end));
	spin_lock(&vm->inv_lock);
	vm->inv_seq++;
	if (!WARN_ON_ONCE(vm->inv_in_progress <= 0))
		vm->inv_in_progress--;
	spin_unlock(&vm->inv_lock);
}

struct s2k_count_arg {
	u64 leaves, pages;
};

static int s2k_count_fn(struct s2_walk_ctx *c, unsigned int visit)
{
	struct s2k_count_arg *a = c->arg;
	struct s2_mapping m;

	if (!s2_pte_valid(c->pgt, c->old, c->level))
		return 0;
	s2_pte_decode(c->pgt, c->old, c->level, &m);
	a->leaves++;
	a->pages += m.size >> PAGE_SHIFT;
	return 0;
}

/* Valid leaves now (approximate while faults and notifiers run).  A
 * read-only walk: it loads each entry once and descends through the
 * loaded value, and RCU keeps unlinked tables readable. */
static void s2k_count_leaves(struct s2k_vm *vm, struct s2k_count_arg *a)
{
	struct s2_pgtable *pgt;

	a->leaves = a->pages = 0;
	rcu_read_lock();
	pgt = s2_vm_pgtable(vm->core);
	if (pgt)
		s2_pgt_walk(pgt, s2_gpa(0), 1ULL << S2K_IA_BITS, s2k_count_fn, a, S2_WALK_LEAF);
	rcu_read_unlock();
}

static void s2k_mn_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct s2k_vm *vm = mn_to_vm(mn);
	struct s2k_count_arg before;

	s2k_event(vm, S2K_EV_RELEASE, 0, ULONG_MAX);
	s2k_count_leaves(vm, &before);
	/* Zaps everything and frees the table; every later fault and
	 * handler finds it gone (seeds 000/001).  May sleep (RCU). */
	s2_vm_mn_release(vm->core);
	WRITE_ONCE(vm->released, true);
	pr_info("release ran (%s): %llu stage-2 leaves (%llu pages) zapped, %lld accesses, %lld faults\n",
		READ_ONCE(vm->closing) ? "device close" : "exit_mmap",
		before.leaves, before.pages,
		atomic64_read(&vm->stat[S2K_ST_ACCESS]),
		atomic64_read(&vm->stat[S2K_ST_FAULT]));
}

/* Aging runs with the host's page-table lock held: the library's
 * handlers only spin. */
static int s2k_mn_clear_flush_young(struct mmu_notifier *mn, struct mm_struct *mm,
				    unsigned long start, unsigned long end)
{
	struct s2k_vm *vm = mn_to_vm(mn);
	bool y;

	s2k_event(vm, S2K_EV_CLEAR_FLUSH_YOUNG, start, end);
	y = s2_vm_mn_clear_flush_young(vm->core, s2_hva(start), s2_hva(end));
	s2k_count(vm, S2K_ST_YOUNG, y);
	return y;
}

static int s2k_mn_clear_young(struct mmu_notifier *mn, struct mm_struct *mm,
			      unsigned long start, unsigned long end)
{
	struct s2k_vm *vm = mn_to_vm(mn);
	bool y;

	s2k_event(vm, S2K_EV_CLEAR_YOUNG, start, end);
	y = s2_vm_mn_clear_young(vm->core, s2_hva(start), s2_hva(end));
	s2k_count(vm, S2K_ST_YOUNG, y);
	return y;
}

static int s2k_mn_test_young(struct mmu_notifier *mn, struct mm_struct *mm,
			     unsigned long address)
{
	struct s2k_vm *vm = mn_to_vm(mn);
	bool y;

	s2k_event(vm, S2K_EV_TEST_YOUNG, address, address + PAGE_SIZE);
	y = s2_vm_mn_test_young(vm->core, s2_hva(address), s2_hva(address + PAGE_SIZE));
	s2k_count(vm, S2K_ST_YOUNG, y);
	return y;
}

/*
 * change_pte is always called between invalidate_range_start and _end of
 * a range covering @address, which already zapped our entry; KVM dropped
 * its handler for that reason.  Count it only.
 */
static void s2k_mn_change_pte(struct mmu_notifier *mn, struct mm_struct *mm,
			      unsigned long address, pte_t pte)
{
	s2k_event(mn_to_vm(mn), S2K_EV_CHANGE_PTE, address, address + PAGE_SIZE);
}

static const struct mmu_notifier_ops s2k_mn_ops = {
	.invalidate_range_start	= s2k_mn_invalidate_range_start,
	.invalidate_range_end	= s2k_mn_invalidate_range_end,
	.release		= s2k_mn_release,
	.clear_flush_young	= s2k_mn_clear_flush_young,
	.clear_young		= s2k_mn_clear_young,
	.test_young		= s2k_mn_test_young,
	.change_pte		= s2k_mn_change_pte,
};

/* ---- guest access ------------------------------------------------------ */

/*
 * The hardware's part of an access: TLB, then a walk of the stage-2
 * table; the load or store happens under the vCPU's TLB lock (see the
 * top of this file for why that makes it safe).
 * Return: 0 done, 1 fault needed (no leaf, no write permission, or the
 * access flag clear: the hardware would raise an access-flag fault),
 * -ESRCH the table is gone.
 */
static int s2k_try_access(struct s2k_vm *vm, struct s2k_vcpu *t, u64 gpa,
			  bool write, u64 *val)
{
	u64 gfn = gpa >> PAGE_SHIFT;
	struct s2k_tlbe *e = &t->e[gfn % S2K_TLB_ENTRIES];
	struct s2_pgtable *pgt;
	struct s2_mapping m;
	unsigned long pfn;
	u64 *p;
	int ret;

	spin_lock(&t->lock);
	if (e->valid && e->gfn == gfn && (!write || e->writable)) {
		pfn = e->pfn;
		s2k_count(vm, S2K_ST_TLB_HIT, 1);
	} else {
		rcu_read_lock();
		pgt = s2_vm_pgtable(vm->core);
		ret = pgt ? s2_pgt_lookup(pgt, s2_gpa(gpa & PAGE_MASK), &m) : -ESRCH;
		rcu_read_unlock();
		if (ret || !m.valid || !m.young || (write && !(m.prot & S2_PROT_W))) {
			spin_unlock(&t->lock);
			return ret == -ESRCH ? -ESRCH : 1;
		}
		pfn = (m.pa.v + ((gpa & PAGE_MASK) - m.ipa.v)) >> PAGE_SHIFT;
		*e = (struct s2k_tlbe){ .gfn = gfn, .pfn = pfn, .valid = true,
					.writable = !!(m.prot & S2_PROT_W) };
		s2k_count(vm, S2K_ST_WALK_HIT, 1);
	}
	p = page_address(pfn_to_page(pfn)) + offset_in_page(gpa);
	if (write)
		WRITE_ONCE(*p, *val);
	else
		*val = READ_ONCE(*p);
	spin_unlock(&t->lock);
	return 0;
}

static int s2k_access(struct s2k_vm *vm, struct s2k_access *a)
{
	bool write = a->flags & S2K_ACC_WRITE;
	struct s2_fault_info info;
	struct s2k_vcpu *t;
	unsigned int tries = 0;
	int ret;

	if (a->vcpu >= S2K_MAX_VCPUS || (a->flags & ~S2K_ACC_WRITE) || (a->gpa & 7))
		return -EINVAL;
	t = &vm->vcpu[a->vcpu];
	a->faults = a->retries = 0;
	if (mutex_lock_killable(&t->run))
		return -EINTR;
	for (;;) {
		ret = s2k_try_access(vm, t, a->gpa, write, &a->value);
		if (ret <= 0)
			break;
		a->faults++;
		s2k_count(vm, S2K_ST_FAULT, 1);
		ret = s2_vm_fault(vm->core, s2_gpa(a->gpa),
				  write ? S2_ACC_WRITE : S2_ACC_READ, &t->mc, &info);
		if (ret == -S2_EAGAIN) {
			a->retries++;
			if (info.retry_cause == S2_RETRY_SEQ)
				s2k_count(vm, S2K_ST_RETRY_SEQ, 1);
			else if (info.retry_cause == S2_RETRY_RANGE)
				s2k_count(vm, S2K_ST_RETRY_RANGE, 1);
			/* the owner is exiting: wait for its release (bounded
			 * only by the exit itself, as a fault in KVM is) */
			if (info.retry_cause == S2_RETRY_HOST && READ_ONCE(vm->mm_gone)) {
				if (fatal_signal_pending(current)) {
					ret = -EINTR;
					break;
				}
				msleep(1);
				continue;
			}
			if (++tries > S2K_MAX_FAULT_RETRIES) {
				/* Diagnose a livelock rather than hide it. */
				pr_info("fault at gpa %#llx gave up after %u retries (cause %d), last event %u\n",
					a->gpa, tries, info.retry_cause, READ_ONCE(vm->last.kind));
				break;
			}
			cond_resched();
			continue;
		}
		if (ret == -S2_ENOENT) {
			/* The VM was released (exit_mmap): seed 000's NULL table. */
			ret = -ESRCH;
			break;
		}
		if (ret == -S2_EFAULT && READ_ONCE(vm->mm_gone)) {
			/* The process is exiting; release is on its way. */
			ret = -ESRCH;
			break;
		}
		if (ret)
			break;	/* -EFAULT, -ENOMEM: Linux numbering */
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
	}
	mutex_unlock(&t->run);
	if (!ret)
		s2k_count(vm, S2K_ST_ACCESS, 1);
	return ret;
}

/* ---- verify ------------------------------------------------------------ */

struct s2k_host_pte {
	bool present;
	bool writable;
	unsigned long pfn;
};

/*
 * What the host page tables map at @addr now, without faulting.
 * Context: mmap_lock held for read (page-table pages are then not freed
 * under us); no core lock held (lock order with the page-table lock).
 */
static void s2k_host_walk(struct mm_struct *mm, unsigned long addr,
			  struct s2k_host_pte *out)
{
	pgd_t *pgd;
	p4d_t *p4d;
	pud_t *pud, pudv;
	pmd_t *pmd, pmdv;
	pte_t *ptep, ptev;
	spinlock_t *ptl;

	out->present = false;
	pgd = pgd_offset(mm, addr);
	if (pgd_none(READ_ONCE(*pgd)) || pgd_bad(READ_ONCE(*pgd)))
		return;
	p4d = p4d_offset(pgd, addr);
	if (p4d_none(READ_ONCE(*p4d)) || p4d_bad(READ_ONCE(*p4d)))
		return;
	pud = pud_offset(p4d, addr);
	pudv = READ_ONCE(*pud);
	if (pud_none(pudv) || !pud_present(pudv))
		return;
	if (pud_large(pudv)) {
		out->present = true;
		out->writable = pud_write(pudv);
		out->pfn = pud_pfn(pudv) + ((addr & ~PUD_MASK) >> PAGE_SHIFT);
		return;
	}
	pmd = pmd_offset(pud, addr);
	pmdv = pmd_read_atomic(pmd);
	/* Not present covers THP migration entries. */
	if (pmd_none(pmdv) || !pmd_present(pmdv))
		return;
	if (pmd_trans_huge(pmdv) || pmd_large(pmdv)) {
		out->present = true;
		out->writable = pmd_write(pmdv);
		out->pfn = pmd_pfn(pmdv) + ((addr & ~PMD_MASK) >> PAGE_SHIFT);
		return;
	}
	if (pmd_bad(pmdv))
		return;
	/*
	 * The pmd pointed at a pte table when we read it; under mmap_lock
	 * held for read that table may be emptied but not freed or replaced.
	 */
	ptep = pte_offset_map_lock(mm, pmd, addr, &ptl);
	ptev = ptep_get(ptep);
	if (pte_present(ptev)) {
		out->present = true;
		out->writable = pte_write(ptev);
		out->pfn = pte_pfn(ptev);
	}
	pte_unmap_unlock(ptep, ptl);
}

/* One translation of one 4K guest page, from stage 2 or from a TLB. */
struct s2k_xlate {
	bool valid;
	bool writable;
	unsigned long pfn;
	u64 leaf_size;
};

/* @vcpu < 0: the stage-2 table (s2_pgt_lookup); else that vCPU's TLB. */
static void s2k_read_xlate(struct s2k_vm *vm, int vcpu, u64 gpa, struct s2k_xlate *x)
{
	struct s2_pgtable *pgt;
	struct s2_mapping m;

	x->valid = false;
	if (vcpu >= 0) {
		struct s2k_vcpu *t = &vm->vcpu[vcpu];
		struct s2k_tlbe *e = &t->e[(gpa >> PAGE_SHIFT) % S2K_TLB_ENTRIES];

		spin_lock(&t->lock);
		if (e->valid && e->gfn == gpa >> PAGE_SHIFT)
			*x = (struct s2k_xlate){ true, e->writable, e->pfn, PAGE_SIZE };
		spin_unlock(&t->lock);
		return;
	}
	rcu_read_lock();
	pgt = s2_vm_pgtable(vm->core);
	if (pgt && !s2_pgt_lookup(pgt, s2_gpa(gpa), &m) && m.valid)
		*x = (struct s2k_xlate){ true, !!(m.prot & S2_PROT_W),
					 (m.pa.v + (gpa - m.ipa.v)) >> PAGE_SHIFT, m.size };
	rcu_read_unlock();
}

static void s2k_report(struct s2k_vm *vm, struct s2k_verify *v, u32 kind, u64 gpa,
		       unsigned long hva, const struct s2k_xlate *s2,
		       const struct s2k_host_pte *h)
{
	struct s2k_violation *x;

	if (v->violations++ >= S2K_NR_VIOL)
		return;
	x = &v->v[v->violations - 1];
	x->kind = kind;
	x->gpa = gpa;
	x->hva = hva;
	x->s2_pfn = s2->pfn;
	x->s2_writable = s2->writable;
	x->host_pfn = h && h->present ? h->pfn : ~0ULL;
	x->host_writable = h && h->present && h->writable;
	spin_lock(&vm->last_lock);
	x->last_event = vm->last.kind;
	x->last_start = vm->last.start;
	x->last_end = vm->last.end;
	spin_unlock(&vm->last_lock);
	pr_err("VERIFY violation %u at gpa %#llx hva %#lx: %s pfn %#lx%s (leaf %llu KiB), host pfn %#llx%s, last event %u [%#llx, %#llx)\n",
	       kind, gpa, hva, kind == S2K_VIOL_TLB ? "TLB" : "stage 2", s2->pfn,
	       s2->writable ? " rw" : " ro", s2->leaf_size >> 10,
	       x->host_pfn, x->host_writable ? " rw" : " ro", x->last_event,
	       x->last_start, x->last_end);
}

/* Is an invalidation covering @hva in progress?  Context: inv_lock. */
static bool s2k_inv_busy(struct s2k_vm *vm, unsigned long hva)
{
	return vm->inv_in_progress && hva >= vm->inv_start && hva < vm->inv_end;
}

/*
 * Check one guest page's translation (stage 2 or a TLB) against the
 * host.  The host walk takes the page-table lock and so runs with no
 * core lock held; it is validated like a seqlock read: if no
 * invalidation covering the hva started or ended between the two reads
 * of the translation and both reads agree, the host's mapping could not
 * have changed in a way that requires ours to change (every such change
 * is bracketed by invalidate_range_start/end), so the comparison is
 * exact.  Return: true if checked (or nothing to check), false if it
 * kept racing.
 */
static bool s2k_verify_page(struct s2k_vm *vm, struct s2k_verify *v, int vcpu, u64 gpa)
{
	struct s2k_xlate a, b;
	struct s2k_host_pte h;
	unsigned long seq;
	s2_hva_t hva;
	unsigned int sflags;
	bool busy, ro;
	int tries;

	for (tries = 0; tries < 1000; tries++) {
		if (tries)
			cond_resched();
		s2k_read_xlate(vm, vcpu, gpa, &a);
		if (!a.valid)
			return true;	/* zapped meanwhile: nothing to check */
		if (!s2_vm_gpa_to_hva(vm->core, s2_gpa(gpa), &hva, &sflags)) {
			/*
			 * A slot is zapped before it leaves the array, so a
			 * translation still there after its slot is gone is
			 * itself the bug (memslot_delete_no_zap).
			 */
			s2k_read_xlate(vm, vcpu, gpa, &b);
			if (!b.valid || b.pfn != a.pfn)
				continue;
			v->checked++;
			s2k_report(vm, v, vcpu < 0 ? S2K_VIOL_FRAME : S2K_VIOL_TLB,
				   gpa, 0, &a, NULL);
			return true;
		}
		ro = sflags & S2_MEM_READONLY;
		spin_lock(&vm->inv_lock);
		seq = vm->inv_seq;
		busy = s2k_inv_busy(vm, hva.v);
		spin_unlock(&vm->inv_lock);
		if (busy)
			continue;
		/* a must have been read after the seq snapshot too. */
		s2k_read_xlate(vm, vcpu, gpa, &a);
		if (!a.valid)
			return true;

		s2k_host_walk(vm->mm, hva.v, &h);

		s2k_read_xlate(vm, vcpu, gpa, &b);
		spin_lock(&vm->inv_lock);
		busy = seq != vm->inv_seq || s2k_inv_busy(vm, hva.v);
		spin_unlock(&vm->inv_lock);
		if (busy || !b.valid || b.pfn != a.pfn || b.writable != a.writable)
			continue;
		v->checked++;
		if (!h.present || h.pfn != a.pfn)
			s2k_report(vm, v, vcpu < 0 ? S2K_VIOL_FRAME : S2K_VIOL_TLB,
				   gpa, hva.v, &a, &h);
		else if (a.writable && (!h.writable || ro))
			s2k_report(vm, v, vcpu < 0 ? S2K_VIOL_PERM : S2K_VIOL_TLB,
				   gpa, hva.v, &a, &h);
		return true;
	}
	return false;
}

struct s2k_leaf {
	u64 ipa, size;
};

struct s2k_collect {
	struct s2k_leaf *leaf;
	unsigned int n;
	u64 next;		/* where to resume when the batch filled */
};

static int s2k_collect_fn(struct s2_walk_ctx *c, unsigned int visit)
{
	struct s2k_collect *k = c->arg;
	struct s2_mapping m;

	if (!s2_pte_valid(c->pgt, c->old, c->level))
		return 0;
	if (k->n == S2K_VERIFY_BATCH) {
		k->next = c->addr;
		return -S2_ENOSPC;
	}
	s2_pte_decode(c->pgt, c->old, c->level, &m);
	k->leaf[k->n++] = (struct s2k_leaf){ c->addr, m.size };
	return 0;
}

/*
 * VERIFY: walk the stage-2 table (s2_pgt_walk, read-only, in batches
 * under RCU), then check each 4K page of every valid leaf against the
 * host without RCU (the host walk sleeps on the page-table lock); then
 * every TLB entry the same way.
 */
static int s2k_verify(struct s2k_vm *vm, struct s2k_verify *v)
{
	u64 start = v->gpa & PAGE_MASK, end, addr;
	struct s2k_collect k;
	struct s2_pgtable *pgt;
	unsigned int i;
	int c, ret = 0;

	v->checked = v->violations = v->raced = v->tlb_checked = 0;
	memset(v->v, 0, sizeof(v->v));
	end = v->size ? PAGE_ALIGN(v->gpa + v->size) : 1ULL << S2K_IA_BITS;
	if (start >= end || end > 1ULL << S2K_IA_BITS)
		return -EINVAL;
	k.leaf = kmalloc_array(S2K_VERIFY_BATCH, sizeof(*k.leaf), GFP_KERNEL);
	if (!k.leaf)
		return -ENOMEM;

	if (!mmget_not_zero(vm->mm)) {
		/* Exited: release freed the table; check that it did. */
		if (s2_vm_pgtable(vm->core)) {
			struct s2k_xlate x = { .valid = true };

			s2k_report(vm, v, S2K_VIOL_FRAME, 0, 0, &x, NULL);
		}
		goto out;
	}
	mmap_read_lock(vm->mm);
	for (addr = start; addr < end; ) {
		k.n = 0;
		k.next = end;
		rcu_read_lock();
		pgt = s2_vm_pgtable(vm->core);
		ret = pgt ? s2_pgt_walk(pgt, s2_gpa(addr), end - addr, s2k_collect_fn, &k,
					S2_WALK_LEAF) : 0;
		rcu_read_unlock();
		if (ret && ret != -S2_ENOSPC)
			break;
		ret = 0;
		for (i = 0; i < k.n; i++) {
			u64 a = max(k.leaf[i].ipa, start);
			u64 b = min(k.leaf[i].ipa + k.leaf[i].size, end);

			for (; a < b; a += PAGE_SIZE)
				if (!s2k_verify_page(vm, v, -1, a))
					v->raced++;
			cond_resched();
		}
		addr = k.next;
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
	}
	/*
	 * Every TLB entry must agree with the host too: a stale one means a
	 * zap whose TLB invalidation was skipped or deferred
	 * (tlbi_after_return).
	 */
	for (c = 0; c < S2K_MAX_VCPUS && !ret; c++) {
		for (i = 0; i < S2K_TLB_ENTRIES; i++) {
			struct s2k_vcpu *t = &vm->vcpu[c];
			bool valid;
			u64 gfn;

			spin_lock(&t->lock);
			valid = t->e[i].valid;
			gfn = t->e[i].gfn;
			spin_unlock(&t->lock);
			if (!valid || gfn << PAGE_SHIFT < start || gfn << PAGE_SHIFT >= end)
				continue;
			v->tlb_checked++;
			if (!s2k_verify_page(vm, v, c, gfn << PAGE_SHIFT))
				v->raced++;
		}
	}
	mmap_read_unlock(vm->mm);
	mmput(vm->mm);
out:
	kfree(k.leaf);
	return ret;
}

/* ---- memslots, dirty log, aging ---------------------------------------- */

static unsigned int s2k_core_flags(u32 flags)
{
	return ((flags & S2K_SLOT_READONLY) ? S2_MEM_READONLY : 0) |
	       ((flags & S2K_SLOT_DIRTY_LOG) ? S2_MEM_DIRTY_LOG : 0);
}

static int s2k_slot_add(struct s2k_vm *vm, const struct s2k_slot *a)
{
	int ret;

	if (a->id >= S2K_MAX_SLOTS || (a->flags & ~(S2K_SLOT_READONLY | S2K_SLOT_DIRTY_LOG)) ||
	    !access_ok((void __user *)(unsigned long)a->hva, a->size))
		return -EINVAL;
	mutex_lock(&vm->slots_mutex);
	if (vm->slot_used[a->id]) {
		ret = -EEXIST;
	} else {
		/* Checks alignment and overlap; errnos are Linux's. */
		ret = s2_vm_set_memslot(vm->core, a->id, s2_gpa(a->gpa), a->size,
					s2_hva(a->hva), s2k_core_flags(a->flags));
		if (!ret) {
			vm->slots[a->id] = *a;
			vm->slot_used[a->id] = true;
		}
	}
	mutex_unlock(&vm->slots_mutex);
	return ret;
}

static int s2k_slot_del(struct s2k_vm *vm, const struct s2k_slot *a)
{
	int ret;

	if (a->id >= S2K_MAX_SLOTS)
		return -EINVAL;
	mutex_lock(&vm->slots_mutex);
	/* Zaps the slot's range once no fault that saw it can install. */
	ret = s2_vm_delete_memslot(vm->core, a->id);
	if (!ret)
		vm->slot_used[a->id] = false;
	mutex_unlock(&vm->slots_mutex);
	return ret;
}

static int s2k_dirty_log(struct s2k_vm *vm, const struct s2k_dirty *d)
{
	struct s2k_slot *s;
	u32 flags;
	int ret;

	if (d->id >= S2K_MAX_SLOTS)
		return -EINVAL;
	mutex_lock(&vm->slots_mutex);
	s = &vm->slots[d->id];
	if (!vm->slot_used[d->id]) {
		ret = -ENOENT;
		goto out;
	}
	flags = d->enable ? s->flags | S2K_SLOT_DIRTY_LOG : s->flags & ~S2K_SLOT_DIRTY_LOG;
	/* Same geometry, new flags: turning logging on write-protects the
	 * slot and starts a clean bitmap. */
	ret = s2_vm_set_memslot(vm->core, s->id, s2_gpa(s->gpa), s->size, s2_hva(s->hva),
				s2k_core_flags(flags));
	if (!ret)
		s->flags = flags;
out:
	mutex_unlock(&vm->slots_mutex);
	return ret;
}

static int s2k_get_dirty(struct s2k_vm *vm, struct s2k_dirty *d)
{
	u64 *bm;
	size_t words;
	int ret;

	if (d->id >= S2K_MAX_SLOTS || !d->words || d->words > (1ULL << 24))
		return -EINVAL;
	words = d->words;
	bm = kvcalloc(words, sizeof(u64), GFP_KERNEL_ACCOUNT);
	if (!bm)
		return -ENOMEM;
	ret = s2_vm_get_dirty_log(vm->core, d->id, bm, words);
	if (!ret) {
		d->set = bitmap_weight((unsigned long *)bm, words * 64);
		if (copy_to_user((void __user *)(uintptr_t)d->bitmap, bm, words * sizeof(u64)))
			ret = -EFAULT;
	}
	kvfree(bm);
	return ret;
}

static int s2k_age(struct s2k_vm *vm, struct s2k_age *a)
{
	const struct s2k_slot *s = NULL;
	unsigned long hva;
	int i;

	if (!a->size || a->kind > S2K_AGE_CLEAR_FLUSH)
		return -EINVAL;
	mutex_lock(&vm->slots_mutex);
	for (i = 0; i < S2K_MAX_SLOTS; i++)
		if (vm->slot_used[i] && a->gpa >= vm->slots[i].gpa &&
		    a->gpa + a->size <= vm->slots[i].gpa + vm->slots[i].size)
			s = &vm->slots[i];
	if (!s) {
		mutex_unlock(&vm->slots_mutex);
		return -EINVAL;
	}
	hva = s->hva + (a->gpa - s->gpa);
	mutex_unlock(&vm->slots_mutex);
	/* The handlers the host's aging would call, on the same hva range. */
	if (a->kind == S2K_AGE_TEST)
		a->young = s2_vm_mn_test_young(vm->core, s2_hva(hva), s2_hva(hva + a->size));
	else if (a->kind == S2K_AGE_CLEAR)
		a->young = s2_vm_mn_clear_young(vm->core, s2_hva(hva), s2_hva(hva + a->size));
	else
		a->young = s2_vm_mn_clear_flush_young(vm->core, s2_hva(hva),
						      s2_hva(hva + a->size));
	return 0;
}

/* ---- character device -------------------------------------------------- */

static void s2k_stats(struct s2k_vm *vm, struct s2k_stats *st)
{
	struct s2k_count_arg cnt;
	struct s2_vm_stats cs;
	struct s2_pgtable *pgt;
	int i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < S2K_EV_NR; i++)
		st->ev[i] = atomic64_read(&vm->ev[i]);
	for (i = 0; i < S2K_NR_REASONS; i++)
		st->inv_reason[i] = atomic64_read(&vm->inv_reason[i]);
	for (i = 0; i < S2K_ST_NR; i++)
		st->stat[i] = atomic64_read(&vm->stat[i]);
	s2_vm_get_stats(vm->core, &cs);
	st->stat[S2K_ST_MAP] = cs.installs;
	st->stat[S2K_ST_ZAP] = cs.zapped_bytes >> PAGE_SHIFT;
	st->stat[S2K_ST_RETRY_RACE] = cs.retries[S2_RETRY_RACE];
	st->stat[S2K_ST_RETRY_MEMSLOT] = cs.retries[S2_RETRY_MEMSLOT];
	st->stat[S2K_ST_RELAX] = cs.relaxes;
	st->stat[S2K_ST_YOUNG_FAULT] = cs.young_faults;
	st->stat[S2K_ST_BLOCKS] = cs.blocks;
	st->stat[S2K_ST_SPURIOUS] = cs.spurious_retries;
	st->stat[S2K_ST_AFTER_RELEASE] = cs.after_release;
	st->stat[S2K_ST_DIRTY_PAGES] = cs.dirty_pages;
	st->stat[S2K_ST_HARVESTS] = cs.harvests;
	st->stat[S2K_ST_AGE_CALLS] = cs.age_calls;
	st->stat[S2K_ST_SLOT_UPDATES] = cs.memslot_updates;
	rcu_read_lock();
	pgt = s2_vm_pgtable(vm->core);
	st->stat[S2K_ST_TABLES] = pgt ? READ_ONCE(pgt->nr_tables) : 0;
	rcu_read_unlock();
	s2k_count_leaves(vm, &cnt);
	st->entries = cnt.leaves;
	st->entries_pages = cnt.pages;
	st->released = READ_ONCE(vm->released);
}

/* The vCPU page caches: pages chained through their first word
 * (include/s2mmu/pgtable.h), from our alloc_page hook. */
static void s2k_mc_drain(struct s2k_vm *vm, struct s2_memcache *mc)
{
	while (mc->head) {
		void *p = mc->head;

		mc->head = *(void **)p;
		mc->nr--;
		/* parenthesised: <linux/gfp.h> has a free_page() macro */
		(s2k_platform.free_page)(vm, p, PAGE_SHIFT);
	}
}

static int s2k_open(struct inode *inode, struct file *file)
{
	struct s2_vm_cfg cfg = {
		.pgt = {
			/* The module runs on x86: an EPT-format stage 2 with
			 * accessed/dirty flags, so aging has an access flag to
			 * test and clear (the format is only data here). */
			.format = S2_FMT_EPT,
			.granule_shift = PAGE_SHIFT,
			.ia_bits = S2K_IA_BITS,
			.flags = S2_PGT_EPT_AD,
			.plat = &s2k_platform,
		},
		.host = &s2k_host_ops,
		.max_slots = S2K_MAX_SLOTS,
	};
	struct s2k_vm *vm;
	int i, ret;

	if (!current->mm)
		return -EINVAL;
	vm = kvzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return -ENOMEM;
	mutex_init(&vm->slots_mutex);
	spin_lock_init(&vm->last_lock);
	spin_lock_init(&vm->inv_lock);
	for (i = 0; i < S2K_MAX_VCPUS; i++) {
		spin_lock_init(&vm->vcpu[i].lock);
		mutex_init(&vm->vcpu[i].run);
	}
	vm->mm = current->mm;
	cfg.pgt.plat_ctx = vm;
	cfg.host_ctx = vm;
	ret = s2_vm_create(&cfg, &vm->core);
	if (ret) {
		kvfree(vm);
		return ret;
	}
	vm->mn.ops = &s2k_mn_ops;
	/* Takes its own mmgrab on the mm, dropped by unregister. */
	ret = mmu_notifier_register(&vm->mn, current->mm);
	if (ret) {
		s2_vm_destroy(vm->core);
		kvfree(vm);
		return ret;
	}
	file->private_data = vm;
	return 0;
}

static int s2k_release(struct inode *inode, struct file *file)
{
	struct s2k_vm *vm = file->private_data;
	int i;

	WRITE_ONCE(vm->closing, true);
	/*
	 * Calls ->release unless exit_mmap already did, then waits (SRCU)
	 * until no callback of ours runs anywhere: only then may the VM go
	 * (s2_vm_destroy's contract).  No ioctl runs: the file's last
	 * reference is gone, so no fault is in flight either.
	 */
	mmu_notifier_unregister(&vm->mn, vm->mm);
	for (i = 0; i < S2K_MAX_VCPUS; i++)
		s2k_mc_drain(vm, &vm->vcpu[i].mc);
	s2_vm_destroy(vm->core);
	kvfree(vm);
	return 0;
}

static long s2k_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct s2k_vm *vm = file->private_data;
	void __user *uarg = (void __user *)arg;
	int ret;

	switch (cmd) {
	case S2K_SLOT_ADD:
	case S2K_SLOT_DEL: {
		struct s2k_slot s;

		if (copy_from_user(&s, uarg, sizeof(s)))
			return -EFAULT;
		/* Memslots describe the opener's address space only. */
		if (current->mm != vm->mm)
			return -EPERM;
		return cmd == S2K_SLOT_ADD ? s2k_slot_add(vm, &s) : s2k_slot_del(vm, &s);
	}
	case S2K_ACCESS: {
		struct s2k_access a;

		if (copy_from_user(&a, uarg, sizeof(a)))
			return -EFAULT;
		ret = s2k_access(vm, &a);
		if (copy_to_user(uarg, &a, sizeof(a)))
			return -EFAULT;
		return ret;
	}
	case S2K_STATS: {
		struct s2k_stats st;

		s2k_stats(vm, &st);
		return copy_to_user(uarg, &st, sizeof(st)) ? -EFAULT : 0;
	}
	case S2K_VERIFY: {
		struct s2k_verify *v = kzalloc(sizeof(*v), GFP_KERNEL);

		if (!v)
			return -ENOMEM;
		if (copy_from_user(v, uarg, sizeof(*v))) {
			kfree(v);
			return -EFAULT;
		}
		ret = s2k_verify(vm, v);
		if (!ret && copy_to_user(uarg, v, sizeof(*v)))
			ret = -EFAULT;
		kfree(v);
		return ret;
	}
	case S2K_DIRTY_LOG:
	case S2K_GET_DIRTY: {
		struct s2k_dirty d;

		if (copy_from_user(&d, uarg, sizeof(d)))
			return -EFAULT;
		if (cmd == S2K_DIRTY_LOG)
			return s2k_dirty_log(vm, &d);
		ret = s2k_get_dirty(vm, &d);
		if (!ret && copy_to_user(uarg, &d, sizeof(d)))
			ret = -EFAULT;
		return ret;
	}
	case S2K_AGE: {
		struct s2k_age a;

		if (copy_from_user(&a, uarg, sizeof(a)))
			return -EFAULT;
		ret = s2k_age(vm, &a);
		if (!ret && copy_to_user(uarg, &a, sizeof(a)))
			ret = -EFAULT;
		return ret;
	}
	}
	return -ENOTTY;
}

static const struct file_operations s2k_fops = {
	.owner		= THIS_MODULE,
	.open		= s2k_open,
	.release	= s2k_release,
	.unlocked_ioctl	= s2k_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice s2k_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "s2mmu",
	.fops	= &s2k_fops,
	.mode	= 0666,
};

static int __init s2k_init(void)
{
	int ret = s2k_platform_init();

	if (ret)
		return ret;
	ret = misc_register(&s2k_misc);
	if (ret) {
		s2k_platform_exit();
		return ret;
	}
	pr_info("loaded: /dev/s2mmu, s2mmu library stage 2 (EPT 4-level, A/D), %d vCPU TLBs of %d entries\n",
		S2K_MAX_VCPUS, S2K_TLB_ENTRIES);
	return 0;
}

static void __exit s2k_exit(void)
{
	misc_deregister(&s2k_misc);
	/* Our notifier ops may still be queued for SRCU callbacks. */
	mmu_notifier_synchronize();
	s2k_platform_exit();
}

module_init(s2k_init);
module_exit(s2k_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("s2mmu: secondary MMU driven by MMU notifiers, with a coherence verifier");
