#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# fetch-stress-ng.sh CACHE OUT
#
# Debian 12's stress-ng (dynamically linked) for the kernel-test guest:
# `apt-get download` the package and its Depends closure into CACHE
# (reused as is when every .deb the last download listed is still there,
# so offline runs need no mirror), `dpkg -x` them into OUT/unpacked, and
# lay out in OUT/rootfs only what the binary loads: stress-ng, the shared
# objects its DT_NEEDED entries reach (followed recursively) and the
# dynamic loader, at the paths the binary expects.  Nothing is installed
# on this machine.
set -euo pipefail
cache=$1 out=$2
mkdir -p "$cache"
list=$cache/packages

have_all() {
	[ -s "$list" ] || return 1
	while read -r deb; do
		[ -f "$cache/$deb" ] || return 1
	done < "$list"
}

if have_all; then
	echo "stress-ng: reusing the $(wc -l < "$list") cached packages in $cache"
else
	if ! apt-cache show stress-ng >/dev/null 2>&1; then
		echo "stress-ng: apt-cache does not know stress-ng; running apt-get update"
		apt-get update -qq
	fi
	# Depends only, recursively: the libraries the loader may need.
	# Recommends/Suggests are tools stress-ng never links.
	pkgs=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
		--no-breaks --no-replaces --no-enhances --no-pre-depends stress-ng |
		grep -v '^ ' | grep -v '^<' | sort -u)
	echo "stress-ng: downloading $(echo "$pkgs" | wc -w) packages into $cache"
	rm -f "$cache"/*.deb
	sandbox=
	# As root apt drops to _apt, which cannot write into our tree.
	[ "$(id -u)" = 0 ] && sandbox="-o APT::Sandbox::User=root"
	# shellcheck disable=SC2086
	( cd "$cache" && apt-get download -q $sandbox $pkgs )
	( cd "$cache" && ls -1 -- *.deb ) > "$list.tmp"
	mv "$list.tmp" "$list"
fi

rm -rf "$out/unpacked" "$out/rootfs"
mkdir -p "$out/unpacked" "$out/rootfs/usr/bin" "$out/rootfs/lib/x86_64-linux-gnu" \
	"$out/rootfs/lib64"
while read -r deb; do
	dpkg -x "$cache/$deb" "$out/unpacked"
done < "$list"
u=$out/unpacked
[ -x "$u/usr/bin/stress-ng" ] || { echo "stress-ng: no usr/bin/stress-ng in the packages" >&2; exit 1; }
cp "$u/usr/bin/stress-ng" "$out/rootfs/usr/bin/"

# DT_NEEDED closure, resolved in the unpacked tree only (never the
# host's libraries, which could differ from what the guest gets).
declare -A seen=()
queue=("$u/usr/bin/stress-ng")
while [ ${#queue[@]} -gt 0 ]; do
	obj=${queue[0]}
	queue=("${queue[@]:1}")
	for so in $(objdump -p "$obj" | awk '$1 == "NEEDED" { print $2 }'); do
		[ -n "${seen[$so]:-}" ] && continue
		seen[$so]=1
		found=
		for d in lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu lib64; do
			if [ -e "$u/$d/$so" ]; then found=$u/$d/$so; break; fi
		done
		[ -n "$found" ] || { echo "stress-ng: $so (needed by $obj) not in the packages" >&2; exit 1; }
		cp -L "$found" "$out/rootfs/lib/x86_64-linux-gnu/$so"
		queue+=("$found")
	done
done
cp -L "$u/lib64/ld-linux-x86-64.so.2" "$out/rootfs/lib64/"
echo "stress-ng: $(gzip -dc < "$u/usr/share/doc/stress-ng/changelog.Debian.gz" 2>/dev/null |
	sed -n '1s/.*(\(.*\)).*/\1/p') with ${#seen[@]} shared objects," \
	"$(du -sk "$out/rootfs" | cut -f1) KiB in $out/rootfs"
