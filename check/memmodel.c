// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The weak-memory model (memmodel.h).
 *
 * Memory always holds the newest value, so the storing thread, and any
 * plain access, sees it.  What is weak is what the *other* threads' loads
 * through s2_load / s2_load_acquire see: while a store is pending in its
 * thread's buffer, they keep seeing the value it replaced.  A pending
 * store becomes visible ("drains") when
 *  - the scheduler decides so at a scheduling point (a recorded choice of
 *    the schedule, so replays and tokens reproduce it);
 *  - its thread does a read-modify-write or a fence (acquire-release:
 *    everything before it first), or stores to a location another
 *    thread has pending (coherence: one order of stores per location);
 *  - any thread takes a lock (lock release/acquire pairs: whoever gets
 *    the lock sees everything stored before any earlier unlock), or its
 *    thread ends.
 * Ordering: a release store drains only after every earlier store of its
 * thread (choosing it drains them first); a relaxed store only after the
 * earlier stores of its thread to the same location, so a later relaxed
 * store may become visible before an earlier release store — the arm64
 * behaviour behind slots_gen_relaxed.  Loads are not reordered: an acquire
 * load that sees a released value sees everything before the release,
 * because that all drained first; relaxed loads reading older values than
 * the thread already saw are not modelled (docs/bugs.md).
 */
#include <stdint.h>
#include <string.h>

#include <s2mmu/compiler.h>
#include "check/memmodel.h"
#include "check/sched.h"

uint64_t (*s2_check_mem_load)(const void *p, uint64_t mem, int order);
void (*s2_check_mem_store)(void *p, uint64_t old, uint64_t v, int order);
void (*s2_check_mem_rmw)(void *p, int order);

#define MM_BUF		16	/* pending stores per thread; the oldest drains past it */
#define MM_CHOICES	8	/* stores a scheduling point may choose from */

struct mm_ent {
	const void *p;
	uint64_t old;		/* what other threads see while it is pending */
	bool rel;
};

static struct mm_ent buf[CK_MAX_THREADS][MM_BUF];
static unsigned nb[CK_MAX_THREADS];
static bool on;
static __thread int oracle;

/* Make entry @i of thread @t visible, with what must be visible first. */
static void drain(int t, unsigned i)
{
	const void *p = buf[t][i].p;
	unsigned j, k;

	/* an earlier release store to the same place brings its prefix */
	for (j = 0; j < i; j++)
		if (buf[t][j].p == p && buf[t][j].rel) {
			drain(t, j);
			i -= j + 1;
			j = (unsigned)-1;
		}
	if (buf[t][i].rel) {
		memmove(&buf[t][0], &buf[t][i + 1], (nb[t] - i - 1) * sizeof(buf[t][0]));
		nb[t] -= i + 1;
		return;
	}
	for (j = k = 0; j < nb[t]; j++)
		if (j > i || buf[t][j].p != p)
			buf[t][k++] = buf[t][j];
	nb[t] = k;
}

static void drain_all(int t)
{
	nb[t] = 0;
}

/* Every other thread's pending stores to @p, made visible. */
static void settle_location(int self, const void *p)
{
	for (int t = 0; t < CK_MAX_THREADS; t++) {
		if (t == self)
			continue;
		for (unsigned i = nb[t]; i-- > 0;)
			if (buf[t][i].p == p) {
				drain(t, i);
				break;
			}
	}
}

static bool modelled(void)
{
	return on && !oracle && ck_running() && ck_self() >= 0;
}

bool (*mm_is_object)(uint64_t v);
bool (*mm_is_table_ptr)(const void *p, uint64_t v);
bool (*mm_in_read_section)(void);

/*
 * A pointer to a platform-allocated object read with a relaxed load, by a
 * thread that holds no lock, may be followed before the object's plain
 * initialising stores are visible (C11: a data race; arm64: a reordering
 * of the loads that only an address dependency happens to prevent).
 * Reported as I3, like any read of memory not yet (or no longer) valid.
 */
static void check_consume(const void *p, uint64_t v, int order)
{
	if (order != __ATOMIC_RELAXED)
		return;
	if (mm_is_object && mm_is_object(v) && !ck_locks_held())
		ck_violation(3, "publication: pointer %#llx to an allocated object loaded "
			     "relaxed outside any lock (needs acquire)", (unsigned long long)v);
	if (mm_is_table_ptr && !ck_write_locks_held() && mm_is_table_ptr(p, v))
		ck_violation(3, "publication: table descriptor %#llx loaded relaxed by a walker "
			     "that does not exclude writers (needs acquire)", (unsigned long long)v);
}

/* Any order: a pointer to an object loaded with neither a read section
 * nor a lock may be freed before it is used (I3). */
static void check_protected(uint64_t v)
{
	if (mm_is_object && mm_in_read_section && mm_is_object(v) && !ck_locks_held() &&
	    !mm_in_read_section())
		ck_violation(3, "pointer %#llx to an allocated object loaded outside any RCU "
			     "read section or lock", (unsigned long long)v);
}

static uint64_t h_load(const void *p, uint64_t mem, int order)
{
	int self = ck_self();

	if (!modelled())
		return mem;
	check_protected(mem);
	for (int t = 0; t < CK_MAX_THREADS; t++) {
		if (t == self)
			continue;
		for (unsigned i = 0; i < nb[t]; i++)
			if (buf[t][i].p == p) {
				check_consume(p, buf[t][i].old, order);
				return buf[t][i].old;
			}
	}
	check_consume(p, mem, order);
	return mem;
}

static void h_store(void *p, uint64_t old, uint64_t v, int order)
{
	int self = ck_self();

	if (!modelled())
		return;
	/* the store side of the publication rule: a relaxed store lets the
	 * pointer be seen before the object's contents, lock or no lock,
	 * since its readers (RCU) take none */
	if (order == __ATOMIC_RELAXED && mm_is_object && mm_is_object(v))
		ck_violation(3, "publication: pointer %#llx to an allocated object stored "
			     "relaxed (needs release)", (unsigned long long)v);
	/* and a table's: hardware walkers take no lock, whoever stores */
	if (order == __ATOMIC_RELAXED && mm_is_table_ptr && mm_is_table_ptr(p, v))
		ck_violation(3, "publication: table descriptor %#llx stored relaxed (needs "
			     "release: hardware walks it without a lock)", (unsigned long long)v);
	settle_location(self, p);
	if (nb[self] == MM_BUF)
		drain(self, 0);
	buf[self][nb[self]++] = (struct mm_ent){ p, old, order == __ATOMIC_RELEASE };
}

static void h_rmw(void *p, int order)
{
	int self = ck_self();

	if (!modelled())
		return;
	if (p)
		settle_location(self, p);
	if (order != __ATOMIC_RELAXED)
		drain_all(self);
}

static void thread_end(int t)
{
	if (on)
		drain_all(t);
}

void mm_enable(void)
{
	on = true;
	s2_check_mem_load = h_load;
	s2_check_mem_store = h_store;
	s2_check_mem_rmw = h_rmw;
	ck_thread_end_hook = thread_end;
}

bool mm_enabled(void)
{
	return on;
}

void mm_reset(void)
{
	memset(nb, 0, sizeof(nb));
}

void mm_point(void)
{
	unsigned n = 0;
	int c;

	if (!on || !ck_running())
		return;
	for (int t = 0; t < CK_MAX_THREADS; t++)
		n += nb[t];
	if (!n)
		return;
	c = ck_decide(n < MM_CHOICES ? n : MM_CHOICES);
	if (c < 0)
		return;
	for (int t = 0; t < CK_MAX_THREADS; t++) {
		if ((unsigned)c < nb[t]) {
			drain(t, (unsigned)c);
			return;
		}
		c -= (int)nb[t];
	}
}

void mm_acquire(void)
{
	if (on)
		memset(nb, 0, sizeof(nb));
}

void mm_oracle_enter(void)
{
	oracle++;
}

void mm_oracle_exit(void)
{
	oracle--;
}
