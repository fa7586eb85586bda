/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The hosted platform: the hooks of platform.h for Linux user space, with
 * pthreads and an RCU of its own (membarrier(2) based, docs/hosted.md), and
 * counters of every TLB and cache operation so tests and benchmarks can
 * read them.
 *
 * Thread-safety: every hook may be called from any thread; threads are
 * registered with the RCU on first use and unregistered when they exit.
 * s2_hosted_free must not race with anything using the instance.
 */
#ifndef S2MMU_HOSTED_H
#define S2MMU_HOSTED_H

#include <s2mmu/platform.h>

struct s2_hosted;

struct s2_hosted_stats {
	uint64_t tlbi_ipa;		/* single-address invalidations */
	uint64_t tlbi_ipa_local;	/* of which local (permission relax) */
	uint64_t tlbi_range;		/* range invalidations */
	uint64_t tlbi_range_bytes;
	uint64_t tlbi_vm;		/* whole-VM invalidations */
	uint64_t dcache_ops, icache_ops;	/* clean+inval to PoC, icache */
	uint64_t pages_alloc, pages_free;	/* table pages */
	uint64_t pages_live, pages_peak;
	uint64_t deferred, deferred_done;	/* grace-period frees */
	uint64_t alloc_failed;		/* injected failures */
	/* everything else allocated through the hooks: roots
	 * (alloc_pages_exact), small objects (zalloc) and locks */
	uint64_t exact_alloc, exact_free;
	uint64_t objects_alloc, objects_free;
};

/* Observer of TLB/cache hooks, called before the counter moves. */
enum s2_hosted_event { S2_EV_TLBI_IPA, S2_EV_TLBI_RANGE, S2_EV_TLBI_VM,
		       S2_EV_DCACHE, S2_EV_ICACHE };
typedef void (*s2_hosted_observer)(void *arg, enum s2_hosted_event ev,
				   uint64_t addr, uint64_t size, int level);

/* Return: a new instance, or NULL when out of memory.  Context: any thread. */
struct s2_hosted *s2_hosted_new(void);
/* Waits for pending deferred frees, then releases every chunk; NULL is
 * ignored.  Return: nothing; @h is gone.  Context: nothing else may use
 * @h (every table on it destroyed); not inside an RCU read-side section,
 * since it waits for grace periods. */
void s2_hosted_free(struct s2_hosted *h);

/* The hook table; pass the instance as the platform context.
 * Return: the same static table on every call.  Context: any. */
const struct s2_platform *s2_hosted_platform(void);

/* The instance's counters, summed.  A NULL @h reports zeros; a NULL @out
 * is ignored.  Return: nothing; *@out filled.  Context: any thread (takes
 * the instance's lock; operations in flight may or may not be counted
 * yet). */
void s2_hosted_get_stats(struct s2_hosted *h, struct s2_hosted_stats *out);
/* Zero the TLB and cache counters (not the page counts).  NULL is ignored.
 * Return: nothing.  Context: any thread (takes the instance's lock). */
void s2_hosted_reset_counters(struct s2_hosted *h);
/* Call @fn(@arg, ...) before each TLB or cache counter moves; NULL @fn
 * stops it, NULL @h is ignored.  Return: nothing.  Context: before the
 * instance is in use, since the hooks read the observer without a lock. */
void s2_hosted_set_observer(struct s2_hosted *h, s2_hosted_observer fn, void *arg);

/*
 * Fail the @nth allocation from now on (1: the next one), and every later
 * one if @sticky; 0 disables.  Counts every allocating hook: alloc_page,
 * alloc_pages_exact, zalloc and rwlock_new.  For allocation-failure tests.
 * Return: nothing.  Context: any thread (takes the instance's lock).
 */
void s2_hosted_fail_alloc(struct s2_hosted *h, unsigned long nth, bool sticky);

/* Register the calling thread with RCU explicitly (optional: the first
 * read section does it).  Return: nothing.  Context: the calling thread,
 * outside any RCU read-side section. */
void s2_hosted_thread_online(void);
/* Unregister the calling thread, so grace periods stop waiting for it (a
 * thread's exit does it too).  Return: nothing.  Context: the calling
 * thread, outside any RCU read-side section. */
void s2_hosted_thread_offline(void);

#endif
