#!/bin/sh
# SPDX-License-Identifier: MIT
# deps-exporter.sh - install jobstat-exporter's Debian packages through deps.sh; when that
# installs the prometheus package, stop and disable the service it may have started or
# enabled: the tests run their own Prometheus on a temporary config and storage, and a
# Prometheus the machine already had is left as it was. Usage: deps-exporter.sh PKG...
set -u
had=$(dpkg-query -W -f='${Status}' prometheus 2>/dev/null)
sh "$(dirname "$0")/deps.sh" install "$@" || exit 1
case "$had" in *" installed") exit 0 ;; esac
dpkg-query -W -f='${Status}' prometheus 2>/dev/null | grep -q ' installed$' || exit 0
[ "$(id -u)" -eq 0 ] || exit 0
echo "jobstat: the prometheus package was just installed: stopping and disabling its service" >&2
if command -v systemctl >/dev/null 2>&1; then
	systemctl stop prometheus >/dev/null 2>&1
	systemctl disable prometheus >/dev/null 2>&1
fi
# Without systemd, the package's init script may have started it.
if [ -x /etc/init.d/prometheus ]; then
	/etc/init.d/prometheus stop >/dev/null 2>&1
	update-rc.d prometheus disable >/dev/null 2>&1
fi
exit 0
