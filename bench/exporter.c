/* SPDX-License-Identifier: MIT */
/*
 * exporter.c - what a scrape of jobstat-exporter costs at 1,000, 10,000 and
 * 100,000 jobs: the scrape in-process (read and write the metrics) against
 * the bare read of the same jobs (jst_scan) in the same run, the same with
 * no per-job cap, then the real exporter over HTTP with its CPU per scrape,
 * and a scrape run under seccomp strict (any syscall kills it).
 *
 * Usage: exporter [--quick]   (--quick stops at 10,000 jobs)
 * Jobs: 70 % Running with progress, 25 % Completed, 5 % failed with an error
 * (Exception, recent), so 75 % qualify for per-job series (capped at 10,000).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchutil.h"
#include "metrics.h"
#include "publish.h"
#include "shm-check.h"

#ifndef JST_BUILD_DIR
#error "the Makefile defines JST_BUILD_DIR, where jobstat-exporter is"
#endif

#define SAMPLES 21

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct jst_pub *fill(const char *shm, uint32_t n)
{
	struct jst_pub_config cfg = {.shm_name = shm, .capacity = n + 16, .errors = n / 10 + 64};
	struct jst_error e = {.message_id = "JST9001", .perceived_severity = 6,
			      .cim_status_code = 4};
	struct jst_pub *p;
	struct timespec now;
	char id[64];

	clock_gettime(CLOCK_REALTIME, &now);
	if (jst_pub_create(&cfg, &p) < 0) {
		fprintf(stderr, "exporter bench: cannot create %s\n", shm);
		exit(1);
	}
	for (uint32_t i = 0; i < n; i++) {
		struct jst_status st = {.job_state = JST_JOB_RUNNING,
					.job_type = (uint16_t)(i % 7),
					.percent_complete = (uint16_t)(i % 100),
					.start_time = (uint64_t)now.tv_sec * 1000000000u,
					.time_of_last_state_change = (uint64_t)now.tv_sec * 1000000000u};
		jst_handle h;

		if (i % 4 == 0)
			st.job_state = JST_JOB_COMPLETED;
		snprintf(id, sizeof(id), "bench:exporter-job-%08u", i);
		if (jst_pub_job_create(p, id, &st, NULL, &h) < 0)
			exit(1);
		if (i % 20 == 1) {
			st.job_state = JST_JOB_EXCEPTION;
			if (jst_pub_publish(p, h, &(struct jst_pub_change){.error = &e, .status = &st}) < 0)
				exit(1);
		}
	}
	return p;
}

/* Median wall time of a scrape in-process, and its CPU; bytes written. */
static void in_process(const char *ns, uint32_t max_jobs, enum jx_format f, double *ret_ms,
		       double *ret_cpu_ms, size_t *ret_bytes)
{
	struct jx_exporter x;
	struct jx_buf b = {0};
	double v[SAMPLES];
	uint64_t c0;

	if (jx_init(&x, &ns, 1, max_jobs, 3600) < 0 || jx_scrape(&x, f, &b) < 0)
		exit(1);
	c0 = cpu_ns();
	for (int s = 0; s < SAMPLES; s++) {
		uint64_t t0 = now_ns();

		jx_render(&x, f, &b);
		v[s] = ms(now_ns() - t0);
	}
	*ret_cpu_ms = ms(cpu_ns() - c0) / SAMPLES;
	*ret_ms = summarize(v, SAMPLES).median;
	*ret_bytes = b.len;
	jx_free(&x);
	free(b.p);
}

/* Median of a bare jst_scan() over every job: the read a scrape cannot avoid. */
static double bare_scan(const char *ns)
{
	static struct jst_status batch[JX_BATCH];
	jst_reader *r;
	double v[SAMPLES];

	if (jst_attach(ns, &r) < 0)
		exit(1);
	for (int s = 0; s < SAMPLES; s++) {
		uint64_t t0 = now_ns(), sum = 0;
		uint32_t pos = 0;
		size_t n;

		while (jst_scan(r, &pos, batch, JX_BATCH, &n) == 0 && n > 0)
			sum += batch[n - 1].job_state;
		KEEP(&sum);
		v[s] = ms(now_ns() - t0);
	}
	jst_detach(r);
	return summarize(v, SAMPLES).median;
}

/* A scrape under seccomp strict after one to size the buffer: 0 if it made no syscall. */
static int sandboxed(const char *ns)
{
	struct jx_exporter x;
	struct jx_buf b = {0};
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		if (jx_init(&x, &ns, 1, JX_DEFAULT_MAX_JOBS, 3600) < 0 || jx_scrape(&x, JX_TEXT, &b) < 0)
			syscall(SYS_exit, 3);
		if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT) != 0)
			syscall(SYS_exit, 4);
		jx_render(&x, JX_TEXT, &b);
		jx_render(&x, JX_OPENMETRICS, &b);
		syscall(SYS_exit, b.full ? 5 : 0);
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	bind(fd, (struct sockaddr *)&a, sizeof(a));
	getsockname(fd, (struct sockaddr *)&a, &len);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* One GET /metrics; bytes received, or -1. */
static long http_get(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	static char buf[1 << 16];
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"
				  "Accept: application/openmetrics-text;version=1.0.0,text/plain;q=0.5\r\n"
				  "Connection: close\r\n\r\n";
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	long total = 0;
	ssize_t got;

	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1)) {
		close(fd);
		return -1;
	}
	while ((got = read(fd, buf, sizeof(buf))) > 0)
		total += got;
	close(fd);
	return total;
}

/*
 * CPU time (user + system) of @pid's threads so far, in ms: the first field of
 * /proc/PID/task/TID/schedstat is the nanoseconds each thread ran, finer than
 * /proc/PID/stat's clock ticks (10 ms, more than a small scrape costs).
 */
static double proc_cpu_ms(pid_t pid)
{
	char path[320];
	unsigned long long ns, total = 0;
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
		f = fopen(path, "r");
		if (f && fscanf(f, "%llu", &ns) == 1)
			total += ns;
		if (f)
			fclose(f);
	}
	closedir(d);
	return (double)total / 1e6;
}

/* The real exporter over HTTP: median scrape time and its CPU per scrape. */
static void over_http(const char *ns, double *ret_ms, double *ret_cpu_ms, long *ret_bytes)
{
	int port = free_port(), status;
	char listen[32];
	double v[SAMPLES], c0;
	pid_t pid;

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		freopen("/dev/null", "w", stderr); /* its "serving ..." line */
		execl(JST_BUILD_DIR "/jobstat-exporter", "jobstat-exporter", "--namespace", ns,
		      "--listen", listen, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && http_get(port) < 0; i++)
		usleep(10000);
	*ret_bytes = http_get(port); /* warm-up: the buffer grows once */
	c0 = proc_cpu_ms(pid);
	for (int s = 0; s < SAMPLES; s++) {
		uint64_t t0 = now_ns();

		*ret_bytes = http_get(port);
		v[s] = ms(now_ns() - t0);
	}
	*ret_cpu_ms = (proc_cpu_ms(pid) - c0) / SAMPLES;
	*ret_ms = summarize(v, SAMPLES).median;
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
}

int main(int argc, char **argv)
{
	static const uint32_t sizes[] = {1000, 10000, 100000};
	bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	unsigned nsizes = quick ? 2 : 3;
	double at100k = -1;

	printf("jobstat-exporter scrape cost (medians of %d scrapes; 75%% of jobs qualify for per-job\n"
	       "series, capped at %u unless said; CPU is the scraping process's user + system)\n\n",
	       SAMPLES, JX_DEFAULT_MAX_JOBS);
	printf("%8s | %9s %9s %9s | %9s %7s | %9s %9s | %9s %9s %9s | %s\n", "jobs", "text ms",
	       "cpu ms", "bytes", "scan ms", "ratio", "OM ms", "uncap ms", "http ms", "exp cpu",
	       "bytes", "seccomp");
	for (unsigned i = 0; i < nsizes; i++) {
		uint32_t n = sizes[i];
		char ns[64], shm[JST_SHM_NAME_MAX];
		struct jst_pub *p;
		double t_text, c_text, t_om, c_om, t_unc, c_unc, t_scan, t_http, c_http;
		size_t b_text, b_om, b_unc;
		long b_http;
		int sb;

		snprintf(ns, sizeof(ns), "bench-exp-%ld-%u", (long)getpid(), n);
		jst_shm_name(ns, shm, sizeof(shm));
		p = fill(shm, n);
		in_process(ns, JX_DEFAULT_MAX_JOBS, JX_TEXT, &t_text, &c_text, &b_text);
		in_process(ns, JX_DEFAULT_MAX_JOBS, JX_OPENMETRICS, &t_om, &c_om, &b_om);
		in_process(ns, n, JX_TEXT, &t_unc, &c_unc, &b_unc);
		t_scan = bare_scan(ns);
		over_http(ns, &t_http, &c_http, &b_http);
		sb = sandboxed(ns);
		printf("%8u | %9.2f %9.2f %9zu | %9.3f %6.1fx | %9.2f %9.2f | %9.2f %9.2f %9ld | %s\n", n,
		       t_text, c_text, b_text, t_scan, t_text / t_scan, t_om, t_unc, t_http, c_http,
		       b_http, sb == 0 ? "no syscall" : sb == -SIGKILL ? "SYSCALL MADE" : "error");
		if (n == 100000)
			at100k = t_http;
		jst_pub_close(p, true);
	}
	printf("\ntext ms: one scrape in-process (read every job, write the metrics), capped;\n"
	       "scan ms: jst_scan() of every job alone, the floor of any scrape; ratio: text / scan;\n"
	       "OM ms: the same in OpenMetrics; uncap ms: --max-job-series = jobs (every qualifying\n"
	       "job gets its series); http ms: GET /metrics from the real exporter, client side;\n"
	       "exp cpu: the exporter process's CPU per scrape (its threads' schedstat run time);\n"
	       "seccomp: a scrape under seccomp strict.\n");
	if (at100k >= 0)
		printf("target: a scrape of 100,000 jobs under 100 ms: %.1f ms, %s\n", at100k,
		       at100k < 100 ? "met" : "MISSED");
	return 0;
}
