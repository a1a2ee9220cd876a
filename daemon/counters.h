/* SPDX-License-Identifier: MIT */
/*
 * counters.h - the writer side of the segment's cumulative counters (format
 * 1.2, struct jst_shm_counters in the header): small calls jobstatd makes
 * from its rules, one thread only, as the segment's only writer.
 */
#ifndef JOBSTAT_COUNTERS_H
#define JOBSTAT_COUNTERS_H

#include <stdint.h>

#include "shm-atomic.h"

/*
 * The writer's counters: @mine is the private copy every decision and sum is
 * made from; @out, the segment's, is only stored into.
 */
struct jst_counters_writer {
	struct jst_shm_counters mine;
	struct jst_shm_counters *out;
};

/**
 * jst_counters_writer_init() - start @w storing into @out, from zero or from
 * @adopted: the counters of a header copied to private memory and checked
 * (jst_pub_adopt()), so counts go on from the dead writer's.
 */
void jst_counters_writer_init(struct jst_counters_writer *w, struct jst_shm_counters *out,
			      const struct jst_shm_counters *adopted);

/* The plain counters, by what they count. */
enum jst_counter {
	JST_COUNTER_JOBS_CREATED = 0,  /* a job was published (jst_pub_job_create() succeeded) */
	JST_COUNTER_SESSIONS_LOST = 1, /* a producer session's jobs went Lost Communication */
};

/** jst_counters_add() - raise counter @which by @n. An unknown @which is ignored. */
void jst_counters_add(struct jst_counters_writer *w, enum jst_counter which, uint64_t n);

/**
 * jst_counters_finished() - a job of @job_type reached the final @job_state
 * (Completed, Terminated, Killed, Exception, CompletedWithWarnings). A state
 * that is not final is ignored. Job types get a row each in order of first
 * use; past JST_SHM_CTR_TYPES - 1 of them, the rest share the last row.
 */
void jst_counters_finished(struct jst_counters_writer *w, uint16_t job_state, uint16_t job_type);

/** jst_counters_error() - a CIM_Error of @perceived_severity was reported. */
void jst_counters_error(struct jst_counters_writer *w, uint16_t perceived_severity);

/** jst_counters_rsc() - a RequestStateChange was answered @code (enum jst_rsc_code). */
void jst_counters_rsc(struct jst_counters_writer *w, uint32_t code);

/** jst_counters_refused() - a request was refused for @reason (JST_SHM_REFUSE_*). */
void jst_counters_refused(struct jst_counters_writer *w, unsigned reason);

/**
 * jst_counters_gauges() - the daemon's bookkeeping now: open control
 * connections, producer sessions, and blocks in use per pool
 * (jst_pub_stats().in_use), at CLOCK_MONOTONIC @now_ns.
 */
void jst_counters_gauges(struct jst_counters_writer *w, uint32_t connections, uint32_t sessions,
			 const uint32_t in_use[JST_POOL_COUNT], uint64_t now_ns);

#endif /* JOBSTAT_COUNTERS_H */
