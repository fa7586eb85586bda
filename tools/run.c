/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* `s2mmu run`: the machine model under host churn, checked by the oracle. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/machine/machine.h"
#include "tools/formats.h"
#include "tools/run.h"
#include "tools/version.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: s2mmu run [options]\n"
		"\n"
		"Runs vCPU threads (TLB, walk cache, hardware walk of the live stage-2\n"
		"table) against a host whose memory churns under them, checks every\n"
		"completed access for invariants I1 I2 I5 I6 I7 I8 I9, runs an aging\n"
		"thread (2M sweeps of clear_young/test_young/clear_flush_young beside\n"
		"the faulting vCPUs) from 20%% to 80%% of the run, turns dirty logging\n"
		"on slot 1 from 30%% to 70%%, then exits the process (exit_mmap) while\n"
		"the vCPUs still run and destroys the VM.\n"
		"Exit status: 0 no violation, 1 violations, 2 bad usage or setup failure.\n"
		"\n"
		"options:\n"
		"  --vcpus N          vCPU threads (1..%d, default 4)\n"
		"  --guest-size SIZE  guest RAM in two memslots, K/M/G suffix, a multiple\n"
		"                     of 4M, 4M..64G (default 1G)\n"
		"  --seconds S        run time before exit_mmap (default 10; may be fractional)\n"
		"  --churn MIX        host operations by weight, NAME=W[,NAME=W...], the\n"
		"                     kinds not named get 0; 'none' for no churn. Names:\n"
		"                     munmap dontneed mprotect collapse split migrate\n"
		"                     reclaim fork ksm age oom, and thp (collapse+split).\n"
		"                     Default: munmap=8,dontneed=16,mprotect=8,collapse=8,\n"
		"                     split=8,migrate=16,reclaim=8,fork=4,ksm=4,age=16,oom=1\n"
		"  --seed N           seed of workloads and churn (default 1)\n"
		"  --format F         stage-2 format: arm64 (4K granule, default),\n"
		"                     arm64-16k, arm64-64k, ept (4-level, accessed/dirty\n"
		"                     flags on), test, or a 52-bit one: arm64-lpa2 (4K,\n"
		"                     FEAT_LPA2, walks from level -1), arm64-16k-lpa2,\n"
		"                     arm64-64k-lpa (FEAT_LPA); 52-bit ones put the\n"
		"                     memslots at the top of the IPA space and physical\n"
		"                     memory above 2^48.  A 16K or 64K granule runs on a\n"
		"                     host of that page size (THP 32M or 512M)\n"
		"  --hw-af            hardware-managed access flag (S2_PGT_HW_AF)\n"
		"  --hw-dbm           hardware-managed dirty state (S2_PGT_HW_DBM)\n"
		"  --no-fwb           stage 2 not cache-coherent: data-cache model, I8\n"
		"  --no-thp           4K anonymous memory instead of THP\n"
		"  --no-pfnmap        no 2M PFNMAP (device) memslot\n"
		"  --no-dirty-log     skip the dirty-logging phase\n"
		"  --dirty-hw         the dirty-logging phase in hardware mode\n"
		"                     (S2_MEM_DIRTY_HW: writable-clean leaves, the\n"
		"                     hardware records writes, harvests test and clear;\n"
		"                     implies --hw-dbm on arm64, uses D on ept)\n"
		"  --dirty-mode M     how the phase harvests: bitmap (get_dirty_log\n"
		"                     re-protects, default), manual (manual protect:\n"
		"                     get, then clear in 64-page chunks) or ring (a\n"
		"                     dirty ring per vCPU: harvest, then reset; a vCPU\n"
		"                     whose ring is soft-full or full harvests)\n"
		"  --ring-entries N   entries per vCPU ring, a power of 2, 2..65536\n"
		"                     (default 4096)\n"
		"  --no-aging-phase   skip the aging phase\n"
		"  --write-pct P      writes per 100 accesses (default 30)\n"
		"  --json             print the result as one JSON object on stdout\n"
		"  --help             this text\n", MACH_MAX_VCPUS);
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end)
		return -1;
	*out = v;
	return 0;
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return (errno || end == s || *end || *out > max || s[0] == '-') ? -1 : 0;
}

static const char *const retry_names[S2_NR_RETRY] = {
	[S2_RETRY_NONE] = "none", [S2_RETRY_SEQ] = "seq", [S2_RETRY_RANGE] = "range",
	[S2_RETRY_RACE] = "race", [S2_RETRY_HOST] = "host", [S2_RETRY_MEMSLOT] = "memslot",
};

static uint64_t sum_retries(const struct mach_stats *s)
{
	uint64_t t = 0;
	int i;

	for (i = 0; i < S2_NR_RETRY; i++)
		t += s->v.retries[i];
	return t;
}

/* The --format value (@long: as the table's heading says it). */
static const char *fmt_name(const struct mach_cfg *c, bool long_name)
{
	const struct s2_tool_format *f = s2_tool_format_of(c->format, c->granule_shift,
							   c->pgt_flags, c->ia_bits);

	return long_name ? f->desc : f->name;
}

static void print_json(const struct mach_run_opts *o, const struct mach_stats *s)
{
	unsigned i;

	putchar('{');
	s2_version_json_fields(stdout);	/* as `s2mmu version --json` */
	printf(",\"vcpus\":%u,\"guest_size\":%llu,\"seconds\":%.3f,\"seed\":%llu,"
	       "\"format\":\"%s\",", o->cfg.nr_vcpus, (unsigned long long)o->cfg.guest_size,
	       s->seconds, (unsigned long long)o->cfg.seed,
	       fmt_name(&o->cfg, false));
	printf("\"accesses\":%llu,\"reads\":%llu,\"writes\":%llu,",
	       (unsigned long long)s->v.accesses, (unsigned long long)s->v.reads,
	       (unsigned long long)s->v.writes);
	printf("\"faults\":%llu,\"fault_kinds\":{\"translation\":%llu,\"permission\":%llu,"
	       "\"access_flag\":%llu},\"fault_results\":{\"mapped\":%llu,\"efault\":%llu,"
	       "\"enoent\":%llu,\"enomem\":%llu,\"abandoned\":%llu},",
	       (unsigned long long)s->v.faults, (unsigned long long)s->v.trans_faults,
	       (unsigned long long)s->v.perm_faults, (unsigned long long)s->v.af_faults,
	       (unsigned long long)s->v.fault_ok, (unsigned long long)s->v.efault,
	       (unsigned long long)s->v.enoent, (unsigned long long)s->v.enomem,
	       (unsigned long long)s->v.abandoned);
	printf("\"retries\":%llu,\"retries_by_cause\":{", (unsigned long long)sum_retries(s));
	for (i = 1; i < S2_NR_RETRY; i++)
		printf("%s\"%s\":%llu", i > 1 ? "," : "", retry_names[i],
		       (unsigned long long)s->v.retries[i]);
	printf("},\"invalidations\":%llu,\"invalidation_ends\":%llu,\"releases\":%llu,"
	       "\"young\":{\"clear_flush_young\":%llu,\"clear_young\":%llu,\"test_young\":%llu},",
	       (unsigned long long)s->inval_starts, (unsigned long long)s->inval_ends,
	       (unsigned long long)s->releases, (unsigned long long)s->cfy,
	       (unsigned long long)s->cy, (unsigned long long)s->ty);
	printf("\"tlbi_ops\":%llu,\"tlbi\":{\"ipa\":%llu,\"range\":%llu,\"vm\":%llu,"
	       "\"dcache\":%llu,\"icache\":%llu},\"tlb\":{\"hits\":%llu,\"misses\":%llu,"
	       "\"walks\":%llu,\"walk_cache_hits\":%llu,\"entries_dropped\":%llu,"
	       "\"walk_entries_dropped\":%llu,\"hw_af_sets\":%llu,\"hw_dbm_sets\":%llu},",
	       (unsigned long long)(s->tlbi_ipa + s->tlbi_range + s->tlbi_vm),
	       (unsigned long long)s->tlbi_ipa, (unsigned long long)s->tlbi_range,
	       (unsigned long long)s->tlbi_vm, (unsigned long long)s->dcache,
	       (unsigned long long)s->icache, (unsigned long long)s->v.tlb_hits,
	       (unsigned long long)s->v.tlb_misses, (unsigned long long)s->v.walks,
	       (unsigned long long)s->v.walk_cache_hits,
	       (unsigned long long)s->tlb_entries_dropped,
	       (unsigned long long)s->walk_entries_dropped,
	       (unsigned long long)s->v.hw_af_sets, (unsigned long long)s->v.hw_dbm_sets);
	printf("\"host_ops\":{");
	for (i = 0; i < MH_NR; i++)
		printf("%s\"%s\":%llu", i ? "," : "", mach_hop_name((enum mach_hop)i),
		       (unsigned long long)s->host_ok[i]);
	printf("},\"host_ops_refused\":{");
	for (i = 0; i < MH_NR; i++)
		printf("%s\"%s\":%llu", i ? "," : "", mach_hop_name((enum mach_hop)i),
		       (unsigned long long)s->host_fail[i]);
	printf("},\"dirty_log\":{\"mode\":\"%s\",\"hw\":%s,\"harvests\":%llu,\"pages\":%llu,"
	       "\"write_protect_faults\":%llu,\"ring_soft_full\":%llu,\"ring_full\":%llu},"
	       "\"memslot_updates\":%llu,",
	       !s->dirty_phase_ran ? "none" : mach_dirty_mode_name(o->cfg.dirty_mode),
	       s->dirty_phase_hw ? "true" : "false",
	       (unsigned long long)s->harvests, (unsigned long long)s->harvested_pages,
	       (unsigned long long)s->dirty_phase_wp_faults,
	       (unsigned long long)s->v.ring_soft_full, (unsigned long long)s->v.ring_full,
	       (unsigned long long)s->memslot_updates);
	printf("\"aging_phase\":{\"calls\":%llu,\"refused\":%llu,\"faults_beside\":%llu},",
	       (unsigned long long)s->age_phase_calls, (unsigned long long)s->age_phase_fail,
	       (unsigned long long)s->v.faults_beside_aging);
	printf("\"core\":{\"faults\":%llu,\"installs\":%llu,\"relaxes\":%llu,"
	       "\"young_faults\":%llu,\"blocks\":%llu,\"spurious_retries\":%llu,"
	       "\"after_release\":%llu,\"zapped_bytes\":%llu,\"dirty_pages\":%llu},",
	       (unsigned long long)s->core.faults, (unsigned long long)s->core.installs,
	       (unsigned long long)s->core.relaxes, (unsigned long long)s->core.young_faults,
	       (unsigned long long)s->core.blocks, (unsigned long long)s->core.spurious_retries,
	       (unsigned long long)s->core.after_release,
	       (unsigned long long)s->core.zapped_bytes, (unsigned long long)s->core.dirty_pages);
	printf("\"i6_checks\":%llu,\"violations\":%llu,\"violations_by_invariant\":{",
	       (unsigned long long)s->v.i6_checks, (unsigned long long)s->violations_total);
	for (i = 0; i < MI_NR; i++)
		printf("%s\"%s\":%llu", i ? "," : "", mach_inv_name((enum mach_inv)i),
		       (unsigned long long)s->violations[i]);
	printf("},\"first_violations\":[");
	for (i = 0; i < s->nr_texts; i++) {
		const char *c;

		printf("%s\"", i ? "," : "");
		for (c = s->texts[i]; *c; c++)
			if (*c == '"' || *c == '\\')
				printf("\\%c", *c);
			else
				putchar(*c);
		putchar('"');
	}
	printf("]}\n");
}

static void row(const char *name, uint64_t v)
{
	printf("  %-28s %14llu\n", name, (unsigned long long)v);
}

static void print_table(const struct mach_run_opts *o, const struct mach_stats *s)
{
	char buf[64];
	unsigned i;

	printf("s2mmu run: %u vCPUs, %llu MiB guest, %s, %.1f s, seed %llu\n",
	       o->cfg.nr_vcpus, (unsigned long long)(o->cfg.guest_size >> 20),
	       fmt_name(&o->cfg, true),
	       s->seconds, (unsigned long long)o->cfg.seed);
	printf("guest\n");
	row("accesses", s->v.accesses);
	row("  reads", s->v.reads);
	row("  writes", s->v.writes);
	row("faults", s->v.faults);
	row("  translation", s->v.trans_faults);
	row("  permission", s->v.perm_faults);
	row("  access flag", s->v.af_faults);
	row("  mapped", s->v.fault_ok);
	row("  efault (no slot/host)", s->v.efault);
	row("  enoent (after release)", s->v.enoent);
	row("retries", sum_retries(s));
	for (i = 1; i < S2_NR_RETRY; i++) {
		snprintf(buf, sizeof(buf), "  %s", retry_names[i]);
		row(buf, s->v.retries[i]);
	}
	printf("coherence\n");
	row("invalidate_range_start", s->inval_starts);
	row("invalidate_range_end", s->inval_ends);
	row("clear_flush_young", s->cfy);
	row("clear_young", s->cy);
	row("test_young", s->ty);
	row("release", s->releases);
	snprintf(buf, sizeof(buf), "dirty-log harvests (%s)", mach_dirty_mode_name(o->cfg.dirty_mode));
	row(buf, s->harvests);
	if (s->dirty_phase_ran) {
		printf("  %-28s %14s\n", "  leaves", s->dirty_phase_hw ? "hardware dirty state" : "write-protect");
		row("  pages reported", s->harvested_pages);
		row("  write-protect faults", s->dirty_phase_wp_faults);
	}
	if (o->cfg.dirty_mode == MACH_DIRTY_RING) {
		row("  ring soft-full exits", s->v.ring_soft_full);
		row("  ring full (-EBUSY)", s->v.ring_full);
	}
	row("aging phase: calls", s->age_phase_calls);
	row("  refused (no VMA)", s->age_phase_fail);
	row("  faults beside them", s->v.faults_beside_aging);
	printf("TLB\n");
	row("TLBI ops", s->tlbi_ipa + s->tlbi_range + s->tlbi_vm);
	row("  by IPA", s->tlbi_ipa);
	row("  by range", s->tlbi_range);
	row("  whole VM", s->tlbi_vm);
	row("dcache clean+inval", s->dcache);
	row("TLB hits", s->v.tlb_hits);
	row("TLB misses (walks)", s->v.tlb_misses);
	row("walk-cache hits", s->v.walk_cache_hits);
	row("TLB entries dropped", s->tlb_entries_dropped);
	printf("host operations (done / refused)\n");
	for (i = 0; i < MH_NR; i++)
		printf("  %-28s %14llu %8llu\n", mach_hop_name((enum mach_hop)i),
		       (unsigned long long)s->host_ok[i], (unsigned long long)s->host_fail[i]);
	printf("violations\n");
	for (i = 0; i < MI_NR; i++)
		row(mach_inv_name((enum mach_inv)i), s->violations[i]);
	row("total", s->violations_total);
	for (i = 0; i < s->nr_texts; i++)
		printf("  ! %s\n", s->texts[i]);
}

int s2_run_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vcpus", required_argument, NULL, 'v' },
		{ "guest-size", required_argument, NULL, 'g' },
		{ "seconds", required_argument, NULL, 's' },
		{ "churn", required_argument, NULL, 'c' },
		{ "seed", required_argument, NULL, 'S' },
		{ "format", required_argument, NULL, 'f' },
		{ "hw-af", no_argument, NULL, 'A' },
		{ "hw-dbm", no_argument, NULL, 'D' },
		{ "no-fwb", no_argument, NULL, 'F' },
		{ "no-thp", no_argument, NULL, 'T' },
		{ "no-pfnmap", no_argument, NULL, 'P' },
		{ "no-dirty-log", no_argument, NULL, 'L' },
		{ "dirty-hw", no_argument, NULL, 'H' },
		{ "no-aging-phase", no_argument, NULL, 'G' },
		{ "dirty-mode", required_argument, NULL, 'M' },
		{ "ring-entries", required_argument, NULL, 'R' },
		{ "write-pct", required_argument, NULL, 'w' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mach_run_opts o;
	struct mach_stats s;
	unsigned long long u;
	bool json = false;
	char err[128], *end;
	int c, ret, li = 0;

	mach_run_defaults(&o);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, &li)) != -1) {
		switch (c) {
		case 'v':
			if (parse_uint(optarg, MACH_MAX_VCPUS, &u) || !u)
				goto bad_val;
			o.cfg.nr_vcpus = (unsigned)u;
			break;
		case 'g':
			if (parse_size(optarg, &o.cfg.guest_size) ||
			    o.cfg.guest_size < (4ULL << 20) || o.cfg.guest_size > (64ULL << 30) ||
			    (o.cfg.guest_size & ((4ULL << 20) - 1)))
				goto bad_val;
			break;
		case 's':
			errno = 0;
			o.seconds = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(o.seconds > 0) || o.seconds > 86400)
				goto bad_val;
			break;
		case 'c':
			if (mach_parse_churn(optarg, o.churn_w, err, sizeof(err))) {
				fprintf(stderr, "s2mmu run: --churn: %s\n", err);
				return 2;
			}
			break;
		case 'S':
			if (parse_uint(optarg, ~0ULL, &u))
				goto bad_val;
			o.cfg.seed = u;
			break;
		case 'f': {
			const struct s2_tool_format *tf = s2_tool_format_find(optarg);

			if (!tf)
				goto bad_val;
			o.cfg.format = tf->id;
			o.cfg.granule_shift = tf->granule_shift;
			o.cfg.ia_bits = tf->ia_bits;
			o.cfg.oa_bits = tf->oa_bits;
			o.cfg.pgt_flags = (o.cfg.pgt_flags & ~(S2_PGT_LPA2 | S2_PGT_NO_CONCAT)) |
					  tf->pgt_flags;
			break;
		}
		case 'A': o.cfg.pgt_flags |= S2_PGT_HW_AF; break;
		case 'D': o.cfg.pgt_flags |= S2_PGT_HW_DBM; break;
		case 'F': o.cfg.pgt_flags |= S2_PGT_NO_FWB; break;
		case 'T': o.cfg.thp = false; break;
		case 'P': o.cfg.pfnmap_slot = false; break;
		case 'L': o.dirty_phase = false; break;
		case 'H': o.dirty_hw = true; break;
		case 'G': o.aging_phase = false; break;
		case 'M':
			if (!strcmp(optarg, "bitmap"))
				o.cfg.dirty_mode = MACH_DIRTY_BITMAP;
			else if (!strcmp(optarg, "manual"))
				o.cfg.dirty_mode = MACH_DIRTY_MANUAL;
			else if (!strcmp(optarg, "ring"))
				o.cfg.dirty_mode = MACH_DIRTY_RING;
			else
				goto bad_val;
			break;
		case 'R':
			if (parse_uint(optarg, 65536, &u) || u < 2 || (u & (u - 1)))
				goto bad_val;
			o.cfg.ring_entries = (unsigned)u;
			break;
		case 'w':
			if (parse_uint(optarg, 100, &u))
				goto bad_val;
			o.cfg.write_pct = (unsigned)u;
			break;
		case 'j': json = true; break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			if (optopt)
				fprintf(stderr, "s2mmu run: bad option '-%c' or missing value\n", optopt);
			else
				fprintf(stderr, "s2mmu run: unknown option '%s'\n", argv[optind - 1]);
			fprintf(stderr, "try 's2mmu run --help'\n");
			return 2;
		}
		continue;
bad_val:
		fprintf(stderr, "s2mmu run: bad value '%s' for --%s (see s2mmu run --help)\n",
			optarg, opts[li].name);
		return 2;
	}
	if (optind < argc) {
		fprintf(stderr, "s2mmu run: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (o.cfg.format == S2_FMT_EPT) {
		/* EPT has its own accessed/dirty flags and is cache-coherent:
		 * the arm64 hardware options do not apply to it. */
		if (o.cfg.pgt_flags & (S2_PGT_HW_AF | S2_PGT_HW_DBM | S2_PGT_NO_FWB)) {
			fprintf(stderr, "s2mmu run: --hw-af, --hw-dbm and --no-fwb are arm64 options\n");
			return 2;
		}
		o.cfg.pgt_flags |= S2_PGT_EPT_AD;
	}
	if (o.dirty_hw) {
		/* the hardware that records writes: HD with DBM on arm64 (the
		 * flag it implies), EPT's D bit; the test format has none */
		if (o.cfg.format == S2_FMT_TEST || !o.dirty_phase) {
			fprintf(stderr, "s2mmu run: --dirty-hw needs the dirty-logging phase "
				"and the arm64 or ept format\n");
			return 2;
		}
		if (o.cfg.format == S2_FMT_ARM64)
			o.cfg.pgt_flags |= S2_PGT_HW_DBM;
		if (o.cfg.dirty_mode != MACH_DIRTY_BITMAP) {
			/* s2_vm_set_memslot refuses it: writes the hardware
			 * records take no fault, so they push no ring entry,
			 * and manual protect's clear write-protects */
			fprintf(stderr, "s2mmu run: --dirty-hw harvests by bitmap only "
				"(not with --dirty-mode manual or ring)\n");
			return 2;
		}
	}
	o.progress = !json && isatty(2);
	ret = mach_run(&o, &s);
	if (ret) {
		fprintf(stderr, "s2mmu run: setup failed (%d)\n", ret);
		return 2;
	}
	if (json)
		print_json(&o, &s);
	else
		print_table(&o, &s);
	return s.violations_total ? 1 : 0;
}
