// SPDX-License-Identifier: GPL-2.0-only
/*
 * The library's platform hooks (include/s2mmu/platform.h) implemented with
 * Linux primitives, so the same core sources that run hosted and at EL2
 * run inside this module.  The ctx argument of every hook is the
 * module's struct s2k_vm (the TLB hooks need it; the rest ignore it).
 *
 * Sleeping rules the core relies on: alloc_page, zalloc, the sleeping
 * lock, synchronize_rcu, defer_barrier and yield may sleep and are never
 * called by the core with mmu_lock held; everything it calls under
 * mmu_lock (page_ref_add, defer_free, the TLB hooks, rcu_read_lock) only
 * spins or does nothing that blocks.
 */
#include <linux/gfp.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/sched.h>
#include <linux/mm.h>
#include <linux/page_ref.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <s2mmu/platform.h>
#include "s2k.h"

/*
 * Per-table-page metadata for defer_free, allocated together with the
 * page: the hook contract says deferring cannot fail, and a walker may
 * still be reading the page itself, so the pending callback cannot live in
 * the page.  The pointer is kept in page->private, which the kernel leaves
 * to the owner of a page that is in no page cache and on no LRU.
 */
struct s2k_pgmeta {
	struct rcu_head rcu;
	s2_deferred_fn fn;
	void *owner;
	void *va;
	int level;
};

static struct kmem_cache *s2k_meta_cache;

static unsigned int s2k_order(unsigned int page_shift)
{
	/* An arm64 16K or 64K granule is 4 or 16 x86 pages, kept together
	 * and aligned by the buddy allocator's natural alignment. */
	return page_shift > PAGE_SHIFT ? page_shift - PAGE_SHIFT : 0;
}

static void *s2k_alloc_page(void *ctx, unsigned int page_shift)
{
	struct s2k_pgmeta *meta;
	struct page *page;

	meta = kmem_cache_zalloc(s2k_meta_cache, GFP_KERNEL_ACCOUNT);
	if (!meta)
		return NULL;
	page = alloc_pages(GFP_KERNEL_ACCOUNT | __GFP_ZERO, s2k_order(page_shift));
	if (!page) {
		kmem_cache_free(s2k_meta_cache, meta);
		return NULL;
	}
	/* The allocator's reference (count 1) is the engine's "link from the
	 * parent" reference: a fresh table counts as empty. */
	set_page_private(page, (unsigned long)meta);
	return page_address(page);
}

static void s2k_free_page(void *ctx, void *va, unsigned int page_shift)
{
	struct page *page = virt_to_page(va);

	kmem_cache_free(s2k_meta_cache, (void *)page_private(page));
	set_page_private(page, 0);
	/*
	 * The page's count is the engine's table count (1 + valid entries),
	 * not an ownership count: an empty table may have dropped it to 0,
	 * and a subtree freed whole (fast unmap, destroy) still counts its
	 * entries.  Nobody else holds references to a table page, so reset
	 * it to the single reference the buddy allocator drops itself;
	 * otherwise __free_pages would only decrement and leak the page.
	 */
	set_page_count(page, 1);
	__free_pages(page, s2k_order(page_shift));
}

static void *s2k_alloc_pages_exact(void *ctx, size_t size)
{
	/* Power-of-two sizes come back aligned to their size (buddy order). */
	return alloc_pages_exact(size, GFP_KERNEL_ACCOUNT | __GFP_ZERO);
}

static void s2k_free_pages_exact(void *ctx, void *va, size_t size)
{
	free_pages_exact(va, size);
}

static int s2k_page_ref_add(void *ctx, void *va, int delta)
{
	/* One atomic read-modify-write: add and observe the result together,
	 * or two updaters could both see "empty". */
	return page_ref_sub_return(virt_to_page(va), -delta);
}

static s2_hpa_t s2k_virt_to_phys(void *ctx, void *va)
{
	return s2_hpa(__pa(va));
}

static void *s2k_phys_to_virt(void *ctx, s2_hpa_t pa)
{
	return __va(pa.v);
}

static void s2k_deferred_cb(struct rcu_head *head)
{
	struct s2k_pgmeta *meta = container_of(head, struct s2k_pgmeta, rcu);

	/* fn normally frees the page, and with it @meta: read it first. */
	meta->fn(meta->owner, meta->va, meta->level);
}

static void s2k_defer_free(void *ctx, void *va, int level, s2_deferred_fn fn,
			   void *owner)
{
	struct s2k_pgmeta *meta = (void *)page_private(virt_to_page(va));

	meta->fn = fn;
	meta->owner = owner;
	meta->va = va;
	meta->level = level;
	call_rcu(&meta->rcu, s2k_deferred_cb);
}

/*
 * Bytes one leaf at @level covers in the module's format (EPT, 4K
 * granule: 9 bits per level, last level 3), or 0 when @level is -1: a
 * table entry was removed, or the level is unknown, and then the span is
 * not known either.
 */
static u64 s2k_level_span(int level)
{
	if (level < 0 || level > 3)
		return 0;
	return 1ULL << (PAGE_SHIFT + 9 * (3 - level));
}

static void s2k_tlbi_ipa(void *ctx, s2_gpa_t gpa, int level, unsigned int flags)
{
	uint64_t ipa = gpa.v;
	u64 span = s2k_level_span(level);

	/*
	 * The software TLB caches 4K pieces of leaves, so a 2M block lives
	 * in up to 512 entries: invalidate the leaf's whole span.  Without
	 * a level (a table entry went), everything under it may be cached:
	 * drop the VM's TLB (64 entries per vCPU, cheaper than guessing).
	 * S2_TLBI_LOCAL is treated as global, which is always safe.
	 */
	if (!span)
		s2k_tlb_invalidate(ctx, 0, 0);
	else
		s2k_tlb_invalidate(ctx, ipa & ~(span - 1), span);
}

static void s2k_tlbi_range(void *ctx, s2_gpa_t gpa, uint64_t size, int level)
{
	uint64_t ipa = gpa.v;
	u64 span = s2k_level_span(level);

	/* Round out to whole leaves of the hinted level, for the same
	 * reason as above; the engine already covers what it removed. */
	if (span && size) {
		u64 end = ALIGN(ipa + size, span);

		ipa &= ~(span - 1);
		size = end - ipa;
	}
	s2k_tlb_invalidate(ctx, ipa, size ? size : 1);
}

static void s2k_tlbi_vm(void *ctx)
{
	s2k_tlb_invalidate(ctx, 0, 0);
}

/* x86 is cache-coherent for every access path we emulate: nothing to do. */
static void s2k_dcache_clean_inval_poc(void *ctx, s2_hpa_t pa, uint64_t size)
{
}

static void s2k_icache_inval_pou(void *ctx, s2_hpa_t pa, uint64_t size)
{
}

/*
 * Locks.  The core has two: mmu_lock (rwlock_new) and the memslot lock
 * (sleeplock_new).  mmu_lock must spin, because notifiers take it in
 * atomic context (clear_flush_young, for read since issue 17, and
 * change_pte under the host's page-table spinlock, invalidate_range_start
 * from the OOM reaper with blockable false), and the core never sleeps
 * under it.
 * The memslot lock is held across zalloc and synchronize_rcu, so it must
 * sleep.  The lock hooks get only the lock, so each object carries its
 * kind; one predictable branch per acquisition.
 */
struct s2k_lock {
	bool sleeps;
	union {
		rwlock_t rw;			/* mmu_lock */
		struct rw_semaphore sem;	/* memslot lock */
	};
};

static void *s2k_rwlock_new(void *ctx)
{
	struct s2k_lock *l = kzalloc(sizeof(*l), GFP_KERNEL_ACCOUNT);

	if (l)
		rwlock_init(&l->rw);
	return l;
}

static void *s2k_sleeplock_new(void *ctx)
{
	struct s2k_lock *l = kzalloc(sizeof(*l), GFP_KERNEL_ACCOUNT);

	if (l) {
		l->sleeps = true;
		init_rwsem(&l->sem);
	}
	return l;
}

static void s2k_rwlock_free(void *ctx, void *lock)
{
	kfree(lock);
}

static void s2k_read_lock(void *lock)
{
	struct s2k_lock *l = lock;

	if (l->sleeps)
		down_read(&l->sem);
	else
		read_lock(&l->rw);
}

static void s2k_read_unlock(void *lock)
{
	struct s2k_lock *l = lock;

	if (l->sleeps)
		up_read(&l->sem);
	else
		read_unlock(&l->rw);
}

static void s2k_write_lock(void *lock)
{
	struct s2k_lock *l = lock;

	if (l->sleeps)
		down_write(&l->sem);
	else
		write_lock(&l->rw);
}

static void s2k_write_unlock(void *lock)
{
	struct s2k_lock *l = lock;

	if (l->sleeps)
		up_write(&l->sem);
	else
		write_unlock(&l->rw);
}

/* Wait for every call_rcu of defer_free so far: the core calls this
 * before a table's owner (its struct s2_pgtable) goes away. */
static void s2k_defer_barrier(void *ctx)
{
	rcu_barrier();
}

/* VM, memslot arrays, dirty bitmaps: a bitmap of a large slot may be
 * bigger than kmalloc likes, so fall back to vmalloc. */
static void *s2k_zalloc(void *ctx, size_t size)
{
	return kvzalloc(size, GFP_KERNEL_ACCOUNT);
}

static void s2k_free(void *ctx, void *p, size_t size)
{
	kvfree(p);
}

/* Memslot updates wait here for in-progress invalidations to end. */
static void s2k_yield(void *ctx)
{
	cond_resched();
}

static void s2k_rcu_read_lock(void *ctx)
{
	rcu_read_lock();
}

static void s2k_rcu_read_unlock(void *ctx)
{
	rcu_read_unlock();
}

static void s2k_synchronize_rcu(void *ctx)
{
	synchronize_rcu();
}

struct s2_platform s2k_platform = {
	.alloc_page		= s2k_alloc_page,
	.free_page		= s2k_free_page,
	.alloc_pages_exact	= s2k_alloc_pages_exact,
	.free_pages_exact	= s2k_free_pages_exact,
	.page_ref_add		= s2k_page_ref_add,
	.virt_to_phys		= s2k_virt_to_phys,
	.phys_to_virt		= s2k_phys_to_virt,
	.linear			= true,
	.defer_free		= s2k_defer_free,
	.defer_barrier		= s2k_defer_barrier,
	.tlbi_ipa		= s2k_tlbi_ipa,
	.tlbi_range		= s2k_tlbi_range,
	.tlbi_vm		= s2k_tlbi_vm,
	.dcache_clean_inval_poc	= s2k_dcache_clean_inval_poc,
	.icache_inval_pou	= s2k_icache_inval_pou,
	.rwlock_new		= s2k_rwlock_new,
	.rwlock_free		= s2k_rwlock_free,
	.sleeplock_new		= s2k_sleeplock_new,
	.read_lock		= s2k_read_lock,
	.read_unlock		= s2k_read_unlock,
	.write_lock		= s2k_write_lock,
	.write_unlock		= s2k_write_unlock,
	.rcu_read_lock		= s2k_rcu_read_lock,
	.rcu_read_unlock	= s2k_rcu_read_unlock,
	.synchronize_rcu	= s2k_synchronize_rcu,
	.zalloc			= s2k_zalloc,
	.free			= s2k_free,
	.yield			= s2k_yield,
	/* check_bug / check_preempt / check_violation stay NULL: this is
	 * not a check build (include/s2mmu/check.h). */
};

int s2k_platform_init(void)
{
	/* The direct map's base moves with KASLR: only known at run time.
	 * pa = va + linear_offset for every lowmem address. */
	s2k_platform.linear_offset = -(int64_t)PAGE_OFFSET;
	s2k_meta_cache = KMEM_CACHE(s2k_pgmeta, 0);
	return s2k_meta_cache ? 0 : -ENOMEM;
}

void s2k_platform_exit(void)
{
	/* Callbacks queued by defer_free reference the cache. */
	rcu_barrier();
	kmem_cache_destroy(s2k_meta_cache);
}
