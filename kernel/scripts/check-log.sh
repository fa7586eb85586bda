#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# check-log.sh CONSOLE_LOG: the verdict of `make kernel-test`.
# Pass only if the test printed its PASS marker, the module's notifier
# release ran, and the kernel reported nothing wrong.  Our own programs
# never print these words, so any match is the kernel's.
log=$1
fail=0
if ! grep -q '^S2TEST: PASS' "$log"; then
	echo "kernel-test: FAIL: no 'S2TEST: PASS' in $log"; fail=1
fi
if ! grep -q '^S2MIRROR: PASS' "$log"; then
	echo "kernel-test: FAIL: no 'S2MIRROR: PASS' (stress-ng mirror) in $log"; fail=1
fi
if grep -q '^S2TEST: FAIL' "$log"; then
	echo "kernel-test: FAIL: the test reported failures:"
	grep '^S2TEST: FAIL' "$log" | head -n 20; fail=1
fi
if ! grep -q 's2mmu: release ran (exit_mmap)' "$log"; then
	echo "kernel-test: FAIL: the MMU notifier release never ran"; fail=1
fi
if ! grep -q '^S2INIT: DONE' "$log"; then
	echo "kernel-test: FAIL: init did not finish (timeout or crash)"; fail=1
fi
bad=$(grep -nE 'BUG:|WARNING:|Oops|KASAN|Kernel panic|general protection fault|Call Trace:|UBSAN:|Bad page|s2mmu: VERIFY violation' "$log" | head -n 20)
if [ -n "$bad" ]; then
	echo "kernel-test: FAIL: kernel reported problems:"; echo "$bad"; fail=1
fi
[ $fail = 0 ] && echo "kernel-test: PASS ($(grep -c 's2mmu: release ran' "$log") release(s), log in $log)"
exit $fail
