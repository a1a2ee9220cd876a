/* SPDX-License-Identifier: MIT */
/*
 * jobstat.c - the jobstat command-line tool: lists, shows, waits for, watches
 * and controls jobs through the public libjobstat API only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "jobstat.h"

/* `jobstat wait` exit codes (documented in usage() and jobstat(1)). */
enum {
	EXIT_COMPLETED = 0,
	EXIT_TROUBLE = 1,     /* no daemon, no permission, ... */
	EXIT_USAGE = 2,
	EXIT_FAILED = 3,      /* Exception */
	EXIT_TERMINATED = 4,
	EXIT_KILLED = 5,
	EXIT_TIMEOUT = 6,
	EXIT_NOT_FOUND = 7,   /* no such job, or removed before it finished */
	EXIT_WARNINGS = 8,    /* CompletedWithWarnings */
};

static const char *ns;
static const char *format = "table";
static const char *flavour_name = "cim";
static const char *state_filter;
static const char *owner_filter;
static bool all_errors;
static double timeout_s = -1;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: jobstat [-n NAMESPACE] COMMAND [ARGS]\n\n"
		"  info                     the daemon (pid, liveness, generation), capacity,\n"
		"                           jobs by state, memory in use\n"
		"  list [--state S] [--owner USER] [--format table|json]\n"
		"                           every job (S: a JobState name or number)\n"
		"  get ID [--format text|json]\n"
		"                           every property of one job\n"
		"  error ID [--all] [--format text|json|cimxml] [--flavour cim|hyperv|do]\n"
		"                           GetError (--all: GetErrors), as the flavour defines it\n"
		"  wait ID [--timeout SECONDS]\n"
		"                           block until the job ends; exit 0 completed, 3 failed\n"
		"                           (Exception), 4 terminated, 5 killed, 6 timeout,\n"
		"                           7 not found, 8 completed with warnings, 1 trouble\n"
		"  watch [--state S] [--owner USER] [--for SECONDS]\n"
		"                           a live view: q quits, s changes the sort, arrows scroll;\n"
		"                           not on a terminal, a snapshot a second\n"
		"  terminate|kill|suspend|resume ID [--timeout SECONDS]\n"
		"                           RequestStateChange through jobstatd\n\n"
		"  -n, --namespace NS       default: $JOBSTAT_NAMESPACE or \"default\"\n"
		"      --help, --version\n");
}

static int fail(const char *what, int rc)
{
	fprintf(stderr, "jobstat: %s: %s\n", what, jst_strerror(rc));
	switch (rc) {
	case JST_ENOENT:
		fprintf(stderr, "hint: is jobstatd running? Start it (jobstatd, or make run), or "
				"name its namespace with -n or JOBSTAT_NAMESPACE\n");
		break;
	case JST_EACCES:
		fprintf(stderr, "hint: the segment's group must include you (jobstatd --group, "
				"--mode 0640)\n");
		break;
	case JST_ENOJOB:
		fprintf(stderr, "hint: jobstat list shows the InstanceIDs there are\n");
		break;
	case JST_ENODAEMON:
		fprintf(stderr, "hint: jobstatd is not listening; set JOBSTAT_SOCKET if it uses "
				"another socket\n");
		break;
	}
	return EXIT_TROUBLE;
}

static uint16_t parse_state(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*end && v <= 65535)
		return (uint16_t)v;
	for (unsigned i = 2; i <= 12; i++)
		if (!strcasecmp(s, jst_job_state_name((uint16_t)i)))
			return (uint16_t)i;
	if (!strcasecmp(s, "CompletedWithWarnings"))
		return JST_JOB_COMPLETED_WITH_WARNINGS;
	return 0;
}

static bool wanted(const struct jst_status *st, uint16_t state, long owner)
{
	return (!state || st->job_state == state) && (owner < 0 || st->owner_uid == (uint32_t)owner);
}

static long parse_owner(const char *s)
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
	return *end || v < 0 ? -2 : v;
}

static void json_string(const char *s)
{
	if (!s) {
		fputs("null", stdout);
		return;
	}
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

static void json_job(const struct jst_job *j)
{
	const struct jst_status *st = &j->status;

	fputs("{\"InstanceID\":", stdout);
	json_string(j->instance_id);
	fputs(",\"Name\":", stdout);
	json_string(j->name);
	printf(",\"JobState\":%u,\"JobStateName\":\"%s\",\"PercentComplete\":%u,"
	       "\"OperationalStatus\":[",
	       st->job_state, jst_job_state_name(st->job_state), st->percent_complete);
	for (unsigned i = 0; i < st->n_operational_status; i++)
		printf("%s%u", i ? "," : "", st->operational_status[i]);
	fputs("],\"StatusDescriptions\":[", stdout);
	for (unsigned i = 0; i < j->n_status_descriptions; i++) {
		if (i)
			putchar(',');
		json_string(j->status_descriptions[i]);
	}
	fputs("],\"JobStatus\":", stdout);
	json_string(j->job_status);
	fputs(",\"ErrorDescription\":", stdout);
	json_string(j->error_description);
	fputs(",\"Owner\":", stdout);
	json_string(j->owner);
	printf(",\"OwnerUID\":%u,\"ErrorCode\":%u,\"Priority\":%u,\"JobType\":%u,"
	       "\"TimeSubmitted\":%" PRIu64 ",\"StartTime\":%" PRIu64
	       ",\"TimeOfLastStateChange\":%" PRIu64 ",\"ElapsedTime\":%" PRIu64
	       ",\"TimeBeforeRemoval\":%" PRIu64 ",\"DeleteOnCompletion\":%s,\"Cancellable\":%s,"
	       "\"TransferState\":",
	       st->owner_uid, st->error_code, st->priority, st->job_type, st->time_submitted,
	       st->start_time, st->time_of_last_state_change, st->elapsed_ns,
	       st->time_before_removal_ns,
	       (st->flags & JST_STATUS_DELETE_ON_COMPLETION) ? "true" : "false",
	       (st->flags & JST_STATUS_CANCELLABLE) ? "true" : "false");
	if (st->transfer_state)
		printf("\"%s\"", jst_transfer_state_name((uint16_t)(st->transfer_state - 1)));
	else
		fputs("null", stdout);
	printf(",\"Errors\":%u,\"ErrorsTotal\":%u}", st->n_errors, st->errors_total);
}

/* ---- info, list, get ---- */

static int cmd_info(jst_reader *r)
{
	unsigned by_state[16] = {0}, vendor = 0;
	struct jst_status st;
	struct jst_info in;
	uint32_t pos = 0;

	jst_info(r, &in);
	while (jst_next(r, &pos, &st) == 0) {
		if (st.job_state < 16)
			by_state[st.job_state]++;
		else
			vendor++;
	}
	printf("format       %u.%u\n"
	       "daemon pid   %" PRIu64 " (%s)\n"
	       "generation   %" PRIu64 "\n"
	       "capacity     %u jobs\n"
	       "jobs         %u\n",
	       in.version_major, in.version_minor, in.daemon_pid,
	       jst_daemon_alive(r) ? "alive" : "NOT RUNNING: no heartbeat", in.generation,
	       in.capacity, in.njobs);
	for (unsigned s = 2; s <= 12; s++)
		if (by_state[s])
			printf("  %-11s%u\n", jst_job_state_name((uint16_t)s), by_state[s]);
	if (vendor)
		printf("  %-11s%u\n", "vendor", vendor);
	printf("changes      %" PRIu64 " (log of %u)\n"
	       "memory       %.1f MiB of job versions (segment reserves %.1f GiB, sparse)\n",
	       in.change_seq, in.log_size, (double)in.pool_bytes / (1 << 20),
	       (double)in.segment_size / (1 << 30));
	{
		/* The daemon's side, when its socket is reachable: not needed for the rest. */
		struct jst_connect_options o = {.ns = ns, .reconnect_timeout_ns = -1};
		struct jst_daemon_stats ds;
		jst_conn *c = NULL;

		if (jst_connect(&o, &c) == 0 && jst_daemon_stats(c, &ds) == 0)
			printf("clients      %u connected (this one included), %u producer "
			       "sessions, %u pending requests\n"
			       "daemon heap  %.1f MiB\n",
			       ds.connections, ds.sessions, ds.pending,
			       (double)ds.heap_bytes / (1 << 20));
		else
			printf("clients      (control socket not reachable)\n");
		jst_disconnect(c);
	}
	return 0;
}

static int cmd_list(jst_reader *r)
{
	static struct jst_job job;
	uint16_t state = state_filter ? parse_state(state_filter) : 0;
	long owner = parse_owner(owner_filter);
	bool json = !strcmp(format, "json"), first = true;
	struct jst_status st;
	uint32_t pos = 0;
	int rc;

	if ((state_filter && !state) || owner == -2) {
		fprintf(stderr, "jobstat: no such %s \"%s\"\n", owner == -2 ? "user" : "state",
			owner == -2 ? owner_filter : state_filter);
		return EXIT_USAGE;
	}
	if (json)
		putchar('[');
	else
		printf("%-44s %-16s %5s %s\n", "INSTANCEID", "STATE", "PCT", "NAME");
	while ((rc = jst_next(r, &pos, &st)) == 0) {
		if (!wanted(&st, state, owner) || jst_job(r, st.handle, &job) < 0)
			continue; /* filtered out, or removed between the two reads */
		if (json) {
			if (!first)
				putchar(',');
			json_job(&job);
			first = false;
		} else {
			printf("%-44s %-16s %4u%% %s\n", job.instance_id,
			       jst_job_state_name(st.job_state), st.percent_complete,
			       job.name ? job.name : "");
		}
	}
	if (json)
		puts("]");
	return rc == JST_ENOJOB ? 0 : fail("list", rc);
}

static int find(jst_reader *r, const char *id, jst_handle *h)
{
	int rc = jst_lookup(r, id, h);

	return rc < 0 ? fail(id, rc) : 0;
}

static int cmd_get(jst_reader *r, const char *id)
{
	static struct jst_job job;
	jst_handle h;
	int rc = find(r, id, &h);

	if (rc)
		return rc;
	rc = jst_job(r, h, &job);
	if (rc < 0)
		return fail(id, rc);
	if (!strcmp(format, "json")) {
		json_job(&job);
		putchar('\n');
		return 0;
	}
	printf("InstanceID          %s\nName                %s\nJobState            %u (%s)\n"
	       "PercentComplete     %u\nOperationalStatus  ",
	       job.instance_id, job.name ? job.name : "", job.status.job_state,
	       jst_job_state_name(job.status.job_state), job.status.percent_complete);
	for (unsigned i = 0; i < job.status.n_operational_status; i++)
		printf(" %u", job.status.operational_status[i]);
	printf("\nJobStatus           %s\nErrorDescription    %s\nOwner               %s "
	       "(uid %u)\nErrors              %u retained, %u reported\n",
	       job.job_status ? job.job_status : "",
	       job.error_description ? job.error_description : "", job.owner ? job.owner : "",
	       job.status.owner_uid, job.status.n_errors, job.status.errors_total);
	if (job.status.transfer_state)
		printf("TransferState       %s\n",
		       jst_transfer_state_name((uint16_t)(job.status.transfer_state - 1)));
	return 0;
}

/* ---- error ---- */

static void error_text(const struct jst_error *e)
{
	printf("MessageID           %s\nMessage             %s\nErrorType           %u\n"
	       "PerceivedSeverity   %u\nProbableCause       %u\nOwningEntity        %s\n"
	       "CIMStatusCode       %u\nReported            #%u, in JobState %u (%s)\n",
	       e->message_id ? e->message_id : "", e->message ? e->message : "", e->error_type,
	       e->perceived_severity, e->probable_cause,
	       e->owning_entity ? e->owning_entity : "", e->cim_status_code, e->sequence,
	       e->job_state, jst_job_state_name(e->job_state));
	for (unsigned i = 0; i < e->n_message_arguments; i++)
		printf("MessageArguments[%u] %s\n", i,
		       e->message_arguments[i] ? e->message_arguments[i] : "(null)");
	for (unsigned i = 0; i < e->n_recommended_actions; i++)
		printf("RecommendedAction   %s\n",
		       e->recommended_actions[i] ? e->recommended_actions[i] : "(null)");
	if (e->hresult || e->file)
		printf("HRESULT             0x%08x\nContext             %u\nFile                %s\n",
		       e->hresult, e->context, e->file ? e->file : "");
}

static int print_error(const struct jst_error *e)
{
	static char buf[1 << 17];
	int rc = 0;

	if (!strcmp(format, "cimxml"))
		rc = jst_error_to_cimxml(e, buf, sizeof(buf), NULL);
	else if (!strcmp(format, "json"))
		rc = jst_error_to_json(e, buf, sizeof(buf), NULL);
	else
		error_text(e);
	if (rc < 0)
		return fail("render", rc);
	if (strcmp(format, "text"))
		puts(buf);
	return 0;
}

static int cmd_error(jst_reader *r, const char *id)
{
	static struct jst_error errs[JST_ERRORS_KEPT];
	unsigned flavour = !strcmp(flavour_name, "hyperv") ? JST_FLAVOUR_HYPERV
			   : !strcmp(flavour_name, "do")   ? JST_FLAVOUR_DO
							   : JST_FLAVOUR_CIM;
	size_t n = 0;
	jst_handle h;
	int rc;

	if (strcmp(flavour_name, "cim") && strcmp(flavour_name, "hyperv") &&
	    strcmp(flavour_name, "do")) {
		fprintf(stderr, "jobstat: --flavour is cim, hyperv or do\n");
		return EXIT_USAGE;
	}
	if (!strcmp(format, "table"))
		format = "text";
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
		fprintf(stderr, "jobstat: %s has no error to give (return code %" PRIu32
				" / 0x%08" PRIx32 "): it is running or ended well%s\n",
			id, jst_method_code(rc, flavour), jst_method_code(rc, flavour),
			flavour == JST_FLAVOUR_DO ? ", or is not in ERROR/TRANSIENT_ERROR" : "");
		return 0;
	}
	if (rc < 0)
		return fail(id, rc);
	if (!strcmp(format, "json") && all_errors)
		putchar('[');
	for (size_t i = 0; i < n; i++) {
		if (i && !strcmp(format, "json"))
			putchar(',');
		else if (i)
			putchar('\n');
		if (print_error(&errs[i]))
			return EXIT_TROUBLE;
	}
	if (!strcmp(format, "json") && all_errors)
		puts("]");
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
		return EXIT_COMPLETED;
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

static int cmd_wait(jst_reader *r, const char *id)
{
	uint64_t deadline = timeout_s >= 0 ? mono_ns() + (uint64_t)(timeout_s * 1e9) : 0;
	jst_handle h;
	int rc = jst_lookup(r, id, &h);

	if (rc == JST_ENOJOB) {
		fprintf(stderr, "jobstat: %s: no such job\n", id);
		return EXIT_NOT_FOUND;
	}
	if (rc < 0)
		return fail(id, rc);
	for (;;) {
		/* The cursor first: a change after it wakes the wait below. */
		uint64_t cursor = jst_change_seq(r), now;
		struct jst_status st;

		rc = jst_status(r, h, &st);
		if (rc == JST_ESTALE) {
			fprintf(stderr, "jobstat: %s was removed before it finished\n", id);
			return EXIT_NOT_FOUND;
		}
		if (rc < 0 && rc != JST_EAGAIN)
			return fail(id, rc);
		if (rc == 0 && jst_job_state_is_final(st.job_state)) {
			printf("%s: %s\n", id, jst_job_state_name(st.job_state));
			return exit_for(st.job_state);
		}
		now = mono_ns();
		if (deadline && now >= deadline) {
			fprintf(stderr, "jobstat: %s: still %s after %.3g s\n", id,
				rc == 0 ? jst_job_state_name(st.job_state) : "unreadable", timeout_s);
			return EXIT_TIMEOUT;
		}
		/* Sleep until something changes; wake now and then to see a daemon restart. */
		rc = jst_wait_changes(r, cursor,
				      deadline && deadline - now < 1000000000ull
					      ? (int64_t)(deadline - now) : 1000000000ll);
		if (rc < 0 && rc != JST_ETIMEDOUT)
			usleep(10000); /* no wait object: fall back to polling */
	}
}

/* ---- terminate, kill, suspend, resume ---- */

static int cmd_control(const char *verb, const char *id)
{
	static const struct {
		const char *verb;
		uint16_t req;
	} verbs[] = {
		{"terminate", JST_REQ_TERMINATE}, {"kill", JST_REQ_KILL},
		{"suspend", JST_REQ_SUSPEND},     {"resume", JST_REQ_START},
	};
	struct jst_connect_options o = {.ns = ns, .reconnect_timeout_ns = -1};
	uint32_t code = 0;
	jst_conn *c;
	uint16_t req = 0;
	int rc;

	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(verb, verbs[i].verb))
			req = verbs[i].req;
	rc = jst_connect(&o, &c);
	if (rc < 0)
		return fail("connect", rc);
	rc = jst_request_state_change(c, id, req,
				      timeout_s > 0 ? (uint64_t)(timeout_s * 1e9) : 0, &code);
	if (rc < 0 && rc != JST_EDISCONNECTED) {
		fprintf(stderr, "jobstat: %s %s: %s (RequestStateChange returned %u)\n", verb, id,
			jst_conn_error(c)[0] ? jst_conn_error(c) : jst_strerror(rc), code);
		jst_disconnect(c);
		return rc == JST_ENOJOB ? EXIT_NOT_FOUND : EXIT_TROUBLE;
	}
	jst_disconnect(c);
	if (rc < 0)
		return fail(verb, rc);
	printf("%s %s: RequestStateChange returned %u (%s)\n", verb, id, code,
	       code == 0 ? "Completed with No Error" : code == 4096 ? "Transition Started"
	       : code == 1 ? "Not Supported" : code == 4 ? "Failed" : "see CIM_ConcreteJob");
	return code == 0 || code == 4096 ? 0 : EXIT_TROUBLE;
}

/* ---- watch ---- */

struct row {
	struct jst_status st;
};

static int sort_mode; /* 0 state, 1 progress, 2 latest change */
static const char *const sort_names[] = {"state", "progress", "latest change"};

static int cmp_rows(const void *a, const void *b)
{
	const struct jst_status *x = &((const struct row *)a)->st, *y = &((const struct row *)b)->st;

	if (sort_mode == 1 && x->percent_complete != y->percent_complete)
		return x->percent_complete < y->percent_complete ? -1 : 1;
	if (sort_mode == 2 && x->change_seq != y->change_seq)
		return x->change_seq > y->change_seq ? -1 : 1;
	if (sort_mode == 0 && x->job_state != y->job_state)
		return x->job_state < y->job_state ? -1 : 1;
	return x->handle.slot < y->handle.slot ? -1 : x->handle.slot > y->handle.slot;
}

static struct termios saved_tio;
static bool tty_raw;
static volatile sig_atomic_t watch_stop;

static void restore_tty(void)
{
	if (tty_raw) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
		fputs("\033[?25h\033[?1049l", stdout); /* cursor back, main screen back */
		fflush(stdout);
		tty_raw = false;
	}
}

static void on_stop(int sig)
{
	(void)sig;
	watch_stop = 1;
}

static const char *colour(uint16_t s)
{
	switch (s) {
	case JST_JOB_RUNNING:
		return "\033[32m";
	case JST_JOB_COMPLETED:
		return "\033[34m";
	case JST_JOB_EXCEPTION:
	case JST_JOB_KILLED:
		return "\033[31m";
	case JST_JOB_TERMINATED:
	case JST_JOB_SUSPENDED:
		return "\033[33m";
	default:
		return "\033[0m";
	}
}

static void draw(jst_reader *r, struct row *rows, size_t n, size_t top, int height, int width,
		 bool tty)
{
	static struct jst_job job;
	char bar[21];
	size_t shown = 0;

	if (tty)
		fputs("\033[H\033[2J", stdout);
	printf("jobstat watch: %zu jobs, sorted by %s%s\n", n, sort_names[sort_mode],
	       tty ? "   (q quit, s sort, arrows scroll)" : "");
	printf("%-40s %-14s %-22s %s\n", "INSTANCEID", "STATE", "PROGRESS", "OPSTATUS");
	for (size_t i = top; i < n && (int)shown < height - 3; i++, shown++) {
		const struct jst_status *st = &rows[i].st;
		unsigned p = st->percent_complete > 100 ? 0 : st->percent_complete;
		const char *id = jst_job(r, st->handle, &job) == 0 ? job.instance_id : "(removed)";

		for (unsigned k = 0; k < 20; k++)
			bar[k] = k < p / 5 ? '#' : '.';
		bar[20] = 0;
		printf("%-40.40s %s%-14s%s [%s] %3u%% %u\n", id, tty ? colour(st->job_state) : "",
		       jst_job_state_name(st->job_state), tty ? "\033[0m" : "", bar, p,
		       st->operational_status[0]);
	}
	(void)width;
	fflush(stdout);
}

static void full_scan(jst_reader *r, struct jst_status *table, bool *live, uint32_t cap)
{
	static struct jst_status batch[256];
	uint32_t pos = 0;
	size_t got;

	memset(live, 0, cap * sizeof(*live));
	while (jst_scan(r, &pos, batch, 256, &got) == 0 && got > 0) {
		for (size_t i = 0; i < got; i++) {
			if (batch[i].handle.slot < cap) {
				table[batch[i].handle.slot] = batch[i];
				live[batch[i].handle.slot] = true;
			}
		}
	}
}

/* Apply the change log since *@cursor. Return 0; JST_EOVERRUN (rescan). */
static int follow_changes(jst_reader *r, uint64_t *cursor, struct jst_status *table, bool *live,
			  uint32_t cap)
{
	static struct jst_status got[256];
	size_t n;
	int rc;

	do {
		rc = jst_changed(r, cursor, got, 256, &n);
		if (rc < 0)
			return rc;
		for (size_t i = 0; i < n; i++) {
			uint32_t s = got[i].handle.slot;

			if (s >= cap)
				continue;
			live[s] = got[i].handle.gen != 0; /* gen 0: removed */
			if (live[s])
				table[s] = got[i];
		}
	} while (n == 256);
	return 0;
}

static int cmd_watch(jst_reader *r, double seconds)
{
	uint16_t state = state_filter ? parse_state(state_filter) : 0;
	long owner = parse_owner(owner_filter);
	bool tty = isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
	uint64_t until = seconds > 0 ? mono_ns() + (uint64_t)(seconds * 1e9) : 0;
	struct sigaction sa = {.sa_handler = on_stop};
	struct jst_info in;
	struct row *rows;
	struct jst_status *table; /* the latest status of every slot, kept by the change log */
	bool *live, rescan = true;
	uint64_t cursor = 0;
	size_t top = 0;

	if ((state_filter && !state) || owner == -2) {
		fprintf(stderr, "jobstat: bad --state or --owner\n");
		return EXIT_USAGE;
	}
	jst_info(r, &in);
	rows = calloc(in.capacity, sizeof(*rows));
	table = calloc(in.capacity, sizeof(*table));
	live = calloc(in.capacity, sizeof(*live));
	if (!rows || !table || !live)
		return fail("watch", JST_ENOMEM);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (tty && tcgetattr(STDIN_FILENO, &saved_tio) == 0) {
		struct termios raw = saved_tio;

		raw.c_lflag &= (tcflag_t) ~(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
		tty_raw = true;
		atexit(restore_tty);
		fputs("\033[?1049h\033[?25l", stdout); /* alternate screen, no cursor */
	}
	while (!watch_stop && (!until || mono_ns() < until)) {
		struct winsize ws = {.ws_row = 40, .ws_col = 120};
		size_t n = 0;
		struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};

		if (tty)
			ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws);
		/* Only what changed since the last redraw; everything after an overrun. */
		if (!rescan && follow_changes(r, &cursor, table, live, in.capacity) < 0)
			rescan = true;
		if (rescan) {
			cursor = jst_change_seq(r); /* first: a change during the scan is seen again */
			full_scan(r, table, live, in.capacity);
			rescan = false;
		}
		for (uint32_t s = 0; s < in.capacity; s++)
			if (live[s] && wanted(&table[s], state, owner))
				rows[n++].st = table[s];
		qsort(rows, n, sizeof(*rows), cmp_rows);
		if (top >= n)
			top = n ? n - 1 : 0;
		draw(r, rows, n, top, tty ? ws.ws_row : 25, ws.ws_col, tty);
		/*
		 * On a terminal: redraw on a change or a key, at most 10 times a second.
		 * Otherwise (a pipe, a log): one snapshot a second.
		 */
		if (tty && poll(&pfd, 1, 0) == 0)
			jst_wait_changes(r, cursor, 100000000); /* sleeps while nothing changes */
		usleep(tty ? 100000 : 1000000);
		if (tty) {
			char k[8];
			ssize_t kn = read(STDIN_FILENO, k, sizeof(k));

			for (ssize_t i = 0; i < kn; i++) {
				if (k[i] == 'q')
					watch_stop = 1;
				else if (k[i] == 's')
					sort_mode = (sort_mode + 1) % 3;
				else if (k[i] == 'A' && top > 0) /* ESC [ A: up */
					top--;
				else if (k[i] == 'B') /* ESC [ B: down */
					top++;
				else if (k[i] == '5' && top > 0) /* page up */
					top = top > 20 ? top - 20 : 0;
				else if (k[i] == '6') /* page down */
					top += 20;
			}
		}
	}
	restore_tty();
	free(rows);
	free(table);
	free(live);
	return 0;
}

int main(int argc, char **argv)
{
	enum { OPT_FORMAT = 256, OPT_STATE, OPT_OWNER, OPT_ALL, OPT_TIMEOUT, OPT_FLAVOUR, OPT_FOR };
	static const struct option opts[] = {
		{"namespace", required_argument, NULL, 'n'},
		{"format", required_argument, NULL, OPT_FORMAT},
		{"state", required_argument, NULL, OPT_STATE},
		{"owner", required_argument, NULL, OPT_OWNER},
		{"all", no_argument, NULL, OPT_ALL},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"flavour", required_argument, NULL, OPT_FLAVOUR},
		{"for", required_argument, NULL, OPT_FOR},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	static const char *const cmds[] = {"info", "list", "get", "error", "wait", "watch",
					   "terminate", "kill", "suspend", "resume"};
	const char *cmd = NULL, *id = NULL;
	double watch_for = 0;
	jst_reader *r;
	int c, rc;

	while ((c = getopt_long(argc, argv, "n:hV", opts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'n':
			ns = optarg;
			break;
		case OPT_FORMAT:
			format = optarg;
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
		case OPT_TIMEOUT:
		case OPT_FOR:
			errno = 0;
			*(c == OPT_FOR ? &watch_for : &timeout_s) = strtod(optarg, &end);
			if (*end || errno || (c == OPT_TIMEOUT ? timeout_s : watch_for) < 0) {
				fprintf(stderr, "jobstat: --%s wants seconds, not \"%s\"\n",
					c == OPT_FOR ? "for" : "timeout", optarg);
				return EXIT_USAGE;
			}
			break;
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
	if (optind < argc)
		cmd = argv[optind++];
	if (optind < argc)
		id = argv[optind++];
	for (size_t i = 0; cmd && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmd, cmds[i]))
			goto known;
	if (cmd)
		fprintf(stderr, "jobstat: unknown command \"%s\"\n", cmd);
	usage(stderr);
	return EXIT_USAGE;
known:
	if (optind != argc || (!id) != (!strcmp(cmd, "info") || !strcmp(cmd, "list") ||
					!strcmp(cmd, "watch"))) {
		fprintf(stderr, "jobstat: %s %s\n", cmd,
			id && (!strcmp(cmd, "info") || !strcmp(cmd, "list") || !strcmp(cmd, "watch"))
				? "takes no InstanceID" : "takes one InstanceID");
		return EXIT_USAGE;
	}
	if (strcmp(format, "table") && strcmp(format, "json") && strcmp(format, "text") &&
	    strcmp(format, "cimxml")) {
		fprintf(stderr, "jobstat: --format is table, text, json or cimxml\n");
		return EXIT_USAGE;
	}
	if (!strcmp(cmd, "terminate") || !strcmp(cmd, "kill") || !strcmp(cmd, "suspend") ||
	    !strcmp(cmd, "resume"))
		return cmd_control(cmd, id);
	rc = jst_attach(ns, &r);
	if (rc < 0)
		return fail(ns ? ns : jst_default_namespace(), rc);
	if (!strcmp(cmd, "info"))
		rc = cmd_info(r);
	else if (!strcmp(cmd, "list"))
		rc = cmd_list(r);
	else if (!strcmp(cmd, "get"))
		rc = cmd_get(r, id);
	else if (!strcmp(cmd, "error"))
		rc = cmd_error(r, id);
	else if (!strcmp(cmd, "wait"))
		rc = cmd_wait(r, id);
	else
		rc = cmd_watch(r, watch_for);
	jst_detach(r);
	return rc;
}
