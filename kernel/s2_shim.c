// SPDX-License-Identifier: GPL-2.0-only
/*
 * Minimal software stage 2 standing in for the s2mmu engine (see
 * s2_shim.h for why it exists and how it is replaced).
 *
 * An entry is an xarray value: pfn << 2 | writable << 1 | young.  Value
 * entries need no memory of their own, and xa_cmpxchg gives the atomic
 * read-modify-write that concurrent "shared" updaters (faults setting
 * the access flag) need, the way the engine uses compare-and-exchange on
 * descriptors.
 */
#include <linux/slab.h>
#include <linux/xarray.h>
#include <linux/atomic.h>
#include <s2mmu/platform.h>
#include "s2_shim.h"

#define SHIM_W		0x2UL
#define SHIM_Y		0x1UL

struct s2_shim {
	struct xarray xa;
	const struct s2_platform *plat;
	void *ctx;
	atomic_long_t nr;
};

static void *shim_mk(unsigned long pfn, bool w, bool y)
{
	return xa_mk_value(pfn << 2 | (w ? SHIM_W : 0) | (y ? SHIM_Y : 0));
}

static void shim_decode(void *e, struct s2_shim_pte *out)
{
	unsigned long v = xa_to_value(e);

	out->pfn = v >> 2;
	out->writable = v & SHIM_W;
	out->young = v & SHIM_Y;
}

struct s2_shim *s2_shim_create(const struct s2_platform *plat, void *plat_ctx)
{
	struct s2_shim *s = kzalloc(sizeof(*s), GFP_KERNEL);

	if (!s)
		return NULL;
	xa_init(&s->xa);
	s->plat = plat;
	s->ctx = plat_ctx;
	atomic_long_set(&s->nr, 0);
	return s;
}

void s2_shim_destroy(struct s2_shim *s)
{
	if (!s)
		return;
	xa_destroy(&s->xa);
	kfree(s);
}

int s2_shim_prepare(struct s2_shim *s, u64 gfn)
{
	/*
	 * Nothing to top up: the xarray allocates its nodes with GFP_NOWAIT
	 * under the lock, and a failure makes the fault retry.  (xa_reserve
	 * is no help: a reserved slot does not compare equal to NULL in
	 * xa_cmpxchg on this kernel, so the install below never happened.)
	 * The engine's memcache top-up takes this place.
	 */
	return 0;
}

void s2_shim_unprepare(struct s2_shim *s, u64 gfn)
{
}

int s2_shim_map(struct s2_shim *s, u64 gfn, unsigned long pfn, bool writable)
{
	void *old, *cur;
	struct s2_shim_pte o;

	old = xa_load(&s->xa, gfn);
	for (;;) {
		if (xa_is_value(old)) {
			shim_decode(old, &o);
			if (o.pfn != pfn) {
				/*
				 * Break-before-make: a TLB may hold the old
				 * frame, so remove the entry and invalidate
				 * before the new frame becomes visible.
				 */
				cur = xa_cmpxchg(&s->xa, gfn, old, NULL, GFP_NOWAIT);
				if (cur != old) {
					old = cur;
					continue;
				}
				atomic_long_dec(&s->nr);
				s->plat->tlbi_ipa(s->ctx, gfn << PAGE_SHIFT, 3, S2_TLBI_LEAF);
				old = NULL;
				continue;
			}
			/* Same frame: only ever widen permissions here. */
			writable |= o.writable;
		}
		cur = xa_cmpxchg(&s->xa, gfn, old, shim_mk(pfn, writable, true),
				 GFP_NOWAIT | __GFP_NOWARN);
		if (xa_is_err(cur))
			return -EAGAIN;
		if (cur == old)
			break;
		old = cur;	/* a concurrent fault got there first */
	}
	if (!xa_is_value(old))
		atomic_long_inc(&s->nr);
	return 0;
}

unsigned long s2_shim_unmap(struct s2_shim *s, u64 gfn, u64 nr)
{
	unsigned long idx, n = 0;
	void *e;

	if (!nr)
		return 0;
	xa_for_each_range(&s->xa, idx, e, gfn, gfn + nr - 1) {
		if (xa_erase(&s->xa, idx))
			n++;
	}
	if (n) {
		atomic_long_sub(n, &s->nr);
		/*
		 * Complete before return: the notifier that called us lets
		 * the host free these frames as soon as it returns.
		 */
		s->plat->tlbi_range(s->ctx, gfn << PAGE_SHIFT, nr << PAGE_SHIFT, -1);
	}
	return n;
}

bool s2_shim_lookup(struct s2_shim *s, u64 gfn, struct s2_shim_pte *out)
{
	void *e = xa_load(&s->xa, gfn);

	if (!xa_is_value(e))
		return false;
	shim_decode(e, out);
	return true;
}

void s2_shim_mkyoung(struct s2_shim *s, u64 gfn)
{
	void *e = xa_load(&s->xa, gfn), *cur;
	struct s2_shim_pte p;

	while (xa_is_value(e)) {
		shim_decode(e, &p);
		if (p.young)
			return;
		cur = xa_cmpxchg(&s->xa, gfn, e, shim_mk(p.pfn, p.writable, true),
				 GFP_NOWAIT | __GFP_NOWARN);
		if (cur == e || xa_is_err(cur))
			return;
		e = cur;
	}
}

unsigned long s2_shim_age(struct s2_shim *s, u64 gfn, u64 nr, bool clear)
{
	unsigned long idx, young = 0;
	struct s2_shim_pte p;
	void *e;

	if (!nr)
		return 0;
	xa_for_each_range(&s->xa, idx, e, gfn, gfn + nr - 1) {
		if (!xa_is_value(e))
			continue;
		shim_decode(e, &p);
		if (!p.young)
			continue;
		young++;
		/* Replacing a present value entry never allocates. */
		if (clear)
			xa_store(&s->xa, idx, shim_mk(p.pfn, p.writable, false),
				 GFP_NOWAIT);
	}
	return young;
}

bool s2_shim_next(struct s2_shim *s, u64 *gfn, u64 last, struct s2_shim_pte *out)
{
	unsigned long idx = *gfn;
	void *e;

	for (;;) {
		e = xa_find(&s->xa, &idx, last, XA_PRESENT);
		if (!e)
			return false;
		if (xa_is_value(e))
			break;
		if (idx == last)
			return false;
		idx++;		/* reserved slot of a fault in flight */
	}
	shim_decode(e, out);
	*gfn = idx;
	return true;
}

unsigned long s2_shim_count(struct s2_shim *s)
{
	return atomic_long_read(&s->nr);
}
