// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The regression corpus of `s2mmu check` (check/corpus.txt): every
 * counterexample kept as a token with the invariant it broke.  Each is
 * replayed by the check build's driver and must break the same invariant
 * again; a token of the correct code ("-" as its bug, "-" as its
 * invariant: typically a bug's schedule replayed without the bug) must
 * run clean.  A third field is the --format the token was found under (a
 * token names no format: the same choices in another granule's world are
 * another schedule); none replays it in the world the token encodes
 * (4K unless a generated token says otherwise).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdbool.h>

int main(void)
{
	FILE *f = fopen("check/corpus.txt", "r");
	char line[8192];
	int n = 0;

	if (!f) {
		printf("1..0 # SKIP no check/corpus.txt\n");
		return 0;
	}
	while (fgets(line, sizeof(line), f))
		if (line[0] != '#' && line[0] != '\n')
			n++;
	rewind(f);
	printf("1..%d\n", n);
	n = 0;
	while (fgets(line, sizeof(line), f)) {
		char tok[8000], inv[16], fmt[32] = "", cmd[8300], out[512], want[40];
		FILE *p;
		bool ok = false;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%7999s %15s %31s", tok, inv, fmt) < 2)
			continue;
		/* no third field: the token's own world, whatever it encodes */
		snprintf(cmd, sizeof(cmd), "build/check/s2mmu-check%s%s --replay '%s'",
			 fmt[0] ? " --format " : "", fmt, tok);
		/* the correct code on a bug's schedule: the fix holds there */
		if (strstr(tok, ":-:"))
			snprintf(want, sizeof(want), "replay: no violation");
		else
			snprintf(want, sizeof(want), "replay: violation %s:", inv);
		p = popen(cmd, "r");
		while (p && fgets(out, sizeof(out), p))
			if (!strncmp(out, want, strlen(want)))
				ok = true;
		if (p)
			pclose(p);
		if (strstr(tok, ":-:"))
			printf("%s %d - %.60s holds (%s)\n", ok ? "ok" : "not ok", ++n, tok,
			       fmt[0] ? fmt : "its own format");
		else
			printf("%s %d - %.60s breaks %s (%s)\n", ok ? "ok" : "not ok", ++n, tok, inv,
			       fmt[0] ? fmt : "its own format");
	}
	fclose(f);
	return 0;
}
