/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Check-build instrumentation (DESIGN.md section 8).  In a check build
 * (-DS2_CHECK) the library calls the platform's check hooks at every
 * interleaving point and at every bug-catalogue site; in every other
 * build the macros compile to nothing, so the catalogue's wrong code does
 * not exist in the shipped library.
 *
 * Each catalogue entry is one line here; docs/bugs.md describes it.
 */
#ifndef S2MMU_CHECK_H
#define S2MMU_CHECK_H

#include <s2mmu/compiler.h>

#define S2_BUG_LIST(X)				\
	X(fault_no_retry)			\
	X(seq_snapshot_late)			\
	X(ignore_in_progress)			\
	X(release_null_pgt_fault)		\
	X(release_null_pgt_age)			\
	X(hostlevel_reread)			\
	X(hostlevel_unlocked)			\
	X(pfnmap_pgoff_prefault)		\
	X(ro_check_at_create)			\
	X(fast_unmap_ref_uaf)			\
	X(tlbi_after_return)			\
	X(cmo_before_tlbi)			\
	X(split_no_bbm)				\
	X(shared_plain_store)			\
	X(free_no_grace)			\
	X(memslot_delete_no_zap)		\
	X(dirty_harvest_race)			\
	X(unmap_resched_pgd_uaf)		\
	X(block_misaligned_slot)		\
	X(double_get_leak)			\
	X(collapse_no_bbm)			\
	X(vma_info_after_unlock)		\
	X(defer_table_tlbi)			\
	X(tlbi_range_short)			\
	X(map_deleting_slot)			\
	X(range_add_overwrite)			\
	X(seq_truncate)				\
	X(lost_hw_dirty)			\
	X(yield_without_flush)			\
	X(memslot_update_mid_invalidation)	\
	X(finish_before_flush)			\
	X(shared_walk_no_rcu)			\
	X(prefault_no_seq)			\
	X(slots_gen_relaxed)			\
	X(memtype_no_bbm)			\
	X(fwb_no_icache)			\
	X(cfy_skips_old)			\
	X(release_flush_unlocked)		\
	X(clean_after_unlock)		\
	X(slots_free_size)			\
	X(age_plain_store)			\
	X(wrprotect_no_flush)			\
	X(hw_dirty_plain_clear)			\
	X(hw_dirty_no_tlbi)			\
	X(hw_dirty_zap_lost)

enum s2_bug_id {
#define S2_BUG_ENUM(n) S2_BUG_##n,
	S2_BUG_LIST(S2_BUG_ENUM)
#undef S2_BUG_ENUM
	S2_NR_BUGS
};

/* Invariants the library itself can see being broken (check builds). */
enum s2_invariant {
	S2_INV_I1 = 1, S2_INV_I2, S2_INV_I3, S2_INV_I4, S2_INV_I5,
	S2_INV_I6, S2_INV_I7, S2_INV_I8, S2_INV_I9, S2_INV_I10, S2_INV_I11,
};

#ifdef S2_CHECK
/* true when the named catalogue bug is switched on for this run (not a
 * BUG(): nothing crashes; the wrong code it guards runs instead) */
#define S2_BUG_INJECTED(plat, ctx, name) \
	((plat)->check_bug && (plat)->check_bug((ctx), S2_BUG_##name))
/* a point where the controlled scheduler may switch threads */
#define S2_PREEMPT(plat, ctx, site) \
	do { if ((plat)->check_preempt) (plat)->check_preempt((ctx), (site)); } while (0)
/* the library caught itself breaking an invariant (e.g. a released table
 * touched: the NULL dereference of seeds 000/001 made observable) */
#define S2_VIOLATION(plat, ctx, inv, what) \
	do { if ((plat)->check_violation) (plat)->check_violation((ctx), (inv), (what)); } while (0)
#else
#define S2_BUG_INJECTED(plat, ctx, name)		((void)(plat), (void)(ctx), false)
#define S2_PREEMPT(plat, ctx, site)	do { (void)(plat); (void)(ctx); } while (0)
#define S2_VIOLATION(plat, ctx, inv, what) do { (void)(plat); (void)(ctx); } while (0)
#endif

#endif
