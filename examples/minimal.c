/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * A minimal embedding of s2mmu through its public API only: a VM with one
 * memslot, guest faults handled, and one host invalidation, on arm64
 * stage 2 and on Intel EPT with the same code.  The "host" is a fake whose
 * virtual range [HVA_BASE, +SLOT_SIZE) is backed by contiguous frames at
 * PA_BASE; a real embedder resolves HVAs through its own page tables and
 * wires its MMU-notifier callbacks to the s2_vm_mn_* handlers.
 *
 * Build: cc minimal.c $(pkg-config --cflags --libs s2mmu)
 */
#include <stdio.h>
#include <s2mmu/mmu.h>
#include <s2mmu/hosted.h>

#define GPA_BASE	0x40000000ULL
#define HVA_BASE	0x7f0000000000ULL
#define PA_BASE		0x100000000ULL
#define SLOT_SIZE	(16ULL << 20)
#define PAGE		4096ULL

/* The host: every page present and writable, mapped 4K at a time. */
static int host_resolve(void *host, s2_hva_t hva, bool write, struct s2_resolved *r)
{
	(void)host;
	(void)write;
	if (hva.v < HVA_BASE || hva.v >= HVA_BASE + SLOT_SIZE)
		return -S2_EFAULT;
	*r = (struct s2_resolved){ .pa = s2_hpa(PA_BASE + (hva.v - HVA_BASE)),
				   .writable = true };
	return 0;
}

static void host_put(void *host, const struct s2_resolved *r)
{
	(void)host;
	(void)r;	/* a real host drops the frame reference taken above */
}

static uint64_t host_mapping_size(void *host, s2_hva_t hva)
{
	(void)host;
	return hva.v - HVA_BASE < SLOT_SIZE ? PAGE : 0;
}

static const struct s2_host_ops host_ops = {
	.resolve = host_resolve,
	.put = host_put,
	.mapping_size = host_mapping_size,
};

/* What a vCPU run loop does on a stage-2 fault exit. */
static int guest_access(struct s2_vm *vm, uint64_t gpa, unsigned access,
			struct s2_memcache *mc)
{
	struct s2_fault_info info;
	int ret;

	do	/* -EAGAIN: an invalidation raced; re-enter and fault again */
		ret = s2_vm_fault(vm, s2_gpa(gpa), access, mc, &info);
	while (ret == -S2_EAGAIN);
	return ret;
}

static bool mapped(struct s2_vm *vm, uint64_t gpa)
{
	struct s2_mapping m;

	return !s2_pgt_lookup(s2_vm_pgtable(vm), s2_gpa(gpa), &m) && m.valid &&
	       m.pa.v + (gpa - m.ipa.v) == PA_BASE + (gpa - GPA_BASE);
}

static int run(const char *name, enum s2_format_id fmt, unsigned ia_bits)
{
	struct s2_hosted *plat = s2_hosted_new();
	struct s2_vm_cfg cfg = {
		.pgt = { .format = fmt, .granule_shift = 12, .ia_bits = ia_bits,
			 .plat = s2_hosted_platform(), .plat_ctx = plat },
		.host = &host_ops,
	};
	struct s2_memcache mc = S2_MEMCACHE_INIT;	/* one per vCPU */
	struct s2_vm *vm;
	uint64_t gpa = GPA_BASE + 5 * PAGE;
	int ok;

	if (!plat || s2_vm_create(&cfg, &vm))
		return 1;
	ok = !s2_vm_set_memslot(vm, 0, s2_gpa(GPA_BASE), SLOT_SIZE, s2_hva(HVA_BASE), 0);
	ok = ok && !guest_access(vm, gpa, S2_ACC_READ, &mc) && mapped(vm, gpa);
	ok = ok && !guest_access(vm, gpa, S2_ACC_WRITE, &mc);
	ok = ok && guest_access(vm, GPA_BASE + SLOT_SIZE, S2_ACC_READ, &mc) == -S2_EFAULT;
	/* The host unmaps the page (reclaim, migration): the notifier zaps it,
	 * the guest's next access faults it back in. */
	ok = ok && !s2_vm_mn_invalidate_range_start(vm, s2_hva(HVA_BASE + 5 * PAGE),
						    s2_hva(HVA_BASE + 6 * PAGE), true);
	if (ok)
		s2_vm_mn_invalidate_range_end(vm, s2_hva(HVA_BASE + 5 * PAGE),
					      s2_hva(HVA_BASE + 6 * PAGE));
	ok = ok && !mapped(vm, gpa);
	ok = ok && !guest_access(vm, gpa, S2_ACC_READ, &mc) && mapped(vm, gpa);
	printf("%s: %s\n", name, ok ? "faults, invalidation and refault ok" : "FAILED");
	s2_memcache_free(s2_vm_pgtable(vm), &mc);
	s2_vm_mn_release(vm);	/* the host's exit_mmap */
	s2_vm_destroy(vm);
	s2_hosted_free(plat);
	return !ok;
}

int main(void)
{
	return run("arm64 stage 2, 4K", S2_FMT_ARM64, 40) |
	       run("x86 EPT, 4-level", S2_FMT_EPT, 48);
}
