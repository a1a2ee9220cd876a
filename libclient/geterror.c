/* SPDX-License-Identifier: MIT */
/*
 * geterror.c - GetError in the three flavours the seeds define (CIM,
 * Hyper-V, Delivery Optimization): when a job has an error to give, which
 * one (reported or synthesized), CIM_Error's value maps, and the return
 * codes GetError and RequestStateChange use in each flavour. Reads only.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "jobstat.h"
#include "read-internal.h"

#define HR_E_ACCESSDENIED 0x80070005u
#define HR_E_INVALIDARG   0x80070057u
#define HR_E_OUTOFMEMORY  0x8007000eu
#define HR_E_NOTIMPL      0x80004001u
#define HR_E_FAIL         0x80004005u
#define HR_ERROR_TIMEOUT  0x800705b4u
#define HR_ERROR_BUSY     0x800700aau

static bool op_status_ok(const struct jst_status *st)
{
	for (unsigned i = 0; i < st->n_operational_status && i < JST_OPSTATUS_MAX; i++)
		if (st->operational_status[i] == JST_OPS_OK)
			return true;
	return false;
}

int jst_error_rule(const struct jst_status *st, unsigned flavour)
{
	bool final;

	if (!st || flavour > JST_FLAVOUR_DO)
		return JST_EINVAL;
	if (flavour == JST_FLAVOUR_DO) /* the error object, exactly while the daemon says it exists */
		return st->transfer_state && (st->flags & JST_STATUS_DO_ERROR) && st->n_errors
			       ? JST_RULE_REPORTED : JST_RULE_NULL;
	final = jst_job_state_is_final(st->job_state);
	/* "Returns NULL while the job is executing": warnings stay out of every executing state. */
	if (!final && st->job_state != JST_JOB_QUERY_PENDING)
		return JST_RULE_NULL;
	if (op_status_ok(st))
		return JST_RULE_NULL; /* ended (or waits) without error */
	/* Waiting on a query with its producer gone: communication, not a failure of the job. */
	if (!final && st->n_operational_status &&
	    st->operational_status[0] == JST_OPS_LOST_COMMUNICATION)
		return JST_RULE_NULL;
	return st->n_errors ? JST_RULE_REPORTED : JST_RULE_SYNTHESIZED;
}

/* Strings copied into a jst_error's text[]; a string that does not fit is cut at a character. */
struct textbuf {
	char *p;
	size_t used, size;
};

static const char *keep(struct textbuf *t, const char *s)
{
	size_t k, room;
	char *d;

	if (!s || t->used >= t->size)
		return NULL;
	room = t->size - t->used - 1;
	k = strlen(s);
	if (k > room) {
		k = room;
		while (k && ((unsigned char)s[k] & 0xc0) == 0x80)
			k--; /* do not split a UTF-8 sequence */
	}
	d = t->p + t->used;
	memcpy(d, s, k);
	d[k] = 0;
	t->used += k + 1;
	return d;
}

int jst_error_synthesize(const struct jst_job *job, struct jst_error *ret_error)
{
	const struct jst_status *st;
	struct textbuf t;
	char num[2][16], msg[400], src[JST_ID_MAX * 2 + 40];
	size_t k = 0;

	if (!job || !ret_error || !job->instance_id)
		return JST_EINVAL;
	st = &job->status;
	memset(ret_error, 0, offsetof(struct jst_error, text));
	t = (struct textbuf){ret_error->text, 0, sizeof(ret_error->text)};
	snprintf(num[0], sizeof(num[0]), "%u", st->job_state);
	snprintf(num[1], sizeof(num[1]), "%u", st->error_code);
	if (job->error_description)
		snprintf(msg, sizeof(msg), "%s", job->error_description);
	else if (st->error_code)
		snprintf(msg, sizeof(msg),
			 "The job ended in %s (%u) with ErrorCode %u and reported no CIM_Error.",
			 jst_job_state_name(st->job_state), st->job_state, st->error_code);
	else
		snprintf(msg, sizeof(msg), "The job ended in %s (%u) and reported no CIM_Error.",
			 jst_job_state_name(st->job_state), st->job_state);
	/* CIM_ConcreteJob.InstanceID="..." with '"' and '\' escaped, as a WBEM object path. */
	k = (size_t)snprintf(src, sizeof(src), "CIM_ConcreteJob.InstanceID=\"");
	for (const char *c = job->instance_id; *c && k + 3 < sizeof(src); c++) {
		if (*c == '"' || *c == '\\')
			src[k++] = '\\';
		src[k++] = *c;
	}
	src[k++] = '"';
	src[k] = 0;

	ret_error->time = st->time_of_last_state_change;
	ret_error->sequence = 0;
	ret_error->job_state = st->job_state;
	ret_error->error_type = 0; /* Unknown: the producer did not say */
	ret_error->owning_entity = keep(&t, "jobstat");
	ret_error->message_id = keep(&t, JST_MSGID_SYNTHESIZED);
	ret_error->message = keep(&t, msg);
	ret_error->n_message_arguments = 5;
	ret_error->message_arguments[0] = keep(&t, num[0]);
	ret_error->message_arguments[1] = keep(&t, jst_job_state_name(st->job_state));
	ret_error->message_arguments[2] = keep(&t, num[1]);
	ret_error->message_arguments[3] = keep(&t, job->error_description);
	ret_error->message_arguments[4] = keep(&t, job->job_status);
	switch (st->job_state) {
	case JST_JOB_EXCEPTION:
		ret_error->perceived_severity = 5; /* Major */
		ret_error->cim_status_code = 1;    /* CIM_ERR_FAILED */
		ret_error->cim_status_code_description = keep(&t, "CIM_ERR_FAILED");
		break;
	case JST_JOB_KILLED:
	case JST_JOB_TERMINATED:
		ret_error->perceived_severity = 2; /* Information: its producer stopped it */
		break;
	case JST_JOB_COMPLETED:
	case JST_JOB_COMPLETED_WITH_WARNINGS:
		ret_error->perceived_severity = 3; /* Degraded/Warning: it finished, not OK */
		break;
	default:
		ret_error->perceived_severity = 0;
	}
	ret_error->probable_cause = 0;
	ret_error->probable_cause_description = keep(&t, job->job_status);
	ret_error->error_source = keep(&t, src);
	ret_error->error_source_format = 2; /* CIMObjectPath */
	return 0;
}

/* Read the job and synthesize, if its status (read again, with the strings) still asks for it. */
static int synthesize_from(jst_reader *r, jst_handle h, unsigned flavour, struct jst_error *ret)
{
	struct jst_job job;
	int rc = jst_job(r, h, &job);

	if (rc < 0)
		return rc;
	rc = jst_error_rule(&job.status, flavour);
	if (rc != JST_RULE_SYNTHESIZED)
		return rc == JST_RULE_NULL ? JST_ENOERROR : JST_EAGAIN; /* it changed: look again */
	return jst_error_synthesize(&job, ret);
}

int jst_get_error(jst_reader *r, jst_handle h, unsigned flavour, struct jst_error *ret_error)
{
	if (!r || !ret_error || flavour > JST_FLAVOUR_DO)
		return JST_EINVAL;
	for (unsigned i = 0; i < JST_READ_RETRIES; i++) {
		struct jst_status st;
		int rc = jst_status(r, h, &st);

		if (rc < 0)
			return rc;
		rc = jst_error_rule(&st, flavour);
		if (rc == JST_RULE_NULL)
			return JST_ENOERROR;
		if (rc == JST_RULE_SYNTHESIZED) {
			rc = synthesize_from(r, h, flavour, ret_error);
			if (rc == JST_EAGAIN)
				continue;
			return rc;
		}
		/* The error of the very status we judged by: no second status read. */
		rc = jst__error_read_st(r, &st, st.n_errors - 1u, ret_error);
		if (rc == JST_EAGAIN || rc == JST_ENOERROR)
			continue; /* its detail or error was reused since: read the status again */
		if (rc < 0)
			return rc;
		/* The detail is st's own version, so this holds unless the segment lies. */
		if (ret_error->sequence == st.errors_total)
			return 0;
	}
	return JST_EAGAIN;
}

int jst_get_errors(jst_reader *r, jst_handle h, unsigned flavour, struct jst_error *ret_errors,
		   size_t max, size_t *ret_n)
{
	if (!r || !ret_n || (max && !ret_errors) || flavour > JST_FLAVOUR_DO)
		return JST_EINVAL;
	if (flavour == JST_FLAVOUR_DO)
		return JST_ENOTSUP;
	for (unsigned i = 0; i < JST_READ_RETRIES; i++) {
		struct jst_status st;
		unsigned n, k;
		int rc = jst_status(r, h, &st);

		if (rc < 0)
			return rc;
		rc = jst_error_rule(&st, flavour);
		if (rc == JST_RULE_NULL) {
			*ret_n = 0;
			return JST_ENOERROR;
		}
		if (rc == JST_RULE_SYNTHESIZED) {
			if (!max) {
				*ret_n = 0;
				return 0;
			}
			rc = synthesize_from(r, h, flavour, ret_errors);
			if (rc == JST_EAGAIN)
				continue;
			if (rc == 0)
				*ret_n = 1;
			return rc;
		}
		n = st.n_errors < max ? st.n_errors : (unsigned)max;
		/* The newest n of them, oldest first, with consecutive sequence numbers. */
		for (k = 0; k < n; k++) {
			unsigned idx = st.n_errors - n + k;

			rc = jst__error_read_st(r, &st, idx, &ret_errors[k]);
			if (rc < 0 && rc != JST_ENOERROR && rc != JST_EAGAIN)
				return rc;
			if (rc < 0 || ret_errors[k].sequence != st.errors_total - (n - 1 - k))
				break; /* another error came in meanwhile: read the set again */
		}
		if (k == n) {
			*ret_n = n;
			return 0;
		}
	}
	return JST_EAGAIN;
}

int jst_get_error_cimxml(jst_reader *r, jst_handle h, char *buf, size_t n, size_t *ret_len)
{
	struct jst_error e;
	int rc = jst_get_error(r, h, JST_FLAVOUR_HYPERV, &e);

	return rc < 0 ? rc : jst_error_to_cimxml(&e, buf, n, ret_len);
}

int jst_error_file(const struct jst_error *e, const char **ret_file)
{
	if (!e || !ret_file)
		return JST_EINVAL;
	if (!e->file || !*e->file)
		return JST_ENOFILE;
	*ret_file = e->file;
	return 0;
}

/* ---- CIM_Error's value maps (DMTF CIM_Error, CIM schema 2.x) ---- */

int jst_error_validate(const struct jst_error *e, char *msg, size_t n)
{
	static const struct {
		const char *name, *allowed;
		unsigned max;
		size_t off;
	} maps[] = {
		{"ErrorType", "0 Unknown .. 10 Unsupported Operation", 10,
		 offsetof(struct jst_error, error_type)},
		{"PerceivedSeverity", "0 Unknown .. 7 Fatal/NonRecoverable", 7,
		 offsetof(struct jst_error, perceived_severity)},
		{"ProbableCause", "0 Unknown .. 130 Unexpected Information", 130,
		 offsetof(struct jst_error, probable_cause)},
		{"ErrorSourceFormat", "0 Unknown, 1 Other, 2 CIMObjectPath", 2,
		 offsetof(struct jst_error, error_source_format)},
	};

	if (msg && n)
		msg[0] = 0;
	if (!e)
		return jst__say(msg, n, JST_EINVAL, "no CIM_Error given");
	if (!e->message_id)
		return jst__say(msg, n, JST_EINVAL,
				"CIM_Error.MessageID is required: set message_id");
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		uint16_t v;

		memcpy(&v, (const char *)e + maps[i].off, sizeof(v));
		if (v > maps[i].max)
			return jst__say(msg, n, JST_EVALUEMAP,
					"CIM_Error.%s %u is not in its ValueMap (%s)", maps[i].name,
					v, maps[i].allowed);
	}
	if (e->cim_status_code > 29)
		return jst__say(msg, n, JST_EVALUEMAP,
				"CIM_Error.CIMStatusCode %" PRIu32 " is not in its ValueMap "
				"(1 CIM_ERR_FAILED .. 29, or 0 for NULL)",
				e->cim_status_code);
	if ((e->error_type == 1) != (e->other_error_type != NULL))
		return jst__say(msg, n, JST_EOTHERPAIR,
				e->other_error_type
				    ? "CIM_Error.OtherErrorType is set but ErrorType is %u, "
				      "not 1 (Other)"
				    : "CIM_Error.ErrorType is %u (Other) but OtherErrorType "
				      "is not set",
				e->error_type);
	if ((e->error_source_format == 1) != (e->other_error_source_format != NULL))
		return jst__say(
		    msg, n, JST_EOTHERPAIR,
		    e->other_error_source_format
			? "CIM_Error.OtherErrorSourceFormat is set but ErrorSourceFormat is "
			  "%u, not 1 (Other)"
			: "CIM_Error.ErrorSourceFormat is %u (Other) but "
			  "OtherErrorSourceFormat is not set",
		    e->error_source_format);
	if (e->n_message_arguments > JST_ERROR_ARGS_MAX ||
	    e->n_recommended_actions > JST_ERROR_ARGS_MAX)
		return jst__say(
		    msg, n, JST_ETOOLONG,
		    "CIM_Error has %u MessageArguments and %u RecommendedActions; at most %d "
		    "each",
		    e->n_message_arguments, e->n_recommended_actions, JST_ERROR_ARGS_MAX);
	return 0;
}

/* ---- RequestStateChange's codes ---- */

uint32_t jst_rsc_method_code(int rc, uint32_t cim_code, unsigned flavour)
{
	static const struct {
		int rc;
		uint32_t cim, hyperv;
	} refusals[] = {
	    {JST_ENOJOB, JST_RSC_INVALID_PARAMETER, JST_RSC_HV_INVALID_PARAMETER},
	    {JST_EINVAL, JST_RSC_INVALID_PARAMETER, JST_RSC_HV_INVALID_PARAMETER},
	    {JST_EPERM, JST_RSC_ACCESS_DENIED, JST_RSC_HV_ACCESS_DENIED},
	    {JST_ETRANSITION, JST_RSC_INVALID_TRANSITION, JST_RSC_HV_INVALID_STATE},
	    {JST_EPENDING, JST_RSC_BUSY, JST_RSC_HV_IN_USE},
	    {JST_ENOTSUP, JST_RSC_NOT_SUPPORTED, JST_RSC_HV_NOT_SUPPORTED},
	    {JST_ETIMEDOUT, JST_RSC_TIMEOUT, JST_RSC_HV_TIMEOUT},
	    {JST_ENOPRODUCER, JST_RSC_FAILED, JST_RSC_HV_NOT_AVAILABLE},
	    {JST_ENODAEMON, JST_RSC_FAILED, JST_RSC_HV_NOT_AVAILABLE},
	    {JST_EDISCONNECTED, JST_RSC_FAILED, JST_RSC_HV_NOT_AVAILABLE},
	    {JST_ENOMEM, JST_RSC_FAILED, JST_RSC_HV_OUT_OF_MEMORY},
	};
	/* The producer's CIM answer in Hyper-V's words. */
	static const struct {
		uint32_t cim, hyperv;
	} answers[] = {
		{JST_RSC_COMPLETED, JST_RSC_HV_COMPLETED},
		{JST_RSC_NOT_SUPPORTED, JST_RSC_HV_NOT_SUPPORTED},
		{JST_RSC_UNKNOWN, JST_RSC_HV_FAILED},
		{JST_RSC_TIMEOUT, JST_RSC_HV_TIMEOUT},
		{JST_RSC_FAILED, JST_RSC_HV_FAILED},
		{JST_RSC_INVALID_PARAMETER, JST_RSC_HV_INVALID_PARAMETER},
		{JST_RSC_IN_USE, JST_RSC_HV_IN_USE},
		{JST_RSC_STARTED, JST_RSC_HV_STARTED},
		{JST_RSC_INVALID_TRANSITION, JST_RSC_HV_INVALID_STATE},
		{JST_RSC_TIMEOUT_NOT_SUPPORTED, JST_RSC_HV_INVALID_PARAMETER},
		{JST_RSC_BUSY, JST_RSC_HV_IN_USE},
	};

	if (flavour == JST_FLAVOUR_DO) {
		if (rc < 0)
			return jst_method_code(rc, JST_FLAVOUR_DO);
		return cim_code == JST_RSC_COMPLETED || cim_code == JST_RSC_STARTED
			       ? JST_DO_S_OK : HR_E_FAIL; /* the producer refused or failed */
	}
	if (flavour != JST_FLAVOUR_CIM && flavour != JST_FLAVOUR_HYPERV)
		return JST_RSC_UNKNOWN;
	if (rc == 0) {
		if (flavour == JST_FLAVOUR_CIM)
			return cim_code;
		for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++)
			if (answers[i].cim == cim_code)
				return answers[i].hyperv;
		/* Vendor codes pass through; a DMTF-reserved one is a plain failure. */
		return cim_code >= 32768 ? cim_code : JST_RSC_HV_FAILED;
	}
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++)
		if (refusals[i].rc == rc)
			return flavour == JST_FLAVOUR_CIM ? refusals[i].cim : refusals[i].hyperv;
	return flavour == JST_FLAVOUR_CIM ? JST_RSC_UNKNOWN : JST_RSC_HV_FAILED;
}

uint32_t jst_method_code(int rc, unsigned flavour)
{
	static const struct {
		int rc;
		uint32_t cim, hyperv, dox;
	} map[] = {
		{JST_OK, 0, 0, JST_DO_S_OK},
		{JST_ENOERROR, 0, 0, JST_DO_E_ERROR_INFORMATION_UNAVAILABLE},
		{JST_EPERM, 6, 32769, HR_E_ACCESSDENIED},
		{JST_EACCES, 6, 32769, HR_E_ACCESSDENIED},
		{JST_ENOJOB, 5, 32773, JST_DO_E_JOB_NOT_FOUND},
		{JST_ESTALE, 5, 32773, JST_DO_E_JOB_NOT_FOUND},
		{JST_EINVAL, 5, 32773, HR_E_INVALIDARG},
		{JST_EINSTANCEID, 5, 32773, HR_E_INVALIDARG},
		{JST_ETOOLONG, 5, 32773, HR_E_INVALIDARG},
		{JST_EUTF8, 5, 32776, HR_E_INVALIDARG},
		{JST_ETRANSITION, 4, 32775, JST_DO_E_INVALID_STATE},
		{JST_ENOTFINISHED, 4, 32775, JST_DO_E_INVALID_STATE},
		{JST_ETIMEDOUT, 3, 32772, HR_ERROR_TIMEOUT},
		{JST_ENOTSUP, 1, 32770, HR_E_NOTIMPL},
		{JST_ENOMEM, 4, 32778, HR_E_OUTOFMEMORY},
		{JST_ENOSPC, 4, 32778, HR_E_OUTOFMEMORY},
		{JST_EPENDING, 4, 32774, HR_ERROR_BUSY},
		{JST_EBUSY, 4, 32774, HR_ERROR_BUSY},
		{JST_ENODAEMON, 4, 32777, JST_DO_E_NO_SERVICE},
		{JST_EDISCONNECTED, 4, 32777, JST_DO_E_NO_SERVICE},
		{JST_ENOPRODUCER, 4, 32777, JST_DO_E_NO_SERVICE},
		{JST_ENOENT, 4, 32777, JST_DO_E_NO_SERVICE},
		{JST_ENOFILE, 2, 32768, JST_DO_E_FILE_NOT_AVAILABLE},
		{JST_EVALUEMAP, 5, 32773, HR_E_INVALIDARG},
		{JST_EOTHERPAIR, 5, 32773, HR_E_INVALIDARG},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (map[i].rc != rc)
			continue;
		return flavour == JST_FLAVOUR_CIM ? map[i].cim
		       : flavour == JST_FLAVOUR_HYPERV ? map[i].hyperv : map[i].dox;
	}
	/* Anything else (a damaged segment, retries exhausted) is a plain failure. */
	return flavour == JST_FLAVOUR_CIM ? 2 : flavour == JST_FLAVOUR_HYPERV ? 32768 : HR_E_FAIL;
}
