#!/bin/sh
# SPDX-License-Identifier: MIT
# test-prometheus.sh - jobstat-exporter against a real Prometheus (Debian's 2.42): promtool
# on the alert rules and on both exposition formats, then jobstatd, a producer with known
# jobs, the exporter and a Prometheus with a temporary config and storage scraping it on
# 127.0.0.1 every second, checked through Prometheus' HTTP API: jobs by state, per-job
# series, a failure and its counter, jobstat_up going to 0 when jobstatd is killed -9 and
# back after restart, counters not going back across it. Everything it starts it stops.
#
# Usage: test-prometheus.sh BUILD_DIR. JOBSTAT_REQUIRE_COUNTERS=1 fails, instead of
# skipping, the checks that need jobstatd to raise the segment's counters.
set -u
B=${1:?usage: test-prometheus.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
pass=0
fail=0
skip=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

for tool in prometheus promtool curl python3; do
	command -v $tool >/dev/null 2>&1 || { echo "test-prometheus: $tool is missing (make exporter-deps)" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/jobstat-prom.XXXXXX)
ns=prom-$$
dpid= epid= ppid=
cleanup() {
	for p in $epid $ppid $dpid; do kill "$p" 2>/dev/null; done
	for p in $epid $ppid $dpid; do wait "$p" 2>/dev/null; done
	rm -f "/dev/shm/jobstat.$ns" "/dev/shm/jobstat.$ns.wait"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---- promtool alone --------------------------------------------------------------------------
if promtool check rules "$here/jobstat-alerts.yml" >"$tmp/out" 2>&1; then
	ok "promtool check rules jobstat-alerts.yml"
else
	cat "$tmp/out"; bad "promtool check rules"
fi
if (cd "$here" && promtool test rules jobstat-alerts.test.yml) >"$tmp/out" 2>&1; then
	ok "promtool test rules jobstat-alerts.test.yml"
else
	cat "$tmp/out"; bad "promtool test rules"
fi

# ---- the daemon, the exporter, Prometheus ----------------------------------------------------
start_daemon() {
	rm -f "$tmp/$ns.sock"
	"$B/jobstatd" -f -n "$ns" -c 4096 $seg_access --runtime-dir "$tmp" 2>>"$tmp/jobstatd.log" &
	dpid=$!
	i=0
	while [ ! -S "$tmp/$ns.sock" ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
	[ -S "$tmp/$ns.sock" ] || { cat "$tmp/jobstatd.log"; echo "jobstatd did not start" >&2; exit 1; }
}
# As root, the segment is readable by group nogroup only, and the exporter runs as nobody in
# that group: unprivileged, with read access and nothing more.
seg_access= as_reader= as_stranger=
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1 && getent group nogroup >/dev/null; then
	seg_access="-m 0640 -g nogroup"
	as_reader="setpriv --reuid=nobody --regid=nogroup --clear-groups"
	# The same user in another group (a gid no group uses): no access to the segment.
	as_stranger="setpriv --reuid=nobody --regid=65533 --clear-groups"
fi
start_daemon
eport=$(free_port)
$as_reader "$B/jobstat-exporter" --namespace "$ns" --listen "127.0.0.1:$eport" 2>"$tmp/exporter.log" &
epid=$!
pport=$(free_port)
cat >"$tmp/prometheus.yml" <<CONF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $here/jobstat-alerts.yml
scrape_configs:
  - job_name: jobstat
    static_configs:
      - targets: ['127.0.0.1:$eport']
CONF
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
	--web.listen-address="127.0.0.1:$pport" --log.level=warn 2>"$tmp/prometheus.log" &
ppid=$!

# The sum of an instant query's values, or "none" for an empty result.
q() {
	curl -sf --max-time 5 --get --data-urlencode "query=$1" \
		"http://127.0.0.1:$pport/api/v1/query" 2>/dev/null | python3 -c '
import json, sys
try:
    r = json.load(sys.stdin)["data"]["result"]
except Exception:
    print("error"); sys.exit()
print("none" if not r else "%g" % sum(float(x["value"][1]) for x in r))'
}

# Wait up to $3 seconds for query $1 to give $2; ok or bad with $4.
expect() {
	t=0
	while [ $t -lt $(($3 * 5)) ]; do
		v=$(q "$1")
		[ "$v" = "$2" ] && { ok "$4 ($1 = $v)"; return 0; }
		sleep 0.2
		t=$((t + 1))
	done
	bad "$4: $1 is $v, expected $2"
	return 1
}

sel="namespace=\"$ns\""
expect "jobstat_up{$sel}" 1 60 "Prometheus scrapes the exporter and jobstatd is up" ||
	{ cat "$tmp/prometheus.log" "$tmp/exporter.log"; exit 1; }

# ---- jobs by state, per-job series -------------------------------------------------------------
"$B/exporter-test-producer" "$tmp/$ns.sock" setup || bad "producer setup"
expect "sum(jobstat_jobs{$sel,state=\"Running\"})" 3 15 "three Running jobs"
expect "sum(jobstat_jobs{$sel,state=\"Completed\",job_type=\"5\"})" 1 15 "one Completed job of JobType 5"
expect "count(jobstat_job_state{$sel} == 4)" 3 15 "per-job state series for the unfinished jobs only"
expect "sum(jobstat_job_progress_ratio{$sel})" 1.2 15 "per-job progress 0.4 each"
created0=$(q "jobstat_jobs_created_total{$sel}")
counting=no
[ "$created0" != none ] && [ "$created0" != 0 ] && counting=yes

# ---- a failure ---------------------------------------------------------------------------------
exc0=$(q "sum(jobstat_jobs_finished_total{$sel,state=\"Exception\"}) or vector(0)")
"$B/exporter-test-producer" "$tmp/$ns.sock" fail 2 || bad "producer fail"
expect "sum(jobstat_jobs{$sel,state=\"Exception\"})" 2 15 "two jobs in Exception"
expect "count(jobstat_job_error_info{$sel,message_id=\"JST9001\",perceived_severity=\"6\",cim_status_code=\"4\"})" \
	2 15 "the failed jobs' latest error identity"
if [ $counting = yes ]; then
	expect "sum(jobstat_jobs_finished_total{$sel,state=\"Exception\"})" $((exc0 + 2)) 15 \
		"the failure counter counts both failures"
	expect "sum(jobstat_job_errors_total{$sel,severity=\"critical\"})" 2 15 \
		"both errors counted as PerceivedSeverity 6 (critical)"
else
	skip=$((skip + 1))
	echo "SKIP: jobstatd does not raise the segment's counters yet (jobstat_jobs_created_total" \
		"is $created0 after 4 jobs): the failure counter and the restart monotonicity are" \
		"not checked. daemon/counters.c has the calls; the daemon's rules must make them."
fi

# ---- kill -9 and restart -----------------------------------------------------------------------
gen0=$(q "jobstat_daemon_generation{$sel}")
created1=$(q "jobstat_jobs_created_total{$sel}")
kill -9 "$dpid"
wait "$dpid" 2>/dev/null
dpid=
expect "jobstat_up{$sel}" 0 20 "jobstat_up goes to 0 when jobstatd is killed -9"
expect "up{job=\"jobstat\"}" 1 5 "the exporter still answers every scrape (no HTTP error)"
expect "count(ALERTS{alertname=\"JobstatDaemonDown\",$sel})" 1 15 "the JobstatDaemonDown rule sees it"
start_daemon
expect "jobstat_up{$sel}" 1 20 "jobstat_up is back after the restart"
expect "jobstat_daemon_generation{$sel}" $((gen0 + 1)) 10 "the restarted daemon is the next generation"
expect "sum(jobstat_jobs{$sel,state=\"Running\"})" 3 10 "the adopted jobs are still counted"
if [ $counting = yes ]; then
	expect "jobstat_jobs_created_total{$sel} >= bool $created1" 1 10 \
		"jobs created did not go back across kill -9 and restart"
	"$B/exporter-test-producer" "$tmp/$ns.sock" setup || bad "producer setup after the restart"
	expect "jobstat_jobs_created_total{$sel}" $((created1 + 4)) 15 \
		"the restarted daemon counts on from where the killed one stopped"
	expect "sum(resets(jobstat_jobs_created_total{$sel}[5m])) + sum(resets(jobstat_jobs_finished_total{$sel}[5m]))" \
		0 5 "Prometheus saw no counter reset across the kill -9 and restart"
elif [ "${JOBSTAT_REQUIRE_COUNTERS:-0}" = 1 ]; then
	bad "JOBSTAT_REQUIRE_COUNTERS=1 but jobstatd raises no counter"
fi

# ---- who may read ------------------------------------------------------------------------------
if [ -n "$as_reader" ]; then
	ok "the exporter runs as nobody with read access to the segment only (group nogroup)"
	if [ -n "$as_stranger" ]; then
		sport=$(free_port)
		$as_stranger "$B/jobstat-exporter" --namespace "$ns" --listen "127.0.0.1:$sport" \
			2>"$tmp/stranger.log" &
		spid=$!
		i=0
		until curl -sf -o "$tmp/stranger" "http://127.0.0.1:$sport/metrics" || [ $i -ge 100 ]; do
			sleep 0.05; i=$((i + 1)); done
		kill "$spid"; wait "$spid" 2>/dev/null
		if grep -qx "jobstat_up{namespace=\"$ns\"} 0" "$tmp/stranger" &&
			! grep -q "^jobstat_jobs{namespace=\"$ns\"" "$tmp/stranger"; then
			ok "without read access the exporter shows jobstat_up 0 and no job"
		else
			bad "an exporter without read access to the segment"
		fi
	fi
else
	skip=$((skip + 1))
	echo "SKIP: not root (or no setpriv): the exporter runs as the caller, not as nobody"
fi

# ---- both formats through promtool -----------------------------------------------------------
url="http://127.0.0.1:$eport/metrics"
curl -sf -o "$tmp/text" -D "$tmp/text.h" "$url"
if grep -qi '^content-type: text/plain; version=0.0.4' "$tmp/text.h" &&
	promtool check metrics <"$tmp/text" >"$tmp/out" 2>&1; then
	ok "promtool check metrics accepts the text format 0.0.4"
else
	cat "$tmp/text.h" "$tmp/out"; bad "promtool check metrics on the text format"
fi
curl -sf -o "$tmp/om" -D "$tmp/om.h" -H 'Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5' "$url"
promtool check metrics <"$tmp/om" >"$tmp/out" 2>&1
rc=$?
# promtool 2.42 reads only the text format: on OpenMetrics it parses every line, and its
# linter can only object that a counter's samples (X_total) have no HELP of their own,
# OpenMetrics giving HELP and TYPE to the family X. Anything else fails.
others=$(sed -n 's/^\([a-z_]*\)_total no help text$/\1/p' "$tmp/out" | while read -r fam; do
	grep -q "^# TYPE $fam counter$" "$tmp/om" || echo "$fam"; done)
unexplained=$(grep -cv '_total no help text$' "$tmp/out")
if grep -qi '^content-type: application/openmetrics-text; version=1.0.0' "$tmp/om.h" &&
	[ "$(tail -n 1 "$tmp/om")" = "# EOF" ] && [ $rc -ne 1 ] && [ -z "$others" ] &&
	[ "$unexplained" -eq 0 ]; then
	ok "promtool check metrics parses OpenMetrics 1.0 (rc $rc: only OpenMetrics' counter naming)"
else
	cat "$tmp/om.h" "$tmp/out"; bad "promtool check metrics on OpenMetrics (rc $rc)"
fi
# ---- the rest of HTTP ------------------------------------------------------------------------
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
if [ "$(code "http://127.0.0.1:$eport/nothing")" = 404 ] &&
	[ "$(code -X POST "$url")" = 405 ] && [ "$(code -I "$url")" = 200 ] &&
	[ "$(code "http://127.0.0.1:$eport/")" = 200 ]; then
	ok "HTTP: 404 for other paths, 405 for POST, HEAD and the landing page answered"
else
	bad "HTTP status codes: /nothing $(code "http://127.0.0.1:$eport/nothing"), POST $(code -X POST "$url")"
fi
expect "sgn(jobstat_exporter_scrapes_total{format=\"openmetrics\"})" 1 5 \
	"Prometheus negotiated OpenMetrics and stored it"

echo "test-prometheus: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
