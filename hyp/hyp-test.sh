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
max_ms=${HYP_RUN_MS:-40000}		# per configuration, guest time
min_inval=${HYP_MIN_INVAL:-1000}
min_acc=${HYP_MIN_ACCESSES:-1000000}
churn_us=${HYP_CHURN_US:-300}
# CPUs per matrix boot: 2 (host + one vCPU) by default, because on a
# shared 2-core machine every broadcast TLBI waits for each of QEMU's vCPU
# threads to be scheduled (docs/hyp.md section 5); HYP_SMP=4 on a quiet one
smp=${HYP_SMP:-2}
log=$dir/logs
mkdir -p "$log"

# One boot.  $1 image, $2 cpu, $3 granule shift, $4 smp, $5 max ms,
# $6 negative control, $7 seed, $8 min invalidations, $9 min accesses.
boot() {
	local img=$1 cpu=$2 gs=$3 smp=$4 ms=$5 nc=$6 seed=$7 mi=$8 ma=$9 i w
	local words=(0x5332485950434647 "$gs" "$ms" "$nc" "$seed" 0 "$churn_us" "$mi" "$ma")
	local args=()

	for i in "${!words[@]}"; do
		w=$(printf '0x%x' $((0x40001000 + 8 * i)))
		args+=(-device "loader,addr=$w,data=${words[$i]},data-len=8")
	done
	# CPU-heavy: nice, and a wall-clock bound well past the guest time
	timeout $((ms / 1000 + 45)) nice -n 15 "$qemu" -M virt,virtualization=on \
		-cpu "$cpu" -smp "$smp" -m 256 -accel tcg,thread=multi -nographic \
		-no-reboot -kernel "$img" "${args[@]}" </dev/null 2>&1 | tr -d '\r'
}

count() {	# count NAME FILE: the value of NAME= in the HYP-COUNT lines
	tr -d '\r' < "$2" | grep -o "[ (]$1=[0-9]*" | head -1 | cut -d= -f2
}

fail=0
results=()
printf '%-24s %-8s %12s %9s %8s %9s %9s %9s %8s %8s %8s %5s\n' configuration verdict \
	accesses s2faults inval migrated tlbi_ipa tlbi_rng tlbi_vm dc_lines ic mism
row() {	# row NAME LOGFILE VERDICT
	local f=$2
	printf '%-24s %-8s %12s %9s %8s %9s %9s %9s %8s %8s %8s %5s\n' "$1" "$3" \
		"$(count guest_accesses "$f")" "$(count stage2_faults "$f")" \
		"$(count invalidations "$f")" "$(count migrated_pages "$f")" \
		"$(count tlbi_ipas2e1is "$f")" "$(count tlbi_ripas2e1is "$f")" \
		"$(count tlbi_vmalls12e1is "$f")" "$(count dc_civac_lines "$f")" \
		"$(count ic_ialluis "$f")" "$(count mismatches "$f")"
}

# ---- the matrix: every configuration must pass with the evidence asked
seed=1
for cpu in max neoverse-n1 cortex-a57; do
	for gs in 12 14 16; do
		name="$cpu/$((1 << (gs - 10)))K"
		f="$log/${cpu}-$((1 << (gs - 10)))k.log"
		boot "$dir/hyp.elf" "$cpu" "$gs" "$smp" "$max_ms" 0 $seed "$min_inval" "$min_acc" > "$f"
		seed=$((seed + 1))
		if grep -q '^HYP-SKIP' "$f"; then
			printf '%-24s %-8s %s\n' "$name" SKIP "$(grep '^HYP-SKIP' "$f" | sed 's/^HYP-SKIP //')"
			continue
		fi
		v=PASS
		grep -q '^HYP-VERDICT PASS' "$f" || v=FAIL
		acc=$(count guest_accesses "$f"); inv=$(count invalidations "$f")
		if [ "$v" = PASS ] && { [ "${acc:-0}" -lt "$min_acc" ] || [ "${inv:-0}" -lt "$min_inval" ]; }; then
			v=SHORT		# passed, but too little evidence in the time
		fi
		row "$name" "$f" "$v"
		if [ "$v" != PASS ]; then
			fail=1
			grep -E '^HYP-(MISMATCH|PANIC)|^  host page' "$f" | head -5 | sed 's/^/    /'
			echo "    log: $f"
		fi
	done
done

# ---- SMP: three vCPUs and the host on -smp 4, bounded by time only
f="$log/max-4k-smp4.log"
boot "$dir/hyp.elf" max 12 4 "${HYP_SMP_MS:-8000}" 0 11 0 0 > "$f"
v=PASS
grep -q '^HYP-VERDICT PASS' "$f" || v=FAIL
row "max/4K -smp 4 (8 s)" "$f" "$v"
if [ "$v" != PASS ]; then
	fail=1
	grep -E '^HYP-(MISMATCH|PANIC)' "$f" | head -5 | sed 's/^/    /'
	echo "    log: $f"
fi

# ---- the check image with no control switched on must pass too
f="$log/check-none.log"
boot "$dir/hyp-check.elf" max 12 2 "$max_ms" 0 21 300 300000 > "$f"
v=PASS
grep -q '^HYP-VERDICT PASS' "$f" || v=FAIL
row "check image, no control" "$f" "$v"
[ "$v" = PASS ] || { fail=1; echo "    log: $f"; }

# ---- negative controls: each must be caught (a HYP-MISMATCH and FAIL)
echo
echo "negative controls (each must FAIL the run; docs/hyp.md lists what QEMU cannot show):"
nc=1
for ctl in no-tlbi no-s1-followup local no-ipa wrong-ipa; do
	f="$log/nc-$ctl.log"
	boot "$dir/hyp-check.elf" max 12 2 20000 $nc $((30 + nc)) "$min_inval" "$min_acc" > "$f"
	if grep -q '^HYP-VERDICT FAIL' "$f" && grep -q '^HYP-MISMATCH' "$f"; then
		printf '  %-16s caught after %s invalidations: %s\n' "$ctl" \
			"$(count invalidations "$f")" \
			"$(grep -m1 '^HYP-MISMATCH' "$f" | sed 's/^HYP-MISMATCH //' | cut -c1-110)"
	else
		printf '  %-16s NOT CAUGHT (log: %s)\n' "$ctl" "$f"
		fail=1
	fi
	nc=$((nc + 1))
done

echo
if [ $fail = 0 ]; then
	echo "hyp-test: PASS"
else
	echo "hyp-test: FAIL"
fi
exit $fail
