#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# make hyp-test: boot the example hypervisor (hyp.elf) under
# qemu-system-aarch64 for every configuration of the matrix, then the
# negative controls of the check image (hyp-check.elf), each of which must
# fail.  The configuration reaches the image through QEMU's generic
# loader (words at 0x40001000, hyp/main.c struct hyp_cfg): QEMU passes no
# boot arguments to an ELF kernel (qemu-el2.md point 2).
#
# Usage: hyp/hyp-test.sh BUILD_DIR   (make hyp-test passes build/hyp)
set -uo pipefail

dir=${1:-build/hyp}
qemu=${HYP_QEMU:-qemu-system-aarch64}
min_inval=${HYP_MIN_INVAL:-1000}
min_acc=${HYP_MIN_ACCESSES:-1000000}
churn_us=${HYP_CHURN_US:-300}
nice=${HYP_NICE:-15}
# Every run lasts until it has both targets (the image's own loop, hyp/
# host.c host_run), however long the machine's load makes that.  The caps
# are only for failure: a run still short of its targets at its cap stops,
# prints its counts and is SHORT; one that prints no verdict at all is
# killed 30 s later and is TIMEOUT.  Both fail the target.  The matrix
# runs take 2-26 s each on this loaded 2-core VM, the -smp 4 run 55-115 s.
cap_s=${HYP_CAP_S:-120}			# per matrix or check-image run
smp4_cap_s=${HYP_SMP4_CAP_S:-300}	# the -smp 4 run
nc_cap_s=${HYP_NC_CAP_S:-60}		# per negative control
# CPUs per matrix boot: 2 (host + one vCPU) by default: at -smp 4 every
# broadcast TLBI waits for four QEMU threads on two cores, 55-115 s a
# configuration, too long for eight (docs/hyp.md section 5); one -smp 4
# run follows the matrix.  HYP_SMP=4 runs the whole matrix so.
smp=${HYP_SMP:-2}
log=$dir/logs
mkdir -p "$log"

# One boot.  $1 image, $2 cpu, $3 granule shift, $4 smp, $5 cap (s),
# $6 negative control, $7 seed, $8 min invalidations, $9 min accesses,
# $10 flags (hyp/main.c CFG_*: 2 hardware dirty logging, 4 without HD; 0).
# Sets $wall (seconds) for the row.
boot() {
	local img=$1 cpu=$2 gs=$3 smp=$4 cap=$5 nc=$6 seed=$7 mi=$8 ma=$9 flags=${10:-0} i w t0
	local words=(0x5332485950434647 "$gs" "$((cap * 1000))" "$nc" "$seed" "$flags" "$churn_us" "$mi" "$ma")
	local args=()

	for i in "${!words[@]}"; do
		w=$(printf '0x%x' $((0x40001000 + 8 * i)))
		args+=(-device "loader,addr=$w,data=${words[$i]},data-len=8")
	done
	t0=$(date +%s%N)
	# CPU-heavy: nice (HYP_NICE), and a hard wall-clock bound past the cap
	timeout $((cap + 30)) nice -n "$nice" "$qemu" -M virt,virtualization=on \
		-cpu "$cpu" -smp "$smp" -m 256 -accel tcg,thread=multi -nographic \
		-no-reboot -kernel "$img" "${args[@]}" </dev/null 2>&1 | tr -d '\r'
	wall=$(( ($(date +%s%N) - t0) / 100000000 ))
	wall="$((wall / 10)).$((wall % 10))"
}

count() {	# count NAME FILE: the value of NAME= in the HYP-COUNT lines
	tr -d '\r' < "$2" | grep -o "[ (]$1=[0-9]*" | head -1 | cut -d= -f2
}

# verdict LOGFILE MIN_INVAL MIN_ACCESSES: PASS only with the image's PASS
# and both targets in its counts; a pass with less is SHORT
verdict() {
	local f=$1 acc inv

	if grep -q '^HYP-VERDICT FAIL' "$f"; then echo FAIL; return; fi
	if grep -q '^HYP-VERDICT SHORT' "$f"; then echo SHORT; return; fi
	if ! grep -q '^HYP-VERDICT PASS' "$f"; then echo TIMEOUT; return; fi
	acc=$(count guest_accesses "$f"); inv=$(count invalidations "$f")
	if [ "${acc:-0}" -lt "$3" ] || [ "${inv:-0}" -lt "$2" ]; then echo SHORT; return; fi
	echo PASS
}

fail=0
# one row format for the header and every row
fmt='%-24s %-8s %6s %12s %9s %8s %9s %9s %9s %9s %8s %6s %5s\n'
# shellcheck disable=SC2059
printf "$fmt" configuration verdict wall_s accesses s2faults inval migrated \
	tlbi_ipa tlbi_rng tlbi_vm dc_lines ic mism
row() {	# row NAME LOGFILE VERDICT
	local f=$2
	# shellcheck disable=SC2059
	printf "$fmt" "$1" "$3" "$wall" \
		"$(count guest_accesses "$f")" "$(count stage2_faults "$f")" \
		"$(count invalidations "$f")" "$(count migrated_pages "$f")" \
		"$(count tlbi_ipas2e1is "$f")" "$(count tlbi_ripas2e1is "$f")" \
		"$(count tlbi_vmalls12e1is "$f")" "$(count dc_civac_lines "$f")" \
		"$(count ic_ialluis "$f")" "$(count mismatches "$f")"
}
explain() {	# explain VERDICT LOGFILE
	[ "$1" = PASS ] && return
	fail=1
	grep -E '^HYP-(MISMATCH|PANIC|SHORT)|^  host page' "$2" | head -5 | sed 's/^/    /'
	[ "$1" = TIMEOUT ] && echo "    no verdict within the cap + 30 s: killed"
	echo "    log: $2"
}

# ---- the matrix: every configuration must pass with the evidence asked
seed=1
for cpu in max neoverse-n1 cortex-a57; do
	for gs in 12 14 16; do
		name="$cpu/$((1 << (gs - 10)))K"
		f="$log/${cpu}-$((1 << (gs - 10)))k.log"
		boot "$dir/hyp.elf" "$cpu" "$gs" "$smp" "$cap_s" 0 $seed "$min_inval" "$min_acc" > "$f"
		seed=$((seed + 1))
		if grep -q '^HYP-SKIP' "$f"; then
			printf '%-24s %-8s %s\n' "$name" SKIP "$(grep '^HYP-SKIP' "$f" | sed 's/^HYP-SKIP //')"
			continue
		fi
		v=$(verdict "$f" "$min_inval" "$min_acc")
		row "$name" "$f" "$v"
		explain "$v" "$f"
	done
done

# ---- SMP: three vCPUs and the host on -smp 4, the same targets
if [ "$smp" != 4 ]; then
	f="$log/max-4k-smp4.log"
	boot "$dir/hyp.elf" max 12 4 "$smp4_cap_s" 0 11 "$min_inval" "$min_acc" > "$f"
	v=$(verdict "$f" "$min_inval" "$min_acc")
	row "max/4K -smp 4" "$f" "$v"
	explain "$v" "$f"
fi

# ---- hardware dirty logging (issue 17): slot 1 logs with DBM leaves and
# VTCR_EL2.HD while the guest writes and the host harvests; every written
# page must be reported (the harvest oracle) and no write may fault on a
# writable-clean leaf (HYP-COUNT dirty_hw_write_faults).  CPUs without
# FEAT_HAFDBS dirty state skip with the reason.
for cpu in max cortex-a57; do
	f="$log/${cpu}-4k-dirty-hw.log"
	boot "$dir/hyp.elf" "$cpu" 12 "$smp" "$cap_s" 0 41 "$min_inval" "$min_acc" 2 > "$f"
	if grep -q '^HYP-SKIP' "$f"; then
		printf '%-24s %-8s %s\n' "$cpu/4K dirty-hw" SKIP "$(grep '^HYP-SKIP' "$f" | sed 's/^HYP-SKIP //')"
		continue
	fi
	v=$(verdict "$f" "$min_inval" "$min_acc")
	row "$cpu/4K dirty-hw" "$f" "$v"
	explain "$v" "$f"
	grep -o 'dirty_hw_harvests=[0-9]* dirty_hw_write_faults=[0-9]*' "$f" | sed 's/^/    /'
done

# ---- the check image with no control switched on must pass too
f="$log/check-none.log"
boot "$dir/hyp-check.elf" max 12 2 "$cap_s" 0 21 "$min_inval" "$min_acc" > "$f"
v=$(verdict "$f" "$min_inval" "$min_acc")
row "check image, no control" "$f" "$v"
explain "$v" "$f"

# ---- negative controls: each must be caught (a HYP-MISMATCH and FAIL)
echo
echo "negative controls (each must FAIL the run; docs/hyp.md lists what QEMU cannot show):"
nc=1
for ctl in no-tlbi no-s1-followup local no-ipa wrong-ipa; do
	f="$log/nc-$ctl.log"
	boot "$dir/hyp-check.elf" max 12 2 "$nc_cap_s" $nc $((30 + nc)) "$min_inval" "$min_acc" > "$f"
	if grep -q '^HYP-VERDICT FAIL' "$f" && grep -q '^HYP-MISMATCH' "$f"; then
		printf '  %-16s caught in %5s s after %5s invalidations: %s\n' "$ctl" "$wall" \
			"$(count invalidations "$f")" \
			"$(grep -m1 '^HYP-MISMATCH' "$f" | sed 's/^HYP-MISMATCH //' | cut -c1-110)"
	else
		printf '  %-16s NOT CAUGHT in %s s (%s; log: %s)\n' "$ctl" "$wall" \
			"$(verdict "$f" "$min_inval" "$min_acc")" "$f"
		fail=1
	fi
	nc=$((nc + 1))
done
# hardware dirty logging with DBM leaves but VTCR_EL2.HD clear: every
# first write after a harvest faults, which the run must report
f="$log/nc-dirty-hw-no-hd.log"
boot "$dir/hyp.elf" max 12 2 "$nc_cap_s" 0 42 "$min_inval" "$min_acc" 6 > "$f"
if grep -q '^HYP-VERDICT FAIL' "$f" && grep -q '^HYP-MISMATCH hardware dirty' "$f"; then
	printf '  %-16s caught in %5s s: %s\n' "dirty-hw-no-hd" "$wall" \
		"$(grep -m1 '^HYP-MISMATCH' "$f" | sed 's/^HYP-MISMATCH //' | cut -c1-110)"
else
	printf '  %-16s NOT CAUGHT in %s s (%s; log: %s)\n' "dirty-hw-no-hd" "$wall" \
		"$(verdict "$f" "$min_inval" "$min_acc")" "$f"
	fail=1
fi

echo
if [ $fail = 0 ]; then
	echo "hyp-test: PASS"
else
	echo "hyp-test: FAIL"
fi
exit $fail
