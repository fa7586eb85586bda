# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# s2mmu build. Plain GNU Make; `make run` and `make test` are the two
# commands a fresh Debian machine needs (README.md).

CC      ?= cc
SHELL   := /bin/bash
BUILD   ?= build
OPT     ?= -O2
CSTD    := -std=c11
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS  ?= $(OPT) -g
ALLCFLAGS = $(CSTD) $(WARN) $(CFLAGS) $(EXTRA_CFLAGS) -D_GNU_SOURCE -Iinclude -I. -fPIC -MMD -MP
LDLIBS  := -lpthread -lm

# Library layers (DESIGN.md section 2): src/ never includes sim/ or check/.
LIB_SRCS  := $(wildcard src/format/*.c src/pgtable/*.c src/mmu/*.c src/hosted/*.c)
SIM_SRCS  := $(wildcard sim/host/*.c sim/machine/*.c)
TOOL_SRCS := $(wildcard tools/*.c bench/*.c)
TEST_SRCS := $(wildcard tests/*.c)

LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
SIM_OBJS  := $(SIM_SRCS:%.c=$(BUILD)/obj/%.o)
TOOL_OBJS := $(TOOL_SRCS:%.c=$(BUILD)/obj/%.o)
TESTS     := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%.t)

SONAME    := libs2mmu.so.0

.PHONY: all deps run test bench clean

all: deps $(BUILD)/libs2mmu.a $(BUILD)/libs2mmu.so $(BUILD)/s2mmu

# Debian packages the hosted build needs (prove, for make test; the
# hosted platform's RCU is our own, src/hosted/rcu.c). Installed when
# we are root, otherwise we stop with the exact command to run.
DEB_PKGS := perl
# The end of every rule that checks for the Debian packages a target
# needs (here, mk/install.mk, mk/htmltest.mk, mk/hyp.mk): with $$missing
# naming those not found, install them when make runs as root, else stop
# with the exact command to run.
DEB_INSTALL_MISSING = if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) || exit 1; \
	  else \
	    echo "missing Debian packages; run: sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi
deps: $(BUILD)/.deps
$(BUILD)/.deps:
	@mkdir -p $(BUILD)
	@missing=""; \
	command -v prove >/dev/null || missing="$$missing perl"; \
	$(DEB_INSTALL_MISSING)
	@touch $@

$(BUILD)/obj/%.o: %.c | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -c $< -o $@

$(BUILD)/libs2mmu.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libs2mmu.so: $(LIB_OBJS)
	$(CC) -shared -Wl,-soname,$(SONAME) -o $@ $^ $(LDLIBS)

$(BUILD)/libs2sim.a: $(SIM_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/s2mmu: $(TOOL_OBJS) $(BUILD)/libs2sim.a $(BUILD)/libs2mmu.a
	$(CC) $(CFLAGS) $(EXTRA_CFLAGS) -o $@ $(TOOL_OBJS) $(BUILD)/libs2sim.a $(BUILD)/libs2mmu.a $(LDLIBS)

$(BUILD)/tests/%.t: $(BUILD)/obj/tests/%.o $(BUILD)/libs2sim.a $(BUILD)/libs2mmu.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(EXTRA_CFLAGS) -o $@ $< $(BUILD)/libs2sim.a $(BUILD)/libs2mmu.a $(LDLIBS)

run: all
	$(BUILD)/s2mmu run

test: all $(TESTS)
	prove $(TESTS)

bench: all
	$(BUILD)/s2mmu bench

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# Spin model of the protocol (docs/model.md)
-include model/model.mk

# Further targets live in fragments: mk/*.mk (cross build, install, ...)
# and kernel/kernel.mk (make kernel-test).
-include $(wildcard mk/*.mk)
-include kernel/kernel.mk
