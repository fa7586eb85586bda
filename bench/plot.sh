#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# Plots for docs/performance.md: time of map / per-leaf unmap / fast unmap
# against guest size (4K pages), from `s2mmu bench --sizes`.
#
#   bench/plot.sh [DATA]    DATA: a saved `s2mmu bench --sizes` output;
#                           without it the benchmark is run (best of 3)
#
# Writes docs/perf-size-time.png (log-log, time per operation) and
# docs/perf-size-ns-per-page.png (cost per page: flat = linear growth).
set -euo pipefail
cd "$(dirname "$0")/.."
S2MMU=${S2MMU:-build/s2mmu}
data=$(mktemp)
trap 'rm -f "$data"' EXIT
if [ $# -ge 1 ]; then
	cp "$1" "$data"
else
	"$S2MMU" bench --sizes --reps 3 > "$data"
fi
machine=$(lscpu | sed -n 's/^Model name: *//p' | head -1)

gnuplot <<GP
set terminal pngcairo size 900,560 font "sans,11"
set datafile commentschars "#"
set grid
set key top left
set logscale xy 2
set format x "%g"
set xlabel "guest size (MiB, 4K pages)"

set output "docs/perf-size-time.png"
set title "Time per call vs guest size (${machine}, 1 thread)"
set ylabel "milliseconds per call"
set format y "%.3g"
plot "$data" using 1:2 with linespoints lw 2 pt 7 title "map (one range call)", \
     "$data" using 1:3 with linespoints lw 2 pt 5 title "unmap, per leaf (one range call)", \
     "$data" using 1:4 with linespoints lw 2 pt 9 title "fast unmap (detach subtrees)"

set output "docs/perf-size-ns-per-page.png"
set key bottom left box opaque
set title "Cost per 4K page vs guest size (${machine}, 1 thread)"
set ylabel "nanoseconds per page"
plot "$data" using 1:(\$2*1e6/(\$1*256)) with linespoints lw 2 pt 7 title "map", \
     "$data" using 1:(\$3*1e6/(\$1*256)) with linespoints lw 2 pt 5 title "unmap, per leaf", \
     "$data" using 1:(\$4*1e6/(\$1*256)) with linespoints lw 2 pt 9 title "fast unmap"
GP
echo "wrote docs/perf-size-time.png docs/perf-size-ns-per-page.png"
