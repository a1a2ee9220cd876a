/* SPDX-License-Identifier: MIT */
/*
 * test_cli.c - proves the jobstat tool against a real daemon: `wait` exits
 * with the documented code for each way a job ends (and for a timeout and
 * an unknown job) as soon as it ends; `error` prints GetError as text,
 * JSON and CIM-XML; `list` filters and prints JSON; `terminate` goes
 * through RequestStateChange; `watch` works without a terminal; and a
 * person gets a hint when there is no daemon or no such job.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <time.h>

#include "testdaemon.h"

static struct test_daemon d;
static jst_conn *c;
static jst_reader *r;

static void setup(void)
{
	test_daemon_init(&d, "cli");
	test_daemon_start(&d);
	c = test_connect(&d, true, 0, NULL, NULL);
	r = test_attach(&d);
}

static void teardown(void)
{
	jst_detach(r);
	jst_disconnect(c);
	test_daemon_cleanup(&d);
}

TestSuite(cli, .init = setup, .fini = teardown, .timeout = 60);

/* Start `jobstat ARGS...` with its output on a pipe; NULL-terminated arguments. */
static pid_t spawn(int *out, const char *a0, ...)
{
	const char *argv[16] = {"jobstat"};
	unsigned n = 1;
	va_list ap;
	int fd;
	pid_t pid;

	va_start(ap, a0);
	for (const char *a = a0; a && n < 15; a = va_arg(ap, const char *))
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	pid = test_fork_piped(&fd);
	if (pid == 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		setenv("JOBSTAT_NAMESPACE", d.ns, 1);
		setenv("JOBSTAT_SOCKET", d.sock, 1);
		execv(JST_BUILD_DIR "/jobstat", (char *const *)argv);
		_exit(127);
	}
	*out = fd;
	return pid;
}

/* Wait for it; its exit code, its output in @buf. */
static int finish(pid_t pid, int fd, char *buf, size_t n)
{
	size_t have = 0;
	ssize_t got;
	int status;

	while (have + 1 < n && (got = read(fd, buf + have, n - 1 - have)) > 0)
		have += (size_t)got;
	buf[have] = 0;
	close(fd);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status), "jobstat died: %#x\n%s", status, buf);
	return WEXITSTATUS(status);
}

#define RUN(buf, ...)                                                                          \
	({                                                                                     \
		int fd_;                                                                       \
		pid_t p_ = spawn(&fd_, __VA_ARGS__, (const char *)NULL);                       \
		finish(p_, fd_, buf, sizeof(buf));                                             \
	})

static jst_handle job(const char *id)
{
	jst_handle h;

	cr_assert_eq(jst_job_create(c, &(struct jst_job_spec){.instance_id = id, .name = id,
							       .initial_state = 4}, &h, NULL), 0);
	return h;
}

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

Test(cli, wait_exits_with_the_documented_code_when_the_job_ends)
{
	static const struct {
		uint16_t state;
		int code;
	} ends[] = {
		{JST_JOB_COMPLETED, 0}, {JST_JOB_EXCEPTION, 3}, {JST_JOB_TERMINATED, 4},
		{JST_JOB_KILLED, 5},    {JST_JOB_COMPLETED_WITH_WARNINGS, 8},
	};
	char out[4096];

	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		char id[32];
		jst_handle h;
		uint64_t t0;
		int fd;
		pid_t p;

		snprintf(id, sizeof(id), "cli:wait-%zu", i);
		h = job(id);
		p = spawn(&fd, "wait", id, (const char *)NULL);
		usleep(200 * 1000); /* it is blocked in the futex by now */
		cr_assert_eq(waitpid(p, NULL, WNOHANG), 0, "wait returned before the job ended");
		t0 = ms_now();
		cr_assert_eq(jst_job_set_state(c, h, ends[i].state), 0);
		cr_assert_eq(finish(p, fd, out, sizeof(out)), ends[i].code, "%s: %s",
			     jst_job_state_name(ends[i].state), out);
		cr_assert_lt(ms_now() - t0, 2000, "it returns promptly once the job ends");
	}
	job("cli:never");
	cr_assert_eq(RUN(out, "wait", "cli:never", "--timeout", "0.3"), 6, "%s", out);
	cr_assert_not_null(strstr(out, "still Running"), "%s", out);
	cr_assert_eq(RUN(out, "wait", "cli:nope"), 7, "%s", out);
}

Test(cli, error_prints_text_json_and_cimxml)
{
	struct jst_error e = {.message_id = "NET0007", .message = "link down & out",
			      .error_type = 2, .perceived_severity = 5};
	char out[65536];
	jst_handle h = job("cli:err");

	cr_assert_eq(RUN(out, "error", "cli:err"), 0);
	cr_assert_not_null(strstr(out, "no error to give"), "running: %s", out);
	cr_assert_eq(jst_job_report_error(c, h, &e, true), 0);
	cr_assert_eq(RUN(out, "error", "cli:err"), 0, "%s", out);
	cr_assert_not_null(strstr(out, "MessageID           NET0007"), "%s", out);
	cr_assert_eq(RUN(out, "error", "cli:err", "--format", "cimxml"), 0);
	cr_assert_not_null(strstr(out, "<INSTANCE CLASSNAME=\"CIM_Error\">"), "%s", out);
	cr_assert_not_null(strstr(out, "<VALUE>link down &amp; out</VALUE>"), "%s", out);
	cr_assert_eq(RUN(out, "error", "cli:err", "--all", "--format", "json"), 0);
	cr_assert_eq(out[0], '[', "%s", out);
	cr_assert_not_null(strstr(out, "\"MessageID\":\"NET0007\""), "%s", out);
	cr_assert_eq(RUN(out, "error", "cli:err", "--flavour", "do"), 0);
	cr_assert_not_null(strstr(out, "0x80d02014"), "DO: no error object: %s", out);
	cr_assert_eq(RUN(out, "error", "cli:err", "--flavour", "wmi"), 2);
}

Test(cli, list_filters_and_prints_json)
{
	char out[65536];
	jst_handle h = job("cli:a");

	job("cli:b");
	cr_assert_eq(jst_job_complete(c, h), 0);
	cr_assert_eq(RUN(out, "list"), 0);
	cr_assert_not_null(strstr(out, "cli:a"));
	cr_assert_not_null(strstr(out, "cli:b"));
	cr_assert_eq(RUN(out, "list", "--state", "Completed"), 0);
	cr_assert_not_null(strstr(out, "cli:a"), "%s", out);
	cr_assert_null(strstr(out, "cli:b"), "filtered out: %s", out);
	cr_assert_eq(RUN(out, "list", "--state", "running", "--format", "json"), 0);
	cr_assert_not_null(strstr(out, "\"InstanceID\":\"cli:b\""), "%s", out);
	cr_assert_null(strstr(out, "cli:a"), "%s", out);
	cr_assert_eq(RUN(out, "list", "--owner", "nobody"), 0);
	cr_assert_null(strstr(out, "cli:"), "root's jobs are not nobody's: %s", out);
	cr_assert_eq(RUN(out, "list", "--state", "Dancing"), 2);
	cr_assert_eq(RUN(out, "info"), 0);
	cr_assert_not_null(strstr(out, "Completed  1"), "jobs by state: %s", out);
	cr_assert_not_null(strstr(out, "(alive)"), "%s", out);
	cr_assert_not_null(strstr(out, "2 connected (this one included), 1 producer sessions"),
			   "the test's producer and jobstat itself: %s", out);
	cr_assert_eq(RUN(out, "get", "cli:a", "--format", "json"), 0);
	cr_assert_not_null(strstr(out, "\"JobStateName\":\"Completed\""), "%s", out);
}

Test(cli, terminate_goes_through_request_state_change)
{
	char out[4096];
	jst_handle h = job("cli:t");

	jst_disconnect(c); /* no producer to ask: the daemon terminates it */
	c = test_connect(&d, true, 0, NULL, NULL);
	cr_assert_eq(RUN(out, "terminate", "cli:t"), 0, "%s", out);
	cr_assert_not_null(strstr(out, "returned 0"), "%s", out);
	cr_assert_eq(test_read(r, h).job_state, JST_JOB_TERMINATED);
	cr_assert_eq(RUN(out, "kill", "cli:t"), 1, "a final job: %s", out);
	cr_assert_not_null(strstr(out, "returned 4097"), "%s", out);
	cr_assert_eq(RUN(out, "suspend", "cli:none"), 7, "%s", out);
}

Test(cli, watch_without_a_terminal_prints_snapshots)
{
	char out[65536];

	for (int i = 0; i < 50; i++) {
		char id[32];

		snprintf(id, sizeof(id), "cli:w%d", i);
		job(id);
	}
	{
		static char done[65536];
		int fd, fd2;
		pid_t p = spawn(&fd, "watch", "--for", "2.5", (const char *)NULL);
		pid_t p2 = spawn(&fd2, "watch", "--for", "2.5", "--state", "Completed",
				 (const char *)NULL);
		jst_handle h0, h1;

		cr_assert_eq(jst_lookup(r, "cli:w0", &h0), 0);
		cr_assert_eq(jst_lookup(r, "cli:w1", &h1), 0);
		usleep(1200 * 1000); /* after the first snapshots */
		cr_assert_eq(jst_job_complete(c, h0), 0);
		cr_assert_eq(jst_job_remove(c, h1, JST_REMOVE_NOW, NULL), 0);
		cr_assert_eq(finish(p, fd, out, sizeof(out)), 0, "%s", out);
		cr_assert_eq(finish(p2, fd2, done, sizeof(done)), 0, "%s", done);
		/* Later snapshots follow the change log: the completion and the removal. */
		cr_assert_not_null(strstr(done, "jobstat watch: 0 jobs"), "%s", done);
		cr_assert_not_null(strstr(done, "jobstat watch: 1 jobs"), "%s", done);
		cr_assert_not_null(strstr(done, "cli:w0"), "%s", done);
	}
	cr_assert_not_null(strstr(out, "jobstat watch: 50 jobs"), "%s", out);
	cr_assert_not_null(strstr(out, "cli:w"), "%s", out);
	cr_assert_not_null(strstr(out, "jobstat watch: 49 jobs"), "the removal: %s", out);
	cr_assert_null(strstr(out, "\033["), "no escape sequences into a pipe");
}

Test(cli, hints_for_a_person)
{
	char out[4096];
	int fd;
	pid_t p;

	cr_assert_eq(RUN(out, "get", "cli:nope"), 1);
	cr_assert_not_null(strstr(out, "hint: jobstat list"), "%s", out);
	p = spawn(&fd, "-n", "no-such-namespace-here", "list", (const char *)NULL);
	cr_assert_eq(finish(p, fd, out, sizeof(out)), 1);
	cr_assert_not_null(strstr(out, "hint: is jobstatd running?"), "%s", out);
	cr_assert_eq(RUN(out, "frobnicate"), 2);
	cr_assert_eq(RUN(out, "get"), 2, "get without an InstanceID");
	cr_assert_eq(RUN(out, "--help"), 0);
	cr_assert_not_null(strstr(out, "usage: jobstat"));
}
