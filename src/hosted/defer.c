/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The hosted platform's deferred free (defer_free, defer_barrier): pages
 * queued for a worker thread that frees them after a grace period.
 */
#include <errno.h>
#include <time.h>

#include "internal.h"

/*
 * Callbacks wait in one FIFO, linked through the pages' metadata (so
 * defer_free cannot fail), for a worker thread that takes the whole queue,
 * waits one grace period for all of it and runs it.  After a wake-up the
 * worker first lets the queue fill for DEFER_BATCH_NS (unless a
 * defer_barrier is waiting): a fast unmap defers thousands of table pages
 * in microseconds, and a worker that woke, took one page and ran a grace
 * period for it would compete with that caller for the CPU and the queue
 * lock on every call.
 *
 * The worker starts on the first defer_free (not with the instance: a
 * process that has a second thread runs the engine's map loop measurably
 * slower, docs/hosted.md).  It is detached, and leaves by itself once no
 * instance has existed for DEFER_LINGER_NS with nothing queued, so a
 * program that frees its instances is left with no thread, while one that
 * frees an instance and makes the next (every test, every benchmark pass)
 * does not pay for a thread in its first deferred free.  done counts the
 * callbacks run, in queue order: defer_barrier waits until it reaches the
 * count queued when it was called.
 */
#define DEFER_BATCH_NS	1000000L
#define DEFER_POLLS	20	/* queue looks before the worker sleeps for good */
#define DEFER_LINGER_NS	1000000000L

enum { W_NONE, W_RUNNING };

static struct {
	pthread_mutex_t lock;
	pthread_cond_t work;		/* to the worker: queue, hurry, instances */
	pthread_cond_t done_cv;		/* to defer_barrier: done moved */
	struct page_meta *head, **tail;
	uint64_t queued, done;
	unsigned instances;		/* live struct s2_hosted */
	int state;
	bool idle;			/* the worker waits for work */
	bool hurry;			/* a defer_barrier waits: no batching delay */
} dq = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.done_cv = PTHREAD_COND_INITIALIZER,
	.tail = &dq.head,
	.state = W_NONE,
};
static pthread_once_t dq_once = PTHREAD_ONCE_INIT;

/* work is timed against CLOCK_MONOTONIC, which needs a run-time init */
static void dq_init(void)
{
	pthread_condattr_t a;

	if (pthread_condattr_init(&a) || pthread_condattr_setclock(&a, CLOCK_MONOTONIC) ||
	    pthread_cond_init(&dq.work, &a))
		s2h_rcu_die("cannot initialise the deferred-free queue");
	pthread_condattr_destroy(&a);
}

static struct timespec defer_deadline(long ns)
{
	struct timespec end;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += ns / 1000000000L;
	end.tv_nsec += ns % 1000000000L;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	return end;
}

/* Called with dq.lock held: let more callbacks join the batch. */
static void defer_batch_delay(void)
{
	struct timespec end = defer_deadline(DEFER_BATCH_NS);

	while (!dq.hurry &&
	       pthread_cond_timedwait(&dq.work, &dq.lock, &end) == 0)
		;
}

static void *defer_worker(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&dq.lock);
	for (;;) {
		struct page_meta *m, *next;
		struct s2_hosted *h;
		uint64_t upto, n;
		unsigned polls = 0;

		/* Look at the queue every DEFER_BATCH_NS for a while before
		 * asking to be woken: work tends to come in bursts, and a
		 * defer_free that must wake us pays for a system call. */
		while (!dq.head) {
			struct timespec end;
			int err;

			if (polls++ < DEFER_POLLS) {
				end = defer_deadline(DEFER_BATCH_NS);
				pthread_cond_timedwait(&dq.work, &dq.lock, &end);
				continue;
			}
			dq.idle = true;
			if (dq.instances) {
				pthread_cond_wait(&dq.work, &dq.lock);
				dq.idle = false;
				continue;
			}
			/* no instance left: wait a while for the next one */
			end = defer_deadline(DEFER_LINGER_NS);
			err = pthread_cond_timedwait(&dq.work, &dq.lock, &end);
			dq.idle = false;
			if (err == ETIMEDOUT && !dq.head && !dq.instances) {
				dq.state = W_NONE;
				pthread_mutex_unlock(&dq.lock);
				return NULL;
			}
		}
		defer_batch_delay();
		dq.hurry = false;
		m = dq.head;
		dq.head = NULL;
		dq.tail = &dq.head;
		upto = dq.queued;
		pthread_mutex_unlock(&dq.lock);

		/* one grace period for the whole batch: each page in it was
		 * unpublished before its defer_free, so before this began */
		s2h_rcu_synchronize();
		for (h = NULL, n = 0; m; m = next) {
			/* one count per run of one instance's pages: a shard
			 * belongs to one (thread, instance) pair, and this
			 * thread serves them all */
			if (m->h != h) {
				if (n)
					STAT_ADD(h, deferred_done, n);
				h = m->h;
				n = 0;
			}
			/* the callback frees the page, and its metadata may be
			 * queued again at once by whoever allocates it next */
			next = m->defer_next;
			m->fn(m->owner, m->va, m->level);
			n++;
		}
		if (n)
			STAT_ADD(h, deferred_done, n);

		pthread_mutex_lock(&dq.lock);
		dq.done = upto;
		pthread_cond_broadcast(&dq.done_cv);
	}
}

/* Called with dq.lock held.  Detached: nobody joins it, it leaves alone. */
static void defer_start_worker(void)
{
	pthread_attr_t a;
	pthread_t tid;

	if (pthread_attr_init(&a) || pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED) ||
	    pthread_create(&tid, &a, defer_worker, NULL))
		s2h_rcu_die("cannot start the deferred-free thread");	/* the hook cannot fail */
	pthread_attr_destroy(&a);
	dq.state = W_RUNNING;
}

void s2h_defer_free(void *ctx, void *va, int level, s2_deferred_fn fn, void *owner)
{
	struct s2_hosted *h = ctx;
	struct page_meta *m = meta_of(va);

	if (FAULT(DEFER_NOW)) {		/* fault injection: no grace period */
		fn(owner, va, level);
		return;
	}
	m->fn = fn;
	m->owner = owner;
	m->va = va;
	m->level = level;
	m->h = h;
	m->defer_next = NULL;
	STAT_ADD(h, deferred, 1);
	pthread_mutex_lock(&dq.lock);
	*dq.tail = m;
	dq.tail = &m->defer_next;
	dq.queued++;
	if (dq.state == W_NONE)
		defer_start_worker();
	else if (dq.idle)
		pthread_cond_signal(&dq.work);
	pthread_mutex_unlock(&dq.lock);
}

void s2h_defer_wait(void)
{
	uint64_t target;

	s2h_rcu_assert_outside();
	pthread_mutex_lock(&dq.lock);
	target = dq.queued;
	if (dq.done < target) {
		dq.hurry = true;
		pthread_cond_signal(&dq.work);
	}
	while (dq.done < target)
		pthread_cond_wait(&dq.done_cv, &dq.lock);
	pthread_mutex_unlock(&dq.lock);
}

void s2h_defer_barrier(void *ctx)
{
	(void)ctx;
	if (FAULT(BARRIER_NOOP))	/* fault injection */
		return;
	s2h_defer_wait();
}

/* A new instance: count it (the worker stays while there is one). */
void s2h_defer_instance_get(void)
{
	pthread_once(&dq_once, dq_init);
	pthread_mutex_lock(&dq.lock);
	dq.instances++;
	pthread_mutex_unlock(&dq.lock);
}

/* An instance gone: the last one starts the worker's countdown. */
void s2h_defer_instance_put(void)
{
	pthread_mutex_lock(&dq.lock);
	if (--dq.instances == 0 && dq.idle)
		pthread_cond_signal(&dq.work);
	pthread_mutex_unlock(&dq.lock);
}
