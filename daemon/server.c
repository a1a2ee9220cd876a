/* SPDX-License-Identifier: MIT */
/*
 * server.c - jobstatd's control plane transport (server.h): one thread, one
 * epoll loop, the listening socket, connections and their queues, and the
 * dispatch of each packet to its handler (requests.c). No thread shares data
 * with another: the publisher has exactly one writer and the control plane
 * is that writer (README.md, "Design"), so there is nothing to lock.
 */
#define _GNU_SOURCE
#include <bsd/string.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "server-internal.h"

/*
 * Messages one uid may have served in one loop turn, whatever its number of
 * connections: a uid with 160 busy connections gets the share of a uid with
 * one. Small, so that another uid's message waits for at most this many of
 * each busy uid's; a lone uid still gets them back to back, turn after turn.
 */
#define UID_BURST 16
/*
 * And a turn ends once it has served for this long, whatever the budgets
 * left: a message that arrived meanwhile is not seen until the next
 * epoll_pwait(), so it waits for at most this (and the message being
 * served). Messages are not all equal: a flood's first errors write fresh
 * pool memory and cost several times a status update, and 16 of them per
 * uid made bench/noisy's victim wait 0.3-0.6 ms in the first 250 ms of its
 * first flood.
 */
#define TURN_NS 50000u
/*
 * Connections accepted in one loop turn: a uid connecting (or being refused
 * at its connection quota) in a loop makes the listening socket ready
 * without end, and every uid's messages would wait for the whole backlog.
 * The rest stay in it (level-triggered) for the next turn.
 */
#define ACCEPT_BURST 32
/*
 * A connection whose request was refused (JST_EQUOTA, JST_ELIMIT) is not
 * read again for a delay that doubles from the first to the last of these
 * with every refusal in a row and ends with an accepted request: a client
 * looping on refusals otherwise costs the daemon as much as real work, and
 * every other uid waits behind it.
 */
#define PARK_PER_UID 8 /* refused connections held for one uid; more are refused at once */
#define BACKOFF_FIRST_NS (1000ull * 1000)       /* 1 ms */
#define BACKOFF_MAX_NS (250ull * 1000 * 1000)   /* 250 ms: well inside a client's 10 s deadline */
#define WATCH_INTERVAL_NS (1000ull * 1000 * 1000) /* how often the runtime files are checked */
#define WATCH_GIVE_UP 5 /* checks in a row that could not make them again: stop cleanly */
#define MAX_GROUPS 256

static void accept_resume(struct jst_server *s);


/* Read it only while it has no replies waiting and is not backed off. */
static bool conn_wants_in(const struct conn *c)
{
	return c->out_n == 0 && !c->backed_off;
}

static void conn_arm(struct jst_server *s, struct conn *c)
{
	struct epoll_event ev = {.data.ptr = c};
	bool want_in = conn_wants_in(c), want_out = c->out_n != 0;

	ev.events = (want_in ? EPOLLIN : 0) | (want_out ? EPOLLOUT : 0);
	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0) {
		c->reading = want_in;
		c->writing = want_out;
	}
}

/*
 * Arm @c for what it needs now, if that differs from what is armed: both
 * directions count, or a connection left with EPOLLOUT on an empty, writable
 * socket (its replies drained while it was backed off) wakes epoll_pwait()
 * at once, every turn, until its back-off ends. One syscall only on a change.
 */
static void conn_sync(struct jst_server *s, struct conn *c)
{
	if (conn_wants_in(c) != c->reading || (c->out_n != 0) != c->writing)
		conn_arm(s, c);
}

/* ---- the ready queues: uids, not connections, are served in turn ---- */

/* Queue @c, which epoll says has something to read, behind its uid's others. */
static void ready_add(struct jst_server *s, struct conn *c)
{
	struct ready_uid *q, **pp;

	if (c->queued || c->dead || !conn_wants_in(c))
		return;
	for (pp = &s->ready; *pp && (*pp)->uid != c->uid; pp = &(*pp)->next)
		;
	q = *pp;
	if (!q) {
		q = calloc(1, sizeof(*q));
		if (!q)
			return; /* level-triggered: epoll reports it again next turn */
		q->uid = c->uid;
		q->budget = UID_BURST;
		*pp = q; /* a uid new to the queues comes last */
	}
	c->rq = q;
	c->rprev = q->tail;
	c->rnext = NULL;
	if (q->tail)
		q->tail->rnext = c;
	else
		q->head = c;
	q->tail = c;
	c->queued = true;
}

/* Take @c off its queue; an emptied queue stays until serve_ready() sweeps it. */
static void ready_remove(struct conn *c)
{
	struct ready_uid *q = c->rq;

	if (!c->queued)
		return;
	if (c->rprev)
		c->rprev->rnext = c->rnext;
	else
		q->head = c->rnext;
	if (c->rnext)
		c->rnext->rprev = c->rprev;
	else
		q->tail = c->rprev;
	c->rprev = c->rnext = NULL;
	c->rq = NULL;
	c->queued = false;
}

static bool ready_pending(const struct jst_server *s)
{
	for (const struct ready_uid *q = s->ready; q; q = q->next)
		if (q->head)
			return true;
	return false;
}

/*
 * Stop reading @c for its back-off delay, after it was refused: its refusal
 * is sent already, only its next message waits. Doubles with each refusal
 * in a row, up to BACKOFF_MAX_NS; T_BACKOFF (jobs.c) ends it.
 */
static void conn_backoff(struct jst_server *s, struct conn *c)
{
	c->backoff_ns = c->backoff_ns ? c->backoff_ns * 2 : BACKOFF_FIRST_NS;
	if (c->backoff_ns > BACKOFF_MAX_NS)
		c->backoff_ns = BACKOFF_MAX_NS;
	c->backed_off = true;
	ready_remove(c);
	conn_sync(s, c);
	jst__timer_add(s, jst__mono() + c->backoff_ns, T_BACKOFF, 0, 0, c->id);
}

void jst__conn_backoff_end(struct jst_server *s, uint64_t conn_id)
{
	for (struct conn *c = s->conns; c; c = c->next) {
		if (c->id != conn_id)
			continue;
		if (!c->dead && c->backed_off) {
			c->backed_off = false;
			/* Level-triggered: what it sent meanwhile is reported by the next wait. */
			conn_arm(s, c);
		}
		return;
	}
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
			jst__conn_close(s, c);
			return;
		}
		c->out_head = o->next;
		if (!c->out_head)
			c->out_tail = NULL;
		c->out_n--;
		free(o);
	}
	conn_sync(s, c);
}

/*
 * Send the message in s->w to @c. A client that does not read its replies
 * gets them queued and is not read from until they drain, so it can neither
 * stall the daemon nor make it buffer without bound.
 */
void jst__conn_send(struct jst_server *s, struct conn *c)
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
			jst__conn_close(s, c);
			return;
		}
	}
	if (c->out_n >= OUT_QUEUE_MAX) {
		jst_log(LOG_WARNING, "client pid %ld does not read its replies; disconnected",
			(long)c->pid);
		jst__conn_close(s, c);
		return;
	}
	o = malloc(sizeof(*o) + s->w.len);
	if (!o) {
		jst__conn_close(s, c);
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
	conn_sync(s, c);
}

/* The cumulative refusal counters, for the fleet's monitoring (exporter/). */
static void refusal_count(struct jst_server *s, int rc)
{
	struct jst_counters_writer *w = jst_pub_counters(s->pub);

	if (rc == JST_ENOSPC)
		jst_counters_refused(w, JST_SHM_REFUSE_SEGMENT_FULL);
	else if (rc == JST_ELIMIT)
		jst_counters_refused(w, JST_SHM_REFUSE_CLIENTS);
	else if (rc == JST_EQUOTA)
		jst_counters_refused(w, JST_SHM_REFUSE_QUOTA);
}

void jst__reply_fail(struct jst_server *s, struct conn *c, const struct jst_msg_hdr *h, int rc,
		       const char *fmt, ...)
{
	char detail[JST_DETAIL_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	refusal_count(s, rc);
	c->failed = true;
	c->refused = rc == JST_EQUOTA || rc == JST_ELIMIT;
	/* Every RequestStateChange is counted once, by the code its requester ends with. */
	if (h->type == JST_MSG_REQUEST)
		jst_counters_rsc(jst_pub_counters(s->pub), jst_rsc_method_code(rc, 0, JST_FLAVOUR_CIM));
	jst_enc_fail(&s->w, h->type, h->id, rc, detail);
	jst__conn_send(s, c);
}

void jst__conn_close(struct jst_server *s, struct conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	ready_remove(c);
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	jst__conn_gone(s, c);
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
		if (c->id) /* the fuzzer's fed connections are not counted */
			jst__use_add(s, c->uid, Q_CONNS, -1);
		jst__timer_cancel(s, T_HELLO, 0, c->id);
		if (c->backed_off)
			jst__timer_cancel(s, T_BACKOFF, 0, c->id);
		free(c);
		accept_resume(s); /* a descriptor is free again */
	}
}

bool jst__in_admin_group(struct jst_server *s, int fd, gid_t primary)
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

/* Refuse a connection before serving it: its reason is the reply to a HELLO it may send. */
static void refuse(struct jst_server *s, int fd, int rc, const char *why)
{
	refusal_count(s, rc);
	jst_enc_fail(&s->w, JST_MSG_HELLO, 0, rc, why);
	if (jst_wire_finish(&s->w) == 0)
		send(fd, s->w.buf, s->w.len, MSG_DONTWAIT | MSG_NOSIGNAL);
	/* Read what it sent already: closing on unread data would reset it first. */
	while (recv(fd, s->rbuf, sizeof(s->rbuf), MSG_DONTWAIT) > 0)
		;
	close(fd);
}

/*
 * Refuse a connection over its uid's connection quota. Refused again within
 * twice its last delay, the uid is looping: hold the connection, unread, and
 * answer it when a delay (1 ms doubling to 250 ms) ends (jst__park_end()),
 * so a client reconnecting in a loop is slowed as a refused request is. At
 * most PARK_PER_UID a uid and PARK_MAX in all are held (each is a
 * descriptor); past that, and for a first refusal, the answer is at once.
 */
static void refuse_quota(struct jst_server *s, int fd, uid_t uid, const char *why)
{
	struct uid_use *u = jst__use(s, uid);
	uint64_t now = jst__mono();
	struct parked *p = NULL;

	if (!u) {
		refuse(s, fd, JST_EQUOTA, why);
		return;
	}
	if (u->refused_at && now - u->refused_at <= 2 * u->refuse_delay_ns + BACKOFF_FIRST_NS)
		u->refuse_delay_ns = u->refuse_delay_ns * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS
									    : u->refuse_delay_ns * 2;
	else
		u->refuse_delay_ns = 0; /* not looping (yet): answered at once */
	u->refused_at = now;
	for (int i = 0; i < PARK_MAX && !p && u->refuse_delay_ns && u->parked < PARK_PER_UID; i++)
		if (!s->parked[i].seq)
			p = &s->parked[i];
	if (!p) {
		if (!u->refuse_delay_ns)
			u->refuse_delay_ns = BACKOFF_FIRST_NS / 2; /* the next, soon, is held 1 ms */
		refuse(s, fd, JST_EQUOTA, why);
		return;
	}
	p->seq = ++s->park_seq;
	p->fd = fd;
	p->uid = uid;
	strlcpy(p->why, why, sizeof(p->why));
	jst__use_add(s, uid, Q_PARKED, 1);
	jst__timer_add(s, now + u->refuse_delay_ns, T_PARK, (uint32_t)(p - s->parked), 0, p->seq);
}

void jst__park_end(struct jst_server *s, uint32_t slot, uint64_t seq)
{
	struct parked *p = slot < PARK_MAX ? &s->parked[slot] : NULL;

	if (!p || !p->seq || p->seq != seq)
		return;
	p->seq = 0;
	refuse(s, p->fd, JST_EQUOTA, p->why);
	jst__use_add(s, p->uid, Q_PARKED, -1);
	accept_resume(s); /* a descriptor is free again */
}

/*
 * Out of descriptors: stop listening until a connection closes (the
 * listening socket would otherwise be readable for ever, a spinning loop),
 * and say so once.
 */
static void accept_pause(struct jst_server *s, int e)
{
	if (s->accept_paused)
		return;
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->lfd, NULL);
	s->accept_paused = true;
	jst_log(LOG_ERR, "out of file descriptors (%s) with %u connections: not accepting until "
		"one closes; raise LimitNOFILE or lower --max-clients", strerror(e), s->nconns);
}

static void accept_resume(struct jst_server *s)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};

	if (!s->accept_paused || epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->lfd, &ev) < 0)
		return;
	s->accept_paused = false;
	jst_log(LOG_INFO, "accepting connections again (%u open)", s->nconns);
}

static void accept_some(struct jst_server *s)
{
	uint64_t t0 = jst__mono();

	/* At most ACCEPT_BURST, and for at most TURN_NS, like a turn of messages. */
	for (int i = 0; i < ACCEPT_BURST && (!i || jst__mono() - t0 < TURN_NS); i++) {
		struct epoll_event ev = {.events = EPOLLIN};
		struct ucred cred;
		socklen_t len = sizeof(cred);
		char why[JST_DETAIL_MAX];
		struct conn *c;
		bool admin;
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				accept_pause(s, errno);
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
			close(fd);
			continue;
		}
		if (s->nconns >= s->cfg.max_conns) {
			refuse(s, fd, JST_ELIMIT, "jobstatd serves its maximum of connections; try "
			       "again later");
			jst_log(LOG_WARNING, "refused pid %ld: %u connections", (long)cred.pid,
				s->nconns);
			continue;
		}
		admin = cred.uid == 0 || jst__in_admin_group(s, fd, cred.gid);
		if (jst__quota_check(s, cred.uid, admin, Q_CONNS, why, sizeof(why)) < 0) {
			refuse_quota(s, fd, cred.uid, why);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->id = ++s->next_conn_id;
		c->fd = fd;
		c->uid = cred.uid;
		c->gid = cred.gid;
		c->pid = cred.pid;
		c->admin = admin;
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
		jst__use_add(s, c->uid, Q_CONNS, 1);
		/* It must say HELLO soon: an idle connection holds a slot others need. */
		jst__timer_add(s, jst__mono() + s->cfg.hello_timeout_ns, T_HELLO, 0, 0, c->id);
	}
}

static void garbage(struct jst_server *s, struct conn *c, const char *what)
{
	if (c->warned++ < 3)
		jst_log(LOG_WARNING, "closing connection of pid %ld uid %ld: %s", (long)c->pid,
			(long)c->uid, what);
	jst__conn_close(s, c);
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
		return jst__reply_fail(s, c, &h, rc, "the message exceeds the %d-byte limit",
				  JST_MSG_MAX);
	case JST_EPROTOVERSION:
		return jst__reply_fail(s, c, &h, rc,
				  "this jobstatd speaks control protocol version %d, not %u",
				  JST_PROTO_VERSION, h.version);
	default:
		return jst__reply_fail(s, c, &h, JST_EPROTO,
				  "the header says %" PRIu32 " bytes, the message has %zu", h.len, n);
	}
	jst_rbuf_init(&r, s->rbuf, n);
	/* A resend is answered under the type it was first sent with. */
	c->resent = h.type & JST_MSG_RESENT;
	h.type &= (uint16_t)~JST_MSG_RESENT;
	if (!c->hello && h.type != JST_MSG_HELLO)
		return jst__reply_fail(s, c, &h, JST_EPROTO, "the first message must be HELLO");
	jst__handle_request(s, c, &h, &r);
}

/*
 * Take one message from @c and handle it. Return 1 if one was handled, 0 if
 * there was none (it leaves the queue until epoll reports it again), -1 if
 * the connection closed.
 */
static int conn_read_one(struct jst_server *s, struct conn *c)
{
	struct iovec iov = {s->rbuf, sizeof(s->rbuf)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n = recvmsg(c->fd, &mh, MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		jst__conn_close(s, c); /* EOF or error: the peer is gone */
		return -1;
	}
	c->failed = c->refused = false;
	handle_packet(s, c, (size_t)n, (mh.msg_flags & MSG_TRUNC) || (size_t)n > JST_MSG_MAX);
	if (c->dead)
		return 1;
	if (c->refused)
		conn_backoff(s, c);
	else if (!c->failed)
		c->backoff_ns = 0; /* accepted: the next refusal starts the back-off anew */
	return 1;
}

/*
 * Serve the ready queues: one message per uid in turn, each uid's turn going
 * round its connections, until every uid has had UID_BURST messages or has
 * nothing left, or TURN_NS has passed. A connection with more stays queued
 * for the next turn, so nothing is lost or starved, and the loop does not
 * wait in epoll meanwhile. The uids rotate between turns (below), so the
 * uids a turn cut short come first in a later one.
 */
static void serve_ready(struct jst_server *s)
{
	uint64_t t0 = jst__mono();
	bool more = true;

	for (struct ready_uid *q = s->ready; q; q = q->next)
		q->budget = UID_BURST;
	while (more) {
		more = false;
		/* Handling never frees a queue (ready_remove() leaves it), nor adds one. */
		for (struct ready_uid *q = s->ready; q; q = q->next) {
			struct conn *c = q->head;

			if (!c || !q->budget)
				continue;
			more = true;
			if (!conn_wants_in(c) || conn_read_one(s, c) <= 0) {
				ready_remove(c); /* none left, or closed (removed already) */
				continue;
			}
			q->budget--;
			if (c->queued && c != q->tail) { /* its uid's next connection goes next */
				ready_remove(c);
				ready_add(s, c);
			}
			if (jst__mono() - t0 >= TURN_NS) {
				more = false;
				break;
			}
		}
	}
	/* Sweep the emptied queues; the uid served first this turn goes last next turn. */
	for (struct ready_uid **pp = &s->ready; *pp;) {
		struct ready_uid *q = *pp;

		if (!q->head) {
			*pp = q->next;
			free(q);
		} else {
			pp = &q->next;
		}
	}
	if (s->ready && s->ready->next) {
		struct ready_uid *first = s->ready, *last = first;

		while (last->next)
			last = last->next;
		s->ready = first->next;
		first->next = NULL;
		last->next = first;
	}
}

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
		c->sess = jst__session_new(s, 0, uid);
		if (c->sess)
			c->sess->conn = c;
	}
	n = n < sizeof(s->rbuf) ? n : sizeof(s->rbuf);
	memcpy(s->rbuf, pkt, n);
	c->fd = dup(fd); /* jst__conn_close() closes it; the caller keeps its own */
	handle_packet(s, c, n, false);
	jst__conn_close(s, c); /* unless the packet got it closed already */
	conn_free_dead(s);
	jst__timers_run(s, UINT64_MAX, UINT64_MAX); /* whatever the packet scheduled, run it now */
	return 0;
}

/*
 * Bind under a temporary name, set its mode and group, listen, and only then
 * rename it into place: a client never finds a socket that refuses it
 * because the daemon is not listening yet, nor one with looser permissions.
 */
int jst_server_listen(const struct jst_server_config *cfg, struct jst_listener *out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char tmp[sizeof(sa.sun_path)];
	struct stat sb;
	mode_t old;
	int rc, fd, e, old_fsgid = 0;
	uint32_t mode = cfg->socket_mode ? cfg->socket_mode & 0775u : 0660;

	if (strlcpy(out->path, cfg->socket_path, sizeof(out->path)) >= sizeof(out->path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s.new", cfg->socket_path) >= sizeof(tmp))
		return JST_ETOOLONG;
	memcpy(out->tmp, tmp, sizeof(out->tmp));
	strlcpy(sa.sun_path, tmp, sizeof(sa.sun_path));
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return JST_ESYS;
	/* The caller holds the namespace's pidfile lock: a socket file here is stale. */
	unlink(tmp);
	/*
	 * Mode from the umask and group from the fsgid, as bind() creates the
	 * file: nothing by path afterwards, so nothing a link swapped in under
	 * the name could redirect (the service user keeps this directory).
	 */
	old = umask(0777 & ~mode);
	if (cfg->set_group)
		old_fsgid = setfsgid(cfg->gid);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	e = errno;
	if (cfg->set_group)
		setfsgid(old_fsgid);
	umask(old);
	if (rc < 0) {
		close(fd);
		return e == EACCES ? JST_EACCES : JST_ESYS;
	}
	if (cfg->set_group && (lstat(tmp, &sb) < 0 || sb.st_gid != cfg->gid) &&
	    (geteuid() == 0 || chown(tmp, (uid_t)-1, cfg->gid) < 0)) {
		/*
		 * Not root, the fsgid cannot be a supplementary group: chown by path
		 * is safe there, in a runtime directory that is ours alone. Else fail.
		 */
		unlink(tmp);
		close(fd);
		return JST_EACCES;
	}
	if (listen(fd, 128) < 0) {
		unlink(tmp);
		close(fd);
		return JST_ESYS;
	}
	out->fd = fd;
	return 0;
}

/*
 * Put a listener made by jst_server_listen() in place: from now on clients
 * find it, and the daemon is ready for them. It becomes the server's own.
 */
static int listener_open(struct jst_server *s, const struct jst_listener *l)
{
	struct stat sb;

	if (rename(l->tmp, l->path) < 0 || stat(l->path, &sb) < 0) {
		unlink(l->tmp);
		close(l->fd);
		return JST_ESYS;
	}
	memcpy(s->sock_path, l->path, sizeof(s->sock_path));
	/* What we made, so that socket_check() can tell it from nothing or another file. */
	s->sock_dev = sb.st_dev;
	s->sock_ino = sb.st_ino;
	return 0;
}

/* The socket made again (socket_check()) or at creation. */
static int listen_socket(struct jst_server *s, int *ret_fd)
{
	struct jst_listener l = {.fd = -1};
	int rc = jst_server_listen(&s->cfg, &l);

	if (rc == 0)
		rc = listener_open(s, &l);
	*ret_fd = l.fd;
	return rc;
}

/*
 * Is our socket still where clients look for it? A runtime directory can
 * vanish under a running daemon (a logout removes $XDG_RUNTIME_DIR, a /tmp
 * cleaner, rm -rf): then listen on a new socket at the same path, so the
 * daemon's producers and clients can find it again.
 */
static int socket_check(struct jst_server *s)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	struct stat sb;
	int fd;

	if (stat(s->sock_path, &sb) == 0 && sb.st_dev == s->sock_dev && sb.st_ino == s->sock_ino)
		return 0;
	if (listen_socket(s, &fd) < 0 || epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		if (!s->sock_lost)
			jst_log(LOG_ERR, "control socket %s disappeared and cannot be made again: "
				"%s", s->sock_path, strerror(errno));
		s->sock_lost = true;
		return -1;
	}
	jst_log(LOG_WARNING, "control socket %s disappeared; listening on a new one",
		s->sock_path);
	s->sock_lost = false;
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->lfd, NULL);
	close(s->lfd);
	s->lfd = fd;
	return 0;
}

int jst_server_create(struct jst_pub *pub, const struct jst_server_config *cfg,
		      struct jst_server **ret_srv)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	struct jst_server *s;
	int rc;

	if (!pub || !cfg || !cfg->socket_path || !ret_srv)
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
	if (!s->cfg.hello_timeout_ns)
		s->cfg.hello_timeout_ns = JST_SERVER_DEFAULT_HELLO_TIMEOUT_NS;
	if (!s->cfg.orphan_timeout_ns)
		s->cfg.orphan_timeout_ns = JST_SERVER_DEFAULT_ORPHAN_TIMEOUT_NS;
	rc = jst_pub_reader(pub, &s->reads);
	if (rc < 0)
		goto fail;
	s->generation = jst_pub_generation(pub);
	s->capacity = jst_pub_capacity(pub);
	jst__quota_limits(s, &s->cfg.quota);
	s->jobs = calloc(s->capacity, sizeof(*s->jobs));
	rc = JST_ENOMEM;
	if (!s->jobs)
		goto fail;
	rc = jst__adopt_jobs(s);
	if (rc < 0)
		goto fail;
	if (cfg->listen_fd > 0) {
		s->lfd = cfg->listen_fd;
		s->activated = true;
		if (fcntl(s->lfd, F_SETFL, fcntl(s->lfd, F_GETFL) | O_NONBLOCK) < 0 ||
		    fcntl(s->lfd, F_SETFD, FD_CLOEXEC) < 0) {
			rc = JST_ESYS;
			goto fail;
		}
	} else if (cfg->bound) {
		rc = listener_open(s, cfg->bound);
		if (rc < 0)
			goto fail;
		s->lfd = cfg->bound->fd;
	} else {
		rc = listen_socket(s, &s->lfd);
		if (rc < 0)
			goto fail;
	}
	s->evs_cap = s->cfg.max_conns + 2; /* every connection, the listening socket, one spare */
	s->evs = calloc(s->evs_cap, sizeof(*s->evs));
	rc = JST_ENOMEM;
	if (!s->evs)
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
	uint64_t next_beat = 0, next_watch = jst__mono() + WATCH_INTERVAL_NS;
	int watch_failures = 0;
	bool prepare = true; /* jst_pub_prepare() may have a step to do */

	while (!*stop) {
		uint64_t now = jst__mono(), until = next_beat;
		bool timers_left;
		int n, timeout_ms;

		if (*hup) {
			struct jst_server_reload rl = {0};

			*hup = 0;
			if (reload && reload(&rl) == 0) {
				s->cfg.admin_group_set = rl.admin_group_set;
				s->cfg.admin_gid = rl.admin_gid;
				if (rl.lost_grace_ns)
					s->cfg.lost_grace_ns = rl.lost_grace_ns;
				if (rl.orphan_timeout_ns)
					s->cfg.orphan_timeout_ns = rl.orphan_timeout_ns;
				s->cfg.quota = rl.quota;
				s->cfg.orgs = rl.orgs;
				jst__quota_limits(s, &s->cfg.quota);
				for (struct conn *c = s->conns; c; c = c->next)
					if (!c->dead)
						c->admin = c->uid == 0 ||
							   jst__in_admin_group(s, c->fd, c->gid);
			}
		}
		if (now >= next_watch) {
			/* The runtime directory's files: the daemon's (cfg.watch), then ours. */
			int bad = s->cfg.watch && s->cfg.watch() < 0;

			if (!s->activated && socket_check(s) < 0) /* an activated one is systemd's */
				bad = 1;
			watch_failures = bad ? watch_failures + 1 : 0;
			if (watch_failures >= WATCH_GIVE_UP) {
				/*
				 * Unreachable, and unable to become reachable again (a service
				 * user cannot write root's runtime directory): stop cleanly.
				 * The segment stays; a restarted jobstatd adopts it.
				 */
				jst_log(LOG_ERR, "runtime files gone for %d s and cannot be made "
					"again: stopping; a restarted jobstatd adopts the segment",
					WATCH_GIVE_UP);
				break;
			}
			next_watch = now + WATCH_INTERVAL_NS;
		}
		if (now >= next_beat) {
			struct jst_pub_stats ps;
			uint32_t sessions = 0;

			jst_pub_heartbeat(s->pub);
			jst_pub_stats(s->pub, &ps);
			for (struct session *x = s->sessions; x; x = x->next)
				sessions++;
			jst_counters_gauges(jst_pub_counters(s->pub), s->nconns, sessions, ps.in_use,
					    now);
			next_beat = now + heartbeat_ns;
			until = next_beat;
		}
		timers_left = jst__timers_run(s, now, TURN_NS);
		if (s->ntimers && s->timers[0].due < until)
			until = s->timers[0].due;
		/*
		 * Messages or timers left from the last turn, or memory to prepare:
		 * look for new messages, but do not wait.
		 */
		timeout_ms = ready_pending(s) || timers_left || prepare
				     ? 0
				     : (int)((until - now + 999999) / 1000000);
		/* Room for every connection: each turn knows all that are ready. */
		n = epoll_pwait(s->epfd, s->evs, (int)s->evs_cap, timeout_ms, sigmask);
		if (n < 0 && errno != EINTR)
			return JST_ESYS;
		if (n > 0)
			prepare = true; /* this turn may use memory: see what is left ahead */
		else if (n == 0 && prepare && !ready_pending(s))
			/* Idle: one step of committing and mapping pages before they are needed. */
			prepare = jst_pub_prepare(s->pub, false);
		for (int i = 0; i < n; i++) {
			struct conn *c = s->evs[i].data.ptr;
			uint32_t ev = s->evs[i].events;

			if (!c) {
				accept_some(s);
				continue;
			}
			if (c->dead)
				continue;
			if (c->out_n && (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR)))
				conn_flush(s, c);
			if (!c->dead && c->backed_off && (ev & (EPOLLHUP | EPOLLERR))) {
				/* Gone while backed off: read what it left (a producer's last
				 * words), then its end, rather than wake on its hangup until
				 * the delay ends. */
				c->backed_off = false;
				jst__timer_cancel(s, T_BACKOFF, 0, c->id);
				conn_arm(s, c);
			}
			if (!c->dead && (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				ready_add(s, c);
			/* Hung up with replies it can no longer take: nothing more to do for it. */
			if (!c->dead && c->out_n && (ev & (EPOLLHUP | EPOLLERR)))
				jst__conn_close(s, c);
		}
		serve_ready(s);
		conn_free_dead(s);
		/* One wake for every change this turn published (jst_pub_flush()). */
		jst_pub_flush(s->pub);
		/* A flood may leave no idle moment: a step where a pool's margin runs low. */
		if (n > 0)
			jst_pub_prepare(s->pub, true);
	}
	return 0;
}

void jst_server_destroy(struct jst_server *s)
{
	if (!s)
		return;
	s->stopping = true;
	for (struct conn *c = s->conns; c; c = c->next)
		jst__conn_close(s, c);
	conn_free_dead(s);
	while (s->pendings)
		jst__pending_unlink(s, s->pendings);
	while (s->sessions) {
		struct session *x = s->sessions;

		s->sessions = x->next;
		free(x);
	}
	if (s->lfd >= 0) {
		close(s->lfd);
		if (!s->activated)
			unlink(s->sock_path);
	}
	if (s->epfd >= 0)
		close(s->epfd);
	jst_detach(s->reads);
	for (int i = 0; i < PARK_MAX; i++)
		if (s->parked[i].seq)
			close(s->parked[i].fd);
	jst__use_free_all(s);
	while (s->ready) {
		struct ready_uid *q = s->ready;

		s->ready = q->next;
		free(q);
	}
	free(s->evs);
	free(s->timers);
	free(s->jobs);
	free(s);
}
