/* SPDX-License-Identifier: MIT */
/*
 * read.c - libjobstat's read path: attach to a segment read-only, then look
 * up, read and iterate jobs with no syscall, no lock, no allocation and no
 * waiting for the writer (shm-layout/PROTOCOL.md is the protocol).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/syscall.h>

#include "jobstat-proto.h"
#include "read-internal.h"
#include "shm-check.h"
#include "shm-status.h"

_Static_assert(JST_ID_MAX == JST_SHM_ID_MAX, "public and segment limits agree");
_Static_assert(JST_ERRORS_KEPT == JST_SHM_ERRORS_KEPT, "public and segment limits agree");
_Static_assert(JST_ERROR_ARGS_MAX == JST_SHM_ERROR_ARGS_MAX, "public and segment limits agree");
_Static_assert(JST_JOB_TEXT_MAX >= JST_SHM_DETAIL_DATA_LARGE, "a job's text fits struct jst_job");
_Static_assert(JST_ERROR_TEXT_MAX >= JST_SHM_ERROR_DATA, "an error's text fits struct jst_error");

static int errno_to_jst(int e)
{
	switch (e) {
	case ENOENT:
		return JST_ENOENT;
	case EACCES:
	case EPERM:
		return JST_EACCES;
	case ENOMEM:
		return JST_ENOMEM;
	default:
		return JST_ESYS;
	}
}

/*
 * Whose segment a client trusts: one written by root, by jobstat's service
 * user (JST_SERVICE_USER), or by the client's own uid. Anything else may
 * have been planted by another user to feed it false job states.
 */
static bool trusted_owner(uid_t uid)
{
	struct passwd pw, *res = NULL;
	char buf[1024];

	if (uid == 0 || uid == geteuid())
		return true;
	return getpwnam_r(JST_SERVICE_USER, &pw, buf, sizeof(buf), &res) == 0 && res &&
	       pw.pw_uid == uid;
}

/* A reader over a mapping @base of @size bytes already checked by jst_shm_check(). */
static int reader_new(const void *base, uint64_t size, jst_reader **ret_reader)
{
	struct jst_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return JST_ENOMEM;
	r->base = base;
	r->size = size;
	r->hdr = base;
	/* Geometry is immutable while the segment is READY; keep our own validated copy. */
	r->capacity = r->hdr->capacity;
	r->index_mask = r->hdr->index_size - 1;
	r->log_mask = r->hdr->log_size - 1;
	r->refs = (const uint64_t *)(r->base + r->hdr->refs_offset);
	r->jobs = (const struct jst_shm_job *)(r->base + r->hdr->jobs_offset);
	r->index[0] = (const uint64_t *)(r->base + r->hdr->index_offset[0]);
	r->index[1] = (const uint64_t *)(r->base + r->hdr->index_offset[1]);
	r->log = (const uint64_t *)(r->base + r->hdr->log_offset);
	/* Only a 1.5 header's ring fields mean anything (jst_shm_has_ring()). */
	if (jst_shm_has_ring(r->hdr)) {
		r->ring = (const struct jst_shm_status *)(r->base + r->hdr->ring_offset);
		r->ring_mask = r->hdr->ring_size - 1;
	}
	memcpy(r->pools, r->hdr->pools, sizeof(r->pools));
	r->status_blocks = r->base + r->pools[JST_POOL_STATUS].offset;
	r->status_count = r->pools[JST_POOL_STATUS].count;
	r->fast = (struct jst_fast){
		.abi = JST_INLINE_ABI,
		.format_major = r->hdr->version_major,
		.refs = r->refs,
		.status_blocks = r->status_blocks,
		.capacity = r->capacity,
		.status_count = r->status_count,
	};
	if (jst_shm_geometry_check(r->hdr) < 0 || r->hdr->segment_size != size ||
	    (r->ring && (r->hdr->ring_size - 1 != r->ring_mask ||
			 (const char *)r->ring != r->base + r->hdr->ring_offset))) {
		/* the header changed since the check */
		free(r);
		return JST_ECORRUPT;
	}
	*ret_reader = r;
	return 0;
}

int jst__attach_mapping(const void *base, uint64_t size, jst_reader **ret_reader)
{
	struct jst_reader *r;
	int rc = reader_new(base, size, &r);

	if (rc == 0) {
		r->borrowed = true; /* the mapping is the caller's */
		*ret_reader = r;
	}
	return rc;
}

int jst_attach_shm(const char *shm_name, jst_reader **ret_reader)
{
	struct stat st;
	void *base;
	int fd, rc, e;

	jst__why_clear();
	if (!shm_name || !ret_reader)
		return jst__why(JST_EINVAL, "no segment name or no place for the reader");
	/*
	 * Never follow a link (glibc's shm_open adds O_NOFOLLOW) and never block:
	 * a FIFO at the name would otherwise hang us until someone opens it.
	 */
	fd = shm_open(shm_name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0) {
		e = errno;
		if (e == ELOOP)
			return jst__why(JST_ENOTREG, "/dev/shm%s is a symbolic link, not a "
					   "jobstat segment", shm_name);
		return jst__why(errno_to_jst(e), "cannot open /dev/shm%s: %s", shm_name,
				   strerror(e));
	}
	if (fstat(fd, &st) < 0) {
		e = errno;
		close(fd);
		return jst__why(JST_ESYS, "cannot fstat /dev/shm%s: %s", shm_name, strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return jst__why(JST_ENOTREG, "/dev/shm%s is %s, not a jobstat segment", shm_name,
				   jst_file_kind(st.st_mode));
	}
	if (!trusted_owner(st.st_uid)) {
		close(fd);
		return jst__why(JST_EOWNER, "/dev/shm%s belongs to uid %ld, which is neither root, "
				   "the " JST_SERVICE_USER " user nor you: another user may have "
				   "planted it", shm_name, (long)st.st_uid);
	}
	if (st.st_mode & 022) {
		close(fd);
		return jst__why(JST_EUNSAFE, "/dev/shm%s has mode %04o: others than its owner "
				   "could rewrite what you read", shm_name,
				   (unsigned)(st.st_mode & 07777));
	}
	if ((uint64_t)st.st_size < JST_SHM_HEADER_SIZE) {
		close(fd);
		return jst__why(JST_ETRUNCATED, "/dev/shm%s has %lld bytes, less than a header",
				   shm_name, (long long)st.st_size);
	}
	/*
	 * Map exactly the file's size, never more: a page past EOF would raise
	 * SIGBUS. jst_shm_check() refuses a header that claims more than this.
	 */
	base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED | MAP_NORESERVE, fd, 0);
	e = errno;
	close(fd);
	if (base == MAP_FAILED)
		return jst__why(errno_to_jst(e), "cannot map /dev/shm%s: %s", shm_name,
				   strerror(e));
	rc = jst_shm_check(base, (uint64_t)st.st_size);
	if (rc == 0)
		rc = reader_new(base, (uint64_t)st.st_size, ret_reader);
	if (rc == 0 && (*ret_reader)->ring) {
		/*
		 * The status ring is streamed through by every poll, a new page
		 * every 32 changes: map it now, while attach may make syscalls,
		 * instead of taking a page fault in jst_changed() every few
		 * polls. A hint: a kernel without MADV_POPULATE_READ (< 5.14)
		 * leaves it to the faults.
		 */
		const struct jst_reader *nr = *ret_reader;

		madvise((void *)nr->ring, (size_t)(nr->ring_mask + 1u) * JST_SHM_STATUS_SIZE,
			MADV_POPULATE_READ);
	}
	if (rc < 0) {
		munmap(base, (size_t)st.st_size);
		return jst__why(rc, "/dev/shm%s: %s", shm_name, jst_strerror(rc));
	}
	return 0;
}

int jst_attach(const char *ns, jst_reader **ret_reader)
{
	char name[JST_SHM_NAME_MAX];
	int rc = jst_shm_name(ns ? ns : jst_default_namespace(), name, sizeof(name));

	if (rc < 0)
		return jst__why(rc, "namespace \"%s\": %s", ns ? ns : jst_default_namespace(),
				   jst_strerror(rc));
	return jst_attach_shm(name, ret_reader);
}

void jst_detach(jst_reader *r)
{
	if (!r)
		return;
	if (!r->borrowed)
		munmap((void *)r->base, (size_t)r->size);
	free(r);
}

/* ---- the validated copy --------------------------------------------------------------- */

/*
 * jst_read_block()'s body, inlined where @hdr_size is a constant so that the
 * header copy compiles to a few vector moves instead of a call to memcpy().
 */
static inline __attribute__((always_inline)) int
read_block(const jst_reader *r, jst_shm_ref ref, unsigned pool, void *out, size_t hdr_size,
	   char *data, size_t data_max)
{
	const struct jst_shm_pool *p = &r->pools[pool];
	uint32_t idx = jst_shm_ref_index(ref);
	const char *blk;
	uint32_t used;

	if (idx == 0 || idx >= p->count)
		return JST_ECORRUPT;
	blk = jst_shm_block(r->base, p, idx);
	/*
	 * Plain copies of bytes the writer does not change while the block's
	 * stamp equals the stamp in @ref: if it reused the block under us, the
	 * stamp check below says so and the copy is thrown away.
	 */
	memcpy(out, blk, hdr_size);
	if (data) {
		/* `used` follows the stamp in every block with data (detail, error). */
		memcpy(&used, (const char *)out + sizeof(uint32_t), sizeof(used));
		if (used > p->block_size - hdr_size || used > data_max)
			used = 0; /* torn or corrupt: the stamp check decides which */
		memcpy(data, blk + hdr_size, used);
	}
	/*
	 * Order the copies above before the stamp re-check. Pairs with the
	 * cmm_smp_wmb() in the writer's block_begin(), which orders its odd
	 * stamp before it rewrites the block: if any byte we copied is from a
	 * later incarnation, this load sees a stamp other than ref's.
	 */
	cmm_smp_rmb();
	if (uatomic_read((const uint32_t *)blk) != jst_shm_ref_stamp(ref))
		return JST_EAGAIN;
	if (data) {
		memcpy(&used, (const char *)out + sizeof(uint32_t), sizeof(used));
		if (used > p->block_size - hdr_size || used > data_max)
			return JST_ECORRUPT; /* a stable block with an impossible size */
	}
	return 0;
}

int jst_read_block(const jst_reader *r, jst_shm_ref ref, unsigned pool, void *out,
		   size_t hdr_size, char *data, size_t data_max)
{
	return read_block(r, ref, pool, out, hdr_size, data, data_max);
}

/* Load a slot's current status reference. */
static jst_shm_ref load_status_ref(const jst_reader *r, uint32_t slot)
{
	/* One load of the published reference: the barrier below makes it an acquire. */
	jst_shm_ref ref = uatomic_read(&r->refs[slot]);

	/*
	 * Acquire: order the reference load before every load from the block it
	 * names. Pairs with the cmm_smp_wmb() in the writer's publish_ref()
	 * before it stores the reference.
	 */
	cmm_smp_rmb();
	return ref;
}

/*
 * Copy the current status version of @slot into @out: the hot path, one
 * copy straight into the caller's struct (struct jst_status is the status
 * version byte for byte) and then the stamp check, as jobstat-inline.h
 * defines it once for the library and for inline callers. @gen is the
 * handle's slot incarnation, or UINT32_MAX to accept any live job. On
 * failure @out holds whatever was copied last.
 */
static inline int read_status(const jst_reader *r, uint32_t slot, uint32_t gen,
			      struct jst_status *out)
{
	return jst__fast_read(&r->fast, slot, gen, out);
}

int jst_status(jst_reader *r, jst_handle h, struct jst_status *ret_status)
{
	if (!r || !ret_status)
		return JST_EINVAL;
	return read_status(r, h.slot, h.gen, ret_status);
}

/* Jobs per round of jst_status_many(): as many misses in flight as the core keeps. */
#define MANY_CHUNK 64

int jst_status_many(jst_reader *r, const jst_handle *handles, size_t n,
		    struct jst_status *ret_status, int *ret_codes)
{
	int first = 0;

	if (!r || (n && (!handles || !ret_status)))
		return JST_EINVAL;
	for (size_t c = 0; c < n; c += MANY_CHUNK) {
		size_t k = n - c < MANY_CHUNK ? n - c : MANY_CHUNK;

		/* Pass 1: every job's reference, fetched together (a hint; bounds first). */
		for (size_t i = 0; i < k; i++)
			if (handles[c + i].slot < r->capacity)
				__builtin_prefetch(&r->refs[handles[c + i].slot]);
		/* Pass 2: the references, and each block they name (a hint only). */
		for (size_t i = 0; i < k; i++) {
			uint32_t slot = handles[c + i].slot, idx;

			if (slot >= r->capacity)
				continue;
			idx = jst_shm_ref_index(load_status_ref(r, slot));
			if (idx && idx < r->status_count) {
				const char *b = r->status_blocks + (size_t)idx * JST_SHM_STATUS_SIZE;

				__builtin_prefetch(b);
				__builtin_prefetch(b + 64);
			}
		}
		/* Pass 3: the validated copies, each from its reference as jst_status() does. */
		for (size_t i = 0; i < k; i++) {
			int rc = read_status(r, handles[c + i].slot, handles[c + i].gen,
					     &ret_status[c + i]);

			if (ret_codes)
				ret_codes[c + i] = rc;
			if (rc < 0 && first == 0)
				first = rc;
		}
	}
	return first;
}

int jst_fast_init(jst_reader *r, unsigned abi, unsigned format_major, size_t size,
		  struct jst_fast *ret_fast)
{
	if (!r || !ret_fast || abi != JST_INLINE_ABI || size != sizeof(struct jst_fast))
		return JST_EINVAL;
	/*
	 * The program's inline read understands one format major's status
	 * blocks; this library may read others. Refuse rather than let it
	 * misread them: jst_status() reads whatever this library attached.
	 */
	if (format_major != r->fast.format_major)
		return JST_EVERSION;
	*ret_fast = r->fast;
	return 0;
}

/* ---- lookup -------------------------------------------------------------------------- */

/*
 * Does slot @slot hold @id? On a match sets *gen to its incarnation.
 * Return: 1 match, 0 no match, JST_EAGAIN the slot changed while we compared.
 */
static int slot_matches(const jst_reader *r, uint32_t slot, const char *id, size_t len,
			uint32_t *gen)
{
	const struct jst_shm_job *j = &r->jobs[slot];
	uint32_t g1, g2;
	int same;

	g1 = uatomic_read(&j->gen); /* seqcount open: see the barrier below */
	/*
	 * Order the gen load before the identity loads. Pairs with the
	 * cmm_smp_wmb() in the writer's slot_claim() between writing the
	 * identity and making gen even.
	 */
	cmm_smp_rmb();
	if (g1 & 1)
		return 0; /* free or being rewritten */
	same = uatomic_read(&j->id_len) == len && memcmp(j->instance_id, id, len) == 0;
	/*
	 * Order the identity loads before the gen re-check. Pairs with the
	 * cmm_smp_wmb() in slot_release()/slot_claim() after gen becomes odd
	 * and before the identity is rewritten.
	 */
	cmm_smp_rmb();
	g2 = uatomic_read(&j->gen);
	if (g1 != g2)
		return JST_EAGAIN;
	if (same)
		*gen = g1;
	return same;
}

int jst_lookup(jst_reader *r, const char *instance_id, jst_handle *ret_handle)
{
	size_t len;
	uint64_t hash;

	if (!r || !instance_id || !ret_handle)
		return JST_EINVAL;
	len = strnlen(instance_id, JST_ID_MAX + 1);
	if (len == 0 || len > JST_ID_MAX)
		return JST_ENOJOB;
	hash = jst_shm_hash(instance_id, len);

	for (unsigned attempt = 0; attempt < JST_READ_RETRIES; attempt++) {
		uint64_t g = uatomic_read(&r->hdr->index_gen); /* acquire: barrier below */
		const uint64_t *index;
		uint32_t i = (uint32_t)hash & r->index_mask;
		int retry = 0;

		/*
		 * Order the index_gen load before the loads of the copy it
		 * selects. Pairs with the cmm_smp_wmb() in the writer's
		 * index_rebuild() before it stores the new index_gen.
		 */
		cmm_smp_rmb();
		index = r->index[g & 1];
		for (uint32_t probes = 0; probes <= r->index_mask; probes++, i = (i + 1) & r->index_mask) {
			/* Entries change by single stores; each is read whole. */
			uint64_t e = uatomic_read(&index[i]);
			uint32_t slot = (uint32_t)e, gen;
			int m;

			if (e == JST_SHM_IDX_EMPTY)
				break;
			if (slot == JST_SHM_IDX_TOMB || (e >> 32) != (hash >> 32))
				continue;
			if (slot >= r->capacity)
				return JST_ECORRUPT;
			/*
			 * The caller's next read is this job's status: start fetching
			 * its reference while the identity is compared, so the two
			 * cache misses overlap instead of following each other.
			 */
			__builtin_prefetch(&r->refs[slot]);
			m = slot_matches(r, slot, instance_id, len, &gen);
			if (m == JST_EAGAIN) {
				retry = 1;
				break;
			}
			if (m) {
				/* A match by identity is valid whatever the index did meanwhile. */
				ret_handle->slot = slot;
				ret_handle->gen = gen;
				return 0;
			}
		}
		/*
		 * "Not found" holds only if the copy we searched was not
		 * rebuilt under us. Order the probes before the re-check;
		 * pairs with the write barrier in index_rebuild() after its
		 * index_gen store and before it rewrites the other copy.
		 */
		cmm_smp_rmb();
		if (!retry && uatomic_read(&r->hdr->index_gen) == g)
			return JST_ENOJOB;
	}
	return JST_EAGAIN;
}

/* ---- strings: detail and error blocks -------------------------------------------------- */

/*
 * Resolve string @s of a block whose @used data bytes are in @text.
 * Return: 0 with *out set (NULL for a NULL value), or JST_ECORRUPT.
 */
static int str_resolve(const struct jst_shm_str *s, char *text, uint32_t used, const char **out)
{
	if (s->len == JST_SHM_STR_NULL) {
		*out = NULL;
		return 0;
	}
	if (s->off > used || s->len >= used - s->off || text[s->off + s->len] != '\0')
		return JST_ECORRUPT;
	*out = text + s->off;
	return 0;
}

/* Of a detail block's header, what an error read needs: up to the error counts. */
#define DETAIL_ERRORS_HDR offsetof(struct jst_shm_detail, ext_len)

/*
 * Copy the detail version @ref of status @st: its first @hdr_size header
 * bytes (sizeof(*d), or DETAIL_ERRORS_HDR) and, with @text, its strings.
 */
static inline __attribute__((always_inline)) int
read_detail(const jst_reader *r, jst_shm_ref ref, const struct jst_status *st,
	    struct jst_shm_detail *d, size_t hdr_size, char *text, size_t text_max)
{
	uint32_t idx = jst_shm_ref_index(ref);
	unsigned pool = idx & JST_SHM_REF_LARGE ? JST_POOL_DETAIL_LARGE : JST_POOL_DETAIL_SMALL;
	int rc;

	rc = read_block(r, ref & ~(jst_shm_ref)JST_SHM_REF_LARGE, pool, d, hdr_size, text,
			text_max);
	if (rc < 0)
		return rc;
	if (d->slot != st->handle.slot || d->job_gen != st->handle.gen ||
	    d->n_errors > JST_SHM_ERRORS_KEPT || d->n_status_descriptions > JST_SHM_OPSTATUS_MAX)
		return JST_ECORRUPT;
	return 0;
}

/* Copy the identity of @slot at incarnation @gen into @buf. */
static int read_identity(const jst_reader *r, uint32_t slot, uint32_t gen, char *buf)
{
	const struct jst_shm_job *j = &r->jobs[slot];
	uint32_t len;

	/* Same pairing as slot_matches(): gen, identity, gen. */
	if (uatomic_read(&j->gen) != gen)
		return JST_ESTALE;
	cmm_smp_rmb(); /* gen before identity; pairs with slot_claim()'s cmm_smp_wmb() */
	len = uatomic_read(&j->id_len);
	if (len > JST_ID_MAX)
		len = 0;
	memcpy(buf, j->instance_id, len);
	buf[len] = '\0';
	cmm_smp_rmb(); /* identity before gen re-check; pairs with slot_release()'s cmm_smp_wmb() */
	return uatomic_read(&j->gen) == gen ? 0 : JST_ESTALE;
}

/*
 * ElapsedTime as of now: for a job that has started and not finished, now -
 * StartTime; a finished job's is final as the daemon published it. The
 * coarse clock is the vDSO's (no syscall, no TSC: see jst_daemon_alive()),
 * good to a tick, which a CIM interval's microseconds do not notice.
 */
static void elapsed_now(struct jst_status *st)
{
	struct timespec ts;
	uint64_t now;

	if (!st->start_time || jst_job_state_is_final(st->job_state))
		return;
	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	st->elapsed_ns = now > st->start_time ? now - st->start_time : 0;
}

/* The 1.5 extension record of a copied detail @d, whose data is @text. */
static int ext_resolve(const struct jst_shm_detail *d, char *text, struct jst_job_ext *x)
{
	struct jst_shm_detail_ext e;
	const char **strs[JST_XSTR_COUNT] = {&x->element_name, &x->caption, &x->description};

	if (d->ext_len == 0)
		return 0; /* a detail of a 1.4 daemon, or every property at its default */
	if (d->ext_len < JST_SHM_DETAIL_EXT_SIZE || d->ext_len % 8 || d->ext_len > d->used)
		return JST_ECORRUPT;
	memcpy(&e, text, sizeof(e)); /* data[] of a copy: not necessarily aligned for us */
	x->scheduled_start_time = e.scheduled_start_time;
	x->until_time = e.until_time;
	x->job_run_times = e.job_run_times;
	x->local_or_utc_time = e.local_or_utc_time;
	for (unsigned k = 0; k < JST_XSTR_COUNT; k++)
		if (str_resolve(&e.str[k], text, d->used, strs[k]) < 0)
			return JST_ECORRUPT;
	return 0;
}

/* jst_job(), and with @x the extension record's properties too. */
static int job_read(jst_reader *r, jst_handle h, struct jst_job *o, struct jst_job_ext *x)
{
	for (unsigned i = 0; i < JST_READ_RETRIES; i++) {
		struct jst_status st;
		struct jst_shm_detail d;
		const char **strs[JST_DSTR_STATUS_DESCRIPTIONS] = {
			&o->name, &o->job_status, &o->error_description, &o->owner,
			&o->notify, &o->error_summary_description, &o->other_recovery_action,
		};
		/* The identity goes at the end of text[], past the largest detail. */
		char *id = o->text + JST_SHM_DETAIL_DATA_LARGE;
		int rc = read_status(r, h.slot, h.gen, &st);

		_Static_assert(JST_JOB_TEXT_MAX - JST_SHM_DETAIL_DATA_LARGE >= JST_SHM_ID_MAX + 1,
			       "room for the InstanceID in struct jst_job");
		if (rc < 0)
			return rc;
		rc = read_identity(r, h.slot, h.gen, id);
		if (rc < 0)
			return rc;
		elapsed_now(&st);
		o->status = st;
		o->instance_id = id;
		for (unsigned k = 0; k < JST_DSTR_STATUS_DESCRIPTIONS; k++)
			*strs[k] = NULL;
		o->n_status_descriptions = 0;
		memset(o->status_descriptions, 0, sizeof(o->status_descriptions));
		if (st.internal_detail == 0)
			return 0;
		rc = read_detail(r, st.internal_detail, &st, &d, sizeof(d), o->text,
				 JST_SHM_DETAIL_DATA_LARGE);
		if (rc == JST_EAGAIN)
			continue; /* the detail was replaced and reused: take the new status */
		if (rc < 0)
			return rc;
		for (unsigned k = 0; k < JST_DSTR_STATUS_DESCRIPTIONS; k++)
			if (str_resolve(&d.str[k], o->text, d.used, strs[k]) < 0)
				return JST_ECORRUPT;
		o->n_status_descriptions = d.n_status_descriptions;
		for (unsigned k = 0; k < d.n_status_descriptions; k++)
			if (str_resolve(&d.str[JST_DSTR_STATUS_DESCRIPTIONS + k], o->text, d.used,
					&o->status_descriptions[k]) < 0)
				return JST_ECORRUPT;
		return x ? ext_resolve(&d, o->text, x) : 0;
	}
	return JST_EAGAIN;
}

int jst_job(jst_reader *r, jst_handle h, struct jst_job *o)
{
	if (!r || !o)
		return JST_EINVAL;
	return job_read(r, h, o, NULL);
}

int jst_job_ext(jst_reader *r, jst_handle h, struct jst_job_ext *ret, size_t size)
{
	struct jst_job_ext x;
	struct jst_derived_status ds;
	const size_t head = offsetof(struct jst_job_ext, element_name);
	int rc;

	if (!r || !ret || size < sizeof(struct jst_job))
		return JST_EINVAL;
	/* The defaults of a job whose detail has no extension record. */
	memset((char *)&x + head, 0, sizeof(x) - head);
	x.job_run_times = 1;
	/* The strings point into the caller's text[]; only the tail is ours to copy. */
	rc = job_read(r, h, &ret->job, &x);
	if (rc < 0)
		return rc;
	jst_status_derive(&ret->job.status, &ds);
	x.communication_status = ds.communication_status;
	x.health_state = ds.health_state;
	x.primary_status = ds.primary_status;
	x.detailed_status = ds.detailed_status;
	x.operating_status = ds.operating_status;
	if (size > head)
		memcpy((char *)ret + head, (char *)&x + head,
		       (size < sizeof(x) ? size : sizeof(x)) - head);
	if (size > sizeof(x))
		memset((char *)ret + sizeof(x), 0, size - sizeof(x)); /* a later library's fields */
	return 0;
}

/* An error block's header up to its argument strings: what every error has. */
#define ERROR_FIXED_HDR offsetof(struct jst_shm_error, str[JST_ESTR_MESSAGE_ARGUMENTS])

/*
 * Copy error version @ref into @e and its text into @text, only what the
 * error holds: the fixed fields and the nine strings' entries, each of the
 * two 16-entry tables only if the error has entries in it, and its `used`
 * bytes of text (never the rest of the 20 KiB block).
 * Return: 0; JST_EAGAIN (reused during the copy); JST_ECORRUPT.
 */
static int read_error_block(const jst_reader *r, jst_shm_ref ref, struct jst_shm_error *e,
			    char *text, size_t text_max)
{
	const struct jst_shm_pool *p = &r->pools[JST_POOL_ERROR];
	uint32_t idx = jst_shm_ref_index(ref);
	const struct jst_shm_error *blk;
	uint32_t na, nr, used;
	bool bad;

	if (idx == 0 || idx >= p->count)
		return JST_ECORRUPT;
	blk = jst_shm_block(r->base, p, idx);
	/*
	 * Plain copies, as in jst_read_block(): the counts and size below come
	 * from a block that may be rewritten under us, so they only bound the
	 * copies; the stamp check decides whether the copy is one version.
	 */
	memcpy(e, blk, ERROR_FIXED_HDR);
	na = e->n_message_arguments;
	nr = e->n_recommended_actions;
	used = e->used;
	bad = na > JST_SHM_ERROR_ARGS_MAX || nr > JST_SHM_ERROR_ARGS_MAX ||
	      used > p->block_size - sizeof(*e) || used > text_max;
	if (!bad) {
		/*
		 * Each array's 128 bytes whole, when it has any entry: a copy of
		 * constant size compiles to a few vector moves, where one of
		 * na * 8 bytes became a `rep movsq` that cost more than the
		 * kilobyte of text (measured: bench/RESULTS.md).
		 */
		if (na)
			memcpy(&e->str[JST_ESTR_MESSAGE_ARGUMENTS],
			       &blk->str[JST_ESTR_MESSAGE_ARGUMENTS],
			       JST_SHM_ERROR_ARGS_MAX * sizeof(e->str[0]));
		if (nr)
			memcpy(&e->str[JST_ESTR_RECOMMENDED_ACTIONS],
			       &blk->str[JST_ESTR_RECOMMENDED_ACTIONS],
			       JST_SHM_ERROR_ARGS_MAX * sizeof(e->str[0]));
		memcpy(text, blk->data, used);
	}
	/*
	 * Order the copies before the stamp re-check. Pairs with the
	 * cmm_smp_wmb() in the writer's block_begin(), as in jst_read_block().
	 */
	cmm_smp_rmb();
	if (uatomic_read(&blk->stamp) != jst_shm_ref_stamp(ref))
		return JST_EAGAIN;
	return bad ? JST_ECORRUPT : 0; /* a stable block with impossible counts */
}

static int error_from_block(const struct jst_shm_error *e, struct jst_error *o)
{
	const char **strs[JST_ESTR_MESSAGE_ARGUMENTS] = {
		&o->other_error_type, &o->owning_entity, &o->message_id, &o->message,
		&o->probable_cause_description, &o->error_source, &o->other_error_source_format,
		&o->cim_status_code_description, &o->file,
	};

	if (e->n_message_arguments > JST_SHM_ERROR_ARGS_MAX ||
	    e->n_recommended_actions > JST_SHM_ERROR_ARGS_MAX)
		return JST_ECORRUPT;
	for (unsigned k = 0; k < JST_ESTR_MESSAGE_ARGUMENTS; k++)
		if (str_resolve(&e->str[k], o->text, e->used, strs[k]) < 0)
			return JST_ECORRUPT;
	/* Entries past the counts are NULL; stored one by one (a memset became `rep stos`). */
	for (unsigned k = 0; k < JST_SHM_ERROR_ARGS_MAX; k++) {
		o->message_arguments[k] = NULL;
		o->recommended_actions[k] = NULL;
		if (k < e->n_message_arguments &&
		    str_resolve(&e->str[JST_ESTR_MESSAGE_ARGUMENTS + k], o->text, e->used,
				&o->message_arguments[k]) < 0)
			return JST_ECORRUPT;
		if (k < e->n_recommended_actions &&
		    str_resolve(&e->str[JST_ESTR_RECOMMENDED_ACTIONS + k], o->text, e->used,
				&o->recommended_actions[k]) < 0)
			return JST_ECORRUPT;
	}
	o->time = e->time;
	o->sequence = e->sequence;
	o->job_state = e->job_state;
	o->error_type = e->error_type;
	o->n_message_arguments = e->n_message_arguments;
	o->perceived_severity = e->perceived_severity;
	o->probable_cause = e->probable_cause;
	o->n_recommended_actions = e->n_recommended_actions;
	o->error_source_format = e->error_source_format;
	o->cim_status_code = e->cim_status_code;
	o->hresult = e->hresult;
	o->context = e->context;
	return 0;
}

/*
 * The reference of error @index of status @st, from its detail version: the
 * four words it needs loaded in place (no copy of the detail's header),
 * then the detail's stamp checked, as read_detail() does for a copy.
 * Return: 0; JST_ENOERROR (@st has no error @index); JST_EAGAIN; JST_ECORRUPT.
 */
static int detail_error_ref(const jst_reader *r, const struct jst_status *st, unsigned index,
			    jst_shm_ref *ret_ref)
{
	jst_shm_ref ref = st->internal_detail;
	uint32_t idx = jst_shm_ref_index(ref) & ~(uint32_t)JST_SHM_REF_LARGE;
	const struct jst_shm_pool *p =
		&r->pools[jst_shm_ref_index(ref) & JST_SHM_REF_LARGE ? JST_POOL_DETAIL_LARGE
								     : JST_POOL_DETAIL_SMALL];
	const struct jst_shm_detail *d;
	jst_shm_ref eref;
	bool ok;

	if (ref == 0 || index >= st->n_errors)
		return JST_ENOERROR;
	if (idx == 0 || idx >= p->count)
		return JST_ECORRUPT;
	d = jst_shm_block(r->base, p, idx);
	/* Plain loads of a block that may be reused under us: the stamp check decides. */
	ok = d->slot == st->handle.slot && d->job_gen == st->handle.gen &&
	     index < d->n_errors && d->n_errors <= JST_SHM_ERRORS_KEPT;
	eref = ok ? d->error_refs[index] : 0;
	/* Loads before the stamp re-check; pairs with block_begin()'s cmm_smp_wmb(). */
	cmm_smp_rmb();
	if (uatomic_read(&d->stamp) != jst_shm_ref_stamp(ref))
		return JST_EAGAIN;
	if (!ok)
		return JST_ECORRUPT; /* the status and its detail disagree */
	*ret_ref = eref;
	return 0;
}

int jst__error_read_st(const jst_reader *r, const struct jst_status *st, unsigned index,
		       struct jst_error *o)
{
	struct jst_shm_error e;
	jst_shm_ref eref;
	int rc;

	/* Only the detail's reference to this error is needed. */
	rc = detail_error_ref(r, st, index, &eref);
	if (rc < 0)
		return rc;
	rc = read_error_block(r, eref, &e, o->text, sizeof(o->text));
	if (rc < 0)
		return rc;
	if (e.slot != st->handle.slot || e.job_gen != st->handle.gen)
		return JST_ECORRUPT;
	return error_from_block(&e, o);
}

int jst_error_read(jst_reader *r, jst_handle h, unsigned index, struct jst_error *o)
{
	if (!r || !o)
		return JST_EINVAL;
	for (unsigned i = 0; i < JST_READ_RETRIES; i++) {
		struct jst_status st;
		int rc = read_status(r, h.slot, h.gen, &st);

		if (rc < 0)
			return rc;
		rc = jst__error_read_st(r, &st, index, o);
		if (rc != JST_EAGAIN)
			return rc;
		/* the detail or the error was reused since the status: take the new status */
	}
	return JST_EAGAIN;
}

/* ---- errors in place -------------------------------------------------------------------- */

/* The view's nine named strings are the segment's string table's first nine, in its order. */
_Static_assert(offsetof(struct jst_error_view, file) -
		       offsetof(struct jst_error_view, other_error_type) ==
		       JST_ESTR_FILE * sizeof(struct jst_strview),
	       "the view's strings follow JST_ESTR_*");

/* Resolve string @s of an error block of @used data bytes at @data; false if out of range. */
static inline bool strview(struct jst_shm_str s, const char *data, uint32_t used,
			   struct jst_strview *out)
{
	if (s.len == JST_SHM_STR_NULL) {
		*out = (struct jst_strview){NULL, 0};
		return true;
	}
	/* The same bounds as str_resolve(), but the NUL is not loaded: a view has a length. */
	if (s.off > used || s.len >= used - s.off)
		return false;
	*out = (struct jst_strview){data + s.off, s.len};
	return true;
}

/*
 * Fill @v from error version @ref of job @st. Every field is loaded once
 * from the block and range-checked against the block itself, so however
 * the block is rewritten under us, a view's strings stay inside it.
 */
static int view_error_block(const jst_reader *r, jst_shm_ref ref, const struct jst_status *st,
			    struct jst_error_view *v)
{
	const struct jst_shm_pool *p = &r->pools[JST_POOL_ERROR];
	uint32_t idx = jst_shm_ref_index(ref), used;
	const struct jst_shm_error *blk;
	struct jst_strview *named = &v->other_error_type;
	unsigned na, nr;
	bool ok;

	if (idx == 0 || idx >= p->count)
		return JST_ECORRUPT;
	blk = jst_shm_block(r->base, p, idx);
	/* Plain loads, as in read_error_block(): the stamp check below decides. */
	used = blk->used;
	na = blk->n_message_arguments;
	nr = blk->n_recommended_actions;
	ok = blk->slot == st->handle.slot && blk->job_gen == st->handle.gen &&
	     na <= JST_SHM_ERROR_ARGS_MAX && nr <= JST_SHM_ERROR_ARGS_MAX &&
	     used <= p->block_size - sizeof(*blk);
	v->time = blk->time;
	v->sequence = blk->sequence;
	v->job_state = blk->job_state;
	v->error_type = blk->error_type;
	v->n_message_arguments = (uint16_t)na;
	v->perceived_severity = blk->perceived_severity;
	v->probable_cause = blk->probable_cause;
	v->n_recommended_actions = (uint16_t)nr;
	v->error_source_format = blk->error_source_format;
	v->context = blk->context;
	v->cim_status_code = blk->cim_status_code;
	v->hresult = blk->hresult;
	for (unsigned k = 0; ok && k < JST_ESTR_MESSAGE_ARGUMENTS; k++)
		ok = strview(blk->str[k], blk->data, used, &named[k]);
	/* Only the entries the counts name: the rest are the caller's to ignore, as with argv. */
	for (unsigned k = 0; ok && k < na; k++)
		ok = strview(blk->str[JST_ESTR_MESSAGE_ARGUMENTS + k], blk->data, used,
			     &v->message_arguments[k]);
	for (unsigned k = 0; ok && k < nr; k++)
		ok = strview(blk->str[JST_ESTR_RECOMMENDED_ACTIONS + k], blk->data, used,
			     &v->recommended_actions[k]);
	v->priv_block = blk;
	v->priv_stamp = jst_shm_ref_stamp(ref);
	v->priv_reserved = 0;
	/*
	 * Order the loads above before the stamp check. Pairs with the
	 * cmm_smp_wmb() in the writer's block_begin(), as in jst_read_block():
	 * a view returned 0 was one version when it was taken, so its checks
	 * held for the bytes they checked.
	 */
	cmm_smp_rmb();
	if (uatomic_read(&blk->stamp) != v->priv_stamp)
		return JST_EAGAIN;
	return ok ? 0 : JST_ECORRUPT; /* a stable block with impossible fields */
}

int jst_error_view(jst_reader *r, const struct jst_status *st, unsigned index,
		   struct jst_error_view *ret_view)
{
	jst_shm_ref eref;
	int rc;

	if (!r || !st || !ret_view)
		return JST_EINVAL;
	rc = detail_error_ref(r, st, index, &eref);
	return rc < 0 ? rc : view_error_block(r, eref, st, ret_view);
}

int jst_error_view_check(const struct jst_error_view *v)
{
	if (!v || !v->priv_block)
		return JST_EINVAL;
	/*
	 * Order every load the caller made through the view before this stamp
	 * load. Pairs with the cmm_smp_wmb() in the writer's block_begin()
	 * between its odd stamp and the block's new bytes: if the caller read
	 * any byte of a later incarnation, the stamp is no longer the view's.
	 */
	cmm_smp_rmb();
	return uatomic_read((const uint32_t *)v->priv_block) == v->priv_stamp ? 0 : JST_EAGAIN;
}

/* ---- iteration and changes ------------------------------------------------------------ */

/*
 * The scan behind jst_next() and jst_scan(): up to @max live jobs from
 * *@pos on. Inlined into both, so jst_next() pays for no batch machinery.
 */
static inline int scan_slots(jst_reader *r, uint32_t *pos, struct jst_status *out, size_t max,
			     size_t *ret_n)
{
	uint32_t hwm, s;
	size_t n = 0;

	/* Slots below hwm have a valid gen: slot_claim() orders it before this store. */
	hwm = uatomic_read(&r->hdr->slot_hwm);
	if (hwm > r->capacity)
		hwm = r->capacity;
	for (s = *pos; s < hwm && n < max; s++) {
		int rc = read_status(r, s, UINT32_MAX, &out[n]);

		if (rc == 0)
			n++;
		else if (rc != JST_ESTALE) /* ESTALE: a free slot */
			return rc;
	}
	*pos = s;
	*ret_n = n;
	return 0;
}

int jst_scan(jst_reader *r, uint32_t *pos, struct jst_status *ret_status, size_t max,
	     size_t *ret_n)
{
	if (!r || !pos || (!ret_status && max) || !ret_n)
		return JST_EINVAL;
	return scan_slots(r, pos, ret_status, max, ret_n);
}

int jst_next(jst_reader *r, uint32_t *pos, struct jst_status *ret_status)
{
	size_t n;
	int rc;

	if (!r || !pos || !ret_status)
		return JST_EINVAL;
	rc = scan_slots(r, pos, ret_status, 1, &n);
	if (rc < 0)
		return rc;
	return n ? 0 : JST_ENOJOB;
}

uint64_t jst_change_seq(jst_reader *r)
{
	uint64_t seq;

	if (!r)
		return 0;
	/*
	 * Acquire: the rmb orders this load before every load the caller makes
	 * next (the scan of "take the cursor, then scan"). Pairs with the
	 * cmm_smp_wmb() in the writer's log_append() (daemon/publish.c) before
	 * its change_seq store, which orders the job's new version (its ref)
	 * and log entry before it: a scan after this sees every version up to
	 * seq, so no change at or before the cursor is missed.
	 */
	seq = uatomic_read(&r->hdr->change_seq);
	cmm_smp_rmb();
	return seq;
}

/*
 * The change log's head, loaded before any entry is: JST_EOVERRUN when the
 * cursor @c is ahead of it or a whole log behind it.
 */
static int log_head(const jst_reader *r, uint64_t c, uint64_t *ret_head)
{
	uint64_t head = uatomic_read(&r->hdr->change_seq); /* acquire: the barrier below */

	/*
	 * Order the head load before the entry loads. Pairs with the
	 * cmm_smp_wmb() in the writer's log_append() between the entry store and
	 * the change_seq store: every entry up to head is written.
	 */
	cmm_smp_rmb();
	*ret_head = head;
	return c > head || head - c > (uint64_t)r->log_mask + 1 ? JST_EOVERRUN : 0;
}

/* The slot change @seq was about: JST_EOVERRUN when the ring lapped it; JST_ECORRUPT. */
static int log_entry(const jst_reader *r, uint64_t seq, uint32_t *ret_slot)
{
	/* One load: the entry carries its own sequence, so a lap is seen. */
	uint64_t e = uatomic_read(&r->log[seq & r->log_mask]);

	if ((uint32_t)(e >> 32) != (uint32_t)seq)
		return JST_EOVERRUN;
	*ret_slot = (uint32_t)e;
	return *ret_slot < r->capacity ? 0 : JST_ECORRUPT;
}

int jst_changes(jst_reader *r, uint64_t *cursor, jst_handle *ret_handles, size_t max,
		size_t *ret_n)
{
	uint64_t head, c;
	size_t n = 0;
	int rc;

	if (!r || !cursor || (!ret_handles && max) || !ret_n)
		return JST_EINVAL;
	c = *cursor;
	if (log_head(r, c, &head) < 0)
		goto overrun;
	while (c < head && n < max) {
		uint32_t slot;

		rc = log_entry(r, c + 1, &slot);
		if (rc == JST_EOVERRUN)
			goto overrun;
		if (rc < 0)
			return rc;
		ret_handles[n].slot = slot;
		/* The slot's current incarnation; a removed job's odd gen reads stale. */
		ret_handles[n].gen = uatomic_read(&r->jobs[slot].gen);
		n++;
		c++;
	}
	*cursor = c;
	*ret_n = n;
	return 0;
overrun:
	*cursor = head;
	*ret_n = 0;
	return JST_EOVERRUN;
}

/*
 * Copy the status change @seq published from its ring entry into @out, if
 * the entry still holds it: a seqlock read whose version is the change
 * sequence itself. Return: true with one whole version in @out; false when
 * the writer lapped the entry or is rewriting it (read the reference).
 */
static inline bool ring_read(const jst_reader *r, uint64_t seq, struct jst_status *out)
{
	const struct jst_shm_status *e = &r->ring[seq & r->ring_mask];

	/* The entry's version, stored last by the writer after its wmb (ring_put()). */
	if (uatomic_read(&e->change_seq) != seq)
		return false;
	/*
	 * Order the version load before the copy. Pairs with the cmm_smp_wmb()
	 * in the writer's ring_put() before it stores seq: the bytes copied
	 * below are at least those it published with seq.
	 */
	cmm_smp_rmb();
	memcpy(out, e, sizeof(*out));
	/*
	 * Order the copy before the version's re-load. Pairs with the
	 * cmm_smp_wmb() in ring_put() after it stores BUSY and before it
	 * rewrites the entry: a copy with any later byte sees seq no more.
	 */
	cmm_smp_rmb();
	return uatomic_read(&e->change_seq) == seq && out->change_seq == seq;
}

/* Log entries taken per round of jst_changed(): enough misses in flight to hide latency. */
#define CHANGED_CHUNK 64

int jst_changed(jst_reader *r, uint64_t *cursor, struct jst_status *ret, size_t max,
		size_t *ret_n)
{
	uint64_t head, c;
	size_t n = 0;
	int rc;

	if (!r || !cursor || (!ret && max) || !ret_n)
		return JST_EINVAL;
	c = *cursor;
	if (log_head(r, c, &head) < 0)
		goto overrun;
	while (c < head && n < max) {
		uint32_t slots[CHANGED_CHUNK], miss[CHANGED_CHUNK];
		size_t k = 0, m = 0, want = head - c;

		/*
		 * Pass 0: prefetch the chunk's log and ring entries (hints only).
		 * The writer has just stored them on another CPU: one at a time,
		 * each would wait for its own transfer; this keeps them in flight
		 * together, as the reference path below does for its misses.
		 */
		if (want > max - n)
			want = max - n;
		if (want > CHANGED_CHUNK)
			want = CHANGED_CHUNK;
		for (size_t i = 1; i <= want; i++) {
			__builtin_prefetch(&r->log[(c + i) & r->log_mask]);
			if (r->ring) {
				const char *e = (const char *)&r->ring[(c + i) & r->ring_mask];

				__builtin_prefetch(e);
				__builtin_prefetch(e + 64);
			}
		}

		/*
		 * Pass 1: the entries and, from the status ring (1.5), the status
		 * each change published, read in order. A change the ring no
		 * longer holds (lapped, or no ring) is read through its job's
		 * reference below; prefetch that reference.
		 */
		while (c + k < head && n + k < max && k < CHANGED_CHUNK) {
			rc = log_entry(r, c + k + 1, &slots[k]);
			if (rc == JST_EOVERRUN)
				goto overrun;
			if (rc < 0)
				return rc;
			if (r->ring && ring_read(r, c + k + 1, &ret[n + k]) &&
			    ret[n + k].handle.slot == slots[k]) {
				k++;
				continue;
			}
			__builtin_prefetch(&r->refs[slots[k]]);
			miss[m++] = (uint32_t)k++;
		}
		/* Pass 2: each missed reference, and a prefetch of its block (a hint only). */
		for (size_t i = 0; i < m; i++) {
			uint32_t idx = jst_shm_ref_index(load_status_ref(r, slots[miss[i]]));

			if (idx && idx < r->status_count)
				__builtin_prefetch(r->status_blocks + (size_t)idx * JST_SHM_STATUS_SIZE);
		}
		/* Pass 3: their validated copies, whatever job the slot holds now. */
		for (size_t i = 0; i < m; i++) {
			struct jst_status *o = &ret[n + miss[i]];

			rc = read_status(r, slots[miss[i]], UINT32_MAX, o);
			if (rc == JST_ESTALE) {
				memset(o, 0, sizeof(*o));
				o->handle.slot = slots[miss[i]]; /* removed: gen 0 says so */
				o->change_seq = c + miss[i] + 1;
			} else if (rc < 0) {
				return rc;
			}
		}
		n += k;
		c += k;
	}
	*cursor = c;
	*ret_n = n;
	return 0;
overrun:
	*cursor = head;
	*ret_n = 0;
	return JST_EOVERRUN;
}

int jst_wait_changes(jst_reader *r, uint64_t cursor, int64_t timeout_ns)
{
	const uint32_t *word;
	uint64_t start;
	struct timespec ts;

	if (!r)
		return JST_EINVAL;
	if (uatomic_read(&r->hdr->change_seq) != cursor) /* already moved: no need to order */
		return 0;
	if (timeout_ns == 0)
		return JST_ETIMEDOUT;
	word = &r->hdr->change_futex;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	start = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	/*
	 * No registration: the writer wakes the word after every batch of
	 * changes whether or not anyone waits (jst_pub_flush()), so nothing a
	 * client writes, or fails to write, decides whether another is woken.
	 */
	while (uatomic_read(&r->hdr->change_seq) == cursor) {
		uint64_t now, left = UINT64_MAX;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
		if (timeout_ns > 0) {
			if (now - start >= (uint64_t)timeout_ns)
				break;
			left = (uint64_t)timeout_ns - (now - start);
		}
		ts.tv_sec = (time_t)(left / 1000000000u);
		ts.tv_nsec = (long)(left % 1000000000u);
		/*
		 * Sleeps only while the word still holds the cursor's low half: the
		 * kernel compares it under the futex bucket lock that the writer's
		 * FUTEX_WAKE takes after storing the word (log_append(), then
		 * jst_pub_flush()), so a change published after our check above
		 * either makes this return at once (EAGAIN) or wakes it. Not
		 * FUTEX_PRIVATE: the word is shared with the daemon's process.
		 * EINTR, ETIMEDOUT, spurious wakes: the loop decides.
		 */
		syscall(SYS_futex, word, FUTEX_WAIT, (uint32_t)cursor,
			left == UINT64_MAX ? NULL : &ts, NULL, 0);
	}
	/* Whatever woke us, the sequence decides. */
	return uatomic_read(&r->hdr->change_seq) != cursor ? 0 : JST_ETIMEDOUT;
}

/* ---- the daemon ------------------------------------------------------------------------ */

int jst_info(jst_reader *r, struct jst_info *o)
{
	const struct jst_shm_header *h;

	if (!r || !o)
		return JST_EINVAL;
	h = r->hdr;
	o->version_major = h->version_major;
	o->version_minor = h->version_minor;
	o->capacity = r->capacity;
	o->log_size = r->log_mask + 1;
	o->segment_size = r->size;
	/* Informational words, each read whole; nothing here is ordered against another. */
	o->njobs = uatomic_read(&h->njobs);
	o->generation = uatomic_read(&h->generation); /* informational */
	o->daemon_pid = uatomic_read(&h->daemon_pid); /* informational */
	o->daemon_birth_ns = uatomic_read(&h->daemon_birth_ns); /* informational */
	o->heartbeat_ns = uatomic_read(&h->heartbeat_ns); /* informational */
	o->change_seq = uatomic_read(&h->change_seq); /* informational */
	o->state = uatomic_read(&h->state); /* informational */
	o->pool_bytes = 0;
	for (unsigned i = 0; i < JST_POOL_COUNT; i++) {
		/* A high-water mark, only ever raised; clamped to what was validated at attach. */
		uint32_t used = uatomic_read(&h->pool_used[i]);

		if (used > r->pools[i].count)
			used = r->pools[i].count;
		o->pool_bytes += (uint64_t)used * r->pools[i].block_size;
	}
	return 0;
}

uint64_t jst_generation(jst_reader *r)
{
	return r ? uatomic_read(&r->hdr->generation) : 0; /* one word, nothing to order */
}

bool jst_daemon_alive(jst_reader *r)
{
	struct timespec ts;
	uint64_t now, hb;

	/* Two independent words: CLOSED is final, and a stale heartbeat only says "dead". */
	if (!r || uatomic_read(&r->hdr->state) != JST_SHM_STATE_READY)
		return false;
	hb = uatomic_read(&r->hdr->heartbeat_ns); /* compared with our own clock only */
	/*
	 * The coarse clock is the vDSO's last-tick copy of CLOCK_MONOTONIC: no
	 * syscall and no TSC read with any clocksource, so it works under strict
	 * seccomp (which disables the TSC on x86). It may lag the daemon's
	 * precise heartbeat by a tick: a heartbeat "ahead" of us is fresh.
	 */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	return hb > now ? hb - now < JST_HEARTBEAT_TIMEOUT_NS : now - hb < JST_HEARTBEAT_TIMEOUT_NS;
}
