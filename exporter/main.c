/* SPDX-License-Identifier: MIT */
/*
 * main.c - jobstat-exporter's process: options, the HTTP server
 * (libmicrohttpd, one thread, so scrapes never overlap) and its one page,
 * /metrics, negotiated between the text format 0.0.4 and OpenMetrics 1.0.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

#define JX_DEFAULT_LISTEN "127.0.0.1:9731"

static const char landing[] =
	"<html><head><title>jobstat-exporter</title></head><body>"
	"<h1>jobstat-exporter</h1><p><a href=\"/metrics\">Metrics</a></p></body></html>\n";

struct server {
	struct jx_exporter x;
	struct jx_buf buf;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: jobstat-exporter [--listen ADDR:PORT] [--namespace NS]...\n"
		"                        [--max-job-series N] [--failed-window SECONDS]\n"
		"       jobstat-exporter --help | --version\n\n"
		"Serves the jobs and the daemon of one or more jobstat namespaces as Prometheus\n"
		"metrics on http://ADDR:PORT/metrics, read from their segments with no syscall\n"
		"per job. Text format 0.0.4, or OpenMetrics 1.0 when the scraper asks for it.\n\n"
		"  -l, --listen ADDR:PORT    where to listen (default %s; [::1]:PORT for IPv6)\n"
		"  -n, --namespace NS        a namespace to export; repeat for more (at most %u;\n"
		"                            default $JOBSTAT_NAMESPACE, else \"default\")\n"
		"      --max-job-series N    jobs given per-job series per scrape, in all\n"
		"                            namespaces together (default %u; 0: none)\n"
		"      --failed-window SECS  a job in Exception keeps its per-job series this\n"
		"                            long after it failed (default %u)\n"
		"  -h, --help                this text\n"
		"  -V, --version             the version\n",
		JX_DEFAULT_LISTEN, JX_MAX_NAMESPACES, JX_DEFAULT_MAX_JOBS, JX_DEFAULT_FAILED_WINDOW_S);
}

/* "127.0.0.1:9731" or "[::1]:9731"; false with a message in @err. */
static bool parse_listen(const char *s, struct sockaddr_storage *ss, char *err, size_t en)
{
	char host[64];
	const char *colon, *port_s;
	char *end;
	unsigned long port;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(host)) {
			snprintf(err, en, "--listen %s: expected [IPV6]:PORT", s);
			return false;
		}
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = 0;
		port_s = close + 2;
	} else {
		colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= sizeof(host)) {
			snprintf(err, en, "--listen %s: expected ADDR:PORT, e.g. %s", s,
				 JX_DEFAULT_LISTEN);
			return false;
		}
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = 0;
		port_s = colon + 1;
	}
	errno = 0;
	port = strtoul(port_s, &end, 10);
	if (!*port_s || *end || errno || port == 0 || port > 65535) {
		snprintf(err, en, "--listen %s: the port must be 1-65535", s);
		return false;
	}
	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) {
			snprintf(err, en, "--listen %s: \"%s\" is not an IPv6 address", s, host);
			return false;
		}
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1) {
			snprintf(err, en,
				 "--listen %s: \"%s\" is not an IPv4 address (names are not resolved)",
				 s, host);
			return false;
		}
	}
	return true;
}

/* A whole number in [0, max]; false with a message in @err. */
static bool parse_uint(const char *opt, const char *s, unsigned long max, uint32_t *ret,
		       char *err, size_t en)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *end || errno || s[0] == '-' || v > max) {
		snprintf(err, en, "%s %s: expected a whole number from 0 to %lu", opt, s, max);
		return false;
	}
	*ret = (uint32_t)v;
	return true;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
			     const char *body, size_t len)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result rc;

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	rc = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return rc;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **req_cls)
{
	struct server *s = cls;
	enum jx_format f;
	static const char not_found[] = "jobstat-exporter serves /metrics\n";
	static const char bad_method[] = "jobstat-exporter serves GET and HEAD\n";

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)req_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", bad_method,
			     sizeof(bad_method) - 1);
	if (strcmp(url, "/") == 0)
		return reply(conn, MHD_HTTP_OK, "text/html", landing, sizeof(landing) - 1);
	if (strcmp(url, "/metrics") != 0)
		return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", not_found,
			     sizeof(not_found) - 1);
	f = jx_negotiate(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_ACCEPT));
	/*
	 * A daemon that is down shows as jobstat_up 0 in a normal reply; only
	 * running out of memory for the reply itself is an HTTP error.
	 */
	if (jx_scrape(&s->x, f, &s->buf) < 0)
		return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain",
			     "out of memory\n", 14);
	return reply(conn, MHD_HTTP_OK, jx_content_type(f), s->buf.p, s->buf.len);
}

int main(int argc, char **argv)
{
	enum { OPT_MAX_JOBS = 256, OPT_FAILED_WINDOW };
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"namespace", required_argument, NULL, 'n'},
		{"max-job-series", required_argument, NULL, OPT_MAX_JOBS},
		{"failed-window", required_argument, NULL, OPT_FAILED_WINDOW},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	static struct server srv;
	const char *names[JX_MAX_NAMESPACES];
	const char *listen = JX_DEFAULT_LISTEN;
	uint32_t max_jobs = JX_DEFAULT_MAX_JOBS, window = JX_DEFAULT_FAILED_WINDOW_S;
	unsigned n_ns = 0;
	struct sockaddr_storage ss;
	struct MHD_Daemon *d;
	char err[256];
	sigset_t set;
	int c, sig, rc;

	while ((c = getopt_long(argc, argv, "l:n:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			listen = optarg;
			break;
		case 'n':
			if (n_ns == JX_MAX_NAMESPACES) {
				fprintf(stderr, "jobstat-exporter: at most %u namespaces\n",
					JX_MAX_NAMESPACES);
				return 2;
			}
			names[n_ns++] = optarg;
			break;
		case OPT_MAX_JOBS:
			if (!parse_uint("--max-job-series", optarg, 10000000, &max_jobs, err,
					sizeof(err))) {
				fprintf(stderr, "jobstat-exporter: %s\n", err);
				return 2;
			}
			break;
		case OPT_FAILED_WINDOW:
			if (!parse_uint("--failed-window", optarg, 366u * 86400, &window, err,
					sizeof(err))) {
				fprintf(stderr, "jobstat-exporter: %s\n", err);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("jobstat-exporter %s (libmicrohttpd %s)\n", jst_version(),
			       MHD_get_version());
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "jobstat-exporter: unexpected argument \"%s\" (see --help)\n",
			argv[optind]);
		return 2;
	}
	if (n_ns == 0)
		names[n_ns++] = jst_default_namespace();
	if (!parse_listen(listen, &ss, err, sizeof(err))) {
		fprintf(stderr, "jobstat-exporter: %s\n", err);
		return 2;
	}
	for (unsigned i = 0; i < n_ns; i++)
		for (unsigned k = 0; k < i; k++)
			if (strcmp(names[i], names[k]) == 0) {
				fprintf(stderr, "jobstat-exporter: namespace \"%s\" given twice\n",
					names[i]);
				return 2;
			}
	rc = jx_init(&srv.x, names, n_ns, max_jobs, window);
	if (rc < 0) {
		fprintf(stderr, "jobstat-exporter: %s\n",
			rc == JST_ENAMESPACE ? "invalid namespace name (1-64 of A-Z a-z 0-9 . _ -)"
					     : jst_strerror(rc));
		return 2;
	}
	jx_refresh(&srv.x); /* before the server's thread: from then on only it scrapes */
	/* SIGTERM and SIGINT for sigwait() below, blocked before the server's thread exists. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG |
				     (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
			     0, NULL, NULL, handle, &srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
			     MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_CONNECTION_TIMEOUT,
			     (unsigned)30, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr,
			"jobstat-exporter: cannot listen on %s (%s): is the port in use? Choose "
			"another with --listen\n",
			listen, strerror(errno));
		jx_free(&srv.x);
		return 1;
	}
	fprintf(stderr, "jobstat-exporter: serving http://%s/metrics for", listen);
	for (unsigned i = 0; i < n_ns; i++)
		fprintf(stderr, " %s%s", names[i],
			srv.x.ns[i].attach_rc ? " (not attached yet: shown as jobstat_up 0)" : "");
	fprintf(stderr, "\n");
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	jx_free(&srv.x);
	free(srv.buf.p);
	return 0;
}
