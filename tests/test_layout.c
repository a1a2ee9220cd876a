/* SPDX-License-Identifier: MIT */
/*
 * test_layout.c - proves that attach names every kind of bad segment (empty,
 * short, foreign, other byte order, other version or layout, not ready,
 * inconsistent geometry) instead of crashing or misreading it, and that a
 * newer minor version is still read.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jobstat-shm.h"
#include "testutil.h"

static struct test_seg seg;
static struct jst_shm_header good;
static char bad_name[JST_SHM_NAME_MAX];

static void setup(void)
{
	int fd;

	test_seg_create(&seg, "layout", &(struct jst_pub_config){.capacity = 64});
	/* The header of a real segment, as the publisher wrote it. */
	fd = shm_open(seg.shm, O_RDONLY, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, &good, sizeof(good), 0), (ssize_t)sizeof(good));
	close(fd);
	snprintf(bad_name, sizeof(bad_name), "/jobstat.test-bad-%ld", (long)getpid());
}

static void teardown(void)
{
	shm_unlink(bad_name);
	test_seg_destroy(&seg);
}

/* Write @len bytes of @bytes into a fresh shm object of @size bytes and attach to it. */
static int attach_bytes(const void *bytes, size_t len, uint64_t size)
{
	jst_reader *r = NULL;
	int fd, rc;

	shm_unlink(bad_name);
	fd = shm_open(bad_name, O_RDWR | O_CREAT | O_EXCL, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (off_t)size), 0);
	if (len)
		cr_assert_eq(pwrite(fd, bytes, len, 0), (ssize_t)len);
	close(fd);
	rc = jst_attach_shm(bad_name, &r);
	if (rc == 0)
		jst_detach(r);
	else
		cr_assert_null(r, "the out parameter is untouched on failure");
	return rc;
}

/* Attach to a full-size copy of the good header after @mutate changed it. */
static int attach_mutated(void (*mutate)(struct jst_shm_header *))
{
	struct jst_shm_header h = good;

	mutate(&h);
	return attach_bytes(&h, sizeof(h), good.segment_size);
}

TestSuite(layout, .init = setup, .fini = teardown);

Test(layout, good_copy_attaches)
{
	cr_assert_eq(attach_bytes(&good, sizeof(good), good.segment_size), 0);
}

Test(layout, missing_segment)
{
	jst_reader *r;

	cr_assert_eq(jst_attach_shm("/jobstat.does-not-exist", &r), JST_ENOENT);
}

Test(layout, empty_and_short_files_are_truncated)
{
	cr_assert_eq(attach_bytes(NULL, 0, 0), JST_ETRUNCATED);
	cr_assert_eq(attach_bytes(&good, 100, 100), JST_ETRUNCATED);
	cr_assert_eq(attach_bytes(&good, sizeof(good), sizeof(good) - 1), JST_ETRUNCATED);
}

Test(layout, header_claiming_more_than_the_file_is_truncated)
{
	/* Mapping what the header claims would SIGBUS on the first read past EOF. */
	cr_assert_eq(attach_bytes(&good, sizeof(good), sizeof(good)), JST_ETRUNCATED);
	cr_assert_eq(attach_bytes(&good, sizeof(good), good.segment_size - 4096), JST_ETRUNCATED);
}

Test(layout, file_larger_than_the_header_says_is_corrupt)
{
	cr_assert_eq(attach_bytes(&good, sizeof(good), good.segment_size + 4096), JST_ECORRUPT);
}

Test(layout, foreign_bytes_are_not_a_segment)
{
	static char text[8192];

	memset(text, 'x', sizeof(text));
	memcpy(text, "#!/bin/sh\necho hello\n", 21);
	cr_assert_eq(attach_bytes(text, sizeof(text), sizeof(text)), JST_EBADMAGIC);
	cr_assert_eq(attach_bytes(NULL, 0, 1 << 20), JST_EBADMAGIC, "all zeroes");
}

static void swap_magic(struct jst_shm_header *h)
{
	h->magic = __builtin_bswap64(h->magic);
}

static void other_major(struct jst_shm_header *h)
{
	h->version_major = JST_SHM_VERSION_MAJOR + 1;
}

static void newer_minor(struct jst_shm_header *h)
{
	h->version_minor = JST_SHM_VERSION_MINOR + 1;
}

static void other_layout(struct jst_shm_header *h)
{
	h->layout ^= 1;
}

static void other_header_size(struct jst_shm_header *h)
{
	h->header_size = 8192;
}

static void not_ready(struct jst_shm_header *h)
{
	h->state = JST_SHM_STATE_INIT;
}

static void unknown_state(struct jst_shm_header *h)
{
	h->state = 77;
}

Test(layout, identity_mismatches_are_named)
{
	cr_assert_eq(attach_mutated(swap_magic), JST_EENDIAN);
	cr_assert_eq(attach_mutated(other_major), JST_EVERSION);
	cr_assert_eq(attach_mutated(other_layout), JST_ELAYOUT);
	cr_assert_eq(attach_mutated(other_header_size), JST_ELAYOUT);
	cr_assert_eq(attach_mutated(not_ready), JST_ENOTREADY);
	cr_assert_eq(attach_mutated(unknown_state), JST_ENOTREADY);
}

Test(layout, newer_minor_version_is_read)
{
	cr_assert_eq(attach_mutated(newer_minor), 0);
}

static void zero_capacity(struct jst_shm_header *h)
{
	h->capacity = 0;
}

static void index_not_pow2(struct jst_shm_header *h)
{
	h->index_size += 1;
}

static void index_too_small(struct jst_shm_header *h)
{
	h->index_size = h->capacity; /* load factor 1: probes might never end */
}

static void log_not_pow2(struct jst_shm_header *h)
{
	h->log_size = 1000;
}

static void refs_past_end(struct jst_shm_header *h)
{
	h->refs_offset = h->segment_size;
}

static void overlap(struct jst_shm_header *h)
{
	h->jobs_offset = h->refs_offset;
}

static void misaligned(struct jst_shm_header *h)
{
	h->log_offset += 8;
}

static void offset_in_header(struct jst_shm_header *h)
{
	h->refs_offset = 0;
}

static void huge_pool(struct jst_shm_header *h)
{
	h->pools[JST_POOL_ERROR].count = 0x7fffffff;
}

static void wrong_block_size(struct jst_shm_header *h)
{
	h->pools[JST_POOL_STATUS].block_size = 64;
}

static void one_block_pool(struct jst_shm_header *h)
{
	h->pools[JST_POOL_DETAIL_SMALL].count = 1;
}

Test(layout, inconsistent_geometry_is_corrupt)
{
	void (*cases[])(struct jst_shm_header *) = {
		zero_capacity, index_not_pow2, index_too_small, log_not_pow2, refs_past_end,
		overlap,       misaligned,     offset_in_header, huge_pool,   wrong_block_size,
		one_block_pool,
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_assert_eq(attach_mutated(cases[i]), JST_ECORRUPT, "case %zu", i);
}

/* ---- the status ring's fields (format 1.5) ---- */

static void ring_not_pow2(struct jst_shm_header *h)
{
	h->ring_size = 3;
}

static void ring_longer_than_log(struct jst_shm_header *h)
{
	h->ring_size = h->log_size * 2;
}

static void ring_past_end(struct jst_shm_header *h)
{
	h->ring_offset = h->segment_size - JST_SHM_ALIGN;
}

static void ring_over_the_log(struct jst_shm_header *h)
{
	h->ring_offset = h->log_offset;
}

static void ring_in_header(struct jst_shm_header *h)
{
	h->ring_offset = 0;
}

static void ring_misaligned(struct jst_shm_header *h)
{
	h->ring_offset += 64;
}

static void ring_size_without_offset(struct jst_shm_header *h)
{
	h->ring_offset = 0;
	h->ring_size = 16;
}

Test(layout, a_status_ring_outside_its_place_is_corrupt)
{
	void (*cases[])(struct jst_shm_header *) = {
		ring_not_pow2,  ring_longer_than_log, ring_past_end,
		ring_over_the_log, ring_in_header, ring_misaligned, ring_size_without_offset,
	};

	cr_assert_eq(good.version_minor, 5);
	cr_assert_gt(good.ring_size, 0, "a new segment has a ring");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_assert_eq(attach_mutated(cases[i]), JST_ECORRUPT, "case %zu", i);
}

static void minor4_ring_garbage(struct jst_shm_header *h)
{
	h->version_minor = 4;
	h->ring_offset = 12345;
	h->ring_size = 3;
}

static void no_ring(struct jst_shm_header *h)
{
	h->ring_offset = 0;
	h->ring_size = 0;
}

/* A 1.4 segment's reserved bytes are not a ring, whatever they hold; 0 and 0 is no ring. */
Test(layout, ring_fields_mean_nothing_before_1_5)
{
	cr_assert_eq(attach_mutated(minor4_ring_garbage), 0);
	cr_assert_eq(attach_mutated(no_ring), 0);
}

Test(layout, frozen_sizes)
{
	/* The static asserts in jobstat-shm.h hold these at compile time; here they are visible. */
	cr_assert_eq(sizeof(struct jst_shm_header), 4096);
	cr_assert_eq(sizeof(struct jst_shm_status), 128);
	cr_assert_eq(sizeof(struct jst_shm_job), 320);
	cr_assert_geq(JST_SHM_ERROR_DATA, 16384);
	cr_assert_eq(JST_SHM_MAGIC_SWAPPED, __builtin_bswap64(JST_SHM_MAGIC));
}

/* A client without read permission on the segment gets a named error. */
Test(layout, no_permission_is_eacces)
{
	struct jst_pub_config cfg = {.capacity = 16, .mode = 0600};
	struct test_seg s2;
	int status;
	pid_t pid;

	if (geteuid() != 0) {
		cr_skip_test("needs root to become another user");
		return;
	}
	test_seg_create(&s2, "perm", &cfg);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		jst_reader *r = NULL;

		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(3);
		_exit(jst_attach(s2.ns, &r) == JST_EACCES && r == NULL ? 0 : 4);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
	test_seg_destroy(&s2);
}

/*
 * A reader facing garbage where job data should be (a buggy or hostile
 * writer, a damaged file) returns error codes: no crash, no endless loop,
 * no read outside the mapping (ASan watches the latter in CI).
 */
Test(layout, garbage_job_data_gives_errors_not_crashes, .timeout = 120)
{
	static struct jst_job job;
	static struct jst_error err;
	struct jst_pub_config cfg = {.capacity = 256, .status_spare = 64, .detail_small = 300,
				     .detail_large = 8, .errors = 64, .log_size = 64};
	struct jst_status st, batch[16];
	struct test_seg s2;
	jst_handle h, got[64];
	unsigned seed = 12345;
	jst_reader *r;
	size_t n;
	int fd;

	test_seg_create(&s2, "garbage", &cfg);
	for (unsigned i = 0; i < 200; i++) {
		char id[32];

		snprintf(id, sizeof(id), "org:g-%u", i);
		test_status_fill(&st, i);
		cr_assert_eq(jst_pub_job_create(s2.pub, id, &st, NULL, &h), 0);
	}
	cr_assert_eq(jst_attach(s2.ns, &r), 0);
	/* Scribble over everything after the header through a writable mapping of our own. */
	fd = shm_open(s2.shm, O_RDWR, 0);
	cr_assert_geq(fd, 0);
	{
		struct stat sb;
		char *w;

		cr_assert_eq(fstat(fd, &sb), 0);
		w = mmap(NULL, (size_t)sb.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		cr_assert_neq(w, MAP_FAILED);
		for (int round = 0; round < 20; round++) {
			/* Random bytes over a random tenth of the data regions, then read everything. */
			uint64_t span = (uint64_t)sb.st_size - JST_SHM_HEADER_SIZE;

			for (uint64_t k = 0; k < span / 10 / 8; k++) {
				uint64_t off = JST_SHM_HEADER_SIZE +
					       ((uint64_t)rand_r(&seed) << 16 ^ (uint64_t)rand_r(&seed)) %
						       (span - 8);
				uint64_t v = (uint64_t)rand_r(&seed) << 33 ^ (uint64_t)rand_r(&seed);

				/* Small values as often as huge ones: offsets and counts near the edges. */
				if (k & 1)
					v &= 0xffff;
				memcpy(w + (off & ~UINT64_C(7)), &v, 8);
			}
			for (uint32_t s = 0; s < 256; s++) {
				char id[32];

				snprintf(id, sizeof(id), "org:g-%u", s);
				(void)jst_lookup(r, id, &h);
				h = (jst_handle){s, 0};
				if (jst_status(r, h, &st) == JST_ESTALE)
					h.gen = st.handle.gen;
				(void)jst_job(r, h, &job);
				for (unsigned e = 0; e < JST_ERRORS_KEPT; e++)
					(void)jst_error_read(r, h, e, &err);
			}
			{
				uint32_t pos = 0;
				uint64_t cursor = 0;
				int guard = 0;

				while (jst_scan(r, &pos, batch, 16, &n) == 0 && n && guard++ < 1000)
					;
				cr_assert_lt(guard, 1000, "a scan did not end");
				(void)jst_changes(r, &cursor, got, 64, &n);
			}
		}
		munmap(w, (size_t)sb.st_size);
	}
	close(fd);
	jst_detach(r);
	jst_pub_close(s2.pub, true);
}
