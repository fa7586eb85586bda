/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The stage-2 configurations `s2mmu run --format` and `s2mmu check
 * --format` accept, under one set of names, so the two commands cannot
 * drift apart.  A 16K or 64K granule runs on a host model of the same
 * page size (sim/host/host.h: KVM arm64 maps stage 2 with PAGE_SIZE).
 * ia_bits/oa_bits 0: the tool's default (40 and 48 bits).  52-bit
 * configurations place memslots at the top of the IPA space and physical
 * memory above 2^48, so every level and address piece is used.
 */
#ifndef S2_TOOLS_FORMATS_H
#define S2_TOOLS_FORMATS_H

#include <string.h>
#include <s2mmu/pgtable.h>

struct s2_tool_format {
	const char *name, *alias;	/* alias: NULL or a second name */
	const char *desc;		/* as a table heading says it */
	enum s2_format_id id;
	unsigned granule_shift, ia_bits, oa_bits, pgt_flags;
};

static const struct s2_tool_format s2_tool_formats[] = {
	{ "arm64", "arm64-4k", "arm64 4K", S2_FMT_ARM64, 12, 0, 0, 0 },
	{ "arm64-16k", NULL, "arm64 16K", S2_FMT_ARM64, 14, 0, 0, 0 },
	{ "arm64-64k", NULL, "arm64 64K", S2_FMT_ARM64, 16, 0, 0, 0 },
	{ "arm64-lpa2", "arm64-4k-lpa2", "arm64 4K LPA2, 52-bit IPA/OA from level -1",
	  S2_FMT_ARM64, 12, 52, 52, S2_PGT_LPA2 | S2_PGT_NO_CONCAT },
	{ "arm64-16k-lpa2", NULL, "arm64 16K LPA2, 52-bit IPA/OA", S2_FMT_ARM64, 14, 52, 52,
	  S2_PGT_LPA2 },
	{ "arm64-64k-lpa", NULL, "arm64 64K LPA, 52-bit IPA/OA", S2_FMT_ARM64, 16, 52, 52, 0 },
	{ "ept", NULL, "x86 EPT 4-level", S2_FMT_EPT, 12, 0, 0, 0 },
	{ "test", NULL, "test format", S2_FMT_TEST, 12, 0, 0, 0 },
};
#define S2_NR_TOOL_FORMATS (sizeof(s2_tool_formats) / sizeof(s2_tool_formats[0]))

/* The configuration named @name (or its alias), or NULL. */
static inline const struct s2_tool_format *s2_tool_format_find(const char *name)
{
	for (unsigned i = 0; i < S2_NR_TOOL_FORMATS; i++)
		if (!strcmp(name, s2_tool_formats[i].name) ||
		    (s2_tool_formats[i].alias && !strcmp(name, s2_tool_formats[i].alias)))
			return &s2_tool_formats[i];
	return NULL;
}

/* The entry a configuration came from (matched on format, granule and the
 * 52-bit flags), for printing its name back; never NULL. */
static inline const struct s2_tool_format *s2_tool_format_of(enum s2_format_id id,
							     unsigned granule_shift,
							     unsigned pgt_flags, unsigned ia_bits)
{
	for (unsigned i = 0; i < S2_NR_TOOL_FORMATS; i++) {
		const struct s2_tool_format *f = &s2_tool_formats[i];

		if (f->id == id && f->granule_shift == granule_shift &&
		    (f->pgt_flags & S2_PGT_LPA2) == (pgt_flags & S2_PGT_LPA2) &&
		    (f->ia_bits > 48) == (ia_bits > 48))
			return f;
	}
	return &s2_tool_formats[0];
}

#endif
