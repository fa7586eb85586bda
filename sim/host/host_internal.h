/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Internals shared by the host-model files; not for users of host.h.
 */
#ifndef S2_SIM_HOST_INTERNAL_H
#define S2_SIM_HOST_INTERNAL_H

#include <errno.h>
#include <string.h>
#include "sim/host/host.h"
#include "sim/host/hsync.h"

#define PTRS_PER_TABLE	(1u << HOST_LEVEL_BITS)
#define PMD_ORDER	HOST_LEVEL_BITS
#define PUD_ORDER	(2 * HOST_LEVEL_BITS)
#define NR_ORDERS	3		/* free lists for orders 0, PMD, PUD */
/* MAX_GATHER_BATCH_COUNT-ish: a zap flushes and frees mid-range (before
 * E) once this many pages are queued, as tlb_next_batch fails. */
#define GATHER_BATCH_MAX 10000

/* Frame states. */
enum { FR_FREE = 0, FR_HEAD, FR_TAIL };
/* Frame flags. */
#define FRF_KSM		1u
#define FRF_HUGETLB	2u

struct host_frame {
	hsync_int refcount;		/* head: folio references */
	hsync_int mapcount;		/* PTE mappings of this 4K frame */
	hsync_int entire_mapcount;	/* head: PMD/PUD mappings */
	hsync_int flags;
	hsync_u64 gen;
	hsync_u64 content;
	hsync_ptr owner_mm;
	hsync_u64 owner_hva;
	/* allocator state, written under phys->lock (relaxed atomics:
	 * frame_try_get reads head with no lock and no reference) */
	uint8_t state;
	uint8_t order;			/* allocated: folio order; free: block order */
	uint64_t head;			/* folio head (allocated) / block head (free) */
	uint64_t prev, next;		/* free list, UINT64_MAX terminated */
};

struct host_swap {
	hsync_mutex_t lock;
	uint64_t *content;
	uint32_t *count;		/* swap_map: 0 = free */
	uint64_t cap, used, free_hint;
};

struct host_phys {
	uint64_t nr_frames, nr_io;
	struct host_frame *f;		/* nr_frames + nr_io entries */
	hsync_mutex_t lock;		/* zone lock: free lists */
	uint64_t free_head[NR_ORDERS];
	hsync_u64 nr_free;
	uint64_t frees;			/* under lock: bumps on every free */
	uint64_t compact_failed_at[NR_ORDERS];
	struct host_swap swap;
};

/* A two-counter sleepable-RCU read side: readers never block; a
 * synchronize waits for every reader that may have seen the old state.
 * Used for (a) lockless page-table walkers versus table freeing (the model
 * of irq-disabled walks versus the TLB-shootdown IPI / RCU table free) and
 * (b) notifier callbacks versus unregistration (Linux's SRCU). */
struct host_srcu {
	hsync_int idx;
	hsync_i64 cnt[2];
	hsync_mutex_t sync_lock;
};
void host_srcu_init(struct host_srcu *s);
void host_srcu_destroy(struct host_srcu *s);
int host_srcu_read_lock(struct host_srcu *s);
void host_srcu_read_unlock(struct host_srcu *s, int idx);
void host_srcu_synchronize(struct host_srcu *s);

/* PTRS_PER_TABLE entries (one host page, so the allocation is the page
 * size and not this type's size, which covers 64K pages). */
struct host_table { hsync_u64 e[8192]; };

struct host_vma {
	uint64_t start, end;
	enum host_vma_kind kind;
	unsigned prot;
	uint64_t pgoff;
	uint64_t *pfns;			/* PFNMAP non-flat: one per page, else NULL */
	struct host_vma *next;		/* sorted by start, under mmap_lock */
};

struct host_mm {
	struct host_phys *phys;
	hsync_i64 mm_users, mm_count;
	hsync_rwlock_t mmap_lock;
	hsync_mutex_t ptl;		/* mm->page_table_lock: every PT change */
	struct host_table *_Atomic pgd;	/* NULL after exit_mmap frees it */
	struct host_vma *vmas;
	hsync_int exited;
	struct host_srcu walk_srcu;	/* lockless walkers */
	/* notifier registry */
	hsync_mutex_t mn_lock;		/* writers of the list */
	struct host_mn_sub *_Atomic mn_head;
	struct host_srcu mn_srcu;
	hsync_int mn_released;		/* mmu_notifier_release done */
	host_trace_fn trace;
	void *trace_priv;
};

/* ---- helpers ---- */
static inline uint64_t level_size(int level)
{
	return 1ULL << (HOST_PAGE_SHIFT + HOST_LEVEL_BITS * (level - 1));
}
static inline unsigned level_order(int level) { return HOST_LEVEL_BITS * (unsigned)(level - 1); }
static inline unsigned pt_index(uint64_t addr, int level)
{
	return (unsigned)(addr >> (HOST_PAGE_SHIFT + HOST_LEVEL_BITS * (level - 1))) &
	       (PTRS_PER_TABLE - 1);
}
static inline bool pte_present(uint64_t e) { return e & HOST_PTE_P; }
static inline bool pte_none(uint64_t e) { return e == 0; }
static inline bool pte_is_swap(uint64_t e) { return !(e & HOST_PTE_P) && (e & HOST_PTE_SWAP); }
static inline bool pte_is_migr(uint64_t e) { return !(e & HOST_PTE_P) && (e & HOST_PTE_MIGR); }
static inline uint64_t pte_pfn(uint64_t e) { return (e & HOST_PTE_ADDR) >> HOST_PAGE_SHIFT; }
/* A present entry at level > 1 without PS points to a table. */
static inline bool pte_is_table(uint64_t e, int level)
{
	return level > 1 && pte_present(e) && !(e & HOST_PTE_PS);
}
static inline bool pte_is_leaf(uint64_t e, int level)
{
	return pte_present(e) && (level == 1 || (e & HOST_PTE_PS));
}
static inline struct host_table *pte_table(uint64_t e)
{
	return (struct host_table *)(uintptr_t)(e & HOST_PTE_ADDR);
}
uint64_t mk_leaf(uint64_t pfn, int level, bool write);
uint64_t mk_table_entry(struct host_table *t);

/* frame.c */
struct host_frame *phys_frame(struct host_phys *phys, uint64_t pfn);
uint64_t phys_head(struct host_phys *phys, uint64_t pfn);
/* Allocate a folio of @order (0, 9, 18): refcount 1, content zeroed. */
int phys_alloc(struct host_phys *phys, unsigned order, struct host_mm *owner,
	       uint64_t hva, uint64_t *pfn);
/* folio_try_get: a reference on the folio of @pfn, or false if it is free
 * (or its last reference is being dropped); safe on any RAM pfn, with no
 * lock and no reference held.  A stray reference it must drop again goes
 * through host_frame_put_mm(@mm). */
bool frame_try_get(struct host_mm *mm, uint64_t pfn);
bool frame_is_io(struct host_phys *phys, uint64_t pfn);
int64_t swap_alloc(struct host_phys *phys, uint64_t content);
uint64_t swap_read(struct host_phys *phys, uint64_t slot);
void swap_dup(struct host_phys *phys, uint64_t slot);
void swap_free(struct host_phys *phys, uint64_t slot);
uint32_t swap_count(struct host_phys *phys, uint64_t slot);

/* pgtable.c */
void trace_ev(struct host_mm *mm, const struct host_trace_ev *ev);
void trace_pt(struct host_mm *mm, uint64_t addr, int level, uint64_t old, uint64_t new_);
void trace_flush(struct host_mm *mm, uint64_t start, uint64_t end);
void trace_simple(struct host_mm *mm, enum host_trace_kind k, uint64_t a, uint64_t b);
struct host_table *table_alloc(void);
/* Free a table page that no walker can reach any more: waits out lockless
 * walkers first (tlb_remove_table_sync_one / RCU table free). */
void table_free_deferred(struct host_mm *mm, struct host_table **tables, size_t n);
/* tlb_remove_table_sync_one: wait out the lockless walkers in flight. */
void lockless_sync(struct host_mm *mm);
/* Free a table page after lockless_sync() already ran. */
void table_free_now(struct host_mm *mm, struct host_table *t);
/* Find the entry for @addr, descending at most to @want_level; allocate
 * missing tables when @alloc.  *@level gets the level of the returned entry
 * (a leaf or none entry above @want_level stops the walk).  Caller holds
 * ptl.  Returns NULL if a table is missing and !@alloc (or allocation
 * failed; *@level is then 0). */
hsync_u64 *pt_walk(struct host_mm *mm, uint64_t addr, int want_level, bool alloc, int *level);
void pt_set(struct host_mm *mm, hsync_u64 *ep, uint64_t addr, int level, uint64_t v);
/* Mapcount of a present leaf (PTE: the frame's mapcount; PMD/PUD: the
 * folio's entire_mapcount).  The mapping's folio reference is handled by
 * the caller, because where it is dropped (before or after E) is the point
 * of the model.  No-ops on device frames. */
void mapcount_inc(struct host_phys *phys, uint64_t e, int level);
void mapcount_dec(struct host_phys *phys, uint64_t e, int level);
/* Install a new table in a none entry: not traced, no notifier (x86 does
 * not cache non-present entries, so 0 -> table needs nothing). */
void pt_link(hsync_u64 *ep, struct host_table *t);

/* notifier.c */
int mn_invalidate_start(struct host_mm *mm, uint64_t start, uint64_t end,
			enum host_mn_event ev, bool blockable);
void mn_invalidate_end(struct host_mm *mm, uint64_t start, uint64_t end,
		       enum host_mn_event ev, bool blockable);
int mn_clear_flush_young(struct host_mm *mm, uint64_t start, uint64_t end);
int mn_clear_young(struct host_mm *mm, uint64_t start, uint64_t end);
int mn_test_young(struct host_mm *mm, uint64_t start, uint64_t end);
void mn_release(struct host_mm *mm);

/* mm.c */
struct host_vma *vma_find(struct host_mm *mm, uint64_t addr);
bool vma_is_cow(const struct host_vma *v);
bool vma_is_hugetlb(const struct host_vma *v);
uint64_t vma_huge_size(const struct host_vma *v);
/* Check [start, end) is fully covered by VMAs; -ENOMEM if not. */
int vma_range_covered(struct host_mm *mm, uint64_t start, uint64_t end);

/* gather: frames whose PTE reference is dropped only after E and FL
 * (mmu_gather batching, tlb_finish_mmu). */
struct gather {
	uint64_t *pfn;
	size_t n, cap;
	uint64_t fl_start, fl_end;	/* recorded flush range, empty if start >= end */
	struct host_table **tables;
	size_t nt, tcap;
};
void gather_init(struct gather *g);
void gather_page(struct gather *g, uint64_t pfn);
void gather_range(struct gather *g, uint64_t start, uint64_t end);
void gather_table(struct gather *g, struct host_table *t);
/* tlb_finish_mmu: FL of the recorded range, free tables (after walkers),
 * then FREE (put) the batched pages. */
void gather_finish(struct host_mm *mm, struct gather *g);
void gather_flush_pages(struct host_mm *mm, struct gather *g);

/* zap.c */
/* zap_page_range on [start, end) inside @v: caller holds mmap_lock (R or W)
 * and has called S.  Splits partially covered THP PMDs (nested S/E). */
void zap_range(struct host_mm *mm, struct host_vma *v, uint64_t start, uint64_t end,
	       struct gather *g);
/* __split_huge_pmd under mmap_lock: S(CLEAR) ... E.  0, or -EINVAL if no
 * THP PMD maps @addr (already split, zapped or never huge). */
int split_huge_pmd(struct host_mm *mm, struct host_vma *v, uint64_t addr);
/* Wait while the entry for @addr is a migration entry: migration_entry_wait.
 * Caller holds mmap_lock for read and not ptl. */
void migration_wait(void);

/* Free all page tables below @mm's root (exit_mmap, free_pgtables). */
void pt_collect_tables(struct host_table *t, int level, struct gather *g);

#endif
