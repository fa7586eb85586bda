// SPDX-License-Identifier: GPL-2.0-only
/*
 * /dev/s2mmu: the misc device, its ioctls, and the module's load and
 * unload.  One open file is one VM (vm.c); an ioctl copies its argument
 * in, hands it to the file that does that job, and copies the answer out.
 */
#define pr_fmt(fmt) "s2mmu: " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/rwsem.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include "kmod.h"

/*
 * One open file.  S2K_ATTACH replaces the VM, so every other ioctl uses
 * it under @lock held for read, and attach swaps it under the lock held
 * for write: no ioctl can still be inside the old VM when it is destroyed.
 */
struct s2k_file {
	struct rw_semaphore lock;
	struct s2k_vm *vm;
};

static int s2k_open(struct inode *inode, struct file *file)
{
	struct s2k_file *f = kzalloc(sizeof(*f), GFP_KERNEL_ACCOUNT);
	int ret;

	if (!f)
		return -ENOMEM;
	init_rwsem(&f->lock);
	ret = s2k_vm_create(current->mm, &f->vm);
	if (ret) {
		kfree(f);
		return ret;
	}
	file->private_data = f;
	return 0;
}

static int s2k_release(struct inode *inode, struct file *file)
{
	struct s2k_file *f = file->private_data;

	s2k_vm_destroy(f->vm);
	kfree(f);
	return 0;
}

static bool s2k_has_slots(struct s2k_vm *vm)
{
	bool any = false;
	int i;

	mutex_lock(&vm->slots_mutex);
	for (i = 0; i < S2K_MAX_SLOTS; i++)
		any |= vm->slot_used[i];
	mutex_unlock(&vm->slots_mutex);
	return any;
}

/*
 * The new VM is complete before the old one is touched, so a failure
 * leaves the file as it was; a VM with memslots is never replaced (its
 * user would silently lose them).
 */
static long s2k_attach_ioctl(struct s2k_file *f, void __user *uarg)
{
	struct s2k_attach at;
	struct s2k_vm *vm, *old;
	pid_t nr;
	int ret;

	if (copy_from_user(&at, uarg, sizeof(at)))
		return -EFAULT;
	if ((at.flags & ~S2K_ATTACH_NOFAULT) || at.pad)
		return -EINVAL;
	ret = s2k_vm_attach(at.pidfd, &vm, &nr);
	if (ret)
		return ret;
	vm->nofault = at.flags & S2K_ATTACH_NOFAULT;
	at.pid = nr;
	if (copy_to_user(uarg, &at, sizeof(at))) {
		s2k_vm_destroy(vm);
		return -EFAULT;
	}
	if (down_write_killable(&f->lock)) {
		s2k_vm_destroy(vm);
		return -EINTR;
	}
	if (s2k_has_slots(f->vm)) {
		up_write(&f->lock);
		s2k_vm_destroy(vm);
		return -EBUSY;
	}
	old = f->vm;
	f->vm = vm;
	up_write(&f->lock);
	s2k_vm_destroy(old);
	return 0;
}

static long s2k_vm_ioctl(struct s2k_vm *vm, unsigned int cmd, void __user *uarg)
{
	int ret;

	switch (cmd) {
	case S2K_SLOT_ADD:
	case S2K_SLOT_DEL: {
		struct s2k_slot s;

		if (copy_from_user(&s, uarg, sizeof(s)))
			return -EFAULT;
		/* Memslots describe the opener's address space, or the
		 * target's that S2K_ATTACH checked we may read. */
		if (current->mm != vm->mm && !vm->attached)
			return -EPERM;
		return cmd == S2K_SLOT_ADD ? s2k_slot_add(vm, &s) : s2k_slot_del(vm, &s);
	}
	case S2K_ACCESS: {
		struct s2k_access a;

		if (copy_from_user(&a, uarg, sizeof(a)))
			return -EFAULT;
		ret = s2k_access(vm, &a);
		if (copy_to_user(uarg, &a, sizeof(a)))
			return -EFAULT;
		return ret;
	}
	case S2K_STATS: {
		struct s2k_stats st;

		s2k_stats(vm, &st);
		return copy_to_user(uarg, &st, sizeof(st)) ? -EFAULT : 0;
	}
	case S2K_VERIFY: {
		struct s2k_verify *v = kzalloc(sizeof(*v), GFP_KERNEL);

		if (!v)
			return -ENOMEM;
		if (copy_from_user(v, uarg, sizeof(*v))) {
			kfree(v);
			return -EFAULT;
		}
		ret = s2k_verify(vm, v);
		if (!ret && copy_to_user(uarg, v, sizeof(*v)))
			ret = -EFAULT;
		kfree(v);
		return ret;
	}
	case S2K_DIRTY_LOG:
	case S2K_GET_DIRTY: {
		struct s2k_dirty d;

		if (copy_from_user(&d, uarg, sizeof(d)))
			return -EFAULT;
		if (cmd == S2K_DIRTY_LOG)
			return s2k_dirty_log(vm, &d);
		ret = s2k_get_dirty(vm, &d);
		if (!ret && copy_to_user(uarg, &d, sizeof(d)))
			ret = -EFAULT;
		return ret;
	}
	case S2K_AGE: {
		struct s2k_age a;

		if (copy_from_user(&a, uarg, sizeof(a)))
			return -EFAULT;
		ret = s2k_age(vm, &a);
		if (!ret && copy_to_user(uarg, &a, sizeof(a)))
			ret = -EFAULT;
		return ret;
	}
	case S2K_TRACE_CTL: {
		struct s2k_trace_ctl c;

		if (copy_from_user(&c, uarg, sizeof(c)))
			return -EFAULT;
		return s2k_trace_ctl(vm, &c);
	}
	case S2K_TRACE_READ: {
		struct s2k_trace_read rd;

		if (copy_from_user(&rd, uarg, sizeof(rd)))
			return -EFAULT;
		ret = s2k_trace_read(vm, &rd);
		if (copy_to_user(uarg, &rd, sizeof(rd)))
			return -EFAULT;
		return ret;
	}
	}
	return -ENOTTY;
}

static long s2k_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct s2k_file *f = file->private_data;
	long ret;

	if (cmd == S2K_ATTACH)
		return s2k_attach_ioctl(f, (void __user *)arg);
	if (down_read_killable(&f->lock))
		return -EINTR;
	ret = s2k_vm_ioctl(f->vm, cmd, (void __user *)arg);
	up_read(&f->lock);
	return ret;
}

static const struct file_operations s2k_fops = {
	.owner		= THIS_MODULE,
	.open		= s2k_open,
	.release	= s2k_release,
	.unlocked_ioctl	= s2k_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice s2k_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "s2mmu",
	.fops	= &s2k_fops,
	.mode	= 0666,
};

static int __init s2k_init(void)
{
	int ret = s2k_platform_init();

	if (ret)
		return ret;
	ret = misc_register(&s2k_misc);
	if (ret) {
		s2k_platform_exit();
		return ret;
	}
	pr_info("loaded: /dev/s2mmu, s2mmu library stage 2 (EPT 4-level, A/D), %d vCPU TLBs of %d entries\n",
		S2K_MAX_VCPUS, S2K_TLB_ENTRIES);
	return 0;
}

static void __exit s2k_exit(void)
{
	misc_deregister(&s2k_misc);
	/* Our notifier ops may still be queued for SRCU callbacks. */
	mmu_notifier_synchronize();
	s2k_platform_exit();
}

module_init(s2k_init);
module_exit(s2k_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("s2mmu: secondary MMU driven by MMU notifiers, with a coherence verifier");
