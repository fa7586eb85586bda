/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
#ifndef S2_BENCH_H
#define S2_BENCH_H

#include <stdint.h>

int s2_bench_main(int argc, char **argv);

/* Shared by the bench files: a monotonic clock in seconds, and the exit
 * (status 2) when a call the bench needs fails. */
double s2_bench_now(void);
void s2_bench_fail(const char *what, int ret);

/* Coherence-core figures (bench_core.c). */
struct s2_core_results {
	double fault_1t_per_s, fault_2t_per_s;
	double spurious_pct_ranged, spurious_pct_counter;
	unsigned long inval_rounds_ranged, inval_rounds_counter;
	double eager_s, lazy_s;			/* enable logging + write all */
	double eager_enable_s, lazy_enable_s;	/* of which the enable */
	uint64_t eager_faults, lazy_faults;
	/* pages aged per second by clear_young over 2M ranges: alone, and
	 * with two threads faulting on the same slot (their faults/s too) */
	double age_alone_per_s, age_2f_per_s, age_2f_faults_per_s;
	/* the dirty-log pass in hardware mode (S2_MEM_DIRTY_HW) over a slot
	 * of dirty_hw_pages 4K pages: all written (and its TLBI ops), none */
	uint64_t dirty_hw_pages, dirty_hw_all_tlbi;
	double dirty_hw_all_per_s, dirty_hw_none_per_s;
};

/* The invalidating thread of the spurious-retry figure: microseconds of
 * host work between start and end, and of quiet between invalidations. */
#define S2_BENCH_INVAL_WORK_US	5.0
#define S2_BENCH_INVAL_GAP_US	20.0

void s2_bench_fault_scaling(uint64_t slot_bytes, int reps, struct s2_core_results *r);
void s2_bench_spurious(unsigned long nfaults, struct s2_core_results *r);
void s2_bench_aging(uint64_t slot_bytes, double secs, int reps, struct s2_core_results *r);
void s2_bench_split(uint64_t slot_bytes, int reps, struct s2_core_results *r);
void s2_bench_dirty_hw(uint64_t slot_bytes, int reps, struct s2_core_results *r);

/* Dirty logging for live migration (bench_dirty.c, issue 17 item 1): one
 * harvest-and-re-protect pass over a guest of written 4K pages per mode,
 * and the read-heavy eager-split case (1 page in 10 written). */
struct s2_dirty_results {
	uint64_t guest_bytes, split_bytes;
	double bitmap_pages_per_s, manual_pages_per_s, ring_pages_per_s;
	double rh_eager_s, rh_lazy_s;
	uint64_t rh_eager_faults, rh_lazy_faults;
};
void s2_bench_dirty(uint64_t bytes, uint64_t split_bytes, int reps, struct s2_dirty_results *r);

#endif
