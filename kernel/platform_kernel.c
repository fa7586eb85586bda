// SPDX-License-Identifier: GPL-2.0-only
/*
 * The library's platform hooks (include/s2mmu/platform.h) implemented with
 * Linux primitives, so the same core sources that run hosted and at EL2
 * run inside this module.  Until the core lands only the TLB hooks are
 * called (by the stage-2 stand-in, s2_shim.c); the rest is compiled in so
 * that it keeps building against the kernel headers and the library's
 * header as both change.
 */
#include <linux/gfp.h>
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
	 * The engine drops its last reference through page_ref_add before
	 * freeing; the buddy allocator expects to drop the final one itself.
	 */
	if (page_ref_count(page) == 0)
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

static uint64_t s2k_virt_to_phys(void *ctx, void *va)
{
	return __pa(va);
}

static void *s2k_phys_to_virt(void *ctx, uint64_t pa)
{
	return __va(pa);
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

static void s2k_tlbi_ipa(void *ctx, uint64_t ipa, int level, unsigned int flags)
{
	/* Our TLB holds 4K translations only, so the level does not widen
	 * the range; S2_TLBI_LOCAL is treated as global (always safe). */
	s2k_tlb_invalidate(ctx, ipa & PAGE_MASK, PAGE_SIZE);
}

static void s2k_tlbi_range(void *ctx, uint64_t ipa, uint64_t size, int level)
{
	s2k_tlb_invalidate(ctx, ipa, size ? size : 1);
}

static void s2k_tlbi_vm(void *ctx)
{
	s2k_tlb_invalidate(ctx, 0, 0);
}

/* x86 is cache-coherent for every access path we emulate: nothing to do. */
static void s2k_dcache_clean_inval_poc(void *ctx, uint64_t pa, uint64_t size)
{
}

static void s2k_icache_inval_pou(void *ctx, uint64_t pa, uint64_t size)
{
}

/*
 * mmu_lock: faults take it shared, notifiers exclusive.  A spinning
 * rwlock, not an rw_semaphore, because clear_flush_young and change_pte
 * are called with the host's page-table spinlock held and must not sleep.
 */
static void *s2k_rwlock_new(void *ctx)
{
	rwlock_t *l = kmalloc(sizeof(*l), GFP_KERNEL);

	if (l)
		rwlock_init(l);
	return l;
}

static void s2k_rwlock_free(void *ctx, void *lock)
{
	kfree(lock);
}

static void s2k_read_lock(void *lock)
{
	read_lock(lock);
}

static void s2k_read_unlock(void *lock)
{
	read_unlock(lock);
}

static void s2k_write_lock(void *lock)
{
	write_lock(lock);
}

static void s2k_write_unlock(void *lock)
{
	write_unlock(lock);
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
	.tlbi_ipa		= s2k_tlbi_ipa,
	.tlbi_range		= s2k_tlbi_range,
	.tlbi_vm		= s2k_tlbi_vm,
	.dcache_clean_inval_poc	= s2k_dcache_clean_inval_poc,
	.icache_inval_pou	= s2k_icache_inval_pou,
	.rwlock_new		= s2k_rwlock_new,
	.rwlock_free		= s2k_rwlock_free,
	.read_lock		= s2k_read_lock,
	.read_unlock		= s2k_read_unlock,
	.write_lock		= s2k_write_lock,
	.write_unlock		= s2k_write_unlock,
	.rcu_read_lock		= s2k_rcu_read_lock,
	.rcu_read_unlock	= s2k_rcu_read_unlock,
	.synchronize_rcu	= s2k_synchronize_rcu,
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
