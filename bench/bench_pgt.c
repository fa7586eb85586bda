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

static void usage(FILE *f)
{
	fprintf(f,
		"usage: s2mmu bench [--quick] [--json] [--reps N]\n"
		"\n"
		"Measures the page-table engine on this machine, one thread, arm64\n"
		"stage 2 with a 4K granule and a 40-bit IPA: map / unmap / mkold /\n"
		"wrprotect / relax / split over 1 GiB and 8 GiB of guest space, with\n"
		"4K pages and 2M blocks, one call per page and one call per range.\n"
		"TLB and cache operations are counted by the hosted platform.\n"
		"\n"
		"  --quick    1 GiB only, one repetition\n"
		"  --json     one JSON object with a field per figure\n"
		"  --reps N   repetitions per figure, best kept (default 3)\n");
}

int s2_bench_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'j' },
		{ "reps", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench *b = calloc(1, sizeof(*b));
	bool quick = false;
	int c, r;
	struct rusage ru;
	char host[256] = "unknown";

	b->reps = 3;
	optind = 1;
	while ((c = getopt_long(argc, argv, "qjr:h", opts, NULL)) != -1) {
		switch (c) {
		case 'q': quick = true; b->reps = 1; break;
		case 'j': b->json = true; break;
		case 'r': b->reps = atoi(optarg); if (b->reps < 1) b->reps = 1; break;
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
	for (r = 0; r < b->reps; r++) {
		if (!b->json && isatty(2))
			fprintf(stderr, "\rbench: repetition %d/%d ", r + 1, b->reps);
		bench_pass(b, 1ULL << 30, 4096);
		bench_pass(b, 1ULL << 30, 2ULL << 20);
		if (!quick) {
			bench_pass(b, 8ULL << 30, 4096);
			bench_pass(b, 8ULL << 30, 2ULL << 20);
		}
	}
	if (!b->json && isatty(2))
		fprintf(stderr, "\r%40s\r", "");
	getrusage(RUSAGE_SELF, &ru);

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

		printf("{\"machine\":\"%s\",\"quick\":%s", host, quick ? "true" : "false");
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
		printf("\npage-table bytes (largest guest, 4K pages): %llu\n",
		       (unsigned long long)pt_bytes_max);
		printf("peak RSS: %llu KiB\n", (unsigned long long)ru.ru_maxrss);
	}
	free(b);
	return 0;
}
