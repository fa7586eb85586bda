/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * memset for the freestanding build of the core.  GCC documents that a
 * freestanding environment must still provide memset, memcpy, memmove and
 * memcmp: it emits calls to them for block moves and clears even under
 * -fno-builtin, and the core clears whole descriptors (a struct s2_format
 * is several hundred bytes) with compound literals.  This is a fallback
 * archive member of its own, so a linker takes it only when the embedder
 * (an EL2 runtime, a bare-metal hypervisor) has no memset of its own.
 * Built with -fno-tree-loop-distribute-patterns (mk/cross.mk): otherwise
 * GCC may turn the loop below back into a call to memset.
 */
#include <stddef.h>

void *memset(void *s, int c, size_t n);

void *memset(void *s, int c, size_t n)
{
	unsigned char *p = s;

	while (n--)
		*p++ = (unsigned char)c;
	return s;
}
