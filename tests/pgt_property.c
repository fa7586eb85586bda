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
#include "pgt_model.h"

#define WINDOW_SHIFT 31			/* 2 GiB of IPA under test */

static uint64_t rng_state;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static uint64_t span(const struct pmodel *m, int l) { return pm_span(m, l); }

static int compare_one(struct pmodel *m, uint64_t i, const char *what)
{
	struct s2_mapping mp;
	const struct pm_page *e = &m->p[i];

	if (pm_check(m, i, &mp))
		return 1;
	tap_diag("%s: page %#llx: engine valid=%d level=%d pa=%#llx prot=%x young=%d; "
		 "model level=%d pa=%#llx prot=%x young=%d", what,
		 (unsigned long long)(i << m->ps), mp.valid, mp.level,
		 (unsigned long long)(mp.pa.v + ((i << m->ps) - mp.ipa.v)), mp.prot, mp.young,
		 e->level, (unsigned long long)e->pa, e->prot, e->young);
	return 0;
}

static uint64_t rnd_size(struct pmodel *m)
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
	struct pmodel m;
	unsigned long op, mismatches = 0, errors = 0;
	struct s2_hosted_stats st;
	struct refcheck rc;
	uint64_t window = 1ULL << WINDOW_SHIFT;
	int ret;

	rng_state = seed;
	if (tfmt_init(&pgt, h, f, 0))
		TAP_BAIL("init %s", f->name);
	m.pgt = &pgt;
	/* with a 52-bit IPA the window sits at the top of the space, so
	 * every index of a level -1 or wide level 0 / 1 root is non-zero */
	m.base = tfmt_ipa_base(f, window);
	m.ps = pgt.page_shift;
	m.npages = window >> m.ps;
	m.p = malloc(m.npages * sizeof(*m.p));
	for (uint64_t i = 0; i < m.npages; i++)
		m.p[i].level = -1;

	for (op = 0; op < nops; op++) {
		unsigned long errors_before = errors;
		uint64_t size = rnd_size(&m);
		uint64_t ipa = m.base + ((rnd() % (m.npages)) << m.ps);
		unsigned kind = (unsigned)(rnd() % 100);

		if (ipa + size > m.base + window)
			ipa = m.base + window - size;
		if (kind < 40) {
			/* map: output congruent with the input most of the time
			 * so that blocks happen */
			uint64_t pa = (rnd() & 1) ? ipa + ((rnd() % 64) << 30) : rnd();
			unsigned prot = S2_PROT_R | (rnd() & 1 ? S2_PROT_W : 0) |
					(rnd() % 4 == 0 ? S2_PROT_X : 0);
			uint64_t caps[3] = { 0, 1ULL << m.ps, span(&m, 2) };
			uint64_t cap = caps[rnd() % 3];
			bool shared = size == (1ULL << m.ps) && (rnd() & 1);

			/* anywhere in the output size: a 52-bit format's
			 * top address pieces carry every value */
			pa &= (1ULL << (tfmt_oa(f) - 1)) - 1;
			if (tfmt_oa(f) > 48)
				pa |= rnd() & (1ULL << (tfmt_oa(f) - 1));
			pa &= ~((1ULL << m.ps) - 1);
			if (pa + size > (1ULL << tfmt_oa(f)))
				pa = (1ULL << tfmt_oa(f)) - size;
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
			if (!ret)
				pm_map(&m, ipa, size, pa, prot, cap ? cap : ~0ULL);
		} else if (kind < 49) {
			ret = s2_pgt_unmap(&pgt, s2_gpa(ipa), size);
			if (ret)
				errors++;
			pm_unmap(&m, ipa, size);
		} else if (kind < 55) {
			/* fast unmap: same contract as unmap; a third of the time
			 * the detached subtrees are finished by the caller after,
			 * a third of the time the TLBI is left to the caller too */
			struct s2_detached det = { 0 };
			struct s2_tlb_batch tb = S2_TLB_BATCH_INIT;
			unsigned mode = rnd() % 3;

			if (mode == 2)
				ret = s2_pgt_unmap_defer(&pgt, s2_gpa(ipa), size, &det, &tb);
			else
				ret = s2_pgt_unmap_fast(&pgt, s2_gpa(ipa), size,
							mode ? &det : NULL);
			if (ret)
				errors++;
			s2_pgt_tlb_flush(&pgt, &tb);
			s2_pgt_unmap_fast_finish(&pgt, &det);
			pm_unmap(&m, ipa, size);
		} else if (kind < 65) {
			ret = s2_pgt_wrprotect(&pgt, s2_gpa(ipa), size);
			if (ret)
				errors++;
			pm_wrprotect(&m, ipa, size);
		} else if (kind < 75) {
			bool mkold = (rnd() & 1) != 0;

			ret = s2_pgt_test_clear_young(&pgt, s2_gpa(ipa), size, mkold,
						      (rnd() & 1) ? S2_WALK_SHARED : 0);
			if (ret != pm_young(&m, ipa, size, mkold))
				errors++;
		} else if (kind < 83) {
			unsigned prot = (rnd() & 1 ? S2_PROT_W : 0) | (rnd() & 1 ? S2_PROT_X : 0) |
					S2_PROT_R;
			ret = s2_pgt_relax_perms(&pgt, s2_gpa(ipa), prot,
						 (rnd() & 1) ? S2_WALK_SHARED : 0);
			if (ret != (pm_attr(&m, ipa, prot) ? 0 : -S2_ENOENT))
				errors++;
		} else if (kind < 88) {
			ret = s2_pgt_mkyoung(&pgt, s2_gpa(ipa), (rnd() & 1) ? S2_WALK_SHARED : 0);
			if (ret != (pm_attr(&m, ipa, 0) ? 0 : -S2_ENOENT))
				errors++;
		} else if (kind < 93) {
			uint64_t target = (rnd() & 1) ? 1ULL << m.ps : span(&m, 2);

			s2_memcache_topup(&pgt, &mc, 2 * (size / span(&m, 2) + 2) +
					  (span(&m, 1) <= window ? 2 : 0) + 8);
			ret = s2_pgt_split(&pgt, s2_gpa(ipa), size, target, &mc,
					   (rnd() & 1) ? S2_WALK_SHARED : 0);
			if (ret)
				errors++;
			else
				pm_split(&m, ipa, size, target);
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
		for (uint64_t i = pm_idx(&m, ipa); i < pm_idx(&m, ipa + size) && i < m.npages;
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
