/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * MMU-notifier handlers: the host tells us it is about to change (start)
 * or has changed (end) its mapping of an HVA range, or asks about and
 * clears the access state of one.
 */
#include "internal.h"

/*
 * For every memslot overlapping [start, end), apply @fn to the guest
 * range that maps it.  Context: mmu_lock held, for read or write; the slot
 * array cannot change under us (memslot updates take mmu_lock for write
 * and wait for in-progress invalidations).
 */
static bool for_each_gpa(struct s2_vm *vm, uint64_t start, uint64_t end,
			 bool (*fn)(struct s2_vm *vm, struct s2_pgtable *pgt, uint64_t gpa,
				    uint64_t size, void *arg),
			 struct s2_pgtable *pgt, void *arg)
{
	struct s2_memslots *ms = slots_deref(vm);
	uint64_t pmask = (1ULL << vm->page_shift) - 1;
	bool any = false;
	unsigned i;

	for (i = 0; i < ms->nr; i++) {
		const struct s2_memslot *s = &ms->slot[i];
		uint64_t a = start > s->hva ? start : s->hva;
		uint64_t b = end < s->hva + s->size ? end : s->hva + s->size;

		if (a >= b)
			continue;
		a = (a - s->hva + s->gpa) & ~pmask;
		b = (b - s->hva + s->gpa + pmask) & ~pmask;
		any |= fn(vm, pgt, a, b - a, arg);
	}
	return any;
}

/*
 * A big zap gives mmu_lock up between chunks (KVM's cond_resched_lock in
 * its stage-2 unmap), so faults and other handlers are not held off for
 * the whole range.  A chunk is 512 last-level tables' worth (1G with 4K
 * pages); check builds use one table's worth (2M), so that small scenarios
 * cross a chunk boundary while a 2M range still takes the fast unmap.
 */
#ifdef S2_CHECK
#define ZAP_CHUNK(pgt)	((pgt)->span[S2_LVL(S2_LAST_LEVEL - 1)])
#else
#define ZAP_CHUNK(pgt)	((pgt)->span[S2_LVL(S2_LAST_LEVEL - 1)] << 9)
#endif

struct zap_arg {
	struct s2_zap *z;
	struct s2_pgtable *pgt;		/* NULL once release took the table */
};

/*
 * Between two chunks: the batched TLB invalidation of everything zapped so
 * far is issued, and the detached subtrees cleaned and queued, before the
 * lock goes (__s2_vm_unlock_finish), exactly as at the end of the handler.
 * The invalidation cannot wait for the end: while the lock is away a
 * second invalidation of an overlapping range may run whole, find our
 * entries already gone, owe no TLB invalidation, and return, and the host
 * then frees pages that the vCPUs' TLBs still map (I1; "KVM: x86/mmu:
 * Ensure TLBs are flushed when yielding during GFN range zap").  Release
 * may take the table meanwhile and, after its grace period, free it: the
 * table is read again under the lock ("Fix use after free of stage2 page
 * table").
 */
static void zap_resched(struct s2_vm *vm, struct zap_arg *za)
{
	const struct s2_platform *p = vm->plat;
	/* yield_without_flush: the lock dropped with the invalidation (and
	 * so the detached subtrees, which must wait for it) still pending,
	 * issued only once the lock is back */
	bool late = S2_BUG_INJECTED(p, vm->ctx, yield_without_flush);

	if (late)
		p->write_unlock(vm->mmu_lock);
	else
		__s2_vm_unlock_finish(vm, za->pgt, za->z);
	p->yield(vm->ctx);
	p->write_lock(vm->mmu_lock);
	/* unmap_resched_pgd_uaf: the pointer read before the lock was
	 * dropped kept, though release may have freed what it points at */
	if (!S2_BUG_INJECTED(p, vm->ctx, unmap_resched_pgd_uaf))
		za->pgt = s2_load(&vm->pgt);
	if (late && za->pgt)
		s2_pgt_tlb_flush(za->pgt, &za->z->tb);
}

static bool zap_fn(struct s2_vm *vm, struct s2_pgtable *pgt, uint64_t gpa, uint64_t size,
		   void *arg)
{
	struct zap_arg *za = arg;
	uint64_t chunk = ZAP_CHUNK(pgt);

	/* The invalidation is owed, not done, when this returns: the host
	 * frees the frames once the handler returns, so it is issued before
	 * then and before any lock drop (seed 004, I1). */
	while (size && za->pgt) {
		uint64_t n = size < chunk ? size : chunk;

		/* I7 in hardware dirty logging: the dirty state of the
		 * leaves first, or it goes with them */
		__s2_vm_hw_dirty_fold(vm, za->pgt, gpa, n);
		__s2_vm_unmap_gpa(za->pgt, gpa, n, za->z);
		VM_STAT_ADD(vm, zapped_bytes, n);
		gpa += n;
		size -= n;
		if (size)
			zap_resched(vm, za);
	}
	return false;
}

/*
 * A range that can hold a whole last-level table goes through the
 * deferred fast unmap: whole subtrees leave with one break each, their
 * TLB invalidation is merged into @z's batch (so ranges of several slots
 * or chunks that touch invalidate once) and their cleaning and freeing is
 * left in @z for __s2_vm_unlock_finish (outside mmu_lock with FWB, under it
 * without).  Smaller ones have nothing to detach and take the per-leaf
 * unmap, which invalidates its few entries itself before returning.
 * Context: mmu_lock held for write; __s2_vm_unlock_finish(@z) before it goes.
 */
void __s2_vm_unmap_gpa(struct s2_pgtable *pgt, uint64_t gpa, uint64_t size, struct s2_zap *z)
{
	if (size >= pgt->span[S2_LVL(S2_LAST_LEVEL - 1)])
		s2_pgt_unmap_defer(pgt, s2_gpa(gpa), size, &z->det, &z->tb);
	else
		s2_pgt_unmap(pgt, s2_gpa(gpa), size);
}

/*
 * Zap the guest images of [@start, @end) into @z.
 * Return: the table live under the lock now, NULL if release took it
 * while the lock was dropped between chunks; what is left in @z belongs
 * to it (a chunk's debts are settled before the lock goes), so the caller
 * passes it to __s2_vm_unlock_finish.
 * Context: mmu_lock held for write; dropped and retaken between chunks.
 */
struct s2_pgtable *__s2_vm_zap_hva(struct s2_vm *vm, struct s2_pgtable *pgt, uint64_t start,
				   uint64_t end, struct s2_zap *z)
{
	struct zap_arg za = { z, pgt };

	for_each_gpa(vm, start, end, zap_fn, pgt, &za);
	return za.pgt;
}

/*
 * Called with mmu_lock held for write after zaps into @z.  First the
 * batched TLB invalidation, under the lock: once the lock goes, another
 * invalidation may find the entries gone and return owing nothing (see
 * zap_resched), and the detached subtrees may be cleaned (I8: only after
 * the translation is gone) and freed (I3: walk caches) only after it.
 * Without FWB the detached subtrees are then cleaned (I8) and queued
 * under the lock (see below).  With FWB, enter an RCU read section before
 * the lock goes, so that a release racing with us (teardown's
 * synchronize_rcu, then destroy's defer_barrier) waits until the detached
 * subtrees are queued; then drop the lock and queue them.  Leaves @z
 * empty.
 */
void __s2_vm_unlock_finish(struct s2_vm *vm, struct s2_pgtable *pgt, struct s2_zap *z)
{
	const struct s2_platform *p = vm->plat;
	struct s2_detached *det = &z->det;

	if (det->nr && S2_BUG_INJECTED(p, vm->ctx, finish_before_flush)) {
		/*
		 * The detached subtrees queued for freeing before the
		 * invalidation they are owed (s2_pgt_unmap_defer's contract
		 * broken): the read section ends, the grace period with it,
		 * and a walk cache still points into a freed table (I3).
		 */
		p->rcu_read_lock(vm->ctx);
		s2_pgt_unmap_fast_finish(pgt, det);
		p->rcu_read_unlock(vm->ctx);
		s2_pgt_tlb_flush(pgt, &z->tb);
		p->write_unlock(vm->mmu_lock);
		return;
	}
	s2_pgt_tlb_flush(pgt, &z->tb);
	if (!det->nr) {
		p->write_unlock(vm->mmu_lock);
		return;
	}
	/*
	 * Without FWB the detached subtrees' data is cleaned to PoC before
	 * the lock goes: once it goes, a second invalidation of the same
	 * range finds nothing mapped and returns at once, and the host may
	 * free the frames while their dirty lines are still in the cache
	 * (I8), whatever this handler does later.  With FWB nothing is
	 * owed to memory and the queuing below may run unlocked.
	 * clean_after_unlock: the non-FWB clean after the unlock too.
	 */
	if ((pgt->flags & S2_PGT_NO_FWB) && !S2_BUG_INJECTED(p, vm->ctx, clean_after_unlock)) {
		s2_pgt_unmap_fast_finish(pgt, det);
		p->write_unlock(vm->mmu_lock);
		return;
	}
	if (S2_BUG_INJECTED(p, vm->ctx, fast_unmap_ref_uaf)) {
		/*
		 * Seed 004 ("Doesn't this run the risk of a potential UAF"):
		 * a reference taken back on each detached table after it was
		 * queued for free; here outside the read section, so the
		 * grace period may already have freed it.
		 */
		void *t[S2_DETACHED_MAX];
		unsigned i, n = det->nr;

		for (i = 0; i < n; i++)
			t[i] = det->table[i];
		p->rcu_read_lock(vm->ctx);
		p->write_unlock(vm->mmu_lock);
		s2_pgt_unmap_fast_finish(pgt, det);
		p->rcu_read_unlock(vm->ctx);
		for (i = 0; i < n; i++)
			p->page_ref_add(vm->ctx, t[i], 1);
		return;
	}
	p->rcu_read_lock(vm->ctx);
	p->write_unlock(vm->mmu_lock);
	s2_pgt_unmap_fast_finish(pgt, det);
	p->rcu_read_unlock(vm->ctx);
}

struct gpa_span {
	uint64_t start, end;		/* empty while start > end */
};

static bool span_fn(struct s2_vm *vm, struct s2_pgtable *pgt, uint64_t gpa, uint64_t size,
		    void *arg)
{
	struct gpa_span *sp = arg;

	(void)vm;
	(void)pgt;
	if (gpa < sp->start)
		sp->start = gpa;
	if (gpa + size > sp->end)
		sp->end = gpa + size;
	return true;
}

int s2_vm_mn_invalidate_range_start(struct s2_vm *vm, s2_hva_t start, s2_hva_t end,
				    bool blockable)
{
	const struct s2_platform *p;
	struct s2_pgtable *pgt;
	struct s2_zap z;
	struct gpa_span sp = { ~0ULL, 0 };

	(void)blockable;	/* mmu_lock never sleeps for long: proceed */
	if (!vm || start.v >= end.v)
		return -S2_EINVAL;
	p = vm->plat;
	/* Counted before the lock: a memslot update waiting for quiet sees
	 * this invalidation even before it gets mmu_lock. */
	s2_fetch_add(&vm->mn_active, 1);
	VM_STAT(vm, invalidations);
	p->write_lock(vm->mmu_lock);
	/*
	 * Publish "in progress" before zapping, so a fault that resolved the
	 * old frame and takes mmu_lock after us sees it and retries.  The
	 * range is by GPA: the guest images of [start, end) through every
	 * slot it overlaps, INVALID ones included (a slot being moved or
	 * deleted is still mapped until its zap), taken from the array live
	 * now, which stays live until our end (memslot.c slots_publish waits
	 * for mn_active, counted above, to drop to zero).  It is the union
	 * of all in-progress ones: overwriting it would let a fault on the
	 * first range through while it is still changing.
	 */
	for_each_gpa(vm, start.v, end.v, span_fn, NULL, &sp);
	if (vm->in_progress++ == 0 || S2_BUG_INJECTED(p, vm->ctx, range_add_overwrite)) {
		vm->range_start = sp.start;
		vm->range_end = sp.end;
	} else {
		if (sp.start < vm->range_start)
			vm->range_start = sp.start;
		if (sp.end > vm->range_end)
			vm->range_end = sp.end;
	}
	pgt = vm->pgt;
	s2_zap_init(&z);
	/* tlbi_after_return (seed 004): the zap and its TLBI left for
	 * range_end, after the host was told it may free the frames */
	if (pgt && !S2_BUG_INJECTED(p, vm->ctx, tlbi_after_return))
		pgt = __s2_vm_zap_hva(vm, pgt, start.v, end.v, &z);
	else if (!pgt)
		VM_STAT(vm, after_release);
	/* one TLB invalidation for every slot and the last chunk */
	__s2_vm_unlock_finish(vm, pgt, &z);
	return 0;
}

void s2_vm_mn_invalidate_range_end(struct s2_vm *vm, s2_hva_t start, s2_hva_t end)
{
	const struct s2_platform *p;
	bool matched;

	(void)start;
	(void)end;
	if (!vm)
		return;
	p = vm->plat;
	if (S2_BUG_INJECTED(p, vm->ctx, tlbi_after_return)) {
		struct s2_zap z;
		struct s2_pgtable *pgt;

		s2_zap_init(&z);
		p->write_lock(vm->mmu_lock);
		pgt = vm->pgt;
		if (pgt)
			pgt = __s2_vm_zap_hva(vm, pgt, start.v, end.v, &z);
		__s2_vm_unlock_finish(vm, pgt, &z);
	}
	p->write_lock(vm->mmu_lock);
	/*
	 * The sequence moves before the count drops: a fault that finds no
	 * invalidation in progress must find the sequence moved if one
	 * happened since its snapshot (seed 000).
	 */
	s2_store_release(&vm->seq, vm->seq + 1);
	matched = vm->in_progress > 0;
	if (matched)
		vm->in_progress--;
	p->write_unlock(vm->mmu_lock);
	/*
	 * An end with no start (an embedder bug) must not drive mn_active
	 * below zero: memslot updates wait for it to read zero and would
	 * wait forever.  A start always counts in_progress before its end
	 * can run, so an unmatched end is exactly one that found it zero.
	 */
	if (matched)
		s2_fetch_add(&vm->mn_active, -1);
}

/*
 * Aging runs under mmu_lock held for read, beside faults and other agers,
 * as recent KVM does on x86 and arm64 (MGLRU ages often; a write lock per
 * call would stall every vCPU fault behind it).  What that needs:
 *
 * - Leaves change only by compare-and-exchange (the engine's shared walk,
 *   S2_WALK_SHARED), inside the RCU read section that walk enters: a fault
 *   under the same read lock may break the very leaf we read (a lazy
 *   split, a remap) or collapse the table we descend (I3, I5).  A plain
 *   store of a value computed from our earlier read would write the old
 *   leaf back over its locked entry or the table that replaced it
 *   (age_plain_store).
 *
 * - I9 for clear_flush_young across concurrent agers.  A TLB entry is
 *   only ever filled from a young leaf, and after the leaf is made old it
 *   stays in the TLB until someone flushes it: the clear_flush_young that
 *   made it old (before that call returns), or nobody (clear_young).  So
 *   a clear_flush_young that finds a leaf old must flush it anyway
 *   unless it knows that whoever made it old has already flushed.  Two
 *   counters tell it (struct s2_vm):
 *     agers_clearing  clearing agers between their first clear and the
 *                     end of their flush; a clear_flush_young that sees
 *                     another one (the count above its own 1) flushes
 *                     what it visited, old or not;
 *     young_unflushed set, for good, by a clear_young that cleared
 *                     something, before it leaves agers_clearing; from
 *                     then on every clear_flush_young flushes.
 *   Ordering: the ager that cleared the leaf counted itself in before its
 *   compare-and-exchange (acq_rel); we read the old leaf, then a fence
 *   (acquire for that exchange), then the count with acquire.  So we see
 *   its count, or a later one; if we see it gone, its decrement (acq_rel,
 *   after its flush and its young_unflushed store) happened before our
 *   loads, and we see the flag set or the flush done.  cfy_skips_old: a
 *   clear_flush_young flushes only what it found young.
 *
 * - Release: it takes mmu_lock for write, so it waits for us, and we read
 *   vm->pgt under the read lock (NULL: released, seeds 000/001).
 * - Statistics are atomic adds (VM_STAT), the memslot array cannot change
 *   under the read lock (slots_publish takes the lock for write).
 */
struct young_arg {
	bool mkold;
	bool flush;
	unsigned walk;			/* S2_WALK_SHARED, or 0 (age_plain_store) */
};

/* See above: must a clear_flush_young flush leaves it found old? */
static bool flush_old(struct s2_vm *vm)
{
	if (S2_BUG_INJECTED(vm->plat, vm->ctx, cfy_skips_old))
		return false;
	s2_fence();
	return s2_load_acquire(&vm->agers_clearing) > 1 || s2_load(&vm->young_unflushed);
}

static bool young_fn(struct s2_vm *vm, struct s2_pgtable *pgt, uint64_t gpa, uint64_t size,
		     void *arg)
{
	struct young_arg *ya = arg;
	int y = s2_pgt_test_clear_young(pgt, s2_gpa(gpa), size, ya->mkold, ya->walk);

	/*
	 * I9: a TLB entry filled while the leaf was young lets the vCPU keep
	 * accessing without the hardware setting AF again, so "old" is only
	 * true once that entry is gone.  clear_young skips this, as Linux's
	 * does (and says so): it may miss accesses.
	 */
	if (ya->flush && (y > 0 || flush_old(vm)))
		vm->plat->tlbi_range(vm->ctx, s2_gpa(gpa), size, -1);
	return y > 0;
}

static bool age(struct s2_vm *vm, uint64_t start, uint64_t end, bool mkold, bool flush)
{
	struct young_arg ya = { mkold, flush, S2_WALK_SHARED };
	struct s2_pgtable *pgt;
	bool young = false;

	if (!vm || start >= end)
		return false;
	VM_STAT(vm, age_calls);
	/* age_plain_store: the exclusive walk (plain stores, no RCU) kept
	 * from the time aging held mmu_lock for write */
	if (S2_BUG_INJECTED(vm->plat, vm->ctx, age_plain_store))
		ya.walk = 0;
	vm->plat->read_lock(vm->mmu_lock);
	pgt = s2_load(&vm->pgt);
	/* Aging runs concurrently with release (seed 001). */
	if (!pgt && S2_BUG_INJECTED(vm->plat, vm->ctx, release_null_pgt_age))
		/* seed 001: stage2_get_pud() walked kvm->arch.pgd, NULL here */
		S2_VIOLATION(vm->plat, vm->ctx, S2_INV_I4, "aging walked the released (NULL) table");
	if (!pgt) {
		VM_STAT(vm, after_release);
		vm->plat->read_unlock(vm->mmu_lock);
		return false;
	}
	if (mkold)
		s2_add_return(&vm->agers_clearing, 1);
	young = for_each_gpa(vm, start, end, young_fn, pgt, &ya);
	if (mkold) {
		/* ordered before the decrement by its release; stored once,
		 * the line is one every fault reads */
		if (young && !flush && !s2_load(&vm->young_unflushed))
			s2_store(&vm->young_unflushed, true);
		s2_add_return(&vm->agers_clearing, -1);
	}
	vm->plat->read_unlock(vm->mmu_lock);
	return young;
}

bool s2_vm_mn_clear_flush_young(struct s2_vm *vm, s2_hva_t start, s2_hva_t end)
{
	return age(vm, start.v, end.v, true, true);
}

bool s2_vm_mn_clear_young(struct s2_vm *vm, s2_hva_t start, s2_hva_t end)
{
	return age(vm, start.v, end.v, true, false);
}

bool s2_vm_mn_test_young(struct s2_vm *vm, s2_hva_t start, s2_hva_t end)
{
	return age(vm, start.v, end.v, false, false);
}
