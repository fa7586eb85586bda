/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Portability layer so that src/ builds unmodified hosted, freestanding
 * (no libc) and inside the Linux kernel.  Only fixed-width integers and the
 * compiler's C11-memory-model atomic builtins are used: <stdatomic.h> is not
 * available to kernel code, but __atomic_* implements the same orderings and
 * is what <stdatomic.h> expands to on gcc and clang.
 */
#ifndef S2MMU_COMPILER_H
#define S2MMU_COMPILER_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/stddef.h>
#else
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#endif

#define s2_likely(x)	__builtin_expect(!!(x), 1)
#define s2_unlikely(x)	__builtin_expect(!!(x), 0)
/* Reserved (__x__) attribute spellings: the kernel #defines the plain
 * names (noinline, ...) as macros, which would break the bare forms. */
#define s2_always_inline inline __attribute__((__always_inline__))
#define s2_noinline	__attribute__((__noinline__))
#define s2_unused	__attribute__((__unused__))

#define s2_load(p)		__atomic_load_n((p), __ATOMIC_RELAXED)
#define s2_load_acquire(p)	__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define s2_store(p, v)		__atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define s2_store_release(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define s2_xchg(p, v)		__atomic_exchange_n((p), (v), __ATOMIC_ACQ_REL)
#define s2_fetch_add(p, v)	__atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#define s2_add_return(p, v)	__atomic_add_fetch((p), (v), __ATOMIC_ACQ_REL)
#define s2_fetch_and(p, v)	__atomic_fetch_and((p), (v), __ATOMIC_ACQ_REL)
#define s2_fetch_or(p, v)	__atomic_fetch_or((p), (v), __ATOMIC_ACQ_REL)
#define s2_fence()		__atomic_thread_fence(__ATOMIC_SEQ_CST)

/* Strong compare-and-exchange; on failure *expected holds the current value. */
#define s2_cmpxchg(p, expected, desired) \
	__atomic_compare_exchange_n((p), (expected), (desired), false, \
				    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)

#define S2_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define S2_BIT(n)	(1ULL << (n))
#define S2_GENMASK(h, l) (((~0ULL) >> (63 - (h))) & ~((1ULL << (l)) - 1))

/*
 * Error numbers: the library returns 0 or a negative errno with Linux's
 * numbering on every build (hosted Linux, kernel and freestanding agree).
 */
#define S2_ENOENT	2
#define S2_EAGAIN	11
#define S2_ENOMEM	12
#define S2_EFAULT	14
#define S2_EBUSY	16
#define S2_EEXIST	17
#define S2_EINVAL	22
#define S2_ENOSPC	28
#define S2_ERANGE	34
#define S2_EOPNOTSUPP	95

#endif
