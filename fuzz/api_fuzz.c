/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * libFuzzer target: the coherence core (include/s2mmu/mmu.h) driven
 * through memslot updates, faults, MMU notifiers (including invalidations
 * left in progress across later operations), aging, dirty-log harvests,
 * release, and allocation failures, against a fake host (an array of 4K
 * host pages with frames, read-only bits and THP regions, in the spirit of
 * tests/mmu_core.c) and a model of the memslots.
 *
 * After every operation, every valid stage-2 leaf is checked:
 *  - it lies in a valid memslot and maps exactly the frame the host maps
 *    now for the HVA (I1; for a block, page by page: I6);
 *  - no HVA of an invalidation between start and end is mapped;
 *  - it is not writable where the host page or the slot is read-only
 *    (I2), nor, in a dirty-logged slot, before its write was recorded;
 * and every return value against the model: -EFAULT without a usable
 * slot, -EAGAIN exactly when an invalidation in progress covers the GPA
 * or the host changed under the fault, 0 otherwise (progress, I10),
 * -ENOMEM only when an allocation was made to fail and then with nothing
 * changed; harvests return exactly the pages written since the last one
 * and leave nothing writable; after release every call copes (I4).
 * At the end: no frame reference held, no table page left after destroy
 * (and LeakSanitizer, on in libFuzzer by default, for everything else).
 */
#include <string.h>

#include <s2mmu/mmu.h>
#include <s2mmu/hosted.h>
#include "fuzz/fuzz_common.h"
#include "fuzz/fuzz_rcu.h"

#define PG		4096ULL
#define M2		(2ULL << 20)
#define HVA0		0x7f0000000000ULL
#define HPAGES		2048			/* 8 MiB of host memory */
#define NREG		(HPAGES / 512)
#define GPA_WINDOW	(64ULL << 20)
#define NSLOTS		4
#define MAX_OPS		128
#define MAX_PENDING	2

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct host {
	uint64_t pa[HPAGES];		/* 0: nothing mapped (faulted in on use) */
	bool ro[HPAGES];
	bool thp[NREG];			/* 2M region mapped by one huge entry */
	uint64_t next_pa;
	long refs;
	struct s2_vm *vm;
	bool changed;			/* resolve() fired notifiers */
};

struct mslot {
	bool present;
	uint64_t gpa, size, hva;
	unsigned flags;
	uint64_t written[HPAGES / 64 * 2];	/* pages written since harvest */
};

struct pending {
	uint64_t start, end;
};

struct state {
	struct host h;
	struct mslot s[NSLOTS];
	struct pending pend[MAX_PENDING + 1];	/* + the one being made */
	unsigned npend;
	/* starts not yet ended (pending ones and those inside resolve), and
	 * the union of their ranges since the count was last zero: exactly
	 * what the core tracks (seed 000) */
	unsigned inprog;
	uint64_t range_start, range_end;
	bool released, counter_tracking, no_af;
	unsigned ia_bits;
	struct s2_vm *vm;
	struct s2_pgtable geom;			/* for s2_memcache_free */
	struct s2_memcache mc;
	unsigned op;
	unsigned long fail_nth;
};

static struct s2_hosted *H;

/* ------------------------------------------------------------ the host */

static uint64_t new_frame(struct host *h)
{
	uint64_t pa = h->next_pa;

	h->next_pa += PG;
	return pa;
}

/* Every change the host makes is bracketed by the notifiers, as Linux. */
static struct state S;

/*
 * The core tracks in-progress invalidations by GPA: the union, over every
 * slot present (an INVALID one too), of the guest image of the HVA range;
 * empty (start > end) where no slot overlaps.  Slots do not change while
 * one is pending (every memslot operation below ends them first).
 */
static void host_start(struct host *h, uint64_t start, uint64_t end)
{
	uint64_t gs = ~0ULL, ge = 0;

	for (unsigned i = 0; i < NSLOTS; i++) {
		const struct mslot *s = &S.s[i];
		uint64_t a = start > s->hva ? start : s->hva;
		uint64_t b = end < s->hva + s->size ? end : s->hva + s->size;

		if (!s->present || a >= b)
			continue;
		a = (a - s->hva + s->gpa) & ~(PG - 1);
		b = (b - s->hva + s->gpa + PG - 1) & ~(PG - 1);
		if (a < gs)
			gs = a;
		if (b > ge)
			ge = b;
	}
	if (S.inprog++ == 0) {
		S.range_start = gs;
		S.range_end = ge;
	} else {
		if (gs < S.range_start)
			S.range_start = gs;
		if (ge > S.range_end)
			S.range_end = ge;
	}
	FUZZ_CHECK(s2_vm_mn_invalidate_range_start(h->vm, s2_hva(start), s2_hva(end), true) == 0,
		   "invalidate_range_start failed");
}

static void host_end(struct host *h, uint64_t start, uint64_t end)
{
	s2_vm_mn_invalidate_range_end(h->vm, s2_hva(start), s2_hva(end));
	S.inprog--;
}

/* A huge mapping touched by a change of part of it is split first. */
static void host_split_touched(struct host *h, uint64_t lo, uint64_t hi)
{
	for (uint64_t r = lo / 512; r <= (hi - 1) / 512 && r < NREG; r++)
		h->thp[r] = false;
}

static int h_resolve(void *host, s2_hva_t hva, bool write, struct s2_resolved *r)
{
	struct host *h = host;
	uint64_t i = (hva.v - HVA0) / PG;

	if (hva.v < HVA0 || i >= HPAGES)
		return -S2_EFAULT;
	if (!h->pa[i])
		h->pa[i] = new_frame(h);	/* anonymous fault-in: no notifier */
	if (write && h->ro[i]) {
		/* COW break: split the huge page, then move to a new frame,
		 * both under the notifiers */
		uint64_t a = HVA0 + (i & ~511ULL) * PG;

		if (h->thp[i / 512]) {
			host_start(h, a, a + M2);
			h->thp[i / 512] = false;
			host_end(h, a, a + M2);
		}
		host_start(h, hva.v & ~(PG - 1), (hva.v & ~(PG - 1)) + PG);
		h->pa[i] = new_frame(h);
		h->ro[i] = false;
		host_end(h, hva.v & ~(PG - 1), (hva.v & ~(PG - 1)) + PG);
		h->changed = true;
	}
	r->pa = s2_hpa(h->pa[i]);
	r->writable = !h->ro[i];
	r->device = false;
	r->cookie = i;
	h->refs++;
	return 0;
}

static void h_put(void *host, const struct s2_resolved *r)
{
	(void)r;
	((struct host *)host)->refs--;
}

static uint64_t h_size(void *host, s2_hva_t hva)
{
	struct host *h = host;
	uint64_t i = (hva.v - HVA0) / PG;

	if (hva.v < HVA0 || i >= HPAGES || !h->pa[i])
		return 0;
	return h->thp[i / 512] ? M2 : PG;
}

static const struct s2_host_ops host_ops = { h_resolve, h_put, h_size, NULL };

/* Host operations on [lo, hi) pages; @keep_pending leaves them started. */
enum { HOP_UNMAP, HOP_MIGRATE, HOP_WRPROT, HOP_COLLAPSE, HOP_SPLIT, NR_HOP };

static void host_mutate(struct host *h, unsigned kind, uint64_t lo, uint64_t hi)
{
	uint64_t i;

	switch (kind) {
	case HOP_UNMAP:
		host_split_touched(h, lo, hi);
		for (i = lo; i < hi; i++)
			h->pa[i] = 0;
		break;
	case HOP_MIGRATE:
		host_split_touched(h, lo, hi);
		for (i = lo; i < hi; i++)
			if (h->pa[i])
				h->pa[i] = new_frame(h);
		break;
	case HOP_WRPROT:
		host_split_touched(h, lo, hi);
		for (i = lo; i < hi; i++)
			h->ro[i] = true;
		break;
	case HOP_COLLAPSE:
		/* [lo, hi) is one whole 2M region: new contiguous frames */
		h->next_pa = (h->next_pa + M2 - 1) & ~(M2 - 1);
		for (i = lo; i < hi; i++) {
			h->pa[i] = new_frame(h);
			h->ro[i] = false;
		}
		h->thp[lo / 512] = true;
		break;
	default:
		host_split_touched(h, lo, hi);
		break;
	}
}

/* ------------------------------------------------------------ the model */

static struct mslot *slot_of(uint64_t gpa)
{
	for (unsigned i = 0; i < NSLOTS; i++) {
		struct mslot *s = &S.s[i];

		if (s->present && gpa >= s->gpa && gpa - s->gpa < s->size)
			return s;
	}
	return NULL;
}

static bool hva_pending(uint64_t hva)
{
	for (unsigned i = 0; i < S.npend; i++)
		if (hva >= S.pend[i].start && hva < S.pend[i].end)
			return true;
	return false;
}

static bool test_bit(const uint64_t *b, uint64_t n)
{
	return b[n / 64] & (1ULL << (n % 64));
}

static int leaf_visit(struct s2_walk_ctx *c, unsigned visit)
{
	struct s2_mapping mp;
	uint64_t off;

	(void)visit;
	s2_pte_decode(c->pgt, c->old, c->level, &mp);
	if (!mp.valid)
		return 0;
	for (off = 0; off < mp.size; off += PG) {
		uint64_t gpa = c->addr + off, hva, i;
		struct mslot *s = slot_of(gpa);

		FUZZ_CHECK(s, "op %u: gpa %#llx mapped outside any slot",
			   S.op, (unsigned long long)gpa);
		hva = s->hva + (gpa - s->gpa);
		i = (hva - HVA0) / PG;
		FUZZ_CHECK(i < HPAGES && S.h.pa[i] && S.h.pa[i] == mp.pa.v + off,
			   "op %u: gpa %#llx (leaf %#llx, level %d) maps %#llx, host maps hva "
			   "%#llx to %#llx (I1/I6)", S.op, (unsigned long long)gpa,
			   (unsigned long long)mp.size, c->level,
			   (unsigned long long)(mp.pa.v + off), (unsigned long long)hva,
			   (unsigned long long)(i < HPAGES ? S.h.pa[i] : 0));
		FUZZ_CHECK(!hva_pending(hva), "op %u: gpa %#llx maps hva %#llx inside an "
			   "invalidation in progress", S.op, (unsigned long long)gpa,
			   (unsigned long long)hva);
		if (mp.prot & S2_PROT_W) {
			FUZZ_CHECK(!S.h.ro[i] && !(s->flags & S2_MEM_READONLY),
				   "op %u: gpa %#llx writable, host ro %d slot flags %#x (I2)",
				   S.op, (unsigned long long)gpa, S.h.ro[i], s->flags);
			FUZZ_CHECK(!(s->flags & S2_MEM_DIRTY_LOG) ||
				   test_bit(s->written, (gpa - s->gpa) / PG),
				   "op %u: gpa %#llx writable in a logged slot before a recorded "
				   "write (I7)", S.op, (unsigned long long)gpa);
		}
	}
	return 0;
}

static void check_all(void)
{
	struct s2_pgtable *pgt = s2_vm_pgtable(S.vm);

	FUZZ_CHECK(S.h.refs == 0, "op %u: %ld frame references held", S.op, S.h.refs);
	FUZZ_CHECK(!pgt == S.released, "op %u: table %p after release %d", S.op, (void *)pgt,
		   S.released);
	if (pgt)
		s2_pgt_walk(pgt, s2_gpa(0), GPA_WINDOW, leaf_visit, NULL, S2_WALK_LEAF);
}

static struct s2_mapping lookup(uint64_t gpa)
{
	struct s2_mapping m = { 0 };
	struct s2_pgtable *pgt = s2_vm_pgtable(S.vm);

	if (pgt)
		s2_pgt_lookup(pgt, s2_gpa(gpa), &m);
	return m;
}

/* ------------------------------------------------------------ operations */

static void op_set_memslot(struct cursor *c)
{
	uint8_t b = get8(c), g = get8(c), z = get8(c), v = get8(c);
	unsigned id = b & 7, flags = (b >> 3) & 7;
	uint64_t gpa = (uint64_t)(g % 64) << 19, size = ((uint64_t)(z % 16) + 1) << 19;
	uint64_t hva = HVA0 + ((uint64_t)(v % 16) << 19);
	struct mslot *s = id < NSLOTS ? &S.s[id] : NULL;
	int want = 0, ret;
	bool move = false;

	if (z & 0x80)
		size = ((uint64_t)(z & 0x3f) + 1) * PG;
	if (v & 0x80)	/* a misaligned or bad argument now and then */
		switch (v & 0x60) {
		case 0x00: gpa += 0x800; break;
		case 0x20: hva += 8; break;
		case 0x40: size = 0; break;
		default: gpa = (1ULL << S.ia_bits) - PG; break;
		}
	if (b & 0x40)
		flags |= 0x40;	/* unknown flag */
	if (id >= NSLOTS || !size || ((gpa | size | hva) & (PG - 1)) ||
	    (flags & ~(S2_MEM_READONLY | S2_MEM_DIRTY_LOG | S2_MEM_PREFAULT)) ||
	    ((flags & S2_MEM_READONLY) && (flags & S2_MEM_DIRTY_LOG)))
		want = -S2_EINVAL;
	else if (gpa + size > (1ULL << S.ia_bits))
		want = -S2_ERANGE;
	else if (S.released)
		want = -S2_ENOENT;
	else {
		move = s->present && (s->gpa != gpa || s->size != size || s->hva != hva);
		if (move && s->flags != (flags & ~S2_MEM_PREFAULT))
			want = -S2_EINVAL;
		for (unsigned i = 0; i < NSLOTS && !want; i++)
			if (i != id && S.s[i].present && gpa < S.s[i].gpa + S.s[i].size &&
			    S.s[i].gpa < gpa + size)
				want = -S2_EEXIST;
	}
	ret = s2_vm_set_memslot(S.vm, id, s2_gpa(gpa), size, s2_hva(hva), flags);
	if (ret == -S2_ENOMEM && S.fail_nth && !want)
		return;		/* nothing changed: the model stays */
	FUZZ_CHECK(ret == want, "op %u: set_memslot(%u, %#llx, %#llx, %#llx, %#x) = %d, want %d",
		   S.op, id, (unsigned long long)gpa, (unsigned long long)size,
		   (unsigned long long)hva, flags, ret, want);
	if (ret)
		return;
	flags &= ~S2_MEM_PREFAULT;
	/* a new bitmap: logging turned on, a new slot or a moved one */
	if ((flags & S2_MEM_DIRTY_LOG) &&
	    (!s->present || move || !(s->flags & S2_MEM_DIRTY_LOG)))
		memset(s->written, 0, sizeof(s->written));
	s->present = true;
	s->gpa = gpa;
	s->size = size;
	s->hva = hva;
	s->flags = flags;
}

static void op_delete_memslot(uint8_t b)
{
	unsigned id = b % 6;
	int want = 0, ret;

	if (id >= NSLOTS)
		want = -S2_EINVAL;
	else if (!S.s[id].present)
		want = -S2_ENOENT;
	ret = s2_vm_delete_memslot(S.vm, id);
	if (ret == -S2_ENOMEM && S.fail_nth && !want)
		return;		/* nothing changed, the slot stays mappable */
	FUZZ_CHECK(ret == want, "op %u: delete_memslot(%u) = %d, want %d", S.op, id, ret, want);
	if (!ret)
		S.s[id].present = false;
}

static void op_fault(struct cursor *c, uint8_t b)
{
	uint16_t g = get16(c);
	uint64_t gpa = ((uint64_t)g % (GPA_WINDOW / PG)) * PG + (b & 0x38) * 16;
	unsigned access = (b & 1) ? S2_ACC_WRITE : S2_ACC_READ;
	struct s2_fault_info fi;
	struct mslot *s;
	struct s2_mapping before, after;
	uint64_t hva = 0, i = HPAGES;
	int want, ret;

	if (b & 2)
		access |= S2_ACC_EXEC;
	/* a slot with a free id is a likelier target than empty space */
	if ((b & 0x40) && !slot_of(gpa)) {
		for (unsigned k = 0; k < NSLOTS; k++)
			if (S.s[(g + k) % NSLOTS].present) {
				s = &S.s[(g + k) % NSLOTS];
				gpa = s->gpa + ((uint64_t)g * PG) % s->size;
				break;
			}
	}
	before = lookup(gpa & ~(PG - 1));
	s = slot_of(gpa);
	if (s) {
		hva = s->hva + ((gpa & ~(PG - 1)) - s->gpa);
		i = (hva - HVA0) / PG;
	}
	if (!s || ((access & S2_ACC_WRITE) && (s->flags & S2_MEM_READONLY)))
		want = -S2_EFAULT;
	else if (i >= HPAGES)
		want = -S2_EFAULT;
	else if (S.released)
		want = -S2_ENOENT;
	else if (S.inprog && (S.counter_tracking ||
			      ((gpa & ~(PG - 1)) >= S.range_start &&
			       (gpa & ~(PG - 1)) < S.range_end)))
		want = -S2_EAGAIN;
	else if ((access & S2_ACC_WRITE) && S.h.ro[i])
		want = -S2_EAGAIN;	/* the COW break moved the sequence */
	else
		want = 0;
	S.h.changed = false;
	ret = s2_vm_fault(S.vm, s2_gpa(gpa), access, &S.mc, &fi);
	if (ret == -S2_ENOMEM && S.fail_nth) {
		after = lookup(gpa & ~(PG - 1));
		FUZZ_CHECK(after.valid == before.valid && after.raw == before.raw,
			   "op %u: fault(%#llx) -ENOMEM changed the table: %#llx -> %#llx", S.op,
			   (unsigned long long)gpa, (unsigned long long)before.raw,
			   (unsigned long long)after.raw);
		return;
	}
	FUZZ_CHECK(ret == want, "op %u: fault(%#llx, %#x) = %d, want %d (pending %u, "
		   "range %#llx-%#llx, hva %#llx)", S.op, (unsigned long long)gpa, access, ret,
		   want, S.npend, (unsigned long long)S.range_start,
		   (unsigned long long)S.range_end, (unsigned long long)hva);
	if (ret)
		return;
	after = lookup(gpa & ~(PG - 1));
	FUZZ_CHECK(after.valid && after.pa.v + ((gpa & ~(PG - 1)) - after.ipa.v) == S.h.pa[i] &&
		   fi.pa.v == S.h.pa[i] &&
		   (!(access & S2_ACC_WRITE) || (after.prot & S2_PROT_W)),
		   "op %u: fault on %#llx succeeded but maps %#llx prot %#x (host %#llx)", S.op,
		   (unsigned long long)gpa, (unsigned long long)after.pa.v, after.prot,
		   (unsigned long long)S.h.pa[i]);
	if ((access & S2_ACC_WRITE) && (s->flags & S2_MEM_DIRTY_LOG)) {
		uint64_t n = ((gpa & ~(PG - 1)) - s->gpa) / PG;

		s->written[n / 64] |= 1ULL << (n % 64);
	}
}

static void op_dirty_log(uint8_t b)
{
	unsigned id = b % 5;
	uint64_t bm[HPAGES / 64 * 2];
	struct mslot *s = id < NSLOTS ? &S.s[id] : NULL;
	int want, ret;

	if (!s || !s->present)
		want = -S2_ENOENT;
	else if (!(s->flags & S2_MEM_DIRTY_LOG))
		want = -S2_EINVAL;
	else
		want = 0;
	ret = s2_vm_get_dirty_log(S.vm, id, bm, sizeof(bm) / 8);
	FUZZ_CHECK(ret == want, "op %u: get_dirty_log(%u) = %d, want %d", S.op, id, ret, want);
	if (ret)
		return;
	FUZZ_CHECK(!memcmp(bm, s->written, sizeof(bm)),
		   "op %u: harvest of slot %u differs from the pages written (I7)", S.op, id);
	memset(s->written, 0, sizeof(s->written));
	/* nothing in the slot may be writable now: every write faults */
	for (uint64_t a = s->gpa; a < s->gpa + s->size; a += PG) {
		struct s2_mapping m = lookup(a);

		FUZZ_CHECK(!m.valid || !(m.prot & S2_PROT_W),
			   "op %u: gpa %#llx writable after a harvest (I7)", S.op,
			   (unsigned long long)a);
	}
}

static void op_host(struct cursor *c, uint8_t b)
{
	uint8_t r = get8(c), n = get8(c);
	unsigned kind = (b >> 4) % NR_HOP;
	bool keep = b & 0x80;
	uint64_t lo = ((uint64_t)r * 8) % HPAGES, hi;

	if (kind == HOP_COLLAPSE || kind == HOP_SPLIT) {
		lo &= ~511ULL;
		hi = lo + 512;
	} else {
		hi = lo + 1 + (n % 64) * (n & 0x80 ? 8 : 1);
		if (hi > HPAGES)
			hi = HPAGES;
	}
	if (keep && S.npend == MAX_PENDING)
		keep = false;
	host_start(&S.h, HVA0 + lo * PG, HVA0 + hi * PG);
	S.pend[S.npend++] = (struct pending){ HVA0 + lo * PG, HVA0 + hi * PG };
	host_mutate(&S.h, kind, lo, hi);
	check_all();
	if (!keep) {
		S.npend--;
		host_end(&S.h, HVA0 + lo * PG, HVA0 + hi * PG);
	}
}

static void end_one(void)
{
	if (!S.npend)
		return;
	S.npend--;
	host_end(&S.h, S.pend[S.npend].start, S.pend[S.npend].end);
}

static void op_age(struct cursor *c, uint8_t b)
{
	uint64_t lo = ((uint64_t)get8(c) * 8) % HPAGES, hi = lo + 1 + get8(c);
	s2_hva_t start = s2_hva(HVA0 + lo * PG), end = s2_hva(HVA0 + hi * PG);

	if (b & 0x80) {
		s2_vm_mn_clear_young(S.vm, start, end);
	} else {
		s2_vm_mn_clear_flush_young(S.vm, start, end);
	}
	/* I9, single-threaded: no access since, so nothing is young (a
	 * format without an access flag reads every leaf as young) */
	FUZZ_CHECK(S.no_af || !s2_vm_mn_test_young(S.vm, start, end),
		   "op %u: test_young true right after clearing", S.op);
}

static void teardown(void)
{
	struct s2_hosted_stats st;

	while (S.npend)
		end_one();
	check_all();
	s2_memcache_free(&S.geom, &S.mc);
	s2_vm_destroy(S.vm);
	s2_hosted_fail_alloc(H, 0, false);
	s2_hosted_get_stats(H, &st);
	FUZZ_CHECK(st.pages_live == 0, "%llu table pages live after destroy",
		   (unsigned long long)st.pages_live);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cursor c = { data, data + size };
	static const struct { enum s2_format_id id; unsigned ia; unsigned flags; } fmts[] = {
		{ S2_FMT_ARM64, 40, 0 }, { S2_FMT_TEST, 40, 0 },
		{ S2_FMT_EPT, 48, S2_PGT_EPT_AD }, { S2_FMT_EPT, 57, 0 },
	};
	struct s2_vm_cfg cfg;
	uint8_t b0, b1;
	int ret;

	if (!H && !(H = s2_hosted_new()))
		abort();
	memset(&S, 0, sizeof(S));
	b0 = get8(&c);
	b1 = get8(&c);
	S.counter_tracking = b0 & 0x10;
	S.ia_bits = fmts[b0 % 4].ia;
	S.no_af = fmts[b0 % 4].id == S2_FMT_EPT && !(fmts[b0 % 4].flags & S2_PGT_EPT_AD);
	cfg = (struct s2_vm_cfg){
		.pgt = { fmts[b0 % 4].id, 12, fmts[b0 % 4].ia, 48,
			 fmts[b0 % 4].flags |
			 ((b0 & 0x20) && fmts[b0 % 4].id != S2_FMT_EPT ? S2_PGT_NO_FWB : 0),
			 fuzz_platform(), H },
		.host = &host_ops, .host_ctx = &S.h,
		.flags = S.counter_tracking ? S2_VM_COUNTER_TRACKING : 0, .max_slots = NSLOTS,
	};
	/* every page present, 2M-contiguous; some regions huge */
	for (uint64_t i = 0; i < HPAGES; i++)
		S.h.pa[i] = 0x40000000ULL + i * PG;
	for (unsigned r = 0; r < NREG; r++)
		S.h.thp[r] = b1 & (1U << r);
	S.h.next_pa = 0x100000000ULL;
	/* VM create with one of its allocations failing first */
	if (b0 & 0x40) {
		s2_hosted_fail_alloc(H, 1 + (b1 >> 4) % 6, false);
		ret = s2_vm_create(&cfg, &S.vm);
		s2_hosted_fail_alloc(H, 0, false);
		if (!ret)
			s2_vm_destroy(S.vm);
		else
			FUZZ_CHECK(ret == -S2_ENOMEM, "vm_create with a failing allocation: %d", ret);
	}
	FUZZ_CHECK(s2_vm_create(&cfg, &S.vm) == 0, "vm_create failed");
	S.h.vm = S.vm;
	S.geom = *s2_vm_pgtable(S.vm);
	for (S.op = 0; cur_more(&c) && S.op < MAX_OPS; S.op++) {
		uint8_t k = get8(&c), b = get8(&c);

		switch (k % 12) {
		/*
		 * Memslot updates wait for invalidations in progress to end
		 * (mmu.h): with one thread that is forever, so an update
		 * first ends what this input left pending, as the host would.
		 */
		case 0:
		case 1:
			while (S.npend)
				end_one();
			op_set_memslot(&c);
			break;
		case 2:
			while (S.npend)
				end_one();
			op_delete_memslot(b);
			break;
		case 3:
		case 4:
		case 5:
			op_fault(&c, b);
			break;
		case 6:
			op_host(&c, b);
			break;
		case 7:
			end_one();
			break;
		case 8:
			op_age(&c, b);
			break;
		case 9:
			op_dirty_log(b);
			break;
		case 10:
			/* the next operation meets a failing allocation */
			S.fail_nth = 1 + b % 4;
			s2_hosted_fail_alloc(H, S.fail_nth, false);
			check_all();
			continue;
		default:
			if ((b & 0xf) == 0xf) {
				s2_vm_mn_release(S.vm);
				S.released = true;
			}
			break;
		}
		if (S.fail_nth) {
			s2_hosted_fail_alloc(H, 0, false);
			S.fail_nth = 0;
		}
		check_all();
	}
	teardown();
	return 0;
}
