/* SPDX-License-Identifier: MIT */
/*
 * props.c - the job properties format 1.5 added: the check of what a
 * producer may set (DMTF's value maps and MaxLen), shared by the library
 * and jobstatd, and the CIM_ManagedSystemElement statuses derived from
 * JobState and OperationalStatus (README.md "Derived statuses").
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "jobstat.h"
#include "read-internal.h"
#include "shm-check.h"

/* The first struct jst_job_props: a caller must know at least this much of it. */
#define PROPS_SIZE_MIN (offsetof(struct jst_job_props, local_or_utc_time) + sizeof(uint16_t))

/* UTF-8 characters in the valid string @s of @len bytes. */
static size_t utf8_chars(const char *s, size_t len)
{
	size_t c = 0;

	for (size_t i = 0; i < len; i++)
		c += ((unsigned char)s[i] & 0xC0) != 0x80;
	return c;
}

static int check_string(const char *name, const char *s, size_t max_bytes, size_t max_chars,
			char *msg, size_t n)
{
	size_t len;

	if (!s)
		return 0;
	len = strnlen(s, max_bytes + 1);
	if (len > max_bytes)
		return jst__say(msg, n, JST_ETOOLONG, "CIM_ConcreteJob.%s is longer than %zu bytes",
				name, max_bytes);
	if (!jst_utf8_valid(s, len))
		return jst__say(msg, n, JST_EUTF8, "CIM_ConcreteJob.%s is not valid UTF-8", name);
	if (max_chars && utf8_chars(s, len) > max_chars)
		return jst__say(msg, n, JST_ETOOLONG,
				"CIM_ConcreteJob.%s has %zu characters; its MaxLen is %zu", name,
				utf8_chars(s, len), max_chars);
	return 0;
}

int jst_job_props_validate(const struct jst_job_props *pp, size_t size, char *msg, size_t n)
{
	struct jst_job_props p = {0};
	int rc;

	if (msg && n)
		msg[0] = 0;
	if (!pp)
		return jst__say(msg, n, JST_EINVAL, "no properties given");
	if (size < PROPS_SIZE_MIN)
		return jst__say(
		    msg, n, JST_EINVAL,
		    "struct jst_job_props of %zu bytes: pass sizeof(struct jst_job_props)", size);
	memcpy(&p, pp, size < sizeof(p) ? size : sizeof(p));
	if (p.set & ~(uint32_t)JST_PROP_ALL)
		return jst__say(msg, n, JST_EINVAL,
				"unknown property bits 0x%" PRIx32 " (JST_PROP_*)",
				p.set & ~(uint32_t)JST_PROP_ALL);
	if (p.set & JST_PROP_RECOVERY_ACTION) {
		if (p.recovery_action > 5)
			return jst__say(
			    msg, n, JST_EVALUEMAP,
			    "CIM_ConcreteJob.RecoveryAction %u is not in its ValueMap (0 "
			    "Unknown, 1 Other, 2 Do Not Continue, 3 Continue With Next Job, "
			    "4 Re-run Job, 5 Run Recovery Job)",
			    p.recovery_action);
		if ((p.recovery_action == 1) != (p.other_recovery_action != NULL))
			return jst__say(msg, n, JST_EOTHERPAIR,
					p.other_recovery_action
					    ? "CIM_ConcreteJob.OtherRecoveryAction is set but "
					      "RecoveryAction is %u, not 1 (Other)"
					    : "CIM_ConcreteJob.RecoveryAction is %u (Other) but "
					      "OtherRecoveryAction is not set",
					p.recovery_action);
		rc = check_string("OtherRecoveryAction", p.other_recovery_action, 256, 0, msg, n);
		if (rc < 0)
			return rc;
	}
	if ((p.set & JST_PROP_TIME_BEFORE_REMOVAL) && p.time_before_removal_ns < 0)
		return jst__say(msg, n, JST_EINVAL,
				"CIM_ConcreteJob.TimeBeforeRemoval %" PRId64 " ns is negative",
				p.time_before_removal_ns);
	if ((p.set & JST_PROP_LOCAL_OR_UTC_TIME) && p.local_or_utc_time > 2)
		return jst__say(
		    msg, n, JST_EVALUEMAP,
		    "CIM_ConcreteJob.LocalOrUtcTime %u is not in its ValueMap (1 Local Time, "
		    "2 UTC Time, or 0 for NULL)",
		    p.local_or_utc_time);
	if (p.set & JST_PROP_ERROR_SUMMARY) {
		rc = check_string("ErrorSummaryDescription", p.error_summary_description, 1024, 0,
				  msg, n);
		if (rc < 0)
			return rc;
	}
	if (p.set & JST_PROP_ELEMENT_NAME) {
		rc = check_string("ElementName", p.element_name, JST_ELEMENT_NAME_MAX, 0, msg, n);
		if (rc < 0)
			return rc;
	}
	if (p.set & JST_PROP_CAPTION) {
		rc = check_string("Caption", p.caption, 4 * JST_CAPTION_MAX, JST_CAPTION_MAX, msg,
				  n);
		if (rc < 0)
			return rc;
	}
	if (p.set & JST_PROP_DESCRIPTION) {
		rc = check_string("Description", p.description, JST_DESCRIPTION_MAX, 0, msg, n);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- derived statuses --------------------------------------------------------------------- */

static bool has_op(const struct jst_status *st, uint16_t v)
{
	unsigned n = st->n_operational_status < JST_OPSTATUS_MAX ? st->n_operational_status
								 : JST_OPSTATUS_MAX;

	for (unsigned i = 0; i < n; i++)
		if (st->operational_status[i] == v)
			return true;
	return false;
}

/* OperatingStatus by JobState: what the job is doing, not how well. */
static uint16_t operating_status(uint16_t state)
{
	switch (state) {
	case JST_JOB_NEW:
	case JST_JOB_SUSPENDED:
	case JST_JOB_QUERY_PENDING:
		return 7; /* Dormant: inactive, waiting */
	case JST_JOB_STARTING:
		return 3; /* Starting */
	case JST_JOB_RUNNING:
		return 16; /* In Service */
	case JST_JOB_SHUTTING_DOWN:
		return 4; /* Stopping: brought to an orderly stop */
	case JST_JOB_COMPLETED:
	case JST_JOB_EXCEPTION:
	case JST_JOB_COMPLETED_WITH_WARNINGS:
		return 8; /* Completed (PrimaryStatus says OK, Degraded or Error) */
	case JST_JOB_TERMINATED:
		return 5; /* Stopped */
	case JST_JOB_KILLED:
		return 6; /* Aborted */
	case JST_JOB_SERVICE:
		return 2; /* Servicing */
	default:
		return 0; /* Unknown: a vendor or reserved JobState */
	}
}

int jst_status_derive(const struct jst_status *st, struct jst_derived_status *ret)
{
	struct jst_derived_status d = {0};
	bool lost;

	if (!st || !ret)
		return JST_EINVAL;
	lost = has_op(st, JST_OPS_LOST_COMMUNICATION);
	/* CommunicationStatus: the producer is the element the daemon talks to. */
	d.communication_status = lost ? 3 : st->producer_session ? 2 : 0;
	d.operating_status = operating_status(st->job_state);
	/* Health, worst first: a known failure outranks not knowing. */
	if (has_op(st, 7)) { /* Non-Recoverable Error */
		d.health_state = 30, d.primary_status = 3, d.detailed_status = 4;
	} else if (has_op(st, 16)) { /* Supporting Entity in Error */
		d.health_state = 20, d.primary_status = 3, d.detailed_status = 5;
	} else if (has_op(st, JST_OPS_ERROR)) {
		d.health_state = 20, d.primary_status = 3, d.detailed_status = 1;
	} else if (lost) {
		d.health_state = 0, d.primary_status = 0, d.detailed_status = 0;
	} else if (has_op(st, 5)) { /* Predictive Failure */
		d.health_state = 10, d.primary_status = 2, d.detailed_status = 3;
	} else if (has_op(st, 4)) { /* Stressed */
		d.health_state = 10, d.primary_status = 2, d.detailed_status = 2;
	} else if (has_op(st, JST_OPS_DEGRADED)) {
		d.health_state = 10, d.primary_status = 2, d.detailed_status = 1;
	} else if (st->n_operational_status == 0 || has_op(st, JST_OPS_UNKNOWN) ||
		   (st->n_operational_status == 1 && st->operational_status[0] == JST_OPS_OTHER)) {
		d.health_state = 0, d.primary_status = 0, d.detailed_status = 0;
	} else {
		d.health_state = 5, d.primary_status = 1, d.detailed_status = 1;
	}
	*ret = d;
	return 0;
}
