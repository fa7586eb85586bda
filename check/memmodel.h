/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The weak-memory mode of `s2mmu check` (--memory weak): per-thread store
 * buffers over the library's atomic accessors (include/s2mmu/compiler.h),
 * so that a relaxed or release store may become visible to other threads
 * late and out of order where the C11 model allows it (memmodel.c).
 */
#ifndef S2_CHECK_MEMMODEL_H
#define S2_CHECK_MEMMODEL_H

#include <stdbool.h>
#include <stdint.h>

/* Switch the model on for this process (before the first schedule). */
void mm_enable(void);
bool mm_enabled(void);
/* A new schedule: every buffer empty. */
void mm_reset(void);
/* At a scheduling point: maybe make one pending store visible (a
 * recorded decision of the schedule). */
void mm_point(void);
/* A lock was taken (an acquire that pairs with every release before
 * it): everything pending becomes visible. */
void mm_acquire(void);
/* The oracle reads the library's state as it is, not as a thread sees
 * it: between enter and exit the calling thread's loads see memory. */
void mm_oracle_enter(void);
void mm_oracle_exit(void);
/*
 * Publication: set by the world to say whether a value is a pointer into
 * an object the platform allocated in this schedule.  Such an object is
 * filled with plain stores, which the store buffers do not model; so the
 * model checks the rule instead of the reordering: a pointer to it is
 * stored with release and, outside a lock, loaded with acquire.
 */
extern bool (*mm_is_object)(uint64_t v);
/*
 * The same rule for table pages: set by the world to say whether @v, read
 * from @p, is a table descriptor pointing at a live table page.  A walker
 * that does not hold a lock for write (a shared walk) must load it with
 * acquire: the child's entries were written before it was published.
 */
extern bool (*mm_is_table_ptr)(const void *p, uint64_t v);
/* Whether the calling thread is inside an RCU read section: a pointer to
 * an object that RCU frees (a slot array) may only be loaded inside one,
 * or under a lock that excludes its replacement. */
extern bool (*mm_in_read_section)(void);

#endif
