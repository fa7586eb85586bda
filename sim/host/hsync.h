/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * hsync.h - every synchronisation primitive the host model uses.
 *
 * The host model (sim/host) runs on real threads in `s2mmu run` and, later,
 * under the deterministic controlled scheduler of `s2mmu check`.  To let the
 * checker own every interleaving point, no file in sim/host calls pthreads or
 * <stdatomic.h> directly: locks, atomics and yield points all go through the
 * static inline functions below.  A check build defines HSYNC_IMPL_HEADER to
 * a header that provides the same names (types and functions) built on its
 * scheduler; the model code does not change.
 *
 * Memory ordering: the model is not a study of weak memory, so loads are
 * acquire, stores release and read-modify-writes sequentially consistent.
 * The lockless mapping-level walk and its table-free synchronisation
 * (pgtable.c) rely on the seq_cst RMWs and on hsync_fence().
 */
#ifndef S2_SIM_HOST_HSYNC_H
#define S2_SIM_HOST_HSYNC_H

#ifdef HSYNC_IMPL_HEADER
#include HSYNC_IMPL_HEADER
#else

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

/* ---- mutex (page-table lock, allocator zone lock, registry lock) ---- */
typedef struct { pthread_mutex_t m; } hsync_mutex_t;

static inline void hsync_mutex_init(hsync_mutex_t *l)
{
	if (pthread_mutex_init(&l->m, NULL))
		abort();
}
static inline void hsync_mutex_destroy(hsync_mutex_t *l) { pthread_mutex_destroy(&l->m); }
static inline void hsync_mutex_lock(hsync_mutex_t *l)
{
	if (pthread_mutex_lock(&l->m))
		abort();
}
static inline void hsync_mutex_unlock(hsync_mutex_t *l) { pthread_mutex_unlock(&l->m); }

/* ---- reader-writer lock (mmap_lock) ----
 * Writer-preferring like Linux's rwsem: a queued munmap must not starve
 * behind a stream of vCPU faults holding the lock for read.  The cost is
 * that a read lock must never be taken recursively; the model never does. */
typedef struct { pthread_rwlock_t l; } hsync_rwlock_t;

static inline void hsync_rwlock_init(hsync_rwlock_t *l)
{
	pthread_rwlockattr_t a;

	pthread_rwlockattr_init(&a);
	pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	if (pthread_rwlock_init(&l->l, &a))
		abort();
	pthread_rwlockattr_destroy(&a);
}
static inline void hsync_rwlock_destroy(hsync_rwlock_t *l) { pthread_rwlock_destroy(&l->l); }
static inline void hsync_read_lock(hsync_rwlock_t *l)
{
	if (pthread_rwlock_rdlock(&l->l))
		abort();
}
static inline bool hsync_read_trylock(hsync_rwlock_t *l) { return pthread_rwlock_tryrdlock(&l->l) == 0; }
static inline void hsync_read_unlock(hsync_rwlock_t *l) { pthread_rwlock_unlock(&l->l); }
static inline void hsync_write_lock(hsync_rwlock_t *l)
{
	if (pthread_rwlock_wrlock(&l->l))
		abort();
}
static inline void hsync_write_unlock(hsync_rwlock_t *l) { pthread_rwlock_unlock(&l->l); }

/* ---- atomics ---- */
typedef _Atomic uint64_t hsync_u64;
typedef _Atomic int64_t hsync_i64;
typedef _Atomic int hsync_int;
typedef _Atomic(void *) hsync_ptr;

static inline uint64_t hsync_load64(hsync_u64 *p) { return atomic_load_explicit(p, memory_order_acquire); }
static inline void hsync_store64(hsync_u64 *p, uint64_t v) { atomic_store_explicit(p, v, memory_order_release); }
static inline uint64_t hsync_xchg64(hsync_u64 *p, uint64_t v) { return atomic_exchange(p, v); }
static inline bool hsync_cmpxchg64(hsync_u64 *p, uint64_t *old, uint64_t v)
{
	return atomic_compare_exchange_strong(p, old, v);
}
/* Returns the new value (Linux's atomic_add_return). */
static inline uint64_t hsync_add64(hsync_u64 *p, uint64_t v) { return atomic_fetch_add(p, v) + v; }
static inline int64_t hsync_loadi64(hsync_i64 *p) { return atomic_load_explicit(p, memory_order_acquire); }
static inline void hsync_storei64(hsync_i64 *p, int64_t v) { atomic_store_explicit(p, v, memory_order_release); }
static inline int64_t hsync_addi64(hsync_i64 *p, int64_t v) { return atomic_fetch_add(p, v) + v; }
static inline bool hsync_cmpxchgi64(hsync_i64 *p, int64_t *old, int64_t v)
{
	return atomic_compare_exchange_strong(p, old, v);
}
static inline int hsync_loadi(hsync_int *p) { return atomic_load_explicit(p, memory_order_acquire); }
static inline void hsync_storei(hsync_int *p, int v) { atomic_store_explicit(p, v, memory_order_release); }
static inline int hsync_addi(hsync_int *p, int v) { return atomic_fetch_add(p, v) + v; }
static inline int hsync_xchgi(hsync_int *p, int v) { return atomic_exchange(p, v); }
static inline bool hsync_cmpxchgi(hsync_int *p, int *old, int v)
{
	return atomic_compare_exchange_strong(p, old, v);
}
static inline void *hsync_loadp(hsync_ptr *p) { return atomic_load_explicit(p, memory_order_acquire); }
static inline void hsync_storep(hsync_ptr *p, void *v) { atomic_store_explicit(p, v, memory_order_release); }
static inline void hsync_fence(void) { atomic_thread_fence(memory_order_seq_cst); }

/* ---- scheduling points ----
 * hsync_yield: called in every wait loop (migration-entry wait, grace
 * period wait), so a controlled scheduler can run the thread being waited
 * for.  hsync_point: a named preemption point between the steps of an
 * operation where Linux could be preempted or another CPU could act (between
 * S and the page-table change, between E and the free); no-op on threads. */
static inline void hsync_yield(void) { sched_yield(); }
static inline void hsync_point(const char *where) { (void)where; }

#endif /* HSYNC_IMPL_HEADER */
#endif
