/* SPDX-License-Identifier: MIT */
/*
 * watch.c - `jobstat watch`: a live view of the jobs that follows the change
 * log, on ncursesw in a terminal (its width, resizes, real keys, search,
 * filter, sort, help, a summary line and a banner when the daemon is down),
 * and one plain snapshot a second when the output is not a terminal.
 */
#define _GNU_SOURCE
#include <curses.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "escape.h"

enum sort_key { SORT_STATE, SORT_PROGRESS, SORT_CHANGE, SORT_ID, SORT_N };
static const char *const sort_names[SORT_N] = {"state", "progress", "latest change",
					       "InstanceID"};

/* What the view holds: the latest status of every slot, and the strings it shows. */
struct view {
	jst_reader *r;
	uint32_t cap;
	struct jst_status *table; /* kept current by the change log */
	bool *live;
	char **id, **name;        /* escaped, per slot, fetched once per job (they never change) */
	uint32_t *id_gen;         /* the handle.gen the strings belong to */
	uint32_t *rows;           /* slots shown, in order */
	size_t nrows;
	uint64_t cursor;
	bool rescan;
	/* what the person chose */
	enum sort_key sort;
	bool reverse;
	uint16_t state;           /* 0: every state */
	long owner;               /* -1: every owner */
	char search[128];         /* "" : no search */
	size_t top, sel;          /* first row shown, row selected */
	/* the summary line */
	unsigned by_state[13], vendor;
	double rate;              /* changes per second */
	uint64_t rate_t0, rate_seq0;
};

static volatile sig_atomic_t watch_stop;

static void on_stop(int sig)
{
	(void)sig;
	watch_stop = 1;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- the model: table, strings, rows ---- */

static void full_scan(struct view *v)
{
	static struct jst_status batch[256];
	uint32_t pos = 0;
	size_t got;

	memset(v->live, 0, v->cap * sizeof(*v->live));
	while (jst_scan(v->r, &pos, batch, 256, &got) == 0 && got > 0) {
		for (size_t i = 0; i < got; i++) {
			if (batch[i].handle.slot < v->cap) {
				v->table[batch[i].handle.slot] = batch[i];
				v->live[batch[i].handle.slot] = true;
			}
		}
	}
}

/* Apply the change log since the cursor. Return 0; < 0 (overrun: rescan). */
static int follow_changes(struct view *v)
{
	static struct jst_status got[256];
	size_t n;
	int rc;

	do {
		rc = jst_changed(v->r, &v->cursor, got, 256, &n);
		if (rc < 0)
			return rc;
		for (size_t i = 0; i < n; i++) {
			uint32_t s = got[i].handle.slot;

			if (s >= v->cap)
				continue;
			v->live[s] = got[i].handle.gen != 0; /* gen 0: removed */
			if (v->live[s])
				v->table[s] = got[i];
		}
	} while (n == 256);
	return 0;
}

/* Bring the table up to date: only what changed, everything after an overrun. */
static void refresh_table(struct view *v)
{
	if (!v->rescan && follow_changes(v) < 0)
		v->rescan = true;
	if (v->rescan) {
		v->cursor = jst_change_seq(v->r); /* first: a change during the scan is seen again */
		full_scan(v);
		v->rescan = false;
	}
}

static char *escaped(const char *s)
{
	size_t n = cli_escape(s ? s : "", NULL, 0) + 1;
	char *e = malloc(n);

	if (e)
		cli_escape(s ? s : "", e, n);
	return e;
}

/* The InstanceID and Name of the job in @slot, escaped, read once per job. */
static void strings_of(struct view *v, uint32_t slot)
{
	static struct jst_job job;
	jst_handle h = v->table[slot].handle;

	if (v->id[slot] && v->id_gen[slot] == h.gen)
		return;
	free(v->id[slot]);
	free(v->name[slot]);
	if (jst_job(v->r, h, &job) == 0) {
		v->id[slot] = escaped(job.instance_id);
		v->name[slot] = escaped(job.name);
		v->id_gen[slot] = h.gen;
	} else { /* removed meanwhile (or no stable read): shown so, read again next time */
		v->id[slot] = escaped("(removed)");
		v->name[slot] = escaped("");
		v->id_gen[slot] = 0;
	}
}

static struct view *sort_view;

static int cmp_rows(const void *a, const void *b)
{
	const struct view *v = sort_view;
	uint32_t sa = *(const uint32_t *)a, sb = *(const uint32_t *)b;
	const struct jst_status *x = &v->table[sa], *y = &v->table[sb];
	int c = 0;

	if (v->sort == SORT_PROGRESS && x->percent_complete != y->percent_complete)
		c = x->percent_complete < y->percent_complete ? -1 : 1;
	else if (v->sort == SORT_CHANGE && x->change_seq != y->change_seq)
		c = x->change_seq > y->change_seq ? -1 : 1; /* latest first */
	else if (v->sort == SORT_STATE && x->job_state != y->job_state)
		c = x->job_state < y->job_state ? -1 : 1;
	else if (v->sort == SORT_ID)
		c = strcmp(v->id[sa] ? v->id[sa] : "", v->id[sb] ? v->id[sb] : "");
	if (!c)
		c = sa < sb ? -1 : sa > sb;
	return v->reverse ? -c : c;
}

static bool matches(struct view *v, uint32_t s)
{
	if (!v->search[0])
		return true;
	return strcasestr(v->id[s], v->search) || strcasestr(v->name[s], v->search);
}

/* The rows to show, filtered and sorted; the counts of the summary line. */
static void build_rows(struct view *v)
{
	memset(v->by_state, 0, sizeof(v->by_state));
	v->vendor = 0;
	v->nrows = 0;
	for (uint32_t s = 0; s < v->cap; s++) {
		const struct jst_status *st = &v->table[s];

		if (!v->live[s])
			continue;
		if (st->job_state < 13)
			v->by_state[st->job_state]++;
		else
			v->vendor++;
		if (!cli_wanted(st, v->state, v->owner))
			continue;
		/* The strings cost a read per new job: only when search or sort need them all. */
		if (v->search[0] || v->sort == SORT_ID)
			strings_of(v, s);
		if (matches(v, s))
			v->rows[v->nrows++] = s;
	}
	sort_view = v;
	qsort(v->rows, v->nrows, sizeof(*v->rows), cmp_rows);
}

static void update_rate(struct view *v, uint64_t now)
{
	uint64_t seq = jst_change_seq(v->r);

	if (!v->rate_t0) {
		v->rate_t0 = now;
		v->rate_seq0 = seq;
	} else if (now - v->rate_t0 >= 1000000000ull) {
		v->rate = (double)(seq - v->rate_seq0) * 1e9 / (double)(now - v->rate_t0);
		v->rate_t0 = now;
		v->rate_seq0 = seq;
	}
}

/* ---- not a terminal: snapshots ---- */

static void snapshot(struct view *v)
{
	char bar[21];

	printf("jobstat watch: %zu jobs, sorted by %s\n", v->nrows, sort_names[v->sort]);
	printf("%-40s %-14s %-22s %s\n", "INSTANCEID", "STATE", "PROGRESS", "OPSTATUS");
	for (size_t i = 0; i < v->nrows && i < 22; i++) {
		const struct jst_status *st = &v->table[v->rows[i]];
		unsigned p = st->percent_complete > 100 ? 0 : st->percent_complete;

		strings_of(v, v->rows[i]);
		for (unsigned k = 0; k < 20; k++)
			bar[k] = k < p / 5 ? '#' : '.';
		bar[20] = 0;
		cli_put_cell(stdout, v->id[v->rows[i]], 40);
		printf(" %-14s [%s] %3u%% %s\n", jst_job_state_name(st->job_state), bar, p,
		       st->n_operational_status ? cli_op_status_name(st->operational_status[0])
						: "");
	}
	fflush(stdout);
}

/* ---- a terminal: ncursesw ---- */

enum { PAIR_RUN = 1, PAIR_DONE, PAIR_BAD, PAIR_STOP, PAIR_BANNER, PAIR_BAR };

static int state_attr(uint16_t s)
{
	switch (s) {
	case JST_JOB_RUNNING:
		return COLOR_PAIR(PAIR_RUN);
	case JST_JOB_COMPLETED:
		return COLOR_PAIR(PAIR_DONE);
	case JST_JOB_EXCEPTION:
	case JST_JOB_KILLED:
		return COLOR_PAIR(PAIR_BAD) | A_BOLD;
	case JST_JOB_TERMINATED:
	case JST_JOB_SUSPENDED:
		return COLOR_PAIR(PAIR_STOP);
	default:
		return A_NORMAL;
	}
}

/*
 * @s (already escaped) in @width columns from (y, x), padded. A wide
 * character takes two columns and one that would straddle the cell's edge is
 * left out (the cell is padded instead), so the next column starts where it
 * should and nothing is ever written past the screen's edge.
 */
static void cell(int y, int x, const char *s, int width)
{
	int cols = 0;

	if (x >= COLS || y >= LINES)
		return;
	if (width > COLS - x)
		width = COLS - x; /* never past the edge: a write there would wrap */
	move(y, x);
	for (const char *p = s; *p;) {
		size_t k, w = cli_char_cols(p, &k);

		if (cols + (int)w > width)
			break;
		addnstr(p, (int)k);
		cols += (int)w;
		p += k;
	}
	for (; cols < width; cols++)
		addch(' ');
}

static const char *const help_text[] = {
	"jobstat watch: keys",
	"",
	"  Up, Down         move the selection one row",
	"  PgUp, PgDn       one screen",
	"  Home, End        first, last job",
	"  /                search InstanceID and Name (empty: clear)",
	"  f                show one JobState only (empty: every state)",
	"  s                next sort: state, progress, latest change, InstanceID",
	"  r                reverse the sort",
	"  ?                this help (any key closes it)",
	"  q, Ctrl-C        quit",
	"",
	"The summary counts every job by state, the changes per second and",
	"whether jobstatd's heartbeat is fresh; a red banner says when it is not.",
};

static void draw_help(void)
{
	int h = (int)(sizeof(help_text) / sizeof(help_text[0])) + 2, w = 76, y0, x0;

	y0 = LINES > h ? (LINES - h) / 2 : 0;
	x0 = COLS > w ? (COLS - w) / 2 : 0;
	for (int i = 0; i < h && y0 + i < LINES; i++) {
		attron(A_REVERSE);
		cell(y0 + i, x0, i == 0 || i == h - 1 ? "" : help_text[i - 1], w < COLS ? w : COLS);
		attroff(A_REVERSE);
	}
}

static size_t total_jobs(const struct view *v)
{
	size_t n = v->vendor;

	for (unsigned i = 0; i < 13; i++)
		n += v->by_state[i];
	return n;
}

/* The rows the list has room for, under the title, summary, banner and header lines. */
static int list_height(bool alive)
{
	int h = LINES - 4 - !alive;

	return h > 1 ? h : 1;
}

static void draw(struct view *v, bool alive, bool help)
{
	int y = 0, idw, fixed, bw, pw, opw, x_prog, x_ops, x_name, list_h = list_height(alive);
	char line[1024], bar[21];
	size_t k;

	erase();
	/* The title: what is shown, and the choices that shape it. */
	k = (size_t)snprintf(line, sizeof(line), "jobstat watch: %zu of %zu jobs, sorted by %s%s",
			     v->nrows, total_jobs(v), sort_names[v->sort],
			     v->reverse ? " (reversed)" : "");
	if (v->state)
		k += (size_t)snprintf(line + k, sizeof(line) - k, ", state %s",
				      jst_job_state_name(v->state));
	if (v->search[0]) { /* at most 127 characters, 6 bytes each escaped: it fits */
		char shown[6 * sizeof(v->search)];

		cli_escape(v->search, shown, sizeof(shown));
		k += (size_t)snprintf(line + k, sizeof(line) - k, ", search \"%s\"", shown);
	}
	if (k < sizeof(line))
		snprintf(line + k, sizeof(line) - k, "   ? help, q quit");
	attron(A_BOLD);
	cell(y++, 0, line, COLS);
	attroff(A_BOLD);
	/* The summary: jobs by state, changes per second, the daemon. */
	k = 0;
	line[0] = 0;
	for (unsigned s = 2; s <= 12; s++)
		if (v->by_state[s] && k < sizeof(line))
			k += (size_t)snprintf(line + k, sizeof(line) - k, "%s %u  ",
					      jst_job_state_name((uint16_t)s), v->by_state[s]);
	if (v->vendor && k < sizeof(line))
		k += (size_t)snprintf(line + k, sizeof(line) - k, "vendor %u  ", v->vendor);
	if (k < sizeof(line))
		snprintf(line + k, sizeof(line) - k, "| %.0f changes/s | daemon %s", v->rate,
			 alive ? "alive" : "DOWN");
	cell(y++, 0, line, COLS);
	if (!alive) {
		attron(COLOR_PAIR(PAIR_BANNER) | A_BOLD);
		cell(y++, 0, " jobstatd is NOT RUNNING (no heartbeat): what you see is its last "
			     "state; restart it and this view follows", COLS);
		attroff(COLOR_PAIR(PAIR_BANNER) | A_BOLD);
	}
	/*
	 * Columns from the terminal's width: the progress bar and OperationalStatus
	 * only where they fit, the InstanceID and the Name sharing the rest.
	 */
	bw = COLS >= 120 ? 20 : COLS >= 90 ? 10 : 0;
	pw = bw ? bw + 8 : 5; /* " [bar] 100%" or " 100%" */
	opw = COLS >= 100 ? 22 : 0;
	fixed = 1 + 14 + pw + (opw ? 1 + opw : 0);
	idw = COLS - fixed > 24 ? (COLS - fixed) * 3 / 5 : COLS - fixed;
	if (idw > 60)
		idw = 60;
	if (idw < 10)
		idw = 10;
	x_prog = idw + 1 + 14;
	x_ops = x_prog + pw + 1;
	x_name = opw ? x_ops + opw + 1 : x_prog + pw + 1;
	attron(A_UNDERLINE);
	cell(y, 0, "INSTANCEID", idw + 1);
	cell(y, idw + 1, "STATE", 14);
	cell(y, x_prog, bw ? " PROGRESS" : "  PCT", pw + 1);
	if (opw)
		cell(y, x_ops, "OPSTATUS", opw + 1);
	cell(y++, x_name, "NAME", COLS - x_name);
	attroff(A_UNDERLINE);
	if (v->sel >= v->nrows)
		v->sel = v->nrows ? v->nrows - 1 : 0;
	if (v->sel < v->top)
		v->top = v->sel;
	if (v->sel >= v->top + (size_t)list_h)
		v->top = v->sel - (size_t)list_h + 1;
	for (size_t i = v->top; i < v->nrows && y < LINES - 1; i++, y++) {
		uint32_t s = v->rows[i];
		const struct jst_status *st = &v->table[s];
		unsigned p = st->percent_complete > 100 ? 0 : st->percent_complete;
		char ops[64] = "";

		strings_of(v, s);
		size_t n = 0;

		for (int b = 0; b < bw; b++)
			bar[b] = b < (int)p * bw / 100 ? '#' : '.';
		bar[bw] = 0;
		for (unsigned o = 0; o < st->n_operational_status && o < JST_OPSTATUS_MAX &&
				     n < sizeof(ops); o++)
			n += (size_t)snprintf(ops + n, sizeof(ops) - n, "%s%s", o ? ", " : "",
					      cli_op_status_name(st->operational_status[o]));
		if (i == v->sel)
			attron(A_REVERSE);
		cell(y, 0, v->id[s], idw + 1);
		attron(state_attr(st->job_state));
		cell(y, idw + 1, jst_job_state_name(st->job_state), 14);
		attroff(state_attr(st->job_state));
		if (bw)
			snprintf(line, sizeof(line), " [%s] %3u%%", bar, p);
		else
			snprintf(line, sizeof(line), " %3u%%", p);
		cell(y, x_prog, line, pw + 1);
		if (opw)
			cell(y, x_ops, ops, opw + 1);
		cell(y, x_name, v->name[s], COLS - x_name);
		if (i == v->sel)
			attroff(A_REVERSE);
	}
	/* The footer: where the selection is. */
	snprintf(line, sizeof(line), "row %zu of %zu", v->nrows ? v->sel + 1 : 0, v->nrows);
	attron(A_DIM);
	cell(LINES - 1, 0, line, COLS);
	attroff(A_DIM);
	if (help)
		draw_help();
	refresh();
}

/* A one-line prompt on the last line; the answer in @buf ("" when cancelled with Esc). */
static void prompt(const char *label, char *buf, size_t n)
{
	size_t len = 0;
	int ch;

	buf[0] = 0;
	timeout(-1);
	curs_set(1);
	for (;;) {
		char shown[512];

		cli_escape(buf, shown, sizeof(shown));
		move(LINES - 1, 0);
		clrtoeol();
		attron(A_BOLD);
		addstr(label);
		attroff(A_BOLD);
		addnstr(shown, COLS - (int)strlen(label) - 1 > 0 ? COLS - (int)strlen(label) - 1 : 0);
		refresh();
		ch = getch();
		if (ch == '\n' || ch == KEY_ENTER || ch == '\r')
			break;
		if (ch == 27) { /* Esc */
			buf[0] = 0;
			break;
		}
		if ((ch == KEY_BACKSPACE || ch == 127 || ch == 8) && len)
			buf[--len] = 0;
		else if (ch >= 0x20 && ch < 0x7f && len + 1 < n)
			buf[len++] = (char)ch, buf[len] = 0;
	}
	curs_set(0);
	timeout(100);
}

/* One key; false when it asks to quit. */
static bool on_key(struct view *v, int ch, bool *help, bool alive)
{
	size_t page = (size_t)list_height(alive);
	char answer[128];

	if (*help) { /* any key closes the help */
		*help = false;
		return ch != 'q';
	}
	switch (ch) {
	case 'q':
	case 'Q':
		return false;
	case KEY_UP:
		if (v->sel)
			v->sel--;
		break;
	case KEY_DOWN:
		if (v->sel + 1 < v->nrows)
			v->sel++;
		break;
	case KEY_PPAGE:
		v->sel = v->sel > page ? v->sel - page : 0;
		v->top = v->top > page ? v->top - page : 0;
		break;
	case KEY_NPAGE:
		v->sel = v->sel + page < v->nrows ? v->sel + page : (v->nrows ? v->nrows - 1 : 0);
		v->top += page;
		if (v->top > v->sel)
			v->top = v->sel;
		break;
	case KEY_HOME:
		v->sel = v->top = 0;
		break;
	case KEY_END:
		v->sel = v->nrows ? v->nrows - 1 : 0;
		break;
	case 's':
		v->sort = (v->sort + 1) % SORT_N;
		break;
	case 'r':
		v->reverse = !v->reverse;
		break;
	case '/':
		prompt("search: ", v->search, sizeof(v->search));
		v->sel = v->top = 0;
		break;
	case 'f':
		prompt("state (empty: every state): ", answer, sizeof(answer));
		v->state = answer[0] ? cli_parse_state(answer) : 0;
		v->sel = v->top = 0;
		break;
	case '?':
		*help = true;
		break;
	}
	return true;
}

static void start_curses(void)
{
	setlocale(LC_ALL, ""); /* ncursesw draws UTF-8 only in a UTF-8 locale */
	initscr();
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE); /* arrows, PgUp/PgDn, Home/End arrive as single KEY_* codes */
	set_escdelay(25);
	curs_set(0);
	timeout(100);
	if (has_colors()) {
		start_color();
		use_default_colors();
		init_pair(PAIR_RUN, COLOR_GREEN, -1);
		init_pair(PAIR_DONE, COLOR_BLUE, -1);
		init_pair(PAIR_BAD, COLOR_RED, -1);
		init_pair(PAIR_STOP, COLOR_YELLOW, -1);
		init_pair(PAIR_BANNER, COLOR_WHITE, COLOR_RED);
	}
}

static void free_view(struct view *v)
{
	for (uint32_t s = 0; v->id && s < v->cap; s++) {
		free(v->id[s]);
		free(v->name[s]);
	}
	free(v->table);
	free(v->live);
	free(v->id);
	free(v->name);
	free(v->id_gen);
	free(v->rows);
}

int cli_watch(jst_reader *r, const char *state_filter, const char *owner_filter, double seconds)
{
	struct view v = {.r = r, .rescan = true};
	bool tty = isatty(STDOUT_FILENO) && isatty(STDIN_FILENO), help = false, dirty = true;
	uint64_t until = seconds > 0 ? mono_ns() + (uint64_t)(seconds * 1e9) : 0, last_draw = 0;
	struct sigaction sa = {.sa_handler = on_stop};
	struct jst_info in;

	v.state = state_filter ? cli_parse_state(state_filter) : 0; /* main() checked both */
	v.owner = cli_parse_owner(owner_filter);
	jst_info(r, &in);
	v.cap = in.capacity;
	v.table = calloc(v.cap, sizeof(*v.table));
	v.live = calloc(v.cap, sizeof(*v.live));
	v.id = calloc(v.cap, sizeof(*v.id));
	v.name = calloc(v.cap, sizeof(*v.name));
	v.id_gen = calloc(v.cap, sizeof(*v.id_gen));
	v.rows = calloc(v.cap, sizeof(*v.rows));
	if (!v.table || !v.live || !v.id || !v.name || !v.id_gen || !v.rows) {
		free_view(&v);
		return cli_fail("watch", JST_ENOMEM);
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (tty)
		start_curses();
	while (!watch_stop && (!until || mono_ns() < until)) {
		uint64_t seq = jst_change_seq(r), now = mono_ns();
		bool alive = jst_daemon_alive(r);

		if (!tty) { /* a pipe, a log: one snapshot a second */
			refresh_table(&v);
			build_rows(&v);
			snapshot(&v);
			usleep(1000000);
			continue;
		}
		/* Redraw on a change or a key, at most 10 times a second, and every second. */
		update_rate(&v, now);
		if (dirty || seq != v.cursor || now - last_draw >= 1000000000ull) {
			refresh_table(&v);
			build_rows(&v);
			draw(&v, alive, help);
			last_draw = now;
			dirty = false;
		}
		{
			int ch = getch(); /* waits up to 100 ms */

			if (ch == KEY_RESIZE) {
				dirty = true; /* LINES and COLS are the new size now */
			} else if (ch != ERR) {
				dirty = true;
				if (!on_key(&v, ch, &help, alive))
					break;
			}
		}
	}
	if (tty)
		endwin();
	free_view(&v);
	return 0;
}
