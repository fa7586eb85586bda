/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Frame accounting audit: recount every mapping from the page tables and
 * compare with the frames' counters.  The oracle of the randomized test,
 * and a cheap end-of-run check for the simulator.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "sim/host/host_internal.h"

struct audit {
	struct host_phys *phys;
	int32_t *map, *entire, *ref;
	uint32_t *swp;
	uint64_t swcap;
	char *msg;
	size_t len;
	int err;
};

static void fail(struct audit *au, const char *fmt, ...)
{
	va_list ap;

	if (au->err++)
		return;
	va_start(ap, fmt);
	vsnprintf(au->msg, au->len, fmt, ap);
	va_end(ap);
}

static void audit_table(struct audit *au, struct host_mm *mm, struct host_table *t,
			int level, uint64_t base)
{
	struct host_phys *phys = au->phys;

	for (unsigned i = 0; i < PTRS_PER_TABLE; i++) {
		uint64_t e = hsync_load64(&t->e[i]);
		uint64_t a = base + i * level_size(level), pfn;
		struct host_vma *v;

		if (pte_none(e))
			continue;
		if (pte_is_table(e, level)) {
			audit_table(au, mm, pte_table(e), level - 1, a);
			continue;
		}
		v = vma_find(mm, a);
		if (!v || a + level_size(level) > v->end)
			fail(au, "entry %#llx at %#llx (level %d) outside any VMA",
			     (unsigned long long)e, (unsigned long long)a, level);
		if (pte_is_swap(e)) {
			if (level != 1 || pte_pfn(e) >= au->swcap)
				fail(au, "bad swap entry %#llx", (unsigned long long)e);
			else
				au->swp[pte_pfn(e)]++;
			continue;
		}
		if (!pte_present(e)) {
			fail(au, "stray non-present entry %#llx at %#llx",
			     (unsigned long long)e, (unsigned long long)a);
			continue;
		}
		pfn = pte_pfn(e);
		if (e & HOST_PTE_SPECIAL) {
			if (!frame_is_io(phys, pfn))
				fail(au, "special entry to RAM pfn %#llx", (unsigned long long)pfn);
			continue;
		}
		if (pfn >= phys->nr_frames) {
			fail(au, "entry %#llx maps no RAM", (unsigned long long)e);
			continue;
		}
		if (phys->f[pfn].state == FR_FREE) {
			fail(au, "free frame %#llx mapped at %#llx",
			     (unsigned long long)pfn, (unsigned long long)a);
			continue;
		}
		if (level == 1) {
			au->map[pfn]++;
			au->ref[phys->f[pfn].head]++;
		} else {
			if (phys->f[pfn].head != pfn || phys->f[pfn].order != level_order(level))
				fail(au, "huge entry at %#llx maps pfn %#llx, not a folio of its size",
				     (unsigned long long)a, (unsigned long long)pfn);
			au->entire[pfn]++;
			au->ref[pfn]++;
		}
		if ((e & HOST_PTE_RW) && !(v && (v->prot & HOST_PROT_WRITE)))
			fail(au, "writable entry at %#llx in a read-only VMA", (unsigned long long)a);
		if ((e & HOST_PTE_RW) && (hsync_loadi(&phys->f[phys->f[pfn].head].flags) & FRF_KSM))
			fail(au, "KSM frame %#llx mapped writable", (unsigned long long)pfn);
	}
}

int host_audit(struct host_phys *phys, struct host_mm *const *mms, size_t nr_mms,
	       uint64_t (*extra_refs)(void *priv, uint64_t head_pfn), void *priv,
	       char *msg, size_t msglen)
{
	struct audit au = { .phys = phys, .msg = msg, .len = msglen };
	uint64_t nfree = 0, swused = 0;

	if (msglen)
		msg[0] = 0;
	au.map = calloc(phys->nr_frames, sizeof(int32_t));
	au.entire = calloc(phys->nr_frames, sizeof(int32_t));
	au.ref = calloc(phys->nr_frames, sizeof(int32_t));
	hsync_mutex_lock(&phys->swap.lock);
	au.swcap = phys->swap.cap;
	hsync_mutex_unlock(&phys->swap.lock);
	au.swp = calloc(au.swcap + 1, sizeof(uint32_t));
	if (!au.map || !au.entire || !au.ref || !au.swp)
		abort();
	for (size_t i = 0; i < nr_mms; i++) {
		struct host_mm *mm = mms[i];

		if (!mm || hsync_loadi(&mm->exited))
			continue;
		hsync_read_lock(&mm->mmap_lock);
		hsync_mutex_lock(&mm->ptl);
		for (struct host_vma *v = mm->vmas; v && v->next; v = v->next)
			if (v->end > v->next->start)
				fail(&au, "VMAs overlap at %#llx", (unsigned long long)v->next->start);
		if (mm->pgd)
			audit_table(&au, mm, mm->pgd, 4, 0);
		hsync_mutex_unlock(&mm->ptl);
		hsync_read_unlock(&mm->mmap_lock);
	}
	hsync_mutex_lock(&phys->lock);
	for (uint64_t pfn = 0; pfn < phys->nr_frames; pfn++) {
		struct host_frame *f = &phys->f[pfn];

		if (f->state == FR_FREE) {
			nfree++;
			continue;
		}
		if (hsync_loadi(&f->mapcount) != au.map[pfn])
			fail(&au, "pfn %#llx mapcount %d, page tables say %d",
			     (unsigned long long)pfn, hsync_loadi(&f->mapcount), au.map[pfn]);
		if (f->state == FR_HEAD) {
			int64_t want = au.ref[pfn] + (extra_refs ? (int64_t)extra_refs(priv, pfn) : 0);

			if (hsync_loadi(&f->entire_mapcount) != au.entire[pfn])
				fail(&au, "folio %#llx entire_mapcount %d, page tables say %d",
				     (unsigned long long)pfn, hsync_loadi(&f->entire_mapcount),
				     au.entire[pfn]);
			if (hsync_loadi(&f->refcount) != want)
				fail(&au, "folio %#llx refcount %d, expected %lld (%s)",
				     (unsigned long long)pfn, hsync_loadi(&f->refcount),
				     (long long)want, want ? "mappings + extra" : "leaked");
		}
	}
	if (nfree != hsync_load64(&phys->nr_free))
		fail(&au, "free list holds %llu frames, counter says %llu",
		     (unsigned long long)nfree, (unsigned long long)hsync_load64(&phys->nr_free));
	hsync_mutex_unlock(&phys->lock);
	hsync_mutex_lock(&phys->swap.lock);
	for (uint64_t s = 0; s < au.swcap; s++) {
		if (phys->swap.count[s] != au.swp[s])
			fail(&au, "swap slot %llu count %u, entries %u", (unsigned long long)s,
			     phys->swap.count[s], au.swp[s]);
		swused += phys->swap.count[s] != 0;
	}
	if (swused != phys->swap.used)
		fail(&au, "swap used %llu, counted %llu", (unsigned long long)phys->swap.used,
		     (unsigned long long)swused);
	hsync_mutex_unlock(&phys->swap.lock);
	free(au.map);
	free(au.entire);
	free(au.ref);
	free(au.swp);
	return au.err ? -1 : 0;
}
