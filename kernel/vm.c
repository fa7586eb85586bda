// SPDX-License-Identifier: GPL-2.0-only
/*
 * A VM's lifetime: the library's VM for the process that opens
 * /dev/s2mmu, attached to that process's mm by an MMU notifier, and torn
 * down when the file goes (chardev.c calls in here on open and close).
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/sched/coredump.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
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
 * A VM whose host is the address space @mm, in *@out.  The caller holds
 * a user reference on @mm (mm_users), as mmu_notifier_register needs;
 * the registration's own mmgrab is what keeps the mm_struct alive after.
 * Context: process context, may sleep.
 */
int s2k_vm_create(struct mm_struct *mm, struct s2k_vm **out)
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

	if (!mm)
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
	vm->mm = mm;
	cfg.pgt.plat_ctx = vm;
	cfg.host_ctx = vm;
	ret = s2_vm_create(&cfg, &vm->core);
	if (ret) {
		kvfree(vm);
		return ret;
	}
	vm->mn.ops = &s2k_mn_ops;
	/* Takes its own mmgrab on the mm, dropped by unregister. */
	ret = mmu_notifier_register(&vm->mn, mm);
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

/*
 * May current mirror @task's memory?  ptrace_may_access() is not
 * exported to modules in 6.1, so this is its credential rule for
 * PTRACE_MODE_ATTACH_REALCREDS (what process_vm_readv and /proc/PID/mem
 * ask for), without the LSM hook: the caller's real ids equal every id of
 * the target and the target is dumpable, or the caller has
 * CAP_SYS_PTRACE.  A mirror reads everything the target maps, so it must
 * be no easier to get than those.
 */
static bool s2k_may_mirror(struct task_struct *task, struct mm_struct *mm)
{
	const struct cred *me = current_cred(), *tc;
	bool same;

	if (capable(CAP_SYS_PTRACE))
		return true;
	rcu_read_lock();
	tc = __task_cred(task);
	same = uid_eq(me->uid, tc->uid) && uid_eq(me->uid, tc->euid) &&
	       uid_eq(me->uid, tc->suid) && gid_eq(me->gid, tc->gid) &&
	       gid_eq(me->gid, tc->egid) && gid_eq(me->gid, tc->sgid);
	rcu_read_unlock();
	return same && get_dumpable(mm) == SUID_DUMP_USER;
}

/*
 * The process a pidfd refers to.  pidfd_get_pid() and pidfd_fops are not
 * exported either: a pidfd is the anonymous-inode file the kernel names
 * "[pidfd]" with the struct pid as its private data, and no other
 * anonymous file carries that name.
 */
static struct pid *s2k_pidfd_pid(int pidfd)
{
	struct file *f = fget(pidfd);
	struct pid *pid = NULL;

	if (!f)
		return ERR_PTR(-EBADF);
	if (!strcmp(f->f_path.dentry->d_name.name, "[pidfd]") && f->private_data)
		pid = get_pid(f->private_data);
	fput(f);
	return pid ? pid : ERR_PTR(-EINVAL);
}

/*
 * A new VM whose host is the address space of the process @pidfd names
 * (issue 15: mirror a program we did not write), in *@out; its pid as the
 * caller sees it in *@nr.  Seed 001's lifetime rules for an mm that is
 * not the caller's: get_task_mm takes a user reference only for the
 * registration (mmu_notifier_register wants mm_users > 0) and we drop it
 * at once, so the target's exit is never held up by the mirror; the
 * registration's mmgrab keeps the mm_struct (not its pages) until our
 * unregister, so host.c's mmget_not_zero and VERIFY's are always on a
 * live struct; release runs from the target's exit_mmap while accessors
 * may be in flight, exactly as for the opener's own mm.
 * Context: process context, may sleep.
 */
int s2k_vm_attach(int pidfd, struct s2k_vm **out, pid_t *nr)
{
	struct task_struct *task;
	struct mm_struct *mm;
	struct pid *pid;
	int ret;

	pid = s2k_pidfd_pid(pidfd);
	if (IS_ERR(pid))
		return PTR_ERR(pid);
	task = get_pid_task(pid, PIDTYPE_PID);
	*nr = pid_vnr(pid);
	put_pid(pid);
	if (!task)
		return -ESRCH;
	/* NULL for a kernel thread and for a process past exit_mm. */
	mm = get_task_mm(task);
	if (!mm) {
		put_task_struct(task);
		return -ESRCH;
	}
	if (!s2k_may_mirror(task, mm)) {
		put_task_struct(task);
		mmput(mm);
		return -EPERM;
	}
	put_task_struct(task);
	ret = s2k_vm_create(mm, out);
	if (!ret)
		(*out)->attached = true;
	/* Possibly the last user: then exit_mmap releases the new VM here. */
	mmput(mm);
	return ret;
}
