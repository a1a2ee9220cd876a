/* SPDX-License-Identifier: MIT */
/*
 * conn.c - libjobstat's producer and control API: a connection to
 * jobstatd's control socket that survives a daemon restart (it reconnects
 * with backoff, takes its session's jobs back and resends the request that
 * was not acknowledged), batched updates, and the state change requests a
 * producer's handler receives.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pwd.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "jobstat-proto.h"
#include "read-internal.h"
#include "jobstat.h"

#define DEFAULT_RECONNECT_NS (30ull * 1000 * 1000 * 1000)
#define BACKOFF_MIN_NS (10ull * 1000 * 1000)
#define BACKOFF_MAX_NS (1000ull * 1000 * 1000)
#define DEFAULT_CALL_TIMEOUT_NS (10ull * 1000 * 1000 * 1000)
#define DEFAULT_RSC_WAIT_NS (5ull * 1000 * 1000 * 1000) /* the daemon's, for TimeoutPeriod 0 */

struct evpkt {
	struct evpkt *next;
	size_t len;
	uint8_t data[];
};

struct jst_conn {
	int fd;
	bool producer;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char alt_path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* system daemon, or "" */
	jst_request_fn on_request;
	void *arg;
	int64_t reconnect_ns;
	uint64_t session;
	uint64_t generation;
	uint32_t next_id;
	int64_t timeout_ns;      /* each call's deadline for the daemon's answer; < 0: none */
	uint64_t deadline;       /* CLOCK_MONOTONIC end of the call in progress; 0: none */
	uint64_t reconnects;     /* successful reconnections (jst_conn_reconnects()) */
	uint64_t token;          /* random: who we are to the daemon's request records */
	char err[JST_DETAIL_MAX];
	struct evpkt *ev_head, *ev_tail; /* requests received while a reply was awaited */
	struct jst_wbuf w;
	uint8_t rbuf[JST_MSG_MAX + 1];
	size_t rlen;
};

static uint64_t mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void set_err(jst_conn *c, const char *msg)
{
	snprintf(c->err, sizeof(c->err), "%s", msg);
}

/* A call starts: the daemon has until its deadline (plus @extra_ns) to answer. */
static void call_begin(jst_conn *c, uint64_t extra_ns)
{
	c->deadline = c->timeout_ns < 0 ? 0 : mono() + (uint64_t)c->timeout_ns + extra_ns;
}

/*
 * Wait until @fd is ready for @events or the call's deadline passes.
 * Return: 0 ready; JST_ETIMEDOUT; JST_ESYS.
 */
static int wait_fd(jst_conn *c, int fd, short events)
{
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = events};
		uint64_t now = mono();
		int ms = -1, rc;

		if (c->deadline) {
			if (now >= c->deadline)
				return JST_ETIMEDOUT;
			ms = (int)((c->deadline - now + 999999) / 1000000);
		}
		rc = poll(&pfd, 1, ms);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return JST_ESYS;
	}
}

/* ---- sockets ---- */

/* The uid of jobstat's service user, or 0 (root's, trusted anyway) when there is none. */
static uid_t service_uid(void)
{
	struct passwd pw, *res = NULL;
	char buf[1024];

	return getpwnam_r(JST_SERVICE_USER, &pw, buf, sizeof(buf), &res) == 0 && res ? pw.pw_uid
										    : 0;
}

/*
 * Connect to the daemon's socket at @path, and talk to it only if the process
 * behind it is root, jobstat's service user or ourselves: a socket another
 * user put where we look would otherwise acknowledge our jobs and lose them.
 */
static int open_socket(const char *path, int *ret_fd, uint64_t deadline)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd, e, rc;

	strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
	/* Non-blocking: a stopped daemon with a full backlog must not hang us past the deadline. */
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return jst__why(JST_ESYS, "socket: %s", strerror(errno));
	while ((rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa))) < 0 &&
	       (errno == EAGAIN || errno == EINTR)) {
		struct timespec ts = {0, 10 * 1000 * 1000};

		if (deadline && mono() >= deadline) {
			close(fd);
			return jst__why(JST_ETIMEDOUT, "%s: its backlog stayed full (jobstatd stopped "
					"or flooded)", path);
		}
		nanosleep(&ts, NULL);
	}
	if (rc == 0) {
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
			e = errno;
			close(fd);
			return jst__why(JST_ESYS, "%s: SO_PEERCRED: %s", path, strerror(e));
		}
		if (cred.uid != 0 && cred.uid != geteuid() && cred.uid != service_uid()) {
			close(fd);
			return jst__why(JST_EPEER,
					"%s is served by uid %ld (pid %ld), which is neither root, the "
					JST_SERVICE_USER " user nor you: not talking to it", path,
					(long)cred.uid, (long)cred.pid);
		}
		*ret_fd = fd;
		return 0;
	}
	e = errno;
	close(fd);
	errno = e;
	if (e == EACCES || e == EPERM)
		return jst__why(JST_EACCES, "%s: %s", path, strerror(e));
	if (e == ENOENT || e == ECONNREFUSED || e == ENOTDIR)
		return jst__why(JST_ENODAEMON, "%s: %s", path, strerror(e));
	return jst__why(JST_ESYS, "connect %s: %s", path, strerror(e));
}

static void drop(jst_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* Receive one packet into c->rbuf. Return 0; JST_EDISCONNECTED; JST_EPROTO; JST_ESYS. */
static int recv_packet(jst_conn *c, int flags)
{
	for (;;) {
		ssize_t n;

		if (!(flags & MSG_DONTWAIT)) {
			int rc = wait_fd(c, c->fd, POLLIN);

			if (rc < 0)
				return rc;
		}
		n = recv(c->fd, c->rbuf, sizeof(c->rbuf), flags | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !(flags & MSG_DONTWAIT))
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return JST_EAGAIN;
		if (n < 0 && errno == ECONNRESET) {
			/*
			 * The daemon closed with our request unread: the error comes first,
			 * then whatever it sent before closing (a refusal) can still be read.
			 */
			n = recv(c->fd, c->rbuf, sizeof(c->rbuf), MSG_DONTWAIT);
			if (n > 0) {
				c->rlen = (size_t)n;
				return 0;
			}
			return JST_EDISCONNECTED;
		}
		if (n < 0 && (errno == EPIPE || errno == ENOTCONN))
			return JST_EDISCONNECTED;
		if (n < 0)
			return JST_ESYS;
		if (n == 0)
			return JST_EDISCONNECTED;
		c->rlen = (size_t)n;
		return 0;
	}
}

static int send_packet(jst_conn *c, const struct jst_wbuf *w)
{
	for (;;) {
		if (send(c->fd, w->buf, w->len, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			/* The daemon is not reading: wait for room, within the call's deadline. */
			int rc = wait_fd(c, c->fd, POLLOUT);

			if (rc < 0)
				return rc;
			continue;
		}
		if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN ||
		    errno == ECONNREFUSED)
			return JST_EDISCONNECTED;
		return JST_ESYS;
	}
}

static void queue_event(jst_conn *c)
{
	struct evpkt *e = malloc(sizeof(*e) + c->rlen);

	if (!e)
		return; /* the daemon answers the requester with a timeout */
	e->next = NULL;
	e->len = c->rlen;
	memcpy(e->data, c->rbuf, c->rlen);
	if (c->ev_tail)
		c->ev_tail->next = e;
	else
		c->ev_head = e;
	c->ev_tail = e;
}

/*
 * Wait for the reply to request @id of @type; requests for the handler that
 * arrive meanwhile are queued. On return 0, c->rbuf holds the reply and
 * @r is positioned after its result code, which is returned in *@ret_rc.
 */
static int await_reply_ex(jst_conn *c, uint16_t type, uint32_t id, struct jst_rbuf *r,
			  int *ret_rc, bool stop_on_event)
{
	for (;;) {
		struct jst_msg_hdr h;
		int rc = recv_packet(c, 0);

		if (rc < 0)
			return rc;
		rc = jst_wire_check(c->rbuf, c->rlen, c->rlen > JST_MSG_MAX, &h);
		if (rc < 0)
			return JST_EPROTO; /* the daemon never sends this: do not trust the stream */
		if (h.type == JST_MSG_EVENT) {
			queue_event(c);
			if (stop_on_event)
				return JST_EAGAIN;
			continue;
		}
		/*
		 * The reply to this request; or the daemon refusing the connection
		 * itself (too many clients), sent at accept with HELLO's type and id 0.
		 */
		if (!(h.id == id && h.type == (type | JST_MSG_REPLY)) &&
		    !(h.id == 0 && h.type == (JST_MSG_HELLO | JST_MSG_REPLY)))
			continue;
		jst_rbuf_init(r, c->rbuf, c->rlen);
		*ret_rc = (int32_t)jst_rd_u32(r);
		if (r->bad)
			return JST_EPROTO;
		if (*ret_rc < 0) {
			const char *d = jst_rd_str(r);

			set_err(c, d ? d : jst_strerror(*ret_rc));
		} else {
			c->err[0] = 0;
		}
		return 0;
	}
}

static int await_reply(jst_conn *c, uint16_t type, uint32_t id, struct jst_rbuf *r, int *ret_rc)
{
	return await_reply_ex(c, type, id, r, ret_rc, false);
}

static int hello(jst_conn *c)
{
	struct jst_msg_hello m = {.flags = c->producer ? JST_HELLO_PRODUCER : 0,
				  .session = c->session, .token = c->token};
	struct jst_msg_hello_reply rep;
	struct jst_wbuf *w = malloc(sizeof(*w));
	struct jst_rbuf r;
	uint32_t id = ++c->next_id;
	int rc, res;

	if (!w)
		return JST_ENOMEM;
	jst_enc_hello(w, id, &m);
	rc = jst_wire_finish(w);
	if (rc == 0)
		rc = send_packet(c, w);
	free(w);
	/* Refused at accept, the daemon may have closed before our HELLO: its reason waits. */
	if (rc == 0 || rc == JST_EDISCONNECTED)
		rc = await_reply(c, JST_MSG_HELLO, id, &r, &res);
	if (rc < 0)
		return rc;
	if (res < 0)
		return jst__why(res, "jobstatd refused the connection: %s", c->err);
	if (jst_dec_reply_hello(&r, &rep) < 0)
		return JST_EPROTO;
	c->session = rep.session;
	c->generation = rep.generation;
	return 0;
}

static int connect_once(jst_conn *c)
{
	int rc = c->path[0] ? open_socket(c->path, &c->fd, c->deadline) : JST_ENODAEMON;

	if (rc == JST_ENODAEMON && c->alt_path[0])
		rc = open_socket(c->alt_path, &c->fd, c->deadline);
	if (rc < 0)
		return rc;
	rc = hello(c);
	if (rc < 0)
		drop(c);
	return rc;
}

/*
 * The daemon went away: connect again, with backoff, until the connection's
 * reconnect timeout. The session's jobs come back with the HELLO.
 */
static int reconnect(jst_conn *c)
{
	uint64_t backoff = BACKOFF_MIN_NS, deadline;

	drop(c);
	if (c->reconnect_ns < 0) {
		set_err(c, "the connection to jobstatd was lost (reconnecting is off)");
		return JST_EDISCONNECTED;
	}
	deadline = mono() + (uint64_t)c->reconnect_ns;
	for (;;) {
		struct timespec ts;
		int rc = connect_once(c);

		if (rc == 0) {
			c->reconnects++;
			return 0;
		}
		if (rc == JST_EPERM || rc == JST_EPROTOVERSION || rc == JST_EACCES ||
		    rc == JST_EPEER || rc == JST_EQUOTA) {
			return rc; /* waiting would not change the answer */
		}
		if (rc == JST_ETIMEDOUT) {
			/* It accepted but did not answer: stopped, not gone. */
			set_err(c, "jobstatd accepted the connection but did not answer HELLO in time");
			return rc;
		}
		if (mono() + backoff > deadline) {
			set_err(c, "jobstatd did not come back within the reconnect timeout");
			return JST_EDISCONNECTED;
		}
		ts.tv_sec = (time_t)(backoff / 1000000000ull);
		ts.tv_nsec = (long)(backoff % 1000000000ull);
		nanosleep(&ts, NULL);
		backoff = backoff * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : backoff * 2;
	}
}

/*
 * Send the request in @w and wait for its reply, reconnecting and resending
 * when the daemon is lost before it answered. @resent is set when the
 * request went out more than once (the first may have been applied).
 */
/*
 * The daemon did not answer in time (stopped, overloaded): its answer may
 * still come, so this connection can no longer be trusted to pair replies;
 * the next call reconnects.
 */
static void timed_out(jst_conn *c)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "jobstatd did not answer within %.1f s (stopped or overloaded?)",
		 (double)c->timeout_ns / 1e9);
	set_err(c, msg);
	drop(c);
}

static int transact(jst_conn *c, struct jst_wbuf *w, struct jst_rbuf *r, int *ret_rc,
		    bool *resent)
{
	struct jst_msg_hdr h;
	int rc = jst_wire_finish(w);
	bool first = true;

	if (rc < 0) {
		set_err(c, "the request does not fit in one control message");
		return rc;
	}
	memcpy(&h, w->buf, sizeof(h));
	for (;;) {
		call_begin(c, 0); /* a reconnection's HELLO counts against it too */
		if (c->fd < 0) {
			rc = reconnect(c);
			if (rc < 0)
				return rc;
		}
		if (!first) {
			/*
			 * The same request again, after the daemon was lost: marked, so a
			 * daemon that had applied the first copy answers as it did.
			 */
			uint16_t type = (uint16_t)(h.type | JST_MSG_RESENT);

			memcpy(w->buf + offsetof(struct jst_msg_hdr, type), &type, sizeof(type));
			if (resent)
				*resent = true;
		}
		first = false;
		rc = send_packet(c, w);
		if (rc == 0)
			rc = await_reply(c, h.type, h.id, r, ret_rc);
		if (rc == JST_EDISCONNECTED) {
			drop(c);
			continue;
		}
		if (rc == JST_ETIMEDOUT)
			timed_out(c);
		else if (rc < 0)
			drop(c);
		return rc;
	}
}

/* ---- public: connections ---- */

int jst_connect(const struct jst_connect_options *opt, jst_conn **ret_conn)
{
	static const struct jst_connect_options none;
	const char *ns, *env = getenv("JOBSTAT_SOCKET");
	char rundir[256], dir_why[256] = "";
	int dir_rc = 0;
	jst_conn *c;
	int rc;

	if (!ret_conn)
		return JST_EINVAL;
	if (!opt)
		opt = &none;
	ns = opt->ns ? opt->ns : jst_default_namespace();
	c = calloc(1, sizeof(*c));
	if (!c)
		return JST_ENOMEM;
	c->fd = -1;
	c->producer = opt->producer;
	c->on_request = opt->on_request;
	c->arg = opt->arg;
	c->session = opt->session;
	c->reconnect_ns = opt->reconnect_timeout_ns ? opt->reconnect_timeout_ns
						    : (int64_t)DEFAULT_RECONNECT_NS;
	c->timeout_ns = (int64_t)DEFAULT_CALL_TIMEOUT_NS;
	while (!c->token && getrandom(&c->token, sizeof(c->token), 0) != sizeof(c->token))
		;
	if (opt->socket_path || (env && *env)) {
		const char *p = opt->socket_path ? opt->socket_path : env;

		rc = strlen(p) < sizeof(c->path) ? 0 : JST_ETOOLONG;
		if (rc == 0)
			strcpy(c->path, p);
	} else {
		/*
		 * Our own daemon's runtime directory first, if it is ours (another
		 * user may have made /tmp/jobstat-UID first), then the system
		 * daemon's (README.md, "Finding the daemon").
		 */
		rc = jst_runtime_dir(geteuid(), rundir, sizeof(rundir));
		/* root's is the system daemon's: root's, or its service user's (older). */
		if (rc == 0)
			dir_rc = jst_rundir_check(rundir, geteuid(),
						  geteuid() == 0 ? service_uid() : geteuid(), dir_why,
						  sizeof(dir_why));
		if (rc == 0 && dir_rc == 0)
			rc = jst_socket_path(rundir, ns, c->path, sizeof(c->path));
		if (rc == 0 && geteuid() != 0)
			rc = jst_socket_path(JST_SYSTEM_RUNDIR, ns, c->alt_path, sizeof(c->alt_path));
	}
	jst__why_clear();
	call_begin(c, 0);
	if (rc == 0)
		rc = connect_once(c);
	if (rc == JST_ETIMEDOUT)
		jst__why(rc, "jobstatd accepted the connection but did not answer HELLO within "
			 "%.1f s (stopped or overloaded?)", (double)c->timeout_ns / 1e9);
	/* Nothing found, and our own directory was not to be trusted: say that. */
	if (rc == JST_ENODAEMON && dir_rc != 0 && dir_rc != JST_ENOENT)
		rc = jst__why(dir_rc, "%s; and no system daemon answers", dir_why);
	if (rc < 0) {
		free(c);
		return rc;
	}
	*ret_conn = c;
	return 0;
}

void jst_disconnect(jst_conn *c)
{
	if (!c)
		return;
	drop(c);
	while (c->ev_head) {
		struct evpkt *e = c->ev_head;

		c->ev_head = e->next;
		free(e);
	}
	free(c);
}

uint64_t jst_session(jst_conn *c)
{
	return c ? c->session : 0;
}

const char *jst_conn_error(jst_conn *c)
{
	return c ? c->err : "";
}

int jst_conn_fd(jst_conn *c)
{
	return c ? c->fd : -1;
}

/* ---- public: requests for the handler ---- */

static void handle_event(jst_conn *c, struct evpkt *e)
{
	struct jst_msg_event ev;
	struct jst_msg_event_reply rep;
	struct jst_rbuf r;
	struct jst_wbuf *w;

	jst_rbuf_init(&r, e->data, e->len);
	if (jst_dec_event(&r, &ev) < 0)
		return;
	rep.event_id = ev.event_id;
	rep.cim = c->on_request ? c->on_request(c, &ev.rq, c->arg) : JST_RSC_NOT_SUPPORTED;
	w = malloc(sizeof(*w)); /* the handler may have used c->w */
	if (!w)
		return;
	jst_enc_event_reply(w, &rep);
	if (jst_wire_finish(w) == 0 && c->fd >= 0)
		send_packet(c, w); /* lost with the connection: the requester times out */
	free(w);
}

static int run_queued(jst_conn *c)
{
	int n = 0;

	while (c->ev_head) {
		struct evpkt *e = c->ev_head;

		c->ev_head = e->next;
		if (!c->ev_head)
			c->ev_tail = NULL;
		handle_event(c, e);
		free(e);
		n++;
	}
	return n;
}

void jst_conn_set_timeout(jst_conn *c, int64_t timeout_ns)
{
	if (c)
		c->timeout_ns = timeout_ns ? timeout_ns : (int64_t)DEFAULT_CALL_TIMEOUT_NS;
}

uint64_t jst_conn_reconnects(jst_conn *c)
{
	return c ? c->reconnects : 0;
}

int jst_dispatch(jst_conn *c, int64_t timeout_ns)
{
	uint64_t deadline = timeout_ns > 0 ? mono() + (uint64_t)timeout_ns : 0;
	int n;

	if (!c)
		return JST_EINVAL;
	n = run_queued(c);
	for (;;) {
		struct pollfd pfd;
		struct jst_msg_hdr h;
		int ms, rc;

		if (c->fd < 0) {
			call_begin(c, 0);
			rc = reconnect(c);
			if (rc < 0)
				return rc;
		}
		if (n > 0 || timeout_ns == 0)
			ms = 0;
		else if (timeout_ns < 0)
			ms = -1;
		else {
			uint64_t now = mono();

			ms = now >= deadline ? 0 : (int)((deadline - now + 999999) / 1000000);
		}
		pfd = (struct pollfd){.fd = c->fd, .events = POLLIN};
		rc = poll(&pfd, 1, ms);
		if (rc < 0 && errno != EINTR)
			return JST_ESYS;
		if (rc <= 0)
			return n;
		rc = recv_packet(c, MSG_DONTWAIT);
		if (rc == JST_EAGAIN)
			continue;
		if (rc == JST_EDISCONNECTED) {
			drop(c);
			continue;
		}
		if (rc < 0)
			return rc;
		if (jst_wire_check(c->rbuf, c->rlen, false, &h) == 0 && h.type == JST_MSG_EVENT) {
			queue_event(c);
			n += run_queued(c);
		}
	}
}

/* ---- public: producing ---- */

int jst_job_create(jst_conn *c, const struct jst_job_spec *spec, jst_handle *ret_handle,
		   char *ret_instance_id)
{
	static const struct jst_job_spec none;
	struct jst_msg_create m = {0};
	char genid[64];
	struct jst_rbuf r;
	bool resent = false;
	struct jst_msg_create_reply rep;
	int rc, res;

	if (!c || !ret_handle)
		return JST_EINVAL;
	if (!spec)
		spec = &none;
	if (!spec->instance_id)
		jst_random_instance_id(genid, sizeof(genid));
	m.instance_id = spec->instance_id ? spec->instance_id : genid;
	m.name = spec->name;
	m.owner = spec->owner;
	m.notify = spec->notify;
	m.job_status = spec->job_status;
	m.job_type = spec->job_type;
	m.initial_state = spec->initial_state;
	m.priority = spec->priority;
	m.flags = (spec->delete_on_completion ? JST_CREATE_DELETE_ON_COMPLETION : 0) |
		  (spec->not_cancellable ? 0 : JST_CREATE_CANCELLABLE) |
		  (spec->transfer ? JST_CREATE_TRANSFER : 0);
	if (spec->time_before_removal_ns > 0) {
		m.flags |= JST_CREATE_HAS_TBR;
		m.time_before_removal_ns = (uint64_t)spec->time_before_removal_ns;
	}
	for (;;) {
		jst_enc_create(&c->w, ++c->next_id, &m);
		rc = transact(c, &c->w, &r, &res, &resent);
		if (rc < 0)
			return rc;
		/*
		 * Sent twice across a daemon restart, the first may have been applied:
		 * the job is then ours already. Ask again as a claim of that job.
		 */
		if (res == JST_EEXIST && resent && !(m.flags & JST_CREATE_RETRY)) {
			m.flags |= JST_CREATE_RETRY;
			continue;
		}
		break;
	}
	if (res < 0)
		return res;
	if (jst_dec_reply_create(&r, &rep) < 0)
		return JST_EPROTO;
	*ret_handle = rep.handle;
	if (ret_instance_id)
		snprintf(ret_instance_id, JST_ID_MAX + 1, "%s", rep.instance_id);
	return 0;
}

/* Bytes one update record takes on the wire. */
static size_t rec_size(const struct jst_update *u)
{
	size_t n = 22, k = u->set & JST_SET_OP_STATUS ? u->n_operational_status : 0;

	n += k * 2;
	for (size_t i = 0; i < k && i < JST_OPSTATUS_MAX; i++)
		n += 4 + (u->status_descriptions[i] ? strlen(u->status_descriptions[i]) + 1 : 0);
	if (u->set & JST_SET_JOB_STATUS)
		n += 4 + (u->job_status ? strlen(u->job_status) + 1 : 0);
	if (u->set & JST_SET_ERROR_DESCRIPTION)
		n += 4 + (u->error_description ? strlen(u->error_description) + 1 : 0);
	return n;
}

int jst_update(jst_conn *c, const struct jst_update *u, size_t n, int *ret_results)
{
	int first = 0;
	size_t i = 0;

	if (!c || (!u && n))
		return JST_EINVAL;
	for (size_t k = 0; k < n; k++) {
		if ((u[k].set & JST_SET_OP_STATUS) && u[k].n_operational_status > JST_OPSTATUS_MAX)
			return JST_ETOOLONG;
		if (rec_size(&u[k]) > JST_MSG_MAX - JST_MSG_HDR_SIZE - 4)
			return JST_ETOOLONG;
	}
	while (i < n) {
		size_t used = JST_MSG_HDR_SIZE + 4, count = 0, j;
		struct jst_msg_update_reply reply, *rep = &reply;
		struct jst_rbuf r;
		int rc, res;

		while (i + count < n && count < JST_BATCH_MAX &&
		       used + rec_size(&u[i + count]) <= JST_MSG_MAX) {
			used += rec_size(&u[i + count]);
			count++;
		}
		jst_wire_begin(&c->w, JST_MSG_UPDATE, ++c->next_id);
		jst_wire_u32(&c->w, (uint32_t)count);
		for (j = 0; j < count; j++)
			jst_enc_update_rec(&c->w, &u[i + j]);
		rc = transact(c, &c->w, &r, &res, NULL);
		if (rc < 0)
			return rc;
		if (res < 0 && res != JST_ESTALE && res != JST_EPERM && res != JST_ETRANSITION &&
		    res != JST_EINVAL && res != JST_ETOOLONG && res != JST_EUTF8 &&
		    res != JST_ENOSPC)
			return res; /* the whole message was refused */
		if (res == 0)
			jst_rd_str(&r); /* no explanation (a failure's was taken into c->err) */
		if (jst_dec_reply_update(&r, rep) < 0 || rep->n != count)
			return JST_EPROTO;
		for (j = 0; j < count; j++) {
			int code = rep->codes[j];

			if (ret_results)
				ret_results[i + j] = code;
			if (code < 0 && !first)
				first = code;
		}
		i += count;
	}
	return first;
}

int jst_job_set_state(jst_conn *c, jst_handle h, uint16_t state)
{
	struct jst_update u = {.handle = h, .set = JST_SET_STATE, .job_state = state};

	return jst_update(c, &u, 1, NULL);
}

int jst_job_set_progress(jst_conn *c, jst_handle h, uint16_t percent)
{
	struct jst_update u = {.handle = h, .set = JST_SET_PERCENT, .percent_complete = percent};

	return jst_update(c, &u, 1, NULL);
}

int jst_job_complete(jst_conn *c, jst_handle h)
{
	struct jst_update u = {
		.handle = h, .set = JST_SET_STATE | JST_SET_PERCENT,
		.job_state = JST_JOB_COMPLETED, .percent_complete = 100,
	};

	return jst_update(c, &u, 1, NULL);
}

int jst_job_report_error(jst_conn *c, jst_handle h, const struct jst_error *e, bool fail)
{
	struct jst_rbuf r;
	int rc, res;

	if (!c || !e)
		return JST_EINVAL;
	/* Refused here, with the reason in jst_conn_error(), before the daemon sees it. */
	rc = jst_error_validate(e, c->err, sizeof(c->err));
	if (rc < 0)
		return rc;
	jst_enc_error(&c->w, ++c->next_id, h, fail, e);
	rc = transact(c, &c->w, &r, &res, NULL);
	return rc < 0 ? rc : res;
}

int jst_job_set_props(jst_conn *c, jst_handle h, const struct jst_job_props *p, size_t size)
{
	struct jst_msg_props m = {.handle = h};
	struct jst_rbuf r;
	int rc, res;

	if (!c || !p)
		return JST_EINVAL;
	/* Refused here, with the property named in jst_conn_error(), before the daemon sees it. */
	rc = jst_job_props_validate(p, size, c->err, sizeof(c->err));
	if (rc < 0)
		return rc;
	memcpy(&m.p, p, size < sizeof(m.p) ? size : sizeof(m.p));
	/* Setting a value twice leaves it set: a resend after a daemon restart is harmless. */
	jst_enc_props(&c->w, ++c->next_id, &m);
	rc = transact(c, &c->w, &r, &res, NULL);
	return rc < 0 ? rc : res;
}

int jst_job_remove(jst_conn *c, jst_handle h, unsigned flags, uint64_t *ret_when_ns)
{
	struct jst_msg_remove m = {.handle = h, .flags = flags};
	struct jst_msg_remove_reply rep;
	struct jst_rbuf r;
	bool resent = false;
	int rc, res;

	if (!c)
		return JST_EINVAL;
	jst_enc_remove(&c->w, ++c->next_id, &m);
	rc = transact(c, &c->w, &r, &res, &resent);
	if (rc < 0)
		return rc;
	if (res == JST_ESTALE && resent)
		res = 0; /* removed by the first copy, before the daemon was lost */
	if (res < 0)
		return res;
	if (jst_dec_reply_remove(&r, &rep) < 0)
		return JST_EPROTO;
	if (ret_when_ns)
		*ret_when_ns = rep.when;
	return 0;
}

/* ---- public: control ---- */

int jst_daemon_quotas(jst_conn *c, struct jst_quota_use *ret, size_t max, size_t *ret_n)
{
	struct jst_rbuf r;
	uint32_t n;
	size_t k = 0;
	int rc, res;

	if (!c || (!ret && max) || !ret_n)
		return JST_EINVAL;
	jst_wire_begin(&c->w, JST_MSG_QUOTA, ++c->next_id);
	rc = transact(c, &c->w, &r, &res, NULL);
	if (rc < 0)
		return rc;
	if (res < 0)
		return res;
	if (jst_dec_reply_quota(&r, &n) < 0)
		return JST_EPROTO;
	for (uint32_t i = 0; i < n; i++) {
		struct jst_quota_use q;

		if (jst_dec_reply_quota_item(&r, &q) < 0)
			return JST_EPROTO;
		if (k < max)
			ret[k++] = q;
	}
	if (jst_rd_end(&r) < 0)
		return JST_EPROTO;
	*ret_n = k;
	return 0;
}

int jst_daemon_stats(jst_conn *c, struct jst_daemon_stats *ret_stats)
{
	struct jst_daemon_stats st;
	struct jst_rbuf r;
	int rc, res;

	if (!c || !ret_stats)
		return JST_EINVAL;
	jst_wire_begin(&c->w, JST_MSG_STATS, ++c->next_id);
	rc = transact(c, &c->w, &r, &res, NULL);
	if (rc < 0)
		return rc;
	if (res < 0)
		return res;
	if (jst_dec_reply_stats(&r, &st) < 0)
		return JST_EPROTO;
	*ret_stats = st;
	return 0;
}

int jst_request_state_change(jst_conn *c, const char *instance_id, uint16_t requested_state,
			     uint64_t timeout_ns, uint32_t *ret_code)
{
	struct jst_msg_request m = {instance_id, requested_state, timeout_ns};
	struct jst_msg_request_reply rep;
	struct jst_wbuf *w;
	struct jst_msg_hdr h;
	struct jst_rbuf r;
	unsigned resends = 0;
	int rc, res = 0;

	if (!c || !instance_id || !ret_code)
		return JST_EINVAL;
	/* Own buffer: the handler may run (for our own jobs) and use c->w meanwhile. */
	w = malloc(sizeof(*w));
	if (!w)
		return JST_ENOMEM;
	jst_enc_request(w, ++c->next_id, &m);
	rc = jst_wire_finish(w);
	memcpy(&h, w->buf, sizeof(h));
	for (bool sent = false; rc == 0;) {
		/* The daemon answers once the producer did, or TimeoutPeriod passed. */
		if (!sent)
			call_begin(c, timeout_ns ? timeout_ns : DEFAULT_RSC_WAIT_NS);
		if (c->fd < 0 && (rc = reconnect(c)) < 0)
			break;
		if (!sent) {
			if (resends++) { /* marked as in transact() */
				uint16_t type = (uint16_t)(h.type | JST_MSG_RESENT);

				memcpy(w->buf + offsetof(struct jst_msg_hdr, type), &type, sizeof(type));
			}
			rc = send_packet(c, w);
			if (rc == JST_EDISCONNECTED) {
				drop(c);
				rc = 0;
				continue;
			}
			if (rc < 0)
				break;
			sent = true;
		}
		rc = await_reply_ex(c, h.type, h.id, &r, &res, true);
		if (rc == JST_EAGAIN) {
			/* A request for one of our own jobs may be what the reply waits on. */
			run_queued(c);
			rc = 0;
			continue;
		}
		if (rc == JST_EDISCONNECTED) {
			/* The daemon that held the request is gone; its successor never saw it. */
			drop(c);
			sent = false;
			rc = 0;
			continue;
		}
		if (rc == JST_ETIMEDOUT)
			timed_out(c);
		break;
	}
	free(w);
	if (rc < 0)
		return rc;
	if (res < 0) {
		*ret_code = jst_rsc_method_code(res, 0, JST_FLAVOUR_CIM);
		return res;
	}
	if (jst_dec_reply_request(&r, &rep) < 0)
		return JST_EPROTO;
	*ret_code = rep.cim;
	return 0;
}
