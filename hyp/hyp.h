/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* The example EL2 hypervisor: layout shared by the host side and the guest. */
#ifndef HYP_HYP_H
#define HYP_HYP_H

#include <s2mmu/mmu.h>
#include "src/arch/arm64/el2.h"

/*
 * Guest-physical layout.  Slot 0 (1 MiB): code, stacks, the guest's own
 * stage-1 tables, its parameters and its bookkeeping of the last value it
 * wrote to each page.  Slot 1 (4 MiB): the data pages the oracle uses.
 * The guest's stage 1 maps [GUEST_IPA, GUEST_IPA + 8 MiB) one to one with
 * 4K pages, so every data access walks an L3 table in slot 0.
 */
#define GUEST_IPA	((uint64_t)0x80000000U)
#define SLOT0_SIZE	((uint64_t)1 << 20)
#define SLOT1_IPA	(GUEST_IPA + ((uint64_t)4 << 20))
#define SLOT1_SIZE	((uint64_t)4 << 20)
#define G_STACKS	(GUEST_IPA + 0x10000)	/* 8 KiB per vCPU, up to 8 */
#define G_STACK_SIZE	0x2000
#define G_TABLES	(GUEST_IPA + 0x20000)	/* L1, L2, then 4 L3 */
#define G_NR_L3		4
#define G_PARAMS	(GUEST_IPA + 0x30000)
#define G_LAST		(GUEST_IPA + 0x40000)	/* u64 [vcpu][data page] */
#define G_DATA_PAGES	(SLOT1_SIZE >> 12)	/* 4K guest pages */
#define G_HOT_PAGES	16
#define G_WORD_STRIDE	64			/* vCPU v's word: page + 64 v */
#define G_REPORT_EVERY	16384			/* accesses between progress HVCs */

/* Guest hypercalls (HVC immediates). */
#define HVC_PROGRESS	1	/* x0 = accesses so far */
#define HVC_MISMATCH	2	/* x0 page, x1 read, x2 expected, x3 address */
#define HVC_EXCEPTION	3	/* x0 ESR_EL1, x1 FAR_EL1, x2 ELR_EL1, x3 vector */
#define HVC_READY	4	/* stage 1 on */

struct guest_params {
	uint64_t nvcpu;
	uint64_t ttbr0, tcr, mair;
	uint64_t seed;
};

/* Patterns: sequence number, vCPU and page, so a value read from another
 * page, vCPU or an older write is told apart. */
#define PATTERN(seq, vcpu, page) (((uint64_t)(seq) << 24) | ((uint64_t)(vcpu) << 20) | (page))
#define PATTERN_SEQ(v)	((v) >> 24)
#define PATTERN_VCPU(v)	(((v) >> 20) & 0xf)
#define PATTERN_PAGE(v)	((v) & 0xfffff)

/* Freed frames are filled with this; as a stage-1 descriptor it is
 * invalid (bit 0 clear), so a walk through a stale frame faults. */
#define POISON		((uint64_t)0x5a5a5a5a5a5a5a5aULL)

#ifndef HYP_GUEST
struct vcpu_regs {
	uint64_t x[31];
	uint64_t elr, spsr;
};

uint64_t enter_guest(struct vcpu_regs *r);
uint64_t psci_smc(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3);
void hprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void hprintf_early(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void hyp_cpu_main(unsigned cpu);
void hyp_exception(uint64_t kind, uint64_t esr, uint64_t elr, uint64_t far);
extern char secondary_entry[];
#endif

#endif
