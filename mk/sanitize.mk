# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# The whole test suite under each sanitizer (docs/reliability.md):
#   make asan-test   AddressSanitizer + UndefinedBehaviorSanitizer
#   make tsan-test   ThreadSanitizer
#   make leak-test   LeakSanitizer (zero leaks, every test)
# Each builds library, sim and tests from scratch into its own BUILD
# directory (build/asan, build/tsan, build/lsan) by re-running the top
# Makefile, so the objects of the plain build are never mixed with
# instrumented ones, and `make test` there is the very same rule CI runs
# unsanitized (docs/reliability.md).
#
# clang by default: Debian's libclang-rt-14-dev carries every runtime,
# and the fuzz targets (mk/fuzz.mk) need clang anyway.  SAN_CC=gcc works
# as well where libasan/libtsan/liblsan are installed.

SAN_CC     ?= clang
SAN_JOBS   ?= -j2
SAN_COMMON := -g -fno-omit-frame-pointer
# -fno-sanitize-recover=all: a UBSan report aborts the test program, so
# prove sees a failure instead of a line of text nobody reads.
ASAN_FLAGS := $(SAN_COMMON) -fsanitize=address,undefined -fno-sanitize-recover=all
# All three build at -O1 (OPT below): fast enough for the stress tests,
# and reports keep their frames.
TSAN_FLAGS := $(SAN_COMMON) -fsanitize=thread
LSAN_FLAGS := $(SAN_COMMON) -fsanitize=leak

# Sanitizer runtime options.  halt_on_error / exitcode make every report
# a failing test.  asan-test leaves leaks to leak-test (one report per
# concern); leak-test fails on the first byte still reachable from
# nowhere at exit.  The TSan suppressions file is empty, and says why
# (mk/tsan.supp).
SAN_ASAN_OPTIONS := detect_leaks=0:abort_on_error=0:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
SAN_UBSAN_OPTIONS := print_stacktrace=1:halt_on_error=1
SAN_TSAN_OPTIONS := halt_on_error=1:exitcode=66:second_deadlock_stack=1:suppressions=$(CURDIR)/mk/tsan.supp
SAN_LSAN_OPTIONS := exitcode=23:report_objects=1

.PHONY: asan-test tsan-test leak-test sanitize-test

asan-test:
	ASAN_OPTIONS=$(SAN_ASAN_OPTIONS) UBSAN_OPTIONS=$(SAN_UBSAN_OPTIONS) \
	$(MAKE) --no-print-directory $(SAN_JOBS) BUILD=build/asan CC=$(SAN_CC) OPT=-O1 \
	  EXTRA_CFLAGS="$(ASAN_FLAGS)" test

# The differential property test is single-threaded (TSan has only the
# deferred-free thread to look at there) and runs ~50x slower under TSan
# than natively: it runs at TSAN_PROPERTY_OPS operations per format
# instead of 200000, everything else exactly as make test runs it.
TSAN_PROPERTY_OPS ?= 20000

tsan-test:
	TSAN_OPTIONS=$(SAN_TSAN_OPTIONS) \
	$(MAKE) --no-print-directory $(SAN_JOBS) BUILD=build/tsan CC=$(SAN_CC) OPT=-O1 \
	  EXTRA_CFLAGS="$(TSAN_FLAGS)" san-run-tests SAN_PROPERTY_OPS=$(TSAN_PROPERTY_OPS)

# Internal: the recursive make's test run with arguments for the property
# test (prove passes what follows :: to the program).
.PHONY: san-run-tests
san-run-tests: all $(TESTS)
	prove $(filter-out %/pgt_property.t,$(TESTS))
	prove $(BUILD)/tests/pgt_property.t $(if $(SAN_PROPERTY_OPS),:: $(SAN_PROPERTY_OPS))

leak-test:
	LSAN_OPTIONS=$(SAN_LSAN_OPTIONS) \
	$(MAKE) --no-print-directory $(SAN_JOBS) BUILD=build/lsan CC=$(SAN_CC) OPT=-O1 \
	  EXTRA_CFLAGS="$(LSAN_FLAGS)" test

sanitize-test: asan-test tsan-test leak-test
