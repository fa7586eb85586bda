/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The hosted platform's lock (rwlock_new and the read/write hooks): a
 * big-reader lock, which every VM's mmu_lock is.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/*
 * mmu_lock is taken for read by every fault and for write by notifiers.
 * A single reader count (pthread_rwlock) puts one cache line that every
 * faulting CPU writes on the fault path; here each thread counts itself
 * in a slot of its own ("big reader" lock), so parallel faults touch
 * disjoint lines and only writers visit them all.  Writers first raise
 * a flag that holds new readers back, so a stream of faults cannot
 * starve a notifier.
 */
#define BR_SLOTS 32

struct brlock {
	struct {
		long readers;
		char pad[64 - sizeof(long)];
	} slot[BR_SLOTS];
	int writer;
	pthread_mutex_t wmutex;		/* writers among themselves */
};

static unsigned br_next;
static __thread unsigned br_slot_plus1;

static unsigned br_my_slot(void)
{
	if (!br_slot_plus1)
		br_slot_plus1 = 1 + __atomic_fetch_add(&br_next, 1, __ATOMIC_RELAXED) % BR_SLOTS;
	return br_slot_plus1 - 1;
}

void *s2h_rwlock_new(void *ctx)
{
	struct brlock *l;

	/* an allocation like the others: failure injection covers it */
	if (s2h_fail_now(ctx))
		return NULL;
	if (posix_memalign((void **)&l, 64, sizeof(*l)))
		return NULL;
	memset(l, 0, sizeof(*l));
	pthread_mutex_init(&l->wmutex, NULL);
	STAT_ADD((struct s2_hosted *)ctx, objects_alloc, 1);
	return l;
}

void s2h_rwlock_free(void *ctx, void *lock)
{
	struct brlock *l = lock;

	STAT_ADD((struct s2_hosted *)ctx, objects_free, 1);
	pthread_mutex_destroy(&l->wmutex);
	free(l);
}

void s2h_read_lock(void *lock)
{
	struct brlock *l = lock;
	long *r = &l->slot[br_my_slot()].readers;

	if (FAULT(READ_EXCL))		/* fault injection: one reader at a time */
		pthread_mutex_lock(&l->wmutex);
	for (;;) {
		/* Count ourselves, then look for a writer: with both sides
		 * sequentially consistent, either the writer sees our count
		 * or we see its flag. */
		__atomic_fetch_add(r, 1, __ATOMIC_SEQ_CST);
		if (FAULT(READ_NOWAIT))	/* fault injection: ignore the writer */
			return;
		if (!__atomic_load_n(&l->writer, __ATOMIC_SEQ_CST))
			return;
		__atomic_fetch_sub(r, 1, __ATOMIC_RELEASE);
		while (__atomic_load_n(&l->writer, __ATOMIC_ACQUIRE))
			sched_yield();
	}
}

void s2h_read_unlock(void *lock)
{
	struct brlock *l = lock;

	__atomic_fetch_sub(&l->slot[br_my_slot()].readers, 1, __ATOMIC_RELEASE);
	if (FAULT(READ_EXCL))		/* fault injection */
		pthread_mutex_unlock(&l->wmutex);
}

void s2h_write_lock(void *lock)
{
	struct brlock *l = lock;
	unsigned i;

	if (!FAULT(WRITE_NOMUTEX))	/* fault injection: writers overlap */
		pthread_mutex_lock(&l->wmutex);
	__atomic_store_n(&l->writer, 1, __ATOMIC_SEQ_CST);
	if (FAULT(WRITE_NOREADERS))	/* fault injection: readers stay in */
		return;
	for (i = 0; i < BR_SLOTS; i++)
		while (__atomic_load_n(&l->slot[i].readers, __ATOMIC_SEQ_CST))
			sched_yield();
}

void s2h_write_unlock(void *lock)
{
	struct brlock *l = lock;

	__atomic_store_n(&l->writer, 0, __ATOMIC_RELEASE);
	if (!FAULT(WRITE_NOMUTEX))	/* fault injection */
		pthread_mutex_unlock(&l->wmutex);
}
