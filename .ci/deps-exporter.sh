#!/bin/sh
# SPDX-License-Identifier: MIT
# deps-exporter.sh - install jobstat-exporter's Debian packages through deps.sh, then make
# sure Debian's prometheus package left no service running: the tests start their own
# Prometheus on a temporary config and storage. Usage: deps-exporter.sh PKG...
set -u
sh "$(dirname "$0")/deps.sh" install "$@" || exit 1
[ "$(id -u)" -eq 0 ] || exit 0
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
	echo "jobstat: stopping and disabling the prometheus service the package started" >&2
	systemctl disable --now prometheus >/dev/null 2>&1
fi
# Without systemd the package's init script may have started it (no policy-rc.d).
if [ -x /etc/init.d/prometheus ] && /etc/init.d/prometheus status >/dev/null 2>&1; then
	echo "jobstat: stopping the prometheus service the package started" >&2
	/etc/init.d/prometheus stop >/dev/null 2>&1
	update-rc.d prometheus disable >/dev/null 2>&1 || true
fi
exit 0
