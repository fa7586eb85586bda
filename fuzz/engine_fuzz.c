/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * libFuzzer target: the page-table engine against the flat reference
 * model of tests/pgt_property.c (tests/pgt_model.h).
 *
 * Input: byte 0 picks the format and granule (every entry of
 * tests/pgt_common.h's list) and whether the platform is non-FWB; byte 1
 * places a 2 GiB window of IPA (low, or flush against the top of the IPA
 * size).  Then operations, one opcode byte each plus its operands: map
 * (with a cache that is sometimes too small, a size cap, shared or
 * exclusive), unmap, fast unmap (with and without a detached list), write
 * protect, test-and-clear young, relax, mkyoung, split (sometimes out of
 * pages), lookups, and calls with bad arguments.
 *
 * Checked after every operation: its return value against the model (and
 * "nothing changed" for every failure the API says changes nothing), the
 * pages around the range it touched.  At the end of the input: every
 * valid leaf of the window against the model and the mapped page counts,
 * every table page's reference count (1 + live entries), live table pages
 * = tables + page cache, and after destroy not one page left.
 */
#include <string.h>

#include "tests/pgt_common.h"
#include "tests/pgt_model.h"
#include "fuzz/fuzz_common.h"
#include "fuzz/fuzz_rcu.h"

#define WINDOW_SHIFT	31
#define MAX_OPS		96
/* Sampled pages per operation check (ranges can be 2^19 pages). */
#define CHECK_SAMPLES	256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct s2_hosted *H;
static struct pm_page *MP;
/* Model pages an input may have made valid: reset by the next input. */
static uint64_t dirty_lo, dirty_hi;

enum {
	OP_MAP, OP_UNMAP, OP_UNMAP_FAST, OP_WRPROT, OP_YOUNG, OP_RELAX,
	OP_MKYOUNG, OP_SPLIT, OP_LOOKUP, OP_BADARGS, NR_OPS
};

struct fz {
	struct s2_pgtable pgt;
	struct s2_memcache mc;
	struct pmodel m;
	const char *fmt;
	unsigned op;
	uint64_t page;
	uint64_t window;
};

static void mismatch(struct fz *f, uint64_t i, const struct s2_mapping *got, const char *when)
{
	const struct pm_page *e = &f->m.p[i];

	fuzz_fail("%s, op %u (%s): page %#llx: engine valid=%d level=%d pa=%#llx prot=%#x "
		  "young=%d; model level=%d pa=%#llx prot=%#x young=%d", f->fmt, f->op, when,
		  (unsigned long long)(f->m.base + (i << f->m.ps)), got->valid, got->level,
		  (unsigned long long)(got->pa.v + (f->m.base + (i << f->m.ps) - got->ipa.v)),
		  got->prot, got->young, e->level, (unsigned long long)e->pa, e->prot, e->young);
}

/* The pages of [ipa, ipa+size) widened to the largest block, sampled. */
static void check_around(struct fz *f, uint64_t ipa, uint64_t size, const char *when)
{
	uint64_t blk = s2_pgt_max_block(&f->pgt, 0), lo, hi, n, step, i;
	struct s2_mapping got;

	if (blk > f->window)
		blk = f->window;
	lo = (ipa & ~(blk - 1));
	hi = ((ipa + size + blk - 1) & ~(blk - 1));
	if (lo < f->m.base)
		lo = f->m.base;
	if (hi > f->m.base + f->window || hi < lo)
		hi = f->m.base + f->window;
	lo = pm_idx(&f->m, lo);
	hi = pm_idx(&f->m, hi);
	n = hi - lo;
	step = n > CHECK_SAMPLES ? n / CHECK_SAMPLES : 1;
	for (i = lo; i < hi; i += step)
		if (!pm_check(&f->m, i, &got))
			mismatch(f, i, &got, when);
	/* the edges of the operation itself, where partial blocks live */
	for (i = pm_idx(&f->m, ipa); i < hi && i < pm_idx(&f->m, ipa) + 2; i++)
		if (!pm_check(&f->m, i, &got))
			mismatch(f, i, &got, when);
	i = pm_idx(&f->m, ipa + size);
	if (i > lo && !pm_check(&f->m, i - 1, &got))
		mismatch(f, i - 1, &got, when);
	if (i < hi && !pm_check(&f->m, i, &got))
		mismatch(f, i, &got, when);
}

static uint64_t pick_size(struct fz *f, uint8_t c)
{
	uint64_t s2 = pm_span(&f->m, 2), s1 = pm_span(&f->m, 1);

	if (c < 150)
		return (1 + c % 16) * f->page;
	if (c < 220)
		return s2 * (1 + c % 3) + ((c >> 2) % 3) * f->page;
	if (c < 248)
		return (1 + c % 128) * f->page;
	return f->pgt.start_level <= 1 && s1 <= f->window ? s1 : s2;
}

/* Keep [*ipa, *ipa+*size) inside the window. */
static void clamp(struct fz *f, uint64_t *ipa, uint64_t *size)
{
	if (*size > f->window)
		*size = f->window;
	if (*ipa + *size > f->m.base + f->window)
		*ipa = f->m.base + f->window - *size;
}

/*
 * Upper bound of table pages a split of the range can take: one table
 * under each entry the range overlaps, at every level above the last.
 * Not the blocks around the range widened to the largest block: with
 * FEAT_LPA2's 512 GiB level-0 blocks (and FEAT_LPA's 4 TiB ones at 64K)
 * that widening asked the cache for a quarter of a million pages, and the
 * fuzzer ran out of memory on a 4 MiB split.
 */
static unsigned long split_bound(struct fz *f, uint64_t ipa, uint64_t size)
{
	unsigned long n = 0;

	for (int l = f->pgt.start_level; l < S2_LAST_LEVEL; l++) {
		uint64_t span = pm_span(&f->m, l);
		uint64_t lo = ipa & ~(span - 1), hi = (ipa + size + span - 1) & ~(span - 1);

		n += (unsigned long)((hi - lo) / span);
	}
	return n;
}

static void set_cache(struct fz *f, bool short_, unsigned small, unsigned long need)
{
	if (short_) {
		s2_memcache_free(&f->pgt, &f->mc);
		need = small;
	}
	FUZZ_CHECK(s2_memcache_topup(&f->pgt, &f->mc, need) == 0, "memcache topup failed");
}

static void note_dirty(struct fz *f, uint64_t ipa, uint64_t size)
{
	uint64_t lo = pm_idx(&f->m, ipa), hi = pm_idx(&f->m, ipa + size);

	if (dirty_lo == dirty_hi) {
		dirty_lo = lo;
		dirty_hi = hi;
	}
	if (lo < dirty_lo)
		dirty_lo = lo;
	if (hi > dirty_hi)
		dirty_hi = hi;
}

static void op_map(struct fz *f, struct cursor *c, uint8_t k, uint64_t ipa, uint64_t size)
{
	uint16_t ps = get16(c);
	uint8_t p = get8(c);
	uint64_t caps[4] = { 0, f->page, pm_span(&f->m, 2), pm_span(&f->m, 1) };
	uint64_t cap = caps[(p >> 4) & 3], pa;
	unsigned prot = S2_PROT_R | (p & 1 ? S2_PROT_W : 0) | (p & 2 ? S2_PROT_X : 0);
	bool shared = size == f->page && (p & 8), bad = false, short_ = k & 0x40;
	struct s2_mapping before;
	int ret;

	if (p & 4)
		prot = (prot & ~S2_PROT_X) | S2_PROT_DEVICE;
	if ((p & 0xc0) == 0xc0) {
		/* an invalid permission set: no R, or device + X */
		prot = (p & 1) ? (S2_PROT_W | S2_PROT_X) : (S2_PROT_R | S2_PROT_X | S2_PROT_DEVICE);
		bad = true;
	}
	/* congruent with the input half of the time, so blocks happen */
	if (ps & 1)
		pa = ipa + ((uint64_t)((ps >> 1) % 64) << 30);
	else
		pa = ((uint64_t)ps * 0x9e3779b1ULL + ipa) << 7;
	pa &= (1ULL << 47) - 1;
	pa &= ~(f->page - 1);
	/* a per-page map (cap = page) of a huge range costs too much */
	if (cap == f->page && size > 4 * pm_span(&f->m, 2))
		size = 4 * pm_span(&f->m, 2);
	set_cache(f, short_, ps % 4, s2_pgt_pages_needed(&f->pgt, s2_gpa(ipa), size));
	if (shared)
		s2_pgt_lookup(&f->pgt, s2_gpa(ipa), &before);
	ret = s2_pgt_map(&f->pgt, s2_gpa(ipa), size, s2_hpa(pa), prot, cap, &f->mc,
			 shared ? S2_WALK_SHARED : 0);
	if (bad) {
		FUZZ_CHECK(ret == -S2_EINVAL, "%s: map with prot %#x returned %d", f->fmt, prot, ret);
	} else if (ret == -S2_EAGAIN) {
		/* A shared map never changes permissions of an existing leaf
		 * with the same output: that must be what happened. */
		FUZZ_CHECK(shared && before.valid && before.prot != prot &&
			   before.pa.v + (ipa - before.ipa.v) == pa,
			   "%s: map returned -EAGAIN (shared %d valid %d prot %#x/%#x)",
			   f->fmt, shared, before.valid, before.prot, prot);
	} else if (ret == -S2_ENOMEM) {
		FUZZ_CHECK(short_, "%s: map -ENOMEM with %lu cached pages (needed <= %lu)",
			   f->fmt, f->mc.nr, s2_pgt_pages_needed(&f->pgt, s2_gpa(ipa), size));
	} else {
		FUZZ_CHECK(ret == 0, "%s: map ipa %#llx size %#llx pa %#llx prot %#x returned %d",
			   f->fmt, (unsigned long long)ipa, (unsigned long long)size,
			   (unsigned long long)pa, prot, ret);
		pm_map(&f->m, ipa, size, pa, prot, cap ? cap : ~0ULL);
		note_dirty(f, ipa, size);
	}
	check_around(f, ipa, size, ret ? "map failed: nothing may change" : "map");
}

static void op_split(struct fz *f, uint8_t k, uint8_t p, uint64_t ipa, uint64_t size)
{
	uint64_t target = (p & 1) ? f->page : pm_span(&f->m, 2);
	bool short_ = k & 0x40;
	int ret;

	set_cache(f, short_, p >> 5, split_bound(f, ipa, size));
	ret = s2_pgt_split(&f->pgt, s2_gpa(ipa), size, target, &f->mc, (p & 2) ? S2_WALK_SHARED : 0);
	if (ret == -S2_ENOMEM && short_) {
		/*
		 * The blocks split so far stay split, the rest untouched: every
		 * page still maps what it did, with the same attributes, at
		 * its old leaf level or deeper.  Learn the levels back.
		 */
		uint64_t lo = pm_idx(&f->m, ipa), hi = pm_idx(&f->m, ipa + size), i, s, n;
		struct s2_mapping got;

		if (f->m.p[lo].level >= 0) {
			pm_group(&f->m, lo, &s, &n);
			lo = s;
		}
		if (hi < f->m.npages && f->m.p[hi].level >= 0) {
			pm_group(&f->m, hi, &s, &n);
			hi = s + n;
		}
		for (i = lo; i < hi; i++) {
			struct pm_page *e = &f->m.p[i];
			uint64_t a = f->m.base + (i << f->m.ps);

			s2_pgt_lookup(&f->pgt, s2_gpa(a), &got);
			if (e->level < 0) {
				if (got.valid)
					mismatch(f, i, &got, "split -ENOMEM");
				continue;
			}
			if (!got.valid || got.level < e->level || got.prot != e->prot ||
			    got.young != !!e->young || got.pa.v + (a - got.ipa.v) != e->pa)
				mismatch(f, i, &got, "split -ENOMEM");
			e->level = (int8_t)got.level;
		}
		return;
	}
	FUZZ_CHECK(ret == 0, "%s: split ipa %#llx size %#llx returned %d (cache %lu)", f->fmt,
		   (unsigned long long)ipa, (unsigned long long)size, ret, f->mc.nr);
	pm_split(&f->m, ipa, size, target);
	check_around(f, ipa, size, "split");
}

static void op_unmap_fast(struct fz *f, uint8_t p, uint64_t ipa, uint64_t size)
{
#ifdef S2_DETACHED_MAX
	struct s2_detached det;
	int ret;

	det.nr = 0;
	ret = s2_pgt_unmap_fast(&f->pgt, s2_gpa(ipa), size, (p & 1) ? &det : NULL);
	FUZZ_CHECK(ret == 0, "%s: unmap_fast returned %d", f->fmt, ret);
	pm_unmap(&f->m, ipa, size);
	/* detached subtrees are unreachable already: the range reads empty */
	check_around(f, ipa, size, "unmap_fast");
	if (p & 1) {
		FUZZ_CHECK(det.nr <= S2_DETACHED_MAX, "detached list overflow");
		s2_pgt_unmap_fast_finish(&f->pgt, &det);
		FUZZ_CHECK(det.nr == 0, "unmap_fast_finish left %u subtrees", det.nr);
	}
#else
	(void)p;
	FUZZ_CHECK(s2_pgt_unmap(&f->pgt, s2_gpa(ipa), size) == 0, "unmap failed");
	pm_unmap(&f->m, ipa, size);
	check_around(f, ipa, size, "unmap");
#endif
}

/* Calls with bad arguments: the documented errno, and nothing changes. */
static void op_badargs(struct fz *f, struct cursor *c, uint8_t k)
{
	uint64_t ipa = get64(c), size = get64(c), end, mask = f->page - 1;
	int want, ret;

	if (k & 0x80)		/* mostly near the window, to hit real tables */
		ipa = f->m.base + (ipa & (f->window - 1));
	if (k & 0x40)
		size &= (f->window - 1);
	end = ipa + size;
	if (!size || (ipa & mask) || (size & mask) || end < ipa)
		want = -S2_EINVAL;
	else if (end > (1ULL << f->pgt.ia_bits))
		want = -S2_ERANGE;
	else
		return;		/* valid after all: not this operation's business */
	switch ((k >> 1) % 5) {
	case 0:
		set_cache(f, false, 0, 8);
		ret = s2_pgt_map(&f->pgt, s2_gpa(ipa), size, s2_hpa(0), S2_PROT_R, 0, &f->mc, 0);
		break;
	case 1:
		ret = s2_pgt_unmap(&f->pgt, s2_gpa(ipa), size);
		break;
	case 2:
		ret = s2_pgt_wrprotect(&f->pgt, s2_gpa(ipa), size);
		break;
	case 3:
		ret = s2_pgt_test_clear_young(&f->pgt, s2_gpa(ipa), size, true, 0);
		break;
	default:
		set_cache(f, false, 0, 8);
		ret = s2_pgt_split(&f->pgt, s2_gpa(ipa), size, f->page, &f->mc, 0);
		break;
	}
	FUZZ_CHECK(ret == want, "%s: op %u with ipa %#llx size %#llx returned %d, want %d",
		   f->fmt, (k >> 1) % 5, (unsigned long long)ipa, (unsigned long long)size,
		   ret, want);
	if (ipa >= f->m.base && ipa < f->m.base + f->window)
		check_around(f, ipa & ~mask, f->page, "bad arguments: nothing may change");
}

struct leafscan {
	struct fz *f;
	uint64_t pages;
};

static int leaf_visit(struct s2_walk_ctx *c, unsigned visit)
{
	struct leafscan *ls = c->arg;
	struct fz *f = ls->f;
	struct s2_mapping mp;
	uint64_t i, n, k;

	(void)visit;
	s2_pte_decode(c->pgt, c->old, c->level, &mp);
	if (!mp.valid)
		return 0;
	i = pm_idx(&f->m, c->addr);
	n = mp.size >> f->m.ps;
	for (k = i; k < i + n; k++) {
		const struct pm_page *e = &f->m.p[k];

		if (e->level != c->level || e->pa != mp.pa.v + ((k - i) << f->m.ps) ||
		    e->prot != mp.prot || !!e->young != mp.young) {
			mp.ipa = s2_gpa(c->addr);
			mp.valid = true;
			mismatch(f, k, &mp, "final leaf scan");
		}
	}
	ls->pages += n;
	return 0;
}

static void final_checks(struct fz *f)
{
	struct leafscan ls = { f, 0 };
	struct s2_hosted_stats st;
	struct refcheck rc;
	uint64_t mapped = 0, i;

	s2_pgt_walk(&f->pgt, s2_gpa(f->m.base), f->window, leaf_visit, &ls, S2_WALK_LEAF);
	for (i = dirty_lo; i < dirty_hi; i++)
		mapped += f->m.p[i].level >= 0;
	FUZZ_CHECK(mapped == ls.pages, "%s: model maps %llu pages, the table %llu", f->fmt,
		   (unsigned long long)mapped, (unsigned long long)ls.pages);
	rc = refcheck(&f->pgt);
	FUZZ_CHECK(rc.bad == 0, "%s: %lu of %lu table pages have a wrong reference count",
		   f->fmt, rc.bad, rc.tables);
	f->pgt.plat->defer_barrier(f->pgt.ctx);
	s2_hosted_get_stats(H, &st);
	FUZZ_CHECK(st.pages_live == f->pgt.nr_tables + f->mc.nr,
		   "%s: %llu live pages, %lu tables + %lu cached", f->fmt,
		   (unsigned long long)st.pages_live, f->pgt.nr_tables, f->mc.nr);
	s2_pgt_destroy(&f->pgt);
	s2_memcache_free(&f->pgt, &f->mc);
	s2_hosted_get_stats(H, &st);
	FUZZ_CHECK(st.pages_live == 0, "%s: %llu table pages leaked by destroy", f->fmt,
		   (unsigned long long)st.pages_live);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cursor c = { data, data + size };
	static struct fz f;
	const struct tfmt *tf;
	struct s2_pgt_cfg cfg;
	uint8_t b0, b1;
	unsigned nops;

	if (!H) {
		H = s2_hosted_new();
		MP = calloc((size_t)1 << (WINDOW_SHIFT - 12), sizeof(*MP));
		if (!H || !MP)
			abort();
		dirty_lo = 0;
		dirty_hi = (size_t)1 << (WINDOW_SHIFT - 12);
	}
	b0 = get8(&c);
	b1 = get8(&c);
	tf = &test_formats[b0 % NR_TEST_FORMATS];
	memset(&f, 0, sizeof(f));
	f.fmt = tf->name;
	cfg = (struct s2_pgt_cfg){
		.format = tf->id, .granule_shift = tf->granule_shift, .ia_bits = tf->ia_bits,
		.oa_bits = tfmt_oa(tf), .flags = tf->flags, .plat = fuzz_platform(), .plat_ctx = H,
	};
	/* non-FWB is an arm64 notion (EPT is always cache-coherent) */
	if ((b0 & 0x80) && tf->id != S2_FMT_EPT)
		cfg.flags |= S2_PGT_NO_FWB;
	if (s2_pgt_init(&f.pgt, &cfg))
		fuzz_fail("%s: init failed", tf->name);
	f.page = 1ULL << f.pgt.page_shift;
	f.window = 1ULL << WINDOW_SHIFT;
	f.m.pgt = &f.pgt;
	f.m.ps = f.pgt.page_shift;
	f.m.npages = f.window >> f.m.ps;
	f.m.p = MP;
	f.m.base = (b1 & 0x80) ? (1ULL << f.pgt.ia_bits) - f.window
			       : (uint64_t)(b1 & 7) << WINDOW_SHIFT;
	/* in the previous input's page numbering: not bounded by this one's */
	for (uint64_t i = dirty_lo; i < dirty_hi; i++)
		MP[i].level = -1;
	dirty_lo = dirty_hi = 0;

	for (nops = 0; cur_more(&c) && nops < MAX_OPS; nops++) {
		uint8_t k = get8(&c), sz = get8(&c), p = get8(&c);
		uint64_t idx = get16(&c) | (uint64_t)get8(&c) << 16;
		uint64_t ipa, len = pick_size(&f, sz);
		struct s2_mapping got;
		int ret, want;

		f.op = nops;
		idx %= f.m.npages;
		if (k & 0x20)	/* block-aligned, so blocks and splits happen */
			idx &= ~((pm_span(&f.m, 2) >> f.m.ps) - 1);
		ipa = f.m.base + (idx << f.m.ps);
		clamp(&f, &ipa, &len);
		switch (k % NR_OPS) {
		case OP_MAP:
			op_map(&f, &c, k, ipa, len);
			break;
		case OP_UNMAP:
			FUZZ_CHECK(s2_pgt_unmap(&f.pgt, s2_gpa(ipa), len) == 0, "%s: unmap failed",
				   f.fmt);
			pm_unmap(&f.m, ipa, len);
			check_around(&f, ipa, len, "unmap");
			break;
		case OP_UNMAP_FAST:
			op_unmap_fast(&f, p, ipa, len);
			break;
		case OP_WRPROT:
			FUZZ_CHECK(s2_pgt_wrprotect(&f.pgt, s2_gpa(ipa), len) == 0,
				   "%s: wrprotect failed", f.fmt);
			pm_wrprotect(&f.m, ipa, len);
			check_around(&f, ipa, len, "wrprotect");
			break;
		case OP_YOUNG:
			ret = s2_pgt_test_clear_young(&f.pgt, s2_gpa(ipa), len, p & 1,
						      (p & 2) ? S2_WALK_SHARED : 0);
			want = pm_young(&f.m, ipa, len, p & 1);
			FUZZ_CHECK(ret == want, "%s: test_clear_young %d, model %d", f.fmt, ret, want);
			check_around(&f, ipa, len, "young");
			break;
		case OP_RELAX:
		case OP_MKYOUNG: {
			unsigned prot = k % NR_OPS == OP_MKYOUNG ? 0 :
					S2_PROT_R | (p & 1 ? S2_PROT_W : 0) | (p & 2 ? S2_PROT_X : 0);
			/* anywhere inside the page: the leaf covering it */
			uint64_t a = ipa + (p & 0xf0) * 8;
			unsigned fl = (p & 4) ? S2_WALK_SHARED : 0;

			ret = prot ? s2_pgt_relax_perms(&f.pgt, s2_gpa(a), prot, fl)
				   : s2_pgt_mkyoung(&f.pgt, s2_gpa(a), fl);
			want = pm_attr(&f.m, ipa, prot) ? 0 : -S2_ENOENT;
			FUZZ_CHECK(ret == want, "%s: %s at %#llx returned %d, model %d", f.fmt,
				   prot ? "relax" : "mkyoung", (unsigned long long)a, ret, want);
			check_around(&f, ipa, f.page, prot ? "relax" : "mkyoung");
			break;
		}
		case OP_SPLIT:
			op_split(&f, k, p, ipa, len);
			break;
		case OP_LOOKUP:
			for (int j = 0; j < 8; j++) {
				uint64_t i = (idx + (uint64_t)j * get16(&c)) % f.m.npages;

				if (!pm_check(&f.m, i, &got))
					mismatch(&f, i, &got, "lookup");
			}
			break;
		default:
			op_badargs(&f, &c, k);
			break;
		}
	}
	final_checks(&f);
	return 0;
}
