/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The hostile test format (DESIGN.md section 3): arm64-4K geometry, but no
 * field is where any real format puts it and every field moves from one
 * level to the next.  The output address sits at bit 2 + 3*level, a
 * next-table address somewhere else again, and the attribute bits rotate
 * through [63:47].  Neither address is contiguous: the output field holds
 * its high bits below its low ones, split at a bit that moves with the
 * level, and the next-table field is three pieces in the order
 * [47:40], [23:12], [39:24] from the bottom.  Generic code that hard-codes
 * an encoding, decodes an entry with the masks of the wrong level, or
 * treats an address field as one mask and shift, fails every engine test
 * here.
 */
#include "format_impl.h"


/* Attribute slots, rotated by 4 per level through bits 47..63. */
enum { T_SW = 0, T_VALID = 4, T_TABLE, T_R, T_W, T_XN, T_AF, T_DBM, T_DEV, T_LOCKED };

static uint64_t tbit(int slot, int level)
{
	return S2_BIT(47 + (slot + 4 * level) % 17);
}

int s2_format_test(struct s2_format *f, const struct s2_pgt_cfg *cfg,
		   int *start_level, unsigned *root_entries)
{
	int l, ret;

	if (cfg->granule_shift != 12 || cfg->ia_bits < 32 || cfg->ia_bits > 48 ||
	    cfg->oa_bits > 48 || cfg->ia_bits > cfg->oa_bits || (cfg->flags & S2_PGT_LPA2))
		return -S2_EINVAL;
	*f = (struct s2_format){
		.name = "test",
		.id = S2_FMT_TEST,
		.page_shift = 12,
		.bits_per_level = 9,
		.min_level = 0,
	};
	ret = s2_format_geometry(12, cfg->ia_bits, 0, !(cfg->flags & S2_PGT_NO_CONCAT),
				 start_level, root_entries);
	if (ret)
		return ret;
	for (l = 0; l <= S2_LAST_LEVEL; l++) {
		struct s2_fmt_level *lv = &f->lv[S2_LVL(l)];
		unsigned shift = s2_level_shift(12, l);
		unsigned oa_pos = 2 + 3 * (unsigned)l;
		unsigned tbl_pos = 2 + 3 * (unsigned)(S2_LAST_LEVEL - l);
		/* output split point: address bits [47:k] go first */
		unsigned k = 30 + 3 * (unsigned)l;
		unsigned lo_at = oa_pos + 48 - k;	/* where bit 12 would be */
		bool last = l == S2_LAST_LEVEL;

		lv->valid_mask = tbit(T_VALID, l);
		lv->type_mask = last ? 0 : tbit(T_TABLE, l);
		lv->table_val = last ? 1 : tbit(T_TABLE, l);
		lv->table_bits = tbit(T_VALID, l) | tbit(T_TABLE, l);
		lv->leaf_bits = tbit(T_VALID, l);
		/* [k-1:12] above [47:k]; a block's low piece starts at its span */
		lv->oa.p[0] = (struct s2_addr_piece){
			S2_GENMASK(oa_pos + 35, lo_at + (shift - 12)), (uint8_t)lo_at, 12 };
		lv->oa.p[1] = (struct s2_addr_piece){
			S2_GENMASK(oa_pos + 47 - k, oa_pos), (uint8_t)oa_pos, (uint8_t)k };
		lv->tbl.p[0] = (struct s2_addr_piece){
			S2_GENMASK(tbl_pos + 19, tbl_pos + 8), (uint8_t)(tbl_pos + 8), 12 };
		lv->tbl.p[1] = (struct s2_addr_piece){
			S2_GENMASK(tbl_pos + 35, tbl_pos + 20), (uint8_t)(tbl_pos + 20), 24 };
		lv->tbl.p[2] = (struct s2_addr_piece){
			S2_GENMASK(tbl_pos + 7, tbl_pos), (uint8_t)tbl_pos, 40 };
		lv->block_ok = l == 1 || l == 2;
		lv->r = tbit(T_R, l);
		lv->w = tbit(T_W, l);
		lv->x_on = 0;
		lv->x_off = tbit(T_XN, l);
		lv->af = tbit(T_AF, l);
		lv->dbm = tbit(T_DBM, l);
		lv->attr_mask = tbit(T_DEV, l);
		lv->attr_normal = 0;
		lv->attr_device = tbit(T_DEV, l);
		lv->sw_pos = (uint8_t)(47 + (T_SW + 4 * l) % 17);
		lv->sw_mask = 0xfULL << lv->sw_pos;
		lv->locked = tbit(T_LOCKED, l);
	}
	return 0;
}
