/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Aging under mmu_lock held for read (issue 17): the three aging handlers
 * beside faults and beside each other, on the hosted platform.
 *
 * The platform is the hosted one with its RCU hooks wrapped: the engine's
 * shared walk enters and leaves an RCU read section inside mmu_lock, so a
 * hook armed on the aging thread runs with the handler in the middle of
 * its walk.  From there a second thread is asked to fault (or to age) and
 * the hook waits for it, at most WAIT_MS: what must not wait for the
 * handler finishes inside it, what would wait (a fault behind a write
 * lock) is seen not to have finished.  Then counts: every handler call and
 * every fault counted once with agers and faults in parallel, and nothing
 * left behind that makes a later clear_flush_young flush for nothing.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <s2mmu/mmu.h>
#include <s2mmu/hosted.h>
#include "tap.h"
#include "tests/flat_host.h"

#define M2	(2ULL << 20)
#define WAIT_MS	2000

/* ------------------------------------------------------ the platform */

static struct s2_hosted *H;
static struct s2_platform plat;
static const struct s2_platform *hosted;

/* What the armed hook does, once, on the thread that armed it. */
static void (*hook_fn)(void);
static pthread_t hook_thread;
static bool hook_on_unlock;		/* at rcu_read_unlock, else at _lock */
static int hook_ran;

static void maybe_hook(bool unlock)
{
	void (*fn)(void) = hook_fn;

	if (fn && unlock == hook_on_unlock && pthread_equal(pthread_self(), hook_thread)) {
		hook_fn = NULL;
		hook_ran++;
		fn();
	}
}

static void w_rcu_read_lock(void *ctx)
{
	hosted->rcu_read_lock(ctx);
	maybe_hook(false);
}

static void w_rcu_read_unlock(void *ctx)
{
	/* still inside the section and inside mmu_lock: the walk is done,
	 * the handler has not yet left */
	maybe_hook(true);
	hosted->rcu_read_unlock(ctx);
}

static void arm(void (*fn)(void), bool on_unlock)
{
	hook_thread = pthread_self();
	hook_on_unlock = on_unlock;
	hook_ran = 0;
	hook_fn = fn;
}

static struct s2_vm *mkvm(uint64_t size)
{
	struct s2_vm_cfg cfg = {
		.pgt = { S2_FMT_ARM64, 12, 40, 48, 0, &plat, H },
		.host = &flat_ops, .host_ctx = NULL, .max_slots = 2,
	};
	struct s2_vm *vm;

	if (s2_vm_create(&cfg, &vm) ||
	    s2_vm_set_memslot(vm, 0, s2_gpa(0), size, s2_hva(HVA0), 0))
		TAP_BAIL("vm");
	return vm;
}

static uint64_t tlbi_ops(void)
{
	struct s2_hosted_stats st;

	s2_hosted_get_stats(H, &st);
	return st.tlbi_ipa + st.tlbi_range + st.tlbi_vm;
}

static bool mapped(struct s2_vm *vm, uint64_t gpa)
{
	struct s2_mapping m;

	return !s2_pgt_lookup(s2_vm_pgtable(vm), s2_gpa(gpa), &m) && m.valid;
}

static int fault(struct s2_vm *vm, uint64_t gpa, struct s2_memcache *mc)
{
	int ret;

	do
		ret = s2_vm_fault(vm, s2_gpa(gpa), S2_ACC_READ, mc, NULL);
	while (ret == -S2_EAGAIN);
	return ret;
}

/* ------------------------------------------- a second thread, on demand */

/* One job run on another thread while the hook waits for it. */
struct job {
	void (*fn)(struct job *j);
	struct s2_vm *vm;
	uint64_t gpa;
	int ret;
	uint64_t tlbi;			/* TLB operations the job issued */
	struct s2_memcache mc;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
};

static void *job_main(void *arg)
{
	struct job *j = arg;

	s2_hosted_thread_online();
	j->fn(j);
	pthread_mutex_lock(&j->mu);
	j->done = true;
	pthread_cond_signal(&j->cv);
	pthread_mutex_unlock(&j->mu);
	s2_hosted_thread_offline();
	return NULL;
}

static pthread_t job_thread;
static struct job *cur_job;
static bool job_in_time;		/* done within WAIT_MS of being asked */

/* The hook: start the current job and wait for it, WAIT_MS at most. */
static void run_job_and_wait(void)
{
	struct job *j = cur_job;
	struct timespec dl;
	int rc = 0;

	pthread_mutex_lock(&j->mu);
	pthread_create(&job_thread, NULL, job_main, j);
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += WAIT_MS / 1000;
	while (!j->done && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&j->cv, &j->mu, &dl);
	job_in_time = j->done;
	pthread_mutex_unlock(&j->mu);
}

static void job_init(struct job *j, void (*fn)(struct job *), struct s2_vm *vm, uint64_t gpa)
{
	memset(j, 0, sizeof(*j));
	j->fn = fn;
	j->vm = vm;
	j->gpa = gpa;
	j->mc = (struct s2_memcache)S2_MEMCACHE_INIT;
	pthread_mutex_init(&j->mu, NULL);
	pthread_cond_init(&j->cv, NULL);
	cur_job = j;
	job_in_time = false;
}

/* After the handler returned: the job is joined whether or not it was in
 * time (a fault behind a write lock finishes once the lock goes). */
static void job_finish(struct job *j)
{
	hook_fn = NULL;		/* a hook that never ran must not run later */
	if (hook_ran)
		pthread_join(job_thread, NULL);
	s2_vm_memcache_free(j->vm, &j->mc);
	pthread_mutex_destroy(&j->mu);
	pthread_cond_destroy(&j->cv);
}

static void job_fault(struct job *j)
{
	j->ret = fault(j->vm, j->gpa, &j->mc);
}

static void job_cfy(struct job *j)
{
	uint64_t t0 = tlbi_ops();

	j->ret = s2_vm_mn_clear_flush_young(j->vm, s2_hva(HVA0 + j->gpa),
					    s2_hva(HVA0 + j->gpa + PG));
	j->tlbi = tlbi_ops() - t0;
}

/* -------------------------------------------------------------- tests */

enum age_kind { AGE_CFY, AGE_CY, AGE_TY };
static const char *const age_name[] = { "clear_flush_young", "clear_young", "test_young" };

static bool age(struct s2_vm *vm, enum age_kind k, uint64_t start, uint64_t end)
{
	s2_hva_t s = s2_hva(HVA0 + start), e = s2_hva(HVA0 + end);

	if (k == AGE_CFY)
		return s2_vm_mn_clear_flush_young(vm, s, e);
	if (k == AGE_CY)
		return s2_vm_mn_clear_young(vm, s, e);
	return s2_vm_mn_test_young(vm, s, e);
}

/*
 * A fault that installs a new page completes while each handler is in
 * the middle of its walk: aging holds mmu_lock for read, so it no longer
 * holds faults off.  (Under the write lock the fault waits until the
 * handler returns: not in time.)
 */
static void test_fault_beside_aging(void)
{
	for (enum age_kind k = AGE_CFY; k <= AGE_TY; k++) {
		struct s2_memcache mc = S2_MEMCACHE_INIT;
		struct s2_vm *vm = mkvm(4 * M2);
		uint64_t target = M2 + 8 * PG;	/* outside the aged range */
		struct job j;

		for (uint64_t a = 0; a < 4 * PG; a += PG)
			fault(vm, a, &mc);
		job_init(&j, job_fault, vm, target);
		arm(run_job_and_wait, false);
		age(vm, k, 0, M2);
		job_finish(&j);
		tap_ok(hook_ran == 1 && job_in_time && j.ret == 0 && mapped(vm, target),
		       "%s: a fault installs a page while it walks under mmu_lock "
		       "(hook %d, in time %d, fault %d)", age_name[k], hook_ran, job_in_time,
		       j.ret);
		s2_vm_memcache_free(vm, &mc);
		s2_vm_destroy(vm);
	}
}

/*
 * I9 between two agers: a @first_kind ager of @pages pages (from 0) has
 * made page 0 old and not yet flushed or returned when a
 * clear_flush_young of page 0 runs (the hook at the end of the first
 * one's walk); that one finds the page old but must flush it anyway, or
 * a TLB entry filled while it was young outlives the clear_flush_young.
 */
static void test_cfy_beside(enum age_kind first_kind, uint64_t pages)
{
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	struct s2_vm *vm = mkvm(M2);
	struct job j;
	bool y;

	for (uint64_t a = 0; a < pages * PG; a += PG)
		fault(vm, a, &mc);
	job_init(&j, job_cfy, vm, 0);
	arm(run_job_and_wait, true);
	y = age(vm, first_kind, 0, pages * PG);
	job_finish(&j);
	tap_ok(y && hook_ran == 1 && job_in_time && j.ret == 0 && j.tlbi >= 1,
	       "clear_flush_young finds a page a running %s made old, and flushes it "
	       "before returning (I9; %llu TLB ops)", age_name[first_kind],
	       (unsigned long long)j.tlbi);
	s2_vm_memcache_free(vm, &mc);
	s2_vm_destroy(vm);
}

/* One at a time: what clear_flush_young flushes, and what it need not. */
static void test_cfy_alone(void)
{
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	struct s2_vm *vm = mkvm(M2);
	uint64_t t0;
	bool y;

	fault(vm, 0, &mc);
	t0 = tlbi_ops();
	y = age(vm, AGE_CFY, 0, PG);
	tap_ok(y && tlbi_ops() > t0, "clear_flush_young of a young page flushes it");
	t0 = tlbi_ops();
	y = age(vm, AGE_CFY, 0, PG);
	tap_ok(!y && tlbi_ops() == t0,
	       "no clear_young ever, no other ager: an old page is not flushed again");
	fault(vm, 0, &mc);	/* the access-flag fault: young again */
	t0 = tlbi_ops();
	y = age(vm, AGE_CY, 0, PG);
	tap_ok(y && tlbi_ops() == t0, "clear_young makes it old without a flush");
	t0 = tlbi_ops();
	y = age(vm, AGE_CFY, 0, PG);
	tap_ok(!y && tlbi_ops() > t0,
	       "after it, clear_flush_young flushes the page it finds old (I9)");
	s2_vm_memcache_free(vm, &mc);
	s2_vm_destroy(vm);
}

/* --------------------------------------------- counts, in parallel */

#define PAR_PAGES	256
#define PAR_FAULTS	100000
#define PAR_AGES	100000
#define PAR_AGE_PAGES	4	/* short calls: many of them meet in the counters */

struct par {
	struct s2_vm *vm;
	unsigned id;
	struct s2_memcache mc;
	unsigned long calls;
};

static void *par_faulter(void *arg)
{
	struct par *p = arg;
	uint64_t base = (uint64_t)p->id * PAR_PAGES * PG;

	s2_hosted_thread_online();
	for (unsigned i = 0; i < PAR_FAULTS; i++) {
		/* the first pass installs, later ones find the page present,
		 * often made old by the agers: access-flag faults */
		s2_vm_fault(p->vm, s2_gpa(base + (i % PAR_PAGES) * PG), S2_ACC_READ, &p->mc, NULL);
		p->calls++;
	}
	s2_hosted_thread_offline();
	return NULL;
}

static void *par_ager(void *arg)
{
	struct par *p = arg;

	s2_hosted_thread_online();
	for (unsigned i = 0; i < PAR_AGES; i++) {
		uint64_t a = (uint64_t)(i % (2 * PAR_PAGES / PAR_AGE_PAGES)) * PAR_AGE_PAGES * PG;

		/* clear_flush_young and test_young only: no clear_young, so
		 * nothing is left old without a flush once they are done */
		age(p->vm, (i + p->id) % 2 ? AGE_TY : AGE_CFY, a, a + PAR_AGE_PAGES * PG);
		p->calls++;
	}
	s2_hosted_thread_offline();
	return NULL;
}

static void test_counts_in_parallel(void)
{
	struct s2_vm *vm = mkvm(2 * PAR_PAGES * PG);
	struct par p[4];
	pthread_t t[4];
	struct s2_vm_stats s0, s1;
	uint64_t t0;
	bool y;

	s2_vm_get_stats(vm, &s0);
	for (unsigned i = 0; i < 4; i++) {
		p[i] = (struct par){ vm, i % 2, S2_MEMCACHE_INIT, 0 };
		pthread_create(&t[i], NULL, i < 2 ? par_faulter : par_ager, &p[i]);
	}
	for (unsigned i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	s2_vm_get_stats(vm, &s1);
	tap_ok(s1.faults - s0.faults == p[0].calls + p[1].calls &&
	       s1.age_calls - s0.age_calls == p[2].calls + p[3].calls,
	       "two faulters and two agers in parallel: every fault (%llu) and aging "
	       "call (%llu) counted once",
	       (unsigned long long)(s1.faults - s0.faults),
	       (unsigned long long)(s1.age_calls - s0.age_calls));
	tap_ok(s1.installs - s0.installs == 2 * PAR_PAGES,
	       "every page installed once (%llu)", (unsigned long long)(s1.installs - s0.installs));
	/* Nothing left counted in: make everything old, then once more: with
	 * no clear_young ever and no ager running, nothing to flush. */
	age(vm, AGE_CFY, 0, 2 * PAR_PAGES * PG);
	t0 = tlbi_ops();
	y = age(vm, AGE_CFY, 0, 2 * PAR_PAGES * PG);
	tap_ok(!y && tlbi_ops() == t0,
	       "after them, a clear_flush_young of old pages flushes nothing: no ager "
	       "is left counted in");
	for (unsigned i = 0; i < 2; i++)
		s2_vm_memcache_free(vm, &p[i].mc);
	s2_vm_destroy(vm);
}

/* ------------------------------------------------------------- release */

/* Aging after the table is gone (seed 001): no walk, counted as after
 * release, and not left counted in for the next call. */
static void test_after_release(void)
{
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	struct s2_vm *vm = mkvm(M2);
	struct s2_vm_stats s0, s1;

	fault(vm, 0, &mc);
	s2_vm_mn_release(vm);
	s2_vm_get_stats(vm, &s0);
	tap_ok(!age(vm, AGE_CFY, 0, M2) && !age(vm, AGE_CY, 0, M2) && !age(vm, AGE_TY, 0, M2),
	       "after release every aging handler says old");
	s2_vm_get_stats(vm, &s1);
	tap_ok(s1.after_release - s0.after_release == 3 && s1.age_calls - s0.age_calls == 3,
	       "and each is counted once, as an aging call after release");
	s2_vm_memcache_free(vm, &mc);
	s2_vm_destroy(vm);
}

int main(void)
{
	H = s2_hosted_new();
	if (!H)
		TAP_BAIL("hosted");
	hosted = s2_hosted_platform();
	plat = *hosted;
	plat.rcu_read_lock = w_rcu_read_lock;
	plat.rcu_read_unlock = w_rcu_read_unlock;
	test_fault_beside_aging();
	test_cfy_beside(AGE_CY, 2);
	test_cfy_beside(AGE_CFY, 1);
	test_cfy_alone();
	test_counts_in_parallel();
	test_after_release();
	s2_hosted_free(H);
	return tap_done();
}
