/* SPDX-License-Identifier: MIT */
/*
 * shm-status.h - conversion between a status version's segment bytes and the
 * public struct jst_status, shared by libjobstat and jobstatd so the two can
 * never disagree on a field. Internal: not installed.
 */
#ifndef JOBSTAT_SHM_STATUS_H
#define JOBSTAT_SHM_STATUS_H

#include <stddef.h>
#include <string.h>

#include "jobstat-shm.h"
#include "jobstat.h"

/* struct jst_status is struct jst_shm_status, byte for byte: a read is one copy. */
#define JST_SAME_FIELD(pub, shm)                                                               \
	_Static_assert(offsetof(struct jst_status, pub) == offsetof(struct jst_shm_status, shm) && \
			       sizeof(((struct jst_status *)0)->pub) ==                         \
				       sizeof(((struct jst_shm_status *)0)->shm),                \
		       "struct jst_status mirrors struct jst_shm_status: " #pub)
JST_SAME_FIELD(internal_stamp, stamp);
JST_SAME_FIELD(handle.slot, slot);
JST_SAME_FIELD(handle.gen, job_gen);
JST_SAME_FIELD(job_state, job_state);
JST_SAME_FIELD(percent_complete, percent_complete);
JST_SAME_FIELD(change_seq, change_seq);
JST_SAME_FIELD(internal_detail, detail_ref);
JST_SAME_FIELD(operational_status, op_status);
JST_SAME_FIELD(n_operational_status, n_op_status);
JST_SAME_FIELD(flags, flags);
JST_SAME_FIELD(error_code, error_code);
JST_SAME_FIELD(recovery_action, recovery_action);
JST_SAME_FIELD(job_type, job_type);
JST_SAME_FIELD(priority, priority);
JST_SAME_FIELD(transfer_state, transfer_state);
JST_SAME_FIELD(n_errors, n_errors);
JST_SAME_FIELD(time_submitted, time_submitted);
JST_SAME_FIELD(start_time, start_time);
JST_SAME_FIELD(time_of_last_state_change, time_of_last_state_change);
JST_SAME_FIELD(elapsed_ns, elapsed_ns);
JST_SAME_FIELD(time_before_removal_ns, time_before_removal_ns);
JST_SAME_FIELD(owner_uid, owner_uid);
JST_SAME_FIELD(errors_total, errors_total);
JST_SAME_FIELD(producer_session, producer_session);
JST_SAME_FIELD(reserved, last_request);
#undef JST_SAME_FIELD
_Static_assert(sizeof(struct jst_status) == sizeof(struct jst_shm_status), "same size");
_Static_assert(JST_STATUS_DELETE_ON_COMPLETION == JST_SHM_F_DELETE_ON_COMPLETION &&
		       JST_STATUS_CANCELLABLE == JST_SHM_F_CANCELLABLE &&
		       JST_STATUS_DO_ERROR == JST_SHM_F_DO_ERROR,
	       "same flags");
_Static_assert(JST_OPSTATUS_MAX == JST_SHM_OPSTATUS_MAX, "public and segment limits agree");

static inline void jst_shm_status_to_public(const struct jst_shm_status *s, struct jst_status *o)
{
	memcpy(o, s, sizeof(*o));
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
	d->flags = s->flags &
		   (JST_SHM_F_DELETE_ON_COMPLETION | JST_SHM_F_CANCELLABLE | JST_SHM_F_DO_ERROR);
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
	d->producer_session = s->producer_session;
}

#endif /* JOBSTAT_SHM_STATUS_H */
