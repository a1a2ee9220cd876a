/* SPDX-License-Identifier: MIT */
/*
 * watch.c - `jobstat watch`: a live view of the jobs that follows the change
 * log, and one snapshot a second when the output is not a terminal.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "escape.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct row {
	struct jst_status st;
};

static int sort_mode; /* 0 state, 1 progress, 2 latest change */
static const char *const sort_names[] = {"state", "progress", "latest change"};

static int cmp_rows(const void *a, const void *b)
{
	const struct jst_status *x = &((const struct row *)a)->st, *y = &((const struct row *)b)->st;

	if (sort_mode == 1 && x->percent_complete != y->percent_complete)
		return x->percent_complete < y->percent_complete ? -1 : 1;
	if (sort_mode == 2 && x->change_seq != y->change_seq)
		return x->change_seq > y->change_seq ? -1 : 1;
	if (sort_mode == 0 && x->job_state != y->job_state)
		return x->job_state < y->job_state ? -1 : 1;
	return x->handle.slot < y->handle.slot ? -1 : x->handle.slot > y->handle.slot;
}

static struct termios saved_tio;
static bool tty_raw;
static volatile sig_atomic_t watch_stop;

static void restore_tty(void)
{
	if (tty_raw) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
		fputs("\033[?25h\033[?1049l", stdout); /* cursor back, main screen back */
		fflush(stdout);
		tty_raw = false;
	}
}

static void on_stop(int sig)
{
	(void)sig;
	watch_stop = 1;
}

static const char *colour(uint16_t s)
{
	switch (s) {
	case JST_JOB_RUNNING:
		return "\033[32m";
	case JST_JOB_COMPLETED:
		return "\033[34m";
	case JST_JOB_EXCEPTION:
	case JST_JOB_KILLED:
		return "\033[31m";
	case JST_JOB_TERMINATED:
	case JST_JOB_SUSPENDED:
		return "\033[33m";
	default:
		return "\033[0m";
	}
}

static void draw(jst_reader *r, struct row *rows, size_t n, size_t top, int height, int width,
		 bool tty)
{
	static struct jst_job job;
	char bar[21];
	size_t shown = 0;

	if (tty)
		fputs("\033[H\033[2J", stdout);
	printf("jobstat watch: %zu jobs, sorted by %s%s\n", n, sort_names[sort_mode],
	       tty ? "   (q quit, s sort, arrows scroll)" : "");
	printf("%-40s %-14s %-22s %s\n", "INSTANCEID", "STATE", "PROGRESS", "OPSTATUS");
	for (size_t i = top; i < n && (int)shown < height - 3; i++, shown++) {
		const struct jst_status *st = &rows[i].st;
		unsigned p = st->percent_complete > 100 ? 0 : st->percent_complete;
		const char *id = jst_job(r, st->handle, &job) == 0 ? job.instance_id : "(removed)";

		for (unsigned k = 0; k < 20; k++)
			bar[k] = k < p / 5 ? '#' : '.';
		bar[20] = 0;
		cli_put_cell(stdout, id, 40);
		printf(" %s%-14s%s [%s] %3u%% %u\n", tty ? colour(st->job_state) : "",
		       jst_job_state_name(st->job_state), tty ? "\033[0m" : "", bar, p,
		       st->operational_status[0]);
	}
	(void)width;
	fflush(stdout);
}

static void full_scan(jst_reader *r, struct jst_status *table, bool *live, uint32_t cap)
{
	static struct jst_status batch[256];
	uint32_t pos = 0;
	size_t got;

	memset(live, 0, cap * sizeof(*live));
	while (jst_scan(r, &pos, batch, 256, &got) == 0 && got > 0) {
		for (size_t i = 0; i < got; i++) {
			if (batch[i].handle.slot < cap) {
				table[batch[i].handle.slot] = batch[i];
				live[batch[i].handle.slot] = true;
			}
		}
	}
}

/* Apply the change log since *@cursor. Return 0; JST_EOVERRUN (rescan). */
static int follow_changes(jst_reader *r, uint64_t *cursor, struct jst_status *table, bool *live,
			  uint32_t cap)
{
	static struct jst_status got[256];
	size_t n;
	int rc;

	do {
		rc = jst_changed(r, cursor, got, 256, &n);
		if (rc < 0)
			return rc;
		for (size_t i = 0; i < n; i++) {
			uint32_t s = got[i].handle.slot;

			if (s >= cap)
				continue;
			live[s] = got[i].handle.gen != 0; /* gen 0: removed */
			if (live[s])
				table[s] = got[i];
		}
	} while (n == 256);
	return 0;
}

int cli_watch(jst_reader *r, const char *state_filter, const char *owner_filter, double seconds)
{
	uint16_t state = state_filter ? cli_parse_state(state_filter) : 0;
	long owner = cli_parse_owner(owner_filter);
	bool tty = isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
	uint64_t until = seconds > 0 ? mono_ns() + (uint64_t)(seconds * 1e9) : 0;
	struct sigaction sa = {.sa_handler = on_stop};
	struct jst_info in;
	struct row *rows;
	struct jst_status *table; /* the latest status of every slot, kept by the change log */
	bool *live, rescan = true;
	uint64_t cursor = 0;
	size_t top = 0;

	if ((state_filter && !state) || owner == -2) {
		fprintf(stderr, "jobstat: bad --state or --owner\n");
		return EXIT_USAGE;
	}
	jst_info(r, &in);
	rows = calloc(in.capacity, sizeof(*rows));
	table = calloc(in.capacity, sizeof(*table));
	live = calloc(in.capacity, sizeof(*live));
	if (!rows || !table || !live)
		return cli_fail("watch", JST_ENOMEM);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (tty && tcgetattr(STDIN_FILENO, &saved_tio) == 0) {
		struct termios raw = saved_tio;

		raw.c_lflag &= (tcflag_t) ~(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
		tty_raw = true;
		atexit(restore_tty);
		fputs("\033[?1049h\033[?25l", stdout); /* alternate screen, no cursor */
	}
	while (!watch_stop && (!until || mono_ns() < until)) {
		struct winsize ws = {.ws_row = 40, .ws_col = 120};
		size_t n = 0;
		struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};

		if (tty)
			ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws);
		/* Only what changed since the last redraw; everything after an overrun. */
		if (!rescan && follow_changes(r, &cursor, table, live, in.capacity) < 0)
			rescan = true;
		if (rescan) {
			cursor = jst_change_seq(r); /* first: a change during the scan is seen again */
			full_scan(r, table, live, in.capacity);
			rescan = false;
		}
		for (uint32_t s = 0; s < in.capacity; s++)
			if (live[s] && cli_wanted(&table[s], state, owner))
				rows[n++].st = table[s];
		qsort(rows, n, sizeof(*rows), cmp_rows);
		if (top >= n)
			top = n ? n - 1 : 0;
		draw(r, rows, n, top, tty ? ws.ws_row : 25, ws.ws_col, tty);
		/*
		 * On a terminal: redraw on a change or a key, at most 10 times a second.
		 * Otherwise (a pipe, a log): one snapshot a second.
		 */
		if (tty && poll(&pfd, 1, 0) == 0)
			jst_wait_changes(r, cursor, 100000000); /* sleeps while nothing changes */
		usleep(tty ? 100000 : 1000000);
		if (tty) {
			char k[8];
			ssize_t kn = read(STDIN_FILENO, k, sizeof(k));

			for (ssize_t i = 0; i < kn; i++) {
				if (k[i] == 'q')
					watch_stop = 1;
				else if (k[i] == 's')
					sort_mode = (sort_mode + 1) % 3;
				else if (k[i] == 'A' && top > 0) /* ESC [ A: up */
					top--;
				else if (k[i] == 'B') /* ESC [ B: down */
					top++;
				else if (k[i] == '5' && top > 0) /* page up */
					top = top > 20 ? top - 20 : 0;
				else if (k[i] == '6') /* page down */
					top += 20;
			}
		}
	}
	restore_tty();
	free(rows);
	free(table);
	free(live);
	return 0;
}
