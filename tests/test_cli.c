/* SPDX-License-Identifier: MIT */
/*
 * test_cli.c - proves the jobstat tool against a real daemon: `wait` exits
 * with the documented code for each way a job ends (and for a timeout and
 * an unknown job) as soon as it ends; `error` prints GetError as text,
 * JSON and CIM-XML; `list` filters and prints JSON; `terminate` goes
 * through RequestStateChange; `watch` works without a terminal; a person
 * gets a hint when there is no daemon or no such job; a producer's string
 * cannot drive the terminal (byte-exact escaping in text, exact strings in
 * JSON); every command prints JSON, refuses a format it does not print, and
 * exits with the one documented table of codes; a stopped daemon costs at
 * most --timeout (exit 14), wait ends on a dead daemon (12) and on Lost
 * Communication (13), remove works by ID and owner and refuses others, info
 * shows the quotas and counters.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "testdaemon.h"

#ifndef JST_SANFLAGS
#define JST_SANFLAGS "" /* the Makefile gives this build's -fsanitize flags */
#endif

static struct test_daemon d;
static jst_conn *c;
static jst_reader *r;

static void setup(void)
{
	test_daemon_init(&d, "cli");
	test_daemon_start(&d);
	c = test_connect(&d, true, 0, NULL, NULL);
	r = test_attach(&d);
}

static void teardown(void)
{
	jst_detach(r);
	jst_disconnect(c);
	test_daemon_cleanup(&d);
}

TestSuite(cli, .init = setup, .fini = teardown, .timeout = 60);

/* Where a spawned jobstat's stderr goes: with its stdout, or on a pipe of its own. */
static int *err_pipe;
/* The uid a spawned jobstat runs as (group 65534); 0: ours. */
static uid_t spawn_uid;

/* Start `jobstat ARGS...` with its output on a pipe; NULL-terminated arguments. */
static pid_t spawn(int *out, const char *a0, ...)
{
	const char *argv[16] = {"jobstat"};
	unsigned n = 1;
	va_list ap;
	int fd, efd[2] = {-1, -1};
	pid_t pid;

	va_start(ap, a0);
	for (const char *a = a0; a && n < 15; a = va_arg(ap, const char *))
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	if (err_pipe)
		cr_assert_eq(pipe(efd), 0);
	pid = test_fork_piped(&fd);
	if (pid == 0) {
		dup2(fd, 1);
		dup2(err_pipe ? efd[1] : fd, 2);
		if (spawn_uid) {
			gid_t g = 65534;

			if (setgroups(1, &g) < 0 || setresgid(g, g, g) < 0 ||
			    setresuid(spawn_uid, spawn_uid, spawn_uid) < 0)
				_exit(126);
		}
		setenv("JOBSTAT_NAMESPACE", d.ns, 1);
		setenv("JOBSTAT_SOCKET", d.sock, 1);
		execv(JST_BUILD_DIR "/jobstat", (char *const *)argv);
		_exit(127);
	}
	if (err_pipe) {
		close(efd[1]);
		*err_pipe = efd[0];
	}
	*out = fd;
	return pid;
}

/* Read all of @fd into @buf (NUL-terminated) and close it; the length. */
static size_t slurp(int fd, char *buf, size_t n)
{
	size_t have = 0;
	ssize_t got;

	while (have + 1 < n && (got = read(fd, buf + have, n - 1 - have)) > 0)
		have += (size_t)got;
	buf[have] = 0;
	close(fd);
	return have;
}

/* Wait for it; its exit code, its output in @buf. */
static int finish(pid_t pid, int fd, char *buf, size_t n)
{
	int status;

	slurp(fd, buf, n);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status), "jobstat died: %#x\n%s", status, buf);
	return WEXITSTATUS(status);
}

#define RUN(buf, ...)                                                                          \
	({                                                                                     \
		int fd_;                                                                       \
		pid_t p_ = spawn(&fd_, __VA_ARGS__, (const char *)NULL);                       \
		finish(p_, fd_, buf, sizeof(buf));                                             \
	})

/* The same with stderr apart, in @ebuf. */
#define RUN2(buf, ebuf, ...)                                                                   \
	({                                                                                     \
		int fd_, efd_, rc_;                                                            \
		pid_t p_;                                                                      \
		err_pipe = &efd_;                                                              \
		p_ = spawn(&fd_, __VA_ARGS__, (const char *)NULL);                             \
		err_pipe = NULL;                                                               \
		rc_ = finish(p_, fd_, buf, sizeof(buf));                                       \
		slurp(efd_, ebuf, sizeof(ebuf));                                               \
		rc_;                                                                           \
	})

/* Run python3 -c @script with @input on its stdin; its exit code (its output on ours). */
static int python(const char *script, const char *input)
{
	char path[] = "/tmp/jst-cli-py-XXXXXX";
	int fd = mkstemp(path), status;
	FILE *p;
	char cmd[128];

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, script, strlen(script)), (ssize_t)strlen(script));
	close(fd);
	snprintf(cmd, sizeof(cmd), "python3 %s", path);
	p = popen(cmd, "w");
	cr_assert_not_null(p);
	fputs(input, p);
	status = pclose(p);
	unlink(path);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

static jst_handle job(const char *id)
{
	jst_handle h;

	cr_assert_eq(jst_job_create(c, &(struct jst_job_spec){.instance_id = id, .name = id,
							       .initial_state = 4}, &h, NULL), 0);
	return h;
}

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

Test(cli, wait_exits_with_the_documented_code_when_the_job_ends)
{
	static const struct {
		uint16_t state;
		int code;
	} ends[] = {
		{JST_JOB_COMPLETED, 0}, {JST_JOB_EXCEPTION, 3}, {JST_JOB_TERMINATED, 4},
		{JST_JOB_KILLED, 5},    {JST_JOB_COMPLETED_WITH_WARNINGS, 8},
	};
	char out[4096];

	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		char id[32];
		jst_handle h;
		uint64_t t0;
		int fd;
		pid_t p;

		snprintf(id, sizeof(id), "cli:wait-%zu", i);
		h = job(id);
		p = spawn(&fd, "wait", id, (const char *)NULL);
		usleep(200 * 1000); /* it is blocked in the futex by now */
		cr_assert_eq(waitpid(p, NULL, WNOHANG), 0, "wait returned before the job ended");
		t0 = ms_now();
		cr_assert_eq(jst_job_set_state(c, h, ends[i].state), 0);
		cr_assert_eq(finish(p, fd, out, sizeof(out)), ends[i].code, "%s: %s",
			     jst_job_state_name(ends[i].state), out);
		cr_assert_lt(ms_now() - t0, 2000, "it returns promptly once the job ends");
	}
	job("cli:never");
	cr_assert_eq(RUN(out, "wait", "cli:never", "--timeout", "0.3"), 6, "%s", out);
	cr_assert_not_null(strstr(out, "still Running"), "%s", out);
	cr_assert_eq(RUN(out, "wait", "cli:nope"), 7, "%s", out);
}

Test(cli, error_prints_text_json_and_cimxml)
{
	struct jst_error e = {.message_id = "NET0007", .message = "link down & out",
			      .error_type = 2, .perceived_severity = 5};
	char out[65536];
	jst_handle h = job("cli:err");

	cr_assert_eq(RUN(out, "error", "cli:err"), 0);
	cr_assert_not_null(strstr(out, "no error to give"), "running: %s", out);
	cr_assert_eq(jst_job_report_error(c, h, &e, true), 0);
	cr_assert_eq(RUN(out, "error", "cli:err"), 0, "%s", out);
	cr_assert_not_null(strstr(out, "MessageID               NET0007"), "%s", out);
	cr_assert_eq(RUN(out, "error", "cli:err", "--format", "cimxml"), 0);
	cr_assert_not_null(strstr(out, "<INSTANCE CLASSNAME=\"CIM_Error\">"), "%s", out);
	cr_assert_not_null(strstr(out, "<VALUE>link down &amp; out</VALUE>"), "%s", out);
	/* GetErrors as CIM-XML: one document, however many errors. */
	cr_assert_eq(jst_job_report_error(c, h, &e, false), 0); /* a second error */
	cr_assert_eq(RUN(out, "error", "cli:err", "--all", "--format", "cimxml"), 0);
	cr_assert_eq(strstr(strstr(out, "<?xml") + 1, "<?xml"), NULL, "two documents: %s", out);
	cr_assert_not_null(strstr(out, "<DECLGROUP>"), "%s", out);
	cr_assert_eq(RUN(out, "error", "cli:err", "--all", "--format", "json"), 0);
	cr_assert_eq(out[0], '[', "%s", out);
	cr_assert_not_null(strstr(out, "\"MessageID\":\"NET0007\""), "%s", out);
	cr_assert_eq(RUN(out, "error", "cli:err", "--flavour", "do"), 0);
	cr_assert_not_null(strstr(out, "0x80d02014"), "DO: no error object: %s", out);
	cr_assert_eq(RUN(out, "error", "cli:err", "--flavour", "wmi"), 2);
}

Test(cli, list_filters_and_prints_json)
{
	char out[65536];
	jst_handle h = job("cli:a");

	job("cli:b");
	cr_assert_eq(jst_job_complete(c, h), 0);
	cr_assert_eq(RUN(out, "list"), 0);
	cr_assert_not_null(strstr(out, "cli:a"));
	cr_assert_not_null(strstr(out, "cli:b"));
	cr_assert_eq(RUN(out, "list", "--state", "Completed"), 0);
	cr_assert_not_null(strstr(out, "cli:a"), "%s", out);
	cr_assert_null(strstr(out, "cli:b"), "filtered out: %s", out);
	cr_assert_eq(RUN(out, "list", "--state", "running", "--format", "json"), 0);
	cr_assert_not_null(strstr(out, "\"InstanceID\":\"cli:b\""), "%s", out);
	cr_assert_null(strstr(out, "cli:a"), "%s", out);
	cr_assert_eq(RUN(out, "list", "--owner", "nobody"), 0);
	cr_assert_null(strstr(out, "cli:"), "root's jobs are not nobody's: %s", out);
	cr_assert_eq(RUN(out, "list", "--state", "Dancing"), 2);
	cr_assert_eq(RUN(out, "info"), 0);
	cr_assert_not_null(strstr(out, "Completed  1"), "jobs by state: %s", out);
	cr_assert_not_null(strstr(out, "(alive)"), "%s", out);
	cr_assert_not_null(strstr(out, "2 connected (this one included), 1 producer sessions"),
			   "the test's producer and jobstat itself: %s", out);
	cr_assert_eq(RUN(out, "get", "cli:a", "--format", "json"), 0);
	cr_assert_not_null(strstr(out, "\"JobStateName\":\"Completed\""), "%s", out);
}

Test(cli, terminate_goes_through_request_state_change)
{
	char out[4096];
	jst_handle h = job("cli:t");

	jst_disconnect(c); /* no producer to ask: the daemon terminates it */
	c = test_connect(&d, true, 0, NULL, NULL);
	cr_assert_eq(RUN(out, "terminate", "cli:t"), 0, "%s", out);
	cr_assert_not_null(strstr(out, "returned 0"), "%s", out);
	cr_assert_eq(test_read(r, h).job_state, JST_JOB_TERMINATED);
	cr_assert_eq(RUN(out, "kill", "cli:t"), 10, "a final job: refused: %s", out);
	cr_assert_not_null(strstr(out, "returned 4097"), "%s", out);
	cr_assert_eq(RUN(out, "suspend", "cli:none"), 7, "%s", out);
}

Test(cli, watch_without_a_terminal_prints_snapshots)
{
	char out[65536];

	for (int i = 0; i < 50; i++) {
		char id[32];

		snprintf(id, sizeof(id), "cli:w%d", i);
		job(id);
	}
	{
		static char done[65536];
		int fd, fd2;
		pid_t p = spawn(&fd, "watch", "--for", "2.5", (const char *)NULL);
		pid_t p2 = spawn(&fd2, "watch", "--for", "2.5", "--state", "Completed",
				 (const char *)NULL);
		jst_handle h0, h1;

		cr_assert_eq(jst_lookup(r, "cli:w0", &h0), 0);
		cr_assert_eq(jst_lookup(r, "cli:w1", &h1), 0);
		usleep(1200 * 1000); /* after the first snapshots */
		cr_assert_eq(jst_job_complete(c, h0), 0);
		cr_assert_eq(jst_job_remove(c, h1, JST_REMOVE_NOW, NULL), 0);
		cr_assert_eq(finish(p, fd, out, sizeof(out)), 0, "%s", out);
		cr_assert_eq(finish(p2, fd2, done, sizeof(done)), 0, "%s", done);
		/* Later snapshots follow the change log: the completion and the removal. */
		cr_assert_not_null(strstr(done, "jobstat watch: 0 jobs"), "%s", done);
		cr_assert_not_null(strstr(done, "jobstat watch: 1 jobs"), "%s", done);
		cr_assert_not_null(strstr(done, "cli:w0"), "%s", done);
	}
	cr_assert_not_null(strstr(out, "jobstat watch: 50 jobs"), "%s", out);
	cr_assert_not_null(strstr(out, "cli:w"), "%s", out);
	cr_assert_not_null(strstr(out, "jobstat watch: 49 jobs"), "the removal: %s", out);
	cr_assert_null(strstr(out, "\033["), "no escape sequences into a pipe");
}

Test(cli, hints_for_a_person)
{
	char out[4096];
	int fd;
	pid_t p;

	cr_assert_eq(RUN(out, "get", "cli:nope"), 7);
	cr_assert_not_null(strstr(out, "hint: jobstat list"), "%s", out);
	p = spawn(&fd, "-n", "no-such-namespace-here", "list", (const char *)NULL);
	cr_assert_eq(finish(p, fd, out, sizeof(out)), 9);
	cr_assert_not_null(strstr(out, "hint: is jobstatd running?"), "%s", out);
	cr_assert_eq(RUN(out, "frobnicate"), 2);
	cr_assert_eq(RUN(out, "get"), 2, "get without an InstanceID");
	cr_assert_eq(RUN(out, "--help"), 0);
	cr_assert_not_null(strstr(out, "usage: jobstat"));
}

/* The job name: it recoloured the terminal and faked a row when printed raw. */
#define EVIL "evil\033[31mRED\033[0m\r\nsecond line\a"
#define EVIL_TEXT "evil\\e[31mRED\\e[0m\\r\\nsecond line\\a"
#define EVIL_JSON "\"evil\\u001b[31mRED\\u001b[0m\\u000d\\u000asecond line\\u0007\""

static jst_handle evil_job(void)
{
	jst_handle h;

	cr_assert_eq(jst_job_create(c, &(struct jst_job_spec){.instance_id = "cli:evil",
							       .name = EVIL, .initial_state = 4,
							       .job_status = "tab\there \\ \xe2\x80\xae"
									     "fed\xc2\x9b"},
				     &h, NULL), 0);
	cr_assert_eq(jst_job_set_progress(c, h, 42), 0);
	return h;
}

Test(cli, list_and_get_escape_producer_strings_byte_exact)
{
	static const char want_list[] =
		"INSTANCEID                                   STATE              PCT NAME\n"
		"cli:evil                                     Running            42% " EVIL_TEXT "\n";
	char out[65536], err[4096];
	jst_handle h = evil_job();

	cr_assert_eq(RUN2(out, err, "list"), 0, "%s", err);
	cr_assert_str_eq(out, want_list);
	cr_assert_eq(RUN2(out, err, "get", "cli:evil"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "\nName                    " EVIL_TEXT "\n"), "%s", out);
	/* TAB, a backslash, RIGHT-TO-LEFT OVERRIDE and the C1 CSI, each spelled out. */
	cr_assert_not_null(strstr(out, "\nJobStatus               tab\\there \\\\ \\u202efed\\u009b\n"),
			   "%s", out);
	cr_assert_null(memchr(out, '\033', strlen(out)), "no ESC reaches the terminal");
	cr_assert_null(memchr(out, '\r', strlen(out)), "no CR reaches the terminal");
	cr_assert_null(strstr(out, "\xe2\x80\xae"), "no bidi override reaches the terminal");
	/* A CIM_Error's strings too, in error's text; exact in its JSON. */
	cr_assert_eq(jst_job_report_error(c, h, &(struct jst_error){.message_id = "X1",
				.message = "disk\033[2J gone\r\n"}, true), 0);
	cr_assert_eq(jst_job_set_state(c, h, JST_JOB_EXCEPTION), 0);
	cr_assert_eq(RUN2(out, err, "error", "cli:evil"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "\nMessage                 disk\\e[2J gone\\r\\n\n"), "%s", out);
	cr_assert_null(memchr(out, '\033', strlen(out)), "no ESC reaches the terminal");
	cr_assert_eq(RUN2(out, err, "error", "cli:evil", "--format", "json"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "\"Message\":\"disk\\u001b[2J gone\\u000d\\u000a\""), "%s", out);
}

Test(cli, json_carries_the_exact_producer_string)
{
	static const char check[] =
		"import json, sys\n"
		"lines = sys.stdin.read().splitlines()\n"
		"for l in lines:\n"
		"    v = json.loads(l)\n"
		"    for j in (v if isinstance(v, list) else [v]):\n"
		"        assert j['Name'] == 'evil\\x1b[31mRED\\x1b[0m\\r\\nsecond line\\x07', j\n"
		"        assert j['JobStatus'] == 'tab\\there \\\\ \\u202efed\\u009b', j\n";
	char out[65536], err[4096];

	evil_job();
	cr_assert_eq(RUN2(out, err, "list", "--format", "json"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "\"Name\":" EVIL_JSON ","), "%s", out);
	cr_assert_eq(python(check, out), 0, "%s", out);
	cr_assert_eq(RUN2(out, err, "list", "--format", "ndjson"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "\"Name\":" EVIL_JSON ","), "%s", out);
	cr_assert_eq(python(check, out), 0, "%s", out);
	cr_assert_eq(RUN2(out, err, "get", "cli:evil", "--format", "json"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "\"Name\":" EVIL_JSON ","), "%s", out);
	cr_assert_eq(python(check, out), 0, "%s", out);
}

/*
 * `list --format json` printed each job without the properties of format
 * 1.5 (ElementName, Caption, RecoveryAction...) that `get --format json`
 * shows. Now a job in a list has the keys it has in `get`, in JSON and NDJSON.
 */
Test(cli, list_json_has_every_property_get_json_has)
{
	static const char check[] =
		"import json, sys\n"
		"get, lst, nd = sys.stdin.read().split('\\n@@\\n')\n"
		"g = json.loads(get)\n"
		"l = [j for j in json.loads(lst) if j['InstanceID'] == 'cli:props'][0]\n"
		"n = [j for j in map(json.loads, nd.split('\\n')) if j['InstanceID'] == 'cli:props'][0]\n"
		"assert set(l) == set(g), sorted(set(g) ^ set(l))\n"
		"assert set(n) == set(g), sorted(set(g) ^ set(n))\n"
		"assert l['ElementName'] == 'nightly backup' and l['Caption'] == 'backup', l\n";
	static char out[3][65536], all[3 * 65536 + 16];
	char err[4096];
	jst_handle h;

	cr_assert_eq(jst_job_create(c, &(struct jst_job_spec){.instance_id = "cli:props"}, &h, NULL),
		     0);
	cr_assert_eq(jst_job_set_props(c, h, &(struct jst_job_props){
				.set = JST_PROP_ELEMENT_NAME | JST_PROP_CAPTION | JST_PROP_PRIORITY,
				.element_name = "nightly backup", .caption = "backup", .priority = 9},
				       sizeof(struct jst_job_props)), 0);
	cr_assert_eq(RUN2(out[0], err, "get", "cli:props", "--format", "json"), 0, "%s", err);
	cr_assert_eq(RUN2(out[1], err, "list", "--format", "json"), 0, "%s", err);
	cr_assert_eq(RUN2(out[2], err, "list", "--format", "ndjson"), 0, "%s", err);
	if (out[2][0] && out[2][strlen(out[2]) - 1] == '\n')
		out[2][strlen(out[2]) - 1] = 0; /* one object a line, the last ended */
	snprintf(all, sizeof(all), "%s\n@@\n%s\n@@\n%s", out[0], out[1], out[2]);
	cr_assert_eq(python(check, all), 0, "get: %s\nlist: %s\nndjson: %s", out[0], out[1],
		     out[2]);
}

Test(cli, every_format_a_command_does_not_print_is_refused)
{
	static const struct {
		const char *cmd, *id, *format;
	} refused[] = {
		{"info", NULL, "ndjson"},      {"info", NULL, "cimxml"},
		{"list", NULL, "cimxml"},      {"get", "cli:f", "ndjson"},
		{"error", "cli:f", "ndjson"},
		{"wait", "cli:f", "ndjson"},   {"wait", "cli:f", "cimxml"},
		{"watch", NULL, "json"},       {"watch", NULL, "ndjson"},
		{"watch", NULL, "cimxml"},     {"terminate", "cli:f", "cimxml"},
		{"kill", "cli:f", "ndjson"},   {"suspend", "cli:f", "cimxml"},
		{"resume", "cli:f", "ndjson"},
	};
	char out[4096], err[4096];
	jst_handle h = job("cli:f");

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		int rc = refused[i].id ? RUN2(out, err, refused[i].cmd, refused[i].id, "--format",
					      refused[i].format)
				       : RUN2(out, err, refused[i].cmd, "--format", refused[i].format);

		cr_assert_eq(rc, 11, "%s --format %s: %d %s", refused[i].cmd, refused[i].format, rc,
			     err);
		cr_assert_str_empty(out, "%s: nothing printed: %s", refused[i].cmd, out);
		cr_assert_eq(strchr(err, '\n'), err + strlen(err) - 1, "one line: %s", err);
		cr_assert_not_null(strstr(err, refused[i].format), "names the format: %s", err);
	}
	/* What get does print as CIM-XML: the whole job, one document, in either class. */
	cr_assert_eq(RUN2(out, err, "get", "cli:f", "--format", "cimxml"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "<INSTANCE CLASSNAME=\"CIM_ConcreteJob\">"), "%s", out);
	cr_assert_eq(RUN2(out, err, "get", "cli:f", "--format", "cimxml", "--flavour", "hyperv"), 0);
	cr_assert_not_null(strstr(out, "<INSTANCE CLASSNAME=\"Msvm_ConcreteJob\">"), "%s", out);
	cr_assert_eq(RUN2(out, err, "list", "--format", "yaml"), 2, "not a format at all");
	cr_assert_not_null(strstr(err, "not \"yaml\""), "%s", err);
	cr_assert_eq(test_read(r, h).job_state, JST_JOB_RUNNING, "refused before acting");
}

Test(cli, every_command_prints_json)
{
	struct jst_error e = {.message_id = "NET0007", .message = "link down",
			      .error_type = 2, .perceived_severity = 5};
	static char out[65536];
	char err[4096];
	jst_handle h = job("cli:j");

	job("cli:k");
	cr_assert_eq(RUN2(out, err, "info", "--format", "json"), 0, "%s", err);
	cr_assert_eq(python("import json,sys\nv=json.load(sys.stdin)\n"
			    "assert v['DaemonAlive'] is True and v['JobsByState']['Running'] == 2\n"
			    "assert v['Daemon']['Sessions'] == 1\n", out), 0, "%s", out);
	cr_assert_eq(RUN2(out, err, "list", "--format", "ndjson"), 0, "%s", err);
	cr_assert_eq(python("import json,sys\nl=sys.stdin.read().splitlines()\n"
			    "assert sorted(json.loads(x)['InstanceID'] for x in l) == "
			    "['cli:j','cli:k'], l\n", out), 0, "%s", out);
	/* Times as RFC 3339 strings that say the same nanosecond as the numbers. */
	cr_assert_eq(RUN2(out, err, "get", "cli:j", "--format", "json"), 0, "%s", err);
	cr_assert_eq(python("import json,sys,datetime,re\nv=json.load(sys.stdin)\n"
			    "assert v['TimeOfLastStateChange'] is None, 'created Running: no change yet'\n"
			    "for k in ('TimeSubmitted','StartTime'):\n"
			    "    s=v[k+'RFC3339']; n=v[k]\n"
			    "    assert re.fullmatch(r'\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{9}Z', s), s\n"
			    "    t=datetime.datetime.strptime(s[:19],'%Y-%m-%dT%H:%M:%S')"
			    ".replace(tzinfo=datetime.timezone.utc)\n"
			    "    assert int(t.timestamp())*10**9+int(s[20:29]) == n, (s, n)\n"
			    "assert v['OperationalStatusNames'] == ['OK'], v\n", out), 0, "%s", out);
	/* "No error" is null, and GetErrors' none is an empty array. */
	cr_assert_eq(RUN2(out, err, "error", "cli:j", "--format", "json"), 0, "%s", err);
	cr_assert_str_eq(out, "null\n");
	cr_assert_eq(RUN2(out, err, "error", "cli:j", "--all", "--format", "json"), 0, "%s", err);
	cr_assert_str_eq(out, "[]\n");
	cr_assert_eq(jst_job_report_error(c, h, &e, true), 0);
	cr_assert_eq(RUN2(out, err, "error", "cli:j", "--format", "json"), 0, "%s", err);
	cr_assert_eq(python("import json,sys\nv=json.load(sys.stdin)\n"
			    "assert v['MessageID'] == 'NET0007'\n", out), 0, "%s", out);
	cr_assert_eq(RUN2(out, err, "wait", "cli:j", "--format", "json"), 3, "%s", err);
	cr_assert_eq(python("import json,sys\nv=json.load(sys.stdin)\n"
			    "assert v == {'InstanceID':'cli:j','Result':'ended','JobState':10,"
			    "'JobStateName':'Exception','ExitCode':3}, v\n", out), 0, "%s", out);
	cr_assert_eq(RUN2(out, err, "wait", "cli:k", "--timeout", "0.1", "--format", "json"), 6);
	cr_assert_eq(python("import json,sys\nv=json.load(sys.stdin)\n"
			    "assert v['Result'] == 'timeout' and v['JobStateName'] == 'Running'\n",
			    out), 0, "%s", out);
	jst_disconnect(c); /* no producer to ask: the daemon terminates it */
	c = test_connect(&d, true, 0, NULL, NULL);
	cr_assert_eq(RUN2(out, err, "terminate", "cli:k", "--format", "json"), 0, "%s", err);
	cr_assert_eq(python("import json,sys\nv=json.load(sys.stdin)\n"
			    "assert v['ReturnValue'] == 0 and v['Request'] == 'terminate'\n"
			    "assert v['Error'] is None\n", out), 0, "%s", out);
	cr_assert_eq(RUN2(out, err, "kill", "cli:k", "--format", "json"), 10, "%s", err);
	cr_assert_eq(python("import json,sys\nv=json.load(sys.stdin)\n"
			    "assert v['ReturnValue'] == 4097 and v['ExitCode'] == 10\n"
			    "assert v['ReturnValueDescription'] == 'Invalid State Transition'\n",
			    out), 0, "%s", out);
}

Test(cli, get_shows_every_property_for_people)
{
	char out[65536], err[4096], user[64];
	struct passwd *pw = getpwuid(getuid());
	jst_handle h;

	cr_assert_eq(jst_job_create(c, &(struct jst_job_spec){.instance_id = "cli:p", .name = "p",
							       .initial_state = 4, .priority = 7,
							       .job_type = 3, .owner = "ops team"},
				     &h, NULL), 0);
	cr_assert_eq(jst_job_set_state(c, h, JST_JOB_EXCEPTION), 0);
	cr_assert_eq(RUN2(out, err, "get", "cli:p"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "\nOperationalStatus       Completed, Error\n"), "%s", out);
	cr_assert_not_null(strstr(out, "\nPriority                7\n"), "%s", out);
	cr_assert_not_null(strstr(out, "\nJobType                 3\n"), "%s", out);
	cr_assert_not_null(strstr(out, "\nOwner                   ops team\n"), "%s", out);
	cr_assert_not_null(pw);
	snprintf(user, sizeof(user), "uid %u (%s)\n", (unsigned)getuid(), pw->pw_name);
	cr_assert_not_null(strstr(out, user), "the owner's user name: %s", out);
	/* Local time to the millisecond with the zone, for each instant. */
	for (const char *const *k = (const char *const[]){"TimeSubmitted ", "StartTime ",
							  "TimeOfLastStateChange ", NULL};
	     *k; k++) {
		const char *l = strstr(out, *k);
		int y, mo, dd, hh, mi, ss, ms;

		cr_assert_not_null(l, "%s: %s", *k, out);
		l += strspn(l + strlen(*k), " ") + strlen(*k);
		cr_assert_eq(sscanf(l, "%4d-%2d-%2d %2d:%2d:%2d.%3d", &y, &mo, &dd, &hh, &mi, &ss, &ms),
			     7, "%s: %s", *k, l);
		cr_assert_geq(y, 2024, "%s", l);
	}
	cr_assert_not_null(strstr(out, "\nTimeBeforeRemoval       00:05:00.000\n"), "%s", out);
	cr_assert_eq(RUN2(out, err, "list", "--state", "Exception"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "cli:p"), "%s", out);
}

Test(cli, exit_codes_follow_the_one_table)
{
	char out[65536], err[4096];
	jst_handle h = job("cli:x");

	(void)h;
	/* 7: no such job, whatever the command. */
	cr_assert_eq(RUN2(out, err, "get", "cli:none"), 7, "%s", err);
	cr_assert_eq(RUN2(out, err, "error", "cli:none"), 7, "%s", err);
	cr_assert_eq(RUN2(out, err, "wait", "cli:none"), 7, "%s", err);
	cr_assert_eq(RUN2(out, err, "terminate", "cli:none"), 7, "%s", err);
	cr_assert_eq(RUN2(out, err, "resume", "cli:none"), 7, "%s", err);
	/* 2: the command line. */
	cr_assert_eq(RUN2(out, err, "info", "cli:x"), 2, "%s", err);
	cr_assert_eq(RUN2(out, err, "wait", "cli:x", "--timeout", "soon"), 2, "%s", err);
	cr_assert_eq(RUN2(out, err, "wait", "cli:x", "--lost-grace", "-1"), 2, "%s", err);
	cr_assert_not_null(strstr(err, "--lost-grace wants seconds"), "%s", err);
	cr_assert_eq(RUN2(out, err, "info", "--timeout", "nan"), 2, "%s", err);
	cr_assert_eq(RUN2(out, err, "list", "--owner", "no-such-user-here"), 2, "%s", err);
	cr_assert_eq(RUN2(out, err, "watch", "--state", "Dancing"), 2, "%s", err);
	cr_assert_eq(RUN2(out, err, "error", "cli:x", "--flavour", "wmi"), 2, "%s", err);
	cr_assert_eq(RUN2(out, err, "kill"), 2, "no InstanceID: %s", err);
	/* 0 while the daemon runs. */
	cr_assert_eq(RUN2(out, err, "info"), 0, "%s", err);
	cr_assert_eq(RUN2(out, err, "list"), 0, "%s", err);
	cr_assert_eq(RUN2(out, err, "get", "cli:x"), 0, "%s", err);
	/* 9: jobstatd gone. Its segment stays, with no heartbeat after 2 s. */
	test_daemon_signal(&d, SIGKILL);
	usleep(2300 * 1000);
	cr_assert_eq(RUN2(out, err, "info"), 9, "%s", err);
	cr_assert_not_null(strstr(out, "NOT RUNNING"), "the report still prints: %s", out);
	cr_assert_not_null(strstr(err, "not running"), "%s", err);
	cr_assert_eq(RUN2(out, err, "info", "--format", "json"), 9, "%s", err);
	cr_assert_not_null(strstr(out, "\"DaemonAlive\":false"), "%s", out);
	cr_assert_eq(RUN2(out, err, "list"), 9, "%s", err);
	cr_assert_not_null(strstr(out, "cli:x"), "the last jobs still print: %s", out);
	cr_assert_eq(RUN2(out, err, "terminate", "cli:x"), 9, "no socket: %s", err);
	/* 9 too with no segment at all. */
	shm_unlink(d.shm);
	cr_assert_eq(RUN2(out, err, "info"), 9, "%s", err);
	cr_assert_eq(RUN2(out, err, "list"), 9, "%s", err);
	cr_assert_eq(RUN2(out, err, "get", "cli:x"), 9, "%s", err);
	cr_assert_eq(RUN2(out, err, "error", "cli:x"), 9, "%s", err);
	cr_assert_eq(RUN2(out, err, "wait", "cli:x"), 9, "%s", err);
	cr_assert_eq(RUN2(out, err, "watch", "--for", "1"), 9, "%s", err);
	cr_assert_eq(RUN2(out, err, "suspend", "cli:x"), 9, "%s", err);
	cr_assert_eq(RUN2(out, err, "watch", "--state", "Dancing"), 2, "the command line first");
	cr_assert_eq(RUN2(out, err, "list", "--owner", "no-such-user-here"), 2, "%s", err);
}

/* Complete COMP_LINE @line with cli/jobstat.bash in bash; the candidates, one a line. */
static void complete_line(const char *line, char *out, size_t n)
{
	char cmd[1024];
	FILE *p;
	size_t k;

	snprintf(cmd, sizeof(cmd),
		 "PATH=%s:$PATH JOBSTAT_NAMESPACE=%s bash --norc -c 'source cli/jobstat.bash && "
		 "complete -p jobstat >/dev/null && COMP_LINE=\"%s\" && COMP_POINT=${#COMP_LINE} && "
		 "_jobstat && printf \"%%s\\n\" \"${COMPREPLY[@]}\" | sort'",
		 JST_BUILD_DIR, d.ns, line);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	k = fread(out, 1, n - 1, p);
	out[k] = 0;
	cr_assert_eq(pclose(p), 0, "%s: %s", line, out);
}

Test(cli, bash_completion_offers_commands_options_formats_and_ids)
{
	char out[4096];

	job("cli:c1");
	job("cli:c2");
	job("acme:x");
	complete_line("jobstat ", out, sizeof(out));
	cr_assert_str_eq(out, "error\nget\ninfo\nkill\nlist\nremove\nresume\nsuspend\nterminate\n"
			      "wait\nwatch\n");
	complete_line("jobstat -n x w", out, sizeof(out));
	cr_assert_str_eq(out, "wait\nwatch\n");
	complete_line("jobstat list --format ", out, sizeof(out));
	cr_assert_str_eq(out, "json\nndjson\ntext\n", "list's formats only");
	complete_line("jobstat get x --format ", out, sizeof(out));
	cr_assert_str_eq(out, "json\ntext\n", "get's formats only");
	complete_line("jobstat error --", out, sizeof(out));
	cr_assert_str_eq(out, "--all\n--flavour\n--format\n--namespace\n");
	complete_line("jobstat list --state Comp", out, sizeof(out));
	cr_assert_str_eq(out, "Completed\nCompletedWithWarnings\n");
	/* InstanceIDs from the running daemon; bash breaks words at ':', so only the rest. */
	complete_line("jobstat wait ", out, sizeof(out));
	cr_assert_str_eq(out, "acme:x\ncli:c1\ncli:c2\n");
	complete_line("jobstat get cli:c", out, sizeof(out));
	cr_assert_str_eq(out, "c1\nc2\n");
	complete_line("jobstat get cli:c1 ", out, sizeof(out));
	cr_assert_str_eq(out, "\n", "one InstanceID only");
	/* Issue 13: remove, its options; wait's --lost-grace; info's --timeout. */
	complete_line("jobstat remove --", out, sizeof(out));
	cr_assert_str_eq(out, "--format\n--namespace\n--now\n--owner\n--timeout\n");
	complete_line("jobstat remove acme", out, sizeof(out));
	cr_assert_str_eq(out, "acme:x\n");
	complete_line("jobstat wait x --", out, sizeof(out));
	cr_assert_str_eq(out, "--format\n--lost-grace\n--namespace\n--timeout\n");
	complete_line("jobstat info --t", out, sizeof(out));
	cr_assert_str_eq(out, "--timeout\n");
}

Test(cli, the_readme_monitor_example_follows_a_job_without_spinning)
{
	char out[4096], cmd[512], exe[] = "/tmp/jst-readme-XXXXXX";
	struct rusage ru;
	long cpu_us;
	int fd = mkstemp(exe), status;
	jst_handle h = job("cli:readme");
	pid_t p;

	cr_assert_geq(fd, 0);
	close(fd);
	/* The first C block under "Reading a job's status", built as a user would. */
	snprintf(cmd, sizeof(cmd),
		 "sed -n \"/^## Reading a job's status/,/^## /p\" README.md | "
		 "sed -n '/^```c$/,/^```$/p' | sed '1d;$d' | "
		 "cc %s -Iinclude -Ilibclient -x c - -x none %s/libjobstat.a -o %s", JST_SANFLAGS, JST_BUILD_DIR,
		 exe);
	cr_assert_eq(system(cmd), 0, "the README example builds");
	p = test_fork_piped(&fd);
	if (p == 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		setenv("JOBSTAT_NAMESPACE", d.ns, 1);
		execl(exe, exe, "cli:readme", (char *)NULL);
		_exit(127);
	}
	usleep(1000 * 1000); /* a second with nothing changing: it must sleep through it */
	cr_assert_eq(jst_job_set_progress(c, h, 50), 0);
	usleep(100 * 1000);
	cr_assert_eq(jst_job_complete(c, h), 0);
	slurp(fd, out, sizeof(out));
	cr_assert_eq(wait4(p, &status, 0, &ru), p);
	unlink(exe);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%#x: %s", status, out);
	cr_assert_str_eq(out, "Running: 0%\nRunning: 50%\nCompleted\n");
	cpu_us = ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec +
		 ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec;
	cr_assert_lt(cpu_us, 200000, "it slept, it did not spin: %ld us of CPU in 1.1 s", cpu_us);
}

/* ---- issue 13: deadlines, a dead daemon, Lost Communication, remove, quotas ---- */

static uint64_t ms_since(uint64_t t0)
{
	return ms_now() - t0;
}

/*
 * With jobstatd stopped (SIGSTOP), `info` and `terminate --timeout 2` blocked
 * for ever. Now every command that talks to jobstatd gives up at --timeout
 * (10 s when not given) with exit 14 and one line, and works again once the
 * daemon runs.
 */
Test(cli, a_stopped_daemon_gives_exit_14_within_the_timeout)
{
	char out[65536], err[4096];
	jst_handle h = job("cli:stop");
	uint64_t t0;

	kill(d.pid, SIGSTOP);
	/* Its heartbeat is fresh for 2 s: info does try the socket. */
	t0 = ms_now();
	cr_assert_eq(RUN2(out, err, "info", "--timeout", "0.5"), 14, "%s%s", out, err);
	cr_assert_lt(ms_since(t0), 1500, "info took %" PRIu64 " ms", ms_since(t0));
	cr_assert_not_null(strstr(err, "did not answer within 0.5 s"), "%s", err);
	cr_assert_eq(strchr(err, '\n'), err + strlen(err) - 1, "one line: %s", err);
	t0 = ms_now();
	cr_assert_eq(RUN2(out, err, "terminate", "cli:stop", "--timeout", "0.5"), 14, "%s", err);
	cr_assert_lt(ms_since(t0), 1500, "terminate took %" PRIu64 " ms", ms_since(t0));
	cr_assert_eq(strchr(err, '\n'), err + strlen(err) - 1, "one line: %s", err);
	t0 = ms_now();
	cr_assert_eq(RUN2(out, err, "remove", "cli:stop", "--now", "--timeout", "0.5"), 14, "%s",
		     err);
	cr_assert_lt(ms_since(t0), 1500, "remove took %" PRIu64 " ms", ms_since(t0));
	kill(d.pid, SIGCONT);
	cr_assert_eq(RUN2(out, err, "info", "--timeout", "5"), 0, "%s", err);
	cr_assert_eq(test_read(r, h).job_state, JST_JOB_RUNNING,
		     "nothing was done to the job");
}

/*
 * `jobstat wait` without --timeout never returned once the daemon was dead.
 * Now it ends with exit 12 once there is no heartbeat for twice its timeout.
 */
Test(cli, wait_ends_with_12_when_the_daemon_dies)
{
	char out[4096];
	uint64_t t0;
	int fd;
	pid_t p;

	job("cli:orphan");
	p = spawn(&fd, "wait", "cli:orphan", "--format", "json", (const char *)NULL);
	usleep(300 * 1000);
	cr_assert_eq(waitpid(p, NULL, WNOHANG), 0, "wait returned while the daemon lived");
	t0 = ms_now();
	test_daemon_signal(&d, SIGKILL);
	cr_assert_eq(finish(p, fd, out, sizeof(out)), 12, "%s", out);
	cr_assert_lt(ms_since(t0), 9000, "it took %" PRIu64 " ms", ms_since(t0));
	cr_assert_geq(ms_since(t0), 2000, "it gave up before the heartbeat timeout");
	cr_assert_not_null(strstr(out, "\"Result\":\"daemon-stopped\""), "%s", out);
	cr_assert_not_null(strstr(out, "\"ExitCode\":12"), "%s", out);
	cr_assert_not_null(strstr(out, "jobstatd stopped before the job ended"), "%s", out);
}

static void setup_lost(void)
{
	test_daemon_init(&d, "cli");
	d.args[0] = "--lost-grace";
	d.args[1] = "0.2";
	test_daemon_start(&d);
	c = test_connect(&d, true, 0, NULL, NULL);
	r = test_attach(&d);
}

TestSuite(cli_lost, .init = setup_lost, .fini = teardown, .timeout = 60);

/*
 * On a job whose producer died, wait said nothing and waited for ever. Now,
 * once the job shows Lost Communication for --lost-grace, it exits 13 and
 * says so; a job whose producer is there is not reported.
 */
Test(cli_lost, wait_reports_lost_communication_after_its_grace)
{
	char out[4096];
	jst_conn *p = test_connect(&d, true, 0, NULL, NULL);
	jst_handle h;
	uint64_t t0;

	cr_assert_eq(jst_job_create(p, &(struct jst_job_spec){.instance_id = "cli:lost",
							       .initial_state = 4}, &h, NULL), 0);
	job("cli:kept");
	/* Its producer is connected: a timeout, not Lost Communication. */
	cr_assert_eq(RUN(out, "wait", "cli:kept", "--timeout", "1", "--lost-grace", "0.3"), 6,
		     "%s", out);
	jst_disconnect(p);
	t0 = ms_now();
	cr_assert_eq(RUN(out, "wait", "cli:lost", "--lost-grace", "0.5", "--format", "json"), 13,
		     "%s", out);
	cr_assert_geq(ms_since(t0), 500, "the grace was not waited");
	cr_assert_lt(ms_since(t0), 5000, "it took %" PRIu64 " ms", ms_since(t0));
	cr_assert_not_null(strstr(out, "\"Result\":\"lost-communication\""), "%s", out);
	cr_assert_not_null(strstr(out, "Lost Communication for"), "%s", out);
	cr_assert_eq(test_read(r, h).job_state, JST_JOB_RUNNING, "it is still Running");
}

/* Create @id as Completed (or Running when !done) through @c. */
static jst_handle finished_job(const char *id, bool done)
{
	jst_handle h = job(id);

	if (done)
		cr_assert_eq(jst_job_complete(c, h), 0);
	return h;
}

/*
 * The CLI had no remove command: a lost producer's jobs stayed for good.
 * Now `remove ID` schedules a finished job's removal (at once with --now),
 * refuses an unfinished one with the daemon's reason, and `remove --owner`
 * removes every finished job of a user and leaves the others.
 */
Test(cli, remove_by_id_and_by_owner)
{
	char out[8192], err[4096];
	jst_handle a = finished_job("cli:done-a", true), b = finished_job("cli:done-b", true);
	jst_handle e = finished_job("cli:done-e", true), run = finished_job("cli:running", false);
	struct jst_status st;

	cr_assert_eq(RUN2(out, err, "remove", "cli:done-a"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "removed at"), "TimeBeforeRemoval is 5 min: %s", out);
	cr_assert_eq(jst_status(r, a, &st), 0, "not removed yet");
	cr_assert_eq(RUN2(out, err, "remove", "cli:done-a", "--now", "--format", "json"), 0, "%s",
		     err);
	cr_assert_not_null(strstr(out, "\"Result\":\"removed\""), "%s", out);
	cr_assert_eq(jst_status(r, a, &st), JST_ESTALE, "removed at once");
	cr_assert_eq(RUN2(out, err, "remove", "cli:running"), 10, "%s", err);
	cr_assert_not_null(strstr(err, "remove cli:running: "), "%s", err);
	cr_assert_eq(RUN2(out, err, "remove", "cli:gone"), 7, "%s", err);
	/* The command line: an ID or --owner, not both, not neither. */
	cr_assert_eq(RUN2(out, err, "remove"), 2, "%s", err);
	cr_assert_eq(RUN2(out, err, "remove", "cli:done-b", "--owner", "root"), 2, "%s", err);
	cr_assert_eq(RUN2(out, err, "remove", "--owner", "no-such-user-here"), 2, "%s", err);
	cr_assert_eq(RUN2(out, err, "remove", "--owner", "0", "--now"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "removed cli:done-b"), "%s", out);
	cr_assert_not_null(strstr(err, "cli:running is Running, not finished"), "%s", err);
	cr_assert_eq(jst_status(r, b, &st), JST_ESTALE);
	cr_assert_eq(jst_status(r, e, &st), JST_ESTALE);
	cr_assert_eq(jst_status(r, run, &st), 0, "an unfinished job is left");
}

/* `info` showed no quotas and no counters. Now it shows both, as text and JSON. */
Test(cli, info_shows_quotas_and_counters)
{
	char out[65536], err[4096];
	char want[64];
	jst_handle h = job("cli:q1");

	job("cli:q2");
	cr_assert_eq(jst_job_complete(c, h), 0);
	cr_assert_eq(RUN2(out, err, "info", "--format", "json"), 0, "%s", err);
	snprintf(want, sizeof(want), "{\"UID\":%u,", (unsigned)geteuid());
	cr_assert_not_null(strstr(out, want), "%s", out);
	snprintf(want, sizeof(want), "\"Jobs\":2,\"JobsMax\":%s", geteuid() ? "" : "null");
	cr_assert_not_null(strstr(out, want), "our two jobs: %s", out);
	cr_assert_not_null(strstr(out, "\"Counters\":{\"JobsCreated\":2,"), "%s", out);
	cr_assert_not_null(strstr(out, "\"Completed\":1"), "%s", out);
	cr_assert_eq(python("import json,sys; d=json.load(sys.stdin); "
			    "sys.exit(0 if d['Counters']['Pools'][0]['Name']=='status' and "
			    "d['Quotas'][0]['Connections']>=1 else 1)", out), 0, "%s", out);
	cr_assert_eq(RUN2(out, err, "info"), 0, "%s", err);
	snprintf(want, sizeof(want), "uid %u (", (unsigned)geteuid());
	cr_assert_not_null(strstr(out, want), "%s", out);
	cr_assert_not_null(strstr(out, "jobs 2"), "%s", out);
	cr_assert_not_null(strstr(out, "counters     2 jobs created"), "%s", out);
	cr_assert_not_null(strstr(out, "Completed 1,"), "%s", out);
}

static void setup_group(void)
{
	test_daemon_init(&d, "cli");
	d.args[0] = "-g";
	d.args[1] = "65534";
	test_daemon_start(&d);
	c = test_connect(&d, true, 0, NULL, NULL);
	r = test_attach(&d);
}

TestSuite(cli_others, .init = setup_group, .fini = teardown, .timeout = 60);

/*
 * Another uid may not remove root's job: exit 10 with the daemon's reason,
 * and the job stays. Its info shows its own quota, not root's.
 */
Test(cli_others, another_user_is_refused_and_sees_only_its_own_quota)
{
	char out[65536], err[4096];
	jst_handle h = finished_job("cli:roots", true);
	struct jst_status st;
	int rc;

	if (geteuid() != 0)
		cr_skip_test("needs root to play another uid");
	spawn_uid = 65534;
	rc = RUN2(out, err, "remove", "cli:roots", "--now");
	spawn_uid = 0;
	cr_assert_eq(rc, 10, "%s", err);
	cr_assert_not_null(strstr(err, "remove cli:roots: "), "%s", err);
	cr_assert_eq(jst_status(r, h, &st), 0, "the job stays");
	spawn_uid = 65534;
	rc = RUN2(out, err, "info", "--format", "json");
	spawn_uid = 0;
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert_null(strstr(out, "{\"UID\":0,"), "root's use is not shown to others: %s", out);
	cr_assert_not_null(strstr(out, "\"Quotas\":["), "%s", out);
	cr_assert_eq(RUN2(out, err, "info", "--format", "json"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "{\"UID\":0,"), "root sees every uid: %s", out);
}
