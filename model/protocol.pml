/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Promela model of the s2mmu coherence protocol (DESIGN.md section 4):
 * the vCPU fault path, the host's invalidate_range_start / _end pair
 * around a change of the host page table, and release from exit_mmap.
 *
 * Checked invariants (DESIGN.md section 7):
 *   I1  a completed guest access never uses a frame the host has taken away
 *       from that address since invalidate_range_start returned;
 *   I4  nothing dereferences the stage-2 table pointer once release has
 *       set it to NULL.
 *
 * Bug switches (spin -DNAME), one guard of the fault path removed each:
 *   fault_no_retry          the sequence is not compared under the lock
 *   seq_snapshot_late       the sequence is sampled after the frame lookup
 *   ignore_in_progress      the in-progress count / range is not consulted
 *   release_null_pgt_fault  the released (NULL) table is not checked for
 *
 * Scope: 2 vCPUs making NACCESS accesses each, 2 guest pages behind one
 * identity memslot, 3 host frames, 2 invalidations (the second over one
 * page or both, chosen by the checker) and one release. Memory is
 * sequentially consistent here; the barriers the C code needs for the
 * lockless sequence read are not what this model checks.
 */

#define NVCPU    2
#define NPAGES   2
#define NFRAMES  3          /* frames are 1..NFRAMES, 0 means "none" */
#define NACCESS  2
#define NULL     0

/*
 * A stage-2 (or TLB) entry carries the frame and, as ghost state, the
 * generation the frame had when the fault resolved it. The generation
 * is what catches a frame that was freed and handed back to the same
 * address (ABA): the frame number alone would still match.
 */
#define ENT(f, g)   ((g) * 4 + (f))
#define ENT_F(e)    ((e) % 4)
#define ENT_G(e)    ((e) / 4)

/* ---- host primary MMU ------------------------------------------------ */
byte hpt[NPAGES];           /* host PTE of hva p: frame or 0 */
bool fused[NFRAMES + 1];    /* frame allocated */
byte fgen[NFRAMES + 1];     /* bumped on every free of the frame */
/*
 * Ghost: how many invalidations covering p have returned from
 * invalidate_range_start and not yet changed the host PTE, plus one
 * forever once release returned. While it is non-zero the host considers
 * the current frame of p taken away from the guest.
 */
byte gone[NPAGES];

/* ---- s2_vm --------------------------------------------------------- */
byte pgt = 1;               /* stage-2 table pointer; NULL after release */
byte spt[NPAGES];           /* stage-2 leaf entries: ENT() or 0 */
byte tlb[NVCPU * NPAGES];   /* per-vCPU TLB: ENT() or 0 */
byte mmu_seq;               /* invalidation sequence */
byte inprog;                /* invalidations between start and end */
byte range_lo, range_hi;    /* union of the in-progress ranges */

/* mmu_lock: an rwlock, faults shared, notifier handlers exclusive */
bool wr;
byte rd;

inline read_lock()    { atomic { !wr -> rd++ } }
inline read_unlock()  { rd-- }
inline write_lock()   { atomic { !wr && rd == 0 -> wr = true } }

/*
 * The host moves hva p to a new frame, then frees the old one (migration,
 * COW break). With one spare frame the frame freed here is the next one
 * handed out, so within two invalidations a stale stage-2 entry can point
 * at a frame now owned by the other address, or freed and given back to
 * the same address: both kinds of reuse are reachable.
 */
byte nf;
inline host_replace(p)
{
	if
	:: hpt[p] != 0 ->
		nf = 1;
		do
		:: fused[nf] -> nf++
		:: else -> break
		od;
		fused[nf] = true;
		fused[hpt[p]] = false;
		fgen[hpt[p]]++;
		hpt[p] = nf;
		nf = 0
	:: else		/* exit_mmap already tore the mapping down */
	fi
}

proctype vcpu(byte id)
{
	byte n, p, seq, f, g, e;
	bool retry;

next:
	if
	:: n == NACCESS -> goto done
	:: else
	fi;
	if
	:: p = 0
	:: p = 1
	fi;

fault:
	/* memslot lookup: one identity slot, gfn p is hva p. */
#ifndef seq_snapshot_late
	/*
	 * Sampled before the host lookup: any invalidation whose end runs
	 * after this read bumps mmu_seq, so a frame the lookup returns that
	 * such an invalidation took away is caught under the lock.
	 */
	seq = mmu_seq;
	printf("vcpu%d: gfn %d: snapshot seq %d\n", id, p, seq);
#endif
	/* Resolve hva -> frame in the host: one read of the host PTE. */
	atomic {
		f = hpt[p]; g = fgen[f];
		printf("vcpu%d: gfn %d: host maps frame %d gen %d\n", id, p, f, g)
	}
#ifdef seq_snapshot_late
	seq = mmu_seq;
	printf("vcpu%d: gfn %d: snapshot seq %d\n", id, p, seq);
#endif
	if
	:: f == 0 -> goto done	/* the mm is gone: the fault fails, vCPU exits */
	:: else
	fi;

	/*
	 * Taking the lock and testing are one step: everything tested only
	 * changes under the exclusive lock, so no interleaving is lost.
	 */
	atomic {
		read_lock();
		retry = false;
#ifndef release_null_pgt_fault
		/*
		 * exit_mmap may release the table while this vCPU is between
		 * the host lookup and the lock (seed 001): nothing to install
		 * into any more, the fault fails.
		 */
		if
		:: pgt == NULL ->
			printf("vcpu%d: table released, fault fails\n", id);
			read_unlock(); goto done
		:: else
		fi;
#endif
#ifndef fault_no_retry
		/* An invalidation completed after the snapshot: f may be stale. */
		if
		:: seq != mmu_seq -> retry = true
		:: else
		fi;
#endif
#ifndef ignore_in_progress
		/*
		 * An invalidation of p has returned from start but not reached
		 * end: mmu_seq has not moved yet, yet the host may be changing
		 * or may already have changed p's PTE behind the lookup.
		 */
		if
		:: inprog > 0 && range_lo <= p && p <= range_hi -> retry = true
		:: else
		fi;
#endif
		if
		:: !retry ->
			printf("vcpu%d: gfn %d: install frame %d (seq %d, in progress %d)\n",
			       id, p, f, mmu_seq, inprog);
			assert(pgt != NULL);	/* I4: install walks the table */
			/* Parallel faults install by compare-and-exchange. */
			if
			:: spt[p] == 0 -> spt[p] = ENT(f, g)
			:: else
			fi
		:: else ->
			printf("vcpu%d: gfn %d: back off, retry\n", id, p)
		fi
	}
	read_unlock();
	if
	:: retry -> goto fault
	:: else
	fi;

	/*
	 * Guest access: TLB, else a hardware walk of the stage-2 table. It
	 * takes no lock, so it also runs inside a notifier's critical section.
	 */
	atomic {
		e = tlb[id * NPAGES + p];
		if
		:: e == 0 && pgt != NULL -> e = spt[p]; tlb[id * NPAGES + p] = e
		:: else
		fi;
		if
		:: e != 0 ->
			printf("vcpu%d: gfn %d: guest access frame %d (host: frame %d, taken %d)\n",
			       id, p, ENT_F(e), hpt[p], gone[p]);
			/* I1 */
			assert(gone[p] == 0 && hpt[p] == ENT_F(e) &&
			       fgen[ENT_F(e)] == ENT_G(e))
		:: else
		fi
	}
	/* Dead locals are cleared so that they do not split states. */
	if
	:: e == 0 -> goto fault		/* zapped again: stage-2 fault */
	:: else -> atomic { n++; seq = 0; f = 0; g = 0; e = 0 }; goto next
	fi;
done:
	atomic { n = 0; p = 0; seq = 0; f = 0; g = 0; e = 0; retry = false }
}

proctype invalidate(byte lo; byte hi)
{
	byte p;

	/* invalidate_range_start */
	atomic {
		write_lock();
		printf("inv[%d,%d]: range_start\n", lo, hi);
		inprog++;
		/*
		 * Widen, never overwrite: a fault must still back off for
		 * the range of an older invalidation that has not ended.
		 */
		if
		:: inprog == 1 -> range_lo = lo; range_hi = hi
		:: else ->
			if :: lo < range_lo -> range_lo = lo :: else fi;
			if :: hi > range_hi -> range_hi = hi :: else fi
		fi;
		/*
		 * exit_mmap may have released the table while this
		 * callback was on its way (reclaim and migration run
		 * concurrently with process exit): nothing left to zap.
		 */
		if
		:: pgt != NULL ->
			assert(pgt != NULL);	/* I4: the zap walks the table */
			p = lo;
			do
			:: p <= hi -> spt[p] = 0; p++
			:: else -> break
			od;
			p = 0
		:: else
		fi
	}
	/*
	 * Between the zap and this TLB invalidation a vCPU may still hit
	 * the old translation; that is allowed only until start returns.
	 */
	atomic {
		p = 0;
		do
		:: p < NVCPU * NPAGES ->
			if
			:: p % NPAGES >= lo && p % NPAGES <= hi -> tlb[p] = 0
			:: else
			fi;
			p++
		:: else -> break
		od;
		p = 0
	}
	atomic {
		printf("inv[%d,%d]: range_start returns\n", lo, hi);
		wr = false;
		p = lo;
		do
		:: p <= hi -> gone[p]++; p++
		:: else -> break
		od;
		p = 0
	}

	/* The host changes its page table and frees the old frames. */
	atomic {
		p = lo;
		do
		:: p <= hi ->
			host_replace(p);
			printf("host: hva %d now frame %d\n", p, hpt[p]);
			gone[p]--; p++
		:: else -> break
		od;
		p = 0
	}

	/* invalidate_range_end */
	atomic {
		write_lock();
		/*
		 * Sequence before count, as Linux orders it: a fault that
		 * peeks without the lock (the C code's early bail-out, not
		 * modelled) must never see the count drop without the
		 * sequence having moved. Under the lock the order is moot.
		 */
		mmu_seq++;
		inprog--;
		printf("inv[%d,%d]: range_end, seq %d\n", lo, hi, mmu_seq);
		wr = false
	}
}

proctype release()
{
	byte p;

	/* exit_mmap -> mmu_notifier_release */
	atomic {
		write_lock();
		/* I4: a second release would zap through a NULL table. */
		assert(pgt != NULL);
		p = 0;
		do
		:: p < NPAGES -> spt[p] = 0; p++
		:: else -> break
		od;
		p = 0
	}
	atomic {
		p = 0;
		do
		:: p < NVCPU * NPAGES -> tlb[p] = 0; p++
		:: else -> break
		od;
		p = 0
	}
	atomic {
		pgt = NULL;
		printf("release: table zapped, pgt = NULL\n");
		wr = false;
		p = 0;
		do
		:: p < NPAGES -> gone[p]++; p++
		:: else -> break
		od;
		p = 0
	}
	/*
	 * exit_mmap goes on to unmap every VMA with the notifiers already
	 * unregistered: the frames are freed without another callback.
	 */
	atomic {
		p = 0;
		do
		:: p < NPAGES ->
			if
			:: hpt[p] != 0 ->
				fused[hpt[p]] = false;
				fgen[hpt[p]]++;
				hpt[p] = 0
			:: else
			fi;
			p++
		:: else -> break
		od;
		p = 0
	}
}

init
{
	atomic {
		hpt[0] = 1; fused[1] = true;
		hpt[1] = 2; fused[2] = true;
		run vcpu(0);
		run vcpu(1);
		run invalidate(0, 0);
		if
		:: run invalidate(1, 1)
		:: run invalidate(0, 1)
		fi;
		run release()
	}
}
