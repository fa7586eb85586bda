/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The hosted platform's RCU: read sections, grace periods, the registry of
 * the threads that read, and what it tells ThreadSanitizer about them.
 */
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/*
 * Our own user-space RCU (docs/hosted.md).  The engine enters a read
 * section for every shared walk, so the read side must cost a few
 * nanoseconds: liburcu's, called out of line (inlining it would bring
 * LGPL code into this GPL-2.0-only OR BSD-2-Clause file), cost ten times
 * that.  The algorithm is the classic two-phase one with the memory
 * barriers moved from readers to the writer:
 *
 *  - rcu_gp.gp_ctr is RCU_ACTIVE plus a phase bit; only a grace period,
 *    under rcu.gp_lock, changes it.
 *  - Each thread that reads has a struct rcu_reader in the registry.  Its
 *    ctr is 0 outside a read section and the snapshot of gp_ctr taken
 *    on the outermost entry inside one; nesting is counted apart, by the
 *    thread alone.  Entering stores the snapshot, leaving stores 0, each
 *    with a relaxed store and a compiler barrier; leaving then looks at
 *    rcu_gp.waiting, on the line it loaded gp_ctr from, to wake a grace
 *    period that sleeps waiting for it.  No fence, no atomic
 *    read-modify-write.
 *  - synchronize_rcu makes every running thread of the process execute a
 *    full memory barrier (membarrier(2), MEMBARRIER_CMD_PRIVATE_EXPEDITED),
 *    flips the phase and waits until no reader's ctr holds the old phase,
 *    flips it back and waits again, and ends with a second membarrier.
 *    The first membarrier splits every reader's program at some point:
 *    accesses after it see what the updater unpublished before calling us,
 *    and a section entered before it has its ctr store visible to the scans
 *    that follow.  Such a section is waited for by whichever of the two
 *    scans looks for its phase.  One flip and one scan would not do: a
 *    reader that loaded gp_ctr before one grace period's flip and stored
 *    its snapshot after that grace period's scan holds the phase the next
 *    grace period calls new, and would not be waited for.  The last
 *    membarrier orders every access of the finished sections before what
 *    the caller does next (free the page).
 *  - Without membarrier (registration refused: an old kernel, seccomp, an
 *    emulator), decided once at initialisation, before any thread can be
 *    inside a section: readers put a sequentially consistent fence after
 *    their entry store and before their exit store, and the writer's two
 *    membarriers become fences, the store-buffering pairing of the classic
 *    algorithm (and a second fence in the reader orders its exit store
 *    before its look at waiting).
 *
 * ThreadSanitizer sees no happens-before in this: the reader side is
 * relaxed stores ordered by compiler barriers, and membarrier(2) is a
 * system call that TSan does not model.  Without help every page freed
 * after a grace period would be reported as racing with the reads of the
 * walkers that the grace period waited for.  So, under TSan only, the
 * hooks state the guarantee RCU gives as a release/acquire pair: a read
 * section's end releases rcu_gp_sync, and a grace period's end
 * (synchronize_rcu returning, which is also how a deferred callback starts)
 * acquires it: every reader that has finished is ordered before what
 * follows the grace period.  That is the edge RCU guarantees plus one it
 * does not promise: a reader that *started* after the grace period began
 * also gets an edge.  Such a reader cannot have reached the unlinked page
 * unless the unlink itself is wrong, which the engine's tests and the
 * checker cover.  Nothing else is hidden: the deferred-free queue and its
 * barrier are mutexes and condition variables TSan sees, and every access
 * outside the two read-side hooks (whose own bookkeeping is not
 * instrumented, below) stays fully checked.
 */
#if defined(__SANITIZE_THREAD__)
#define S2_HOSTED_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define S2_HOSTED_TSAN 1
#endif
#endif

#ifdef S2_HOSTED_TSAN
#include <sanitizer/tsan_interface.h>
#define tsan_release(a)	__tsan_release(a)
#define tsan_acquire(a)	__tsan_acquire(a)
/*
 * The read side's own accesses (its thread's nesting count and snapshot,
 * the phase it copies) are left uninstrumented: TSan cannot judge the
 * algorithm anyway, the annotations state its guarantee, and
 * instrumented they made every shared walk of a TSan build markedly
 * slower, so fewer interleavings in the same test time.  The writer's
 * scan still reads each snapshot with an instrumented atomic load.
 */
#define no_tsan		__attribute__((no_sanitize("thread")))
#else
#define tsan_release(a)	((void)(a))
#define tsan_acquire(a)	((void)(a))
#define no_tsan
#endif
/* Only its address matters: TSan's synchronisation object. */
static char rcu_gp_sync;

/*
 * A full memory fence.  GCC 12 warns (-Wtsan) that ThreadSanitizer does not
 * model fences; the fence is emitted all the same, and under TSan the
 * annotations above state what the fences order.
 */
#if defined(S2_HOSTED_TSAN) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wtsan"
#endif
static inline void full_fence(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}
#if defined(S2_HOSTED_TSAN) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic pop
#endif

#define RCU_ACTIVE	1UL	/* always set in gp_ctr, so a snapshot is never 0 */
#define RCU_PHASE	2UL
/* A grace period rescans this many times, a few pauses apart, before it
 * sleeps until the reader it waits for leaves: read sections are short
 * walks, and on a loaded machine a sleep or a yield costs milliseconds. */
#define RCU_SPIN_SCANS	100
/* The longest it sleeps without a wake-up before it looks again. */
#define RCU_WAIT_NS	10000000L

struct rcu_reader {
	/* 0 outside a read section, else the gp_ctr snapshot of the
	 * outermost entry.  Written by its own thread, read by writers. */
	unsigned long ctr;
	unsigned nest;		/* read-section depth; its own thread only */
	bool online;		/* in the registry */
	struct rcu_reader *next, **pprev;	/* under rcu_registry_lock */
};

static __thread struct rcu_reader tl_rcu;

/* Read by every reader's outermost entry, written twice per grace period;
 * kept off the lines of the locks writers take. */
static struct {
	_Alignas(64) unsigned long gp_ctr;
	int waiting;			/* -1: a grace period sleeps on this futex */
	bool reader_fence;		/* no membarrier: readers fence */
} rcu_gp = { .gp_ctr = RCU_ACTIVE };

static struct {
	_Alignas(64) pthread_mutex_t gp_lock;	/* one grace period at a time */
	pthread_mutex_t registry_lock;
	struct rcu_reader *readers;
	pthread_key_t key;		/* its destructor takes a thread offline */
	bool membarrier;
} rcu = {
	.gp_lock = PTHREAD_MUTEX_INITIALIZER,
	.registry_lock = PTHREAD_MUTEX_INITIALIZER,
};
static pthread_once_t rcu_once = PTHREAD_ONCE_INIT;

void s2h_rcu_die(const char *why)
{
	fprintf(stderr, "s2mmu hosted RCU: %s\n", why);
	abort();
}

static long sys_membarrier(int cmd)
{
	return syscall(__NR_membarrier, cmd, 0, 0);
}

static long sys_futex(int *uaddr, int op, int val, const struct timespec *timeout)
{
	return syscall(SYS_futex, uaddr, op, val, timeout, NULL, 0);
}

static void rcu_thread_exit(void *unused);

/*
 * Once per process, before any thread is registered (s2_hosted_thread_online
 * and every writer come through here first), so the readers' choice between
 * compiler barriers and fences never changes under a reader inside a section.
 */
static void rcu_init(void)
{
	long cmds = sys_membarrier(MEMBARRIER_CMD_QUERY);

	if (pthread_key_create(&rcu.key, rcu_thread_exit))
		s2h_rcu_die("pthread_key_create failed");
	rcu.membarrier = cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
			 sys_membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
#ifdef S2_HOSTED_FAULT
	/* the fault build runs the stress test on the fallback as well */
	if (getenv("S2_HOSTED_RCU_FENCE")) {
		rcu.membarrier = false;
		fprintf(stderr, "# hosted RCU: fences, not membarrier (S2_HOSTED_RCU_FENCE)\n");
	}
#endif
	__atomic_store_n(&rcu_gp.reader_fence, !rcu.membarrier, __ATOMIC_RELAXED);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
#endif
}

/*
 * The reader's half of the pairing.  With membarrier, a compiler barrier:
 * it keeps the compiler from moving the section's accesses across the ctr
 * stores, and the writer's membarrier does what a fence here would, only
 * when a grace period needs it.  Without, a full fence (store-load order:
 * our ctr store before the section's loads).
 */
static inline void rcu_reader_barrier(void)
{
	if (s2_unlikely(__atomic_load_n(&rcu_gp.reader_fence, __ATOMIC_RELAXED)))
		full_fence();
	else
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

/*
 * The writer's half: a full barrier on every running thread of the process
 * (threads not running get one from the context switch).  The fences
 * around the call order the writer's own accesses whatever the kernel does.
 */
static void rcu_writer_barrier(void)
{
	full_fence();
	if (rcu.membarrier && sys_membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)) {
		/* registration is per address space: a forked child has none */
		if (sys_membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) ||
		    sys_membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED))
			s2h_rcu_die("membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) failed");
	}
	full_fence();
}

static void rcu_thread_exit(void *unused)
{
	struct rcu_reader *r = &tl_rcu;

	(void)unused;
	if (!r->online)
		return;
	if (r->nest)
		s2h_rcu_die("thread offline inside a read section");
	pthread_mutex_lock(&rcu.registry_lock);
	*r->pprev = r->next;
	if (r->next)
		r->next->pprev = r->pprev;
	pthread_mutex_unlock(&rcu.registry_lock);
	r->online = false;
}

void s2_hosted_thread_online(void)
{
	struct rcu_reader *r = &tl_rcu;

	if (r->online)
		return;
	pthread_once(&rcu_once, rcu_init);
	pthread_mutex_lock(&rcu.registry_lock);
	r->next = rcu.readers;
	if (r->next)
		r->next->pprev = &r->next;
	r->pprev = &rcu.readers;
	rcu.readers = r;
	pthread_mutex_unlock(&rcu.registry_lock);
	r->online = true;
	/* any non-NULL value makes the destructor run at thread exit */
	pthread_setspecific(rcu.key, (void *)1);
}

void s2_hosted_thread_offline(void)
{
	rcu_thread_exit(NULL);
}

/* Is @r inside a section entered in the phase before @gp's? */
static bool rcu_reader_old(struct rcu_reader *r, unsigned long gp)
{
	unsigned long c = __atomic_load_n(&r->ctr, __ATOMIC_RELAXED);

	return c && ((c ^ gp) & RCU_PHASE);
}

/* Is any registered thread inside a section of the phase before @gp? */
static bool rcu_old_readers(unsigned long gp)
{
	struct rcu_reader *r;
	bool busy = false;

	pthread_mutex_lock(&rcu.registry_lock);
	for (r = rcu.readers; r && !busy; r = r->next)
		busy = rcu_reader_old(r, gp);
	pthread_mutex_unlock(&rcu.registry_lock);
	return busy;
}

/*
 * Wait until no registered thread is inside a section of the phase before
 * @gp.  Readers that enter now take the new phase and are not waited for,
 * so a stream of readers cannot hold a grace period back.  The registry
 * lock is held only for a scan: a reader we wait for may be waiting on a
 * thread that is registering.
 *
 * First rescans, a few pauses apart.  Then sleep on rcu_gp.waiting, which
 * the reader leaving its outermost section sees as -1 and wakes us.  No
 * wake-up is lost: we store -1, then make every running reader execute a
 * barrier (rcu_writer_barrier), then scan.  A reader whose exit store came
 * before its barrier is seen by that scan; one whose exit store came after
 * loads waiting after it too (rcu_reader_barrier between the two), so it
 * sees -1.  The sleep is bounded all the same.
 */
static void rcu_wait_old_readers(unsigned long gp)
{
	const struct timespec limit = { 0, RCU_WAIT_NS };
	unsigned tries, i;

	for (tries = 0; tries < RCU_SPIN_SCANS; tries++) {
		if (!rcu_old_readers(gp))
			return;
		for (i = 0; i < 16; i++)
			cpu_relax();
	}
	for (;;) {
		__atomic_store_n(&rcu_gp.waiting, -1, __ATOMIC_RELAXED);
		rcu_writer_barrier();
		if (!rcu_old_readers(gp))
			break;
		sys_futex(&rcu_gp.waiting, FUTEX_WAIT_PRIVATE, -1, &limit);
	}
	__atomic_store_n(&rcu_gp.waiting, 0, __ATOMIC_RELAXED);
}

void s2h_rcu_assert_outside(void)
{
	if (tl_rcu.nest)
		s2h_rcu_die("synchronize_rcu or defer_barrier inside a read section");
}

void s2h_rcu_synchronize(void)
{
	unsigned long gp;

	s2h_rcu_assert_outside();
	pthread_once(&rcu_once, rcu_init);
	pthread_mutex_lock(&rcu.gp_lock);
	rcu_writer_barrier();
	gp = __atomic_load_n(&rcu_gp.gp_ctr, __ATOMIC_RELAXED) ^ RCU_PHASE;
	__atomic_store_n(&rcu_gp.gp_ctr, gp, __ATOMIC_RELAXED);
	/* not for safety (the barrier above gave that) but for progress: new
	 * sections should take the new phase soon */
	full_fence();
	rcu_wait_old_readers(gp);
	gp ^= RCU_PHASE;
	__atomic_store_n(&rcu_gp.gp_ctr, gp, __ATOMIC_RELAXED);
	full_fence();
	rcu_wait_old_readers(gp);
	rcu_writer_barrier();
	pthread_mutex_unlock(&rcu.gp_lock);
	tsan_acquire(&rcu_gp_sync);
}

/* A grace period sleeps, perhaps waiting for us: wake it (one reader does). */
static __attribute__((noinline, cold)) void rcu_wake_writer(void)
{
	if (__atomic_exchange_n(&rcu_gp.waiting, 0, __ATOMIC_RELAXED) == -1)
		sys_futex(&rcu_gp.waiting, FUTEX_WAKE_PRIVATE, 1, NULL);
}

no_tsan void s2h_rcu_read_lock(void *ctx)
{
	struct rcu_reader *r = &tl_rcu;

	(void)ctx;
	if (s2_unlikely(!r->online))
		s2_hosted_thread_online();
	if (FAULT(RCU_NOLOCK))		/* fault injection: not a reader */
		return;
	if (r->nest++ == 0) {
		__atomic_store_n(&r->ctr, __atomic_load_n(&rcu_gp.gp_ctr, __ATOMIC_RELAXED),
				 __ATOMIC_RELAXED);
		rcu_reader_barrier();
	}
}

no_tsan void s2h_rcu_read_unlock(void *ctx)
{
	struct rcu_reader *r = &tl_rcu;

	(void)ctx;
	tsan_release(&rcu_gp_sync);
	if (FAULT(RCU_NOLOCK))		/* fault injection */
		return;
	if (s2_unlikely(r->nest == 0))
		s2h_rcu_die("rcu_read_unlock outside a read section");
	if (--r->nest == 0) {
		rcu_reader_barrier();
		__atomic_store_n(&r->ctr, 0, __ATOMIC_RELAXED);
		/* our exit store before the look at waiting (see
		 * rcu_wait_old_readers) */
		rcu_reader_barrier();
		if (s2_unlikely(__atomic_load_n(&rcu_gp.waiting, __ATOMIC_RELAXED)))
			rcu_wake_writer();
	}
}

void s2h_synchronize_rcu(void *ctx)
{
	(void)ctx;
	if (FAULT(SYNC_NOOP))		/* fault injection: no grace period */
		return;
	s2h_rcu_synchronize();
}
