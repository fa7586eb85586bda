// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Generated worlds (gen.h): a configuration, set-up operations and 2-4
 * threads of operations drawn from one seed, run by the same scheduler
 * and judged by the same oracle as the hand-written scenarios.
 *
 * Every operation is allowed in every state: one that makes no sense now
 * (a move of a deleted slot, a collapse of a 4K VMA, a fault after
 * release) returns its error and the thread goes on, so shrinking may
 * drop any operation without making the rest invalid.  Configurations
 * are drawn only among those w_create() accepts (it aborts otherwise):
 * the VMA ends below the PFNMAP range (W_PFNMAP_HVA), slot 0 fits in
 * the VMA and below the PFNMAP slot's GPA, and EPT worlds carry no
 * arm64-only table flags.
 *
 * Sizes are in the world's granule: a page PG, a block BLK (2M at 4K,
 * 32M at 16K, 512M at 64K), so that a seed draws the same world, page
 * for page and block for block, at every granule; the granule is chosen
 * (gen_select) before the world is drawn.
 */
#include <stdlib.h>
#include <string.h>

#include "check/gen.h"
#include "check/world.h"
#include "tools/formats.h"

#define PG	W_PG
#define BLK	W_BLK

/*
 * The guest-physical layout every world shares: slot 0 starts at 0, a
 * page or a block (its size is at most a block and 4 pages); a move
 * takes it to GPA_ALT or to GPA_ALT + a page (where no block can be
 * congruent with its HVA); slot 2 maps the part of the VMA that slot 0
 * does not; nothing ever maps GPA_HOLE; world.c puts the PFNMAP slot 1
 * at 8 blocks (16M at 4K).
 */
#define GPA_ALT		(3 * BLK)
#define GPA_SLOT2	(5 * BLK)
#define GPA_HOLE	(7 * BLK)
#define GPA_PFNMAP	W_PFNMAP_GPA
#define HVA_PFNMAP	W_PFNMAP_HVA	/* world.c's PFNMAP VMA: 16 pages */
#define PFNMAP_PAGES	16

enum gen_kind {
	/* a vCPU: guest accesses through its TLB, and bare faults */
	G_READ, G_WRITE, G_EXEC, G_FAULT,
	/* the host's primary MMU (the model fires the notifiers) */
	G_MUNMAP, G_DONTNEED, G_MPROTECT_RO, G_MPROTECT_RW, G_MMAP, G_COLLAPSE,
	G_SPLIT, G_MIGRATE, G_RECLAIM, G_KSM, G_FORK, G_OOM_REAP, G_LEVEL, G_HOST_RW,
	G_CFY, G_CY, G_TY,
	/* the VMM: memslots and the dirty log */
	G_SLOT_CREATE, G_SLOT_DELETE, G_SLOT_MOVE, G_SLOT_RW, G_PREFAULT,
	G_LOG_ON, G_LOG_OFF, G_HARVEST,
	/* release: exit_mmap, or the VM's notifier unregistered */
	G_EXIT, G_DESTROY,
	G_NR_KINDS
};

enum gen_class { C_VCPU = 1, C_HOST = 2, C_VMM = 4, C_RELEASE = 8 };

static const struct {
	const char *name;
	unsigned cls;
} kinds[G_NR_KINDS] = {
	[G_READ] = { "read", C_VCPU },
	[G_WRITE] = { "write", C_VCPU },
	[G_EXEC] = { "exec", C_VCPU },
	[G_FAULT] = { "fault", C_VCPU },
	[G_MUNMAP] = { "munmap", C_HOST },
	[G_DONTNEED] = { "dontneed", C_HOST },
	[G_MPROTECT_RO] = { "mprotect ro", C_HOST },
	[G_MPROTECT_RW] = { "mprotect rw", C_HOST },
	[G_MMAP] = { "mmap", C_HOST },
	[G_COLLAPSE] = { "collapse", C_HOST },
	[G_SPLIT] = { "thp split", C_HOST },
	[G_MIGRATE] = { "migrate", C_HOST },
	[G_RECLAIM] = { "reclaim", C_HOST },
	[G_KSM] = { "ksm merge", C_HOST },
	[G_FORK] = { "fork+child exit", C_HOST },
	[G_OOM_REAP] = { "oom reap", C_HOST },
	[G_LEVEL] = { "host level", C_HOST },
	[G_HOST_RW] = { "host access", C_HOST },
	[G_CFY] = { "clear_flush_young", C_HOST },
	[G_CY] = { "clear_young", C_HOST },
	[G_TY] = { "test_young", C_HOST },
	[G_SLOT_CREATE] = { "create slot", C_VMM },
	[G_SLOT_DELETE] = { "delete slot", C_VMM },
	[G_SLOT_MOVE] = { "move slot0", C_VMM },
	[G_SLOT_RW] = { "slot0 writable", C_VMM },
	[G_PREFAULT] = { "prefault pfnmap", C_VMM },
	[G_LOG_ON] = { "dirty log on", C_VMM },
	[G_LOG_OFF] = { "dirty log off", C_VMM },
	[G_HARVEST] = { "harvest", C_VMM },
	[G_EXIT] = { "exit_mmap", C_RELEASE },
	[G_DESTROY] = { "vm destroy", C_RELEASE },
};

struct gen_op {
	uint8_t kind;
	uint8_t a, b;		/* indices into the world's tables, or a variant */
	uint8_t v;		/* vCPU of a vCPU operation */
};

struct gen_thr {
	char name[16];
	int vcpu;		/* the vCPU it drives, -1: none */
	bool vmm;		/* the one thread that changes memslots */
	unsigned n, first;	/* operations; number of op[0] in the world */
	struct gen_op op[GEN_MAX_OPS];
};

/*
 * A world's theme: which part of the library and the models it is dense
 * in.  Swarm testing by feature: a theme makes a configuration, the
 * operation kinds, the set-up and the pages that use one feature more
 * likely together (a feature met once, thinly, among all the others is
 * rarely met in a race).  T_ANY draws as if there were no themes.  The
 * themes are the library's features, not its bugs: blocks and tables
 * (THP, logging history, two vCPUs faulting one block), PFNMAP slots and
 * their prefault, aging, caches without FWB, the dirty log, zaps of a
 * few pages that vCPUs hold in their TLBs.
 */
enum gen_theme { T_ANY, T_BLOCKS, T_PFNMAP, T_AGING, T_CACHES, T_DIRTY, T_RANGES, T_NR };

static const char *const theme_name[T_NR] = {
	[T_ANY] = "any", [T_BLOCKS] = "blocks", [T_PFNMAP] = "pfnmap", [T_AGING] = "aging",
	[T_CACHES] = "caches", [T_DIRTY] = "dirty log", [T_RANGES] = "ranges",
};

/* The selected world.  Drawn in the driver, inherited by the workers it
 * forks, never written while a schedule runs. */
static struct {
	bool on;
	uint64_t seed;
	uint32_t mask, drop;
	int format;
	enum gen_theme theme;
	/* slot 0 logs in hardware mode (S2_MEM_DIRTY_HW) whenever it logs:
	 * from a hash of the seed, not a draw, so the worlds of every seed
	 * (and the corpus's tokens) keep their other draws */
	bool hw;
	struct w_cfg cfg0;	/* as drawn */
	struct w_cfg cfg;	/* with the drops applied */
	uint64_t kinds;		/* swarm: the kinds this world may use */
	unsigned nsetup, nthr, nops;
	struct gen_op setup[GEN_MAX_SETUP];
	struct gen_thr thr[GEN_MAX_THREADS];
	/* argument tables: an operation's a/b index these */
	uint64_t gpa[16];
	unsigned ngpa, nhome;	/* gpa[0..nhome): slot 0's pages at its GPA */
	uint8_t home_off[16];	/* off[home_off[i]] is gpa[i]'s HVA (i < nhome) */
	uint8_t hot;		/* the page (gpa index) a themed world favours */
	unsigned pfn0, npfn;	/* gpa[pfn0..+npfn): the PFNMAP slot's */
	uint64_t off[12];	/* HVA offsets from W_HVA */
	unsigned noff, pfo0, npfo;	/* off[pfo0..+npfo): the PFNMAP VMA's */
	uint64_t len[7];	/* lengths; len[0..3] are at most 4 pages */
	unsigned nlen;
	uint64_t s2_off, s2_len;	/* slot 2's HVA range; 0: no slot 2 */
	uint64_t alt;		/* the GPA a move takes slot 0 to */
	char name[64];
} G;

/*
 * The VMM's view of slot 0 and slot 2 during one schedule.  Only the VMM
 * thread (and the single-threaded set-up) changes memslots, so this is
 * exact: it follows every call's return.
 */
static struct {
	bool s0, s2;
	uint64_t s0_gpa;
	unsigned s0_flags;
} vs;

/* ------------------------------------------------------------ drawing */

static uint64_t rs;

static uint64_t rnd(void)
{
	uint64_t z = (rs += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned pick(unsigned n)
{
	return n ? (unsigned)(rnd() % n) : 0;
}

static bool coin(unsigned pct)
{
	return pick(100) < pct;
}

uint64_t gen_world_seed(uint64_t seed, unsigned index)
{
	uint64_t save = rs, r;

	rs = seed * 0x2545f4914f6cdd1dULL + index;
	r = rnd();
	rs = save;
	return r;
}

static void draw_cfg(void)
{
	struct w_cfg *c = &G.cfg0;
	enum gen_theme th = G.theme;
	unsigned r;

	/* layouts 0..5, the 4-page and the THP ones twice as likely: the
	 * smallest world, and the one where blocks and tables meet; blocks
	 * want a THP (a hugetlb page: blocks only), ranges a few pages */
	static const uint8_t layout[8] = { 0, 0, 1, 2, 2, 3, 4, 5 };
	static const uint8_t blocks[8] = { 2, 2, 2, 2, 2, 4, 4, 5 };
	static const uint8_t ranges[8] = { 0, 0, 0, 1, 3, 3, 3, 4 };
	static const uint8_t small[8] = { 0, 0, 0, 1, 1, 2, 3, 4 };
	const uint8_t *lt = th == T_BLOCKS ? blocks : th == T_RANGES ? ranges :
			    th == T_ANY ? layout : small;

	memset(c, 0, sizeof(*c));
	c->vma_prot = coin(th == T_ANY ? 10 : 4) ? HOST_PROT_READ :
		      HOST_PROT_READ | HOST_PROT_WRITE;
	switch (lt[pick(8)]) {
	case 0:		/* four 4K pages, all in slot 0 */
		c->kind = HOST_VMA_ANON;
		c->vma_len = c->slot_size = 4 * PG;
		break;
	case 1:		/* eight pages: slot 0 the first four, slot 2 the rest */
		c->kind = HOST_VMA_ANON;
		c->vma_len = 8 * PG;
		c->slot_size = 4 * PG;
		G.s2_off = 4 * PG;
		G.s2_len = 4 * PG;
		break;
	case 2:		/* one THP; sometimes a slot of half of it */
		c->kind = HOST_VMA_THP;
		c->vma_len = c->slot_size = BLK;
		if (coin(th == T_BLOCKS ? 10 : 25)) {
			c->slot_size = BLK / 2;
			c->slot_hva_off = coin(30) ? BLK / 2 : 0;
		}
		break;
	case 3:		/* two last-level tables' worth: 2M and 4 pages */
		c->kind = HOST_VMA_ANON;
		c->vma_len = c->slot_size = BLK + 4 * PG;
		break;
	case 4:		/* a THP and 4 pages: slot 0 the THP, slot 2 the rest */
		c->kind = HOST_VMA_THP;
		c->vma_len = BLK + 4 * PG;
		c->slot_size = BLK;
		G.s2_off = BLK;
		G.s2_len = 4 * PG;
		break;
	default:	/* one 2M hugetlb page */
		c->kind = HOST_VMA_HUGETLB_2M;
		c->vma_len = c->slot_size = BLK;
		break;
	}
	r = pick(10);
	if (th == T_BLOCKS)	/* a GPA a block can be congruent at */
		r = pick(8);
	c->slot_gpa = r < 6 ? 0 : r < 8 ? BLK : PG;
	r = pick(10);
	if (th == T_DIRTY)
		r = r < 2 ? 0 : 6;
	else if (th == T_AGING)		/* mostly not logging: turning it on is an operation */
		r = r < 9 ? 0 : 6;
	else if (r == 9 && (th == T_BLOCKS || th == T_CACHES))
		r = 0;		/* themes that write: no READONLY slot */
	c->slot_flags = r < 6 ? 0 : r < 9 ? S2_MEM_DIRTY_LOG : S2_MEM_READONLY;
	G.format = th == T_CACHES ? S2_FMT_ARM64 : coin(30) ? S2_FMT_EPT : S2_FMT_ARM64;
	if (G.format == S2_FMT_ARM64) {
		if (th == T_CACHES || coin(25))
			c->pgt_flags |= S2_PGT_NO_FWB;
		if (coin(th == T_AGING ? 75 : 25))
			c->pgt_flags |= S2_PGT_HW_AF;
		if (coin(th == T_DIRTY || th == T_AGING ? 40 : 25))
			c->pgt_flags |= S2_PGT_HW_DBM;
	}
	if (coin(25))
		c->vm_flags |= S2_VM_COUNTER_TRACKING;
	if (coin(th == T_BLOCKS ? 15 : 30))
		c->vm_flags |= S2_VM_EAGER_SPLIT;
	c->pfnmap_slot = th == T_PFNMAP || coin(th == T_ANY ? 35 : 20);
	c->pfnmap_mem = c->pfnmap_slot && coin(th == T_PFNMAP ? 60 : 50);
	c->populate = coin(70);
	G.alt = coin(70) ? GPA_ALT : GPA_ALT + PG;
}

static void add_u64(uint64_t *t, unsigned *n, unsigned max, uint64_t v)
{
	for (unsigned i = 0; i < *n; i++)
		if (t[i] == v)
			return;
	if (*n < max)
		t[(*n)++] = v;
}

/* The pages and lengths operations name: a few at the start of the VMA,
 * the last page, the second 2M, slot 2's and the PFNMAP range's. */
static void draw_tables(void)
{
	const struct w_cfg *c = &G.cfg0;
	uint64_t npg = c->vma_len / PG, cand[10];
	unsigned nc = 0;

	G.noff = G.ngpa = G.nlen = 0;
	cand[nc++] = c->slot_hva_off;
	cand[nc++] = c->slot_hva_off + PG;
	cand[nc++] = 0;
	cand[nc++] = PG;
	cand[nc++] = 2 * PG;
	cand[nc++] = 3 * PG;
	cand[nc++] = (npg - 1) * PG;
	if (npg >= W_BLK_PAGES) {	/* pages further into the block */
		cand[nc++] = 5 * PG;
		cand[nc++] = 7 * PG;
	}
	if (npg > W_BLK_PAGES)
		cand[nc++] = BLK;
	for (unsigned i = 0; i < nc; i++)
		add_u64(G.off, &G.noff, 12, cand[i]);
	if (c->pfnmap_slot) {
		G.pfo0 = G.noff;
		add_u64(G.off, &G.noff, 12, HVA_PFNMAP);
		add_u64(G.off, &G.noff, 12, HVA_PFNMAP + PG);
		G.npfo = G.noff - G.pfo0;
	}
	/* slot 0's pages at their GPA come first: the favourite targets */
	for (unsigned i = 0; i < G.noff; i++)
		if (G.off[i] >= c->slot_hva_off && G.off[i] < c->slot_hva_off + c->slot_size) {
			G.home_off[G.ngpa] = (uint8_t)i;
			add_u64(G.gpa, &G.ngpa, 16, c->slot_gpa + G.off[i] - c->slot_hva_off);
		}
	G.nhome = G.ngpa;
	add_u64(G.gpa, &G.ngpa, 16, G.alt);
	add_u64(G.gpa, &G.ngpa, 16, G.alt + PG);
	if (G.s2_len) {
		add_u64(G.gpa, &G.ngpa, 16, GPA_SLOT2);
		add_u64(G.gpa, &G.ngpa, 16, GPA_SLOT2 + PG);
	}
	if (c->pfnmap_slot) {
		G.pfn0 = G.ngpa;
		add_u64(G.gpa, &G.ngpa, 16, GPA_PFNMAP + PG);
		add_u64(G.gpa, &G.ngpa, 16, GPA_PFNMAP);
		G.npfn = G.ngpa - G.pfn0;
	}
	add_u64(G.gpa, &G.ngpa, 16, GPA_HOLE);
	G.len[G.nlen++] = PG;
	G.len[G.nlen++] = 2 * PG;
	G.len[G.nlen++] = 3 * PG;	/* odd: a range TLBI's last chunk */
	G.len[G.nlen++] = 4 * PG;
	G.len[G.nlen++] = c->vma_len;
	if (npg >= W_BLK_PAGES) {
		G.len[G.nlen++] = BLK;
		if (npg > W_BLK_PAGES)
			G.len[G.nlen++] = BLK + 4 * PG;
	}
}

static int pick_kind(unsigned cls);

/* The kinds each theme is made of: on in 75% of its worlds (the first
 * ones, its core, always), every other kind in 20%. */
static const struct {
	uint64_t core, more;
} theme_kinds[T_NR] = {
#define B(k) (1ULL << (k))
	[T_BLOCKS] = { B(G_READ) | B(G_FAULT),
		       B(G_WRITE) | B(G_COLLAPSE) | B(G_SPLIT) | B(G_DONTNEED) | B(G_LEVEL) |
		       B(G_LOG_ON) | B(G_LOG_OFF) | B(G_MUNMAP) },
	[T_PFNMAP] = { B(G_READ) | B(G_PREFAULT),
		       B(G_WRITE) | B(G_FAULT) | B(G_MUNMAP) | B(G_MPROTECT_RO) | B(G_MMAP) |
		       B(G_SLOT_DELETE) },
	[T_AGING] = { B(G_READ) | B(G_CY) | B(G_CFY) | B(G_TY),
		      B(G_WRITE) | B(G_LOG_ON) | B(G_LOG_OFF) | B(G_DONTNEED) | B(G_HARVEST) },
	[T_CACHES] = { B(G_WRITE),
		       B(G_READ) | B(G_EXEC) | B(G_DONTNEED) | B(G_MUNMAP) | B(G_MIGRATE) |
		       B(G_RECLAIM) | B(G_OOM_REAP) | B(G_MPROTECT_RO) | B(G_KSM) },
	[T_DIRTY] = { B(G_WRITE) | B(G_HARVEST),
		      B(G_READ) | B(G_LOG_ON) | B(G_LOG_OFF) | B(G_MPROTECT_RO) | B(G_DONTNEED) |
		      B(G_SLOT_MOVE) },
	[T_RANGES] = { B(G_READ) | B(G_DONTNEED),
		       B(G_WRITE) | B(G_MUNMAP) | B(G_MPROTECT_RO) | B(G_MIGRATE) | B(G_RECLAIM) },
#undef B
};

/* Swarm testing: each kind on with probability 35% (about ten of them:
 * worlds dense in a few interactions beat worlds thin in all), or as the
 * world's theme says, then repaired so the world has a vCPU kind and a
 * kind for the other threads, and nothing its configuration cannot do at
 * all. */
static void draw_kinds(void)
{
	const struct w_cfg *c = &G.cfg0;
	uint64_t k = 0;

	for (unsigned i = 0; i < G_NR_KINDS; i++) {
		uint64_t b = 1ULL << i;
		unsigned pct = G.theme == T_ANY ? 35 : (theme_kinds[G.theme].core & b) ? 100 :
			       (theme_kinds[G.theme].more & b) ? 75 : 20;

		if (coin(pct))
			k |= b;
	}
	if (c->kind != HOST_VMA_THP)
		k &= ~(1ULL << G_COLLAPSE | 1ULL << G_SPLIT);
	if (!c->pfnmap_slot)
		k &= ~(1ULL << G_PREFAULT);
	G.kinds = k;
	if (pick_kind(C_VCPU) < 0)
		G.kinds |= 1ULL << (coin(50) ? G_READ : G_WRITE);
	if (pick_kind(C_HOST | C_VMM) < 0)
		G.kinds |= 1ULL << G_DONTNEED;
}

/* A random kind of the classes @cls that the world enables, or -1. */
static int pick_kind(unsigned cls)
{
	int cand[G_NR_KINDS], n = 0;

	for (int i = 0; i < G_NR_KINDS; i++)
		if ((kinds[i].cls & cls) && (G.kinds & (1ULL << i)))
			cand[n++] = i;
	return n ? cand[pick((unsigned)n)] : -1;
}

/* A GPA (index) for a vCPU: slot 0's pages mostly; the PFNMAP slot's
 * often when there is one; in a themed world, the pages its theme is
 * about (the PFNMAP slot's; a block's or the first pages'; one hot
 * page, so that vCPUs and the host meet on it). */
static uint8_t pick_gpa(void)
{
	enum gen_theme th = G.theme;

	if (G.npfn && coin(th == T_PFNMAP ? 70 : 25))
		return (uint8_t)(G.pfn0 + pick(G.npfn));
	if ((th == T_AGING || th == T_CACHES || th == T_DIRTY) && coin(60))
		return G.hot;
	if (th == T_BLOCKS || th == T_RANGES)
		return (uint8_t)(coin(95) ? pick(G.nhome) : pick(G.ngpa));
	return (uint8_t)(coin(75) ? pick(G.nhome) : pick(G.ngpa));
}

/* An HVA offset (index) and a length (index) for a host operation, the
 * same way: the PFNMAP VMA's often when there is one, or as the theme
 * says (one hot page; a few pages from the first; a page of the block). */
static void pick_range(struct gen_op *o, unsigned nlen)
{
	enum gen_theme th = G.theme;

	o->a = (uint8_t)(G.npfo && coin(th == T_PFNMAP ? 70 : 25) ? G.pfo0 + pick(G.npfo) :
			 pick(G.noff));
	o->b = (uint8_t)pick(nlen);
	switch (th) {
	case T_AGING: case T_CACHES: case T_DIRTY:
		if (coin(60)) {
			o->a = G.home_off[G.hot];
			o->b = (uint8_t)(coin(60) ? 0 : pick(nlen));
		}
		break;
	case T_RANGES:
		if (nlen > 5 && coin(35)) {	/* both tables: a zap in chunks */
			o->a = G.home_off[0];
			o->b = (uint8_t)(nlen - 1);
		} else if (coin(70)) {
			o->a = G.home_off[pick(G.nhome < 2 ? G.nhome : 2)];
			o->b = (uint8_t)(coin(60) ? 2 : 3);	/* 3 or 4 pages */
		}
		break;
	case T_BLOCKS:
		if (coin(50)) {
			o->a = G.home_off[pick(G.nhome)];
			o->b = (uint8_t)(coin(50) ? 0 : pick(nlen));
		}
		break;
	default:
		break;
	}
}

static void draw_args(struct gen_op *o)
{
	switch (o->kind) {
	case G_READ: case G_WRITE: case G_EXEC: case G_FAULT:
		o->a = pick_gpa();
		o->b = (uint8_t)pick(3);		/* G_FAULT: read, write, exec */
		break;
	case G_RECLAIM: case G_KSM: case G_CFY: case G_CY: case G_TY:
		/* page by page: a few pages, not 512 of them */
		pick_range(o, 4);
		break;
	case G_SLOT_CREATE:
		o->a = G.s2_len && coin(40) ? 2 : 0;
		o->b = (uint8_t)pick(o->a ? 2 : 3);	/* none, READONLY, DIRTY_LOG */
		break;
	case G_SLOT_DELETE:
		o->a = (uint8_t)pick(3);
		if ((o->a == 1 && !G.cfg0.pfnmap_slot) || (o->a == 2 && !G.s2_len))
			o->a = 0;
		break;
	case G_SLOT_MOVE:
		o->a = (uint8_t)pick(2);		/* home, G.alt */
		break;
	default:
		pick_range(o, G.nlen);
		o->v = (uint8_t)pick(2);		/* G_HOST_RW: read, write */
		break;
	}
}

/*
 * Operation @i of thread @t.  An aging world's host threads age the way
 * reclaim does, in passes: clear_young, then clear_flush_young, then
 * test_young of the same range, more often than not.
 */
static void draw_op(struct gen_thr *t, unsigned i)
{
	struct gen_op *o = &t->op[i];
	unsigned other = C_HOST | (t->vmm ? C_VMM : 0);
	bool focus = G.theme == T_BLOCKS || G.theme == T_PFNMAP || G.theme == T_RANGES;
	int k = -1;

	memset(o, 0, sizeof(*o));
	if (G.theme == T_AGING && i > 0 && coin(60) &&
	    (t->op[i - 1].kind == G_CY || t->op[i - 1].kind == G_CFY)) {
		*o = t->op[i - 1];
		o->kind = t->op[i - 1].kind == G_CY ? G_CFY : G_TY;
		return;
	}
	if (t->vcpu >= 0 && (pick_kind(other) < 0 || coin(focus && !t->vmm ? 80 : 65)))
		k = pick_kind(C_VCPU);
	if (k < 0 && t->vmm && coin(focus ? 70 : 50))
		k = pick_kind(C_VMM);
	if (k < 0)
		k = pick_kind(C_HOST);
	if (k < 0)
		k = pick_kind(other);
	if (k < 0)
		k = t->vcpu >= 0 ? G_READ : G_DONTNEED;
	o->kind = (uint8_t)k;
	draw_args(o);
	if (kinds[k].cls & C_VCPU)
		o->v = (uint8_t)t->vcpu;
	/* a ranges world's vCPUs stream over the first pages, in order */
	if (G.theme == T_RANGES && (kinds[k].cls & C_VCPU) && i > 0 &&
	    (kinds[t->op[i - 1].kind].cls & C_VCPU) && coin(70))
		o->a = (uint8_t)((t->op[i - 1].a + 1u) % (G.nhome < 4 ? G.nhome : 4));
}

static struct gen_op *setup_op(unsigned kind, unsigned nv)
{
	static struct gen_op spare;	/* past GEN_MAX_SETUP: drawn, never run */
	struct gen_op *o = G.nsetup < GEN_MAX_SETUP ? &G.setup[G.nsetup++] : &spare;

	memset(o, 0, sizeof(*o));
	o->kind = (uint8_t)kind;
	draw_args(o);
	if (o->kind == G_READ || o->kind == G_WRITE)
		o->v = (uint8_t)pick(nv);
	o->b = o->kind == G_DONTNEED ? 0 : o->b;	/* one page */
	return o;
}

/*
 * Set-up, single-threaded before the threads start: translations already
 * in TLBs, a THP already split, logging on, or over (pages mapped as
 * pages where the host has a block), a page zapped.  Operations drawn
 * one by one, or, in a themed world, a short history: the first pages
 * touched in order (translations in TLBs, writable ones where the theme
 * writes); a few pages written while logging, then logging off; a THP
 * split, then a page read.
 */
static void draw_setup(unsigned nv)
{
	enum gen_theme th = G.theme;
	unsigned r = pick(100), n, v;
	bool wr;

	G.nsetup = 0;
	if (th == T_ANY || r < 15) {
		n = coin(75) ? 1 + pick(GEN_MAX_SETUP) : 0;
		for (unsigned i = 0; i < n; i++) {
			unsigned q = pick(10);

			setup_op(q < 6 ? (coin(50) ? G_READ : G_WRITE) :
				 q == 6 ? (G.cfg0.kind == HOST_VMA_THP ? G_SPLIT : G_READ) :
				 q == 7 ? G_LOG_ON : q == 8 ? G_LOG_OFF : G_DONTNEED, nv);
		}
		return;
	}
	if (r < 25)
		return;
	if (th == T_BLOCKS || (th == T_DIRTY && r < 45)) {
		/* pages written while logging, then logging off */
		if (!(G.cfg0.slot_flags & S2_MEM_DIRTY_LOG) || coin(20))
			setup_op(G_LOG_ON, nv);
		n = 1 + pick(2);
		for (unsigned i = 0; i < n && i < G.nhome; i++)
			setup_op(G_WRITE, nv)->a = (uint8_t)i;
		if (th == T_BLOCKS && G.cfg0.kind == HOST_VMA_THP && r >= 85) {
			G.nsetup = 0;		/* or a THP split, then a read */
			setup_op(G_SPLIT, nv)->a = G.home_off[0];
			setup_op(G_READ, nv)->a = (uint8_t)pick(G.nhome);
			return;
		}
		setup_op(G_LOG_OFF, nv);
		return;
	}
	/* the first pages touched in order, by one vCPU */
	wr = th == T_CACHES || th == T_DIRTY;
	n = 1 + pick(GEN_MAX_SETUP);
	v = pick(nv);
	if (th == T_RANGES)
		n = n < 3 ? 4 : n;
	for (unsigned i = 0; i < n; i++) {
		struct gen_op *o = setup_op(coin(wr ? 70 : 25) ? G_WRITE : G_READ, nv);

		o->v = (uint8_t)v;
		if (th == T_PFNMAP && G.npfn)
			o->a = (uint8_t)(G.pfn0 + i % G.npfn);
		else if (th != T_RANGES && i == 0)
			o->a = G.hot;
		else
			o->a = (uint8_t)(i < G.nhome ? i : pick(G.nhome));
	}
	/* two tables: the last page touched is the first of the next one */
	for (unsigned i = 0; th == T_RANGES && i < G.nhome; i++)
		if (G.off[G.home_off[i]] == BLK)
			G.setup[G.nsetup - 1].a = (uint8_t)i;
}

static void draw_world(uint64_t seed)
{
	/* a world in four draws as if there were no themes; the themes of
	 * the longest histories (blocks, PFNMAP) are the likeliest */
	static const uint8_t themes[24] = {
		T_ANY, T_ANY, T_ANY, T_ANY, T_ANY, T_ANY,
		T_BLOCKS, T_BLOCKS, T_BLOCKS, T_BLOCKS, T_BLOCKS,
		T_PFNMAP, T_PFNMAP, T_PFNMAP, T_PFNMAP, T_PFNMAP,
		T_AGING, T_AGING, T_CACHES, T_CACHES, T_DIRTY, T_DIRTY, T_RANGES, T_RANGES,
	};
	unsigned nv, nops = 0;

	memset(&G, 0, sizeof(G));
	rs = seed;
	G.seed = seed;
	G.theme = (enum gen_theme)themes[pick(24)];
	draw_cfg();
	draw_tables();
	G.hot = (uint8_t)pick(G.nhome);
	draw_kinds();
	G.nthr = 2 + pick(GEN_MAX_THREADS - 1);
	if (G.theme == T_BLOCKS || G.theme == T_PFNMAP)
		nv = coin(85) ? 2 : 1;
	else
		nv = coin(G.nthr >= 3 ? 65 : 25) ? 2 : 1;
	G.cfg0.nr_vcpus = nv;
	draw_setup(nv);
	nops = G.nsetup;
	for (unsigned t = 0; t < G.nthr; t++) {
		struct gen_thr *th = &G.thr[t];

		th->vcpu = t < nv ? (int)t : -1;
		th->vmm = t == G.nthr - 1;
		if (th->vcpu >= 0)
			snprintf(th->name, sizeof(th->name), "vcpu%u%s", t, th->vmm ? "+vmm" : "");
		else
			snprintf(th->name, sizeof(th->name), "%s", th->vmm ? "vmm+host" : "host");
		th->n = 1 + pick(GEN_MAX_OPS - 1);
		for (unsigned i = 0; i < th->n; i++)
			draw_op(th, i);
	}
	/*
	 * At most one release, the last operation of the VMM thread: as in
	 * KVM, no memslot call runs during or after it (the VM's last
	 * reference is gone when it unregisters, every thread of the process
	 * when it exits).  A memslot change waiting for an invalidation that
	 * release cut short would wait for ever.
	 */
	if (coin(G.theme == T_ANY ? 35 : 20)) {
		struct gen_thr *th = &G.thr[G.nthr - 1];
		struct gen_op *o = &th->op[th->n < GEN_MAX_OPS ? th->n++ : th->n - 1];

		memset(o, 0, sizeof(*o));
		o->kind = coin(50) ? G_EXIT : G_DESTROY;
	}
	for (unsigned t = 0; t < G.nthr; t++) {
		G.thr[t].first = nops;
		nops += G.thr[t].n;
	}
	G.nops = nops;
	G.hw = ((seed * 0x9e3779b97f4a7c15ULL) >> 63) == 0;
	/* a dirty-log world in hardware mode has the hardware for it */
	if (G.hw && G.theme == T_DIRTY && G.format == S2_FMT_ARM64)
		G.cfg0.pgt_flags |= S2_PGT_HW_DBM;
}

/* The flags of slot 0 logging (@log) in this world: in hardware mode
 * where the world draws it and the table can (HD with DBM, EPT A/D). */
static unsigned log_flags(unsigned flags, bool log, bool hw)
{
	flags &= ~(S2_MEM_DIRTY_LOG | S2_MEM_DIRTY_HW);
	if (!log)
		return flags;
	flags |= S2_MEM_DIRTY_LOG;
	/* hardware mode logs by bitmap only: no manual protect, no rings
	 * (its writes take no fault to push an entry; s2_vm_set_memslot) */
	if (hw && G.hw && G.cfg.dirty_mode == W_DIRTY_BITMAP &&
	    (G.format == S2_FMT_EPT || (G.cfg.pgt_flags & S2_PGT_HW_DBM)))
		flags |= S2_MEM_DIRTY_HW;
	return flags;
}

static bool kept(unsigned i)
{
	return i < 32 && (G.mask & (1u << i));
}

static bool thread_kept(const struct gen_thr *t)
{
	for (unsigned i = 0; i < t->n; i++)
		if (kept(t->first + i))
			return true;
	return false;
}

/* A hash of @seed for the draws a name's seed makes apart from the rest
 * (they must not move the world's other draws: old names keep meaning
 * the same world). */
static uint64_t side_hash(uint64_t seed, uint64_t salt)
{
	uint64_t z = seed ^ salt;

	z = (z ^ (z >> 33)) * 0xff51afd7ed558ccdULL;
	z = (z ^ (z >> 33)) * 0xc4ceb9fe1a85ec53ULL;
	return z ^ (z >> 33);
}

/* A ring of 2 fills within one thread's writes, 4 within a world's, 16
 * hardly ever: full rings and the soft-full signal both get met. */
static unsigned ring_entries(uint64_t seed)
{
	static const unsigned n[4] = { 2, 2, 4, 16 };

	return n[side_hash(seed, 0x72696e67) % 4];
}

/*
 * The other modes go to the worlds about the dirty log, all four alike.
 * Elsewhere the bitmap: a world about blocks keeps logging's
 * write-protect and lazy splits (initially-set logging has neither), and
 * the worlds that found the catalogue before stay what they were (given
 * to worlds without a theme that harvest, the modes took the world where
 * seed 1 finds dirty_harvest_race).
 */
uint32_t gen_world_drop(uint64_t seed)
{
	uint64_t h = side_hash(seed, 0x6469727479);

	draw_world(seed);	/* the world's own draws; gen_select draws it again */
	if (G.theme != T_DIRTY)
		return W_DIRTY_BITMAP << GEN_MODE_SHIFT;
	return (uint32_t)(h % W_NR_DIRTY_MODES) << GEN_MODE_SHIFT;
}

void gen_select(uint64_t seed, uint32_t mask, uint32_t drop)
{
	unsigned gran = (drop & GEN_GRAN_MASK) >> GEN_GRAN_SHIFT;
	struct w_cfg *c;

	/* the format is one of the draws, the granule comes before them
	 * all: draw at 4K, and again at the granule for an arm64 world (the
	 * same draws, in its pages and blocks) */
	if (gran > 2)
		drop &= ~GEN_GRAN_MASK, gran = 0;
	if (!w_set_granule(12))
		abort();
	draw_world(seed);
	if (G.format == S2_FMT_ARM64 && gran) {
		if (!w_set_granule(12 + 2 * gran))
			abort();
		draw_world(seed);
	}
	G.mask = mask & (G.nops >= 32 ? GEN_ALL : (1u << G.nops) - 1);
	G.drop = drop & (((1u << GEN_NR_DROPS) - 1) | GEN_MODE_MASK |
			 (G.format == S2_FMT_ARM64 ? GEN_LPA2 | GEN_GRAN_MASK : 0));
	G.cfg = G.cfg0;
	c = &G.cfg;
	c->dirty_mode = (G.drop & GEN_MODE_MASK) >> GEN_MODE_SHIFT;
	c->ring_entries = ring_entries(seed);
	if (G.drop & GEN_LPA2)
		c->pgt_flags |= S2_PGT_LPA2;
	if (G.drop & GEN_DROP_NO_FWB)
		c->pgt_flags &= ~S2_PGT_NO_FWB;
	if (G.drop & GEN_DROP_HW_AF)
		c->pgt_flags &= ~S2_PGT_HW_AF;
	if (G.drop & GEN_DROP_HW_DBM)
		c->pgt_flags &= ~S2_PGT_HW_DBM;
	if (G.drop & GEN_DROP_COUNTER)
		c->vm_flags &= ~S2_VM_COUNTER_TRACKING;
	if (G.drop & GEN_DROP_EAGER)
		c->vm_flags &= ~S2_VM_EAGER_SPLIT;
	if (G.drop & GEN_DROP_POPULATE)
		c->populate = false;
	if (G.drop & GEN_DROP_PFNMAP)
		c->pfnmap_slot = c->pfnmap_mem = false;
	if (G.drop & GEN_DROP_LOG)
		c->slot_flags &= ~S2_MEM_DIRTY_LOG;
	if (G.drop & GEN_DROP_VCPU1)
		c->nr_vcpus = 1;
	c->slot_flags = log_flags(c->slot_flags, c->slot_flags & S2_MEM_DIRTY_LOG, true);
	snprintf(G.name, sizeof(G.name), "gen-%llx-%x-%x", (unsigned long long)G.seed, G.mask,
		 G.drop);
	G.on = true;
}

/*
 * From side hashes of their own: LPA2 was once the top two bits of the
 * seed's product with the golden ratio, whose top bit is G.hw, so every
 * 52-bit world was a hardware-logging one.
 */
uint32_t gen_pick_config(uint64_t seed)
{
	uint64_t g = side_hash(seed, 0x6772616e) % 4, l = side_hash(seed, 0x6c706132) % 4;

	return (g == 2 ? GEN_GRAN(14) : g == 3 ? GEN_GRAN(16) : 0) | (l == 0 ? GEN_LPA2 : 0);
}

bool gen_select_name(const char *name)
{
	unsigned long long seed;
	unsigned mask, drop;
	int n = 0;

	if (sscanf(name, "gen-%llx-%x-%x%n", &seed, &mask, &drop, &n) != 3 || name[n])
		return false;
	gen_select(seed, mask, drop);
	return true;
}

bool gen_selected(void) { return G.on; }
const char *gen_name(void) { return G.name; }
uint64_t gen_seed(void) { return G.seed; }
uint32_t gen_mask(void) { return G.mask; }
uint32_t gen_drop(void) { return G.drop; }

/* Whether the undropped world has the feature of drop bit @b at all. */
static bool has_feature(unsigned b)
{
	const struct w_cfg *c = &G.cfg0;

	switch (1u << b) {
	case GEN_DROP_NO_FWB: return c->pgt_flags & S2_PGT_NO_FWB;
	case GEN_DROP_HW_AF: return c->pgt_flags & S2_PGT_HW_AF;
	case GEN_DROP_HW_DBM: return c->pgt_flags & S2_PGT_HW_DBM;
	case GEN_DROP_COUNTER: return c->vm_flags & S2_VM_COUNTER_TRACKING;
	case GEN_DROP_EAGER: return c->vm_flags & S2_VM_EAGER_SPLIT;
	case GEN_DROP_POPULATE: return c->populate;
	case GEN_DROP_PFNMAP: return c->pfnmap_slot;
	case GEN_DROP_LOG: return c->slot_flags & S2_MEM_DIRTY_LOG;
	case GEN_DROP_VCPU1: return c->nr_vcpus > 1;
	default: return false;
	}
}

bool gen_shrink_candidate(unsigned u, uint32_t mask, uint32_t drop, uint32_t *m, uint32_t *d)
{
	uint32_t thr_bits = 0;

	*m = mask;
	*d = drop;
	for (unsigned t = 0; t < G.nthr; t++)
		for (unsigned i = 0; i < G.thr[t].n; i++)
			thr_bits |= 1u << (G.thr[t].first + i);
	if (u < G.nthr) {
		const struct gen_thr *t = &G.thr[u];
		uint32_t bits = 0;

		for (unsigned i = 0; i < t->n; i++)
			bits |= 1u << (t->first + i);
		if (mask & thr_bits & ~bits)	/* some other thread keeps running */
			*m = mask & ~bits;
		return true;
	}
	u -= G.nthr;
	if (u < G.nops) {
		uint32_t bit = 1u << u;

		if ((mask & bit) && (mask & thr_bits & ~bit))
			*m = mask & ~bit;
		return true;
	}
	u -= G.nops;
	if (u < GEN_NR_DROPS) {
		if (has_feature(u))
			*d = drop | 1u << u;
		return true;
	}
	return false;
}

/* ----------------------------------------------------------- wrappers */

static s2_hva_t H(uint64_t off)
{
	return s2_hva(W_HVA + off);
}

/* The HVA range (offset from W_HVA) of slot @id. */
static uint64_t slot_range(unsigned id, uint64_t *len)
{
	switch (id) {
	case 0:
		*len = W->cfg.slot_size;
		return W->cfg.slot_hva_off;
	case 1:
		*len = PFNMAP_PAGES * PG;
		return HVA_PFNMAP;
	default:
		*len = G.s2_len;
		return G.s2_off;
	}
}

/*
 * I9 across a memslot change that zaps slot @id's range: the young state
 * of the zapped leaves is gone, as after an invalidation (n_start forgets
 * it too), so test_young owes nothing for accesses before the zap.  While
 * the change runs the zap may come at any point, so no access counts
 * (clear_flush_young's stamp is held at ~0, clear_young's "not judged");
 * young_end() puts back the stamps no clear_flush_young replaced meanwhile.
 */
static void young_begin(unsigned id, uint64_t *save)
{
	uint64_t len, off = slot_range(id, &len);

	for (uint64_t g = off / PG; g < (off + len) / PG && g < W_MAX_PAGES; g++) {
		save[g] = W->cfy_done[g];
		W->cfy_done[g] = ~0ULL;
		W->young_seen[g] = false;
	}
}

static void young_end(unsigned id, const uint64_t *save)
{
	uint64_t len, off = slot_range(id, &len);

	for (uint64_t g = off / PG; g < (off + len) / PG && g < W_MAX_PAGES; g++) {
		if (W->cfy_done[g] == ~0ULL)
			W->cfy_done[g] = save[g];
		W->young_seen[g] = false;
	}
}

/*
 * The oracle's view of a memslot change that zapped a slot's HVA range:
 * a translation read before @t may not be used once the change returned
 * (world.c's stamp_slot, which knows only slot 0's range).
 */
static void stamp(unsigned id, uint64_t t)
{
	uint64_t len, off = slot_range(id, &len);

	for (uint64_t g = off / PG; g < (off + len) / PG && g < W_MAX_PAGES; g++)
		if (W->inv_epoch[g] < t)
			W->inv_epoch[g] = t;
	W->inv_events++;
}

/*
 * Set slot 0 at @gpa with @flags: create, move or change its flags, the
 * way w_move_slot and w_dirty_log do but from the slot's current GPA and
 * flags (theirs are the configuration's, which a move or a flag change
 * makes stale).  A log that starts afresh (created, moved, or switched
 * on: the library hands it a clean bitmap) owes nothing written before;
 * the oracle's unreported pages of the slot are cleared first.
 */
static int slot0_set(uint64_t gpa, unsigned flags)
{
	uint64_t t = ++W->tick, len, off = slot_range(0, &len), save[W_MAX_PAGES];
	bool was = W->logging, log = flags & S2_MEM_DIRTY_LOG, move = vs.s0 && vs.s0_gpa != gpa;
	bool fresh = log && !(vs.s0 && vs.s0_gpa == gpa && (vs.s0_flags & S2_MEM_DIRTY_LOG));
	int ret;

	if (move)
		young_begin(0, save);
	if (!log || fresh)
		W->logging = false;
	if (fresh)
		for (uint64_t g = off / PG; g < (off + len) / PG && g < W_MAX_PAGES; g++)
			W->unreported[g] = false;
	ret = s2_vm_set_memslot(W->vm, 0, s2_gpa(gpa), W->cfg.slot_size, H(W->cfg.slot_hva_off),
				flags);
	W->inv_events++;
	if (move)
		young_end(0, save);
	if (ret) {
		W->logging = was;	/* nothing changed */
		return ret;
	}
	if (move)
		stamp(0, t);		/* the move zapped the old range */
	vs.s0 = true;
	vs.s0_gpa = gpa;
	vs.s0_flags = flags;
	W->logging = log;
	W->hw_logging = log && (flags & S2_MEM_DIRTY_HW);
	return 0;
}

static int slot_create(unsigned id, unsigned variant)
{
	static const unsigned fl[3] = { 0, S2_MEM_READONLY, S2_MEM_DIRTY_LOG };
	int ret;

	/* creation only: a flag change of a live slot is G_LOG_* or
	 * G_SLOT_RW (making a live slot read-only would let the oracle
	 * judge writes racing the change against the new flags) */
	if (id == 0)
		return vs.s0 ? -S2_EEXIST :
			       slot0_set(W->cfg.slot_gpa,
					 log_flags(fl[variant % 3], fl[variant % 3] & S2_MEM_DIRTY_LOG,
						   true));
	if (vs.s2 || !G.s2_len)
		return -S2_EEXIST;
	ret = s2_vm_set_memslot(W->vm, 2, s2_gpa(GPA_SLOT2), G.s2_len, H(G.s2_off),
				fl[variant % 2]);
	vs.s2 = !ret;
	return ret;
}

static int slot_delete(unsigned id)
{
	uint64_t t = ++W->tick, save[W_MAX_PAGES];
	int ret;

	young_begin(id, save);
	ret = s2_vm_delete_memslot(W->vm, id);
	young_end(id, save);
	if (ret)
		return ret;
	stamp(id, t);
	if (id == 0) {
		vs.s0 = false;
		W->logging = false;
	} else if (id == 2) {
		vs.s2 = false;
	}
	return 0;
}

/* A device range mapped again where a munmap made a hole in the PFNMAP
 * VMA: the frames w_create gave it (not flat, seed 003). */
static int remap_pfnmap(uint64_t off, uint64_t len)
{
	uint64_t pfns[PFNMAP_PAGES], p0 = (off - HVA_PFNMAP) / PG, n = len / PG;

	if (p0 + n > PFNMAP_PAGES)
		return -S2_EINVAL;
	for (uint64_t i = 0; i < n; i++)
		pfns[i] = W_IO_PFN0 + (W->cfg.pfnmap_mem ? 128 : 64) + ((p0 + i) ^ 1);
	return host_mmap_pfnmap(W->mm, H(off), len, HOST_PROT_READ | HOST_PROT_WRITE, 7 + p0,
				pfns);
}

/* A fault with no access behind it (a vCPU's exit the VMM replays, a
 * prefetch): the fault path alone, for a read, write or execute; through
 * the vCPU's dirty ring in a world that has them (the thread is the
 * vCPU's, so the ring still has one fault at a time). */
static int bare_fault(unsigned v, uint64_t gpa, unsigned acc)
{
	struct s2_fault_info fi;

	return s2_vm_fault_ring(W->vm, s2_gpa(gpa), acc, &W->vcpu[v].mc, W->ring[v], &fi);
}

static int exec_op(const struct gen_op *o)
{
	static const unsigned acc[3] = { S2_ACC_READ, S2_ACC_WRITE, S2_ACC_EXEC };
	uint64_t off = G.off[o->a % G.noff], len = G.len[o->b % G.nlen];
	uint64_t gpa = G.gpa[o->a % G.ngpa], n;

	if ((kinds[o->kind].cls & C_VCPU) && o->v >= W->cfg.nr_vcpus)
		return -S2_EINVAL;	/* its vCPU was dropped */
	switch (o->kind) {
	case G_READ: return w_access(o->v, gpa, false);
	case G_WRITE: return w_access(o->v, gpa, true);
	case G_EXEC: return w_access_kind(o->v, gpa, S2_ACC_EXEC);
	case G_FAULT: return bare_fault(o->v, gpa, acc[o->b % 3]);
	case G_MUNMAP: return w_munmap(off, len);
	case G_DONTNEED: return w_dontneed(off, len);
	case G_MPROTECT_RO: return w_mprotect_ro(off, len);
	case G_MPROTECT_RW:
		return host_mprotect(W->mm, H(off), len, HOST_PROT_READ | HOST_PROT_WRITE);
	case G_MMAP:
		if (off >= HVA_PFNMAP)
			return remap_pfnmap(off, len);
		return host_mmap(W->mm, H(off), len, W->cfg.kind, W->cfg.vma_prot);
	case G_COLLAPSE: return w_collapse(off & ~(BLK - 1));
	case G_SPLIT: return w_split(off);
	case G_MIGRATE: return w_migrate(off);
	case G_RECLAIM: return w_reclaim(off, len);
	case G_KSM: return host_ksm_merge(W->mm, H(off), len, &n);
	case G_FORK: return w_fork_child_exit();
	case G_OOM_REAP: return host_oom_reap(W->mm);
	case G_LEVEL: return w_host_level(off);
	case G_HOST_RW:
		n = 0x5a5a0000 + off;
		return host_access(W->mm, H(off), o->v & 1, &n);
	case G_CFY: return w_age(off, len, HOST_AGE_CLEAR_FLUSH_YOUNG);
	case G_CY: return w_age(off, len, HOST_AGE_CLEAR_YOUNG);
	case G_TY: return w_age(off, len, HOST_AGE_TEST_YOUNG);
	case G_SLOT_CREATE: return slot_create(o->a, o->b);
	case G_SLOT_DELETE: return slot_delete(o->a);
	case G_SLOT_MOVE:
		if (!vs.s0)
			return -S2_ENOENT;
		return slot0_set(o->a ? G.alt : W->cfg.slot_gpa, vs.s0_flags);
	case G_SLOT_RW:
		if (!vs.s0)
			return -S2_ENOENT;
		return slot0_set(vs.s0_gpa, vs.s0_flags & ~S2_MEM_READONLY);
	case G_PREFAULT: return w_prefault_pfnmap();
	case G_LOG_ON:
		if (!vs.s0)
			return -S2_ENOENT;
		/* in a hardware-mode world an odd range index asks for
		 * write-protect logging: switching modes while logging */
		return slot0_set(vs.s0_gpa, log_flags(vs.s0_flags, true, !(o->a & 1)));
	case G_LOG_OFF:
		if (!vs.s0)
			return -S2_ENOENT;
		return slot0_set(vs.s0_gpa, log_flags(vs.s0_flags, false, false));
	/* manual protect: half the harvests clear only part of what they got */
	case G_HARVEST: return w_harvest_mode(o->b & 1);
	case G_EXIT: w_exit_mm(); return 0;
	case G_DESTROY: w_vm_destroy_path(); return 0;
	default: return -S2_EINVAL;
	}
}

static void op_text(const struct gen_op *o, char *buf, size_t n)
{
	const char *name = kinds[o->kind].name;
	uint64_t off = G.off[o->a % G.noff], len = G.len[o->b % G.nlen];

	switch (o->kind) {
	case G_READ: case G_WRITE: case G_EXEC:
		snprintf(buf, n, "vcpu%u %s %#llx", o->v, name,
			 (unsigned long long)G.gpa[o->a % G.ngpa]);
		break;
	case G_FAULT:
		snprintf(buf, n, "vcpu%u fault %#llx %c", o->v,
			 (unsigned long long)G.gpa[o->a % G.ngpa], "RWX"[o->b % 3]);
		break;
	case G_COLLAPSE: case G_SPLIT: case G_MIGRATE: case G_LEVEL:
		snprintf(buf, n, "%s +%#llx", name, (unsigned long long)off);
		break;
	case G_HOST_RW:
		snprintf(buf, n, "host %s +%#llx", o->v & 1 ? "write" : "read",
			 (unsigned long long)off);
		break;
	case G_HARVEST:
		snprintf(buf, n, "%s%s", name,
			 (G.cfg.dirty_mode == W_DIRTY_MANUAL || G.cfg.dirty_mode == W_DIRTY_INIT_SET) &&
			 (o->b & 1) ? " (partial clear)" : "");
		break;
	case G_FORK: case G_OOM_REAP: case G_PREFAULT: case G_LOG_ON: case G_LOG_OFF:
	case G_EXIT: case G_DESTROY: case G_SLOT_RW:
		snprintf(buf, n, "%s", name);
		break;
	case G_SLOT_CREATE:
		snprintf(buf, n, "create slot%u%s", o->a,
			 (o->b % (o->a ? 2 : 3)) == 1 ? " ro" : (o->b % 3) == 2 && !o->a ? " log" : "");
		break;
	case G_SLOT_DELETE:
		snprintf(buf, n, "delete slot%u", o->a);
		break;
	case G_SLOT_MOVE:
		snprintf(buf, n, "move slot0 to %#llx",
			 (unsigned long long)(o->a ? G.alt : G.cfg.slot_gpa));
		break;
	default:
		snprintf(buf, n, "%s +%#llx+%#llx", name, (unsigned long long)off,
			 (unsigned long long)len);
		break;
	}
}

/* ------------------------------------------------------------ running */

static void thread_fn(void *arg)
{
	const struct gen_thr *t = arg;
	char buf[CK_EV_TEXT];

	for (unsigned i = 0; i < t->n; i++) {
		int ret;

		if (!kept(t->first + i))
			continue;
		op_text(&t->op[i], buf, sizeof(buf));
		ck_note("%s", buf);
		ret = exec_op(&t->op[i]);
		if (ret < 0)
			ck_note("%s -> %d", kinds[t->op[i].kind].name, ret);
	}
}

/*
 * End of a schedule, every thread done: the audit of every leaf against
 * the host (w_audit) while the leaves are there, then every slot deleted,
 * after which w_destroy(true) finds any table page still allocated (I3: a
 * reference taken twice keeps a table alive).  Not after a release: its
 * table is gone, and an invalidation it cut short would keep a memslot
 * change waiting (KVM resets that count at destroy).
 * Return: whether every slot is gone.
 */
static bool unmap_all(void)
{
	if (W->released)
		return false;
	w_audit();
	for (unsigned id = 0; id < 3; id++) {
		int ret = s2_vm_delete_memslot(W->vm, id);

		if (ret && ret != -S2_ENOENT)
			return false;
	}
	return true;
}

void gen_run(struct ck_sched_io *io)
{
	ck_format = G.format;
	w_create(&G.cfg);
	vs.s0 = true;
	vs.s0_gpa = G.cfg.slot_gpa;
	vs.s0_flags = G.cfg.slot_flags;
	vs.s2 = false;
	for (unsigned i = 0; i < G.nsetup; i++)
		if (kept(i))
			exec_op(&G.setup[i]);
	ck_begin(io);
	for (unsigned t = 0; t < G.nthr; t++)
		if (thread_kept(&G.thr[t]))
			ck_spawn(G.thr[t].name, thread_fn, &G.thr[t]);
	ck_run();
	w_destroy(unmap_all());
}

/* ----------------------------------------------------------- printing */

static const char *const vma_kind[] = {
	[HOST_VMA_ANON] = "anon", [HOST_VMA_THP] = "THP", [HOST_VMA_HUGETLB_2M] = "hugetlb 2M",
	[HOST_VMA_HUGETLB_1G] = "hugetlb 1G", [HOST_VMA_PFNMAP] = "PFNMAP",
};

void gen_describe(FILE *f)
{
	const struct w_cfg *c = &G.cfg;
	char buf[CK_EV_TEXT];
	bool any = false;

	fprintf(f, "world %s (%s): %s, %s VMA %#llx %s, slot 0 GPA %#llx+%#llx at HVA +%#llx%s%s\n",
		G.name, theme_name[G.theme],
		w_tool_format(G.format, c->pgt_flags & S2_PGT_LPA2)->desc,
		vma_kind[c->kind],
		(unsigned long long)c->vma_len,
		c->vma_prot & HOST_PROT_WRITE ? "rw" : "ro", (unsigned long long)c->slot_gpa,
		(unsigned long long)c->slot_size, (unsigned long long)c->slot_hva_off,
		c->slot_flags & S2_MEM_DIRTY_HW ? " dirty-log (hardware)" :
		c->slot_flags & S2_MEM_DIRTY_LOG ? " dirty-log" : "",
		c->slot_flags & S2_MEM_READONLY ? " readonly" : "");
	static const char *const dmode[W_NR_DIRTY_MODES] = {
		[W_DIRTY_BITMAP] = "", [W_DIRTY_MANUAL] = ", manual protect",
		[W_DIRTY_INIT_SET] = ", manual protect initially set", [W_DIRTY_RING] = ", dirty rings",
	};

	fprintf(f, "  %u vCPU%s%s%s%s%s%s%s%s%s", c->nr_vcpus, c->nr_vcpus > 1 ? "s" : "",
		c->pgt_flags & S2_PGT_NO_FWB ? ", no FWB" : "",
		c->pgt_flags & S2_PGT_HW_AF ? ", HW AF" : "",
		c->pgt_flags & S2_PGT_HW_DBM ? ", HW DBM" : "",
		c->vm_flags & S2_VM_COUNTER_TRACKING ? ", counter tracking" : "",
		c->vm_flags & S2_VM_EAGER_SPLIT ? ", eager split" : "",
		!c->pfnmap_slot ? "" : c->pfnmap_mem ? ", PFNMAP slot 1 (memory)" : ", PFNMAP slot 1", c->populate ? ", populated" : "",
		dmode[c->dirty_mode]);
	if (c->dirty_mode == W_DIRTY_RING)
		fprintf(f, " of %u entries", c->ring_entries);
	fprintf(f, "\n");
	for (unsigned i = 0; i < G.nsetup; i++)
		if (kept(i)) {
			op_text(&G.setup[i], buf, sizeof(buf));
			fprintf(f, "%s%s", any ? "; " : "  set-up: ", buf);
			any = true;
		}
	if (any)
		fprintf(f, "\n");
	for (unsigned t = 0; t < G.nthr; t++) {
		const struct gen_thr *th = &G.thr[t];

		if (!thread_kept(th))
			continue;
		fprintf(f, "  %s:", th->name);
		any = false;
		for (unsigned i = 0; i < th->n; i++)
			if (kept(th->first + i)) {
				op_text(&th->op[i], buf, sizeof(buf));
				fprintf(f, "%s %s", any ? ";" : "", buf);
				any = true;
			}
		fprintf(f, "\n");
	}
}
