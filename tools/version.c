// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * `s2mmu version`: what this binary is.  The version and soname come from
 * the build (mk/install.mk writes s2mmu-version.h from S2_VERSION and
 * SONAME; S2_GIT_REV only when the tree was a git checkout).  The formats
 * are not a list kept by hand: each candidate configuration is handed to
 * the linked library's s2_pgt_init, and the ones it accepts are printed.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <s2mmu/hosted.h>
#include <s2mmu/pgtable.h>

#include "s2mmu-version.h"
#include "tools/version.h"

#ifdef S2_GIT_REV
#define GIT_JSON "\"" S2_GIT_REV "\""
#else
#define GIT_JSON "null"
#endif

static const struct {
	const char *name;
	enum s2_format_id id;
	unsigned granule_shift, ia_bits, oa_bits, flags;
} candidates[] = {
	{ "arm64-4k", S2_FMT_ARM64, 12, 40, 48, 0 },
	{ "arm64-16k", S2_FMT_ARM64, 14, 40, 48, 0 },
	{ "arm64-64k", S2_FMT_ARM64, 16, 42, 48, 0 },
	/* 52-bit IPA and output: FEAT_LPA2 (4K from level -1, 16K), FEAT_LPA */
	{ "arm64-4k-lpa2", S2_FMT_ARM64, 12, 52, 52, S2_PGT_LPA2 | S2_PGT_NO_CONCAT },
	{ "arm64-16k-lpa2", S2_FMT_ARM64, 14, 52, 52, S2_PGT_LPA2 },
	{ "arm64-64k-lpa", S2_FMT_ARM64, 16, 52, 52, 0 },
	{ "ept4", S2_FMT_EPT, 12, 48, 48, S2_PGT_EPT_AD },
	{ "ept5", S2_FMT_EPT, 12, 57, 48, S2_PGT_EPT_AD },
	{ "test", S2_FMT_TEST, 12, 40, 48, 0 },
};
#define NR_CANDIDATES (sizeof(candidates) / sizeof(candidates[0]))

/* Bit i set: the library built a table for candidates[i].  Computed once. */
static unsigned formats_mask(void)
{
	static int done;
	static unsigned mask;
	struct s2_hosted *h;

	if (done)
		return mask;
	done = 1;
	h = s2_hosted_new();
	if (!h)
		return 0;
	for (unsigned i = 0; i < NR_CANDIDATES; i++) {
		struct s2_pgtable pgt;
		struct s2_pgt_cfg cfg = {
			.format = candidates[i].id,
			.granule_shift = candidates[i].granule_shift,
			.ia_bits = candidates[i].ia_bits,
			.oa_bits = candidates[i].oa_bits,
			.flags = candidates[i].flags,
			.plat = s2_hosted_platform(),
			.plat_ctx = h,
		};

		if (s2_pgt_init(&pgt, &cfg) == 0) {
			mask |= 1u << i;
			s2_pgt_destroy(&pgt);
		}
	}
	s2_hosted_free(h);
	return mask;
}

int s2_version_json_string(char *buf, size_t len)
{
	unsigned mask = formats_mask();
	size_t n;
	int first = 1;

	n = (size_t)snprintf(buf, len, "\"version\":\"%s\",\"soname\":\"%s\","
			     "\"git_revision\":%s,\"formats\":[", S2_VERSION, S2_SONAME,
			     GIT_JSON);
	for (unsigned i = 0; i < NR_CANDIDATES; i++) {
		if (!(mask & (1u << i)))
			continue;
		n += (size_t)snprintf(buf + (n < len ? n : len), n < len ? len - n : 0,
				      "%s\"%s\"", first ? "" : ",", candidates[i].name);
		first = 0;
	}
	n += (size_t)snprintf(buf + (n < len ? n : len), n < len ? len - n : 0, "]");
	return (int)n;
}

void s2_version_json_fields(FILE *f)
{
	char buf[512];

	s2_version_json_string(buf, sizeof(buf));
	fputs(buf, f);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: s2mmu version [--json]\n"
		"  Print the library version, its soname, the git revision this binary\n"
		"  was built from (when it was built in a git checkout) and the\n"
		"  page-table formats the linked library accepts.  `s2mmu --version`\n"
		"  is the same.\n"
		"options:\n"
		"  --json   one JSON object: version, soname, git_revision (null when\n"
		"           not built from git), formats; every command's --json output\n"
		"           carries the same fields\n"
		"  --help   this text\n");
}

int s2_version_main(int argc, char **argv)
{
	bool json = false;
	unsigned mask;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "s2mmu version: bad argument %s\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (json) {
		putchar('{');
		s2_version_json_fields(stdout);
		puts("}");
		return 0;
	}
	mask = formats_mask();
	printf("s2mmu %s\n", S2_VERSION);
	printf("library:  libs2mmu %s, soname %s\n", S2_VERSION, S2_SONAME);
#ifdef S2_GIT_REV
	printf("revision: %s\n", S2_GIT_REV);
#endif
	printf("formats: ");
	for (unsigned i = 0; i < NR_CANDIDATES; i++)
		if (mask & (1u << i))
			printf(" %s", candidates[i].name);
	printf("\n");
	return 0;
}
