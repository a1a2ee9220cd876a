/* SPDX-License-Identifier: MIT */
/*
 * test_lifecycle.c - proves the producer API through the real jobstatd: an
 * acknowledged change is already visible in the segment, JobState moves
 * only as the CIM model allows (an invalid move is refused and changes
 * nothing), OperationalStatus follows JobState unless the producer sets it,
 * batches report each update's result, an error can fail a job, and
 * removal honours TimeBeforeRemoval and DeleteOnCompletion.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <time.h>

#include "testdaemon.h"

static struct test_daemon d;

static void setup(void)
{
	test_daemon_init(&d, "life");
	test_daemon_start(&d);
}

static void teardown(void)
{
	test_daemon_cleanup(&d);
}

TestSuite(lifecycle, .init = setup, .fini = teardown, .timeout = 60);

static void ops_are(const struct jst_status *st, unsigned n, uint16_t a, uint16_t b)
{
	cr_assert_eq(st->n_operational_status, n, "%u values, want %u", st->n_operational_status,
		     n);
	cr_assert_eq(st->operational_status[0], a);
	if (n > 1)
		cr_assert_eq(st->operational_status[1], b);
}

Test(lifecycle, an_acknowledged_change_is_already_visible)
{
	jst_conn *c = test_connect(&d, true, 0, NULL, NULL);
	jst_reader *r = test_attach(&d);
	char id[JST_ID_MAX + 1];
	struct jst_status st;
	struct jst_job *job = malloc(sizeof(*job));
	jst_handle h, found;

	cr_assert_eq(jst_job_create(c, NULL, &h, id), 0, "%s", jst_conn_error(c));
	cr_assert_eq(strncmp(id, "jobstat:", 8), 0, "generated InstanceID %s", id);
	cr_assert_eq(jst_lookup(r, id, &found), 0);
	cr_assert_eq(found.slot, h.slot);
	st = test_read(r, h);
	cr_assert_eq(st.job_state, JST_JOB_NEW);
	ops_are(&st, 1, JST_OPS_DORMANT, 0);
	cr_assert_eq(st.owner_uid, getuid());
	cr_assert_neq(st.time_submitted, 0);
	cr_assert_eq(st.start_time, 0, "not started yet");
	cr_assert_eq(st.time_before_removal_ns, JST_DEFAULT_TIME_BEFORE_REMOVAL_NS);
	cr_assert(st.flags & JST_STATUS_CANCELLABLE);
	cr_assert_eq(st.producer_session, jst_session(c));
	cr_assert_eq(jst_job(r, h, job), 0);
	cr_assert_str_eq(job->name, "job", "CIM requires a Name; the default is given");
	cr_assert_eq(st.time_of_last_state_change, 0,
		     "TimeOfLastStateChange is NULL until the state changes (0.1.0 set it at creation)");

	/* No sleep anywhere: each read follows the acknowledgement directly. */
	cr_assert_eq(jst_job_set_state(c, h, JST_JOB_RUNNING), 0, "%s", jst_conn_error(c));
	st = test_read(r, h);
	cr_assert_eq(st.job_state, JST_JOB_RUNNING);
	ops_are(&st, 1, JST_OPS_OK, 0);
	cr_assert_neq(st.start_time, 0);
	for (uint16_t p = 1; p <= 99; p++) {
		cr_assert_eq(jst_job_set_progress(c, h, p), 0);
		cr_assert_eq(test_read(r, h).percent_complete, p);
	}
	cr_assert_eq(jst_job_complete(c, h), 0);
	st = test_read(r, h);
	cr_assert_eq(st.job_state, JST_JOB_COMPLETED);
	cr_assert_eq(st.percent_complete, 100);
	ops_are(&st, 2, JST_OPS_COMPLETED, JST_OPS_OK);
	cr_assert_geq(st.time_of_last_state_change, st.start_time);
	cr_assert_eq(st.elapsed_ns, st.time_of_last_state_change - st.start_time);
	free(job);
	jst_detach(r);
	jst_disconnect(c);
}

Test(lifecycle, an_invalid_transition_is_refused_and_changes_nothing)
{
	static const struct {
		uint16_t from, to;
	} bad[] = {
		{JST_JOB_COMPLETED, JST_JOB_RUNNING}, {JST_JOB_TERMINATED, JST_JOB_COMPLETED},
		{JST_JOB_RUNNING, JST_JOB_NEW},       {JST_JOB_SHUTTING_DOWN, JST_JOB_RUNNING},
		{JST_JOB_RUNNING, 13},                {JST_JOB_RUNNING, 0},
		{JST_JOB_EXCEPTION, JST_JOB_RUNNING}, {JST_JOB_RUNNING, JST_JOB_STARTING},
	};
	jst_conn *c = test_connect(&d, true, 0, NULL, NULL);
	jst_reader *r = test_attach(&d);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct jst_job_spec spec = {.initial_state = JST_JOB_RUNNING};
		struct jst_status before, after;
		jst_handle h;

		cr_assert_eq(jst_job_create(c, &spec, &h, NULL), 0);
		if (bad[i].from == JST_JOB_SHUTTING_DOWN || bad[i].from != JST_JOB_RUNNING)
			cr_assert_eq(jst_job_set_state(c, h, bad[i].from), 0, "%s",
				     jst_conn_error(c));
		before = test_read(r, h);
		cr_assert_eq(jst_job_set_state(c, h, bad[i].to), JST_ETRANSITION, "%u -> %u",
			     bad[i].from, bad[i].to);
		cr_assert_not_null(strstr(jst_conn_error(c), "cannot become"), "%s",
				   jst_conn_error(c));
		cr_assert_eq(jst_job_state_check(bad[i].from, bad[i].to), JST_ETRANSITION);
		after = test_read(r, h);
		cr_assert_eq(after.change_seq, before.change_seq, "nothing was published");
		cr_assert_eq(after.job_state, bad[i].from);
	}
	/* A job cannot be created already finished. */
	{
		struct jst_job_spec spec = {.initial_state = JST_JOB_COMPLETED};
		jst_handle h;

		cr_assert_eq(jst_job_create(c, &spec, &h, NULL), JST_ETRANSITION);
	}
	jst_detach(r);
	jst_disconnect(c);
}

Test(lifecycle, operational_status_follows_state_unless_the_producer_sets_it)
{
	static const struct {
		uint16_t state;
		unsigned n;
		uint16_t a, b;
	} follow[] = {
		{JST_JOB_STARTING, 1, JST_OPS_STARTING, 0},
		{JST_JOB_RUNNING, 1, JST_OPS_OK, 0},
		{JST_JOB_SUSPENDED, 1, JST_OPS_OK, 0},
		{JST_JOB_SERVICE, 1, JST_OPS_IN_SERVICE, 0},
		{JST_JOB_SHUTTING_DOWN, 1, JST_OPS_STOPPING, 0},
		{JST_JOB_EXCEPTION, 2, JST_OPS_COMPLETED, JST_OPS_ERROR},
	};
	jst_conn *c = test_connect(&d, true, 0, NULL, NULL);
	jst_reader *r = test_attach(&d);
	struct jst_job *job = malloc(sizeof(*job));
	struct jst_update u = {0};
	jst_handle h, k;

	cr_assert_eq(jst_job_create(c, NULL, &h, NULL), 0);
	for (size_t i = 0; i < sizeof(follow) / sizeof(follow[0]); i++) {
		cr_assert_eq(jst_job_set_state(c, h, follow[i].state), 0, "%s", jst_conn_error(c));
		{
			struct jst_status st = test_read(r, h);

			ops_are(&st, follow[i].n, follow[i].a, follow[i].b);
		}
	}
	/* The producer's own OperationalStatus and descriptions win, and stay with a state. */
	cr_assert_eq(jst_job_create(c, NULL, &k, NULL), 0);
	u.handle = k;
	u.set = JST_SET_STATE | JST_SET_OP_STATUS | JST_SET_JOB_STATUS;
	u.job_state = JST_JOB_RUNNING;
	u.n_operational_status = 2;
	u.operational_status[0] = JST_OPS_DEGRADED;
	u.operational_status[1] = JST_OPS_OK;
	u.status_descriptions[0] = "one mirror is down";
	u.job_status = "copying block 17 of 40";
	cr_assert_eq(jst_update(c, &u, 1, NULL), 0, "%s", jst_conn_error(c));
	cr_assert_eq(jst_job(r, k, job), 0);
	ops_are(&job->status, 2, JST_OPS_DEGRADED, JST_OPS_OK);
	cr_assert_eq(job->n_status_descriptions, 2);
	cr_assert_str_eq(job->status_descriptions[0], "one mirror is down");
	cr_assert_null(job->status_descriptions[1]);
	cr_assert_str_eq(job->job_status, "copying block 17 of 40");
	cr_assert_eq(jst_job_set_progress(c, k, 50), 0);
	cr_assert_eq(jst_job(r, k, job), 0);
	ops_are(&job->status, 2, JST_OPS_DEGRADED, JST_OPS_OK); /* a progress update keeps it */
	cr_assert_str_eq(job->job_status, "copying block 17 of 40");
	/* A new state without an OperationalStatus goes back to the default, descriptions too. */
	cr_assert_eq(jst_job_set_state(c, k, JST_JOB_SUSPENDED), 0);
	cr_assert_eq(jst_job(r, k, job), 0);
	ops_are(&job->status, 1, JST_OPS_OK, 0);
	cr_assert_eq(job->n_status_descriptions, 0);
	free(job);
	jst_detach(r);
	jst_disconnect(c);
}

Test(lifecycle, a_batch_reports_each_update_and_applies_the_good_ones)
{
	enum { JOBS = 100, N = 3000 };
	jst_conn *c = test_connect(&d, true, 0, NULL, NULL);
	jst_reader *r = test_attach(&d);
	struct jst_update *u = calloc(N, sizeof(*u));
	int *res = calloc(N, sizeof(*res));
	jst_handle h[JOBS];

	for (int j = 0; j < JOBS; j++) {
		struct jst_job_spec spec = {.initial_state = JST_JOB_RUNNING};

		cr_assert_eq(jst_job_create(c, &spec, &h[j], NULL), 0);
	}
	for (int i = 0; i < N; i++) {
		u[i].handle = h[i % JOBS];
		u[i].set = JST_SET_PERCENT;
		u[i].percent_complete = (uint16_t)(i / JOBS);
	}
	u[7].set = JST_SET_STATE;
	u[7].job_state = JST_JOB_NEW;               /* invalid transition */
	u[1500].handle.gen += 1;                     /* a job that is not there */
	u[2000].percent_complete = 102;              /* out of range */
	cr_assert_eq(jst_update(c, u, N, res), JST_ETRANSITION, "the first failure is returned");
	for (int i = 0; i < N; i++) {
		int want = i == 7 ? JST_ETRANSITION : i == 1500 ? JST_ESTALE
				     : i == 2000 ? JST_EINVAL : 0;

		cr_assert_eq(res[i], want, "update %d: %s", i, jst_errname(res[i]));
	}
	/* Each job shows the last of its updates that succeeded. */
	for (int j = 0; j < JOBS; j++) {
		int last = (N - JOBS) + j;

		cr_assert_eq(test_read(r, h[j]).percent_complete, u[last].percent_complete);
	}
	free(u);
	free(res);
	jst_detach(r);
	jst_disconnect(c);
}

Test(lifecycle, an_error_fails_the_job_and_is_readable)
{
	jst_conn *c = test_connect(&d, true, 0, NULL, NULL);
	jst_reader *r = test_attach(&d);
	struct jst_error e = {
		.error_type = 4, .message_id = "DISK0042", .message = "disk full on /srv",
		.perceived_severity = 6, .probable_cause = 47, .cim_status_code = 1,
		.n_message_arguments = 1, .message_arguments = {"/srv"}, .hresult = 0x80070070,
	};
	struct jst_error *got = malloc(sizeof(*got));
	struct jst_job *job = malloc(sizeof(*job));
	struct jst_status st;
	jst_handle h;

	cr_assert_eq(jst_job_create(c, &(struct jst_job_spec){.initial_state = 4}, &h, NULL), 0);
	/* A warning: recorded, the job runs on. */
	cr_assert_eq(jst_job_report_error(c, h, &(struct jst_error){.message_id = "W1"}, false),
		     0);
	st = test_read(r, h);
	cr_assert_eq(st.job_state, JST_JOB_RUNNING);
	cr_assert_eq(st.n_errors, 1);
	/* A failure: error, state and ErrorDescription in one version. */
	cr_assert_eq(jst_job_report_error(c, h, &e, true), 0, "%s", jst_conn_error(c));
	cr_assert_eq(jst_job(r, h, job), 0);
	cr_assert_eq(job->status.job_state, JST_JOB_EXCEPTION);
	ops_are(&job->status, 2, JST_OPS_COMPLETED, JST_OPS_ERROR);
	cr_assert_eq(job->status.n_errors, 2);
	cr_assert_str_eq(job->error_description, "disk full on /srv");
	cr_assert_eq(jst_error_read(r, h, 1, got), 0);
	cr_assert_str_eq(got->message_id, "DISK0042");
	cr_assert_str_eq(got->message_arguments[0], "/srv");
	cr_assert_eq(got->probable_cause, 47);
	cr_assert_eq(got->hresult, 0x80070070u);
	cr_assert_eq(got->job_state, JST_JOB_RUNNING, "the state when it was reported");
	/* A final job cannot fail again; a CIM_Error without MessageID is refused. */
	cr_assert_eq(jst_job_report_error(c, h, &e, true), JST_ETRANSITION);
	cr_assert_eq(jst_job_report_error(c, h, &(struct jst_error){0}, false), JST_EINVAL);
	cr_assert_eq(test_read(r, h).n_errors, 2);
	free(got);
	free(job);
	jst_detach(r);
	jst_disconnect(c);
}

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Wait up to @ms for the job behind @h to go; return how long it took. */
static int64_t wait_gone(jst_reader *r, jst_handle h, int ms)
{
	struct jst_status st;
	uint64_t t0 = wall_ns();

	for (int i = 0; i < ms; i++) {
		if (jst_status(r, h, &st) == JST_ESTALE)
			return (int64_t)((wall_ns() - t0) / 1000000);
		usleep(1000);
	}
	return -1;
}

Test(lifecycle, removal_waits_for_time_before_removal)
{
	const int64_t tbr = 300 * 1000 * 1000;
	jst_conn *c = test_connect(&d, true, 0, NULL, NULL);
	jst_reader *r = test_attach(&d);
	struct jst_job_spec spec = {.initial_state = JST_JOB_RUNNING, .time_before_removal_ns = tbr};
	uint64_t when = 0, t0;
	jst_handle h, k;

	cr_assert_eq(jst_job_create(c, &spec, &h, NULL), 0);
	cr_assert_eq(jst_job_remove(c, h, 0, NULL), JST_ENOTFINISHED, "a running job stays");
	cr_assert_not_null(strstr(jst_conn_error(c), "not final"));
	cr_assert_eq(jst_job_complete(c, h), 0);
	t0 = wall_ns();
	cr_assert_eq(jst_job_remove(c, h, 0, &when), 0, "%s", jst_conn_error(c));
	cr_assert_geq(when, t0 + (uint64_t)tbr - 50000000u, "removal is scheduled, not done");
	cr_assert_eq(jst_status(r, h, &(struct jst_status){0}), 0, "still there right after");
	cr_assert_geq(wait_gone(r, h, 3000), 150, "gone after TimeBeforeRemoval, not before");
	cr_assert_eq(jst_job_set_progress(c, h, 1), JST_ESTALE, "its handle is stale");

	/* JST_REMOVE_NOW removes whatever the state. */
	cr_assert_eq(jst_job_create(c, &spec, &k, NULL), 0);
	cr_assert_eq(jst_job_remove(c, k, JST_REMOVE_NOW, NULL), 0);
	cr_assert_eq(jst_status(r, k, &(struct jst_status){0}), JST_ESTALE);
	jst_detach(r);
	jst_disconnect(c);
}

Test(lifecycle, delete_on_completion_removes_after_time_before_removal)
{
	jst_conn *c = test_connect(&d, true, 0, NULL, NULL);
	jst_reader *r = test_attach(&d);
	struct jst_job_spec doc = {.initial_state = JST_JOB_RUNNING, .delete_on_completion = true,
				   .time_before_removal_ns = 300 * 1000 * 1000};
	struct jst_job_spec keep = doc;
	jst_handle a, b;
	int64_t took;

	keep.delete_on_completion = false;
	cr_assert_eq(jst_job_create(c, &doc, &a, NULL), 0);
	cr_assert_eq(jst_job_create(c, &keep, &b, NULL), 0);
	cr_assert(test_read(r, a).flags & JST_STATUS_DELETE_ON_COMPLETION);
	usleep(400 * 1000);
	cr_assert_eq(jst_status(r, a, &(struct jst_status){0}), 0, "a running job is not removed");
	cr_assert_eq(jst_job_complete(c, a), 0);
	cr_assert_eq(jst_job_complete(c, b), 0);
	took = wait_gone(r, a, 3000);
	cr_assert_geq(took, 150, "removed %lld ms after completion", (long long)took);
	usleep(300 * 1000);
	cr_assert_eq(jst_status(r, b, &(struct jst_status){0}), 0, "without it, the job stays");
	jst_detach(r);
	jst_disconnect(c);
}
