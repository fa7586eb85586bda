/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * hsync for the check build (HSYNC_IMPL_HEADER, sim/host/hsync.h): every
 * lock of the host model is a scheduler lock and every read-modify-write
 * a scheduling point, so the host's own races (the lockless level walk of
 * seed 002, notifier ordering) are interleaved with the library's.  Plain
 * loads and stores are not points: one thread runs at a time, and the
 * host marks the windows that matter with hsync_point.
 */
#ifndef S2_CHECK_HSYNC_CHECK_H
#define S2_CHECK_HSYNC_CHECK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "check/sched.h"

typedef struct ck_lock hsync_mutex_t;
typedef struct ck_lock hsync_rwlock_t;

static inline void hsync_mutex_init(hsync_mutex_t *l) { ck_lock_init(l); }
static inline void hsync_mutex_destroy(hsync_mutex_t *l) { (void)l; }
static inline void hsync_mutex_lock(hsync_mutex_t *l) { ck_mutex_lock(l, "host: lock"); }
static inline void hsync_mutex_unlock(hsync_mutex_t *l) { ck_mutex_unlock(l); }
static inline void hsync_rwlock_init(hsync_rwlock_t *l) { ck_lock_init(l); }
static inline void hsync_rwlock_destroy(hsync_rwlock_t *l) { (void)l; }
static inline void hsync_read_lock(hsync_rwlock_t *l) { ck_read_lock(l, "host: mmap_lock (read)"); }
static inline bool hsync_read_trylock(hsync_rwlock_t *l) { return ck_read_trylock(l); }
static inline void hsync_read_unlock(hsync_rwlock_t *l) { ck_read_unlock(l); }
static inline void hsync_write_lock(hsync_rwlock_t *l) { ck_write_lock(l, "host: mmap_lock (write)"); }
static inline void hsync_write_unlock(hsync_rwlock_t *l) { ck_write_unlock(l); }

typedef _Atomic uint64_t hsync_u64;
typedef _Atomic int64_t hsync_i64;
typedef _Atomic int hsync_int;
typedef _Atomic(void *) hsync_ptr;

static inline uint64_t hsync_load64(hsync_u64 *p) { return atomic_load(p); }
static inline void hsync_store64(hsync_u64 *p, uint64_t v) { atomic_store(p, v); }
static inline uint64_t hsync_xchg64(hsync_u64 *p, uint64_t v)
{
	ck_point("host: xchg");
	return atomic_exchange(p, v);
}
static inline bool hsync_cmpxchg64(hsync_u64 *p, uint64_t *old, uint64_t v)
{
	ck_point("host: cmpxchg");
	return atomic_compare_exchange_strong(p, old, v);
}
static inline uint64_t hsync_add64(hsync_u64 *p, uint64_t v) { return atomic_fetch_add(p, v) + v; }
static inline int64_t hsync_loadi64(hsync_i64 *p) { return atomic_load(p); }
static inline void hsync_storei64(hsync_i64 *p, int64_t v) { atomic_store(p, v); }
static inline int64_t hsync_addi64(hsync_i64 *p, int64_t v) { return atomic_fetch_add(p, v) + v; }
static inline bool hsync_cmpxchgi64(hsync_i64 *p, int64_t *old, int64_t v)
{
	ck_point("host: cmpxchg");
	return atomic_compare_exchange_strong(p, old, v);
}
static inline int hsync_loadi(hsync_int *p) { return atomic_load(p); }
static inline void hsync_storei(hsync_int *p, int v) { atomic_store(p, v); }
static inline int hsync_addi(hsync_int *p, int v) { return atomic_fetch_add(p, v) + v; }
static inline int hsync_xchgi(hsync_int *p, int v) { return atomic_exchange(p, v); }
static inline bool hsync_cmpxchgi(hsync_int *p, int *old, int v)
{
	ck_point("host: cmpxchg");
	return atomic_compare_exchange_strong(p, old, v);
}
static inline void *hsync_loadp(hsync_ptr *p) { return atomic_load(p); }
static inline void hsync_storep(hsync_ptr *p, void *v) { atomic_store(p, v); }
static inline void hsync_fence(void) { }
static inline void hsync_yield(void) { ck_yield(); }
static inline void hsync_point(const char *where) { ck_point(where); }

#endif
