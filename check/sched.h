/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The controlled scheduler of `s2mmu check` (DESIGN.md section 8, issue 5).
 *
 * Scenario threads are real pthreads, but exactly one of them runs at a
 * time: it holds the baton until it reaches a scheduling point (a lock, an
 * atomic read-modify-write, an RCU, TLB or cache hook, an S2_PREEMPT or
 * hsync_point), where the scheduler picks the next thread and hands the
 * baton over with one mutex/condvar handoff.  Every choice among two or
 * more runnable threads is recorded, so a schedule is a list of thread
 * numbers: a replay that makes the same choices runs the same program.
 */
#ifndef S2_CHECK_SCHED_H
#define S2_CHECK_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#define CK_MAX_THREADS	6
#define CK_MAX_CHOICES	4096
#define CK_MAX_EVENTS	2048
#define CK_EV_TEXT	72
#define CK_MAX_STEPS	40000	/* points per schedule before "no progress" */

enum ck_strategy { CK_RANDOM, CK_PCT, CK_DFS, CK_REPLAY };

/* A lock of the checked world: mutex (write only) or reader-writer. */
struct ck_lock {
	int writer;		/* thread id + 1, 0 = none */
	int readers;
};

struct ck_event {
	uint8_t tid;
	char text[CK_EV_TEXT];
};

/* One DFS decision: the runnable threads in try order (default first). */
struct ck_dfs_node {
	uint8_t n, idx;
	uint8_t alt[CK_MAX_THREADS];
	bool preempt_default;	/* was the default "keep running current"? */
};

/* What the scheduler reads and writes per schedule; lives in memory
 * shared with the parent, so a crashing child still leaves it behind. */
struct ck_sched_io {
	enum ck_strategy strategy;
	uint64_t seed;			/* per-schedule seed (random, PCT) */
	unsigned pct_depth;
	unsigned pct_steps;		/* estimated schedule length */
	unsigned preempt_bound;		/* DFS */
	/* replay / DFS prefix in, choices made out */
	unsigned nr_prefix;
	uint8_t prefix[CK_MAX_CHOICES];
	unsigned nr_choices;
	uint8_t choices[CK_MAX_CHOICES];
	unsigned nr_preempt;
	unsigned steps;
	/* DFS bookkeeping */
	unsigned nr_nodes;
	struct ck_dfs_node nodes[CK_MAX_CHOICES];
	/* trace */
	unsigned nr_threads;
	char thread_name[CK_MAX_THREADS][16];
	unsigned nr_events;
	bool ev_dropped;		/* the oldest events were dropped */
	struct ck_event ev[CK_MAX_EVENTS];
};

typedef void (*ck_fn)(void *arg);

/* Set up for one schedule with @io (not yet running). */
void ck_begin(struct ck_sched_io *io);
/* Add a thread; before ck_run. */
void ck_spawn(const char *name, ck_fn fn, void *arg);
/* Run every spawned thread to completion under the scheduler; returns
 * once all are done.  A deadlock or a run past CK_MAX_STEPS is reported
 * through ck_violation (I10) and does not return. */
void ck_run(void);
bool ck_running(void);
int ck_self(void);

/* A scheduling point, named for the trace. */
void ck_point(const char *site);
/* A scheduling point that is traced only when the scheduler switches
 * away from the caller there (table-entry accesses: many, and
 * interesting only where another thread ran between two of them). */
void ck_point_light(const char *site);
/* Called at every scheduling point before the decision (the world's RCU
 * model ends grace periods there); may itself reach scheduling points. */
extern void (*ck_point_hook)(void);
/*
 * A recorded decision that is not a choice of thread (the weak-memory
 * model's "which pending store becomes visible now"): -1, the default
 * (what a shrunk or truncated schedule falls back to), or 0..@n-1
 * (@n <= 8).  Stored in the choices as CK_DECIDE_BASE + k, 0xff for -1,
 * so tokens and shrinking treat it like any choice.  Not for DFS.
 */
#define CK_DECIDE_BASE	16
int ck_decide(unsigned n);
/* Called when a thread's function returns, on that thread. */
extern void (*ck_thread_end_hook)(int tid);
/* A trace line of the calling thread, no switch. */
void ck_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The last trace entry of the calling thread (for crash reports). */
const char *ck_last_site(void);
/* Let the others run (wait loops). */
void ck_yield(void);

void ck_lock_init(struct ck_lock *l);
void ck_mutex_lock(struct ck_lock *l, const char *what);
void ck_mutex_unlock(struct ck_lock *l);
bool ck_mutex_trylock(struct ck_lock *l);
void ck_read_lock(struct ck_lock *l, const char *what);
bool ck_read_trylock(struct ck_lock *l);
void ck_read_unlock(struct ck_lock *l);
void ck_write_lock(struct ck_lock *l, const char *what);
void ck_write_unlock(struct ck_lock *l);
/* Locks the calling thread holds (0 outside a schedule). */
int ck_locks_held(void);
/* Of which held for write (or mutexes). */
int ck_write_locks_held(void);

/* Hook for violations: set by the runner, never returns. */
extern void (*ck_violation_hook)(int inv, const char *msg);
void ck_violation(int inv, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

#endif
