/* SPDX-License-Identifier: MIT */
/*
 * jobstat-proto.h - the one definition of jobstatd's control protocol: the
 * messages producers and controlling clients exchange with the daemon over
 * its Unix socket, and their encoder and validating decoder, shared by both
 * sides. Internal: not installed (the public API is jobstat.h).
 *
 * Transport: an AF_UNIX SOCK_SEQPACKET socket, so every message is one
 * packet and a short or long read cannot split or merge messages. A message
 * is a 16-byte header and a body of at most JST_MSG_MAX - 16 bytes, all
 * integers in host byte order (the socket never leaves the machine). Strings
 * travel as a u32 length (JST_WIRE_NULL for NULL), the bytes and a NUL; the
 * decoder refuses a missing NUL or an embedded one. Every reply begins with
 * an i32 result code; a failed request's reply carries a string saying what
 * was wrong and nothing else.
 *
 * Version: the header's version must equal JST_PROTO_VERSION. A message of
 * another version gets a JST_EPROTOVERSION reply (in this version's format,
 * naming the version spoken); a message whose magic is wrong is garbage and
 * the daemon closes the connection.
 */
#ifndef JOBSTAT_PROTO_H
#define JOBSTAT_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "jobstat.h"

#define JST_PROTO_MAGIC   0x5054534au /* "JSTP" in memory on a little-endian host */
#define JST_PROTO_VERSION 1
#define JST_MSG_MAX       (64 * 1024) /* header included */
#define JST_MSG_HDR_SIZE  16
#define JST_WIRE_NULL     0xffffffffu
#define JST_BATCH_MAX     1024        /* update records in one UPDATE message */
#define JST_GET_MAX       256         /* handles in one GET message */
#define JST_DETAIL_MAX    256         /* the explanation string of a failed reply */

enum jst_msg_type {
	JST_MSG_HELLO = 1,       /* first message of a connection: who, which session */
	JST_MSG_CREATE = 2,      /* create a job */
	JST_MSG_UPDATE = 3,      /* a batch of updates */
	JST_MSG_ERROR = 4,       /* report a CIM_Error, optionally failing the job */
	JST_MSG_REMOVE = 5,      /* remove a job */
	JST_MSG_REQUEST = 6,     /* RequestStateChange, from any client */
	JST_MSG_EVENT = 7,       /* daemon -> owning producer: a state change was requested */
	JST_MSG_EVENT_REPLY = 8, /* producer -> daemon: the CIM code its handler returned */
	JST_MSG_GET = 9,         /* read statuses by handle: the same query over the socket */
	JST_MSG_GET_BY_ID = 10,  /* read a status by InstanceID */
	JST_MSG_GET_ERROR = 11,  /* read one retained error */
	JST_MSG_STATS = 12,      /* the daemon's own bookkeeping, for leak tests and operators */
	JST_MSG_QUOTA = 13,      /* what uids hold against their quotas (all for the admin) */
	JST_MSG_PROPS = 14,      /* set a job's producer-settable properties (struct jst_job_props) */
	JST_MSG_TYPE_COUNT,
	JST_MSG_RESENT = 0x4000, /* or-ed into a request the library sends again after the
				    daemon was lost: same id, and the daemon answers it as the
				    first copy was answered if that was applied (exactly once) */
	JST_MSG_REPLY = 0x8000,  /* or-ed into the request's type; the id is the request's */
};

struct jst_msg_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint32_t id;             /* chosen by the requester, echoed in the reply */
	uint32_t len;            /* header + body; must equal the packet's length */
};
_Static_assert(sizeof(struct jst_msg_hdr) == JST_MSG_HDR_SIZE, "wire header is 16 bytes");

#define JST_HELLO_PRODUCER 0x1   /* this connection creates jobs and takes their events */

/* Create flags on the wire. */
#define JST_CREATE_DELETE_ON_COMPLETION 0x1
#define JST_CREATE_CANCELLABLE          0x2
#define JST_CREATE_HAS_TBR              0x4 /* time_before_removal_ns is given */
#define JST_CREATE_RETRY                0x8 /* a resend: an existing job of this session
					       with this InstanceID is the answer */
#define JST_CREATE_TRANSFER             0x10 /* a transfer job (starts SUSPENDED) */

/*
 * Decoded messages. Strings point into the packet they were decoded from
 * (NUL-terminated there); they live as long as that buffer.
 */
struct jst_msg_hello {
	uint32_t flags;
	uint64_t session;        /* 0: a new session; else reclaim that session's jobs */
	uint64_t token;          /* the client's random identity for exactly-once answers
				    (a producer's is its session); optional on the wire: 0 when
				    absent */
};

struct jst_msg_hello_reply {
	uint64_t session;
	uint64_t generation;
	uint32_t reclaimed;      /* jobs of the session given back to this connection */
	uint32_t uid;            /* as the daemon saw the peer */
};

struct jst_msg_create {
	const char *instance_id; /* NULL: the daemon generates one */
	const char *name, *owner, *notify, *job_status;
	uint16_t job_type;
	uint16_t initial_state;
	uint32_t priority;
	uint32_t flags;          /* JST_CREATE_* */
	uint64_t time_before_removal_ns;
};

struct jst_msg_create_reply {
	jst_handle handle;
	const char *instance_id;
};

struct jst_msg_remove {
	jst_handle handle;
	uint32_t flags;          /* JST_REMOVE_* (jobstat.h) */
};

/*
 * PROPS: the handle, then every field of struct jst_job_props whatever @set
 * says (the daemon validates them with jst_job_props_validate()); its reply
 * has no body.
 */
struct jst_msg_props {
	jst_handle handle;
	struct jst_job_props p;  /* strings point into the packet */
};

struct jst_msg_request {
	const char *instance_id;
	uint16_t requested_state;
	uint64_t timeout_ns;
};

struct jst_msg_event {
	uint32_t event_id;
	struct jst_request rq;   /* instance_id points into the packet */
};

struct jst_msg_event_reply {
	uint32_t event_id;
	uint32_t cim;
};

/*
 * Replies. Every reply is the request's type | JST_MSG_REPLY with its id, an
 * i32 result code, and then: for a failure, a string saying what was wrong
 * (jst_enc_fail()) and nothing else; for a success, the body below. UPDATE's
 * reply is the exception: whatever the code, the explanation (NULL on
 * success) and a result per record follow. The decoders take a buffer
 * positioned after the code (and after the explanation, for UPDATE, which
 * the reader of the code consumes).
 */
struct jst_msg_update_reply {
	uint32_t n;              /* records */
	int16_t codes[JST_BATCH_MAX]; /* each record's result */
};

struct jst_msg_remove_reply {
	uint64_t when;           /* CLOCK_REALTIME of the removal */
};

struct jst_msg_request_reply {
	uint32_t cim;            /* the RequestStateChange return code */
};

/*
 * The read messages exist for clients that cannot map the segment and for the
 * benchmark's syscall route: GET carries u32 n and n (slot, gen) pairs, and
 * its reply u32 n and, per handle, an i32 code and the 128 status bytes;
 * GET_BY_ID a string, its reply the status bytes; GET_ERROR (slot, gen, u32
 * index), its reply the error as ERROR carries it. STATS has no body; its
 * reply is u32 connections, sessions, timers, pending requests and u64 heap
 * bytes in use (mallinfo2).
 */

/*
 * An output buffer with room for one message. Encoding past JST_MSG_MAX sets
 * overflow instead of writing; jst_wire_finish() then fails with JST_EMSGSIZE.
 */
struct jst_wbuf {
	uint8_t buf[JST_MSG_MAX];
	size_t len;
	bool overflow;
};

/* A cursor over a received body. Any read past its end sets bad and yields zeros. */
struct jst_rbuf {
	const uint8_t *p;
	size_t len, off;
	bool bad;
};

/* ---- encoding ---- */
void jst_wire_begin(struct jst_wbuf *w, uint16_t type, uint32_t id);
void jst_wire_u8(struct jst_wbuf *w, uint8_t v);
void jst_wire_u16(struct jst_wbuf *w, uint16_t v);
void jst_wire_u32(struct jst_wbuf *w, uint32_t v);
void jst_wire_u64(struct jst_wbuf *w, uint64_t v);
void jst_wire_str(struct jst_wbuf *w, const char *s);
/* @n raw bytes (a struct jst_status: both ends are this machine). */
void jst_wire_bytes(struct jst_wbuf *w, const void *p, size_t n);
/* Fix the length into the header. Return: 0; JST_EMSGSIZE. */
int jst_wire_finish(struct jst_wbuf *w);

void jst_enc_hello(struct jst_wbuf *w, uint32_t id, const struct jst_msg_hello *m);
void jst_enc_create(struct jst_wbuf *w, uint32_t id, const struct jst_msg_create *m);
/* Append one update record; the caller wrote the count first. */
void jst_enc_update_rec(struct jst_wbuf *w, const struct jst_update *u);
void jst_enc_error(struct jst_wbuf *w, uint32_t id, jst_handle h, bool fail,
		   const struct jst_error *e);
void jst_enc_remove(struct jst_wbuf *w, uint32_t id, const struct jst_msg_remove *m);
void jst_enc_request(struct jst_wbuf *w, uint32_t id, const struct jst_msg_request *m);
void jst_enc_props(struct jst_wbuf *w, uint32_t id, const struct jst_msg_props *m);
void jst_enc_event(struct jst_wbuf *w, const struct jst_msg_event *m);
void jst_enc_event_reply(struct jst_wbuf *w, const struct jst_msg_event_reply *m);
/* A failed reply: the code and what was wrong. */
void jst_enc_fail(struct jst_wbuf *w, uint16_t type, uint32_t id, int rc, const char *detail);

/* Successful replies (code 0 and a body); see "Replies" above. */
void jst_enc_reply_ok(struct jst_wbuf *w, uint16_t type, uint32_t id); /* no body (ERROR) */
void jst_enc_reply_hello(struct jst_wbuf *w, uint32_t id, const struct jst_msg_hello_reply *m);
void jst_enc_reply_create(struct jst_wbuf *w, uint32_t id, const struct jst_msg_create_reply *m);
/* UPDATE: @rc the first failure (or 0), @why what it was (NULL when 0). */
void jst_enc_reply_update(struct jst_wbuf *w, uint32_t id, int rc, const char *why,
			  const struct jst_msg_update_reply *m);
void jst_enc_reply_remove(struct jst_wbuf *w, uint32_t id, const struct jst_msg_remove_reply *m);
void jst_enc_reply_request(struct jst_wbuf *w, uint32_t id, const struct jst_msg_request_reply *m);
void jst_enc_reply_stats(struct jst_wbuf *w, uint32_t id, const struct jst_daemon_stats *m);
/* QUOTA: the count (at most JST_QUOTA_MAX), then jst_enc_reply_quota_item() that many times. */
#define JST_QUOTA_MAX 1024
void jst_enc_reply_quota(struct jst_wbuf *w, uint32_t id, uint32_t n);
void jst_enc_reply_quota_item(struct jst_wbuf *w, const struct jst_quota_use *q);
/* GET: the count, then jst_enc_reply_get_item() that many times. */
void jst_enc_reply_get(struct jst_wbuf *w, uint32_t id, uint32_t n);
void jst_enc_reply_get_item(struct jst_wbuf *w, int rc, const struct jst_status *st);
void jst_enc_reply_get_by_id(struct jst_wbuf *w, uint32_t id, const struct jst_status *st);
void jst_enc_reply_get_error(struct jst_wbuf *w, uint32_t id, const struct jst_error *e);

/* ---- decoding ---- */
/*
 * jst_wire_check() - validate a received packet's header.
 * @pkt, @n: the packet as received; @truncated: recvmsg said MSG_TRUNC.
 * @ret_hdr: the header, filled whenever at least 16 bytes arrived.
 *
 * Return: 0; JST_EPROTO when it is not one of ours (short, wrong magic:
 * garbage, close the connection); JST_EMSGSIZE (too long, answerable);
 * JST_EPROTOVERSION; JST_EINVAL when its length field disagrees with the
 * packet (answerable: the header is ours).
 */
int jst_wire_check(const uint8_t *pkt, size_t n, bool truncated, struct jst_msg_hdr *ret_hdr);

void jst_rbuf_init(struct jst_rbuf *r, const uint8_t *pkt, size_t n);
uint8_t jst_rd_u8(struct jst_rbuf *r);
uint16_t jst_rd_u16(struct jst_rbuf *r);
uint32_t jst_rd_u32(struct jst_rbuf *r);
uint64_t jst_rd_u64(struct jst_rbuf *r);
const char *jst_rd_str(struct jst_rbuf *r);
/* Return: 0 when the whole body was consumed without a bad read; JST_EPROTO. */
int jst_rd_end(const struct jst_rbuf *r);

/* Each returns 0 or JST_EPROTO (truncated, trailing bytes, bad string, count out of range). */
int jst_dec_hello(struct jst_rbuf *r, struct jst_msg_hello *m);
int jst_dec_create(struct jst_rbuf *r, struct jst_msg_create *m);
/* The record count of an UPDATE body; then jst_dec_update_rec() that many times. */
int jst_dec_update_count(struct jst_rbuf *r, uint32_t *ret_n);
int jst_dec_update_rec(struct jst_rbuf *r, struct jst_update *u);
int jst_dec_error(struct jst_rbuf *r, jst_handle *ret_h, bool *ret_fail, struct jst_error *e);
int jst_dec_remove(struct jst_rbuf *r, struct jst_msg_remove *m);
int jst_dec_request(struct jst_rbuf *r, struct jst_msg_request *m);
int jst_dec_props(struct jst_rbuf *r, struct jst_msg_props *m);
int jst_dec_event(struct jst_rbuf *r, struct jst_msg_event *m);
int jst_dec_event_reply(struct jst_rbuf *r, struct jst_msg_event_reply *m);

/* Reply bodies; each returns 0 or JST_EPROTO (truncated, trailing bytes, counts). */
int jst_dec_reply_hello(struct jst_rbuf *r, struct jst_msg_hello_reply *m);
int jst_dec_reply_create(struct jst_rbuf *r, struct jst_msg_create_reply *m);
int jst_dec_reply_update(struct jst_rbuf *r, struct jst_msg_update_reply *m);
int jst_dec_reply_remove(struct jst_rbuf *r, struct jst_msg_remove_reply *m);
int jst_dec_reply_request(struct jst_rbuf *r, struct jst_msg_request_reply *m);
int jst_dec_reply_stats(struct jst_rbuf *r, struct jst_daemon_stats *m);
int jst_dec_reply_quota(struct jst_rbuf *r, uint32_t *ret_n);
int jst_dec_reply_quota_item(struct jst_rbuf *r, struct jst_quota_use *q);
/* GET: the count (1..JST_GET_MAX), then jst_dec_reply_get_item() that many times. */
int jst_dec_reply_get(struct jst_rbuf *r, uint32_t *ret_n);
int jst_dec_reply_get_item(struct jst_rbuf *r, int *ret_rc, struct jst_status *st);
int jst_dec_reply_get_by_id(struct jst_rbuf *r, struct jst_status *st);

/* The fields of a CIM_Error, as ERROR and GET_ERROR's reply carry them. */
void jst_enc_error_body(struct jst_wbuf *w, const struct jst_error *e);
int jst_dec_error_body(struct jst_rbuf *r, struct jst_error *e);

/*
 * The record of the last request applied to a job on a client's behalf, kept
 * in the job's status (its reserved word) so it survives kill -9: the low 24
 * bits of the client's token and of the request id, and the answer (0xFFFF:
 * none recorded). A resent request matching it is not applied again.
 */
#define JST_REQ_NO_ANSWER 0xFFFFu
static inline uint64_t jst_req_record(uint64_t token, uint32_t id, uint16_t answer)
{
	return (token & 0xFFFFFF) | (uint64_t)(id & 0xFFFFFF) << 24 | (uint64_t)answer << 48;
}

static inline bool jst_req_record_matches(uint64_t rec, uint64_t token, uint32_t id)
{
	return token && (rec & 0xFFFFFFFFFFFFull) == (jst_req_record(token, id, 0) & 0xFFFFFFFFFFFFull);
}

static inline uint16_t jst_req_record_answer(uint64_t rec)
{
	return (uint16_t)(rec >> 48);
}

/*
 * jst_random_instance_id() - a fresh InstanceID "jobstat:<RFC 4122 v4 UUID>"
 * into @buf (at least 45 bytes), from getrandom().
 */
void jst_random_instance_id(char *buf, size_t n);

/*
 * The filesystem places both sides agree on: the runtime directory
 * (/run/jobstat for root; $XDG_RUNTIME_DIR/jobstat, else /tmp/jobstat-UID)
 * and the socket "<runtime dir>/<namespace>.sock" in it.
 * Return: 0; JST_ETOOLONG; JST_ENAMESPACE.
 */
#define JST_SYSTEM_RUNDIR "/run/jobstat" /* the system daemon's (root's) runtime directory */

/*
 * The user the system daemon serves as once started by root, and whose
 * segments and sockets clients trust besides root's and their own.
 */
#ifndef JST_SERVICE_USER
#define JST_SERVICE_USER "jobstat"
#endif
int jst_runtime_dir(uid_t euid, char *buf, size_t n);
int jst_socket_path(const char *rundir, const char *ns, char *buf, size_t n);

/*
 * jst_rundir_check() - may the runtime directory @path be trusted? It must
 * be a directory (not a link to one), owned by uid @a or @b, and writable by
 * nobody else: otherwise another user could have made it first and planted
 * a socket, a pidfile link or a FIFO in it.
 * Return: 0; JST_ENOENT; JST_ENOTREG; JST_EOWNER; JST_EUNSAFE; JST_ESYS;
 * @why says which, naming the path.
 */
int jst_rundir_check(const char *path, uid_t a, uid_t b, char *why, size_t n);

#endif /* JOBSTAT_PROTO_H */
