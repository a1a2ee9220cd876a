/* SPDX-License-Identifier: MIT */
/*
 * config.c - jobstatd's settings from its command line and its configuration
 * file: one table of options, one function that applies a setting whichever
 * side it came from, and the file's tokenizer (quotes, comments).
 */
#include <bsd/stdlib.h>
#include <bsd/string.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "config.h"
#include "jobstat-proto.h"
#include "jobstat.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: jobstatd [-f] [-n NAMESPACE] [-c CAPACITY] [-m MODE] [-g GROUP]\n"
		"                [--config FILE] [--socket PATH] [--shm-name NAME]\n"
		"                [--admin-group GROUP] [--lost-grace SECONDS] [--max-clients N]\n"
		"                [--runtime-dir DIR] [--user USER] [--syslog] [--replace]\n"
		"                [--check-config]\n"
		"       jobstatd --help | --version\n\n"
		"Publishes the shared-memory segment /jobstat.NAMESPACE (default: $JOBSTAT_NAMESPACE\n"
		"or \"default\"), serves producers and clients on its control socket and refreshes\n"
		"the heartbeat until SIGTERM or SIGINT. A segment left by a previous daemon is\n"
		"adopted with its jobs; its capacity is kept.\n\n"
		"  -f, --foreground       stay in the foreground and log to stderr\n"
		"                         (default: detach and log to syslog)\n"
		"  -n, --namespace NS     namespace (1-64 of A-Z a-z 0-9 . _ -)\n"
		"  -c, --capacity N       job slots of a new segment (default %u)\n"
		"  -m, --mode MODE        octal mode of a new segment (default 0644; never g+w or o+w);\n"
		"                         the socket gets the same bits with write for each\n"
		"                         class that may read (0644 -> 0660), never o+w\n"
		"  -g, --group GROUP      group of a new segment and of the socket\n"
		"      --config FILE      read these settings as \"name = value\" lines first\n"
		"                         (names as the long options; the command line wins)\n"
		"      --check-config     check the settings and the configuration file, say\n"
		"                         what is wrong (FILE:LINE) and exit: 0 valid, 2 not\n"
		"      --socket PATH      control socket (default RUNTIME-DIR/NAMESPACE.sock)\n"
		"      --shm-name NAME    segment name (default /jobstat.NAMESPACE)\n"
		"      --admin-group G    members may change anyone's jobs (reloadable)\n"
		"      --lost-grace SECS  a producer gone this long: its jobs show Lost\n"
		"                         Communication (default 10; reloadable)\n"
		"      --max-clients N    connections served at once (default %u)\n"
		"      --errors N         error blocks of a new segment, shared by all jobs\n"
		"                         (default capacity/4 + 4096; each job keeps its last 8)\n"
		"      --status-spare N, --detail-small N, --detail-large N, --log-size N,\n"
		"      --grace-ms MS      the rest of a new segment's geometry and the reuse\n"
		"                         delay of retired versions (PROTOCOL.md, \"Memory\")\n"
		"      --runtime-dir D    pidfile and socket directory (default /run/jobstat as\n"
		"                         root, $XDG_RUNTIME_DIR/jobstat or /tmp/jobstat-UID)\n"
		"      --user USER        started as root, serve as USER (default \"" JST_SERVICE_USER "\");\n"
		"                         \"root\" keeps uid 0 (not recommended)\n"
		"      --quota-jobs N, --quota-errors N, --quota-connections N, --quota-pending N,\n"
		"      --quota-large-details N\n"
		"                         what one uid may hold (root and the admin group: no\n"
		"                         limit; defaults: capacity/4, error pool/4,\n"
		"                         max-clients/4, 64, large-detail pool/4; reloadable)\n"
		"      --hello-timeout S  close a connection without HELLO after S (default 5)\n"
		"      --orphan-timeout S a producer gone S seconds: its unfinished jobs are\n"
		"                         terminated (default 3600; reloadable)\n"
		"      --reserve-org ORGID:USER[,ORGID:USER...]\n"
		"                         only USER (and root) may create InstanceIDs\n"
		"                         \"ORGID:...\" (at most %u; reloadable)\n"
		"      --syslog           log to syslog even in the foreground\n"
		"      --replace          discard a segment this daemon cannot adopt (another\n"
		"                         format, or corrupt) and its jobs, and start anew\n",
		JST_PUB_DEFAULT_CAPACITY, JST_SERVER_DEFAULT_MAX_CONNS, JST_SERVER_MAX_ORGS);
}

/* A group (@user false) or user named @s, or a number: its id in @id. 0; -1. */
static int parse_id(const char *s, bool user, uint32_t *id)
{
	const char *err = NULL;
	struct passwd *pw = user ? getpwnam(s) : NULL;
	struct group *gr = user ? NULL : getgrnam(s);

	if (pw || gr) {
		*id = pw ? pw->pw_uid : gr->gr_gid;
		return 0;
	}
	*id = (uint32_t)strtonum(s, 0, INT_MAX, &err);
	return err ? -1 : 0;
}

static int parse_group(const char *s, uint32_t *gid)
{
	return parse_id(s, false, gid);
}


/*
 * --reserve-org's list: "ORGID:USER" entries separated by commas (or
 * whitespace). An OrgID is 1..63 bytes of printable ASCII other than ':'
 * and ','; each may be named once. The whole list replaces any earlier one.
 */
static int parse_orgs(const char *v, struct jst_orgs *out, char *err, size_t en)
{
	struct jst_orgs o = {0};
	const char *p = v;

	while (*p) {
		const char *e, *colon;
		char user[64];
		size_t olen, ulen;

		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		e = p + strcspn(p, ", \t");
		colon = memchr(p, ':', (size_t)(e - p));
		if (!colon) {
			snprintf(err, en, "reserve-org %s: need ORGID:USER, got \"%.*s\"", v,
				 (int)(e - p), p);
			return -1;
		}
		olen = (size_t)(colon - p);
		ulen = (size_t)(e - colon - 1);
		if (olen == 0 || olen >= JST_ORGID_MAX) {
			snprintf(err, en, "reserve-org %s: an OrgID is 1..%d bytes", v,
				 JST_ORGID_MAX - 1);
			return -1;
		}
		for (size_t i = 0; i < olen; i++)
			if (p[i] <= ' ' || p[i] > '~') {
				snprintf(err, en, "reserve-org %s: OrgID \"%.*s\" has a byte that is "
						  "not printable ASCII", v, (int)olen, p);
				return -1;
			}
		if (o.n == JST_SERVER_MAX_ORGS) {
			snprintf(err, en, "reserve-org %s: at most %d OrgIDs", v, JST_SERVER_MAX_ORGS);
			return -1;
		}
		if (ulen == 0 || ulen >= sizeof(user)) {
			snprintf(err, en, "reserve-org %s: no user after \"%.*s:\"", v, (int)olen, p);
			return -1;
		}
		memcpy(user, colon + 1, ulen);
		user[ulen] = 0;
		memcpy(o.v[o.n].org, p, olen);
		o.v[o.n].org[olen] = 0;
		for (unsigned i = 0; i < o.n; i++)
			if (!strcmp(o.v[i].org, o.v[o.n].org)) {
				snprintf(err, en, "reserve-org %s: OrgID \"%s\" named twice", v,
					 o.v[i].org);
				return -1;
			}
		if (parse_id(user, true, &o.v[o.n].uid) < 0) {
			snprintf(err, en, "reserve-org %s: no such user \"%s\"", v, user);
			return -1;
		}
		o.n++;
		p = e;
	}
	*out = o;
	return 0;
}

enum {
	OPT_RUNTIME = 256, OPT_SYSLOG, OPT_REPLACE, OPT_CONFIG, OPT_SOCKET, OPT_SHM,
	OPT_ADMIN, OPT_LOST, OPT_MAXCLI, OPT_ERRORS, OPT_SPARE, OPT_DSMALL, OPT_DLARGE,
	OPT_LOG, OPT_GRACE, OPT_USER, OPT_QJOBS, OPT_QERRORS, OPT_QCONNS, OPT_QPENDING, OPT_QLARGE,
	OPT_HELLO, OPT_ORPHAN, OPT_CHECK, OPT_ORGS,
};

/* Leading ':': a missing value is told apart from an unknown option. */
static const char short_opts[] = ":fn:c:m:g:hV";

static const struct option long_opts[] = {
	{"foreground", no_argument, NULL, 'f'},
	{"namespace", required_argument, NULL, 'n'},
	{"capacity", required_argument, NULL, 'c'},
	{"mode", required_argument, NULL, 'm'},
	{"group", required_argument, NULL, 'g'},
	{"config", required_argument, NULL, OPT_CONFIG},
	{"check-config", no_argument, NULL, OPT_CHECK},
	{"socket", required_argument, NULL, OPT_SOCKET},
	{"shm-name", required_argument, NULL, OPT_SHM},
	{"admin-group", required_argument, NULL, OPT_ADMIN},
	{"lost-grace", required_argument, NULL, OPT_LOST},
	{"max-clients", required_argument, NULL, OPT_MAXCLI},
	{"errors", required_argument, NULL, OPT_ERRORS},
	{"status-spare", required_argument, NULL, OPT_SPARE},
	{"detail-small", required_argument, NULL, OPT_DSMALL},
	{"detail-large", required_argument, NULL, OPT_DLARGE},
	{"log-size", required_argument, NULL, OPT_LOG},
	{"grace-ms", required_argument, NULL, OPT_GRACE},
	{"runtime-dir", required_argument, NULL, OPT_RUNTIME},
	{"user", required_argument, NULL, OPT_USER},
	{"quota-jobs", required_argument, NULL, OPT_QJOBS},
	{"quota-errors", required_argument, NULL, OPT_QERRORS},
	{"quota-connections", required_argument, NULL, OPT_QCONNS},
	{"quota-pending", required_argument, NULL, OPT_QPENDING},
	{"quota-large-details", required_argument, NULL, OPT_QLARGE},
	{"hello-timeout", required_argument, NULL, OPT_HELLO},
	{"orphan-timeout", required_argument, NULL, OPT_ORPHAN},
	{"reserve-org", required_argument, NULL, OPT_ORGS},
	{"syslog", no_argument, NULL, OPT_SYSLOG},
	{"replace", no_argument, NULL, OPT_REPLACE},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{0},
};

/* What a file may not set: the file itself, and actions that are not settings. */
static bool file_may_set(int opt)
{
	return opt != OPT_CONFIG && opt != OPT_CHECK && opt != 'h' && opt != 'V';
}

static int copy_path(char *dst, size_t n, const char *v, const char *what, char *err, size_t en)
{
	if (!*v) {
		snprintf(err, en, "%s: empty path", what);
		return -1;
	}
	if (strlcpy(dst, v, n) < n)
		return 0;
	snprintf(err, en, "%s: path too long (at most %zu bytes)", what, n - 1);
	return -1;
}

/*
 * Apply one setting, from the command line or the file. Return 0, or -1
 * with @err saying what was wrong ("name value: problem").
 */
static int apply(struct jstd_settings *st, int opt, const char *v, char *err, size_t en)
{
	const char *e = NULL;

	switch (opt) {
	case 'f':
		st->foreground = true;
		return 0;
	case 'n': {
		char shm[JST_SHM_NAME_MAX];

		/* The name must make a segment name; say so now, not at start-up. */
		if (jst_shm_name(v, shm, sizeof(shm)) < 0) {
			snprintf(err, en, "namespace %s: need 1-%d of A-Z a-z 0-9 . _ -, not "
					  "starting with a dot", v, JST_NS_MAX);
			return -1;
		}
		return copy_path(st->ns, sizeof(st->ns), v, "namespace", err, en);
	}
	case 'c':
		st->pub.capacity = (uint32_t)strtonum(v, 1, (1 << 30) - 1, &e);
		if (e)
			snprintf(err, en, "capacity %s is %s (1..%d)", v, e, (1 << 30) - 1);
		return e ? -1 : 0;
	case 'm': {
		char *end;
		unsigned long m = strtoul(v, &end, 8);

		if (!*v || *end || m > 0777 || (m & 0022)) {
			snprintf(err, en, "mode %s: need an octal mode that neither group nor "
					  "others may write (the segment is the daemon's output "
					  "alone), e.g. 0640 or 0644", v);
			return -1;
		}
		st->pub.mode = (uint32_t)m;
		/* Whoever may read the segment may talk to the daemon: r -> rw, never o+w. */
		st->srv.socket_mode = (uint32_t)(0600 | ((m & 0040) ? 0060 : 0));
		return 0;
	}
	case 'g':
		st->pub.set_group = st->srv.set_group = true;
		if (parse_group(v, &st->pub.gid) < 0) {
			snprintf(err, en, "group %s: no such group", v);
			return -1;
		}
		st->srv.gid = st->pub.gid;
		return 0;
	case OPT_CONFIG:
		return copy_path(st->config, sizeof(st->config), v, "config", err, en);
	case OPT_CHECK:
		st->check_config = true;
		return 0;
	case OPT_SOCKET:
		if (strlen(v) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			snprintf(err, en, "socket %s: path too long for a Unix socket (at most %zu "
					  "bytes)", v, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
			return -1;
		}
		return copy_path(st->socket, sizeof(st->socket), v, "socket", err, en);
	case OPT_SHM:
		if (v[0] != '/' || strchr(v + 1, '/') || strlen(v) < 2) {
			snprintf(err, en, "shm-name %s: need /NAME without further slashes", v);
			return -1;
		}
		return copy_path(st->shm_name, sizeof(st->shm_name), v, "shm-name", err, en);
	case OPT_ADMIN: {
		uint32_t gid;

		if (parse_group(v, &gid) < 0) {
			snprintf(err, en, "admin-group %s: no such group", v);
			return -1;
		}
		st->srv.admin_group_set = true;
		st->srv.admin_gid = gid;
		return 0;
	}
	case OPT_LOST: {
		char *end;
		double secs = strtod(v, &end);

		if (!*v || *end || !(secs > 0 && secs <= 86400)) {
			snprintf(err, en, "lost-grace %s: need seconds in (0, 86400]", v);
			return -1;
		}
		st->srv.lost_grace_ns = (uint64_t)(secs * 1e9);
		return 0;
	}
	case OPT_HELLO:
	case OPT_ORPHAN: {
		char *end;
		double secs = strtod(v, &end);
		double max = opt == OPT_HELLO ? 3600 : 365 * 86400.0;

		if (!*v || *end || !(secs > 0 && secs <= max)) {
			snprintf(err, en, "%s %s: need seconds in (0, %.0f]",
				 opt == OPT_HELLO ? "hello-timeout" : "orphan-timeout", v, max);
			return -1;
		}
		*(opt == OPT_HELLO ? &st->srv.hello_timeout_ns : &st->srv.orphan_timeout_ns) =
			(uint64_t)(secs * 1e9);
		return 0;
	}
	case OPT_ORGS:
		return parse_orgs(v, &st->srv.orgs, err, en);
	case OPT_QJOBS:
	case OPT_QERRORS:
	case OPT_QCONNS:
	case OPT_QPENDING:
	case OPT_QLARGE: {
		uint32_t *q = opt == OPT_QJOBS	   ? &st->srv.quota.jobs
			      : opt == OPT_QERRORS ? &st->srv.quota.errors
			      : opt == OPT_QCONNS  ? &st->srv.quota.conns
			      : opt == OPT_QLARGE  ? &st->srv.quota.large
						   : &st->srv.quota.pending;

		*q = (uint32_t)strtonum(v, 1, UINT32_MAX, &e);
		if (e)
			snprintf(err, en, "quota %s is %s (1..%u; unset for the default)", v, e,
				 UINT32_MAX);
		return e ? -1 : 0;
	}
	case OPT_MAXCLI:
		st->srv.max_conns = (uint32_t)strtonum(v, 1, 1 << 20, &e);
		if (e)
			snprintf(err, en, "max-clients %s is %s (1..%d)", v, e, 1 << 20);
		return e ? -1 : 0;
	case OPT_ERRORS:
	case OPT_SPARE:
	case OPT_DSMALL:
	case OPT_DLARGE:
	case OPT_LOG: {
		/* Pool geometry of a new segment (an adopted one keeps its own). */
		static const struct {
			int opt;
			const char *name;
			size_t off;
		} pools[] = {
			{OPT_ERRORS, "errors", offsetof(struct jst_pub_config, errors)},
			{OPT_SPARE, "status-spare", offsetof(struct jst_pub_config, status_spare)},
			{OPT_DSMALL, "detail-small", offsetof(struct jst_pub_config, detail_small)},
			{OPT_DLARGE, "detail-large", offsetof(struct jst_pub_config, detail_large)},
			{OPT_LOG, "log-size", offsetof(struct jst_pub_config, log_size)},
		};
		for (size_t i = 0; i < sizeof(pools) / sizeof(pools[0]); i++) {
			uint32_t n;

			if (pools[i].opt != opt)
				continue;
			n = (uint32_t)strtonum(v, 1, (1 << 30) - 1, &e);
			if (e) {
				snprintf(err, en, "%s %s is %s (1..%d)", pools[i].name, v, e,
					 (1 << 30) - 1);
				return -1;
			}
			memcpy((char *)&st->pub + pools[i].off, &n, sizeof(n));
		}
		return 0;
	}
	case OPT_GRACE:
		st->pub.grace_ns = (uint64_t)strtonum(v, 1, 60000, &e) * 1000000u;
		if (e)
			snprintf(err, en, "grace-ms %s is %s (1..60000)", v, e);
		return e ? -1 : 0;
	case OPT_RUNTIME:
		return copy_path(st->rundir, sizeof(st->rundir), v, "runtime-dir", err, en);
	case OPT_USER:
		return copy_path(st->user, sizeof(st->user), v, "user", err, en);
	case OPT_SYSLOG:
		st->want_syslog = true;
		return 0;
	case OPT_REPLACE:
		st->replace = true;
		return 0;
	}
	snprintf(err, en, "unknown setting");
	return -1;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* At @p, is this a comment? Only where a word starts: '#' after whitespace or at @start. */
static bool comment_at(const char *start, const char *p)
{
	return *p == '#' && (p == start || is_space(p[-1]));
}

/*
 * One line of a configuration file, split in place: *@ret_key is the name
 * ("" for a blank or comment line), *@ret_val the value with its quotes
 * removed (NULL when there is no "="). Return NULL, or the problem.
 */
static const char *split_line(char *line, char **ret_key, char **ret_val)
{
	char *p = line, *key, *end, *out, *val;

	while (is_space(*p))
		p++;
	*ret_val = NULL;
	if (!*p || comment_at(line, p)) {
		*ret_key = p;
		*p = 0;
		return NULL;
	}
	key = p;
	while (*p && !is_space(*p) && *p != '=')
		p++;
	if (p == key)
		return "a line starts with \"=\": the setting's name is missing";
	end = p;
	while (is_space(*p))
		p++;
	if (*p == '=') {
		*end = 0; /* after the test: end may be the '=' itself */
		p++;
	} else if (!*p || comment_at(line, p)) {
		*end = 0;
		*ret_key = key;
		return NULL; /* a bare name: an option that takes no value */
	} else {
		return "expected \"=\" after the setting's name";
	}
	*ret_key = key;
	while (is_space(*p))
		p++;
	out = val = p;
	if (*p == '"' || *p == '\'') {
		char q = *p++;

		for (;; p++) {
			if (!*p)
				return q == '"' ? "unterminated \"quoted\" value"
						: "unterminated 'quoted' value";
			if (*p == q)
				break;
			if (q == '"' && *p == '\\') {
				if (p[1] != '"' && p[1] != '\\')
					return "in a \"quoted\" value only \\\" and \\\\ are escapes";
				p++;
			}
			*out++ = *p;
		}
		p++;
		while (is_space(*p))
			p++;
		if (*p && !comment_at(line, p))
			return "text after the closing quote (a comment needs a '#' after a space)";
		*out = 0;
		*ret_val = val;
		return NULL;
	}
	/* Unquoted: up to the end or a comment, trailing blanks dropped. */
	for (; *p && !comment_at(line, p); p++) {
		if (*p == '"' || *p == '\'')
			return "a quote inside an unquoted value: quote the whole value";
		*out++ = *p;
	}
	while (out > val && is_space(out[-1]))
		out--;
	*out = 0;
	*ret_val = val;
	return NULL;
}

int jstd_config_load(struct jstd_settings *st, const char *path, char *err, size_t en)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned lineno = 0;
	int rc = 0;

	if (!f) {
		snprintf(err, en, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
		const struct option *o;
		const char *problem;
		char *k, *v, msg[PATH_MAX + 256];

		lineno++;
		if ((size_t)len >= JSTD_CONFIG_LINE_MAX) {
			snprintf(err, en, "%s:%u: line longer than %d bytes", path, lineno,
				 JSTD_CONFIG_LINE_MAX - 1);
			rc = -1;
			break;
		}
		if (strlen(line) != (size_t)len) {
			snprintf(err, en, "%s:%u: a NUL byte: not a text file", path, lineno);
			rc = -1;
			break;
		}
		problem = split_line(line, &k, &v);
		if (problem) {
			snprintf(err, en, "%s:%u: %s", path, lineno, problem);
			rc = -1;
			break;
		}
		if (!*k)
			continue;
		for (o = long_opts; o->name; o++)
			if (!strcmp(o->name, k))
				break;
		if (!o->name || !file_may_set(o->val)) {
			snprintf(err, en, "%s:%u: unknown setting \"%s\"%s", path, lineno, k,
				 o->name ? " (a command-line action, not a setting)" : "");
			rc = -1;
		} else if (o->has_arg == required_argument && (!v || !*v)) {
			snprintf(err, en, "%s:%u: \"%s\" needs a value: %s = VALUE", path, lineno,
				 k, k);
			rc = -1;
		} else if (o->has_arg == no_argument && v && *v) {
			snprintf(err, en, "%s:%u: \"%s\" takes no value: write the name alone",
				 path, lineno, k);
			rc = -1;
		} else if (apply(st, o->val, v ? v : "", msg, sizeof(msg)) < 0) {
			snprintf(err, en, "%s:%u: %s", path, lineno, msg);
			rc = -1;
		}
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, en, "%s: %s", path, strerror(errno));
		rc = -1;
	}
	free(line);
	fclose(f);
	return rc;
}

/* The option getopt_long() just refused, as the user wrote it. */
static void option_error(int c, char **argv, char *err, size_t en)
{
	const char *arg = argv[optind - 1];

	if (!strncmp(arg, "--", 2)) {
		int n = (int)strcspn(arg, "="); /* --name=value: name the option only */

		for (const struct option *o = long_opts; c == '?' && arg[n] && o->name; o++)
			if (o->has_arg == no_argument && (int)strlen(o->name) == n - 2 &&
			    !strncmp(o->name, arg + 2, (size_t)n - 2)) {
				snprintf(err, en, "option --%s takes no value", o->name);
				return;
			}
		snprintf(err, en, c == ':' ? "option %.*s needs a value" : "unknown option %.*s",
			 n, arg);
	} else {
		snprintf(err, en, c == ':' ? "option -%c needs a value" : "unknown option -%c",
			 optopt);
	}
}

int jstd_settings_parse(int argc, char **argv, struct jstd_settings *st, char *err, size_t en)
{
	int c;

	memset(st, 0, sizeof(*st));
	strlcpy(st->ns, jst_default_namespace(), sizeof(st->ns));
	strlcpy(st->user, JST_SERVICE_USER, sizeof(st->user));
	/* First pass: only --config, so the file goes under the command line. */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1)
		if (c == OPT_CONFIG && copy_path(st->config, sizeof(st->config), optarg, "--config",
						 err, en) < 0)
			return -1;
	if (st->config[0] && jstd_config_load(st, st->config, err, en) < 0)
		return -1;
	optind = 0;
	while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1) {
		char msg[PATH_MAX + 256];

		switch (c) {
		case 'h':
			usage(stdout);
			return 1;
		case 'V':
			printf("jobstatd %s\n", jst_version());
			return 1;
		case '?':
		case ':':
			option_error(c, argv, err, en);
			return -1;
		default:
			if (apply(st, c, optarg, msg, sizeof(msg)) < 0) {
				snprintf(err, en, "--%s", msg);
				return -1;
			}
		}
	}
	if (optind != argc) {
		snprintf(err, en, "unexpected argument \"%s\"", argv[optind]);
		return -1;
	}
	if (st->check_config) {
		if (st->config[0])
			printf("jobstatd: %s and the command line: settings are valid\n", st->config);
		else
			printf("jobstatd: the command line's settings are valid (no --config FILE "
			       "given)\n");
		return 1;
	}
	return 0;
}
