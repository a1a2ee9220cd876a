/* SPDX-License-Identifier: MIT */
/*
 * noisy.c - the noisy-neighbour benchmark (issue 13): one uid floods jobstatd
 * with creates, errors, connections and RequestStateChanges at full speed
 * while another uid's producer, monitor and requester work; the victim's
 * success rate and update latency against the same run without the flood.
 *
 * Phases of D seconds, back to back on one daemon, in rounds: "quiet" (the
 * victim alone), "flood" (the victim and every hog), and outside --quick each
 * hog alone ("create", "errors", "conns", "rsc"), so a miss can be pinned on
 * one kind of flood. The victim (uid 65533) is the same code in every phase:
 *   producer  16 Running jobs, one PercentComplete update every 1 ms (closed
 *             loop: the next waits for the acknowledgement, which means the
 *             update is in the segment), a job created, completed and removed
 *             every 100 updates, RequestStateChanges answered (Suspend/Start);
 *   monitor   follows the segment (jst_wait_changes(), no syscall to read) and
 *             notes when each update became visible to it;
 *   requester a Suspend or Start on a job of the producer every 50 ms, and a
 *             new connection (HELLO, QUOTA, goodbye) every 500 ms.
 * The hog (uid 65534) runs four processes at full speed: creates until its
 * job quota refuses, then removes its jobs and starts again; error reports on
 * 256 jobs (each job keeps 8: the error quota is met); connections until
 * refused, held, dropped, again; 80 threads each sending RequestStateChanges
 * (timeout 200 ms) to the hog's own jobs, whose producer never answers, so
 * the pending-request quota is met. Every call's code is counted.
 *
 * Usage: noisy [--quick] [--seconds S] [--rounds N] [--hog-nice N] [--daemon-nice N]
 *              [--user-slices] [--as-deployed] [--samples PREFIX] [--rsc-threads N]
 *              [--phase flood|create|errors|conns|rsc]
 * --phase runs quiet and that phase only; --rsc-threads sets how many
 * connections the hog's requests come from (80).
 * --hog-nice runs the hog's processes at that nice value, which takes most of
 * the CPU contention out (80 threads at nice 19 still outweigh the daemon's one
 * at nice 0): what is left is mostly the daemon's own queueing.
 * --daemon-nice runs jobstatd at that nice value, as systemd/jobstatd.service's
 * Nice= does (here everything shares one cgroup, where only nice weighs).
 * --user-slices puts each uid's processes in a CPU cgroup of its own with
 * equal weight (cgroup v1 "cpu" or v2), as systemd does with user-UID.slice on
 * a multi-user server: the kernel then shares the CPUs between the uids, not
 * between the hog's ~90 threads and the victim's few.
 * --as-deployed is the host systemd/jobstatd.service is written for: jobstatd
 * at the unit's Nice=-5, each uid in its own CPU cgroup (--user-slices), as
 * logind puts each user in user-UID.slice. Where no cgroup can be made (a
 * container), it says so and runs with the nice value alone.
 * --samples PREFIX writes each phase's updates (when sent, round trip) to
 * PREFIX-NN-phase.csv, NN the round * 16 + the phase's place: where in a
 * phase the slow ones were.
 * As root only (it plays two other uids). Starts its own jobstatd
 * (JST_BUILD_DIR/jobstatd -g 65534, default quotas, capacity 4096).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"
#include "jobstat.h"
#include "shm-check.h"

#ifndef JST_BUILD_DIR
#error "the Makefile defines JST_BUILD_DIR, where jobstatd is"
#endif

#define HOG       65534
#define VICTIM    65533
#define SOCKGROUP 65534
#define NJ        16           /* the victim's update targets */
#define PERIOD_NS 1000000      /* one victim update per millisecond */
#define MAXS      65536        /* samples per phase */
#define NCODES    64           /* -rc, 0 for success */
#define RSC_MAX   256          /* --rsc-threads at most */
#define ERR_JOBS  256

enum who { V_PROD, V_MON, V_REQ, H_CREATE, H_ERROR, H_CONN, H_RSC, NWHO };
static const char *const who_name[NWHO] = {"victim producer", "victim monitor",
					   "victim requester", "hog creates", "hog errors",
					   "hog connections", "hog requests"};

/* The hogs each phase runs: a bit per H_* kind. */
struct phase {
	const char *name;
	unsigned hogs;
};
#define HOGS_ALL ((1u << H_CREATE) | (1u << H_ERROR) | (1u << H_CONN) | (1u << H_RSC))
static const struct phase phases[] = {
	{"quiet", 0},
	{"flood", HOGS_ALL},
	{"create", 1u << H_CREATE},
	{"errors", 1u << H_ERROR},
	{"conns", 1u << H_CONN},
	{"rsc", 1u << H_RSC},
};

/* Shared by every process of one phase (MAP_SHARED), reset between phases. */
struct shared {
	int stop;                 /* set by the parent when the phase ends */
	int go;                   /* set once the victim is connected and the hogs set up */
	int ready;                /* processes that finished their setup */
	uint64_t codes[NWHO][NCODES];
	uint64_t t_send[MAXS];    /* when the producer sent update i */
	uint64_t t_seen[MAXS];    /* when the monitor first saw it */
	int64_t last_seq[NJ];     /* the last update sent to job j */
	double upd_us[MAXS];      /* update i's round trip */
	int n_upd;
	uint64_t prod_run_delay_ns; /* the producer's time runnable but not running */
	int setup_failed;
	int requester_done;       /* the victim's requester made its last request */
	uint64_t reconnects[NWHO]; /* jst_conn_reconnects() at the end */
	uint64_t longest_call_ns, longest_call_at; /* the producer's slowest update */
};

static struct shared *sh;
static char sock[160], ns[64];
static int hog_nice; /* --hog-nice: the hog's processes at this nice value */
static int daemon_nice; /* --daemon-nice: jobstatd's */
/*
 * --user-slices: each uid's processes in a CPU cgroup of its own with equal
 * weight, as systemd puts each logged-in user in user-UID.slice: the kernel
 * then shares the CPUs between the two uids, not between their ~90 threads.
 * jobstatd stays where it was started (the system's slice).
 */
static bool user_slices;
static bool as_deployed; /* --as-deployed: the unit's Nice= and user slices */
static const char *samples; /* --samples PREFIX: each phase's round trips to PREFIX-NN-phase.csv */
static char slice_dir[2][96]; /* [0] the victim's, [1] the hog's */
static bool slice_v2;
static int rsc_threads = 80; /* --rsc-threads: the hog's requesting connections */

static void count(enum who w, int rc)
{
	int i = rc >= 0 ? 0 : -rc;

	__atomic_fetch_add(&sh->codes[w][i < NCODES ? i : NCODES - 1], 1, __ATOMIC_RELAXED); /* a tally, read after the phase: no order */
}

static bool stopping(void)
{
	return __atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE); /* pairs with the parent's release store of stop */
}

/* Tell the parent this process is set up, then wait for the start. */
static void ready_then_wait(void)
{
	__atomic_fetch_add(&sh->ready, 1, __ATOMIC_RELEASE); /* pairs with the parent's acquire load of ready */
	while (!__atomic_load_n(&sh->go, __ATOMIC_ACQUIRE) && !stopping()) /* pairs with the parent's release of go */
		usleep(200);
}

/* Make the two uids' CPU cgroups (v1 "cpu" or v2): 0, or -1 saying why. */
static int slices_make(void)
{
	static const char *const v1 = "/sys/fs/cgroup/cpu", *const v2 = "/sys/fs/cgroup";
	char path[256];
	FILE *f;

	slice_v2 = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
	if (!slice_v2 && access("/sys/fs/cgroup/cpu/cgroup.procs", F_OK) != 0) {
		fprintf(stderr, "noisy: --user-slices: no cgroup cpu controller here\n");
		return -1;
	}
	if (slice_v2) { /* the cpu controller for the root's children */
		f = fopen("/sys/fs/cgroup/cgroup.subtree_control", "w");
		if (!f || fputs("+cpu", f) < 0 || fclose(f) != 0) {
			fprintf(stderr, "noisy: --user-slices: cannot enable cgroup v2's cpu controller\n");
			return -1;
		}
	}
	for (int i = 0; i < 2; i++) {
		snprintf(slice_dir[i], sizeof(slice_dir[i]), "%s/jst-noisy-%ld-%s", slice_v2 ? v2 : v1,
			 (long)getpid(), i ? "hog" : "victim");
		snprintf(path, sizeof(path), "%s/%s", slice_dir[i], slice_v2 ? "cpu.weight" : "cpu.shares");
		if (mkdir(slice_dir[i], 0755) < 0 || !(f = fopen(path, "w")) ||
		    fputs(slice_v2 ? "100" : "1024", f) < 0 || fclose(f) != 0) {
			fprintf(stderr, "noisy: --user-slices: cannot make %s: %s\n", slice_dir[i],
				strerror(errno));
			return -1;
		}
	}
	return 0;
}

static void slices_remove(void)
{
	for (int i = 0; i < 2; i++)
		if (slice_dir[i][0])
			rmdir(slice_dir[i]); /* every process in it has exited by now */
}

static int slice_join(uid_t uid);

/* Can a process join the cgroups made? (Not always in a container: cgroup v2's rules.) */
static bool slices_usable(void)
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(slice_join(VICTIM) == 0 && slice_join(HOG) == 0 ? 0 : 1);
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0;
}

/* Put this process (and the threads it will start) in @uid's cgroup. */
static int slice_join(uid_t uid)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.procs", slice_dir[uid == HOG]);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "%ld\n", (long)getpid());
	return fclose(f);
}

static void become(uid_t uid)
{
	gid_t g = SOCKGROUP;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (user_slices && slice_join(uid) < 0)
		_exit(88);
	if (uid == HOG && hog_nice && setpriority(PRIO_PROCESS, 0, hog_nice) < 0)
		_exit(89);
	if (setgroups(1, &g) < 0 || setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)
		_exit(90);
}

static jst_conn *connect_or_die(bool producer, jst_request_fn fn)
{
	jst_conn *c = NULL;
	int rc = jst_connect(&(struct jst_connect_options){.socket_path = sock,
							  .producer = producer, .on_request = fn},
			     &c);

	if (rc != 0) {
		fprintf(stderr, "noisy: uid %d cannot connect: %s\n", (int)getuid(), jst_strerror(rc));
		__atomic_store_n(&sh->setup_failed, 1, __ATOMIC_RELEASE); /* pairs with the parent's acquire load */
		_exit(91);
	}
	return c;
}

/* CPU time spent waiting on a run queue (schedstat's second field), ns. */
static uint64_t run_delay_ns(pid_t pid)
{
	char path[64];
	unsigned long long run = 0, wait = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%llu %llu", &run, &wait) != 2)
		wait = 0;
	fclose(f);
	return wait;
}

/* utime + stime of @pid in ns (schedstat's first field). */
static uint64_t cpu_ns(pid_t pid)
{
	char path[64];
	unsigned long long run = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &run) != 1)
		run = 0;
	fclose(f);
	return run;
}

/* ---- the victim ---------------------------------------------------------------------------- */

static jst_handle rsc_job;

/* Suspend and Start on the requester's job: move it, answer Completed. */
static uint32_t victim_on_request(jst_conn *c, const struct jst_request *rq, void *arg)
{
	uint16_t to = rq->requested_state == JST_REQ_SUSPEND ? JST_JOB_SUSPENDED : JST_JOB_RUNNING;
	int rc;

	(void)arg;
	if (rq->requested_state != JST_REQ_SUSPEND && rq->requested_state != JST_REQ_START)
		return JST_RSC_NOT_SUPPORTED;
	rc = jst_job_set_state(c, rq->handle, to);
	count(V_PROD, rc);
	return rc == 0 ? JST_RSC_COMPLETED : JST_RSC_FAILED;
}

static void victim_producer(int phase_no)
{
	jst_conn *c;
	jst_handle h[NJ];
	uint64_t t0, delay0;
	char id[64];
	int i, rc;

	become(VICTIM);
	c = connect_or_die(true, victim_on_request);
	for (int j = 0; j < NJ; j++) {
		snprintf(id, sizeof(id), "victim:p%d-job%d", phase_no, j);
		rc = jst_job_create(c, &(struct jst_job_spec){.instance_id = id,
							     .initial_state = JST_JOB_RUNNING},
				    &h[j], NULL);
		if (rc != 0)
			_exit(92);
	}
	snprintf(id, sizeof(id), "victim:p%d-rsc", phase_no);
	if (jst_job_create(c, &(struct jst_job_spec){.instance_id = id,
						    .initial_state = JST_JOB_RUNNING},
			   &rsc_job, NULL) != 0)
		_exit(92);
	for (int j = 0; j < NJ; j++)
		sh->last_seq[j] = -1;
	ready_then_wait();
	t0 = now_ns();
	delay0 = run_delay_ns(getpid());
	for (i = 0; i < MAXS && !stopping(); i++) {
		int j = i % NJ;
		uint64_t t, next = t0 + (uint64_t)i * PERIOD_NS;

		/*
		 * Answer requests while waiting for the next update's time, and at
		 * least once per update: a producer behind its schedule still answers.
		 */
		do {
			t = now_ns();
			rc = jst_dispatch(c, t < next ? (int64_t)(next - t) : 0);
			if (rc < 0)
				count(V_PROD, rc);
		} while (now_ns() < next);
		__atomic_store_n(&sh->last_seq[j], i, __ATOMIC_RELEASE); /* pairs with the monitor's acquire load */
		t = now_ns();
		__atomic_store_n(&sh->t_send[i], t, __ATOMIC_RELEASE); /* read by the parent after the phase (waitpid orders it) */
		rc = jst_job_set_progress(c, h[j], (uint16_t)(i % 101));
		sh->upd_us[i] = (double)(now_ns() - t) / 1000.0;
		if (now_ns() - t > sh->longest_call_ns) {
			sh->longest_call_ns = now_ns() - t;
			sh->longest_call_at = t;
		}
		count(V_PROD, rc);
		if (i % 100 == 99) {
			jst_handle tmp;

			snprintf(id, sizeof(id), "victim:p%d-tmp%d", phase_no, i);
			rc = jst_job_create(c, &(struct jst_job_spec){.instance_id = id,
								     .initial_state = JST_JOB_RUNNING},
					    &tmp, NULL);
			count(V_PROD, rc);
			if (rc == 0) {
				count(V_PROD, jst_job_complete(c, tmp));
				count(V_PROD, jst_job_remove(c, tmp, JST_REMOVE_NOW, NULL));
			}
		}
	}
	sh->n_upd = i;
	sh->reconnects[V_PROD] = jst_conn_reconnects(c);
	sh->prod_run_delay_ns = run_delay_ns(getpid()) - delay0;
	/* Stay connected until the phase ends: the requester's last request needs an answer. */
	while (!__atomic_load_n(&sh->requester_done, __ATOMIC_ACQUIRE))
		jst_dispatch(c, 2000000);
	for (int j = 0; j < NJ; j++)
		jst_job_remove(c, h[j], JST_REMOVE_NOW, NULL);
	jst_job_remove(c, rsc_job, JST_REMOVE_NOW, NULL);
	jst_disconnect(c);
	_exit(0);
}

static void victim_monitor(int phase_no)
{
	jst_reader *r;
	jst_handle h[NJ];
	char id[64];

	become(VICTIM);
	if (jst_attach(ns, &r) != 0)
		_exit(93);
	/* The producer's jobs exist once it is ready: the parent starts us after it. */
	for (int j = 0; j < NJ; j++) {
		snprintf(id, sizeof(id), "victim:p%d-job%d", phase_no, j);
		if (jst_lookup(r, id, &h[j]) != 0)
			_exit(94);
	}
	ready_then_wait();
	while (!stopping()) {
		uint64_t cursor = jst_change_seq(r);

		for (int j = 0; j < NJ; j++) {
			struct jst_status st;
			int64_t i = __atomic_load_n(&sh->last_seq[j], __ATOMIC_ACQUIRE); /* pairs with the producer's release store of last_seq */
			int rc = jst_status(r, h[j], &st);

			if (rc != 0) {
				count(V_MON, rc);
				continue;
			}
			if (i >= 0 && st.percent_complete == i % 101 && !sh->t_seen[i])
				sh->t_seen[i] = now_ns();
		}
		jst_wait_changes(r, cursor, 20000000);
	}
	jst_detach(r);
	_exit(0);
}

static void victim_requester(int phase_no)
{
	jst_conn *c;
	char id[64];
	bool suspend = true;

	become(VICTIM);
	c = connect_or_die(false, NULL);
	snprintf(id, sizeof(id), "victim:p%d-rsc", phase_no);
	ready_then_wait();
	for (int k = 0; !stopping(); k++) {
		uint32_t code = 0;
		uint64_t t = now_ns();
		int rc = jst_request_state_change(c, id, suspend ? JST_REQ_SUSPEND : JST_REQ_START,
						  1000000000, &code);

		count(V_REQ, rc == 0 && code != JST_RSC_COMPLETED ? JST_EINVAL : rc);
		if (rc != 0 || code != JST_RSC_COMPLETED)
			fprintf(stderr, "noisy: victim's %s at %.3f s %s after %.1f ms: %s (code %u)%s\n",
				suspend ? "Suspend" : "Start", (double)(t % 1000000000000ull) / 1e9,
				jst_errname(rc),
				(double)(now_ns() - t) / 1e6, jst_conn_error(c), (unsigned)code,
				stopping() ? ", the phase had ended" : "");
		suspend = !suspend;
		if (k % 10 == 9) {
			jst_conn *c2 = NULL;
			struct jst_quota_use q;
			size_t n;

			rc = jst_connect(&(struct jst_connect_options){.socket_path = sock}, &c2);
			if (rc == 0)
				rc = jst_daemon_quotas(c2, &q, 1, &n);
			count(V_REQ, rc);
			if (rc != 0)
				fprintf(stderr, "noisy: victim's new connection: %s: %s\n",
					jst_errname(rc), c2 ? jst_conn_error(c2) : jst_last_error());
			jst_disconnect(c2);
		}
		usleep(50000);
	}
	sh->reconnects[V_REQ] = jst_conn_reconnects(c);
	__atomic_store_n(&sh->requester_done, 1, __ATOMIC_RELEASE); /* pairs with the parent's load after the phase */
	jst_disconnect(c);
	_exit(0);
}

/* ---- the hog ------------------------------------------------------------------------------- */

static void hog_create(int phase_no)
{
	static jst_handle h[4096];
	jst_conn *c;
	int n = 0;

	become(HOG);
	c = connect_or_die(true, NULL);
	ready_then_wait();
	for (long k = 0; !stopping(); k++) {
		char id[64];
		int rc;

		snprintf(id, sizeof(id), "hog:p%d-c%ld", phase_no, k);
		rc = jst_job_create(c, &(struct jst_job_spec){.instance_id = id}, &h[n], NULL);
		count(H_CREATE, rc);
		if (rc == 0 && n < 4095) {
			n++;
		} else if (rc == JST_EQUOTA || rc == JST_ENOSPC || n == 4095) {
			/* Refused: meet the quota a few hundred times, then make room. */
			for (int i = 0; i < 200 && !stopping(); i++)
				count(H_CREATE, jst_job_create(c, &(struct jst_job_spec){
							.instance_id = id}, &(jst_handle){0}, NULL));
			for (int i = 0; i < n; i++)
				count(H_CREATE, jst_job_remove(c, h[i], JST_REMOVE_NOW, NULL));
			n = 0;
		}
	}
	/* Each phase starts from an empty daemon: nothing of this one counts against the next. */
	for (int i = 0; i < n; i++)
		jst_job_remove(c, h[i], JST_REMOVE_NOW, NULL);
	jst_disconnect(c);
	_exit(0);
}

static void hog_errors(int phase_no)
{
	jst_handle h[ERR_JOBS];
	jst_conn *c;
	int n = 0;

	become(HOG);
	c = connect_or_die(true, NULL);
	for (int j = 0; j < ERR_JOBS; j++) {
		char id[64];

		snprintf(id, sizeof(id), "hog:p%d-e%d", phase_no, j);
		if (jst_job_create(c, &(struct jst_job_spec){.instance_id = id,
							    .initial_state = JST_JOB_RUNNING},
				   &h[n], NULL) == 0)
			n++;
	}
	if (n == 0)
		_exit(95);
	ready_then_wait();
	for (long k = 0; !stopping(); k++)
		count(H_ERROR, jst_job_report_error(
				       c, h[k % n],
				       &(struct jst_error){.message_id = "HOG0001",
							   .message = "noise, noise, noise"},
				       false));
	for (int j = 0; j < n; j++)
		jst_job_remove(c, h[j], JST_REMOVE_NOW, NULL);
	jst_disconnect(c);
	_exit(0);
}

static void hog_conns(void)
{
	static jst_conn *held[4096];
	int n = 0;

	become(HOG);
	ready_then_wait();
	while (!stopping()) {
		int rc = jst_connect(&(struct jst_connect_options){.socket_path = sock},
				     &held[n]);

		count(H_CONN, rc);
		if (rc == 0 && n < 4095) {
			n++;
			continue;
		}
		for (int i = 0; i < 200 && !stopping(); i++) {
			jst_conn *x = NULL;

			rc = jst_connect(&(struct jst_connect_options){.socket_path = sock}, &x);
			count(H_CONN, rc);
			jst_disconnect(x);
		}
		for (int i = 0; i < n; i++)
			jst_disconnect(held[i]);
		n = 0;
	}
	for (int i = 0; i < n; i++)
		jst_disconnect(held[i]);
	_exit(0);
}

static char rsc_ids[RSC_MAX][64];

static void *rsc_thread(void *arg)
{
	int t = (int)(intptr_t)arg;
	jst_conn *c = NULL;
	int rc = jst_connect(&(struct jst_connect_options){.socket_path = sock}, &c);

	count(H_RSC, rc);
	__atomic_fetch_add(&sh->ready, 1, __ATOMIC_RELEASE); /* pairs with the parent's acquire load of ready */
	if (rc != 0)
		return NULL;
	while (!__atomic_load_n(&sh->go, __ATOMIC_ACQUIRE) && !stopping()) /* pairs with the parent's release of go */
		usleep(200);
	while (!stopping()) {
		uint32_t code;

		count(H_RSC, jst_request_state_change(c, rsc_ids[t], JST_REQ_SUSPEND, 200000000,
						      &code));
	}
	jst_disconnect(c);
	return NULL;
}

static void hog_rsc(int phase_no)
{
	pthread_t th[RSC_MAX];
	jst_handle h[RSC_MAX];
	jst_conn *c;

	become(HOG);
	/* A producer that never dispatches: every request waits for its timeout. */
	c = connect_or_die(true, NULL);
	for (int t = 0; t < rsc_threads; t++) {
		snprintf(rsc_ids[t], sizeof(rsc_ids[t]), "hog:p%d-r%d", phase_no, t);
		if (jst_job_create(c, &(struct jst_job_spec){.instance_id = rsc_ids[t],
							    .initial_state = JST_JOB_RUNNING},
				   &h[t], NULL) != 0)
			_exit(96);
	}
	for (int t = 0; t < rsc_threads; t++)
		if (pthread_create(&th[t], NULL, rsc_thread, (void *)(intptr_t)t) != 0)
			_exit(97);
	/* One "ready" for the process; each thread adds its own. */
	__atomic_fetch_add(&sh->ready, 1, __ATOMIC_RELEASE);
	for (int t = 0; t < rsc_threads; t++)
		pthread_join(th[t], NULL);
	for (int t = 0; t < rsc_threads; t++)
		jst_job_remove(c, h[t], JST_REMOVE_NOW, NULL);
	jst_disconnect(c);
	_exit(0);
}

/* ---- the run ------------------------------------------------------------------------------- */

struct result {
	double upd_p50, upd_p99, vis_p50, vis_p99;
	uint64_t victim_ok, victim_err, missed;
	double daemon_cpu, daemon_wait, prod_wait_us;
	int n;
};

static pid_t spawn(void (*fn)(int), int arg)
{
	pid_t p = fork();

	if (p < 0) {
		perror("noisy: fork");
		exit(1);
	}
	if (p == 0)
		fn(arg);
	return p;
}

static void hog_conns_thunk(int unused)
{
	(void)unused;
	hog_conns();
}

static void wait_ready(int n)
{
	for (int i = 0; i < 30000 && __atomic_load_n(&sh->ready, __ATOMIC_ACQUIRE) < n; i++) { /* pairs with the children's release add */
		if (__atomic_load_n(&sh->setup_failed, __ATOMIC_ACQUIRE)) /* pairs with a child's release store */
			break;
		usleep(1000);
	}
	if (__atomic_load_n(&sh->ready, __ATOMIC_ACQUIRE) < n) { /* pairs with the children's release add */
		fprintf(stderr, "noisy: only %d of %d processes got ready\n", sh->ready, n);
		exit(1);
	}
}

static void print_codes(enum who w)
{
	uint64_t total = 0;

	for (int i = 0; i < NCODES; i++)
		total += sh->codes[w][i];
	if (!total)
		return;
	printf("    %-17s %10" PRIu64 " calls:", who_name[w], total);
	for (int i = 0; i < NCODES; i++)
		if (sh->codes[w][i])
			printf(" %s %" PRIu64, i ? jst_errname(-i) : "ok", sh->codes[w][i]);
	printf("\n");
}

static struct result run_phase(const struct phase *ph, int phase_no, double seconds, pid_t daemon)
{
	pid_t pids[8];
	int np = 0, want = 0, status;
	struct result res = {0};
	uint64_t cpu0, wait0, t0;
	double *vis;

	memset(sh, 0, sizeof(*sh));
	/* The producer first: its jobs must exist before the monitor looks them up. */
	pids[np++] = spawn(victim_producer, phase_no);
	wait_ready(++want);
	pids[np++] = spawn(victim_monitor, phase_no);
	pids[np++] = spawn(victim_requester, phase_no);
	want += 2;
	if (ph->hogs & (1u << H_ERROR)) {
		pids[np++] = spawn(hog_errors, phase_no);
		want++;
	}
	if (ph->hogs & (1u << H_RSC)) {
		pids[np++] = spawn(hog_rsc, phase_no);
		want += 1 + rsc_threads;
	}
	if (ph->hogs & (1u << H_CREATE)) {
		pids[np++] = spawn(hog_create, phase_no);
		want++;
	}
	if (ph->hogs & (1u << H_CONN)) {
		pids[np++] = spawn(hog_conns_thunk, 0);
		want++;
	}
	wait_ready(want);
	cpu0 = cpu_ns(daemon);
	wait0 = run_delay_ns(daemon);
	t0 = now_ns();
	__atomic_store_n(&sh->go, 1, __ATOMIC_RELEASE); /* pairs with the children's acquire loads of go */
	usleep((useconds_t)(seconds * 1e6));
	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
	res.daemon_cpu = (double)(cpu_ns(daemon) - cpu0) / (double)(now_ns() - t0);
	res.daemon_wait = (double)(run_delay_ns(daemon) - wait0) / (double)(now_ns() - t0);
	for (int i = 0; i < np; i++) {
		waitpid(pids[i], &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "noisy: %s: a process of the phase ended with %#x\n", ph->name,
				status);
			exit(1);
		}
	}

	res.n = sh->n_upd;
	vis = malloc(sizeof(double) * (size_t)(res.n ? res.n : 1));
	if (!vis || res.n < 10) {
		fprintf(stderr, "noisy: %s: only %d updates\n", ph->name, res.n);
		exit(1);
	}
	{
		int nv = 0;

		for (int i = 0; i < res.n; i++)
			if (sh->t_seen[i])
				vis[nv++] = (double)(sh->t_seen[i] - sh->t_send[i]) / 1000.0;
			else
				res.missed++;
		if (nv > 10) {
			struct dist d = summarize(vis, nv);

			res.vis_p50 = d.median;
			res.vis_p99 = d.p99;
		}
	}
	if (samples) {
		/* --samples: each update's send time in the phase (s) and round trip (us). */
		char fn[PATH_MAX];
		FILE *f;

		snprintf(fn, sizeof(fn), "%s-%02d-%s.csv", samples, phase_no, ph->name);
		f = fopen(fn, "w");
		if (!f) {
			fprintf(stderr, "noisy: %s: %s\n", fn, strerror(errno));
		} else {
			fprintf(f, "sent_s,round_trip_us\n");
			for (int i = 0; i < res.n; i++)
				fprintf(f, "%.6f,%.1f\n", (double)(sh->t_send[i] - sh->t_send[0]) / 1e9,
					sh->upd_us[i]);
			fclose(f);
		}
	}
	{
		struct dist d = summarize(sh->upd_us, res.n);

		res.upd_p50 = d.median;
		res.upd_p99 = d.p99;
	}
	for (enum who w = V_PROD; w <= V_REQ; w++)
		for (int i = 0; i < NCODES; i++) {
			if (i == 0)
				res.victim_ok += sh->codes[w][i];
			else
				res.victim_err += sh->codes[w][i];
		}
	res.prod_wait_us = (double)sh->prod_run_delay_ns / 1000.0 / res.n;
	free(vis);

	printf("  %-7s updates %5d  round trip p50 %7.1f us p99 %8.1f us | visible to the "
	       "monitor p50 %7.1f us p99 %8.1f us (not seen %" PRIu64 ")\n",
	       ph->name, res.n, res.upd_p50, res.upd_p99, res.vis_p50, res.vis_p99, res.missed);
	printf("          victim calls ok %" PRIu64 ", failed %" PRIu64
	       "; jobstatd on a CPU %.0f%%, runnable waiting for one %.0f%% of the phase; "
	       "the producer waited for a CPU %.1f us per update\n",
	       res.victim_ok, res.victim_err, res.daemon_cpu * 100, res.daemon_wait * 100,
	       res.prod_wait_us);
	printf("          the producer's slowest update %.1f ms (at %.3f s); reconnects: producer %"
	       PRIu64 ", requester %" PRIu64 "\n", (double)sh->longest_call_ns / 1e6,
	       (double)(sh->longest_call_at % 1000000000000ull) / 1e9, sh->reconnects[V_PROD],
	       sh->reconnects[V_REQ]);
	for (enum who w = 0; w < NWHO; w++)
		if (w > V_REQ || res.victim_err)
			print_codes(w);
	fflush(stdout);
	return res;
}

static int cmp_dbl(const void *a, const void *b)
{
	return cmp_double(a, b);
}

int main(int argc, char **argv)
{
	bool quick = false;
	const char *only = NULL;
	const struct phase *run[8];
	double seconds = 0;
	int rounds = 0, nph, d_status;
	char rundir[] = "/tmp/jst-noisy-XXXXXX";
	struct rlimit rl = {8192, 8192};
	pid_t d;
	jst_conn *c = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick"))
			quick = true;
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--hog-nice") && i + 1 < argc)
			hog_nice = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--daemon-nice") && i + 1 < argc)
			daemon_nice = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--user-slices"))
			user_slices = true;
		else if (!strcmp(argv[i], "--as-deployed"))
			as_deployed = true;
		else if (!strcmp(argv[i], "--samples") && i + 1 < argc)
			samples = argv[++i];
		else if (!strcmp(argv[i], "--rsc-threads") && i + 1 < argc)
			rsc_threads = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--phase") && i + 1 < argc)
			only = argv[++i];
		else {
			fprintf(stderr, "usage: noisy [--quick] [--seconds S] [--rounds N] [--hog-nice N] [--daemon-nice N] [--user-slices] [--as-deployed] [--samples PREFIX] [--rsc-threads N] [--phase flood|create|errors|conns|rsc]\n");
			return 2;
		}
	}
	if (seconds <= 0)
		seconds = quick ? 2 : 4;
	if (rounds <= 0)
		rounds = quick ? 1 : 3;
	if (seconds * 1000 > MAXS - 1000) {
		fprintf(stderr, "noisy: --seconds at most %d\n", MAXS / 1000 - 1);
		return 2;
	}
	if (rsc_threads < 1 || rsc_threads > RSC_MAX) {
		fprintf(stderr, "noisy: --rsc-threads 1..%d\n", RSC_MAX);
		return 2;
	}
	/* quiet first in every round: each flood phase is compared with it. */
	nph = 0;
	run[nph++] = &phases[0];
	for (size_t p = 1; p < sizeof(phases) / sizeof(phases[0]); p++)
		if (only ? !strcmp(only, phases[p].name) : (!quick || p == 1))
			run[nph++] = &phases[p];
	if (nph < 2) {
		fprintf(stderr, "noisy: no phase \"%s\" (flood, create, errors, conns, rsc)\n", only);
		return 2;
	}
	if (geteuid() != 0) {
		printf("noisy: skipped: needs root to play the hog's and the victim's uids\n");
		return 0;
	}
	if (as_deployed) {
		daemon_nice = daemon_nice ? daemon_nice : -5; /* systemd/jobstatd.service.in */
		user_slices = slices_make() == 0 && slices_usable();
		if (!user_slices) {
			slices_remove();
			printf("noisy: --as-deployed: no per-user CPU cgroups here; jobstatd's nice "
			       "value only\n");
		}
	} else if (user_slices && slices_make() < 0) {
		slices_remove();
		return 1;
	}
	if (user_slices)
		atexit(slices_remove); /* also on the early returns below (rmdir of a busy one fails) */
	/* The hog holds hundreds of connections; the daemon inherits the limit too. */
	setrlimit(RLIMIT_NOFILE, &rl);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED || !mkdtemp(rundir))
		return 1;
	chmod(rundir, 0755); /* the other uids' clients must reach the socket */
	snprintf(ns, sizeof(ns), "bench-noisy-%ld", (long)getpid());
	snprintf(sock, sizeof(sock), "%s/%s.sock", rundir, ns);
	d = fork();
	if (d == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (daemon_nice && setpriority(PRIO_PROCESS, 0, daemon_nice) < 0)
			_exit(126);
		execl(JST_BUILD_DIR "/jobstatd", "jobstatd", "-f", "-n", ns, "-c", "4096", "-g",
		      "65534", "--runtime-dir", rundir, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && jst_connect(&(struct jst_connect_options){.socket_path = sock},
					       &c) != 0; i++)
		usleep(10000);
	if (!c) {
		fprintf(stderr, "noisy: jobstatd did not come up\n");
		return 1;
	}
	{
		struct jst_quota_use q[4];
		size_t n = 0;

		jst_daemon_quotas(c, q, 4, &n);
		jst_disconnect(c);
		printf("noisy neighbour%s: victim uid %d (producer, monitor, requester) vs hog uid %d; "
		       "%d round(s) of %.0f s phases; jobstatd -c 4096, default quotas%s\n",
		       as_deployed ? ", as deployed" : "", VICTIM, HOG, rounds, seconds,
		       quick ? " (--quick)" : "");
		if (hog_nice)
			printf("the hog's processes at nice %d\n", hog_nice);
		if (daemon_nice)
			printf("jobstatd at nice %d\n", daemon_nice);
		if (user_slices)
			printf("each uid in a CPU cgroup of its own, equal weight (%s, %s)\n",
			       slice_dir[0], slice_dir[1]);
		if (rsc_threads != 80)
			printf("the hog's requests from %d connections\n", rsc_threads);
		printf("(calls counted per process: the hogs' include their connects and removes)\n");
	}
	{
		double r50[16], r99[16], v99[16];
		uint64_t errs = 0;
		int nr = 0;

		for (int r = 0; r < rounds; r++) {
			struct result base = {0};

			printf("round %d\n", r + 1);
			for (int p = 0; p < nph; p++) {
				struct result x = run_phase(run[p], r * 16 + p, seconds, d);

				errs += x.victim_err;
				if (p == 0) {
					base = x;
					continue;
				}
				printf("          %s/quiet: round trip p50 %.2fx p99 %.2fx, visible p99 "
				       "%.2fx\n",
				       run[p]->name, x.upd_p50 / base.upd_p50,
				       x.upd_p99 / base.upd_p99, x.vis_p99 / base.vis_p99);
				if (p == 1 && nr < 16) {
					r50[nr] = x.upd_p50 / base.upd_p50;
					r99[nr] = x.upd_p99 / base.upd_p99;
					v99[nr++] = x.vis_p99 / base.vis_p99;
				}
			}
		}
		qsort(r99, (size_t)nr, sizeof(double), cmp_dbl);
		qsort(r50, (size_t)nr, sizeof(double), cmp_dbl);
		qsort(v99, (size_t)nr, sizeof(double), cmp_dbl);
		printf("summary over %d round(s), %s/quiet: round trip p50 %.2fx (%.2f..%.2f), "
		       "p99 %.2fx (%.2f..%.2f); visible p99 %.2fx (%.2f..%.2f)\n",
		       nr, run[1]->name, r50[nr / 2], r50[0], r50[nr - 1], r99[nr / 2], r99[0], r99[nr - 1],
		       v99[nr / 2], v99[0], v99[nr - 1]);
		printf("target: the victim sees no error: %s (%" PRIu64 " failed calls); its update "
		       "p99 within 2x: %s\n",
		       errs ? "MISSED" : "met", errs,
		       r99[nr - 1] <= 2.0   ? "met in every round"
		       : r99[nr / 2] <= 2.0 ? "met in the median round only (is the quiet p99 noisy?)"
					    : "MISSED");
	}
	kill(d, SIGTERM);
	waitpid(d, &d_status, 0);
	rmdir(rundir);
	slices_remove();
	{
		/* The daemon stops cleanly and leaves its segment to adopt: ours to remove. */
		char shm[JST_SHM_NAME_MAX], lock[JST_SHM_NAME_MAX + 8];

		if (jst_shm_name(ns, shm, sizeof(shm)) == 0) {
			shm_unlink(shm);
			snprintf(lock, sizeof(lock), "%s.lock", shm);
			shm_unlink(lock);
		}
	}
	return 0;
}
