/* SPDX-License-Identifier: MIT */
/*
 * server.c - jobstatd's control plane (server.h): one thread, one epoll
 * loop. Every request is validated, applied to the segment through the
 * publisher and only then acknowledged, so an acknowledged change is one a
 * reader can already see. No thread shares data with another: the publisher
 * has exactly one writer and the control plane is that writer (README.md,
 * "Design"), so there is nothing to lock and nothing for RCU to protect.
 */
#define _GNU_SOURCE
#include <bsd/stdlib.h>
#include <bsd/string.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "jobstat-proto.h"
#include "server.h"

#define RECV_BURST     32       /* messages taken from one connection before the next */
#define OUT_QUEUE_MAX  4096     /* replies queued for a client that does not read */
#define MAX_GROUPS     256

struct outpkt {
	struct outpkt *next;
	uint32_t len;
	uint8_t data[];
};

struct session;

struct conn {
	int fd;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	bool admin;              /* root or a member of the admin group */
	bool hello;
	bool dead;               /* closed; freed at the end of the loop iteration */
	bool reading;            /* EPOLLIN armed (off while replies are queued) */
	unsigned warned;         /* garbage reports logged for this connection */
	struct session *sess;    /* the session this connection speaks for, or NULL */
	struct outpkt *out_head, *out_tail;
	uint32_t out_n;
	struct conn *prev, *next;
};

/* A producer's identity across connections: its jobs belong to it. */
struct session {
	uint64_t id;
	uid_t uid;
	struct conn *conn;       /* NULL while disconnected */
	uint32_t njobs;
	uint64_t lost_due;       /* CLOCK_MONOTONIC when its jobs go Lost Communication; 0 = none */
	bool lost_timer;         /* a T_LOST timer is queued: one per session, re-armed */
	struct session *next;
};

/* The daemon's private view of one job slot. */
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
	struct session *sess;
};

/* A RequestStateChange handed to a producer, waiting for its answer. */
struct pending {
	uint32_t event_id;
	jst_handle h;
	uint16_t requested;
	struct conn *requester;  /* NULL once the requester has gone */
	uint32_t req_id;
	struct session *sess;
	uint64_t due;            /* CLOCK_MONOTONIC */
	struct pending *next;
};

enum timer_kind { T_REMOVE, T_LOST, T_RSC };

struct timer {
	uint64_t due;            /* CLOCK_MONOTONIC */
	uint32_t kind, a, b;
	uint64_t c;
};

struct jst_server {
	struct jst_pub *pub;
	jst_reader *self;        /* our own segment, read back for strings and lookups */
	struct jst_server_config cfg;
	char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int lfd, epfd;
	uint32_t capacity, hwm;  /* jobs[] size; one past the highest slot seen */
	struct jobpriv *jobs;
	struct conn *conns;
	uint32_t nconns;
	struct session *sessions;
	struct pending *pendings;
	uint32_t next_event;
	struct timer *timers;    /* a binary min-heap on due */
	uint32_t ntimers, timer_cap;
	uint64_t generation;
	bool stopping;           /* shutting down: a closing connection changes no job */
	struct jst_wbuf w;       /* the reply being built */
	uint8_t rbuf[JST_MSG_MAX + 1];
	struct jst_job scratch;  /* a job's strings, read back to change some of them */
	struct jst_error err;    /* a decoded error */
};

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t mono(void)
{
	return now_ns(CLOCK_MONOTONIC);
}

static uint64_t wall(void)
{
	return now_ns(CLOCK_REALTIME);
}

/* ---- timers ---- */

static void timer_swap(struct timer *t, uint32_t i, uint32_t j)
{
	struct timer x = t[i];

	t[i] = t[j];
	t[j] = x;
}

static void timer_add(struct jst_server *s, uint64_t due, enum timer_kind kind, uint32_t a,
		      uint32_t b, uint64_t c)
{
	uint32_t i;

	if (s->ntimers == s->timer_cap) {
		uint32_t cap = s->timer_cap ? s->timer_cap * 2 : 256;
		struct timer *t = realloc(s->timers, cap * sizeof(*t));

		if (!t) {
			/* Without memory the timer is lost: the job stays until removed by hand. */
			jst_log(LOG_ERR, "out of memory for a timer; a scheduled action is dropped");
			return;
		}
		s->timers = t;
		s->timer_cap = cap;
	}
	i = s->ntimers++;
	s->timers[i] = (struct timer){due, kind, a, b, c};
	while (i > 0 && s->timers[(i - 1) / 2].due > s->timers[i].due) {
		timer_swap(s->timers, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static struct timer timer_pop(struct jst_server *s)
{
	struct timer top = s->timers[0];
	uint32_t i = 0;

	s->timers[0] = s->timers[--s->ntimers];
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < s->ntimers && s->timers[l].due < s->timers[m].due)
			m = l;
		if (r < s->ntimers && s->timers[r].due < s->timers[m].due)
			m = r;
		if (m == i)
			break;
		timer_swap(s->timers, i, m);
		i = m;
	}
	return top;
}

/* ---- output ---- */

static void conn_close(struct jst_server *s, struct conn *c);

static void conn_arm(struct jst_server *s, struct conn *c)
{
	struct epoll_event ev = {.data.ptr = c};
	bool want_in = c->out_n == 0;

	ev.events = (want_in ? EPOLLIN : 0) | (c->out_n ? EPOLLOUT : 0);
	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->reading = want_in;
}

/* Send what is queued; stop at the first packet the socket cannot take. */
static void conn_flush(struct jst_server *s, struct conn *c)
{
	while (c->out_head) {
		struct outpkt *o = c->out_head;
		ssize_t n = send(c->fd, o->data, o->len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n < 0) {
			conn_close(s, c);
			return;
		}
		c->out_head = o->next;
		if (!c->out_head)
			c->out_tail = NULL;
		c->out_n--;
		free(o);
	}
	if ((c->out_n == 0) != c->reading)
		conn_arm(s, c);
}

/*
 * Send the message in s->w to @c. A client that does not read its replies
 * gets them queued and is not read from until they drain, so it can neither
 * stall the daemon nor make it buffer without bound.
 */
static void conn_send(struct jst_server *s, struct conn *c)
{
	struct outpkt *o;

	if (c->dead)
		return;
	if (jst_wire_finish(&s->w) < 0) {
		jst_log(LOG_ERR, "internal: reply too large for the protocol; dropped");
		return;
	}
	if (!c->out_head) {
		ssize_t n = send(c->fd, s->w.buf, s->w.len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n >= 0)
			return;
		if (errno != EAGAIN && errno != EINTR) {
			conn_close(s, c);
			return;
		}
	}
	if (c->out_n >= OUT_QUEUE_MAX) {
		jst_log(LOG_WARNING, "client pid %ld does not read its replies; disconnected",
			(long)c->pid);
		conn_close(s, c);
		return;
	}
	o = malloc(sizeof(*o) + s->w.len);
	if (!o) {
		conn_close(s, c);
		return;
	}
	o->next = NULL;
	o->len = (uint32_t)s->w.len;
	memcpy(o->data, s->w.buf, s->w.len);
	if (c->out_tail)
		c->out_tail->next = o;
	else
		c->out_head = o;
	c->out_tail = o;
	c->out_n++;
	if (c->reading)
		conn_arm(s, c);
}

static void reply_fail(struct jst_server *s, struct conn *c, const struct jst_msg_hdr *h, int rc,
		       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void reply_fail(struct jst_server *s, struct conn *c, const struct jst_msg_hdr *h, int rc,
		       const char *fmt, ...)
{
	char detail[JST_DETAIL_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	jst_enc_fail(&s->w, h->type, h->id, rc, detail);
	conn_send(s, c);
}

static void reply_begin(struct jst_server *s, const struct jst_msg_hdr *h, int rc)
{
	jst_wire_begin(&s->w, (uint16_t)(h->type | JST_MSG_REPLY), h->id);
	jst_wire_u32(&s->w, (uint32_t)rc);
}

/* ---- sessions and jobs ---- */

static struct session *session_find(struct jst_server *s, uint64_t id)
{
	for (struct session *x = s->sessions; x; x = x->next)
		if (x->id == id)
			return x;
	return NULL;
}

static struct session *session_new(struct jst_server *s, uint64_t id, uid_t uid)
{
	struct session *x = calloc(1, sizeof(*x));

	if (!x)
		return NULL;
	while (!id || session_find(s, id))
		arc4random_buf(&id, sizeof(id)); /* unguessable, so only its holder names it */
	x->id = id;
	x->uid = uid;
	x->next = s->sessions;
	s->sessions = x;
	return x;
}

/* Free a session nobody speaks for and that owns no job. */
static void session_gc(struct jst_server *s, struct session *x)
{
	if (x->conn || x->njobs)
		return;
	for (struct session **pp = &s->sessions; *pp; pp = &(*pp)->next) {
		if (*pp == x) {
			*pp = x->next;
			free(x);
			return;
		}
	}
}

static struct jobpriv *jp_of(struct jst_server *s, jst_handle h)
{
	if (h.slot >= s->capacity || !h.gen || s->jobs[h.slot].gen != h.gen)
		return NULL;
	return &s->jobs[h.slot];
}

static bool may_modify(const struct conn *c, const struct jst_status *st)
{
	return c->admin || c->uid == st->owner_uid;
}

/* The job is gone from the segment: forget it. */
static void job_forget(struct jst_server *s, uint32_t slot)
{
	struct jobpriv *jp = &s->jobs[slot];
	struct session *x = jp->sess;

	memset(jp, 0, sizeof(*jp));
	if (x) {
		x->njobs--;
		session_gc(s, x);
	}
}

static int job_remove(struct jst_server *s, jst_handle h)
{
	int rc = jst_pub_remove(s->pub, h);

	if (rc == 0)
		job_forget(s, h.slot);
	return rc;
}

/* Schedule the removal CIM asks for: TimeBeforeRemoval after the job finished. */
static uint64_t schedule_removal(struct jst_server *s, jst_handle h, const struct jst_status *st)
{
	uint64_t now_w = wall(), at_w = st->time_of_last_state_change + st->time_before_removal_ns;
	struct jobpriv *jp = jp_of(s, h);
	uint64_t due = mono() + (at_w > now_w ? at_w - now_w : 0);

	if (jp && (!jp->remove_due || due < jp->remove_due)) {
		jp->remove_due = due;
		timer_add(s, due, T_REMOVE, h.slot, h.gen, 0);
	}
	return at_w > now_w ? at_w : now_w;
}

/*
 * Fill @st for a move to @to at @now: the times CIM defines, and the default
 * OperationalStatus unless @keep_ops.
 */
static void state_move(struct jst_status *st, uint16_t to, bool keep_ops, uint64_t now)
{
	if (st->job_state != to) {
		st->time_of_last_state_change = now;
		if (!st->start_time && to != JST_JOB_NEW && to != JST_JOB_QUERY_PENDING &&
		    !jst_job_state_is_final(to))
			st->start_time = now;
	}
	if (!keep_ops) {
		memset(st->operational_status, 0, sizeof(st->operational_status));
		st->n_operational_status =
			(uint8_t)jst_default_op_status(to, st->operational_status);
	}
	st->job_state = to;
}

/*
 * Move a transfer job to BITS state @bg: its JobState and, unless @keep_ops,
 * its OperationalStatus follow; its DO error object appears on entering
 * ERROR or TRANSIENT_ERROR and goes when it transfers again.
 */
static void transfer_move(struct jst_status *st, uint16_t bg, bool keep_ops, uint64_t now)
{
	uint16_t js, ops[JST_OPSTATUS_MAX] = {0};
	unsigned n = jst_transfer_job_state(bg, &js, ops);

	state_move(st, js, true, now);
	if (!keep_ops) {
		memcpy(st->operational_status, ops, sizeof(ops));
		st->n_operational_status = (uint8_t)n;
	}
	if (bg == JST_BG_ERROR || bg == JST_BG_TRANSIENT_ERROR)
		st->flags |= JST_STATUS_DO_ERROR;
	else if (bg == JST_BG_TRANSFERRING)
		st->flags &= (uint8_t)~JST_STATUS_DO_ERROR;
	st->transfer_state = (uint16_t)(bg + 1);
}

static void elapsed_update(struct jst_status *st, uint64_t now)
{
	if (st->start_time && !jst_job_state_is_final(st->job_state))
		st->elapsed_ns = now > st->start_time ? now - st->start_time : 0;
	else if (st->start_time && jst_job_state_is_final(st->job_state))
		st->elapsed_ns = st->time_of_last_state_change - st->start_time;
}

/* The CIM_Error a job terminated or killed at a client's request carries. */
static void requested_error(struct jst_error *e, const struct jobpriv *jp, char *buf, size_t n,
			    char *args, size_t an)
{
	bool kill = jp->by_state == JST_JOB_KILLED;

	memset(e, 0, offsetof(struct jst_error, text));
	snprintf(buf, n, "The job was %s at the request of uid %" PRIu32 " (pid %" PRId32 ").",
		 kill ? "killed" : "terminated", jp->by_uid, jp->by_pid);
	snprintf(args, an, "%" PRIu32 "%c%" PRId32, jp->by_uid, 0, jp->by_pid);
	e->error_type = 1; /* Other */
	e->other_error_type = "Job control request";
	e->owning_entity = "jobstat";
	e->message_id = kill ? "JST0002" : "JST0001";
	e->message = buf;
	e->n_message_arguments = 2;
	e->message_arguments[0] = args;
	e->message_arguments[1] = args + strlen(args) + 1;
	e->perceived_severity = 2; /* Information: it was asked for */
	e->probable_cause = 1;     /* Other */
	e->probable_cause_description = kill ? "Killed by a client request"
					     : "Terminated by a client request";
	e->cim_status_code = 0;
}

/*
 * Publish @st (and, when @new_strings, the strings in s->scratch) for job
 * @h. A move into Terminated or Killed that a client requested also records
 * the requester's CIM_Error, in the same version.
 */
static int job_publish(struct jst_server *s, jst_handle h, struct jst_status *st,
		       bool new_strings, bool entering_final)
{
	struct jobpriv *jp = jp_of(s, h);
	int rc;

	if (jp && entering_final && jp->by_state &&
	    (st->job_state == JST_JOB_TERMINATED || st->job_state == JST_JOB_KILLED)) {
		char msg[160], args[32];

		if (!new_strings) {
			rc = jst_job(s->self, h, &s->scratch);
			if (rc < 0)
				return rc;
		}
		requested_error(&s->err, jp, msg, sizeof(msg), args, sizeof(args));
		s->scratch.error_description = msg;
		rc = jst_pub_add_error_with(s->pub, h, &s->err, st, &s->scratch);
	} else if (new_strings) {
		rc = jst_pub_update(s->pub, h, st, &s->scratch);
	} else {
		rc = jst_pub_set_status(s->pub, h, st);
	}
	if (rc == 0 && entering_final) {
		if (jp)
			jp->by_state = 0;
		if (st->flags & JST_STATUS_DELETE_ON_COMPLETION)
			schedule_removal(s, h, st);
	}
	return rc;
}

/* Move a job to @to on the daemon's own account (its producer is gone). */
static int job_force_state(struct jst_server *s, jst_handle h, uint16_t to)
{
	struct jst_status st;
	uint64_t now = wall();
	int rc = jst_pub_status(s->pub, h, &st);
	bool entering_final;

	if (rc < 0)
		return rc;
	if (st.transfer_state) {
		/* A transfer job ends CANCELLED, whether terminated or killed. */
		rc = jst_transfer_check((uint16_t)(st.transfer_state - 1), JST_BG_CANCELLED);
		if (rc < 0)
			return rc;
		entering_final = !jst_job_state_is_final(st.job_state);
		transfer_move(&st, JST_BG_CANCELLED, false, now);
		elapsed_update(&st, now);
		return job_publish(s, h, &st, false, entering_final);
	}
	rc = jst_job_state_check(st.job_state, to);
	if (rc < 0)
		return rc;
	entering_final = !jst_job_state_is_final(st.job_state) && jst_job_state_is_final(to);
	state_move(&st, to, false, now);
	elapsed_update(&st, now);
	return job_publish(s, h, &st, false, entering_final);
}

/* Show, or stop showing, Lost Communication on every unfinished job of @x. */
static void session_set_lost(struct jst_server *s, struct session *x, bool lost)
{
	for (uint32_t slot = 0; slot < s->hwm; slot++) {
		struct jobpriv *jp = &s->jobs[slot];
		jst_handle h = {slot, jp->gen};
		struct jst_status st;

		if (jp->sess != x || !jp->gen || jp->lost == lost ||
		    jst_pub_status(s->pub, h, &st) < 0)
			continue;
		if (lost) {
			if (jst_job_state_is_final(st.job_state))
				continue;
			jp->n_saved = st.n_operational_status;
			memcpy(jp->saved, st.operational_status, sizeof(jp->saved));
			memset(st.operational_status, 0, sizeof(st.operational_status));
			st.operational_status[0] = JST_OPS_LOST_COMMUNICATION;
			st.n_operational_status = 1;
		} else {
			st.n_operational_status = jp->n_saved;
			memcpy(st.operational_status, jp->saved, sizeof(jp->saved));
		}
		if (jst_pub_set_status(s->pub, h, &st) == 0)
			jp->lost = lost;
	}
}

/* ---- pending state change requests ---- */

static void pending_answer(struct jst_server *s, struct pending *p, int rc, uint32_t cim)
{
	struct jobpriv *jp = jp_of(s, p->h);
	struct jst_msg_hdr h = {.type = JST_MSG_REQUEST, .id = p->req_id};

	if (jp) {
		jp->pending = false;
		if (rc < 0 || (cim != JST_RSC_COMPLETED && cim != JST_RSC_STARTED))
			jp->by_state = 0; /* refused: nobody terminated it */
	}
	if (p->requester) {
		if (rc < 0) {
			reply_fail(s, p->requester, &h, rc, "%s", jst_strerror(rc));
		} else {
			reply_begin(s, &h, 0);
			jst_wire_u32(&s->w, cim);
			conn_send(s, p->requester);
		}
	}
}

static void pending_unlink(struct jst_server *s, struct pending *p)
{
	for (struct pending **pp = &s->pendings; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			free(p);
			return;
		}
	}
}

static uint16_t requested_target(uint16_t rq)
{
	switch (rq) {
	case JST_REQ_START:
		return JST_JOB_RUNNING;
	case JST_REQ_SUSPEND:
		return JST_JOB_SUSPENDED;
	case JST_REQ_TERMINATE:
		return JST_JOB_TERMINATED;
	case JST_REQ_KILL:
		return JST_JOB_KILLED;
	case JST_REQ_SERVICE:
		return JST_JOB_SERVICE;
	}
	return 0;
}

/*
 * A Terminate or Kill whose producer is not there to act: the daemon moves
 * the job itself, so a client can always stop a job it may stop.
 */
static int terminate_orphan(struct jst_server *s, jst_handle h, uint16_t requested,
			    uint32_t *ret_cim)
{
	int rc;

	if (requested != JST_REQ_TERMINATE && requested != JST_REQ_KILL)
		return JST_ENOPRODUCER;
	rc = job_force_state(s, h, requested_target(requested));
	if (rc < 0)
		return rc;
	*ret_cim = JST_RSC_COMPLETED;
	return 0;
}

/* ---- requests ---- */

static void on_hello(struct jst_server *s, struct conn *c, const struct jst_msg_hdr *h,
		     struct jst_rbuf *r)
{
	struct jst_msg_hello m;
	struct session *x = NULL;
	uint32_t reclaimed = 0;

	if (jst_dec_hello(r, &m) < 0)
		return reply_fail(s, c, h, JST_EPROTO, "malformed HELLO");
	if (c->hello)
		return reply_fail(s, c, h, JST_EPROTO, "HELLO was already sent on this connection");
	if (m.flags & ~(uint32_t)JST_HELLO_PRODUCER)
		return reply_fail(s, c, h, JST_EINVAL, "unknown HELLO flags 0x%" PRIx32, m.flags);
	if (m.flags & JST_HELLO_PRODUCER) {
		x = m.session ? session_find(s, m.session) : NULL;
		if (x && x->uid != c->uid)
			return reply_fail(s, c, h, JST_EPERM,
					  "session %016" PRIx64 " belongs to uid %ld", m.session,
					  (long)x->uid);
		if (!x)
			x = session_new(s, m.session, c->uid);
		if (!x)
			return reply_fail(s, c, h, JST_ENOMEM, "out of memory");
		if (x->conn && x->conn != c)
			x->conn->sess = NULL; /* a reconnect overtook the old connection's close */
		x->conn = c;
		x->lost_due = 0;
		c->sess = x;
		session_set_lost(s, x, false);
		reclaimed = x->njobs;
	}
	c->hello = true;
	reply_begin(s, h, 0);
	jst_wire_u64(&s->w, x ? x->id : 0);
	jst_wire_u64(&s->w, s->generation);
	jst_wire_u32(&s->w, reclaimed);
	jst_wire_u32(&s->w, (uint32_t)c->uid);
	conn_send(s, c);
}

static void on_create(struct jst_server *s, struct conn *c, const struct jst_msg_hdr *h,
		      struct jst_rbuf *r)
{
	struct jst_msg_create m;
	struct jst_status st = {0};
	struct jst_job *job = &s->scratch;
	char genid[64];
	uint64_t now = wall();
	uint16_t init;
	jst_handle jh;
	int rc;

	if (jst_dec_create(r, &m) < 0)
		return reply_fail(s, c, h, JST_EPROTO, "malformed CREATE");
	if (!c->sess)
		return reply_fail(s, c, h, JST_EINVAL,
				  "only a producer connection creates jobs (connect as a producer)");
	if (m.flags & ~(uint32_t)(JST_CREATE_DELETE_ON_COMPLETION | JST_CREATE_CANCELLABLE |
				  JST_CREATE_HAS_TBR | JST_CREATE_RETRY | JST_CREATE_TRANSFER))
		return reply_fail(s, c, h, JST_EINVAL, "unknown CREATE flags 0x%" PRIx32, m.flags);
	if ((m.flags & JST_CREATE_TRANSFER) && m.initial_state)
		return reply_fail(s, c, h, JST_EINVAL,
				  "a transfer job starts SUSPENDED: give no initial JobState");
	init = m.initial_state ? m.initial_state : JST_JOB_NEW;
	if (jst_job_state_check(JST_JOB_NEW, init) < 0 || jst_job_state_is_final(init))
		return reply_fail(s, c, h, JST_ETRANSITION,
				  "a job cannot start in JobState %u (%s)", init,
				  jst_job_state_name(init));
	if (!m.instance_id) {
		jst_random_instance_id(genid, sizeof(genid));
		m.instance_id = genid;
	}
	st.percent_complete = 0;
	st.job_type = m.job_type;
	st.priority = m.priority;
	st.flags = (uint8_t)(((m.flags & JST_CREATE_DELETE_ON_COMPLETION)
				      ? JST_STATUS_DELETE_ON_COMPLETION : 0) |
			     ((m.flags & JST_CREATE_CANCELLABLE) ? JST_STATUS_CANCELLABLE : 0));
	st.time_submitted = now;
	st.job_state = JST_JOB_NEW;
	if (m.flags & JST_CREATE_TRANSFER)
		transfer_move(&st, JST_BG_SUSPENDED, false, now);
	else
		state_move(&st, init, false, now);
	st.time_of_last_state_change = now;
	st.time_before_removal_ns = (m.flags & JST_CREATE_HAS_TBR) ? m.time_before_removal_ns
								   : JST_DEFAULT_TIME_BEFORE_REMOVAL_NS;
	st.owner_uid = (uint32_t)c->uid;
	st.producer_session = c->sess->id;
	memset(job, 0, offsetof(struct jst_job, text));
	job->name = m.name ? m.name : "job";
	job->owner = m.owner;
	job->notify = m.notify;
	job->job_status = m.job_status;
	rc = jst_pub_job_create(s->pub, m.instance_id, &st, job, &jh);
	if (rc == JST_EEXIST && (m.flags & JST_CREATE_RETRY)) {
		struct jst_status cur;

		/* The first copy of this request created it, before a daemon restart. */
		if (jst_lookup(s->self, m.instance_id, &jh) == 0 &&
		    jst_pub_status(s->pub, jh, &cur) == 0 &&
		    cur.producer_session == c->sess->id && cur.owner_uid == (uint32_t)c->uid)
			rc = 0;
		if (rc == 0)
			goto created;
	}
	if (rc < 0)
		return reply_fail(s, c, h, rc, "%s: %s", m.instance_id, jst_strerror(rc));
	if (jh.slot < s->capacity) {
		struct jobpriv *jp = &s->jobs[jh.slot];

		memset(jp, 0, sizeof(*jp));
		jp->gen = jh.gen;
		jp->sess = c->sess;
		c->sess->njobs++;
		if (jh.slot >= s->hwm)
			s->hwm = jh.slot + 1;
	}
created:
	reply_begin(s, h, 0);
	jst_wire_u32(&s->w, jh.slot);
	jst_wire_u32(&s->w, jh.gen);
	jst_wire_str(&s->w, m.instance_id);
	conn_send(s, c);
}

/* Apply one update record; its result code. */
static int apply_update(struct jst_server *s, struct conn *c, const struct jst_update *u,
			char *why, size_t wn)
{
	struct jst_status st;
	struct jobpriv *jp;
	uint64_t now = wall();
	bool strings = false, entering_final = false;
	int rc = jst_pub_status(s->pub, u->handle, &st);

	if (rc < 0)
		return rc == JST_ESTALE || rc == JST_EINVAL ? JST_ESTALE : rc;
	if (!may_modify(c, &st)) {
		snprintf(why, wn, "job %" PRIu32 " belongs to uid %" PRIu32, u->handle.slot,
			 st.owner_uid);
		return JST_EPERM;
	}
	if (u->set & ~(uint32_t)JST_SET_ALL) {
		snprintf(why, wn, "unknown update fields 0x%" PRIx32, u->set);
		return JST_EINVAL;
	}
	if ((u->set & JST_SET_PERCENT) && u->percent_complete > 101) {
		snprintf(why, wn, "PercentComplete %u is not 0..100 (or 101, undefined)",
			 u->percent_complete);
		return JST_EINVAL;
	}
	if ((u->set & JST_SET_OP_STATUS) && u->n_operational_status == 0) {
		snprintf(why, wn, "OperationalStatus needs at least one value");
		return JST_EINVAL;
	}
	if ((u->set & JST_SET_STATE) && st.transfer_state) {
		snprintf(why, wn, "a transfer job's JobState follows its transfer state "
				  "(set JST_SET_TRANSFER_STATE)");
		return JST_EINVAL;
	}
	if ((u->set & JST_SET_TRANSFER_STATE) && !st.transfer_state) {
		snprintf(why, wn, "not a transfer job: it has no transfer state");
		return JST_EINVAL;
	}
	jp = jp_of(s, u->handle);
	if (u->set & JST_SET_TRANSFER_STATE) {
		uint16_t from = (uint16_t)(st.transfer_state - 1);

		rc = jst_transfer_check(from, u->transfer_state);
		if (rc < 0) {
			snprintf(why, wn, "transfer state %s cannot become %s",
				 jst_transfer_state_name(from),
				 jst_transfer_state_name(u->transfer_state));
			return rc;
		}
		if (u->transfer_state != from) {
			uint16_t old_state = st.job_state;

			transfer_move(&st, u->transfer_state,
				      (u->set & JST_SET_OP_STATUS) || (jp && jp->lost), now);
			entering_final = !jst_job_state_is_final(old_state) &&
					 jst_job_state_is_final(st.job_state);
			strings = old_state != st.job_state;
		}
	}
	if (u->set & JST_SET_STATE) {
		rc = jst_job_state_check(st.job_state, u->job_state);
		if (rc < 0) {
			snprintf(why, wn, "JobState %u (%s) cannot become %u (%s)", st.job_state,
				 jst_job_state_name(st.job_state), u->job_state,
				 jst_job_state_name(u->job_state));
			return rc;
		}
		entering_final = !jst_job_state_is_final(st.job_state) &&
				 jst_job_state_is_final(u->job_state);
		if (u->job_state != st.job_state && !(u->set & JST_SET_OP_STATUS)) {
			state_move(&st, u->job_state, jp && jp->lost, now);
			strings = true; /* the old StatusDescriptions described the old status */
		} else {
			state_move(&st, u->job_state, true, now);
		}
	}
	if (u->set & JST_SET_PERCENT)
		st.percent_complete = u->percent_complete;
	if (u->set & JST_SET_ERROR_CODE)
		st.error_code = u->error_code;
	if (u->set & JST_SET_OP_STATUS) {
		memset(st.operational_status, 0, sizeof(st.operational_status));
		memcpy(st.operational_status, u->operational_status,
		       u->n_operational_status * sizeof(uint16_t));
		st.n_operational_status = (uint8_t)u->n_operational_status;
		if (jp)
			jp->lost = false;
	}
	elapsed_update(&st, now);
	if (u->set & (JST_SET_OP_STATUS | JST_SET_JOB_STATUS | JST_SET_ERROR_DESCRIPTION))
		strings = true;
	if (strings) {
		rc = jst_job(s->self, u->handle, &s->scratch);
		if (rc < 0)
			return rc;
		if (u->set & JST_SET_OP_STATUS) {
			s->scratch.n_status_descriptions = u->n_operational_status;
			memcpy(s->scratch.status_descriptions, u->status_descriptions,
			       sizeof(s->scratch.status_descriptions));
		} else if (u->set & JST_SET_STATE) {
			s->scratch.n_status_descriptions = 0;
		}
		if (u->set & JST_SET_JOB_STATUS)
			s->scratch.job_status = u->job_status;
		if (u->set & JST_SET_ERROR_DESCRIPTION)
			s->scratch.error_description = u->error_description;
	}
	rc = job_publish(s, u->handle, &st, strings, entering_final);
	if (rc < 0)
		snprintf(why, wn, "%s", jst_strerror(rc));
	return rc;
}

static void on_update(struct jst_server *s, struct conn *c, const struct jst_msg_hdr *h,
		      struct jst_rbuf *r)
{
	static int16_t codes[JST_BATCH_MAX];
	struct jst_rbuf check = *r;
	struct jst_update u;
	char why[JST_DETAIL_MAX] = "";
	uint32_t n;
	int first = 0;

	/* Decode everything first: a malformed batch changes nothing. */
	if (jst_dec_update_count(&check, &n) < 0)
		return reply_fail(s, c, h, JST_EPROTO, "UPDATE needs 1..%d records",
				  JST_BATCH_MAX);
	for (uint32_t i = 0; i < n; i++)
		if (jst_dec_update_rec(&check, &u) < 0)
			return reply_fail(s, c, h, JST_EPROTO, "malformed UPDATE record %" PRIu32, i);
	if (jst_rd_end(&check) < 0)
		return reply_fail(s, c, h, JST_EPROTO, "trailing bytes after the UPDATE records");
	jst_dec_update_count(r, &n);
	for (uint32_t i = 0; i < n; i++) {
		char w1[JST_DETAIL_MAX] = "";

		jst_dec_update_rec(r, &u);
		codes[i] = (int16_t)apply_update(s, c, &u, w1, sizeof(w1));
		if (codes[i] < 0 && !first) {
			first = codes[i];
			snprintf(why, sizeof(why), "record %" PRIu32 ": %s", i,
				 w1[0] ? w1 : jst_strerror(first));
		}
	}
	reply_begin(s, h, first);
	jst_wire_str(&s->w, first ? why : NULL);
	jst_wire_u32(&s->w, n);
	for (uint32_t i = 0; i < n; i++)
		jst_wire_u16(&s->w, (uint16_t)codes[i]);
	conn_send(s, c);
}

static void on_error(struct jst_server *s, struct conn *c, const struct jst_msg_hdr *h,
		     struct jst_rbuf *r)
{
	struct jst_status st;
	jst_handle jh;
	bool fail;
	int rc;

	if (jst_dec_error(r, &jh, &fail, &s->err) < 0)
		return reply_fail(s, c, h, JST_EPROTO, "malformed ERROR");
	if (!s->err.message_id)
		return reply_fail(s, c, h, JST_EINVAL, "a CIM_Error needs a MessageID");
	rc = jst_pub_status(s->pub, jh, &st);
	if (rc < 0)
		return reply_fail(s, c, h, JST_ESTALE, "no job behind handle %" PRIu32 "/%" PRIu32,
				  jh.slot, jh.gen);
	if (!may_modify(c, &st))
		return reply_fail(s, c, h, JST_EPERM, "the job belongs to uid %" PRIu32,
				  st.owner_uid);
	if (fail) {
		uint64_t now = wall();

		if (jst_job_state_is_final(st.job_state) ||
		    (st.transfer_state &&
		     jst_transfer_check((uint16_t)(st.transfer_state - 1), JST_BG_ERROR) < 0))
			return reply_fail(s, c, h, JST_ETRANSITION,
					  "JobState %u (%s) cannot fail now", st.job_state,
					  jst_job_state_name(st.job_state));
		rc = jst_job(s->self, jh, &s->scratch);
		if (rc == 0) {
			bool entering = !jst_job_state_is_final(st.job_state);

			if (st.transfer_state) /* a transfer fails into ERROR, Resume retries */
				transfer_move(&st, JST_BG_ERROR, false, now);
			else
				state_move(&st, JST_JOB_EXCEPTION, false, now);
			entering = entering && jst_job_state_is_final(st.job_state);
			elapsed_update(&st, now);
			s->scratch.n_status_descriptions = 0;
			s->scratch.error_description = s->err.message ? s->err.message
								     : s->err.message_id;
			rc = jst_pub_add_error_with(s->pub, jh, &s->err, &st, &s->scratch);
			if (rc == 0 && entering && (st.flags & JST_STATUS_DELETE_ON_COMPLETION))
				schedule_removal(s, jh, &st);
		}
	} else {
		rc = jst_pub_add_error(s->pub, jh, &s->err);
	}
	if (rc < 0)
		return reply_fail(s, c, h, rc, "%s", jst_strerror(rc));
	reply_begin(s, h, 0);
	conn_send(s, c);
}

static void on_remove(struct jst_server *s, struct conn *c, const struct jst_msg_hdr *h,
		      struct jst_rbuf *r)
{
	struct jst_msg_remove m;
	struct jst_status st;
	uint64_t when = wall();
	int rc;

	if (jst_dec_remove(r, &m) < 0)
		return reply_fail(s, c, h, JST_EPROTO, "malformed REMOVE");
	if (m.flags & ~(uint32_t)JST_REMOVE_NOW)
		return reply_fail(s, c, h, JST_EINVAL, "unknown REMOVE flags 0x%" PRIx32, m.flags);
	if (jst_pub_status(s->pub, m.handle, &st) < 0)
		return reply_fail(s, c, h, JST_ESTALE, "no job behind handle %" PRIu32 "/%" PRIu32,
				  m.handle.slot, m.handle.gen);
	if (!may_modify(c, &st))
		return reply_fail(s, c, h, JST_EPERM, "the job belongs to uid %" PRIu32,
				  st.owner_uid);
	if (!(m.flags & JST_REMOVE_NOW) && !jst_job_state_is_final(st.job_state))
		return reply_fail(s, c, h, JST_ENOTFINISHED,
				  "JobState %u (%s) is not final: terminate it, or remove it now",
				  st.job_state, jst_job_state_name(st.job_state));
	if (!(m.flags & JST_REMOVE_NOW) &&
	    st.time_of_last_state_change + st.time_before_removal_ns > when) {
		when = schedule_removal(s, m.handle, &st);
	} else {
		rc = job_remove(s, m.handle);
		if (rc < 0)
			return reply_fail(s, c, h, rc, "%s", jst_strerror(rc));
	}
	reply_begin(s, h, 0);
	jst_wire_u64(&s->w, when);
	conn_send(s, c);
}

static void on_request(struct jst_server *s, struct conn *c, const struct jst_msg_hdr *h,
		       struct jst_rbuf *r)
{
	struct jst_msg_request m;
	struct jst_msg_event ev;
	struct jst_status st;
	struct jobpriv *jp;
	struct pending *p;
	jst_handle jh;
	uint16_t target;
	uint32_t cim;
	int rc;

	if (jst_dec_request(r, &m) < 0)
		return reply_fail(s, c, h, JST_EPROTO, "malformed REQUEST");
	if (!m.instance_id || jst_lookup(s->self, m.instance_id, &jh) < 0 ||
	    jst_pub_status(s->pub, jh, &st) < 0)
		return reply_fail(s, c, h, JST_ENOJOB, "no job \"%s\"",
				  m.instance_id ? m.instance_id : "(null)");
	if (!may_modify(c, &st))
		return reply_fail(s, c, h, JST_EPERM, "%s belongs to uid %" PRIu32, m.instance_id,
				  st.owner_uid);
	target = requested_target(m.requested_state);
	if (!target)
		return reply_fail(s, c, h, JST_EINVAL,
				  "RequestedState %u is not 2 Start, 3 Suspend, 4 Terminate, "
				  "5 Kill or 6 Service", m.requested_state);
	if ((m.requested_state == JST_REQ_TERMINATE || m.requested_state == JST_REQ_KILL) &&
	    !(st.flags & JST_STATUS_CANCELLABLE))
		return reply_fail(s, c, h, JST_ENOTSUP, "%s is not cancellable", m.instance_id);
	if (st.transfer_state) {
		/* BITS: Resume (Start), Suspend, Cancel (Terminate or Kill); nothing else. */
		uint16_t bg = m.requested_state == JST_REQ_START	? JST_BG_QUEUED
			      : m.requested_state == JST_REQ_SUSPEND ? JST_BG_SUSPENDED
			      : m.requested_state == JST_REQ_SERVICE ? 0xffff
								      : JST_BG_CANCELLED;
		uint16_t from = (uint16_t)(st.transfer_state - 1);

		if (bg == 0xffff)
			return reply_fail(s, c, h, JST_ENOTSUP, "a transfer job has no Service state");
		if (jst_transfer_check(from, bg) < 0 || from == JST_BG_ACKNOWLEDGED ||
		    from == JST_BG_CANCELLED)
			return reply_fail(s, c, h, JST_ETRANSITION,
					  "transfer state %s cannot become %s",
					  jst_transfer_state_name(from), jst_transfer_state_name(bg));
	} else if (jst_job_state_is_final(st.job_state) ||
		   jst_job_state_check(st.job_state, target) < 0)
		return reply_fail(s, c, h, JST_ETRANSITION, "JobState %u (%s) cannot become %u (%s)",
				  st.job_state, jst_job_state_name(st.job_state), target,
				  jst_job_state_name(target));
	jp = jp_of(s, jh);
	if (!jp)
		return reply_fail(s, c, h, JST_ENOJOB, "no job \"%s\"", m.instance_id);
	if (jp->pending)
		return reply_fail(s, c, h, JST_EPENDING, "a request for %s is already pending",
				  m.instance_id);
	if (target == JST_JOB_TERMINATED || target == JST_JOB_KILLED) {
		jp->by_state = target; /* whoever ends it now, it ends at this client's request */
		jp->by_uid = (uint32_t)c->uid;
		jp->by_pid = (int32_t)c->pid;
	}
	if (!jp->sess || !jp->sess->conn) {
		rc = terminate_orphan(s, jh, m.requested_state, &cim);
		if (rc < 0) {
			jp->by_state = 0;
			return reply_fail(s, c, h, rc, "%s: %s", m.instance_id,
					  rc == JST_ENOPRODUCER ? "its producer is not connected"
								: jst_strerror(rc));
		}
		reply_begin(s, h, 0);
		jst_wire_u32(&s->w, cim);
		return conn_send(s, c);
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return reply_fail(s, c, h, JST_ENOMEM, "out of memory");
	if (!++s->next_event)
		s->next_event = 1;
	*p = (struct pending){
		.event_id = s->next_event, .h = jh, .requested = m.requested_state,
		.requester = c, .req_id = h->id, .sess = jp->sess,
		.due = mono() + (m.timeout_ns ? m.timeout_ns : JST_SERVER_DEFAULT_RSC_TIMEOUT_NS),
		.next = s->pendings,
	};
	s->pendings = p;
	jp->pending = true;
	timer_add(s, p->due, T_RSC, p->event_id, 0, 0);
	ev = (struct jst_msg_event){
		.event_id = p->event_id,
		.rq = {.handle = jh, .instance_id = m.instance_id,
		       .requested_state = m.requested_state, .requester_uid = (uint32_t)c->uid,
		       .requester_pid = (int32_t)c->pid, .timeout_ns = m.timeout_ns},
	};
	jst_enc_event(&s->w, &ev);
	conn_send(s, jp->sess->conn);
}

static void on_event_reply(struct jst_server *s, struct conn *c, const struct jst_msg_hdr *h,
			   struct jst_rbuf *r)
{
	struct jst_msg_event_reply m;

	if (jst_dec_event_reply(r, &m) < 0)
		return reply_fail(s, c, h, JST_EPROTO, "malformed EVENT_REPLY");
	for (struct pending *p = s->pendings; p; p = p->next) {
		if (p->event_id == m.event_id && p->sess && p->sess->conn == c) {
			pending_answer(s, p, 0, m.cim);
			pending_unlink(s, p);
			return;
		}
	}
	/* Late (timed out) or not ours: nothing waits for it. */
}

/* ---- reads over the socket (clients without the mapping; the benchmark's syscall route) ---- */

static void on_get(struct jst_server *s, struct conn *c, const struct jst_msg_hdr *h,
		   struct jst_rbuf *r)
{
	struct jst_rbuf check = *r;
	uint32_t n = jst_rd_u32(&check);

	if (check.bad || n == 0 || n > JST_GET_MAX)
		return reply_fail(s, c, h, JST_EPROTO, "GET needs 1..%d handles", JST_GET_MAX);
	for (uint32_t i = 0; i < n; i++)
		jst_rd_u64(&check);
	if (jst_rd_end(&check) < 0)
		return reply_fail(s, c, h, JST_EPROTO, "malformed GET");
	n = jst_rd_u32(r);
	reply_begin(s, h, 0);
	jst_wire_str(&s->w, NULL);
	jst_wire_u32(&s->w, n);
	for (uint32_t i = 0; i < n; i++) {
		struct jst_status st;
		jst_handle jh;
		int rc;

		jh.slot = jst_rd_u32(r);
		jh.gen = jst_rd_u32(r);
		rc = jst_status(s->self, jh, &st);
		jst_wire_u32(&s->w, (uint32_t)rc);
		if (rc < 0)
			memset(&st, 0, sizeof(st));
		jst_wire_bytes(&s->w, &st, sizeof(st));
	}
	conn_send(s, c);
}

static void on_get_by_id(struct jst_server *s, struct conn *c, const struct jst_msg_hdr *h,
			 struct jst_rbuf *r)
{
	const char *id = jst_rd_str(r);
	struct jst_status st;
	jst_handle jh;
	int rc;

	if (jst_rd_end(r) < 0 || !id)
		return reply_fail(s, c, h, JST_EPROTO, "malformed GET_BY_ID");
	rc = jst_lookup(s->self, id, &jh);
	if (rc == 0)
		rc = jst_status(s->self, jh, &st);
	if (rc < 0)
		return reply_fail(s, c, h, rc, "%s: %s", id, jst_strerror(rc));
	reply_begin(s, h, 0);
	jst_wire_bytes(&s->w, &st, sizeof(st));
	conn_send(s, c);
}

static void on_get_error(struct jst_server *s, struct conn *c, const struct jst_msg_hdr *h,
			 struct jst_rbuf *r)
{
	jst_handle jh;
	uint32_t idx;
	int rc;

	jh.slot = jst_rd_u32(r);
	jh.gen = jst_rd_u32(r);
	idx = jst_rd_u32(r);
	if (jst_rd_end(r) < 0)
		return reply_fail(s, c, h, JST_EPROTO, "malformed GET_ERROR");
	rc = jst_error_read(s->self, jh, idx, &s->err);
	if (rc < 0)
		return reply_fail(s, c, h, rc, "%s", jst_strerror(rc));
	reply_begin(s, h, 0);
	jst_enc_error_body(&s->w, &s->err);
	conn_send(s, c);
}

static void on_stats(struct jst_server *s, struct conn *c, const struct jst_msg_hdr *h,
		     struct jst_rbuf *r)
{
	uint32_t sessions = 0, pendings = 0;
	struct mallinfo2 mi = mallinfo2();

	if (jst_rd_end(r) < 0)
		return reply_fail(s, c, h, JST_EPROTO, "STATS has no body");
	for (struct session *x = s->sessions; x; x = x->next)
		sessions++;
	for (struct pending *p = s->pendings; p; p = p->next)
		pendings++;
	reply_begin(s, h, 0);
	jst_wire_u32(&s->w, s->nconns);
	jst_wire_u32(&s->w, sessions);
	jst_wire_u32(&s->w, s->ntimers);
	jst_wire_u32(&s->w, pendings);
	jst_wire_u64(&s->w, (uint64_t)mi.uordblks);
	conn_send(s, c);
}

/* ---- connections ---- */

static void conn_close(struct jst_server *s, struct conn *c)
{
	struct session *x = c->sess;

	if (c->dead)
		return;
	c->dead = true;
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	for (struct pending *p = s->pendings, *nx; p; p = nx) {
		nx = p->next;
		if (p->requester == c)
			p->requester = NULL;
		if (x && p->sess == x && !s->stopping) {
			uint32_t cim = 0;
			int rc = terminate_orphan(s, p->h, p->requested, &cim);

			pending_answer(s, p, rc, cim);
			pending_unlink(s, p);
		}
	}
	if (x) {
		x->conn = NULL;
		c->sess = NULL;
		if (x->njobs && !s->stopping) {
			x->lost_due = mono() + s->cfg.lost_grace_ns;
			/* One queued timer per session, however often its producer reconnects. */
			if (!x->lost_timer) {
				timer_add(s, x->lost_due, T_LOST, 0, 0, x->id);
				x->lost_timer = true;
			}
		}
		session_gc(s, x);
	}
	while (c->out_head) {
		struct outpkt *o = c->out_head;

		c->out_head = o->next;
		free(o);
	}
	c->out_tail = NULL;
	c->out_n = 0;
}

static void conn_free_dead(struct jst_server *s)
{
	for (struct conn *c = s->conns, *nx; c; c = nx) {
		nx = c->next;
		if (!c->dead)
			continue;
		if (c->prev)
			c->prev->next = c->next;
		else
			s->conns = c->next;
		if (c->next)
			c->next->prev = c->prev;
		s->nconns--;
		free(c);
	}
}

static bool in_admin_group(struct jst_server *s, int fd, gid_t primary)
{
	gid_t groups[MAX_GROUPS];
	socklen_t len = sizeof(groups);

	if (!s->cfg.admin_group_set)
		return false;
	if (primary == s->cfg.admin_gid)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return false;
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == s->cfg.admin_gid)
			return true;
	return false;
}

static void accept_all(struct jst_server *s)
{
	for (;;) {
		struct epoll_event ev = {.events = EPOLLIN};
		struct ucred cred;
		socklen_t len = sizeof(cred);
		struct conn *c;
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
			close(fd);
			continue;
		}
		if (s->nconns >= s->cfg.max_conns) {
			struct jst_msg_hdr h = {.type = JST_MSG_HELLO};

			jst_enc_fail(&s->w, h.type, 0, JST_ELIMIT, "jobstatd serves its maximum of "
				     "connections; try again later");
			if (jst_wire_finish(&s->w) == 0)
				send(fd, s->w.buf, s->w.len, MSG_DONTWAIT | MSG_NOSIGNAL);
			/* Read what it sent already: closing on unread data would reset it first. */
			while (recv(fd, s->rbuf, sizeof(s->rbuf), MSG_DONTWAIT) > 0)
				;
			close(fd);
			jst_log(LOG_WARNING, "refused pid %ld: %u connections", (long)cred.pid,
				s->nconns);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->uid = cred.uid;
		c->gid = cred.gid;
		c->pid = cred.pid;
		c->admin = cred.uid == 0 || in_admin_group(s, fd, cred.gid);
		c->reading = true;
		ev.data.ptr = c;
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(c);
			continue;
		}
		c->next = s->conns;
		if (s->conns)
			s->conns->prev = c;
		s->conns = c;
		s->nconns++;
	}
}

static void garbage(struct jst_server *s, struct conn *c, const char *what)
{
	if (c->warned++ < 3)
		jst_log(LOG_WARNING, "closing connection of pid %ld uid %ld: %s", (long)c->pid,
			(long)c->uid, what);
	conn_close(s, c);
}

static void handle_packet(struct jst_server *s, struct conn *c, size_t n, bool trunc)
{
	struct jst_msg_hdr h;
	struct jst_rbuf r;
	int rc = jst_wire_check(s->rbuf, n, trunc, &h);

	switch (rc) {
	case 0:
		break;
	case JST_EPROTO:
		return garbage(s, c, "not a jobstat control message");
	case JST_EMSGSIZE:
		return reply_fail(s, c, &h, rc, "the message exceeds the %d-byte limit",
				  JST_MSG_MAX);
	case JST_EPROTOVERSION:
		return reply_fail(s, c, &h, rc,
				  "this jobstatd speaks control protocol version %d, not %u",
				  JST_PROTO_VERSION, h.version);
	default:
		return reply_fail(s, c, &h, JST_EPROTO,
				  "the header says %" PRIu32 " bytes, the message has %zu", h.len, n);
	}
	jst_rbuf_init(&r, s->rbuf, n);
	if (!c->hello && h.type != JST_MSG_HELLO)
		return reply_fail(s, c, &h, JST_EPROTO, "the first message must be HELLO");
	switch (h.type) {
	case JST_MSG_HELLO:
		return on_hello(s, c, &h, &r);
	case JST_MSG_CREATE:
		return on_create(s, c, &h, &r);
	case JST_MSG_UPDATE:
		return on_update(s, c, &h, &r);
	case JST_MSG_ERROR:
		return on_error(s, c, &h, &r);
	case JST_MSG_REMOVE:
		return on_remove(s, c, &h, &r);
	case JST_MSG_REQUEST:
		return on_request(s, c, &h, &r);
	case JST_MSG_EVENT_REPLY:
		return on_event_reply(s, c, &h, &r);
	case JST_MSG_GET:
		return on_get(s, c, &h, &r);
	case JST_MSG_GET_BY_ID:
		return on_get_by_id(s, c, &h, &r);
	case JST_MSG_GET_ERROR:
		return on_get_error(s, c, &h, &r);
	case JST_MSG_STATS:
		return on_stats(s, c, &h, &r);
	default:
		return reply_fail(s, c, &h, JST_EPROTO, "unknown message type %u", h.type);
	}
}

static void conn_readable(struct jst_server *s, struct conn *c)
{
	for (int i = 0; i < RECV_BURST && !c->dead && c->out_n == 0; i++) {
		struct iovec iov = {s->rbuf, sizeof(s->rbuf)};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		ssize_t n = recvmsg(c->fd, &mh, MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			conn_close(s, c); /* EOF or error: the peer is gone */
			return;
		}
		handle_packet(s, c, (size_t)n, (mh.msg_flags & MSG_TRUNC) || (size_t)n > JST_MSG_MAX);
	}
}

/* ---- timers firing ---- */

static void timers_run(struct jst_server *s, uint64_t now)
{
	while (s->ntimers && s->timers[0].due <= now) {
		struct timer t = timer_pop(s);

		if (t.kind == T_REMOVE) {
			jst_handle h = {t.a, t.b};
			struct jobpriv *jp = jp_of(s, h);

			if (jp && jp->remove_due == t.due)
				job_remove(s, h);
		} else if (t.kind == T_LOST) {
			struct session *x = session_find(s, t.c);

			if (x)
				x->lost_timer = false;
			if (x && !x->conn && x->lost_due > now) {
				/* It reconnected and left again since: wait for the new deadline. */
				timer_add(s, x->lost_due, T_LOST, 0, 0, x->id);
				x->lost_timer = true;
			} else if (x && !x->conn && x->lost_due) {
				session_set_lost(s, x, true);
				jst_log(LOG_INFO, "session %016" PRIx64 " (uid %ld): producer gone, "
					"%u jobs show Lost Communication", x->id, (long)x->uid,
					x->njobs);
			}
		} else if (t.kind == T_RSC) {
			for (struct pending *p = s->pendings; p; p = p->next) {
				if (p->event_id == t.a && p->due == t.due) {
					pending_answer(s, p, JST_ETIMEDOUT, 0);
					pending_unlink(s, p);
					break;
				}
			}
		}
	}
}

/* ---- the fuzzer's entry (tests/fuzz/fuzz_proto.c) ---- */

int jst_server_feed(struct jst_server *s, int fd, bool hello, uid_t uid, const uint8_t *pkt,
		    size_t n)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return JST_ENOMEM;
	c->fd = fd;
	c->uid = uid;
	c->gid = (gid_t)uid;
	c->pid = getpid();
	c->admin = uid == 0;
	c->hello = hello;
	c->reading = true;
	/* Linked like an accepted connection, so that closing and freeing it is the real path. */
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	if (hello) {
		c->sess = session_new(s, 0, uid);
		if (c->sess)
			c->sess->conn = c;
	}
	n = n < sizeof(s->rbuf) ? n : sizeof(s->rbuf);
	memcpy(s->rbuf, pkt, n);
	c->fd = dup(fd); /* conn_close() closes it; the caller keeps its own */
	handle_packet(s, c, n, false);
	conn_close(s, c); /* unless the packet got it closed already */
	conn_free_dead(s);
	timers_run(s, UINT64_MAX); /* whatever the packet scheduled, run it now */
	return 0;
}

/* ---- setup ---- */

/* Rebuild the private view of the jobs an adopted segment holds. */
static int adopt_jobs(struct jst_server *s)
{
	struct jst_status st;
	uint32_t pos = 0;
	uint64_t due = mono() + s->cfg.lost_grace_ns;

	while (jst_next(s->self, &pos, &st) == 0) {
		jst_handle h = st.handle;
		struct jobpriv *jp = &s->jobs[h.slot];
		struct session *x = NULL;

		jp->gen = h.gen;
		if (h.slot >= s->hwm)
			s->hwm = h.slot + 1;
		if (st.producer_session) {
			x = session_find(s, st.producer_session);
			if (!x) {
				x = session_new(s, st.producer_session, st.owner_uid);
				if (!x)
					return JST_ENOMEM;
				x->lost_due = due;
				timer_add(s, due, T_LOST, 0, 0, x->id);
				x->lost_timer = true;
			}
			if (x->uid != st.owner_uid)
				x = NULL; /* inconsistent: leave the job without a producer */
		}
		jp->sess = x;
		if (x)
			x->njobs++;
		if (st.n_operational_status && st.operational_status[0] == JST_OPS_LOST_COMMUNICATION) {
			jp->lost = true;
			jp->n_saved = (uint8_t)jst_default_op_status(st.job_state, jp->saved);
		}
		if (jst_job_state_is_final(st.job_state) &&
		    (st.flags & JST_STATUS_DELETE_ON_COMPLETION))
			schedule_removal(s, h, &st);
	}
	return 0;
}

/*
 * Bind under a temporary name, set its mode and group, listen, and only then
 * rename it into place: a client never finds a socket that refuses it
 * because the daemon is not listening yet, nor one with looser permissions.
 */
static int listen_socket(struct jst_server *s)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char tmp[sizeof(sa.sun_path)];
	mode_t old;
	int rc;

	if (strlcpy(s->sock_path, s->cfg.socket_path, sizeof(s->sock_path)) >=
		    sizeof(s->sock_path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s.new", s->cfg.socket_path) >= sizeof(tmp))
		return JST_ETOOLONG;
	strlcpy(sa.sun_path, tmp, sizeof(sa.sun_path));
	s->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->lfd < 0)
		return JST_ESYS;
	/* The caller holds the namespace's pidfile lock: a socket file here is stale. */
	unlink(tmp);
	old = umask(0777 & ~s->cfg.socket_mode); /* never a moment with looser permissions */
	rc = bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0)
		return errno == EACCES ? JST_EACCES : JST_ESYS;
	if (chmod(tmp, s->cfg.socket_mode) < 0 ||
	    (s->cfg.set_group && chown(tmp, (uid_t)-1, s->cfg.gid) < 0)) {
		rc = errno == EPERM ? JST_EACCES : JST_ESYS;
		unlink(tmp);
		return rc;
	}
	if (listen(s->lfd, 128) < 0 || rename(tmp, s->sock_path) < 0) {
		unlink(tmp);
		return JST_ESYS;
	}
	return 0;
}

int jst_server_create(struct jst_pub *pub, const char *shm_name,
		      const struct jst_server_config *cfg, struct jst_server **ret_srv)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	struct jst_server *s;
	struct jst_info info;
	int rc;

	if (!pub || !shm_name || !cfg || !cfg->socket_path || !ret_srv)
		return JST_EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return JST_ENOMEM;
	s->lfd = s->epfd = -1;
	s->pub = pub;
	s->cfg = *cfg;
	if (!s->cfg.socket_mode)
		s->cfg.socket_mode = 0660;
	s->cfg.socket_mode &= 0775u; /* never world-writable */
	if (!s->cfg.lost_grace_ns)
		s->cfg.lost_grace_ns = JST_SERVER_DEFAULT_LOST_GRACE_NS;
	if (!s->cfg.max_conns)
		s->cfg.max_conns = JST_SERVER_DEFAULT_MAX_CONNS;
	rc = jst_attach_shm(shm_name, &s->self);
	if (rc < 0)
		goto fail;
	jst_info(s->self, &info);
	s->generation = info.generation;
	s->capacity = info.capacity;
	s->jobs = calloc(s->capacity, sizeof(*s->jobs));
	rc = JST_ENOMEM;
	if (!s->jobs)
		goto fail;
	rc = adopt_jobs(s);
	if (rc < 0)
		goto fail;
	rc = listen_socket(s);
	if (rc < 0)
		goto fail;
	rc = JST_ESYS;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0 || epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->lfd, &ev) < 0)
		goto fail;
	*ret_srv = s;
	return 0;
fail:
	jst_server_destroy(s);
	return rc;
}

int jst_server_run(struct jst_server *s, volatile sig_atomic_t *stop, volatile sig_atomic_t *hup,
		   int (*reload)(struct jst_server_reload *r), const sigset_t *sigmask,
		   uint64_t heartbeat_ns)
{
	struct epoll_event evs[64];
	uint64_t next_beat = 0;

	while (!*stop) {
		uint64_t now = mono(), until = next_beat;
		int n, timeout_ms;

		if (*hup) {
			struct jst_server_reload rl = {0};

			*hup = 0;
			if (reload && reload(&rl) == 0) {
				s->cfg.admin_group_set = rl.admin_group_set;
				s->cfg.admin_gid = rl.admin_gid;
				if (rl.lost_grace_ns)
					s->cfg.lost_grace_ns = rl.lost_grace_ns;
				for (struct conn *c = s->conns; c; c = c->next)
					if (!c->dead)
						c->admin = c->uid == 0 ||
							   in_admin_group(s, c->fd, c->gid);
			}
		}
		if (now >= next_beat) {
			jst_pub_heartbeat(s->pub);
			next_beat = now + heartbeat_ns;
			until = next_beat;
		}
		timers_run(s, now);
		if (s->ntimers && s->timers[0].due < until)
			until = s->timers[0].due;
		timeout_ms = (int)((until - now + 999999) / 1000000);
		n = epoll_pwait(s->epfd, evs, 64, timeout_ms, sigmask);
		if (n < 0 && errno != EINTR)
			return JST_ESYS;
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (!c) {
				accept_all(s);
				continue;
			}
			if (c->dead)
				continue;
			if (c->out_n && (evs[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR)))
				conn_flush(s, c);
			if (!c->dead && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				conn_readable(s, c);
			/* Hung up with replies it can no longer take: nothing more to do for it. */
			if (!c->dead && c->out_n && (evs[i].events & (EPOLLHUP | EPOLLERR)))
				conn_close(s, c);
		}
		conn_free_dead(s);
	}
	return 0;
}

void jst_server_destroy(struct jst_server *s)
{
	if (!s)
		return;
	s->stopping = true;
	for (struct conn *c = s->conns; c; c = c->next)
		conn_close(s, c);
	conn_free_dead(s);
	while (s->pendings)
		pending_unlink(s, s->pendings);
	while (s->sessions) {
		struct session *x = s->sessions;

		s->sessions = x->next;
		free(x);
	}
	if (s->lfd >= 0) {
		close(s->lfd);
		unlink(s->sock_path);
	}
	if (s->epfd >= 0)
		close(s->epfd);
	jst_detach(s->self);
	free(s->timers);
	free(s->jobs);
	free(s);
}
