/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * vCPUs: per-vCPU TLB and walk cache, the hardware walk of the live
 * stage-2 table, access-flag / dirty-state updates, the data cache of the
 * non-FWB case, and the oracle's checks of every completed access.
 *
 * The vCPU lock is held from the TLB lookup to the end of the access, and
 * the TLBI observer takes it to drop entries: an invalidation therefore
 * completes only after every walk that might have read the old entry has
 * either been dropped or not yet started (the DSB that ends a TLBI waits
 * for walks in flight).  s2_vm_fault is always called without it: the
 * fault path issues TLBIs, which would wait for this very lock.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "sim/machine/internal.h"

enum { W_OK, W_TRANS, W_PERM, W_AF, W_GONE, W_RETRY };

struct walk_out {
	int level;
	uint64_t base, pa, clock, walk_clock;
	bool w, wclean, device;
};

static uint64_t tlb_tag(uint64_t base, int level)
{
	return base | (uint64_t)(level + 2);
}

static unsigned tlb_idx(const struct machine *m, uint64_t base, int level)
{
	uint64_t k = (base >> m->shift[S2_LVL(level)]) ^ ((uint64_t)(level + 2) << 8);

	return (unsigned)((k * 0x9e3779b97f4a7c15ULL) >> 54) & (TLB_N - 1);
}

static struct tlb_ent *tlb_lookup(struct mach_vcpu *v, uint64_t ipa)
{
	const struct machine *m = v->m;
	int l;

	for (l = m->last_level; l >= m->start_level; l--) {
		uint64_t base;
		struct tlb_ent *e;

		if (!m->leaf_ok[S2_LVL(l)])
			continue;
		base = ipa & ~(m->span[S2_LVL(l)] - 1);
		e = &v->tlb[tlb_idx(m, base, l)];
		if (ldr(&e->tag) == tlb_tag(base, l))
			return e;
	}
	return NULL;
}

/* Writers hold the owner's lock; the sequence count is for I5's readers. */
static void tlb_begin(struct tlb_ent *e)
{
	__atomic_store_n(&e->seq, e->seq + 1, __ATOMIC_SEQ_CST);
}

static void tlb_end(struct tlb_ent *e)
{
	__atomic_store_n(&e->seq, e->seq + 1, __ATOMIC_SEQ_CST);
}

static void tlb_drop(struct machine *m, struct tlb_ent *e)
{
	tlb_begin(e);
	__atomic_store_n(&e->tag, 0, __ATOMIC_SEQ_CST);
	tlb_end(e);
	inc(&m->c_tlb_drop);
}

/* Another vCPU's translation of the page @ipa: its output, or false. */
static bool tlb_peek(struct mach_vcpu *u, uint64_t ipa, uint64_t *pa)
{
	const struct machine *m = u->m;
	int l, tries;

	for (l = m->last_level; l >= m->start_level; l--) {
		uint64_t base, span = m->span[S2_LVL(l)];
		struct tlb_ent *e;

		if (!m->leaf_ok[S2_LVL(l)])
			continue;
		base = ipa & ~(span - 1);
		e = &u->tlb[tlb_idx(m, base, l)];
		for (tries = 0; tries < 64; tries++) {
			uint64_t s1 = __atomic_load_n(&e->seq, __ATOMIC_SEQ_CST);
			uint64_t tag = __atomic_load_n(&e->tag, __ATOMIC_SEQ_CST);
			uint64_t p = __atomic_load_n(&e->pa, __ATOMIC_SEQ_CST);
			uint64_t s2 = __atomic_load_n(&e->seq, __ATOMIC_SEQ_CST);

			if ((s1 & 1) || s1 != s2)
				continue;
			if (tag != tlb_tag(base, l))
				break;
			*pa = p + ((ipa & ~((1ULL << m->page_shift) - 1)) - base);
			return true;
		}
	}
	return false;
}

/* ------------------------------------------------------------ TLBI side */

static bool overlaps(uint64_t a, uint64_t as, uint64_t b, uint64_t bs)
{
	return a < b + bs && b < a + as;
}

/*
 * Drop what an invalidation of [@a, @a+@size) reaches.  @level >= 0 is the
 * TTL hint of a leaf invalidation: only leaves of that level go, and the
 * walk cache stays (TLBI IPAS2LE1 leaves table entries cached).  -1 drops
 * leaves of every level and the walk cache too.
 */
static void vcpu_drop(struct mach_vcpu *v, uint64_t a, uint64_t size, int level, bool all)
{
	struct machine *m = v->m;
	int l;
	unsigned i, j;

	pthread_mutex_lock(&v->lock);
	v->tlbi_gen++;
	if (all) {
		for (i = 0; i < TLB_N; i++)
			if (v->tlb[i].tag)
				tlb_drop(m, &v->tlb[i]);
		memset(v->wc, 0, sizeof(v->wc));
		pthread_mutex_unlock(&v->lock);
		return;
	}
	for (l = m->start_level; l <= m->last_level; l++) {
		uint64_t span = m->span[S2_LVL(l)], b, b0, n;

		if (!m->leaf_ok[S2_LVL(l)] || (level >= 0 && l != level))
			continue;
		b0 = a & ~(span - 1);
		n = (a + size - b0 + span - 1) / span;
		if (n > TLB_N) {
			for (i = 0; i < TLB_N; i++) {
				struct tlb_ent *e = &v->tlb[i];

				if (e->tag && e->level == l && overlaps(e->tag & ~0xfffULL, span, a, size))
					tlb_drop(m, e);
			}
			continue;
		}
		for (b = b0; n--; b += span) {
			struct tlb_ent *e = &v->tlb[tlb_idx(m, b, l)];

			if (e->tag == tlb_tag(b, l))
				tlb_drop(m, e);
		}
	}
	if (level < 0) {
		for (l = m->start_level; l < m->last_level; l++) {
			uint64_t span = m->span[S2_LVL(l)];

			for (j = 0; j < WC_N; j++) {
				struct wc_ent *w = &v->wc[S2_LVL(l)][j];

				if (w->tag && overlaps((w->tag - 1) << m->shift[S2_LVL(l)], span, a, size)) {
					w->tag = 0;
					inc(&m->c_wc_drop);
				}
			}
		}
	}
	pthread_mutex_unlock(&v->lock);
}

/* Clean+invalidate to PoC: dirty lines reach memory (the cache model). */
static void cache_clean(struct machine *m, uint64_t pa, uint64_t size)
{
	uint64_t pfn = pa >> HOST_PAGE_SHIFT, end = (pa + size + HOST_PAGE_SIZE - 1) >> HOST_PAGE_SHIFT;

	if (!m->line)
		return;
	for (; pfn < end && pfn < m->nr_pfns; pfn++) {
		uint64_t l;

		if (!ldr(&m->line[pfn]))
			continue;
		l = __atomic_exchange_n(&m->line[pfn], 0, __ATOMIC_ACQ_REL);
		if (l & LINE_VALID)
			host_frame_write(m->phys, pfn, l & ~LINE_VALID);
	}
}

void mach_observer(void *arg, enum s2_hosted_event ev, uint64_t addr, uint64_t size, int level)
{
	struct machine *m = arg;
	unsigned i;

	switch (ev) {
	case S2_EV_TLBI_IPA:
		inc(&m->c_tlbi_ipa);
		size = level >= 0 ? m->span[S2_LVL(level)] : 1;
		if (level >= 0)
			addr &= ~(size - 1);
		break;
	case S2_EV_TLBI_RANGE:
		inc(&m->c_tlbi_range);
		break;
	case S2_EV_TLBI_VM:
		inc(&m->c_tlbi_vm);
		break;
	case S2_EV_DCACHE:
		inc(&m->c_dcache);
		cache_clean(m, addr - m->pa_base, size);
		return;
	case S2_EV_ICACHE:
		inc(&m->c_icache);
		return;
	}
	for (i = 0; i < m->nr_vcpus; i++)
		vcpu_drop(m->vcpus[i], addr, size, level, ev == S2_EV_TLBI_VM);
}

/* ----------------------------------------------------------- the walk */

/*
 * The hardware walk: each entry read once, atomically, decisions on that
 * copy (a software walker may rewrite it between two reads); table
 * entries go to the walk cache, which only a non-leaf TLBI empties, so a
 * table the engine unlinks without telling the TLBs is still walked.
 */
static int hw_walk(struct mach_vcpu *v, struct s2_pgtable *pgt, uint64_t ipa, bool write,
		   struct walk_out *o)
{
	struct machine *m = v->m;
	uint64_t *table = NULL;
	unsigned ptrs = 1U << pgt->fmt.bits_per_level;
	int lvl = m->start_level, l;

	vinc(v->st.walks);
	for (l = m->last_level - 1; l >= m->start_level; l--) {
		uint64_t tag = (ipa >> m->shift[S2_LVL(l)]) + 1;
		struct wc_ent *w = &v->wc[S2_LVL(l)][(tag - 1) & (WC_N - 1)];

		if (w->tag == tag) {
			table = w->table;
			lvl = l + 1;
			vinc(v->st.walk_cache_hits);
			break;
		}
	}
	if (!table)
		table = pgt->root;
	for (;;) {
		uint64_t idx = ipa >> m->shift[S2_LVL(lvl)], *ptep, pte, upd;
		struct s2_mapping mp;

		if (lvl != m->start_level)
			idx &= ptrs - 1;
		ptep = &table[idx];
		/*
		 * Read before the entry, for I9: a walk that starts after a
		 * young clear has finished sees the leaf old and makes it
		 * young itself; one that started earlier may have read it
		 * young just before clear_young made it old.
		 */
		o->walk_clock = __atomic_load_n(&m->clock, __ATOMIC_SEQ_CST);
		pte = __atomic_load_n(ptep, __ATOMIC_ACQUIRE);
		if (!s2_pte_valid(pgt, pte, lvl))
			return W_TRANS;
		if (s2_pte_table(pgt, pte, lvl)) {
			uint64_t *child = s2_pte_child(pgt, pte, lvl);
			uint64_t tag = (ipa >> m->shift[S2_LVL(lvl)]) + 1;
			struct wc_ent *w = &v->wc[S2_LVL(lvl)][(tag - 1) & (WC_N - 1)];

			if (lvl >= m->last_level)
				return W_TRANS;	/* malformed: a table at the last level */
			w->tag = tag;
			w->table = child;
			table = child;
			lvl++;
			continue;
		}
		s2_pte_decode(pgt, pte, lvl, &mp);
		if (!mp.young) {
			upd = s2_pte_hw_update(pgt, pte, lvl, S2_HW_SET_AF);
			if (upd == pte)
				return W_AF;
			/* HAFDBS / EPT A/D: an atomic update software must not lose. */
			if (!__atomic_compare_exchange_n(ptep, &pte, upd, false,
							 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
				return W_RETRY;
			pte = upd;
			vinc(v->st.hw_af_sets);
			s2_pte_decode(pgt, pte, lvl, &mp);
		}
		/* a write records itself: DBM sets S2AP[1] of a read-only
		 * leaf, EPT A/D sets D of a writable one */
		upd = write ? s2_pte_hw_update(pgt, pte, lvl, S2_HW_SET_DIRTY) : pte;
		if (write && upd == pte && !(mp.prot & S2_PROT_W))
			return W_PERM;
		if (upd != pte) {
			if (!__atomic_compare_exchange_n(ptep, &pte, upd, false,
							 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
				return W_RETRY;
			pte = upd;
			vinc(v->st.hw_dbm_sets);
			s2_pte_decode(pgt, pte, lvl, &mp);
		}
		if (!write && !(mp.prot & S2_PROT_R))
			return W_PERM;
		o->level = lvl;
		o->base = ipa & ~(mp.size - 1);
		/* frames as the host model numbers them (glue.c adds pa_base) */
		o->pa = mp.pa.v - m->pa_base;
		o->w = !!(mp.prot & S2_PROT_W);
		o->wclean = s2_pte_hw_update(pgt, pte, lvl, S2_HW_SET_DIRTY) != pte;
		o->device = !!(mp.prot & S2_PROT_DEVICE);
		/* Read after the leaf: the clock orders this fill against the
		 * stamps the notifier forwarder makes (I1, I9). */
		o->clock = __atomic_load_n(&m->clock, __ATOMIC_SEQ_CST);
		return W_OK;
	}
}

/* ------------------------------------------------------------- oracle */

static void check_i2_fill(struct mach_vcpu *v, const struct tlb_ent *e, const struct mslot *s,
			  uint64_t gidx, uint64_t pfn, uint64_t gpa)
{
	struct machine *m = v->m;
	struct host_frame_info fi;

	if (__atomic_load_n(&s->flags, __ATOMIC_RELAXED) & S2_MEM_READONLY)
		mach_violation(m, MI_I2, "vcpu %u: writable translation of gpa %#llx in a "
			       "READONLY memslot", v->id, (unsigned long long)gpa);
	if (ldr(&m->host_ro[gidx]))
		mach_violation(m, MI_I2, "vcpu %u: writable translation of gpa %#llx, host "
			       "VMA read-only", v->id, (unsigned long long)gpa);
	if (e->device || host_frame_query(m->phys, pfn, &fi))
		return;
	if (fi.ksm || fi.mapcount + fi.entire_mapcount > 1)
		mach_violation(m, MI_I2, "vcpu %u: writable translation of gpa %#llx to pfn "
			       "%#llx that the host maps read-only (%s)", v->id,
			       (unsigned long long)gpa, (unsigned long long)pfn,
			       fi.ksm ? "KSM" : "COW-shared");
}

static void check_i5_fill(struct mach_vcpu *v, uint64_t gpa, uint64_t pa)
{
	struct machine *m = v->m;
	unsigned i;

	for (i = 0; i < m->nr_vcpus; i++) {
		struct mach_vcpu *u = m->vcpus[i];
		uint64_t other;

		if (u == v || !tlb_peek(u, gpa, &other) || other == pa)
			continue;
		mach_violation(m, MI_I5, "gpa %#llx: vcpu %u filled pa %#llx while vcpu %u "
			       "still holds pa %#llx", (unsigned long long)gpa, v->id,
			       (unsigned long long)pa, u->id, (unsigned long long)other);
	}
}

static struct tlb_ent *fill(struct mach_vcpu *v, uint64_t gpa, const struct walk_out *o)
{
	struct machine *m = v->m;
	uint64_t page = gpa & ~(HOST_PAGE_SIZE - 1), span = m->span[S2_LVL(o->level)];
	uint64_t pa = o->pa + (page - o->base), gidx;
	struct tlb_ent *e = &v->tlb[tlb_idx(m, o->base, o->level)];
	struct mslot *s;
	unsigned si;

	if (!mach_gpa_slot(m, gpa, &si) || !__atomic_load_n(&m->slot[si].live, __ATOMIC_SEQ_CST)) {
		mach_violation(m, MI_I1, "vcpu %u: gpa %#llx translated (pa %#llx) with no "
			       "memslot", v->id, (unsigned long long)gpa, (unsigned long long)pa);
		return NULL;
	}
	s = &m->slot[si];
	/* a leaf decoded to no frame at all (a wrong output address): the
	 * frame model must not be indexed with it */
	if ((pa >> HOST_PAGE_SHIFT) >= m->nr_pfns) {
		mach_violation(m, MI_I6, "vcpu %u: gpa %#llx translated to pa %#llx, outside "
			       "physical memory", v->id, (unsigned long long)gpa,
			       (unsigned long long)(pa + m->pa_base));
		return NULL;
	}
	if (o->base < s->gpa || o->base + span > s->gpa + s->size) {
		mach_violation(m, MI_I6, "vcpu %u: leaf [%#llx,+%#llx) crosses the edge of "
			       "memslot %u", v->id, (unsigned long long)o->base,
			       (unsigned long long)span, si);
		return NULL;
	}
	tlb_begin(e);
	__atomic_store_n(&e->tag, tlb_tag(o->base, o->level), __ATOMIC_SEQ_CST);
	__atomic_store_n(&e->pa, o->pa, __ATOMIC_SEQ_CST);
	e->hva = s->hva + (o->base - s->gpa);
	e->fill_clock = o->clock;
	e->walk_clock = o->walk_clock;
	e->gen_pfn = pa >> HOST_PAGE_SHIFT;
	e->gen = host_frame_gen(m->phys, e->gen_pfn);
	e->level = o->level;
	e->slot = si;
	e->w = o->w;
	e->wclean = o->wclean;
	e->device = o->device || s->pfnmap;
	tlb_end(e);
	gidx = s->gidx0 + ((page - s->gpa) >> HOST_PAGE_SHIFT);
	/*
	 * I1 for translations made during an invalidation: the host changes
	 * its tables between start and end, so a page leaf read now was
	 * installed after the zap and may point at a frame about to be freed.
	 * Blocks are exempt: a fault elsewhere in a PMD-mapped THP may map it
	 * whole while a sub-range is in progress, which is sound because the
	 * host splits the PMD under its own 2M-wide invalidation before it
	 * changes any 4K of it (KVM checks the faulting gfn alone too).
	 */
	if (o->level == m->last_level && __atomic_load_n(&m->inprog[gidx], __ATOMIC_SEQ_CST))
		mach_violation(m, MI_I1, "vcpu %u: gpa %#llx -> pfn %#llx mapped while an "
			       "invalidation of hva %#llx is between start and end", v->id,
			       (unsigned long long)gpa, (unsigned long long)(pa >> HOST_PAGE_SHIFT),
			       (unsigned long long)(e->hva + (page - o->base)));
	if (e->w)
		check_i2_fill(v, e, s, gidx, e->gen_pfn, gpa);
	check_i5_fill(v, gpa, pa);
	return e;
}

/* Every completed access: I1, I2, I7, I9 (and the data itself). */
static void do_access(struct mach_vcpu *v, struct tlb_ent *e, uint64_t gpa, bool write)
{
	struct machine *m = v->m;
	uint64_t page = gpa & ~(HOST_PAGE_SIZE - 1), base = e->tag & ~0xfffULL;
	uint64_t pfn = (e->pa + (page - base)) >> HOST_PAGE_SHIFT;
	uint64_t hva = e->hva + (page - base), gidx, inv, y;
	struct mslot *s = &m->slot[e->slot];

	if (write) {
		uint64_t val = ((uint64_t)(v->id + 1) << 48) | (++v->seq & ((1ULL << 48) - 1));

		if (m->line && !e->device)
			__atomic_store_n(&m->line[pfn], val | LINE_VALID, __ATOMIC_RELEASE);
		else
			host_frame_write(m->phys, pfn, val);
		vinc(v->st.writes);
	} else {
		uint64_t l = m->line ? ldr(&m->line[pfn]) : 0;

		if (!(l & LINE_VALID))
			(void)host_frame_read(m->phys, pfn);
		vinc(v->st.reads);
	}
	vinc(v->st.accesses);
	gidx = s->gidx0 + ((hva - s->hva) >> HOST_PAGE_SHIFT);

	inv = __atomic_load_n(&m->inv_epoch[gidx], __ATOMIC_SEQ_CST);
	if (inv > e->fill_clock)
		mach_violation(m, MI_I1, "vcpu %u: %s gpa %#llx -> pfn %#llx through a "
			       "translation filled at clock %llu, but an invalidation of "
			       "hva %#llx returned at clock %llu", v->id, write ? "write" : "read",
			       (unsigned long long)gpa, (unsigned long long)pfn,
			       (unsigned long long)e->fill_clock, (unsigned long long)hva,
			       (unsigned long long)inv);
	else if (pfn == e->gen_pfn && !e->device && host_frame_gen(m->phys, pfn) != e->gen)
		mach_violation(m, MI_I1, "vcpu %u: %s gpa %#llx uses pfn %#llx freed since the "
			       "translation was filled", v->id, write ? "write" : "read",
			       (unsigned long long)gpa, (unsigned long long)pfn);
	if (write) {
		if (__atomic_load_n(&s->flags, __ATOMIC_RELAXED) & S2_MEM_READONLY)
			mach_violation(m, MI_I2, "vcpu %u: write to gpa %#llx in a READONLY "
				       "memslot", v->id, (unsigned long long)gpa);
		else if (ldr(&m->host_ro[gidx]))
			mach_violation(m, MI_I2, "vcpu %u: write to gpa %#llx, host VMA is "
				       "read-only", v->id, (unsigned long long)gpa);
		if (__atomic_load_n(&s->logging, __ATOMIC_SEQ_CST)) {
			/* Read after the write: an epoch older than a harvest
			 * means the write completed before that harvest began. */
			uint64_t k = __atomic_load_n(&m->hv, __ATOMIC_SEQ_CST);
			uint64_t *w = &m->last_write_hv[gidx], old = ldr(w);

			while (old < k && !__atomic_compare_exchange_n(w, &old, k, false,
					__ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
				;
		}
	}
	y = ldr(&m->young_mark[gidx]);
	if (y < e->walk_clock)
		__atomic_store_n(&m->young_mark[gidx], e->walk_clock, __ATOMIC_SEQ_CST);
}

/*
 * I6, sampled: the host must map every page of a stage-2 block, at the
 * same offset.  The host is asked without the vCPU lock (its page-table
 * lock may be held by a young callback that is waiting for ours), so a
 * mismatch counts only if no invalidation reached this vCPU meanwhile.
 */
static void check_i6(struct mach_vcpu *v, uint64_t gpa, const struct walk_out *o,
		     uint64_t tlbi_gen)
{
	struct machine *m = v->m;
	uint64_t span = m->span[S2_LVL(o->level)], off[3], hva0;
	unsigned si, i;
	struct mslot *s;
	int bad = -1;
	uint64_t bad_entry = 0;

	if (!mach_gpa_slot(m, gpa, &si) || m->slot[si].pfnmap)
		return;
	s = &m->slot[si];
	hva0 = s->hva + (o->base - s->gpa);
	off[0] = 0;
	off[1] = span - HOST_PAGE_SIZE;
	off[2] = (mach_rand(&v->rnd) % (span >> HOST_PAGE_SHIFT)) << HOST_PAGE_SHIFT;
	/* exit_mmap frees the host tables: no query may overlap it. */
	pthread_rwlock_rdlock(&m->exit_lock);
	if (__atomic_load_n(&m->exiting, __ATOMIC_ACQUIRE)) {
		pthread_rwlock_unlock(&m->exit_lock);
		return;
	}
	for (i = 0; i < 3 && bad < 0; i++) {
		uint64_t ent, pfn, want = (o->pa + off[i]) >> HOST_PAGE_SHIFT;
		int lvl;

		if (host_pt_query(m->mm, s2_hva(hva0 + off[i]), &ent, &lvl) || !(ent & HOST_PTE_P)) {
			bad = (int)i;
			bad_entry = 0;
			break;
		}
		pfn = (ent & HOST_PTE_ADDR) >> HOST_PAGE_SHIFT;
		if (lvl == 2 || lvl == 3) {
			uint64_t n = (lvl == 2 ? HOST_PMD_SIZE : HOST_PUD_SIZE) >> HOST_PAGE_SHIFT;

			pfn = (pfn & ~(n - 1)) + (((hva0 + off[i]) >> HOST_PAGE_SHIFT) & (n - 1));
		}
		if (pfn != want) {
			bad = (int)i;
			bad_entry = ent;
		}
	}
	pthread_rwlock_unlock(&m->exit_lock);
	vinc(v->st.i6_checks);
	if (bad < 0)
		return;
	pthread_mutex_lock(&v->lock);
	if (v->tlbi_gen == tlbi_gen)
		mach_violation(m, MI_I6, "vcpu %u: block [%#llx,+%#llx) -> pa %#llx, but the "
			       "host maps hva %#llx as %#llx", v->id,
			       (unsigned long long)o->base, (unsigned long long)span,
			       (unsigned long long)o->pa,
			       (unsigned long long)(hva0 + off[bad]), (unsigned long long)bad_entry);
	pthread_mutex_unlock(&v->lock);
}

int mach_access(struct mach_vcpu *v, uint64_t gpa, bool write)
{
	struct machine *m = v->m;
	unsigned tries;

	for (tries = 0; tries < 100000; tries++) {
		struct s2_fault_info info;
		struct walk_out o = { .level = 0 };
		struct tlb_ent *e;
		int r = W_OK, ret;
		bool filled = false, aging;
		uint64_t age0;

		pthread_mutex_lock(&v->lock);
		e = tlb_lookup(v, gpa);
		if (e && write && (!e->w || e->wclean)) {
			/* A stale read-only entry: the hardware re-walks and
			 * faults only if the table still says so. */
			tlb_drop(m, e);
			e = NULL;
		}
		if (e) {
			vinc(v->st.tlb_hits);
		} else {
			struct s2_pgtable *pgt;

			vinc(v->st.tlb_misses);
			m->plat->rcu_read_lock(m->h);
			pgt = s2_vm_pgtable(m->vm);
			r = pgt ? hw_walk(v, pgt, gpa, write, &o) : W_GONE;
			m->plat->rcu_read_unlock(m->h);
			if (r == W_OK) {
				e = fill(v, gpa, &o);
				filled = true;
				if (!e) {
					pthread_mutex_unlock(&v->lock);
					return -S2_EFAULT;
				}
			}
		}
		if (e) {
			uint64_t gen = v->tlbi_gen;
			bool sample = filled && o.level < m->last_level && m->cfg.i6_sample &&
				      mach_rand(&v->rnd) % m->cfg.i6_sample == 0;

			do_access(v, e, gpa, write);
			pthread_mutex_unlock(&v->lock);
			if (sample)
				check_i6(v, gpa, &o, gen);
			return 0;
		}
		pthread_mutex_unlock(&v->lock);
		if (r == W_RETRY)
			continue;
		if (r == W_AF)
			vinc(v->st.af_faults);
		else if (r == W_PERM)
			vinc(v->st.perm_faults);
		if (r == W_PERM && write)
			vinc(v->st.write_perm_faults);
		else
			vinc(v->st.trans_faults);
		vinc(v->st.faults);
		age0 = __atomic_load_n(&m->age_begun, __ATOMIC_SEQ_CST);
		aging = __atomic_load_n(&m->age_busy, __ATOMIC_SEQ_CST) != 0;
		ret = s2_vm_fault_ring(m->vm, s2_gpa(gpa), write ? S2_ACC_WRITE : S2_ACC_READ,
				       &v->mc, v->ring, &info);
		if (aging || __atomic_load_n(&m->age_begun, __ATOMIC_SEQ_CST) != age0)
			vinc(v->st.faults_beside_aging);
		switch (ret) {
		case S2_FAULT_RING_SOFT_FULL:
		case -S2_EBUSY:
			/*
			 * KVM_EXIT_DIRTY_RING_FULL: the vCPU's thread harvests
			 * (every ring, as the VMM's reset is VM-wide) before
			 * the guest runs again; on -EBUSY nothing was mapped
			 * and the access faults again after the reset.
			 */
			if (ret == -S2_EBUSY)
				vinc(v->st.ring_full);
			else
				vinc(v->st.ring_soft_full);
			{
				unsigned slot;

				if (mach_gpa_slot(m, gpa, &slot))
					mach_harvest(m, slot);
			}
			if (ret > 0)
				vinc(v->st.fault_ok);
			continue;
		case 0:
			vinc(v->st.fault_ok);
			continue;
		case -S2_EAGAIN:
			if (info.retry_cause >= 0 && info.retry_cause < S2_NR_RETRY)
				vinc(v->st.retries[info.retry_cause]);
			if (tries > 16)
				sched_yield();
			continue;
		case -S2_EFAULT:
			vinc(v->st.efault);
			return ret;
		case -S2_ENOENT:
			vinc(v->st.enoent);
			return ret;
		case -S2_ENOMEM:
			vinc(v->st.enomem);
			return ret;
		default:
			return ret;
		}
	}
	vinc(v->st.abandoned);
	return -S2_EAGAIN;
}

/* ---------------------------------------------------------- workloads */

/* Offset into guest RAM (both RAM slots, back to back) of the next access. */
static uint64_t pick_ram(struct mach_vcpu *v, uint64_t r)
{
	struct machine *m = v->m;
	uint64_t ram = m->cfg.guest_size, pages = ram >> HOST_PAGE_SHIFT;

	switch (v->wl) {
	case MW_SEQ:
		v->cursor = (v->cursor + HOST_PAGE_SIZE) % ram;
		return v->cursor;
	case MW_HOTCOLD: {
		/* 90% in an 8 MiB hot set that drifts slowly. */
		uint64_t hot = 8ULL << 20 < ram ? 8ULL << 20 : ram;

		if (r % 10)
			return (v->cursor + ((r >> 8) % (hot >> HOST_PAGE_SHIFT) << HOST_PAGE_SHIFT)) % ram;
		if (r % 1000 == 1)
			v->cursor = ((r >> 16) % pages) << HOST_PAGE_SHIFT;
		return ((r >> 8) % pages) << HOST_PAGE_SHIFT;
	}
	case MW_MIX:
		/* Sequential bursts of 64 pages from random points. */
		if (r % 64 == 0)
			v->cursor = ((r >> 8) % pages) << HOST_PAGE_SHIFT;
		else
			v->cursor = (v->cursor + HOST_PAGE_SIZE) % ram;
		return v->cursor;
	default:
		return ((r >> 8) % pages) << HOST_PAGE_SHIFT;
	}
}

static uint64_t pick_gpa(struct mach_vcpu *v)
{
	struct machine *m = v->m;
	uint64_t r = mach_rand(&v->rnd);

	if (m->nr_slots > 2 && r % 128 == 0)
		return m->slot[2].gpa + ((r >> 8) % (m->slot[2].size >> HOST_PAGE_SHIFT) << HOST_PAGE_SHIFT);
	return m->gpa_base + pick_ram(v, r);
}

void *mach_vcpu_thread(void *arg)
{
	struct mach_vcpu *v = arg;
	struct machine *m = v->m;

	s2_hosted_thread_online();
	while (!__atomic_load_n(&m->stop_vcpus, __ATOMIC_ACQUIRE)) {
		uint64_t gpa = pick_gpa(v);
		bool write = mach_rand(&v->rnd) % 100 < m->cfg.write_pct;

		int ret = mach_access(v, gpa, write);

		/* Released, or the mm is exiting so the host refuses every
		 * fault: the VMM would stop this vCPU (seed 001). */
		if (ret == -S2_ENOENT ||
		    (ret == -S2_EFAULT && __atomic_load_n(&m->exiting, __ATOMIC_ACQUIRE)))
			break;
	}
	__atomic_store_n(&v->done, true, __ATOMIC_RELEASE);
	s2_hosted_thread_offline();
	return NULL;
}

const char *mach_workload_name(enum mach_workload w)
{
	static const char *const n[MW_NR] = { "sequential", "random", "hot/cold", "mixed" };

	return w < MW_NR ? n[w] : "?";
}

struct mach_vcpu *mach_vcpu_new(struct machine *m, unsigned id)
{
	struct mach_vcpu *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->m = m;
	v->id = id;
	v->wl = (enum mach_workload)(id % MW_NR);
	v->rnd = (m->cfg.seed + 1) * 0x2545f4914f6cdd1dULL + id * 0x9e3779b97f4a7c15ULL;
	v->cursor = (uint64_t)id * (m->cfg.guest_size / (m->cfg.nr_vcpus ? m->cfg.nr_vcpus : 1));
	v->cursor &= ~(HOST_PAGE_SIZE - 1);
	pthread_mutex_init(&v->lock, NULL);
	return v;
}

void mach_vcpu_free(struct mach_vcpu *v)
{
	if (!v)
		return;
	/* The table may be gone (release): the VM frees the cache without it. */
	s2_vm_memcache_free(v->m->vm, &v->mc);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

void mach_start(struct machine *m, const unsigned churn_w[MH_NR])
{
	unsigned i;

	for (i = 0; i < m->nr_vcpus; i++) {
		struct mach_vcpu *v = m->vcpus[i];

		if (!pthread_create(&v->thr, NULL, mach_vcpu_thread, v))
			v->started = true;
	}
	if (churn_w) {
		memcpy(m->churn_w, churn_w, sizeof(m->churn_w));
		if (!pthread_create(&m->churn_thr, NULL, mach_churn_thread, m))
			m->churn_started = true;
	}
}

void mach_stop_vcpus(struct machine *m)
{
	unsigned i;

	__atomic_store_n(&m->stop_vcpus, 1, __ATOMIC_RELEASE);
	for (i = 0; i < m->nr_vcpus; i++) {
		struct mach_vcpu *v = m->vcpus[i];

		if (v && v->started) {
			pthread_join(v->thr, NULL);
			v->started = false;
		}
	}
}

bool mach_vcpus_running(struct machine *m)
{
	return !__atomic_load_n(&m->stop_vcpus, __ATOMIC_ACQUIRE);
}
