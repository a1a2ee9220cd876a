/* SPDX-License-Identifier: MIT */
/*
 * jobstat-inline.h - libjobstat's opt-in inline tier: a status read that
 * compiles into the calling program, as liburcu's static inline tier does
 * (_LGPL_SOURCE), for monitors that poll one job in a tight loop.
 *
 * What it costs in ABI terms: a program built with this header carries, in
 * its own code, the segment's status block (struct jst_shm_status, frozen for
 * format major JST_INLINE_FORMAT_MAJOR), the reference encoding, the stamp
 * check of PROTOCOL.md and struct jst_fast. The library may change anything
 * else; it refuses (JST_EVERSION) to fill a struct jst_fast for a segment of
 * another format major or for a struct jst_fast it does not know, so such a
 * program never misreads a segment: it falls back to jst_status(), which
 * reads every format its library reads. Rebuilding the program against a
 * newer header is what moves it to a new format.
 *
 * Without this header nothing of the segment's layout is compiled into a
 * program: jst_status() is an ordinary exported call.
 */
#ifndef JOBSTAT_INLINE_H
#define JOBSTAT_INLINE_H

/*
 * The read's atomics and barriers are liburcu's (as the library's own): a
 * program that opts into this tier builds with liburcu's headers
 * (pkg-config liburcu); one that does not needs none of them.
 */
#include <urcu/arch.h>
#include <urcu/system.h>
#include <urcu/uatomic.h>

#include "jobstat-shm.h"
#include "jobstat.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The segment format major whose status blocks jst_status_inline() reads. */
#define JST_INLINE_FORMAT_MAJOR JST_SHM_VERSION_MAJOR
/* The version of struct jst_fast below; bumped whenever its fields change. */
#define JST_INLINE_ABI 1u
/* Retries of a version reused under the reader, as jst_status() (JST_READ_RETRIES). */
#define JST_INLINE_RETRIES 64u

/*
 * struct jst_fast - what the inline status read needs of a reader: where the
 * status references and blocks are, and how many. Filled once by
 * jst_fast_init() from the geometry the library validated at attach; valid
 * for as long as its reader is attached; never changes, so threads share it.
 */
struct jst_fast {
	uint32_t abi;                /* JST_INLINE_ABI it was filled for */
	uint32_t format_major;       /* the segment's format major */
	const uint64_t *refs;        /* status_refs[capacity] */
	const char *status_blocks;   /* the status pool's block 0 */
	uint32_t capacity;           /* job slots */
	uint32_t status_count;       /* status blocks, block 0 included */
};

/**
 * jst_fast_init() - fill @ret_fast for the inline status read of reader @r.
 * Call it as jst_fast_attach() does: @abi, @format_major and @size are what
 * the calling program was compiled with.
 * @r: an attached reader; @ret_fast must not outlive it.
 * @ret_fast: set on success; untouched on failure.
 *
 * Return: 0; JST_EINVAL (NULL argument, or @abi or @size unknown to this
 * library: the program was built against a newer jobstat-inline.h);
 * JST_EVERSION (the segment's format major is not @format_major: use
 * jst_status()).
 */
JST_EXPORT int jst_fast_init(jst_reader *r, unsigned abi, unsigned format_major, size_t size,
			     struct jst_fast *ret_fast);

/**
 * jst_fast_attach() - jst_fast_init() with what this header was compiled with.
 * Return: as jst_fast_init().
 */
static inline int jst_fast_attach(jst_reader *r, struct jst_fast *ret_fast)
{
	return jst_fast_init(r, JST_INLINE_ABI, JST_INLINE_FORMAT_MAJOR, sizeof(*ret_fast),
			     ret_fast);
}

/*
 * jst__fast_read() - the status read itself: the one definition of the
 * read side of a status version, used by jst_status_inline() and, inside
 * the library, by jst_status(), jst_scan() and jst_changed(). @gen is the
 * handle's incarnation, or UINT32_MAX for whatever job holds @slot.
 * Return: as jst_status(); JST_ECORRUPT for a reference outside the pool
 * or a version of another slot.
 */
static inline int jst__fast_read(const struct jst_fast *f, uint32_t slot, uint32_t gen,
				 struct jst_status *out)
{
	_Static_assert(sizeof(struct jst_status) == sizeof(struct jst_shm_status),
		       "struct jst_status is the status version byte for byte");

	if (slot >= f->capacity)
		return JST_EINVAL;
	for (unsigned i = 0; i < JST_INLINE_RETRIES; i++) {
		/* One load of the published reference: the barrier below makes it an acquire. */
		jst_shm_ref ref = uatomic_read(&f->refs[slot]);
		uint32_t idx = jst_shm_ref_index(ref);
		const struct jst_shm_status *blk;

		/*
		 * Order the reference load before every load from the block it
		 * names. Pairs with the cmm_smp_wmb() in the writer's
		 * publish_ref() before it stores the reference.
		 */
		cmm_smp_rmb();
		if (ref == 0)
			return JST_ESTALE; /* free slot: the job was removed */
		if (idx == 0 || idx >= f->status_count)
			return JST_ECORRUPT;
		blk = (const struct jst_shm_status *)(f->status_blocks +
						      (size_t)idx * JST_SHM_STATUS_SIZE);
		/* Plain copy: the stamp check below throws it away if the block was reused. */
		memcpy(out, blk, sizeof(*out));
		/*
		 * Order the copy before the stamp re-check. Pairs with the
		 * cmm_smp_wmb() in the writer's block_begin() after it makes the
		 * stamp odd and before it rewrites the block.
		 */
		cmm_smp_rmb();
		if (uatomic_read(&blk->stamp) != jst_shm_ref_stamp(ref))
			continue; /* reused under us: take the new reference */
		if (out->handle.slot != slot)
			return JST_ECORRUPT;
		if (gen != UINT32_MAX && out->handle.gen != gen)
			return JST_ESTALE;
		return 0;
	}
	return JST_EAGAIN;
}

/**
 * jst_status_inline() - jst_status(), compiled into the caller.
 * @f: filled by jst_fast_attach() for an attached reader.
 * @ret_status: filled on success; unspecified on failure (as jst_status()).
 *
 * Return: 0; JST_EINVAL (handle out of range); JST_ESTALE (the job was
 * removed, or its slot now belongs to another job); JST_EAGAIN;
 * JST_ECORRUPT (the segment's bytes are inconsistent).
 */
static inline int jst_status_inline(const struct jst_fast *f, jst_handle h,
				    struct jst_status *ret_status)
{
	return jst__fast_read(f, h.slot, h.gen, ret_status);
}

#ifdef __cplusplus
}
#endif

#endif /* JOBSTAT_INLINE_H */
