/* SPDX-License-Identifier: MIT */
/*
 * test_model.c - proves the job model's pure rules without a daemon: GetError's
 * rule table cell by cell (README.md "GetError's rule"), the CIM_Error value
 * maps and Other* pairings, RequestStateChange's codes in every flavour, and
 * CIM datetime strings.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>

#include "jobstat.h"

/* ---- GetError's rule: JobState x OperationalStatus x error reported -> answer ---- */

enum ops_kind { OPS_DEFAULT, OPS_NOT_OK, OPS_LOST };

struct cell {
	uint16_t job_state;
	enum ops_kind ops;
	bool reported;
	int want; /* enum jst_error_rule */
};

#define N JST_RULE_NULL
#define R JST_RULE_REPORTED
#define S JST_RULE_SYNTHESIZED
/* Each state: {default OperationalStatus, not OK ({Error}), Lost Communication} x {none, reported}. */
#define ROW(st, d0, d1, n0, n1, l0, l1)                                                         \
	{st, OPS_DEFAULT, false, d0}, {st, OPS_DEFAULT, true, d1}, {st, OPS_NOT_OK, false, n0}, \
		{st, OPS_NOT_OK, true, n1}, {st, OPS_LOST, false, l0}, {st, OPS_LOST, true, l1}

static struct cell cells[] = {
	/* Executing: NULL whatever the status says and whatever was reported. */
	ROW(JST_JOB_NEW, N, N, N, N, N, N),
	ROW(JST_JOB_STARTING, N, N, N, N, N, N),
	ROW(JST_JOB_RUNNING, N, N, N, N, N, N),
	ROW(JST_JOB_SUSPENDED, N, N, N, N, N, N),
	ROW(JST_JOB_SHUTTING_DOWN, N, N, N, N, N, N),
	ROW(JST_JOB_SERVICE, N, N, N, N, N, N),
	ROW(40000, N, N, N, N, N, N), /* a vendor state that is not final */
	/* Waiting on a query: {OK} is NULL; an error is given; a gone producer is not one. */
	ROW(JST_JOB_QUERY_PENDING, N, N, S, R, N, N),
	/* Final and OK: ended without error. */
	ROW(JST_JOB_COMPLETED, N, N, S, R, S, R),
	/* Final and not OK by default: the reported error, else a synthesized one. */
	ROW(JST_JOB_TERMINATED, S, R, S, R, S, R),
	ROW(JST_JOB_KILLED, S, R, S, R, S, R),
	ROW(JST_JOB_EXCEPTION, S, R, S, R, S, R),
	ROW(JST_JOB_COMPLETED_WITH_WARNINGS, S, R, S, R, S, R),
};

static const char *ops_name(enum ops_kind k)
{
	return k == OPS_DEFAULT ? "default" : k == OPS_NOT_OK ? "{Error}" : "{Lost Communication}";
}

ParameterizedTestParameters(model, get_error_rule_cell)
{
	return cr_make_param_array(struct cell, cells, sizeof(cells) / sizeof(cells[0]));
}

ParameterizedTest(struct cell *c, model, get_error_rule_cell)
{
	struct jst_status st = {.job_state = c->job_state};

	switch (c->ops) {
	case OPS_DEFAULT:
		st.n_operational_status =
			(uint8_t)jst_default_op_status(c->job_state, st.operational_status);
		break;
	case OPS_NOT_OK:
		st.operational_status[0] = JST_OPS_ERROR;
		st.n_operational_status = 1;
		break;
	case OPS_LOST:
		st.operational_status[0] = JST_OPS_LOST_COMMUNICATION;
		st.n_operational_status = 1;
		break;
	}
	st.n_errors = c->reported ? 1 : 0;
	st.errors_total = st.n_errors;
	for (unsigned f = JST_FLAVOUR_CIM; f <= JST_FLAVOUR_HYPERV; f++)
		cr_assert_eq(jst_error_rule(&st, f), c->want, "%s, %s, %s: flavour %u gives %d, want %d",
			     jst_job_state_name(c->job_state), ops_name(c->ops),
			     c->reported ? "reported" : "none", f, jst_error_rule(&st, f), c->want);
	/* Delivery Optimization looks at its error object only, never at JobState. */
	cr_assert_eq(jst_error_rule(&st, JST_FLAVOUR_DO), JST_RULE_NULL);
	st.transfer_state = JST_BG_ERROR + 1;
	st.flags = JST_STATUS_DO_ERROR;
	cr_assert_eq(jst_error_rule(&st, JST_FLAVOUR_DO), c->reported ? R : N);
}

Test(model, rule_refuses_bad_arguments)
{
	struct jst_status st = {0};

	cr_assert_eq(jst_error_rule(NULL, JST_FLAVOUR_CIM), JST_EINVAL);
	cr_assert_eq(jst_error_rule(&st, 3), JST_EINVAL);
}

/* ---- synthesis ---- */

Test(model, synthesized_error_names_state_and_error_code)
{
	static struct jst_job job;
	static struct jst_error e;
	char buf[256];

	job.instance_id = "acme:a\"b\\c";
	job.status.job_state = JST_JOB_KILLED;
	job.status.error_code = 9;
	job.status.time_of_last_state_change = 42;
	cr_assert_eq(jst_error_synthesize(&job, &e), 0);
	cr_assert_str_eq(e.message_id, "JST0003");
	cr_assert_str_eq(e.message,
			 "The job ended in Killed (9) with ErrorCode 9 and reported no CIM_Error.");
	cr_assert_str_eq(e.error_source, "CIM_ConcreteJob.InstanceID=\"acme:a\\\"b\\\\c\"",
			 "quotes and backslashes escaped in the object path");
	cr_assert_null(e.message_arguments[3], "no ErrorDescription: NULL argument");
	cr_assert_eq(e.time, 42);
	cr_assert_eq(e.cim_status_code, 0, "only Exception says CIM_ERR_FAILED");
	cr_assert_eq(jst_error_validate(&e, buf, sizeof(buf)), 0, "%s", buf);
	cr_assert_eq(jst_error_synthesize(NULL, &e), JST_EINVAL);
}

/* ---- CIM_Error's value maps ---- */

Test(model, validate_accepts_every_value_in_every_map)
{
	struct jst_error e = {.message_id = "M"};
	char msg[256];

	for (unsigned v = 0; v <= 10; v++) {
		e.error_type = (uint16_t)v;
		e.other_error_type = v == 1 ? "custom" : NULL;
		cr_assert_eq(jst_error_validate(&e, msg, sizeof(msg)), 0, "ErrorType %u: %s", v, msg);
	}
	e = (struct jst_error){.message_id = "M", .perceived_severity = 7, .probable_cause = 130,
			       .error_source_format = 2, .cim_status_code = 29};
	cr_assert_eq(jst_error_validate(&e, msg, sizeof(msg)), 0, "%s", msg);
	cr_assert_str_eq(msg, "", "no message when valid");
	e.cim_status_code = 0;
	cr_assert_eq(jst_error_validate(&e, NULL, 0), 0, "CIMStatusCode 0 is NULL");
	e.error_source_format = 1;
	e.other_error_source_format = "URI";
	cr_assert_eq(jst_error_validate(&e, NULL, 0), 0);
}

Test(model, validate_names_the_property_outside_its_map)
{
	static const struct {
		struct jst_error e;
		int rc;
		const char *says;
	} t[] = {
		{{.message_id = "M", .error_type = 11}, JST_EVALUEMAP, "ErrorType 11"},
		{{.message_id = "M", .perceived_severity = 8}, JST_EVALUEMAP, "PerceivedSeverity 8"},
		{{.message_id = "M", .probable_cause = 131}, JST_EVALUEMAP, "ProbableCause 131"},
		{{.message_id = "M", .error_source_format = 3}, JST_EVALUEMAP, "ErrorSourceFormat 3"},
		{{.message_id = "M", .cim_status_code = 30}, JST_EVALUEMAP, "CIMStatusCode 30"},
		{{.message_id = "M", .error_type = 1}, JST_EOTHERPAIR, "OtherErrorType is not set"},
		{{.message_id = "M", .error_type = 4, .other_error_type = "x"}, JST_EOTHERPAIR,
		 "OtherErrorType is set but ErrorType is 4"},
		{{.message_id = "M", .error_source_format = 1}, JST_EOTHERPAIR,
		 "OtherErrorSourceFormat is not set"},
		{{.message_id = "M", .error_source_format = 2, .other_error_source_format = "x"},
		 JST_EOTHERPAIR, "OtherErrorSourceFormat is set but ErrorSourceFormat is 2"},
		{{.message_id = "M", .n_message_arguments = JST_ERROR_ARGS_MAX + 1}, JST_ETOOLONG,
		 "MessageArguments"},
		{{.message_id = NULL}, JST_EINVAL, "MessageID is required"},
	};
	char msg[256];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cr_assert_eq(jst_error_validate(&t[i].e, msg, sizeof(msg)), t[i].rc, "case %zu: %s",
			     i, msg);
		cr_assert_not_null(strstr(msg, t[i].says), "case %zu: \"%s\" lacks \"%s\"", i, msg,
				   t[i].says);
	}
	cr_assert_eq(jst_error_validate(NULL, NULL, 0), JST_EINVAL);
	cr_assert_eq(jst_method_code(JST_EVALUEMAP, JST_FLAVOUR_CIM), 5, "Invalid Parameter");
}

/* ---- RequestStateChange's codes ---- */

Test(model, request_state_change_codes_in_every_flavour)
{
	static const struct {
		int rc;
		uint32_t answer, cim, hyperv;
	} t[] = {
		/* The producer's (or daemon's) answer, rc 0. */
		{0, 0, 0, 0},
		{0, 4096, 4096, 4096},
		{0, 1, 1, 32770},
		{0, 2, 2, 32768},
		{0, 3, 3, 32772},
		{0, 4, 4, 32768},
		{0, 5, 5, 32773},
		{0, 6, 6, 32774},
		{0, 4097, 4097, 32775},
		{0, 4098, 4098, 32773},
		{0, 4099, 4099, 32774},
		{0, 40000, 40000, 40000}, /* vendor codes pass through */
		{0, 77, 77, 32768},       /* a DMTF-reserved answer is a failure in Hyper-V's words */
		/* The daemon's or library's refusals. */
		{JST_ENOJOB, 0, 5, 32773},
		{JST_EINVAL, 0, 5, 32773},
		{JST_EPERM, 0, JST_RSC_ACCESS_DENIED, 32769},
		{JST_ETRANSITION, 0, 4097, 32775},
		{JST_EPENDING, 0, 4099, 32774},
		{JST_ENOTSUP, 0, 1, 32770},
		{JST_ETIMEDOUT, 0, 3, 32772},
		{JST_ENOPRODUCER, 0, 4, 32777},
		{JST_EDISCONNECTED, 0, 4, 32777},
		{JST_ENOMEM, 0, 4, 32778},
		{JST_ECORRUPT, 0, 2, 32768},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint32_t cim = jst_rsc_method_code(t[i].rc, t[i].answer, JST_FLAVOUR_CIM);

		cr_assert_eq(cim, t[i].cim, "%s/%u: CIM %u", jst_errname(t[i].rc), t[i].answer, cim);
		if (t[i].rc == JST_EPERM)
			cr_assert_neq(cim, 6, "Access Denied is never 6 (In Use)");
		cr_assert_eq(jst_rsc_method_code(t[i].rc, t[i].answer, JST_FLAVOUR_HYPERV), t[i].hyperv,
			     "%s/%u", jst_errname(t[i].rc), t[i].answer);
	}
	cr_assert_eq(JST_RSC_ACCESS_DENIED, 32769);
	cr_assert_eq(jst_rsc_method_code(0, 4096, JST_FLAVOUR_DO), JST_DO_S_OK);
	cr_assert_eq(jst_rsc_method_code(JST_ETRANSITION, 0, JST_FLAVOUR_DO), JST_DO_E_INVALID_STATE);
	cr_assert_eq(jst_rsc_method_code(0, 4, JST_FLAVOUR_DO), 0x80004005u, "E_FAIL");
	cr_assert_eq(jst_rsc_method_code(0, 0, 9), 2, "unknown flavour");
}

/* ---- CIM datetime ---- */

Test(model, cim_datetimes)
{
	static const struct {
		uint64_t ns;
		bool interval;
		const char *want;
	} t[] = {
		{0, false, "19700101000000.000000+000"},
		{1234567890123456789ull, false, "20090213233130.123456+000"},
		{951782400ull * 1000000000u, false, "20000229000000.000000+000"}, /* leap day */
		{4107542399999999000ull, false, "21000228235959.999999+000"}, /* 2100 is no leap */
		{300ull * 1000000000u, true, "00000000000500.000000:000"},
		{90061500000000ull, true, "00000001010101.500000:000"},
		{0, true, "00000000000000.000000:000"},
	};
	char buf[JST_DATETIME_LEN + 1];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(buf, 'x', sizeof(buf));
		cr_assert_eq(jst_cim_datetime(t[i].ns, t[i].interval, buf), 0);
		cr_assert_str_eq(buf, t[i].want, "%llu", (unsigned long long)t[i].ns);
		cr_assert_eq(strlen(buf), JST_DATETIME_LEN);
	}
	cr_assert_eq(jst_cim_datetime(UINT64_MAX, false, buf), 0);
	cr_assert_str_eq(buf, "25540721233433.709551+000", "the largest instant");
	cr_assert_eq(jst_cim_datetime(0, false, NULL), JST_EINVAL);
}
