/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The hosted platform as the library sees it: the hook table
 * (s2_hosted_platform), the instance passed with it as the context
 * (s2_hosted_new, s2_hosted_free), and the hooks that only translate,
 * count or observe: TLB and cache maintenance, virt/phys, yield.
 */
#include <sched.h>
#include <stdlib.h>

#include "internal.h"

static s2_hpa_t h_virt_to_phys(void *ctx, void *va)
{
	(void)ctx;
	return s2_hpa((uint64_t)(uintptr_t)va);
}

static void *h_phys_to_virt(void *ctx, s2_hpa_t pa)
{
	(void)ctx;
	return (void *)(uintptr_t)pa.v;
}

static void observe(struct s2_hosted *h, enum s2_hosted_event ev, uint64_t a,
		    uint64_t size, int level)
{
	if (h->obs)
		h->obs(h->obs_arg, ev, a, size, level);
}

static void h_tlbi_ipa(void *ctx, s2_gpa_t gpa, int level, unsigned flags)
{
	uint64_t ipa = gpa.v;
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

static void h_tlbi_range(void *ctx, s2_gpa_t gpa, uint64_t size, int level)
{
	uint64_t ipa = gpa.v;
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

static void h_dcache(void *ctx, s2_hpa_t hpa, uint64_t size)
{
	uint64_t pa = hpa.v;
	struct s2_hosted *h = ctx;

	observe(h, S2_EV_DCACHE, pa, size, -1);
	STAT_ADD(h, dcache_ops, 1);
}

static void h_icache(void *ctx, s2_hpa_t hpa, uint64_t size)
{
	uint64_t pa = hpa.v;
	struct s2_hosted *h = ctx;

	observe(h, S2_EV_ICACHE, pa, size, -1);
	STAT_ADD(h, icache_ops, 1);
}

static void h_yield(void *ctx)
{
	(void)ctx;
	sched_yield();
}

static const struct s2_platform hosted_ops = {
	.alloc_page = s2h_alloc_page,
	.free_page = s2h_free_page,
	.alloc_pages_exact = s2h_alloc_pages_exact,
	.free_pages_exact = s2h_free_pages_exact,
	.page_ref_add = s2h_page_ref_add,
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
	.zalloc = s2h_zalloc,
	.free = s2h_free,
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
	if (!h)
		return;
	/* not the hook: barrier_noop must not free metadata under the worker */
	s2h_defer_wait();
	s2h_defer_instance_put();
	s2h_alloc_release(h);
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
