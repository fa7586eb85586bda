/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ioctl interface of /dev/s2mmu, shared by the module and the user-space
 * test (kernel/test/s2test.c).  One open file is one VM whose "host" is
 * the address space of the process that opened it; memslots map guest-
 * physical ranges onto ranges of that process, exactly as KVM's
 * KVM_SET_USER_MEMORY_REGION does.
 *
 * Every structure uses fixed-size fields with explicit padding so that the
 * layout is the same for the module and for any user-space ABI.
 */
#ifndef S2MMU_KMOD_UAPI_H
#define S2MMU_KMOD_UAPI_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define S2K_MAX_SLOTS	16
#define S2K_MAX_VCPUS	16
#define S2K_NR_VIOL	8	/* violations reported in detail */

/* s2k_slot.flags */
#define S2K_SLOT_READONLY	0x1
#define S2K_SLOT_DIRTY_LOG	0x2	/* log writes from the start */

struct s2k_slot {
	__u32 id;		/* 0..S2K_MAX_SLOTS-1 */
	__u32 flags;
	__u64 gpa;		/* page aligned */
	__u64 hva;		/* page aligned, in the opener's address space */
	__u64 size;		/* page aligned, non-zero */
};

/* s2k_access.flags */
#define S2K_ACC_WRITE	0x1

struct s2k_access {
	__u64 gpa;		/* 8-byte aligned */
	__u64 value;		/* in for writes, out for reads */
	__u32 vcpu;		/* selects the software TLB, < S2K_MAX_VCPUS */
	__u32 flags;
	__u32 faults;		/* out: stage-2 faults taken by this access */
	__u32 retries;		/* out: faults backed off (sequence protocol) */
};

/* Event kinds, in the order the counters are reported. */
enum s2k_event {
	S2K_EV_INV_START,
	S2K_EV_INV_END,
	S2K_EV_RELEASE,
	S2K_EV_CLEAR_FLUSH_YOUNG,
	S2K_EV_CLEAR_YOUNG,
	S2K_EV_TEST_YOUNG,
	S2K_EV_CHANGE_PTE,
	S2K_EV_NR
};

/* invalidate_range_start broken down by enum mmu_notifier_event. */
#define S2K_NR_REASONS	8

/*
 * Module counters, then the library's own (struct s2_vm_stats of
 * include/s2mmu/mmu.h) copied in by S2K_STATS.
 */
enum s2k_stat {
	S2K_ST_ACCESS,		/* guest accesses completed */
	S2K_ST_TLB_HIT,
	S2K_ST_WALK_HIT,	/* TLB miss, stage-2 leaf present and usable */
	S2K_ST_FAULT,		/* s2_vm_fault calls (no leaf, no W, AF clear) */
	S2K_ST_RETRY_SEQ,	/* fault backed off: sequence moved */
	S2K_ST_RETRY_RANGE,	/* fault backed off: invalidation in progress */
	S2K_ST_MAP,		/* leaves installed (core: installs) */
	S2K_ST_ZAP,		/* pages unmapped by invalidations (core) */
	S2K_ST_TLB_FLUSH,	/* software-TLB invalidations (TLB hooks) */
	S2K_ST_HOST_EFAULT,	/* host could not provide the frame */
	S2K_ST_YOUNG,		/* young answers given to the aging notifiers */
	S2K_ST_RETRY_RACE,	/* fault lost a cmpxchg to another vCPU */
	S2K_ST_RETRY_MEMSLOT,	/* memslots changed during the fault */
	S2K_ST_RELAX,		/* permission faults on a present leaf */
	S2K_ST_YOUNG_FAULT,	/* access-flag faults */
	S2K_ST_BLOCKS,		/* 2M/1G leaves installed */
	S2K_ST_SPURIOUS,	/* retries with no overlapping invalidation */
	S2K_ST_AFTER_RELEASE,	/* faults / handlers that found the table gone */
	S2K_ST_DIRTY_PAGES,	/* dirty-log bits set */
	S2K_ST_HARVESTS,	/* dirty-log harvests */
	S2K_ST_AGE_CALLS,	/* young handler calls (notifiers + S2K_AGE) */
	S2K_ST_SLOT_UPDATES,	/* memslot create/move/flag/delete */
	S2K_ST_TABLES,		/* live stage-2 table pages now (root excluded) */
	S2K_ST_NR
};

struct s2k_stats {
	__u64 ev[S2K_EV_NR];
	__u64 inv_reason[S2K_NR_REASONS];
	__u64 stat[S2K_ST_NR];
	__u64 entries;		/* valid stage-2 leaves now (4K pages covered in
				   entries_pages) */
	__u64 entries_pages;
	__u32 released;		/* notifier release has run */
	__u32 pad;
};

struct s2k_violation {
	__u64 gpa;
	__u64 hva;
	__u64 s2_pfn;
	__u64 host_pfn;		/* ~0 when the host maps nothing there */
	__u32 s2_writable;
	__u32 host_writable;
	__u32 kind;		/* S2K_VIOL_* */
	__u32 last_event;	/* enum s2k_event of the last notifier call */
	__u64 last_start, last_end;	/* its range (hva) */
};

#define S2K_VIOL_FRAME		1	/* stage 2 maps another frame than the host */
#define S2K_VIOL_PERM		2	/* stage 2 writable, host (or slot) not */
#define S2K_VIOL_TLB		3	/* TLB holds a translation stage 2 lacks */

struct s2k_verify {
	__u64 gpa;		/* in: range to verify; size 0 = everything */
	__u64 size;
	__u64 checked;		/* out: entries compared */
	__u64 violations;	/* out */
	__u64 raced;		/* out: entries skipped, invalidation kept racing */
	__u64 tlb_checked;	/* out */
	struct s2k_violation v[S2K_NR_VIOL];
};

/* S2K_DIRTY_LOG: turn logging of slot @id on (@enable 1) or off;
 * S2K_GET_DIRTY: harvest it into @bitmap (one bit per page of the slot,
 * @words 64-bit words) and write-protect the harvested pages again. */
struct s2k_dirty {
	__u32 id;
	__u32 enable;
	__u64 bitmap;		/* user pointer to __u64[words] */
	__u64 words;
	__u64 set;		/* out: bits set in the harvest */
};

/* S2K_AGE: run the library's young handler over the hva range that
 * [gpa, gpa+size) maps, as the host's aging notifiers would. */
#define S2K_AGE_TEST		0	/* test_young */
#define S2K_AGE_CLEAR		1	/* clear_young (no TLB flush) */
#define S2K_AGE_CLEAR_FLUSH	2	/* clear_flush_young */
struct s2k_age {
	__u64 gpa;
	__u64 size;
	__u32 kind;
	__u32 young;		/* out: any leaf was young */
};

/*
 * Recording (S2K_TRACE_CTL, S2K_TRACE_READ; docs/trace.md): what the kernel
 * did to a window of the VM's host address space, in order.  Each record
 * carries a sequence number from one counter shared by every VM, taken
 * under the VM's trace lock, so records of one VM are in append order and
 * records of two VMs can be merged.  The buffer is bounded: a record that
 * does not fit is counted, and the count comes out as one S2K_TR_DROP
 * record where the loss happened (never silent loss).
 */
enum s2k_trace_kind {
	S2K_TR_INV_START = 1,	/* a, b: hva range; x: mmu_notifier_event; y: blockable */
	S2K_TR_INV_END,		/* a, b: hva range; x: mmu_notifier_event */
	S2K_TR_RELEASE,		/* the notifier's release */
	S2K_TR_CFY,		/* clear_flush_young: a, b: hva range; y: young */
	S2K_TR_CY,		/* clear_young */
	S2K_TR_TY,		/* test_young */
	S2K_TR_CHANGE_PTE,	/* a: hva */
	S2K_TR_FAULT,		/* s2_vm_fault returned: a gpa, b hva, c frame (pfn),
				   d mapping size; x vcpu | S2K_TRF_*; y -errno
				   (S2 numbering) or 0; z retry cause */
	S2K_TR_ACCESS,		/* access done: a gpa, b hva, c frame used (~0 on
				   error), d faults | retries << 32; x vcpu |
				   S2K_TRF_*; y -errno or 0 (only the first
				   retry of an access has a FAULT record) */
	S2K_TR_SLOT,		/* a gpa, b hva, c size; x id; y S2K_SLOT_* flags;
				   z S2K_TRS_* */
	S2K_TR_HARVEST,		/* x slot id; c bits set */
	S2K_TR_AGE,		/* the AGE ioctl: a, b hva range; x S2K_AGE_*; y young */
	S2K_TR_VERIFY,		/* one compared page: a gpa, b hva, c stage-2 pfn, d
				   host pfn (~0: host maps nothing); x S2K_TRV_*;
				   z vcpu + 1 for a TLB entry, 0 for stage 2 */
	S2K_TR_VERIFY_DONE,	/* c checked, d violations */
	S2K_TR_DROP,		/* a: records lost here */
	S2K_TR_NR
};

#define S2K_TRF_WRITE		0x100	/* in x: the access writes */
#define S2K_TRV_S2_W		0x1	/* stage 2 (or TLB) writable */
#define S2K_TRV_HOST_W		0x2	/* host pte writable */
#define S2K_TRV_VIOL		0x4	/* reported as a violation */
#define S2K_TRS_ADD		1
#define S2K_TRS_DEL		2
#define S2K_TRS_FLAGS		3	/* dirty logging toggled */

struct s2k_trace_rec {
	__u64 seq;
	__u64 a, b, c, d;
	__u32 kind;		/* enum s2k_trace_kind */
	__u32 tid;		/* kernel task id that did it */
	__u32 x, y, z;
	__u32 pad;
};

/* S2K_TRACE_CTL: @enable 1 starts recording into a fresh buffer of
 * @capacity records (1..1<<20), keeping only what touches host addresses
 * [@hva, @hva + @size); 0 stops (the buffer stays readable). */
struct s2k_trace_ctl {
	__u64 hva;
	__u64 size;
	__u32 capacity;
	__u32 enable;
};

/* S2K_TRACE_READ: move up to @max records (oldest first) to @buf;
 * @got records were written; @dropped_total counts every record lost
 * since recording was enabled. */
struct s2k_trace_read {
	__u64 buf;		/* user pointer to struct s2k_trace_rec[max] */
	__u32 max;
	__u32 got;
	__u64 dropped_total;
};

/*
 * S2K_ATTACH: replace the file's VM by a new one whose host is the
 * address space of the process @pidfd refers to (pidfd_open), instead of
 * the opener's: memslots then give ranges of that process, and its
 * page-table changes reach the VM through an MMU notifier on its mm.
 * Needs the right to read that process's memory (as process_vm_readv);
 * -EBUSY once the file's VM has a memslot.  When the target exits its
 * exit_mmap releases the VM: accesses then fail with ESRCH.
 *
 * S2K_ATTACH_NOFAULT: a passive mirror that never faults the target's
 * memory in: a guest access to a page the target does not map now fails
 * with EFAULT instead of populating it (GUP with FOLL_NOFAULT).  For
 * targets that watch their own faults (userfaultfd).
 */
#define S2K_ATTACH_NOFAULT	0x1

struct s2k_attach {
	__s32 pidfd;
	__u32 flags;		/* S2K_ATTACH_* */
	__s32 pid;		/* out: the target's pid in the caller's namespace */
	__u32 pad;
};

#define S2K_IOC_MAGIC	0xB2
#define S2K_SLOT_ADD	_IOW(S2K_IOC_MAGIC, 1, struct s2k_slot)
#define S2K_SLOT_DEL	_IOW(S2K_IOC_MAGIC, 2, struct s2k_slot)
#define S2K_ACCESS	_IOWR(S2K_IOC_MAGIC, 3, struct s2k_access)
#define S2K_STATS	_IOR(S2K_IOC_MAGIC, 4, struct s2k_stats)
#define S2K_VERIFY	_IOWR(S2K_IOC_MAGIC, 5, struct s2k_verify)
#define S2K_DIRTY_LOG	_IOW(S2K_IOC_MAGIC, 6, struct s2k_dirty)
#define S2K_GET_DIRTY	_IOWR(S2K_IOC_MAGIC, 7, struct s2k_dirty)
#define S2K_AGE		_IOWR(S2K_IOC_MAGIC, 8, struct s2k_age)
#define S2K_ATTACH	_IOWR(S2K_IOC_MAGIC, 9, struct s2k_attach)
#define S2K_TRACE_CTL	_IOW(S2K_IOC_MAGIC, 10, struct s2k_trace_ctl)
#define S2K_TRACE_READ	_IOWR(S2K_IOC_MAGIC, 11, struct s2k_trace_read)

#endif
