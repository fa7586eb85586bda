/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * `s2mmu bench` figures of the coherence core (src/mmu): fault-in
 * throughput with one and two threads, aging throughput with two
 * faulting threads beside it, spurious retries of the ranged and the
 * single-counter invalidation tracking, and eager against lazy splitting
 * when dirty logging starts.  The host is a cheap fake (an HVA
 * maps the frame at a fixed offset, always writable), so the figures are
 * the core's own cost, not a host page-table walk's.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <s2mmu/mmu.h>
#include <s2mmu/hosted.h>
#include "bench.h"

#define HVA0	0x7f0000000000ULL
#define PA0	(1ULL << 40)
#define PG	4096ULL

struct fake_host {
	uint64_t map_size;	/* what the lockless host walk reports */
};

static int fh_resolve(void *host, s2_hva_t hva, bool write, struct s2_resolved *r)
{
	(void)host;
	(void)write;
	r->pa = s2_hpa(PA0 + ((hva.v - HVA0) & ~(PG - 1)));
	r->writable = true;
	r->device = false;
	r->cookie = 0;
	return 0;
}

static void fh_put(void *host, const struct s2_resolved *r)
{
	(void)host;
	(void)r;
}

static uint64_t fh_size(void *host, s2_hva_t hva)
{
	(void)hva;
	return ((struct fake_host *)host)->map_size;
}

static const struct s2_host_ops fh_ops = { fh_resolve, fh_put, fh_size, NULL };

double s2_bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void s2_bench_fail(const char *what, int ret)
{
	fprintf(stderr, "s2mmu bench: %s failed: %d\n", what, ret);
	exit(2);
}

static struct s2_vm *mkvm(struct s2_hosted *h, struct fake_host *fh, unsigned flags,
			  uint64_t slot_bytes)
{
	struct s2_vm_cfg cfg = {
		.pgt = { S2_FMT_ARM64, 12, 40, 48, 0, s2_hosted_platform(), h },
		.host = &fh_ops, .host_ctx = fh, .flags = flags, .max_slots = 4,
	};
	struct s2_vm *vm;
	int ret;

	if ((ret = s2_vm_create(&cfg, &vm)))
		s2_bench_fail("vm create", ret);
	if ((ret = s2_vm_set_memslot(vm, 0, s2_gpa(0), slot_bytes, s2_hva(HVA0), 0)))
		s2_bench_fail("memslot", ret);
	return vm;
}

static void rmvm(struct s2_vm *vm, struct s2_memcache *mc, unsigned nmc)
{
	struct s2_pgtable *pgt = s2_vm_pgtable(vm);

	for (unsigned i = 0; i < nmc; i++)
		s2_memcache_free(pgt, &mc[i]);
	s2_vm_destroy(vm);
}

/* One fault until it sticks; returns the calls it took. */
static unsigned long fault_page(struct s2_vm *vm, uint64_t gpa, unsigned acc,
				struct s2_memcache *mc)
{
	unsigned long n = 0;
	int ret;

	do {
		ret = s2_vm_fault(vm, s2_gpa(gpa), acc, mc, NULL);
		n++;
	} while (ret == -S2_EAGAIN);
	if (ret)
		s2_bench_fail("fault", ret);
	return n;
}

/* ------------------------------------------------------- fault scaling */

struct fault_thread {
	struct s2_vm *vm;
	struct s2_memcache mc;
	uint64_t start, end;
	pthread_barrier_t *bar;
	double t0, t1;
};

static void *fault_worker(void *arg)
{
	struct fault_thread *t = arg;

	s2_hosted_thread_online();
	pthread_barrier_wait(t->bar);
	t->t0 = s2_bench_now();
	for (uint64_t a = t->start; a < t->end; a += PG)
		fault_page(t->vm, a, S2_ACC_READ | S2_ACC_WRITE, &t->mc);
	t->t1 = s2_bench_now();
	s2_hosted_thread_offline();
	return NULL;
}

/* Faults per second with @nt threads, each faulting its own part of the slot. */
static double fault_rate(struct s2_hosted *h, uint64_t slot_bytes, unsigned nt)
{
	struct fake_host fh = { PG };
	struct s2_vm *vm = mkvm(h, &fh, 0, slot_bytes);
	struct fault_thread t[2];
	struct s2_memcache mcs[2];
	pthread_t tid[2];
	pthread_barrier_t bar;
	double t0 = 1e30, t1 = 0;

	pthread_barrier_init(&bar, NULL, nt);
	for (unsigned i = 0; i < nt; i++) {
		t[i] = (struct fault_thread){ vm, S2_MEMCACHE_INIT, slot_bytes / nt * i,
					      slot_bytes / nt * (i + 1), &bar, 0, 0 };
		pthread_create(&tid[i], NULL, fault_worker, &t[i]);
	}
	for (unsigned i = 0; i < nt; i++) {
		pthread_join(tid[i], NULL);
		if (t[i].t0 < t0)
			t0 = t[i].t0;
		if (t[i].t1 > t1)
			t1 = t[i].t1;
		mcs[i] = t[i].mc;
	}
	pthread_barrier_destroy(&bar);
	rmvm(vm, mcs, nt);
	return (double)(slot_bytes / PG) / (t1 - t0);
}

void s2_bench_fault_scaling(uint64_t slot_bytes, int reps, struct s2_core_results *r)
{
	struct s2_hosted *h = s2_hosted_new();

	r->fault_1t_per_s = r->fault_2t_per_s = 0;
	/*
	 * Untimed passes first: the first VMs grow the hosted allocator
	 * (fresh chunks, first-touch page faults on every table page) and
	 * later ones reuse its pages, so without them a single repetition
	 * (--quick) charges that growth to whichever figure ran first.
	 */
	fault_rate(h, slot_bytes, 1);
	fault_rate(h, slot_bytes, 2);
	for (int i = 0; i < reps; i++) {
		double a = fault_rate(h, slot_bytes, 1), b = fault_rate(h, slot_bytes, 2);

		if (a > r->fault_1t_per_s)
			r->fault_1t_per_s = a;
		if (b > r->fault_2t_per_s)
			r->fault_2t_per_s = b;
	}
	s2_hosted_free(h);
}

/* ------------------------------------------------ aging beside faults */

#define AGE_CHUNK	(2ULL << 20)	/* one clear_young per 2M, as the run's churn */

struct age_faulter {
	struct s2_vm *vm;
	struct s2_memcache mc;
	uint64_t start, end;
	pthread_barrier_t *bar;
	const int *stop;
	unsigned long faults;
	double secs;
};

/*
 * A vCPU that keeps faulting on its own part of the slot: every page is
 * present, so each fault is the fault path's lookup and, once aging made
 * the page old, an access-flag fault that sets it young again (mkyoung,
 * a compare-and-exchange) -- the leaves the aging thread is clearing.
 */
static void *age_fault_worker(void *arg)
{
	struct age_faulter *t = arg;
	uint64_t a = t->start;
	double t0;

	s2_hosted_thread_online();
	pthread_barrier_wait(t->bar);
	t0 = s2_bench_now();
	while (!__atomic_load_n(t->stop, __ATOMIC_ACQUIRE)) {
		fault_page(t->vm, a, S2_ACC_READ, &t->mc);
		t->faults++;
		a = a + PG < t->end ? a + PG : t->start;
	}
	t->secs = s2_bench_now() - t0;
	s2_hosted_thread_offline();
	return NULL;
}

/*
 * Pages aged per second by one thread calling clear_young over the slot
 * 2M at a time for @secs, with @nf threads faulting meanwhile (MGLRU's
 * aging while the guest runs).  *@fps: the faults per second those
 * threads completed over the same time.
 */
static double age_rate(struct s2_hosted *h, uint64_t slot_bytes, unsigned nf, double secs,
		       double *fps)
{
	struct fake_host fh = { PG };
	struct s2_vm *vm = mkvm(h, &fh, 0, slot_bytes);
	struct s2_memcache mcs[3] = { S2_MEMCACHE_INIT };
	struct age_faulter t[2];
	pthread_t tid[2];
	pthread_barrier_t bar;
	uint64_t pages = 0, a = 0;
	double t0, t1;
	int stop = 0;

	for (uint64_t g = 0; g < slot_bytes; g += PG)
		fault_page(vm, g, S2_ACC_READ, &mcs[0]);
	pthread_barrier_init(&bar, NULL, nf + 1);
	for (unsigned i = 0; i < nf; i++) {
		t[i] = (struct age_faulter){ vm, S2_MEMCACHE_INIT, slot_bytes / nf * i,
					     slot_bytes / nf * (i + 1), &bar, &stop, 0, 0 };
		pthread_create(&tid[i], NULL, age_fault_worker, &t[i]);
	}
	pthread_barrier_wait(&bar);
	t0 = s2_bench_now();
	do {
		s2_vm_mn_clear_young(vm, s2_hva(HVA0 + a), s2_hva(HVA0 + a + AGE_CHUNK));
		pages += AGE_CHUNK / PG;
		a = (a + AGE_CHUNK) % slot_bytes;
	} while (s2_bench_now() - t0 < secs);
	t1 = s2_bench_now();
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	*fps = 0;
	for (unsigned i = 0; i < nf; i++) {
		pthread_join(tid[i], NULL);
		*fps += (double)t[i].faults / t[i].secs;
		mcs[i + 1] = t[i].mc;
	}
	pthread_barrier_destroy(&bar);
	rmvm(vm, mcs, nf + 1);
	return (double)pages / (t1 - t0);
}

void s2_bench_aging(uint64_t slot_bytes, double secs, int reps, struct s2_core_results *r)
{
	struct s2_hosted *h = s2_hosted_new();
	double fps;

	r->age_alone_per_s = r->age_2f_per_s = r->age_2f_faults_per_s = 0;
	for (int i = 0; i < reps; i++) {
		double a = age_rate(h, slot_bytes, 0, secs, &fps);
		double b = age_rate(h, slot_bytes, 2, secs, &fps);

		if (a > r->age_alone_per_s)
			r->age_alone_per_s = a;
		/* the best aging run and the faults of that run, together */
		if (b > r->age_2f_per_s) {
			r->age_2f_per_s = b;
			r->age_2f_faults_per_s = fps;
		}
	}
	s2_hosted_free(h);
}

/* ---------------------------------------------------- spurious retries */

struct inval_thread {
	struct s2_vm *vm;
	uint64_t hva, size;
	int stop, started;
	unsigned long rounds;
};

static void spin_us(double us)
{
	double end = s2_bench_now() + us * 1e-6;

	while (s2_bench_now() < end)
		;
}

/*
 * The host changing its mappings elsewhere, at a steady rate: start,
 * some microseconds of host work (clearing its PTEs, its own TLB flush),
 * end, a pause.  The faults never touch this range.
 */
static void *inval_worker(void *arg)
{
	struct inval_thread *t = arg;

	s2_hosted_thread_online();
	__atomic_store_n(&t->started, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&t->stop, __ATOMIC_ACQUIRE)) {
		s2_vm_mn_invalidate_range_start(t->vm, s2_hva(t->hva), s2_hva(t->hva + t->size),
						true);
		spin_us(S2_BENCH_INVAL_WORK_US);
		s2_vm_mn_invalidate_range_end(t->vm, s2_hva(t->hva), s2_hva(t->hva + t->size));
		t->rounds++;
		spin_us(S2_BENCH_INVAL_GAP_US);
	}
	s2_hosted_thread_offline();
	return NULL;
}

/* % of faults retried although their address was in no invalidation */
static double spurious_pct(struct s2_hosted *h, unsigned flags, unsigned long nfaults,
			   unsigned long *rounds)
{
	const uint64_t half = 64ULL << 20;	/* faults below, invalidations above */
	struct fake_host fh = { PG };
	struct s2_vm *vm = mkvm(h, &fh, flags, 2 * half);
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	struct inval_thread it = { vm, HVA0 + half, 2ULL << 20, 0, 0, 0 };
	struct s2_vm_stats st;
	pthread_t tid;
	unsigned long done = 0;
	uint64_t a = 0;

	pthread_create(&tid, NULL, inval_worker, &it);
	/* both running before the count starts */
	while (!__atomic_load_n(&it.started, __ATOMIC_ACQUIRE))
		sched_yield();
	while (done < nfaults) {
		/* first pass installs, later ones are access faults on
		 * present pages: both take the same retry check */
		fault_page(vm, a, S2_ACC_READ, &mc);
		done++;
		a = (a + PG) % half;
	}
	__atomic_store_n(&it.stop, 1, __ATOMIC_RELEASE);
	pthread_join(tid, NULL);
	s2_vm_get_stats(vm, &st);
	*rounds = it.rounds;
	rmvm(vm, &mc, 1);
	return 100.0 * (double)st.spurious_retries / (double)st.faults;
}

void s2_bench_spurious(unsigned long nfaults, struct s2_core_results *r)
{
	struct s2_hosted *h = s2_hosted_new();

	r->spurious_pct_ranged = spurious_pct(h, 0, nfaults, &r->inval_rounds_ranged);
	r->spurious_pct_counter = spurious_pct(h, S2_VM_COUNTER_TRACKING, nfaults,
					       &r->inval_rounds_counter);
	s2_hosted_free(h);
}

/* ----------------------------------------------------- eager vs lazy */

/*
 * A slot faulted in as 2M blocks, then dirty logging on and every page
 * written once: the migration pattern.  Lazy: each first write in a block
 * breaks it under the fault (mmu_lock shared) and the rest of the block
 * faults back page by page.  Eager: the enable splits everything first,
 * in chunks, and the writes are permission faults on present pages.
 */
static void split_run(struct s2_hosted *h, uint64_t slot_bytes, bool eager, double *secs,
		      double *enable_secs, uint64_t *faults)
{
	struct fake_host fh = { 2ULL << 20 };
	struct s2_vm *vm = mkvm(h, &fh, eager ? S2_VM_EAGER_SPLIT : 0, slot_bytes);
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	struct s2_vm_stats s0, s1;
	double t0, t1;
	int ret;

	for (uint64_t a = 0; a < slot_bytes; a += 2ULL << 20)
		fault_page(vm, a, S2_ACC_READ, &mc);
	s2_vm_get_stats(vm, &s0);
	t0 = s2_bench_now();
	if ((ret = s2_vm_set_memslot(vm, 0, s2_gpa(0), slot_bytes, s2_hva(HVA0),
				     S2_MEM_DIRTY_LOG)))
		s2_bench_fail("dirty log on", ret);
	t1 = s2_bench_now();
	for (uint64_t a = 0; a < slot_bytes; a += PG)
		fault_page(vm, a, S2_ACC_WRITE, &mc);
	*secs = s2_bench_now() - t0;
	*enable_secs = t1 - t0;
	s2_vm_get_stats(vm, &s1);
	*faults = s1.faults - s0.faults;
	rmvm(vm, &mc, 1);
}

void s2_bench_split(uint64_t slot_bytes, int reps, struct s2_core_results *r)
{
	struct s2_hosted *h = s2_hosted_new();

	r->eager_s = r->lazy_s = 1e30;
	for (int i = 0; i < reps; i++) {
		double s, e;
		uint64_t f;

		split_run(h, slot_bytes, true, &s, &e, &f);
		if (s < r->eager_s) {
			r->eager_s = s;
			r->eager_enable_s = e;
			r->eager_faults = f;
		}
		split_run(h, slot_bytes, false, &s, &e, &f);
		if (s < r->lazy_s) {
			r->lazy_s = s;
			r->lazy_enable_s = e;
			r->lazy_faults = f;
		}
	}
	s2_hosted_free(h);
}

/* ------------------------------------------- hardware dirty logging pass */

/* What the hardware's writes leave: every leaf made dirty the way a walk
 * would (s2_pte_hw_update), outside the timing. */
static int hw_dirty_visit(struct s2_walk_ctx *c, unsigned visit)
{
	(void)visit;
	if (s2_pte_valid(c->pgt, c->old, c->level))
		*c->ptep = s2_pte_hw_update(c->pgt, c->old, c->level, S2_HW_SET_DIRTY);
	return 0;
}

/*
 * The dirty-log pass of a slot in hardware mode (S2_MEM_DIRTY_HW): one
 * s2_vm_get_dirty_log, which tests and cleans every leaf and invalidates
 * what it cleaned, over a slot of 4K pages every one of which the
 * hardware made dirty (the pass migration pays when the guest wrote
 * everything), and the same pass with nothing written (the walk alone).
 * The pages are mapped writable-clean through the engine, as read faults
 * would map them, without the faults' cost.
 */
void s2_bench_dirty_hw(uint64_t slot_bytes, int reps, struct s2_core_results *r)
{
	struct s2_hosted *h = s2_hosted_new();
	struct s2_vm_cfg cfg = {
		.pgt = { S2_FMT_ARM64, 12, 40, 48, S2_PGT_HW_DBM, s2_hosted_platform(), h },
		.host = &fh_ops, .max_slots = 4,
	};
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	uint64_t pages = slot_bytes / PG, words = (pages + 63) / 64, *bm;
	struct s2_hosted_stats st0, st1;
	struct s2_pgtable *pgt;
	struct s2_vm *vm;
	int ret;

	r->dirty_hw_pages = pages;
	r->dirty_hw_all_per_s = r->dirty_hw_none_per_s = 0;
	bm = malloc(words * sizeof(*bm));
	if (!h || !bm)
		s2_bench_fail("bench allocation", -S2_ENOMEM);
	if ((ret = s2_vm_create(&cfg, &vm)))
		s2_bench_fail("vm create", ret);
	if ((ret = s2_vm_set_memslot(vm, 0, s2_gpa(0), slot_bytes, s2_hva(HVA0),
				     S2_MEM_DIRTY_LOG | S2_MEM_DIRTY_HW)))
		s2_bench_fail("hardware dirty log on", ret);
	pgt = s2_vm_pgtable(vm);
	if ((ret = s2_memcache_topup(pgt, &mc, s2_pgt_pages_needed(pgt, s2_gpa(0), slot_bytes))))
		s2_bench_fail("page cache", ret);
	if ((ret = s2_pgt_map(pgt, s2_gpa(0), slot_bytes, s2_hpa(PA0),
			      S2_PROT_R | S2_PROT_W | S2_PROT_CLEAN, PG, &mc, 0)))
		s2_bench_fail("map", ret);
	for (int i = 0; i < reps; i++) {
		double t0, secs;

		s2_pgt_walk(pgt, s2_gpa(0), slot_bytes, hw_dirty_visit, NULL, S2_WALK_LEAF);
		s2_hosted_get_stats(h, &st0);
		t0 = s2_bench_now();
		if ((ret = s2_vm_get_dirty_log(vm, 0, bm, words)))
			s2_bench_fail("harvest", ret);
		secs = s2_bench_now() - t0;
		s2_hosted_get_stats(h, &st1);
		/* the figure is only a figure if the pass did the work */
		for (uint64_t w = 0; w < words; w++)
			if (bm[w] != ~0ULL)
				s2_bench_fail("harvest missed pages", -S2_EINVAL);
		if ((double)pages / secs > r->dirty_hw_all_per_s) {
			r->dirty_hw_all_per_s = (double)pages / secs;
			r->dirty_hw_all_tlbi = (st1.tlbi_ipa + st1.tlbi_range + st1.tlbi_vm) -
					       (st0.tlbi_ipa + st0.tlbi_range + st0.tlbi_vm);
		}
		t0 = s2_bench_now();
		if ((ret = s2_vm_get_dirty_log(vm, 0, bm, words)))
			s2_bench_fail("harvest", ret);
		secs = s2_bench_now() - t0;
		for (uint64_t w = 0; w < words; w++)
			if (bm[w])
				s2_bench_fail("harvest reported unwritten pages", -S2_EINVAL);
		if ((double)pages / secs > r->dirty_hw_none_per_s)
			r->dirty_hw_none_per_s = (double)pages / secs;
	}
	free(bm);
	rmvm(vm, &mc, 1);
	s2_hosted_free(h);
}
