/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Physical memory: frames, folios, the page allocator and swap.
 *
 * A folio is a naturally aligned block of 2^order frames (0, or the PMD
 * or PUD order: 9 = 2M and 18 = 1G with 4K pages) whose reference count
 * lives on its head frame, as Linux's folio refcount lives on the head
 * page.  Each frame keeps its own PTE mapcount;
 * PMD/PUD mappings count in the head's entire_mapcount.
 *
 * Free lists are LIFO per order and never coalesce on free: the frame freed
 * last is handed out first, so a stale user of a freed frame sees the next
 * owner's data, the failure the generation counter is there to expose.
 * A huge allocation that finds no free block splits a larger one, and as a
 * last resort scans for a fully free aligned run (a tiny model of
 * compaction); failure is reported, as THP allocation fails in reality.
 */
#include <stdio.h>
#include <stdlib.h>
#include "sim/host/host_internal.h"

#define NIL UINT64_MAX

unsigned host_page_shift = 12;
/* host_phys objects alive: the page size is theirs while any exists. */
static _Atomic long phys_alive;

int host_set_page_shift(unsigned shift)
{
	if (shift != 12 && shift != 14 && shift != 16)
		return -EINVAL;
	if (phys_alive && shift != host_page_shift)
		return -EBUSY;
	host_page_shift = shift;
	return 0;
}

static unsigned order_of_idx(int i)
{
	return i == 2 ? PUD_ORDER : i == 1 ? PMD_ORDER : 0;
}

static int order_idx(unsigned order)
{
	return order == PUD_ORDER ? 2 : order == PMD_ORDER ? 1 : 0;
}

struct host_frame *phys_frame(struct host_phys *phys, uint64_t pfn)
{
	return &phys->f[pfn];
}

bool frame_is_io(struct host_phys *phys, uint64_t pfn)
{
	return pfn >= phys->nr_frames && pfn < phys->nr_frames + phys->nr_io;
}

bool host_pfn_valid(const struct host_phys *phys, uint64_t pfn)
{
	return pfn < phys->nr_frames + phys->nr_io;
}

bool host_pfn_is_io(const struct host_phys *phys, uint64_t pfn)
{
	return pfn >= phys->nr_frames && pfn < phys->nr_frames + phys->nr_io;
}

uint64_t host_phys_nr_frames(const struct host_phys *phys) { return phys->nr_frames; }
uint64_t host_phys_nr_free(struct host_phys *phys) { return hsync_load64(&phys->nr_free); }

/* Free-list primitives; caller holds phys->lock. */
static void fl_push(struct host_phys *phys, int oi, uint64_t pfn)
{
	struct host_frame *f = &phys->f[pfn];

	f->prev = NIL;
	f->next = phys->free_head[oi];
	if (f->next != NIL)
		phys->f[f->next].prev = pfn;
	phys->free_head[oi] = pfn;
}

static void fl_remove(struct host_phys *phys, int oi, uint64_t pfn)
{
	struct host_frame *f = &phys->f[pfn];

	if (f->prev != NIL)
		phys->f[f->prev].next = f->next;
	else
		phys->free_head[oi] = f->next;
	if (f->next != NIL)
		phys->f[f->next].prev = f->prev;
	f->prev = f->next = NIL;
}

/* Mark [pfn, pfn + 2^order) as one free block; caller holds the lock. */
static void mark_free_block(struct host_phys *phys, uint64_t pfn, unsigned order)
{
	uint64_t n = 1ULL << order;

	for (uint64_t i = 0; i < n; i++) {
		struct host_frame *f = &phys->f[pfn + i];

		/* Relaxed atomics: frame_try_get reads head of a frame it
		 * holds no reference to (it may be free or being reused, as
		 * folio_try_get's caller may pass any page), and decides only
		 * after its reference is in and head is read again. */
		__atomic_store_n(&f->state, (uint8_t)FR_FREE, __ATOMIC_RELAXED);
		__atomic_store_n(&f->order, (uint8_t)order, __ATOMIC_RELAXED);
		__atomic_store_n(&f->head, pfn, __ATOMIC_RELAXED);
	}
}

struct host_phys *host_phys_create(uint64_t nr_frames, uint64_t nr_io_frames)
{
	struct host_phys *phys;

	if (!nr_frames || nr_frames % PTRS_PER_TABLE)
		return NULL;
	phys = calloc(1, sizeof(*phys));
	if (!phys)
		return NULL;
	phys->f = calloc(nr_frames + nr_io_frames, sizeof(*phys->f));
	if (!phys->f) {
		free(phys);
		return NULL;
	}
	phys->nr_frames = nr_frames;
	phys->nr_io = nr_io_frames;
	hsync_mutex_init(&phys->lock);
	hsync_mutex_init(&phys->swap.lock);
	for (int i = 0; i < NR_ORDERS; i++)
		phys->free_head[i] = NIL;
	for (uint64_t i = 0; i < nr_frames + nr_io_frames; i++)
		phys->f[i].prev = phys->f[i].next = NIL;
	/* Largest aligned blocks, highest address pushed first so the lowest
	 * pops first (deterministic, readable traces). */
	for (uint64_t pfn = nr_frames; pfn > 0;) {
		unsigned order = PMD_ORDER;

		if (pfn >= (1ULL << PUD_ORDER) && !(pfn % (1ULL << PUD_ORDER)))
			order = PUD_ORDER;
		pfn -= 1ULL << order;
		mark_free_block(phys, pfn, order);
		fl_push(phys, order_idx(order), pfn);
	}
	for (uint64_t i = nr_frames; i < nr_frames + nr_io_frames; i++) {
		phys->f[i].state = FR_HEAD;
		phys->f[i].head = i;
	}
	hsync_store64(&phys->nr_free, nr_frames);
	phys_alive++;
	return phys;
}

void host_phys_destroy(struct host_phys *phys)
{
	if (!phys)
		return;
	hsync_mutex_destroy(&phys->lock);
	hsync_mutex_destroy(&phys->swap.lock);
	free(phys->swap.content);
	free(phys->swap.count);
	free(phys->f);
	free(phys);
	phys_alive--;
}

/* Last-resort compaction: find an aligned run of 2^order free frames made
 * of smaller free blocks, unlink them.  Caller holds the lock. */
static bool compact_run(struct host_phys *phys, unsigned order, uint64_t *out)
{
	uint64_t n = 1ULL << order;
	int oi = order_idx(order);

	if (phys->compact_failed_at[oi] == phys->frees + 1)
		return false;	/* nothing freed since the last failed scan */
	for (uint64_t base = 0; base + n <= phys->nr_frames; base += n) {
		uint64_t i;

		for (i = 0; i < n; i++)
			if (phys->f[base + i].state != FR_FREE)
				break;
		if (i < n)
			continue;
		for (i = 0; i < n;) {
			struct host_frame *f = &phys->f[base + i];
			uint64_t bs = 1ULL << f->order;

			fl_remove(phys, order_idx(f->order), f->head);
			i += bs;
		}
		*out = base;
		return true;
	}
	phys->compact_failed_at[oi] = phys->frees + 1;
	return false;
}

/* Take a free block of exactly @order; caller holds the lock. */
static bool take_block(struct host_phys *phys, unsigned order, uint64_t *out)
{
	int oi = order_idx(order);
	uint64_t pfn = phys->free_head[oi];

	if (pfn != NIL) {
		fl_remove(phys, oi, pfn);
		*out = pfn;
		return true;
	}
	if (oi + 1 < NR_ORDERS) {
		unsigned big = order_of_idx(oi + 1);
		uint64_t b;

		if (take_block(phys, big, &b)) {
			uint64_t step = 1ULL << order;

			/* Split: keep the first piece, free the rest
			 * highest-first so the lowest is reused first. */
			for (uint64_t p = b + (1ULL << big); p > b + step;) {
				p -= step;
				mark_free_block(phys, p, order);
				fl_push(phys, oi, p);
			}
			*out = b;
			return true;
		}
	}
	return order > 0 && compact_run(phys, order, out);
}

int phys_alloc(struct host_phys *phys, unsigned order, struct host_mm *owner,
	       uint64_t hva, uint64_t *pfn_out)
{
	uint64_t n = 1ULL << order, pfn;

	hsync_mutex_lock(&phys->lock);
	if (hsync_load64(&phys->nr_free) < n || !take_block(phys, order, &pfn)) {
		hsync_mutex_unlock(&phys->lock);
		return -ENOMEM;
	}
	for (uint64_t i = 0; i < n; i++) {
		struct host_frame *f = &phys->f[pfn + i];

		__atomic_store_n(&f->state, (uint8_t)(i ? FR_TAIL : FR_HEAD), __ATOMIC_RELAXED);
		__atomic_store_n(&f->order, (uint8_t)order, __ATOMIC_RELAXED);
		__atomic_store_n(&f->head, pfn, __ATOMIC_RELAXED);
		hsync_storei(&f->mapcount, 0);
		hsync_storei(&f->flags, 0);
		/* clear_page(): anonymous memory is zero-filled on fault. */
		hsync_store64(&f->content, 0);
		hsync_storep(&f->owner_mm, owner);
		hsync_store64(&f->owner_hva, hva + i * HOST_PAGE_SIZE);
	}
	hsync_storei(&phys->f[pfn].entire_mapcount, 0);
	hsync_storei(&phys->f[pfn].refcount, 1);
	hsync_add64(&phys->nr_free, (uint64_t)-n);
	hsync_mutex_unlock(&phys->lock);
	*pfn_out = pfn;
	return 0;
}

/* __free_pages: the generation bump is what lets a checker tell that a
 * stale translation points at a frame that has since been freed. */
static void phys_free(struct host_phys *phys, uint64_t head)
{
	unsigned order = phys->f[head].order;
	uint64_t n = 1ULL << order;

	hsync_mutex_lock(&phys->lock);
	for (uint64_t i = 0; i < n; i++) {
		struct host_frame *f = &phys->f[head + i];

		hsync_add64(&f->gen, 1);
		hsync_storep(&f->owner_mm, NULL);
		hsync_storei(&f->flags, 0);
	}
	mark_free_block(phys, head, order);
	fl_push(phys, order_idx(order), head);
	phys->frees++;
	hsync_add64(&phys->nr_free, n);
	hsync_mutex_unlock(&phys->lock);
}

uint64_t phys_head(struct host_phys *phys, uint64_t pfn)
{
	return __atomic_load_n(&phys->f[pfn].head, __ATOMIC_RELAXED);
}

/*
 * put_page on the folio headed by @head; the last reference frees it.
 * The FREE goes to @mm's tracer (NULL: untraced) after the count reached
 * zero and before phys_free hands the folio back to the allocator.  That
 * is the instant Linux calls freeing: whatever must hold for the freed
 * data (cleaned to PoC on a non-FWB platform, I8) must hold then.  Once
 * the folio is on a free list another thread can allocate it, map it and
 * write it, and a tracer running after that would judge the next owner's
 * state as this free's.  With the count at zero no try-get succeeds and
 * no allocator sees the folio, so the tracer sees the freed folio alone.
 */
static void frame_put_head(struct host_phys *phys, uint64_t head, struct host_mm *mm)
{
	int r = hsync_addi(&phys->f[head].refcount, -1);

	if (r < 0) {
		fprintf(stderr, "host model: refcount underflow on pfn %#llx\n",
			(unsigned long long)head);
		abort();
	}
	if (r == 0) {
		if (mm) {
			struct host_trace_ev ev = {
				.kind = HOST_TR_FREE, .pfn = head,
				.order = __atomic_load_n(&phys->f[head].order, __ATOMIC_RELAXED),
			};

			trace_ev(mm, &ev);
		}
		phys_free(phys, head);
	}
}

/*
 * folio_try_get: a reference on the folio that holds @pfn unless its count
 * is zero (free, or its last reference being dropped).  The increment is
 * a compare-and-exchange from a non-zero count, never a plain add, so a
 * folio on its way to the allocator is never revived.  The folio may have
 * been freed and reallocated between the read of head and the increment;
 * head is read again once the reference is held (the folio can no longer
 * change then), and a reference on a folio that no longer holds @pfn is
 * dropped again, through @mm's tracer since it may be the last.
 */
bool frame_try_get(struct host_mm *mm, uint64_t pfn)
{
	struct host_phys *phys = mm->phys;

	if (pfn >= phys->nr_frames)
		return false;
	for (;;) {
		uint64_t head = phys_head(phys, pfn);
		hsync_int *rc = &phys->f[head].refcount;
		int c = hsync_loadi(rc);

		while (c > 0 && !hsync_cmpxchgi(rc, &c, c + 1))
			;
		if (c <= 0) {
			/* Zero on a folio that no longer holds @pfn says
			 * nothing about the one that does now: look again. */
			if (phys_head(phys, pfn) != head)
				continue;
			return false;
		}
		if (phys_head(phys, pfn) == head)
			return true;
		frame_put_head(phys, head, mm);
	}
}

void host_frame_get(struct host_phys *phys, uint64_t pfn)
{
	if (pfn >= phys->nr_frames)
		return;
	hsync_addi(&phys->f[phys_head(phys, pfn)].refcount, 1);
}

void host_frame_put(struct host_phys *phys, uint64_t pfn)
{
	if (pfn >= phys->nr_frames)
		return;
	frame_put_head(phys, phys_head(phys, pfn), NULL);
}

void host_frame_put_mm(struct host_mm *mm, uint64_t pfn)
{
	struct host_phys *phys = mm->phys;

	if (pfn >= phys->nr_frames)
		return;
	frame_put_head(phys, phys_head(phys, pfn), mm);
}

uint64_t host_frame_read(struct host_phys *phys, uint64_t pfn)
{
	if (!host_pfn_valid(phys, pfn))
		return 0;
	return hsync_load64(&phys->f[pfn].content);
}

void host_frame_write(struct host_phys *phys, uint64_t pfn, uint64_t val)
{
	if (!host_pfn_valid(phys, pfn))
		return;
	hsync_store64(&phys->f[pfn].content, val);
}

uint64_t host_frame_gen(struct host_phys *phys, uint64_t pfn)
{
	if (!host_pfn_valid(phys, pfn))
		return 0;
	return hsync_load64(&phys->f[pfn].gen);
}

int host_frame_query(struct host_phys *phys, uint64_t pfn, struct host_frame_info *fi)
{
	struct host_frame *f, *h;

	if (!host_pfn_valid(phys, pfn))
		return -EINVAL;
	memset(fi, 0, sizeof(*fi));
	f = &phys->f[pfn];
	fi->content = hsync_load64(&f->content);
	fi->gen = hsync_load64(&f->gen);
	if (frame_is_io(phys, pfn)) {
		fi->io = true;
		fi->head = pfn;
		return 0;
	}
	hsync_mutex_lock(&phys->lock);
	fi->free = f->state == FR_FREE;
	fi->order = f->order;
	fi->head = f->head;
	h = &phys->f[f->head];
	if (!fi->free) {
		fi->refcount = hsync_loadi(&h->refcount);
		fi->entire_mapcount = hsync_loadi(&h->entire_mapcount);
		fi->mapcount = hsync_loadi(&f->mapcount);
		fi->ksm = hsync_loadi(&h->flags) & FRF_KSM;
		fi->owner_mm = hsync_loadp(&f->owner_mm);
		fi->owner_hva = hsync_load64(&f->owner_hva);
	}
	hsync_mutex_unlock(&phys->lock);
	return 0;
}

/* ---- swap: a slot keeps the content word of a swapped-out 4K page and a
 * count of swap entries referring to it (swap_map, swap_duplicate on fork). */

int64_t swap_alloc(struct host_phys *phys, uint64_t content)
{
	struct host_swap *s = &phys->swap;
	uint64_t slot;

	hsync_mutex_lock(&s->lock);
	if (s->used == s->cap) {
		uint64_t ncap = s->cap ? s->cap * 2 : 1024;
		uint64_t *nc = realloc(s->content, ncap * sizeof(*nc));
		uint32_t *nn;

		if (!nc) {
			hsync_mutex_unlock(&s->lock);
			return -ENOMEM;
		}
		s->content = nc;
		nn = realloc(s->count, ncap * sizeof(*nn));
		if (!nn) {
			hsync_mutex_unlock(&s->lock);
			return -ENOMEM;
		}
		memset(nn + s->cap, 0, (ncap - s->cap) * sizeof(*nn));
		s->count = nn;
		s->free_hint = s->cap;
		s->cap = ncap;
	}
	for (slot = s->free_hint; s->count[slot]; slot = (slot + 1) % s->cap)
		;
	s->count[slot] = 1;
	s->content[slot] = content;
	s->used++;
	s->free_hint = (slot + 1) % s->cap;
	hsync_mutex_unlock(&s->lock);
	return (int64_t)slot;
}

uint64_t swap_read(struct host_phys *phys, uint64_t slot)
{
	uint64_t v;

	hsync_mutex_lock(&phys->swap.lock);
	v = phys->swap.content[slot];
	hsync_mutex_unlock(&phys->swap.lock);
	return v;
}

void swap_dup(struct host_phys *phys, uint64_t slot)
{
	hsync_mutex_lock(&phys->swap.lock);
	phys->swap.count[slot]++;
	hsync_mutex_unlock(&phys->swap.lock);
}

void swap_free(struct host_phys *phys, uint64_t slot)
{
	hsync_mutex_lock(&phys->swap.lock);
	if (!phys->swap.count[slot])
		abort();
	if (!--phys->swap.count[slot])
		phys->swap.used--;
	hsync_mutex_unlock(&phys->swap.lock);
}

uint32_t swap_count(struct host_phys *phys, uint64_t slot)
{
	uint32_t c;

	hsync_mutex_lock(&phys->swap.lock);
	c = slot < phys->swap.cap ? phys->swap.count[slot] : 0;
	hsync_mutex_unlock(&phys->swap.lock);
	return c;
}

uint64_t host_phys_swap_used(struct host_phys *phys)
{
	uint64_t u;

	hsync_mutex_lock(&phys->swap.lock);
	u = phys->swap.used;
	hsync_mutex_unlock(&phys->swap.lock);
	return u;
}
