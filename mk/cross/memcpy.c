/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * memcpy for the freestanding build of the core: GCC may emit it for a
 * structure copy (the core copies its configuration and format by
 * value).  Separate from memset.c so that an embedder defining only one of
 * the two never gets a duplicate definition (see memset.c).
 */
#include <stddef.h>

void *memcpy(void *restrict d, const void *restrict s, size_t n);

void *memcpy(void *restrict d, const void *restrict s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;

	while (n--)
		*dp++ = *sp++;
	return d;
}
