/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Map: install leaves of the largest size the alignment allows, creating
 * tables from the caller's page cache, replacing a table by a block or a
 * block by a table with break-before-make.
 */
#include "internal.h"

struct map_data {
	uint64_t ipa, end, pa;
	uint64_t max_size;
	unsigned prot;
	struct s2_memcache *mc;
	struct refbatch rb;
	/* each level's leaf template for @prot, made once per map rather
	 * than once per leaf: the range loop then keeps only the output
	 * address to compute (and the registers it would spend on the
	 * format's level descriptor) */
	uint64_t tmpl[S2_MAX_LEVELS];
	bool cmo;
};

static s2_always_inline bool map_fits(const struct s2_walk_ctx *c, const struct map_data *d)
{
	const struct s2_pgtable *pgt = c->pgt;
	uint64_t span = pgt_span(pgt, c->level);

	/*
	 * A page always fits: the walk visits only entries that overlap the
	 * range, whose ends and output s2_pgt_map has checked page-aligned,
	 * and @max_size is at least a page.  Said first, so that the
	 * last-level loop (the level a constant there) tests nothing.
	 */
	if (c->level == S2_LAST_LEVEL)
		return true;
	if (!s2_lv(pgt, c->level)->block_ok)
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

	if (S2_BUG_INJECTED(pgt->plat, pgt->ctx, collapse_no_bbm)) {
		/* "Fix handling of merging tables into a block entry": the
		 * block written over the live table, no break, no TLBI */
		old = c->old;
	} else {
		if (!break_pte(c, shared, &old))
			return -S2_EAGAIN;
		/* A table entry: no level hint, walk caches included (KVM bug
		 * "Don't defer TLB invalidation when zapping table entries"). */
		pgt->plat->tlbi_range(pgt->ctx, s2_gpa(c->addr), span, -1);
	}
	if (pgt->flags & S2_PGT_NO_FWB)
		s2pgt_cmo_subtree(pgt, child, c->level + 1);
	s2pgt_defer_free_table(pgt, child, c->level + 1);
	cmo_map(pgt, pa, span, d->prot);
	pte_store_release(c->pgt, c->ptep,
			  lv_leaf_template(lv, d->prot, true) | lv_oa_bits(pgt, lv, pa));
	return 0;
}

/* Install a leaf of output @pa at @c's entry; its table's count in @rb.
 * @tmpl: lv_leaf_template(@c's level, @prot, young); @cmo:
 * cmo_map_needed(@prot), made once per map like @tmpl. */
static s2_always_inline int map_leaf(struct s2_walk_ctx *c, uint64_t pa, unsigned prot,
				    uint64_t tmpl, bool cmo, struct refbatch *rb, bool shared,
				    enum addr_shape k)
{
	struct s2_pgtable *pgt = c->pgt;
	const struct s2_fmt_level *lv = s2_lv(pgt, c->level);
	uint64_t span = pgt_span(pgt, c->level);
	uint64_t new = tmpl | lv_oa_bits_k(pgt, lv, pa, k);
	uint64_t old = c->old;

	if (!lv_valid(lv, old)) {
		if (shared && (old & lv->locked))
			return -S2_EAGAIN;
		if (cmo)
			cmo_map(pgt, pa, span, prot);
		if (shared && !S2_BUG_INJECTED(pgt->plat, pgt->ctx, shared_plain_store)) {
			if (!pte_cmpxchg(c->pgt, c->ptep, &old, new))
				return -S2_EAGAIN;
		} else {
			pte_store_release(c->pgt, c->ptep, new);
		}
		ref_entry(pgt, rb, c->ptep, c->level, 1);
		return 0;
	}
	if (lv_oa_k(pgt, lv, old, k) == pa) {
		/* Same output and size: at most a change of attributes. */
		uint64_t keep = lv->af | lv->sw_mask | lv->dirty;

		if ((old & ~keep) == (new & ~keep)) {
			/* "Fix memory leak on stage2 update of a valid PTE":
			 * a reference taken for an entry that already had one */
			if (S2_BUG_INJECTED(pgt->plat, pgt->ctx, double_get_leak))
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
		    S2_BUG_INJECTED(pgt->plat, pgt->ctx, memtype_no_bbm)) {
			if (lv_prot(lv, old) & ~prot & S2_PROT_RWX) {
				/* removing permissions: the old ones must
				 * leave the TLB */
				uint64_t fin;

				break_pte(c, false, &fin);
				pgt->plat->tlbi_ipa(pgt->ctx, s2_gpa(c->addr), c->level, S2_TLBI_LEAF);
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
	pgt->plat->tlbi_ipa(pgt->ctx, s2_gpa(c->addr), c->level, S2_TLBI_LEAF);
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
		if (S2_BUG_INJECTED(pgt->plat, pgt->ctx, split_no_bbm)) {
			fin = old;
		} else {
			if (!break_pte(c, shared, &fin)) {
				mc_put(d->mc, child);
				return -S2_EAGAIN;
			}
			pgt->plat->tlbi_ipa(pgt->ctx, s2_gpa(c->addr), c->level, S2_TLBI_LEAF);
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
	if (shared && !S2_BUG_INJECTED(pgt->plat, pgt->ctx, shared_plain_store)) {
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

/*
 * An exclusive range map's visit of a run of last-level entries (the
 * walk's S2_WALK_RUN, asked for only when the map needs no cache
 * maintenance per page): an invalid entry, every entry of a table the
 * map just created, takes its store and nothing else, and the run's
 * table one reference update; any other entry takes map_leaf, exactly
 * as an entry-by-entry visit would.  Per page over fresh tables this
 * was 62 instructions, most of them the visit's bookkeeping (callgrind,
 * three 1 GiB maps), against one store.  Exclusive only: under mmu_lock
 * held for write no shared walker leaves a locked entry to step around
 * and no fault races the store.
 */
static s2_always_inline int map_run(struct s2_walk_ctx *c, struct map_data *d,
				    enum addr_shape k)
{
	struct s2_pgtable *pgt = c->pgt;
	const struct s2_fmt_level *lv = s2_lv(pgt, S2_LAST_LEVEL);
	const uint64_t tmpl = d->tmpl[S2_LVL(S2_LAST_LEVEL)];
	const uint64_t span = pgt_span(pgt, S2_LAST_LEVEL);
	uint64_t *const first = c->ptep, *const stop = first + c->old;
	uint64_t addr = c->addr, pa = d->pa + (addr - d->ipa);
	int added = 0, ret = 0;

	for (uint64_t *ptep = first; ptep < stop; ptep++, addr += span, pa += span) {
		uint64_t old = pte_load(pgt, ptep);

		if (s2_likely(!lv_valid(lv, old))) {
			pte_store_release(pgt, ptep, tmpl | lv_oa_bits_k(pgt, lv, pa, k));
			added++;
			continue;
		}
		c->ptep = ptep;
		c->old = old;
		c->addr = addr;
		ret = map_leaf(c, pa, d->prot, tmpl, false, &d->rb, false, k);
		if (ret)
			break;
	}
	if (added)
		ref_entry(pgt, &d->rb, first, S2_LAST_LEVEL, added);
	return ret;
}

static s2_always_inline int map_visit(struct s2_walk_ctx *c, unsigned visit, bool shared,
				     enum addr_shape k)
{
	struct map_data *d = c->arg;
	bool fits;

	if (!shared && visit == S2_WALK_RUN)
		return map_run(c, d, k);
	fits = map_fits(c, d);

	/* parallel faults interleave between reading and installing */
	if (shared)
		S2_PREEMPT(c->pgt->plat, c->pgt->ctx, "map: entry read");

	if (visit == S2_WALK_TABLE_PRE)
		return fits ? map_collapse(c, d, shared) : 0;
	if (fits)
		return map_leaf(c, d->pa + (c->addr - d->ipa), d->prot,
				d->tmpl[S2_LVL(c->level)], d->cmo, &d->rb, shared, k);
	return map_new_table(c, d, shared);
}

static s2_always_inline int map_visit_shared(struct s2_walk_ctx *c, unsigned visit)
{
	return map_visit(c, visit, true, ADDR_ANY);
}

/* The range map's walk, once per address shape (entry.h, addr_shape). */
static s2_always_inline int map_visit_excl(struct s2_walk_ctx *c, unsigned visit)
{
	return map_visit(c, visit, false, ADDR_CONTIG);
}

static s2_always_inline int map_visit_excl_split(struct s2_walk_ctx *c, unsigned visit)
{
	return map_visit(c, visit, false, ADDR_SPLIT);
}

static s2_noinline int map_walk_shared(struct s2_pgtable *pgt, struct map_data *d,
				       unsigned walk)
{
	return s2_walk_inline(pgt, d->ipa, d->end, walk, map_visit_shared, d);
}

static s2_noinline int map_walk_excl(struct s2_pgtable *pgt, struct map_data *d,
				     unsigned walk)
{
	if (s2_unlikely(pgt->fmt.addr_split))
		return s2_walk_inline(pgt, d->ipa, d->end, walk, map_visit_excl_split, d);
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
	if (!prot_ok(pgt, prot) || (pa.v & ((1ULL << pgt->page_shift) - 1)) ||
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

/*
 * The level at which [@ipa, @ipa + @size), larger than a page, is exactly
 * one entry holding a block of output @pa that map_fits would accept, or
 * -1: where the format allows a block there, @max_size covers it and both
 * addresses are aligned to it.  (A page is the last level; map_checked
 * passes that as a constant.)
 */
static s2_always_inline int map_entry_level(const struct s2_pgtable *pgt, uint64_t ipa,
					    uint64_t size, uint64_t pa, uint64_t max_size)
{
	int l;

	if (size > max_size || ((ipa | pa) & (size - 1)))
		return -1;
	for (l = S2_LAST_LEVEL - 1; l >= pgt->start_level; l--)
		if (pgt_span(pgt, l) == size)
			return s2_lv(pgt, l)->block_ok ? l : -1;
	return -1;
}

/* map_entry's answer when the range walk must do the map */
#define MAP_ENTRY_WALK	1

/*
 * A map of one entry's worth at @level (-1: none), a fault of a page or
 * of a block: if the entry that would hold the leaf exists and is no
 * table, the only visit the walk would make is the LEAF visit of that
 * entry, and the leaf fits there; so the iterator stops there and the
 * leaf is installed with the walker's own map_leaf (no range walk, no
 * map_data).  A missing table, or a table where the block goes (a
 * collapse), takes the walk.  Return: map_leaf's, or MAP_ENTRY_WALK.
 */
static s2_always_inline int map_entry(struct s2_pgtable *pgt, uint64_t ipa, uint64_t size,
				      uint64_t pa, unsigned prot, unsigned flags, int level)
{
	struct s2_walk_ctx c;
	struct refbatch rb = { NULL, 0 };
	struct s2_iter it;
	uint64_t pte, tmpl;
	int ret;

	if (level < 0)
		return MAP_ENTRY_WALK;
	iter_start(&it, pgt, ipa);
	pte = iter_descend(&it, pgt, ipa, NULL);
	if (it.level != level)
		return MAP_ENTRY_WALK;
	c.pgt = pgt;
	iter_ctx(&it, &c, ipa, pte);
	c.end = ipa + size;
	c.flags = S2_WALK_LEAF | (flags & S2_WALK_SHARED);
	c.arg = NULL;
	tmpl = lv_leaf_template(s2_lv(pgt, level), prot, true);
	if (flags & S2_WALK_SHARED) {
		/* parallel faults interleave here (map_visit) */
		S2_PREEMPT(pgt->plat, pgt->ctx, "map: entry read");
		ret = map_leaf(&c, pa, prot, tmpl, cmo_map_needed(pgt, prot), &rb, true,
			       ADDR_ANY);
	} else {
		ret = map_leaf(&c, pa, prot, tmpl, cmo_map_needed(pgt, prot), &rb, false,
			       ADDR_ANY);
	}
	ref_flush(pgt, &rb);
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

	/* a fault: a page (the level a constant), or a block */
	if (size == (1ULL << pgt->page_shift))
		ret = map_entry(pgt, ipa.v, size, pa.v, prot, flags, S2_LAST_LEVEL);
	else
		ret = map_entry(pgt, ipa.v, size, pa.v, prot, flags,
				map_entry_level(pgt, ipa.v, size, pa.v, max_size));
	if (ret != MAP_ENTRY_WALK)
		return ret;
	d.ipa = ipa.v;
	d.end = ipa.v + size;
	d.pa = pa.v;
	d.max_size = max_size;
	d.prot = prot;
	d.mc = mc;
	d.rb.table = NULL;
	d.rb.n = 0;
	for (int l = pgt->start_level; l <= S2_LAST_LEVEL; l++)
		d.tmpl[S2_LVL(l)] = lv_leaf_template(s2_lv(pgt, l), prot, true);
	d.cmo = cmo_map_needed(pgt, prot);
	/* A table is only replaced by a block if the range holds a block. */
	walk = S2_WALK_LEAF;
	if (size > (1ULL << pgt->page_shift) && size >= min_block(pgt, max_size))
		walk |= S2_WALK_TABLE_PRE;
	if (!(flags & S2_WALK_SHARED) && !d.cmo)
		walk |= S2_WALK_RUN;
	ret = (flags & S2_WALK_SHARED) ? map_walk_shared(pgt, &d, walk) :
					 map_walk_excl(pgt, &d, walk);
	ref_flush(pgt, &d.rb);
	return ret;
}
