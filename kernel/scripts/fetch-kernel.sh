#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# fetch-kernel.sh CACHE ROOT
#
# Fetch Debian 12's stock kernel image and headers with `apt-get download`
# into CACHE (reused when already there, so repeated runs and offline CI
# runs need no mirror) and unpack them with `dpkg -x` into ROOT without
# installing anything on this machine.  The version is not hard-coded:
# a stock kernel's ABI name (6.1.0-NN) changes with every point release and
# the mirror only keeps the current few, so we ask apt-cache which one the
# linux-image-amd64 meta-package currently points at.  KVER=6.1.0-NN
# in the environment pins one.
set -euo pipefail
cache=$1 root=$2
mkdir -p "$cache"

have_all() {
	local v=$1
	ls "$cache"/linux-image-"$v"-amd64*_amd64.deb >/dev/null 2>&1 &&
	ls "$cache"/linux-headers-"$v"-amd64_*_amd64.deb >/dev/null 2>&1 &&
	ls "$cache"/linux-headers-"$v"-common_*_all.deb >/dev/null 2>&1 &&
	ls "$cache"/linux-kbuild-6.1_*_amd64.deb >/dev/null 2>&1
}

ver=${KVER:-}
if [ -z "$ver" ] && [ -f "$cache/version" ] && have_all "$(cat "$cache/version")"; then
	ver=$(cat "$cache/version")
	echo "kernel: reusing cached $ver packages in $cache"
fi

if [ -z "$ver" ] || ! have_all "$ver"; then
	# A fresh container often has empty package lists: update once.
	if ! apt-cache show linux-image-amd64 >/dev/null 2>&1; then
		echo "kernel: apt-cache knows no kernel packages; running apt-get update"
		apt-get update -qq
	fi
	if [ -z "$ver" ]; then
		ver=$(apt-cache depends linux-image-amd64 2>/dev/null |
		      sed -n 's/^ *Depends: linux-image-\(6\.1\.[0-9]*-[0-9]*\)-amd64$/\1/p' | head -n1)
	fi
	if [ -z "$ver" ]; then
		# No meta-package (an odd mirror): newest headers apt-cache lists.
		ver=$(apt-cache search --names-only '^linux-headers-6\.1\.[0-9]+-[0-9]+-amd64$' |
		      sed -n 's/^linux-headers-\(6\.1\.[0-9]*-[0-9]*\)-amd64 .*/\1/p' | sort -V | tail -n1)
	fi
	[ -n "$ver" ] || { echo "kernel: cannot find a 6.1 kernel in apt-cache" >&2; exit 1; }
	# The unsigned image is the same kernel without the Secure Boot
	# signature wrapper; take it when the mirror has it.
	img=linux-image-$ver-amd64-unsigned
	apt-cache show "$img" >/dev/null 2>&1 || img=linux-image-$ver-amd64
	echo "kernel: downloading $ver ($img) into $cache"
	rm -f "$cache"/*.deb
	# apt-get download writes to the current directory.  As root apt
	# would drop to the _apt user, which cannot write into a build tree
	# it does not own; download as ourselves instead.
	sandbox=
	[ "$(id -u)" = 0 ] && sandbox="-o APT::Sandbox::User=root"
	( cd "$cache" && apt-get download -q $sandbox "$img" "linux-headers-$ver-amd64" \
		"linux-headers-$ver-common" linux-kbuild-6.1 )
	echo "$ver" > "$cache/version"
fi

rm -rf "$root"
mkdir -p "$root"
for deb in "$cache"/linux-headers-*.deb "$cache"/linux-kbuild-*.deb; do
	dpkg -x "$deb" "$root"
done
# The image package is mostly modules (~400 MB unpacked); we need the
# kernel, its config and the two modules of the zram swap phase, so
# extract only those from the same data archive dpkg -x would unpack.
dpkg-deb --fsys-tarfile "$cache"/linux-image-"$ver"-amd64*_amd64.deb |
	tar -x -C "$root" --wildcards './boot/*' '*/zram.ko' '*/zsmalloc.ko'

hdr=$root/usr/src/linux-headers-$ver-amd64
common=$root/usr/src/linux-headers-$ver-common
# The arch headers' Makefile includes the -common tree by its installed
# absolute path; point it at our unpacked copy instead.
sed -i "s|/usr/src/linux-headers-$ver-common|$(cd "$common" && pwd)|g" "$hdr/Makefile"
grep -q "$(cd "$common" && pwd)" "$hdr/Makefile" ||
	{ echo "kernel: headers Makefile rewrite failed" >&2; exit 1; }
ln -sfn "linux-headers-$ver-amd64" "$root/usr/src/headers"
ln -sfn "$(basename "$(ls "$root"/boot/vmlinuz-* | head -n1)")" "$root/boot/vmlinuz"
echo "$ver" > "$root/version"
echo "kernel: unpacked $ver into $root"
