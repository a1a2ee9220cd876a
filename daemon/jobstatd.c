/* SPDX-License-Identifier: MIT */
/*
 * jobstatd.c - the jobstat daemon: owns a namespace's segment (adopting the
 * one a previous daemon left, jobs and all) and keeps its heartbeat. The
 * control socket and the producer protocol are not built yet (README.md).
 */
#include <bsd/stdlib.h>
#include <errno.h>
#include <stdbool.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jobstat.h"
#include "publish.h"
#include "shm-check.h"

#define HEARTBEAT_INTERVAL_NS (250 * 1000 * 1000) /* 4 Hz; readers allow 2 s */

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: jobstatd [-n NAMESPACE] [-c CAPACITY] [-m MODE] [--replace]\n"
		   "       jobstatd --help | --version\n\n"
		   "Publishes the shared-memory segment /jobstat.NAMESPACE (default: $JOBSTAT_NAMESPACE\n"
		   "or \"default\") and refreshes its heartbeat until SIGTERM or SIGINT. A segment\n"
		   "left by a previous daemon is adopted with its jobs; its capacity is kept.\n\n"
		   "  -n, --namespace NS   namespace (1-64 of A-Z a-z 0-9 . _ -)\n"
		   "  -c, --capacity N     job slots of a new segment (default %u)\n"
		   "  -m, --mode MODE      octal file mode of a new segment (default 0644)\n"
		   "      --replace        discard a segment this daemon cannot adopt (another\n"
		   "                       format, or corrupt) and its jobs, and start anew\n",
		JST_PUB_DEFAULT_CAPACITY);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"namespace", required_argument, NULL, 'n'},
		{"capacity", required_argument, NULL, 'c'},
		{"mode", required_argument, NULL, 'm'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{"replace", no_argument, NULL, 'R'},
		{0},
	};
	struct jst_pub_config cfg = {.gid = -1};
	bool replace = false, adopted = false;
	char shm_name[JST_SHM_NAME_MAX];
	const char *ns = jst_default_namespace(), *err = NULL;
	struct sigaction sa = {.sa_handler = on_signal};
	struct jst_pub *pub;
	int c, rc;

	while ((c = getopt_long(argc, argv, "n:c:m:hV", opts, NULL)) != -1) {
		switch (c) {
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
		case 'R':
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
	cfg.shm_name = shm_name;
	rc = jst_pub_adopt(&cfg, &pub);
	adopted = rc == 0;
	if (rc == JST_ENOENT || (rc < 0 && rc != JST_EBUSY && replace))
		rc = jst_pub_create(&cfg, &pub);
	else if (rc < 0 && rc != JST_EBUSY) {
		fprintf(stderr,
			"jobstatd: cannot adopt %s: %s.\n"
			"jobstatd: it was left by a daemon of another version, or is damaged; it is\n"
			"jobstatd: left untouched. Restart with --replace to discard it and its jobs.\n",
			shm_name, jst_strerror(rc));
		return 1;
	}
	if (rc < 0) {
		fprintf(stderr, "jobstatd: cannot create %s: %s%s%s\n", shm_name, jst_strerror(rc),
			rc == JST_ESYS ? ": " : "", rc == JST_ESYS ? strerror(errno) : "");
		return 1;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (adopted) {
		struct jst_pub_stats ps;

		jst_pub_stats(pub, &ps);
		fprintf(stderr, "jobstatd: adopted %s with %u jobs (pid %ld)\n", shm_name,
			ps.in_use[JST_POOL_STATUS], (long)getpid());
	} else {
		fprintf(stderr, "jobstatd: created %s (pid %ld)\n", shm_name, (long)getpid());
	}
	while (!stop_signal) {
		struct timespec ts = {0, HEARTBEAT_INTERVAL_NS};

		jst_pub_heartbeat(pub);
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "jobstatd: signal %d, closing %s\n", (int)stop_signal, shm_name);
	jst_pub_close(pub, false);
	return 0;
}
