/* SPDX-License-Identifier: MIT */
/*
 * read-internal.h - libjobstat's reader state and the validated block-copy
 * primitives behind the public read calls; tests use them to act out a
 * reader stalled between its reference load and its copy.
 */
#ifndef JOBSTAT_READ_INTERNAL_H
#define JOBSTAT_READ_INTERNAL_H

#include <stdbool.h>

#include "attach-mapping.h"
#include "shm-atomic.h"
#include "jobstat-inline.h"
#include "jobstat-shm.h"
#include "jobstat.h"

/* How many times a read retries a version that was reused under it before JST_EAGAIN. */
#define JST_READ_RETRIES JST_INLINE_RETRIES

/*
 * A reader's private copy of the geometry, validated once at attach: no
 * later read trusts an offset or a count from the segment's header again.
 */
struct jst_reader {
	const char *base;           /* read-only mapping */
	uint64_t size;
	const struct jst_shm_header *hdr;
	const uint64_t *refs;       /* status_refs[capacity] */
	const struct jst_shm_job *jobs;
	const uint64_t *index[2];
	const uint64_t *log;
	const struct jst_shm_status *ring; /* 1.5: the status ring; NULL: none (read references) */
	uint32_t capacity;
	uint32_t index_mask;
	uint32_t log_mask;
	uint32_t ring_mask;
	struct jst_shm_pool pools[JST_POOL_COUNT];
	const char *status_blocks;  /* the status pool's first block, for the hot path */
	uint32_t status_count;
	struct jst_fast fast;       /* the same, for jst__fast_read() (jobstat-inline.h) */
	bool borrowed;              /* the mapping belongs to the caller (jst__attach_mapping()) */
};

/*
 * jst_read_block() - copy one published version out of the segment.
 * @ref: a reference the caller loaded (with acquire ordering) from the segment.
 * @pool: which pool the reference points into.
 * @out: receives the fixed header of the block (@hdr_size bytes) ...
 * @data: ... and, when non-NULL, the block's `used` data bytes (the word after
 *        the stamp in detail and error blocks), at most @data_max of them.
 *
 * The status read (jst__fast_read() in jobstat-inline.h) inlines the same
 * copy-then-check for its fixed 128-byte block: it is the hot path, measured
 * in bench/, and the one definition of it the inline tier compiles into
 * monitors.
 *
 * Return: 0 when the copy is one consistent version; JST_EAGAIN when the
 * block was reused during the copy (retry from the reference); JST_ECORRUPT
 * for a reference or size out of range.
 */
int jst_read_block(const jst_reader *r, jst_shm_ref ref, unsigned pool, void *out,
		   size_t hdr_size, char *data, size_t data_max);

/*
 * jst__error_read_st() - jst_error_read() for a status the caller already
 * read (jst_get_error() judged by it): the error @index of that version,
 * without reading the status a second time.
 * @st: a status from jst_status() or read_status(), unchanged by the caller.
 *
 * Return: 0; JST_ENOERROR (the status has no error @index); JST_EAGAIN (the
 * detail or the error block was reused since @st was read: read the status
 * again); JST_ECORRUPT.
 */
int jst__error_read_st(const jst_reader *r, const struct jst_status *st, unsigned index,
		       struct jst_error *o);


/*
 * jst__why() - record why this thread's attach or connect fails, for
 * jst_last_error(); returns @rc. jst__why_clear() at the start of each call.
 */
int jst__why(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void jst__why_clear(void);

/*
 * jst__say() - write a sentence saying what is wrong into @msg (NULL or @n 0:
 * nowhere) and return @rc: the validators' (jst_error_validate(),
 * jst_job_props_validate()) one way to refuse.
 */
int jst__say(char *msg, size_t n, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));


#endif /* JOBSTAT_READ_INTERNAL_H */
