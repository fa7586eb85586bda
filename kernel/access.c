// SPDX-License-Identifier: GPL-2.0-only
/*
 * A guest access, done the way a vCPU's hardware does it: the vCPU's
 * software TLB, then the stage-2 table, and on a fault s2_vm_fault and
 * another try.  The software TLB is invalidated by the library's TLB
 * hooks (platform_kernel.c) through s2k_tlb_invalidate.
 *
 * Frame safety of an access.  The load or store itself happens under the
 * vCPU's TLB lock, after the translation was read under that same lock.
 * invalidate_range_start zaps the leaf and then calls the TLB hook, which
 * takes every vCPU's TLB lock before it returns: so either our lookup
 * runs after the zap's store (and misses), or the hook waits until our
 * access is done.  Either way no access touches a frame after the
 * notifier returned and the host may free it (I1, seed 004).
 */
#define pr_fmt(fmt) "s2mmu: " fmt

#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/sched/signal.h>
#include <linux/spinlock.h>
#include "kmod.h"

/* A fault that keeps losing to invalidations gives up: the caller retries
 * (guarantees the ioctl returns; I10 is about completion without an
 * overlapping invalidation, which never takes more than one retry).
 * Both bounds must pass: under qemu TCG on an oversubscribed host the
 * task inside one invalidation can be descheduled for longer than
 * 20000 quick retries take, which is slow, not a livelock. */
#define S2K_MAX_FAULT_RETRIES	20000
#define S2K_FAULT_GIVEUP	(10 * HZ)

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

/*
 * The hardware's part of an access: TLB, then a walk of the stage-2
 * table; the load or store happens under the vCPU's TLB lock (see the
 * top of this file for why that makes it safe).
 * Return: 0 done, 1 fault needed (no leaf, no write permission, or the
 * access flag clear: the hardware would raise an access-flag fault),
 * -ESRCH the table is gone.
 */
static int s2k_try_access(struct s2k_vm *vm, struct s2k_vcpu *t, u64 gpa,
			  bool write, u64 *val, unsigned long *used)
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
	*used = pfn;
	p = page_address(pfn_to_page(pfn)) + offset_in_page(gpa);
	if (write)
		WRITE_ONCE(*p, *val);
	else
		*val = READ_ONCE(*p);
	spin_unlock(&t->lock);
	return 0;
}

int s2k_access(struct s2k_vm *vm, struct s2k_access *a)
{
	bool write = a->flags & S2K_ACC_WRITE;
	struct s2_fault_info info;
	struct s2k_vcpu *t;
	unsigned long pfn = 0;
	unsigned long t0 = jiffies;
	unsigned int tries = 0;
	int ret;

	if (a->vcpu >= S2K_MAX_VCPUS || (a->flags & ~S2K_ACC_WRITE) || (a->gpa & 7))
		return -EINVAL;
	t = &vm->vcpu[a->vcpu];
	a->faults = a->retries = 0;
	if (mutex_lock_killable(&t->run))
		return -EINTR;
	for (;;) {
		ret = s2k_try_access(vm, t, a->gpa, write, &a->value, &pfn);
		if (ret <= 0)
			break;
		a->faults++;
		s2k_count(vm, S2K_ST_FAULT, 1);
		ret = s2_vm_fault(vm->core, s2_gpa(a->gpa),
				  write ? S2_ACC_WRITE : S2_ACC_READ, &t->mc, &info);
		/* a retry loop can spin thousands of times: its first retry
		 * and its outcome are recorded, the count goes in the access */
		if (ret != -S2_EAGAIN || !a->retries)
			s2k_trace_fault(vm, a->vcpu, a->gpa, write, ret, &info);
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
			if (++tries > S2K_MAX_FAULT_RETRIES &&
			    time_after(jiffies, t0 + S2K_FAULT_GIVEUP)) {
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
	s2k_trace_access(vm, a, ret, pfn);
	if (!ret)
		s2k_count(vm, S2K_ST_ACCESS, 1);
	return ret;
}
