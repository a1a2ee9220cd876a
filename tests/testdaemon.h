/* SPDX-License-Identifier: MIT */
/*
 * testdaemon.h - run the real jobstatd for a test: its own runtime
 * directory, namespace and socket, started and waited for, stopped and
 * cleaned up, and connections to it.
 */
#ifndef JOBSTAT_TESTDAEMON_H
#define JOBSTAT_TESTDAEMON_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "testutil.h"

#ifndef JST_BUILD_DIR
#error "the Makefile defines JST_BUILD_DIR, where jobstatd is"
#endif

struct test_daemon {
	char rundir[64];
	char ns[64];
	char sock[128];
	char shm[JST_SHM_NAME_MAX];
	char conf[128];          /* its config file, if test_daemon_start_config() wrote one */
	const char *args[16];    /* extra arguments, kept for restarts */
	pid_t pid;
	int err_fd;              /* the daemon's stderr */
};

/* Choose the names; nothing runs yet. */
static inline void test_daemon_init(struct test_daemon *d, const char *what)
{
	static unsigned counter;

	memset(d, 0, sizeof(*d));
	strcpy(d->rundir, "/tmp/jst-test-XXXXXX");
	cr_assert_not_null(mkdtemp(d->rundir));
	chmod(d->rundir, 0755); /* other uids' clients must reach the socket */
	snprintf(d->ns, sizeof(d->ns), "t-%s-%ld-%u", what, (long)getpid(), counter++);
	snprintf(d->sock, sizeof(d->sock), "%s/%s.sock", d->rundir, d->ns);
	jst_shm_name(d->ns, d->shm, sizeof(d->shm));
	d->pid = -1;
	d->err_fd = -1;
}

/* Start jobstatd -f with the extra arguments in d->args and wait for its socket. */
static inline void test_daemon_start(struct test_daemon *d)
{
	const char *argv[32] = {"jobstatd", "-f", "-n", d->ns, "-c", "4096", "--runtime-dir",
				d->rundir};
	unsigned n = 8;
	struct stat sb;
	int fd;

	for (unsigned i = 0; d->args[i]; i++)
		argv[n++] = d->args[i];
	argv[n] = NULL;
	unlink(d->sock);
	if (d->err_fd >= 0)
		close(d->err_fd);
	d->pid = test_fork_piped(&fd);
	if (d->pid == 0) {
		dup2(fd, 2);
		close(fd);
		execv(JST_BUILD_DIR "/jobstatd", (char *const *)argv);
		_exit(127);
	}
	d->err_fd = fd;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	for (int i = 0; i < 1000; i++) {
		int status;

		if (stat(d->sock, &sb) == 0)
			return;
		cr_assert_eq(waitpid(d->pid, &status, WNOHANG), 0, "jobstatd exited: %#x", status);
		usleep(5000);
	}
	cr_assert_fail("jobstatd did not open its socket");
}

/* Everything the daemon wrote to stderr so far, appended to @buf. */
/*
 * Write @text as the daemon's config file (d->conf) and start it with it and
 * -g 65534: other uids' clients, in that group, reach its socket.
 */
static inline void test_daemon_start_config(struct test_daemon *d, const char *text)
{
	FILE *f;

	snprintf(d->conf, sizeof(d->conf), "%s/jobstatd.conf", d->rundir);
	f = fopen(d->conf, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	d->args[0] = "-g";
	d->args[1] = "65534";
	d->args[2] = "--config";
	d->args[3] = d->conf;
	test_daemon_start(d);
}

static inline const char *test_daemon_stderr(struct test_daemon *d, char *buf, size_t n)
{
	size_t have = strlen(buf);
	ssize_t got;

	while (have + 1 < n && (got = read(d->err_fd, buf + have, n - 1 - have)) > 0)
		have += (size_t)got;
	buf[have] = 0;
	return buf;
}

/* Send @sig and reap; return the wait status. */
static inline int test_daemon_signal(struct test_daemon *d, int sig)
{
	int status = 0;

	if (d->pid <= 0)
		return 0;
	kill(d->pid, sig);
	waitpid(d->pid, &status, 0);
	d->pid = -1;
	return status;
}

static inline void test_daemon_cleanup(struct test_daemon *d)
{
	char path[256];

	test_daemon_signal(d, SIGKILL);
	shm_unlink(d->shm);
	snprintf(path, sizeof(path), "%s.lock", d->shm);
	shm_unlink(path);
	unlink(d->sock);
	snprintf(path, sizeof(path), "%s/%s.pid", d->rundir, d->ns);
	unlink(path);
	snprintf(path, sizeof(path), "%s/jobstatd.conf", d->rundir); /* tests write one here */
	unlink(path);
	rmdir(d->rundir);
	if (d->err_fd >= 0)
		close(d->err_fd);
}

static inline jst_conn *test_connect(struct test_daemon *d, bool producer, uint64_t session,
				     jst_request_fn fn, void *arg)
{
	struct jst_connect_options o = {
		.socket_path = d->sock, .producer = producer, .session = session,
		.on_request = fn, .arg = arg,
	};
	jst_conn *c = NULL;
	int rc = jst_connect(&o, &c);

	cr_assert_eq(rc, 0, "jst_connect: %s", jst_strerror(rc));
	return c;
}

static inline jst_reader *test_attach(struct test_daemon *d)
{
	jst_reader *r = NULL;
	int rc = jst_attach(d->ns, &r);

	cr_assert_eq(rc, 0, "jst_attach: %s", jst_strerror(rc));
	return r;
}

/* Read a job's status by handle, asserting it is there. */
static inline struct jst_status test_read(jst_reader *r, jst_handle h)
{
	struct jst_status st;
	int rc = jst_status(r, h, &st);

	cr_assert_eq(rc, 0, "jst_status: %s", jst_strerror(rc));
	return st;
}

#endif /* JOBSTAT_TESTDAEMON_H */
