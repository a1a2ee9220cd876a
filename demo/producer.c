/* SPDX-License-Identifier: MIT */
/*
 * producer.c - make demo's producer: a few hundred jobs that progress, some
 * failing with CIM_Errors, the rest completing, while it answers the state
 * change requests a client sends (terminate, kill, suspend, resume).
 *
 * Usage: demo-producer [JOBS] [SECONDS]   (default 300 jobs over 8 seconds)
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jobstat.h"

#define MAX_JOBS 4096

static jst_handle jobs[MAX_JOBS];
static uint16_t pct[MAX_JOBS];
static bool done[MAX_JOBS], paused[MAX_JOBS];
static int njobs;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int index_of(jst_handle h)
{
	for (int i = 0; i < njobs; i++)
		if (jobs[i].slot == h.slot && jobs[i].gen == h.gen)
			return i;
	return -1;
}

/* A client asked for a state change: do it, and tell it so. */
static uint32_t on_request(jst_conn *c, const struct jst_request *rq, void *arg)
{
	int i = index_of(rq->handle);

	(void)arg;
	if (i < 0 || done[i])
		return JST_RSC_INVALID_TRANSITION;
	switch (rq->requested_state) {
	case JST_REQ_TERMINATE:
	case JST_REQ_KILL:
		if (jst_job_set_state(c, rq->handle, rq->requested_state == JST_REQ_KILL
							     ? JST_JOB_KILLED : JST_JOB_TERMINATED) != 0)
			return JST_RSC_FAILED;
		done[i] = true;
		return JST_RSC_COMPLETED;
	case JST_REQ_SUSPEND:
		paused[i] = true;
		return jst_job_set_state(c, rq->handle, JST_JOB_SUSPENDED) == 0 ? JST_RSC_COMPLETED
										 : JST_RSC_FAILED;
	case JST_REQ_START:
		paused[i] = false;
		return jst_job_set_state(c, rq->handle, JST_JOB_RUNNING) == 0 ? JST_RSC_COMPLETED
									       : JST_RSC_FAILED;
	default:
		return JST_RSC_NOT_SUPPORTED;
	}
}

static void fail_job(jst_conn *c, int i)
{
	static const char *const causes[] = {"disk full", "checksum mismatch", "peer timed out"};
	char msg[128], arg[32];
	const char *cause = causes[i % 3];
	struct jst_error e = {
		.error_type = i % 3 == 2 ? 2 : 4, /* Communications, Software */
		.owning_entity = "jobstat-demo",
		.message_id = i % 3 == 0 ? "DEMO0001" : i % 3 == 1 ? "DEMO0002" : "DEMO0003",
		.message = msg,
		.n_message_arguments = 1,
		.message_arguments = {arg},
		.perceived_severity = 5,     /* Major */
		.probable_cause = i % 3 == 2 ? 111 : 47, /* Timeout, Software Error */
		.probable_cause_description = cause,
		.n_recommended_actions = 1,
		.recommended_actions = {"Retry the job once the cause is fixed"},
		.cim_status_code = 1,        /* CIM_ERR_FAILED */
	};

	snprintf(arg, sizeof(arg), "%u%%", pct[i]);
	snprintf(msg, sizeof(msg), "Job %d failed at %u%%: %s", i, pct[i], cause);
	jst_job_report_error(c, jobs[i], &e, true);
	done[i] = true;
}

int main(int argc, char **argv)
{
	struct jst_connect_options o = {.producer = true, .on_request = on_request};
	int n = argc > 1 ? atoi(argv[1]) : 300;
	double seconds = argc > 2 ? atof(argv[2]) : 8;
	static struct jst_update u[MAX_JOBS];
	struct sigaction sa = {.sa_handler = on_signal};
	jst_conn *c;
	int rc, ticks = (int)(seconds * 20), left;

	if (n < 1 || n > MAX_JOBS || ticks < 1) {
		fprintf(stderr, "usage: demo-producer [JOBS 1..%d] [SECONDS]\n", MAX_JOBS);
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	rc = jst_connect(&o, &c);
	if (rc < 0) {
		fprintf(stderr, "demo-producer: %s\n", jst_strerror(rc));
		return 1;
	}
	srand(42);
	for (int i = 0; i < n; i++) {
		char id[64], name[64];
		struct jst_job_spec spec = {.instance_id = id, .name = name,
					    .initial_state = JST_JOB_RUNNING,
					    .owner = "make demo", .job_type = (uint16_t)(i % 4)};

		snprintf(id, sizeof(id), "demo:job-%03d", i);
		snprintf(name, sizeof(name), "%s %d", i % 2 ? "copy volume" : "build image", i);
		rc = jst_job_create(c, &spec, &jobs[i], NULL);
		if (rc < 0) {
			fprintf(stderr, "demo-producer: create %s: %s (%s)\n", id, jst_strerror(rc),
				jst_conn_error(c));
			return 1;
		}
		njobs++;
	}
	printf("demo-producer: %d jobs running\n", n);
	fflush(stdout);
	for (int t = 0; t < ticks && !stop; t++) {
		int k = 0;

		jst_dispatch(c, 50 * 1000000ll); /* answer requests; this is also the tick */
		for (int i = 0; i < n; i++) {
			if (done[i] || paused[i])
				continue;
			pct[i] = (uint16_t)(pct[i] + 1 + rand() % (200 / ticks + 1));
			if (pct[i] > 60 && i % 10 == 3) { /* one job in ten fails */
				fail_job(c, i);
				continue;
			}
			if (pct[i] >= 100) {
				pct[i] = 100;
				done[i] = true;
				u[k++] = (struct jst_update){.handle = jobs[i],
							     .set = JST_SET_PERCENT | JST_SET_STATE,
							     .percent_complete = 100,
							     .job_state = JST_JOB_COMPLETED};
				continue;
			}
			u[k++] = (struct jst_update){.handle = jobs[i], .set = JST_SET_PERCENT,
						     .percent_complete = pct[i]};
		}
		if (k && (rc = jst_update(c, u, (size_t)k, NULL)) < 0 && rc != JST_ETRANSITION)
			fprintf(stderr, "demo-producer: update: %s\n", jst_conn_error(c));
	}
	left = 0;
	for (int i = 0; i < n; i++) {
		if (!done[i] && !stop) {
			jst_job_complete(c, jobs[i]);
			left++;
		}
	}
	printf("demo-producer: done (%d finished at the end)\n", left);
	jst_disconnect(c);
	return 0;
}
