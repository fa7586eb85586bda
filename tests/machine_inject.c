/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The oracle can fail: with a glue that drops one invalidate_range_start
 * (and its end) on the floor, a vCPU keeps using its TLB entry for a page
 * the host has zapped and freed, and the oracle must report I1.  The same
 * steps with the correct glue report nothing.  Likewise for I9: a glue
 * that answers test_young "old" without asking the core, after a vCPU
 * refilled its translation once clear_flush_young had returned, must be
 * reported.  Single-threaded, so the outcome is deterministic.
 */
#include <string.h>
#include "tests/tap.h"
#include "sim/machine/machine.h"

static struct machine *make(unsigned pgt_flags)
{
	struct mach_cfg c;
	struct machine *m;

	mach_cfg_default(&c);
	c.pgt_flags |= pgt_flags;
	c.nr_vcpus = 2;
	c.guest_size = 16ULL << 20;
	c.thp = false;
	c.pfnmap_slot = false;
	if (mach_create(&c, &m))
		TAP_BAIL("mach_create failed");
	return m;
}

static void scenario(bool inject, struct mach_stats *s, char *first, size_t len)
{
	struct machine *m = make(0);
	struct mach_vcpu *v = mach_vcpu(m, 0), *w = mach_vcpu(m, 1);
	uint64_t gpa = 0x5000, hva = mach_slot_hva(m, 0) + gpa;

	tap_ok(mach_access(v, gpa, true) == 0, "%s: first write maps the page",
	       inject ? "inject" : "correct");
	tap_ok(mach_access(w, gpa, false) == 0, "%s: second vCPU reads it",
	       inject ? "inject" : "correct");
	if (inject)
		mach_inject(m, MACH_INJ_SKIP_INVAL);
	tap_ok(host_madvise_dontneed(mach_mm(m), s2_hva(hva), 4096) == 0,
	       "%s: host zaps the page (DONTNEED)", inject ? "inject" : "correct");
	/* Through the TLB if the invalidation never reached the core. */
	mach_access(v, gpa, true);
	mach_access(w, gpa, false);
	mach_get_stats(m, s);
	snprintf(first, len, "%s", mach_nr_violation_texts(m) ? mach_violation_text(m, 0) : "");
	mach_destroy(m);
}

static void age_scenario(bool inject, struct mach_stats *s, int *young)
{
	/* Hardware AF: the refill makes the leaf young without a fault, so
	 * the host's own young bit stays clear and test_young must ask. */
	struct machine *m = make(S2_PGT_HW_AF);
	struct mach_vcpu *v = mach_vcpu(m, 0);
	uint64_t gpa = 0x7000, hva = mach_slot_hva(m, 0) + gpa;
	const char *tag = inject ? "I9 inject" : "I9 correct";

	tap_ok(mach_access(v, gpa, false) == 0, "%s: the vCPU reads the page", tag);
	tap_ok(host_age(mach_mm(m), s2_hva(hva), 4096, HOST_AGE_CLEAR_FLUSH_YOUNG) >= 0,
	       "%s: the host ages it (clear_flush_young)", tag);
	/* The flush emptied the TLB: this read walks again and makes it young. */
	tap_ok(mach_access(v, gpa, false) == 0, "%s: the vCPU reads it again", tag);
	if (inject)
		mach_inject(m, MACH_INJ_TY_OLD);
	*young = host_age(mach_mm(m), s2_hva(hva), 4096, HOST_AGE_TEST_YOUNG);
	mach_get_stats(m, s);
	tap_ok(s->cfy == 1 && s->ty == 1, "%s: one clear_flush_young and one test_young "
	       "reached the glue (%llu, %llu)", tag, (unsigned long long)s->cfy,
	       (unsigned long long)s->ty);
	mach_destroy(m);
}

int main(void)
{
	int young;

	struct mach_stats s;
	char first[320];

	scenario(false, &s, first, sizeof(first));
	tap_ok(s.violations_total == 0, "correct glue: no violation (%llu)",
	       (unsigned long long)s.violations_total);
	tap_ok(s.inval_skipped == 0, "correct glue: nothing skipped");

	scenario(true, &s, first, sizeof(first));
	tap_ok(s.inval_skipped == 1, "inject: one invalidation skipped");
	tap_ok(s.violations[MI_I1] > 0, "inject: the oracle reports I1 (%llu)",
	       (unsigned long long)s.violations[MI_I1]);
	if (first[0])
		tap_diag("first: %s", first);

	age_scenario(false, &s, &young);
	tap_ok(young == 1, "I9 correct: test_young finds the page young (%d)", young);
	tap_ok(s.violations_total == 0, "I9 correct: no violation (%llu)",
	       (unsigned long long)s.violations_total);
	age_scenario(true, &s, &young);
	tap_ok(s.violations[MI_I9] == 1 && s.violations_total == 1,
	       "inject: the oracle reports I9 alone (%llu of %llu)",
	       (unsigned long long)s.violations[MI_I9], (unsigned long long)s.violations_total);
	return tap_done();
}
