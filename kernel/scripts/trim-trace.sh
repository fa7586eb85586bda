#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Cut a recording down to COUNT records starting at record FIRST (0 =
# the first), keeping its header (version, window, memslot) and saying
# in a comment which records were kept.  The replay starts a cut with
# no knowledge of stage 2 (docs/trace.md), so any contiguous cut replays.
# usage: trim-trace.sh FILE FIRST COUNT > OUT
set -eu
[ $# = 3 ] || { echo "usage: $0 FILE FIRST COUNT" >&2; exit 2; }
awk -v first="$2" -v count="$3" '
/^[0-9]/ {
	if (!said) { print "# trimmed: records " first " to " first + count - 1 " of the recording"; said = 1 }
	if (n >= first && n < first + count) print
	n++; next
}
!said { print }
' "$1"
