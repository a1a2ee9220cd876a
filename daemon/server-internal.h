/* SPDX-License-Identifier: MIT */
/*
 * server-internal.h - what jobstatd's control plane shares between its files:
 * server.c (event loop, connections, dispatch), requests.c (one handler per
 * message: decode, check, apply, reply) and jobs.c (the job rules, sessions,
 * timers and adoption). Internal names carry the jst__ prefix.
 *
 * Authority: every decision is taken from this private state and from the
 * publisher's private table (jst_pub_status(), jst_pub_job(),
 * jst_pub_lookup()); the segment is only written.
 */
#ifndef JOBSTAT_SERVER_INTERNAL_H
#define JOBSTAT_SERVER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include "counters.h"
#include "jobstat-proto.h"
#include "publish.h"
#include "server.h"

#define OUT_QUEUE_MAX 4096 /* replies queued for a client that does not read */

struct outpkt {
	struct outpkt *next;
	uint32_t len;
	uint8_t data[];
};

struct session;

/* One client connection. */
struct conn {
	uint64_t id;             /* unique for the daemon's life: timers name it */
	int fd;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	bool admin;              /* root or a member of the admin group */
	bool hello;
	uint64_t token;          /* the client's identity for exactly-once answers; 0: none */
	bool resent;             /* the request being handled is a resend (JST_MSG_RESENT) */
	bool dead;               /* closed; freed at the end of the loop iteration */
	bool reading;            /* EPOLLIN armed (off while replies are queued or backed off) */
	bool writing;            /* EPOLLOUT armed (on while replies are queued) */
	bool queued;             /* on its uid's ready queue: has unread messages (server.c) */
	bool failed;             /* the message being handled was answered with an error */
	bool refused;            /* ... with JST_EQUOTA or JST_ELIMIT: back off */
	bool backed_off;         /* not read until its T_BACKOFF timer fires */
	uint64_t backoff_ns;     /* its next back-off delay after a refusal; 0 = none */
	struct ready_uid *rq;    /* the ready queue it is on, while queued */
	struct conn *rprev, *rnext;
	unsigned warned;         /* garbage reports logged for this connection */
	struct session *sess;    /* the session this connection speaks for, or NULL */
	struct outpkt *out_head, *out_tail;
	uint32_t out_n;
	struct conn *prev, *next;
};

/*
 * One uid with connections that have unread messages. Each loop turn gives
 * every such uid the same budget of messages, served round-robin across uids
 * and, within a uid, across its connections (server.c, serve_ready()).
 * Invariant: a connection is on at most one queue, its uid's, and only while
 * it is alive, not backed off and has no replies waiting to be sent.
 */
struct ready_uid {
	uid_t uid;
	uint32_t budget;         /* messages it may still have served this turn */
	struct conn *head, *tail;
	struct ready_uid *next;
};

/* A producer's identity across connections: its jobs belong to it. */
struct session {
	uint64_t id;
	uid_t uid;
	struct conn *conn;       /* NULL while disconnected */
	uint32_t njobs;
	uint64_t lost_due;       /* CLOCK_MONOTONIC when its jobs go Lost Communication; 0 = none */
	bool lost_timer;         /* a T_LOST timer is queued: one per session, re-armed */
	bool orphan_timer;       /* a T_ORPHAN timer is queued */
	uint64_t gone_since;     /* CLOCK_MONOTONIC its producer left; 0 while connected */
	struct session *next;
};

/* The daemon's rules' view of one job slot, beside the publisher's record of it. */
struct jobpriv {
	uint32_t gen;            /* the job this belongs to; 0 = no job */
	bool lost;               /* showing Lost Communication; saved[] is what it showed */
	bool pending;            /* a state change request awaits the producer */
	uint8_t n_saved;
	uint16_t saved[JST_OPSTATUS_MAX];
	uint16_t by_state;       /* Terminated/Killed requested by a client (0 = none) */
	uint32_t by_uid;
	int32_t by_pid;
	uint64_t remove_due;     /* CLOCK_MONOTONIC of a scheduled removal; 0 = none */
	bool remove_asked;       /* scheduled by a remove or an orphan's end, not only by
				    DeleteOnCompletion: a PROPS does not unschedule it */
	struct session *sess;
	uid_t owner;             /* whose quota the job and its errors count against */
	uint16_t n_errors;       /* retained errors counted against the owner's quota */
	bool large;              /* its detail is in the large pool: counted against the owner */
	bool orphaned;           /* terminated by the daemon: its producer was gone too long */
	bool do_err;             /* a transfer job: an error was reported since it last
				    transferred (its DO error object's episode) */
};

/* A RequestStateChange handed to a producer, waiting for its answer. */
struct pending {
	uint32_t event_id;
	jst_handle h;
	uint16_t requested;
	struct conn *requester;  /* NULL once the requester has gone */
	uint32_t req_id;
	uint64_t token;          /* the requester's identity, for the job's request record */
	uid_t uid;               /* the requester's: its pending-requests quota */
	struct session *sess;
	uint64_t due;            /* CLOCK_MONOTONIC */
	bool timeout_given;      /* the requester gave a TimeoutPeriod */
	bool by_admin;           /* root or the admin group asked: a Terminate or Kill the
				    producer does not answer in time is carried out anyway */
	bool under_way;          /* the producer answered 4096: waiting, until due, for the job
				    to reach the requested state */
	struct pending *next;
};

/* What one uid holds, against its quotas (quota.c). Root and the admin group have none. */
struct uid_use {
	uid_t uid;
	uint32_t jobs, errors, conns, pending;
	uint32_t large;          /* its jobs whose detail is in the large-detail pool */
	uint32_t parked;         /* its refused connections held for their delay (not a quota) */
	uint64_t refused_at;     /* CLOCK_MONOTONIC of its last refusal at accept; 0 = none */
	uint64_t refuse_delay_ns; /* how long that refusal was held */
	struct uid_use *next;
};

/* A connection refused at its uid's connection quota, answered when its delay ends. */
struct parked {
	uint64_t seq;            /* its T_PARK timer's; 0 = a free slot */
	int fd;
	uid_t uid;
	char why[JST_DETAIL_MAX];
};
#define PARK_MAX 64              /* parked connections in all: descriptors held */

enum timer_kind { T_REMOVE, T_LOST, T_RSC, T_HELLO, T_ORPHAN, T_BACKOFF, T_PARK };

struct timer {
	uint64_t due;            /* CLOCK_MONOTONIC */
	uint32_t kind, a, b;
	uint64_t c;
};

struct jst_server {
	struct jst_pub *pub;
	jst_reader *reads;       /* over our own mapping: only to serve GET_ERROR to clients */
	struct jst_server_config cfg;
	char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t sock_dev;          /* the socket file we made, to notice it vanish */
	ino_t sock_ino;
	bool sock_lost;          /* it vanished and could not be made again (logged once) */
	bool activated;          /* the socket came from systemd: not ours to replace or remove */
	int lfd, epfd;
	bool accept_paused;      /* out of descriptors: listening socket off until one frees */
	struct parked parked[PARK_MAX];
	uint64_t park_seq;
	uint32_t capacity, hwm;  /* jobs[] size; one past the highest slot seen */
	struct jobpriv *jobs;
	struct conn *conns;
	uint32_t nconns;
	struct ready_uid *ready; /* uids with unread messages, in serving order */
	struct epoll_event *evs; /* epoll_pwait()'s buffer: room for every connection */
	uint32_t evs_cap;
	struct session *sessions;
	struct pending *pendings;
	uint32_t next_event;
	uint64_t next_conn_id;
	struct uid_use *uses;    /* per-uid holdings, for the quotas */
	struct jst_quota limits; /* the quotas in force (defaults filled in) */
	struct timer *timers;    /* a binary min-heap on due */
	uint32_t ntimers, timer_cap;
	uint64_t generation;
	bool stopping;           /* shutting down: a closing connection changes no job */
	struct jst_wbuf w;       /* the reply being built */
	uint8_t rbuf[JST_MSG_MAX + 1];
	struct jst_job scratch;  /* a job's strings, to change some of them */
	struct jst_error err;    /* a decoded error */
};

/* ---- server.c: connections ---- */
void jst__conn_send(struct jst_server *s, struct conn *c);
void jst__conn_close(struct jst_server *s, struct conn *c);
void jst__conn_backoff_end(struct jst_server *s, uint64_t conn_id);
void jst__park_end(struct jst_server *s, uint32_t slot, uint64_t seq);
void jst__reply_fail(struct jst_server *s, struct conn *c, const struct jst_msg_hdr *h, int rc,
		     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
bool jst__in_admin_group(struct jst_server *s, int fd, gid_t primary);

/* ---- requests.c: one handler per message type ---- */
void jst__handle_request(struct jst_server *s, struct conn *c, const struct jst_msg_hdr *h,
			 struct jst_rbuf *r);

/* ---- quota.c: what each uid holds, against its quotas ---- */
/* Q_PARKED is a holding, not a quota: it keeps the uid's refusal delay while it lasts. */
enum quota_kind { Q_JOBS, Q_ERRORS, Q_CONNS, Q_PENDING, Q_LARGE, Q_PARKED };
void jst__quota_limits(struct jst_server *s, const struct jst_quota *q);
struct uid_use *jst__use(struct jst_server *s, uid_t uid);
void jst__use_add(struct jst_server *s, uid_t uid, enum quota_kind k, int delta);
int jst__quota_check(struct jst_server *s, uid_t uid, bool admin, enum quota_kind k, char *why,
		     size_t n);
void jst__use_free_all(struct jst_server *s);

/* ---- jobs.c: rules, sessions, timers, adoption ---- */
void jst__timer_cancel(struct jst_server *s, enum timer_kind kind, uint32_t a, uint64_t c);
void jst__job_usage_changed(struct jst_server *s, jst_handle h);
bool jst__large_refused(struct jst_server *s, jst_handle h, bool admin, char *why, size_t n);
void jst__record_answer(struct jst_server *s, jst_handle h, uint64_t token, uint32_t id,
			uint32_t answer);
uint64_t jst__mono(void);
uint64_t jst__wall(void);
void jst__timer_add(struct jst_server *s, uint64_t due, enum timer_kind kind, uint32_t a,
		    uint32_t b, uint64_t c);
/* Run the timers due by @now for up to @budget_ns; true if some due ones are left. */
bool jst__timers_run(struct jst_server *s, uint64_t now, uint64_t budget_ns);
struct session *jst__session_find(struct jst_server *s, uint64_t id);
struct session *jst__session_new(struct jst_server *s, uint64_t id, uid_t uid);
void jst__session_gc(struct jst_server *s, struct session *x);
void jst__session_set_lost(struct jst_server *s, struct session *x, bool lost);
struct jobpriv *jst__jp_of(struct jst_server *s, jst_handle h);
void jst__job_track(struct jst_server *s, jst_handle h, struct session *x, uid_t owner);
int jst__job_remove(struct jst_server *s, jst_handle h);
uint64_t jst__schedule_removal(struct jst_server *s, jst_handle h, const struct jst_status *st);
void jst__state_move(struct jst_status *st, uint16_t to, bool keep_ops, uint64_t now);
void jst__transfer_move(struct jst_status *st, uint16_t bg, bool keep_ops, uint64_t now,
			bool episode_error);
void jst__elapsed_update(struct jst_status *st, uint64_t now);
int jst__job_publish(struct jst_server *s, jst_handle h, struct jst_status *st, bool new_strings,
		     bool entering_final, bool refuse_large);
uint16_t jst__requested_target(uint16_t rq);
int jst__terminate_orphan(struct jst_server *s, jst_handle h, uint16_t requested,
			  uint32_t *ret_cim);
void jst__pending_answer(struct jst_server *s, struct pending *p, int rc, uint32_t cim);
void jst__pending_unlink(struct jst_server *s, struct pending *p);
void jst__conn_gone(struct jst_server *s, struct conn *c);
void jst__pending_reached(struct jst_server *s, jst_handle h, uint16_t job_state);
int jst__adopt_jobs(struct jst_server *s);

#endif /* JOBSTAT_SERVER_INTERNAL_H */
