/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The stage-2 fault path, in the order of DESIGN.md section 4:
 * memslot -> snapshot the invalidation sequence -> resolve HVA->frame ->
 * decide permissions -> mmu_lock -> table gone? sequence moved? overlapping
 * invalidation in progress? -> choose the size from the host mapping ->
 * install or relax -> unlock -> drop the frame reference.
 */
#include "internal.h"

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

	if (S2_BUG(p, vm->ctx, fault_no_retry))
		return S2_RETRY_NONE;
	/*
	 * In progress first: a start has zapped but not yet bumped the
	 * sequence, so the sequence alone cannot see it, and the frame we
	 * resolved may be the one being unmapped.
	 */
	if (vm->in_progress && !S2_BUG(p, vm->ctx, ignore_in_progress)) {
		if ((vm->flags & S2_VM_COUNTER_TRACKING) ||
		    (gpa >= vm->range_start && gpa < vm->range_end))
			return S2_RETRY_RANGE;
	}
	if (S2_BUG(p, vm->ctx, seq_truncate)) {
		/* "Fix an sign-extension bug with mmu_seq that hangs vCPUs":
		 * the snapshot kept in an int, sign-extended on compare */
		int32_t narrow = (int32_t)seq;

		if ((uint64_t)(int64_t)narrow != s2_load(&vm->seq))
			return S2_RETRY_SEQ;
		return S2_RETRY_NONE;
	}
	if (seq != s2_load(&vm->seq))
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

		if (S2_BUG(vm->plat, vm->ctx, block_misaligned_slot))
			return sz;
		if ((gpa & (sz - 1)) != (hva & (sz - 1)))
			continue;
		if (b < s->gpa || b + sz > s->gpa + s->size)
			continue;
		return sz;
	}
	return page;
}

int s2_vm_fault(struct s2_vm *vm, s2_gpa_t gpa_, unsigned access,
		struct s2_memcache *mc, struct s2_fault_info *info)
{
	const struct s2_platform *p;
	struct s2_fault_info dummy;
	struct s2_memslot slot;
	const struct s2_memslot *sp;
	struct s2_resolved r;
	struct s2_pgtable *pgt;
	struct s2_mapping cur;
	uint64_t gpa = gpa_.v, hva, seq = 0, gen, size, bpa, bgpa, early_host_size = 0;
	unsigned prot;
	bool write = access & S2_ACC_WRITE;
	int ret, cause;
	unsigned sh = stat_shard(mc);

	if (!info)
		info = &dummy;
	*info = (struct s2_fault_info){ 0 };
	if (!vm || !mc || !access || (access & ~(S2_ACC_READ | S2_ACC_WRITE | S2_ACC_EXEC)))
		return -S2_EINVAL;
	p = vm->plat;
	if (gpa >> vm->ia_bits)
		return -S2_ERANGE;
	VM_STAT_SH(vm, sh, faults);
	gpa &= ~((1ULL << vm->page_shift) - 1);

	/*
	 * A copy of the slot and the generation it belongs to; the copy is
	 * checked against slots_gen under mmu_lock before anything is
	 * installed ("Avoid illegal stage2 mapping on invalid memory slot").
	 */
	p->rcu_read_lock(vm->ctx);
	gen = s2_load_acquire(&vm->slots_gen);
	sp = slot_find(slots_deref(vm), gpa);
	if (sp)
		slot = *sp;
	p->rcu_read_unlock(vm->ctx);
	if (!sp || (slot.flags & S2_SLOT_INVALID) ||
	    (write && (slot.flags & S2_MEM_READONLY))) {
		VM_STAT_SH(vm, sh, efault);
		return -S2_EFAULT;
	}
	hva = slot.hva + (gpa - slot.gpa);

	/*
	 * hostlevel_unlocked (seed 002): the host level read before the
	 * snapshot, so no retry check covers it; vma_info_after_unlock
	 * ("Retry fault if vma_lookup() results become invalid"): a size
	 * derived from the VMA's extent, captured as KVM did under mmap_lock
	 * before the snapshot, and consumed after the VMA may have changed.
	 */
	if (S2_BUG(p, vm->ctx, hostlevel_unlocked))
		early_host_size = vm->host->mapping_size(vm->host_ctx, s2_hva(hva));
	if (S2_BUG(p, vm->ctx, vma_info_after_unlock) && vm->host->vma_info) {
		struct s2_vma_info vi;
		uint64_t b = hva & ~((2ULL << 20) - 1);

		if (!vm->host->vma_info(vm->host_ctx, s2_hva(hva), &vi) &&
		    vi.start.v <= b && vi.end.v >= b + (2ULL << 20))
			early_host_size = 2ULL << 20;
	}
	S2_PREEMPT(p, vm->ctx, "fault: host facts read");

	/* Snapshot before resolving: an invalidation that ends after this
	 * point moves the sequence and our frame may be stale (seed 000). */
	if (!S2_BUG(p, vm->ctx, seq_snapshot_late))
		seq = s2_load_acquire(&vm->seq);
	S2_PREEMPT(p, vm->ctx, "fault: sequence sampled");

	ret = s2_mc_topup(vm, mc, (unsigned long)(S2_LAST_LEVEL - vm->pgt_storage.start_level));
	if (ret)
		return ret;
	ret = vm->host->resolve(vm->host_ctx, s2_hva(hva), write, &r);
	if (ret) {
		if (ret == -S2_EAGAIN) {
			info->retry_cause = S2_RETRY_HOST;
			VM_STAT_SH(vm, sh, retries[S2_RETRY_HOST]);
		}
		return ret;
	}
	S2_PREEMPT(p, vm->ctx, "fault: frame resolved");
	/* seq_snapshot_late: sampled after the frame lookup, so an
	 * invalidation that ran in between goes unseen (seed 000) */
	if (S2_BUG(p, vm->ctx, seq_snapshot_late))
		seq = s2_load_acquire(&vm->seq);

	/*
	 * Permissions from the slot and the host at fault time (seed 003:
	 * the host may have made the page read-only since the slot was made).
	 * With dirty logging only a write fault maps writable, so every
	 * first write after a harvest faults and is recorded (I7).
	 */
	prot = S2_PROT_R;
	if (!(slot.flags & S2_MEM_READONLY) &&
	    (r.writable || S2_BUG(p, vm->ctx, ro_check_at_create)) &&
	    (write || !(slot.flags & S2_MEM_DIRTY_LOG)))
		prot |= S2_PROT_W;
	if (r.device)
		prot |= S2_PROT_DEVICE;
	else if (access & S2_ACC_EXEC)
		prot |= S2_PROT_X;

	p->read_lock(vm->mmu_lock);
	pgt = s2_load(&vm->pgt);
	if (!pgt && S2_BUG(p, vm->ctx, release_null_pgt_fault)) {
		/* seed 000: KVM's user_mem_abort used mmu->pgt without this
		 * check; the NULL dereference it would make, made observable */
		S2_VIOLATION(p, vm->ctx, S2_INV_I4, "fault path used the released (NULL) table");
	}
	if (!pgt) {
		VM_STAT_SH(vm, sh, after_release);
		ret = -S2_ENOENT;
		goto out_unlock;
	}
	cause = retry_cause(vm, seq, gpa);
	if (cause == S2_RETRY_NONE && s2_load(&vm->slots_gen) != gen)
		cause = S2_RETRY_MEMSLOT;
	if (cause != S2_RETRY_NONE) {
		/* spurious: no in-progress invalidation covers this GPA (the
		 * counter scheme's retries for others, sequence moves, memslot
		 * changes) */
		if (!vm->in_progress || gpa < vm->range_start || gpa >= vm->range_end)
			VM_STAT_SH(vm, sh, spurious_retries);
		info->retry_cause = cause;
		VM_STAT_SH(vm, sh, retries[cause]);
		ret = -S2_EAGAIN;
		goto out_unlock;
	}

	size = 1ULL << vm->page_shift;
	if (!(slot.flags & S2_MEM_DIRTY_LOG) && !r.device) {
		uint64_t hs = early_host_size;

		if (!hs)
			hs = vm->host->mapping_size(vm->host_ctx, s2_hva(hva));
		size = fault_size(vm, pgt, &slot, gpa, hva, hs);
	}
	bgpa = gpa & ~(size - 1);
	bpa = r.pa.v - (gpa - bgpa);

	/*
	 * A leaf already maps this frame: a permission fault (add W or X)
	 * or an access-flag fault.  Relax in place rather than remap, KVM's
	 * policy, so a racing vCPU's valid translation is never broken.
	 */
	ret = s2_pgt_lookup(pgt, s2_gpa(gpa), &cur);
	if (!ret && cur.valid &&
	    cur.pa.v + (gpa - cur.ipa.v) == r.pa.v && cur.size == size &&
	    (cur.prot & S2_PROT_DEVICE) == (prot & S2_PROT_DEVICE)) {
		unsigned add = prot & ~cur.prot & (S2_PROT_W | S2_PROT_X);

		if (add) {
			ret = s2_pgt_relax_perms(pgt, s2_gpa(gpa), add, S2_WALK_SHARED);
			VM_STAT_SH(vm, sh, relaxes);
		} else {
			ret = s2_pgt_mkyoung(pgt, s2_gpa(gpa), S2_WALK_SHARED);
			VM_STAT_SH(vm, sh, young_faults);
		}
		size = cur.size;
		prot |= cur.prot;
	} else {
		ret = s2_pgt_map(pgt, s2_gpa(bgpa), size, s2_hpa(bpa), prot, size, mc,
				 S2_WALK_SHARED);
		if (!ret) {
			VM_STAT_SH(vm, sh, installs);
			if (size > (1ULL << vm->page_shift))
				VM_STAT_SH(vm, sh, blocks);
		}
	}
	if (ret == -S2_EAGAIN || ret == -S2_ENOENT) {
		/* lost a race with another walker on this entry */
		info->retry_cause = S2_RETRY_RACE;
		VM_STAT_SH(vm, sh, retries[S2_RETRY_RACE]);
		ret = -S2_EAGAIN;
		goto out_unlock;
	}
	if (!ret && write && (slot.flags & S2_MEM_DIRTY_LOG) && slot.dirty) {
		uint64_t bit = (gpa - slot.gpa) >> vm->page_shift;

		s2_fetch_or(&slot.dirty[bit / 64], 1ULL << (bit % 64));
		VM_STAT_SH(vm, sh, dirty_pages);
	}
	info->size = size;
	info->pa = r.pa;
	info->prot = prot;
out_unlock:
	p->read_unlock(vm->mmu_lock);
	/* The reference kept the frame from being freed and reused until the
	 * entry was in place or we backed off; a notifier zaps it from here. */
	vm->host->put(vm->host_ctx, &r);
	return ret;
}
