/* SPDX-License-Identifier: MIT */
/*
 * jobstatd.c - the jobstat daemon's process: its settings (config.c), the
 * namespace's lock (a pidfile), the segment (adopting the one a
 * previous daemon left, jobs and all), then the control plane (server.c)
 * until SIGTERM or SIGINT; SIGHUP reloads what can change while running.
 */
#define _GNU_SOURCE
#include <bsd/string.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
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
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "config.h"
#include "jobstat.h"
#include "jobstat-proto.h"
#include "pidfile.h"
#include "publish.h"
#include "server.h"
#include "shm-check.h"

#define HEARTBEAT_INTERVAL_NS (250 * 1000 * 1000) /* 4 Hz; readers allow 2 s */

static volatile sig_atomic_t stop_signal, hup_signal;

/* The namespace's pidfile and runtime directory, watched while serving (watch_runtime()). */
static struct jst_pidfile pidf = {.fd = -1};
static char pidpath[PATH_MAX + 96];
static char rundir_path[PATH_MAX];
static bool pid_lost;
static bool made_rundir;       /* this process made the runtime directory at start */
static int rundir_fd = -1;     /* root: the runtime directory, held while root works in it */
static uid_t svc_uid;          /* root: the service user who keeps it (svc_set) */
static gid_t svc_gid;
static bool svc_set;
static uint64_t watchdog_usec; /* systemd's WatchdogSec, 0 when none */

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
	r->quota = st->srv.quota;
	r->orphan_timeout_ns = st->srv.orphan_timeout_ns;
	r->orgs = st->srv.orgs;
	jst_log(LOG_INFO, "SIGHUP: reloaded admin-group (%s), lost-grace, the quotas, "
		"orphan-timeout and reserve-org (%u); other settings take effect at the next start",
		st->srv.admin_group_set ? "set" : "none", st->srv.orgs.n);
	free(st);
	return 0;
}

/*
 * Started as root, the daemon needs root only to make its runtime directory,
 * segment and socket. Then it becomes the service user @pw for good: no
 * supplementary groups, every id set (so it can never switch back), every
 * capability gone from every set including the bounding set, and
 * no_new_privs so no exec can regain any. A memory bug in it is then the
 * service user's, not root's.
 */
static int drop_privileges(const struct passwd *pw)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {{0}};

	if (geteuid() != 0)
		return 0;
	for (int cap = 0; cap <= 63; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return -1;
	if (pw && pw->pw_uid != 0) {
		if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0 || setgroups(0, NULL) < 0 ||
		    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
			return -1;
		if (setuid(0) == 0) { /* must be impossible now */
			errno = EPERM;
			return -1;
		}
	}
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
 * over meanwhile: the segment's lock is ours whatever happens here. Also
 * tells systemd's watchdog that the loop turns.
 */
static int watch_runtime(void)
{
	struct jst_pidfile n = {.fd = -1};
	char why[PATH_MAX + 256];

	if (watchdog_usec)
		sd_notify(0, "WATCHDOG=1");
	if (jst_pidfile_present(&pidf))
		return 0;
	if (mkdir(rundir_path, geteuid() == 0 ? 0755 : 0700) < 0 && errno != EEXIST) {
		snprintf(why, sizeof(why), "cannot make %s: %s", rundir_path, strerror(errno));
		goto fail;
	}
	if (jst_rundir_check(rundir_path, geteuid(), geteuid(), why, sizeof(why)) < 0 ||
	    jst_pidfile_open(pidpath, geteuid(), &n, why, sizeof(why)) != 0)
		goto fail;
	if (jst_pidfile_write(&n) < 0) {
		snprintf(why, sizeof(why), "cannot write %s: %s", pidpath, strerror(errno));
		jst_pidfile_close(&n, true);
		goto fail;
	}
	jst_pidfile_close(&pidf, false); /* the old one's lock, on a file nobody can find */
	pidf = n;
	jst_log(LOG_WARNING, "pidfile %s disappeared; made it again", pidpath);
	pid_lost = false;
	return 0;
fail:
	if (!pid_lost)
		jst_log(LOG_ERR, "pidfile %s disappeared and cannot be made again (%s)", pidpath,
			why);
	pid_lost = true;
	return -1;
}

/*
 * The runtime directory: made if missing (0755 for the system daemon, whose
 * socket other users reach; 0700 for a user's own), then trusted only if it
 * is a directory owned by us (or, as root, by the service user we become, who
 * keeps it) that nobody else may write in: /tmp/jobstat-UID may have been
 * made first by another user, with a link, a socket or a FIFO planted in it.
 */
static int setup_rundir(const char *dir, const struct passwd *pw)
{
	char why[512], parent[PATH_MAX];
	struct stat sb, pb;
	char *slash;

	if (mkdir(dir, geteuid() == 0 ? 0755 : 0700) == 0)
		made_rundir = true;
	else if (errno != EEXIST) {
		fprintf(stderr, "jobstatd: cannot create runtime directory %s: %s\n", dir,
			strerror(errno));
		return -1;
	}
	if (jst_rundir_check(dir, geteuid(), pw ? pw->pw_uid : geteuid(), why, sizeof(why)) < 0) {
		fprintf(stderr, "jobstatd: refusing runtime directory: %s\n", why);
		return -1;
	}
	if (geteuid() != 0)
		return 0;
	/*
	 * Root: nobody but root may rename the directory away and put a link in
	 * its place while root works in it by path. Its parent must be root's and
	 * either written by root alone or sticky (as /run and /tmp are)...
	 */
	strlcpy(parent, dir, sizeof(parent));
	slash = strrchr(parent, '/');
	if (slash == parent)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	if (!slash || stat(parent, &pb) < 0 || pb.st_uid != 0 ||
	    ((pb.st_mode & 022) && !(pb.st_mode & S_ISVTX))) {
		fprintf(stderr, "jobstatd: refusing runtime directory %s: its parent %s may be "
				"changed by others than root\n", dir, parent);
		return -1;
	}
	/*
	 * ... and the service user, who kept the directory since the last start,
	 * gives it back until the end of start-up (by descriptor, not by path): it
	 * can then neither swap it nor add anything to it while root works there.
	 */
	rundir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rundir_fd < 0 || fstat(rundir_fd, &sb) < 0 || (sb.st_mode & 022) ||
	    (sb.st_uid != 0 && (!pw || sb.st_uid != pw->pw_uid)) || fchown(rundir_fd, 0, 0) < 0) {
		fprintf(stderr, "jobstatd: cannot take runtime directory %s back: %s\n", dir,
			strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * A socket passed by systemd (socket activation): used as it is, never
 * replaced. Return its descriptor, -1 when none was passed, -2 when what
 * was passed is not a listening SOCK_SEQPACKET Unix socket.
 */
static int activated_socket(void)
{
	int n = sd_listen_fds(1);

	if (n <= 0)
		return -1;
	if (n != 1 || sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_SEQPACKET, 1, NULL, 0) <= 0)
		return -2;
	return SD_LISTEN_FDS_START;
}

/*
 * The control socket bound as root before the segment is read (the group
 * comes from root's fsgid), handed to the server once there is one.
 */
static struct jst_listener bound = {.fd = -1};

/*
 * What this start made in its runtime directory must not outlive a start that
 * fails: the directory (made_rundir), the pidfile when it was not there
 * before (pidf.created), and the socket root bound, known by its inode under
 * its temporary name or renamed into place (NULL names: none, or outside the
 * directory). Once jobstatd is the service user it cannot remove the
 * directory from root's parent, and if it is killed it removes nothing.
 */
static struct {
	const char *tmp, *name;
	dev_t dev;
	ino_t ino;
} made_sock;

/* @path's name in the runtime directory, or NULL when it lies elsewhere. */
static const char *in_rundir(const char *path)
{
	size_t n = strlen(rundir_path);

	if (strncmp(path, rundir_path, n) != 0 || path[n] != '/' || strchr(path + n + 1, '/'))
		return NULL;
	return path + n + 1;
}

/* Root has bound @l: note the socket file it made (the directory is root's until the drop). */
static void note_made_socket(const struct jst_listener *l)
{
	const char *tmp = in_rundir(l->tmp), *name = in_rundir(l->path);
	struct stat sb;

	if (tmp && name && fstatat(rundir_fd, tmp, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISSOCK(sb.st_mode)) {
		made_sock.tmp = tmp;
		made_sock.name = name;
		made_sock.dev = sb.st_dev;
		made_sock.ino = sb.st_ino;
	}
}

/*
 * Remove @name from the runtime directory @dirfd if it is still the file
 * (@dev, @ino) this start made: not a file another start put there since.
 * By descriptor, so no link swapped in for the directory leads elsewhere;
 * unlinkat() does not follow a link at @name either.
 */
static void janitor_unlink(int dirfd, const char *name, dev_t dev, ino_t ino)
{
	struct stat sb;

	if (name && fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && sb.st_dev == dev &&
	    sb.st_ino == ino)
		unlinkat(dirfd, name, 0);
}

/*
 * The janitor: before the drop, a root child is left holding the read end of
 * a pipe and the runtime directory's descriptor, nothing else. If jobstatd exits,
 * by an error or killed, before it says it serves (janitor_release()), the
 * child sees end of file and removes what this start made, then the
 * directory if this start made it and it is empty: rmdir by the path
 * setup_rundir() checked, whose parent is root's. Under a sticky parent
 * (/tmp) the service user, the directory's owner by then, could have renamed
 * it away and put something else at the path; rmdir follows no link and
 * removes only an empty directory, so the worst is an empty directory gone.
 * It holds no lock, socket or segment of the daemon's, so none outlives the
 * daemon.
 */
static int janitor_fd = -1;
static pid_t janitor_pid = -1;

static void janitor_start(void)
{
	int fds[2];
	pid_t pid;

	if (geteuid() != 0 || rundir_fd < 0 || (!made_rundir && !pidf.created && !made_sock.name) ||
	    pipe2(fds, O_CLOEXEC) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		/* Only the pipe (3) and the directory (4): no lock, segment, socket or stdio. */
		int p = fcntl(fds[0], F_DUPFD, 5), d = fcntl(rundir_fd, F_DUPFD, 5);
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		ssize_t n;
		char b;

		if (p < 0 || d < 0 || null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
		    dup2(null, 2) < 0 || dup2(p, 3) < 0 || dup2(d, 4) < 0)
			_exit(1);
		closefrom(5);
		do
			n = read(3, &b, 1);
		while (n < 0 && errno == EINTR);
		if (n != 0) /* it serves */
			_exit(0);
		janitor_unlink(4, made_sock.tmp, made_sock.dev, made_sock.ino);
		janitor_unlink(4, made_sock.name, made_sock.dev, made_sock.ino);
		if (pidf.created)
			janitor_unlink(4, in_rundir(pidpath), pidf.dev, pidf.ino);
		if (made_rundir)
			rmdir(rundir_path);
		_exit(0);
	}
	close(fds[0]);
	if (pid < 0) {
		close(fds[1]);
		return;
	}
	janitor_fd = fds[1];
	janitor_pid = pid;
}

/* jobstatd serves: its runtime directory is the service user's to keep. */
static void janitor_release(void)
{
	if (janitor_fd < 0)
		return;
	if (write(janitor_fd, "S", 1) != 1)
		jst_log(LOG_WARNING, "cannot tell the start-up janitor that jobstatd serves: %s",
			strerror(errno));
	close(janitor_fd);
	janitor_fd = -1;
	/* It exits at once. Not our child any more if daemon() forked since: ECHILD. */
	waitpid(janitor_pid, NULL, 0);
}

/*
 * Become the service user @pw for good, once: the runtime directory and the
 * pidfile go back to it first (by descriptor). Called before the first byte
 * of an adopted segment is read (jst_pub_config.before_parse), so a segment
 * the service user could have written is parsed as the service user, not as
 * root; else once the new segment and the socket exist.
 */
static int become_service_user(void *arg)
{
	const struct passwd *pw = arg;
	static bool done;

	if (done)
		return 0;
	janitor_start();
	if (pw && (fchown(rundir_fd, pw->pw_uid, pw->pw_gid) < 0 ||
		   fchown(pidf.fd, pw->pw_uid, pw->pw_gid) < 0))
		return -1;
	if (drop_privileges(pw) < 0)
		return -1;
	done = true;
	return 0;
}

static int drop_only(void *arg)
{
	return drop_privileges(arg);
}

/*
 * --replace, as root, with a segment at the name: whether it can be adopted is
 * decided by a child that has become the service user before reading it
 * (check_only), so root reads none of it either way; root then makes a new
 * segment in its place only if the child said no. Returns the child's
 * jst_pub_adopt() result (0: adoptable) with its reason in @why.
 */
static int adopt_check_as(const struct jst_pub_config *cfg, const struct passwd *pw, char *why,
			  size_t wn)
{
	int fds[2], status;
	ssize_t got;
	pid_t pid;
	int8_t rc;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return JST_ESYS;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return JST_ESYS;
	}
	if (pid == 0) {
		struct jst_pub_config c = *cfg;
		struct jst_pub *none = NULL;

		close(fds[0]);
		c.before_parse = drop_only;
		c.arg = (void *)pw;
		c.check_only = true;
		c.why[0] = 0;
		rc = (int8_t)jst_pub_adopt(&c, &none);
		if (write(fds[1], c.why, strlen(c.why)) < 0)
			_exit(1);
		_exit((uint8_t)rc);
	}
	close(fds[1]);
	got = read(fds[0], why, wn - 1);
	why[got > 0 ? got : 0] = 0;
	close(fds[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return JST_ESYS;
	return (int8_t)(uint8_t)WEXITSTATUS(status);
}

/* Stop before serving: say why, release what was taken, and exit 1. */
static int fail_start(struct jst_server *srv, struct jst_pub *pub)
{
	sd_notify(0, "STOPPING=1");
	jst_server_destroy(srv);
	if (!srv && bound.fd >= 0) { /* bound, never handed over: ours to remove */
		close(bound.fd);
		unlink(bound.tmp);
	}
	jst_pub_close(pub, false);
	jst_pidfile_close(&pidf, pidf.created); /* one that was there stays, as it was */
	if (made_rundir)
		rmdir(rundir_path); /* a daemon that does not start leaves nothing behind */
	else if (rundir_fd >= 0 && svc_set && fchown(rundir_fd, svc_uid, svc_gid) < 0)
		fprintf(stderr, "jobstatd: cannot give %s back to the service user\n", rundir_path);
	return 1;
}

int main(int argc, char **argv)
{
	static struct jstd_settings set;
	char err[512], why[512];
	struct sigaction sa = {.sa_handler = on_signal};
	struct passwd *pw = NULL;
	sigset_t block, orig;
	bool adopted;
	struct jst_pub *pub = NULL;
	struct jst_server *srv = NULL;
	int rc, lfd;

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
	if (geteuid() == 0 && strcmp(set.user, "root") != 0) {
		pw = getpwnam(set.user);
		if (pw) {
			svc_uid = pw->pw_uid;
			svc_gid = pw->pw_gid;
			svc_set = true;
		}
		if (!pw) {
			fprintf(stderr, "jobstatd: no user \"%s\" to serve as: create it (make install "
					"adds it through sysusers.d) or name another with --user\n",
				set.user);
			return 1;
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
	lfd = activated_socket();
	if (lfd == -2) {
		fprintf(stderr, "jobstatd: systemd passed something other than one listening "
				"SOCK_SEQPACKET Unix socket (ListenSequentialPacket=)\n");
		return 1;
	}
	strlcpy(rundir_path, set.rundir, sizeof(rundir_path));
	if (setup_rundir(set.rundir, pw) < 0)
		return 1;
	if ((size_t)snprintf(pidpath, sizeof(pidpath), "%s/%s.pid", set.rundir, set.ns) >=
	    sizeof(pidpath)) {
		fprintf(stderr, "jobstatd: pidfile path too long\n");
		return 2;
	}
	/* The namespace's lock, taken before the segment is touched: one daemon per namespace. */
	rc = jst_pidfile_open(pidpath, pw ? pw->pw_uid : geteuid(), &pidf, why, sizeof(why));
	if (rc != 0) {
		fprintf(stderr, "jobstatd: namespace \"%s\": %s\n", set.ns, why);
		return fail_start(NULL, NULL);
	}
	set.pub.shm_name = set.shm_name;
	set.pub.why = why;
	set.pub.why_len = sizeof(why);
	set.srv.socket_path = set.socket;
	set.srv.listen_fd = lfd;
	if (geteuid() == 0 && lfd < 0) {
		/* Bound now, as root: a segment to adopt is read only once root is gone. */
		rc = jst_server_listen(&set.srv, &bound);
		if (rc < 0) {
			fprintf(stderr, "jobstatd: cannot serve %s: %s%s%s\n", set.socket,
				jst_strerror(rc), rc == JST_ESYS ? ": " : "",
				rc == JST_ESYS ? strerror(errno) : "");
			return fail_start(NULL, NULL);
		}
		set.srv.bound = &bound;
		note_made_socket(&bound);
	}
	rc = 0;
	if (geteuid() == 0 && set.replace) {
		rc = adopt_check_as(&set.pub, pw, why, sizeof(why));
		if (rc != 0 && rc != JST_ENOENT && rc != JST_EBUSY) {
			fprintf(stderr, "jobstatd: replacing %s: %s\n", set.shm_name,
				why[0] ? why : jst_strerror(rc));
			rc = jst_pub_create(&set.pub, &pub);
			if (rc < 0) {
				fprintf(stderr, "jobstatd: cannot create %s: %s\n", set.shm_name,
					why[0] ? why : jst_strerror(rc));
				return fail_start(NULL, NULL);
			}
		}
	}
	adopted = false;
	if (!pub) {
		set.pub.before_parse = become_service_user;
		set.pub.arg = pw;
		rc = jst_pub_adopt(&set.pub, &pub);
		adopted = rc == 0;
	}
	if (rc == JST_EBUSY) {
		/* A live writer holds the segment's lock, whatever became of its pidfile. */
		fprintf(stderr, "jobstatd: namespace \"%s\" is already served: %s\n", set.ns, why);
		return fail_start(NULL, NULL);
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
		return fail_start(NULL, NULL);
	}
	if (rc < 0) {
		fprintf(stderr, "jobstatd: cannot create %s: %s\n", set.shm_name,
			why[0] ? why : jst_strerror(rc));
		return fail_start(NULL, NULL);
	}
	raise_fd_limit();
	set.srv.watch = watch_runtime;
	{
		/* For the exactly-once tests: a kill -9 between applying and answering. */
		const char *crash = getenv("JOBSTATD_TEST_CRASH_AFTER");

		set.srv.crash_after = !crash ? 0 : !strcmp(crash, "error") ? JST_MSG_ERROR
					  : !strcmp(crash, "request") ? JST_MSG_REQUEST : 0;
	}
	rc = jst_server_create(pub, &set.srv, &srv);
	if (rc < 0) {
		fprintf(stderr, "jobstatd: cannot serve %s: %s%s%s\n", set.socket, jst_strerror(rc),
			rc == JST_ESYS ? ": " : "", rc == JST_ESYS ? strerror(errno) : "");
		return fail_start(NULL, pub);
	}
	/* Detach after everything that can fail on the command line's account has been said. */
	if (!set.foreground && daemon(0, 0) < 0) {
		fprintf(stderr, "jobstatd: cannot detach: %s\n", strerror(errno));
		return fail_start(srv, pub);
	}
	if (!set.foreground)
		jst_pub_reown(pub); /* the segment must name the process that serves it */
	jst_log_init(set.want_syslog || !set.foreground);
	jst_pidfile_write(&pidf); /* after daemon(): the pid of the process that serves */
	/*
	 * The service user keeps its runtime directory: it makes its files there
	 * again if they vanish, and removes them at exit. Root, at its next start,
	 * therefore does nothing by path in it that follows a link: the socket gets
	 * its mode from the umask and its group from the fsgid (server.c), the
	 * pidfile is opened O_NOFOLLOW and refused unless it is a single-linked
	 * regular file of root's or the service user's (pidfile.c).
	 */
	if (become_service_user(pw) < 0) { /* a no-op when adoption did it */
		jst_log(LOG_ERR, "cannot give %s to %s and become it: %s", set.rundir, set.user,
			strerror(errno));
		return fail_start(srv, pub);
	}
	if (geteuid() == 0)
		jst_log(LOG_WARNING, "serving as root (--user root): any bug in jobstatd is root's");
	if (sd_watchdog_enabled(0, &watchdog_usec) <= 0)
		watchdog_usec = 0;
	if (adopted) {
		struct jst_pub_stats ps;

		jst_pub_stats(pub, &ps);
		jst_log(LOG_INFO, "adopted %s with %u jobs; serving %s (pid %ld)", set.shm_name,
			ps.in_use[JST_POOL_STATUS], set.socket, (long)getpid());
	} else {
		jst_log(LOG_INFO, "created %s; serving %s (pid %ld)", set.shm_name, set.socket,
			(long)getpid());
	}
	janitor_release();
	sd_notifyf(0, "READY=1\nSTATUS=serving %s on %s as uid %ld\nMAINPID=%ld", set.shm_name,
		   set.socket, (long)geteuid(), (long)getpid());
	rc = jst_server_run(srv, &stop_signal, &hup_signal, reload, &orig, HEARTBEAT_INTERVAL_NS);
	sd_notify(0, "STOPPING=1");
	if (rc < 0)
		jst_log(LOG_ERR, "event loop failed: %s", strerror(errno));
	else
		jst_log(LOG_INFO, "signal %d, closing %s", (int)stop_signal, set.shm_name);
	jst_server_destroy(srv);
	jst_pub_close(pub, false);
	jst_pidfile_close(&pidf, true);
	return rc < 0 ? 1 : 0;
}
