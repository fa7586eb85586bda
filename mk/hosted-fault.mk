# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# make hosted-fault-test: shows that tests/hosted_stress.c can fail.
#
# The stress test is linked a second time, against a copy of every file
# of src/hosted compiled with -DS2_HOSTED_FAULT (all of them: any may hold
# FAULT() branches, and the files must agree on the define).  Those
# objects are the only ones ever built with the define: the library, `make
# test` and every other build compile src/hosted without it, where the
# fault branches are the constant 0 and vanish.  The program runs once
# with no fault (it must pass), once more with no fault on the RCU's
# fallback for kernels without membarrier(2) (S2_HOSTED_RCU_FENCE: fences
# in the readers; it must pass and say it ran on fences), and once per
# fault named in S2_HOSTED_FAULT, each of which breaks one primitive.  A
# fault is caught when the program exits 1 (failed checks, not a crash or
# a hang) and every check listed for it below reports "not ok".  The
# target fails unless every fault is caught (docs/reliability.md, "Hosted
# platform stress test").

HF_DIR  := $(BUILD)/hosted-fault
# under $(BUILD)/obj so that the top Makefile picks up their .d files
HF_SRCS := $(wildcard src/hosted/*.c)
HF_OBJS := $(HF_SRCS:%.c=$(BUILD)/obj/hosted-fault/%.o)
HF_TEST := $(HF_DIR)/hosted_stress.t
HF_TIMEOUT ?= 60

# fault:tag,tag,...  The [tag]ged checks that must each say "not ok".
HF_FAULTS := \
	read_nowait:rw-reader-waits-writer,rw-stress \
	read_excl:rw-concurrent-readers \
	write_noreaders:rw-writer-waits-reader,rw-stress \
	write_nomutex:rw-writer-excl,rw-stress,slots-excl \
	rcu_nolock:rcu-sync-waits,rcu-ptr-stress,defer-grace \
	sync_noop:rcu-sync-waits,rcu-ptr-stress \
	defer_now:defer-grace,defer-stress \
	barrier_noop:defer-barrier \
	ref_nonatomic:ref-atomic

.PHONY: hosted-fault-test

$(HF_OBJS): $(BUILD)/obj/hosted-fault/%.o: %.c | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -DS2_HOSTED_FAULT -c $< -o $@

# The test uses the hosted platform only, so it needs no other library
# object: the fault build of src/hosted is all it links.
$(HF_TEST): $(BUILD)/obj/tests/hosted_stress.o $(HF_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(EXTRA_CFLAGS) -o $@ $^ $(LDLIBS)

hosted-fault-test: $(HF_TEST)
	@fail=0; \
	ms() { echo $$(( ($$(date +%s%N) - $$1) / 1000000 )); }; \
	t0=$$(date +%s%N); \
	if timeout $(HF_TIMEOUT) $(HF_TEST) > $(HF_DIR)/none.tap 2>&1; then \
	  printf '%-16s passes, as it must  %5s ms\n' "no fault" $$(ms $$t0); \
	else \
	  cat $(HF_DIR)/none.tap; echo "hosted-fault-test: fails with no fault injected"; exit 1; \
	fi; \
	t0=$$(date +%s%N); \
	if S2_HOSTED_RCU_FENCE=1 timeout $(HF_TIMEOUT) $(HF_TEST) > $(HF_DIR)/fence.tap 2>&1 && \
	   grep -q '^# hosted RCU: fences' $(HF_DIR)/fence.tap; then \
	  printf '%-16s passes, as it must  %5s ms\n' "no fault, fences" $$(ms $$t0); \
	else \
	  cat $(HF_DIR)/fence.tap; echo "hosted-fault-test: fails on the fence fallback, no fault injected"; exit 1; \
	fi; \
	for spec in $(HF_FAULTS); do \
	  f=$${spec%%:*}; want=$${spec#*:}; log=$(HF_DIR)/$$f.tap; t0=$$(date +%s%N); \
	  S2_HOSTED_FAULT=$$f timeout $(HF_TIMEOUT) $(HF_TEST) > $$log 2>&1; rc=$$?; \
	  missed=""; \
	  for t in $${want//,/ }; do \
	    grep -Eq "^not ok [0-9]+ - .*\[$$t\]$$" $$log || missed="$$missed $$t"; \
	  done; \
	  failed=$$(sed -n 's/^not ok [0-9]* - .*\[\([a-z-]*\)\]$$/\1/p' $$log | sort -u | paste -sd ' ' -); \
	  if [ $$rc = 1 ] && [ -z "$$missed" ]; then \
	    printf '%-16s caught  %5s ms  not ok: %s\n' $$f $$(ms $$t0) "$$failed"; \
	  else \
	    printf '%-16s MISSED  exit %s, still ok:%s (log %s)\n' $$f $$rc "$$missed" $$log; \
	    fail=1; \
	  fi; \
	done; \
	if [ $$fail = 0 ]; then echo "hosted-fault-test: every injected fault caught"; fi; \
	exit $$fail
