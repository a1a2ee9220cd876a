/* SPDX-License-Identifier: MIT */
/*
 * util.c - libjobstat's version, error strings and defaults.
 */
#include <stdlib.h>

#include "jobstat.h"

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
