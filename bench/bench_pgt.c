/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * `s2mmu bench`: page-table engine figures.  Measured on the machine it
 * runs on, one thread; TLB and cache operations are counted by the hosted
 * platform's hooks (as the reference figures of DESIGN.md section 9 count,
 * rather than execute, TLBI and barrier instructions).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <s2mmu/pgtable.h>
#include <s2mmu/hosted.h>
#include "bench.h"
#include "tools/version.h"

struct fig {
	char name[64];
	double mpps;		/* millions of pages per second */
	double ns_per_page;
	uint64_t pages;
	uint64_t tlbi;		/* TLB operations issued */
	uint64_t cmo;		/* cache operations issued */
};

struct bench {
	struct fig figs[128];
	unsigned nfigs;
	int reps;
	bool json;
	bool verbose;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t tlbi_total(const struct s2_hosted_stats *s)
{
	return s->tlbi_ipa + s->tlbi_range + s->tlbi_vm;
}

/* Keep the best (fastest) of the repetitions. */
static void record(struct bench *b, const char *name, double secs, uint64_t pages,
		   const struct s2_hosted_stats *s0, const struct s2_hosted_stats *s1)
{
	struct fig *f = NULL;
	unsigned i;

	for (i = 0; i < b->nfigs; i++)
		if (!strcmp(b->figs[i].name, name))
			f = &b->figs[i];
	if (!f) {
		f = &b->figs[b->nfigs++];
		memset(f, 0, sizeof(*f));
		snprintf(f->name, sizeof(f->name), "%s", name);
	} else if (f->ns_per_page <= secs * 1e9 / (double)pages) {
		return;
	}
	f->pages = pages;
	f->ns_per_page = secs * 1e9 / (double)pages;
	f->mpps = (double)pages / secs / 1e6;
	f->tlbi = tlbi_total(s1) - tlbi_total(s0);
	f->cmo = (s1->dcache_ops + s1->icache_ops) - (s0->dcache_ops + s0->icache_ops);
}

#define TIMED(b, h, name, pages, body)					\
	do {								\
		struct s2_hosted_stats s0_, s1_;			\
		double t0_;						\
		s2_hosted_get_stats(h, &s0_);				\
		t0_ = now_s();						\
		body;							\
		double t1_ = now_s();					\
		s2_hosted_get_stats(h, &s1_);				\
		record(b, name, t1_ - t0_, pages, &s0_, &s1_);		\
	} while (0)

static void die(const char *what, int ret)
{
	fprintf(stderr, "s2mmu bench: %s failed: %d\n", what, ret);
	exit(2);
}

static uint64_t pt_bytes_max;

/*
 * The memory floor of a range operation over @gsize of 4K pages (issue
 * 17): one 8-byte entry per page, written (map, unmap) or read, changed
 * and written back (mkold, wrprotect), in a flat array of the same size
 * as the last-level tables.  Relaxed atomic stores, as the engine writes
 * entries, so that the compiler neither vectorises the loop nor drops
 * it: the floor is what a walk that did nothing but touch each entry
 * once would cost on this machine.
 */
static void bench_floor(struct bench *b, struct s2_hosted *h, uint64_t gsize, const char *gk)
{
	const uint64_t n = gsize / 4096;
	uint64_t *e = malloc(n * sizeof(*e)), i;
	char nm[64];

	if (!e)
		die("floor alloc", -12);
	/* first touch outside the timing: the tables are resident too */
	memset(e, 0, n * sizeof(*e));
	/* each twice, the better kept: the first pass over a guest small
	 * enough for the cache pays its misses for the second */
	for (int pass = 0; pass < 2; pass++) {
		snprintf(nm, sizeof(nm), "floor_store_4k_%s", gk);
		TIMED(b, h, nm, n, {
			for (i = 0; i < n; i++)
				__atomic_store_n(&e[i], ((1ULL << 40) + (i << 12)) | 0x7c3,
						 __ATOMIC_RELAXED);
		});
		snprintf(nm, sizeof(nm), "floor_rmw_4k_%s", gk);
		TIMED(b, h, nm, n, {
			for (i = 0; i < n; i++)
				__atomic_store_n(&e[i],
						 __atomic_load_n(&e[i], __ATOMIC_RELAXED) & ~0x400ULL,
						 __ATOMIC_RELAXED);
		});
	}
	free(e);
}

/* One pass over a guest of @gsize mapped with leaves of @leaf bytes. */
static void bench_pass(struct bench *b, uint64_t gsize, uint64_t leaf)
{
	struct s2_hosted *h = s2_hosted_new();
	struct s2_pgt_cfg cfg = {
		.format = S2_FMT_ARM64, .granule_shift = 12, .ia_bits = 40, .oa_bits = 48,
		.plat = s2_hosted_platform(), .plat_ctx = h,
	};
	struct s2_pgtable pgt;
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	const uint64_t base = 0, pa0 = 1ULL << 40;
	uint64_t pages = gsize / 4096, n = gsize / leaf, a;
	const char *lk = leaf == 4096 ? "4k" : "2m";
	const char *gk = gsize == (1ULL << 30) ? "1g" : "8g";
	struct s2_hosted_stats st;
	char nm[64];
	int ret;

	if (!h || s2_pgt_init(&pgt, &cfg))
		die("init", -1);
	if (leaf == 4096)
		bench_floor(b, h, gsize, gk);
#define NAME(op) (snprintf(nm, sizeof(nm), "%s_%s_%s", op, lk, gk), nm)

	/* map, one call per leaf, shared walk with compare-and-exchange */
	if ((ret = s2_memcache_topup(&pgt, &mc, s2_pgt_pages_needed(&pgt, s2_gpa(base), gsize) + 4)))
		die("topup", ret);
	TIMED(b, h, NAME("map"), pages, {
		for (a = 0; a < gsize; a += leaf)
			if ((ret = s2_pgt_map(&pgt, s2_gpa(base + a), leaf, s2_hpa(pa0 + a),
					      S2_PROT_R | S2_PROT_W, leaf, &mc, S2_WALK_SHARED)))
				die("map", ret);
	});
	s2_hosted_get_stats(h, &st);
	if (st.pages_live * 4096 > pt_bytes_max)
		pt_bytes_max = st.pages_live * 4096;
	TIMED(b, h, NAME("mkold_range"), pages, {
		if (s2_pgt_test_clear_young(&pgt, s2_gpa(base), gsize, true, 0) != 1)
			die("mkold", 0);
	});
	TIMED(b, h, NAME("test_young_range"), pages, {
		if (s2_pgt_test_clear_young(&pgt, s2_gpa(base), gsize, false, 0) != 0)
			die("test_young", 0);
	});
	TIMED(b, h, NAME("wrprotect_range"), pages, {
		if ((ret = s2_pgt_wrprotect(&pgt, s2_gpa(base), gsize)))
			die("wrprotect", ret);
	});
	TIMED(b, h, NAME("relax"), pages, {
		for (a = 0; a < gsize; a += leaf)
			if ((ret = s2_pgt_relax_perms(&pgt, s2_gpa(base + a), S2_PROT_W,
						      S2_WALK_SHARED)))
				die("relax", ret);
	});
	TIMED(b, h, NAME("unmap"), pages, {
		for (a = 0; a < gsize; a += leaf)
			if ((ret = s2_pgt_unmap(&pgt, s2_gpa(base + a), leaf)))
				die("unmap", ret);
	});
	/* one call for the whole range, exclusive walk */
	if ((ret = s2_memcache_topup(&pgt, &mc, s2_pgt_pages_needed(&pgt, s2_gpa(base), gsize))))
		die("topup", ret);
	TIMED(b, h, NAME("map_range"), pages, {
		if ((ret = s2_pgt_map(&pgt, s2_gpa(base), gsize, s2_hpa(pa0),
				      S2_PROT_R | S2_PROT_W, leaf, &mc, 0)))
			die("map range", ret);
	});
	if (leaf > 4096) {
		if ((ret = s2_memcache_topup(&pgt, &mc, n + 4)))
			die("topup", ret);
		TIMED(b, h, NAME("split_range"), pages, {
			if ((ret = s2_pgt_split(&pgt, s2_gpa(base), gsize, 4096, &mc, 0)))
				die("split", ret);
		});
	}
	TIMED(b, h, NAME("unmap_range"), pages, {
		if ((ret = s2_pgt_unmap(&pgt, s2_gpa(base), gsize)))
			die("unmap range", ret);
	});
	s2_pgt_destroy(&pgt);
	s2_memcache_free(&pgt, &mc);
	s2_hosted_free(h);
#undef NAME
}

static const struct fig *find(const struct bench *b, const char *name)
{
	for (unsigned i = 0; i < b->nfigs; i++)
		if (!strcmp(b->figs[i].name, name))
			return &b->figs[i];
	return NULL;
}

/*
 * Fast unmap against the per-leaf unmap (the reference) of @gsize fully
 * mapped with 4K pages, one range call each, exclusive; with @flags
 * S2_PGT_NO_FWB too, where the per-leaf unmap must invalidate each leaf
 * before cleaning it.  The deferred frees run outside the timing, as they
 * run outside the caller's lock.
 */
static void bench_unmap_cmp(struct bench *b, uint64_t gsize, unsigned flags, double *map_s)
{
	struct s2_hosted *h = s2_hosted_new();
	struct s2_pgt_cfg cfg = {
		.format = S2_FMT_ARM64, .granule_shift = 12, .ia_bits = 40, .oa_bits = 48,
		.flags = flags, .plat = s2_hosted_platform(), .plat_ctx = h,
	};
	struct s2_pgtable pgt;
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	const uint64_t pa0 = 1ULL << 40, pages = gsize / 4096;
	const char *fk = flags & S2_PGT_NO_FWB ? "_nofwb" : "";
	char nm[64];
	double t0;
	int ret, pass;

	if (!h || s2_pgt_init(&pgt, &cfg))
		die("init", -1);
	/* the fast unmap three times: microseconds, so one wake-up of the
	 * RCU callback thread on this core would otherwise be the figure */
	for (pass = 0; pass < 4; pass++) {
		if ((ret = s2_memcache_topup(&pgt, &mc, s2_pgt_pages_needed(&pgt, s2_gpa(0), gsize))))
			die("topup", ret);
		t0 = now_s();
		if ((ret = s2_pgt_map(&pgt, s2_gpa(0), gsize, s2_hpa(pa0), S2_PROT_R | S2_PROT_W,
				      4096, &mc, 0)))
			die("map range", ret);
		if (map_s && (*map_s == 0 || now_s() - t0 < *map_s))
			*map_s = now_s() - t0;
		snprintf(nm, sizeof(nm), "%s_4k%s_%llug", pass ? "fast_unmap" : "unmap_leaf", fk,
			 (unsigned long long)(gsize >> 30));
		TIMED(b, h, nm, pages, {
			ret = pass ? s2_pgt_unmap_fast(&pgt, s2_gpa(0), gsize, NULL)
				   : s2_pgt_unmap(&pgt, s2_gpa(0), gsize);
			if (ret)
				die("unmap", ret);
		});
		pgt.plat->defer_barrier(pgt.ctx);
	}
	s2_pgt_destroy(&pgt);
	s2_memcache_free(&pgt, &mc);
	s2_hosted_free(h);
}

/* Time versus guest size for the plots (docs/performance.md). */
static void bench_sizes(struct bench *b)
{
	printf("# guest_mib map_range_ms unmap_leaf_ms fast_unmap_ms   (4K pages, best of %d)\n",
	       b->reps);
	for (uint64_t gs = 128ULL << 20; gs <= 16ULL << 30; gs *= 2) {
		double map_s = 0;
		char nm[2][64];
		const struct fig *f[2];

		for (int r = 0; r < b->reps; r++)
			bench_unmap_cmp(b, gs, 0, &map_s);
		snprintf(nm[0], sizeof(nm[0]), "unmap_leaf_4k_%llug", (unsigned long long)(gs >> 30));
		snprintf(nm[1], sizeof(nm[1]), "fast_unmap_4k_%llug", (unsigned long long)(gs >> 30));
		f[0] = find(b, nm[0]);
		f[1] = find(b, nm[1]);
		printf("%llu %.4f %.4f %.4f\n", (unsigned long long)(gs >> 20), map_s * 1e3,
		       f[0]->ns_per_page * (double)f[0]->pages * 1e-6,
		       f[1]->ns_per_page * (double)f[1]->pages * 1e-6);
		/* sizes below 1 GiB share the "0g" name: start afresh */
		b->nfigs = 0;
	}
}

/*
 * Issue 6's figures, each next to its baseline from the same run: a
 * name, a value and its unit, printed as JSON fields and as a table.
 */
struct derived {
	char name[64];
	double v;
	const char *unit;
	int prec;
};

static unsigned derive(const struct bench *b, const struct s2_core_results *c,
		       struct derived *d)
{
	static const char *const sz[] = { "1g", "16g", "nofwb_1g" };
	unsigned n = 0;

#define PUT(nm_, v_, unit_, prec_)						\
	do {									\
		snprintf(d[n].name, sizeof(d[n].name), "%s", nm_);		\
		d[n].v = (v_);							\
		d[n].unit = unit_;						\
		d[n].prec = prec_;						\
		n++;								\
	} while (0)
	for (unsigned i = 0; i < 3; i++) {
		char a[64], f[64], nm[64];
		const struct fig *leaf, *fast;

		snprintf(a, sizeof(a), "unmap_leaf_4k%s%s", i == 2 ? "_nofwb_" : "_",
			 i == 2 ? "1g" : sz[i]);
		snprintf(f, sizeof(f), "fast_unmap_4k%s%s", i == 2 ? "_nofwb_" : "_",
			 i == 2 ? "1g" : sz[i]);
		leaf = find(b, a);
		fast = find(b, f);
		if (!leaf || !fast)
			continue;
		snprintf(nm, sizeof(nm), "unmap_leaf_ms_%s", sz[i]);
		PUT(nm, leaf->ns_per_page * (double)leaf->pages * 1e-6, "ms", 3);
		snprintf(nm, sizeof(nm), "fast_unmap_ms_%s", sz[i]);
		PUT(nm, fast->ns_per_page * (double)fast->pages * 1e-6, "ms", 4);
		snprintf(nm, sizeof(nm), "fast_unmap_speedup_%s", sz[i]);
		PUT(nm, leaf->ns_per_page / fast->ns_per_page, "x", 0);
		snprintf(nm, sizeof(nm), "unmap_leaf_tlbi_ops_%s", sz[i]);
		PUT(nm, (double)leaf->tlbi, "ops", 0);
		snprintf(nm, sizeof(nm), "fast_unmap_tlbi_ops_%s", sz[i]);
		PUT(nm, (double)fast->tlbi, "ops", 0);
	}
	/* each 4K range operation as a multiple of its floor, on the
	 * largest guest the run measured (issue 17: "within 5x") */
	{
		static const char *const ops[] = { "map_range", "unmap_range", "mkold_range",
						   "test_young_range", "wrprotect_range" };
		const char *g = find(b, "floor_store_4k_8g") ? "8g" : "1g";

		for (unsigned i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
			char f[64], fs[64], fr[64], nm[64];
			const struct fig *op, *st, *rmw;

			snprintf(f, sizeof(f), "%s_4k_%s", ops[i], g);
			snprintf(fs, sizeof(fs), "floor_store_4k_%s", g);
			snprintf(fr, sizeof(fr), "floor_rmw_4k_%s", g);
			op = find(b, f);
			st = find(b, fs);
			rmw = find(b, fr);
			if (!op || !st || !rmw)
				continue;
			snprintf(nm, sizeof(nm), "%s_4k_x_store_floor", ops[i]);
			PUT(nm, op->ns_per_page / st->ns_per_page, "x", 1);
			snprintf(nm, sizeof(nm), "%s_4k_x_rmw_floor", ops[i]);
			PUT(nm, op->ns_per_page / rmw->ns_per_page, "x", 1);
		}
	}
	PUT("fault_1t_per_s", c->fault_1t_per_s, "faults/s", 0);
	PUT("fault_2t_per_s", c->fault_2t_per_s, "faults/s", 0);
	PUT("fault_scaling_2t", c->fault_2t_per_s / c->fault_1t_per_s, "x", 2);
	PUT("age_2m_alone_mpages_per_s", c->age_alone_per_s * 1e-6, "Mpages/s", 1);
	PUT("age_2m_2faulting_mpages_per_s", c->age_2f_per_s * 1e-6, "Mpages/s", 1);
	PUT("age_2m_2faulting_faults_per_s", c->age_2f_faults_per_s, "faults/s", 0);
	PUT("spurious_retry_pct_ranged", c->spurious_pct_ranged, "%", 3);
	PUT("spurious_retry_pct_counter", c->spurious_pct_counter, "%", 2);
	PUT("split_eager_s", c->eager_s, "s", 4);
	PUT("split_eager_enable_s", c->eager_enable_s, "s", 4);
	PUT("split_eager_faults", (double)c->eager_faults, "faults", 0);
	PUT("split_lazy_s", c->lazy_s, "s", 4);
	PUT("split_lazy_faults", (double)c->lazy_faults, "faults", 0);
	PUT("split_eager_speedup", c->lazy_s / c->eager_s, "x", 2);
	{
		/* the hardware-mode dirty-log pass, named by the guest size
		 * beside the other modes' dirty_pass_* figures */
		char nm[64];
		const char *g = c->dirty_hw_pages >= (16ULL << 30) / 4096 ? "16g" : "1g";

		snprintf(nm, sizeof(nm), "dirty_pass_hw_%s_pages_per_s", g);
		PUT(nm, c->dirty_hw_all_per_s, "pages/s", 0);
		snprintf(nm, sizeof(nm), "dirty_pass_hw_%s_tlbi_ops", g);
		PUT(nm, (double)c->dirty_hw_all_tlbi, "ops", 0);
		snprintf(nm, sizeof(nm), "dirty_pass_hw_%s_clean_pages_per_s", g);
		PUT(nm, c->dirty_hw_none_per_s, "pages/s", 0);
	}
#undef PUT
	return n;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: s2mmu bench [--quick] [--json] [--reps N] [--sizes]\n"
		"\n"
		"Measures the page-table engine on this machine, one thread, arm64\n"
		"stage 2 with a 4K granule and a 40-bit IPA: map / unmap / mkold /\n"
		"wrprotect / relax / split over 1 GiB and 8 GiB of guest space, with\n"
		"4K pages and 2M blocks, one call per page and one call per range.\n"
		"TLB and cache operations are counted by the hosted platform.\n"
		"Then fast unmap against per-leaf unmap of 1 GiB and 16 GiB of 4K\n"
		"pages, and the coherence core: fault-in with 1 and 2 threads,\n"
		"aging (clear_young of 2M ranges) alone and beside 2 faulting threads,\n"
		"spurious retries (ranged vs counter tracking), eager vs lazy split.\n"
		"Each 4K range operation is also given as a multiple of the memory\n"
		"floor: a loop storing (and one read-modify-writing) one 8-byte\n"
		"entry per page over as many pages (floor_store_*, floor_rmw_*).\n"
		"\n"
		"  --quick    1 GiB engine passes, smaller core runs, one repetition\n"
		"  --json     one JSON object with a field per figure\n"
		"  --reps N   repetitions per figure, best kept (default 3)\n"
		"  --sizes    time of map / unmap / fast unmap per guest size\n"
		"             (128 MiB .. 16 GiB, 4K pages), columns for gnuplot\n");
}

int s2_bench_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'j' },
		{ "reps", required_argument, NULL, 'r' },
		{ "sizes", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench *b = calloc(1, sizeof(*b));
	bool quick = false, sizes = false;
	struct s2_core_results core;
	struct derived d[64];
	unsigned nd;
	int c, r;
	struct rusage ru;
	char host[256] = "unknown";

	b->reps = 3;
	optind = 1;
	while ((c = getopt_long(argc, argv, "qjr:sh", opts, NULL)) != -1) {
		switch (c) {
		case 'q': quick = true; b->reps = 1; break;
		case 'j': b->json = true; break;
		case 'r': b->reps = atoi(optarg); if (b->reps < 1) b->reps = 1; break;
		case 's': sizes = true; break;
		case 'h': usage(stdout); free(b); return 0;
		default: usage(stderr); free(b); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "s2mmu bench: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		free(b);
		return 2;
	}
	{
		FILE *f = fopen("/proc/cpuinfo", "r");
		char line[512];

		while (f && fgets(line, sizeof(line), f))
			if (!strncmp(line, "model name", 10)) {
				char *p = strchr(line, ':');

				if (p) {
					snprintf(host, sizeof(host), "%s", p + 2);
					host[strcspn(host, "\n")] = 0;
				}
				break;
			}
		if (f)
			fclose(f);
	}
	if (sizes) {
		bench_sizes(b);
		free(b);
		return 0;
	}
	for (r = 0; r < b->reps; r++) {
		if (!b->json && isatty(2))
			fprintf(stderr, "\rbench: repetition %d/%d ", r + 1, b->reps);
		bench_pass(b, 1ULL << 30, 4096);
		bench_pass(b, 1ULL << 30, 2ULL << 20);
		if (!quick) {
			bench_pass(b, 8ULL << 30, 4096);
			bench_pass(b, 8ULL << 30, 2ULL << 20);
		}
		bench_unmap_cmp(b, 1ULL << 30, 0, NULL);
		bench_unmap_cmp(b, 16ULL << 30, 0, NULL);
		bench_unmap_cmp(b, 1ULL << 30, S2_PGT_NO_FWB, NULL);
	}
	if (!b->json && isatty(2))
		fprintf(stderr, "\rbench: coherence core          ");
	s2_bench_fault_scaling(quick ? 128ULL << 20 : 1ULL << 30, b->reps, &core);
	s2_bench_aging(quick ? 128ULL << 20 : 1ULL << 30, quick ? 0.2 : 0.5, b->reps, &core);
	s2_bench_spurious(quick ? 100000 : 1000000, &core);
	s2_bench_split(quick ? 256ULL << 20 : 1ULL << 30, b->reps, &core);
	s2_bench_dirty_hw(quick ? 1ULL << 30 : 16ULL << 30, b->reps, &core);
	if (!b->json && isatty(2))
		fprintf(stderr, "\r%40s\r", "");
	getrusage(RUSAGE_SELF, &ru);
	nd = derive(b, &core, d);

	if (b->json) {
		static const struct { const char *json, *fig; } alias[] = {
			{ "map_4k_mpages_per_s", "map_4k_8g" },
			{ "map_4k_range_mpages_per_s", "map_range_4k_8g" },
			{ "unmap_4k_range_mpages_per_s", "unmap_range_4k_8g" },
			{ "unmap_4k_mpages_per_s", "unmap_4k_8g" },
			{ "mkold_4k_range_mpages_per_s", "mkold_range_4k_8g" },
			{ "relax_4k_mpages_per_s", "relax_4k_8g" },
		};
		const char *gq = quick ? "1g" : "8g";
		const struct fig *f;

		putchar('{');
		s2_version_json_fields(stdout);	/* as `s2mmu version --json` */
		printf(",\"machine\":\"%s\",\"quick\":%s", host, quick ? "true" : "false");
		for (size_t i = 0; i < sizeof(alias) / sizeof(alias[0]); i++) {
			char nm[64];

			snprintf(nm, sizeof(nm), "%.*s%s", (int)strlen(alias[i].fig) - 2,
				 alias[i].fig, gq);
			f = find(b, nm);
			printf(",\"%s\":%.1f", alias[i].json, f ? f->mpps : 0.0);
		}
		{
			char nm[64];

			snprintf(nm, sizeof(nm), "unmap_range_4k_%s", gq);
			f = find(b, nm);
			printf(",\"tlbi_ops_unmap_4k_range\":%llu",
			       f ? (unsigned long long)f->tlbi : 0ULL);
		}
		for (unsigned i = 0; i < b->nfigs; i++) {
			f = &b->figs[i];
			printf(",\"%s_mpages_per_s\":%.1f,\"%s_ns_per_page\":%.2f,"
			       "\"%s_tlbi_ops\":%llu,\"%s_cache_ops\":%llu",
			       f->name, f->mpps, f->name, f->ns_per_page, f->name,
			       (unsigned long long)f->tlbi, f->name, (unsigned long long)f->cmo);
		}
		for (unsigned i = 0; i < nd; i++)
			printf(",\"%s\":%.*f", d[i].name, d[i].prec, d[i].v);
		printf(",\"page_table_bytes_max\":%llu,\"peak_rss_bytes\":%llu}\n",
		       (unsigned long long)pt_bytes_max, (unsigned long long)ru.ru_maxrss * 1024);
	} else {
		printf("s2mmu bench: arm64 stage 2, 4K granule, 40-bit IPA, 1 thread, best of %d\n",
		       b->reps);
		printf("machine: %s\n\n", host);
		printf("%-24s %10s %10s %10s %10s\n", "figure", "Mpages/s", "ns/page",
		       "TLBI ops", "cache ops");
		for (unsigned i = 0; i < b->nfigs; i++) {
			const struct fig *f = &b->figs[i];

			printf("%-24s %10.1f %10.2f %10llu %10llu\n", f->name, f->mpps,
			       f->ns_per_page, (unsigned long long)f->tlbi,
			       (unsigned long long)f->cmo);
		}
		printf("\n%-36s %16s\n", "figure (issue 6, issue 17 floors)", "value");
		for (unsigned i = 0; i < nd; i++)
			printf("%-36s %16.*f %s\n", d[i].name, d[i].prec, d[i].v, d[i].unit);
		printf("\npage-table bytes (largest guest, 4K pages): %llu\n",
		       (unsigned long long)pt_bytes_max);
		printf("peak RSS: %llu KiB\n", (unsigned long long)ru.ru_maxrss);
	}
	free(b);
	return 0;
}
