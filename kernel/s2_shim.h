/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Stand-in for the s2mmu library inside the module.
 *
 * The page-table engine (include/s2mmu/pgtable.h) and the coherence core
 * (include/s2mmu/mmu.h) are being written; until they land, this minimal
 * software stage 2 (an xarray from guest frame number to host pfn plus
 * permission and access bits) lets the rest of the module - the character
 * device, the notifier plumbing, the verifier, the user-space test and the
 * qemu pipeline - be built and proven against the real kernel.  Every call
 * that will become a library call goes through this interface and nothing
 * else in kernel/ touches stage-2 storage, so replacing s2_shim.c by calls
 * to s2_pgt_map / s2_pgt_unmap / s2_pgt_lookup / s2_pgt_test_clear_young
 * is local to that one file (docs/kernel.md, "Integration").
 *
 * Locking is the caller's (the module's mmu_lock), with the split the
 * engine will have: map / mkyoung / lookup under the lock held for read
 * (concurrent "shared walks"), unmap / zap under it held for write.
 */
#ifndef S2MMU_KERNEL_SHIM_H
#define S2MMU_KERNEL_SHIM_H

#include <linux/types.h>

struct s2_platform;
struct s2_shim;

struct s2_shim_pte {
	unsigned long pfn;
	bool writable;
	bool young;
};

/* TLB invalidation goes through the platform hooks, as in the engine. */
struct s2_shim *s2_shim_create(const struct s2_platform *plat, void *plat_ctx);
/* Context: no other shim call may run or start. */
void s2_shim_destroy(struct s2_shim *s);

/*
 * Reserve storage for @gfn so that s2_shim_map() under a spinning lock
 * need not allocate (the engine's memcache top-up).  May sleep.
 * Return: 0 or -ENOMEM.
 */
int s2_shim_prepare(struct s2_shim *s, u64 gfn);
void s2_shim_unprepare(struct s2_shim *s, u64 gfn);

/*
 * Install (or replace) the translation of @gfn.  Replacing a valid entry
 * with a different frame invalidates the TLB in between (break-before-
 * make).  Return: 0, or -EAGAIN when storage ran out (retry the fault).
 * Context: mmu_lock held for read or write.
 */
int s2_shim_map(struct s2_shim *s, u64 gfn, unsigned long pfn, bool writable);

/*
 * Remove every translation in [@gfn, @gfn+@nr) and invalidate the TLB for
 * the range before returning (the caller may return from an MMU notifier
 * right after, seed 004).  Return: entries removed.
 * Context: mmu_lock held for write.
 */
unsigned long s2_shim_unmap(struct s2_shim *s, u64 gfn, u64 nr);

/* Return: true with @out filled if @gfn is mapped.  Context: any. */
bool s2_shim_lookup(struct s2_shim *s, u64 gfn, struct s2_shim_pte *out);

/* Set the access flag of @gfn (hardware would on a TLB fill).
 * Context: mmu_lock held for read or write. */
void s2_shim_mkyoung(struct s2_shim *s, u64 gfn);

/*
 * Count young entries in [@gfn, @gfn+@nr), clearing the access flag when
 * @clear.  No TLB maintenance: flushing is the caller's choice
 * (clear_flush_young flushes, clear_young does not).
 * Context: mmu_lock held for write.
 */
unsigned long s2_shim_age(struct s2_shim *s, u64 gfn, u64 nr, bool clear);

/*
 * First mapped frame number >= *@gfn and <= @last, for walks (verify).
 * Return: true with *@gfn and @out set.  Context: any.
 */
bool s2_shim_next(struct s2_shim *s, u64 *gfn, u64 last, struct s2_shim_pte *out);

/* Valid entries now.  Context: any (approximate while mapping). */
unsigned long s2_shim_count(struct s2_shim *s);

#endif
