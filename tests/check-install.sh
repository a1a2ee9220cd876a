#!/bin/sh
# SPDX-License-Identifier: MIT
# check-install.sh - make install's traps, each checked (issue 12): the .pc and
# the unit follow PREFIX even after a plain make; into the real root (no
# DESTDIR) it runs ldconfig, into a DESTDIR it does not; an operator's
# jobstatd.conf is kept; pkg-config and the installed headers work without
# liburcu; a program links the installed libjobstat.so.0; and every C example
# of README.md compiles without a warning and runs, with no daemon (a clean
# error, no crash) and with one.
# Usage: check-install.sh, from the top of the tree (make test runs it; MAKE,
# and EXAMPLE_CFLAGS for the sanitizer flags of the build under test).
set -eu
make=${MAKE:-make}
cflags=${EXAMPLE_CFLAGS:-}
work=$(mktemp -d /tmp/jst-check-install.XXXXXX)
daemon=
ns="check-install-$$"
cleanup() {
	[ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
	rm -f "/dev/shm/jobstat.$ns" "/dev/shm/jobstat.$ns.lock"
	rm -rf "$work"
}
trap cleanup EXIT
fail() {
	echo "check-install: FAIL: $*" >&2
	exit 1
}
ok() { echo "check-install: ok: $*"; }

# ---- paths follow PREFIX --------------------------------------------------------------
# The tree was built (make test depends on all), with the default prefix; then
# a first install with that prefix, then one with PREFIX=/usr: the issue's trap.
$make -s install DESTDIR="$work/local" >/dev/null || fail "make install"
$make -s install DESTDIR="$work/stage" PREFIX=/usr >/dev/null || fail "make install PREFIX=/usr"
stage=$work/stage
grep -qx 'prefix=/usr' "$stage/usr/lib/pkgconfig/jobstat.pc" ||
	fail "make install PREFIX=/usr after make installed a .pc saying: $(grep '^prefix=' "$stage/usr/lib/pkgconfig/jobstat.pc")"
grep -qx 'libdir=/usr/lib' "$stage/usr/lib/pkgconfig/jobstat.pc" || fail ".pc libdir"
grep -q '^ExecStart=/usr/sbin/jobstatd -f .*--config /etc/jobstat/jobstatd.conf' \
	"$stage/usr/lib/systemd/system/jobstatd.service" || fail "the unit's ExecStart does not follow PREFIX"
[ -f "$stage/etc/jobstat/jobstatd.conf" ] || fail "PREFIX=/usr: no /etc/jobstat/jobstatd.conf"
[ -f "$work/local/usr/local/etc/jobstat/jobstatd.conf" ] || fail "default prefix: no PREFIX/etc/jobstat/jobstatd.conf"
ok "jobstat.pc, jobstatd.service and jobstatd.conf follow PREFIX after a plain make"

# ---- an operator's configuration survives make install ---------------------------------
echo "lost-grace = 42 # the operator's" >>"$stage/etc/jobstat/jobstatd.conf"
$make -s install DESTDIR="$stage" PREFIX=/usr >/dev/null || fail "make install over an install"
grep -q "lost-grace = 42 # the operator's" "$stage/etc/jobstat/jobstatd.conf" ||
	fail "make install overwrote an existing jobstatd.conf"
ok "an existing jobstatd.conf is kept"

# ---- ldconfig: into the real root, not into a DESTDIR ----------------------------------
# The real-root install goes to a scratch prefix with the commands recorded, not run.
cat >"$work/record" <<EOF
#!/bin/sh
echo "\$*" >>"$work/calls"
EOF
chmod +x "$work/record"
: >"$work/calls"
if [ "$(id -u)" -eq 0 ]; then
	$make -s install PREFIX="$work/root" "LDCONFIG=$work/record ldconfig" \
		"SYSUSERS=$work/record sysusers" "TMPFILES=$work/record tmpfiles" >/dev/null ||
		fail "make install into the real root"
	grep -qx 'ldconfig' "$work/calls" || fail "make install (no DESTDIR, as root) did not run ldconfig"
	grep -qx "sysusers $work/root/lib/sysusers.d/jobstat.conf" "$work/calls" ||
		fail "make install (no DESTDIR, as root) did not create the service user: $(cat "$work/calls")"
	grep -qx "tmpfiles --create $work/root/lib/tmpfiles.d/jobstat.conf" "$work/calls" ||
		fail "make install (no DESTDIR, as root) did not create /run/jobstat"
	: >"$work/calls"
	ok "make install into the real root runs ldconfig, systemd-sysusers, systemd-tmpfiles"
else
	echo "check-install: skipped (not root): make install into the real root"
fi
$make -s install DESTDIR="$stage" PREFIX=/usr "LDCONFIG=$work/record ldconfig" \
	"SYSUSERS=$work/record sysusers" "TMPFILES=$work/record tmpfiles" >/dev/null ||
	fail "make install DESTDIR=..."
[ ! -s "$work/calls" ] || fail "make install DESTDIR=... ran: $(cat "$work/calls")"
ok "make install into a DESTDIR runs none of them"

# ---- pkg-config and the headers without liburcu -----------------------------------------
# Only the staged .pc is visible (PKG_CONFIG_LIBDIR replaces the system's paths), as on a
# machine without liburcu-dev; it names the stage instead of /usr.
mkdir -p "$work/pc"
sed "s|^prefix=.*|prefix=$stage/usr|; s|^libdir=.*|libdir=$stage/usr/lib|; s|^includedir=.*|includedir=$stage/usr/include|" \
	"$stage/usr/lib/pkgconfig/jobstat.pc" >"$work/pc/jobstat.pc"
flags=$(PKG_CONFIG_LIBDIR="$work/pc" PKG_CONFIG_PATH='' pkg-config --cflags --libs jobstat 2>&1) ||
	fail "pkg-config --cflags --libs jobstat without liburcu: $flags"
ok "pkg-config --cflags --libs jobstat needs no liburcu: $flags"
# Any urcu header reached from the installed headers stops the compiler.
for h in arch system uatomic compiler; do
	mkdir -p "$work/poison/urcu"
	echo '#error "an installed jobstat header includes liburcu"' >"$work/poison/urcu/$h.h"
done
cat >"$work/layout.c" <<'C'
#include <stdio.h>
#include <jobstat.h>
#include <jobstat/jobstat-shm.h>

int main(void)
{
	printf("%zu %d\n", sizeof(struct jst_shm_header), JST_SHM_VERSION_MAJOR);
	return 0;
}
C
# shellcheck disable=SC2086 # flags are words
cc -Wall -Wextra -Werror -I"$work/poison" $cflags -o "$work/layout" "$work/layout.c" $flags ||
	fail "the installed <jobstat/jobstat-shm.h> does not compile without liburcu"
ok "<jobstat.h> and <jobstat/jobstat-shm.h> compile without liburcu headers"

# ---- a program links the installed shared library -----------------------------------------
cat >"$work/hello.c" <<'C'
#include <stdio.h>
#include <jobstat.h>

int main(void)
{
	printf("jobstat %s\n", jst_version());
	return 0;
}
C
# shellcheck disable=SC2086
cc $cflags -o "$work/hello" "$work/hello.c" $flags
out=$(LD_LIBRARY_PATH="$stage/usr/lib" "$work/hello")
version="$(sed -n 's/^VERSION_MAJOR *:= *//p' Makefile).$(sed -n 's/^VERSION_MINOR *:= *//p' Makefile).$(sed -n 's/^VERSION_PATCH *:= *//p' Makefile)"
[ "$out" = "jobstat $version" ] || fail "a program linked to the installed library said: $out"
LD_LIBRARY_PATH="$stage/usr/lib" ldd "$work/hello" | grep -q "libjobstat.so.0 => $stage/usr/lib/" ||
	fail "not linked against the installed libjobstat.so.0"
ok "a program links the installed libjobstat.so.0: $out"

# ---- README.md's C examples, as a user would paste them ------------------------------------
awk -v dir="$work" '/^```c$/ {n++; f=dir "/readme" n ".c"; on=1; next} /^```$/ {on=0} on {print > f}' README.md
n=0
for src in "$work"/readme*.c; do
	# shellcheck disable=SC2086
	cc -Wall -Wextra -Werror -ftrivial-auto-var-init=pattern $cflags -o "${src%.c}" "$src" $flags ||
		fail "README example $(basename "$src") does not compile cleanly"
	n=$((n + 1))
done
[ "$n" -ge 2 ] || fail "found $n C examples in README.md"
ok "$n README examples compile with -Wall -Wextra -Werror"

# Run one: its exit status and its output, stdout and stderr together.
run_example() {
	set +e
	out=$(JOBSTAT_NAMESPACE=$ns JOBSTAT_SOCKET="$work/$ns.sock" LD_LIBRARY_PATH="$stage/usr/lib" \
		"$@" 2>&1)
	rc=$?
	set -e
}

# With no daemon: each says what is wrong on one "jobstat: ..." line and exits 1.
for ex in "$work"/readme*.c; do
	ex=${ex%.c}
	run_example "$ex"
	[ "$rc" -eq 1 ] || fail "$(basename "$ex") with no daemon: exit $rc (a crash is >128): $out"
	case "$out" in
	*Sanitizer* | *"runtime error"*) fail "$(basename "$ex") with no daemon: $out" ;;
	"jobstat: "*) ;;
	*) fail "$(basename "$ex") with no daemon said: $out" ;;
	esac
	[ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || fail "$(basename "$ex"): more than one line: $out"
	ok "$(basename "$ex") with no daemon: exit 1, \"$out\""
done

# With one: the installed jobstatd in a namespace of its own.
"$stage/usr/sbin/jobstatd" -f -n "$ns" -c 64 --runtime-dir "$work" 2>"$work/jobstatd.log" &
daemon=$!
for _ in $(seq 200); do [ -S "$work/$ns.sock" ] && break; sleep 0.05; done
[ -S "$work/$ns.sock" ] || { cat "$work/jobstatd.log" >&2; fail "the installed jobstatd did not start"; }

# The reader example watches one InstanceID until it leaves Running: make it, finished.
id=$(grep -o '"Microsoft:[0-9A-F-]*"' README.md | head -n 1 | tr -d '"')
[ -n "$id" ] || fail "no InstanceID in the README's reader example"
cat >"$work/makejob.c" <<C
#include <stdio.h>
#include <jobstat.h>

int main(void)
{
	struct jst_connect_options o = {.producer = true};
	struct jst_job_spec spec = {.instance_id = "$id", .name = "README",
				    .initial_state = JST_JOB_RUNNING};
	jst_conn *c = NULL;
	jst_handle h;
	int rc = jst_connect(&o, &c);

	if (rc == 0)
		rc = jst_job_create(c, &spec, &h, NULL);
	if (rc == 0)
		rc = jst_job_complete(c, h);
	if (rc < 0)
		fprintf(stderr, "makejob: %s\n", jst_strerror(rc));
	jst_disconnect(c);
	return rc < 0;
}
C
# shellcheck disable=SC2086
cc -Wall -Werror $cflags -o "$work/makejob" "$work/makejob.c" $flags
run_example "$work/makejob"
[ "$rc" -eq 0 ] || fail "could not make the reader example's job: $out"
for ex in "$work"/readme*.c; do
	ex=${ex%.c}
	run_example "$ex"
	[ "$rc" -eq 0 ] || { cat "$work/jobstatd.log" >&2; fail "$(basename "$ex") with a daemon: exit $rc: $out"; }
	# The reader follows the job to its end and names its state; the producer's job completes.
	case "$(printf '%s\n' "$out" | tail -n 1)" in
	Completed | *" completed") ;;
	*) fail "$(basename "$ex") with a daemon said: $out" ;;
	esac
	ok "$(basename "$ex") with a daemon: \"$out\""
done
echo "check-install: PASS"
