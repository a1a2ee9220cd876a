/* SPDX-License-Identifier: MIT */
/*
 * jobstat-shm.h - the one definition of the jobstat segment's bytes and of the
 * primitives of its publication protocol, shared by jobstatd (the only writer)
 * and libjobstat (the readers). PROTOCOL.md beside this file is the prose.
 *
 * Every struct here is shared between processes: only fixed-width integers and
 * char arrays, offsets instead of pointers, explicit padding. Offsets are
 * frozen for a given JST_SHM_VERSION_MAJOR: change one and the major version
 * (and the layout descriptor) must change with it. The static asserts at the
 * end of this file hold them still.
 *
 * Installed as <jobstat/jobstat-shm.h>: it needs only the C library. The
 * atomics that read and write these bytes come with shm-atomic.h, internal.
 */
#ifndef JOBSTAT_SHM_H
#define JOBSTAT_SHM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * Identity. The magic is read as a native uint64_t: a segment written on a
 * machine of the other byte order reads as JST_SHM_MAGIC_SWAPPED.
 */
#define JST_SHM_MAGIC         UINT64_C(0x4A53544154534547) /* "JSTATSEG" big-end first */
#define JST_SHM_MAGIC_SWAPPED UINT64_C(0x474553544154534A) /* bswap64(JST_SHM_MAGIC) */
#define JST_SHM_VERSION_MAJOR 1 /* bumped by any change a v1 reader would misread */
#define JST_SHM_VERSION_MINOR 5 /* bumped by compatible additions (reserved bytes used) */

/* The ready/state word (header.state), written last by the daemon. */
#define JST_SHM_STATE_INIT   0u /* being created: nothing else may be trusted */
#define JST_SHM_STATE_READY  1u /* geometry valid, daemon publishing */
#define JST_SHM_STATE_CLOSED 2u /* the daemon stopped cleanly; data still valid */

/* Pools of versioned blocks (see PROTOCOL.md, "Versions and references"). */
enum {
	JST_POOL_STATUS = 0,       /* struct jst_shm_status, one live per job */
	JST_POOL_DETAIL_SMALL = 1, /* struct jst_shm_detail, JST_SHM_DETAIL_SMALL bytes */
	JST_POOL_DETAIL_LARGE = 2, /* struct jst_shm_detail, JST_SHM_DETAIL_LARGE bytes */
	JST_POOL_ERROR = 3,        /* struct jst_shm_error, JST_SHM_ERROR_BLOCK bytes */
	JST_POOL_COUNT = 4,
};

/* Sizes and limits. Every limit a producer can hit is here and in PROTOCOL.md. */
#define JST_SHM_HEADER_SIZE    4096u
#define JST_SHM_STATUS_SIZE    128u
#define JST_SHM_JOB_SIZE       320u
#define JST_SHM_DETAIL_SMALL   512u
#define JST_SHM_DETAIL_LARGE   8192u
#define JST_SHM_ERROR_BLOCK    20480u
#define JST_SHM_ID_MAX         255u /* InstanceID bytes, NUL excluded */
#define JST_SHM_OPSTATUS_MAX   8u   /* OperationalStatus[] / StatusDescriptions[] */
#define JST_SHM_ERRORS_KEPT    8u   /* the last N errors of a job are retained */
#define JST_SHM_ERROR_ARGS_MAX 16u  /* MessageArguments[] and RecommendedActions[] */
#define JST_SHM_ALIGN          4096u /* every region starts on a page */

/* A NULL string (as opposed to an empty one) in a string table. */
#define JST_SHM_STR_NULL UINT32_C(0xFFFFFFFF)

/*
 * A reference to a block version: (stamp << 32) | block index. Index 0 is
 * never allocated, so ref 0 means "none". A stamp is even and non-zero for a
 * published version; see jst_shm_ref_*().
 */
typedef uint64_t jst_shm_ref;

/* One pool's geometry: immutable once the header is READY. */
struct jst_shm_pool {
	uint64_t offset;     /* from the segment base; JST_SHM_ALIGN aligned */
	uint32_t block_size; /* bytes per block, multiple of 64 */
	uint32_t count;      /* blocks, including the never-used block 0 */
};

/*
 * Cumulative counters (format 1.2): what the daemon has done since the
 * segment was created, kept in the header so that a daemon adopting the
 * segment after kill -9 or a stop carries on from them and they never go
 * back. Only a new segment (jst_pub_create) starts them at 0.
 *
 * Writer: jobstatd only, through daemon/counters.c (one thread). Readers:
 * jst_counters() in libclient/counters.c, and through it jobstat-exporter
 * and `jobstat info`. Every word is stored whole with uatomic_set() and
 * read whole with uatomic_read(): each counter is independent, so no
 * ordering between two of them is promised; a reader may see one counter
 * of an event before another of the same event. A job_type row's key is
 * the exception: the writer stores it before the row's first count (wmb),
 * and a reader loads the counts before the key (rmb).
 */

/* The final JobStates, in the order of jst_shm_ctr_type.finished[]. */
enum {
	JST_SHM_CTR_COMPLETED = 0,               /* 7 */
	JST_SHM_CTR_TERMINATED = 1,              /* 8 */
	JST_SHM_CTR_KILLED = 2,                  /* 9 */
	JST_SHM_CTR_EXCEPTION = 3,               /* 10 */
	JST_SHM_CTR_COMPLETED_WITH_WARNINGS = 4, /* 32768 */
	JST_SHM_CTR_FINAL_COUNT = 5,
};

#define JST_SHM_CTR_TYPES      32u /* job_type rows; the last one counts every other type */
#define JST_SHM_CTR_SEVERITIES 16u /* [0..7] PerceivedSeverity 0..7, [8] any other value */
#define JST_SHM_CTR_RSC        16u /* RequestStateChange results, see jst_shm_ctr_rsc_index() */
#define JST_SHM_CTR_REFUSALS   8u  /* by JST_SHM_REFUSE_* */

/* Why the daemon refused a producer's request, the index of refusals[]. */
enum {
	JST_SHM_REFUSE_SEGMENT_FULL = 0, /* JST_ENOSPC: no job slot or no pool block */
	JST_SHM_REFUSE_CLIENTS = 1,      /* JST_ELIMIT: connections or pending requests at max */
	JST_SHM_REFUSE_QUOTA = 2,        /* a per-owner quota (when the daemon has one) */
	JST_SHM_REFUSE_COUNT = 3,
};

/*
 * Jobs finished by final state, for one JobType. Rows are claimed in
 * order of first use and never given back; once JST_SHM_CTR_TYPES - 1 are
 * claimed, every further type counts in the last row (key JST_SHM_CTR_OTHER).
 */
#define JST_SHM_CTR_OTHER UINT32_C(0xFFFFFFFF)
struct jst_shm_ctr_type {
	uint32_t key;            /* job_type + 1; 0 = row unused; JST_SHM_CTR_OTHER: the rest */
	uint32_t reserved0;
	uint64_t finished[JST_SHM_CTR_FINAL_COUNT]; /* by JST_SHM_CTR_* */
	uint64_t reserved[2];
};

struct jst_shm_counters {
	/* Counters: only ever raised. */
	uint64_t jobs_created;   /* every job the daemon published */
	uint64_t sessions_lost;  /* producer sessions whose jobs went Lost Communication */
	uint64_t errors[JST_SHM_CTR_SEVERITIES]; /* CIM_Errors reported, by PerceivedSeverity */
	uint64_t rsc[JST_SHM_CTR_RSC];           /* RequestStateChange answers, by result */
	uint64_t refusals[JST_SHM_CTR_REFUSALS]; /* by JST_SHM_REFUSE_* */
	/* Gauges: the daemon's bookkeeping now, rewritten at each heartbeat. */
	uint32_t connections;    /* control connections open */
	uint32_t sessions;       /* producer sessions, connected or not */
	uint32_t pool_in_use[JST_POOL_COUNT]; /* blocks holding live or retired versions */
	uint64_t gauges_ns;      /* CLOCK_MONOTONIC of the last gauge update; 0 = never */
	uint8_t reserved[16];
	struct jst_shm_ctr_type types[JST_SHM_CTR_TYPES] __attribute__((aligned(64)));
};

/*
 * The index of rsc[] for a RequestStateChange result code: CIM's 0..6 as
 * themselves, 4096..4099 as 7..10, anything else 11.
 */
#define JST_SHM_CTR_RSC_OTHER 11u
static inline unsigned jst_shm_ctr_rsc_index(uint32_t code)
{
	if (code <= 6)
		return code;
	if (code >= 4096 && code <= 4099)
		return 7 + (code - 4096);
	return JST_SHM_CTR_RSC_OTHER;
}

/* The final-state index of a JobState, or JST_SHM_CTR_FINAL_COUNT if it is not final. */
static inline unsigned jst_shm_ctr_final_index(uint16_t job_state)
{
	if (job_state >= 7 && job_state <= 10)
		return job_state - 7u;
	return job_state == 32768 ? JST_SHM_CTR_COMPLETED_WITH_WARNINGS : JST_SHM_CTR_FINAL_COUNT;
}

/*
 * The segment header: the first JST_SHM_HEADER_SIZE bytes.
 * Writer: jobstatd only. Readers: every client, through a read-only mapping.
 * Invariants: every field above `state` is written before state becomes
 * READY and never changes while it is READY (except the daemon identity on
 * adoption, which happens with state INIT); the hot words below are the only
 * fields that change while READY, each on its own cache line.
 */
struct jst_shm_header {
	/* Identity: frozen for every version, so any reader can say what it sees. */
	uint64_t magic;          /* JST_SHM_MAGIC */
	uint16_t version_major;  /* JST_SHM_VERSION_MAJOR */
	uint16_t version_minor;  /* JST_SHM_VERSION_MINOR */
	uint32_t header_size;    /* JST_SHM_HEADER_SIZE */
	uint64_t layout;         /* JST_SHM_LAYOUT: descriptor computed from sizes */
	uint64_t segment_size;   /* bytes; the file is exactly this size */
	uint32_t state;          /* JST_SHM_STATE_*: written last (release) */
	uint32_t flags;          /* reserved, 0 */

	/* Geometry, fixed at creation. */
	uint32_t capacity;       /* job slots */
	uint32_t index_size;     /* entries per index copy, power of two >= 2 * capacity */
	uint32_t log_size;       /* change log entries, power of two */
	uint32_t reserved0;
	uint64_t refs_offset;    /* uint64_t status_refs[capacity] */
	uint64_t jobs_offset;    /* struct jst_shm_job jobs[capacity] */
	uint64_t index_offset[2]; /* uint64_t index[2][index_size] */
	uint64_t log_offset;     /* uint64_t log[log_size] */
	struct jst_shm_pool pools[JST_POOL_COUNT];
	uint64_t grace_ns;       /* the writer's reuse delay for retired versions */

	/* Daemon identity: rewritten, with state INIT, when a daemon adopts the segment. */
	uint64_t daemon_pid;
	uint64_t daemon_birth_ns; /* CLOCK_REALTIME when that daemon started */
	uint64_t generation;      /* 1 at creation, +1 at every daemon start */
	uint64_t created_ns;      /* CLOCK_REALTIME when the segment was created */
	/*
	 * Per pool, blocks [1, pool_used) have been used at least once. For the
	 * writer that adopts the segment after a crash; informational to readers.
	 */
	uint32_t pool_used[JST_POOL_COUNT];
	uint8_t reserved1[64 - 8 - 4 * JST_POOL_COUNT];

	/* Hot words, one cache line each. Writer: daemon. Readers: all. */
	uint64_t heartbeat_ns __attribute__((aligned(64))); /* CLOCK_MONOTONIC */
	uint8_t pad_hb[56];
	uint64_t change_seq;     /* last published change; log entry change_seq % log_size */
	uint32_t change_futex;   /* (uint32_t)change_seq, stored after it: the futex word */
	uint8_t pad_seq[52];
	uint64_t index_gen;      /* current index copy is index_gen & 1; see PROTOCOL.md */
	uint32_t slot_hwm;       /* slots [0, slot_hwm) have been used at least once */
	uint32_t njobs;          /* live jobs (informational) */
	uint8_t pad_idx[48];

	/* 1.2: the cumulative counters; zeroes in a segment made by an older daemon. */
	struct jst_shm_counters counters __attribute__((aligned(64)));

	/*
	 * 1.5: the status ring, geometry fixed at creation like the rest. Read
	 * only when version_minor >= 5; both 0: no ring (a segment made before
	 * 1.5, adopted or not). See struct jst_shm_status's change_seq and
	 * PROTOCOL.md, "The status ring".
	 */
	uint64_t ring_offset;    /* struct jst_shm_status ring[ring_size]; 0 = no ring */
	uint32_t ring_size;      /* entries, a power of two <= log_size; 0 = no ring */
	uint32_t ring_reserved0; /* 0 */

	uint8_t reserved[JST_SHM_HEADER_SIZE - 448 - 2432 - 16];
};

/*
 * A job slot: the identity of the job that occupies it. Rewritten in place
 * only when the slot is reused, which happens after the reuse delay and under
 * the gen seqcount (odd while free or being rewritten).
 * Writer: daemon. Readers: lookup (compares instance_id under gen).
 */
struct jst_shm_job {
	uint32_t gen;            /* even: occupied by incarnation gen; odd: free */
	uint32_t id_len;         /* bytes of instance_id, NUL excluded */
	uint64_t id_hash;        /* jst_shm_hash(instance_id) */
	/* Right after gen: an ID of up to 47 bytes is compared within one cache line. */
	char instance_id[JST_SHM_ID_MAX + 1]; /* NUL-terminated */
	uint8_t reserved[48];
};

/* flags of a status version */
#define JST_SHM_F_DELETE_ON_COMPLETION 0x01u
#define JST_SHM_F_CANCELLABLE          0x02u
#define JST_SHM_F_DO_ERROR             0x04u /* 1.1: a transfer job's error object exists
						 (entered ERROR or TRANSIENT_ERROR and has not
						 been TRANSFERRING since) */

/*
 * One version of a job's status: the hot, fixed-size part a monitor polls.
 * Written once by the daemon into a block no reader can have a reference to,
 * then published by a release store of its ref into status_refs[slot].
 * Times are nanoseconds (CLOCK_REALTIME for instants, 0 = NULL).
 */
struct jst_shm_status {
	uint32_t stamp;          /* block incarnation: see PROTOCOL.md */
	uint32_t slot;           /* the job slot this version belongs to */
	uint32_t job_gen;        /* the slot incarnation (jst_shm_job.gen) */
	uint16_t job_state;      /* CIM JobState */
	uint16_t percent_complete; /* 0..100, 101 = undefined */
	uint64_t change_seq;     /* the change that published this version */
	jst_shm_ref detail_ref;  /* strings and error refs; 0 = none yet */
	uint16_t op_status[JST_SHM_OPSTATUS_MAX]; /* CIM OperationalStatus[] */
	uint8_t n_op_status;
	uint8_t flags;           /* JST_SHM_F_* */
	uint16_t error_code;     /* CIM ErrorCode, 0 = none */
	uint16_t recovery_action;
	uint16_t job_type;       /* Msvm_ConcreteJob JobType */
	uint32_t priority;       /* lower = more urgent */
	uint16_t transfer_state; /* BITS-style state + 1 for transfer jobs, 0 otherwise */
	uint16_t n_errors;       /* retained errors (<= JST_SHM_ERRORS_KEPT) */
	uint64_t time_submitted;
	uint64_t start_time;
	uint64_t time_of_last_state_change;
	uint64_t elapsed_ns;     /* ElapsedTime as of this version */
	uint64_t time_before_removal_ns; /* an interval */
	uint32_t owner_uid;
	uint32_t errors_total;   /* errors ever reported for this job */
	uint64_t producer_session; /* jobstatd's session that owns the job (1.1; 0 before) */
	uint64_t last_request;   /* 1.4: the last client request applied to the job and its
				    answer (jst_req_record() in proto/): exactly-once answers
				    to requests resent across a daemon restart; 0 before */
};

/* A string in a detail or error block: bytes [off, off + len) of its data, then a NUL. */
struct jst_shm_str {
	uint32_t off;            /* from the start of the block's data[] */
	uint32_t len;            /* JST_SHM_STR_NULL for a NULL value */
};

/* String table of a detail block. */
enum {
	JST_DSTR_NAME = 0,
	JST_DSTR_JOB_STATUS,
	JST_DSTR_ERROR_DESCRIPTION,
	JST_DSTR_OWNER,
	JST_DSTR_NOTIFY,
	JST_DSTR_ERROR_SUMMARY,
	JST_DSTR_OTHER_RECOVERY_ACTION,
	JST_DSTR_STATUS_DESCRIPTIONS, /* JST_SHM_OPSTATUS_MAX entries from here */
	JST_DSTR_COUNT = JST_DSTR_STATUS_DESCRIPTIONS + JST_SHM_OPSTATUS_MAX,
};

/*
 * A job's strings and its retained errors: changes far less often than the
 * status, so a status version points at one. Same publication rules as a
 * status block; lives in a DETAIL_SMALL or DETAIL_LARGE block.
 */
struct jst_shm_detail {
	uint32_t stamp;
	uint32_t used;           /* bytes of data[] in use */
	uint32_t slot;
	uint32_t job_gen;
	jst_shm_ref error_refs[JST_SHM_ERRORS_KEPT]; /* oldest first; 0 = none */
	uint16_t n_errors;
	uint16_t n_status_descriptions;
	uint32_t ext_len;        /* 1.5: bytes of the extension record at data[0] (struct
				    jst_shm_detail_ext, JST_SHM_DETAIL_EXT_SIZE or more, a
				    multiple of 8); 0 = none, every property at its default
				    (reserved, always 0, before 1.5) */
	struct jst_shm_str str[JST_DSTR_COUNT];
	uint64_t reserved[4];
	char data[];             /* [ext record], then strings, each followed by a NUL */
};

/* String table of a detail's extension record (1.5). */
enum {
	JST_XSTR_ELEMENT_NAME = 0,
	JST_XSTR_CAPTION,
	JST_XSTR_DESCRIPTION,
	JST_XSTR_COUNT,
};

/*
 * The extension record of a detail version (format 1.5): CIM_Job's schedule
 * properties and CIM_ManagedElement's strings, which the status block (full)
 * and the 1.4 detail header have no room for. It sits at the start of the
 * detail's data[], so the detail's strings follow it; a 1.4 reader never
 * looks there (its string entries point past it) and ignores ext_len.
 * A record longer than this one (a later minor) is read for the bytes
 * known here. Writer: daemon, inside the detail version (same stamp).
 * Readers: jst_job_ext(). Times are ns since the epoch, 0 = NULL.
 */
struct jst_shm_detail_ext {
	uint64_t scheduled_start_time; /* CIM_Job ScheduledStartTime */
	uint64_t until_time;     /* CIM_Job UntilTime */
	uint32_t job_run_times;  /* CIM_Job JobRunTimes (0 = until the job is deleted) */
	uint16_t local_or_utc_time; /* CIM_Job LocalOrUtcTime: 1 Local, 2 UTC, 0 = NULL */
	uint16_t reserved0;
	struct jst_shm_str str[JST_XSTR_COUNT]; /* offsets in the detail's data[] */
	uint64_t reserved[2];
};
#define JST_SHM_DETAIL_EXT_SIZE 64u

/* String table of an error block: the CIM_Error strings, then the two arrays. */
enum {
	JST_ESTR_OTHER_ERROR_TYPE = 0,
	JST_ESTR_OWNING_ENTITY,
	JST_ESTR_MESSAGE_ID,
	JST_ESTR_MESSAGE,
	JST_ESTR_PROBABLE_CAUSE_DESCRIPTION,
	JST_ESTR_ERROR_SOURCE,
	JST_ESTR_OTHER_ERROR_SOURCE_FORMAT,
	JST_ESTR_CIM_STATUS_CODE_DESCRIPTION,
	JST_ESTR_FILE,           /* Delivery Optimization: the file being transferred */
	JST_ESTR_MESSAGE_ARGUMENTS,   /* JST_SHM_ERROR_ARGS_MAX entries from here */
	JST_ESTR_RECOMMENDED_ACTIONS = JST_ESTR_MESSAGE_ARGUMENTS + JST_SHM_ERROR_ARGS_MAX,
	JST_ESTR_COUNT = JST_ESTR_RECOMMENDED_ACTIONS + JST_SHM_ERROR_ARGS_MAX,
};

/*
 * One CIM_Error, immutable once published (a job's errors are only appended
 * and dropped, never edited). Lives in an ERROR block.
 */
struct jst_shm_error {
	uint32_t stamp;
	uint32_t used;           /* bytes of data[] in use */
	uint32_t slot;
	uint32_t job_gen;
	uint64_t time;           /* CLOCK_REALTIME ns when reported */
	uint32_t sequence;       /* 1-based: the job's errors_total when reported */
	uint32_t cim_status_code;
	uint16_t error_type;
	uint16_t perceived_severity;
	uint16_t probable_cause;
	uint16_t error_source_format;
	uint16_t n_message_arguments;
	uint16_t n_recommended_actions;
	uint16_t context;        /* Delivery Optimization BG_ERROR_CONTEXT */
	uint16_t job_state;      /* JobState when the error was reported */
	uint32_t hresult;        /* Delivery Optimization error code */
	uint32_t reserved0;
	struct jst_shm_str str[JST_ESTR_COUNT];
	uint64_t reserved[4];
	char data[];
};

#define JST_SHM_DETAIL_DATA_SMALL (JST_SHM_DETAIL_SMALL - sizeof(struct jst_shm_detail))
#define JST_SHM_DETAIL_DATA_LARGE (JST_SHM_DETAIL_LARGE - sizeof(struct jst_shm_detail))
#define JST_SHM_ERROR_DATA        (JST_SHM_ERROR_BLOCK - sizeof(struct jst_shm_error))

/*
 * The layout descriptor: every shared struct's size and the offsets that
 * readers depend on, folded into one number (as LMDB's MDB_LOCK_FORMAT). A
 * reader compiled against another layout sees a different value.
 */
#define JST_SHM_LAYOUT_MIX(h, v) (((h) ^ (uint64_t)(v)) * UINT64_C(0x100000001b3))
#define JST_SHM_LAYOUT                                                                         \
	JST_SHM_LAYOUT_MIX(                                                                    \
		JST_SHM_LAYOUT_MIX(                                                            \
			JST_SHM_LAYOUT_MIX(                                                    \
				JST_SHM_LAYOUT_MIX(                                            \
					JST_SHM_LAYOUT_MIX(                                    \
						JST_SHM_LAYOUT_MIX(UINT64_C(0xcbf29ce484222325), \
								   sizeof(struct jst_shm_header)), \
						sizeof(struct jst_shm_job)),                   \
					sizeof(struct jst_shm_status)),                        \
				sizeof(struct jst_shm_detail)),                                \
			sizeof(struct jst_shm_error)),                                         \
		offsetof(struct jst_shm_header, change_seq) << 16 |                            \
			offsetof(struct jst_shm_status, detail_ref))

/* ---- protocol primitives, used by both sides ---------------------------------------- */

/*
 * A detail reference names a block of the DETAIL_LARGE pool when its index
 * has this bit set, of DETAIL_SMALL otherwise (so detail pools hold < 2^31 blocks).
 */
#define JST_SHM_REF_LARGE UINT32_C(0x80000000)

static inline jst_shm_ref jst_shm_ref_make(uint32_t stamp, uint32_t index)
{
	return (uint64_t)stamp << 32 | index;
}

static inline uint32_t jst_shm_ref_index(jst_shm_ref ref)
{
	return (uint32_t)ref;
}

static inline uint32_t jst_shm_ref_stamp(jst_shm_ref ref)
{
	return (uint32_t)(ref >> 32);
}

/*
 * Index entries: 0 = empty, low word JST_SHM_IDX_TOMB = removed, otherwise
 * (high 32 bits of the hash) << 32 | slot.
 */
#define JST_SHM_IDX_EMPTY UINT64_C(0)
#define JST_SHM_IDX_TOMB  UINT32_C(0xFFFFFFFF)

static inline uint64_t jst_shm_idx_make(uint64_t hash, uint32_t slot)
{
	return (hash & UINT64_C(0xFFFFFFFF00000000)) | slot;
}

/* Change log entries: (low 32 bits of the change sequence) << 32 | slot. */
static inline uint64_t jst_shm_log_make(uint64_t seq, uint32_t slot)
{
	return (uint64_t)(uint32_t)seq << 32 | slot;
}

/*
 * The status ring (1.5): entry seq % ring_size holds the status version that
 * change seq published (for a removal: zeroes but for slot and change_seq),
 * so a monitor following the log reads the changed statuses in order,
 * sequentially, instead of chasing each job's reference. An entry's
 * change_seq is its version: JST_SHM_RING_BUSY while the writer rewrites it,
 * then seq. A reader that expects seq and loads anything else, before or
 * after its copy, was lapped (or raced the rewrite) and reads the job's
 * reference instead. Writer: jst_pub's ring_put(); reader: jst_changed().
 */
#define JST_SHM_RING_BUSY UINT64_C(0)

/*
 * jst_shm_hash - the InstanceID hash both sides use for the index.
 * A 64-bit multiply-xorshift over 8-byte words; fast for the short keys of
 * OrgID:LocalID and well mixed in the high bits (the index tag) and the low
 * bits (the bucket).
 */
static inline uint64_t jst_shm_hash(const char *s, size_t len)
{
	const uint64_t m = UINT64_C(0x9E3779B97F4A7C15);
	uint64_t h = UINT64_C(0x6A09E667F3BCC909) ^ (len * m);
	uint64_t w;

	while (len >= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * m;
		h ^= h >> 29;
		s += 8;
		len -= 8;
	}
	w = 0;
	memcpy(&w, s, len);
	h = (h ^ w) * m;
	h ^= h >> 32;
	h *= UINT64_C(0xD6E8FEB86659FD93);
	h ^= h >> 32;
	return h;
}

/* The address of block `index` of pool `pool`; the caller has range-checked index. */
static inline void *jst_shm_block(const void *base, const struct jst_shm_pool *pool,
				  uint32_t index)
{
	return (char *)base + pool->offset + (uint64_t)index * pool->block_size;
}

/* ---- frozen offsets ----------------------------------------------------------------- */
/* These offsets are frozen for JST_SHM_VERSION_MAJOR 1. Do not edit; bump the major. */
_Static_assert(sizeof(struct jst_shm_pool) == 16, "pool size frozen");
_Static_assert(sizeof(struct jst_shm_header) == JST_SHM_HEADER_SIZE, "header size frozen");
_Static_assert(offsetof(struct jst_shm_header, magic) == 0, "magic first");
_Static_assert(offsetof(struct jst_shm_header, version_major) == 8, "frozen");
_Static_assert(offsetof(struct jst_shm_header, version_minor) == 10, "frozen");
_Static_assert(offsetof(struct jst_shm_header, header_size) == 12, "frozen");
_Static_assert(offsetof(struct jst_shm_header, layout) == 16, "frozen");
_Static_assert(offsetof(struct jst_shm_header, segment_size) == 24, "frozen");
_Static_assert(offsetof(struct jst_shm_header, state) == 32, "frozen");
_Static_assert(offsetof(struct jst_shm_header, capacity) == 40, "frozen");
_Static_assert(offsetof(struct jst_shm_header, refs_offset) == 56, "frozen");
_Static_assert(offsetof(struct jst_shm_header, jobs_offset) == 64, "frozen");
_Static_assert(offsetof(struct jst_shm_header, index_offset) == 72, "frozen");
_Static_assert(offsetof(struct jst_shm_header, log_offset) == 88, "frozen");
_Static_assert(offsetof(struct jst_shm_header, pools) == 96, "frozen");
_Static_assert(offsetof(struct jst_shm_header, grace_ns) == 160, "frozen");
_Static_assert(offsetof(struct jst_shm_header, daemon_pid) == 168, "frozen");
_Static_assert(offsetof(struct jst_shm_header, generation) == 184, "frozen");
_Static_assert(offsetof(struct jst_shm_header, pool_used) == 200, "frozen");
_Static_assert(offsetof(struct jst_shm_header, heartbeat_ns) == 256, "frozen");
_Static_assert(offsetof(struct jst_shm_header, change_seq) == 320, "frozen");
_Static_assert(offsetof(struct jst_shm_header, change_futex) == 328, "frozen");
_Static_assert(offsetof(struct jst_shm_header, index_gen) == 384, "frozen");
_Static_assert(offsetof(struct jst_shm_header, slot_hwm) == 392, "frozen");
_Static_assert(offsetof(struct jst_shm_header, counters) == 448, "frozen (1.2)");
_Static_assert(offsetof(struct jst_shm_header, ring_offset) == 448 + 2432, "frozen (1.5)");
_Static_assert(offsetof(struct jst_shm_header, ring_size) == 448 + 2432 + 8, "frozen (1.5)");
_Static_assert(offsetof(struct jst_shm_header, reserved) == 448 + 2432 + 16, "frozen (1.5)");
_Static_assert(sizeof(struct jst_shm_ctr_type) == 64, "frozen (1.2)");
_Static_assert(sizeof(struct jst_shm_counters) == 2432, "frozen (1.2)");
_Static_assert(offsetof(struct jst_shm_counters, errors) == 16, "frozen (1.2)");
_Static_assert(offsetof(struct jst_shm_counters, rsc) == 144, "frozen (1.2)");
_Static_assert(offsetof(struct jst_shm_counters, refusals) == 272, "frozen (1.2)");
_Static_assert(offsetof(struct jst_shm_counters, connections) == 336, "frozen (1.2)");
_Static_assert(offsetof(struct jst_shm_counters, pool_in_use) == 344, "frozen (1.2)");
_Static_assert(offsetof(struct jst_shm_counters, gauges_ns) == 360, "frozen (1.2)");
_Static_assert(offsetof(struct jst_shm_counters, types) == 384, "frozen (1.2)");
_Static_assert(offsetof(struct jst_shm_ctr_type, finished) == 8, "frozen (1.2)");
_Static_assert(JST_SHM_REFUSE_COUNT <= JST_SHM_CTR_REFUSALS, "refusal reasons fit");
_Static_assert(JST_SHM_CTR_RSC_OTHER < JST_SHM_CTR_RSC, "result buckets fit");
_Static_assert(__builtin_bswap64(JST_SHM_MAGIC) == JST_SHM_MAGIC_SWAPPED, "swapped magic");
_Static_assert(sizeof(struct jst_shm_job) == JST_SHM_JOB_SIZE, "job slot size frozen");
_Static_assert(offsetof(struct jst_shm_job, instance_id) == 16, "frozen");
_Static_assert(sizeof(struct jst_shm_status) == JST_SHM_STATUS_SIZE, "status size frozen");
_Static_assert(offsetof(struct jst_shm_status, change_seq) == 16, "frozen");
_Static_assert(offsetof(struct jst_shm_status, detail_ref) == 24, "frozen");
_Static_assert(offsetof(struct jst_shm_status, op_status) == 32, "frozen");
_Static_assert(offsetof(struct jst_shm_status, priority) == 56, "frozen");
_Static_assert(offsetof(struct jst_shm_status, time_submitted) == 64, "frozen");
_Static_assert(offsetof(struct jst_shm_status, owner_uid) == 104, "frozen");
_Static_assert(sizeof(struct jst_shm_str) == 8, "frozen");
_Static_assert(offsetof(struct jst_shm_detail, error_refs) == 16, "frozen");
_Static_assert(offsetof(struct jst_shm_detail, str) == 88, "frozen");
_Static_assert(sizeof(struct jst_shm_detail) == 88 + 8 * JST_DSTR_COUNT + 32, "frozen");
_Static_assert(offsetof(struct jst_shm_detail, ext_len) == 84, "frozen (1.5)");
_Static_assert(sizeof(struct jst_shm_detail_ext) == JST_SHM_DETAIL_EXT_SIZE, "frozen (1.5)");
_Static_assert(offsetof(struct jst_shm_detail_ext, str) == 24, "frozen (1.5)");
_Static_assert(JST_SHM_DETAIL_EXT_SIZE % 8 == 0, "strings after the record stay aligned");
_Static_assert(offsetof(struct jst_shm_error, str) == 56, "frozen");
_Static_assert(sizeof(struct jst_shm_error) == 56 + 8 * JST_ESTR_COUNT + 32, "frozen");
_Static_assert(JST_SHM_ERROR_DATA >= 16384, "an error carries at least 16 KiB of text");
_Static_assert(JST_SHM_DETAIL_SMALL % 64 == 0 && JST_SHM_DETAIL_LARGE % 64 == 0 &&
		       JST_SHM_ERROR_BLOCK % 64 == 0 && JST_SHM_STATUS_SIZE % 64 == 0,
	       "blocks are whole cache lines");

#endif /* JOBSTAT_SHM_H */
