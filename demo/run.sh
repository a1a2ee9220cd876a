#!/bin/sh
# SPDX-License-Identifier: MIT
# run.sh - make demo: jobstatd in a temporary runtime directory, a producer
# with a few hundred jobs, a client terminating one, jobstat watch, a failed
# job's error as text and CIM-XML; then everything stopped and removed.
# Usage: demo/run.sh BUILD-DIR
set -eu
build=${1:?usage: demo/run.sh BUILD-DIR}
ns="demo-$$"
tmp=$(mktemp -d /tmp/jobstat-demo.XXXXXX)
daemon=""
producer=""
cleanup() {
	[ -n "$producer" ] && kill "$producer" 2>/dev/null && wait "$producer" 2>/dev/null
	[ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
	rm -f "/dev/shm/jobstat.$ns" "/dev/shm/jobstat.$ns.lock"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export JOBSTAT_NAMESPACE="$ns" JOBSTAT_SOCKET="$tmp/$ns.sock"
step() { printf '\n\033[1m== %s\033[0m\n' "$*" | { [ -t 1 ] && cat || sed 's/\x1b\[[0-9;]*m//g'; }; }

step "starting jobstatd (namespace $ns, runtime directory $tmp)"
"$build/jobstatd" -f -n "$ns" -c 4096 --runtime-dir "$tmp" 2>"$tmp/jobstatd.log" &
daemon=$!
i=0
until [ -S "$JOBSTAT_SOCKET" ]; do
	i=$((i + 1))
	[ $i -lt 200 ] || { echo "jobstatd did not start:"; cat "$tmp/jobstatd.log"; exit 1; }
	sleep 0.05
done

step "a producer creates 300 jobs that progress, fail or complete"
"$build/demo-producer" 300 8 &
producer=$!
sleep 1

step "a client terminates demo:job-007 and kills demo:job-008 (RequestStateChange)"
"$build/jobstat" terminate demo:job-007
"$build/jobstat" kill demo:job-008

if [ -t 1 ] && [ -t 0 ]; then
	step "jobstat watch, live for 5 seconds (q quits early, s sorts)"
	sleep 1
	"$build/jobstat" watch --for 5
else
	step "jobstat watch, for 2.5 seconds (not a terminal: a snapshot a second)"
	"$build/jobstat" watch --for 2.5
fi

step "jobstat wait demo:job-001 (exit code 0 = completed, 3 = failed)"
rc=0
"$build/jobstat" wait demo:job-001 --timeout 20 || rc=$?
echo "exit code $rc"

step "jobs that failed"
"$build/jobstat" list --state Exception | head -n 6

step "GetError of demo:job-003, as text"
"$build/jobstat" error demo:job-003

step "the same, as Hyper-V's GetError returns it (CIM-XML)"
"$build/jobstat" error demo:job-003 --format cimxml

step "the terminated job records who asked"
"$build/jobstat" error demo:job-007

wait "$producer" || true
producer=""
step "jobstat info"
"$build/jobstat" info

step "stopping jobstatd and removing everything"
kill "$daemon"
wait "$daemon" || true
daemon=""
echo "done: nothing is left in /dev/shm or $tmp"
