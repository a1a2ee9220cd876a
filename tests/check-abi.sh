#!/bin/sh
# SPDX-License-Identifier: MIT
# check-abi.sh - compare the shared library's ABI with the committed baseline
# (abidiff, Debian abigail-tools): fail when a function or variable of the baseline was
# removed or changed (its type, or any type it reaches: a struct's size or layout, an
# enum...) unless the soname moved. Added functions are compatible and only listed.
# Usage: check-abi.sh BASELINE.abi.xml LIBRARY
set -u
base=${1:?usage: check-abi.sh BASELINE LIBRARY}
lib=${2:?usage: check-abi.sh BASELINE LIBRARY}

base_soname=$(sed -n "s/^<abi-corpus [^>]*soname='\([^']*\)'.*/\1/p" "$base" | head -n 1)
soname=$(objdump -p "$lib" | awk '$1 == "SONAME" {print $2}')
[ -n "$base_soname" ] && [ -n "$soname" ] ||
	{ echo "check-abi: FAIL: cannot read the sonames ('$base_soname', '$soname')" >&2; exit 1; }

out=$(mktemp)
trap 'rm -f "$out"' EXIT
# abidiff's exit status is a bit set: 1 error, 2 usage error, 4 ABI change, 8 incompatible.
# Without the added symbols, any change left is to something 0.1.0 programs use.
abidiff --no-added-syms "$base" "$lib" >"$out" 2>&1
rc=$?
if [ $((rc & 3)) -ne 0 ]; then
	cat "$out" >&2
	echo "check-abi: FAIL: abidiff could not compare (exit $rc)" >&2
	exit 1
fi
if [ $((rc & 12)) -ne 0 ]; then
	cat "$out" >&2
	if [ "$soname" = "$base_soname" ]; then
		echo "check-abi: FAIL: $lib changes the ABI of the $base_soname baseline and keeps its soname" >&2
		echo "check-abi: keep the ABI (README.md \"ABI\"), or bump VERSION_MAJOR and commit a new baseline" >&2
		exit 1
	fi
	echo "check-abi: PASS: the ABI changed and the soname moved ($base_soname -> $soname)"
	exit 0
fi
added=$(abidiff "$base" "$lib" 2>/dev/null | grep -c "^ *\[A\]")
echo "check-abi: PASS: $soname keeps the $base_soname baseline's ABI ($added functions added)"
