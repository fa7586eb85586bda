/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The guest program: runs at EL1 with its own stage 1 on, its tables in
 * guest memory that the host migrates like any other page.  Each vCPU
 * owns one word in every 4K data page; it reads the word, compares it
 * with the last value it wrote there (a stale translation shows as an
 * older value or as the host's poison), and writes the next
 * sequence-numbered pattern.  Half of the accesses go to a small hot set
 * so that recently remapped pages are touched again soon.
 */
#define HYP_GUEST
#include "hyp.h"

void guest_main(uint64_t vcpu, const struct guest_params *gp);

#define HVC(imm, a0, a1, a2, a3) __extension__ ({			\
	register uint64_t x0 __asm__("x0") = (a0);			\
	register uint64_t x1 __asm__("x1") = (a1);			\
	register uint64_t x2 __asm__("x2") = (a2);			\
	register uint64_t x3 __asm__("x3") = (a3);			\
	__asm__ volatile("hvc #" #imm : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) \
			 : : "memory");					\
	x0; })

void guest_main(uint64_t vcpu, const struct guest_params *gp)
{
	uint64_t *last = (uint64_t *)(uintptr_t)(G_LAST + vcpu * G_DATA_PAGES * 8);
	uint64_t rng = gp->seed * 0x9e3779b97f4a7c15ULL + vcpu + 1, seq = 0, n = 0, sctlr;

	/* Our own stage 1, written once at boot (a TCR_EL1 write flushes
	 * QEMU's TLB, qemu-el2.md point 4: never again after this). */
	__asm__ volatile("msr mair_el1, %0" : : "r"(gp->mair));
	__asm__ volatile("msr tcr_el1, %0" : : "r"(gp->tcr));
	__asm__ volatile("msr ttbr0_el1, %0" : : "r"(gp->ttbr0));
	__asm__ volatile("isb");
	__asm__ volatile("mrs %0, sctlr_el1" : "=r"(sctlr));
	sctlr |= (1 << 0) | (1 << 2) | (1 << 12);	/* M, C, I */
	__asm__ volatile("msr sctlr_el1, %0; isb" : : "r"(sctlr) : "memory");
	HVC(4, 0, 0, 0, 0);

	for (;;) {
		uint64_t page, v, nv;
		volatile uint64_t *w;

		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		page = (rng & 1) ? (rng >> 8) % G_HOT_PAGES : (rng >> 8) % G_DATA_PAGES;
		w = (volatile uint64_t *)(uintptr_t)(SLOT1_IPA + (page << 12) +
						     vcpu * G_WORD_STRIDE);
		v = *w;
		if (v != last[page])
			HVC(2, page, v, last[page], (uint64_t)(uintptr_t)w);
		nv = PATTERN(++seq, vcpu, page);
		*w = nv;
		last[page] = nv;
		if (!(++n % G_REPORT_EVERY))
			HVC(1, n, 0, 0, 0);
	}
}
