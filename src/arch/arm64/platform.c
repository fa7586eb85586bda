/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The arm64 EL2 platform hooks with the real instructions.
 *
 * Section names below are those of the Arm Architecture Reference Manual
 * for A-profile (DDI 0487); numbers drift between editions, so every
 * comment names the rule by its title as well.
 */
#include "el2.h"

#define dsb(opt)	__asm__ volatile("dsb " #opt : : : "memory")
#define isb()		__asm__ volatile("isb" : : : "memory")

/* ID_AA64MMFR2_EL1 is read by its encoding s3_0_c0_c7_2 (op0=3 op1=0 CRn=0 CRm=7 op2=2): older
 * assemblers lack the name. */

const char *const el2_nc_names[EL2_NR_NC] = {
	"none", "no-tlbi", "no-s1-followup", "local", "no-ipa", "wrong-ipa",
};

static struct el2_counters el2_cnt[EL2_MAX_CPUS] __attribute__((aligned(64)));

unsigned el2_cpu_id(void)
{
	return (unsigned)sysreg_read(tpidr_el2) % EL2_MAX_CPUS;
}

struct el2_counters *el2_counters(unsigned cpu)
{
	return &el2_cnt[cpu % EL2_MAX_CPUS];
}

#define CNT(field)	(el2_cnt[el2_cpu_id()].field++)

static unsigned field(uint64_t reg, unsigned lsb)
{
	return (unsigned)((reg >> lsb) & 0xf);
}

/*
 * Feature probe.  ID_AA64MMFR0_EL1.PARange [3:0], TGran4_2 [43:40],
 * TGran16_2 [35:32], TGran64_2 [39:36] (0: as the stage-1 TGranN field
 * [31:28] / [23:20] / [27:24]); MMFR1.HAFDBS [3:0], VMIDBits [7:4];
 * MMFR2.FWB [43:40], TTL [51:48], BBM [55:52]; ISAR0.TLB [59:56];
 * CTR_EL0 IminLine [3:0], DminLine [19:16], IDC [28], DIC [29].
 */
void el2_probe_features(struct el2_features *f)
{
	static const unsigned pa[] = { 32, 36, 40, 42, 44, 48, 52 };
	unsigned g;

	f->midr = sysreg_read(midr_el1);
	f->mmfr0 = sysreg_read(id_aa64mmfr0_el1);
	f->mmfr1 = sysreg_read(id_aa64mmfr1_el1);
	f->mmfr2 = sysreg_read(s3_0_c0_c7_2);
	f->isar0 = sysreg_read(id_aa64isar0_el1);
	f->ctr = sysreg_read(ctr_el0);

	f->pa_bits = field(f->mmfr0, 0) < 7 ? pa[field(f->mmfr0, 0)] : 52;
	/* stage-1 encodings: TGran4/64 0 = yes, 0xf = no; TGran16 0 = no */
	g = field(f->mmfr0, 40);
	f->s2_4k = g ? g >= 2 : field(f->mmfr0, 28) != 0xf;
	g = field(f->mmfr0, 32);
	f->s2_16k = g ? g >= 2 : field(f->mmfr0, 20) != 0;
	g = field(f->mmfr0, 36);
	f->s2_64k = g ? g >= 2 : field(f->mmfr0, 24) != 0xf;
	f->hafdbs = field(f->mmfr1, 0);
	f->vmid_bits = field(f->mmfr1, 4) == 2 ? 16 : 8;
	f->fwb = field(f->mmfr2, 40) != 0;
	f->ttl = field(f->mmfr2, 48) != 0;
	f->bbm = field(f->mmfr2, 52);
	f->tlb_range = field(f->isar0, 56) >= 2;
	f->tlb_os = field(f->isar0, 56) >= 1;
	f->dline = 4U << field(f->ctr, 16);
	f->iline = 4U << field(f->ctr, 0);
	f->idc = (f->ctr >> 28) & 1;
	f->dic = (f->ctr >> 29) & 1;
}

/* ------------------------------------------------------------- locks */

/*
 * Wait until *p no longer holds @old.  LDAXR arms the exclusive monitor;
 * a store by another CPU that clears it generates an event and ends the
 * WFE (Arm ARM D1 "Wait for Event", events generated when the global
 * exclusive monitor for the PE is cleared).  SEVL + WFE first empties a
 * stale event register so that the loop's WFE really waits.
 */
static void wait_change32(uint32_t *p, uint32_t old)
{
	uint32_t v;

	__asm__ volatile(
		"	sevl\n"
		"	wfe\n"
		"1:	ldaxr	%w0, [%1]\n"
		"	cmp	%w0, %w2\n"
		"	b.ne	2f\n"
		"	wfe\n"
		"	b	1b\n"
		"2:\n"
		: "=&r"(v) : "r"(p), "r"(old) : "memory", "cc");
}

static void wait_ticket(uint32_t *p, uint16_t me)
{
	uint32_t v;

	/* the owner half is the low halfword (little-endian) */
	__asm__ volatile(
		"	sevl\n"
		"	wfe\n"
		"1:	ldaxrh	%w0, [%1]\n"
		"	cmp	%w0, %w2\n"
		"	b.eq	2f\n"
		"	wfe\n"
		"	b	1b\n"
		"2:\n"
		: "=&r"(v) : "r"(p), "r"((uint32_t)me) : "memory", "cc");
}

/*
 * Ticket lock.  The fetch-add is an LDAXR/STXR loop (built with
 * -mno-outline-atomics for Armv8.0, which every target has; an LSE build
 * gets LDADDA): acquire semantics order the critical section after it
 * (Arm ARM B2.3 "Ordering requirements": Load-Acquire).  Unlock is a
 * store-release of the owner halfword, which also clears waiters'
 * monitors and so wakes their WFE.
 */
void el2_spin_lock(struct el2_spinlock *l)
{
	uint32_t old = __atomic_fetch_add(&l->val, 1U << 16, __ATOMIC_ACQUIRE);
	uint16_t me = (uint16_t)(old >> 16);

	if ((uint16_t)old == me)
		return;
	CNT(lock_contended);
	wait_ticket(&l->val, me);
}

void el2_spin_unlock(struct el2_spinlock *l)
{
	uint16_t *owner = (uint16_t *)&l->val;

	__atomic_store_n(owner, (uint16_t)(*owner + 1), __ATOMIC_RELEASE);
}

/* Reader-writer lock (the VM's mmu_lock): [29:0] readers, WAIT: a writer
 * is waiting (new readers hold off, so notifiers are not starved by a
 * stream of faults), WRITER: held for write. */
#define RW_WRITER	0x80000000U
#define RW_WAIT		0x40000000U

struct el2_rwlock {
	uint32_t val;
	/* "sleeping" kind (platform.h sleeplock_new): its waiters report a
	 * quiescent state, since the holder may be inside synchronize_rcu */
	uint32_t sleeping;
};

static void el2_read_lock(void *lock)
{
	struct el2_rwlock *l = lock;
	uint32_t v = __atomic_load_n(&l->val, __ATOMIC_RELAXED);

	for (;;) {
		if (!(v & (RW_WRITER | RW_WAIT))) {
			if (__atomic_compare_exchange_n(&l->val, &v, v + 1, true,
							__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
				return;
			continue;
		}
		CNT(lock_contended);
		wait_change32(&l->val, v);
		v = __atomic_load_n(&l->val, __ATOMIC_RELAXED);
	}
}

static void el2_read_unlock(void *lock)
{
	struct el2_rwlock *l = lock;

	__atomic_fetch_sub(&l->val, 1, __ATOMIC_RELEASE);
}

static void el2_write_lock(void *lock)
{
	struct el2_rwlock *l = lock;
	uint32_t v = __atomic_load_n(&l->val, __ATOMIC_RELAXED);

	for (;;) {
		if ((v & ~RW_WAIT) == 0) {
			if (__atomic_compare_exchange_n(&l->val, &v, RW_WRITER, true,
							__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
				return;
			continue;
		}
		if (!(v & RW_WAIT)) {
			v = __atomic_fetch_or(&l->val, RW_WAIT, __ATOMIC_RELAXED) | RW_WAIT;
			continue;
		}
		CNT(lock_contended);
		if (l->sleeping)
			el2_rcu_qs();
		wait_change32(&l->val, v);
		v = __atomic_load_n(&l->val, __ATOMIC_RELAXED);
	}
}

static void el2_write_unlock(void *lock)
{
	struct el2_rwlock *l = lock;

	/* no reader can hold it and another writer's WAIT is re-set by
	 * that writer's loop, so a plain release of the whole word is safe */
	__atomic_store_n(&l->val, 0, __ATOMIC_RELEASE);
}

/* ------------------------------------------------------------ memory */

/*
 * One pool, power-of-two size classes from 16 bytes to 1 MiB, each block
 * aligned to its size (table pages to their granule, concatenated roots
 * to their size, as VTTBR_EL2.BADDR requires), free lists per class.
 */
struct el2_meta {
	int refs;			/* page_ref_add */
	int level;
	struct el2_meta *next;		/* deferred-free queue */
	s2_deferred_fn fn;
	void *owner;
	void *va;
};

#define MIN_CLASS	4
#define MAX_CLASS	20

static unsigned size_class(uint64_t size)
{
	unsigned c = MIN_CLASS;

	while ((1ULL << c) < size)
		c++;
	return c;
}

static void zero(void *va, uint64_t size)
{
	uint64_t *p = va;
	uint64_t i;

	for (i = 0; i < size / 8; i++)
		p[i] = 0;
}

static void *pool_alloc(struct el2_plat *p, uint64_t size)
{
	unsigned c = size_class(size);
	void *va;

	if (c > MAX_CLASS)
		return NULL;
	el2_spin_lock(&p->mem_lock);
	va = p->free_small[c - MIN_CLASS];
	if (va) {
		p->free_small[c - MIN_CLASS] = *(void **)va;
	} else {
		uint64_t a = (p->bump + (1ULL << c) - 1) & ~((1ULL << c) - 1);

		if (a + (1ULL << c) <= p->pool_end) {
			va = (void *)(uintptr_t)a;
			p->bump = a + (1ULL << c);
		}
	}
	el2_spin_unlock(&p->mem_lock);
	if (va)
		zero(va, 1ULL << c);
	return va;
}

static void pool_free(struct el2_plat *p, void *va, uint64_t size)
{
	unsigned c = size_class(size);

	if (!va)
		return;
	el2_spin_lock(&p->mem_lock);
	*(void **)va = p->free_small[c - MIN_CLASS];
	p->free_small[c - MIN_CLASS] = va;
	el2_spin_unlock(&p->mem_lock);
}

static struct el2_meta *meta_of(struct el2_plat *p, void *va)
{
	return &p->meta[((uint64_t)(uintptr_t)va - p->pool_start) >> 12];
}

static void *h_alloc_page(void *ctx, unsigned page_shift)
{
	struct el2_plat *p = ctx;
	void *va = pool_alloc(p, 1ULL << page_shift);

	if (va) {
		meta_of(p, va)->refs = 0;
		__atomic_fetch_add(&p->pages_out, 1, __ATOMIC_RELAXED);
	}
	return va;
}

static void h_free_page(void *ctx, void *va, unsigned page_shift)
{
	struct el2_plat *p = ctx;

	pool_free(p, va, 1ULL << page_shift);
	__atomic_fetch_sub(&p->pages_out, 1, __ATOMIC_RELAXED);
}

static void *h_alloc_pages_exact(void *ctx, size_t size)
{
	struct el2_plat *p = ctx;
	void *va = pool_alloc(p, size);

	if (va) {
		meta_of(p, va)->refs = 0;
		__atomic_fetch_add(&p->exact_out, 1, __ATOMIC_RELAXED);
	}
	return va;
}

static void h_free_pages_exact(void *ctx, void *va, size_t size)
{
	struct el2_plat *p = ctx;

	pool_free(p, va, size);
	__atomic_fetch_sub(&p->exact_out, 1, __ATOMIC_RELAXED);
}

static void *h_zalloc(void *ctx, size_t size)
{
	struct el2_plat *p = ctx;
	void *va = pool_alloc(p, size);

	if (va)
		__atomic_fetch_add(&p->small_out, 1, __ATOMIC_RELAXED);
	return va;
}

static void h_free(void *ctx, void *va, size_t size)
{
	struct el2_plat *p = ctx;

	if (!va)
		return;
	pool_free(p, va, size);
	__atomic_fetch_sub(&p->small_out, 1, __ATOMIC_RELAXED);
}

void el2_mem_usage(struct el2_plat *p, uint64_t *pages, uint64_t *exact, uint64_t *small)
{
	*pages = __atomic_load_n(&p->pages_out, __ATOMIC_RELAXED);
	*exact = __atomic_load_n(&p->exact_out, __ATOMIC_RELAXED);
	*small = __atomic_load_n(&p->small_out, __ATOMIC_RELAXED);
}

static int h_page_ref_add(void *ctx, void *va, int delta)
{
	return __atomic_add_fetch(&meta_of(ctx, va)->refs, delta, __ATOMIC_ACQ_REL);
}

/* The pool is identity-mapped at EL2 (VA == PA): `linear` with offset 0
 * keeps these off the hot paths. */
static s2_hpa_t h_virt_to_phys(void *ctx, void *va)
{
	(void)ctx;
	return s2_hpa((uint64_t)(uintptr_t)va);
}

static void *h_phys_to_virt(void *ctx, s2_hpa_t pa)
{
	(void)ctx;
	return (void *)(uintptr_t)pa.v;
}

static void *h_rwlock_new(void *ctx)
{
	return h_zalloc(ctx, sizeof(struct el2_rwlock));
}

static void *h_sleeplock_new(void *ctx)
{
	struct el2_rwlock *l = h_zalloc(ctx, sizeof(*l));

	if (l)
		l->sleeping = 1;
	return l;
}

static void h_rwlock_free(void *ctx, void *lock)
{
	h_free(ctx, lock, sizeof(struct el2_rwlock));
}

/* -------------------------------------------------------------- RCU */

struct rcu_cpu {
	uint64_t ctr;		/* even: in the hypervisor; odd: EQS */
	uint32_t online;
} __attribute__((aligned(64)));

static struct rcu_cpu rcu_cpus[EL2_MAX_CPUS];

void el2_rcu_cpu_online(unsigned cpu)
{
	rcu_cpus[cpu].ctr = 0;
	__atomic_store_n(&rcu_cpus[cpu].online, 1, __ATOMIC_RELEASE);
}

void el2_rcu_qs(void)
{
	struct rcu_cpu *c = &rcu_cpus[el2_cpu_id()];

	if (c->ctr & 1)
		return;
	/* release: every read of a protected pointer before it is done */
	__atomic_store_n(&c->ctr, c->ctr + 2, __ATOMIC_RELEASE);
}

void el2_rcu_eqs_enter(void)
{
	struct rcu_cpu *c = &rcu_cpus[el2_cpu_id()];

	__atomic_store_n(&c->ctr, c->ctr | 1, __ATOMIC_RELEASE);
}

void el2_rcu_eqs_exit(void)
{
	struct rcu_cpu *c = &rcu_cpus[el2_cpu_id()];

	__atomic_store_n(&c->ctr, c->ctr + 1, __ATOMIC_RELAXED);
	/*
	 * Store-buffering pair with synchronize: our counter store must be
	 * visible before any read of the tables that follows, or the updater
	 * could see us still in the EQS while we already read an unlinked
	 * page.  DMB ISH (seq_cst fence) on both sides (Arm ARM B2.3
	 * "Ordering requirements", barrier-ordered-before).
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void el2_synchronize_rcu(void)
{
	unsigned me = el2_cpu_id(), i;
	uint64_t snap[EL2_MAX_CPUS];

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (i = 0; i < EL2_MAX_CPUS; i++)
		snap[i] = __atomic_load_n(&rcu_cpus[i].ctr, __ATOMIC_ACQUIRE);
	for (i = 0; i < EL2_MAX_CPUS; i++) {
		if (i == me || !__atomic_load_n(&rcu_cpus[i].online, __ATOMIC_ACQUIRE) ||
		    (snap[i] & 1))
			continue;
		while (__atomic_load_n(&rcu_cpus[i].ctr, __ATOMIC_ACQUIRE) == snap[i]) {
			/* the caller holds no RCU pointer by contract */
			el2_rcu_qs();
			__asm__ volatile("yield" : : : "memory");
		}
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	CNT(grace_periods);
}

static void h_synchronize_rcu(void *ctx)
{
	(void)ctx;
	el2_synchronize_rcu();
}

static void h_rcu_read_lock(void *ctx)
{
	(void)ctx;
	/* QSBR: a read section is any code between quiescent points */
	__asm__ volatile("" : : : "memory");
}

static void h_rcu_read_unlock(void *ctx)
{
	(void)ctx;
	__asm__ volatile("" : : : "memory");
}

static void h_defer_free(void *ctx, void *va, int level, s2_deferred_fn fn, void *owner)
{
	struct el2_plat *p = ctx;
	struct el2_meta *m = meta_of(p, va);

	m->fn = fn;
	m->owner = owner;
	m->va = va;
	m->level = level;
	el2_spin_lock(&p->rcu_lock);
	m->next = p->pending;
	p->pending = m;
	p->pending_nr++;
	el2_spin_unlock(&p->rcu_lock);
	CNT(defer_free);
}

void el2_rcu_poll(struct el2_plat *p)
{
	struct el2_meta *list, *m;

	if (!__atomic_load_n(&p->pending, __ATOMIC_RELAXED))
		return;
	el2_spin_lock(&p->rcu_lock);
	list = p->pending;
	p->pending = NULL;
	p->pending_nr = 0;
	el2_spin_unlock(&p->rcu_lock);
	if (!list)
		return;
	el2_synchronize_rcu();
	while (list) {
		m = list;
		list = m->next;
		m->fn(m->owner, m->va, m->level);
		CNT(deferred_run);
	}
}

static void h_defer_barrier(void *ctx)
{
	struct el2_plat *p = ctx;

	while (__atomic_load_n(&p->pending, __ATOMIC_ACQUIRE))
		el2_rcu_poll(p);
}

static void h_yield(void *ctx)
{
	(void)ctx;
	el2_rcu_qs();
	__asm__ volatile("yield" : : : "memory");
}

/* ------------------------------------------------------------- TLBI */

/*
 * TLBI ...E1(IS) operate on the VMID in VTTBR_EL2 of the issuing CPU
 * (Arm ARM D5.10.2 "TLB maintenance instructions": EL1&0 stage-1 and
 * stage-2 entries "for the current VMID").  An embedder with several VMs
 * makes the VM's VTTBR current before the TLBI (write + ISB, Arm ARM
 * "Synchronization requirements for System registers") and puts its own
 * back after; this one loads the VM at boot on every CPU, so the write
 * below never happens during a run (a VTTBR write also flushes QEMU's
 * TLB and would hide a missing TLBI, qemu-el2.md point 4).
 */
static void vmid_select(struct el2_plat *p)
{
	if (sysreg_read(vttbr_el2) != p->vttbr) {
		sysreg_write(vttbr_el2, p->vttbr);
		isb();
	}
}

/* TTL hint (FEAT_TTL): Xt[47:44] = TG[1:0] (01 4K, 10 16K, 11 64K) and
 * the leaf's level; 0 = no hint.  Only for leaves at levels 1-3. */
static uint64_t ttl_hint(struct el2_plat *p, int level)
{
	uint64_t tg = p->page_shift == 12 ? 1 : p->page_shift == 14 ? 2 : 3;

	if (!p->feat.ttl || level < 1 || level > 3)
		return 0;
	return ((tg << 2) | (uint64_t)level) << 44;
}

static unsigned nc_of(struct el2_plat *p)
{
#ifdef S2_EL2_CHECK
	return p->nc;
#else
	(void)p;
	return EL2_NC_NONE;
#endif
}

/* IPAS2E1IS / IPAS2LE1IS (or the local forms for EL2_NC_LOCAL and
 * S2_TLBI_LOCAL).  Operand Xt[39:0] = IPA[51:12] whatever the granule. */
static void tlbi_ipa_op(uint64_t ipa, uint64_t hint, bool leaf,
			bool local)
{
	uint64_t op = ((ipa >> 12) & S2_GENMASK(39, 0)) | hint;

	if (local) {
		if (leaf)
			__asm__ volatile("tlbi ipas2le1, %0" : : "r"(op) : "memory");
		else
			__asm__ volatile("tlbi ipas2e1, %0" : : "r"(op) : "memory");
	} else {
		if (leaf)
			__asm__ volatile("tlbi ipas2le1is, %0" : : "r"(op) : "memory");
		else
			__asm__ volatile("tlbi ipas2e1is, %0" : : "r"(op) : "memory");
	}
}

/*
 * The stage-1 follow-up.  IPAS2* removes stage-2-only entries; TLBs may
 * also hold combined stage 1+2 entries for the VMID, which only a
 * stage-1 invalidation for the VMID removes.  The IPA invalidation must
 * be complete (DSB ISH) first, or another CPU could refill a combined
 * entry from the old stage-2 entry; then VMALLE1IS, DSB ISH to complete
 * it, ISB for this CPU's own context (Arm ARM D5.10.2, "TLB maintenance
 * for stage 2 ... invalidating by IPA does not invalidate combined
 * entries"; the sequence of formats.md 1.8).
 */
static void s1_followup(struct el2_plat *p, bool local)
{
	unsigned nc = nc_of(p);

	if (local) {
		dsb(nsh);
		__asm__ volatile("tlbi vmalle1" : : : "memory");
		dsb(nsh);
		isb();
		CNT(tlbi_vmalle1);
		return;
	}
	dsb(ish);
	if (nc == EL2_NC_NO_S1_FOLLOWUP) {
		isb();
		return;
	}
	if (nc == EL2_NC_LOCAL) {
		__asm__ volatile("tlbi vmalle1" : : : "memory");
		dsb(nsh);
	} else {
		__asm__ volatile("tlbi vmalle1is" : : : "memory");
		dsb(ish);
	}
	isb();
	CNT(tlbi_vmalle1);
}

/*
 * tlbi_ipa: one entry.  DSB ISHST first: the invalid (or changed) entry
 * written by the engine must be visible to every table walker before
 * the invalidation, or a walk after the TLBI could reload the old entry
 * (Arm ARM D5.10.1 "General TLB maintenance requirements",
 * break-before-make; B2.3 DSB).  S2_TLBI_LOCAL (a permission relaxed by
 * a fault on this CPU; other CPUs take a spurious fault at worst) uses
 * the non-shareable forms and DSB NSH, as relaxing needs no broadcast.
 */
static void h_tlbi_ipa(void *ctx, s2_gpa_t gpa, int level, unsigned flags)
{
	uint64_t ipa = gpa.v;
	struct el2_plat *p = ctx;
	bool leaf = flags & S2_TLBI_LEAF;
	bool local = flags & S2_TLBI_LOCAL;
	unsigned nc = nc_of(p);

	dsb(ishst);
	if (nc == EL2_NC_NO_TLBI)
		return;
	vmid_select(p);
	if (nc == EL2_NC_WRONG_IPA)
		ipa += 1ULL << 16;
	if (nc != EL2_NC_NO_IPA)
		tlbi_ipa_op(ipa, leaf ? ttl_hint(p, level) : 0, leaf,
			    local || nc == EL2_NC_LOCAL);
	if (local)
		CNT(tlbi_ipa_local);
	else
		CNT(tlbi_ipa);
	s1_followup(p, local);
}

/*
 * RIPAS2E1IS operand (FEAT_TLBIRANGE): TG [47:46], SCALE [45:44],
 * NUM [43:39], TTL [38:37] (level of the leaves, 0 = any), BaseADDR
 * [36:0] in granules; it covers (NUM+1) * 2^(5*SCALE+1) pages.
 */
static void tlbi_range_op(struct el2_plat *p, uint64_t ipa, uint64_t scale,
			  uint64_t num, int level, bool local)
{
	uint64_t tg = p->page_shift == 12 ? 1 : p->page_shift == 14 ? 2 : 3;
	uint64_t ttl = level >= 1 && level <= 3 ? (uint64_t)level : 0;
	uint64_t op = (tg << 46) | (scale << 44) | (num << 39) | (ttl << 37) |
		      ((ipa >> p->page_shift) & S2_GENMASK(36, 0));

	/* by encoding (op1=4 CRn=8 CRm=0/4 op2=2): RIPAS2E1IS / RIPAS2E1,
	 * which an Armv8.0 assembler does not name */
	if (local)
		__asm__ volatile("sys #4, c8, c4, #2, %0" : : "r"(op) : "memory");
	else
		__asm__ volatile("sys #4, c8, c0, #2, %0" : : "r"(op) : "memory");
	CNT(tlbi_range);
}

/* Past this many pages a CPU without range TLBI invalidates the whole
 * VMID instead of looping (correct, merely broader). */
#define TLBI_LOOP_MAX	512

static void h_tlbi_vm(void *ctx);

static void h_tlbi_range(void *ctx, s2_gpa_t gpa, uint64_t size, int level)
{
	uint64_t ipa = gpa.v;
	struct el2_plat *p = ctx;
	uint64_t pages = size >> p->page_shift, a = ipa;
	unsigned nc = nc_of(p);
	bool local = nc == EL2_NC_LOCAL;

	if (!pages)
		pages = 1;
	if (!p->feat.tlb_range && pages > TLBI_LOOP_MAX) {
		h_tlbi_vm(ctx);
		return;
	}
	dsb(ishst);
	if (nc == EL2_NC_NO_TLBI)
		return;
	vmid_select(p);
	if (nc == EL2_NC_WRONG_IPA)
		a += 1ULL << 16;
	if (nc == EL2_NC_NO_IPA)
		pages = 0;
	while (pages) {
		unsigned scale;
		uint64_t n;

		if (!p->feat.tlb_range || pages == 1) {
			/* one page: the range form's minimum is two */
			tlbi_ipa_op(a, level >= 0 ? ttl_hint(p, level) : 0,
				    level >= 0, local);
			CNT(tlbi_ipa);
			a += 1ULL << p->page_shift;
			pages--;
			continue;
		}
		/* the largest scale whose unit fits, up to 32 units */
		for (scale = 3; scale > 0 && pages < (2ULL << (5 * scale)); scale--)
			;
		n = pages >> (5 * scale + 1);
		if (n > 32)
			n = 32;
		tlbi_range_op(p, a, scale, n - 1, level, local);
		a += (n << (5 * scale + 1)) << p->page_shift;
		pages -= n << (5 * scale + 1);
	}
	s1_followup(p, false);
}

/* VMALLS12E1IS: every stage-1 and stage-2 entry of the VMID; DSB ISH
 * completes it everywhere, ISB for this CPU (Arm ARM D5.10.2). */
static void h_tlbi_vm(void *ctx)
{
	struct el2_plat *p = ctx;
	unsigned nc = nc_of(p);

	dsb(ishst);
	if (nc == EL2_NC_NO_TLBI)
		return;
	vmid_select(p);
	if (nc == EL2_NC_LOCAL) {
		__asm__ volatile("tlbi vmalls12e1" : : : "memory");
		dsb(nsh);
	} else {
		__asm__ volatile("tlbi vmalls12e1is" : : : "memory");
		dsb(ish);
	}
	isb();
	CNT(tlbi_vm);
}

/* ------------------------------------------------------------ caches */

/*
 * DC CIVAC by line to the Point of Coherency, then DSB ISH so the
 * maintenance is complete before the caller goes on (installs the entry,
 * returns from the notifier): Arm ARM D4.4 / D7 "Data cache maintenance
 * instructions", completion by DSB.  The line size is CTR_EL0.DminLine,
 * the smallest in the system.  The pool and guest memory are
 * identity-mapped at EL2, so PA is the VA to use.
 */
static void h_dcache_clean_inval_poc(void *ctx, s2_hpa_t hpa, uint64_t size)
{
	uint64_t pa = hpa.v;
	struct el2_plat *p = ctx;
	uint64_t line = p->feat.dline, a = pa & ~(line - 1), end = pa + size;

	for (; a < end; a += line) {
		__asm__ volatile("dc civac, %0" : : "r"(a) : "memory");
		CNT(dc_lines);
	}
	dsb(ish);
	CNT(dc_calls);
}

/*
 * The page becomes executable for the guest.  Unless CTR_EL0.IDC, data
 * written by the host (a copy, a swap-in) is first cleaned to the Point
 * of Unification (DC CVAU by line, DSB ISH), then IC IALLUIS drops every
 * instruction-cache line in the Inner Shareable domain (covers VIPT
 * aliasing caches, which by-VA IC IVAU would not), DSB ISH completes it,
 * ISB for this CPU: Arm ARM B2.4 "Concurrent modification and execution
 * of instructions" / "Instruction cache maintenance".
 */
static void h_icache_inval_pou(void *ctx, s2_hpa_t hpa, uint64_t size)
{
	uint64_t pa = hpa.v;
	struct el2_plat *p = ctx;

	if (!p->feat.idc) {
		uint64_t line = p->feat.dline, a = pa & ~(line - 1), end = pa + size;

		for (; a < end; a += line) {
			__asm__ volatile("dc cvau, %0" : : "r"(a) : "memory");
			CNT(dcvau_lines);
		}
		dsb(ish);
	}
	__asm__ volatile("ic ialluis" : : : "memory");
	dsb(ish);
	isb();
	CNT(ic_calls);
}

/* ------------------------------------------------------------- init */

int el2_platform_init(struct el2_plat *p, const struct el2_plat_cfg *cfg)
{
	uint64_t start = (uint64_t)(uintptr_t)cfg->pool, units, msize;

	if (!cfg->pool || (start & 0xffff) || cfg->pool_size < (4ULL << 20) ||
	    (cfg->page_shift != 12 && cfg->page_shift != 14 && cfg->page_shift != 16))
		return -S2_EINVAL;
	*p = (struct el2_plat){ 0 };
	el2_probe_features(&p->feat);
	p->vttbr = cfg->vttbr;
	p->page_shift = cfg->page_shift;
	p->nc = cfg->nc < EL2_NR_NC ? cfg->nc : EL2_NC_NONE;
	p->pool_start = start;
	p->pool_end = start + cfg->pool_size;
	units = cfg->pool_size >> 12;
	msize = (units * sizeof(struct el2_meta) + 0xffff) & ~0xffffULL;
	p->meta = cfg->pool;
	zero(p->meta, msize);
	p->bump = start + msize;

	p->ops = (struct s2_platform){
		.alloc_page = h_alloc_page,
		.free_page = h_free_page,
		.alloc_pages_exact = h_alloc_pages_exact,
		.free_pages_exact = h_free_pages_exact,
		.page_ref_add = h_page_ref_add,
		.virt_to_phys = h_virt_to_phys,
		.phys_to_virt = h_phys_to_virt,
		.linear = true,
		.linear_offset = 0,
		.defer_free = h_defer_free,
		.defer_barrier = h_defer_barrier,
		.tlbi_ipa = h_tlbi_ipa,
		.tlbi_range = h_tlbi_range,
		.tlbi_vm = h_tlbi_vm,
		.dcache_clean_inval_poc = h_dcache_clean_inval_poc,
		.icache_inval_pou = h_icache_inval_pou,
		.icache_dic = p->feat.dic,
		.zalloc = h_zalloc,
		.free = h_free,
		.yield = h_yield,
		.rwlock_new = h_rwlock_new,
		.rwlock_free = h_rwlock_free,
		.sleeplock_new = h_sleeplock_new,
		.read_lock = el2_read_lock,
		.read_unlock = el2_read_unlock,
		.write_lock = el2_write_lock,
		.write_unlock = el2_write_unlock,
		.rcu_read_lock = h_rcu_read_lock,
		.rcu_read_unlock = h_rcu_read_unlock,
		.synchronize_rcu = h_synchronize_rcu,
	};
	return 0;
}
