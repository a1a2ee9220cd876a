/* SPDX-License-Identifier: MIT */
/*
 * shm-check.h - validation of a segment's header and geometry, and namespace
 * naming, shared by libjobstat (at attach) and jobstatd (at adoption).
 * Internal: not installed, not exported.
 */
#ifndef JOBSTAT_SHM_CHECK_H
#define JOBSTAT_SHM_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jobstat-shm.h"

/* Longest namespace name, and the buffer for its shm object name. */
#define JST_NS_MAX       64
#define JST_SHM_NAME_MAX (JST_NS_MAX + 16)

/*
 * jst_shm_name() - the POSIX shm object name of a namespace's segment,
 * "/jobstat.NS". Return: 0, or JST_ENAMESPACE when @ns is not 1-64 of
 * [A-Za-z0-9._-] or starts with a dot.
 */
int jst_shm_name(const char *ns, char *buf, size_t bufsz);

/*
 * jst_shm_check() - validate a mapped segment before trusting any offset in it.
 * @base: the mapping (at least min(@file_size, JST_SHM_HEADER_SIZE) readable bytes).
 * @file_size: the size of the file behind it, from fstat().
 *
 * Checks, in order: the file holds a header; magic (byte order); version;
 * header size and layout descriptor; the size the header claims against the
 * file; the ready word; then that every region lies inside the segment,
 * aligned, without overlap, with the geometry this version implies.
 *
 * Return: 0; JST_ETRUNCATED; JST_EBADMAGIC; JST_EENDIAN; JST_EVERSION;
 * JST_ELAYOUT; JST_ENOTREADY; JST_ECORRUPT.
 */
int jst_shm_check(const void *base, uint64_t file_size);

/*
 * jst_shm_geometry_check() - the geometry half of jst_shm_check(), for a
 * header the caller has copied. Return: 0 or JST_ECORRUPT.
 */
int jst_shm_geometry_check(const struct jst_shm_header *h);

/*
 * jst_shm_has_ring() - does a checked header describe a status ring? Only
 * a 1.5 (or later minor) header's ring fields mean anything; an older
 * segment's reserved bytes are ignored, whatever they hold.
 */
static inline bool jst_shm_has_ring(const struct jst_shm_header *h)
{
	return h->version_minor >= 5 && h->ring_size != 0;
}

/*
 * jst_shm_ring_check() - the status ring's own fields (1.5): none (both 0),
 * or a power of two of entries no larger than the change log, inside the
 * segment, on a page. jst_shm_geometry_check() calls it and also proves the
 * ring overlaps no other region; jobstatd calls it alone to say what was
 * wrong. Return: 0 or JST_ECORRUPT.
 */
int jst_shm_ring_check(const struct jst_shm_header *h);

/*
 * jst_utf8_valid() - strict UTF-8: no overlongs, no surrogates, nothing above
 * U+10FFFF. The one validator for producer strings and adopted segments.
 */
bool jst_utf8_valid(const char *s, size_t n);

/*
 * jst_shm_str_ok() - does string @s of a block lie inside its @used data
 * bytes, NUL-terminated there? A NULL value (JST_SHM_STR_NULL) is fine.
 */
bool jst_shm_str_ok(const struct jst_shm_str *s, const char *data, uint32_t used);

/* jst_file_kind() - "a FIFO", "a directory", ... for an st_mode, for messages. */
const char *jst_file_kind(unsigned mode);

#endif /* JOBSTAT_SHM_CHECK_H */
