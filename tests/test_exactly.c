/* SPDX-License-Identifier: MIT */
/*
 * test_exactly.c - no answer is wrong after a restart: jobstatd is killed
 * between applying a request and acknowledging it, the library resends the
 * request to the restarted daemon, and the daemon answers as the first copy
 * was answered instead of applying it again. On 0.1.0 a resent ERROR report
 * was recorded twice and a resent RequestStateChange answered 4097.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

#include "testdaemon.h"

static struct test_daemon d;

static void setup(void)
{
	test_daemon_init(&d, "once");
}

static void teardown(void)
{
	unsetenv("JOBSTATD_TEST_CRASH_AFTER");
	test_daemon_cleanup(&d);
}

TestSuite(exactly, .init = setup, .fini = teardown, .timeout = 60);

/* Wait for the daemon to die of its test crash, then start a new one (no crash). */
static void restart_after_crash(void)
{
	int status;

	cr_assert_eq(waitpid(d.pid, &status, 0), d.pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "%#x", status);
	d.pid = -1;
	unsetenv("JOBSTATD_TEST_CRASH_AFTER");
	test_daemon_start(&d);
}

Test(exactly, a_resent_error_report_is_recorded_once)
{
	struct jst_status st;
	jst_reader *r;
	jst_handle h;
	jst_conn *c;
	int fd, status;
	pid_t pid;

	setenv("JOBSTATD_TEST_CRASH_AFTER", "error", 1);
	test_daemon_start(&d);
	c = test_connect(&d, true, 0, NULL, NULL);
	cr_assert_eq(jst_job_create(c, &(struct jst_job_spec){.instance_id = "once:err"}, &h, NULL),
		     0);
	pid = test_fork_piped(&fd);
	if (pid == 0) /* its call spans the crash: applied, lost, resent, answered */
		_exit(jst_job_report_error(c, h, &(struct jst_error){.message_id = "ONCE1"}, false)
			      ? 1 : 0);
	restart_after_crash();
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the resent report failed");
	r = test_attach(&d);
	st = test_read(r, h);
	cr_assert_eq(st.n_errors, 1, "recorded %u times", st.n_errors);
	cr_assert_eq(st.errors_total, 1);
	/* A new report is a new request: recorded (a new connection: ours forked its ids). */
	jst_disconnect(c);
	c = test_connect(&d, true, 0, NULL, NULL);
	cr_assert_eq(jst_job_report_error(c, h, &(struct jst_error){.message_id = "ONCE2"}, false), 0);
	cr_assert_eq(test_read(r, h).n_errors, 2);
	jst_detach(r);
	jst_disconnect(c);
	close(fd);
}

static uint32_t terminate_it(jst_conn *c, const struct jst_request *rq, void *arg)
{
	(void)arg;
	return jst_job_set_state(c, rq->handle, JST_JOB_TERMINATED) == 0 ? JST_RSC_COMPLETED
									 : JST_RSC_FAILED;
}

Test(exactly, a_resent_state_change_gets_its_first_answer)
{
	jst_reader *r;
	jst_handle h;
	jst_conn *p, *c;
	uint32_t code = 99;
	int pfd, status;
	pid_t prod;

	setenv("JOBSTATD_TEST_CRASH_AFTER", "request", 1);
	test_daemon_start(&d);
	p = test_connect(&d, true, 0, terminate_it, NULL);
	cr_assert_eq(jst_job_create(p, &(struct jst_job_spec){.instance_id = "once:rsc",
							       .initial_state = JST_JOB_RUNNING},
				    &h, NULL), 0);
	prod = test_fork_piped(&pfd);
	if (prod == 0) {
		for (;;)
			jst_dispatch(p, -1); /* answers, and reconnects by itself after the crash */
	}
	c = test_connect(&d, false, 0, NULL, NULL);
	{
		int fd;
		pid_t req = test_fork_piped(&fd);

		if (req == 0) {
			int rc = jst_request_state_change(c, "once:rsc", JST_REQ_TERMINATE, 0, &code);

			_exit(rc == 0 && code == JST_RSC_COMPLETED ? 0 : code == 4097 ? 2 : 1);
		}
		restart_after_crash();
		cr_assert_eq(waitpid(req, &status, 0), req);
		cr_assert(WIFEXITED(status), "%#x", status);
		cr_assert_eq(WEXITSTATUS(status), 0, "the resent request was answered %s",
			     WEXITSTATUS(status) == 2 ? "4097, Invalid State Transition" : "wrongly");
		close(fd);
	}
	r = test_attach(&d);
	cr_assert_eq(test_read(r, h).job_state, JST_JOB_TERMINATED);
	kill(prod, SIGKILL);
	waitpid(prod, NULL, 0);
	close(pfd);
	jst_detach(r);
	jst_disconnect(c);
	jst_disconnect(p);
}

/* A producer that starts a transition (4096) and finishes it after a delay. */
static uint64_t started_at;
static jst_handle started_job;

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint32_t start_later(jst_conn *c, const struct jst_request *rq, void *arg)
{
	(void)c;
	(void)arg;
	started_at = mono_ms();
	started_job = rq->handle;
	return JST_RSC_STARTED;
}

/*
 * TimeoutPeriod is the longest the requester expects the transition to take
 * (DMTF): when the producer has started it (4096), the requester gets 0 once
 * the job is there within the period, and 4096 (still under way) if not. 0.1.0
 * read it as how long to wait for the producer's first answer and returned
 * 4096 at once.
 */
Test(exactly, timeout_period_is_how_long_the_transition_may_take)
{
	static const struct {
		uint64_t timeout_ms, finish_after_ms;
		uint32_t want;
	} cases[] = {{3000, 300, JST_RSC_COMPLETED}, {300, 1500, JST_RSC_STARTED}};
	jst_conn *p, *c;
	jst_handle h;
	int fd;
	pid_t prod;

	test_daemon_start(&d);
	p = test_connect(&d, true, 0, start_later, NULL);
	cr_assert_eq(jst_job_create(p, &(struct jst_job_spec){.instance_id = "tp:job",
							       .initial_state = JST_JOB_RUNNING},
				    &h, NULL), 0);
	c = test_connect(&d, false, 0, NULL, NULL);
	for (unsigned k = 0; k < 2; k++) {
		uint32_t code = 99;
		uint64_t t0 = mono_ms();

		prod = test_fork_piped(&fd);
		if (prod == 0) {
			started_at = 0;
			for (;;) {
				jst_dispatch(p, 20 * 1000 * 1000);
				if (started_at && mono_ms() - started_at >= cases[k].finish_after_ms) {
					jst_job_set_state(p, started_job, JST_JOB_SUSPENDED);
					jst_job_set_state(p, started_job, JST_JOB_RUNNING);
					started_at = 0;
				}
			}
		}
		cr_assert_eq(jst_request_state_change(c, "tp:job", JST_REQ_SUSPEND,
						      cases[k].timeout_ms * 1000000, &code), 0,
			     "%s", jst_conn_error(c));
		cr_assert_eq(code, cases[k].want, "TimeoutPeriod %llu ms, done after %llu ms: %u",
			     (unsigned long long)cases[k].timeout_ms,
			     (unsigned long long)cases[k].finish_after_ms, code);
		if (cases[k].want == JST_RSC_COMPLETED)
			cr_assert_geq(mono_ms() - t0, cases[k].finish_after_ms - 50,
				      "answered before the job got there");
		usleep(1600 * 1000); /* the slow one finishes, and goes back to Running */
		kill(prod, SIGKILL);
		waitpid(prod, NULL, 0);
		close(fd);
	}
	jst_disconnect(c);
	jst_disconnect(p);
}
