#!/bin/sh
# SPDX-License-Identifier: MIT
# check-exports.sh - fail unless every symbol the shared library defines is a jst_ one.
set -eu
lib=${1:?usage: check-exports.sh LIBRARY}
syms=$(nm -D --defined-only "$lib" | awk '{print $NF}')
[ -n "$syms" ] || { echo "check-exports: $lib exports nothing" >&2; exit 1; }
bad=$(printf '%s\n' "$syms" | grep -v '^jst_' || true)
if [ -n "$bad" ]; then
	echo "check-exports: FAIL: $lib exports symbols without the jst_ prefix:" >&2
	printf '  %s\n' $bad >&2
	exit 1
fi
echo "check-exports: PASS: $(printf '%s\n' "$syms" | wc -l) symbols, all jst_*"
