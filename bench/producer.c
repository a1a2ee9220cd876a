/* SPDX-License-Identifier: MIT */
/*
 * producer.c - measures updates per second through jobstatd: one producer
 * sending one update per call, and the same producer batching, against the
 * publisher alone in-process (the ceiling: no socket, no daemon) in the same
 * run. Every figure counts acknowledged updates only, each visible in the
 * segment when its acknowledgement arrives.
 *
 * Also: how long a monitor sleeping in jst_wait_changes() takes to wake
 * after a publication (the publisher in-process, the monitor another process).
 *
 * Usage: producer [--quick]
 * Starts its own jobstatd (JST_BUILD_DIR/jobstatd) in a temporary runtime
 * directory and namespace and stops it afterwards.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"
#include "jobstat.h"
#include "publish.h"
#include "shm-check.h"

#ifndef JST_BUILD_DIR
#error "the Makefile defines JST_BUILD_DIR, where jobstatd is"
#endif

#define NJOBS 10000
#define ROUNDS 5

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* Updates per second of @n updates in batches of @batch (1 = one call each). */
static double push(jst_conn *c, const jst_handle *h, struct jst_update *u, long n, long batch,
		   uint16_t base)
{
	uint64_t t0 = now_ns();

	for (long i = 0; i < n; i += batch) {
		long k = n - i < batch ? n - i : batch;

		for (long j = 0; j < k; j++)
			u[j] = (struct jst_update){.handle = h[(i + j) % NJOBS], .set = JST_SET_PERCENT,
						   .percent_complete = (uint16_t)((base + i + j) % 101)};
		if (jst_update(c, u, (size_t)k, NULL) != 0) {
			fprintf(stderr, "update failed: %s\n", jst_conn_error(c));
			exit(1);
		}
	}
	return (double)n * 1e9 / (double)(now_ns() - t0);
}

/* The publisher alone, in-process: what the daemon's writer can do at most. */
static double publisher_alone(long n)
{
	struct jst_pub_config cfg = {.capacity = NJOBS * 2};
	char ns[64], shm[JST_SHM_NAME_MAX];
	static jst_handle hs[NJOBS];
	struct jst_pub *p;
	struct jst_status st = {.job_state = JST_JOB_RUNNING, .n_operational_status = 1,
				.operational_status = {JST_OPS_OK}};
	uint64_t t0;

	snprintf(ns, sizeof(ns), "bench-prod-alone-%ld", (long)getpid());
	jst_shm_name(ns, shm, sizeof(shm));
	cfg.shm_name = shm;
	if (jst_pub_create(&cfg, &p) != 0)
		exit(1);
	for (int i = 0; i < NJOBS; i++) {
		char id[32];

		snprintf(id, sizeof(id), "bench:%d", i);
		jst_pub_job_create(p, id, &st, NULL, &hs[i]);
	}
	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		/* What the daemon does per update: read the current status, change, publish. */
		jst_pub_status(p, hs[i % NJOBS], &st);
		st.percent_complete = (uint16_t)(i % 101);
		jst_pub_publish(p, hs[i % NJOBS], &(struct jst_pub_change){.status = &st});
	}
	t0 = now_ns() - t0;
	jst_pub_close(p, true);
	return (double)n * 1e9 / (double)t0;
}

/*
 * Wake latency: a monitor process sleeps in jst_wait_changes(); we note the
 * time in shared memory and publish; it notes when it woke. Rounds are 2 ms
 * apart so it is always asleep when the publication comes.
 */
static void wake_latency(int rounds)
{
	struct jst_pub_config cfg = {.capacity = 64};
	char ns[64], shm[JST_SHM_NAME_MAX];
	struct jst_status st = {.job_state = JST_JOB_RUNNING};
	uint64_t *t = mmap(NULL, sizeof(uint64_t) * 2 * (size_t)rounds, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	double *lat = malloc(sizeof(double) * (size_t)rounds);
	struct jst_pub *p;
	jst_handle h;
	pid_t child;

	snprintf(ns, sizeof(ns), "bench-wake-%ld", (long)getpid());
	jst_shm_name(ns, shm, sizeof(shm));
	cfg.shm_name = shm;
	if (t == MAP_FAILED || !lat || jst_pub_create(&cfg, &p) != 0 ||
	    jst_pub_job_create(p, "bench:wake", &st, NULL, &h) != 0)
		exit(1);
	child = fork();
	if (child == 0) {
		jst_reader *r;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (jst_attach(ns, &r) != 0)
			_exit(1);
		for (int i = 0; i < rounds; i++) {
			uint64_t cursor = (uint64_t)i + 1; /* the job's creation was change 1 */

			while (jst_change_seq(r) <= cursor)
				jst_wait_changes(r, cursor, 1000000000);
			t[2 * i + 1] = now_ns();
		}
		_exit(0);
	}
	for (int i = 0; i < rounds; i++) {
		usleep(2000);
		t[2 * i] = now_ns();
		st.percent_complete = (uint16_t)(i % 101);
		jst_pub_publish(p, h, &(struct jst_pub_change){.status = &st});
	}
	waitpid(child, NULL, 0);
	for (int i = 0; i < rounds; i++)
		lat[i] = (double)(t[2 * i + 1] - t[2 * i]) / 1000.0;
	qsort(lat, (size_t)rounds, sizeof(*lat), cmp_double);
	printf("wake latency, publication to a sleeping monitor in another process (%d rounds)\n"
	       "  p50 %.1f us   p99 %.1f us   max %.1f us   target < 1000 us: %s\n",
	       rounds, lat[rounds / 2], lat[rounds * 99 / 100], lat[rounds - 1],
	       lat[rounds * 99 / 100] < 1000 ? "met at p99" : "MISSED at p99");
	jst_pub_close(p, true);
	munmap(t, sizeof(uint64_t) * 2 * (size_t)rounds);
	free(lat);
}

int main(int argc, char **argv)
{
	bool quick = argc > 1 && !strcmp(argv[1], "--quick");
	long n_single = quick ? 20000 : 100000, n_batch = quick ? 500000 : 3000000;
	char rundir[] = "/tmp/jst-bench-XXXXXX", ns[64], sock[128], shm[JST_SHM_NAME_MAX];
	double single[ROUNDS], batched[ROUNDS], alone[ROUNDS], b64[ROUNDS];
	static jst_handle h[NJOBS];
	static struct jst_update u[4096];
	struct jst_connect_options o = {0};
	jst_conn *c = NULL;
	pid_t d;

	if (!mkdtemp(rundir))
		return 1;
	snprintf(ns, sizeof(ns), "bench-prod-%ld", (long)getpid());
	snprintf(sock, sizeof(sock), "%s/%s.sock", rundir, ns);
	jst_shm_name(ns, shm, sizeof(shm));
	d = fork();
	if (d == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl(JST_BUILD_DIR "/jobstatd", "jobstatd", "-f", "-n", ns, "-c", "65536",
		      "--runtime-dir", rundir, (char *)NULL);
		_exit(127);
	}
	o.socket_path = sock;
	o.producer = true;
	for (int i = 0; i < 500 && jst_connect(&o, &c) != 0; i++)
		usleep(10000);
	if (!c) {
		fprintf(stderr, "jobstatd did not come up\n");
		return 1;
	}
	for (int i = 0; i < NJOBS; i++) {
		char id[32];

		snprintf(id, sizeof(id), "bench:%d", i);
		if (jst_job_create(c, &(struct jst_job_spec){.instance_id = id,
							     .initial_state = JST_JOB_RUNNING},
				   &h[i], NULL) != 0) {
			fprintf(stderr, "create: %s\n", jst_conn_error(c));
			return 1;
		}
	}
	push(c, h, u, n_batch / 10, 1024, 0); /* warm-up */
	for (int r = 0; r < ROUNDS; r++) {
		single[r] = push(c, h, u, n_single, 1, (uint16_t)r);
		b64[r] = push(c, h, u, n_batch / 4, 64, (uint16_t)r);
		batched[r] = push(c, h, u, n_batch, 1024, (uint16_t)r);
		alone[r] = publisher_alone(n_batch);
	}
	printf("updates/s through jobstatd, %d jobs, one producer; median of %d rounds\n", NJOBS,
	       ROUNDS);
	printf("  %-38s %12.0f\n", "one update per call (a round trip)", median(single, ROUNDS));
	printf("  %-38s %12.0f\n", "batches of 64", median(b64, ROUNDS));
	printf("  %-38s %12.0f\n", "batches of 1024", median(batched, ROUNDS));
	printf("  %-38s %12.0f\n", "baseline: publisher alone, in-process", median(alone, ROUNDS));
	printf("  batched / baseline: %.2f   target >= 300000 updates/s batched: %s\n",
	       median(batched, ROUNDS) / median(alone, ROUNDS),
	       median(batched, ROUNDS) >= 300000 ? "met" : "MISSED");
	wake_latency(quick ? 300 : 2000);
	fflush(stdout);
	jst_disconnect(c);
	kill(d, SIGTERM);
	waitpid(d, NULL, 0);
	{
		char p[256];

		snprintf(p, sizeof(p), "%s/%s.pid", rundir, ns);
		unlink(p);
		unlink(sock);
		shm_unlink(shm);
		snprintf(p, sizeof(p), "%s.lock", shm);
		shm_unlink(p);
		rmdir(rundir);
	}
	return 0;
}
