// SPDX-License-Identifier: GPL-2.0-only
/*
 * Recording what the real kernel did to a window of the VM's host address
 * space (S2K_TRACE_CTL / S2K_TRACE_READ, docs/trace.md): notifier calls
 * with their ranges and mmu_notifier_event, faults with the frame and
 * mapping size they resolved, accesses with the frame they used, memslot
 * changes, harvests, and each page VERIFY compared.  `s2mmu check --trace`
 * replays a recording against the library and the host model.
 *
 * The other files call the s2k_trace_* hooks with one line each; a hook
 * costs one READ_ONCE when recording is off.  Records go into a bounded
 * FIFO under a spinlock (hooks run in atomic context: aging notifiers
 * under the host's page-table lock).  The sequence number is taken under
 * that lock from a counter shared by every VM, so one VM's records are in
 * the order they were appended and a reader can merge two VMs'.
 */
#include <linux/atomic.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include "kmod.h"

#define S2K_TRACE_MAX_CAP	(1u << 20)
#define S2K_TRACE_READ_BATCH	256

static atomic64_t s2k_trace_seq = ATOMIC64_INIT(0);

static void s2k_put_locked(struct s2k_trace *t, const struct s2k_trace_rec *r)
{
	struct s2k_trace_rec *slot = &t->recs[(t->head + t->n) % t->cap];

	*slot = *r;
	slot->seq = atomic64_inc_return(&s2k_trace_seq);
	t->n++;
}

/*
 * Append @r.  A full buffer keeps its last slot for the drop marker: the
 * records lost while it is full are counted, and the marker with that
 * count goes in before the next record that fits (or is handed to the
 * reader after the last record), so a replay knows where its knowledge of
 * the host has a hole.
 */
static void s2k_trace_put(struct s2k_vm *vm, struct s2k_trace_rec *r)
{
	struct s2k_trace *t = &vm->tr;

	r->tid = current->pid;
	spin_lock(&t->lock);
	if (!t->on || !t->recs)
		goto out;
	if (t->dropped) {
		struct s2k_trace_rec drop = { .kind = S2K_TR_DROP, .a = t->dropped };

		if (t->n + 2 > t->cap) {
			t->dropped++;
			t->dropped_total++;
			goto out;
		}
		s2k_put_locked(t, &drop);
		t->dropped = 0;
	}
	if (t->n + 1 >= t->cap) {
		t->dropped++;
		t->dropped_total++;
		goto out;
	}
	s2k_put_locked(t, r);
out:
	spin_unlock(&t->lock);
}

static bool s2k_in_window(struct s2k_vm *vm, unsigned long start, unsigned long end)
{
	return start < READ_ONCE(vm->tr.hi) && end > READ_ONCE(vm->tr.lo);
}

void s2k_trace_inv(struct s2k_vm *vm, u32 kind, unsigned long start, unsigned long end,
		   u32 event, bool blockable)
{
	struct s2k_trace_rec r = { .kind = kind, .a = start, .b = end, .x = event,
				   .y = blockable };

	if (!READ_ONCE(vm->tr.on))
		return;
	/* release has no range: it ends every mapping of the window */
	if (kind != S2K_TR_RELEASE && !s2k_in_window(vm, start, end))
		return;
	s2k_trace_put(vm, &r);
}

void s2k_trace_young(struct s2k_vm *vm, u32 kind, unsigned long start, unsigned long end,
		     int young)
{
	struct s2k_trace_rec r = { .kind = kind, .a = start, .b = end, .y = young };

	if (!READ_ONCE(vm->tr.on) || !s2k_in_window(vm, start, end))
		return;
	s2k_trace_put(vm, &r);
}

/* Accesses and faults are kept when their gpa's hva is in the window
 * (looked up now: the memslots a replay needs are recorded too). */
static bool s2k_gpa_in_window(struct s2k_vm *vm, u64 gpa, unsigned long *hva)
{
	s2_hva_t h;

	if (!s2_vm_gpa_to_hva(vm->core, s2_gpa(gpa), &h, NULL))
		return false;
	*hva = h.v;
	return s2k_in_window(vm, h.v, h.v + 1);
}

void s2k_trace_fault(struct s2k_vm *vm, u32 vcpu, u64 gpa, bool write, int ret,
		     const struct s2_fault_info *info)
{
	struct s2k_trace_rec r = { .kind = S2K_TR_FAULT, .a = gpa, .c = ~0ULL,
				   .x = vcpu | (write ? S2K_TRF_WRITE : 0), .y = (u32)ret };
	unsigned long hva;

	if (!READ_ONCE(vm->tr.on) || !s2k_gpa_in_window(vm, gpa, &hva))
		return;
	r.b = hva;
	if (!ret) {
		r.c = info->pa.v >> PAGE_SHIFT;
		r.d = info->size;
	} else if (ret == -S2_EAGAIN) {
		r.z = info->retry_cause;
	}
	s2k_trace_put(vm, &r);
}

void s2k_trace_access(struct s2k_vm *vm, const struct s2k_access *a, int ret, u64 pfn)
{
	struct s2k_trace_rec r = { .kind = S2K_TR_ACCESS, .a = a->gpa, .c = ret ? ~0ULL : pfn,
				   .d = a->faults | (u64)a->retries << 32,
				   .x = a->vcpu | ((a->flags & S2K_ACC_WRITE) ? S2K_TRF_WRITE : 0),
				   .y = (u32)ret };
	unsigned long hva;

	if (!READ_ONCE(vm->tr.on) || !s2k_gpa_in_window(vm, a->gpa, &hva))
		return;
	r.b = hva;
	s2k_trace_put(vm, &r);
}

void s2k_trace_slot(struct s2k_vm *vm, const struct s2k_slot *s, u32 op)
{
	struct s2k_trace_rec r = { .kind = S2K_TR_SLOT, .a = s->gpa, .b = s->hva, .c = s->size,
				   .x = s->id, .y = s->flags, .z = op };

	if (!READ_ONCE(vm->tr.on) || !s2k_in_window(vm, s->hva, s->hva + s->size))
		return;
	s2k_trace_put(vm, &r);
}

void s2k_trace_harvest(struct s2k_vm *vm, u32 id, u64 set)
{
	struct s2k_trace_rec r = { .kind = S2K_TR_HARVEST, .x = id, .c = set };
	unsigned long lo, hi;
	bool in;

	if (!READ_ONCE(vm->tr.on))
		return;
	mutex_lock(&vm->slots_mutex);
	in = id < S2K_MAX_SLOTS && vm->slot_used[id];
	lo = in ? vm->slots[id].hva : 0;
	hi = in ? vm->slots[id].hva + vm->slots[id].size : 0;
	mutex_unlock(&vm->slots_mutex);
	if (in && s2k_in_window(vm, lo, hi))
		s2k_trace_put(vm, &r);
}

void s2k_trace_age(struct s2k_vm *vm, unsigned long hva, u64 size, u32 kind, int young)
{
	struct s2k_trace_rec r = { .kind = S2K_TR_AGE, .a = hva, .b = hva + size, .x = kind,
				   .y = young };

	if (!READ_ONCE(vm->tr.on) || !s2k_in_window(vm, hva, hva + size))
		return;
	s2k_trace_put(vm, &r);
}

void s2k_trace_verify(struct s2k_vm *vm, int vcpu, u64 gpa, unsigned long hva, u64 s2_pfn,
		      u64 host_pfn, u32 flags)
{
	struct s2k_trace_rec r = { .kind = S2K_TR_VERIFY, .a = gpa, .b = hva, .c = s2_pfn,
				   .d = host_pfn, .x = flags, .z = vcpu + 1 };

	if (!READ_ONCE(vm->tr.on) || !s2k_in_window(vm, hva, hva + 1))
		return;
	s2k_trace_put(vm, &r);
}

void s2k_trace_verify_done(struct s2k_vm *vm, u64 checked, u64 violations)
{
	struct s2k_trace_rec r = { .kind = S2K_TR_VERIFY_DONE, .c = checked, .d = violations };

	if (!READ_ONCE(vm->tr.on))
		return;
	s2k_trace_put(vm, &r);
}

int s2k_trace_ctl(struct s2k_vm *vm, const struct s2k_trace_ctl *c)
{
	struct s2k_trace *t = &vm->tr;
	struct s2k_trace_rec *recs = NULL, *old;

	if (c->enable > 1 || (c->enable && (c->capacity < 2 || c->capacity > S2K_TRACE_MAX_CAP ||
					    !c->size || c->hva + c->size < c->hva)))
		return -EINVAL;
	if (c->enable) {
		recs = kvcalloc(c->capacity, sizeof(*recs), GFP_KERNEL_ACCOUNT);
		if (!recs)
			return -ENOMEM;
	}
	spin_lock(&t->lock);
	if (!c->enable) {
		t->on = false;
		spin_unlock(&t->lock);
		return 0;
	}
	old = t->recs;
	t->recs = recs;
	t->cap = c->capacity;
	t->head = t->n = 0;
	t->dropped = t->dropped_total = 0;
	WRITE_ONCE(t->lo, c->hva);
	WRITE_ONCE(t->hi, c->hva + c->size);
	WRITE_ONCE(t->on, true);
	spin_unlock(&t->lock);
	/* hooks touch the buffer only under the lock */
	kvfree(old);
	return 0;
}

int s2k_trace_read(struct s2k_vm *vm, struct s2k_trace_read *rd)
{
	struct s2k_trace *t = &vm->tr;
	struct s2k_trace_rec *tmp;
	u32 got = 0, done = 0, want;
	int ret = 0;

	if (!rd->max)
		return -EINVAL;
	tmp = kmalloc_array(S2K_TRACE_READ_BATCH, sizeof(*tmp), GFP_KERNEL);
	if (!tmp)
		return -ENOMEM;
	while (done < rd->max) {
		want = min_t(u32, rd->max - done, S2K_TRACE_READ_BATCH);
		got = 0;
		spin_lock(&t->lock);
		while (got < want && t->n) {
			tmp[got++] = t->recs[t->head];
			t->head = (t->head + 1) % t->cap;
			t->n--;
		}
		/* Everything before the loss is out: the marker goes next. */
		if (got < want && !t->n && t->dropped) {
			tmp[got] = (struct s2k_trace_rec){ .kind = S2K_TR_DROP, .a = t->dropped };
			tmp[got++].seq = atomic64_inc_return(&s2k_trace_seq);
			t->dropped = 0;
		}
		rd->dropped_total = t->dropped_total;
		spin_unlock(&t->lock);
		if (!got)
			break;
		if (copy_to_user((void __user *)(uintptr_t)(rd->buf + (u64)done * sizeof(*tmp)),
				 tmp, got * sizeof(*tmp))) {
			ret = -EFAULT;	/* those records are lost to the reader */
			break;
		}
		done += got;
	}
	rd->got = done;
	kfree(tmp);
	return ret;
}

void s2k_trace_init(struct s2k_vm *vm)
{
	spin_lock_init(&vm->tr.lock);
}

void s2k_trace_free(struct s2k_vm *vm)
{
	kvfree(vm->tr.recs);
	vm->tr.recs = NULL;
}
