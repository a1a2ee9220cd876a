#!/bin/sh
# SPDX-License-Identifier: MIT
# ensure-service-user.sh - the tests start jobstatd as root, which then serves as the
# "jobstat" system user: make that user if it is missing, as installing jobstat does
# (sysusers.d). As another user there is nothing to do: jobstatd keeps its own uid.
set -eu
[ "$(id -u)" -eq 0 ] || exit 0
getent passwd jobstat >/dev/null 2>&1 && exit 0
if command -v systemd-sysusers >/dev/null 2>&1 && [ -f systemd/jobstat.sysusers ]; then
	systemd-sysusers systemd/jobstat.sysusers >/dev/null && exit 0
fi
useradd --system --user-group --home-dir /nonexistent --no-create-home \
	--shell /usr/sbin/nologin --comment "jobstat daemon" jobstat
echo "jobstat: made the system user jobstat for the tests" >&2
