/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Randomized host-model test: 100,000 mixed operations (10,000 with
 * 16K and 64K pages) over a few mms
 * (fork makes more, exit removes them) with a fixed seed, once for each
 * host page size (4K, 16K, 64K: host_set_page_shift).  Checks frame
 * accounting with host_audit (no frame both free and mapped, refcounts
 * equal mappings, no leak) every few thousand operations, data integrity
 * against a shadow copy of every page's content word on each read, and
 * that exit of every mm returns every frame and swap slot.
 */
#include <stdlib.h>
#include "tests/tap.h"
#include <errno.h>
#include <string.h>
#include "sim/host/host.h"

#define NOPS	100000
#define MAXMM	4
#define SLOT	(2 * HOST_PMD_SIZE)		/* arena slot: 2 THPs */
#define NSLOT	8
#define BASE	0x100000000ULL
#define NPAGES	(NSLOT * SLOT / HOST_PAGE_SIZE)

struct tmm {
	struct host_mm *mm;
	uint64_t *shadow;			/* expected content per page */
	int kind[NSLOT];			/* -1 none, else host_vma_kind */
	unsigned prot[NSLOT];
};

static struct host_phys *phys;
static struct tmm mms[MAXMM];
static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static unsigned long fails, ops_ok;
static unsigned long n_collapse, n_migrate, n_reclaimed, n_merged, n_split, n_fork;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint64_t pick(uint64_t n) { return rnd() % n; }

static int live(void)
{
	int n = 0;

	for (int i = 0; i < MAXMM; i++)
		n += mms[i].mm != NULL;
	return n;
}

static struct tmm *any_mm(void)
{
	for (;;) {
		struct tmm *t = &mms[pick(MAXMM)];

		if (t->mm)
			return t;
	}
}

static void new_tmm(struct tmm *t, struct host_mm *mm)
{
	t->mm = mm;
	t->shadow = calloc(NPAGES, sizeof(uint64_t));
	for (int i = 0; i < NSLOT; i++)
		t->kind[i] = -1;
}

static void zero_shadow(struct tmm *t, uint64_t a, uint64_t len)
{
	for (uint64_t p = a; p < a + len; p += HOST_PAGE_SIZE)
		t->shadow[(p - BASE) / HOST_PAGE_SIZE] = 0;
}

static int do_audit(void)
{
	struct host_mm *list[MAXMM];
	char msg[256];
	size_t n = 0;

	for (int i = 0; i < MAXMM; i++)
		if (mms[i].mm)
			list[n++] = mms[i].mm;
	if (host_audit(phys, list, n, NULL, NULL, msg, sizeof(msg))) {
		tap_diag("audit: %s", msg);
		return -1;
	}
	return 0;
}

static void one_op(int opi)
{
	struct tmm *t = any_mm();
	int s = (int)pick(NSLOT), r;
	uint64_t sb = BASE + s * SLOT;
	uint64_t pg = pick(SLOT / HOST_PAGE_SIZE), a = sb + pg * HOST_PAGE_SIZE, n;
	uint64_t len = (1 + pick(64)) * HOST_PAGE_SIZE;
	unsigned op = (unsigned)pick(100);

	if (a + len > sb + SLOT)
		len = sb + SLOT - a;
	if (t->kind[s] == HOST_VMA_HUGETLB_2M) {
		a &= ~(HOST_PMD_SIZE - 1);
		len = HOST_PMD_SIZE;
	}
	if (op < 8) {			/* mmap a slot */
		int kind = (int)pick(3);
		unsigned prot = pick(4) ? HOST_PROT_READ | HOST_PROT_WRITE : HOST_PROT_READ;

		if (kind == 2)
			kind = HOST_VMA_HUGETLB_2M;
		r = host_mmap(t->mm, s2_hva(sb), SLOT, kind, prot);
		if (t->kind[s] >= 0 ? r != -EEXIST : r != 0)
			fails++, tap_diag("op %d mmap -> %d", opi, r);
		if (!r) {
			t->kind[s] = kind;
			t->prot[s] = prot;
			zero_shadow(t, sb, SLOT);
		}
	} else if (op < 12) {		/* munmap the slot */
		r = host_munmap(t->mm, s2_hva(sb), SLOT);
		if (t->kind[s] < 0 ? r != -ENOMEM : r != 0)
			fails++, tap_diag("op %d munmap -> %d", opi, r);
		t->kind[s] = -1;
	} else if (op < 50) {		/* access */
		bool w = pick(2) && t->kind[s] >= 0 && (t->prot[s] & HOST_PROT_WRITE);
		uint64_t v = w ? (rnd() | 1) : 0;

		r = host_access(t->mm, s2_hva(a), w, &v);
		if (t->kind[s] < 0) {
			if (r != -EFAULT)
				fails++, tap_diag("op %d access unmapped -> %d", opi, r);
		} else if (r) {
			fails++, tap_diag("op %d access -> %d", opi, r);
		} else if (w) {
			t->shadow[(a - BASE) / HOST_PAGE_SIZE] = v;
		} else if (t->kind[s] != HOST_VMA_HUGETLB_2M && v != t->shadow[(a - BASE) / HOST_PAGE_SIZE]) {
			/* hugetlb is shared with forked children (no COW), so
			 * a per-mm shadow cannot predict it: checked only for
			 * private memory */
			fails++, tap_diag("op %d data at %#llx: %#llx, want %#llx", opi,
					  (unsigned long long)a, (unsigned long long)v,
					  (unsigned long long)t->shadow[(a - BASE) / HOST_PAGE_SIZE]);
		}
	} else if (op < 56) {
		r = host_madvise_dontneed(t->mm, s2_hva(a), len);
		if (!r)
			zero_shadow(t, a, len);
		else if (t->kind[s] >= 0)
			fails++, tap_diag("op %d dontneed -> %d", opi, r);
	} else if (op < 60) {
		unsigned prot = pick(2) ? HOST_PROT_READ : HOST_PROT_READ | HOST_PROT_WRITE;

		/* whole slot only, so the test's per-slot prot stays exact */
		r = host_mprotect(t->mm, s2_hva(sb), SLOT, prot);
		if (!r)
			t->prot[s] = prot;
		else if (t->kind[s] >= 0)
			fails++, tap_diag("op %d mprotect -> %d", opi, r);
	} else if (op < 64) {
		r = host_thp_collapse(t->mm, s2_hva(a & ~(HOST_PMD_SIZE - 1)));
		n_collapse += !r;
		if (r && r != -EINVAL && r != -EBUSY && r != -ENOMEM)
			fails++, tap_diag("op %d collapse -> %d", opi, r);
	} else if (op < 68) {
		n_split += !host_thp_split(t->mm, s2_hva(a));
	} else if (op < 76) {
		r = host_migrate(t->mm, s2_hva(a));
		n_migrate += !r;
		if (r && r != -EINVAL && r != -ENOENT && r != -EBUSY && r != -ENOMEM)
			fails++, tap_diag("op %d migrate -> %d", opi, r);
	} else if (op < 84) {
		n = 0;
		r = host_reclaim(t->mm, s2_hva(a), len, &n);
		n_reclaimed += n;
		if (r && t->kind[s] >= 0)
			fails++, tap_diag("op %d reclaim -> %d", opi, r);
	} else if (op < 88) {
		host_age(t->mm, s2_hva(a), len, (enum host_age_mode)pick(3));
	} else if (op < 93) {
		n = 0;
		r = host_ksm_merge(t->mm, s2_hva(sb), SLOT, &n);
		n_merged += n;
		if (r && t->kind[s] >= 0)
			fails++, tap_diag("op %d ksm -> %d", opi, r);
	} else if (op < 96) {		/* fork */
		for (int i = 0; i < MAXMM; i++) {
			struct host_mm *c;

			if (mms[i].mm)
				continue;
			if (host_fork(t->mm, &c))
				fails++, tap_diag("op %d fork failed", opi);
			new_tmm(&mms[i], c);
			n_fork++;
			memcpy(mms[i].shadow, t->shadow, NPAGES * sizeof(uint64_t));
			memcpy(mms[i].kind, t->kind, sizeof(t->kind));
			memcpy(mms[i].prot, t->prot, sizeof(t->prot));
			break;
		}
	} else if (op < 98) {		/* exit */
		if (live() > 1) {
			host_mmput(t->mm);
			free(t->shadow);
			memset(t, 0, sizeof(*t));
		}
	} else {
		host_oom_reap(t->mm);
		/* the reaper zaps all anonymous memory */
		for (int i = 0; i < NSLOT; i++)
			if (t->kind[i] == HOST_VMA_ANON || t->kind[i] == HOST_VMA_THP)
				zero_shadow(t, BASE + i * SLOT, SLOT);
	}
	ops_ok++;
}

/* One run at the current host page size; frames: 8 times the arena. */
static void run_one(int nops)
{
	uint64_t nframes = 8 * NPAGES;
	unsigned kb = 1u << (HOST_PAGE_SHIFT - 10);
	int audits_bad = 0;

	fails = ops_ok = 0;
	n_collapse = n_migrate = n_reclaimed = n_merged = n_split = n_fork = 0;
	phys = host_phys_create(nframes, 0);
	if (!phys)
		TAP_BAIL("phys");
	new_tmm(&mms[0], host_mm_create(phys));
	for (int i = 0; i < nops; i++) {
		one_op(i);
		if (i % 5000 == 4999 && do_audit())
			audits_bad++;
		if (fails > 20)
			break;
	}
	tap_diag("%uK pages: collapsed %lu, split %lu, migrated %lu, reclaimed %lu, merged %lu, "
		 "forks %lu", kb, n_collapse, n_split, n_migrate, n_reclaimed, n_merged, n_fork);
	tap_ok(fails == 0, "%uK pages: %lu operations: results and data as expected (%lu failures)",
	       kb, ops_ok, fails);
	tap_ok(!audits_bad && !do_audit(), "%uK pages: frame accounting audits", kb);
	/* THP and its splits happened at this page size's PMD, not 2M */
	tap_ok(n_collapse > 0 && n_split > 0, "%uK pages: %lluK THPs collapsed and split", kb,
	       (unsigned long long)(HOST_PMD_SIZE >> 10));
	for (int i = 0; i < MAXMM; i++)
		if (mms[i].mm) {
			host_mmput(mms[i].mm);
			free(mms[i].shadow);
		}
	memset(mms, 0, sizeof(mms));
	tap_ok(host_phys_nr_free(phys) == nframes, "%uK pages: nothing leaked after exit_mmap "
	       "(%llu free of %llu)", kb, (unsigned long long)host_phys_nr_free(phys),
	       (unsigned long long)nframes);
	tap_ok(host_phys_swap_used(phys) == 0, "%uK pages: no swap slot leaked", kb);
	tap_ok(host_set_page_shift(HOST_PAGE_SHIFT == 14 ? 16 : 14) == -EBUSY &&
	       host_set_page_shift(HOST_PAGE_SHIFT) == 0, "%uK pages: the page size is fixed "
	       "while physical memory exists", kb);
	host_phys_destroy(phys);
}

int main(void)
{
	static const unsigned shifts[] = { 12, 14, 16 };

	tap_ok(host_set_page_shift(13) == -EINVAL && host_set_page_shift(17) == -EINVAL,
	       "host page sizes other than 4K, 16K and 64K refused");
	for (unsigned i = 0; i < 3; i++) {
		if (host_set_page_shift(shifts[i]))
			TAP_BAIL("host_set_page_shift(%u)", shifts[i]);
		/* fewer at 16K and 64K: each audit walks 4 and 16 times the
		 * frames, each THP is 16 and 256 times the copy, and under
		 * ThreadSanitizer (make tsan-test) that was two minutes */
		run_one(i ? NOPS / 10 : NOPS);
	}
	return tap_done();
}
