/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Deterministic tests of the host model, one group per operation: the host
 * page tables after it, the frame counts, and the exact sequence of
 * notifier callbacks and host events (PT change, TLB flush, FREE) it
 * produced, against docs/host-model.md and the Linux 6.1 call sites.
 */
#include <stdlib.h>
#include "tests/tap.h"
#include "tests/host_common.h"

#define MB (1ULL << 20)
#define GB (1ULL << 30)
#define A(x) s2_hva(x)

static struct host_phys *phys;
static struct rec rec;
static struct host_mn_sub sub = { .ops = &rec_ops, .priv = &rec };

static void check_seq(const char *want, const char *skip, const char *what)
{
	const char *got = rec_str(&rec, skip);

	if (!tap_ok(!strcmp(got, want), "%s: sequence", what)) {
		tap_diag("want: %s", want);
		tap_diag("got:  %s", got);
	}
}

static void audit(struct host_mm **mms, size_t n, const char *what)
{
	char msg[256];
	int r = host_audit(phys, mms, n, NULL, NULL, msg, sizeof(msg));

	if (!tap_ok(r == 0, "%s: frame accounting", what))
		tap_diag("%s", msg);
}

static struct host_mm *new_mm(void)
{
	struct host_mm *mm = host_mm_create(phys);

	rec_reset(&rec);
	rec.mm = mm;
	rec.young_answer = 0;
	rec.fail_nonblock = 0;
	rec.releases = 0;
	host_mm_set_tracer(mm, rec_trace, &rec);
	if (host_mn_register(mm, &sub))
		TAP_BAIL("register");
	return mm;
}

/* Exit the mm, unregister and check every frame came back. */
static void end_mm(struct host_mm *mm, uint64_t free0, const char *what)
{
	host_mmput(mm);
	host_mn_unregister(&sub);
	tap_ok(host_phys_nr_free(phys) == free0 && host_phys_swap_used(phys) == 0,
	       "%s: everything freed after exit (%llu/%llu)", what,
	       (unsigned long long)host_phys_nr_free(phys), (unsigned long long)free0);
}

static uint64_t gup(struct host_mm *mm, uint64_t a, bool w, int *lvl)
{
	uint64_t pfn = 0;
	bool wr;
	int l, r = host_gup(mm, A(a), w, &pfn, &wr, &l);

	if (lvl)
		*lvl = r ? -1 : l;
	if (r)
		return UINT64_MAX;
	host_frame_put(phys, pfn);
	return pfn;
}

static void poke(struct host_mm *mm, uint64_t a, uint64_t v)
{
	if (host_access(mm, A(a), true, &v))
		TAP_BAIL("poke %#llx", (unsigned long long)a);
}

static uint64_t peek(struct host_mm *mm, uint64_t a)
{
	uint64_t v = 0;

	if (host_access(mm, A(a), false, &v))
		return UINT64_MAX;
	return v;
}

static int refcount(uint64_t pfn)
{
	struct host_frame_info fi;

	host_frame_query(phys, pfn, &fi);
	return fi.refcount;
}

static void test_mmap_gup_bad_input(void)
{
	uint64_t free0 = host_phys_nr_free(phys), pfn, e;
	struct host_mm *mm = new_mm();
	int lvl, l;
	bool w;

	tap_ok(host_mmap(mm, A(0x10000000), 4 * 4096, HOST_VMA_ANON, HOST_PROT_READ | HOST_PROT_WRITE) == 0,
	       "mmap anon");
	tap_ok(host_mmap(mm, A(0x10001000), 4096, HOST_VMA_ANON, HOST_PROT_READ) == -EEXIST,
	       "overlapping mmap -> -EEXIST");
	tap_ok(host_mmap(mm, A(0x20000800), 4096, HOST_VMA_ANON, HOST_PROT_READ) == -EINVAL,
	       "misaligned mmap -> -EINVAL");
	tap_ok(host_mmap(mm, A(0x20000000), 4096, HOST_VMA_HUGETLB_2M, HOST_PROT_READ) == -EINVAL,
	       "hugetlb mmap not 2M aligned -> -EINVAL");
	tap_ok(host_mmap(mm, A(0x30000000), 4096, HOST_VMA_ANON, HOST_PROT_READ) == 0,
	       "mmap read-only anon");
	rec_reset(&rec);
	tap_ok(host_gup(mm, A(0x10000000), true, &pfn, &w, &lvl) == 0 && w && lvl == 1,
	       "gup write faults a 4K page in, writable, level 1");
	tap_ok(refcount(pfn) == 2, "gup holds a reference (mapping + gup)");
	host_frame_put(phys, pfn);
	tap_ok(refcount(pfn) == 1, "put drops it");
	check_seq("PT", NULL, "anonymous fault: no notifier, one PT");
	tap_ok(host_mapping_level(mm, A(0x10000000)) == HOST_LEVEL_4K &&
	       host_mapping_level(mm, A(0x10001000)) == HOST_LEVEL_NONE,
	       "lockless level walk: 4K mapped, neighbour not");
	host_pt_query(mm, A(0x10000000), &e, &l);
	tap_ok(l == 1 && (e & HOST_PTE_P) && (e & HOST_PTE_RW) && !(e & HOST_PTE_PS) &&
	       ((e & HOST_PTE_ADDR) >> 12) == pfn, "host PTE: present, RW, pfn");
	tap_ok(host_gup(mm, A(0x30000000), true, &pfn, &w, &lvl) == -EFAULT,
	       "write gup on read-only VMA -> -EFAULT");
	tap_ok(host_gup(mm, A(0x30000000), false, &pfn, &w, &lvl) == 0 && !w,
	       "read gup on read-only VMA: not writable");
	host_frame_put(phys, pfn);
	tap_ok(host_gup(mm, A(0x40000000), false, &pfn, &w, &lvl) == -EFAULT,
	       "gup on unmapped address -> -EFAULT");
	rec_reset(&rec);
	uint64_t nf = host_phys_nr_free(phys);
	tap_ok(host_munmap(mm, A(0x10000000), 8 * 4096) == -ENOMEM, "munmap beyond VMA -> -ENOMEM");
	tap_ok(host_munmap(mm, A(0x10000100), 4096) == -EINVAL, "misaligned munmap -> -EINVAL");
	tap_ok(host_madvise_dontneed(mm, A(0x50000000), 4096) == -ENOMEM,
	       "madvise on unmapped -> -ENOMEM");
	tap_ok(host_mprotect(mm, A(0x10000000), 4096, 0) == -EINVAL, "mprotect PROT_NONE unsupported");
	tap_ok(host_thp_collapse(mm, A(0x10000000)) == -EINVAL, "collapse on non-THP VMA -> -EINVAL");
	tap_ok(host_thp_split(mm, A(0x10000000)) == -EINVAL, "split without huge PMD -> -EINVAL");
	tap_ok(rec.n == 0 && host_phys_nr_free(phys) == nf && gup(mm, 0x10000000, false, NULL) != UINT64_MAX,
	       "bad input left no trace and no change");
	struct host_mm *mms[] = { mm };
	audit(mms, 1, "mmap/gup");
	end_mm(mm, free0, "mmap/gup");
}

static void test_munmap(void)
{
	uint64_t free0 = host_phys_nr_free(phys), p[4];
	struct host_mm *mm = new_mm();
	const uint64_t b = 0x10000000;

	host_mmap(mm, A(b), 8 * 4096, HOST_VMA_ANON, HOST_PROT_READ | HOST_PROT_WRITE);
	for (int i = 0; i < 4; i++)
		p[i] = gup(mm, b + i * 4096ULL, true, NULL);
	rec_reset(&rec);
	tap_ok(host_munmap(mm, A(b), 4 * 4096) == 0, "munmap 4 pages of 8");
	check_seq("S(UNMAP) PT*4 E(UNMAP) FL FREE*4", NULL, "munmap (tables kept: VMA remains)");
	tap_ok(rec.ev[0].start == b && rec.ev[0].end == b + 4 * 4096, "munmap S range is the whole range");
	tap_ok(rec.start_saw_unmapped == 0, "S ran before the page-table change");
	struct host_frame_info fi;
	host_frame_query(phys, p[0], &fi);
	tap_ok(fi.free, "frames are free after munmap");
	tap_ok(host_mapping_level(mm, A(b)) == 0, "no mapping left");
	rec_reset(&rec);
	gup(mm, b + 4 * 4096, true, NULL);
	rec_reset(&rec);
	tap_ok(host_munmap(mm, A(b + 4 * 4096), 4 * 4096) == 0, "munmap the rest");
	check_seq("S(UNMAP) PT E(UNMAP) FL SYNC TFREE*3 FREE", NULL,
		  "munmap of the last VMA: tables freed after walkers, data after tables");
	tap_ok(host_munmap(mm, A(b), 4096) == -ENOMEM, "munmap of unmapped range -> -ENOMEM");
	end_mm(mm, free0, "munmap");
}

static void test_madvise_mprotect(void)
{
	uint64_t free0 = host_phys_nr_free(phys), e;
	struct host_mm *mm = new_mm();
	const uint64_t b = 0x10000000;
	int l;

	host_mmap(mm, A(b), 4 * 4096, HOST_VMA_ANON, HOST_PROT_READ | HOST_PROT_WRITE);
	for (int i = 0; i < 4; i++)
		poke(mm, b + i * 4096ULL, 100 + i);
	rec_reset(&rec);
	tap_ok(host_mprotect(mm, A(b), 4 * 4096, HOST_PROT_READ) == 0, "mprotect RW -> R");
	check_seq("S(PROTECTION_VMA) PT*8 E(PROTECTION_VMA) FL", NULL,
		  "mprotect: modify_prot_start/commit per PTE, FL after E");
	host_pt_query(mm, A(b), &e, &l);
	tap_ok((e & HOST_PTE_P) && !(e & HOST_PTE_RW), "PTE read-only");
	uint64_t pfn;
	bool w;
	int lvl;
	tap_ok(host_gup(mm, A(b), true, &pfn, &w, &lvl) == -EFAULT, "write gup now refused");
	rec_reset(&rec);
	tap_ok(host_mprotect(mm, A(b), 4 * 4096, HOST_PROT_READ | HOST_PROT_WRITE) == 0, "mprotect R -> RW");
	check_seq("S(PROTECTION_VMA) E(PROTECTION_VMA)", NULL, "mprotect upgrade: S/E, no PT, no FL");
	rec_reset(&rec);
	poke(mm, b, 7);
	check_seq("PT", NULL, "write fault on exclusive page: wp_page_reuse, no notifier");
	rec_reset(&rec);
	tap_ok(host_madvise_dontneed(mm, A(b + 4096), 2 * 4096) == 0, "madvise DONTNEED 2 pages");
	check_seq("S(CLEAR) PT*2 E(CLEAR) FL FREE*2", NULL, "DONTNEED: free after E and FL");
	tap_ok(peek(mm, b + 4096) == 0 && peek(mm, b + 3 * 4096) == 103 && peek(mm, b) == 7,
	       "zapped page refaults zero-filled, others keep data");
	struct host_mm *mms[] = { mm };
	audit(mms, 1, "madvise/mprotect");
	end_mm(mm, free0, "madvise/mprotect");
}

static void test_fork_cow(void)
{
	uint64_t free0 = host_phys_nr_free(phys), p0, c0, e;
	struct host_mm *mm = new_mm(), *child;
	const uint64_t b = 0x10000000;
	struct rec crec = { 0 };
	int l;

	host_mmap(mm, A(b), 4 * 4096, HOST_VMA_ANON, HOST_PROT_READ | HOST_PROT_WRITE);
	for (int i = 0; i < 4; i++)
		poke(mm, b + i * 4096ULL, 10 + i);
	p0 = gup(mm, b, false, NULL);
	rec_reset(&rec);
	tap_ok(host_fork(mm, &child) == 0, "fork");
	check_seq("S(PROTECTION_PAGE) PT*4 E(PROTECTION_PAGE) FL", NULL,
		  "fork: parent write-protected inside S/E, flush after");
	host_pt_query(mm, A(b), &e, &l);
	tap_ok(!(e & HOST_PTE_RW), "parent PTE now read-only");
	c0 = gup(child, b, false, NULL);
	tap_ok(c0 == p0 && refcount(p0) == 2, "child shares the frame (refcount 2)");
	rec_reset(&rec);
	poke(mm, b, 99);
	check_seq("COPY S(CLEAR) PT FL PT E(CLEAR)", NULL,
		  "COW break: copy, S, clear+flush, new PTE, E; no FREE (child holds it)");
	tap_ok(rec.ev[0].start == p0 && rec.ev[1].end - rec.ev[1].start == 4096,
	       "COW copies the shared frame; its S covers one page");
	tap_ok(gup(mm, b, false, NULL) != p0 && peek(mm, b) == 99 && peek(child, b) == 10,
	       "parent has its own copy; child keeps the old data");
	host_mm_set_tracer(child, rec_trace, &crec);
	poke(child, b, 55);
	tap_ok(!strcmp(rec_str(&crec, NULL), "PT"), "child's write: now exclusive, reused without copy");
	struct host_mm *mms[] = { mm, child };
	audit(mms, 2, "fork");
	host_mmput(child);
	tap_ok(peek(mm, b + 4096) == 11, "parent data intact after child exit");
	rec_reset(&rec);
	poke(mm, b + 4096, 12);
	check_seq("PT", NULL, "after the child exited the page is exclusive again: reuse");
	end_mm(mm, free0, "fork");
}

/*
 * FREE is reported while the folio is out of every allocator's reach (count
 * zero, not yet on a free list): a tracer that judges the freed data, as
 * the machine's I8 oracle does with its cache model, must see the freed
 * folio and not its next owner.  The free lists are LIFO, so an allocation
 * made inside the FREE report is exactly where the frame would go first
 * if it were already free, as a vCPU refaulting the same address got it.
 */
static struct host_mm *fr_other;
static uint64_t fr_pfn, fr_alloc = UINT64_MAX;
static int fr_seen, fr_was_free = -1, fr_refs = -1;

static void fr_trace(void *priv, const struct host_trace_ev *ev)
{
	struct host_frame_info fi;

	rec_trace(priv, ev);
	if (ev->kind != HOST_TR_FREE || ev->pfn != fr_pfn)
		return;
	fr_seen++;
	host_frame_query(phys, ev->pfn, &fi);
	fr_was_free = fi.free;
	fr_refs = fi.refcount;
	fr_alloc = gup(fr_other, 0x20000000, true, NULL);
}

static void test_free_report_before_reuse(void)
{
	uint64_t free0 = host_phys_nr_free(phys);
	struct host_mm *mm = new_mm();
	const uint64_t b = 0x10000000;
	struct host_frame_info fi;

	fr_other = host_mm_create(phys);
	host_mmap(fr_other, A(0x20000000), 4096, HOST_VMA_ANON, HOST_PROT_READ | HOST_PROT_WRITE);
	host_mmap(mm, A(b), 4096, HOST_VMA_ANON, HOST_PROT_READ | HOST_PROT_WRITE);
	poke(mm, b, 5);
	fr_pfn = gup(mm, b, false, NULL);
	host_mm_set_tracer(mm, fr_trace, &rec);
	rec_reset(&rec);
	tap_ok(host_madvise_dontneed(mm, A(b), 4096) == 0, "free report: DONTNEED");
	check_seq("S(CLEAR) PT E(CLEAR) FL FREE", NULL, "free report: DONTNEED");
	tap_ok(fr_seen == 1 && fr_was_free == 0 && fr_refs == 0,
	       "FREE reported with the count at zero, before the folio is back on a free list");
	tap_ok(fr_alloc != UINT64_MAX && fr_alloc != fr_pfn,
	       "an allocation during the FREE report cannot get the folio being freed");
	host_frame_query(phys, fr_pfn, &fi);
	tap_ok(fi.free && gup(mm, b, true, NULL) == fr_pfn,
	       "after the report the folio is free and the next one handed out (LIFO)");
	host_mm_set_tracer(mm, rec_trace, &rec);

	/* A gup reference outlives a zap: the caller's put is the free. */
	{
		uint64_t pfn;
		bool w;
		int lvl;

		tap_ok(host_gup(mm, A(b), true, &pfn, &w, &lvl) == 0, "free report: gup");
		rec_reset(&rec);
		host_madvise_dontneed(mm, A(b), 4096);
		check_seq("S(CLEAR) PT E(CLEAR) FL", NULL,
			  "free report: zap under a gup reference frees nothing");
		rec_reset(&rec);
		host_frame_put_mm(mm, pfn);
		host_frame_query(phys, pfn, &fi);
		check_seq("FREE", NULL, "free report: host_frame_put_mm of the last reference");
		tap_ok(fi.free, "free report: the folio is free after that put");
	}
	host_mmput(fr_other);
	fr_other = NULL;
	end_mm(mm, free0, "free report");
}

/*
 * do_wp_page takes its reference on the old folio under the PTL that shows
 * it mapped read-only and holds it until after E: the other sharer may
 * unmap it meanwhile (here the fork child exits from inside the parent's
 * S), and the last put, the FREE, is then the fault's own, after E.
 */
static struct host_mm *wp_child;
static uint64_t wp_pfn;
static int wp_refs_in_s = -1;

static int wp_start(struct host_mn_sub *s, s2_hva_t a, s2_hva_t e, enum host_mn_event ev,
		    bool blockable)
{
	if (wp_child) {
		wp_refs_in_s = refcount(wp_pfn);
		host_mmput(wp_child);
		wp_child = NULL;
	}
	return rec_start(s, a, e, ev, blockable);
}

static const struct host_mn_ops wp_ops = {
	.invalidate_range_start = wp_start,
	.invalidate_range_end = rec_end,
	.release = rec_release,
	.clear_flush_young = rec_cfy,
	.clear_young = rec_cy,
	.test_young = rec_ty,
};

static void test_wp_fault_reference(void)
{
	uint64_t free0 = host_phys_nr_free(phys);
	struct host_mn_sub wsub = { .ops = &wp_ops, .priv = &rec };
	struct host_mm *mm = host_mm_create(phys), *child;
	const uint64_t b = 0x10000000;
	struct host_frame_info fi;

	rec_reset(&rec);
	rec.mm = NULL;
	host_mm_set_tracer(mm, rec_trace, &rec);
	if (host_mn_register(mm, &wsub))
		TAP_BAIL("register");
	host_mmap(mm, A(b), 4096, HOST_VMA_ANON, HOST_PROT_READ | HOST_PROT_WRITE);
	poke(mm, b, 10);
	wp_pfn = gup(mm, b, false, NULL);
	tap_ok(host_fork(mm, &child) == 0 && refcount(wp_pfn) == 2, "wp ref: fork shares the page");
	rec_reset(&rec);
	wp_child = child;
	poke(mm, b, 99);
	check_seq("COPY S(CLEAR) PT FL PT E(CLEAR) FREE", NULL,
		  "wp ref: sharer gone during the COW break, the fault's put is the FREE, after E");
	tap_ok(wp_refs_in_s == 3, "wp ref: the fault holds its own reference across S "
	       "(parent PTE + child PTE + fault: %d)", wp_refs_in_s);
	host_frame_query(phys, wp_pfn, &fi);
	tap_ok(fi.free && peek(mm, b) == 99, "wp ref: old page freed, parent has its copy");
	rec_reset(&rec);
	poke(mm, b, 100);
	check_seq("", NULL, "wp ref: the copy is writable, no fault");
	struct host_mm *mms[] = { mm };
	audit(mms, 1, "wp ref");
	host_mmput(mm);
	host_mn_unregister(&wsub);
	tap_ok(host_phys_nr_free(phys) == free0, "wp ref: everything freed after exit");
}

static void test_thp(void)
{
	uint64_t free0 = host_phys_nr_free(phys), pfn, h0;
	struct host_mm *mm = new_mm();
	const uint64_t b = 0x40000000;
	int lvl;
	bool w;

	host_mmap(mm, A(b), 4 * MB, HOST_VMA_THP, HOST_PROT_READ | HOST_PROT_WRITE);
	rec_reset(&rec);
	tap_ok(host_gup(mm, A(b + 8192), true, &pfn, &w, &lvl) == 0 && lvl == 2, "THP fault maps a 2M PMD");
	h0 = pfn - 2;
	tap_ok(!(h0 & 511), "pfn is the right subpage of an aligned folio");
	host_frame_put(phys, pfn);
	tap_ok(host_mapping_level(mm, A(b + 12345)) == HOST_LEVEL_2M, "lockless walk says 2M");
	for (int i = 0; i < 512; i += 64)
		poke(mm, b + i * 4096ULL, 1000 + i);
	rec_reset(&rec);
	tap_ok(host_thp_split(mm, A(b)) == 0, "split");
	check_seq("S(CLEAR) PT FL PT E(CLEAR)", NULL, "split: invalidate, flush, populate, E");
	tap_ok(host_mapping_level(mm, A(b)) == HOST_LEVEL_4K && gup(mm, b + 4096, false, NULL) == h0 + 1,
	       "after split: 4K PTEs over the same folio");
	tap_ok(refcount(h0) == 512, "one folio reference per PTE");
	struct host_mm *mms[] = { mm };
	audit(mms, 1, "split");
	rec_reset(&rec);
	tap_ok(host_thp_collapse(mm, A(b)) == 0, "collapse");
	check_seq("S(CLEAR) PT FL E(CLEAR) SYNC COPY*512 FREE TFREE PT", NULL,
		  "collapse: S, detach+flush, E, wait walkers, copy, free small, install huge");
	tap_ok(host_mapping_level(mm, A(b)) == HOST_LEVEL_2M && gup(mm, b, false, NULL) != h0,
	       "collapsed into a new huge page");
	int ok = 1;
	for (int i = 0; i < 512; i += 64)
		ok &= peek(mm, b + i * 4096ULL) == 1000ULL + i;
	tap_ok(ok, "content survived split and collapse");
	/* collapse refused while a page is pinned; the PMD is restored */
	host_thp_split(mm, A(b));
	tap_ok(host_gup(mm, A(b + 4096), false, &pfn, &w, &lvl) == 0, "pin a page");
	rec_reset(&rec);
	tap_ok(host_thp_collapse(mm, A(b)) == -EBUSY, "collapse with a pinned page -> -EBUSY");
	check_seq("", NULL, "pinned: refused before any notifier");
	host_frame_put(phys, pfn);
	/* partial munmap of a THP: vma split first splits the PMD */
	host_thp_collapse(mm, A(b));
	rec_reset(&rec);
	tap_ok(host_munmap(mm, A(b + MB), MB) == 0, "munmap the second half of a THP");
	check_seq("S(CLEAR) PT FL PT E(CLEAR) S(UNMAP) PT*256 E(UNMAP) FL", NULL,
		  "partial munmap: split's own S/E before the unmap's; folio not freed yet");
	tap_ok(host_mapping_level(mm, A(b)) == HOST_LEVEL_4K, "first half 4K-mapped");
	audit(mms, 1, "THP");
	end_mm(mm, free0, "THP");
}

static void test_migrate(void)
{
	uint64_t free0 = host_phys_nr_free(phys), p0, p1, pfn, gen0;
	struct host_mm *mm = new_mm();
	const uint64_t b = 0x10000000, t = 0x40000000;
	struct host_frame_info fi;
	int lvl;
	bool w;

	host_mmap(mm, A(b), 4 * 4096, HOST_VMA_ANON, HOST_PROT_READ | HOST_PROT_WRITE);
	poke(mm, b, 4242);
	p0 = gup(mm, b, false, NULL);
	gen0 = host_frame_gen(phys, p0);
	rec_reset(&rec);
	tap_ok(host_migrate(mm, A(b)) == 0, "migrate a 4K page");
	check_seq("S(CLEAR) PT FL E(CLEAR) COPY PT FREE", NULL,
		  "migration: S, migration entry + flush, E, copy, new PTE, free old");
	p1 = gup(mm, b, false, NULL);
	host_frame_query(phys, p0, &fi);
	tap_ok(p1 != p0 && peek(mm, b) == 4242 && fi.free && host_frame_gen(phys, p0) == gen0 + 1,
	       "new frame, same content, old frame freed (generation bumped)");
	tap_ok(host_gup(mm, A(b), false, &pfn, &w, &lvl) == 0, "pin");
	rec_reset(&rec);
	tap_ok(host_migrate(mm, A(b)) == -EBUSY, "migrating a pinned page -> -EBUSY");
	check_seq("S(CLEAR) PT FL E(CLEAR) PT", NULL, "pinned: unmapped, then restored (remove_migration_ptes)");
	tap_ok(gup(mm, b, false, NULL) == pfn, "still the same frame");
	host_frame_put(phys, pfn);
	tap_ok(host_migrate(mm, A(b + 4096)) == -ENOENT, "migrate unmapped page -> -ENOENT");
	host_mmap(mm, A(t), 2 * MB, HOST_VMA_THP, HOST_PROT_READ | HOST_PROT_WRITE);
	poke(mm, t + 5 * 4096, 77);
	rec_reset(&rec);
	tap_ok(host_migrate(mm, A(t + 4096)) == 0, "migrate a whole THP");
	check_seq("S(CLEAR) PT FL E(CLEAR) COPY PT FREE", NULL, "THP migration");
	tap_ok(rec.ev[0].start == t && rec.ev[0].end == t + 2 * MB && peek(mm, t + 5 * 4096) == 77,
	       "THP migration covers 2M and keeps content");
	struct host_mm *mms[] = { mm };
	audit(mms, 1, "migrate");
	end_mm(mm, free0, "migrate");
}

static void test_reclaim_age(void)
{
	uint64_t free0 = host_phys_nr_free(phys), n = 0;
	struct host_mm *mm = new_mm();
	const uint64_t b = 0x10000000;

	host_mmap(mm, A(b), 4 * 4096, HOST_VMA_ANON, HOST_PROT_READ | HOST_PROT_WRITE);
	for (int i = 0; i < 2; i++)
		poke(mm, b + i * 4096ULL, 500 + i);
	rec_reset(&rec);
	tap_ok(host_age(mm, A(b), 4 * 4096, HOST_AGE_TEST_YOUNG) == 2, "test_young: host A bits say young");
	check_seq("", NULL, "test_young short-circuits on host-young pages");
	tap_ok(host_age(mm, A(b), 4 * 4096, HOST_AGE_CLEAR_YOUNG) == 2, "clear_young: 2 young");
	check_seq("CY*2", NULL, "clear_young per mapped page, no S/E");
	rec_reset(&rec);
	tap_ok(host_age(mm, A(b), 4 * 4096, HOST_AGE_TEST_YOUNG) == 0, "now old in the host");
	check_seq("TY*2", NULL, "test_young asks the secondary MMU when the host says old");
	rec.young_answer = 1;
	rec_reset(&rec);
	tap_ok(host_reclaim(mm, A(b), 4 * 4096, &n) == 0 && n == 0, "reclaim: secondary says young, nothing reclaimed");
	check_seq("CFY*2", NULL, "reclaim aging: clear_flush_young only");
	rec.young_answer = 0;
	rec_reset(&rec);
	tap_ok(host_reclaim(mm, A(b), 4 * 4096, &n) == 0 && n == 2, "reclaim: cold pages swapped out");
	check_seq("CFY S(CLEAR) PT E(CLEAR) CFY S(CLEAR) PT E(CLEAR) FL FREE*2", NULL,
		  "reclaim: S, swap entry, E per page; deferred flush; free after");
	tap_ok(host_phys_swap_used(phys) == 2 && host_mapping_level(mm, A(b)) == 0, "two swap slots, unmapped");
	struct host_mm *mms[] = { mm };
	audit(mms, 1, "reclaim");
	tap_ok(peek(mm, b) == 500 && peek(mm, b + 4096) == 501 && host_phys_swap_used(phys) == 0,
	       "swap-in restores content and frees the slot");
	end_mm(mm, free0, "reclaim");
}

static void test_ksm(void)
{
	uint64_t free0 = host_phys_nr_free(phys), n = 0, p[4];
	struct host_mm *mm = new_mm();
	const uint64_t b = 0x10000000;

	host_mmap(mm, A(b), 4 * 4096, HOST_VMA_ANON, HOST_PROT_READ | HOST_PROT_WRITE);
	poke(mm, b, 7);
	poke(mm, b + 4096, 8);
	poke(mm, b + 2 * 4096, 7);
	poke(mm, b + 3 * 4096, 7);
	for (int i = 0; i < 4; i++)
		p[i] = gup(mm, b + i * 4096ULL, false, NULL);
	uint64_t nf = host_phys_nr_free(phys);
	rec_reset(&rec);
	tap_ok(host_ksm_merge(mm, A(b), 4 * 4096, &n) == 0 && n == 2, "KSM merges two pages into the first");
	check_seq("S(CLEAR) PT FL PT E(CLEAR) "
		  "S(CLEAR) PT FL PT E(CLEAR) S(CLEAR) PT FL PT E(CLEAR) FREE "
		  "S(CLEAR) PT FL PT E(CLEAR) S(CLEAR) PT FL PT E(CLEAR) FREE", NULL,
		  "KSM: write_protect_page, replace_page, FREE after E");
	tap_ok(gup(mm, b + 2 * 4096, false, NULL) == p[0] && gup(mm, b + 3 * 4096, false, NULL) == p[0] &&
	       gup(mm, b + 4096, false, NULL) == p[1] && host_phys_nr_free(phys) == nf + 2,
	       "two addresses now map the KSM frame; two frames freed");
	uint64_t pfn;
	bool w;
	int lvl;
	host_gup(mm, A(b), false, &pfn, &w, &lvl);
	tap_ok(!w, "KSM page mapped read-only");
	host_frame_put(phys, pfn);
	rec_reset(&rec);
	poke(mm, b + 3 * 4096, 9);
	check_seq("COPY S(CLEAR) PT FL PT E(CLEAR)", NULL, "write to a KSM page: COW copy");
	tap_ok(peek(mm, b) == 7 && peek(mm, b + 3 * 4096) == 9, "KSM page unchanged, writer has its copy");
	struct host_mm *mms[] = { mm };
	audit(mms, 1, "ksm");
	end_mm(mm, free0, "ksm");
}

static void test_exit_release(void)
{
	uint64_t free0 = host_phys_nr_free(phys), pfn;
	struct host_mm *mm = new_mm();
	const uint64_t b = 0x10000000;
	bool w;
	int lvl;

	host_mmap(mm, A(b), 4 * 4096, HOST_VMA_ANON, HOST_PROT_READ | HOST_PROT_WRITE);
	for (int i = 0; i < 4; i++)
		poke(mm, b + i * 4096ULL, i);
	tap_ok(host_mm_count(mm) == 2, "registration holds an mmgrab");
	host_mmgrab(mm);
	rec_reset(&rec);
	host_mmput(mm);
	check_seq("REL PT*4 FL SYNC TFREE*4 FREE*4", NULL,
		  "exit_mmap: release first, S/E reach nobody, FL, tables, then pages");
	tap_ok(rec.releases == 1 && host_mm_exited(mm), "release ran once, mm exited");
	tap_ok(host_gup(mm, A(b), false, &pfn, &w, &lvl) == -ESRCH &&
	       host_mmap(mm, A(b), 4096, HOST_VMA_ANON, HOST_PROT_READ) == -ESRCH &&
	       host_munmap(mm, A(b), 4096) == -ESRCH && host_mapping_level(mm, A(b)) == 0,
	       "use after exit_mmap -> -ESRCH, lockless walk says none");
	tap_ok(host_mn_register(mm, &(struct host_mn_sub){ .ops = &rec_ops, .priv = &rec }) == -ESRCH,
	       "register after exit -> -ESRCH");
	host_mn_unregister(&sub);
	tap_ok(rec.releases == 1, "unregister after exit: no second release");
	tap_ok(host_mm_count(mm) == 1, "mm struct alive while mm_count > 0");
	host_mmdrop(mm);
	tap_ok(host_phys_nr_free(phys) == free0, "all frames back");

	/* unregister while alive: release once, then silence */
	mm = new_mm();
	host_mmap(mm, A(b), 4096, HOST_VMA_ANON, HOST_PROT_READ | HOST_PROT_WRITE);
	poke(mm, b, 1);
	host_mn_unregister(&sub);
	tap_ok(rec.releases == 1, "unregister calls release");
	rec_reset(&rec);
	host_munmap(mm, A(b), 4096);
	check_seq("PT FL SYNC TFREE*3 FREE", NULL, "no callbacks after unregister");
	host_mmput(mm);
}

static void test_hugetlb_pfnmap_oom(void)
{
	uint64_t free0 = host_phys_nr_free(phys), pfn, io = host_phys_nr_frames(phys);
	struct host_mm *mm = new_mm();
	struct host_vma_info vi;
	uint64_t pfns[4] = { io + 9, io + 3, io + 7, io + 1 };
	int lvl;
	bool w;

	tap_ok(host_mmap(mm, A(2 * GB), 4 * MB, HOST_VMA_HUGETLB_2M, HOST_PROT_READ | HOST_PROT_WRITE) == 0,
	       "hugetlb 2M mmap");
	tap_ok(host_gup(mm, A(2 * GB + MB), true, &pfn, &w, &lvl) == 0 && lvl == 2, "hugetlb 2M fault: level 2");
	host_frame_put(phys, pfn);
	tap_ok(host_munmap(mm, A(2 * GB), MB) == -EINVAL, "hugetlb munmap not 2M aligned -> -EINVAL");
	rec_reset(&rec);
	tap_ok(host_munmap(mm, A(2 * GB), 2 * MB) == 0, "hugetlb munmap one huge page");
	check_seq("S(UNMAP) PT E(UNMAP) FL FREE", NULL, "hugetlb munmap");
	tap_ok(host_mmap(mm, A(4 * GB), GB, HOST_VMA_HUGETLB_1G, HOST_PROT_READ | HOST_PROT_WRITE) == 0,
	       "hugetlb 1G mmap");
	tap_ok(host_gup(mm, A(4 * GB + 12345 * 4096ULL), false, &pfn, &w, &lvl) == 0 && lvl == 3,
	       "hugetlb 1G fault: level 3");
	host_frame_put(phys, pfn);
	tap_ok(host_mapping_level(mm, A(4 * GB + 5)) == HOST_LEVEL_1G, "lockless walk says 1G");
	rec_reset(&rec);
	tap_ok(host_migrate(mm, A(4 * GB)) == 0, "migrate a 1G page");
	check_seq("S(CLEAR) PT FL E(CLEAR) COPY PT FREE", NULL, "1G migration");

	tap_ok(host_mmap_pfnmap(mm, A(8 * GB), 4 * 4096, HOST_PROT_READ | HOST_PROT_WRITE, io, NULL) == 0,
	       "flat PFNMAP");
	tap_ok(host_mmap_pfnmap(mm, A(9 * GB), 4 * 4096, HOST_PROT_READ, 0x1234, pfns) == 0,
	       "non-flat PFNMAP");
	tap_ok(host_mmap_pfnmap(mm, A(10 * GB), 4096, HOST_PROT_READ, 5, NULL) == -EINVAL,
	       "PFNMAP of RAM frames -> -EINVAL");
	tap_ok(host_follow_pfn(mm, A(8 * GB + 2 * 4096), true, &pfn, &w, &lvl) == 0 && pfn == io + 2 && w,
	       "flat: follow_pfn gives pgoff + index");
	tap_ok(host_follow_pfn(mm, A(9 * GB + 4096), false, &pfn, &w, &lvl) == 0 && pfn == io + 3 && !w,
	       "non-flat: follow_pfn gives the driver's pfn, not vm_pgoff");
	tap_ok(host_vma_query(mm, A(9 * GB), &vi) == 0 && !vi.flat && vi.pgoff == 0x1234 &&
	       vi.kind == HOST_VMA_PFNMAP, "vma_query: non-flat, pgoff unrelated to frames");
	tap_ok(host_gup(mm, A(8 * GB), false, &pfn, &w, &lvl) == -EFAULT, "gup on PFNMAP -> -EFAULT");
	tap_ok(host_follow_pfn(mm, A(9 * GB), true, &pfn, &w, &lvl) == -EFAULT, "write follow_pfn on RO -> -EFAULT");
	tap_ok(host_madvise_dontneed(mm, A(8 * GB), 4096) == -EINVAL, "DONTNEED on PFNMAP -> -EINVAL");
	rec_reset(&rec);
	tap_ok(host_munmap(mm, A(9 * GB), 4 * 4096) == 0, "munmap PFNMAP");
	check_seq("S(UNMAP) PT*4 FL E(UNMAP) SYNC TFREE*2", NULL,
		  "PFNMAP munmap: tlb_end_vma flush before E, no frame freed");

	/* OOM reaper with a subscriber that cannot block */
	host_mmap(mm, A(0x10000000), 2 * 4096, HOST_VMA_ANON, HOST_PROT_READ | HOST_PROT_WRITE);
	poke(mm, 0x10000000, 1);
	rec.fail_nonblock = 1;
	rec_reset(&rec);
	tap_ok(host_oom_reap(mm) == -EAGAIN, "oom reap: subscriber refuses a non-blockable range");
	check_seq("S(UNMAP) E(UNMAP)", NULL, "failed S_nb: end to all, no page-table change");
	rec.fail_nonblock = 0;
	rec_reset(&rec);
	tap_ok(host_oom_reap(mm) == 0, "oom reap");
	check_seq("S(UNMAP) PT E(UNMAP) FL FREE", NULL, "oom reap zaps anonymous memory");
	struct host_mm *mms[] = { mm };
	audit(mms, 1, "hugetlb/pfnmap/oom");
	end_mm(mm, free0, "hugetlb/pfnmap/oom");
}

int main(void)
{
	/* 2^19 frames: room for a 1G hugetlb page; 16 device frames. */
	phys = host_phys_create(1ULL << 19, 16);
	if (!phys)
		TAP_BAIL("phys");
	test_mmap_gup_bad_input();
	test_munmap();
	test_madvise_mprotect();
	test_fork_cow();
	test_free_report_before_reuse();
	test_wp_fault_reference();
	test_thp();
	test_migrate();
	test_reclaim_age();
	test_ksm();
	test_exit_release();
	test_hugetlb_pfnmap_oom();
	host_phys_destroy(phys);
	return tap_done();
}
