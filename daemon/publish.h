/* SPDX-License-Identifier: MIT */
/*
 * publish.h - the writing side of the segment: jobstatd's publisher, usable
 * in-process (tests, benchmarks) without the daemon around it.
 * Single-threaded: exactly one thread of one process calls these.
 */
#ifndef JOBSTAT_PUBLISH_H
#define JOBSTAT_PUBLISH_H

#include <stdbool.h>
#include <stdint.h>

#include "jobstat-shm.h"
#include "jobstat.h"

/* Producer-facing string limits, in bytes without the NUL. PROTOCOL.md lists them all. */
#define JST_NAME_MAX         1024
#define JST_JOB_STATUS_MAX   512
#define JST_TEXT_FIELD_MAX   1024 /* ErrorDescription, ErrorSummaryDescription */
#define JST_SHORT_FIELD_MAX  256  /* Owner, Notify, OtherRecoveryAction, each StatusDescription */

#define JST_PUB_DEFAULT_CAPACITY 1000000u
#define JST_PUB_DEFAULT_GRACE_NS (50ull * 1000 * 1000)

/*
 * struct jst_pub_config - how to create a segment. Zero means "default" for
 * every number.
 */
struct jst_pub_config {
	const char *shm_name;    /* "/jobstat.NS" (jst_shm_name()) */
	uint32_t capacity;       /* jobs; default JST_PUB_DEFAULT_CAPACITY */
	uint32_t status_spare;   /* status blocks beyond capacity for retired versions;
				    default max(capacity / 4, 262144): one 50 ms grace
				    period at 5 M updates/s */
	uint32_t detail_small;   /* blocks; default capacity + capacity / 4 + 4096 */
	uint32_t detail_large;   /* blocks; default capacity / 4 + 1024 */
	uint32_t errors;         /* error blocks; default capacity / 4 + 4096 */
	uint32_t log_size;       /* change log entries (rounded up to a power of two);
				    default >= max(capacity, 65536) */
	uint64_t grace_ns;       /* reuse delay of retired versions; default 50 ms */
	uint32_t mode;           /* file mode of the segment; default 0644 */
	bool set_group;          /* give the segment (and wait object) group gid; false
				    keeps the creator's group */
	uint32_t gid;
	bool namespace_locked;   /* the caller holds the namespace's lock (jobstatd's pidfile):
				    skip the pid-based liveness check, which pid reuse can fool */
};

/* What the publisher has done, for tests and `jobstat info`. */
struct jst_pub_stats {
	uint64_t publishes;      /* versions published (status, detail, error) */
	uint64_t index_rebuilds;
	uint64_t wakes;          /* futex wake syscalls made for jst_wait_changes() callers */
	uint64_t committed_bytes; /* segment bytes backed by memory (fallocated) */
	uint32_t in_use[JST_POOL_COUNT];   /* blocks holding live versions */
	uint32_t touched[JST_POOL_COUNT];  /* blocks ever used: the pool's memory high-water */
	uint64_t early_reuse[JST_POOL_COUNT]; /* blocks reused before their grace period ran out */
};

struct jst_pub;

/**
 * jst_pub_create() - create a new segment and map it, replacing a dead
 * daemon's segment (and its jobs: jst_pub_adopt() keeps them). A segment
 * whose daemon is alive is left alone.
 *
 * Return: 0; JST_EINVAL; JST_ENAMESPACE; JST_EBUSY (a live daemon owns it);
 * JST_EACCES; JST_ENOSPC (no memory for the segment); JST_ENOMEM; JST_ESYS.
 */
int jst_pub_create(const struct jst_pub_config *cfg, struct jst_pub **ret_pub);

/**
 * jst_pub_adopt() - take over the segment of a daemon that died or stopped,
 * keeping every job it published. Validates the segment as a client would,
 * rebuilds the writer's state from it (blocks not in use wait out a grace
 * period as if retired now), rebuilds the index, bumps the generation, and
 * moves the change sequence a whole log ahead so monitors rescan. Readers
 * attached before keep their mapping and read on. The geometry is the
 * segment's: @cfg gives only the name and the wait object's group.
 *
 * Return: 0; JST_EINVAL; JST_ENOENT (no segment: create one); JST_EBUSY (its
 * daemon is alive); JST_EACCES; the attach errors of jst_attach() for a
 * segment of another format (JST_EVERSION, JST_ELAYOUT, ...): replace it
 * with jst_pub_create(); JST_ECORRUPT when its job table is inconsistent;
 * JST_ENOMEM; JST_ESYS.
 */
int jst_pub_adopt(const struct jst_pub_config *cfg, struct jst_pub **ret_pub);

/**
 * jst_pub_close() - mark the segment CLOSED, unmap it, and unlink it when
 * @unlink is true. Accepts NULL.
 */
void jst_pub_close(struct jst_pub *p, bool unlink);

/**
 * jst_pub_job_create() - publish a new job.
 * @instance_id: "OrgID:LocalID", 1..JST_ID_MAX bytes of UTF-8, OrgID without a colon.
 * @st: its initial status (handle, change_seq, n_errors and errors_total are ignored).
 * @job: its strings, or NULL for none (status and instance_id in it are ignored).
 * @ret_handle: set on success.
 *
 * Return: 0; JST_EINVAL; JST_EINSTANCEID; JST_EUTF8; JST_ETOOLONG; JST_EEXIST;
 * JST_ENOSPC.
 */
int jst_pub_job_create(struct jst_pub *p, const char *instance_id, const struct jst_status *st,
		       const struct jst_job *job, jst_handle *ret_handle);

/**
 * jst_pub_set_status() - publish a new status version of a job; its strings
 * and errors are kept. Fields that are not producer-settable (handle,
 * change_seq, n_errors, errors_total) are ignored.
 * Return: 0; JST_EINVAL; JST_ESTALE; JST_ENOSPC.
 */
int jst_pub_set_status(struct jst_pub *p, jst_handle h, const struct jst_status *st);

/**
 * jst_pub_set_strings() - publish a job's new strings (name, job status,
 * descriptions, ...) from @job; the status is republished pointing at them.
 * Return: 0; JST_EINVAL; JST_ESTALE; JST_EUTF8; JST_ETOOLONG; JST_ENOSPC.
 */
int jst_pub_set_strings(struct jst_pub *p, jst_handle h, const struct jst_job *job);

/**
 * jst_pub_update() - publish a job's new status (@st, or the current one
 * when NULL) and new strings (@job) as one status version: a reader sees
 * both changes or neither.
 * Return: as jst_pub_set_strings().
 */
int jst_pub_update(struct jst_pub *p, jst_handle h, const struct jst_status *st,
		   const struct jst_job *job);

/**
 * jst_pub_add_error() - append a CIM_Error to a job (its oldest is dropped
 * beyond JST_ERRORS_KEPT) and republish its status with n_errors and
 * errors_total updated. MessageID must be non-NULL (CIM requires it).
 * Return: 0; JST_EINVAL; JST_ESTALE; JST_EUTF8; JST_ETOOLONG; JST_ENOSPC.
 */
int jst_pub_add_error(struct jst_pub *p, jst_handle h, const struct jst_error *e);

/**
 * jst_pub_add_error_with() - jst_pub_add_error() that also publishes a new
 * status (@st) and new strings (@job) in the same version, each when non-NULL:
 * a job that fails shows its error, its state and its ErrorDescription at once.
 */
int jst_pub_add_error_with(struct jst_pub *p, jst_handle h, const struct jst_error *e,
			   const struct jst_status *st, const struct jst_job *job);

/**
 * jst_pub_remove() - remove a job: readers holding its handle see JST_ESTALE
 * from now on; its slot and versions are reused after the grace period.
 * Return: 0; JST_EINVAL; JST_ESTALE.
 */
int jst_pub_remove(struct jst_pub *p, jst_handle h);

/**
 * jst_pub_status() - the job's current status as the writer knows it.
 * Return: 0; JST_EINVAL; JST_ESTALE.
 */
int jst_pub_status(struct jst_pub *p, jst_handle h, struct jst_status *ret_status);

/**
 * jst_pub_reown() - after fork() (daemon(3)), make the calling process the
 * segment's daemon: its pid goes into the header, and the membarrier
 * registration the waiter protocol relies on is made for it.
 */
void jst_pub_reown(struct jst_pub *p);

/** jst_pub_heartbeat() - refresh the segment's heartbeat (CLOCK_MONOTONIC). */
void jst_pub_heartbeat(struct jst_pub *p);

/** jst_pub_stats() - copy the publisher's counters. */
void jst_pub_stats(const struct jst_pub *p, struct jst_pub_stats *ret_stats);

#endif /* JOBSTAT_PUBLISH_H */
