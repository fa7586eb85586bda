/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Hosted platform for Linux user space.
 *
 * Table pages come from 4 MiB chunks aligned to their size, so the
 * metadata of any page (its reference count, and the RCU head of a pending
 * deferred free) is found from its address with two loads, no lookup
 * structure and no lock: the same job struct page does in a kernel.
 */
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/urcu-memb.h>

#include <s2mmu/hosted.h>

/*
 * Fault injection, for tests/hosted_stress.c only (docs/reliability.md).
 * Compiled solely into the separate object mk/hosted-fault.mk builds with
 * -DS2_HOSTED_FAULT; in the library FAULT() is the constant 0 and every
 * fenced branch below vanishes.  S2_HOSTED_FAULT=<name> in the environment
 * breaks one primitive of this file:
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
#include <stdio.h>

enum { HF_NONE, HF_READ_NOWAIT, HF_READ_EXCL, HF_WRITE_NOREADERS,
       HF_WRITE_NOMUTEX, HF_RCU_NOLOCK, HF_SYNC_NOOP, HF_DEFER_NOW,
       HF_BARRIER_NOOP, HF_REF_NONATOMIC, HF_NR };

static int hosted_fault(void)
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
#define FAULT(name)	(hosted_fault() == HF_##name)
#else
#define FAULT(name)	0
#endif
/* ------------------------------------------------- end of fault injection */

#define CHUNK_SHIFT	22
#define CHUNK_SIZE	(1UL << CHUNK_SHIFT)
#define NR_SHIFTS	3	/* 12, 14, 16 */

struct page_meta {
	int ref;
	int level;
	s2_deferred_fn fn;
	void *owner;
	void *va;
	struct s2_hosted *h;
	struct rcu_head rcu;
};

struct chunk {
	unsigned page_shift;
	struct chunk *next;
	struct page_meta *meta;
};

/*
 * Event counters are per thread: a locked add per TLB invalidation would
 * cost more than the page-table update it counts (each is a full barrier
 * on x86).  Each thread owns one shard per instance and is its only
 * writer; readers sum the shards.
 */
#define NR_COUNTERS (sizeof(struct s2_hosted_stats) / sizeof(uint64_t))

struct shard {
	struct shard *next;
	uint64_t c[NR_COUNTERS];
};

struct s2_hosted {
	pthread_mutex_t lock;
	uint64_t id;		/* never reused, unlike the address */
	void *free_list[NR_SHIFTS];
	struct chunk *chunks;
	struct shard *shards;
	uint64_t pages_live, pages_peak;	/* under lock */
	s2_hosted_observer obs;
	void *obs_arg;
	unsigned long fail_nth;
	bool fail_sticky;
};

static uint64_t next_id = 1;
static __thread uint64_t tl_id;
static __thread struct shard *tl_shard;

static struct shard *my_shard(struct s2_hosted *h)
{
	struct shard *sh;

	if (s2_likely(tl_id == h->id))
		return tl_shard;
	sh = calloc(1, sizeof(*sh));
	if (!sh)
		abort();	/* counters are part of the platform contract */
	pthread_mutex_lock(&h->lock);
	sh->next = h->shards;
	h->shards = sh;
	pthread_mutex_unlock(&h->lock);
	tl_id = h->id;
	tl_shard = sh;
	return sh;
}

#define STAT_IDX(f) (offsetof(struct s2_hosted_stats, f) / sizeof(uint64_t))
/* Only the owning thread writes a shard; readers sum them relaxed. */
static inline void shard_add(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

#define STAT_ADD(h, f, n) shard_add(&my_shard(h)->c[STAT_IDX(f)], (n))

/* ------------------------------------------------------------------ RCU */

/*
 * ThreadSanitizer sees no happens-before in liburcu: the library is not
 * instrumented, the memb flavour orders readers with membarrier(2) rather
 * than with fences TSan could model, and callbacks travel to the call_rcu
 * thread through a lock-free queue inside the library.  Without help every
 * page freed after a grace period is reported as racing with the reads of
 * the walkers that the grace period waited for.  So, under TSan only, the
 * hooks state the guarantees RCU gives, as release/acquire pairs:
 *  - a read section's end releases rcu_gp_sync, and a grace period's end
 *    (synchronize_rcu returning, a callback starting) acquires it: every
 *    reader that has finished is ordered before what follows the grace
 *    period.  These are edges RCU guarantees, plus one it does not
 *    promise: a reader that *started*
 *    after call_rcu also gets an edge.  Such a reader cannot have reached
 *    the unlinked page unless the unlink itself is wrong, which the
 *    engine's tests and the checker cover.  Nothing else is hidden: our
 *    own accesses outside read sections stay fully checked.
 *  - call_rcu publishes the page's metadata to the callback thread (an
 *    edge through the page's metadata address).
 *  - a callback's end releases rcu_barrier_sync, and rcu_barrier
 *    returning acquires it.
 */
#if defined(__SANITIZE_THREAD__)
#define S2_HOSTED_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define S2_HOSTED_TSAN 1
#endif
#endif

#ifdef S2_HOSTED_TSAN
#include <sanitizer/tsan_interface.h>
#define tsan_release(a)	__tsan_release(a)
#define tsan_acquire(a)	__tsan_acquire(a)
#else
#define tsan_release(a)	((void)(a))
#define tsan_acquire(a)	((void)(a))
#endif
/* Only their addresses matter: TSan's synchronisation objects. */
static char rcu_gp_sync, rcu_barrier_sync;

static pthread_key_t rcu_key;
static pthread_once_t rcu_once = PTHREAD_ONCE_INIT;
static __thread bool rcu_online;

static void rcu_thread_exit(void *unused)
{
	(void)unused;
	if (rcu_online) {
		urcu_memb_unregister_thread();
		rcu_online = false;
	}
}

static void rcu_key_init(void)
{
	pthread_key_create(&rcu_key, rcu_thread_exit);
}

void s2_hosted_thread_online(void)
{
	if (rcu_online)
		return;
	pthread_once(&rcu_once, rcu_key_init);
	urcu_memb_register_thread();
	rcu_online = true;
	/* any non-NULL value makes the destructor run at thread exit */
	pthread_setspecific(rcu_key, (void *)1);
}

void s2_hosted_thread_offline(void)
{
	rcu_thread_exit(NULL);
}

/* ------------------------------------------------------------ allocator */

static unsigned shift_idx(unsigned page_shift)
{
	return (page_shift - 12) / 2;
}

static struct page_meta *meta_of(void *va)
{
	struct chunk *c = (struct chunk *)((uintptr_t)va & ~(CHUNK_SIZE - 1));

	return &c->meta[((uintptr_t)va - (uintptr_t)c) >> c->page_shift];
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

/*
 * Is this allocation the one to fail (s2_hosted_fail_alloc)?  Called
 * without h->lock: the counter may need it (a thread's first count
 * allocates the thread's shard under h->lock, which deadlocked when the
 * first thing a thread counted was an injected failure).
 */
static bool fail_now(struct s2_hosted *h)
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

static void *h_alloc_page(void *ctx, unsigned page_shift)
{
	struct s2_hosted *h = ctx;
	unsigned si = shift_idx(page_shift);
	void *p;

	if (fail_now(h))
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

	if (fail_now(h))
		return NULL;
	if (posix_memalign(&p, size < 4096 ? 4096 : size, size))
		return NULL;
	memset(p, 0, size);
	return p;
}

static void h_free_pages_exact(void *ctx, void *va, size_t size)
{
	(void)ctx;
	(void)size;
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

/* --------------------------------------------------------- deferred free */

static void h_rcu_cb(struct rcu_head *head)
{
	struct page_meta *m = caa_container_of(head, struct page_meta, rcu);
	struct s2_hosted *h;

	tsan_acquire(m);
	tsan_acquire(&rcu_gp_sync);
	h = m->h;
	m->fn(m->owner, m->va, m->level);
	STAT_ADD(h, deferred_done, 1);
	tsan_release(&rcu_barrier_sync);
}

static void h_defer_free(void *ctx, void *va, int level, s2_deferred_fn fn, void *owner)
{
	struct s2_hosted *h = ctx;
	struct page_meta *m = meta_of(va);

	if (FAULT(DEFER_NOW)) {		/* fault injection: no grace period */
		fn(owner, va, level);
		return;
	}
	s2_hosted_thread_online();
	m->fn = fn;
	m->owner = owner;
	m->va = va;
	m->level = level;
	m->h = h;
	STAT_ADD(h, deferred, 1);
	tsan_release(m);
	urcu_memb_call_rcu(&m->rcu, h_rcu_cb);
}

static void h_defer_barrier(void *ctx)
{
	(void)ctx;
	if (FAULT(BARRIER_NOOP))	/* fault injection */
		return;
	s2_hosted_thread_online();
	urcu_memb_barrier();
	tsan_acquire(&rcu_barrier_sync);
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

	if (fail_now(h))
		return NULL;
	return calloc(1, size);
}

static void h_free(void *ctx, void *p, size_t size)
{
	(void)ctx;
	(void)size;
	free(p);
}

static void h_yield(void *ctx)
{
	(void)ctx;
	sched_yield();
}

/* ---------------------------------------------------------------- locks */

/*
 * mmu_lock is taken for read by every fault and for write by notifiers.
 * A single reader count (pthread_rwlock) puts one cache line that every
 * faulting CPU writes on the fault path; here each thread counts itself
 * in a slot of its own ("big reader" lock), so parallel faults touch
 * disjoint lines and only writers visit them all.  Writers first raise
 * a flag that holds new readers back, so a stream of faults cannot
 * starve a notifier.
 */
#define BR_SLOTS 32

struct brlock {
	struct {
		long readers;
		char pad[64 - sizeof(long)];
	} slot[BR_SLOTS];
	int writer;
	pthread_mutex_t wmutex;		/* writers among themselves */
};

static unsigned br_next;
static __thread unsigned br_slot_plus1;

static unsigned br_my_slot(void)
{
	if (!br_slot_plus1)
		br_slot_plus1 = 1 + __atomic_fetch_add(&br_next, 1, __ATOMIC_RELAXED) % BR_SLOTS;
	return br_slot_plus1 - 1;
}

static void *h_rwlock_new(void *ctx)
{
	struct brlock *l;

	/* an allocation like the others: failure injection covers it */
	if (fail_now(ctx))
		return NULL;
	if (posix_memalign((void **)&l, 64, sizeof(*l)))
		return NULL;
	memset(l, 0, sizeof(*l));
	pthread_mutex_init(&l->wmutex, NULL);
	return l;
}

static void h_rwlock_free(void *ctx, void *lock)
{
	struct brlock *l = lock;

	(void)ctx;
	pthread_mutex_destroy(&l->wmutex);
	free(l);
}

static void h_read_lock(void *lock)
{
	struct brlock *l = lock;
	long *r = &l->slot[br_my_slot()].readers;

	if (FAULT(READ_EXCL))		/* fault injection: one reader at a time */
		pthread_mutex_lock(&l->wmutex);
	for (;;) {
		/* Count ourselves, then look for a writer: with both sides
		 * sequentially consistent, either the writer sees our count
		 * or we see its flag. */
		__atomic_fetch_add(r, 1, __ATOMIC_SEQ_CST);
		if (FAULT(READ_NOWAIT))	/* fault injection: ignore the writer */
			return;
		if (!__atomic_load_n(&l->writer, __ATOMIC_SEQ_CST))
			return;
		__atomic_fetch_sub(r, 1, __ATOMIC_RELEASE);
		while (__atomic_load_n(&l->writer, __ATOMIC_ACQUIRE))
			sched_yield();
	}
}

static void h_read_unlock(void *lock)
{
	struct brlock *l = lock;

	__atomic_fetch_sub(&l->slot[br_my_slot()].readers, 1, __ATOMIC_RELEASE);
	if (FAULT(READ_EXCL))		/* fault injection */
		pthread_mutex_unlock(&l->wmutex);
}

static void h_write_lock(void *lock)
{
	struct brlock *l = lock;
	unsigned i;

	if (!FAULT(WRITE_NOMUTEX))	/* fault injection: writers overlap */
		pthread_mutex_lock(&l->wmutex);
	__atomic_store_n(&l->writer, 1, __ATOMIC_SEQ_CST);
	if (FAULT(WRITE_NOREADERS))	/* fault injection: readers stay in */
		return;
	for (i = 0; i < BR_SLOTS; i++)
		while (__atomic_load_n(&l->slot[i].readers, __ATOMIC_SEQ_CST))
			sched_yield();
}

static void h_write_unlock(void *lock)
{
	struct brlock *l = lock;

	__atomic_store_n(&l->writer, 0, __ATOMIC_RELEASE);
	if (!FAULT(WRITE_NOMUTEX))	/* fault injection */
		pthread_mutex_unlock(&l->wmutex);
}

static void h_rcu_read_lock(void *ctx)
{
	(void)ctx;
	s2_hosted_thread_online();
	if (FAULT(RCU_NOLOCK))		/* fault injection: not a reader */
		return;
	urcu_memb_read_lock();
}

static void h_rcu_read_unlock(void *ctx)
{
	(void)ctx;
	tsan_release(&rcu_gp_sync);
	if (FAULT(RCU_NOLOCK))		/* fault injection */
		return;
	urcu_memb_read_unlock();
}

static void h_synchronize_rcu(void *ctx)
{
	(void)ctx;
	if (FAULT(SYNC_NOOP))		/* fault injection: no grace period */
		return;
	urcu_memb_synchronize_rcu();
	tsan_acquire(&rcu_gp_sync);
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
	.defer_free = h_defer_free,
	.defer_barrier = h_defer_barrier,
	.tlbi_ipa = h_tlbi_ipa,
	.tlbi_range = h_tlbi_range,
	.tlbi_vm = h_tlbi_vm,
	.dcache_clean_inval_poc = h_dcache,
	.icache_inval_pou = h_icache,
	.zalloc = h_zalloc,
	.free = h_free,
	.yield = h_yield,
	.rwlock_new = h_rwlock_new,
	.rwlock_free = h_rwlock_free,
	.read_lock = h_read_lock,
	.read_unlock = h_read_unlock,
	.write_lock = h_write_lock,
	.write_unlock = h_write_unlock,
	.rcu_read_lock = h_rcu_read_lock,
	.rcu_read_unlock = h_rcu_read_unlock,
	.synchronize_rcu = h_synchronize_rcu,
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
	pthread_mutex_init(&h->lock, NULL);
	h->id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);
	return h;
}

void s2_hosted_free(struct s2_hosted *h)
{
	struct chunk *c, *n;

	if (!h)
		return;
	h_defer_barrier(h);
	for (c = h->chunks; c; c = n) {
		n = c->next;
		free(c->meta);
		free(c);
	}
	while (h->shards) {
		struct shard *sh = h->shards;

		h->shards = sh->next;
		free(sh);
	}
	if (tl_id == h->id)
		tl_id = 0;
	pthread_mutex_destroy(&h->lock);
	free(h);
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

void s2_hosted_set_observer(struct s2_hosted *h, s2_hosted_observer fn, void *arg)
{
	if (!h)
		return;
	h->obs = fn;
	h->obs_arg = arg;
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
