/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Coherence-core internals shared by the files of src/mmu. */
#ifndef S2_MMU_INTERNAL_H
#define S2_MMU_INTERNAL_H

#include <s2mmu/mmu.h>
#include <s2mmu/check.h>

#define S2_STAT_SHARDS	8

/* A slot being deleted or moved: invalidations still translate its HVAs,
 * faults may no longer map it (KVM_MEMSLOT_INVALID).  Only in the array a
 * delete or move publishes between its two publishes; both arrays are
 * allocated before the first (memslot.c prepare/commit), so no failure
 * leaves a slot INVALID. */
#define S2_SLOT_INVALID	0x100

struct s2_memslot {
	uint64_t gpa, size, hva;
	unsigned flags;
	unsigned id;
	uint64_t *dirty;	/* one bit per page while logging */
};

/* An immutable array, replaced whole and freed after a grace period:
 * once published it is never written, not even to undo a failed update. */
struct s2_memslots {
	unsigned nr;
	/* slots allocated: free() is given the size zalloc() was (an
	 * allocator with size classes, like the EL2 platform's, relies on it),
	 * and a delete leaves nr below it */
	unsigned cap;
	struct s2_memslot slot[];
};

struct s2_vm {
	struct s2_pgtable pgt_storage;
	struct s2_pgtable *pgt;		/* NULL after release; under mmu_lock */
	void *mmu_lock;
	void *slots_lock;		/* serialises memslot updates, harvests */
	struct s2_memslots *slots;	/* RCU */
	/*
	 * Bumped under mmu_lock (write) with every new slot array.  A fault
	 * samples it with its slot and checks it again under mmu_lock before
	 * installing, so a fault never installs through a slot that has since
	 * been invalidated, moved or had its flags changed, without holding a
	 * read section across resolve() (which may sleep).
	 */
	uint64_t slots_gen;
	/*
	 * Invalidation tracking (seed 000).  seq moves at every
	 * invalidate_range_end; in_progress counts starts not yet ended and
	 * [range_start, range_end) is the union of their GPA ranges: for
	 * each start, the guest range of every memslot its HVA range
	 * overlaps, computed under mmu_lock with the slot array of that time
	 * (empty, start > end, when no slot overlaps).  The fault compares
	 * its GPA, as KVM's mmu_invalidate_retry_gfn does.  By GPA is sound
	 * only because the array cannot change while in_progress is non-zero:
	 * slots_publish waits for mn_active == 0 under mmu_lock ("Block
	 * memslot updates across range_start() and range_end()").  All
	 * written under mmu_lock held for write, read under it for read.
	 */
	uint64_t seq;
	long in_progress;
	uint64_t range_start, range_end;
	long mn_active;			/* starts not yet ended, atomic */
	/*
	 * I9 with aging under mmu_lock for read (notifier.c, before age()):
	 * set for good once a clear_young has made a leaf old without a TLB
	 * flush; from then on every clear_flush_young flushes what it visits.
	 * Atomic; written once (it shares a line with what every fault
	 * reads), ordered by agers_clearing's decrement.
	 */
	bool young_unflushed;
	const struct s2_platform *plat;
	void *ctx;
	const struct s2_host_ops *host;
	void *host_ctx;
	unsigned flags;
	unsigned max_slots;
	unsigned page_shift;
	unsigned ia_bits;
	/*
	 * Counters in cache-line-separated shards: the fault path picks its
	 * shard from the vCPU's page-cache address, so parallel faults do
	 * not bounce one line between CPUs for every count (a shared counter
	 * was a measurable part of the 2-thread fault-in scaling).
	 */
	union {
		struct s2_vm_stats s;
		char pad[(sizeof(struct s2_vm_stats) + 63) / 64 * 64];
	} st[S2_STAT_SHARDS];
	/*
	 * I9 with aging under mmu_lock for read (notifier.c, before age()):
	 * the clear_young and clear_flush_young calls between their first
	 * clear and the end of their flush, so that a clear_flush_young that
	 * finds a leaf another one made old flushes it too.  Atomic: counted
	 * with acq_rel, read with acquire after a fence (the leaf that was
	 * found old is the message).  Last, after the statistics' shards,
	 * not among the fields above that every fault reads: two writes per
	 * aging call there took those lines from the faulting CPUs (aging
	 * beside two faulting threads, bench --quick, medians of 12
	 * interleaved runs: 492 -> 764 M pages/s aged, 13.9 -> 17.5 M
	 * faults/s beside).
	 */
	long agers_clearing;
};

/* Each shard a multiple of 64 bytes: shards never overlap more than the one
 * line at their boundary (struct s2_vm itself is only as aligned as the
 * platform's zalloc() makes it). */
_Static_assert(sizeof(((struct s2_vm *)0)->st[0]) % 64 == 0,
	       "stat shards are whole 64-byte lines");

#define VM_STAT(vm, f)		s2_fetch_add(&(vm)->st[0].s.f, 1)
#define VM_STAT_ADD(vm, f, n)	s2_fetch_add(&(vm)->st[0].s.f, (n))
#define VM_STAT_SH(vm, sh, f)	s2_fetch_add(&(vm)->st[(sh)].s.f, 1)

static inline unsigned stat_shard(const void *mc)
{
	return (unsigned)(((uintptr_t)mc >> 4) % S2_STAT_SHARDS);
}

/* The sizes zalloc() was given for a slot array and a dirty bitmap: free()
 * must be given the same (the platform's allocator may rely on it). */
static inline size_t slots_bytes(unsigned nr)
{
	return sizeof(struct s2_memslots) + nr * sizeof(struct s2_memslot);
}

static inline size_t bitmap_bytes(const struct s2_vm *vm, uint64_t size)
{
	return (size_t)(((size >> vm->page_shift) + 63) / 64 * 8);
}

static inline struct s2_memslots *slots_deref(struct s2_vm *vm)
{
	return s2_load_acquire(&vm->slots);
}

/* The slot containing @gpa, or NULL.  Context: RCU or slots_lock. */
static inline const struct s2_memslot *slot_find(const struct s2_memslots *ms, uint64_t gpa)
{
	unsigned i;

	for (i = 0; i < ms->nr; i++) {
		const struct s2_memslot *s = &ms->slot[i];

		if (gpa >= s->gpa && gpa - s->gpa < s->size)
			return s;
	}
	return NULL;
}

/*
 * What zaps under one hold of mmu_lock (write) still owe: the TLB
 * invalidation of every entry they removed, merged into one batch so
 * that a notifier spanning several slots or chunks invalidates once where
 * the ranges are adjacent, and the subtrees they detached, which may be
 * cleaned and freed only after that invalidation.  __s2_vm_unlock_finish
 * settles both; nothing may drop mmu_lock without it.
 */
struct s2_zap {
	struct s2_tlb_batch tb;
	struct s2_detached det;
};

static inline void s2_zap_init(struct s2_zap *z)
{
	s2_tlb_batch_init(&z->tb);
	z->det.nr = 0;
}

/* A vCPU's page cache topped up to @n pages / emptied, with the live table
 * or, after release, without.  Context: no lock held (they may sleep). */
int s2_vm_memcache_topup(struct s2_vm *vm, struct s2_memcache *mc, unsigned long n);
void s2_vm_memcache_drain(struct s2_vm *vm, struct s2_memcache *mc);
/* The __s2_ ones need mmu_lock held for write (DESIGN.md's house style);
 * __s2_vm_unlock_finish settles what they owe and drops it. */
struct s2_pgtable *__s2_vm_zap_hva(struct s2_vm *vm, struct s2_pgtable *pgt, uint64_t start,
				   uint64_t end, struct s2_zap *z);
void __s2_vm_unmap_gpa(struct s2_pgtable *pgt, uint64_t gpa, uint64_t size, struct s2_zap *z);
void __s2_vm_unlock_finish(struct s2_vm *vm, struct s2_pgtable *pgt, struct s2_zap *z);
void s2_vm_teardown(struct s2_vm *vm);
/* memslot.c: split a slot's blocks to pages, chunk by chunk (mmu_lock
 * taken and dropped per chunk; best effort). */
void s2_vm_eager_split(struct s2_vm *vm, uint64_t gpa, uint64_t size);

/* Hardware dirty logging (dirty_hw.c; mmu.h "Hardware dirty logging"). */
bool s2_vm_hw_dirty_capable(const struct s2_vm *vm);
void s2_vm_hw_dirty_start(struct s2_vm *vm, const struct s2_memslot *s);
void s2_vm_hw_dirty_stop(struct s2_vm *vm, const struct s2_memslot *s);
void __s2_vm_hw_dirty_fold(struct s2_vm *vm, struct s2_pgtable *pgt, uint64_t gpa,
			   uint64_t size);
void __s2_vm_hw_dirty_harvest(struct s2_vm *vm, struct s2_pgtable *pgt,
			      const struct s2_memslot *s, uint64_t *bitmap);

#endif
