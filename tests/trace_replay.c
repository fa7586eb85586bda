// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Recordings of the real kernel replayed by the checker (docs/trace.md):
 * every .s2trace file in tests/traces must replay with no violation, a catalogue
 * bug its operations reach must be found in one of them (the replay is a
 * check that can fail), and broken trace files must be refused with their
 * line number and exit status 2.
 */
#include <glob.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK	"build/check/s2mmu-check"

/* Run @cmd; its exit status, and whether its output has @want. */
static int run(const char *cmd, const char *want, bool *seen, char *first, size_t len)
{
	char out[1024];
	FILE *p = popen(cmd, "r");
	int st;

	*seen = false;
	if (first)
		first[0] = 0;
	if (!p)
		return -1;
	while (fgets(out, sizeof(out), p)) {
		if (want && strstr(out, want))
			*seen = true;
		if (first && !first[0])
			snprintf(first, len, "%s", out);
	}
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A bad file: written to a temporary path, must be refused at @line. */
static void bad(int *n, const char *what, const char *text, unsigned line)
{
	char path[] = "/tmp/s2trace-bad-XXXXXX", cmd[256], want[64], msg[1024];
	int fd = mkstemp(path), rc;
	bool seen;

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		printf("not ok %d - %s: cannot write %s\n", ++*n, what, path);
		return;
	}
	close(fd);
	snprintf(cmd, sizeof(cmd), CHECK " --trace %s 2>&1", path);
	snprintf(want, sizeof(want), "%s:%u: ", path, line);
	rc = run(cmd, want, &seen, msg, sizeof(msg));
	unlink(path);
	msg[strcspn(msg, "\n")] = 0;
	printf("%s %d - %s: exit %d at line %u (%s)\n", rc == 2 && seen ? "ok" : "not ok", ++*n,
	       what, rc, line, msg);
}

#define HEAD "s2trace 1\nwindow 0x7f0000000000 0x400000\n" \
	     "memslot 0 0x40000000 0x7f0000000000 0x800000\n"

int main(void)
{
	glob_t g;
	int n = 0;
	char cmd[512], line[1024];
	bool seen;

	if (glob("tests/traces/*.s2trace", 0, NULL, &g) || !g.gl_pathc) {
		printf("1..0 # SKIP no tests/traces/*.s2trace\n");
		return 0;
	}
	printf("1..%zu\n", g.gl_pathc + 3 + 6);
	/* the correct code: every window of every recording, no violation */
	for (size_t i = 0; i < g.gl_pathc; i++) {
		int rc;

		snprintf(cmd, sizeof(cmd), CHECK " --trace %s --budget 20 --json", g.gl_pathv[i]);
		rc = run(cmd, "\"violations\":0,", &seen, line, sizeof(line));
		printf("%s %d - %s replays with 0 violations (exit %d)\n",
		       rc == 0 && seen ? "ok" : "not ok", ++n, g.gl_pathv[i], rc);
	}
	/*
	 * Catalogue bugs the recorded operations reach: a fault that skips
	 * the retry check (fault_no_retry) and invalidations that do not
	 * honour an invalidation in progress (ignore_in_progress), in an
	 * s2test phase and in a stress-ng stressor.  Each must be found, with
	 * the correct code clean on the window that finds it (check/main.c
	 * trace_main).
	 */
	{
		static const char *const finds[][2] = {
			{ "tests/traces/s2test-dontneed.s2trace", "fault_no_retry" },
			{ "tests/traces/s2test-dontneed.s2trace", "ignore_in_progress" },
			{ "tests/traces/stress-ng-mremap.s2trace", "fault_no_retry" },
		};

		for (unsigned b = 0; b < 3; b++) {
			int rc;

			snprintf(cmd, sizeof(cmd), CHECK " --trace %s --budget 300 --inject %s --json",
				 finds[b][0], finds[b][1]);
			rc = run(cmd, "\"found\":true", &seen, line, sizeof(line));
			printf("%s %d - %s: replay finds %s (exit %d)\n",
			       rc == 0 && seen ? "ok" : "not ok", ++n, finds[b][0], finds[b][1], rc);
		}
	}
	globfree(&g);

	bad(&n, "no version line", "window 0x1000 0x1000\n", 1);
	bad(&n, "a later format", "s2trace 2\n", 1);
	bad(&n, "records before the window", "s2trace 1\n1 1 release\n", 2);
	bad(&n, "a short access", HEAD "1 7 access 0 r 0x40000000 0x7f0000000000 0\n", 4);
	bad(&n, "sequence going back",
	    HEAD "5 7 release\n# comment\n4 7 cfy 0x7f0000000000 0x7f0000001000 1\n", 6);
	bad(&n, "an unknown event",
	    HEAD "1 7 inv_start 0x7f0000000000 0x7f0000001000 teleport 1\n", 4);
	return 0;
}
