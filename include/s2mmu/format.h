/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * A descriptor format as data.  Generic code (src/pgtable) decodes and
 * encodes entries only through these per-level masks and positions; it
 * never asks which architecture it is running.  Levels use the arm64
 * numbering: the last level is 3, and formats with a fifth level (EPT
 * PML5) use level -1, stored at index level + 1.
 */
#ifndef S2MMU_FORMAT_H
#define S2MMU_FORMAT_H

#include <s2mmu/compiler.h>

#define S2_LAST_LEVEL	3
#define S2_LVL(l)	((l) + 1)

/*
 * One piece of an address field: descriptor bit @pos holds address bit
 * @shift, and @mask (in place) says which descriptor bits belong to the
 * piece.  A piece decodes as ((pte & mask) >> pos) << shift and encodes
 * as ((pa >> shift) << pos) & mask.  An unused piece has mask 0 and so
 * contributes nothing either way, which keeps the split decode free of
 * branches.
 */
struct s2_addr_piece {
	uint64_t mask;
	uint8_t pos;
	uint8_t shift;
};

/*
 * An output or next-table address field.  One contiguous mask cannot
 * describe every format: FEAT_LPA puts OA[51:48] in descriptor bits
 * [15:12] (64K granule) and FEAT_LPA2 puts OA[51:50] in bits [9:8] (4K
 * and 16K granules), both below the main [47:ps] / [49:ps] field, and
 * the hostile test format splits its fields on purpose.  p[0] is the
 * piece that holds address bit page_shift (or the span, for a block).
 */
#define S2_ADDR_PIECES	3

struct s2_addr_field {
	struct s2_addr_piece p[S2_ADDR_PIECES];
};

struct s2_fmt_level {
	uint64_t valid_mask;	/* valid iff (pte & valid_mask) != 0 */
	uint64_t type_mask;	/* table iff valid and (pte & type_mask) == table_val */
	uint64_t table_val;
	uint64_t table_bits;	/* bits of a table descriptor besides the address */
	uint64_t leaf_bits;	/* bits of every leaf at this level (type) */
	/*
	 * Derived by s2_pgt_init from oa / tbl below, never set by a format:
	 * every piece's bits together (in place), and, for the contiguous
	 * fast path taken when !split, the bit where (pa >> page_shift)
	 * starts.  Hot paths read these four and the split flag only.
	 */
	uint64_t oa_mask;	/* leaf output field, in place */
	uint64_t tbl_mask;	/* next-table address field, in place */
	uint8_t oa_pos;		/* bit where (pa >> page_shift) starts, leaf */
	uint8_t tbl_pos;	/* same for a next-table address */
	bool split;		/* oa or tbl has more than one piece (derived) */
	uint8_t sw_pos;		/* software bits start here */
	bool block_ok;		/* a leaf may live at this level (not last) */
	uint64_t r, w, x_on, x_off;	/* permissions; X may be inverted (XN) */
	/* Access flag; 0: the format has none, and then every valid leaf
	 * reads as young and mkold / mkyoung change nothing. */
	uint64_t af;
	uint64_t dbm;		/* hardware may set W (arm64 DBM), or 0 */
	uint64_t dirty;		/* EPT D bit, or 0 */
	uint64_t attr_mask, attr_normal, attr_device;	/* memory type etc. */
	uint64_t sw_mask;	/* software bits, in place */
	uint64_t locked;	/* invalid marker a shared walker owns */
	/* What the format sets: the leaf output address (p[0] starting at
	 * the level's span) and the next-table address, piece by piece. */
	struct s2_addr_field oa, tbl;
};

struct s2_format {
	const char *name;
	int id;			/* enum s2_format_id */
	unsigned page_shift;
	unsigned bits_per_level;
	int min_level;		/* lowest level the format can start at */
	bool addr_split;	/* some level's split is set (derived by init) */
	struct s2_fmt_level lv[S2_LAST_LEVEL + 2];
};

/* lv[] (and struct s2_pgtable's span[] / shift[]) are indexed by S2_LVL():
 * level -1 (EPT's PML5) must land on index 0 and the last level inside. */
_Static_assert(S2_LVL(-1) == 0 && S2_LVL(S2_LAST_LEVEL) < S2_LAST_LEVEL + 2,
	       "S2_LVL maps levels -1..3 onto lv[]");

#endif
