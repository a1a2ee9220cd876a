/* SPDX-License-Identifier: MIT */
/*
 * test_errors.c - proves the error table is whole (every code distinct, named
 * and described) and the version calls agree with the version macros.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "jobstat.h"

static const int codes[] = {
#define XX(name, val, msg) JST_##name,
	JST_ERRNO_MAP(XX)
#undef XX
};
#define NCODES (sizeof(codes) / sizeof(codes[0]))

Test(errors, every_code_is_negative_distinct_and_described)
{
	cr_assert_gt(NCODES, 20);
	for (size_t i = 0; i < NCODES; i++) {
		const char *msg = jst_strerror(codes[i]);

		cr_assert_lt(codes[i], 0, "code %d is not negative", codes[i]);
		cr_assert(msg && *msg, "code %d has no message", codes[i]);
		cr_assert_str_neq(msg, "unknown jobstat error");
		cr_assert_eq(strncmp(jst_errname(codes[i]), "JST_E", 5), 0);
		for (size_t j = 0; j < i; j++) {
			cr_assert_neq(codes[i], codes[j]);
			cr_assert_str_neq(msg, jst_strerror(codes[j]), "codes %d and %d share a message",
					  codes[i], codes[j]);
			cr_assert_str_neq(jst_errname(codes[i]), jst_errname(codes[j]));
		}
	}
}

Test(errors, success_and_unknown_codes)
{
	cr_assert_str_eq(jst_strerror(0), "success");
	cr_assert_str_eq(jst_errname(0), "JST_OK");
	cr_assert_str_eq(jst_strerror(-9999), "unknown jobstat error");
	cr_assert_str_eq(jst_strerror(42), "unknown jobstat error");
	cr_assert_str_eq(jst_errname(-9999), "JST_E?");
	cr_assert_str_eq(jst_errname(JST_ENOJOB), "JST_ENOJOB");
}

Test(version, string_matches_macros)
{
	char want[32];

	snprintf(want, sizeof(want), "%d.%d.%d", JST_VERSION_MAJOR, JST_VERSION_MINOR,
		 JST_VERSION_PATCH);
	cr_assert_str_eq(jst_version(), want);
}
