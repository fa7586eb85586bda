/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The stage-2 page-table engine: init/destroy, the operations, and the
 * break-before-make and table-lifetime rules they share.
 */
#include "internal.h"
#include <s2mmu/check.h>

/* ---------------------------------------------------------------- checks */

static int check_range(const struct s2_pgtable *pgt, uint64_t addr, uint64_t size)
{
	uint64_t mask = (1ULL << pgt->page_shift) - 1;

	if (!size || (addr & mask) || (size & mask))
		return -S2_EINVAL;
	if (addr + size < addr)
		return -S2_EINVAL;
	if (addr + size > (1ULL << pgt->ia_bits))
		return -S2_ERANGE;
	return 0;
}

static bool pgt_live(const struct s2_pgtable *pgt)
{
	return pgt && pgt->root;
}

/*
 * R is required (write-only and execute-only stage-2 mappings are legal on
 * arm64 but not on EPT, and no caller needs them); device memory is never
 * executable.
 */
static bool prot_ok(unsigned prot)
{
	if (prot & ~(S2_PROT_RWX | S2_PROT_DEVICE))
		return false;
	if (!(prot & S2_PROT_R))
		return false;
	if ((prot & S2_PROT_DEVICE) && (prot & S2_PROT_X))
		return false;
	return true;
}

/* ------------------------------------------------------- shared helpers */

static s2_always_inline uint64_t pgt_span(const struct s2_pgtable *pgt, int level)
{
	return pgt->span[S2_LVL(level)];
}

static s2_always_inline void tables_add(struct s2_pgtable *pgt, long d)
{
	s2_fetch_add(&pgt->nr_tables, (unsigned long)d);
}

/*
 * I3: a shared walk runs beside other shared walks, and a shared map that
 * replaces a table by a block (map_collapse) unlinks that subtree and
 * queues it for freeing after a grace period while another fault may be
 * descending through it.  Only an RCU read section around the whole walk
 * keeps such a page alive until the walk is out; holding mmu_lock for
 * read does not (a hosted big-reader lock is no RCU reader; a kernel
 * spinning read lock only happens to imply one).  So the engine enters
 * RCU itself for every shared walk and every lookup, as KVM's walker
 * does, and no caller can forget.  shared_walk_no_rcu: it does not.
 */
static s2_always_inline void walk_rcu_enter(struct s2_pgtable *pgt)
{
	if (!S2_BUG(pgt->plat, pgt->ctx, shared_walk_no_rcu))
		pgt->plat->rcu_read_lock(pgt->ctx);
}

static s2_always_inline void walk_rcu_exit(struct s2_pgtable *pgt)
{
	if (!S2_BUG(pgt->plat, pgt->ctx, shared_walk_no_rcu))
		pgt->plat->rcu_read_unlock(pgt->ctx);
}

/*
 * First half of break-before-make (Arm ARM D5.10.1): make the entry
 * invalid so that no new walk can load the old translation.  A shared
 * walker installs the locked marker with a compare-and-exchange, so a
 * concurrent walker sees "busy, retry" rather than "empty, fill"; losing
 * the exchange means someone else changed the entry: -EAGAIN.  With
 * hardware-managed access/dirty bits the old value is taken by exchange so
 * that a bit set by the hardware since we read it is not lost.
 */
static s2_always_inline bool break_pte(struct s2_walk_ctx *c, bool shared,
				       uint64_t *final)
{
	const struct s2_fmt_level *lv = s2_lv(c->pgt, c->level);
	uint64_t old = c->old;

	if (shared) {
		if (!pte_cmpxchg(c->pgt, c->ptep, &old, lv->locked))
			return false;
		*final = old;
	} else if (pgt_hw_updates(c->pgt)) {
		*final = pte_xchg(c->pgt, c->ptep, 0);
	} else {
		pte_store(c->pgt, c->ptep, 0);
		*final = old;
	}
	return true;
}

/*
 * Update a live leaf without changing its output (permissions, access
 * flag).  Plain store only when nothing else can write the entry: an
 * exclusive walk on a format whose hardware does not update entries.
 * Otherwise a compare-and-exchange, retried locally when only
 * hardware-owned bits moved (a lost access/dirty bit is the KVM bug
 * "Use atomic XCHG to write TDP MMU SPTEs with volatile bits").
 */
static s2_always_inline int update_leaf(struct s2_walk_ctx *c, bool shared,
					uint64_t set, uint64_t clear, uint64_t *newp)
{
	const struct s2_fmt_level *lv = s2_lv(c->pgt, c->level);
	uint64_t old = c->old, new;

	if (!shared && !pgt_hw_updates(c->pgt)) {
		new = (old | set) & ~clear;
		if (new != old)
			pte_store(c->pgt, c->ptep, new);
		*newp = new;
		return 0;
	}
	/* the window a hardware access/dirty update can fall into */
	S2_PREEMPT(c->pgt->plat, c->pgt->ctx, "leaf update: entry read");
	if (S2_BUG(c->pgt->plat, c->pgt->ctx, lost_hw_dirty)) {
		/* KVM bug "Use atomic XCHG to write TDP MMU SPTEs with
		 * volatile bits": a plain store of a value computed from a
		 * stale read drops what the hardware set meanwhile (I7/I9) */
		new = (old | set) & ~clear;
		pte_store(c->pgt, c->ptep, new);
		*newp = new;
		return 0;
	}
	for (;;) {
		if (!lv_leaf(lv, old))
			return -S2_EAGAIN;
		new = (old | set) & ~clear;
		if (new == old || pte_cmpxchg(c->pgt, c->ptep, &old, new))
			break;
		/* Another software walker changed more than hardware bits. */
		if (shared && ((old ^ c->old) & ~(lv->af | lv->w | lv->dirty)))
			return -S2_EAGAIN;
	}
	c->old = old;
	*newp = new;
	return 0;
}

/*
 * I11: @pa is about to become executable for the guest (mapped with X, or
 * X added to a live leaf): its instruction cache lines may hold what the
 * frame held before the host last wrote it (a fresh page, a migration or
 * COW copy), so they go before the entry that allows the fetch is
 * written.  FEAT_S2FWB forces the data side's attributes only and does
 * not imply CTR_EL0.DIC; only a platform that declares DIC skips this,
 * as KVM does.
 */
static s2_always_inline void icache_exec(struct s2_pgtable *pgt, uint64_t pa, uint64_t size)
{
	if (pgt->plat->icache_dic)
		return;
	/* fwb_no_icache: the old rule, "FWB means no cache maintenance" */
	if (S2_BUG(pgt->plat, pgt->ctx, fwb_no_icache) && !(pgt->flags & S2_PGT_NO_FWB))
		return;
	pgt->plat->icache_inval_pou(pgt->ctx, pa, size);
}

/* The fwb_no_icache switch also drops the invalidation when X is added to
 * a live leaf (relax, an in-place attribute change), FWB or not. */
static s2_always_inline void icache_exec_added(struct s2_pgtable *pgt, uint64_t pa,
					       uint64_t size)
{
	if (!S2_BUG(pgt->plat, pgt->ctx, fwb_no_icache))
		icache_exec(pgt, pa, size);
}

static s2_always_inline void cmo_map(struct s2_pgtable *pgt, uint64_t pa, uint64_t size,
				     unsigned prot)
{
	if (prot & S2_PROT_DEVICE)
		return;
	/* Without FWB the guest may run with its caches off and read memory
	 * straight from PoC: clean the new page there before mapping it. */
	if (pgt->flags & S2_PGT_NO_FWB)
		pgt->plat->dcache_clean_inval_poc(pgt->ctx, pa, size);
	if (prot & S2_PROT_X)
		icache_exec(pgt, pa, size);
}

static s2_always_inline void cmo_unmapped(struct s2_pgtable *pgt,
					  const struct s2_fmt_level *lv,
					  uint64_t old, uint64_t size)
{
	/*
	 * I8: only once the translation is gone from every TLB can no new
	 * guest write allocate a line, so clean+invalidate after the TLBI
	 * (the order the bug cmo_before_tlbi reverses, seed 004).
	 */
	if (!(pgt->flags & S2_PGT_NO_FWB) || (lv_prot(lv, old) & S2_PROT_DEVICE))
		return;
	pgt->plat->dcache_clean_inval_poc(pgt->ctx, lv_oa(pgt, lv, old), size);
}

void s2_pgt_tlb_flush(struct s2_pgtable *pgt, struct s2_tlb_batch *g)
{
	uint64_t size;

	if (!pgt || !g)
		return;
	size = g->end - g->start;
	if (!size)
		return;
	if (size == pgt_span(pgt, g->level < 0 ? S2_LAST_LEVEL : g->level) && g->leaf_only)
		pgt->plat->tlbi_ipa(pgt->ctx, g->start, g->level, S2_TLBI_LEAF);
	else if (size >= pgt->tlbi_vm_threshold)
		pgt->plat->tlbi_vm(pgt->ctx);
	else {
		uint64_t max = S2_TLBI_RANGE_MAX_PAGES << pgt->page_shift, a, n;

		for (a = g->start; a < g->end; a += n) {
			uint64_t op;

			n = g->end - a < max ? g->end - a : max;
			op = n;
			/*
			 * tlbi_range_short ("arm64: tlb: Fix TLBI RANGE
			 * operand"): the operand's page count taken as the
			 * encodable (NUM+1) << (5*SCALE+1) part, rounded down,
			 * while the loop moves past all of it: an odd last
			 * page keeps its TLB entries (dirty pages lost).
			 */
			if (S2_BUG(pgt->plat, pgt->ctx, tlbi_range_short) &&
			    (n >> pgt->page_shift) > 2)
				op = n & ~((2ULL << pgt->page_shift) - 1);
			pgt->plat->tlbi_range(pgt->ctx, a, op, g->leaf_only ? g->level : -1);
		}
	}
	g->start = g->end = 0;
}

/* ------------------------------------------------------ table lifetime */

static void free_subtree_now(struct s2_pgtable *pgt, uint64_t *table, int level)
{
	const struct s2_fmt_level *lv = s2_lv(pgt, level);
	unsigned i, n = 1U << pgt->fmt.bits_per_level;

	if (level < S2_LAST_LEVEL) {
		for (i = 0; i < n; i++) {
			uint64_t pte = pte_load_private(&table[i]);

			if (lv_table(lv, pte))
				free_subtree_now(pgt, lv_child(pgt, lv, pte), level + 1);
		}
	}
	pgt->plat->free_page(pgt->ctx, table, pgt->page_shift);
	tables_add(pgt, -1);
}

/* Runs after the grace period: nobody can reach the subtree any more. */
static void free_subtree_cb(void *owner, void *va, int level)
{
	free_subtree_now(owner, va, level);
}

static void defer_free_table(struct s2_pgtable *pgt, uint64_t *table, int level)
{
	if (S2_BUG(pgt->plat, pgt->ctx, free_no_grace)) {
		/* freed while shared and hardware walkers may still read it */
		free_subtree_now(pgt, table, level);
		return;
	}
	pgt->plat->defer_free(pgt->ctx, table, level, free_subtree_cb, pgt);
}

/* After a table's translations are gone: push their data to PoC (I8). */
static void cmo_subtree(struct s2_pgtable *pgt, uint64_t *table, int level)
{
	const struct s2_fmt_level *lv = s2_lv(pgt, level);
	unsigned i, n = 1U << pgt->fmt.bits_per_level;

	for (i = 0; i < n; i++) {
		uint64_t pte = pte_load_private(&table[i]);

		if (lv_table(lv, pte))
			cmo_subtree(pgt, lv_child(pgt, lv, pte), level + 1);
		else if (lv_valid(lv, pte))
			cmo_unmapped(pgt, lv, pte, pgt_span(pgt, level));
	}
}

/* ------------------------------------------------------------------ map */

/*
 * Reference-count changes batched per table page: a range operation
 * touches hundreds of entries of one table in a row, and the count is
 * only read under the exclusive lock (unmap), never concurrently with
 * the shared walkers that batch here, so one update per run is exact by
 * the time anyone looks.
 */
struct refbatch {
	uint64_t *table;
	int n;
};

static s2_always_inline int ref_flush(struct s2_pgtable *pgt, struct refbatch *rb)
{
	int n = rb->n;

	rb->n = 0;
	return n ? ref_add(pgt, rb->table, n) : 0;
}

static s2_always_inline void ref_entry(struct s2_pgtable *pgt, struct refbatch *rb,
				       uint64_t *ptep, int level, int delta)
{
	uint64_t *t;

	if (level == pgt->start_level)
		return;		/* the root is not reference-counted */
	t = table_of(pgt, ptep);
	if (t != rb->table) {
		ref_flush(pgt, rb);
		rb->table = t;
	}
	rb->n += delta;
}

struct map_data {
	uint64_t ipa, end, pa;
	uint64_t max_size;
	unsigned prot;
	struct s2_memcache *mc;
	struct refbatch rb;
};

static s2_always_inline bool map_fits(const struct s2_walk_ctx *c, const struct map_data *d)
{
	const struct s2_pgtable *pgt = c->pgt;
	uint64_t span = pgt_span(pgt, c->level);

	if (c->level != S2_LAST_LEVEL && !s2_lv(pgt, c->level)->block_ok)
		return false;
	if (span > d->max_size || c->addr < d->ipa || c->addr + span > d->end)
		return false;
	return ((d->pa + (c->addr - d->ipa)) & (span - 1)) == 0;
}

/* Replace a whole table by one block: BBM, the subtree freed after grace. */
static int map_collapse(struct s2_walk_ctx *c, struct map_data *d, bool shared)
{
	struct s2_pgtable *pgt = c->pgt;
	const struct s2_fmt_level *lv = s2_lv(pgt, c->level);
	uint64_t span = pgt_span(pgt, c->level);
	uint64_t pa = d->pa + (c->addr - d->ipa), old;
	uint64_t *child = lv_child(pgt, lv, c->old);

	if (S2_BUG(pgt->plat, pgt->ctx, collapse_no_bbm)) {
		/* "Fix handling of merging tables into a block entry": the
		 * block written over the live table, no break, no TLBI */
		old = c->old;
	} else {
		if (!break_pte(c, shared, &old))
			return -S2_EAGAIN;
		/* A table entry: no level hint, walk caches included (KVM bug
		 * "Don't defer TLB invalidation when zapping table entries"). */
		pgt->plat->tlbi_range(pgt->ctx, c->addr, span, -1);
	}
	if (pgt->flags & S2_PGT_NO_FWB)
		cmo_subtree(pgt, child, c->level + 1);
	defer_free_table(pgt, child, c->level + 1);
	cmo_map(pgt, pa, span, d->prot);
	pte_store_release(c->pgt, c->ptep,
			  lv_leaf_template(lv, d->prot, true) | lv_oa_bits(pgt, lv, pa));
	return 0;
}

/* Install a leaf of output @pa at @c's entry; its table's count in @rb. */
static s2_always_inline int map_leaf(struct s2_walk_ctx *c, uint64_t pa, unsigned prot,
				    struct refbatch *rb, bool shared)
{
	struct s2_pgtable *pgt = c->pgt;
	const struct s2_fmt_level *lv = s2_lv(pgt, c->level);
	uint64_t span = pgt_span(pgt, c->level);
	uint64_t new = lv_leaf_template(lv, prot, true) | lv_oa_bits(pgt, lv, pa);
	uint64_t old = c->old;

	if (!lv_valid(lv, old)) {
		if (shared && (old & lv->locked))
			return -S2_EAGAIN;
		cmo_map(pgt, pa, span, prot);
		if (shared && !S2_BUG(pgt->plat, pgt->ctx, shared_plain_store)) {
			if (!pte_cmpxchg(c->pgt, c->ptep, &old, new))
				return -S2_EAGAIN;
		} else {
			pte_store_release(c->pgt, c->ptep, new);
		}
		ref_entry(pgt, rb, c->ptep, c->level, 1);
		return 0;
	}
	if (lv_oa(pgt, lv, old) == pa) {
		/* Same output and size: at most a change of attributes. */
		uint64_t keep = lv->af | lv->sw_mask | lv->dirty;

		if ((old & ~keep) == (new & ~keep)) {
			/* "Fix memory leak on stage2 update of a valid PTE":
			 * a reference taken for an entry that already had one */
			if (S2_BUG(pgt->plat, pgt->ctx, double_get_leak))
				ref_entry(pgt, rb, c->ptep, c->level, 1);
			return 0;
		}
		/* KVM policy: a fault never changes permissions through map;
		 * it retries and the relax path adds what is missing. */
		if (shared)
			return -S2_EAGAIN;
		/*
		 * A change of memory type (Normal <-> Device) is a change of
		 * the translation, not of its permissions: Arm ARM D5.10.1
		 * requires break-before-make, or TLBs keep the old type
		 * indefinitely, and without FWB the page's data must follow
		 * the type (cleaned out before it becomes Device, cleaned
		 * before it becomes cacheable again).  So it takes the
		 * different-output path.  memtype_no_bbm: stored in place.
		 */
		if (!((lv_prot(lv, old) ^ prot) & S2_PROT_DEVICE) ||
		    S2_BUG(pgt->plat, pgt->ctx, memtype_no_bbm)) {
			if (lv_prot(lv, old) & ~prot & S2_PROT_RWX) {
				/* removing permissions: the old ones must
				 * leave the TLB */
				uint64_t fin;

				break_pte(c, false, &fin);
				pgt->plat->tlbi_ipa(pgt->ctx, c->addr, c->level, S2_TLBI_LEAF);
			}
			if ((prot & S2_PROT_X) && !(lv_prot(lv, old) & S2_PROT_X))
				icache_exec_added(pgt, pa, span);
			pte_store_release(c->pgt, c->ptep, new | (old & (lv->sw_mask)));
			return 0;
		}
	}
	/* Different output or type: break, invalidate, clean the old data,
	 * make. */
	if (!break_pte(c, shared, &old))
		return -S2_EAGAIN;
	pgt->plat->tlbi_ipa(pgt->ctx, c->addr, c->level, S2_TLBI_LEAF);
	cmo_unmapped(pgt, lv, old, span);
	cmo_map(pgt, pa, span, prot);
	pte_store_release(c->pgt, c->ptep, new);
	return 0;
}

/* The entry is invalid or a too-large block: put a table under it. */
static s2_always_inline int map_new_table(struct s2_walk_ctx *c, struct map_data *d,
					 bool shared)
{
	struct s2_pgtable *pgt = c->pgt;
	const struct s2_fmt_level *lv = s2_lv(pgt, c->level);
	uint64_t old = c->old, fin;
	void *child;

	if (lv_valid(lv, old)) {
		/*
		 * Lazy split, as KVM's fault path does: the block is replaced
		 * by an empty table and the rest of it faults back in.  The
		 * block-size change needs break-before-make.
		 */
		child = mc_take(d->mc);
		if (!child)
			return -S2_ENOMEM;
		/* split_no_bbm: the table written over the live block */
		if (S2_BUG(pgt->plat, pgt->ctx, split_no_bbm)) {
			fin = old;
		} else {
			if (!break_pte(c, shared, &fin)) {
				mc_put(d->mc, child);
				return -S2_EAGAIN;
			}
			pgt->plat->tlbi_ipa(pgt->ctx, c->addr, c->level, S2_TLBI_LEAF);
		}
		/* The rest of the block is unmapped from here on: its data
		 * must reach PoC like any other unmap's (I8). */
		cmo_unmapped(pgt, lv, fin, pgt_span(pgt, c->level));
		tables_add(pgt, 1);
		pte_store_release(c->pgt, c->ptep, lv_mk_table(pgt, lv, child));
		return 0;
	}
	if (shared && (old & lv->locked))
		return -S2_EAGAIN;
	child = mc_take(d->mc);
	if (!child)
		return -S2_ENOMEM;
	/* Publish with release so a walker that sees the entry sees a zeroed
	 * table behind it. */
	if (shared && !S2_BUG(pgt->plat, pgt->ctx, shared_plain_store)) {
		if (!pte_cmpxchg(c->pgt, c->ptep, &old, lv_mk_table(pgt, lv, child))) {
			/* Another fault built this table first: keep our page
			 * for later, no table is lost or leaked. */
			mc_put(d->mc, child);
			return -S2_EAGAIN;
		}
	} else {
		pte_store_release(c->pgt, c->ptep, lv_mk_table(pgt, lv, child));
	}
	tables_add(pgt, 1);
	ref_entry(pgt, &d->rb, c->ptep, c->level, 1);
	return 0;
}

static s2_always_inline int map_visit(struct s2_walk_ctx *c, unsigned visit, bool shared)
{
	struct map_data *d = c->arg;
	bool fits = map_fits(c, d);

	/* parallel faults interleave between reading and installing */
	if (shared)
		S2_PREEMPT(c->pgt->plat, c->pgt->ctx, "map: entry read");

	if (visit == S2_VISIT_PRE)
		return fits ? map_collapse(c, d, shared) : 0;
	if (fits)
		return map_leaf(c, d->pa + (c->addr - d->ipa), d->prot, &d->rb, shared);
	return map_new_table(c, d, shared);
}

static s2_always_inline int map_visit_shared(struct s2_walk_ctx *c, unsigned visit)
{
	return map_visit(c, visit, true);
}

static s2_always_inline int map_visit_excl(struct s2_walk_ctx *c, unsigned visit)
{
	return map_visit(c, visit, false);
}

static s2_noinline int map_walk_shared(struct s2_pgtable *pgt, struct map_data *d,
				       unsigned walk)
{
	return s2_walk_inline(pgt, d->ipa, d->end, walk, map_visit_shared, d);
}

static s2_noinline int map_walk_excl(struct s2_pgtable *pgt, struct map_data *d,
				     unsigned walk)
{
	return s2_walk_inline(pgt, d->ipa, d->end, walk, map_visit_excl, d);
}

/* The largest leaf any chunk of this map can use. */
static uint64_t map_leaf_size(const struct s2_pgtable *pgt, uint64_t ipa, uint64_t size,
			      uint64_t pa, uint64_t max_size)
{
	int l;

	for (l = pgt->start_level; l < S2_LAST_LEVEL; l++) {
		uint64_t span = pgt_span(pgt, l);

		if (s2_lv(pgt, l)->block_ok && span <= max_size &&
		    !((ipa | pa | size) & (span - 1)))
			return span;
	}
	return pgt_span(pgt, S2_LAST_LEVEL);
}

static unsigned long tables_for(const struct s2_pgtable *pgt, uint64_t ipa,
				uint64_t size, uint64_t leaf)
{
	unsigned long n = 0;
	int l;

	/* one table at level l+1 per level-l entry the range touches */
	for (l = pgt->start_level; l < S2_LAST_LEVEL && pgt_span(pgt, l) > leaf; l++) {
		unsigned sh = pgt->shift[S2_LVL(l)];

		n += (unsigned long)(((ipa + size - 1) >> sh) - (ipa >> sh) + 1);
	}
	return n;
}

/* The smallest block the format and @max_size allow (~0: none). */
static uint64_t min_block(const struct s2_pgtable *pgt, uint64_t max_size)
{
	int l;

	for (l = S2_LAST_LEVEL - 1; l >= pgt->start_level; l--)
		if (s2_lv(pgt, l)->block_ok)
			return pgt_span(pgt, l) <= max_size ? pgt_span(pgt, l) : ~0ULL;
	return ~0ULL;
}

unsigned long s2_pgt_pages_needed(struct s2_pgtable *pgt, s2_gpa_t ipa, uint64_t size)
{
	if (!pgt_live(pgt) || check_range(pgt, ipa.v, size))
		return 0;
	return tables_for(pgt, ipa.v, size, pgt_span(pgt, S2_LAST_LEVEL));
}

uint64_t s2_pgt_max_block(const struct s2_pgtable *pgt, uint64_t max_size)
{
	int l;

	if (!max_size)
		max_size = ~0ULL;
	for (l = pgt->start_level; l < S2_LAST_LEVEL; l++)
		if (s2_lv(pgt, l)->block_ok && pgt_span(pgt, l) <= max_size)
			return pgt_span(pgt, l);
	return pgt_span(pgt, S2_LAST_LEVEL);
}

static s2_always_inline int map_checked(struct s2_pgtable *pgt, s2_gpa_t ipa, uint64_t size,
					 s2_hpa_t pa, unsigned prot, uint64_t max_size,
					 struct s2_memcache *mc, unsigned flags);

int s2_pgt_map(struct s2_pgtable *pgt, s2_gpa_t ipa, uint64_t size, s2_hpa_t pa,
	       unsigned prot, uint64_t max_size, struct s2_memcache *mc, unsigned flags)
{
	uint64_t leaf;
	int ret;

	if (!pgt_live(pgt) || !mc)
		return -S2_EINVAL;
	ret = check_range(pgt, ipa.v, size);
	if (ret)
		return ret;
	if (!prot_ok(prot) || (pa.v & ((1ULL << pgt->page_shift) - 1)) ||
	    (flags & ~S2_WALK_SHARED))
		return -S2_EINVAL;
	if (pa.v + size < pa.v || pa.v + size > (1ULL << pgt->oa_bits))
		return -S2_ERANGE;
	if (!max_size)
		max_size = ~0ULL;
	if (max_size < (1ULL << pgt->page_shift))
		return -S2_EINVAL;
	/*
	 * Refuse up front rather than half-way: the cache must hold every
	 * table the worst case could create, so a map that starts finishes
	 * and an -ENOMEM leaves the table as it was.
	 */
	if (size == (1ULL << pgt->page_shift)) {
		/* a fault: at most one new table per level, leaf at the last */
		if (mc->nr < (unsigned long)(S2_LAST_LEVEL - pgt->start_level))
			return -S2_ENOMEM;
	} else {
		leaf = map_leaf_size(pgt, ipa.v, size, pa.v, max_size);
		if (mc->nr < tables_for(pgt, ipa.v, size, leaf))
			return -S2_ENOMEM;
	}
	if (!(flags & S2_WALK_SHARED))
		return map_checked(pgt, ipa, size, pa, prot, max_size, mc, 0);
	walk_rcu_enter(pgt);
	ret = map_checked(pgt, ipa, size, pa, prot, max_size, mc, S2_WALK_SHARED);
	walk_rcu_exit(pgt);
	return ret;
}

/* s2_pgt_map once its arguments are checked (and, shared, inside RCU). */
static s2_always_inline int map_checked(struct s2_pgtable *pgt, s2_gpa_t ipa, uint64_t size,
					 s2_hpa_t pa, unsigned prot, uint64_t max_size,
					 struct s2_memcache *mc, unsigned flags)
{
	struct map_data d;
	unsigned walk;
	int ret;

	if (size == (1ULL << pgt->page_shift)) {
		/*
		 * A fault: if its last-level table exists, the only visit
		 * would be the LEAF visit of that entry, and a page always
		 * fits there; so install it directly (no walk context
		 * beyond the entry, no map_data).
		 */
		struct s2_walk_ctx c;
		struct refbatch rb = { NULL, 0 };

		c.ptep = s2_descend(pgt, ipa.v, &c.level, &c.old, NULL);
		if (c.level == S2_LAST_LEVEL) {
			c.pgt = pgt;
			c.addr = ipa.v;
			c.end = ipa.v + size;
			c.flags = S2_VISIT_LEAF | (flags & S2_WALK_SHARED);
			c.arg = NULL;
			if (flags & S2_WALK_SHARED) {
				/* parallel faults interleave here (map_visit) */
				S2_PREEMPT(pgt->plat, pgt->ctx, "map: entry read");
				ret = map_leaf(&c, pa.v, prot, &rb, true);
			} else {
				ret = map_leaf(&c, pa.v, prot, &rb, false);
			}
			ref_flush(pgt, &rb);
			return ret;
		}
	}
	d.ipa = ipa.v;
	d.end = ipa.v + size;
	d.pa = pa.v;
	d.max_size = max_size;
	d.prot = prot;
	d.mc = mc;
	d.rb.table = NULL;
	d.rb.n = 0;
	/* A table is only replaced by a block if the range holds a block. */
	walk = S2_VISIT_LEAF;
	if (size > (1ULL << pgt->page_shift) && size >= min_block(pgt, max_size))
		walk |= S2_VISIT_PRE;
	ret = (flags & S2_WALK_SHARED) ? map_walk_shared(pgt, &d, walk) :
					 map_walk_excl(pgt, &d, walk);
	ref_flush(pgt, &d.rb);
	return ret;
}

/* ---------------------------------------------------------------- unmap */

/*
 * Zero the valid leaf at @ptep, read earlier as @old; return its final
 * value.  With hardware-managed bits the exchange keeps an access or dirty
 * bit the hardware set since the entry was read.
 */
static s2_always_inline uint64_t take_leaf(struct s2_pgtable *pgt, uint64_t *ptep,
					   uint64_t old)
{
	if (pgt_hw_updates(pgt))
		return pte_xchg(pgt, ptep, 0);
	pte_store(pgt, ptep, 0);
	return old;
}

/* take_leaf for a walk that removes entries: also drops the table's count
 * and marks the level's table as one that may have emptied. */
static s2_always_inline uint64_t clear_leaf(struct s2_walk_ctx *c, struct refbatch *rb,
					    bool *dirty)
{
	struct s2_pgtable *pgt = c->pgt;
	uint64_t old = take_leaf(pgt, c->ptep, c->old);

	ref_entry(pgt, rb, c->ptep, c->level, -1);
	dirty[S2_LVL(c->level)] = true;
	return old;
}

/*
 * POST visit of a walk that removes entries: if this walk emptied the
 * child table (its count is back to the parent link alone), unlink it and
 * return it for the caller to invalidate and free; NULL otherwise.
 * @dirty[level] says an entry was removed from the table being walked at
 * that level: a table nothing was removed from cannot have become empty,
 * which spares reading its count.
 */
static s2_always_inline uint64_t *unlink_if_empty(struct s2_walk_ctx *c, struct refbatch *rb,
						  bool *dirty)
{
	struct s2_pgtable *pgt = c->pgt;
	uint64_t *child = lv_child(pgt, s2_lv(pgt, c->level), c->old);
	int count;

	if (!dirty[S2_LVL(c->level + 1)])
		return NULL;
	dirty[S2_LVL(c->level + 1)] = false;
	if (rb->table == child)
		count = ref_flush(pgt, rb);
	else
		count = ref_add(pgt, child, 0);
	if (count != 1)
		return NULL;
	pte_store(c->pgt, c->ptep, 0);
	ref_entry(pgt, rb, c->ptep, c->level, -1);
	dirty[S2_LVL(c->level)] = true;
	return child;
}

struct unmap_data {
	struct s2_tlb_batch g;
	struct refbatch rb;
	/* an entry was removed from the table being walked at this level;
	 * a table nothing was removed from cannot have become empty */
	bool dirty[S2_MAX_LEVELS + 1];
	bool rcu;		/* inside rcu_read_lock */
};

static s2_always_inline int unmap_visit(struct s2_walk_ctx *c, unsigned visit)
{
	struct unmap_data *d = c->arg;
	struct s2_pgtable *pgt = c->pgt;
	const struct s2_fmt_level *lv = s2_lv(pgt, c->level);
	uint64_t span = pgt_span(pgt, c->level), old;

	if (visit == S2_VISIT_LEAF) {
		/* A block only partly in the range goes whole: stage 2 is a
		 * cache of the host's mappings and the rest faults back. */
		if (!lv_valid(lv, c->old))
			return 0;
		old = clear_leaf(c, &d->rb, d->dirty);
		if ((pgt->flags & S2_PGT_NO_FWB) &&
		    S2_BUG(pgt->plat, pgt->ctx, cmo_before_tlbi)) {
			/* seed 004: cleaned while the TLB still lets the
			 * guest write, so a later write stays in the cache */
			cmo_unmapped(pgt, lv, old, span);
			gather_add(pgt, &d->g, c->addr, span, c->level, true);
			s2_pgt_tlb_flush(pgt, &d->g);
		} else if (pgt->flags & S2_PGT_NO_FWB) {
			gather_add(pgt, &d->g, c->addr, span, c->level, true);
			s2_pgt_tlb_flush(pgt, &d->g);
			cmo_unmapped(pgt, lv, old, span);
		} else {
			gather_add(pgt, &d->g, c->addr, span, c->level, true);
		}
		return 0;
	}
	/* POST: the child's entries are done; unlink it if it is empty. */
	{
		uint64_t *child = unlink_if_empty(c, &d->rb, d->dirty);

		if (!child)
			return 0;
		/* Walk caches may hold the table entry: non-leaf invalidation
		 * before the page can be freed (I3).  defer_table_tlbi: a
		 * leaf-only one, which leaves the walk caches pointing at it. */
		if (S2_BUG(pgt->plat, pgt->ctx, defer_table_tlbi))
			gather_add(pgt, &d->g, c->addr, span, c->level + 1, true);
		else
			gather_add(pgt, &d->g, c->addr, span, -1, false);
		/*
		 * Queued before the TLBI, yet safe: from the first table on,
		 * the walk holds an RCU read section that ends only after the
		 * gather is flushed, so no grace period started now can end
		 * while a walk cache may still point at the page.
		 */
		if (!d->rcu) {
			pgt->plat->rcu_read_lock(pgt->ctx);
			d->rcu = true;
		}
		defer_free_table(pgt, child, c->level + 1);
	}
	return 0;
}

static s2_noinline int unmap_walk(struct s2_pgtable *pgt, uint64_t ipa, uint64_t end,
				  struct unmap_data *d)
{
	return s2_walk_inline(pgt, ipa, end, S2_VISIT_LEAF | S2_VISIT_POST, unmap_visit, d);
}

static void unmap_data_init(struct unmap_data *d)
{
	s2_tlb_batch_init(&d->g);
	d->rb.table = NULL;
	d->rb.n = 0;
	for (unsigned i = 0; i < S2_MAX_LEVELS + 1; i++)
		d->dirty[i] = false;
	d->rcu = false;
}

/* The TLBI before any page the walk unlinked can be freed (see unmap_visit). */
static void unmap_data_finish(struct s2_pgtable *pgt, struct unmap_data *d)
{
	ref_flush(pgt, &d->rb);
	s2_pgt_tlb_flush(pgt, &d->g);
	if (d->rcu)
		pgt->plat->rcu_read_unlock(pgt->ctx);
}

/*
 * One last-level page, the per-page unmap of a fault-like caller (a vCPU
 * page reclaimed, a notifier for one page), is mostly a descent, one
 * store, one count drop and one single-entry TLBI; the walker's
 * bookkeeping (visits, reference batch, gather, post-order pass) would
 * double its cost.  So: descend keeping the path, remove the leaf, and
 * only when that emptied its table hand the path to the same POST visits
 * the walker makes (unlink, non-leaf TLBI, deferred free).  Blocks and
 * non-FWB tables (TLBI then clean, and the cmo_before_tlbi site) take the
 * walker, before anything has changed.
 */
static s2_always_inline int unmap_page(struct s2_pgtable *pgt, uint64_t addr)
{
	const int sl = pgt->start_level;
	uint64_t *path[S2_MAX_LEVELS];
	uint64_t *ptep, old;
	struct unmap_data d;
	struct s2_walk_ctx c;
	int level;

	ptep = s2_descend(pgt, addr, &level, &old, path);
	if (!lv_valid(s2_lv(pgt, level), old))
		return 0;
	if (level != S2_LAST_LEVEL || level == sl || (pgt->flags & S2_PGT_NO_FWB)) {
		unmap_data_init(&d);
		unmap_walk(pgt, addr, addr + pgt_span(pgt, S2_LAST_LEVEL), &d);
		unmap_data_finish(pgt, &d);
		return 0;
	}
	take_leaf(pgt, ptep, old);
	/* A count back at 1 (the parent's link alone) is an empty table. */
	if (ref_add(pgt, table_of(pgt, ptep), -1) != 1) {
		pgt->plat->tlbi_ipa(pgt->ctx, addr, level, S2_TLBI_LEAF);
		return 0;
	}
	unmap_data_init(&d);
	gather_add(pgt, &d.g, addr, pgt_span(pgt, level), level, true);
	d.dirty[S2_LVL(level)] = true;
	c.pgt = pgt;
	c.end = addr + pgt_span(pgt, level);
	c.flags = S2_VISIT_LEAF | S2_VISIT_POST;
	c.arg = &d;
	for (level--; level >= sl; level--) {
		c.ptep = path[level - sl];
		c.old = pte_load_acquire(pgt, c.ptep);
		c.addr = addr & ~(pgt_span(pgt, level) - 1);
		c.level = level;
		unmap_visit(&c, S2_VISIT_POST);
	}
	unmap_data_finish(pgt, &d);
	return 0;
}

int s2_pgt_unmap(struct s2_pgtable *pgt, s2_gpa_t ipa, uint64_t size)
{
	struct unmap_data d;
	int ret;

	if (!pgt_live(pgt))
		return -S2_EINVAL;
	ret = check_range(pgt, ipa.v, size);
	if (ret)
		return ret;
	if (size == pgt_span(pgt, S2_LAST_LEVEL))
		return unmap_page(pgt, ipa.v);
	unmap_data_init(&d);
	ret = unmap_walk(pgt, ipa.v, ipa.v + size, &d);
	unmap_data_finish(pgt, &d);
	return ret;
}

/* ----------------------------------------------------------- fast unmap */

/*
 * Output runs of leaves removed at the edges of a fast unmap, whose data
 * still has to be cleaned to PoC once the TLBI is done (non-FWB only).
 * Bounded: when it fills, the gather is flushed early and the runs
 * cleaned, one extra TLB operation per S2_FAST_CMO_MAX discontiguous runs.
 */
#define S2_FAST_CMO_MAX	32

struct fast_data {
	struct s2_tlb_batch *g;		/* the caller's for unmap_defer */
	struct refbatch rb;
	bool dirty[S2_MAX_LEVELS + 1];	/* as unmap_data.dirty */
	uint64_t start;
	struct s2_detached *det;
	unsigned ncmo;
	struct { uint64_t pa, size; } cmo[S2_FAST_CMO_MAX];
};

/*
 * After the TLBI: clean the data of every detached subtree (I8), then
 * hand each to the deferred-free hook, which frees it whole after the
 * grace period (free_subtree_cb) without anyone walking it under a lock.
 */
void s2_pgt_unmap_fast_finish(struct s2_pgtable *pgt, struct s2_detached *det)
{
	unsigned i;

	if (!pgt || !det)
		return;
	for (i = 0; i < det->nr; i++) {
		if (pgt->flags & S2_PGT_NO_FWB)
			cmo_subtree(pgt, det->table[i], det->level[i]);
		defer_free_table(pgt, det->table[i], det->level[i]);
	}
	det->nr = 0;
}

/* Complete everything queued so far: TLBI first, then the CMOs (I8). */
static void fast_drain(struct s2_pgtable *pgt, struct fast_data *d)
{
	unsigned i;

	s2_pgt_tlb_flush(pgt, d->g);
	for (i = 0; i < d->ncmo; i++)
		pgt->plat->dcache_clean_inval_poc(pgt->ctx, d->cmo[i].pa, d->cmo[i].size);
	d->ncmo = 0;
}

static void fast_detach(struct s2_pgtable *pgt, struct fast_data *d, uint64_t *table,
			int level)
{
	struct s2_detached *det = d->det;

	if (det->nr == S2_DETACHED_MAX) {
		/* The gather covers every entry broken so far, these
		 * subtrees' included: after the flush they are unreachable. */
		fast_drain(pgt, d);
		s2_pgt_unmap_fast_finish(pgt, det);
	}
	det->table[det->nr] = table;
	det->level[det->nr] = (signed char)level;
	det->nr++;
}

static s2_always_inline int fast_visit(struct s2_walk_ctx *c, unsigned visit)
{
	struct fast_data *d = c->arg;
	struct s2_pgtable *pgt = c->pgt;
	const struct s2_fmt_level *lv = s2_lv(pgt, c->level);
	uint64_t span = pgt_span(pgt, c->level), old;

	if (visit == S2_VISIT_PRE) {
		/*
		 * A table wholly inside the range goes with one break: its
		 * entries stay as they are, unreachable once the TLBI below
		 * (non-leaf: walk caches too) is done.  A table entry holds
		 * nothing the hardware updates that we need, so a plain store.
		 */
		if (c->addr < d->start || c->addr + span > c->end)
			return 0;
		pte_store(c->pgt, c->ptep, 0);
		ref_entry(pgt, &d->rb, c->ptep, c->level, -1);
		d->dirty[S2_LVL(c->level)] = true;
		gather_add(pgt, d->g, c->addr, span, -1, false);
		fast_detach(pgt, d, lv_child(pgt, lv, c->old), c->level + 1);
		return 0;
	}
	if (visit == S2_VISIT_LEAF) {
		/* The edges: leaves of tables the range covers only partly. */
		if (!lv_valid(lv, c->old))
			return 0;
		old = clear_leaf(c, &d->rb, d->dirty);
		gather_add(pgt, d->g, c->addr, span, c->level, true);
		if ((pgt->flags & S2_PGT_NO_FWB) && !(lv_prot(lv, old) & S2_PROT_DEVICE)) {
			uint64_t pa = lv_oa(pgt, lv, old);

			/* guest memory is usually contiguous: one run */
			if (d->ncmo && d->cmo[d->ncmo - 1].pa + d->cmo[d->ncmo - 1].size == pa) {
				d->cmo[d->ncmo - 1].size += span;
				return 0;
			}
			if (d->ncmo == S2_FAST_CMO_MAX)
				fast_drain(pgt, d);
			d->cmo[d->ncmo].pa = pa;
			d->cmo[d->ncmo].size = span;
			d->ncmo++;
		}
		return 0;
	}
	/* POST: a partly covered table left empty is unlinked like unmap's. */
	{
		uint64_t *child = unlink_if_empty(c, &d->rb, d->dirty);

		if (!child)
			return 0;
		gather_add(pgt, d->g, c->addr, span, -1, false);
		fast_detach(pgt, d, child, c->level + 1);
	}
	return 0;
}

static s2_noinline int fast_walk(struct s2_pgtable *pgt, uint64_t ipa, uint64_t end,
				 struct fast_data *d)
{
	return s2_walk_inline(pgt, ipa, end, S2_VISIT_LEAF | S2_VISIT_PRE | S2_VISIT_POST,
			      fast_visit, d);
}

static int fast_unmap(struct s2_pgtable *pgt, uint64_t ipa, uint64_t size,
		      struct s2_detached *det, struct s2_tlb_batch *tb)
{
	struct fast_data d;
	int ret;

	d.g = tb;
	d.rb.table = NULL;
	d.rb.n = 0;
	for (unsigned i = 0; i < S2_MAX_LEVELS + 1; i++)
		d.dirty[i] = false;
	d.start = ipa;
	d.det = det;
	d.ncmo = 0;
	ret = fast_walk(pgt, ipa, ipa + size, &d);
	ref_flush(pgt, &d.rb);
	/* Non-FWB: the edges' data is cleaned only after their invalidation,
	 * which therefore cannot wait for the caller. */
	if (d.ncmo)
		fast_drain(pgt, &d);
	return ret;
}

int s2_pgt_unmap_fast(struct s2_pgtable *pgt, s2_gpa_t ipa, uint64_t size,
		      struct s2_detached *det)
{
	struct s2_detached local;
	struct s2_tlb_batch g;
	int ret;

	if (!pgt_live(pgt))
		return -S2_EINVAL;
	ret = check_range(pgt, ipa.v, size);
	if (ret)
		return ret;
	local.nr = 0;
	s2_tlb_batch_init(&g);
	ret = fast_unmap(pgt, ipa.v, size, det ? det : &local, &g);
	/* One invalidation for the whole operation, before return (seed 004). */
	s2_pgt_tlb_flush(pgt, &g);
	if (!det)
		s2_pgt_unmap_fast_finish(pgt, &local);
	return ret;
}

int s2_pgt_unmap_defer(struct s2_pgtable *pgt, s2_gpa_t ipa, uint64_t size,
		       struct s2_detached *det, struct s2_tlb_batch *tb)
{
	int ret;

	if (!pgt_live(pgt) || !det || !tb)
		return -S2_EINVAL;
	ret = check_range(pgt, ipa.v, size);
	if (ret)
		return ret;
	ret = fast_unmap(pgt, ipa.v, size, det, tb);
	if (pgt->flags & S2_PGT_NO_FWB)
		s2_pgt_tlb_flush(pgt, tb);
	return ret;
}

/* ------------------------------------------------------------ wrprotect */

static s2_always_inline int wrprot_visit(struct s2_walk_ctx *c, unsigned visit)
{
	struct s2_tlb_batch *g = c->arg;
	const struct s2_fmt_level *lv = s2_lv(c->pgt, c->level);
	uint64_t new;

	(void)visit;
	if (!lv_leaf(lv, c->old) || !(c->old & (lv->w | lv->dbm)))
		return 0;
	/* DBM cleared too, or the hardware would make it writable again. */
	if (update_leaf(c, false, 0, lv->w | lv->dbm, &new))
		return 0;
	gather_add(c->pgt, g, c->addr, c->pgt->span[S2_LVL(c->level)], c->level, true);
	return 0;
}

static s2_noinline int wrprot_walk(struct s2_pgtable *pgt, uint64_t ipa, uint64_t end,
				   struct s2_tlb_batch *g)
{
	return s2_walk_inline(pgt, ipa, end, S2_VISIT_LEAF, wrprot_visit, g);
}

int s2_pgt_wrprotect(struct s2_pgtable *pgt, s2_gpa_t ipa, uint64_t size)
{
	struct s2_tlb_batch g;
	int ret;

	if (!pgt_live(pgt))
		return -S2_EINVAL;
	ret = check_range(pgt, ipa.v, size);
	if (ret)
		return ret;
	s2_tlb_batch_init(&g);
	ret = wrprot_walk(pgt, ipa.v, ipa.v + size, &g);
	/* Write permission removed: stale writable TLB entries must be gone
	 * before we return, or a guest write after a dirty-log harvest would
	 * go unrecorded (I7). */
	s2_pgt_tlb_flush(pgt, &g);
	return ret;
}

/* ---------------------------------------------------------------- young */

struct young_data {
	bool young;
	bool mkold;
};

static s2_always_inline int young_visit(struct s2_walk_ctx *c, unsigned visit, bool shared)
{
	struct young_data *d = c->arg;
	const struct s2_fmt_level *lv = s2_lv(c->pgt, c->level);
	uint64_t new;

	(void)visit;
	if (!lv_leaf(lv, c->old))
		return 0;
	/*
	 * A format without an access flag (EPT with A/D disabled) cannot
	 * age: every valid leaf counts as young and there is nothing to
	 * clear, as KVM's is_accessed_spte() answers for such entries.
	 * Claiming "old" instead would let reclaim evict pages in use.
	 */
	if (!lv->af) {
		d->young = true;
		return 0;
	}
	if (!(c->old & lv->af))
		return 0;
	d->young = true;
	if (d->mkold)
		update_leaf(c, shared, 0, lv->af, &new);
	return 0;
}

static s2_always_inline int young_visit_excl(struct s2_walk_ctx *c, unsigned visit)
{
	return young_visit(c, visit, false);
}

static s2_always_inline int young_visit_shared(struct s2_walk_ctx *c, unsigned visit)
{
	return young_visit(c, visit, true);
}

static s2_noinline int young_walk_excl(struct s2_pgtable *pgt, uint64_t ipa, uint64_t end,
				       struct young_data *d)
{
	return s2_walk_inline(pgt, ipa, end, S2_VISIT_LEAF, young_visit_excl, d);
}

static s2_noinline int young_walk_shared(struct s2_pgtable *pgt, uint64_t ipa,
					 uint64_t end, struct young_data *d)
{
	return s2_walk_inline(pgt, ipa, end, S2_VISIT_LEAF, young_visit_shared, d);
}

int s2_pgt_test_clear_young(struct s2_pgtable *pgt, s2_gpa_t ipa, uint64_t size,
			    bool mkold, unsigned flags)
{
	struct young_data d = { false, mkold };
	int ret;

	if (!pgt_live(pgt) || (flags & ~S2_WALK_SHARED))
		return -S2_EINVAL;
	ret = check_range(pgt, ipa.v, size);
	if (ret)
		return ret;
	if (flags & S2_WALK_SHARED) {
		walk_rcu_enter(pgt);
		young_walk_shared(pgt, ipa.v, ipa.v + size, &d);
		walk_rcu_exit(pgt);
	} else
		young_walk_excl(pgt, ipa.v, ipa.v + size, &d);
	return d.young;
}

/* ------------------------------------------------- relax and mkyoung */

/*
 * One page's leaf, the fault path's relax and access-flag update: a
 * descent and one update, written out rather than run through a visitor
 * so that nothing but the entry's own compare-and-exchange is stored on
 * the way (a locked update waits for earlier stores to drain).  Inlined
 * into each caller with @young and @shared constant.  On success
 * *@changed says whether the TLB may hold the entry with fewer rights
 * than it now has, at *@level / *@addr.
 */
static s2_always_inline int attr_page(struct s2_pgtable *pgt, uint64_t ipa, unsigned prot,
				      bool young, bool shared, int *level, uint64_t *addr,
				      bool *changed)
{
	const struct s2_fmt_level *lv;
	uint64_t a = ipa & ~((1ULL << pgt->page_shift) - 1);
	uint64_t set = 0, clear = 0, new;
	struct s2_walk_ctx c;
	int ret;

	if (ipa >= (1ULL << pgt->ia_bits))
		return -S2_ERANGE;
	c.pgt = pgt;
	c.ptep = s2_descend(pgt, a, &c.level, &c.old, NULL);
	lv = s2_lv(pgt, c.level);
	if (!lv_valid(lv, c.old))
		return (c.old & lv->locked) ? -S2_EAGAIN : -S2_ENOENT;
	if (prot & S2_PROT_R)
		set |= lv->r;
	if (prot & S2_PROT_W)
		set |= lv->w;
	if (prot & S2_PROT_X) {
		set |= lv->x_on;
		clear |= lv->x_off;
	}
	if (young)
		set |= lv->af;
	/* I11: the instruction cache before the entry that lets the guest
	 * fetch from the page */
	if ((prot & S2_PROT_X) && !(lv_prot(lv, c.old) & S2_PROT_X))
		icache_exec_added(pgt, lv_oa(pgt, lv, c.old), pgt_span(pgt, c.level));
	ret = update_leaf(&c, shared, set, clear, &new);
	if (ret)
		return ret;
	*changed = new != c.old || (prot && (lv_prot(lv, c.old) & prot) != prot);
	*level = c.level;
	*addr = a & ~(pgt_span(pgt, c.level) - 1);
	return 0;
}

/* One function per walk mode, so neither carries the other's registers. */
static s2_always_inline int relax_page(struct s2_pgtable *pgt, uint64_t ipa, unsigned prot,
				       bool shared)
{
	uint64_t addr;
	bool changed;
	int ret, level;

	ret = attr_page(pgt, ipa, prot, false, shared, &level, &addr, &changed);
	/*
	 * The TLB may hold the entry with its old permissions (entries that
	 * cause permission faults can be cached): invalidate it locally so
	 * the vCPU does not fault again, as KVM does.
	 */
	if (!ret && changed)
		pgt->plat->tlbi_ipa(pgt->ctx, addr, level, S2_TLBI_LEAF | S2_TLBI_LOCAL);
	return ret;
}

static s2_noinline int relax_shared(struct s2_pgtable *pgt, uint64_t ipa, unsigned prot)
{
	int ret;

	walk_rcu_enter(pgt);
	ret = relax_page(pgt, ipa, prot, true);
	walk_rcu_exit(pgt);
	return ret;
}

static s2_noinline int relax_excl(struct s2_pgtable *pgt, uint64_t ipa, unsigned prot)
{
	return relax_page(pgt, ipa, prot, false);
}

int s2_pgt_relax_perms(struct s2_pgtable *pgt, s2_gpa_t ipa, unsigned prot,
		       unsigned flags)
{
	if (!pgt_live(pgt) || !prot || (prot & ~S2_PROT_RWX) || (flags & ~S2_WALK_SHARED))
		return -S2_EINVAL;
	if (flags & S2_WALK_SHARED)
		return relax_shared(pgt, ipa.v, prot);
	return relax_excl(pgt, ipa.v, prot);
}

int s2_pgt_mkyoung(struct s2_pgtable *pgt, s2_gpa_t ipa, unsigned flags)
{
	uint64_t addr;
	bool changed;
	int level;

	if (!pgt_live(pgt) || (flags & ~S2_WALK_SHARED))
		return -S2_EINVAL;
	/* No TLBI: an entry with AF clear faults and is never cached. */
	if (flags & S2_WALK_SHARED) {
		int ret;

		walk_rcu_enter(pgt);
		ret = attr_page(pgt, ipa.v, 0, true, true, &level, &addr, &changed);
		walk_rcu_exit(pgt);
		return ret;
	}
	return attr_page(pgt, ipa.v, 0, true, false, &level, &addr, &changed);
}

/* ---------------------------------------------------------------- split */

struct split_data {
	uint64_t target;
	struct s2_memcache *mc;
};

static s2_always_inline int split_visit(struct s2_walk_ctx *c, unsigned visit, bool shared)
{
	struct split_data *d = c->arg;
	struct s2_pgtable *pgt = c->pgt;
	const struct s2_fmt_level *lv = s2_lv(pgt, c->level), *clv;
	uint64_t old, tmpl, pa, cspan, *child;
	unsigned i, n;

	(void)visit;
	if (c->level == S2_LAST_LEVEL || !lv_leaf(lv, c->old) ||
	    pgt_span(pgt, c->level) <= d->target)
		return 0;
	child = mc_take(d->mc);
	if (!child)
		return -S2_ENOMEM;
	/*
	 * Break first, fill after: the child is built from the final value
	 * of the block, so an access or dirty bit the hardware set up to the
	 * break is carried into every small entry.
	 */
	if (S2_BUG(pgt->plat, pgt->ctx, split_no_bbm)) {
		old = c->old;	/* the table written over the live block */
	} else {
		if (!break_pte(c, shared, &old)) {
			mc_put(d->mc, child);
			return -S2_EAGAIN;
		}
		pgt->plat->tlbi_ipa(pgt->ctx, c->addr, c->level, S2_TLBI_LEAF);
	}
	clv = s2_lv(pgt, c->level + 1);
	cspan = pgt_span(pgt, c->level + 1);
	pa = lv_oa(pgt, lv, old);
	tmpl = lv_leaf_template(clv, lv_prot(lv, old), old & lv->af) |
	       (((old & lv->sw_mask) >> lv->sw_pos) << clv->sw_pos);
	if (old & lv->dbm)
		tmpl |= clv->dbm;
	if (old & lv->dirty)
		tmpl |= clv->dirty;
	n = 1U << pgt->fmt.bits_per_level;
	for (i = 0; i < n; i++)
		child[i] = tmpl | lv_oa_bits(pgt, clv, pa + i * cspan);
	ref_add(pgt, child, (int)n);
	tables_add(pgt, 1);
	pte_store_release(c->pgt, c->ptep, lv_mk_table(pgt, lv, child));
	return 0;
}

static s2_always_inline int split_visit_excl(struct s2_walk_ctx *c, unsigned visit)
{
	return split_visit(c, visit, false);
}

static s2_always_inline int split_visit_shared(struct s2_walk_ctx *c, unsigned visit)
{
	return split_visit(c, visit, true);
}

int s2_pgt_split(struct s2_pgtable *pgt, s2_gpa_t ipa, uint64_t size,
		 uint64_t target_size, struct s2_memcache *mc, unsigned flags)
{
	struct split_data d = { target_size, mc };
	int ret;

	if (!pgt_live(pgt) || !mc || (flags & ~S2_WALK_SHARED))
		return -S2_EINVAL;
	ret = check_range(pgt, ipa.v, size);
	if (ret)
		return ret;
	if (target_size < (1ULL << pgt->page_shift) || (target_size & (target_size - 1)))
		return -S2_EINVAL;
	if (flags & S2_WALK_SHARED) {
		walk_rcu_enter(pgt);
		ret = s2_walk_inline(pgt, ipa.v, ipa.v + size, S2_VISIT_LEAF,
				     split_visit_shared, &d);
		walk_rcu_exit(pgt);
		return ret;
	}
	return s2_walk_inline(pgt, ipa.v, ipa.v + size, S2_VISIT_LEAF, split_visit_excl, &d);
}

/* --------------------------------------------------------------- lookup */

void s2_pte_decode(const struct s2_pgtable *pgt, uint64_t pte, int level,
		   struct s2_mapping *out)
{
	const struct s2_fmt_level *lv = s2_lv(pgt, level);

	*out = (struct s2_mapping){ .level = level, .raw = pte,
				    .size = pgt_span(pgt, level) };
	if (!lv_leaf(lv, pte))
		return;
	out->valid = true;
	out->pa = s2_hpa(lv_oa(pgt, lv, pte));
	out->prot = lv_prot(lv, pte);
	out->young = !lv->af || (pte & lv->af);	/* no flag: young (young_visit) */
	out->dirty = (lv->dirty && (pte & lv->dirty)) ||
		     (lv->dbm && (pte & lv->dbm) && (pte & lv->w));
	out->hw_dirty_ok = lv->dbm && (pte & lv->dbm);
	out->sw = (unsigned)((pte & lv->sw_mask) >> lv->sw_pos);
}

bool s2_pte_valid(const struct s2_pgtable *pgt, uint64_t pte, int level)
{
	return lv_valid(s2_lv(pgt, level), pte);
}

bool s2_pte_table(const struct s2_pgtable *pgt, uint64_t pte, int level)
{
	return lv_table(s2_lv(pgt, level), pte);
}

int s2_pgt_lookup(struct s2_pgtable *pgt, s2_gpa_t ipa, struct s2_mapping *out)
{
	uint64_t pte;
	int level;

	if (!pgt_live(pgt) || !out)
		return -S2_EINVAL;
	if (ipa.v >= (1ULL << pgt->ia_bits))
		return -S2_ERANGE;
	/* a lookup may run beside shared walks: inside RCU like them */
	walk_rcu_enter(pgt);
	s2_descend(pgt, ipa.v, &level, &pte, NULL);
	walk_rcu_exit(pgt);
	s2_pte_decode(pgt, pte, level, out);
	out->ipa = s2_gpa(ipa.v & ~(out->size - 1));
	return 0;
}

/* ---------------------------------------------------------- public walk */

struct user_walk {
	s2_visitor_fn fn;
	void *arg;
};

static int user_visit(struct s2_walk_ctx *c, unsigned visit)
{
	struct user_walk *u = c->arg;
	int ret;

	c->arg = u->arg;
	ret = u->fn(c, visit);
	c->arg = u;
	return ret;
}

int s2_pgt_walk(struct s2_pgtable *pgt, uint64_t addr, uint64_t size,
		s2_visitor_fn fn, void *arg, unsigned flags)
{
	struct user_walk u = { fn, arg };
	int ret;

	if (!pgt_live(pgt) || !fn)
		return -S2_EINVAL;
	ret = check_range(pgt, addr, size);
	if (ret)
		return ret;
	return s2_walk_inline(pgt, addr, addr + size, flags, user_visit, &u);
}

/* ------------------------------------------------------ init / destroy */

static bool plat_ok(const struct s2_platform *p, unsigned flags)
{
	if (!p || !p->alloc_page || !p->free_page || !p->alloc_pages_exact ||
	    !p->free_pages_exact || !p->page_ref_add || !p->defer_free ||
	    !p->defer_barrier || !p->tlbi_ipa || !p->tlbi_range || !p->tlbi_vm ||
	    !p->rcu_read_lock || !p->rcu_read_unlock)
		return false;
	if (!p->linear && (!p->virt_to_phys || !p->phys_to_virt))
		return false;
	if ((flags & S2_PGT_NO_FWB) && !p->dcache_clean_inval_poc)
		return false;
	/* I11: executable mappings need it, FWB or not, unless DIC */
	if (!p->icache_dic && !p->icache_inval_pou)
		return false;
	return true;
}

int s2_pgt_init(struct s2_pgtable *pgt, const struct s2_pgt_cfg *cfg)
{
	struct s2_pgt_cfg c;
	int sl, l, ret;
	unsigned entries;

	if (!pgt || !cfg)
		return -S2_EINVAL;
	c = *cfg;
	if (!c.oa_bits)
		c.oa_bits = 48;
	if (c.oa_bits < 32 || c.oa_bits > 48 ||
	    (c.flags & ~(S2_PGT_NO_FWB | S2_PGT_HW_AF | S2_PGT_HW_DBM | S2_PGT_EPT_AD)) ||
	    !plat_ok(c.plat, c.flags))
		return -S2_EINVAL;
	*pgt = (struct s2_pgtable){ 0 };
	switch (c.format) {
	case S2_FMT_ARM64:
		ret = s2_format_arm64(&pgt->fmt, &c, &sl, &entries);
		break;
	case S2_FMT_TEST:
		ret = s2_format_test(&pgt->fmt, &c, &sl, &entries);
		break;
	case S2_FMT_EPT:
		ret = s2_format_ept(&pgt->fmt, &c, &sl, &entries);
		break;
	default:
		ret = -S2_EINVAL;
	}
	if (ret)
		return ret;
	pgt->ia_bits = c.ia_bits;
	pgt->oa_bits = c.oa_bits;
	pgt->page_shift = pgt->fmt.page_shift;
	pgt->start_level = sl;
	pgt->root_entries = entries;
	pgt->flags = c.flags;
	pgt->tlbi_vm_threshold = S2_TLBI_VM_THRESHOLD;
	pgt->plat = c.plat;
	pgt->ctx = c.plat_ctx;
	pgt->child_direct = c.plat->linear;
	pgt->child_va_offset = (uint64_t)c.plat->linear_offset;
	for (l = sl; l <= S2_LAST_LEVEL; l++) {
		pgt->shift[S2_LVL(l)] = s2_level_shift(pgt->page_shift, l);
		pgt->span[S2_LVL(l)] = 1ULL << pgt->shift[S2_LVL(l)];
		if (l < S2_LAST_LEVEL && s2_lv(pgt, l)->tbl_pos != pgt->page_shift)
			pgt->child_direct = false;
	}
	/* The root is at least one granule, aligned to its whole size. */
	pgt->root_size = (size_t)entries * 8;
	if (pgt->root_size < (1UL << pgt->page_shift))
		pgt->root_size = 1UL << pgt->page_shift;
	pgt->root = pgt->plat->alloc_pages_exact(pgt->ctx, pgt->root_size);
	if (!pgt->root)
		return -S2_ENOMEM;
	pgt->root_pa = pgt_pa(pgt, pgt->root);
	return 0;
}

void s2_pgt_destroy(struct s2_pgtable *pgt)
{
	const struct s2_fmt_level *lv;
	unsigned i;

	if (!pgt_live(pgt))
		return;
	/* Deferred frees still point at this table's owner and geometry. */
	pgt->plat->defer_barrier(pgt->ctx);
	lv = s2_lv(pgt, pgt->start_level);
	for (i = 0; i < pgt->root_entries; i++) {
		uint64_t pte = pte_load_private(&pgt->root[i]);

		if (lv_table(lv, pte))
			free_subtree_now(pgt, lv_child(pgt, lv, pte), pgt->start_level + 1);
	}
	pgt->plat->free_pages_exact(pgt->ctx, pgt->root, pgt->root_size);
	pgt->root = NULL;
}

/* --------------------------------------------------------------- caches */

int s2_memcache_topup(struct s2_pgtable *pgt, struct s2_memcache *mc, unsigned long min)
{
	if (!pgt_live(pgt) || !mc)
		return -S2_EINVAL;
	while (mc->nr < min) {
		void *p = pgt->plat->alloc_page(pgt->ctx, pgt->page_shift);

		if (!p)
			return -S2_ENOMEM;
		mc_put(mc, p);
	}
	return 0;
}

void s2_memcache_free(struct s2_pgtable *pgt, struct s2_memcache *mc)
{
	void *p;

	if (!pgt || !mc)
		return;
	while ((p = mc_take(mc)))
		pgt->plat->free_page(pgt->ctx, p, pgt->page_shift);
}
