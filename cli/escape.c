/* SPDX-License-Identifier: MIT */
/*
 * escape.c - the terminal escaper: a job's name or message can hold any
 * UTF-8 a producer chose, and none of it may recolour, move or fake rows on
 * the operator's screen.
 */
#define _GNU_SOURCE /* wcwidth() */
#include <locale.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <wchar.h>

#include "escape.h"

/*
 * Length of the strict UTF-8 sequence at @p (no overlongs, no surrogates,
 * nothing above U+10FFFF) and its code point; 0 when it is not one.
 */
static size_t utf8_seq(const unsigned char *p, uint32_t *cp)
{
	size_t len;
	uint32_t v, min;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0) {
		len = 2, v = p[0] & 0x1fu, min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		len = 3, v = p[0] & 0x0fu, min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		len = 4, v = p[0] & 0x07u, min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
		v = (v << 6) | (p[i] & 0x3fu);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

/* Code points that change how a terminal shows what follows them. */
static bool invisible_control(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* The escape for the sequence at @p (@k bytes, code point @cp), or NULL to copy it. */
static const char *escape_of(const unsigned char *p, size_t k, uint32_t cp, char tmp[8])
{
	static const char names[] = "abtnvfr"; /* 7..13 */
	static const char hex[] = "0123456789abcdef";

	if (!k) { /* a byte that is not UTF-8 */
		tmp[0] = '\\', tmp[1] = 'x', tmp[2] = hex[p[0] >> 4], tmp[3] = hex[p[0] & 15];
		tmp[4] = 0;
		return tmp;
	}
	if (cp == '\\')
		return "\\\\";
	if (cp >= 7 && cp <= 13) {
		tmp[0] = '\\', tmp[1] = names[cp - 7], tmp[2] = 0;
		return tmp;
	}
	if (cp == 0x1b)
		return "\\e";
	if (cp < 0x20 || cp == 0x7f) {
		tmp[0] = '\\', tmp[1] = 'x', tmp[2] = hex[cp >> 4], tmp[3] = hex[cp & 15];
		tmp[4] = 0;
		return tmp;
	}
	if (invisible_control(cp)) {
		tmp[0] = '\\', tmp[1] = 'u';
		for (int i = 0; i < 4; i++)
			tmp[2 + i] = hex[(cp >> (12 - 4 * i)) & 15];
		tmp[6] = 0;
		return tmp;
	}
	return NULL;
}

/*
 * The columns a terminal gives code point @cp: 2 for East Asian wide and
 * fullwidth characters, 0 for combining marks and other zero-width ones, 1
 * otherwise. wcwidth() knows the Unicode tables but answers by the current
 * LC_CTYPE; the tool's output is UTF-8 whatever the locale says, so it asks
 * glibc's built-in C.UTF-8 locale (a thread-local uselocale() around the call,
 * nothing global changes). Where that locale is missing, one column each, as
 * before.
 */
static size_t cp_cols(uint32_t cp)
{
	static locale_t utf8;
	static bool tried;
	locale_t old;
	int w;

	if (cp < 0x7f)
		return 1; /* printable ASCII: controls were escaped before this is asked */
	if (!tried) {
		tried = true;
		utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	}
	if (!utf8)
		return 1;
	old = uselocale(utf8);
	w = wcwidth((wchar_t)cp);
	uselocale(old);
	return w < 0 ? 1 : (size_t)w; /* unassigned: terminals draw one cell */
}

size_t cli_char_cols(const char *s, size_t *len)
{
	uint32_t cp = 0;
	size_t k = utf8_seq((const unsigned char *)s, &cp);

	*len = k ? k : 1;
	return k ? cp_cols(cp) : 1;
}

/*
 * Walk @s: each piece (an escape, or a run of bytes to copy) goes to @f or
 * @buf. Stops before the piece that would take it past @max_cols columns.
 */
struct sink {
	FILE *f;
	char *buf;
	size_t cap, kept; /* @buf's size, and the bytes stored there */
	size_t len, cols, max_cols;
	bool full, cut;
};

static void emit(struct sink *o, const char *piece, size_t k, size_t cols)
{
	if (o->full || o->cols + cols > o->max_cols) {
		o->full = true;
		return;
	}
	if (o->f)
		fwrite(piece, 1, k, o->f);
	if (o->buf && !o->cut && o->kept + k < o->cap) {
		memcpy(o->buf + o->kept, piece, k);
		o->kept += k;
	} else {
		o->cut = true; /* nothing more is stored: cut between whole pieces */
	}
	o->len += k;
	o->cols += cols;
}

static void walk(struct sink *o, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p && !o->full) {
		uint32_t cp = 0;
		size_t k = utf8_seq(p, &cp);
		char tmp[8];
		const char *e = escape_of(p, k, cp, tmp);

		if (e) {
			emit(o, e, strlen(e), strlen(e));
			p += k ? k : 1;
		} else {
			emit(o, (const char *)p, k, cp_cols(cp));
			p += k;
		}
	}
}

size_t cli_escape(const char *s, char *buf, size_t n)
{
	struct sink o = {.buf = buf, .cap = buf ? n : 0, .max_cols = SIZE_MAX};

	if (s)
		walk(&o, s);
	if (buf && n)
		buf[o.kept] = 0;
	return o.len;
}

size_t cli_put_text(FILE *f, const char *s)
{
	struct sink o = {.f = f, .max_cols = SIZE_MAX};

	if (s)
		walk(&o, s);
	return o.cols;
}

void cli_put_cell(FILE *f, const char *s, size_t width)
{
	struct sink o = {.f = f, .max_cols = width};

	if (s)
		walk(&o, s);
	for (size_t c = o.cols; c < width; c++)
		fputc(' ', f);
}
