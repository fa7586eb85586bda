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
#include <stdint.h>
#include <stdio.h>
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
	fprintf(out, "s2trace 1\n# recorded by s2test, phase %s\n", name);
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
