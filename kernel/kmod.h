/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The module's private declarations: the per-VM state every file of the
 * module works on, and the functions one file calls in another.  (s2k.h
 * is the narrower interface that platform_kernel.c sees.)
 *
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
 * handlers (s2_vm_mn_*), dirty logging, release (seed 001).  The module
 * supplies what only the host kernel can, one job per file:
 *
 *   chardev.c   /dev/s2mmu and its ioctls; module load and unload
 *   vm.c        a VM's lifetime, and the notifier registration on its mm
 *   host.c      resolving an hva to a frame (get_user_pages) and the host
 *               mapping level (a lockless page-table walk)
 *   notifier.c  the notifier ops, which call the library's handlers
 *   access.c    guest accesses, and the software TLB that the library's
 *               TLB hooks (platform_kernel.c) invalidate
 *   memslot.c   memslots, dirty logging, the AGE ioctl
 *   verify.c    VERIFY, which compares every stage-2 leaf with what the
 *               process's page tables map now
 *   stats.c     the S2K_STATS snapshot
 *
 * Lock order: mmap_lock -> core mmu_lock -> TLB lock.  No core lock is
 * held while VERIFY takes the host's page-table lock, because
 * clear_flush_young and change_pte are called with that lock held.
 */
#ifndef S2MMU_KERNEL_KMOD_H
#define S2MMU_KERNEL_KMOD_H

#include <linux/atomic.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <s2mmu/mmu.h>
#include "s2k.h"
#include "s2mmu_uapi.h"

#define S2K_TLB_ENTRIES	64	/* per vCPU, direct mapped */
/* EPT, 4-level: guest-physical addresses below 2^48. */
#define S2K_IA_BITS	48

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

/* A recording (trace.c): a FIFO of @cap records, @n of them from @head. */
struct s2k_trace {
	spinlock_t lock;
	bool on;
	unsigned long lo, hi;		/* the host window recorded */
	struct s2k_trace_rec *recs;
	u32 cap, head, n;
	u64 dropped;			/* lost since the last drop marker */
	u64 dropped_total;
};

struct s2k_vm {
	struct mmu_notifier mn;
	struct mm_struct *mm;	/* kept alive by the registration's mmgrab */
	struct s2_vm *core;	/* the library's VM */

	bool attached;		/* mm is a target's (S2K_ATTACH), not the opener's */
	bool nofault;		/* S2K_ATTACH_NOFAULT: resolve never faults */
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
	struct s2k_trace tr;
};

static inline void s2k_count(struct s2k_vm *vm, enum s2k_stat s, long n)
{
	atomic64_add(n, &vm->stat[s]);
}

/* vm.c */
int s2k_vm_create(struct mm_struct *mm, struct s2k_vm **out);
int s2k_vm_attach(int pidfd, struct s2k_vm **out, pid_t *nr);
void s2k_vm_destroy(struct s2k_vm *vm);

/* host.c */
extern const struct s2_host_ops s2k_host_ops;

/* notifier.c */
extern const struct mmu_notifier_ops s2k_mn_ops;

/* access.c (and s2k_tlb_invalidate, declared in s2k.h) */
int s2k_access(struct s2k_vm *vm, struct s2k_access *a);

/* memslot.c */
int s2k_slot_add(struct s2k_vm *vm, const struct s2k_slot *a);
int s2k_slot_del(struct s2k_vm *vm, const struct s2k_slot *a);
int s2k_dirty_log(struct s2k_vm *vm, const struct s2k_dirty *d);
int s2k_get_dirty(struct s2k_vm *vm, struct s2k_dirty *d);
int s2k_age(struct s2k_vm *vm, struct s2k_age *a);

/* verify.c */
int s2k_verify(struct s2k_vm *vm, struct s2k_verify *v);

/* trace.c: the hooks record only while recording is on (docs/trace.md) */
void s2k_trace_init(struct s2k_vm *vm);
void s2k_trace_free(struct s2k_vm *vm);
int s2k_trace_ctl(struct s2k_vm *vm, const struct s2k_trace_ctl *c);
int s2k_trace_read(struct s2k_vm *vm, struct s2k_trace_read *rd);
void s2k_trace_inv(struct s2k_vm *vm, u32 kind, unsigned long start, unsigned long end,
		   u32 event, bool blockable);
void s2k_trace_young(struct s2k_vm *vm, u32 kind, unsigned long start, unsigned long end,
		     int young);
void s2k_trace_fault(struct s2k_vm *vm, u32 vcpu, u64 gpa, bool write, int ret,
		     const struct s2_fault_info *info);
void s2k_trace_access(struct s2k_vm *vm, const struct s2k_access *a, int ret, u64 pfn);
void s2k_trace_slot(struct s2k_vm *vm, const struct s2k_slot *s, u32 op);
void s2k_trace_harvest(struct s2k_vm *vm, u32 id, u64 set);
void s2k_trace_age(struct s2k_vm *vm, unsigned long hva, u64 size, u32 kind, int young);
void s2k_trace_verify(struct s2k_vm *vm, int vcpu, u64 gpa, unsigned long hva, u64 s2_pfn,
		      u64 host_pfn, u32 flags);
void s2k_trace_verify_done(struct s2k_vm *vm, u64 checked, u64 violations);

/* stats.c */
struct s2k_count_arg {
	u64 leaves, pages;
};

void s2k_count_leaves(struct s2k_vm *vm, struct s2k_count_arg *a);
void s2k_stats(struct s2k_vm *vm, struct s2k_stats *st);

#endif
