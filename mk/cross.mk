# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# make cross-test: the library (src/format, src/pgtable, src/mmu: the
# hosted archive's objects less src/hosted, its platform) built
# freestanding for aarch64 with Debian's cross compiler, checked to need
# nothing but its platform hooks, then the engine tests built for aarch64
# against those very objects and run under qemu-aarch64 (DESIGN.md
# section 2: src/ is built unmodified hosted, freestanding and in the
# kernel).

CROSS_PREFIX ?= aarch64-linux-gnu-
CROSS_CC     ?= $(CROSS_PREFIX)gcc
CROSS_AR     ?= $(CROSS_PREFIX)ar
CROSS_NM     ?= $(CROSS_PREFIX)nm
CROSS_QEMU   ?= qemu-aarch64
CROSS_DIR    := $(BUILD)/cross
# Operations per format of the differential test under emulation
# (make test runs 200000 natively).
CROSS_PROPERTY_OPS ?= 20000

CROSS_CORE_SRCS := $(wildcard src/format/*.c src/pgtable/*.c src/mmu/*.c)
CROSS_CORE_OBJS := $(CROSS_CORE_SRCS:%.c=$(CROSS_DIR)/core/%.o)
# GCC requires memset/memcpy of any freestanding environment; fallbacks
# for embedders without them (mk/cross/memset.c says why).
CROSS_LIBC_SRCS := mk/cross/memset.c mk/cross/memcpy.c
CROSS_LIBC_OBJS := $(CROSS_LIBC_SRCS:mk/cross/%.c=$(CROSS_DIR)/core/%.o)
CROSS_LIB       := $(CROSS_DIR)/libs2mmu-freestanding.a

# -nostdinc plus the compiler's own include directory: only the headers a
# freestanding implementation must provide (stdint.h, stddef.h, stdbool.h)
# are reachable, so a stray libc include fails the build.
# -mno-outline-atomics: the default outlines every atomic into libgcc
# helpers (__aarch64_cas8_acq_rel, ...) that pick LSE or LL/SC through
# getauxval(AT_HWCAP), which no bare-metal or EL2 embedder has; inline
# LL/SC runs on every Armv8.0 CPU.
CROSS_FREE_CFLAGS = $(CSTD) $(WARN) -O2 -g -ffreestanding -nostdlib -fno-builtin \
	-mno-outline-atomics -nostdinc -isystem $(shell $(CROSS_CC) -print-file-name=include) \
	-Iinclude -I. -MMD -MP

# The tests are ordinary hosted aarch64 programs, linked statically so that
# qemu-aarch64 needs no aarch64 root file system.  The hosted platform
# needs nothing beyond the cross sysroot's libc and kernel headers (its RCU
# is its own, on membarrier(2)), so no host header is searched at all.
CROSS_HOST_CFLAGS = $(CSTD) $(WARN) -O2 -g -D_GNU_SOURCE -pthread -Iinclude -I. -MMD -MP
CROSS_HOST_LIBS = -lpthread -lm

CROSS_TESTS := $(CROSS_DIR)/tests/pgt_unit.t $(CROSS_DIR)/tests/pgt_property.t
# The tests' platform: src/hosted, built hosted for aarch64.
CROSS_HOSTED_OBJS := $(patsubst %.c,$(CROSS_DIR)/host/%.o,$(wildcard src/hosted/*.c))
# Keep the aarch64 objects between runs (make would delete them as
# intermediates of the pattern rules).
.SECONDARY: $(CROSS_TESTS:$(CROSS_DIR)/tests/%.t=$(CROSS_DIR)/host/tests/%.o) \
	$(CROSS_HOSTED_OBJS)

.PHONY: cross-deps cross-lib cross-test

# Debian packages, installed when we are root, else the exact commands to
# run.
CROSS_DEB_PKGS := gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
cross-deps: $(CROSS_DIR)/.deps
$(CROSS_DIR)/.deps:
	@mkdir -p $(CROSS_DIR)
	@missing=""; \
	command -v $(CROSS_CC) >/dev/null || missing="$$missing gcc-aarch64-linux-gnu"; \
	[ -f /usr/aarch64-linux-gnu/lib/libc.a ] || missing="$$missing libc6-dev-arm64-cross"; \
	command -v $(CROSS_QEMU) >/dev/null || missing="$$missing qemu-user"; \
	command -v prove >/dev/null || missing="$$missing perl"; \
	if [ -n "$$missing" ]; then \
	  arch=""; case "$$missing" in *:arm64*) \
	    dpkg --print-foreign-architectures | grep -qx arm64 || arch="dpkg --add-architecture arm64 && ";; esac; \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    (eval "$$arch" apt-get update -qq && \
	     DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) || exit 1; \
	  else \
	    echo "missing Debian packages; run: sudo sh -c '$${arch}apt-get update && apt-get install -y$$missing'"; \
	    exit 1; \
	  fi; \
	fi
	@touch $@

$(CROSS_DIR)/core/%.o: %.c | $(CROSS_DIR)/.deps
	@mkdir -p $(dir $@)
	$(CROSS_CC) $(CROSS_FREE_CFLAGS) -c $< -o $@

$(CROSS_DIR)/core/%.o: mk/cross/%.c | $(CROSS_DIR)/.deps
	@mkdir -p $(dir $@)
	$(CROSS_CC) $(CROSS_FREE_CFLAGS) -fno-tree-loop-distribute-patterns -c $< -o $@

# The archive, and the proof: every symbol any member leaves undefined is
# defined by another member.
$(CROSS_LIB): $(CROSS_CORE_OBJS) $(CROSS_LIBC_OBJS)
	@rm -f $@
	$(CROSS_AR) rcs $@ $^
	@$(CROSS_NM) -u $@ | awk 'NF == 2 { print $$2 }' | sort -u > $@.undef
	@$(CROSS_NM) --defined-only $@ | awk 'NF == 3 && $$2 ~ /[TDRBSVW]/ { print $$3 }' | sort -u > $@.def
	@extern=$$(comm -23 $@.undef $@.def); \
	if [ -n "$$extern" ]; then \
	  echo "freestanding core needs symbols it does not define:" $$extern; rm -f $@; exit 1; \
	fi
	@echo "freestanding $@: no undefined symbols outside the archive"

cross-lib: $(CROSS_LIB)

$(CROSS_DIR)/host/%.o: %.c | $(CROSS_DIR)/.deps
	@mkdir -p $(dir $@)
	$(CROSS_CC) $(CROSS_HOST_CFLAGS) -c $< -o $@

# Linked with the freestanding core objects themselves (glibc supplies
# memset/memcpy here), so the code under test is the code checked above.
$(CROSS_DIR)/tests/%.t: $(CROSS_DIR)/host/tests/%.o $(CROSS_HOSTED_OBJS) \
		$(CROSS_CORE_OBJS) | $(CROSS_LIB)
	@mkdir -p $(dir $@)
	$(CROSS_CC) -static -pthread -o $@ $^ $(CROSS_HOST_LIBS)

cross-test: $(CROSS_LIB) $(CROSS_TESTS)
	prove --exec '$(CROSS_QEMU)' $(CROSS_TESTS) :: $(CROSS_PROPERTY_OPS)

-include $(shell find $(CROSS_DIR) -name '*.d' 2>/dev/null)
