// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The controlled scheduler (sched.h): a baton passed between pthreads.
 * One global mutex guards the scheduler state; the thread holding the
 * baton runs without it.  A blocked thread is runnable again as soon as
 * its lock is free, evaluated lazily at each decision, so unlock needs no
 * wake-up list and a replay sees exactly the same runnable sets.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/sched.h"

enum { T_ACTIVE, T_DONE };
enum { W_NONE, W_READ, W_WRITE };

struct ck_thread {
	pthread_t t;
	pthread_cond_t cv;
	ck_fn fn;
	void *arg;
	int state;
	int wait_kind;
	struct ck_lock *wait;
	bool yielded;
	int prio;		/* PCT: the highest runnable runs; may go below 0 */
	int held;		/* locks this thread holds (read or write) */
	int wheld;		/* of which for write (or mutexes) */
};

static struct ck_sched_io *io;
static pthread_mutex_t big = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t main_cv = PTHREAD_COND_INITIALIZER;
static struct ck_thread th[CK_MAX_THREADS];
static int nth, cur = -1, ndone;
static bool running;
static __thread int self = -1;
static uint64_t rng;
static unsigned pct_change[8];

void (*ck_violation_hook)(int inv, const char *msg);
void (*ck_point_hook)(void);
void (*ck_thread_end_hook)(int tid);
static const char *light_site;	/* a light point's site, traced only on a switch */

static uint64_t rnd(void)
{
	/* splitmix64: every schedule's stream is a function of its seed */
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void ck_violation(int inv, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ck_violation_hook)
		ck_violation_hook(inv, msg);
	fprintf(stderr, "violation I%d: %s\n", inv, msg);
	abort();
}

static void trace(int tid, const char *text)
{
	struct ck_event *e;

	if (!io)
		return;
	if (io->nr_events >= CK_MAX_EVENTS) {
		/* keep the end, where the violation is: drop the older half */
		memmove(io->ev, io->ev + CK_MAX_EVENTS / 2,
			(CK_MAX_EVENTS / 2) * sizeof(io->ev[0]));
		io->nr_events = CK_MAX_EVENTS / 2;
		io->ev_dropped = true;
	}
	e = &io->ev[io->nr_events++];
	e->tid = (uint8_t)(tid < 0 ? 0xff : tid);
	snprintf(e->text, sizeof(e->text), "%s", text);
}

void ck_begin(struct ck_sched_io *sio)
{
	unsigned i;

	io = sio;
	nth = 0;
	ndone = 0;
	cur = -1;
	io->nr_choices = io->nr_preempt = io->steps = 0;
	io->nr_events = io->nr_threads = 0;
	io->ev_dropped = false;
	if (io->strategy == CK_DFS)
		io->nr_nodes = 0;
	rng = io->seed;
	for (i = 0; i < 8; i++)
		pct_change[i] = io->pct_steps ? 1 + (unsigned)(rnd() % io->pct_steps) : 0;
}

bool ck_running(void)
{
	return running && self >= 0;
}

int ck_self(void)
{
	return self;
}

static bool lock_free_for(const struct ck_lock *l, int kind)
{
	if (l->writer)
		return false;
	return kind == W_READ || l->readers == 0;
}

static bool runnable(int i)
{
	const struct ck_thread *t = &th[i];

	if (t->state != T_ACTIVE)
		return false;
	return !t->wait || lock_free_for(t->wait, t->wait_kind);
}

/* Pick the next thread and pass the baton; called with `big` held. */
static void schedule_locked(void)
{
	int r[CK_MAX_THREADS], n = 0, i, next, dflt = -1;
	bool self_ok;

	if (++io->steps > CK_MAX_STEPS) {
		pthread_mutex_unlock(&big);
		ck_violation(10, "no progress: %u scheduling points in one schedule",
			     CK_MAX_STEPS);
	}
	for (i = 0; i < nth; i++)
		if (runnable(i))
			r[n++] = i;
	if (n > 1 && self >= 0 && th[self].yielded) {
		/* a yielding thread waits for someone else to move */
		for (i = 0; i < n; i++)
			if (r[i] == self) {
				memmove(&r[i], &r[i + 1], (size_t)(n - i - 1) * sizeof(r[0]));
				n--;
				break;
			}
	}
	if (!n) {
		if (ndone == nth) {
			cur = -1;
			pthread_cond_signal(&main_cv);
			return;
		}
		pthread_mutex_unlock(&big);
		ck_violation(10, "deadlock: every live thread waits for a lock");
	}
	self_ok = false;
	for (i = 0; i < n; i++)
		if (r[i] == self)
			self_ok = true;
	if (self_ok) {
		dflt = self;
	} else {
		/* round robin from the current thread: fair for yield loops */
		dflt = r[0];
		for (i = 0; i < n; i++)
			if (r[i] > self) {
				dflt = r[i];
				break;
			}
	}
	next = dflt;
	if (n > 1) {
		unsigned k = io->nr_choices;

		if (io->strategy == CK_REPLAY || (k < io->nr_prefix)) {
			int want = k < io->nr_prefix ? io->prefix[k] : 0xff;

			for (i = 0; i < n; i++)
				if (r[i] == want)
					next = want;
		} else if (io->strategy == CK_RANDOM) {
			next = r[rnd() % (unsigned)n];
		} else if (io->strategy == CK_PCT) {
			unsigned j;

			for (j = 1; j < io->pct_depth && j < 8; j++)
				if (pct_change[j] == io->steps && self >= 0)
					th[self].prio = (int)j;
			next = r[0];
			for (i = 1; i < n; i++)
				if (th[r[i]].prio > th[next].prio)
					next = r[i];
		}
		if (k < CK_MAX_CHOICES) {
			io->choices[k] = (uint8_t)next;
			io->nr_choices = k + 1;
			if (io->strategy == CK_DFS) {
				struct ck_dfs_node *nd = &io->nodes[k];
				int m = 0;

				nd->n = (uint8_t)n;
				nd->alt[m++] = (uint8_t)dflt;
				for (i = 0; i < n; i++)
					if (r[i] != dflt)
						nd->alt[m++] = (uint8_t)r[i];
				for (i = 0; i < n; i++)
					if (nd->alt[i] == next)
						nd->idx = (uint8_t)i;
				nd->preempt_default = self_ok;
				io->nr_nodes = k + 1;
			}
		}
		if (self_ok && next != self)
			io->nr_preempt++;
	}
	cur = next;
	if (next != self && self >= 0 && light_site) {
		/* a light point shows in the timeline only where it switched */
		trace(self, light_site);
		light_site = NULL;
	}
	if (next != self)
		pthread_cond_signal(&th[next].cv);
}

static void wait_baton_locked(void)
{
	while (cur != self)
		pthread_cond_wait(&th[self].cv, &big);
}

static void reschedule(void)
{
	/* what may happen at any scheduling point (a grace period ending) */
	if (ck_point_hook)
		ck_point_hook();
	pthread_mutex_lock(&big);
	schedule_locked();
	wait_baton_locked();
	pthread_mutex_unlock(&big);
}

void ck_point(const char *site)
{
	if (!ck_running())
		return;
	trace(self, site);
	reschedule();
}

int ck_decide(unsigned n)
{
	unsigned k = io->nr_choices;
	int r = -1;

	if (!n)
		return -1;
	if (io->strategy == CK_REPLAY || k < io->nr_prefix) {
		unsigned v = k < io->nr_prefix ? io->prefix[k] : 0xff;

		if (v >= CK_DECIDE_BASE && v - CK_DECIDE_BASE < n)
			r = (int)(v - CK_DECIDE_BASE);
	} else if (io->strategy != CK_DFS && (rnd() & 1)) {
		r = (int)(rnd() % n);
	}
	if (k < CK_MAX_CHOICES) {
		io->choices[k] = r < 0 ? 0xff : (uint8_t)(CK_DECIDE_BASE + (unsigned)r);
		io->nr_choices = k + 1;
	}
	return r;
}

void ck_point_light(const char *site)
{
	if (!ck_running())
		return;
	light_site = site;
	reschedule();
	light_site = NULL;
}

void ck_note(const char *fmt, ...)
{
	char b[CK_EV_TEXT];
	va_list ap;

	if (!ck_running())
		return;
	va_start(ap, fmt);
	vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	trace(self, b);
}

const char *ck_last_site(void)
{
	for (unsigned i = io ? io->nr_events : 0; i-- > 0;)
		if (io->ev[i].tid == self)
			return io->ev[i].text;
	return "?";
}

void ck_yield(void)
{
	int i, low;

	if (!ck_running())
		return;
	/*
	 * PCT's rule for spin loops: a yielding thread waits for another to
	 * move, so it drops below every other thread's priority.  Left out of
	 * one choice only, two spinners alternate above the thread they both
	 * wait for until a change point (often past CK_MAX_STEPS: a false
	 * I10).  A function of the schedule only, so replays reproduce it;
	 * the priority is read by PCT alone.
	 */
	low = th[self].prio;
	for (i = 0; i < nth; i++)
		if (i != self && th[i].state == T_ACTIVE && th[i].prio <= low)
			low = th[i].prio - 1;
	th[self].prio = low;
	th[self].yielded = true;
	reschedule();
	th[self].yielded = false;
}

static void *thread_main(void *arg)
{
	int id = (int)(intptr_t)arg;

	self = id;
	pthread_mutex_lock(&big);
	wait_baton_locked();
	pthread_mutex_unlock(&big);
	th[id].fn(th[id].arg);
	/* An operation that returns holding a lock (a lost unlock on an error
	 * path) blocks every later user of it: report it here, where the
	 * holder is known, not as a deadlock steps later. */
	if (th[id].held)
		ck_violation(10, "lock discipline: thread %d returned holding %d lock(s)",
			     id, th[id].held);
	if (ck_thread_end_hook)
		ck_thread_end_hook(id);
	pthread_mutex_lock(&big);
	th[id].state = T_DONE;
	ndone++;
	trace(id, "(done)");
	schedule_locked();
	pthread_mutex_unlock(&big);
	return NULL;
}

void ck_spawn(const char *name, ck_fn fn, void *arg)
{
	struct ck_thread *t = &th[nth];

	if (nth >= CK_MAX_THREADS)
		abort();
	*t = (struct ck_thread){ .fn = fn, .arg = arg, .state = T_ACTIVE };
	t->prio = (int)(io->pct_depth + (unsigned)nth);
	snprintf(io->thread_name[nth], sizeof(io->thread_name[0]), "%s", name);
	io->nr_threads = (unsigned)++nth;
}

void ck_run(void)
{
	int i;

	/* PCT: a random permutation of priorities above every change point */
	for (i = nth - 1; i > 0; i--) {
		int j = (int)(rnd() % (unsigned)(i + 1));
		int p = th[i].prio;

		th[i].prio = th[j].prio;
		th[j].prio = p;
	}
	for (i = 0; i < nth; i++) {
		pthread_cond_init(&th[i].cv, NULL);
		if (pthread_create(&th[i].t, NULL, thread_main, (void *)(intptr_t)i))
			abort();
	}
	pthread_mutex_lock(&big);
	running = true;
	self = -1;
	schedule_locked();
	while (ndone < nth)
		pthread_cond_wait(&main_cv, &big);
	running = false;
	pthread_mutex_unlock(&big);
	for (i = 0; i < nth; i++) {
		pthread_join(th[i].t, NULL);
		pthread_cond_destroy(&th[i].cv);
	}
	self = -1;
}

/* ------------------------------------------------------------- locks */

void ck_lock_init(struct ck_lock *l)
{
	l->writer = 0;
	l->readers = 0;
}

static void acquire(struct ck_lock *l, int kind, const char *what)
{
	if (!ck_running()) {
		/* set-up and tear-down run single-threaded */
		if (kind == W_WRITE)
			l->writer = 1;
		else
			l->readers++;
		return;
	}
	trace(self, what);
	if (ck_point_hook)
		ck_point_hook();
	pthread_mutex_lock(&big);
	th[self].wait = l;
	th[self].wait_kind = kind;
	schedule_locked();
	wait_baton_locked();
	/* runnable only once the lock is free, and nothing ran since */
	th[self].wait = NULL;
	if (kind == W_WRITE)
		l->writer = self + 1;
	else
		l->readers++;
	th[self].held++;
	th[self].wheld += kind == W_WRITE;
	pthread_mutex_unlock(&big);
}

/*
 * Lock discipline: an unlock must match a lock this thread holds.  Without
 * the check a lost lock call (a write_lock deleted before an update) only
 * shows when another thread happens to run inside the unprotected region,
 * and a write unlock of a lock nobody holds silently "frees" it for
 * everyone.  Reported as I10: a lock that does not exclude, or that is
 * never given back, breaks progress before it breaks anything else.
 */
static void release(struct ck_lock *l, int kind)
{
	bool owned = kind == W_WRITE ? l->writer && (!ck_running() || l->writer == self + 1)
				     : l->readers > 0;

	if (!owned)
		ck_violation(10, "lock discipline: %s unlock of a lock %s",
			     kind == W_WRITE ? "write" : "read",
			     kind == W_WRITE && l->writer ? "another thread holds"
							  : "nobody holds");
	if (kind == W_WRITE)
		l->writer = 0;
	else
		l->readers--;
	if (ck_running() && self >= 0 && th[self].held > 0) {
		th[self].held--;
		if (kind == W_WRITE && th[self].wheld > 0)
			th[self].wheld--;
	}
}

void ck_mutex_lock(struct ck_lock *l, const char *what) { acquire(l, W_WRITE, what); }
void ck_read_lock(struct ck_lock *l, const char *what) { acquire(l, W_READ, what); }
void ck_write_lock(struct ck_lock *l, const char *what) { acquire(l, W_WRITE, what); }
void ck_mutex_unlock(struct ck_lock *l) { release(l, W_WRITE); }
void ck_write_unlock(struct ck_lock *l) { release(l, W_WRITE); }
void ck_read_unlock(struct ck_lock *l) { release(l, W_READ); }

int ck_locks_held(void)
{
	return ck_running() && self >= 0 ? th[self].held : 0;
}

int ck_write_locks_held(void)
{
	return ck_running() && self >= 0 ? th[self].wheld : 0;
}

bool ck_mutex_trylock(struct ck_lock *l)
{
	ck_point("trylock");
	if (!lock_free_for(l, W_WRITE))
		return false;
	l->writer = self + 1;
	if (self >= 0) {
		th[self].held++;
		th[self].wheld++;
	}
	return true;
}

bool ck_read_trylock(struct ck_lock *l)
{
	ck_point("read trylock");
	if (!lock_free_for(l, W_READ))
		return false;
	l->readers++;
	if (self >= 0)
		th[self].held++;
	return true;
}
