// SPDX-License-Identifier: GPL-2.0-only
/*
 * The MMU-notifier ops the kernel calls on the VM's mm: each records the
 * event (S2K_STATS, and the last event that VERIFY and the fault path's
 * diagnostics print) and, but for change_pte, calls the library's handler
 * (s2_vm_mn_*).  The invalidate_range pair also keeps the shadow of the
 * invalidation state that VERIFY reads (struct s2k_vm).
 */
#define pr_fmt(fmt) "s2mmu: " fmt

#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/moduleparam.h>
#include <linux/spinlock.h>
#include "kmod.h"

/*
 * Injected fault, off by default: for a VM attached to another process
 * (S2K_ATTACH), withhold from the library every invalidation whose first
 * page number is a multiple of N, as a driver that lost a notifier call
 * would (I1: stage 2 must never map what the host no longer maps).  The
 * shadow VERIFY reads is still kept, so VERIFY's comparison stays valid
 * and must report the stale entries; the mirror test must then FAIL.
 * Start and end decide from the same range, so the library's in-progress
 * count stays balanced.
 */
static unsigned int inject_skip_inval;
module_param(inject_skip_inval, uint, 0644);
MODULE_PARM_DESC(inject_skip_inval, "fault injection: drop invalidations of attached VMs whose start pfn %% N == 0 (0: off)");

static bool s2k_inject_skip(struct s2k_vm *vm, const struct mmu_notifier_range *range)
{
	unsigned int n = READ_ONCE(inject_skip_inval);

	return n && vm->attached && (range->start >> PAGE_SHIFT) % n == 0;
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
	s2k_trace_inv(vm, S2K_TR_INV_START, range->start, range->end, range->event,
		      mmu_notifier_range_blockable(range));

	/*
	 * Zaps and invalidates the TLB before returning.  It only spins
	 * (mmu_lock is a rwlock_t) and never fails, so non-blockable ranges
	 * (the OOM reaper) are handled the same way.
	 */
	if (!s2k_inject_skip(vm, range))
		s2_vm_mn_invalidate_range_start(vm->core, s2_hva(range->start),
						s2_hva(range->end),
						mmu_notifier_range_blockable(range));
	return 0;
}

static void s2k_mn_invalidate_range_end(struct mmu_notifier *mn,
					const struct mmu_notifier_range *range)
{
	struct s2k_vm *vm = mn_to_vm(mn);

	atomic64_inc(&vm->ev[S2K_EV_INV_END]);
	if (!s2k_inject_skip(vm, range))
		s2_vm_mn_invalidate_range_end(vm->core, s2_hva(range->start),
					      s2_hva(range->end));
	s2k_trace_inv(vm, S2K_TR_INV_END, range->start, range->end, range->event, true);
	spin_lock(&vm->inv_lock);
	vm->inv_seq++;
	if (!WARN_ON_ONCE(vm->inv_in_progress <= 0))
		vm->inv_in_progress--;
	spin_unlock(&vm->inv_lock);
}

static void s2k_mn_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct s2k_vm *vm = mn_to_vm(mn);
	struct s2k_count_arg before;

	s2k_event(vm, S2K_EV_RELEASE, 0, ULONG_MAX);
	s2k_count_leaves(vm, &before);
	s2k_trace_inv(vm, S2K_TR_RELEASE, 0, ULONG_MAX, 0, true);
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
	s2k_trace_young(vm, S2K_TR_CFY, start, end, y);
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
	s2k_trace_young(vm, S2K_TR_CY, start, end, y);
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
	s2k_trace_young(vm, S2K_TR_TY, address, address + PAGE_SIZE, y);
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
	s2k_trace_young(mn_to_vm(mn), S2K_TR_CHANGE_PTE, address, address + PAGE_SIZE, 0);
}

const struct mmu_notifier_ops s2k_mn_ops = {
	.invalidate_range_start	= s2k_mn_invalidate_range_start,
	.invalidate_range_end	= s2k_mn_invalidate_range_end,
	.release		= s2k_mn_release,
	.clear_flush_young	= s2k_mn_clear_flush_young,
	.clear_young		= s2k_mn_clear_young,
	.test_young		= s2k_mn_test_young,
	.change_pte		= s2k_mn_change_pte,
};
