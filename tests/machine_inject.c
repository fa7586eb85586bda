/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The oracle can fail: with a glue that drops one invalidate_range_start
 * (and its end) on the floor, a vCPU keeps using its TLB entry for a page
 * the host has zapped and freed, and the oracle must report I1.  The same
 * steps with the correct glue report nothing.  Single-threaded, so the
 * outcome is deterministic.
 */
#include <string.h>
#include "tests/tap.h"
#include "sim/machine/machine.h"

static struct machine *make(void)
{
	struct mach_cfg c;
	struct machine *m;

	mach_cfg_default(&c);
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
	struct machine *m = make();
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

int main(void)
{
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
	return tap_done();
}
