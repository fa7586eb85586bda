/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Intel EPT (SDM vol. 3C, EPT chapter; formats.md section 2): 4-level
 * (PML4 at level 0) and 5-level (PML5 at level -1) walks of 4K tables,
 * 4K pages, 2M leaves in PDEs and 1G leaves in PDPTEs.
 */
#include "format_impl.h"

/* Bits [2:0]: read, write, execute; an entry is present iff any is set. */
#define EPT_R		S2_BIT(0)
#define EPT_W		S2_BIT(1)
#define EPT_X		S2_BIT(2)
#define EPT_RWX		(EPT_R | EPT_W | EPT_X)
#define EPT_MT(t)	((uint64_t)(t) << 3)	/* leaf memory type, [5:3] */
#define EPT_MT_UC	0
#define EPT_MT_WB	6
#define EPT_IPAT	S2_BIT(6)	/* ignore the guest's PAT */
#define EPT_PS		S2_BIT(7)	/* PDPTE / PDE maps a 1G / 2M page */
#define EPT_A		S2_BIT(8)	/* only with EPTP[6] (A/D enabled) */
#define EPT_D		S2_BIT(9)	/* leaves only, same condition */
/*
 * A non-present entry ignores bits [62:3].  Bit 11 is ignored in present
 * entries too and no newer feature claims it (bit 10 does, with MBEC), so
 * it cannot be mistaken for anything a CPU acts on.
 */
#define EPT_LOCKED	S2_BIT(11)
/*
 * Software bits: [62:52] are ignored, but recent features take bits from
 * the top of that range (57 verify-paging-write, 58 paging-write, 60
 * supervisor shadow stack, 61 sub-page write); [55:52] stay free.
 */
#define EPT_SW_POS	52
#define EPT_SW		S2_GENMASK(55, EPT_SW_POS)
/* Address fields end at MAXPHYADDR - 1, which is at most bit 51. */
#define EPT_ADDR_HI	51

int s2_format_ept(struct s2_format *f, const struct s2_pgt_cfg *cfg,
		  int *start_level, unsigned *root_entries)
{
	bool ad = (cfg->flags & S2_PGT_EPT_AD) != 0;
	int sl, l;

	if (cfg->granule_shift != 12)
		return -S2_EINVAL;
	/*
	 * EPTP[5:3] selects a 4- or 5-level walk, nothing shorter: a GPA of
	 * up to 48 bits starts at the PML4, a wider one at the PML5 (GPA
	 * indexing [56:48]).  39..57 is the range pgtable.h documents.
	 */
	if (cfg->ia_bits < 39 || cfg->ia_bits > 57)
		return -S2_EINVAL;
	/*
	 * Hardware access-flag/DBM management and the non-coherent (no FWB)
	 * stage 2 are arm64 notions with no EPT counterpart: x86 keeps
	 * caches coherent with memory-type rules instead of maintenance.
	 */
	if (cfg->flags & (S2_PGT_HW_AF | S2_PGT_HW_DBM | S2_PGT_NO_FWB))
		return -S2_EINVAL;
	/* Neither do LPA2 descriptors, and EPT never concatenates roots. */
	if (cfg->flags & (S2_PGT_LPA2 | S2_PGT_NO_CONCAT))
		return -S2_EINVAL;
	sl = cfg->ia_bits > 48 ? -1 : 0;

	*f = (struct s2_format){
		.name = ad ? (sl < 0 ? "ept5-ad" : "ept4-ad") : (sl < 0 ? "ept5" : "ept4"),
		.id = S2_FMT_EPT,
		.page_shift = 12,
		.bits_per_level = 9,
		.min_level = sl,
	};
	/*
	 * The root is one 4K table (EPT never concatenates); only the
	 * entries the GPA size can index are walked.
	 */
	*start_level = sl;
	*root_entries = 1U << (cfg->ia_bits - s2_level_shift(12, sl));

	for (l = sl; l <= S2_LAST_LEVEL; l++) {
		struct s2_fmt_level *lv = &f->lv[S2_LVL(l)];
		unsigned shift = s2_level_shift(12, l);
		bool last = l == S2_LAST_LEVEL;

		lv->valid_mask = EPT_RWX;
		/* Bit 7 tells a 1G/2M leaf from a next-table pointer; it is
		 * ignored in a PTE, which is always a leaf. */
		lv->type_mask = last ? 0 : EPT_PS;
		lv->table_val = last ? 1 : 0;
		/*
		 * Access is the AND of R/W/X over every level walked, so a
		 * table entry grants all three and the leaf alone decides.
		 * Its bits [7:3] must stay zero (reserved: misconfiguration).
		 */
		lv->table_bits = EPT_RWX;
		/* Presence comes from R, which every leaf the engine makes
		 * carries (W without R is a misconfiguration anyway). */
		lv->leaf_bits = last ? 0 : EPT_PS;
		/* A 1G / 2M leaf's address bits [29:12] / [20:12] are
		 * reserved, hence the field starting at the span.  Both
		 * fields sit in place, in one piece. */
		lv->oa.p[0] = (struct s2_addr_piece){ S2_GENMASK(EPT_ADDR_HI, shift),
						      (uint8_t)shift, (uint8_t)shift };
		lv->tbl.p[0] = (struct s2_addr_piece){ S2_GENMASK(EPT_ADDR_HI, 12), 12, 12 };
		/* Page-size bit only in PDPTE (1G) and PDE (2M); reserved in
		 * PML4E / PML5E. */
		lv->block_ok = l == 1 || l == 2;
		lv->r = EPT_R;
		lv->w = EPT_W;
		lv->x_on = EPT_X;
		lv->x_off = 0;
		/*
		 * Without EPTP[6] bits 8 and 9 are ignored and nothing records
		 * accesses: af = 0 tells the engine so (every valid leaf then
		 * reads as young, see young_visit in src/pgtable).
		 */
		lv->af = ad ? EPT_A : 0;
		lv->dbm = 0;
		lv->dirty = ad ? EPT_D : 0;
		lv->attr_mask = EPT_MT(7) | EPT_IPAT;
		/*
		 * Guest RAM is write-back whatever the guest's PAT says (WB
		 * with IPAT, KVM's choice without non-coherent DMA).  Device
		 * memory is UC with IPAT clear, as KVM maps MMIO, so the
		 * guest's own PAT still combines with it.
		 */
		lv->attr_normal = EPT_MT(EPT_MT_WB) | EPT_IPAT;
		lv->attr_device = EPT_MT(EPT_MT_UC);
		lv->sw_mask = EPT_SW;
		lv->sw_pos = EPT_SW_POS;
		lv->locked = EPT_LOCKED;
	}
	return 0;
}
