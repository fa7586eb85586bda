/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * A stage-2 table's life: init (format, geometry, root), destroy, and the
 * page cache map and split take their table pages from.  The operations
 * live beside it, one idea per file: map.c, unmap.c (with owed.c, what
 * removing a translation owes), attr.c, split.c, and the walker in
 * walk.h.
 */
#include "internal.h"


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

/* A split address field, piece by piece (entry.h); branch-free: unused
 * pieces have mask 0. */
uint64_t s2pgt_addr_decode(const struct s2_addr_field *f, uint64_t pte)
{
	uint64_t a = 0;
	unsigned i;

	for (i = 0; i < S2_ADDR_PIECES; i++)
		a |= ((pte & f->p[i].mask) >> f->p[i].pos) << f->p[i].shift;
	return a;
}

uint64_t s2pgt_addr_encode(const struct s2_addr_field *f, uint64_t pa)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < S2_ADDR_PIECES; i++)
		v |= ((pa >> f->p[i].shift) << f->p[i].pos) & f->p[i].mask;
	return v;
}

uint64_t *s2pgt_child_slow(const struct s2_pgtable *pgt, const struct s2_fmt_level *lv,
			   uint64_t pte)
{
	return (uint64_t *)pgt_va(pgt, lv_tbl_pa(pgt, lv, pte));
}

/*
 * The hot paths' view of an address field: every piece's bits, and when
 * the field is one piece whose descriptor bits map onto the address by a
 * single shift, the bit where (pa >> page_shift) starts.  Decided once
 * here, so that map, unmap and walk pay one predictable test of lv->split
 * for the generality and nothing more on a contiguous format.
 */
static bool addr_derive(const struct s2_addr_field *f, unsigned page_shift,
			uint64_t *mask, uint8_t *pos)
{
	const struct s2_addr_piece *p0 = &f->p[0];
	unsigned i;

	*mask = 0;
	for (i = 0; i < S2_ADDR_PIECES; i++)
		*mask |= f->p[i].mask;
	*pos = p0->pos;
	for (i = 1; i < S2_ADDR_PIECES; i++)
		if (f->p[i].mask)
			return true;
	/* (pa >> page_shift) << pos must land where (pa >> shift) << pos does */
	if (p0->shift < page_shift || p0->pos + page_shift < p0->shift)
		return true;
	*pos = (uint8_t)(p0->pos + page_shift - p0->shift);
	return false;
}

static void fmt_derive(struct s2_format *f, int start_level)
{
	int l;

	f->addr_split = false;
	for (l = start_level; l <= S2_LAST_LEVEL; l++) {
		struct s2_fmt_level *lv = &f->lv[S2_LVL(l)];
		bool so = addr_derive(&lv->oa, f->page_shift, &lv->oa_mask, &lv->oa_pos);
		bool st = addr_derive(&lv->tbl, f->page_shift, &lv->tbl_mask, &lv->tbl_pos);

		lv->split = so || st;
		f->addr_split |= lv->split;
	}
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
	if (c.oa_bits < 32 || c.oa_bits > 52 ||
	    (c.flags & ~(S2_PGT_NO_FWB | S2_PGT_HW_AF | S2_PGT_HW_DBM | S2_PGT_EPT_AD |
			 S2_PGT_LPA2 | S2_PGT_NO_CONCAT)) ||
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
	fmt_derive(&pgt->fmt, sl);
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
		/* a child is (entry & tbl_mask) - offset only when the field
		 * is one piece, in place */
		if (l < S2_LAST_LEVEL && (s2_lv(pgt, l)->split ||
					  s2_lv(pgt, l)->tbl_pos != pgt->page_shift))
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
			s2pgt_free_subtree_now(pgt, lv_child(pgt, lv, pte), pgt->start_level + 1);
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

