/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Allocation-failure injection: for every operation that allocates, fail
 * its 1st, 2nd, ... N-th allocation (s2_hosted_fail_alloc) until a run
 * meets no injected failure, and check each time that
 *  - the call returns -S2_ENOMEM (or succeeds when the failed allocation
 *    was not needed, e.g. a cache already held enough pages);
 *  - the table still agrees with the reference model (tests/pgt_model.h),
 *    unchanged where the API promises it (map, memslot updates of every
 *    kind: the slot set and the stage-2 both, faults),
 *    and for split exactly as its contract says (blocks split so far stay
 *    split, every output and attribute kept);
 *  - nothing leaks: table pages back to zero after destroy (hosted
 *    pages_live) and, under make leak-test, every malloc'd object.
 * The engine runs on every format of tests/pgt_common.h, the coherence
 * core on the arm64 4K format with a small fake host.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <s2mmu/mmu.h>
#include "tap.h"
#include "pgt_common.h"
#include "pgt_model.h"

#define WINDOW_SHIFT	31

static struct s2_hosted *H;
static struct pm_page *MP;
static unsigned long sites_total;

static uint64_t failed_count(void)
{
	struct s2_hosted_stats st;

	s2_hosted_get_stats(H, &st);
	return st.alloc_failed;
}

/* Table pages plus everything else the library holds from the platform
 * (roots, the VM, slot arrays, bitmaps, locks): what a leak leaves. */
static uint64_t pages_live(void)
{
	struct s2_hosted_stats st;

	s2_hosted_get_stats(H, &st);
	return st.pages_live + (st.exact_alloc - st.exact_free) +
	       (st.objects_alloc - st.objects_free);
}

/* Arm the N-th allocation from now; report whether it was reached. */
static void arm(unsigned long n)
{
	s2_hosted_fail_alloc(H, n, false);
}

static bool disarm(uint64_t failed_before)
{
	s2_hosted_fail_alloc(H, 0, false);
	return failed_count() != failed_before;
}

/* ------------------------------------------------------------- engine */

struct eng {
	struct s2_pgtable pgt;
	struct s2_memcache mc;
	struct pmodel m;
};

static void eng_setup(struct eng *e, const struct tfmt *f)
{
	memset(e, 0, sizeof(*e));
	if (tfmt_init(&e->pgt, H, f, 0))
		TAP_BAIL("init %s", f->name);
	e->m.pgt = &e->pgt;
	e->m.ps = e->pgt.page_shift;
	e->m.base = 0;
	/* every entry of the model array: 2 GiB of 4K pages, 32 GiB of 64K */
	e->m.npages = 1ULL << (WINDOW_SHIFT - 12);
	e->m.p = MP;
	pm_reset(&e->m, 0, e->m.npages);
}

/* Without injection: a few mappings of each size for ops to meet. */
static void eng_populate(struct eng *e)
{
	uint64_t s2 = pm_span(&e->m, 2), page = 1ULL << e->m.ps;
	static const struct { uint64_t ipa_blocks, pages, pa; unsigned prot; } pre[] = {
		{ 0, 3, 0x10000000, S2_PROT_R | S2_PROT_W },
		{ 2, 0, 0x40000000, S2_PROT_R },	/* pages 0: one block */
		{ 5, 17, 0x7000000, S2_PROT_R | S2_PROT_X },
	};

	for (size_t i = 0; i < S2_ARRAY_SIZE(pre); i++) {
		uint64_t ipa = pre[i].ipa_blocks * s2;
		uint64_t size = pre[i].pages ? pre[i].pages * page : s2;
		uint64_t pa = pre[i].pa & ~(s2 - 1);

		s2_memcache_topup(&e->pgt, &e->mc, s2_pgt_pages_needed(&e->pgt, s2_gpa(ipa), size));
		if (s2_pgt_map(&e->pgt, s2_gpa(ipa), size, s2_hpa(pa), pre[i].prot, 0, &e->mc, 0))
			TAP_BAIL("populate");
		pm_map(&e->m, ipa, size, pa, pre[i].prot, ~0ULL);
	}
	s2_memcache_free(&e->pgt, &e->mc);
}

static bool eng_agrees(struct eng *e, uint64_t lo, uint64_t hi)
{
	struct s2_mapping got;

	for (uint64_t i = pm_idx(&e->m, lo); i < pm_idx(&e->m, hi); i++)
		if (!pm_check(&e->m, i, &got))
			return false;
	return true;
}

/* Destroy and check no table page is left; false on a leak. */
static bool eng_teardown(struct eng *e)
{
	s2_pgt_destroy(&e->pgt);
	s2_memcache_free(&e->pgt, &e->mc);
	return pages_live() == 0;
}

static void test_engine_init(const struct tfmt *f)
{
	unsigned long n, sites = 0, bad = 0;

	for (n = 1;; n++) {
		struct s2_pgtable pgt;
		uint64_t before = failed_count();
		int ret;

		arm(n);
		ret = tfmt_init(&pgt, H, f, 0);
		if (!disarm(before)) {
			if (ret)
				bad++;
			else
				s2_pgt_destroy(&pgt);
			break;
		}
		sites++;
		if (ret != -S2_ENOMEM || pages_live() != 0)
			bad++;
	}
	sites_total += sites;
	tap_ok(bad == 0 && sites == 1, "%s: init: %lu allocation site(s), -ENOMEM, no leak",
	       f->name, sites);
}

/*
 * A map through the caller's top-up: the cache starts empty or with one
 * page, the N-th page of the top-up fails, the map is still attempted
 * with what the cache holds (a caller ignoring the top-up's error) and
 * must either succeed (enough tables existed) or change nothing.
 */
static void test_engine_map(const struct tfmt *f, unsigned start_pages)
{
	struct eng e;
	uint64_t s2, page, ipa, size;
	unsigned long n, sites = 0, bad = 0, enomem = 0;

	for (n = 1;; n++) {
		uint64_t before;
		int tret, ret;

		eng_setup(&e, f);
		eng_populate(&e);
		s2 = pm_span(&e.m, 2);
		page = 1ULL << e.m.ps;
		/* across a block boundary, in fresh tables and existing ones */
		ipa = 7 * s2 - 5 * page;
		size = s2 + 9 * page;
		s2_memcache_topup(&e.pgt, &e.mc, start_pages);
		before = failed_count();
		arm(n);
		tret = s2_memcache_topup(&e.pgt, &e.mc,
					 s2_pgt_pages_needed(&e.pgt, s2_gpa(ipa), size));
		if (!disarm(before)) {
			ret = s2_pgt_map(&e.pgt, s2_gpa(ipa), size, s2_hpa(ipa + (1ULL << 32)),
					 S2_PROT_R | S2_PROT_W, page, &e.mc, 0);
			pm_map(&e.m, ipa, size, ipa + (1ULL << 32), S2_PROT_R | S2_PROT_W, page);
			if (tret || ret || !eng_agrees(&e, 0, 9 * s2) || !eng_teardown(&e))
				bad++;
			break;
		}
		sites++;
		ret = s2_pgt_map(&e.pgt, s2_gpa(ipa), size, s2_hpa(ipa + (1ULL << 32)),
				 S2_PROT_R | S2_PROT_W, page, &e.mc, 0);
		if (ret == 0)
			pm_map(&e.m, ipa, size, ipa + (1ULL << 32), S2_PROT_R | S2_PROT_W, page);
		else
			enomem++;
		if (tret != -S2_ENOMEM || (ret && ret != -S2_ENOMEM) ||
		    !eng_agrees(&e, 0, 9 * s2) || refcheck(&e.pgt).bad || !eng_teardown(&e)) {
			tap_diag("%s: map, allocation %lu failed: topup %d map %d", f->name, n,
				 tret, ret);
			bad++;
		}
	}
	sites_total += sites;
	tap_ok(bad == 0 && sites > 0 && enomem > 0,
	       "%s: map (cache starts with %u): %lu top-up allocation sites, %lu map -ENOMEM "
	       "with nothing changed, no leak", f->name, start_pages, sites, enomem);
}

/*
 * Split a 2-block range down to pages with the N-th top-up allocation
 * failing: -ENOMEM, every page still maps its output with its attributes
 * at its old level or deeper, reference counts exact, no leak.
 */
static void test_engine_split(const struct tfmt *f)
{
	struct eng e;
	unsigned long n, sites = 0, bad = 0;

	for (n = 1;; n++) {
		uint64_t before, s2, ipa, size, page;
		unsigned long need;
		int tret, ret;
		bool ok = true;

		eng_setup(&e, f);
		eng_populate(&e);
		s2 = pm_span(&e.m, 2);
		page = 1ULL << e.m.ps;
		/* a second block next to the first */
		s2_memcache_topup(&e.pgt, &e.mc, 4);
		s2_pgt_map(&e.pgt, s2_gpa(3 * s2), s2, s2_hpa(0x80000000ULL & ~(s2 - 1)),
			   S2_PROT_R | S2_PROT_W, 0, &e.mc, 0);
		pm_map(&e.m, 3 * s2, s2, 0x80000000ULL & ~(s2 - 1), S2_PROT_R | S2_PROT_W, ~0ULL);
		s2_memcache_free(&e.pgt, &e.mc);
		ipa = 2 * s2;
		size = 2 * s2;
		need = 2;
		before = failed_count();
		arm(n);
		tret = s2_memcache_topup(&e.pgt, &e.mc, need);
		ret = s2_pgt_split(&e.pgt, s2_gpa(ipa), size, page, &e.mc, 0);
		if (!disarm(before)) {
			pm_split(&e.m, ipa, size, page);
			if (tret || ret || !eng_agrees(&e, 0, 9 * s2) || !eng_teardown(&e))
				bad++;
			break;
		}
		sites++;
		if (tret != -S2_ENOMEM || ret != -S2_ENOMEM)
			ok = false;
		for (uint64_t i = pm_idx(&e.m, ipa); ok && i < pm_idx(&e.m, ipa + size); i++) {
			struct pm_page *p = &e.m.p[i];
			struct s2_mapping got;
			uint64_t a = i << e.m.ps;

			s2_pgt_lookup(&e.pgt, s2_gpa(a), &got);
			if (!got.valid || got.level < p->level || got.prot != p->prot ||
			    got.pa.v + (a - got.ipa.v) != p->pa)
				ok = false;
			p->level = (int8_t)got.level;
		}
		if (!ok || !eng_agrees(&e, 0, 9 * s2) || refcheck(&e.pgt).bad || !eng_teardown(&e)) {
			tap_diag("%s: split, allocation %lu failed: topup %d split %d", f->name, n,
				 tret, ret);
			bad++;
		}
	}
	sites_total += sites;
	tap_ok(bad == 0 && sites == 2, "%s: split: %lu top-up allocation sites, -ENOMEM, "
	       "outputs kept, no leak", f->name, sites);
}

/* --------------------------------------------------------- coherence core */

#define PG	4096ULL
#define M2	(2ULL << 20)
#define HVA0	0x7f0000000000ULL
#define HPAGES	2048

struct fake_host {
	long refs;
};

static int fh_resolve(void *host, s2_hva_t hva, bool write, struct s2_resolved *r)
{
	struct fake_host *fh = host;
	uint64_t i = (hva.v - HVA0) / PG;

	(void)write;
	if (hva.v < HVA0 || i >= HPAGES)
		return -S2_EFAULT;
	r->pa = s2_hpa(0x40000000ULL + i * PG);
	r->writable = true;
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
	(void)host;
	(void)hva;
	return M2;
}

static const struct s2_host_ops fh_ops = { fh_resolve, fh_put, fh_size, NULL };
static struct fake_host FH;

static struct s2_vm_cfg vm_cfg(void)
{
	return (struct s2_vm_cfg){
		.pgt = { S2_FMT_ARM64, 12, 40, 48, 0, s2_hosted_platform(), H },
		.host = &fh_ops, .host_ctx = &FH, .max_slots = 8,
	};
}

static struct s2_vm *vm_new(void)
{
	struct s2_vm_cfg cfg = vm_cfg();
	struct s2_vm *vm;

	if (s2_vm_create(&cfg, &vm))
		TAP_BAIL("vm create");
	return vm;
}

static bool vm_gone(struct s2_vm *vm)
{
	s2_vm_destroy(vm);
	return pages_live() == 0 && FH.refs == 0;
}

static void test_vm_create(void)
{
	unsigned long n, sites = 0, bad = 0;

	for (n = 1;; n++) {
		struct s2_vm_cfg cfg = vm_cfg();
		struct s2_vm *vm = NULL;
		uint64_t before = failed_count();
		int ret;

		arm(n);
		ret = s2_vm_create(&cfg, &vm);
		if (!disarm(before)) {
			if (ret || !vm_gone(vm))
				bad++;
			break;
		}
		sites++;
		if (ret != -S2_ENOMEM || pages_live() != 0)
			bad++;
		if (!ret)
			s2_vm_destroy(vm);
	}
	sites_total += sites;
	tap_ok(bad == 0 && sites >= 4, "vm create: %lu allocation sites (vm, root, locks, "
	       "slot array), -ENOMEM, no leak", sites);
}

static bool slot_flags(struct s2_vm *vm, uint64_t gpa, unsigned *flags)
{
	return s2_vm_gpa_to_hva(vm, s2_gpa(gpa), NULL, flags);
}

/* Map a few pages of [gpa, gpa+size) through faults. */
static void fault_some(struct s2_vm *vm, uint64_t gpa, uint64_t size)
{
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	struct s2_pgtable geom = *s2_vm_pgtable(vm);

	for (uint64_t a = gpa; a < gpa + size; a += size / 4)
		s2_vm_fault(vm, s2_gpa(a), S2_ACC_READ, &mc, NULL);
	s2_memcache_free(&geom, &mc);
}

/* The stage-2 view of [gpa, gpa+size), for "unchanged" checks. */
static uint64_t table_hash(struct s2_vm *vm, uint64_t gpa, uint64_t size)
{
	struct s2_pgtable *pgt = s2_vm_pgtable(vm);
	uint64_t h = 0;

	for (uint64_t a = gpa; a < gpa + size; a += PG) {
		struct s2_mapping m;

		s2_pgt_lookup(pgt, s2_gpa(a), &m);
		h = h * 31 + (m.valid ? m.pa.v + m.prot + m.size : 7);
	}
	return h;
}

/* What the memslot set looks like from outside, probed every 1 MiB. */
struct slot_view {
	bool present[32];
	uint64_t hva[32];
	unsigned flags[32];
};

static void slot_view(struct s2_vm *vm, struct slot_view *v)
{
	memset(v, 0, sizeof(*v));
	for (unsigned i = 0; i < 32; i++) {
		s2_hva_t hva = s2_hva(0);

		v->present[i] = s2_vm_gpa_to_hva(vm, s2_gpa(i * (M2 / 2)), &hva, &v->flags[i]);
		v->hva[i] = hva.v;
	}
}

enum mslot_kind {
	MS_CREATE, MS_CREATE_LOG, MS_DELETE, MS_MOVE, MS_LOG_ON, MS_LOG_OFF, MS_RDONLY,
	MS_LOG_ON_SPLIT, MS_NR_KINDS
};

static const char *const mslot_names[MS_NR_KINDS] = {
	"memslot create", "memslot create (dirty-logged)", "memslot delete", "memslot move",
	"dirty-log enable", "dirty-log disable", "read-only enable",
	"dirty-log enable (eager split)",
};

/* Apply update @k to the VM of test_memslot (slot 1 at 4M, slot 3 at 24M). */
static int mslot_update(struct s2_vm *vm, enum mslot_kind k)
{
	switch (k) {
	case MS_CREATE:
		return s2_vm_set_memslot(vm, 2, s2_gpa(0), 2 * M2, s2_hva(HVA0), 0);
	case MS_CREATE_LOG:
		return s2_vm_set_memslot(vm, 2, s2_gpa(0), 2 * M2, s2_hva(HVA0), S2_MEM_DIRTY_LOG);
	case MS_DELETE:
		return s2_vm_delete_memslot(vm, 1);
	case MS_MOVE:
		return s2_vm_set_memslot(vm, 1, s2_gpa(12 * M2), 4 * M2, s2_hva(HVA0), 0);
	case MS_LOG_ON:
	case MS_LOG_ON_SPLIT:
	case MS_LOG_OFF:
		return s2_vm_set_memslot(vm, 1, s2_gpa(4 * M2), 4 * M2, s2_hva(HVA0),
					 k == MS_LOG_OFF ? 0 : S2_MEM_DIRTY_LOG);
	case MS_RDONLY:
		return s2_vm_set_memslot(vm, 1, s2_gpa(4 * M2), 4 * M2, s2_hva(HVA0),
					 S2_MEM_READONLY);
	default:
		return -S2_EINVAL;
	}
}

/* After a successful update: is it visible? */
static bool mslot_applied(struct s2_vm *vm, enum mslot_kind k)
{
	unsigned fl = 0;

	switch (k) {
	case MS_CREATE:
	case MS_CREATE_LOG:
		return slot_flags(vm, 0, &fl) && fl == (k == MS_CREATE ? 0 : S2_MEM_DIRTY_LOG);
	case MS_DELETE:
		return !slot_flags(vm, 4 * M2, &fl);
	case MS_MOVE:
		return !slot_flags(vm, 4 * M2, &fl) && slot_flags(vm, 12 * M2, &fl);
	case MS_LOG_ON:
	case MS_LOG_ON_SPLIT:
		return slot_flags(vm, 4 * M2, &fl) && fl == S2_MEM_DIRTY_LOG;
	case MS_LOG_OFF:
		return slot_flags(vm, 4 * M2, &fl) && fl == 0;
	case MS_RDONLY:
		return slot_flags(vm, 4 * M2, &fl) && fl == S2_MEM_READONLY;
	default:
		return false;
	}
}

/*
 * Every memslot update is prepare (allocate) then commit: with its N-th
 * allocation failing it returns -ENOMEM with nothing changed, neither the
 * memslot set (every slot where it was, with its flags, and mappable: a
 * slot left INVALID looks present to gpa_to_hva but refuses faults) nor
 * the stage-2 table (no slot zapped, write-protected or split for an update
 * that did not happen).  Allocations after the commit (eager split) are
 * best effort: the update then succeeds.
 */
static void test_memslot(enum mslot_kind k)
{
	unsigned long n, sites = 0, bad = 0;

	for (n = 1;; n++) {
		struct s2_vm_cfg cfg = vm_cfg();
		struct s2_memcache mc = S2_MEMCACHE_INIT;
		struct s2_pgtable geom;
		struct slot_view v0, v1;
		struct s2_vm *vm;
		uint64_t before, h0;
		int ret, f;

		if (k == MS_LOG_ON_SPLIT)
			cfg.flags |= S2_VM_EAGER_SPLIT;
		if (s2_vm_create(&cfg, &vm))
			TAP_BAIL("vm create");
		geom = *s2_vm_pgtable(vm);
		if (s2_vm_set_memslot(vm, 1, s2_gpa(4 * M2), 4 * M2, s2_hva(HVA0),
				      k == MS_LOG_OFF ? S2_MEM_DIRTY_LOG : 0) ||
		    s2_vm_set_memslot(vm, 3, s2_gpa(24 * M2), M2, s2_hva(HVA0 + 4 * M2), 0))
			TAP_BAIL("memslot setup");
		fault_some(vm, 4 * M2, 4 * M2);
		fault_some(vm, 24 * M2, M2);
		slot_view(vm, &v0);
		h0 = table_hash(vm, 0, 32 * M2);
		before = failed_count();
		arm(n);
		ret = mslot_update(vm, k);
		if (!disarm(before)) {
			if (ret || !mslot_applied(vm, k) || !vm_gone(vm))
				bad++;
			break;
		}
		sites++;
		if (ret == 0) {
			/* the failed allocation was best effort, after the commit */
			if (!mslot_applied(vm, k)) {
				tap_diag("%s: allocation %lu failed: 0 but not applied",
					 mslot_names[k], n);
				bad++;
			}
			if (!vm_gone(vm))
				bad++;
			continue;
		}
		slot_view(vm, &v1);
		if (ret != -S2_ENOMEM || memcmp(&v0, &v1, sizeof(v0))) {
			tap_diag("%s: allocation %lu failed: returned %d, slots %s",
				 mslot_names[k], n, ret,
				 memcmp(&v0, &v1, sizeof(v0)) ? "changed" : "kept");
			bad++;
		}
		if (table_hash(vm, 0, 32 * M2) != h0) {
			tap_diag("%s: allocation %lu failed: stage-2 changed", mslot_names[k], n);
			bad++;
		}
		/* still mappable: not left INVALID (KVM_MEMSLOT_INVALID) */
		f = s2_vm_fault(vm, s2_gpa(4 * M2 + 3 * PG), S2_ACC_READ, &mc, NULL);
		if (f) {
			tap_diag("%s: allocation %lu failed: slot 1 faults %d afterwards",
				 mslot_names[k], n, f);
			bad++;
		}
		s2_memcache_free(&geom, &mc);
		if (!vm_gone(vm))
			bad++;
	}
	sites_total += sites;
	tap_ok(bad == 0 && sites > 0, "%s: %lu allocation sites, -ENOMEM with the memslot "
	       "set and stage-2 unchanged, no leak", mslot_names[k], sites);
}

static void test_fault(void)
{
	unsigned long n, sites = 0, bad = 0;

	for (n = 1;; n++) {
		struct s2_vm *vm = vm_new();
		struct s2_memcache mc = S2_MEMCACHE_INIT;
		struct s2_pgtable geom = *s2_vm_pgtable(vm);
		uint64_t before;
		int ret;

		s2_vm_set_memslot(vm, 0, s2_gpa(0), 4 * M2, s2_hva(HVA0), 0);
		before = failed_count();
		arm(n);
		ret = s2_vm_fault(vm, s2_gpa(M2 + 5 * PG), S2_ACC_WRITE, &mc, NULL);
		if (!disarm(before)) {
			if (ret)
				bad++;
			s2_memcache_free(&geom, &mc);
			if (!vm_gone(vm))
				bad++;
			break;
		}
		sites++;
		if (ret != -S2_ENOMEM || table_hash(vm, 0, 4 * M2) != table_hash(vm, 8 * M2, 4 * M2))
			bad++;
		s2_memcache_free(&geom, &mc);
		if (!vm_gone(vm))
			bad++;
	}
	sites_total += sites;
	tap_ok(bad == 0 && sites > 0, "fault (empty page cache): %lu allocation sites, "
	       "-ENOMEM, nothing mapped, no frame reference kept, no leak", sites);
}

int main(void)
{
	H = s2_hosted_new();
	MP = malloc(((size_t)1 << (WINDOW_SHIFT - 12)) * sizeof(*MP));
	if (!H || !MP)
		TAP_BAIL("out of memory");
	for (size_t i = 0; i < NR_TEST_FORMATS; i++) {
		test_engine_init(&test_formats[i]);
		test_engine_map(&test_formats[i], 0);
		test_engine_map(&test_formats[i], 1);
		test_engine_split(&test_formats[i]);
	}
	test_vm_create();
	for (int k = 0; k < MS_NR_KINDS; k++)
		test_memslot((enum mslot_kind)k);
	test_fault();
	tap_diag("allocation sites covered: %lu", sites_total);
	free(MP);
	s2_hosted_free(H);
	return tap_done();
}
