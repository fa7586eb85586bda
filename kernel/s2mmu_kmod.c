// SPDX-License-Identifier: GPL-2.0-only
/*
 * s2mmu kernel module: a secondary MMU for a user process, driven by the
 * real kernel's MMU notifiers.
 *
 * Opening /dev/s2mmu creates a "VM" whose host memory is the opener's
 * address space.  Memslots map guest-physical ranges onto ranges of that
 * process; guest accesses go through a per-vCPU software TLB and a
 * software stage 2 (s2_shim.c, later the s2mmu library), and fault through
 * the same protocol KVM uses:
 *
 *   fault:     snapshot inv_seq -> resolve hva with get_user_pages ->
 *              take mmu_lock (read) -> back off if the sequence moved or
 *              an invalidation overlapping hva is in progress -> map
 *   notifier:  invalidate_range_start: in_progress++, widen the range,
 *              zap + TLB-invalidate under mmu_lock (write) before return;
 *              invalidate_range_end: inv_seq++, in_progress--
 *
 * so no guest access ever uses a frame the host unmapped once
 * invalidate_range_start has returned (DESIGN.md I1).  VERIFY compares
 * every stage-2 entry with what the process's page tables map now.
 *
 * Teardown (seed 001): the notifier's release (exit_mmap, or our own
 * unregister on close) zaps everything and marks the VM released under
 * mmu_lock; every later fault, aging call or access checks that flag, so
 * release may run while accesses from other tasks holding the file are in
 * flight.
 *
 * Lock order: mmap_lock -> mmu_lock -> (xarray lock, TLB lock).  mmu_lock
 * is never held while taking the host's page-table lock, because
 * clear_flush_young and change_pte are called with that lock held.
 */
#define pr_fmt(fmt) "s2mmu: " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/pgtable.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <s2mmu/platform.h>
#include "s2_shim.h"
#include "s2k.h"
#include "s2mmu_uapi.h"

#define S2K_TLB_ENTRIES	64	/* per vCPU, direct mapped */
/* A fault that keeps losing to invalidations gives up: the caller retries
 * (guarantees the ioctl returns; I10 is about completion without
 * overlapping invalidation, which never takes more than one retry). */
#define S2K_MAX_FAULT_RETRIES	20000

struct s2k_tlbe {
	u64 gfn;
	unsigned long pfn;
	bool valid;
	bool writable;
};

struct s2k_tlb {
	spinlock_t lock;	/* fills from concurrent accesses */
	struct s2k_tlbe e[S2K_TLB_ENTRIES];
};

struct s2k_memslot {
	bool used;
	u32 flags;
	u64 gfn;		/* first guest frame */
	u64 npages;
	unsigned long hva;
};

struct s2k_last_event {
	u32 kind;		/* enum s2k_event */
	unsigned long start, end;
};

struct s2k_vm {
	struct mmu_notifier mn;
	struct mm_struct *mm;	/* kept alive by the registration's mmgrab */

	/*
	 * mmu_lock protects the stage-2 contents against the notifiers, the
	 * invalidation state below, @released and the memslot array
	 * (readers may use either side of the lock; writers hold it for
	 * write and slots_mutex).
	 */
	rwlock_t mmu_lock;
	unsigned long inv_seq;		/* bumped at invalidate_range_end */
	long inv_in_progress;		/* starts without their end yet */
	unsigned long inv_start, inv_end;	/* union of those ranges (hva) */
	bool released;			/* stage 2 gone for good */
	bool closing;			/* release caused by our unregister */

	struct mutex slots_mutex;
	struct s2k_memslot slots[S2K_MAX_SLOTS];

	struct s2_shim *s2;
	struct s2k_tlb tlb[S2K_MAX_VCPUS];

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

/* ---- software TLB ----------------------------------------------------- */

void s2k_tlb_invalidate(struct s2k_vm *vm, u64 ipa, u64 size)
{
	u64 first = ipa >> PAGE_SHIFT;
	u64 last = size ? (ipa + size - 1) >> PAGE_SHIFT : U64_MAX;
	int c, i;

	s2k_count(vm, S2K_ST_TLB_FLUSH, 1);
	for (c = 0; c < S2K_MAX_VCPUS; c++) {
		struct s2k_tlb *t = &vm->tlb[c];

		/* Taking each vCPU's lock is what makes the invalidation
		 * complete on return: a fill in flight finishes first. */
		spin_lock(&t->lock);
		for (i = 0; i < S2K_TLB_ENTRIES; i++)
			if (t->e[i].valid && t->e[i].gfn >= first && t->e[i].gfn <= last)
				t->e[i].valid = false;
		spin_unlock(&t->lock);
	}
}

/* ---- memslots ---------------------------------------------------------- */

/* Context: mmu_lock held (either side) or slots_mutex. */
static const struct s2k_memslot *s2k_slot_by_gfn(struct s2k_vm *vm, u64 gfn)
{
	int i;

	for (i = 0; i < S2K_MAX_SLOTS; i++) {
		const struct s2k_memslot *s = &vm->slots[i];

		if (s->used && gfn >= s->gfn && gfn - s->gfn < s->npages)
			return s;
	}
	return NULL;
}

static int s2k_slot_add(struct s2k_vm *vm, const struct s2k_slot *a)
{
	u64 gfn = a->gpa >> PAGE_SHIFT, n = a->size >> PAGE_SHIFT;
	int i, ret = 0;

	if (a->id >= S2K_MAX_SLOTS || !a->size || (a->flags & ~S2K_SLOT_READONLY) ||
	    !PAGE_ALIGNED(a->gpa) || !PAGE_ALIGNED(a->hva) || !PAGE_ALIGNED(a->size) ||
	    a->gpa + a->size < a->gpa || a->hva + a->size < a->hva ||
	    !access_ok((void __user *)(unsigned long)a->hva, a->size))
		return -EINVAL;

	mutex_lock(&vm->slots_mutex);
	if (vm->slots[a->id].used) {
		ret = -EEXIST;
		goto out;
	}
	for (i = 0; i < S2K_MAX_SLOTS; i++) {
		const struct s2k_memslot *s = &vm->slots[i];

		if (s->used && gfn < s->gfn + s->npages && s->gfn < gfn + n) {
			ret = -EEXIST;
			goto out;
		}
	}
	/* Nothing in stage 2 can map the new range yet: no zap needed. */
	write_lock(&vm->mmu_lock);
	vm->slots[a->id] = (struct s2k_memslot){
		.used = true, .flags = a->flags, .gfn = gfn, .npages = n,
		.hva = a->hva,
	};
	write_unlock(&vm->mmu_lock);
out:
	mutex_unlock(&vm->slots_mutex);
	return ret;
}

static int s2k_slot_del(struct s2k_vm *vm, const struct s2k_slot *a)
{
	struct s2k_memslot *s;
	unsigned long n;

	if (a->id >= S2K_MAX_SLOTS)
		return -EINVAL;
	mutex_lock(&vm->slots_mutex);
	s = &vm->slots[a->id];
	if (!s->used) {
		mutex_unlock(&vm->slots_mutex);
		return -ENOENT;
	}
	write_lock(&vm->mmu_lock);
	s->used = false;
	/* memslot_delete_no_zap: a deleted slot keeps no translations. */
	n = s2_shim_unmap(vm->s2, s->gfn, s->npages);
	/*
	 * A fault that looked the slot up before we removed it must not
	 * install through it: moving the sequence makes it back off (the
	 * role of KVM's memslot generation).
	 */
	vm->inv_seq++;
	write_unlock(&vm->mmu_lock);
	mutex_unlock(&vm->slots_mutex);
	s2k_count(vm, S2K_ST_ZAP, n);
	return 0;
}

/* ---- MMU notifier ------------------------------------------------------ */

static struct s2k_vm *mn_to_vm(struct mmu_notifier *mn)
{
	return container_of(mn, struct s2k_vm, mn);
}

/*
 * Zap the stage-2 frames that map [start, end) of the host.
 * Context: mmu_lock held for write.
 */
static unsigned long s2k_zap_hva(struct s2k_vm *vm, unsigned long start,
				 unsigned long end)
{
	unsigned long n = 0;
	int i;

	for (i = 0; i < S2K_MAX_SLOTS; i++) {
		const struct s2k_memslot *s = &vm->slots[i];
		unsigned long s_end, a, b;

		if (!s->used)
			continue;
		s_end = s->hva + (s->npages << PAGE_SHIFT);
		a = max(start, s->hva);
		b = min(end, s_end);
		if (a >= b)
			continue;
		n += s2_shim_unmap(vm->s2, s->gfn + ((a - s->hva) >> PAGE_SHIFT),
				   (b - a + PAGE_SIZE - 1) >> PAGE_SHIFT);
	}
	return n;
}

static int s2k_mn_invalidate_range_start(struct mmu_notifier *mn,
					 const struct mmu_notifier_range *range)
{
	struct s2k_vm *vm = mn_to_vm(mn);
	unsigned long n = 0;

	s2k_event(vm, S2K_EV_INV_START, range->start, range->end);
	if ((unsigned int)range->event < S2K_NR_REASONS)
		atomic64_inc(&vm->inv_reason[range->event]);

	/*
	 * Never fails and never sleeps (a spinning lock, no allocation), so
	 * non-blockable ranges from the OOM reaper are handled the same way.
	 */
	write_lock(&vm->mmu_lock);
	/*
	 * Union, not overwrite (range_add_overwrite): with two invalidations
	 * in flight, the first one's range must stay covered until the last
	 * end, or a fault inside it could install a dying frame.
	 */
	if (!vm->inv_in_progress) {
		vm->inv_start = range->start;
		vm->inv_end = range->end;
	} else {
		vm->inv_start = min(vm->inv_start, range->start);
		vm->inv_end = max(vm->inv_end, range->end);
	}
	vm->inv_in_progress++;
	/* After release the table is gone; the counters above still
	 * balance with invalidate_range_end. */
	if (!vm->released)
		n = s2k_zap_hva(vm, range->start, range->end);
	/* s2_shim_unmap invalidated the TLBs before returning (tlbi_after_return). */
	write_unlock(&vm->mmu_lock);
	s2k_count(vm, S2K_ST_ZAP, n);
	return 0;
}

static void s2k_mn_invalidate_range_end(struct mmu_notifier *mn,
					const struct mmu_notifier_range *range)
{
	struct s2k_vm *vm = mn_to_vm(mn);

	atomic64_inc(&vm->ev[S2K_EV_INV_END]);
	write_lock(&vm->mmu_lock);
	/*
	 * Sequence first: a fault that sampled the old value and now sees
	 * in_progress drop to zero must still see the sequence moved.  Both
	 * change under the write lock, which the fault's check holds for
	 * read, so the two are seen together.
	 */
	vm->inv_seq++;
	if (!WARN_ON_ONCE(vm->inv_in_progress <= 0))
		vm->inv_in_progress--;
	write_unlock(&vm->mmu_lock);
}

static void s2k_mn_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct s2k_vm *vm = mn_to_vm(mn);
	unsigned long n;
	bool closing;

	s2k_event(vm, S2K_EV_RELEASE, 0, ULONG_MAX);
	write_lock(&vm->mmu_lock);
	closing = vm->closing;
	vm->released = true;
	n = s2_shim_unmap(vm->s2, 0, U64_MAX >> PAGE_SHIFT);
	vm->inv_seq++;
	write_unlock(&vm->mmu_lock);
	s2k_count(vm, S2K_ST_ZAP, n);
	pr_info("release ran (%s): %lu stage-2 entries zapped, %lld accesses, %lld faults\n",
		closing ? "device close" : "exit_mmap", n,
		atomic64_read(&vm->stat[S2K_ST_ACCESS]),
		atomic64_read(&vm->stat[S2K_ST_FAULT]));
}

/*
 * Aging.  Called with the host's page-table lock held (folio_referenced),
 * so only spinning locks here.
 */
static int s2k_age_hva(struct s2k_vm *vm, unsigned long start, unsigned long end,
		       bool clear, bool flush)
{
	unsigned long young = 0;
	int i;

	write_lock(&vm->mmu_lock);
	/* release_null_pgt_age (seed 001): aging may race with release. */
	if (vm->released)
		goto out;
	for (i = 0; i < S2K_MAX_SLOTS; i++) {
		const struct s2k_memslot *s = &vm->slots[i];
		unsigned long s_end, a, b;
		u64 gfn, nr, y;

		if (!s->used)
			continue;
		s_end = s->hva + (s->npages << PAGE_SHIFT);
		a = max(start, s->hva);
		b = min(end, s_end);
		if (a >= b)
			continue;
		gfn = s->gfn + ((a - s->hva) >> PAGE_SHIFT);
		nr = (b - a + PAGE_SIZE - 1) >> PAGE_SHIFT;
		y = s2_shim_age(vm->s2, gfn, nr, clear);
		/* clear_flush_young: TLB entries would let accesses skip
		 * setting the flag again (I9); clear_young does not flush,
		 * as in Linux. */
		if (y && flush)
			s2k_tlb_invalidate(vm, gfn << PAGE_SHIFT, nr << PAGE_SHIFT);
		young += y;
	}
out:
	write_unlock(&vm->mmu_lock);
	s2k_count(vm, S2K_ST_YOUNG, young);
	return young != 0;
}

static int s2k_mn_clear_flush_young(struct mmu_notifier *mn, struct mm_struct *mm,
				    unsigned long start, unsigned long end)
{
	struct s2k_vm *vm = mn_to_vm(mn);

	s2k_event(vm, S2K_EV_CLEAR_FLUSH_YOUNG, start, end);
	return s2k_age_hva(vm, start, end, true, true);
}

static int s2k_mn_clear_young(struct mmu_notifier *mn, struct mm_struct *mm,
			      unsigned long start, unsigned long end)
{
	struct s2k_vm *vm = mn_to_vm(mn);

	s2k_event(vm, S2K_EV_CLEAR_YOUNG, start, end);
	return s2k_age_hva(vm, start, end, true, false);
}

static int s2k_mn_test_young(struct mmu_notifier *mn, struct mm_struct *mm,
			     unsigned long address)
{
	struct s2k_vm *vm = mn_to_vm(mn);

	s2k_event(vm, S2K_EV_TEST_YOUNG, address, address + PAGE_SIZE);
	return s2k_age_hva(vm, address, address + PAGE_SIZE, false, false);
}

/*
 * change_pte is always called between invalidate_range_start and _end of
 * a range covering @address, which already zapped our entry; KVM dropped
 * its handler for that reason.  Count it only: it runs under the host's
 * page-table lock, and the next fault maps the new frame.
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

/* ---- guest access and fault path --------------------------------------- */

/* Context: mmu_lock held for read or write. */
static bool s2k_retry_needed(struct s2k_vm *vm, unsigned long seq,
			     unsigned long hva, enum s2k_stat *why)
{
	/*
	 * ignore_in_progress (seed 000): the sequence only moves at
	 * invalidate_range_end, so an invalidation that started after our
	 * snapshot and has not ended is visible only here.
	 */
	if (vm->inv_in_progress && hva >= vm->inv_start && hva < vm->inv_end) {
		*why = S2K_ST_RETRY_RANGE;
		return true;
	}
	if (vm->inv_seq != seq) {
		*why = S2K_ST_RETRY_SEQ;
		return true;
	}
	return false;
}

/*
 * Resolve @gfn for a @write access and install it.
 * Return: 0 installed (the caller retries the access), -EAGAIN backed off
 * (retry), -EFAULT no slot / host refused, -EACCES write to a read-only
 * slot, -ESRCH the VM's mm is gone.
 */
static int s2k_fault(struct s2k_vm *vm, u64 gfn, bool write, enum s2k_stat *why)
{
	struct s2k_memslot slot;
	const struct s2k_memslot *sp;
	unsigned long seq, hva;
	struct page *page = NULL;
	bool writable = false;
	int ret, locked = 1;
	long got;

	/*
	 * seq_snapshot_late (seed 000): the snapshot must come before
	 * anything that looks at the host, so that an invalidation that
	 * completes in between is noticed.  Also before the slot lookup: a
	 * slot delete bumps the sequence.
	 */
	seq = READ_ONCE(vm->inv_seq);
	smp_rmb();

	read_lock(&vm->mmu_lock);
	if (vm->released) {
		read_unlock(&vm->mmu_lock);
		return -ESRCH;
	}
	sp = s2k_slot_by_gfn(vm, gfn);
	if (sp)
		slot = *sp;
	read_unlock(&vm->mmu_lock);
	if (!sp)
		return -EFAULT;
	/* ro_check_at_create (seed 003): checked at every fault. */
	if (write && (slot.flags & S2K_SLOT_READONLY))
		return -EACCES;
	hva = slot.hva + ((gfn - slot.gfn) << PAGE_SHIFT);

	ret = s2_shim_prepare(vm->s2, gfn);
	if (ret)
		return ret;

	/*
	 * A read may still map writable when the host pte already is
	 * writable; the fast lockless GUP never faults or breaks COW, so it
	 * tells us without changing the host (KVM's hva_to_pfn_fast).
	 */
	if (!write && current->mm == vm->mm &&
	    get_user_page_fast_only(hva, FOLL_WRITE, &page)) {
		writable = true;
	} else {
		/* Accesses may come from another task holding the file
		 * (seed 001): reach the VM's mm, unless it is exiting. */
		if (!mmget_not_zero(vm->mm)) {
			s2_shim_unprepare(vm->s2, gfn);
			return -ESRCH;
		}
		mmap_read_lock(vm->mm);
		got = get_user_pages_remote(vm->mm, hva, 1, write ? FOLL_WRITE : 0,
					    &page, NULL, &locked);
		if (locked)
			mmap_read_unlock(vm->mm);
		mmput(vm->mm);
		if (got != 1) {
			s2_shim_unprepare(vm->s2, gfn);
			s2k_count(vm, S2K_ST_HOST_EFAULT, 1);
			return -EFAULT;
		}
		writable = write;
	}

	read_lock(&vm->mmu_lock);
	if (vm->released) {
		/* release_null_pgt_fault: the table is gone, stop here. */
		ret = -ESRCH;
	} else if (s2k_retry_needed(vm, seq, hva, why)) {
		ret = -EAGAIN;
	} else {
		ret = s2_shim_map(vm->s2, gfn, page_to_pfn(page), writable);
		if (!ret)
			s2k_count(vm, S2K_ST_MAP, 1);
	}
	read_unlock(&vm->mmu_lock);
	if (ret)
		s2_shim_unprepare(vm->s2, gfn);

	/*
	 * No reference is kept: from here the MMU notifier, not a page pin,
	 * keeps the frame valid for as long as stage 2 maps it.  A writable
	 * mapping may dirty the page behind the host's back, so mark it now
	 * (reclaim unmaps, and so zaps us, before it writes a page out).
	 */
	if (writable && !ret)
		set_page_dirty_lock(page);
	put_page(page);
	return ret;
}

/*
 * Try the access through the TLB and then a stage-2 walk.
 * Return: true if done.  Context: mmu_lock held for read.
 */
static bool s2k_try_access(struct s2k_vm *vm, struct s2k_tlb *t, u64 gpa,
			   bool write, u64 *val)
{
	u64 gfn = gpa >> PAGE_SHIFT;
	struct s2k_tlbe *e = &t->e[gfn % S2K_TLB_ENTRIES];
	struct s2_shim_pte pte;
	unsigned long pfn;
	u64 *p;

	spin_lock(&t->lock);
	if (e->valid && e->gfn == gfn && (!write || e->writable)) {
		pfn = e->pfn;
		s2k_count(vm, S2K_ST_TLB_HIT, 1);
	} else {
		if (!s2_shim_lookup(vm->s2, gfn, &pte) || (write && !pte.writable)) {
			spin_unlock(&t->lock);
			return false;
		}
		/* The hardware walker sets the access flag on a fill. */
		if (!pte.young)
			s2_shim_mkyoung(vm->s2, gfn);
		*e = (struct s2k_tlbe){ .gfn = gfn, .pfn = pte.pfn, .valid = true,
					.writable = pte.writable };
		pfn = pte.pfn;
		s2k_count(vm, S2K_ST_WALK_HIT, 1);
	}
	/*
	 * The access itself happens under mmu_lock: invalidate_range_start
	 * needs the lock for write, so the host cannot free this frame
	 * until we are done with it.
	 */
	p = page_address(pfn_to_page(pfn)) + offset_in_page(gpa);
	if (write)
		WRITE_ONCE(*p, *val);
	else
		*val = READ_ONCE(*p);
	spin_unlock(&t->lock);
	return true;
}

static int s2k_access(struct s2k_vm *vm, struct s2k_access *a)
{
	bool write = a->flags & S2K_ACC_WRITE;
	struct s2k_tlb *t;
	enum s2k_stat why;
	unsigned int tries = 0;
	int ret;

	if (a->vcpu >= S2K_MAX_VCPUS || (a->flags & ~S2K_ACC_WRITE) || (a->gpa & 7))
		return -EINVAL;
	t = &vm->tlb[a->vcpu];
	a->faults = a->retries = 0;
	for (;;) {
		bool done;

		read_lock(&vm->mmu_lock);
		done = !vm->released && s2k_try_access(vm, t, a->gpa, write, &a->value);
		read_unlock(&vm->mmu_lock);
		if (done)
			break;
		a->faults++;
		s2k_count(vm, S2K_ST_FAULT, 1);
		ret = s2k_fault(vm, a->gpa >> PAGE_SHIFT, write, &why);
		if (ret == -EAGAIN) {
			a->retries++;
			s2k_count(vm, why, 1);
			if (tries == 1000)
				pr_info("slow fault at gpa %#llx: %u retries (%s): in_progress %ld range [%#lx, %#lx) seq %lu\n",
					a->gpa, tries, why == S2K_ST_RETRY_SEQ ? "seq" : "range",
					READ_ONCE(vm->inv_in_progress),
					READ_ONCE(vm->inv_start), READ_ONCE(vm->inv_end),
					READ_ONCE(vm->inv_seq));
			if (++tries > S2K_MAX_FAULT_RETRIES) {
				/* Diagnose a livelock rather than hide it. */
				pr_info("fault at gpa %#llx gave up after %u retries: in_progress %ld range [%#lx, %#lx) seq %lu last event %u\n",
					a->gpa, tries, READ_ONCE(vm->inv_in_progress),
					READ_ONCE(vm->inv_start), READ_ONCE(vm->inv_end),
					READ_ONCE(vm->inv_seq), READ_ONCE(vm->last.kind));
				return -EAGAIN;
			}
			cond_resched();
			continue;
		}
		if (ret)
			return ret;
		if (fatal_signal_pending(current))
			return -EINTR;
	}
	s2k_count(vm, S2K_ST_ACCESS, 1);
	return 0;
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
 * under us); mmu_lock NOT held (lock order with the page-table lock).
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

static void s2k_report(struct s2k_vm *vm, struct s2k_verify *v, u32 kind, u64 gfn,
		       unsigned long hva, const struct s2_shim_pte *s2,
		       const struct s2k_host_pte *h)
{
	struct s2k_violation *x;

	if (v->violations++ >= S2K_NR_VIOL)
		return;
	x = &v->v[v->violations - 1];
	x->kind = kind;
	x->gpa = gfn << PAGE_SHIFT;
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
	pr_err("VERIFY violation %u at gpa %#llx hva %#lx: stage 2 pfn %#lx%s, host pfn %#llx%s, last event %u [%#llx, %#llx)\n",
	       kind, x->gpa, hva, s2->pfn, s2->writable ? " rw" : " ro",
	       x->host_pfn, x->host_writable ? " rw" : " ro", x->last_event,
	       x->last_start, x->last_end);
}

/*
 * Check one stage-2 entry against the host.  The host walk cannot run
 * under mmu_lock, so it is validated like a seqlock read: if no
 * invalidation covering @hva started or ended between our two looks at
 * stage 2, the host's mapping of @hva could not have changed in a way
 * that requires stage 2 to change (every such change is bracketed by
 * invalidate_range_start/end), so the comparison is exact.
 * Return: true if checked, false if it kept racing.
 */
static bool s2k_verify_one(struct s2k_vm *vm, struct s2k_verify *v, u64 gfn)
{
	const struct s2k_memslot *sp;
	struct s2_shim_pte a, b;
	struct s2k_host_pte h;
	unsigned long seq, hva;
	bool ro, ok;
	enum s2k_stat why;
	int tries;

	for (tries = 0; tries < 1000; tries++) {
		read_lock(&vm->mmu_lock);
		seq = vm->inv_seq;
		sp = s2k_slot_by_gfn(vm, gfn);
		if (!s2_shim_lookup(vm->s2, gfn, &a)) {
			read_unlock(&vm->mmu_lock);
			return true;	/* zapped meanwhile: nothing to check */
		}
		if (!sp) {
			/* A translation outside every memslot is itself a
			 * bug (memslot_delete_no_zap). */
			read_unlock(&vm->mmu_lock);
			v->checked++;
			s2k_report(vm, v, S2K_VIOL_FRAME, gfn, 0, &a, NULL);
			return true;
		}
		hva = sp->hva + ((gfn - sp->gfn) << PAGE_SHIFT);
		ro = sp->flags & S2K_SLOT_READONLY;
		ok = !s2k_retry_needed(vm, seq, hva, &why);
		read_unlock(&vm->mmu_lock);
		if (!ok) {
			cond_resched();
			continue;
		}

		s2k_host_walk(vm->mm, hva, &h);

		read_lock(&vm->mmu_lock);
		ok = !s2k_retry_needed(vm, seq, hva, &why) &&
		     s2_shim_lookup(vm->s2, gfn, &b) &&
		     a.pfn == b.pfn && a.writable == b.writable;
		read_unlock(&vm->mmu_lock);
		if (!ok) {
			cond_resched();
			continue;
		}
		v->checked++;
		if (!h.present || h.pfn != a.pfn)
			s2k_report(vm, v, S2K_VIOL_FRAME, gfn, hva, &a, &h);
		else if (a.writable && (!h.writable || ro))
			s2k_report(vm, v, S2K_VIOL_PERM, gfn, hva, &a, &h);
		return true;
	}
	return false;
}

static int s2k_verify(struct s2k_vm *vm, struct s2k_verify *v)
{
	u64 gfn, last;
	struct s2_shim_pte pte;
	int c, i;

	v->checked = v->violations = v->raced = v->tlb_checked = 0;
	memset(v->v, 0, sizeof(v->v));
	gfn = v->gpa >> PAGE_SHIFT;
	last = v->size ? (v->gpa + v->size - 1) >> PAGE_SHIFT : U64_MAX >> PAGE_SHIFT;

	if (!mmget_not_zero(vm->mm)) {
		/* Exited: release zapped everything; check that it did. */
		if (s2_shim_next(vm->s2, &gfn, last, &pte))
			s2k_report(vm, v, S2K_VIOL_FRAME, gfn, 0, &pte, NULL);
		return 0;
	}
	mmap_read_lock(vm->mm);
	while (s2_shim_next(vm->s2, &gfn, last, &pte)) {
		if (!s2k_verify_one(vm, v, gfn))
			v->raced++;
		if (gfn == last)
			break;
		gfn++;
		if (fatal_signal_pending(current))
			break;
		cond_resched();
	}
	mmap_read_unlock(vm->mm);
	mmput(vm->mm);

	/*
	 * Every TLB entry must be backed by the same stage-2 entry: the TLB
	 * hooks run under mmu_lock held for write together with each zap, so
	 * a stale entry means an invalidation was skipped or deferred.
	 */
	write_lock(&vm->mmu_lock);
	for (c = 0; c < S2K_MAX_VCPUS; c++) {
		for (i = 0; i < S2K_TLB_ENTRIES; i++) {
			struct s2k_tlbe *e = &vm->tlb[c].e[i];
			struct s2_shim_pte p = { .pfn = e->pfn, .writable = e->writable };

			if (!e->valid)
				continue;
			v->tlb_checked++;
			if (!s2_shim_lookup(vm->s2, e->gfn, &pte) || pte.pfn != e->pfn ||
			    (e->writable && !pte.writable)) {
				write_unlock(&vm->mmu_lock);
				s2k_report(vm, v, S2K_VIOL_TLB, e->gfn, 0, &p, NULL);
				write_lock(&vm->mmu_lock);
			}
		}
	}
	write_unlock(&vm->mmu_lock);
	return 0;
}

/* ---- character device -------------------------------------------------- */

static void s2k_stats(struct s2k_vm *vm, struct s2k_stats *st)
{
	int i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < S2K_EV_NR; i++)
		st->ev[i] = atomic64_read(&vm->ev[i]);
	for (i = 0; i < S2K_NR_REASONS; i++)
		st->inv_reason[i] = atomic64_read(&vm->inv_reason[i]);
	for (i = 0; i < S2K_ST_NR; i++)
		st->stat[i] = atomic64_read(&vm->stat[i]);
	st->entries = s2_shim_count(vm->s2);
	st->released = READ_ONCE(vm->released);
}

static int s2k_open(struct inode *inode, struct file *file)
{
	struct s2k_vm *vm;
	int i, ret;

	if (!current->mm)
		return -EINVAL;
	vm = kvzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return -ENOMEM;
	rwlock_init(&vm->mmu_lock);
	mutex_init(&vm->slots_mutex);
	spin_lock_init(&vm->last_lock);
	for (i = 0; i < S2K_MAX_VCPUS; i++)
		spin_lock_init(&vm->tlb[i].lock);
	vm->s2 = s2_shim_create(&s2k_platform, vm);
	if (!vm->s2) {
		kvfree(vm);
		return -ENOMEM;
	}
	vm->mm = current->mm;
	vm->mn.ops = &s2k_mn_ops;
	/* Takes its own mmgrab on the mm, dropped by unregister. */
	ret = mmu_notifier_register(&vm->mn, current->mm);
	if (ret) {
		s2_shim_destroy(vm->s2);
		kvfree(vm);
		return ret;
	}
	file->private_data = vm;
	return 0;
}

static int s2k_release(struct inode *inode, struct file *file)
{
	struct s2k_vm *vm = file->private_data;
	struct mm_struct *mm = vm->mm;

	write_lock(&vm->mmu_lock);
	vm->closing = true;
	write_unlock(&vm->mmu_lock);
	/*
	 * Calls ->release unless exit_mmap already did, then waits (SRCU)
	 * until no callback of ours runs anywhere: only after that may the
	 * VM be freed.  No ioctl runs: the file's last reference is gone.
	 */
	mmu_notifier_unregister(&vm->mn, mm);
	s2_shim_destroy(vm->s2);
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
	pr_info("loaded: /dev/s2mmu, software stage 2 (shim), %d vCPU TLBs of %d entries\n",
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
