/* SPDX-License-Identifier: MIT */
/*
 * test_readpath.c - proves what the fast read path (issue 17) relies on: the
 * inline status read gives what jst_status() gives and only whole versions,
 * refuses a format it was not built for, an error read copies every entry
 * it counts and no stale pointer, an error view gives the same in place and
 * its check reports a block reused after the view, and the vectorised CIM-XML escaping (SSE2
 * and its portable SWAR fallback) escapes exactly what a byte-at-a-time
 * escaper does, wherever the byte falls in a 16-byte block.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "jobstat-inline.h"
#include "testutil.h"

/* The renderer once more, built without SSE2 so that its SWAR fallback runs here too. */
#undef __SSE2__
int swar_error_to_cimxml(const struct jst_error *e, char *buf, size_t n, size_t *ret_len);
int swar_error_to_json(const struct jst_error *e, char *buf, size_t n, size_t *ret_len);
#define jst_error_to_cimxml swar_error_to_cimxml
#define jst_error_to_json swar_error_to_json
/* Its other exported functions renamed too: the library's copy is linked (geterror.c). */
int swar_json_string(const char *s, char *buf, size_t n, size_t *ret_len);
int swar_cim_datetime(uint64_t ns, bool interval, char *buf);
int swar_job_to_cimxml(const struct jst_job *job, unsigned flags, char *buf, size_t n,
		       size_t *ret_len);
int swar_errors_to_cimxml(const struct jst_error *errors, size_t n, char *buf, size_t len,
			  size_t *ret_len);
int swar_job_to_json(const struct jst_job *job, char *buf, size_t n, size_t *ret_len);
int swar_job_ext_to_cimxml(const struct jst_job_ext *x, size_t size, unsigned flags, char *buf,
			   size_t n, size_t *ret_len);
int swar_job_ext_to_json(const struct jst_job_ext *x, size_t size, char *buf, size_t n,
			 size_t *ret_len);
#define jst_job_ext_to_cimxml swar_job_ext_to_cimxml
#define jst_job_ext_to_json swar_job_ext_to_json
#define jst_json_string swar_json_string
#define jst_cim_datetime swar_cim_datetime
#define jst_job_to_cimxml swar_job_to_cimxml
#define jst_errors_to_cimxml swar_errors_to_cimxml
#define jst_job_to_json swar_job_to_json
#include "../libclient/render.c"
#undef jst_error_to_cimxml
#undef jst_error_to_json
#undef jst_json_string
#undef jst_cim_datetime
#undef jst_job_to_cimxml
#undef jst_errors_to_cimxml
#undef jst_job_to_json
#undef jst_job_ext_to_cimxml
#undef jst_job_ext_to_json

#define NJOBS 64

static void make_jobs(struct test_seg *seg, const struct jst_pub_config *cfg, jst_handle *hs)
{
	struct jst_status st;
	char id[32];

	test_seg_create(seg, "readpath", cfg);
	for (unsigned i = 0; i < NJOBS; i++) {
		snprintf(id, sizeof(id), "jobstat:rp-%u", i);
		test_status_fill(&st, i);
		cr_assert_eq(jst_pub_job_create(seg->pub, id, &st, NULL, &hs[i]), 0);
	}
}

Test(readpath, inline_status_equals_jst_status_and_reports_removal)
{
	struct test_seg seg;
	jst_handle hs[NJOBS];
	struct jst_status a, b;
	struct jst_fast f;
	jst_reader *r;

	make_jobs(&seg, NULL, hs);
	cr_assert_eq(jst_attach(seg.ns, &r), 0);
	cr_assert_eq(jst_fast_attach(r, &f), 0);
	for (unsigned i = 0; i < NJOBS; i++) {
		cr_assert_eq(jst_status_inline(&f, hs[i], &a), 0);
		cr_assert_eq(jst_status(r, hs[i], &b), 0);
		cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0, "job %u: inline and library differ", i);
		cr_assert_eq(test_status_check(&a), i);
	}
	/* A new version is seen at once; a removed job and a slot out of range are errors. */
	test_status_fill(&a, 1000);
	cr_assert_eq(jst_pub_publish(seg.pub, hs[5], &(struct jst_pub_change){.status = &a}), 0);
	cr_assert_eq(jst_status_inline(&f, hs[5], &b), 0);
	cr_assert_eq(test_status_check(&b), 1000);
	cr_assert_eq(jst_pub_remove(seg.pub, hs[7]), 0);
	cr_assert_eq(jst_status_inline(&f, hs[7], &b), JST_ESTALE);
	cr_assert_eq(jst_status_inline(&f, (jst_handle){.slot = 1u << 30, .gen = 0}, &b),
		     JST_EINVAL);
	cr_assert_eq(jst_status_inline(&f, (jst_handle){.slot = hs[8].slot, .gen = hs[8].gen + 2},
				       &b), JST_ESTALE, "another incarnation of the slot");
	jst_detach(r);
	test_seg_destroy(&seg);
}

Test(readpath, inline_tier_refuses_a_struct_or_format_it_was_not_built_for)
{
	struct test_seg seg;
	jst_handle hs[NJOBS];
	struct jst_fast f, untouched;
	jst_reader *r;

	make_jobs(&seg, NULL, hs);
	cr_assert_eq(jst_attach(seg.ns, &r), 0);
	memset(&f, 0xa5, sizeof(f));
	untouched = f;
	/* A program built against a header for the next format major must not read this one. */
	cr_assert_eq(jst_fast_init(r, JST_INLINE_ABI, JST_INLINE_FORMAT_MAJOR + 1, sizeof(f), &f),
		     JST_EVERSION);
	cr_assert_eq(jst_fast_init(r, JST_INLINE_ABI, JST_INLINE_FORMAT_MAJOR - 1, sizeof(f), &f),
		     JST_EVERSION);
	/* Nor one whose struct jst_fast this library does not know. */
	cr_assert_eq(jst_fast_init(r, JST_INLINE_ABI + 1, JST_INLINE_FORMAT_MAJOR, sizeof(f), &f),
		     JST_EINVAL);
	cr_assert_eq(jst_fast_init(r, JST_INLINE_ABI, JST_INLINE_FORMAT_MAJOR, sizeof(f) + 8, &f),
		     JST_EINVAL);
	cr_assert_eq(jst_fast_init(NULL, JST_INLINE_ABI, JST_INLINE_FORMAT_MAJOR, sizeof(f), &f),
		     JST_EINVAL);
	cr_assert_eq(memcmp(&f, &untouched, sizeof(f)), 0, "ret_fast untouched on failure");
	cr_assert_eq(jst_fast_attach(r, &f), 0);
	cr_assert_eq(f.abi, JST_INLINE_ABI);
	cr_assert_eq(f.format_major, JST_SHM_VERSION_MAJOR);
	jst_detach(r);
	test_seg_destroy(&seg);
}

/*
 * A reader process polls with the inline read while the writer republishes
 * flat out into a status pool with 8 spare blocks and a 1 ns grace period,
 * so blocks are reused under the reader all the time.
 */
Test(readpath, inline_reads_are_whole_versions_while_blocks_are_reused, .timeout = 120)
{
	struct jst_pub_config cfg = {.capacity = NJOBS, .status_spare = 8, .grace_ns = 1};
	struct test_seg seg;
	jst_handle hs[NJOBS];
	struct jst_pub_stats ps;
	uint64_t tally[3] = {0}; /* reads, torn, distinct versions seen */
	struct jst_status st;
	int fd, status;
	uint64_t c = NJOBS;
	pid_t pid;

	make_jobs(&seg, &cfg, hs);
	pid = test_fork_piped(&fd);
	if (pid == 0) {
		struct jst_fast f;
		jst_reader *r;
		static uint64_t last[NJOBS];

		if (jst_attach(seg.ns, &r) != 0 || jst_fast_attach(r, &f) != 0)
			_exit(3);
		struct timespec t0, t;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		/* Until it has seen 5,000 new versions, or 30 s, whichever comes first. */
		for (uint64_t i = 0; tally[2] < 5000; i++) {
			struct jst_status s;
			int rc;

			if (i % 4096 == 0) {
				clock_gettime(CLOCK_MONOTONIC, &t);
				if (t.tv_sec - t0.tv_sec > 30)
					break;
			}
			rc = jst_status_inline(&f, hs[i % NJOBS], &s);

			if (rc == JST_EAGAIN)
				continue;
			if (rc != 0)
				_exit(4);
			tally[0]++;
			if (test_status_check(&s) == UINT64_MAX || s.handle.slot != hs[i % NJOBS].slot)
				tally[1]++;
			else if (s.change_seq != last[i % NJOBS])
				tally[2]++; /* a newer version of this job than its last read */
			last[i % NJOBS] = s.change_seq;
		}
		if (write(fd, tally, sizeof(tally)) != sizeof(tally))
			_exit(5);
		_exit(0);
	}
	while (waitpid(pid, &status, WNOHANG) == 0) {
		for (unsigned k = 0; k < 1000; k++, c++) {
			test_status_fill(&st, c);
			cr_assert_eq(jst_pub_publish(seg.pub, hs[c % NJOBS],
						     &(struct jst_pub_change){.status = &st}), 0);
		}
	}
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "reader status %#x", status);
	cr_assert_eq(read(fd, tally, sizeof(tally)), (ssize_t)sizeof(tally));
	close(fd);
	jst_pub_stats(seg.pub, &ps);
	cr_log_info("inline reader: %lu reads, %lu versions, %lu early reuses while %lu published",
		    (unsigned long)tally[0], (unsigned long)tally[2],
		    (unsigned long)ps.early_reuse[JST_POOL_STATUS], (unsigned long)(c - NJOBS));
	cr_assert_eq(tally[1], 0, "%lu torn versions accepted", (unsigned long)tally[1]);
	cr_assert_gt(tally[0], 0);
	cr_assert_geq(tally[2], 5000, "the reader saw the writer's new versions");
	cr_assert_gt(c - NJOBS, 10000, "the writer republished while the reader read");
	test_seg_destroy(&seg);
}

/* ---- many jobs at once ---- */

Test(readpath, status_many_gives_each_jobs_status_and_code)
{
	enum { M = 200 }; /* more than one round of 64 */
	struct test_seg seg;
	jst_handle hs[NJOBS], many[M];
	struct jst_status got[M], one;
	int codes[M];
	jst_reader *r;

	make_jobs(&seg, NULL, hs);
	cr_assert_eq(jst_attach(seg.ns, &r), 0);
	for (unsigned i = 0; i < M; i++)
		many[i] = hs[(i * 7) % NJOBS]; /* any order, repeats */
	cr_assert_eq(jst_status_many(r, many, M, got, codes), 0);
	for (unsigned i = 0; i < M; i++) {
		cr_assert_eq(codes[i], 0);
		cr_assert_eq(jst_status(r, many[i], &one), 0);
		cr_assert_eq(memcmp(&got[i], &one, sizeof(one)), 0, "entry %u is jst_status()", i);
	}
	/* A removed job, a stale generation and a slot out of range: each its own code. */
	cr_assert_eq(jst_pub_remove(seg.pub, hs[5]), 0);
	many[3] = hs[5];
	many[70] = (jst_handle){hs[6].slot, hs[6].gen + 2};
	many[150] = (jst_handle){UINT32_MAX - 1, 0};
	cr_assert_eq(jst_status_many(r, many, M, got, codes), JST_ESTALE, "the first failure");
	cr_assert_eq(codes[3], JST_ESTALE);
	cr_assert_eq(codes[70], JST_ESTALE);
	cr_assert_eq(codes[150], JST_EINVAL);
	for (unsigned i = 0; i < M; i++) {
		int want = jst_status(r, many[i], &one);

		cr_assert_eq(codes[i], want, "entry %u: the code jst_status() gives", i);
		if (want == 0)
			cr_assert_eq(memcmp(&got[i], &one, sizeof(one)), 0, "entry %u still read", i);
	}
	cr_assert_eq(jst_status_many(r, many, M, got, NULL), JST_ESTALE, "codes are optional");
	cr_assert_eq(jst_status_many(r, NULL, 0, NULL, NULL), 0, "nothing to read");
	cr_assert_eq(jst_status_many(r, NULL, 1, got, codes), JST_EINVAL);
	cr_assert_eq(jst_status_many(NULL, many, 1, got, codes), JST_EINVAL);
	jst_detach(r);
	test_seg_destroy(&seg);
}

/* ---- error reads ---- */

static char strs[JST_ESTR_COUNT][64];

static struct jst_error full_error(unsigned nargs, unsigned nactions)
{
	struct jst_error e = {
		.error_type = 4, .other_error_type = strs[0], .owning_entity = strs[1],
		.message_id = strs[2], .message = strs[3], .probable_cause_description = strs[4],
		.error_source = strs[5], .other_error_source_format = strs[6],
		.cim_status_code_description = strs[7], .file = strs[8],
		.n_message_arguments = (uint16_t)nargs, .n_recommended_actions = (uint16_t)nactions,
		.perceived_severity = 5, .probable_cause = 47, .cim_status_code = 2,
		.hresult = 0x80070070u, .context = 3, .error_source_format = 1,
	};

	for (unsigned k = 0; k < JST_ESTR_COUNT; k++)
		snprintf(strs[k], sizeof(strs[k]), "string %u %.*s", k, (int)(k % 40),
			 "........................................");
	for (unsigned k = 0; k < nargs; k++)
		e.message_arguments[k] = strs[JST_ESTR_MESSAGE_ARGUMENTS + k];
	for (unsigned k = 0; k < nactions; k++)
		e.recommended_actions[k] = strs[JST_ESTR_RECOMMENDED_ACTIONS + k];
	return e;
}

/* MessageArguments and RecommendedActions counts: none, one each, some, all, mixed. */
static const unsigned counts[][2] = {{0, 0}, {1, 0}, {0, 1}, {3, 16}, {16, 16}, {16, 2}};

static void assert_same_str(const char *got, const char *want, const char *what, unsigned k)
{
	cr_assert(got && want && strcmp(got, want) == 0, "%s[%u]: got \"%s\", want \"%s\"", what,
		  k, got ? got : "(null)", want ? want : "(null)");
}

Test(readpath, error_read_copies_every_entry_it_counts_and_nulls_the_rest)
{
	struct test_seg seg;
	jst_handle hs[NJOBS];
	static struct jst_error got;
	jst_reader *r;

	make_jobs(&seg, NULL, hs);
	cr_assert_eq(jst_attach(seg.ns, &r), 0);
	for (unsigned t = 0; t < sizeof(counts) / sizeof(counts[0]); t++) {
		struct jst_error e = full_error(counts[t][0], counts[t][1]);
		const char *want[] = {e.other_error_type, e.owning_entity, e.message_id, e.message,
				      e.probable_cause_description, e.error_source,
				      e.other_error_source_format, e.cim_status_code_description,
				      e.file};
		const char *have[9];

		cr_assert_eq(jst_pub_publish(seg.pub, hs[t], &(struct jst_pub_change){.error = &e}),
			     0);
		/* Leftovers of an earlier read must not survive as pointers past the counts. */
		memset(&got, 0x5a, sizeof(got));
		cr_assert_eq(jst_error_read(r, hs[t], 0, &got), 0);
		have[0] = got.other_error_type;
		have[1] = got.owning_entity;
		have[2] = got.message_id;
		have[3] = got.message;
		have[4] = got.probable_cause_description;
		have[5] = got.error_source;
		have[6] = got.other_error_source_format;
		have[7] = got.cim_status_code_description;
		have[8] = got.file;
		for (unsigned k = 0; k < 9; k++)
			assert_same_str(have[k], want[k], "string", k);
		cr_assert_eq(got.n_message_arguments, counts[t][0]);
		cr_assert_eq(got.n_recommended_actions, counts[t][1]);
		for (unsigned k = 0; k < JST_ERROR_ARGS_MAX; k++) {
			if (k < counts[t][0])
				assert_same_str(got.message_arguments[k], e.message_arguments[k],
						"message_arguments", k);
			else
				cr_assert_null(got.message_arguments[k], "argument %u past the count", k);
			if (k < counts[t][1])
				assert_same_str(got.recommended_actions[k], e.recommended_actions[k],
						"recommended_actions", k);
			else
				cr_assert_null(got.recommended_actions[k], "action %u past the count", k);
		}
		cr_assert_eq(got.hresult, 0x80070070u);
		cr_assert_eq(got.cim_status_code, 2);
		cr_assert_eq(got.context, 3);
		cr_assert_eq(got.sequence, 1);
	}
	jst_detach(r);
	test_seg_destroy(&seg);
}

/* A view's string equals @want (both NULL, or the same bytes and length). */
static void assert_view_str(struct jst_strview v, const char *want, const char *what, unsigned k)
{
	if (!want) {
		cr_assert_null(v.p, "%s[%u]: a NULL value viewed as %u bytes", what, k, v.len);
		return;
	}
	cr_assert(v.p && v.len == strlen(want) && memcmp(v.p, want, v.len) == 0,
		  "%s[%u]: viewed \"%.*s\", want \"%s\"", what, k, v.p ? (int)v.len : 6,
		  v.p ? v.p : "(null)", want);
}

Test(readpath, error_view_gives_in_place_what_error_read_copies)
{
	struct test_seg seg;
	jst_handle hs[NJOBS];
	static struct jst_error got;
	jst_reader *r;

	make_jobs(&seg, NULL, hs);
	cr_assert_eq(jst_attach(seg.ns, &r), 0);
	for (unsigned t = 0; t < sizeof(counts) / sizeof(counts[0]); t++) {
		struct jst_error e = full_error(counts[t][0], counts[t][1]);
		struct jst_error_view v;
		struct jst_status st;
		const struct jst_strview *named = &v.other_error_type;
		const char *want[] = {e.other_error_type, e.owning_entity, e.message_id, e.message,
				      e.probable_cause_description, e.error_source,
				      e.other_error_source_format, e.cim_status_code_description,
				      e.file};

		if (t == 1)
			e.file = want[8] = NULL; /* a NULL string is viewed as NULL */
		cr_assert_eq(jst_pub_publish(seg.pub, hs[t], &(struct jst_pub_change){.error = &e}),
			     0);
		cr_assert_eq(jst_status(r, hs[t], &st), 0);
		cr_assert_eq(jst_error_view(r, &st, 1, &v), JST_ENOERROR, "only one error");
		cr_assert_eq(jst_error_view(r, &st, 0, &v), 0);
		cr_assert_eq(jst_error_read(r, hs[t], 0, &got), 0);
		for (unsigned k = 0; k < 9; k++)
			assert_view_str(named[k], want[k], "string", k);
		cr_assert_eq(v.n_message_arguments, counts[t][0]);
		cr_assert_eq(v.n_recommended_actions, counts[t][1]);
		for (unsigned k = 0; k < counts[t][0]; k++)
			assert_view_str(v.message_arguments[k], e.message_arguments[k],
					"message_arguments", k);
		for (unsigned k = 0; k < counts[t][1]; k++)
			assert_view_str(v.recommended_actions[k], e.recommended_actions[k],
					"recommended_actions", k);
		cr_assert(v.time == got.time && v.sequence == got.sequence &&
			  v.job_state == got.job_state && v.error_type == got.error_type &&
			  v.perceived_severity == got.perceived_severity &&
			  v.probable_cause == got.probable_cause &&
			  v.error_source_format == got.error_source_format &&
			  v.context == got.context && v.cim_status_code == got.cim_status_code &&
			  v.hresult == got.hresult, "the view's numbers are the copy's");
		cr_assert_eq(v.sequence, 1);
		cr_assert_eq(jst_error_view_check(&v), 0, "nothing changed: the view held");
	}
	cr_assert_eq(jst_error_view(NULL, &(struct jst_status){0}, 0, &(struct jst_error_view){0}),
		     JST_EINVAL);
	cr_assert_eq(jst_error_view_check(NULL), JST_EINVAL);
	cr_assert_eq(jst_error_view_check(&(struct jst_error_view){0}), JST_EINVAL,
		     "a view jst_error_view() never filled");
	jst_detach(r);
	test_seg_destroy(&seg);
}

/*
 * The view's seqlock: once the writer reuses the viewed error's block, the
 * check after use says so, and a view from the old status is refused; the
 * new status views the new error.
 */
Test(readpath, error_view_check_fails_once_the_block_is_reused)
{
	struct jst_pub_config cfg = {.capacity = NJOBS, .errors = JST_ERRORS_KEPT + 4,
				     .grace_ns = 1};
	struct test_seg seg;
	jst_handle hs[NJOBS];
	struct jst_error_view v, v2;
	struct jst_status old, st;
	jst_reader *r;
	char msg[64];
	unsigned n;

	make_jobs(&seg, &cfg, hs);
	cr_assert_eq(jst_attach(seg.ns, &r), 0);
	{
		struct jst_error e = {.message_id = "ID0", .message = "the first"};

		cr_assert_eq(jst_pub_publish(seg.pub, hs[0],
					     &(struct jst_pub_change){.error = &e}), 0);
	}
	cr_assert_eq(jst_status(r, hs[0], &old), 0);
	cr_assert_eq(jst_error_view(r, &old, 0, &v), 0);
	assert_view_str(v.message, "the first", "message", 0);
	cr_assert_eq(jst_error_view_check(&v), 0);
	/* Enough errors that every block of the pool, the viewed one too, is reused. */
	for (n = 1; n <= 2 * (JST_ERRORS_KEPT + 4); n++) {
		struct jst_error e = {.message_id = "ID1", .message = msg};

		snprintf(msg, sizeof(msg), "error %u", n);
		cr_assert_eq(jst_pub_publish(seg.pub, hs[0],
					     &(struct jst_pub_change){.error = &e}), 0);
		nanosleep(&(struct timespec){0, 1000}, NULL); /* past the 1 ns grace period */
	}
	cr_assert_eq(jst_error_view_check(&v), JST_EAGAIN,
		     "the viewed block was rewritten: whatever was read through it is void");
	cr_assert_eq(jst_error_view(r, &old, 0, &v2), JST_EAGAIN,
		     "a view from a status whose detail and errors are gone");
	cr_assert_eq(jst_status(r, hs[0], &st), 0);
	cr_assert_eq(jst_error_view(r, &st, st.n_errors - 1u, &v2), 0);
	snprintf(msg, sizeof(msg), "error %u", n - 1);
	assert_view_str(v2.message, msg, "message", 0);
	cr_assert_eq(jst_error_view_check(&v2), 0);
	jst_detach(r);
	test_seg_destroy(&seg);
}

/*
 * The segment is hostile: an error block whose string lies past its text is
 * refused, never handed out as a view reaching beyond the block.
 */
Test(readpath, error_view_refuses_a_string_past_the_blocks_text)
{
	struct test_seg seg;
	jst_handle hs[NJOBS];
	struct jst_error e = {.message_id = "ID0", .message = "a message"};
	struct jst_error_view v;
	struct jst_status st;
	struct jst_shm_header *h;
	struct jst_shm_detail *d;
	struct jst_shm_error *eb;
	struct stat sb;
	uint32_t di;
	jst_reader *r;
	char *base;
	int fd;

	make_jobs(&seg, NULL, hs);
	cr_assert_eq(jst_pub_publish(seg.pub, hs[0], &(struct jst_pub_change){.error = &e}), 0);
	cr_assert_eq(jst_attach(seg.ns, &r), 0);
	cr_assert_eq(jst_status(r, hs[0], &st), 0);
	fd = shm_open(seg.shm, O_RDWR, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(fstat(fd, &sb), 0);
	base = mmap(NULL, (size_t)sb.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_assert_neq(base, MAP_FAILED);
	close(fd);
	h = (struct jst_shm_header *)base;
	di = jst_shm_ref_index(st.internal_detail);
	d = jst_shm_block(base, &h->pools[di & JST_SHM_REF_LARGE ? JST_POOL_DETAIL_LARGE
								 : JST_POOL_DETAIL_SMALL],
			  di & ~(uint32_t)JST_SHM_REF_LARGE);
	eb = jst_shm_block(base, &h->pools[JST_POOL_ERROR], jst_shm_ref_index(d->error_refs[0]));
	eb->str[JST_ESTR_MESSAGE].off = eb->used; /* starts at the end of the text */
	cr_assert_eq(jst_error_view(r, &st, 0, &v), JST_ECORRUPT);
	eb->str[JST_ESTR_MESSAGE].off = 0;
	eb->str[JST_ESTR_MESSAGE].len = eb->used; /* one byte too long: no room for its NUL */
	cr_assert_eq(jst_error_view(r, &st, 0, &v), JST_ECORRUPT);
	eb->n_message_arguments = JST_ERROR_ARGS_MAX + 1;
	eb->str[JST_ESTR_MESSAGE].len = 1;
	cr_assert_eq(jst_error_view(r, &st, 0, &v), JST_ECORRUPT, "more arguments than entries");
	eb->n_message_arguments = 0;
	d->n_errors = JST_ERRORS_KEPT + 1;
	cr_assert_eq(jst_error_view(r, &st, 0, &v), JST_ECORRUPT, "more errors than a detail holds");
	munmap(base, (size_t)sb.st_size);
	jst_detach(r);
	test_seg_destroy(&seg);
}

/* ---- CIM-XML escaping ---- */

/* The escaping render.c did before it was vectorised, byte by byte, as the reference. */
static size_t ref_escape(const char *s, char *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;

	while (*p) {
		uint32_t cp;
		size_t k = utf8_next(p, &cp);
		const char *rep = NULL;

		switch (cp) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&apos;"; break;
		case '\r': rep = "&#13;"; break;
		default:
			if ((cp < 0x20 && cp != '\t' && cp != '\n') || cp == 0xfffe || cp == 0xffff ||
			    (cp == 0xfffd && k == 1))
				rep = "\xef\xbf\xbd";
		}
		if (rep) {
			memcpy(out + n, rep, strlen(rep));
			n += strlen(rep);
		} else {
			memcpy(out + n, p, k);
			n += k;
		}
		p += k;
	}
	out[n] = 0;
	return n;
}

Test(readpath, cimxml_escapes_every_special_byte_wherever_it_falls)
{
	/* Each needs escaping or a look, or sits next to one that does in ASCII. */
	static const char *const specials[] = {"&", "<", ">", "\"", "'", "\r", "\x01", "\x1f",
					       "\x7f", "\t", "\n", "=", "?", "%", "(", ";",
					       "\xc3\xa9", "\xef\xbf\xbe", "\xff", "\xe2\x82\xac"};
	static char msg[128], want[1024], xml[4096], xml2[4096], frag[1200];
	int (*const render[2])(const struct jst_error *, char *, size_t, size_t *) = {
		jst_error_to_cimxml, swar_error_to_cimxml};

	for (unsigned s = 0; s < sizeof(specials) / sizeof(specials[0]); s++) {
		for (unsigned len = 0; len <= 40; len++) {
			for (unsigned at = 0; at <= len; at++) {
				struct jst_error e = {.message_id = "X"};
				size_t sl = strlen(specials[s]);

				memset(msg, 'a', len);
				memcpy(msg + at, specials[s], sl);
				memset(msg + at + sl, 'b', len - at);
				msg[len + sl] = 0;
				e.message = msg;
				ref_escape(msg, want);
				snprintf(frag, sizeof(frag),
					 "<PROPERTY NAME=\"Message\" TYPE=\"string\"><VALUE>%s</VALUE>",
					 want);
				for (unsigned v = 0; v < 2; v++) {
					cr_assert_eq(render[v](&e, xml, sizeof(xml), NULL), 0);
					cr_assert_not_null(strstr(xml, frag),
							   "%s: special %u at %u of %u: got %s",
							   v ? "SWAR" : "SSE2", s, at, len, xml);
				}
				cr_assert_eq(render[1](&e, xml2, sizeof(xml2), NULL), 0);
				cr_assert_str_eq(xml, xml2);
			}
		}
	}
}

Test(readpath, cimxml_numbers_are_decimal_without_snprintf)
{
	struct jst_error e = {.error_type = 0, .perceived_severity = 65535,
			      .probable_cause = 10, .cim_status_code = 4294967295u};
	char xml[4096];

	cr_assert_eq(jst_error_to_cimxml(&e, xml, sizeof(xml), NULL), 0);
	cr_assert_not_null(strstr(xml, "\"ErrorType\" TYPE=\"uint16\"><VALUE>0</VALUE>"));
	cr_assert_not_null(strstr(xml, "\"PerceivedSeverity\" TYPE=\"uint16\"><VALUE>65535<"));
	cr_assert_not_null(strstr(xml, "\"ProbableCause\" TYPE=\"uint16\"><VALUE>10<"));
	cr_assert_not_null(strstr(xml, "\"CIMStatusCode\" TYPE=\"uint32\"><VALUE>4294967295<"));
}
