// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * s2mmu-check: the checker's driver (`s2mmu check` execs it).  Schedules
 * run in a forked worker that shares its bookkeeping with us through an
 * anonymous shared mapping, so a schedule that crashes the library (a
 * NULL table after release, a freed table page touched: I3/I4) is a
 * reported violation with its schedule, not a dead checker.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check/gen.h"
#include "check/memmodel.h"
#include "check/scenarios.h"
#include "check/trace.h"
#include "tools/formats.h"

static const char *const bug_names[S2_NR_BUGS] = {
#define BN(n) #n,
	S2_BUG_LIST(BN)
#undef BN
};

struct job {
	unsigned scen;
	int bug;			/* enum s2_bug_id + 1; 0 = correct code */
	enum ck_strategy strategy;
	uint64_t seed, first, count;
	unsigned pct_depth, pct_steps, preempt_bound;
	/* out */
	uint64_t done;
	bool violated, exhausted, started;
	int inv;
	char msg[256];
	struct ck_sched_io io;
};

static struct job *J;

/* The scenario's name, or the generated world's (check/gen.c). */
static const char *job_name(void)
{
	return trace_selected() ? trace_name() : gen_selected() ? gen_name() :
	       scenarios[J->scen].name;
}

static void on_violation(int inv, const char *msg)
{
	J->violated = true;
	J->inv = inv;
	snprintf(J->msg, sizeof(J->msg), "%s", msg);
	_exit(0);
}

static uint64_t mix(uint64_t a, uint64_t b)
{
	uint64_t z = a * 0x9e3779b97f4a7c15ULL + b + 0x632be59bd9b4e019ULL;

	z = (z ^ (z >> 31)) * 0xbf58476d1ce4e5b9ULL;
	return z ^ (z >> 29);
}

/* DFS: the next prefix after the schedule whose decisions are in io. */
static bool dfs_next(struct ck_sched_io *io, unsigned bound)
{
	for (int k = (int)io->nr_nodes - 1; k >= 0; k--) {
		struct ck_dfs_node *nd = &io->nodes[k];
		unsigned pre = 0;

		if (nd->idx + 1 >= nd->n)
			continue;
		for (int j = 0; j < k; j++)
			if (io->nodes[j].idx && io->nodes[j].preempt_default)
				pre++;
		if (nd->preempt_default && pre + 1 > bound)
			continue;
		for (int j = 0; j < k; j++)
			io->prefix[j] = io->nodes[j].alt[io->nodes[j].idx];
		io->prefix[k] = nd->alt[nd->idx + 1];
		io->nr_prefix = (unsigned)k + 1;
		return true;
	}
	return false;
}

static void run_schedule(const struct scenario *s)
{
	struct w_cfg cfg;

	if (trace_selected()) {
		trace_run(&J->io);
		return;
	}
	if (gen_selected()) {
		gen_run(&J->io);
		return;
	}
	scenario_cfg(s, &cfg);
	w_create(&cfg);
	if (s->setup)
		s->setup();
	ck_begin(&J->io);
	for (unsigned t = 0; t < SC_MAX_THREADS && s->thread[t]; t++)
		ck_spawn(s->tname[t], s->thread[t], NULL);
	ck_run();
	w_destroy(s->expect_empty);
}

static void worker(void)
{
	const struct scenario *s = &scenarios[J->scen];

	ck_violation_hook = on_violation;
	ck_inject = J->bug;
	w_process_init();
	for (uint64_t i = J->first + J->done; i < J->first + J->count; i++) {
		struct ck_sched_io *io = &J->io;

		io->strategy = J->strategy;
		io->seed = mix(J->seed, i);
		io->pct_depth = J->pct_depth;
		io->pct_steps = J->pct_steps;
		if (J->strategy == CK_DFS) {
			if (J->started && !dfs_next(io, J->preempt_bound)) {
				J->exhausted = true;
				break;
			}
			if (!J->started)
				io->nr_prefix = 0;
		} else if (J->strategy != CK_REPLAY) {
			io->nr_prefix = 0;
		}
		J->started = true;
		run_schedule(s);
		if (io->steps > J->pct_steps)
			J->pct_steps = io->steps;
		J->done = i + 1 - J->first;
	}
	_exit(0);
}

/* Run the job in a worker, restarting after each crash-free exit until
 * it is done, violated or exhausted. */
static void run_job(void)
{
	for (;;) {
		pid_t pid;
		int st;

		fflush(NULL);
		pid = fork();
		if (pid < 0) {
			perror("fork");
			exit(2);
		}
		if (!pid)
			worker();
		waitpid(pid, &st, 0);
		if (J->violated || J->exhausted || J->done >= J->count)
			return;
		if (WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st))) {
			J->violated = true;
			J->inv = 0;
			snprintf(J->msg, sizeof(J->msg), "checker crashed (status %#x)", st);
			return;
		}
	}
}

/* ------------------------------------------------------------- tokens */

static void encode(const uint8_t *c, unsigned n, char *out, size_t len)
{
	size_t o = 0;

	for (unsigned i = 0; i < n && o + 12 < len;) {
		unsigned r = 1;

		while (i + r < n && c[i + r] == c[i])
			r++;
		out[o++] = c[i] == 0xff ? 'z' : (char)('a' + c[i]);
		if (r > 1)
			o += (size_t)snprintf(out + o, len - o, "%u", r);
		i += r;
	}
	out[o] = 0;
}

static unsigned decode(const char *s, uint8_t *c)
{
	unsigned n = 0;

	while (*s && n < CK_MAX_CHOICES) {
		uint8_t v = *s == 'z' ? 0xff : (uint8_t)(*s - 'a');
		unsigned r = 1;

		s++;
		if (*s >= '0' && *s <= '9')
			r = (unsigned)strtoul(s, (char **)&s, 10);
		while (r-- && n < CK_MAX_CHOICES)
			c[n++] = v;
	}
	return n;
}

static int bug_id(const char *name)
{
	for (int i = 0; i < S2_NR_BUGS; i++)
		if (!strcmp(bug_names[i], name))
			return i;
	return -1;
}

static void token_of(char *out, size_t len)
{
	char ch[CK_MAX_CHOICES * 2];

	encode(J->io.choices, J->io.nr_choices, ch, sizeof(ch));
	/* "W/": found in the weak-memory mode, replayed in it */
	int n = snprintf(out, len, "%s%s:%s:", mm_enabled() ? "W/" : "", job_name(),
			 J->bug ? bug_names[J->bug - 1] : "-");

	if (n > 0 && (size_t)n < len)
		snprintf(out + n, len - (size_t)n, "%.*s", (int)(len - (size_t)n - 1),
			 ch[0] ? ch : "a");
}

/* Run J's scenario once on the schedule @c (@n choices; none: every
 * choice the default). */
static void replay_job(const uint8_t *c, unsigned n)
{
	J->strategy = CK_REPLAY;
	if (n)
		memcpy(J->io.prefix, c, n);
	J->io.nr_prefix = n;
	J->first = 0;
	J->count = 1;
	J->done = 0;
	J->violated = J->exhausted = J->started = false;
	run_job();
}

/* One schedule given by @c: does it fail with invariant @inv? */
static bool replay_fails(const uint8_t *c, unsigned n, int inv)
{
	replay_job(c, n);
	return J->violated && J->inv == inv;
}

/*
 * Shrink a failing schedule: the shortest prefix that still fails (the
 * rest runs by the default "keep the current thread"), then every choice
 * that is not needed replaced by the default, re-recording the schedule
 * after each success.  Leaves the shrunk failing run in J.
 */
static void shrink(void)
{
	uint8_t c[CK_MAX_CHOICES];
	unsigned n = J->io.nr_choices, lo = 0, hi, budget = 300;
	int inv = J->inv;

	memcpy(c, J->io.choices, n);
	hi = n;
	while (lo < hi && budget--) {
		unsigned mid = (lo + hi) / 2;

		if (replay_fails(c, mid, inv))
			hi = mid;
		else
			lo = mid + 1;
	}
	n = hi;
	for (unsigned i = 0; i < n && budget; i++, budget--) {
		uint8_t save = c[i];

		if (save == 0xff)
			continue;
		c[i] = 0xff;
		if (!replay_fails(c, n, inv))
			c[i] = save;
	}
	if (!replay_fails(c, n, inv)) {
		/* cannot happen for a deterministic program; keep the original */
		replay_fails(c, n, inv);
	}
}

/* ----------------------------------------------------------- timeline */

static void timeline(FILE *f)
{
	const struct ck_sched_io *io = &J->io;
	unsigned nt = io->nr_threads, w = 36, shown = 0;
	const char *prev = NULL;
	int prevt = -1;

	fprintf(f, "\n");
	for (unsigned t = 0; t < nt; t++)
		fprintf(f, "%-*s", (int)w, io->thread_name[t]);
	fprintf(f, "\n");
	for (unsigned t = 0; t < nt; t++)
		fprintf(f, "%-*s", (int)w, "----------------------------------");
	fprintf(f, "\n");
	for (unsigned i = 0; i < io->nr_events; i++) {
		const struct ck_event *e = &io->ev[i];

		if (e->tid >= nt)
			continue;
		if (prev && prevt == e->tid && !strcmp(prev, e->text))
			continue;	/* a spin: shown once */
		prev = e->text;
		prevt = e->tid;
		fprintf(f, "%*s%.*s\n", (int)(w * e->tid), "", (int)w - 1, e->text);
		shown++;
	}
	fprintf(f, "%s\n>>> violated I%d: %s\n", io->ev_dropped ?
		"(start of the trace dropped)" : "", J->inv, J->msg);
}

static void html_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '<')
			fputs("&lt;", f);
		else if (*s == '>')
			fputs("&gt;", f);
		else if (*s == '&')
			fputs("&amp;", f);
		else
			fputc(*s, f);
	}
}

/*
 * What the diagram marks: the steps the violated invariant involves,
 * read back from the recorded event texts (world.c's ck_note formats) and
 * the violation message, and one sentence on why they conflict.
 */
enum ce_role { CE_NONE, CE_ACCESS, CE_FILL, CE_SAMPLE, CE_FAULT, CE_RACE, CE_LAST, CE_NR };

static const char *const ce_role_name[CE_NR] = {
	"", "access", "fill", "sample", "fault", "raced", "detected",
};

struct ce_marks {
	uint8_t role[CK_MAX_EVENTS];	/* per diagram row */
	char why[768];
};

static const char *const inv_rule[] = {
	[1] = "no completed guest access may use a frame that the host has unmapped for "
	      "that address since invalidate_range_start returned",
	[2] = "no guest write may reach a frame that the host maps read-only",
	[3] = "no walker may read a freed table page, and none may leak or be freed twice",
	[4] = "faults, notifiers and aging during or after release must return cleanly",
	[5] = "one address may never have two different valid translations",
	[6] = "a block may map only what the host maps contiguously for the whole block",
	[7] = "every completed guest write must be reported by the next harvest",
	[8] = "after the unmap returns, memory must hold the guest's last write",
	[9] = "after clear_flush_young returns, test_young may not miss a later access",
	[10] = "a fault with no overlapping invalidation must complete",
	[11] = "a guest may not execute instructions older than the memory it maps",
};

/* "vCPU<n> read|write|exec <gpa> -> pfn <pfn>" */
static bool ev_access(const char *t, int *vcpu, uint64_t *gpa)
{
	unsigned long long g, p;
	char op[8];

	return sscanf(t, "vCPU%d %7s %llx -> pfn %llx", vcpu, op, &g, &p) == 4 &&
	       (!strcmp(op, "read") || !strcmp(op, "write") || !strcmp(op, "exec")) &&
	       (*gpa = g, true);
}

/* "vCPU<n> fill <gpa>+<size> -> ..." */
static bool ev_fill(const char *t, int *vcpu, uint64_t *gpa, uint64_t *size)
{
	unsigned long long g, s;

	return sscanf(t, "vCPU%d fill %llx+%llx", vcpu, &g, &s) == 3 &&
	       (*gpa = g, *size = s, true);
}

/* "vCPU<n> fault <gpa> R|W|X", not the "fault -> rc" line */
static bool ev_fault(const char *t, int *vcpu)
{
	unsigned long long g;

	return sscanf(t, "vCPU%d fault %llx", vcpu, &g) == 2 && !strstr(t, "->");
}

static bool starts(const char *t, const char *p)
{
	return !strncmp(t, p, strlen(p));
}

/* An event another thread did that an invariant can be raced by. */
static bool ev_races(int inv, const char *t)
{
	bool tlbi = starts(t, "TLBI") && !starts(t, "TLBI:");

	switch (inv) {
	case 1: case 2: case 6: case 11:
		return starts(t, "inval start 0") || starts(t, "host: xchg") || tlbi ||
		       starts(t, "delete memslot") || starts(t, "move memslot") ||
		       starts(t, "free table page") || starts(t, "release");
	case 3: case 4:
		return starts(t, "free table page") || starts(t, "defer_free") ||
		       starts(t, "free root") || starts(t, "release") ||
		       starts(t, "teardown: table unpublished") || tlbi;
	case 5:
		return tlbi || starts(t, "dirty log") || starts(t, "inval start 0");
	case 7:
		return starts(t, "harvest") || starts(t, "dirty log");
	case 8:
		return starts(t, "inval start") || starts(t, "dcache") || tlbi;
	case 9:
		return starts(t, "clear_flush_young") || starts(t, "test_young") || tlbi ||
		       starts(t, "hw: set access flag");
	case 10:
		return starts(t, "inval start 0");
	}
	return false;
}

/* The vCPU a message names ("vCPU1 holds ...", "vCPU0: fault ..."), or -1. */
static int msg_vcpu(const char *msg)
{
	const char *p = strstr(msg, "vCPU");
	int v;

	return p && sscanf(p, "vCPU%d", &v) == 1 ? v : -1;
}

static void mark_steps(const struct ck_sched_io *io, const unsigned *rows, unsigned n,
		       int inv, const char *msg, struct ce_marks *m)
{
	int acc = -1, fill = -1, fault = -1, sample = -1, want = msg_vcpu(msg), v = -1;
	unsigned acc_tid = 0, nr_race = 0, race[4];
	uint64_t gpa = 0, fg, fs;
	size_t len = 0;
	int rule = inv > 0 && inv < (int)(sizeof(inv_rule) / sizeof(inv_rule[0])) ? inv : 0;

	memset(m, 0, sizeof(*m));
	if (!n)
		return;
	/* the access: the last one, of the vCPU the message names if it names one */
	for (int r = (int)n - 1; r >= 0 && inv != 3 && inv != 4 && inv != 10; r--) {
		const struct ck_event *e = &io->ev[rows[r]];

		if (ev_access(e->text, &v, &gpa) && (want < 0 || v == want)) {
			acc = r;
			acc_tid = e->tid;
			break;
		}
	}
	/* the fill it used: that thread's last fill covering the address; for
	 * I5/I6 (no access needed) the fill the message names */
	for (int r = (acc >= 0 ? acc : (int)n) - 1; r >= 0; r--) {
		const struct ck_event *e = &io->ev[rows[r]];
		int fv;

		if (!ev_fill(e->text, &fv, &fg, &fs))
			continue;
		if (acc >= 0 ? (e->tid == acc_tid && gpa >= fg && gpa - fg < fs) :
		    (inv == 5 || inv == 6)) {
			fill = r;
			break;
		}
	}
	/* I5 names both translations: "vCPUn holds A+S -> P while B+T -> Q
	 * is filled"; mark the fills of both */
	if (inv == 5) {
		unsigned long long a, as, p, b, bs;
		int hv;

		if (sscanf(msg, "vCPU%d holds %llx+%llx -> %llx while %llx+%llx", &hv, &a, &as, &p,
			   &b, &bs) == 6)
			for (unsigned r = 0; r < n; r++) {
				int fv;

				if (ev_fill(io->ev[rows[r]].text, &fv, &fg, &fs) &&
				    ((fg == a && fs == as && fv == hv) || (fg == b && fs == bs)))
					m->role[r] = CE_FILL;
			}
	}
	/* the fault that built it, and its sequence sample */
	if (fill >= 0 || inv == 10) {
		unsigned tid = fill >= 0 ? io->ev[rows[fill]].tid : io->ev[rows[n - 1]].tid;

		for (int r = (fill >= 0 ? fill : (int)n) - 1; r >= 0; r--) {
			const struct ck_event *e = &io->ev[rows[r]];
			int fv;

			if (e->tid == tid && ev_fault(e->text, &fv)) {
				fault = r;
				break;
			}
		}
		for (int r = fault + 1; fault >= 0 && r < (fill >= 0 ? fill : (int)n); r++)
			if (io->ev[rows[r]].tid == tid &&
			    !strcmp(io->ev[rows[r]].text, "fault: sequence sampled")) {
				sample = r;
				break;
			}
	}
	/* what raced: the last few invalidations, frees, TLBIs, ... of the
	 * other threads up to the access (with none, or a violation found
	 * at the end, up to the last step), in the order they ran */
	{
		int to = acc >= 0 && !starts(msg, "at the end") ? acc : (int)n - 1;
		unsigned self = acc >= 0 ? acc_tid : fill >= 0 ? io->ev[rows[fill]].tid :
				io->ev[rows[n - 1]].tid;

		for (int r = to; r >= 0 && nr_race < 4; r--) {
			const struct ck_event *e = &io->ev[rows[r]];

			if ((e->tid != self || (acc < 0 && inv != 10) || inv == 8) &&
			    ev_races(inv, e->text) &&
			    r != acc && r != fill && (acc >= 0 || r != (int)n - 1))
				race[nr_race++] = (unsigned)r;
		}
		for (unsigned k = 0; k < nr_race / 2; k++) {
			unsigned t = race[k];

			race[k] = race[nr_race - 1 - k];
			race[nr_race - 1 - k] = t;
		}
	}
	if (acc >= 0)
		m->role[acc] = CE_ACCESS;
	if (fill >= 0)
		m->role[fill] = CE_FILL;
	if (fault >= 0)
		m->role[fault] = CE_FAULT;
	if (sample >= 0)
		m->role[sample] = CE_SAMPLE;
	for (unsigned k = 0; k < nr_race; k++)
		m->role[race[k]] = CE_RACE;
	if (acc < 0 && !m->role[n - 1])
		m->role[n - 1] = CE_LAST;

	/* the sentence, from what was found */
#define W(...) (len += (size_t)snprintf(m->why + len, len < sizeof(m->why) ? \
		sizeof(m->why) - len : 0, __VA_ARGS__))
	if (fill >= 0) {
		W("%s's translation filled at step %d", io->thread_name[io->ev[rows[fill]].tid],
		  fill + 1);
		if (sample >= 0)
			W(" (by the fault that sampled the invalidation sequence at step %d)",
			  sample + 1);
		if (acc >= 0)
			W(" was used at step %d (%s)", acc + 1, io->ev[rows[acc]].text);
		else
			W(" (%s) was still held when the check ran", io->ev[rows[fill]].text);
		if (starts(msg, "at the end"))
			W(" and was still in stage 2 at the end");
	} else if (acc >= 0) {
		W("The access at step %d (%s) went through a translation vCPU%d already held",
		  acc + 1, io->ev[rows[acc]].text, v);
	} else if (fault >= 0) {
		W("The fault at step %d (%s) kept retrying", fault + 1, io->ev[rows[fault]].text);
	} else {
		W("The check failed after step %u (%s: %s)", n, io->thread_name[io->ev[rows[n - 1]].tid],
		  io->ev[rows[n - 1]].text);
	}
	for (unsigned k = 0; k < nr_race; k++)
		W("%s step %u (%s)", !k ? (fill >= 0 || acc >= 0 || fault >= 0 ? ", while" :
					   ", which came after") : k + 1 == nr_race ? " and" : ",",
		  race[k] + 1, io->ev[rows[race[k]]].text);
	if (nr_race && (fill >= 0 || acc >= 0 || fault >= 0))
		W(" raced with it");
	if (rule)
		W(": but %s (I%d).", inv_rule[rule], inv);
	else
		W(".");
#undef W
}

/* A self-contained sequence diagram: one lifeline per thread, one box per
 * event (numbered), a dashed arrow wherever the scheduler passed the
 * baton; the steps the violated invariant involves are marked and named,
 * and one sentence beside the diagram says why they conflict. */
static void write_html(const char *path, const char *token)
{
	static const char *const fill_col[CE_NR] = {
		"#fff", "#fdd", "#ffe9bf", "#dde8ff", "#eef", "#f6d8f6", "#eee",
	};
	static const char *const line_col[CE_NR] = {
		"#668", "#c00", "#c70", "#36c", "#88a", "#a0a", "#444",
	};
	const struct ck_sched_io *io = &J->io;
	unsigned nt = io->nr_threads, colw = 300, rowh = 22, numw = 80, n = 0, nmark = 0;
	static unsigned rows[CK_MAX_EVENTS];
	static struct ce_marks m;
	FILE *f = fopen(path, "w");
	int prevt = -1;
	unsigned h;

	if (!f) {
		perror(path);
		return;
	}
	for (unsigned i = 0; i < io->nr_events; i++)
		if (io->ev[i].tid < nt && !(n && io->ev[rows[n - 1]].tid == io->ev[i].tid &&
					     !strcmp(io->ev[rows[n - 1]].text, io->ev[i].text)))
			rows[n++] = i;
	mark_steps(io, rows, n, J->inv, J->msg, &m);
	for (unsigned r = 0; r < n; r++)
		nmark += m.role[r] != CE_NONE;
	h = 60 + (n + 1) * rowh;
	fprintf(f, "<!DOCTYPE html>\n<!-- SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause -->\n"
		"<html><head><meta charset=\"utf-8\"><title>s2mmu check counterexample</title>"
		"<style>body{font-family:sans-serif;margin:16px}text{font-family:monospace;font-size:11px}"
		".v{color:#b00;font-size:14px;font-weight:bold;max-width:1100px}"
		"#why{max-width:1100px;font-size:14px;border-left:4px solid #c00;padding:4px 10px;"
		"background:#fff6f6}.key span{display:inline-block;padding:1px 6px;margin-right:6px;"
		"border:1.5px solid;font-size:12px}text.role{font-weight:bold;font-size:10px}"
		"</style></head><body>\n"
		"<h2>s2mmu check: counterexample</h2><p>scenario <b>%s</b>, bug <b>%s</b>, "
		"%u scheduling points, %u preemptions</p><p class=\"v\">violated I%d: ",
		scenarios[J->scen].name, J->bug ? bug_names[J->bug - 1] : "(none)",
		io->steps, io->nr_preempt, J->inv);
	html_escape(f, J->msg);
	fprintf(f, "</p><p>replay: <code>s2mmu check --replay '");
	html_escape(f, token);
	fprintf(f, "'</code></p>\n<p id=\"why\" data-marked=\"%u\"><b>Why they conflict:</b> ", nmark);
	html_escape(f, m.why);
	fprintf(f, "</p>\n<p class=\"key\">marked: ");
	for (int k = CE_ACCESS; k < CE_NR; k++)
		fprintf(f, "<span style=\"background:%s;border-color:%s\">%s</span>", fill_col[k],
			line_col[k], ce_role_name[k]);
	fprintf(f, "</p>\n");
	if (io->ev_dropped)
		fprintf(f, "<p>(the start of the trace was dropped)</p>\n");
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%u\" height=\"%u\">\n",
		numw + nt * colw + 20, h);
	for (unsigned t = 0; t < nt; t++) {
		unsigned x0 = numw + 10 + t * colw, x = x0 + colw / 2;

		fprintf(f, "<g class=\"lane\"><rect x=\"%u\" y=\"10\" width=\"%u\" height=\"26\" "
			"fill=\"#dde\" stroke=\"#447\"/><text x=\"%u\" y=\"28\" "
			"text-anchor=\"middle\">", x0 + 10, colw - 20, x);
		html_escape(f, io->thread_name[t]);
		fprintf(f, "</text><line x1=\"%u\" y1=\"36\" x2=\"%u\" y2=\"%u\" stroke=\"#aaa\" "
			"stroke-dasharray=\"4 3\"/></g>\n", x, x, h - 40);
	}
	for (unsigned r = 0; r < n; r++) {
		const struct ck_event *e = &io->ev[rows[r]];
		unsigned x = numw + 10 + e->tid * colw + 14, y = 50 + r * rowh, role = m.role[r];

		if (prevt >= 0 && prevt != e->tid)
			fprintf(f, "<line x1=\"%u\" y1=\"%u\" x2=\"%u\" y2=\"%u\" stroke=\"#e80\" "
				"stroke-dasharray=\"3 2\"/>\n",
				numw + 10 + (unsigned)prevt * colw + colw / 2, y - rowh + 8,
				numw + 10 + e->tid * colw + colw / 2, y + 2);
		fprintf(f, "<g class=\"step%s\" data-role=\"%s\"><text x=\"4\" y=\"%u\" "
			"fill=\"#888\">%u</text><rect x=\"%u\" y=\"%u\" width=\"%u\" height=\"%u\" "
			"rx=\"3\" fill=\"%s\" stroke=\"%s\" stroke-width=\"%s\"/><text x=\"%u\" "
			"y=\"%u\">", role ? " mark" : "", ce_role_name[role], y + 11, r + 1, x, y - 2,
			colw - 28, rowh - 6, fill_col[role], line_col[role], role ? "2" : "1", x + 4,
			y + 11);
		html_escape(f, e->text);
		fprintf(f, "</text>");
		if (role)
			fprintf(f, "<text class=\"role\" x=\"28\" y=\"%u\" fill=\"%s\">%s</text>",
				y + 11, line_col[role], ce_role_name[role]);
		fprintf(f, "</g>\n");
		prevt = e->tid;
	}
	/* the violation as HTML text, which wraps, rather than an SVG line
	 * that a long message runs off the diagram's edge */
	fprintf(f, "</svg>\n<p class=\"v\" id=\"violation\">violated I%d: ", J->inv);
	html_escape(f, J->msg);
	fprintf(f, "</p></body></html>\n");
	fclose(f);
}

/* ---------------------------------------------------------------- CLI */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: s2mmu check [options]\n"
"  Drive the real library through controlled interleavings of small\n"
"  scenarios and check invariants I1-I10 at every step (docs/bugs.md).\n"
"  With no options: every scenario on the correct code, then every\n"
"  catalogue bug injected into its scenario; exit 0 only if the correct\n"
"  code has no violation and every findable bug is found.\n"
"options:\n"
"  --seed N              seed of the random and PCT strategies (1)\n"
"  --strategy S          random | pct | dfs (default: random, then pct)\n"
"  --budget N[s]         schedules per scenario or bug, or seconds with s\n"
"                        (default 8000 schedules, 10s per bug)\n"
"  --scenario NAME       only this scenario (correct code unless --inject)\n"
"  --inject NAME         only this catalogue bug (in its scenario, or --scenario)\n"
"  --replay TOKEN        run the schedule of a token and show its timeline\n"
"  --html FILE           write the counterexample as an HTML/SVG diagram\n"
"  --memory M            sc (default): every store visible at once; weak:\n"
"                        the library's relaxed/release stores may become\n"
"                        visible to other threads late and out of order\n"
"                        (per-thread store buffers, docs/bugs.md); tokens\n"
"                        found so start with W/ and replay in that mode\n"
"  --format F            stage-2 format (tools/formats.h): arm64 (default;\n"
"                        alias arm64-4k), arm64-16k, arm64-64k, the 52-bit\n"
"                        arm64-lpa2 (alias arm64-4k-lpa2: FEAT_LPA2 from\n"
"                        level -1), arm64-16k-lpa2, arm64-64k-lpa (FEAT_LPA),\n"
"                        or ept (4K); test is refused (no hardware walks\n"
"                        it).  A 16K or 64K world runs on a host model of\n"
"                        that page size and scales every scenario: a page\n"
"                        is a granule page, a 2M block a 32M or 512M one.\n"
"                        On ept the scenarios needing arm64-only hardware\n"
"                        are skipped.  With --generate, an arm64 format\n"
"                        sets every arm64 world's granule and 52-bit mode\n"
"                        (otherwise each world draws them from its seed)\n"
"  --json                JSON on stdout instead of the table\n"
"  --depth D             PCT depth (3); --bound B: DFS preemption bound (2)\n"
"  --corpus FILE         append every counterexample's token to FILE\n"
"  --shard I/N           run share I (0..N-1) of the campaign: N runs with the\n"
"                        same other arguments explore exactly the schedules\n"
"                        (generated worlds: the worlds) one run would; merge\n"
"                        their --json with tools/check-merge.py\n"
"  --generate N          N generated worlds instead of the scenarios: random\n"
"                        configurations, set-ups and 2-4 threads of operations,\n"
"                        a random subset of operation kinds each (with --inject:\n"
"                        until one breaks); --budget is per world (200)\n"
"  --dirty-mode M        with --generate: every world's dirty-logging mode,\n"
"                        bitmap, manual, init-set or ring (default: drawn,\n"
"                        the other modes only in dirty-log-themed worlds)\n"
"  --trace FILE          replay a recording of the real kernel (docs/trace.md):\n"
"                        its operations in windows, each explored for --budget\n"
"                        schedules (30) around the recorded order, on the EPT\n"
"                        format unless --format; with --inject: until found\n"
"  --trace-ops N         operations per window (12; windows start every N/2)\n"
"  --reorder D           an operation may start before at most D operations\n"
"                        recorded ahead of it (2; 0: the recorded order)\n"
"  --list                list scenarios and bugs\n"
"  --help                this text\n");
}

struct bres {
	bool found;
	uint64_t schedules;
	double seconds;
	int inv;
	char token[2048];
};

static unsigned find_scen(const char *name)
{
	for (unsigned i = 0; i < nr_scenarios; i++)
		if (!strcmp(scenarios[i].name, name))
			return i;
	fprintf(stderr, "s2mmu check: no scenario %s (see --list)\n", name);
	exit(2);
}

static bool progress_on;

static void progress(const char *what, double frac)
{
	int w = 30, k = (int)(frac * w);

	if (!progress_on)
		return;
	fprintf(stderr, "\r%-40.40s [%.*s%*s] %3d%%", what, k,
		"##############################", w - k, "", (int)(frac * 100));
	fflush(stderr);
}

/*
 * Explore @scen (with @bug, or the correct code) for up to @budget
 * schedules or @secs seconds, alternating strategies when none is forced.
 */
/*
 * --shard I/N: this process runs only its share of a campaign, the same
 * for every run with the same arguments, so N processes (machines) with
 * I = 0..N-1 together run exactly the schedules one process would run.
 * Hand-written scenarios are split by round (a chunk of schedules with
 * its own seed and its own PCT length estimate, so a round does not
 * depend on the rounds before it), generated worlds by world.
 */
static unsigned shard_i, shard_n = 1;
/* --dirty-mode: W_DIRTY_* forced on every generated world, -1: drawn */
static int gen_dirty_mode = -1;
/* with --generate: the granule and 52-bit bits an arm64 --format gives
 * every arm64 world (gen.h); -1: each world's own (gen_pick_config) */
static int gen_format_bits = -1;
static bool shard_by_world;

static bool shard_mine(uint64_t unit)
{
	return unit % shard_n == shard_i;
}

static void explore(unsigned scen, int bug, int strategy, uint64_t seed, uint64_t budget,
		    double secs, unsigned depth, unsigned bound, struct bres *r, const char *label)
{
	double t0 = now();
	uint64_t done = 0, ran = 0, chunk = 250;
	unsigned round = 0, pct_len;

	memset(r, 0, sizeof(*r));
	/*
	 * PCT places its priority changes over the schedule's expected
	 * length: measured once here, on the schedule that never preempts,
	 * so that every round starts from the same estimate whichever
	 * rounds ran before it (--shard) and still learns within itself.
	 */
	J->scen = scen;
	J->bug = bug;
	J->pct_steps = 0;
	replay_job(NULL, 0);
	pct_len = J->violated ? 0 : J->io.steps;
	while (done < budget && now() - t0 < secs) {
		enum ck_strategy st = strategy >= 0 ? (enum ck_strategy)strategy :
				      (round & 1) ? CK_PCT : CK_RANDOM;

		if (shard_n > 1 && !shard_by_world && st != CK_DFS && !shard_mine(round)) {
			done += budget - done < chunk ? budget - done : chunk;
			round++;
			continue;
		}
		J->pct_steps = pct_len;
		J->scen = scen;
		J->bug = bug;
		J->strategy = st;
		J->seed = mix(seed, round);
		J->first = done;
		J->count = budget - done < chunk ? budget - done : chunk;
		J->pct_depth = depth;
		J->preempt_bound = bound;
		J->done = 0;
		J->violated = J->exhausted = false;
		if (st != CK_DFS || !round)
			J->started = false;
		run_job();
		done += J->done + (J->violated ? 1 : 0);
		ran += J->done + (J->violated ? 1 : 0);
		round++;
		progress(label, (double)done / (double)budget);
		if (J->violated) {
			r->found = true;
			r->inv = J->inv;
			break;
		}
		if (J->exhausted)
			break;
	}
	r->schedules = ran;
	r->seconds = now() - t0;
}

static void report_violation(struct bres *r, const char *html, const char *corpus, bool quiet)
{
	shrink();
	token_of(r->token, sizeof(r->token));
	if (!quiet) {
		printf("counterexample (%u preemptions, %u points): %s\n", J->io.nr_preempt,
		       J->io.steps, r->token);
		timeline(stdout);
	}
	if (html)
		write_html(html, r->token);
	if (corpus) {
		FILE *f = fopen(corpus, "a");

		if (f) {
			fprintf(f, "%s I%d\n", r->token, r->inv);
			fclose(f);
		}
	}
}

/* Scenarios that need arm64-only hardware (non-FWB caches, HA/HD) do not
 * run on EPT, nor do the bugs they catch. */
static bool scen_runs(unsigned i)
{
	unsigned arm_only = S2_PGT_NO_FWB | S2_PGT_HW_AF | S2_PGT_HW_DBM;

	/* hardware dirty logging runs on EPT's D bit (the world's EPT has
	 * A/D on), so its DBM flag is no arm64-only need */
	if (scenarios[i].cfg.slot_flags & S2_MEM_DIRTY_HW)
		arm_only &= ~S2_PGT_HW_DBM;
	return ck_format != S2_FMT_EPT ||
	       (!(scenarios[i].cfg.pgt_flags & arm_only) && !scenarios[i].cfg.arm64_only);
}

/* ---------------------------------------------------- generated worlds */

#define GEN_BUDGET	200	/* schedules per generated world by default */
#define GEN_SHRINK_SECS	60	/* at most this long shrinking one world */

/* Does the selected world break @inv within @budget schedules? */
static bool gen_fails(int bug, int inv, int strategy, uint64_t seed, uint64_t budget,
		      unsigned depth, unsigned bound)
{
	struct bres r;

	explore(0, bug, strategy, seed, budget, 1e9, depth, bound, &r, "shrinking the world");
	return r.found && r.inv == inv;
}

/*
 * Shrink the world of the violation J holds: drop whole threads, then
 * single operations, then configuration features, keeping each drop
 * after which a short exploration (twice the schedules the world needed,
 * 100 to 500) still breaks the same invariant.  Leaves J holding a
 * failing run of the smallest world, for shrink() to shrink its schedule.
 */
static void gen_shrink(uint64_t wseed, int strategy, uint64_t needed, unsigned depth,
		       unsigned bound)
{
	static uint8_t c[CK_MAX_CHOICES];
	uint32_t mask = gen_mask(), drop = gen_drop(), m, d;
	uint64_t budget = needed * 2 < 100 ? 100 : needed * 2 > 500 ? 500 : needed * 2;
	unsigned n = J->io.nr_choices;
	int inv = J->inv, bug = J->bug;
	bool changed = true;
	double t0 = now();

	memcpy(c, J->io.choices, n);
	for (unsigned pass = 0; pass < 2 && changed; pass++) {
		changed = false;
		for (unsigned u = 0; gen_shrink_candidate(u, mask, drop, &m, &d) &&
				     now() - t0 < GEN_SHRINK_SECS; u++) {
			if (m == mask && d == drop)
				continue;
			gen_select(wseed, m, d);
			if (!gen_fails(bug, inv, strategy, wseed, budget, depth, bound))
				continue;
			mask = m;
			drop = d;
			n = J->io.nr_choices;
			memcpy(c, J->io.choices, n);
			changed = true;
		}
	}
	gen_select(wseed, mask, drop);
	J->bug = bug;
	if (!replay_fails(c, n, inv))	/* cannot happen: the program is deterministic */
		gen_fails(bug, inv, strategy, wseed, budget, depth, bound);
}

/*
 * Whether the violation J holds is not the injected bug's: the same
 * schedule replayed on the correct code (as the corpus's "-" tokens do)
 * breaks an invariant too, or the correct code breaks one in the same
 * exploration of the world (@strategy and @seed, the @needed schedules
 * the bug took).  Such a world has found something else, which the
 * correct code's own runs report.  Leaves J holding the bug's run.
 */
static bool gen_not_the_bug(int strategy, uint64_t seed, uint64_t needed, unsigned depth,
			    unsigned bound)
{
	static uint8_t c[CK_MAX_CHOICES];
	unsigned n = J->io.nr_choices;
	int bug = J->bug, inv = J->inv;
	struct bres r;
	bool other;

	memcpy(c, J->io.choices, n);
	J->bug = 0;
	replay_fails(c, n, -1);
	other = J->violated;
	if (!other) {
		explore(0, 0, strategy, seed, needed, 1e9, depth, bound, &r, "the correct code");
		other = r.found;
	}
	J->bug = bug;
	replay_fails(c, n, inv);
	return other;
}

/*
 * `--trace FILE`: every window of the loaded recording explored for
 * @budget schedules (random and PCT on alternate windows unless a
 * strategy is given).  The correct code: every violation shrunk and
 * reported (the first three).  With @inject: stop at the first window
 * that breaks an invariant on the bug and not on the correct code.
 */
static int trace_main(const char *inject, int strategy, uint64_t seed, uint64_t budget,
		      double secs, unsigned depth, unsigned bound, const char *html,
		      const char *corpus, bool json)
{
	int b = inject ? bug_id(inject) : -1;
	unsigned nw = trace_windows(), w, viol = 0, found_in = 0, not_bug = 0, rec_first = 0;
	unsigned long rec_acc = 0, rec_agree = 0;
	uint64_t total = 0;
	double t0 = now();
	struct bres r, first;
	char label[64];

	if (inject && b < 0) {
		fprintf(stderr, "s2mmu check: no bug %s (see --list)\n", inject);
		return 2;
	}
	if (!json)
		trace_summary(stdout);
	memset(&first, 0, sizeof(first));
	/*
	 * The correct code, first in the recorded order (one operation at a
	 * time, one schedule per window): how many accesses end as the
	 * kernel's did measures how faithfully the model plays the recording.
	 */
	if (!inject) {
		unsigned keep = trace_count(true, 0);

		for (w = 0; w < nw; w++) {
			if (!shard_mine(w))
				continue;
			trace_select(w);
			J->scen = 0;
			J->bug = 0;
			J->pct_steps = 0;
			replay_job(NULL, 0);
			total++;
			if (J->violated) {
				viol++;
				printf("window %u in the recorded order: violation I%d: %s\n", w, J->inv,
				       J->msg);
			}
		}
		trace_agreement(&rec_acc, &rec_agree, &rec_first);
		trace_count(false, keep);
		if (!json)
			printf("recorded order: %lu of %lu replayed accesses ended as recorded "
			       "(done or failed)", rec_agree, rec_acc);
		if (!json && rec_agree < rec_acc)
			printf("; the first that did not: line %u", rec_first);
		if (!json)
			printf("\n");
	}
	for (w = 0; w < nw && !(inject && viol); w++) {
		int st = strategy >= 0 ? strategy : (w & 1) ? CK_PCT : CK_RANDOM;

		shard_by_world = true;
		if (!shard_mine(w))
			continue;
		trace_select(w);
		snprintf(label, sizeof(label), "window %u/%u", w + 1, nw);
		explore(0, b + 1, st, mix(seed, w), budget, secs, depth, bound, &r, label);
		total += r.schedules;
		if (!r.found)
			continue;
		if (progress_on)
			fprintf(stderr, "\n");
		/* with a bug injected, a window that breaks the correct code
		 * too found something else (the correct code's run says what) */
		if (inject && gen_not_the_bug(st, mix(seed, w), r.schedules, depth, bound)) {
			not_bug++;
			continue;
		}
		if (!viol++) {
			found_in = w;
			first = r;
		}
		if (viol > 3) {
			if (!json)
				printf("window %u also breaks I%d\n", w, r.inv);
			continue;
		}
		report_violation(&r, html, corpus, json);
		if (!json)
			trace_describe(stdout);
		if (viol == 1)
			first = r;
	}
	if (progress_on)
		fprintf(stderr, "\r%70s\r", "");
	if (json)
		printf("{\"trace\":\"%s\",\"bug\":\"%s\",\"windows\":%u,\"schedules\":%llu,"
		       "\"violations\":%u,\"found\":%s,\"invariant\":\"I%d\",\"window\":%u,"
		       "\"recorded_order_accesses\":%lu,\"recorded_order_as_recorded\":%lu,"
		       "\"seconds\":%.3f,\"token\":\"%s\"}\n", trace_file(), inject ? inject : "",
		       w, (unsigned long long)total, viol, viol ? "true" : "false", first.inv,
		       found_in, rec_acc, rec_agree, now() - t0, first.token);
	else if (inject && viol)
		printf("trace + %s: found (I%d) in window %u of %u, after %llu schedules, %.2f s\n",
		       inject, first.inv, found_in, nw, (unsigned long long)total, now() - t0);
	else
		printf("trace%s%s: %u of %u windows, %llu schedules, %u violation%s%s (%.2f s)\n",
		       inject ? " + " : "", inject ? inject : "", w, nw,
		       (unsigned long long)total, viol, viol == 1 ? "" : "s",
		       not_bug ? " (windows breaking the correct code too skipped)" : "",
		       now() - t0);
	return inject ? !viol : viol > 0;
}

/*
 * `--generate N`: N worlds drawn from @seed, each explored for @budget
 * schedules (random and PCT on alternate worlds unless a strategy is
 * given).  The correct code: every violation shrunk and reported (the
 * first three; the rest by name).  With @inject: stop at the first world
 * that breaks an invariant and say how long it took.  @world names one
 * world ("gen-SEED-MASK-DROP") to explore instead.
 */
static int gen_main(unsigned nworlds, const char *world, const char *inject, int strategy,
		    uint64_t seed,
		    uint64_t budget, double secs, unsigned depth, unsigned bound,
		    const char *html, const char *corpus, bool json)
{
	int b = inject ? bug_id(inject) : -1;
	unsigned w, viol = 0, found_in = 0;
	uint64_t total = 0, found_after = 0;
	double t0 = now(), found_secs = 0;
	struct bres r, first;
	char label[64];

	if (inject && b < 0) {
		fprintf(stderr, "s2mmu check: no bug %s (see --list)\n", inject);
		return 2;
	}
	memset(&first, 0, sizeof(first));
	for (w = 0; w < nworlds && !(inject && viol); w++) {
		uint64_t ws = gen_world_seed(seed, w);
		int st = strategy >= 0 ? strategy : (w & 1) ? CK_PCT : CK_RANDOM;

		shard_by_world = true;
		if (!world && !shard_mine(w))
			continue;
		if (!world)
			gen_select(ws, GEN_ALL,
				   (gen_dirty_mode < 0 ? gen_world_drop(ws) :
				    (uint32_t)gen_dirty_mode << GEN_MODE_SHIFT) |
				   (gen_format_bits >= 0 ? (uint32_t)gen_format_bits :
				    gen_pick_config(ws)));
		else if (!gen_select_name(world))
			return 2;
		ws = gen_seed();
		snprintf(label, sizeof(label), "world %u/%u", w + 1, nworlds);
		explore(0, b + 1, st, ws, budget, secs, depth, bound, &r, label);
		total += r.schedules;
		if (!r.found)
			continue;
		if (progress_on)
			fprintf(stderr, "\n");
		if (inject && gen_not_the_bug(st, ws, r.schedules, depth, bound)) {
			if (!json)
				printf("world %s breaks I%d on the correct code too: not %s's\n",
				       gen_name(), r.inv, inject);
			continue;
		}
		if (!viol++) {
			found_in = w + 1;
			found_after = total;
			found_secs = now() - t0;
		}
		if (viol > 3) {
			if (!json)
				printf("world %s also breaks I%d\n", gen_name(), r.inv);
			continue;
		}
		gen_shrink(ws, st, r.schedules, depth, bound);
		report_violation(&r, html, corpus, json);
		if (!json)
			gen_describe(stdout);
		if (viol == 1)
			first = r;
	}
	if (progress_on)
		fprintf(stderr, "\r%70s\r", "");
	if (json) {
		printf("{\"generate\":%u,\"seed\":%llu,\"budget_per_world\":%llu,\"bug\":\"%s\","
		       "\"worlds\":%u,\"schedules\":%llu,\"violations\":%u,\"found\":%s,"
		       "\"invariant\":\"I%d\",\"worlds_to_find\":%u,\"schedules_to_find\":%llu,"
		       "\"seconds_to_find\":%.3f,\"seconds\":%.3f,\"token\":\"%s\"}\n", nworlds,
		       (unsigned long long)seed, (unsigned long long)budget, inject ? inject : "", w,
		       (unsigned long long)total, viol, viol ? "true" : "false", first.inv, found_in,
		       (unsigned long long)found_after, found_secs, now() - t0, first.token);
	} else if (inject && viol) {
		printf("generated worlds + %s: found (I%d) in world %u, after %llu schedules, "
		       "%.2f s\n", inject, first.inv, found_in, (unsigned long long)found_after,
		       found_secs);
	} else {
		printf("generated worlds%s%s: %u of %u (seed %llu, %llu schedules each), "
		       "%llu schedules, %u violation%s (%.2f s)\n", inject ? " + " : "",
		       inject ? inject : "", w, nworlds, (unsigned long long)seed,
		       (unsigned long long)budget, (unsigned long long)total, viol,
		       viol == 1 ? "" : "s", now() - t0);
	}
	return inject ? !viol : viol > 0;
}

int main(int argc, char **argv)
{
	const char *scen = NULL, *inject = NULL, *replay = NULL, *html = NULL, *corpus = NULL;
	uint64_t seed = 1, budget = 8000;
	double secs = 1e9, bug_secs = 10;
	int strategy = -1;
	unsigned depth = 3, bound = 2;
	bool json = false, fail = false;
	unsigned generate = 0;		/* --generate N: worlds */
	const char *trace = NULL;
	unsigned trace_ops = 12, reorder = 2;
	bool format_given = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--json")) {
			json = true;
		} else if (v && !strcmp(a, "--memory")) {
			if (!strcmp(v, "weak"))
				mm_enable();
			else if (strcmp(v, "sc")) {
				fprintf(stderr, "s2mmu check: --memory sc or weak\n");
				return 2;
			}
			i++;
		} else if (v && !strcmp(a, "--format")) {
			const struct s2_tool_format *f = s2_tool_format_find(v);

			if (!f) {
				fprintf(stderr, "s2mmu check: unknown --format %s; one of:", v);
				for (unsigned k = 0; k < S2_NR_TOOL_FORMATS; k++)
					if (s2_tool_formats[k].id != S2_FMT_TEST)
						fprintf(stderr, " %s", s2_tool_formats[k].name);
				fprintf(stderr, "\n");
				return 2;
			}
			/* the oracle's vCPU walks the hardware formats; the test
			 * format is no hardware's (nothing walks it but the
			 * library's unit tests) */
			if (f->id == S2_FMT_TEST) {
				fprintf(stderr, "s2mmu check: --format test: the checker models arm64 "
					"and EPT hardware only\n");
				return 2;
			}
			ck_format = f->id;
			ck_lpa2 = f->ia_bits > 48;
			if (!w_set_granule(f->granule_shift))
				return 2;
			format_given = true;
			i++;
		} else if (!strcmp(a, "--list")) {
			for (unsigned k = 0; k < nr_scenarios; k++)
				printf("scenario %-22s %s\n", scenarios[k].name, scenarios[k].what);
			for (int k = 0; k < S2_NR_BUGS; k++)
				printf("bug %-32s %s\n", bug_names[k],
				       bug_targets[k].scenario ? bug_targets[k].scenario : "(not findable)");
			return 0;
		} else if (v && !strcmp(a, "--seed")) {
			seed = strtoull(v, NULL, 0), i++;
		} else if (v && !strcmp(a, "--depth")) {
			depth = (unsigned)strtoul(v, NULL, 0), i++;
		} else if (v && !strcmp(a, "--bound")) {
			bound = (unsigned)strtoul(v, NULL, 0), i++;
		} else if (v && !strcmp(a, "--strategy")) {
			strategy = !strcmp(v, "random") ? CK_RANDOM : !strcmp(v, "pct") ? CK_PCT :
				   !strcmp(v, "dfs") ? CK_DFS : -2;
			if (strategy == -2) {
				fprintf(stderr, "s2mmu check: unknown strategy %s\n", v);
				return 2;
			}
			i++;
		} else if (v && !strcmp(a, "--budget")) {
			char *end;
			double d = strtod(v, &end);

			if (*end == 's') {
				secs = d;
				bug_secs = d;
				budget = UINT64_MAX / 2;
			} else {
				budget = (uint64_t)d;
			}
			i++;
		} else if (v && !strcmp(a, "--generate")) {
			generate = (unsigned)strtoul(v, NULL, 0), i++;
		} else if (v && !strcmp(a, "--dirty-mode")) {
			static const char *const dm[W_NR_DIRTY_MODES] = {
				[W_DIRTY_BITMAP] = "bitmap", [W_DIRTY_MANUAL] = "manual",
				[W_DIRTY_INIT_SET] = "init-set", [W_DIRTY_RING] = "ring",
			};

			for (gen_dirty_mode = W_NR_DIRTY_MODES - 1; gen_dirty_mode >= 0; gen_dirty_mode--)
				if (!strcmp(v, dm[gen_dirty_mode]))
					break;
			if (gen_dirty_mode < 0) {
				fprintf(stderr, "s2mmu check: --dirty-mode bitmap|manual|init-set|ring\n");
				return 2;
			}
			i++;
		} else if (v && !strcmp(a, "--trace")) {
			trace = v, i++;
		} else if (v && !strcmp(a, "--trace-ops")) {
			trace_ops = (unsigned)strtoul(v, NULL, 0), i++;
		} else if (v && !strcmp(a, "--reorder")) {
			reorder = (unsigned)strtoul(v, NULL, 0), i++;
		} else if (v && !strcmp(a, "--scenario")) {
			scen = v, i++;
		} else if (v && !strcmp(a, "--inject")) {
			inject = v, i++;
		} else if (v && !strcmp(a, "--replay")) {
			replay = v, i++;
		} else if (v && !strcmp(a, "--html")) {
			html = v, i++;
		} else if (v && !strcmp(a, "--shard")) {
			char *end;

			shard_i = (unsigned)strtoul(v, &end, 10);
			if (*end != '/' || (shard_n = (unsigned)strtoul(end + 1, &end, 10)) == 0 ||
			    *end || shard_i >= shard_n) {
				fprintf(stderr, "s2mmu check: --shard I/N with 0 <= I < N\n");
				return 2;
			}
			i++;
		} else if (v && !strcmp(a, "--corpus")) {
			corpus = v, i++;
		} else {
			fprintf(stderr, "s2mmu check: bad argument %s\n", a);
			usage(stderr);
			return 2;
		}
	}
	if (format_given && ck_format == S2_FMT_ARM64)
		gen_format_bits = (int)(GEN_GRAN(w_page_shift) | (ck_lpa2 ? GEN_LPA2 : 0));
	if (mm_enabled() && strategy == CK_DFS) {
		/* DFS enumerates thread choices only; the memory model's
		 * decisions would be taken as thread choices */
		fprintf(stderr, "s2mmu check: --memory weak needs --strategy random or pct\n");
		return 2;
	}
	J = mmap(NULL, sizeof(*J), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (J == MAP_FAILED)
		return 2;
	progress_on = !json && isatty(2);
	if (trace) {
		char err[512];

		/* the module's stage 2 is EPT (kernel/vm.c) */
		if (!format_given)
			ck_format = S2_FMT_EPT;
		/* recorded on a 4K x86 host: its addresses are 4K pages */
		if (w_page_shift != 12) {
			fprintf(stderr, "s2mmu check: --trace replays 4K recordings: a 4K --format\n");
			return 2;
		}
		trace_params(trace_ops, reorder);
		if (trace_load(trace, err, sizeof(err))) {
			fprintf(stderr, "s2mmu check: %s\n", err);
			return 2;
		}
	}

	if (replay) {
		char buf[CK_MAX_CHOICES * 2 + 128], *p1, *p2;
		uint8_t c[CK_MAX_CHOICES];
		unsigned n;
		int b = -1;
		struct bres r = { 0 };

		if (!strncmp(replay, "W/", 2)) {
			mm_enable();
			snprintf(buf, sizeof(buf), "%s", replay + 2);
		} else {
			snprintf(buf, sizeof(buf), "%s", replay);
		}
		p1 = strchr(buf, ':');
		p2 = p1 ? strchr(p1 + 1, ':') : NULL;
		if (!p2) {
			fprintf(stderr, "s2mmu check: bad token\n");
			return 2;
		}
		*p1++ = 0;
		*p2++ = 0;
		J->scen = trace_select_name(buf) || gen_select_name(buf) ? 0 : find_scen(buf);
		if (strcmp(p1, "-") && (b = bug_id(p1)) < 0) {
			fprintf(stderr, "s2mmu check: no bug %s\n", p1);
			return 2;
		}
		J->bug = b + 1;
		n = decode(p2, c);
		replay_fails(c, n, -1);
		if (!J->violated) {
			printf("replay: no violation (%u points)\n", J->io.steps);
			return 0;
		}
		snprintf(r.token, sizeof(r.token), "%s", replay);
		printf("replay: violation I%d: %s\n", J->inv, J->msg);
		timeline(stdout);
		if (trace_selected())
			trace_describe(stdout);
		else if (gen_selected())
			gen_describe(stdout);
		if (html)
			write_html(html, replay);
		return 1;
	}

	if (trace) {
		bool budget_given = false;

		for (int i = 1; i < argc; i++)
			budget_given |= !strcmp(argv[i], "--budget");
		if (inject && bug_weak[bug_id(inject) >= 0 ? bug_id(inject) : 0] && !mm_enabled())
			mm_enable();
		return trace_main(inject, strategy, seed, budget_given ? budget : 30, secs, depth,
				  bound, html, corpus, json);
	}

	if (generate || (scen && !strncmp(scen, "gen-", 4))) {
		bool budget_given = false;

		for (int i = 1; i < argc; i++)
			budget_given |= !strcmp(argv[i], "--budget");
		return gen_main(generate ? generate : 1, generate ? NULL : scen, inject, strategy,
				seed, budget_given ? budget : GEN_BUDGET,
				secs, depth, bound, html, corpus, json);
	}

	if (scen || inject) {
		unsigned si;
		int b = inject ? bug_id(inject) : -1;
		struct bres r;

		if (inject && b < 0) {
			fprintf(stderr, "s2mmu check: no bug %s (see --list)\n", inject);
			return 2;
		}
		if (scen)
			si = find_scen(scen);
		else if (bug_targets[b].scenario)
			si = find_scen(bug_targets[b].scenario);
		else {
			printf("%s: no scenario finds it (docs/bugs.md says why)\n", inject);
			return 1;
		}
		if (!scen_runs(si)) {
			fprintf(stderr, "s2mmu check: scenario %s needs arm64 hardware features\n",
				scenarios[si].name);
			return 2;
		}
		if (inject && bug_weak[b] && !mm_enabled()) {
			if (strategy == CK_DFS) {
				fprintf(stderr, "s2mmu check: %s needs --memory weak, which DFS "
					"cannot explore\n", inject);
				return 2;
			}
			fprintf(stderr, "s2mmu check: %s is only visible with weak memory: "
				"--memory weak\n", inject);
			mm_enable();
		}
		explore(si, b + 1, strategy, seed, budget, inject ? bug_secs : secs, depth, bound, &r,
			scenarios[si].name);
		if (progress_on)
			fprintf(stderr, "\n");
		if (r.found)
			report_violation(&r, html, corpus, json);
		if (json)
			printf("{\"scenario\":\"%s\",\"bug\":\"%s\",\"schedules\":%llu,"
			       "\"violation\":%s,\"invariant\":\"I%d\",\"seconds\":%.3f,"
			       "\"token\":\"%s\"}\n", scenarios[si].name, inject ? inject : "",
			       (unsigned long long)r.schedules, r.found ? "true" : "false", r.inv,
			       r.seconds, r.token);
		else if (!r.found)
			printf("%s%s%s: %llu schedules, no violation (%.2f s)\n", scenarios[si].name,
			       inject ? " + " : "", inject ? inject : "",
			       (unsigned long long)r.schedules, r.seconds);
		return inject ? !r.found : r.found;
	}

	/* Everything: the correct code, then the catalogue. */
	{
		struct bres sr[64], br[S2_NR_BUGS];
		uint64_t total = 0;
		unsigned found = 0, findable = 0;

		for (unsigned i = 0; i < nr_scenarios; i++) {
			memset(&sr[i], 0, sizeof(sr[i]));
			if (!scen_runs(i))
				continue;
			explore(i, 0, strategy, seed, budget, secs, depth, bound, &sr[i],
				scenarios[i].name);
			total += sr[i].schedules;
			if (sr[i].found) {
				fail = true;
				if (progress_on)
					fprintf(stderr, "\n");
				report_violation(&sr[i], html, corpus, json);
			}
		}
		for (int b = 0; b < S2_NR_BUGS; b++) {
			memset(&br[b], 0, sizeof(br[b]));
			if (!bug_targets[b].scenario || !scen_runs(find_scen(bug_targets[b].scenario)) ||
			    (bug_weak[b] && !mm_enabled()))
				continue;
			findable++;
			explore(find_scen(bug_targets[b].scenario), b + 1, strategy, seed,
				UINT64_MAX / 2, bug_secs, depth, bound, &br[b], bug_names[b]);
			if (br[b].found) {
				found++;
				shrink();
				token_of(br[b].token, sizeof(br[b].token));
				if (corpus) {
					FILE *f = fopen(corpus, "a");

					if (f) {
						fprintf(f, "%s I%d\n", br[b].token, br[b].inv);
						fclose(f);
					}
				}
			} else {
				fail = true;
			}
		}
		if (progress_on)
			fprintf(stderr, "\r%70s\r", "");
		if (json) {
			printf("{\"format\":\"%s\",\"scenarios\":[",
			       w_tool_format(ck_format, ck_lpa2)->name);
			for (unsigned i = 0; i < nr_scenarios; i++)
				printf("%s{\"name\":\"%s\",\"schedules\":%llu,\"violations\":%u}",
				       i ? "," : "", scenarios[i].name,
				       (unsigned long long)sr[i].schedules, sr[i].found ? 1u : 0u);
			printf("],\"bugs\":[");
			for (int b = 0; b < S2_NR_BUGS; b++)
				printf("%s{\"name\":\"%s\",\"found\":%s,\"schedules_to_find\":%llu,"
				       "\"seconds_to_find\":%.3f,\"invariant\":\"I%d\",\"scenario\":"
				       "\"%s\",\"token\":\"%s\"}", b ? "," : "", bug_names[b],
				       br[b].found ? "true" : "false",
				       (unsigned long long)br[b].schedules, br[b].seconds,
				       br[b].found ? br[b].inv : bug_targets[b].inv,
				       bug_targets[b].scenario ? bug_targets[b].scenario : "",
				       br[b].token);
			printf("],\"total_schedules\":%llu}\n", (unsigned long long)total);
		} else {
			printf("%-26s %10s %10s\n", "scenario", "schedules", "violations");
			for (unsigned i = 0; i < nr_scenarios; i++)
				printf("%-26s %10llu %10u\n", scenarios[i].name,
				       (unsigned long long)sr[i].schedules, sr[i].found ? 1u : 0u);
			printf("%-26s %10llu\n\n", "total", (unsigned long long)total);
			printf("%-32s %-6s %10s %9s %4s\n", "bug", "found", "schedules", "seconds", "inv");
			for (int b = 0; b < S2_NR_BUGS; b++)
				printf("%-32s %-6s %10llu %9.3f  I%d%s\n", bug_names[b],
				       !bug_targets[b].scenario ? "n/a" :
				       !scen_runs(find_scen(bug_targets[b].scenario)) ? "arm64" :
				       bug_weak[b] && !mm_enabled() ? "weak" :
				       br[b].found ? "yes" : "NO",
				       (unsigned long long)br[b].schedules, br[b].seconds,
				       br[b].found ? br[b].inv : bug_targets[b].inv,
				       bug_targets[b].scenario ? "" : "  (not findable: docs/bugs.md)");
			printf("\n%u of %u findable bugs found (%d in the catalogue)\n", found, findable,
			       S2_NR_BUGS);
		}
	}
	return fail ? 1 : 0;
}
