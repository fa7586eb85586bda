/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * MMU-notifier handlers: the host tells us it is about to change (start)
 * or has changed (end) its mapping of an HVA range, or asks about and
 * clears the access state of one.
 */
#include "internal.h"

/*
 * For every memslot overlapping [start, end), apply @fn to the guest
 * range that maps it.  Context: mmu_lock held for write; the slot array
 * cannot change under us (memslot updates wait for mmu_lock and for
 * in-progress invalidations).
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
	struct s2_detached *det;
	struct s2_pgtable *pgt;		/* NULL once release took the table */
};

/*
 * Between two chunks: everything zapped so far is already invalidated
 * (both unmaps finish their TLBI before returning), and the detached
 * subtrees are cleaned and queued outside the lock as at the end; then the
 * lock goes and comes back.  Release may have taken the table meanwhile
 * and, after its grace period, freed it: the table is read again under
 * the lock ("Fix use after free of stage2 page table").
 */
static void zap_resched(struct s2_vm *vm, struct zap_arg *za)
{
	const struct s2_platform *p = vm->plat;

	s2_vm_unlock_finish(vm, za->pgt, za->det);
	za->det->nr = 0;
	p->yield(vm->ctx);
	p->write_lock(vm->mmu_lock);
	/* unmap_resched_pgd_uaf: the pointer read before the lock was
	 * dropped kept, though release may have freed what it points at */
	if (!S2_BUG(p, vm->ctx, unmap_resched_pgd_uaf))
		za->pgt = s2_load(&vm->pgt);
}

static bool zap_fn(struct s2_vm *vm, struct s2_pgtable *pgt, uint64_t gpa, uint64_t size,
		   void *arg)
{
	struct zap_arg *za = arg;
	uint64_t chunk = ZAP_CHUNK(pgt);

	/* Both unmaps invalidate the TLBs before returning: the host frees
	 * the frames once we return (seed 004, I1). */
	while (size && za->pgt) {
		uint64_t n = size < chunk ? size : chunk;

		s2_vm_unmap_gpa(za->pgt, gpa, n, za->det);
		VM_STAT_ADD(vm, zapped_bytes, n);
		gpa += n;
		size -= n;
		if (size)
			zap_resched(vm, za);
	}
	return false;
}

/*
 * A range that can hold a whole last-level table goes through the fast
 * unmap: whole subtrees leave with one break each and one TLBI for the
 * lot, and their cleaning and freeing is left in @det for the caller to
 * finish outside mmu_lock.  Smaller ones have nothing to detach.
 */
void s2_vm_unmap_gpa(struct s2_pgtable *pgt, uint64_t gpa, uint64_t size,
		     struct s2_detached *det)
{
	if (size >= pgt->span[S2_LVL(S2_LAST_LEVEL - 1)])
		s2_pgt_unmap_fast(pgt, s2_gpa(gpa), size, det);
	else
		s2_pgt_unmap(pgt, s2_gpa(gpa), size);
}

/*
 * Context: mmu_lock held for write; dropped and retaken between chunks.
 * What is left in @det belongs to the table live under the lock now
 * (a chunk's subtrees are finished before the lock goes), so the caller's
 * s2_vm_unlock_finish may use @pgt for it.
 */
void s2_vm_zap_hva(struct s2_vm *vm, struct s2_pgtable *pgt, uint64_t start, uint64_t end,
		   struct s2_detached *det)
{
	struct zap_arg za = { det, pgt };

	for_each_gpa(vm, start, end, zap_fn, pgt, &za);
}

/*
 * Called with mmu_lock held for write after a zap into @det: enter an RCU
 * read section before the lock goes, so that a release racing with us
 * (teardown's synchronize_rcu, then destroy's defer_barrier) waits until
 * the detached subtrees are queued; then drop the lock, clean and queue
 * them.  The cleaning still completes before the handler returns, which
 * is what the host relies on (I8).
 */
void s2_vm_unlock_finish(struct s2_vm *vm, struct s2_pgtable *pgt, struct s2_detached *det)
{
	const struct s2_platform *p = vm->plat;

	if (!det->nr) {
		p->write_unlock(vm->mmu_lock);
		return;
	}
	if (S2_BUG(p, vm->ctx, fast_unmap_ref_uaf)) {
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

int s2_vm_mn_invalidate_range_start(struct s2_vm *vm, s2_hva_t start, s2_hva_t end,
				    bool blockable)
{
	const struct s2_platform *p;
	struct s2_pgtable *pgt;
	struct s2_detached det;

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
	 * range is the union of all in-progress ones: overwriting it would
	 * let a fault on the first range through while it is still changing.
	 */
	if (vm->in_progress++ == 0 || S2_BUG(p, vm->ctx, range_add_overwrite)) {
		vm->range_start = start.v;
		vm->range_end = end.v;
	} else {
		if (start.v < vm->range_start)
			vm->range_start = start.v;
		if (end.v > vm->range_end)
			vm->range_end = end.v;
	}
	pgt = vm->pgt;
	det.nr = 0;
	/* tlbi_after_return (seed 004): the zap and its TLBI left for
	 * range_end, after the host was told it may free the frames */
	if (pgt && !S2_BUG(p, vm->ctx, tlbi_after_return))
		s2_vm_zap_hva(vm, pgt, start.v, end.v, &det);
	else
		VM_STAT(vm, after_release);
	s2_vm_unlock_finish(vm, pgt, &det);
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
	if (S2_BUG(p, vm->ctx, tlbi_after_return)) {
		struct s2_detached det;
		struct s2_pgtable *pgt;

		det.nr = 0;
		p->write_lock(vm->mmu_lock);
		pgt = vm->pgt;
		if (pgt)
			s2_vm_zap_hva(vm, pgt, start.v, end.v, &det);
		s2_vm_unlock_finish(vm, pgt, &det);
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

struct young_arg {
	bool mkold;
	bool flush;
};

static bool young_fn(struct s2_vm *vm, struct s2_pgtable *pgt, uint64_t gpa, uint64_t size,
		     void *arg)
{
	struct young_arg *ya = arg;
	int y = s2_pgt_test_clear_young(pgt, s2_gpa(gpa), size, ya->mkold, 0);

	/*
	 * I9: a TLB entry filled while the leaf was young lets the vCPU keep
	 * accessing without the hardware setting AF again, so "old" is only
	 * true once that entry is gone.  clear_young skips this, as Linux's
	 * does (and says so): it may miss accesses.
	 */
	if (y > 0 && ya->flush)
		vm->plat->tlbi_range(vm->ctx, gpa, size, -1);
	return y > 0;
}

static bool age(struct s2_vm *vm, uint64_t start, uint64_t end, bool mkold, bool flush)
{
	struct young_arg ya = { mkold, flush };
	struct s2_pgtable *pgt;
	bool young = false;

	if (!vm || start >= end)
		return false;
	VM_STAT(vm, age_calls);
	vm->plat->write_lock(vm->mmu_lock);
	pgt = vm->pgt;
	/* Aging runs concurrently with release (seed 001). */
	if (!pgt && S2_BUG(vm->plat, vm->ctx, release_null_pgt_age))
		/* seed 001: stage2_get_pud() walked kvm->arch.pgd, NULL here */
		S2_VIOLATION(vm->plat, vm->ctx, S2_INV_I4, "aging walked the released (NULL) table");
	if (pgt)
		young = for_each_gpa(vm, start, end, young_fn, pgt, &ya);
	else
		VM_STAT(vm, after_release);
	vm->plat->write_unlock(vm->mmu_lock);
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
