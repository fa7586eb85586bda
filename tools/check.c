// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * `s2mmu check`: the checker needs the library built with -DS2_CHECK and
 * the host model on the controlled scheduler (mk/check.mk), which is a
 * different build of the same sources from this binary's.  So this
 * subcommand runs the check build's driver, check/s2mmu-check next to
 * this binary (build/check/s2mmu-check), with the same arguments.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tools/check.h"

int s2_check_main(int argc, char **argv)
{
	char self[PATH_MAX], path[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	(void)argc;
	if (n <= 0) {
		perror("s2mmu check: /proc/self/exe");
		return 2;
	}
	self[n] = 0;
	slash = strrchr(self, '/');
	if (slash)
		*slash = 0;
	snprintf(path, sizeof(path), "%s/check/s2mmu-check", self);
	argv[0] = path;
	execv(path, argv);
	fprintf(stderr, "s2mmu check: cannot run %s (build it with `make`): ", path);
	perror(NULL);
	return 2;
}
