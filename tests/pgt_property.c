/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Differential property test: random engine operations on every format,
 * each checked against a flat reference model (granule page -> output,
 * permissions, young, leaf level), with every table page's reference
 * count audited and destroy checked to free everything.
 *
 * The model states the engine's contract for partial overlaps: a block
 * touched by unmap / wrprotect / mkold is affected whole, a map of a
 * smaller leaf into a block drops the rest of the block (lazy split), and
 * split keeps every output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "pgt_common.h"

#define WINDOW_SHIFT 31			/* 2 GiB of IPA under test */

struct mpage {
	uint64_t pa;
	uint8_t prot;
	uint8_t young;
	int8_t level;			/* -1: unmapped */
};

struct model {
	struct s2_pgtable *pgt;
	unsigned ps;
	uint64_t npages;
	struct mpage *p;
};

static uint64_t rng_state;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static uint64_t span(const struct model *m, int l) { return m->pgt->span[S2_LVL(l)]; }

static uint64_t pidx(const struct model *m, uint64_t a) { return a >> m->ps; }

/* The leaf that page @i belongs to: [start, start+size). */
static void group(const struct model *m, uint64_t i, uint64_t *s, uint64_t *n)
{
	uint64_t sz = span(m, m->p[i].level) >> m->ps;

	*s = i & ~(sz - 1);
	*n = sz;
}

static void drop_group(struct model *m, uint64_t i)
{
	uint64_t s, n, k;

	group(m, i, &s, &n);
	for (k = s; k < s + n; k++)
		m->p[k].level = -1;
}

static bool fits(const struct model *m, int l, uint64_t b, uint64_t ipa, uint64_t end,
		 uint64_t pa, uint64_t max)
{
	if (l != S2_LAST_LEVEL && !m->pgt->fmt.lv[S2_LVL(l)].block_ok)
		return false;
	return span(m, l) <= max && b >= ipa && b + span(m, l) <= end &&
	       !((pa + (b - ipa)) & (span(m, l) - 1));
}

static void model_map(struct model *m, uint64_t ipa, uint64_t size, uint64_t pa,
		      unsigned prot, uint64_t max, bool shared, int ret)
{
	uint64_t a = ipa, end = ipa + size;

	if (ret)
		return;
	while (a < end) {
		int l;
		uint64_t b = 0, s, n, k, i;

		for (l = m->pgt->start_level; l <= S2_LAST_LEVEL; l++) {
			b = a & ~(span(m, l) - 1);
			if (fits(m, l, b, ipa, end, pa, max))
				break;
		}
		/* any block larger than this leaf that covers it goes away */
		i = pidx(m, b);
		if (m->p[i].level >= 0 && m->p[i].level < l)
			drop_group(m, i);
		s = i;
		n = span(m, l) >> m->ps;
		/* same output, same size, same permissions: left as it was */
		if (m->p[s].level == l && m->p[s].pa == pa + (b - ipa) && m->p[s].prot == prot) {
			a = b + span(m, l);
			continue;
		}
		(void)shared;
		for (k = s; k < s + n; k++) {
			if (m->p[k].level >= 0 && m->p[k].level != l)
				drop_group(m, k);
			m->p[k].pa = pa + (b - ipa) + ((k - s) << m->ps);
			m->p[k].prot = (uint8_t)prot;
			m->p[k].young = 1;
			m->p[k].level = (int8_t)l;
		}
		a = b + span(m, l);
	}
}

static void for_groups(struct model *m, uint64_t ipa, uint64_t size,
		       void (*fn)(struct model *, uint64_t s, uint64_t n, void *), void *arg)
{
	uint64_t i = pidx(m, ipa), e = pidx(m, ipa + size);

	while (i < e) {
		uint64_t s, n;

		if (m->p[i].level < 0) {
			i++;
			continue;
		}
		group(m, i, &s, &n);
		fn(m, s, n, arg);
		i = s + n;
	}
}

static void g_unmap(struct model *m, uint64_t s, uint64_t n, void *arg)
{
	(void)arg;
	for (uint64_t k = s; k < s + n; k++)
		m->p[k].level = -1;
}

static void g_wrprot(struct model *m, uint64_t s, uint64_t n, void *arg)
{
	(void)arg;
	for (uint64_t k = s; k < s + n; k++)
		m->p[k].prot &= (uint8_t)~S2_PROT_W;
}

static void g_young(struct model *m, uint64_t s, uint64_t n, void *arg)
{
	bool *mk = arg;

	if (m->p[s].young)
		mk[1] = true;
	if (mk[0])
		for (uint64_t k = s; k < s + n; k++)
			m->p[k].young = 0;
}

struct split_arg {
	uint64_t ipa, end, target;
};

static void g_split(struct model *m, uint64_t s, uint64_t n, void *arg)
{
	struct split_arg *sa = arg;
	int l0 = m->p[s].level;

	if (l0 == S2_LAST_LEVEL || span(m, l0) <= sa->target)
		return;
	for (uint64_t k = s; k < s + n; k++) {
		uint64_t a = k << m->ps;
		int l = l0 + 1;

		while (l < S2_LAST_LEVEL && span(m, l) > sa->target) {
			uint64_t b = a & ~(span(m, l) - 1);

			if (b >= sa->end || b + span(m, l) <= sa->ipa)
				break;
			l++;
		}
		m->p[k].level = (int8_t)l;
	}
}

static int compare_one(struct model *m, uint64_t i, const char *what)
{
	struct s2_mapping mp;
	struct mpage *e = &m->p[i];

	s2_pgt_lookup(m->pgt, s2_gpa(i << m->ps), &mp);
	if (mp.valid != (e->level >= 0))
		goto bad;
	if (!mp.valid)
		return 1;
	if (mp.level != e->level || mp.pa.v + ((i << m->ps) - mp.ipa.v) != e->pa ||
	    mp.prot != e->prot || mp.young != !!e->young)
		goto bad;
	return 1;
bad:
	tap_diag("%s: page %#llx: engine valid=%d level=%d pa=%#llx prot=%x young=%d; "
		 "model level=%d pa=%#llx prot=%x young=%d", what,
		 (unsigned long long)(i << m->ps), mp.valid, mp.level,
		 (unsigned long long)(mp.pa.v + ((i << m->ps) - mp.ipa.v)), mp.prot, mp.young,
		 e->level, (unsigned long long)e->pa, e->prot, e->young);
	return 0;
}

static uint64_t rnd_size(struct model *m)
{
	uint64_t r = rnd() % 1000;

	if (r < 700)
		return (1 + rnd() % 8) << m->ps;
	if (r < 900)
		return span(m, 2) * (1 + rnd() % 2) + ((rnd() % 3) << m->ps);
	if (r < 998)
		return (1 + rnd() % 64) << m->ps;
	/* rare: a level-1 block worth (only while it stays cheap to model) */
	return m->pgt->start_level <= 1 && span(m, 1) <= (1ULL << 30) ? span(m, 1) : span(m, 2);
}

static int run_format(const struct tfmt *f, unsigned long nops, uint64_t seed)
{
	struct s2_hosted *h = s2_hosted_new();
	struct s2_pgtable pgt;
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	struct model m;
	unsigned long op, mismatches = 0, errors = 0;
	struct s2_hosted_stats st;
	struct refcheck rc;
	uint64_t window = 1ULL << WINDOW_SHIFT;
	int ret;

	rng_state = seed;
	if (tfmt_init(&pgt, h, f, 0))
		TAP_BAIL("init %s", f->name);
	m.pgt = &pgt;
	m.ps = pgt.page_shift;
	m.npages = window >> m.ps;
	m.p = malloc(m.npages * sizeof(*m.p));
	for (uint64_t i = 0; i < m.npages; i++)
		m.p[i].level = -1;

	for (op = 0; op < nops; op++) {
		unsigned long errors_before = errors;
		uint64_t size = rnd_size(&m);
		uint64_t ipa = (rnd() % (m.npages)) << m.ps;
		unsigned kind = (unsigned)(rnd() % 100);

		if (ipa + size > window)
			ipa = window - size;
		if (kind < 40) {
			/* map: output congruent with the input most of the time
			 * so that blocks happen */
			uint64_t pa = (rnd() & 1) ? ipa + ((rnd() % 64) << 30)
						  : (rnd() % (1ULL << 36)) << m.ps;
			unsigned prot = S2_PROT_R | (rnd() & 1 ? S2_PROT_W : 0) |
					(rnd() % 4 == 0 ? S2_PROT_X : 0);
			uint64_t caps[3] = { 0, 1ULL << m.ps, span(&m, 2) };
			uint64_t cap = caps[rnd() % 3];
			bool shared = size == (1ULL << m.ps) && (rnd() & 1);

			pa &= (1ULL << 47) - 1;
			pa &= ~((1ULL << m.ps) - 1);
			s2_memcache_topup(&pgt, &mc, s2_pgt_pages_needed(&pgt, s2_gpa(ipa), size));
			ret = s2_pgt_map(&pgt, s2_gpa(ipa), size, s2_hpa(pa), prot, cap, &mc,
					 shared ? S2_WALK_SHARED : 0);
			if (shared && ret == -S2_EAGAIN) {
				/* a shared map never changes permissions of an
				 * existing leaf: that must be what happened */
				struct s2_mapping mp;

				s2_pgt_lookup(&pgt, s2_gpa(ipa), &mp);
				if (!mp.valid || mp.prot == prot)
					errors++;
				ret = 0;
				continue;
			}
			if (ret)
				errors++;
			model_map(&m, ipa, size, pa, prot, cap ? cap : ~0ULL, shared, ret);
		} else if (kind < 49) {
			ret = s2_pgt_unmap(&pgt, s2_gpa(ipa), size);
			if (ret)
				errors++;
			for_groups(&m, ipa, size, g_unmap, NULL);
		} else if (kind < 55) {
			/* fast unmap: same contract as unmap; half the time the
			 * detached subtrees are finished by the caller after */
			struct s2_detached det = { 0 };
			bool own = rnd() & 1;

			ret = s2_pgt_unmap_fast(&pgt, s2_gpa(ipa), size, own ? &det : NULL);
			if (ret)
				errors++;
			s2_pgt_unmap_fast_finish(&pgt, &det);
			for_groups(&m, ipa, size, g_unmap, NULL);
		} else if (kind < 65) {
			ret = s2_pgt_wrprotect(&pgt, s2_gpa(ipa), size);
			if (ret)
				errors++;
			for_groups(&m, ipa, size, g_wrprot, NULL);
		} else if (kind < 75) {
			bool mk[2] = { (rnd() & 1) != 0, false };

			ret = s2_pgt_test_clear_young(&pgt, s2_gpa(ipa), size, mk[0],
						      (rnd() & 1) ? S2_WALK_SHARED : 0);
			for_groups(&m, ipa, size, g_young, mk);
			if (ret != (int)mk[1])
				errors++;
		} else if (kind < 83) {
			unsigned prot = (rnd() & 1 ? S2_PROT_W : 0) | (rnd() & 1 ? S2_PROT_X : 0) |
					S2_PROT_R;
			uint64_t i = pidx(&m, ipa);

			ret = s2_pgt_relax_perms(&pgt, s2_gpa(ipa), prot,
						 (rnd() & 1) ? S2_WALK_SHARED : 0);
			if (m.p[i].level < 0) {
				if (ret != -S2_ENOENT)
					errors++;
			} else {
				uint64_t s, n;

				if (ret)
					errors++;
				group(&m, i, &s, &n);
				for (uint64_t k = s; k < s + n; k++)
					m.p[k].prot |= (uint8_t)prot;
			}
		} else if (kind < 88) {
			uint64_t i = pidx(&m, ipa);

			ret = s2_pgt_mkyoung(&pgt, s2_gpa(ipa), (rnd() & 1) ? S2_WALK_SHARED : 0);
			if (m.p[i].level < 0) {
				if (ret != -S2_ENOENT)
					errors++;
			} else {
				uint64_t s, n;

				if (ret)
					errors++;
				group(&m, i, &s, &n);
				for (uint64_t k = s; k < s + n; k++)
					m.p[k].young = 1;
			}
		} else if (kind < 93) {
			struct split_arg sa = { ipa, ipa + size,
						(rnd() & 1) ? 1ULL << m.ps : span(&m, 2) };

			s2_memcache_topup(&pgt, &mc, 2 * (size / span(&m, 2) + 2) +
					  (span(&m, 1) <= window ? 2 : 0) + 8);
			ret = s2_pgt_split(&pgt, s2_gpa(ipa), size, sa.target, &mc,
					   (rnd() & 1) ? S2_WALK_SHARED : 0);
			if (ret)
				errors++;
			else
				for_groups(&m, ipa, size, g_split, &sa);
		} else {
			/* lookups of random pages */
			for (int k = 0; k < 16; k++) {
				uint64_t i = rnd() % m.npages;

				if (!compare_one(&m, i, "lookup") && ++mismatches > 5)
					goto out;
			}
			continue;
		}
		/* the pages the op touched must now agree */
		for (uint64_t i = pidx(&m, ipa); i < pidx(&m, ipa + size) && i < m.npages;
		     i += 1 + (rnd() % 4))
			if (!compare_one(&m, i, "after op") && ++mismatches > 5) {
				tap_diag("op %lu kind %u ipa %#llx size %#llx", op, kind,
					 (unsigned long long)ipa, (unsigned long long)size);
				goto out;
			}
		if (errors != errors_before && errors < 4)
			tap_diag("op %lu kind %u ipa %#llx size %#llx: unexpected return %d",
				 op, kind, (unsigned long long)ipa, (unsigned long long)size, ret);
		if (op % 50000 == 49999) {
			for (uint64_t i = 0; i < m.npages; i++)
				if (!compare_one(&m, i, "full scan") && ++mismatches > 5)
					goto out;
			rc = refcheck(&pgt);
			if (rc.bad)
				mismatches++;
		}
	}
out:
	tap_ok(mismatches == 0, "%s: %lu random operations agree with the reference model",
	       f->name, op);
	tap_ok(errors == 0, "%s: no unexpected error returns (%lu)", f->name, errors);
	for (uint64_t i = 0; i < m.npages; i++)
		if (!compare_one(&m, i, "final")) {
			mismatches++;
			break;
		}
	tap_ok(mismatches == 0, "%s: full final scan of the window matches", f->name);
	rc = refcheck(&pgt);
	tap_ok(rc.bad == 0, "%s: every one of %lu table pages has refcount 1 + live entries",
	       f->name, rc.tables);
	pgt.plat->defer_barrier(pgt.ctx);
	s2_hosted_get_stats(h, &st);
	tap_ok(st.pages_live == pgt.nr_tables + mc.nr,
	       "%s: live pages (%llu) = tables (%lu) + cache (%lu)", f->name,
	       (unsigned long long)st.pages_live, pgt.nr_tables, mc.nr);
	s2_pgt_destroy(&pgt);
	s2_memcache_free(&pgt, &mc);
	s2_hosted_get_stats(h, &st);
	tap_ok(st.pages_live == 0 && st.pages_alloc == st.pages_free,
	       "%s: destroy frees every table page (%llu allocated)", f->name,
	       (unsigned long long)st.pages_alloc);
	free(m.p);
	s2_hosted_free(h);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long nops = argc > 1 ? strtoul(argv[1], NULL, 0) : 200000;
	uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 0x5eed5eedULL;

	tap_diag("seed %#llx, %lu operations per format", (unsigned long long)seed, nops);
	for (size_t i = 0; i < NR_TEST_FORMATS; i++)
		run_format(&test_formats[i], nops, seed + i);
	return tap_done();
}
