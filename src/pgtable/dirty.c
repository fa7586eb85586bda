// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Hardware dirty state: test-and-clear of the dirty state of live leaves
 * (arm64 FEAT_HAFDBS with DBM, EPT with A/D), for a dirty log that needs
 * no write-protect faults.  A leaf is dirty when the hardware has made it
 * so since it was last cleaned: arm64 stage 2 records a write by setting
 * S2AP[1] (write permission) of a leaf whose DBM bit is set, so there a
 * writable leaf is a dirty one; EPT sets bit 9 (D) of a writable leaf.
 */
#include "internal.h"

struct dirty_data {
	uint64_t *bitmap;		/* bit n: the page at base + n pages */
	uint64_t base;
	unsigned flags;
	struct s2_tlb_batch tb;
	/* bits of bitmap word @word not yet ORed in: one atomic OR per word
	 * rather than per page (a pass of a guest that wrote everything) */
	uint64_t word, pending;
};

static s2_always_inline void report_flush(struct dirty_data *d)
{
	if (d->pending)
		s2_fetch_or(&d->bitmap[d->word], d->pending);
	d->pending = 0;
}

/* The dirty state the hardware sets (arm64: S2AP[1] under DBM; EPT: D). */
static s2_always_inline uint64_t lv_dirty_bits(const struct s2_fmt_level *lv)
{
	return lv->dirty ? lv->dirty : lv->w;
}

static s2_always_inline void report(struct s2_walk_ctx *c, struct dirty_data *d)
{
	const struct s2_pgtable *pgt = c->pgt;
	uint64_t a = c->addr < d->base ? d->base : c->addr;
	uint64_t e = c->addr + pgt_span(pgt, c->level);
	uint64_t n;

	if (!d->bitmap)
		return;
	if (e > c->end)
		e = c->end;
	/* a block's every page: its dirty state does not say which one */
	for (; a < e; a += 1ULL << pgt->page_shift) {
		n = (a - d->base) >> pgt->page_shift;
		if (n / 64 != d->word) {
			report_flush(d);
			d->word = n / 64;
		}
		d->pending |= 1ULL << (n % 64);
	}
}

static s2_always_inline int dirty_visit(struct s2_walk_ctx *c, unsigned visit)
{
	struct dirty_data *d = c->arg;
	struct s2_pgtable *pgt = c->pgt;
	const struct s2_fmt_level *lv = s2_lv(pgt, c->level);
	uint64_t dirty = lv_dirty_bits(lv), old = c->old, new, clear, set;
	bool page = c->level == S2_LAST_LEVEL;

	(void)visit;
	if (!lv_leaf(lv, old) || !(old & (lv->w | lv->dbm)))
		return 0;
	/*
	 * Pages become writable-clean: arm64 drops S2AP[1] and keeps (or
	 * sets) DBM, so the next write makes the hardware set it again; EPT
	 * drops D.  A block, or everything with S2_DIRTY_WRPROTECT, becomes
	 * read-only with no DBM: its next write faults (a block then splits
	 * lazily, I7 by the write fault's bitmap bit).
	 */
	if (page && !(d->flags & S2_DIRTY_WRPROTECT)) {
		clear = dirty;
		set = lv->dbm;
	} else {
		clear = lv->w | lv->dbm | lv->dirty;
		set = 0;
	}
	if (S2_BUG_INJECTED(pgt->plat, pgt->ctx, hw_dirty_plain_clear)) {
		/*
		 * Every writable-capable leaf rewritten with a plain store of
		 * the value read by the walk: a dirty update the hardware
		 * makes between that read and the store is overwritten, so
		 * the write is neither reported now nor dirty for the next
		 * harvest (I7; KVM's "Use atomic XCHG to write TDP MMU SPTEs
		 * with volatile bits", in the harvest).
		 */
		new = (old & ~clear) | set;
		pte_store(pgt, c->ptep, new);
		gather_add(pgt, &d->tb, c->addr, pgt_span(pgt, c->level), c->level, true);
		if (old & dirty)
			report(c, d);
		return 0;
	}
	/*
	 * Test-and-clear by compare-and-exchange: the hardware may set the
	 * dirty state between our read and our update, and an exchange
	 * that fails re-reads it, so a write is either in the value we
	 * replace (reported now) or lands on the clean leaf we leave (and
	 * is reported next time).  Only hardware bits move under us: the
	 * caller holds the table exclusively.
	 */
	for (;;) {
		new = (old & ~clear) | set;
		if (new == old)
			return 0;
		if (pte_cmpxchg(pgt, c->ptep, &old, new))
			break;
		if (!lv_leaf(lv, old))
			return 0;
	}
	if (old & dirty)
		report(c, d);
	/* A TLB may hold the dirty (writable) translation: until it is
	 * invalidated a write through it sets nothing (I7). */
	gather_add(pgt, &d->tb, c->addr, pgt_span(pgt, c->level), c->level, true);
	return 0;
}

static s2_noinline int dirty_walk(struct s2_pgtable *pgt, uint64_t ipa, uint64_t end,
				  struct dirty_data *d)
{
	return s2_walk_inline(pgt, ipa, end, S2_WALK_LEAF, dirty_visit, d);
}

int s2_pgt_test_clear_dirty(struct s2_pgtable *pgt, s2_gpa_t ipa, uint64_t size,
			    uint64_t *bitmap, s2_gpa_t base, unsigned flags)
{
	struct dirty_data d = { bitmap, base.v, flags, S2_TLB_BATCH_INIT, 0, 0 };
	int ret;

	ret = range_ok(pgt, ipa, size);
	if (ret)
		return ret;
	if ((flags & ~S2_DIRTY_WRPROTECT) || base.v > ipa.v ||
	    (base.v & ((1ULL << pgt->page_shift) - 1)))
		return -S2_EINVAL;
	if (!(pgt->flags & (S2_PGT_HW_DBM | S2_PGT_EPT_AD)))
		return -S2_EINVAL;
	ret = dirty_walk(pgt, ipa.v, ipa.v + size, &d);
	if (bitmap)
		report_flush(&d);
	/*
	 * Before return: the caller copies the reported pages after this,
	 * and a write after that must set the dirty state again, which a
	 * cached dirty translation would not do.  hw_dirty_no_tlbi: the
	 * invalidation is skipped, so a vCPU keeps writing through its
	 * cached writable translation of a page the log now calls clean.
	 */
	if (S2_BUG_INJECTED(pgt->plat, pgt->ctx, hw_dirty_no_tlbi))
		s2_tlb_batch_init(&d.tb);
	s2_pgt_tlb_flush(pgt, &d.tb);
	return ret;
}
