/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Declarations shared between the module's files (not a library header).
 */
#ifndef S2MMU_KERNEL_S2K_H
#define S2MMU_KERNEL_S2K_H

#include <linux/types.h>

struct s2_platform;
struct s2k_vm;

/*
 * The kernel implementation of the library's platform hooks
 * (platform_kernel.c).  Its ctx argument is the struct s2k_vm.
 */
extern struct s2_platform s2k_platform;
int s2k_platform_init(void);
void s2k_platform_exit(void);

/*
 * Invalidate the module's software TLBs (every vCPU of @vm) for
 * [@ipa, @ipa + @size); @size 0 means the whole VM.  Complete on return:
 * no vCPU uses a dropped translation afterwards.  (access.c)
 */
void s2k_tlb_invalidate(struct s2k_vm *vm, u64 ipa, u64 size);

#endif
