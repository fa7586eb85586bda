#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# make install-test (mk/install.mk): install into a temporary prefix and
# check every piece the way a user meets it, with the source tree (and so
# the build tree inside it) hidden under an empty tmpfs in a private mount
# namespace: the installed s2mmu must find its checker under libexec, the
# man pages must render, the example must build through pkg-config alone.
# Then a DESTDIR staging install, the freestanding archive when it was
# built, and `make uninstall` leaving no file behind.  TAP, for prove.
#
# Usage: install-test.sh BUILD MAKE CC   (from the source tree's root)
set -u

build=${1:-build}
make=${2:-make}
cc=${3:-cc}
src=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/usr
n=0
fails=0

ok() {	# ok STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		fails=$((fails + 1))
	fi
}

note() { sed 's/^/# /' "$@"; }

# 1. install
$make --no-print-directory install BUILD="$build" PREFIX="$prefix" >"$tmp/install.log" 2>&1
rc=$?
[ $rc = 0 ] || note "$tmp/install.log"
ok $rc "make install PREFIX=$prefix"

# 2. every piece in its place
missing=""
for f in bin/s2mmu libexec/s2mmu/s2mmu-check include/s2mmu/mmu.h include/s2mmu/pgtable.h \
	 lib/libs2mmu.a lib/libs2mmu.so lib/libs2mmu.so.0 lib/pkgconfig/s2mmu.pc \
	 share/man/man1/s2mmu.1 share/man/man3/s2mmu.3 share/man/man3/s2_vm_fault.3; do
	[ -e "$prefix/$f" ] || missing="$missing $f"
done
[ -z "$missing" ] || echo "# missing:$missing"
ok "$([ -z "$missing" ]; echo $?)" "installed: bin, libexec checker, headers, libraries, pkg-config, man1, man3"

want=$(ls "$build/man/man3" | wc -l)
have=$(ls "$prefix/share/man/man3" | wc -l)
echo "# $have section-3 pages installed, $want generated"
ok "$([ "$have" = "$want" ] && [ "$have" -gt 40 ]; echo $?)" "one section-3 page per public function installed"

# 3. every page renders without a warning (man -l, as a user would)
bad=0
for p in "$prefix"/share/man/man1/*.1 "$prefix"/share/man/man3/*.3; do
	if ! MANWIDTH=80 man --warnings -l "$p" >"$tmp/page.txt" 2>"$tmp/page.err" ||
	   [ -s "$tmp/page.err" ] || ! [ -s "$tmp/page.txt" ]; then
		echo "# $p:"; note "$tmp/page.err"
		bad=$((bad + 1))
	fi
done
ok $bad "man -l --warnings renders every installed page cleanly"

cp examples/minimal.c "$tmp/minimal.c"

# 4. with the source tree gone: a private mount namespace with an empty
# tmpfs over it (root: unshare -m; otherwise a user namespace, -rm).
hidden() {
	local src=$1 prefix=$2 tmp=$3 cc=$4 n=$5 out rc
	ok() {
		n=$((n + 1))
		if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
	}
	mount -t tmpfs -o size=1m s2mmu-hidden "$src" || exit 1
	ok "$([ -z "$(ls -A "$src")" ]; echo $?)" "source and build tree hidden ($src is empty)"

	out=$("$prefix/bin/s2mmu" --version 2>&1)
	echo "$out" | sed 's/^/# /'
	pcver=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --modversion s2mmu)
	soname=$(objdump -p "$prefix/lib/libs2mmu.so" | awk '$1 == "SONAME" { print $2 }')
	echo "$out" | grep -q "^s2mmu $pcver\$" && echo "$out" | grep -q "soname $soname" &&
		echo "$out" | grep -q "^formats:.*arm64-4k.*ept4"
	ok $? "s2mmu --version: $pcver as in s2mmu.pc, soname $soname as the installed library's, formats"

	out=$("$prefix/bin/s2mmu" check --scenario fault_vs_dontneed --inject fault_no_retry 2>&1)
	rc=$?
	echo "$out" | grep '>>> violated' | sed 's/^/# /'
	[ $rc = 0 ] && echo "$out" | grep -q '>>> violated I1'
	ok $? "installed s2mmu check --scenario fault_vs_dontneed --inject fault_no_retry finds the bug (I1)"

	out=$("$prefix/bin/s2mmu" check --scenario fault_vs_dontneed --budget 200 --json 2>&1)
	rc=$?
	echo "# $out" | cut -c1-200
	[ $rc = 0 ] && echo "$out" | grep -q '"violation":false' &&
		echo "$out" | grep -q "\"version\":\"$pcver\""
	ok $? "installed s2mmu check on the correct code: clean, JSON with the version fields"

	out=$(MANPATH="$prefix/share/man" MANWIDTH=80 man s2_vm_fault 2>&1)
	echo "$out" | grep -q '^RETURN VALUE' && echo "$out" | grep -q '^CONTEXT' &&
		echo "$out" | grep -q 'mmu_lock for read'
	ok $? "MANPATH=\$PREFIX/share/man man s2_vm_fault: the page, with Return and Context"

	out=$(MANPATH="$prefix/share/man" MANWIDTH=80 man 1 s2mmu 2>&1)
	echo "$out" | grep -q 's2mmu check' && echo "$out" | grep -q -- '--inject NAME' &&
		echo "$out" | grep -q -- '--guest-size SIZE'
	ok $? "man 1 s2mmu: every command's options"

	export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
	# shellcheck disable=SC2046
	"$cc" -std=c11 -Wall -Wextra -Werror -O2 -o "$tmp/minimal" "$tmp/minimal.c" \
		$(pkg-config --cflags --libs s2mmu) -Wl,-rpath,"$prefix/lib" >"$tmp/cc.log" 2>&1 &&
		"$tmp/minimal" >"$tmp/minimal.log" 2>&1
	rc=$?
	[ $rc = 0 ] || sed 's/^/# /' "$tmp/cc.log" "$tmp/minimal.log"
	ok $rc "examples/minimal.c builds through pkg-config alone and runs"
}
if [ "$(id -u)" = 0 ]; then ns="unshare -m"; else ns="unshare -rm"; fi
$ns bash -c "$(declare -f hidden note); hidden '$src' '$prefix' '$tmp' '$cc' $n" >"$tmp/hidden.tap" 2>&1
cat "$tmp/hidden.tap"
k=$(grep -c '^ok \|^not ok ' "$tmp/hidden.tap")
n=$((n + k))
fails=$((fails + $(grep -c '^not ok ' "$tmp/hidden.tap")))
if [ "$k" = 0 ]; then
	ok 1 "run the installed tools with the source tree hidden ($ns failed)"
fi

# 5. DESTDIR: staged under DESTDIR, paths inside say PREFIX
stage=$tmp/stage
$make --no-print-directory install BUILD="$build" DESTDIR="$stage" PREFIX=/opt/s2mmu \
	>"$tmp/stage.log" 2>&1 &&
	[ -x "$stage/opt/s2mmu/bin/s2mmu" ] && [ -x "$stage/opt/s2mmu/libexec/s2mmu/s2mmu-check" ] &&
	grep -qx 'prefix=/opt/s2mmu' "$stage/opt/s2mmu/lib/pkgconfig/s2mmu.pc" &&
	[ -f "$stage/opt/s2mmu/share/man/man3/s2_vm_fault.3" ]
rc=$?
[ $rc = 0 ] || note "$tmp/stage.log"
ok $rc "make install DESTDIR=... PREFIX=/opt/s2mmu stages every piece, s2mmu.pc says /opt/s2mmu"

# 6. the freestanding aarch64 archive, when make cross-lib built it
free=$build/cross/libs2mmu-freestanding.a
if [ -f "$free" ]; then
	fl=$prefix/lib/s2mmu/aarch64-freestanding/libs2mmu-freestanding.a
	[ -f "$fl" ] && [ -f "$prefix/lib/pkgconfig/s2mmu-freestanding.pc" ]
	ok $? "freestanding archive and s2mmu-freestanding.pc installed"
	if command -v aarch64-linux-gnu-gcc >/dev/null; then
		cat >"$tmp/free.c" <<-'EOF'
		/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
		#include <s2mmu/mmu.h>
		int s2_free_entry(void);
		int s2_free_entry(void)
		{
			static struct s2_pgtable pgt;
			struct s2_pgt_cfg cfg = { .format = S2_FMT_ARM64, .granule_shift = 12,
						  .ia_bits = 40 };
			struct s2_vm_cfg vc = { .pgt = cfg };
			struct s2_vm *vm;

			/* the coherence core (src/mmu) as well as the engine */
			return s2_pgt_init(&pgt, &cfg) + s2_vm_create(&vc, &vm);
		}
		EOF
		export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
		# shellcheck disable=SC2046
		aarch64-linux-gnu-gcc -std=c11 -O2 -nostdlib -nostartfiles -static \
			-Wl,-e,s2_free_entry -o "$tmp/free.elf" "$tmp/free.c" \
			$(pkg-config --cflags --libs s2mmu-freestanding) >"$tmp/free.log" 2>&1
		rc=$?
		[ $rc = 0 ] || note "$tmp/free.log"
		ok $rc "a freestanding aarch64 image calling s2_pgt_init and s2_vm_create links against it through s2mmu-freestanding.pc"
	else
		echo "ok $((n += 1)) # skip no aarch64-linux-gnu-gcc (make cross-deps)"
	fi
else
	echo "ok $((n += 1)) # skip no $free (make cross-lib builds it; make cross-test too)"
fi

# 7. uninstall leaves no file or link behind
for p in "$prefix" "$stage/opt/s2mmu"; do
	d=""; [ "$p" = "$prefix" ] || d=$stage
	$make --no-print-directory uninstall BUILD="$build" DESTDIR="$d" \
		PREFIX="${p#"$d"}" >"$tmp/un.log" 2>&1
	left=$(find "$p" \( -type f -o -type l \) | sed "s|^$p/||")
	[ -z "$left" ] || { echo "# left behind under $p:"; echo "$left" | sed 's/^/#   /'; }
	ok "$([ -z "$left" ]; echo $?)" "make uninstall removes everything it installed under $p"
done

echo "1..$n"
[ $fails = 0 ]
