/* SPDX-License-Identifier: MIT */
/*
 * shm-status.h - conversion between a status version's segment bytes and the
 * public struct jst_status, shared by libjobstat and jobstatd so the two can
 * never disagree on a field. Internal: not installed.
 */
#ifndef JOBSTAT_SHM_STATUS_H
#define JOBSTAT_SHM_STATUS_H

#include <string.h>

#include "jobstat-shm.h"
#include "jobstat.h"

_Static_assert(JST_OPSTATUS_MAX == JST_SHM_OPSTATUS_MAX, "public and segment limits agree");

static inline void jst_shm_status_to_public(const struct jst_shm_status *s, struct jst_status *o)
{
	o->handle.slot = s->slot;
	o->handle.gen = s->job_gen;
	o->change_seq = s->change_seq;
	o->job_state = s->job_state;
	o->percent_complete = s->percent_complete;
	o->error_code = s->error_code;
	o->recovery_action = s->recovery_action;
	o->job_type = s->job_type;
	o->transfer_state = s->transfer_state;
	o->n_operational_status =
		s->n_op_status <= JST_OPSTATUS_MAX ? s->n_op_status : JST_OPSTATUS_MAX;
	memcpy(o->operational_status, s->op_status, sizeof(o->operational_status));
	o->n_errors = s->n_errors;
	o->errors_total = s->errors_total;
	o->priority = s->priority;
	o->owner_uid = s->owner_uid;
	o->delete_on_completion = s->flags & JST_SHM_F_DELETE_ON_COMPLETION;
	o->cancellable = s->flags & JST_SHM_F_CANCELLABLE;
	o->time_submitted = s->time_submitted;
	o->start_time = s->start_time;
	o->time_of_last_state_change = s->time_of_last_state_change;
	o->elapsed_ns = s->elapsed_ns;
	o->time_before_removal_ns = s->time_before_removal_ns;
}

/* The producer-settable fields only: identity, sequence and error counts are the writer's. */
static inline void jst_shm_status_from_public(struct jst_shm_status *d, const struct jst_status *s)
{
	uint16_t n = s->n_operational_status <= JST_SHM_OPSTATUS_MAX ? s->n_operational_status
								     : JST_SHM_OPSTATUS_MAX;

	d->job_state = s->job_state;
	d->percent_complete = s->percent_complete;
	memset(d->op_status, 0, sizeof(d->op_status));
	memcpy(d->op_status, s->operational_status, n * sizeof(uint16_t));
	d->n_op_status = (uint8_t)n;
	d->flags = (uint8_t)((s->delete_on_completion ? JST_SHM_F_DELETE_ON_COMPLETION : 0) |
			     (s->cancellable ? JST_SHM_F_CANCELLABLE : 0));
	d->error_code = s->error_code;
	d->recovery_action = s->recovery_action;
	d->job_type = s->job_type;
	d->priority = s->priority;
	d->transfer_state = s->transfer_state;
	d->time_submitted = s->time_submitted;
	d->start_time = s->start_time;
	d->time_of_last_state_change = s->time_of_last_state_change;
	d->elapsed_ns = s->elapsed_ns;
	d->time_before_removal_ns = s->time_before_removal_ns;
	d->owner_uid = s->owner_uid;
}

#endif /* JOBSTAT_SHM_STATUS_H */
