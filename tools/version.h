/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * `s2mmu version` / `s2mmu --version`: the library version, the soname,
 * the git revision the binary was built from (when it was built in a git
 * checkout) and the page-table formats the linked library accepts.  The
 * JSON output of every command carries the same fields.
 */
#ifndef S2_TOOLS_VERSION_H
#define S2_TOOLS_VERSION_H

#include <stdio.h>

int s2_version_main(int argc, char **argv);

/* The version fields as JSON members, without braces and without a
 * leading or trailing comma: "version":"0.1.0","soname":...  */
void s2_version_json_fields(FILE *f);

/* The same members in a buffer (for commands that splice them into
 * another program's JSON); returns the length, as snprintf. */
int s2_version_json_string(char *buf, size_t len);

#endif
