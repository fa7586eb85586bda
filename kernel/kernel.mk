# SPDX-License-Identifier: GPL-2.0-only
#
# `make kernel-test`: run s2mmu as the secondary MMU of a process inside a
# real Linux kernel and check it against the kernel's own page tables.
#
#   Debian 12 stock kernel (apt-get download, dpkg -x; nothing installed)
#   -> out-of-tree module built against its headers with gcc-12
#   -> static test program + busybox initramfs
#   -> qemu-system-x86_64 with software emulation (no /dev/kvm needed)
#   -> pass only on the test's PASS marker, a notifier release, and a
#      console log free of kernel BUG / WARNING / Oops / KASAN reports.
#
# Included by the top Makefile, or standalone:
#   make -f kernel/kernel.mk kernel-test
# Everything is built under $(BUILD)/kernel; the downloaded .debs are kept
# in $(BUILD)/kernel/cache and reused (KERNEL_CACHE= to share one).
# docs/kernel.md describes the pipeline and its timings.

BUILD ?= build
# Where this fragment lives, so that it works whatever the current
# directory's Makefile is (the top one, or none with -f).
S2K_SRC      := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
S2K_TOP      := $(abspath $(S2K_SRC)/..)
S2K_OUT      := $(BUILD)/kernel
KERNEL_CACHE ?= $(S2K_OUT)/cache
S2K_ROOT     := $(S2K_OUT)/root
S2K_MOD      := $(S2K_OUT)/mod
S2K_INITRD   := $(S2K_OUT)/initramfs
KERNEL_CC    ?= gcc-12
KERNEL_TEST_TIMEOUT ?= 300
KERNEL_TEST_MEM ?= 1536
KERNEL_TEST_SMP ?= 2
# Schedules per window when kernel-test replays its recordings.
KERNEL_REPLAY_BUDGET ?= 5
# Extra kernel command line (e.g. KERNEL_TEST_APPEND=s2test.quick=1).
KERNEL_TEST_APPEND ?=

# The library's core, built into the module unmodified (not src/hosted).
S2K_LIB_DIRS := format pgtable mmu
S2K_MOD_SRCS := $(wildcard $(S2K_SRC)/*.c $(S2K_SRC)/*.h) $(S2K_SRC)/Kbuild \
		$(wildcard $(S2K_TOP)/include/s2mmu/*.h) \
		$(foreach d,$(S2K_LIB_DIRS),$(wildcard $(S2K_TOP)/src/$(d)/*.[ch]))

S2K_SNG      := $(S2K_OUT)/stress-ng
# stress-ng run by the mirror test (kernel/test/s2mirror.c), which picks
# the stressors: a short list in kernel-test, all in kernel-test-long.
KERNEL_TEST_LONG_TIMEOUT ?= 900
# init dumps every task's stack this long into the long run (a hang's
# diagnosis), before the timeout kills qemu.
KERNEL_TEST_LONG_WATCHDOG ?= 840

.PHONY: kernel-test kernel-test-long kernel-record kernel-module kernel-fetch kernel-deps kernel-clean \
	kernel-stress-ng

# Host packages the pipeline runs.  Installed when we are root, otherwise
# we stop with the exact command (same policy as the top Makefile's deps).
S2K_PKGS := qemu-system-x86 busybox-static cpio gcc-12 libc6-dev libelf1 libssl3 binutils
kernel-deps: $(S2K_OUT)/.deps
$(S2K_OUT)/.deps:
	@mkdir -p $(S2K_OUT)
	@missing=""; \
	command -v qemu-system-x86_64 >/dev/null || missing="$$missing qemu-system-x86"; \
	{ [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; } || missing="$$missing busybox-static"; \
	command -v cpio >/dev/null || missing="$$missing cpio"; \
	command -v objdump >/dev/null || missing="$$missing binutils"; \
	command -v gcc-12 >/dev/null || missing="$$missing gcc-12"; \
	for p in libc6-dev libelf1 libssl3; do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "kernel: installing:$$missing"; \
	    { apt-cache show gcc-12 >/dev/null 2>&1 || apt-get update -qq; } && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing || exit 1; \
	  else \
	    echo "kernel: missing Debian packages; run: sudo apt-get install -y --no-install-recommends$$missing"; \
	    exit 1; \
	  fi; \
	fi
	@touch $@

# Kernel image + headers.  The version comes from apt-cache (or from the
# cache), see kernel/scripts/fetch-kernel.sh.
kernel-fetch: $(S2K_ROOT)/version
$(S2K_ROOT)/version: $(S2K_SRC)/scripts/fetch-kernel.sh | $(S2K_OUT)/.deps
	$(S2K_SRC)/scripts/fetch-kernel.sh $(KERNEL_CACHE) $(S2K_ROOT)

# Debian's stress-ng and the shared objects it loads, for the guest; the
# .debs are cached next to the kernel's and reused offline, see
# kernel/scripts/fetch-stress-ng.sh.
kernel-stress-ng: $(S2K_SNG)/rootfs/usr/bin/stress-ng
$(S2K_SNG)/rootfs/usr/bin/stress-ng: $(S2K_SRC)/scripts/fetch-stress-ng.sh | $(S2K_OUT)/.deps
	$(S2K_SRC)/scripts/fetch-stress-ng.sh $(KERNEL_CACHE)/stress-ng $(S2K_SNG)

# Kbuild writes its objects next to the sources (M=), so build a copy.
kernel-module: $(S2K_MOD)/s2mmu.ko
$(S2K_MOD)/s2mmu.ko: $(S2K_MOD_SRCS) $(S2K_ROOT)/version
	@mkdir -p $(S2K_MOD)
	@# A file removed from kernel/ or src/ must not linger in the copy,
	@# where a stale header could still satisfy an include.
	rm -f $(S2K_MOD)/*.c $(S2K_MOD)/*.h
	cp $(S2K_SRC)/*.c $(S2K_SRC)/*.h $(S2K_SRC)/Kbuild $(S2K_MOD)/
	rm -rf $(S2K_MOD)/lib
	for d in $(S2K_LIB_DIRS); do mkdir -p $(S2K_MOD)/lib/$$d && \
		cp $(S2K_TOP)/src/$$d/*.[ch] $(S2K_MOD)/lib/$$d/ || exit 1; done
	$(MAKE) -s -C $(S2K_ROOT)/usr/src/headers M=$(abspath $(S2K_MOD)) \
		CC=$(KERNEL_CC) S2MMU_INCLUDE=$(S2K_TOP)/include modules

# The test runs as init's child in the guest: static, no libc in there.
$(S2K_OUT)/s2test: $(S2K_SRC)/test/s2test.c $(S2K_SRC)/test/s2trace.h $(S2K_SRC)/test/s2util.h $(S2K_SRC)/s2mmu_uapi.h | $(S2K_OUT)/.deps
	@mkdir -p $(S2K_OUT)
	$(KERNEL_CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -static -pthread \
		-I$(S2K_SRC) -o $@ $< -lpthread

$(S2K_OUT)/s2mirror: $(S2K_SRC)/test/s2mirror.c $(S2K_SRC)/test/s2trace.h $(S2K_SRC)/test/s2util.h $(S2K_SRC)/s2mmu_uapi.h | $(S2K_OUT)/.deps
	@mkdir -p $(S2K_OUT)
	$(KERNEL_CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -static -pthread \
		-I$(S2K_SRC) -o $@ $< -lpthread

# Uncompressed newc archive: packing and unpacking gzip would cost more
# boot time under emulation than the few MB it saves.
$(S2K_OUT)/initramfs.cpio: $(S2K_SRC)/scripts/init $(S2K_MOD)/s2mmu.ko $(S2K_OUT)/s2test \
		$(S2K_OUT)/s2mirror $(S2K_SNG)/rootfs/usr/bin/stress-ng
	rm -rf $(S2K_INITRD)
	mkdir -p $(S2K_INITRD)/bin $(S2K_INITRD)/lib/modules $(S2K_INITRD)/proc \
		$(S2K_INITRD)/sys $(S2K_INITRD)/dev $(S2K_INITRD)/tmp
	cp /bin/busybox $(S2K_INITRD)/bin/busybox
	cp $(S2K_SRC)/scripts/init $(S2K_INITRD)/init
	chmod 755 $(S2K_INITRD)/init
	cp $(S2K_MOD)/s2mmu.ko $(S2K_OUT)/s2test $(S2K_OUT)/s2mirror $(S2K_INITRD)/
	cp -a $(S2K_SNG)/rootfs/. $(S2K_INITRD)/
	# zram swap for the reclaim phase, when the image ships the modules
	-cp $$(find $(S2K_ROOT)/lib/modules -name zsmalloc.ko -o -name zram.ko) \
		$(S2K_INITRD)/lib/modules/ 2>/dev/null
	cd $(S2K_INITRD) && find . | cpio -o -H newc --quiet > $(abspath $@).tmp
	mv $@.tmp $@

# Boot the initramfs: $(1) extra kernel command line, $(2) timeout (s).
define s2k_boot
	@echo "kernel: booting $$(cat $(S2K_ROOT)/version) under qemu (TCG, $(KERNEL_TEST_SMP) vCPUs, $(KERNEL_TEST_MEM)M)"
	@rm -f $(S2K_OUT)/console.log
	@start=$$(date +%s); \
	timeout --foreground -k 5 $(2) qemu-system-x86_64 \
		-accel tcg,thread=multi -cpu max -smp $(KERNEL_TEST_SMP) -m $(KERNEL_TEST_MEM) \
		-nographic -no-reboot -nodefaults -serial stdio -serial file:$(S2K_OUT)/traces.raw \
		-kernel $(S2K_ROOT)/boot/vmlinuz -initrd $(S2K_OUT)/initramfs.cpio \
		-append "console=ttyS0 panic=-1 mitigations=off $(1) $(KERNEL_TEST_APPEND)" \
		< /dev/null 2>&1 | tee $(S2K_OUT)/console.log; \
	echo "kernel: qemu ran $$(( $$(date +%s) - start ))s"
	@$(S2K_SRC)/scripts/split-traces.sh $(S2K_OUT)/traces.raw $(S2K_OUT)
	@$(S2K_SRC)/scripts/check-log.sh $(S2K_OUT)/console.log
	@# What the kernel just did, replayed against the library and the
	@# host model (docs/trace.md), when the check build is there.
	@if [ -x $(BUILD)/check/s2mmu-check ]; then \
	  for t in $(S2K_OUT)/trace-*.s2trace; do [ -f "$$t" ] || continue; \
	    out=$$($(BUILD)/check/s2mmu-check --trace $$t --budget $(KERNEL_REPLAY_BUDGET)); \
	    rc=$$?; echo "kernel: replay of $$t: $$(echo "$$out" | tail -1)"; \
	    [ $$rc = 0 ] || { echo "$$out"; exit 1; }; \
	  done; fi
endef

# Always boots: the result is the test run, not a file.
kernel-test: $(S2K_OUT)/initramfs.cpio $(S2K_ROOT)/version
	$(call s2k_boot,,$(KERNEL_TEST_TIMEOUT))

# Every stressor of the mirror test, each for longer (not in CI).
kernel-test-long: $(S2K_OUT)/initramfs.cpio $(S2K_ROOT)/version
	$(call s2k_boot,s2mirror.long=1 s2init.watchdog=$(KERNEL_TEST_LONG_WATCHDOG),$(KERNEL_TEST_LONG_TIMEOUT))

# kernel-test recording more phases, with bigger buffers (docs/trace.md):
# build/kernel/trace-<phase>.s2trace for `s2mmu check --trace`.
KERNEL_RECORD ?= DONTNEED,munmap+mmap,mprotect,mremap,fork+COW,THP,pageout
KERNEL_RECORD_CAP ?= 65536
# stress-ng stressors whose mirrors s2mirror records ("all": every one run)
KERNEL_RECORD_MIRROR ?= all
# each mirror records its target's whole address space, then keeps a window
KERNEL_RECORD_MIRROR_CAP ?= 262144
kernel-record:
	$(MAKE) -f $(S2K_SRC)/kernel.mk kernel-test BUILD=$(BUILD) \
		KERNEL_TEST_APPEND="$(KERNEL_TEST_APPEND) s2test.record=$(KERNEL_RECORD) s2test.reccap=$(KERNEL_RECORD_CAP) s2mirror.record=$(KERNEL_RECORD_MIRROR) s2mirror.reccap=$(KERNEL_RECORD_MIRROR_CAP)"

kernel-clean:
	rm -rf $(S2K_MOD) $(S2K_INITRD) $(S2K_ROOT) $(S2K_SNG) $(S2K_OUT)/s2test $(S2K_OUT)/s2mirror \
		$(S2K_OUT)/initramfs.cpio $(S2K_OUT)/console.log $(S2K_OUT)/.deps \
		$(S2K_OUT)/traces.raw $(S2K_OUT)/trace-*.s2trace*
