/* SPDX-License-Identifier: MIT */
/*
 * util.c - libjobstat's version, error strings and defaults.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "jobstat.h"
#include "read-internal.h"

#define JST_STR(x)  #x
#define JST_XSTR(x) JST_STR(x)

const char *jst_version(void)
{
	return JST_XSTR(JST_VERSION_MAJOR) "." JST_XSTR(JST_VERSION_MINOR) "." JST_XSTR(
		JST_VERSION_PATCH);
}

const char *jst_strerror(int code)
{
	switch (code) {
	case JST_OK:
		return "success";
#define JST_STRERROR_CASE(name, val, msg)                                                      \
	case JST_##name:                                                                       \
		return msg;
		JST_ERRNO_MAP(JST_STRERROR_CASE)
#undef JST_STRERROR_CASE
	}
	return "unknown jobstat error";
}

const char *jst_errname(int code)
{
	switch (code) {
	case JST_OK:
		return "JST_OK";
#define JST_ERRNAME_CASE(name, val, msg)                                                       \
	case JST_##name:                                                                       \
		return "JST_" #name;
		JST_ERRNO_MAP(JST_ERRNAME_CASE)
#undef JST_ERRNAME_CASE
	}
	return "JST_E?";
}

const char *jst_default_namespace(void)
{
	const char *ns = getenv("JOBSTAT_NAMESPACE");

	return ns && *ns ? ns : "default";
}

/* Why the last failed attach or connect of this thread failed (jst_last_error()). */
static __thread char last_why[320];

int jst__why(int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_why, sizeof(last_why), fmt, ap);
	va_end(ap);
	return rc;
}

int jst__say(char *msg, size_t n, int rc, const char *fmt, ...)
{
	va_list ap;

	if (msg && n) {
		va_start(ap, fmt);
		vsnprintf(msg, n, fmt, ap);
		va_end(ap);
	}
	return rc;
}

void jst__why_clear(void)
{
	last_why[0] = '\0';
}

const char *jst_last_error(void)
{
	return last_why;
}
