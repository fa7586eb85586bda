/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The checked world: one host mm (sim/host, on the controlled scheduler),
 * one VM of the real library on the check platform, up to two modelled
 * vCPUs (TLB, walk cache, hardware walker with hardware access/dirty
 * updates, data cache for non-FWB), and the oracle of DESIGN.md section 7
 * run at every access, fill, notifier return, harvest and at the end.
 */
#ifndef S2_CHECK_WORLD_H
#define S2_CHECK_WORLD_H

#include <stdbool.h>
#include <stdint.h>
#include <s2mmu/mmu.h>
#include <s2mmu/check.h>
#include "sim/host/host.h"
#include "check/sched.h"

/*
 * The world's granule: the stage-2 page size, and the host model's under
 * it (KVM arm64 maps stage 2 with PAGE_SIZE, so the two are one size;
 * EPT and the test format are 4K).  Set before w_create (w_set_granule);
 * every size below follows from it, so that a scenario written as "page
 * 1" and "the 2M block" means the same pages of a 16K or 64K world: a
 * page is W_PG, a block (a last-level table's reach, the host's THP) W_BLK.
 */
extern unsigned w_page_shift;		/* 12, 14 or 16 */
#define W_PG		(1ULL << w_page_shift)
#define W_BLK		(1ULL << (2 * w_page_shift - 3))	/* 2M, 32M, 512M */
#define W_BLK_PAGES	(W_BLK / W_PG)				/* 512, 2048, 8192 */
/* Granule of the worlds to come; false for another shift.  Context: no
 * world exists (the host model's page size changes with it). */
bool w_set_granule(unsigned shift);
struct s2_tool_format;
/* tools/formats.h's entry of format @format (enum s2_format_id) at the
 * world's granule, 52-bit if @wide: its name and flags. */
const struct s2_tool_format *w_tool_format(int format, bool wide);

#define W_HVA		0x40000000ULL	/* 1G-aligned: blocks of every granule are possible */
/* The oracle's pages: [W_HVA, W_HVA + W_PAGES pages), two blocks (4 MiB
 * at 4K); the arrays hold the most, 64K's */
#define W_PAGES		((unsigned)(2 * W_BLK_PAGES))
#define W_MAX_PAGES	16384
/* The PFNMAP VMA (16 pages) ends the oracle's window; its slot 1 is at
 * GPA 8 blocks, past every slot 0 layout */
#define W_PFNMAP_HVA	(2 * W_BLK - 16 * W_PG)
#define W_PFNMAP_GPA	(8 * W_BLK)
#define W_TLB		8
#define W_WC		8
#define W_MAX_VCPUS	2
/* First device frame = the number of RAM frames: 4096 at 4K, four THPs'
 * worth at 16K and 64K (a THP, its collapse's and migration's copies) */
#define W_IO_PFN0	(W_BLK_PAGES * 4 > 4096 ? W_BLK_PAGES * 4 : 4096)
#define W_MAX_FRAMES	32768

struct w_cfg {
	enum host_vma_kind kind;
	uint64_t vma_len;
	unsigned vma_prot;
	uint64_t slot_gpa, slot_size, slot_hva_off;
	unsigned slot_flags;
	unsigned pgt_flags;		/* S2_PGT_HW_AF, _HW_DBM, _NO_FWB */
	unsigned vm_flags;
	bool pfnmap_slot;		/* slot 1: 16 pages of a non-flat PFNMAP */
	/* ...whose frames are memory (a carve-out a driver remaps), which
	 * the fault path maps Normal, as KVM does for pfn_is_map_memory */
	bool pfnmap_mem;
	bool arm64_only;		/* needs arm64 semantics (I-cache, no DIC) */
	unsigned nr_vcpus;
	bool populate;			/* fault the VMA in before the threads */
	/* how the VMM harvests slot 0's dirty log (w_harvest_mode): W_DIRTY_* */
	unsigned dirty_mode;
	unsigned ring_entries;		/* W_DIRTY_RING: entries per vCPU (0: 4) */
};

/* Dirty-logging modes of a world (issue 17 item 1). */
enum {
	W_DIRTY_BITMAP,		/* get_dirty_log harvests and protects */
	W_DIRTY_MANUAL,		/* S2_VM_MANUAL_PROTECT: get, then clear */
	W_DIRTY_INIT_SET,	/* ... and S2_VM_DIRTY_INIT_SET */
	W_DIRTY_RING,		/* a ring per vCPU; harvest, then reset */
	W_NR_DIRTY_MODES,
};

struct w_tlbe {
	/* wclean: a write through it must first record itself in the leaf
	 * (arm64 DBM-clean, EPT D clear), so the hardware walks again */
	bool valid, w, dbm, wclean, x, device;
	uint64_t ipa, size, pa, fill_tick, gen;
	int level;
};

struct w_wce {
	bool valid;
	int level;			/* level of the table pointed at */
	uint64_t base;			/* IPA the table covers, aligned */
	uint64_t *table;
};

struct w_vcpu {
	int id;
	struct ck_lock walk;		/* held across walk+fill+access; TLBIs take it */
	struct w_tlbe tlb[W_TLB];
	unsigned next;
	struct w_wce wc[W_WC];
	unsigned wnext;
	uint64_t tlbi_gen;
	struct s2_memcache mc;
	bool stopped;			/* fault said the VM is gone */
};

struct world {
	struct w_cfg cfg;
	struct host_phys *phys;
	struct host_mm *mm;
	struct s2_vm *vm;
	struct host_mn_sub sub;
	bool registered, exited;
	bool released;			/* release began (exit or unregister) */
	struct w_vcpu vcpu[W_MAX_VCPUS];
	uint64_t tick;
	uint64_t inv_events;		/* starts, ends, releases, memslot changes */
	long inprog_total;
	/* oracle, per HVA page of [W_HVA, W_HVA + W_MAX_PAGES pages) */
	uint64_t inv_epoch[W_MAX_PAGES];
	int inprog[W_MAX_PAGES];
	uint64_t cfy_start[W_MAX_PAGES];	/* tick a clear_flush_young began */
	uint64_t cfy_done[W_MAX_PAGES];
	/* I9: tick of the first access since the last clear_flush_young
	 * returned that test_young owes (0, false: none); dropped by every
	 * clear, zap, memslot change and release of the page */
	uint64_t young_seen[W_MAX_PAGES];
	bool logging;
	bool hw_logging;		/* slot 0 logs in hardware mode */
	bool unreported[W_MAX_PAGES];
	/* W_DIRTY_RING: each vCPU's ring; pages the audit harvested from
	 * them (entries taken out but not reset: still the log's record) */
	struct s2_dirty_ring *ring[W_MAX_VCPUS];
	bool ring_pending[W_MAX_PAGES];
	uint64_t wcount[W_MAX_PAGES];
	uint64_t last_pfn[W_MAX_PAGES];	/* pfn + 1 of the last access, 0: none */
	/* host_frame_gen of last_pfn at that access: I8 judges a page by its
	 * last frame only while the frame still has that owner */
	uint64_t last_gen[W_MAX_PAGES];
	/* clear_young / clear_flush_young calls running over the page: a
	 * leaf they may still clear makes "old" a right answer for I9 */
	int aging[W_MAX_PAGES];
	uint64_t line[W_MAX_FRAMES];	/* non-FWB: dirty line per RAM frame */
	bool line_dirty[W_MAX_FRAMES];
	/*
	 * I11: the instruction cache may hold lines of a frame older than its
	 * content: set when the host writes the frame (zeroed for a new
	 * owner after a free, a migration or COW copy into it; every frame
	 * starts so), cleared by the I-cache hook.  Guest self-modifying
	 * code is the guest's own business and not modelled.
	 */
	bool ic_stale[W_MAX_FRAMES];
};

extern struct world *W;
extern int ck_inject;			/* enum s2_bug_id + 1, 0 = none */
extern int ck_format;			/* enum s2_format_id of the VM: ARM64 or EPT */
/* arm64 only: every world's table has a 52-bit IPA and output (--format
 * arm64-lpa2, arm64-16k-lpa2, arm64-64k-lpa): FEAT_LPA2 at 4K (walked
 * from level -1) and 16K, FEAT_LPA at 64K; a world whose pgt_flags carry
 * S2_PGT_LPA2 (generated ones) is so on its own, whatever its granule */
extern bool ck_lpa2;

/* A size or offset written for the 4K granule (4K pages, 2M blocks) as
 * the same number of blocks and pages of the world's: the identity at 4K. */
static inline uint64_t w_scale(uint64_t v4k)
{
	return v4k / 0x200000 * W_BLK + v4k % 0x200000 / 0x1000 * W_PG + v4k % 0x1000;
}
/* @cfg's VMA and slot 0, written for 4K, at the world's granule. */
void w_scale_cfg(struct w_cfg *cfg);

void w_process_init(void);		/* once per process: table-page pool */
void w_create(const struct w_cfg *cfg);
void w_destroy(bool expect_empty);

/* vCPU: one guest access, faulting as needed.
 * Return: 0, -S2_EFAULT, -S2_ENOENT, or -S2_EAGAIN (gave up). */
int w_access(unsigned vcpu, uint64_t gpa, bool write);
/* The same with @acc one of S2_ACC_READ, S2_ACC_WRITE, S2_ACC_EXEC (an
 * instruction fetch: needs an executable translation, checked for I11). */
int w_access_kind(unsigned vcpu, uint64_t gpa, unsigned acc);
/* Host operations (the host model does the notifier calls). */
int w_munmap(uint64_t off, uint64_t len);
int w_dontneed(uint64_t off, uint64_t len);
int w_mprotect_ro(uint64_t off, uint64_t len);
int w_collapse(uint64_t off);
int w_split(uint64_t off);
int w_migrate(uint64_t off);
int w_reclaim(uint64_t off, uint64_t len);
int w_fork_child_exit(void);
/* The host level walk used only to decide (KVM's zap of collapsible
 * entries after dirty logging): no retry needed, seed 002's third rule. */
int w_host_level(uint64_t off);
int w_age(uint64_t off, uint64_t len, enum host_age_mode mode);
/* The VM's aging handler for [@off, @off+@len) alone, called directly: the
 * host model serialises its own aging calls on its page-table lock, while
 * the library lets them run in parallel (mmu.h), so two of these may
 * overlap.  Return: the handler's. */
int w_age_s2(uint64_t off, uint64_t len, enum host_age_mode mode);
void w_exit_mm(void);
void w_vm_destroy_path(void);		/* unregister: release while vCPUs run */
/* The embedder's software walker (MMIO emulation, a table dump):
 * s2_vm_gpa_to_hva(@gpa), then the live table from s2_vm_pgtable() and a
 * lookup of @gpa inside an RCU read section and nothing else, as mmu.h
 * allows. */
void w_vmm_walk(uint64_t gpa);
/* Memslot and dirty log. */
int w_delete_slot(unsigned id);
int w_move_slot(unsigned id, uint64_t new_gpa);
/* The VMM sets the PFNMAP slot (1) again, prefaulting it over whatever
 * faults mapped meanwhile. */
int w_prefault_pfnmap(void);
int w_dirty_log(bool on);
/* Harvest slot 0's dirty log as the world's dirty mode does: the bitmap
 * (get_dirty_log); manual protect: get, then clear what it reported
 * (with @partial only its lowest page: the rest stay dirty for a later
 * pass); rings: the bitmap (faults without a ring), every vCPU's ring,
 * then the reset.  The oracle checks I7: every page written before the
 * harvest began is reported. */
int w_harvest_mode(bool partial);
int w_harvest(void);
/* Slot 0 to hardware dirty logging (@on; logging on too) or back to
 * write-protect logging (logging stays on). */
int w_dirty_log_hw(bool on);
/* End of a schedule, every thread done and nothing in progress: every
 * valid stage-2 leaf must map what the host maps for its HVA, through a
 * live slot, with no more rights (I1/I2/I6).  Called by w_destroy. */
void w_audit(void);
/* Stage-2 table pages alive that are not in a vCPU's page cache. */
unsigned w_live_tables(void);

#endif
