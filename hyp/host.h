/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* The host side of the example hypervisor: global state, host mm, vCPUs. */
#ifndef HYP_HOST_H
#define HYP_HOST_H

#include "hyp.h"

#define PSCI_CPU_ON	0xC4000003ULL
#define PSCI_SYSTEM_OFF	0x84000008ULL

struct vcpu_stats {
	uint64_t accesses;		/* the guest's own count, last report */
	uint64_t exits, hvcs;
	uint64_t faults, f_trans, f_af, f_perm, f_s1ptw, f_exec;
	/* write permission faults on writable-clean (DBM) leaves of slot 1
	 * while it logs in hardware mode: none if the CPU's HD records the
	 * writes as it should */
	uint64_t f_dirty_wp;
	uint64_t retries, at_retries;
	uint32_t ready, done;
} __attribute__((aligned(64)));

struct hyp {
	/* configuration */
	unsigned granule_shift, nc, ncpus, nvcpu;
	uint64_t run_ms, seed, churn_us, min_inval, min_accesses;
	bool no_ha;
	bool dirty_hw;		/* dirty logging in hardware mode */
	bool no_hd;		/* ...with VTCR_EL2.HD clear (a control) */
	struct el2_features feat;
	/* the VM */
	struct el2_plat plat;
	struct s2_vm *vm;
	uint64_t hcr, vtcr, vttbr;
	uint32_t go, stop;
	uint64_t mismatches;		/* every oracle failure */
	struct vcpu_stats vs[EL2_MAX_CPUS];
};

extern struct hyp hyp;

uint64_t now_ticks(void);
uint64_t ms_to_ticks(uint64_t ms);
int host_init(void);
void host_run(void);
void vcpu_run(unsigned v);

#endif
