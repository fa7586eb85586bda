/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * machine.h - the hardware model around the coherence core (DESIGN.md
 * section 6) and the oracle of its invariants (section 7).
 *
 * A machine ties one host mm (sim/host) to one s2_vm:
 *   - glue: s2_host_ops over host_gup / host_follow_pfn / host_mapping_level
 *     / host_vma_query, and a notifier subscriber that forwards every
 *     callback to s2_vm_mn_* while recording, per guest page, when each
 *     invalidation returned (the oracle's clock);
 *   - vCPUs: a per-vCPU TLB and walk cache filled by a hardware walk of the
 *     live stage-2 table and dropped only by the TLBI hooks the engine
 *     calls; access-flag and dirty-state updates by compare-and-exchange
 *     when the hardware manages them; a data-cache model for non-FWB;
 *   - the oracle: every completed access is checked for I1, I2, I5, I6
 *     (sampled), I7, I9 (and I8 with the cache model).
 *
 * Threads: any number of vCPU threads (one per vCPU, each vCPU used by one
 * thread at a time), host-operation threads and one control thread (memslot
 * changes, dirty-log harvests, exit).  The TLBI observer runs on whatever
 * thread the engine calls it from and takes each vCPU's lock, which is how a
 * TLBI "waits for walks in flight" (DSB after TLBI, Arm ARM D5.10).
 */
#ifndef S2_SIM_MACHINE_H
#define S2_SIM_MACHINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <s2mmu/mmu.h>
#include <s2mmu/hosted.h>
#include "sim/host/host.h"

#define MACH_MAX_VCPUS	64
#define MACH_MAX_SLOTS	3

/* Invariants the oracle counts (DESIGN.md section 7). */
enum mach_inv { MI_I1, MI_I2, MI_I5, MI_I6, MI_I7, MI_I8, MI_I9, MI_NR };
const char *mach_inv_name(enum mach_inv i);

/* Host operation kinds a churn thread runs (the --churn names). */
enum mach_hop {
	MH_MUNMAP,	/* munmap of a range, then mmap of it again */
	MH_DONTNEED,	/* madvise(MADV_DONTNEED) */
	MH_MPROTECT,	/* mprotect read-only, later back to read-write */
	MH_COLLAPSE,	/* khugepaged collapse of a host PMD range (2M at 4K) */
	MH_SPLIT,	/* split of a PMD-mapped THP */
	MH_MIGRATE,	/* page migration */
	MH_RECLAIM,	/* reclaim (aging, then swap-out) */
	MH_FORK,	/* fork: COW write-protection, the child exits later */
	MH_KSM,		/* KSM merge pass */
	MH_AGE,		/* clear_flush_young / clear_young / test_young aging */
	MH_OOM,		/* OOM reaper (non-blockable invalidation) */
	MH_EXIT,	/* exit_mmap of the VM's mm (last mmput) */
	MH_NR,
};
const char *mach_hop_name(enum mach_hop k);
/* Default weights of the churn mix (every kind but exit non-zero). */
void mach_churn_default(unsigned w[MH_NR]);
/* Parse "name=weight,..." into @w: the named kinds only, the rest 0;
 * "thp" sets collapse and split, "none" is the empty mix.
 * Return: 0, or -1 with a message in @err. */
int mach_parse_churn(const char *s, unsigned w[MH_NR], char *err, size_t errlen);

enum mach_workload { MW_SEQ, MW_RANDOM, MW_HOTCOLD, MW_MIX, MW_NR };
const char *mach_workload_name(enum mach_workload w);

/* Wrong behaviours the glue can be told to have, to prove the oracle
 * catches them (tests/machine_inject.c). */
#define MACH_INJ_SKIP_INVAL	0x1	/* forward no invalidate_range_start/end
					   for the next armed invalidation */
#define MACH_INJ_TY_OLD		0x2	/* answer the next test_young "old"
					   without asking the core */

/* Dirty-logging modes (issue 17 item 1): the bitmap harvested and
 * re-protected by get_dirty_log; manual protect (get, then clear in
 * 64-page chunks); a dirty ring per vCPU (harvest, then reset). */
enum mach_dirty_mode { MACH_DIRTY_BITMAP, MACH_DIRTY_MANUAL, MACH_DIRTY_RING, MACH_NR_DIRTY };
const char *mach_dirty_mode_name(enum mach_dirty_mode d);

struct mach_cfg {
	unsigned nr_vcpus;
	uint64_t guest_size;		/* split between two RAM memslots */
	bool thp;			/* THP VMAs (else 4K anonymous) */
	bool pfnmap_slot;		/* a third, 2 MiB PFNMAP slot */
	enum s2_format_id format;
	unsigned granule_shift;
	unsigned pgt_flags;		/* S2_PGT_HW_AF, _HW_DBM, _NO_FWB, _LPA2... */
	/*
	 * IPA and output sizes (0: 40 and 48).  Above 48 bits the memslots
	 * sit at the top of the IPA space and every physical address, of
	 * guest frames and of table pages, has bits 49..51 set, so a 52-bit
	 * format's walks use every level and every address piece.
	 */
	unsigned ia_bits, oa_bits;
	uint64_t seed;
	unsigned write_pct;		/* writes per 100 accesses */
	unsigned i6_sample;		/* check I6 on 1 of N block fills (0: never) */
	enum mach_dirty_mode dirty_mode;	/* how the dirty log is harvested */
	unsigned ring_entries;		/* MACH_DIRTY_RING: per vCPU (0: 4096) */
};
void mach_cfg_default(struct mach_cfg *c);

/* Per-vCPU counters, written only by the vCPU's own thread. */
struct mach_vstats {
	uint64_t accesses, reads, writes;
	uint64_t tlb_hits, tlb_misses, walks, walk_cache_hits;
	uint64_t faults, fault_ok, efault, enomem, enoent;
	uint64_t retries[S2_NR_RETRY];
	uint64_t af_faults, perm_faults, trans_faults;
	uint64_t write_perm_faults;	/* perm_faults of writes: write-protect */
	uint64_t hw_af_sets, hw_dbm_sets;
	uint64_t abandoned;		/* gave up an access after many faults */
	uint64_t i6_checks;
	/* faults that ran while an aging-phase call was in flight */
	uint64_t faults_beside_aging;
	/* dirty rings: faults that said soft-full (the vCPU harvested) and
	 * that found the ring full (-S2_EBUSY: nothing mapped, harvested,
	 * retried) */
	uint64_t ring_soft_full, ring_full;
};

struct mach_stats {
	struct mach_vstats v;			/* summed over vCPUs */
	uint64_t tlbi_ipa, tlbi_range, tlbi_vm, dcache, icache;
	uint64_t tlb_entries_dropped, walk_entries_dropped;
	uint64_t inval_starts, inval_ends, inval_skipped;
	/* invalidations that raced release (their end may be lost: Linux's
	 * mmu_notifier_release unhashes the subscription, so an OOM reaper's
	 * invalidate_range_end after it reaches no one) */
	uint64_t inval_raced_release;
	uint64_t releases, cfy, cy, ty;
	uint64_t host_ok[MH_NR], host_fail[MH_NR];
	uint64_t harvests, harvested_pages, memslot_updates;
	/* the dirty-logging phase: whether it ran, in which mode, and the
	 * write-protect faults (permission faults of writes) taken while
	 * it was on */
	bool dirty_phase_ran, dirty_phase_hw;
	uint64_t dirty_phase_wp_faults;
	/* the aging phase's sweeps: calls made and refused (no VMA there) */
	uint64_t age_phase_calls, age_phase_fail;
	uint64_t violations[MI_NR];
	uint64_t violations_total;
	struct s2_vm_stats core;
	struct s2_hosted_stats plat;
	double seconds;				/* wall time of mach_run */
	unsigned nr_texts;			/* first violations, as text */
	char texts[8][320];
};

struct machine;
struct mach_vcpu;

/**
 * mach_create() - host memory, an mm with the guest's VMAs, a hosted
 * platform, a VM with its memslots and the notifier subscriber registered.
 * Return: 0 with *@out, or a negative errno with a message on stderr.
 */
int mach_create(const struct mach_cfg *cfg, struct machine **out);
/**
 * mach_destroy() - unregister the subscriber (release if exit_mmap has not
 * run), destroy the VM, drop the mm and free everything.
 * Context: no vCPU or host thread running.
 */
void mach_destroy(struct machine *m);

/* Control of the threads mach_start runs. */
void mach_start(struct machine *m, const unsigned churn_w[MH_NR]);
void mach_stop_churn(struct machine *m);
void mach_stop_vcpus(struct machine *m);	/* and join them */
bool mach_vcpus_running(struct machine *m);

/*
 * The aging phase: one thread sweeping the RAM slots a host PMD (2M with
 * 4K pages) at a time with the host's aging (clear_young, test_young,
 * clear_young, clear_flush_young, in turn), as MGLRU's page-table walk
 * does, beside the vCPUs and the churn; stopped and joined by
 * mach_stop_aging.
 */
void mach_start_aging(struct machine *m);
void mach_stop_aging(struct machine *m);

/* Host operations, each counted by kind; @rnd picks ranges. */
int mach_host_op(struct machine *m, enum mach_hop k, uint64_t *rnd);
/* exit_mmap: drop the last mm user (seed 001's second teardown path). */
void mach_exit_mm(struct machine *m);

/* Dirty logging of RAM slot @slot (0 or 1), checked against the oracle's
 * shadow of completed writes (I7). */
int mach_dirty_log(struct machine *m, unsigned slot, bool on);
/* The same with @hw: in hardware mode (S2_MEM_DIRTY_HW; the table needs
 * S2_PGT_HW_DBM or EPT A/D), turning it on or off keeps the oracle's
 * shadow as a fresh log. */
int mach_dirty_log_mode(struct machine *m, unsigned slot, bool on, bool hw);
int mach_harvest(struct machine *m, unsigned slot);
int mach_delete_slot(struct machine *m, unsigned slot);
int mach_recreate_slot(struct machine *m, unsigned slot);

/* Single-stepped vCPU for tests: one access of @gpa, faulting as needed.
 * Return: 0 done, or the error that ended it (-S2_EFAULT, -S2_ENOENT). */
struct mach_vcpu *mach_vcpu(struct machine *m, unsigned i);
int mach_access(struct mach_vcpu *v, uint64_t gpa, bool write);

/* Arm an injected wrong behaviour (MACH_INJ_*) for the next operations. */
void mach_inject(struct machine *m, unsigned what);

void mach_get_stats(struct machine *m, struct mach_stats *out);
/* The first violations seen, as text (up to 8 lines). */
void mach_print_violations(struct machine *m, FILE *f);
unsigned mach_nr_violation_texts(struct machine *m);
const char *mach_violation_text(struct machine *m, unsigned i);

/* The whole `s2mmu run` scenario (docs/run.md). */
struct mach_run_opts {
	struct mach_cfg cfg;
	double seconds;
	unsigned churn_w[MH_NR];
	bool dirty_phase;		/* dirty logging on slot 1 mid-run */
	bool dirty_hw;			/* ... in hardware mode (S2_MEM_DIRTY_HW) */
	bool aging_phase;		/* the aging thread from 20% to 80% */
	bool progress;			/* live line on stderr */
};
void mach_run_defaults(struct mach_run_opts *o);
/**
 * mach_run() - build a machine, run vCPUs and host churn for o->seconds
 * with the dirty-logging phase, exit_mmap while the vCPUs still run, then
 * destroy the VM.  Return: 0 with @out filled, or a negative errno.
 */
int mach_run(const struct mach_run_opts *o, struct mach_stats *out);

/* Geometry, for tests and tools. */
uint64_t mach_slot_gpa(struct machine *m, unsigned slot);
uint64_t mach_slot_size(struct machine *m, unsigned slot);
uint64_t mach_slot_hva(struct machine *m, unsigned slot);
struct host_mm *mach_mm(struct machine *m);
struct s2_vm *mach_vm(struct machine *m);

#endif
