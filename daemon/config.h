/* SPDX-License-Identifier: MIT */
/*
 * config.h - jobstatd's settings: the command line and the configuration
 * file ("name = value" lines named as the long options), parsed into one
 * struct that main() turns into a running daemon.
 */
#ifndef JOBSTAT_CONFIG_H
#define JOBSTAT_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "publish.h"
#include "server.h"
#include "shm-check.h"

/* The longest line a configuration file may have, newline included. */
#define JSTD_CONFIG_LINE_MAX 4096

/* Everything the command line and the configuration file can set. */
struct jstd_settings {
	char ns[80];
	char rundir[PATH_MAX];
	char socket[PATH_MAX];
	char shm_name[JST_SHM_NAME_MAX];
	char config[PATH_MAX];
	char user[64];           /* started as root: the user to serve as */
	struct jst_pub_config pub;
	struct jst_server_config srv;
	bool foreground, replace, want_syslog;
	bool check_config; /* --check-config: validate, report, exit */
};

/**
 * jstd_settings_parse() - defaults, then the configuration file named by
 * --config (if any), then the command line, which wins.
 * @argc, @argv: main()'s.
 * @ret_st: filled on return 0; its contents are unspecified otherwise.
 * @err: on -1, one line saying what was wrong: "FILE:LINE: problem" for the
 *	file, "--option VALUE: problem" or "unknown option --x" for the command
 *	line. The caller adds the hint to try --help.
 *
 * --help and --version print to stdout; --check-config prints that the
 * settings are valid, after checking all of them, to stdout. Nothing else is
 * printed.
 *
 * Return: 0 (start the daemon); 1 (done: --help, --version or a successful
 * --check-config; exit 0); -1 (bad settings, @err set; exit 2).
 */
int jstd_settings_parse(int argc, char **argv, struct jstd_settings *ret_st, char *err,
			size_t errlen);

/**
 * jstd_config_load() - apply one configuration file's settings over @st.
 * Lines are "name = value", names the long options without "--"; a value
 * may be quoted with "..." (backslash escapes \" and \\) or '...' (literal)
 * to keep spaces and '#'; '#' starts a comment only at the start of a line or
 * after whitespace, so "a#b" is a value. Options without a value are written
 * as their bare name.
 * @err: on -1, "PATH:LINE: problem" (or "PATH: problem" when unreadable).
 * Return: 0; -1.
 */
int jstd_config_load(struct jstd_settings *st, const char *path, char *err, size_t errlen);

#endif /* JOBSTAT_CONFIG_H */
