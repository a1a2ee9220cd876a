/* SPDX-License-Identifier: MIT */
/*
 * test_config.c - jobstatd's settings: the configuration file's syntax
 * (quotes, comments, errors named FILE:LINE), every option meaning the same in
 * the file and on the command line, --check-config, one-line option errors,
 * and the default configuration file that make install ships.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"

static char dir[] = "/tmp/jst-test-config.XXXXXX";
static char path[sizeof(dir) + 32];

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/jobstatd.conf", dir);
}

static void teardown(void)
{
	unlink(path);
	rmdir(dir);
}

TestSuite(config, .init = setup, .fini = teardown);

static void write_bytes(const char *text, size_t n)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	cr_assert_eq(fwrite(text, 1, n, f), n);
	cr_assert_eq(fclose(f), 0);
}

static void write_file(const char *text)
{
	write_bytes(text, strlen(text));
}

/* Parse "jobstatd --config PATH" with @text in the file; return the parser's result. */
static int parse_file(const char *text, struct jstd_settings *st, char *err, size_t en)
{
	char *argv[] = {"jobstatd", "--config", path, NULL};

	write_file(text);
	err[0] = 0;
	return jstd_settings_parse(3, argv, st, err, en);
}

Test(config, a_hash_inside_a_word_is_part_of_the_value)
{
	struct jstd_settings st;
	char err[512];

	cr_assert_eq(parse_file("socket = /run/jobs#1.sock\nshm-name=/a#b\n", &st, err,
				sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(st.socket, "/run/jobs#1.sock");
	cr_assert_str_eq(st.shm_name, "/a#b");
}

Test(config, a_hash_starting_a_word_starts_a_comment)
{
	struct jstd_settings st;
	char err[512];

	cr_assert_eq(parse_file("# a comment line\n   # an indented one\n"
				"socket = /run/x.sock # the socket\n"
				"runtime-dir = /run/j\t#tab before\n"
				"foreground # a bare option, then a comment\n", &st, err,
				sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(st.socket, "/run/x.sock");
	cr_assert_str_eq(st.rundir, "/run/j");
	cr_assert(st.foreground);
}

Test(config, quoted_values_keep_blanks_and_hashes)
{
	struct jstd_settings st;
	char err[512];

	cr_assert_eq(parse_file("socket = \"/run/a b # c.sock\"   # comment\n"
				"runtime-dir = '/run/d \\\" e'\n"
				"shm-name = \"/q\\\"uote\\\\d\"\n", &st, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_str_eq(st.socket, "/run/a b # c.sock");
	cr_assert_str_eq(st.rundir, "/run/d \\\" e", "single quotes take everything as is");
	cr_assert_str_eq(st.shm_name, "/q\"uote\\d", "double quotes know \\\" and \\\\");
}

Test(config, unquoted_values_keep_inner_blanks_and_lose_trailing_ones)
{
	struct jstd_settings st;
	char err[512];

	cr_assert_eq(parse_file("runtime-dir =   /run/with space  \r\n", &st, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_str_eq(st.rundir, "/run/with space");
}

Test(config, every_syntax_error_is_named_with_file_and_line)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{"socket = \"/run/x\n", ":1: unterminated \"quoted\" value"},
		{"\nsocket = '/run/x\n", ":2: unterminated 'quoted' value"},
		{"socket = \"/run/x\" trailing\n", ":1: text after the closing quote"},
		{"socket = \"/run/x\"# no blank\n", ":1: text after the closing quote"},
		{"socket = /run/\"x\"\n", ":1: a quote inside an unquoted value"},
		{"socket = \"a\\nb\"\n", ":1: in a \"quoted\" value only"},
		{"= 5\n", ":1: a line starts with \"=\""},
		{"capacity 5\n", ":1: expected \"=\" after the setting's name"},
		{"lost-grace = 2\n\nfrobnicate = 1\n", ":3: unknown setting \"frobnicate\""},
		{"check-config\n", ":1: unknown setting \"check-config\" (a command-line action"},
		{"config = /etc/other.conf\n", ":1: unknown setting \"config\""},
		{"capacity =\n", ":1: \"capacity\" needs a value"},
		{"capacity = \"\"\n", ":1: \"capacity\" needs a value"},
		{"foreground = yes\n", ":1: \"foreground\" takes no value"},
		{"capacity = 0\n", ":1: capacity 0 is too small"},
		{"mode = 0666\n", ":1: mode 0666: need an octal mode that neither group nor"},
		{"namespace = a/b\n", ":1: namespace a/b: need 1-64 of"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jstd_settings st;
		char err[1024], want[512];

		cr_assert_eq(parse_file(cases[i].text, &st, err, sizeof(err)), -1, "case %zu", i);
		snprintf(want, sizeof(want), "%s%s", path, cases[i].want);
		cr_assert(!strncmp(err, want, strlen(want)), "case %zu: got \"%s\", want \"%s...\"",
			  i, err, want);
	}
}

Test(config, an_overlong_line_or_a_nul_byte_is_refused_not_split)
{
	struct jstd_settings st;
	char err[1024], *text = malloc(JSTD_CONFIG_LINE_MAX + 64);
	char nul[] = "capacity = 5\0junk\n";

	cr_assert_not_null(text);
	/* Before, fgets() cut such a line in two and read its tail as a line of its own. */
	snprintf(text, JSTD_CONFIG_LINE_MAX + 64, "# %0*d\nfrobnicate\n", JSTD_CONFIG_LINE_MAX, 0);
	cr_assert_eq(parse_file(text, &st, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, ":1: line longer than"), "%s", err);
	free(text);
	write_bytes(nul, sizeof(nul) - 1);
	{
		char *argv[] = {"jobstatd", "--config", path, NULL};

		cr_assert_eq(jstd_settings_parse(3, argv, &st, err, sizeof(err)), -1);
	}
	cr_assert_not_null(strstr(err, ":1: a NUL byte"), "%s", err);
}

Test(config, an_unreadable_file_is_named_with_the_reason)
{
	struct jstd_settings st;
	char err[1024];
	char *argv[] = {"jobstatd", "--config", dir, NULL}; /* a directory */
	char *argv2[] = {"jobstatd", "--config", "/nonexistent/jobstatd.conf", NULL};

	cr_assert_eq(jstd_settings_parse(3, argv, &st, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, dir), "%s", err);
	cr_assert_not_null(strstr(err, strerror(EISDIR)), "%s", err);
	cr_assert_eq(jstd_settings_parse(3, argv2, &st, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "/nonexistent/jobstatd.conf: No such file or directory");
}

/*
 * Every setting (0.1.0's and the later ones), written in the file and given on the command line,
 * gives the same settings: the move to config.c kept each option's meaning.
 */
Test(config, every_option_means_the_same_in_the_file_and_on_the_command_line)
{
	struct group *gr = getgrgid(getgid());
	const char *group = gr ? gr->gr_name : "0";
	const struct {
		const char *name, *value; /* value NULL: an option without one */
	} opts[] = {
		{"foreground", NULL}, {"namespace", "cfg-test"}, {"capacity", "4096"},
		{"mode", "0640"}, {"group", group}, {"socket", "/run/x/y.sock"},
		{"shm-name", "/jobstat.other"}, {"admin-group", group}, {"lost-grace", "2.5"},
		{"max-clients", "77"}, {"errors", "11"}, {"status-spare", "12"},
		{"detail-small", "13"}, {"detail-large", "14"}, {"log-size", "15"},
		{"grace-ms", "16"}, {"runtime-dir", "/run/jst-x"}, {"user", "nobody"},
		{"quota-jobs", "17"}, {"quota-errors", "18"}, {"quota-connections", "19"},
		{"quota-pending", "20"}, {"hello-timeout", "2.5"}, {"orphan-timeout", "60"},
		{"reserve-org", "Contoso:root,Fabrikam:0"}, {"syslog", NULL},
		{"replace", NULL},
	};

	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		struct jstd_settings by_file, by_args, defaults;
		char text[256], opt[64], err[1024];
		char *none[] = {"jobstatd", NULL};
		char *args[] = {"jobstatd", opt, (char *)opts[i].value, NULL};

		snprintf(text, sizeof(text), "%s%s%s\n", opts[i].name, opts[i].value ? " = " : "",
			 opts[i].value ? opts[i].value : "");
		snprintf(opt, sizeof(opt), "--%s", opts[i].name);
		cr_assert_eq(parse_file(text, &by_file, err, sizeof(err)), 0, "%s: %s", text, err);
		memset(by_file.config, 0, sizeof(by_file.config)); /* where it came from */
		cr_assert_eq(jstd_settings_parse(opts[i].value ? 3 : 2, args, &by_args, err,
						 sizeof(err)), 0, "%s: %s", opt, err);
		cr_assert_eq(memcmp(&by_file, &by_args, sizeof(by_file)), 0,
			     "%s means something else in the file", opts[i].name);
		cr_assert_eq(jstd_settings_parse(1, none, &defaults, err, sizeof(err)), 0);
		cr_assert_neq(memcmp(&by_args, &defaults, sizeof(defaults)), 0,
			      "%s changed nothing", opts[i].name);
	}
}

Test(config, the_command_line_wins_over_the_file)
{
	struct jstd_settings st;
	char err[512];
	char *argv[] = {"jobstatd", "-c", "99", "--config", path, "--lost-grace=3", NULL};

	write_file("capacity = 5\nlost-grace = 7\nmax-clients = 8\n");
	cr_assert_eq(jstd_settings_parse(6, argv, &st, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(st.pub.capacity, 99);
	cr_assert_eq(st.srv.lost_grace_ns, 3000000000ull);
	cr_assert_eq(st.srv.max_conns, 8, "what the command line does not say, the file does");
}

/* ---- the daemon's own answers -------------------------------------------------------- */

struct run {
	int status;
	char out[4096], err[4096];
};

static void read_all(int fd, char *buf, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got + 1 < n && (r = read(fd, buf + got, n - 1 - got)) > 0)
		got += (size_t)r;
	buf[got] = 0;
	close(fd);
}

/* Run build/jobstatd with @argv (NULL-terminated, without argv[0]). */
static void run_daemon(struct run *r, const char *const *argv)
{
	const char *full[32] = {"jobstatd"};
	int out[2], err[2];
	pid_t pid;

	for (int i = 0; argv[i]; i++)
		full[i + 1] = argv[i];
	cr_assert_eq(pipe(out), 0);
	cr_assert_eq(pipe(err), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		execv(JST_BUILD_DIR "/jobstatd", (char *const *)full);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	read_all(out[0], r->out, sizeof(r->out));
	read_all(err[0], r->err, sizeof(r->err));
	cr_assert_eq(waitpid(pid, &r->status, 0), pid);
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

Test(config, check_config_says_valid_and_starts_nothing)
{
	struct run r;
	char ns[64], shm[128], sock[256];
	const char *argv[] = {"--check-config", "--config", path, "-n", ns, "--runtime-dir", dir,
			      NULL};

	snprintf(ns, sizeof(ns), "test-checkcfg-%ld", (long)getpid());
	write_file("capacity = 64 # small\nlost-grace = \"3\"\n");
	run_daemon(&r, argv);
	cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "%#x: %s", r.status, r.err);
	cr_assert_not_null(strstr(r.out, "settings are valid"), "%s", r.out);
	cr_assert_str_eq(r.err, "");
	snprintf(shm, sizeof(shm), "/dev/shm/jobstat.%s", ns);
	snprintf(sock, sizeof(sock), "%s/%s.sock", dir, ns);
	cr_assert_eq(access(shm, F_OK), -1, "no segment");
	cr_assert_eq(access(sock, F_OK), -1, "no socket");
}

Test(config, check_config_names_file_and_line_and_exits_2)
{
	struct run r;
	char want[512];
	const char *argv[] = {"--config", path, "--check-config", NULL};

	write_file("capacity = 64\n\n  # fine so far\nmode = \"0640\" extra\n");
	run_daemon(&r, argv);
	cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 2, "%#x", r.status);
	snprintf(want, sizeof(want), "jobstatd: %s:4: text after the closing quote", path);
	cr_assert(!strncmp(r.err, want, strlen(want)), "%s", r.err);
	cr_assert_str_eq(r.out, "");
}

Test(config, an_option_error_is_one_line_and_a_hint_not_the_usage)
{
	static const struct {
		const char *argv[4], *want;
	} cases[] = {
		{{"--frobnicate"}, "jobstatd: unknown option --frobnicate\n"},
		{{"--frobnicate=1"}, "jobstatd: unknown option --frobnicate\n"},
		{{"-x"}, "jobstatd: unknown option -x\n"},
		{{"--capacity"}, "jobstatd: option --capacity needs a value\n"},
		{{"-c"}, "jobstatd: option -c needs a value\n"},
		{{"--foreground=yes"}, "jobstatd: option --foreground takes no value\n"},
		{{"-c", "0"}, "jobstatd: --capacity 0 is too small (1..1073741823)\n"},
		{{"--mode", "0777"}, "jobstatd: --mode 0777: need an octal mode that neither "
				     "group nor others may write"},
		{{"-n", ".hidden"}, "jobstatd: --namespace .hidden: need 1-64 of A-Z a-z 0-9 . _ "
				    "-, not starting with a dot\n"},
		{{"--socket", "/run/" "0123456789012345678901234567890123456789"
			      "0123456789012345678901234567890123456789"
			      "0123456789012345678901234567890123456789" "0123456789012345.sock"},
		 "jobstatd: --socket /run/"},
		{{"-f", "extra"}, "jobstatd: unexpected argument \"extra\"\n"},
		{{"--reserve-org", "Contoso"}, "jobstatd: --reserve-org Contoso: need ORGID:USER, "
					      "got \"Contoso\"\n"},
		{{"--reserve-org", "A:root,A:0"}, "jobstatd: --reserve-org A:root,A:0: OrgID \"A\" "
						  "named twice\n"},
		{{"--reserve-org", "A:no-such-user-here"}, "jobstatd: --reserve-org "
							   "A:no-such-user-here: no such user"},
		{{"--reserve-org", ":root"}, "jobstatd: --reserve-org :root: an OrgID is 1..63 bytes\n"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r;

		run_daemon(&r, cases[i].argv);
		cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 2, "case %zu: %#x", i,
			  r.status);
		cr_assert(!strncmp(r.err, cases[i].want, strlen(cases[i].want)),
			  "case %zu: got \"%s\"", i, r.err);
		cr_assert_eq(count_lines(r.err), 2, "case %zu: one line and the hint: %s", i, r.err);
		cr_assert_not_null(strstr(r.err, "\njobstatd: try jobstatd --help\n"), "case %zu", i);
		cr_assert_null(strstr(r.err, "usage:"), "case %zu: the usage was printed", i);
	}
}

/*
 * The default configuration file make install ships is valid, and so is every
 * setting it shows commented out. Its reader group exists only once
 * sysusers.d has run, so the test gives it an existing group.
 */
Test(config, the_shipped_default_configuration_is_valid_commented_lines_too)
{
	FILE *in = fopen("daemon/jobstatd.conf", "r"), *out;
	struct group *gr = getgrgid(getgid());
	char line[1024];
	int group_lines = 0, uncommented = 0;
	const char *argv[] = {"--config", path, "--check-config", NULL};
	struct run r;

	cr_assert_not_null(in, "run from the top of the tree");
	cr_assert_not_null(gr);
	for (int pass = 0; pass < 2; pass++) {
		rewind(in);
		out = fopen(path, "w");
		cr_assert_not_null(out);
		while (fgets(line, sizeof(line), in)) {
			const char *l = line;

			/* Pass 1: "#name = value" and "#name" lines become settings. */
			if (pass == 1 && line[0] == '#' && line[1] >= 'a' && line[1] <= 'z') {
				l = line + 1;
				uncommented++;
			}
			if (!strncmp(l, "group = ", 8)) {
				fprintf(out, "group = %s\n", gr->gr_name);
				group_lines++;
			} else if (!strncmp(l, "admin-group = ", 14)) {
				fprintf(out, "admin-group = %s\n", gr->gr_name);
			} else {
				fputs(l, out);
			}
		}
		cr_assert_eq(fclose(out), 0);
		run_daemon(&r, argv);
		cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "pass %d: %s", pass,
			  r.err);
	}
	fclose(in);
	cr_assert_eq(group_lines, 2, "the shipped file sets the reader group");
	cr_assert_geq(uncommented, 10, "the commented settings were tried");
}
