/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers both guest test programs (s2test.c, s2mirror.c) use: each is a
 * static binary of its own, so they are inline here rather than linked.
 */
#ifndef S2UTIL_H
#define S2UTIL_H

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Seconds on the monotonic clock. */
static inline double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* xorshift64*: per-thread, reproducible, no libc locking */
static inline uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

/* A sysfs/procfs knob; a kernel without it is not an error. */
static inline void write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0)
		return;
	if (write(fd, val, strlen(val)) < 0) { /* optional knobs */ }
	close(fd);
}

/* A number read from a sysfs/procfs file, -1 if it cannot be read. */
static inline long read_long(const char *path)
{
	char buf[64] = "";
	int fd = open(path, O_RDONLY);
	long v = -1;

	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf) - 1) > 0)
		v = strtol(buf, NULL, 10);
	close(fd);
	return v;
}

#endif
