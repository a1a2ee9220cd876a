/* SPDX-License-Identifier: MIT */
/*
 * jobstatd.c - the jobstat daemon's process: its settings (config.c), the
 * namespace's lock (a pidfile), the segment (adopting the one a
 * previous daemon left, jobs and all), then the control plane (server.c)
 * until SIGTERM or SIGINT; SIGHUP reloads what can change while running.
 */
#include <bsd/libutil.h>
#include <bsd/string.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "jobstat.h"
#include "jobstat-proto.h"
#include "publish.h"
#include "server.h"
#include "shm-check.h"

#define HEARTBEAT_INTERVAL_NS (250 * 1000 * 1000) /* 4 Hz; readers allow 2 s */

static volatile sig_atomic_t stop_signal, hup_signal;

/* The namespace's pidfile, watched while serving (watch_runtime()). */
static struct pidfh *pfh;
static char pidpath[PATH_MAX + 96];
static char rundir_path[PATH_MAX];
static struct stat pid_stat;
static bool pid_lost;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		hup_signal = 1;
	else
		stop_signal = sig;
}

static int g_argc;
static char **g_argv;

/* SIGHUP: read the settings again; apply those that can change while running. */
static int reload(struct jst_server_reload *r)
{
	struct jstd_settings *st = calloc(1, sizeof(*st));
	char err[512];
	int rc;

	if (!st)
		return -1;
	rc = jstd_settings_parse(g_argc, g_argv, st, err, sizeof(err));
	if (rc != 0) {
		jst_log(LOG_ERR, "SIGHUP: settings not reloaded: %s", rc < 0 ? err : "?");
		free(st);
		return -1;
	}
	r->admin_group_set = st->srv.admin_group_set;
	r->admin_gid = st->srv.admin_gid;
	r->lost_grace_ns = st->srv.lost_grace_ns;
	jst_log(LOG_INFO, "SIGHUP: reloaded admin-group (%s) and lost-grace; other settings "
		"take effect at the next start", st->srv.admin_group_set ? "set" : "none");
	free(st);
	return 0;
}

/*
 * Started as root, the daemon needs no privilege once its pidfile, segment and
 * socket exist: everything after is work on files it owns and descriptors it
 * holds. Drop every capability (effective, permitted, inheritable and the
 * bounding set) and forbid regaining any through exec. It stays uid 0, so it
 * can still remove its own pidfile and socket in /run/jobstat at exit.
 */
static int drop_privileges(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {{0}};

	if (geteuid() != 0)
		return 0;
	for (int cap = 0; cap <= 63; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return (int)syscall(SYS_capset, &hdr, data);
}

/* Connections are file descriptors: allow as many as the hard limit does. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/*
 * Every second while serving: is our pidfile still there? If the runtime
 * directory was removed under us, make it and the pidfile again (the server
 * then does the same for its socket). A second daemon cannot have taken
 * over meanwhile: the segment's lock is ours whatever happens here.
 */
static void watch_runtime(void)
{
	struct stat sb;
	struct pidfh *n;
	pid_t other;

	if (stat(pidpath, &sb) == 0 && sb.st_dev == pid_stat.st_dev && sb.st_ino == pid_stat.st_ino)
		return;
	if (mkdir(rundir_path, geteuid() == 0 ? 0755 : 0700) < 0 && errno != EEXIST)
		goto fail;
	n = pidfile_open(pidpath, 0644, &other);
	if (!n)
		goto fail;
	if (pidfile_write(n) < 0 || stat(pidpath, &pid_stat) < 0) {
		pidfile_remove(n);
		goto fail;
	}
	pidfile_close(pfh); /* the old one's lock, on a file nobody can find */
	pfh = n;
	jst_log(LOG_WARNING, "pidfile %s disappeared; made it again", pidpath);
	pid_lost = false;
	return;
fail:
	if (!pid_lost)
		jst_log(LOG_ERR, "pidfile %s disappeared and cannot be made again: %s; retrying",
			pidpath, strerror(errno));
	pid_lost = true;
}

int main(int argc, char **argv)
{
	static struct jstd_settings set;
	char err[512], why[512];
	struct sigaction sa = {.sa_handler = on_signal};
	sigset_t block, orig;
	bool adopted;
	struct jst_pub *pub;
	struct jst_server *srv;
	pid_t other;
	int rc;

	g_argc = argc;
	g_argv = argv;
	rc = jstd_settings_parse(argc, argv, &set, err, sizeof(err));
	if (rc > 0)
		return 0;
	if (rc < 0) {
		fprintf(stderr, "jobstatd: %s\njobstatd: try jobstatd --help\n", err);
		return 2;
	}
	/*
	 * Blocked from here on except inside the server's epoll_pwait(): a signal
	 * during start-up waits for the loop, and none slips past a check.
	 */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &orig);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (!set.shm_name[0]) {
		rc = jst_shm_name(set.ns, set.shm_name, sizeof(set.shm_name));
		if (rc < 0) {
			fprintf(stderr, "jobstatd: namespace \"%s\": %s\n", set.ns, jst_strerror(rc));
			return 2;
		}
	}
	if (!set.rundir[0] && jst_runtime_dir(geteuid(), set.rundir, sizeof(set.rundir)) < 0) {
		fprintf(stderr, "jobstatd: runtime directory path too long\n");
		return 2;
	}
	if (!set.socket[0] &&
	    jst_socket_path(set.rundir, set.ns, set.socket, sizeof(set.socket)) < 0) {
		fprintf(stderr, "jobstatd: socket path too long or bad namespace \"%s\"\n", set.ns);
		return 2;
	}
	strlcpy(rundir_path, set.rundir, sizeof(rundir_path));
	if (mkdir(set.rundir, geteuid() == 0 ? 0755 : 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "jobstatd: cannot create runtime directory %s: %s\n", set.rundir,
			strerror(errno));
		return 1;
	}
	if ((size_t)snprintf(pidpath, sizeof(pidpath), "%s/%s.pid", set.rundir, set.ns) >=
	    sizeof(pidpath)) {
		fprintf(stderr, "jobstatd: pidfile path too long\n");
		return 2;
	}
	/* The namespace's lock, taken before the segment is touched: one daemon per namespace. */
	pfh = pidfile_open(pidpath, 0644, &other);
	if (!pfh) {
		if (errno == EEXIST)
			fprintf(stderr, "jobstatd: namespace \"%s\" is already served by pid %ld "
					"(pidfile %s)\n", set.ns, (long)other, pidpath);
		else
			fprintf(stderr, "jobstatd: cannot open pidfile %s: %s\n", pidpath,
				strerror(errno));
		return 1;
	}
	set.pub.shm_name = set.shm_name;
	set.pub.why = why;
	set.pub.why_len = sizeof(why);
	rc = jst_pub_adopt(&set.pub, &pub);
	adopted = rc == 0;
	if (rc == JST_EBUSY) {
		/* A live writer holds the segment's lock, whatever became of its pidfile. */
		fprintf(stderr, "jobstatd: namespace \"%s\" is already served: %s\n", set.ns, why);
		pidfile_remove(pfh);
		return 1;
	}
	if (rc == JST_ENOENT || (rc < 0 && set.replace)) {
		if (rc != JST_ENOENT)
			fprintf(stderr, "jobstatd: replacing %s: %s\n", set.shm_name, why);
		rc = jst_pub_create(&set.pub, &pub);
	} else if (rc < 0) {
		fprintf(stderr,
			"jobstatd: cannot adopt %s: %s.\n"
			"jobstatd: %s\n"
			"jobstatd: it is left untouched. Restart with --replace to discard it and any\n"
			"jobstatd: jobs in it.\n",
			set.shm_name, jst_strerror(rc), why[0] ? why : jst_strerror(rc));
		pidfile_remove(pfh);
		return 1;
	}
	if (rc < 0) {
		fprintf(stderr, "jobstatd: cannot create %s: %s\n", set.shm_name,
			why[0] ? why : jst_strerror(rc));
		pidfile_remove(pfh);
		return 1;
	}
	raise_fd_limit();
	set.srv.socket_path = set.socket;
	set.srv.watch = watch_runtime;
	rc = jst_server_create(pub, &set.srv, &srv);
	if (rc < 0) {
		fprintf(stderr, "jobstatd: cannot serve %s: %s%s%s\n", set.socket, jst_strerror(rc),
			rc == JST_ESYS ? ": " : "", rc == JST_ESYS ? strerror(errno) : "");
		jst_pub_close(pub, false);
		pidfile_remove(pfh);
		return 1;
	}
	/* Detach after everything that can fail on the command line's account has been said. */
	if (!set.foreground && daemon(0, 0) < 0) {
		fprintf(stderr, "jobstatd: cannot detach: %s\n", strerror(errno));
		jst_server_destroy(srv);
		jst_pub_close(pub, false);
		pidfile_remove(pfh);
		return 1;
	}
	if (!set.foreground)
		jst_pub_reown(pub); /* the segment must name the process that serves it */
	jst_log_init(set.want_syslog || !set.foreground);
	pidfile_write(pfh); /* after daemon(): the pid of the process that serves */
	stat(pidpath, &pid_stat);
	if (drop_privileges() < 0) {
		jst_log(LOG_ERR, "cannot drop privileges: %s", strerror(errno));
		jst_server_destroy(srv);
		jst_pub_close(pub, false);
		pidfile_remove(pfh);
		return 1;
	}
	if (adopted) {
		struct jst_pub_stats ps;

		jst_pub_stats(pub, &ps);
		jst_log(LOG_INFO, "adopted %s with %u jobs; serving %s (pid %ld)", set.shm_name,
			ps.in_use[JST_POOL_STATUS], set.socket, (long)getpid());
	} else {
		jst_log(LOG_INFO, "created %s; serving %s (pid %ld)", set.shm_name, set.socket,
			(long)getpid());
	}
	rc = jst_server_run(srv, &stop_signal, &hup_signal, reload, &orig, HEARTBEAT_INTERVAL_NS);
	if (rc < 0)
		jst_log(LOG_ERR, "event loop failed: %s", strerror(errno));
	else
		jst_log(LOG_INFO, "signal %d, closing %s", (int)stop_signal, set.shm_name);
	jst_server_destroy(srv);
	jst_pub_close(pub, false);
	pidfile_remove(pfh);
	return rc < 0 ? 1 : 0;
}
