/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The stage-2 fault path, in the order of DESIGN.md section 4, in three
 * phases (as x86 KVM faults the frame in before it takes mmu_lock to map
 * it):
 *  - prepare, no lock: memslot -> snapshot the invalidation sequence ->
 *    resolve HVA->frame -> decide permissions;
 *  - install, mmu_lock for read: table gone? sequence moved? overlapping
 *    invalidation in progress? -> choose the size from the host mapping ->
 *    install or relax -> mark dirty;
 *  - finish, after the unlock: drop the frame reference.
 * Each catalogue bug of the path (include/s2mmu/check.h) sits in a small
 * helper: bug_*() ones do nothing unless their bug is switched on, the
 * others (fault_sample_seq, host_writable, seq_moved, retry_cause,
 * fault_size) carry the switch beside the rule it breaks.  So the correct
 * path reads straight through; outside check builds every switch is false.
 */
#include "internal.h"

/* One fault: what prepare learned, and what install decided. */
struct s2_fault {
	struct s2_vm *vm;
	struct s2_memcache *mc;
	struct s2_dirty_ring *ring;	/* the vCPU's, or NULL: the bitmap */
	struct s2_fault_info *info;
	struct s2_memslot slot;		/* a copy, valid while slots_gen == gen */
	struct s2_resolved r;		/* holds a frame reference until finish */
	uint64_t gpa, hva, seq, gen;
	uint64_t early_host_size;	/* 0 but under bug_early_host_size() */
	uint64_t size;
	unsigned access, prot, sh;
	bool write;
};

/*
 * hostlevel_unlocked (seed 002): the host level read before the snapshot,
 * so no retry check covers it; vma_info_after_unlock ("Retry fault if
 * vma_lookup() results become invalid"): a size derived from the VMA's
 * extent, captured as KVM did under mmap_lock before the snapshot, and
 * consumed after the VMA may have changed.  The correct path reads the
 * host level only under mmu_lock (__s2_fault_size).
 */
static uint64_t bug_early_host_size(struct s2_vm *vm, uint64_t hva)
{
	const struct s2_platform *p = vm->plat;
	uint64_t early = 0;

	if (S2_BUG_INJECTED(p, vm->ctx, hostlevel_unlocked))
		early = vm->host->mapping_size(vm->host_ctx, s2_hva(hva));
	if (S2_BUG_INJECTED(p, vm->ctx, vma_info_after_unlock) && vm->host->vma_info) {
		struct s2_vma_info vi;
		/* KVM's PMD_SIZE: a last-level table's reach in this granule
		 * (2M, 32M, 512M), the only block size such a check picks */
		uint64_t blk = 1ULL << (2 * vm->page_shift - 3), b = hva & ~(blk - 1);

		if (!vm->host->vma_info(vm->host_ctx, s2_hva(hva), &vi) &&
		    vi.start.v <= b && vi.end.v >= b + blk)
			early = blk;
	}
	return early;
}

/* Seed 000: snapshot before resolving: an invalidation that ends after
 * this point moves the sequence and our frame may be stale. */
static void fault_sample_seq(struct s2_fault *f)
{
	if (!S2_BUG_INJECTED(f->vm->plat, f->vm->ctx, seq_snapshot_late))
		f->seq = s2_load_acquire(&f->vm->seq);
}

/* seq_snapshot_late: sampled after the frame lookup, so an invalidation
 * that ran in between goes unseen (seed 000) */
static void bug_sample_seq_late(struct s2_fault *f)
{
	if (S2_BUG_INJECTED(f->vm->plat, f->vm->ctx, seq_snapshot_late))
		f->seq = s2_load_acquire(&f->vm->seq);
}

/* Seed 003: does the host map the frame writable now?  ro_check_at_create:
 * trusted the permission seen when the memslot was made instead. */
static bool host_writable(const struct s2_fault *f)
{
	return f->r.writable || S2_BUG_INJECTED(f->vm->plat, f->vm->ctx, ro_check_at_create);
}

/*
 * Seed 000: has the sequence moved since @seq was sampled?
 * seq_truncate ("Fix an sign-extension bug with mmu_seq that hangs
 * vCPUs"): the snapshot kept in an int, sign-extended on compare.
 */
static bool seq_moved(struct s2_vm *vm, uint64_t seq)
{
	if (S2_BUG_INJECTED(vm->plat, vm->ctx, seq_truncate))
		return (uint64_t)(int64_t)(int32_t)seq != s2_load(&vm->seq);
	return seq != s2_load(&vm->seq);
}

/*
 * Seed 000: is a fault that sampled @seq for @gpa stale?  Under mmu_lock;
 * the caller checks slots_gen as well.
 *
 * The in-progress range is by GPA (internal.h).  Why a fault whose frame
 * is being unmapped always lands in it: the frame came from resolving
 * hva = slot.hva + (gpa - slot.gpa) with the slot of generation gen.  If
 * slots_gen still reads gen under mmu_lock, that slot is the live one and
 * no array was published since the lookup; an array is only published
 * with mn_active == 0 under mmu_lock (memslot.c slots_publish), and
 * mn_active counts every start until its end is done, so every start
 * that is in progress now translated its HVA range with this same array
 * and therefore put this slot's image of @hva, which is @gpa, into the
 * range.  A start that already ended moved the sequence past @seq.
 */
static int retry_cause(struct s2_vm *vm, uint64_t seq, uint64_t gpa)
{
	const struct s2_platform *p = vm->plat;

	/* fault_no_retry: installs without checking anything */
	if (S2_BUG_INJECTED(p, vm->ctx, fault_no_retry))
		return S2_RETRY_NONE;
	/*
	 * In progress first: a start has zapped but not yet bumped the
	 * sequence, so the sequence alone cannot see it, and the frame we
	 * resolved may be the one being unmapped.  ignore_in_progress:
	 * only the sequence compared.
	 */
	if (vm->in_progress && !S2_BUG_INJECTED(p, vm->ctx, ignore_in_progress)) {
		if ((vm->flags & S2_VM_COUNTER_TRACKING) ||
		    (gpa >= vm->range_start && gpa < vm->range_end))
			return S2_RETRY_RANGE;
	}
	if (seq_moved(vm, seq))
		return S2_RETRY_SEQ;
	return S2_RETRY_NONE;
}

/*
 * Seed 002 and "Fix unintended stage 2 PMD mappings": a block needs the
 * host to map the whole block contiguously (its mapping size, read now,
 * under mmu_lock after the retry check, so any collapse/split that would
 * change it has either completed its invalidation or makes us retry), the
 * HVA and IPA congruent modulo the block, and the block inside the slot.
 */
static uint64_t fault_size(struct s2_vm *vm, struct s2_pgtable *pgt,
			   const struct s2_memslot *s, uint64_t gpa, uint64_t hva,
			   uint64_t host_size)
{
	uint64_t sz = s2_pgt_max_block(pgt, host_size);
	uint64_t page = 1ULL << vm->page_shift;

	if (host_size < page)
		return page;
	for (; sz > page; sz = s2_pgt_max_block(pgt, sz - 1)) {
		uint64_t b = gpa & ~(sz - 1);

		if (S2_BUG_INJECTED(vm->plat, vm->ctx, block_misaligned_slot))
			return sz;
		if ((gpa & (sz - 1)) != (hva & (sz - 1)))
			continue;
		if (b < s->gpa || b + sz > s->gpa + s->size)
			continue;
		return sz;
	}
	return page;
}

/*
 * A copy of the slot and the generation it belongs to; the copy is
 * checked against slots_gen under mmu_lock before anything is installed
 * ("Avoid illegal stage2 mapping on invalid memory slot").
 * Return: 0, or -S2_EFAULT (no slot, a slot being deleted or moved, a
 * write to a read-only slot).
 */
static int fault_lookup_slot(struct s2_fault *f)
{
	struct s2_vm *vm = f->vm;
	const struct s2_memslot *sp;

	vm->plat->rcu_read_lock(vm->ctx);
	f->gen = s2_load_acquire(&vm->slots_gen);
	sp = slot_find(slots_deref(vm), f->gpa);
	if (sp)
		f->slot = *sp;
	vm->plat->rcu_read_unlock(vm->ctx);
	if (!sp || (f->slot.flags & S2_SLOT_INVALID) ||
	    (f->write && (f->slot.flags & S2_MEM_READONLY))) {
		VM_STAT_SH(vm, f->sh, efault);
		return -S2_EFAULT;
	}
	f->hva = f->slot.hva + (f->gpa - f->slot.gpa);
	return 0;
}

/*
 * Permissions from the slot and the host at fault time (seed 003: the
 * host may have made the page read-only since the slot was made).  With
 * dirty logging only a write fault maps writable, so every first write
 * after a harvest faults and is recorded (I7); with hardware dirty
 * logging a read maps the page writable-clean instead, and the hardware
 * records the first write.
 */
static unsigned fault_prot(const struct s2_fault *f)
{
	unsigned prot = S2_PROT_R;

	if (!(f->slot.flags & S2_MEM_READONLY) && host_writable(f)) {
		if (f->write || !(f->slot.flags & S2_MEM_DIRTY_LOG))
			prot |= S2_PROT_W;
		else if (f->slot.flags & S2_MEM_DIRTY_HW)
			prot |= S2_PROT_W | S2_PROT_CLEAN;	/* the hardware logs */
	}
	if (f->r.device)
		prot |= S2_PROT_DEVICE;
	else if (f->access & S2_ACC_EXEC)
		prot |= S2_PROT_X;
	return prot;
}

/*
 * Prepare, no lock held: the slot, the sequence snapshot, the frame and
 * the permissions.  Return: 0 with a frame reference in @f->r; or an
 * error with none (nothing to finish).
 */
static int fault_prepare(struct s2_fault *f)
{
	struct s2_vm *vm = f->vm;
	const struct s2_platform *p = vm->plat;
	int ret;

	ret = fault_lookup_slot(f);
	if (ret)
		return ret;
	f->early_host_size = bug_early_host_size(vm, f->hva);
	S2_PREEMPT(p, vm->ctx, "fault: host facts read");

	fault_sample_seq(f);
	S2_PREEMPT(p, vm->ctx, "fault: sequence sampled");

	ret = s2_vm_memcache_topup(vm, f->mc,
				   (unsigned long)(S2_LAST_LEVEL - vm->pgt_storage.start_level));
	if (ret)
		return ret;
	ret = vm->host->resolve(vm->host_ctx, s2_hva(f->hva), f->write, &f->r);
	if (ret) {
		if (ret == -S2_EAGAIN) {
			f->info->retry_cause = S2_RETRY_HOST;
			VM_STAT_SH(vm, f->sh, retries[S2_RETRY_HOST]);
		}
		return ret;
	}
	S2_PREEMPT(p, vm->ctx, "fault: frame resolved");
	bug_sample_seq_late(f);

	f->prot = fault_prot(f);
	return 0;
}

/* release_null_pgt_fault (seed 000): KVM's user_mem_abort used mmu->pgt
 * without checking it; the NULL dereference it would make, made
 * observable where the correct path backs off the released table */
static void bug_use_released_pgt(struct s2_vm *vm)
{
	if (S2_BUG_INJECTED(vm->plat, vm->ctx, release_null_pgt_fault))
		S2_VIOLATION(vm->plat, vm->ctx, S2_INV_I4,
			     "fault path used the released (NULL) table");
}

/* Back off: the vCPU retries the fault.  Context: mmu_lock (read). */
static int __s2_fault_backoff(struct s2_fault *f, int cause)
{
	struct s2_vm *vm = f->vm;

	/* spurious: no in-progress invalidation covers this GPA (the counter
	 * scheme's retries for others, sequence moves, memslot changes) */
	if (!vm->in_progress || f->gpa < vm->range_start || f->gpa >= vm->range_end)
		VM_STAT_SH(vm, f->sh, spurious_retries);
	f->info->retry_cause = cause;
	VM_STAT_SH(vm, f->sh, retries[cause]);
	return -S2_EAGAIN;
}

/* The size of the leaf to install, from the host mapping read now (seed
 * 002: only after the retry check).  Context: mmu_lock (read). */
static uint64_t __s2_fault_size(struct s2_fault *f, struct s2_pgtable *pgt)
{
	struct s2_vm *vm = f->vm;
	uint64_t hs = f->early_host_size;

	if ((f->slot.flags & S2_MEM_DIRTY_LOG) || f->r.device)
		return 1ULL << vm->page_shift;
	if (!hs)
		hs = vm->host->mapping_size(vm->host_ctx, s2_hva(f->hva));
	return fault_size(vm, pgt, &f->slot, f->gpa, f->hva, hs);
}

/*
 * Map the frame, or relax the leaf that already maps it.
 * Return: 0, or the engine's error (-S2_EAGAIN/-S2_ENOENT: lost a race
 * with another walker).  Context: mmu_lock (read), shared walks.
 */
static int __s2_fault_map(struct s2_fault *f, struct s2_pgtable *pgt)
{
	struct s2_vm *vm = f->vm;
	uint64_t bgpa = f->gpa & ~(f->size - 1);
	uint64_t bpa = f->r.pa.v - (f->gpa - bgpa);
	struct s2_mapping cur;
	int ret;

	/*
	 * A leaf already maps this frame: a permission fault (add W or X)
	 * or an access-flag fault.  Relax in place rather than remap, KVM's
	 * policy, so a racing vCPU's valid translation is never broken.
	 */
	ret = s2_pgt_lookup(pgt, s2_gpa(f->gpa), &cur);
	if (!ret && cur.valid &&
	    cur.pa.v + (f->gpa - cur.ipa.v) == f->r.pa.v && cur.size == f->size &&
	    (cur.prot & S2_PROT_DEVICE) == (f->prot & S2_PROT_DEVICE)) {
		unsigned have = cur.prot, add;

		/* a writable-clean leaf already grants a read fault's W|CLEAN:
		 * relaxing it to writable would make it dirty (I7: reads
		 * never mark a page) */
		if (cur.hw_dirty_ok && (f->prot & S2_PROT_CLEAN))
			have |= S2_PROT_W;
		add = f->prot & ~have & (S2_PROT_W | S2_PROT_X);

		if (add) {
			ret = s2_pgt_relax_perms(pgt, s2_gpa(f->gpa), add, S2_WALK_SHARED);
			VM_STAT_SH(vm, f->sh, relaxes);
		} else {
			ret = s2_pgt_mkyoung(pgt, s2_gpa(f->gpa), S2_WALK_SHARED);
			VM_STAT_SH(vm, f->sh, young_faults);
		}
		f->size = cur.size;
		f->prot |= cur.prot;
		return ret;
	}
	ret = s2_pgt_map(pgt, s2_gpa(bgpa), f->size, s2_hpa(bpa), f->prot, f->size, f->mc,
			 S2_WALK_SHARED);
	if (!ret) {
		VM_STAT_SH(vm, f->sh, installs);
		if (f->size > (1ULL << vm->page_shift))
			VM_STAT_SH(vm, f->sh, blocks);
	}
	return ret;
}

/*
 * Install, mmu_lock held for read: back off if the table is gone or the
 * snapshot is stale, else map or relax and log the write.
 * Return: as s2_vm_fault.
 */
static int __s2_fault_install(struct s2_fault *f)
{
	struct s2_vm *vm = f->vm;
	struct s2_pgtable *pgt = s2_load(&vm->pgt);
	int ret, cause;

	if (!pgt) {
		bug_use_released_pgt(vm);
		VM_STAT_SH(vm, f->sh, after_release);
		return -S2_ENOENT;
	}
	cause = retry_cause(vm, f->seq, f->gpa);
	if (cause == S2_RETRY_NONE && s2_load(&vm->slots_gen) != f->gen)
		cause = S2_RETRY_MEMSLOT;
	if (cause != S2_RETRY_NONE)
		return __s2_fault_backoff(f, cause);
	/* I7 with a ring: a write whose entry has no room is not mapped (it
	 * would go through unrecorded); the VMM harvests, resets, retries */
	if (f->ring && f->write && (f->slot.flags & S2_MEM_DIRTY_LOG) &&
	    !__s2_ring_has_room(vm, f->ring))
		return -S2_EBUSY;

	f->size = __s2_fault_size(f, pgt);
	ret = __s2_fault_map(f, pgt);
	if (ret == -S2_EAGAIN || ret == -S2_ENOENT) {
		/* lost a race with another walker on this entry */
		f->info->retry_cause = S2_RETRY_RACE;
		VM_STAT_SH(vm, f->sh, retries[S2_RETRY_RACE]);
		return -S2_EAGAIN;
	}
	/* I7: the bit is set (the entry pushed) under mmu_lock, which the
	 * harvest (the ring reset) takes for write, so this write is in this
	 * harvest or the next */
	if (!ret && f->write && (f->slot.flags & S2_MEM_DIRTY_LOG) && f->slot.dirty) {
		uint64_t bit = (f->gpa - f->slot.gpa) >> vm->page_shift;

		if (f->ring)
			__s2_ring_push(vm, f->ring, f->slot.id, bit);
		else
			s2_fetch_or(&f->slot.dirty[bit / 64], 1ULL << (bit % 64));
		VM_STAT_SH(vm, f->sh, dirty_pages);
	}
	f->info->size = f->size;
	f->info->pa = f->r.pa;
	f->info->prot = f->prot;
	return ret;
}

/* The reference kept the frame from being freed and reused until the
 * entry was in place or we backed off; a notifier zaps it from here. */
static void fault_finish(struct s2_fault *f)
{
	f->vm->host->put(f->vm->host_ctx, &f->r);
}

int s2_vm_fault(struct s2_vm *vm, s2_gpa_t gpa, unsigned access,
		struct s2_memcache *mc, struct s2_fault_info *info)
{
	return s2_vm_fault_ring(vm, gpa, access, mc, NULL, info);
}

int s2_vm_fault_ring(struct s2_vm *vm, s2_gpa_t gpa, unsigned access, struct s2_memcache *mc,
		     struct s2_dirty_ring *ring, struct s2_fault_info *info)
{
	struct s2_fault_info dummy;
	struct s2_fault f;
	int ret;

	if (!info)
		info = &dummy;
	*info = (struct s2_fault_info){ 0 };
	if (!vm || !mc || !access || (access & ~(S2_ACC_READ | S2_ACC_WRITE | S2_ACC_EXEC)) ||
	    (ring && !s2_dirty_ring_of(vm, ring)))
		return -S2_EINVAL;
	if (gpa.v >> vm->ia_bits)
		return -S2_ERANGE;
	f.vm = vm;
	f.mc = mc;
	f.ring = ring;
	f.info = info;
	f.access = access;
	f.write = access & S2_ACC_WRITE;
	f.sh = stat_shard(mc);
	f.gpa = gpa.v & ~((1ULL << vm->page_shift) - 1);
	f.seq = 0;
	VM_STAT_SH(vm, f.sh, faults);

	ret = fault_prepare(&f);
	if (ret)
		return ret;
	vm->plat->read_lock(vm->mmu_lock);
	ret = __s2_fault_install(&f);
	vm->plat->read_unlock(vm->mmu_lock);
	fault_finish(&f);
	if (!ret && ring && __s2_ring_soft_full(ring))
		ret = S2_FAULT_RING_SOFT_FULL;
	return ret;
}
