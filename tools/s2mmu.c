/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* The `s2mmu` command: one binary, one subcommand per job. */
#include <stdio.h>
#include <string.h>

#include "bench/bench.h"
#include "tools/check.h"
#include "tools/run.h"
#include "tools/version.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: s2mmu <command> [options]\n"
		"\n"
		"commands:\n"
		"  bench   measure the page-table engine (s2mmu bench --help)\n"
		"  check   controlled interleavings + oracle + bug catalogue (s2mmu check --help)\n"
		"  run     vCPUs under host churn, checked by the oracle (s2mmu run --help)\n"
		"  version library version, soname, git revision, formats (s2mmu version --help)\n"
		"\n"
		"`s2mmu <command> --help` describes each command's options;\n"
		"`s2mmu --version` is `s2mmu version`.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version"))
		return s2_version_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "bench"))
		return s2_bench_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "check"))
		return s2_check_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "run"))
		return s2_run_main(argc - 1, argv + 1);
	fprintf(stderr, "s2mmu: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
