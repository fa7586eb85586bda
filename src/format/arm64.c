/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Arm VMSAv8-64 stage-2 descriptors (Arm ARM D8.3, formats.md section 1),
 * 4K / 16K / 64K granules, 48-bit output addresses, and 52-bit ones with
 * FEAT_LPA (64K) or FEAT_LPA2 (4K and 16K, VTCR_EL2.DS = 1).
 */
#include "format_impl.h"

/* Lower attributes of block and page descriptors. */
#define A64_S2AP_R	S2_BIT(6)
#define A64_S2AP_W	S2_BIT(7)
#define A64_SH_INNER	(3ULL << 8)
#define A64_AF		S2_BIT(10)
#define A64_DBM		S2_BIT(51)
#define A64_XN		(2ULL << 53)	/* XN[1:0] = 0b10: never executable */
#define A64_MEMATTR(v)	((uint64_t)(v) << 2)
#define A64_MEMATTR_MASK S2_GENMASK(5, 2)
#define A64_SH_MASK	S2_GENMASK(9, 8)
/*
 * Invalid descriptors ignore bits [63:1]; bit 10 with bit 0 clear marks an
 * entry that a shared walker has broken and is about to rewrite.
 */
#define A64_LOCKED	S2_BIT(10)

/*
 * Start level and concatenation: levels = (IPA - 8) / (PS - 3), at least 2
 * (concatenate as many initial tables as the architecture allows, which
 * keeps walks one level shorter), or with @concat false the fewest levels
 * whose single initial table covers the IPA, ceil((IPA - PS) / stride);
 * the start level then resolves n = IPA - (PS + stride * (3 - SL)) bits,
 * legal iff 1 <= n <= stride + 4, and n > stride means 2^(n - stride)
 * concatenated tables (formats.md 1.7; Arm ARM S2InconsistentSL).
 */
int s2_format_geometry(unsigned page_shift, unsigned ia_bits, int min_level, bool concat,
		       int *start_level, unsigned *root_entries)
{
	unsigned stride = page_shift - 3;
	int levels, sl, n;

	if (concat)
		levels = (int)((ia_bits - 8) / stride);
	else
		levels = (int)((ia_bits - page_shift + stride - 1) / stride);
	if (levels < 2)
		levels = 2;
	sl = S2_LAST_LEVEL + 1 - levels;
	if (sl < min_level)
		return -S2_EINVAL;
	n = (int)ia_bits - (int)(page_shift + stride * (unsigned)(S2_LAST_LEVEL - sl));
	if (n < 1 || n > (int)stride + 4)
		return -S2_EINVAL;
	*start_level = sl;
	*root_entries = 1U << n;
	return 0;
}

/* An address piece that sits where its bits are: bits [hi:lo] hold
 * address bits [hi:lo]. */
static struct s2_addr_piece in_place(unsigned hi, unsigned lo)
{
	return (struct s2_addr_piece){ S2_GENMASK(hi, lo), (uint8_t)lo, (uint8_t)lo };
}

int s2_format_arm64(struct s2_format *f, const struct s2_pgt_cfg *cfg,
		    int *start_level, unsigned *root_entries)
{
	unsigned ps = cfg->granule_shift;
	bool lpa2 = cfg->flags & S2_PGT_LPA2;
	/* FEAT_LPA: a 64K granule with a 52-bit output size (VTCR_EL2.PS =
	 * 0b110) takes OA[51:48] from descriptor bits [15:12]. */
	bool lpa = ps == 16 && cfg->oa_bits == 52;
	/* top bit of the main address field: [47:ps], or [49:ps] with DS = 1 */
	unsigned hi = lpa2 ? 49 : 47;
	int l, ret;

	if (ps != 12 && ps != 14 && ps != 16)
		return -S2_EINVAL;
	/* VTCR_EL2.DS exists for the 4K and 16K granules only. */
	if (lpa2 && ps == 16)
		return -S2_EINVAL;
	/*
	 * Output sizes above 48 bits: PS = 0b110 (52 bits) is the only
	 * encoding, and descriptors can hold it only with DS = 1 (4K, 16K)
	 * or FEAT_LPA (64K).
	 */
	if (cfg->oa_bits > 48 && (cfg->oa_bits != 52 || (ps != 16 && !lpa2)))
		return -S2_EINVAL;
	/* A 52-bit IPA (T0SZ down to 12) takes DS = 1 with 4K / 16K and
	 * FEAT_LPA with 64K; nothing between 48 and 52 is special. */
	if (cfg->ia_bits < 32 || cfg->ia_bits > 52 ||
	    (cfg->ia_bits > 48 && ps != 16 && !lpa2))
		return -S2_EINVAL;
	/* IPA wider than the output size is CONSTRAINED UNPREDICTABLE. */
	if (cfg->ia_bits > cfg->oa_bits)
		return -S2_EINVAL;

	*f = (struct s2_format){
		.name = ps == 12 ? (lpa2 ? "arm64-4k-lpa2" : "arm64-4k") :
			ps == 14 ? (lpa2 ? "arm64-16k-lpa2" : "arm64-16k") :
			lpa ? "arm64-64k-lpa" : "arm64-64k",
		.id = S2_FMT_ARM64,
		.page_shift = ps,
		.bits_per_level = ps - 3,
		/*
		 * 64K has no level 0.  Start level -1 (SL2:SL0 = 1:00) is 4K
		 * with DS = 1 only, and 16K starts at level 0 (SL0 = 0b11)
		 * only with DS = 1 (formats.md 1.7, Arm ARM S2InvalidSL).
		 */
		.min_level = ps == 16 ? 1 : ps == 14 ? (lpa2 ? 0 : 1) : (lpa2 ? -1 : 0),
	};
	ret = s2_format_geometry(ps, cfg->ia_bits, f->min_level,
				 !(cfg->flags & S2_PGT_NO_CONCAT), start_level, root_entries);
	if (ret)
		return ret;
	/*
	 * Start level 0 needs PARange >= 44 bits with 4K; start level 1
	 * needs >= 42 with 16K and >= 44 with 64K (formats.md 1.7).
	 */
	if ((ps == 12 && *start_level == 0 && cfg->oa_bits < 44) ||
	    (ps == 14 && *start_level == 1 && cfg->oa_bits < 42) ||
	    (ps == 16 && *start_level == 1 && cfg->oa_bits < 44))
		return -S2_EINVAL;

	for (l = f->min_level; l <= S2_LAST_LEVEL; l++) {
		struct s2_fmt_level *lv = &f->lv[S2_LVL(l)];
		unsigned shift = s2_level_shift(ps, l);
		bool last = l == S2_LAST_LEVEL;
		uint64_t sh = lpa2 ? 0 : A64_SH_INNER;

		lv->valid_mask = 1;
		lv->type_mask = last ? 0 : 3;
		lv->table_val = last ? 1 : 3;	/* last level: never a table */
		lv->table_bits = 3;
		lv->leaf_bits = last ? 3 : 1;	/* page 0b11, block 0b01 */
		/*
		 * Output and next-table address: [47:ps] in place (a block's
		 * from its span up), [49:ps] with DS = 1.  The top bits of a
		 * 52-bit address live below the field, for blocks, pages and
		 * table descriptors alike: OA[51:48] in [15:12] with FEAT_LPA,
		 * OA[51:50] in [9:8] with FEAT_LPA2 (formats.md 1.3; Arm ARM
		 * D8.3 descriptor formats).
		 */
		lv->oa.p[0] = in_place(hi, shift);
		lv->tbl.p[0] = in_place(hi, ps);
		if (lpa2) {
			lv->oa.p[1] = (struct s2_addr_piece){ S2_GENMASK(9, 8), 8, 50 };
			lv->tbl.p[1] = lv->oa.p[1];
		} else if (lpa) {
			lv->oa.p[1] = (struct s2_addr_piece){ S2_GENMASK(15, 12), 12, 48 };
			lv->tbl.p[1] = lv->oa.p[1];
		}
		/*
		 * Block levels (Arm ARM BlockDescSupported): L1 and L2 with 4K,
		 * L2 with 16K and 64K; and L0 (512G) with 4K and DS = 1, L1
		 * (64G) with 16K and DS = 1, L1 (4T) with 64K when the output
		 * is 52 bits (formats.md 1.1).
		 */
		if (ps == 12)
			lv->block_ok = l == 1 || l == 2 || (l == 0 && lpa2);
		else if (ps == 14)
			lv->block_ok = l == 2 || (l == 1 && lpa2);
		else
			lv->block_ok = l == 2 || (l == 1 && lpa);
		lv->r = A64_S2AP_R;
		lv->w = A64_S2AP_W;
		lv->x_on = 0;
		lv->x_off = A64_XN;
		lv->af = A64_AF;
		lv->dbm = A64_DBM;
		lv->dirty = 0;
		/*
		 * With DS = 1 bits [9:8] are address, not SH: shareability
		 * comes from VTCR_EL2.SH0 and a leaf carries none (KVM sets
		 * SH in stage-2 leaves only without LPA2).
		 */
		lv->attr_mask = A64_MEMATTR_MASK | (lpa2 ? 0 : A64_SH_MASK);
		/* MemAttr: FWB forces Normal-WB with 0b0110; without FWB the
		 * stage-2 Normal-WB encoding is 0b1111.  Device-nGnRE 0b0001. */
		lv->attr_normal = A64_MEMATTR((cfg->flags & S2_PGT_NO_FWB) ? 0xf : 0x6) | sh;
		lv->attr_device = A64_MEMATTR(0x1) | sh;
		lv->sw_mask = S2_GENMASK(58, 55);
		lv->sw_pos = 55;
		lv->locked = A64_LOCKED;
	}
	return 0;
}
