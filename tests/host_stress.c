/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Multi-threaded smoke test of the host model: "vCPU" threads resolve
 * pages with host_gup and walk host_mapping_level locklessly while a host
 * thread munmaps/remaps, collapses, splits, migrates, reclaims, runs KSM,
 * mprotects and forks.  Under about a second.  Checks: no crash or
 * deadlock, every invalidate_range_start matched by an end, frame
 * accounting after the threads stop, and every frame back after exit.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include "tests/tap.h"
#include "sim/host/host.h"

#define BASE	0x200000000ULL
#define REGION	(16ULL << 20)

static struct host_phys *phys;
static struct host_mm *mm;
static atomic_int stop;
static atomic_long starts, ends, gups, levels, hostops;

static int st_start(struct host_mn_sub *s, s2_hva_t a, s2_hva_t b, enum host_mn_event ev, bool bl)
{
	(void)s, (void)a, (void)b, (void)ev, (void)bl;
	atomic_fetch_add(&starts, 1);
	return 0;
}

static void st_end(struct host_mn_sub *s, s2_hva_t a, s2_hva_t b, enum host_mn_event ev, bool bl)
{
	(void)s, (void)a, (void)b, (void)ev, (void)bl;
	atomic_fetch_add(&ends, 1);
}

static int st_young(struct host_mn_sub *s, s2_hva_t a, s2_hva_t b)
{
	(void)s, (void)a, (void)b;
	return 0;
}

static const struct host_mn_ops st_ops = {
	.invalidate_range_start = st_start,
	.invalidate_range_end = st_end,
	.clear_flush_young = st_young,
	.clear_young = st_young,
	.test_young = st_young,
};

static uint64_t xs(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void *vcpu(void *arg)
{
	uint64_t seed = (uintptr_t)arg * 0x9e3779b97f4a7c15ULL + 1;

	while (!atomic_load(&stop)) {
		uint64_t a = BASE + (xs(&seed) % (REGION / 4096)) * 4096, pfn;
		bool w;
		int l;

		if (!host_gup(mm, s2_hva(a), xs(&seed) & 1, &pfn, &w, &l)) {
			host_frame_write(phys, pfn, a);
			host_frame_put(phys, pfn);
			atomic_fetch_add(&gups, 1);
		}
		for (int i = 0; i < 4; i++) {
			host_mapping_level(mm, s2_hva(a + i * HOST_PMD_SIZE % REGION));
			atomic_fetch_add(&levels, 1);
		}
	}
	return NULL;
}

static void *hostop(void *arg)
{
	uint64_t seed = 12345, n;
	struct host_mm *child;

	(void)arg;
	while (!atomic_load(&stop)) {
		uint64_t slot = BASE + (xs(&seed) % (REGION / HOST_PMD_SIZE)) * HOST_PMD_SIZE;
		uint64_t a = slot + (xs(&seed) % 512) * 4096;

		switch (xs(&seed) % 10) {
		case 0:
			if (!host_munmap(mm, s2_hva(slot), HOST_PMD_SIZE))
				host_mmap(mm, s2_hva(slot), HOST_PMD_SIZE,
					  xs(&seed) & 1 ? HOST_VMA_THP : HOST_VMA_ANON,
					  HOST_PROT_READ | HOST_PROT_WRITE);
			break;
		case 1: host_thp_collapse(mm, s2_hva(slot)); break;
		case 2: host_thp_split(mm, s2_hva(a)); break;
		case 3: host_migrate(mm, s2_hva(a)); break;
		case 4: host_reclaim(mm, s2_hva(slot), HOST_PMD_SIZE, &n); break;
		case 5: host_madvise_dontneed(mm, s2_hva(a), 4096); break;
		case 6: host_ksm_merge(mm, s2_hva(slot), HOST_PMD_SIZE, &n); break;
		case 7:
			host_mprotect(mm, s2_hva(slot), HOST_PMD_SIZE, HOST_PROT_READ);
			host_mprotect(mm, s2_hva(slot), HOST_PMD_SIZE, HOST_PROT_READ | HOST_PROT_WRITE);
			break;
		case 8:
			if (!host_fork(mm, &child))
				host_mmput(child);
			break;
		default: host_age(mm, s2_hva(slot), HOST_PMD_SIZE, HOST_AGE_CLEAR_FLUSH_YOUNG); break;
		}
		atomic_fetch_add(&hostops, 1);
	}
	return NULL;
}

int main(void)
{
	struct host_mn_sub sub = { .ops = &st_ops };
	pthread_t th[4];
	struct timespec ts = { 0, 800 * 1000 * 1000 };
	char msg[256];
	int r;

	phys = host_phys_create(1ULL << 15, 0);
	mm = host_mm_create(phys);
	host_mmap(mm, s2_hva(BASE), REGION / 2, HOST_VMA_THP, HOST_PROT_READ | HOST_PROT_WRITE);
	host_mmap(mm, s2_hva(BASE + REGION / 2), REGION / 2, HOST_VMA_ANON, HOST_PROT_READ | HOST_PROT_WRITE);
	host_mn_register(mm, &sub);
	pthread_create(&th[0], NULL, vcpu, (void *)1);
	pthread_create(&th[1], NULL, vcpu, (void *)2);
	pthread_create(&th[2], NULL, hostop, NULL);
	pthread_create(&th[3], NULL, hostop, NULL);
	nanosleep(&ts, NULL);
	atomic_store(&stop, 1);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	tap_diag("gups %ld, level walks %ld, host ops %ld, S/E %ld/%ld", atomic_load(&gups),
		 atomic_load(&levels), atomic_load(&hostops), atomic_load(&starts), atomic_load(&ends));
	tap_ok(atomic_load(&gups) > 0 && atomic_load(&hostops) > 0, "all threads made progress");
	tap_ok(atomic_load(&starts) == atomic_load(&ends), "every start has its end");
	r = host_audit(phys, &mm, 1, NULL, NULL, msg, sizeof(msg));
	if (!tap_ok(r == 0, "frame accounting after the run"))
		tap_diag("%s", msg);
	host_mmput(mm);
	host_mn_unregister(&sub);
	tap_ok(host_phys_nr_free(phys) == (1ULL << 15) && host_phys_swap_used(phys) == 0,
	       "every frame and swap slot back after exit");
	host_phys_destroy(phys);
	return tap_done();
}
