/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * API misuse table: every public function of pgtable.h, mmu.h and
 * hosted.h with every class of bad argument (NULL, misaligned, out of
 * range, overlapping slot, use after destroy, double destroy, handler
 * after release) returns its documented result, and changes nothing: a
 * table with mappings and a VM with a populated slot are read back after
 * every row and must be as they were.
 *
 * The same rows are the documentation: `api_misuse.t --markdown` prints
 * docs/api-misuse.md, so the table and the test cannot drift apart.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <s2mmu/mmu.h>
#include "tap.h"
#include "pgt_common.h"

#define PG	4096ULL
#define M2	(2ULL << 20)
#define HVA0	0x7f0000000000ULL

static bool markdown;
static const char *cur_fn;

struct fix {
	struct s2_hosted *h;
	struct s2_pgtable pgt;		/* live, with mappings */
	struct s2_pgtable dead;		/* destroyed */
	struct s2_memcache mc, empty;
	struct s2_detached det;		/* empty: bad calls leave it so */
	struct s2_tlb_batch tb;		/* empty: bad calls leave it so */
	struct s2_vm *vm;		/* live, slot 0 = [0, 4M) -> HVA0, mapped */
	struct s2_vm *rel;		/* released */
	uint64_t sig_pgt, sig_vm;
};

static struct fix F;

/* ----------------------------------------------------------- fake host */

static int fh_resolve(void *host, s2_hva_t hva, bool write, struct s2_resolved *r)
{
	(void)host;
	(void)write;
	if (hva.v < HVA0 || hva.v >= HVA0 + (64ULL << 20))
		return -S2_EFAULT;
	r->pa = s2_hpa(0x40000000ULL + (hva.v - HVA0));
	r->writable = true;
	r->device = false;
	r->cookie = 0;
	return 0;
}

static void fh_put(void *host, const struct s2_resolved *r)
{
	(void)host;
	(void)r;
}

static uint64_t fh_size(void *host, s2_hva_t hva)
{
	(void)host;
	(void)hva;
	return PG;
}

static const struct s2_host_ops fh_ops = { fh_resolve, fh_put, fh_size, NULL };
static const struct s2_host_ops fh_no_resolve = { NULL, fh_put, fh_size, NULL };

static struct s2_vm_cfg vm_cfg(void)
{
	return (struct s2_vm_cfg){
		.pgt = { S2_FMT_ARM64, 12, 40, 48, 0, s2_hosted_platform(), F.h },
		.host = &fh_ops, .max_slots = 4,
	};
}

/* ------------------------------------------------------------- fixture */

static uint64_t sig_of(struct s2_pgtable *pgt, uint64_t lo, uint64_t hi)
{
	uint64_t s = 0;

	for (uint64_t a = lo; a < hi; a += PG) {
		struct s2_mapping m;

		if (s2_pgt_lookup(pgt, s2_gpa(a), &m))
			return ~0ULL;
		s = s * 1000003 + (m.valid ? m.raw : 1);
	}
	return s;
}

static uint64_t sig_vm(void)
{
	unsigned fl = 0;
	s2_hva_t hva = { 0 };
	uint64_t s = sig_of(s2_vm_pgtable(F.vm), 0, 8 * M2);

	s += s2_vm_gpa_to_hva(F.vm, s2_gpa(0), &hva, &fl) ? hva.v + fl : 5;
	s += s2_vm_gpa_to_hva(F.vm, s2_gpa(4 * M2), &hva, &fl) ? hva.v + fl : 7;
	return s;
}

static void fix_setup(void)
{
	struct s2_vm_cfg cfg;
	struct s2_memcache mc = S2_MEMCACHE_INIT;

	F.h = s2_hosted_new();
	if (!F.h || tfmt_init(&F.pgt, F.h, &test_formats[0], 0) ||
	    tfmt_init(&F.dead, F.h, &test_formats[0], 0))
		TAP_BAIL("fixture");
	s2_pgt_destroy(&F.dead);
	s2_memcache_topup(&F.pgt, &F.mc, 16);
	s2_pgt_map(&F.pgt, s2_gpa(0), M2, s2_hpa(0x40000000), S2_PROT_R | S2_PROT_W, 0, &F.mc, 0);
	s2_pgt_map(&F.pgt, s2_gpa(4 * M2), 3 * PG, s2_hpa(0x1000), S2_PROT_R, 0, &F.mc, 0);
	s2_memcache_topup(&F.pgt, &F.mc, 16);
	cfg = vm_cfg();
	if (s2_vm_create(&cfg, &F.vm) || s2_vm_create(&cfg, &F.rel))
		TAP_BAIL("vm");
	s2_vm_set_memslot(F.vm, 0, s2_gpa(0), 4 * M2, s2_hva(HVA0), 0);
	s2_vm_set_memslot(F.vm, 1, s2_gpa(8 * M2), M2, s2_hva(HVA0), S2_MEM_READONLY);
	s2_vm_set_memslot(F.rel, 0, s2_gpa(0), 4 * M2, s2_hva(HVA0), S2_MEM_DIRTY_LOG);
	s2_vm_fault(F.vm, s2_gpa(5 * PG), S2_ACC_WRITE, &mc, NULL);
	s2_vm_fault(F.vm, s2_gpa(M2), S2_ACC_READ, &mc, NULL);
	s2_memcache_free(&F.pgt, &mc);
	s2_vm_mn_release(F.rel);
	F.sig_pgt = sig_of(&F.pgt, 0, 8 * M2);
	F.sig_vm = sig_vm();
}

/* ---------------------------------------------------------------- rows */

static void fn(const char *name)
{
	cur_fn = name;
	if (markdown)
		printf("| `%s` | | |\n", name);
}

static void row_result(const char *cls, bool ok, const char *want)
{
	bool same = sig_of(&F.pgt, 0, 8 * M2) == F.sig_pgt && sig_vm() == F.sig_vm;

	if (markdown) {
		printf("| | %s | %s |\n", cls, want);
		if (!ok || !same)
			fprintf(stderr, "api_misuse: %s: %s: wrong result\n", cur_fn, cls);
		return;
	}
	tap_ok(ok && same, "%s: %s -> %s%s", cur_fn, cls, want, same ? "" : " (STATE CHANGED)");
}

static const char *errname(int e)
{
	switch (e) {
	case 0: return "0";
	case -S2_EINVAL: return "-EINVAL";
	case -S2_ERANGE: return "-ERANGE";
	case -S2_ENOMEM: return "-ENOMEM";
	case -S2_ENOENT: return "-ENOENT";
	case -S2_EEXIST: return "-EEXIST";
	case -S2_EFAULT: return "-EFAULT";
	case -S2_EAGAIN: return "-EAGAIN";
	case -S2_ENOSPC: return "-ENOSPC";
	default: return "?";
	}
}

/* an int-returning call: the documented errno */
#define E(cls, want, expr) do {							\
		int got_ = (expr);						\
		if (got_ != (want) && !markdown)				\
			tap_diag("%s: %s: got %d", cur_fn, cls, got_);	\
		row_result(cls, got_ == (want), errname(want));			\
	} while (0)
/* a void call: no effect, no crash */
#define V(cls, stmt) do { stmt; row_result(cls, true, "ignored, no effect"); } while (0)
/* a predicate or pointer: the stated value */
#define B(cls, want, expr, text) row_result(cls, (expr) == (want), text)

static int nop_visit(struct s2_walk_ctx *c, unsigned v)
{
	(void)c;
	(void)v;
	return 0;
}

static void engine_rows(void)
{
	struct s2_pgt_cfg good = { S2_FMT_ARM64, 12, 40, 48, 0, s2_hosted_platform(), F.h }, c;
	struct s2_platform nohook = *s2_hosted_platform();
	struct s2_pgtable tmp;
	struct s2_mapping m;
	uint64_t bm[1] = { 0 };
	struct s2_pgtable *P = &F.pgt, *D = &F.dead;
	const uint64_t top = 1ULL << 40;

	nohook.tlbi_range = NULL;
	fn("s2_pgt_init");
	E("NULL table", -S2_EINVAL, s2_pgt_init(NULL, &good));
	E("NULL config", -S2_EINVAL, s2_pgt_init(&tmp, NULL));
	c = good; c.format = (enum s2_format_id)77;
	E("unknown format", -S2_EINVAL, s2_pgt_init(&tmp, &c));
	c = good; c.granule_shift = 13;
	E("granule not 4K/16K/64K", -S2_EINVAL, s2_pgt_init(&tmp, &c));
	c = good; c.ia_bits = 31;
	E("IPA size below range (31)", -S2_EINVAL, s2_pgt_init(&tmp, &c));
	c = good; c.ia_bits = 49;
	E("IPA size above range (49)", -S2_EINVAL, s2_pgt_init(&tmp, &c));
	c = good; c.oa_bits = 52;
	E("output size above 48", -S2_EINVAL, s2_pgt_init(&tmp, &c));
	c = good; c.flags = 0x80;
	E("unknown flag", -S2_EINVAL, s2_pgt_init(&tmp, &c));
	c = good; c.plat = NULL;
	E("NULL platform", -S2_EINVAL, s2_pgt_init(&tmp, &c));
	c = good; c.plat = &nohook;
	E("platform missing a hook", -S2_EINVAL, s2_pgt_init(&tmp, &c));
	c = good; c.format = S2_FMT_EPT; c.ia_bits = 48; c.flags = S2_PGT_NO_FWB;
	E("EPT with S2_PGT_NO_FWB", -S2_EINVAL, s2_pgt_init(&tmp, &c));

	fn("s2_pgt_destroy");
	V("NULL table", s2_pgt_destroy(NULL));
	V("double destroy", s2_pgt_destroy(D));

	fn("s2_pgt_map");
	E("NULL table", -S2_EINVAL, s2_pgt_map(NULL, s2_gpa(0), PG, s2_hpa(0), S2_PROT_R, 0, &F.mc, 0));
	E("destroyed table", -S2_EINVAL, s2_pgt_map(D, s2_gpa(0), PG, s2_hpa(0), S2_PROT_R, 0, &F.mc, 0));
	E("NULL cache", -S2_EINVAL, s2_pgt_map(P, s2_gpa(0), PG, s2_hpa(0), S2_PROT_R, 0, NULL, 0));
	E("misaligned IPA", -S2_EINVAL, s2_pgt_map(P, s2_gpa(0x800), PG, s2_hpa(0), S2_PROT_R, 0, &F.mc, 0));
	E("misaligned size", -S2_EINVAL, s2_pgt_map(P, s2_gpa(0), 100, s2_hpa(0), S2_PROT_R, 0, &F.mc, 0));
	E("zero size", -S2_EINVAL, s2_pgt_map(P, s2_gpa(0), 0, s2_hpa(0), S2_PROT_R, 0, &F.mc, 0));
	E("misaligned output", -S2_EINVAL, s2_pgt_map(P, s2_gpa(0), PG, s2_hpa(8), S2_PROT_R, 0, &F.mc, 0));
	E("IPA + size wraps", -S2_EINVAL, s2_pgt_map(P, s2_gpa(top - PG), -(top - 2 * PG), s2_hpa(0), S2_PROT_R, 0, &F.mc, 0));
	E("beyond the IPA size", -S2_ERANGE, s2_pgt_map(P, s2_gpa(top - PG), 2 * PG, s2_hpa(0), S2_PROT_R, 0, &F.mc, 0));
	E("output beyond the OA size", -S2_ERANGE, s2_pgt_map(P, s2_gpa(0), PG, s2_hpa(1ULL << 48), S2_PROT_R, 0, &F.mc, 0));
	E("prot 0", -S2_EINVAL, s2_pgt_map(P, s2_gpa(0), PG, s2_hpa(0), 0, 0, &F.mc, 0));
	E("prot without R", -S2_EINVAL, s2_pgt_map(P, s2_gpa(0), PG, s2_hpa(0), S2_PROT_W, 0, &F.mc, 0));
	E("device + exec", -S2_EINVAL, s2_pgt_map(P, s2_gpa(0), PG, s2_hpa(0), S2_PROT_R | S2_PROT_X | S2_PROT_DEVICE, 0, &F.mc, 0));
	E("unknown prot bit", -S2_EINVAL, s2_pgt_map(P, s2_gpa(0), PG, s2_hpa(0), S2_PROT_R | 0x100, 0, &F.mc, 0));
	E("unknown walk flag", -S2_EINVAL, s2_pgt_map(P, s2_gpa(0), PG, s2_hpa(0), S2_PROT_R, 0, &F.mc, 0x100));
	E("size cap below a page", -S2_EINVAL, s2_pgt_map(P, s2_gpa(0), PG, s2_hpa(0), S2_PROT_R, 100, &F.mc, 0));
	E("cache too small", -S2_ENOMEM, s2_pgt_map(P, s2_gpa(1ULL << 35), PG, s2_hpa(0), S2_PROT_R, 0, &F.empty, 0));

#define RANGE_ROWS(name, call)							\
	fn(name);								\
	E("NULL table", -S2_EINVAL, call(NULL, s2_gpa(0), PG));			\
	E("destroyed table", -S2_EINVAL, call(D, s2_gpa(0), PG));		\
	E("misaligned IPA", -S2_EINVAL, call(P, s2_gpa(0x10), PG));		\
	E("misaligned size", -S2_EINVAL, call(P, s2_gpa(0), PG + 1));		\
	E("zero size", -S2_EINVAL, call(P, s2_gpa(0), 0));			\
	E("IPA + size wraps", -S2_EINVAL, call(P, s2_gpa(top - PG), -(top - 2 * PG)));	\
	E("beyond the IPA size", -S2_ERANGE, call(P, s2_gpa(top - PG), 2 * PG))

	RANGE_ROWS("s2_pgt_unmap", s2_pgt_unmap);
	RANGE_ROWS("s2_pgt_wrprotect", s2_pgt_wrprotect);
#ifdef S2_DETACHED_MAX
#define UNMAP_FAST(p, a, s) s2_pgt_unmap_fast(p, a, s, NULL)
	RANGE_ROWS("s2_pgt_unmap_fast", UNMAP_FAST);
	fn("s2_pgt_unmap_fast_finish");
	V("NULL table or list", (s2_pgt_unmap_fast_finish(NULL, NULL), s2_pgt_unmap_fast_finish(P, NULL)));
#define UNMAP_DEFER(p, a, s) s2_pgt_unmap_defer(p, a, s, &F.det, &F.tb)
	RANGE_ROWS("s2_pgt_unmap_defer", UNMAP_DEFER);
	E("NULL detached list", -S2_EINVAL, s2_pgt_unmap_defer(P, s2_gpa(0), PG, NULL, &F.tb));
	E("NULL batch", -S2_EINVAL, s2_pgt_unmap_defer(P, s2_gpa(0), PG, &F.det, NULL));
	fn("s2_pgt_tlb_flush");
	V("NULL table or batch", (s2_pgt_tlb_flush(NULL, &F.tb), s2_pgt_tlb_flush(P, NULL)));
#endif
#define YOUNG(p, a, s) s2_pgt_test_clear_young(p, a, s, true, 0)
	RANGE_ROWS("s2_pgt_test_clear_young", YOUNG);
	E("unknown walk flag", -S2_EINVAL, s2_pgt_test_clear_young(P, s2_gpa(0), PG, true, 0x100));
#define DIRTY(p, a, s) s2_pgt_test_clear_dirty(p, a, s, bm, s2_gpa(0), 0)
	RANGE_ROWS("s2_pgt_test_clear_dirty", DIRTY);
	E("no hardware dirty state (neither S2_PGT_HW_DBM nor S2_PGT_EPT_AD)", -S2_EINVAL,
	  s2_pgt_test_clear_dirty(P, s2_gpa(0), PG, bm, s2_gpa(0), 0));
	E("unknown flag", -S2_EINVAL, s2_pgt_test_clear_dirty(P, s2_gpa(0), PG, bm, s2_gpa(0), 0x80));
	E("base above the range", -S2_EINVAL, s2_pgt_test_clear_dirty(P, s2_gpa(0), PG, bm, s2_gpa(PG), 0));
	E("misaligned base", -S2_EINVAL, s2_pgt_test_clear_dirty(P, s2_gpa(PG), PG, bm, s2_gpa(8), 0));
#define SPLIT(p, a, s) s2_pgt_split(p, a, s, PG, &F.mc, 0)
	RANGE_ROWS("s2_pgt_split", SPLIT);
	E("NULL cache", -S2_EINVAL, s2_pgt_split(P, s2_gpa(0), M2, PG, NULL, 0));
	E("target below a page", -S2_EINVAL, s2_pgt_split(P, s2_gpa(0), M2, 512, &F.mc, 0));
	E("target not a power of two", -S2_EINVAL, s2_pgt_split(P, s2_gpa(0), M2, 3 * PG, &F.mc, 0));
	E("unknown walk flag", -S2_EINVAL, s2_pgt_split(P, s2_gpa(0), M2, PG, &F.mc, 0x100));
	E("cache empty, a block to split", -S2_ENOMEM, s2_pgt_split(P, s2_gpa(0), M2, PG, &F.empty, 0));
#define WALK(p, a, s) s2_pgt_walk(p, a, s, nop_visit, NULL, S2_WALK_LEAF)
	RANGE_ROWS("s2_pgt_walk", WALK);
	E("NULL visitor", -S2_EINVAL, s2_pgt_walk(P, s2_gpa(0), PG, NULL, NULL, S2_WALK_LEAF));

	fn("s2_pgt_relax_perms");
	E("NULL table", -S2_EINVAL, s2_pgt_relax_perms(NULL, s2_gpa(0), S2_PROT_W, 0));
	E("destroyed table", -S2_EINVAL, s2_pgt_relax_perms(D, s2_gpa(0), S2_PROT_W, 0));
	E("prot 0", -S2_EINVAL, s2_pgt_relax_perms(P, s2_gpa(0), 0, 0));
	E("device bit (not a permission)", -S2_EINVAL, s2_pgt_relax_perms(P, s2_gpa(0), S2_PROT_DEVICE, 0));
	E("unknown walk flag", -S2_EINVAL, s2_pgt_relax_perms(P, s2_gpa(0), S2_PROT_W, 0x100));
	E("beyond the IPA size", -S2_ERANGE, s2_pgt_relax_perms(P, s2_gpa(top), S2_PROT_W, 0));
	E("nothing mapped", -S2_ENOENT, s2_pgt_relax_perms(P, s2_gpa(1ULL << 35), S2_PROT_W, 0));

	fn("s2_pgt_mkyoung");
	E("NULL table", -S2_EINVAL, s2_pgt_mkyoung(NULL, s2_gpa(0), 0));
	E("destroyed table", -S2_EINVAL, s2_pgt_mkyoung(D, s2_gpa(0), 0));
	E("unknown walk flag", -S2_EINVAL, s2_pgt_mkyoung(P, s2_gpa(0), 0x100));
	E("beyond the IPA size", -S2_ERANGE, s2_pgt_mkyoung(P, s2_gpa(top), 0));
	E("nothing mapped", -S2_ENOENT, s2_pgt_mkyoung(P, s2_gpa(1ULL << 35), 0));

	fn("s2_pgt_lookup");
	E("NULL table", -S2_EINVAL, s2_pgt_lookup(NULL, s2_gpa(0), &m));
	E("destroyed table", -S2_EINVAL, s2_pgt_lookup(D, s2_gpa(0), &m));
	E("NULL result", -S2_EINVAL, s2_pgt_lookup(P, s2_gpa(0), NULL));
	E("beyond the IPA size", -S2_ERANGE, s2_pgt_lookup(P, s2_gpa(top), &m));

	fn("s2_pgt_pages_needed");
	B("NULL table", 0, s2_pgt_pages_needed(NULL, s2_gpa(0), PG), "0");
	B("destroyed table", 0, s2_pgt_pages_needed(D, s2_gpa(0), PG), "0");
	B("misaligned or beyond the IPA size", 0, s2_pgt_pages_needed(P, s2_gpa(top), PG) +
	  s2_pgt_pages_needed(P, s2_gpa(1), PG), "0");

	fn("s2_memcache_topup");
	E("NULL table", -S2_EINVAL, s2_memcache_topup(NULL, &F.mc, 1));
	E("destroyed table", -S2_EINVAL, s2_memcache_topup(D, &F.mc, 1));
	E("NULL cache", -S2_EINVAL, s2_memcache_topup(P, NULL, 1));

	fn("s2_memcache_free");
	V("NULL table or cache", (s2_memcache_free(NULL, &F.mc), s2_memcache_free(P, NULL)));
}

static void mmu_rows(void)
{
	struct s2_vm_cfg good = vm_cfg(), c;
	struct s2_platform nozalloc = *s2_hosted_platform();
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	struct s2_vm *out = NULL;
	struct s2_vm_stats st;
	uint64_t bm[64];
	s2_hva_t hva;
	const uint64_t top = 1ULL << 40;

	nozalloc.zalloc = NULL;
	fn("s2_vm_create");
	E("NULL config", -S2_EINVAL, s2_vm_create(NULL, &out));
	E("NULL result", -S2_EINVAL, s2_vm_create(&good, NULL));
	c = good; c.host = NULL;
	E("NULL host ops", -S2_EINVAL, s2_vm_create(&c, &out));
	c = good; c.host = &fh_no_resolve;
	E("host ops missing resolve", -S2_EINVAL, s2_vm_create(&c, &out));
	c = good; c.flags = 0x8000;
	E("unknown flag", -S2_EINVAL, s2_vm_create(&c, &out));
	c = good; c.max_slots = 5000;
	E("max_slots above 4096", -S2_EINVAL, s2_vm_create(&c, &out));
	c = good; c.pgt.plat = &nozalloc;
	E("platform missing zalloc", -S2_EINVAL, s2_vm_create(&c, &out));
	c = good; c.pgt.granule_shift = 13;
	E("bad table configuration", -S2_EINVAL, s2_vm_create(&c, &out));

	fn("s2_vm_destroy");
	V("NULL", s2_vm_destroy(NULL));

	fn("s2_vm_memcache_free");
	V("NULL VM or cache", (s2_vm_memcache_free(NULL, &F.mc), s2_vm_memcache_free(F.vm, NULL)));

	fn("s2_vm_set_memslot");
	E("NULL VM", -S2_EINVAL, s2_vm_set_memslot(NULL, 2, s2_gpa(16 * M2), M2, s2_hva(HVA0), 0));
	E("id >= max_slots", -S2_EINVAL, s2_vm_set_memslot(F.vm, 4, s2_gpa(16 * M2), M2, s2_hva(HVA0), 0));
	E("zero size", -S2_EINVAL, s2_vm_set_memslot(F.vm, 2, s2_gpa(16 * M2), 0, s2_hva(HVA0), 0));
	E("misaligned GPA", -S2_EINVAL, s2_vm_set_memslot(F.vm, 2, s2_gpa(16 * M2 + 8), M2, s2_hva(HVA0), 0));
	E("misaligned size", -S2_EINVAL, s2_vm_set_memslot(F.vm, 2, s2_gpa(16 * M2), M2 + 8, s2_hva(HVA0), 0));
	E("misaligned HVA", -S2_EINVAL, s2_vm_set_memslot(F.vm, 2, s2_gpa(16 * M2), M2, s2_hva(HVA0 + 8), 0));
	E("unknown flag", -S2_EINVAL, s2_vm_set_memslot(F.vm, 2, s2_gpa(16 * M2), M2, s2_hva(HVA0), 0x80));
	E("read-only + dirty log", -S2_EINVAL, s2_vm_set_memslot(F.vm, 2, s2_gpa(16 * M2), M2, s2_hva(HVA0), S2_MEM_READONLY | S2_MEM_DIRTY_LOG));
	E("hardware dirty logging without dirty logging", -S2_EINVAL, s2_vm_set_memslot(F.vm, 2, s2_gpa(16 * M2), M2, s2_hva(HVA0), S2_MEM_DIRTY_HW));
	E("hardware dirty logging, no S2_PGT_HW_DBM", -S2_EINVAL, s2_vm_set_memslot(F.vm, 2, s2_gpa(16 * M2), M2, s2_hva(HVA0), S2_MEM_DIRTY_LOG | S2_MEM_DIRTY_HW));
	E("hardware dirty logging switched on a live slot, no S2_PGT_HW_DBM", -S2_EINVAL, s2_vm_set_memslot(F.vm, 0, s2_gpa(0), 4 * M2, s2_hva(HVA0), S2_MEM_DIRTY_LOG | S2_MEM_DIRTY_HW));
	E("GPA + size wraps", -S2_EINVAL, s2_vm_set_memslot(F.vm, 2, s2_gpa(-M2), 2 * M2, s2_hva(HVA0), 0));
	E("HVA + size wraps", -S2_EINVAL, s2_vm_set_memslot(F.vm, 2, s2_gpa(16 * M2), 2 * M2, s2_hva(-M2), 0));
	E("beyond the IPA size", -S2_ERANGE, s2_vm_set_memslot(F.vm, 2, s2_gpa(top - M2), 2 * M2, s2_hva(HVA0), 0));
	E("overlapping slot", -S2_EEXIST, s2_vm_set_memslot(F.vm, 2, s2_gpa(M2), M2, s2_hva(HVA0), 0));
	E("move with a flag change", -S2_EINVAL, s2_vm_set_memslot(F.vm, 0, s2_gpa(32 * M2), 4 * M2, s2_hva(HVA0), S2_MEM_READONLY));
	E("VM released", -S2_ENOENT, s2_vm_set_memslot(F.rel, 2, s2_gpa(16 * M2), M2, s2_hva(HVA0), 0));

	fn("s2_vm_delete_memslot");
	E("NULL VM", -S2_EINVAL, s2_vm_delete_memslot(NULL, 0));
	E("id >= max_slots", -S2_EINVAL, s2_vm_delete_memslot(F.vm, 4));
	E("no such slot", -S2_ENOENT, s2_vm_delete_memslot(F.vm, 3));

	fn("s2_vm_fault");
	E("NULL VM", -S2_EINVAL, s2_vm_fault(NULL, s2_gpa(0), S2_ACC_READ, &mc, NULL));
	E("NULL cache", -S2_EINVAL, s2_vm_fault(F.vm, s2_gpa(0), S2_ACC_READ, NULL, NULL));
	E("no access kind", -S2_EINVAL, s2_vm_fault(F.vm, s2_gpa(0), 0, &mc, NULL));
	E("unknown access bit", -S2_EINVAL, s2_vm_fault(F.vm, s2_gpa(0), S2_ACC_READ | 0x10, &mc, NULL));
	E("beyond the IPA size", -S2_ERANGE, s2_vm_fault(F.vm, s2_gpa(top), S2_ACC_READ, &mc, NULL));
	E("no memslot", -S2_EFAULT, s2_vm_fault(F.vm, s2_gpa(64 * M2), S2_ACC_READ, &mc, NULL));
	E("write to a read-only slot", -S2_EFAULT, s2_vm_fault(F.vm, s2_gpa(8 * M2), S2_ACC_WRITE, &mc, NULL));
	E("VM released", -S2_ENOENT, s2_vm_fault(F.rel, s2_gpa(0), S2_ACC_READ, &mc, NULL));
	s2_memcache_free(&F.pgt, &mc);

	fn("s2_vm_mn_invalidate_range_start");
	E("NULL VM", -S2_EINVAL, s2_vm_mn_invalidate_range_start(NULL, s2_hva(HVA0), s2_hva(HVA0 + PG), true));
	E("empty or inverted range", -S2_EINVAL, s2_vm_mn_invalidate_range_start(F.vm, s2_hva(HVA0 + PG), s2_hva(HVA0), true));
	E("after release (start and end)", 0, s2_vm_mn_invalidate_range_start(F.rel, s2_hva(HVA0), s2_hva(HVA0 + PG), true));
	s2_vm_mn_invalidate_range_end(F.rel, s2_hva(HVA0), s2_hva(HVA0 + PG));

	fn("s2_vm_mn_invalidate_range_end");
	V("NULL VM", s2_vm_mn_invalidate_range_end(NULL, s2_hva(HVA0), s2_hva(HVA0 + PG)));
	/* must not leave memslot updates waiting forever (alarm in main) */
	V("without a start", s2_vm_mn_invalidate_range_end(F.vm, s2_hva(HVA0), s2_hva(HVA0 + PG)));
	E("(then a memslot update still proceeds)", -S2_EEXIST,
	  s2_vm_set_memslot(F.vm, 2, s2_gpa(0), M2, s2_hva(HVA0), 0));
	E("(and a real update too)", 0, s2_vm_set_memslot(F.vm, 3, s2_gpa(32 * M2), M2, s2_hva(HVA0), 0) |
	  s2_vm_delete_memslot(F.vm, 3));

	fn("s2_vm_mn_release");
	V("NULL VM", s2_vm_mn_release(NULL));
	V("twice", s2_vm_mn_release(F.rel));

	fn("s2_vm_mn_clear_flush_young, _clear_young, _test_young");
	B("NULL VM", false, s2_vm_mn_clear_flush_young(NULL, s2_hva(HVA0), s2_hva(HVA0 + PG)) ||
	  s2_vm_mn_clear_young(NULL, s2_hva(HVA0), s2_hva(HVA0 + PG)) ||
	  s2_vm_mn_test_young(NULL, s2_hva(HVA0), s2_hva(HVA0 + PG)), "false");
	B("empty or inverted range", false, s2_vm_mn_test_young(F.vm, s2_hva(HVA0 + PG), s2_hva(HVA0)), "false");
	B("after release", false, s2_vm_mn_clear_flush_young(F.rel, s2_hva(HVA0), s2_hva(HVA0 + M2)) ||
	  s2_vm_mn_test_young(F.rel, s2_hva(HVA0), s2_hva(HVA0 + M2)), "false");

	fn("s2_vm_get_dirty_log");
	E("NULL VM", -S2_EINVAL, s2_vm_get_dirty_log(NULL, 0, bm, 64));
	E("NULL bitmap", -S2_EINVAL, s2_vm_get_dirty_log(F.vm, 0, NULL, 64));
	E("no such slot", -S2_ENOENT, s2_vm_get_dirty_log(F.vm, 3, bm, 64));
	E("id >= max_slots", -S2_ENOENT, s2_vm_get_dirty_log(F.vm, 9, bm, 64));
	E("slot not logging", -S2_EINVAL, s2_vm_get_dirty_log(F.vm, 0, bm, 64));
	E("bitmap too small", -S2_EINVAL, s2_vm_get_dirty_log(F.rel, 0, bm, 1));
	E("after release (the log survives)", 0, s2_vm_get_dirty_log(F.rel, 0, bm, 64));

	fn("s2_vm_get_stats");
	memset(&st, 0xff, sizeof(st));
	s2_vm_get_stats(NULL, &st);
	B("NULL VM", 0, st.faults | st.installs, "all counters 0");
	V("NULL result", s2_vm_get_stats(F.vm, NULL));

	fn("s2_vm_pgtable");
	B("NULL VM", NULL, s2_vm_pgtable(NULL), "NULL");
	B("after release", NULL, s2_vm_pgtable(F.rel), "NULL");

	fn("s2_vm_gpa_to_hva");
	B("NULL VM", false, s2_vm_gpa_to_hva(NULL, s2_gpa(0), &hva, NULL), "false");
	B("no memslot", false, s2_vm_gpa_to_hva(F.vm, s2_gpa(64 * M2), &hva, NULL), "false");
	B("NULL outputs (allowed)", true, s2_vm_gpa_to_hva(F.vm, s2_gpa(0), NULL, NULL), "true");
}

static void hosted_rows(void)
{
	struct s2_hosted_stats st;

	fn("s2_hosted_free");
	V("NULL", s2_hosted_free(NULL));
	fn("s2_hosted_get_stats");
	memset(&st, 0xff, sizeof(st));
	s2_hosted_get_stats(NULL, &st);
	B("NULL instance", 0, st.pages_live | st.tlbi_ipa, "all counters 0");
	V("NULL result", s2_hosted_get_stats(F.h, NULL));
	fn("s2_hosted_reset_counters, _set_observer, _fail_alloc");
	V("NULL instance", (s2_hosted_reset_counters(NULL), s2_hosted_set_observer(NULL, NULL, NULL),
			    s2_hosted_fail_alloc(NULL, 1, true)));
	fn("s2_hosted_thread_online, _offline");
	V("twice, or offline first", (s2_hosted_thread_offline(), s2_hosted_thread_online(),
				      s2_hosted_thread_online(), s2_hosted_thread_offline(),
				      s2_hosted_thread_offline(), s2_hosted_thread_online()));
}

int main(int argc, char **argv)
{
	markdown = argc > 1 && !strcmp(argv[1], "--markdown");
	/* a misuse that hangs (a memslot update waiting forever) fails */
	alarm(60);
	fix_setup();
	if (markdown) {
		printf("| function | bad argument / misuse | result |\n");
		printf("|---|---|---|\n");
	}
	engine_rows();
	mmu_rows();
	hosted_rows();
	if (markdown)
		return 0;
	s2_vm_destroy(F.vm);
	s2_vm_destroy(F.rel);
	s2_pgt_destroy(&F.pgt);
	s2_memcache_free(&F.pgt, &F.mc);
	s2_hosted_free(F.h);
	return tap_done();
}
