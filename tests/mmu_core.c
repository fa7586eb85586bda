/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Coherence core, deterministic and single-threaded: one test per handler
 * and per fault-path rule, each checking the table and the counters after.
 * The host is a small fake (an array of frames) whose resolve() can run an
 * invalidation at the exact point a racing one would land.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <s2mmu/mmu.h>
#include <s2mmu/hosted.h>
#include "tap.h"

#define PG 4096ULL
#define M2 (2ULL << 20)
#define HVA0 0x7f0000000000ULL
#define NPAGES 2048			/* 8 MiB of fake host memory */

struct fake_host {
	uint64_t pa[NPAGES];		/* frame of each HVA page, 0 = none */
	bool ro[NPAGES];		/* host maps it read-only (COW) */
	uint64_t map_size;		/* what the lockless walk reports */
	int refs;			/* frame references outstanding */
	struct s2_vm *vm;
	/* run inside resolve(): the invalidation that races the fault */
	void (*race)(struct fake_host *fh, uint64_t hva);
	bool cow_on_write;		/* a write resolve moves to a new frame */
	uint64_t next_pa;
};

static int fh_resolve(void *host, s2_hva_t hva, bool write, struct s2_resolved *r)
{
	struct fake_host *fh = host;
	uint64_t i = (hva.v - HVA0) / PG;

	if (hva.v < HVA0 || i >= NPAGES || !fh->pa[i])
		return -S2_EFAULT;
	if (write && fh->ro[i]) {
		if (!fh->cow_on_write)
			return -S2_EFAULT;
		fh->pa[i] = fh->next_pa;	/* the COW break: a new frame */
		fh->next_pa += PG;
		fh->ro[i] = false;
	}
	if (fh->race) {
		void (*race)(struct fake_host *, uint64_t) = fh->race;

		fh->race = NULL;
		race(fh, hva.v);
	}
	r->pa = s2_hpa(fh->pa[i]);
	r->writable = !fh->ro[i];
	r->device = false;
	r->cookie = i;
	fh->refs++;
	return 0;
}

static void fh_put(void *host, const struct s2_resolved *r)
{
	(void)r;
	((struct fake_host *)host)->refs--;
}

static uint64_t fh_size(void *host, s2_hva_t hva)
{
	(void)hva;
	return ((struct fake_host *)host)->map_size;
}

static const struct s2_host_ops fh_ops = { fh_resolve, fh_put, fh_size, NULL };

static struct s2_hosted *H;

static struct s2_vm *mkvm(struct fake_host *fh, unsigned flags)
{
	struct s2_vm_cfg cfg = {
		.pgt = { S2_FMT_ARM64, 12, 40, 48, 0, s2_hosted_platform(), H },
		.host = &fh_ops, .host_ctx = fh, .flags = flags, .max_slots = 4,
	};
	struct s2_vm *vm = NULL;
	uint64_t i;

	memset(fh, 0, sizeof(*fh));
	/* 2M-aligned, contiguous frames so blocks are possible */
	for (i = 0; i < NPAGES; i++)
		fh->pa[i] = 0x40000000ULL + i * PG;
	fh->map_size = PG;
	fh->next_pa = 0x80000000ULL;
	if (s2_vm_create(&cfg, &vm))
		TAP_BAIL("vm create");
	fh->vm = vm;
	return vm;
}

static bool mapped(struct s2_vm *vm, uint64_t gpa, struct s2_mapping *m)
{
	struct s2_mapping tmp;
	struct s2_pgtable *pgt = s2_vm_pgtable(vm);

	if (!m)
		m = &tmp;
	if (!pgt)
		return false;
	s2_pgt_lookup(pgt, s2_gpa(gpa), m);
	return m->valid;
}

static void race_start_end(struct fake_host *fh, uint64_t hva)
{
	s2_vm_mn_invalidate_range_start(fh->vm, s2_hva(hva), s2_hva(hva + PG), true);
	s2_vm_mn_invalidate_range_end(fh->vm, s2_hva(hva), s2_hva(hva + PG));
}

static void race_start(struct fake_host *fh, uint64_t hva)
{
	s2_vm_mn_invalidate_range_start(fh->vm, s2_hva(hva), s2_hva(hva + PG), true);
}

static void race_release(struct fake_host *fh, uint64_t hva)
{
	(void)hva;
	s2_vm_mn_release(fh->vm);
}

static void test_memslots(void)
{
	struct fake_host fh;
	struct s2_vm *vm = mkvm(&fh, 0);

	tap_ok(s2_vm_set_memslot(vm, 0, s2_gpa(0), 4 * M2, s2_hva(HVA0), 0) == 0,
	       "memslot: create");
	tap_ok(s2_vm_set_memslot(vm, 1, s2_gpa(M2), M2, s2_hva(HVA0), 0) == -S2_EEXIST,
	       "memslot: overlapping slot rejected (-EEXIST)");
	tap_ok(s2_vm_set_memslot(vm, 3, s2_gpa(6 * M2), M2, s2_hva(HVA0), 0) == 0 &&
	       s2_vm_set_memslot(vm, 2, s2_gpa(5 * M2), M2, s2_hva(HVA0), 0) == 0 &&
	       s2_vm_delete_memslot(vm, 2) == 0 && s2_vm_delete_memslot(vm, 3) == 0,
	       "memslot: slots that end where another starts, either side, do not overlap");
	tap_ok(s2_vm_set_memslot(vm, 1, s2_gpa(8 * M2 + 1), M2, s2_hva(HVA0), 0) == -S2_EINVAL,
	       "memslot: misaligned GPA rejected");
	tap_ok(s2_vm_set_memslot(vm, 1, s2_gpa(8 * M2), M2, s2_hva(HVA0 + 3), 0) == -S2_EINVAL,
	       "memslot: misaligned HVA rejected");
	tap_ok(s2_vm_set_memslot(vm, 1, s2_gpa(8 * M2), 0, s2_hva(HVA0), 0) == -S2_EINVAL,
	       "memslot: zero size rejected");
	tap_ok(s2_vm_set_memslot(vm, 1, s2_gpa((1ULL << 40) - PG), 2 * PG, s2_hva(HVA0), 0) == -S2_ERANGE,
	       "memslot: beyond the IPA size (-ERANGE)");
	tap_ok(s2_vm_set_memslot(vm, 1, s2_gpa(8 * M2), M2, s2_hva(HVA0),
				 S2_MEM_READONLY | S2_MEM_DIRTY_LOG) == -S2_EINVAL,
	       "memslot: read-only with dirty logging rejected");
	tap_ok(s2_vm_set_memslot(vm, 9, s2_gpa(8 * M2), M2, s2_hva(HVA0), 0) == -S2_EINVAL,
	       "memslot: id beyond max_slots rejected");
	tap_ok(s2_vm_set_memslot(vm, 1, s2_gpa(8 * M2), M2, s2_hva(HVA0), 0x80) == -S2_EINVAL,
	       "memslot: unknown flag rejected");
	tap_ok(s2_vm_delete_memslot(vm, 2) == -S2_ENOENT, "memslot: delete of a missing slot: -ENOENT");
	for (unsigned i = 1; i < 4; i++)
		s2_vm_set_memslot(vm, i, s2_gpa(16 * M2 * i), PG, s2_hva(HVA0), 0);
	tap_ok(s2_vm_set_memslot(vm, 3, s2_gpa(200 * M2), PG, s2_hva(HVA0), 0) == 0,
	       "memslot: move of an existing slot");
	s2_vm_destroy(vm);
}

static void test_fault_basics(void)
{
	struct fake_host fh;
	struct s2_vm *vm = mkvm(&fh, 0);
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	struct s2_fault_info fi;
	struct s2_mapping m;
	struct s2_vm_stats st;
	int ret;

	s2_vm_set_memslot(vm, 0, s2_gpa(0), 4 * M2, s2_hva(HVA0), 0);
	s2_vm_set_memslot(vm, 1, s2_gpa(4 * M2), M2, s2_hva(HVA0 + M2), S2_MEM_READONLY);
	ret = s2_vm_fault(vm, s2_gpa(5 * PG), S2_ACC_READ, &mc, &fi);
	tap_ok(ret == 0 && mapped(vm, 5 * PG, &m) && m.pa.v == fh.pa[5] &&
	       m.prot == (S2_PROT_R | S2_PROT_W) && fh.refs == 0,
	       "fault: read maps the host frame, writable as the host allows; reference dropped");
	fh.ro[6] = true;
	s2_vm_fault(vm, s2_gpa(6 * PG), S2_ACC_READ, &mc, &fi);
	mapped(vm, 6 * PG, &m);
	tap_ok(m.prot == S2_PROT_R, "fault: host page read-only (COW): mapped read-only (I2)");
	fh.cow_on_write = true;
	ret = s2_vm_fault(vm, s2_gpa(6 * PG), S2_ACC_WRITE, &mc, &fi);
	mapped(vm, 6 * PG, &m);
	tap_ok(ret == 0 && m.pa.v == fh.pa[6] && m.pa.v >= 0x80000000ULL && (m.prot & S2_PROT_W),
	       "fault: write after COW break maps the new frame writable");
	tap_ok(s2_vm_fault(vm, s2_gpa(100 * M2), S2_ACC_READ, &mc, &fi) == -S2_EFAULT,
	       "fault: no memslot: -EFAULT");
	tap_ok(s2_vm_fault(vm, s2_gpa(4 * M2), S2_ACC_WRITE, &mc, &fi) == -S2_EFAULT,
	       "fault: write to a read-only slot: -EFAULT");
	tap_ok(s2_vm_fault(vm, s2_gpa(4 * M2), S2_ACC_READ, &mc, &fi) == 0 &&
	       mapped(vm, 4 * M2, &m) && m.prot == S2_PROT_R,
	       "fault: read of a read-only slot maps read-only");
	tap_ok(s2_vm_fault(vm, s2_gpa(0), 0, &mc, &fi) == -S2_EINVAL &&
	       s2_vm_fault(vm, s2_gpa(1ULL << 41), S2_ACC_READ, &mc, &fi) == -S2_ERANGE &&
	       s2_vm_fault(NULL, s2_gpa(0), S2_ACC_READ, &mc, &fi) == -S2_EINVAL,
	       "fault: bad arguments rejected");
	s2_vm_get_stats(vm, &st);
	tap_ok(st.installs >= 4 && st.efault == 2, "fault: counters (installs %llu, efault %llu)",
	       (unsigned long long)st.installs, (unsigned long long)st.efault);
	s2_vm_memcache_free(vm, &mc);
	s2_vm_destroy(vm);
}

static void test_blocks(void)
{
	struct fake_host fh;
	struct s2_vm *vm = mkvm(&fh, 0);
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	struct s2_mapping m;

	fh.map_size = M2;
	s2_vm_set_memslot(vm, 0, s2_gpa(0), 4 * M2, s2_hva(HVA0), 0);
	s2_vm_fault(vm, s2_gpa(M2 + 7 * PG), S2_ACC_READ, &mc, NULL);
	mapped(vm, M2, &m);
	tap_ok(m.size == M2 && m.pa.v == fh.pa[512], "block: host 2M + congruent + inside slot -> 2M leaf");
	s2_vm_delete_memslot(vm, 0);
	tap_ok(!mapped(vm, M2, NULL), "memslot delete zaps its range");
	/* slot GPA not congruent with the HVA modulo 2M */
	s2_vm_set_memslot(vm, 0, s2_gpa(M2 + PG), 2 * M2, s2_hva(HVA0), 0);
	s2_vm_fault(vm, s2_gpa(2 * M2 + PG), S2_ACC_READ, &mc, NULL);
	mapped(vm, 2 * M2 + PG, &m);
	tap_ok(m.valid && m.size == PG, "block: HVA/IPA not congruent -> pages only");
	s2_vm_delete_memslot(vm, 0);
	/* slot smaller than the block */
	s2_vm_set_memslot(vm, 0, s2_gpa(0), M2 / 2, s2_hva(HVA0), 0);
	s2_vm_fault(vm, s2_gpa(PG), S2_ACC_READ, &mc, NULL);
	mapped(vm, PG, &m);
	tap_ok(m.valid && m.size == PG, "block: never past the slot's end -> pages");
	s2_vm_set_memslot(vm, 0, s2_gpa(64 * M2), M2 / 2, s2_hva(HVA0), 0);
	tap_ok(!mapped(vm, PG, NULL), "memslot move zaps the old range");
	s2_vm_memcache_free(vm, &mc);
	s2_vm_destroy(vm);
}

static void test_invalidate(void)
{
	struct fake_host fh;
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	struct s2_fault_info fi;
	struct s2_vm_stats st;
	struct s2_vm *vm;
	int ret;

	for (int counter = 0; counter < 2; counter++) {
		vm = mkvm(&fh, counter ? S2_VM_COUNTER_TRACKING : 0);
		s2_vm_set_memslot(vm, 0, s2_gpa(0), 4 * M2, s2_hva(HVA0), 0);
		s2_vm_fault(vm, s2_gpa(0), S2_ACC_READ, &mc, NULL);
		s2_vm_mn_invalidate_range_start(vm, s2_hva(HVA0), s2_hva(HVA0 + PG), true);
		tap_ok(!mapped(vm, 0, NULL), "%s: invalidate_range_start zaps the range",
		       counter ? "counter" : "ranged");
		ret = s2_vm_fault(vm, s2_gpa(0), S2_ACC_READ, &mc, &fi);
		tap_ok(ret == -S2_EAGAIN && fi.retry_cause == S2_RETRY_RANGE,
		       "%s: a fault inside an in-progress range retries", counter ? "counter" : "ranged");
		ret = s2_vm_fault(vm, s2_gpa(M2), S2_ACC_READ, &mc, &fi);
		if (counter)
			tap_ok(ret == -S2_EAGAIN, "counter: a fault outside it retries too (spurious)");
		else
			tap_ok(ret == 0, "ranged: a fault outside it proceeds");
		s2_vm_mn_invalidate_range_end(vm, s2_hva(HVA0), s2_hva(HVA0 + PG));
		tap_ok(s2_vm_fault(vm, s2_gpa(0), S2_ACC_READ, &mc, &fi) == 0,
		       "%s: after invalidate_range_end the fault proceeds", counter ? "counter" : "ranged");
		s2_vm_get_stats(vm, &st);
		tap_ok(st.spurious_retries == (counter ? 1u : 0u),
		       "%s: spurious retries counted (%llu)", counter ? "counter" : "ranged",
		       (unsigned long long)st.spurious_retries);
		tap_ok(st.invalidations == 1, "%s: the invalidation counted once (%llu)",
		       counter ? "counter" : "ranged", (unsigned long long)st.invalidations);
		s2_vm_destroy(vm);
	}

	vm = mkvm(&fh, 0);
	s2_vm_set_memslot(vm, 0, s2_gpa(0), 4 * M2, s2_hva(HVA0), 0);
	fh.race = race_start_end;
	s2_vm_get_stats(vm, &st);
	ret = s2_vm_fault(vm, s2_gpa(3 * PG), S2_ACC_READ, &mc, &fi);
	tap_ok(ret == -S2_EAGAIN && fi.retry_cause == S2_RETRY_SEQ && !mapped(vm, 3 * PG, NULL),
	       "seed 000: an invalidation between snapshot and lock: the sequence moved, retry");
	{
		struct s2_vm_stats st2;

		s2_vm_get_stats(vm, &st2);
		tap_ok(st2.retries[S2_RETRY_SEQ] - st.retries[S2_RETRY_SEQ] == 1 &&
		       st2.faults - st.faults == 1,
		       "seed 000: the retry counted under its cause (%llu)",
		       (unsigned long long)(st2.retries[S2_RETRY_SEQ] - st.retries[S2_RETRY_SEQ]));
	}
	fh.race = race_start;
	ret = s2_vm_fault(vm, s2_gpa(3 * PG), S2_ACC_READ, &mc, &fi);
	tap_ok(ret == -S2_EAGAIN && fi.retry_cause == S2_RETRY_RANGE,
	       "seed 000: an invalidation started but not ended: in progress, retry");
	s2_vm_mn_invalidate_range_start(vm, s2_hva(HVA0 + 64 * PG), s2_hva(HVA0 + 65 * PG), true);
	s2_vm_mn_invalidate_range_end(vm, s2_hva(HVA0 + 3 * PG), s2_hva(HVA0 + 4 * PG));
	ret = s2_vm_fault(vm, s2_gpa(3 * PG), S2_ACC_READ, &mc, &fi);
	tap_ok(ret == -S2_EAGAIN && fi.retry_cause == S2_RETRY_RANGE,
	       "two overlapping invalidations: the range is their union until both end");
	s2_vm_mn_invalidate_range_end(vm, s2_hva(HVA0 + 64 * PG), s2_hva(HVA0 + 65 * PG));
	tap_ok(s2_vm_fault(vm, s2_gpa(3 * PG), S2_ACC_READ, &mc, &fi) == 0 && fh.refs == 0,
	       "both ended: the fault maps; every frame reference was dropped");
	s2_vm_memcache_free(vm, &mc);
	s2_vm_destroy(vm);
}

/*
 * The in-progress range is by GPA: the guest images of the HVA range
 * through every slot it overlaps, computed at the start.  Slot 0 maps
 * GPA 16M at HVA0+2M, slot 1 GPA 0 at HVA0, slot 2 GPA 32M at HVA0+2M
 * again (an alias).
 */
static void test_invalidate_gpa(void)
{
	struct fake_host fh;
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	struct s2_fault_info fi;
	struct s2_vm_stats st;
	struct s2_vm *vm = mkvm(&fh, 0);
	uint64_t g0 = 8 * M2, g2 = 16 * M2;
	int ret;

	s2_vm_set_memslot(vm, 0, s2_gpa(g0), M2, s2_hva(HVA0 + M2), 0);
	s2_vm_set_memslot(vm, 1, s2_gpa(0), M2, s2_hva(HVA0), 0);
	s2_vm_mn_invalidate_range_start(vm, s2_hva(HVA0 + M2), s2_hva(HVA0 + M2 + PG), true);
	ret = s2_vm_fault(vm, s2_gpa(g0), S2_ACC_READ, &mc, &fi);
	tap_ok(ret == -S2_EAGAIN && fi.retry_cause == S2_RETRY_RANGE,
	       "by GPA: a fault on the slot's image of the HVA range retries");
	tap_ok(s2_vm_fault(vm, s2_gpa(M2 - PG), S2_ACC_READ, &mc, &fi) == 0 &&
	       s2_vm_fault(vm, s2_gpa(g0 + PG), S2_ACC_READ, &mc, &fi) == 0,
	       "by GPA: faults outside the image proceed (other slot, next page)");
	s2_vm_mn_invalidate_range_end(vm, s2_hva(HVA0 + M2), s2_hva(HVA0 + M2 + PG));
	tap_ok(s2_vm_fault(vm, s2_gpa(g0), S2_ACC_READ, &mc, &fi) == 0,
	       "by GPA: after the end the fault maps");

	s2_vm_mn_invalidate_range_start(vm, s2_hva(HVA0 + 6 * M2), s2_hva(HVA0 + 7 * M2), true);
	tap_ok(s2_vm_fault(vm, s2_gpa(PG), S2_ACC_READ, &mc, &fi) == 0 &&
	       s2_vm_fault(vm, s2_gpa(g0 + 2 * PG), S2_ACC_READ, &mc, &fi) == 0,
	       "by GPA: an invalidation no slot overlaps holds no fault back");
	s2_vm_mn_invalidate_range_end(vm, s2_hva(HVA0 + 6 * M2), s2_hva(HVA0 + 7 * M2));

	s2_vm_set_memslot(vm, 2, s2_gpa(g2), M2, s2_hva(HVA0 + M2), 0);
	s2_vm_mn_invalidate_range_start(vm, s2_hva(HVA0 + M2 + PG), s2_hva(HVA0 + M2 + 2 * PG),
					true);
	ret = s2_vm_fault(vm, s2_gpa(g2 + PG), S2_ACC_READ, &mc, &fi);
	tap_ok(ret == -S2_EAGAIN && fi.retry_cause == S2_RETRY_RANGE &&
	       s2_vm_fault(vm, s2_gpa(g0 + PG), S2_ACC_READ, &mc, &fi) == -S2_EAGAIN &&
	       !mapped(vm, g0 + PG, NULL),
	       "by GPA: two slots alias the HVA: both images are zapped and retry");
	s2_vm_mn_invalidate_range_end(vm, s2_hva(HVA0 + M2 + PG), s2_hva(HVA0 + M2 + 2 * PG));
	s2_vm_get_stats(vm, &st);
	tap_ok(st.spurious_retries == 0, "by GPA: no spurious retry counted (%llu)",
	       (unsigned long long)st.spurious_retries);
	s2_vm_memcache_free(vm, &mc);
	s2_vm_destroy(vm);
}

/* test_release's calls counted as finding the VM released: the fault that
 * backs off, the next fault, invalidate_range_start, clear_flush_young and
 * test_young (a second release and a memslot update are not handlers) */
#define AFTER_RELEASE_CALLS 5

static void test_release(void)
{
	struct fake_host fh;
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	struct s2_fault_info fi;
	struct s2_vm *vm = mkvm(&fh, 0);
	struct s2_vm_stats st;
	int ret;

	s2_vm_set_memslot(vm, 0, s2_gpa(0), 4 * M2, s2_hva(HVA0), 0);
	s2_vm_fault(vm, s2_gpa(0), S2_ACC_READ, &mc, NULL);
	fh.race = race_release;
	ret = s2_vm_fault(vm, s2_gpa(PG), S2_ACC_READ, &mc, &fi);
	tap_ok(ret == -S2_ENOENT && s2_vm_pgtable(vm) == NULL && fh.refs == 0,
	       "seed 000: release while a fault resolves: the fault sees no table, backs off");
	tap_ok(s2_vm_fault(vm, s2_gpa(PG), S2_ACC_READ, &mc, &fi) == -S2_ENOENT,
	       "fault after release: -ENOENT");
	tap_ok(s2_vm_mn_invalidate_range_start(vm, s2_hva(HVA0), s2_hva(HVA0 + PG), true) == 0,
	       "invalidate_range_start after release: returns cleanly");
	s2_vm_mn_invalidate_range_end(vm, s2_hva(HVA0), s2_hva(HVA0 + PG));
	tap_ok(!s2_vm_mn_clear_flush_young(vm, s2_hva(HVA0), s2_hva(HVA0 + M2)) &&
	       !s2_vm_mn_test_young(vm, s2_hva(HVA0), s2_hva(HVA0 + M2)),
	       "seed 001: aging after release returns 'not young' without a table");
	s2_vm_mn_release(vm);
	tap_ok(s2_vm_set_memslot(vm, 1, s2_gpa(8 * M2), M2, s2_hva(HVA0), 0) == -S2_ENOENT,
	       "memslot update after release: -ENOENT");
	s2_vm_get_stats(vm, &st);
	tap_ok(st.after_release == AFTER_RELEASE_CALLS && st.releases == 2,
	       "after-release calls counted (%llu)",
	       (unsigned long long)st.after_release);
	s2_vm_memcache_free(vm, &mc);
	s2_vm_destroy(vm);
}

static void test_age(void)
{
	struct fake_host fh;
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	struct s2_vm *vm = mkvm(&fh, 0);
	struct s2_hosted_stats a, b;
	struct s2_mapping m;

	s2_vm_set_memslot(vm, 0, s2_gpa(0), 4 * M2, s2_hva(HVA0), 0);
	s2_vm_fault(vm, s2_gpa(PG), S2_ACC_READ, &mc, NULL);
	tap_ok(s2_vm_mn_test_young(vm, s2_hva(HVA0), s2_hva(HVA0 + M2)),
	       "test_young: a fresh mapping is young");
	s2_hosted_get_stats(H, &a);
	tap_ok(s2_vm_mn_clear_flush_young(vm, s2_hva(HVA0), s2_hva(HVA0 + M2)),
	       "clear_flush_young: reports young");
	s2_hosted_get_stats(H, &b);
	tap_ok(b.tlbi_range + b.tlbi_ipa + b.tlbi_vm > a.tlbi_range + a.tlbi_ipa + a.tlbi_vm,
	       "clear_flush_young flushes the TLB (I9)");
	tap_ok(!s2_vm_mn_test_young(vm, s2_hva(HVA0), s2_hva(HVA0 + M2)) &&
	       mapped(vm, PG, &m) && !m.young,
	       "after clear_flush_young: old, mapping kept");
	s2_vm_fault(vm, s2_gpa(PG), S2_ACC_READ, &mc, NULL);
	tap_ok(mapped(vm, PG, &m) && m.young, "an access-flag fault makes it young again");
	s2_hosted_get_stats(H, &a);
	s2_vm_mn_clear_young(vm, s2_hva(HVA0), s2_hva(HVA0 + M2));
	s2_hosted_get_stats(H, &b);
	tap_ok(b.tlbi_range + b.tlbi_ipa + b.tlbi_vm == a.tlbi_range + a.tlbi_ipa + a.tlbi_vm &&
	       mapped(vm, PG, &m) && !m.young, "clear_young clears without flushing (as Linux)");
	s2_vm_memcache_free(vm, &mc);
	s2_vm_destroy(vm);
}

static void test_dirty_log(void)
{
	struct fake_host fh;
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	struct s2_vm *vm = mkvm(&fh, 0);
	struct s2_mapping m;
	uint64_t bm[16];
	int ret;

	fh.map_size = M2;
	s2_vm_set_memslot(vm, 0, s2_gpa(0), 2 * M2, s2_hva(HVA0), 0);
	s2_vm_fault(vm, s2_gpa(0), S2_ACC_WRITE, &mc, NULL);
	mapped(vm, 0, &m);
	tap_ok(m.size == M2 && (m.prot & S2_PROT_W), "before logging: a writable 2M block");
	tap_ok(s2_vm_get_dirty_log(vm, 0, bm, 16) == -S2_EINVAL, "harvest without logging: -EINVAL");
	s2_vm_set_memslot(vm, 0, s2_gpa(0), 2 * M2, s2_hva(HVA0), S2_MEM_DIRTY_LOG);
	mapped(vm, 0, &m);
	tap_ok(m.valid && !(m.prot & S2_PROT_W), "enabling logging write-protects the slot");
	s2_vm_fault(vm, s2_gpa(3 * PG), S2_ACC_WRITE, &mc, NULL);
	mapped(vm, 3 * PG, &m);
	tap_ok(m.size == PG && (m.prot & S2_PROT_W), "a write fault while logging maps one writable page");
	s2_vm_fault(vm, s2_gpa(5 * PG), S2_ACC_READ, &mc, NULL);
	mapped(vm, 5 * PG, &m);
	tap_ok(m.valid && !(m.prot & S2_PROT_W), "a read fault while logging maps read-only");
	tap_ok(s2_vm_get_dirty_log(vm, 0, bm, 1) == -S2_EINVAL, "harvest into a short buffer: -EINVAL");
	ret = s2_vm_get_dirty_log(vm, 0, bm, 16);
	tap_ok(ret == 0 && bm[0] == (1ULL << 3) && !bm[1],
	       "harvest reports exactly the written page");
	mapped(vm, 3 * PG, &m);
	tap_ok(!(m.prot & S2_PROT_W), "harvest write-protects it again");
	tap_ok(s2_vm_get_dirty_log(vm, 0, bm, 16) == 0 && !bm[0], "a second harvest is empty");
	s2_vm_fault(vm, s2_gpa(3 * PG), S2_ACC_WRITE, &mc, NULL);
	tap_ok(s2_vm_get_dirty_log(vm, 0, bm, 16) == 0 && bm[0] == (1ULL << 3),
	       "the next write faults and is reported again (I7)");
	s2_vm_set_memslot(vm, 0, s2_gpa(0), 2 * M2, s2_hva(HVA0), 0);
	tap_ok(s2_vm_get_dirty_log(vm, 0, bm, 16) == -S2_EINVAL, "logging off: bitmap gone");
	s2_vm_memcache_free(vm, &mc);
	s2_vm_destroy(vm);
}

/* S2_VM_EAGER_SPLIT: logging on splits blocks up front, keeping outputs. */
static void test_eager_split(void)
{
	struct fake_host fh;
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	struct s2_vm *vm = mkvm(&fh, S2_VM_EAGER_SPLIT);
	struct s2_vm_stats st0, st1;
	struct s2_mapping m;
	uint64_t bm[16];
	bool ok = true;

	fh.map_size = M2;
	s2_vm_set_memslot(vm, 0, s2_gpa(0), 2 * M2, s2_hva(HVA0), 0);
	s2_vm_fault(vm, s2_gpa(0), S2_ACC_WRITE, &mc, NULL);
	s2_vm_fault(vm, s2_gpa(M2), S2_ACC_READ, &mc, NULL);
	s2_vm_set_memslot(vm, 0, s2_gpa(0), 2 * M2, s2_hva(HVA0), S2_MEM_DIRTY_LOG);
	for (uint64_t a = 0; a < 2 * M2; a += PG) {
		mapped(vm, a, &m);
		ok = ok && m.valid && m.size == PG && !(m.prot & S2_PROT_W) &&
		     m.pa.v == fh.pa[a / PG];
	}
	tap_ok(ok, "eager split: every page of both blocks present, read-only, same frame");
	s2_vm_get_stats(vm, &st0);
	s2_vm_fault(vm, s2_gpa(3 * PG), S2_ACC_WRITE, &mc, NULL);
	s2_vm_get_stats(vm, &st1);
	mapped(vm, 3 * PG, &m);
	tap_ok((m.prot & S2_PROT_W) && st1.relaxes - st0.relaxes == 1 && mapped(vm, 4 * PG, NULL),
	       "eager split: a logged write is a permission relax, the neighbours stay");
	tap_ok(st1.dirty_pages - st0.dirty_pages == 1,
	       "eager split: the logged write counted in dirty_pages (%llu)",
	       (unsigned long long)(st1.dirty_pages - st0.dirty_pages));
	tap_ok(s2_vm_get_dirty_log(vm, 0, bm, 16) == 0 && bm[0] == (1ULL << 3),
	       "eager split: the write is reported");
	s2_vm_memcache_free(vm, &mc);
	s2_vm_destroy(vm);
}

/* A large invalidation takes the fast unmap: everything gone, few TLBIs. */
static void test_invalidate_fast(void)
{
	struct fake_host fh;
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	struct s2_vm *vm = mkvm(&fh, 0);
	struct s2_hosted_stats st0, st1;
	bool gone = true;

	s2_vm_set_memslot(vm, 0, s2_gpa(0), 4 * M2, s2_hva(HVA0), 0);
	for (uint64_t a = 0; a < 4 * M2; a += PG)
		s2_vm_fault(vm, s2_gpa(a), S2_ACC_READ, &mc, NULL);
	s2_hosted_get_stats(H, &st0);
	s2_vm_mn_invalidate_range_start(vm, s2_hva(HVA0 + PG), s2_hva(HVA0 + 4 * M2), true);
	s2_hosted_get_stats(H, &st1);
	for (uint64_t a = PG; a < 4 * M2; a += PG)
		gone = gone && !mapped(vm, a, NULL);
	tap_ok(gone && mapped(vm, 0, NULL),
	       "invalidate of 8 MiB less a page: exactly that range unmapped");
	tap_ok(st1.tlbi_ipa + st1.tlbi_range + st1.tlbi_vm -
	       (st0.tlbi_ipa + st0.tlbi_range + st0.tlbi_vm) == 1 &&
	       st1.deferred - st0.deferred == 3,
	       "... one TLBI, three whole tables detached (%llu deferred)",
	       (unsigned long long)(st1.deferred - st0.deferred));
	s2_vm_mn_invalidate_range_end(vm, s2_hva(HVA0 + PG), s2_hva(HVA0 + 4 * M2));
	s2_vm_memcache_free(vm, &mc);
	s2_vm_destroy(vm);
}

int main(void)
{
	struct s2_hosted_stats st;

	H = s2_hosted_new();
	test_memslots();
	test_fault_basics();
	test_blocks();
	test_invalidate();
	test_invalidate_gpa();
	test_release();
	test_age();
	test_dirty_log();
	test_eager_split();
	test_invalidate_fast();
	s2_hosted_get_stats(H, &st);
	tap_ok(st.pages_live == 0, "no table page leaked across all VMs (%llu live)",
	       (unsigned long long)st.pages_live);
	s2_hosted_free(H);
	return tap_done();
}
