#!/bin/sh
# SPDX-License-Identifier: MIT
# check-install.sh - prove a staged install is usable: a ten-line program finds
# libjobstat through pkg-config, compiles, links and prints jst_version().
# Usage: check-install.sh STAGE PREFIX
set -eu
stage=${1:?usage: check-install.sh STAGE PREFIX}
prefix=${2:?usage: check-install.sh STAGE PREFIX}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pcdir="$stage$prefix/lib/pkgconfig"
# The .pc names the final prefix; point it at the stage for this check.
sed "s|^prefix=.*|prefix=$stage$prefix|; s|^libdir=.*|libdir=$stage$prefix/lib|; s|^includedir=.*|includedir=$stage$prefix/include|" \
	"$pcdir/jobstat.pc" > "$work/jobstat.pc"
cat > "$work/hello.c" <<'C'
#include <stdio.h>
#include <jobstat.h>

int main(void)
{
	printf("jobstat %s\n", jst_version());
	return 0;
}
C
flags=$(PKG_CONFIG_PATH="$work" pkg-config --cflags --libs jobstat)
# shellcheck disable=SC2086 # flags are words
cc -o "$work/hello" "$work/hello.c" $flags
out=$(LD_LIBRARY_PATH="$stage$prefix/lib" "$work/hello")
echo "check-install: $out"
[ "$out" = "jobstat $(sed -n 's/^VERSION_MAJOR *:= *//p' Makefile).$(sed -n 's/^VERSION_MINOR *:= *//p' Makefile).$(sed -n 's/^VERSION_PATCH *:= *//p' Makefile)" ] ||
	{ echo "check-install: FAIL: unexpected output" >&2; exit 1; }
# And the shared library, not the static one, is what it linked.
ldd "$work/hello" | grep -q 'libjobstat.so.0' ||
	{ echo "check-install: FAIL: not linked against libjobstat.so.0" >&2; exit 1; }
echo "check-install: PASS"
