/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * `s2mmu bench` figures of dirty logging the way live migration uses it
 * (issue 17 item 1):
 *
 *  - one dirty-log pass (harvest and re-protect) over a guest whose every
 *    4K page was written since the last pass, per mode: the bitmap
 *    (s2_vm_get_dirty_log), manual protect (the get, then
 *    s2_vm_clear_dirty_log in 64-page chunks, as QEMU clears) and the
 *    dirty ring (s2_dirty_ring_harvest, then s2_vm_reset_dirty_rings, a
 *    ring of 65536 entries filled and drained until the whole guest went
 *    through it; only the harvests and resets are timed);
 *  - the read-heavy case of eager splitting: a guest faulted in as 2M
 *    blocks, logging turned on, then every page touched once in order,
 *    one in ten written, the rest read; faults and time from the enable
 *    to the last access, eager against lazy.  A read needs no fault while
 *    a valid leaf maps the page (the bench looks the leaf up, standing in
 *    for the hardware walk); a write while it is writable.
 *
 * The host is the same cheap fake as bench_core.c's: the core's own cost.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <s2mmu/mmu.h>
#include <s2mmu/hosted.h>
#include "bench.h"

#define HVA0	0x7f0000000000ULL
#define PA0	(1ULL << 40)
#define PG	4096ULL
#define M2	(2ULL << 20)
#define RING	65536u

static uint64_t host_map_size;

static int fh_resolve(void *host, s2_hva_t hva, bool write, struct s2_resolved *r)
{
	(void)host;
	(void)write;
	*r = (struct s2_resolved){ .pa = s2_hpa(PA0 + ((hva.v - HVA0) & ~(PG - 1))),
				   .writable = true };
	return 0;
}

static void fh_put(void *host, const struct s2_resolved *r)
{
	(void)host;
	(void)r;
}

static uint64_t fh_size(void *host, s2_hva_t hva)
{
	(void)host;
	(void)hva;
	return host_map_size;
}

static const struct s2_host_ops fh_ops = { fh_resolve, fh_put, fh_size, NULL };

static struct s2_vm *mkvm(struct s2_hosted *h, unsigned flags)
{
	struct s2_vm_cfg cfg = {
		.pgt = { S2_FMT_ARM64, 12, 40, 48, 0, s2_hosted_platform(), h },
		.host = &fh_ops, .flags = flags, .max_slots = 4,
	};
	struct s2_vm *vm;
	int ret;

	if ((ret = s2_vm_create(&cfg, &vm)))
		s2_bench_fail("vm create", ret);
	return vm;
}

static void rmvm(struct s2_vm *vm, struct s2_memcache *mc)
{
	s2_vm_memcache_free(vm, mc);
	s2_vm_destroy(vm);
}

/* A fault until it sticks (the ring's -EBUSY is a setup error here). */
static uint64_t fault(struct s2_vm *vm, uint64_t gpa, unsigned acc, struct s2_memcache *mc,
		      struct s2_dirty_ring *r)
{
	uint64_t n = 0;
	int ret;

	do {
		ret = s2_vm_fault_ring(vm, s2_gpa(gpa), acc, mc, r, NULL);
		n++;
	} while (ret == -S2_EAGAIN);
	if (ret < 0)
		s2_bench_fail("fault", ret);
	return n;
}

/* --------------------------------------------------- dirty-log pass */

/* One pass of @mode over @bytes of written pages; seconds timed. */
static double pass_bitmap(struct s2_hosted *h, uint64_t bytes, bool manual)
{
	struct s2_vm *vm = mkvm(h, manual ? S2_VM_MANUAL_PROTECT : 0);
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	uint64_t pages = bytes / PG, words = (pages + 63) / 64, *bm, w;
	double t0, t;
	int ret;

	bm = calloc(words, sizeof(*bm));
	if (!bm)
		s2_bench_fail("bitmap", -S2_ENOMEM);
	if ((ret = s2_vm_set_memslot(vm, 0, s2_gpa(0), bytes, s2_hva(HVA0), S2_MEM_DIRTY_LOG)))
		s2_bench_fail("memslot", ret);
	for (uint64_t a = 0; a < bytes; a += PG)
		fault(vm, a, S2_ACC_WRITE, &mc, NULL);
	t0 = s2_bench_now();
	if ((ret = s2_vm_get_dirty_log(vm, 0, bm, words)))
		s2_bench_fail("get_dirty_log", ret);
	for (w = 0; manual && w < words; w++)
		if (bm[w] && (ret = s2_vm_clear_dirty_log(vm, 0, w * 64, 64, &bm[w])))
			s2_bench_fail("clear_dirty_log", ret);
	t = s2_bench_now() - t0;
	for (w = 0; w < words; w++)
		if (bm[w] != ~0ULL)
			s2_bench_fail("a pass that missed pages", -S2_EINVAL);
	free(bm);
	rmvm(vm, &mc);
	return t;
}

static double pass_ring(struct s2_hosted *h, uint64_t bytes)
{
	struct s2_vm *vm = mkvm(h, 0);
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	struct s2_dirty_gfn *g = malloc(RING * sizeof(*g));
	struct s2_dirty_ring *r;
	uint64_t done = 0;
	double t = 0;
	int ret;

	if (!g)
		s2_bench_fail("ring buffer", -S2_ENOMEM);
	if ((ret = s2_vm_dirty_ring_create(vm, RING, &r)))
		s2_bench_fail("ring create", ret);
	if ((ret = s2_vm_set_memslot(vm, 0, s2_gpa(0), bytes, s2_hva(HVA0), S2_MEM_DIRTY_LOG)))
		s2_bench_fail("memslot", ret);
	for (uint64_t a = 0; a < bytes; a += (uint64_t)RING * PG) {
		uint64_t end = a + (uint64_t)RING * PG < bytes ? a + (uint64_t)RING * PG : bytes;
		double t0;
		size_t n;

		for (uint64_t p = a; p < end; p += PG)
			fault(vm, p, S2_ACC_WRITE, &mc, r);
		t0 = s2_bench_now();
		n = s2_dirty_ring_harvest(r, g, RING);
		if (s2_vm_reset_dirty_rings(vm) != (long)n)
			s2_bench_fail("ring reset", -S2_EINVAL);
		t += s2_bench_now() - t0;
		done += n;
	}
	if (done != bytes / PG)
		s2_bench_fail("a pass that missed pages", -S2_EINVAL);
	free(g);
	s2_vm_dirty_ring_free(vm, r);
	rmvm(vm, &mc);
	return t;
}

/* ------------------------------------------------ read-heavy split */

static void read_heavy(struct s2_hosted *h, uint64_t bytes, bool eager, double *secs,
		       uint64_t *faults)
{
	struct s2_vm *vm = mkvm(h, eager ? S2_VM_EAGER_SPLIT : 0);
	struct s2_pgtable *pgt = s2_vm_pgtable(vm);
	struct s2_memcache mc = S2_MEMCACHE_INIT;
	uint64_t n = 0;
	double t0;
	int ret;

	host_map_size = M2;
	if ((ret = s2_vm_set_memslot(vm, 0, s2_gpa(0), bytes, s2_hva(HVA0), 0)))
		s2_bench_fail("memslot", ret);
	for (uint64_t a = 0; a < bytes; a += M2)
		fault(vm, a, S2_ACC_READ, &mc, NULL);
	t0 = s2_bench_now();
	if ((ret = s2_vm_set_memslot(vm, 0, s2_gpa(0), bytes, s2_hva(HVA0), S2_MEM_DIRTY_LOG)))
		s2_bench_fail("dirty log on", ret);
	for (uint64_t a = 0; a < bytes; a += PG) {
		bool write = (a / PG) % 10 == 0;
		struct s2_mapping m;

		s2_pgt_lookup(pgt, s2_gpa(a), &m);
		if (m.valid && (!write || (m.prot & S2_PROT_W)))
			continue;
		n += fault(vm, a, write ? S2_ACC_WRITE : S2_ACC_READ, &mc, NULL);
	}
	*secs = s2_bench_now() - t0;
	*faults = n;
	host_map_size = PG;
	rmvm(vm, &mc);
}

void s2_bench_dirty(uint64_t bytes, uint64_t split_bytes, int reps, struct s2_dirty_results *r)
{
	struct s2_hosted *h = s2_hosted_new();
	double t;

	memset(r, 0, sizeof(*r));
	r->guest_bytes = bytes;
	r->split_bytes = split_bytes;
	r->rh_eager_s = r->rh_lazy_s = 1e30;
	for (int i = 0; i < reps; i++) {
		double s;
		uint64_t f;

		t = pass_bitmap(h, bytes, false);
		if ((double)(bytes / PG) / t > r->bitmap_pages_per_s)
			r->bitmap_pages_per_s = (double)(bytes / PG) / t;
		t = pass_bitmap(h, bytes, true);
		if ((double)(bytes / PG) / t > r->manual_pages_per_s)
			r->manual_pages_per_s = (double)(bytes / PG) / t;
		t = pass_ring(h, bytes);
		if ((double)(bytes / PG) / t > r->ring_pages_per_s)
			r->ring_pages_per_s = (double)(bytes / PG) / t;
		read_heavy(h, split_bytes, true, &s, &f);
		if (s < r->rh_eager_s) {
			r->rh_eager_s = s;
			r->rh_eager_faults = f;
		}
		read_heavy(h, split_bytes, false, &s, &f);
		if (s < r->rh_lazy_s) {
			r->rh_lazy_s = s;
			r->rh_lazy_faults = f;
		}
	}
	s2_hosted_free(h);
}
