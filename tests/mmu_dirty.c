/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Dirty logging for live migration (issue 17 item 1): manual protect
 * (KVM_CLEAR_DIRTY_LOG semantics, with and without "initially all set",
 * with eager split) and the per-vCPU dirty rings, on the hosted platform.
 *
 * I7 is checked here the way the table shows it: a page whose record was
 * taken away (its bit cleared, its ring entry reset) is read-only in the
 * table when the call returns, with a TLB invalidation issued inside the
 * call, and its next write faults and is recorded again; a page whose
 * record is still there stays writable.  The TLBs themselves are the
 * checker's (s2mmu check), which models them.
 */
#include <pthread.h>
#include <sched.h>
#include <string.h>

#include <s2mmu/mmu.h>
#include <s2mmu/hosted.h>
#include "tap.h"

#define PG	4096ULL
#define M2	(2ULL << 20)
#define HVA0	0x7f4000000000ULL
#define PA0	0x100000000ULL
#define SLOT_PAGES	520ULL		/* 2M and 8 pages: a short last word */

static struct s2_hosted *H;
static uint64_t host_size = PG;
static int refs;

static int flat_resolve(void *host, s2_hva_t hva, bool write, struct s2_resolved *r)
{
	(void)host;
	(void)write;
	*r = (struct s2_resolved){ .pa = s2_hpa(PA0 + (hva.v - HVA0)), .writable = true };
	__atomic_fetch_add(&refs, 1, __ATOMIC_RELAXED);
	return 0;
}

static void flat_put(void *host, const struct s2_resolved *r)
{
	(void)host;
	(void)r;
	__atomic_fetch_sub(&refs, 1, __ATOMIC_RELAXED);
}

static uint64_t flat_size(void *host, s2_hva_t hva)
{
	(void)host;
	(void)hva;
	return host_size;
}

static const struct s2_host_ops flat_ops = { flat_resolve, flat_put, flat_size, NULL };

static int mkvm(unsigned flags, struct s2_vm **vm)
{
	struct s2_vm_cfg cfg = {
		.pgt = { S2_FMT_ARM64, 12, 40, 48, 0, s2_hosted_platform(), H },
		.host = &flat_ops, .flags = flags, .max_slots = 4,
	};

	*vm = NULL;
	return s2_vm_create(&cfg, vm);
}

static struct s2_vm *vm_or_bail(unsigned flags)
{
	struct s2_vm *vm;

	if (mkvm(flags, &vm))
		TAP_BAIL("vm create");
	return vm;
}

/* The leaf mapping @page of slot 0 (at GPA 0): 0 none, 1 read-only, 2
 * writable. */
static int leaf(struct s2_vm *vm, uint64_t page, uint64_t *size)
{
	struct s2_mapping m;

	if (s2_pgt_lookup(s2_vm_pgtable(vm), s2_gpa(page * PG), &m) || !m.valid)
		return 0;
	if (size)
		*size = m.size;
	return (m.prot & S2_PROT_W) ? 2 : 1;
}

static int wr(struct s2_vm *vm, struct s2_memcache *mc, uint64_t page)
{
	return s2_vm_fault(vm, s2_gpa(page * PG), S2_ACC_WRITE, mc, NULL);
}

static bool bit(const uint64_t *bm, uint64_t page)
{
	return bm[page / 64] & (1ULL << (page % 64));
}

static uint64_t tlbis(void)
{
	struct s2_hosted_stats st;

	s2_hosted_get_stats(H, &st);
	return st.tlbi_ipa + st.tlbi_range + st.tlbi_vm;
}

static int set_slot(struct s2_vm *vm, unsigned flags)
{
	return s2_vm_set_memslot(vm, 0, s2_gpa(0), SLOT_PAGES * PG, s2_hva(HVA0), flags);
}

/* ------------------------------------------------------ manual protect */

static void test_manual_args(void)
{
	struct s2_vm *vm;
	uint64_t mask[9] = { ~0ULL };

	tap_ok(mkvm(S2_VM_DIRTY_INIT_SET, &vm) == -S2_EINVAL && !vm,
	       "INITIALLY_SET without MANUAL_PROTECT: -EINVAL, no VM");
	vm = vm_or_bail(0);
	set_slot(vm, S2_MEM_DIRTY_LOG);
	tap_ok(s2_vm_clear_dirty_log(vm, 0, 0, 64, mask) == -S2_EINVAL,
	       "clear on a VM without manual protect: -EINVAL");
	s2_vm_destroy(vm);
	tap_ok(s2_vm_clear_dirty_log(NULL, 0, 0, 64, mask) == -S2_EINVAL, "clear NULL vm: -EINVAL");
}

static void test_manual(void)
{
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	struct s2_vm *vm = vm_or_bail(S2_VM_MANUAL_PROTECT);
	uint64_t bm[9], mask[9], t0;
	bool ok = true;

	set_slot(vm, 0);
	for (uint64_t p = 0; p < 4; p++)
		wr(vm, &mc, p);
	tap_ok(s2_vm_clear_dirty_log(vm, 0, 0, 64, mask) == -S2_EINVAL,
	       "clear of a slot not logging: -EINVAL");
	set_slot(vm, S2_MEM_DIRTY_LOG);
	tap_ok(leaf(vm, 0, NULL) == 1 && leaf(vm, 3, NULL) == 1,
	       "manual protect, not initially set: enabling logging write-protects");
	tap_ok(s2_vm_get_dirty_log(vm, 0, bm, 9) == 0 && !bm[0] && !bm[1] && !bm[8],
	       "... and starts with a clean bitmap");
	wr(vm, &mc, 3);
	wr(vm, &mc, 70);
	wr(vm, &mc, 515);
	s2_vm_get_dirty_log(vm, 0, bm, 9);
	tap_ok(bm[0] == 1ULL << 3 && bm[1] == 1ULL << 6 && bm[8] == 1ULL << 3,
	       "get reports the written pages");
	s2_vm_get_dirty_log(vm, 0, bm, 9);
	tap_ok(bm[0] == 1ULL << 3 && bm[1] == 1ULL << 6 && leaf(vm, 3, NULL) == 2,
	       "get neither clears nor protects: the bits again, page 3 still writable");

	/* bad input: an error and nothing changed */
	memset(mask, 0xff, sizeof(mask));
	tap_ok(s2_vm_clear_dirty_log(vm, 0, 1, 64, mask) == -S2_EINVAL,
	       "clear from a page not 64-aligned: -EINVAL");
	tap_ok(s2_vm_clear_dirty_log(vm, 0, 0, 65, mask) == -S2_EINVAL,
	       "clear of 65 pages not ending at the slot's end: -EINVAL");
	tap_ok(s2_vm_clear_dirty_log(vm, 0, 512, 9, mask) == -S2_EINVAL,
	       "clear beyond the slot's end: -EINVAL");
	tap_ok(s2_vm_clear_dirty_log(vm, 0, 576, 0, mask) == -S2_EINVAL,
	       "clear starting beyond the slot: -EINVAL");
	tap_ok(s2_vm_clear_dirty_log(vm, 0, 0, 64, NULL) == -S2_EINVAL, "clear NULL mask: -EINVAL");
	tap_ok(s2_vm_clear_dirty_log(vm, 1, 0, 64, mask) == -S2_ENOENT, "clear of no slot: -ENOENT");
	s2_vm_get_dirty_log(vm, 0, bm, 9);
	tap_ok(bm[0] == 1ULL << 3 && bm[1] == 1ULL << 6 && bm[8] == 1ULL << 3 &&
	       leaf(vm, 3, NULL) == 2 && leaf(vm, 70, NULL) == 2 && leaf(vm, 515, NULL) == 2,
	       "after the refused clears: every bit and every writable page as before");
	tap_ok(s2_vm_clear_dirty_log(vm, 0, 512, 0, mask) == 0, "clear of 0 pages: 0");

	/* exactly the caller's bits */
	memset(mask, 0, sizeof(mask));
	mask[0] = 1ULL << 3 | 1ULL << 5;	/* page 5: bit clear, nothing to do */
	t0 = tlbis();
	tap_ok(s2_vm_clear_dirty_log(vm, 0, 0, 128, mask) == 0, "clear of pages 3 and 5: 0");
	tap_ok(tlbis() > t0, "... with a TLB invalidation before return (%llu)",
	       (unsigned long long)(tlbis() - t0));
	s2_vm_get_dirty_log(vm, 0, bm, 9);
	tap_ok(!bm[0] && bm[1] == 1ULL << 6 && leaf(vm, 3, NULL) == 1 && leaf(vm, 70, NULL) == 2,
	       "page 3: bit cleared and read-only; page 70, not in the mask: bit and W kept");
	wr(vm, &mc, 3);
	s2_vm_get_dirty_log(vm, 0, bm, 9);
	tap_ok(bm[0] == 1ULL << 3, "I7: the next write to page 3 faults and sets its bit again");
	/* the slot's last, short word: 8 pages from 512 */
	memset(mask, 0, sizeof(mask));
	mask[0] = ~0ULL;
	tap_ok(s2_vm_clear_dirty_log(vm, 0, 512, 8, mask) == 0,
	       "clear of the short last word (8 pages ending at the slot's end): 0");
	s2_vm_get_dirty_log(vm, 0, bm, 9);
	tap_ok(!bm[8] && leaf(vm, 515, NULL) == 1, "page 515 cleared and read-only");
	for (uint64_t p = 0; p < SLOT_PAGES; p++)
		ok = ok && (leaf(vm, p, NULL) != 2 || bit(bm, p));
	tap_ok(ok, "I7 in the table: every writable page of the slot has its bit set");
	s2_vm_memcache_free(vm, &mc);
	s2_vm_destroy(vm);
}

static void test_init_set(void)
{
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	struct s2_vm *vm = vm_or_bail(S2_VM_MANUAL_PROTECT | S2_VM_DIRTY_INIT_SET);
	uint64_t bm[9], mask[9] = { 0 }, t0;
	bool all = true;

	set_slot(vm, 0);
	for (uint64_t p = 0; p < 4; p++)
		wr(vm, &mc, p);
	t0 = tlbis();
	set_slot(vm, S2_MEM_DIRTY_LOG);
	tap_ok(leaf(vm, 0, NULL) == 2 && leaf(vm, 3, NULL) == 2 && tlbis() == t0,
	       "initially set: enabling logging protects nothing, invalidates nothing");
	s2_vm_get_dirty_log(vm, 0, bm, 9);
	for (unsigned w = 0; w < 8; w++)
		all = all && bm[w] == ~0ULL;
	tap_ok(all && bm[8] == 0xff, "... every bit of the slot set, none beyond its end");
	mask[0] = 0xf;
	s2_vm_clear_dirty_log(vm, 0, 0, 64, mask);
	s2_vm_get_dirty_log(vm, 0, bm, 9);
	tap_ok(bm[0] == ~0xfULL && leaf(vm, 0, NULL) == 1 && leaf(vm, 3, NULL) == 1,
	       "clear of pages 0-3: bits gone, pages read-only");
	wr(vm, &mc, 1);
	s2_vm_get_dirty_log(vm, 0, bm, 9);
	tap_ok(bm[0] == ~0xdULL && leaf(vm, 1, NULL) == 2, "I7: a write to page 1 is recorded");
	/* a whole word of set bits: its run of 64 pages ends at the word */
	wr(vm, &mc, 64);
	wr(vm, &mc, 128);
	mask[0] = ~0ULL;
	s2_vm_clear_dirty_log(vm, 0, 64, 64, mask);
	tap_ok(leaf(vm, 64, NULL) == 1 && leaf(vm, 128, NULL) == 2,
	       "clear of pages 64-127, all dirty: page 64 protected, page 128 not (its bit is set)");
	s2_vm_memcache_free(vm, &mc);
	s2_vm_destroy(vm);
}

static void test_init_set_eager(void)
{
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	struct s2_vm *vm = vm_or_bail(S2_VM_MANUAL_PROTECT | S2_VM_DIRTY_INIT_SET |
				      S2_VM_EAGER_SPLIT);
	uint64_t mask[9] = { 0 }, sz = 0, bm[9];

	host_size = M2;
	set_slot(vm, 0);
	wr(vm, &mc, 0);
	leaf(vm, 0, &sz);
	tap_ok(sz == M2, "before logging: a writable 2M block");
	set_slot(vm, S2_MEM_DIRTY_LOG);
	sz = 0;
	tap_ok(leaf(vm, 5, &sz) == 2 && sz == M2,
	       "initially set with eager split: enabling logging splits nothing");
	mask[0] = 1ULL << 3;
	s2_vm_clear_dirty_log(vm, 0, 0, 64, mask);
	sz = 0;
	tap_ok(leaf(vm, 3, &sz) == 1 && sz == PG,
	       "the clear splits the block first: page 3 a read-only page");
	sz = 0;
	tap_ok(leaf(vm, 4, &sz) == 2 && sz == PG && leaf(vm, 511, NULL) == 2,
	       "... its neighbours writable pages still (their bits are set)");
	s2_vm_get_dirty_log(vm, 0, bm, 9);
	tap_ok(bm[0] == ~(1ULL << 3), "... and only page 3's bit cleared");
	host_size = PG;
	s2_vm_memcache_free(vm, &mc);
	s2_vm_destroy(vm);
}

/* --------------------------------------------------------- dirty rings */

static void test_ring_args(void)
{
	struct s2_vm *vm = vm_or_bail(0);
	struct s2_dirty_ring *r = NULL;
	struct s2_dirty_gfn g;

	tap_ok(s2_vm_dirty_ring_create(vm, 0, &r) == -S2_EINVAL &&
	       s2_vm_dirty_ring_create(vm, 1, &r) == -S2_EINVAL &&
	       s2_vm_dirty_ring_create(vm, 12, &r) == -S2_EINVAL &&
	       s2_vm_dirty_ring_create(vm, 131072, &r) == -S2_EINVAL &&
	       s2_vm_dirty_ring_create(NULL, 8, &r) == -S2_EINVAL &&
	       s2_vm_dirty_ring_create(vm, 8, NULL) == -S2_EINVAL && !r,
	       "ring create: 0, 1, 12, 131072 entries, NULL vm or out: -EINVAL");
	tap_ok(s2_vm_reset_dirty_rings(NULL) == -S2_EINVAL, "reset NULL vm: -EINVAL");
	tap_ok(s2_dirty_ring_harvest(NULL, &g, 1) == 0 && s2_dirty_ring_used(NULL) == 0,
	       "harvest and used of no ring: 0");
	{
		struct s2_vm *other = vm_or_bail(0);
		struct s2_memcache mc = S2_MEMCACHE_INIT;

		s2_vm_dirty_ring_create(other, 8, &r);
		set_slot(vm, S2_MEM_DIRTY_LOG);
		tap_ok(s2_vm_fault_ring(vm, s2_gpa(0), S2_ACC_WRITE, &mc, r, NULL) == -S2_EINVAL &&
		       leaf(vm, 0, NULL) == 0 && s2_dirty_ring_used(r) == 0,
		       "a fault with another VM's ring: -EINVAL, nothing mapped or pushed");
		s2_vm_dirty_ring_free(vm, r);	/* not this VM's: ignored */
		s2_vm_destroy(other);		/* frees it */
		s2_vm_delete_memslot(vm, 0);
		r = NULL;
	}
	s2_hosted_fail_alloc(H, 1, false);
	tap_ok(s2_vm_dirty_ring_create(vm, 8, &r) == -S2_ENOMEM && !r,
	       "ring create with the allocation failing: -ENOMEM");
	s2_hosted_fail_alloc(H, 0, false);
	/* a ring left to the VM: destroy frees it (the leak count at the end) */
	tap_ok(s2_vm_dirty_ring_create(vm, 8, &r) == 0 && r, "ring create of 8: 0");
	s2_vm_destroy(vm);
}

static void test_ring(void)
{
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	struct s2_vm *vm = vm_or_bail(0);
	struct s2_dirty_ring *r;
	struct s2_dirty_gfn g[16];
	uint64_t bm[9], t0;
	bool ok = true;
	size_t n;
	int ret;

	s2_vm_dirty_ring_create(vm, 8, &r);
	set_slot(vm, S2_MEM_DIRTY_LOG);
	for (uint64_t p = 0; p < 6; p++)
		ok = ok && s2_vm_fault_ring(vm, s2_gpa(p * PG), S2_ACC_WRITE, &mc, r, NULL) == 0;
	tap_ok(ok && s2_dirty_ring_used(r) == 6, "six writes through a ring of 8: 0, six entries");
	tap_ok(s2_vm_fault_ring(vm, s2_gpa(100 * PG), S2_ACC_READ, &mc, r, NULL) == 0 &&
	       s2_dirty_ring_used(r) == 6 && leaf(vm, 100, NULL) == 1,
	       "a read fault pushes nothing and maps read-only");
	tap_ok(s2_vm_fault_ring(vm, s2_gpa(6 * PG), S2_ACC_WRITE, &mc, r, NULL) ==
	       S2_FAULT_RING_SOFT_FULL, "the seventh: mapped, S2_FAULT_RING_SOFT_FULL");
	tap_ok(s2_vm_fault_ring(vm, s2_gpa(7 * PG), S2_ACC_WRITE, &mc, r, NULL) ==
	       S2_FAULT_RING_SOFT_FULL && s2_dirty_ring_used(r) == 8 && leaf(vm, 7, NULL) == 2,
	       "the eighth fills the ring, still soft-full");
	ret = s2_vm_fault_ring(vm, s2_gpa(8 * PG), S2_ACC_WRITE, &mc, r, NULL);
	tap_ok(ret == -S2_EBUSY && leaf(vm, 8, NULL) != 2 && s2_dirty_ring_used(r) == 8,
	       "the ninth, ring full: -EBUSY, page 8 not writable, no entry lost (%d)", ret);
	s2_vm_get_dirty_log(vm, 0, bm, 9);
	tap_ok(!bm[0], "ring writes set no bitmap bit");
	n = s2_dirty_ring_harvest(r, g, 16);
	ok = n == 8;
	for (size_t i = 0; ok && i < n; i++)
		ok = g[i].slot == 0 && g[i].offset == i && g[i].flags == S2_DIRTY_GFN_DIRTY;
	tap_ok(ok, "harvest: the 8 entries in push order, slot 0, pages 0-7");
	tap_ok(s2_dirty_ring_harvest(r, g, 16) == 0 && s2_dirty_ring_used(r) == 8 &&
	       leaf(vm, 0, NULL) == 2,
	       "a second harvest is empty; the entries still used, the pages still writable");
	t0 = tlbis();
	tap_ok(s2_vm_reset_dirty_rings(vm) == 8 && s2_dirty_ring_used(r) == 0,
	       "reset: 8 entries recycled");
	ok = tlbis() > t0;
	for (uint64_t p = 0; p < 8; p++)
		ok = ok && leaf(vm, p, NULL) == 1;
	tap_ok(ok, "... every harvested page read-only, with a TLB invalidation");
	tap_ok(s2_vm_reset_dirty_rings(vm) == 0, "a second reset resets nothing");
	tap_ok(s2_vm_fault_ring(vm, s2_gpa(8 * PG), S2_ACC_WRITE, &mc, r, NULL) == 0 &&
	       s2_vm_fault_ring(vm, s2_gpa(0), S2_ACC_WRITE, &mc, r, NULL) == 0,
	       "after the reset the refused write and a new write to page 0 succeed");
	n = s2_dirty_ring_harvest(r, g, 1);
	tap_ok(n == 1 && g[0].offset == 8, "harvest of at most 1: page 8");
	tap_ok(s2_vm_reset_dirty_rings(vm) == 1 && leaf(vm, 8, NULL) == 1 && leaf(vm, 0, NULL) == 2,
	       "reset stops at the entry not harvested: page 0 keeps W and its entry");
	tap_ok(s2_dirty_ring_harvest(r, g, 16) == 1 && g[0].offset == 0 &&
	       s2_vm_reset_dirty_rings(vm) == 1 && leaf(vm, 0, NULL) == 1,
	       "... which the next harvest and reset take");
	wr(vm, &mc, 9);
	s2_vm_get_dirty_log(vm, 0, bm, 9);
	tap_ok(bm[0] == 1ULL << 9 && s2_dirty_ring_used(r) == 0,
	       "a fault without a ring (s2_vm_fault) still sets the bitmap");
	/* entries of a slot that stops logging are freed, not protected */
	s2_vm_fault_ring(vm, s2_gpa(10 * PG), S2_ACC_WRITE, &mc, r, NULL);
	s2_dirty_ring_harvest(r, g, 16);
	set_slot(vm, 0);
	wr(vm, &mc, 10);
	tap_ok(s2_vm_reset_dirty_rings(vm) == 1 && leaf(vm, 10, NULL) == 2,
	       "reset of an entry whose slot no longer logs: recycled, page left writable");
	s2_vm_dirty_ring_free(vm, r);
	s2_vm_memcache_free(vm, &mc);
	s2_vm_destroy(vm);
}

/*
 * A vCPU writing through its ring while the VMM harvests and resets in a
 * loop: no entry lost or duplicated (every push is harvested once), and
 * at the end every writable page has an entry not yet reset (I7 in the
 * table).
 */
struct ring_run {
	struct s2_vm *vm;
	struct s2_dirty_ring *r;
	bool stop;
	unsigned long pushed, busy;
};

static void *vcpu_thread(void *arg)
{
	struct ring_run *rr = arg;
	struct s2_memcache mc = S2_MEMCACHE_INIT;

	for (unsigned i = 0; i < 20000; i++) {
		uint64_t p = (i * 7919u) % 64;
		int ret;

		if (leaf(rr->vm, p, NULL) == 2)
			continue;	/* the guest writes without a fault */
		/* full: the VMM harvests and resets; the vCPU waits, retries */
		while ((ret = s2_vm_fault_ring(rr->vm, s2_gpa(p * PG), S2_ACC_WRITE, &mc, rr->r,
					       NULL)) == -S2_EBUSY) {
			rr->busy++;
			sched_yield();
		}
		if (ret >= 0)
			rr->pushed++;
	}
	__atomic_store_n(&rr->stop, true, __ATOMIC_RELEASE);
	s2_vm_memcache_free(rr->vm, &mc);
	return NULL;
}

static void test_ring_concurrent(void)
{
	struct ring_run rr = { .vm = vm_or_bail(0) };
	struct s2_dirty_gfn g[64];
	bool held[64] = { false }, ok = true;
	unsigned long harvested = 0;
	pthread_t t;

	s2_vm_dirty_ring_create(rr.vm, 16, &rr.r);
	set_slot(rr.vm, S2_MEM_DIRTY_LOG);
	pthread_create(&t, NULL, vcpu_thread, &rr);
	while (!__atomic_load_n(&rr.stop, __ATOMIC_ACQUIRE)) {
		harvested += s2_dirty_ring_harvest(rr.r, g, 64);
		s2_vm_reset_dirty_rings(rr.vm);
	}
	pthread_join(t, NULL);
	for (size_t n; (n = s2_dirty_ring_harvest(rr.r, g, 64)) > 0;) {
		harvested += n;
		for (size_t i = 0; i < n; i++)
			held[g[i].offset % 64] = true;
	}
	tap_ok(harvested == rr.pushed && rr.pushed > 0,
	       "vCPU and harvester in parallel: %lu pushes, %lu harvested, %lu refused full",
	       rr.pushed, harvested, rr.busy);
	for (uint64_t p = 0; p < 64; p++)
		ok = ok && (leaf(rr.vm, p, NULL) != 2 || held[p]);
	tap_ok(ok, "at the end every writable page has an entry not yet reset (I7)");
	s2_vm_dirty_ring_free(rr.vm, rr.r);
	s2_vm_destroy(rr.vm);
}

int main(void)
{
	struct s2_hosted_stats st;

	H = s2_hosted_new();
	test_manual_args();
	test_manual();
	test_init_set();
	test_init_set_eager();
	test_ring_args();
	test_ring();
	test_ring_concurrent();
	s2_hosted_get_stats(H, &st);
	tap_ok(st.pages_live == 0 && st.objects_alloc == st.objects_free && refs == 0,
	       "nothing leaked: %llu table pages live, %llu/%llu objects, %d frame refs",
	       (unsigned long long)st.pages_live, (unsigned long long)st.objects_alloc,
	       (unsigned long long)st.objects_free, refs);
	s2_hosted_free(H);
	return tap_done();
}
