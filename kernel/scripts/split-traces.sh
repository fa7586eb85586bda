#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Cut the recordings the guest wrote to its second serial port (a file on
# the host) into one s2trace file each: DIR/trace-NAME.s2trace, NAME being
# the phase with anything but letters, digits and '-' turned into '-'.
# A recording cut short (no END line: the guest died) is kept with a
# ".partial" suffix rather than passed off as complete.
# usage: split-traces.sh RAW DIR
set -eu
raw=$1
dir=$2
[ -f "$raw" ] || exit 0
rm -f "$dir"/trace-*.s2trace "$dir"/trace-*.s2trace.partial
tr -d '\r' < "$raw" | awk -v dir="$dir" '
/^S2TRACE BEGIN / {
	name = $3; gsub(/[^A-Za-z0-9-]/, "-", name)
	out = dir "/trace-" name ".s2trace.partial"; next
}
/^S2TRACE END / {
	if (out != "") { close(out); final = out; sub(/\.partial$/, "", final)
		system("mv \"" out "\" \"" final "\""); print "kernel: recording " final }
	out = ""; next
}
out != "" { print > out }
'
