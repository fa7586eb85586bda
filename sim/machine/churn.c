/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Host churn: every kind of host-model operation on the guest's memory,
 * picked by weight, so the core sees each notifier sequence of
 * docs/host-model.md while vCPUs fault.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/machine/internal.h"

static const char *const hop_names[MH_NR] = {
	"munmap", "dontneed", "mprotect", "collapse", "split", "migrate",
	"reclaim", "fork", "ksm", "age", "oom", "exit",
};

const char *mach_hop_name(enum mach_hop k)
{
	return k < MH_NR ? hop_names[k] : "?";
}

void mach_churn_default(unsigned w[MH_NR])
{
	static const unsigned def[MH_NR] = {
		[MH_MUNMAP] = 8, [MH_DONTNEED] = 16, [MH_MPROTECT] = 8,
		[MH_COLLAPSE] = 8, [MH_SPLIT] = 8, [MH_MIGRATE] = 16,
		[MH_RECLAIM] = 8, [MH_FORK] = 4, [MH_KSM] = 4, [MH_AGE] = 16,
		/* The reaper zaps the whole guest: rare, as in life. */
		[MH_OOM] = 1, [MH_EXIT] = 0,
	};

	memcpy(w, def, sizeof(def));
}

int mach_parse_churn(const char *s, unsigned w[MH_NR], char *err, size_t errlen)
{
	char buf[512], *tok, *save = NULL;

	memset(w, 0, sizeof(unsigned) * MH_NR);
	if (strlen(s) >= sizeof(buf)) {
		snprintf(err, errlen, "churn mix too long");
		return -1;
	}
	strcpy(buf, s);
	if (!strcmp(buf, "none"))
		return 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '='), *end;
		unsigned long v;
		unsigned k;

		if (!eq || eq == tok || !eq[1]) {
			snprintf(err, errlen, "'%s': expected NAME=WEIGHT", tok);
			return -1;
		}
		*eq = 0;
		v = strtoul(eq + 1, &end, 10);
		if (*end || v > 1000) {
			snprintf(err, errlen, "'%s': weight must be 0..1000", eq + 1);
			return -1;
		}
		if (!strcmp(tok, "thp")) {
			w[MH_COLLAPSE] = w[MH_SPLIT] = (unsigned)v;
			continue;
		}
		for (k = 0; k < MH_EXIT; k++)
			if (!strcmp(tok, hop_names[k]))
				break;
		if (k == MH_EXIT) {
			snprintf(err, errlen, "unknown churn kind '%s'", tok);
			return -1;
		}
		w[k] = (unsigned)v;
	}
	return 0;
}

uint64_t mach_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* A random range of @pages 4K pages inside a RAM slot, aligned to @align. */
static uint64_t pick_range(struct machine *m, uint64_t *rnd, uint64_t len, uint64_t align)
{
	const struct mslot *s = &m->slot[mach_rand(rnd) % 2];
	/* a THP operation on a slot smaller than the host's PMD (64K pages:
	 * 512M) gets the slot's start and fails there, as it would */
	uint64_t n = len > s->size ? 1 : (s->size - len) / align + 1;

	return s->hva + (mach_rand(rnd) % n) * align;
}

static void set_ro(struct machine *m, uint64_t hva, uint64_t len, uint8_t v)
{
	uint64_t a, g;

	for (a = hva; a < hva + len; a += HOST_PAGE_SIZE)
		if (mach_gidx(m, a, &g, NULL))
			__atomic_store_n(&m->host_ro[g], v, __ATOMIC_SEQ_CST);
}

static int op_munmap(struct machine *m, uint64_t *rnd)
{
	uint64_t len = (mach_rand(rnd) % 2) ? m->huge : 16 * HOST_PAGE_SIZE;
	uint64_t hva = pick_range(m, rnd, len, len);
	int ret;

	ret = host_munmap(m->mm, s2_hva(hva), len);
	if (ret)
		return ret;
	/* The new VMA is writable: I2 must not blame its writes. */
	set_ro(m, hva, len, 0);
	return host_mmap(m->mm, s2_hva(hva), len, m->cfg.thp ? HOST_VMA_THP : HOST_VMA_ANON,
			 HOST_PROT_READ | HOST_PROT_WRITE);
}

static int op_mprotect(struct machine *m, uint64_t *rnd)
{
	unsigned i = (unsigned)(mach_rand(rnd) % 8);
	int ret;

	if (m->ro_len[i]) {
		/* Cleared first: writes may legitimately follow the upgrade. */
		set_ro(m, m->ro_hva[i], m->ro_len[i], 0);
		ret = host_mprotect(m->mm, s2_hva(m->ro_hva[i]), m->ro_len[i],
				    HOST_PROT_READ | HOST_PROT_WRITE);
		m->ro_len[i] = 0;
		return ret;
	}
	m->ro_len[i] = 16 * HOST_PAGE_SIZE;
	m->ro_hva[i] = pick_range(m, rnd, m->ro_len[i], HOST_PAGE_SIZE);
	ret = host_mprotect(m->mm, s2_hva(m->ro_hva[i]), m->ro_len[i], HOST_PROT_READ);
	if (ret) {
		m->ro_len[i] = 0;
		return ret;
	}
	/* Only after return: every writable translation is gone by now. */
	set_ro(m, m->ro_hva[i], m->ro_len[i], 1);
	return 0;
}

int mach_host_op(struct machine *m, enum mach_hop k, uint64_t *rnd)
{
	uint64_t hva, n;
	int ret;

	if (__atomic_load_n(&m->exiting, __ATOMIC_ACQUIRE))
		return -ESRCH;
	pthread_mutex_lock(&m->host_lock);
	switch (k) {
	case MH_MUNMAP:
		ret = op_munmap(m, rnd);
		break;
	case MH_DONTNEED:
		n = 1 + mach_rand(rnd) % 512;
		hva = pick_range(m, rnd, n * HOST_PAGE_SIZE, HOST_PAGE_SIZE);
		ret = host_madvise_dontneed(m->mm, s2_hva(hva), n * HOST_PAGE_SIZE);
		break;
	case MH_MPROTECT:
		ret = op_mprotect(m, rnd);
		break;
	case MH_COLLAPSE:
		hva = m->split_hva && mach_rand(rnd) % 2 ? m->split_hva :
		      pick_range(m, rnd, HOST_PMD_SIZE, HOST_PMD_SIZE);
		ret = host_thp_collapse(m->mm, s2_hva(hva));
		if (!ret && hva == m->split_hva)
			m->split_hva = 0;
		break;
	case MH_SPLIT:
		hva = pick_range(m, rnd, HOST_PMD_SIZE, HOST_PMD_SIZE);
		ret = host_thp_split(m->mm, s2_hva(hva));
		if (!ret)
			m->split_hva = hva;
		break;
	case MH_MIGRATE:
		hva = pick_range(m, rnd, HOST_PAGE_SIZE, HOST_PAGE_SIZE);
		ret = host_migrate(m->mm, s2_hva(hva));
		break;
	case MH_RECLAIM:
		hva = pick_range(m, rnd, m->huge, m->huge);
		ret = host_reclaim(m->mm, s2_hva(hva), m->huge, NULL);
		break;
	case MH_FORK:
		if (m->child) {
			/* The child exits: its COW shares go, the parent's
			 * pages stay read-only until the next write fault. */
			host_mmput(m->child);
			m->child = NULL;
			ret = 0;
		} else {
			ret = host_fork(m->mm, &m->child);
			if (ret)
				m->child = NULL;
		}
		break;
	case MH_KSM:
		hva = pick_range(m, rnd, m->huge, m->huge);
		ret = host_ksm_merge(m->mm, s2_hva(hva), m->huge, NULL);
		break;
	case MH_AGE:
		hva = pick_range(m, rnd, m->huge, m->huge);
		ret = host_age(m->mm, s2_hva(hva), m->huge,
			       (enum host_age_mode)(m->age_mode++ % 3));
		break;
	case MH_OOM:
		ret = host_oom_reap(m->mm);
		break;
	default:
		ret = -EINVAL;
		break;
	}
	pthread_mutex_unlock(&m->host_lock);
	if (ret < 0)
		inc(&m->c_host_fail[k]);
	else
		inc(&m->c_host_ok[k]);
	return ret;
}

void *mach_churn_thread(void *arg)
{
	struct machine *m = arg;
	unsigned total = 0, k;

	s2_hosted_thread_online();
	for (k = 0; k < MH_EXIT; k++)
		total += m->churn_w[k];
	while (!__atomic_load_n(&m->stop_churn, __ATOMIC_ACQUIRE)) {
		unsigned r;

		if (!total) {
			struct timespec ts = { 0, 10 * 1000 * 1000 };

			nanosleep(&ts, NULL);
			continue;
		}
		r = (unsigned)(mach_rand(&m->churn_rnd) % total);
		for (k = 0; k < MH_EXIT; k++) {
			if (r < m->churn_w[k])
				break;
			r -= m->churn_w[k];
		}
		mach_host_op(m, (enum mach_hop)k, &m->churn_rnd);
	}
	s2_hosted_thread_offline();
	return NULL;
}

/* The aging phase (machine.h): a sweep over the RAM slots, a host PMD
 * (2M with 4K pages) a call. */
static void *ager_thread(void *arg)
{
	static const enum host_age_mode modes[] = {
		HOST_AGE_CLEAR_YOUNG, HOST_AGE_TEST_YOUNG, HOST_AGE_CLEAR_YOUNG,
		HOST_AGE_CLEAR_FLUSH_YOUNG,
	};
	struct machine *m = arg;
	uint64_t off = 0, ram = 2 * m->slot[0].size;
	unsigned n = 0;

	s2_hosted_thread_online();
	while (!__atomic_load_n(&m->stop_ager, __ATOMIC_ACQUIRE)) {
		const struct mslot *s = &m->slot[off < m->slot[0].size ? 0 : 1];
		uint64_t hva = s->hva + off % m->slot[0].size;
		int ret;

		/* counted in before the call, out after: a fault that sees
		 * the count, or the number begun move, ran beside it */
		__atomic_fetch_add(&m->age_begun, 1, __ATOMIC_SEQ_CST);
		__atomic_fetch_add(&m->age_busy, 1, __ATOMIC_SEQ_CST);
		ret = host_age(m->mm, s2_hva(hva), m->huge, modes[n++ % 4]);
		__atomic_fetch_sub(&m->age_busy, 1, __ATOMIC_SEQ_CST);
		inc(ret < 0 ? &m->c_age_phase_fail : &m->c_age_phase);
		off = (off + m->huge) % ram;
	}
	s2_hosted_thread_offline();
	return NULL;
}

void mach_start_aging(struct machine *m)
{
	__atomic_store_n(&m->stop_ager, 0, __ATOMIC_RELEASE);
	if (!m->ager_started && !pthread_create(&m->ager_thr, NULL, ager_thread, m))
		m->ager_started = true;
}

void mach_stop_aging(struct machine *m)
{
	__atomic_store_n(&m->stop_ager, 1, __ATOMIC_RELEASE);
	if (m->ager_started) {
		pthread_join(m->ager_thr, NULL);
		m->ager_started = false;
	}
}

void mach_stop_churn(struct machine *m)
{
	__atomic_store_n(&m->stop_churn, 1, __ATOMIC_RELEASE);
	if (m->churn_started) {
		pthread_join(m->churn_thr, NULL);
		m->churn_started = false;
	}
}
