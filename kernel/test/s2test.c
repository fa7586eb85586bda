// SPDX-License-Identifier: GPL-2.0-only
/*
 * s2test: drive /dev/s2mmu from a process whose memory the real kernel's
 * mm keeps changing, and check that the secondary MMU stays coherent.
 *
 * The guest memory is an anonymous, 2 MiB-aligned region of this process
 * mapped by a memslot.  Accessor threads do guest accesses through the
 * device and check them against this process's own view of the same
 * bytes, both directions; disruptor threads change the host mapping
 * underneath (madvise, munmap/mmap, mprotect, mremap, fork + COW, THP
 * collapse, compaction, swap-out), and each phase ends with VERIFY, which
 * compares every stage-2 entry with the process's page tables.
 *
 * Exactness: every page belongs to a group with a mutex; the accessor and
 * the disruptors take it around a check, so at any point the expected
 * content of every tracked word is known exactly, and each disruptor
 * checks the guest's view right after changing the host (a stale stage-2
 * entry after DONTNEED, for example, returns the old data instead of 0).
 * A "chaos" thread races accesses against the same changes without the
 * lock, where a read may only ever return 0 or that page's own tag.
 * Event counts are asserted as lower bounds only: background daemons
 * (khugepaged, ksmd, kcompactd, reclaim) add events at their own pace.
 *
 * Finally the process exits with a forked accessor still using the device
 * on its memory, so the notifier's release (exit_mmap) runs while guest
 * accesses are in flight (seed 001); the child must see every later
 * access fail with ESRCH, never succeed on freed memory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "s2mmu_uapi.h"
#include "s2trace.h"
#include "s2util.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

#define PAGE		4096UL
#define HUGE		(2UL << 20)
#define REGION_SIZE	(8UL << 20)		/* 4 huge pages */
#define NPAGES		(REGION_SIZE / PAGE)
#define GROUP_PAGES	16
#define NGROUPS		(NPAGES / GROUP_PAGES)
#define NWORDS		4			/* tracked words per page */
#define GPA_BASE	0x40000000UL		/* slot 0 */
#define CHAOS_PAGES	64
#define CHAOS_GPA	0x80000000UL		/* slot 1 */
#define KSM_PAGES	128
#define KSM_GPA		0xc0000000UL		/* slot 2 */
#define CLOSE_GPA	0x100000000UL
#define DIRTY_PAGES	256
#define DIRTY_GPA	0x140000000UL		/* slot 4 */
#define AGE_PAGES	64
#define AGE_GPA		0x180000000UL		/* slot 5 */

static const unsigned word_off[NWORDS] = { 0, 1024, 2056, PAGE - 8 };

static int dev;
static char *region;		/* slot 0's memory */
static char *spare;		/* mremap target */
static char *chaos;		/* slot 1's memory */
static int scale = 1;		/* s2test.scale=N on the kernel command line */
static atomic_int failures;
/* s2test.record=PHASE,PHASE: record those phases (docs/trace.md) over the
 * first TRACE_WINDOW bytes of slot 0, s2test.reccap=N records each. */
#define TRACE_WINDOW	(4UL << 20)
static const char *record_list = "mprotect";
static unsigned record_cap = 1024;	/* overflows: the drop marker runs in CI */
static FILE *trace_out;
static atomic_bool stop;

struct group {
	pthread_mutex_t lock;
	uint64_t expect[GROUP_PAGES][NWORDS];
};
static struct group groups[NGROUPS];

static atomic_ulong n_access, n_ptr_checks, n_ops[16];
enum { OP_DONTNEED, OP_REMAP, OP_MPROTECT, OP_MREMAP, OP_FORK, OP_COLLAPSE,
       OP_COMPACT, OP_PAGEOUT, OP_CHAOS_RACE, OP_KSM_MERGED, OP_SLOT_CYCLE, OP_NR };
static const char *op_name[OP_NR] = {
	"madvise(DONTNEED)", "munmap+mmap", "mprotect", "mremap", "fork+COW",
	"MADV_COLLAPSE", "compact_memory", "MADV_PAGEOUT", "chaos races",
	"KSM pages merged", "memslot del/add" };

#define FAIL(...) do { fail_msg(__FILE__, __LINE__, __VA_ARGS__); } while (0)
static void fail_msg(const char *f, int l, const char *fmt, ...)
{
	va_list ap;
	char buf[512];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("S2TEST: FAIL %s:%d: %s\n", f, l, buf);
	fflush(stdout);
	atomic_fetch_add(&failures, 1);
}

/* ---- device wrappers ---------------------------------------------------- */

static int dev_rw(int fd, unsigned vcpu, uint64_t gpa, bool write, uint64_t *val)
{
	struct s2k_access a = { .gpa = gpa, .vcpu = vcpu,
				.flags = write ? S2K_ACC_WRITE : 0,
				.value = write ? *val : 0 };

	if (ioctl(fd, S2K_ACCESS, &a))
		return -errno;
	if (!write)
		*val = a.value;
	atomic_fetch_add(&n_access, 1);
	return 0;
}

static void slot(int fd, unsigned long req, unsigned id, uint64_t gpa, void *hva,
		 size_t size)
{
	struct s2k_slot s = { .id = id, .gpa = gpa, .hva = (uintptr_t)hva, .size = size };

	if (ioctl(fd, req, &s))
		FAIL("slot %s %u: %s", req == S2K_SLOT_ADD ? "add" : "del", id, strerror(errno));
}

static uint64_t verify(int fd, const char *what, uint64_t gpa, uint64_t size, bool quiet)
{
	struct s2k_verify v = { .gpa = gpa, .size = size };
	unsigned i;

	if (ioctl(fd, S2K_VERIFY, &v)) {
		FAIL("VERIFY %s: %s", what, strerror(errno));
		return 1;
	}
	if (!quiet || v.violations)
		printf("S2TEST: verify %-22s %6llu entries %4llu TLB, %llu violations, %llu raced\n",
		       what, (unsigned long long)v.checked, (unsigned long long)v.tlb_checked,
		       (unsigned long long)v.violations, (unsigned long long)v.raced);
	for (i = 0; i < v.violations && i < S2K_NR_VIOL; i++)
		FAIL("violation kind %u gpa %#llx hva %#llx s2 pfn %#llx%s host pfn %#llx%s last event %u [%#llx,%#llx)",
		     v.v[i].kind, (unsigned long long)v.v[i].gpa, (unsigned long long)v.v[i].hva,
		     (unsigned long long)v.v[i].s2_pfn, v.v[i].s2_writable ? " rw" : " ro",
		     (unsigned long long)v.v[i].host_pfn, v.v[i].host_writable ? " rw" : " ro",
		     v.v[i].last_event, (unsigned long long)v.v[i].last_start,
		     (unsigned long long)v.v[i].last_end);
	if (v.violations > S2K_NR_VIOL)
		FAIL("%llu more violations", (unsigned long long)(v.violations - S2K_NR_VIOL));
	return v.violations;
}

static struct s2k_stats stats(int fd)
{
	struct s2k_stats st;

	memset(&st, 0, sizeof(st));
	if (ioctl(fd, S2K_STATS, &st))
		FAIL("STATS: %s", strerror(errno));
	return st;
}

static const char *ev_name[S2K_EV_NR] = {
	"invalidate_range_start", "invalidate_range_end", "release",
	"clear_flush_young", "clear_young", "test_young", "change_pte" };
static const char *reason_name[S2K_NR_REASONS] = {
	"UNMAP", "CLEAR", "PROTECTION_VMA", "PROTECTION_PAGE", "SOFT_DIRTY",
	"RELEASE", "MIGRATE", "EXCLUSIVE" };
static const char *st_name[S2K_ST_NR] = {
	"accesses", "tlb_hits", "walk_hits", "faults", "retry_seq",
	"retry_in_progress", "maps", "zapped_pages", "tlb_flushes", "host_efault", "young",
	"retry_race", "retry_memslot", "relaxes", "young_faults", "blocks",
	"spurious_retries", "after_release", "dirty_pages", "harvests", "age_calls",
	"memslot_updates", "tables" };

static void print_stats(const char *tag, const struct s2k_stats *st)
{
	unsigned i;

	printf("S2TEST: events %s:", tag);
	for (i = 0; i < S2K_EV_NR; i++)
		printf(" %s=%llu", ev_name[i], (unsigned long long)st->ev[i]);
	printf("\nS2TEST: invalidate reasons %s:", tag);
	for (i = 0; i < S2K_NR_REASONS; i++)
		printf(" %s=%llu", reason_name[i], (unsigned long long)st->inv_reason[i]);
	printf("\nS2TEST: stats %s:", tag);
	for (i = 0; i < S2K_ST_NR; i++)
		printf(" %s=%llu", st_name[i], (unsigned long long)st->stat[i]);
	printf(" entries=%llu entries_pages=%llu\n", (unsigned long long)st->entries,
	       (unsigned long long)st->entries_pages);
	fflush(stdout);
}

/* ---- model of slot 0 ----------------------------------------------------- */

static uint64_t page_gpa(unsigned page, unsigned w)
{
	return GPA_BASE + page * PAGE + word_off[w];
}

static uint64_t *page_ptr(unsigned page, unsigned w)
{
	return (uint64_t *)(region + page * PAGE + word_off[w]);
}

/* Check one tracked word through the device.  Context: group lock held. */
static void check_dev(unsigned vcpu, unsigned page, unsigned w, const char *after)
{
	uint64_t v;
	int r = dev_rw(dev, vcpu, page_gpa(page, w), false, &v);
	uint64_t e = groups[page / GROUP_PAGES].expect[page % GROUP_PAGES][w];

	if (r)
		FAIL("device read page %u after %s: %s", page, after, strerror(-r));
	else if (v != e)
		FAIL("device read page %u word %u after %s: %#llx, expected %#llx",
		     page, w, after, (unsigned long long)v, (unsigned long long)e);
}

static void group_zero(unsigned g)
{
	memset(groups[g].expect, 0, sizeof(groups[g].expect));
}

/* Every byte of the group through our pointer: tracked words as expected,
 * the rest zero (nobody writes them).  Context: group lock held. */
static void sweep_group(unsigned g)
{
	unsigned p, w;

	for (p = 0; p < GROUP_PAGES; p++) {
		uint64_t *pg = (uint64_t *)(region + (g * GROUP_PAGES + p) * PAGE);
		unsigned i;

		for (i = 0, w = 0; i < PAGE / 8; i++) {
			uint64_t e = 0;

			if (w < NWORDS && i * 8 == word_off[w])
				e = groups[g].expect[p][w++];
			if (pg[i] != e) {
				FAIL("sweep page %u offset %u: %#llx, expected %#llx",
				     g * GROUP_PAGES + p, i * 8, (unsigned long long)pg[i],
				     (unsigned long long)e);
				return;
			}
		}
	}
}

static void lock_all(void)
{
	for (unsigned g = 0; g < NGROUPS; g++)
		pthread_mutex_lock(&groups[g].lock);
}

static void unlock_all(void)
{
	for (unsigned g = NGROUPS; g-- > 0;)
		pthread_mutex_unlock(&groups[g].lock);
}

/* ---- accessor ------------------------------------------------------------- */

static void *accessor(void *arg)
{
	unsigned vcpu = (uintptr_t)arg;
	uint64_t s = 0x9e3779b97f4a7c15ULL * (vcpu + 1);

	while (!atomic_load(&stop)) {
		unsigned page = rnd(&s) % NPAGES, w = rnd(&s) % NWORDS;
		unsigned g = page / GROUP_PAGES, pi = page % GROUP_PAGES;
		uint64_t v = rnd(&s) | 1, got;	/* never 0: 0 means "no data" */
		int r;

		pthread_mutex_lock(&groups[g].lock);
		switch (rnd(&s) % 3) {
		case 0:	/* guest writes, host reads */
			r = dev_rw(dev, vcpu, page_gpa(page, w), true, &v);
			if (r) {
				FAIL("device write page %u: %s", page, strerror(-r));
				break;
			}
			groups[g].expect[pi][w] = v;
			if (*page_ptr(page, w) != v)
				FAIL("host read page %u word %u: %#llx after guest wrote %#llx",
				     page, w, (unsigned long long)*page_ptr(page, w),
				     (unsigned long long)v);
			atomic_fetch_add(&n_ptr_checks, 1);
			break;
		case 1:	/* host writes, guest reads */
			*page_ptr(page, w) = v;
			groups[g].expect[pi][w] = v;
			r = dev_rw(dev, vcpu, page_gpa(page, w), false, &got);
			if (r)
				FAIL("device read page %u: %s", page, strerror(-r));
			else if (got != v)
				FAIL("guest read page %u word %u: %#llx after host wrote %#llx",
				     page, w, (unsigned long long)got, (unsigned long long)v);
			break;
		default: /* guest reads what the model says */
			check_dev(vcpu, page, w, "accessor");
			break;
		}
		pthread_mutex_unlock(&groups[g].lock);
	}
	return NULL;
}

/*
 * Unlocked racer on slot 1: each page only ever holds 0 or its own tag,
 * so whatever the interleaving with the disruptor, a read returning
 * anything else used a frame that is not (or no longer) this page's.
 */
static uint64_t chaos_tag(unsigned p)
{
	return 0x5a5a000000000000ULL | p;
}

static void *chaos_accessor(void *arg)
{
	unsigned vcpu = (uintptr_t)arg;
	uint64_t s = 12345 + vcpu, v;

	while (!atomic_load(&stop)) {
		unsigned p = rnd(&s) % CHAOS_PAGES;
		uint64_t gpa = CHAOS_GPA + p * PAGE + 8 * (rnd(&s) % 512);
		int r;

		if (rnd(&s) & 1) {
			v = chaos_tag(p);
			r = dev_rw(dev, vcpu, gpa, true, &v);
		} else {
			r = dev_rw(dev, vcpu, gpa, false, &v);
			if (!r && v != 0 && v != chaos_tag(p))
				FAIL("chaos read page %u: %#llx is neither 0 nor its tag",
				     p, (unsigned long long)v);
		}
		/* EFAULT while the disruptor has the range unmapped. */
		if (r && r != -EFAULT)
			FAIL("chaos access: %s", strerror(-r));
	}
	return NULL;
}

static void *chaos_disruptor(void *arg)
{
	uint64_t s = 777;

	(void)arg;
	while (!atomic_load(&stop)) {
		unsigned p = rnd(&s) % (CHAOS_PAGES - 4);
		char *a = chaos + p * PAGE;

		switch (rnd(&s) % 3) {
		case 0:
			madvise(a, 4 * PAGE, MADV_DONTNEED);
			break;
		case 1:
			munmap(a, 4 * PAGE);
			if (mmap(a, 4 * PAGE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != a)
				FAIL("chaos mmap: %s", strerror(errno));
			break;
		default:
			mprotect(a, 4 * PAGE, PROT_READ);
			mprotect(a, 4 * PAGE, PROT_READ | PROT_WRITE);
			break;
		}
		atomic_fetch_add(&n_ops[OP_CHAOS_RACE], 1);
	}
	return NULL;
}

/* ---- disruptors ----------------------------------------------------------- */

static void op_dontneed(unsigned g, unsigned vcpu)
{
	char *a = region + g * GROUP_PAGES * PAGE;

	if (madvise(a, GROUP_PAGES * PAGE, MADV_DONTNEED))
		FAIL("madvise: %s", strerror(errno));
	group_zero(g);
	check_dev(vcpu, g * GROUP_PAGES, 0, "DONTNEED");
	check_dev(vcpu, g * GROUP_PAGES + GROUP_PAGES - 1, NWORDS - 1, "DONTNEED");
}

static void op_remap(unsigned g, unsigned vcpu)
{
	char *a = region + g * GROUP_PAGES * PAGE;
	uint64_t v;
	int r;

	if (munmap(a, GROUP_PAGES * PAGE))
		FAIL("munmap: %s", strerror(errno));
	/* Nothing mapped there now: the guest must fault and fail. */
	r = dev_rw(dev, vcpu, page_gpa(g * GROUP_PAGES, 0), false, &v);
	if (r != -EFAULT)
		FAIL("guest read of munmapped page: %s (value %#llx)",
		     r ? strerror(-r) : "success", (unsigned long long)v);
	if (mmap(a, GROUP_PAGES * PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != a)
		FAIL("mmap fixed: %s", strerror(errno));
	madvise(a, GROUP_PAGES * PAGE, MADV_HUGEPAGE);
	group_zero(g);
	check_dev(vcpu, g * GROUP_PAGES + 1, 1, "munmap+mmap");
}

static void op_mprotect(unsigned g, unsigned vcpu)
{
	char *a = region + g * GROUP_PAGES * PAGE;
	unsigned page = g * GROUP_PAGES + 3;
	uint64_t v = 0x1234;
	int r;

	if (mprotect(a, GROUP_PAGES * PAGE, PROT_READ))
		FAIL("mprotect: %s", strerror(errno));
	r = dev_rw(dev, vcpu, page_gpa(page, 2), true, &v);
	if (r != -EFAULT)
		FAIL("guest write to read-only host page: %s", r ? strerror(-r) : "succeeded");
	check_dev(vcpu, page, 2, "mprotect(READ)");
	if (verify(dev, "mprotect group", GPA_BASE + g * GROUP_PAGES * PAGE,
		   GROUP_PAGES * PAGE, true))
		FAIL("writable stage 2 over read-only host");
	if (mprotect(a, GROUP_PAGES * PAGE, PROT_READ | PROT_WRITE))
		FAIL("mprotect: %s", strerror(errno));
}

static void op_mremap(unsigned g, unsigned vcpu)
{
	char *a = region + g * GROUP_PAGES * PAGE, *b = spare + g * GROUP_PAGES * PAGE;
	unsigned page = g * GROUP_PAGES + 5;
	uint64_t v;
	int r;

	if (mremap(a, GROUP_PAGES * PAGE, GROUP_PAGES * PAGE,
		   MREMAP_MAYMOVE | MREMAP_FIXED, b) != b) {
		FAIL("mremap away: %s", strerror(errno));
		return;
	}
	r = dev_rw(dev, vcpu, page_gpa(page, 0), false, &v);
	if (r != -EFAULT)
		FAIL("guest read of moved-away page: %s", r ? strerror(-r) : "success");
	verify(dev, "mremap group", GPA_BASE + g * GROUP_PAGES * PAGE, GROUP_PAGES * PAGE, true);
	if (*(uint64_t *)(b + 5 * PAGE) != groups[g].expect[5][0])
		FAIL("mremap lost data");
	if (mremap(b, GROUP_PAGES * PAGE, GROUP_PAGES * PAGE,
		   MREMAP_MAYMOVE | MREMAP_FIXED, a) != a)
		FAIL("mremap back: %s", strerror(errno));
	check_dev(vcpu, page, 0, "mremap back");
}

static void op_fork(unsigned vcpu)
{
	uint64_t snap_expect[16][NWORDS];
	int to_child[2], st;
	unsigned p, w, base;
	pid_t pid;
	char c;

	/* Quiesce so the child's copy of the model is exact. */
	lock_all();
	base = (rand() % (NGROUPS - 1)) * GROUP_PAGES;
	memcpy(snap_expect, groups[base / GROUP_PAGES].expect, sizeof(snap_expect));
	if (pipe(to_child))
		FAIL("pipe");
	pid = fork();
	if (pid == 0) {
		/* Child: its pages must keep the values of fork time even
		 * after the parent's guest wrote through (COW broken by the
		 * parent's write fault); then dirty our own copies. */
		if (read(to_child[0], &c, 1) != 1)
			_exit(3);
		for (p = 0; p < 16; p++)
			for (w = 0; w < NWORDS; w++)
				if (*page_ptr(base + p, w) != snap_expect[p][w])
					_exit(1);
		for (p = 0; p < 16; p++)
			*page_ptr(base + p, 0) = 0xdeadbeefULL;
		_exit(0);
	}
	/* Parent's guest writes: each must break COW and map a new frame. */
	for (p = 0; p < 16; p++) {
		uint64_t v = 0xc0c0000000000000ULL | (base + p) << 8 | (unsigned)rand() % 256 | 1;

		if (dev_rw(dev, vcpu, page_gpa(base + p, 1), true, &v))
			FAIL("guest write after fork failed");
		groups[base / GROUP_PAGES].expect[p][1] = v;
	}
	if (write(to_child[1], "x", 1) != 1)
		FAIL("pipe write");
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		FAIL("fork child saw the parent's guest writes (status %#x)", st);
	close(to_child[0]);
	close(to_child[1]);
	/* The child's own writes must not show through our stage 2. */
	for (p = 0; p < 16; p++)
		check_dev(vcpu, base + p, 0, "fork child COW write");
	if (verify(dev, "fork", GPA_BASE + base * PAGE, 16 * PAGE, true))
		FAIL("fork: stage 2 incoherent");
	unlock_all();
}

static void op_collapse(unsigned vcpu)
{
	unsigned h = rand() % (REGION_SIZE / HUGE), g0 = h * HUGE / PAGE / GROUP_PAGES, g;

	for (g = g0; g < g0 + HUGE / PAGE / GROUP_PAGES; g++)
		pthread_mutex_lock(&groups[g].lock);
	if (madvise(region + h * HUGE, HUGE, MADV_COLLAPSE) == 0)
		atomic_fetch_add(&n_ops[OP_COLLAPSE], 1);
	for (g = g0; g < g0 + HUGE / PAGE / GROUP_PAGES; g++) {
		check_dev(vcpu, g * GROUP_PAGES + 7, 3, "MADV_COLLAPSE");
		pthread_mutex_unlock(&groups[g].lock);
	}
	(void)vcpu;
}

struct disruptor_arg {
	unsigned vcpu;
	const int *ops;		/* -1 terminated */
	unsigned iters;
};

static void *disruptor(void *arg)
{
	struct disruptor_arg *d = arg;
	uint64_t s = 4242 + d->vcpu;
	unsigned n = 0, i;

	for (i = 0; i < d->iters && !atomic_load(&failures); i++) {
		int op = d->ops[n++];
		unsigned g = rnd(&s) % NGROUPS;

		if (d->ops[n] < 0)
			n = 0;
		switch (op) {
		case OP_FORK:
			op_fork(d->vcpu);
			break;
		case OP_COLLAPSE:
			op_collapse(d->vcpu);
			continue;	/* counted on success only */
		case OP_COMPACT:
			write_file("/proc/sys/vm/compact_memory", "1");
			break;
		default:
			pthread_mutex_lock(&groups[g].lock);
			switch (op) {
			case OP_DONTNEED: op_dontneed(g, d->vcpu); break;
			case OP_REMAP: op_remap(g, d->vcpu); break;
			case OP_MPROTECT: op_mprotect(g, d->vcpu); break;
			case OP_MREMAP: op_mremap(g, d->vcpu); break;
			case OP_PAGEOUT:
				madvise(region + g * GROUP_PAGES * PAGE, GROUP_PAGES * PAGE,
					MADV_PAGEOUT);
				check_dev(d->vcpu, g * GROUP_PAGES + 2, 1, "MADV_PAGEOUT");
				break;
			}
			pthread_mutex_unlock(&groups[g].lock);
		}
		atomic_fetch_add(&n_ops[op], 1);
	}
	return NULL;
}

/* ---- phases --------------------------------------------------------------- */

#define NACC	3

/* Bad arguments to the recording ioctls: -EINVAL, and nothing starts
 * recording (a read finds nothing). */
static void trace_bad_input(void)
{
	static const struct s2k_trace_ctl bad[] = {
		{ .size = PAGE, .capacity = 1, .enable = 1 },
		{ .size = PAGE, .capacity = (1u << 20) + 1, .enable = 1 },
		{ .size = 0, .capacity = 16, .enable = 1 },
		{ .hva = ~0ULL - PAGE + 1, .size = 2 * PAGE, .capacity = 16, .enable = 1 },
		{ .size = PAGE, .capacity = 16, .enable = 2 },
	};
	struct s2k_trace_rec rec;
	struct s2k_trace_read rd = { .buf = (uintptr_t)&rec, .max = 0 };

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct s2k_trace_ctl c = bad[i];

		if (!c.hva)
			c.hva = (uintptr_t)region;
		if (!ioctl(dev, S2K_TRACE_CTL, &c) || errno != EINVAL)
			FAIL("S2K_TRACE_CTL bad argument %u: not EINVAL", i);
	}
	if (!ioctl(dev, S2K_TRACE_READ, &rd) || errno != EINVAL)
		FAIL("S2K_TRACE_READ of 0 records: not EINVAL");
	rd.max = 1;
	if (ioctl(dev, S2K_TRACE_READ, &rd) || rd.got || rd.dropped_total)
		FAIL("S2K_TRACE_READ after bad arguments: %u records", rd.got);
}

/* Is phase @name in s2test.record= (a comma-separated list)? */
static bool recorded(const char *name)
{
	size_t n = strlen(name);

	for (const char *p = record_list; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, name, n) && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

static void trace_phase(const char *name)
{
	unsigned long long dropped;
	long n;

	if (!trace_out)
		trace_out = s2trace_open_serial("/dev/ttyS1");
	if (!trace_out) {
		FAIL("recording %s: /dev/ttyS1: %s", name, strerror(errno));
		return;
	}
	n = s2trace_end(dev, trace_out, name, 0, GPA_BASE, (uintptr_t)region, REGION_SIZE,
			(uintptr_t)region, TRACE_WINDOW, &dropped);
	if (n < 0)
		FAIL("recording %s: %s", name, strerror((int)-n));
	else
		printf("S2TEST: recorded %s: %ld records, %llu dropped (buffer of %u)\n", name, n,
		       dropped, record_cap);
}

static void phase(const char *name, const int *ops, unsigned iters, bool chaos_too)
{
	pthread_t acc[NACC], dis, ch[2];
	struct disruptor_arg d = { .vcpu = 8, .ops = ops, .iters = iters * scale };
	double t0 = now();
	unsigned i, g;
	unsigned long a0 = atomic_load(&n_access);

	bool rec = recorded(name);

	printf("S2TEST: phase %s ...\n", name);
	if (rec && s2trace_begin(dev, (uintptr_t)region, TRACE_WINDOW, record_cap))
		FAIL("S2K_TRACE_CTL: %s", strerror(errno));
	atomic_store(&stop, false);
	for (i = 0; i < NACC; i++)
		pthread_create(&acc[i], NULL, accessor, (void *)(uintptr_t)i);
	if (chaos_too) {
		pthread_create(&ch[0], NULL, chaos_accessor, (void *)(uintptr_t)4);
		pthread_create(&ch[1], NULL, chaos_disruptor, NULL);
	}
	pthread_create(&dis, NULL, disruptor, &d);
	pthread_join(dis, NULL);
	atomic_store(&stop, true);
	for (i = 0; i < NACC; i++)
		pthread_join(acc[i], NULL);
	if (chaos_too) {
		pthread_join(ch[0], NULL);
		pthread_join(ch[1], NULL);
	}
	/* Quiescent: every tracked byte, both views, and stage 2 vs host. */
	lock_all();
	for (g = 0; g < NGROUPS; g++)
		sweep_group(g);
	for (i = 0; i < 64; i++) {
		unsigned page = (i * 97) % NPAGES;

		check_dev(9, page, i % NWORDS, name);
	}
	unlock_all();
	printf("S2TEST: phase %-16s %5.1fs %7lu accesses\n", name, now() - t0,
	       atomic_load(&n_access) - a0);
	verify(dev, name, 0, 0, false);
	if (rec)
		trace_phase(name);
	fflush(stdout);
}

static void ksm_phase(void)
{
	char *k;
	unsigned p;
	uint64_t v;
	double t0 = now();
	long shared = 0;

	if (access("/sys/kernel/mm/ksm/run", F_OK)) {
		printf("S2TEST: KSM not in this kernel, skipped\n");
		return;
	}
	k = mmap(NULL, KSM_PAGES * PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (p = 0; p < KSM_PAGES; p++)
		memset(k + p * PAGE, 0x11 + p % 2, PAGE);	/* two distinct contents */
	slot(dev, S2K_SLOT_ADD, 2, KSM_GPA, k, KSM_PAGES * PAGE);
	/* Map every page writable in stage 2 before the merge. */
	for (p = 0; p < KSM_PAGES; p++) {
		v = 0;
		if (dev_rw(dev, 10, KSM_GPA + p * PAGE + 8, false, &v))
			FAIL("ksm read");
	}
	write_file("/sys/kernel/mm/ksm/pages_to_scan", "4096");
	write_file("/sys/kernel/mm/ksm/sleep_millisecs", "1");
	write_file("/sys/kernel/mm/ksm/run", "1");
	if (madvise(k, KSM_PAGES * PAGE, MADV_MERGEABLE))
		FAIL("MADV_MERGEABLE: %s", strerror(errno));
	while (now() - t0 < 20 && (shared = read_long("/sys/kernel/mm/ksm/pages_sharing")) <
	       KSM_PAGES / 2)
		usleep(20000);
	atomic_fetch_add(&n_ops[OP_KSM_MERGED], shared > 0 ? shared : 0);
	if (shared <= 0)
		FAIL("KSM merged nothing in 20s");
	/* Merged pages are write-protected: stage 2 must not be writable. */
	verify(dev, "KSM merged", KSM_GPA, KSM_PAGES * PAGE, false);
	for (p = 0; p < KSM_PAGES; p++) {
		v = 0;
		if (dev_rw(dev, 10, KSM_GPA + p * PAGE + 16, false, &v) ||
		    v != (0x11 + p % 2) * 0x0101010101010101ULL)
			FAIL("KSM page %u reads %#llx", p, (unsigned long long)v);
	}
	verify(dev, "KSM read", KSM_GPA, KSM_PAGES * PAGE, false);
	/* Guest writes break the merge for that page only. */
	for (p = 0; p < KSM_PAGES; p += 2) {
		v = 0xabcd0000 + p;
		if (dev_rw(dev, 10, KSM_GPA + p * PAGE, true, &v))
			FAIL("KSM write");
	}
	for (p = 0; p < KSM_PAGES; p++) {
		uint64_t want = p % 2 ? 0x1212121212121212ULL : 0xabcd0000 + p;

		if (*(uint64_t *)(k + p * PAGE) != want)
			FAIL("KSM page %u after guest write: %#llx", p,
			     (unsigned long long)*(uint64_t *)(k + p * PAGE));
	}
	verify(dev, "KSM COW", KSM_GPA, KSM_PAGES * PAGE, false);
	if (madvise(k, KSM_PAGES * PAGE, MADV_UNMERGEABLE))
		FAIL("MADV_UNMERGEABLE: %s", strerror(errno));
	verify(dev, "KSM unmerged", KSM_GPA, KSM_PAGES * PAGE, false);
	write_file("/sys/kernel/mm/ksm/run", "2");	/* unmerge all, stop */
	slot(dev, S2K_SLOT_DEL, 2, 0, 0, 0);
	munmap(k, KSM_PAGES * PAGE);
	printf("S2TEST: phase %-16s %5.1fs %ld pages sharing\n", "KSM", now() - t0, shared);
}

/*
 * Memslot delete/add while an accessor uses the slot: after the delete
 * returns, no access may succeed through it (memslot_delete_no_zap).
 */
static void *slot_racer(void *arg)
{
	uint64_t v = 7;

	(void)arg;
	while (!atomic_load(&stop)) {
		int r = dev_rw(dev, 11, CLOSE_GPA + 8 * (v % 512), true, &v);

		if (r && r != -EFAULT)
			FAIL("slot racer: %s", strerror(-r));
		v++;
	}
	return NULL;
}

static void slot_phase(void)
{
	char *m = mmap(NULL, 64 * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct s2k_stats st;
	pthread_t t;
	unsigned i;
	uint64_t v;

	atomic_store(&stop, false);
	pthread_create(&t, NULL, slot_racer, NULL);
	for (i = 0; i < 50 * (unsigned)scale; i++) {
		slot(dev, S2K_SLOT_ADD, 3, CLOSE_GPA, m, 64 * PAGE);
		usleep(1000);
		slot(dev, S2K_SLOT_DEL, 3, 0, 0, 0);
		if (dev_rw(dev, 12, CLOSE_GPA, false, &v) != -EFAULT)
			FAIL("access through a deleted memslot succeeded");
		atomic_fetch_add(&n_ops[OP_SLOT_CYCLE], 1);
	}
	atomic_store(&stop, true);
	pthread_join(t, NULL);
	st = stats(dev);
	verify(dev, "memslot del/add", CLOSE_GPA, 64 * PAGE, false);
	(void)st;
	munmap(m, 64 * PAGE);
}

/*
 * Device-close teardown: a second VM whose file is closed while its
 * accessors still run; the in-flight ioctls keep the file alive, so the
 * release comes from our unregister, after them, and later accesses see
 * EBADF.
 */
static atomic_int close_fd = -1;
static void *close_racer(void *arg)
{
	char *m = arg;
	uint64_t v = 1;
	int fd;

	while ((fd = atomic_load(&close_fd)) >= 0) {
		int r = dev_rw(fd, 13, CLOSE_GPA + 8 * (v % 512), v & 1, &v);

		if (r && r != -EBADF && r != -EFAULT)
			FAIL("close racer: %s", strerror(-r));
		v++;
		m[0]++;
	}
	return NULL;
}

static void close_phase(void)
{
	char *m = mmap(NULL, 64 * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = open("/dev/s2mmu", O_RDWR);
	pthread_t t[2];

	if (fd < 0) {
		FAIL("open second VM: %s", strerror(errno));
		return;
	}
	slot(fd, S2K_SLOT_ADD, 0, CLOSE_GPA, m, 64 * PAGE);
	atomic_store(&close_fd, fd);
	pthread_create(&t[0], NULL, close_racer, m);
	pthread_create(&t[1], NULL, close_racer, m);
	usleep(100000);
	close(fd);
	usleep(20000);
	atomic_store(&close_fd, -1);
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	munmap(m, 64 * PAGE);
	printf("S2TEST: phase %-16s closed with accessors in flight\n", "device close");
}

/* ---- zram swap + reclaim --------------------------------------------------- */

static bool cgroup_ready;

static void setup_reclaim(void)
{
	char buf[32];

	/* A memory cgroup of our own, so memory.reclaim ages exactly our
	 * pages (clear_flush_young) and swaps them to zram (invalidations). */
	write_file("/sys/fs/cgroup/cgroup.subtree_control", "+memory");
	mkdir("/sys/fs/cgroup/s2test", 0755);
	snprintf(buf, sizeof(buf), "%d", getpid());
	write_file("/sys/fs/cgroup/s2test/cgroup.procs", buf);
	cgroup_ready = !access("/sys/fs/cgroup/s2test/memory.reclaim", W_OK);
	printf("S2TEST: reclaim: memory cgroup %s, swap %s\n",
	       cgroup_ready ? "ready" : "unavailable",
	       read_long("/sys/block/zram0/disksize") > 0 ? "zram" : "none");
}

static void op_reclaim(void)
{
	lock_all();
	/* Age our pages: touching them through the device sets stage-2
	 * access flags that clear_flush_young must report. */
	for (unsigned p = 0; p < NPAGES; p += 8)
		check_dev(14, p, 0, "pre-reclaim");
	write_file("/sys/fs/cgroup/s2test/memory.reclaim", "4M");
	write_file("/sys/fs/cgroup/s2test/memory.reclaim", "4M");
	unlock_all();
}

/* ---- teardown by process exit ---------------------------------------------- */

static void exit_with_accessor_running(void)
{
	int ready[2];
	pid_t pid;
	char c;

	if (pipe(ready))
		FAIL("pipe");
	pid = fork();
	if (pid == 0) {
		/*
		 * The child shares the VM (inherited file) but not the mm:
		 * its accesses reach the parent's memory through the module.
		 * Once the parent's mm is gone, they must fail with ESRCH.
		 */
		unsigned long ok = 0, gone = 0;
		uint64_t v = 1;
		double t0 = now();

		if (write(ready[1], "r", 1) != 1)
			_exit(2);
		while (now() - t0 < 10 && gone < 1000) {
			/* Reads of the parent's modelled pages (any value),
			 * writes only to the chaos slot, which nobody models
			 * any more: the parent's accessors still check theirs. */
			uint64_t x = chaos_tag(v % CHAOS_PAGES);
			int r = (v & 1) ?
				dev_rw(dev, 15, CHAOS_GPA + (v % CHAOS_PAGES) * PAGE, true, &x) :
				dev_rw(dev, 15, GPA_BASE + (v % NPAGES) * PAGE, false, &x);

			if (!r) {
				if (gone) {
					printf("S2TEST: FAIL guest access succeeded after release\n");
					_exit(1);
				}
				ok++;
			} else if (r == -ESRCH) {
				gone++;
			} else if (r != -EFAULT) {
				printf("S2TEST: FAIL teardown child: %s\n", strerror(-r));
				_exit(1);
			}
			v = v * 6364136223846793005ULL + 1;
		}
		if (!gone) {
			printf("S2TEST: FAIL teardown child never saw the release\n");
			_exit(1);
		}
		printf("S2TEST: teardown: child ran %lu guest accesses, then %lu ESRCH after exit_mmap released the VM\n",
		       ok, gone);
		fflush(stdout);
		_exit(0);
	}
	if (read(ready[0], &c, 1) != 1)
		FAIL("teardown child did not start");
	/* Our own accessors keep running too; exit() does not stop them. */
	atomic_store(&stop, false);
	for (int i = 0; i < NACC; i++) {
		pthread_t t;

		pthread_create(&t, NULL, accessor, (void *)(uintptr_t)i);
	}
	usleep(200000);
	if (atomic_load(&failures)) {
		printf("S2TEST: FAIL (%d failures)\n", atomic_load(&failures));
		exit(1);
	}
}

/* Progress line every 5 s: in a hang, shows which counters still move. */
static void *progress(void *arg)
{
	(void)arg;
	for (;;) {
		struct s2k_stats st;

		sleep(5);
		st = stats(dev);
		print_stats("progress", &st);
	}
	return NULL;
}

/* ---- dirty logging ---------------------------------------------------------- */

static char *dirty_mem;
/* Per page, 1 + the number of racing harvests begun before its latest
 * completed write, not yet checked (0: none). */
static atomic_uint dirty_pending[DIRTY_PAGES];
static atomic_uint dirty_begun;	/* racing harvests begun */
static atomic_ulong dirty_writes;

static void dirty_toggle(bool on)
{
	struct s2k_dirty d = { .id = 4, .enable = on };

	if (ioctl(dev, S2K_DIRTY_LOG, &d))
		FAIL("dirty log %s: %s", on ? "on" : "off", strerror(errno));
}

static uint64_t dirty_harvest(uint64_t *bm)
{
	struct s2k_dirty d = { .id = 4, .bitmap = (uintptr_t)bm, .words = DIRTY_PAGES / 64 };

	if (ioctl(dev, S2K_GET_DIRTY, &d))
		FAIL("dirty harvest: %s", strerror(errno));
	return d.set;
}

static void dirty_write(unsigned vcpu, unsigned p, uint64_t v)
{
	if (dev_rw(dev, vcpu, DIRTY_GPA + p * PAGE + 8 * (p % 8), true, &v))
		FAIL("dirty: guest write page %u", p);
}

static void *dirty_writer(void *arg)
{
	uint64_t seed = (uintptr_t)arg + 7;

	while (!atomic_load(&stop)) {
		unsigned p = rnd(&seed) % DIRTY_PAGES;
		unsigned begun = atomic_load(&dirty_begun);

		dirty_write(14, p, 0xd1000000 + p);
		/*
		 * Recorded after the write completed, with the number of
		 * harvests begun before it started: one of the harvests from
		 * the last of those (which may have been in progress) on must
		 * report it.  Not "this harvest or the one before": the writer
		 * may be preempted for rounds between its write and this
		 * store, and the write is then in an older harvest.
		 */
		atomic_store(&dirty_pending[p], begun + 1);
		atomic_fetch_add(&dirty_writes, 1);
	}
	return NULL;
}

/*
 * I7 against the real kernel: with logging on, every completed guest
 * write is in the next harvest.  Exact when quiet (the bitmap equals the
 * pages written), and a superset check while a writer races harvests.
 */
static void dirty_phase(void)
{
	uint64_t bm[DIRTY_PAGES / 64], want[DIRTY_PAGES / 64];
	int last_reported[DIRTY_PAGES];
	double t0 = now();
	unsigned p, i, round, rounds = 40U * scale;
	uint64_t v, harvested = 0;
	pthread_t w;

	dirty_mem = mmap(NULL, DIRTY_PAGES * PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	madvise(dirty_mem, DIRTY_PAGES * PAGE, MADV_NOHUGEPAGE);
	memset(dirty_mem, 0x5a, DIRTY_PAGES * PAGE);
	slot(dev, S2K_SLOT_ADD, 4, DIRTY_GPA, dirty_mem, DIRTY_PAGES * PAGE);
	for (p = 0; p < DIRTY_PAGES; p++)		/* map every page writable */
		dirty_write(13, p, 0x5a5a5a5a5a5a5a5aULL);
	dirty_toggle(true);
	if (dirty_harvest(bm))
		FAIL("dirty: fresh log not clean");
	verify(dev, "dirty log on", DIRTY_GPA, DIRTY_PAGES * PAGE, false);
	/* Quiet rounds: exact. */
	for (round = 0; round < 3; round++) {
		memset(want, 0, sizeof(want));
		for (p = round; p < DIRTY_PAGES; p += 3 + round) {
			dirty_write(13, p, 0xd0000000 + round * 1000 + p);
			want[p / 64] |= 1ULL << (p % 64);
		}
		/* Reads never dirty. */
		for (p = 0; p < DIRTY_PAGES; p += 5)
			if (dev_rw(dev, 13, DIRTY_GPA + p * PAGE, false, &v))
				FAIL("dirty: guest read");
		dirty_harvest(bm);
		for (i = 0; i < DIRTY_PAGES / 64; i++)
			if (bm[i] != want[i])
				FAIL("dirty: round %u word %u: harvested %#llx, wrote %#llx", round, i,
				     (unsigned long long)bm[i], (unsigned long long)want[i]);
		for (p = round; p < DIRTY_PAGES; p += 3 + round)
			if (*(uint64_t *)(dirty_mem + p * PAGE + 8 * (p % 8)) !=
			    0xd0000000 + round * 1000 + p)
				FAIL("dirty: page %u data", p);
		verify(dev, "dirty quiet", DIRTY_GPA, DIRTY_PAGES * PAGE, true);
	}
	/*
	 * Racing rounds: no completed write is ever missed.  A write that
	 * completed before round @round's exchange began after @begun
	 * harvests had begun, so one of harvests begun - 1 (if any) .. @round
	 * must report its page: the latest harvest that reported the page
	 * is at least that.
	 */
	for (p = 0; p < DIRTY_PAGES; p++)
		last_reported[p] = -1;
	atomic_store(&dirty_begun, 0);
	atomic_store(&stop, false);
	pthread_create(&w, NULL, dirty_writer, NULL);
	for (round = 0; round < rounds; round++) {
		unsigned pend[DIRTY_PAGES];

		usleep(2000);
		for (p = 0; p < DIRTY_PAGES; p++)
			pend[p] = atomic_exchange(&dirty_pending[p], 0);
		atomic_store(&dirty_begun, round + 1);
		harvested += dirty_harvest(bm);
		for (p = 0; p < DIRTY_PAGES; p++)
			if (bm[p / 64] & (1ULL << (p % 64)))
				last_reported[p] = (int)round;
		for (p = 0; p < DIRTY_PAGES; p++) {
			int from = pend[p] > 1 ? (int)pend[p] - 2 : 0;

			if (pend[p] && last_reported[p] < from)
				FAIL("dirty: round %u lost a write to page %u (written after %u "
				     "harvests began, last reported by harvest %d)", round, p,
				     pend[p] - 1, last_reported[p]);
		}
	}
	atomic_store(&stop, true);
	pthread_join(w, NULL);
	verify(dev, "dirty racing", DIRTY_GPA, DIRTY_PAGES * PAGE, false);
	dirty_toggle(false);
	slot(dev, S2K_SLOT_DEL, 4, 0, 0, 0);
	munmap(dirty_mem, DIRTY_PAGES * PAGE);
	printf("S2TEST: phase %-16s %5.1fs %lu racing writes, %llu pages harvested in %u rounds\n",
	       "dirty log", now() - t0, atomic_load(&dirty_writes),
	       (unsigned long long)harvested, rounds);
}

/* ---- aging ------------------------------------------------------------------ */

static int age(unsigned kind, uint64_t gpa, uint64_t size)
{
	struct s2k_age a = { .gpa = gpa, .size = size, .kind = kind };

	if (ioctl(dev, S2K_AGE, &a)) {
		FAIL("age: %s", strerror(errno));
		return -1;
	}
	return a.young;
}

/* Aging notifier calls the host made on its own so far (reclaim). */
static uint64_t host_aging(void)
{
	struct s2k_stats st = stats(dev);

	return st.ev[S2K_EV_CLEAR_FLUSH_YOUNG] + st.ev[S2K_EV_CLEAR_YOUNG] +
	       st.inv_reason[0] + st.inv_reason[1];
}

/*
 * One exact round on page @p: an access makes it young; clear_flush_young
 * makes it old and flushes the TLB, so the next access faults and is
 * seen (I9); test_young changes nothing.  clear_young does not flush and
 * may miss a TLB-hit access, as in Linux, so only its return is checked;
 * it leaves old pages in the TLB, so each page is used in one round only
 * (a later TLB-hit access to it would rightly not be seen).
 * Return: false if the host's own aging or an invalidation (reclaim in
 * this memory cgroup) touched the VM meanwhile, which legitimately
 * clears the flag or zaps the page: the round is then repeated.
 */
static bool age_round(unsigned p)
{
	uint64_t before = host_aging(), v, gpa = AGE_GPA + p * PAGE;
	int y1, y2, y3, y4, y5;

	if (dev_rw(dev, 15, gpa, false, &v) || v != 0x0101010101010101ULL)
		FAIL("age: read page %u", p);
	y1 = age(S2K_AGE_TEST, gpa, PAGE);
	y2 = age(S2K_AGE_CLEAR_FLUSH, gpa, PAGE);
	y3 = age(S2K_AGE_TEST, gpa, PAGE);
	if (dev_rw(dev, 15, gpa, false, &v) || v != 0x0101010101010101ULL)
		FAIL("age: read page %u after clear", p);
	y4 = age(S2K_AGE_TEST, gpa, PAGE);
	y5 = age(S2K_AGE_CLEAR, AGE_GPA, AGE_PAGES * PAGE);
	if (host_aging() != before)
		return false;
	if (y1 != 1)
		FAIL("age: page %u not young after an access", p);
	if (y2 != 1)
		FAIL("age: clear_flush_young missed page %u", p);
	if (y3 != 0)
		FAIL("age: page %u still young after clear_flush_young", p);
	if (y4 != 1)
		FAIL("age: access to page %u after clear_flush_young not seen (I9)", p);
	if (y5 != 1)
		FAIL("age: clear_young found nothing young");
	return true;
}

static void age_phase(void)
{
	char *m = mmap(NULL, AGE_PAGES * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned round, tries, disturbed = 0;
	double t0 = now();

	madvise(m, AGE_PAGES * PAGE, MADV_NOHUGEPAGE);
	memset(m, 1, AGE_PAGES * PAGE);
	slot(dev, S2K_SLOT_ADD, 5, AGE_GPA, m, AGE_PAGES * PAGE);
	for (round = 0; round < 20U * scale && round < AGE_PAGES; round++) {
		for (tries = 0; tries < 100 && !age_round(round % AGE_PAGES); tries++)
			disturbed++;
		if (tries == 100)
			FAIL("age: host aging never quiet for 100 tries");
	}
	verify(dev, "aging", AGE_GPA, AGE_PAGES * PAGE, false);
	slot(dev, S2K_SLOT_DEL, 5, 0, 0, 0);
	munmap(m, AGE_PAGES * PAGE);
	printf("S2TEST: phase %-16s %5.1fs %u rounds exact (%u repeated: host aging/reclaim meanwhile)\n",
	       "aging", now() - t0, round, disturbed);
}

/* ---- main ------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	static const int ops_dontneed[] = { OP_DONTNEED, -1 };
	static const int ops_remap[] = { OP_REMAP, -1 };
	static const int ops_mprotect[] = { OP_MPROTECT, -1 };
	static const int ops_mremap[] = { OP_MREMAP, -1 };
	static const int ops_fork[] = { OP_FORK, -1 };
	static const int ops_thp[] = { OP_COLLAPSE, OP_DONTNEED, OP_COLLAPSE, -1 };
	static const int ops_compact[] = { OP_COMPACT, OP_DONTNEED, -1 };
	static const int ops_pageout[] = { OP_PAGEOUT, -1 };
	static const int ops_mixed[] = { OP_DONTNEED, OP_REMAP, OP_MPROTECT, OP_MREMAP,
					 OP_FORK, OP_COLLAPSE, OP_PAGEOUT, OP_COMPACT, -1 };
	struct s2k_stats st;
	double t0 = now();
	unsigned i, g;
	char *raw;

	for (i = 1; i < (unsigned)argc; i++)
		if (!strncmp(argv[i], "scale=", 6))
			scale = atoi(argv[i] + 6) > 0 ? atoi(argv[i] + 6) : 1;
		else if (!strncmp(argv[i], "record=", 7))
			record_list = argv[i] + 7;
		else if (!strncmp(argv[i], "reccap=", 7))
			record_cap = (unsigned)atoi(argv[i] + 7);
	setvbuf(stdout, NULL, _IOLBF, 0);
	srand(1);

	dev = open("/dev/s2mmu", O_RDWR);
	if (dev < 0) {
		printf("S2TEST: FAIL open /dev/s2mmu: %s\n", strerror(errno));
		return 1;
	}
	/* 2 MiB-aligned so that THP can back it. */
	raw = mmap(NULL, REGION_SIZE + HUGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	region = (char *)(((uintptr_t)raw + HUGE - 1) & ~(HUGE - 1));
	madvise(region, REGION_SIZE, MADV_HUGEPAGE);
	spare = mmap(NULL, REGION_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	chaos = mmap(NULL, CHAOS_PAGES * PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (g = 0; g < NGROUPS; g++)
		pthread_mutex_init(&groups[g].lock, NULL);
	slot(dev, S2K_SLOT_ADD, 0, GPA_BASE, region, REGION_SIZE);
	slot(dev, S2K_SLOT_ADD, 1, CHAOS_GPA, chaos, CHAOS_PAGES * PAGE);
	setup_reclaim();
	trace_bad_input();
	{
		pthread_t pt;

		pthread_create(&pt, NULL, progress, NULL);
	}
	/* khugepaged: scan often so that test_young gets its chance. */
	write_file("/sys/kernel/mm/transparent_hugepage/khugepaged/scan_sleep_millisecs", "10");
	write_file("/sys/kernel/mm/transparent_hugepage/khugepaged/alloc_sleep_millisecs", "10");

	phase("baseline", ops_dontneed, 1, false);
	phase("DONTNEED", ops_dontneed, 150, true);
	phase("munmap+mmap", ops_remap, 100, true);
	phase("mprotect", ops_mprotect, 60, false);
	phase("mremap", ops_mremap, 60, false);
	phase("fork+COW", ops_fork, 8, false);
	phase("THP", ops_thp, 6, false);
	phase("compaction", ops_compact, 4, false);
	phase("pageout", ops_pageout, 40, false);
	if (cgroup_ready) {
		op_reclaim();
		verify(dev, "reclaim", 0, 0, false);
	}
	ksm_phase();
	dirty_phase();
	age_phase();
	slot_phase();
	close_phase();
	phase("mixed", ops_mixed, 60, true);

	st = stats(dev);
	print_stats("total", &st);
	for (i = 0; i < OP_NR; i++)
		printf("S2TEST: host operations %-18s %lu\n", op_name[i], atomic_load(&n_ops[i]));
	printf("S2TEST: %lu guest accesses, %lu host-side checks, %.1fs\n",
	       atomic_load(&n_access), atomic_load(&n_ptr_checks), now() - t0);

	/* Lower bounds: each of these host operations must have reached us. */
	if (st.ev[S2K_EV_INV_START] < 500 || st.ev[S2K_EV_INV_END] < 500)
		FAIL("too few invalidations: %llu", (unsigned long long)st.ev[S2K_EV_INV_START]);
	if (st.inv_reason[0] < 100)	/* UNMAP: munmap, mremap */
		FAIL("too few UNMAP invalidations");
	if (st.inv_reason[1] < 100)	/* CLEAR: DONTNEED, fork, KSM, collapse */
		FAIL("too few CLEAR invalidations");
	if (st.inv_reason[2] < 50)	/* PROTECTION_VMA: mprotect */
		FAIL("too few PROTECTION_VMA invalidations");
	if (st.ev[S2K_EV_CHANGE_PTE] < 1)	/* COW break in the fork phase, KSM */
		FAIL("no change_pte");
	if (st.stat[S2K_ST_FAULT] < 1000 || st.stat[S2K_ST_TLB_HIT] < 100)
		FAIL("too few faults / TLB hits");
	if (st.stat[S2K_ST_BLOCKS] < 1)		/* THP-backed region: 2M leaves */
		FAIL("no block mappings");
	if (st.stat[S2K_ST_HARVESTS] < 4 || st.stat[S2K_ST_DIRTY_PAGES] < 100)
		FAIL("too few dirty-log harvests / pages");
	if (st.stat[S2K_ST_AGE_CALLS] < 60 || st.stat[S2K_ST_YOUNG_FAULT] < 20)
		FAIL("too few aging calls / access-flag faults");
	if (st.released)
		FAIL("released before exit");

	if (atomic_load(&failures)) {
		printf("S2TEST: FAIL (%d failures)\n", atomic_load(&failures));
		return 1;
	}
	/* Only the final teardown remains: success is decided by the log
	 * (the release message and no kernel report), see check-log.sh. */
	exit_with_accessor_running();
	printf("S2TEST: PASS\n");
	fflush(stdout);
	exit(0);
}
