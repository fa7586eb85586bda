// SPDX-License-Identifier: GPL-2.0-only
/*
 * VERIFY: compare every stage-2 leaf and every software-TLB entry with
 * what the process's page tables map now, and report each difference
 * with the last notifier event (the test fails on any).
 */
#define pr_fmt(fmt) "s2mmu: " fmt

#include <linux/mm.h>
#include <linux/pgtable.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include "kmod.h"

/* Leaves VERIFY collects per RCU section (then checks without RCU). */
#define S2K_VERIFY_BATCH	256

struct s2k_host_pte {
	bool present;
	bool writable;
	unsigned long pfn;
};

/*
 * What the host page tables map at @addr now, without faulting.
 * Context: mmap_lock held for read (page-table pages are then not freed
 * under us); no core lock held (lock order with the page-table lock).
 */
static void s2k_host_walk(struct mm_struct *mm, unsigned long addr,
			  struct s2k_host_pte *out)
{
	pgd_t *pgd;
	p4d_t *p4d;
	pud_t *pud, pudv;
	pmd_t *pmd, pmdv;
	pte_t *ptep, ptev;
	spinlock_t *ptl;

	out->present = false;
	pgd = pgd_offset(mm, addr);
	if (pgd_none(READ_ONCE(*pgd)) || pgd_bad(READ_ONCE(*pgd)))
		return;
	p4d = p4d_offset(pgd, addr);
	if (p4d_none(READ_ONCE(*p4d)) || p4d_bad(READ_ONCE(*p4d)))
		return;
	pud = pud_offset(p4d, addr);
	pudv = READ_ONCE(*pud);
	if (pud_none(pudv) || !pud_present(pudv))
		return;
	if (pud_large(pudv)) {
		out->present = true;
		out->writable = pud_write(pudv);
		out->pfn = pud_pfn(pudv) + ((addr & ~PUD_MASK) >> PAGE_SHIFT);
		return;
	}
	pmd = pmd_offset(pud, addr);
	pmdv = pmd_read_atomic(pmd);
	/* Not present covers THP migration entries. */
	if (pmd_none(pmdv) || !pmd_present(pmdv))
		return;
	if (pmd_trans_huge(pmdv) || pmd_large(pmdv)) {
		out->present = true;
		out->writable = pmd_write(pmdv);
		out->pfn = pmd_pfn(pmdv) + ((addr & ~PMD_MASK) >> PAGE_SHIFT);
		return;
	}
	if (pmd_bad(pmdv))
		return;
	/*
	 * The pmd pointed at a pte table when we read it; under mmap_lock
	 * held for read that table may be emptied but not freed or replaced.
	 */
	ptep = pte_offset_map_lock(mm, pmd, addr, &ptl);
	ptev = ptep_get(ptep);
	if (pte_present(ptev)) {
		out->present = true;
		out->writable = pte_write(ptev);
		out->pfn = pte_pfn(ptev);
	}
	pte_unmap_unlock(ptep, ptl);
}

/* One translation of one 4K guest page, from stage 2 or from a TLB. */
struct s2k_xlate {
	bool valid;
	bool writable;
	unsigned long pfn;
	u64 leaf_size;
};

/* @vcpu < 0: the stage-2 table (s2_pgt_lookup); else that vCPU's TLB. */
static void s2k_read_xlate(struct s2k_vm *vm, int vcpu, u64 gpa, struct s2k_xlate *x)
{
	struct s2_pgtable *pgt;
	struct s2_mapping m;

	x->valid = false;
	if (vcpu >= 0) {
		struct s2k_vcpu *t = &vm->vcpu[vcpu];
		struct s2k_tlbe *e = &t->e[(gpa >> PAGE_SHIFT) % S2K_TLB_ENTRIES];

		spin_lock(&t->lock);
		if (e->valid && e->gfn == gpa >> PAGE_SHIFT)
			*x = (struct s2k_xlate){ true, e->writable, e->pfn, PAGE_SIZE };
		spin_unlock(&t->lock);
		return;
	}
	rcu_read_lock();
	pgt = s2_vm_pgtable(vm->core);
	if (pgt && !s2_pgt_lookup(pgt, s2_gpa(gpa), &m) && m.valid)
		*x = (struct s2k_xlate){ true, !!(m.prot & S2_PROT_W),
					 (m.pa.v + (gpa - m.ipa.v)) >> PAGE_SHIFT, m.size };
	rcu_read_unlock();
}

static void s2k_report(struct s2k_vm *vm, struct s2k_verify *v, u32 kind, u64 gpa,
		       unsigned long hva, const struct s2k_xlate *s2,
		       const struct s2k_host_pte *h)
{
	struct s2k_violation *x;

	if (v->violations++ >= S2K_NR_VIOL)
		return;
	x = &v->v[v->violations - 1];
	x->kind = kind;
	x->gpa = gpa;
	x->hva = hva;
	x->s2_pfn = s2->pfn;
	x->s2_writable = s2->writable;
	x->host_pfn = h && h->present ? h->pfn : ~0ULL;
	x->host_writable = h && h->present && h->writable;
	spin_lock(&vm->last_lock);
	x->last_event = vm->last.kind;
	x->last_start = vm->last.start;
	x->last_end = vm->last.end;
	spin_unlock(&vm->last_lock);
	pr_err("VERIFY violation %u at gpa %#llx hva %#lx: %s pfn %#lx%s (leaf %llu KiB), host pfn %#llx%s, last event %u [%#llx, %#llx)\n",
	       kind, gpa, hva, kind == S2K_VIOL_TLB ? "TLB" : "stage 2", s2->pfn,
	       s2->writable ? " rw" : " ro", s2->leaf_size >> 10,
	       x->host_pfn, x->host_writable ? " rw" : " ro", x->last_event,
	       x->last_start, x->last_end);
}

/* Is an invalidation covering @hva in progress?  Context: inv_lock. */
static bool s2k_inv_busy(struct s2k_vm *vm, unsigned long hva)
{
	return vm->inv_in_progress && hva >= vm->inv_start && hva < vm->inv_end;
}

/*
 * Check one guest page's translation (stage 2 or a TLB) against the
 * host.  The host walk takes the page-table lock and so runs with no
 * core lock held; it is validated like a seqlock read: if no
 * invalidation covering the hva started or ended between the two reads
 * of the translation and both reads agree, the host's mapping could not
 * have changed in a way that requires ours to change (every such change
 * is bracketed by invalidate_range_start/end), so the comparison is
 * exact.  Return: true if checked (or nothing to check), false if it
 * kept racing.
 */
static bool s2k_verify_page(struct s2k_vm *vm, struct s2k_verify *v, int vcpu, u64 gpa)
{
	struct s2k_xlate a, b;
	struct s2k_host_pte h;
	unsigned long seq;
	s2_hva_t hva;
	unsigned int sflags;
	bool busy, ro, viol;
	int tries;

	for (tries = 0; tries < 1000; tries++) {
		if (tries)
			cond_resched();
		s2k_read_xlate(vm, vcpu, gpa, &a);
		if (!a.valid)
			return true;	/* zapped meanwhile: nothing to check */
		if (!s2_vm_gpa_to_hva(vm->core, s2_gpa(gpa), &hva, &sflags)) {
			/*
			 * A slot is zapped before it leaves the array, so a
			 * translation still there after its slot is gone is
			 * itself the bug (memslot_delete_no_zap).
			 */
			s2k_read_xlate(vm, vcpu, gpa, &b);
			if (!b.valid || b.pfn != a.pfn)
				continue;
			v->checked++;
			s2k_report(vm, v, vcpu < 0 ? S2K_VIOL_FRAME : S2K_VIOL_TLB,
				   gpa, 0, &a, NULL);
			return true;
		}
		ro = sflags & S2_MEM_READONLY;
		spin_lock(&vm->inv_lock);
		seq = vm->inv_seq;
		busy = s2k_inv_busy(vm, hva.v);
		spin_unlock(&vm->inv_lock);
		if (busy)
			continue;
		/* a must have been read after the seq snapshot too. */
		s2k_read_xlate(vm, vcpu, gpa, &a);
		if (!a.valid)
			return true;

		s2k_host_walk(vm->mm, hva.v, &h);

		s2k_read_xlate(vm, vcpu, gpa, &b);
		spin_lock(&vm->inv_lock);
		busy = seq != vm->inv_seq || s2k_inv_busy(vm, hva.v);
		spin_unlock(&vm->inv_lock);
		if (busy || !b.valid || b.pfn != a.pfn || b.writable != a.writable)
			continue;
		v->checked++;
		viol = !h.present || h.pfn != a.pfn || (a.writable && (!h.writable || ro));
		s2k_trace_verify(vm, vcpu, gpa, hva.v, a.pfn, h.present ? h.pfn : ~0ULL,
				 (a.writable ? S2K_TRV_S2_W : 0) |
				 (h.present && h.writable ? S2K_TRV_HOST_W : 0) |
				 (viol ? S2K_TRV_VIOL : 0));
		if (!h.present || h.pfn != a.pfn)
			s2k_report(vm, v, vcpu < 0 ? S2K_VIOL_FRAME : S2K_VIOL_TLB,
				   gpa, hva.v, &a, &h);
		else if (a.writable && (!h.writable || ro))
			s2k_report(vm, v, vcpu < 0 ? S2K_VIOL_PERM : S2K_VIOL_TLB,
				   gpa, hva.v, &a, &h);
		return true;
	}
	return false;
}

struct s2k_leaf {
	u64 ipa, size;
};

struct s2k_collect {
	struct s2k_leaf *leaf;
	unsigned int n;
	u64 next;		/* where to resume when the batch filled */
};

static int s2k_collect_fn(struct s2_walk_ctx *c, unsigned int visit)
{
	struct s2k_collect *k = c->arg;
	struct s2_mapping m;

	if (!s2_pte_valid(c->pgt, c->old, c->level))
		return 0;
	if (k->n == S2K_VERIFY_BATCH) {
		k->next = c->addr;
		return -S2_ENOSPC;
	}
	s2_pte_decode(c->pgt, c->old, c->level, &m);
	k->leaf[k->n++] = (struct s2k_leaf){ c->addr, m.size };
	return 0;
}

/*
 * VERIFY: walk the stage-2 table (s2_pgt_walk, read-only, in batches
 * under RCU), then check each 4K page of every valid leaf against the
 * host without RCU (the host walk sleeps on the page-table lock); then
 * every TLB entry the same way.
 */
int s2k_verify(struct s2k_vm *vm, struct s2k_verify *v)
{
	u64 start = v->gpa & PAGE_MASK, end, addr;
	struct s2k_collect k;
	struct s2_pgtable *pgt;
	unsigned int i;
	int c, ret = 0;

	v->checked = v->violations = v->raced = v->tlb_checked = 0;
	memset(v->v, 0, sizeof(v->v));
	end = v->size ? PAGE_ALIGN(v->gpa + v->size) : 1ULL << S2K_IA_BITS;
	if (start >= end || end > 1ULL << S2K_IA_BITS)
		return -EINVAL;
	k.leaf = kmalloc_array(S2K_VERIFY_BATCH, sizeof(*k.leaf), GFP_KERNEL);
	if (!k.leaf)
		return -ENOMEM;

	if (!mmget_not_zero(vm->mm)) {
		/* Exited: release freed the table; check that it did. */
		if (s2_vm_pgtable(vm->core)) {
			struct s2k_xlate x = { .valid = true };

			s2k_report(vm, v, S2K_VIOL_FRAME, 0, 0, &x, NULL);
		}
		goto out;
	}
	mmap_read_lock(vm->mm);
	for (addr = start; addr < end; ) {
		k.n = 0;
		k.next = end;
		rcu_read_lock();
		pgt = s2_vm_pgtable(vm->core);
		ret = pgt ? s2_pgt_walk(pgt, s2_gpa(addr), end - addr, s2k_collect_fn, &k,
					S2_WALK_LEAF) : 0;
		rcu_read_unlock();
		if (ret && ret != -S2_ENOSPC)
			break;
		ret = 0;
		for (i = 0; i < k.n; i++) {
			u64 a = max(k.leaf[i].ipa, start);
			u64 b = min(k.leaf[i].ipa + k.leaf[i].size, end);

			for (; a < b; a += PAGE_SIZE)
				if (!s2k_verify_page(vm, v, -1, a))
					v->raced++;
			cond_resched();
		}
		addr = k.next;
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
	}
	/*
	 * Every TLB entry must agree with the host too: a stale one means a
	 * zap whose TLB invalidation was skipped or deferred
	 * (tlbi_after_return).
	 */
	for (c = 0; c < S2K_MAX_VCPUS && !ret; c++) {
		for (i = 0; i < S2K_TLB_ENTRIES; i++) {
			struct s2k_vcpu *t = &vm->vcpu[c];
			bool valid;
			u64 gfn;

			spin_lock(&t->lock);
			valid = t->e[i].valid;
			gfn = t->e[i].gfn;
			spin_unlock(&t->lock);
			if (!valid || gfn << PAGE_SHIFT < start || gfn << PAGE_SHIFT >= end)
				continue;
			v->tlb_checked++;
			if (!s2k_verify_page(vm, v, c, gfn << PAGE_SHIFT))
				v->raced++;
		}
	}
	mmap_read_unlock(vm->mm);
	mmput(vm->mm);
	s2k_trace_verify_done(vm, v->checked, v->violations);
out:
	kfree(k.leaf);
	return ret;
}
