/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Entries and the pages that hold them: decode and encode through the
 * format's data, the accessors every live entry goes through, the first
 * half of break-before-make, in-place leaf updates, and table-page
 * reference counts.  All inline: each operation's walk is specialised on
 * its visitor, and its entry accesses with it.
 */
#ifndef S2_PGTABLE_ENTRY_H
#define S2_PGTABLE_ENTRY_H

#include <s2mmu/pgtable.h>
#include <s2mmu/check.h>
#include "../format/format_impl.h"

static s2_always_inline const struct s2_fmt_level *
s2_lv(const struct s2_pgtable *pgt, int level)
{
	return &pgt->fmt.lv[S2_LVL(level)];
}

static s2_always_inline bool lv_valid(const struct s2_fmt_level *lv, uint64_t pte)
{
	return (pte & lv->valid_mask) != 0;
}

static s2_always_inline bool lv_table(const struct s2_fmt_level *lv, uint64_t pte)
{
	return lv_valid(lv, pte) && (pte & lv->type_mask) == lv->table_val;
}

static s2_always_inline bool lv_leaf(const struct s2_fmt_level *lv, uint64_t pte)
{
	return lv_valid(lv, pte) && (pte & lv->type_mask) != lv->table_val;
}

static s2_always_inline uint64_t pgt_pa(const struct s2_pgtable *pgt, void *va)
{
	if (s2_likely(pgt->plat->linear))
		return (uint64_t)(uintptr_t)va + (uint64_t)pgt->plat->linear_offset;
	return pgt->plat->virt_to_phys(pgt->ctx, va).v;
}

static s2_always_inline void *pgt_va(const struct s2_pgtable *pgt, uint64_t pa)
{
	if (s2_likely(pgt->plat->linear))
		return (void *)(uintptr_t)(pa - (uint64_t)pgt->plat->linear_offset);
	return pgt->plat->phys_to_virt(pgt->ctx, s2_hpa(pa));
}

/*
 * Address fields.  A field of one in-place-shiftable piece (every 48-bit
 * arm64 configuration, EPT) is decoded with the derived oa_mask/oa_pos
 * or tbl_mask/tbl_pos; a split one (FEAT_LPA, FEAT_LPA2, the test format)
 * piece by piece, all S2_ADDR_PIECES of them, unused ones being mask 0.
 * lv->split is decided once at init (format.h), so the test is the same
 * way every time on a given table.
 */
/*
 * Out of line (pgtable.c): inlined, the three-piece loops cost the
 * contiguous path registers and spills in the hot walks even where the
 * branch never takes them.
 */
uint64_t s2pgt_addr_decode(const struct s2_addr_field *f, uint64_t pte);
uint64_t s2pgt_addr_encode(const struct s2_addr_field *f, uint64_t pa);
#define addr_decode s2pgt_addr_decode
#define addr_encode s2pgt_addr_encode

/*
 * What a caller knows of a field's shape: nothing (ask the level), or a
 * constant that a walk specialised on the table's fmt.addr_split was
 * compiled with, so that a loop over thousands of entries (a range map)
 * tests nothing per entry.  ADDR_SPLIT is right for every level of a
 * format that splits any: the pieces describe unsplit fields too.
 */
enum addr_shape { ADDR_ANY, ADDR_CONTIG, ADDR_SPLIT };

static s2_always_inline bool lv_split_k(const struct s2_fmt_level *lv, enum addr_shape k)
{
	return k == ADDR_ANY ? s2_unlikely(lv->split) : k == ADDR_SPLIT;
}

static s2_always_inline uint64_t lv_oa_k(const struct s2_pgtable *pgt,
					 const struct s2_fmt_level *lv, uint64_t pte,
					 enum addr_shape k)
{
	if (!lv_split_k(lv, k))
		return ((pte & lv->oa_mask) >> lv->oa_pos) << pgt->page_shift;
	return addr_decode(&lv->oa, pte);
}

static s2_always_inline uint64_t lv_oa(const struct s2_pgtable *pgt,
				       const struct s2_fmt_level *lv, uint64_t pte)
{
	return lv_oa_k(pgt, lv, pte, ADDR_ANY);
}

static s2_always_inline uint64_t lv_tbl_pa(const struct s2_pgtable *pgt,
					   const struct s2_fmt_level *lv, uint64_t pte)
{
	if (s2_likely(!lv->split))
		return ((pte & lv->tbl_mask) >> lv->tbl_pos) << pgt->page_shift;
	return addr_decode(&lv->tbl, pte);
}

/* The child of a table entry when it is not (entry & mask) - offset:
 * out of line, so the walks' loops carry one call, not the decode. */
uint64_t *s2pgt_child_slow(const struct s2_pgtable *pgt, const struct s2_fmt_level *lv,
			   uint64_t pte);

static s2_always_inline uint64_t *lv_child(const struct s2_pgtable *pgt,
					   const struct s2_fmt_level *lv, uint64_t pte)
{
	if (s2_likely(pgt->child_direct))
		return (uint64_t *)(uintptr_t)((pte & lv->tbl_mask) - pgt->child_va_offset);
	return s2pgt_child_slow(pgt, lv, pte);
}

static s2_always_inline uint64_t lv_mk_table(const struct s2_pgtable *pgt,
					     const struct s2_fmt_level *lv, void *child)
{
	if (s2_likely(!lv->split))
		return lv->table_bits | ((pgt_pa(pgt, child) >> pgt->page_shift) << lv->tbl_pos);
	return lv->table_bits | addr_encode(&lv->tbl, pgt_pa(pgt, child));
}

static s2_always_inline uint64_t lv_oa_bits_k(const struct s2_pgtable *pgt,
					      const struct s2_fmt_level *lv, uint64_t pa,
					      enum addr_shape k)
{
	if (!lv_split_k(lv, k))
		return (pa >> pgt->page_shift) << lv->oa_pos;
	return addr_encode(&lv->oa, pa);
}

static s2_always_inline uint64_t lv_oa_bits(const struct s2_pgtable *pgt,
					    const struct s2_fmt_level *lv, uint64_t pa)
{
	return lv_oa_bits_k(pgt, lv, pa, ADDR_ANY);
}

/* Everything of a leaf except its output address. */
static s2_always_inline uint64_t lv_leaf_template(const struct s2_fmt_level *lv,
						  unsigned prot, bool young)
{
	uint64_t t = lv->leaf_bits;

	if (prot & S2_PROT_R)
		t |= lv->r;
	/* writable-clean (hardware dirty logging): arm64 grants the write
	 * through DBM with S2AP[1] clear; EPT maps W with D clear, which is
	 * every writable leaf the engine makes */
	if ((prot & (S2_PROT_W | S2_PROT_CLEAN)) == (S2_PROT_W | S2_PROT_CLEAN) && lv->dbm)
		t |= lv->dbm;
	else if (prot & S2_PROT_W)
		t |= lv->w;
	t |= (prot & S2_PROT_X) ? lv->x_on : lv->x_off;
	t |= (prot & S2_PROT_DEVICE) ? lv->attr_device : lv->attr_normal;
	if (young)
		t |= lv->af;
	return t;
}

static s2_always_inline unsigned lv_prot(const struct s2_fmt_level *lv, uint64_t pte)
{
	unsigned p = 0;

	if (pte & lv->r)
		p |= S2_PROT_R;
	if (pte & lv->w)
		p |= S2_PROT_W;
	if ((pte & (lv->x_on | lv->x_off)) == lv->x_on)
		p |= S2_PROT_X;
	if ((pte & lv->attr_mask) == lv->attr_device && lv->attr_device != lv->attr_normal)
		p |= S2_PROT_DEVICE;
	return p;
}

/* Hardware may write live leaves (access flag, dirty state). */
static s2_always_inline bool pgt_hw_updates(const struct s2_pgtable *pgt)
{
	return (pgt->flags & (S2_PGT_HW_AF | S2_PGT_HW_DBM | S2_PGT_EPT_AD)) != 0;
}

static s2_always_inline uint64_t *table_of(const struct s2_pgtable *pgt, uint64_t *ptep)
{
	return (uint64_t *)((uintptr_t)ptep & ~(((uintptr_t)1 << pgt->page_shift) - 1));
}

static s2_always_inline int ref_add(const struct s2_pgtable *pgt, void *table, int delta)
{
	return pgt->plat->page_ref_add(pgt->ctx, table, delta);
}

/*
 * Every load, store, exchange and compare-and-exchange of a live table
 * entry in src/pgtable goes through these.  In check builds each is a
 * scheduling point of the controlled scheduler (S2_PREEMPT), so another
 * thread may run between any two entry accesses of a walk: the races of
 * parallel faults, of a collapse freeing the subtree a shared walk is
 * descending (I3), of a hardware update between a read and a store (I7,
 * I9) are reachable wherever they are in the engine, not only where
 * someone thought to put a point.  In every other build the point
 * compiles to nothing and these are the plain atomics.
 */
#define S2_PTE_POINT(pgt, what)	S2_PREEMPT((pgt)->plat, (pgt)->ctx, "pte: " what)

static s2_always_inline uint64_t pte_load(const struct s2_pgtable *pgt, uint64_t *p)
{
	S2_PTE_POINT(pgt, "load");
	return s2_load(p);
}

static s2_always_inline uint64_t pte_load_acquire(const struct s2_pgtable *pgt, uint64_t *p)
{
	S2_PTE_POINT(pgt, "load");
	return s2_load_acquire(p);
}

static s2_always_inline void pte_store(const struct s2_pgtable *pgt, uint64_t *p, uint64_t v)
{
	S2_PTE_POINT(pgt, "store");
	s2_store(p, v);
}

static s2_always_inline void pte_store_release(const struct s2_pgtable *pgt, uint64_t *p,
					       uint64_t v)
{
	S2_PTE_POINT(pgt, "store");
	s2_store_release(p, v);
}

static s2_always_inline uint64_t pte_xchg(const struct s2_pgtable *pgt, uint64_t *p, uint64_t v)
{
	S2_PTE_POINT(pgt, "exchange");
	return s2_xchg(p, v);
}

static s2_always_inline bool pte_cmpxchg(const struct s2_pgtable *pgt, uint64_t *p,
					 uint64_t *old, uint64_t v)
{
	S2_PTE_POINT(pgt, "compare-and-exchange");
	return s2_cmpxchg(p, old, v);
}

/*
 * An entry of a subtree nobody else can reach any more (after its grace
 * period, or at destroy): no walker races it, so no scheduling point.
 */
static s2_always_inline uint64_t pte_load_private(uint64_t *p)
{
	return s2_load(p);
}

static inline void *mc_take(struct s2_memcache *mc)
{
	void **p = mc->head;

	if (!p)
		return NULL;
	mc->head = *p;
	*p = NULL;	/* cache pages are zeroed but for the link word */
	mc->nr--;
	return p;
}

static inline void mc_put(struct s2_memcache *mc, void *page)
{
	*(void **)page = mc->head;
	mc->head = page;
	mc->nr++;
}

static s2_always_inline uint64_t pgt_span(const struct s2_pgtable *pgt, int level)
{
	return pgt->span[S2_LVL(level)];
}

static s2_always_inline void tables_add(struct s2_pgtable *pgt, long d)
{
	s2_fetch_add(&pgt->nr_tables, (unsigned long)d);
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
	if (S2_BUG_INJECTED(c->pgt->plat, c->pgt->ctx, lost_hw_dirty)) {
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

#endif
