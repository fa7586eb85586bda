# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# make hyp / make hyp-test: the example EL2 hypervisor (hyp/, docs/hyp.md)
# on the arm64 EL2 platform (src/arch/arm64/), linked with the library's
# own sources (src/format, src/pgtable, src/mmu) built freestanding with
# the flags of the freestanding archive (mk/cross.mk CROSS_FREE_CFLAGS),
# booted under qemu-system-aarch64 for each configuration of the matrix,
# then the negative controls of the check image, each expected to fail.

HYP_DIR     := $(BUILD)/hyp
HYP_QEMU    ?= qemu-system-aarch64
# Each run lasts until it has 10^3 invalidations and 10^6 guest accesses;
# HYP_CAP_S, HYP_SMP4_CAP_S and HYP_NC_CAP_S (environment or command line)
# only bound a failing one (hyp/hyp-test.sh).

HYP_LIB_SRCS := $(wildcard src/format/*.c src/pgtable/*.c src/mmu/*.c)
HYP_LIB_OBJS := $(HYP_LIB_SRCS:%.c=$(HYP_DIR)/lib/%.o) \
	$(HYP_DIR)/lib/memset.o $(HYP_DIR)/lib/memcpy.o
HYP_SRCS     := hyp/main.c hyp/host.c hyp/console.c
HYP_OBJS     := $(HYP_SRCS:%.c=$(HYP_DIR)/%.o) $(HYP_DIR)/hyp/start.o \
	$(HYP_DIR)/hyp/guest.o $(HYP_DIR)/hyp/guest_entry.o

# The hypervisor: -mstrict-align for the few steps before its MMU is on
# (Device memory faults unaligned accesses), -fno-pie for a fixed link.
HYP_CFLAGS = $(CROSS_FREE_CFLAGS) -mstrict-align -fno-pie
# The guest runs at EL1 without FP/SIMD state of its own.
HYP_GUEST_CFLAGS = $(HYP_CFLAGS) -mgeneral-regs-only
HYP_LDFLAGS = -nostdlib -static -no-pie -Wl,--build-id=none -Wl,--no-warn-rwx-segments -Wl,-T,hyp/hyp.ld

.PHONY: hyp hyp-deps hyp-test

# Debian packages, installed when we are root, else the exact command.
hyp-deps: $(HYP_DIR)/.deps
$(HYP_DIR)/.deps:
	@mkdir -p $(HYP_DIR)
	@missing=""; \
	command -v $(CROSS_CC) >/dev/null || missing="$$missing gcc-aarch64-linux-gnu"; \
	command -v $(HYP_QEMU) >/dev/null || missing="$$missing qemu-system-arm"; \
	$(DEB_INSTALL_MISSING)
	@touch $@

$(HYP_DIR)/lib/%.o: %.c | $(HYP_DIR)/.deps
	@mkdir -p $(dir $@)
	$(CROSS_CC) $(CROSS_FREE_CFLAGS) -c $< -o $@

$(HYP_DIR)/lib/%.o: mk/cross/%.c | $(HYP_DIR)/.deps
	@mkdir -p $(dir $@)
	$(CROSS_CC) $(CROSS_FREE_CFLAGS) -fno-tree-loop-distribute-patterns -c $< -o $@

$(HYP_DIR)/arch/platform.o: src/arch/arm64/platform.c | $(HYP_DIR)/.deps
	@mkdir -p $(dir $@)
	$(CROSS_CC) $(CROSS_FREE_CFLAGS) -c $< -o $@

# The check variant: the negative-control switches compiled in.
$(HYP_DIR)/arch/platform-check.o: src/arch/arm64/platform.c | $(HYP_DIR)/.deps
	@mkdir -p $(dir $@)
	$(CROSS_CC) $(CROSS_FREE_CFLAGS) -DS2_EL2_CHECK -c $< -o $@

$(HYP_DIR)/hyp/guest.o: hyp/guest.c | $(HYP_DIR)/.deps
	@mkdir -p $(dir $@)
	$(CROSS_CC) $(HYP_GUEST_CFLAGS) -c $< -o $@

$(HYP_DIR)/hyp/%.o: hyp/%.c | $(HYP_DIR)/.deps
	@mkdir -p $(dir $@)
	$(CROSS_CC) $(HYP_CFLAGS) -c $< -o $@

$(HYP_DIR)/hyp/main-check.o: hyp/main.c | $(HYP_DIR)/.deps
	@mkdir -p $(dir $@)
	$(CROSS_CC) $(HYP_CFLAGS) -DS2_EL2_CHECK -c $< -o $@

$(HYP_DIR)/hyp/%.o: hyp/%.S | $(HYP_DIR)/.deps
	@mkdir -p $(dir $@)
	$(CROSS_CC) $(HYP_CFLAGS) -c $< -o $@

$(HYP_DIR)/hyp.elf: $(HYP_OBJS) $(HYP_DIR)/arch/platform.o $(HYP_LIB_OBJS) hyp/hyp.ld
	$(CROSS_CC) $(HYP_LDFLAGS) -o $@ $(filter %.o,$^)

$(HYP_DIR)/hyp-check.elf: $(filter-out $(HYP_DIR)/hyp/main.o,$(HYP_OBJS)) \
		$(HYP_DIR)/hyp/main-check.o $(HYP_DIR)/arch/platform-check.o $(HYP_LIB_OBJS) hyp/hyp.ld
	$(CROSS_CC) $(HYP_LDFLAGS) -o $@ $(filter %.o,$^)

hyp: $(HYP_DIR)/hyp.elf $(HYP_DIR)/hyp-check.elf

# HYP_SMP=4 boots the whole matrix with three vCPUs (55-115 s a
# configuration here, docs/hyp.md section 5); by default one -smp 4 run
# follows the -smp 2 matrix
HYP_SMP     ?= 2

hyp-test: hyp
	HYP_QEMU=$(HYP_QEMU) HYP_SMP=$(HYP_SMP) hyp/hyp-test.sh $(HYP_DIR)

-include $(shell find $(HYP_DIR) -name '*.d' 2>/dev/null)
