/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* `s2mmu check` (tools/check.c): runs the check build's driver. */
#ifndef S2_TOOLS_CHECK_H
#define S2_TOOLS_CHECK_H

int s2_check_main(int argc, char **argv);

#endif
