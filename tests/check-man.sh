#!/bin/sh
# SPDX-License-Identifier: MIT
# check-man.sh - fail unless every function the shared library exports has its own
# installed man page (made from its kernel-doc) that `man NAME` finds, and is linked from
# libjobstat(3); and the bash completion is installed where bash-completion looks.
# Usage: check-man.sh LIBRARY STAGED_PREFIX   (after make install DESTDIR=... PREFIX=/usr)
set -eu
lib=${1:?usage: check-man.sh LIBRARY STAGED_PREFIX}
prefix=${2:?usage: check-man.sh LIBRARY STAGED_PREFIX}
mandir=$prefix/share/man
syms=$(nm -D --defined-only "$lib" | awk '{print $NF}' | sort)
[ -n "$syms" ] || { echo "check-man: $lib exports nothing" >&2; exit 1; }
fail=0
for s in $syms; do
	if [ ! -f "$mandir/man3/$s.3" ]; then
		echo "check-man: FAIL: $s has no page (no /** $s() - ... */ comment in jobstat.h?)" >&2
		fail=1
	elif ! grep -q "^\.BR $s (3)" "$mandir/man3/libjobstat.3"; then
		echo "check-man: FAIL: libjobstat(3) does not link $s(3)" >&2
		fail=1
	elif ! MANPAGER=cat MANWIDTH=80 man -M "$mandir" "$s" 2>/dev/null |
			grep -q "^ *$s  *- "; then
		echo "check-man: FAIL: man $s does not show its page" >&2
		fail=1
	fi
done
for p in man1/jobstat.1 man8/jobstatd.8 man3/libjobstat.3; do
	MANPAGER=cat man -M "$mandir" -w "$(basename "${p%.*}")" >/dev/null 2>&1 ||
		{ echo "check-man: FAIL: $p is not installed" >&2; fail=1; }
done
for p in man3/libjobstat.3 man8/jobstatd.8; do
	grep -q '^\.SH EXAMPLES' "$mandir/$p" || { echo "check-man: FAIL: $p has no EXAMPLES" >&2; fail=1; }
done
[ -f "$prefix/share/bash-completion/completions/jobstat" ] ||
	{ echo "check-man: FAIL: no bash completion in share/bash-completion/completions" >&2; fail=1; }
[ $fail -eq 0 ] || exit 1
echo "check-man: PASS: $(printf '%s\n' "$syms" | wc -l) exported functions, each with a page man finds"
