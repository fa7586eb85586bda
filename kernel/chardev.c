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
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include "kmod.h"

static int s2k_open(struct inode *inode, struct file *file)
{
	struct s2k_vm *vm;
	int ret = s2k_vm_create(&vm);

	if (ret)
		return ret;
	file->private_data = vm;
	return 0;
}

static int s2k_release(struct inode *inode, struct file *file)
{
	s2k_vm_destroy(file->private_data);
	return 0;
}

static long s2k_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct s2k_vm *vm = file->private_data;
	void __user *uarg = (void __user *)arg;
	int ret;

	switch (cmd) {
	case S2K_SLOT_ADD:
	case S2K_SLOT_DEL: {
		struct s2k_slot s;

		if (copy_from_user(&s, uarg, sizeof(s)))
			return -EFAULT;
		/* Memslots describe the opener's address space only. */
		if (current->mm != vm->mm)
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
