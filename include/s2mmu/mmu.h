/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The coherence core: a VM's stage-2 tables kept coherent with the host's
 * page tables, by the protocol of DESIGN.md section 4 and the seeds.
 *
 * The core talks to the host through struct s2_host_ops (resolve an HVA to
 * a frame, the lockless host mapping size, VMA facts for PFNMAP slots) and
 * is driven by the host's MMU notifiers, which the embedder wires to the
 * s2_vm_mn_* handlers below.  It registers nothing itself.
 *
 * Concurrency (mmu_lock is a reader-writer lock; faults and the three
 * aging handlers take it for read, the other notifier handlers and
 * memslot updates for write):
 *
 *   call                         | may run concurrently with
 *   -----------------------------+------------------------------------------
 *   s2_vm_fault                  | everything but s2_vm_destroy; with other
 *                                |  faults and aging in parallel (shared walks)
 *   s2_vm_mn_clear_flush_young,  | everything but s2_vm_destroy; in parallel
 *    _clear_young, _test_young   |  with faults and with each other
 *   other s2_vm_mn_* handlers    | everything but s2_vm_destroy; serialised
 *                                |  with all the above by mmu_lock
 *   s2_vm_set/delete_memslot     | faults and notifiers; waits while an
 *                                |  invalidation is between start and end;
 *                                |  not with another memslot update
 *   s2_vm_get_dirty_log          | faults and notifiers; not with memslot
 *                                |  updates of the same slot
 *   s2_vm_get_stats, _pgtable    | anything
 *   s2_vm_destroy                | nothing (after the notifier is gone)
 *
 * After release (the host's exit_mmap) the table is gone: faults return
 * -S2_ENOENT and every handler returns without touching it (I4, seeds 000
 * and 001).
 */
#ifndef S2MMU_MMU_H
#define S2MMU_MMU_H

#include <s2mmu/pgtable.h>

struct s2_vm;

/* What the host says about an address, for the fault path. */
struct s2_resolved {
	s2_hpa_t pa;		/* the host frame backing the HVA's page */
	bool writable;		/* host maps it writable now (COW broken) */
	bool device;		/* PFNMAP/IO memory: no struct page, no ref */
	uint64_t cookie;	/* for put() */
};

/* Facts of the host VMA covering an address (PFNMAP prefault, seed 003). */
struct s2_vma_info {
	s2_hva_t start, end;
	bool pfnmap;
	bool writable;
	uint64_t pgoff;		/* vm_pgoff: NOT a physical address in general */
};

struct s2_host_ops {
	/*
	 * Resolve @hva for a guest access, faulting the host page in and
	 * breaking COW when @write.  Takes a reference on the frame that the
	 * core drops with put() once the stage-2 entry is installed or the
	 * fault backs off.  Return: 0, -S2_EFAULT (nothing there, or a write
	 * the host refuses), -S2_ENOMEM, -S2_EAGAIN.
	 * Context: may sleep; called without mmu_lock.
	 */
	int (*resolve)(void *host, s2_hva_t hva, bool write, struct s2_resolved *r);
	void (*put)(void *host, const struct s2_resolved *r);
	/*
	 * The size of the host mapping of @hva now (4K, 2M, 1G; 0 none), by a
	 * lockless walk that may race with THP collapse/split.  Seed 002: the
	 * core consumes it only with mmu_lock held after the retry check.
	 */
	uint64_t (*mapping_size)(void *host, s2_hva_t hva);
	/* VMA facts; optional (NULL: no PFNMAP prefault). */
	int (*vma_info)(void *host, s2_hva_t hva, struct s2_vma_info *out);
};

/* s2_vm_cfg.flags */
#define S2_VM_COUNTER_TRACKING	0x1	/* retry on any in-progress invalidation
					   (the pre-ranged scheme, a baseline) */
#define S2_VM_EAGER_SPLIT	0x2	/* enabling dirty logging splits the
					   slot's blocks to pages up front, in
					   chunks that drop mmu_lock, instead of
					   lazily on each write fault */

struct s2_vm_cfg {
	struct s2_pgt_cfg pgt;
	const struct s2_host_ops *host;
	void *host_ctx;
	unsigned flags;
	unsigned max_slots;		/* 0: 32 */
};

/* Memslot flags */
#define S2_MEM_READONLY		0x1
#define S2_MEM_DIRTY_LOG	0x2
#define S2_MEM_PREFAULT		0x4	/* map a PFNMAP slot at creation */
/*
 * Hardware dirty logging (with S2_MEM_DIRTY_LOG; the table needs
 * S2_PGT_HW_DBM on arm64 or S2_PGT_EPT_AD on EPT, else -S2_EINVAL): the
 * slot's writable leaves are writable-clean instead of write-protected,
 * the hardware records the first write in the leaf (arm64 DBM under
 * VTCR_EL2.HD: S2AP[1]; EPT: D), and s2_vm_get_dirty_log harvests that
 * state by test-and-clear with no write-protect fault.  See "Hardware
 * dirty logging" below.
 */
#define S2_MEM_DIRTY_HW		0x8

/* Access kinds for s2_vm_fault */
#define S2_ACC_READ	0x1
#define S2_ACC_WRITE	0x2
#define S2_ACC_EXEC	0x4

struct s2_fault_info {
	uint64_t size;		/* bytes mapped by the leaf installed/updated */
	s2_hpa_t pa;		/* frame the faulting page now maps */
	unsigned prot;		/* S2_PROT_* of the leaf */
	int retry_cause;	/* S2_RETRY_* when -S2_EAGAIN */
};

enum {
	S2_RETRY_NONE,
	S2_RETRY_SEQ,		/* the invalidation sequence moved */
	S2_RETRY_RANGE,		/* an in-progress invalidation covers the GPA */
	S2_RETRY_RACE,		/* lost a compare-and-exchange to another walker */
	S2_RETRY_HOST,		/* resolve said -EAGAIN */
	S2_RETRY_MEMSLOT,	/* the memslots changed during the fault */
	S2_NR_RETRY,
};

struct s2_vm_stats {
	uint64_t faults;		/* calls of s2_vm_fault */
	uint64_t installs;		/* new leaves */
	uint64_t relaxes;		/* permission faults on present leaves */
	uint64_t young_faults;		/* access-flag faults */
	uint64_t retries[S2_NR_RETRY];
	uint64_t spurious_retries;	/* retried with no overlapping invalidation */
	uint64_t blocks;		/* leaves larger than a page installed */
	uint64_t efault;		/* no slot, or write to a read-only slot */
	uint64_t after_release;		/* faults or handlers after release */
	uint64_t invalidations;		/* invalidate_range_start calls */
	uint64_t zapped_bytes;		/* IPA bytes unmapped by invalidations */
	uint64_t age_calls;		/* clear_flush_young/clear_young/test_young */
	uint64_t dirty_pages;		/* bits set in dirty bitmaps */
	uint64_t harvests;
	uint64_t memslot_updates;
	uint64_t releases;
};

/**
 * s2_vm_create - a VM with an empty stage-2 table and no memslots.
 * Return: 0 with *@out set; -S2_EINVAL bad configuration; -S2_ENOMEM.
 * Context: any.
 */
int s2_vm_create(const struct s2_vm_cfg *cfg, struct s2_vm **out);

/**
 * s2_vm_destroy - the VM's last reference is gone (seed 001's first path):
 * tear down what release has not, free everything.
 * Return: nothing; @vm is gone.  NULL is ignored.
 * Context: the embedder's notifier is unregistered (so no handler runs or
 * will run) and no fault is in flight; sleeps (a grace period).
 */
void s2_vm_destroy(struct s2_vm *vm);

/**
 * s2_vm_set_memslot - create slot @id, or move / change the flags of it:
 * [@gpa, @gpa+@size) maps [@hva, ...).  A moved slot's old range is zapped
 * first.  Enabling S2_MEM_DIRTY_LOG write-protects the slot and starts a
 * clean bitmap; with S2_MEM_DIRTY_HW it makes the slot's writable leaves
 * writable-clean instead (see "Hardware dirty logging").
 * Return: 0; -S2_EINVAL (@vm NULL, misaligned, zero size, a range that
 * wraps, unknown flag, read-only with dirty logging, S2_MEM_DIRTY_HW
 * without S2_MEM_DIRTY_LOG or on a table with neither S2_PGT_HW_DBM nor
 * S2_PGT_EPT_AD, @id out of range, a move combined with a flag change); -S2_ERANGE (beyond the IPA size);
 * -S2_EEXIST (overlaps another slot); -S2_ENOSPC (a create beyond
 * max_slots); -S2_ENOMEM; -S2_ENOENT (the VM was released).  On error
 * nothing changed, neither the slots nor the stage-2 table: every
 * allocation is made before the first change.  Eager split and PFNMAP
 * prefault after the update are best effort (what they skip faults in).
 * Context: sleeps; waits for in-progress invalidations to end (a memslot
 * never changes between invalidate_range_start and _end).
 */
int s2_vm_set_memslot(struct s2_vm *vm, unsigned id, s2_gpa_t gpa, uint64_t size,
		      s2_hva_t hva, unsigned flags);

/**
 * s2_vm_delete_memslot - remove slot @id and zap its stage-2 range.
 * Return: 0; -S2_ENOENT no such slot; -S2_EINVAL @vm NULL or @id out of
 * range; -S2_ENOMEM, and then nothing changed (the slot is still there,
 * mappable, and its stage-2 range untouched).
 * Works after release too.  Context: as s2_vm_set_memslot.
 */
int s2_vm_delete_memslot(struct s2_vm *vm, unsigned id);

/**
 * s2_vm_fault - handle a stage-2 fault (translation, permission or access
 * flag) at @gpa for @access (S2_ACC_*).  @mc is the faulting vCPU's page
 * cache, topped up here before the lock is taken.
 * Return: 0 mapped (re-run the access); -S2_EAGAIN retry the fault (an
 * invalidation raced, see info->retry_cause); -S2_EFAULT no memslot or a
 * write to a read-only slot or host mapping (exit to the VMM);
 * -S2_ENOENT the VM was released; -S2_ENOMEM (nothing changed);
 * -S2_EINVAL @vm or @mc NULL, no or an unknown @access bit; -S2_ERANGE
 * @gpa beyond the IPA size.
 * Context: takes mmu_lock for read; may sleep in resolve().
 */
int s2_vm_fault(struct s2_vm *vm, s2_gpa_t gpa, unsigned access,
		struct s2_memcache *mc, struct s2_fault_info *info);

/*
 * MMU-notifier handlers.  Ranges are host-virtual [start, end).  Every
 * handler ignores NULL @vm and, after release, does nothing.  Each one's
 * Return and Context follow.
 */

/* invalidate_range_start: zap every stage-2 mapping of the range and
 * invalidate the TLBs before returning; until the matching _end, faults
 * on the range's guest image (its GPAs through the memslots of this
 * start, which cannot change before the end) retry.
 * Return: 0; -S2_EINVAL for @vm NULL or an empty range (0 after release).
 * Context: takes mmu_lock for write; between chunks of a large range it
 * drops the lock and calls the platform's yield.  @blockable is not used
 * (nothing else here can sleep). */
int s2_vm_mn_invalidate_range_start(struct s2_vm *vm, s2_hva_t start, s2_hva_t end,
				    bool blockable);
/* invalidate_range_end: the range's faults may install again.  An end with
 * no start is ignored.  Return: nothing.  Context: takes mmu_lock for
 * write; never sleeps. */
void s2_vm_mn_invalidate_range_end(struct s2_vm *vm, s2_hva_t start, s2_hva_t end);
/* release (exit_mmap): zap everything and free the table; later calls of
 * every entry point cope.  Return: nothing.  Context: takes mmu_lock for
 * write to unpublish the table, then sleeps in a grace period
 * (synchronize_rcu) before freeing it. */
void s2_vm_mn_release(struct s2_vm *vm);
/* clear_flush_young: make the range's leaves old and invalidate the TLBs
 * of what it made old before returning (I9); also of leaves it finds old
 * while another clear_flush_young or clear_young that may have made them
 * old is still running, and, once a clear_young has left leaves old
 * without a flush, of every range it visits.  A leaf a fault changes in
 * more than its access and write bits between our read and our
 * compare-and-exchange keeps its access flag (and counts as young); one
 * a fault is replacing is skipped (its new leaf is made young).
 * Return: whether any leaf of the range was young; false for NULL @vm, an
 * empty range or after release.  Context: takes mmu_lock for read
 * (compare-and-exchange on the leaves, inside RCU); runs in parallel with
 * faults and the other aging handlers; never sleeps. */
bool s2_vm_mn_clear_flush_young(struct s2_vm *vm, s2_hva_t start, s2_hva_t end);
/* clear_young: make the range's leaves old, with no TLB invalidation (the
 * caller accepts that accesses through cached translations go unseen).
 * Return: as clear_flush_young.  Context: as clear_flush_young. */
bool s2_vm_mn_clear_young(struct s2_vm *vm, s2_hva_t start, s2_hva_t end);
/* test_young: change nothing.  Return: whether any leaf of the range is
 * young; false for NULL @vm, an empty range or after release.
 * Context: as clear_flush_young. */
bool s2_vm_mn_test_young(struct s2_vm *vm, s2_hva_t start, s2_hva_t end);

/**
 * s2_vm_get_dirty_log - harvest slot @id's dirty bitmap into @bitmap (one
 * bit per page, @words 64-bit words), clear it and write-protect the
 * harvested pages again; TLBs are invalidated before return, so every
 * write after return faults and is recorded (I7).  With S2_MEM_DIRTY_HW
 * the slot's leaves are tested and cleaned instead of write-protected
 * (writable-clean again, no fault needed), and what the hardware recorded
 * is reported with the bitmap's bits.
 * Return: 0; -S2_ENOENT no such slot; -S2_EINVAL @vm or @bitmap NULL,
 * not logging, or @words too small.
 * Context: takes mmu_lock for write.
 */
int s2_vm_get_dirty_log(struct s2_vm *vm, unsigned id, uint64_t *bitmap, size_t words);

/*
 * Hardware dirty logging (S2_MEM_DIRTY_LOG | S2_MEM_DIRTY_HW).  KVM arm64
 * has no such mode; the protocol, proved for I7 in the checker's hardware
 * model (docs/bugs.md), is:
 *  - enable (the flag set by s2_vm_set_memslot, logging newly on or kept):
 *    after the new slot is published, the slot's blocks are split to
 *    pages with S2_VM_EAGER_SPLIT (otherwise made read-only: their first
 *    write faults, is logged through the bitmap and splits lazily), and
 *    every writable page leaf is made writable-clean (a page the bitmap
 *    mode left read-only stays so until its first write fault);
 *  - faults: a read maps the page writable-clean (when the host maps it
 *    writable), a write maps it writable and sets its bitmap bit;
 *  - s2_vm_get_dirty_log: under mmu_lock held for write, the bitmap is
 *    taken and cleared, and every leaf of the slot is tested and cleaned
 *    by compare-and-exchange (s2_pgt_test_clear_dirty), with the TLB
 *    invalidation of the cleaned leaves before return, so every write
 *    after return sets the dirty state again; the result is the union,
 *    exactly the pages written since the last harvest (reads never mark);
 *  - an invalidation (MMU notifier) first folds the dirty state of the
 *    leaves it removes into the bitmap (test-and-clear, read-only,
 *    TLB invalidated, then the zap), so a write is never lost with its
 *    leaf;
 *  - turning S2_MEM_DIRTY_HW off while logging stays on folds the slot
 *    the same way: back to write-protect logging with no write lost.
 */

/**
 * s2_vm_memcache_free - give a vCPU's page cache back to the platform, with
 * or without the table (after release there is none to pass to
 * s2_memcache_free).  NULL @vm or @mc is ignored.
 * Return: nothing; the cache is empty.
 * Context: the cache's owner, not during a fault that uses it; before
 * s2_vm_destroy.
 */
void s2_vm_memcache_free(struct s2_vm *vm, struct s2_memcache *mc);

/**
 * s2_vm_get_stats - a snapshot of the VM's counters (zeros for a NULL @vm;
 * nothing done for @out NULL).
 * Return: nothing; *@out filled.
 * Context: any; the counters are read one by one, not as one instant.
 */
void s2_vm_get_stats(struct s2_vm *vm, struct s2_vm_stats *out);

/*
 * The live stage-2 table, for hardware walkers (the machine model, a
 * real VTTBR).  Return: the table, NULL once released (and for @vm NULL).
 * Context: read it under rcu_read_lock;
 * table pages it reaches stay readable until a grace period passes.
 */
struct s2_pgtable *s2_vm_pgtable(struct s2_vm *vm);

/* Translate @gpa to its HVA through the memslots.  @hva and @slot_flags
 * may be NULL.  Return: true and the HVA (and slot flags), or false if no
 * memslot holds @gpa or @vm is NULL.  Context: any; it reads the
 * memslots under the RCU read lock. */
bool s2_vm_gpa_to_hva(struct s2_vm *vm, s2_gpa_t gpa, s2_hva_t *hva, unsigned *slot_flags);

#endif
