/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Shared by the libFuzzer targets: a cursor that turns the input into
 * integers (an exhausted input reads as zeros, so every prefix of an input
 * is itself a valid input and the fuzzer's mutations stay meaningful), and
 * the failure report (a finding is an abort, which libFuzzer records with
 * the input that caused it).
 */
#ifndef S2_FUZZ_COMMON_H
#define S2_FUZZ_COMMON_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct cursor {
	const uint8_t *p, *end;
};

static inline bool cur_more(const struct cursor *c)
{
	return c->p < c->end;
}

static inline uint8_t get8(struct cursor *c)
{
	return c->p < c->end ? *c->p++ : 0;
}

static inline uint16_t get16(struct cursor *c)
{
	uint16_t v = get8(c);

	return (uint16_t)(v | (uint16_t)get8(c) << 8);
}

static inline uint32_t get32(struct cursor *c)
{
	uint32_t v = get16(c);

	return v | (uint32_t)get16(c) << 16;
}

static inline uint64_t get64(struct cursor *c)
{
	uint64_t v = get32(c);

	return v | (uint64_t)get32(c) << 32;
}

__attribute__((format(printf, 1, 2), noreturn))
static inline void fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FUZZ FINDING: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

#define FUZZ_CHECK(cond, ...) do { if (!(cond)) fuzz_fail(__VA_ARGS__); } while (0)

#endif
