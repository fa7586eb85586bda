/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Machine model internals shared by glue.c, vcpu.c and churn.c. */
#ifndef S2_SIM_MACHINE_INTERNAL_H
#define S2_SIM_MACHINE_INTERNAL_H

#include <pthread.h>
#include "sim/machine/machine.h"

#define TLB_N		1024	/* entries per vCPU, direct-mapped by (level, base) */
#define WC_N		16	/* walk-cache entries per level */
#define NR_VTEXT	8
#define LINE_VALID	(1ULL << 63)

#define ld(p)		__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define ldr(p)		__atomic_load_n((p), __ATOMIC_RELAXED)
#define st(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define str(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define inc(p)		__atomic_fetch_add((p), 1, __ATOMIC_RELAXED)
/* Counter with a single writer that other threads may read. */
#define vinc(f)		str(&(f), ldr(&(f)) + 1)

/*
 * One TLB entry: a leaf (page or block) as the walk found it.  The owner
 * vCPU writes it under its lock; other vCPUs read tag and pa locklessly
 * for the I5 comparison, through the sequence count.
 */
struct tlb_ent {
	uint64_t seq;		/* odd while being rewritten */
	uint64_t tag;		/* leaf IPA | (level + 2); 0 = invalid */
	uint64_t pa;		/* output of the leaf's start */
	uint64_t hva;		/* HVA of the leaf's start */
	uint64_t fill_clock;	/* oracle clock when the leaf was read */
	uint64_t walk_clock;	/* oracle clock before the leaf was read (I9) */
	uint64_t gen_pfn, gen;	/* the frame touched at fill and its generation */
	int level;
	unsigned slot;
	bool w;
	/* a write through it must first record itself in the leaf (arm64
	 * DBM-clean, EPT D clear): the hardware walks again to do that */
	bool wclean;
	bool device;
};

struct wc_ent {
	uint64_t tag;		/* (ipa >> shift) + 1; 0 = invalid */
	uint64_t *table;	/* next-level table this entry pointed at */
};

struct mach_vcpu {
	struct machine *m;
	unsigned id;
	pthread_mutex_t lock;	/* held across lookup/walk/fill/access; TLBI takes it */
	pthread_t thr;
	bool started;
	bool done;		/* the thread left its loop */
	enum mach_workload wl;
	uint64_t rnd, seq, cursor;
	uint64_t tlbi_gen;	/* invalidations seen, under lock (I6 sampling) */
	struct s2_memcache mc;
	struct s2_dirty_ring *ring;	/* MACH_DIRTY_RING; the VM frees it */
	struct mach_vstats st;
	struct tlb_ent tlb[TLB_N];
	struct wc_ent wc[S2_MAX_LEVELS + 1][WC_N];
};

struct mslot {
	bool live;		/* written before create and after delete (I1) */
	bool logging;
	bool pfnmap;
	unsigned flags;
	uint64_t gpa, size, hva;
	uint64_t gidx0;		/* first index in the per-page oracle arrays */
};

struct machine {
	struct mach_cfg cfg;
	struct host_phys *phys;
	struct host_mm *mm;
	struct host_mm *child;		/* a fork child alive between churn steps */
	pthread_mutex_t host_lock;	/* child and VMA-recreating churn steps */
	pthread_rwlock_t exit_lock;	/* host_pt_query readers vs exit_mmap */
	bool mm_put;
	struct s2_hosted *h;
	const struct s2_platform *plat;
	struct s2_platform plat_hi;	/* the hosted one, moved up by pa_base */
	uint64_t gpa_base;		/* memslots start here (ia_bits > 48) */
	uint64_t pa_base;		/* physical address of frame 0 (oa_bits > 48) */
	/* the unit of range-wide churn (reclaim, KSM, aging, munmap): the
	 * host's PMD size (2M, 32M or 512M), or a RAM slot when smaller */
	uint64_t huge;
	struct s2_vm *vm;
	struct host_mn_sub sub;
	bool registered;

	/* geometry of the stage-2 format, copied at creation */
	int start_level, last_level;
	unsigned page_shift;
	uint64_t span[S2_MAX_LEVELS + 1];
	unsigned shift[S2_MAX_LEVELS + 1];
	bool leaf_ok[S2_MAX_LEVELS + 1];

	struct mslot slot[MACH_MAX_SLOTS];
	unsigned nr_slots;
	uint64_t nr_gpages;
	uint64_t nr_pfns, io_pfn0;

	/* oracle state, per guest page (index from the slot's HVA) */
	uint64_t clock;			/* the oracle's clock, one tick per event */
	uint64_t hv;			/* harvest epoch (I7) */
	uint64_t *inv_epoch;		/* clock when the last range_start returned (I1) */
	uint32_t *inprog;		/* invalidations between start and end (I1) */
	uint64_t *clear_done;		/* clock when a young clear or zap last finished (I9) */
	uint32_t *clearing;		/* young clears and zaps running now (I9) */
	uint64_t *cfy_done;		/* clock when clear_flush_young last returned (I9) */
	uint64_t *young_mark;		/* walk clock of the latest access (I9) */
	uint64_t *last_write_hv;	/* harvest epoch of unreported writes (I7) */
	uint8_t *host_ro;		/* VMA made read-only by mprotect (I2) */
	uint64_t *line;			/* dirty cache line per pfn (non-FWB, I8) */

	unsigned nr_vcpus;
	struct mach_vcpu *vcpus[MACH_MAX_VCPUS];

	pthread_t churn_thr, ager_thr;
	bool churn_started, ager_started;
	int stop_churn, stop_vcpus, stop_ager;
	/* aging-phase calls begun, and in flight now (a vCPU's fault that
	 * sees either move ran beside one) */
	uint64_t age_begun, age_busy;
	int released;			/* release forwarded: faults end with ENOENT */
	int exiting;
	unsigned churn_w[MH_NR];
	uint64_t churn_rnd;
	uint64_t ro_hva[8], ro_len[8];	/* ranges mprotect made read-only */
	uint64_t split_hva;		/* a 2M range split last: collapse it back */
	unsigned age_mode;

	unsigned inject;		/* armed MACH_INJ_* */

	/* counters written by many threads */
	uint64_t c_tlbi_ipa, c_tlbi_range, c_tlbi_vm, c_dcache, c_icache;
	uint64_t c_tlb_drop, c_wc_drop;
	uint64_t c_starts, c_ends, c_skipped, c_release, c_cfy, c_cy, c_ty;
	/* an invalidation was in flight when release ran, or began after it:
	 * its end may never come (release unhashes the subscription) */
	uint64_t c_raced_release;
	uint64_t c_host_ok[MH_NR], c_host_fail[MH_NR];
	uint64_t c_harvests, c_harvested, c_memslot;
	/* one harvest at a time: the main thread's and those of vCPUs
	 * whose ring is full (a ring has one harvester) */
	pthread_mutex_t harvest_lock;
	uint64_t c_age_phase, c_age_phase_fail;

	pthread_mutex_t vlock;
	uint64_t viol[MI_NR];
	char vtext[NR_VTEXT][320];
	unsigned nvtext;
};

/* glue.c */
bool mach_gidx(struct machine *m, uint64_t hva, uint64_t *gidx, unsigned *slot);
bool mach_gpa_slot(struct machine *m, uint64_t gpa, unsigned *slot);
void mach_violation(struct machine *m, enum mach_inv inv, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
uint64_t mach_tick(struct machine *m);

/* vcpu.c */
void mach_observer(void *arg, enum s2_hosted_event ev, uint64_t addr,
		   uint64_t size, int level);
void *mach_vcpu_thread(void *arg);
struct mach_vcpu *mach_vcpu_new(struct machine *m, unsigned id);
void mach_vcpu_free(struct mach_vcpu *v);

/* churn.c */
void *mach_churn_thread(void *arg);
uint64_t mach_rand(uint64_t *s);

#endif
