/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The stage-2 page-table engine: one generic walker over any descriptor
 * format (arm64 stage 2 with 4K/16K/64K granules, x86 EPT, and a hostile
 * test format), and the operations built on it.
 *
 * Concurrency.  A walk is either EXCLUSIVE (the caller holds the VM's
 * mmu_lock for write, or otherwise guarantees no other software walker)
 * or SHARED (S2_WALK_SHARED: mmu_lock held for read, inside
 * rcu_read_lock; every update is a compare-and-exchange and a lost race
 * returns -EAGAIN).  Hardware walkers run concurrently with both.
 *
 *   operation              | SHARED ok | may run concurrently with
 *   -----------------------+-----------+-------------------------------------
 *   s2_pgt_map             | yes       | other SHARED map/relax/mkyoung/lookup
 *   s2_pgt_relax_perms     | yes       | same
 *   s2_pgt_mkyoung         | yes       | same
 *   s2_pgt_lookup          | yes       | anything (lockless read, inside RCU)
 *   s2_pgt_test_clear_young| yes       | same as map when SHARED
 *   s2_pgt_unmap           | no        | hardware walkers only
 *   s2_pgt_unmap_fast      | no        | hardware walkers only
 *   s2_pgt_unmap_defer     | no        | hardware walkers only
 *   s2_pgt_tlb_flush       | no        | hardware walkers only
 *   s2_pgt_unmap_fast_finish| -        | anything (no lock: owns its pages)
 *   s2_pgt_wrprotect       | no        | hardware walkers only
 *   s2_pgt_split           | yes       | same as map when SHARED
 *   s2_pgt_destroy         | no        | nothing at all
 *
 * Errors: 0 or a negative errno (S2_EINVAL bad argument, S2_ERANGE address
 * beyond the IPA/OA size, S2_ENOMEM page cache ran dry, S2_EAGAIN lost a
 * race in a shared walk: retry).  A call that fails argument checks, or
 * fails with S2_ENOMEM, has changed nothing.
 */
#ifndef S2MMU_PGTABLE_H
#define S2MMU_PGTABLE_H

#include <s2mmu/platform.h>
#include <s2mmu/format.h>

enum s2_format_id {
	S2_FMT_ARM64,	/* VMSAv8-64 stage 2 */
	S2_FMT_EPT,	/* Intel EPT, 4- or 5-level */
	S2_FMT_TEST,	/* deliberately odd encoding for engine tests */
};

/* s2_pgt_cfg.flags */
#define S2_PGT_NO_FWB	0x1	/* stage 2 not cache-coherent: CMOs needed */
#define S2_PGT_HW_AF	0x2	/* hardware sets the access flag (HA) */
#define S2_PGT_HW_DBM	0x4	/* hardware dirty state (HD + DBM) */
#define S2_PGT_EPT_AD	0x8	/* EPT accessed/dirty flags enabled */
/*
 * arm64 4K / 16K: FEAT_LPA2 descriptors (VTCR_EL2.DS = 1): OA[51:50] in
 * descriptor bits [9:8], where shareability was (it then comes from
 * VTCR_EL2.SH0); needed for a 52-bit IPA or OA with those granules.
 * The 64K granule needs no flag: oa_bits = 52 selects FEAT_LPA.
 */
#define S2_PGT_LPA2	0x10
/*
 * arm64 and the test format: start at the level whose one table covers
 * the IPA, never concatenating initial tables (one more level per walk;
 * with 4K and a 52-bit IPA this is level -1).  Default: concatenate as
 * much as the architecture allows, as KVM does.
 */
#define S2_PGT_NO_CONCAT	0x20

/*
 * Configuration.  arm64 (formats.md 1.7; the start level and root size
 * follow from granule, ia_bits and S2_PGT_NO_CONCAT):
 *   4K, 16K   ia_bits 32..48, oa_bits ia_bits..48 (start level 0 with 4K
 *             needs oa_bits >= 44, level 1 with 16K >= 42);
 *             with S2_PGT_LPA2 also ia_bits and oa_bits up to 52 (oa_bits
 *             49..51 have no VTCR_EL2.PS encoding and are refused); 4K
 *             starts at level -1 only with LPA2 (a 52-bit IPA without
 *             concatenation: 16 entries), 16K at level 0 only with LPA2.
 *   64K       ia_bits 32..48, oa_bits ia_bits..48 (level 1 needs >= 44);
 *             oa_bits = 52 is FEAT_LPA: ia_bits up to 52, OA[51:48] in
 *             descriptor bits [15:12], 4T blocks at level 1.  No LPA2.
 * EPT: 4K only, ia_bits 39..57 (above 48: 5-level), oa_bits up to 52,
 * neither S2_PGT_LPA2 nor S2_PGT_NO_CONCAT.  The test format: 4K, ia_bits
 * 32..48, oa_bits up to 48, S2_PGT_NO_CONCAT allowed.
 */
struct s2_pgt_cfg {
	enum s2_format_id format;
	unsigned granule_shift;		/* 12, 14 or 16 (EPT: 12) */
	unsigned ia_bits;		/* IPA size, 32..48, 52 with LPA/LPA2 (EPT: 39..57) */
	unsigned oa_bits;		/* output size, 32..48 or 52 (0: 48) */
	unsigned flags;
	const struct s2_platform *plat;
	void *plat_ctx;
};

/* Protection / attribute bits for map and relax. */
#define S2_PROT_R	0x1
#define S2_PROT_W	0x2
#define S2_PROT_X	0x4
#define S2_PROT_DEVICE	0x8	/* device memory: not executable, no CMOs */
/*
 * With S2_PROT_W: writable-clean, the hardware records the first write
 * (arm64: DBM set, S2AP[1] clear, needs S2_PGT_HW_DBM; EPT: D clear,
 * needs S2_PGT_EPT_AD); map refuses it on other tables (-S2_EINVAL).
 * Decoded, such an arm64 leaf is read-only with hw_dirty_ok.
 */
#define S2_PROT_CLEAN	0x10
#define S2_PROT_RWX	(S2_PROT_R | S2_PROT_W | S2_PROT_X)

/* Walk flags (also accepted by the operations). */
#define S2_WALK_LEAF		0x01
#define S2_WALK_TABLE_PRE	0x02
#define S2_WALK_TABLE_POST	0x04
#define S2_WALK_SHARED		0x08

/* Maximum levels of any supported format (EPT 5-level). */
#define S2_MAX_LEVELS	5

struct s2_pgtable {
	struct s2_format fmt;		/* copied in: hot paths index it directly */
	uint64_t *root;
	uint64_t root_pa;
	size_t root_size;
	unsigned ia_bits, oa_bits;
	unsigned page_shift;
	int start_level;		/* -1..3 in the format's numbering */
	unsigned root_entries;		/* entries across concatenated tables */
	unsigned flags;
	const struct s2_platform *plat;
	void *ctx;
	/* per-level geometry cached for the walker */
	uint64_t span[S2_MAX_LEVELS + 1];	/* bytes covered by one entry */
	unsigned shift[S2_MAX_LEVELS + 1];
	unsigned long nr_tables;	/* live table pages, root excluded */
	/* Every level keeps a next-table address at its own bit position and
	 * the platform maps linearly: a child table is (entry & mask) minus
	 * child_va_offset, the one step per level on a walk's dependent
	 * chain of loads. */
	bool child_direct;
	uint64_t child_va_offset;
	/* A TLB-gather run this long or longer is invalidated with one
	 * whole-VM operation instead of ranges (set by init; tests lower or
	 * raise it to exercise either side). */
	uint64_t tlbi_vm_threshold;
};

/*
 * A caller-filled cache of zeroed table pages: map and split take pages
 * from here and never allocate, so they can run under a spinning lock.
 * Free pages are chained through their first word (cleared on take), so
 * the cache has no capacity limit and needs no memory of its own.
 * Initialise with S2_MEMCACHE_INIT.  Not thread-safe: one per thread.
 */
struct s2_memcache {
	void *head;
	unsigned long nr;
};
#define S2_MEMCACHE_INIT { 0, 0 }

/* Decoded view of one entry, for lookup and tests. */
struct s2_mapping {
	bool valid;
	int level;
	uint64_t size;		/* bytes covered by the leaf */
	s2_gpa_t ipa;		/* start of the leaf */
	s2_hpa_t pa;		/* output of the leaf's start */
	unsigned prot;		/* S2_PROT_* */
	bool young;		/* access flag */
	bool dirty;		/* writable (arm64 DBM) / EPT D bit */
	bool hw_dirty_ok;	/* DBM set: hardware may make it writable */
	unsigned sw;		/* software bits */
	uint64_t raw;
};

/* Walker visit context (see s2_pgt_walk). */
struct s2_walk_ctx {
	struct s2_pgtable *pgt;
	uint64_t *ptep;
	uint64_t old;		/* value read before the visit */
	uint64_t addr;		/* start of the entry's span */
	uint64_t end;		/* end of the walk */
	int level;
	unsigned flags;
	void *arg;
};

typedef int (*s2_visitor_fn)(struct s2_walk_ctx *ctx, unsigned visit);

/**
 * s2_pgt_init - set up an empty stage-2 table.
 * Return: 0; -S2_EINVAL for an unsupported format/granule/IPA/OA
 * combination or missing hooks; -S2_ENOMEM if the root cannot be allocated.
 * Context: any; @pgt is not yet visible to anyone.
 */
int s2_pgt_init(struct s2_pgtable *pgt, const struct s2_pgt_cfg *cfg);

/**
 * s2_pgt_destroy - free every table page and the root.
 * Context: no walker of any kind may be running or start (exclusive).
 * Freed immediately: the caller has already invalidated the VM's TLBs.
 * NULL, or a table already destroyed, is ignored (docs/api-misuse.md).
 */
void s2_pgt_destroy(struct s2_pgtable *pgt);

/**
 * s2_pgt_map - map [@ipa, @ipa+@size) to [@pa, ...) with @prot.
 * Uses the largest block that the alignment of @ipa and @pa, the format
 * and @max_size (0: no cap) allow.  Valid entries with a different output
 * or size are replaced with break-before-make.  With S2_WALK_SHARED, an
 * entry already valid with the same output returns -S2_EAGAIN if its
 * permissions differ (relax them with s2_pgt_relax_perms) and 0 if they
 * are the same.
 * Return: 0, -S2_EINVAL, -S2_ERANGE, -S2_ENOMEM (cache too small for the
 * tables needed: nothing changed), -S2_EAGAIN (shared walk lost a race).
 * Context: EXCLUSIVE, or SHARED with @flags S2_WALK_SHARED.
 */
int s2_pgt_map(struct s2_pgtable *pgt, s2_gpa_t ipa, uint64_t size, s2_hpa_t pa,
	       unsigned prot, uint64_t max_size, struct s2_memcache *mc,
	       unsigned flags);

/**
 * s2_pgt_unmap - remove every mapping in [@ipa, @ipa+@size); empty tables
 * are unlinked and freed after a grace period.  TLBs are invalidated, and
 * on a non-FWB platform the data cache cleaned to PoC after the
 * translation is gone, all before return.
 * Return: 0, -S2_EINVAL, -S2_ERANGE.  Context: EXCLUSIVE.
 */
int s2_pgt_unmap(struct s2_pgtable *pgt, s2_gpa_t ipa, uint64_t size);

/*
 * Subtrees a fast unmap has disconnected and invalidated but not yet
 * cleaned (non-FWB) or handed to the deferred-free hook.  Bounded: a
 * fast unmap that detaches more finishes the older ones itself.
 */
#define S2_DETACHED_MAX	64
struct s2_detached {
	unsigned nr;
	signed char level[S2_DETACHED_MAX];	/* level of the table page */
	void *table[S2_DETACHED_MAX];
};

/**
 * s2_pgt_unmap_fast - remove every mapping in [@ipa, @ipa+@size) as
 * s2_pgt_unmap does (same result, blocks partly in the range go whole),
 * but disconnect each table whose whole span lies inside the range with
 * one break of its parent entry instead of visiting its leaves.  The TLB
 * is invalidated once for the operation (by range, split at the
 * architectural maximum per operation, or whole-VM past
 * pgt->tlbi_vm_threshold) before return.  Leaves at the edges are removed
 * one by one; on a non-FWB platform their data is cleaned to PoC after
 * that invalidation, before return.
 * With @det NULL the detached subtrees are also cleaned (non-FWB) and
 * queued for freeing after a grace period before return.  With @det, they
 * are left in @det: unreachable by any walker, software or hardware, and
 * owned by the caller, who must pass @det to s2_pgt_unmap_fast_finish
 * (typically after dropping mmu_lock) before the memory they mapped is
 * reused (non-FWB: before returning from an MMU notifier) and before
 * s2_pgt_destroy.  @det must start with nr = 0.
 * Return: 0, -S2_EINVAL, -S2_ERANGE.  Context: EXCLUSIVE.
 */
int s2_pgt_unmap_fast(struct s2_pgtable *pgt, s2_gpa_t ipa, uint64_t size,
		      struct s2_detached *det);

/*
 * A TLB invalidation owed for entries s2_pgt_unmap_defer removed: one run
 * of adjacent IPAs, with the level of its leaves (-1: mixed or tables).
 * Start it with S2_TLB_BATCH_INIT or s2_tlb_batch_init(); the fields are
 * the engine's.
 */
struct s2_tlb_batch {
	uint64_t start, end;
	int level;
	bool leaf_only;
};
#define S2_TLB_BATCH_INIT	{ 0, 0, 0, true }

/**
 * s2_tlb_batch_init - make @tb empty (owing nothing), as S2_TLB_BATCH_INIT.
 * Context: any.
 */
static inline void s2_tlb_batch_init(struct s2_tlb_batch *tb)
{
	tb->start = tb->end = 0;
	tb->level = 0;
	tb->leaf_only = true;
}

/**
 * s2_pgt_unmap_defer - s2_pgt_unmap_fast with @det required, whose TLB
 * invalidation is merged into @tb instead of issued, so that a caller
 * removing several ranges under one hold of mmu_lock (a notifier spanning
 * several memslots, a zap in chunks) invalidates once where the ranges
 * are adjacent.  A run that cannot merge with what @tb holds flushes the
 * older one; a full @det flushes @tb before finishing its older subtrees.
 * The caller must call s2_pgt_tlb_flush(@tb) before it drops mmu_lock
 * (yielding between chunks included: another invalidation of the same
 * range would find the entries gone, owe nothing, and let the host free
 * pages the TLBs still map; I1) and before s2_pgt_unmap_fast_finish(@det).
 * On a non-FWB table the edge leaves' data must be cleaned after their
 * invalidation, so there the invalidation is issued before return and
 * @tb is left empty.
 * Return: 0, -S2_EINVAL (also @det or @tb NULL), -S2_ERANGE.
 * Context: EXCLUSIVE.
 */
int s2_pgt_unmap_defer(struct s2_pgtable *pgt, s2_gpa_t ipa, uint64_t size,
		       struct s2_detached *det, struct s2_tlb_batch *tb);

/**
 * s2_pgt_tlb_flush - issue the invalidation @tb holds (single entry, range
 * split at the architectural maximum, or whole VM by size) and empty it.
 * NULL arguments and an empty batch are ignored.  Context: EXCLUSIVE, the
 * same hold of mmu_lock as the operations that filled @tb.
 */
void s2_pgt_tlb_flush(struct s2_pgtable *pgt, struct s2_tlb_batch *tb);

/**
 * s2_pgt_unmap_fast_finish - clean (non-FWB) the data the subtrees in @det
 * mapped to PoC, then queue each subtree for freeing after a grace period;
 * empties @det.  NULL arguments are ignored.
 * Context: any, no lock needed: the subtrees are private to the caller.
 * Not concurrently with s2_pgt_destroy of @pgt.
 */
void s2_pgt_unmap_fast_finish(struct s2_pgtable *pgt, struct s2_detached *det);

/**
 * s2_pgt_wrprotect - clear write permission of every leaf in the range,
 * then invalidate the range in the TLB before return.
 * Return: 0, -S2_EINVAL, -S2_ERANGE.  Context: EXCLUSIVE.
 */
int s2_pgt_wrprotect(struct s2_pgtable *pgt, s2_gpa_t ipa, uint64_t size);

/**
 * s2_pgt_relax_perms - add @prot to the leaf covering @ipa (a fault on a
 * present entry), then invalidate it on this CPU.
 * Return: 0; -S2_ENOENT no valid leaf; -S2_EINVAL bad @prot or @flags,
 * or no live table; -S2_ERANGE @ipa beyond the IPA size; -S2_EAGAIN lost
 * a race.  Context: EXCLUSIVE or SHARED.
 */
int s2_pgt_relax_perms(struct s2_pgtable *pgt, s2_gpa_t ipa, unsigned prot,
		       unsigned flags);

/**
 * s2_pgt_mkyoung - set the access flag of the leaf covering @ipa (an
 * access-flag fault).  No TLB maintenance: entries with AF clear are
 * never cached.
 * Return: 0, -S2_ENOENT, -S2_EAGAIN; -S2_EINVAL bad @flags or no live
 * table; -S2_ERANGE beyond the IPA size.  Context: EXCLUSIVE or SHARED.
 */
int s2_pgt_mkyoung(struct s2_pgtable *pgt, s2_gpa_t ipa, unsigned flags);

/**
 * s2_pgt_test_clear_young - report whether any leaf in the range has its
 * access flag set, clearing it when @mkold.  No TLB invalidation: as in
 * Linux, flushing is the caller's decision (clear_flush_young).
 * Return: 1 young, 0 not, negative errno on bad arguments.
 * Context: EXCLUSIVE, or SHARED (then hardware and software updates of
 * the same entry are not lost: every clear is a compare-and-exchange; a
 * leaf another walker changed in more than its access, write and dirty
 * bits since it was read keeps its flag and counts as young, an entry
 * being replaced, locked, is skipped).
 */
int s2_pgt_test_clear_young(struct s2_pgtable *pgt, s2_gpa_t ipa,
			    uint64_t size, bool mkold, unsigned flags);

/* s2_pgt_test_clear_dirty flags */
#define S2_DIRTY_WRPROTECT	0x1	/* leave every leaf read-only, no DBM */

/**
 * s2_pgt_test_clear_dirty - report and clear the hardware dirty state of
 * every leaf in [@ipa, @ipa+@size): a leaf is dirty when it is writable
 * on arm64 (S2AP[1], which FEAT_HAFDBS sets on a DBM leaf) or has D set
 * on EPT.  Each dirty leaf sets the bits of its pages (of the range) in
 * @bitmap, bit n for the page at @base + n pages (@bitmap NULL: nothing
 * reported).  Last-level leaves become writable-clean (arm64: S2AP[1]
 * clear, DBM set; EPT: D clear); blocks, and with S2_DIRTY_WRPROTECT
 * every leaf, become read-only without DBM, so their next write faults.
 * Every update is a compare-and-exchange (the hardware may set the dirty
 * state meanwhile: such a write is reported now or stays for the next
 * call) and the TLB is invalidated for every leaf changed before return,
 * so any write after return sets the dirty state again (I7).
 * Return: 0; -S2_EINVAL (no live table, neither S2_PGT_HW_DBM nor
 * S2_PGT_EPT_AD, unknown @flags, @base above @ipa or not page-aligned, a
 * misaligned range); -S2_ERANGE.  Context: EXCLUSIVE.
 */
int s2_pgt_test_clear_dirty(struct s2_pgtable *pgt, s2_gpa_t ipa, uint64_t size,
			    uint64_t *bitmap, s2_gpa_t base, unsigned flags);

/**
 * s2_pgt_split - replace every block in the range by a table mapping the
 * same output with the same attributes at the next level, recursively
 * until leaves are at most @target_size, with break-before-make.
 * Return: 0, -S2_EINVAL, -S2_ERANGE, -S2_ENOMEM (the blocks split so far
 * stay split; the rest are untouched and still map the same memory).
 * Context: EXCLUSIVE or SHARED.
 */
int s2_pgt_split(struct s2_pgtable *pgt, s2_gpa_t ipa, uint64_t size,
		 uint64_t target_size, struct s2_memcache *mc, unsigned flags);

/**
 * s2_pgt_lookup - decode the entry that translates @ipa.
 * Return: 0 with @out filled (out->valid false if nothing maps @ipa),
 * -S2_ERANGE beyond the IPA size, -S2_EINVAL no live table or @out NULL.
 * Context: any, inside RCU if concurrent with unmap.
 */
int s2_pgt_lookup(struct s2_pgtable *pgt, s2_gpa_t ipa, struct s2_mapping *out);

/**
 * s2_pgt_walk - visit [@ipa, @ipa+@size) with @fn for the kinds of
 * entries @flags selects (S2_WALK_LEAF: leaves and invalid entries;
 * TABLE_PRE / TABLE_POST: table entries before and after their subtree).
 * @fn returns 0 to continue or a negative errno to stop the walk.
 * Return: 0 or what @fn returned; -S2_EINVAL no live table, @fn NULL or
 * a misaligned/empty range; -S2_ERANGE beyond the IPA size.
 * Context: as the visitor requires.
 */
int s2_pgt_walk(struct s2_pgtable *pgt, s2_gpa_t ipa, uint64_t size,
		s2_visitor_fn fn, void *arg, unsigned flags);

/**
 * s2_pgt_pages_needed - upper bound of table pages a map of the range can
 * consume (tables that would have to be created), for topping up.
 * Return: that bound; 0 for arguments map would refuse.
 * Context: any; it computes from the table's geometry, not its entries.
 */
unsigned long s2_pgt_pages_needed(struct s2_pgtable *pgt, s2_gpa_t ipa,
				  uint64_t size);

/*
 * Page cache: top up to @min pages (allocating outside any lock); free
 * gives every page of @mc back to the platform.
 * Return: topup: 0, -S2_ENOMEM (the pages allocated so far stay in @mc),
 * -S2_EINVAL no live table or @mc NULL; free: nothing (NULL arguments are
 * ignored).
 * Context: the cache's owner only (a cache is not shared); topup
 * allocates through the platform hook, so hold no lock that allocation
 * may not sleep under.
 */
int s2_memcache_topup(struct s2_pgtable *pgt, struct s2_memcache *mc,
		      unsigned long min);
void s2_memcache_free(struct s2_pgtable *pgt, struct s2_memcache *mc);

/*
 * Largest leaf size the format allows at or below @max_size (0: any).
 * This and the decode helpers below take a live table and do not check
 * it: they are the visitors' hot path.
 * Return: the size in bytes (the last level's page size at least).
 * Context: any; it reads the table's geometry only.
 */
uint64_t s2_pgt_max_block(const struct s2_pgtable *pgt, uint64_t max_size);

/*
 * Decode helpers for visitors: whether @pte at @level is valid, whether
 * it points to a next-level table, and the mapping it holds.
 * Return: s2_pte_valid, s2_pte_table: true or false; s2_pte_decode:
 * nothing, it fills @out (valid false for anything but a leaf).
 * Context: any; they read only @pte and the table's format.
 */
bool s2_pte_valid(const struct s2_pgtable *pgt, uint64_t pte, int level);
bool s2_pte_table(const struct s2_pgtable *pgt, uint64_t pte, int level);
void s2_pte_decode(const struct s2_pgtable *pgt, uint64_t pte, int level,
		   struct s2_mapping *out);

/*
 * For hardware models and embedders' own walkers, so that none decodes
 * entries through the format's masks.  s2_pte_child: the next-level table
 * @pte points at.  Return: its address as the library sees it (through
 * the platform's virt/phys hooks), NULL when @pte at @level is no table
 * entry.  s2_pte_hw_update: what hardware's atomic update of the leaf
 * @pte writes: S2_HW_SET_AF sets the access flag (with S2_PGT_HW_AF or
 * EPT A/D), S2_HW_SET_DIRTY records a write: it makes a read-only leaf
 * writable through its dirty-bit modifier (S2_PGT_HW_DBM, and only where
 * out->hw_dirty_ok of its decode is true), or sets D of a writable EPT
 * leaf (S2_PGT_EPT_AD).  Return: the updated entry; @pte unchanged when
 * the table's flags, or the entry, allow neither.
 * Context: any; they read only @pte and the table's format.
 */
#define S2_HW_SET_AF	0x1
#define S2_HW_SET_DIRTY	0x2
uint64_t *s2_pte_child(const struct s2_pgtable *pgt, uint64_t pte, int level);
uint64_t s2_pte_hw_update(const struct s2_pgtable *pgt, uint64_t pte, int level, unsigned what);

#endif
