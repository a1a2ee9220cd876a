/* SPDX-License-Identifier: MIT */
/*
 * test_service.c - jobstatd as a system service: paths nobody else controls
 * (another user making /tmp/jobstat-UID first and planting a pidfile link,
 * a socket of its own, a FIFO), clients that talk only to a daemon of a
 * user they trust, readiness through $NOTIFY_SOCKET, and a socket passed by
 * systemd's socket activation used as it is.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "testdaemon.h"

#define VICTIM   65532 /* a user running its own jobstatd, without $XDG_RUNTIME_DIR */
#define ATTACKER 65533

static struct test_daemon d;
static char victim_dir[64];

static void setup(void)
{
	test_daemon_init(&d, "svc");
	snprintf(victim_dir, sizeof(victim_dir), "/tmp/jobstat-%d", VICTIM);
}

static void rm_victim_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", victim_dir);
	if (system(cmd) != 0)
		cr_log_warn("could not remove %s", victim_dir);
}

static void teardown(void)
{
	rm_victim_dir();
	test_daemon_cleanup(&d);
}

TestSuite(service, .init = setup, .fini = teardown, .timeout = 60);

static void become(uid_t uid)
{
	if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)
		_exit(90);
	unsetenv("XDG_RUNTIME_DIR");
	unsetenv("JOBSTAT_SOCKET");
}

/* Run jobstatd as @uid with d's namespace and no --runtime-dir; wait for it to exit. */
static int victim_daemon(char *err, size_t n)
{
	int fd, status = 0;
	pid_t pid = test_fork_piped(&fd);

	if (pid == 0) {
		become(VICTIM);
		dup2(fd, 2);
		execl(JST_BUILD_DIR "/jobstatd", "jobstatd", "-f", "-n", d.ns, "-c", "64", NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && waitpid(pid, &status, WNOHANG) == 0; i++)
		usleep(10000);
	if (kill(pid, 0) == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		cr_assert_fail("the victim's jobstatd started in a directory another user made");
	}
	err[0] = 0;
	d.err_fd = fd;
	test_daemon_stderr(&d, err, n);
	close(fd);
	d.err_fd = -1;
	return status;
}

/* A listening socket at @path, as the attacker's: it counts whom it accepts. */
static pid_t attacker_socket(const char *path, int *ret_fd)
{
	int fd;
	pid_t pid = test_fork_piped(&fd);

	if (pid == 0) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		int s = socket(AF_UNIX, SOCK_SEQPACKET, 0), c;
		char one = 1;

		become(ATTACKER);
		if (strlen(path) >= sizeof(sa.sun_path))
			_exit(6);
		memcpy(sa.sun_path, path, strlen(path) + 1);
		if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0777) < 0 ||
		    listen(s, 8) < 0)
			_exit(3);
		if (write(fd, &one, 1) != 1)
			_exit(4);
		while ((c = accept(s, NULL, NULL)) >= 0) {
			char buf[256];

			/* Anything it receives is a leak: report it. */
			if (recv(c, buf, sizeof(buf), 0) > 0 && write(fd, &one, 1) != 1)
				_exit(5);
			close(c);
		}
		_exit(0);
	}
	*ret_fd = fd;
	return pid;
}

/*
 * Another user makes /tmp/jobstat-VICTIM first, world-writable, and plants
 * the victim's pidfile as a link to one of the victim's files, or as a FIFO.
 * 0.1.0 truncated the linked file, or failed with "Invalid argument". Now
 * the directory is refused, naming its owner, and nothing in it is touched.
 */
Test(service, a_runtime_directory_made_by_another_user_is_refused)
{
	char path[256], victim_file[64], err[4096];
	struct stat sb;
	int status, fd;

	if (geteuid() != 0)
		cr_skip_test("needs root to play two other uids");
	rm_victim_dir();
	snprintf(victim_file, sizeof(victim_file), "/tmp/jst-victim-file-%ld", (long)getpid());
	fd = open(victim_file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "precious\n", 9), 9);
	close(fd);
	cr_assert_eq(chown(victim_file, VICTIM, VICTIM), 0);
	for (int k = 0; k < 2; k++) {
		pid_t pid = fork();

		if (pid == 0) {
			become(ATTACKER);
			if (mkdir(victim_dir, 0777) < 0 || chmod(victim_dir, 0777) < 0)
				_exit(3);
			snprintf(path, sizeof(path), "%s/%s.pid", victim_dir, d.ns);
			_exit(k == 0 ? (symlink(victim_file, path) < 0 ? 4 : 0)
				     : (mkfifo(path, 0666) < 0 ? 5 : 0));
		}
		cr_assert_eq(waitpid(pid, &status, 0), pid);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "plant %d: %#x", k, status);
		status = victim_daemon(err, sizeof(err));
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "%#x: %s", status, err);
		cr_assert_not_null(strstr(err, "belongs to uid 65533"), "stderr: %s", err);
		cr_assert_eq(stat(victim_file, &sb), 0);
		cr_assert_eq(sb.st_size, 9, "the victim's file was truncated through the link");
		rm_victim_dir();
	}
	unlink(victim_file);
}

/*
 * The attacker's socket where the victim's clients look (in the directory it
 * made first), or named by $JOBSTAT_SOCKET: 0.1.0 clients sent their jobs to
 * it. Now a client talks only to a daemon running as root, the service user
 * or itself: the socket never receives a byte, and the error names why.
 */
Test(service, clients_talk_only_to_a_daemon_they_trust)
{
	char path[256], msg[256];
	struct pollfd pf;
	int fd, status;
	char ready;
	pid_t att, pid;

	if (geteuid() != 0)
		cr_skip_test("needs root to play two other uids");
	rm_victim_dir();
	pid = fork();
	if (pid == 0) {
		become(ATTACKER);
		_exit(mkdir(victim_dir, 0777) < 0 || chmod(victim_dir, 0777) < 0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	snprintf(path, sizeof(path), "%s/%s.sock", victim_dir, d.ns);
	att = attacker_socket(path, &fd);
	cr_assert_eq(read(fd, &ready, 1), 1, "the attacker's socket did not start");
	pid = fork();
	if (pid == 0) {
		jst_conn *c;
		int rc;

		become(VICTIM);
		setenv("JOBSTAT_NAMESPACE", d.ns, 1);
		/* Its default path: the directory is another user's, so it is not even tried. */
		rc = jst_connect(&(struct jst_connect_options){.producer = true}, &c);
		if (rc != JST_EOWNER || !strstr(jst_last_error(), "belongs to uid 65533"))
			_exit(10);
		/* Named outright: the peer is checked, nothing is sent. */
		setenv("JOBSTAT_SOCKET", path, 1);
		rc = jst_connect(&(struct jst_connect_options){.producer = true}, &c);
		if (rc != JST_EPEER || !strstr(jst_last_error(), "uid 65533"))
			_exit(11);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "client exit %d (10: default path, 11: named socket)", WEXITSTATUS(status));
	pf = (struct pollfd){.fd = fd, .events = POLLIN};
	cr_assert_eq(poll(&pf, 1, 200), 0, "the attacker's socket received a message");
	kill(att, SIGKILL);
	waitpid(att, NULL, 0);
	close(fd);
	snprintf(msg, sizeof(msg), "%s", jst_strerror(JST_EPEER));
	cr_assert_not_null(strstr(msg, "does not trust"));
}

/* A listener on $NOTIFY_SOCKET receives READY=1 once jobstatd serves, STOPPING=1 at SIGTERM. */
Test(service, readiness_and_stopping_reach_notify_socket)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char buf[512], path[100];
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct timeval tv = {.tv_sec = 10};
	ssize_t n;

	snprintf(path, sizeof(path), "%s/notify", d.rundir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	cr_assert_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	chmod(path, 0777); /* the daemon serves as the service user when started as root */
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setenv("NOTIFY_SOCKET", path, 1);
	test_daemon_start(&d);
	unsetenv("NOTIFY_SOCKET");
	n = recv(s, buf, sizeof(buf) - 1, 0);
	cr_assert_gt(n, 0, "nothing on NOTIFY_SOCKET");
	buf[n] = 0;
	cr_assert_not_null(strstr(buf, "READY=1"), "%s", buf);
	cr_assert_not_null(strstr(buf, "STATUS=serving"), "%s", buf);
	jst_disconnect(test_connect(&d, false, 0, NULL, NULL)); /* it serves when it says so */
	kill(d.pid, SIGTERM);
	n = recv(s, buf, sizeof(buf) - 1, 0);
	cr_assert_gt(n, 0);
	buf[n] = 0;
	cr_assert_not_null(strstr(buf, "STOPPING=1"), "%s", buf);
	test_daemon_signal(&d, SIGTERM);
	close(s);
	unlink(path);
}

/*
 * Socket activation: systemd-socket-activate holds the socket and starts
 * jobstatd at the first connection, passing it. 0.1.0 ignored it and bound
 * its own, so that first client hung. Now the client is answered on the
 * passed socket, which jobstatd neither replaces nor removes.
 */
Test(service, a_socket_passed_by_systemd_is_used_as_it_is)
{
	struct stat before, after;
	const char *tool = "/usr/bin/systemd-socket-activate";
	jst_conn *c;
	int fd, rc;
	pid_t pid;

	if (access(tool, X_OK) != 0)
		cr_skip_test("no systemd-socket-activate (Debian package systemd)");
	pid = test_fork_piped(&fd);
	if (pid == 0) {
		dup2(fd, 2);
		execl(tool, tool, "--seqpacket", "-l", d.sock, JST_BUILD_DIR "/jobstatd", "-f", "-n",
		      d.ns, "-c", "64", "--runtime-dir", d.rundir, "--socket", d.sock, NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && stat(d.sock, &before) != 0; i++)
		usleep(10000);
	cr_assert_eq(stat(d.sock, &before), 0, "systemd-socket-activate did not listen");
	rc = jst_connect(&(struct jst_connect_options){.socket_path = d.sock}, &c);
	cr_assert_eq(rc, 0, "the first client was not answered: %s (%s)", jst_strerror(rc),
		     jst_last_error());
	jst_disconnect(c);
	cr_assert_eq(stat(d.sock, &after), 0);
	cr_assert(before.st_ino == after.st_ino, "jobstatd replaced the passed socket");
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	close(fd);
	cr_assert_eq(stat(d.sock, &after), 0, "jobstatd removed a socket that was not its own");
}
