// SPDX-License-Identifier: GPL-2.0-only
/*
 * A VM's lifetime: the library's VM for the process that opens
 * /dev/s2mmu, attached to that process's mm by an MMU notifier, and torn
 * down when the file goes (chardev.c calls in here on open and close).
 */
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include "kmod.h"

/* The vCPU page caches: pages chained through their first word
 * (include/s2mmu/pgtable.h), from our alloc_page hook. */
static void s2k_mc_drain(struct s2k_vm *vm, struct s2_memcache *mc)
{
	while (mc->head) {
		void *p = mc->head;

		mc->head = *(void **)p;
		mc->nr--;
		/* parenthesised: <linux/gfp.h> has a free_page() macro */
		(s2k_platform.free_page)(vm, p, PAGE_SHIFT);
	}
}

/*
 * A VM whose host is current's address space, in *@out.
 * Context: process context, may sleep.
 */
int s2k_vm_create(struct s2k_vm **out)
{
	struct s2_vm_cfg cfg = {
		.pgt = {
			/* The module runs on x86: an EPT-format stage 2 with
			 * accessed/dirty flags, so aging has an access flag to
			 * test and clear (the format is only data here). */
			.format = S2_FMT_EPT,
			.granule_shift = PAGE_SHIFT,
			.ia_bits = S2K_IA_BITS,
			.flags = S2_PGT_EPT_AD,
			.plat = &s2k_platform,
		},
		.host = &s2k_host_ops,
		.max_slots = S2K_MAX_SLOTS,
	};
	struct s2k_vm *vm;
	int i, ret;

	if (!current->mm)
		return -EINVAL;
	vm = kvzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return -ENOMEM;
	mutex_init(&vm->slots_mutex);
	spin_lock_init(&vm->last_lock);
	spin_lock_init(&vm->inv_lock);
	s2k_trace_init(vm);
	for (i = 0; i < S2K_MAX_VCPUS; i++) {
		spin_lock_init(&vm->vcpu[i].lock);
		mutex_init(&vm->vcpu[i].run);
	}
	vm->mm = current->mm;
	cfg.pgt.plat_ctx = vm;
	cfg.host_ctx = vm;
	ret = s2_vm_create(&cfg, &vm->core);
	if (ret) {
		kvfree(vm);
		return ret;
	}
	vm->mn.ops = &s2k_mn_ops;
	/* Takes its own mmgrab on the mm, dropped by unregister. */
	ret = mmu_notifier_register(&vm->mn, current->mm);
	if (ret) {
		s2_vm_destroy(vm->core);
		kvfree(vm);
		return ret;
	}
	*out = vm;
	return 0;
}

/* Context: the file's release, may sleep. */
void s2k_vm_destroy(struct s2k_vm *vm)
{
	int i;

	WRITE_ONCE(vm->closing, true);
	/*
	 * Calls ->release unless exit_mmap already did, then waits (SRCU)
	 * until no callback of ours runs anywhere: only then may the VM go
	 * (s2_vm_destroy's contract).  No ioctl runs: the file's last
	 * reference is gone, so no fault is in flight either.
	 */
	mmu_notifier_unregister(&vm->mn, vm->mm);
	for (i = 0; i < S2K_MAX_VCPUS; i++)
		s2k_mc_drain(vm, &vm->vcpu[i].mc);
	s2_vm_destroy(vm->core);
	s2k_trace_free(vm);
	kvfree(vm);
}
