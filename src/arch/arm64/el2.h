/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The arm64 EL2 platform: struct s2_platform for a bare-metal hypervisor
 * running at EL2 (non-VHE) with its own stage 1 on (Normal memory, so the
 * exclusives of the locks and of the library's atomics are architecturally
 * reliable: Arm ARM B2.9 "Synchronization and semaphores", exclusives on
 * Device memory are IMPLEMENTATION DEFINED).
 *
 * Built freestanding with the aarch64 cross compiler, no libc, next to the
 * unmodified library sources (src/format, src/pgtable, src/mmu).
 *
 * What the embedder provides (docs/hyp.md): one contiguous pool of memory
 * for table pages and small objects, identity-mapped at EL2 (VA == PA, so
 * the platform runs `linear` with offset 0); TPIDR_EL2 = this CPU's index
 * (0..EL2_MAX_CPUS-1) on every CPU; VTTBR_EL2 of the VM loaded on each CPU
 * that issues TLB maintenance for it; and the RCU quiescent-state calls at
 * guest entry / exit and in idle loops.
 */
#ifndef S2MMU_ARCH_ARM64_EL2_H
#define S2MMU_ARCH_ARM64_EL2_H

#include <s2mmu/platform.h>

#define EL2_MAX_CPUS	8

/* System register access, for the platform and the example hypervisor. */
#define sysreg_read(name) __extension__ ({				\
	uint64_t v__;							\
	__asm__ volatile("mrs %0, " #name : "=r"(v__));			\
	v__; })
#define sysreg_write(name, v) \
	__asm__ volatile("msr " #name ", %0" : : "r"((uint64_t)(v)) : "memory")

/* CPU features read from the ID registers (Arm ARM D17/D19 ID_AA64*). */
struct el2_features {
	uint64_t midr, mmfr0, mmfr1, mmfr2, isar0, ctr;
	unsigned pa_bits;		/* MMFR0.PARange decoded */
	bool s2_4k, s2_16k, s2_64k;	/* TGranN_2 (0 = as the stage-1 field) */
	unsigned hafdbs;		/* MMFR1.HAFDBS: 1 AF, 2 AF+DBM */
	unsigned vmid_bits;		/* 8 or 16 (MMFR1.VMIDBits) */
	bool fwb;			/* MMFR2.FWB: FEAT_S2FWB */
	bool ttl;			/* MMFR2.TTL: FEAT_TTL, TLBI level hints */
	unsigned bbm;			/* MMFR2.BBM */
	bool tlb_range;			/* ISAR0.TLB == 2: FEAT_TLBIRANGE */
	bool tlb_os;			/* ISAR0.TLB >= 1: FEAT_TLBIOS */
	unsigned dline, iline;		/* CTR_EL0 DminLine / IminLine, bytes */
	bool idc, dic;			/* CTR_EL0.IDC / DIC */
};

void el2_probe_features(struct el2_features *f);

/* Per-CPU counts of the maintenance actually executed. */
struct el2_counters {
	uint64_t tlbi_ipa;		/* IPAS2(L)E1IS issued (incl. range loops) */
	uint64_t tlbi_ipa_local;	/* IPAS2E1 (non-IS), permission relax */
	uint64_t tlbi_range;		/* RIPAS2(L)E1IS issued */
	uint64_t tlbi_vmalle1;		/* stage-1 follow-ups VMALLE1(IS) */
	uint64_t tlbi_vm;		/* VMALLS12E1IS */
	uint64_t dc_lines;		/* DC CIVAC lines */
	uint64_t dc_calls;
	uint64_t dcvau_lines;		/* DC CVAU lines before IC (no IDC) */
	uint64_t ic_calls;		/* IC IALLUIS */
	uint64_t defer_free, deferred_run, grace_periods;
	uint64_t lock_contended;
};

/*
 * Negative controls (docs/hyp.md): compiled only with -DS2_EL2_CHECK, the
 * way the library's catalogue bugs exist only in its check build.  Each
 * deliberately breaks one rule; make hyp-test expects a run to fail.
 */
enum el2_nc {
	EL2_NC_NONE,
	EL2_NC_NO_TLBI,		/* no TLB maintenance at all */
	EL2_NC_NO_S1_FOLLOWUP,	/* IPAS2E1IS + DSB, no VMALLE1IS after it */
	EL2_NC_LOCAL,		/* non-IS forms: this CPU only */
	EL2_NC_NO_IPA,		/* the IPA (range) TLBI left out, VMALLE1IS kept */
	EL2_NC_WRONG_IPA,	/* IPAS2E1IS on IPA + 64K, VMALLE1IS kept */
	EL2_NR_NC,
};
extern const char *const el2_nc_names[EL2_NR_NC];

/* A ticket spinlock and a writer-preferring rwlock, on exclusives. */
struct el2_spinlock {
	uint32_t val;			/* [31:16] next ticket, [15:0] owner */
};
#define EL2_SPINLOCK_INIT { 0 }
void el2_spin_lock(struct el2_spinlock *l);
void el2_spin_unlock(struct el2_spinlock *l);

struct el2_plat_cfg {
	void *pool;			/* identity-mapped, 64K aligned */
	uint64_t pool_size;
	unsigned page_shift;		/* table granule of this VM */
	uint64_t vttbr;			/* the VM the TLBI hooks act on */
	unsigned nc;			/* enum el2_nc (check builds) */
};

struct el2_meta;

struct el2_plat {
	struct s2_platform ops;		/* what s2_pgt_cfg.plat points to */
	struct el2_features feat;
	uint64_t vttbr;
	unsigned page_shift;
	unsigned nc;
	/* memory */
	struct el2_spinlock mem_lock;
	uint64_t pool_start, pool_end, bump;
	void *free_pages;		/* free table pages of page_shift */
	void *free_small[17];		/* size classes 2^4 .. 2^20 */
	struct el2_meta *meta;		/* one per 4K of the pool */
	uint64_t pages_out, exact_out, small_out;	/* leak accounting */
	/* deferred frees waiting for a grace period */
	struct el2_spinlock rcu_lock;
	struct el2_meta *pending;
	uint64_t pending_nr;
};

/* Fill @p (features probed, hooks set).  Return: 0, -S2_EINVAL. */
int el2_platform_init(struct el2_plat *p, const struct el2_plat_cfg *cfg);

/* This CPU's index (TPIDR_EL2) and counters. */
unsigned el2_cpu_id(void);
struct el2_counters *el2_counters(unsigned cpu);

/*
 * RCU for a bare-metal hypervisor (quiescent-state based, no scheduler).
 * A CPU is in an extended quiescent state (EQS) while it runs a guest or
 * idles: it holds no pointer into the library's tables then.  Each CPU
 * keeps a counter: even while in the hypervisor, odd while in an EQS;
 * el2_rcu_qs() bumps it by two at any other quiescent point (the top of a
 * loop that holds no RCU-protected pointer).  synchronize_rcu waits, for
 * every other online CPU, until it is seen in an EQS or its counter has
 * moved.  Deferred frees are queued and run by el2_rcu_poll() after a
 * grace period, on whichever CPU polls (the hypervisor's host loop).
 */
void el2_rcu_cpu_online(unsigned cpu);
void el2_rcu_qs(void);
void el2_rcu_eqs_enter(void);
void el2_rcu_eqs_exit(void);
void el2_rcu_poll(struct el2_plat *p);
void el2_synchronize_rcu(void);

/* Pool usage, for the leak check after s2_vm_destroy. */
void el2_mem_usage(struct el2_plat *p, uint64_t *pages, uint64_t *exact,
		   uint64_t *small);

#endif
