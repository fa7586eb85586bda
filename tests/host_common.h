/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Shared helpers for the host-model tests: a recording notifier subscriber
 * and a host tracer writing into one event log, rendered as a compact
 * token string ("S(UNMAP) PT*4 E(UNMAP) FL FREE*4") for exact comparison.
 */
#ifndef S2_TESTS_HOST_COMMON_H
#define S2_TESTS_HOST_COMMON_H

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "sim/host/host.h"

struct rec_ev {
	char tok[24];
	uint64_t start, end;
};

struct rec {
	struct rec_ev ev[4096];
	int n;
	int young_answer;	/* what the young callbacks return */
	int fail_nonblock;	/* start returns -EAGAIN when !blockable */
	int releases;
	struct host_mm *mm;	/* for checks made inside callbacks */
	int start_saw_unmapped;	/* S found the range already unmapped */
};

static void rec_add(struct rec *r, const char *tok, uint64_t s, uint64_t e)
{
	if (r->n < (int)(sizeof(r->ev) / sizeof(r->ev[0]))) {
		snprintf(r->ev[r->n].tok, sizeof(r->ev[0].tok), "%s", tok);
		r->ev[r->n].start = s;
		r->ev[r->n].end = e;
		r->n++;
	}
}

static int rec_start(struct host_mn_sub *sub, s2_hva_t s, s2_hva_t e, enum host_mn_event ev,
		     bool blockable)
{
	struct rec *r = sub->priv;
	char t[24];

	snprintf(t, sizeof(t), "S(%s)", host_mn_event_name(ev));
	rec_add(r, t, s.v, e.v);
	/* Linux calls S before the page-table change: the host must still
	 * map the first page of the range (when it mapped it at all). */
	if (r->mm && e.v - s.v < (1ULL << 40) && host_mapping_level(r->mm, s) == HOST_LEVEL_NONE)
		r->start_saw_unmapped++;
	if (!blockable && r->fail_nonblock)
		return -11;
	return 0;
}

static void rec_end(struct host_mn_sub *sub, s2_hva_t s, s2_hva_t e, enum host_mn_event ev,
		    bool blockable)
{
	struct rec *r = sub->priv;
	char t[24];

	(void)blockable;
	snprintf(t, sizeof(t), "E(%s)", host_mn_event_name(ev));
	rec_add(r, t, s.v, e.v);
}

static void rec_release(struct host_mn_sub *sub)
{
	struct rec *r = sub->priv;

	r->releases++;
	rec_add(r, "REL", 0, 0);
}

static int rec_cfy(struct host_mn_sub *sub, s2_hva_t s, s2_hva_t e)
{
	struct rec *r = sub->priv;

	rec_add(r, "CFY", s.v, e.v);
	return r->young_answer;
}

static int rec_cy(struct host_mn_sub *sub, s2_hva_t s, s2_hva_t e)
{
	struct rec *r = sub->priv;

	rec_add(r, "CY", s.v, e.v);
	return r->young_answer;
}

static int rec_ty(struct host_mn_sub *sub, s2_hva_t s, s2_hva_t e)
{
	struct rec *r = sub->priv;

	rec_add(r, "TY", s.v, e.v);
	return r->young_answer;
}

static const struct host_mn_ops rec_ops = {
	.invalidate_range_start = rec_start,
	.invalidate_range_end = rec_end,
	.release = rec_release,
	.clear_flush_young = rec_cfy,
	.clear_young = rec_cy,
	.test_young = rec_ty,
};

static void rec_trace(void *priv, const struct host_trace_ev *ev)
{
	struct rec *r = priv;
	static const char *const names[] = {
		[HOST_TR_PT] = "PT", [HOST_TR_FLUSH] = "FL", [HOST_TR_FREE] = "FREE",
		[HOST_TR_SYNC] = "SYNC", [HOST_TR_TABLE_FREE] = "TFREE", [HOST_TR_COPY] = "COPY",
	};

	rec_add(r, names[ev->kind], ev->start, ev->end);
}

/* Render the log, run-length compressed, optionally without some tokens. */
static const char *rec_str(struct rec *r, const char *skip)
{
	static char buf[4096];
	size_t o = 0;

	buf[0] = 0;
	for (int i = 0; i < r->n;) {
		int j = i + 1;

		while (j < r->n && !strcmp(r->ev[j].tok, r->ev[i].tok))
			j++;
		if (!skip || !strstr(skip, r->ev[i].tok)) {
			if (j - i > 1)
				o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s*%d", o ? " " : "",
						      r->ev[i].tok, j - i);
			else
				o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", o ? " " : "",
						      r->ev[i].tok);
		}
		if (o >= sizeof(buf) - 32)
			break;
		i = j;
	}
	return buf;
}

static void rec_reset(struct rec *r)
{
	r->n = 0;
	r->start_saw_unmapped = 0;
}

#endif
