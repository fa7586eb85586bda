/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The `s2mmu run` scenario: vCPUs and host churn for a while, an aging
 * phase (a sweeping ager beside the faulting vCPUs, 20% to 80% of the run)
 * and a dirty-logging phase inside it (30% to 70%: aging beside the lazy
 * splits of logging), then exit_mmap while the vCPUs are still faulting
 * (seed 001's second teardown path) and the VM's destroy.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sim/machine/internal.h"

void mach_run_defaults(struct mach_run_opts *o)
{
	memset(o, 0, sizeof(*o));
	mach_cfg_default(&o->cfg);
	o->seconds = 10;
	mach_churn_default(o->churn_w);
	o->dirty_phase = true;
	o->aging_phase = true;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void nap(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	nanosleep(&ts, NULL);
}

static uint64_t host_total(const struct mach_stats *s)
{
	uint64_t t = 0;
	unsigned k;

	for (k = 0; k < MH_NR; k++)
		t += s->host_ok[k];
	return t;
}

static void progress(struct machine *m, double t, double total)
{
	struct mach_stats s;

	mach_get_stats(m, &s);
	fprintf(stderr, "\r[%5.1f/%.0fs] accesses %llu  faults %llu  invalidations %llu  "
		"tlbi %llu  host ops %llu  violations %llu   ", t, total,
		(unsigned long long)s.v.accesses, (unsigned long long)s.v.faults,
		(unsigned long long)s.inval_starts,
		(unsigned long long)(s.tlbi_ipa + s.tlbi_range + s.tlbi_vm),
		(unsigned long long)host_total(&s), (unsigned long long)s.violations_total);
}

/* Write-protect faults so far, over every vCPU (each counter is its own
 * thread's; a sum of relaxed reads is enough for a phase's count). */
static uint64_t wp_faults(struct machine *m)
{
	struct mach_stats s;

	mach_get_stats(m, &s);
	return s.v.write_perm_faults;
}

int mach_run(const struct mach_run_opts *o, struct mach_stats *out)
{
	struct machine *m;
	double t0, t, next_tick = 0, dl_on = o->seconds * 0.3, dl_off = o->seconds * 0.7;
	double harvest_every = o->seconds / 10, next_harvest = 0;
	double age_on = o->seconds * 0.2, age_off = o->seconds * 0.8;
	bool logging = false, logged = false, aging = false, aged = false;
	uint64_t wp0 = 0, wp = 0;
	unsigned i;
	int ret;

	ret = mach_create(&o->cfg, &m);
	if (ret)
		return ret;
	t0 = now();
	mach_start(m, o->churn_w);
	for (;;) {
		t = now() - t0;
		if (t >= o->seconds)
			break;
		if (o->aging_phase && !aged && !aging && t >= age_on) {
			mach_start_aging(m);
			aging = true;
		}
		if (aging && t >= age_off) {
			mach_stop_aging(m);
			aging = false;
			aged = true;
		}
		if (o->dirty_phase && !logged && !logging && t >= dl_on) {
			if (!mach_dirty_log_mode(m, 1, true, o->dirty_hw)) {
				wp0 = wp_faults(m);
				logging = true;
				next_harvest = t + harvest_every;
			}
		}
		if (logging && t >= next_harvest) {
			mach_harvest(m, 1);
			next_harvest = t + harvest_every;
		}
		if (logging && t >= dl_off) {
			mach_harvest(m, 1);
			wp = wp_faults(m) - wp0;
			mach_dirty_log(m, 1, false);
			logging = false;
			logged = true;
		}
		if (o->progress && t >= next_tick) {
			progress(m, t, o->seconds);
			next_tick = t + 0.25;
		}
		nap(0.01);
	}
	if (logging) {
		mach_harvest(m, 1);
		wp = wp_faults(m) - wp0;
		mach_dirty_log(m, 1, false);
		logged = true;
	}
	mach_stop_churn(m);
	mach_stop_aging(m);
	/* Seed 001: the process exits while vCPU threads are still faulting. */
	mach_exit_mm(m);
	for (i = 0; i < 200; i++) {
		unsigned k, live = 0;

		for (k = 0; k < m->nr_vcpus; k++)
			live += !__atomic_load_n(&m->vcpus[k]->done, __ATOMIC_ACQUIRE);
		if (!live)
			break;
		nap(0.005);
	}
	mach_stop_vcpus(m);
	if (o->progress) {
		progress(m, now() - t0, o->seconds);
		fputc('\n', stderr);
	}
	mach_get_stats(m, out);
	out->dirty_phase_ran = logged;
	out->dirty_phase_hw = logged && o->dirty_hw;
	out->dirty_phase_wp_faults = wp;
	out->seconds = now() - t0;
	out->nr_texts = mach_nr_violation_texts(m);
	for (i = 0; i < out->nr_texts && i < 8; i++)
		snprintf(out->texts[i], sizeof(out->texts[i]), "%s", mach_violation_text(m, i));
	mach_destroy(m);
	return 0;
}
