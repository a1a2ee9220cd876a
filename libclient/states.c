/* SPDX-License-Identifier: MIT */
/*
 * states.c - the CIM job state machine: which JobState transitions are
 * valid and which OperationalStatus each state shows by default. jobstatd
 * enforces it; clients may ask it before they send.
 */
#include "jobstat.h"

#define BIT(s) (1u << (s))
#define FINALS (BIT(JST_JOB_COMPLETED) | BIT(JST_JOB_TERMINATED) | BIT(JST_JOB_KILLED) | \
		BIT(JST_JOB_EXCEPTION))
#define ACTIVE (BIT(JST_JOB_STARTING) | BIT(JST_JOB_RUNNING) | BIT(JST_JOB_SUSPENDED) |    \
		BIT(JST_JOB_SHUTTING_DOWN) | BIT(JST_JOB_SERVICE) | BIT(JST_JOB_QUERY_PENDING))

/*
 * next[s]: the DMTF states (2..12) a job in state s may move to. New is only
 * ever a first state; Shutting Down leads only to an end; an end is final.
 * Vendor states (>= 32768) are handled in jst_job_state_check().
 */
static const uint16_t next[13] = {
	[JST_JOB_NEW] = ACTIVE | FINALS,
	[JST_JOB_STARTING] = (ACTIVE & ~BIT(JST_JOB_STARTING)) | FINALS,
	[JST_JOB_RUNNING] = (ACTIVE & ~BIT(JST_JOB_STARTING)) | FINALS,
	[JST_JOB_SUSPENDED] = ACTIVE | FINALS,
	[JST_JOB_SHUTTING_DOWN] = FINALS,
	[JST_JOB_SERVICE] = ACTIVE | FINALS,
	[JST_JOB_QUERY_PENDING] = ACTIVE | FINALS,
};

static bool dmtf(uint16_t s)
{
	return s >= JST_JOB_NEW && s <= JST_JOB_QUERY_PENDING;
}

static bool vendor(uint16_t s)
{
	return s >= 32768;
}

const char *jst_job_state_name(uint16_t s)
{
	static const char *const names[13] = {
		[JST_JOB_NEW] = "New",
		[JST_JOB_STARTING] = "Starting",
		[JST_JOB_RUNNING] = "Running",
		[JST_JOB_SUSPENDED] = "Suspended",
		[JST_JOB_SHUTTING_DOWN] = "Shutting Down",
		[JST_JOB_COMPLETED] = "Completed",
		[JST_JOB_TERMINATED] = "Terminated",
		[JST_JOB_KILLED] = "Killed",
		[JST_JOB_EXCEPTION] = "Exception",
		[JST_JOB_SERVICE] = "Service",
		[JST_JOB_QUERY_PENDING] = "Query Pending",
	};

	if (dmtf(s))
		return names[s];
	if (s == JST_JOB_COMPLETED_WITH_WARNINGS)
		return "Completed With Warnings";
	return vendor(s) ? "Vendor" : "Reserved";
}

bool jst_job_state_is_final(uint16_t s)
{
	return (dmtf(s) && (FINALS & BIT(s))) || s == JST_JOB_COMPLETED_WITH_WARNINGS;
}

int jst_job_state_check(uint16_t from, uint16_t to)
{
	if (!(dmtf(from) || vendor(from)) || !(dmtf(to) || vendor(to)))
		return JST_ETRANSITION; /* CIM reserves 0, 1 and 13..32767 */
	if (jst_job_state_is_final(from))
		return from == to ? 0 : JST_ETRANSITION;
	if (from == to)
		return 0;
	if (to == JST_JOB_NEW)
		return JST_ETRANSITION;
	if (vendor(from) || vendor(to))
		return 0; /* vendor semantics are the producer's; only the ends are enforced */
	return next[from] & BIT(to) ? 0 : JST_ETRANSITION;
}

unsigned jst_default_op_status(uint16_t s, uint16_t *o)
{
	switch (s) {
	case JST_JOB_NEW:
		o[0] = JST_OPS_DORMANT;
		return 1;
	case JST_JOB_STARTING:
		o[0] = JST_OPS_STARTING;
		return 1;
	case JST_JOB_RUNNING:
	case JST_JOB_SUSPENDED:
	case JST_JOB_QUERY_PENDING:
		o[0] = JST_OPS_OK;
		return 1;
	case JST_JOB_SHUTTING_DOWN:
		o[0] = JST_OPS_STOPPING;
		return 1;
	case JST_JOB_COMPLETED:
		o[0] = JST_OPS_COMPLETED;
		o[1] = JST_OPS_OK;
		return 2;
	case JST_JOB_TERMINATED:
		o[0] = JST_OPS_STOPPED;
		return 1;
	case JST_JOB_KILLED:
		o[0] = JST_OPS_STOPPED;
		o[1] = JST_OPS_ABORTED;
		return 2;
	case JST_JOB_EXCEPTION:
		o[0] = JST_OPS_COMPLETED;
		o[1] = JST_OPS_ERROR;
		return 2;
	case JST_JOB_SERVICE:
		o[0] = JST_OPS_IN_SERVICE;
		return 1;
	case JST_JOB_COMPLETED_WITH_WARNINGS:
		o[0] = JST_OPS_COMPLETED;
		o[1] = JST_OPS_DEGRADED;
		return 2;
	default:
		o[0] = JST_OPS_OTHER;
		return 1;
	}
}

/* ---- transfer jobs (BITS / Delivery Optimization) ---- */

#define BG(s) (1u << (s))
#define BG_ACTIVE (BG(JST_BG_QUEUED) | BG(JST_BG_CONNECTING) | BG(JST_BG_TRANSFERRING) |    \
		   BG(JST_BG_SUSPENDED) | BG(JST_BG_ERROR) | BG(JST_BG_TRANSIENT_ERROR))

static const uint16_t bg_next[9] = {
	[JST_BG_QUEUED] = BG_ACTIVE | BG(JST_BG_TRANSFERRED) | BG(JST_BG_CANCELLED),
	[JST_BG_CONNECTING] = BG_ACTIVE | BG(JST_BG_CANCELLED),
	[JST_BG_TRANSFERRING] = BG_ACTIVE | BG(JST_BG_TRANSFERRED) | BG(JST_BG_CANCELLED),
	/* Resume leads through QUEUED: a suspended or failed job does not jump ahead. */
	[JST_BG_SUSPENDED] = BG(JST_BG_QUEUED) | BG(JST_BG_CANCELLED),
	/* After an error: Resume (QUEUED), Cancel, or Complete what was transferred (seed 004). */
	[JST_BG_ERROR] = BG(JST_BG_QUEUED) | BG(JST_BG_SUSPENDED) | BG(JST_BG_ACKNOWLEDGED) |
			 BG(JST_BG_CANCELLED),
	[JST_BG_TRANSIENT_ERROR] = BG_ACTIVE | BG(JST_BG_CANCELLED),
	[JST_BG_TRANSFERRED] = BG(JST_BG_ACKNOWLEDGED) | BG(JST_BG_CANCELLED),
};

const char *jst_transfer_state_name(uint16_t s)
{
	static const char *const names[9] = {
		"QUEUED", "CONNECTING", "TRANSFERRING", "SUSPENDED", "ERROR", "TRANSIENT_ERROR",
		"TRANSFERRED", "ACKNOWLEDGED", "CANCELLED",
	};

	return s < 9 ? names[s] : "?";
}

int jst_transfer_check(uint16_t from, uint16_t to)
{
	if (from > JST_BG_CANCELLED || to > JST_BG_CANCELLED)
		return JST_ETRANSITION;
	if (from == to)
		return 0;
	return bg_next[from] & BG(to) ? 0 : JST_ETRANSITION;
}

unsigned jst_transfer_job_state(uint16_t s, uint16_t *js, uint16_t *o)
{
	static const struct {
		uint16_t job_state, n, ops[2];
	} map[9] = {
		[JST_BG_QUEUED] = {JST_JOB_STARTING, 1, {JST_OPS_DORMANT}},
		[JST_BG_CONNECTING] = {JST_JOB_STARTING, 1, {JST_OPS_STARTING}},
		[JST_BG_TRANSFERRING] = {JST_JOB_RUNNING, 1, {JST_OPS_OK}},
		[JST_BG_SUSPENDED] = {JST_JOB_SUSPENDED, 1, {JST_OPS_OK}},
		[JST_BG_ERROR] = {JST_JOB_QUERY_PENDING, 1, {JST_OPS_ERROR}},
		[JST_BG_TRANSIENT_ERROR] = {JST_JOB_RUNNING, 1, {JST_OPS_DEGRADED}},
		[JST_BG_TRANSFERRED] = {JST_JOB_SHUTTING_DOWN, 1, {JST_OPS_STOPPING}},
		[JST_BG_ACKNOWLEDGED] = {JST_JOB_COMPLETED, 2, {JST_OPS_COMPLETED, JST_OPS_OK}},
		[JST_BG_CANCELLED] = {JST_JOB_TERMINATED, 1, {JST_OPS_STOPPED}},
	};

	if (s > JST_BG_CANCELLED) {
		*js = JST_JOB_QUERY_PENDING;
		o[0] = JST_OPS_UNKNOWN;
		return 1;
	}
	*js = map[s].job_state;
	o[0] = map[s].ops[0];
	o[1] = map[s].ops[1];
	return map[s].n;
}
