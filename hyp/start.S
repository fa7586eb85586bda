/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Boot, exception vectors and guest entry/exit of the example EL2
 * hypervisor.  QEMU's virt machine enters _start at EL2 with the MMU off
 * and x0..x3 = 0 (qemu-el2.md point 2); secondaries enter
 * secondary_entry through PSCI CPU_ON with x0 = the context id we pass
 * (our CPU index).
 */
#define STACK_SHIFT	14		/* 16 KiB per CPU */

	.section .text.boot, "ax"
	.globl	_start
_start:
	/* clear .bss with aligned stores: the MMU is off, so memory is
	 * Device-nGnRnE and unaligned accesses would fault */
	adrp	x1, _bss_start
	add	x1, x1, :lo12:_bss_start
	adrp	x2, _bss_end
	add	x2, x2, :lo12:_bss_end
1:	cmp	x1, x2
	b.hs	2f
	stp	xzr, xzr, [x1], #16
	b	1b
2:	mov	x0, #0
	b	cpu_common

	.globl	secondary_entry
secondary_entry:
cpu_common:
	/* x0 = CPU index: TPIDR_EL2 holds it for the platform (el2.h) */
	msr	tpidr_el2, x0
	adrp	x1, hyp_stacks
	add	x1, x1, :lo12:hyp_stacks
	add	x2, x0, #1
	add	x1, x1, x2, lsl #STACK_SHIFT
	mov	sp, x1
	adrp	x1, hyp_vectors
	add	x1, x1, :lo12:hyp_vectors
	msr	vbar_el2, x1
	isb
	bl	hyp_cpu_main
3:	wfe
	b	3b

/* SMC to the PSCI firmware: at EL2 under QEMU the conduit is SMC
 * (qemu-el2.md point 1).  x0 = function id, x1..x3 arguments. */
	.text
	.globl	psci_smc
psci_smc:
	smc	#0
	ret

/*
 * uint64_t enter_guest(struct vcpu_regs *r): run the guest until it
 * exits to EL2; return ESR_EL2 (bit 63 set for an asynchronous exit).
 * The host's callee-saved registers and @r are kept on SP_EL2, where the
 * lower-EL vector finds them (SP_EL2 is this CPU's own stack).
 * Layout of struct vcpu_regs: x[0..30] at 0, elr at 248, spsr at 256.
 */
	.globl	enter_guest
enter_guest:
	sub	sp, sp, #112
	str	x0, [sp]
	stp	x19, x20, [sp, #16]
	stp	x21, x22, [sp, #32]
	stp	x23, x24, [sp, #48]
	stp	x25, x26, [sp, #64]
	stp	x27, x28, [sp, #80]
	stp	x29, x30, [sp, #96]
	ldr	x1, [x0, #248]
	msr	elr_el2, x1
	ldr	x1, [x0, #256]
	msr	spsr_el2, x1
	ldp	x2, x3, [x0, #16]
	ldp	x4, x5, [x0, #32]
	ldp	x6, x7, [x0, #48]
	ldp	x8, x9, [x0, #64]
	ldp	x10, x11, [x0, #80]
	ldp	x12, x13, [x0, #96]
	ldp	x14, x15, [x0, #112]
	ldp	x16, x17, [x0, #128]
	ldp	x18, x19, [x0, #144]
	ldp	x20, x21, [x0, #160]
	ldp	x22, x23, [x0, #176]
	ldp	x24, x25, [x0, #192]
	ldp	x26, x27, [x0, #208]
	ldp	x28, x29, [x0, #224]
	ldr	x30, [x0, #240]
	ldp	x0, x1, [x0]
	eret

/* x0, x1 of the guest are on the stack; x1 = 0 sync, 1 async */
guest_exit:
	ldr	x0, [sp, #16]			/* struct vcpu_regs * */
	stp	x2, x3, [x0, #16]
	stp	x4, x5, [x0, #32]
	stp	x6, x7, [x0, #48]
	stp	x8, x9, [x0, #64]
	stp	x10, x11, [x0, #80]
	stp	x12, x13, [x0, #96]
	stp	x14, x15, [x0, #112]
	stp	x16, x17, [x0, #128]
	stp	x18, x19, [x0, #144]
	stp	x20, x21, [x0, #160]
	stp	x22, x23, [x0, #176]
	stp	x24, x25, [x0, #192]
	stp	x26, x27, [x0, #208]
	stp	x28, x29, [x0, #224]
	str	x30, [x0, #240]
	mov	x9, x1
	ldp	x2, x3, [sp], #16
	stp	x2, x3, [x0]
	mrs	x1, elr_el2
	str	x1, [x0, #248]
	mrs	x1, spsr_el2
	str	x1, [x0, #256]
	mrs	x0, esr_el2
	orr	x0, x0, x9, lsl #63
	ldp	x19, x20, [sp, #16]
	ldp	x21, x22, [sp, #32]
	ldp	x23, x24, [sp, #48]
	ldp	x25, x26, [sp, #64]
	ldp	x27, x28, [sp, #80]
	ldp	x29, x30, [sp, #96]
	add	sp, sp, #112
	ret

/* An exception taken from EL2 itself: a hypervisor bug. */
hyp_fault:
	mrs	x1, esr_el2
	mrs	x2, elr_el2
	mrs	x3, far_el2
	bl	hyp_exception
4:	wfe
	b	4b

	.macro	ventry target, kind
	.balign	0x80
	stp	x0, x1, [sp, #-16]!
	mov	x0, #\kind
	mov	x1, #\kind
	b	\target
	.endm

	.balign	0x800
hyp_vectors:
	ventry	hyp_fault, 0		/* current EL, SP_EL0 */
	ventry	hyp_fault, 1
	ventry	hyp_fault, 2
	ventry	hyp_fault, 3
	ventry	hyp_fault, 4		/* current EL, SP_ELx */
	ventry	hyp_fault, 5
	ventry	hyp_fault, 6
	ventry	hyp_fault, 7
	ventry	guest_exit, 0		/* lower EL, AArch64: sync */
	ventry	guest_exit, 1		/* IRQ */
	ventry	guest_exit, 1		/* FIQ */
	ventry	guest_exit, 1		/* SError */
	ventry	hyp_fault, 12		/* lower EL, AArch32 */
	ventry	hyp_fault, 13
	ventry	hyp_fault, 14
	ventry	hyp_fault, 15
