// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * `s2mmu check`: the checker needs the library built with -DS2_CHECK and
 * the host model on the controlled scheduler (mk/check.mk), which is a
 * different build of the same sources from this binary's.  So this
 * subcommand runs the check build's driver, s2mmu-check, with the same
 * arguments.  It is found relative to this binary, never by an absolute
 * path from the build:
 *
 *   <dir>/check/s2mmu-check              in the build tree (build/s2mmu)
 *   <dir>/../libexec/s2mmu/s2mmu-check   installed (PREFIX/bin/s2mmu)
 *
 * With --json the driver's JSON objects (lines that start with '{') get
 * the fields of `s2mmu version --json` spliced in front, as every other
 * command's JSON has them; everything else passes through unchanged, and
 * the driver's exit status is ours.
 */
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tools/check.h"
#include "tools/version.h"

static const char *const where[] = {
	"check/s2mmu-check",
	"../libexec/s2mmu/s2mmu-check",
};

/* Copy the driver's stdout (@fd) to ours, splicing the version fields
 * into each JSON object line. */
static void splice_json(int fd)
{
	FILE *in = fdopen(fd, "r");
	char fields[512], *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!in)
		return;
	s2_version_json_string(fields, sizeof(fields));
	while ((n = getline(&line, &cap, in)) > 0) {
		if (line[0] == '{')
			printf("{%s%s%s", fields, line[1] == '}' ? "" : ",", line + 1);
		else
			fputs(line, stdout);
		fflush(stdout);
	}
	free(line);
	fclose(in);
}

static int run_filtered(const char *path, char **argv)
{
	int pfd[2], st;
	pid_t pid;

	fflush(stdout);
	if (pipe(pfd)) {
		perror("s2mmu check: pipe");
		return 2;
	}
	pid = fork();
	if (pid < 0) {
		perror("s2mmu check: fork");
		return 2;
	}
	if (pid == 0) {
		close(pfd[0]);
		dup2(pfd[1], 1);
		close(pfd[1]);
		execv(path, argv);
		fprintf(stderr, "s2mmu check: cannot run %s: ", path);
		perror(NULL);
		_exit(127);
	}
	close(pfd[1]);
	splice_json(pfd[0]);
	while (waitpid(pid, &st, 0) < 0)
		;
	if (WIFSIGNALED(st)) {
		/* die the same way, so a caller sees what the driver saw */
		signal(WTERMSIG(st), SIG_DFL);
		raise(WTERMSIG(st));
		return 128 + WTERMSIG(st);
	}
	return WEXITSTATUS(st) == 127 ? 2 : WEXITSTATUS(st);
}

int s2_check_main(int argc, char **argv)
{
	char self[PATH_MAX], path[PATH_MAX + 64];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;
	bool json = false;
	unsigned i;

	if (n <= 0) {
		perror("s2mmu check: /proc/self/exe");
		return 2;
	}
	self[n] = 0;
	slash = strrchr(self, '/');
	if (slash)
		*slash = 0;
	for (int a = 1; a < argc; a++)
		if (!strcmp(argv[a], "--json"))
			json = true;
	for (i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", self, where[i]);
		if (access(path, X_OK) == 0)
			break;
	}
	if (i == sizeof(where) / sizeof(where[0])) {
		fprintf(stderr, "s2mmu check: no checker next to %s: looked for %s/%s and %s/%s "
			"(build it with `make`, or `make install`)\n", self, self, where[0], self,
			where[1]);
		return 2;
	}
	argv[0] = path;
	if (json)
		return run_filtered(path, argv);
	execv(path, argv);
	fprintf(stderr, "s2mmu check: cannot run %s: ", path);
	perror(NULL);
	return 2;
}
