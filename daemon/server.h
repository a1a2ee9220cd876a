/* SPDX-License-Identifier: MIT */
/*
 * server.h - jobstatd's control plane: the Unix socket, the connections of
 * producers and controlling clients, their sessions, the job rules (state
 * transitions, ownership, removal, lost communication) and the timers, all
 * driven by one thread around the single-threaded publisher.
 */
#ifndef JOBSTAT_SERVER_H
#define JOBSTAT_SERVER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "publish.h"

#define JST_SERVER_DEFAULT_LOST_GRACE_NS (10ull * 1000 * 1000 * 1000)
#define JST_SERVER_DEFAULT_RSC_TIMEOUT_NS (5ull * 1000 * 1000 * 1000)
#define JST_SERVER_MAX_RSC_TIMEOUT_NS (3600ull * 1000 * 1000 * 1000) /* TimeoutPeriod's cap */
#define JST_SERVER_DEFAULT_MAX_CONNS 1024

/* Per-uid quotas; 0 means the default. Root and the admin group have none. */
struct jst_quota {
	uint32_t jobs;           /* live jobs; default capacity / 4 */
	uint32_t errors;         /* retained errors; default a quarter of the error pool */
	uint32_t conns;          /* connections; default max_conns / 4 */
	uint32_t pending;        /* RequestStateChanges waiting for a producer; default 64 */
	uint32_t large;          /* jobs whose detail takes a large block (long strings);
				    default a quarter of the large-detail pool */
};

/*
 * An OrgID reserved for one uid (--reserve-org): only that uid and root may
 * create a job whose InstanceID is "ORGID:...", so a monitor that looks up
 * such an ID knows whose job it reads. CIM's InstanceID is "OrgID:LocalID"
 * and an OrgID holds no colon, so the OrgID is what precedes the first one.
 */
#define JST_SERVER_MAX_ORGS 32
#define JST_ORGID_MAX 64        /* bytes with the NUL */
struct jst_org_reserve {
	char org[JST_ORGID_MAX];
	uint32_t uid;
};

struct jst_orgs {
	unsigned n;
	struct jst_org_reserve v[JST_SERVER_MAX_ORGS];
};

#define JST_SERVER_DEFAULT_HELLO_TIMEOUT_NS (5ull * 1000 * 1000 * 1000)
#define JST_SERVER_DEFAULT_ORPHAN_TIMEOUT_NS (3600ull * 1000 * 1000 * 1000)

/* A control socket made by jst_server_listen(). */
struct jst_listener {
	int fd;
	char path[108];          /* sizeof(sockaddr_un.sun_path) */
	char tmp[108];           /* where it is bound until the server puts it at path */
};

struct jst_server_config {
	const char *socket_path;
	uint32_t socket_mode;    /* default 0660; never o+w */
	bool set_group;          /* give the socket group gid */
	gid_t gid;
	bool admin_group_set;    /* members of admin_gid may change anyone's jobs */
	gid_t admin_gid;
	uint64_t lost_grace_ns;  /* disconnect -> Lost Communication; default 10 s */
	uint32_t max_conns;      /* default JST_SERVER_DEFAULT_MAX_CONNS */
	struct jst_quota quota;
	struct jst_orgs orgs;    /* reserved OrgIDs; reloadable */
	uint64_t hello_timeout_ns;  /* a connection without HELLO by then is closed; default 5 s */
	uint64_t orphan_timeout_ns; /* a producer gone this long: its unfinished jobs are
				       terminated by the daemon; default 1 h */
	int (*watch)(void);      /* called every second: the daemon checks its own runtime
				    files (the pidfile) before the server checks its socket;
				    < 0: they are gone and cannot be made again */
	uint16_t crash_after;    /* tests only ($JOBSTATD_TEST_CRASH_AFTER): die by SIGKILL after
				    applying the first ERROR or answering the first REQUEST,
				    before replying: a kill -9 at the worst moment */
	int listen_fd;           /* > 0: a socket already listening (systemd's socket
				    activation), used as it is: never replaced, never
				    removed; 0 or -1: bind socket_path */
	const struct jst_listener *bound; /* else, non-NULL: made by jst_server_listen()
				    before privileges were dropped; the server's own from
				    then on (made again if it vanishes, removed at the end) */
};

/* Settings SIGHUP may change on a running server. */
struct jst_server_reload {
	bool admin_group_set;
	gid_t admin_gid;
	uint64_t lost_grace_ns;
	struct jst_quota quota;
	uint64_t orphan_timeout_ns;
	struct jst_orgs orgs;
};

struct jst_server;

/* The daemon's log (log.c): to syslog when @syslog, else to standard error. */
void jst_log_init(bool syslog);

/* Log a line at syslog priority @prio. */
void jst_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * jst_server_listen() - make the control socket with @cfg's mode and group,
 * listening, as jst_server_create() does by itself, but under a temporary
 * name beside @cfg->socket_path: for a daemon that must bind as root (the
 * group comes from the fsgid) and drops privileges before it reads the
 * segment. jst_server_create() (@cfg->bound = @out) renames it into place
 * when the daemon is ready, so a client that finds the socket finds a
 * segment ready too; a daemon that stops before unlinks @out->tmp.
 * Return: 0; JST_ETOOLONG; JST_EACCES; JST_ESYS.
 */
int jst_server_listen(const struct jst_server_config *cfg, struct jst_listener *out);

/**
 * jst_server_create() - bind the control socket and take over the jobs
 * already in @pub's private table (sessions, removal timers, lost
 * communication).
 * Return: 0; JST_ETOOLONG (socket path); JST_EACCES; JST_ENOMEM; JST_ESYS.
 */
int jst_server_create(struct jst_pub *pub, const struct jst_server_config *cfg,
		      struct jst_server **ret_srv);

/**
 * jst_server_run() - serve until *@stop becomes non-zero, refreshing the
 * heartbeat every @heartbeat_ns. The signals in @sigmask are unblocked only
 * while waiting, so a signal is never lost between a check and a wait.
 * On *@hup the @reload callback is asked for new settings.
 * Return: 0; JST_ESYS when epoll fails.
 */
int jst_server_run(struct jst_server *s, volatile sig_atomic_t *stop, volatile sig_atomic_t *hup,
		   int (*reload)(struct jst_server_reload *r), const sigset_t *sigmask,
		   uint64_t heartbeat_ns);

/**
 * jst_server_feed() - for the fuzzer: handle @pkt as if a connection of @uid
 * (past HELLO when @hello) had sent it, replies going to @fd, then close that
 * connection and run every timer. Return: 0; JST_ENOMEM.
 */
int jst_server_feed(struct jst_server *s, int fd, bool hello, uid_t uid, const uint8_t *pkt,
		    size_t n);

/** jst_server_destroy() - close every connection and the socket, unlink it. Accepts NULL. */
void jst_server_destroy(struct jst_server *s);

#endif /* JOBSTAT_SERVER_H */
