/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The glue between the host model and the coherence core: the resolve
 * hooks the fault path calls, the notifier subscriber that forwards the
 * host's callbacks to s2_vm_mn_*, the memslots, and the oracle's clocks
 * that the forwarder stamps per guest page.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "sim/machine/internal.h"

#define HVA_BASE	0x100000000000ULL	/* 16 TiB: 1G-aligned, far from 0 */
#define PFNMAP_GPA	0x1000000000ULL		/* 64 GiB */
#define PFNMAP_SIZE	(2ULL << 20)
/* Where guest frames and table pages sit with a 52-bit output size:
 * bits 49..51 of every physical address set. */
#define PA_BASE_HI	(0xeULL << 48)

static const char *const inv_names[MI_NR] = { "I1", "I2", "I5", "I6", "I7", "I8", "I9" };

const char *mach_inv_name(enum mach_inv i)
{
	return i < MI_NR ? inv_names[i] : "?";
}

void mach_cfg_default(struct mach_cfg *c)
{
	*c = (struct mach_cfg){
		.nr_vcpus = 4,
		.guest_size = 1ULL << 30,
		.thp = true,
		.pfnmap_slot = true,
		.format = S2_FMT_ARM64,
		.granule_shift = 12,
		.pgt_flags = 0,
		.seed = 1,
		.write_pct = 30,
		.i6_sample = 8,
	};
}

uint64_t mach_tick(struct machine *m)
{
	return __atomic_add_fetch(&m->clock, 1, __ATOMIC_SEQ_CST);
}

void mach_violation(struct machine *m, enum mach_inv inv, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&m->vlock);
	m->viol[inv]++;
	if (m->nvtext < NR_VTEXT) {
		char *t = m->vtext[m->nvtext++];
		int n = snprintf(t, sizeof(m->vtext[0]), "%s: ", inv_names[inv]);

		va_start(ap, fmt);
		vsnprintf(t + n, sizeof(m->vtext[0]) - (size_t)n, fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&m->vlock);
}

/* Guest page index of @hva across every slot's HVA range, live or not:
 * the oracle keeps state for deleted slots so a stale use is still seen. */
bool mach_gidx(struct machine *m, uint64_t hva, uint64_t *gidx, unsigned *slot)
{
	unsigned i;

	for (i = 0; i < m->nr_slots; i++) {
		const struct mslot *s = &m->slot[i];

		if (hva >= s->hva && hva < s->hva + s->size) {
			*gidx = s->gidx0 + ((hva - s->hva) >> HOST_PAGE_SHIFT);
			if (slot)
				*slot = i;
			return true;
		}
	}
	return false;
}

bool mach_gpa_slot(struct machine *m, uint64_t gpa, unsigned *slot)
{
	unsigned i;

	for (i = 0; i < m->nr_slots; i++) {
		const struct mslot *s = &m->slot[i];

		if (gpa >= s->gpa && gpa < s->gpa + s->size) {
			*slot = i;
			return true;
		}
	}
	return false;
}

/* The guest pages [*g0, *g1) that slot @s gives the host range [start,
 * end); false when the slot does not overlap it. */
static bool slot_pages(const struct mslot *s, uint64_t start, uint64_t end, uint64_t *g0,
		       uint64_t *g1)
{
	uint64_t a = start > s->hva ? start : s->hva;
	uint64_t b = end < s->hva + s->size ? end : s->hva + s->size;

	if (a >= b)
		return false;
	*g0 = s->gidx0 + ((a - s->hva) >> HOST_PAGE_SHIFT);
	*g1 = s->gidx0 + ((b - s->hva + HOST_PAGE_SIZE - 1) >> HOST_PAGE_SHIFT);
	return true;
}

/*
 * Raise @arr to @v for every guest page of [start, end).  A maximum, not a
 * store: two threads that read the clock in one order may stamp in the
 * other, and the older stamp must not hide the newer event.
 */
static void stamp(struct machine *m, uint64_t *arr, uint64_t start, uint64_t end, uint64_t v)
{
	uint64_t g, g0, g1;

	for (unsigned i = 0; i < m->nr_slots; i++) {
		if (!slot_pages(&m->slot[i], start, end, &g0, &g1))
			continue;
		for (g = g0; g < g1; g++) {
			uint64_t old = __atomic_load_n(&arr[g], __ATOMIC_SEQ_CST);

			while (old < v && !__atomic_compare_exchange_n(&arr[g], &old, v, false,
								       __ATOMIC_SEQ_CST,
								       __ATOMIC_SEQ_CST))
				;
		}
	}
}

/* Add @d to the count @arr keeps for every guest page of [start, end). */
static void count_add(struct machine *m, uint32_t *arr, uint64_t start, uint64_t end, int d)
{
	uint64_t g, g0, g1;

	for (unsigned i = 0; i < m->nr_slots; i++)
		if (slot_pages(&m->slot[i], start, end, &g0, &g1))
			for (g = g0; g < g1; g++)
				__atomic_add_fetch(&arr[g], (uint32_t)d, __ATOMIC_SEQ_CST);
}

static void inprog_add(struct machine *m, uint64_t start, uint64_t end, int d)
{
	count_add(m, m->inprog, start, end, d);
}

/*
 * I9 brackets every operation that clears or zaps young state: the
 * clearing count is up while it runs, and clear_done is stamped when it
 * has finished.  A fill is owed to test_young only if its walk began
 * after the last clear of the page had finished (a walk may read a young
 * leaf just before a clear_young makes it old, and clear_young does not
 * flush), and a miss counts only if no clear overlapped test_young.
 */
static void clear_begin(struct machine *m, uint64_t start, uint64_t end)
{
	count_add(m, m->clearing, start, end, 1);
}

static void clear_end(struct machine *m, uint64_t start, uint64_t end)
{
	stamp(m, m->clear_done, start, end, mach_tick(m));
	count_add(m, m->clearing, start, end, -1);
}

/* ------------------------------------------------------------ host ops */

static int host_err(int e)
{
	switch (e) {
	case -ENOMEM: return -S2_ENOMEM;
	case -EAGAIN: case -EBUSY: return -S2_EAGAIN;
	default: return -S2_EFAULT;	/* -EFAULT, -ESRCH (exited), -EINVAL */
	}
}

static int g_resolve(void *host, s2_hva_t hva, bool write, struct s2_resolved *r)
{
	struct machine *m = host;
	uint64_t pfn;
	bool writable;
	int level, ret;

	ret = host_gup(m->mm, hva, write, &pfn, &writable, &level);
	if (ret == -EFAULT) {
		/* gup refuses VM_PFNMAP: KVM's hva_to_pfn_remapped fallback. */
		if (!host_follow_pfn(m->mm, hva, write, &pfn, &writable, &level)) {
			*r = (struct s2_resolved){ .pa = s2_hpa(m->pa_base +
								  (pfn << HOST_PAGE_SHIFT)),
						   .writable = writable, .device = true,
						   .cookie = pfn };
			return 0;
		}
	}
	if (ret)
		return host_err(ret);
	*r = (struct s2_resolved){ .pa = s2_hpa(m->pa_base + (pfn << HOST_PAGE_SHIFT)),
				   .writable = writable, .device = false, .cookie = pfn };
	return 0;
}

static void g_put(void *host, const struct s2_resolved *r)
{
	struct machine *m = host;

	/* Through the mm: when a zap raced with this fault, the VM's put
	 * is the last and its FREE must reach the I8 check too. */
	if (!r->device)
		host_frame_put_mm(m->mm, r->cookie);
}

static uint64_t g_mapping_size(void *host, s2_hva_t hva)
{
	struct machine *m = host;

	switch (host_mapping_level(m->mm, hva)) {
	case HOST_LEVEL_4K: return HOST_PAGE_SIZE;
	case HOST_LEVEL_2M: return HOST_PMD_SIZE;
	case HOST_LEVEL_1G: return HOST_PUD_SIZE;
	default: return 0;
	}
}

static int g_vma_info(void *host, s2_hva_t hva, struct s2_vma_info *out)
{
	struct machine *m = host;
	struct host_vma_info vi;
	int ret = host_vma_query(m->mm, hva, &vi);

	if (ret)
		return host_err(ret);
	*out = (struct s2_vma_info){ .start = s2_hva(vi.start), .end = s2_hva(vi.end),
				     .pfnmap = vi.kind == HOST_VMA_PFNMAP,
				     .writable = !!(vi.prot & HOST_PROT_WRITE),
				     .pgoff = vi.pgoff };
	return 0;
}

static const struct s2_host_ops glue_host_ops = {
	.resolve = g_resolve,
	.put = g_put,
	.mapping_size = g_mapping_size,
	.vma_info = g_vma_info,
};

/* ------------------------------------------------------ notifier forwarder */

/*
 * Nesting of S/E on this thread (an operation's S may contain a split's
 * S/E pair), so an injected skip drops exactly the matching E.
 */
static __thread int tl_depth;
static __thread int tl_skip_depth = -1;
static __thread int tl_fail_depth = -1;

static int n_start(struct host_mn_sub *sub, s2_hva_t start, s2_hva_t end,
		   enum host_mn_event ev, bool blockable)
{
	struct machine *m = sub->priv;
	/*
	 * Translations read before this tick existed before the invalidation
	 * began, so the core must have removed them by its return.  Later
	 * ones are not judged by the epoch: a block over a PMD-mapped THP may
	 * be installed legitimately while a sub-range is in progress (the
	 * host splits it under its own 2M invalidation first).
	 */
	uint64_t t0 = mach_tick(m);
	int ret;

	(void)ev;
	inc(&m->c_starts);
	if (__atomic_load_n(&m->released, __ATOMIC_ACQUIRE))
		inc(&m->c_raced_release);
	/* I9: a zap loses the young state honestly; later accesses count. */
	clear_begin(m, start.v, end.v);
	if (__atomic_load_n(&m->inject, __ATOMIC_ACQUIRE) & MACH_INJ_SKIP_INVAL) {
		unsigned old = __atomic_fetch_and(&m->inject, ~MACH_INJ_SKIP_INVAL,
						  __ATOMIC_ACQ_REL);

		if (old & MACH_INJ_SKIP_INVAL) {
			/* The wrong glue: the core never hears of this
			 * invalidation, but the oracle's clock does. */
			inc(&m->c_skipped);
			tl_skip_depth = tl_depth++;
			inprog_add(m, start.v, end.v, 1);
			stamp(m, m->inv_epoch, start.v, end.v, t0);
			clear_end(m, start.v, end.v);
			return 0;
		}
	}
	ret = s2_vm_mn_invalidate_range_start(m->vm, start, end, blockable);
	clear_end(m, start.v, end.v);
	if (ret) {
		/* Not zapped: the host ends it at once and leaves the range. */
		tl_fail_depth = tl_depth++;
		return ret;
	}
	tl_depth++;
	/*
	 * I1: from here on no vCPU may use a translation of the range that
	 * was filled before this point, because the core has zapped the
	 * range and invalidated the TLBs before returning (seed 004).
	 */
	inprog_add(m, start.v, end.v, 1);
	stamp(m, m->inv_epoch, start.v, end.v, t0);
	return 0;
}

static void n_end(struct host_mn_sub *sub, s2_hva_t start, s2_hva_t end,
		  enum host_mn_event ev, bool blockable)
{
	struct machine *m = sub->priv;

	(void)ev, (void)blockable;
	inc(&m->c_ends);
	/*
	 * Before the core hears of the end: from its end on it may map the
	 * range again, and a fill must not see the page still in progress.
	 * An end whose start failed (non-blockable) was never counted.
	 */
	if (tl_fail_depth == tl_depth - 1)
		tl_fail_depth = -1;
	else
		inprog_add(m, start.v, end.v, -1);
	if (--tl_depth == tl_skip_depth) {
		tl_skip_depth = -1;
		return;
	}
	s2_vm_mn_invalidate_range_end(m->vm, start, end);
}

static void n_release(struct host_mn_sub *sub)
{
	struct machine *m = sub->priv;
	uint64_t t0 = mach_tick(m);

	inc(&m->c_release);
	if (ldr(&m->c_starts) != ldr(&m->c_ends))
		inc(&m->c_raced_release);
	clear_begin(m, 0, HOST_TASK_SIZE);
	s2_vm_mn_release(m->vm);
	/* Release zaps everything and invalidates the VM's TLBs (I1, I4). */
	stamp(m, m->inv_epoch, 0, HOST_TASK_SIZE, t0);
	/* I9: release drops the young state with the table, like a zap. */
	clear_end(m, 0, HOST_TASK_SIZE);
	__atomic_store_n(&m->released, 1, __ATOMIC_RELEASE);
}

static int n_cfy(struct host_mn_sub *sub, s2_hva_t start, s2_hva_t end)
{
	struct machine *m = sub->priv;
	bool ret;

	inc(&m->c_cfy);
	clear_begin(m, start.v, end.v);
	ret = s2_vm_mn_clear_flush_young(m->vm, start, end);
	/* I9: accesses through translations filled after this are owed to
	 * the next test_young. */
	stamp(m, m->cfy_done, start.v, end.v, mach_tick(m));
	clear_end(m, start.v, end.v);
	return ret;
}

static int n_cy(struct host_mn_sub *sub, s2_hva_t start, s2_hva_t end)
{
	struct machine *m = sub->priv;
	bool ret;

	inc(&m->c_cy);
	clear_begin(m, start.v, end.v);
	ret = s2_vm_mn_clear_young(m->vm, start, end);
	clear_end(m, start.v, end.v);
	return ret;
}

/* Whether an access owed to test_young (I9) happened on [a, b) */
static bool young_owed(struct machine *m, uint64_t a, uint64_t b, uint64_t *which)
{
	uint64_t hva, g;

	for (hva = a & ~(HOST_PAGE_SIZE - 1); hva < b; hva += HOST_PAGE_SIZE) {
		uint64_t y, c, d;

		if (!mach_gidx(m, hva, &g, NULL))
			continue;
		if (__atomic_load_n(&m->clearing[g], __ATOMIC_SEQ_CST))
			continue;
		y = __atomic_load_n(&m->young_mark[g], __ATOMIC_SEQ_CST);
		c = __atomic_load_n(&m->clear_done[g], __ATOMIC_SEQ_CST);
		d = __atomic_load_n(&m->cfy_done[g], __ATOMIC_SEQ_CST);
		/* Clock values are ticks: a walk that read the tick of a
		 * stamp began after the stamp's event had finished. */
		if (d && y >= d && y >= c) {
			*which = hva;
			return true;
		}
	}
	return false;
}

static int n_ty(struct host_mn_sub *sub, s2_hva_t start, s2_hva_t end)
{
	struct machine *m = sub->priv;
	uint64_t hva = 0, g, before = 0;
	bool owed, ret;

	inc(&m->c_ty);
	owed = young_owed(m, start.v, end.v, &hva);
	if (owed && mach_gidx(m, hva, &g, NULL))
		before = __atomic_load_n(&m->clear_done[g], __ATOMIC_SEQ_CST);
	if ((__atomic_load_n(&m->inject, __ATOMIC_ACQUIRE) & MACH_INJ_TY_OLD) &&
	    (__atomic_fetch_and(&m->inject, ~MACH_INJ_TY_OLD, __ATOMIC_ACQ_REL) & MACH_INJ_TY_OLD))
		ret = false;	/* the wrong glue: the core is never asked */
	else
		ret = s2_vm_mn_test_young(m->vm, start, end);
	/* Only if nothing cleared the page meanwhile is a miss a miss. */
	if (owed && !ret && mach_gidx(m, hva, &g, NULL) &&
	    !__atomic_load_n(&m->clearing[g], __ATOMIC_SEQ_CST) &&
	    __atomic_load_n(&m->clear_done[g], __ATOMIC_SEQ_CST) == before)
		mach_violation(m, MI_I9, "test_young [%#llx,%#llx) false after an access "
			       "at hva %#llx through a translation walked after "
			       "clear_flush_young returned",
			       (unsigned long long)start.v, (unsigned long long)end.v,
			       (unsigned long long)hva);
	return ret;
}

static const struct host_mn_ops glue_mn_ops = {
	.invalidate_range_start = n_start,
	.invalidate_range_end = n_end,
	.release = n_release,
	.clear_flush_young = n_cfy,
	.clear_young = n_cy,
	.test_young = n_ty,
};

/* I8 with the cache model: data the host moves or frees must be in memory. */
static void tracer(void *priv, const struct host_trace_ev *ev)
{
	struct machine *m = priv;
	uint64_t pfn, n, i;

	if (!m->line)
		return;
	if (ev->kind == HOST_TR_COPY) {
		pfn = ev->old;
		n = 1;
	} else if (ev->kind == HOST_TR_FREE) {
		pfn = ev->pfn;
		n = 1ULL << ev->order;
	} else {
		return;
	}
	for (i = 0; i < n && pfn + i < m->nr_pfns; i++) {
		uint64_t l = __atomic_exchange_n(&m->line[pfn + i], 0, __ATOMIC_ACQ_REL);

		/* After release the guest's data dies with the mm: the core
		 * tears the table down without cleaning (nothing will read
		 * those words), so only the stale line itself goes. */
		if ((l & LINE_VALID) && !__atomic_load_n(&m->released, __ATOMIC_ACQUIRE))
			mach_violation(m, MI_I8, "pfn %#llx %s with a dirty cache line "
				       "(guest write %#llx never cleaned to PoC)",
				       (unsigned long long)(pfn + i),
				       ev->kind == HOST_TR_COPY ? "copied" : "freed",
				       (unsigned long long)(l & ~LINE_VALID));
	}
}

/* ------------------------------------------------------------- memslots */

static int slot_set(struct machine *m, unsigned i, unsigned flags)
{
	struct mslot *s = &m->slot[i];
	int ret;

	inc(&m->c_memslot);
	clear_begin(m, s->hva, s->hva + s->size);
	/* Live before the core can map it: a fill of a slot the glue calls
	 * dead is an I1 violation, so never call it dead too early. */
	__atomic_store_n(&s->live, true, __ATOMIC_SEQ_CST);
	ret = s2_vm_set_memslot(m->vm, i, s2_gpa(s->gpa), s->size, s2_hva(s->hva), flags);
	clear_end(m, s->hva, s->hva + s->size);
	/* vCPU threads read flags in their oracle checks while the main
	 * thread changes logging: atomic, or it is a data race (TSan). */
	if (!ret)
		__atomic_store_n(&s->flags, flags, __ATOMIC_RELAXED);
	return ret;
}

int mach_delete_slot(struct machine *m, unsigned i)
{
	struct mslot *s = &m->slot[i];
	uint64_t t0 = mach_tick(m);
	int ret;

	inc(&m->c_memslot);
	clear_begin(m, s->hva, s->hva + s->size);
	ret = s2_vm_delete_memslot(m->vm, i);
	clear_end(m, s->hva, s->hva + s->size);
	if (ret)
		return ret;
	__atomic_store_n(&s->live, false, __ATOMIC_SEQ_CST);
	/* I1: the slot's translations are gone once delete returns. */
	stamp(m, m->inv_epoch, s->hva, s->hva + s->size, t0);
	return 0;
}

int mach_recreate_slot(struct machine *m, unsigned i)
{
	int ret = slot_set(m, i, m->slot[i].flags & ~S2_MEM_DIRTY_LOG);

	if (ret)
		__atomic_store_n(&m->slot[i].live, false, __ATOMIC_SEQ_CST);
	return ret;
}

int mach_dirty_log(struct machine *m, unsigned i, bool on)
{
	return mach_dirty_log_mode(m, i, on, false);
}

int mach_dirty_log_mode(struct machine *m, unsigned i, bool on, bool hw)
{
	struct mslot *s = &m->slot[i];
	uint64_t g;
	int ret;

	if (i >= m->nr_slots || s->pfnmap)
		return -S2_EINVAL;
	if (!on) {
		__atomic_store_n(&s->logging, false, __ATOMIC_SEQ_CST);
		return slot_set(m, i, s->flags & ~(S2_MEM_DIRTY_LOG | S2_MEM_DIRTY_HW));
	}
	for (g = 0; g < s->size >> HOST_PAGE_SHIFT; g++)
		m->last_write_hv[s->gidx0 + g] = 0;
	ret = slot_set(m, i, (s->flags & ~S2_MEM_DIRTY_HW) | S2_MEM_DIRTY_LOG |
			     (hw ? S2_MEM_DIRTY_HW : 0));
	if (ret)
		return ret;
	/* Writes recorded from here on complete after the enable's
	 * write-protect and TLBI: each must reach a harvest (I7). */
	__atomic_store_n(&s->logging, true, __ATOMIC_SEQ_CST);
	return 0;
}

const char *mach_dirty_mode_name(enum mach_dirty_mode d)
{
	static const char *const n[MACH_NR_DIRTY] = {
		[MACH_DIRTY_BITMAP] = "bitmap", [MACH_DIRTY_MANUAL] = "manual",
		[MACH_DIRTY_RING] = "ring",
	};

	return d < MACH_NR_DIRTY ? n[d] : "?";
}

/*
 * Every vCPU's ring harvested, then reset: @bm gets the pages of slot @i
 * its entries name.  Entries of other slots are reset too (their pages
 * are copied as well: the oracle forgets their writes).
 */
static int harvest_rings(struct machine *m, unsigned i, uint64_t *bm, uint64_t pages)
{
	struct s2_dirty_gfn g[256];
	unsigned v;
	size_t n, k;

	for (v = 0; v < m->nr_vcpus; v++)
		while (m->vcpus[v]->ring &&
		       (n = s2_dirty_ring_harvest(m->vcpus[v]->ring, g, 256)) > 0)
			for (k = 0; k < n; k++) {
				if (g[k].slot == i && g[k].offset < pages)
					bm[g[k].offset / 64] |= 1ULL << (g[k].offset % 64);
				else if (g[k].slot < m->nr_slots &&
					 g[k].offset < m->slot[g[k].slot].size >> HOST_PAGE_SHIFT)
					__atomic_store_n(&m->last_write_hv[m->slot[g[k].slot].gidx0 +
									   g[k].offset], 0,
							 __ATOMIC_SEQ_CST);
			}
	/* the copy comes after the reset returns: the pages are protected */
	return s2_vm_reset_dirty_rings(m->vm) < 0 ? -S2_EINVAL : 0;
}

/* Manual protect: what the get reported is cleared in 64-page chunks, as
 * a VMM that copies chunk by chunk does, each chunk protected before its
 * copy. */
static int clear_chunks(struct machine *m, unsigned i, const uint64_t *bm, uint64_t pages)
{
	uint64_t w;
	int ret;

	for (w = 0; w < (pages + 63) / 64; w++) {
		if (!bm[w])
			continue;
		ret = s2_vm_clear_dirty_log(m->vm, i, w * 64, pages - w * 64 < 64 ? pages - w * 64 : 64,
					    &bm[w]);
		if (ret)
			return ret;
	}
	return 0;
}

int mach_harvest(struct machine *m, unsigned i)
{
	struct mslot *s = &m->slot[i];
	uint64_t pages = s->size >> HOST_PAGE_SHIFT, words = (pages + 63) / 64, g, k;
	uint64_t *bm = calloc(words, sizeof(*bm)), *rb = calloc(words, sizeof(*rb));
	int ret;

	if (!bm || !rb) {
		free(bm);
		free(rb);
		return -S2_ENOMEM;
	}
	pthread_mutex_lock(&m->harvest_lock);
	/* Writes that read an older epoch completed before this harvest
	 * began, so the bitmap it returns (or the rings) must hold them. */
	k = __atomic_add_fetch(&m->hv, 1, __ATOMIC_SEQ_CST);
	ret = 0;
	if (m->cfg.dirty_mode == MACH_DIRTY_RING)
		ret = harvest_rings(m, i, rb, pages);
	if (!ret)
		ret = s2_vm_get_dirty_log(m->vm, i, bm, words);
	if (!ret && m->cfg.dirty_mode == MACH_DIRTY_MANUAL)
		ret = clear_chunks(m, i, bm, pages);
	if (ret) {
		pthread_mutex_unlock(&m->harvest_lock);
		free(bm);
		free(rb);
		return ret;
	}
	inc(&m->c_harvests);
	for (g = 0; g < pages; g++) {
		uint64_t *w = &m->last_write_hv[s->gidx0 + g];
		uint64_t e = __atomic_load_n(w, __ATOMIC_SEQ_CST);
		bool set = ((bm[g / 64] | rb[g / 64]) >> (g % 64)) & 1;

		if (set)
			inc(&m->c_harvested);
		if (!e)
			continue;
		if (set) {
			__atomic_compare_exchange_n(w, &e, 0, false, __ATOMIC_SEQ_CST,
						    __ATOMIC_SEQ_CST);
		} else if (e < k) {
			mach_violation(m, MI_I7, "harvest %llu of slot %u misses gpa %#llx "
				       "written before harvest %llu began",
				       (unsigned long long)k, i,
				       (unsigned long long)(s->gpa + (g << HOST_PAGE_SHIFT)),
				       (unsigned long long)k);
			__atomic_compare_exchange_n(w, &e, 0, false, __ATOMIC_SEQ_CST,
						    __ATOMIC_SEQ_CST);
		}
	}
	pthread_mutex_unlock(&m->harvest_lock);
	free(bm);
	free(rb);
	return 0;
}

/* ------------------------------------------------------ create / destroy */

static int setup_host(struct machine *m)
{
	const struct mach_cfg *c = &m->cfg;
	uint64_t ram = c->guest_size >> HOST_PAGE_SHIFT, half = c->guest_size / 2;
	uint64_t pmd = HOST_PMD_SIZE >> HOST_PAGE_SHIFT;
	/* Room for COW copies after fork, migration targets and THP: 256M
	 * more, and at least four free PMD blocks with 64K pages (512M
	 * each), in whole PMD blocks (the allocator's unit). */
	uint64_t extra = (256ULL << 20) >> HOST_PAGE_SHIFT;
	uint64_t frames = 2 * ram + (extra > 4 * pmd ? extra : 4 * pmd);
	unsigned nio = c->pfnmap_slot ? PFNMAP_SIZE >> HOST_PAGE_SHIFT : 0;
	enum host_vma_kind kind = c->thp ? HOST_VMA_THP : HOST_VMA_ANON;
	unsigned i;
	int ret;

	frames = (frames + pmd - 1) & ~(pmd - 1);
	m->huge = HOST_PMD_SIZE < half ? HOST_PMD_SIZE : half;
	m->phys = host_phys_create(frames, nio);
	if (!m->phys)
		return -ENOMEM;
	m->nr_pfns = frames + nio;
	m->io_pfn0 = frames;
	m->mm = host_mm_create(m->phys);
	if (!m->mm)
		return -ENOMEM;
	for (i = 0; i < 2; i++) {
		struct mslot *s = &m->slot[i];

		s->gpa = m->gpa_base + i * half;
		s->size = half;
		/* Congruent with the IPA modulo 1G so blocks are possible. */
		s->hva = HVA_BASE + i * (half + (1ULL << 30));
		s->gidx0 = i * (half >> HOST_PAGE_SHIFT);
		ret = host_mmap(m->mm, s2_hva(s->hva), s->size, kind,
				HOST_PROT_READ | HOST_PROT_WRITE);
		if (ret)
			return ret;
	}
	m->nr_slots = 2;
	m->nr_gpages = c->guest_size >> HOST_PAGE_SHIFT;
	if (c->pfnmap_slot) {
		struct mslot *s = &m->slot[2];

		s->gpa = m->gpa_base + PFNMAP_GPA;
		s->size = PFNMAP_SIZE;
		s->hva = HVA_BASE + 0x400000000000ULL;
		s->gidx0 = m->nr_gpages;
		s->pfnmap = true;
		ret = host_mmap_pfnmap(m->mm, s2_hva(s->hva), s->size,
				       HOST_PROT_READ | HOST_PROT_WRITE, m->io_pfn0, NULL);
		if (ret)
			return ret;
		m->nr_slots = 3;
		m->nr_gpages += PFNMAP_SIZE >> HOST_PAGE_SHIFT;
	}
	return 0;
}

static int setup_oracle(struct machine *m)
{
	uint64_t n = m->nr_gpages;

	m->inv_epoch = calloc(n, sizeof(uint64_t));
	m->inprog = calloc(n, sizeof(uint32_t));
	m->clear_done = calloc(n, sizeof(uint64_t));
	m->clearing = calloc(n, sizeof(uint32_t));
	m->cfy_done = calloc(n, sizeof(uint64_t));
	m->young_mark = calloc(n, sizeof(uint64_t));
	m->last_write_hv = calloc(n, sizeof(uint64_t));
	m->host_ro = calloc(n, 1);
	if (!m->inv_epoch || !m->inprog || !m->clear_done || !m->clearing || !m->cfy_done ||
	    !m->young_mark || !m->last_write_hv || !m->host_ro)
		return -ENOMEM;
	if (m->cfg.pgt_flags & S2_PGT_NO_FWB) {
		m->line = calloc(m->nr_pfns, sizeof(uint64_t));
		if (!m->line)
			return -ENOMEM;
	}
	m->hv = 1;
	return 0;
}

static int setup_vm(struct machine *m)
{
	struct s2_vm_cfg vc = {
		.pgt = {
			.format = m->cfg.format,
			.granule_shift = m->cfg.granule_shift,
			.ia_bits = m->cfg.ia_bits ? m->cfg.ia_bits : 40,
			.oa_bits = m->cfg.oa_bits ? m->cfg.oa_bits : 48,
			.flags = m->cfg.pgt_flags,
			.plat = m->plat,
			.plat_ctx = m->h,
		},
		.host = &glue_host_ops,
		.host_ctx = m,
		.flags = m->cfg.dirty_mode == MACH_DIRTY_MANUAL ? S2_VM_MANUAL_PROTECT : 0,
	};
	struct s2_pgtable *pgt;
	unsigned i;
	int ret, l;

	ret = s2_vm_create(&vc, &m->vm);
	if (ret)
		return ret;
	pgt = s2_vm_pgtable(m->vm);
	if (!pgt)
		return -S2_EINVAL;
	m->start_level = pgt->start_level;
	m->last_level = S2_LAST_LEVEL;	/* every format ends at level 3 (format.h) */
	m->page_shift = pgt->page_shift;
	for (l = 0; l <= S2_MAX_LEVELS; l++) {
		m->span[l] = pgt->span[l];
		m->shift[l] = pgt->shift[l];
		/* block levels run down to the last one: a level holds a
		 * leaf iff its span is at most the largest block */
		m->leaf_ok[l] = pgt->span[l] && pgt->span[l] <= s2_pgt_max_block(pgt, 0);
	}
	m->leaf_ok[S2_LVL(S2_LAST_LEVEL)] = true;
	for (i = 0; i < m->nr_slots; i++) {
		ret = slot_set(m, i, 0);
		if (ret)
			return ret;
	}
	m->sub.ops = &glue_mn_ops;
	m->sub.priv = m;
	ret = host_mn_register(m->mm, &m->sub);
	if (ret)
		return ret;
	m->registered = true;
	return 0;
}

int mach_create(const struct mach_cfg *cfg, struct machine **out)
{
	struct machine *m = calloc(1, sizeof(*m));
	unsigned i;
	int ret;

	if (!m)
		return -ENOMEM;
	m->cfg = *cfg;
	if (!cfg->nr_vcpus || cfg->nr_vcpus > MACH_MAX_VCPUS ||
	    cfg->guest_size < (4ULL << 20) || (cfg->guest_size & ((4ULL << 20) - 1)) ||
	    cfg->guest_size > (64ULL << 30) ||
	    /* the PFNMAP slot sits at 64G: at least 40 bits (the engine
	     * judges the rest of the combination) */
	    (cfg->ia_bits && (cfg->ia_bits < 40 || cfg->ia_bits > 57)) ||
	    (cfg->oa_bits && (cfg->oa_bits < 40 || cfg->oa_bits > 52))) {
		free(m);
		return -EINVAL;
	}
	/*
	 * KVM arm64 maps stage 2 with the host's PAGE_SIZE: the core maps a
	 * stage-2 page from one host frame, so a 16K or 64K granule runs on a
	 * host of that page size (-EINVAL for another granule, -EBUSY while a
	 * machine of another page size exists).
	 */
	ret = host_set_page_shift(cfg->granule_shift);
	if (ret) {
		free(m);
		return ret;
	}
	/* 128G below the top of the IPA space: both RAM slots (at most
	 * 64G) and the PFNMAP slot at +64G */
	if (cfg->ia_bits > 48)
		m->gpa_base = (1ULL << cfg->ia_bits) - (128ULL << 30);
	if (cfg->oa_bits > 48)
		m->pa_base = PA_BASE_HI;
	pthread_mutex_init(&m->vlock, NULL);
	pthread_mutex_init(&m->host_lock, NULL);
	pthread_mutex_init(&m->harvest_lock, NULL);
	pthread_rwlock_init(&m->exit_lock, NULL);
	m->churn_rnd = cfg->seed * 0x9e3779b97f4a7c15ULL + 1;
	ret = setup_host(m);
	if (!ret)
		ret = setup_oracle(m);
	if (!ret) {
		m->h = s2_hosted_new();
		m->plat = s2_hosted_platform();
		if (m->pa_base) {
			/* table pages above 2^48 too: pa = va + pa_base */
			m->plat_hi = *m->plat;
			m->plat_hi.linear_offset = (int64_t)m->pa_base;
			m->plat = &m->plat_hi;
		}
		if (!m->h)
			ret = -ENOMEM;
	}
	if (!ret) {
		s2_hosted_set_observer(m->h, mach_observer, m);
		host_mm_set_tracer(m->mm, tracer, m);
		ret = setup_vm(m);
	}
	for (i = 0; !ret && i < cfg->nr_vcpus; i++) {
		m->vcpus[i] = mach_vcpu_new(m, i);
		if (!m->vcpus[i])
			ret = -ENOMEM;
		else
			m->nr_vcpus = i + 1;
		if (!ret && cfg->dirty_mode == MACH_DIRTY_RING)
			ret = s2_vm_dirty_ring_create(m->vm, cfg->ring_entries ? cfg->ring_entries : 4096,
						      &m->vcpus[i]->ring);
	}
	if (ret) {
		fprintf(stderr, "machine: setup failed: %d\n", ret);
		mach_destroy(m);
		return ret;
	}
	*out = m;
	return 0;
}

void mach_exit_mm(struct machine *m)
{
	pthread_mutex_lock(&m->host_lock);
	if (m->child) {
		host_mmput(m->child);
		m->child = NULL;
	}
	pthread_mutex_unlock(&m->host_lock);
	if (!m->mm_put) {
		__atomic_store_n(&m->exiting, 1, __ATOMIC_RELEASE);
		pthread_rwlock_wrlock(&m->exit_lock);
		pthread_rwlock_unlock(&m->exit_lock);
		m->mm_put = true;
		host_mmput(m->mm);
		inc(&m->c_host_ok[MH_EXIT]);
	}
}

void mach_destroy(struct machine *m)
{
	unsigned i;

	if (!m)
		return;
	mach_stop_churn(m);
	mach_stop_aging(m);
	mach_stop_vcpus(m);
	if (m->child)
		host_mmput(m->child);
	if (m->registered)
		host_mn_unregister(&m->sub);	/* calls release if exit did not */
	for (i = 0; i < m->nr_vcpus; i++)
		mach_vcpu_free(m->vcpus[i]);
	s2_vm_destroy(m->vm);
	/* exit_mmap after the subscriber is gone: nobody to notify. */
	if (m->mm && !m->mm_put)
		host_mmput(m->mm);
	if (m->h)
		s2_hosted_free(m->h);
	if (m->phys)
		host_phys_destroy(m->phys);
	free(m->inv_epoch);
	free(m->inprog);
	free(m->clear_done);
	free(m->clearing);
	free(m->cfy_done);
	free(m->young_mark);
	free(m->last_write_hv);
	free(m->host_ro);
	free(m->line);
	pthread_mutex_destroy(&m->vlock);
	pthread_mutex_destroy(&m->host_lock);
	pthread_mutex_destroy(&m->harvest_lock);
	pthread_rwlock_destroy(&m->exit_lock);
	free(m);
}

void mach_inject(struct machine *m, unsigned what)
{
	__atomic_fetch_or(&m->inject, what, __ATOMIC_ACQ_REL);
}

void mach_get_stats(struct machine *m, struct mach_stats *o)
{
	unsigned i, k;

	memset(o, 0, sizeof(*o));
	for (i = 0; i < m->nr_vcpus; i++) {
		const uint64_t *src = (const uint64_t *)&m->vcpus[i]->st;
		uint64_t *dst = (uint64_t *)&o->v;

		for (k = 0; k < sizeof(o->v) / sizeof(uint64_t); k++)
			dst[k] += ldr(&src[k]);
	}
	o->tlbi_ipa = ldr(&m->c_tlbi_ipa);
	o->tlbi_range = ldr(&m->c_tlbi_range);
	o->tlbi_vm = ldr(&m->c_tlbi_vm);
	o->dcache = ldr(&m->c_dcache);
	o->icache = ldr(&m->c_icache);
	o->tlb_entries_dropped = ldr(&m->c_tlb_drop);
	o->walk_entries_dropped = ldr(&m->c_wc_drop);
	o->inval_starts = ldr(&m->c_starts);
	o->inval_ends = ldr(&m->c_ends);
	o->inval_raced_release = ldr(&m->c_raced_release);
	o->inval_skipped = ldr(&m->c_skipped);
	o->releases = ldr(&m->c_release);
	o->cfy = ldr(&m->c_cfy);
	o->cy = ldr(&m->c_cy);
	o->ty = ldr(&m->c_ty);
	for (k = 0; k < MH_NR; k++) {
		o->host_ok[k] = ldr(&m->c_host_ok[k]);
		o->host_fail[k] = ldr(&m->c_host_fail[k]);
	}
	o->harvests = ldr(&m->c_harvests);
	o->harvested_pages = ldr(&m->c_harvested);
	o->memslot_updates = ldr(&m->c_memslot);
	o->age_phase_calls = ldr(&m->c_age_phase);
	o->age_phase_fail = ldr(&m->c_age_phase_fail);
	pthread_mutex_lock(&m->vlock);
	for (k = 0; k < MI_NR; k++) {
		o->violations[k] = m->viol[k];
		o->violations_total += m->viol[k];
	}
	pthread_mutex_unlock(&m->vlock);
	if (m->vm)
		s2_vm_get_stats(m->vm, &o->core);
	if (m->h)
		s2_hosted_get_stats(m->h, &o->plat);
}

unsigned mach_nr_violation_texts(struct machine *m)
{
	unsigned n;

	pthread_mutex_lock(&m->vlock);
	n = m->nvtext;
	pthread_mutex_unlock(&m->vlock);
	return n;
}

const char *mach_violation_text(struct machine *m, unsigned i)
{
	return i < mach_nr_violation_texts(m) ? m->vtext[i] : NULL;
}

void mach_print_violations(struct machine *m, FILE *f)
{
	unsigned i, n = mach_nr_violation_texts(m);

	for (i = 0; i < n; i++)
		fprintf(f, "  %s\n", m->vtext[i]);
}

uint64_t mach_slot_gpa(struct machine *m, unsigned i) { return m->slot[i].gpa; }
uint64_t mach_slot_size(struct machine *m, unsigned i) { return m->slot[i].size; }
uint64_t mach_slot_hva(struct machine *m, unsigned i) { return m->slot[i].hva; }
struct host_mm *mach_mm(struct machine *m) { return m->mm; }
struct s2_vm *mach_vm(struct machine *m) { return m->vm; }
struct mach_vcpu *mach_vcpu(struct machine *m, unsigned i)
{
	return i < m->nr_vcpus ? m->vcpus[i] : NULL;
}
