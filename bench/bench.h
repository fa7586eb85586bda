/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
#ifndef S2_BENCH_H
#define S2_BENCH_H

int s2_bench_main(int argc, char **argv);

#endif
