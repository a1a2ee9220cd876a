/* SPDX-License-Identifier: MIT */
/*
 * test_geterror.c - proves GetError as the seeds define it, through the real
 * daemon: CIM and Hyper-V give the latest CIM_Error only while no
 * OperationalStatus is OK; Delivery Optimization gives its error object only
 * in ERROR or TRANSIENT_ERROR and until the job transfers again; GetErrors
 * gives every retained error, oldest first, consistently while errors keep
 * coming; transfer jobs follow the BITS transitions and refuse calls on a
 * final job; and every flavour's return codes are the seeds' own.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "testdaemon.h"

static struct test_daemon d;
static jst_conn *c;
static jst_reader *r;
static struct jst_error *e;

static void setup(void)
{
	test_daemon_init(&d, "geterr");
	d.args[0] = "--lost-grace";
	d.args[1] = "0.2";
	test_daemon_start(&d);
	c = test_connect(&d, true, 0, NULL, NULL);
	r = test_attach(&d);
	e = malloc(sizeof(*e) * JST_ERRORS_KEPT);
}

static void teardown(void)
{
	free(e);
	jst_detach(r);
	jst_disconnect(c);
	test_daemon_cleanup(&d);
}

TestSuite(geterror, .init = setup, .fini = teardown, .timeout = 60);

static struct jst_error err(const char *id)
{
	return (struct jst_error){.message_id = id, .message = id, .error_type = 4};
}

static int get(jst_handle h, unsigned flavour)
{
	return jst_get_error(r, h, flavour, e);
}

Test(geterror, cim_and_hyperv_give_an_error_only_while_not_ok)
{
	struct jst_error w = err("WARN1"), f = err("FAIL1");
	uint32_t code = 0;
	size_t n = 99;
	jst_handle h, k;

	cr_assert_eq(jst_job_create(c, &(struct jst_job_spec){.instance_id = "g:1",
							       .initial_state = 4}, &h, NULL), 0);
	cr_assert_eq(get(h, JST_FLAVOUR_CIM), JST_ENOERROR, "running, no error: NULL");
	cr_assert_eq(jst_job_report_error(c, h, &w, false), 0);
	cr_assert_eq(get(h, JST_FLAVOUR_CIM), JST_ENOERROR, "running with a warning: still NULL");
	cr_assert_eq(get(h, JST_FLAVOUR_HYPERV), JST_ENOERROR);
	cr_assert_eq(jst_method_code(JST_ENOERROR, JST_FLAVOUR_CIM), 0, "Success, with NULL");
	cr_assert_eq(jst_method_code(JST_ENOERROR, JST_FLAVOUR_HYPERV), 0);
	cr_assert_eq(jst_get_errors(r, h, JST_FLAVOUR_CIM, e, JST_ERRORS_KEPT, &n), JST_ENOERROR);
	cr_assert_eq(n, 0);

	cr_assert_eq(jst_job_report_error(c, h, &f, true), 0);
	cr_assert_eq(get(h, JST_FLAVOUR_CIM), 0, "failed: the error");
	cr_assert_str_eq(e->message_id, "FAIL1", "the latest one");
	cr_assert_eq(get(h, JST_FLAVOUR_HYPERV), 0);
	cr_assert_str_eq(e->message_id, "FAIL1");
	cr_assert_eq(jst_get_errors(r, h, JST_FLAVOUR_HYPERV, e, JST_ERRORS_KEPT, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(e[0].message_id, "WARN1", "oldest first");
	cr_assert_str_eq(e[1].message_id, "FAIL1");
	cr_assert_eq(get(h, JST_FLAVOUR_DO), JST_ENOERROR, "DO: not a transfer job");
	cr_assert_eq(jst_get_errors(r, h, JST_FLAVOUR_DO, e, JST_ERRORS_KEPT, &n), JST_ENOTSUP);

	/* Completed after a warning: no error, since it ended well. */
	cr_assert_eq(jst_job_create(c, &(struct jst_job_spec){.instance_id = "g:2",
							       .initial_state = 4}, &k, NULL), 0);
	cr_assert_eq(jst_job_report_error(c, k, &w, false), 0);
	cr_assert_eq(jst_job_complete(c, k), 0);
	cr_assert_eq(get(k, JST_FLAVOUR_CIM), JST_ENOERROR);

	/* Terminated by a client (no producer here to refuse): the record of who did it. */
	cr_assert_eq(jst_job_create(c, &(struct jst_job_spec){.instance_id = "g:3",
							       .initial_state = 4}, &k, NULL), 0);
	{
		jst_conn *other = test_connect(&d, false, 0, NULL, NULL);

		jst_disconnect(c); /* the producer goes: the daemon terminates it itself */
		cr_assert_eq(jst_request_state_change(other, "g:3", JST_REQ_TERMINATE, 0, &code),
			     0);
		jst_disconnect(other);
		c = test_connect(&d, true, 0, NULL, NULL);
	}
	cr_assert_eq(get(k, JST_FLAVOUR_CIM), 0);
	cr_assert_str_eq(e->message_id, "JST0001");
	cr_assert_eq(get(h, 7), JST_EINVAL, "an unknown flavour");
	cr_assert_eq(jst_get_error(r, (jst_handle){h.slot, h.gen + 1}, JST_FLAVOUR_CIM, e),
		     JST_ESTALE);
}

static int set_bg(jst_handle h, uint16_t bg)
{
	struct jst_update u = {.handle = h, .set = JST_SET_TRANSFER_STATE, .transfer_state = bg};

	return jst_update(c, &u, 1, NULL);
}

static void shows(jst_handle h, uint16_t bg, uint16_t js, uint16_t op0)
{
	struct jst_status st = test_read(r, h);

	cr_assert_eq(st.transfer_state, bg + 1, "transfer state %u, want %s", st.transfer_state,
		     jst_transfer_state_name(bg));
	cr_assert_eq(st.job_state, js, "%s: JobState %u, want %u", jst_transfer_state_name(bg),
		     st.job_state, js);
	cr_assert_eq(st.operational_status[0], op0);
}

Test(geterror, delivery_optimization_error_object_lives_from_error_until_transferring)
{
	struct jst_error x = {
		.message_id = "DO1", .message = "The server returned 503", .hresult = 0x80190193,
		.context = 5 /* REMOTE_FILE */, .file = "https://example.org/big.iso",
	};
	uint32_t code = 0;
	jst_handle h;

	cr_assert_eq(jst_job_create(c, &(struct jst_job_spec){.instance_id = "do:1",
							       .transfer = true}, &h, NULL), 0);
	shows(h, JST_BG_SUSPENDED, JST_JOB_SUSPENDED, JST_OPS_OK); /* a new job starts SUSPENDED */
	cr_assert_eq(set_bg(h, JST_BG_TRANSFERRING), JST_ETRANSITION, "Resume goes through QUEUED");
	cr_assert_eq(set_bg(h, JST_BG_QUEUED), 0);
	shows(h, JST_BG_QUEUED, JST_JOB_STARTING, JST_OPS_DORMANT);
	cr_assert_eq(set_bg(h, JST_BG_TRANSFERRING), 0);
	shows(h, JST_BG_TRANSFERRING, JST_JOB_RUNNING, JST_OPS_OK);
	cr_assert_eq(get(h, JST_FLAVOUR_DO), JST_ENOERROR);
	cr_assert_eq(jst_method_code(JST_ENOERROR, JST_FLAVOUR_DO),
		     JST_DO_E_ERROR_INFORMATION_UNAVAILABLE);
	/* An error reported while transferring is no DO error object. */
	cr_assert_eq(jst_job_report_error(c, h, &x, false), 0);
	cr_assert_eq(get(h, JST_FLAVOUR_DO), JST_ENOERROR);

	cr_assert_eq(set_bg(h, JST_BG_TRANSIENT_ERROR), 0);
	shows(h, JST_BG_TRANSIENT_ERROR, JST_JOB_RUNNING, JST_OPS_DEGRADED);
	cr_assert_eq(get(h, JST_FLAVOUR_DO), 0, "in TRANSIENT_ERROR the object exists");
	cr_assert_eq(jst_method_code(0, JST_FLAVOUR_DO), JST_DO_S_OK);
	cr_assert_eq(e->hresult, 0x80190193u);
	cr_assert_eq(e->context, 5);
	cr_assert_str_eq(e->file, "https://example.org/big.iso");
	cr_assert_str_eq(e->message, "The server returned 503");
	cr_assert_eq(get(h, JST_FLAVOUR_CIM), JST_ENOERROR,
		     "TRANSIENT_ERROR is Running {Degraded}: still executing, so CIM gives NULL");
	cr_assert_eq(set_bg(h, JST_BG_QUEUED), 0);
	cr_assert_eq(get(h, JST_FLAVOUR_DO), 0, "still there until it transfers");
	cr_assert_eq(set_bg(h, JST_BG_TRANSFERRING), 0);
	cr_assert_eq(get(h, JST_FLAVOUR_DO), JST_ENOERROR, "gone once it transfers again");

	/* A failure: ERROR, waiting for the application (Resume or Cancel). */
	x.message_id = "DO2";
	cr_assert_eq(jst_job_report_error(c, h, &x, true), 0);
	shows(h, JST_BG_ERROR, JST_JOB_QUERY_PENDING, JST_OPS_ERROR);
	cr_assert_eq(get(h, JST_FLAVOUR_DO), 0);
	cr_assert_str_eq(e->message_id, "DO2");
	cr_assert_eq(get(h, JST_FLAVOUR_CIM), 0, "ERROR is Query Pending {Error}: CIM gives it");
	cr_assert_str_eq(e->message_id, "DO2");
	cr_assert_eq(set_bg(h, JST_BG_TRANSFERRED), JST_ETRANSITION);
	cr_assert_eq(set_bg(h, JST_BG_QUEUED), 0, "Resume");
	cr_assert_eq(set_bg(h, JST_BG_TRANSFERRING), 0);
	/* A new episode with no error reported: the object is not the last episode's. */
	cr_assert_eq(set_bg(h, JST_BG_TRANSIENT_ERROR), 0);
	cr_assert_eq(get(h, JST_FLAVOUR_DO), JST_ENOERROR,
		     "TRANSIENT_ERROR with no new error gave an earlier episode's error");
	x.message_id = "DO3";
	cr_assert_eq(jst_job_report_error(c, h, &x, false), 0);
	cr_assert_eq(get(h, JST_FLAVOUR_DO), 0, "this episode's error, reported in it");
	cr_assert_str_eq(e->message_id, "DO3");
	cr_assert_eq(set_bg(h, JST_BG_TRANSFERRING), 0);
	cr_assert_eq(set_bg(h, JST_BG_TRANSFERRED), 0);
	shows(h, JST_BG_TRANSFERRED, JST_JOB_SHUTTING_DOWN, JST_OPS_STOPPING);
	cr_assert_eq(set_bg(h, JST_BG_ACKNOWLEDGED), 0, "Complete");
	shows(h, JST_BG_ACKNOWLEDGED, JST_JOB_COMPLETED, JST_OPS_COMPLETED);

	/* Calls on a final job are refused: DO_E_INVALID_STATE. */
	cr_assert_eq(set_bg(h, JST_BG_QUEUED), JST_ETRANSITION);
	cr_assert_eq(jst_method_code(JST_ETRANSITION, JST_FLAVOUR_DO), JST_DO_E_INVALID_STATE);
	cr_assert_eq(jst_request_state_change(c, "do:1", JST_REQ_START, 0, &code), JST_ETRANSITION);
	cr_assert_eq(code, JST_RSC_INVALID_TRANSITION);
	cr_assert_eq(jst_job_set_state(c, h, JST_JOB_RUNNING), JST_EINVAL,
		     "a transfer job's JobState is not set directly");
}

Test(geterror, bits_transitions)
{
	static const uint16_t ok[][2] = {
		{JST_BG_SUSPENDED, JST_BG_QUEUED},        {JST_BG_QUEUED, JST_BG_CONNECTING},
		{JST_BG_CONNECTING, JST_BG_TRANSFERRING}, {JST_BG_TRANSFERRING, JST_BG_SUSPENDED},
		{JST_BG_TRANSFERRING, JST_BG_TRANSIENT_ERROR}, {JST_BG_TRANSIENT_ERROR, JST_BG_ERROR},
		{JST_BG_ERROR, JST_BG_QUEUED},            {JST_BG_TRANSFERRING, JST_BG_TRANSFERRED},
		{JST_BG_TRANSFERRED, JST_BG_ACKNOWLEDGED}, {JST_BG_TRANSFERRED, JST_BG_CANCELLED},
		{JST_BG_SUSPENDED, JST_BG_CANCELLED},     {JST_BG_QUEUED, JST_BG_TRANSFERRED},
		{JST_BG_ERROR, JST_BG_ACKNOWLEDGED}, /* Complete after an error (seed 004) */
	};
	static const uint16_t bad[][2] = {
		{JST_BG_SUSPENDED, JST_BG_TRANSFERRING}, {JST_BG_ERROR, JST_BG_TRANSFERRING},
		{JST_BG_ACKNOWLEDGED, JST_BG_QUEUED},    {JST_BG_CANCELLED, JST_BG_QUEUED},
		{JST_BG_TRANSFERRED, JST_BG_QUEUED},     {JST_BG_CONNECTING, JST_BG_TRANSFERRED},
		{JST_BG_QUEUED, 9},                      {JST_BG_ACKNOWLEDGED, JST_BG_CANCELLED},
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		cr_assert_eq(jst_transfer_check(ok[i][0], ok[i][1]), 0, "%s -> %s",
			     jst_transfer_state_name(ok[i][0]), jst_transfer_state_name(ok[i][1]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(jst_transfer_check(bad[i][0], bad[i][1]), JST_ETRANSITION, "%s -> %s",
			     jst_transfer_state_name(bad[i][0]), jst_transfer_state_name(bad[i][1]));
}

Test(geterror, return_codes_are_the_seeds_own)
{
	static const struct {
		int rc;
		uint32_t cim, hyperv, dox;
	} t[] = {
		{0, 0, 0, 0},
		{JST_ENOERROR, 0, 0, 0x80d02014u},
		{JST_EPERM, 6, 32769, 0x80070005u},
		{JST_ENOTSUP, 1, 32770, 0x80004001u},
		{JST_ETIMEDOUT, 3, 32772, 0x800705b4u},
		{JST_EINVAL, 5, 32773, 0x80070057u},
		{JST_ESTALE, 5, 32773, 0x80d02003u},
		{JST_EPENDING, 4, 32774, 0x800700aau},
		{JST_ETRANSITION, 4, 32775, 0x80d02013u},
		{JST_EDISCONNECTED, 4, 32777, 0x80d01001u},
		{JST_ENOMEM, 4, 32778, 0x8007000eu},
		{JST_ECORRUPT, 2, 32768, 0x80004005u},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cr_assert_eq(jst_method_code(t[i].rc, JST_FLAVOUR_CIM), t[i].cim, "%s",
			     jst_errname(t[i].rc));
		cr_assert_eq(jst_method_code(t[i].rc, JST_FLAVOUR_HYPERV), t[i].hyperv, "%s",
			     jst_errname(t[i].rc));
		cr_assert_eq(jst_method_code(t[i].rc, JST_FLAVOUR_DO), t[i].dox, "%s",
			     jst_errname(t[i].rc));
	}
}

Test(geterror, get_errors_is_consistent_while_errors_keep_coming)
{
	jst_handle h;
	int fd;
	pid_t pid;
	unsigned checked = 0;

	cr_assert_eq(jst_job_create(c, &(struct jst_job_spec){.instance_id = "g:many",
							       .initial_state = 4}, &h, NULL), 0);
	/* Fail it: from now on every new error is given, and they keep coming. */
	cr_assert_eq(jst_job_report_error(c, h, &(struct jst_error){.message_id = "E0"}, true), 0);
	pid = test_fork_piped(&fd);
	if (pid == 0) {
		jst_conn *pc = test_connect(&d, false, 0, NULL, NULL); /* root may add to any job */

		for (unsigned i = 1;; i++) {
			char id[16];

			snprintf(id, sizeof(id), "E%u", i);
			if (jst_job_report_error(pc, h, &(struct jst_error){.message_id = id},
						 false) != 0)
				_exit(1);
		}
	}
	for (int round = 0; round < 3000; round++) {
		size_t n;
		int rc = jst_get_errors(r, h, JST_FLAVOUR_CIM, e, JST_ERRORS_KEPT, &n);

		if (rc == JST_EAGAIN)
			continue;
		cr_assert_eq(rc, 0, "%s", jst_errname(rc));
		cr_assert_gt(n, 0);
		for (size_t i = 0; i < n; i++) {
			char want[16];

			snprintf(want, sizeof(want), "E%u", e[i].sequence - 1);
			cr_assert_str_eq(e[i].message_id, want, "error %zu of one read", i);
			if (i)
				cr_assert_eq(e[i].sequence, e[i - 1].sequence + 1, "no gap, no repeat");
		}
		checked++;
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(fd);
	cr_assert_gt(checked, 1000u, "most reads succeed at once");
}

/* ---- issue 14: the rule table through the daemon, synthesis, DO, RequestStateChange ---- */

static jst_handle make(const char *id, uint16_t state)
{
	jst_handle h;

	cr_assert_eq(jst_job_create(c, &(struct jst_job_spec){.instance_id = id,
							       .initial_state = state}, &h, NULL), 0,
		     "%s: %s", id, jst_conn_error(c));
	return h;
}

Test(geterror, a_warning_stays_out_of_every_executing_state)
{
	static const uint16_t executing[] = {JST_JOB_NEW, JST_JOB_STARTING, JST_JOB_RUNNING,
					     JST_JOB_SUSPENDED, JST_JOB_SERVICE, 40000};
	struct jst_error w = err("WARN");
	char id[32];

	for (size_t i = 0; i < sizeof(executing) / sizeof(executing[0]); i++) {
		jst_handle h;

		snprintf(id, sizeof(id), "w:%u", executing[i]);
		h = make(id, executing[i]);
		cr_assert_eq(jst_job_report_error(c, h, &w, false), 0);
		cr_assert_eq(get(h, JST_FLAVOUR_CIM), JST_ENOERROR, "%s: NULL while executing",
			     jst_job_state_name(executing[i]));
		cr_assert_eq(get(h, JST_FLAVOUR_HYPERV), JST_ENOERROR);
		if (executing[i] == JST_JOB_RUNNING) { /* and on its way out */
			cr_assert_eq(jst_job_set_state(c, h, JST_JOB_SHUTTING_DOWN), 0);
			cr_assert_eq(get(h, JST_FLAVOUR_CIM), JST_ENOERROR, "Shutting Down: NULL");
		}
	}
}

Test(geterror, a_running_job_whose_producer_left_gives_null)
{
	jst_handle h = make("lost:1", JST_JOB_RUNNING);
	struct jst_status st;

	cr_assert_eq(jst_job_report_error(c, h, &(struct jst_error){.message_id = "W"}, false), 0);
	jst_disconnect(c); /* --lost-grace 0.2: Lost Communication shortly */
	c = NULL;
	for (int i = 0; i < 300; i++) {
		st = test_read(r, h);
		if (st.operational_status[0] == JST_OPS_LOST_COMMUNICATION)
			break;
		usleep(10000);
	}
	cr_assert_eq(st.operational_status[0], JST_OPS_LOST_COMMUNICATION);
	cr_assert_eq(st.job_state, JST_JOB_RUNNING);
	cr_assert_eq(get(h, JST_FLAVOUR_CIM), JST_ENOERROR, "not OK, but still executing: NULL");
	cr_assert_eq(get(h, JST_FLAVOUR_HYPERV), JST_ENOERROR);
	c = test_connect(&d, true, 0, NULL, NULL);
}

Test(geterror, a_failed_job_without_a_reported_error_gets_a_synthesized_one)
{
	struct jst_update u = {
		.set = JST_SET_STATE | JST_SET_ERROR_CODE | JST_SET_ERROR_DESCRIPTION |
		       JST_SET_JOB_STATUS,
		.job_state = JST_JOB_EXCEPTION, .error_code = 28,
		.error_description = "no space left on /srv", .job_status = "copying block 7",
	};
	jst_handle h = make("syn:1", JST_JOB_RUNNING), k;
	char *xml;
	size_t n = 0, len = 0;

	u.handle = h;
	cr_assert_eq(jst_update(c, &u, 1, NULL), 0);
	for (unsigned f = JST_FLAVOUR_CIM; f <= JST_FLAVOUR_HYPERV; f++) {
		cr_assert_eq(get(h, f), 0, "Exception {Completed, Error}: a CIM_Error (0.1.0: NULL)");
		cr_assert_str_eq(e->message_id, JST_MSGID_SYNTHESIZED);
		cr_assert_str_eq(e->owning_entity, "jobstat");
		cr_assert_str_eq(e->message, "no space left on /srv", "from ErrorDescription");
		cr_assert_eq(e->n_message_arguments, 5);
		cr_assert_str_eq(e->message_arguments[0], "10");
		cr_assert_str_eq(e->message_arguments[1], "Exception");
		cr_assert_str_eq(e->message_arguments[2], "28", "ErrorCode");
		cr_assert_str_eq(e->message_arguments[4], "copying block 7", "JobStatus");
		cr_assert_eq(e->perceived_severity, 5);
		cr_assert_eq(e->cim_status_code, 1);
		cr_assert_str_eq(e->error_source, "CIM_ConcreteJob.InstanceID=\"syn:1\"");
		cr_assert_eq(e->error_source_format, 2);
		cr_assert_eq(e->sequence, 0, "never reported");
		cr_assert_eq(jst_error_validate(e, NULL, 0), 0, "a valid CIM_Error");
	}
	cr_assert_eq(jst_get_errors(r, h, JST_FLAVOUR_CIM, e, JST_ERRORS_KEPT, &n), 0);
	cr_assert_eq(n, 1, "GetErrors: the one synthesized error");
	cr_assert_str_eq(e[0].message_id, JST_MSGID_SYNTHESIZED);
	cr_assert_eq(get(h, JST_FLAVOUR_DO), JST_ENOERROR, "DO never synthesizes");

	/* Hyper-V's [out] string Error: the CIM-XML string, measured then filled. */
	cr_assert_eq(jst_get_error_cimxml(r, h, NULL, 0, &len), 0);
	xml = malloc(len + 1);
	cr_assert_eq(jst_get_error_cimxml(r, h, xml, len + 1, NULL), 0);
	cr_assert_not_null(strstr(xml, "<PROPERTY NAME=\"MessageID\" TYPE=\"string\"><VALUE>JST0003"
				       "</VALUE></PROPERTY>"), "%s", xml);
	free(xml);

	/* Terminated by its own producer, nothing said: a synthesized error, Information. */
	k = make("syn:2", JST_JOB_RUNNING);
	cr_assert_eq(jst_job_set_state(c, k, JST_JOB_TERMINATED), 0);
	cr_assert_eq(get(k, JST_FLAVOUR_CIM), 0);
	cr_assert_str_eq(e->message_id, JST_MSGID_SYNTHESIZED);
	cr_assert_str_eq(e->message, "The job ended in Terminated (8) and reported no CIM_Error.");
	cr_assert_eq(e->perceived_severity, 2);
	cr_assert_eq(jst_get_error_cimxml(r, make("syn:3", JST_JOB_RUNNING), NULL, 0, &len),
		     JST_ENOERROR, "running: the Hyper-V string is NULL");

	/* A reported error wins over synthesis. */
	cr_assert_eq(jst_job_report_error(c, k, &(struct jst_error){.message_id = "LATE"}, false),
		     0);
	cr_assert_eq(get(k, JST_FLAVOUR_CIM), 0);
	cr_assert_str_eq(e->message_id, "LATE");
}

Test(geterror, complete_after_an_error_and_a_file_that_is_not_there)
{
	struct jst_error x = {.message_id = "DO9", .hresult = 0x80072ee7, .context = 6};
	const char *file = "unchanged";
	jst_handle h;

	cr_assert_eq(jst_job_create(c, &(struct jst_job_spec){.instance_id = "do:9",
							       .transfer = true}, &h, NULL), 0);
	cr_assert_eq(set_bg(h, JST_BG_QUEUED), 0);
	cr_assert_eq(jst_job_report_error(c, h, &x, true), 0);
	shows(h, JST_BG_ERROR, JST_JOB_QUERY_PENDING, JST_OPS_ERROR);
	cr_assert_eq(get(h, JST_FLAVOUR_DO), 0);
	/* The error is about the transport, not a file: GetFile's DO_E_FILE_NOT_AVAILABLE. */
	cr_assert_eq(jst_error_file(e, &file), JST_ENOFILE);
	cr_assert_str_eq(file, "unchanged", "untouched on failure");
	cr_assert_eq(jst_method_code(JST_ENOFILE, JST_FLAVOUR_DO), JST_DO_E_FILE_NOT_AVAILABLE);
	cr_assert_eq(set_bg(h, JST_BG_ACKNOWLEDGED), 0, "Complete from ERROR keeps what arrived");
	shows(h, JST_BG_ACKNOWLEDGED, JST_JOB_COMPLETED, JST_OPS_COMPLETED);
}

Test(geterror, report_error_refuses_a_cim_error_outside_its_value_maps)
{
	jst_handle h = make("val:1", JST_JOB_RUNNING);
	struct jst_error bad = {.message_id = "V", .perceived_severity = 8};
	struct jst_status st;

	cr_assert_eq(jst_job_report_error(c, h, &bad, true), JST_EVALUEMAP);
	cr_assert_not_null(strstr(jst_conn_error(c), "PerceivedSeverity 8"), "%s",
			   jst_conn_error(c));
	bad = (struct jst_error){.message_id = "V", .error_type = 1};
	cr_assert_eq(jst_job_report_error(c, h, &bad, true), JST_EOTHERPAIR);
	cr_assert_not_null(strstr(jst_conn_error(c), "OtherErrorType is not set"), "%s",
			   jst_conn_error(c));
	st = test_read(r, h);
	cr_assert_eq(st.n_errors, 0, "nothing reached the daemon");
	cr_assert_eq(st.job_state, JST_JOB_RUNNING);
}

Test(geterror, request_state_change_access_denied_is_not_in_use)
{
	jst_handle h = make("rsc:1", JST_JOB_RUNNING);
	uint32_t code = 0;
	int rc;

	(void)h;
	cr_assert_neq(JST_RSC_ACCESS_DENIED, JST_RSC_IN_USE);
	cr_assert_eq(JST_RSC_IN_USE, 6);
	/* The library's refusal, in each flavour, from a real request. */
	rc = jst_request_state_change(c, "rsc:nope", JST_REQ_SUSPEND, 0, &code);
	cr_assert_eq(rc, JST_ENOJOB);
	cr_assert_eq(code, JST_RSC_INVALID_PARAMETER);
	cr_assert_eq(jst_rsc_method_code(rc, code, JST_FLAVOUR_HYPERV), 32773);
	rc = jst_request_state_change(c, "rsc:1", JST_REQ_START, 0, &code);
	cr_assert_eq(rc, 0, "no handler: the producer's connection answers Not Supported");
	cr_assert_eq(jst_rsc_method_code(rc, code, JST_FLAVOUR_CIM), 1);
	cr_assert_eq(jst_rsc_method_code(rc, code, JST_FLAVOUR_HYPERV), 32770);
}
