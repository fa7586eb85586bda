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

#if defined(S2_CHECK) && !defined(__KERNEL__)
/*
 * Check builds (-DS2_CHECK): every accessor below is also seen by the
 * weak-memory model of `s2mmu check --memory weak` (check/memmodel.c),
 * through hooks that are NULL in the default sequentially consistent mode.
 * A relaxed or release store is told the value it replaces, so the model
 * can keep showing that older value to other threads' loads for a while
 * (a store buffer per thread: a release store may not become visible
 * before the thread's earlier stores, a later relaxed store may); a load
 * asks which value it may see; a read-modify-write or a fence settles
 * what must be visible first.  Every other build: the plain builtins.
 */
extern uint64_t (*s2_check_mem_load)(const void *p, uint64_t mem, int order);
extern void (*s2_check_mem_store)(void *p, uint64_t old, uint64_t v, int order);
extern void (*s2_check_mem_rmw)(void *p, int order);

#define s2__u64(x)	((uint64_t)(uintptr_t)(x))
#define s2__load(p, o) __extension__ ({					\
	__auto_type s2__lp = (p);					\
	__auto_type s2__lv = __atomic_load_n(s2__lp, (o));		\
	if (s2_check_mem_load)						\
		s2__lv = (__typeof__(s2__lv))(uintptr_t)		\
			s2_check_mem_load(s2__lp, s2__u64(s2__lv), (o)); \
	s2__lv; })
#define s2__store(p, v, o) do {						\
	__auto_type s2__sp = (p);					\
	__typeof__(*s2__sp) s2__sv = (v);				\
	if (s2_check_mem_store)						\
		s2_check_mem_store((void *)s2__sp,			\
			s2__u64(__atomic_load_n(s2__sp, __ATOMIC_RELAXED)), \
			s2__u64(s2__sv), (o));				\
	__atomic_store_n(s2__sp, s2__sv, (o));				\
} while (0)
#define s2__rmw(p, o, op) __extension__ ({				\
	__auto_type s2__rp = (p);					\
	if (s2_check_mem_rmw)						\
		s2_check_mem_rmw((void *)s2__rp, (o));			\
	op; })

#define s2_load(p)		s2__load((p), __ATOMIC_RELAXED)
#define s2_load_acquire(p)	s2__load((p), __ATOMIC_ACQUIRE)
#define s2_store(p, v)		s2__store((p), (v), __ATOMIC_RELAXED)
#define s2_store_release(p, v)	s2__store((p), (v), __ATOMIC_RELEASE)
#define s2_xchg(p, v)		s2__rmw((p), __ATOMIC_ACQ_REL, \
				__atomic_exchange_n(s2__rp, (v), __ATOMIC_ACQ_REL))
#define s2_fetch_add(p, v)	s2__rmw((p), __ATOMIC_RELAXED, \
				__atomic_fetch_add(s2__rp, (v), __ATOMIC_RELAXED))
#define s2_add_return(p, v)	s2__rmw((p), __ATOMIC_ACQ_REL, \
				__atomic_add_fetch(s2__rp, (v), __ATOMIC_ACQ_REL))
#define s2_fetch_and(p, v)	s2__rmw((p), __ATOMIC_ACQ_REL, \
				__atomic_fetch_and(s2__rp, (v), __ATOMIC_ACQ_REL))
#define s2_fetch_or(p, v)	s2__rmw((p), __ATOMIC_ACQ_REL, \
				__atomic_fetch_or(s2__rp, (v), __ATOMIC_ACQ_REL))
#define s2_fence() do {							\
	if (s2_check_mem_rmw)						\
		s2_check_mem_rmw(NULL, __ATOMIC_SEQ_CST);		\
	__atomic_thread_fence(__ATOMIC_SEQ_CST);			\
} while (0)
#define s2_cmpxchg(p, expected, desired) s2__rmw((p), __ATOMIC_ACQ_REL, \
	__atomic_compare_exchange_n(s2__rp, (expected), (desired), false, \
				    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
#else
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
#endif

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
