// SPDX-License-Identifier: GPL-2.0-only
/*
 * Memslots and what the module does per slot: add and delete, dirty
 * logging on and off and its harvest, and the AGE ioctl, which runs the
 * library's young handlers over the hva range a guest range maps.
 */
#include <linux/bitmap.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include "kmod.h"

static unsigned int s2k_core_flags(u32 flags)
{
	return ((flags & S2K_SLOT_READONLY) ? S2_MEM_READONLY : 0) |
	       ((flags & S2K_SLOT_DIRTY_LOG) ? S2_MEM_DIRTY_LOG : 0);
}

int s2k_slot_add(struct s2k_vm *vm, const struct s2k_slot *a)
{
	int ret;

	if (a->id >= S2K_MAX_SLOTS || (a->flags & ~(S2K_SLOT_READONLY | S2K_SLOT_DIRTY_LOG)) ||
	    !access_ok((void __user *)(unsigned long)a->hva, a->size))
		return -EINVAL;
	mutex_lock(&vm->slots_mutex);
	if (vm->slot_used[a->id]) {
		ret = -EEXIST;
	} else {
		/* Checks alignment and overlap; errnos are Linux's. */
		ret = s2_vm_set_memslot(vm->core, a->id, s2_gpa(a->gpa), a->size,
					s2_hva(a->hva), s2k_core_flags(a->flags));
		if (!ret) {
			vm->slots[a->id] = *a;
			vm->slot_used[a->id] = true;
			s2k_trace_slot(vm, a, S2K_TRS_ADD);
		}
	}
	mutex_unlock(&vm->slots_mutex);
	return ret;
}

int s2k_slot_del(struct s2k_vm *vm, const struct s2k_slot *a)
{
	int ret;

	if (a->id >= S2K_MAX_SLOTS)
		return -EINVAL;
	mutex_lock(&vm->slots_mutex);
	/* Zaps the slot's range once no fault that saw it can install. */
	ret = s2_vm_delete_memslot(vm->core, a->id);
	if (!ret) {
		vm->slot_used[a->id] = false;
		s2k_trace_slot(vm, &vm->slots[a->id], S2K_TRS_DEL);
	}
	mutex_unlock(&vm->slots_mutex);
	return ret;
}

int s2k_dirty_log(struct s2k_vm *vm, const struct s2k_dirty *d)
{
	struct s2k_slot *s;
	u32 flags;
	int ret;

	if (d->id >= S2K_MAX_SLOTS)
		return -EINVAL;
	mutex_lock(&vm->slots_mutex);
	s = &vm->slots[d->id];
	if (!vm->slot_used[d->id]) {
		ret = -ENOENT;
		goto out;
	}
	flags = d->enable ? s->flags | S2K_SLOT_DIRTY_LOG : s->flags & ~S2K_SLOT_DIRTY_LOG;
	/* Same geometry, new flags: turning logging on write-protects the
	 * slot and starts a clean bitmap. */
	ret = s2_vm_set_memslot(vm->core, s->id, s2_gpa(s->gpa), s->size, s2_hva(s->hva),
				s2k_core_flags(flags));
	if (!ret) {
		s->flags = flags;
		s2k_trace_slot(vm, s, S2K_TRS_FLAGS);
	}
out:
	mutex_unlock(&vm->slots_mutex);
	return ret;
}

int s2k_get_dirty(struct s2k_vm *vm, struct s2k_dirty *d)
{
	u64 *bm;
	size_t words;
	int ret;

	if (d->id >= S2K_MAX_SLOTS || !d->words || d->words > (1ULL << 24))
		return -EINVAL;
	words = d->words;
	bm = kvcalloc(words, sizeof(u64), GFP_KERNEL_ACCOUNT);
	if (!bm)
		return -ENOMEM;
	ret = s2_vm_get_dirty_log(vm->core, d->id, bm, words);
	if (!ret) {
		d->set = bitmap_weight((unsigned long *)bm, words * 64);
		s2k_trace_harvest(vm, d->id, d->set);
		if (copy_to_user((void __user *)(uintptr_t)d->bitmap, bm, words * sizeof(u64)))
			ret = -EFAULT;
	}
	kvfree(bm);
	return ret;
}

int s2k_age(struct s2k_vm *vm, struct s2k_age *a)
{
	const struct s2k_slot *s = NULL;
	unsigned long hva;
	int i;

	if (!a->size || a->kind > S2K_AGE_CLEAR_FLUSH)
		return -EINVAL;
	mutex_lock(&vm->slots_mutex);
	for (i = 0; i < S2K_MAX_SLOTS; i++)
		if (vm->slot_used[i] && a->gpa >= vm->slots[i].gpa &&
		    a->gpa + a->size <= vm->slots[i].gpa + vm->slots[i].size)
			s = &vm->slots[i];
	if (!s) {
		mutex_unlock(&vm->slots_mutex);
		return -EINVAL;
	}
	hva = s->hva + (a->gpa - s->gpa);
	mutex_unlock(&vm->slots_mutex);
	/* The handlers the host's aging would call, on the same hva range. */
	if (a->kind == S2K_AGE_TEST)
		a->young = s2_vm_mn_test_young(vm->core, s2_hva(hva), s2_hva(hva + a->size));
	else if (a->kind == S2K_AGE_CLEAR)
		a->young = s2_vm_mn_clear_young(vm->core, s2_hva(hva), s2_hva(hva + a->size));
	else
		a->young = s2_vm_mn_clear_flush_young(vm->core, s2_hva(hva),
						      s2_hva(hva + a->size));
	s2k_trace_age(vm, hva, a->size, a->kind, a->young);
	return 0;
}
