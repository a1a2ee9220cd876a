/* SPDX-License-Identifier: MIT */
/*
 * test_counters.c - the segment's cumulative counters: each writer call
 * raises exactly its counter, job types beyond the table share the last
 * row, the values survive kill -9 of the writer and adoption and never go
 * back, a reader sees them whole while they change, and reading them makes
 * no syscall.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "counters.h"
#include "testutil.h"

/*
 * The segment's header mapped read-write a second time: to check what the
 * writer stored, and to play a scribbler the writer must not read back.
 */
static struct jst_shm_header *map_header(const char *shm)
{
	int fd = shm_open(shm, O_RDWR, 0);
	void *m;

	cr_assert_geq(fd, 0, "shm_open %s", shm);
	m = mmap(NULL, JST_SHM_HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	cr_assert_neq(m, MAP_FAILED);
	return m;
}

static struct jst_counters read_counters(const char *shm)
{
	struct jst_counters c;
	jst_reader *r;

	cr_assert_eq(jst_attach_shm(shm, &r), 0);
	cr_assert_eq(jst_counters(r, &c), 0);
	jst_detach(r);
	return c;
}

/* The row of @type in @c, or NULL. */
static const struct jst_counters_type *row_of(const struct jst_counters *c, uint16_t type)
{
	for (unsigned i = 0; i < c->n_types; i++)
		if (!c->types[i].other && c->types[i].job_type == type)
			return &c->types[i];
	return NULL;
}

Test(counters, a_new_segment_counts_nothing_and_says_so)
{
	struct test_seg seg;
	struct jst_counters c;
	struct jst_info info;
	jst_reader *r;

	test_seg_create(&seg, "ctr-zero", NULL);
	cr_assert_eq(jst_attach_shm(seg.shm, &r), 0);
	cr_assert_eq(jst_info(r, &info), 0);
	cr_assert_eq(info.version_minor, JST_SHM_VERSION_MINOR);
	cr_assert_geq(info.version_minor, 2, "the counters are format 1.2");
	memset(&c, 0xa5, sizeof(c));
	cr_assert_eq(jst_counters(r, &c), 0);
	cr_assert_eq(c.jobs_created, 0);
	cr_assert_eq(c.n_types, 0);
	cr_assert_eq(c.gauges_ns, 0);
	for (unsigned i = 0; i < JST_COUNTERS_RSC; i++)
		cr_assert_eq(c.rsc[i], 0);
	cr_assert_eq(jst_counters(r, NULL), JST_EINVAL);
	cr_assert_eq(jst_counters(NULL, &c), JST_EINVAL);
	jst_detach(r);
	test_seg_destroy(&seg);
}

Test(counters, each_event_raises_exactly_its_counter)
{
	static const uint16_t final[] = JST_COUNTERS_FINAL_STATES;
	static const uint32_t codes[] = JST_COUNTERS_RSC_CODES;
	struct test_seg seg;
	struct jst_shm_header *h;
	struct jst_counters_writer *w;
	struct jst_counters c;
	const struct jst_counters_type *t;

	test_seg_create(&seg, "ctr-each", NULL);
	h = map_header(seg.shm);
	w = jst_pub_counters(seg.pub);
	jst_counters_add(w, JST_COUNTER_JOBS_CREATED, 5);
	jst_counters_add(w, JST_COUNTER_JOBS_CREATED, 2);
	jst_counters_add(w, JST_COUNTER_SESSIONS_LOST, 1);
	jst_counters_add(w, (enum jst_counter)99, 1000); /* unknown: ignored */
	/* Jobs of type 7 finished in every final state k + 1 times; Running is not final. */
	for (unsigned k = 0; k < JST_COUNTERS_FINAL; k++)
		for (unsigned n = 0; n <= k; n++)
			jst_counters_finished(w, final[k], 7);
	jst_counters_finished(w, JST_JOB_RUNNING, 7);
	jst_counters_finished(w, JST_JOB_EXCEPTION, 0);
	for (uint16_t sev = 0; sev <= 9; sev++)
		jst_counters_error(w, sev); /* 8 and 9 both land in "other" */
	jst_counters_error(w, 6);
	for (unsigned i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		jst_counters_rsc(w, codes[i]);
	jst_counters_rsc(w, 4097);
	jst_counters_rsc(w, 7);
	jst_counters_rsc(w, 32769);
	jst_counters_refused(w, JST_REFUSAL_SEGMENT_FULL);
	jst_counters_refused(w, JST_REFUSAL_QUOTA);
	jst_counters_refused(w, JST_REFUSAL_QUOTA);
	jst_counters_refused(w, 77); /* unknown: ignored */

	c = read_counters(seg.shm);
	cr_assert_eq(c.jobs_created, 7);
	cr_assert_eq(c.sessions_lost, 1);
	cr_assert_eq(c.n_types, 2, "types 7 and 0, in order of first use");
	t = row_of(&c, 7);
	cr_assert_not_null(t);
	cr_assert_eq(t, &c.types[0]);
	for (unsigned k = 0; k < JST_COUNTERS_FINAL; k++)
		cr_assert_eq(t->finished[k], k + 1, "final state %u", final[k]);
	t = row_of(&c, 0);
	cr_assert_not_null(t);
	cr_assert_eq(t->finished[JST_SHM_CTR_EXCEPTION], 1);
	cr_assert_eq(t->finished[JST_SHM_CTR_COMPLETED], 0);
	for (unsigned sev = 0; sev < 8; sev++)
		cr_assert_eq(c.errors[sev], sev == 6 ? 2u : 1u, "severity %u", sev);
	cr_assert_eq(c.errors[8], 2, "severities beyond 7 count together");
	for (unsigned i = 0; i < JST_COUNTERS_RSC - 1; i++)
		cr_assert_eq(c.rsc[i], codes[i] == 4097 ? 2u : 1u, "code %u", codes[i]);
	cr_assert_eq(c.rsc[JST_COUNTERS_RSC - 1], 2, "7 and 32769 count as other");
	cr_assert_eq(c.refusals[JST_REFUSAL_SEGMENT_FULL], 1);
	cr_assert_eq(c.refusals[JST_REFUSAL_CLIENTS], 0);
	cr_assert_eq(c.refusals[JST_REFUSAL_QUOTA], 2);
	munmap(h, JST_SHM_HEADER_SIZE);
	test_seg_destroy(&seg);
}

Test(counters, job_types_beyond_the_table_share_the_last_row)
{
	struct test_seg seg;
	struct jst_shm_header *h;
	struct jst_counters_writer *w;
	struct jst_counters c;
	uint64_t total = 0;

	test_seg_create(&seg, "ctr-types", NULL);
	h = map_header(seg.shm);
	w = jst_pub_counters(seg.pub);
	for (uint16_t type = 100; type < 140; type++) /* 40 types: 31 rows, then 9 share */
		for (uint16_t n = 0; n < 2; n++)
			jst_counters_finished(w, JST_JOB_COMPLETED, type);
	jst_counters_finished(w, JST_JOB_KILLED, 100); /* a type with a row keeps it */
	c = read_counters(seg.shm);
	cr_assert_eq(c.n_types, JST_COUNTERS_TYPES);
	for (unsigned i = 0; i < JST_COUNTERS_TYPES - 1; i++) {
		cr_assert_not(c.types[i].other);
		cr_assert_eq(c.types[i].job_type, 100 + i);
		cr_assert_eq(c.types[i].finished[JST_SHM_CTR_COMPLETED], 2);
	}
	cr_assert(c.types[JST_COUNTERS_TYPES - 1].other);
	cr_assert_eq(c.types[JST_COUNTERS_TYPES - 1].finished[JST_SHM_CTR_COMPLETED], 9 * 2);
	cr_assert_eq(c.types[0].finished[JST_SHM_CTR_KILLED], 1);
	for (unsigned i = 0; i < c.n_types; i++)
		total += c.types[i].finished[JST_SHM_CTR_COMPLETED];
	cr_assert_eq(total, 80, "no finished job is lost or counted twice");
	munmap(h, JST_SHM_HEADER_SIZE);
	test_seg_destroy(&seg);
}

Test(counters, gauges_and_pool_use_come_from_the_segment)
{
	struct jst_pub_config cfg = {.capacity = 64, .errors = 100};
	const uint32_t in_use[JST_POOL_COUNT] = {12, 11, 0, 100000};
	struct jst_error e = {.message_id = "JST1"};
	struct test_seg seg;
	struct jst_shm_header *h;
	struct jst_counters_writer *w;
	struct jst_counters c;
	struct jst_status st = {.job_state = JST_JOB_RUNNING};
	jst_handle hd;
	char id[32];

	test_seg_create(&seg, "ctr-gauges", &cfg);
	h = map_header(seg.shm);
	w = jst_pub_counters(seg.pub);
	for (unsigned i = 0; i < 10; i++) {
		snprintf(id, sizeof(id), "jobstat:g%u", i);
		cr_assert_eq(jst_pub_job_create(seg.pub, id, &st, NULL, &hd), 0);
	}
	cr_assert_eq(jst_pub_publish(seg.pub, hd, &(struct jst_pub_change){.error = &e}), 0);
	jst_counters_gauges(w, 3, 2, in_use, 12345);
	c = read_counters(seg.shm);
	cr_assert_eq(c.connections, 3);
	cr_assert_eq(c.sessions, 2);
	cr_assert_eq(c.gauges_ns, 12345);
	cr_assert_eq(c.pools[JST_POOL_STATUS].blocks, h->pools[JST_POOL_STATUS].count - 1);
	cr_assert_eq(c.pools[JST_POOL_STATUS].block_size, JST_SHM_STATUS_SIZE);
	cr_assert_eq(c.pools[JST_POOL_STATUS].in_use, 12);
	cr_assert_eq(c.pools[JST_POOL_DETAIL_SMALL].in_use, 11);
	cr_assert_eq(c.pools[JST_POOL_ERROR].blocks, h->pools[JST_POOL_ERROR].count - 1);
	cr_assert_eq(c.pools[JST_POOL_ERROR].in_use, c.pools[JST_POOL_ERROR].blocks,
		     "clamped to the pool's blocks");
	/* The high-water mark: 10 creates and an error's republish, at least 11 status blocks. */
	cr_assert_geq(c.pools[JST_POOL_STATUS].touched, 11);
	cr_assert_eq(c.pools[JST_POOL_ERROR].touched, 1);
	cr_assert_str_eq(jst_pool_name(JST_POOL_DETAIL_LARGE), "detail_large");
	cr_assert_str_eq(jst_pool_name(JST_POOLS), "?");
	munmap(h, JST_SHM_HEADER_SIZE);
	test_seg_destroy(&seg);
}

/* What a writer process counts before it is killed; the test counts on after adoption. */
static void count_some(struct jst_counters_writer *w, unsigned round)
{
	jst_counters_add(w, JST_COUNTER_JOBS_CREATED, 10);
	jst_counters_finished(w, JST_JOB_EXCEPTION, (uint16_t)(round % 3));
	jst_counters_error(w, 7);
	jst_counters_rsc(w, 4096);
	jst_counters_add(w, JST_COUNTER_SESSIONS_LOST, 1);
}

Test(counters, survive_kill9_of_the_writer_and_adoption_and_never_go_back)
{
	struct jst_pub_config cfg = {.capacity = 64};
	struct test_seg seg;
	struct jst_counters before, after;
	jst_reader *monitor;

	snprintf(seg.ns, sizeof(seg.ns), "test-ctr-kill-%ld", (long)getpid());
	cr_assert_eq(jst_shm_name(seg.ns, seg.shm, sizeof(seg.shm)), 0);
	cfg.shm_name = seg.shm;
	memset(&before, 0, sizeof(before));
	for (unsigned round = 0; round < 4; round++) {
		struct jst_pub *pub = NULL;
		int fd, status;
		char ready;
		pid_t pid = test_fork_piped(&fd);

		if (pid == 0) {
			/* The writer: create or adopt, count, say so, and wait to be killed. */
			int rc = round == 0 ? jst_pub_create(&cfg, &pub) : jst_pub_adopt(&cfg, &pub);
			if (rc < 0)
				_exit(2);
			for (unsigned k = 0; k <= round; k++)
				count_some(jst_pub_counters(pub), round);
			if (write(fd, "x", 1) != 1)
				_exit(3);
			for (;;)
				pause();
		}
		cr_assert_eq(read(fd, &ready, 1), 1, "writer %u did not start", round);
		close(fd);
		if (round == 0)
			cr_assert_eq(jst_attach_shm(seg.shm, &monitor), 0); /* reads across all */
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		cr_assert(WIFSIGNALED(status));
		cr_assert_eq(jst_counters(monitor, &after), 0);
		cr_assert_eq(after.jobs_created, before.jobs_created + 10 * (round + 1),
			     "round %u: every count of the killed writer is there", round);
		cr_assert_eq(after.errors[7], before.errors[7] + round + 1);
		cr_assert_eq(after.rsc[7], before.rsc[7] + round + 1, "4096 is the 8th bucket");
		cr_assert_eq(after.sessions_lost, before.sessions_lost + round + 1);
		cr_assert_geq(after.n_types, before.n_types);
		before = after;
	}
	/* A fresh reader after the last crash sees the same, and adoption keeps it. */
	after = read_counters(seg.shm);
	cr_assert_eq(after.jobs_created, 10 * (1 + 2 + 3 + 4));
	{
		struct jst_pub *pub;
		uint64_t exc = 0;

		cr_assert_eq(jst_pub_adopt(&cfg, &pub), 0);
		after = read_counters(seg.shm);
		cr_assert_eq(after.jobs_created, 100, "adoption does not reset them");
		for (unsigned i = 0; i < after.n_types; i++)
			exc += after.types[i].finished[JST_SHM_CTR_EXCEPTION];
		cr_assert_eq(exc, 10);
		cr_assert_eq(after.n_types, 3, "types 0, 1 and 2");
		jst_pub_close(pub, true);
	}
	jst_detach(monitor);
}

Test(counters, a_reader_sees_each_counter_whole_and_rising_while_it_changes)
{
	struct test_seg seg;
	struct jst_counters_writer *w;
	jst_reader *r;
	uint64_t last = 0, last_fin = 0, reads = 0;
	int status;
	pid_t pid;

	test_seg_create(&seg, "ctr-race", NULL);
	cr_assert_eq(jst_attach_shm(seg.shm, &r), 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		w = jst_pub_counters(seg.pub);
		for (uint64_t i = 0; i < 2000000; i++) {
			/* Large steps, so a torn word would show as a jump or a fall. */
			jst_counters_add(w, JST_COUNTER_JOBS_CREATED, UINT64_C(0x100000001));
			if (i % 64 == 0)
				jst_counters_finished(w, JST_JOB_COMPLETED, (uint16_t)(i / 64 % 40));
		}
		_exit(0);
	}
	while (waitpid(pid, &status, WNOHANG) == 0) {
		struct jst_counters c;
		uint64_t fin = 0;

		cr_assert_eq(jst_counters(r, &c), 0);
		cr_assert_geq(c.jobs_created, last, "went back: %#lx after %#lx",
			      (unsigned long)c.jobs_created, (unsigned long)last);
		cr_assert_eq(c.jobs_created % UINT64_C(0x100000001), 0, "torn: %#lx",
			     (unsigned long)c.jobs_created);
		for (unsigned i = 0; i < c.n_types; i++)
			fin += c.types[i].finished[JST_SHM_CTR_COMPLETED];
		cr_assert_geq(fin, last_fin, "finished jobs went back");
		last = c.jobs_created;
		last_fin = fin;
		reads++;
	}
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cr_assert_gt(reads, 10);
	cr_assert_eq(last_fin <= 2000000 / 64, true);
	jst_detach(r);
	test_seg_destroy(&seg);
}

static struct jst_counters sandboxed_counters;

Test(counters, reading_them_makes_no_syscall)
{
	struct test_seg seg;
	struct jst_shm_header *h;
	struct jst_counters_writer *w;
	int fd, status;
	pid_t pid;

	test_seg_create(&seg, "ctr-seccomp", NULL);
	h = map_header(seg.shm);
	w = jst_pub_counters(seg.pub);
	jst_counters_add(w, JST_COUNTER_JOBS_CREATED, 42);
	jst_counters_finished(w, JST_JOB_EXCEPTION, 9);
	pid = test_fork_piped(&fd);
	if (pid == 0) {
		jst_reader *r;
		int rc = 0;

		if (jst_attach_shm(seg.shm, &r) != 0)
			syscall(SYS_exit, 3);
		if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT) != 0)
			syscall(SYS_exit, 4);
		for (unsigned i = 0; i < 1000 && rc == 0; i++)
			rc = jst_counters(r, &sandboxed_counters);
		if (rc != 0 || write(fd, &sandboxed_counters, sizeof(sandboxed_counters)) !=
				       (ssize_t)sizeof(sandboxed_counters))
			syscall(SYS_exit, 5);
		syscall(SYS_exit, 0);
	}
	waitpid(pid, &status, 0);
	cr_assert_not(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		      "jst_counters() made a syscall: seccomp killed the reader");
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
	cr_assert_eq(read(fd, &sandboxed_counters, sizeof(sandboxed_counters)),
		     (ssize_t)sizeof(sandboxed_counters));
	cr_assert_eq(sandboxed_counters.jobs_created, 42);
	cr_assert_eq(sandboxed_counters.types[0].job_type, 9);
	close(fd);
	munmap(h, JST_SHM_HEADER_SIZE);
	test_seg_destroy(&seg);
}

Test(counters, the_writer_counts_from_private_memory_not_from_the_segment)
{
	struct test_seg seg;
	struct jst_shm_header *h;
	struct jst_counters_writer *w;
	struct jst_counters c;

	test_seg_create(&seg, "ctr-private", NULL);
	h = map_header(seg.shm);
	w = jst_pub_counters(seg.pub);
	jst_counters_add(w, JST_COUNTER_JOBS_CREATED, 5);
	jst_counters_finished(w, JST_JOB_COMPLETED, 3);
	/* Someone else's bytes in the segment: a count and a row's key. */
	uatomic_set(&h->counters.jobs_created, UINT64_C(1000000));
	uatomic_set(&h->counters.types[0].key, 77);
	/* Stores by an outside writer: no order needed, the daemon must not load them. */
	uatomic_set(&h->counters.types[1].key, 98 + 1);
	jst_counters_add(w, JST_COUNTER_JOBS_CREATED, 2);
	jst_counters_finished(w, JST_JOB_COMPLETED, 3);
	jst_counters_finished(w, JST_JOB_COMPLETED, 4);
	c = read_counters(seg.shm);
	cr_assert_eq(c.jobs_created, 7, "5 + 2 from the writer's own count, not 1000000 + 2");
	cr_assert_eq(h->counters.types[0].finished[JST_SHM_CTR_COMPLETED], 2,
		     "type 3 is counted on in the row the writer gave it");
	cr_assert_eq(h->counters.types[1].key, 4 + 1, "type 4 claimed the row the writer knows free");
	cr_assert_eq(h->counters.types[1].finished[JST_SHM_CTR_COMPLETED], 1);
	cr_assert_eq(h->counters.types[2].key, 0, "no row was skipped for the scribbled key");
	munmap(h, JST_SHM_HEADER_SIZE);
	test_seg_destroy(&seg);
}
