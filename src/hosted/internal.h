/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * What the files of the hosted platform share: the instance that every
 * hook gets as its context, the page metadata that the allocator keeps
 * and the deferred free queues through, the counters' fast path, the
 * fault switch, and the hooks that platform.c puts in the hook table.
 *
 * Internal to src/hosted.  What the linker sees of it (a function or a
 * variable of one file that another uses) is named s2h_, apart from the
 * public s2_hosted_ API of include/s2mmu/hosted.h, and is S2H_INTERNAL.
 */
#ifndef S2_HOSTED_INTERNAL_H
#define S2_HOSTED_INTERNAL_H

#include <pthread.h>
#include <stddef.h>

#include <s2mmu/hosted.h>

/* Hidden: libs2mmu.so exports the public API and none of this, as when it
 * was all static in one file. */
#define S2H_INTERNAL	__attribute__((visibility("hidden")))
/*
 * For the thread-local variables that the counters' inline fast path
 * reads.  Static, they shared one __tls_get_addr call per function in a
 * position-independent object; GCC gives a hidden variable of another file
 * one call per variable unless told the local-dynamic model.  Linked into
 * an executable, either becomes a plain offset from the thread pointer.
 */
#define S2H_TLS		__attribute__((tls_model("local-dynamic")))

/*
 * Fault injection (inject.c lists the faults): FAULT(name) is true when
 * the fault build runs with S2_HOSTED_FAULT=name, and the constant 0 in
 * every other build.
 */
#ifdef S2_HOSTED_FAULT
enum { HF_NONE, HF_READ_NOWAIT, HF_READ_EXCL, HF_WRITE_NOREADERS,
       HF_WRITE_NOMUTEX, HF_RCU_NOLOCK, HF_SYNC_NOOP, HF_DEFER_NOW,
       HF_BARRIER_NOOP, HF_REF_NONATOMIC, HF_NR };

S2H_INTERNAL int s2h_fault(void);
#define FAULT(name)	(s2h_fault() == HF_##name)
#else
#define FAULT(name)	0
#endif

/*
 * Table pages come from 4 MiB chunks aligned to their size, so the
 * metadata of any page (its reference count, and the RCU head of a pending
 * deferred free) is found from its address with two loads, no lookup
 * structure and no lock: the same job struct page does in a kernel.
 */
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
	struct page_meta *defer_next;	/* the deferred-free queue */
};

struct chunk {
	unsigned page_shift;
	struct chunk *next;
	struct page_meta *meta;
};

/* Inline: the allocator's page hooks and defer_free all start here. */
static inline struct page_meta *meta_of(void *va)
{
	struct chunk *c = (struct chunk *)((uintptr_t)va & ~(CHUNK_SIZE - 1));

	return &c->meta[((uintptr_t)va - (uintptr_t)c) >> c->page_shift];
}

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

/* The instance the calling thread counted on last, and its shard there. */
S2H_INTERNAL S2H_TLS extern __thread uint64_t s2h_tl_id;
S2H_INTERNAL S2H_TLS extern __thread struct shard *s2h_tl_shard;

/* A thread's first count on @h: a shard of its own, made the current one. */
S2H_INTERNAL __attribute__((cold)) struct shard *s2h_shard_new(struct s2_hosted *h);

/* Inline: every hook that counts starts here, most on per-page paths. */
static inline struct shard *my_shard(struct s2_hosted *h)
{
	if (s2_likely(s2h_tl_id == h->id))
		return s2h_tl_shard;
	return s2h_shard_new(h);
}

#define STAT_IDX(f) (offsetof(struct s2_hosted_stats, f) / sizeof(uint64_t))
/* Only the owning thread writes a shard; readers sum them relaxed. */
static inline void shard_add(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

#define STAT_ADD(h, f, n) shard_add(&my_shard(h)->c[STAT_IDX(f)], (n))

/* A new instance's id, which tells my_shard whose shard it holds. */
S2H_INTERNAL void s2h_stats_init(struct s2_hosted *h);
/* The instance's shards freed, and this thread's pointer to one of them
 * forgotten. */
S2H_INTERNAL void s2h_stats_release(struct s2_hosted *h);

/* Does this allocation fail (s2_hosted_fail_alloc, inject.c)?  Every
 * allocating hook asks first, without h->lock held. */
S2H_INTERNAL bool s2h_fail_now(struct s2_hosted *h);

/* The allocator (alloc.c): its hooks. */
S2H_INTERNAL void *s2h_alloc_page(void *ctx, unsigned page_shift);
S2H_INTERNAL void s2h_free_page(void *ctx, void *va, unsigned page_shift);
S2H_INTERNAL void *s2h_alloc_pages_exact(void *ctx, size_t size);
S2H_INTERNAL void s2h_free_pages_exact(void *ctx, void *va, size_t size);
S2H_INTERNAL int s2h_page_ref_add(void *ctx, void *va, int delta);
S2H_INTERNAL void *s2h_zalloc(void *ctx, size_t size);
S2H_INTERNAL void s2h_free(void *ctx, void *p, size_t size);
/* The instance's chunks freed, and with them every page they hold. */
S2H_INTERNAL void s2h_alloc_release(struct s2_hosted *h);

/* The big-reader lock (brlock.c): its hooks. */
S2H_INTERNAL void *s2h_rwlock_new(void *ctx);
S2H_INTERNAL void s2h_rwlock_free(void *ctx, void *lock);
S2H_INTERNAL void s2h_read_lock(void *lock);
S2H_INTERNAL void s2h_read_unlock(void *lock);
S2H_INTERNAL void s2h_write_lock(void *lock);
S2H_INTERNAL void s2h_write_unlock(void *lock);

/* RCU (rcu.c): the hooks, and what the deferred free needs of it. */
S2H_INTERNAL void s2h_rcu_read_lock(void *ctx);
S2H_INTERNAL void s2h_rcu_read_unlock(void *ctx);
S2H_INTERNAL void s2h_synchronize_rcu(void *ctx);
/* A grace period: the synchronize_rcu hook without its fault switch, so
 * that sync_noop breaks the hook alone. */
S2H_INTERNAL void s2h_rcu_synchronize(void);
/* Dies unless the calling thread is outside every read section: a grace
 * period waited for inside one would never end. */
S2H_INTERNAL void s2h_rcu_assert_outside(void);
/* Says why on stderr and aborts: the hooks that need it return nothing,
 * so they have no way to report a failure. */
S2H_INTERNAL void s2h_rcu_die(const char *why);

/* The deferred free (defer.c): its hooks, and an instance's part in it. */
S2H_INTERNAL void s2h_defer_free(void *ctx, void *va, int level, s2_deferred_fn fn, void *owner);
S2H_INTERNAL void s2h_defer_barrier(void *ctx);
/* Returns once every callback queued so far has run: the defer_barrier
 * hook without its fault switch. */
S2H_INTERNAL void s2h_defer_wait(void);
/* The worker lingers while an instance exists: each counts itself in and out. */
S2H_INTERNAL void s2h_defer_instance_get(void);
S2H_INTERNAL void s2h_defer_instance_put(void);

#endif
