/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * MMU-notifier registry and dispatch (mm/mmu_notifier.c, hlist part).
 *
 * The subscriber list is read under a per-mm SRCU read section, as every
 * hlist walk in Linux runs under srcu_read_lock; writers hold mn_lock and
 * publish with release stores.  Unregistration waits for the callbacks in
 * flight (synchronize_srcu) before it returns, so the subscriber's memory
 * may be reused afterwards.
 */
#include "sim/host/host_internal.h"

const char *host_mn_event_name(enum host_mn_event ev)
{
	static const char *const names[] = {
		"UNMAP", "CLEAR", "PROTECTION_VMA", "PROTECTION_PAGE",
		"SOFT_DIRTY", "RELEASE", "MIGRATE", "EXCLUSIVE",
	};

	if ((unsigned)ev < sizeof(names) / sizeof(names[0]))
		return names[ev];
	return "?";
}

static struct host_mn_sub *mn_first(struct host_mm *mm)
{
	return atomic_load_explicit(&mm->mn_head, memory_order_acquire);
}

static struct host_mn_sub *mn_next(struct host_mn_sub *s)
{
	return atomic_load_explicit(&s->next, memory_order_acquire);
}

/*
 * __mmu_notifier_invalidate_range_start: newest subscriber first.  With a
 * non-blockable range (OOM reaper) every start still runs; if any failed,
 * invalidate_range_end goes to all of them and the caller must not call E
 * (mn_hlist_invalidate_range_start).
 */
int mn_invalidate_start(struct host_mm *mm, uint64_t start, uint64_t end,
			enum host_mn_event ev, bool blockable)
{
	int idx = host_srcu_read_lock(&mm->mn_srcu);
	int ret = 0;

	hsync_point("mn_start");
	for (struct host_mn_sub *s = mn_first(mm); s; s = mn_next(s)) {
		if (!s->ops->invalidate_range_start)
			continue;
		int r = s->ops->invalidate_range_start(s, s2_hva(start), s2_hva(end), ev, blockable);

		if (r && blockable)
			r = 0;	/* only a non-blockable start may fail (WARN in Linux) */
		if (r)
			ret = r;
	}
	if (ret)
		for (struct host_mn_sub *s = mn_first(mm); s; s = mn_next(s))
			if (s->ops->invalidate_range_end)
				s->ops->invalidate_range_end(s, s2_hva(start), s2_hva(end), ev, blockable);
	host_srcu_read_unlock(&mm->mn_srcu, idx);
	return ret;
}

/* __mmu_notifier_invalidate_range_end: list order. */
void mn_invalidate_end(struct host_mm *mm, uint64_t start, uint64_t end,
		       enum host_mn_event ev, bool blockable)
{
	int idx = host_srcu_read_lock(&mm->mn_srcu);

	for (struct host_mn_sub *s = mn_first(mm); s; s = mn_next(s))
		if (s->ops->invalidate_range_end)
			s->ops->invalidate_range_end(s, s2_hva(start), s2_hva(end), ev, blockable);
	host_srcu_read_unlock(&mm->mn_srcu, idx);
	hsync_point("mn_end");
}

/* The young notifiers OR the subscribers' answers (__mmu_notifier_*_young). */
int mn_clear_flush_young(struct host_mm *mm, uint64_t start, uint64_t end)
{
	int idx = host_srcu_read_lock(&mm->mn_srcu), young = 0;

	for (struct host_mn_sub *s = mn_first(mm); s; s = mn_next(s))
		if (s->ops->clear_flush_young)
			young |= s->ops->clear_flush_young(s, s2_hva(start), s2_hva(end));
	host_srcu_read_unlock(&mm->mn_srcu, idx);
	return young;
}

int mn_clear_young(struct host_mm *mm, uint64_t start, uint64_t end)
{
	int idx = host_srcu_read_lock(&mm->mn_srcu), young = 0;

	for (struct host_mn_sub *s = mn_first(mm); s; s = mn_next(s))
		if (s->ops->clear_young)
			young |= s->ops->clear_young(s, s2_hva(start), s2_hva(end));
	host_srcu_read_unlock(&mm->mn_srcu, idx);
	return young;
}

/* __mmu_notifier_test_young stops at the first subscriber that says young. */
int mn_test_young(struct host_mm *mm, uint64_t start, uint64_t end)
{
	int idx = host_srcu_read_lock(&mm->mn_srcu), young = 0;

	for (struct host_mn_sub *s = mn_first(mm); s && !young; s = mn_next(s))
		if (s->ops->test_young)
			young = s->ops->test_young(s, s2_hva(start), s2_hva(end));
	host_srcu_read_unlock(&mm->mn_srcu, idx);
	return young;
}

/* Exactly one ->release per subscriber, whichever of exit_mmap and
 * unregister gets there first (Linux can call it from both if they race;
 * the model picks the stricter contract the coherence core is written to). */
static void mn_call_release(struct host_mn_sub *s)
{
	if (atomic_exchange(&s->release_claimed, 1) == 0 && s->ops->release)
		s->ops->release(s);
}

/*
 * mn_hlist_release, from exit_mmap with every page still mapped: ->release
 * for each subscriber under SRCU, then unhash them all, then
 * synchronize_srcu so no callback of this mm runs after it returns.
 */
void mn_release(struct host_mm *mm)
{
	int idx = host_srcu_read_lock(&mm->mn_srcu);

	for (struct host_mn_sub *s = mn_first(mm); s; s = mn_next(s))
		mn_call_release(s);
	host_srcu_read_unlock(&mm->mn_srcu, idx);

	hsync_mutex_lock(&mm->mn_lock);
	for (struct host_mn_sub *s = mn_first(mm); s; s = mn_next(s))
		s->hashed = false;
	/* Detach the whole list; each node's next stays intact for readers
	 * that are still walking it until the grace period below ends. */
	atomic_store_explicit(&mm->mn_head, NULL, memory_order_release);
	hsync_storei(&mm->mn_released, 1);
	hsync_mutex_unlock(&mm->mn_lock);
	host_srcu_synchronize(&mm->mn_srcu);
}

int host_mn_register(struct host_mm *mm, struct host_mn_sub *sub)
{
	int ret = 0;

	if (!sub || !sub->ops)
		return -EINVAL;
	/* mmu_notifier_register: the address space must still have users;
	 * mmap_lock for write orders registration against every operation. */
	if (!host_mmget_not_zero(mm))
		return -ESRCH;
	hsync_write_lock(&mm->mmap_lock);
	hsync_mutex_lock(&mm->mn_lock);
	if (hsync_loadi(&mm->exited) || hsync_loadi(&mm->mn_released)) {
		ret = -ESRCH;
	} else if (sub->hashed) {
		ret = -EINVAL;
	} else {
		sub->mm = mm;
		atomic_store(&sub->release_claimed, 0);
		sub->hashed = true;
		atomic_store_explicit(&sub->next, mn_first(mm), memory_order_relaxed);
		host_mmgrab(mm);
		atomic_store_explicit(&mm->mn_head, sub, memory_order_release);
	}
	hsync_mutex_unlock(&mm->mn_lock);
	hsync_write_unlock(&mm->mmap_lock);
	host_mmput(mm);
	return ret;
}

void host_mn_unregister(struct host_mn_sub *sub)
{
	struct host_mm *mm = sub->mm;
	bool hashed;
	int idx;

	if (!mm)
		return;
	hsync_mutex_lock(&mm->mn_lock);
	hashed = sub->hashed;
	hsync_mutex_unlock(&mm->mn_lock);
	if (hashed) {
		/* mmu_notifier_unregister: ->release under SRCU first, so the
		 * secondary MMU is torn down while the pages are still mapped. */
		idx = host_srcu_read_lock(&mm->mn_srcu);
		mn_call_release(sub);
		host_srcu_read_unlock(&mm->mn_srcu, idx);

		hsync_mutex_lock(&mm->mn_lock);
		if (sub->hashed) {
			struct host_mn_sub *_Atomic *pp = &mm->mn_head;

			while (atomic_load(pp) != sub)
				pp = &atomic_load(pp)->next;
			atomic_store_explicit(pp, mn_next(sub), memory_order_release);
			sub->hashed = false;
		}
		hsync_mutex_unlock(&mm->mn_lock);
	}
	/* Waits for every callback in flight, including a ->release started
	 * by a concurrent exit_mmap. */
	host_srcu_synchronize(&mm->mn_srcu);
	sub->mm = NULL;
	host_mmdrop(mm);
}
