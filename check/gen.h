/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Generated worlds of `s2mmu check --generate N` (issue 13, item 3).
 *
 * A world is a checked-world configuration (struct w_cfg, the stage-2
 * format and flags) plus a few set-up operations and 2-4 threads, each a
 * short list of operations with small integer arguments, all drawn from one
 * 64-bit world seed.  Each world enables a random subset of the operation
 * kinds (swarm testing), so that rare combinations are not drowned by the
 * common ones, and most worlds have a theme, one feature of the library
 * (blocks, PFNMAP, aging, caches, the dirty log, range zaps) that its
 * configuration, kinds, set-up and pages are drawn around.  The generator
 * draws from everything the library and the models can do and knows
 * nothing of the bug catalogue.
 *
 * A world is named "gen-SEED-MASK-DROP" (hex): SEED draws it, MASK keeps
 * the operations whose bit is set (numbered set-up first, then thread by
 * thread), DROP lists configuration features turned off (GEN_DROP_*).
 * Shrinking a world clears MASK bits and sets DROP bits; the name alone
 * rebuilds the shrunk world, so a token "NAME:BUG:CHOICES" replays it.
 */
#ifndef S2_CHECK_GEN_H
#define S2_CHECK_GEN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "check/sched.h"

#define GEN_MAX_THREADS	4
#define GEN_MAX_OPS	5		/* per thread */
#define GEN_MAX_SETUP	4
#define GEN_ALL		0xffffffffu	/* every operation kept */

/* Configuration features a shrink may turn off (the DROP field). */
enum {
	GEN_DROP_NO_FWB = 1u << 0,
	GEN_DROP_HW_AF = 1u << 1,
	GEN_DROP_HW_DBM = 1u << 2,
	GEN_DROP_COUNTER = 1u << 3,	/* S2_VM_COUNTER_TRACKING */
	GEN_DROP_EAGER = 1u << 4,	/* S2_VM_EAGER_SPLIT */
	GEN_DROP_POPULATE = 1u << 5,
	GEN_DROP_PFNMAP = 1u << 6,	/* no PFNMAP slot 1 at creation */
	GEN_DROP_LOG = 1u << 7,		/* slot 0 created without dirty logging */
	GEN_DROP_VCPU1 = 1u << 8,	/* one vCPU: vCPU 1's operations do nothing */
	GEN_NR_DROPS = 9,
};
/*
 * Not drops but additions, carried in the same field so that the token
 * names them.  GEN_LPA2: the arm64 world has a 52-bit IPA and output
 * (issue 17 item 2): FEAT_LPA2 at 4K (walked from level -1) and 16K,
 * FEAT_LPA at 64K.  Bits 10-11, the arm64 world's granule: 0 4K, 1 16K,
 * 2 64K (its host model's page size too).  Tokens from before them never
 * have the bits, so their worlds are what they were (4K).  On an EPT
 * world they are dropped.
 */
#define GEN_LPA2	(1u << 9)
#define GEN_GRAN_SHIFT	10
#define GEN_GRAN_MASK	(3u << GEN_GRAN_SHIFT)
/* The GEN_GRAN_MASK bits of granule @shift (12, 14, 16). */
#define GEN_GRAN(shift)	((((shift) - 12) / 2) << GEN_GRAN_SHIFT)

/*
 * The granule and 52-bit bits `--generate` gives world @seed when no
 * --format chose them: a quarter of the worlds at 16K, a quarter at 64K,
 * one in four 52-bit, each apart from the others and from the world's
 * hardware dirty-logging draw.  A function of the seed, so that --shard
 * and reruns agree.
 */
uint32_t gen_pick_config(uint64_t seed);

/*
 * Not a drop: bits 12-13 of the DROP field carry the world's dirty-logging
 * mode (W_DIRTY_*: bitmap, manual protect, initially set, rings), drawn
 * for a campaign's world by gen_world_drop() from its seed apart from the
 * world's other draws, so a name without them is the bitmap world it
 * always was.  Shrinking keeps them.
 */
#define GEN_MODE_SHIFT	12
#define GEN_MODE_MASK	(3u << GEN_MODE_SHIFT)
/* The DROP field a campaign starts world @seed with: its dirty mode. */
uint32_t gen_world_drop(uint64_t seed);

/* Make world @seed, with the operations of @mask and the features of
 * @drop removed, the current one: every schedule run from now on (in
 * this process and the workers it forks) runs it. */
void gen_select(uint64_t seed, uint32_t mask, uint32_t drop);
/* Select the world a name "gen-SEED-MASK-DROP" gives; false if @name is
 * not one (nothing changes then). */
bool gen_select_name(const char *name);
/* Whether a generated world is selected. */
bool gen_selected(void);
/* The name of the current world (a static buffer). */
const char *gen_name(void);
/* The seed of world @index of a campaign started with @seed. */
uint64_t gen_world_seed(uint64_t seed, unsigned index);
/* One schedule of the current world: create it, run its set-up, its
 * threads under the scheduler with @io, and destroy it. */
void gen_run(struct ck_sched_io *io);
/* Print the current world: configuration, set-up, threads' operations. */
void gen_describe(FILE *f);

/*
 * World shrinking, one candidate at a time: candidate @u (0, 1, ... until
 * it returns false) of the world (@mask, @drop) is a smaller world in
 * (*@m, *@d): a whole thread removed, one operation removed, or one
 * feature dropped.  Return: false when @u is past the last candidate;
 * true with *@m == @mask and *@d == @drop when this one changes nothing.
 */
bool gen_shrink_candidate(unsigned u, uint32_t mask, uint32_t drop, uint32_t *m, uint32_t *d);
uint64_t gen_seed(void);
uint32_t gen_mask(void);
uint32_t gen_drop(void);

#endif
