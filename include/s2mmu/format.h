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

struct s2_fmt_level {
	uint64_t valid_mask;	/* valid iff (pte & valid_mask) != 0 */
	uint64_t type_mask;	/* table iff valid and (pte & type_mask) == table_val */
	uint64_t table_val;
	uint64_t table_bits;	/* bits of a table descriptor besides the address */
	uint64_t leaf_bits;	/* bits of every leaf at this level (type) */
	uint64_t oa_mask;	/* leaf output field, in place */
	uint64_t tbl_mask;	/* next-table address field, in place */
	uint8_t oa_pos;		/* bit where (pa >> page_shift) starts, leaf */
	uint8_t tbl_pos;	/* same for a next-table address */
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
};

struct s2_format {
	const char *name;
	int id;			/* enum s2_format_id */
	unsigned page_shift;
	unsigned bits_per_level;
	int min_level;		/* lowest level the format can start at */
	struct s2_fmt_level lv[S2_LAST_LEVEL + 2];
};

/* lv[] (and struct s2_pgtable's span[] / shift[]) are indexed by S2_LVL():
 * level -1 (EPT's PML5) must land on index 0 and the last level inside. */
_Static_assert(S2_LVL(-1) == 0 && S2_LVL(S2_LAST_LEVEL) < S2_LAST_LEVEL + 2,
	       "S2_LVL maps levels -1..3 onto lv[]");

#endif
