# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# libFuzzer targets (fuzz/, docs/reliability.md):
#   make fuzz-smoke   each target for FUZZ_SMOKE_SECONDS (60 s: CI)
#   make fuzz         each target for FUZZ_SECONDS (default 600 s)
#   make fuzz-build   only build them (build/fuzz/<target>)
# Targets are built with clang (Debian's libclang-rt-14-dev carries the
# libFuzzer runtime) with AddressSanitizer and UBSan, and their own copy
# of the library objects: coverage instrumentation has to reach into
# src/ for the fuzzer to see which branches an input opens.
# Each run starts from the checked-in seeds (fuzz/corpus/<target>, read
# only) plus what earlier runs found (build/fuzz/corpus/<target>); a
# finding is saved as build/fuzz/artifacts/<target>-crash-* and fails make.
# Replay one with: build/fuzz/<target> <file>.

FUZZ_CC            ?= clang
FUZZ_DIR           := $(BUILD)/fuzz
FUZZ_TARGETS       := engine_fuzz api_fuzz
FUZZ_SECONDS       ?= 600
FUZZ_SMOKE_SECONDS ?= 60
# Inputs past 1 KiB only repeat operations the cap on operations cuts off.
FUZZ_ARGS          ?= -max_len=1024 -timeout=30 -print_final_stats=1
FUZZ_CFLAGS := $(CSTD) $(WARN) -O1 -g -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=all \
	-D_GNU_SOURCE -Iinclude -I. -MMD -MP
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_BINS     := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/%)

.PHONY: fuzz fuzz-smoke fuzz-build
.SECONDARY: $(FUZZ_TARGETS:%=$(FUZZ_DIR)/obj/fuzz/%.o)

fuzz-build: $(FUZZ_BINS)

$(FUZZ_DIR)/obj/%.o: %.c | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BINS): $(FUZZ_DIR)/%: $(FUZZ_DIR)/obj/fuzz/%.o $(FUZZ_LIB_OBJS)
	$(FUZZ_CC) -g -fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS)

-include $(shell find $(FUZZ_DIR)/obj -name '*.d' 2>/dev/null)

# $(1): seconds per target.  Executions per target go to
# build/fuzz/summary.txt for docs/reliability.md.
define fuzz_run
	@mkdir -p $(FUZZ_DIR)/artifacts
	@: > $(FUZZ_DIR)/summary.txt
	@set -o pipefail; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_DIR)/corpus/$$t; \
	  echo "fuzz: $$t for $(1) s"; \
	  ASAN_OPTIONS=detect_leaks=1 $(FUZZ_DIR)/$$t $(FUZZ_ARGS) -max_total_time=$(1) \
	    -artifact_prefix=$(FUZZ_DIR)/artifacts/$$t- \
	    $(FUZZ_DIR)/corpus/$$t fuzz/corpus/$$t > $(FUZZ_DIR)/$$t.log 2>&1 \
	    || { tail -60 $(FUZZ_DIR)/$$t.log; exit 1; }; \
	  execs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $(FUZZ_DIR)/$$t.log); \
	  cov=$$(grep -o 'cov: [0-9]*' $(FUZZ_DIR)/$$t.log | tail -1); \
	  echo "$$t: $$execs executions in $(1) s, $$cov, corpus $$(ls $(FUZZ_DIR)/corpus/$$t | wc -l) inputs" \
	    | tee -a $(FUZZ_DIR)/summary.txt; \
	done
endef

fuzz-smoke: $(FUZZ_BINS)
	$(call fuzz_run,$(FUZZ_SMOKE_SECONDS))

fuzz: $(FUZZ_BINS)
	$(call fuzz_run,$(FUZZ_SECONDS))
