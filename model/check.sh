#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# Runs the Spin model of the coherence protocol once as written and once
# per bug switch. Called by `make model-check` (model/model.mk).
#
# usage: check.sh MODEL.pml OUTDIR CC BUG...
#
# The correct model must be searched exhaustively: no errors, no depth
# truncation, no lossy (bitstate) storage, or the "0 errors" proves
# nothing. Each bug variant must leave an error trail, replayed into
# OUTDIR/BUG/trail.txt as a timeline of protocol steps.

set -u

pml=$1
out=$2
cc=$3
shift 3

# Deepest path of the correct model is a few hundred steps; the margin
# keeps a grown model from being cut off silently (we also fail on the
# "depth too small" warning below).
depth=100000

mkdir -p "$out" || exit 1
summary=$out/summary.txt
: > "$summary.tmp" || exit 1
status=0

# run NAME SPIN_DEFINE CC_FLAGS EXPECT(clean|trail)
run() {
	name=$1 def=$2 ccflags=$3 expect=$4
	dir=$out/$name
	rm -rf "$dir"
	mkdir -p "$dir" || return 1
	cp "$pml" "$dir/protocol.pml" || return 1
	verdict=FAIL
	states=- errors=- secs=-
	note=""
	if ! (cd "$dir" && spin -a $def protocol.pml) > "$dir/spin.log" 2>&1; then
		note="spin -a failed, see $dir/spin.log"
	elif ! (cd "$dir" && $cc -O2 -w -DSAFETY $ccflags -o pan pan.c) > "$dir/cc.log" 2>&1; then
		note="pan.c did not compile, see $dir/cc.log"
	else
		(cd "$dir" && ./pan -n -m$depth) > "$dir/pan.log" 2>&1
		states=$(awk '/states, stored$/ { print $1; exit }' "$dir/pan.log")
		errors=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' "$dir/pan.log" | head -n 1)
		secs=$(sed -n 's/^pan: elapsed time \([0-9.]*\).*/\1/p' "$dir/pan.log" | head -n 1)
		: "${states:=-}" "${errors:=-}" "${secs:=-}"
		case $expect in
		clean)
			if [ "$errors" != 0 ]; then
				note="expected no errors, see $dir/pan.log"
			elif grep -q 'depth too small' "$dir/pan.log"; then
				note="search truncated (depth), raise depth"
			elif grep -q 'out of memory' "$dir/pan.log"; then
				note="search ran out of memory"
			elif ! grep -q '^Full statespace search' "$dir/pan.log"; then
				note="not an exhaustive search"
			else
				verdict=PASS
			fi
			;;
		trail)
			if [ "$errors" = - ] || [ "$errors" -lt 1 ]; then
				note="expected an error trail, found none"
			elif [ ! -f "$dir/protocol.pml.trail" ]; then
				note="errors reported but no trail written"
			else
				(cd "$dir" && spin -t $def protocol.pml) > "$dir/trail.txt" 2>&1
				verdict=PASS
				note="trail $dir/trail.txt"
			fi
			;;
		esac
	fi
	line=$(printf '%-24s states %9s  errors %2s  %6ss  %s' \
		"$name" "$states" "$errors" "$secs" "$verdict")
	[ -n "$note" ] && line="$line  ($note)"
	echo "$line"
	echo "$line" >> "$summary.tmp"
	[ "$verdict" = PASS ] || status=1
}

# COLLAPSE compresses stored states losslessly, so the search stays
# exhaustive at about two thirds of the memory.
run correct "" "-DCOLLAPSE" clean

# Breadth-first for the bugs: the first trail found is a shortest one,
# which is the readable counterexample docs/model.md quotes.
for bug in "$@"; do
	run "$bug" "-D$bug" "-DBFS" trail
done

mv "$summary.tmp" "$summary"
exit $status
