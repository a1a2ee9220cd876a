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

#define RECV_BURST 32  /* messages taken from one connection before the next */
#define WATCH_INTERVAL_NS (1000ull * 1000 * 1000) /* how often the runtime files are checked */
#define WATCH_GIVE_UP 5 /* checks in a row that could not make them again: stop cleanly */
#define MAX_GROUPS 256

static void accept_resume(struct jst_server *s);


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
			jst__conn_close(s, c);
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
	if (c->reading)
		conn_arm(s, c);
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

static void accept_all(struct jst_server *s)
{
	for (;;) {
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
			refuse(s, fd, JST_EQUOTA, why);
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

static void conn_readable(struct jst_server *s, struct conn *c)
{
	for (int i = 0; i < RECV_BURST && !c->dead && c->out_n == 0; i++) {
		struct iovec iov = {s->rbuf, sizeof(s->rbuf)};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		ssize_t n = recvmsg(c->fd, &mh, MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			jst__conn_close(s, c); /* EOF or error: the peer is gone */
			return;
		}
		handle_packet(s, c, (size_t)n, (mh.msg_flags & MSG_TRUNC) || (size_t)n > JST_MSG_MAX);
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
	jst__timers_run(s, UINT64_MAX); /* whatever the packet scheduled, run it now */
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
	uint64_t next_beat = 0, next_watch = jst__mono() + WATCH_INTERVAL_NS;
	int watch_failures = 0;

	while (!*stop) {
		uint64_t now = jst__mono(), until = next_beat;
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
		jst__timers_run(s, now);
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
				jst__conn_close(s, c);
		}
		conn_free_dead(s);
		/* One wake for every change this turn published (jst_pub_flush()). */
		jst_pub_flush(s->pub);
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
	jst__use_free_all(s);
	free(s->timers);
	free(s->jobs);
	free(s);
}
