/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The hosted platform's own concurrency primitives (src/hosted),
 * hammered from several threads: the big-reader rwlock that is the VM's
 * mmu_lock, the lock that serialises memslot updates, RCU read sections
 * and synchronize_rcu, defer_free / defer_barrier, and page_ref_add.  The
 * interleaving checker never runs this code (its build has a platform of
 * its own), so this is where a broken lock or grace period would show.
 *
 * Two kinds of check.  Hand-offs make one ordering certain: a thread holds
 * a read lock or a read section while the main thread asks for what must
 * wait for it (write_lock, synchronize_rcu, defer_barrier), and the holder
 * leaves only when told or after HOLD_MS, so a primitive that does not
 * wait is seen not to have waited.  Timed stress phases (STRESS_MS each,
 * or argv[1] milliseconds) run writers, readers and updaters freely and
 * check invariants inside every critical section: two counters a writer
 * bumps apart are equal to every reader, no reader sees a writer inside
 * and no writer another thread, an object is poisoned only after a grace
 * period and a freed page only by its deferred callback, and so on.
 *
 * Each check's name ends in a [tag].  mk/hosted-fault.mk links this same
 * test against src/hosted built with -DS2_HOSTED_FAULT and, for each fault
 * S2_HOSTED_FAULT can switch on, requires the tagged checks that must
 * catch it to say "not ok" (docs/reliability.md, "Hosted platform stress
 * test").  About 1.5 s on 2 shared cores.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include "tests/tap.h"
#include <s2mmu/hosted.h>

#define STRESS_MS	250	/* each timed phase */
#define HOLD_MS		100	/* the longest a holder waits to be told */
#define REF_THREADS	4
#define PAGE_SHIFT	12
#define PAGE_WORDS	((1u << PAGE_SHIFT) / sizeof(uint64_t))

static struct s2_hosted *hp;
static const struct s2_platform *plat;
static unsigned stress_ms = STRESS_MS;
static atomic_int stop;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double since_ms(uint64_t t0)
{
	return (double)(now_ns() - t0) / 1e6;
}

static void sleep_us(unsigned us)
{
	struct timespec ts = { us / 1000000, (long)(us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

static void sleep_ms(unsigned ms)
{
	sleep_us(ms * 1000);
}

/* Wait until *v >= want or @ms pass; true if it got there. */
static bool wait_for(atomic_int *v, int want, unsigned ms)
{
	uint64_t end = now_ns() + (uint64_t)ms * 1000000u;

	while (atomic_load(v) < want) {
		if (now_ns() > end)
			return false;
		sched_yield();
	}
	return true;
}

static void spawn(pthread_t *t, void *(*fn)(void *), void *arg)
{
	if (pthread_create(t, NULL, fn, arg))
		TAP_BAIL("pthread_create failed");
}

static void join(pthread_t t)
{
	pthread_join(t, NULL);
}

/* Run @n threads of @fn(arg) for stress_ms, then stop and join them. */
static void run_timed(int n, void *(*const *fns)(void *), void *arg)
{
	pthread_t t[8];
	int i;

	atomic_store(&stop, 0);
	for (i = 0; i < n; i++)
		spawn(&t[i], fns[i], arg);
	sleep_ms(stress_ms);
	atomic_store(&stop, 1);
	for (i = 0; i < n; i++)
		join(t[i]);
}

static bool stopping(void)
{
	return atomic_load_explicit(&stop, memory_order_relaxed);
}

/* ------------------------------------------------- hand-off holders */

/*
 * A holder takes its side (read lock, write lock, read section), says
 * so in @in, stays until @go or HOLD_MS, records @left, and releases.
 */
struct hold {
	void *lock;
	atomic_int in, go, left;
	atomic_int seen;	/* what the late party saw (reader_waits_writer) */
};

static void hold_body(struct hold *s)
{
	atomic_store(&s->in, 1);
	wait_for(&s->go, 1, HOLD_MS);
	atomic_store(&s->left, 1);
}

static void *hold_read(void *arg)
{
	struct hold *s = arg;

	plat->read_lock(s->lock);
	hold_body(s);
	plat->read_unlock(s->lock);
	return NULL;
}

static void *hold_write(void *arg)
{
	struct hold *s = arg;

	plat->write_lock(s->lock);
	hold_body(s);
	plat->write_unlock(s->lock);
	return NULL;
}

static void *hold_rcu(void *arg)
{
	struct hold *s = arg;

	plat->rcu_read_lock(hp);
	hold_body(s);
	plat->rcu_read_unlock(hp);
	return NULL;
}

/* Main takes the write side while @holder holds: it must wait it out. */
static bool write_waits_for(void *lock, void *(*holder)(void *))
{
	struct hold s = { .lock = lock };
	pthread_t t;
	bool ok;

	spawn(&t, holder, &s);
	wait_for(&s.in, 1, 5000);
	plat->write_lock(lock);
	ok = atomic_load(&s.left);
	atomic_store(&s.go, 1);
	plat->write_unlock(lock);
	join(t);
	return ok;
}

static void *late_reader(void *arg)
{
	struct hold *s = arg;

	atomic_store(&s->in, 1);
	plat->read_lock(s->lock);
	atomic_store(&s->seen, atomic_load(&s->left));
	plat->read_unlock(s->lock);
	return NULL;
}

/* A reader arriving while main holds the write side must wait for it. */
static bool read_waits_for_writer(void *lock)
{
	struct hold s = { .lock = lock };
	pthread_t t;

	plat->write_lock(lock);
	spawn(&t, late_reader, &s);
	wait_for(&s.in, 1, 5000);
	sleep_ms(HOLD_MS);
	atomic_store(&s.left, 1);
	plat->write_unlock(lock);
	join(t);
	return atomic_load(&s.seen);
}

/*
 * Two readers: the second to count itself in sees both inside and says
 * so in @together; neither leaves before that, or before a second has
 * passed (only a lock that keeps readers apart waits that long).
 */
struct two_readers {
	void *lock;
	atomic_int inside, together, saw_two;
};

static void *concurrent_reader(void *arg)
{
	struct two_readers *s = arg;

	plat->read_lock(s->lock);
	if (atomic_fetch_add(&s->inside, 1) + 1 == 2)
		atomic_store(&s->together, 1);
	if (wait_for(&s->together, 1, 10 * HOLD_MS))
		atomic_fetch_add(&s->saw_two, 1);
	atomic_fetch_sub(&s->inside, 1);
	plat->read_unlock(s->lock);
	return NULL;
}

static void rwlock_handoffs(void)
{
	void *lock = plat->rwlock_new(hp);
	struct two_readers tr;
	pthread_t t[2];
	uint64_t t0 = now_ns();

	if (!lock)
		TAP_BAIL("rwlock_new failed");
	tap_ok(write_waits_for(lock, hold_read),
	       "rwlock: write_lock waits until a reader inside leaves [rw-writer-waits-reader]");
	tap_ok(read_waits_for_writer(lock),
	       "rwlock: read_lock waits until the writer inside leaves [rw-reader-waits-writer]");
	tap_ok(write_waits_for(lock, hold_write),
	       "rwlock: write_lock waits until the writer inside leaves [rw-writer-excl]");
	memset(&tr, 0, sizeof(tr));
	tr.lock = lock;
	spawn(&t[0], concurrent_reader, &tr);
	spawn(&t[1], concurrent_reader, &tr);
	join(t[0]);
	join(t[1]);
	tap_ok(atomic_load(&tr.saw_two) == 2,
	       "rwlock: two readers are inside at once (%d of 2 saw the other) [rw-concurrent-readers]",
	       atomic_load(&tr.saw_two));
	plat->rwlock_free(hp, lock);
	tap_diag("rwlock hand-offs: %.0f ms", since_ms(t0));
}

/* --------------------------------------------------------- rwlock stress */

struct rw_stress {
	void *lock;
	volatile unsigned long a, b;	/* bumped apart by writers */
	atomic_int readers_in, writers_in, max_readers;
	atomic_ulong writes, reads, bad_read, bad_write;
};

static void *rw_writer(void *arg)
{
	struct rw_stress *s = arg;
	unsigned long n = 0;

	while (!stopping()) {
		plat->write_lock(s->lock);
		if (atomic_fetch_add(&s->writers_in, 1) || atomic_load(&s->readers_in))
			atomic_fetch_add(&s->bad_write, 1);
		s->a = s->a + 1;
		sched_yield();		/* let a broken lock's readers in */
		s->b = s->b + 1;
		atomic_fetch_sub(&s->writers_in, 1);
		plat->write_unlock(s->lock);
		n++;
		if (n % 2)		/* and let readers through a working one */
			sleep_us(20);
		else
			sched_yield();
	}
	atomic_fetch_add(&s->writes, n);
	return NULL;
}

static void *rw_reader(void *arg)
{
	struct rw_stress *s = arg;
	unsigned long n = 0, a, b;
	int in;

	while (!stopping()) {
		plat->read_lock(s->lock);
		in = atomic_fetch_add(&s->readers_in, 1) + 1;
		if (in > atomic_load_explicit(&s->max_readers, memory_order_relaxed))
			atomic_store_explicit(&s->max_readers, in, memory_order_relaxed);
		a = s->a;
		if (atomic_load(&s->writers_in))
			atomic_fetch_add(&s->bad_read, 1);
		if (n % 8 == 0)
			sched_yield();
		b = s->b;
		if (a != b)
			atomic_fetch_add(&s->bad_read, 1);
		atomic_fetch_sub(&s->readers_in, 1);
		plat->read_unlock(s->lock);
		n++;
		sched_yield();		/* gaps for writers, even past a broken read_lock */
	}
	atomic_fetch_add(&s->reads, n);
	return NULL;
}

static void rwlock_stress(void)
{
	static void *(*const fns[])(void *) = { rw_writer, rw_writer, rw_reader, rw_reader,
						rw_reader };
	struct rw_stress s;
	uint64_t t0 = now_ns();
	unsigned long w, r;

	memset(&s, 0, sizeof(s));
	s.lock = plat->rwlock_new(hp);
	if (!s.lock)
		TAP_BAIL("rwlock_new failed");
	run_timed(5, fns, &s);
	w = atomic_load(&s.writes);
	r = atomic_load(&s.reads);
	tap_ok(!atomic_load(&s.bad_read) && !atomic_load(&s.bad_write) && s.a == w && s.b == w &&
	       w && r,
	       "rwlock stress, 2 writers 3 readers: %lu writes, %lu reads, %lu torn or shared "
	       "reads, %lu shared writes, counters %lu/%lu [rw-stress]",
	       w, r, atomic_load(&s.bad_read), atomic_load(&s.bad_write), s.a, s.b);
	tap_diag("rwlock stress: %.0f ms, at most %d readers inside at once", since_ms(t0),
		 atomic_load(&s.max_readers));
	plat->rwlock_free(hp, s.lock);
}

/* ---------------------------------------------------- the slots lock */

/*
 * The lock vm.c takes for memslot updates: sleeplock_new's when the
 * platform has one, else rwlock_new's.  It is held across calls that
 * sleep, so the holder here sleeps.
 */
struct slots_stress {
	void *lock;
	volatile unsigned long count;
	atomic_int inside;
	atomic_ulong bad;
};

#define SLOTS_THREADS	3
#define SLOTS_OPS	200

static void *slots_worker(void *arg)
{
	struct slots_stress *s = arg;
	int i;

	for (i = 0; i < SLOTS_OPS; i++) {
		plat->write_lock(s->lock);
		if (atomic_fetch_add(&s->inside, 1))
			atomic_fetch_add(&s->bad, 1);
		s->count = s->count + 1;
		if (i % 16 == 0)
			sleep_ms(1);
		else
			sched_yield();
		atomic_fetch_sub(&s->inside, 1);
		plat->write_unlock(s->lock);
	}
	return NULL;
}

static void slots_lock(void)
{
	struct slots_stress s;
	pthread_t t[SLOTS_THREADS];
	uint64_t t0 = now_ns();
	bool held_ok;
	int i;

	memset(&s, 0, sizeof(s));
	s.lock = plat->sleeplock_new ? plat->sleeplock_new(hp) : plat->rwlock_new(hp);
	if (!s.lock)
		TAP_BAIL("slots lock allocation failed");
	held_ok = write_waits_for(s.lock, hold_write);
	for (i = 0; i < SLOTS_THREADS; i++)
		spawn(&t[i], slots_worker, &s);
	for (i = 0; i < SLOTS_THREADS; i++)
		join(t[i]);
	tap_ok(held_ok && !atomic_load(&s.bad) && s.count == SLOTS_THREADS * SLOTS_OPS,
	       "slots lock (%s): excludes a waiter while its holder sleeps; %d threads x %d, "
	       "%lu overlaps, count %lu [slots-excl]",
	       plat->sleeplock_new ? "sleeplock_new" : "rwlock_new", SLOTS_THREADS, SLOTS_OPS,
	       atomic_load(&s.bad), s.count);
	plat->rwlock_free(hp, s.lock);
	tap_diag("slots lock: %.0f ms", since_ms(t0));
}

/* ------------------------------------------------------------------ RCU */

static void rcu_sync_waits(void)
{
	struct hold s;
	pthread_t t;
	bool ok;

	memset(&s, 0, sizeof(s));
	spawn(&t, hold_rcu, &s);
	wait_for(&s.in, 1, 5000);
	plat->synchronize_rcu(hp);
	ok = atomic_load(&s.left);
	atomic_store(&s.go, 1);
	join(t);
	tap_ok(ok, "rcu: synchronize_rcu waits until a reader inside leaves [rcu-sync-waits]");
}

#define LIVE	0x11fe11fe11fe11feUL
#define POISON	0xdeaddeaddeaddeadUL
#define NR_OBJS	8

struct obj {
	volatile unsigned long magic;
};

static struct obj objs[NR_OBJS];
static _Atomic(struct obj *) cur_obj;
static atomic_ulong obj_reads, obj_bad, obj_updates;

static void *obj_reader(void *arg)
{
	unsigned long n = 0, m1, m2;
	struct obj *o;

	(void)arg;
	while (!stopping()) {
		plat->rcu_read_lock(hp);
		o = atomic_load_explicit(&cur_obj, memory_order_acquire);
		m1 = o->magic;
		if (n % 2 == 0)
			sched_yield();	/* a grace period that does not wait ends here */
		m2 = o->magic;
		plat->rcu_read_unlock(hp);
		if (m1 != LIVE || m2 != LIVE)
			atomic_fetch_add(&obj_bad, 1);
		n++;
	}
	atomic_fetch_add(&obj_reads, n);
	return NULL;
}

/* Publish the next object, wait a grace period, poison the old one.  The
 * ring's next object was unpublished NR_OBJS - 1 grace periods ago. */
static void *obj_updater(void *arg)
{
	unsigned long n = 0;
	struct obj *o, *old;

	(void)arg;
	while (!stopping()) {
		o = &objs[++n % NR_OBJS];
		o->magic = LIVE;
		old = atomic_exchange_explicit(&cur_obj, o, memory_order_acq_rel);
		plat->synchronize_rcu(hp);
		old->magic = POISON;
	}
	atomic_fetch_add(&obj_updates, n);
	return NULL;
}

static void rcu_stress(void)
{
	static void *(*const fns[])(void *) = { obj_updater, obj_reader, obj_reader, obj_reader };
	uint64_t t0 = now_ns();
	int i;

	for (i = 0; i < NR_OBJS; i++)
		objs[i].magic = POISON;
	objs[0].magic = LIVE;
	atomic_store(&cur_obj, &objs[0]);
	run_timed(4, fns, NULL);
	tap_ok(!atomic_load(&obj_bad) && atomic_load(&obj_updates) && atomic_load(&obj_reads),
	       "rcu stress, 1 updater 3 readers: %lu grace periods, %lu read sections, %lu saw "
	       "a poisoned object [rcu-ptr-stress]",
	       atomic_load(&obj_updates), atomic_load(&obj_reads), atomic_load(&obj_bad));
	tap_diag("rcu stress: %.0f ms", since_ms(t0));
}

/* ---------------------------------------------------------- defer_free */

/*
 * Table pages from alloc_page carry a canary, a function of the page's
 * address, in three words; the deferred callback poisons them before it
 * hands the page back with free_page.
 */
#define CANARY		0x5a5a0000c0ffee00UL
static const unsigned canary_words[] = { 1, PAGE_WORDS / 2, PAGE_WORDS - 1 };
static char defer_owner;
static atomic_ulong cb_done, cb_bad;
static _Atomic(uint64_t *) cur_page;
static atomic_ulong page_reads, page_bad, page_updates;

static uint64_t canary(const uint64_t *pg)
{
	return CANARY ^ (uint64_t)(uintptr_t)pg;
}

static uint64_t *new_page(void)
{
	uint64_t *pg = plat->alloc_page(hp, PAGE_SHIFT);
	unsigned i;

	if (!pg)
		TAP_BAIL("alloc_page failed");
	for (i = 0; i < sizeof(canary_words) / sizeof(canary_words[0]); i++)
		pg[canary_words[i]] = canary(pg);
	return pg;
}

static bool page_intact(const uint64_t *pg)
{
	unsigned i;

	for (i = 0; i < sizeof(canary_words) / sizeof(canary_words[0]); i++)
		if (((volatile const uint64_t *)pg)[canary_words[i]] != canary(pg))
			return false;
	return true;
}

static void defer_cb(void *owner, void *va, int level)
{
	uint64_t *pg = va;
	unsigned i;

	if (owner != &defer_owner || level != 2)
		atomic_fetch_add(&cb_bad, 1);
	for (i = 0; i < sizeof(canary_words) / sizeof(canary_words[0]); i++)
		((volatile uint64_t *)pg)[canary_words[i]] = POISON;
	plat->free_page(hp, va, PAGE_SHIFT);
	atomic_fetch_add(&cb_done, 1);
}

static void defer(uint64_t *pg)
{
	plat->defer_free(hp, pg, 2, defer_cb, &defer_owner);
}

/*
 * defer_barrier, then: did every callback queued so far (@queued in all)
 * run?  Whatever the answer, wait (up to 5 s) until they all have, so
 * that a broken barrier fails its check and nothing after it.
 */
static bool barrier_done(unsigned long queued)
{
	uint64_t end = now_ns() + 5000000000u;
	bool ok;

	plat->defer_barrier(hp);
	ok = atomic_load(&cb_done) == queued;
	while (atomic_load(&cb_done) < queued && now_ns() < end)
		sleep_ms(1);
	return ok;
}

static unsigned long deferred;	/* defer() calls so far */

struct defer_hold {
	struct hold h;
	uint64_t *pg;
	atomic_int intact;
};

static void *defer_reader(void *arg)
{
	struct defer_hold *s = arg;
	uint64_t *pg;

	plat->rcu_read_lock(hp);
	pg = atomic_load_explicit(&cur_page, memory_order_acquire);
	s->pg = pg;
	atomic_store(&s->h.in, 1);
	wait_for(&s->h.go, 1, 5000);
	atomic_store(&s->intact, page_intact(pg));
	plat->rcu_read_unlock(hp);
	return NULL;
}

/* A reader that found a page before it was queued still finds it intact
 * after the queueing, however long it stays. */
static void defer_grace(void)
{
	struct defer_hold s;
	uint64_t *old;
	pthread_t t;

	memset(&s, 0, sizeof(s));
	atomic_store(&cur_page, new_page());
	spawn(&t, defer_reader, &s);
	wait_for(&s.h.in, 1, 5000);
	old = atomic_exchange(&cur_page, new_page());
	defer(old);
	deferred++;
	sleep_ms(20);		/* time for a callback that does not wait */
	atomic_store(&s.h.go, 1);
	join(t);
	tap_ok(s.pg == old && atomic_load(&s.intact),
	       "defer_free: a reader inside since before the call still sees the page intact "
	       "[defer-grace]");
}

/*
 * defer_barrier waits for every callback queued so far (defer_grace's
 * too), here one whose grace period a reader holds.
 */
static void defer_barrier_waits(void)
{
	struct hold s;
	unsigned long done;
	bool left;
	pthread_t t;

	memset(&s, 0, sizeof(s));
	spawn(&t, hold_rcu, &s);
	wait_for(&s.in, 1, 5000);
	defer(new_page());
	deferred++;
	plat->defer_barrier(hp);
	done = atomic_load(&cb_done);
	left = atomic_load(&s.left);
	atomic_store(&s.go, 1);
	join(t);
	barrier_done(deferred);
	tap_ok(done == deferred && left,
	       "defer_barrier: returns after every callback (%lu of %lu), the last held back by "
	       "a reader (%s) [defer-barrier]",
	       done, deferred, left ? "gone" : "still inside");
}

static void *page_reader(void *arg)
{
	unsigned long n = 0;
	uint64_t *pg;
	bool ok;

	(void)arg;
	while (!stopping()) {
		plat->rcu_read_lock(hp);
		pg = atomic_load_explicit(&cur_page, memory_order_acquire);
		ok = page_intact(pg);
		if (n % 2 == 0)
			sched_yield();
		ok = ok && page_intact(pg);
		plat->rcu_read_unlock(hp);
		if (!ok)
			atomic_fetch_add(&page_bad, 1);
		n++;
	}
	atomic_fetch_add(&page_reads, n);
	return NULL;
}

static void *page_updater(void *arg)
{
	unsigned long n = 0;

	(void)arg;
	while (!stopping()) {
		defer(atomic_exchange_explicit(&cur_page, new_page(), memory_order_acq_rel));
		n++;
		/* bound the pages in flight: callbacks run on the platform's
		 * deferred-free thread */
		while (deferred + n - atomic_load(&cb_done) > 4096 && !stopping())
			sched_yield();
	}
	atomic_fetch_add(&page_updates, n);
	return NULL;
}

static void defer_stress(void)
{
	static void *(*const fns[])(void *) = { page_updater, page_reader, page_reader, page_reader };
	uint64_t t0 = now_ns();
	bool all_ran;

	run_timed(4, fns, NULL);
	deferred += atomic_load(&page_updates);
	all_ran = barrier_done(deferred);
	tap_ok(!atomic_load(&page_bad) && atomic_load(&page_updates) && atomic_load(&page_reads) &&
	       all_ran,
	       "defer_free stress, 1 updater 3 readers: %lu pages deferred, %lu read sections, "
	       "%lu saw a poisoned page, callbacks %lu of %lu after the barrier [defer-stress]",
	       atomic_load(&page_updates), atomic_load(&page_reads), atomic_load(&page_bad),
	       atomic_load(&cb_done), deferred);
	tap_diag("defer_free stress: %.0f ms", since_ms(t0));
}

/* -------------------------------------------------------- page_ref_add */

/*
 * Each thread adds +1 until told to stop (a time, not a count: adds that
 * overlap are what a lost update needs), then as many -1 as it added.
 */
struct ref_thread {
	void *pg;
	long adds;
};

/*
 * Spread the threads over the CPUs we may use: adds can only overlap on
 * two CPUs at once, and a busy machine might otherwise queue every thread
 * on one of them.  Best effort (one CPU: no overlap, nothing to do).
 */
static void pin_spread(pthread_t t, int i)
{
	cpu_set_t avail, one;
	int c, k;

	if (sched_getaffinity(0, sizeof(avail), &avail) || CPU_COUNT(&avail) < 2)
		return;
	k = i % CPU_COUNT(&avail);
	for (c = 0; c < CPU_SETSIZE; c++) {
		if (CPU_ISSET(c, &avail) && k-- == 0) {
			CPU_ZERO(&one);
			CPU_SET(c, &one);
			pthread_setaffinity_np(t, sizeof(one), &one);
			return;
		}
	}
}

static void *ref_up(void *arg)
{
	struct ref_thread *r = arg;
	long n = 0;

	while (!stopping()) {
		plat->page_ref_add(hp, r->pg, 1);
		n++;
	}
	r->adds = n;
	return NULL;
}

static void *ref_down(void *arg)
{
	struct ref_thread *r = arg;
	long i;

	for (i = 0; i < r->adds; i++)
		plat->page_ref_add(hp, r->pg, -1);
	return NULL;
}

static void ref_stress(void)
{
	struct ref_thread r[REF_THREADS];
	pthread_t t[REF_THREADS];
	uint64_t t0 = now_ns();
	long peak, end, total = 0;
	int i;

	atomic_store(&stop, 0);
	for (i = 0; i < REF_THREADS; i++) {
		r[i].pg = atomic_load(&cur_page);
		spawn(&t[i], ref_up, &r[i]);
		pin_spread(t[i], i);
	}
	sleep_ms(stress_ms / 2);
	atomic_store(&stop, 1);
	for (i = 0; i < REF_THREADS; i++) {
		join(t[i]);
		total += r[i].adds;
	}
	peak = plat->page_ref_add(hp, r[0].pg, 0);
	for (i = 0; i < REF_THREADS; i++) {
		spawn(&t[i], ref_down, &r[i]);
		pin_spread(t[i], i);
	}
	for (i = 0; i < REF_THREADS; i++)
		join(t[i]);
	end = plat->page_ref_add(hp, r[0].pg, 0);
	tap_ok(peak == 1 + total && end == 1,
	       "page_ref_add, %d threads: %ld increments, count %ld (want %ld), as many "
	       "decrements, count %ld (want 1) [ref-atomic]",
	       REF_THREADS, total, peak, 1 + total, end);
	tap_diag("page_ref_add stress: %.0f ms", since_ms(t0));
}

/* ----------------------------------------------------------------- main */

int main(int argc, char **argv)
{
	struct s2_hosted_stats st;
	uint64_t t0 = now_ns();

	if (argc > 1 && atoi(argv[1]) > 0)
		stress_ms = (unsigned)atoi(argv[1]);
	hp = s2_hosted_new();
	plat = s2_hosted_platform();
	if (!hp)
		TAP_BAIL("s2_hosted_new failed");

	rwlock_handoffs();
	rwlock_stress();
	slots_lock();
	rcu_sync_waits();
	rcu_stress();

	defer_grace();
	defer_barrier_waits();
	defer_stress();
	ref_stress();

	/* the page left published, then the books */
	defer(atomic_exchange(&cur_page, NULL));
	deferred++;
	tap_ok(barrier_done(deferred) && !atomic_load(&cb_bad),
	       "defer_free: %lu callbacks, each once, with its owner and level [defer-barrier]",
	       deferred);
	s2_hosted_get_stats(hp, &st);
	tap_ok(st.pages_live == 0 && st.deferred == deferred && st.deferred_done == deferred,
	       "hosted counters: %llu pages live, %llu deferred, %llu done [books]",
	       (unsigned long long)st.pages_live, (unsigned long long)st.deferred,
	       (unsigned long long)st.deferred_done);
	s2_hosted_free(hp);
	tap_diag("total %.0f ms", since_ms(t0));
	return tap_done();
}
