// SPDX-License-Identifier: GPL-2.0-only
/*
 * s2mirror: the secondary MMU mirrors a program this project did not
 * write (issue 15 items 1 and 2).  For each stress-ng memory stressor,
 * the VM attaches to the stressor's worker by pidfd (S2K_ATTACH), keeps
 * memslots over the worker's address space as /proc/PID/maps changes,
 * and reads its memory through the device while stress-ng changes the
 * mappings underneath; the kernel's notifiers on the worker's mm keep
 * stage 2 coherent.  Checks:
 *
 *  - racing compare: accessor threads read a word through the device
 *    and the same word through /proc/PID/mem just before and just after
 *    (h1, g, h2).  The target writes concurrently, so g may be any value
 *    the word held in that window; g == h1 or g == h2 is a match.  When
 *    h1 == h2 != g the word may still have changed and changed back
 *    (ABA), so the triple is repeated: a stage-2 entry left on a frame
 *    the host no longer maps gives the same wrong answer every time,
 *    an ABA race does not.  16 repeats in a row with h1 == h2 != g is a
 *    violation; a window where the word moved (h1 != h2) is counted as
 *    "moving", never as a pass.
 *  - frozen compare: the whole stress-ng process tree is stopped
 *    (SIGSTOP), and then words of pages the worker has present
 *    (/proc/PID/pagemap) must read the same through the device and
 *    through /proc/PID/mem, exactly: nothing in user space writes them.
 *    (The kernel may still drop a MADV_FREE page: h1 != h2 then, skipped.)
 *  - VERIFY (the module's): every stage-2 leaf and TLB entry against the
 *    worker's page tables, while the tree is stopped, every ~0.7 s and
 *    once at the end of each stressor, before it is told to stop.
 *
 * What is mirrored: stress-ng forks one worker per instance, and many
 * stressors fork again (an "OOM-able" child that does the work, so that
 * the worker can restart it).  We mirror the descendant of the stress-ng
 * parent that takes the most minor faults over 0.2 s among those that
 * live that long (two rounds must agree): the process whose mm the
 * stressor works on.  When it exits (a restarted child; the fork
 * stressor's children are never picked: they live for microseconds, so
 * its worker is), the
 * VM is released by its exit_mmap while our accessors run, and we attach
 * a new VM to the next worker.
 *
 * Output: one table row per stressor (S2MIRROR: |...|) and the verdict
 * S2MIRROR: PASS, which check-log.sh requires.
 */
#define _GNU_SOURCE
#include <dirent.h>
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
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "s2mmu_uapi.h"
#include "s2trace.h"
#include "s2util.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#define PAGE		4096UL
#define HUGE		(2UL << 20)
#define NACC		3		/* accessor threads (vCPUs 0..2) */
#define NSLOTS		15		/* memslot ids 0..14 */
#define SLOT_GAP	(64UL << 20)	/* mappings closer than this share a slot */
#define SLOT_PAD	(32UL << 20)	/* room to grow (brk, stack) without a new slot */
#define TASK_TOP	0x7ffffffff000UL
#define MAX_MAPS	65536
#define ABA_REPEATS	16
#define FROZEN_WORDS	256
#define MAX_TREE	256

static atomic_int failures;
static bool long_run;
static double secs_override;

#define FAIL(...) fail_msg(__LINE__, __VA_ARGS__)
static void fail_msg(int line, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("S2TEST: FAIL s2mirror.c:%d: %s\n", line, buf);
	fflush(stdout);
	atomic_fetch_add(&failures, 1);
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (time_t)s) * 1e9) };

	nanosleep(&ts, NULL);
}

/* ---- the stressors ------------------------------------------------------- */

#define F_KSM		0x1	/* ksmd scanning hard */
#define F_COMPACT	0x2	/* compact_memory every 0.3 s, THP always */
/*
 * Passive mirror (S2K_ATTACH_NOFAULT): the userfaultfd stressor checks
 * that every fault it handles is its own write fault, so neither the
 * device nor /proc/PID/mem may fault its pages in.  Accessors then only
 * read through the device (what the target has mapped), and the data
 * comparison is the frozen one, where a present page stays present.
 */
#define F_NOFAULT	0x4
/*
 * Run stress-ng as uid/gid 1000.  As root the madvise stressor also uses
 * MADV_HWPOISON, which poisons guest pages for good and now and then
 * kills its worker with SIGBUS before we even attach (stress-ng then
 * exits 2): seen in a kernel-test-long run.  Without CAP_SYS_ADMIN it
 * skips that advice; we still may mirror it (CAP_SYS_PTRACE).
 */
#define F_USER		0x8

struct stressor {
	const char *name;	/* table row */
	const char *args;	/* stress-ng arguments */
	bool ci;		/* in the short list of `make kernel-test` */
	unsigned flags;
};

/*
 * Sizes are small on purpose: the guest runs under TCG.  "ksm" is the vm
 * stressor with madvise(MERGEABLE) on a buffer of zero and one pages
 * (stress-ng 0.15 has no ksm stressor, and 6.1 no per-process KSM);
 * "thp+compact" is the vm stressor with MADV_HUGEPAGE while we trigger
 * compaction.
 */
static const struct stressor stressors[] = {
	{ "vm",		"--vm 1 --vm-bytes 8M",				true,  0 },
	{ "mmap",	"--mmap 1 --mmap-bytes 16M",				true,  0 },
	{ "mremap",	"--mremap 1 --mremap-bytes 8M",				true,  0 },
	{ "mprotect",	"--mprotect 1",						true,  0 },
	{ "fork",	"--fork 1",						true,  0 },
	{ "madvise",	"--madvise 1",						false, F_USER },
	{ "mlock",	"--mlock 1",						false, 0 },
	{ "ksm",	"--vm 1 --vm-bytes 16M --vm-madvise mergeable --vm-method zero-one",
									false, F_KSM },
	{ "memfd",	"--memfd 1 --memfd-bytes 16M",				false, 0 },
	{ "userfaultfd", "--userfaultfd 1 --userfaultfd-bytes 8M",		false, F_NOFAULT },
	{ "pageswap",	"--pageswap 1",						false, 0 },
	{ "brk",	"--brk 1",						false, 0 },
	{ "stack",	"--stack 1",						false, 0 },
	{ "bigheap",	"--bigheap 1",						false, 0 },
	{ "thp+compact", "--vm 1 --vm-bytes 32M --vm-madvise hugepage",		false, F_COMPACT },
};
#define NSTRESSORS (sizeof(stressors) / sizeof(stressors[0]))

/* One table row: summed over the VMs attached during the stressor. */
struct row {
	const struct stressor *st;
	char target[64];
	unsigned attaches, releases_seen, freezes;
	uint64_t ev[S2K_EV_NR], reason[S2K_NR_REASONS];
	uint64_t accesses, installs, blocks, peak_pages, slot_updates;
	uint64_t checked, raced, violations;
	uint64_t match, moving, unsettled, efault, frozen_exact, frozen_skipped, data_viol;
	long long bogo;
	int rc;
	double secs;
	long ksm_sharing;
};

/* ---- the target's address space --------------------------------------- */

struct range {
	uint64_t start, end;
};

/* A snapshot of /proc/PID/maps: readable ranges, for sampling. */
struct maps {
	unsigned n;
	uint64_t total;			/* bytes */
	struct range r[];
};

struct slotset {
	bool used[NSLOTS];
	struct range r[NSLOTS];
};

/* One attachment: a VM on one target process. */
struct mirror {
	pid_t pid;
	int dev, memfd, pagemap;
	struct row *row;
	pthread_mutex_t lock;		/* maps and slots snapshots */
	struct maps *maps;
	struct slotset slots;
	atomic_bool stop, gone;
	atomic_ulong match, moving, unsettled, efault, data_viol, slot_updates;
};

static struct maps *read_maps(pid_t pid)
{
	char path[64], line[512];
	struct maps *m;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	m = calloc(1, sizeof(*m) + MAX_MAPS * sizeof(struct range));
	while (m && fgets(line, sizeof(line), f) && m->n < MAX_MAPS) {
		unsigned long s, e;
		char perms[8];

		if (sscanf(line, "%lx-%lx %7s", &s, &e, perms) != 3 || perms[0] != 'r')
			continue;
		/* [vvar] is VM_IO|VM_PFNMAP (nothing to resolve by GUP) and
		 * [vsyscall] lies above the user address space. */
		if (strstr(line, "[vvar]") || strstr(line, "[vsyscall]") || e > TASK_TOP)
			continue;
		m->r[m->n++] = (struct range){ s, e };
		m->total += e - s;
	}
	fclose(f);
	return m;
}

/*
 * The slots we want for a maps snapshot: mappings less than SLOT_GAP
 * apart share one, aligned out to 2 MiB (so THP can be mapped as a
 * block), at most NSLOTS (the closest pair is merged first).  @core
 * gets the unpadded extents, @want the padded ones.
 */
static unsigned plan_slots(const struct maps *m, struct range *core, struct range *want)
{
	unsigned n = 0, i;

	for (i = 0; i < m->n; i++) {
		uint64_t s = m->r[i].start & ~(HUGE - 1);
		uint64_t e = (m->r[i].end + HUGE - 1) & ~(HUGE - 1);

		if (e > TASK_TOP)
			e = TASK_TOP;
		if (n && s < core[n - 1].end + SLOT_GAP) {
			if (e > core[n - 1].end)
				core[n - 1].end = e;
		} else {
			core[n++] = (struct range){ s, e };
		}
		while (n > NSLOTS) {
			unsigned j, best = 0;

			for (j = 1; j + 1 < n; j++)
				if (core[j + 1].start - core[j].end <
				    core[best + 1].start - core[best].end)
					best = j;
			core[best].end = core[best + 1].end;
			memmove(&core[best + 1], &core[best + 2], (n - best - 2) * sizeof(*core));
			n--;
		}
	}
	for (i = 0; i < n; i++) {
		want[i] = core[i];
		want[i].end = core[i].end + SLOT_PAD > TASK_TOP ? TASK_TOP : core[i].end + SLOT_PAD;
	}
	return n;
}

static bool overlaps(struct range a, struct range b)
{
	return a.start < b.end && b.start < a.end;
}

static bool inside(struct range a, struct range b)	/* a within b */
{
	return a.start >= b.start && a.end <= b.end;
}

/*
 * Bring the VM's memslots (gpa = hva) in line with the maps snapshot.
 * A slot stays while every planned range that touches it lies inside
 * it; otherwise it goes, and the planned range is added afresh.
 * Context: the refresher thread (or the attach), m->lock not held.
 */
static void sync_slots(struct mirror *m, const struct maps *mp)
{
	struct range core[NSLOTS + 1], want[NSLOTS + 1];
	struct slotset cur;
	unsigned n, i, j;

	n = plan_slots(mp, core, want);
	pthread_mutex_lock(&m->lock);
	cur = m->slots;
	pthread_mutex_unlock(&m->lock);
	for (i = 0; i < NSLOTS; i++) {
		bool keep = false, bad = false;

		if (!cur.used[i])
			continue;
		for (j = 0; j < n; j++) {
			if (!overlaps(want[j], cur.r[i]))
				continue;
			if (inside(core[j], cur.r[i]))
				keep = true;
			else
				bad = true;
		}
		if (keep && !bad)
			continue;
		struct s2k_slot s = { .id = i };

		/* Drop it from the sampling view before the VM loses it. */
		pthread_mutex_lock(&m->lock);
		m->slots.used[i] = false;
		pthread_mutex_unlock(&m->lock);
		if (ioctl(m->dev, S2K_SLOT_DEL, &s) && !atomic_load(&m->gone))
			FAIL("slot del %u: %s", i, strerror(errno));
		cur.used[i] = false;
		atomic_fetch_add(&m->slot_updates, 1);
	}
	for (j = 0; j < n; j++) {
		bool covered = false;

		for (i = 0; i < NSLOTS; i++)
			if (cur.used[i] && overlaps(want[j], cur.r[i]))
				covered = true;
		if (covered)
			continue;
		for (i = 0; i < NSLOTS && cur.used[i]; i++)
			;
		if (i == NSLOTS)
			break;
		struct s2k_slot s = { .id = i, .gpa = want[j].start, .hva = want[j].start,
				      .size = want[j].end - want[j].start };

		if (ioctl(m->dev, S2K_SLOT_ADD, &s)) {
			if (!atomic_load(&m->gone))
				FAIL("slot add %u [%#llx, %#llx): %s", i,
				     (unsigned long long)want[j].start,
				     (unsigned long long)want[j].end, strerror(errno));
			continue;
		}
		cur.used[i] = true;
		cur.r[i] = want[j];
		pthread_mutex_lock(&m->lock);
		m->slots.used[i] = true;
		m->slots.r[i] = want[j];
		pthread_mutex_unlock(&m->lock);
		atomic_fetch_add(&m->slot_updates, 1);
	}
}

static void *refresher(void *arg)
{
	struct mirror *m = arg;

	while (!atomic_load(&m->stop) && !atomic_load(&m->gone)) {
		struct maps *mp = read_maps(m->pid), *old;

		if (!mp)
			break;	/* the target is gone */
		sync_slots(m, mp);
		pthread_mutex_lock(&m->lock);
		old = m->maps;
		m->maps = mp;
		pthread_mutex_unlock(&m->lock);
		free(old);
		sleep_s(0.05);
	}
	return NULL;
}

/* A random 8-byte word of a readable mapping that a memslot covers,
 * weighted by size.  Return: false if there is none now. */
static bool sample(struct mirror *m, uint64_t *seed, uint64_t *hva)
{
	bool ok = false;
	unsigned i;

	pthread_mutex_lock(&m->lock);
	if (m->maps && m->maps->total) {
		uint64_t off = rnd(seed) % m->maps->total;

		for (i = 0; i < m->maps->n; i++) {
			uint64_t len = m->maps->r[i].end - m->maps->r[i].start;

			if (off < len) {
				*hva = (m->maps->r[i].start + off) & ~7UL;
				break;
			}
			off -= len;
		}
		for (i = 0; i < NSLOTS && !ok; i++)
			ok = m->slots.used[i] && *hva >= m->slots.r[i].start &&
			     *hva < m->slots.r[i].end;
	}
	pthread_mutex_unlock(&m->lock);
	return ok;
}

/* The target's word, read by the kernel's own path (access_remote_vm). */
static bool host_read(struct mirror *m, uint64_t hva, uint64_t *v)
{
	return pread(m->memfd, v, 8, (off_t)hva) == 8;
}

/* Return: 0, or -errno of the device read. */
static int dev_read(struct mirror *m, unsigned vcpu, uint64_t hva, uint64_t *v)
{
	struct s2k_access a = { .gpa = hva, .vcpu = vcpu };

	if (ioctl(m->dev, S2K_ACCESS, &a)) {
		if (errno == ESRCH)
			atomic_store(&m->gone, true);
		return -errno;
	}
	*v = a.value;
	return 0;
}

/*
 * One racing comparison (see the top of the file for the rule).
 * Return: false once the target is gone.
 */
static bool compare_racing(struct mirror *m, unsigned vcpu, uint64_t hva)
{
	unsigned stale = 0, k;
	uint64_t h1 = 0, h2 = 0, g = 0;
	int r;

	for (k = 0; k < ABA_REPEATS; k++) {
		bool ok1 = host_read(m, hva, &h1);

		r = dev_read(m, vcpu, hva, &g);
		if (r == -ESRCH)
			return false;
		if (r == -EFAULT) {	/* unmapped, PROT_NONE, slot moving */
			atomic_fetch_add(&m->efault, 1);
			return true;
		}
		if (r) {
			FAIL("device read %#llx: %s", (unsigned long long)hva, strerror(-r));
			return true;
		}
		if (!ok1 || !host_read(m, hva, &h2)) {
			atomic_fetch_add(&m->unsettled, 1);
			return true;
		}
		if (g == h1 || g == h2) {
			atomic_fetch_add(k ? &m->moving : &m->match, 1);
			return true;
		}
		if (h1 != h2)
			continue;	/* moved under us: ask again */
		stale++;
	}
	if (stale == ABA_REPEATS) {
		/* Every one fails the test; the first few are printed. */
		if (atomic_fetch_add(&m->data_viol, 1) < 8)
			FAIL("pid %d hva %#llx: device read %#llx %u times while the target held %#llx",
		     m->pid, (unsigned long long)hva, (unsigned long long)g, stale,
		     (unsigned long long)h1);
	} else {
		atomic_fetch_add(&m->moving, 1);
	}
	return true;
}

struct acc_arg {
	struct mirror *m;
	unsigned vcpu;
};

static void *accessor(void *p)
{
	struct acc_arg *a = p;
	uint64_t seed = 0x9e3779b97f4a7c15ULL * (a->vcpu + 1) ^ (uint64_t)a->m->pid;
	uint64_t hva;

	while (!atomic_load(&a->m->stop) && !atomic_load(&a->m->gone)) {
		if (!sample(a->m, &seed, &hva)) {
			sleep_s(0.002);
			continue;
		}
		if (a->m->row->st->flags & F_NOFAULT) {
			uint64_t g;
			int r = dev_read(a->m, a->vcpu, hva, &g);

			if (r == -ESRCH)
				break;
			if (r == -EFAULT)
				atomic_fetch_add(&a->m->efault, 1);
			else if (r)
				FAIL("device read %#llx: %s", (unsigned long long)hva, strerror(-r));
			continue;
		}
		if (!compare_racing(a->m, a->vcpu, hva))
			break;
	}
	return NULL;
}

/* ---- stopping the stress-ng tree ------------------------------------------ */

struct proc {
	pid_t pid, ppid;
	char state;
	long rss;
	unsigned long minflt;
	char comm[32];
};

static bool read_stat(pid_t pid, struct proc *p)
{
	char path[64], buf[1024], *c;
	int fd, n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	c = strrchr(buf, ')');
	if (!c || !strchr(buf, '('))
		return false;
	p->pid = pid;
	snprintf(p->comm, sizeof(p->comm), "%.*s", (int)(c - strchr(buf, '(') - 1),
		 strchr(buf, '(') + 1);
	/* state ppid pgrp session tty tpgid flags minflt cminflt majflt
	 * cmajflt utime stime cutime cstime priority nice threads
	 * itrealvalue starttime vsize rss */
	if (sscanf(c + 2, "%c %d %*d %*d %*d %*d %*u %lu %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %*u %*u %ld",
		   &p->state, &p->ppid, &p->minflt, &p->rss) != 4)
		return false;
	return true;
}

/* Every process below @root (not @root itself), with its depth. */
static unsigned tree(pid_t root, struct proc *out, unsigned *depth, unsigned max)
{
	static struct proc all[4096];
	unsigned n = 0, na = 0, j;
	struct dirent *d;
	DIR *dir = opendir("/proc");

	if (!dir)
		return 0;
	while ((d = readdir(dir)) && na < 4096) {
		pid_t pid = atoi(d->d_name);

		if (pid > 0 && read_stat(pid, &all[na]))
			na++;
	}
	closedir(dir);
	/* Breadth first from root. */
	pid_t frontier[MAX_TREE];
	unsigned fdepth[MAX_TREE], nf = 1, fi = 0;

	frontier[0] = root;
	fdepth[0] = 0;
	while (fi < nf) {
		pid_t par = frontier[fi];
		unsigned dep = fdepth[fi++];

		for (j = 0; j < na; j++) {
			if (all[j].ppid != par || n >= max || nf >= MAX_TREE)
				continue;
			out[n] = all[j];
			depth[n++] = dep + 1;
			frontier[nf] = all[j].pid;
			fdepth[nf++] = dep + 1;
		}
	}
	return n;
}

/*
 * The process whose mm the stressor works on: among the descendants
 * present in two scans 0.2 s apart (the fork stressor's children live
 * for less), the one that took the most minor faults in between, the
 * deepest on a tie.  Repeated until two rounds agree, because a worker
 * that is still setting up (and about to fork its OOM-able child) also
 * faults.
 */
static pid_t pick_once(pid_t root, struct proc *picked, unsigned *pdepth)
{
	static struct proc a[MAX_TREE], b[MAX_TREE];
	unsigned da[MAX_TREE], db[MAX_TREE], na, nb, i, j;
	unsigned long best_rate = 0;
	pid_t best = 0;

	na = tree(root, a, da, MAX_TREE);
	sleep_s(0.2);
	nb = tree(root, b, db, MAX_TREE);
	for (i = 0; i < nb; i++) {
		unsigned long rate;

		if (b[i].state == 'Z' || b[i].state == 'X')
			continue;
		for (j = 0; j < na && a[j].pid != b[i].pid; j++)
			;
		if (j == na)
			continue;
		rate = b[i].minflt - a[j].minflt;
		if (!best || rate > best_rate || (rate == best_rate && db[i] > *pdepth)) {
			best = b[i].pid;
			best_rate = rate;
			*picked = b[i];
			*pdepth = db[i];
		}
	}
	return best;
}

static pid_t pick_target(pid_t root, struct proc *picked, unsigned *pdepth)
{
	pid_t prev = 0, pid = 0;
	unsigned round;

	for (round = 0; round < 8; round++) {
		pid = pick_once(root, picked, pdepth);
		if (pid && pid == prev)
			break;
		prev = pid;
	}
	return pid;
}

/* SIGSTOP (@stop) or SIGCONT the whole tree below and including @root,
 * and on stop wait until every member is stopped. */
static void freeze_tree(pid_t root, bool stop)
{
	static struct proc t[MAX_TREE];
	unsigned d[MAX_TREE], n, i, round;
	double t0 = now();

	for (round = 0; round < 3; round++) {
		kill(root, stop ? SIGSTOP : SIGCONT);
		n = tree(root, t, d, MAX_TREE);
		for (i = 0; i < n; i++)
			kill(t[i].pid, stop ? SIGSTOP : SIGCONT);
		if (!stop)
			return;
	}
	/* A fork in flight during the first rounds has been caught by the
	 * later ones; now wait for the stops to land. */
	for (;;) {
		bool all = true;
		struct proc p;

		n = tree(root, t, d, MAX_TREE);
		for (i = 0; i < n; i++)
			if (read_stat(t[i].pid, &p) && p.state != 'T' && p.state != 't' &&
			    p.state != 'Z' && p.state != 'X') {
				kill(t[i].pid, SIGSTOP);
				all = false;
			}
		if (all || now() - t0 > 5)
			return;
		sleep_s(0.005);
	}
}

static bool page_present(struct mirror *m, uint64_t hva)
{
	uint64_t e;

	if (pread(m->pagemap, &e, 8, (off_t)(hva / PAGE * 8)) != 8)
		return false;
	return e >> 63;
}

static void fold_stats(struct mirror *m, bool final)
{
	struct s2k_stats st;
	struct row *r = m->row;
	unsigned i;

	memset(&st, 0, sizeof(st));
	if (ioctl(m->dev, S2K_STATS, &st)) {
		FAIL("STATS: %s", strerror(errno));
		return;
	}
	if (st.entries_pages > r->peak_pages)
		r->peak_pages = st.entries_pages;
	if (!final)
		return;
	for (i = 0; i < S2K_EV_NR; i++)
		r->ev[i] += st.ev[i];
	for (i = 0; i < S2K_NR_REASONS; i++)
		r->reason[i] += st.inv_reason[i];
	r->accesses += st.stat[S2K_ST_ACCESS];
	r->installs += st.stat[S2K_ST_MAP];
	r->blocks += st.stat[S2K_ST_BLOCKS];
	r->releases_seen += st.released;
}

/*
 * The tree stopped: VERIFY everything, then exact comparisons of words
 * of present pages.  @root is stress-ng's parent.
 */
static void frozen_check(struct mirror *m, pid_t root, uint64_t *seed)
{
	struct s2k_verify *v = calloc(1, sizeof(*v));
	unsigned i, done = 0, tries;

	freeze_tree(root, true);
	m->row->freezes++;
	if (m->row->st->flags & F_KSM) {
		long sh = read_long("/sys/kernel/mm/ksm/pages_sharing");

		if (sh > m->row->ksm_sharing)
			m->row->ksm_sharing = sh;
	}
	fold_stats(m, false);
	if (v && !ioctl(m->dev, S2K_VERIFY, v)) {
		m->row->checked += v->checked + v->tlb_checked;
		m->row->raced += v->raced;
		m->row->violations += v->violations;
		for (i = 0; i < v->violations && i < S2K_NR_VIOL; i++)
			FAIL("%s: VERIFY violation kind %u gpa %#llx s2 pfn %#llx%s host pfn %#llx%s last event %u [%#llx,%#llx)",
			     m->row->st->name, v->v[i].kind, (unsigned long long)v->v[i].gpa,
			     (unsigned long long)v->v[i].s2_pfn, v->v[i].s2_writable ? " rw" : " ro",
			     (unsigned long long)v->v[i].host_pfn,
			     v->v[i].host_writable ? " rw" : " ro", v->v[i].last_event,
			     (unsigned long long)v->v[i].last_start,
			     (unsigned long long)v->v[i].last_end);
	} else if (v && errno != ESRCH) {
		FAIL("VERIFY: %s", strerror(errno));
	}
	free(v);
	for (tries = 0; done < FROZEN_WORDS && tries < 50 * FROZEN_WORDS &&
	     !atomic_load(&m->gone); tries++) {
		uint64_t hva, h1 = 0, h2 = 0, g = 0;
		int r;

		if (!sample(m, seed, &hva) || !page_present(m, hva))
			continue;
		if (!host_read(m, hva, &h1))
			continue;
		r = dev_read(m, NACC, hva, &g);
		if (r == -EFAULT || r == -ESRCH)
			continue;
		if (r) {
			FAIL("frozen device read: %s", strerror(-r));
			break;
		}
		done++;
		if (!host_read(m, hva, &h2) || h1 != h2) {
			m->row->frozen_skipped++;
			continue;
		}
		if (g != h1) {
			if (m->row->data_viol++ < 8)
				FAIL("%s: pid %d stopped, hva %#llx: device read %#llx, memory holds %#llx",
			     m->row->st->name, m->pid, (unsigned long long)hva,
			     (unsigned long long)g, (unsigned long long)h1);
		} else {
			m->row->frozen_exact++;
		}
	}
	freeze_tree(root, false);
}

/* ---- recording (docs/trace.md) ------------------------------------------------ */

/*
 * s2mirror.record=NAME,NAME (or "all"): record what the kernel did to the
 * mirrors of those stressors, the whole address space of each attachment
 * into a buffer of s2mirror.reccap records, and write the busiest window
 * of up to TRACE_WINDOW inside one memslot to /dev/ttyS1 when it detaches
 * (s2trace_end_busiest: where the stressor works, whichever mapping that
 * is).
 */
#define TRACE_WINDOW	(4ULL << 20)	/* what the checker's oracle covers */
#define TRACE_ALL	(1ULL << 47)	/* user addresses, 4-level paging */
static const char *record_list;
static unsigned record_cap = 65536;
static FILE *trace_out;
static bool recording;
/* the memslots at attach and at detach: a window may lie in either */
static struct s2trace_slot trace_slots[2 * NSLOTS];
static unsigned trace_nslots;

static void trace_add_slots(struct mirror *m)
{
	pthread_mutex_lock(&m->lock);
	for (unsigned i = 0; i < NSLOTS; i++)
		if (m->slots.used[i] && trace_nslots < 2 * NSLOTS)
			/* the mirror's memslots sit at gpa = hva */
			trace_slots[trace_nslots++] = (struct s2trace_slot){
				i, m->slots.r[i].start, m->slots.r[i].start,
				m->slots.r[i].end - m->slots.r[i].start };
	pthread_mutex_unlock(&m->lock);
}

static bool recorded(const char *name)
{
	size_t n = strlen(name);

	if (record_list && !strcmp(record_list, "all"))
		return true;
	for (const char *p = record_list; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, name, n) && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

static void trace_attach(struct mirror *m)
{
	recording = false;
	if (!recorded(m->row->st->name))
		return;
	if (s2trace_begin(m->dev, 0, TRACE_ALL, record_cap)) {
		FAIL("%s: S2K_TRACE_CTL: %s", m->row->st->name, strerror(errno));
		return;
	}
	trace_nslots = 0;
	trace_add_slots(m);
	recording = true;
}

static void trace_detach(struct mirror *m)
{
	unsigned long long dropped;
	char name[64];
	long got;

	if (!recording)
		return;
	recording = false;
	if (!trace_out)
		trace_out = s2trace_open_serial("/dev/ttyS1");
	if (!trace_out) {
		FAIL("recording: /dev/ttyS1: %s", strerror(errno));
		return;
	}
	trace_add_slots(m);
	snprintf(name, sizeof(name), "stress-ng-%s-%u", m->row->st->name, m->row->attaches);
	got = s2trace_end_busiest(m->dev, trace_out, name, trace_slots, trace_nslots,
				  TRACE_WINDOW, &dropped);
	if (got < 0)
		FAIL("recording %s: %s", name, strerror((int)-got));
	else
		printf("S2MIRROR: recorded %s: %ld records in its busiest window, %llu dropped (buffer of %u)\n",
		       name, got, dropped, record_cap);
}

/* ---- one attachment ---------------------------------------------------------- */

static bool attach(struct mirror *m, pid_t pid)
{
	struct s2k_attach at = { 0 };
	char path[64];
	struct maps *mp;
	struct row *row = m->row;

	memset(m, 0, sizeof(*m));
	m->row = row;
	if (row->st->flags & F_NOFAULT)
		at.flags = S2K_ATTACH_NOFAULT;
	pthread_mutex_init(&m->lock, NULL);
	m->pid = pid;
	m->dev = open("/dev/s2mmu", O_RDWR);
	at.pidfd = syscall(SYS_pidfd_open, pid, 0);
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	m->memfd = open(path, O_RDONLY);
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	m->pagemap = open(path, O_RDONLY);
	if (m->dev < 0 || at.pidfd < 0 || m->memfd < 0 || m->pagemap < 0 ||
	    ioctl(m->dev, S2K_ATTACH, &at)) {
		/* The target may have exited since we picked it. */
		int e = errno;

		if (m->dev >= 0)
			close(m->dev);
		if (at.pidfd >= 0)
			close(at.pidfd);
		if (m->memfd >= 0)
			close(m->memfd);
		if (m->pagemap >= 0)
			close(m->pagemap);
		if (e != ESRCH && e != ENOENT)
			FAIL("attach to pid %d: %s", pid, strerror(e));
		return false;
	}
	close(at.pidfd);
	if (at.pid != pid)
		FAIL("attach: pid %d, module says %d", pid, at.pid);
	mp = read_maps(pid);
	if (mp) {
		sync_slots(m, mp);
		m->maps = mp;
	}
	trace_attach(m);
	return true;
}

static void detach(struct mirror *m)
{
	fold_stats(m, true);
	m->row->match += atomic_load(&m->match);
	m->row->moving += atomic_load(&m->moving);
	m->row->unsettled += atomic_load(&m->unsettled);
	m->row->efault += atomic_load(&m->efault);
	m->row->data_viol += atomic_load(&m->data_viol);
	m->row->slot_updates += atomic_load(&m->slot_updates);
	trace_detach(m);
	close(m->dev);
	close(m->memfd);
	close(m->pagemap);
	free(m->maps);
}

/* ---- one stressor ----------------------------------------------------------- */

static pid_t spawn(const struct stressor *st, double secs)
{
	char *argv[64], args[256], tbuf[32], yaml[96], log[96];
	unsigned n = 0;
	pid_t pid;

	snprintf(args, sizeof(args), "%s", st->args);
	snprintf(tbuf, sizeof(tbuf), "%us", (unsigned)secs + 60);
	snprintf(yaml, sizeof(yaml), "/tmp/sng-%s.yaml", st->name);
	snprintf(log, sizeof(log), "/tmp/sng-%s.log", st->name);
	unlink(yaml);
	argv[n++] = "stress-ng";
	for (char *tok = strtok(args, " "); tok && n < 50; tok = strtok(NULL, " "))
		argv[n++] = tok;
	/* We end the run ourselves (SIGINT to the group) once the final
	 * VERIFY is done; the timeout is only a backstop. */
	argv[n++] = "--timeout";
	argv[n++] = tbuf;
	argv[n++] = "--metrics-brief";
	argv[n++] = "--yaml";
	argv[n++] = yaml;
	argv[n++] = "--temp-path";
	argv[n++] = "/tmp";
	argv[n] = NULL;
	pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		setpgid(0, 0);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if ((st->flags & F_USER) &&
		    (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000)))
			_exit(125);
		if (chdir("/tmp"))
			_exit(126);
		execv("/usr/bin/stress-ng", argv);
		_exit(127);
	}
	return pid;
}

static long long yaml_bogo(const char *name)
{
	char path[96], line[256];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/sng-%s.yaml", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " bogo-ops: %lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

static void print_log(const char *name)
{
	char path[96], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/sng-%s.log", name);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		printf("S2MIRROR: stress-ng %s: %s", name, line);
	fclose(f);
}

static atomic_bool compacting;

static void *compactor(void *arg)
{
	(void)arg;
	while (atomic_load(&compacting)) {
		write_file("/proc/sys/vm/compact_memory", "1");
		sleep_s(0.3);
	}
	return NULL;
}

static void run_stressor(const struct stressor *st, double secs, struct row *r)
{
	pthread_t comp, thr[NACC + 1];
	struct acc_arg aa[NACC];
	struct mirror m;
	uint64_t seed = 4242;
	pid_t root, pid = 0;
	double t0 = now(), deadline = t0 + secs, next_freeze;
	bool final_done = false;
	int status = 0, i;

	memset(r, 0, sizeof(*r));
	r->st = st;
	r->rc = -1;
	if (st->flags & F_KSM) {
		write_file("/sys/kernel/mm/ksm/pages_to_scan", "2000");
		write_file("/sys/kernel/mm/ksm/sleep_millisecs", "5");
		write_file("/sys/kernel/mm/ksm/run", "1");
	}
	if (st->flags & F_COMPACT) {
		write_file("/sys/kernel/mm/transparent_hugepage/enabled", "always");
		atomic_store(&compacting, true);
		pthread_create(&comp, NULL, compactor, NULL);
	}
	root = spawn(st, secs);
	while (now() < deadline && !final_done) {
		struct proc p;
		unsigned depth = 0;

		if (waitpid(root, &status, WNOHANG) == root) {
			root = 0;
			break;
		}
		pid = pick_target(root, &p, &depth);
		m.row = r;
		if (!pid || !attach(&m, pid))
			continue;
		r->attaches++;
		if (r->attaches == 1)
			snprintf(r->target, sizeof(r->target), "%s d%u", p.comm, depth);
		printf("S2MIRROR: %s: attached to pid %d (%s, depth %u below stress-ng %d, rss %ld pages)\n",
		       st->name, pid, p.comm, depth, root, p.rss);
		for (i = 0; i < NACC; i++) {
			aa[i] = (struct acc_arg){ &m, (unsigned)i };
			pthread_create(&thr[i], NULL, accessor, &aa[i]);
		}
		pthread_create(&thr[NACC], NULL, refresher, &m);
		next_freeze = now() + 0.7;
		while (!atomic_load(&m.gone)) {
			sleep_s(0.05);
			if (now() >= deadline) {
				/* After the stressor: the final VERIFY, on the
				 * target still alive and stopped. */
				frozen_check(&m, root, &seed);
				final_done = true;
				break;
			}
			if (now() >= next_freeze) {
				frozen_check(&m, root, &seed);
				next_freeze = now() + 0.7;
			}
			if (kill(pid, 0) && !atomic_load(&m.gone)) {
				/* Reaped; release ran in its exit_mmap. */
				struct s2k_stats st2;

				if (!ioctl(m.dev, S2K_STATS, &st2) && st2.released)
					atomic_store(&m.gone, true);
			}
		}
		if (final_done) {
			/*
			 * Stop stress-ng with our accessors still running:
			 * the worker's exit_mmap releases the VM under them
			 * (seed 001); they end on ESRCH.
			 */
			double t1 = now();

			kill(-root, SIGINT);
			while (!atomic_load(&m.gone) && now() - t1 < 15) {
				struct s2k_stats st2;

				sleep_s(0.05);
				if (!ioctl(m.dev, S2K_STATS, &st2) && st2.released)
					break;
			}
		}
		atomic_store(&m.stop, true);
		for (i = 0; i <= NACC; i++)
			pthread_join(thr[i], NULL);
		detach(&m);
	}
	if (root) {
		double t1 = now();

		if (!final_done)
			kill(-root, SIGINT);
		while (waitpid(root, &status, WNOHANG) != root) {
			if (now() - t1 > 20) {
				kill(-root, SIGKILL);
				waitpid(root, &status, 0);
				break;
			}
			sleep_s(0.05);
		}
	}
	r->rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	r->secs = now() - t0;
	r->bogo = yaml_bogo(st->name);
	if (st->flags & F_COMPACT) {
		atomic_store(&compacting, false);
		pthread_join(comp, NULL);
		write_file("/sys/kernel/mm/transparent_hugepage/enabled", "madvise");
	}
	if (st->flags & F_KSM) {
		write_file("/sys/kernel/mm/ksm/run", "2");	/* unmerge all */
	}
	if (r->rc != 0)
		print_log(st->name);
}

/* ---- the attach ioctl's contract ------------------------------------------ */

static int try_attach(int dev, int pidfd, unsigned flags)
{
	struct s2k_attach at = { .pidfd = pidfd, .flags = flags };

	return ioctl(dev, S2K_ATTACH, &at) ? -errno : 0;
}

/* A process that waits on @hold until we close it, as uid/gid 1000. */
static pid_t sleeper(int hold[2], bool dumpable)
{
	pid_t pid = fork();
	char c;

	if (pid == 0) {
		close(hold[1]);
		if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000))
			_exit(1);
		/* A uid change from root clears dumpable; set what we test. */
		prctl(PR_SET_DUMPABLE, dumpable ? 1 : 0);
		if (read(hold[0], &c, 1) < 0) { /* EOF when the test closes it */ }
		_exit(0);
	}
	return pid;
}

/*
 * Bad input gets a negative errno and leaves the file's VM as it was
 * (its memslots still work); the credential rule (vm.c, s2k_may_mirror)
 * lets a uid mirror its own dumpable processes and nothing else; a
 * target that has exited is refused.
 */
static void api_checks(void)
{
	int dev = open("/dev/s2mmu", O_RDWR), fd, hold[2], st, r;
	char *mem = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct s2k_slot sl = { .id = 0, .gpa = 0x10000000, .hva = (uintptr_t)mem, .size = PAGE };
	struct s2k_access a = { .gpa = 0x10000000 };
	pid_t kid, other, me = getpid();

	if (dev < 0 || mem == MAP_FAILED) {
		FAIL("api: open /dev/s2mmu: %s", strerror(errno));
		return;
	}
	*(uint64_t *)mem = 0x5151;
	fd = open("/proc/self/maps", O_RDONLY);
	if ((r = try_attach(dev, 1000, 0)) != -EBADF)
		FAIL("api: attach to a closed fd: %d, expected -EBADF", r);
	if ((r = try_attach(dev, fd, 0)) != -EINVAL)
		FAIL("api: attach to a file that is not a pidfd: %d, expected -EINVAL", r);
	close(fd);
	fd = syscall(SYS_pidfd_open, me, 0);
	if ((r = try_attach(dev, fd, 2)) != -EINVAL)
		FAIL("api: attach with unknown flag 2: %d, expected -EINVAL", r);
	/* An exited (reaped) process. */
	kid = fork();
	if (kid == 0)
		_exit(0);
	{
		int kfd = syscall(SYS_pidfd_open, kid, 0);

		waitpid(kid, &st, 0);
		if ((r = try_attach(dev, kfd, 0)) != -ESRCH)
			FAIL("api: attach to an exited process: %d, expected -ESRCH", r);
		close(kfd);
	}
	/* None of that changed the VM: it still mirrors us. */
	if (ioctl(dev, S2K_SLOT_ADD, &sl) || ioctl(dev, S2K_ACCESS, &a) || a.value != 0x5151)
		FAIL("api: the VM changed after failed attaches: %s", strerror(errno));
	/* A VM with memslots is not replaced. */
	if ((r = try_attach(dev, fd, 0)) != -EBUSY)
		FAIL("api: attach over a memslot: %d, expected -EBUSY", r);
	if (ioctl(dev, S2K_ACCESS, &a) || a.value != 0x5151)
		FAIL("api: the VM changed after -EBUSY");
	close(fd);
	close(dev);

	/* Credentials: uid 1000 may mirror its own dumpable process only. */
	if (pipe(hold)) {
		FAIL("api: pipe");
		return;
	}
	other = sleeper(hold, true);
	pid_t nodump = sleeper(hold, false);

	kid = fork();
	if (kid == 0) {
		int bad = 0, d, p1, p2, p3;

		close(hold[1]);
		if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000))
			_exit(100);
		sleep_s(0.2);	/* the sleepers have dropped root too */
		p1 = syscall(SYS_pidfd_open, other, 0);
		p2 = syscall(SYS_pidfd_open, me, 0);
		p3 = syscall(SYS_pidfd_open, nodump, 0);
		d = open("/dev/s2mmu", O_RDWR);
		if (d < 0 || p1 < 0 || p2 < 0 || p3 < 0)
			_exit(101);
		if (try_attach(d, p2, 0) != -EPERM)	/* root's process */
			bad |= 1;
		if (try_attach(d, p3, 0) != -EPERM)	/* same uid, not dumpable */
			bad |= 2;
		if (try_attach(d, p1, 0) != 0)		/* same uid, dumpable */
			bad |= 4;
		_exit(bad);
	}
	waitpid(kid, &st, 0);
	close(hold[0]);
	close(hold[1]);
	waitpid(other, NULL, 0);
	waitpid(nodump, NULL, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		FAIL("api: credential rule: child status %#x (1: root's process attached, 2: non-dumpable attached, 4: own process refused, 100+: setup)",
		     st);
	munmap(mem, PAGE);
	printf("S2MIRROR: attach API: bad fd, non-pidfd, flags, exited target, over a memslot, credentials: checked\n");
}

/* ---- table -------------------------------------------------------------------- */

static void print_row(const struct row *r)
{
	char inv[96], ext[48] = "";

	snprintf(inv, sizeof(inv), "%llu/%llu/%llu/%llu/%llu",
		 (unsigned long long)r->reason[0], (unsigned long long)r->reason[1],
		 (unsigned long long)r->reason[2], (unsigned long long)r->reason[3],
		 (unsigned long long)r->reason[6]);
	if (r->st->flags & F_KSM)
		snprintf(ext, sizeof(ext), " KSM pages_sharing peak %ld", r->ksm_sharing);
	if (r->st->flags & F_COMPACT)
		snprintf(ext, sizeof(ext), " %llu 2M leaves", (unsigned long long)r->blocks);
	printf("S2MIRROR: | %-11s | %-18s | %3u | %6llu | %7llu | %7llu | %7llu | %-24s | %5llu | %4llu | %7llu | %5llu | %3llu/%llu | %6llu/%llu/%llu | %5llu | %9lld | %3d |%s\n",
	       r->st->name, r->target, r->attaches, (unsigned long long)r->peak_pages,
	       (unsigned long long)r->installs, (unsigned long long)r->accesses,
	       (unsigned long long)r->ev[S2K_EV_INV_START], inv,
	       (unsigned long long)(r->ev[S2K_EV_CLEAR_FLUSH_YOUNG] + r->ev[S2K_EV_CLEAR_YOUNG] +
				    r->ev[S2K_EV_TEST_YOUNG]),
	       (unsigned long long)r->ev[S2K_EV_CHANGE_PTE],
	       (unsigned long long)r->checked, (unsigned long long)r->raced,
	       (unsigned long long)r->violations, (unsigned long long)r->data_viol,
	       (unsigned long long)r->match, (unsigned long long)r->moving,
	       (unsigned long long)r->efault, (unsigned long long)r->frozen_exact,
	       r->bogo, r->rc, ext);
}

static void print_table(const struct row *rows, unsigned n)
{
	unsigned i;

	printf("S2MIRROR: | stressor    | mirrored (comm, depth) | VMs | peak pages | installs | guest reads | inv calls | inv UNMAP/CLEAR/PROT_VMA/PROT_PAGE/MIGRATE | aging | change_pte | VERIFY entries | raced | violations VERIFY/data | racing match/moving/efault | frozen exact | bogo-ops | rc |\n");
	for (i = 0; i < n; i++)
		print_row(&rows[i]);
}

int main(int argc, char **argv)
{
	static struct row rows[NSTRESSORS];
	const char *only = NULL;
	unsigned i, n = 0;
	double t0 = now();

	for (i = 1; i < (unsigned)argc; i++) {
		if (!strcmp(argv[i], "long=1"))
			long_run = true;
		else if (!strncmp(argv[i], "secs=", 5))
			secs_override = atof(argv[i] + 5);
		else if (!strncmp(argv[i], "only=", 5))
			only = argv[i] + 5;
		else if (!strncmp(argv[i], "record=", 7))
			record_list = argv[i] + 7;
		else if (!strncmp(argv[i], "reccap=", 7))
			record_cap = (unsigned)atoi(argv[i] + 7);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* stress-ng's files (temp files, YAML) from an unprivileged run too. */
	chmod("/tmp", 01777);
	if (access("/usr/bin/stress-ng", X_OK)) {
		printf("S2TEST: FAIL s2mirror: no /usr/bin/stress-ng in the initramfs\n");
		return 1;
	}
	printf("S2MIRROR: %s list, stress-ng as the target\n", long_run ? "long" : "CI");
	api_checks();
	for (i = 0; i < NSTRESSORS; i++) {
		const struct stressor *st = &stressors[i];
		double secs = secs_override > 0 ? secs_override : long_run ? 20 : 3;
		char pat[40];

		snprintf(pat, sizeof(pat), ",%s,", st->name);
		if (only) {
			char list[256];

			snprintf(list, sizeof(list), ",%s,", only);
			if (!strstr(list, pat))
				continue;
		} else if (!long_run && !st->ci) {
			continue;
		}
		run_stressor(st, secs, &rows[n]);
		print_row(&rows[n]);
		const struct row *r = &rows[n++];

		if (!r->attaches || !r->freezes || !r->checked || !r->accesses)
			FAIL("%s: not mirrored (attaches %u, frozen checks %u, VERIFY entries %llu, guest reads %llu)",
			     st->name, r->attaches, r->freezes, (unsigned long long)r->checked,
			     (unsigned long long)r->accesses);
		if (r->violations || r->data_viol)
			FAIL("%s: %llu VERIFY violations, %llu data mismatches", st->name,
			     (unsigned long long)r->violations, (unsigned long long)r->data_viol);
		if (r->rc != 0)
			FAIL("%s: stress-ng exit status %d", st->name, r->rc);
	}
	/* The CI list mirrors at least five stressors (issue 15). */
	if (!only && n < (long_run ? NSTRESSORS : 5))
		FAIL("only %u stressors ran", n);
	printf("S2MIRROR: table (%u stressors, %.1fs)\n", n, now() - t0);
	print_table(rows, n);
	if (atomic_load(&failures)) {
		printf("S2MIRROR: FAIL (%d failures)\n", atomic_load(&failures));
		return 1;
	}
	printf("S2MIRROR: PASS\n");
	return 0;
}
