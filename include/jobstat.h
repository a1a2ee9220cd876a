/* SPDX-License-Identifier: MIT */
/*
 * jobstat.h - the public API of libjobstat: read the state, progress and
 * errors of the jobs jobstatd publishes, with no syscall after attach.
 */
#ifndef JOBSTAT_H
#define JOBSTAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * ABI: within a soname, a struct the caller allocates never changes size or
 * layout; new properties come through new functions taking the caller's
 * struct size (README.md "ABI"; make abi-check holds 0.1.0 to it).
 */
#define JST_VERSION_MAJOR 0
#define JST_VERSION_MINOR 1
#define JST_VERSION_PATCH 0

#if defined(JST_BUILDING) && defined(__GNUC__)
#define JST_EXPORT __attribute__((visibility("default")))
#else
#define JST_EXPORT
#endif

/*
 * Error codes: 0 is success, every failure is negative. One table, so that
 * jst_strerror() cannot drift from the codes.
 */
#define JST_ERRNO_MAP(XX)                                                                      \
	XX(EINVAL, -1, "invalid argument")                                                      \
	XX(ENOMEM, -2, "out of memory")                                                         \
	XX(ENOENT, -3, "no jobstat segment for this namespace (is jobstatd running?)")         \
	XX(EACCES, -4, "permission denied on the jobstat segment (check its group and mode)")  \
	XX(EBADMAGIC, -5, "not a jobstat segment (wrong magic number)")                         \
	XX(EENDIAN, -6, "jobstat segment written with the other byte order")                    \
	XX(EVERSION, -7, "jobstat segment has a format version this library does not read")    \
	XX(ELAYOUT, -8, "jobstat segment layout descriptor does not match this library")      \
	XX(ETRUNCATED, -9, "jobstat segment is smaller than its header says")                   \
	XX(ENOTREADY, -10, "jobstat segment is still being initialised")                        \
	XX(ECORRUPT, -11, "jobstat segment geometry is inconsistent (corrupt segment)")        \
	XX(ENAMESPACE, -12, "invalid namespace name (1-64 of A-Z a-z 0-9 . _ -)")              \
	XX(ENOJOB, -13, "no such job")                                                          \
	XX(ESTALE, -14, "the job behind this handle was removed")                               \
	XX(EAGAIN, -15, "no stable snapshot after repeated retries; try again")                 \
	XX(EOVERRUN, -16, "change log overrun: changes were lost, rescan all jobs")            \
	XX(ENOERROR, -17, "no such error for this job")                                         \
	XX(ENOSPC, -18, "jobstat segment is full (capacity or memory exhausted)")              \
	XX(EEXIST, -19, "a job with this InstanceID already exists")                           \
	XX(ETOOLONG, -20, "a string or array exceeds its documented limit")                    \
	XX(EUTF8, -21, "a string is not valid UTF-8")                                           \
	XX(EINSTANCEID, -22, "InstanceID is not of the form OrgID:LocalID")                    \
	XX(EBUSY, -23, "a live jobstatd already owns this namespace")                           \
	XX(ESYS, -24, "system call failed (see errno)")                                         \
	XX(ETIMEDOUT, -25, "timed out")                                                          \
	XX(EPROTO, -26, "malformed control message")                                            \
	XX(EPROTOVERSION, -27, "control protocol version not supported by the other side")      \
	XX(EMSGSIZE, -28, "control message larger than the protocol allows")                  \
	XX(EPERM, -29, "access denied (only the job's owner, root or the admin group may do this)")\
	XX(ETRANSITION, -30, "invalid JobState transition")                                    \
	XX(ENODAEMON, -31, "cannot reach jobstatd's control socket (is jobstatd running?)")   \
	XX(EDISCONNECTED, -32, "the connection to jobstatd was lost")                          \
	XX(ENOPRODUCER, -33, "the job's producer is not connected")                            \
	XX(EPENDING, -34, "a state change request for this job is already pending")           \
	XX(ENOTFINISHED, -35, "the job has not finished (terminate it, or remove it now)")    \
	XX(ENOTSUP, -36, "not supported for this job")                                         \
	XX(ELIMIT, -37, "a daemon limit was reached (connections, pending requests)")           \
	XX(ENOTREG, -38, "the jobstat segment's name is not a regular file (FIFO, directory, ...)")\
	XX(EOWNER, -39, "a jobstat file belongs to a user jobstat does not trust")              \
	XX(EUNSAFE, -40, "writable by group or others: refused (a segment must not be)")       \
	XX(EPEER, -41, "the control socket is served by a user jobstat does not trust")       \
	XX(EQUOTA, -42, "a per-user quota was reached (jobs, errors, long strings, connections, requests)") \
	XX(EVALUEMAP, -50, "a property is outside its DMTF ValueMap")                         \
	XX(EOTHERPAIR, -51, "an Other* property does not match its Other value")             \
	XX(ENOFILE, -52, "the error is not associated with a file")

enum jst_errno {
	JST_OK = 0,
#define JST_ERRNO_ENUM(name, val, msg) JST_##name = (val),
	JST_ERRNO_MAP(JST_ERRNO_ENUM)
#undef JST_ERRNO_ENUM
};

/**
 * jst_strerror() - describe a jobstat return code.
 * @code: 0 or a negative JST_E* value.
 *
 * Return: a static, non-empty string; "unknown jobstat error" for a value not
 * in the table.
 */
JST_EXPORT const char *jst_strerror(int code);

/**
 * jst_errname() - the symbolic name of a code ("JST_ENOJOB").
 * Return: a static string; "JST_E?" for a value not in the table.
 */
JST_EXPORT const char *jst_errname(int code);

/**
 * jst_version() - the library's version as "MAJOR.MINOR.PATCH".
 * Return: a static string.
 */
JST_EXPORT const char *jst_version(void);

/* ---- the job model (CIM_ConcreteJob) ------------------------------------------------ */

/* CIM JobState values. */
enum jst_job_state {
	JST_JOB_NEW = 2,
	JST_JOB_STARTING = 3,
	JST_JOB_RUNNING = 4,
	JST_JOB_SUSPENDED = 5,
	JST_JOB_SHUTTING_DOWN = 6,
	JST_JOB_COMPLETED = 7,
	JST_JOB_TERMINATED = 8,
	JST_JOB_KILLED = 9,
	JST_JOB_EXCEPTION = 10,
	JST_JOB_SERVICE = 11,
	JST_JOB_QUERY_PENDING = 12,
};

/* CIM OperationalStatus values used by jobs. */
enum jst_op_status {
	JST_OPS_UNKNOWN = 0,
	JST_OPS_OTHER = 1,
	JST_OPS_OK = 2,
	JST_OPS_DEGRADED = 3,
	JST_OPS_ERROR = 6,
	JST_OPS_STARTING = 8,
	JST_OPS_STOPPING = 9,
	JST_OPS_STOPPED = 10,
	JST_OPS_IN_SERVICE = 11,
	JST_OPS_NO_CONTACT = 12,
	JST_OPS_LOST_COMMUNICATION = 13,
	JST_OPS_ABORTED = 14,
	JST_OPS_DORMANT = 15,
	JST_OPS_COMPLETED = 17,
};

#define JST_ID_MAX         255 /* InstanceID bytes */
#define JST_OPSTATUS_MAX   8   /* OperationalStatus[] and StatusDescriptions[] entries */
#define JST_ERRORS_KEPT    8   /* a job retains its last 8 errors */
#define JST_ERROR_ARGS_MAX 16  /* MessageArguments[] and RecommendedActions[] entries */
#define JST_JOB_TEXT_MAX   8448  /* struct jst_job: all its strings and its InstanceID */
#define JST_ERROR_TEXT_MAX 20480 /* struct jst_error: all its strings together */

/* A job's identity for repeated reads: a value, copy it freely. */
typedef struct jst_handle {
	uint32_t slot;
	uint32_t gen;
} jst_handle;

/*
 * struct jst_status - the hot part of a job, one consistent version of it.
 * Its bytes are exactly those of the segment's status version (struct
 * jst_shm_status in <jobstat/jobstat-shm.h>), so reading one is a single
 * copy. Instants are nanoseconds since the Unix epoch (0 = NULL); intervals
 * are nanoseconds. Fields named internal_* are the publisher's bookkeeping.
 */
struct jst_status {
	uint32_t internal_stamp;
	jst_handle handle;           /* the job this version belongs to */
	uint16_t job_state;          /* enum jst_job_state (or vendor values >= 32768) */
	uint16_t percent_complete;   /* 0..100; 101 = undefined */
	uint64_t change_seq;         /* the change that produced this version */
	uint64_t internal_detail;
	uint16_t operational_status[JST_OPSTATUS_MAX];
	uint8_t n_operational_status;
	uint8_t flags;               /* JST_STATUS_* */
	uint16_t error_code;         /* CIM ErrorCode, 0 = none */
	uint16_t recovery_action;
	uint16_t job_type;
	uint32_t priority;           /* lower = more urgent */
	uint16_t transfer_state;     /* 0 = not a transfer job, else enum jst_transfer_state + 1 */
	uint16_t n_errors;           /* retained errors */
	uint64_t time_submitted;
	uint64_t start_time;
	uint64_t time_of_last_state_change;
	uint64_t elapsed_ns;
	uint64_t time_before_removal_ns;
	uint32_t owner_uid;
	uint32_t errors_total;       /* errors ever reported */
	uint64_t producer_session;   /* the session that owns the job (format 1.1; 0 before) */
	uint64_t reserved;
};

#define JST_STATUS_DELETE_ON_COMPLETION 0x01 /* CIM DeleteOnCompletion */
#define JST_STATUS_CANCELLABLE          0x02 /* Msvm_ConcreteJob Cancellable */
#define JST_STATUS_DO_ERROR             0x04 /* a transfer job's DO error object exists */

/*
 * struct jst_job - every property of a job: its status plus its strings.
 * The string pointers point into text[] (or are NULL); the struct is
 * self-contained and may be copied with memcpy only if the pointers are not
 * used afterwards.
 */
struct jst_job {
	struct jst_status status;
	const char *instance_id;
	const char *name;
	const char *job_status;
	const char *error_description;
	const char *owner;
	const char *notify;
	const char *error_summary_description;
	const char *other_recovery_action;
	uint16_t n_status_descriptions;
	const char *status_descriptions[JST_OPSTATUS_MAX];
	char text[JST_JOB_TEXT_MAX];
};

/*
 * struct jst_error - one CIM_Error (all 15 properties) plus the Delivery
 * Optimization view of it (hresult, context, file). Strings point into
 * text[] or are NULL. As input (producer side) text[] is unused.
 */
struct jst_error {
	uint64_t time;               /* when it was reported */
	uint32_t sequence;           /* 1 for the job's first error, and so on */
	uint16_t job_state;          /* JobState when it was reported */
	uint16_t error_type;
	const char *other_error_type;
	const char *owning_entity;
	const char *message_id;
	const char *message;
	uint16_t n_message_arguments;
	const char *message_arguments[JST_ERROR_ARGS_MAX];
	uint16_t perceived_severity;
	uint16_t probable_cause;
	const char *probable_cause_description;
	uint16_t n_recommended_actions;
	const char *recommended_actions[JST_ERROR_ARGS_MAX];
	const char *error_source;
	uint16_t error_source_format;
	const char *other_error_source_format;
	uint32_t cim_status_code;
	const char *cim_status_code_description;
	uint32_t hresult;
	uint16_t context;
	const char *file;
	char text[JST_ERROR_TEXT_MAX];
};

/*
 * struct jst_job_ext - a job with the properties format 1.5 added, read by
 * jst_job_ext() (README.md "ABI": the struct only grows at its end, and the
 * caller passes sizeof what it knows). Strings point into job.text or are
 * NULL; instants are ns since the epoch (0 = NULL).
 */
struct jst_job_ext {
	struct jst_job job;          /* what jst_job() gives */
	/* CIM_ManagedElement, set by the producer (jst_job_set_props()) */
	const char *element_name;
	const char *caption;         /* MaxLen 64 characters */
	const char *description;
	/* CIM_Job's schedule, set by the producer */
	uint64_t scheduled_start_time;
	uint64_t until_time;
	uint32_t job_run_times;      /* 1 unless set; 0 = run until the job is deleted */
	uint16_t local_or_utc_time;  /* 1 Local Time, 2 UTC Time, 0 = NULL */
	/* CIM_ManagedSystemElement, derived when read (jst_status_derive()) */
	uint16_t communication_status;
	uint16_t health_state;
	uint16_t primary_status;
	uint16_t detailed_status;
	uint16_t operating_status;
};

/* The derived statuses of CIM_ManagedSystemElement (README.md "Derived statuses"). */
struct jst_derived_status {
	uint16_t communication_status; /* 0 Unknown, 2 Communication OK, 3 Lost Communication */
	uint16_t health_state;       /* 0 Unknown, 5 OK, 10 Degraded/Warning, 20 Major failure,
					30 Non-recoverable error */
	uint16_t primary_status;     /* 0 Unknown, 1 OK, 2 Degraded, 3 Error */
	uint16_t detailed_status;    /* 0 Not Available, 1 No Additional Information, 2 Stressed,
					3 Predictive Failure, 4 Non-Recoverable Error,
					5 Supporting Entity in Error */
	uint16_t operating_status;   /* 0 Unknown, 2 Servicing, 3 Starting, 4 Stopping,
					5 Stopped, 6 Aborted, 7 Dormant, 8 Completed,
					16 In Service */
};

/* ---- reading ------------------------------------------------------------------------ */

/*
 * A jst_reader may be used by many threads at once: it does not change after
 * jst_attach() (tests/tsan_threads.c runs that under ThreadSanitizer).
 */
typedef struct jst_reader jst_reader;

/**
 * jst_default_namespace() - the namespace jst_attach(NULL) uses.
 * Return: $JOBSTAT_NAMESPACE when set, else "default". Static or environment storage.
 */
JST_EXPORT const char *jst_default_namespace(void);

/**
 * jst_attach() - map the segment of a namespace, read-only, and validate it.
 * @ns: namespace name, or NULL for jst_default_namespace().
 * @ret_reader: set on success; untouched on failure.
 *
 * The only call of the read API that makes syscalls (and the only one that
 * allocates). Everything after it until jst_detach() makes none. It never
 * blocks and trusts only a regular file owned by root, by the "jobstat"
 * service user or by the caller, writable by its owner alone.
 *
 * Return: 0; JST_EINVAL; JST_ENAMESPACE; JST_ENOENT; JST_EACCES; JST_ENOTREG
 * (a FIFO, directory, symlink... at the name); JST_EOWNER (another user's);
 * JST_EUNSAFE (writable by group or others); JST_EBADMAGIC; JST_EENDIAN;
 * JST_EVERSION; JST_ELAYOUT; JST_ETRUNCATED; JST_ENOTREADY; JST_ECORRUPT;
 * JST_ENOMEM; JST_ESYS. jst_last_error() says what was wrong.
 */
JST_EXPORT int jst_attach(const char *ns, jst_reader **ret_reader);

/**
 * jst_attach_shm() - as jst_attach(), naming the POSIX shm object directly
 * ("/jobstat.NAMESPACE" is what jst_attach() uses).
 */
JST_EXPORT int jst_attach_shm(const char *shm_name, jst_reader **ret_reader);

/**
 * jst_last_error() - why this thread's last failed jst_attach(),
 * jst_attach_shm() or jst_connect() failed, for a person: the object's path
 * and what is wrong with it (its kind, its owner, its mode, the socket's
 * peer, or the system call and its errno text).
 * Return: a thread-local string, "" after a success.
 */
JST_EXPORT const char *jst_last_error(void);

/**
 * jst_detach() - unmap and free. Accepts NULL.
 */
JST_EXPORT void jst_detach(jst_reader *r);

/**
 * jst_lookup() - find a job by InstanceID.
 * @r: attached reader.
 * @instance_id: NUL-terminated.
 * @ret_handle: set on success; untouched on failure.
 *
 * Return: 0; JST_EINVAL; JST_ENOJOB; JST_EAGAIN.
 */
JST_EXPORT int jst_lookup(jst_reader *r, const char *instance_id, jst_handle *ret_handle);

/**
 * jst_status() - read one consistent version of a job's status.
 * @ret_status: filled on success. Unlike the other calls, its contents are
 *		unspecified on failure: the version is copied straight into it
 *		and validated afterwards, which halves the cost of the hot path.
 *
 * Return: 0; JST_EINVAL (handle out of range); JST_ESTALE (the job was
 * removed, or its slot now belongs to another job); JST_EAGAIN.
 */
JST_EXPORT int jst_status(jst_reader *r, jst_handle h, struct jst_status *ret_status);

/**
 * jst_status_many() - jst_status() of many jobs, their memory accesses in flight together.
 * @handles: @n handles, any order, repeats allowed.
 * @ret_status: room for @n statuses; entry i is jst_status() of @handles[i].
 * @ret_codes: NULL, or room for @n codes: entry i is what jst_status() of
 *	       @handles[i] returns (0, JST_ESTALE, ...); @ret_status[i] is
 *	       unspecified where it is not 0.
 *
 * For monitors that read many jobs at once: where @n reads one after the
 * other each wait for their job's reference and then its block (two
 * dependent cache misses), this fetches 64 jobs' references together, then
 * their blocks, so the misses overlap. Each status is one whole version, as
 * jst_status() gives; no two need be of the same moment.
 *
 * Return: 0 when every job was read; else the first failure's code (the
 * codes of jst_status()), every other job still read; JST_EINVAL for NULL
 * arguments with @n > 0.
 */
JST_EXPORT int jst_status_many(jst_reader *r, const jst_handle *handles, size_t n,
			       struct jst_status *ret_status, int *ret_codes);

/**
 * jst_job() - read every property of a job, status and strings, consistently.
 * @ret_job: filled on success; unspecified on failure (it is the copy's buffer).
 * Return: as jst_status(); JST_ECORRUPT when the segment's bytes are inconsistent.
 */
JST_EXPORT int jst_job(jst_reader *r, jst_handle h, struct jst_job *ret_job);

/**
 * jst_job_ext() - jst_job() and the properties of format 1.5: ElementName,
 * Caption, Description, ScheduledStartTime, UntilTime, JobRunTimes,
 * LocalOrUtcTime, and the statuses jst_status_derive() gives. A segment of
 * an older daemon reads as every one of them at its default (NULL, and
 * JobRunTimes 1). ElapsedTime is computed at the read, as in jst_job(). No
 * syscall (the coarse clock is the vDSO's).
 * @size: sizeof(struct jst_job_ext) as the caller was compiled with; the
 *	  library writes at most @size bytes and zeroes the part it does not know.
 * @ret: filled on success; unspecified on failure.
 *
 * Return: 0; JST_EINVAL (@size smaller than struct jst_job); the codes of jst_job().
 */
JST_EXPORT int jst_job_ext(jst_reader *r, jst_handle h, struct jst_job_ext *ret, size_t size);

/**
 * jst_status_derive() - CIM_ManagedSystemElement's CommunicationStatus,
 * HealthState, PrimaryStatus, DetailedStatus and OperatingStatus of a job,
 * from its JobState and OperationalStatus alone (README.md "Derived
 * statuses" has the table): no byte of the segment holds them. No syscall.
 * @ret: filled on success; untouched on failure.
 * Return: 0; JST_EINVAL.
 */
JST_EXPORT int jst_status_derive(const struct jst_status *st, struct jst_derived_status *ret);

/**
 * jst_error_read() - read one of a job's retained errors.
 * @index: 0 = the oldest retained, n_errors - 1 = the latest.
 * @ret_error: filled on success; unspecified on failure (it is the copy's buffer).
 *
 * Return: 0; JST_ENOERROR (index >= n_errors); the codes of jst_job().
 */
JST_EXPORT int jst_error_read(jst_reader *r, jst_handle h, unsigned index,
			      struct jst_error *ret_error);

/*
 * A string of a struct jst_error_view: @len bytes at @p, inside the segment
 * (@p NULL for a NULL value). Not known to be NUL-terminated, and not to be
 * trusted until jst_error_view_check() says the view held: read it with its
 * length (memcpy(), fwrite(), "%.*s"), never with strlen().
 */
struct jst_strview {
	const char *p;
	uint32_t len;
};

/*
 * One retained CIM_Error read in place, without copying its text: the fields
 * of struct jst_error, its strings as struct jst_strview pointing into the
 * segment. The writer may reuse the error's block at any time (after its
 * grace period), so whatever the caller reads through the view counts only
 * once jst_error_view_check() returns 0 after the last read, as a seqlock
 * read does. The priv_ fields are jst_error_view_check()'s.
 */
struct jst_error_view {
	uint64_t time;
	uint32_t sequence;
	uint16_t job_state;
	uint16_t error_type;
	uint16_t n_message_arguments;
	uint16_t perceived_severity;
	uint16_t probable_cause;
	uint16_t n_recommended_actions;
	uint16_t error_source_format;
	uint16_t context;
	uint32_t cim_status_code;
	uint32_t hresult;
	/* In the order of the segment's string table (jobstat-shm.h: JST_ESTR_*). */
	struct jst_strview other_error_type;
	struct jst_strview owning_entity;
	struct jst_strview message_id;
	struct jst_strview message;
	struct jst_strview probable_cause_description;
	struct jst_strview error_source;
	struct jst_strview other_error_source_format;
	struct jst_strview cim_status_code_description;
	struct jst_strview file;
	struct jst_strview message_arguments[JST_ERROR_ARGS_MAX];
	struct jst_strview recommended_actions[JST_ERROR_ARGS_MAX];
	const void *priv_block;
	uint32_t priv_stamp;
	uint32_t priv_reserved;
};

/**
 * jst_error_view() - view one of a job's retained errors in place, no copy.
 * @st: the job's status as jst_status() gave it (GetError's rule is judged
 *      by it: jst_error_rule()); the view is of that version's errors.
 * @index: 0 = the oldest retained, st->n_errors - 1 = the latest.
 * @ret_view: filled on success; unspecified on failure.
 *
 * The view costs no copy of the error's text: GetError in place. Read the
 * view, then call jst_error_view_check(); only if it returns 0 is what was
 * read one version of the error. Errors synthesized for a job that reported
 * none (JST_RULE_SYNTHESIZED) are not stored: jst_get_error() gives those.
 *
 * Return: 0; JST_ENOERROR (@st has no error @index); JST_EAGAIN (the job
 * changed since @st was read: read its status again); JST_EINVAL;
 * JST_ECORRUPT when the segment's bytes are inconsistent.
 */
JST_EXPORT int jst_error_view(jst_reader *r, const struct jst_status *st, unsigned index,
			      struct jst_error_view *ret_view);

/**
 * jst_error_view_check() - did a view hold while it was read?
 * @view: a view jst_error_view() filled.
 *
 * Call it after the last read through @view: it orders those reads before
 * its check of the error block's version, as a seqlock reader's retry does.
 *
 * Return: 0 when everything read through @view since jst_error_view() is
 * that error; JST_EAGAIN when the block was reused meanwhile (throw away what
 * was read and take a new view); JST_EINVAL for a NULL @view.
 */
JST_EXPORT int jst_error_view_check(const struct jst_error_view *view);

/**
 * jst_next() - iterate over all live jobs in slot order.
 * @pos: iteration position; start at 0. Advanced past the job returned.
 * @ret_status: the job's status (its handle in ret_status->handle).
 *
 * Jobs created or removed during an iteration may or may not be seen; every
 * job that exists throughout is seen exactly once.
 *
 * Return: 0; JST_ENOJOB at the end.
 */
JST_EXPORT int jst_next(jst_reader *r, uint32_t *pos, struct jst_status *ret_status);

/**
 * jst_scan() - jst_next() in batches: up to @max live jobs from *@pos on.
 * @pos: iteration position; start at 0. Advanced past the last slot examined.
 * @ret_status: room for @max statuses (ret_status[i].handle is each job's handle).
 * @ret_n: how many were stored; 0 means the end was reached.
 *
 * The same guarantees as jst_next(), at a lower cost per job.
 * Return: 0; JST_EINVAL; JST_EAGAIN; JST_ECORRUPT (*@pos and *@ret_n are then unchanged).
 */
JST_EXPORT int jst_scan(jst_reader *r, uint32_t *pos, struct jst_status *ret_status, size_t max,
			size_t *ret_n);

/**
 * jst_change_seq() - the sequence number of the latest published change.
 * A monitor takes it as its cursor before a full scan. It is an acquire
 * load (paired with the publisher's barrier before its change_seq store):
 * the scan that follows sees every change up to the value returned, on any
 * CPU, so following jst_changes() from it misses nothing.
 * Return: the sequence number; 0 for a NULL @r.
 */
JST_EXPORT uint64_t jst_change_seq(jst_reader *r);

/**
 * jst_changes() - which jobs changed after a cursor.
 * @cursor: in: the last change seen; out: the last change returned.
 * @ret_handles: room for @max handles, in change order (a job may appear more than once);
 *		 the handle's gen is that of the slot when the change was read, so a
 *		 removed job's handle reads JST_ESTALE, and if the slot already holds a
 *		 new job, the handle names that job (whose creation is a later change).
 * @ret_n: how many were stored.
 *
 * Return: 0 (fewer than @max stored means caught up); JST_EOVERRUN when
 * changes after @cursor were overwritten before they were read: *cursor is
 * set to jst_change_seq() and the caller must rescan with jst_next().
 */
JST_EXPORT int jst_changes(jst_reader *r, uint64_t *cursor, jst_handle *ret_handles,
			   size_t max, size_t *ret_n);

/**
 * jst_changed() - jst_changes() and jst_status() in one pass: for every
 * change after *@cursor, in change order, the status that change published,
 * read in order from the segment's status ring (format 1.5); for a change
 * the ring no longer holds (the writer lapped it: a poll further behind than
 * the ring, 65,536 changes by default) or a segment without a ring, the
 * job's status now, read with the memory accesses of many jobs in flight at
 * once. Either way each job's last entry is at least as new as its last
 * change up to the log's head.
 * @ret: room for @max statuses. A removal (or, read through the job, a job
 *	 removed since its change) has an entry with handle.gen 0 at its
 *	 handle.slot, and everything else 0 but change_seq.
 * @ret_n: how many were stored.
 * Return: as jst_changes(), with JST_EAGAIN or JST_ECORRUPT from a status read
 * (*@cursor then unchanged).
 */
JST_EXPORT int jst_changed(jst_reader *r, uint64_t *cursor, struct jst_status *ret, size_t max,
			   size_t *ret_n);

/**
 * jst_wait_changes() - block until a change after @cursor is published.
 * @cursor: the caller's change-log cursor (jst_change_seq(), or as jst_changes() left it).
 * @timeout_ns: nanoseconds to wait at most; < 0 waits without limit; 0 only checks.
 *
 * The one read call that makes syscalls, and only when it has to sleep: if
 * a change is already there it returns at once. It sleeps on a futex in
 * the segment, and the daemon wakes it only when someone waits. Spurious
 * returns are possible (a signal): treat 0 as "look at jst_changes()".
 *
 * A client that may not write the wait object (the segment's other users:
 * it is never world-writable) or finds none still waits, but unregistered:
 * nobody wakes it, so it sleeps in 1 ms slices and sees a change within one.
 *
 * Return: 0 when the change sequence has moved past @cursor; JST_ETIMEDOUT;
 * JST_EINVAL.
 */
JST_EXPORT int jst_wait_changes(jst_reader *r, uint64_t cursor, int64_t timeout_ns);

/**
 * struct jst_info - what the segment says about itself and its daemon.
 */
struct jst_info {
	uint16_t version_major, version_minor;
	uint32_t capacity;
	uint32_t njobs;
	uint32_t log_size;
	uint64_t segment_size;
	uint64_t generation;         /* +1 at every daemon start */
	uint64_t daemon_pid;
	uint64_t daemon_birth_ns;
	uint64_t heartbeat_ns;       /* CLOCK_MONOTONIC of the last heartbeat */
	uint64_t change_seq;
	uint32_t state;              /* 0 initialising, 1 ready, 2 closed */
	uint64_t pool_bytes;         /* memory of every pool block ever used: what the
					versions of jobs, strings and errors occupy at most */
};

/** jst_info() - fill @ret_info. No syscall. Return: 0; JST_EINVAL. */
JST_EXPORT int jst_info(jst_reader *r, struct jst_info *ret_info);

/** jst_generation() - the daemon generation currently publishing. */
JST_EXPORT uint64_t jst_generation(jst_reader *r);

/**
 * jst_daemon_alive() - true while the daemon's heartbeat is fresher than
 * JST_HEARTBEAT_TIMEOUT_NS and it has not closed the segment. Reads
 * CLOCK_MONOTONIC_COARSE through the vDSO: no syscall and no TSC read, so it
 * works under strict seccomp too (a tick's lag is far below the timeout).
 */
#define JST_HEARTBEAT_TIMEOUT_NS (2ull * 1000 * 1000 * 1000)
JST_EXPORT bool jst_daemon_alive(jst_reader *r);

/* ---- the daemon's cumulative counters and gauges (segment format 1.2) --------------- */

#define JST_POOLS             4  /* status, detail_small, detail_large, error */
#define JST_COUNTERS_FINAL    5  /* final JobStates, in JST_COUNTERS_FINAL_STATES order */
#define JST_COUNTERS_TYPES    32 /* JobType rows; one may be the "every other type" row */
#define JST_COUNTERS_SEVERITY 9  /* PerceivedSeverity 0..7, then [8] any other value */
#define JST_COUNTERS_RSC      12 /* RequestStateChange results, JST_COUNTERS_RSC_CODES order,
				    then [11] any other code */
#define JST_COUNTERS_REFUSALS 3  /* enum jst_refusal */

#define JST_COUNTERS_FINAL_STATES                                                             \
	{JST_JOB_COMPLETED, JST_JOB_TERMINATED, JST_JOB_KILLED, JST_JOB_EXCEPTION,             \
	 JST_JOB_COMPLETED_WITH_WARNINGS}
#define JST_COUNTERS_RSC_CODES {0, 1, 2, 3, 4, 5, 6, 4096, 4097, 4098, 4099}

/* Why jobstatd refused a request. */
enum jst_refusal {
	JST_REFUSAL_SEGMENT_FULL = 0, /* no job slot or pool block: JST_ENOSPC */
	JST_REFUSAL_CLIENTS = 1,      /* connection or pending-request limit: JST_ELIMIT */
	JST_REFUSAL_QUOTA = 2,        /* a per-owner quota */
};

/*
 * struct jst_counters - what the daemon has done since the segment was
 * created, and its bookkeeping now. The counters only go up, across kill -9
 * and restarts of jobstatd (a restarted daemon adopts them with the segment);
 * a new segment starts them at 0. Each is read whole, but not all at one
 * instant: one event's counters may show in different calls.
 */
struct jst_counters {
	uint64_t jobs_created;
	uint64_t sessions_lost;       /* producer sessions whose jobs went Lost Communication */
	uint64_t errors[JST_COUNTERS_SEVERITY]; /* CIM_Errors reported, by PerceivedSeverity */
	uint64_t rsc[JST_COUNTERS_RSC];         /* RequestStateChange answers, by result */
	uint64_t refusals[JST_COUNTERS_REFUSALS];
	unsigned n_types;             /* rows used in types[] */
	struct jst_counters_type {
		uint16_t job_type;
		bool other;           /* the row of every JobType that found no row of its own */
		uint64_t finished[JST_COUNTERS_FINAL]; /* jobs that reached each final state */
	} types[JST_COUNTERS_TYPES];
	/* Gauges, as the daemon last set them. */
	uint32_t connections;         /* control connections open */
	uint32_t sessions;            /* producer sessions, connected or not */
	uint64_t gauges_ns;           /* CLOCK_MONOTONIC of that update; 0: never set */
	struct jst_pool_use {
		uint32_t blocks;      /* usable blocks (the pool's capacity) */
		uint32_t block_size;  /* bytes */
		uint32_t in_use;      /* blocks holding live or retired versions (daemon's gauge) */
		uint32_t touched;     /* blocks used at least once: the memory high-water */
	} pools[JST_POOLS];
};

/**
 * jst_counters() - read the daemon's counters and gauges from the segment.
 * No syscall. A segment of format 1.1 or older has none: everything reads 0.
 * @ret_counters: filled on success; untouched on failure.
 *
 * Return: 0; JST_EINVAL.
 */
JST_EXPORT int jst_counters(jst_reader *r, struct jst_counters *ret_counters);

/**
 * jst_pool_name() - the name of pool @pool (0 .. JST_POOLS - 1) in struct jst_counters.
 * Return: "status", "detail_small", "detail_large", "error"; "?" for another value.
 */
JST_EXPORT const char *jst_pool_name(unsigned pool);


/* ---- GetError, as the three APIs define it ------------------------------------------ */

/* Whose semantics and return codes a GetError call follows. */
enum jst_flavour {
	JST_FLAVOUR_CIM = 0,    /* CIM_ConcreteJob.GetError / GetErrors: 0 Success ... 6 Access Denied */
	JST_FLAVOUR_HYPERV = 1, /* Msvm_ConcreteJob.GetError / GetErrorEx: 0, 32768..32778 */
	JST_FLAVOUR_DO = 2,     /* IBackgroundCopyJob::GetError: HRESULTs */
};

#define JST_DO_S_OK                             0x00000000u
#define JST_DO_E_NO_SERVICE                     0x80d01001u
#define JST_DO_E_JOB_NOT_FOUND                  0x80d02003u
#define JST_DO_E_FILE_NOT_AVAILABLE             0x80d02010u
#define JST_DO_E_INVALID_STATE                  0x80d02013u
#define JST_DO_E_ERROR_INFORMATION_UNAVAILABLE  0x80d02014u

/* What GetError gives for a job: jst_error_rule()'s answer. */
enum jst_error_rule {
	JST_RULE_NULL = 0,        /* nothing: "Success" with NULL (DO: no error object) */
	JST_RULE_REPORTED = 1,    /* the latest CIM_Error the job's producer (or jobstatd) reported */
	JST_RULE_SYNTHESIZED = 2, /* one made from the job itself: jst_error_synthesize() */
};

/**
 * jst_error_rule() - GetError's rule: what @flavour gives for a job whose
 * status is @st. The table, cell by cell, is in README.md ("GetError's rule").
 * CIM and Hyper-V: NULL while the job executes (New, Starting, Running,
 * Suspended, Shutting Down, Service, vendor states that are not final),
 * whatever its OperationalStatus and errors; for a final job or one in Query
 * Pending, NULL when an OperationalStatus value is OK or, for Query Pending,
 * when it shows Lost Communication (the producer is gone, not the job
 * failed); otherwise the latest reported error, or a synthesized one when
 * none was reported. Delivery Optimization: REPORTED for a transfer job whose
 * error object exists, else NULL (it never synthesizes).
 * Return: an enum jst_error_rule value; JST_EINVAL (@st NULL, unknown @flavour).
 */
JST_EXPORT int jst_error_rule(const struct jst_status *st, unsigned flavour);

/* The MessageID of a CIM_Error that jst_error_synthesize() makes. */
#define JST_MSGID_SYNTHESIZED "JST0003"

/**
 * jst_error_synthesize() - the CIM_Error GetError gives for a job that is
 * not OK and has no reported error, made from what the job has: MessageID
 * JST_MSGID_SYNTHESIZED, OwningEntity "jobstat", Message from
 * ErrorDescription (else a sentence naming the final state and ErrorCode),
 * MessageArguments {JobState, its name, ErrorCode, ErrorDescription,
 * JobStatus} (NULL where the job has none), PerceivedSeverity by state
 * (Exception 5 Major, Killed and Terminated 2 Information, Completed and
 * CompletedWithWarnings 3 Degraded/Warning, else 0 Unknown), ProbableCause 0
 * Unknown, ErrorSource the job's object path CIM_ConcreteJob.InstanceID="..."
 * (ErrorSourceFormat 2 CIMObjectPath), CIMStatusCode 1 CIM_ERR_FAILED for
 * Exception (else NULL); time = TimeOfLastStateChange, sequence 0 (it was
 * never reported), job_state the job's. Strings live in @ret_error->text.
 * Return: 0; JST_EINVAL.
 */
JST_EXPORT int jst_error_synthesize(const struct jst_job *job, struct jst_error *ret_error);

/**
 * jst_get_error() - GetError: the job's CIM_Error, as jst_error_rule() says.
 * CIM and Hyper-V: the latest reported error, or one synthesized by
 * jst_error_synthesize() for a job that is not OK but reported none; nothing
 * while it executes or after it ended without error. Delivery Optimization:
 * only for a transfer job whose error object exists (it entered ERROR or
 * TRANSIENT_ERROR and has not been TRANSFERRING since); the object is the
 * error's hresult, context, message (description) and file
 * (jst_error_file()). No syscall.
 * @ret_error: filled when 0 is returned; unspecified otherwise.
 *
 * Return: 0 (an error, the method's "Success"/S_OK); JST_ENOERROR (none: CIM
 * and Hyper-V return success with NULL, DO returns
 * DO_E_ERROR_INFORMATION_UNAVAILABLE); JST_EINVAL; JST_ESTALE; JST_EAGAIN;
 * JST_ECORRUPT. jst_method_code() turns any of them into @flavour's code.
 */
JST_EXPORT int jst_get_error(jst_reader *r, jst_handle h, unsigned flavour,
			     struct jst_error *ret_error);

/**
 * jst_get_errors() - CIM GetErrors / Hyper-V GetErrorEx: every retained
 * error, oldest first, under the same condition as jst_get_error() (none
 * while OperationalStatus is OK). One consistent set: no error is missed or
 * repeated when another is reported meanwhile.
 * @ret_errors: room for @max (JST_ERRORS_KEPT is enough).
 * @ret_n: how many were stored.
 * Return: 0; JST_ENOERROR (none); JST_ENOTSUP for JST_FLAVOUR_DO (DO has no
 * such call); the codes of jst_get_error().
 */
JST_EXPORT int jst_get_errors(jst_reader *r, jst_handle h, unsigned flavour,
			      struct jst_error *ret_errors, size_t max, size_t *ret_n);

/**
 * jst_get_error_cimxml() - Hyper-V's GetError([out] string Error): the
 * error jst_get_error(JST_FLAVOUR_HYPERV) gives, as the CIM-XML string of
 * jst_error_to_cimxml(). No syscall.
 * @buf, @n, @ret_len: as jst_error_to_cimxml() (NULL and 0 measure).
 * Return: 0; JST_ENOERROR (NULL: the method's 0 with no string); JST_ETOOLONG
 * (*@ret_len says how much is needed); the codes of jst_get_error().
 */
JST_EXPORT int jst_get_error_cimxml(jst_reader *r, jst_handle h, char *buf, size_t n,
				    size_t *ret_len);

/**
 * jst_error_file() - IBackgroundCopyError::GetFile: the file an error is
 * about.
 * @ret_file: set to the path on success; untouched on failure.
 * Return: 0; JST_ENOFILE when the error names no file (jst_method_code()
 * gives DO_E_FILE_NOT_AVAILABLE for it, as the DO API does); JST_EINVAL.
 */
JST_EXPORT int jst_error_file(const struct jst_error *e, const char **ret_file);

/**
 * jst_error_validate() - check a CIM_Error against DMTF's CIM_Error class:
 * MessageID present; ErrorType 0..10, PerceivedSeverity 0..7, ProbableCause
 * 0..130, ErrorSourceFormat 0..2, CIMStatusCode 1..29 or 0 (NULL);
 * OtherErrorType set exactly when ErrorType is 1 (Other),
 * OtherErrorSourceFormat exactly when ErrorSourceFormat is 1 (Other); at most
 * JST_ERROR_ARGS_MAX MessageArguments and RecommendedActions.
 * jst_job_report_error() calls it before sending; jobstatd may too.
 * @msg, @n: NULL and 0, or where to write a sentence saying what is wrong and
 *	     what is allowed ("" when valid); always NUL-terminated when @n > 0.
 * Return: 0; JST_EINVAL (no @e, or no MessageID); JST_EVALUEMAP (a value
 * outside its ValueMap); JST_EOTHERPAIR (an Other* string without its Other
 * value, or the Other value without its string); JST_ETOOLONG (too many
 * array entries).
 */
JST_EXPORT int jst_error_validate(const struct jst_error *e, char *msg, size_t n);

/**
 * jst_method_code() - the return code the job model's method gives for the
 * jobstat result @rc, in @flavour: CIM (0 Success, 1 Not Supported,
 * 2 Unspecified Error, 3 Timeout, 4 Failed, 5 Invalid Parameter, 6 Access
 * Denied), Hyper-V (0, 32768 Failed, 32769 Access Denied, 32770 Not
 * Supported, 32772 Timeout, 32773 Invalid parameter, 32774 System is in use,
 * 32775 Invalid state for this operation, 32777 System is not available,
 * 32778 Out of memory) or DO (S_OK, DO_E_ERROR_INFORMATION_UNAVAILABLE,
 * DO_E_JOB_NOT_FOUND, DO_E_INVALID_STATE, DO_E_NO_SERVICE,
 * DO_E_FILE_NOT_AVAILABLE, E_ACCESSDENIED,
 * E_INVALIDARG, E_OUTOFMEMORY, E_NOTIMPL, E_FAIL, ...). README.md has the table.
 */
JST_EXPORT uint32_t jst_method_code(int rc, unsigned flavour);

/**
 * jst_error_to_cimxml() - a CIM_Error as the DSP0201 CIM-XML instance
 * Hyper-V's GetError returns: <INSTANCE CLASSNAME="CIM_Error"> with one
 * PROPERTY (TYPE uint16, uint32 or string) or PROPERTY.ARRAY per property,
 * no VALUE for a NULL one, text XML-escaped (characters XML 1.0 cannot carry
 * become U+FFFD).
 * @buf, @n: where to write it, NUL-terminated; NULL and 0 to measure.
 * @ret_len: NULL, or the length of the whole text (without the NUL).
 * Return: 0 (also when measuring: *@ret_len is then the size); JST_EINVAL
 * (also @buf NULL with @n > 0); JST_ETOOLONG when @n is too small (*@ret_len
 * says how much is needed; @buf holds nothing usable).
 */
JST_EXPORT int jst_error_to_cimxml(const struct jst_error *e, char *buf, size_t n,
				   size_t *ret_len);

/**
 * jst_error_to_json() - the same error as one JSON object for scripts: the
 * CIM_Error properties by their CIM names (null for NULL), plus "Time",
 * "Sequence", "JobState", and Delivery Optimization's "HResult", "Context"
 * and "File". Arguments and return as jst_error_to_cimxml().
 */
JST_EXPORT int jst_error_to_json(const struct jst_error *e, char *buf, size_t n,
				 size_t *ret_len);

/**
 * jst_errors_to_cimxml() - GetErrors / GetErrorEx as one well-formed CIM-XML
 * document, valid against DSP0203: an XML declaration, then <CIM
 * CIMVERSION="2.0" DTDVERSION="2.4"><DECLARATION><DECLGROUP> holding one
 * <VALUE.OBJECT> per error (each the INSTANCE of jst_error_to_cimxml()), in
 * the order given. @n may be 0 (an empty DECLGROUP).
 * Arguments and return as jst_error_to_cimxml().
 */
JST_EXPORT int jst_errors_to_cimxml(const struct jst_error *errors, size_t n, char *buf,
				    size_t len, size_t *ret_len);

/* jst_job_to_cimxml() flags. */
#define JST_CIMXML_MSVM     0x1 /* Msvm_ConcreteJob: its class name and extra properties */
#define JST_CIMXML_DOCUMENT 0x2 /* a whole document, as jst_errors_to_cimxml() wraps one */

/**
 * jst_job_to_cimxml() - a whole job as a DSP0201 <INSTANCE
 * CLASSNAME="CIM_ConcreteJob">: InstanceID, Name, JobState,
 * OperationalStatus[], StatusDescriptions[], PercentComplete, ErrorCode,
 * ErrorDescription, JobStatus, Owner, Notify, Priority, RecoveryAction,
 * OtherRecoveryAction, DeleteOnCompletion, TimeSubmitted, StartTime,
 * TimeOfLastStateChange (CIM datetime timestamps, UTC), ElapsedTime and
 * TimeBeforeRemoval (CIM intervals); NULL ones without VALUE. With
 * JST_CIMXML_MSVM, CLASSNAME="Msvm_ConcreteJob" and also
 * ErrorSummaryDescription, Cancellable and JobType. Valid against the
 * DSP0203 DTD (tests/test_render.c proves it with xmllint).
 * @flags: JST_CIMXML_* bits.
 * Other arguments and return as jst_error_to_cimxml(); JST_EINVAL for an
 * unknown flag.
 */
JST_EXPORT int jst_job_to_cimxml(const struct jst_job *job, unsigned flags, char *buf, size_t n,
				 size_t *ret_len);

/**
 * jst_job_to_json() - the same job as one JSON object: every property of
 * jst_job_to_cimxml() with JST_CIMXML_MSVM by its CIM name (null for NULL),
 * times as CIM datetime strings. Arguments and return as jst_error_to_cimxml().
 */
JST_EXPORT int jst_job_to_json(const struct jst_job *job, char *buf, size_t n, size_t *ret_len);

/**
 * jst_job_ext_to_cimxml() - as jst_job_to_cimxml(), with the properties of
 * struct jst_job_ext too: ElementName, Caption, Description,
 * CommunicationStatus, HealthState, PrimaryStatus, DetailedStatus,
 * OperatingStatus, ScheduledStartTime, UntilTime (CIM datetime timestamps),
 * JobRunTimes and LocalOrUtcTime. Valid against the DSP0203 DTD.
 * @size: sizeof(struct jst_job_ext) as the caller knows it (at least struct jst_job).
 * Other arguments and return as jst_job_to_cimxml().
 */
JST_EXPORT int jst_job_ext_to_cimxml(const struct jst_job_ext *x, size_t size, unsigned flags,
				     char *buf, size_t n, size_t *ret_len);

/**
 * jst_job_ext_to_json() - as jst_job_to_json(), with the properties of
 * jst_job_ext_to_cimxml() by their CIM names. Arguments and return as
 * jst_job_ext_to_cimxml() without flags.
 */
JST_EXPORT int jst_job_ext_to_json(const struct jst_job_ext *x, size_t size, char *buf, size_t n,
				   size_t *ret_len);

#define JST_DATETIME_LEN 25 /* a CIM datetime's characters, without the NUL */

/**
 * jst_cim_datetime() - a CIM datetime string (DSP0004): with @interval false,
 * the timestamp "yyyymmddhhmmss.mmmmmm+000" of @ns nanoseconds since the
 * Unix epoch, in UTC; with @interval true, the interval
 * "ddddddddhhmmss.mmmmmm:000" of @ns nanoseconds. No syscall, no locale.
 * @buf: room for JST_DATETIME_LEN + 1 bytes.
 * Return: 0; JST_EINVAL (@buf NULL). Every uint64_t fits both forms.
 */
JST_EXPORT int jst_cim_datetime(uint64_t ns, bool interval, char *buf);

/**
 * jst_json_string() - @s as one JSON string literal, quotes included ("null"
 * for NULL): the exact string, with '"', '\\' and control characters
 * escaped (\uXXXX); the escaper jst_error_to_json() uses, for programs that
 * print a job's strings as JSON (the jobstat tool does).
 * @buf, @n, @ret_len, Return: as jst_error_to_cimxml().
 */
JST_EXPORT int jst_json_string(const char *s, char *buf, size_t n, size_t *ret_len);

/* ---- job states (the CIM model) ----------------------------------------------------- */

#define JST_JOB_COMPLETED_WITH_WARNINGS 32768 /* Hyper-V's vendor value; final */

/**
 * jst_job_state_name() - "Running", "Completed", ...; "Vendor" for 32768..65535 other than
 * CompletedWithWarnings, "Reserved" for values CIM reserves.
 */
JST_EXPORT const char *jst_job_state_name(uint16_t state);

/**
 * jst_job_state_is_final() - true for Completed, Terminated, Killed, Exception and
 * CompletedWithWarnings: the job will not change state again. Every other value,
 * including an unknown one, is not final (a client waiting on it keeps waiting
 * and should time out).
 */
JST_EXPORT bool jst_job_state_is_final(uint16_t state);

/**
 * jst_job_state_check() - may a job go from state @from to state @to?
 * The table is in README.md ("Job states"); staying in the same state is allowed,
 * leaving a final state is not, CIM-reserved values (13..32767) are never valid.
 * Return: 0; JST_ETRANSITION.
 */
JST_EXPORT int jst_job_state_check(uint16_t from, uint16_t to);

/**
 * jst_default_op_status() - the OperationalStatus a job in @state shows unless its
 * producer sets one: New {Dormant}, Starting {Starting}, Running {OK}, Suspended {OK},
 * Shutting Down {Stopping}, Completed {Completed, OK}, Terminated {Stopped}, Killed
 * {Stopped, Aborted}, Exception {Completed, Error}, Service {In Service}, Query Pending
 * {OK}, CompletedWithWarnings {Completed, Degraded}, other vendor values {Other}.
 * @ret_ops: room for JST_OPSTATUS_MAX values.
 * Return: how many values were stored (1 or 2).
 */
JST_EXPORT unsigned jst_default_op_status(uint16_t state, uint16_t *ret_ops);

/*
 * Transfer jobs (Delivery Optimization / BITS): a job created with
 * jst_job_spec.transfer carries one of these states (stored + 1 in
 * jst_status.transfer_state); its JobState and OperationalStatus follow from
 * it: QUEUED Starting {Dormant}, CONNECTING Starting {Starting}, TRANSFERRING
 * Running {OK}, SUSPENDED Suspended {OK}, ERROR Query Pending {Error},
 * TRANSIENT_ERROR Running {Degraded}, TRANSFERRED Shutting Down {Stopping},
 * ACKNOWLEDGED Completed {Completed, OK}, CANCELLED Terminated {Stopped}.
 */
enum jst_transfer_state {
	JST_BG_QUEUED = 0,
	JST_BG_CONNECTING = 1,
	JST_BG_TRANSFERRING = 2,
	JST_BG_SUSPENDED = 3,
	JST_BG_ERROR = 4,
	JST_BG_TRANSIENT_ERROR = 5,
	JST_BG_TRANSFERRED = 6,
	JST_BG_ACKNOWLEDGED = 7,
	JST_BG_CANCELLED = 8,
};

/** jst_transfer_state_name() - "QUEUED", ..., "CANCELLED"; "?" for other values. */
JST_EXPORT const char *jst_transfer_state_name(uint16_t bg_state);

/**
 * jst_transfer_check() - may a transfer job go from @from to @to (enum
 * jst_transfer_state)? A new job starts SUSPENDED; Resume goes to QUEUED; a
 * job in progress may move among QUEUED, CONNECTING, TRANSFERRING, SUSPENDED,
 * TRANSIENT_ERROR and ERROR; only TRANSFERRING (or QUEUED, for an empty job)
 * reaches TRANSFERRED; TRANSFERRED goes only to ACKNOWLEDGED (Complete) or
 * CANCELLED; ERROR may also be Completed (ACKNOWLEDGED: keep what was
 * transferred, as the seed lists Cancel, Complete or Resume after an error);
 * ACKNOWLEDGED and CANCELLED are final. Staying is allowed.
 * Return: 0; JST_ETRANSITION.
 */
JST_EXPORT int jst_transfer_check(uint16_t from, uint16_t to);

/**
 * jst_transfer_job_state() - the JobState and default OperationalStatus of a
 * transfer job in @bg_state (the table above).
 * @ret_ops: room for JST_OPSTATUS_MAX values. Return: how many were stored.
 */
JST_EXPORT unsigned jst_transfer_job_state(uint16_t bg_state, uint16_t *ret_job_state,
					   uint16_t *ret_ops);

/* ---- producing and controlling jobs, through jobstatd's control socket --------------- */

/* A jst_conn is one thread's at a time: give each thread its own, or lock around it. */
typedef struct jst_conn jst_conn;

/* RequestStateChange's RequestedState values. */
enum jst_requested_state {
	JST_REQ_START = 2,
	JST_REQ_SUSPEND = 3,
	JST_REQ_TERMINATE = 4,
	JST_REQ_KILL = 5,
	JST_REQ_SERVICE = 6,
};

/*
 * RequestStateChange's return codes as CIM_ConcreteJob's ValueMap defines
 * them (the CIM flavour): 0..6 and 4096..4099, 32768..65535 for vendors.
 * CIM has no Access Denied here (WBEM reports it as the operation's
 * CIM_ERR_ACCESS_DENIED, not as a return value), and 6 is In Use: 0.1.0
 * wrongly gave JST_RSC_ACCESS_DENIED the value 6. It is now a vendor value,
 * the number Hyper-V uses for Access Denied, so the name still compiles and
 * still means what it says; only a program that compared with a literal 6
 * must change (CHANGELOG.md).
 */
enum jst_rsc_code {
	JST_RSC_COMPLETED = 0,
	JST_RSC_NOT_SUPPORTED = 1,
	JST_RSC_UNKNOWN = 2,
	JST_RSC_TIMEOUT = 3,
	JST_RSC_FAILED = 4,
	JST_RSC_INVALID_PARAMETER = 5,
	JST_RSC_IN_USE = 6,
	JST_RSC_STARTED = 4096,    /* Method Parameters Checked - Transition Started */
	JST_RSC_INVALID_TRANSITION = 4097,
	JST_RSC_TIMEOUT_NOT_SUPPORTED = 4098,
	JST_RSC_BUSY = 4099,
	JST_RSC_ACCESS_DENIED = 32769, /* vendor range; Hyper-V's Access Denied */
};

/* Msvm_ConcreteJob.RequestStateChange's return codes (the Hyper-V flavour). */
enum jst_rsc_hyperv_code {
	JST_RSC_HV_COMPLETED = 0,
	JST_RSC_HV_STARTED = 4096,
	JST_RSC_HV_FAILED = 32768,
	JST_RSC_HV_ACCESS_DENIED = 32769,
	JST_RSC_HV_NOT_SUPPORTED = 32770,
	JST_RSC_HV_STATUS_UNKNOWN = 32771,
	JST_RSC_HV_TIMEOUT = 32772,
	JST_RSC_HV_INVALID_PARAMETER = 32773,
	JST_RSC_HV_IN_USE = 32774,
	JST_RSC_HV_INVALID_STATE = 32775,
	JST_RSC_HV_INCORRECT_TYPE = 32776,
	JST_RSC_HV_NOT_AVAILABLE = 32777,
	JST_RSC_HV_OUT_OF_MEMORY = 32778,
};

/**
 * jst_rsc_method_code() - RequestStateChange's return code in a flavour
 * (enum jst_flavour), from what jst_request_state_change() gave.
 * @rc: jst_request_state_change()'s result.
 * @cim_code: when @rc is 0, the answer it stored (a CIM code: the producer's
 *	      or the daemon's); ignored otherwise.
 * @flavour: JST_FLAVOUR_CIM, JST_FLAVOUR_HYPERV or JST_FLAVOUR_DO (DO has no
 *	     RequestStateChange: its Suspend/Resume/Cancel give HRESULTs, as
 *	     jst_method_code() does).
 *
 * The table is in README.md ("RequestStateChange"): CIM gives 0..6 and
 * 4096..4099 (6 only for In Use) and JST_RSC_ACCESS_DENIED for JST_EPERM;
 * Hyper-V gives 0, 4096 and 32768..32778 (32769 Access Denied).
 * Return: the code; for an unknown @flavour, CIM's 2 (Unknown or Unspecified Error).
 */
JST_EXPORT uint32_t jst_rsc_method_code(int rc, uint32_t cim_code, unsigned flavour);

/*
 * struct jst_request - a RequestStateChange that a client made on one of this
 * producer's jobs, as the producer's handler receives it.
 */
struct jst_request {
	jst_handle handle;
	const char *instance_id;
	uint16_t requested_state;    /* enum jst_requested_state */
	uint32_t requester_uid;
	int32_t requester_pid;
	uint64_t timeout_ns;         /* TimeoutPeriod; 0 = none given */
};

/*
 * jst_request_fn - a producer's handler for state change requests. It runs
 * inside jst_dispatch(), may call the producer API (typically to move the job
 * to the requested state) and returns the RequestStateChange code the
 * requester receives: JST_RSC_COMPLETED when the job is in the requested
 * state, JST_RSC_STARTED when it will be, JST_RSC_NOT_SUPPORTED, ...
 */
typedef uint32_t (*jst_request_fn)(jst_conn *c, const struct jst_request *rq, void *arg);

struct jst_connect_options {
	const char *ns;              /* NULL: jst_default_namespace() */
	const char *socket_path;     /* NULL: $JOBSTAT_SOCKET, else the namespace's socket in
					the runtime directory (README.md "Finding the daemon") */
	uint64_t session;            /* 0: a new session; else the session whose jobs to take
					back (jst_session() of an earlier connection, same uid) */
	bool producer;               /* this connection creates jobs and receives their requests */
	jst_request_fn on_request;   /* NULL: requests are answered JST_RSC_NOT_SUPPORTED */
	void *arg;
	int64_t reconnect_timeout_ns; /* how long a call keeps retrying a lost daemon, with
					 backoff (10 ms doubling to 1 s); 0: 30 s; < 0: never */
};

/**
 * jst_connect() - connect to jobstatd's control socket and say hello.
 * @opt: NULL for a plain (non-producer) connection on the defaults.
 * @ret_conn: set on success; untouched on failure.
 *
 * Return: 0; JST_EINVAL; JST_ENAMESPACE; JST_ETOOLONG (socket path);
 * JST_ENODAEMON (nothing listens); JST_EACCES (no permission on the socket);
 * JST_EPROTOVERSION; JST_ENOMEM; JST_ESYS.
 */
JST_EXPORT int jst_connect(const struct jst_connect_options *opt, jst_conn **ret_conn);

/** jst_disconnect() - close the connection. The jobs stay. Accepts NULL. */
JST_EXPORT void jst_disconnect(jst_conn *c);

/** jst_session() - this connection's session, to take its jobs back after a restart. */
JST_EXPORT uint64_t jst_session(jst_conn *c);

/**
 * jst_conn_error() - what the daemon said about the last failed call, for a
 * person to read ("JobState 7 (Completed) cannot become 4 (Running)"); "" if nothing.
 */
JST_EXPORT const char *jst_conn_error(jst_conn *c);

/**
 * jst_conn_fd() - the socket, for poll(): readable means jst_dispatch() has
 * requests to hand to the handler. The library reconnects on its own when
 * the daemon restarts; the new socket may get the old one's number, so an
 * epoll user re-adds it whenever jst_conn_reconnects() has changed.
 */
JST_EXPORT int jst_conn_fd(jst_conn *c);

/**
 * jst_conn_reconnects() - how many times this connection was made again
 * after the daemon went away (0 at first). Compare it across calls to know
 * that jst_conn_fd() names a new socket, even under the same number.
 */
JST_EXPORT uint64_t jst_conn_reconnects(jst_conn *c);

/**
 * jst_conn_set_timeout() - how long each call waits for the daemon's answer
 * once connected (a stopped or overloaded daemon): then the call fails with
 * JST_ETIMEDOUT and the next one reconnects. @timeout_ns: 0 the default, 10 s;
 * < 0 no limit. RequestStateChange adds its TimeoutPeriod (5 s when 0).
 * Reconnecting after a lost daemon has its own budget
 * (jst_connect_options.reconnect_timeout_ns).
 */
JST_EXPORT void jst_conn_set_timeout(jst_conn *c, int64_t timeout_ns);

/**
 * jst_dispatch() - run the handler for state change requests that arrived,
 * waiting up to @timeout_ns (0: do not wait; < 0: without limit) for the first.
 * Return: how many requests were handled (>= 0); JST_EDISCONNECTED; JST_ESYS.
 */
JST_EXPORT int jst_dispatch(jst_conn *c, int64_t timeout_ns);

/*
 * struct jst_job_spec - a new job. Zero-initialise and set what you need:
 * a zero spec makes a New job with a generated InstanceID "jobstat:<uuid>".
 */
struct jst_job_spec {
	const char *instance_id;     /* "OrgID:LocalID"; NULL: generated */
	const char *name;            /* CIM requires one; NULL: "job" */
	const char *owner, *notify, *job_status;
	uint16_t job_type;
	uint16_t initial_state;      /* 0: New */
	uint32_t priority;
	bool delete_on_completion;
	bool not_cancellable;        /* refuse Terminate and Kill (Msvm_ConcreteJob Cancellable false) */
	bool transfer;               /* a transfer job: starts SUSPENDED, its JobState follows
					its transfer state (initial_state must be 0) */
	int64_t time_before_removal_ns; /* <= 0: the CIM default, 5 minutes */
};

#define JST_DEFAULT_TIME_BEFORE_REMOVAL_NS (300ull * 1000 * 1000 * 1000)

/**
 * jst_job_create() - create a job owned by the connection's uid and session.
 * @ret_handle: the job's handle, for updates and for reading (jst_status()).
 * @ret_instance_id: NULL, or room for JST_ID_MAX + 1 bytes: the InstanceID.
 *
 * Return: 0; JST_EINVAL; JST_EINSTANCEID; JST_EUTF8; JST_ETOOLONG; JST_EEXIST;
 * JST_ETRANSITION (an initial state that is not a valid start); JST_ENOSPC;
 * JST_EQUOTA (the uid's quota of jobs, or of jobs with strings too long for a
 * small detail block); JST_EDISCONNECTED (the daemon could not be reached
 * again in time).
 */
JST_EXPORT int jst_job_create(jst_conn *c, const struct jst_job_spec *spec,
			      jst_handle *ret_handle, char *ret_instance_id);

/* Which fields of a struct jst_update to set. */
#define JST_SET_STATE             0x01 /* job_state (OperationalStatus follows) */
#define JST_SET_PERCENT           0x02
#define JST_SET_OP_STATUS         0x04 /* operational_status[] and status_descriptions[] */
#define JST_SET_JOB_STATUS        0x08
#define JST_SET_ERROR_CODE        0x10
#define JST_SET_ERROR_DESCRIPTION 0x20
#define JST_SET_TRANSFER_STATE    0x40 /* transfer jobs only; instead of JST_SET_STATE */
#define JST_SET_ALL               0x7f

/* struct jst_update - one change to one job. */
struct jst_update {
	jst_handle handle;
	uint32_t set;                /* JST_SET_* */
	uint16_t job_state;
	uint16_t percent_complete;   /* 0..100, 101 = undefined */
	uint16_t error_code;
	uint16_t transfer_state;     /* enum jst_transfer_state */
	uint16_t n_operational_status;
	uint16_t operational_status[JST_OPSTATUS_MAX];
	const char *status_descriptions[JST_OPSTATUS_MAX]; /* index-parallel; NULL allowed */
	const char *job_status;
	const char *error_description;
};

/**
 * jst_update() - apply @n updates, in order, in as few messages as fit.
 * When it returns, every update that succeeded is visible in the segment.
 * @ret_results: NULL, or room for @n codes: each update's own result.
 *
 * Return: 0 when every update succeeded; else the first failure's code
 * (JST_ESTALE, JST_EPERM, JST_ETRANSITION, JST_EINVAL, JST_ETOOLONG,
 * JST_EUTF8, JST_ENOSPC, JST_EQUOTA: strings that would make the job's detail
 * large, its owner at --quota-large-details), the others' in @ret_results;
 * JST_EDISCONNECTED.
 */
JST_EXPORT int jst_update(jst_conn *c, const struct jst_update *u, size_t n, int *ret_results);

/** jst_job_set_state() - one update of JobState. Return: as jst_update(). */
JST_EXPORT int jst_job_set_state(jst_conn *c, jst_handle h, uint16_t state);

/** jst_job_set_progress() - one update of PercentComplete. Return: as jst_update(). */
JST_EXPORT int jst_job_set_progress(jst_conn *c, jst_handle h, uint16_t percent);

/** jst_job_complete() - PercentComplete 100 and JobState Completed. Return: as jst_update(). */
JST_EXPORT int jst_job_complete(jst_conn *c, jst_handle h);

/**
 * jst_job_report_error() - record a CIM_Error for the job (its last
 * JST_ERRORS_KEPT are kept); with @fail, the job also goes to Exception.
 * Return: 0; JST_EINVAL (no MessageID); JST_ESTALE; JST_EPERM; JST_ETRANSITION
 * (fail of a final job); JST_ETOOLONG; JST_EUTF8; JST_ENOSPC; JST_EQUOTA (the
 * owner's retained errors, or a failure message that would make the detail
 * large); JST_EDISCONNECTED.
 */
JST_EXPORT int jst_job_report_error(jst_conn *c, jst_handle h, const struct jst_error *e,
				    bool fail);

/* Which properties a struct jst_job_props sets. */
#define JST_PROP_PRIORITY             0x001
#define JST_PROP_DELETE_ON_COMPLETION 0x002
#define JST_PROP_TIME_BEFORE_REMOVAL  0x004
#define JST_PROP_RECOVERY_ACTION      0x008 /* RecoveryAction with OtherRecoveryAction */
#define JST_PROP_ERROR_SUMMARY        0x010 /* ErrorSummaryDescription */
#define JST_PROP_ELEMENT_NAME         0x020
#define JST_PROP_CAPTION              0x040
#define JST_PROP_DESCRIPTION          0x080
#define JST_PROP_SCHEDULED_START_TIME 0x100
#define JST_PROP_UNTIL_TIME           0x200
#define JST_PROP_JOB_RUN_TIMES        0x400
#define JST_PROP_LOCAL_OR_UTC_TIME    0x800
#define JST_PROP_ALL                  0xfff

/* Limits of the producer-settable strings, in bytes without the NUL (PROTOCOL.md). */
#define JST_CAPTION_MAX      64   /* characters (CIM MaxLen 64); at most 256 bytes */
#define JST_ELEMENT_NAME_MAX 256  /* bytes: CIM gives no MaxLen */
#define JST_DESCRIPTION_MAX  512  /* bytes: CIM gives no MaxLen */

/*
 * struct jst_job_props - the CIM properties a job's producer may change after
 * creating it. Zero-initialise, set @set and the fields it names. Grows only
 * at its end: pass sizeof(struct jst_job_props) to the calls below.
 */
struct jst_job_props {
	uint32_t set;                /* JST_PROP_* */
	uint32_t priority;           /* lower = more urgent */
	bool delete_on_completion;
	uint16_t recovery_action;    /* 0 Unknown, 1 Other, 2 Do Not Continue, 3 Continue With
					Next Job, 4 Re-run Job, 5 Run Recovery Job */
	int64_t time_before_removal_ns; /* >= 0 */
	const char *other_recovery_action; /* exactly with RecoveryAction 1 (Other) */
	const char *error_summary_description;
	const char *element_name, *caption, *description; /* NULL clears */
	uint64_t scheduled_start_time; /* ns since the epoch; 0 = NULL */
	uint64_t until_time;         /* ns since the epoch; 0 = NULL */
	uint32_t job_run_times;      /* 0 = until the job is deleted */
	uint16_t local_or_utc_time;  /* 1 Local Time, 2 UTC Time; 0 = NULL */
};

/**
 * jst_job_props_validate() - check properties against DMTF's CIM_Job and
 * CIM_ManagedElement: RecoveryAction in its ValueMap 0..5 with
 * OtherRecoveryAction set exactly when it is 1 (Other); LocalOrUtcTime 0
 * (NULL), 1 or 2; TimeBeforeRemoval >= 0; Caption at most 64 characters;
 * every string valid UTF-8 within its limit; no unknown JST_PROP_* bit.
 * jst_job_set_props() calls it before sending; jobstatd does too.
 * @size: sizeof(struct jst_job_props) as the caller knows it.
 * @msg, @n: NULL and 0, or where to write a sentence naming the property
 *	     that is wrong and what is allowed ("" when valid).
 * Return: 0; JST_EINVAL (@p NULL, @size too small, an unknown bit, a
 * negative TimeBeforeRemoval); JST_EVALUEMAP; JST_EOTHERPAIR; JST_ETOOLONG;
 * JST_EUTF8.
 */
JST_EXPORT int jst_job_props_validate(const struct jst_job_props *p, size_t size, char *msg,
				      size_t n);

/**
 * jst_job_set_props() - change the properties @p->set names on a job of this
 * producer (the owner's uid, root or the admin group), in one version:
 * a reader sees all of them or none.
 * @size: sizeof(struct jst_job_props) as the caller was compiled with.
 * Return: 0; the codes of jst_job_props_validate() (jst_conn_error() names
 * the property); JST_ESTALE; JST_EPERM; JST_ENOSPC; JST_EQUOTA (values that
 * would make the detail large, its owner at --quota-large-details);
 * JST_EDISCONNECTED; JST_ETIMEDOUT.
 */
JST_EXPORT int jst_job_set_props(jst_conn *c, jst_handle h, const struct jst_job_props *p,
				 size_t size);

#define JST_REMOVE_NOW 0x1 /* remove at once, even before it finished or TimeBeforeRemoval ran */

/**
 * jst_job_remove() - remove a job. A finished job is removed once
 * TimeBeforeRemoval has passed since it finished (at once if it has);
 * with JST_REMOVE_NOW, at once whatever its state.
 * @ret_when_ns: NULL, or the CLOCK_REALTIME instant of removal.
 * Return: 0; JST_ESTALE; JST_EPERM; JST_ENOTFINISHED; JST_EDISCONNECTED.
 */
JST_EXPORT int jst_job_remove(jst_conn *c, jst_handle h, unsigned flags, uint64_t *ret_when_ns);

/* What the daemon keeps for its clients, as jst_daemon_stats() reports it. */
struct jst_daemon_stats {
	uint32_t connections;        /* open, this one included */
	uint32_t sessions;           /* producers' sessions, connected or not */
	uint32_t timers;             /* scheduled removals, lost-communication checks, timeouts */
	uint32_t pending;            /* state change requests waiting for a producer */
	uint64_t heap_bytes;         /* the daemon's heap in use (0 where it cannot tell) */
};

/*
 * struct jst_quota_use - what one uid holds against its quotas (jobstatd's
 * --quota-* settings). A maximum of UINT32_MAX means no limit (root and the
 * admin group).
 */
struct jst_quota_use {
	uint32_t uid;
	uint32_t jobs, jobs_max;               /* live jobs it owns */
	uint32_t errors, errors_max;           /* errors retained on its jobs */
	uint32_t connections, connections_max; /* its open connections */
	uint32_t pending, pending_max;         /* its RequestStateChanges awaiting a producer */
};

/**
 * jst_daemon_quotas() - what uids hold against their quotas: every uid that
 * holds anything, for root and the admin group; the caller's own, for others.
 * @ret: room for @max entries; @ret_n: how many were stored.
 * Return: 0; JST_EINVAL; JST_ETIMEDOUT; JST_EDISCONNECTED; JST_EPROTO.
 */
JST_EXPORT int jst_daemon_quotas(jst_conn *c, struct jst_quota_use *ret, size_t max,
				 size_t *ret_n);

/**
 * jst_daemon_stats() - ask the daemon for its own bookkeeping.
 * Return: 0; JST_EINVAL; JST_EDISCONNECTED.
 */
JST_EXPORT int jst_daemon_stats(jst_conn *c, struct jst_daemon_stats *ret_stats);

/**
 * jst_request_state_change() - CIM RequestStateChange on any job, by InstanceID.
 * The daemon checks it (the job exists, the caller may, the transition is
 * valid, none is pending) and hands it to the job's producer, whose handler
 * decides. A job whose producer is gone can still be terminated or killed:
 * the daemon does it. A job terminated or killed this way records who asked,
 * as a CIM_Error.
 * @timeout_ns: TimeoutPeriod, as DMTF defines it: the longest the caller
 *		expects the transition to take. The producer answers within it
 *		(else 3, JST_ETIMEDOUT); if it answers 4096 (started), the call
 *		returns 0 as soon as the job reaches the requested state within
 *		it, or 4096 when it is still under way at its end. 0: no period;
 *		the producer's first answer, waited for 5 seconds.
 * @ret_code: the RequestStateChange return code in the CIM flavour (enum
 *	      jst_rsc_code); jst_rsc_method_code() gives Hyper-V's.
 *
 * Return: 0 when the producer (or, for a job without one, the daemon)
 * decided: *@ret_code is its answer (0, 4096, 1, ...). Refusals set
 * *@ret_code too: JST_ENOJOB and JST_EINVAL (5), JST_EPERM
 * (JST_RSC_ACCESS_DENIED, 32769: CIM's 6 is In Use),
 * JST_ETRANSITION (4097, also for any request on a final job), JST_EPENDING
 * (4099), JST_ENOTSUP (1, not cancellable), JST_ENOPRODUCER (4, only its
 * producer can do that), JST_ETIMEDOUT (3, the producer did not answer in
 * time). JST_EDISCONNECTED when the daemon could not be reached again.
 */
JST_EXPORT int jst_request_state_change(jst_conn *c, const char *instance_id,
					uint16_t requested_state, uint64_t timeout_ns,
					uint32_t *ret_code);

#ifdef __cplusplus
}
#endif

#endif /* JOBSTAT_H */
