// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Hardware dirty logging (S2_MEM_DIRTY_HW, mmu.h "Hardware dirty
 * logging"): the slot's leaves are writable-clean, the hardware records
 * the first write in the leaf, and the harvest is a test-and-clear of
 * that state.  I7 in this mode rests on three rules, each with its
 * catalogue bug (docs/bugs.md):
 *  - the test-and-clear is a compare-and-exchange (hw_dirty_plain_clear);
 *  - the cleaned leaves leave the TLBs before the harvest returns
 *    (hw_dirty_no_tlbi);
 *  - a leaf an invalidation removes gives its dirty state to the bitmap
 *    first (hw_dirty_zap_lost).
 */
#include "internal.h"

bool s2_vm_hw_dirty_capable(const struct s2_vm *vm)
{
	return (vm->pgt_storage.flags & (S2_PGT_HW_DBM | S2_PGT_EPT_AD)) != 0;
}

/*
 * Logging in hardware mode starts (or switches from write-protect): the
 * slot is already published with S2_MEM_DIRTY_HW, so faults from here on
 * map reads writable-clean and log writes, and no fault that saw the
 * slot without logging installs after the publish (slots_gen).  Writable
 * leaves made before are cleaned here; writes made before this returns
 * need not be reported (the log starts at the return, as with
 * write-protect logging).
 * Context: slots_lock held; takes mmu_lock for write.
 */
void s2_vm_hw_dirty_start(struct s2_vm *vm, const struct s2_memslot *s)
{
	const struct s2_platform *p = vm->plat;

	if (vm->flags & S2_VM_EAGER_SPLIT)
		s2_vm_eager_split(vm, s->gpa, s->size);
	p->write_lock(vm->mmu_lock);
	/* blocks left whole become read-only: their first write faults,
	 * splits and sets the page's bit */
	if (vm->pgt)
		s2_pgt_test_clear_dirty(vm->pgt, s2_gpa(s->gpa), s->size, NULL, s2_gpa(s->gpa), 0);
	p->write_unlock(vm->mmu_lock);
}

/*
 * Hardware mode off, logging on (write-protect logging from now): the
 * new slot is published, so faults log writes through the bitmap; fold
 * what the hardware recorded into the bitmap and leave every leaf
 * read-only, so the next write faults.  Context: as s2_vm_hw_dirty_start.
 */
void s2_vm_hw_dirty_stop(struct s2_vm *vm, const struct s2_memslot *s)
{
	const struct s2_platform *p = vm->plat;

	p->write_lock(vm->mmu_lock);
	if (vm->pgt)
		s2_pgt_test_clear_dirty(vm->pgt, s2_gpa(s->gpa), s->size, s->dirty,
					s2_gpa(s->gpa), S2_DIRTY_WRPROTECT);
	p->write_unlock(vm->mmu_lock);
}

/*
 * Before an invalidation removes [gpa, gpa+size) of a slot: the leaves'
 * dirty state goes into the slot's bitmap, the leaves become read-only
 * and leave the TLBs, all under this hold of mmu_lock, so no write can
 * set a dirty state between this and the zap (a write now faults and
 * waits for the lock).  Without this, a page written and then unmapped
 * by the host (reclaim, migration, THP split) is missing from the next
 * harvest.  Context: mmu_lock held for write.
 */
void __s2_vm_hw_dirty_fold(struct s2_vm *vm, struct s2_pgtable *pgt, uint64_t gpa,
			   uint64_t size)
{
	const struct s2_memslot *s = slot_find(slots_deref(vm), gpa);

	if (!s || !(s->flags & S2_MEM_DIRTY_HW) || !s->dirty)
		return;
	/* hw_dirty_zap_lost: the leaves go with their dirty state */
	if (S2_BUG_INJECTED(vm->plat, vm->ctx, hw_dirty_zap_lost))
		return;
	s2_pgt_test_clear_dirty(pgt, s2_gpa(gpa), size, s->dirty, s2_gpa(s->gpa),
				S2_DIRTY_WRPROTECT);
}

/*
 * The harvest's hardware half: test and clean every leaf of the slot
 * into @bitmap (bit 0: the slot's first page), TLBs invalidated before
 * return.  Context: mmu_lock held for write (faults cannot add bits or
 * leaves meanwhile; only the hardware updates leaves).
 */
void __s2_vm_hw_dirty_harvest(struct s2_vm *vm, struct s2_pgtable *pgt,
			      const struct s2_memslot *s, uint64_t *bitmap)
{
	(void)vm;
	s2_pgt_test_clear_dirty(pgt, s2_gpa(s->gpa), s->size, bitmap, s2_gpa(s->gpa), 0);
}
