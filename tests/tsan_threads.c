/* SPDX-License-Identifier: MIT */
/*
 * tsan_threads.c - the threaded use of libjobstat, for ThreadSanitizer
 * (Criterion cannot run under it: Snaipe/Criterion#274, so this is a plain
 * program printing "N passed, N failed"). Threads share one jst_reader
 * (documented as shareable) and read everything while a writer in another
 * process publishes; other threads each drive their own jst_conn (a
 * connection is one thread's at a time) against a real jobstatd. TSan sees
 * the in-process sharing: any hidden mutable state in the library that two
 * threads touch is a report.
 *
 * Usage: tsan_threads JOBSTATD-PATH
 */
#define _GNU_SOURCE
#include <pthread.h>
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

#include "jobstat.h"
#include "publish.h"
#include "shm-check.h"

#define NJOBS 64
#define READERS 4
#define PRODUCERS 3

static char ns[64], shm[JST_SHM_NAME_MAX], dns[64], dir[64], sock[128];
static jst_reader *shared;
static int passed, failed;

static void check(bool ok, const char *what)
{
	if (ok) {
		passed++;
	} else {
		failed++;
		fprintf(stderr, "FAIL: %s\n", what);
	}
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Each thread counts its own; the main thread sums them after joining. */
struct tally {
	unsigned long reads, bad;
};

static void *reader(void *arg)
{
	struct tally *t = arg;
	struct jst_job *job = malloc(sizeof(*job));
	struct jst_error *err = malloc(sizeof(*err));
	struct jst_status st, many[32];
	char xml[8192];
	uint64_t until = now_ns() + 1500000000ull, cursor = jst_change_seq(shared);

	while (now_ns() < until) {
		uint32_t pos = 0;
		size_t n;

		for (int i = 0; i < NJOBS; i++) {
			char id[32];
			jst_handle h;

			snprintf(id, sizeof(id), "tsan:%d", i);
			if (jst_lookup(shared, id, &h) != 0 || jst_status(shared, h, &st) != 0) {
				t->bad++;
				continue;
			}
			/* Published together: the priority is the percent's counter. */
			if (st.percent_complete != st.priority % 101)
				t->bad++;
			t->reads++;
			if (jst_job(shared, h, job) != 0 || !job->name)
				t->bad++;
			if (jst_get_error(shared, h, JST_FLAVOUR_CIM, err) == 0)
				jst_error_to_cimxml(err, xml, sizeof(xml), NULL);
		}
		while (jst_scan(shared, &pos, many, 32, &n) == 0 && n)
			;
		if (jst_changed(shared, &cursor, many, 32, &n) == JST_EOVERRUN)
			cursor = jst_change_seq(shared);
		jst_wait_changes(shared, cursor, 1000000);
	}
	free(job);
	free(err);
	return NULL;
}

static void *producer(void *arg)
{
	struct tally *t = arg;
	struct jst_connect_options o = {.socket_path = sock, .producer = true};
	jst_conn *c;
	jst_handle h[8];
	uint64_t until = now_ns() + 1000000000ull;

	if (jst_connect(&o, &c) != 0) {
		t->bad++;
		return NULL;
	}
	for (int i = 0; i < 8; i++)
		if (jst_job_create(c, &(struct jst_job_spec){.initial_state = 4}, &h[i], NULL) != 0)
			t->bad++;
	for (uint16_t k = 0; now_ns() < until; k++) {
		struct jst_update u[8];

		for (int i = 0; i < 8; i++)
			u[i] = (struct jst_update){.handle = h[i], .set = JST_SET_PERCENT,
						   .percent_complete = (uint16_t)(k % 101)};
		if (jst_update(c, u, 8, NULL) != 0)
			t->bad++;
		else
			t->reads++;
	}
	jst_disconnect(c);
	return NULL;
}

/* The writer, in a child process: TSan is not told about it, as with jobstatd. */
static pid_t writer(void)
{
	int fds[2];
	char ready;
	pid_t pid;

	if (pipe(fds) != 0)
		exit(2);
	pid = fork();
	if (pid == 0) {
		struct jst_pub_config cfg = {.capacity = NJOBS * 2};
		struct jst_status st = {.job_state = JST_JOB_RUNNING};
		struct jst_job job = {.name = "tsan"};
		struct jst_error e = {.message_id = "T1", .message = "tsan"};
		struct jst_pub *p;
		jst_handle hs[NJOBS];

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		cfg.shm_name = shm;
		if (jst_pub_create(&cfg, &p) != 0)
			_exit(2);
		for (int i = 0; i < NJOBS; i++) {
			char id[32];

			snprintf(id, sizeof(id), "tsan:%d", i);
			jst_pub_job_create(p, id, &st, &job, &hs[i]);
			jst_pub_publish(p, hs[i], &(struct jst_pub_change){.error = &e});
		}
		if (write(fds[1], "r", 1) != 1)
			_exit(3);
		for (uint32_t c = 0;; c++) {
			st.priority = c;
			st.percent_complete = (uint16_t)(c % 101);
			jst_pub_publish(p, hs[c % NJOBS], &(struct jst_pub_change){.status = &st});
			if (c % 1024 == 0)
				usleep(100);
		}
	}
	close(fds[1]);
	if (read(fds[0], &ready, 1) != 1)
		exit(2);
	close(fds[0]);
	return pid;
}

int main(int argc, char **argv)
{
	pthread_t th[READERS + PRODUCERS];
	struct tally t[READERS + PRODUCERS] = {{0}};
	pid_t w, d;
	struct stat sb;

	if (argc != 2) {
		fprintf(stderr, "usage: tsan_threads JOBSTATD-PATH\n");
		return 2;
	}
	snprintf(ns, sizeof(ns), "tsan-%ld", (long)getpid());
	jst_shm_name(ns, shm, sizeof(shm));
	snprintf(dns, sizeof(dns), "tsan-d-%ld", (long)getpid());
	strcpy(dir, "/tmp/jst-tsan-XXXXXX");
	if (!mkdtemp(dir))
		return 2;
	snprintf(sock, sizeof(sock), "%s/%s.sock", dir, dns);
	w = writer();
	d = fork();
	if (d == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl(argv[1], "jobstatd", "-f", "-n", dns, "-c", "256", "--runtime-dir", dir,
		      (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && stat(sock, &sb) != 0; i++)
		usleep(10000);
	check(jst_attach(ns, &shared) == 0, "attach");
	for (int i = 0; i < READERS; i++)
		pthread_create(&th[i], NULL, reader, &t[i]);
	for (int i = 0; i < PRODUCERS; i++)
		pthread_create(&th[READERS + i], NULL, producer, &t[READERS + i]);
	for (int i = 0; i < READERS + PRODUCERS; i++) {
		pthread_join(th[i], NULL);
		check(t[i].reads > 0, i < READERS ? "a reader thread read" : "a producer pushed");
		check(t[i].bad == 0, i < READERS ? "no bad read" : "no failed call");
	}
	jst_detach(shared);
	kill(w, SIGKILL);
	kill(d, SIGTERM);
	waitpid(w, NULL, 0);
	waitpid(d, NULL, 0);
	shm_unlink(shm);
	{
		char p[256];

		snprintf(p, sizeof(p), "%s.wait", shm);
		shm_unlink(p);
		snprintf(p, sizeof(p), "/jobstat.%s", dns);
		shm_unlink(p);
		snprintf(p, sizeof(p), "/jobstat.%s.wait", dns);
		shm_unlink(p);
		snprintf(p, sizeof(p), "%s/%s.pid", dir, dns);
		unlink(p);
		rmdir(dir);
	}
	printf("tsan_threads: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
