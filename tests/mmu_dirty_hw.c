/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Hardware dirty logging (S2_MEM_DIRTY_HW, mmu.h): the API's semantics
 * and bad input on the hosted platform, on arm64 (DBM under HD) and EPT
 * (D), the hardware's write played by s2_pte_hw_update on the live leaf;
 * then I7 with the machine model's vCPUs and its oracle, single-stepped
 * and in `s2mmu run`'s scenario.
 */
#include <string.h>

#include <s2mmu/mmu.h>
#include <s2mmu/hosted.h>
#include "tap.h"
#include "tests/flat_host.h"
#include "sim/machine/machine.h"

#define NPG	8

static struct s2_hosted *H;
static const char *fmt;

static uint64_t tlbi_ops(void)
{
	struct s2_hosted_stats st;

	s2_hosted_get_stats(H, &st);
	return st.tlbi_ipa + st.tlbi_range + st.tlbi_vm;
}

static struct s2_vm *mkvm(enum s2_format_id f, unsigned pgt_flags)
{
	struct s2_vm_cfg cfg = {
		.pgt = { f, 12, f == S2_FMT_EPT ? 48 : 40, 48, pgt_flags, s2_hosted_platform(), H },
		.host = &flat_ops, .max_slots = 4,
	};
	struct s2_vm *vm;

	if (s2_vm_create(&cfg, &vm))
		TAP_BAIL("vm");
	return vm;
}

static int access(struct s2_vm *vm, uint64_t gpa, unsigned acc)
{
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	int ret;

	do
		ret = s2_vm_fault(vm, s2_gpa(gpa), acc, &mc, NULL);
	while (ret == -S2_EAGAIN);
	s2_vm_memcache_free(vm, &mc);
	return ret;
}

static struct s2_mapping leaf(struct s2_vm *vm, uint64_t gpa)
{
	struct s2_mapping m;

	if (s2_pgt_lookup(s2_vm_pgtable(vm), s2_gpa(gpa), &m))
		m.valid = false;
	return m;
}

/* The hardware's write: the atomic update of the leaf a walk would make
 * (DBM sets S2AP[1], EPT sets D), on the live entry. */
static int hw_write_visit(struct s2_walk_ctx *c, unsigned visit)
{
	uint64_t old = c->old, upd = s2_pte_hw_update(c->pgt, old, c->level, S2_HW_SET_DIRTY);

	(void)visit;
	if (!s2_pte_valid(c->pgt, old, c->level) || upd == old)
		return 0;
	*(int *)c->arg += __atomic_compare_exchange_n(c->ptep, &old, upd, false,
						      __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	return 0;
}

static int hw_write(struct s2_vm *vm, uint64_t gpa)
{
	int n = 0;

	s2_pgt_walk(s2_vm_pgtable(vm), s2_gpa(gpa), PG, hw_write_visit, &n, S2_WALK_LEAF);
	return n;
}

static uint64_t harvest(struct s2_vm *vm, unsigned id)
{
	uint64_t bm[2] = { ~0ULL, ~0ULL };

	if (s2_vm_get_dirty_log(vm, id, bm, 2) || bm[1])
		return ~0ULL;
	return bm[0];
}

/* Writable-clean: the hardware may record a write, and none is recorded. */
static bool clean(const struct s2_mapping *m, bool arm)
{
	return m->valid && !m->dirty && (arm ? m->hw_dirty_ok : (m->prot & S2_PROT_W) != 0);
}

/* ------------------------------------------------------------ tests */

static void test_bad_input(void)
{
	struct s2_vm *vm = mkvm(S2_FMT_ARM64, 0), *ok = mkvm(S2_FMT_ARM64, S2_PGT_HW_DBM);
	struct s2_pgtable *pgt = s2_vm_pgtable(ok);
	uint64_t bm[1];
	s2_hva_t hva;

	tap_ok(s2_vm_set_memslot(vm, 0, s2_gpa(0), NPG * PG, s2_hva(HVA0),
				 S2_MEM_DIRTY_LOG | S2_MEM_DIRTY_HW) == -S2_EINVAL &&
	       !s2_vm_gpa_to_hva(vm, s2_gpa(0), &hva, NULL),
	       "arm64 without S2_PGT_HW_DBM: -EINVAL, no slot made");
	tap_ok(s2_vm_set_memslot(ok, 0, s2_gpa(0), NPG * PG, s2_hva(HVA0),
				 S2_MEM_DIRTY_HW) == -S2_EINVAL &&
	       !s2_vm_gpa_to_hva(ok, s2_gpa(0), &hva, NULL),
	       "S2_MEM_DIRTY_HW without S2_MEM_DIRTY_LOG: -EINVAL, no slot made");
	tap_ok(s2_vm_set_memslot(ok, 0, s2_gpa(0), NPG * PG, s2_hva(HVA0),
				 S2_MEM_DIRTY_LOG | S2_MEM_DIRTY_HW | S2_MEM_READONLY) == -S2_EINVAL,
	       "read-only with hardware logging: -EINVAL");
	/* a live slot logging by write-protect keeps its mode on refusal */
	if (s2_vm_set_memslot(vm, 0, s2_gpa(0), NPG * PG, s2_hva(HVA0), S2_MEM_DIRTY_LOG))
		TAP_BAIL("slot");
	access(vm, 0, S2_ACC_WRITE);
	tap_ok(s2_vm_set_memslot(vm, 0, s2_gpa(0), NPG * PG, s2_hva(HVA0),
				 S2_MEM_DIRTY_LOG | S2_MEM_DIRTY_HW) == -S2_EINVAL &&
	       harvest(vm, 0) == 1 && !(leaf(vm, 0).prot & S2_PROT_W),
	       "switch to hardware mode refused: the log and the write-protect kept");
	tap_ok(s2_pgt_test_clear_dirty(s2_vm_pgtable(vm), s2_gpa(0), PG, bm, s2_gpa(0), 0) ==
	       -S2_EINVAL, "test_clear_dirty on a table without hardware dirty state: -EINVAL");
	tap_ok(s2_pgt_test_clear_dirty(pgt, s2_gpa(0), PG, bm, s2_gpa(0), 0x80) == -S2_EINVAL &&
	       s2_pgt_test_clear_dirty(pgt, s2_gpa(0), PG, bm, s2_gpa(PG), 0) == -S2_EINVAL &&
	       s2_pgt_test_clear_dirty(pgt, s2_gpa(PG), PG, bm, s2_gpa(1), 0) == -S2_EINVAL &&
	       s2_pgt_test_clear_dirty(pgt, s2_gpa(1), PG, bm, s2_gpa(0), 0) == -S2_EINVAL &&
	       s2_pgt_test_clear_dirty(pgt, s2_gpa(0), 0, bm, s2_gpa(0), 0) == -S2_EINVAL &&
	       s2_pgt_test_clear_dirty(NULL, s2_gpa(0), PG, bm, s2_gpa(0), 0) == -S2_EINVAL,
	       "test_clear_dirty: unknown flag, base above the range, misaligned base, "
	       "range or size, no table: -EINVAL");
	tap_ok(s2_pgt_test_clear_dirty(pgt, s2_gpa(1ULL << 40), PG, bm, s2_gpa(0), 0) ==
	       -S2_ERANGE, "test_clear_dirty beyond the IPA size: -ERANGE");
	tap_ok(s2_pgt_map(pgt, s2_gpa(0), PG, s2_hpa(PA0), S2_PROT_R | S2_PROT_CLEAN, 0,
			  &(struct s2_memcache)S2_MEMCACHE_INIT, 0) == -S2_EINVAL,
	       "map: S2_PROT_CLEAN without S2_PROT_W: -EINVAL");
	s2_vm_destroy(vm);
	s2_vm_destroy(ok);
}

static void test_semantics(enum s2_format_id f)
{
	bool arm = f == S2_FMT_ARM64;
	struct s2_vm *vm = mkvm(f, arm ? S2_PGT_HW_DBM : S2_PGT_EPT_AD);
	struct s2_mapping m;
	uint64_t t0, bits;

	fmt = arm ? "arm64" : "ept";
	/* a writable leaf from before the log: enabling cleans it */
	if (s2_vm_set_memslot(vm, 0, s2_gpa(0), NPG * PG, s2_hva(HVA0), 0) ||
	    access(vm, 5 * PG, S2_ACC_WRITE))
		TAP_BAIL("slot");
	tap_ok(s2_vm_set_memslot(vm, 0, s2_gpa(0), NPG * PG, s2_hva(HVA0),
				 S2_MEM_DIRTY_LOG | S2_MEM_DIRTY_HW) == 0 &&
	       clean((m = leaf(vm, 5 * PG), &m), arm),
	       "%s: enable makes a writable leaf writable-clean", fmt);

	tap_ok(access(vm, 0, S2_ACC_READ) == 0 && clean((m = leaf(vm, 0), &m), arm),
	       "%s: a read fault maps the page writable-clean", fmt);
	tap_ok(harvest(vm, 0) == 0, "%s: reads and the enable mark nothing", fmt);

	tap_ok(hw_write(vm, 0) == 1 && leaf(vm, 0).dirty, "%s: the hardware's write makes "
	       "the leaf dirty with no fault", fmt);
	t0 = tlbi_ops();
	bits = harvest(vm, 0);
	tap_ok(bits == 1 && clean((m = leaf(vm, 0), &m), arm) && tlbi_ops() > t0,
	       "%s: harvest reports exactly the written page, cleans it, invalidates "
	       "the TLB (bits %#llx)", fmt, (unsigned long long)bits);
	t0 = tlbi_ops();
	tap_ok(harvest(vm, 0) == 0 && tlbi_ops() == t0,
	       "%s: nothing written since: nothing reported, nothing invalidated", fmt);
	tap_ok(hw_write(vm, 0) == 1 && harvest(vm, 0) == 1,
	       "%s: the next write records itself again", fmt);

	tap_ok(access(vm, PG, S2_ACC_WRITE) == 0 && harvest(vm, 0) == 2 &&
	       clean((m = leaf(vm, PG), &m), arm),
	       "%s: a write fault is reported, and the page left writable-clean", fmt);
	tap_ok(access(vm, PG, S2_ACC_READ) == 0 && harvest(vm, 0) == 0,
	       "%s: a read fault on a writable-clean leaf does not make it dirty", fmt);

	/* an invalidation of a written page: its dirty state is not lost */
	access(vm, 2 * PG, S2_ACC_READ);
	hw_write(vm, 2 * PG);
	s2_vm_mn_invalidate_range_start(vm, s2_hva(HVA0 + 2 * PG), s2_hva(HVA0 + 3 * PG), true);
	s2_vm_mn_invalidate_range_end(vm, s2_hva(HVA0 + 2 * PG), s2_hva(HVA0 + 3 * PG));
	tap_ok(!leaf(vm, 2 * PG).valid && harvest(vm, 0) == 4,
	       "%s: a written page zapped by the host is still reported", fmt);

	/* back to write-protect logging: what the hardware recorded is kept */
	access(vm, 3 * PG, S2_ACC_READ);
	hw_write(vm, 3 * PG);
	tap_ok(s2_vm_set_memslot(vm, 0, s2_gpa(0), NPG * PG, s2_hva(HVA0),
				 S2_MEM_DIRTY_LOG) == 0 &&
	       !(leaf(vm, 3 * PG).prot & S2_PROT_W) && !leaf(vm, 3 * PG).hw_dirty_ok &&
	       !(leaf(vm, 0).prot & S2_PROT_W) && !leaf(vm, 0).hw_dirty_ok &&
	       harvest(vm, 0) == 8,
	       "%s: hardware mode off, logging on: leaves read-only, the recorded write "
	       "reported", fmt);
	tap_ok(access(vm, 0, S2_ACC_WRITE) == 0 && harvest(vm, 0) == 1,
	       "%s: then a write faults and is logged by the bitmap", fmt);
	tap_ok(s2_vm_set_memslot(vm, 0, s2_gpa(0), NPG * PG, s2_hva(HVA0), 0) == 0 &&
	       s2_vm_get_dirty_log(vm, 0, (uint64_t[1]){ 0 }, 1) == -S2_EINVAL,
	       "%s: logging off: no log to harvest", fmt);
	s2_vm_destroy(vm);
}

/* ---------------------------------------------- I7 on the machine model */

static void test_machine(enum s2_format_id f)
{
	struct mach_cfg c;
	struct machine *m;
	struct mach_vcpu *v;
	struct mach_stats s0, s1;
	uint64_t base, i, wrote = 0;
	const char *name = f == S2_FMT_EPT ? "ept" : "arm64";

	mach_cfg_default(&c);
	c.nr_vcpus = 1;
	c.guest_size = 16ULL << 20;
	c.thp = false;
	c.pfnmap_slot = false;
	c.format = f;
	c.pgt_flags = f == S2_FMT_EPT ? S2_PGT_EPT_AD : S2_PGT_HW_DBM;
	if (mach_create(&c, &m))
		TAP_BAIL("machine");
	v = mach_vcpu(m, 0);
	base = mach_slot_gpa(m, 1);
	tap_ok(mach_dirty_log_mode(m, 1, true, true) == 0, "%s machine: hardware logging on", name);
	for (i = 0; i < 64; i++)
		mach_access(v, base + i * PG, false);
	mach_get_stats(m, &s0);
	/* three rounds: writes to every third page, a harvest (the oracle
	 * checks each reported set against the writes, I7) */
	for (unsigned r = 0; r < 3; r++) {
		for (i = r; i < 64; i += 3, wrote++)
			mach_access(v, base + i * PG, true);
		mach_access(v, base + r * PG, true);
		if (mach_harvest(m, 1))
			TAP_BAIL("harvest");
	}
	mach_get_stats(m, &s1);
	tap_ok(s1.violations_total == 0 && s1.harvested_pages == wrote,
	       "%s machine: every written page reported once per harvest, nothing else "
	       "(%llu pages, %llu written)", name, (unsigned long long)s1.harvested_pages,
	       (unsigned long long)wrote);
	tap_ok(s1.v.write_perm_faults == s0.v.write_perm_faults &&
	       s1.v.faults == s0.v.faults && s1.v.hw_dbm_sets > s0.v.hw_dbm_sets,
	       "%s machine: no fault for the writes, the hardware recorded them "
	       "(%llu hardware updates)", name,
	       (unsigned long long)(s1.v.hw_dbm_sets - s0.v.hw_dbm_sets));
	mach_print_violations(m, stdout);
	mach_destroy(m);
}

static void test_run(enum s2_format_id f)
{
	struct mach_run_opts o;
	struct mach_stats s, w;
	const char *name = f == S2_FMT_EPT ? "ept" : "arm64";
	unsigned i;

	/* the scenario of `s2mmu run --dirty-hw`, with no churn: the
	 * logging phase's writes need no write-protect fault (those left
	 * are the first writes of blocks the enable made read-only) */
	for (int hw = 1; hw >= 0; hw--) {
		mach_run_defaults(&o);
		o.seconds = 1;
		o.cfg.nr_vcpus = 2;
		o.cfg.guest_size = 64ULL << 20;
		o.cfg.format = f;
		o.cfg.pgt_flags = f == S2_FMT_EPT ? S2_PGT_EPT_AD : S2_PGT_HW_DBM;
		o.dirty_hw = hw;
		o.aging_phase = false;
		memset(o.churn_w, 0, sizeof(o.churn_w));
		if (mach_run(&o, hw ? &s : &w))
			TAP_BAIL("mach_run");
	}
	tap_ok(s.dirty_phase_hw && s.harvests >= 2 && s.harvested_pages > 0 &&
	       s.violations_total == 0,
	       "%s run --dirty-hw: %llu harvests, %llu pages reported, no violation (%llu)",
	       name, (unsigned long long)s.harvests, (unsigned long long)s.harvested_pages,
	       (unsigned long long)s.violations_total);
	for (i = 0; i < s.nr_texts; i++)
		tap_diag("%s", s.texts[i]);
	tap_ok(s.dirty_phase_wp_faults * 100 < w.dirty_phase_wp_faults,
	       "%s run: write-protect faults of the logging phase %llu in hardware mode, "
	       "%llu by write-protect", name, (unsigned long long)s.dirty_phase_wp_faults,
	       (unsigned long long)w.dirty_phase_wp_faults);
}

int main(void)
{
	H = s2_hosted_new();
	if (!H)
		TAP_BAIL("hosted");
	test_bad_input();
	test_semantics(S2_FMT_ARM64);
	test_semantics(S2_FMT_EPT);
	test_machine(S2_FMT_ARM64);
	test_machine(S2_FMT_EPT);
	test_run(S2_FMT_ARM64);
	test_run(S2_FMT_EPT);
	s2_hosted_free(H);
	return tap_done();
}
