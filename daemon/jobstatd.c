/* SPDX-License-Identifier: MIT */
/*
 * jobstatd.c - the jobstat daemon: holds a namespace (a locked pidfile),
 * owns its segment (adopting the one a previous daemon left, jobs and all)
 * and keeps its heartbeat. The control socket and the producer protocol are
 * not built yet (README.md).
 */
#include <bsd/libutil.h>
#include <bsd/stdlib.h>
#include <bsd/string.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "jobstat.h"
#include "publish.h"
#include "shm-check.h"

#define HEARTBEAT_INTERVAL_NS (250 * 1000 * 1000) /* 4 Hz; readers allow 2 s */

static volatile sig_atomic_t stop_signal, hup_signal;
static bool use_syslog;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		hup_signal = 1;
	else
		stop_signal = sig;
}

static void logmsg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void logmsg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (use_syslog) {
		vsyslog(prio, fmt, ap);
	} else {
		fputs("jobstatd: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: jobstatd [-f] [-n NAMESPACE] [-c CAPACITY] [-m MODE] [-g GROUP]\n"
		"                [--runtime-dir DIR] [--syslog] [--replace]\n"
		"       jobstatd --help | --version\n\n"
		"Publishes the shared-memory segment /jobstat.NAMESPACE (default: $JOBSTAT_NAMESPACE\n"
		"or \"default\") and refreshes its heartbeat until SIGTERM or SIGINT. A segment\n"
		"left by a previous daemon is adopted with its jobs; its capacity is kept.\n\n"
		"  -f, --foreground     stay in the foreground and log to stderr\n"
		"                       (default: detach and log to syslog)\n"
		"  -n, --namespace NS   namespace (1-64 of A-Z a-z 0-9 . _ -)\n"
		"  -c, --capacity N     job slots of a new segment (default %u)\n"
		"  -m, --mode MODE      octal file mode of a new segment (default 0644; never o+w)\n"
		"  -g, --group GROUP    group that owns a new segment (name or number)\n"
		"      --runtime-dir D  where the pidfile lives (default /run/jobstat as root,\n"
		"                       $XDG_RUNTIME_DIR/jobstat otherwise)\n"
		"      --syslog         log to syslog even in the foreground\n"
		"      --replace        discard a segment this daemon cannot adopt (another\n"
		"                       format, or corrupt) and its jobs, and start anew\n",
		JST_PUB_DEFAULT_CAPACITY);
}

/* The default runtime directory: /run/jobstat for root, per user otherwise. */
static int default_runtime_dir(char *buf, size_t n)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (geteuid() == 0)
		return strlcpy(buf, "/run/jobstat", n) < n ? 0 : -1;
	if (xdg && *xdg)
		return (size_t)snprintf(buf, n, "%s/jobstat", xdg) < n ? 0 : -1;
	return (size_t)snprintf(buf, n, "/tmp/jobstat-%ld", (long)geteuid()) < n ? 0 : -1;
}

static int parse_group(const char *s, uint32_t *gid)
{
	const char *err = NULL;
	struct group *gr = getgrnam(s);

	if (gr) {
		*gid = gr->gr_gid;
		return 0;
	}
	*gid = (uint32_t)strtonum(s, 0, INT_MAX, &err);
	return err ? -1 : 0;
}

int main(int argc, char **argv)
{
	enum { OPT_RUNTIME = 256, OPT_SYSLOG, OPT_REPLACE };
	static const struct option opts[] = {
		{"foreground", no_argument, NULL, 'f'},
		{"namespace", required_argument, NULL, 'n'},
		{"capacity", required_argument, NULL, 'c'},
		{"mode", required_argument, NULL, 'm'},
		{"group", required_argument, NULL, 'g'},
		{"runtime-dir", required_argument, NULL, OPT_RUNTIME},
		{"syslog", no_argument, NULL, OPT_SYSLOG},
		{"replace", no_argument, NULL, OPT_REPLACE},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	struct jst_pub_config cfg = {.namespace_locked = true};
	char shm_name[JST_SHM_NAME_MAX], rundir[PATH_MAX], pidpath[PATH_MAX];
	const char *ns = jst_default_namespace(), *err = NULL;
	bool foreground = false, replace = false, adopted = false, want_syslog = false;
	struct sigaction sa = {.sa_handler = on_signal};
	struct pidfh *pfh;
	struct jst_pub *pub;
	pid_t other;
	int c, rc;

	rundir[0] = 0;
	while ((c = getopt_long(argc, argv, "fn:c:m:g:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			foreground = true;
			break;
		case 'n':
			ns = optarg;
			break;
		case 'c':
			cfg.capacity = (uint32_t)strtonum(optarg, 1, (1 << 30) - 1, &err);
			if (err) {
				fprintf(stderr, "jobstatd: --capacity %s is %s (1..%d)\n", optarg,
					err, (1 << 30) - 1);
				return 2;
			}
			break;
		case 'm': {
			char *end;
			unsigned long m = strtoul(optarg, &end, 8);

			if (*end || m > 0777 || (m & 0002)) {
				fprintf(stderr, "jobstatd: --mode %s: need an octal mode without "
						"world write, e.g. 0640\n", optarg);
				return 2;
			}
			cfg.mode = (uint32_t)m;
			break;
		}
		case 'g':
			cfg.set_group = true;
			if (parse_group(optarg, &cfg.gid) < 0) {
				fprintf(stderr, "jobstatd: --group %s: no such group\n", optarg);
				return 2;
			}
			break;
		case OPT_RUNTIME:
			if (strlcpy(rundir, optarg, sizeof(rundir)) >= sizeof(rundir)) {
				fprintf(stderr, "jobstatd: --runtime-dir: path too long\n");
				return 2;
			}
			break;
		case OPT_SYSLOG:
			want_syslog = true;
			break;
		case OPT_REPLACE:
			replace = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("jobstatd %s\n", jst_version());
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	rc = jst_shm_name(ns, shm_name, sizeof(shm_name));
	if (rc < 0) {
		fprintf(stderr, "jobstatd: namespace \"%s\": %s\n", ns, jst_strerror(rc));
		return 2;
	}
	if (!rundir[0] && default_runtime_dir(rundir, sizeof(rundir)) < 0) {
		fprintf(stderr, "jobstatd: runtime directory path too long\n");
		return 2;
	}
	if (mkdir(rundir, geteuid() == 0 ? 0755 : 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "jobstatd: cannot create runtime directory %s: %s\n", rundir,
			strerror(errno));
		return 1;
	}
	if ((size_t)snprintf(pidpath, sizeof(pidpath), "%s/%s.pid", rundir, ns) >= sizeof(pidpath)) {
		fprintf(stderr, "jobstatd: pidfile path too long\n");
		return 2;
	}
	/* The namespace's lock, taken before the segment is touched: one daemon per namespace. */
	pfh = pidfile_open(pidpath, 0644, &other);
	if (!pfh) {
		if (errno == EEXIST)
			fprintf(stderr, "jobstatd: namespace \"%s\" is already served by pid %ld "
					"(pidfile %s)\n", ns, (long)other, pidpath);
		else
			fprintf(stderr, "jobstatd: cannot open pidfile %s: %s\n", pidpath,
				strerror(errno));
		return 1;
	}
	cfg.shm_name = shm_name;
	rc = jst_pub_adopt(&cfg, &pub);
	adopted = rc == 0;
	if (rc == JST_ENOENT || (rc < 0 && replace))
		rc = jst_pub_create(&cfg, &pub);
	else if (rc < 0) {
		fprintf(stderr,
			"jobstatd: cannot adopt %s: %s.\n"
			"jobstatd: it was left by a daemon of another version, or is damaged; it is\n"
			"jobstatd: left untouched. Restart with --replace to discard it and its jobs.\n",
			shm_name, jst_strerror(rc));
		pidfile_remove(pfh);
		return 1;
	}
	if (rc < 0) {
		fprintf(stderr, "jobstatd: cannot create %s: %s%s%s\n", shm_name, jst_strerror(rc),
			rc == JST_ESYS ? ": " : "", rc == JST_ESYS ? strerror(errno) : "");
		pidfile_remove(pfh);
		return 1;
	}
	/* Detach after everything that can fail on the command line's account has been said. */
	if (!foreground && daemon(0, 0) < 0) {
		fprintf(stderr, "jobstatd: cannot detach: %s\n", strerror(errno));
		jst_pub_close(pub, false);
		pidfile_remove(pfh);
		return 1;
	}
	if (!foreground)
		jst_pub_reown(pub); /* the segment must name the process that serves it */
	use_syslog = want_syslog || !foreground;
	if (use_syslog)
		openlog("jobstatd", LOG_PID, LOG_DAEMON);
	pidfile_write(pfh); /* after daemon(): the pid of the process that serves */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (adopted) {
		struct jst_pub_stats ps;

		jst_pub_stats(pub, &ps);
		logmsg(LOG_INFO, "adopted %s with %u jobs (pid %ld)", shm_name,
		       ps.in_use[JST_POOL_STATUS], (long)getpid());
	} else {
		logmsg(LOG_INFO, "created %s (pid %ld)", shm_name, (long)getpid());
	}
	while (!stop_signal) {
		struct timespec ts = {0, HEARTBEAT_INTERVAL_NS};

		if (hup_signal) {
			hup_signal = 0;
			logmsg(LOG_INFO, "SIGHUP: this version has no reloadable settings");
		}
		jst_pub_heartbeat(pub);
		nanosleep(&ts, NULL);
	}
	logmsg(LOG_INFO, "signal %d, closing %s", (int)stop_signal, shm_name);
	jst_pub_close(pub, false);
	pidfile_remove(pfh);
	return 0;
}
