/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * What tests inject into the hosted platform: allocation failures
 * (s2_hosted_fail_alloc), in every build, and broken primitives
 * (S2_HOSTED_FAULT), in the fault build only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/*
 * Fault injection, for tests/hosted_stress.c only (docs/reliability.md).
 * Compiled solely into the separate objects mk/hosted-fault.mk builds with
 * -DS2_HOSTED_FAULT; in the library FAULT() is the constant 0 and every
 * branch it fences vanishes.  S2_HOSTED_FAULT=<name> in the environment
 * breaks one primitive of src/hosted:
 *   read_nowait      read_lock enters without looking for a writer
 *   read_excl        readers exclude each other (no concurrent readers)
 *   write_noreaders  write_lock does not wait for readers to leave
 *   write_nomutex    writers do not exclude each other
 *   rcu_nolock       rcu_read_lock/unlock do not enter a read section
 *   sync_noop        synchronize_rcu returns at once
 *   defer_now        defer_free runs the callback at once, no grace period
 *   barrier_noop     defer_barrier returns at once
 *   ref_nonatomic    page_ref_add is a load and a store, not one atomic add
 */
#ifdef S2_HOSTED_FAULT
int s2h_fault(void)
{
	static const char *const names[HF_NR] = {
		"", "read_nowait", "read_excl", "write_noreaders", "write_nomutex",
		"rcu_nolock", "sync_noop", "defer_now", "barrier_noop", "ref_nonatomic",
	};
	static int cached = -1;
	int f = __atomic_load_n(&cached, __ATOMIC_RELAXED);
	const char *env;

	if (f >= 0)
		return f;
	env = getenv("S2_HOSTED_FAULT");
	f = HF_NONE;
	if (env && *env) {
		for (f = 1; f < HF_NR && strcmp(env, names[f]); f++)
			;
		if (f == HF_NR) {
			fprintf(stderr, "S2_HOSTED_FAULT=%s: no such fault\n", env);
			abort();
		}
	}
	__atomic_store_n(&cached, f, __ATOMIC_RELAXED);
	return f;
}
#endif

/*
 * Is this allocation the one to fail (s2_hosted_fail_alloc)?  Called
 * without h->lock: the counter may need it (a thread's first count
 * allocates the thread's shard under h->lock, which deadlocked when the
 * first thing a thread counted was an injected failure).
 */
bool s2h_fail_now(struct s2_hosted *h)
{
	bool fail = false;

	pthread_mutex_lock(&h->lock);
	if (h->fail_nth && --h->fail_nth == 0) {
		if (h->fail_sticky)
			h->fail_nth = 1;
		fail = true;
	}
	pthread_mutex_unlock(&h->lock);
	if (fail)
		STAT_ADD(h, alloc_failed, 1);
	return fail;
}

void s2_hosted_fail_alloc(struct s2_hosted *h, unsigned long nth, bool sticky)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->fail_nth = nth;
	h->fail_sticky = sticky;
	pthread_mutex_unlock(&h->lock);
}
