/* SPDX-License-Identifier: MIT */
/*
 * cli.h - what the jobstat tool's commands share: the exit codes, the output
 * formats, and the helpers that report a failure or filter jobs.
 */
#ifndef JOBSTAT_CLI_H
#define JOBSTAT_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "jobstat.h"

/*
 * Exit codes, the same for every command (jobstat(1) and README.md have this
 * table; tests/test_cli.c checks each one).
 */
enum cli_exit {
	EXIT_OK = 0,         /* success; wait: the job Completed */
	EXIT_TROUBLE = 1,    /* anything below does not name: permission, corrupt segment, ... */
	EXIT_USAGE = 2,      /* bad command line: unknown command, option or value */
	EXIT_FAILED = 3,     /* wait: the job ended in Exception */
	EXIT_TERMINATED = 4, /* wait: Terminated */
	EXIT_KILLED = 5,     /* wait: Killed */
	EXIT_TIMEOUT = 6,    /* wait: --timeout passed first */
	EXIT_NOT_FOUND = 7,  /* no such job, or it was removed before it ended */
	EXIT_WARNINGS = 8,   /* wait: CompletedWithWarnings */
	EXIT_NO_DAEMON = 9,  /* jobstatd is not running: no segment, no heartbeat, no socket */
	EXIT_REFUSED = 10,   /* RequestStateChange refused (its code is printed), or EPERM */
	EXIT_FORMAT = 11,    /* --format names a format this command does not print */
	EXIT_DAEMON_DIED = 12, /* wait: jobstatd stopped (no heartbeat) before the job ended */
	EXIT_LOST = 13,      /* wait: the job showed Lost Communication for --lost-grace */
	EXIT_NO_ANSWER = 14, /* jobstatd took the connection but did not answer in --timeout */
};

/* Output formats; each command accepts a subset (see main()). */
enum cli_format {
	FMT_TEXT = 1,   /* for people; "table" is the same */
	FMT_JSON = 2,
	FMT_NDJSON = 4, /* list: one job a line */
	FMT_CIMXML = 8, /* error: DSP0201 CIM_Error instances */
};

/* Report @rc for @what on stderr, with a hint for a person; the exit code it maps to. */
int cli_fail(const char *what, int rc);

/* A JobState from a name ("running", "CompletedWithWarnings") or number; 0 when neither. */
uint16_t cli_parse_state(const char *s);

/* A uid from a user name or number; -1 for NULL (no filter), -2 when neither. */
long cli_parse_owner(const char *s);

/* The job passes the --state and --owner filters (0 and -1: no filter). */
bool cli_wanted(const struct jst_status *st, uint16_t state, long owner);

/* CIM's name for an OperationalStatus value ("Completed", "Lost Communication"). */
const char *cli_op_status_name(uint16_t v);

/* `jobstat watch`: a live view on a terminal, snapshots otherwise. */
int cli_watch(jst_reader *r, const char *state_filter, const char *owner_filter, double seconds);

#endif
