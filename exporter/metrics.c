/* SPDX-License-Identifier: MIT */
/*
 * metrics.c - one scrape of jobstat-exporter: read every watched segment
 * (counts by state and type, per-job series up to the cap, the daemon's
 * counters and health) and write it in the text format 0.0.4 or in
 * OpenMetrics 1.0, with label values escaped. Reading and writing make no
 * syscall and allocate nothing; only jx_refresh() attaches.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "metrics.h"
#include "shm-check.h"

#define NS_PER_S UINT64_C(1000000000)

/* ---- content negotiation --------------------------------------------------------------- */

const char *jx_content_type(enum jx_format f)
{
	return f == JX_OPENMETRICS ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
				   : "text/plain; version=0.0.4; charset=utf-8";
}

/* Skip blanks (RFC 9110 OWS). */
static const char *ows(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	return s;
}

/* Does [s, end) equal @word, ignoring case and surrounding blanks? */
static bool token_is(const char *s, const char *end, const char *word)
{
	size_t n = strlen(word);

	s = ows(s, end);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	return (size_t)(end - s) == n && strncasecmp(s, word, n) == 0;
}

/* q as thousandths (RFC 9110: "0", "1", "0.5", at most three decimals); -1 if malformed. */
static int parse_q(const char *s, const char *end)
{
	int q = 0, scale = 1000;

	s = ows(s, end);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (s >= end || (*s != '0' && *s != '1'))
		return -1;
	q = (*s++ - '0') * 1000;
	if (s < end && *s == '.') {
		for (s++; s < end && scale > 1; s++) {
			if (*s < '0' || *s > '9')
				return -1;
			scale /= 10;
			q += (*s - '0') * scale;
		}
	}
	return s == end && q <= 1000 ? q : -1;
}

/*
 * One media range "type/subtype;param=value;q=0.5": which of our formats it
 * names (0 text, 1 OpenMetrics, -1 neither) and its q in thousandths.
 */
static int media_range(const char *s, const char *end, int *ret_q)
{
	const char *semi = memchr(s, ';', (size_t)(end - s));
	const char *type_end = semi ? semi : end;
	bool om = token_is(s, type_end, "application/openmetrics-text");
	bool text = token_is(s, type_end, "text/plain") || token_is(s, type_end, "text/*") ||
		    token_is(s, type_end, "*/*");
	bool version_ok = true;
	int q = 1000;

	while (semi) {
		const char *p = semi + 1;
		const char *next = memchr(p, ';', (size_t)(end - p));
		const char *pend = next ? next : end;
		const char *eq = memchr(p, '=', (size_t)(pend - p));

		if (eq && token_is(p, eq, "q")) {
			q = parse_q(eq + 1, pend);
			if (q < 0)
				return -1; /* a malformed range is ignored */
		} else if (eq && token_is(p, eq, "version")) {
			if (om && !token_is(eq + 1, pend, "1.0.0"))
				version_ok = false; /* 0.0.1 and others: we do not write them */
			if (text && !token_is(eq + 1, pend, "0.0.4"))
				version_ok = false;
		}
		semi = next;
	}
	*ret_q = q;
	if (!version_ok)
		return -1;
	return om ? JX_OPENMETRICS : text ? JX_TEXT : -1;
}

enum jx_format jx_negotiate(const char *accept)
{
	int best_q[2] = {-1, -1};
	const char *s = accept;

	if (!accept)
		return JX_TEXT;
	while (*s) {
		const char *comma = strchr(s, ',');
		const char *end = comma ? comma : s + strlen(s);
		int q, which = media_range(s, end, &q);

		if (which >= 0 && q > best_q[which])
			best_q[which] = q;
		s = comma ? comma + 1 : end;
	}
	/* OpenMetrics when asked for at least as much as the text format, and at all. */
	return best_q[JX_OPENMETRICS] > 0 && best_q[JX_OPENMETRICS] >= best_q[JX_TEXT]
		       ? JX_OPENMETRICS
		       : JX_TEXT;
}

/* ---- output ------------------------------------------------------------------------------ */

static void put(struct jx_buf *b, const char *s, size_t n)
{
	if (b->full || b->cap - b->len < n) {
		b->full = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void puts_(struct jx_buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void put_u64(struct jx_buf *b, uint64_t v)
{
	char d[24];
	unsigned i = sizeof(d);

	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(b, d + i, sizeof(d) - i);
}

/* Nanoseconds as seconds, "12.5", with no trailing zeros. */
static void put_seconds(struct jx_buf *b, uint64_t ns)
{
	char frac[10];
	unsigned n = 9;
	uint64_t f = ns % NS_PER_S;

	put_u64(b, ns / NS_PER_S);
	if (!f)
		return;
	for (int i = 8; i >= 0; i--, f /= 10)
		frac[1 + i] = (char)('0' + f % 10);
	while (frac[n] == '0')
		n--;
	frac[0] = '.';
	put(b, frac, n + 1);
}

/* Where a UTF-8 string of @n bytes may be cut at or below @max without splitting a character. */
static size_t utf8_cut(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return n;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	return max;
}

void jx_label_escape(struct jx_buf *b, const char *s, size_t max)
{
	size_t n = utf8_cut(s, strlen(s), max), run = 0;

	/* Both formats escape the same three characters in label values. */
	for (size_t i = 0; i < n; i++) {
		const char *esc = s[i] == '\\' ? "\\\\" : s[i] == '"' ? "\\\"" : s[i] == '\n' ? "\\n" : NULL;

		if (!esc)
			continue;
		put(b, s + run, i - run);
		put(b, esc, 2);
		run = i + 1;
	}
	put(b, s + run, n - run);
}

enum kind { GAUGE, COUNTER, INFO };

/*
 * A family's HELP and TYPE. @name is the family's name: counters get
 * _total on their samples (and, in the text format, on the family). Info
 * families are gauges named *_info whose value is 1, in both formats, as
 * client_golang (node_exporter's library) writes them: Prometheus 2.42's
 * promtool cannot read OpenMetrics' info type, and stores it as a gauge.
 */
static void family(struct jx_buf *b, enum jx_format f, const char *name, enum kind k,
		   const char *help)
{
	const char *suffix = k == INFO ? "_info" : k == COUNTER && f == JX_TEXT ? "_total" : "";
	const char *type = k == COUNTER ? "counter" : "gauge";

	puts_(b, "# HELP ");
	puts_(b, name);
	puts_(b, suffix);
	put(b, " ", 1);
	puts_(b, help);
	puts_(b, "\n# TYPE ");
	puts_(b, name);
	puts_(b, suffix);
	put(b, " ", 1);
	puts_(b, type);
	put(b, "\n", 1);
}

/* A sample's name and its first label, the namespace: `name{namespace="ns"`. */
static void sample(struct jx_buf *b, const char *name, enum kind k, const char *ns)
{
	puts_(b, name);
	puts_(b, k == COUNTER ? "_total" : k == INFO ? "_info" : "");
	puts_(b, "{namespace=\"");
	jx_label_escape(b, ns, 64);
	put(b, "\"", 1);
}

static void label(struct jx_buf *b, const char *key, const char *value, size_t max)
{
	put(b, ",", 1);
	puts_(b, key);
	puts_(b, "=\"");
	jx_label_escape(b, value, max);
	put(b, "\"", 1);
}

static void label_u64(struct jx_buf *b, const char *key, uint64_t v)
{
	put(b, ",", 1);
	puts_(b, key);
	puts_(b, "=\"");
	put_u64(b, v);
	put(b, "\"", 1);
}

static void value_u64(struct jx_buf *b, uint64_t v)
{
	puts_(b, "} ");
	put_u64(b, v);
	put(b, "\n", 1);
}

static void value_seconds(struct jx_buf *b, uint64_t ns)
{
	puts_(b, "} ");
	put_seconds(b, ns);
	put(b, "\n", 1);
}

/* ---- reading a namespace ---------------------------------------------------------------- */

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts); /* answered by the vDSO for the clocks used here */
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* The row of jobstat_jobs for a JobState (struct jx_ns_scan). */
static unsigned state_class(uint16_t s)
{
	if (s >= JST_JOB_NEW && s <= JST_JOB_QUERY_PENDING)
		return s;
	if (s == JST_JOB_COMPLETED_WITH_WARNINGS)
		return 13;
	return s > JST_JOB_COMPLETED_WITH_WARNINGS ? 1 : 0;
}

/* The label value of a state class: the state's name, "Vendor" or "Reserved". */
static const char *class_name(unsigned c)
{
	return c == 13 ? jst_job_state_name(JST_JOB_COMPLETED_WITH_WARNINGS)
	       : c == 1 ? "Vendor"
	       : c == 0 ? "Reserved"
			: jst_job_state_name((uint16_t)c);
}

static void count_job(struct jx_ns_scan *sc, const struct jst_status *st)
{
	unsigned col = sc->column_of[st->job_type];

	if (col) {
		col--;
	} else if (sc->n_types < JX_TYPES_MAX) {
		col = sc->n_types++;
		sc->types[col] = st->job_type;
		sc->column_of[st->job_type] = (uint8_t)(col + 1);
	} else {
		col = JX_TYPE_OTHER; /* a bounded label set, whatever producers send */
		sc->other_used = true;
	}
	sc->counts[col][state_class(st->job_state)]++;
}

/* Take the job's per-job series, if the cap allows; its latest error for a failed job. */
static void select_job(struct jx_exporter *x, unsigned nsi, const struct jst_status *st,
		       bool failed)
{
	struct jx_ns_scan *sc = &x->scan[nsi];
	jst_reader *r = x->ns[nsi].r;
	struct jx_job *j;

	if (x->n_jobs >= x->max_jobs) {
		sc->dropped++;
		return;
	}
	if (jst_job(r, st->handle, x->job) != 0 || !x->job->instance_id)
		return; /* removed since the scan saw it: it is simply gone */
	j = &x->jobs[x->n_jobs];
	j->ns = (uint16_t)nsi;
	j->job_state = x->job->status.job_state;
	j->job_type = x->job->status.job_type;
	j->percent = x->job->status.percent_complete;
	j->start_time = x->job->status.start_time;
	j->failed = failed;
	j->has_error = false;
	snprintf(j->instance_id, sizeof(j->instance_id), "%s", x->job->instance_id);
	if (failed && x->job->status.n_errors > 0 &&
	    jst_error_read(r, st->handle, x->job->status.n_errors - 1u, x->err) == 0 &&
	    x->err->message_id) {
		j->has_error = true;
		j->severity = x->err->perceived_severity;
		j->cim_status_code = x->err->cim_status_code;
		snprintf(j->message_id, sizeof(j->message_id), "%.*s",
			 (int)utf8_cut(x->err->message_id, strlen(x->err->message_id), JX_LABEL_MAX),
			 x->err->message_id);
	}
	x->n_jobs++;
}

static void scan_ns(struct jx_exporter *x, unsigned nsi, uint64_t now_real, uint64_t now_mono)
{
	struct jx_ns_scan *sc = &x->scan[nsi];
	jst_reader *r = x->ns[nsi].r;
	uint32_t pos = 0;
	size_t n;

	/* Forget the last scrape's columns: only the entries it set, not all 64 KiB. */
	for (uint32_t t = 0; t < sc->n_types; t++)
		sc->column_of[sc->types[t]] = 0;
	memset(sc, 0, offsetof(struct jx_ns_scan, column_of));
	sc->dropped = 0;
	sc->scanned = 0;
	if (!r)
		return;
	sc->attached = true;
	sc->up = jst_daemon_alive(r);
	jst_info(r, &sc->info);
	jst_counters(r, &sc->ctr);
	sc->heartbeat_age_ns = now_mono > sc->info.heartbeat_ns ? now_mono - sc->info.heartbeat_ns : 0;
	while (jst_scan(r, &pos, x->batch, JX_BATCH, &n) == 0 && n > 0) {
		for (size_t i = 0; i < n; i++) {
			const struct jst_status *st = &x->batch[i];
			uint64_t since = st->time_of_last_state_change;
			bool failed = st->job_state == JST_JOB_EXCEPTION &&
				      (since >= now_real || now_real - since <= x->failed_window_ns);

			count_job(sc, st);
			if (failed || !jst_job_state_is_final(st->job_state))
				select_job(x, nsi, st, failed);
		}
		sc->scanned += n;
	}
}

/* ---- writing a scrape -------------------------------------------------------------------- */

static const char *const severity_names[JST_COUNTERS_SEVERITY] = {
	"unknown", "other", "information", "degraded", "minor", "major", "critical", "fatal",
	"vendor"};

static const char *const refusal_names[JST_COUNTERS_REFUSALS] = {"segment_full", "clients",
								   "quota"};

/* The families with one sample per attached namespace, and where each value comes from. */
enum ns_value {
	V_GENERATION, V_HEARTBEAT_AGE, V_START_TIME, V_CONNECTIONS, V_SESSIONS, V_SLOTS,
	V_CREATED, V_SESSIONS_LOST,
};

static const struct ns_family {
	const char *name;
	enum kind kind;
	enum ns_value v;
	bool seconds;            /* the value is nanoseconds, written as seconds */
	const char *help;
} health[] = {
	{"jobstat_daemon_generation", GAUGE, V_GENERATION, false,
	 "The generation of the daemon publishing the segment: +1 at every jobstatd start."},
	{"jobstat_daemon_heartbeat_age_seconds", GAUGE, V_HEARTBEAT_AGE, true,
	 "Seconds since the daemon's last heartbeat in the segment."},
	{"jobstat_daemon_start_time_seconds", GAUGE, V_START_TIME, true,
	 "When the daemon publishing the segment started, seconds since the epoch."},
	{"jobstat_daemon_connections", GAUGE, V_CONNECTIONS, false,
	 "Control connections open, as the daemon last reported in the segment."},
	{"jobstat_daemon_sessions", GAUGE, V_SESSIONS, false,
	 "Producer sessions, connected or not, as the daemon last reported in the segment."},
	{"jobstat_job_slots", GAUGE, V_SLOTS, false, "Job slots of the segment: its capacity in jobs."},
},
created = {"jobstat_jobs_created", COUNTER, V_CREATED, false,
	   "Jobs created since the segment was created."},
sessions_lost = {"jobstat_producer_sessions_lost", COUNTER, V_SESSIONS_LOST, false,
		 "Producer sessions whose jobs went Lost Communication."};

static uint64_t ns_value(const struct jx_ns_scan *sc, enum ns_value v)
{
	switch (v) {
	case V_GENERATION:
		return sc->info.generation;
	case V_HEARTBEAT_AGE:
		return sc->heartbeat_age_ns;
	case V_START_TIME:
		return sc->info.daemon_birth_ns;
	case V_CONNECTIONS:
		return sc->ctr.connections;
	case V_SESSIONS:
		return sc->ctr.sessions;
	case V_SLOTS:
		return sc->info.capacity;
	case V_CREATED:
		return sc->ctr.jobs_created;
	case V_SESSIONS_LOST:
		return sc->ctr.sessions_lost;
	}
	return 0;
}

static void write_per_ns(struct jx_exporter *x, enum jx_format f, struct jx_buf *b,
			 const struct ns_family *m)
{
	family(b, f, m->name, m->kind, m->help);
	for (unsigned i = 0; i < x->n_ns; i++) {
		if (!x->scan[i].attached)
			continue;
		sample(b, m->name, m->kind, x->ns[i].name);
		if (m->seconds)
			value_seconds(b, ns_value(&x->scan[i], m->v));
		else
			value_u64(b, ns_value(&x->scan[i], m->v));
	}
}

/* The per-pool families: capacity, in use, ever used. */
static const struct pool_family {
	const char *name;
	size_t field;            /* offsetof(struct jst_pool_use, ...) */
	const char *help;
} pool_families[] = {
	{"jobstat_pool_blocks", offsetof(struct jst_pool_use, blocks),
	 "Usable blocks of each of the segment's pools."},
	{"jobstat_pool_blocks_in_use", offsetof(struct jst_pool_use, in_use),
	 "Blocks of each pool holding live or retired versions, as the daemon last reported."},
	{"jobstat_pool_blocks_touched", offsetof(struct jst_pool_use, touched),
	 "Blocks of each pool used at least once since the segment was created (its memory high-water)."},
};

static void write_health(struct jx_exporter *x, enum jx_format f, struct jx_buf *b)
{
	family(b, f, "jobstat_up", GAUGE,
	       "1 while the namespace's jobstatd is publishing (fresh heartbeat), 0 when it is down, restarting or its segment cannot be read.");
	for (unsigned i = 0; i < x->n_ns; i++) {
		sample(b, "jobstat_up", GAUGE, x->ns[i].name);
		value_u64(b, x->scan[i].up);
	}
	for (size_t k = 0; k < sizeof(health) / sizeof(health[0]); k++)
		write_per_ns(x, f, b, &health[k]);
	for (size_t k = 0; k < sizeof(pool_families) / sizeof(pool_families[0]); k++) {
		const struct pool_family *m = &pool_families[k];

		family(b, f, m->name, GAUGE, m->help);
		for (unsigned i = 0; i < x->n_ns; i++)
			for (unsigned p = 0; x->scan[i].attached && p < JST_POOLS; p++) {
				uint32_t v;

				memcpy(&v, (const char *)&x->scan[i].ctr.pools[p] + m->field, sizeof(v));
				sample(b, m->name, GAUGE, x->ns[i].name);
				label(b, "pool", jst_pool_name(p), 32);
				value_u64(b, v);
			}
	}
}

static void write_type_label(struct jx_buf *b, uint32_t type, bool other)
{
	if (other)
		label(b, "job_type", "other", 8);
	else
		label_u64(b, "job_type", type);
}

static void write_counters(struct jx_exporter *x, enum jx_format f, struct jx_buf *b)
{
	static const uint16_t final[JST_COUNTERS_FINAL] = JST_COUNTERS_FINAL_STATES;
	static const uint32_t codes[JST_COUNTERS_RSC - 1] = JST_COUNTERS_RSC_CODES;

	family(b, f, "jobstat_jobs", GAUGE, "Jobs in the segment now, by JobState and JobType.");
	for (unsigned i = 0; i < x->n_ns; i++) {
		const struct jx_ns_scan *sc = &x->scan[i];

		for (uint32_t t = 0; t <= JX_TYPES_MAX; t++) {
			if (t == JX_TYPE_OTHER ? !sc->other_used : t >= sc->n_types)
				continue;
			for (unsigned c = 0; c < JX_CLASSES; c++) {
				if (!sc->counts[t][c])
					continue;
				sample(b, "jobstat_jobs", GAUGE, x->ns[i].name);
				label(b, "state", class_name(c), 32);
				write_type_label(b, sc->types[t < JX_TYPES_MAX ? t : 0], t == JX_TYPE_OTHER);
				value_u64(b, sc->counts[t][c]);
			}
		}
	}
	write_per_ns(x, f, b, &created);
	family(b, f, "jobstat_jobs_finished", COUNTER,
	       "Jobs that reached a final JobState, by that state and JobType.");
	for (unsigned i = 0; i < x->n_ns; i++)
		for (unsigned t = 0; t < x->scan[i].ctr.n_types; t++)
			for (unsigned s = 0; s < JST_COUNTERS_FINAL; s++) {
				const struct jst_counters_type *ct = &x->scan[i].ctr.types[t];

				sample(b, "jobstat_jobs_finished", COUNTER, x->ns[i].name);
				label(b, "state", jst_job_state_name(final[s]), 32);
				write_type_label(b, ct->job_type, ct->other);
				value_u64(b, ct->finished[s]);
			}
	family(b, f, "jobstat_job_errors", COUNTER, "CIM_Errors reported, by PerceivedSeverity.");
	for (unsigned i = 0; i < x->n_ns; i++)
		for (unsigned s = 0; x->scan[i].attached && s < JST_COUNTERS_SEVERITY; s++) {
			sample(b, "jobstat_job_errors", COUNTER, x->ns[i].name);
			label(b, "severity", severity_names[s], 16);
			value_u64(b, x->scan[i].ctr.errors[s]);
		}
	family(b, f, "jobstat_state_change_requests", COUNTER,
	       "RequestStateChange calls answered, by their CIM return code.");
	for (unsigned i = 0; i < x->n_ns; i++)
		for (unsigned c = 0; x->scan[i].attached && c < JST_COUNTERS_RSC; c++) {
			sample(b, "jobstat_state_change_requests", COUNTER, x->ns[i].name);
			if (c < JST_COUNTERS_RSC - 1)
				label_u64(b, "code", codes[c]);
			else
				label(b, "code", "other", 8);
			value_u64(b, x->scan[i].ctr.rsc[c]);
		}
	write_per_ns(x, f, b, &sessions_lost);
	family(b, f, "jobstat_requests_refused", COUNTER,
	       "Producer requests the daemon refused, by reason.");
	for (unsigned i = 0; i < x->n_ns; i++)
		for (unsigned c = 0; x->scan[i].attached && c < JST_COUNTERS_REFUSALS; c++) {
			sample(b, "jobstat_requests_refused", COUNTER, x->ns[i].name);
			label(b, "reason", refusal_names[c], 16);
			value_u64(b, x->scan[i].ctr.refusals[c]);
		}
}

/* The labels every per-job series has. */
static void job_sample(struct jx_exporter *x, struct jx_buf *b, const char *name, enum kind k,
		       const struct jx_job *j)
{
	sample(b, name, k, x->ns[j->ns].name);
	label(b, "instance_id", j->instance_id, JST_ID_MAX);
	label_u64(b, "job_type", j->job_type);
}

static void write_jobs(struct jx_exporter *x, enum jx_format f, struct jx_buf *b)
{
	family(b, f, "jobstat_job_state", GAUGE,
	       "CIM JobState of each unfinished or recently failed job (2 New ... 10 Exception).");
	for (uint32_t k = 0; k < x->n_jobs; k++) {
		job_sample(x, b, "jobstat_job_state", GAUGE, &x->jobs[k]);
		value_u64(b, x->jobs[k].job_state);
	}
	family(b, f, "jobstat_job_progress_ratio", GAUGE,
	       "PercentComplete / 100 of each unfinished or recently failed job that states it.");
	for (uint32_t k = 0; k < x->n_jobs; k++) {
		const struct jx_job *j = &x->jobs[k];

		if (j->percent > 100)
			continue;
		job_sample(x, b, "jobstat_job_progress_ratio", GAUGE, j);
		puts_(b, "} ");
		if (j->percent == 100 || j->percent == 0) {
			put(b, j->percent ? "1" : "0", 1);
		} else {
			char d[4] = {'0', '.', (char)('0' + j->percent / 10), (char)('0' + j->percent % 10)};

			put(b, d, j->percent % 10 ? 4 : 3);
		}
		put(b, "\n", 1);
	}
	family(b, f, "jobstat_job_start_time_seconds", GAUGE,
	       "StartTime of each unfinished or recently failed job that started, seconds since the epoch.");
	for (uint32_t k = 0; k < x->n_jobs; k++) {
		const struct jx_job *j = &x->jobs[k];

		if (!j->start_time)
			continue;
		job_sample(x, b, "jobstat_job_start_time_seconds", GAUGE, j);
		value_seconds(b, j->start_time);
	}
	family(b, f, "jobstat_job_error", INFO,
	       "The latest CIM_Error of each recently failed job: MessageID, PerceivedSeverity, CIMStatusCode.");
	for (uint32_t k = 0; k < x->n_jobs; k++) {
		const struct jx_job *j = &x->jobs[k];

		if (!j->has_error)
			continue;
		job_sample(x, b, "jobstat_job_error", INFO, j);
		label(b, "message_id", j->message_id, JX_LABEL_MAX);
		label_u64(b, "perceived_severity", j->severity);
		label_u64(b, "cim_status_code", j->cim_status_code);
		value_u64(b, 1);
	}
	family(b, f, "jobstat_job_series_dropped", GAUGE,
	       "Jobs that qualified for per-job series in this scrape but were left out by --max-job-series.");
	for (unsigned i = 0; i < x->n_ns; i++) {
		sample(b, "jobstat_job_series_dropped", GAUGE, x->ns[i].name);
		value_u64(b, x->scan[i].dropped);
	}
}

void jx_render(struct jx_exporter *x, enum jx_format f, struct jx_buf *b)
{
	uint64_t t0 = now_ns(CLOCK_MONOTONIC), now_real = now_ns(CLOCK_REALTIME);

	b->len = 0;
	b->full = false;
	x->n_jobs = 0;
	for (unsigned i = 0; i < x->n_ns; i++)
		scan_ns(x, i, now_real, t0);
	family(b, f, "jobstat_exporter_build", INFO, "jobstat-exporter's version.");
	puts_(b, "jobstat_exporter_build_info{version=\"");
	puts_(b, jst_version());
	puts_(b, "\"} 1\n");
	write_health(x, f, b);
	write_counters(x, f, b);
	write_jobs(x, f, b);
	family(b, f, "jobstat_exporter_scrapes", COUNTER,
	       "Scrapes served since the exporter started, by the format negotiated.");
	for (unsigned k = JX_TEXT; k <= JX_OPENMETRICS; k++) {
		puts_(b, k == JX_TEXT ? "jobstat_exporter_scrapes_total{format=\"text\"} "
				      : "jobstat_exporter_scrapes_total{format=\"openmetrics\"} ");
		put_u64(b, x->scrapes[k]);
		put(b, "\n", 1);
	}
	family(b, f, "jobstat_exporter_scan_seconds", GAUGE,
	       "How long the previous scrape took to read the segments and write the metrics.");
	puts_(b, "jobstat_exporter_scan_seconds ");
	put_seconds(b, x->last_render_ns);
	put(b, "\n", 1);
	if (f == JX_OPENMETRICS)
		puts_(b, "# EOF\n");
	x->last_render_ns = now_ns(CLOCK_MONOTONIC) - t0;
}

/* ---- attaching ------------------------------------------------------------------------------ */

int jx_init(struct jx_exporter *x, const char *const *names, unsigned n, uint32_t max_jobs,
	    uint32_t failed_window_s)
{
	memset(x, 0, sizeof(*x));
	if (n == 0 || n > JX_MAX_NAMESPACES)
		return JST_EINVAL;
	for (unsigned i = 0; i < n; i++) {
		char shm[JST_SHM_NAME_MAX];

		if (!names[i] || jst_shm_name(names[i], shm, sizeof(shm)) < 0)
			return JST_ENAMESPACE;
		snprintf(x->ns[i].name, sizeof(x->ns[i].name), "%s", names[i]);
		x->ns[i].attach_rc = JST_ENOENT;
	}
	x->n_ns = n;
	x->max_jobs = max_jobs;
	x->failed_window_ns = (uint64_t)failed_window_s * NS_PER_S;
	x->jobs = calloc(max_jobs ? max_jobs : 1, sizeof(*x->jobs));
	x->scan = calloc(JX_MAX_NAMESPACES, sizeof(*x->scan));
	x->batch = calloc(JX_BATCH, sizeof(*x->batch));
	x->job = malloc(sizeof(*x->job));
	x->err = malloc(sizeof(*x->err));
	if (!x->jobs || !x->scan || !x->batch || !x->job || !x->err) {
		jx_free(x);
		return JST_ENOMEM;
	}
	return 0;
}

void jx_free(struct jx_exporter *x)
{
	for (unsigned i = 0; i < x->n_ns; i++)
		jst_detach(x->ns[i].r);
	free(x->jobs);
	free(x->scan);
	free(x->batch);
	free(x->job);
	free(x->err);
	memset(x, 0, sizeof(*x));
}

void jx_refresh(struct jx_exporter *x)
{
	for (unsigned i = 0; i < x->n_ns; i++) {
		struct jx_ns *ns = &x->ns[i];
		jst_reader *r;

		if (ns->r && jst_daemon_alive(ns->r))
			continue;
		/*
		 * Not attached, or its daemon is not publishing: a restarted
		 * daemon adopts the same segment (the mapping we have reads
		 * on), but one started with --replace, or after the segment
		 * was removed, makes a new one. Attach afresh and keep the new
		 * mapping if it works; keep the old one (its counters and jobs
		 * are still the last known) if not.
		 */
		ns->attach_rc = jst_attach(ns->name, &r);
		if (ns->attach_rc == 0) {
			jst_detach(ns->r);
			ns->r = r;
			ns->attaches++;
		}
	}
}

int jx_scrape(struct jx_exporter *x, enum jx_format f, struct jx_buf *b)
{
	jx_refresh(x);
	x->scrapes[f]++;
	for (;;) {
		jx_render(x, f, b);
		if (!b->full)
			return 0;
		size_t cap = b->cap ? b->cap * 2 : 65536;
		char *p = realloc(b->p, cap);

		if (!p)
			return JST_ENOMEM;
		b->p = p;
		b->cap = cap;
	}
}
