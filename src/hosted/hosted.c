/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Hosted platform for Linux user space.
 */
#include <errno.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* ------------------------------------------------------------ allocator */

static unsigned shift_idx(unsigned page_shift)
{
	return (page_shift - 12) / 2;
}

static bool chunk_grow(struct s2_hosted *h, unsigned page_shift)
{
	size_t psz = 1UL << page_shift, n = CHUNK_SIZE >> page_shift, i;
	struct chunk *c;
	void *mem;

	if (posix_memalign(&mem, CHUNK_SIZE, CHUNK_SIZE))
		return false;
	c = mem;
	c->meta = calloc(n, sizeof(*c->meta));
	if (!c->meta) {
		free(mem);
		return false;
	}
	c->page_shift = page_shift;
	c->next = h->chunks;
	h->chunks = c;
	/* page 0 holds the chunk header */
	for (i = n - 1; i >= 1; i--) {
		void *p = (char *)mem + i * psz;

		*(void **)p = h->free_list[shift_idx(page_shift)];
		h->free_list[shift_idx(page_shift)] = p;
	}
	return true;
}

static void *h_alloc_page(void *ctx, unsigned page_shift)
{
	struct s2_hosted *h = ctx;
	unsigned si = shift_idx(page_shift);
	void *p;

	if (s2h_fail_now(h))
		return NULL;
	pthread_mutex_lock(&h->lock);
	if (!h->free_list[si] && !chunk_grow(h, page_shift)) {
		pthread_mutex_unlock(&h->lock);
		return NULL;
	}
	p = h->free_list[si];
	h->free_list[si] = *(void **)p;
	if (++h->pages_live > h->pages_peak)
		h->pages_peak = h->pages_live;
	pthread_mutex_unlock(&h->lock);
	memset(p, 0, 1UL << page_shift);
	meta_of(p)->ref = 1;
	STAT_ADD(h, pages_alloc, 1);
	return p;
}

static void h_free_page(void *ctx, void *va, unsigned page_shift)
{
	struct s2_hosted *h = ctx;
	unsigned si = shift_idx(page_shift);

	meta_of(va)->ref = 0;
	pthread_mutex_lock(&h->lock);
	*(void **)va = h->free_list[si];
	h->free_list[si] = va;
	h->pages_live--;
	pthread_mutex_unlock(&h->lock);
	STAT_ADD(h, pages_free, 1);
}

static void *h_alloc_pages_exact(void *ctx, size_t size)
{
	struct s2_hosted *h = ctx;
	void *p;

	if (s2h_fail_now(h))
		return NULL;
	if (posix_memalign(&p, size < 4096 ? 4096 : size, size))
		return NULL;
	memset(p, 0, size);
	STAT_ADD(h, exact_alloc, 1);
	return p;
}

static void h_free_pages_exact(void *ctx, void *va, size_t size)
{
	(void)size;
	STAT_ADD((struct s2_hosted *)ctx, exact_free, 1);
	free(va);
}

static int h_page_ref_add(void *ctx, void *va, int delta)
{
	(void)ctx;
	if (!delta)
		return __atomic_load_n(&meta_of(va)->ref, __ATOMIC_ACQUIRE);
	if (FAULT(REF_NONATOMIC)) {	/* fault injection: a lost-update window */
		int *ref = &meta_of(va)->ref, v = __atomic_load_n(ref, __ATOMIC_RELAXED);

		__atomic_store_n(ref, v + delta, __ATOMIC_RELAXED);
		return v + delta;
	}
	return __atomic_add_fetch(&meta_of(va)->ref, delta, __ATOMIC_ACQ_REL);
}

static uint64_t h_virt_to_phys(void *ctx, void *va)
{
	(void)ctx;
	return (uint64_t)(uintptr_t)va;
}

static void *h_phys_to_virt(void *ctx, uint64_t pa)
{
	(void)ctx;
	return (void *)(uintptr_t)pa;
}

/* ------------------------------------------------------ TLB and caches */

static void observe(struct s2_hosted *h, enum s2_hosted_event ev, uint64_t a,
		    uint64_t size, int level)
{
	if (h->obs)
		h->obs(h->obs_arg, ev, a, size, level);
}

static void h_tlbi_ipa(void *ctx, uint64_t ipa, int level, unsigned flags)
{
	struct s2_hosted *h = ctx;
	uint64_t *c;

	observe(h, S2_EV_TLBI_IPA, ipa, 0, level);
	/* one shard lookup for both counters: this runs once per fault-path
	 * relax and per-page unmap */
	c = my_shard(h)->c;
	shard_add(&c[STAT_IDX(tlbi_ipa)], 1);
	if (flags & S2_TLBI_LOCAL)
		shard_add(&c[STAT_IDX(tlbi_ipa_local)], 1);
}

static void h_tlbi_range(void *ctx, uint64_t ipa, uint64_t size, int level)
{
	struct s2_hosted *h = ctx;

	observe(h, S2_EV_TLBI_RANGE, ipa, size, level);
	STAT_ADD(h, tlbi_range, 1);
	STAT_ADD(h, tlbi_range_bytes, size);
}

static void h_tlbi_vm(void *ctx)
{
	struct s2_hosted *h = ctx;

	observe(h, S2_EV_TLBI_VM, 0, 0, -1);
	STAT_ADD(h, tlbi_vm, 1);
}

static void h_dcache(void *ctx, uint64_t pa, uint64_t size)
{
	struct s2_hosted *h = ctx;

	observe(h, S2_EV_DCACHE, pa, size, -1);
	STAT_ADD(h, dcache_ops, 1);
}

static void h_icache(void *ctx, uint64_t pa, uint64_t size)
{
	struct s2_hosted *h = ctx;

	observe(h, S2_EV_ICACHE, pa, size, -1);
	STAT_ADD(h, icache_ops, 1);
}

static void *h_zalloc(void *ctx, size_t size)
{
	struct s2_hosted *h = ctx;

	void *p;

	if (s2h_fail_now(h))
		return NULL;
	p = calloc(1, size);
	if (p)
		STAT_ADD(h, objects_alloc, 1);
	return p;
}

static void h_free(void *ctx, void *p, size_t size)
{
	(void)size;
	if (p)
		STAT_ADD((struct s2_hosted *)ctx, objects_free, 1);
	free(p);
}

static void h_yield(void *ctx)
{
	(void)ctx;
	sched_yield();
}

static const struct s2_platform hosted_ops = {
	.alloc_page = h_alloc_page,
	.free_page = h_free_page,
	.alloc_pages_exact = h_alloc_pages_exact,
	.free_pages_exact = h_free_pages_exact,
	.page_ref_add = h_page_ref_add,
	.virt_to_phys = h_virt_to_phys,
	.phys_to_virt = h_phys_to_virt,
	.linear = true,
	.linear_offset = 0,
	.defer_free = s2h_defer_free,
	.defer_barrier = s2h_defer_barrier,
	.tlbi_ipa = h_tlbi_ipa,
	.tlbi_range = h_tlbi_range,
	.tlbi_vm = h_tlbi_vm,
	.dcache_clean_inval_poc = h_dcache,
	.icache_inval_pou = h_icache,
	.zalloc = h_zalloc,
	.free = h_free,
	.yield = h_yield,
	.rwlock_new = s2h_rwlock_new,
	.rwlock_free = s2h_rwlock_free,
	.read_lock = s2h_read_lock,
	.read_unlock = s2h_read_unlock,
	.write_lock = s2h_write_lock,
	.write_unlock = s2h_write_unlock,
	.rcu_read_lock = s2h_rcu_read_lock,
	.rcu_read_unlock = s2h_rcu_read_unlock,
	.synchronize_rcu = s2h_synchronize_rcu,
};

const struct s2_platform *s2_hosted_platform(void)
{
	return &hosted_ops;
}

struct s2_hosted *s2_hosted_new(void)
{
	struct s2_hosted *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	s2h_defer_instance_get();
	pthread_mutex_init(&h->lock, NULL);
	s2h_stats_init(h);
	return h;
}

void s2_hosted_free(struct s2_hosted *h)
{
	struct chunk *c, *n;

	if (!h)
		return;
	/* not the hook: barrier_noop must not free metadata under the worker */
	s2h_defer_wait();
	s2h_defer_instance_put();
	for (c = h->chunks; c; c = n) {
		n = c->next;
		free(c->meta);
		free(c);
	}
	s2h_stats_release(h);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

void s2_hosted_set_observer(struct s2_hosted *h, s2_hosted_observer fn, void *arg)
{
	if (!h)
		return;
	h->obs = fn;
	h->obs_arg = arg;
}
