/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Minimal TAP producer for the test programs run by prove(1).
 * Header-only so each test is one .c file; no global state beyond the
 * counters a single test program owns.
 */
#ifndef S2_TESTS_TAP_H
#define S2_TESTS_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static unsigned tap_n, tap_failed;

static inline void tap_plan(unsigned n) { printf("1..%u\n", n); fflush(stdout); }

static inline int tap_ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	if (!cond)
		tap_failed++;
	printf("%sok %u - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

static inline void tap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* Ends the program: plan printed at the end (prove accepts a trailing plan). */
static inline int tap_done(void)
{
	printf("1..%u\n", tap_n);
	return tap_failed ? 1 : 0;
}

#define TAP_BAIL(...) do { printf("Bail out! "); printf(__VA_ARGS__); printf("\n"); exit(255); } while (0)

#endif
