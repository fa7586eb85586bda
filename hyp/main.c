/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * An example bare-metal hypervisor on s2mmu (docs/hyp.md): boots at EL2
 * on QEMU's virt machine, turns its own stage 1 on (identity map), starts
 * the secondary CPUs through PSCI, makes one VM with s2_vm_create and two
 * memslots over a pool of guest frames, runs one vCPU per secondary CPU
 * at EL1, hands stage-2 aborts to s2_vm_fault, and on CPU 0 plays the
 * host: it migrates, reclaims, write-protects and ages guest frames and
 * turns dirty logging on and off, through the notifier API in the order
 * Linux drives it, checking the guest's memory as it goes (host.c).
 */
#include "hyp.h"
#include "host.h"

#define CFG_ADDR	0x40001000UL	/* -device loader words, hyp-test.sh */
#define CFG_MAGIC	0x5332485950434647ULL	/* "S2HYPCFG" */
#define PLAT_POOL	0x40400000UL
#define PLAT_POOL_SIZE	(48UL << 20)

struct hyp_cfg {
	uint64_t magic;
	uint64_t granule_shift;	/* 12, 14, 16 */
	uint64_t run_ms;	/* run time; with targets, the cap */
	uint64_t nc;		/* enum el2_nc, check image only */
	uint64_t seed;
	uint64_t flags;		/* CFG_NO_HA, CFG_DIRTY_HW */
	uint64_t churn_us;	/* pause between host operations */
	uint64_t min_inval;	/* run until both targets are met */
	uint64_t min_accesses;
};
#define CFG_NO_HA	0x1
#define CFG_DIRTY_HW	0x2	/* dirty logging in hardware mode (VTCR_EL2.HD) */
#define CFG_NO_HD	0x4	/* ...with DBM leaves but HD left clear: a control
				   that must fail (every clean write faults) */

uint8_t hyp_stacks[EL2_MAX_CPUS][1 << 14] __attribute__((aligned(16)));
static uint64_t el2_l1[512] __attribute__((aligned(4096)));

struct hyp hyp;

uint64_t now_ticks(void)
{
	__asm__ volatile("isb" : : : "memory");
	return sysreg_read(cntpct_el0);
}

uint64_t ms_to_ticks(uint64_t ms)
{
	return sysreg_read(cntfrq_el0) / 1000 * ms;
}

void hyp_exception(uint64_t kind, uint64_t esr, uint64_t elr, uint64_t far)
{
	hprintf("HYP-PANIC cpu %u: EL2 exception kind %lu esr %lx elr %lx far %lx\n",
		el2_cpu_id(), kind, esr, elr, far);
	hprintf("HYP-VERDICT FAIL\n");
	psci_smc(PSCI_SYSTEM_OFF, 0, 0, 0);
	for (;;)
		;
}

/*
 * EL2 stage 1: an identity map with 1 GiB level-1 blocks (4K granule,
 * T0SZ 25: 39-bit VA), Device-nGnRE below 1 GiB (the PL011), Normal
 * write-back for RAM at 1-2 GiB.  With it on, memory is Normal and the
 * exclusives of locks and atomics are architecturally defined (on Device
 * memory they are not, qemu-el2.md's design notes).
 */
#define MAIR_DEVICE_IDX	0
#define MAIR_NORMAL_IDX	1

static void el2_tables_build(void)
{
	const uint64_t af = 1ULL << 10, ap1 = 1ULL << 6, xn = 1ULL << 54, block = 1;

	/* AP[1] is RES1 in the EL2 regime (one privilege level) */
	el2_l1[0] = 0x00000000ULL | xn | af | ap1 | (MAIR_DEVICE_IDX << 2) | block;
	el2_l1[1] = 0x40000000ULL | af | ap1 | (3ULL << 8) | (MAIR_NORMAL_IDX << 2) | block;
}

static void el2_mmu_on(void)
{
	uint64_t pa = sysreg_read(id_aa64mmfr0_el1) & 0xf;
	uint64_t tcr = 25 | (1ULL << 8) | (1ULL << 10) | (3ULL << 12) |
		       ((pa > 5 ? 5 : pa) << 16) | (1ULL << 23) | (1ULL << 31);

	sysreg_write(mair_el2, 0x04ULL | (0xffULL << 8));
	sysreg_write(tcr_el2, tcr);
	sysreg_write(ttbr0_el2, (uint64_t)(uintptr_t)el2_l1);
	__asm__ volatile("dsb ish; tlbi alle2; dsb ish; isb" : : : "memory");
	/* SCTLR_EL2 RES1 bits (non-VHE), M, C, I */
	sysreg_write(sctlr_el2, 0x30c50830ULL | (1 << 0) | (1 << 2) | (1 << 12));
	__asm__ volatile("isb" : : : "memory");
}

static void print_features(const struct el2_features *f)
{
	hprintf("HYP features: midr %lx pa %u bits, stage-2 granules%s%s%s, "
		"FWB %u, TTL %u, TLBI range %u, TLBI OS %u, HAFDBS %u, VMID %u bits, "
		"BBM %u, CTR_EL0 %lx (DminLine %u, IDC %u, DIC %u)\n",
		f->midr, f->pa_bits, f->s2_4k ? " 4K" : "", f->s2_16k ? " 16K" : "",
		f->s2_64k ? " 64K" : "", f->fwb, f->ttl, f->tlb_range, f->tlb_os, f->hafdbs,
		f->vmid_bits, f->bbm, f->ctr, f->dline, f->idc, f->dic);
	if (!f->fwb)
		hprintf("HYP note: no FEAT_S2FWB: stage 2 not FWB-coherent, DC CIVAC on map/unmap\n");
	if (!f->tlb_range)
		hprintf("HYP note: no FEAT_TLBIRANGE: ranges are loops of IPAS2E1IS\n");
	if (!f->ttl)
		hprintf("HYP note: no FEAT_TTL: TLBI without level hints\n");
	if (!f->hafdbs)
		hprintf("HYP note: no FEAT_HAFDBS: access-flag faults, no VTCR_EL2.HA\n");
	if (!f->dic)
		hprintf("HYP note: CTR_EL0.DIC = 0: IC IALLUIS when a page becomes executable\n");
}

/* VTCR_EL2: T0SZ, SL0 from the table's start level, inner-shareable
 * write-back walks, TG0, PS, HA, HD (Arm ARM D17 VTCR_EL2). */
static uint64_t vtcr_value(const struct s2_pgtable *pgt, bool ha, bool hd)
{
	unsigned ps = hyp.feat.pa_bits >= 48 ? 5 : hyp.feat.pa_bits >= 44 ? 4 :
		      hyp.feat.pa_bits >= 42 ? 3 : hyp.feat.pa_bits >= 40 ? 2 : 1;
	uint64_t sl0, tg0;

	if (pgt->page_shift == 12) {
		sl0 = (uint64_t)(2 - pgt->start_level);
		tg0 = 0;
	} else {
		sl0 = (uint64_t)(3 - pgt->start_level);
		tg0 = pgt->page_shift == 16 ? 1 : 2;
	}
	return (uint64_t)(64 - pgt->ia_bits) | (sl0 << 6) | (1ULL << 8) | (1ULL << 10) |
	       (3ULL << 12) | (tg0 << 14) | ((uint64_t)ps << 16) |
	       (ha ? 1ULL << 21 : 0) | (hd ? 1ULL << 22 : 0) | (1ULL << 31);
}

/* The virtualization registers, the same on every CPU, written once
 * before any guest runs and never again (qemu-el2.md point 4). */
static void el2_virt_regs(void)
{
	sysreg_write(hcr_el2, hyp.hcr);
	sysreg_write(vtcr_el2, hyp.vtcr);
	sysreg_write(vttbr_el2, hyp.vttbr);
	sysreg_write(cptr_el2, 0x33ffULL);	/* no FP/SIMD trap (TFP = 0) */
	sysreg_write(cnthctl_el2, 3);		/* EL1 physical counter/timer */
	sysreg_write(cntvoff_el2, 0);
	__asm__ volatile("isb" : : : "memory");
}

static void primary_main(void)
{
	const struct hyp_cfg *c = (const struct hyp_cfg *)CFG_ADDR;
	struct s2_pgtable *pgt;
	unsigned cpu, gran;
	uint64_t r;

	el2_tables_build();
	el2_mmu_on();
	hprintf("\nHYP s2mmu example hypervisor at EL%lu\n",
		(sysreg_read(currentel) >> 2) & 3);
	if (c->magic == CFG_MAGIC) {
		hyp.granule_shift = (unsigned)c->granule_shift;
		hyp.run_ms = c->run_ms;
		hyp.nc = (unsigned)c->nc;
		hyp.seed = c->seed;
		hyp.no_ha = c->flags & CFG_NO_HA;
		hyp.dirty_hw = c->flags & CFG_DIRTY_HW;
		hyp.no_hd = c->flags & CFG_NO_HD;
		hyp.churn_us = c->churn_us;
		hyp.min_inval = c->min_inval;
		hyp.min_accesses = c->min_accesses;
	} else {
		hyp.granule_shift = 12;
		hyp.run_ms = 3000;
		hyp.seed = 1;
		hyp.churn_us = 1000;
	}
	el2_probe_features(&hyp.feat);
	print_features(&hyp.feat);
	gran = 1U << (hyp.granule_shift - 10);
#ifdef S2_EL2_CHECK
	hprintf("HYP check image: negative control '%s'\n",
		hyp.nc < EL2_NR_NC ? el2_nc_names[hyp.nc] : "?");
#else
	if (hyp.nc)
		hprintf("HYP note: negative controls exist only in hyp-check.elf; ignored\n");
	hyp.nc = 0;
#endif
	if ((hyp.granule_shift == 12 && !hyp.feat.s2_4k) ||
	    (hyp.granule_shift == 14 && !hyp.feat.s2_16k) ||
	    (hyp.granule_shift == 16 && !hyp.feat.s2_64k) ||
	    (hyp.granule_shift != 12 && hyp.granule_shift != 14 && hyp.granule_shift != 16)) {
		hprintf("HYP-SKIP %uK granule: this CPU has no such stage-2 granule "
			"(ID_AA64MMFR0_EL1.TGran%u_2 / TGran%u)\n", gran, gran, gran);
		psci_smc(PSCI_SYSTEM_OFF, 0, 0, 0);
	}
	if (hyp.dirty_hw && hyp.feat.hafdbs < 2) {
		hprintf("HYP-SKIP dirty-hw: no FEAT_HAFDBS dirty state on this CPU "
			"(ID_AA64MMFR1_EL1.HAFDBS = %u, needs 2)\n", hyp.feat.hafdbs);
		psci_smc(PSCI_SYSTEM_OFF, 0, 0, 0);
	}
	if (hyp.min_inval || hyp.min_accesses)
		hprintf("HYP config: %uK granule, until %lu invalidations and %lu guest accesses "
			"(cap %lu ms, then SHORT)", gran, hyp.min_inval, hyp.min_accesses,
			hyp.run_ms);
	else
		hprintf("HYP config: %uK granule, %lu ms", gran, hyp.run_ms);
	hprintf(", host operation every %lu us, seed %lu, hardware AF %s%s\n", hyp.churn_us,
		hyp.seed, hyp.feat.hafdbs && !hyp.no_ha ? "on (VTCR_EL2.HA)" : "off (AF faults)",
		!hyp.dirty_hw ? "" : hyp.no_hd ?
		", dirty logging in hardware mode WITHOUT VTCR_EL2.HD (control: must fail)" :
		", dirty logging in hardware mode (DBM, VTCR_EL2.HD)");

	el2_rcu_cpu_online(0);
	{
		struct el2_plat_cfg pc = {
			.pool = (void *)PLAT_POOL,
			.pool_size = PLAT_POOL_SIZE,
			.page_shift = hyp.granule_shift,
			.vttbr = 0,
			.nc = hyp.nc,
		};

		if (el2_platform_init(&hyp.plat, &pc)) {
			hprintf("HYP-VERDICT FAIL platform init\n");
			psci_smc(PSCI_SYSTEM_OFF, 0, 0, 0);
		}
	}
	if (host_init()) {
		hprintf("HYP-VERDICT FAIL VM set-up\n");
		psci_smc(PSCI_SYSTEM_OFF, 0, 0, 0);
	}
	pgt = s2_vm_pgtable(hyp.vm);
	/* HD: the hardware records a write to a DBM leaf (hardware dirty
	 * logging); FEAT_HAFDBS has HD only with HA */
	hyp.vtcr = vtcr_value(pgt, (pgt->flags & (S2_PGT_HW_AF | S2_PGT_HW_DBM)) != 0,
			      (pgt->flags & S2_PGT_HW_DBM) && !hyp.no_hd);
	hyp.vttbr = pgt->root_pa | (1ULL << 48);	/* VMID 1 */
	hyp.plat.vttbr = hyp.vttbr;
	hyp.hcr = (1ULL << 0) | (1ULL << 31) |	/* VM, RW */
		  ((pgt->flags & S2_PGT_NO_FWB) ? 0 : 1ULL << 46);	/* FWB */
	el2_virt_regs();
	/* CPU 0 never runs a guest, but its VTTBR_EL2 names the VMID its
	 * TLBIs act on; start from a clean TLB for that VMID */
	__asm__ volatile("dsb ishst; tlbi vmalls12e1is; dsb ish; isb" : : : "memory");
	hprintf("HYP VM: %s, IPA %u bits, start level %d, %u root entries, "
		"VTCR_EL2 %lx VTTBR_EL2 %lx HCR_EL2 %lx\n", pgt->fmt.name, pgt->ia_bits,
		pgt->start_level, pgt->root_entries, hyp.vtcr, hyp.vttbr, hyp.hcr);

	__atomic_store_n(&hyp.go, 1, __ATOMIC_RELEASE);
	for (cpu = 1; cpu < EL2_MAX_CPUS; cpu++) {
		r = psci_smc(PSCI_CPU_ON, cpu, (uint64_t)(uintptr_t)secondary_entry, cpu);
		if (r)
			break;
	}
	hyp.ncpus = cpu;
	hyp.nvcpu = cpu - 1;
	hprintf("HYP %u CPUs: CPU 0 is the host, %u vCPUs\n", hyp.ncpus, hyp.nvcpu);
	if (!hyp.nvcpu) {
		hprintf("HYP-VERDICT FAIL needs -smp 2 or more\n");
		psci_smc(PSCI_SYSTEM_OFF, 0, 0, 0);
	}
	host_run();
	psci_smc(PSCI_SYSTEM_OFF, 0, 0, 0);
}

static void secondary_main(unsigned cpu)
{
	el2_mmu_on();
	el2_rcu_cpu_online(cpu);
	while (!__atomic_load_n(&hyp.go, __ATOMIC_ACQUIRE))
		;
	el2_virt_regs();
	vcpu_run(cpu - 1);
	/* idle: an extended quiescent state for RCU */
	el2_rcu_eqs_enter();
	for (;;)
		__asm__ volatile("wfe");
}

void hyp_cpu_main(unsigned cpu)
{
	if (cpu == 0)
		primary_main();
	else
		secondary_main(cpu);
}
