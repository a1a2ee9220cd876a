/* SPDX-License-Identifier: MIT */
/*
 * test_daemon.c - proves jobstatd's process behaviour, running the real
 * binary: one daemon per namespace (a second is refused, naming the first),
 * a clean stop on SIGTERM, adoption after kill -9 seen by a monitor that
 * never reattaches, detaching, and SIGHUP not stopping it.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "testutil.h"

#ifndef JST_BUILD_DIR
#error "the Makefile defines JST_BUILD_DIR, where jobstatd is"
#endif

static char rundir[64];
static char ns[64];

static void setup(void)
{
	strcpy(rundir, "/tmp/jst-daemon-XXXXXX");
	cr_assert_not_null(mkdtemp(rundir));
	snprintf(ns, sizeof(ns), "test-daemon-%ld", (long)getpid());
}

static void teardown(void)
{
	char path[256];

	snprintf(path, sizeof(path), "/jobstat.%s", ns);
	shm_unlink(path);
	snprintf(path, sizeof(path), "/jobstat.%s.wait", ns);
	shm_unlink(path);
	snprintf(path, sizeof(path), "%s/%s.pid", rundir, ns);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s.sock", rundir, ns); /* left by a kill -9 */
	unlink(path);
	rmdir(rundir);
}

TestSuite(daemon, .init = setup, .fini = teardown, .timeout = 60);

/* Start jobstatd with @extra (NULL-terminated); its stderr goes to *@err_fd. */
static pid_t start(int *err_fd, const char *extra0, const char *extra1)
{
	int fd;
	pid_t pid = test_fork_piped(&fd);

	if (pid == 0) {
		dup2(fd, 2);
		close(fd);
		execl(JST_BUILD_DIR "/jobstatd", "jobstatd", "-n", ns, "-c", "64", "--runtime-dir",
		      rundir, extra0, extra1, (char *)NULL);
		_exit(127);
	}
	*err_fd = fd;
	return pid;
}

/* Read what the daemon wrote to stderr so far (non-blocking), into @buf. */
static const char *drain(int fd, char *buf, size_t n)
{
	size_t have = strlen(buf);
	ssize_t got;

	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (have + 1 < n && (got = read(fd, buf + have, n - 1 - have)) > 0)
		have += (size_t)got;
	buf[have] = 0;
	return buf;
}

/* Attach once the daemon is up, or fail after 5 s. */
static jst_reader *wait_attach(void)
{
	jst_reader *r = NULL;

	for (int i = 0; i < 500; i++) {
		if (jst_attach(ns, &r) == 0 && jst_daemon_alive(r))
			return r;
		jst_detach(r);
		r = NULL;
		usleep(10000);
	}
	cr_assert_fail("jobstatd did not come up");
	return NULL;
}

static int wait_exit(pid_t pid)
{
	int status;

	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

Test(daemon, one_daemon_per_namespace_and_a_clean_stop)
{
	char err[4096] = "", want[64];
	struct jst_info in;
	jst_reader *r;
	int efd_a, efd_b, status;
	pid_t a = start(&efd_a, "-f", NULL), b;

	r = wait_attach();
	b = start(&efd_b, "-f", NULL);
	status = wait_exit(b);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "second daemon: %#x", status);
	snprintf(want, sizeof(want), "already served by pid %ld", (long)a);
	cr_assert_not_null(strstr(drain(efd_b, err, sizeof(err)), want), "stderr: %s", err);
	cr_assert(jst_daemon_alive(r), "the first daemon is untouched");

	kill(a, SIGTERM);
	status = wait_exit(a);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "SIGTERM: %#x", status);
	cr_assert_eq(jst_info(r, &in), 0);
	cr_assert_eq(in.state, 2, "closed cleanly");
	cr_assert_not(jst_daemon_alive(r));
	snprintf(err, sizeof(err), "%s/%s.pid", rundir, ns);
	cr_assert_neq(access(err, F_OK), 0, "pidfile removed");
	jst_detach(r);
	close(efd_a);
	close(efd_b);
}

Test(daemon, restart_after_kill9_adopts_and_monitors_read_on)
{
	char err[4096] = "";
	jst_reader *r;
	int efd, status;
	pid_t a = start(&efd, "-f", NULL), b;

	r = wait_attach();
	cr_assert_eq(jst_generation(r), 1);
	kill(a, SIGKILL);
	status = wait_exit(a);
	cr_assert(WIFSIGNALED(status));
	close(efd);
	/* The stale pidfile does not stop the next daemon; the segment is adopted. */
	b = start(&efd, "-f", NULL);
	for (int i = 0; i < 500 && jst_generation(r) != 2; i++)
		usleep(10000);
	cr_assert_eq(jst_generation(r), 2, "the old mapping sees the new generation");
	for (int i = 0; i < 500 && !jst_daemon_alive(r); i++)
		usleep(10000);
	cr_assert(jst_daemon_alive(r));
	usleep(100000);
	cr_assert_not_null(strstr(drain(efd, err, sizeof(err)), "adopted"), "stderr: %s", err);
	kill(b, SIGTERM);
	status = wait_exit(b);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	jst_detach(r);
	close(efd);
}

Test(daemon, detaches_and_writes_its_pid)
{
	char path[256], buf[32] = "";
	jst_reader *r;
	long pid = 0;
	int efd, status, fd;
	pid_t launcher = start(&efd, "--syslog", NULL);

	status = wait_exit(launcher);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "launcher: %#x", status);
	r = wait_attach();
	snprintf(path, sizeof(path), "%s/%s.pid", rundir, ns);
	for (int i = 0; i < 200 && pid <= 0; i++) {
		fd = open(path, O_RDONLY);
		if (fd >= 0) {
			if (read(fd, buf, sizeof(buf) - 1) > 0)
				pid = strtol(buf, NULL, 10);
			close(fd);
		}
		if (pid <= 0)
			usleep(10000);
	}
	cr_assert_gt(pid, 0);
	cr_assert_neq(pid, (long)launcher, "the pidfile names the detached daemon");
	{
		struct jst_info in;

		cr_assert_eq(jst_info(r, &in), 0);
		cr_assert_eq((long)in.daemon_pid, pid, "the segment names it too");
	}
	cr_assert_eq(kill((pid_t)pid, SIGTERM), 0);
	for (int i = 0; i < 500 && access(path, F_OK) == 0; i++)
		usleep(10000);
	cr_assert_neq(access(path, F_OK), 0, "the detached daemon stopped and removed its pidfile");
	jst_detach(r);
	close(efd);
}

Test(daemon, sighup_does_not_stop_it)
{
	char err[4096] = "";
	jst_reader *r;
	int efd, status;
	pid_t a = start(&efd, "-f", NULL);

	r = wait_attach();
	kill(a, SIGHUP);
	usleep(300000);
	cr_assert_eq(waitpid(a, &status, WNOHANG), 0, "SIGHUP stopped the daemon");
	cr_assert(jst_daemon_alive(r));
	cr_assert_not_null(strstr(drain(efd, err, sizeof(err)), "SIGHUP"), "stderr: %s", err);
	kill(a, SIGTERM);
	wait_exit(a);
	jst_detach(r);
	close(efd);
}

Test(daemon, bad_arguments_are_named)
{
	char err[4096] = "";
	int efd, status;
	pid_t a = start(&efd, "--mode", "0666");

	status = wait_exit(a);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 2);
	cr_assert_not_null(strstr(drain(efd, err, sizeof(err)), "neither group nor others may write"),
			   "stderr: %s", err);
	close(efd);
	/* Group-writable is refused too: every group member could rewrite the jobs. */
	for (unsigned i = 0; i < 2; i++) {
		err[0] = 0;
		a = start(&efd, "--mode", i ? "0620" : "0660");
		status = wait_exit(a);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 2, "mode %s accepted",
			  i ? "0620" : "0660");
		cr_assert_not_null(strstr(drain(efd, err, sizeof(err)), "neither group nor others"),
				   "stderr: %s", err);
		close(efd);
	}
	err[0] = 0;
	a = start(&efd, "--group", "no-such-group-jst");
	status = wait_exit(a);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 2);
	cr_assert_not_null(strstr(drain(efd, err, sizeof(err)), "no such group"), "stderr: %s", err);
	close(efd);
}
