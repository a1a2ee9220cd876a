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
