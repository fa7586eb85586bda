/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Arm VMSAv8-64 stage-2 descriptors (Arm ARM D8.3, formats.md section 1),
 * 48-bit output addresses, 4K / 16K / 64K granules.
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
#define A64_ATTR_MASK	(S2_GENMASK(5, 2) | S2_GENMASK(9, 8))
/*
 * Invalid descriptors ignore bits [63:1]; bit 10 with bit 0 clear marks an
 * entry that a shared walker has broken and is about to rewrite.
 */
#define A64_LOCKED	S2_BIT(10)

/*
 * Start level and concatenation: levels = (IPA - 8) / (PS - 3), at least 2
 * (concatenate as many initial tables as the architecture allows, which
 * keeps walks one level shorter); the start level then resolves
 * n = IPA - (PS + stride * (3 - SL)) bits, legal iff 1 <= n <= stride + 4,
 * and n > stride means 2^(n - stride) concatenated tables (formats.md 1.7).
 */
int s2_format_geometry(unsigned page_shift, unsigned ia_bits, int min_level,
		       int *start_level, unsigned *root_entries)
{
	unsigned stride = page_shift - 3;
	int levels = (int)((ia_bits - 8) / stride);
	int sl, n;

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

int s2_format_arm64(struct s2_format *f, const struct s2_pgt_cfg *cfg,
		    int *start_level, unsigned *root_entries)
{
	unsigned ps = cfg->granule_shift;
	int l, ret;

	if (ps != 12 && ps != 14 && ps != 16)
		return -S2_EINVAL;
	if (cfg->ia_bits < 32 || cfg->ia_bits > 48)
		return -S2_EINVAL;
	/* IPA wider than the output size is CONSTRAINED UNPREDICTABLE. */
	if (cfg->ia_bits > cfg->oa_bits)
		return -S2_EINVAL;

	*f = (struct s2_format){
		.name = ps == 12 ? "arm64-4k" : ps == 14 ? "arm64-16k" : "arm64-64k",
		.id = S2_FMT_ARM64,
		.page_shift = ps,
		.bits_per_level = ps - 3,
		.min_level = ps == 16 ? 1 : 0,	/* 64K has no level 0 */
	};
	ret = s2_format_geometry(ps, cfg->ia_bits, f->min_level, start_level,
				 root_entries);
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

		lv->valid_mask = 1;
		lv->type_mask = last ? 0 : 3;
		lv->table_val = last ? 1 : 3;	/* last level: never a table */
		lv->table_bits = 3;
		lv->leaf_bits = last ? 3 : 1;	/* page 0b11, block 0b01 */
		lv->oa_pos = (uint8_t)ps;
		lv->tbl_pos = (uint8_t)ps;
		lv->oa_mask = S2_GENMASK(47, shift);
		lv->tbl_mask = S2_GENMASK(47, ps);
		/* 48-bit OA: blocks at L1/L2 with 4K, L2 only with 16K/64K. */
		lv->block_ok = !last && (ps == 12 ? (l == 1 || l == 2) : l == 2);
		lv->r = A64_S2AP_R;
		lv->w = A64_S2AP_W;
		lv->x_on = 0;
		lv->x_off = A64_XN;
		lv->af = A64_AF;
		lv->dbm = A64_DBM;
		lv->dirty = 0;
		lv->attr_mask = A64_ATTR_MASK;
		/* MemAttr: FWB forces Normal-WB with 0b0110; without FWB the
		 * stage-2 Normal-WB encoding is 0b1111.  Device-nGnRE 0b0001. */
		lv->attr_normal = A64_MEMATTR((cfg->flags & S2_PGT_NO_FWB) ? 0xf : 0x6) |
				  A64_SH_INNER;
		lv->attr_device = A64_MEMATTR(0x1) | A64_SH_INNER;
		lv->sw_mask = S2_GENMASK(58, 55);
		lv->sw_pos = 55;
		lv->locked = A64_LOCKED;
	}
	return 0;
}
