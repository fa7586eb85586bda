/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The guest's entry and EL1 vectors (linked at GUEST_IPA, hyp.ld).  The
 * hypervisor enters at guest_start at EL1h with x0 = vCPU index, x1 = the
 * parameters' address and SP_EL1 set.  Any exception the guest takes at
 * EL1 (a stage-1 fault through a poisoned table, say) is reported to the
 * hypervisor with HVC #3, which counts it as a mismatch.
 */
	.text
	.globl	guest_start
guest_start:
	adr	x9, guest_vectors
	msr	vbar_el1, x9
	isb
	bl	guest_main
1:	b	1b

	.macro	gvec n
	.balign	0x80
	mrs	x0, esr_el1
	mrs	x1, far_el1
	mrs	x2, elr_el1
	mov	x3, #\n
	hvc	#3
	b	.
	.endm

	.balign	0x800
guest_vectors:
	gvec	0
	gvec	1
	gvec	2
	gvec	3
	gvec	4
	gvec	5
	gvec	6
	gvec	7
	gvec	8
	gvec	9
	gvec	10
	gvec	11
	gvec	12
	gvec	13
	gvec	14
	gvec	15
