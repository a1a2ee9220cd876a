#!/bin/sh
# SPDX-License-Identifier: MIT
# check-install.sh - prove a staged install is usable: a ten-line program finds
# libjobstat through pkg-config, compiles, links and prints jst_version(); the
# README's examples compile against it without a warning, and its producer
# example runs against the staged jobstatd.
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
# The README's C examples, as a user would paste them.
awk -v dir="$work" '/^```c$/ {n++; f=dir "/readme" n ".c"; on=1; next} /^```$/ {on=0} on {print > f}' README.md
for src in "$work"/readme*.c; do
	# shellcheck disable=SC2086
	cc -Wall -Wextra -Werror -o "${src%.c}" "$src" $flags
done
echo "check-install: $(ls "$work"/readme*.c | wc -l) README examples compile"
# The producer example against the staged daemon, in a namespace of its own.
ns="check-install-$$"
"$stage$prefix/sbin/jobstatd" -f -n "$ns" -c 64 --runtime-dir "$work" 2>"$work/jobstatd.log" &
daemon=$!
for _ in $(seq 200); do [ -S "$work/$ns.sock" ] && break; sleep 0.05; done
out=$(JOBSTAT_NAMESPACE=$ns JOBSTAT_SOCKET="$work/$ns.sock" LD_LIBRARY_PATH="$stage$prefix/lib" \
	"$work/readme2" 2>&1) || true
kill "$daemon"; wait "$daemon" || true
rm -f "/dev/shm/jobstat.$ns" "/dev/shm/jobstat.$ns.wait"
case "$out" in
jobstat:*completed) echo "check-install: README producer example: $out" ;;
*) echo "check-install: FAIL: README producer example said: $out" >&2; cat "$work/jobstatd.log" >&2; exit 1 ;;
esac
echo "check-install: PASS"
