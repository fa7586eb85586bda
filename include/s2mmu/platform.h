/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Platform hooks: everything the library needs from its embedder.
 *
 * The core (src/format, src/pgtable, src/mmu) calls nothing else: no libc,
 * no allocator, no locks of its own.  A hypervisor at EL2, a Linux module
 * and the hosted user-space platform (src/hosted) each fill one of these.
 *
 * Concurrency of the hooks themselves:
 *
 *   hook                         | may be called concurrently with itself
 *   -----------------------------+----------------------------------------
 *   alloc_page / free_page       | yes (shared walks allocate from caches,
 *                                |  but top-ups run outside the lock)
 *   page_ref_add                 | yes, must be atomic
 *   defer_free                   | yes, from shared walks
 *   tlbi_*                       | yes; each must be complete on return
 *   dcache_* / icache_*          | yes
 *   lock hooks                   | by definition
 */
#ifndef S2MMU_PLATFORM_H
#define S2MMU_PLATFORM_H

#include <s2mmu/types.h>

/* tlbi_ipa flags */
#define S2_TLBI_LEAF	0x1	/* only last-level entries changed (IPAS2LE1) */
#define S2_TLBI_LOCAL	0x2	/* this CPU only (permission relaxation, NSH) */

/*
 * Called after a grace period with the page (and everything reachable from
 * it, if it is a table at @level) no longer visible to any walker.
 */
typedef void (*s2_deferred_fn)(void *owner, void *va, int level);

struct s2_platform {
	/* One zeroed granule for a table page, aligned to its size; NULL on
	 * failure.  Context: any; never called with the mmu_lock held by the
	 * library itself (the fault path tops up its cache before locking). */
	void *(*alloc_page)(void *ctx, unsigned page_shift);
	void (*free_page)(void *ctx, void *va, unsigned page_shift);

	/* Zeroed physically contiguous memory aligned to @size, for the root
	 * (the architecture concatenates up to 16 initial-level tables). */
	void *(*alloc_pages_exact)(void *ctx, size_t size);
	void (*free_pages_exact)(void *ctx, void *va, size_t size);

	/*
	 * get_page / put_page / page_count in one hook: add @delta (which may
	 * be 0 or negative) to the reference count of the table page at @va
	 * and return the new count.  A table page holds one reference for its
	 * link from the parent plus one per valid (or locked) entry, so a count
	 * of 1 means the table is empty.  Must be atomic.
	 */
	int (*page_ref_add)(void *ctx, void *va, int delta);

	/* Address conversion for table pages and guest frames.  When
	 * @linear is true the library uses pa = va + linear_offset instead
	 * of calling these on its hot paths. */
	s2_hpa_t (*virt_to_phys)(void *ctx, void *va);
	void *(*phys_to_virt)(void *ctx, s2_hpa_t pa);
	bool linear;
	int64_t linear_offset;

	/*
	 * Run @fn(@owner, @va, @level) after an RCU grace period: once every
	 * walker that might have seen @va (shared software walks inside
	 * rcu_read_lock, and hardware walkers, which the caller has already
	 * invalidated) is done.  Storage for the pending callback comes from
	 * the platform's per-page metadata, so this cannot fail.
	 */
	void (*defer_free)(void *ctx, void *va, int level, s2_deferred_fn fn,
			   void *owner);
	/* Wait until every callback passed to defer_free so far has run
	 * (rcu_barrier); used before a table's owner goes away. */
	void (*defer_barrier)(void *ctx);

	/*
	 * TLB maintenance for this VM.  Each returns only once the
	 * invalidation is complete on every CPU that may hold the entry
	 * (DSB ISH after the TLBI, Arm ARM D5.10): callers rely on that to
	 * free memory or to return from an MMU notifier (seed 004).
	 * @level is the level of the removed leaf, or -1 when unknown or when
	 * a table entry was removed (walk caches must be invalidated too).
	 *
	 * Barriers are the hooks' job: the library writes entries with plain
	 * or release stores (or a compare-and-swap) and issues no barrier
	 * of its own.  On arm64 each hook therefore:
	 *   - starts with DSB ISHST (DSB NSHST at least for S2_TLBI_LOCAL),
	 *     so the invalid or changed entry the library just stored is
	 *     visible to every table walker before the TLBI; otherwise a walk
	 *     after the TLBI can refill the old entry (Arm ARM "General TLB
	 *     maintenance requirements", break-before-make);
	 *   - ends with DSB ISH (NSH for the local forms), which completes the
	 *     TLBI everywhere, then ISB for the issuing CPU's own context;
	 *   - for tlbi_ipa and tlbi_range, follows the IPA invalidation, once
	 *     complete, with TLBI VMALLE1IS; DSB ISH; ISB: an invalidation by
	 *     IPA does not remove combined stage 1+2 entries (Arm ARM "TLB
	 *     maintenance instructions"); tlbi_vm's VMALLS12E1IS covers both.
	 * src/arch/arm64/platform.c is the reference (docs/hyp.md section 2).
	 *
	 * The embedder's part: an entry that becomes valid without a hook
	 * call after its store (an invalid entry made a leaf or linked to a
	 * new table, the "make" half of break-before-make, the access flag
	 * set by s2_pgt_mkyoung) has no barrier behind it; a permission the
	 * fault path adds is followed by the S2_TLBI_LOCAL hook, whose DSB
	 * covers it.  A table store is guaranteed to
	 * be seen by the table walker only after a DSB (Arm ARM "Ordering of
	 * memory accesses from translation table walks"), so an embedder
	 * executes DSB ISHST on the CPU that ran s2_vm_fault (or any other
	 * call that installs) before it next enters the guest there; the
	 * ERET that enters it is the context synchronization event.  A vCPU
	 * on another CPU that walks before the store is visible takes a
	 * stage-2 fault on the old invalid entry, which s2_vm_fault finds
	 * already mapped and returns 0 for: that vCPU simply re-runs.
	 * Platforms whose walks are coherent with ordinary stores (x86 EPT)
	 * need nothing here.
	 */
	void (*tlbi_ipa)(void *ctx, s2_gpa_t ipa, int level, unsigned flags);
	void (*tlbi_range)(void *ctx, s2_gpa_t ipa, uint64_t size, int level);
	void (*tlbi_vm)(void *ctx);

	/*
	 * Cache maintenance by host-physical range.  The data side is for
	 * platforms whose stage 2 is not FWB-coherent (S2_PGT_NO_FWB).  The
	 * instruction side is needed whenever a page becomes executable for
	 * the guest (mapped with X, or X added), FWB or not: FEAT_S2FWB makes
	 * the data side coherent only and does not imply CTR_EL0.DIC, so
	 * unless @icache_dic says the CPU's instruction cache needs no
	 * invalidation to PoU, icache_inval_pou is required and called
	 * (invariant I11).  x86 and DIC CPUs set @icache_dic.
	 */
	void (*dcache_clean_inval_poc)(void *ctx, s2_hpa_t pa, uint64_t size);
	void (*icache_inval_pou)(void *ctx, s2_hpa_t pa, uint64_t size);
	bool icache_dic;

	/* Small zeroed objects (VM, memslot arrays, dirty bitmaps); NULL on
	 * failure.  Never called with the mmu_lock held. */
	void *(*zalloc)(void *ctx, size_t size);
	void (*free)(void *ctx, void *p, size_t size);
	/* Let another thread run (memslot updates wait out invalidations). */
	void (*yield)(void *ctx);

	/* Reader-writer lock (the VM's mmu_lock) and RCU, used by src/mmu. */
	void *(*rwlock_new)(void *ctx);
	void (*rwlock_free)(void *ctx, void *lock);
	/*
	 * Optional (NULL: rwlock_new).  The lock that serialises memslot
	 * updates is held for write across calls that sleep (zalloc,
	 * synchronize_rcu, yield), so it cannot be a spinning lock; mmu_lock
	 * never is (notifiers may run in atomic context).  A platform whose
	 * rwlock_new spins returns a sleeping lock here, taken with
	 * write_lock / write_unlock and freed with rwlock_free, so it must
	 * tell its two kinds apart from the lock object alone.
	 */
	void *(*sleeplock_new)(void *ctx);
	void (*read_lock)(void *lock);
	void (*read_unlock)(void *lock);
	void (*write_lock)(void *lock);
	void (*write_unlock)(void *lock);
	void (*rcu_read_lock)(void *ctx);
	void (*rcu_read_unlock)(void *ctx);
	void (*synchronize_rcu)(void *ctx);

	/*
	 * Check builds only (-DS2_CHECK, include/s2mmu/check.h); leave NULL
	 * otherwise.  check_bug: is catalogue bug @id switched on;
	 * check_preempt: the scheduler may switch threads here;
	 * check_violation: the library saw invariant @inv broken.
	 */
	bool (*check_bug)(void *ctx, int id);
	void (*check_preempt)(void *ctx, const char *site);
	void (*check_violation)(void *ctx, int inv, const char *what);
};

#endif
