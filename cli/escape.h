/* SPDX-License-Identifier: MIT */
/*
 * escape.h - producer strings made safe for a terminal: the one escaper every
 * text output of the jobstat tool goes through.
 */
#ifndef JOBSTAT_CLI_ESCAPE_H
#define JOBSTAT_CLI_ESCAPE_H

#include <stddef.h>
#include <stdio.h>

/* The longest escape one input byte can become ("\xff"), and one code point ("\u202e"). */
#define CLI_ESCAPE_GROWTH 6

/**
 * cli_escape() - @s with everything that could drive a terminal spelled out:
 * a backslash as "\\", BEL BS TAB LF VT FF CR ESC as "\a" "\b" "\t" "\n" "\v"
 * "\f" "\r" "\e", other C0 controls and DEL as "\xHH", C1 controls and the
 * bidirectional and line/paragraph separators (U+2028/9, U+200E/F, U+202A..E,
 * U+2066..9) as "\uHHHH", each byte of invalid UTF-8 (overlong, surrogate,
 * above U+10FFFF, truncated) as "\xHH". Everything else is copied.
 * @buf, @n: where to write it, NUL-terminated, cut only between whole escapes.
 * Return: the length the whole escaped text needs (without the NUL).
 */
size_t cli_escape(const char *s, char *buf, size_t n);

/**
 * cli_put_text() - write @s escaped as cli_escape() does to @f (NULL: nothing).
 * Return: the number of terminal columns it took (cli_char_cols() of each
 * character, the length of each escape).
 */
size_t cli_put_text(FILE *f, const char *s);

/**
 * cli_put_cell() - cli_put_text() in a column @width wide: padded with spaces,
 * or cut to @width columns (never inside an escape). Returns nothing: the
 * next column starts at @width.
 */
void cli_put_cell(FILE *f, const char *s, size_t width);

/**
 * cli_char_cols() - the terminal columns of the UTF-8 character at @s: 2 for
 * East Asian wide and fullwidth, 0 for combining marks, 1 otherwise (and for
 * a byte that is not UTF-8). @len gets its length in bytes (at least 1).
 * Meant for text cli_escape() already made safe.
 */
size_t cli_char_cols(const char *s, size_t *len);

#endif
