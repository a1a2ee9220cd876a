/* SPDX-License-Identifier: MIT */
/*
 * test_escape.c - proves the jobstat tool's terminal escaper byte by byte:
 * controls, DEL, C1, bidi overrides and every kind of invalid UTF-8 are
 * spelled out, valid text passes unchanged, and a short buffer is cut
 * between whole escapes. (The daemon refuses invalid UTF-8, so only this
 * test can feed it some.)
 */
#include <criterion/criterion.h>
#include <string.h>

#include "../cli/escape.h"

static const struct {
	const char *in, *out;
} cases[] = {
	{"plain ASCII, 100%", "plain ASCII, 100%"},
	{"caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80"},
	{"evil\033[31mRED\033[0m\r\nsecond line\a", "evil\\e[31mRED\\e[0m\\r\\nsecond line\\a"},
	{"\x01\x08\t\x0b\x0c\x1f\x7f", "\\x01\\b\\t\\v\\f\\x1f\\x7f"},
	{"back\\slash", "back\\\\slash"},
	{"c1 \xc2\x9b" "2J", "c1 \\u009b2J"},
	{"bidi \xe2\x80\xae" "txt \xe2\x81\xa6 \xe2\x80\xa8", "bidi \\u202etxt \\u2066 \\u2028"},
	{"lone \x80 cont", "lone \\x80 cont"},
	{"overlong \xc0\xaf", "overlong \\xc0\\xaf"},
	{"surrogate \xed\xa0\x80", "surrogate \\xed\\xa0\\x80"},
	{"too big \xf4\x90\x80\x80", "too big \\xf4\\x90\\x80\\x80"},
	{"cut \xe2\x82", "cut \\xe2\\x82"},
	{"bad byte \xff\xfe", "bad byte \\xff\\xfe"},
};

Test(escape, every_case_is_byte_exact)
{
	char buf[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t need = cli_escape(cases[i].in, buf, sizeof(buf));

		cr_assert_str_eq(buf, cases[i].out, "case %zu", i);
		cr_assert_eq(need, strlen(cases[i].out), "case %zu", i);
	}
}

Test(escape, a_short_buffer_is_cut_between_whole_escapes)
{
	char buf[8];
	size_t need = cli_escape("ab\033cdef", buf, sizeof(buf));

	cr_assert_eq(need, 8);
	cr_assert_str_eq(buf, "ab\\ecde", "7 bytes and the NUL");
	need = cli_escape("abcde\033", buf, 7);
	cr_assert_eq(need, 7);
	cr_assert_str_eq(buf, "abcde", "\\e does not fit in whole: left out");
	cr_assert_eq(cli_escape(NULL, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "");
}

Test(escape, cells_pad_or_cut_by_columns)
{
	char *mem = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&mem, &len);

	cli_put_cell(f, "\xc3\xa9t\xc3\xa9", 5);
	fputc('|', f);
	cli_put_cell(f, "a\033bc", 4);
	fputc('|', f);
	cr_assert_eq(cli_put_text(f, "\xe6\x97\xa5\n"), 4, "a wide character and a two-column escape");
	fclose(f);
	cr_assert_str_eq(mem, "\xc3\xa9t\xc3\xa9  |a\\eb|\xe6\x97\xa5\\n");
	free(mem);
}

/*
 * Terminals give East Asian wide characters two cells and combining marks
 * none: a cell counts what the terminal shows, or the columns after it move.
 */
Test(escape, cells_count_wide_and_combining_characters_as_terminals_do)
{
	char *mem = NULL;
	size_t len = 0, k;
	FILE *f = open_memstream(&mem, &len);

	cli_put_cell(f, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 5); /* 日本語: 6 columns */
	fputc('|', f);
	cli_put_cell(f, "e\xcc\x81t\xc3\xa9", 4); /* e + U+0301, t, é: 3 columns */
	fputc('|', f);
	cli_put_cell(f, "\xef\xbc\xa1" "b", 3); /* fullwidth A, b: 3 columns */
	fputc('|', f);
	fclose(f);
	cr_assert_str_eq(mem, "\xe6\x97\xa5\xe6\x9c\xac |e\xcc\x81t\xc3\xa9 |\xef\xbc\xa1" "b|");
	free(mem);
	cr_assert_eq(cli_char_cols("\xe6\x97\xa5", &k), 2);
	cr_assert_eq(k, 3);
	cr_assert_eq(cli_char_cols("\xcc\x81", &k), 0);
	cr_assert_eq(cli_char_cols("a", &k), 1);
	cr_assert_eq(cli_char_cols("\xff", &k), 1, "not UTF-8: one byte, one column");
	cr_assert_eq(k, 1);
}
