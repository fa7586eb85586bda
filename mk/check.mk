# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# The check build (issue 5, docs/bugs.md): the library and the host model
# compiled again with -DS2_CHECK into build/check/, the host's
# synchronisation replaced by the controlled scheduler (HSYNC_IMPL_HEADER),
# linked with check/ into build/check/s2mmu-check, which `s2mmu check`
# runs.  make check-ci: a short budget of the same command for CI, on
# arm64 and EPT, and in the weak-memory mode.

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

.PHONY: check-build check-ci

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
	  rc=$$?; cat $(BUILD)/check-ci-weak.json; exit $$rc

-include $(shell find $(CHECK_DIR) -name '*.d' 2>/dev/null)
