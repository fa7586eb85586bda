// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * `s2mmu check --trace FILE`: replay a recording of the real kernel
 * (kernel/trace.c, format in docs/trace.md) against the library and the
 * host model, with the checker's oracle and scheduler.
 *
 * The model (docs/trace.md has the long version):
 *  - The recording's window of host addresses becomes the world's VMA at
 *    W_HVA (THP-backed if the kernel mapped any 2M leaf), mapped by slot 0
 *    at GPA 0: a recorded hva h is the offset h - window start.
 *  - Each recorded operation becomes one world operation: an access
 *    (recorded vCPU, hva, read or write) a guest access; an invalidation
 *    the host-model operation that fires the same mmu_notifier_event over
 *    the same range and has the same effect on the frames; an aging call,
 *    a memslot change, a harvest and release their world counterparts.
 *    Frames are never copied from the recording (the model's frame
 *    numbers are its own): the recording decides only what kind of change
 *    an invalidation was.  Whether it kept the frames (a THP split, a
 *    write-protect) or replaced them (zap, COW, reclaim, migration) is read
 *    from the frames the kernel resolved for those pages before and after
 *    it, and the model then derives every frame itself, so the frames stay
 *    consistent with the host model under any reordering.
 *  - The operations are cut into windows of T.ops_per_window operations
 *    centred on the host operations (plan_windows).
 *    A window's set-up faults in, in order and alone, the pages it
 *    touches that the recording says stage 2 mapped when it began, and
 *    turns on dirty logging, deletes the memslot or exits as the
 *    recording had it by then; then
 *    its host operations run on one thread and its accesses on one thread
 *    per vCPU under the scheduler.  An operation may start only once every
 *    operation more than T.reorder places before it in the recording has
 *    finished: 0 runs the operations one at a time in the recorded order,
 *    1 lets each overlap or overtake its predecessor, and so on.
 *  - A drop marker (the module's buffer overflowed) ends what the replay
 *    knows of stage 2: no window spans one, and the state after it starts
 *    empty.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "check/trace.h"
#include "check/world.h"

#define PG		4096ULL
/* recordings are of a 4K host (trace_main refuses another granule): the
 * oracle window of a 4K world */
#define TR_PAGES	1024
#define M2		(2ULL << 20)
#define MAX_SETUP	32	/* set-up faults per window */
#define MAX_MIGRATE	8	/* pages a migration invalidation moves */
#define MAX_OPEN	16	/* ranges unmapped or write-protected at once */
#define NR_EVENTS	8	/* Linux enum mmu_notifier_event */

static const char *const ev_names[NR_EVENTS] = {
	"unmap", "clear", "protection_vma", "protection_page", "soft_dirty",
	"release", "migrate", "exclusive",
};

/* What a replayed operation does to the world. */
enum top_kind {
	O_ACCESS,
	O_ZAP,		/* invalidation that replaced frames: MADV_DONTNEED */
	O_UNMAP,	/* munmap */
	O_PROTECT,	/* write-protect: mprotect read-only */
	O_SPLIT,	/* THP split: frames kept */
	O_FORK,		/* PROTECTION_PAGE: fork, the child exits */
	O_MIGRATE,	/* frames moved, content kept */
	O_AGE,
	O_RELEASE,
	O_SLOT_DEL,
	O_SLOT_ADD,
	O_LOG_ON,
	O_LOG_OFF,
	O_HARVEST,
	O_DROP,		/* the recording lost records here */
	O_REMAP,	/* the range unmapped earlier mapped again (empty) */
	O_UNPROTECT,	/* the range write-protected earlier writable again */
	O_NR
};

static const char *const op_names[O_NR] = {
	"access", "zap", "unmap", "protect", "split", "fork", "migrate", "age", "release",
	"slot del", "slot add", "log on", "log off", "harvest", "drop", "remap", "unprotect",
};

struct top {
	uint8_t kind;
	uint8_t vcpu;		/* recorded vCPU (accesses) */
	bool write;
	uint8_t mode;		/* enum host_age_mode, or the notifier event */
	uint64_t off, len;	/* window offsets */
	unsigned line;		/* in the recording */
	uint32_t tid;		/* recorded kernel task */
	int32_t ret;		/* accesses: the recorded result */
};

/* A frame observation of one page, for classifying invalidations. */
struct obs {
	unsigned op;		/* index of the next operation when observed */
	uint64_t page;		/* window page */
	uint64_t pfn;		/* ~0: host maps nothing */
};

static struct {
	bool loaded, selected;
	char path[256];
	uint64_t w0, wsize;		/* window: host addresses */
	uint64_t slot_gpa, slot_hva, slot_size;
	bool thp;
	struct top *op;
	unsigned nops, cap;
	struct obs *ob;
	unsigned nob, obcap;
	unsigned records, verifies, faults, skipped;
	unsigned by_kind[O_NR];
	unsigned inv_by_event[NR_EVENTS];
	unsigned ops_per_window, reorder;
	unsigned *wstart, nwin, wcap;
	/* the selected window */
	unsigned win, first, n;
	unsigned nsetup;
	struct top setup[MAX_SETUP + MAX_OPEN + 3];
	char name[32];
} T = { .ops_per_window = 12, .reorder = 2 };

static void plan_windows(void);

/* The recorded-order counts (trace_count), in memory shared with the
 * worker processes that run the windows. */
static struct {
	bool on;
	unsigned long accesses, agree;
	unsigned first_line;
} *AG;

static void *grow(void *p, unsigned *cap, size_t size)
{
	unsigned c = *cap ? *cap * 2 : 1024;
	void *q = realloc(p, c * size);

	if (!q) {
		fprintf(stderr, "s2mmu check: out of memory reading the trace\n");
		exit(2);
	}
	*cap = c;
	return q;
}

static uint32_t cur_tid;	/* of the record being parsed */

static struct top *add_op(unsigned kind, unsigned line)
{
	struct top *o;

	if (T.nops == T.cap)
		T.op = grow(T.op, &T.cap, sizeof(*T.op));
	o = &T.op[T.nops++];
	memset(o, 0, sizeof(*o));
	o->kind = (uint8_t)kind;
	o->line = line;
	o->tid = cur_tid;
	T.by_kind[kind]++;
	return o;
}

static void add_obs(uint64_t hva, uint64_t pfn)
{
	if (T.nob == T.obcap)
		T.ob = grow(T.ob, &T.obcap, sizeof(*T.ob));
	T.ob[T.nob++] = (struct obs){ T.nops, (hva - T.w0) / PG, pfn };
}

/* Clip [a, b) to the window, page aligned.  False if nothing is left. */
static bool clip(uint64_t a, uint64_t b, uint64_t *off, uint64_t *len)
{
	uint64_t s = a < T.w0 ? T.w0 : a, e = b > T.w0 + T.wsize ? T.w0 + T.wsize : b;

	s &= ~(PG - 1);
	e = (e + PG - 1) & ~(PG - 1);
	if (s >= e)
		return false;
	*off = s - T.w0;
	*len = e - s;
	return true;
}

static bool in_window(uint64_t hva)
{
	return hva >= T.w0 && hva < T.w0 + T.wsize;
}

/* ------------------------------------------------------------ parsing */

struct lp {
	char *tok[16];
	unsigned n;
};

static void split(char *s, struct lp *l)
{
	char *save = NULL;

	l->n = 0;
	for (char *t = strtok_r(s, " \t\r\n", &save); t && l->n < 16;
	     t = strtok_r(NULL, " \t\r\n", &save))
		l->tok[l->n++] = t;
}

static bool num(const char *s, uint64_t *v)
{
	char *end;

	if (!s || !*s)
		return false;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return !errno && !*end;
}

static bool snum(const char *s, int64_t *v)
{
	char *end;

	if (!s || !*s)
		return false;
	errno = 0;
	*v = strtoll(s, &end, 0);
	return !errno && !*end;
}

static int find(const char *const *names, unsigned n, const char *s)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(names[i], s))
			return (int)i;
	return -1;
}

/*
 * Settle each invalidation's kind.  CLEAR is what the kernel says for a
 * zap, a COW break, a THP split, KSM, reclaim and migration alike: the
 * frames the kernel resolved for the range's pages after it tell which.
 * A page seen with another frame (or none) after it than before it was
 * replaced; if every page seen both sides kept its frame, the change kept
 * them.  Unknown counts as replaced, the stronger change (the frame may
 * be freed once the start returns).  @next chains each page's
 * observations in order (next[j]: the page's next one, -1 none).
 */
static void classify_invalidations(const long *next)
{
	/* per page: the frame last seen before the operation at hand, and
	 * its first observation at or after it */
	static uint64_t last[TR_PAGES];
	static bool seen[TR_PAGES];
	static long cur[TR_PAGES];

	for (unsigned p = 0; p < TR_PAGES; p++)
		cur[p] = -1, seen[p] = false;
	for (unsigned j = T.nob; j-- > 0; )
		cur[T.ob[j].page] = (long)j;
	for (unsigned i = 0, j0 = 0; i < T.nops; i++) {
		struct top *o = &T.op[i];
		bool kept = false, replaced = false;

		for (; j0 < T.nob && T.ob[j0].op <= i; j0++) {
			uint64_t pg = T.ob[j0].page;

			last[pg] = T.ob[j0].pfn;
			seen[pg] = true;
			cur[pg] = next[j0];
		}
		if (o->kind != O_ZAP)
			continue;
		for (uint64_t p = o->off / PG; p < (o->off + o->len) / PG && !replaced; p++) {
			uint64_t after = cur[p] >= 0 ? T.ob[cur[p]].pfn : ~0ULL;

			if (seen[p] && cur[p] >= 0 && last[p] != ~0ULL && last[p] == after)
				kept = true;
			else if (seen[p] && last[p] != ~0ULL)
				replaced = true;
		}
		switch (o->mode) {
		case 0:	/* unmap */
			o->kind = O_UNMAP;
			break;
		case 2:	/* protection_vma */
		case 4:	/* soft_dirty */
			o->kind = O_PROTECT;
			break;
		case 3:	/* protection_page */
			o->kind = O_FORK;
			break;
		case 6:	/* migrate */
		case 7:	/* exclusive */
			o->kind = O_MIGRATE;
			break;
		default:
			o->kind = !replaced && kept ?
				  (o->len == M2 && !(o->off % M2) && T.thp ? O_SPLIT : O_PROTECT) :
				  O_ZAP;
		}
		T.by_kind[o->kind]++;
	}
}

/*
 * The kernel's munmap and mprotect(read-only) are undone by an mmap or an
 * mprotect that fires no notifier, so the recording does not say when:
 * only that a later access succeeded.  A range unmapped is mapped again
 * (empty) right before the first access to it that the kernel completed,
 * or before the next host operation over it (a notifier call means it was
 * mapped); a range write-protected is made writable again right before
 * the first completed write to it, or before the next write-protect of
 * it.  Between the two, accesses fail in the replay as they did in the
 * kernel.  Return: 0, or -1 out of memory.
 */
static int insert_restores(void)
{
	struct top *out = NULL, open[MAX_OPEN];
	unsigned nout = 0, cap = 0, nopen = 0;

	for (unsigned i = 0; i < T.nops; i++) {
		const struct top *o = &T.op[i];
		bool host = o->kind != O_ACCESS && o->kind != O_DROP;

		for (unsigned k = 0; k < nopen; ) {
			const struct top *u = &open[k];
			bool over = o->off < u->off + u->len && o->off + o->len > u->off;
			bool undo = over && (u->kind == O_UNMAP ?
					     host || (o->kind == O_ACCESS && !o->ret) :
					     (o->kind == O_ACCESS && o->write && !o->ret) ||
					     o->kind == O_PROTECT || o->kind == O_UNMAP);

			if (!undo) {
				k++;
				continue;
			}
			if (nout == cap) {
				struct top *n = realloc(out, (cap = cap ? cap * 2 : T.nops + 64) *
							sizeof(*out));

				if (!n) {
					free(out);
					return -1;
				}
				out = n;
			}
			out[nout] = *u;
			out[nout].kind = u->kind == O_UNMAP ? O_REMAP : O_UNPROTECT;
			out[nout++].line = o->line;
			T.by_kind[u->kind == O_UNMAP ? O_REMAP : O_UNPROTECT]++;
			open[k] = open[--nopen];
		}
		if (nout == cap) {
			struct top *n = realloc(out, (cap = cap ? cap * 2 : T.nops + 64) * sizeof(*out));

			if (!n) {
				free(out);
				return -1;
			}
			out = n;
		}
		out[nout++] = *o;
		if ((o->kind == O_UNMAP || o->kind == O_PROTECT) && nopen < MAX_OPEN)
			open[nopen++] = *o;
		if (o->kind == O_RELEASE || o->kind == O_DROP)
			nopen = 0;	/* gone, or unknown from here */
	}
	free(T.op);
	T.op = out;
	T.nops = nout;
	T.cap = cap;
	return 0;
}

#define BAD(...) do { snprintf(err, errlen, "%s:%u: ", path, line); \
	snprintf(err + strlen(err), errlen - strlen(err), __VA_ARGS__); goto fail; } while (0)

int trace_load(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char buf[512];
	unsigned line = 0;
	bool have_window = false, have_slot = false, have_version = false;
	uint64_t last_seq = 0;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!AG) {
		AG = mmap(NULL, sizeof(*AG), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			  -1, 0);
		if (AG == MAP_FAILED) {
			AG = NULL;
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			fclose(f);
			return -1;
		}
	}
	memset(T.by_kind, 0, sizeof(T.by_kind));
	memset(T.inv_by_event, 0, sizeof(T.inv_by_event));
	T.nops = T.nob = T.records = T.verifies = T.faults = T.skipped = 0;
	T.thp = false;
	while (fgets(buf, sizeof(buf), f)) {
		struct lp l;
		uint64_t seq, tid, a, b, c, d, v;
		int64_t r;
		const char *k;

		line++;
		if (!strchr(buf, '\n') && !feof(f))
			BAD("line too long");
		if (buf[0] == '#')
			continue;
		split(buf, &l);
		if (!l.n)
			continue;
		if (!have_version) {
			if (l.n != 2 || strcmp(l.tok[0], "s2trace"))
				BAD("not an s2trace file (the first line that is not a comment must be "
				    "\"s2trace 1\")");
			if (strcmp(l.tok[1], "1"))
				BAD("s2trace format %s: this checker reads format 1", l.tok[1]);
			have_version = true;
			continue;
		}
		if (!strcmp(l.tok[0], "window")) {
			if (l.n != 3 || !num(l.tok[1], &T.w0) || !num(l.tok[2], &T.wsize) ||
			    (T.w0 | T.wsize) & (PG - 1) || !T.wsize)
				BAD("window HVA SIZE: page-aligned numbers");
			if (T.wsize > TR_PAGES * PG)
				BAD("window of %llu KiB: the checked world holds at most %llu KiB",
				    (unsigned long long)T.wsize >> 10,
				    (unsigned long long)(TR_PAGES * PG) >> 10);
			have_window = true;
			continue;
		}
		if (!strcmp(l.tok[0], "memslot")) {
			if (l.n != 5 || !num(l.tok[1], &v) || !num(l.tok[2], &T.slot_gpa) ||
			    !num(l.tok[3], &T.slot_hva) || !num(l.tok[4], &T.slot_size))
				BAD("memslot ID GPA HVA SIZE");
			if (!have_window || T.w0 < T.slot_hva ||
			    T.w0 + T.wsize > T.slot_hva + T.slot_size)
				BAD("the window must come first and lie inside the memslot");
			have_slot = true;
			continue;
		}
		if (!have_slot)
			BAD("records before the window and memslot lines");
		if (l.n < 3 || !num(l.tok[0], &seq) || !num(l.tok[1], &tid))
			BAD("expected SEQ TID KIND ...");
		if (seq <= last_seq)
			BAD("sequence number %llu after %llu: records out of order",
			    (unsigned long long)seq, (unsigned long long)last_seq);
		last_seq = seq;
		cur_tid = (uint32_t)tid;
		T.records++;
		k = l.tok[2];
		if (!strcmp(k, "inv_start")) {
			int ev;
			struct top *o;

			if (l.n != 7 || !num(l.tok[3], &a) || !num(l.tok[4], &b) || a >= b ||
			    (ev = find(ev_names, NR_EVENTS, l.tok[5])) < 0)
				BAD("inv_start START END EVENT BLOCKABLE");
			if (!clip(a, b, &c, &d)) {
				T.skipped++;
				continue;
			}
			T.inv_by_event[ev]++;
			/* the kind is settled once the frames after it are known */
			o = add_op(O_ZAP, line);
			T.by_kind[O_ZAP]--;
			o->mode = (uint8_t)ev;
			o->off = c;
			o->len = d;
		} else if (!strcmp(k, "inv_end")) {
			if (l.n != 6 || !num(l.tok[3], &a) || !num(l.tok[4], &b) || a >= b ||
			    find(ev_names, NR_EVENTS, l.tok[5]) < 0)
				BAD("inv_end START END EVENT");
		} else if (!strcmp(k, "release")) {
			add_op(O_RELEASE, line);
		} else if (!strcmp(k, "cfy") || !strcmp(k, "cy") || !strcmp(k, "ty") ||
			   !strcmp(k, "age")) {
			bool ioctl = !strcmp(k, "age");
			unsigned base = ioctl ? 4 : 3;
			struct top *o;
			int mode;

			if (l.n != base + 3 || !num(l.tok[base], &a) || !num(l.tok[base + 1], &b) ||
			    a >= b || !num(l.tok[base + 2], &v))
				BAD("%s %sSTART END YOUNG", k, ioctl ? "KIND " : "");
			if (ioctl) {
				static const char *const an[] = { "test", "clear", "clear_flush" };

				mode = find(an, 3, l.tok[3]);
				if (mode < 0)
					BAD("age KIND: test, clear or clear_flush");
				mode = mode == 0 ? HOST_AGE_TEST_YOUNG : mode == 1 ?
				       HOST_AGE_CLEAR_YOUNG : HOST_AGE_CLEAR_FLUSH_YOUNG;
			} else {
				mode = k[1] == 'f' ? HOST_AGE_CLEAR_FLUSH_YOUNG :
				       k[0] == 'c' ? HOST_AGE_CLEAR_YOUNG : HOST_AGE_TEST_YOUNG;
			}
			if (!clip(a, b, &c, &d)) {
				T.skipped++;
				continue;
			}
			o = add_op(O_AGE, line);
			o->mode = (uint8_t)mode;
			o->off = c;
			o->len = d;
		} else if (!strcmp(k, "change_pte")) {
			/* always inside a start/end pair that already zapped */
			if (l.n != 4 || !num(l.tok[3], &a))
				BAD("change_pte HVA");
		} else if (!strcmp(k, "fault") || !strcmp(k, "access")) {
			bool fault = k[0] == 'f';
			struct top *o;

			if (l.n != 11u || !num(l.tok[3], &v) || v > 255 ||
			    (strcmp(l.tok[4], "r") && strcmp(l.tok[4], "w")) ||
			    !num(l.tok[5], &a) || !num(l.tok[6], &b) || !snum(l.tok[7], &r) ||
			    !num(l.tok[8], &c) || !num(l.tok[9], &d) || !num(l.tok[10], &seq))
				BAD(fault ? "fault VCPU r|w GPA HVA RET PFN SIZE CAUSE" :
				    "access VCPU r|w GPA HVA RET PFN FAULTS RETRIES");
			if (!in_window(b)) {
				T.skipped++;
				continue;
			}
			if (fault) {
				T.faults++;
				if (!r && d >= M2)
					T.thp = true;
				if (!r)
					add_obs(b, c);
				continue;
			}
			o = add_op(O_ACCESS, line);
			o->vcpu = (uint8_t)v;
			o->ret = (int32_t)r;
			o->write = l.tok[4][0] == 'w';
			o->off = (b - T.w0) & ~(PG - 1);
			o->len = PG;
			if (!r)
				add_obs(b, c);
		} else if (!strcmp(k, "slot")) {
			int op;

			if (l.n != 9 || (op = find((const char *const[]){ "add", "del", "flags" }, 3,
						   l.tok[3])) < 0 || !num(l.tok[4], &v) ||
			    !num(l.tok[5], &a) || !num(l.tok[6], &b) || !num(l.tok[7], &c) ||
			    !num(l.tok[8], &d))
				BAD("slot add|del|flags ID GPA HVA SIZE FLAGS");
			/* The window has one slot in the replay: any slot over
			 * it going or coming (a mirror re-planning its slots
			 * as the target maps and unmaps) is that slot's. */
			if (!c || b >= T.w0 + T.wsize || b + c <= T.w0) {
				T.skipped++;
				continue;
			}
			add_op(op == 0 ? O_SLOT_ADD : op == 1 ? O_SLOT_DEL :
			       (d & 2) ? O_LOG_ON : O_LOG_OFF, line);
		} else if (!strcmp(k, "harvest")) {
			if (l.n != 5 || !num(l.tok[3], &v) || !num(l.tok[4], &c))
				BAD("harvest ID SET");
			add_op(O_HARVEST, line);
		} else if (!strcmp(k, "verify")) {
			if (l.n != 9 || !snum(l.tok[3], &r) || !num(l.tok[4], &a) ||
			    !num(l.tok[5], &b) || !num(l.tok[6], &c) || !num(l.tok[7], &d) ||
			    !num(l.tok[8], &v))
				BAD("verify VCPU GPA HVA S2PFN HOSTPFN FLAGS");
			T.verifies++;
			if (in_window(b))
				add_obs(b, d);
		} else if (!strcmp(k, "verify_done")) {
			if (l.n != 5 || !num(l.tok[3], &c) || !num(l.tok[4], &d))
				BAD("verify_done CHECKED VIOLATIONS");
			if (d)
				BAD("the recording itself has %llu VERIFY violations: the module "
				    "was wrong under the real kernel", (unsigned long long)d);
		} else if (!strcmp(k, "drop")) {
			if (l.n != 4 || !num(l.tok[3], &v))
				BAD("drop COUNT");
			add_op(O_DROP, line);
		} else {
			BAD("unknown record kind \"%s\"", k);
		}
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		goto fail;
	}
	if (!have_slot) {
		line++;
		BAD("no window and memslot lines");
	}
	fclose(f);
	snprintf(T.path, sizeof(T.path), "%s", path);
	T.loaded = true;

	{
		long *next = malloc((T.nob + 1) * sizeof(*next)), last[TR_PAGES];

		if (!next) {
			snprintf(err, errlen, "%s: out of memory", path);
			T.loaded = false;
			return -1;
		}
		for (unsigned p = 0; p < TR_PAGES; p++)
			last[p] = -1;
		for (unsigned j = T.nob; j-- > 0; ) {
			next[j] = last[T.ob[j].page];
			last[T.ob[j].page] = (long)j;
		}
		classify_invalidations(next);
		free(next);
	}
	if (insert_restores()) {
		snprintf(err, errlen, "%s: out of memory", path);
		T.loaded = false;
		return -1;
	}
	plan_windows();
	return 0;
fail:
	fclose(f);
	T.loaded = false;
	return -1;
}

void trace_params(unsigned ops, unsigned reorder)
{
	T.ops_per_window = ops < 2 ? 2 : ops > 32 ? 32 : ops;
	T.reorder = reorder;
	if (T.loaded)
		plan_windows();
}

/*
 * Where the windows start.  Accesses far from any host operation race
 * nothing but each other, and a recording is mostly accesses (every TLB
 * hit is one): a window is centred on a host operation (invalidation,
 * aging, memslot change, harvest, release) unless the previous window
 * already holds it with a quarter of a window after it.  A recording
 * without host operations is cut into windows every half window.
 */
static void plan_windows(void)
{
	unsigned half = T.ops_per_window / 2, last = 0;
	bool any = false;

	T.nwin = 0;
	for (unsigned i = 0; i < T.nops; i++) {
		unsigned s;

		if (T.op[i].kind == O_ACCESS || T.op[i].kind == O_DROP)
			continue;
		s = i > half ? i - half : 0;
		if (any && i < last + T.ops_per_window * 3 / 4)
			continue;
		if (T.nwin == T.wcap)
			T.wstart = grow(T.wstart, &T.wcap, sizeof(*T.wstart));
		T.wstart[T.nwin++] = s;
		last = s;
		any = true;
	}
	if (any)
		return;
	for (unsigned s = 0; s < T.nops; s += half) {
		if (T.nwin == T.wcap)
			T.wstart = grow(T.wstart, &T.wcap, sizeof(*T.wstart));
		T.wstart[T.nwin++] = s;
		if (s + T.ops_per_window >= T.nops)
			break;
	}
}

unsigned trace_windows(void)
{
	return T.loaded ? T.nwin : 0;
}

/*
 * Window @w: its operations, cut short at a drop or a release (the state
 * after either is not what the window began from), and its set-up: the
 * pages stage 2 mapped when it began, by the recording, that it touches.
 */
void trace_select(unsigned w)
{
	static bool mapped[TR_PAGES], wrote[TR_PAGES], touched[TR_PAGES];
	struct top open[MAX_OPEN];
	unsigned nopen;
	unsigned first = T.wstart[w], i, start = 0;

	T.win = w;
	T.first = first;
	T.n = 0;
	for (i = first; i < T.nops && T.n < T.ops_per_window; i++) {
		T.n++;
		if (T.op[i].kind == O_DROP || T.op[i].kind == O_RELEASE)
			break;
	}
	/* what stage 2 mapped at @first, since the last drop or release */
	for (i = first; i-- > 0; )
		if (T.op[i].kind == O_DROP || T.op[i].kind == O_RELEASE) {
			start = i + 1;
			break;
		}
	memset(mapped, 0, sizeof(mapped));
	memset(wrote, 0, sizeof(wrote));
	memset(touched, 0, sizeof(touched));
	nopen = 0;
	for (i = start; i < first; i++) {
		const struct top *o = &T.op[i];
		uint64_t p0 = o->off / PG, p1 = (o->off + o->len) / PG;

		/* ranges unmapped or write-protected and not yet restored
		 * (insert_restores), which the set-up leaves so */
		if ((o->kind == O_UNMAP || o->kind == O_PROTECT) && nopen < MAX_OPEN)
			open[nopen++] = *o;
		for (unsigned k = 0; k < nopen; k++)
			if ((o->kind == O_REMAP || o->kind == O_UNPROTECT) &&
			    open[k].kind == (o->kind == O_REMAP ? O_UNMAP : O_PROTECT) &&
			    open[k].off == o->off && open[k].len == o->len) {
				open[k] = open[--nopen];
				break;
			}
		switch (o->kind) {
		case O_ACCESS:
			mapped[p0] = true;
			wrote[p0] |= o->write;
			break;
		case O_ZAP:
		case O_UNMAP:
		case O_PROTECT:
		case O_SPLIT:
		case O_MIGRATE:
			for (uint64_t p = p0; p < p1 && p < TR_PAGES; p++)
				mapped[p] = wrote[p] = false;
			break;
		case O_FORK:
		case O_SLOT_DEL:
			memset(mapped, 0, sizeof(mapped));
			memset(wrote, 0, sizeof(wrote));
			break;
		case O_LOG_ON:
			memset(wrote, 0, sizeof(wrote));
			break;
		default:
			break;
		}
	}
	for (i = first; i < first + T.n; i++) {
		const struct top *o = &T.op[i];

		for (uint64_t p = o->off / PG; p < (o->off + o->len) / PG && p < TR_PAGES; p++)
			touched[p] = true;
	}
	T.nsetup = 0;
	for (uint64_t p = 0; p < T.wsize / PG && T.nsetup < MAX_SETUP; p++)
		if (mapped[p] && touched[p])
			T.setup[T.nsetup++] = (struct top){ .kind = O_ACCESS, .write = wrote[p],
							    .off = p * PG, .len = PG };
	/* the memslot's state and the process's, which a drop does not
	 * reset: after the faults, as the recording had them */
	{
		bool log = false, gone = false, released = false;

		for (i = 0; i < first; i++) {
			unsigned k = T.op[i].kind;

			log = k == O_LOG_ON ? true : k == O_LOG_OFF ? false : log;
			gone = k == O_SLOT_DEL ? true : k == O_SLOT_ADD ? false : gone;
			released |= k == O_RELEASE;
		}
		for (unsigned k = 0; k < nopen; k++)
			T.setup[T.nsetup++] = open[k];
		if (log)
			T.setup[T.nsetup++] = (struct top){ .kind = O_LOG_ON };
		if (gone)
			T.setup[T.nsetup++] = (struct top){ .kind = O_SLOT_DEL };
		if (released)
			T.setup[T.nsetup++] = (struct top){ .kind = O_RELEASE };
	}
	snprintf(T.name, sizeof(T.name), "trace-%u", w);
	T.selected = true;
}

bool trace_select_name(const char *name)
{
	char *end;
	unsigned long w;

	if (!T.loaded || strncmp(name, "trace-", 6))
		return false;
	w = strtoul(name + 6, &end, 10);
	if (*end || w >= trace_windows())
		return false;
	trace_select((unsigned)w);
	return true;
}

bool trace_selected(void)
{
	return T.selected;
}

const char *trace_name(void)
{
	return T.name;
}

const char *trace_file(void)
{
	return T.path;
}

/* ------------------------------------------------------------- running */

static void op_text(const struct top *o, char *buf, size_t len)
{
	switch (o->kind) {
	case O_ACCESS:
		snprintf(buf, len, "trace:%u %s %s page %llu", o->line, o->write ? "write" : "read",
			 "of", (unsigned long long)(o->off / PG));
		break;
	case O_AGE:
		snprintf(buf, len, "trace:%u %s [%llu,+%llu)", o->line,
			 o->mode == HOST_AGE_CLEAR_FLUSH_YOUNG ? "clear_flush_young" :
			 o->mode == HOST_AGE_CLEAR_YOUNG ? "clear_young" : "test_young",
			 (unsigned long long)(o->off / PG), (unsigned long long)(o->len / PG));
		break;
	case O_ZAP:
	case O_UNMAP:
	case O_PROTECT:
	case O_SPLIT:
	case O_FORK:
	case O_MIGRATE:
	case O_REMAP:
	case O_UNPROTECT:
		snprintf(buf, len, "trace:%u %s (%s) pages [%llu,+%llu)", o->line,
			 op_names[o->kind], ev_names[o->mode], (unsigned long long)(o->off / PG),
			 (unsigned long long)(o->len / PG));
		break;
	default:
		snprintf(buf, len, "trace:%u %s", o->line, op_names[o->kind]);
	}
}

static int exec(const struct top *o, unsigned vcpu)
{
	int ret = 0;

	switch (o->kind) {
	case O_ACCESS:
		return w_access(vcpu, o->off, o->write);
	case O_ZAP:
		return w_dontneed(o->off, o->len);
	case O_UNMAP:
		return w_munmap(o->off, o->len);
	case O_REMAP:
		return host_mmap(W->mm, s2_hva(W_HVA + o->off), o->len, W->cfg.kind,
				 W->cfg.vma_prot);
	case O_PROTECT:
		return w_mprotect_ro(o->off, o->len);
	case O_UNPROTECT:
		/* adding write fires nothing (host.h): the next write fault
		 * makes the pte writable again */
		return host_mprotect(W->mm, s2_hva(W_HVA + o->off), o->len,
				     HOST_PROT_READ | HOST_PROT_WRITE);
	case O_SPLIT:
		ret = w_split(o->off);
		/* not PMD-mapped in the model: the kept-frames change that
		 * fires the same notifier over the range */
		if (ret == -EINVAL) {
			ret = w_mprotect_ro(o->off, o->len);
			if (!ret)
				ret = host_mprotect(W->mm, s2_hva(W_HVA + o->off), o->len,
						    HOST_PROT_READ | HOST_PROT_WRITE);
		}
		return ret;
	case O_FORK:
		return w_fork_child_exit();
	case O_MIGRATE:
		for (uint64_t p = 0; p < o->len && p < MAX_MIGRATE * PG; p += PG)
			w_migrate(o->off + p);	/* -EBUSY / not mapped: nothing moved */
		return 0;
	case O_AGE:
		return w_age(o->off, o->len, (enum host_age_mode)o->mode);
	case O_RELEASE:
		w_exit_mm();
		return 0;
	case O_SLOT_DEL:
		return w_delete_slot(0);
	case O_SLOT_ADD:
		return w_move_slot(0, W->cfg.slot_gpa);
	case O_LOG_ON:
		return w_dirty_log(true);
	case O_LOG_OFF:
		return w_dirty_log(false);
	case O_HARVEST:
		return w_harvest();
	default:
		return 0;
	}
}

/*
 * The replay's threads: 0 and 1 the host (notifiers, memslots, aging),
 * 2 and 3 the vCPUs.  Recorded host tasks (a concurrent munmap and
 * DONTNEED on two kernel threads) and recorded vCPUs are given a thread
 * of their kind alternately, by first appearance in the window, so that
 * what ran concurrently in the kernel runs concurrently here.
 */
#define TR_THREADS	4

static unsigned done[32];	/* per window operation: it has finished */
static unsigned next_undone;
static int vmap[256];
static uint32_t htid[2];
static unsigned nhost;

static unsigned thread_of(const struct top *o)
{
	if (o->kind == O_ACCESS)
		return 2 + (unsigned)vmap[o->vcpu];
	for (unsigned h = 0; h < nhost && h < 2; h++)
		if (htid[h] == o->tid)
			return h;
	return 0;
}

static void thread_fn(void *arg)
{
	unsigned t = (unsigned)(uintptr_t)arg;
	char buf[CK_EV_TEXT];
	int ret;

	for (unsigned i = 0; i < T.n; i++) {
		const struct top *o = &T.op[T.first + i];
		unsigned th = thread_of(o);

		if (th != t)
			continue;
		/* T.reorder: every operation further back has finished */
		while (next_undone + T.reorder < i)
			ck_yield();
		op_text(o, buf, sizeof(buf));
		ck_note("%s", buf);
		ret = exec(o, th >= 2 ? th - 2 : 0);
		if (ret < 0)
			ck_note("trace:%u -> %d", o->line, ret);
		if (AG->on && o->kind == O_ACCESS) {
			AG->accesses++;
			if ((ret == 0) == (o->ret == 0))
				AG->agree++;
			else if (!AG->first_line)
				AG->first_line = o->line;
		}
		done[i] = 1;
		if (ret == -S2_ENOENT && th >= 2) {
			/* released: this vCPU stops, and its operations count as
			 * done so that no other thread waits for them */
			for (unsigned j = i + 1; j < T.n; j++)
				if (thread_of(&T.op[T.first + j]) == t)
					done[j] = 1;
		}
		while (next_undone < T.n && done[next_undone])
			next_undone++;
		if (ret == -S2_ENOENT && th >= 2)
			return;
	}
}

void trace_run(struct ck_sched_io *io)
{
	struct w_cfg cfg = {
		.kind = T.thp ? HOST_VMA_THP : HOST_VMA_ANON,
		.vma_len = (T.wsize + M2 - 1) & ~(M2 - 1),
		.vma_prot = HOST_PROT_READ | HOST_PROT_WRITE,
		.slot_size = T.wsize,
		.nr_vcpus = 2,
	};
	unsigned nv = 0;
	bool used[TR_THREADS] = { false };

	memset(vmap, -1, sizeof(vmap));
	nhost = 0;
	for (unsigned i = 0; i < T.n; i++) {
		const struct top *o = &T.op[T.first + i];

		if (o->kind == O_ACCESS && vmap[o->vcpu] < 0)
			vmap[o->vcpu] = (int)(nv++ % 2);
		if (o->kind != O_ACCESS && nhost < 2 && thread_of(o) == 0 &&
		    (!nhost || htid[0] != o->tid))
			htid[nhost++] = o->tid;
		used[thread_of(o)] = true;
	}
	memset(done, 0, sizeof(done));
	next_undone = 0;
	w_create(&cfg);
	for (unsigned i = 0; i < T.nsetup; i++)
		exec(&T.setup[i], 0);
	ck_begin(io);
	for (unsigned t = 0; t < TR_THREADS; t++)
		if (used[t])
			ck_spawn(t == 0 ? "host0" : t == 1 ? "host1" : t == 2 ? "vcpu0" : "vcpu1",
				 thread_fn, (void *)(uintptr_t)t);
	ck_run();
	/* every leaf against the host (w_audit), then the VM emptied so that
	 * a table page left behind is a leak (I3) */
	if (!W->released) {
		w_audit();
		if (!s2_vm_delete_memslot(W->vm, 0)) {
			w_destroy(true);
			return;
		}
	}
	w_destroy(false);
}

unsigned trace_count(bool on, unsigned reorder)
{
	unsigned old = T.reorder;

	if (on)
		memset(AG, 0, sizeof(*AG));
	AG->on = on;
	T.reorder = reorder;
	return old;
}

void trace_agreement(unsigned long *accesses, unsigned long *agree, unsigned *first_line)
{
	*accesses = AG->accesses;
	*agree = AG->agree;
	*first_line = AG->first_line;
}

void trace_describe(FILE *f)
{
	char buf[CK_EV_TEXT];

	fprintf(f, "recording %s, window %u: operations %u..%u (lines %u..%u), "
		"reorder distance %u\n", T.path, T.win, T.first, T.first + T.n - 1,
		T.n ? T.op[T.first].line : 0, T.n ? T.op[T.first + T.n - 1].line : 0, T.reorder);
	fprintf(f, "  set-up:");
	for (unsigned i = 0; i < T.nsetup; i++)
		if (T.setup[i].kind == O_ACCESS)
			fprintf(f, " %s%llu", T.setup[i].write ? "w" : "r",
				(unsigned long long)(T.setup[i].off / PG));
		else
			fprintf(f, ", %s", op_names[T.setup[i].kind]);
	fprintf(f, "\n");
	for (unsigned i = 0; i < T.n; i++) {
		op_text(&T.op[T.first + i], buf, sizeof(buf));
		fprintf(f, "  %s\n", buf);
	}
}

void trace_summary(FILE *f)
{
	fprintf(f, "recording %s: %u records (%u outside the window), window %llu KiB%s, "
		"%u faults and %u VERIFY pages read for frames\n", T.path, T.records, T.skipped,
		(unsigned long long)T.wsize >> 10, T.thp ? " (THP)" : "", T.faults, T.verifies);
	fprintf(f, "  invalidations by event:");
	for (unsigned e = 0; e < NR_EVENTS; e++)
		if (T.inv_by_event[e])
			fprintf(f, " %s %u", ev_names[e], T.inv_by_event[e]);
	fprintf(f, "\n  replayed as:");
	for (unsigned k = 0; k < O_NR; k++)
		if (T.by_kind[k])
			fprintf(f, " %s %u", op_names[k], T.by_kind[k]);
	fprintf(f, "\n  %u operations, %u windows of %u around the host operations, "
		"reorder distance %u\n", T.nops, trace_windows(), T.ops_per_window, T.reorder);
}
