/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The mm: lifetime (mm_users / mm_count), VMAs, and the operations that
 * change the address space layout or zap ranges: mmap, munmap,
 * madvise(DONTNEED), mprotect, fork, exit_mmap and the OOM reaper.
 */
#include <stdlib.h>
#include "sim/host/host_internal.h"

/* ------------------------------------------------------------ lifetime */

struct host_mm *host_mm_create(struct host_phys *phys)
{
	struct host_mm *mm = calloc(1, sizeof(*mm));

	if (!mm)
		return NULL;
	mm->phys = phys;
	hsync_storei64(&mm->mm_users, 1);
	hsync_storei64(&mm->mm_count, 1);
	hsync_rwlock_init(&mm->mmap_lock);
	hsync_mutex_init(&mm->ptl);
	hsync_mutex_init(&mm->mn_lock);
	host_srcu_init(&mm->walk_srcu);
	host_srcu_init(&mm->mn_srcu);
	mm->pgd = table_alloc();
	return mm;
}

struct host_phys *host_mm_phys(const struct host_mm *mm) { return mm->phys; }
int64_t host_mm_users(struct host_mm *mm) { return hsync_loadi64(&mm->mm_users); }
int64_t host_mm_count(struct host_mm *mm) { return hsync_loadi64(&mm->mm_count); }
bool host_mm_exited(struct host_mm *mm) { return hsync_loadi(&mm->exited); }

void host_mmget(struct host_mm *mm) { hsync_addi64(&mm->mm_users, 1); }

bool host_mmget_not_zero(struct host_mm *mm)
{
	int64_t u = hsync_loadi64(&mm->mm_users);

	while (u > 0)
		if (hsync_cmpxchgi64(&mm->mm_users, &u, u + 1))
			return true;
	return false;
}

void host_mmgrab(struct host_mm *mm) { hsync_addi64(&mm->mm_count, 1); }

/* __mmdrop: only the struct and the notifier registry remain to free. */
void host_mmdrop(struct host_mm *mm)
{
	int64_t c = hsync_addi64(&mm->mm_count, -1);

	if (c < 0)
		abort();
	if (c)
		return;
	host_srcu_destroy(&mm->walk_srcu);
	host_srcu_destroy(&mm->mn_srcu);
	hsync_mutex_destroy(&mm->mn_lock);
	hsync_mutex_destroy(&mm->ptl);
	hsync_rwlock_destroy(&mm->mmap_lock);
	free(mm);
}

static void exit_mmap(struct host_mm *mm);

/* mmput -> __mmput -> exit_mmap, then the users' mm_count. */
void host_mmput(struct host_mm *mm)
{
	int64_t u = hsync_addi64(&mm->mm_users, -1);

	if (u < 0)
		abort();
	if (u)
		return;
	exit_mmap(mm);
	host_mmdrop(mm);
}

void host_mmap_read_lock(struct host_mm *mm) { hsync_read_lock(&mm->mmap_lock); }
void host_mmap_read_unlock(struct host_mm *mm) { hsync_read_unlock(&mm->mmap_lock); }

/* ---------------------------------------------------------------- VMAs */

struct host_vma *vma_find(struct host_mm *mm, uint64_t addr)
{
	for (struct host_vma *v = mm->vmas; v && v->start <= addr; v = v->next)
		if (addr < v->end)
			return v;
	return NULL;
}

bool vma_is_hugetlb(const struct host_vma *v)
{
	return v->kind == HOST_VMA_HUGETLB_2M || v->kind == HOST_VMA_HUGETLB_1G;
}

uint64_t vma_huge_size(const struct host_vma *v)
{
	return v->kind == HOST_VMA_HUGETLB_1G ? HOST_PUD_SIZE :
	       v->kind == HOST_VMA_HUGETLB_2M ? HOST_PMD_SIZE : HOST_PAGE_SIZE;
}

/* is_cow_mapping: private and VM_MAYWRITE.  Anonymous VMAs are private and
 * may always be made writable; hugetlb here is shared and PFNMAP is
 * VM_SHARED|VM_PFNMAP, so fork shares their pages without write-protect. */
bool vma_is_cow(const struct host_vma *v)
{
	return v->kind == HOST_VMA_ANON || v->kind == HOST_VMA_THP;
}

int vma_range_covered(struct host_mm *mm, uint64_t start, uint64_t end)
{
	uint64_t at = start;

	for (struct host_vma *v = vma_find(mm, start); v && at < end; v = v->next) {
		if (v->start > at)
			return -ENOMEM;
		at = v->end;
	}
	return at >= end ? 0 : -ENOMEM;
}

static int check_range(uint64_t start, uint64_t len, uint64_t *end)
{
	if (!len || (start | len) & (HOST_PAGE_SIZE - 1))
		return -EINVAL;
	if (start >= HOST_TASK_SIZE || len > HOST_TASK_SIZE - start)
		return -EINVAL;
	*end = start + len;
	return 0;
}

/* hugetlb VMAs are cut and zapped only at huge-page boundaries (Linux's
 * hugetlb_vm_op_split refuses an unaligned split with -EINVAL). */
static int check_huge_align(struct host_mm *mm, uint64_t start, uint64_t end)
{
	for (struct host_vma *v = vma_find(mm, start); v && v->start < end; v = v->next) {
		uint64_t hs = vma_huge_size(v);
		uint64_t s = start > v->start ? start : v->start;
		uint64_t e = end < v->end ? end : v->end;

		if ((s | e) & (hs - 1))
			return -EINVAL;
	}
	return 0;
}

/* What munmap, madvise and mprotect all check under mmap_lock before
 * touching [start, end): a live mm, VMAs covering it all, hugetlb cut
 * only at its page size. */
static int range_ok(struct host_mm *mm, uint64_t start, uint64_t end)
{
	int r;

	if (hsync_loadi(&mm->exited))
		return -ESRCH;
	r = vma_range_covered(mm, start, end);
	return r ? r : check_huge_align(mm, start, end);
}

static bool vma_overlaps(struct host_mm *mm, uint64_t start, uint64_t end)
{
	for (struct host_vma *v = mm->vmas; v && v->start < end; v = v->next)
		if (v->end > start)
			return true;
	return false;
}

static void vma_insert(struct host_mm *mm, struct host_vma *nv)
{
	struct host_vma **pp = &mm->vmas;

	while (*pp && (*pp)->start < nv->start)
		pp = &(*pp)->next;
	nv->next = *pp;
	*pp = nv;
}

static void vma_free(struct host_vma *v)
{
	free(v->pfns);
	free(v);
}

/*
 * __split_vma at @at, preceded by vma_adjust_trans_huge: a THP PMD that
 * would straddle the new boundary is split first, with its own S/E, before
 * the operation's own notifier pair begins.
 */
static void split_vma_at(struct host_mm *mm, uint64_t at)
{
	struct host_vma *v = vma_find(mm, at), *nv;
	uint64_t off;

	if (!v || v->start == at)
		return;
	if (v->kind == HOST_VMA_THP && (at & (HOST_PMD_SIZE - 1)))
		split_huge_pmd(mm, v, at);
	nv = malloc(sizeof(*nv));
	if (!nv)
		abort();
	*nv = *v;
	off = (at - v->start) >> HOST_PAGE_SHIFT;
	nv->start = at;
	nv->pgoff = v->pgoff + off;
	if (v->pfns) {
		uint64_t n = (v->end - at) >> HOST_PAGE_SHIFT;

		nv->pfns = malloc(n * sizeof(uint64_t));
		if (!nv->pfns)
			abort();
		memcpy(nv->pfns, v->pfns + off, n * sizeof(uint64_t));
	}
	v->end = at;
	v->next = nv;
}

/* munmap and mprotect: mmap_lock for write, the range checked, and the
 * VMAs split at both ends so that whole VMAs are edited.  Return: 0 with
 * the lock held, or range_ok()'s error with it dropped. */
static int lock_and_split(struct host_mm *mm, uint64_t start, uint64_t end)
{
	int r;

	hsync_write_lock(&mm->mmap_lock);
	r = range_ok(mm, start, end);
	if (r) {
		hsync_write_unlock(&mm->mmap_lock);
		return r;
	}
	split_vma_at(mm, start);
	split_vma_at(mm, end);
	return 0;
}

static void fill_info(const struct host_vma *v, struct host_vma_info *out)
{
	out->start = v->start;
	out->end = v->end;
	out->kind = v->kind;
	out->prot = v->prot;
	out->pgoff = v->pgoff;
	out->flat = v->kind == HOST_VMA_PFNMAP && !v->pfns;
	out->cow = vma_is_cow(v);
}

int host_vma_query_locked(struct host_mm *mm, s2_hva_t hva, struct host_vma_info *out)
{
	struct host_vma *v;

	if (hsync_loadi(&mm->exited))
		return -ESRCH;
	v = vma_find(mm, hva.v);
	if (!v)
		return -EFAULT;
	fill_info(v, out);
	return 0;
}

int host_vma_query(struct host_mm *mm, s2_hva_t hva, struct host_vma_info *out)
{
	int r;

	hsync_read_lock(&mm->mmap_lock);
	r = host_vma_query_locked(mm, hva, out);
	hsync_read_unlock(&mm->mmap_lock);
	return r;
}

/* ---------------------------------------------------------------- mmap */

static int mmap_common(uint64_t start, uint64_t len,
		       enum host_vma_kind kind, unsigned prot, struct host_vma **out)
{
	uint64_t end;
	struct host_vma *v;
	int r = check_range(start, len, &end);

	if (r)
		return r;
	if (!(prot & HOST_PROT_READ) || (prot & ~(HOST_PROT_READ | HOST_PROT_WRITE)))
		return -EINVAL;
	if ((unsigned)kind > HOST_VMA_PFNMAP)
		return -EINVAL;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->start = start;
	v->end = end;
	v->kind = kind;
	v->prot = prot;
	v->pgoff = start >> HOST_PAGE_SHIFT;	/* anonymous: vm_pgoff = addr >> PAGE_SHIFT */
	if ((start | end) & (vma_huge_size(v) - 1)) {
		free(v);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int host_mmap(struct host_mm *mm, s2_hva_t addr, uint64_t len,
	      enum host_vma_kind kind, unsigned prot)
{
	struct host_vma *v;
	int r;

	if (kind == HOST_VMA_PFNMAP)
		return -EINVAL;		/* needs its frames: host_mmap_pfnmap */
	r = mmap_common(addr.v, len, kind, prot, &v);
	if (r)
		return r;
	hsync_write_lock(&mm->mmap_lock);
	if (hsync_loadi(&mm->exited))
		r = -ESRCH;
	else if (vma_overlaps(mm, v->start, v->end))
		r = -EEXIST;
	else
		vma_insert(mm, v);
	hsync_write_unlock(&mm->mmap_lock);
	if (r)
		free(v);
	return r;
}

/* remap_pfn_range: the whole range is populated at mmap time with special
 * entries (no struct page, no refcount); no notifier, nothing was mapped. */
int host_mmap_pfnmap(struct host_mm *mm, s2_hva_t addr, uint64_t len,
		     unsigned prot, uint64_t pgoff, const uint64_t *pfns)
{
	struct host_vma *v;
	uint64_t n;
	int r = mmap_common(addr.v, len, HOST_VMA_PFNMAP, prot, &v);

	if (r)
		return r;
	n = len >> HOST_PAGE_SHIFT;
	v->pgoff = pgoff;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t pfn = pfns ? pfns[i] : pgoff + i;

		if (!host_pfn_is_io(mm->phys, pfn)) {
			free(v);
			return -EINVAL;
		}
	}
	if (pfns) {
		v->pfns = malloc(n * sizeof(uint64_t));
		if (!v->pfns) {
			free(v);
			return -ENOMEM;
		}
		memcpy(v->pfns, pfns, n * sizeof(uint64_t));
	}
	hsync_write_lock(&mm->mmap_lock);
	if (hsync_loadi(&mm->exited))
		r = -ESRCH;
	else if (vma_overlaps(mm, v->start, v->end))
		r = -EEXIST;
	if (r) {
		hsync_write_unlock(&mm->mmap_lock);
		vma_free(v);
		return r;
	}
	vma_insert(mm, v);
	hsync_mutex_lock(&mm->ptl);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t a = v->start + i * HOST_PAGE_SIZE;
		int l;
		hsync_u64 *ep = pt_walk(mm, a, 1, true, &l);

		pt_set(mm, ep, a, 1, mk_leaf(pfns ? pfns[i] : pgoff + i, 1, prot & HOST_PROT_WRITE) |
		       HOST_PTE_SPECIAL);
	}
	hsync_mutex_unlock(&mm->ptl);
	hsync_write_unlock(&mm->mmap_lock);
	return 0;
}

/* ----------------------------------------------------------------- zap */

void migration_wait(void)
{
	/* migration_entry_wait: sleep until the migration that owns the
	 * entry finishes; it holds nothing this thread holds except
	 * mmap_lock for read, so yielding and re-walking is enough. */
	hsync_yield();
}

/*
 * zap_pte_range / zap_pmd_range: clear each entry under the page-table
 * lock, record the flush range, and queue the page: its PTE reference is
 * dropped in tlb_finish_mmu after E and the flush, unless the batch fills
 * and forces a flush and free mid-range (before E).  A huge PMD only partly
 * inside the range is split first (__split_huge_pmd, nested S/E CLEAR).
 */
void zap_range(struct host_mm *mm, struct host_vma *v, uint64_t start, uint64_t end,
	       struct gather *g)
{
	struct host_phys *phys = mm->phys;
	uint64_t addr = start;

	while (addr < end) {
		hsync_u64 *ep;
		uint64_t e, sz, base, next;
		int l;

		hsync_mutex_lock(&mm->ptl);
		ep = pt_walk(mm, addr, 1, false, &l);
		if (!ep) {
			hsync_mutex_unlock(&mm->ptl);
			break;
		}
		e = hsync_load64(ep);
		sz = level_size(l);
		base = addr & ~(sz - 1);
		next = base + sz;
		if (pte_none(e)) {
			hsync_mutex_unlock(&mm->ptl);
			addr = next;
			continue;
		}
		if (pte_is_migr(e)) {
			hsync_mutex_unlock(&mm->ptl);
			migration_wait();
			continue;
		}
		if (pte_is_swap(e)) {
			pt_set(mm, ep, base, l, 0);
			swap_free(phys, pte_pfn(e));
			hsync_mutex_unlock(&mm->ptl);
			addr = next;
			continue;
		}
		if (l > 1 && (base < start || next > end)) {
			hsync_mutex_unlock(&mm->ptl);
			if (v->kind != HOST_VMA_THP || l != 2)
				abort();	/* callers align hugetlb ranges */
			split_huge_pmd(mm, v, addr);
			continue;
		}
		pt_set(mm, ep, base, l, 0);
		gather_range(g, base, next);
		if (!(e & HOST_PTE_SPECIAL)) {
			mapcount_dec(phys, e, l);
			gather_page(g, pte_pfn(e));
		}
		hsync_mutex_unlock(&mm->ptl);
		if (g->n >= GATHER_BATCH_MAX)
			gather_flush_pages(mm, g);
		addr = next;
	}
	/* tlb_end_vma: x86 merges VMAs into one flush, except VM_PFNMAP. */
	if (v->kind == HOST_VMA_PFNMAP && g->fl_start < g->fl_end) {
		trace_flush(mm, g->fl_start, g->fl_end);
		g->fl_start = UINT64_MAX;
		g->fl_end = 0;
	}
}

/* free_pgd_range: unlink the table pages whose whole span no longer has a
 * VMA; they are freed in tlb_finish_mmu after the flush and after lockless
 * walkers are out.  Caller holds mmap_lock for write and ptl. */
static void free_empty_tables(struct host_mm *mm, struct host_table *t, int level,
			      uint64_t base, uint64_t start, uint64_t end, struct gather *g)
{
	uint64_t sz = level_size(level);

	for (unsigned i = 0; i < PTRS_PER_TABLE; i++) {
		uint64_t cs = base + i * sz, ce = cs + sz;
		uint64_t e;

		if (ce <= start || cs >= end)
			continue;
		e = hsync_load64(&t->e[i]);
		if (!pte_is_table(e, level))
			continue;
		if (!vma_overlaps(mm, cs, ce)) {
			hsync_store64(&t->e[i], 0);
			pt_collect_tables(pte_table(e), level - 1, g);
		} else if (level - 1 >= 2) {
			free_empty_tables(mm, pte_table(e), level - 1, cs, start, end, g);
		}
	}
}

/* -------------------------------------------------------------- munmap */

/* __vm_munmap -> do_mas_align_munmap -> unmap_region: one S/E pair over
 * the whole range, then free_pgtables, then tlb_finish_mmu (FL, tables,
 * FREE).  mmap_lock stays held for write (Linux downgrades to read; no
 * operation of this model needs the difference). */
int host_munmap(struct host_mm *mm, s2_hva_t addr, uint64_t len)
{
	struct host_vma *dead = NULL, **pp;
	struct gather g;
	uint64_t start = addr.v, end;
	int r = check_range(start, len, &end);

	if (r)
		return r;
	r = lock_and_split(mm, start, end);
	if (r)
		return r;

	gather_init(&g);
	mn_invalidate_start(mm, start, end, HOST_MN_UNMAP, true);
	for (struct host_vma *v = vma_find(mm, start); v && v->start < end; v = v->next)
		zap_range(mm, v, v->start, v->end, &g);
	mn_invalidate_end(mm, start, end, HOST_MN_UNMAP, true);

	/* detach the VMAs, then free_pgtables over the hole */
	{
		struct host_vma *last = NULL, *q;

		for (pp = &mm->vmas; *pp && (*pp)->start < start; pp = &(*pp)->next)
			;
		for (q = *pp; q && q->start < end; q = q->next)
			last = q;
		if (last) {
			dead = *pp;
			last->next = NULL;
			*pp = q;
		}
	}
	hsync_mutex_lock(&mm->ptl);
	free_empty_tables(mm, mm->pgd, 4, 0, start, end, &g);
	hsync_mutex_unlock(&mm->ptl);
	gather_finish(mm, &g);
	while (dead) {
		struct host_vma *n = dead->next;

		vma_free(dead);
		dead = n;
	}
	hsync_write_unlock(&mm->mmap_lock);
	return 0;
}

/* ------------------------------------------------------------- madvise */

/* madvise_dontneed_single_vma -> zap_page_range_single, per VMA:
 * tlb_gather, S(CLEAR), zap, E, tlb_finish_mmu (FL, FREE).  Tables stay. */
int host_madvise_dontneed(struct host_mm *mm, s2_hva_t addr, uint64_t len)
{
	uint64_t start = addr.v, end;
	int r = check_range(start, len, &end);

	if (r)
		return r;
	hsync_read_lock(&mm->mmap_lock);
	r = range_ok(mm, start, end);
	for (struct host_vma *v = vma_find(mm, start); !r && v && v->start < end; v = v->next)
		if (v->kind == HOST_VMA_PFNMAP)
			r = -EINVAL;	/* VM_PFNMAP is VM_SPECIAL: madvise refuses */
	if (r) {
		hsync_read_unlock(&mm->mmap_lock);
		return r;
	}
	for (struct host_vma *v = vma_find(mm, start); v && v->start < end; v = v->next) {
		uint64_t s = start > v->start ? start : v->start;
		uint64_t e = end < v->end ? end : v->end;
		struct gather g;

		gather_init(&g);
		mn_invalidate_start(mm, s, e, HOST_MN_CLEAR, true);
		zap_range(mm, v, s, e, &g);
		mn_invalidate_end(mm, s, e, HOST_MN_CLEAR, true);
		gather_finish(mm, &g);
	}
	hsync_read_unlock(&mm->mmap_lock);
	return 0;
}

/* ------------------------------------------------------------ mprotect */

/* ptep_modify_prot_start / ptep_modify_prot_commit: the entry is briefly
 * none, then gets the new protection.  Caller holds ptl. */
static void modify_prot(struct host_mm *mm, hsync_u64 *ep, uint64_t base, int l, uint64_t nv)
{
	pt_set(mm, ep, base, l, 0);
	pt_set(mm, ep, base, l, nv);
}

/* hugetlb_change_protection: one S/E over the range, FL before E. */
static void change_prot_hugetlb(struct host_mm *mm, struct host_vma *v, uint64_t s,
				uint64_t e, bool wp)
{
	uint64_t hs = vma_huge_size(v);
	int want = hs == HOST_PUD_SIZE ? 3 : 2;

	mn_invalidate_start(mm, s, e, HOST_MN_PROTECTION_VMA, true);
	for (uint64_t a = s; a < e; a += hs) {
		int l;
		hsync_u64 *ep;
		uint64_t ev;

		hsync_mutex_lock(&mm->ptl);
		ep = pt_walk(mm, a, want, false, &l);
		ev = ep ? hsync_load64(ep) : 0;
		if (ep && l == want && pte_is_leaf(ev, l) && wp && (ev & HOST_PTE_RW))
			modify_prot(mm, ep, a, l, ev & ~HOST_PTE_RW);
		hsync_mutex_unlock(&mm->ptl);
	}
	/* flush_hugetlb_tlb_range runs before E, changed or not */
	trace_flush(mm, s, e);
	mn_invalidate_end(mm, s, e, HOST_MN_PROTECTION_VMA, true);
}

/*
 * change_protection -> change_pud_range -> change_pmd_range: per PUD-sized
 * chunk, S(PROTECTION_VMA) starts lazily at the first populated PMD and
 * runs to the chunk end; E after the chunk's PMD loop.  Returns whether an
 * entry lost write permission (pte_needs_flush).
 */
static bool change_prot_range(struct host_mm *mm, struct host_vma *v, uint64_t s,
			      uint64_t e, bool wp, struct gather *g)
{
	bool changed = false;

	for (uint64_t chunk = s; chunk < e;) {
		uint64_t cend = (chunk | (HOST_PUD_SIZE - 1)) + 1;
		uint64_t rstart = 0;
		bool started = false;

		if (cend > e)
			cend = e;
		for (uint64_t a = chunk; a < cend;) {
			uint64_t pnext = (a | (HOST_PMD_SIZE - 1)) + 1, pmdv;
			hsync_u64 *ep;
			int l;

			if (pnext > cend)
				pnext = cend;
			hsync_mutex_lock(&mm->ptl);
			ep = pt_walk(mm, a, 2, false, &l);
			pmdv = ep ? hsync_load64(ep) : 0;
			hsync_mutex_unlock(&mm->ptl);
			if (!ep || l != 2)
				break;	/* pud_none: nothing below, no S for this chunk */
			if (pte_none(pmdv)) {
				a = pnext;
				continue;
			}
			if (!started) {
				rstart = a;
				mn_invalidate_start(mm, rstart, cend, HOST_MN_PROTECTION_VMA, true);
				started = true;
			}
			if (pte_is_leaf(pmdv, 2) && ((a & (HOST_PMD_SIZE - 1)) || pnext - a < HOST_PMD_SIZE)) {
				split_huge_pmd(mm, v, a);
				continue;	/* redo this PMD as a table */
			}
			hsync_mutex_lock(&mm->ptl);
			if (pte_is_leaf(pmdv, 2)) {
				/* change_huge_pmd: pmdp_invalidate_ad, set_pmd_at */
				uint64_t cur = hsync_load64(ep);

				if (wp && pte_is_leaf(cur, 2) && (cur & HOST_PTE_RW)) {
					modify_prot(mm, ep, a, 2, cur & ~HOST_PTE_RW);
					gather_range(g, a, pnext);
					changed = true;
				}
			} else {
				for (uint64_t p = a; p < pnext; p += HOST_PAGE_SIZE) {
					hsync_u64 *pp = pt_walk(mm, p, 1, false, &l);
					uint64_t pv = pp && l == 1 ? hsync_load64(pp) : 0;

					if (wp && pte_present(pv) && (pv & HOST_PTE_RW)) {
						modify_prot(mm, pp, p, 1, pv & ~HOST_PTE_RW);
						gather_range(g, p, p + HOST_PAGE_SIZE);
						changed = true;
					}
				}
			}
			hsync_mutex_unlock(&mm->ptl);
			a = pnext;
		}
		if (started)
			mn_invalidate_end(mm, rstart, cend, HOST_MN_PROTECTION_VMA, true);
		chunk = cend;
	}
	return changed;
}

/*
 * do_mprotect_pkey -> mprotect_fixup -> change_protection, one gather for
 * the whole call so the FL comes once, after every E.  Adding write changes
 * the VMA only: PTEs stay read-only until a write fault reuses the page.
 */
int host_mprotect(struct host_mm *mm, s2_hva_t addr, uint64_t len, unsigned prot)
{
	uint64_t start = addr.v, end;
	struct gather g;
	bool wp;
	int r = check_range(start, len, &end);

	if (r)
		return r;
	if (!(prot & HOST_PROT_READ) || (prot & ~(HOST_PROT_READ | HOST_PROT_WRITE)))
		return -EINVAL;
	wp = !(prot & HOST_PROT_WRITE);
	r = lock_and_split(mm, start, end);
	if (r)
		return r;
	gather_init(&g);
	for (struct host_vma *v = vma_find(mm, start); v && v->start < end; v = v->next) {
		if (vma_is_hugetlb(v)) {
			/* flushed before its E already */
			change_prot_hugetlb(mm, v, v->start, v->end, wp);
		} else {
			change_prot_range(mm, v, v->start, v->end, wp, &g);
		}
		v->prot = prot;
	}
	gather_finish(mm, &g);
	hsync_write_unlock(&mm->mmap_lock);
	return 0;
}

/* ---------------------------------------------------------------- fork */

/* copy_page_range for one VMA; COW mappings are write-protected in the
 * parent inside S/E(PROTECTION_PAGE) (copy_present_pte ptep_set_wrprotect). */
static void copy_vma_range(struct host_mm *parent, struct host_mm *child, struct host_vma *v)
{
	struct host_phys *phys = parent->phys;
	bool cow = vma_is_cow(v);

	if (cow)
		mn_invalidate_start(parent, v->start, v->end, HOST_MN_PROTECTION_PAGE, true);
	for (uint64_t a = v->start; a < v->end;) {
		hsync_u64 *ep, *cep;
		uint64_t e, ce, base, next;
		int l, cl;

		hsync_mutex_lock(&parent->ptl);
		ep = pt_walk(parent, a, 1, false, &l);
		if (!ep) {
			hsync_mutex_unlock(&parent->ptl);
			break;
		}
		e = hsync_load64(ep);
		base = a & ~(level_size(l) - 1);
		next = base + level_size(l);
		if (pte_none(e)) {
			hsync_mutex_unlock(&parent->ptl);
			a = next;
			continue;
		}
		hsync_mutex_lock(&child->ptl);
		cep = pt_walk(child, base, l, true, &cl);
		ce = e;
		if (pte_is_swap(e)) {
			swap_dup(phys, pte_pfn(e));
		} else if (pte_present(e)) {
			if (cow && (e & HOST_PTE_RW))
				pt_set(parent, ep, base, l, e & ~HOST_PTE_RW);
			if (cow)
				ce = e & ~(HOST_PTE_RW | HOST_PTE_D);
			if (!(e & HOST_PTE_SPECIAL)) {
				host_frame_get(phys, pte_pfn(e));
				mapcount_inc(phys, ce, l);
			}
		}
		pt_set(child, cep, base, l, ce);
		hsync_mutex_unlock(&child->ptl);
		hsync_mutex_unlock(&parent->ptl);
		a = next;
	}
	if (cow)
		mn_invalidate_end(parent, v->start, v->end, HOST_MN_PROTECTION_PAGE, true);
}

/* dup_mmap: VMAs copied in order, the parent's TLB flushed once at the end
 * (flush_tlb_mm), after every E. */
int host_fork(struct host_mm *parent, struct host_mm **childp)
{
	struct host_mm *child;

	hsync_write_lock(&parent->mmap_lock);
	if (hsync_loadi(&parent->exited) || !hsync_loadi64(&parent->mm_users)) {
		hsync_write_unlock(&parent->mmap_lock);
		return -ESRCH;
	}
	child = host_mm_create(parent->phys);
	if (!child) {
		hsync_write_unlock(&parent->mmap_lock);
		return -ENOMEM;
	}
	hsync_write_lock(&child->mmap_lock);
	for (struct host_vma *v = parent->vmas; v; v = v->next) {
		struct host_vma *nv = malloc(sizeof(*nv));

		if (!nv)
			abort();
		*nv = *v;
		nv->next = NULL;
		if (v->pfns) {
			size_t n = (v->end - v->start) >> HOST_PAGE_SHIFT;

			nv->pfns = malloc(n * sizeof(uint64_t));
			if (!nv->pfns)
				abort();
			memcpy(nv->pfns, v->pfns, n * sizeof(uint64_t));
		}
		vma_insert(child, nv);
		copy_vma_range(parent, child, v);
	}
	hsync_write_unlock(&child->mmap_lock);
	trace_flush(parent, 0, HOST_TASK_SIZE);
	hsync_write_unlock(&parent->mmap_lock);
	*childp = child;
	return 0;
}

/* ---------------------------------------------------------------- exit */

/*
 * exit_mmap: mmu_notifier_release first, with every page still mapped (the
 * secondary MMU tears down while the frames are still owned), then the
 * fullmm unmap: S(UNMAP, everything) reaches no subscriber any more, the
 * tables are detached and freed after lockless walkers, and the pages are
 * freed last.
 */
static void exit_mmap(struct host_mm *mm)
{
	struct host_table *root;
	struct gather g;

	mn_release(mm);
	hsync_write_lock(&mm->mmap_lock);
	hsync_storei(&mm->exited, 1);
	gather_init(&g);
	mn_invalidate_start(mm, 0, HOST_TASK_SIZE, HOST_MN_UNMAP, true);
	for (struct host_vma *v = mm->vmas; v; v = v->next)
		zap_range(mm, v, v->start, v->end, &g);
	mn_invalidate_end(mm, 0, HOST_TASK_SIZE, HOST_MN_UNMAP, true);
	hsync_mutex_lock(&mm->ptl);
	root = mm->pgd;
	atomic_store(&mm->pgd, NULL);
	hsync_mutex_unlock(&mm->ptl);
	pt_collect_tables(root, 4, &g);
	gather_range(&g, 0, HOST_TASK_SIZE);	/* tlb_gather_mmu_fullmm */
	gather_finish(mm, &g);
	while (mm->vmas) {
		struct host_vma *n = mm->vmas->next;

		vma_free(mm->vmas);
		mm->vmas = n;
	}
	hsync_write_unlock(&mm->mmap_lock);
}

/* ------------------------------------------------------------ oom reap */

/* __oom_reap_task_mm: non-blockable S per private anonymous VMA; a
 * subscriber that cannot invalidate without sleeping makes the VMA skipped
 * (the start dispatch already ended everyone, the caller must not call E). */
int host_oom_reap(struct host_mm *mm)
{
	int ret = 0;

	hsync_read_lock(&mm->mmap_lock);
	if (hsync_loadi(&mm->exited)) {
		hsync_read_unlock(&mm->mmap_lock);
		return -ESRCH;
	}
	for (struct host_vma *v = mm->vmas; v; v = v->next) {
		struct gather g;

		if (!vma_is_cow(v))
			continue;	/* hugetlb, PFNMAP, shared: skipped by the reaper */
		gather_init(&g);
		if (mn_invalidate_start(mm, v->start, v->end, HOST_MN_UNMAP, false)) {
			gather_finish(mm, &g);
			ret = -EAGAIN;
			continue;
		}
		zap_range(mm, v, v->start, v->end, &g);
		mn_invalidate_end(mm, v->start, v->end, HOST_MN_UNMAP, false);
		gather_finish(mm, &g);
	}
	hsync_read_unlock(&mm->mmap_lock);
	return ret;
}
