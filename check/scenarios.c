// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Scenarios: a few threads each, a few pages, a few steps, so that a
 * schedule is a few hundred scheduling points and thousands run a second.
 * Offsets are from the VMA's start (W_HVA); the slot maps it at GPA 0
 * unless the configuration says otherwise.
 *
 * Written in pages and blocks, so that each scenario is the same race at
 * every granule: the table's configurations in the 4K granule's sizes
 * (K4 a page, M2 a last-level block), which w_scale_cfg() turns into as
 * many pages and blocks of the world's granule (scenario_cfg); the
 * threads in the world's own (PG, BLK).
 */
#include <string.h>

#include "check/scenarios.h"

#define K4	0x1000ULL	/* the table's units: scaled by scenario_cfg() */
#define M2	0x200000ULL
#define PG	W_PG		/* the threads': the world's page and block */
#define BLK	W_BLK

#define ANON(pages) .kind = HOST_VMA_ANON, .vma_len = (pages) * K4, \
	.vma_prot = HOST_PROT_READ | HOST_PROT_WRITE, .slot_size = (pages) * K4
#define THP2M .kind = HOST_VMA_THP, .vma_len = M2, \
	.vma_prot = HOST_PROT_READ | HOST_PROT_WRITE, .slot_size = M2

/* ---- threads ---- */

static void v0_rw_page1(void *a) { (void)a; w_access(0, PG, true); w_access(0, PG, false); }
static void v0_read_page0_x3(void *a)
{
	(void)a;
	for (int i = 0; i < 3; i++)
		w_access(0, 0, false);
}
static void h_dontneed_page1(void *a) { (void)a; w_dontneed(PG, PG); }
static void h_dontneed_page0(void *a) { (void)a; w_dontneed(0, PG); }
static void h_dontneed_page2(void *a) { (void)a; w_dontneed(2 * PG, PG); }
static void v0_read_page0_then_1(void *a) { (void)a; w_access(0, 0, false); w_access(0, 0, false); }
static void h_exit(void *a) { (void)a; w_exit_mm(); }
static void h_destroy(void *a) { (void)a; w_vm_destroy_path(); }
static void m_vmm_walk_x2(void *a) { (void)a; w_vmm_walk(0); w_vmm_walk(0); }
static void v0_loop(void *a)
{
	(void)a;
	for (int i = 0; i < 3; i++)
		if (w_access(0, (uint64_t)(i & 1) * PG, i == 1) == -S2_ENOENT)
			break;
}
static void h_age_cfy(void *a) { (void)a; w_age(0, 4 * PG, HOST_AGE_CLEAR_FLUSH_YOUNG); }
static void h_split_hole(void *a) { (void)a; w_split(0); w_dontneed(PG, PG); }
static void v0_thp_read(void *a) { (void)a; w_access(0, 3 * PG, false); w_access(0, PG, false); }
static void h_collapse(void *a) { (void)a; w_collapse(0); }
static void v0_thp_read2(void *a) { (void)a; w_access(0, 2 * PG, false); }
static void h_level(void *a) { (void)a; w_host_level(2 * PG); w_host_level(2 * PG); }
static void h_mprotect(void *a) { (void)a; w_mprotect_ro(0, 4 * PG); }
static void v0_read_write0(void *a) { (void)a; w_access(0, 0, false); w_access(0, 0, true); }
static void v0_pfnmap(void *a) { (void)a; w_access(0, W_PFNMAP_GPA + PG, false); }
static void h_munmap_all4(void *a) { (void)a; w_munmap(0, 4 * PG); }
static void v1_read_page0_b(void *a) { (void)a; w_access(1, 0, false); w_access(1, 2 * PG, false); }
static void v0_three(void *a)
{
	(void)a;
	w_access(0, 0, false);
	w_access(0, PG, false);
	w_access(0, 2 * PG, false);
	w_access(0, 2 * PG, false);
}
static void h_dontneed3(void *a) { (void)a; w_dontneed(0, 3 * PG); }
static void v0_write0_x3(void *a)
{
	(void)a;
	for (int i = 0; i < 3; i++)
		w_access(0, 0, true);
}
static void h_dontneed0_nofwb(void *a) { (void)a; w_dontneed(0, PG); }
static void v0_walk_0_then_1(void *a) { (void)a; w_access(0, 0, false); w_access(0, PG, false); }
static void v0_writes_log(void *a)
{
	(void)a;
	w_access(0, 0, true);
	w_access(0, PG, true);
	w_access(0, 0, true);
}
static void h_harvest2(void *a) { (void)a; w_harvest(); w_harvest(); }
static void h_delete(void *a) { (void)a; w_delete_slot(0); }
static void c_log_on_then_v1_write(void *a) { (void)a; w_dirty_log(true); w_access(1, PG, true); }
static void v0_write_then_read(void *a)
{
	(void)a;
	w_access(0, 0, true);
	w_access(0, 0, false);
	w_access(0, 0, false);
}
static void c_log_off_then_v1_read(void *a) { (void)a; w_dirty_log(false); w_access(1, 2 * PG, false); }
static void h_cfy_log_ty(void *a)
{
	(void)a;
	w_age(0, PG, HOST_AGE_CLEAR_FLUSH_YOUNG);
	w_dirty_log(true);
	w_age(0, PG, HOST_AGE_TEST_YOUNG);
}
static void v0_read1_after(void *a) { (void)a; w_access(0, 0, false); w_access(0, PG, false); }
static void h_munmap_2m(void *a) { (void)a; w_munmap(0, BLK); }
static void v0_thp_touch(void *a) { (void)a; w_access(0, 0, false); }
static void h_munmap_2m4(void *a) { (void)a; w_munmap(0, BLK + 4 * PG); }
static void h_dontneed_2m4(void *a) { (void)a; w_dontneed(0, BLK + 4 * PG); }
static void h_move(void *a) { (void)a; w_move_slot(0, 2 * BLK); }
static void v0_slot_tail(void *a) { (void)a; w_access(0, 0, false); w_access(0, 255 * PG, false); }
static void v0_pfnmap_x2(void *a)
{
	(void)a;
	w_access(0, W_PFNMAP_GPA + PG, false);
	w_access(0, W_PFNMAP_GPA + PG, false);
}
static void m_reprefault_delete(void *a) { (void)a; w_prefault_pfnmap(); w_delete_slot(1); }
/*
 * The VMM moves slot 0 (HVA page 0 at GPA 0) to GPA 2 blocks (4M) and vCPU 0 reads
 * the moved page at its new GPA; then the VMM mprotects an unrelated page
 * and the vCPU reads again, through its TLB entry.  mprotect takes
 * mmap_lock for write, so it waits for a DONTNEED in flight to finish
 * (frames freed): the second read comes after the free without the
 * scheduler having to preempt the vCPU at the right point.
 */
static void m_move_then_v0_new(void *a)
{
	(void)a;
	w_move_slot(0, 2 * BLK);
	w_access(0, 2 * BLK, false);
	w_mprotect_ro(3 * PG, PG);
	w_access(0, 2 * BLK, false);
}

static void v0_read_p5(void *a) { (void)a; w_access(0, 5 * PG, false); }
static void v1_read_p7(void *a) { (void)a; w_access(1, 7 * PG, false); }
static void m_prefault(void *a) { (void)a; w_prefault_pfnmap(); }
static void h_munmap_pfnmap(void *a) { (void)a; w_munmap(W_PFNMAP_HVA, 16 * PG); }
static void v0_pfnmap_read(void *a) { (void)a; w_access(0, W_PFNMAP_GPA + PG, false); }
static void v1_pfnmap_read2(void *a)
{
	(void)a;
	w_access(1, W_PFNMAP_GPA + PG, false);
	w_access(1, W_PFNMAP_GPA + PG, false);
}
static void v0_exec(void *a)
{
	(void)a;
	w_access_kind(0, 0, S2_ACC_EXEC);
	w_access(0, PG, false);
	w_access_kind(0, PG, S2_ACC_EXEC);
	w_access_kind(0, PG, S2_ACC_EXEC);
}
static void h_migrate_p1(void *a) { (void)a; w_migrate(PG); }
static void h_cy_cfy_ty(void *a)
{
	(void)a;
	w_age(0, PG, HOST_AGE_CLEAR_YOUNG);
	w_age(0, PG, HOST_AGE_CLEAR_FLUSH_YOUNG);
	w_age(0, PG, HOST_AGE_TEST_YOUNG);
}

static void v1_write_p1(void *a) { (void)a; w_access(1, PG, true); }
static void s_cy_2m(void *a) { (void)a; w_age_s2(0, BLK, HOST_AGE_CLEAR_YOUNG); }
static void s_cy_4p(void *a) { (void)a; w_age_s2(0, 4 * PG, HOST_AGE_CLEAR_YOUNG); }
static void s_cfy_ty_p0(void *a)
{
	(void)a;
	w_age_s2(0, PG, HOST_AGE_CLEAR_FLUSH_YOUNG);
	w_age_s2(0, PG, HOST_AGE_TEST_YOUNG);
}

static void m_log_on_harvest(void *a) { (void)a; w_dirty_log(true); w_harvest(); }
static void v0_write_p1_x2(void *a) { (void)a; w_access(0, PG, true); w_access(0, PG, true); }

static void h_dontneed_2m(void *a) { (void)a; w_dontneed(0, BLK); }

/* hardware dirty logging: writes the hardware records, harvests racing
 * them, an invalidation of a written page */
static void v0_hw_writes(void *a)
{
	(void)a;
	w_access(0, 0, true);
	w_access(0, PG, true);
	w_access(0, 0, true);
}
static void v0_write_p0(void *a) { (void)a; w_access(0, 0, true); }
static void h_migrate_p0_harvest(void *a) { (void)a; w_migrate(0); w_harvest(); }
static void m_hw_off_harvest(void *a) { (void)a; w_dirty_log_hw(false); w_harvest(); }

/* ---- set-ups ---- */

static void read_pages01(void)
{
	/* pages 0 and 1 mapped writable-clean by read faults: the guest's
	 * writes then set the dirty state with no fault */
	w_access(0, 0, false);
	w_access(0, PG, false);
}

static void split_write_page0(void)
{
	/* the THP split, page 0 written through a 4K translation: a dirty
	 * line (no FWB) in a last-level table a 2M zap detaches whole */
	w_split(0);
	w_access(0, 0, true);
}

static void log_pages_then_off(void)
{
	/* pages 0 and 1 mapped as pages while logging, then logging off:
	 * the next fault in the 2M maps a block over their table */
	w_access(0, 0, true);
	w_access(0, PG, true);
	w_dirty_log(false);
}

/* issue 17 item 1: manual protect and dirty rings */
static void v0_write_p0_p1(void *a) { (void)a; w_access(0, 0, true); w_access(0, PG, true); }
static void m_clear_partial_full(void *a) { (void)a; w_harvest_mode(true); w_harvest_mode(false); }
static void m_log_on_harvest_x2(void *a) { (void)a; w_dirty_log(true); w_harvest(); w_harvest(); }
static void v0_write0_x2(void *a) { (void)a; w_access(0, 0, true); w_access(0, 0, true); }
static void v0_write_p0_p1_p2(void *a)
{
	(void)a;
	for (int i = 0; i < 3; i++)
		w_access(0, (uint64_t)i * PG, true);
}
static void m_harvest(void *a) { (void)a; w_harvest(); }
static void v0_write_p1_x2_r(void *a) { (void)a; w_access(0, PG, true); w_access(0, PG, true); }
static void m_get_clear(void *a) { (void)a; w_harvest(); }

static void populate_page0(void)
{
	/* a mapping to zap: fault page 0 in on vCPU 0 before the threads */
	w_access(0, 0, false);
}
static void split_now(void) { w_split(0); }
static void block_logging(void)
{
	/* a 2M block in vCPU 0's TLB, then dirty logging on: the block is
	 * read-only, and the next write in it splits it under mmu_lock for
	 * read (lazy split) */
	w_access(0, 0, false);
	w_dirty_log(true);
}
static void populate_page0_w(void)
{
	/* a writable translation already in vCPU 0's TLB, so the guest can
	 * keep writing through it while the host zaps the page */
	w_access(0, 0, true);
}
static void populate_4(void)
{
	/* pages 0-3 in the table and the TLB: the zap of 0-2 leaves the
	 * last-level table alive (page 3), so the only invalidation is the
	 * leaves' range, not a table's that would cover it */
	for (uint64_t i = 0; i < 4; i++)
		w_access(0, i * PG, false);
}
static void populate_two_tables(void)
{
	/* page 0 and a page in the next 2M: zapping page 0 empties its
	 * last-level table but not the level-2 table above it, so the
	 * table entry's invalidation is not merged into a bigger one */
	w_access(0, BLK, false);
	w_access(0, 0, false);
}

#define T1(a, fa) .tname = { a }, .thread = { fa }
#define T2(a, fa, b, fb) .tname = { a, b }, .thread = { fa, fb }
#define T3(a, fa, b, fb, c, fc) .tname = { a, b, c }, .thread = { fa, fb, fc }

const struct scenario scenarios[] = {
	{ "fault_vs_dontneed", "vCPU write/read of a page while the host zaps it",
	  { ANON(4), .nr_vcpus = 1, .populate = true },
	  NULL, T2("vcpu0", v0_rw_page1, "host: dontneed", h_dontneed_page1), false },
	{ "fault_vs_two_invals", "a fault racing two overlapping-in-time invalidations",
	  { ANON(4), .nr_vcpus = 1, .populate = true },
	  NULL, T3("vcpu0", v0_read_page0_then_1, "host: dontneed p0", h_dontneed_page0,
		   "host: dontneed p2", h_dontneed_page2), false },
	{ "fault_vs_exit", "vCPU faults while the process exits (exit_mmap, release)",
	  { ANON(4), .nr_vcpus = 1, .populate = true },
	  populate_page0, T2("vcpu0", v0_loop, "host: exit_mmap", h_exit), false },
	{ "age_vs_release", "aging and a vCPU while the VM is destroyed (unregister)",
	  { ANON(4), .nr_vcpus = 1, .populate = true },
	  populate_page0, T3("vcpu0", v0_loop, "host: age", h_age_cfy,
			     "vm destroy", h_destroy), false },
	{ "thp_split_vs_fault", "a fault sizing its mapping while the host splits a THP",
	  { THP2M, .nr_vcpus = 1, .populate = true },
	  NULL, T2("vcpu0", v0_thp_read, "host: split+zap", h_split_hole), false },
	{ "thp_collapse_vs_fault", "khugepaged collapse racing the lockless level walk",
	  { THP2M, .nr_vcpus = 1, .populate = true },
	  split_now, T3("vcpu0", v0_thp_read2, "host: collapse", h_collapse,
			"zap-collapsible walk", h_level), false },
	{ "mprotect_vs_write", "write after the host made the VMA read-only",
	  { ANON(4), .nr_vcpus = 1, .populate = true },
	  NULL, T2("vcpu0", v0_read_write0, "host: mprotect ro", h_mprotect), false },
	{ "pfnmap_prefault", "PFNMAP slot prefaulted at creation, then accessed",
	  { ANON(4), .nr_vcpus = 1, .pfnmap_slot = true },
	  NULL, T1("vcpu0", v0_pfnmap), false },
	{ "parallel_fault", "two vCPUs fault the same page, then the range goes",
	  { ANON(4), .nr_vcpus = 2, .populate = true },
	  NULL, T3("vcpu0", v0_read_page0_x3, "vcpu1", v1_read_page0_b,
		   "host: munmap", h_munmap_all4), true },
	{ "range_tlbi", "a three-page zap while a vCPU keeps its translations",
	  { ANON(4), .nr_vcpus = 1, .populate = true },
	  populate_4, T2("vcpu0", v0_three, "host: dontneed 3p", h_dontneed3), false },
	{ "nofwb_unmap", "non-FWB: guest writes while the page is unmapped (I8)",
	  { ANON(4), .nr_vcpus = 1, .populate = true, .pgt_flags = S2_PGT_NO_FWB },
	  populate_page0_w, T2("vcpu0", v0_write0_x3, "host: dontneed", h_dontneed0_nofwb), false },
	{ "unmap_vs_walk", "table unlinked and freed while the hardware walks it",
	  { ANON(4), .nr_vcpus = 1, .populate = true },
	  NULL, T2("vcpu0", v0_walk_0_then_1, "host: dontneed p0", h_dontneed_page0), false },
	{ "dirty_harvest", "guest writes while the dirty log is harvested",
	  { ANON(4), .nr_vcpus = 1, .populate = true, .slot_flags = S2_MEM_DIRTY_LOG },
	  NULL, T2("vcpu0", v0_writes_log, "harvest", h_harvest2), false },
	{ "memslot_delete", "a memslot deleted under a running vCPU",
	  { ANON(4), .nr_vcpus = 1, .populate = true },
	  NULL, T2("vcpu0", v0_read_page0_then_1, "delete slot", h_delete), false },
	{ "memslot_move_vs_inval", "a memslot moved while an invalidation runs",
	  { ANON(4), .nr_vcpus = 1, .populate = true },
	  NULL, T3("vcpu0", v0_read_page0_then_1, "host: dontneed p0", h_dontneed_page0,
		   "move slot", h_move), false },
	{ "memslot_move_mid_inval", "a slot moved while the host unmaps one of its pages, "
	  "and a fault on the page's new GPA",
	  { ANON(4), .nr_vcpus = 1, .populate = true },
	  NULL, T2("host: dontneed p0", h_dontneed_page0, "vmm: move, vcpu0 new GPA, mprotect",
		   m_move_then_v0_new), false },
	{ "lazy_split", "dirty logging on, a write splits a block another vCPU uses",
	  { THP2M, .nr_vcpus = 2, .populate = true },
	  NULL, T2("vcpu0", v0_read_page0_x3, "log on + vcpu1 write", c_log_on_then_v1_write),
	  false },
	{ "collapse_after_log", "dirty logging off, a fault maps a block over pages",
	  { THP2M, .nr_vcpus = 2, .populate = true, .slot_flags = S2_MEM_DIRTY_LOG },
	  NULL, T2("vcpu0", v0_write_then_read, "log off + vcpu1 read", c_log_off_then_v1_read),
	  false },
	{ "age_hw_af", "hardware access flag vs software updates of the leaf (I9)",
	  { ANON(4), .nr_vcpus = 1, .populate = true, .pgt_flags = S2_PGT_HW_AF },
	  populate_page0, T2("vcpu0", v0_read_page0_x3, "age+log+test", h_cfy_log_ty), false },
	{ "seq_wrap", "a fault after the sequence passed 2^31",
	  { ANON(4), .nr_vcpus = 1, .populate = true },
	  NULL, T2("vcpu0", v0_read1_after, "host: dontneed p2", h_dontneed_page2), false },
	{ "fast_unmap", "a 2M munmap through the fast unmap while a vCPU walks",
	  { THP2M, .nr_vcpus = 1, .populate = true },
	  split_now, T2("vcpu0", v0_thp_touch, "host: munmap 2M", h_munmap_2m), false },
	{ "table_zap_walk_cache", "a last-level table zapped and freed under a walk cache",
	  { .kind = HOST_VMA_ANON, .vma_len = M2 + 4 * K4,
	    .vma_prot = HOST_PROT_READ | HOST_PROT_WRITE, .slot_size = M2 + 4 * K4,
	    .nr_vcpus = 1 },
	  populate_two_tables, T2("vcpu0", v0_walk_0_then_1, "host: dontneed p0",
				  h_dontneed_page0), false },
	{ "thp_slot_tail", "a THP-backed fault in a memslot smaller than the block",
	  { .kind = HOST_VMA_THP, .vma_len = M2,
	    .vma_prot = HOST_PROT_READ | HOST_PROT_WRITE, .slot_size = 256 * K4,	/* half the block at 4K */
	    .nr_vcpus = 1, .populate = true },
	  NULL, T1("vcpu0", v0_slot_tail), false },
	{ "pfnmap_reprefault", "the VMM prefaults a PFNMAP slot again, then deletes it",
	  { ANON(4), .nr_vcpus = 1, .pfnmap_slot = true },
	  NULL, T2("vcpu0", v0_pfnmap_x2, "vmm: prefault+delete", m_reprefault_delete), true },
	{ "zap_resched_vs_destroy", "a chunked zap drops mmu_lock while the VM is destroyed",
	  { .kind = HOST_VMA_ANON, .vma_len = M2 + 4 * K4,
	    .vma_prot = HOST_PROT_READ | HOST_PROT_WRITE, .slot_size = M2 + 4 * K4,
	    .nr_vcpus = 1 },
	  populate_two_tables, T2("host: munmap 2M+4p", h_munmap_2m4, "vm destroy", h_destroy),
	  false },
	{ "zap_yield_vs_inval", "a chunked zap yields mmu_lock while a second invalidation "
	  "of its first chunk runs and returns",
	  { .kind = HOST_VMA_ANON, .vma_len = M2 + 4 * K4,
	    .vma_prot = HOST_PROT_READ | HOST_PROT_WRITE, .slot_size = M2 + 4 * K4,
	    .nr_vcpus = 1 },
	  populate_two_tables, T3("host: dontneed 2M+4p", h_dontneed_2m4,
				  "host: dontneed p0", h_dontneed_page0,
				  "vcpu0", v0_read_page0_x3), false },
	{ "shared_collapse_walk", "one fault collapses a table into a block while another "
	  "descends through it (I3)",
	  { THP2M, .nr_vcpus = 2, .populate = true, .slot_flags = S2_MEM_DIRTY_LOG },
	  log_pages_then_off, T2("vcpu0", v0_read_p5, "vcpu1", v1_read_p7), false },
	{ "prefault_vs_munmap", "the VMM prefaults a PFNMAP slot while the host unmaps it",
	  { ANON(4), .nr_vcpus = 1, .pfnmap_slot = true },
	  NULL, T2("vmm: prefault", m_prefault, "host: munmap pfnmap", h_munmap_pfnmap), false },
	{ "pfnmap_memtype", "a PFNMAP of memory faulted in Normal, prefaulted again as Device",
	  { ANON(4), .nr_vcpus = 2, .pfnmap_slot = true, .pfnmap_mem = true },
	  NULL, T3("vcpu0", v0_pfnmap_read, "vmm: prefault", m_prefault,
		   "vcpu1", v1_pfnmap_read2), false },
	{ "exec_vs_migrate", "instruction fetches from pages made executable, one migrated",
	  { ANON(4), .nr_vcpus = 1, .populate = true, .arm64_only = true },
	  NULL, T2("vcpu0", v0_exec, "host: migrate p1", h_migrate_p1), false },
	{ "age_clear_young", "clear_young, then clear_flush_young, then test_young, with a "
	  "vCPU reading (I9)",
	  { ANON(4), .nr_vcpus = 1, .populate = true, .pgt_flags = S2_PGT_HW_AF },
	  populate_page0, T2("vcpu0", v0_read_page0_x3, "cy+cfy+ty", h_cy_cfy_ty), false },
	{ "release_vs_dontneed", "the VM is destroyed while the host zaps a page a vCPU "
	  "still translates",
	  { ANON(4), .nr_vcpus = 1, .populate = true },
	  populate_page0, T3("vcpu0", v0_read_page0_x3, "host: dontneed p0", h_dontneed_page0,
			     "vm destroy", h_destroy), false },
	{ "nofwb_double_zap", "non-FWB: two zaps of the same 2M race, one detaches the "
	  "table with a dirty line in it",
	  { THP2M, .nr_vcpus = 1, .populate = true, .pgt_flags = S2_PGT_NO_FWB },
	  split_write_page0, T2("host: dontneed 2M", h_dontneed_2m, "host: dontneed 2M again",
				h_dontneed_2m), false },
	{ "vmm_walk_vs_exit", "the VMM walks stage 2 under RCU alone (s2_vm_pgtable) while "
	  "the process exits and release frees the table",
	  { ANON(4), .nr_vcpus = 1, .populate = true },
	  populate_page0, T2("vmm: walk stage 2", m_vmm_walk_x2, "host: exit", h_exit), false },
	/*
	 * Aging under mmu_lock for read beside a fault that splits the very
	 * block it is clearing (lazy split while logging): a clear by plain
	 * store writes the block back over the table the split installed
	 * (age_plain_store).  The ager calls the handler directly: the host
	 * model's resolve() takes the page-table lock its aging holds, where
	 * Linux's fault path resolves through GUP-fast without it.  arm64
	 * without HA: with hardware-managed bits (HA, EPT's A/D) even an
	 * exclusive leaf update compares and exchanges.
	 */
	{ "age_vs_split", "clear_young of a 2M block while a write fault splits it "
	  "(dirty logging on)",
	  { THP2M, .nr_vcpus = 2, .populate = true, .arm64_only = true },
	  block_logging, T2("ager: clear_young", s_cy_2m, "vcpu1: write p1", v1_write_p1),
	  false },
	/* Two agers of one page at once, the library's handlers called
	 * directly (the host model's own serialise on its page-table lock):
	 * the clear_flush_young that finds page 0 already old while the
	 * clear_young that made it old is still walking pages 1-3 must flush
	 * it (I9) */
	{ "age_vs_age", "clear_young and clear_flush_young of a page at once, a vCPU "
	  "reading it (I9)",
	  { ANON(4), .nr_vcpus = 1, .populate = true },
	  populate_page0, T3("ager: clear_young p0-3", s_cy_4p, "ager: cfy+test_young", s_cfy_ty_p0,
			     "vcpu0", v0_read_page0_x3), false },
	{ "log_enable_vs_write", "dirty logging turned on while a vCPU writes, then a harvest",
	  { ANON(4), .nr_vcpus = 1, .populate = true },
	  NULL, T2("vmm: log on, harvest", m_log_on_harvest, "vcpu0", v0_write_p1_x2), false },
	{ "hw_dirty_harvest", "hardware dirty logging: the guest's writes set the dirty "
	  "state while harvests test and clear it (I7)",
	  { ANON(4), .nr_vcpus = 1, .populate = true, .pgt_flags = S2_PGT_HW_DBM,
	    .slot_flags = S2_MEM_DIRTY_LOG | S2_MEM_DIRTY_HW },
	  read_pages01, T2("vcpu0", v0_hw_writes, "harvest", h_harvest2), false },
	{ "hw_dirty_zap", "hardware dirty logging: a written page migrated by the host, "
	  "then a harvest (I7)",
	  { ANON(4), .nr_vcpus = 1, .populate = true, .pgt_flags = S2_PGT_HW_DBM,
	    .slot_flags = S2_MEM_DIRTY_LOG | S2_MEM_DIRTY_HW },
	  read_pages01, T2("vcpu0", v0_write_p0, "host: migrate p0, harvest",
			   h_migrate_p0_harvest), false },
	{ "hw_dirty_switch", "hardware dirty logging switched back to write-protect "
	  "logging while the guest writes, then a harvest (I7)",
	  { ANON(4), .nr_vcpus = 1, .populate = true, .pgt_flags = S2_PGT_HW_DBM,
	    .slot_flags = S2_MEM_DIRTY_LOG | S2_MEM_DIRTY_HW },
	  read_pages01, T2("vcpu0", v0_hw_writes, "vmm: hw off, harvest", m_hw_off_harvest),
	  false },
	/* manual protect: a clear of one page of a word while the guest
	 * writes others; the next get must still report them (I7) */
	{ "manual_clear_partial", "manual protect: a clear of part of what the get reported, "
	  "a vCPU writing two pages (I7)",
	  { ANON(4), .nr_vcpus = 1, .populate = true, .slot_flags = S2_MEM_DIRTY_LOG,
	    .dirty_mode = W_DIRTY_MANUAL },
	  NULL, T2("vcpu0", v0_write_p0_p1, "vmm: clear p0, then all", m_clear_partial_full), false },
	/* manual protect: the clear of a page the guest keeps writing */
	{ "manual_clear_vs_write", "manual protect: get and clear while a vCPU writes the page "
	  "again (I7)",
	  { ANON(4), .nr_vcpus = 1, .populate = true, .slot_flags = S2_MEM_DIRTY_LOG,
	    .dirty_mode = W_DIRTY_MANUAL },
	  populate_page0_w, T2("vcpu0", v0_write0_x3, "vmm: get+clear", m_get_clear), false },
	/* initially set: logging on protects nothing, so a page writable
	 * from before must start dirty (I7) */
	{ "init_set_enable", "initially-set logging turned on under a vCPU writing a page it "
	  "holds writable (I7)",
	  { ANON(4), .nr_vcpus = 1, .populate = true, .dirty_mode = W_DIRTY_INIT_SET },
	  populate_page0_w, T2("vmm: log on, get+clear x2", m_log_on_harvest_x2, "vcpu0",
			       v0_write0_x2), false },
	/* a ring of 2 filled by three writes: the third must wait (I7) */
	{ "ring_full", "dirty ring of 2 entries, three pages written, a harvest (I7)",
	  { ANON(4), .nr_vcpus = 1, .populate = true, .slot_flags = S2_MEM_DIRTY_LOG,
	    .dirty_mode = W_DIRTY_RING, .ring_entries = 2 },
	  NULL, T2("vcpu0", v0_write_p0_p1_p2, "vmm: harvest+reset", m_harvest), false },
	/* a harvest of the ring while the fault pushes its entry (I7) */
	{ "ring_harvest_vs_push", "dirty ring harvested and reset while a write fault pushes "
	  "(I7)",
	  { ANON(4), .nr_vcpus = 1, .populate = true, .slot_flags = S2_MEM_DIRTY_LOG,
	    .dirty_mode = W_DIRTY_RING, .ring_entries = 4 },
	  NULL, T2("vcpu0", v0_write_p1_x2_r, "vmm: harvest+reset", m_harvest), false },
};
const unsigned nr_scenarios = sizeof(scenarios) / sizeof(scenarios[0]);

void scenario_cfg(const struct scenario *s, struct w_cfg *cfg)
{
	*cfg = s->cfg;
	w_scale_cfg(cfg);
}

const struct scenario *scenario_find(const char *name)
{
	for (unsigned i = 0; i < nr_scenarios; i++)
		if (!strcmp(scenarios[i].name, name))
			return &scenarios[i];
	return NULL;
}

const struct bug_target bug_targets[S2_NR_BUGS] = {
	[S2_BUG_fault_no_retry] = { "fault_no_retry", "fault_vs_dontneed", 1 },
	[S2_BUG_seq_snapshot_late] = { "seq_snapshot_late", "fault_vs_dontneed", 1 },
	[S2_BUG_ignore_in_progress] = { "ignore_in_progress", "fault_vs_dontneed", 1 },
	[S2_BUG_release_null_pgt_fault] = { "release_null_pgt_fault", "fault_vs_exit", 4 },
	[S2_BUG_release_null_pgt_age] = { "release_null_pgt_age", "age_vs_release", 4 },
	[S2_BUG_hostlevel_reread] = { "hostlevel_reread", "thp_collapse_vs_fault", 6 },
	[S2_BUG_hostlevel_unlocked] = { "hostlevel_unlocked", "thp_split_vs_fault", 6 },
	[S2_BUG_pfnmap_pgoff_prefault] = { "pfnmap_pgoff_prefault", "pfnmap_prefault", 1 },
	[S2_BUG_ro_check_at_create] = { "ro_check_at_create", "mprotect_vs_write", 2 },
	[S2_BUG_fast_unmap_ref_uaf] = { "fast_unmap_ref_uaf", "fast_unmap", 3 },
	[S2_BUG_tlbi_after_return] = { "tlbi_after_return", "fault_vs_dontneed", 1 },
	[S2_BUG_cmo_before_tlbi] = { "cmo_before_tlbi", "nofwb_unmap", 8 },
	[S2_BUG_split_no_bbm] = { "split_no_bbm", "lazy_split", 5 },
	[S2_BUG_shared_plain_store] = { "shared_plain_store", "parallel_fault", 3 },
	[S2_BUG_free_no_grace] = { "free_no_grace", "unmap_vs_walk", 3 },
	[S2_BUG_memslot_delete_no_zap] = { "memslot_delete_no_zap", "memslot_delete", 1 },
	[S2_BUG_dirty_harvest_race] = { "dirty_harvest_race", "dirty_harvest", 7 },
	[S2_BUG_unmap_resched_pgd_uaf] = { "unmap_resched_pgd_uaf", "zap_resched_vs_destroy", 3 },
	[S2_BUG_block_misaligned_slot] = { "block_misaligned_slot", "thp_slot_tail", 6 },
	[S2_BUG_double_get_leak] = { "double_get_leak", "pfnmap_reprefault", 3 },
	[S2_BUG_collapse_no_bbm] = { "collapse_no_bbm", "collapse_after_log", 5 },
	[S2_BUG_vma_info_after_unlock] = { "vma_info_after_unlock", "thp_split_vs_fault", 6 },
	[S2_BUG_defer_table_tlbi] = { "defer_table_tlbi", "table_zap_walk_cache", 3 },
	[S2_BUG_tlbi_range_short] = { "tlbi_range_short", "range_tlbi", 1 },
	[S2_BUG_map_deleting_slot] = { "map_deleting_slot", "memslot_delete", 1 },
	[S2_BUG_range_add_overwrite] = { "range_add_overwrite", "fault_vs_two_invals", 1 },
	[S2_BUG_seq_truncate] = { "seq_truncate", "seq_wrap", 10 },
	[S2_BUG_lost_hw_dirty] = { "lost_hw_dirty", "age_hw_af", 9 },
	[S2_BUG_yield_without_flush] = { "yield_without_flush", "zap_yield_vs_inval", 1 },
	[S2_BUG_memslot_update_mid_invalidation] = { "memslot_update_mid_invalidation",
						      "memslot_move_mid_inval", 1 },
	[S2_BUG_finish_before_flush] = { "finish_before_flush", "fast_unmap", 3 },
	[S2_BUG_shared_walk_no_rcu] = { "shared_walk_no_rcu", "shared_collapse_walk", 3 },
	[S2_BUG_prefault_no_seq] = { "prefault_no_seq", "prefault_vs_munmap", 1 },
	[S2_BUG_slots_gen_relaxed] = { "slots_gen_relaxed", "log_enable_vs_write", 7 },
	[S2_BUG_memtype_no_bbm] = { "memtype_no_bbm", "pfnmap_memtype", 5 },
	[S2_BUG_fwb_no_icache] = { "fwb_no_icache", "exec_vs_migrate", 11 },
	[S2_BUG_cfy_skips_old] = { "cfy_skips_old", "age_clear_young", 9 },
	[S2_BUG_release_flush_unlocked] = { "release_flush_unlocked", "release_vs_dontneed", 1 },
	[S2_BUG_clean_after_unlock] = { "clean_after_unlock", "nofwb_double_zap", 8 },
	[S2_BUG_slots_free_size] = { "slots_free_size", "memslot_delete", 3 },
	[S2_BUG_age_plain_store] = { "age_plain_store", "age_vs_split", 3 },
	[S2_BUG_wrprotect_no_flush] = { "wrprotect_no_flush", "dirty_harvest", 7 },
	[S2_BUG_hw_dirty_plain_clear] = { "hw_dirty_plain_clear", "hw_dirty_harvest", 7 },
	[S2_BUG_hw_dirty_no_tlbi] = { "hw_dirty_no_tlbi", "hw_dirty_harvest", 7 },
	[S2_BUG_hw_dirty_zap_lost] = { "hw_dirty_zap_lost", "hw_dirty_zap", 7 },
	[S2_BUG_clear_log_whole_word] = { "clear_log_whole_word", "manual_clear_partial", 7 },
	[S2_BUG_clear_log_protect_first] = { "clear_log_protect_first", "manual_clear_vs_write", 7 },
	[S2_BUG_init_set_bits_clear] = { "init_set_bits_clear", "init_set_enable", 7 },
	[S2_BUG_ring_push_drop_full] = { "ring_push_drop_full", "ring_full", 7 },
	[S2_BUG_ring_flag_before_entry] = { "ring_flag_before_entry", "ring_harvest_vs_push", 7 },
};

/* the generation seen before the array needs a store-buffer reordering */
const bool bug_weak[S2_NR_BUGS] = {
	[S2_BUG_slots_gen_relaxed] = true,
};
