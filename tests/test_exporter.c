/* SPDX-License-Identifier: MIT */
/*
 * test_exporter.c - jobstat-exporter's metrics without HTTP: content
 * negotiation, label escaping, the exact series a known segment gives in
 * both formats, the per-job cap and its dropped count, the bounded job_type
 * label, a missing or closed daemon shown as jobstat_up 0, a scrape that
 * makes no syscall however many jobs there are, and the program's answer to
 * bad options.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "counters.h"
#include "metrics.h"
#include "testutil.h"

Test(exporter, negotiation_follows_accept_and_its_q_values)
{
	static const struct {
		const char *accept;
		enum jx_format want;
	} cases[] = {
		{NULL, JX_TEXT},
		{"", JX_TEXT},
		{"*/*", JX_TEXT},
		{"text/plain", JX_TEXT},
		{"application/json", JX_TEXT}, /* neither: still metrics, never 406 */
		{"application/openmetrics-text", JX_OPENMETRICS},
		{"Application/OpenMetrics-Text; Version=1.0.0", JX_OPENMETRICS},
		/* What Prometheus 2.42 sends. */
		{"application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
		 "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
		 JX_OPENMETRICS},
		{"application/openmetrics-text;version=0.0.1,text/plain;version=0.0.4;q=0.5", JX_TEXT},
		{"text/plain;version=0.0.4;q=0.9, application/openmetrics-text;q=0.5", JX_TEXT},
		{"text/plain;q=0.3, application/openmetrics-text;q=0.5", JX_OPENMETRICS},
		{"application/openmetrics-text;q=0", JX_TEXT},
		{"application/openmetrics-text;q=banana, text/plain", JX_TEXT},
		{"application/openmetrics-text ; q=1.0 , text/plain ; q=1", JX_OPENMETRICS},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_eq(jx_negotiate(cases[i].accept), cases[i].want, "Accept: %s",
			     cases[i].accept ? cases[i].accept : "(none)");
	cr_assert_str_eq(jx_content_type(JX_TEXT), "text/plain; version=0.0.4; charset=utf-8");
	cr_assert_str_eq(jx_content_type(JX_OPENMETRICS),
			 "application/openmetrics-text; version=1.0.0; charset=utf-8");
}

static char bufmem[1 << 16];

static const char *escaped(const char *s, size_t max)
{
	struct jx_buf b = {.p = bufmem, .cap = sizeof(bufmem) - 1};

	jx_label_escape(&b, s, max);
	b.p[b.len] = 0;
	return b.p;
}

Test(exporter, label_values_are_escaped_and_cut_on_a_character)
{
	cr_assert_str_eq(escaped("plain", 64), "plain");
	cr_assert_str_eq(escaped("a\"b\\c\nd", 64), "a\\\"b\\\\c\\nd");
	cr_assert_str_eq(escaped("\"\"", 64), "\\\"\\\"");
	/* "é" is two bytes: a cut at 2 keeps "a", never half of it. */
	cr_assert_str_eq(escaped("a\xc3\xa9z", 2), "a");
	cr_assert_str_eq(escaped("a\xc3\xa9z", 3), "a\xc3\xa9");
	cr_assert_str_eq(escaped("abcdef", 4), "abcd");
}

/* A segment with known jobs; returns its exporter attached. */
struct fixture {
	struct test_seg seg;
	struct jx_exporter x;
	struct jx_buf b;
	jst_handle h[64];
};

static void add_job(struct fixture *fx, unsigned i, const char *id, uint16_t state, uint16_t type,
		    uint16_t pct)
{
	struct jst_status st = {.job_state = state, .job_type = type, .percent_complete = pct,
				.start_time = UINT64_C(1700000000500000000) + i,
				.time_of_last_state_change = 0};
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	st.time_of_last_state_change = (uint64_t)now.tv_sec * 1000000000u;
	cr_assert_eq(jst_pub_job_create(fx->seg.pub, id, &st, NULL, &fx->h[i]), 0, "%s", id);
}

static void fixture_start(struct fixture *fx, const char *what, uint32_t max_jobs)
{
	const char *names[1];

	memset(fx, 0, sizeof(*fx));
	test_seg_create(&fx->seg, what, NULL);
	names[0] = fx->seg.ns;
	cr_assert_eq(jx_init(&fx->x, names, 1, max_jobs, 3600), 0);
}

static void fixture_stop(struct fixture *fx)
{
	jx_free(&fx->x);
	free(fx->b.p);
	if (fx->seg.pub)
		test_seg_destroy(&fx->seg);
}

static const char *scrape(struct fixture *fx, enum jx_format f)
{
	cr_assert_eq(jx_scrape(&fx->x, f, &fx->b), 0);
	cr_assert_lt(fx->b.len, fx->b.cap);
	fx->b.p[fx->b.len] = 0;
	return fx->b.p;
}

/* Does @text have @line as a whole line? */
static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p += n)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

static unsigned count_prefix(const char *text, const char *prefix)
{
	unsigned n = 0;
	size_t len = strlen(prefix);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, prefix, len) == 0)
			n++;
	return n;
}

#define ASSERT_LINE(text, ...)                                                                 \
	do {                                                                                   \
		char line_[1024];                                                              \
		snprintf(line_, sizeof(line_), __VA_ARGS__);                                    \
		cr_assert(has_line(text, line_), "missing line: %s\n--- in:\n%s", line_, text); \
	} while (0)

Test(exporter, a_known_segment_gives_exactly_its_series)
{
	struct fixture fx;
	struct jst_error e = {.message_id = "M\"1\\\n2", .perceived_severity = 6,
			      .cim_status_code = 4};
	struct jst_counters_writer *w;
	const uint32_t in_use[JST_POOL_COUNT] = {7, 6, 0, 2};
	const char *t;
	const char *ns;

	fixture_start(&fx, "exp-known", 100);
	ns = fx.seg.ns;
	add_job(&fx, 0, "acme:run-1", JST_JOB_RUNNING, 5, 40);
	add_job(&fx, 1, "acme:run-2", JST_JOB_RUNNING, 5, 101); /* no progress stated */
	add_job(&fx, 2, "acme:q\"uo\\te", JST_JOB_SUSPENDED, 7, 5);
	add_job(&fx, 3, "acme:done", JST_JOB_COMPLETED, 5, 100);
	add_job(&fx, 4, "acme:failed", JST_JOB_RUNNING, 6, 0);
	cr_assert_eq(jst_pub_publish(fx.seg.pub, fx.h[4], &(struct jst_pub_change){.error = &(struct jst_error){.message_id = "OLD"}}), 0);
	{
		struct jst_status st;

		cr_assert_eq(jst_pub_status(fx.seg.pub, fx.h[4], &st), 0);
		st.job_state = JST_JOB_EXCEPTION;
		cr_assert_eq(jst_pub_publish(fx.seg.pub, fx.h[4], &(struct jst_pub_change){.error = &e, .status = &st}), 0);
	}
	/* The daemon's counters and gauges, as its rules would raise them. */
	w = jst_pub_counters(fx.seg.pub);
	jst_counters_add(w, JST_COUNTER_JOBS_CREATED, 5);
	jst_counters_finished(w, JST_JOB_COMPLETED, 5);
	jst_counters_finished(w, JST_JOB_EXCEPTION, 6);
	jst_counters_error(w, 6);
	jst_counters_rsc(w, 4097);
	jst_counters_refused(w, JST_REFUSAL_SEGMENT_FULL);
	jst_counters_add(w, JST_COUNTER_SESSIONS_LOST, 1);
	jst_counters_gauges(w, 3, 2, in_use, 1);

	t = scrape(&fx, JX_TEXT);
	ASSERT_LINE(t, "jobstat_up{namespace=\"%s\"} 1", ns);
	ASSERT_LINE(t, "jobstat_daemon_generation{namespace=\"%s\"} 1", ns);
	ASSERT_LINE(t, "jobstat_daemon_connections{namespace=\"%s\"} 3", ns);
	ASSERT_LINE(t, "jobstat_daemon_sessions{namespace=\"%s\"} 2", ns);
	ASSERT_LINE(t, "jobstat_job_slots{namespace=\"%s\"} 1024", ns);
	ASSERT_LINE(t, "jobstat_pool_blocks_in_use{namespace=\"%s\",pool=\"status\"} 7", ns);
	ASSERT_LINE(t, "jobstat_pool_blocks_in_use{namespace=\"%s\",pool=\"error\"} 2", ns);
	ASSERT_LINE(t, "jobstat_jobs{namespace=\"%s\",state=\"Running\",job_type=\"5\"} 2", ns);
	ASSERT_LINE(t, "jobstat_jobs{namespace=\"%s\",state=\"Suspended\",job_type=\"7\"} 1", ns);
	ASSERT_LINE(t, "jobstat_jobs{namespace=\"%s\",state=\"Completed\",job_type=\"5\"} 1", ns);
	ASSERT_LINE(t, "jobstat_jobs{namespace=\"%s\",state=\"Exception\",job_type=\"6\"} 1", ns);
	cr_assert_eq(count_prefix(t, "jobstat_jobs{"), 4);
	ASSERT_LINE(t, "# TYPE jobstat_jobs_created_total counter");
	ASSERT_LINE(t, "jobstat_jobs_created_total{namespace=\"%s\"} 5", ns);
	ASSERT_LINE(t, "jobstat_jobs_finished_total{namespace=\"%s\",state=\"Completed\",job_type=\"5\"} 1", ns);
	ASSERT_LINE(t, "jobstat_jobs_finished_total{namespace=\"%s\",state=\"Exception\",job_type=\"6\"} 1", ns);
	ASSERT_LINE(t, "jobstat_jobs_finished_total{namespace=\"%s\",state=\"Exception\",job_type=\"5\"} 0", ns);
	ASSERT_LINE(t, "jobstat_job_errors_total{namespace=\"%s\",severity=\"critical\"} 1", ns);
	ASSERT_LINE(t, "jobstat_state_change_requests_total{namespace=\"%s\",code=\"4097\"} 1", ns);
	ASSERT_LINE(t, "jobstat_producer_sessions_lost_total{namespace=\"%s\"} 1", ns);
	ASSERT_LINE(t, "jobstat_requests_refused_total{namespace=\"%s\",reason=\"segment_full\"} 1", ns);
	/* Per-job: the 3 unfinished and the failed one; the completed job has none. */
	cr_assert_eq(count_prefix(t, "jobstat_job_state{"), 4);
	ASSERT_LINE(t, "jobstat_job_state{namespace=\"%s\",instance_id=\"acme:run-1\",job_type=\"5\"} 4", ns);
	ASSERT_LINE(t, "jobstat_job_state{namespace=\"%s\",instance_id=\"acme:q\\\"uo\\\\te\",job_type=\"7\"} 5", ns);
	ASSERT_LINE(t, "jobstat_job_state{namespace=\"%s\",instance_id=\"acme:failed\",job_type=\"6\"} 10", ns);
	cr_assert_not(strstr(t, "acme:done"));
	ASSERT_LINE(t, "jobstat_job_progress_ratio{namespace=\"%s\",instance_id=\"acme:run-1\",job_type=\"5\"} 0.4", ns);
	ASSERT_LINE(t, "jobstat_job_progress_ratio{namespace=\"%s\",instance_id=\"acme:q\\\"uo\\\\te\",job_type=\"7\"} 0.05", ns);
	ASSERT_LINE(t, "jobstat_job_progress_ratio{namespace=\"%s\",instance_id=\"acme:failed\",job_type=\"6\"} 0", ns);
	cr_assert_eq(count_prefix(t, "jobstat_job_progress_ratio{"), 3, "101 means undefined: no series");
	ASSERT_LINE(t, "jobstat_job_start_time_seconds{namespace=\"%s\",instance_id=\"acme:run-1\",job_type=\"5\"} 1700000000.5", ns);
	ASSERT_LINE(t, "jobstat_job_start_time_seconds{namespace=\"%s\",instance_id=\"acme:run-2\",job_type=\"5\"} 1700000000.500000001", ns);
	/* The latest error only, its MessageID escaped. */
	cr_assert_eq(count_prefix(t, "jobstat_job_error_info{"), 1);
	ASSERT_LINE(t, "jobstat_job_error_info{namespace=\"%s\",instance_id=\"acme:failed\",job_type=\"6\","
		       "message_id=\"M\\\"1\\\\\\n2\",perceived_severity=\"6\",cim_status_code=\"4\"} 1", ns);
	ASSERT_LINE(t, "jobstat_job_series_dropped{namespace=\"%s\"} 0", ns);
	ASSERT_LINE(t, "jobstat_exporter_scrapes_total{format=\"text\"} 1");
	cr_assert_neq(t[strlen(t) - 1], 0);
	cr_assert_not(strstr(t, "# EOF"), "the text format has no EOF marker");

	/* OpenMetrics: counters' families without _total, and the EOF marker last. */
	t = scrape(&fx, JX_OPENMETRICS);
	ASSERT_LINE(t, "# TYPE jobstat_jobs_created counter");
	ASSERT_LINE(t, "jobstat_jobs_created_total{namespace=\"%s\"} 5", ns);
	ASSERT_LINE(t, "# TYPE jobstat_job_error_info gauge");
	ASSERT_LINE(t, "jobstat_exporter_scrapes_total{format=\"openmetrics\"} 1");
	cr_assert_not(strstr(t, "# TYPE jobstat_jobs_created_total"));
	cr_assert_eq(strcmp(t + strlen(t) - 6, "# EOF\n"), 0, "OpenMetrics ends with # EOF");
	fixture_stop(&fx);
}

Test(exporter, per_job_series_are_capped_and_the_rest_counted_as_dropped)
{
	struct fixture fx;
	const char *t;
	char id[32];

	fixture_start(&fx, "exp-cap", 3);
	for (unsigned i = 0; i < 10; i++) {
		snprintf(id, sizeof(id), "acme:j%u", i);
		add_job(&fx, i, id, i < 8 ? JST_JOB_RUNNING : JST_JOB_COMPLETED, 1, 50);
	}
	t = scrape(&fx, JX_TEXT);
	cr_assert_eq(count_prefix(t, "jobstat_job_state{"), 3);
	cr_assert_eq(count_prefix(t, "jobstat_job_progress_ratio{"), 3);
	ASSERT_LINE(t, "jobstat_job_series_dropped{namespace=\"%s\"} 5", fx.seg.ns);
	ASSERT_LINE(t, "jobstat_jobs{namespace=\"%s\",state=\"Running\",job_type=\"1\"} 8", fx.seg.ns);
	fixture_stop(&fx);

	fixture_start(&fx, "exp-cap0", 0); /* --max-job-series 0: none at all */
	add_job(&fx, 0, "acme:only", JST_JOB_RUNNING, 1, 50);
	t = scrape(&fx, JX_TEXT);
	cr_assert_eq(count_prefix(t, "jobstat_job_state{"), 0);
	ASSERT_LINE(t, "jobstat_job_series_dropped{namespace=\"%s\"} 1", fx.seg.ns);
	fixture_stop(&fx);
}

Test(exporter, job_types_past_the_label_bound_become_other)
{
	struct fixture fx;
	const char *t;
	char id[32], want[160];
	unsigned typed = 0;

	fixture_start(&fx, "exp-types", 0);
	for (unsigned i = 0; i < JX_TYPES_MAX + 10; i++) {
		snprintf(id, sizeof(id), "acme:t%u", i);
		add_job(&fx, i % 64, id, JST_JOB_RUNNING, (uint16_t)(1000 + i), 0);
	}
	t = scrape(&fx, JX_TEXT);
	for (unsigned i = 0; i < JX_TYPES_MAX + 10; i++) {
		snprintf(want, sizeof(want), "jobstat_jobs{namespace=\"%s\",state=\"Running\",job_type=\"%u\"} 1",
			 fx.seg.ns, 1000 + i);
		typed += has_line(t, want);
	}
	cr_assert_eq(typed, JX_TYPES_MAX, "the first %u types by value, no more", JX_TYPES_MAX);
	ASSERT_LINE(t, "jobstat_jobs{namespace=\"%s\",state=\"Running\",job_type=\"other\"} 10", fx.seg.ns);
	fixture_stop(&fx);
}

Test(exporter, a_missing_or_stopped_daemon_is_up_0_not_an_error)
{
	struct jx_exporter x;
	struct jx_buf b = {0};
	struct test_seg seg;
	const char *names[2];
	char ns_missing[64];

	snprintf(ns_missing, sizeof(ns_missing), "test-exp-none-%ld", (long)getpid());
	test_seg_create(&seg, "exp-stop", NULL);
	names[0] = ns_missing;
	names[1] = seg.ns;
	cr_assert_eq(jx_init(&x, names, 2, 10, 60), 0);
	cr_assert_eq(jx_scrape(&x, JX_TEXT, &b), 0);
	b.p[b.len < b.cap ? b.len : b.cap - 1] = 0;
	ASSERT_LINE(b.p, "jobstat_up{namespace=\"%s\"} 0", ns_missing);
	ASSERT_LINE(b.p, "jobstat_up{namespace=\"%s\"} 1", seg.ns);
	cr_assert_not(strstr(b.p, "jobstat_jobs_created_total{namespace=\"test-exp-none"),
		      "nothing but jobstat_up for a namespace without a segment");
	cr_assert_eq(x.ns[0].attach_rc, JST_ENOENT);
	/* The daemon stops: its segment says CLOSED; the counters are still shown. */
	jst_pub_close(seg.pub, false);
	seg.pub = NULL;
	cr_assert_eq(jx_scrape(&x, JX_TEXT, &b), 0);
	b.p[b.len] = 0;
	ASSERT_LINE(b.p, "jobstat_up{namespace=\"%s\"} 0", seg.ns);
	ASSERT_LINE(b.p, "jobstat_jobs_created_total{namespace=\"%s\"} 0", seg.ns);
	jx_free(&x);
	free(b.p);
	{
		char wait_name[JST_SHM_NAME_MAX + 8];

		snprintf(wait_name, sizeof(wait_name), "%s.lock", seg.shm);
		shm_unlink(seg.shm);
		shm_unlink(wait_name);
	}
	cr_assert_eq(jx_init(&x, (const char *[]){"bad/name"}, 1, 10, 60), JST_ENAMESPACE);
	cr_assert_eq(jx_init(&x, names, 0, 10, 60), JST_EINVAL);
}

Test(exporter, a_small_buffer_grows_and_gives_the_same_scrape)
{
	struct fixture fx;
	struct jx_buf small = {0};
	char id[32];

	fixture_start(&fx, "exp-grow", 1000);
	for (unsigned i = 0; i < 600; i++) {
		snprintf(id, sizeof(id), "acme:grow-%u", i);
		add_job(&fx, i % 64, id, JST_JOB_RUNNING, 3, 10);
	}
	small.p = malloc(100);
	small.cap = 100;
	jx_render(&fx.x, JX_TEXT, &small);
	cr_assert(small.full, "100 bytes cannot hold it: full, not overrun");
	cr_assert_leq(small.len, 100);
	cr_assert_eq(jx_scrape(&fx.x, JX_TEXT, &small), 0);
	cr_assert_not(small.full);
	cr_assert_gt(small.cap, 600 * 80);
	cr_assert_eq(count_prefix(small.p, "jobstat_job_state{"), 600);
	free(small.p);
	fixture_stop(&fx);
}

#define SANDBOX_JOBS 20000

Test(exporter, a_scrape_of_20000_jobs_makes_no_syscall, .timeout = 120)
{
	struct jst_pub_config cfg = {.capacity = SANDBOX_JOBS + 16};
	struct jst_error e = {.message_id = "JST1", .perceived_severity = 5};
	struct jx_exporter x;
	struct jx_buf b = {0};
	struct test_seg seg;
	struct jst_status st = {0};
	unsigned result[2] = {0, 0};
	const char *names[1];
	int fd, status;
	char id[48];
	pid_t pid;

	if (!test_vdso_clock())
		cr_skip_test("this clocksource makes clock_gettime a syscall");
	test_seg_create(&seg, "exp-seccomp", &cfg);
	for (unsigned i = 0; i < SANDBOX_JOBS; i++) {
		jst_handle h;

		snprintf(id, sizeof(id), "acme:sandbox-%u", i);
		st.job_state = i % 4 == 0 ? JST_JOB_COMPLETED : JST_JOB_RUNNING;
		st.job_type = (uint16_t)(i % 9);
		st.percent_complete = (uint16_t)(i % 100);
		st.start_time = 1;
		cr_assert_eq(jst_pub_job_create(seg.pub, id, &st, NULL, &h), 0);
		if (i % 10 == 1) {
			struct timespec now;

			clock_gettime(CLOCK_REALTIME, &now);
			st.time_of_last_state_change = (uint64_t)now.tv_sec * 1000000000u;
			st.job_state = JST_JOB_EXCEPTION;
			cr_assert_eq(jst_pub_publish(seg.pub, h, &(struct jst_pub_change){.error = &e, .status = &st}), 0);
		}
	}
	names[0] = seg.ns;
	pid = test_fork_piped(&fd);
	if (pid == 0) {
		/* Attach and size the buffer first, then scrape again under seccomp strict. */
		if (jx_init(&x, names, 1, 10000, 3600) != 0 || jx_scrape(&x, JX_TEXT, &b) != 0)
			syscall(SYS_exit, 3);
		if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT) != 0)
			syscall(SYS_exit, 4);
		for (unsigned k = 0; k < 3; k++)
			jx_render(&x, k == 1 ? JX_OPENMETRICS : JX_TEXT, &b);
		if (b.full)
			syscall(SYS_exit, 6);
		b.p[b.len - 1] = 0;
		result[0] = count_prefix(b.p, "jobstat_job_state{");
		result[1] = count_prefix(b.p, "jobstat_job_error_info{");
		if (write(fd, result, sizeof(result)) != (ssize_t)sizeof(result))
			syscall(SYS_exit, 5);
		syscall(SYS_exit, 0);
	}
	/* Keep publishing while the child scrapes: its reads race with real updates. */
	while (waitpid(pid, &status, WNOHANG) == 0)
		jst_pub_heartbeat(seg.pub);
	cr_assert_not(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		      "the scrape made a syscall: seccomp killed it");
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
	cr_assert_eq(read(fd, result, sizeof(result)), (ssize_t)sizeof(result));
	close(fd);
	/* 15,000 unfinished or failed jobs qualify; the cap keeps 10,000, in slot order. */
	cr_assert_eq(result[0], 10000);
	cr_assert_gt(result[1], 600, "the failed jobs among them carry their error");
	test_seg_destroy(&seg);
}

/* Run jobstat-exporter with @args (a shell word list); its exit status and what it said. */
static int run_exporter(const char *args, char *out, size_t n)
{
	char cmd[512];
	FILE *p;
	size_t got;
	int status;

	snprintf(cmd, sizeof(cmd), "exec %s/jobstat-exporter %s 2>&1", JST_BUILD_DIR, args);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	got = fread(out, 1, n - 1, p);
	out[got] = 0;
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(exporter, bad_options_exit_2_and_say_what_was_wrong, .timeout = 30)
{
	static const struct {
		const char *args, *says;
	} cases[] = {
		{"--listen 127.0.0.1", "expected ADDR:PORT"},
		{"--listen 127.0.0.1:0", "the port must be 1-65535"},
		{"--listen 127.0.0.1:65536", "the port must be 1-65535"},
		{"--listen localhost:9731", "\"localhost\" is not an IPv4 address (names are not resolved)"},
		{"--listen '[::1:9731'", "expected [IPV6]:PORT"},
		{"--listen '[zz]:9731'", "\"zz\" is not an IPv6 address"},
		{"--max-job-series -1", "--max-job-series -1: expected a whole number from 0 to 10000000"},
		{"--max-job-series 10k", "expected a whole number"},
		{"--failed-window 99999999999", "--failed-window 99999999999: expected a whole number"},
		{"--namespace 'bad/ns'", "invalid namespace name (1-64 of A-Z a-z 0-9 . _ -)"},
		{"-n a -n a", "namespace \"a\" given twice"},
		{"-n a extra", "unexpected argument \"extra\""},
		{"--no-such-option", "usage: jobstat-exporter"},
	};
	char out[4096];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = run_exporter(cases[i].args, out, sizeof(out));

		cr_expect_eq(rc, 2, "%s: exit %d", cases[i].args, rc);
		cr_expect(strstr(out, cases[i].says), "%s: said \"%s\", not \"%s\"", cases[i].args,
			  out, cases[i].says);
	}
	cr_assert_eq(run_exporter("--help", out, sizeof(out)), 0);
	cr_assert(strstr(out, "--max-job-series"));
	cr_assert_eq(run_exporter("--version", out, sizeof(out)), 0);
	cr_assert(strstr(out, "libmicrohttpd"));
}

Test(exporter, a_port_in_use_exits_1_and_says_so, .timeout = 30)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char args[64], out[4096];

	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(fd, 1), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	snprintf(args, sizeof(args), "--listen 127.0.0.1:%u", ntohs(a.sin_port));
	cr_assert_eq(run_exporter(args, out, sizeof(out)), 1, "%s", out);
	cr_assert(strstr(out, "is the port in use? Choose another with --listen"), "%s", out);
	close(fd);
}
