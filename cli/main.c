/* SPDX-License-Identifier: MIT */
/*
 * main.c - the jobstat command-line tool: lists, shows, waits for and
 * controls jobs through the public libjobstat API only (watch is in watch.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "escape.h"

static const char *ns;
static enum cli_format format = FMT_TEXT;
static const char *format_name = "text";
static const char *flavour_name = "cim";
static const char *state_filter;
static const char *owner_filter;
static bool all_errors;
static double timeout_s = -1;    /* --timeout; < 0: not given */
static double lost_grace_s = 10; /* wait --lost-grace */
static bool remove_now;          /* remove --now */

/* How long jobstatd has to answer when --timeout is not given. */
#define DEFAULT_TIMEOUT_S 10.0

static void usage(FILE *f)
{
	fprintf(f,
		"usage: jobstat [-n NAMESPACE] COMMAND [ARGS] [--format FORMAT]\n\n"
		"  info [--format text|json]\n"
		"                           the daemon (pid, liveness, generation), capacity,\n"
		"                           jobs by state, memory in use\n"
		"  list [--state S] [--owner USER] [--format text|json|ndjson]\n"
		"                           every job (S: a JobState name or number)\n"
		"  get ID [--format text|json|cimxml] [--flavour hyperv: Msvm_ConcreteJob]\n"
		"                           every property of one job\n"
		"  error ID [--all] [--flavour cim|hyperv|do] [--format text|json|cimxml]\n"
		"                           GetError (--all: GetErrors), as the flavour defines it\n"
		"  wait ID [--timeout SECONDS] [--lost-grace SECONDS] [--format text|json]\n"
		"                           block until the job ends, jobstatd stops, or the\n"
		"                           job shows Lost Communication for --lost-grace\n"
		"                           (default 10)\n"
		"  watch [--state S] [--owner USER] [--for SECONDS]\n"
		"                           a live view (? for its keys); not on a terminal,\n"
		"                           a snapshot a second\n"
		"  terminate|kill|suspend|resume ID [--timeout SECONDS] [--format text|json]\n"
		"                           RequestStateChange through jobstatd\n"
		"  remove ID|--owner USER [--now] [--format text|json]\n"
		"                           remove finished jobs once their TimeBeforeRemoval\n"
		"                           passed (--now: at once; an ID: even unfinished)\n\n"
		"  -n, --namespace NS       default: $JOBSTAT_NAMESPACE or \"default\"\n"
		"      --timeout SECONDS    how long jobstatd has to answer (default 10);\n"
		"                           wait: how long to wait for the job (default: no limit)\n"
		"      --help, --version\n\n"
		"exit codes: 0 success (wait: Completed), 1 other trouble, 2 bad command line,\n"
		"  3 Exception, 4 Terminated, 5 Killed, 6 timeout, 7 no such job,\n"
		"  8 CompletedWithWarnings, 9 jobstatd not running, 10 request refused,\n"
		"  11 format not printed by this command, 12 wait: jobstatd stopped,\n"
		"  13 wait: Lost Communication, 14 jobstatd did not answer within --timeout\n");
}

/* The one line for a daemon that took the connection but did not answer in time. */
static int no_answer(const char *what)
{
	fputs("jobstat: ", stderr);
	cli_put_text(stderr, what);
	fprintf(stderr, ": jobstatd did not answer within %.3g s (stopped or overloaded?)\n",
		timeout_s > 0 ? timeout_s : DEFAULT_TIMEOUT_S);
	return EXIT_NO_ANSWER;
}

int cli_fail(const char *what, int rc)
{
	if (rc == JST_ETIMEDOUT)
		return no_answer(what);
	fputs("jobstat: ", stderr);
	cli_put_text(stderr, what);
	fprintf(stderr, ": %s\n", jst_strerror(rc));
	/* What the library found wrong with the segment or the socket, when it says. */
	if (jst_last_error()[0]) {
		fputs("jobstat: ", stderr);
		cli_put_text(stderr, jst_last_error());
		fputc('\n', stderr);
	}
	switch (rc) {
	case JST_ENOENT:
		fprintf(stderr, "hint: is jobstatd running? Start it (jobstatd, or make run), or "
				"name its namespace with -n or JOBSTAT_NAMESPACE\n");
		return EXIT_NO_DAEMON;
	case JST_EACCES:
		fprintf(stderr, "hint: the segment's group must include you (jobstatd --group, "
				"--mode 0640)\n");
		break;
	case JST_ENOJOB:
	case JST_ESTALE:
		fprintf(stderr, "hint: jobstat list shows the InstanceIDs there are\n");
		return EXIT_NOT_FOUND;
	case JST_ENODAEMON:
		fprintf(stderr, "hint: jobstatd is not listening; set JOBSTAT_SOCKET if it uses "
				"another socket\n");
		return EXIT_NO_DAEMON;
	case JST_EPERM:
	case JST_ENOTFINISHED:
		return EXIT_REFUSED;
	}
	return EXIT_TROUBLE;
}

/* ---- talking to jobstatd, within --timeout ---- */

static char alarm_msg[256];
static size_t alarm_len;

static void on_alarm(int sig)
{
	(void)sig;
	/* Only async-signal-safe calls: the message was written before the timer started. */
	if (write(STDERR_FILENO, alarm_msg, alarm_len) < 0)
		_exit(EXIT_NO_ANSWER);
	_exit(EXIT_NO_ANSWER);
}

/*
 * Connect to jobstatd (library code, nothing printed); each later call on the connection has --timeout (or
 * the default) for its answer. jst_connect() has no deadline of its own to
 * set (it waits up to the library's 10 s for HELLO's answer), so a timer
 * ends the tool with the one line no_answer() prints if HELLO takes longer.
 * Return: 0; what jst_connect() returns.
 */
static int connect_within(const char *what, jst_conn **ret_conn)
{
	struct jst_connect_options o = {.ns = ns, .reconnect_timeout_ns = -1};
	double t = timeout_s > 0 ? timeout_s : DEFAULT_TIMEOUT_S;
	struct itimerval it = {0};
	struct sigaction sa = {.sa_handler = on_alarm};
	int n, rc;

	n = snprintf(alarm_msg, sizeof(alarm_msg),
		     "jobstat: %s: jobstatd did not answer within %.3g s (stopped or "
		     "overloaded?)\n", what, t);
	alarm_len = n > 0 && (size_t)n < sizeof(alarm_msg) ? (size_t)n : 0;
	sigaction(SIGALRM, &sa, NULL);
	it.it_value.tv_sec = (time_t)t;
	it.it_value.tv_usec = (suseconds_t)((t - (double)(time_t)t) * 1e6);
	if (!it.it_value.tv_sec && !it.it_value.tv_usec)
		it.it_value.tv_usec = 1;
	setitimer(ITIMER_REAL, &it, NULL);
	rc = jst_connect(&o, ret_conn);
	setitimer(ITIMER_REAL, &(struct itimerval){0}, NULL);
	if (rc == 0)
		jst_conn_set_timeout(*ret_conn, (int64_t)(t * 1e9));
	return rc;
}

/* connect_within(), saying why it failed. Return: 0, or the exit code. */
static int cli_connect(const char *what, jst_conn **ret_conn)
{
	int rc = connect_within(what, ret_conn);

	return rc < 0 ? cli_fail(what, rc) : 0;
}

uint16_t cli_parse_state(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s && !*end && v <= 65535)
		return (uint16_t)v;
	for (unsigned i = 2; i <= 12; i++)
		if (!strcasecmp(s, jst_job_state_name((uint16_t)i)))
			return (uint16_t)i;
	if (!strcasecmp(s, "CompletedWithWarnings"))
		return JST_JOB_COMPLETED_WITH_WARNINGS;
	return 0;
}

bool cli_wanted(const struct jst_status *st, uint16_t state, long owner)
{
	return (!state || st->job_state == state) && (owner < 0 || st->owner_uid == (uint32_t)owner);
}

long cli_parse_owner(const char *s)
{
	struct passwd *pw;
	char *end;
	long v;

	if (!s)
		return -1;
	pw = getpwnam(s);
	if (pw)
		return (long)pw->pw_uid;
	v = strtol(s, &end, 10);
	return !*s || *end || v < 0 ? -2 : v;
}

const char *cli_op_status_name(uint16_t v)
{
	/* CIM_ManagedSystemElement.OperationalStatus's ValueMap. */
	static const char *const names[] = {
		"Unknown", "Other", "OK", "Degraded", "Stressed", "Predictive Failure", "Error",
		"Non-Recoverable Error", "Starting", "Stopping", "Stopped", "In Service",
		"No Contact", "Lost Communication", "Aborted", "Dormant",
		"Supporting Entity in Error", "Completed", "Power Mode", "Relocating",
	};

	if (v < sizeof(names) / sizeof(names[0]))
		return names[v];
	return v >= 0x8000 ? "Vendor Reserved" : "DMTF Reserved";
}

static const char *recovery_action_name(uint16_t v)
{
	/* CIM_Job.RecoveryAction's ValueMap. */
	static const char *const names[] = {
		"Unknown", "Other", "Do Not Continue", "Continue With Next Job", "Re-run Job",
		"Run Recovery Job",
	};

	return v < sizeof(names) / sizeof(names[0]) ? names[v] : "DMTF Reserved";
}

static const char *user_name(uint32_t uid)
{
	struct passwd *pw = getpwuid(uid);

	return pw ? pw->pw_name : NULL;
}

/* ---- JSON ---- */

/* @s as a JSON string (null for NULL), through the library's one escaper. */
static void json_s(const char *s)
{
	static char buf[6 * JST_ERROR_TEXT_MAX + 3]; /* "\u00XX" for every byte, and quotes */

	if (jst_json_string(s, buf, sizeof(buf), NULL) == 0)
		fputs(buf, stdout);
	else
		fputs("null", stdout); /* cannot happen: no string is longer than its struct */
}

/* An instant as RFC 3339 UTC with nanoseconds: jq and JavaScript round 64-bit numbers. */
static void rfc3339(uint64_t ns_epoch, char out[40])
{
	time_t t = (time_t)(ns_epoch / 1000000000u);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out + strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm), 20, ".%09" PRIu64 "Z",
		 ns_epoch % 1000000000u);
}

/* ,"Key":ns,"KeyRFC3339":"..." (both null when the instant is NULL). */
static void json_time(const char *key, uint64_t ns_epoch)
{
	char t[40];

	if (!ns_epoch) {
		printf(",\"%s\":null,\"%sRFC3339\":null", key, key);
		return;
	}
	rfc3339(ns_epoch, t);
	printf(",\"%s\":%" PRIu64 ",\"%sRFC3339\":\"%s\"", key, ns_epoch, key, t);
}

/* A job as JSON; with @x, the properties of format 1.5 too. */
static void json_job(const struct jst_job *j, const struct jst_job_ext *x)
{
	const struct jst_status *st = &j->status;
	unsigned nops = st->n_operational_status;

	fputs("{\"InstanceID\":", stdout);
	json_s(j->instance_id);
	fputs(",\"Name\":", stdout);
	json_s(j->name);
	printf(",\"JobState\":%u,\"JobStateName\":", st->job_state);
	json_s(jst_job_state_name(st->job_state));
	fputs(",\"PercentComplete\":", stdout);
	if (st->percent_complete <= 100)
		printf("%u", st->percent_complete);
	else
		fputs("null", stdout); /* 101: undefined */
	fputs(",\"OperationalStatus\":[", stdout);
	for (unsigned i = 0; i < nops && i < JST_OPSTATUS_MAX; i++)
		printf("%s%u", i ? "," : "", st->operational_status[i]);
	fputs("],\"OperationalStatusNames\":[", stdout);
	for (unsigned i = 0; i < nops && i < JST_OPSTATUS_MAX; i++) {
		fputs(i ? "," : "", stdout);
		json_s(cli_op_status_name(st->operational_status[i]));
	}
	fputs("],\"StatusDescriptions\":[", stdout);
	for (unsigned i = 0; i < j->n_status_descriptions && i < JST_OPSTATUS_MAX; i++) {
		fputs(i ? "," : "", stdout);
		json_s(j->status_descriptions[i]);
	}
	fputs("],\"JobStatus\":", stdout);
	json_s(j->job_status);
	fputs(",\"ErrorDescription\":", stdout);
	json_s(j->error_description);
	fputs(",\"ErrorSummaryDescription\":", stdout);
	json_s(j->error_summary_description);
	printf(",\"ErrorCode\":%u,\"RecoveryAction\":%u,\"OtherRecoveryAction\":", st->error_code,
	       st->recovery_action);
	json_s(j->other_recovery_action);
	fputs(",\"Owner\":", stdout);
	json_s(j->owner);
	printf(",\"OwnerUID\":%u,\"OwnerName\":", st->owner_uid);
	json_s(user_name(st->owner_uid));
	fputs(",\"Notify\":", stdout);
	json_s(j->notify);
	printf(",\"Priority\":%u,\"JobType\":%u", st->priority, st->job_type);
	json_time("TimeSubmitted", st->time_submitted);
	json_time("StartTime", st->start_time);
	json_time("TimeOfLastStateChange", st->time_of_last_state_change);
	printf(",\"ElapsedTime\":%" PRIu64 ",\"TimeBeforeRemoval\":%" PRIu64
	       ",\"DeleteOnCompletion\":%s,\"Cancellable\":%s,\"TransferState\":",
	       st->elapsed_ns, st->time_before_removal_ns,
	       (st->flags & JST_STATUS_DELETE_ON_COMPLETION) ? "true" : "false",
	       (st->flags & JST_STATUS_CANCELLABLE) ? "true" : "false");
	if (st->transfer_state)
		json_s(jst_transfer_state_name((uint16_t)(st->transfer_state - 1)));
	else
		fputs("null", stdout);
	printf(",\"Errors\":%u,\"ErrorsTotal\":%u,\"ProducerSession\":%" PRIu64
	       ",\"ChangeSeq\":%" PRIu64,
	       st->n_errors, st->errors_total, st->producer_session, st->change_seq);
	if (x) {
		fputs(",\"ElementName\":", stdout);
		json_s(x->element_name);
		fputs(",\"Caption\":", stdout);
		json_s(x->caption);
		fputs(",\"Description\":", stdout);
		json_s(x->description);
		printf(",\"CommunicationStatus\":%u,\"HealthState\":%u,\"PrimaryStatus\":%u"
		       ",\"DetailedStatus\":%u,\"OperatingStatus\":%u",
		       x->communication_status, x->health_state, x->primary_status,
		       x->detailed_status, x->operating_status);
		json_time("ScheduledStartTime", x->scheduled_start_time);
		json_time("UntilTime", x->until_time);
		printf(",\"JobRunTimes\":%u,\"LocalOrUtcTime\":", x->job_run_times);
		if (x->local_or_utc_time)
			printf("%u", x->local_or_utc_time);
		else
			fputs("null", stdout);
	}
	putchar('}');
}

/* ---- text ---- */

/* "Label               value\n" with the value escaped. */
static void text_field(const char *label, const char *value)
{
	printf("%-24s", label);
	cli_put_text(stdout, value ? value : "");
	putchar('\n');
}

/* An instant in local time, to the millisecond, with its zone; "-" for NULL. */
static void local_time(uint64_t ns_epoch, char out[64])
{
	time_t t = (time_t)(ns_epoch / 1000000000u);
	struct tm tm;
	size_t k;

	if (!ns_epoch || !localtime_r(&t, &tm)) {
		strcpy(out, "-");
		return;
	}
	k = strftime(out, 64, "%Y-%m-%d %H:%M:%S", &tm);
	k += (size_t)snprintf(out + k, 64 - k, ".%03u", (unsigned)(ns_epoch % 1000000000u / 1000000));
	strftime(out + k, 64 - k, " %Z", &tm);
}

/* An interval as "1d 02:03:04.567" (days only when there are some). */
static void duration(uint64_t interval_ns, char out[48])
{
	uint64_t s = interval_ns / 1000000000u, ms = interval_ns % 1000000000u / 1000000u;

	if (s >= 86400)
		snprintf(out, 48, "%" PRIu64 "d %02u:%02u:%02u.%03u", s / 86400,
			 (unsigned)(s % 86400 / 3600), (unsigned)(s % 3600 / 60), (unsigned)(s % 60),
			 (unsigned)ms);
	else
		snprintf(out, 48, "%02u:%02u:%02u.%03u", (unsigned)(s / 3600),
			 (unsigned)(s % 3600 / 60), (unsigned)(s % 60), (unsigned)ms);
}

/* OperationalStatus by name: "Completed, Error". */
static void op_status_text(const struct jst_status *st, char *out, size_t n)
{
	size_t k = 0;

	out[0] = 0;
	for (unsigned i = 0; i < st->n_operational_status && i < JST_OPSTATUS_MAX && k < n; i++)
		k += (size_t)snprintf(out + k, n - k, "%s%s", i ? ", " : "",
				      cli_op_status_name(st->operational_status[i]));
}

static void text_job(const struct jst_job *j, const struct jst_job_ext *x)
{
	const struct jst_status *st = &j->status;
	const char *user = user_name(st->owner_uid);
	char b[256];

	text_field("InstanceID", j->instance_id);
	text_field("Name", j->name);
	printf("%-24s%u (%s)\n", "JobState", st->job_state, jst_job_state_name(st->job_state));
	if (st->percent_complete <= 100)
		printf("%-24s%u%%\n", "PercentComplete", st->percent_complete);
	else
		printf("%-24s%s\n", "PercentComplete", "undefined");
	op_status_text(st, b, sizeof(b));
	printf("%-24s%s\n", "OperationalStatus", b);
	for (unsigned i = 0; i < j->n_status_descriptions && i < JST_OPSTATUS_MAX; i++) {
		snprintf(b, sizeof(b), "StatusDescriptions[%u]", i);
		text_field(b, j->status_descriptions[i]);
	}
	text_field("JobStatus", j->job_status);
	printf("%-24s%u\n", "ErrorCode", st->error_code);
	text_field("ErrorDescription", j->error_description);
	text_field("ErrorSummaryDescription", j->error_summary_description);
	printf("%-24s%u (%s)\n", "RecoveryAction", st->recovery_action,
	       recovery_action_name(st->recovery_action));
	text_field("OtherRecoveryAction", j->other_recovery_action);
	text_field("Owner", j->owner);
	printf("%-24suid %u (%s)\n", "OwnerUID", st->owner_uid, user ? user : "no such user");
	text_field("Notify", j->notify);
	printf("%-24s%u\n%-24s%u\n", "Priority", st->priority, "JobType", st->job_type);
	local_time(st->time_submitted, b);
	printf("%-24s%s\n", "TimeSubmitted", b);
	local_time(st->start_time, b);
	printf("%-24s%s\n", "StartTime", b);
	local_time(st->time_of_last_state_change, b);
	printf("%-24s%s\n", "TimeOfLastStateChange", b);
	duration(st->elapsed_ns, b);
	printf("%-24s%s\n", "ElapsedTime", b);
	duration(st->time_before_removal_ns, b);
	printf("%-24s%s\n", "TimeBeforeRemoval", b);
	printf("%-24s%s\n%-24s%s\n", "DeleteOnCompletion",
	       (st->flags & JST_STATUS_DELETE_ON_COMPLETION) ? "true" : "false", "Cancellable",
	       (st->flags & JST_STATUS_CANCELLABLE) ? "true" : "false");
	if (st->transfer_state)
		printf("%-24s%s\n", "TransferState",
		       jst_transfer_state_name((uint16_t)(st->transfer_state - 1)));
	printf("%-24s%u retained, %u reported\n", "Errors", st->n_errors, st->errors_total);
	printf("%-24s%" PRIu64 "\n", "ProducerSession", st->producer_session);
	text_field("ElementName", x->element_name);
	text_field("Caption", x->caption);
	text_field("Description", x->description);
	printf("%-24s%u\n%-24s%u\n%-24s%u\n%-24s%u\n%-24s%u\n", "CommunicationStatus",
	       x->communication_status, "HealthState", x->health_state, "PrimaryStatus",
	       x->primary_status, "DetailedStatus", x->detailed_status, "OperatingStatus",
	       x->operating_status);
	local_time(x->scheduled_start_time, b);
	printf("%-24s%s\n", "ScheduledStartTime", b);
	local_time(x->until_time, b);
	printf("%-24s%s\n", "UntilTime", b);
	printf("%-24s%u\n", "JobRunTimes", x->job_run_times);
	printf("%-24s%s\n", "LocalOrUtcTime",
	       x->local_or_utc_time == 1 ? "1 (Local Time)"
	       : x->local_or_utc_time == 2 ? "2 (UTC Time)" : "-");
}

/* ---- info, list, get ---- */

/* What info asks jobstatd; rc is 0 when it answered both, else why not. */
struct daemon_side {
	int rc;
	struct jst_daemon_stats ds;
	size_t nq;
	struct jst_quota_use q[4096];
};

static void info_daemon(jst_reader *r, struct daemon_side *d)
{
	jst_conn *c = NULL;

	/* A daemon without a heartbeat cannot answer: do not wait for it. */
	d->rc = !jst_daemon_alive(r) ? JST_ENODAEMON : connect_within("info", &c);
	if (d->rc == 0)
		d->rc = jst_daemon_stats(c, &d->ds);
	if (d->rc == 0)
		d->rc = jst_daemon_quotas(c, d->q, sizeof(d->q) / sizeof(d->q[0]), &d->nq);
	jst_disconnect(c);
}

static const char *const refusal_names[JST_COUNTERS_REFUSALS] = {"SegmentFull", "Clients",
								  "Quota"};

/* ,"Key":n or ,"Key":null for no limit. */
static void json_max(const char *key, uint32_t v)
{
	if (v == UINT32_MAX)
		printf(",\"%s\":null", key);
	else
		printf(",\"%s\":%u", key, v);
}

static void info_json_quotas(const struct daemon_side *d)
{
	fputs(",\"Quotas\":", stdout);
	if (d->rc) {
		fputs("null", stdout);
		return;
	}
	putchar('[');
	for (size_t i = 0; i < d->nq; i++) {
		const struct jst_quota_use *q = &d->q[i];

		printf("%s{\"UID\":%u,\"User\":", i ? "," : "", q->uid);
		json_s(user_name(q->uid));
		printf(",\"Jobs\":%u", q->jobs);
		json_max("JobsMax", q->jobs_max);
		printf(",\"Errors\":%u", q->errors);
		json_max("ErrorsMax", q->errors_max);
		printf(",\"Connections\":%u", q->connections);
		json_max("ConnectionsMax", q->connections_max);
		printf(",\"PendingRequests\":%u", q->pending);
		json_max("PendingRequestsMax", q->pending_max);
		putchar('}');
	}
	putchar(']');
}

static void info_json_counters(const struct jst_counters *k)
{
	static const uint16_t finals[] = JST_COUNTERS_FINAL_STATES;
	static const unsigned rsc_codes[] = JST_COUNTERS_RSC_CODES;

	printf(",\"Counters\":{\"JobsCreated\":%" PRIu64 ",\"SessionsLost\":%" PRIu64
	       ",\"ErrorsBySeverity\":[",
	       k->jobs_created, k->sessions_lost);
	for (unsigned i = 0; i < JST_COUNTERS_SEVERITY; i++)
		printf("%s%" PRIu64, i ? "," : "", k->errors[i]);
	fputs("],\"RequestStateChange\":{", stdout);
	for (unsigned i = 0; i < JST_COUNTERS_RSC; i++) {
		if (i < sizeof(rsc_codes) / sizeof(rsc_codes[0]))
			printf("%s\"%u\":", i ? "," : "", rsc_codes[i]);
		else
			fputs(",\"other\":", stdout);
		printf("%" PRIu64, k->rsc[i]);
	}
	fputs("},\"Refusals\":{", stdout);
	for (unsigned i = 0; i < JST_COUNTERS_REFUSALS; i++)
		printf("%s\"%s\":%" PRIu64, i ? "," : "", refusal_names[i], k->refusals[i]);
	fputs("},\"Finished\":[", stdout);
	for (unsigned t = 0; t < k->n_types && t < JST_COUNTERS_TYPES; t++) {
		printf("%s{\"JobType\":", t ? "," : "");
		if (k->types[t].other)
			fputs("null", stdout);
		else
			printf("%u", k->types[t].job_type);
		for (unsigned f = 0; f < JST_COUNTERS_FINAL; f++)
			printf(",\"%s\":%" PRIu64, jst_job_state_name(finals[f]),
			       k->types[t].finished[f]);
		putchar('}');
	}
	printf("],\"Connections\":%u,\"Sessions\":%u,\"Pools\":[", k->connections, k->sessions);
	for (unsigned p = 0; p < JST_POOLS; p++)
		printf("%s{\"Name\":\"%s\",\"Blocks\":%u,\"BlockSize\":%u,\"InUse\":%u,"
		       "\"Touched\":%u}",
		       p ? "," : "", jst_pool_name(p), k->pools[p].blocks, k->pools[p].block_size,
		       k->pools[p].in_use, k->pools[p].touched);
	fputs("]}", stdout);
}

/* "3 of 5", or "3 (no limit)". */
static void text_use(const char *what, uint32_t use, uint32_t max, bool last)
{
	if (max == UINT32_MAX)
		printf("%s %u (no limit)%s", what, use, last ? "\n" : ", ");
	else
		printf("%s %u of %u%s", what, use, max, last ? "\n" : ", ");
}

static void info_text_quotas(const struct daemon_side *d)
{
	if (d->rc)
		return;
	if (!d->nq)
		printf("quotas       nobody holds anything\n");
	for (size_t i = 0; i < d->nq; i++) {
		const struct jst_quota_use *q = &d->q[i];
		const char *user = user_name(q->uid);

		printf("%-13suid %u (", i ? "" : "quotas", q->uid);
		cli_put_text(stdout, user ? user : "no such user");
		fputs("): ", stdout);
		text_use("jobs", q->jobs, q->jobs_max, false);
		text_use("errors", q->errors, q->errors_max, false);
		text_use("connections", q->connections, q->connections_max, false);
		text_use("pending requests", q->pending, q->pending_max, true);
	}
}

static void info_text_counters(const struct jst_counters *k)
{
	static const uint16_t finals[] = JST_COUNTERS_FINAL_STATES;
	static const unsigned rsc_codes[] = JST_COUNTERS_RSC_CODES;
	uint64_t errors = 0, answers = 0;

	for (unsigned i = 0; i < JST_COUNTERS_SEVERITY; i++)
		errors += k->errors[i];
	for (unsigned i = 0; i < JST_COUNTERS_RSC; i++)
		answers += k->rsc[i];
	printf("counters     %" PRIu64 " jobs created, %" PRIu64 " errors reported, %" PRIu64
	       " producer sessions lost\n",
	       k->jobs_created, errors, k->sessions_lost);
	printf("finished    ");
	for (unsigned f = 0; f < JST_COUNTERS_FINAL; f++) {
		uint64_t n = 0;

		for (unsigned t = 0; t < k->n_types && t < JST_COUNTERS_TYPES; t++)
			n += k->types[t].finished[f];
		printf(" %s %" PRIu64 "%s", jst_job_state_name(finals[f]), n,
		       f + 1 < JST_COUNTERS_FINAL ? "," : "\n");
	}
	printf("requests     %" PRIu64 " RequestStateChange answers", answers);
	for (unsigned i = 0; i < JST_COUNTERS_RSC; i++) {
		if (!k->rsc[i])
			continue;
		if (i < sizeof(rsc_codes) / sizeof(rsc_codes[0]))
			printf(", %" PRIu64 " x %u", k->rsc[i], rsc_codes[i]);
		else
			printf(", %" PRIu64 " x other", k->rsc[i]);
	}
	printf("\nrefusals     %" PRIu64 " segment full, %" PRIu64 " client limits, %" PRIu64
	       " quota\n",
	       k->refusals[JST_REFUSAL_SEGMENT_FULL], k->refusals[JST_REFUSAL_CLIENTS],
	       k->refusals[JST_REFUSAL_QUOTA]);
	for (unsigned p = 0; p < JST_POOLS; p++)
		printf("%-13s%-13s%u of %u blocks of %u B in use (%u ever used)\n",
		       p ? "" : "pools", jst_pool_name(p), k->pools[p].in_use, k->pools[p].blocks,
		       k->pools[p].block_size, k->pools[p].touched);
}

static int cmd_info(jst_reader *r)
{
	static struct daemon_side d;
	unsigned by_state[16] = {0}, vendor = 0;
	struct jst_counters k;
	struct jst_status st;
	struct jst_info in;
	uint32_t pos = 0;
	bool alive = jst_daemon_alive(r), first = true;

	jst_info(r, &in);
	if (jst_counters(r, &k) < 0)
		memset(&k, 0, sizeof(k));
	while (jst_next(r, &pos, &st) == 0) {
		if (st.job_state < 16)
			by_state[st.job_state]++;
		else
			vendor++;
	}
	info_daemon(r, &d);
	if (format == FMT_JSON) {
		printf("{\"Format\":\"%u.%u\",\"DaemonPID\":%" PRIu64 ",\"DaemonAlive\":%s,"
		       "\"Generation\":%" PRIu64 ",\"Capacity\":%u,\"Jobs\":%u,\"JobsByState\":{",
		       in.version_major, in.version_minor, in.daemon_pid, alive ? "true" : "false",
		       in.generation, in.capacity, in.njobs);
		for (unsigned s = 2; s <= 12; s++) {
			if (!by_state[s])
				continue;
			printf("%s\"%s\":%u", first ? "" : ",", jst_job_state_name((uint16_t)s),
			       by_state[s]);
			first = false;
		}
		printf("},\"VendorStateJobs\":%u,\"ChangeSeq\":%" PRIu64 ",\"LogSize\":%u,"
		       "\"PoolBytes\":%" PRIu64 ",\"SegmentSize\":%" PRIu64 ",\"Daemon\":",
		       vendor, in.change_seq, in.log_size, in.pool_bytes, in.segment_size);
		if (!d.rc)
			printf("{\"Connections\":%u,\"Sessions\":%u,\"PendingRequests\":%u,"
			       "\"HeapBytes\":%" PRIu64 "}",
			       d.ds.connections, d.ds.sessions, d.ds.pending,
			       (uint64_t)d.ds.heap_bytes);
		else
			fputs("null", stdout);
		info_json_quotas(&d);
		info_json_counters(&k);
		puts("}");
	} else {
		printf("format       %u.%u\n"
		       "daemon pid   %" PRIu64 " (%s)\n"
		       "generation   %" PRIu64 "\n"
		       "capacity     %u jobs\n"
		       "jobs         %u\n",
		       in.version_major, in.version_minor, in.daemon_pid,
		       alive ? "alive" : "NOT RUNNING: no heartbeat", in.generation, in.capacity,
		       in.njobs);
		for (unsigned s = 2; s <= 12; s++)
			if (by_state[s])
				printf("  %-11s%u\n", jst_job_state_name((uint16_t)s), by_state[s]);
		if (vendor)
			printf("  %-11s%u\n", "vendor", vendor);
		printf("changes      %" PRIu64 " (log of %u)\n"
		       "memory       %.1f MiB of job versions (segment reserves %.1f GiB, sparse)\n",
		       in.change_seq, in.log_size, (double)in.pool_bytes / (1 << 20),
		       (double)in.segment_size / (1 << 30));
		if (!d.rc)
			printf("clients      %u connected (this one included), %u producer "
			       "sessions, %u pending requests\n"
			       "daemon heap  %.1f MiB\n",
			       d.ds.connections, d.ds.sessions, d.ds.pending,
			       (double)d.ds.heap_bytes / (1 << 20));
		else
			printf("clients      (%s)\n", d.rc == JST_ETIMEDOUT
							   ? "jobstatd did not answer in time"
							   : "control socket not reachable");
		info_text_quotas(&d);
		info_text_counters(&k);
	}
	fflush(stdout);
	if (!alive) {
		fprintf(stderr, "jobstat: jobstatd (pid %" PRIu64 ") is not running: its segment "
				"has no heartbeat\n", in.daemon_pid);
		return EXIT_NO_DAEMON;
	}
	if (d.rc == JST_ETIMEDOUT)
		return no_answer("info");
	return 0;
}

static int cmd_list(jst_reader *r)
{
	static struct jst_job_ext x;
	struct jst_job *job = &x.job;
	uint16_t state = state_filter ? cli_parse_state(state_filter) : 0;
	long owner = cli_parse_owner(owner_filter);
	bool first = true;
	struct jst_status st;
	uint32_t pos = 0;
	int rc;

	if (format == FMT_JSON)
		putchar('[');
	else if (format == FMT_TEXT)
		printf("%-44s %-16s %5s %s\n", "INSTANCEID", "STATE", "PCT", "NAME");
	while ((rc = jst_next(r, &pos, &st)) == 0) {
		/* JSON: each job as `get` prints it, 1.5 properties and all. */
		if (!cli_wanted(&st, state, owner) ||
		    (format == FMT_TEXT ? jst_job(r, st.handle, job)
				       : jst_job_ext(r, st.handle, &x, sizeof(x))) < 0)
			continue; /* filtered out, or removed between the two reads */
		if (format == FMT_TEXT) {
			cli_put_cell(stdout, job->instance_id, 44);
			printf(" %-16s ", jst_job_state_name(st.job_state));
			if (st.percent_complete <= 100)
				printf("%4u%% ", st.percent_complete);
			else
				fputs("    - ", stdout);
			cli_put_text(stdout, job->name);
			putchar('\n');
			continue;
		}
		if (format == FMT_JSON && !first)
			putchar(',');
		json_job(job, &x);
		if (format == FMT_NDJSON)
			putchar('\n');
		first = false;
	}
	if (format == FMT_JSON)
		puts("]");
	if (rc != JST_ENOJOB)
		return cli_fail("list", rc);
	if (!jst_daemon_alive(r)) {
		fprintf(stderr, "jobstat: jobstatd is not running: these are the jobs its segment "
				"held when it stopped\n");
		return EXIT_NO_DAEMON;
	}
	return 0;
}

static int find(jst_reader *r, const char *id, jst_handle *h)
{
	int rc = jst_lookup(r, id, h);

	return rc < 0 ? cli_fail(id, rc) : 0;
}

static int cmd_get(jst_reader *r, const char *id)
{
	static struct jst_job_ext x;
	jst_handle h;
	int rc = find(r, id, &h);

	if (rc)
		return rc;
	rc = jst_job_ext(r, h, &x, sizeof(x));
	if (rc < 0)
		return cli_fail(id, rc);
	if (format == FMT_CIMXML) {
		static char buf[1 << 16];
		unsigned flags = JST_CIMXML_DOCUMENT |
				 (!strcmp(flavour_name, "hyperv") ? JST_CIMXML_MSVM : 0);

		rc = jst_job_ext_to_cimxml(&x, sizeof(x), flags, buf, sizeof(buf), NULL);
		if (rc < 0)
			return cli_fail("render", rc);
		fputs(buf, stdout);
		return 0;
	}
	if (format == FMT_JSON) {
		json_job(&x.job, &x);
		putchar('\n');
	} else {
		text_job(&x.job, &x);
	}
	return 0;
}

/* ---- error ---- */

static void error_text(const struct jst_error *e)
{
	char b[64];

	text_field("MessageID", e->message_id);
	text_field("Message", e->message);
	printf("%-24s%u\n%-24s%u\n%-24s%u\n", "ErrorType", e->error_type, "PerceivedSeverity",
	       e->perceived_severity, "ProbableCause", e->probable_cause);
	if (e->other_error_type)
		text_field("OtherErrorType", e->other_error_type);
	text_field("OwningEntity", e->owning_entity);
	if (e->probable_cause_description)
		text_field("ProbableCauseDescription", e->probable_cause_description);
	if (e->error_source)
		text_field("ErrorSource", e->error_source);
	printf("%-24s%u\n", "CIMStatusCode", e->cim_status_code);
	if (e->cim_status_code_description)
		text_field("CIMStatusCodeDescription", e->cim_status_code_description);
	local_time(e->time, b);
	printf("%-24s#%u, %s, in JobState %u (%s)\n", "Reported", e->sequence, b, e->job_state,
	       jst_job_state_name(e->job_state));
	for (unsigned i = 0; i < e->n_message_arguments && i < JST_ERROR_ARGS_MAX; i++) {
		snprintf(b, sizeof(b), "MessageArguments[%u]", i);
		text_field(b, e->message_arguments[i] ? e->message_arguments[i] : "(null)");
	}
	for (unsigned i = 0; i < e->n_recommended_actions && i < JST_ERROR_ARGS_MAX; i++)
		text_field("RecommendedAction",
			   e->recommended_actions[i] ? e->recommended_actions[i] : "(null)");
	if (e->hresult || e->file) {
		printf("%-24s0x%08x\n%-24s%u\n", "HRESULT", e->hresult, "Context", e->context);
		text_field("File", e->file);
	}
}

static int print_error(const struct jst_error *e)
{
	static char buf[1 << 18];
	int rc;

	if (format == FMT_TEXT) {
		error_text(e);
		return 0;
	}
	rc = format == FMT_CIMXML ? jst_error_to_cimxml(e, buf, sizeof(buf), NULL)
				  : jst_error_to_json(e, buf, sizeof(buf), NULL);
	if (rc < 0)
		return cli_fail("render", rc);
	fputs(buf, stdout);
	return 0;
}

static int cmd_error(jst_reader *r, const char *id)
{
	static struct jst_error errs[JST_ERRORS_KEPT];
	unsigned flavour = !strcmp(flavour_name, "hyperv") ? JST_FLAVOUR_HYPERV
			   : !strcmp(flavour_name, "do")   ? JST_FLAVOUR_DO
							   : JST_FLAVOUR_CIM; /* main() checked it */
	size_t n = 0;
	jst_handle h;
	int rc;

	rc = find(r, id, &h);
	if (rc)
		return rc;
	if (all_errors) {
		rc = jst_get_errors(r, h, flavour, errs, JST_ERRORS_KEPT, &n);
	} else {
		rc = jst_get_error(r, h, flavour, errs);
		n = rc == 0;
	}
	if (rc == JST_ENOERROR) {
		/* GetError succeeded with no error: JSON says null (or no errors), text says why. */
		if (format == FMT_JSON) /* CIM-XML: no instance, the method's NULL */
			puts(all_errors ? "[]" : "null");
		fputs("jobstat: ", stderr);
		cli_put_text(stderr, id);
		fprintf(stderr, " has no error to give (return code %" PRIu32 " / 0x%08" PRIx32
				"): it is running or ended well%s\n",
			jst_method_code(rc, flavour), jst_method_code(rc, flavour),
			flavour == JST_FLAVOUR_DO ? ", or is not in ERROR/TRANSIENT_ERROR" : "");
		return 0;
	}
	if (rc < 0)
		return cli_fail(id, rc);
	if (format == FMT_CIMXML && all_errors) {
		/* GetErrors: one well-formed document holding every instance. */
		static char buf[1 << 18];

		rc = jst_errors_to_cimxml(errs, n, buf, sizeof(buf), NULL);
		if (rc < 0)
			return cli_fail("render", rc);
		puts(buf);
		return 0;
	}
	if (format == FMT_JSON && all_errors)
		putchar('[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			putchar(format == FMT_JSON ? ',' : '\n');
		if ((rc = print_error(&errs[i])))
			return rc;
	}
	if (format == FMT_JSON && all_errors)
		putchar(']');
	if (format != FMT_TEXT)
		putchar('\n');
	return 0;
}

/* ---- wait ---- */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int exit_for(uint16_t state)
{
	switch (state) {
	case JST_JOB_COMPLETED:
		return EXIT_OK;
	case JST_JOB_EXCEPTION:
		return EXIT_FAILED;
	case JST_JOB_TERMINATED:
		return EXIT_TERMINATED;
	case JST_JOB_KILLED:
		return EXIT_KILLED;
	default:
		return EXIT_WARNINGS;
	}
}

/* wait's result: "ID: State" as text; as JSON, the outcome and the exit code it gives. */
static int wait_result(const char *id, const char *outcome, const struct jst_status *st, int code)
{
	if (format == FMT_JSON) {
		fputs("{\"InstanceID\":", stdout);
		json_s(id);
		printf(",\"Result\":\"%s\",\"JobState\":", outcome);
		if (st)
			printf("%u,\"JobStateName\":\"%s\"", st->job_state,
			       jst_job_state_name(st->job_state));
		else
			fputs("null,\"JobStateName\":null", stdout);
		printf(",\"ExitCode\":%d}\n", code);
	} else if (st && !strcmp(outcome, "ended")) {
		cli_put_text(stdout, id);
		printf(": %s\n", jst_job_state_name(st->job_state));
	}
	return code;
}

static bool lost_communication(const struct jst_status *st)
{
	for (unsigned i = 0; i < st->n_operational_status && i < JST_OPSTATUS_MAX; i++)
		if (st->operational_status[i] == JST_OPS_LOST_COMMUNICATION)
			return true;
	return false;
}

/*
 * Besides the job's end and --timeout, two things end a wait: jobstatd
 * without a heartbeat for JST_HEARTBEAT_TIMEOUT_NS more than jst_daemon_alive()
 * allows (a restart that adopts the segment is quicker than that), and the
 * job showing Lost Communication for --lost-grace (its producer is gone; a
 * producer that comes back clears it, and the grace starts again).
 */
static int cmd_wait(jst_reader *r, const char *id)
{
	uint64_t deadline = timeout_s >= 0 ? mono_ns() + (uint64_t)(timeout_s * 1e9) : 0;
	uint64_t grace = (uint64_t)(lost_grace_s * 1e9), dead_since = 0, lost_since = 0;
	jst_handle h;
	int rc = jst_lookup(r, id, &h);

	if (rc < 0)
		return cli_fail(id, rc);
	for (;;) {
		/* The cursor first: a change after it wakes the wait below. */
		uint64_t cursor = jst_change_seq(r), now;
		struct jst_status st;

		rc = jst_status(r, h, &st);
		if (rc == JST_ESTALE) {
			fputs("jobstat: ", stderr);
			cli_put_text(stderr, id);
			fputs(" was removed before it ended\n", stderr);
			return wait_result(id, "removed", NULL, EXIT_NOT_FOUND);
		}
		if (rc < 0 && rc != JST_EAGAIN)
			return cli_fail(id, rc);
		if (rc == 0 && jst_job_state_is_final(st.job_state))
			return wait_result(id, "ended", &st, exit_for(st.job_state));
		now = mono_ns();
		if (jst_daemon_alive(r))
			dead_since = 0;
		else if (!dead_since)
			dead_since = now;
		else if (now - dead_since >= JST_HEARTBEAT_TIMEOUT_NS) {
			fputs("jobstat: ", stderr);
			cli_put_text(stderr, id);
			fprintf(stderr, ": jobstatd stopped before the job ended (no heartbeat for "
					"%.3g s)\n", (double)(now - dead_since + JST_HEARTBEAT_TIMEOUT_NS) / 1e9);
			return wait_result(id, "daemon-stopped", rc == 0 ? &st : NULL,
					   EXIT_DAEMON_DIED);
		}
		if (rc != 0 || !lost_communication(&st))
			lost_since = 0;
		else if (!lost_since)
			lost_since = now;
		if (lost_since && now - lost_since >= grace) {
			fputs("jobstat: ", stderr);
			cli_put_text(stderr, id);
			fprintf(stderr, ": still %s but Lost Communication for %.3g s: its producer "
					"is gone (jobstat terminate ends it)\n",
				jst_job_state_name(st.job_state), (double)(now - lost_since) / 1e9);
			return wait_result(id, "lost-communication", &st, EXIT_LOST);
		}
		if (deadline && now >= deadline) {
			fputs("jobstat: ", stderr);
			cli_put_text(stderr, id);
			fprintf(stderr, ": still %s after %.3g s\n",
				rc == 0 ? jst_job_state_name(st.job_state) : "unreadable", timeout_s);
			return wait_result(id, "timeout", rc == 0 ? &st : NULL, EXIT_TIMEOUT);
		}
		/*
		 * Sleep until something changes; wake now and then to see a daemon
		 * restart or death, and when the Lost Communication grace ends.
		 */
		{
			uint64_t nap = 1000000000ull;

			if (deadline && deadline - now < nap)
				nap = deadline - now;
			if (lost_since && lost_since + grace - now < nap)
				nap = lost_since + grace - now;
			rc = jst_wait_changes(r, cursor, (int64_t)nap);
		}
		if (rc < 0 && rc != JST_ETIMEDOUT)
			usleep(10000); /* no wait object: fall back to polling */
	}
}

/* ---- terminate, kill, suspend, resume ---- */

static const char *rsc_code_name(uint32_t code)
{
	/* CIM_ConcreteJob.RequestStateChange's return ValueMap. */
	switch (code) {
	case 0:
		return "Completed with No Error";
	case 1:
		return "Not Supported";
	case 2:
		return "Unknown or Unspecified Error";
	case 3:
		return "Cannot complete within Timeout Period";
	case 4:
		return "Failed";
	case 5:
		return "Invalid Parameter";
	case 6:
		return "In Use";
	case 4096:
		return "Method Parameters Checked - Transition Started";
	case 4097:
		return "Invalid State Transition";
	case 4098:
		return "Use of Timeout Parameter Not Supported";
	case 4099:
		return "Busy";
	default:
		return code >= 32768 ? "Vendor Specific" : "Method Reserved";
	}
}

static int cmd_control(const char *verb, const char *id)
{
	static const struct {
		const char *verb;
		uint16_t req;
	} verbs[] = {
		{"terminate", JST_REQ_TERMINATE}, {"kill", JST_REQ_KILL},
		{"suspend", JST_REQ_SUSPEND},     {"resume", JST_REQ_START},
	};
	uint32_t code = 0;
	jst_conn *c;
	uint16_t req = 0;
	int rc, ex;

	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(verb, verbs[i].verb))
			req = verbs[i].req;
	rc = cli_connect(verb, &c);
	if (rc)
		return rc;
	/*
	 * --timeout is the TimeoutPeriod the producer gets; the library adds it
	 * to the connection's deadline, so jobstatd has one more second (at
	 * most --timeout more) to pass the producer's answer on.
	 */
	if (timeout_s > 0)
		jst_conn_set_timeout(c, (int64_t)((timeout_s < 1 ? timeout_s : 1) * 1e9));
	rc = jst_request_state_change(c, id, req,
				      timeout_s > 0 ? (uint64_t)(timeout_s * 1e9) : 0, &code);
	if (rc == JST_ENOJOB) {
		jst_disconnect(c);
		return cli_fail(id, rc);
	}
	if (rc < 0 && (rc == JST_EDISCONNECTED || rc == JST_ENODAEMON || !code)) {
		/* No answer at all, rather than an answer that refuses. */
		if (rc != JST_EDISCONNECTED && rc != JST_ENODAEMON && jst_conn_error(c)[0]) {
			fprintf(stderr, "jobstat: %s ", verb);
			cli_put_text(stderr, id);
			fprintf(stderr, ": %s\n", jst_conn_error(c));
		}
		jst_disconnect(c);
		return cli_fail(verb, rc);
	}
	ex = code == 0 || code == 4096 ? EXIT_OK : EXIT_REFUSED;
	if (format == FMT_JSON) {
		fputs("{\"InstanceID\":", stdout);
		json_s(id);
		printf(",\"Request\":\"%s\",\"RequestedState\":%u,\"ReturnValue\":%u,"
		       "\"ReturnValueDescription\":\"%s\",\"Error\":",
		       verb, req, code, rsc_code_name(code));
		json_s(rc < 0 ? (jst_conn_error(c)[0] ? jst_conn_error(c) : jst_strerror(rc)) : NULL);
		printf(",\"ExitCode\":%d}\n", ex);
	} else {
		FILE *f = ex ? stderr : stdout;

		fprintf(f, "%s", ex ? "jobstat: " : "");
		fprintf(f, "%s ", verb);
		cli_put_text(f, id);
		fprintf(f, ": RequestStateChange returned %u (%s)", code, rsc_code_name(code));
		if (rc < 0) {
			fputs(": ", f);
			cli_put_text(f, jst_conn_error(c)[0] ? jst_conn_error(c) : jst_strerror(rc));
		}
		fputc('\n', f);
	}
	jst_disconnect(c);
	return ex;
}

/* ---- remove ---- */

/* One job's removal: printed as text or a JSON object; the exit code it gives. */
static int remove_one(jst_conn *c, const char *id, jst_handle h, bool *first)
{
	unsigned flags = remove_now ? JST_REMOVE_NOW : 0;
	uint64_t when = 0;
	struct timespec now;
	char t[64];
	int rc = jst_job_remove(c, h, flags, &when), ex = 0;

	clock_gettime(CLOCK_REALTIME, &now);
	if (rc == JST_ETIMEDOUT)
		return no_answer("remove");
	if (rc < 0 && rc != JST_EPERM && rc != JST_ENOTFINISHED && rc != JST_ESTALE)
		return cli_fail(id, rc);
	if (rc < 0)
		ex = rc == JST_ESTALE ? EXIT_NOT_FOUND : EXIT_REFUSED;
	if (format == FMT_JSON) {
		fputs(*first ? "" : ",", stdout);
		fputs("{\"InstanceID\":", stdout);
		json_s(id);
		printf(",\"Result\":\"%s\"",
		       rc == JST_ESTALE       ? "gone"
		       : rc == JST_EPERM      ? "refused"
		       : rc == JST_ENOTFINISHED ? "not-finished"
		       : when <= (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec
			       ? "removed"
			       : "scheduled");
		json_time("RemovalTime", rc < 0 ? 0 : when);
		fputs(",\"Error\":", stdout);
		json_s(rc < 0 ? (jst_conn_error(c)[0] ? jst_conn_error(c) : jst_strerror(rc)) : NULL);
		printf(",\"ExitCode\":%d}", ex);
	} else if (rc < 0) {
		fputs("jobstat: remove ", stderr);
		cli_put_text(stderr, id);
		fputs(": ", stderr);
		cli_put_text(stderr, jst_conn_error(c)[0] ? jst_conn_error(c) : jst_strerror(rc));
		fputc('\n', stderr);
	} else if (when <= (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec) {
		fputs("removed ", stdout);
		cli_put_text(stdout, id);
		putchar('\n');
	} else {
		local_time(when, t);
		cli_put_text(stdout, id);
		printf(": removed at %s, when its TimeBeforeRemoval ends (--now: at once)\n", t);
	}
	*first = false;
	return ex;
}

/*
 * remove ID, or remove --owner USER: every finished job of USER (unfinished
 * ones are named and left: terminate them first). Through jobstatd, which
 * lets the owner, root and the admin group.
 */
static int cmd_remove(jst_reader *r, const char *id)
{
	static struct jst_job job;
	long owner = cli_parse_owner(owner_filter);
	struct jst_status st;
	bool first = true;
	unsigned skipped = 0, removed = 0;
	uint32_t pos = 0;
	jst_handle h;
	jst_conn *c;
	int rc, ex = 0;

	if (id && (rc = find(r, id, &h)))
		return rc;
	rc = cli_connect("remove", &c);
	if (rc)
		return rc;
	if (id) {
		if (format == FMT_JSON)
			putchar('[');
		ex = remove_one(c, id, h, &first);
		if (format == FMT_JSON)
			puts("]");
		jst_disconnect(c);
		return ex;
	}
	if (format == FMT_JSON)
		putchar('[');
	while ((rc = jst_next(r, &pos, &st)) == 0) {
		int one;

		if (!cli_wanted(&st, 0, owner) || jst_job(r, st.handle, &job) < 0)
			continue;
		if (!jst_job_state_is_final(st.job_state)) {
			skipped++;
			fputs("jobstat: ", stderr);
			cli_put_text(stderr, job.instance_id);
			fprintf(stderr, " is %s, not finished: left (terminate it first)\n",
				jst_job_state_name(st.job_state));
			continue;
		}
		one = remove_one(c, job.instance_id, st.handle, &first);
		if (one == EXIT_NO_ANSWER || one == EXIT_TROUBLE) {
			ex = one;
			break;
		}
		if (one == EXIT_REFUSED || (one && !ex))
			ex = one;
		removed += !one;
	}
	if (format == FMT_JSON)
		puts("]");
	else if (!ex && !removed && !skipped)
		printf("no job of uid %ld to remove\n", owner);
	jst_disconnect(c);
	if (rc != JST_ENOJOB && !ex)
		return cli_fail("remove", rc);
	return ex;
}

/* ---- the command line ---- */

static const struct command {
	const char *name;
	bool takes_id;
	unsigned formats; /* enum cli_format bits */
} commands[] = {
	{"info", false, FMT_TEXT | FMT_JSON},
	{"list", false, FMT_TEXT | FMT_JSON | FMT_NDJSON},
	{"get", true, FMT_TEXT | FMT_JSON | FMT_CIMXML},
	{"error", true, FMT_TEXT | FMT_JSON | FMT_CIMXML},
	{"wait", true, FMT_TEXT | FMT_JSON},
	{"watch", false, FMT_TEXT},
	{"terminate", true, FMT_TEXT | FMT_JSON},
	{"kill", true, FMT_TEXT | FMT_JSON},
	{"suspend", true, FMT_TEXT | FMT_JSON},
	{"resume", true, FMT_TEXT | FMT_JSON},
	{"remove", true, FMT_TEXT | FMT_JSON}, /* or --owner instead of the ID */
};

static int parse_format(const char *s)
{
	static const struct {
		const char *name;
		enum cli_format f;
	} names[] = {{"text", FMT_TEXT}, {"table", FMT_TEXT}, {"json", FMT_JSON},
		     {"ndjson", FMT_NDJSON}, {"cimxml", FMT_CIMXML}};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i].name))
			return names[i].f;
	return 0;
}

/* The formats in @mask as "text, json or ndjson". */
static void format_list(unsigned mask, char *out, size_t n)
{
	static const char *const names[] = {"text", "json", "ndjson", "cimxml"};
	unsigned count = (unsigned)__builtin_popcount(mask), k = 0;
	size_t len = 0;

	out[0] = 0;
	for (unsigned b = 0; b < 4; b++) {
		if (!(mask & (1u << b)))
			continue;
		len += (size_t)snprintf(out + len, n - len, "%s%s",
					!k ? "" : k + 1 == count ? " or " : ", ", names[b]);
		k++;
	}
}

int main(int argc, char **argv)
{
	enum {
		OPT_FORMAT = 256, OPT_STATE, OPT_OWNER, OPT_ALL, OPT_TIMEOUT, OPT_FLAVOUR, OPT_FOR,
		OPT_LOST, OPT_NOW,
	};
	static const struct option opts[] = {
		{"namespace", required_argument, NULL, 'n'},
		{"format", required_argument, NULL, OPT_FORMAT},
		{"state", required_argument, NULL, OPT_STATE},
		{"owner", required_argument, NULL, OPT_OWNER},
		{"all", no_argument, NULL, OPT_ALL},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"flavour", required_argument, NULL, OPT_FLAVOUR},
		{"for", required_argument, NULL, OPT_FOR},
		{"lost-grace", required_argument, NULL, OPT_LOST},
		{"now", no_argument, NULL, OPT_NOW},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	const struct command *cmd = NULL;
	const char *id = NULL;
	double watch_for = 0;
	jst_reader *r;
	char formats[64];
	int c, rc;

	while ((c = getopt_long(argc, argv, "n:hV", opts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'n':
			ns = optarg;
			break;
		case OPT_FORMAT:
			format_name = optarg;
			format = parse_format(optarg);
			if (!format) {
				fprintf(stderr, "jobstat: --format is text, json, ndjson or cimxml, "
						"not \"%s\"\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_STATE:
			state_filter = optarg;
			break;
		case OPT_OWNER:
			owner_filter = optarg;
			break;
		case OPT_ALL:
			all_errors = true;
			break;
		case OPT_FLAVOUR:
			flavour_name = optarg;
			break;
		case OPT_NOW:
			remove_now = true;
			break;
		case OPT_TIMEOUT:
		case OPT_FOR:
		case OPT_LOST: {
			double *v = c == OPT_FOR ? &watch_for : c == OPT_LOST ? &lost_grace_s
									  : &timeout_s;

			errno = 0;
			*v = strtod(optarg, &end);
			/* !(>= 0) also refuses nan; a day at most keeps the timers in range. */
			if (!*optarg || *end || errno || !(*v >= 0) || *v > 86400) {
				fprintf(stderr, "jobstat: --%s wants seconds (0 to 86400), not "
						"\"%s\"\n",
					c == OPT_FOR ? "for" : c == OPT_LOST ? "lost-grace" : "timeout",
					optarg);
				return EXIT_USAGE;
			}
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("jobstat %s\n", jst_version());
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	for (size_t i = 0; optind < argc && i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[optind], commands[i].name))
			cmd = &commands[i];
	if (!cmd) {
		if (optind < argc)
			fprintf(stderr, "jobstat: unknown command \"%s\"\n", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	optind++;
	if (optind < argc)
		id = argv[optind++];
	if (!strcmp(cmd->name, "remove") && !id == !owner_filter) {
		fprintf(stderr, "jobstat: remove takes one InstanceID or --owner USER\n");
		return EXIT_USAGE;
	}
	if (!strcmp(cmd->name, "remove") && !id) {
		/* remove --owner USER: no InstanceID. */
	} else if (optind != argc || !id != !cmd->takes_id) {
		fprintf(stderr, "jobstat: %s %s\n", cmd->name,
			cmd->takes_id ? "takes one InstanceID" : "takes no InstanceID");
		return EXIT_USAGE;
	}
	if (!(cmd->formats & format)) {
		format_list(cmd->formats, formats, sizeof(formats));
		fprintf(stderr, "jobstat: %s does not print --format %s: it prints %s\n",
				cmd->name, format_name, formats);
		return EXIT_FORMAT;
	}
	/* Bad values are the command line's fault, whether or not a daemon runs. */
	if (state_filter && !cli_parse_state(state_filter)) {
		fprintf(stderr, "jobstat: no such state \"%s\" (a JobState name or number)\n",
			state_filter);
		return EXIT_USAGE;
	}
	if (cli_parse_owner(owner_filter) == -2) {
		fprintf(stderr, "jobstat: no such user \"%s\"\n", owner_filter);
		return EXIT_USAGE;
	}
	if (strcmp(flavour_name, "cim") && strcmp(flavour_name, "hyperv") &&
	    strcmp(flavour_name, "do")) {
		fprintf(stderr, "jobstat: --flavour is cim, hyperv or do, not \"%s\"\n",
			flavour_name);
		return EXIT_USAGE;
	}
	if (cmd->takes_id && strcmp(cmd->name, "get") && strcmp(cmd->name, "error") &&
	    strcmp(cmd->name, "wait") && strcmp(cmd->name, "remove"))
		return cmd_control(cmd->name, id);
	rc = jst_attach(ns, &r);
	if (rc < 0)
		return cli_fail(ns ? ns : jst_default_namespace(), rc);
	if (!strcmp(cmd->name, "info"))
		rc = cmd_info(r);
	else if (!strcmp(cmd->name, "list"))
		rc = cmd_list(r);
	else if (!strcmp(cmd->name, "get"))
		rc = cmd_get(r, id);
	else if (!strcmp(cmd->name, "error"))
		rc = cmd_error(r, id);
	else if (!strcmp(cmd->name, "wait"))
		rc = cmd_wait(r, id);
	else if (!strcmp(cmd->name, "remove"))
		rc = cmd_remove(r, id);
	else
		rc = cli_watch(r, state_filter, owner_filter, watch_for);
	jst_detach(r);
	return rc;
}
