#!/bin/sh
# SPDX-License-Identifier: MIT
# check-systemd.sh - what make install gives systemd, checked with systemd's own
# tools and without a running systemd (CI has none): systemd-analyze verify
# accepts jobstatd.service and jobstatd.socket without one diagnostic;
# systemd-sysusers makes the service user and the reader group from
# sysusers.d/jobstat.conf, and systemd-tmpfiles makes /run/jobstat owned by
# that user, both in a scratch root; the hardening keeps /dev/shm shared with
# clients; and the units, the sysusers entry and jobstatd.conf agree on names.
# Usage: check-systemd.sh, from the top of the tree (make test runs it; MAKE).
set -eu
make=${MAKE:-make}
work=$(mktemp -d /tmp/jst-check-systemd.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() {
	echo "check-systemd: FAIL: $*" >&2
	exit 1
}
ok() { echo "check-systemd: ok: $*"; }
for t in systemd-analyze systemd-sysusers systemd-tmpfiles; do
	command -v $t >/dev/null || fail "$t is missing: Debian package systemd (make deps)"
done

# Installed into a scratch prefix with no DESTDIR, so that ExecStart= names a jobstatd
# that exists, as verify requires; the real-root commands are replaced by true.
prefix=$work/prefix
$make -s install PREFIX="$prefix" LDCONFIG=true SYSUSERS=true TMPFILES=true >/dev/null ||
	fail "make install PREFIX=$prefix"
units=$prefix/lib/systemd/system
service=$units/jobstatd.service
socket=$units/jobstatd.socket
{ [ -f "$service" ] && [ -f "$socket" ]; } || fail "make install put no units in $units"
[ -f "$prefix/lib/sysusers.d/jobstat.conf" ] || fail "no sysusers.d/jobstat.conf"
[ -f "$prefix/lib/tmpfiles.d/jobstat.conf" ] || fail "no tmpfiles.d/jobstat.conf"

# verify exits 0 after mere warnings ("Unknown key ..., ignoring"): accept silence only.
# --man=no: the man page is installed, but man(1) may not be.
out=$(cd "$work" && systemd-analyze verify --man=no "$service" "$socket" 2>&1) ||
	fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify said: $out"
ok "systemd-analyze verify accepts jobstatd.service and jobstatd.socket"

# The settings the issue asks for, as systemd would read them (last assignment wins).
val() { sed -n "s/^$2=//p" "$1" | tail -n 1; }
[ "$(val "$service" Type)" = notify ] || fail "Type= is not notify"
case "$(val "$service" ExecStart)" in
"$prefix/sbin/jobstatd -f "*"--config $prefix/etc/jobstat/jobstatd.conf"*) ;;
*) fail "ExecStart= $(val "$service" ExecStart)" ;;
esac
[ "$(val "$service" RuntimeDirectory)" = jobstat ] || fail "RuntimeDirectory= is not jobstat"
[ "$(val "$service" RuntimeDirectoryPreserve)" = yes ] ||
	fail "RuntimeDirectoryPreserve=yes is needed: /run/jobstat holds the socket unit's socket"
[ "$(val "$service" RemoveIPC)" = no ] || fail "RemoveIPC= must be no: it would delete the segment"
for k in PrivateDevices DynamicUser PrivateUsers; do
	case "$(val "$service" $k)" in
	"" | no | false | 0) ;;
	*) fail "$k= cuts the daemon off from the clients' /dev/shm or uids" ;;
	esac
done
ok "Type=notify, -f, RuntimeDirectory=jobstat, RemoveIPC=no, no PrivateDevices/DynamicUser/PrivateUsers"
# A flood of client processes must not starve the one daemon thread of CPU (issue 13).
nice=$(val "$service" Nice)
case "$nice" in
-[1-9] | -1[0-9]) ;;
*) fail "Nice= is '$nice': jobstatd needs more weight than one client task (-1..-19)" ;;
esac
weight=$(val "$service" CPUWeight)
[ -n "$weight" ] && [ "$weight" -gt 100 ] || fail "CPUWeight= is '$weight': above the default 100"
ok "Nice=$nice, CPUWeight=$weight: the daemon outweighs a client task"

# One user, one reader group, one socket path, wherever they are named.
user=$(val "$service" User)
group=$(sed -n 's/^group = //p' daemon/jobstatd.conf)
{ [ -n "$user" ] && [ -n "$group" ]; } || fail "no User= in the unit or group = in jobstatd.conf"
[ "$(val "$socket" SocketUser)" = "$user" ] || fail "SocketUser= is not $user"
[ "$(val "$socket" SocketGroup)" = "$group" ] || fail "SocketGroup= is not $group"
[ "$(val "$service" SupplementaryGroups)" = "$group" ] || fail "the service is not in $group"
# The protocol is SOCK_SEQPACKET: a ListenStream= socket would fail every client.
[ -z "$(val "$socket" ListenStream)" ] || fail "ListenStream= makes a stream socket"
[ "$(val "$socket" ListenSequentialPacket)" = "%t/jobstat/default.sock" ] ||
	fail "ListenSequentialPacket= is not jobstatd's default socket under --runtime-dir %t/jobstat"
case "$(val "$service" ExecStart)" in
*"--runtime-dir %t/jobstat "*) ;;
*) fail "ExecStart= does not put the runtime directory where the socket is" ;;
esac
ok "user $user, group $group and the socket path agree in the units and jobstatd.conf"

# sysusers.d and tmpfiles.d, applied to a scratch root.
sys=$work/sysroot
mkdir -p "$sys/etc"
: >"$sys/etc/passwd"
: >"$sys/etc/group"
out=$(systemd-sysusers --root="$sys" "$prefix/lib/sysusers.d/jobstat.conf" 2>&1) ||
	fail "systemd-sysusers: $out"
uid=$(awk -F: -v u="$user" '$1 == u {print $3}' "$sys/etc/passwd")
gid=$(awk -F: -v u="$user" '$1 == u {print $4}' "$sys/etc/passwd")
[ -n "$uid" ] || fail "sysusers made no user $user: $(cat "$sys/etc/passwd")"
[ "$(awk -F: -v g="$user" '$1 == g {print $3}' "$sys/etc/group")" = "$gid" ] ||
	fail "sysusers made no group $user"
awk -F: -v g="$group" -v u="$user" '$1 == g && ("," $4 ",") ~ ("," u ",") {found = 1}
	END {exit !found}' "$sys/etc/group" || fail "$user is not a member of $group: $(cat "$sys/etc/group")"
case "$(awk -F: -v u="$user" '$1 == u {print $7}' "$sys/etc/passwd")" in
*nologin) ;;
*) fail "the service user can log in" ;;
esac
ok "systemd-sysusers makes user $user ($uid), a member of $group"
out=$(systemd-tmpfiles --root="$sys" --create "$prefix/lib/tmpfiles.d/jobstat.conf" 2>&1) ||
	fail "systemd-tmpfiles: $out"
[ -z "$out" ] || fail "systemd-tmpfiles said: $out"
[ "$(stat -c '%F %u %g %a' "$sys/run/jobstat")" = "directory $uid $gid 755" ] ||
	fail "/run/jobstat is $(stat -c '%F %u %g %a' "$sys/run/jobstat")"
ok "systemd-tmpfiles makes /run/jobstat, 0755, owned by $user"
echo "check-systemd: PASS"
