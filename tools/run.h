/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
#ifndef S2_TOOLS_RUN_H
#define S2_TOOLS_RUN_H

/* `s2mmu run` (tools/run.c, docs/run.md). */
int s2_run_main(int argc, char **argv);

#endif
