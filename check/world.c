// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The checked world (world.h): the check platform of the library, the glue
 * to the host model, the vCPU model and the oracle.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <s2mmu/format.h>
#include <s2mmu/pgtable.h>
#include "check/memmodel.h"
#include "check/world.h"
#include "tools/formats.h"

struct world *W;
int ck_inject;
int ck_format = S2_FMT_ARM64;
bool ck_lpa2;
unsigned w_page_shift = 12;
/* Physical address of frame 0 (and offset of table pages): bits 49..51
 * set in a 52-bit world, 0 otherwise.  Addresses enter the world's
 * frame numbering only through resolve (adds it) and the engine's leaves
 * and cache hooks (subtract it). */
static uint64_t w_pa_base;

#define PG		W_PG
#define PG_MAX		(1ULL << 16)	/* the pool's address space is for the largest granule */
#define POOL_PAGES	512
#define MAX_ATTEMPTS	12

bool w_set_granule(unsigned shift)
{
	if (host_set_page_shift(shift))
		return false;
	w_page_shift = shift;
	return true;
}

const struct s2_tool_format *w_tool_format(int format, bool wide)
{
	if (format != S2_FMT_ARM64)
		return s2_tool_format_of((enum s2_format_id)format, 12, 0, 0);
	/* 64K's 52 bits are FEAT_LPA, which has no flag */
	return s2_tool_format_of(S2_FMT_ARM64, w_page_shift,
				 wide && w_page_shift != 16 ? S2_PGT_LPA2 : 0, wide ? 52 : 0);
}

/* ------------------------------------------------------ table-page pool */
/*
 * Every table page comes from a pool that is never handed back to malloc
 * and never reused within one schedule: a freed page is made inaccessible
 * (PROT_NONE), so any read or write of it, by a software walker in the
 * library or by the modelled hardware walker, faults at once and the
 * SIGSEGV handler reports I3 with the schedule that did it.
 */
enum { PG_UNUSED, PG_LIVE, PG_FREED };
static uint8_t *pool;
static uint8_t pstate[POOL_PAGES];
static int pref[POOL_PAGES];
static bool proot[POOL_PAGES];
static unsigned pnext, pused;

static long pidx(const void *va)
{
	uintptr_t a = (uintptr_t)va, b = (uintptr_t)pool;

	if (a < b || a >= b + POOL_PAGES * PG)
		return -1;
	return (long)((a - b) / PG);
}

/* ------------------------------------------------------- object pool */
/*
 * Everything else the library allocates through the platform (the VM, slot
 * arrays, dirty bitmaps, its locks) gets the same treatment as table pages,
 * because the same races reach it: a slot array freed before the grace
 * period its readers need (I3's rule, for slots instead of tables) is as
 * much a use after free as a table page freed early.  Each object sits at
 * the end of its own pages, followed by an inaccessible guard page, so a
 * read one element past an array faults; a freed object's pages become
 * inaccessible at once and are not reused within the schedule.  The sizes
 * given to free() must match the allocation, and every object must be freed
 * by the time the VM is destroyed.
 */
#define OBJ_PAGES	8192	/* address space only: the pages are reused per schedule */
/* The host's own pages (mprotect's unit), whatever the world's granule */
#define OPG		4096ULL
#define OBJ_MAX		256

struct w_obj {
	uint8_t *base;		/* first page */
	size_t n;		/* bytes asked for */
	unsigned pages;
	bool live;
};
static uint8_t *opool;
static struct w_obj objs[OBJ_MAX];
static unsigned onext_page, nobjs;

static long oidx(const void *va)
{
	uintptr_t a = (uintptr_t)va, b = (uintptr_t)opool;

	return a >= b && a < b + OBJ_PAGES * OPG ? (long)((a - b) / OPG) : -1;
}

static const struct w_obj *obj_at_page(long pg)
{
	for (unsigned i = 0; i < nobjs; i++)
		if (pg >= (objs[i].base - opool) / (long)OPG &&
		    pg < (objs[i].base - opool) / (long)OPG + (long)objs[i].pages)
			return &objs[i];
	return NULL;
}

/* a pointer into a live object (memmodel.h's publication rule) */
static bool obj_is_live_ptr(uint64_t v)
{
	long pg = oidx((const void *)(uintptr_t)v);
	const struct w_obj *o = pg >= 0 ? obj_at_page(pg) : NULL;

	return o && o->live;
}

/* @v, read from the table entry @p, points at a live table page
 * (memmodel.h's publication rule for tables); the level is not known, so
 * every level that can hold a table is tried: a leaf's output address is
 * a guest frame, never a table page. */
static bool pte_is_table_ptr(const void *p, uint64_t v)
{
	struct s2_pgtable *pgt;
	bool yes = false;

	if (pidx(p) < 0 || !W || !W->vm)
		return false;
	mm_oracle_enter();
	pgt = s2_vm_pgtable(W->vm);
	for (int l = pgt ? pgt->start_level : S2_LAST_LEVEL; l < S2_LAST_LEVEL && !yes; l++) {
		long i;

		if (!s2_pte_table(pgt, v, l))
			continue;
		i = pidx(s2_pte_child(pgt, v, l));
		yes = i >= 0 && pstate[i] == PG_LIVE;
	}
	mm_oracle_exit();
	return yes;
}

static void obj_reset(void)
{
	mprotect(opool, OBJ_PAGES * OPG, PROT_NONE);
	onext_page = nobjs = 0;
}

/* Where an object starts: 8-byte aligned, ending at its guard page. */
static uint8_t *obj_ptr(const struct w_obj *o)
{
	return o->base + o->pages * OPG - ((o->n + 7) & ~(size_t)7);
}

static void *obj_get(size_t n)
{
	unsigned pages = (unsigned)((((n + 7) & ~(size_t)7) + OPG - 1) / OPG);
	struct w_obj *o;

	if (!pages)
		pages = 1;
	if (nobjs == OBJ_MAX || onext_page + pages + 1 > OBJ_PAGES) {
		fprintf(stderr, "check: object pool exhausted (%u objects)\n", nobjs);
		abort();
	}
	o = &objs[nobjs++];
	o->base = opool + onext_page * OPG;
	o->n = n;
	o->pages = pages;
	o->live = true;
	onext_page += pages + 1;	/* + the guard page, never made accessible */
	mprotect(o->base, pages * OPG, PROT_READ | PROT_WRITE);
	memset(o->base, 0, pages * OPG);
	return obj_ptr(o);
}

static void obj_put(void *p, size_t n, bool check_size)
{
	long pg = oidx(p);
	struct w_obj *o = NULL;

	for (unsigned i = 0; pg >= 0 && i < nobjs; i++)
		if (obj_ptr(&objs[i]) == (uint8_t *)p)
			o = &objs[i];
	if (!o)
		ck_violation(3, "free of %p, which the platform did not allocate", p);
	if (!o->live)
		ck_violation(3, "object %p (%zu bytes) freed twice", p, o->n);
	if (check_size && n != o->n)
		ck_violation(3, "object %p freed as %zu bytes, allocated as %zu", p, n, o->n);
	o->live = false;
	mprotect(o->base, o->pages * OPG, PROT_NONE);
}

static void segv(int sig, siginfo_t *si, void *uc)
{
	long i = pidx(si->si_addr);
	char msg[160];

	(void)sig;
	(void)uc;
	long oi = oidx(si->si_addr);

	if (i >= 0)
		snprintf(msg, sizeof(msg), "table page %ld touched after it was freed (addr %p)",
			 i, si->si_addr);
	else if (oi >= 0) {
		const struct w_obj *o = obj_at_page(oi);

		i = oi;		/* memory safety: reported as I3 */
		if (o)
			snprintf(msg, sizeof(msg), "object of %zu bytes touched after it was "
				 "freed (addr %p)", o->n, si->si_addr);
		else
			snprintf(msg, sizeof(msg), "access past the end of an object (addr %p)",
				 si->si_addr);
	} else
		snprintf(msg, sizeof(msg), "crash at %s: invalid pointer %p dereferenced",
			 ck_last_site(), si->si_addr);
	/* the host's level walk feeds block sizes: its crash is I6's */
	if (ck_violation_hook)
		ck_violation_hook(i >= 0 ? 3 : strstr(ck_last_site(), "level walk") ? 6 : 4, msg);
	_exit(99);
}

void w_process_init(void)
{
	struct sigaction sa;
	static char altstack[1 << 16];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };

	/* table pages are aligned to the granule, a concatenated root (16
	 * pages) to its size: the pool starts at a 1M boundary */
	pool = mmap(NULL, POOL_PAGES * PG_MAX + 16 * PG_MAX, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	opool = mmap(NULL, OBJ_PAGES * OPG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pool == MAP_FAILED || opool == MAP_FAILED)
		abort();
	pool = (uint8_t *)(((uintptr_t)pool + 16 * PG_MAX - 1) & ~(uintptr_t)(16 * PG_MAX - 1));
	sigaltstack(&ss, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = segv;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}

static void pool_reset(void)
{
	mprotect(pool, POOL_PAGES * PG_MAX, PROT_NONE);
	memset(pstate, 0, sizeof(pstate));
	memset(pref, 0, sizeof(pref));
	memset(proot, 0, sizeof(proot));
	pnext = pused = 0;
}

static void *pool_get(unsigned n, bool root)
{
	unsigned i = (pnext + n - 1) / n * n;	/* aligned to its size */
	void *p;

	if (i + n > POOL_PAGES)
		return NULL;
	p = pool + i * PG;
	mprotect(p, n * PG, PROT_READ | PROT_WRITE);
	memset(p, 0, n * PG);
	for (unsigned k = 0; k < n; k++) {
		pstate[i + k] = PG_LIVE;
		pref[i + k] = 1;
		proot[i + k] = root;
	}
	pnext = i + n;
	return p;
}

static void pool_put(void *va, unsigned n)
{
	long i = pidx(va);

	if (i < 0)
		ck_violation(3, "free of a page that is not a table page (%p)", va);
	for (unsigned k = 0; k < n; k++) {
		if (pstate[i + k] != PG_LIVE)
			ck_violation(3, "table page %ld freed twice", i + (long)k);
		pstate[i + k] = PG_FREED;
	}
	mprotect(va, n * PG, PROT_NONE);
}

/* --------------------------------------------------------- RCU model */
/*
 * A grace period ends once every thread that was inside a read section
 * when it began has left it.  Callbacks run at the next RCU event after
 * that (an unlock, a synchronize, a barrier) or at the end, like the
 * kernel's softirq does some time later.
 */
struct rcu_cb {
	void *va;
	int level;
	s2_deferred_fn fn;
	void *owner;
	unsigned waitmask;
	unsigned exits[CK_MAX_THREADS];
	uint64_t seq;		/* order of queueing, for defer_barrier */
};
static int rnest[CK_MAX_THREADS];
static unsigned rexits[CK_MAX_THREADS];
static struct rcu_cb cbs[256];
static uint64_t cb_seq;
static unsigned ncbs;
static bool in_cbs;

static unsigned readers_now(unsigned *exits)
{
	unsigned m = 0;

	for (int t = 0; t < CK_MAX_THREADS; t++) {
		exits[t] = rexits[t];
		if (rnest[t])
			m |= 1U << t;
	}
	return m;
}

static bool gp_over(unsigned mask, const unsigned *exits)
{
	for (int t = 0; t < CK_MAX_THREADS; t++)
		if ((mask & (1U << t)) && rexits[t] == exits[t])
			return false;
	return true;
}

static void run_callbacks(bool all)
{
	unsigned i;

	if (in_cbs)
		return;
	in_cbs = true;
	for (i = 0; i < ncbs;) {
		if (all || gp_over(cbs[i].waitmask, cbs[i].exits)) {
			struct rcu_cb c = cbs[i];

			cbs[i] = cbs[--ncbs];
			c.fn(c.owner, c.va, c.level);
			i = 0;
			continue;
		}
		i++;
	}
	in_cbs = false;
}

/*
 * A grace period may end at any scheduling point where no read section
 * still holds it, and a page queued for freeing becomes inaccessible as
 * soon as it does: the callbacks run at the first point after that
 * (ck_point_hook), not at the next RCU event, so a walker outside any
 * read section that still holds a pointer into the page faults on it.
 */
static void rcu_point(void)
{
	mm_point();
	if (ncbs && W)
		run_callbacks(false);
}

static bool in_read_section(void)
{
	int t = ck_self();

	return t >= 0 && rnest[t] > 0;
}

static void c_rcu_read_lock(void *ctx)
{
	int t = ck_self();

	(void)ctx;
	if (t >= 0)
		rnest[t]++;
}

static void c_rcu_read_unlock(void *ctx)
{
	int t = ck_self();

	(void)ctx;
	if (t >= 0 && --rnest[t] == 0) {
		rexits[t]++;
		run_callbacks(false);
	}
}

static void c_synchronize_rcu(void *ctx)
{
	unsigned exits[CK_MAX_THREADS], mask;
	int t = ck_self();

	(void)ctx;
	ck_point("synchronize_rcu");
	/*
	 * Weak-memory mode: a grace period is a full barrier on every CPU
	 * between the caller's earlier stores and any read section that
	 * starts after it returns, so what the caller published (a memslot
	 * array) is visible to every reader before it frees what it replaced.
	 * Without it a reader after the free still saw the old pointer (a
	 * false I4 crash in the fault path).
	 */
	if (s2_check_mem_rmw)
		s2_check_mem_rmw(NULL, __ATOMIC_SEQ_CST);
	mask = readers_now(exits);
	if (t >= 0)
		mask &= ~(1U << t);
	while (!gp_over(mask, exits))
		ck_yield();
	run_callbacks(false);
}

static void c_defer_free(void *ctx, void *va, int level, s2_deferred_fn fn, void *owner)
{
	struct rcu_cb *c;

	(void)ctx;
	if (ncbs >= 256)
		abort();
	c = &cbs[ncbs++];
	c->va = va;
	c->level = level;
	c->fn = fn;
	c->owner = owner;
	c->waitmask = readers_now(c->exits);
	c->seq = ++cb_seq;
	ck_point("defer_free (after grace period)");
}

/*
 * rcu_barrier, as the platform contract says: wait for the callbacks
 * queued so far, each after its own grace period, and no more.  With none
 * queued it returns at once and waits for no reader, as Linux's does; a
 * model that waited for the readers of the moment here would hide a
 * missing synchronize_rcu behind it (teardown's, before the root goes).
 */
static void c_defer_barrier(void *ctx)
{
	uint64_t upto = cb_seq;

	(void)ctx;
	for (;;) {
		bool pending = false;

		run_callbacks(false);
		for (unsigned i = 0; i < ncbs && !pending; i++)
			pending = cbs[i].seq <= upto;
		if (!pending)
			break;
		ck_yield();
	}
}

/* ------------------------------------------------------ the platform */

/* A table page is one granule page: the pool's unit.  Another size would
 * be the library's mistake (its table would not be one page). */
static void *c_alloc_page(void *ctx, unsigned shift)
{
	(void)ctx;
	if (shift != w_page_shift)
		ck_violation(3, "table page of 2^%u bytes asked for in a 2^%u-byte granule",
			     shift, w_page_shift);
	return pool_get(1, false);
}

static void c_free_page(void *ctx, void *va, unsigned shift)
{
	(void)ctx;
	ck_point("free table page");
	if (shift != w_page_shift)
		ck_violation(3, "table page freed as 2^%u bytes in a 2^%u-byte granule",
			     shift, w_page_shift);
	pool_put(va, 1);
}

static void *c_alloc_exact(void *ctx, size_t size)
{
	(void)ctx;
	return pool_get((unsigned)((size + PG - 1) / PG), true);
}

static void c_free_exact(void *ctx, void *va, size_t size)
{
	(void)ctx;
	ck_point("free root");
	pool_put(va, (unsigned)((size + PG - 1) / PG));
}

static int c_ref_add(void *ctx, void *va, int delta)
{
	long i = pidx(va);

	(void)ctx;
	if (i < 0 || pstate[i] != PG_LIVE)
		ck_violation(3, "refcount of a freed or foreign table page changed");
	pref[i] += delta;
	if (pref[i] < 0)
		ck_violation(3, "table page %ld refcount underflow (%d)", i, pref[i]);
	return pref[i];
}

/* The vCPU whose fault the calling thread is handling (-1: none): the
 * one a local (non-broadcast) invalidation reaches. */
static __thread int cur_vcpu = -1;

/*
 * Invalidate [start, end) in every vCPU's TLB (@only >= 0: that vCPU's
 * alone, S2_TLBI_LOCAL).  @level >= 0 is the leaf level the caller says
 * the entries have (FEAT_TTL's hint): the architecture lets an entry of
 * another level survive such an invalidation, and so does this model, so
 * a wrong hint leaves a stale translation that the oracle sees.
 */
static void drop_tlb(uint64_t start, uint64_t end, bool walkcache, int level, int only)
{
	for (unsigned v = 0; v < W->cfg.nr_vcpus; v++) {
		struct w_vcpu *c = &W->vcpu[v];

		if (only >= 0 && (int)v != only)
			continue;
		/* the DSB after a TLBI waits for walks in flight (D5.10) */
		ck_mutex_lock(&c->walk, "TLBI: wait for the vCPU's walk");
		c->tlbi_gen++;
		for (unsigned i = 0; i < W_TLB; i++) {
			struct w_tlbe *e = &c->tlb[i];

			if (e->valid && e->ipa < end && e->ipa + e->size > start &&
			    (level < 0 || e->level == level))
				e->valid = false;
		}
		if (walkcache)
			for (unsigned i = 0; i < W_WC; i++)
				c->wc[i].valid = false;
		ck_mutex_unlock(&c->walk);
	}
}

static void c_tlbi_ipa(void *ctx, s2_gpa_t gpa, int level, unsigned flags)
{
	uint64_t ipa = gpa.v;

	(void)ctx;
	ck_note("TLBI ipa %#llx L%d%s%s", (unsigned long long)ipa, level,
		(flags & S2_TLBI_LEAF) ? " leaf" : "", (flags & S2_TLBI_LOCAL) ? " local" : "");
	/* a local invalidation from outside a vCPU's fault reaches no TLB */
	if ((flags & S2_TLBI_LOCAL) && cur_vcpu < 0)
		return;
	drop_tlb(ipa, ipa + 1, !(flags & S2_TLBI_LEAF) || level < 0,
		 (flags & S2_TLBI_LEAF) ? level : -1, (flags & S2_TLBI_LOCAL) ? cur_vcpu : -1);
}

static void c_tlbi_range(void *ctx, s2_gpa_t gpa, uint64_t size, int level)
{
	uint64_t ipa = gpa.v;
	uint64_t chunk = PG, a, end = ipa + size;

	(void)ctx;
	ck_note("TLBI range %#llx+%#llx L%d", (unsigned long long)ipa,
		(unsigned long long)size, level);
	/* The range operation is issued in chunks of the operand's reach, as
	 * FEAT_TLBIRANGE encodes (NUM+1) * 2^(5*SCALE+1) pages. */
	if (size > 2 * PG)
		chunk = 2 * PG;
	while (size / chunk > 4)
		chunk *= 2;	/* a larger SCALE: few operations per range */
	for (a = ipa; a < end; a += chunk)
		drop_tlb(a, a + chunk < end ? a + chunk : end, level < 0, level, -1);
}

static void c_tlbi_vm(void *ctx)
{
	(void)ctx;
	ck_note("TLBI vm");
	drop_tlb(0, ~0ULL, true, -1, -1);
}

static void c_dcache(void *ctx, s2_hpa_t hpa, uint64_t size)
{
	uint64_t pa = hpa.v - w_pa_base;

	(void)ctx;
	ck_point("dcache clean+inval");
	for (uint64_t p = pa >> w_page_shift; p < (pa + size) >> w_page_shift && p < W_IO_PFN0; p++)
		W->line_dirty[p] = false;
}

static void c_icache(void *ctx, s2_hpa_t hpa, uint64_t size)
{
	uint64_t pa = hpa.v - w_pa_base;

	(void)ctx;
	ck_note("icache inval %#llx+%#llx", (unsigned long long)pa, (unsigned long long)size);
	for (uint64_t p = pa >> w_page_shift; p < (pa + size) >> w_page_shift && p < W_IO_PFN0; p++)
		W->ic_stale[p] = false;
}

static void *c_zalloc(void *ctx, size_t n)
{
	(void)ctx;
	return obj_get(n);
}

static void c_free(void *ctx, void *p, size_t n)
{
	(void)ctx;
	if (p)
		obj_put(p, n, true);
}

static void c_yield(void *ctx)
{
	(void)ctx;
	ck_yield();
}

static void *c_rwlock_new(void *ctx)
{
	struct ck_lock *l = obj_get(sizeof(*l));

	(void)ctx;
	return l;
}

static void c_rwlock_free(void *ctx, void *l)
{
	(void)ctx;
	obj_put(l, 0, false);
}

/* Taking a lock acquires what every earlier unlock released: in the
 * weak-memory mode, everything pending becomes visible. */
static void c_read_lock(void *l) { ck_read_lock(l, "mmu_lock (read)"); mm_acquire(); }
/* Every release of mmu_lock or slots_lock is a scheduling point: another
 * thread may run between an unlock and the statement after it. */
static void c_read_unlock(void *l) { ck_read_unlock(l); ck_point("lock released (read)"); }
static void c_write_lock(void *l) { ck_write_lock(l, "mmu_lock (write)"); mm_acquire(); }
static void c_write_unlock(void *l) { ck_write_unlock(l); ck_point("lock released"); }

static bool c_check_bug(void *ctx, int id)
{
	(void)ctx;
	return ck_inject == id + 1;
}

static void c_check_preempt(void *ctx, const char *site)
{
	(void)ctx;
	/* table-entry accesses (src/pgtable S2_PTE_POINT) are light points */
	if (!strncmp(site, "pte:", 4))
		ck_point_light(site);
	else
		ck_point(site);
}

static void c_check_violation(void *ctx, int inv, const char *what)
{
	(void)ctx;
	ck_violation(inv, "%s", what);
}

static struct s2_platform cplat = {
	.alloc_page = c_alloc_page,
	.free_page = c_free_page,
	.alloc_pages_exact = c_alloc_exact,
	.free_pages_exact = c_free_exact,
	.page_ref_add = c_ref_add,
	.linear = true,
	.linear_offset = 0,
	.defer_free = c_defer_free,
	.defer_barrier = c_defer_barrier,
	.tlbi_ipa = c_tlbi_ipa,
	.tlbi_range = c_tlbi_range,
	.tlbi_vm = c_tlbi_vm,
	.dcache_clean_inval_poc = c_dcache,
	.icache_inval_pou = c_icache,
	.zalloc = c_zalloc,
	.free = c_free,
	.yield = c_yield,
	.rwlock_new = c_rwlock_new,
	.rwlock_free = c_rwlock_free,
	.read_lock = c_read_lock,
	.read_unlock = c_read_unlock,
	.write_lock = c_write_lock,
	.write_unlock = c_write_unlock,
	.rcu_read_lock = c_rcu_read_lock,
	.rcu_read_unlock = c_rcu_read_unlock,
	.synchronize_rcu = c_synchronize_rcu,
	.check_bug = c_check_bug,
	.check_preempt = c_check_preempt,
	.check_violation = c_check_violation,
};

/* ----------------------------------------------------------- host glue */

static int herr(int e)
{
	if (e == -ENOMEM)
		return -S2_ENOMEM;
	if (e == -EAGAIN || e == -EBUSY)
		return -S2_EAGAIN;
	return -S2_EFAULT;
}

static int g_resolve(void *host, s2_hva_t hva, bool write, struct s2_resolved *r)
{
	uint64_t pfn;
	bool wr;
	int level, ret;

	(void)host;
	ret = host_gup(W->mm, hva, write, &pfn, &wr, &level);
	if (ret == -EFAULT &&
	    !host_follow_pfn(W->mm, hva, write, &pfn, &wr, &level)) {
		/* memory behind a PFNMAP is mapped Normal (pfn_is_map_memory) */
		bool mem = W->cfg.pfnmap_mem && pfn >= W_IO_PFN0 + 128;

		*r = (struct s2_resolved){ .pa = s2_hpa(w_pa_base + (pfn << w_page_shift)), .writable = wr,
					   .device = !mem, .cookie = pfn };
		return 0;
	}
	if (ret)
		return herr(ret);
	*r = (struct s2_resolved){ .pa = s2_hpa(w_pa_base + (pfn << w_page_shift)), .writable = wr,
				   .cookie = pfn };
	return 0;
}

static void g_put(void *host, const struct s2_resolved *r)
{
	(void)host;
	if (!r->device)
		host_frame_put(W->phys, r->cookie);
}

static uint64_t g_mapping_size(void *host, s2_hva_t hva)
{
	(void)host;
	switch (host_mapping_level(W->mm, hva)) {
	case HOST_LEVEL_4K: return HOST_PAGE_SIZE;
	case HOST_LEVEL_2M: return HOST_PMD_SIZE;
	case HOST_LEVEL_1G: return HOST_PUD_SIZE;
	default: return 0;
	}
}

static int g_vma_info(void *host, s2_hva_t hva, struct s2_vma_info *out)
{
	struct host_vma_info vi;
	int ret;

	(void)host;
	ret = host_vma_query(W->mm, hva, &vi);
	if (ret)
		return herr(ret);
	*out = (struct s2_vma_info){ .start = s2_hva(vi.start), .end = s2_hva(vi.end),
				     .pfnmap = vi.kind == HOST_VMA_PFNMAP, .pgoff = vi.pgoff,
				     .writable = (vi.prot & HOST_PROT_WRITE) != 0 };
	return 0;
}

static const struct s2_host_ops gops = {
	.resolve = g_resolve,
	.put = g_put,
	.mapping_size = g_mapping_size,
	.vma_info = g_vma_info,
};

/* ------------------------------------------------------ oracle helpers */

static bool gidx(uint64_t hva, uint64_t *g)
{
	if (hva < W_HVA || hva >= W_HVA + W_PAGES * PG)
		return false;
	*g = (hva - W_HVA) >> w_page_shift;
	return true;
}

static void range_pages(uint64_t s, uint64_t e, uint64_t *g0, uint64_t *g1)
{
	if (s < W_HVA)
		s = W_HVA;
	if (e > W_HVA + W_PAGES * PG)
		e = W_HVA + W_PAGES * PG;
	*g0 = (s - W_HVA) >> w_page_shift;
	*g1 = e > s ? (e - W_HVA + PG - 1) >> w_page_shift : *g0;
}

static uint64_t tick(void)
{
	return ++W->tick;
}

/* The HVA a GPA is backed by through the live slot, or 0. */
static uint64_t gpa_hva(uint64_t gpa, unsigned *flags)
{
	s2_hva_t h;
	bool ok;

	/* the oracle reads the slots as they are, not as this thread sees them */
	mm_oracle_enter();
	ok = s2_vm_gpa_to_hva(W->vm, s2_gpa(gpa), &h, flags);
	mm_oracle_exit();
	return ok ? h.v : 0;
}

/* --------------------------------------------------------- notifiers */

static int n_start(struct host_mn_sub *sub, s2_hva_t s, s2_hva_t e, enum host_mn_event ev,
		   bool blockable)
{
	uint64_t t, g, g0, g1;
	int ret;

	(void)sub;
	range_pages(s.v, e.v, &g0, &g1);
	for (g = g0; g < g1; g++)
		W->inprog[g]++;
	W->inprog_total++;
	W->inv_events++;
	t = tick();
	ck_note("inval start %#llx-%#llx (%s)", (unsigned long long)(s.v - W_HVA),
		(unsigned long long)(e.v - W_HVA), host_mn_event_name(ev));
	ret = s2_vm_mn_invalidate_range_start(W->vm, s, e, blockable);
	ck_note("inval start returned");
	for (g = g0; g < g1; g++) {
		uint64_t pfn = W->last_pfn[g] - 1;	/* ~0: never accessed */

		W->inv_epoch[g] = t;
		W->young_seen[g] = false;
		/* I8: once the translation is gone the data must be at PoC.  Only
		 * while the page's last frame is still the one it accessed: once
		 * freed (generation bumped) and given to another page, a dirty
		 * line there is that page's write, judged at that page's zap. */
		if (pfn < W_IO_PFN0 && W->line_dirty[pfn] &&
		    W->last_gen[g] == host_frame_gen(W->phys, pfn))
			ck_violation(8, "page %#llx: a guest write is still only in the cache "
				     "after invalidate_range_start returned",
				     (unsigned long long)(g * PG));
	}
	return ret;
}

static void n_end(struct host_mn_sub *sub, s2_hva_t s, s2_hva_t e, enum host_mn_event ev,
		  bool blockable)
{
	uint64_t g, g0, g1;

	(void)sub;
	(void)ev;
	(void)blockable;
	ck_note("inval end");
	s2_vm_mn_invalidate_range_end(W->vm, s, e);
	range_pages(s.v, e.v, &g0, &g1);
	for (g = g0; g < g1; g++)
		W->inprog[g]--;
	W->inprog_total--;
	W->inv_events++;
}

static void n_release(struct host_mn_sub *sub)
{
	uint64_t t = tick();

	(void)sub;
	ck_note("release");
	/* from here on aging promises nothing (I9): the VM is going, and an
	 * access before it owes test_young nothing either (release zaps) */
	W->released = true;
	s2_vm_mn_release(W->vm);
	for (unsigned g = 0; g < W_PAGES; g++) {
		W->inv_epoch[g] = t;
		W->young_seen[g] = false;
	}
	W->inv_events++;
}

static int n_cfy(struct host_mn_sub *sub, s2_hva_t s, s2_hva_t e)
{
	uint64_t g, g0, g1, t0, t;
	bool y;

	(void)sub;
	range_pages(s.v, e.v, &g0, &g1);
	t0 = tick();
	for (g = g0; g < g1; g++) {
		W->young_seen[g] = false;
		W->aging[g]++;
	}
	ck_note("clear_flush_young");
	y = s2_vm_mn_clear_flush_young(W->vm, s, e);
	t = tick();
	/* I9's start stamp is set with its return stamp: while this call
	 * runs, the pair still describes the last one that returned (a fill
	 * between that one's return and this start is no violation yet) */
	for (g = g0; g < g1; g++) {
		if (W->cfy_start[g] < t0)	/* of overlapping calls, the later start */
			W->cfy_start[g] = t0;
		W->cfy_done[g] = t;
		W->young_seen[g] = false;
		W->aging[g]--;
	}
	return y;
}

static int n_cy(struct host_mn_sub *sub, s2_hva_t s, s2_hva_t e)
{
	uint64_t g, g0, g1;
	int y;

	(void)sub;
	range_pages(s.v, e.v, &g0, &g1);
	ck_note("clear_young");
	/* no flush: cached translations may keep accessing unseen (as Linux) */
	for (g = g0; g < g1; g++) {
		W->cfy_done[g] = ~0ULL;
		W->young_seen[g] = false;
		W->aging[g]++;
	}
	y = s2_vm_mn_clear_young(W->vm, s, e);
	for (g = g0; g < g1; g++) {
		W->young_seen[g] = false;
		W->aging[g]--;
	}
	return y;
}

static int n_ty(struct host_mn_sub *sub, s2_hva_t s, s2_hva_t e)
{
	uint64_t g, g0, g1, t, want = ~0ULL;
	bool y;

	(void)sub;
	range_pages(s.v, e.v, &g0, &g1);
	t = tick();
	ck_note("test_young");
	y = s2_vm_mn_test_young(W->vm, s, e);
	/*
	 * I9: a miss counts only for a page accessed after clear_flush_young
	 * returned with nothing since that may make its leaf old: young_seen
	 * is dropped at both ends of every clear, zap, invalidation, memslot
	 * change and release, so it is judged now, after the call (a zap
	 * while test_young waited for mmu_lock made "old" right), and only
	 * for an access before the call began (one during it may follow the
	 * leaf's read); a clear or an invalidation still running over the
	 * page, or a release begun, forgives it too.
	 */
	for (g = g0; g < g1 && !W->released; g++)
		if (W->young_seen[g] && W->young_seen[g] < t && !W->aging[g] && !W->inprog[g])
			want = g;
	if (!y && want != ~0ULL)
		ck_violation(9, "test_young said old, but page %#llx was accessed after "
			     "clear_flush_young returned", (unsigned long long)(want * PG));
	return y;
}

static const struct host_mn_ops nops = {
	.invalidate_range_start = n_start,
	.invalidate_range_end = n_end,
	.release = n_release,
	.clear_flush_young = n_cfy,
	.clear_young = n_cy,
	.test_young = n_ty,
};

/* ------------------------------------------------------------ the vCPU */

static struct w_tlbe *tlb_find(struct w_vcpu *v, uint64_t gpa)
{
	for (unsigned i = 0; i < W_TLB; i++) {
		struct w_tlbe *e = &v->tlb[i];

		if (e->valid && gpa >= e->ipa && gpa < e->ipa + e->size)
			return e;
	}
	return NULL;
}

/* I5: no two different translations (output or size) for one address in
 * the TLBs, which the architecture forbids (TLB conflict, D5.10.1). */
static void check_i5(const struct w_tlbe *n)
{
	for (unsigned v = 0; v < W->cfg.nr_vcpus; v++)
		for (unsigned i = 0; i < W_TLB; i++) {
			const struct w_tlbe *e = &W->vcpu[v].tlb[i];

			if (!e->valid || e->ipa >= n->ipa + n->size || n->ipa >= e->ipa + e->size)
				continue;
			/* output, size or memory type: all need a break */
			if (e->ipa != n->ipa || e->size != n->size || e->pa != n->pa ||
			    e->device != n->device)
				ck_violation(5, "vCPU%u holds %#llx+%#llx -> %#llx%s while "
					     "%#llx+%#llx -> %#llx%s is filled",
					     v, (unsigned long long)e->ipa,
					     (unsigned long long)e->size,
					     (unsigned long long)e->pa,
					     e->device ? " (Device)" : "",
					     (unsigned long long)n->ipa,
					     (unsigned long long)n->size,
					     (unsigned long long)n->pa,
					     n->device ? " (Device)" : "");
		}
}

/*
 * The hardware walk: from the deepest walk-cache entry covering @gpa, or
 * the root; every entry read once, atomically.  AF clear: set it (HW_AF)
 * or fault; a write to a read-only leaf with DBM: set W (HW_DBM), both by
 * compare-and-exchange like the hardware's atomic update.
 * Return: the filled TLB entry, or NULL (a fault).  Context: v->walk held.
 */
static struct w_tlbe *walk(struct w_vcpu *v, uint64_t gpa, bool write)
{
	struct s2_pgtable *pgt;
	struct s2_mapping m;
	struct w_tlbe *e;
	uint64_t *table, pte;
	int level, best = -1;
	unsigned idx;

	/* the hardware walks what VTTBR points at now, not a thread's view */
	mm_oracle_enter();
	pgt = s2_vm_pgtable(W->vm);
	mm_oracle_exit();
	if (!pgt || !pgt->root)
		return NULL;
	level = pgt->start_level;
	table = pgt->root;
	for (unsigned i = 0; i < W_WC; i++) {
		struct w_wce *c = &v->wc[i];

		if (c->valid && c->level > best &&
		    (gpa & ~(pgt->span[S2_LVL(c->level - 1)] - 1)) == c->base) {
			best = c->level;
			table = c->table;
			level = c->level;
		}
	}
	for (;;) {
		uint64_t upd;

		idx = (unsigned)(gpa >> pgt->shift[S2_LVL(level)]);
		if (level != pgt->start_level)
			idx &= (1U << pgt->fmt.bits_per_level) - 1;
		ck_point("hw walk: read entry");
		pte = __atomic_load_n(&table[idx], __ATOMIC_ACQUIRE);
		if (s2_pte_table(pgt, pte, level)) {
			struct w_wce *c = &v->wc[v->wnext++ % W_WC];

			table = s2_pte_child(pgt, pte, level);
			*c = (struct w_wce){ true, level + 1,
					     gpa & ~(pgt->span[S2_LVL(level)] - 1), table };
			level++;
			continue;
		}
		if (!s2_pte_valid(pgt, pte, level))
			return NULL;
		s2_pte_decode(pgt, pte, level, &m);
		if (!m.young) {
			/* no hardware AF: an access-flag fault */
			upd = s2_pte_hw_update(pgt, pte, level, S2_HW_SET_AF);
			if (upd == pte)
				return NULL;
			ck_point("hw: set access flag");
			if (!__atomic_compare_exchange_n(&table[idx], &pte, upd, false,
							 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
				return NULL;
			pte = upd;
			s2_pte_decode(pgt, pte, level, &m);
		}
		/* a write records itself: DBM sets S2AP[1] of a read-only
		 * leaf, EPT sets D of a writable one */
		upd = write ? s2_pte_hw_update(pgt, pte, level, S2_HW_SET_DIRTY) : pte;
		if (upd != pte) {
			ck_point("hw: set dirty (DBM / D)");
			if (!__atomic_compare_exchange_n(&table[idx], &pte, upd, false,
							 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
				return NULL;
			pte = upd;
			s2_pte_decode(pgt, pte, level, &m);
		}
		break;
	}
	e = &v->tlb[v->next++ % W_TLB];
	*e = (struct w_tlbe){ .valid = false, .w = (m.prot & S2_PROT_W) != 0,
			      .x = (m.prot & S2_PROT_X) != 0,
			      .device = (m.prot & S2_PROT_DEVICE) != 0,
			      .dbm = m.hw_dirty_ok,
			      .wclean = s2_pte_hw_update(pgt, pte, level, S2_HW_SET_DIRTY) != pte,
			      .ipa = gpa & ~(m.size - 1),
			      .size = m.size, .pa = m.pa.v - w_pa_base, .fill_tick = tick(),
			      .level = level };
	check_i5(e);
	e->gen = e->pa >> w_page_shift < W_IO_PFN0 ?
		 host_frame_gen(W->phys, e->pa >> w_page_shift) : 0;
	e->valid = true;
	ck_note("vCPU%d fill %#llx+%#llx -> %#llx%s%s%s", v->id, (unsigned long long)e->ipa,
		(unsigned long long)e->size, (unsigned long long)e->pa, e->w ? " W" : "",
		e->x ? " X" : "", e->device ? " Dev" : "");
	return e;
}

/* Oracle at a completed access through @e.  Context: v->walk held. */
static void check_access(struct w_vcpu *v, const struct w_tlbe *e, uint64_t gpa, unsigned acc)
{
	unsigned flags = 0;
	bool write = acc == S2_ACC_WRITE;
	uint64_t hva = gpa_hva(gpa, &flags), g, pfn = (e->pa + (gpa - e->ipa)) >> w_page_shift;

	ck_note("vCPU%d %s %#llx -> pfn %#llx", v->id,
		write ? "write" : acc == S2_ACC_EXEC ? "exec" : "read",
		(unsigned long long)gpa, (unsigned long long)pfn);
	if (!hva)
		ck_violation(1, "vCPU%d accessed GPA %#llx, which no live memslot backs "
			     "(a stale translation)", v->id, (unsigned long long)gpa);
	if (!gidx(hva, &g))
		return;
	if (e->fill_tick < W->inv_epoch[g])
		ck_violation(1, "vCPU%d used a translation of HVA page %#llx read before "
			     "the invalidation that has since returned",
			     v->id, (unsigned long long)(g * PG));
	if (pfn < W_IO_PFN0 && e->gen != host_frame_gen(W->phys, e->pa >> w_page_shift))
		ck_violation(1, "vCPU%d accessed frame %#llx, freed by the host since the "
			     "translation was read", v->id, (unsigned long long)pfn);
	/* I11, after the I1 checks: a stale translation is reported as what
	 * it is.  (A fetch through a translation without X never gets here:
	 * it is a permission fault, tlbe_allows.)  Instructions fetched from
	 * lines older than the frame's content: */
	if (acc == S2_ACC_EXEC && !cplat.icache_dic && pfn < W_IO_PFN0 && W->ic_stale[pfn])
		ck_violation(11, "vCPU%d executed pfn %#llx (GPA %#llx) with stale instruction-cache "
			     "lines: the page became executable without an I-cache invalidation",
			     v->id, (unsigned long long)pfn, (unsigned long long)gpa);
	if (write && (flags & S2_MEM_READONLY))
		ck_violation(2, "vCPU%d wrote GPA %#llx through a READONLY memslot",
			     v->id, (unsigned long long)gpa);
	/*
	 * I9: once clear_flush_young has returned, a translation filled
	 * before it began must be gone from every TLB: an access through it
	 * sets no access flag, and test_young would miss it.
	 */
	if (W->cfy_done[g] && W->cfy_done[g] != ~0ULL && e->fill_tick < W->cfy_start[g] &&
	    !W->released)
		ck_violation(9, "vCPU%d accessed page %#llx through a translation filled before "
			     "clear_flush_young began, after it returned",
			     v->id, (unsigned long long)(g * PG));
	if (e->fill_tick > W->cfy_done[g] && !W->young_seen[g])
		W->young_seen[g] = W->tick;	/* >= 1: the fill ticked */
	if (write && W->logging) {
		W->unreported[g] = true;
		W->wcount[g]++;
	}
	if (write && (W->cfg.pgt_flags & S2_PGT_NO_FWB) && pfn < W_IO_PFN0)
		W->line_dirty[pfn] = true;
	W->last_pfn[g] = pfn + 1;	/* pfn 0 is a frame like any other */
	W->last_gen[g] = pfn < W_IO_PFN0 ? host_frame_gen(W->phys, pfn) : 0;
}

/*
 * I1/I2/I6 against the host's own table for a translation just filled:
 * outside the vCPU lock (the host's page-table lock is taken once, so the
 * whole block is compared with one instant of the host), skipping pages
 * with an invalidation in progress and giving up if a TLBI reached the
 * vCPU meanwhile (either makes a difference legitimate).  Every page of a
 * block is compared: a block is wrong as soon as one page inside it is
 * (a THP split and one subpage zapped or migrated, seed 002).
 */
static void check_fill(struct w_vcpu *v, struct w_tlbe snap, uint64_t gen)
{
	uint64_t n = snap.size >> w_page_shift, stride = 1, hva, hlast, pfn[W_MAX_PAGES / 2];
	bool rw[W_MAX_PAGES / 2];
	unsigned flags, k, cnt;

	/* a last-level block whole, whatever the granule (one zapped page
	 * in it is the bug); larger ones (1G at 4K) by a sample as many */
	if (n > W_BLK_PAGES) {
		stride = n / W_BLK_PAGES;
		n = W_BLK_PAGES;
	}
	hva = gpa_hva(snap.ipa, &flags);
	hlast = gpa_hva(snap.ipa + snap.size - PG, &flags);
	if (snap.size > PG && (!hva || hlast != hva + snap.size - PG))
		ck_violation(6, "block %#llx+%#llx crosses its memslot's edge",
			     (unsigned long long)snap.ipa, (unsigned long long)snap.size);
	if (!hva)
		return;
	cnt = (unsigned)n;
	if (stride == 1)
		host_pt_query_pfns(W->mm, s2_hva(hva), cnt, pfn, rw);
	else
		for (k = 0; k < cnt; k++)
			host_pt_query_pfns(W->mm, s2_hva(hva + k * stride * PG), 1, &pfn[k], &rw[k]);
	if (v->tlbi_gen != gen)
		return;
	for (k = 0; k < cnt; k++) {
		uint64_t off = (uint64_t)k * stride, g, want;

		if (!gidx(hva + off * PG, &g) || W->inprog[g])
			continue;
		want = (snap.pa >> w_page_shift) + off;
		if (pfn[k] != want)
			ck_violation(snap.size > PG ? 6 : 1,
				     "stage 2 maps GPA %#llx to pfn %#llx but the host maps its "
				     "HVA to %s%#llx, no invalidation in progress",
				     (unsigned long long)(snap.ipa + off * PG),
				     (unsigned long long)want,
				     pfn[k] == ~0ULL ? "nothing " : "pfn ",
				     (unsigned long long)(pfn[k] == ~0ULL ? 0 : pfn[k]));
		if (snap.w && !rw[k])
			ck_violation(2, "stage 2 maps GPA %#llx writable, the host maps it "
				     "read-only", (unsigned long long)(snap.ipa + off * PG));
	}
}

int w_access(unsigned vi, uint64_t gpa, bool write)
{
	return w_access_kind(vi, gpa, write ? S2_ACC_WRITE : S2_ACC_READ);
}

/* May the access go through @e, or is it a permission fault? */
static bool tlbe_allows(const struct w_tlbe *e, unsigned acc)
{
	return acc == S2_ACC_WRITE ? e->w : acc == S2_ACC_EXEC ? e->x : true;
}

int w_access_kind(unsigned vi, uint64_t gpa, unsigned acc)
{
	bool write = acc == S2_ACC_WRITE;
	struct w_vcpu *v = &W->vcpu[vi];
	uint64_t quiet_since = ~0ULL;
	unsigned quiet = 0;

	for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
		struct s2_fault_info info;
		struct w_tlbe *e, snap;
		uint64_t gen;
		bool fresh = false;
		int ret;

		ck_mutex_lock(&v->walk, "vCPU: TLB lookup / walk");
		e = tlb_find(v, gpa);
		if (e && write && e->wclean)
			e->valid = false, e = NULL;	/* rewalk: hardware sets W / D */
		if (!e) {
			e = walk(v, gpa, write);
			fresh = e != NULL;
		}
		if (e && tlbe_allows(e, acc)) {
			check_access(v, e, gpa, acc);
			snap = *e;
			gen = v->tlbi_gen;
			ck_mutex_unlock(&v->walk);
			if (fresh)
				check_fill(v, snap, gen);
			return 0;
		}
		ck_mutex_unlock(&v->walk);
		ck_note("vCPU%d fault %#llx %s", v->id, (unsigned long long)gpa,
			write ? "W" : acc == S2_ACC_EXEC ? "X" : "R");
		cur_vcpu = v->id;
		ret = s2_vm_fault_ring(W->vm, s2_gpa(gpa), acc, &v->mc, W->ring[vi], &info);
		cur_vcpu = -1;
		ck_note("vCPU%d fault -> %d cause %d", v->id, ret, info.retry_cause);
		/* soft-full: a real vCPU exits for the VMM to harvest; here the
		 * VMM thread harvests when it does, and the access goes on.
		 * -S2_EBUSY (full, nothing mapped) ends the access below. */
		if (ret == S2_FAULT_RING_SOFT_FULL)
			continue;
		if (ret == -S2_EAGAIN) {
			/*
			 * I10: a retry for the sequence or a range must be
			 * explained by an invalidation since the first of a run
			 * of retries, or one still in progress.
			 */
			if (info.retry_cause == S2_RETRY_SEQ || info.retry_cause == S2_RETRY_RANGE) {
				if (quiet_since != W->inv_events || W->inprog_total) {
					quiet_since = W->inv_events;
					quiet = 0;
				} else if (++quiet >= 3) {
					ck_violation(10, "vCPU%d: fault on %#llx retried %u times "
						     "with no invalidation since",
						     v->id, (unsigned long long)gpa, quiet + 1);
				}
			}
			continue;
		}
		if (ret == -S2_ENOENT)
			v->stopped = true;
		if (ret)
			return ret;
	}
	return -S2_EAGAIN;
}

/* ----------------------------------------------------------- host ops */

static s2_hva_t H(uint64_t off)
{
	return s2_hva(W_HVA + off);
}

int w_munmap(uint64_t off, uint64_t len) { return host_munmap(W->mm, H(off), len); }
int w_dontneed(uint64_t off, uint64_t len) { return host_madvise_dontneed(W->mm, H(off), len); }
int w_mprotect_ro(uint64_t off, uint64_t len)
{
	return host_mprotect(W->mm, H(off), len, HOST_PROT_READ);
}
int w_collapse(uint64_t off) { return host_thp_collapse(W->mm, H(off)); }
int w_split(uint64_t off) { return host_thp_split(W->mm, H(off)); }
int w_migrate(uint64_t off) { return host_migrate(W->mm, H(off)); }
int w_reclaim(uint64_t off, uint64_t len)
{
	uint64_t n;

	return host_reclaim(W->mm, H(off), len, &n);
}
int w_host_level(uint64_t off)
{
	return host_mapping_level(W->mm, H(off));
}

int w_age(uint64_t off, uint64_t len, enum host_age_mode mode)
{
	return host_age(W->mm, H(off), len, mode);
}

int w_age_s2(uint64_t off, uint64_t len, enum host_age_mode mode)
{
	s2_hva_t s = H(off), e = H(off + len);

	/* the oracle's wrappers, as the host would call them, without its
	 * page-table lock */
	if (mode == HOST_AGE_CLEAR_FLUSH_YOUNG)
		return n_cfy(&W->sub, s, e);
	if (mode == HOST_AGE_CLEAR_YOUNG)
		return n_cy(&W->sub, s, e);
	return n_ty(&W->sub, s, e);
}

int w_fork_child_exit(void)
{
	struct host_mm *child;
	int ret = host_fork(W->mm, &child);

	if (!ret)
		host_mmput(child);
	return ret;
}

void w_exit_mm(void)
{
	W->exited = true;
	host_mmput(W->mm);
}

void w_vm_destroy_path(void)
{
	W->registered = false;
	host_mn_unregister(&W->sub);
}

void w_vmm_walk(uint64_t gpa)
{
	struct s2_pgtable *pgt;
	struct s2_mapping m;

	/* only a grace period keeps the pages this walk reaches alive: no
	 * TLBI waits for a software walker (teardown's synchronize_rcu) */
	/* the address first, as an MMIO emulation would: lockless too */
	(void)s2_vm_gpa_to_hva(W->vm, s2_gpa(gpa), NULL, NULL);
	cplat.rcu_read_lock(W);
	pgt = s2_vm_pgtable(W->vm);
	ck_point("vmm walk: table loaded");
	if (pgt)
		(void)s2_pgt_lookup(pgt, s2_gpa(gpa), &m);
	cplat.rcu_read_unlock(W);
}

static void stamp_slot(uint64_t t)
{
	uint64_t g, g0, g1, h = W_HVA + W->cfg.slot_hva_off;

	range_pages(h, h + W->cfg.slot_size, &g0, &g1);
	for (g = g0; g < g1; g++) {
		if (W->inv_epoch[g] < t)
			W->inv_epoch[g] = t;
		W->young_seen[g] = false;	/* I9: the change zapped the leaves */
	}
	W->inv_events++;
}

int w_delete_slot(unsigned id)
{
	uint64_t t = tick();
	int ret;

	ck_note("delete memslot %u", id);
	ret = s2_vm_delete_memslot(W->vm, id);
	stamp_slot(t);
	return ret;
}

int w_move_slot(unsigned id, uint64_t new_gpa)
{
	uint64_t t = tick();
	int ret;

	ck_note("move memslot %u to %#llx", id, (unsigned long long)new_gpa);
	ret = s2_vm_set_memslot(W->vm, id, s2_gpa(new_gpa), W->cfg.slot_size,
				H(W->cfg.slot_hva_off), W->cfg.slot_flags);
	stamp_slot(t);
	return ret;
}

int w_prefault_pfnmap(void)
{
	ck_note("set memslot 1 again with PREFAULT");
	return s2_vm_set_memslot(W->vm, 1, s2_gpa(W_PFNMAP_GPA), 16 * PG, H(W_PFNMAP_HVA),
				 S2_MEM_PREFAULT);
}

int w_dirty_log(bool on)
{
	unsigned f = on ? W->cfg.slot_flags | S2_MEM_DIRTY_LOG :
			  W->cfg.slot_flags & ~(S2_MEM_DIRTY_LOG | S2_MEM_DIRTY_HW);
	int ret;

	ck_note("dirty log %s", on ? "on" : "off");
	if (!on)
		W->logging = false;
	/* a log that starts afresh owes nothing written before it */
	if (on && !W->logging)
		for (uint64_t g = W->cfg.slot_hva_off >> w_page_shift;
		     g < (W->cfg.slot_hva_off + W->cfg.slot_size) >> w_page_shift && g < W_MAX_PAGES;
		     g++)
			W->unreported[g] = false;
	ret = s2_vm_set_memslot(W->vm, 0, s2_gpa(W->cfg.slot_gpa), W->cfg.slot_size,
				H(W->cfg.slot_hva_off), f);
	if (on && !ret)
		W->logging = true;
	if (!ret)
		W->hw_logging = on && (f & S2_MEM_DIRTY_HW);
	W->inv_events++;
	return ret;
}

int w_dirty_log_hw(bool on)
{
	unsigned f = (W->cfg.slot_flags & ~S2_MEM_DIRTY_HW) | S2_MEM_DIRTY_LOG;
	int ret;

	if (on)
		f |= S2_MEM_DIRTY_HW;
	ck_note("dirty log in %s", on ? "hardware mode" : "write-protect mode");
	ret = s2_vm_set_memslot(W->vm, 0, s2_gpa(W->cfg.slot_gpa), W->cfg.slot_size,
				H(W->cfg.slot_hva_off), f);
	if (!ret) {
		/* a switch keeps what was logged: writes before it stay owed */
		W->logging = true;
		W->hw_logging = on;
	}
	W->inv_events++;
	return ret;
}

/*
 * I7 in hardware mode, at the end: after a harvest (which cleaned every
 * leaf and invalidated what it cleaned), no vCPU may hold a translation
 * of the slot that lets a write through without recording it in the leaf
 * (writable and not wclean): its writes would be in no later harvest.
 */
static void audit_hw_tlbs(void)
{
	for (unsigned v = 0; v < W->cfg.nr_vcpus; v++)
		for (unsigned i = 0; i < W_TLB; i++) {
			const struct w_tlbe *e = &W->vcpu[v].tlb[i];

			if (!e->valid || !e->w || e->wclean || e->ipa < W->cfg.slot_gpa ||
			    e->ipa >= W->cfg.slot_gpa + W->cfg.slot_size)
				continue;
			ck_violation(7, "at the end, vCPU%u still holds a dirty (writable) "
				     "translation of GPA %#llx after a harvest cleaned it: its "
				     "writes go unreported", v, (unsigned long long)e->ipa);
		}
}

/*
 * Every vCPU's ring harvested into @pages (one flag per page of slot 0,
 * by its offset), each entry's page checked against the slot.
 */
static void harvest_rings(bool *pages, uint64_t n)
{
	for (unsigned v = 0; v < W_MAX_VCPUS; v++) {
		struct s2_dirty_gfn g[8];
		size_t k;

		if (!W->ring[v])
			continue;
		while ((k = s2_dirty_ring_harvest(W->ring[v], g, 8)) > 0)
			for (size_t i = 0; i < k; i++) {
				ck_note("ring%u: slot %u page %#llx", v, g[i].slot,
					(unsigned long long)g[i].offset);
				/* only slot 0 logs in a world */
				if (g[i].slot == 0 && g[i].offset < n)
					pages[g[i].offset] = true;
			}
	}
}

int w_harvest_mode(bool partial)
{
	uint64_t bm[W_MAX_PAGES / 64] = { 0 }, mask[W_MAX_PAGES / 64] = { 0 }, g0;
	bool before[W_MAX_PAGES], ringed[W_MAX_PAGES] = { false };
	uint64_t n = W->cfg.slot_size >> w_page_shift;
	unsigned mode = W->cfg.dirty_mode;
	int ret;

	g0 = W->cfg.slot_hva_off >> w_page_shift;
	memcpy(before, W->unreported, sizeof(before));
	ck_note("harvest%s", partial && mode != W_DIRTY_BITMAP ? " (partial)" : "");
	/* the rings first, as a VMM reads them: without any lock */
	if (mode == W_DIRTY_RING)
		harvest_rings(ringed, n);
	ret = s2_vm_get_dirty_log(W->vm, 0, bm, (n + 63) / 64);
	if (ret) {
		/* slot 0 not logging (gone, or logging off): what the rings
		 * held is still reset and copied */
		if (mode == W_DIRTY_RING && s2_vm_reset_dirty_rings(W->vm) >= 0)
			for (uint64_t i = 0; i < n && g0 + i < W_MAX_PAGES; i++)
				if (ringed[i])
					W->unreported[g0 + i] = false;
		return ret;
	}
	for (uint64_t i = 0; i < n && g0 + i < W_MAX_PAGES; i++) {
		bool bit = bm[i / 64] & (1ULL << (i % 64));

		/*
		 * With weak memory a ring entry the vCPU pushed before its
		 * write may not be visible yet to a harvest that takes no
		 * lock (as a VMM reading the ring of a running vCPU): it is
		 * still in the ring, for a later harvest.  The end-of-schedule
		 * audit (every thread done, everything visible) judges it.
		 */
		if (mode == W_DIRTY_RING && mm_enabled())
			continue;
		if (before[g0 + i] && !bit && !ringed[i])
			ck_violation(7, "page %#llx was written before the harvest began and "
				     "is not reported", (unsigned long long)(i * PG));
	}
	if (mode == W_DIRTY_MANUAL || mode == W_DIRTY_INIT_SET) {
		/* the VMM clears what it will copy: all it got, or the
		 * lowest page only (a pass in chunks) */
		for (uint64_t w = 0; w < (n + 63) / 64; w++)
			mask[w] = bm[w];
		if (partial)
			for (uint64_t i = 0, first = 1; i < n; i++)
				if (mask[i / 64] & (1ULL << (i % 64))) {
					if (!first)
						mask[i / 64] &= ~(1ULL << (i % 64));
					first = 0;
				}
		ret = s2_vm_clear_dirty_log(W->vm, 0, 0, n, mask);
		if (ret)
			return ret;
		memcpy(bm, mask, sizeof(bm));
	}
	if (mode == W_DIRTY_RING && s2_vm_reset_dirty_rings(W->vm) < 0)
		return -S2_EINVAL;
	/*
	 * Reported: the caller copies each page after the call that took
	 * its record returned (the get, the clear, the reset), so a write
	 * that raced the harvest is in that copy too.
	 */
	for (uint64_t i = 0; i < n && g0 + i < W_MAX_PAGES; i++)
		if ((bm[i / 64] & (1ULL << (i % 64))) || ringed[i])
			W->unreported[g0 + i] = false;
	return 0;
}

int w_harvest(void)
{
	return w_harvest_mode(false);
}

struct audit_leaf {
	uint64_t ipa, size, pa;
	bool w;
};

struct audit {
	unsigned n;
	struct audit_leaf l[256];
};

static int audit_visit(struct s2_walk_ctx *c, unsigned visit)
{
	struct audit *a = c->arg;
	struct s2_mapping m;

	(void)visit;
	s2_pte_decode(c->pgt, c->old, c->level, &m);
	if (!m.valid || a->n >= S2_ARRAY_SIZE(a->l))
		return 0;
	a->l[a->n++] = (struct audit_leaf){ c->addr, m.size, m.pa.v - w_pa_base,
					    (m.prot & S2_PROT_W) != 0 };
	return 0;
}

void w_audit(void)
{
	struct s2_pgtable *pgt = W->vm ? s2_vm_pgtable(W->vm) : NULL;	/* no thread: memory */
	static struct audit a;

	/* released (exit or unregister): nothing maps anything */
	if (!pgt || !pgt->root || W->exited || W->inprog_total)
		return;
	a.n = 0;
	s2_pgt_walk(pgt, s2_gpa(0), 1ULL << pgt->ia_bits, audit_visit, &a, S2_WALK_LEAF);
	/*
	 * I7 without waiting for a write: while slot 0 logs, a writable leaf
	 * in it exists only for a page whose write fault set its bit since
	 * the last harvest (which write-protected every page it reported).
	 * A writable leaf with its bit clear lets the guest write unseen.
	 */
	if (W->logging && W->hw_logging && !W->released) {
		/* the audit's harvest is one more harvest: I7's oracle, then
		 * what it leaves in the TLBs */
		if (!w_harvest())
			audit_hw_tlbs();
	} else if (W->logging) {
		uint64_t bm[W_MAX_PAGES / 64] = { 0 }, n = W->cfg.slot_size >> w_page_shift;
		uint64_t g0 = W->cfg.slot_hva_off >> w_page_shift;
		bool ringed[W_MAX_PAGES] = { false };

		/* with rings, a page's record may be an entry not yet reset */
		harvest_rings(ringed, n);
		for (uint64_t i = 0; i < n && g0 + i < W_MAX_PAGES; i++)
			if (ringed[i])
				W->ring_pending[g0 + i] = true;
		if (!s2_vm_get_dirty_log(W->vm, 0, bm, (n + 63) / 64)) {
			/*
			 * I7 for writes already made: a page written since
			 * it was last reported (its record taken by a get, a
			 * clear or a reset whose copy came after the write)
			 * still has a record, a bit or a ring entry, whatever
			 * let the write through (a stale writable translation
			 * a harvest's write-protect left in a TLB is no leaf,
			 * so the writable-leaf check below cannot see it).
			 * Those read now count as reported (this get
			 * harvested them).
			 */
			for (uint64_t pg = 0; pg < n && g0 + pg < W_MAX_PAGES; pg++) {
				bool rec = (bm[pg / 64] & (1ULL << (pg % 64))) || W->ring_pending[g0 + pg];

				if (W->unreported[g0 + pg] && !rec)
					ck_violation(7, "at the end, page %#llx of the logging slot was "
						     "written since its last report and has no record "
						     "in the dirty log", (unsigned long long)(pg * PG));
				if (rec)
					W->unreported[g0 + pg] = false;
			}
			for (unsigned i = 0; i < a.n; i++) {
				const struct audit_leaf *l = &a.l[i];
				uint64_t pg;

				if (!l->w || l->ipa < W->cfg.slot_gpa ||
				    l->ipa >= W->cfg.slot_gpa + W->cfg.slot_size)
					continue;
				pg = (l->ipa - W->cfg.slot_gpa) >> w_page_shift;
				if (pg < n && !(bm[pg / 64] & (1ULL << (pg % 64))) &&
				    !(g0 + pg < W_MAX_PAGES && W->ring_pending[g0 + pg]))
					ck_violation(7, "at the end, GPA %#llx is writable in a logging "
						     "slot but not in the dirty log: its writes go "
						     "unreported", (unsigned long long)l->ipa);
			}
		}
	}
	for (unsigned i = 0; i < a.n; i++) {
		const struct audit_leaf *l = &a.l[i];
		uint64_t step = l->size > W_BLK ? l->size / W_BLK_PAGES : PG;

		for (uint64_t off = 0; off < l->size; off += step) {
			unsigned flags;
			uint64_t gpa = l->ipa + off, hva = gpa_hva(gpa, &flags), pfn;
			bool rw;

			if (!hva)
				ck_violation(l->size > PG ? 6 : 1, "at the end, stage 2 still maps GPA "
					     "%#llx, which no live memslot backs",
					     (unsigned long long)gpa);
			host_pt_query_pfns(W->mm, s2_hva(hva), 1, &pfn, &rw);
			if (pfn != (l->pa + off) >> w_page_shift)
				ck_violation(l->size > PG ? 6 : 1, "at the end, stage 2 maps GPA %#llx "
					     "to pfn %#llx but the host maps its HVA to %s%#llx",
					     (unsigned long long)gpa,
					     (unsigned long long)((l->pa + off) >> w_page_shift),
					     pfn == ~0ULL ? "nothing " : "pfn ",
					     (unsigned long long)(pfn == ~0ULL ? 0 : pfn));
			if (l->w && (!rw || (flags & S2_MEM_READONLY)))
				ck_violation(2, "at the end, stage 2 maps GPA %#llx writable, the "
					     "host or the memslot read-only", (unsigned long long)gpa);
		}
	}
}

/* Host events the I-cache model needs: a frame's content written by the
 * host (a copy into it, or zeroing for its next owner after a free). */
static void w_trace(void *priv, const struct host_trace_ev *ev)
{
	(void)priv;
	if (ev->kind == HOST_TR_FREE)
		for (uint64_t p = ev->pfn; p < ev->pfn + (1ULL << ev->order) && p < W_IO_PFN0; p++)
			W->ic_stale[p] = true;
	else if (ev->kind == HOST_TR_COPY && ev->new_ < W_IO_PFN0)
		W->ic_stale[ev->new_] = true;
}

unsigned w_live_tables(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < pnext; i++)
		if (pstate[i] == PG_LIVE && !proot[i])
			n++;
	for (unsigned v = 0; v < W->cfg.nr_vcpus; v++)
		n -= (unsigned)W->vcpu[v].mc.nr;
	return n;
}

/* ------------------------------------------------------ create/destroy */

void w_scale_cfg(struct w_cfg *cfg)
{
	cfg->vma_len = w_scale(cfg->vma_len);
	cfg->slot_gpa = w_scale(cfg->slot_gpa);
	cfg->slot_size = w_scale(cfg->slot_size);
	cfg->slot_hva_off = w_scale(cfg->slot_hva_off);
}

void w_create(const struct w_cfg *cfg)
{
	struct s2_vm_cfg vc = { 0 };
	int ret;

	W = calloc(1, sizeof(*W));
	if (!W)
		abort();
	W->cfg = *cfg;
	/* the host's page size is the granule's (KVM arm64 maps stage 2 with
	 * PAGE_SIZE); EPT's is 4K: a driver that asks otherwise is wrong */
	if ((ck_format != S2_FMT_ARM64 && w_page_shift != 12) || !w_set_granule(w_page_shift)) {
		fprintf(stderr, "check: no %u-bit granule for this format, or a host "
			"still alive\n", w_page_shift);
		abort();
	}
	host_bug_hostlevel_reread = ck_inject == S2_BUG_hostlevel_reread + 1;
	pool_reset();
	obj_reset();
	ncbs = 0;
	memset(rnest, 0, sizeof(rnest));
	memset(rexits, 0, sizeof(rexits));
	W->phys = host_phys_create(W_IO_PFN0, 512);
	W->mm = host_mm_create(W->phys);
	if (!W->phys || !W->mm)
		abort();
	memset(W->ic_stale, 1, W_IO_PFN0);
	mm_reset();
	mm_is_object = obj_is_live_ptr;
	mm_is_table_ptr = pte_is_table_ptr;
	mm_in_read_section = in_read_section;
	host_mm_set_tracer(W->mm, w_trace, NULL);
	ck_point_hook = rcu_point;
	/* x86's instruction fetches are coherent with its data side (the
	 * platform declares DIC); arm64's are not, FWB or not (I11) */
	cplat.icache_dic = ck_format == S2_FMT_EPT;
	if (host_mmap(W->mm, H(0), cfg->vma_len, cfg->kind, cfg->vma_prot))
		abort();
	if (cfg->pfnmap_slot) {
		uint64_t pfns[16];

		/* not flat: vm_pgoff is not the frame (seed 003) */
		for (unsigned i = 0; i < 16; i++)
			pfns[i] = W_IO_PFN0 + (cfg->pfnmap_mem ? 128 : 64) + (i ^ 1);
		if (host_mmap_pfnmap(W->mm, H(W_PFNMAP_HVA), 16 * PG,
				     HOST_PROT_READ | HOST_PROT_WRITE, 7, pfns))
			abort();
	}
	/*
	 * The same scenario on x86 EPT: its accessed/dirty flags are the
	 * hardware-managed kind; the arm64-only flags (non-FWB caches, HA,
	 * HD) never reach here, the driver skips those scenarios.
	 */
	vc.pgt = (struct s2_pgt_cfg){ .format = (enum s2_format_id)ck_format, .granule_shift = w_page_shift,
				      .ia_bits = 39, .oa_bits = 48,
				      .flags = ck_format == S2_FMT_EPT ? S2_PGT_EPT_AD : cfg->pgt_flags,
				      .plat = &cplat, .plat_ctx = W };
	/*
	 * 52-bit arm64 (issue 17 item 2): at 4K, five levels from level -1,
	 * so a walk has two more entry loads for another thread to run
	 * between; at 16K (LPA2) four from level 0, at 64K (FEAT_LPA, no
	 * flag) three from level 1; the flags are tools/formats.h's, as `run`
	 * uses.  Table pages sit above 2^48 so that every table descriptor
	 * carries the top output bits (LPA2: OA[51:50] in bits [9:8]; LPA:
	 * OA[51:48] in [15:12]), as do the leaves: frames too sit above 2^48
	 * (w_pa_base).
	 */
	cplat.linear_offset = 0;
	w_pa_base = 0;
	if (ck_format == S2_FMT_ARM64 && (ck_lpa2 || (cfg->pgt_flags & S2_PGT_LPA2))) {
		const struct s2_tool_format *f = w_tool_format(S2_FMT_ARM64, true);

		vc.pgt.ia_bits = vc.pgt.oa_bits = 52;
		vc.pgt.flags = (vc.pgt.flags & ~S2_PGT_LPA2) | f->pgt_flags;
		cplat.linear_offset = (int64_t)(0xeULL << 48);
		w_pa_base = 0xeULL << 48;
	}
	vc.host = &gops;
	vc.host_ctx = W;
	vc.flags = cfg->vm_flags;
	if (cfg->dirty_mode == W_DIRTY_MANUAL || cfg->dirty_mode == W_DIRTY_INIT_SET)
		vc.flags |= S2_VM_MANUAL_PROTECT;
	if (cfg->dirty_mode == W_DIRTY_INIT_SET)
		vc.flags |= S2_VM_DIRTY_INIT_SET;
	ret = s2_vm_create(&vc, &W->vm);
	if (ret)
		abort();
	for (unsigned v = 0; cfg->dirty_mode == W_DIRTY_RING && v < cfg->nr_vcpus; v++)
		if (s2_vm_dirty_ring_create(W->vm, cfg->ring_entries ? cfg->ring_entries : 4,
					    &W->ring[v]))
			abort();
	if (cfg->populate)
		for (uint64_t off = 0; off < cfg->vma_len; off += PG) {
			uint64_t pfn;
			bool wr;
			int lvl;

			if (!host_gup(W->mm, H(off), true, &pfn, &wr, &lvl))
				host_frame_put(W->phys, pfn);
		}
	if (s2_vm_set_memslot(W->vm, 0, s2_gpa(cfg->slot_gpa), cfg->slot_size,
			      H(cfg->slot_hva_off), cfg->slot_flags))
		abort();
	W->logging = (cfg->slot_flags & S2_MEM_DIRTY_LOG) != 0;
	W->hw_logging = (cfg->slot_flags & S2_MEM_DIRTY_HW) != 0;
	W->sub.ops = &nops;
	W->sub.priv = W;
	if (host_mn_register(W->mm, &W->sub))
		abort();
	W->registered = true;
	/* memory behind the PFNMAP: faults map it first (Normal) */
	if (cfg->pfnmap_slot &&
	    s2_vm_set_memslot(W->vm, 1, s2_gpa(W_PFNMAP_GPA), 16 * PG, H(W_PFNMAP_HVA),
			      cfg->pfnmap_mem ? 0 : S2_MEM_PREFAULT))
		abort();
	for (unsigned i = 0; i < W_MAX_VCPUS; i++) {
		W->vcpu[i].id = (int)i;
		ck_lock_init(&W->vcpu[i].walk);
	}
}

static void mc_free(struct s2_memcache *mc)
{
	while (mc->head) {
		void *p = mc->head;

		mc->head = *(void **)p;
		mc->nr--;
		pool_put(p, 1);
	}
}

void w_destroy(bool expect_empty)
{
	unsigned n;

	w_audit();
	run_callbacks(true);
	if (expect_empty && (n = w_live_tables()))
		ck_violation(3, "leak: %u table page(s) still allocated after the whole "
			     "range was unmapped", n);
	for (unsigned v = 0; v < W->cfg.nr_vcpus; v++)
		mc_free(&W->vcpu[v].mc);
	if (W->registered)
		host_mn_unregister(&W->sub);
	s2_vm_destroy(W->vm);
	run_callbacks(true);
	for (unsigned i = 0; i < pnext; i++)
		if (pstate[i] == PG_LIVE)
			ck_violation(3, "leak at destroy: table page %u never freed", i);
	for (unsigned i = 0; i < nobjs; i++)
		if (objs[i].live)
			ck_violation(3, "leak at destroy: an object of %zu bytes never freed",
				     objs[i].n);
	/* Every reference the library took on a host frame (resolve) it
	 * gave back (put): the host's accounting adds up with the VM gone. */
	if (!W->exited) {
		char msg[160];

		if (host_audit(W->phys, &W->mm, 1, NULL, NULL, msg, sizeof(msg)))
			ck_violation(3, "host frame accounting after the VM is gone: %s", msg);
		host_mmput(W->mm);
	}
	host_phys_destroy(W->phys);
	free(W);
	W = NULL;
}
