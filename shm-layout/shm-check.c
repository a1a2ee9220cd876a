/* SPDX-License-Identifier: MIT */
/*
 * shm-check.c - validate a jobstat segment's identity and geometry so that no
 * later offset taken from it can point outside the mapping.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "jobstat.h"
#include "shm-check.h"

int jst_shm_name(const char *ns, char *buf, size_t bufsz)
{
	size_t n = ns ? strlen(ns) : 0;

	if (n == 0 || n > JST_NS_MAX || ns[0] == '.')
		return JST_ENAMESPACE;
	for (size_t i = 0; i < n; i++) {
		char c = ns[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return JST_ENAMESPACE;
	}
	if ((size_t)snprintf(buf, bufsz, "/jobstat.%s", ns) >= bufsz)
		return JST_ENAMESPACE;
	return 0;
}

/* [off, off + len) lies inside [JST_SHM_HEADER_SIZE, size), page aligned, without overflow. */
static int region_ok(uint64_t off, uint64_t len, uint64_t size)
{
	return off >= JST_SHM_HEADER_SIZE && off % JST_SHM_ALIGN == 0 && off <= size &&
	       len <= size - off;
}

struct region {
	uint64_t off, len;
};

int jst_shm_ring_check(const struct jst_shm_header *h)
{
	if (h->version_minor < 5 || (h->ring_offset == 0 && h->ring_size == 0))
		return 0; /* no ring: readers follow the references */
	if (h->ring_size == 0 || (h->ring_size & (h->ring_size - 1)) ||
	    h->ring_size > h->log_size)
		return JST_ECORRUPT;
	return region_ok(h->ring_offset, (uint64_t)h->ring_size * JST_SHM_STATUS_SIZE,
			 h->segment_size) ? 0 : JST_ECORRUPT;
}

int jst_shm_geometry_check(const struct jst_shm_header *h)
{
	static const uint32_t block_size[JST_POOL_COUNT] = {
		[JST_POOL_STATUS] = JST_SHM_STATUS_SIZE,
		[JST_POOL_DETAIL_SMALL] = JST_SHM_DETAIL_SMALL,
		[JST_POOL_DETAIL_LARGE] = JST_SHM_DETAIL_LARGE,
		[JST_POOL_ERROR] = JST_SHM_ERROR_BLOCK,
	};
	struct region r[6 + JST_POOL_COUNT];
	uint64_t size = h->segment_size;
	unsigned n = 0;

	if (h->capacity == 0 || h->capacity >= JST_SHM_IDX_TOMB)
		return JST_ECORRUPT;
	/* Power-of-two index with load <= 1/2, so every probe sequence meets an empty entry. */
	if (h->index_size == 0 || (h->index_size & (h->index_size - 1)) ||
	    h->index_size / 2 < h->capacity)
		return JST_ECORRUPT;
	if (h->log_size == 0 || (h->log_size & (h->log_size - 1)))
		return JST_ECORRUPT;

	r[n++] = (struct region){h->refs_offset, (uint64_t)h->capacity * sizeof(uint64_t)};
	r[n++] = (struct region){h->jobs_offset, (uint64_t)h->capacity * JST_SHM_JOB_SIZE};
	r[n++] = (struct region){h->index_offset[0], (uint64_t)h->index_size * sizeof(uint64_t)};
	r[n++] = (struct region){h->index_offset[1], (uint64_t)h->index_size * sizeof(uint64_t)};
	r[n++] = (struct region){h->log_offset, (uint64_t)h->log_size * sizeof(uint64_t)};
	if (jst_shm_ring_check(h) < 0)
		return JST_ECORRUPT;
	if (jst_shm_has_ring(h))
		r[n++] = (struct region){h->ring_offset,
					 (uint64_t)h->ring_size * JST_SHM_STATUS_SIZE};
	for (unsigned p = 0; p < JST_POOL_COUNT; p++) {
		const struct jst_shm_pool *pool = &h->pools[p];

		/* Block 0 is never used, so a pool needs at least two blocks. */
		if (pool->block_size != block_size[p] || pool->count < 2 ||
		    pool->count >= JST_SHM_REF_LARGE)
			return JST_ECORRUPT;
		r[n++] = (struct region){pool->offset, (uint64_t)pool->count * pool->block_size};
	}
	for (unsigned i = 0; i < n; i++) {
		if (!region_ok(r[i].off, r[i].len, size))
			return JST_ECORRUPT;
		for (unsigned j = 0; j < i; j++)
			if (r[i].off < r[j].off + r[j].len && r[j].off < r[i].off + r[i].len)
				return JST_ECORRUPT;
	}
	return 0;
}

int jst_shm_check(const void *base, uint64_t file_size)
{
	struct jst_shm_header h;

	if (file_size < JST_SHM_HEADER_SIZE)
		return JST_ETRUNCATED;
	/*
	 * A private copy: the checks below and the caller's geometry must agree
	 * even if the file changes under us. The immutable fields are what we
	 * validate; the hot words are read again by whoever needs them.
	 */
	memcpy(&h, base, sizeof(h));
	if (h.magic == JST_SHM_MAGIC_SWAPPED)
		return JST_EENDIAN;
	if (h.magic != JST_SHM_MAGIC)
		return JST_EBADMAGIC;
	if (h.version_major != JST_SHM_VERSION_MAJOR)
		return JST_EVERSION;
	if (h.header_size != JST_SHM_HEADER_SIZE || h.layout != JST_SHM_LAYOUT)
		return JST_ELAYOUT;
	if (h.segment_size > file_size)
		return JST_ETRUNCATED;
	if (h.segment_size < file_size)
		return JST_ECORRUPT;
	if (h.state != JST_SHM_STATE_READY && h.state != JST_SHM_STATE_CLOSED)
		return JST_ENOTREADY;
	return jst_shm_geometry_check(&h);
}

bool jst_utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t k;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xC2 && c <= 0xDF) {
			k = 1;
			cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			k = 2;
			cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			k = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (n - i <= k)
			return false;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + j] & 0x3F);
		}
		if ((k == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
		    (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
			return false;
		i += k + 1;
	}
	return true;
}

bool jst_shm_str_ok(const struct jst_shm_str *s, const char *data, uint32_t used)
{
	if (s->len == JST_SHM_STR_NULL)
		return true;
	return s->off <= used && s->len < used - s->off && data[s->off + s->len] == '\0';
}

const char *jst_file_kind(unsigned mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return "a regular file";
	case S_IFDIR:
		return "a directory";
	case S_IFIFO:
		return "a FIFO";
	case S_IFSOCK:
		return "a socket";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	case S_IFLNK:
		return "a symbolic link";
	}
	return "not a regular file";
}
