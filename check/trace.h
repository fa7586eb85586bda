/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Replaying a recording of the real kernel (`s2mmu check --trace FILE`,
 * docs/trace.md): the module's record of what the kernel did to a window
 * of a VM's host address space (kernel/trace.c) becomes host-model
 * operations and guest accesses on the checked world, cut into windows of
 * a few operations each; every window runs under the controlled scheduler
 * with the oracle on, its host operations on one thread and its accesses
 * on one thread per vCPU, re-interleaved within a bounded distance of the
 * recorded order.
 */
#ifndef S2_CHECK_TRACE_H
#define S2_CHECK_TRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "check/sched.h"

/* Read @path.  Return: 0, or -1 with the message (file:line: what) in
 * @err; nothing is selected then. */
int trace_load(const char *path, char *err, size_t errlen);
/* Replay parameters: @ops operations per window (2..32), operations
 * starting at most @reorder places ahead of the recorded order (0: in it). */
void trace_params(unsigned ops, unsigned reorder);
/* Number of windows of the loaded recording. */
unsigned trace_windows(void);
/* Make window @w the world every schedule runs from now on. */
void trace_select(unsigned w);
/* Select the window a name "trace-W" gives; false if @name is not one. */
bool trace_select_name(const char *name);
bool trace_selected(void);
const char *trace_name(void);
/* The path the recording was loaded from. */
const char *trace_file(void);
/* One schedule of the selected window. */
void trace_run(struct ck_sched_io *io);
/*
 * The recorded-order check: while counting, every replayed access counts
 * whether it ended as the recording says (done, or failed), summed over
 * the worker processes; @reorder is the distance to run with (returns
 * the one it replaces).  It measures how faithfully the host model plays
 * the recording, not the library.
 */
unsigned trace_count(bool on, unsigned reorder);
void trace_agreement(unsigned long *accesses, unsigned long *agree, unsigned *first_line);
/* The selected window: its set-up and operations, as text. */
void trace_describe(FILE *f);
/* What the recording holds and how it was turned into operations. */
void trace_summary(FILE *f);

#endif
