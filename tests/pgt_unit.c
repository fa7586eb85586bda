/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Engine unit tests: geometry, descriptor encodings, every operation on
 * every format, the bad-input table, break-before-make ordering and TLB
 * operation counts observed through the hooks, cache maintenance order on
 * a non-FWB platform, and parallel shared maps.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "pgt_common.h"

#define K4 4096ULL
#define M2 (2ULL << 20)
#define G1 (1ULL << 30)

static int init_fmt(struct s2_pgtable *pgt, struct s2_hosted *h, enum s2_format_id id,
		    unsigned gs, unsigned ia, unsigned oa, unsigned flags)
{
	struct s2_pgt_cfg cfg = { id, gs, ia, oa, flags, s2_hosted_platform(), h };

	return s2_pgt_init(pgt, &cfg);
}

/* ------------------------------------------------------------ geometry */

static void test_geometry(void)
{
	static const struct { unsigned gs, ia, oa; int ret, sl; unsigned entries; } g[] = {
		/* formats.md 1.7: KVM's choices, concatenating as allowed */
		{ 12, 32, 48, 0, 2, 2048 },	/* L2 + 4 tables */
		{ 12, 36, 48, 0, 1, 64 },
		{ 12, 40, 48, 0, 1, 1024 },	/* L1 + 2 tables */
		{ 12, 42, 48, 0, 1, 4096 },	/* L1 + 8 tables */
		{ 12, 44, 48, 0, 0, 32 },
		{ 12, 48, 48, 0, 0, 512 },
		{ 14, 48, 48, 0, 1, 4096 },	/* 16K 48-bit: L1 + 2 tables */
		{ 14, 40, 48, 0, 2, 32768 },	/* L2 + 16 tables */
		{ 14, 36, 48, 0, 2, 2048 },
		{ 16, 48, 48, 0, 1, 64 },
		{ 16, 42, 48, 0, 2, 8192 },
		{ 16, 43, 48, 0, 2, 16384 },	/* L2 + 2 tables */
		{ 16, 32, 48, 0, 2, 8 },
		/* the narrowest OA each start level allows (formats.md 1.7:
		 * level 0 with 4K, level 1 with 16K / 64K) */
		{ 12, 44, 44, 0, 0, 32 },
		/* an OA below those bounds is fine at the other start levels */
		{ 12, 40, 40, 0, 1, 1024 },
		{ 14, 40, 40, 0, 2, 32768 },
		{ 16, 42, 42, 0, 2, 8192 },
		{ 14, 42, 42, 0, 1, 64 },
		{ 16, 46, 46, 0, 2, 131072 },	/* L2 + 16 tables */
		{ 16, 47, 47, 0, 1, 32 },
		/* illegal */
		{ 14, 41, 41, -S2_EINVAL, 0, 0 },	/* 16K level 1 needs OA >= 42 */
		{ 12, 31, 48, -S2_EINVAL, 0, 0 },
		{ 12, 49, 48, -S2_EINVAL, 0, 0 },
		{ 13, 40, 48, -S2_EINVAL, 0, 0 },
		{ 12, 44, 40, -S2_EINVAL, 0, 0 },	/* IPA wider than OA */
		{ 12, 40, 50, -S2_EINVAL, 0, 0 },	/* OA > 48 unsupported */
		{ 16, 44, 42, -S2_EINVAL, 0, 0 },
	};
	struct s2_hosted *h = s2_hosted_new();

	for (size_t i = 0; i < sizeof(g) / sizeof(g[0]); i++) {
		struct s2_pgtable pgt;
		int ret = init_fmt(&pgt, h, S2_FMT_ARM64, g[i].gs, g[i].ia, g[i].oa, 0);

		if (g[i].ret) {
			tap_ok(ret == g[i].ret, "geometry %uK IPA %u OA %u rejected (%d)",
			       1U << (g[i].gs - 10), g[i].ia, g[i].oa, ret);
			continue;
		}
		tap_ok(ret == 0 && pgt.start_level == g[i].sl && pgt.root_entries == g[i].entries,
		       "geometry %uK IPA %u: start level %d (want %d), %u root entries (want %u)",
		       1U << (g[i].gs - 10), g[i].ia, pgt.start_level, g[i].sl,
		       pgt.root_entries, g[i].entries);
		s2_pgt_destroy(&pgt);
	}
	{
		struct s2_pgt_cfg bad = { S2_FMT_ARM64, 12, 40, 48, 0, NULL, h };
		struct s2_pgtable pgt;

		tap_ok(s2_pgt_init(&pgt, &bad) == -S2_EINVAL, "init without platform hooks: -EINVAL");
		tap_ok(s2_pgt_init(NULL, &bad) == -S2_EINVAL, "init with NULL table: -EINVAL");
		bad.plat = s2_hosted_platform();
		bad.flags = 0x100;
		tap_ok(s2_pgt_init(&pgt, &bad) == -S2_EINVAL, "init with unknown flag: -EINVAL");
		bad.flags = 0;
		bad.format = (enum s2_format_id)7;
		tap_ok(s2_pgt_init(&pgt, &bad) == -S2_EINVAL, "init with unknown format: -EINVAL");
	}
	s2_hosted_free(h);
}

/*
 * 52-bit addresses and the no-concatenation policy (formats.md 1.7, Arm
 * ARM S2InvalidSL / S2InconsistentSL as QEMU models them): level -1 is
 * 4K with DS = 1 only, 16K level 0 needs DS = 1, a 52-bit IPA or OA needs
 * DS = 1 with 4K / 16K and FEAT_LPA (PS = 52) with 64K.  A rejected
 * configuration allocates nothing.
 */
static void test_geometry_52(void)
{
	static const struct { unsigned gs, ia, oa, flags; int ret, sl; unsigned entries; } g[] = {
		{ 12, 52, 52, S2_PGT_LPA2, 0, 0, 8192 },	/* L0 + 16 tables (KVM) */
		{ 12, 52, 52, S2_PGT_LPA2 | S2_PGT_NO_CONCAT, 0, -1, 16 },
		{ 12, 49, 52, S2_PGT_LPA2 | S2_PGT_NO_CONCAT, 0, -1, 2 },
		{ 12, 49, 52, S2_PGT_LPA2, 0, 0, 1024 },	/* L0 + 2 tables */
		{ 12, 48, 48, S2_PGT_LPA2 | S2_PGT_NO_CONCAT, 0, 0, 512 },
		{ 12, 40, 48, S2_PGT_NO_CONCAT, 0, 0, 2 },
		{ 12, 40, 48, S2_PGT_LPA2, 0, 1, 1024 },
		{ 14, 52, 52, S2_PGT_LPA2, 0, 0, 32 },
		{ 14, 52, 52, S2_PGT_LPA2 | S2_PGT_NO_CONCAT, 0, 0, 32 },
		{ 14, 48, 48, S2_PGT_LPA2 | S2_PGT_NO_CONCAT, 0, 0, 2 },
		{ 14, 48, 48, S2_PGT_LPA2, 0, 1, 4096 },	/* still L1 + 2 tables */
		{ 16, 52, 52, 0, 0, 1, 1024 },
		{ 16, 52, 52, S2_PGT_NO_CONCAT, 0, 1, 1024 },
		{ 16, 49, 52, 0, 0, 1, 128 },
		{ 16, 48, 52, 0, 0, 1, 64 },
		{ 16, 43, 48, S2_PGT_NO_CONCAT, 0, 1, 2 },
		/* illegal */
		{ 12, 52, 52, 0, -S2_EINVAL, 0, 0 },		/* 52-bit IPA without DS */
		{ 12, 48, 52, 0, -S2_EINVAL, 0, 0 },		/* 52-bit OA without DS */
		{ 14, 52, 52, 0, -S2_EINVAL, 0, 0 },
		{ 14, 48, 48, S2_PGT_NO_CONCAT, -S2_EINVAL, 0, 0 },	/* 16K L0 without DS */
		{ 12, 40, 40, S2_PGT_NO_CONCAT, -S2_EINVAL, 0, 0 },	/* 4K L0: PARange < 44 */
		{ 16, 48, 48, S2_PGT_LPA2, -S2_EINVAL, 0, 0 },	/* no DS with 64K */
		{ 16, 52, 48, 0, -S2_EINVAL, 0, 0 },		/* IPA wider than OA */
		{ 12, 52, 48, S2_PGT_LPA2, -S2_EINVAL, 0, 0 },
		{ 12, 50, 50, S2_PGT_LPA2, -S2_EINVAL, 0, 0 },	/* no PS encoding for 50 */
		{ 16, 48, 51, 0, -S2_EINVAL, 0, 0 },
		{ 12, 53, 52, S2_PGT_LPA2, -S2_EINVAL, 0, 0 },
		{ 12, 48, 53, S2_PGT_LPA2, -S2_EINVAL, 0, 0 },
	};
	struct s2_hosted *h = s2_hosted_new();
	struct s2_hosted_stats st;

	for (size_t i = 0; i < S2_ARRAY_SIZE(g); i++) {
		struct s2_pgtable pgt;
		int ret = init_fmt(&pgt, h, S2_FMT_ARM64, g[i].gs, g[i].ia, g[i].oa, g[i].flags);

		if (g[i].ret) {
			s2_hosted_get_stats(h, &st);
			tap_ok(ret == g[i].ret && st.pages_live == 0,
			       "geometry %uK IPA %u OA %u flags %#x rejected (%d), nothing allocated",
			       1U << (g[i].gs - 10), g[i].ia, g[i].oa, g[i].flags, ret);
			continue;
		}
		tap_ok(ret == 0 && pgt.start_level == g[i].sl && pgt.root_entries == g[i].entries &&
		       pgt.root_size == ((size_t)g[i].entries * 8 > ((size_t)1 << g[i].gs) ?
					(size_t)g[i].entries * 8 : (size_t)1 << g[i].gs),
		       "geometry %uK IPA %u OA %u flags %#x: start level %d (want %d), %u root "
		       "entries (want %u)", 1U << (g[i].gs - 10), g[i].ia, g[i].oa, g[i].flags,
		       pgt.start_level, g[i].sl, pgt.root_entries, g[i].entries);
		if (!ret)
			s2_pgt_destroy(&pgt);
	}
	/* the flags belong to arm64 (and, for the root policy, the test format) */
	{
		struct s2_pgtable pgt;
		int r1 = init_fmt(&pgt, h, S2_FMT_EPT, 12, 48, 48, S2_PGT_LPA2);
		int r2 = init_fmt(&pgt, h, S2_FMT_EPT, 12, 48, 48, S2_PGT_NO_CONCAT);
		int r3 = init_fmt(&pgt, h, S2_FMT_TEST, 12, 40, 48, S2_PGT_LPA2);
		int r4 = init_fmt(&pgt, h, S2_FMT_TEST, 12, 40, 52, 0);

		s2_hosted_get_stats(h, &st);
		tap_ok(r1 == -S2_EINVAL && r2 == -S2_EINVAL && r3 == -S2_EINVAL && r4 == -S2_EINVAL &&
		       st.pages_live == 0,
		       "LPA2 / no-concatenation on EPT, LPA2 or a 52-bit OA on the test format: "
		       "-EINVAL, nothing allocated");
		tap_ok(init_fmt(&pgt, h, S2_FMT_TEST, 12, 40, 48, S2_PGT_NO_CONCAT) == 0 &&
		       pgt.start_level == 0 && pgt.root_entries == 2,
		       "test format without concatenation: level 0, 2 entries");
		s2_pgt_destroy(&pgt);
		tap_ok(init_fmt(&pgt, h, S2_FMT_EPT, 12, 52, 52, S2_PGT_EPT_AD) == 0 &&
		       pgt.fmt.lv[S2_LVL(3)].oa_mask == S2_GENMASK(51, 12) && !pgt.fmt.addr_split,
		       "EPT with a 52-bit output: one contiguous field [51:12]");
		s2_pgt_destroy(&pgt);
	}
	s2_hosted_free(h);
}

/* ------------------------------------------------------------ encoding */

static void test_arm64_encoding(void)
{
	struct s2_hosted *h = s2_hosted_new();
	struct s2_pgtable pgt;
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	struct s2_mapping m;
	const uint64_t pa = 0x80000000ULL;
	/* S2AP RW (7:6), SH inner (9:8), AF (10), page type 0b11 */
	const uint64_t lo = 0xc0 | 0x300 | 0x400;
	const uint64_t xn = 1ULL << 54;

	init_fmt(&pgt, h, S2_FMT_ARM64, 12, 40, 48, 0);
	s2_memcache_topup(&pgt, &mc, 8);
	s2_pgt_map(&pgt, s2_gpa(0x1000), K4, s2_hpa(pa), S2_PROT_R | S2_PROT_W, 0, &mc, 0);
	s2_pgt_lookup(&pgt, s2_gpa(0x1000), &m);
	tap_ok(m.raw == (pa | 3 | lo | (6 << 2) | xn),
	       "arm64 4K page RW normal (FWB): %#llx", (unsigned long long)m.raw);
	s2_pgt_map(&pgt, s2_gpa(M2), M2, s2_hpa(pa + M2), S2_PROT_R | S2_PROT_X, 0, &mc, 0);
	s2_pgt_lookup(&pgt, s2_gpa(M2), &m);
	tap_ok(m.level == 2 && m.raw == ((pa + M2) | 1 | 0x40 | 0x300 | 0x400 | (6 << 2)),
	       "arm64 2M block RX: level %d %#llx", m.level, (unsigned long long)m.raw);
	s2_pgt_map(&pgt, s2_gpa(0x3000), K4, s2_hpa(0x9000), S2_PROT_R | S2_PROT_DEVICE, 0, &mc, 0);
	s2_pgt_lookup(&pgt, s2_gpa(0x3000), &m);
	tap_ok(m.raw == (0x9000 | 3 | 0x40 | 0x300 | 0x400 | (1 << 2) | xn) &&
	       m.prot == (S2_PROT_R | S2_PROT_DEVICE),
	       "arm64 device nGnRE page RO: %#llx", (unsigned long long)m.raw);
	s2_pgt_map(&pgt, s2_gpa(G1), G1, s2_hpa(G1 * 3), S2_PROT_R, 0, &mc, 0);
	s2_pgt_lookup(&pgt, s2_gpa(G1 + 0x5000), &m);
	tap_ok(m.level == 1 && m.size == G1 && m.pa.v == G1 * 3 && (m.raw & 3) == 1,
	       "arm64 4K: 1G block at level 1");
	s2_pgt_destroy(&pgt);
	s2_memcache_free(&pgt, &mc);

	init_fmt(&pgt, h, S2_FMT_ARM64, 12, 40, 48, S2_PGT_NO_FWB);
	s2_memcache_topup(&pgt, &mc, 8);
	s2_pgt_map(&pgt, s2_gpa(0), K4, s2_hpa(pa), S2_PROT_R, 0, &mc, 0);
	s2_pgt_lookup(&pgt, s2_gpa(0), &m);
	tap_ok(((m.raw >> 2) & 0xf) == 0xf, "arm64 without FWB: Normal-WB MemAttr 0b1111");
	s2_pgt_destroy(&pgt);
	s2_memcache_free(&pgt, &mc);

	/* 16K and 64K block sizes */
	init_fmt(&pgt, h, S2_FMT_ARM64, 14, 40, 48, 0);
	s2_memcache_topup(&pgt, &mc, 8);
	s2_pgt_map(&pgt, s2_gpa(32 << 20), 32 << 20, s2_hpa(64 << 20), S2_PROT_R, 0, &mc, 0);
	s2_pgt_lookup(&pgt, s2_gpa(33 << 20), &m);
	tap_ok(m.level == 2 && m.size == (32 << 20) && m.pa.v == (64 << 20) &&
	       (m.raw & S2_GENMASK(47, 25)) == (64 << 20), "arm64 16K: 32M block at level 2");
	s2_pgt_destroy(&pgt);
	s2_memcache_free(&pgt, &mc);
	init_fmt(&pgt, h, S2_FMT_ARM64, 16, 42, 48, 0);
	s2_memcache_topup(&pgt, &mc, 8);
	s2_pgt_map(&pgt, s2_gpa(512 << 20), 512 << 20, s2_hpa(1ULL << 30), S2_PROT_R, 0, &mc, 0);
	s2_pgt_lookup(&pgt, s2_gpa(600 << 20), &m);
	tap_ok(m.level == 2 && m.size == (512 << 20) && m.pa.v == (1ULL << 30),
	       "arm64 64K: 512M block at level 2");
	s2_pgt_map(&pgt, s2_gpa(0x10000), 0x10000, s2_hpa(0x30000), S2_PROT_R, 0, &mc, 0);
	s2_pgt_lookup(&pgt, s2_gpa(0x10000), &m);
	tap_ok(m.level == 3 && (m.raw & 3) == 3 && (m.raw & S2_GENMASK(47, 16)) == 0x30000,
	       "arm64 64K: page at level 3");
	s2_pgt_destroy(&pgt);
	s2_memcache_free(&pgt, &mc);
	s2_hosted_free(h);
}

/*
 * 52-bit encodings, checked bit by bit against the Arm ARM layout
 * (formats.md 1.3, 1.4): with DS = 1 the output and next-table addresses
 * are [49:ps] in place plus OA[51:50] in [9:8], and a leaf has no SH
 * field; with FEAT_LPA (64K, PS = 52) OA[51:48] sit in [15:12].  Table
 * pages live above 2^48 here (TFMT_PA_HI), so table descriptors carry
 * the top pieces too, and the walk by s2_pte_child, which decodes them,
 * must reach the leaf lookup finds.
 */
static uint64_t lpa2_addr(uint64_t pa, unsigned lo)
{
	return (pa & S2_GENMASK(49, lo)) | ((pa >> 50) & 3) << 8;
}

static uint64_t lpa_addr(uint64_t pa, unsigned lo)
{
	return (pa & S2_GENMASK(47, lo)) | ((pa >> 48) & 0xf) << 12;
}

/* Walk from the root to @ipa's leaf by s2_pte_child; every table
 * descriptor on the way must encode its child's physical address as
 * @enc says.  Return the level reached, -9 on a bad table descriptor. */
static int walk_52(struct s2_pgtable *pgt, uint64_t ipa, uint64_t (*enc)(uint64_t, unsigned),
		   uint64_t *leaf)
{
	uint64_t *table = pgt->root;
	int level = pgt->start_level;

	for (;;) {
		unsigned sh = pgt->shift[S2_LVL(level)];
		uint64_t idx = (ipa >> sh) & (level == pgt->start_level ?
					      pgt->root_entries - 1 :
					      (1ULL << pgt->fmt.bits_per_level) - 1);
		uint64_t pte = table[idx];
		uint64_t *child = s2_pte_child(pgt, pte, level);

		if (!child) {
			*leaf = pte;
			return level;
		}
		if ((pte & ~S2_GENMASK(1, 0)) !=
		    enc((uint64_t)(uintptr_t)child + TFMT_PA_HI, pgt->page_shift))
			return -9;
		table = child;
		level++;
	}
}

static void test_arm64_encoding_52(void)
{
	static const struct tfmt hi4 = { "4k-lpa2", S2_FMT_ARM64, 12, 52,
					 S2_PGT_LPA2 | S2_PGT_NO_CONCAT, 52, TFMT_PA_HI };
	static const struct tfmt hi16 = { "16k-lpa2", S2_FMT_ARM64, 14, 52, S2_PGT_LPA2, 52,
					  TFMT_PA_HI };
	static const struct tfmt hi64 = { "64k-lpa", S2_FMT_ARM64, 16, 52, 0, 52, TFMT_PA_HI };
	const uint64_t rw = 0xc0 | 0x400 | (6 << 2);	/* S2AP RW, AF, Normal-WB (FWB) */
	const uint64_t xn = 1ULL << 54;
	struct s2_hosted *h = s2_hosted_new();
	struct s2_pgtable pgt;
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	struct s2_mapping m;
	uint64_t ipa, pa, leaf;

	/* 4K, DS = 1, 52-bit IPA from level -1 */
	tfmt_init(&pgt, h, &hi4, 0);
	s2_memcache_topup(&pgt, &mc, 16);
	ipa = S2_GENMASK(51, 12);			/* the last page of the IPA space */
	pa = 0xdULL << 48 | 0x2345678000ULL;		/* OA[51:50] = 0b11, [49:48] = 0b01 */
	s2_pgt_map(&pgt, s2_gpa(ipa), K4, s2_hpa(pa), S2_PROT_R | S2_PROT_W, 0, &mc, 0);
	s2_pgt_lookup(&pgt, s2_gpa(ipa), &m);
	tap_ok(pgt.start_level == -1 && m.valid && m.level == 3 && m.pa.v == pa &&
	       m.raw == (lpa2_addr(pa, 12) | 3 | rw | xn) && m.prot == (S2_PROT_R | S2_PROT_W),
	       "arm64 4K LPA2: page at the top of a 52-bit IPA, OA[51:50] in [9:8], no SH: %#llx",
	       (unsigned long long)m.raw);
	tap_ok(walk_52(&pgt, ipa, lpa2_addr, &leaf) == 3 && leaf == m.raw,
	       "arm64 4K LPA2: level -1..2 table descriptors hold [49:12] + [51:50] in [9:8]");
	s2_pgt_map(&pgt, s2_gpa(0x3000), K4, s2_hpa(0xf000000009000ULL), S2_PROT_R | S2_PROT_DEVICE,
		   0, &mc, 0);
	s2_pgt_lookup(&pgt, s2_gpa(0x3000), &m);
	tap_ok(m.prot == (S2_PROT_R | S2_PROT_DEVICE) && m.pa.v == 0xf000000009000ULL &&
	       m.raw == (lpa2_addr(0xf000000009000ULL, 12) | 3 | 0x40 | 0x400 | (1 << 2) | xn),
	       "arm64 4K LPA2: device page with OA[51:50] set reads back as device: %#llx",
	       (unsigned long long)m.raw);
	/* a 512G block at level 0 (DS = 1 only) */
	s2_memcache_topup(&pgt, &mc, 16);
	ipa = 0xa5ULL << 39;
	pa = 0xbULL << 48 | 0x3ULL << 39;
	tap_ok(s2_pgt_max_block(&pgt, 0) == 1ULL << 39 &&
	       s2_pgt_map(&pgt, s2_gpa(ipa), 1ULL << 39, s2_hpa(pa), S2_PROT_R, 0, &mc, 0) == 0 &&
	       s2_pgt_lookup(&pgt, s2_gpa(ipa + 0x1234000), &m) == 0 && m.level == 0 &&
	       m.size == 1ULL << 39 && m.pa.v == pa && (m.raw & 3) == 1 &&
	       (m.raw & (S2_GENMASK(49, 12) | S2_GENMASK(9, 8))) == lpa2_addr(pa, 39),
	       "arm64 4K LPA2: 512G block at level 0: %#llx", (unsigned long long)m.raw);
	s2_pgt_destroy(&pgt);
	s2_memcache_free(&pgt, &mc);

	/* 16K, DS = 1: level 0 root of 32 entries, 64G blocks at level 1 */
	tfmt_init(&pgt, h, &hi16, 0);
	s2_memcache_topup(&pgt, &mc, 16);
	ipa = 0x1fULL << 47 | 0x4000;
	pa = 0x9ULL << 48 | 0x7654320000ULL;
	s2_pgt_map(&pgt, s2_gpa(ipa), 16384, s2_hpa(pa), S2_PROT_R | S2_PROT_W, 0, &mc, 0);
	s2_pgt_lookup(&pgt, s2_gpa(ipa), &m);
	tap_ok(pgt.start_level == 0 && pgt.root_entries == 32 && m.level == 3 && m.pa.v == pa &&
	       m.raw == (lpa2_addr(pa, 14) | 3 | rw | xn),
	       "arm64 16K LPA2: page, OA[51:50] in [9:8]: %#llx", (unsigned long long)m.raw);
	tap_ok(walk_52(&pgt, ipa, lpa2_addr, &leaf) == 3 && leaf == m.raw,
	       "arm64 16K LPA2: table descriptors hold [49:14] + [51:50] in [9:8]");
	ipa = 0x3ULL << 36;
	pa = 0x5ULL << 48 | 0x7ULL << 36;
	tap_ok(s2_pgt_map(&pgt, s2_gpa(ipa), 1ULL << 36, s2_hpa(pa), S2_PROT_R, 0, &mc, 0) == 0 &&
	       s2_pgt_lookup(&pgt, s2_gpa(ipa), &m) == 0 && m.level == 1 &&
	       m.size == 1ULL << 36 && m.pa.v == pa && (m.raw & 3) == 1,
	       "arm64 16K LPA2: 64G block at level 1");
	s2_pgt_destroy(&pgt);
	s2_memcache_free(&pgt, &mc);

	/* 64K, FEAT_LPA: OA[51:48] in [15:12], 4T blocks at level 1 */
	tfmt_init(&pgt, h, &hi64, 0);
	s2_memcache_topup(&pgt, &mc, 16);
	ipa = S2_GENMASK(51, 16);
	pa = 0xaULL << 48 | 0x123450000ULL;
	s2_pgt_map(&pgt, s2_gpa(ipa), 0x10000, s2_hpa(pa), S2_PROT_R | S2_PROT_W, 0, &mc, 0);
	s2_pgt_lookup(&pgt, s2_gpa(ipa), &m);
	tap_ok(pgt.start_level == 1 && pgt.root_entries == 1024 && m.level == 3 && m.pa.v == pa &&
	       m.raw == (lpa_addr(pa, 16) | 3 | rw | 0x300 | xn),
	       "arm64 64K LPA: page, OA[51:48] in [15:12], SH kept: %#llx",
	       (unsigned long long)m.raw);
	tap_ok(walk_52(&pgt, ipa, lpa_addr, &leaf) == 3 && leaf == m.raw,
	       "arm64 64K LPA: table descriptors hold [47:16] + [51:48] in [15:12]");
	ipa = 0x3ULL << 42;
	pa = 0xfULL << 48 | 0x2ULL << 42;
	tap_ok(s2_pgt_map(&pgt, s2_gpa(ipa), 1ULL << 42, s2_hpa(pa), S2_PROT_R, 0, &mc, 0) == 0 &&
	       s2_pgt_lookup(&pgt, s2_gpa(ipa + 0x10000), &m) == 0 && m.level == 1 &&
	       m.size == 1ULL << 42 && m.pa.v == pa && ((m.raw >> 12) & 0xf) == 0xf,
	       "arm64 64K LPA: 4T block at level 1 with OA[51:48] = 0xf");
	s2_pgt_destroy(&pgt);
	s2_memcache_free(&pgt, &mc);

	/* without a 52-bit output the 64K format has no [15:12] piece and no
	 * level-1 block, and its 48-bit fields stay on the contiguous path */
	init_fmt(&pgt, h, S2_FMT_ARM64, 16, 48, 48, 0);
	tap_ok(!strcmp(pgt.fmt.name, "arm64-64k") && !pgt.fmt.addr_split &&
	       s2_pgt_max_block(&pgt, 0) == 512ULL << 20 &&
	       pgt.fmt.lv[S2_LVL(3)].oa_mask == S2_GENMASK(47, 16),
	       "arm64 64K with a 48-bit output: one contiguous field, blocks up to 512M");
	s2_pgt_destroy(&pgt);
	s2_hosted_free(h);
}

/* --------------------------------------------------- hardware-model API */

/*
 * s2_pte_child and s2_pte_hw_update, what sim/machine and the checker's
 * world walk with: a walk from the root through s2_pte_child reaches the
 * leaf s2_pgt_lookup decodes, and the hardware updates change exactly
 * the access flag and the DBM write permission, and only where the
 * table's flags let hardware make them.
 */
static void test_hw_api(void)
{
	static const unsigned flags[] = { 0, S2_PGT_HW_AF | S2_PGT_HW_DBM };
	struct s2_hosted *h = s2_hosted_new();

	for (size_t f = 0; f < S2_ARRAY_SIZE(flags); f++) {
		struct s2_pgtable pgt;
		struct s2_memcache mc = S2_MEMCACHE_INIT;
		struct s2_mapping m, d;
		const uint64_t ipa = 0x40201000ULL;
		uint64_t *table, pte = 0, old, young;
		int level;
		bool hw = flags[f] != 0;

		init_fmt(&pgt, h, S2_FMT_ARM64, 12, 40, 48, flags[f]);
		s2_memcache_topup(&pgt, &mc, 8);
		s2_pgt_map(&pgt, s2_gpa(ipa), K4, s2_hpa(0x80000000ULL), S2_PROT_R | S2_PROT_W, 0,
			   &mc, 0);
		s2_pgt_lookup(&pgt, s2_gpa(ipa), &m);
		table = pgt.root;
		for (level = pgt.start_level;; level++) {
			pte = table[(ipa >> pgt.shift[S2_LVL(level)]) &
				    (level == pgt.start_level ? pgt.root_entries - 1 : 511)];
			if (!s2_pte_child(&pgt, pte, level))
				break;
			table = s2_pte_child(&pgt, pte, level);
		}
		tap_ok(level == S2_LAST_LEVEL && pte == m.raw,
		       "hw api%s: the walk through s2_pte_child reaches the leaf lookup decodes",
		       hw ? " (HA+HD)" : "");
		/* the leaf made old and read-only with DBM, as dirty logging
		 * with hardware dirty state leaves it */
		s2_pte_decode(&pgt, pte, level, &d);
		old = pte & ~S2_BIT(10) & ~S2_BIT(7);
		young = s2_pte_hw_update(&pgt, old | S2_BIT(51), level, S2_HW_SET_AF);
		tap_ok(d.young && young == (hw ? (old | S2_BIT(51) | S2_BIT(10)) : (old | S2_BIT(51))),
		       "hw api%s: S2_HW_SET_AF sets AF (bit 10) only with hardware AF", hw ? " (HA+HD)" : "");
		s2_pte_decode(&pgt, old | S2_BIT(51), level, &d);
		tap_ok(d.hw_dirty_ok && !(d.prot & S2_PROT_W) &&
		       s2_pte_hw_update(&pgt, old | S2_BIT(51), level, S2_HW_SET_DIRTY) ==
		       (hw ? (old | S2_BIT(51) | S2_BIT(7)) : (old | S2_BIT(51))) &&
		       s2_pte_hw_update(&pgt, old, level, S2_HW_SET_DIRTY) == old,
		       "hw api%s: S2_HW_SET_DIRTY sets S2AP[1] only with DBM set and hardware dirty "
		       "state", hw ? " (HA+HD)" : "");
		tap_ok(s2_pte_hw_update(&pgt, 0, level, S2_HW_SET_AF | S2_HW_SET_DIRTY) == 0 &&
		       !s2_pte_child(&pgt, 0, pgt.start_level),
		       "hw api: an invalid entry is left alone and has no child");
		s2_pgt_destroy(&pgt);
		s2_memcache_free(&pgt, &mc);
	}
	s2_hosted_free(h);
}

/* --------------------------------------------------------- format data */

static unsigned lowbit(uint64_t m) { return m ? (unsigned)__builtin_ctzll(m) : 64; }
static unsigned highbit(uint64_t m) { return m ? 63 - (unsigned)__builtin_clzll(m) : 64; }

/*
 * An address field, piece by piece: every address bit in [lo, hi) held by
 * exactly one descriptor bit of exactly one piece, no piece bit standing
 * for an address bit outside [lo, 52), pieces disjoint, and the hot
 * paths' derived view (mask = all pieces; pos, when the field is not
 * split) saying the same.  NULL, or what is wrong.
 */
static const char *field_bad(const struct s2_addr_field *f, unsigned lo, unsigned hi,
			     uint64_t mask, unsigned pos, bool split, unsigned page_shift)
{
	uint64_t seen = 0;
	unsigned b, i, used = 0;

	for (i = 0; i < S2_ADDR_PIECES; i++) {
		const struct s2_addr_piece *p = &f->p[i];

		if (p->mask & seen)
			return "pieces overlap";
		seen |= p->mask;
		if (!p->mask)
			continue;
		used++;
		if (lowbit(p->mask) < p->pos ||
		    lowbit(p->mask) - p->pos + p->shift < lo ||
		    highbit(p->mask) - p->pos + p->shift > 51)
			return "a piece holds an address bit outside the field";
	}
	for (b = lo; b < hi; b++) {
		unsigned hits = 0;

		for (i = 0; i < S2_ADDR_PIECES; i++) {
			const struct s2_addr_piece *p = &f->p[i];

			if (b >= p->shift && p->pos + (b - p->shift) < 64 &&
			    ((p->mask >> (p->pos + (b - p->shift))) & 1))
				hits++;
		}
		if (hits != 1)
			return "an address bit held by no piece or by two";
	}
	if (mask != seen)
		return "derived mask is not the union of the pieces";
	if (!split && (used > 1 || f->p[0].pos + page_shift != pos + f->p[0].shift))
		return "contiguous fast path disagrees with its piece";
	return NULL;
}

/*
 * Every format, as the engine sees it (struct s2_format): the fields of a
 * leaf never overlap, each sits where its positions say, and the software
 * field the engine keeps its state in (4 bits at sw_pos) lies inside the
 * entry.  Generic code trusts these masks blindly, so a field moved onto
 * another, or past bit 63, would otherwise show only as odd behaviour.
 */
static void test_format_fields(void)
{
	static const struct { const char *name; enum s2_format_id id; unsigned gs, ia, oa, flags; } c[] = {
		{ "arm64-4k", S2_FMT_ARM64, 12, 40, 48, 0 },
		{ "arm64-16k", S2_FMT_ARM64, 14, 48, 48, 0 },
		{ "arm64-64k", S2_FMT_ARM64, 16, 48, 48, 0 },
		{ "ept4", S2_FMT_EPT, 12, 48, 48, 0 },
		{ "ept4-ad", S2_FMT_EPT, 12, 48, 48, S2_PGT_EPT_AD },
		{ "ept5", S2_FMT_EPT, 12, 57, 48, 0 },
		{ "ept5-ad", S2_FMT_EPT, 12, 57, 48, S2_PGT_EPT_AD },
		{ "test", S2_FMT_TEST, 12, 40, 48, 0 },
		{ "arm64-4k-lpa2", S2_FMT_ARM64, 12, 52, 52, S2_PGT_LPA2 | S2_PGT_NO_CONCAT },
		{ "arm64-4k-lpa2", S2_FMT_ARM64, 12, 48, 48, S2_PGT_LPA2 },
		{ "arm64-16k-lpa2", S2_FMT_ARM64, 14, 52, 52, S2_PGT_LPA2 },
		{ "arm64-64k-lpa", S2_FMT_ARM64, 16, 52, 52, 0 },
		{ "ept5-ad", S2_FMT_EPT, 12, 57, 52, S2_PGT_EPT_AD },
	};
	/* the test format's accepted input sizes: 32 to 48 bits, 4K only */
	static const struct { unsigned gs, ia, oa; int ret; } tg[] = {
		{ 12, 32, 48, 0 }, { 12, 48, 48, 0 }, { 12, 31, 48, -S2_EINVAL },
		{ 12, 49, 52, -S2_EINVAL }, { 14, 40, 48, -S2_EINVAL }, { 12, 44, 40, -S2_EINVAL },
	};
	struct s2_hosted *h = s2_hosted_new();

	for (size_t i = 0; i < S2_ARRAY_SIZE(tg); i++) {
		struct s2_pgtable pgt;
		int ret = init_fmt(&pgt, h, S2_FMT_TEST, tg[i].gs, tg[i].ia, tg[i].oa, 0);

		tap_ok(ret == tg[i].ret, "test format, granule %u, IPA %u, OA %u: %d (want %d)",
		       tg[i].gs, tg[i].ia, tg[i].oa, ret, tg[i].ret);
		if (!ret)
			s2_pgt_destroy(&pgt);
	}
	for (size_t i = 0; i < S2_ARRAY_SIZE(c); i++) {
		struct s2_pgtable pgt;
		bool ok = true;
		char why[160] = "";

		if (init_fmt(&pgt, h, c[i].id, c[i].gs, c[i].ia, c[i].oa, c[i].flags)) {
			tap_ok(false, "format %s: init", c[i].name);
			continue;
		}
		tap_ok(!strcmp(pgt.fmt.name, c[i].name), "format name %s (want %s)",
		       pgt.fmt.name, c[i].name);
		for (int l = pgt.start_level; l <= S2_LAST_LEVEL && ok; l++) {
			const struct s2_fmt_level *v = &pgt.fmt.lv[S2_LVL(l)];
			unsigned bshift = pgt.fmt.page_shift +
					  (unsigned)(S2_LAST_LEVEL - l) * pgt.fmt.bits_per_level;
			const uint64_t f[] = { v->oa_mask, v->sw_mask, v->r, v->w, v->x_on | v->x_off,
					       v->af, v->dbm, v->dirty, v->attr_mask, v->type_mask };
			uint64_t seen = 0;
			const char *bad = NULL;

			for (size_t k = 0; k < S2_ARRAY_SIZE(f); k++) {
				if (f[k] & seen)
					snprintf(why, sizeof(why), "L%d: field %zu overlaps another", l, k);
				seen |= f[k];
			}
			/* validity: its own bit (arm64, test: the type field's low
			 * bit) or any of R/W/X (EPT) */
			if ((v->valid_mask & seen & ~v->type_mask) &&
			    (v->valid_mask & ~(v->r | v->w | v->x_on)))
				snprintf(why, sizeof(why), "L%d: valid bit on a field", l);
			if (v->sw_mask != 0xfULL << v->sw_pos || v->sw_pos > 60)
				snprintf(why, sizeof(why), "L%d: software field %#llx at %u", l,
					 (unsigned long long)v->sw_mask, v->sw_pos);
			if ((v->block_ok || l == S2_LAST_LEVEL) &&
			    (bad = field_bad(&v->oa, bshift, c[i].oa, v->oa_mask, v->oa_pos,
					     v->split, pgt.fmt.page_shift)))
				snprintf(why, sizeof(why), "L%d: output field: %s", l, bad);
			if (l < S2_LAST_LEVEL &&
			    ((bad = field_bad(&v->tbl, pgt.fmt.page_shift, c[i].oa, v->tbl_mask,
					      v->tbl_pos, v->split, pgt.fmt.page_shift)) ||
			     (v->tbl_mask & (v->table_bits | v->type_mask)) ||
			     !(v->table_bits & v->valid_mask)))
				snprintf(why, sizeof(why), "L%d: table field: %s", l,
					 bad ? bad : "on the type bits");
			if ((v->attr_normal | v->attr_device) & ~v->attr_mask ||
			    v->attr_normal == v->attr_device)
				snprintf(why, sizeof(why), "L%d: memory types outside their field", l);
			if (!v->locked || (v->locked & v->valid_mask))
				snprintf(why, sizeof(why), "L%d: lock marker %#llx is valid", l,
					 (unsigned long long)v->locked);
			ok = !why[0];
		}
		tap_ok(ok, "format %s: leaf fields disjoint and where their positions say%s%s",
		       c[i].name, ok ? "" : ": ", why);
		/* facts the emulators and the hardware judge, not the engine */
		if (c[i].id == S2_FMT_ARM64) {
			const struct s2_fmt_level *v = &pgt.fmt.lv[S2_LVL(S2_LAST_LEVEL)];

			tap_ok(v->dbm == S2_BIT(51) && v->sw_mask == S2_GENMASK(58, 55) &&
			       v->af == S2_BIT(10) && v->x_off == S2_BIT(54),
			       "%s: DBM bit 51, software bits [58:55], AF bit 10, XN[1] bit 54 "
			       "(Arm ARM stage-2 descriptor, formats.md 1.2)", c[i].name);
		} else if (c[i].id == S2_FMT_EPT) {
			const struct s2_fmt_level *v = &pgt.fmt.lv[S2_LVL(S2_LAST_LEVEL)];
			bool ad = c[i].flags & S2_PGT_EPT_AD;

			tap_ok(v->sw_mask == (v->sw_mask & S2_GENMASK(62, 52)) &&
			       v->af == (ad ? S2_BIT(8) : 0) && v->dirty == (ad ? S2_BIT(9) : 0) &&
			       (v->locked & S2_GENMASK(2, 0)) == 0,
			       "%s: software bits in the ignored [62:52], A bit 8 / D bit 9 with "
			       "A/D on, lock marker not present (SDM EPT format, formats.md 2)",
			       c[i].name);
		}
		s2_pgt_destroy(&pgt);
	}
	s2_hosted_free(h);
}

/* ---------------------------------------------------------------- EPT */

/* EPT leaf fields (SDM vol. 3C EPT chapter; formats.md section 2). */
#define EPT_R		0x1ULL
#define EPT_W		0x2ULL
#define EPT_X		0x4ULL
#define EPT_WB_IPAT	((6ULL << 3) | (1ULL << 6))
#define EPT_PS		(1ULL << 7)
#define EPT_A		(1ULL << 8)
#define EPT_D		(1ULL << 9)

static void test_ept_geometry(void)
{
	static const struct { unsigned gs, ia; unsigned flags; int ret, sl; unsigned entries; } g[] = {
		/* 4-level up to 48 bits, 5-level above; one 4K root always */
		{ 12, 39, 0, 0, 0, 1 },
		{ 12, 40, 0, 0, 0, 2 },
		{ 12, 48, 0, 0, 0, 512 },
		{ 12, 49, 0, 0, -1, 2 },
		{ 12, 52, S2_PGT_EPT_AD, 0, -1, 16 },
		{ 12, 57, 0, 0, -1, 512 },
		/* illegal */
		{ 12, 38, 0, -S2_EINVAL, 0, 0 },
		{ 12, 58, 0, -S2_EINVAL, 0, 0 },
		{ 14, 48, 0, -S2_EINVAL, 0, 0 },
		{ 16, 48, 0, -S2_EINVAL, 0, 0 },
		{ 21, 48, 0, -S2_EINVAL, 0, 0 },
		/* arm64-only flags have no EPT meaning */
		{ 12, 48, S2_PGT_NO_FWB, -S2_EINVAL, 0, 0 },
		{ 12, 48, S2_PGT_HW_AF, -S2_EINVAL, 0, 0 },
		{ 12, 48, S2_PGT_HW_DBM, -S2_EINVAL, 0, 0 },
	};
	struct s2_hosted *h = s2_hosted_new();

	for (size_t i = 0; i < sizeof(g) / sizeof(g[0]); i++) {
		struct s2_pgtable pgt;
		int ret = init_fmt(&pgt, h, S2_FMT_EPT, g[i].gs, g[i].ia, 48, g[i].flags);

		if (g[i].ret) {
			tap_ok(ret == g[i].ret, "EPT granule %u GPA %u flags %#x rejected (%d)",
			       g[i].gs, g[i].ia, g[i].flags, ret);
			continue;
		}
		tap_ok(ret == 0 && pgt.start_level == g[i].sl && pgt.root_entries == g[i].entries &&
		       pgt.root_size == K4,
		       "EPT GPA %u: start level %d (want %d), %u root entries (want %u), 4K root",
		       g[i].ia, pgt.start_level, g[i].sl, pgt.root_entries, g[i].entries);
		s2_pgt_destroy(&pgt);
	}
	{
		struct s2_pgtable pgt;
		bool ok = true;

		/* GPA wider than the output is fine: EPT has no such rule */
		init_fmt(&pgt, h, S2_FMT_EPT, 12, 57, 40, 0);
		for (int l = pgt.start_level; l <= S2_LAST_LEVEL; l++) {
			const struct s2_fmt_level *lv = &pgt.fmt.lv[S2_LVL(l)];

			/* the locked marker must read as not present */
			if ((lv->locked & lv->valid_mask) || !lv->locked ||
			    (lv->locked & (lv->sw_mask | lv->tbl_mask)))
				ok = false;
		}
		tap_ok(ok && pgt.fmt.lv[S2_LVL(-1)].valid_mask == 7,
		       "EPT: locked marker is non-present (bits [2:0] clear) at every level");
		s2_pgt_destroy(&pgt);
	}
	s2_hosted_free(h);
}

struct tbl_bits {
	unsigned tables;
	unsigned bad;
	int min_level;
};

static int ept_table_visit(struct s2_walk_ctx *c, unsigned visit)
{
	struct tbl_bits *t = c->arg;

	(void)visit;
	t->tables++;
	/* RWX, and nothing else below the address: [7:3] are reserved in
	 * non-leaf entries (misconfiguration if set) */
	if ((c->old & 0xfff) != 7)
		t->bad++;
	if (c->level < t->min_level)
		t->min_level = c->level;
	return 0;
}

/* The entry of the valid leaf translating @ipa, as a CPU would write it. */
static int leaf_ptep_visit(struct s2_walk_ctx *c, unsigned visit)
{
	(void)visit;
	if (s2_pte_valid(c->pgt, c->old, c->level))
		*(uint64_t **)c->arg = c->ptep;
	return 0;
}

static uint64_t *leaf_ptep(struct s2_pgtable *pgt, uint64_t ipa)
{
	uint64_t *p = NULL;

	s2_pgt_walk(pgt, s2_gpa(ipa), 1ULL << pgt->page_shift, leaf_ptep_visit, &p, S2_WALK_LEAF);
	return p;
}

static void test_ept_encoding(void)
{
	struct s2_hosted *h = s2_hosted_new();
	struct s2_pgtable pgt;
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	struct s2_mapping m;
	struct tbl_bits tb = { 0, 0, S2_LAST_LEVEL };
	const uint64_t pa = 0x80000000ULL;
	uint64_t *ptep;

	init_fmt(&pgt, h, S2_FMT_EPT, 12, 48, 48, 0);
	s2_memcache_topup(&pgt, &mc, 16);
	s2_pgt_map(&pgt, s2_gpa(0x1000), K4, s2_hpa(pa), S2_PROT_R | S2_PROT_W, 0, &mc, 0);
	s2_pgt_lookup(&pgt, s2_gpa(0x1000), &m);
	tap_ok(m.level == 3 && m.raw == (pa | EPT_R | EPT_W | EPT_WB_IPAT) &&
	       m.prot == (S2_PROT_R | S2_PROT_W) && m.young && !m.dirty,
	       "EPT 4K page RW, WB + ignore-PAT: %#llx", (unsigned long long)m.raw);
	s2_pgt_map(&pgt, s2_gpa(M2), M2, s2_hpa(pa + M2), S2_PROT_R | S2_PROT_X, 0, &mc, 0);
	s2_pgt_lookup(&pgt, s2_gpa(M2 + 0x7000), &m);
	tap_ok(m.level == 2 && m.size == M2 &&
	       m.raw == ((pa + M2) | EPT_R | EPT_X | EPT_WB_IPAT | EPT_PS) &&
	       m.prot == (S2_PROT_R | S2_PROT_X),
	       "EPT 2M leaf RX in the PDE, bit 7 set: %#llx", (unsigned long long)m.raw);
	s2_pgt_map(&pgt, s2_gpa(G1), G1, s2_hpa(G1 * 3), S2_PROT_RWX, 0, &mc, 0);
	s2_pgt_lookup(&pgt, s2_gpa(G1 + 0x5000), &m);
	tap_ok(m.level == 1 && m.size == G1 && m.pa.v == G1 * 3 &&
	       m.raw == ((G1 * 3) | EPT_R | EPT_W | EPT_X | EPT_WB_IPAT | EPT_PS),
	       "EPT 1G leaf RWX in the PDPTE: %#llx", (unsigned long long)m.raw);
	s2_pgt_map(&pgt, s2_gpa(0x3000), K4, s2_hpa(0xfee00000ULL), S2_PROT_R | S2_PROT_W |
		   S2_PROT_DEVICE, 0, &mc, 0);
	s2_pgt_lookup(&pgt, s2_gpa(0x3000), &m);
	tap_ok(m.raw == (0xfee00000ULL | EPT_R | EPT_W) &&
	       m.prot == (S2_PROT_R | S2_PROT_W | S2_PROT_DEVICE),
	       "EPT device page: memory type UC (0), PAT honoured: %#llx",
	       (unsigned long long)m.raw);
	s2_pgt_wrprotect(&pgt, s2_gpa(0x1000), K4);
	s2_pgt_lookup(&pgt, s2_gpa(0x1000), &m);
	tap_ok(m.raw == (pa | EPT_R | EPT_WB_IPAT), "EPT wrprotect clears bit 1 only");
	s2_pgt_relax_perms(&pgt, s2_gpa(0x1000), S2_PROT_X, 0);
	s2_pgt_lookup(&pgt, s2_gpa(0x1000), &m);
	tap_ok(m.raw == (pa | EPT_R | EPT_X | EPT_WB_IPAT) && m.prot == (S2_PROT_R | S2_PROT_X),
	       "EPT execute is direct polarity: relax sets bit 2");
	s2_pgt_walk(&pgt, s2_gpa(0), 1ULL << 48, ept_table_visit, &tb, S2_WALK_TABLE_PRE);
	tap_ok(tb.tables == 3 && tb.bad == 0 && tb.min_level == 0,
	       "EPT 4-level: PML4E, PDPTE and PDE pointers are RWX with [7:3] clear (%u tables)",
	       tb.tables);
	/* without A/D the format has no access flag: young while valid */
	tap_ok(s2_pgt_test_clear_young(&pgt, s2_gpa(M2), M2, true, 0) == 1 &&
	       !s2_pgt_lookup(&pgt, s2_gpa(M2), &m) && m.young &&
	       m.raw == ((pa + M2) | EPT_R | EPT_X | EPT_WB_IPAT | EPT_PS),
	       "EPT without A/D: test-and-clear young reports young, changes nothing");
	tap_ok(s2_pgt_mkyoung(&pgt, s2_gpa(M2), S2_WALK_SHARED) == 0 &&
	       !s2_pgt_lookup(&pgt, s2_gpa(M2), &m) && !(m.raw & (EPT_A | EPT_D)) &&
	       s2_pgt_mkyoung(&pgt, s2_gpa(5 * M2), 0) == -S2_ENOENT &&
	       s2_pgt_test_clear_young(&pgt, s2_gpa(5 * M2), M2, false, 0) == 0,
	       "EPT without A/D: mkyoung succeeds on a leaf, sets no bit; nothing mapped is old");
	s2_pgt_destroy(&pgt);
	s2_memcache_free(&pgt, &mc);

	/* A/D enabled (EPTP[6]) */
	init_fmt(&pgt, h, S2_FMT_EPT, 12, 48, 48, S2_PGT_EPT_AD);
	s2_memcache_topup(&pgt, &mc, 16);
	s2_pgt_map(&pgt, s2_gpa(0x1000), K4, s2_hpa(pa), S2_PROT_R | S2_PROT_W, 0, &mc, 0);
	s2_pgt_lookup(&pgt, s2_gpa(0x1000), &m);
	tap_ok(m.raw == (pa | EPT_R | EPT_W | EPT_WB_IPAT | EPT_A) && m.young && !m.dirty,
	       "EPT A/D: a new leaf is accessed (bit 8), not dirty: %#llx",
	       (unsigned long long)m.raw);
	/* what the CPU does on a write through the leaf: set D */
	ptep = leaf_ptep(&pgt, 0x1000);
	__atomic_fetch_or(ptep, EPT_D, __ATOMIC_RELAXED);
	s2_pgt_lookup(&pgt, s2_gpa(0x1000), &m);
	tap_ok(m.dirty && m.young, "EPT A/D: dirty bit 9 is reported by lookup");
	tap_ok(s2_pgt_test_clear_young(&pgt, s2_gpa(0x1000), K4, true, S2_WALK_SHARED) == 1 &&
	       !s2_pgt_lookup(&pgt, s2_gpa(0x1000), &m) && !m.young && m.dirty &&
	       m.raw == (pa | EPT_R | EPT_W | EPT_WB_IPAT | EPT_D) &&
	       s2_pgt_test_clear_young(&pgt, s2_gpa(0x1000), K4, false, 0) == 0,
	       "EPT A/D: mkold clears bit 8 and keeps the dirty bit");
	tap_ok(s2_pgt_mkyoung(&pgt, s2_gpa(0x1000), 0) == 0 &&
	       !s2_pgt_lookup(&pgt, s2_gpa(0x1000), &m) && (m.raw & EPT_A),
	       "EPT A/D: mkyoung sets bit 8");
	s2_pgt_map(&pgt, s2_gpa(M2), M2, s2_hpa(pa + M2), S2_PROT_R | S2_PROT_W, 0, &mc, 0);
	ptep = leaf_ptep(&pgt, M2);
	__atomic_fetch_or(ptep, EPT_D, __ATOMIC_RELAXED);
	s2_pgt_split(&pgt, s2_gpa(M2), M2, K4, &mc, 0);
	s2_pgt_lookup(&pgt, s2_gpa(M2 + 0x3000), &m);
	tap_ok(m.level == 3 &&
	       m.raw == ((pa + M2 + 0x3000) | EPT_R | EPT_W | EPT_WB_IPAT | EPT_A | EPT_D),
	       "EPT A/D: split carries accessed and dirty into every 4K entry, bit 7 clear: %#llx",
	       (unsigned long long)m.raw);
	s2_pgt_destroy(&pgt);
	s2_memcache_free(&pgt, &mc);

	/* 5-level: a GPA above 2^48 goes through the PML5 */
	init_fmt(&pgt, h, S2_FMT_EPT, 12, 57, 48, 0);
	s2_memcache_topup(&pgt, &mc, 16);
	tb = (struct tbl_bits){ 0, 0, S2_LAST_LEVEL };
	s2_pgt_map(&pgt, s2_gpa((1ULL << 56) + G1 + 0x2000), K4, s2_hpa(pa), S2_PROT_R, 0, &mc, 0);
	s2_pgt_lookup(&pgt, s2_gpa((1ULL << 56) + G1 + 0x2000), &m);
	s2_pgt_walk(&pgt, s2_gpa(0), 1ULL << 57, ept_table_visit, &tb, S2_WALK_TABLE_PRE);
	tap_ok(m.valid && m.level == 3 && m.raw == (pa | EPT_R | EPT_WB_IPAT) &&
	       pgt.nr_tables == 4 && (pgt.root[256] & 0xfff) == 7 &&
	       tb.tables == 4 && tb.bad == 0 && tb.min_level == -1,
	       "EPT 5-level: PML5 entry 256 -> PML4 -> PDPT -> PD -> PT, pointers RWX");
	s2_pgt_unmap(&pgt, s2_gpa(1ULL << 56), G1 * 2);
	pgt.plat->defer_barrier(pgt.ctx);
	tap_ok(pgt.nr_tables == 0 && pgt.root[256] == 0,
	       "EPT 5-level: unmap frees the four tables below the PML5");
	s2_pgt_destroy(&pgt);
	s2_memcache_free(&pgt, &mc);
	s2_hosted_free(h);
}

/* EPT without A/D through the per-format tests of the engine. */
static const struct tfmt ept_no_ad[] = {
	{ "ept4", S2_FMT_EPT, 12, 48, 0, 0, 0 },
	{ "ept5", S2_FMT_EPT, 12, 57, 0, 0, 0 },
};

/* ---------------------------------------------------- every op, format */

static void test_ops(const struct tfmt *f)
{
	struct s2_hosted *h = s2_hosted_new();
	struct s2_pgtable pgt;
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	struct s2_mapping m;
	struct s2_hosted_stats st;
	uint64_t pg, blk;
	int ret;

	tfmt_init(&pgt, h, f, 0);
	pg = 1ULL << pgt.page_shift;
	blk = pgt.span[S2_LVL(2)];
	s2_memcache_topup(&pgt, &mc, 64);

	ret = s2_pgt_map(&pgt, s2_gpa(blk), pg, s2_hpa(8 * blk + pg), S2_PROT_R, 0, &mc, 0);
	s2_pgt_lookup(&pgt, s2_gpa(blk), &m);
	tap_ok(!ret && m.valid && m.level == 3 && m.pa.v == 8 * blk + pg && m.prot == S2_PROT_R &&
	       m.young, "%s: map one page, lookup returns it, young, read-only", f->name);
	s2_pgt_lookup(&pgt, s2_gpa(blk + pg), &m);
	tap_ok(!m.valid, "%s: the next page is not mapped", f->name);

	ret = s2_pgt_map(&pgt, s2_gpa(2 * blk), blk, s2_hpa(4 * blk), S2_PROT_R | S2_PROT_W, 0,
			 &mc, 0);
	s2_pgt_lookup(&pgt, s2_gpa(2 * blk + 3 * pg), &m);
	tap_ok(!ret && m.level == 2 && m.pa.v == 4 * blk && m.ipa.v == 2 * blk,
	       "%s: aligned range becomes one block", f->name);
	ret = s2_pgt_map(&pgt, s2_gpa(4 * blk), blk, s2_hpa(4 * blk), S2_PROT_R, pg, &mc, 0);
	s2_pgt_lookup(&pgt, s2_gpa(4 * blk), &m);
	tap_ok(!ret && m.level == 3, "%s: the caller's cap keeps pages", f->name);
	ret = s2_pgt_map(&pgt, s2_gpa(6 * blk), blk, s2_hpa(4 * blk + pg), S2_PROT_R, 0, &mc, 0);
	s2_pgt_lookup(&pgt, s2_gpa(6 * blk), &m);
	tap_ok(!ret && m.level == 3, "%s: output not congruent: pages", f->name);

	if (pgt.fmt.lv[S2_LVL(2)].af)
		tap_ok(s2_pgt_test_clear_young(&pgt, s2_gpa(2 * blk), blk, true, 0) == 1 &&
		       s2_pgt_test_clear_young(&pgt, s2_gpa(2 * blk), blk, false, 0) == 0,
		       "%s: test-and-clear young: young once, then old", f->name);
	else	/* no access flag: a valid leaf is always young (format.h) */
		tap_ok(s2_pgt_test_clear_young(&pgt, s2_gpa(2 * blk), blk, true, 0) == 1 &&
		       s2_pgt_test_clear_young(&pgt, s2_gpa(2 * blk), blk, false, 0) == 1 &&
		       s2_pgt_test_clear_young(&pgt, s2_gpa(blk + pg), pg, true, 0) == 0,
		       "%s: no access flag: young while valid, mkold a no-op", f->name);
	tap_ok(s2_pgt_mkyoung(&pgt, s2_gpa(2 * blk + pg), 0) == 0 &&
	       s2_pgt_test_clear_young(&pgt, s2_gpa(2 * blk), pg, false, S2_WALK_SHARED) == 1,
	       "%s: mkyoung makes the block young again", f->name);
	tap_ok(s2_pgt_mkyoung(&pgt, s2_gpa(9 * blk), 0) == -S2_ENOENT,
	       "%s: mkyoung on nothing: -ENOENT", f->name);

	tap_ok(s2_pgt_wrprotect(&pgt, s2_gpa(2 * blk), blk) == 0 &&
	       !s2_pgt_lookup(&pgt, s2_gpa(2 * blk), &m) && m.prot == S2_PROT_R,
	       "%s: wrprotect removes W", f->name);
	tap_ok(s2_pgt_relax_perms(&pgt, s2_gpa(2 * blk + pg), S2_PROT_W | S2_PROT_X,
				  S2_WALK_SHARED) == 0 &&
	       !s2_pgt_lookup(&pgt, s2_gpa(2 * blk), &m) && m.prot == S2_PROT_RWX,
	       "%s: relax adds W and X", f->name);
	tap_ok(s2_pgt_relax_perms(&pgt, s2_gpa(9 * blk), S2_PROT_W, 0) == -S2_ENOENT,
	       "%s: relax on nothing: -ENOENT", f->name);

	ret = s2_pgt_split(&pgt, s2_gpa(2 * blk), blk, pg, &mc, 0);
	s2_pgt_lookup(&pgt, s2_gpa(2 * blk + 5 * pg), &m);
	tap_ok(!ret && m.level == 3 && m.pa.v == 4 * blk + 5 * pg && m.prot == S2_PROT_RWX &&
	       m.young, "%s: split keeps output, permissions and access flag", f->name);
	tap_ok(refcheck(&pgt).bad == 0, "%s: refcounts right after split", f->name);

	ret = s2_pgt_unmap(&pgt, s2_gpa(0), 8 * blk);
	s2_pgt_lookup(&pgt, s2_gpa(2 * blk + 5 * pg), &m);
	pgt.plat->defer_barrier(pgt.ctx);
	s2_hosted_get_stats(h, &st);
	tap_ok(!ret && !m.valid && pgt.nr_tables == 0 && st.pages_live == mc.nr,
	       "%s: unmap everything frees every table (%lu left)", f->name, pgt.nr_tables);
	s2_pgt_destroy(&pgt);
	s2_pgt_destroy(&pgt);
	tap_ok(s2_pgt_map(&pgt, s2_gpa(0), pg, s2_hpa(0), S2_PROT_R, 0, &mc, 0) == -S2_EINVAL,
	       "%s: destroy twice is harmless; use after destroy: -EINVAL", f->name);
	s2_memcache_free(&pgt, &mc);
	s2_hosted_get_stats(h, &st);
	tap_ok(st.pages_live == 0, "%s: nothing leaked", f->name);
	s2_hosted_free(h);
}

/* ------------------------------------------------------- bad input */

static uint64_t table_digest(struct s2_pgtable *pgt, uint64_t lim)
{
	uint64_t d = 0, a;
	struct s2_mapping m;

	for (a = 0; a < lim; a += 1ULL << pgt->page_shift) {
		s2_pgt_lookup(pgt, s2_gpa(a), &m);
		d = d * 31 + m.raw;
	}
	return d;
}

static void test_bad_input(const struct tfmt *f)
{
	struct s2_hosted *h = s2_hosted_new();
	struct s2_pgtable pgt;
	struct s2_memcache mc = S2_MEMCACHE_INIT, empty = S2_MEMCACHE_INIT;
	uint64_t pg, ia, d0, lim;
	unsigned ok = 0, n = 0;
	struct s2_mapping m;

	tfmt_init(&pgt, h, f, 0);
	pg = 1ULL << pgt.page_shift;
	ia = 1ULL << pgt.ia_bits;
	lim = 64 * pg;
	s2_memcache_topup(&pgt, &mc, 16);
	s2_pgt_map(&pgt, s2_gpa(0), 16 * pg, s2_hpa(0x100000 * pg), S2_PROT_R | S2_PROT_W, 0,
		   &mc, 0);
	d0 = table_digest(&pgt, lim);
#define BAD(expr, want, what) do {					\
		int r_ = (expr);					\
		n++;							\
		if (r_ == (want) && table_digest(&pgt, lim) == d0)	\
			ok++;						\
		else							\
			tap_diag("%s: %s returned %d, want %d", f->name, what, r_, want); \
	} while (0)
	BAD(s2_pgt_map(&pgt, s2_gpa(pg / 2), pg, s2_hpa(0), S2_PROT_R, 0, &mc, 0), -S2_EINVAL, "map misaligned ipa");
	BAD(s2_pgt_map(&pgt, s2_gpa(0), pg + 1, s2_hpa(0), S2_PROT_R, 0, &mc, 0), -S2_EINVAL, "map misaligned size");
	BAD(s2_pgt_map(&pgt, s2_gpa(0), 0, s2_hpa(0), S2_PROT_R, 0, &mc, 0), -S2_EINVAL, "map zero size");
	BAD(s2_pgt_map(&pgt, s2_gpa(pg), ~0ULL - pg + 1, s2_hpa(0), S2_PROT_R, 0, &mc, 0), -S2_EINVAL, "map overflowing size");
	BAD(s2_pgt_map(&pgt, s2_gpa(ia - pg), 2 * pg, s2_hpa(0), S2_PROT_R, 0, &mc, 0), -S2_ERANGE, "map beyond IPA");
	BAD(s2_pgt_map(&pgt, s2_gpa(0), pg, s2_hpa(1ULL << pgt.oa_bits), S2_PROT_R, 0, &mc, 0), -S2_ERANGE, "map beyond OA");
	BAD(s2_pgt_map(&pgt, s2_gpa(0), pg, s2_hpa(pg / 2), S2_PROT_R, 0, &mc, 0), -S2_EINVAL, "map misaligned pa");
	BAD(s2_pgt_map(&pgt, s2_gpa(0), pg, s2_hpa(0), 0, 0, &mc, 0), -S2_EINVAL, "map no permission");
	BAD(s2_pgt_map(&pgt, s2_gpa(0), pg, s2_hpa(0), S2_PROT_W, 0, &mc, 0), -S2_EINVAL, "map write-only");
	BAD(s2_pgt_map(&pgt, s2_gpa(0), pg, s2_hpa(0), S2_PROT_R | S2_PROT_X | S2_PROT_DEVICE, 0, &mc, 0), -S2_EINVAL, "map executable device");
	BAD(s2_pgt_map(&pgt, s2_gpa(0), pg, s2_hpa(0), S2_PROT_R | 0x80, 0, &mc, 0), -S2_EINVAL, "map unknown prot bit");
	BAD(s2_pgt_map(&pgt, s2_gpa(0), pg, s2_hpa(0), S2_PROT_R, 0, &mc, 0x40), -S2_EINVAL, "map unknown flag");
	BAD(s2_pgt_map(&pgt, s2_gpa(0), pg, s2_hpa(0), S2_PROT_R, pg / 2, &mc, 0), -S2_EINVAL, "map cap below a page");
	BAD(s2_pgt_map(&pgt, s2_gpa(0), pg, s2_hpa(0), S2_PROT_R, 0, NULL, 0), -S2_EINVAL, "map without cache");
	BAD(s2_pgt_map(&pgt, s2_gpa(32 * pg), pg, s2_hpa(0), S2_PROT_R, 0, &empty, 0), -S2_ENOMEM, "map with an empty cache");
	BAD(s2_pgt_map(NULL, s2_gpa(0), pg, s2_hpa(0), S2_PROT_R, 0, &mc, 0), -S2_EINVAL, "map NULL table");
	BAD(s2_pgt_unmap(&pgt, s2_gpa(1), pg), -S2_EINVAL, "unmap misaligned");
	BAD(s2_pgt_unmap(&pgt, s2_gpa(0), 0), -S2_EINVAL, "unmap zero size");
	BAD(s2_pgt_unmap(&pgt, s2_gpa(ia), pg), -S2_ERANGE, "unmap beyond IPA");
	BAD(s2_pgt_wrprotect(&pgt, s2_gpa(0), pg - 1), -S2_EINVAL, "wrprotect misaligned size");
	BAD(s2_pgt_wrprotect(&pgt, s2_gpa(ia - pg), 2 * pg), -S2_ERANGE, "wrprotect beyond IPA");
	BAD(s2_pgt_test_clear_young(&pgt, s2_gpa(0), 0, true, 0), -S2_EINVAL, "young zero size");
	BAD(s2_pgt_test_clear_young(&pgt, s2_gpa(0), pg, true, 0x40), -S2_EINVAL, "young unknown flag");
	BAD(s2_pgt_relax_perms(&pgt, s2_gpa(0), 0, 0), -S2_EINVAL, "relax nothing");
	BAD(s2_pgt_relax_perms(&pgt, s2_gpa(0), S2_PROT_DEVICE, 0), -S2_EINVAL, "relax to device");
	BAD(s2_pgt_relax_perms(&pgt, s2_gpa(ia), S2_PROT_W, 0), -S2_ERANGE, "relax beyond IPA");
	BAD(s2_pgt_mkyoung(&pgt, s2_gpa(ia), 0), -S2_ERANGE, "mkyoung beyond IPA");
	BAD(s2_pgt_split(&pgt, s2_gpa(0), pg, 3 * pg, &mc, 0), -S2_EINVAL, "split to a non-power-of-two");
	BAD(s2_pgt_split(&pgt, s2_gpa(0), pg, pg, NULL, 0), -S2_EINVAL, "split without cache");
	BAD(s2_pgt_lookup(&pgt, s2_gpa(ia), &m), -S2_ERANGE, "lookup beyond IPA");
	BAD(s2_pgt_lookup(&pgt, s2_gpa(0), NULL), -S2_EINVAL, "lookup without output");
	BAD(s2_pgt_walk(&pgt, s2_gpa(0), pg, NULL, NULL, S2_WALK_LEAF), -S2_EINVAL, "walk without visitor");
	BAD(s2_memcache_topup(NULL, &mc, 1), -S2_EINVAL, "topup NULL table");
#undef BAD
	tap_ok(ok == n, "%s: %u bad-input cases return the documented errno and change nothing",
	       f->name, n);
	s2_pgt_destroy(&pgt);
	s2_memcache_free(&pgt, &mc);
	s2_hosted_free(h);
}

/* ------------------------------------------------- BBM and TLB counts */

struct bbm_obs {
	struct s2_pgtable *pgt;
	uint64_t watch;		/* address whose entry must be invalid at TLBI */
	unsigned tlbis, valid_at_tlbi, dcache_before_tlbi, tlbi_seen;
	uint64_t deferred_at_tlbi;
	uint64_t dcache_bytes;
	struct s2_hosted *h;
};

static void bbm_observer(void *arg, enum s2_hosted_event ev, uint64_t a, uint64_t size, int level)
{
	struct bbm_obs *o = arg;
	struct s2_mapping m;

	(void)a;
	(void)size;
	(void)level;
	if (ev == S2_EV_DCACHE) {
		o->dcache_bytes += size;
		if (!o->tlbi_seen)
			o->dcache_before_tlbi++;
		return;
	}
	if (ev == S2_EV_ICACHE)
		return;
	o->tlbis++;
	o->tlbi_seen = 1;
	s2_pgt_lookup(o->pgt, s2_gpa(o->watch), &m);
	if (m.valid)
		o->valid_at_tlbi++;
}

static void test_bbm(const struct tfmt *f)
{
	struct s2_hosted *h = s2_hosted_new();
	struct s2_pgtable pgt;
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	struct s2_mapping m;
	struct s2_hosted_stats st0, st1;
	struct bbm_obs o;
	uint64_t pg, blk;

	tfmt_init(&pgt, h, f, 0);
	pg = 1ULL << pgt.page_shift;
	blk = pgt.span[S2_LVL(2)];
	memset(&o, 0, sizeof(o));
	o.pgt = &pgt;
	o.h = h;
	s2_hosted_set_observer(h, bbm_observer, &o);
	s2_memcache_topup(&pgt, &mc, 64);

	s2_pgt_map(&pgt, s2_gpa(blk), pg, s2_hpa(pg), S2_PROT_R, 0, &mc, 0);
	tap_ok(o.tlbis == 0, "%s: invalid -> valid needs no TLB invalidation", f->name);
	o.watch = blk;
	s2_pgt_map(&pgt, s2_gpa(blk), pg, s2_hpa(2 * pg), S2_PROT_R, 0, &mc, 0);
	s2_pgt_lookup(&pgt, s2_gpa(blk), &m);
	tap_ok(o.tlbis == 1 && o.valid_at_tlbi == 0 && m.pa.v == 2 * pg,
	       "%s: remap to a new output: break, one TLBI while invalid, make", f->name);
	o.tlbis = 0;
	s2_pgt_map(&pgt, s2_gpa(blk), blk, s2_hpa(blk), S2_PROT_R, 0, &mc, 0);
	s2_pgt_lookup(&pgt, s2_gpa(blk), &m);
	tap_ok(o.tlbis == 1 && o.valid_at_tlbi == 0 && m.level == 2,
	       "%s: table -> block collapse: one TLBI (walk caches) while invalid", f->name);
	o.tlbis = 0;
	s2_pgt_split(&pgt, s2_gpa(blk), blk, pg, &mc, 0);
	s2_pgt_lookup(&pgt, s2_gpa(blk), &m);
	tap_ok(o.tlbis == 1 && o.valid_at_tlbi == 0 && m.level == 3,
	       "%s: block -> table split: one TLBI while invalid", f->name);
	o.tlbis = 0;
	s2_pgt_test_clear_young(&pgt, s2_gpa(blk), blk, true, 0);
	s2_pgt_mkyoung(&pgt, s2_gpa(blk), 0);
	tap_ok(o.tlbis == 0, "%s: mkold and mkyoung issue no TLBI", f->name);
	s2_hosted_get_stats(h, &st0);
	s2_pgt_relax_perms(&pgt, s2_gpa(blk), S2_PROT_W, 0);
	s2_pgt_relax_perms(&pgt, s2_gpa(blk), S2_PROT_W, 0);
	s2_hosted_get_stats(h, &st1);
	tap_ok(st1.tlbi_ipa_local - st0.tlbi_ipa_local == 1 && o.tlbis == 1,
	       "%s: relax: one local TLBI, none when nothing changed", f->name);
	o.tlbis = 0;
	s2_pgt_wrprotect(&pgt, s2_gpa(blk), blk);
	tap_ok(o.tlbis == 1, "%s: wrprotect of a contiguous range: one TLBI", f->name);
	o.tlbis = 0;
	o.valid_at_tlbi = 0;	/* wrprotect and relax keep entries valid */
	o.watch = blk + 3 * pg;
	s2_hosted_get_stats(h, &st0);
	s2_pgt_unmap(&pgt, s2_gpa(blk), blk);
	s2_hosted_get_stats(h, &st1);
	/* the level-3 table and every table above it holding only it, up
	 * to (not including) the root */
	tap_ok(o.tlbis == 1 && o.valid_at_tlbi == 0 &&
	       st1.deferred - st0.deferred == (unsigned)(S2_LAST_LEVEL - pgt.start_level),
	       "%s: unmap of a table's span: one TLBI, then the emptied tables' deferred frees (%u, %u, %llu)",
	       f->name, o.tlbis, o.valid_at_tlbi, (unsigned long long)(st1.deferred - st0.deferred));
	s2_hosted_set_observer(h, NULL, NULL);
	s2_pgt_destroy(&pgt);
	s2_memcache_free(&pgt, &mc);
	s2_hosted_free(h);
}

static void test_cmo_order(void)
{
	struct s2_hosted *h = s2_hosted_new();
	struct s2_pgtable pgt;
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	struct s2_hosted_stats st;
	struct bbm_obs o;

	init_fmt(&pgt, h, S2_FMT_ARM64, 12, 40, 48, S2_PGT_NO_FWB);
	s2_memcache_topup(&pgt, &mc, 8);
	s2_pgt_map(&pgt, s2_gpa(0), 4 * K4, s2_hpa(0x10000), S2_PROT_R | S2_PROT_X, 0, &mc, 0);
	s2_hosted_get_stats(h, &st);
	tap_ok(st.dcache_ops == 4 && st.icache_ops == 4,
	       "non-FWB map: data cleaned to PoC and icache invalidated per page");
	memset(&o, 0, sizeof(o));
	o.pgt = &pgt;
	o.watch = 0;
	s2_hosted_set_observer(h, bbm_observer, &o);
	s2_pgt_unmap(&pgt, s2_gpa(0), 4 * K4);
	s2_hosted_get_stats(h, &st);
	tap_ok(o.dcache_before_tlbi == 0 && st.dcache_ops == 8,
	       "non-FWB unmap: clean+invalidate only after the TLBI (I8)");
	s2_hosted_set_observer(h, NULL, NULL);
	s2_pgt_destroy(&pgt);
	s2_memcache_free(&pgt, &mc);
	s2_hosted_free(h);
}

/* ----------------------------------------------------------- fast unmap */

static uint64_t tlbi_ops_(const struct s2_hosted_stats *s)
{
	return s->tlbi_ipa + s->tlbi_range + s->tlbi_vm;
}

static bool range_empty(struct s2_pgtable *pgt, uint64_t a, uint64_t e, uint64_t step)
{
	struct s2_mapping m;

	for (; a < e; a += step) {
		s2_pgt_lookup(pgt, s2_gpa(a), &m);
		if (m.valid)
			return false;
	}
	return true;
}

/*
 * Per-page unmap (its own path, not the walker): one single-entry TLBI per
 * page while the table still holds others; the page that empties the
 * table unlinks it, and every table above holding only it, with one
 * non-leaf TLBI and their deferred frees, like a range unmap of the same
 * span.  A page already unmapped costs nothing.
 */
/*
 * A range unmap invalidates what it unmapped and no more: two leaves with a
 * hole between them are two single-entry invalidations, not one range
 * across the hole (the gather merges only leaves that follow each other).
 */
static void test_unmap_sparse(const struct tfmt *f)
{
	struct s2_hosted *h = s2_hosted_new();
	struct s2_pgtable pgt;
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	struct s2_hosted_stats st0, st1;
	uint64_t pg, base;

	tfmt_init(&pgt, h, f, 0);
	pg = 1ULL << pgt.page_shift;
	base = 4 * pgt.span[S2_LVL(2)];
	int ret = 0;

	/* map refuses up front unless the cache holds a fault's worth */
	for (unsigned i = 0; i < 8 && !ret; i += 2) {	/* pages 0, 2, 4, 6 */
		ret = s2_memcache_topup(&pgt, &mc, s2_pgt_pages_needed(&pgt, s2_gpa(base), pg));
		if (!ret)
			ret = s2_pgt_map(&pgt, s2_gpa(base + i * pg), pg,
					 s2_hpa((1ULL << 40) + i * pg), S2_PROT_R, pg, &mc, 0);
	}
	tap_ok(ret == 0, "%s: pages 0, 2, 4 and 6 mapped (%d)", f->name, ret);
	s2_hosted_get_stats(h, &st0);
	s2_pgt_unmap(&pgt, s2_gpa(base), 3 * pg);
	s2_hosted_get_stats(h, &st1);
	tap_ok(st1.tlbi_ipa - st0.tlbi_ipa == 2 && tlbi_ops_(&st1) - tlbi_ops_(&st0) == 2 &&
	       range_empty(&pgt, base, base + 3 * pg, pg),
	       "%s: unmap of pages 0-2 with 1 unmapped: two single-entry TLBIs (%llu, %llu ops)",
	       f->name, (unsigned long long)(st1.tlbi_ipa - st0.tlbi_ipa),
	       (unsigned long long)(tlbi_ops_(&st1) - tlbi_ops_(&st0)));
	s2_pgt_destroy(&pgt);
	s2_memcache_free(&pgt, &mc);
	s2_hosted_free(h);
}

static void test_unmap_per_page(const struct tfmt *f)
{
	struct s2_hosted *h = s2_hosted_new();
	struct s2_pgtable pgt;
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	struct s2_hosted_stats st0, st1;
	struct refcheck rc;
	uint64_t pg, blk, base, a, n;
	bool leaf_ok = true;

	tfmt_init(&pgt, h, f, 0);
	pg = 1ULL << pgt.page_shift;
	blk = pgt.span[S2_LVL(2)];
	base = 4 * blk;
	s2_memcache_topup(&pgt, &mc, s2_pgt_pages_needed(&pgt, s2_gpa(base), blk));
	s2_pgt_map(&pgt, s2_gpa(base), blk, s2_hpa(1ULL << 40), S2_PROT_R | S2_PROT_W, pg, &mc, 0);
	n = blk / pg;
	for (a = 0; a + 1 < n; a++) {
		s2_hosted_get_stats(h, &st0);
		s2_pgt_unmap(&pgt, s2_gpa(base + a * pg), pg);
		s2_hosted_get_stats(h, &st1);
		leaf_ok &= st1.tlbi_ipa - st0.tlbi_ipa == 1 && tlbi_ops_(&st1) - tlbi_ops_(&st0) == 1 &&
			   st1.deferred == st0.deferred;
	}
	tap_ok(leaf_ok && range_empty(&pgt, base, base + (n - 1) * pg, pg),
	       "%s: per-page unmap: one single-entry TLBI a page, no table freed", f->name);
	s2_hosted_get_stats(h, &st0);
	s2_pgt_unmap(&pgt, s2_gpa(base + (n - 1) * pg), pg);
	s2_hosted_get_stats(h, &st1);
	tap_ok(tlbi_ops_(&st1) - tlbi_ops_(&st0) == 1 && st1.tlbi_ipa == st0.tlbi_ipa &&
	       st1.deferred - st0.deferred == (unsigned)(S2_LAST_LEVEL - pgt.start_level) &&
	       range_empty(&pgt, base, base + blk, pg),
	       "%s: the last page unlinks its table and the ones above it (%llu freed)", f->name,
	       (unsigned long long)(st1.deferred - st0.deferred));
	s2_hosted_get_stats(h, &st0);
	s2_pgt_unmap(&pgt, s2_gpa(base), pg);
	s2_hosted_get_stats(h, &st1);
	rc = refcheck(&pgt);
	pgt.plat->defer_barrier(pgt.ctx);
	s2_hosted_get_stats(h, &st0);
	tap_ok(tlbi_ops_(&st1) == tlbi_ops_(&st0) && rc.bad == 0 &&
	       st0.pages_live == pgt.nr_tables + mc.nr,
	       "%s: unmapping it again: no TLBI; every table accounted for", f->name);
	s2_pgt_destroy(&pgt);
	s2_memcache_free(&pgt, &mc);
	s2_hosted_free(h);
}

/*
 * A fresh table of format @f mapping [0, @nblk level-2 spans) with pages
 * (no blocks: the cap is one page); *@pg and *@blk get the two sizes.
 */
static void map_pages(struct s2_pgtable *pgt, struct s2_hosted *h, const struct tfmt *f,
		      struct s2_memcache *mc, unsigned nblk, uint64_t *pg, uint64_t *blk)
{
	tfmt_init(pgt, h, f, 0);
	*pg = 1ULL << pgt->page_shift;
	*blk = pgt->span[S2_LVL(2)];
	s2_memcache_topup(pgt, mc, s2_pgt_pages_needed(pgt, s2_gpa(0), nblk * *blk));
	s2_pgt_map(pgt, s2_gpa(0), nblk * *blk, s2_hpa(1ULL << 40), S2_PROT_R | S2_PROT_W, *pg,
		   mc, 0);
}

static void test_fast_unmap(const struct tfmt *f)
{
	struct s2_hosted *h = s2_hosted_new();
	struct s2_pgtable pgt;
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	struct s2_hosted_stats st0, st1;
	struct s2_detached det = { 0 };
	struct s2_mapping m;
	struct refcheck rc;
	uint64_t pg, blk, a, e;
	unsigned n;
	bool ok;

	map_pages(&pgt, h, f, &mc, 10, &pg, &blk);
	/* unaligned both ends: leaves at the edges, eight whole tables between */
	a = blk - 2 * pg;
	e = 9 * blk + 3 * pg;
	s2_hosted_get_stats(h, &st0);
	s2_pgt_unmap_fast(&pgt, s2_gpa(a), e - a, NULL);
	s2_hosted_get_stats(h, &st1);
	ok = range_empty(&pgt, a, e, pg);
	s2_pgt_lookup(&pgt, s2_gpa(a - pg), &m);
	ok = ok && m.valid;
	s2_pgt_lookup(&pgt, s2_gpa(e), &m);
	ok = ok && m.valid;
	tap_ok(ok, "%s: fast unmap removes exactly the range", f->name);
	tap_ok(st1.tlbi_range - st0.tlbi_range == 1 && st1.tlbi_ipa == st0.tlbi_ipa &&
	       st1.tlbi_vm == st0.tlbi_vm && st1.tlbi_range_bytes - st0.tlbi_range_bytes == e - a,
	       "%s: fast unmap of %llu pages: one range TLBI over the range", f->name,
	       (unsigned long long)((e - a) / pg));
	tap_ok(st1.deferred - st0.deferred == 8,
	       "%s: eight whole tables detached, each one deferred free (%llu)", f->name,
	       (unsigned long long)(st1.deferred - st0.deferred));

	/* the caller finishes: nothing queued until it does, TLBI already done */
	s2_hosted_get_stats(h, &st0);
	s2_pgt_unmap_fast(&pgt, s2_gpa(0), blk - 2 * pg, &det);
	s2_pgt_unmap_fast(&pgt, s2_gpa(9 * blk), blk, &det);
	s2_hosted_get_stats(h, &st1);
	/* the two tables, then the parents they emptied, unlinked on the way up */
	n = det.nr;
	tap_ok(n >= 2 && st1.deferred == st0.deferred &&
	       tlbi_ops_(&st1) - tlbi_ops_(&st0) == 2 && range_empty(&pgt, 0, 10 * blk, pg),
	       "%s: with a caller's list: detached, invalidated, not yet queued (%u)",
	       f->name, n);
	s2_pgt_unmap_fast_finish(&pgt, &det);
	s2_hosted_get_stats(h, &st0);
	tap_ok(det.nr == 0 && st0.deferred - st1.deferred == n,
	       "%s: finish queues them for the grace period", f->name);
	rc = refcheck(&pgt);
	pgt.plat->defer_barrier(pgt.ctx);
	s2_hosted_get_stats(h, &st0);
	tap_ok(rc.bad == 0 && st0.pages_live == pgt.nr_tables + mc.nr,
	       "%s: after fast unmaps every table is accounted for (%lu tables)", f->name,
	       pgt.nr_tables);
	s2_pgt_destroy(&pgt);
	s2_memcache_free(&pgt, &mc);
	s2_hosted_free(h);
}

/*
 * The deferred unmap leaves its invalidation to the caller: nothing issued
 * until s2_pgt_tlb_flush, adjacent calls merged into one operation, a
 * range that cannot merge flushes the older run, and without FWB (the
 * edges' data is cleaned after their TLBI) nothing is left owed.
 */
static void test_unmap_defer(const struct tfmt *f)
{
	struct s2_hosted *h = s2_hosted_new();
	struct s2_pgtable pgt;
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	struct s2_hosted_stats st0, st1, st2;
	struct s2_detached det = { 0 };
	struct s2_tlb_batch tb = S2_TLB_BATCH_INIT;
	uint64_t pg, blk;
	unsigned n;

	map_pages(&pgt, h, f, &mc, 6, &pg, &blk);
	s2_hosted_get_stats(h, &st0);
	s2_pgt_unmap_defer(&pgt, s2_gpa(0), blk + 3 * pg, &det, &tb);
	s2_pgt_unmap_defer(&pgt, s2_gpa(blk + 3 * pg), blk - 3 * pg, &det, &tb);
	s2_hosted_get_stats(h, &st1);
	n = det.nr;
	tap_ok(tlbi_ops_(&st1) == tlbi_ops_(&st0) && st1.deferred == st0.deferred && n >= 1 &&
	       range_empty(&pgt, 0, 2 * blk, pg) && tb.start == 0 && tb.end == 2 * blk,
	       "%s: deferred unmap: entries gone, no TLBI yet, both calls owed as one run",
	       f->name);
	/* not adjacent: the run owed so far is issued, the new one held */
	s2_pgt_unmap_defer(&pgt, s2_gpa(4 * blk), blk, &det, &tb);
	s2_hosted_get_stats(h, &st2);
	tap_ok(tlbi_ops_(&st2) - tlbi_ops_(&st1) == 1 && tb.start == 4 * blk &&
	       tb.end == 5 * blk,
	       "%s: a run that cannot merge flushes the older one", f->name);
	s2_pgt_tlb_flush(&pgt, &tb);
	s2_pgt_tlb_flush(&pgt, &tb);
	s2_hosted_get_stats(h, &st1);
	tap_ok(tlbi_ops_(&st1) - tlbi_ops_(&st2) == 1 && tb.start == tb.end,
	       "%s: the flush issues what is owed, once", f->name);
	n = det.nr;
	s2_pgt_unmap_fast_finish(&pgt, &det);
	s2_hosted_get_stats(h, &st2);
	tap_ok(st2.deferred - st1.deferred == n && range_empty(&pgt, 4 * blk, 5 * blk, pg),
	       "%s: then finish queues the %u detached tables", f->name, n);
	s2_pgt_destroy(&pgt);
	s2_memcache_free(&pgt, &mc);

	/* EPT has no non-FWB mode (x86 stage 2 is coherent): init refuses it */
	if (tfmt_init(&pgt, h, f, S2_PGT_NO_FWB)) {
		s2_hosted_free(h);
		return;
	}
	s2_memcache_topup(&pgt, &mc, s2_pgt_pages_needed(&pgt, s2_gpa(0), 2 * blk));
	s2_pgt_map(&pgt, s2_gpa(0), 2 * blk, s2_hpa(1ULL << 40), S2_PROT_R, pg, &mc, 0);
	s2_hosted_get_stats(h, &st0);
	s2_pgt_unmap_defer(&pgt, s2_gpa(pg), 2 * blk - pg, &det, &tb);
	s2_hosted_get_stats(h, &st1);
	tap_ok(tlbi_ops_(&st1) - tlbi_ops_(&st0) == 1 && tb.start == tb.end &&
	       st1.dcache_ops > st0.dcache_ops,
	       "%s: non-FWB deferred unmap invalidates and cleans before return", f->name);
	s2_pgt_unmap_fast_finish(&pgt, &det);
	s2_pgt_destroy(&pgt);
	s2_memcache_free(&pgt, &mc);
	s2_hosted_free(h);
}

/* 16 GiB in 16 subtrees: whole-VM past the threshold, else two range ops */
static void test_fast_unmap_tlbi_policy(void)
{
	struct s2_hosted *h = s2_hosted_new();
	struct s2_pgtable pgt;
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	struct s2_hosted_stats st0, st1;
	uint64_t g;
	int pass;

	init_fmt(&pgt, h, S2_FMT_ARM64, 12, 40, 48, 0);
	for (pass = 0; pass < 2; pass++) {
		s2_memcache_topup(&pgt, &mc, 64);
		for (g = 0; g < 16; g++)
			s2_pgt_map(&pgt, s2_gpa(g << 30), K4, s2_hpa(g << 30), S2_PROT_R, 0, &mc, 0);
		if (pass)
			pgt.tlbi_vm_threshold = ~0ULL;
		s2_hosted_get_stats(h, &st0);
		s2_pgt_unmap_fast(&pgt, s2_gpa(0), 16ULL << 30, NULL);
		s2_hosted_get_stats(h, &st1);
		if (!pass)
			tap_ok(st1.tlbi_vm - st0.tlbi_vm == 1 && tlbi_ops_(&st1) - tlbi_ops_(&st0) == 1 &&
			       st1.deferred - st0.deferred == 16,
			       "fast unmap of 16 GiB: 16 subtrees, one whole-VM TLBI");
		else
			tap_ok(st1.tlbi_range - st0.tlbi_range == 2 &&
			       tlbi_ops_(&st1) - tlbi_ops_(&st0) == 2 &&
			       st1.tlbi_range_bytes - st0.tlbi_range_bytes == 16ULL << 30,
			       "range TLBI split at 2^21 pages per operation (formats.md 1.8)");
	}
	s2_pgt_destroy(&pgt);
	s2_memcache_free(&pgt, &mc);
	s2_hosted_free(h);
}

/* Cleans of test_fast_unmap_cmo's scattered mapping: frame 2i only. */
static struct {
	unsigned n, bad;
} ranges;

static void range_observer(void *arg, enum s2_hosted_event ev, uint64_t a, uint64_t size,
			   int level)
{
	(void)arg;
	(void)level;
	if (ev != S2_EV_DCACHE)
		return;
	ranges.n++;
	if (size != K4 || a < 0x20000000 || ((a - 0x20000000) / K4) % 2)
		ranges.bad++;
}

/* Non-FWB: no clean+invalidate before the one TLBI, edges and subtrees. */
static void test_fast_unmap_cmo(void)
{
	struct s2_hosted *h = s2_hosted_new();
	struct s2_pgtable pgt;
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	struct s2_hosted_stats st0, st1;
	struct bbm_obs o;
	uint64_t n = 512 + 512 + 100;	/* two whole tables and 100 edge pages */

	init_fmt(&pgt, h, S2_FMT_ARM64, 12, 40, 48, S2_PGT_NO_FWB);
	s2_memcache_topup(&pgt, &mc, 16);
	s2_pgt_map(&pgt, s2_gpa(M2 - 50 * K4), n * K4, s2_hpa(0x10000000), S2_PROT_R, K4, &mc, 0);
	memset(&o, 0, sizeof(o));
	o.pgt = &pgt;
	o.watch = M2;
	s2_hosted_get_stats(h, &st0);
	s2_hosted_set_observer(h, bbm_observer, &o);
	s2_pgt_unmap_fast(&pgt, s2_gpa(M2 - 50 * K4), n * K4, NULL);
	s2_hosted_set_observer(h, NULL, NULL);
	s2_hosted_get_stats(h, &st1);
	tap_ok(o.dcache_before_tlbi == 0 && o.valid_at_tlbi == 0 && o.tlbis == 1 &&
	       o.dcache_bytes == n * K4,
	       "non-FWB fast unmap: every page cleaned, none before its TLBI (%u TLBIs, %llu CMOs)",
	       o.tlbis, (unsigned long long)(st1.dcache_ops - st0.dcache_ops));
	/* contiguous output: the two detached tables are one run, the edges
	 * one more each (owe_cmo's runs), not 1,124 calls */
	tap_ok(st1.dcache_ops - st0.dcache_ops <= 3,
	       "non-FWB fast unmap: contiguous pages cleaned in runs (%llu CMOs)",
	       (unsigned long long)(st1.dcache_ops - st0.dcache_ops));

	/* every other frame: no run may cover a frame the table did not map */
	for (uint64_t i = 0; i < 1024; i++)
		s2_pgt_map(&pgt, s2_gpa(4 * M2 + i * K4), K4, s2_hpa(0x20000000 + 2 * i * K4),
			   S2_PROT_R, K4, &mc, 0);
	memset(&ranges, 0, sizeof(ranges));
	s2_hosted_set_observer(h, range_observer, &ranges);
	s2_pgt_unmap_fast(&pgt, s2_gpa(4 * M2), 2 * M2, NULL);
	s2_hosted_set_observer(h, NULL, NULL);
	tap_ok(ranges.n == 1024 && ranges.bad == 0,
	       "non-FWB fast unmap of scattered frames: one clean per page, none beyond it "
	       "(%u cleans, %u wrong)", ranges.n, ranges.bad);
	s2_pgt_destroy(&pgt);
	s2_memcache_free(&pgt, &mc);
	s2_hosted_free(h);
}

/* --------------------------------------------------- shared mapping */

static void test_shared_semantics(void)
{
	struct s2_hosted *h = s2_hosted_new();
	struct s2_pgtable pgt;
	struct s2_memcache mc = S2_MEMCACHE_INIT, small = S2_MEMCACHE_INIT;
	struct s2_hosted_stats st;

	init_fmt(&pgt, h, S2_FMT_ARM64, 12, 40, 48, 0);
	s2_memcache_topup(&pgt, &mc, 8);
	tap_ok(s2_pgt_map(&pgt, s2_gpa(0), K4, s2_hpa(K4), S2_PROT_R, 0, &mc, S2_WALK_SHARED) == 0 &&
	       s2_pgt_map(&pgt, s2_gpa(0), K4, s2_hpa(K4), S2_PROT_R, 0, &mc, S2_WALK_SHARED) == 0,
	       "shared map of an identical existing entry: 0");
	tap_ok(s2_pgt_map(&pgt, s2_gpa(0), K4, s2_hpa(K4), S2_PROT_R | S2_PROT_W, 0, &mc,
			  S2_WALK_SHARED) == -S2_EAGAIN,
	       "shared map with other permissions: -EAGAIN (relax path's job)");
	s2_memcache_topup(&pgt, &small, 1);
	s2_hosted_get_stats(h, &st);
	tap_ok(s2_pgt_map(&pgt, s2_gpa(G1 * 5), K4, s2_hpa(K4), S2_PROT_R, 0, &small, 0) == -S2_ENOMEM &&
	       small.nr == 1 && pgt.nr_tables == 2,
	       "map needing two tables with one cached page: -ENOMEM, nothing used");
	s2_pgt_destroy(&pgt);
	s2_memcache_free(&pgt, &mc);
	s2_memcache_free(&pgt, &small);
	s2_hosted_free(h);
}

struct par {
	struct s2_pgtable *pgt;
	unsigned long eagain, ok, bad;
	unsigned seed;
};

static void *par_fault(void *arg)
{
	struct par *p = arg;
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	unsigned s = p->seed;

	for (int i = 0; i < 200000; i++) {
		uint64_t ipa;
		int ret;

		s = s * 1103515245 + 12345;
		ipa = ((uint64_t)(s >> 8) % 4096) * K4 + ((uint64_t)(s & 3) << 30);
		if (s2_memcache_topup(p->pgt, &mc, 3))
			break;
		ret = s2_pgt_map(p->pgt, s2_gpa(ipa), K4, s2_hpa(ipa + (1ULL << 40)),
				 S2_PROT_R, 0, &mc, S2_WALK_SHARED);
		if (ret == -S2_EAGAIN)
			p->eagain++;
		else if (ret)
			p->bad++;
		else
			p->ok++;
	}
	s2_memcache_free(p->pgt, &mc);
	return NULL;
}

static void test_parallel_faults(void)
{
	struct s2_hosted *h = s2_hosted_new();
	struct s2_pgtable pgt;
	struct par p[2];
	pthread_t t[2];
	struct s2_hosted_stats st;
	unsigned long wrong = 0;
	struct refcheck rc;

	init_fmt(&pgt, h, S2_FMT_ARM64, 12, 40, 48, 0);
	for (int i = 0; i < 2; i++) {
		p[i] = (struct par){ &pgt, 0, 0, 0, 1234u + (unsigned)i * 77u };
		pthread_create(&t[i], NULL, par_fault, &p[i]);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	for (uint64_t g = 0; g < 4; g++)
		for (uint64_t a = 0; a < 4096; a++) {
			struct s2_mapping m;
			uint64_t ipa = (g << 30) + a * K4;

			s2_pgt_lookup(&pgt, s2_gpa(ipa), &m);
			if (m.valid && m.pa.v != ipa + (1ULL << 40))
				wrong++;
		}
	rc = refcheck(&pgt);
	s2_hosted_get_stats(h, &st);
	tap_ok(p[0].bad + p[1].bad == 0 && wrong == 0,
	       "parallel shared faults: every map succeeded or returned -EAGAIN (%lu), none corrupt",
	       p[0].eagain + p[1].eagain);
	tap_ok(rc.bad == 0 && st.pages_live == pgt.nr_tables,
	       "parallel shared faults: no table page lost or leaked (%lu tables)", pgt.nr_tables);
	s2_pgt_destroy(&pgt);
	s2_hosted_free(h);
}

int main(void)
{
	test_geometry();
	test_geometry_52();
	test_arm64_encoding();
	test_arm64_encoding_52();
	test_format_fields();
	test_hw_api();
	test_ept_geometry();
	test_ept_encoding();
	for (size_t i = 0; i < NR_TEST_FORMATS; i++) {
		test_ops(&test_formats[i]);
		test_bad_input(&test_formats[i]);
		test_bbm(&test_formats[i]);
	}
	for (size_t i = 0; i < S2_ARRAY_SIZE(ept_no_ad); i++) {
		test_ops(&ept_no_ad[i]);
		test_bad_input(&ept_no_ad[i]);
		test_bbm(&ept_no_ad[i]);
	}
	for (size_t i = 0; i < NR_TEST_FORMATS; i++)
		test_fast_unmap(&test_formats[i]);
	for (size_t i = 0; i < S2_ARRAY_SIZE(ept_no_ad); i++)
		test_fast_unmap(&ept_no_ad[i]);
	for (size_t i = 0; i < NR_TEST_FORMATS; i++)
		test_unmap_defer(&test_formats[i]);
	for (size_t i = 0; i < NR_TEST_FORMATS; i++)
		test_unmap_per_page(&test_formats[i]);
	for (size_t i = 0; i < NR_TEST_FORMATS; i++)
		test_unmap_sparse(&test_formats[i]);
	test_cmo_order();
	test_fast_unmap_tlbi_policy();
	test_fast_unmap_cmo();
	test_shared_semantics();
	test_parallel_faults();
	return tap_done();
}
