/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The hosted platform's counters: the per-thread shards that the hooks
 * count in (internal.h says why shards), and the public calls that sum
 * and reset them.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static uint64_t next_id = 1;
__thread uint64_t s2h_tl_id;
__thread struct shard *s2h_tl_shard;

struct shard *s2h_shard_new(struct s2_hosted *h)
{
	struct shard *sh = calloc(1, sizeof(*sh));

	if (!sh)
		abort();	/* counters are part of the platform contract */
	pthread_mutex_lock(&h->lock);
	sh->next = h->shards;
	h->shards = sh;
	pthread_mutex_unlock(&h->lock);
	s2h_tl_id = h->id;
	s2h_tl_shard = sh;
	return sh;
}

void s2h_stats_init(struct s2_hosted *h)
{
	h->id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);
}

void s2h_stats_release(struct s2_hosted *h)
{
	while (h->shards) {
		struct shard *sh = h->shards;

		h->shards = sh->next;
		free(sh);
	}
	if (s2h_tl_id == h->id)
		s2h_tl_id = 0;
}

void s2_hosted_get_stats(struct s2_hosted *h, struct s2_hosted_stats *out)
{
	uint64_t *dst = (uint64_t *)out;
	struct shard *sh;
	size_t i;

	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	for (sh = h->shards; sh; sh = sh->next)
		for (i = 0; i < NR_COUNTERS; i++)
			dst[i] += __atomic_load_n(&sh->c[i], __ATOMIC_RELAXED);
	out->pages_live = h->pages_live;
	out->pages_peak = h->pages_peak;
	pthread_mutex_unlock(&h->lock);
}

void s2_hosted_reset_counters(struct s2_hosted *h)
{
	static const size_t idx[] = {
		STAT_IDX(tlbi_ipa), STAT_IDX(tlbi_ipa_local), STAT_IDX(tlbi_range),
		STAT_IDX(tlbi_range_bytes), STAT_IDX(tlbi_vm), STAT_IDX(dcache_ops),
		STAT_IDX(icache_ops),
	};
	struct shard *sh;
	size_t i;

	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	for (sh = h->shards; sh; sh = sh->next)
		for (i = 0; i < sizeof(idx) / sizeof(idx[0]); i++)
			__atomic_store_n(&sh->c[idx[i]], 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&h->lock);
}
