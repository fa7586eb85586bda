/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * host.h - executable model of the host's primary MMU (DESIGN.md section 5).
 *
 * What the secondary MMU mirrors: physical frames with reference counts, an
 * mm with VMAs and x86-64 4-level page tables, and the MMU-notifier registry.
 * Every operation fires the notifiers at the points Linux 6.1 does, in the
 * same order relative to the page-table change (PT), the host TLB flush (FL)
 * and the free of the data page (FREE); docs/host-model.md lists the exact
 * sequence of each one and the Linux function it models.
 *
 * Errors: 0 or a negative errno.  Common ones:
 *   -EINVAL  misaligned address or length, bad flags, wrong VMA kind
 *   -ENOMEM  range not fully mapped by VMAs (Linux madvise/mprotect), or out
 *            of frames
 *   -EEXIST  mmap over an existing VMA (MAP_FIXED_NOREPLACE)
 *   -EFAULT  gup on an address with no VMA, on PFNMAP, or write to read-only
 *   -ESRCH   the mm has been through exit_mmap
 *   -EBUSY   the page is pinned by an extra reference or shared with another
 *            mm (migration, KSM, collapse refuse, as Linux's refcount checks)
 *   -EAGAIN  lost a race with a concurrent operation: nothing changed
 * An error always leaves the model unchanged.
 *
 * Concurrency (which calls may run at the same time on one mm):
 *
 *   call                      mmap_lock  may run concurrently with
 *   ------------------------  ---------  ----------------------------------
 *   host_gup/follow_pfn/access   read    everything; waits out migration
 *   host_mapping_level           none    everything (lockless, seed 002)
 *   madvise_dontneed, migrate,   read    each other, gup, level walk
 *     reclaim, age, ksm_merge,
 *     thp_split, oom_reap
 *   mmap, munmap, mprotect,      write   gup-less callers only: they exclude
 *     fork (parent), collapse,             every read-side call on this mm
 *     exit_mmap (last mmput)
 *   mn_register/unregister       write   callbacks in flight (see below)
 *   host_frame_*                 none    everything (atomics)
 *   host_audit                   all     nothing on the audited mms
 *
 * Notifier callbacks run without any host lock except for the young
 * callbacks, which run under the page-table lock like Linux's
 * ptep_clear_flush_young_notify: a callback must not call back into this
 * mm.  invalidate_range_start/end run on the thread doing the operation.
 */
#ifndef S2_SIM_HOST_HOST_H
#define S2_SIM_HOST_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <s2mmu/types.h>

struct host_phys;
struct host_mm;
struct host_mn_sub;

/*
 * The host's page size: 4K (the default), 16K or 64K, as an arm64 Linux
 * host is built with one of the three.  KVM arm64 maps stage 2 with the
 * host's PAGE_SIZE granule, so a 16K or 64K stage-2 format needs a host of
 * the same page size under it: the core maps a stage-2 page from one host
 * frame.  A table level resolves page_shift - 3 bits (512, 2048 or 8192
 * entries), so the PMD level (THP) is 2M, 32M or 512M and the PUD level
 * 1G, 64G or 4T.  The walk keeps four levels whatever the page size (the
 * top one indexes fewer bits), which changes no rule the model follows.
 * One page size per process: host_set_page_shift() changes it while no
 * host_phys exists.
 */
extern unsigned host_page_shift;
#define HOST_PAGE_SHIFT	host_page_shift
#define HOST_LEVEL_BITS	(host_page_shift - 3)
#define HOST_PAGE_SIZE	(1ULL << HOST_PAGE_SHIFT)
#define HOST_PMD_SIZE	(1ULL << (HOST_PAGE_SHIFT + HOST_LEVEL_BITS))
#define HOST_PUD_SIZE	(1ULL << (HOST_PAGE_SHIFT + 2 * HOST_LEVEL_BITS))
/**
 * host_set_page_shift() - the host's page size, 12, 14 or 16.
 * Return: 0; -EINVAL for another shift; -EBUSY for a new size while a
 * host_phys exists (its frame numbers, tables and folio orders are in
 * the old one).
 * Context: no other thread uses the host model.
 */
int host_set_page_shift(unsigned shift);
/* User address space: 4-level paging, lower half (47 bits). */
#define HOST_TASK_SIZE	(1ULL << 47)

/* Host mapping level, KVM's PG_LEVEL_* numbering. */
enum host_level {
	HOST_LEVEL_NONE = 0,	/* not mapped (none, swap or migration entry) */
	HOST_LEVEL_4K = 1,
	HOST_LEVEL_2M = 2,
	HOST_LEVEL_1G = 3,
};

/* x86-64 host page-table entry bits (formats.md section 3). */
#define HOST_PTE_P	(1ULL << 0)
#define HOST_PTE_RW	(1ULL << 1)
#define HOST_PTE_US	(1ULL << 2)
#define HOST_PTE_A	(1ULL << 5)
#define HOST_PTE_D	(1ULL << 6)
#define HOST_PTE_PS	(1ULL << 7)
#define HOST_PTE_SPECIAL (1ULL << 9)	/* SW1: PFNMAP leaf, no struct page (Linux _PAGE_SPECIAL) */
/* Non-present software encodings (P clear): */
#define HOST_PTE_SWAP	(1ULL << 9)	/* bits 12..51 = swap slot */
#define HOST_PTE_MIGR	(1ULL << 10)	/* bits 12..51 = old pfn; RW = was writable */
#define HOST_PTE_ADDR	0x000ffffffffff000ULL

/* ---------------------------------------------------------------- frames */

struct host_frame_info {
	bool free;
	bool io;		/* device frame (PFNMAP target): no refcount */
	bool ksm;		/* KSM-merged, always mapped read-only */
	unsigned order;		/* order of the folio: 0, or its PMD or PUD order */
	uint64_t head;		/* pfn of the folio head */
	int32_t refcount;	/* folio reference count (head's) */
	int32_t mapcount;	/* PTE mappings of this 4K frame */
	int32_t entire_mapcount; /* PMD/PUD mappings of the folio (head's) */
	uint64_t gen;		/* bumped on every free of this frame */
	uint64_t content;
	const struct host_mm *owner_mm;	/* NULL when free */
	uint64_t owner_hva;
};

/**
 * host_phys_create() - physical memory of @nr_frames RAM frames (a multiple
 * of the entries of a table, 512 with 4K pages) followed by @nr_io_frames device frames for PFNMAP.
 * Return: the memory, or NULL on allocation failure.
 * Context: any; the result is shared by every mm created on it.
 */
struct host_phys *host_phys_create(uint64_t nr_frames, uint64_t nr_io_frames);
/** host_phys_destroy() - free it.  Context: every mm on it is gone. */
void host_phys_destroy(struct host_phys *phys);
uint64_t host_phys_nr_frames(const struct host_phys *phys);
/** host_phys_nr_free() - free RAM frames now.  Context: any (a snapshot). */
uint64_t host_phys_nr_free(struct host_phys *phys);
/** host_phys_swap_used() - swap slots in use.  Context: any (a snapshot). */
uint64_t host_phys_swap_used(struct host_phys *phys);
/** host_pfn_valid() - @pfn is a RAM or device frame of @phys. */
bool host_pfn_valid(const struct host_phys *phys, uint64_t pfn);
/** host_pfn_is_io() - @pfn is a device frame (no refcount, never freed). */
bool host_pfn_is_io(const struct host_phys *phys, uint64_t pfn);

/**
 * host_frame_read() / host_frame_write() - the content word of one 4K frame,
 * by physical frame number: what the machine model's guest accesses touch.
 * No check that the frame is allocated: a stale user reads or clobbers
 * whatever now lives there, as real hardware would.
 * Context: any; single atomic access.
 */
uint64_t host_frame_read(struct host_phys *phys, uint64_t pfn);
void host_frame_write(struct host_phys *phys, uint64_t pfn, uint64_t val);
/** host_frame_gen() - generation of @pfn (bumped on each free). */
uint64_t host_frame_gen(struct host_phys *phys, uint64_t pfn);
/**
 * host_frame_get() / host_frame_put() - take / drop a reference on the folio
 * that holds @pfn (get_page / put_page).  The put that drops the last
 * reference frees the whole folio (FREE).  No-ops on device frames.
 * Context: any; the caller of get must already own a reference or hold the
 * page-table lock that keeps the mapping alive.
 */
void host_frame_get(struct host_phys *phys, uint64_t pfn);
void host_frame_put(struct host_phys *phys, uint64_t pfn);
/**
 * host_frame_put_mm() - host_frame_put() with the FREE, if this is the
 * last reference, reported to @mm's tracer: every put of @mm's own
 * operations, and the put of a reference host_gup() took on @mm (a zap
 * that raced with the gup leaves that put as the one that frees the
 * folio, and the tracer must still see the free).
 * Context: any; @mm's struct alive (mm_count).
 */
void host_frame_put_mm(struct host_mm *mm, uint64_t pfn);
/** host_frame_query() - snapshot of one frame.  Return: 0, -EINVAL bad pfn. */
int host_frame_query(struct host_phys *phys, uint64_t pfn, struct host_frame_info *fi);

/* ---------------------------------------------------------------- mm */

/**
 * host_mm_create() - an empty address space: mm_users = 1, mm_count = 1
 * (the count the users hold together, as Linux's mm_init).
 * Return: the mm or NULL.  Context: any.
 */
struct host_mm *host_mm_create(struct host_phys *phys);
struct host_phys *host_mm_phys(const struct host_mm *mm);
/** host_mmget() - mm_users++.  Context: caller already holds a user. */
void host_mmget(struct host_mm *mm);
/** host_mmget_not_zero() - mm_users++ unless it is 0 (exit under way). */
bool host_mmget_not_zero(struct host_mm *mm);
/**
 * host_mmput() - mm_users--; the last one runs exit_mmap (__mmput): the
 * notifier release first, then unmap and free everything, then drops the
 * users' mm_count.  Context: no host lock held; may block on mmap_lock.
 */
void host_mmput(struct host_mm *mm);
/** host_mmgrab() / host_mmdrop() - mm_count; the last drop frees the struct. */
void host_mmgrab(struct host_mm *mm);
void host_mmdrop(struct host_mm *mm);
int64_t host_mm_users(struct host_mm *mm);
int64_t host_mm_count(struct host_mm *mm);
/** host_mm_exited() - exit_mmap has run (or is running). */
bool host_mm_exited(struct host_mm *mm);

/* mmap_lock, for callers that must keep VMA information stable (KVM's
 * memslot checks).  Never call a host_* operation while holding it. */
void host_mmap_read_lock(struct host_mm *mm);
void host_mmap_read_unlock(struct host_mm *mm);

/* ------------------------------------------------------------- tracing */

/* Host-side events, in the order they happen, for tests and the checker's
 * timelines.  Notifier callbacks are not traced here: a recording subscriber
 * sees them, and interleaves its records with these in one log. */
enum host_trace_kind {
	HOST_TR_PT,		/* page-table entry changed: addr, level, old, new */
	HOST_TR_FLUSH,		/* host TLB flush of [start, end) */
	HOST_TR_FREE,		/* folio freed: pfn (head), order; reported
				 * once its count is zero and before it is
				 * back on a free list (no one can reuse it
				 * while the tracer runs) */
	HOST_TR_SYNC,		/* lockless walkers waited out (IPI / grace period) */
	HOST_TR_TABLE_FREE,	/* host page-table page freed */
	HOST_TR_COPY,		/* one page's content copied old pfn -> new
				 * pfn (migration, collapse per source page,
				 * COW break), reported after the read */
};

struct host_trace_ev {
	enum host_trace_kind kind;
	uint64_t start, end;	/* address range (PT: [addr, addr+size)) */
	int level;		/* PT */
	uint64_t old, new_;	/* PT entries; COPY pfns */
	uint64_t pfn;		/* FREE */
	unsigned order;		/* FREE */
};

typedef void (*host_trace_fn)(void *priv, const struct host_trace_ev *ev);
/** host_mm_set_tracer() - install a tracer (NULL to remove).  Context: no
 * operation running on @mm.  FREE events are reported to the tracer of the
 * mm whose operation dropped the last reference. */
void host_mm_set_tracer(struct host_mm *mm, host_trace_fn fn, void *priv);

/* ---------------------------------------------------------------- VMAs */

enum host_vma_kind {
	HOST_VMA_ANON,		/* private anonymous, 4K pages */
	HOST_VMA_THP,		/* private anonymous, THP-enabled (MADV_HUGEPAGE) */
	HOST_VMA_HUGETLB_2M,	/* shared hugetlbfs, 2M pages */
	HOST_VMA_HUGETLB_1G,	/* shared hugetlbfs, 1G pages */
	HOST_VMA_PFNMAP,	/* VM_PFNMAP|VM_IO device range, no struct page */
};

#define HOST_PROT_READ	1u
#define HOST_PROT_WRITE	2u

struct host_vma_info {
	uint64_t start, end;	/* [start, end) */
	enum host_vma_kind kind;
	unsigned prot;
	uint64_t pgoff;		/* vm_pgoff: for PFNMAP a pfn only if flat */
	bool flat;		/* PFNMAP whose pfn == pgoff + page index */
	bool cow;		/* is_cow_mapping: private, may be written */
};

/**
 * host_mmap() - map [addr, addr+len) (MAP_FIXED_NOREPLACE).  Anonymous and
 * hugetlb memory is faulted in lazily by host_gup.
 * Return: 0; -EINVAL misaligned (4K, or the huge size for hugetlb) or bad
 * prot/kind; -EEXIST overlap; -ESRCH exited.
 * Context: takes mmap_lock for write.  No notifier: nothing was mapped.
 */
int host_mmap(struct host_mm *mm, s2_hva_t addr, uint64_t len,
	      enum host_vma_kind kind, unsigned prot);
/**
 * host_mmap_pfnmap() - a device range populated at once (remap_pfn_range /
 * a driver's mmap).  @pfns[i] is the device frame of page i; NULL means a
 * flat map, pfn = @pgoff + i.  With @pfns, vm_pgoff is @pgoff and says
 * nothing about the frames (seed 003: only a flat map lets vm_pgoff be used
 * as an address).  Return: as host_mmap; -EINVAL if a pfn is not a device
 * frame.  Context: mmap_lock for write.
 */
int host_mmap_pfnmap(struct host_mm *mm, s2_hva_t addr, uint64_t len,
		     unsigned prot, uint64_t pgoff, const uint64_t *pfns);
/** host_vma_query() - the VMA containing @hva.  Return: 0, -EFAULT none,
 * -ESRCH.  Context: takes mmap_lock for read, or call it holding
 * host_mmap_read_lock() through host_vma_query_locked(). */
int host_vma_query(struct host_mm *mm, s2_hva_t hva, struct host_vma_info *out);
int host_vma_query_locked(struct host_mm *mm, s2_hva_t hva, struct host_vma_info *out);

/* ---------------------------------------------------------- operations */

/** host_munmap() - unmap whole pages of [addr, addr+len), splitting VMAs and
 * THPs at the edges.  The range must be fully covered by VMAs (-ENOMEM),
 * hugetlb ranges aligned to the huge size (-EINVAL).
 * Notifiers: [split S/E CLEAR per straddling THP] S(UNMAP) PT E FL FREE.
 * Context: mmap_lock for write. */
int host_munmap(struct host_mm *mm, s2_hva_t addr, uint64_t len);
/** host_madvise_dontneed() - zap pages, keep VMAs and tables.
 * Notifiers per VMA: S(CLEAR) [nested split S/E] PT E FL FREE.
 * -EINVAL on PFNMAP.  Context: mmap_lock for read. */
int host_madvise_dontneed(struct host_mm *mm, s2_hva_t addr, uint64_t len);
/** host_mprotect() - change protection to @prot (READ or READ|WRITE).
 * Removing write fires (S(PROTECTION_VMA) PT E)* per 1G chunk with pages
 * then FL; adding write changes only the VMA (a later write fault makes
 * the PTE writable, wp_page_reuse, no notifier).  Context: mmap_lock write. */
int host_mprotect(struct host_mm *mm, s2_hva_t addr, uint64_t len, unsigned prot);
/** host_fork() - dup_mmap: *@child gets a copy of every VMA; COW mappings
 * are write-protected in the parent under S/E(PROTECTION_PAGE) per VMA, then
 * one FL.  The child has no subscribers.  Context: mmap_lock write (parent). */
int host_fork(struct host_mm *parent, struct host_mm **child);
/** host_thp_collapse() - khugepaged collapse of the 2M-aligned range at
 * @addr, PTE-mapped now, into a new huge page.  -EBUSY if a page is pinned
 * or shared, -EINVAL if not a THP VMA or not fully inside one, -ENOMEM.
 * Notifiers: S(CLEAR,2M) PT(pmd cleared) FL E SYNC FREE(small) PT(huge).
 * Context: mmap_lock for write. */
int host_thp_collapse(struct host_mm *mm, s2_hva_t addr);
/** host_thp_split() - __split_huge_pmd of the huge PMD mapping @addr (THP
 * only; hugetlb never splits).  Notifiers: S(CLEAR,2M) PT FL PT(table) E.
 * -EINVAL if not PMD-mapped THP.  Context: mmap_lock for read. */
int host_thp_split(struct host_mm *mm, s2_hva_t addr);
/** host_migrate() - move the anonymous page (4K, or whole 2M/1G) mapping
 * @addr to a new frame with the same content (try_to_migrate +
 * remove_migration_ptes).  -EBUSY if pinned (extra reference) or mapped by
 * another mm.  Notifiers: S(CLEAR) PT(migration entry) FL E COPY PT(new)
 * FREE(old).  Context: mmap_lock for read. */
int host_migrate(struct host_mm *mm, s2_hva_t addr);

enum host_age_mode {
	HOST_AGE_CLEAR_FLUSH_YOUNG,	/* folio_referenced (reclaim aging) */
	HOST_AGE_CLEAR_YOUNG,		/* page_idle bitmap write */
	HOST_AGE_TEST_YOUNG,		/* khugepaged's referenced test: no clearing */
};
/** host_age() - age every mapped anonymous page of [addr, addr+len): host
 * young bit, then the matching young notifier on [page, page+size).  No S/E.
 * Return: number of pages found young, or -errno.  Context: mmap_lock read. */
int host_age(struct host_mm *mm, s2_hva_t addr, uint64_t len, enum host_age_mode mode);
/** host_reclaim() - shrink_folio_list on [addr, addr+len): age each page
 * with clear_flush_young; pages neither host- nor secondary-young, not
 * pinned and mapped only here are unmapped to swap under S(CLEAR) PT E, and
 * freed after the deferred FL.  PMD-mapped THPs are split first.
 * *@nr_reclaimed gets the number of 4K pages swapped out (may be NULL).
 * Context: mmap_lock for read. */
int host_reclaim(struct host_mm *mm, s2_hva_t addr, uint64_t len, uint64_t *nr_reclaimed);
/** host_ksm_merge() - ksmd pass over [addr, addr+len): 4K anonymous pages
 * with equal content become one read-only KSM frame.  Per page:
 * write_protect_page S(CLEAR,4K) PT FL PT E, replace_page S(CLEAR,4K) PT FL
 * PT E, then FREE of the old page after E.  Pinned pages are skipped.
 * Context: mmap_lock for read. */
int host_ksm_merge(struct host_mm *mm, s2_hva_t addr, uint64_t len, uint64_t *nr_merged);
/** host_oom_reap() - __oom_reap_task_mm: per anonymous VMA, S_nb(UNMAP);
 * a subscriber returning -EAGAIN makes the VMA skipped (E to all, no PT).
 * Return: 0, or -EAGAIN if some VMA was skipped.  Context: mmap_lock read. */
int host_oom_reap(struct host_mm *mm);

/**
 * host_gup() - get_user_pages of one page: resolve @hva to the 4K frame
 * behind it, faulting anonymous/hugetlb memory in (zero-filled), swapping
 * in, and breaking COW when @write (wp_page_copy: S(CLEAR,4K) PT FL PT E
 * FREE-or-put(old)).  Takes a folio reference the caller drops with
 * host_frame_put().  *@writable: the host PTE allows writes now (a read
 * gup of a writable private page does not break COW and says false when
 * shared).  *@level: the host mapping level found (HOST_LEVEL_*).
 * Return: 0; -EFAULT no VMA, PFNMAP (use host_follow_pfn), write to a
 * read-only VMA; -ENOMEM; -ESRCH exited.
 * Context: takes mmap_lock for read; waits out a migration in progress.
 */
int host_gup(struct host_mm *mm, s2_hva_t hva, bool write,
	     uint64_t *pfn, bool *writable, int *level);
/** host_follow_pfn() - follow_pte for VM_PFNMAP: the device pfn of @hva with
 * no reference.  -EFAULT if not PFNMAP or write to read-only.
 * Context: takes mmap_lock for read. */
int host_follow_pfn(struct host_mm *mm, s2_hva_t hva, bool write,
		    uint64_t *pfn, bool *writable, int *level);
/** host_access() - a host user-space access to the word of @hva's page
 * (gup, read or write the content word, put).  Return: as host_gup. */
int host_access(struct host_mm *mm, s2_hva_t hva, bool write, uint64_t *val);
/**
 * host_mapping_level() - the lockless walk of seed 002
 * (host_pfn_mapping_level): the level at which the host maps @hva now,
 * HOST_LEVEL_NONE if it does not.  Reads every entry exactly once; the host
 * defers freeing table pages until walks in flight end, so a racing
 * collapse/split/munmap is survivable.  The answer may be stale as soon as
 * it is returned: consume it only under seed 002's rules.
 * Context: no lock; may run concurrently with anything, including exit.
 */
int host_mapping_level(struct host_mm *mm, s2_hva_t hva);
#ifdef S2_CHECK
/* Check builds: host_mapping_level re-reads entries (catalogue bug
 * hostlevel_reread, docs/bugs.md); set by the checker only. */
extern bool host_bug_hostlevel_reread;
#endif
/** host_pt_query() - the raw leaf (or none/swap/migration) entry for @hva
 * and its level (1..3; 0 if no table reaches it).  Context: takes the
 * page-table lock; for tests and dumps. */
int host_pt_query(struct host_mm *mm, s2_hva_t hva, uint64_t *entry, int *level);
/** host_pt_query_pfns() - the 4K frame (~0 if none) and writability the
 * host maps at each of the @n pages from @hva, read at one instant.
 * Context: takes the page-table lock once; for checkers. */
int host_pt_query_pfns(struct host_mm *mm, s2_hva_t hva, unsigned n, uint64_t *pfn,
		       bool *rw);

/* ---------------------------------------------------- MMU notifiers */

enum host_mn_event {		/* Linux enum mmu_notifier_event */
	HOST_MN_UNMAP = 0,
	HOST_MN_CLEAR,
	HOST_MN_PROTECTION_VMA,
	HOST_MN_PROTECTION_PAGE,
	HOST_MN_SOFT_DIRTY,
	HOST_MN_RELEASE,
	HOST_MN_MIGRATE,
	HOST_MN_EXCLUSIVE,
};
const char *host_mn_event_name(enum host_mn_event ev);

struct host_mn_ops {
	/* Return 0, or -EAGAIN only when !blockable (OOM reaper). */
	int (*invalidate_range_start)(struct host_mn_sub *sub, s2_hva_t start,
				      s2_hva_t end, enum host_mn_event ev, bool blockable);
	void (*invalidate_range_end)(struct host_mn_sub *sub, s2_hva_t start,
				     s2_hva_t end, enum host_mn_event ev, bool blockable);
	void (*release)(struct host_mn_sub *sub);
	int (*clear_flush_young)(struct host_mn_sub *sub, s2_hva_t start, s2_hva_t end);
	int (*clear_young)(struct host_mn_sub *sub, s2_hva_t start, s2_hva_t end);
	int (*test_young)(struct host_mn_sub *sub, s2_hva_t start, s2_hva_t end);
};

/* Caller-allocated; fill ops and priv, the rest is the registry's. */
struct host_mn_sub {
	const struct host_mn_ops *ops;	/* any callback may be NULL */
	void *priv;
	/* registry-owned: */
	struct host_mm *mm;
	struct host_mn_sub *_Atomic next;
	_Atomic int release_claimed;
	bool hashed;
};

/**
 * host_mn_register() - mmu_notifier_register: add @sub at the head (newest
 * first, as hlist_add_head_rcu) and take an mmgrab.
 * Return: 0, -ESRCH if mm_users is 0, -EINVAL if already registered.
 * Context: takes mmap_lock for write; caller holds an mm_users reference.
 */
int host_mn_register(struct host_mm *mm, struct host_mn_sub *sub);
/**
 * host_mn_unregister() - calls ->release unless exit_mmap already did (each
 * subscriber gets exactly one release), unhashes, waits for callbacks in
 * flight (synchronize_srcu), then mmdrop.  After return no callback runs.
 * Context: not from a callback; no host lock held.
 */
void host_mn_unregister(struct host_mn_sub *sub);

/* --------------------------------------------------------------- audit */

/**
 * host_audit() - check frame accounting across every mm living on @phys:
 * no frame both free and mapped; each folio's refcount equals its mappings
 * plus @extra_refs(pfn) (references held outside page tables, NULL = none);
 * each frame's mapcount equals its PTE mappings; no allocated folio without
 * a reference (leak); swap slot counts equal swap entries.
 * Return: 0, or -1 with a description in @msg.
 * Context: no operation running on @phys or any of @mms.
 */
int host_audit(struct host_phys *phys, struct host_mm *const *mms, size_t nr_mms,
	       uint64_t (*extra_refs)(void *priv, uint64_t head_pfn), void *priv,
	       char *msg, size_t msglen);

#endif
