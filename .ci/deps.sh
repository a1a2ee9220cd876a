#!/bin/sh
# SPDX-License-Identifier: MIT
# deps.sh - install the Debian packages jobstat needs when any is missing (as root), or
# print the exact command to run and fail. Usage: deps.sh install PKG...
set -u
[ "${1:-}" = install ] && shift
missing=
for p in "$@"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
	case "$status" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "jobstat: missing Debian packages:$missing" >&2
	echo "jobstat: run: sudo apt-get update && sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "jobstat: installing missing Debian packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2 || { echo "jobstat: apt-get update failed" >&2; exit 1; }
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt-get install -y -qq --no-install-recommends $missing >&2 ||
	{ echo "jobstat: apt-get install$missing failed" >&2; exit 1; }
