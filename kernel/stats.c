// SPDX-License-Identifier: GPL-2.0-only
/*
 * S2K_STATS: one snapshot of the module's counters, the library's
 * statistics (s2_vm_get_stats) and the stage-2 leaves mapped now.
 */
#include <linux/mm.h>
#include <linux/rcupdate.h>
#include <linux/string.h>
#include "kmod.h"

static int s2k_count_fn(struct s2_walk_ctx *c, unsigned int visit)
{
	struct s2k_count_arg *a = c->arg;
	struct s2_mapping m;

	if (!s2_pte_valid(c->pgt, c->old, c->level))
		return 0;
	s2_pte_decode(c->pgt, c->old, c->level, &m);
	a->leaves++;
	a->pages += m.size >> PAGE_SHIFT;
	return 0;
}

/* Valid leaves now (approximate while faults and notifiers run).  A
 * read-only walk: it loads each entry once and descends through the
 * loaded value, and RCU keeps unlinked tables readable. */
void s2k_count_leaves(struct s2k_vm *vm, struct s2k_count_arg *a)
{
	struct s2_pgtable *pgt;

	a->leaves = a->pages = 0;
	rcu_read_lock();
	pgt = s2_vm_pgtable(vm->core);
	if (pgt)
		s2_pgt_walk(pgt, s2_gpa(0), 1ULL << S2K_IA_BITS, s2k_count_fn, a, S2_WALK_LEAF);
	rcu_read_unlock();
}

void s2k_stats(struct s2k_vm *vm, struct s2k_stats *st)
{
	struct s2k_count_arg cnt;
	struct s2_vm_stats cs;
	struct s2_pgtable *pgt;
	int i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < S2K_EV_NR; i++)
		st->ev[i] = atomic64_read(&vm->ev[i]);
	for (i = 0; i < S2K_NR_REASONS; i++)
		st->inv_reason[i] = atomic64_read(&vm->inv_reason[i]);
	for (i = 0; i < S2K_ST_NR; i++)
		st->stat[i] = atomic64_read(&vm->stat[i]);
	s2_vm_get_stats(vm->core, &cs);
	st->stat[S2K_ST_MAP] = cs.installs;
	st->stat[S2K_ST_ZAP] = cs.zapped_bytes >> PAGE_SHIFT;
	st->stat[S2K_ST_RETRY_RACE] = cs.retries[S2_RETRY_RACE];
	st->stat[S2K_ST_RETRY_MEMSLOT] = cs.retries[S2_RETRY_MEMSLOT];
	st->stat[S2K_ST_RELAX] = cs.relaxes;
	st->stat[S2K_ST_YOUNG_FAULT] = cs.young_faults;
	st->stat[S2K_ST_BLOCKS] = cs.blocks;
	st->stat[S2K_ST_SPURIOUS] = cs.spurious_retries;
	st->stat[S2K_ST_AFTER_RELEASE] = cs.after_release;
	st->stat[S2K_ST_DIRTY_PAGES] = cs.dirty_pages;
	st->stat[S2K_ST_HARVESTS] = cs.harvests;
	st->stat[S2K_ST_AGE_CALLS] = cs.age_calls;
	st->stat[S2K_ST_SLOT_UPDATES] = cs.memslot_updates;
	rcu_read_lock();
	pgt = s2_vm_pgtable(vm->core);
	st->stat[S2K_ST_TABLES] = pgt ? READ_ONCE(pgt->nr_tables) : 0;
	rcu_read_unlock();
	s2k_count_leaves(vm, &cnt);
	st->entries = cnt.leaves;
	st->entries_pages = cnt.pages;
	st->released = READ_ONCE(vm->released);
}
