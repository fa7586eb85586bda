/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Dirty logging the way live migration uses it: manual protect
 * (KVM_CLEAR_DIRTY_LOG, with KVM_DIRTY_LOG_INITIALLY_SET) and per-vCPU
 * dirty rings.  The rule both keep is I7: a page is write-protected again
 * only by a call that also takes its dirty record away from the log (the
 * clear takes the bit, the reset frees the entry), under mmu_lock held for
 * write, with the TLB invalidation done before that call returns; the
 * caller copies the page after the return.  A write before the return is
 * in that copy; a write after it faults and is recorded again.
 */
#include "internal.h"

/* ------------------------------------------------------ manual protect */

void s2_dirty_log_peek(struct s2_vm *vm, const struct s2_memslot *s, uint64_t *bitmap,
		       size_t need)
{
	size_t i;

	/* no lock: a bit a racing fault sets is either copied or left for
	 * the next peek, and nothing is cleared here */
	(void)vm;
	for (i = 0; i < need; i++)
		bitmap[i] = s2_load(&s->dirty[i]);
}

void s2_dirty_bitmap_fill(struct s2_vm *vm, uint64_t *bitmap, uint64_t size)
{
	uint64_t pages = size >> vm->page_shift, i;

	/*
	 * init_set_bits_clear: logging starts with a clean bitmap although
	 * nothing was write-protected: a page the guest could write before
	 * stays writable and its writes are never reported (I7).
	 */
	if (S2_BUG_INJECTED(vm->plat, vm->ctx, init_set_bits_clear))
		return;
	for (i = 0; i < pages / 64; i++)
		bitmap[i] = ~0ULL;
	if (pages % 64)
		bitmap[pages / 64] = (1ULL << (pages % 64)) - 1;
}

/* Write-protect the pages of @prot, bit b standing for page @gpa0 + b
 * pages, one engine call per run of set bits.  Context: mmu_lock (write). */
static void __wrprotect_mask(struct s2_vm *vm, uint64_t gpa0, uint64_t prot)
{
	while (prot) {
		unsigned b = (unsigned)__builtin_ctzll(prot), e = b;

		while (e < 64 && (prot & (1ULL << e)))
			e++;
		/* the engine invalidates the TLB before it returns (I7) */
		s2_pgt_wrprotect(vm->pgt, s2_gpa(gpa0 + ((uint64_t)b << vm->page_shift)),
				 (uint64_t)(e - b) << vm->page_shift);
		prot &= e == 64 ? 0 : ~0ULL << e;
	}
}

static const struct s2_memslot *slot_by_id(const struct s2_memslots *ms, unsigned id)
{
	unsigned i;

	for (i = 0; i < ms->nr; i++)
		if (ms->slot[i].id == id)
			return &ms->slot[i];
	return NULL;
}

/*
 * With KVM_DIRTY_LOG_INITIALLY_SET and eager split, enabling logging split
 * nothing: the blocks of the pages about to be protected are split here,
 * before the protect (KVM does the same in its clear), so that a write to
 * a page still dirty does not fault for a block it shares with a clean
 * one.  Only the span between the first and last bit of @mask.
 */
static void clear_split(struct s2_vm *vm, const struct s2_memslot *s, uint64_t first_page,
			uint64_t npages, const uint64_t *mask)
{
	uint64_t lo = ~0ULL, hi = 0, w, nw = (npages + 63) / 64;

	for (w = 0; w < nw; w++) {
		if (!mask[w])
			continue;
		if (lo == ~0ULL)
			lo = w * 64 + (unsigned)__builtin_ctzll(mask[w]);
		hi = w * 64 + 63 - (unsigned)__builtin_clzll(mask[w]);
	}
	if (lo == ~0ULL)
		return;
	if (hi >= npages)
		hi = npages - 1;
	if (lo > hi)
		return;
	s2_vm_eager_split(vm, s->gpa + ((first_page + lo) << vm->page_shift),
		    (hi - lo + 1) << vm->page_shift);
}

/* Word @w of the caller's @mask, without the bits past @npages. */
static uint64_t chunk_mask(const uint64_t *mask, uint64_t w, uint64_t npages)
{
	uint64_t m = mask[w];

	if (w == (npages - 1) / 64 && (npages & 63))
		m &= (1ULL << (npages & 63)) - 1;
	return m;
}

/*
 * clear_log_protect_first: the pages protected under mmu_lock, their
 * bits taken only after it is dropped.  A write fault in between sets a
 * bit and maps the page writable again, and the late clear wipes that bit:
 * the page stays writable with no record (I7), the harvest race of
 * dirty_harvest_race in the clear.  Context: mmu_lock (write) held on
 * entry, dropped on return.
 */
static void bug_clear_protect_first(struct s2_vm *vm, const struct s2_memslot *s,
				    uint64_t first_page, uint64_t npages, const uint64_t *mask)
{
	uint64_t w, nw = (npages + 63) / 64;

	for (w = 0; w < nw; w++)
		if (vm->pgt)
			__wrprotect_mask(vm, s->gpa + ((first_page + w * 64) << vm->page_shift),
					 chunk_mask(mask, w, npages) &
					 s2_load(&s->dirty[first_page / 64 + w]));
	vm->plat->write_unlock(vm->mmu_lock);
	S2_PREEMPT(vm->plat, vm->ctx, "clear: pages protected, bits not yet taken");
	for (w = 0; w < nw; w++)
		s2_fetch_and(&s->dirty[first_page / 64 + w], ~chunk_mask(mask, w, npages));
}

int s2_vm_clear_dirty_log(struct s2_vm *vm, unsigned id, uint64_t first_page,
			  uint64_t npages, const uint64_t *mask)
{
	const struct s2_platform *p;
	const struct s2_memslot *sp;
	struct s2_memslot s;
	uint64_t pages, w, nw;
	int ret = 0;

	if (!vm || !mask || !(vm->flags & S2_VM_MANUAL_PROTECT) || (first_page & 63))
		return -S2_EINVAL;
	p = vm->plat;
	p->write_lock(vm->slots_lock);
	sp = slot_by_id(slots_deref(vm), id);
	if (!sp) {
		ret = -S2_ENOENT;
		goto out;
	}
	s = *sp;
	pages = s.size >> vm->page_shift;
	/* KVM_CLEAR_DIRTY_LOG's rule: whole 64-page words, but for the
	 * slot's last, which may be short */
	if (!(s.flags & S2_MEM_DIRTY_LOG) || !s.dirty || first_page > pages ||
	    npages > pages - first_page || ((npages & 63) && first_page + npages != pages)) {
		ret = -S2_EINVAL;
		goto out;
	}
	if (!npages)
		goto out;
	if ((vm->flags & S2_VM_EAGER_SPLIT) && s2_dirty_init_set(vm))
		clear_split(vm, &s, first_page, npages, mask);
	nw = (npages + 63) / 64;
	p->write_lock(vm->mmu_lock);
	if (S2_BUG_INJECTED(p, vm->ctx, clear_log_protect_first)) {
		bug_clear_protect_first(vm, &s, first_page, npages, mask);
		goto out;
	}
	/* bits taken and pages protected under one hold of mmu_lock, which
	 * the write faults that set bits hold for read (I7) */
	for (w = 0; w < nw; w++) {
		uint64_t m = chunk_mask(mask, w, npages), old, *word = &s.dirty[first_page / 64 + w];

		if (!m)
			continue;
		/*
		 * Take exactly the caller's bits, atomically: the write faults
		 * that set bits hold mmu_lock for read, which we exclude, but
		 * the word holds other pages' bits too.  clear_log_whole_word:
		 * the whole word cleared, so a page outside @mask that is
		 * dirty and writable loses its bit and its writes go
		 * unreported until something else protects it (I7).
		 */
		if (S2_BUG_INJECTED(p, vm->ctx, clear_log_whole_word))
			old = s2_xchg(word, 0);
		else
			old = s2_fetch_and(word, ~m);
		/* a page whose bit was clear is protected already: logging
		 * maps writable only for a write, which sets the bit */
		if (vm->pgt)
			__wrprotect_mask(vm, s.gpa + ((first_page + w * 64) << vm->page_shift),
					 m & old);
	}
	p->write_unlock(vm->mmu_lock);
out:
	p->write_unlock(vm->slots_lock);
	return ret;
}

/* --------------------------------------------------------- dirty rings */

/*
 * A ring has one producer (the faults of its vCPU, one at a time, under
 * mmu_lock held for read), one harvester (the VMM) and the reset (mmu_lock
 * held for write).  An entry goes free -> DIRTY (push) -> HARVESTED
 * (harvest) -> free (reset), and each index only moves forward:
 * reset <= fetch <= push <= reset + size.
 */
struct s2_dirty_ring {
	struct s2_dirty_ring *next;	/* vm->rings, under slots_lock */
	struct s2_vm *vm;		/* the VM whose reset protects its pages */
	unsigned size, soft;
	uint64_t push;			/* the producer's; read by used() */
	uint64_t fetch;			/* the harvester's */
	uint64_t reset;			/* the reset's; the producer reads it */
	struct s2_dirty_gfn e[];
};

static size_t ring_bytes(unsigned size)
{
	return sizeof(struct s2_dirty_ring) + (size_t)size * sizeof(struct s2_dirty_gfn);
}

int s2_vm_dirty_ring_create(struct s2_vm *vm, unsigned entries, struct s2_dirty_ring **out)
{
	struct s2_dirty_ring *r;

	if (!vm || !out || entries < 2 || entries > 65536 || (entries & (entries - 1)))
		return -S2_EINVAL;
	r = vm->plat->zalloc(vm->ctx, ring_bytes(entries));
	if (!r)
		return -S2_ENOMEM;
	r->vm = vm;
	r->size = entries;
	/* the slack lets a VMM that exits on the signal finish what its
	 * vCPU is doing before it harvests (KVM reserves entries likewise) */
	r->soft = entries - (entries / 8 ? entries / 8 : 1);
	vm->plat->write_lock(vm->slots_lock);
	r->next = vm->rings;
	vm->rings = r;
	vm->plat->write_unlock(vm->slots_lock);
	*out = r;
	return 0;
}

void s2_vm_dirty_ring_free(struct s2_vm *vm, struct s2_dirty_ring *ring)
{
	struct s2_dirty_ring **pp;

	if (!vm || !ring || ring->vm != vm)
		return;
	vm->plat->write_lock(vm->slots_lock);
	for (pp = &vm->rings; *pp; pp = &(*pp)->next)
		if (*pp == ring) {
			*pp = ring->next;
			break;
		}
	vm->plat->write_unlock(vm->slots_lock);
	vm->plat->free(vm->ctx, ring, ring_bytes(ring->size));
}

void s2_dirty_rings_free_all(struct s2_vm *vm)
{
	while (vm->rings) {
		struct s2_dirty_ring *r = vm->rings;

		vm->rings = r->next;
		vm->plat->free(vm->ctx, r, ring_bytes(r->size));
	}
}

unsigned s2_dirty_ring_used(const struct s2_dirty_ring *ring)
{
	if (!ring)
		return 0;
	return (unsigned)(s2_load_acquire(&ring->push) - s2_load_acquire(&ring->reset));
}

bool s2_dirty_ring_of(const struct s2_vm *vm, const struct s2_dirty_ring *ring)
{
	return ring->vm == vm;
}

bool __s2_ring_soft_full(struct s2_dirty_ring *ring)
{
	return s2_dirty_ring_used(ring) >= ring->soft;
}

bool __s2_ring_has_room(struct s2_vm *vm, struct s2_dirty_ring *ring)
{
	/*
	 * ring_push_drop_full: a full ring does not stop the fault, which
	 * maps the page writable and drops its entry: that write and every
	 * later one to the page go unreported (I7).  The correct fault backs
	 * off with -S2_EBUSY, mapping nothing.
	 */
	if (S2_BUG_INJECTED(vm->plat, vm->ctx, ring_push_drop_full))
		return true;
	/* acquire: the entries the reset freed are free before we reuse */
	return ring->push - s2_load_acquire(&ring->reset) < ring->size;
}

bool __s2_ring_push(struct s2_vm *vm, struct s2_dirty_ring *ring, unsigned slot,
		    uint64_t offset)
{
	struct s2_dirty_gfn *e;

	if (ring->push - s2_load_acquire(&ring->reset) >= ring->size)
		return false;	/* only with ring_push_drop_full */
	e = &ring->e[ring->push & (ring->size - 1)];
	if (S2_BUG_INJECTED(vm->plat, vm->ctx, ring_flag_before_entry)) {
		/*
		 * ring_flag_before_entry: the entry published before its
		 * contents: a harvest in between takes the slot and offset
		 * the entry held before (its previous lap's, or page 0), so
		 * the VMM copies the wrong page while the reset takes this
		 * one's record away (I7).
		 */
		s2_store_release(&e->flags, S2_DIRTY_GFN_DIRTY);
		S2_PREEMPT(vm->plat, vm->ctx, "ring: entry flagged before filled");
		s2_store(&e->slot, slot);
		s2_store(&e->offset, offset);
	} else {
		s2_store(&e->slot, slot);
		s2_store(&e->offset, offset);
		/* release: a harvester that sees DIRTY sees the contents */
		s2_store_release(&e->flags, S2_DIRTY_GFN_DIRTY);
	}
	s2_store_release(&ring->push, ring->push + 1);
	return true;
}

size_t s2_dirty_ring_harvest(struct s2_dirty_ring *ring, struct s2_dirty_gfn *out, size_t max)
{
	size_t n = 0;

	if (!ring || !out)
		return 0;
	while (n < max) {
		struct s2_dirty_gfn *e = &ring->e[ring->fetch & (ring->size - 1)];

		/* a free or harvested entry ends what was pushed (the one at
		 * fetch after a whole lap is HARVESTED until reset) */
		if (s2_load_acquire(&e->flags) != S2_DIRTY_GFN_DIRTY)
			break;
		out[n].flags = S2_DIRTY_GFN_DIRTY;
		out[n].slot = s2_load(&e->slot);
		out[n].offset = s2_load(&e->offset);
		s2_store_release(&e->flags, S2_DIRTY_GFN_HARVESTED);
		ring->fetch++;
		n++;
	}
	return n;
}

/* A run of pages of one slot to write-protect, merged from entries. */
struct ring_run {
	bool on;
	unsigned slot;
	uint64_t start, end;	/* pages of the slot */
};

/* Protect @run if its slot still logs and holds it.  Context: slots_lock,
 * mmu_lock (write). */
static void __ring_run_protect(struct s2_vm *vm, const struct s2_memslots *ms,
			       struct ring_run *run)
{
	const struct s2_memslot *s;
	uint64_t pages;

	if (!run->on)
		return;
	run->on = false;
	s = slot_by_id(ms, run->slot);
	if (!s || !vm->pgt || !(s->flags & S2_MEM_DIRTY_LOG) || (s->flags & S2_SLOT_INVALID))
		return;	/* gone, or not logging: nothing owes a fault */
	pages = s->size >> vm->page_shift;
	if (run->start >= pages)
		return;
	if (run->end > pages)
		run->end = pages;
	s2_pgt_wrprotect(vm->pgt, s2_gpa(s->gpa + (run->start << vm->page_shift)),
			 (run->end - run->start) << vm->page_shift);
}

/* Reset @r's harvested entries.  Context: slots_lock, mmu_lock (write). */
static void __ring_reset(struct s2_vm *vm, const struct s2_memslots *ms, struct s2_dirty_ring *r)
{
	struct ring_run run = { 0 };
	uint64_t i, end = r->reset;

	for (;;) {
		struct s2_dirty_gfn *e = &r->e[end & (r->size - 1)];
		unsigned slot;
		uint64_t off;

		if (end - r->reset >= r->size || s2_load_acquire(&e->flags) != S2_DIRTY_GFN_HARVESTED)
			break;
		slot = s2_load(&e->slot);
		off = s2_load(&e->offset);
		if (run.on && run.slot == slot && off == run.end) {
			run.end++;
		} else if (!(run.on && run.slot == slot && off >= run.start && off < run.end)) {
			__ring_run_protect(vm, ms, &run);
			run = (struct ring_run){ true, slot, off, off + 1 };
		}
		end++;
	}
	__ring_run_protect(vm, ms, &run);
	/*
	 * Only now, with every page protected and its TLB entries gone, are
	 * the entries free: a push into one of them records a write that
	 * faulted after the protect, never one that went through before it.
	 */
	for (i = r->reset; i < end; i++)
		s2_store(&r->e[i & (r->size - 1)].flags, 0);
	s2_store_release(&r->reset, end);
}

long s2_vm_reset_dirty_rings(struct s2_vm *vm)
{
	const struct s2_platform *p;
	const struct s2_memslots *ms;
	struct s2_dirty_ring *r;
	long n = 0;

	if (!vm)
		return -S2_EINVAL;
	p = vm->plat;
	p->write_lock(vm->slots_lock);
	ms = slots_deref(vm);
	p->write_lock(vm->mmu_lock);
	for (r = vm->rings; r; r = r->next) {
		uint64_t before = r->reset;

		__ring_reset(vm, ms, r);
		n += (long)(r->reset - before);
	}
	p->write_unlock(vm->mmu_lock);
	p->write_unlock(vm->slots_lock);
	return n;
}
