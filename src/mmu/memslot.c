/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Memslots: GPA ranges backed by HVA ranges.  The array is immutable and
 * replaced whole (RCU); a slot being deleted or moved first becomes
 * INVALID (faults refuse it, invalidations still translate it), is zapped
 * once every fault that saw it valid is done, and only then goes.
 *
 * Every update runs in three steps, as KVM's memslot code does:
 * classify (create, delete, move or flags only, and the argument checks
 * that go with each), prepare (every allocation the update needs: the
 * arrays it publishes and a dirty bitmap), commit (publish, zap,
 * write-protect).  Only prepare can fail, and it changes nothing visible,
 * so a failed update has nothing to undo and a published array is never
 * edited in place.  What runs after the commit (eager split, PFNMAP
 * prefault) is best effort: stage 2 is a cache that faults refill.
 */
#include "internal.h"

/*
 * Publish @next, then free the previous array once no reader can still
 * see it.  Faults that looked up a slot before this will find slots_gen
 * moved when they take mmu_lock, and retry.  "No memslot change between an
 * invalidation's start and end" ("Block memslot updates across
 * range_start() and range_end()"): the swap happens under mmu_lock with
 * no invalidation in progress, so every start/end pair sees one array.
 * The in-progress range is by GPA (internal.h), computed by the start
 * from the array of its time, and the fault path trusts it only because
 * of this wait.
 */
static void slots_publish(struct s2_vm *vm, struct s2_memslots *next)
{
	const struct s2_platform *p = vm->plat;
	struct s2_memslots *prev;

	for (;;) {
		p->write_lock(vm->mmu_lock);
		/*
		 * memslot_update_mid_invalidation: swapped with a start not
		 * yet ended.  A slot moved to a new GPA keeps its HVA, but the
		 * start recorded the old GPAs: a fault on the new GPA of an
		 * HVA being unmapped is not in the range, samples the new
		 * generation, resolves the frame the host is about to free
		 * and installs it after the start's zap (I1).
		 */
		if (!s2_load(&vm->mn_active) ||
		    S2_BUG_INJECTED(p, vm->ctx, memslot_update_mid_invalidation))
			break;
		p->write_unlock(vm->mmu_lock);
		p->yield(vm->ctx);
	}
	prev = vm->slots;
	s2_store_release(&vm->slots, next);
	/*
	 * The fault path reads slots_gen (acquire), then the array, with no
	 * lock.  Release here, after the array: a fault that sees the new
	 * generation then sees the new array, never the new generation with
	 * the old slot (which would pass the generation check under mmu_lock
	 * with, say, DIRTY_LOG missing, and install a writable leaf the log
	 * never sees: I1/I7).  slots_gen_relaxed: a relaxed store, which
	 * arm64 may make visible before the array.
	 */
	if (S2_BUG_INJECTED(p, vm->ctx, slots_gen_relaxed))
		s2_store(&vm->slots_gen, vm->slots_gen + 1);
	else
		s2_store_release(&vm->slots_gen, vm->slots_gen + 1);
	p->write_unlock(vm->mmu_lock);
	S2_PREEMPT(p, vm->ctx, "memslot: new array published");
	p->synchronize_rcu(vm->ctx);
	/* slots_free_size: the size of the live slots, short after a delete */
	if (S2_BUG_INJECTED(p, vm->ctx, slots_free_size))
		p->free(vm->ctx, prev, slots_bytes(prev->nr));
	else
		p->free(vm->ctx, prev, slots_bytes(prev->cap));
}

static struct s2_memslots *slots_copy(struct s2_vm *vm, const struct s2_memslots *ms,
				      unsigned extra)
{
	struct s2_memslots *n = vm->plat->zalloc(vm->ctx, slots_bytes(ms->nr + extra));
	unsigned i;

	if (!n)
		return NULL;
	n->nr = ms->nr;
	n->cap = ms->nr + extra;
	for (i = 0; i < ms->nr; i++)
		n->slot[i] = ms->slot[i];
	return n;
}

static int slot_index(const struct s2_memslots *ms, unsigned id)
{
	unsigned i;

	for (i = 0; i < ms->nr; i++)
		if (ms->slot[i].id == id)
			return (int)i;
	return -1;
}

/* A slot's guest range, under one hold of mmu_lock; its TLB invalidation
 * is issued before the lock goes (__s2_vm_unlock_finish). */
static void zap_gpa(struct s2_vm *vm, uint64_t gpa, uint64_t size)
{
	struct s2_pgtable *pgt;
	struct s2_zap z;

	s2_zap_init(&z);
	vm->plat->write_lock(vm->mmu_lock);
	pgt = vm->pgt;
	if (pgt)
		__s2_vm_unmap_gpa(pgt, gpa, size, &z);
	__s2_vm_unlock_finish(vm, pgt, &z);
}

/*
 * Bytes of a slot split per mmu_lock hold when dirty logging starts with
 * S2_VM_EAGER_SPLIT: a multiple of every block size up to 1G (4K granule)
 * and small enough that faults queued on the lock wait microseconds, not
 * the whole slot (KVM's eager_split_chunk_size plays the same role).
 */
#define S2_SPLIT_CHUNK	(64ULL << 20)

/*
 * Split every block of [gpa, gpa+size) down to pages, chunk by chunk: the
 * page cache is filled for a chunk outside the lock (allocation may sleep,
 * the split under the lock must not fail half-way), the chunk split under
 * mmu_lock for write, and the lock dropped before the next one.  Faults on
 * the slot meanwhile map pages only (the slot logs already), so nothing
 * re-creates a block behind us.  Splitting keeps every output and
 * permission; the write-protect that follows makes the pages fault.
 * An allocation failure just stops early: the rest splits lazily.
 */
void s2_vm_eager_split(struct s2_vm *vm, uint64_t gpa, uint64_t size)
{
	const struct s2_platform *p = vm->plat;
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	uint64_t a, next, end = gpa + size, page = 1ULL << vm->page_shift;

	for (a = gpa; a < end; a = next) {
		struct s2_pgtable *pgt = s2_load_acquire(&vm->pgt);
		unsigned long need;

		next = (a + S2_SPLIT_CHUNK) & ~(S2_SPLIT_CHUNK - 1);
		if (next > end || next < a)
			next = end;
		if (!pgt)
			break;
		/* the tables a page-by-page map of the chunk could create
		 * bound those a split to pages can create */
		need = s2_pgt_pages_needed(pgt, s2_gpa(a), next - a);
		if (s2_vm_memcache_topup(vm, &mc, need))
			break;
		p->write_lock(vm->mmu_lock);
		pgt = vm->pgt;
		if (pgt)
			s2_pgt_split(pgt, s2_gpa(a), next - a, page, &mc, 0);
		p->write_unlock(vm->mmu_lock);
		if (!pgt)
			break;
	}
	s2_vm_memcache_drain(vm, &mc);
}

static int check_args(struct s2_vm *vm, unsigned id, uint64_t gpa, uint64_t size,
		      uint64_t hva, unsigned flags)
{
	uint64_t mask = (1ULL << vm->page_shift) - 1;

	if (id >= vm->max_slots || !size || ((gpa | size | hva) & mask) ||
	    (flags & ~(S2_MEM_READONLY | S2_MEM_DIRTY_LOG | S2_MEM_PREFAULT | S2_MEM_DIRTY_HW)) ||
	    gpa + size < gpa || hva + size < hva)
		return -S2_EINVAL;
	if ((flags & S2_MEM_READONLY) && (flags & S2_MEM_DIRTY_LOG))
		return -S2_EINVAL;	/* nothing to log */
	/* hardware mode is a way of logging, on hardware that records writes */
	if ((flags & S2_MEM_DIRTY_HW) &&
	    (!(flags & S2_MEM_DIRTY_LOG) || !s2_vm_hw_dirty_capable(vm)))
		return -S2_EINVAL;
	if (gpa + size > (1ULL << vm->ia_bits))
		return -S2_ERANGE;
	return 0;
}

/*
 * Seed 003: a PFNMAP slot may be mapped up front.  The physical address
 * comes from following each page's host entry; vm_pgoff is a physical
 * frame only for a flat remap_pfn_range and must not be used as one.
 */
static void prefault_pfnmap(struct s2_vm *vm, const struct s2_memslot *s)
{
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	struct s2_vma_info vi;
	uint64_t off, page = 1ULL << vm->page_shift;

	if (!vm->host->vma_info)
		return;
	for (off = 0; off < s->size; off += page) {
		struct s2_resolved r;
		unsigned prot = S2_PROT_R | S2_PROT_DEVICE;
		uint64_t hva = s->hva + off, seq;

		/*
		 * Seed 000's rule in seed 003's path: the sequence is sampled
		 * before the frame is resolved and compared under mmu_lock,
		 * so an invalidation that starts and ends between the two
		 * (an munmap or mprotect of the PFNMAP range while we top up
		 * the cache, which may sleep) is seen.  prefault_no_seq: no
		 * snapshot, only "nothing in progress now" is checked.
		 */
		seq = s2_load_acquire(&vm->seq);
		if (vm->host->vma_info(vm->host_ctx, s2_hva(hva), &vi) || !vi.pfnmap)
			continue;
		if (S2_BUG_INJECTED(vm->plat, vm->ctx, pfnmap_pgoff_prefault)) {
			r.pa = s2_hpa((vi.pgoff << vm->page_shift) + (hva - vi.start.v));
			r.writable = vi.writable;
		} else if (vm->host->resolve(vm->host_ctx, s2_hva(hva), false, &r)) {
			continue;
		} else {
			vm->host->put(vm->host_ctx, &r);
		}
		if (r.writable && !(s->flags & S2_MEM_READONLY))
			prot |= S2_PROT_W;
		if (s2_vm_memcache_topup(vm, &mc, S2_LAST_LEVEL + 1))
			break;
		S2_PREEMPT(vm->plat, vm->ctx, "prefault: frame resolved");
		/*
		 * Mapped under mmu_lock like a fault: not while an
		 * invalidation is in progress, nor if one ended since the
		 * snapshot.  Prefault is an optimisation: a page skipped here
		 * faults in normally.
		 */
		vm->plat->write_lock(vm->mmu_lock);
		if (vm->pgt && !vm->in_progress &&
		    (s2_load(&vm->seq) == seq || S2_BUG_INJECTED(vm->plat, vm->ctx, prefault_no_seq)))
			s2_pgt_map(vm->pgt, s2_gpa(s->gpa + off), page, r.pa, prot, page, &mc, 0);
		vm->plat->write_unlock(vm->mmu_lock);
	}
	s2_vm_memcache_drain(vm, &mc);
}

/* KVM_MR_CREATE, _DELETE, _MOVE, _FLAGS_ONLY; a move here is any change
 * of GPA, size or HVA (with the flags kept). */
enum slot_change { SLOT_CREATE, SLOT_DELETE, SLOT_MOVE, SLOT_FLAGS };

/*
 * One memslot update from classification to commit.  Everything in it
 * that is allocated is allocated by slot_update_prepare, before anything
 * is published, so commit cannot fail.
 */
struct slot_update {
	enum slot_change change;
	int idx;			/* in the live array; -1 for a create */
	struct s2_memslot old;		/* the slot before (delete, move, flags) */
	struct s2_memslot new;		/* the slot after (create, move, flags) */
	bool log_start;			/* write-protect: logging starts */
	bool hw_start;			/* clean: hardware dirty logging starts */
	bool hw_stop;			/* fold: back to write-protect logging */
	bool ro_start;			/* zap: the slot becomes read-only */
	bool prefault;
	uint64_t *bitmap;		/* allocated here for new.dirty */
	uint64_t *free_bitmap;		/* old.dirty, freed after the commit */
	struct s2_memslots *invalid;	/* delete, move: the slot INVALID */
	struct s2_memslots *next;	/* the array after the update */
};

/*
 * Classify a set_memslot call against the live array @ms and check what
 * depends on the kind of change.  Allocates nothing, changes nothing.
 * Context: slots_lock held.
 */
static int slot_update_classify(struct s2_vm *vm, const struct s2_memslots *ms,
				struct slot_update *u, unsigned id, uint64_t gpa,
				uint64_t size, uint64_t hva, unsigned flags)
{
	unsigned i, sflags = flags & ~S2_MEM_PREFAULT;
	bool log_on = flags & S2_MEM_DIRTY_LOG;

	*u = (struct slot_update){ .idx = slot_index(ms, id) };
	if (u->idx < 0) {
		u->change = SLOT_CREATE;
	} else {
		u->old = ms->slot[u->idx];
		if (u->old.gpa != gpa || u->old.size != size || u->old.hva != hva)
			u->change = SLOT_MOVE;
		else
			u->change = SLOT_FLAGS;
		if (u->change == SLOT_MOVE && u->old.flags != sflags)
			return -S2_EINVAL;
	}
	for (i = 0; i < ms->nr; i++) {
		const struct s2_memslot *s = &ms->slot[i];

		if ((int)i != u->idx && gpa < s->gpa + s->size && s->gpa < gpa + size)
			return -S2_EEXIST;
	}
	if (u->change == SLOT_CREATE && ms->nr >= vm->max_slots)
		return -S2_ENOSPC;
	u->new = (struct s2_memslot){ gpa, size, hva, sflags, id, NULL };
	if (log_on && u->change == SLOT_FLAGS && u->old.dirty)
		u->new.dirty = u->old.dirty;	/* logging goes on: keep the bits */
	if (u->change != SLOT_CREATE && u->old.dirty && !u->new.dirty)
		u->free_bitmap = u->old.dirty;
	u->log_start = log_on && (u->change != SLOT_FLAGS || !(u->old.flags & S2_MEM_DIRTY_LOG));
	if (sflags & S2_MEM_DIRTY_HW) {
		u->hw_start = u->log_start || !(u->old.flags & S2_MEM_DIRTY_HW);
		u->log_start = false;
	}
	u->hw_stop = u->change == SLOT_FLAGS && log_on && !(sflags & S2_MEM_DIRTY_HW) &&
		     (u->old.flags & S2_MEM_DIRTY_HW);
	u->ro_start = u->change == SLOT_FLAGS && (sflags & S2_MEM_READONLY) &&
		      !(u->old.flags & S2_MEM_READONLY);
	u->prefault = flags & S2_MEM_PREFAULT;
	return 0;
}

/* The classification of a delete of slot @idx of @ms. */
static void slot_update_classify_delete(const struct s2_memslots *ms, int idx,
					struct slot_update *u)
{
	*u = (struct slot_update){ .change = SLOT_DELETE, .idx = idx, .old = ms->slot[idx] };
	u->free_bitmap = u->old.dirty;
}

static void slot_update_abort(struct s2_vm *vm, struct slot_update *u)
{
	const struct s2_platform *p = vm->plat;

	if (u->bitmap)
		p->free(vm->ctx, u->bitmap, bitmap_bytes(vm, u->new.size));
	if (u->invalid)
		p->free(vm->ctx, u->invalid, slots_bytes(u->invalid->cap));
	if (u->next)
		p->free(vm->ctx, u->next, slots_bytes(u->next->cap));
}

/*
 * Allocate everything the commit of @u publishes, built from the live
 * array @ms (which only memslot updates replace, and slots_lock keeps
 * them out until the commit is done): the INVALID phase's array of a
 * delete or move, the array after the update, a fresh dirty bitmap.
 * Return: 0, or -S2_ENOMEM with nothing allocated and nothing changed.
 * Context: slots_lock held.
 */
static int slot_update_prepare(struct s2_vm *vm, const struct s2_memslots *ms,
			       struct slot_update *u)
{
	const struct s2_platform *p = vm->plat;
	struct s2_memslots *n;

	if ((u->new.flags & S2_MEM_DIRTY_LOG) && !u->new.dirty) {
		u->bitmap = p->zalloc(vm->ctx, bitmap_bytes(vm, u->new.size));
		if (!u->bitmap)
			goto nomem;
		u->new.dirty = u->bitmap;
	}
	if (u->change == SLOT_DELETE || u->change == SLOT_MOVE) {
		u->invalid = slots_copy(vm, ms, 0);
		if (!u->invalid)
			goto nomem;
		u->invalid->slot[u->idx].flags |= S2_SLOT_INVALID;
	}
	n = slots_copy(vm, ms, u->change == SLOT_CREATE ? 1 : 0);
	if (!n)
		goto nomem;
	u->next = n;
	if (u->change == SLOT_CREATE)
		n->slot[n->nr++] = u->new;
	else if (u->change == SLOT_DELETE)
		n->slot[u->idx] = n->slot[--n->nr];
	else
		n->slot[u->idx] = u->new;
	return 0;
nomem:
	slot_update_abort(vm, u);
	return -S2_ENOMEM;
}

/*
 * The first phase of a delete or move: publish the array with the slot
 * INVALID and zap its old range once no fault that saw it valid can still
 * be installing (slots_publish bumped slots_gen under mmu_lock).
 * Context: slots_lock held.
 */
static void slot_invalidate(struct s2_vm *vm, struct slot_update *u)
{
	if (S2_BUG_INJECTED(vm->plat, vm->ctx, map_deleting_slot)) {
		/* zapped before faults that saw the slot valid are done:
		 * one of them installs into the range after the zap */
		zap_gpa(vm, u->old.gpa, u->old.size);
		slots_publish(vm, u->invalid);
		return;
	}
	slots_publish(vm, u->invalid);
	if (!S2_BUG_INJECTED(vm->plat, vm->ctx, memslot_delete_no_zap))
		zap_gpa(vm, u->old.gpa, u->old.size);
}

/*
 * Carry out a prepared update; cannot fail.  The arrays become the VM's
 * (slots_publish frees each predecessor after a grace period).
 * Context: slots_lock held.
 */
static void slot_update_commit(struct s2_vm *vm, struct slot_update *u)
{
	const struct s2_platform *p = vm->plat;

	if (u->invalid)
		slot_invalidate(vm, u);
	slots_publish(vm, u->next);
	VM_STAT(vm, memslot_updates);
	/*
	 * Logging on: write-protect after the publish, which bumped
	 * slots_gen, so no fault that saw the slot without logging can
	 * install a writable entry after this (its write would never be
	 * reported, I7); the ones that installed before are caught here.
	 */
	if (u->log_start) {
		if (vm->flags & S2_VM_EAGER_SPLIT)
			s2_vm_eager_split(vm, u->new.gpa, u->new.size);
		p->write_lock(vm->mmu_lock);
		if (vm->pgt)
			s2_pgt_wrprotect(vm->pgt, s2_gpa(u->new.gpa), u->new.size);
		p->write_unlock(vm->mmu_lock);
	}
	if (u->hw_start)
		s2_vm_hw_dirty_start(vm, &u->new);
	if (u->hw_stop)
		s2_vm_hw_dirty_stop(vm, &u->new);
	/* Read-only now: the writable entries must go (they are rebuilt by
	 * faults with the new permissions). */
	if (u->ro_start)
		zap_gpa(vm, u->new.gpa, u->new.size);
	/* no fault still uses it: every fault that copied the old slot
	 * checks slots_gen under mmu_lock before touching its bitmap */
	if (u->free_bitmap)
		p->free(vm->ctx, u->free_bitmap, bitmap_bytes(vm, u->old.size));
	if (u->prefault)
		prefault_pfnmap(vm, &u->new);
}

/* Prepare (every allocation; on failure nothing changed), then commit
 * (cannot fail).  Context: slots_lock held for write. */
static int slot_update_apply(struct s2_vm *vm, const struct s2_memslots *ms,
			     struct slot_update *u)
{
	int ret = slot_update_prepare(vm, ms, u);

	if (!ret)
		slot_update_commit(vm, u);
	return ret;
}

int s2_vm_set_memslot(struct s2_vm *vm, unsigned id, s2_gpa_t gpa, uint64_t size,
		      s2_hva_t hva, unsigned flags)
{
	const struct s2_platform *p;
	struct s2_memslots *ms;
	struct slot_update u;
	int ret;

	if (!vm)
		return -S2_EINVAL;
	ret = check_args(vm, id, gpa.v, size, hva.v, flags);
	if (ret)
		return ret;
	p = vm->plat;
	p->write_lock(vm->slots_lock);
	if (!s2_load_acquire(&vm->pgt)) {
		ret = -S2_ENOENT;
		goto out;
	}
	ms = slots_deref(vm);
	ret = slot_update_classify(vm, ms, &u, id, gpa.v, size, hva.v, flags);
	if (!ret)
		ret = slot_update_apply(vm, ms, &u);
out:
	p->write_unlock(vm->slots_lock);
	return ret;
}

int s2_vm_delete_memslot(struct s2_vm *vm, unsigned id)
{
	const struct s2_platform *p;
	struct s2_memslots *ms;
	struct slot_update u;
	int idx, ret;

	if (!vm || id >= vm->max_slots)
		return -S2_EINVAL;
	p = vm->plat;
	p->write_lock(vm->slots_lock);
	ms = slots_deref(vm);
	idx = slot_index(ms, id);
	if (idx < 0) {
		ret = -S2_ENOENT;
		goto out;
	}
	slot_update_classify_delete(ms, idx, &u);
	ret = slot_update_apply(vm, ms, &u);
out:
	p->write_unlock(vm->slots_lock);
	return ret;
}

int s2_vm_get_dirty_log(struct s2_vm *vm, unsigned id, uint64_t *bitmap, size_t words)
{
	const struct s2_platform *p;
	struct s2_memslot s;
	size_t i, need;
	int idx, ret = 0;

	if (!vm || !bitmap)
		return -S2_EINVAL;
	p = vm->plat;
	p->write_lock(vm->slots_lock);
	idx = slot_index(slots_deref(vm), id);
	if (idx < 0) {
		ret = -S2_ENOENT;
		goto out;
	}
	s = slots_deref(vm)->slot[idx];
	need = bitmap_bytes(vm, s.size) / 8;
	if (!(s.flags & S2_MEM_DIRTY_LOG) || !s.dirty || words < need) {
		ret = -S2_EINVAL;
		goto out;
	}
	VM_STAT(vm, harvests);
	p->write_lock(vm->mmu_lock);
	for (i = 0; i < need; i++) {
		uint64_t mask;

		/*
		 * Read-and-clear under mmu_lock, then write-protect what was
		 * dirty; the write faults that set bits take mmu_lock too, so
		 * a write is either in this harvest (and its page is copied
		 * by the caller after we return) or faults again afterwards
		 * and is in the next one (I7).
		 */
		if (S2_BUG_INJECTED(p, vm->ctx, dirty_harvest_race))
			mask = s2_load(&s.dirty[i]);
		else
			mask = s2_xchg(&s.dirty[i], 0);
		bitmap[i] = mask;
		/* hardware mode: every leaf is tested below instead */
		while (mask && vm->pgt && !(s.flags & S2_MEM_DIRTY_HW)) {
			unsigned b = (unsigned)__builtin_ctzll(mask);
			unsigned e = b;

			while (e < 64 && (mask & (1ULL << e)))
				e++;
			s2_pgt_wrprotect(vm->pgt,
					 s2_gpa(s.gpa + (((uint64_t)i * 64 + b) << vm->page_shift)),
					 (uint64_t)(e - b) << vm->page_shift);
			mask &= e == 64 ? 0 : ~0ULL << e;
		}
	}
	if ((s.flags & S2_MEM_DIRTY_HW) && vm->pgt)
		__s2_vm_hw_dirty_harvest(vm, vm->pgt, &s, bitmap);
	p->write_unlock(vm->mmu_lock);
	if (S2_BUG_INJECTED(p, vm->ctx, dirty_harvest_race)) {
		/* cleared after the lock is gone: a write fault that set a
		 * bit in between is wiped without being reported */
		S2_PREEMPT(p, vm->ctx, "harvest: lock dropped before clear");
		for (i = 0; i < need; i++)
			s2_store(&s.dirty[i], 0);
	}
	for (i = need; i < words; i++)
		bitmap[i] = 0;
out:
	p->write_unlock(vm->slots_lock);
	return ret;
}
