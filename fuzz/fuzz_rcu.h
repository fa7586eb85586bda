/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The hosted platform with its RCU hooks replaced by an exact RCU for a
 * single-threaded program, for the fuzz targets.
 *
 * Why: the hosted platform's grace periods cost two membarrier(2) system
 * calls and a wait for readers, milliseconds each under the sanitizers
 * (liburcu's, before it, too); memslot updates, release and destroy each
 * wait for one or two, which held the coherence-core target to a few
 * inputs a second.  Why it is still RCU: with one thread, a grace
 * period has elapsed whenever that thread is outside every read section.
 * So a deferred free runs at once when requested outside a read section,
 * and otherwise when the outermost read section ends; synchronize_rcu and
 * the barrier require being outside and run what is queued.  That is the
 * earliest moment RCU allows, so a table page the library still needs
 * after handing it to defer_free is reused by the very next allocation,
 * and the differential checks see it.  The hosted platform's own RCU hooks
 * run in every test under make test, asan-test and tsan-test.
 */
#ifndef S2_FUZZ_RCU_H
#define S2_FUZZ_RCU_H

#include <stdlib.h>

#include <s2mmu/hosted.h>
#include "fuzz/fuzz_common.h"

struct frcu_cb {
	struct frcu_cb *next;
	s2_deferred_fn fn;
	void *owner, *va;
	int level;
};

static int frcu_depth;
static struct frcu_cb *frcu_head, **frcu_tail = &frcu_head;
static struct s2_platform frcu_plat;

static void frcu_drain(void)
{
	while (frcu_head) {
		struct frcu_cb *cb = frcu_head;

		frcu_head = cb->next;
		if (!frcu_head)
			frcu_tail = &frcu_head;
		cb->fn(cb->owner, cb->va, cb->level);
		free(cb);
	}
}

static void frcu_read_lock(void *ctx)
{
	(void)ctx;
	frcu_depth++;
}

static void frcu_read_unlock(void *ctx)
{
	(void)ctx;
	FUZZ_CHECK(frcu_depth > 0, "rcu_read_unlock without rcu_read_lock");
	if (--frcu_depth == 0)
		frcu_drain();
}

static void frcu_defer_free(void *ctx, void *va, int level, s2_deferred_fn fn, void *owner)
{
	struct frcu_cb *cb = malloc(sizeof(*cb));

	(void)ctx;
	if (!cb)
		abort();
	*cb = (struct frcu_cb){ NULL, fn, owner, va, level };
	*frcu_tail = cb;
	frcu_tail = &cb->next;
	if (!frcu_depth)
		frcu_drain();
}

static void frcu_synchronize(void *ctx)
{
	(void)ctx;
	FUZZ_CHECK(frcu_depth == 0, "synchronize_rcu inside a read section (deadlock)");
	frcu_drain();
}

static const struct s2_platform *fuzz_platform(void)
{
	frcu_plat = *s2_hosted_platform();
	frcu_plat.rcu_read_lock = frcu_read_lock;
	frcu_plat.rcu_read_unlock = frcu_read_unlock;
	frcu_plat.defer_free = frcu_defer_free;
	frcu_plat.defer_barrier = frcu_synchronize;
	frcu_plat.synchronize_rcu = frcu_synchronize;
	return &frcu_plat;
}

#endif
