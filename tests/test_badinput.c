/* SPDX-License-Identifier: MIT */
/*
 * test_badinput.c - proves that bad input from a producer, through the real
 * daemon, gets its own named error and loses nothing already accepted:
 * strings too long or not UTF-8, malformed or duplicate InstanceIDs, arrays
 * past their limits, unknown jobs, a full segment.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "testdaemon.h"

static struct test_daemon d;
static jst_conn *c;
static jst_reader *r;
static jst_handle keep;
static struct jst_status before;

static void setup(void)
{
	test_daemon_init(&d, "bad");
	d.args[0] = "-c";
	d.args[1] = "16"; /* after the default -c 4096: a small segment to fill */
	d.args[2] = "--errors";
	d.args[3] = "4"; /* and a small error pool */
	test_daemon_start(&d);
	c = test_connect(&d, true, 0, NULL, NULL);
	r = test_attach(&d);
	cr_assert_eq(jst_job_create(c, &(struct jst_job_spec){.instance_id = "bad:keep",
							       .initial_state = 4}, &keep, NULL), 0);
	cr_assert_eq(jst_job_set_progress(c, keep, 42), 0);
	before = test_read(r, keep);
}

static void teardown(void)
{
	struct jst_status after = test_read(r, keep);

	/* Whatever was refused, what was accepted before is there, unchanged. */
	cr_assert_eq(after.change_seq, before.change_seq, "the accepted job was not touched");
	cr_assert_eq(after.percent_complete, 42);
	jst_detach(r);
	jst_disconnect(c);
	test_daemon_cleanup(&d);
}

TestSuite(badinput, .init = setup, .fini = teardown, .timeout = 60);

static char *repeat(char ch, size_t n)
{
	char *s = malloc(n + 1);

	memset(s, ch, n);
	s[n] = 0;
	return s;
}

static int create(const char *id, const char *name)
{
	jst_handle h;

	return jst_job_create(c, &(struct jst_job_spec){.instance_id = id, .name = name}, &h, NULL);
}

Test(badinput, strings_too_long_or_not_utf8)
{
	char *name = repeat('n', JST_NAME_MAX + 1), *status = repeat('s', JST_JOB_STATUS_MAX + 1);
	char *desc = repeat('d', JST_SHORT_FIELD_MAX + 1);
	struct jst_update u = {.handle = keep, .set = JST_SET_JOB_STATUS, .job_status = status};
	struct jst_error e = {.message_id = "X", .message = "caf\xc3"}; /* cut in a character */

	cr_assert_eq(create("bad:1", name), JST_ETOOLONG, "Name of %d bytes", JST_NAME_MAX + 1);
	name[JST_NAME_MAX] = 0;
	cr_assert_eq(create("bad:1", name), 0, "exactly the limit is fine");
	cr_assert_eq(create("bad:2", "\xff\xfe"), JST_EUTF8);
	cr_assert_eq(create("bad:3", "\xc0\xaf"), JST_EUTF8, "an overlong encoding");
	cr_assert_eq(create("bad:4", "\xed\xa0\x80"), JST_EUTF8, "a surrogate");
	cr_assert_eq(jst_update(c, &u, 1, NULL), JST_ETOOLONG);
	u.job_status = "\x80";
	cr_assert_eq(jst_update(c, &u, 1, NULL), JST_EUTF8);
	u = (struct jst_update){.handle = keep, .set = JST_SET_OP_STATUS, .n_operational_status = 1,
				.operational_status = {2}, .status_descriptions = {desc}};
	cr_assert_eq(jst_update(c, &u, 1, NULL), JST_ETOOLONG);
	u.n_operational_status = JST_OPSTATUS_MAX + 1;
	cr_assert_eq(jst_update(c, &u, 1, NULL), JST_ETOOLONG, "nine OperationalStatus values");
	cr_assert_eq(jst_job_report_error(c, keep, &e, false), JST_EUTF8);
	e.message = "fine";
	e.n_message_arguments = JST_ERROR_ARGS_MAX + 1;
	cr_assert_eq(jst_job_report_error(c, keep, &e, false), JST_ETOOLONG);
	free(name);
	free(status);
	free(desc);
}

Test(badinput, instance_ids_malformed_or_taken)
{
	char *longid = repeat('i', JST_ID_MAX + 1);

	longid[3] = ':';
	cr_assert_eq(create("no-colon", NULL), JST_EINSTANCEID);
	cr_assert_eq(create(":local", NULL), JST_EINSTANCEID, "empty OrgID");
	cr_assert_eq(create("org:", NULL), JST_EINSTANCEID, "empty LocalID");
	cr_assert_eq(create(longid, NULL), JST_ETOOLONG);
	cr_assert_eq(create("bad:keep", NULL), JST_EEXIST, "a duplicate");
	cr_assert_not_null(strstr(jst_conn_error(c), "bad:keep"), "%s", jst_conn_error(c));
	free(longid);
}

Test(badinput, unknown_jobs_and_a_full_segment)
{
	jst_handle gone = {keep.slot, keep.gen + 2}, h;
	uint32_t code;
	int made = 1, rc = 0;

	cr_assert_eq(jst_job_set_progress(c, gone, 1), JST_ESTALE);
	cr_assert_eq(jst_job_set_progress(c, (jst_handle){1u << 30, 1}, 1), JST_ESTALE,
		     "a slot far out of range");
	cr_assert_eq(jst_job_remove(c, gone, JST_REMOVE_NOW, NULL), JST_ESTALE);
	cr_assert_eq(jst_request_state_change(c, "bad:nope", JST_REQ_TERMINATE, 0, &code),
		     JST_ENOJOB);
	/* Fill the 16 slots: the next create is refused with ENOSPC, the rest stand. */
	while (made < 64) {
		char id[32];

		snprintf(id, sizeof(id), "bad:fill-%d", made);
		rc = jst_job_create(c, &(struct jst_job_spec){.instance_id = id}, &h, NULL);
		if (rc < 0)
			break;
		made++;
	}
	cr_assert_eq(rc, JST_ENOSPC, "after %d jobs: %s", made, jst_errname(rc));
	cr_assert_eq(made, 16, "the capacity is the capacity");
	cr_assert_eq(jst_lookup(r, "bad:fill-15", &h), 0, "the accepted ones are there");
}

Test(badinput, a_full_error_pool_refuses_the_next_error_and_keeps_the_rest)
{
	struct jst_error e = {.message_id = "E"};
	jst_handle h;
	int n = 0, rc;

	cr_assert_eq(jst_job_create(c, &(struct jst_job_spec){.instance_id = "bad:errs"}, &h,
				    NULL), 0);
	while (n < 10 && (rc = jst_job_report_error(c, h, &e, false)) == 0)
		n++;
	cr_assert_eq(rc, JST_ENOSPC, "after %d errors: %s", n, jst_errname(rc));
	cr_assert_eq(n, 4, "jobstatd --errors 4 holds four errors in all");
	cr_assert_eq(test_read(r, h).n_errors, 4, "the four accepted are there");
}
