/* SPDX-License-Identifier: MIT */
/*
 * log.c - jobstatd's log: standard error in the foreground, syslog when
 * detached or asked for. The server logs what an operator needs (clients
 * refused, garbage received), rate-limited per connection.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <syslog.h>

#include "server.h"

static bool use_syslog;

void jst_log_init(bool syslog)
{
	use_syslog = syslog;
	if (use_syslog)
		openlog("jobstatd", LOG_PID, LOG_DAEMON);
}

void jst_log(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (use_syslog) {
		vsyslog(prio, fmt, ap);
	} else {
		fputs("jobstatd: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}
