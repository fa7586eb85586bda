/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The hosted platform's allocator: table pages from per-instance chunks
 * (internal.h says why chunks), their reference counts, root tables
 * (alloc_pages_exact) and small objects (zalloc).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

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

void *s2h_alloc_page(void *ctx, unsigned page_shift)
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

void s2h_free_page(void *ctx, void *va, unsigned page_shift)
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

void *s2h_alloc_pages_exact(void *ctx, size_t size)
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

void s2h_free_pages_exact(void *ctx, void *va, size_t size)
{
	(void)size;
	STAT_ADD((struct s2_hosted *)ctx, exact_free, 1);
	free(va);
}

int s2h_page_ref_add(void *ctx, void *va, int delta)
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

void *s2h_zalloc(void *ctx, size_t size)
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

void s2h_free(void *ctx, void *p, size_t size)
{
	(void)size;
	if (p)
		STAT_ADD((struct s2_hosted *)ctx, objects_free, 1);
	free(p);
}

void s2h_alloc_release(struct s2_hosted *h)
{
	struct chunk *c, *n;

	for (c = h->chunks; c; c = n) {
		n = c->next;
		free(c->meta);
		free(c);
	}
}
