/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Recording a window of a VM's host address space with S2K_TRACE_CTL /
 * S2K_TRACE_READ and writing it out as an s2trace text file (format 1,
 * docs/trace.md), for `s2mmu check --trace`.  Used by the kernel tests
 * (s2test.c); any program that drives /dev/s2mmu can include it.
 *
 * In the qemu guest the recordings go to the second serial port
 * (/dev/ttyS1, a file on the host), each framed by "S2TRACE BEGIN name"
 * and "S2TRACE END name" lines, which kernel/scripts/split-traces.sh cuts
 * into build/kernel/trace-<name>.s2trace.
 */
#ifndef S2MMU_KTEST_S2TRACE_H
#define S2MMU_KTEST_S2TRACE_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#include "s2mmu_uapi.h"

/* Linux enum mmu_notifier_event, in its order (6.1). */
static const char *const s2trace_event[] = {
	"unmap", "clear", "protection_vma", "protection_page", "soft_dirty",
	"release", "migrate", "exclusive",
};

/* Start recording [hva, hva + size) of the VM behind @dev. */
static inline int s2trace_begin(int dev, uint64_t hva, uint64_t size, unsigned cap)
{
	struct s2k_trace_ctl c = { .hva = hva, .size = size, .capacity = cap, .enable = 1 };

	return ioctl(dev, S2K_TRACE_CTL, &c) ? -errno : 0;
}

static inline const char *s2trace_ev(unsigned e)
{
	return e < sizeof(s2trace_event) / sizeof(s2trace_event[0]) ? s2trace_event[e] : "?";
}

static inline void s2trace_line(FILE *f, const struct s2k_trace_rec *r)
{
	const char *rw = (r->x & S2K_TRF_WRITE) ? "w" : "r";
	unsigned vcpu = r->x & 0xff;

	fprintf(f, "%llu %u ", (unsigned long long)r->seq, r->tid);
	switch (r->kind) {
	case S2K_TR_INV_START:
		fprintf(f, "inv_start %#llx %#llx %s %u\n", (unsigned long long)r->a,
			(unsigned long long)r->b, s2trace_ev(r->x), r->y);
		break;
	case S2K_TR_INV_END:
		fprintf(f, "inv_end %#llx %#llx %s\n", (unsigned long long)r->a,
			(unsigned long long)r->b, s2trace_ev(r->x));
		break;
	case S2K_TR_RELEASE:
		fprintf(f, "release\n");
		break;
	case S2K_TR_CFY:
	case S2K_TR_CY:
	case S2K_TR_TY:
		fprintf(f, "%s %#llx %#llx %u\n", r->kind == S2K_TR_CFY ? "cfy" :
			r->kind == S2K_TR_CY ? "cy" : "ty", (unsigned long long)r->a,
			(unsigned long long)r->b, r->y);
		break;
	case S2K_TR_CHANGE_PTE:
		fprintf(f, "change_pte %#llx\n", (unsigned long long)r->a);
		break;
	case S2K_TR_FAULT:
		fprintf(f, "fault %u %s %#llx %#llx %d %#llx %#llx %u\n", vcpu, rw,
			(unsigned long long)r->a, (unsigned long long)r->b, (int)r->y,
			(unsigned long long)r->c, (unsigned long long)r->d, r->z);
		break;
	case S2K_TR_ACCESS:
		fprintf(f, "access %u %s %#llx %#llx %d %#llx %u %u\n", vcpu, rw,
			(unsigned long long)r->a, (unsigned long long)r->b, (int)r->y,
			(unsigned long long)r->c, (unsigned)(r->d & 0xffffffff),
			(unsigned)(r->d >> 32));
		break;
	case S2K_TR_SLOT:
		fprintf(f, "slot %s %u %#llx %#llx %#llx %u\n", r->z == S2K_TRS_ADD ? "add" :
			r->z == S2K_TRS_DEL ? "del" : "flags", r->x, (unsigned long long)r->a,
			(unsigned long long)r->b, (unsigned long long)r->c, r->y);
		break;
	case S2K_TR_HARVEST:
		fprintf(f, "harvest %u %llu\n", r->x, (unsigned long long)r->c);
		break;
	case S2K_TR_AGE:
		fprintf(f, "age %s %#llx %#llx %u\n", r->x == S2K_AGE_TEST ? "test" :
			r->x == S2K_AGE_CLEAR ? "clear" : "clear_flush", (unsigned long long)r->a,
			(unsigned long long)r->b, r->y);
		break;
	case S2K_TR_VERIFY:
		fprintf(f, "verify %d %#llx %#llx %#llx %#llx %u\n", (int)r->z - 1,
			(unsigned long long)r->a, (unsigned long long)r->b,
			(unsigned long long)r->c, (unsigned long long)r->d, r->x);
		break;
	case S2K_TR_VERIFY_DONE:
		fprintf(f, "verify_done %llu %llu\n", (unsigned long long)r->c,
			(unsigned long long)r->d);
		break;
	case S2K_TR_DROP:
		fprintf(f, "drop %llu\n", (unsigned long long)r->a);
		break;
	default:
		fprintf(f, "unknown %u\n", r->kind);
	}
}

/*
 * Stop recording and write everything recorded to @out as one framed
 * s2trace file named @name; @slot_* describe the memslot the window is in
 * (the replay builds its world from it).  Return: records written, or
 * -errno; *@dropped gets the records lost to a full buffer.
 */
static inline long s2trace_end(int dev, FILE *out, const char *name, unsigned slot_id,
			       uint64_t slot_gpa, uint64_t slot_hva, uint64_t slot_size,
			       uint64_t hva, uint64_t size, unsigned long long *dropped)
{
	static struct s2k_trace_rec buf[512];
	struct s2k_trace_ctl c = { .enable = 0 };
	struct s2k_trace_read rd;
	long n = 0;

	*dropped = 0;
	if (ioctl(dev, S2K_TRACE_CTL, &c))
		return -errno;
	fprintf(out, "S2TRACE BEGIN %s\n", name);
	fprintf(out, "s2trace 1\n# recording %s (kernel/test/s2trace.h)\n", name);
	fprintf(out, "window %#llx %#llx\n", (unsigned long long)hva, (unsigned long long)size);
	fprintf(out, "memslot %u %#llx %#llx %#llx\n", slot_id, (unsigned long long)slot_gpa,
		(unsigned long long)slot_hva, (unsigned long long)slot_size);
	do {
		rd = (struct s2k_trace_read){ .buf = (uintptr_t)buf, .max = 512 };
		if (ioctl(dev, S2K_TRACE_READ, &rd))
			return -errno;
		for (unsigned i = 0; i < rd.got; i++)
			s2trace_line(out, &buf[i]);
		n += rd.got;
		*dropped = rd.dropped_total;
	} while (rd.got == 512);
	fprintf(out, "S2TRACE END %s\n", name);
	fflush(out);
	return n;
}

/* A memslot of the recorded VM, for s2trace_end_busiest. */
struct s2trace_slot {
	unsigned id;
	uint64_t gpa, hva, size;
};

#define S2TRACE_CHUNK	(2ULL << 20)

/* The host range a record touches, [*lo, *hi); false if none. */
static inline bool s2trace_range(const struct s2k_trace_rec *r, uint64_t *lo, uint64_t *hi)
{
	switch (r->kind) {
	case S2K_TR_INV_START: case S2K_TR_INV_END: case S2K_TR_CFY: case S2K_TR_CY:
	case S2K_TR_TY: case S2K_TR_AGE:
		*lo = r->a, *hi = r->b;
		return true;
	case S2K_TR_CHANGE_PTE:
		*lo = r->a, *hi = r->a + 1;
		return true;
	case S2K_TR_FAULT: case S2K_TR_ACCESS: case S2K_TR_VERIFY:
		*lo = r->b, *hi = r->b + 1;
		return true;
	case S2K_TR_SLOT:
		*lo = r->b, *hi = r->b + r->c;
		return true;
	default:
		return false;
	}
}

static inline int s2trace_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * s2trace_end for a recording of a large range (a mirror of a whole
 * process): stop, read everything, and write only the window of at most
 * @max_window bytes, inside one of @slots, where the kernel did the most:
 * 2 MiB chunks scored by the host operations (notifier calls, weight 8)
 * and the guest accesses and faults (weight 1) that start in them, the
 * best pair of neighbouring chunks in one slot winning; the slots are
 * @slots and every one the recording saw added.  Records without
 * an address (release, drop, harvest, verify_done) are all kept.  Return
 * and *@dropped as s2trace_end; 0 records and no output if nothing was
 * recorded in any slot.
 */
static inline long s2trace_end_busiest(int dev, FILE *out, const char *name,
				       const struct s2trace_slot *slots, unsigned nslots,
				       uint64_t max_window, unsigned long long *dropped)
{
	struct s2k_trace_ctl c = { .enable = 0 };
	struct s2k_trace_rec *recs = NULL, *nr;
	struct s2k_trace_read rd;
	uint64_t *key = NULL, lo, hi, best_lo = 0, best_hi = 0, best_score = 0;
	size_t n = 0, cap = 0, nk = 0, nall, i, j;
	struct s2trace_slot *all, best_slot = { 0 };
	bool found = false;
	long written = 0;

	*dropped = 0;
	if (ioctl(dev, S2K_TRACE_CTL, &c))
		return -errno;
	for (;;) {
		if (n + 512 > cap) {
			cap = cap ? cap * 2 : 4096;
			nr = realloc(recs, cap * sizeof(*recs));
			if (!nr) {
				free(recs);
				return -ENOMEM;
			}
			recs = nr;
		}
		rd = (struct s2k_trace_read){ .buf = (uintptr_t)(recs + n), .max = 512 };
		if (ioctl(dev, S2K_TRACE_READ, &rd)) {
			free(recs);
			return -errno;
		}
		n += rd.got;
		*dropped = rd.dropped_total;
		if (rd.got < 512)
			break;
	}
	/* the memslots now and every one added while recording (a mirror's
	 * slots come and go with the target's mappings) */
	all = malloc((nslots + n) * sizeof(*all));
	/* chunk number << 8 | weight, sorted, then summed per chunk */
	key = malloc((n + 1) * sizeof(*key));
	if (!key || !all) {
		free(key);
		free(all);
		free(recs);
		return -ENOMEM;
	}
	if (nslots)
		memcpy(all, slots, nslots * sizeof(*all));
	nall = nslots;
	for (i = 0; i < n; i++)
		if (recs[i].kind == S2K_TR_SLOT && recs[i].z == S2K_TRS_ADD)
			all[nall++] = (struct s2trace_slot){ recs[i].x, recs[i].a, recs[i].b,
							     recs[i].c };
	for (i = 0; i < n; i++)
		if (s2trace_range(&recs[i], &lo, &hi) && recs[i].kind != S2K_TR_SLOT &&
		    recs[i].kind != S2K_TR_INV_END && recs[i].kind != S2K_TR_VERIFY)
			key[nk++] = (lo / S2TRACE_CHUNK) << 8 |
				    (recs[i].kind == S2K_TR_ACCESS || recs[i].kind == S2K_TR_FAULT ?
				     1 : 8);
	qsort(key, nk, sizeof(*key), s2trace_cmp_u64);
	for (i = 0; i < nk; i = j) {
		uint64_t chunk = key[i] >> 8, score = 0;

		for (j = i; j < nk && key[j] >> 8 == chunk; j++)
			score += key[j] & 0xff;
		for (size_t k = j; k < nk && key[k] >> 8 == chunk + 1; k++)
			score += key[k] & 0xff;
		for (size_t s = 0; s < nall; s++) {
			uint64_t wlo = chunk * S2TRACE_CHUNK, whi;

			if (wlo < all[s].hva)
				wlo = all[s].hva;
			whi = wlo + max_window;
			if (whi > all[s].hva + all[s].size)
				whi = all[s].hva + all[s].size;
			if (wlo >= whi || wlo >= (chunk + 1) * S2TRACE_CHUNK)
				continue;
			if (score > best_score) {
				best_score = score;
				best_lo = wlo;
				best_hi = whi;
				best_slot = all[s];
				found = true;
			}
		}
	}
	free(key);
	free(all);
	if (found) {
		fprintf(out, "S2TRACE BEGIN %s\n", name);
		fprintf(out, "s2trace 1\n# recording %s (kernel/test/s2trace.h), the busiest "
			"window of %zu records\n", name, n);
		fprintf(out, "window %#llx %#llx\n", (unsigned long long)best_lo,
			(unsigned long long)(best_hi - best_lo));
		fprintf(out, "memslot %u %#llx %#llx %#llx\n", best_slot.id,
			(unsigned long long)best_slot.gpa, (unsigned long long)best_slot.hva,
			(unsigned long long)best_slot.size);
		for (i = 0; i < n; i++)
			if (!s2trace_range(&recs[i], &lo, &hi) || (lo < best_hi && hi > best_lo)) {
				s2trace_line(out, &recs[i]);
				written++;
			}
		fprintf(out, "S2TRACE END %s\n", name);
		fflush(out);
	}
	free(recs);
	return written;
}

/* The second serial port as a raw byte sink (no \n -> \r\n). */
static inline FILE *s2trace_open_serial(const char *path)
{
	struct termios t;
	int fd = open(path, O_WRONLY | O_NOCTTY);

	if (fd < 0)
		return NULL;
	if (!tcgetattr(fd, &t)) {
		cfmakeraw(&t);
		cfsetospeed(&t, B115200);
		tcsetattr(fd, TCSANOW, &t);
	}
	return fdopen(fd, "w");
}

#endif
