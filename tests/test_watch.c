/* SPDX-License-Identifier: MIT */
/*
 * test_watch.c - proves `jobstat watch` in a real terminal: it runs in a tmux
 * pane against a real jobstatd, keys go in with send-keys and the screen comes
 * back with capture-pane. It uses the terminal's width and follows resizes,
 * scrolls with the keys terminals send (arrows, PgUp/PgDn, Home/End) and not
 * with the letters inside their escape sequences, searches, filters by state,
 * sorts, shows help, a summary line and a banner when the daemon is down, and
 * escapes what producers wrote.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <locale.h>
#include <stdlib.h>
#include <wchar.h>

#include "testdaemon.h"

static struct test_daemon d;
static jst_conn *c;
static jst_reader *r;
static char tmux_sock[64];

static void setup(void)
{
	test_daemon_init(&d, "watch");
	test_daemon_start(&d);
	c = test_connect(&d, true, 0, NULL, NULL);
	r = test_attach(&d);
	snprintf(tmux_sock, sizeof(tmux_sock), "jst-watch-%ld", (long)getpid());
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "tmux -L %s kill-server 2>/dev/null", tmux_sock);
	if (system(cmd)) {
		/* no server left: nothing to do */
	}
	jst_detach(r);
	jst_disconnect(c);
	test_daemon_cleanup(&d);
}

TestSuite(watch, .init = setup, .fini = teardown, .timeout = 90);

/* Run `tmux -L SOCK ARGS`; its exit code. */
static int tmux(const char *fmt, ...)
{
	char args[1024], cmd[1200];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "tmux -L %s -f /dev/null %s", tmux_sock, args);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The pane's text now, one line per row, in @buf. */
static const char *screen(char *buf, size_t n)
{
	char cmd[256];
	FILE *p;
	size_t k;

	snprintf(cmd, sizeof(cmd), "tmux -L %s capture-pane -p -t w", tmux_sock);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	k = fread(buf, 1, n - 1, p);
	buf[k] = 0;
	pclose(p);
	return buf;
}

/* Wait until the screen contains @want (or, with @absent, no longer does); the screen. */
static const char *await(char *buf, size_t n, const char *want, bool absent)
{
	for (int i = 0; i < 100; i++) {
		bool has = strstr(screen(buf, n), want) != NULL;

		if (has != absent)
			return buf;
		usleep(50 * 1000);
	}
	cr_assert_fail("the screen never %s \"%s\":\n%s", absent ? "lost" : "showed", want, buf);
	return buf;
}

/* `jobstat watch ARGS` in a detached tmux session of @cols x @rows. */
static void start_watch(int cols, int rows, const char *args)
{
	cr_assert_eq(tmux("new-session -d -s w -x %d -y %d "
			  "'env LANG=C.UTF-8 JOBSTAT_NAMESPACE=%s %s/jobstat watch %s'",
			  cols, rows, d.ns, JST_BUILD_DIR, args),
		     0);
}

/* Wait until watch has exited (its session ends with it). */
static void await_exit(void)
{
	for (int i = 0; i < 100; i++) {
		if (tmux("has-session -t w 2>/dev/null") != 0)
			return;
		usleep(50 * 1000);
	}
	cr_assert_fail("jobstat watch did not exit");
}

static jst_handle job(const char *id, const char *name, uint16_t pct)
{
	jst_handle h;

	cr_assert_eq(jst_job_create(c, &(struct jst_job_spec){.instance_id = id, .name = name,
							       .initial_state = 4},
				     &h, NULL),
		     0);
	cr_assert_eq(jst_job_set_progress(c, h, pct), 0);
	return h;
}

static void many_jobs(unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		char id[32], name[64];

		snprintf(id, sizeof(id), "cli:w%03u", i);
		snprintf(name, sizeof(name), "copy disk %u", i);
		job(id, name, (uint16_t)(i % 101));
	}
}

/* The screen's line that holds @what, or NULL. */
static const char *line_of(const char *scr, const char *what)
{
	const char *p = strstr(scr, what);

	if (!p)
		return NULL;
	while (p > scr && p[-1] != '\n')
		p--;
	return p;
}

static size_t line_len(const char *l)
{
	const char *e = strchr(l, '\n');

	return e ? (size_t)(e - l) : strlen(l);
}

Test(watch, uses_the_terminal_width_and_follows_resizes)
{
	static char scr[65536];
	const char *l;

	job("cli:wide", "a long name that only a wide terminal has room for, to its last word", 50);
	start_watch(200, 20, "");
	await(scr, sizeof(scr), "cli:wide", false);
	l = line_of(scr, "cli:wide");
	cr_assert_not_null(strstr(l, "to its last word"), "200 columns show it all:\n%s", scr);
	cr_assert_not_null(strstr(l, "Running"), "%s", scr);
	/* Narrow: every row still one line, the name cut, not wrapped onto the next row. */
	cr_assert_eq(tmux("resize-window -t w -x 70 -y 20"), 0);
	await(scr, sizeof(scr), "to its last word", true);
	l = line_of(scr, "cli:wide");
	cr_assert_not_null(l, "%s", scr);
	cr_assert_leq(line_len(l), 70, "%s", scr);
	cr_assert_not_null(strstr(l, "Running"), "the state stays on the row:\n%s", scr);
	cr_assert_null(strstr(scr, "last word"), "nothing wrapped:\n%s", scr);
	/* Wide again: the space is used again. */
	cr_assert_eq(tmux("resize-window -t w -x 200 -y 20"), 0);
	await(scr, sizeof(scr), "to its last word", false);
}

Test(watch, scrolls_with_the_keys_terminals_send)
{
	static char scr[65536];

	many_jobs(100);
	start_watch(120, 30, "");
	await(scr, sizeof(scr), "row 1 of 100", false);
	cr_assert_not_null(strstr(scr, "cli:w000"), "%s", scr);
	/* The letters of escape sequences are not keys: B, A, 6, 5 do nothing now. */
	cr_assert_eq(tmux("send-keys -t w B 6 A 5"), 0);
	usleep(300 * 1000);
	await(scr, sizeof(scr), "row 1 of 100", false);
	cr_assert_eq(tmux("send-keys -t w Down Down Down"), 0);
	await(scr, sizeof(scr), "row 4 of 100", false);
	cr_assert_eq(tmux("send-keys -t w Up"), 0);
	await(scr, sizeof(scr), "row 3 of 100", false);
	cr_assert_eq(tmux("send-keys -t w End"), 0);
	await(scr, sizeof(scr), "row 100 of 100", false);
	cr_assert_not_null(strstr(scr, "cli:w099"), "the last job shows:\n%s", scr);
	cr_assert_null(strstr(scr, "cli:w000"), "the first scrolled away:\n%s", scr);
	cr_assert_eq(tmux("send-keys -t w Home"), 0);
	await(scr, sizeof(scr), "row 1 of 100", false);
	cr_assert_not_null(strstr(scr, "cli:w000"), "%s", scr);
	cr_assert_eq(tmux("send-keys -t w NPage"), 0);
	await(scr, sizeof(scr), "row 1 of 100", true);
	cr_assert_null(strstr(scr, "cli:w000"), "a page down:\n%s", scr);
	cr_assert_eq(tmux("send-keys -t w PPage"), 0);
	await(scr, sizeof(scr), "row 1 of 100", false);
	cr_assert_not_null(strstr(scr, "cli:w000"), "%s", scr);
	cr_assert_eq(tmux("send-keys -t w q"), 0);
	await_exit();
}

Test(watch, searches_filters_sorts_and_helps)
{
	static char scr[65536];
	jst_handle h;

	many_jobs(30);
	cr_assert_eq(jst_lookup(r, "cli:w007", &h), 0);
	cr_assert_eq(jst_job_complete(c, h), 0);
	start_watch(120, 40, "");
	await(scr, sizeof(scr), "30 of 30 jobs", false);
	/* Search: InstanceID or Name. */
	cr_assert_eq(tmux("send-keys -t w / w01 Enter"), 0);
	await(scr, sizeof(scr), "10 of 30 jobs", false);
	cr_assert_not_null(strstr(scr, "search \"w01\""), "%s", scr);
	cr_assert_not_null(strstr(scr, "cli:w015"), "%s", scr);
	cr_assert_null(strstr(scr, "cli:w020"), "%s", scr);
	cr_assert_eq(tmux("send-keys -t w / Enter"), 0);
	await(scr, sizeof(scr), "30 of 30 jobs", false);
	/* The state filter. */
	cr_assert_eq(tmux("send-keys -t w f Completed Enter"), 0);
	await(scr, sizeof(scr), "1 of 30 jobs", false);
	cr_assert_not_null(strstr(scr, "state Completed"), "%s", scr);
	cr_assert_not_null(strstr(scr, "cli:w007"), "%s", scr);
	cr_assert_null(strstr(scr, "cli:w008"), "%s", scr);
	cr_assert_eq(tmux("send-keys -t w f Enter"), 0);
	await(scr, sizeof(scr), "30 of 30 jobs", false);
	/* Sort by progress: cli:w000 (0%) first; reversed, cli:w029 (29%) first. */
	cr_assert_eq(tmux("send-keys -t w s"), 0);
	await(scr, sizeof(scr), "sorted by progress", false);
	cr_assert(strstr(scr, "cli:w000") < strstr(scr, "cli:w029"), "%s", scr);
	cr_assert_eq(tmux("send-keys -t w r"), 0);
	await(scr, sizeof(scr), "(reversed)", false);
	cr_assert(strstr(scr, "cli:w029") < strstr(scr, "cli:w000"), "%s", scr);
	cr_assert_eq(tmux("send-keys -t w s s"), 0);
	await(scr, sizeof(scr), "sorted by InstanceID", false);
	/* Help, closed by any key. */
	cr_assert_eq(tmux("send-keys -t w ?"), 0);
	await(scr, sizeof(scr), "PgUp, PgDn", false);
	cr_assert_not_null(strstr(scr, "Home, End"), "%s", scr);
	cr_assert_eq(tmux("send-keys -t w x"), 0);
	await(scr, sizeof(scr), "PgUp, PgDn", true);
	/* Ctrl-C quits as q does. */
	cr_assert_eq(tmux("send-keys -t w C-c"), 0);
	await_exit();
}

Test(watch, summarises_and_shows_a_banner_when_the_daemon_is_down)
{
	static char scr[65536];
	jst_handle h;

	many_jobs(5);
	h = job("cli:evil", "evil\033[31mRED\033[0m\r\nsecond line\a", 10);
	cr_assert_eq(jst_job_set_state(c, h, JST_JOB_EXCEPTION), 0);
	start_watch(160, 20, "");
	await(scr, sizeof(scr), "daemon alive", false);
	cr_assert_not_null(strstr(scr, "Running 5  Exception 1"), "jobs by state:\n%s", scr);
	cr_assert_not_null(strstr(scr, "changes/s"), "%s", scr);
	/* What a producer wrote is shown escaped, on its own row. */
	cr_assert_not_null(strstr(scr, "evil\\e[31mRED\\e[0m\\r\\nsecond line\\a"), "%s", scr);
	cr_assert_null(strstr(scr, "\nsecond line"), "no faked row:\n%s", scr);
	/* Changes per second: a burst of updates shows a rate. */
	for (int i = 0; i < 200; i++)
		cr_assert_eq(jst_job_set_progress(c, h, (uint16_t)(i % 100)), 0);
	await(scr, sizeof(scr), "| 0 changes/s", true);
	/* The daemon goes away: a banner within the heartbeat timeout and a second. */
	test_daemon_signal(&d, SIGKILL);
	await(scr, sizeof(scr), "daemon DOWN", false);
	cr_assert_not_null(strstr(scr, "jobstatd is NOT RUNNING"), "%s", scr);
	cr_assert_not_null(strstr(scr, "cli:w000"), "the last state still shows:\n%s", scr);
}

/* The terminal columns of the bytes [l, l + n) of a screen line (UTF-8). */
static int display_cols(const char *l, size_t n)
{
	wchar_t w[512];
	char tmp[2048];
	size_t k;

	cr_assert_lt(n, sizeof(tmp));
	memcpy(tmp, l, n);
	tmp[n] = 0;
	k = mbstowcs(w, tmp, 512);
	cr_assert_neq(k, (size_t)-1, "not UTF-8: %s", tmp);
	return wcswidth(w, k);
}

/*
 * Wide characters (CJK) take two cells: an InstanceID of them must not push
 * the STATE column right, and a Name of them is cut at the screen's edge, not
 * wrapped onto the next row.
 */
Test(watch, wide_characters_keep_the_columns_in_place)
{
	static char scr[65536];
	const char *a, *b;
	char name[400] = "", wide_id[200] = "cli:";
	const char *ra, *rb;

	cr_assert_not_null(setlocale(LC_CTYPE, "C.UTF-8"));
	for (int i = 0; i < 30; i++)
		strcat(wide_id, "\xe6\x97\xa5"); /* 日: 60 columns, wider than the column */
	for (int i = 0; i < 60; i++)
		strcat(name, "\xe5\x90\x8d"); /* 名: 120 columns */
	strcat(name, "END");
	job(wide_id, name, 30);
	job("cli:abcdefghij", "plain", 40);
	start_watch(100, 20, "");
	await(scr, sizeof(scr), "cli:abcdefghij", false);
	a = line_of(scr, "cli:\xe6\x97\xa5");
	b = line_of(scr, "cli:abcdefghij");
	cr_assert_not_null(a, "%s", scr);
	ra = strstr(a, "Running");
	rb = strstr(b, "Running");
	cr_assert(ra && rb, "%s", scr);
	cr_assert_eq(display_cols(a, (size_t)(ra - a)), display_cols(b, (size_t)(rb - b)),
		     "STATE must start in the same column on both rows:\n%s", scr);
	cr_assert_leq(display_cols(a, line_len(a)), 100, "the row fits the screen:\n%s", scr);
	cr_assert_null(strstr(scr, "END"), "the name is cut:\n%s", scr);
	/* Nothing of it wrapped: the next row starts with the next job. */
	cr_assert_null(strstr(scr, "\n\xe5\x90\x8d"), "the name wrapped:\n%s", scr);
}
