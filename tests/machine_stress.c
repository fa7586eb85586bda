/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Real-thread stress of the coherence core through the machine model,
 * one race class per case, each checked by the oracle (0 violations):
 *   1. fault vs invalidate: vCPUs fault while the host zaps, migrates,
 *      unmaps and splits under them;
 *   2. fault vs release: exit_mmap while vCPUs are faulting (seed 001);
 *   3. aging vs release: the host ages the guest while it exits;
 *   4. memslot delete vs fault: a slot deleted and re-created under vCPUs.
 * About 1.5 s per case on two cores.
 */
#include <pthread.h>
#include <time.h>
#include "tests/tap.h"
#include "sim/machine/machine.h"

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static struct machine *make(unsigned vcpus, uint64_t seed)
{
	struct mach_cfg c;
	struct machine *m;

	mach_cfg_default(&c);
	c.nr_vcpus = vcpus;
	c.guest_size = 64ULL << 20;
	c.seed = seed;
	c.i6_sample = 2;
	if (mach_create(&c, &m))
		TAP_BAIL("mach_create failed");
	return m;
}

static void report(struct machine *m, const char *what, uint64_t extra_min, uint64_t extra,
		   const char *extra_name)
{
	struct mach_stats s;
	unsigned i;

	mach_get_stats(m, &s);
	tap_ok(s.v.accesses > 0, "%s: accesses completed (%llu, %llu faults)", what,
	       (unsigned long long)s.v.accesses, (unsigned long long)s.v.faults);
	if (extra_name)
		tap_ok(extra >= extra_min, "%s: %s (%llu)", what, extra_name,
		       (unsigned long long)extra);
	tap_ok(s.violations_total == 0, "%s: no violation (%llu)", what,
	       (unsigned long long)s.violations_total);
	for (i = 0; i < mach_nr_violation_texts(m); i++)
		tap_diag("%s", mach_violation_text(m, i));
}

static void fault_vs_invalidate(void)
{
	unsigned w[MH_NR] = { 0 };
	struct machine *m = make(2, 11);
	struct mach_stats s;

	w[MH_DONTNEED] = 4;
	w[MH_MUNMAP] = 2;
	w[MH_MIGRATE] = 4;
	w[MH_SPLIT] = 1;
	w[MH_COLLAPSE] = 1;
	mach_start(m, w);
	nap_ms(1500);
	mach_stop_churn(m);
	mach_stop_vcpus(m);
	mach_get_stats(m, &s);
	report(m, "fault vs invalidate", 100, s.inval_starts, "invalidations");
	mach_destroy(m);
}

static void wait_done(struct machine *m)
{
	int i;

	for (i = 0; i < 400; i++) {
		struct mach_stats s;

		mach_get_stats(m, &s);
		if (s.releases)
			break;
		nap_ms(5);
	}
	nap_ms(50);
	mach_stop_vcpus(m);
}

static void fault_vs_release(void)
{
	struct machine *m = make(2, 12);
	struct mach_stats s;

	mach_start(m, NULL);
	nap_ms(400);
	/* The process exits with its vCPU threads in the fault path. */
	mach_exit_mm(m);
	wait_done(m);
	mach_get_stats(m, &s);
	tap_ok(s.core.releases == 1, "fault vs release: core released once");
	report(m, "fault vs release", 1, s.v.enoent + s.v.efault, "faults refused after exit");
	mach_destroy(m);
}

struct ager {
	struct machine *m;
	int stop;
	uint64_t calls;
};

static void *age_thread(void *arg)
{
	struct ager *a = arg;
	struct host_mm *mm = mach_mm(a->m);
	uint64_t base = mach_slot_hva(a->m, 0), size = mach_slot_size(a->m, 0), off = 0;
	unsigned mode = 0;

	s2_hosted_thread_online();
	while (!__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE)) {
		/* Errors after exit are expected: aging must just cope (I4). */
		host_age(mm, s2_hva(base + off), 2ULL << 20, (enum host_age_mode)(mode++ % 3));
		off = (off + (2ULL << 20)) % size;
		a->calls++;
	}
	s2_hosted_thread_offline();
	return NULL;
}

static void aging_vs_release(void)
{
	struct ager a = { make(2, 13), 0, 0 };
	struct mach_stats s;
	pthread_t t;

	mach_start(a.m, NULL);
	if (pthread_create(&t, NULL, age_thread, &a))
		TAP_BAIL("pthread_create");
	nap_ms(600);
	mach_exit_mm(a.m);
	nap_ms(200);
	__atomic_store_n(&a.stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	wait_done(a.m);
	mach_get_stats(a.m, &s);
	tap_ok(s.core.releases == 1, "aging vs release: core released once");
	report(a.m, "aging vs release", 10, s.cfy + s.cy + s.ty, "young callbacks");
	mach_destroy(a.m);
}

static void slot_delete_vs_fault(void)
{
	struct machine *m = make(2, 14);
	struct mach_stats s;
	unsigned rounds = 0, fails = 0;
	struct timespec t0, t;

	mach_start(m, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		if (mach_delete_slot(m, 1) || mach_recreate_slot(m, 1))
			fails++;
		rounds++;
		nap_ms(2);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < 1500);
	mach_stop_vcpus(m);
	tap_ok(fails == 0, "memslot delete vs fault: %u delete/create rounds, %u failed",
	       rounds, fails);
	mach_get_stats(m, &s);
	report(m, "memslot delete vs fault", 1, s.v.efault, "faults on the deleted slot");
	mach_destroy(m);
}

int main(void)
{
	fault_vs_invalidate();
	fault_vs_release();
	aging_vs_release();
	slot_delete_vs_fault();
	return tap_done();
}
