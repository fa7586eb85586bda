/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* VM lifetime: create, release of the table, destroy; statistics. */
#include "internal.h"

static void *mc_alloc(struct s2_vm *vm)
{
	return vm->plat->alloc_page(vm->ctx, vm->page_shift);
}

/*
 * Top up a vCPU's page cache without the table: after release the table
 * is gone but a fault in flight may still be here (seed 000), and it must
 * get as far as the NULL check under the lock without touching it.
 */
int s2_vm_memcache_topup(struct s2_vm *vm, struct s2_memcache *mc, unsigned long n)
{
	while (mc->nr < n) {
		void *p = mc_alloc(vm);

		if (!p)
			return -S2_ENOMEM;
		*(void **)p = mc->head;
		mc->head = p;
		mc->nr++;
	}
	return 0;
}

void s2_vm_memcache_drain(struct s2_vm *vm, struct s2_memcache *mc)
{
	while (mc->head) {
		void *pg = mc->head;

		mc->head = *(void **)pg;
		mc->nr--;
		vm->plat->free_page(vm->ctx, pg, vm->page_shift);
	}
}

int s2_vm_create(const struct s2_vm_cfg *cfg, struct s2_vm **out)
{
	const struct s2_platform *p;
	struct s2_vm *vm;
	int ret;

	if (!cfg || !out || !cfg->host || !cfg->host->resolve || !cfg->host->put ||
	    !cfg->host->mapping_size ||
	    (cfg->flags & ~(S2_VM_COUNTER_TRACKING | S2_VM_EAGER_SPLIT | S2_VM_MANUAL_PROTECT |
			    S2_VM_DIRTY_INIT_SET)) ||
	    cfg->max_slots > 4096)
		return -S2_EINVAL;
	/* KVM_DIRTY_LOG_INITIALLY_SET: only meaningful when a clear protects */
	if ((cfg->flags & S2_VM_DIRTY_INIT_SET) && !(cfg->flags & S2_VM_MANUAL_PROTECT))
		return -S2_EINVAL;
	p = cfg->pgt.plat;
	if (!p || !p->zalloc || !p->free || !p->yield || !p->rwlock_new ||
	    !p->rwlock_free || !p->read_lock || !p->read_unlock || !p->write_lock ||
	    !p->write_unlock || !p->rcu_read_lock || !p->rcu_read_unlock ||
	    !p->synchronize_rcu)
		return -S2_EINVAL;
	vm = p->zalloc(cfg->pgt.plat_ctx, sizeof(*vm));
	if (!vm)
		return -S2_ENOMEM;
	vm->plat = p;
	vm->ctx = cfg->pgt.plat_ctx;
	vm->host = cfg->host;
	vm->host_ctx = cfg->host_ctx;
	vm->flags = cfg->flags;
	vm->max_slots = cfg->max_slots ? cfg->max_slots : 32;
	ret = s2_pgt_init(&vm->pgt_storage, &cfg->pgt);
	if (ret)
		goto err_vm;
	vm->pgt = &vm->pgt_storage;
#ifdef S2_CHECK
	/* Check builds start the sequence just below 2^31, so that a short
	 * scenario crosses it: code that keeps it in a narrower type fails
	 * ("Fix an sign-extension bug with mmu_seq that hangs vCPUs"). */
	vm->seq = 0x7fffffff;
#endif
	vm->page_shift = vm->pgt->page_shift;
	vm->ia_bits = vm->pgt->ia_bits;
	ret = -S2_ENOMEM;
	vm->mmu_lock = p->rwlock_new(vm->ctx);
	if (!vm->mmu_lock)
		goto err_pgt;
	/* Held across sleeping calls (zalloc, synchronize_rcu, yield): a
	 * platform whose rwlock spins supplies a sleeping lock for it. */
	vm->slots_lock = p->sleeplock_new ? p->sleeplock_new(vm->ctx) : p->rwlock_new(vm->ctx);
	if (!vm->slots_lock)
		goto err_lock;
	vm->slots = p->zalloc(vm->ctx, sizeof(*vm->slots));
	if (!vm->slots)
		goto err_slots_lock;
	*out = vm;
	return 0;
err_slots_lock:
	p->rwlock_free(vm->ctx, vm->slots_lock);
err_lock:
	p->rwlock_free(vm->ctx, vm->mmu_lock);
err_pgt:
	s2_pgt_destroy(vm->pgt);
err_vm:
	p->free(vm->ctx, vm, sizeof(*vm));
	return ret;
}

/*
 * Take the table away and free it.  Ordering: the pointer goes NULL under
 * the write lock, so no fault or handler that takes the lock afterwards
 * can reach the table (each checks for NULL, seeds 000/001); the whole-VM
 * TLBI removes what hardware cached; the grace period waits out hardware
 * and lockless walkers that loaded the root before it went away; only
 * then are the pages freed (I3).
 */
void s2_vm_teardown(struct s2_vm *vm)
{
	struct s2_pgtable *pgt;

	vm->plat->write_lock(vm->mmu_lock);
	pgt = vm->pgt;
	s2_store_release(&vm->pgt, NULL);
	if (pgt && S2_BUG_INJECTED(vm->plat, vm->ctx, release_flush_unlocked)) {
		/* the flush after the lock: see below */
		vm->plat->write_unlock(vm->mmu_lock);
		S2_PREEMPT(vm->plat, vm->ctx, "teardown: table unpublished");
	}
	if (!pgt) {
		vm->plat->write_unlock(vm->mmu_lock);
		return;
	}
	/*
	 * Everything the table still translates goes before mmu_lock does:
	 * once the table is unpublished, an invalidate_range_start finds
	 * nothing to zap and returns at once, and the host then frees its
	 * frames, so the TLBs must not hold them by then (I1), nor, without
	 * FWB, the caches their data (I8: unmap it all the normal way, TLBI
	 * then clean+invalidate to PoC, before a later write-back can land
	 * on reused memory).  The fast unmap does it with one whole-VM TLBI
	 * rather than one per leaf, detaching each root entry's subtree with
	 * a single break.  Release runs once per VM; the invalidations that
	 * wait on the lock meanwhile would otherwise return too early.
	 * release_flush_unlocked: all of it after the unlock.
	 */
	if (pgt->flags & S2_PGT_NO_FWB)
		s2_pgt_unmap_fast(pgt, s2_gpa(0), 1ULL << pgt->ia_bits, NULL);
	vm->plat->tlbi_vm(vm->ctx);
	if (!S2_BUG_INJECTED(vm->plat, vm->ctx, release_flush_unlocked))
		vm->plat->write_unlock(vm->mmu_lock);
	vm->plat->synchronize_rcu(vm->ctx);
	s2_pgt_destroy(pgt);
}

void s2_vm_mn_release(struct s2_vm *vm)
{
	if (!vm)
		return;
	VM_STAT(vm, releases);
	s2_vm_teardown(vm);
}

void s2_vm_destroy(struct s2_vm *vm)
{
	struct s2_memslots *ms;
	unsigned i;

	if (!vm)
		return;
	s2_vm_teardown(vm);
	s2_dirty_rings_free_all(vm);
	ms = vm->slots;
	for (i = 0; i < ms->nr; i++)
		if (ms->slot[i].dirty)
			vm->plat->free(vm->ctx, ms->slot[i].dirty, bitmap_bytes(vm, ms->slot[i].size));
	/* slots_free_size: the size of the live slots, short after a delete */
	if (S2_BUG_INJECTED(vm->plat, vm->ctx, slots_free_size))
		vm->plat->free(vm->ctx, ms, slots_bytes(ms->nr));
	else
		vm->plat->free(vm->ctx, ms, slots_bytes(ms->cap));
	vm->plat->rwlock_free(vm->ctx, vm->slots_lock);
	vm->plat->rwlock_free(vm->ctx, vm->mmu_lock);
	vm->plat->free(vm->ctx, vm, sizeof(*vm));
}

void s2_vm_memcache_free(struct s2_vm *vm, struct s2_memcache *mc)
{
	if (vm && mc)
		s2_vm_memcache_drain(vm, mc);
}

/* The shards are summed as arrays of counters: no padding, nothing but
 * uint64_t up to the last field (releases; keep it last or update this). */
_Static_assert(offsetof(struct s2_vm_stats, releases) + sizeof(uint64_t) ==
	       sizeof(struct s2_vm_stats) &&
	       sizeof(((struct s2_vm_stats *)0)->releases) == sizeof(uint64_t) &&
	       sizeof(struct s2_vm_stats) % sizeof(uint64_t) == 0,
	       "struct s2_vm_stats is an array of uint64_t counters");

void s2_vm_get_stats(struct s2_vm *vm, struct s2_vm_stats *out)
{
	uint64_t *dst = (uint64_t *)out;
	size_t i;
	unsigned sh;

	if (!out)
		return;
	if (!vm) {
		*out = (struct s2_vm_stats){ 0 };
		return;
	}
	for (i = 0; i < sizeof(*out) / sizeof(uint64_t); i++) {
		dst[i] = 0;
		for (sh = 0; sh < S2_STAT_SHARDS; sh++)
			dst[i] += s2_load(&((const uint64_t *)&vm->st[sh].s)[i]);
	}
}

struct s2_pgtable *s2_vm_pgtable(struct s2_vm *vm)
{
	return vm ? s2_load_acquire(&vm->pgt) : NULL;
}

bool s2_vm_gpa_to_hva(struct s2_vm *vm, s2_gpa_t gpa, s2_hva_t *hva, unsigned *slot_flags)
{
	const struct s2_memslot *s;
	bool found = false;

	if (!vm)
		return false;
	vm->plat->rcu_read_lock(vm->ctx);
	s = slot_find(slots_deref(vm), gpa.v);
	if (s) {
		if (hva)
			*hva = s2_hva(s->hva + (gpa.v - s->gpa));
		if (slot_flags)
			*slot_flags = s->flags & ~S2_SLOT_INVALID;
		found = true;
	}
	vm->plat->rcu_read_unlock(vm->ctx);
	return found;
}
