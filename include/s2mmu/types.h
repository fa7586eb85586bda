/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Address types.  Guest-physical (IPA/GPA), host-virtual and host-physical
 * addresses are distinct single-member structs so that passing one where
 * another is expected does not compile (the class of bug where a vm_pgoff or
 * an hva ends up used as a guest address, seed 003).
 */
#ifndef S2MMU_TYPES_H
#define S2MMU_TYPES_H

#include <s2mmu/compiler.h>

typedef struct { uint64_t v; } s2_gpa_t;	/* guest-physical (IPA) */
typedef struct { uint64_t v; } s2_hva_t;	/* host-virtual */
typedef struct { uint64_t v; } s2_hpa_t;	/* host-physical (output address) */

/** s2_gpa - a raw guest-physical address as its type.  Return: @v as an
 * s2_gpa_t.  Context: any. */
static inline s2_gpa_t s2_gpa(uint64_t v) { return (s2_gpa_t){ v }; }
/** s2_hva - a raw host-virtual address as its type.  Return: @v as an
 * s2_hva_t.  Context: any. */
static inline s2_hva_t s2_hva(uint64_t v) { return (s2_hva_t){ v }; }
/** s2_hpa - a raw host-physical address as its type.  Return: @v as an
 * s2_hpa_t.  Context: any. */
static inline s2_hpa_t s2_hpa(uint64_t v) { return (s2_hpa_t){ v }; }

#endif
