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
/* ElementName, Caption and Description: JST_ELEMENT_NAME_MAX, 4 * JST_CAPTION_MAX (jobstat.h). */

#define JST_PUB_DEFAULT_CAPACITY 1000000u
#define JST_PUB_DEFAULT_GRACE_NS (50ull * 1000 * 1000)

/*
 * struct jst_pub_config - how to create or adopt a segment. Zero means
 * "default" for every number.
 */
#define JST_PUB_NO_RING UINT32_MAX /* jst_pub_config.ring_size: a segment without a ring */

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
	uint32_t ring_size;      /* 1.5: status ring entries (rounded up to a power of two,
				    at most log_size); default 4 * capacity within
				    [1024, 65536]; JST_PUB_NO_RING: none */
	uint64_t grace_ns;       /* reuse delay of retired versions; default 50 ms */
	uint32_t mode;           /* file mode of the segment; default 0644; never writable
				    by group or others (JST_EUNSAFE) */
	bool set_group;          /* give the segment group gid; false keeps the creator's */
	uint32_t gid;
	char *why;               /* NULL, or room for a sentence saying why a call failed */
	size_t why_len;
	/*
	 * jst_pub_adopt() only: called once the segment is open and locked and
	 * before one byte of it is read, so that a daemon started as root parses
	 * what the service user could have written as the service user (it drops
	 * its privileges here). Non-zero fails the adoption with JST_ESYS.
	 */
	int (*before_parse)(void *arg);
	void *arg;
	bool check_only;         /* jst_pub_adopt(): validate everything, change nothing
				    of the segment's identity, return 0 and no publisher */
};

/* What the publisher has done, for tests and `jobstat info`. */
struct jst_pub_stats {
	uint64_t publishes;      /* versions published (status, detail, error) */
	uint64_t index_rebuilds;
	uint64_t wakes;          /* futex wake syscalls made for jst_wait_changes() callers */
	uint64_t committed_bytes; /* segment bytes backed by memory (fallocated) */
	uint64_t inline_commits; /* commits a publication waited for (none done ahead) */
	uint64_t prepared_steps; /* jst_pub_prepare() steps that did something */
	uint32_t in_use[JST_POOL_COUNT];   /* blocks holding live versions */
	uint32_t touched[JST_POOL_COUNT];  /* blocks ever used: the pool's memory high-water */
	uint64_t early_reuse[JST_POOL_COUNT]; /* blocks reused before their grace period ran out */
};

struct jst_pub;

/**
 * jst_pub_create() - create a new segment, map it and lock it (an OFD write
 * lock on its first byte, held as long as the publisher lives). Whatever
 * else is at the name is removed first, unless a live writer holds the lock.
 *
 * Return: 0; JST_EINVAL; JST_EUNSAFE (a mode writable by group or others);
 * JST_EBUSY (a live writer holds the segment); JST_EACCES; JST_ENOSPC (no
 * memory for the segment); JST_ENOMEM; JST_ESYS. @cfg->why says more.
 */
int jst_pub_create(const struct jst_pub_config *cfg, struct jst_pub **ret_pub);

/**
 * jst_pub_adopt() - take over the segment of a daemon that died or stopped,
 * keeping every job it published. The segment is hostile input: it must be
 * a regular file owned by our effective uid, writable by nobody else, of the
 * size its header claims, not locked by a live writer; every index, offset,
 * count and length in it is range-checked, and the private job table is
 * rebuilt only from content that passed. Then blocks not in use wait out a
 * grace period as if retired now, the index is rebuilt, the generation
 * bumped and the change sequence moved a whole log ahead so monitors rescan.
 * Readers attached before keep their mapping and read on. The geometry is
 * the segment's: @cfg gives only the name and the message buffer.
 *
 * Return: 0; JST_EINVAL; JST_ENOENT (no segment: create one); JST_EBUSY (a
 * live writer holds it); JST_ENOTREG (not a regular file); JST_EOWNER;
 * JST_EUNSAFE (its mode); JST_EACCES; the attach errors of jst_attach() for
 * a segment of another format (JST_EVERSION, JST_ELAYOUT, ...);
 * JST_ECORRUPT when its content fails a check; JST_ENOMEM; JST_ESYS.
 * @cfg->why names the problem.
 */
int jst_pub_adopt(const struct jst_pub_config *cfg, struct jst_pub **ret_pub);

/**
 * jst_pub_close() - mark the segment CLOSED, unmap it, release its lock, and
 * unlink it when @unlink is true. Accepts NULL.
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

/* jst_pub_job_create_with()'s @flags: strings needing a large detail block get JST_EQUOTA. */
#define JST_PUB_REFUSE_LARGE 1u

/**
 * jst_pub_job_create_with() - jst_pub_job_create() with @flags
 * (JST_PUB_REFUSE_LARGE). Return: as jst_pub_job_create(), and JST_EQUOTA.
 */
int jst_pub_job_create_with(struct jst_pub *p, const char *instance_id,
			    const struct jst_status *st, const struct jst_job *job, unsigned flags,
			    jst_handle *ret_handle);

/**
 * jst_pub_detail_large() - does job @h's detail take a block of the large
 * pool (its strings, extension record and error list did not fit a small
 * one)? False for a stale handle.
 */
bool jst_pub_detail_large(const struct jst_pub *p, jst_handle h);

/*
 * struct jst_pub_ext - a job's properties of format 1.5's detail extension
 * record. At their defaults (all 0/NULL, job_run_times 1) the detail carries
 * no record at all, byte for byte what a 1.4 daemon wrote.
 */
struct jst_pub_ext {
	uint64_t scheduled_start_time, until_time;
	uint32_t job_run_times;
	uint16_t local_or_utc_time;
	const char *element_name, *caption, *description;
};

/*
 * struct jst_pub_change - what one publication changes. Each member left NULL
 * keeps what the job has: a reader sees all of a change or none of it.
 */
struct jst_pub_change {
	const struct jst_status *status; /* the producer-settable fields (not handle,
					    change_seq, n_errors, errors_total) */
	const struct jst_job *strings;   /* every string of the job (status and
					    instance_id in it are ignored) */
	const struct jst_pub_ext *ext;   /* every property of the extension record */
	const struct jst_error *error;   /* a CIM_Error to append (MessageID required);
					    the oldest is dropped beyond JST_ERRORS_KEPT */
	const uint64_t *request_record;  /* the job's record of the request that makes
					    this change (proto's jst_req_record()), or NULL */
	bool daemon_record;              /* the daemon's own record (a terminate or kill a
					    client asked for): may take the pools' reserved
					    blocks and, failing that, the job's oldest error's */
	bool refuse_large;               /* a new detail that needs a large block is refused
					    (JST_EQUOTA) before anything is written: its owner
					    holds its quota of them */
};

/**
 * jst_pub_publish() - publish a new version of job @h with @c applied.
 * Validation happens before anything is written: a refused change leaves the
 * job as it was.
 * Return: 0; JST_EINVAL; JST_ESTALE; JST_EUTF8; JST_ETOOLONG; JST_ENOSPC;
 * JST_EQUOTA (@c->refuse_large).
 */
int jst_pub_publish(struct jst_pub *p, jst_handle h, const struct jst_pub_change *c);

/**
 * jst_pub_remove() - remove a job: readers holding its handle see JST_ESTALE
 * from now on; its slot and versions are reused after the grace period.
 * Return: 0; JST_EINVAL; JST_ESTALE.
 */
int jst_pub_remove(struct jst_pub *p, jst_handle h);

/*
 * The writer's own questions, answered from its private table: the segment is
 * its output, never read back to decide anything.
 */

/** jst_pub_status() - the job's current status. Return: 0; JST_EINVAL; JST_ESTALE. */
int jst_pub_status(const struct jst_pub *p, jst_handle h, struct jst_status *ret_status);

/**
 * jst_pub_job() - the job's status, InstanceID and strings. The strings point
 * into the publisher's private memory and stay valid until the job's next
 * publication or removal. Return: 0; JST_EINVAL; JST_ESTALE.
 */
int jst_pub_job(const struct jst_pub *p, jst_handle h, struct jst_job *ret_job);

/**
 * jst_pub_ext_get() - the job's extension properties, from private memory;
 * strings valid as jst_pub_job()'s. Return: 0; JST_EINVAL; JST_ESTALE.
 */
int jst_pub_ext_get(const struct jst_pub *p, jst_handle h, struct jst_pub_ext *ret_ext);

/** jst_pub_lookup() - the live job with this InstanceID. Return: 0; JST_EINVAL; JST_ENOJOB. */
int jst_pub_lookup(const struct jst_pub *p, const char *instance_id, jst_handle *ret_handle);

/**
 * jst_pub_next() - iterate the live jobs: *@pos starts at 0.
 * Return: 0 with @ret_status set and *@pos advanced; JST_ENOJOB at the end.
 */
int jst_pub_next(const struct jst_pub *p, uint32_t *pos, struct jst_status *ret_status);

/**
 * jst_pub_capacity() - the number of job slots (handles' slots are below it).
 */
uint32_t jst_pub_capacity(const struct jst_pub *p);

/**
 * jst_pub_generation() - the segment's generation: 1 at creation, +1 per adoption.
 */
uint64_t jst_pub_generation(const struct jst_pub *p);

/**
 * jst_pub_reader() - a read-only reader over the publisher's own mapping, for
 * serving reads over the socket to clients that cannot map the segment.
 * Nothing the daemon decides may come from it. Free with jst_detach().
 * Return: 0; JST_ENOMEM.
 */
int jst_pub_reader(const struct jst_pub *p, jst_reader **ret_reader);

/**
 * jst_pub_flush() - wake every jst_wait_changes() caller if anything was
 * published since the last flush: one syscall per call at most, whatever
 * the number of changes. The daemon calls it once per event-loop turn.
 */
void jst_pub_flush(struct jst_pub *p);

/**
 * jst_pub_reown() - after fork() (daemon(3)), make the calling process the
 * segment's daemon: its pid goes into the header. The segment's lock is an
 * OFD lock and stays with the open file, so it survives the fork.
 */
void jst_pub_reown(struct jst_pub *p);

/**
 * jst_pub_prepare() - one step of work ahead of need: commit and map the
 * next 128 KiB of the 2 MiB kept ready beyond each growing region's
 * high-water mark (each pool, the slot table and their private mirrors),
 * then the pages committed at creation, and the second index copy once
 * removals begin, so that publications do not wait for the kernel to
 * allocate, zero and map pages. Call it when no message waits, again while
 * it returns true; and with @busy after a turn that served messages, where
 * it steps only for a growing region that has used half its margin (a flood
 * may leave no idle moment). After a failed commit (a full /dev/shm) it does
 * nothing for a second; the publication that needs the memory still commits
 * it itself and reports JST_ENOSPC as before.
 *
 * Return: true if it did a step (there may be more), false if none was due.
 */
bool jst_pub_prepare(struct jst_pub *p, bool busy);

/** jst_pub_heartbeat() - refresh the segment's heartbeat (CLOCK_MONOTONIC). */
void jst_pub_heartbeat(struct jst_pub *p);

/** jst_pub_stats() - copy the publisher's counters. */
void jst_pub_stats(const struct jst_pub *p, struct jst_pub_stats *ret_stats);

struct jst_counters_writer;
/**
 * jst_pub_counters() - the header's cumulative counters (daemon/counters.c),
 * which only this writer stores, counted in its private memory.
 */
struct jst_counters_writer *jst_pub_counters(struct jst_pub *p);

/** jst_pub_pool_count() - blocks in pool @pool (JST_POOL_*), block 0 excluded. */
uint32_t jst_pub_pool_count(const struct jst_pub *p, unsigned pool);

/**
 * jst_pub_full_pool() - after JST_ENOSPC: which was full ("status", "small
 * detail", "large detail", "error", or "job slots").
 */
const char *jst_pub_full_pool(const struct jst_pub *p);

/**
 * jst_pub_locked_by() - is a live writer holding the lock of the segment at
 * @shm_name? Return: its pid as the segment's header names it (> 0), 0 when
 * nobody writes it (or there is no segment), -1 when something other than a
 * writer holds a lock on it (a reader interfering).
 */
long jst_pub_locked_by(const char *shm_name);

#endif /* JOBSTAT_PUBLISH_H */
