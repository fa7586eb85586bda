# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# The check build (issue 5, docs/bugs.md): the library and the host model
# compiled again with -DS2_CHECK into build/check/, the host's
# synchronisation replaced by the controlled scheduler (HSYNC_IMPL_HEADER),
# linked with check/ into build/check/s2mmu-check, which `s2mmu check`
# runs.  make check-ci: a short budget of the same command for CI, on
# arm64 and EPT, in the weak-memory mode, every scenario at 16K LPA2 and
# 64K, and a few generated worlds
# (check/gen.c); make check-long: over a million schedules of scenarios
# and generated worlds in both memory modes.

CHECK_DIR    := $(BUILD)/check
CHECK_LIB_SRCS := $(wildcard src/format/*.c src/pgtable/*.c src/mmu/*.c)
CHECK_SIM_SRCS := $(wildcard sim/host/*.c)
CHECK_SRCS   := $(wildcard check/*.c)
CHECK_OBJS   := $(CHECK_LIB_SRCS:%.c=$(CHECK_DIR)/obj/%.o) \
		$(CHECK_SIM_SRCS:%.c=$(CHECK_DIR)/obj/%.o) \
		$(CHECK_SRCS:%.c=$(CHECK_DIR)/obj/%.o)
CHECK_BIN    := $(CHECK_DIR)/s2mmu-check
CHECK_CFLAGS  = $(CSTD) $(WARN) $(CFLAGS) $(EXTRA_CFLAGS) -D_GNU_SOURCE -DS2_CHECK \
		'-DHSYNC_IMPL_HEADER="check/hsync_check.h"' -Iinclude -I. -MMD -MP

.PHONY: check-build check-ci check-long

all: $(CHECK_BIN)
check-build: $(CHECK_BIN)

$(CHECK_DIR)/obj/%.o: %.c | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CHECK_CFLAGS) -c $< -o $@

$(CHECK_BIN): $(CHECK_OBJS)
	$(CC) $(CFLAGS) $(EXTRA_CFLAGS) -o $@ $^ -lpthread -lm

check-ci: all
	$(BUILD)/s2mmu check --budget 1500 --json > $(BUILD)/check-ci.json; \
	  rc=$$?; cat $(BUILD)/check-ci.json; [ $$rc = 0 ] || exit $$rc; \
	$(BUILD)/s2mmu check --format ept --budget 500 --json > $(BUILD)/check-ci-ept.json; \
	  rc=$$?; cat $(BUILD)/check-ci-ept.json; [ $$rc = 0 ] || exit $$rc; \
	$(BUILD)/s2mmu check --memory weak --budget 500 --json > $(BUILD)/check-ci-weak.json; \
	  rc=$$?; cat $(BUILD)/check-ci-weak.json; [ $$rc = 0 ] || exit $$rc; \
	$(BUILD)/s2mmu check --generate $(CHECK_CI_WORLDS) --budget 100 --json \
	  > $(BUILD)/check-ci-gen.json; \
	  rc=$$?; cat $(BUILD)/check-ci-gen.json; [ $$rc = 0 ] || exit $$rc; \
	for b in $(CHECK_CI_GEN_BUGS); do \
	  $(BUILD)/s2mmu check --generate 200 --inject $$b --json > $(BUILD)/check-ci-gen-$$b.json; \
	  rc=$$?; cat $(BUILD)/check-ci-gen-$$b.json; [ $$rc = 0 ] || exit $$rc; \
	done; \
	$(BUILD)/s2mmu check --memory weak --generate 200 --inject slots_gen_relaxed --json \
	  > $(BUILD)/check-ci-gen-weak.json; \
	  rc=$$?; cat $(BUILD)/check-ci-gen-weak.json; [ $$rc = 0 ] || exit $$rc; \
	for mb in $(CHECK_CI_GEN_MODE_BUGS); do \
	  $(BUILD)/s2mmu check --generate 200 --dirty-mode $${mb%%:*} --inject $${mb#*:} --json \
	    > $(BUILD)/check-ci-gen-$${mb#*:}.json; \
	  rc=$$?; cat $(BUILD)/check-ci-gen-$${mb#*:}.json; [ $$rc = 0 ] || exit $$rc; \
	done; \
	for fb in $(CHECK_CI_GRANULES); do \
	  for sc in $$($(BUILD)/s2mmu check --list | awk '/^scenario/ { print $$2 }'); do \
	    $(BUILD)/s2mmu check --format $${fb%%:*} --scenario $$sc --budget $${fb#*:} \
	      > $(BUILD)/check-ci-gran.txt 2>&1 || \
	      { cat $(BUILD)/check-ci-gran.txt; echo "check-ci: $$sc at $${fb%%:*}"; exit 1; }; \
	  done; \
	  echo "check-ci: every scenario at $${fb%%:*}, $${fb#*:} schedules each: no violation"; \
	done

# Generated worlds in CI: the correct code over a few worlds, and bugs the
# generator must find without being told where (docs/bugs.md, "Generated
# worlds": each in a second or two).  The correct code under the default
# strategies (PCT and random): a yielding thread now drops below every PCT
# priority (check/sched.c ck_yield), so two spinners no longer starve the
# thread they wait for (80 worlds: about 9 s on the loaded 2-core VM).
CHECK_CI_WORLDS   ?= 80
CHECK_CI_GEN_BUGS ?= fault_no_retry free_no_grace fwb_no_icache shared_walk_no_rcu prefault_no_seq memtype_no_bbm
# ...and, with every world in one dirty-logging mode (--dirty-mode), bugs
# of that mode (issue 17 item 1): MODE:BUG, each found in seconds.
CHECK_CI_GEN_MODE_BUGS ?= ring:ring_push_drop_full init-set:init_set_bits_clear
# ...and every scenario's correct code at two more granules, FORMAT:BUDGET
# (about 20 s each here); their catalogue bugs are replayed from the
# corpus by make test (tests/check_replay.c, docs/bugs.md "Every granule").
CHECK_CI_GRANULES ?= arm64-16k-lpa2:300 arm64-64k:100

# Long campaign (not CI): hand-written scenarios and generated worlds, in
# the sequentially consistent and the weak-memory mode, about 1.2 million
# schedules; each part's JSON in $(BUILD)/check-long-*.json; then the
# mutation sample (mk/mutation.mk, docs/mutation.md: hours).
# Every part runs; the target fails at the end if any part did.
check-long: all
	fail=0; \
	$(BUILD)/s2mmu check --budget 20000 --json > $(BUILD)/check-long-sc.json || fail=1; \
	cat $(BUILD)/check-long-sc.json; \
	$(BUILD)/s2mmu check --memory weak --budget 5000 --json \
	  > $(BUILD)/check-long-weak.json || fail=1; \
	cat $(BUILD)/check-long-weak.json; \
	$(BUILD)/s2mmu check --generate 1500 --seed 1001 --json \
	  > $(BUILD)/check-long-gen.json || fail=1; \
	cat $(BUILD)/check-long-gen.json; \
	$(BUILD)/s2mmu check --memory weak --generate 500 --seed 2002 --json \
	  > $(BUILD)/check-long-gen-weak.json || fail=1; \
	cat $(BUILD)/check-long-gen-weak.json; \
	$(MAKE) --no-print-directory mutation || fail=1; \
	exit $$fail

-include $(shell find $(CHECK_DIR) -name '*.d' 2>/dev/null)
