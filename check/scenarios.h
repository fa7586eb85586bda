/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Scenarios of `s2mmu check`: one per race class (scenarios.c). */
#ifndef S2_CHECK_SCENARIOS_H
#define S2_CHECK_SCENARIOS_H

#include "check/world.h"

#define SC_MAX_THREADS 4

struct scenario {
	const char *name;
	const char *what;
	struct w_cfg cfg;
	void (*setup)(void);		/* single-threaded, after w_create */
	const char *tname[SC_MAX_THREADS];
	ck_fn thread[SC_MAX_THREADS];
	bool expect_empty;		/* every table freed once the threads end */
};

extern const struct scenario scenarios[];
extern const unsigned nr_scenarios;
const struct scenario *scenario_find(const char *name);
/* The scenario's configuration at the world's granule (w_scale_cfg). */
void scenario_cfg(const struct scenario *s, struct w_cfg *cfg);

/* The scenario that must catch each catalogue bug, and its invariant. */
struct bug_target {
	const char *bug;
	const char *scenario;		/* NULL: not findable (docs/bugs.md) */
	int inv;
};
extern const struct bug_target bug_targets[S2_NR_BUGS];
/* Bugs only visible with --memory weak (sequential consistency hides them). */
extern const bool bug_weak[S2_NR_BUGS];

#endif
