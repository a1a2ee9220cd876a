/* SPDX-License-Identifier: MIT */
/*
 * test_adopt.c - proves a writer can take over a dead writer's segment:
 * after SIGKILL at a random moment, every acknowledged update is there, a
 * monitor attached before the crash reads on without reattaching and is
 * told to rescan, and the generation moves; a live writer's segment and a
 * segment of another format are refused.
 *
 * JST_STRESS_CYCLES (make stress) raises the number of kill/adopt cycles.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

#include "read-internal.h"
#include "testutil.h"

#define NJOBS 64

struct ack {
	uint32_t job;
	uint32_t pad;
	uint64_t c;
};

static char ids[NJOBS][32];

static void strings_for(struct jst_job *j, char *buf, size_t n, uint64_t c)
{
	memset(j, 0, offsetof(struct jst_job, text));
	snprintf(buf, n, "name-%" PRIu64, c);
	j->name = buf;
	j->job_status = buf;
}

/*
 * The writer child: create (cycle 0) or adopt, then publish with counters
 * above every earlier cycle's, acknowledging each update once published.
 * Exit codes say what went wrong; it never returns.
 */
static void writer_main(const char *shm, unsigned cycle, int fd)
{
	struct jst_pub_config cfg = {.shm_name = shm, .capacity = NJOBS * 2};
	static struct jst_job job;
	struct jst_error err = {.message_id = "X1"};
	char sbuf[64], ebuf[64];
	struct jst_pub *pub;
	jst_handle hs[NJOBS];
	struct jst_status st;
	uint64_t c = (uint64_t)(cycle + 1) << 32;

	if (cycle == 0) {
		if (jst_pub_create(&cfg, &pub) != 0)
			_exit(10);
		for (unsigned i = 0; i < NJOBS; i++) {
			test_status_fill(&st, i);
			if (jst_pub_job_create(pub, ids[i], &st, NULL, &hs[i]) != 0)
				_exit(11);
		}
	} else {
		jst_reader *r;

		if (jst_pub_adopt(&cfg, &pub) != 0)
			_exit(12);
		/* Handles are the segment's: look the jobs up as any client would. */
		if (jst_attach_shm(shm, &r) != 0)
			_exit(13);
		for (unsigned i = 0; i < NJOBS; i++)
			if (jst_lookup(r, ids[i], &hs[i]) != 0)
				_exit(14);
		jst_detach(r);
	}
	for (;; c++) {
		unsigned i = (unsigned)(c % NJOBS);
		struct ack a = {.job = i, .c = c};

		test_status_fill(&st, c);
		if (jst_pub_publish(pub, hs[i], &(struct jst_pub_change){.status = &st}) != 0)
			_exit(15);
		if (c % 8 == 0) {
			strings_for(&job, sbuf, sizeof(sbuf), c);
			if (jst_pub_publish(pub, hs[i], &(struct jst_pub_change){.strings = &job}) != 0)
				_exit(16);
		}
		if (c % 32 == 0) {
			snprintf(ebuf, sizeof(ebuf), "err-%" PRIu64, c);
			err.message = ebuf;
			if (jst_pub_publish(pub, hs[i], &(struct jst_pub_change){.error = &err}) != 0)
				_exit(17);
		}
		if (c % 1024 == 0)
			jst_pub_heartbeat(pub);
		/* Acknowledged only once visible, as jobstatd will acknowledge. */
		if (write(fd, &a, sizeof(a)) != (ssize_t)sizeof(a))
			_exit(18);
	}
}

static unsigned cycles(unsigned dflt)
{
	const char *s = getenv("JST_STRESS_CYCLES");

	return s && atoi(s) > 0 ? (unsigned)atoi(s) : dflt;
}

Test(adopt, sigkill_then_adopt_keeps_every_acknowledged_update, .timeout = 900)
{
	static struct jst_job job;
	static struct jst_error err;
	uint64_t acked[NJOBS] = {0}, cursor = 0;
	char ns[64], shm[JST_SHM_NAME_MAX];
	unsigned ncycles = cycles(8);
	jst_reader *mon = NULL;
	unsigned seed = (unsigned)getpid();

	snprintf(ns, sizeof(ns), "test-adopt-%ld", (long)getpid());
	cr_assert_eq(jst_shm_name(ns, shm, sizeof(shm)), 0);
	for (unsigned i = 0; i < NJOBS; i++)
		snprintf(ids[i], sizeof(ids[i]), "org:crash-%u", i);

	for (unsigned cycle = 0; cycle < ncycles; cycle++) {
		struct ack a;
		int fd, status;
		uint64_t t0;
		long run_us = 5000 + rand_r(&seed) % 60000;
		pid_t pid = test_fork_piped(&fd);

		if (pid == 0)
			writer_main(shm, cycle, fd);
		/* Take acknowledgements for a random while, then kill the writer mid-stream. */
		for (t0 = 0; read(fd, &a, sizeof(a)) == (ssize_t)sizeof(a);) {
			acked[a.job] = a.c;
			if (t0 == 0) {
				struct timespec ts;

				clock_gettime(CLOCK_MONOTONIC, &ts);
				t0 = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
				if (!mon) { /* the monitor attaches once, before the first crash */
					cr_assert_eq(jst_attach(ns, &mon), 0);
					cursor = jst_change_seq(mon);
				}
			} else {
				struct timespec ts;

				clock_gettime(CLOCK_MONOTONIC, &ts);
				if ((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000 - t0 >
				    (uint64_t)run_us) {
					kill(pid, SIGKILL);
					break;
				}
			}
		}
		/* Acknowledgements already in the pipe were sent before the kill: they count. */
		while (read(fd, &a, sizeof(a)) == (ssize_t)sizeof(a))
			acked[a.job] = a.c;
		cr_assert_eq(waitpid(pid, &status, 0), pid);
		cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
			  "cycle %u: the writer failed by itself (status %#x: exit %d)", cycle,
			  status, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		close(fd);

		/* Every acknowledged update is there, whole, read through the old mapping. */
		cr_assert_not(jst_daemon_alive(mon) && jst_generation(mon) == cycle + 2);
		for (unsigned i = 0; i < NJOBS; i++) {
			struct jst_status st;
			jst_handle h;

			cr_assert_eq(jst_lookup(mon, ids[i], &h), 0, "cycle %u: %s lost", cycle, ids[i]);
			cr_assert_eq(jst_status(mon, h, &st), 0);
			cr_assert_neq(test_status_check(&st), UINT64_MAX, "torn after the crash");
			cr_assert_geq(test_status_check(&st), acked[i],
				      "cycle %u: job %u lost acknowledged update %" PRIu64, cycle, i,
				      acked[i]);
			if (jst_job(mon, h, &job) == 0 && job.name)
				cr_assert_eq(strncmp(job.name, "name-", 5), 0);
			if (st.n_errors)
				cr_assert_eq(jst_error_read(mon, h, st.n_errors - 1, &err), 0);
		}
		cr_assert_eq(jst_generation(mon), cycle + 1);
	}
	/* The next writer adopts once more: the monitor sees the new generation and a rescan. */
	{
		struct jst_pub_config cfg = {.shm_name = shm};
		struct jst_pub *pub;
		jst_handle got[8];
		size_t n;

		cr_assert_eq(jst_pub_adopt(&cfg, &pub), 0);
		cr_assert_eq(jst_generation(mon), ncycles + 1);
		cr_assert(jst_daemon_alive(mon));
		cr_assert_eq(jst_changes(mon, &cursor, got, 8, &n), JST_EOVERRUN,
			     "a monitor's cursor from before the crash must rescan");
		jst_pub_close(pub, true);
	}
	jst_detach(mon);
}

Test(adopt, a_live_writers_segment_is_refused)
{
	struct jst_pub_config cfg = {.capacity = 16};
	char ns[64], shm[JST_SHM_NAME_MAX], go;
	struct jst_pub *pub;
	int fd, status;
	pid_t pid;

	snprintf(ns, sizeof(ns), "test-adopt-live-%ld", (long)getpid());
	cr_assert_eq(jst_shm_name(ns, shm, sizeof(shm)), 0);
	cfg.shm_name = shm;
	pid = test_fork_piped(&fd);
	if (pid == 0) {
		if (jst_pub_create(&cfg, &pub) != 0)
			_exit(1);
		if (write(fd, "x", 1) != 1)
			_exit(2);
		pause();
		_exit(0);
	}
	cr_assert_eq(read(fd, &go, 1), 1);
	close(fd);
	cr_assert_eq(jst_pub_adopt(&cfg, &pub), JST_EBUSY);
	cr_assert_eq(jst_pub_create(&cfg, &pub), JST_EBUSY);
	kill(pid, SIGKILL);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	/* Dead now: adoptable, and generation 2. */
	cr_assert_eq(jst_pub_adopt(&cfg, &pub), 0);
	jst_pub_close(pub, true);
}

Test(adopt, a_segment_of_another_format_is_refused_then_replaced)
{
	struct jst_pub_config cfg = {.capacity = 16};
	char ns[64], shm[JST_SHM_NAME_MAX];
	struct jst_shm_header *h;
	struct jst_pub *pub;
	struct jst_status st;
	jst_handle jh;
	int fd;

	snprintf(ns, sizeof(ns), "test-adopt-fmt-%ld", (long)getpid());
	cr_assert_eq(jst_shm_name(ns, shm, sizeof(shm)), 0);
	cfg.shm_name = shm;
	cr_assert_eq(jst_pub_adopt(&cfg, &pub), JST_ENOENT);
	cr_assert_eq(jst_pub_create(&cfg, &pub), 0);
	test_status_fill(&st, 5);
	cr_assert_eq(jst_pub_job_create(pub, "org:kept", &st, NULL, &jh), 0);
	jst_pub_close(pub, false); /* a clean stop: adoptable */
	cr_assert_eq(jst_pub_adopt(&cfg, &pub), 0);
	jst_pub_close(pub, false);
	/* The same segment, but as a future major version wrote it. */
	fd = shm_open(shm, O_RDWR, 0);
	cr_assert_geq(fd, 0);
	h = mmap(NULL, sizeof(*h), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	cr_assert_neq(h, MAP_FAILED);
	h->version_major++;
	munmap(h, sizeof(*h));
	cr_assert_eq(jst_pub_adopt(&cfg, &pub), JST_EVERSION, "never misread another format");
	cr_assert_eq(jst_pub_create(&cfg, &pub), 0, "replacing it is an explicit choice");
	jst_pub_close(pub, true);
}

/* A segment with one job (its handle returned), closed as a clean stop leaves it. */
static jst_handle closed_segment(const char *what, char *ns, char *shm,
				 struct jst_pub_config *cfg)
{
	struct jst_status st;
	struct jst_pub *pub;
	jst_handle jh;

	snprintf(ns, 64, "test-adopt-%s-%ld", what, (long)getpid());
	cr_assert_eq(jst_shm_name(ns, shm, JST_SHM_NAME_MAX), 0);
	cfg->shm_name = shm;
	cr_assert_eq(jst_pub_create(cfg, &pub), 0);
	test_status_fill(&st, 5);
	cr_assert_eq(jst_pub_job_create(pub, "org:kept", &st, NULL, &jh), 0);
	jst_pub_close(pub, false);
	return jh;
}

/* Map the header of segment @shm writable, as a test's stand-in for another daemon. */
static struct jst_shm_header *map_header(const char *shm)
{
	struct jst_shm_header *h;
	int fd = shm_open(shm, O_RDWR, 0);

	cr_assert_geq(fd, 0);
	h = mmap(NULL, sizeof(*h), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	cr_assert_neq(h, MAP_FAILED);
	return h;
}

/*
 * Format 1.5's status ring is fixed at creation: a 1.4 segment (whatever its
 * reserved bytes hold) is adopted without one, and its monitors' polls read
 * through the references, losing nothing.
 */
Test(adopt, a_1_4_segment_is_adopted_without_a_ring_and_its_changes_still_read)
{
	struct jst_pub_config cfg = {.capacity = 16};
	char ns[64], shm[JST_SHM_NAME_MAX];
	struct jst_shm_header *h;
	struct jst_status st, got[4];
	struct jst_pub *pub;
	jst_reader *r;
	jst_handle jh;
	uint64_t cursor;
	size_t n;

	jh = closed_segment("14", ns, shm, &cfg);
	h = map_header(shm);
	cr_assert_gt(h->ring_size, 0, "a 1.5 segment has a ring");
	h->version_minor = 4; /* as a 1.4 daemon left it, with bytes in its reserved words */
	h->ring_size = 3;
	h->ring_offset = 12345;
	cr_assert_eq(jst_pub_adopt(&cfg, &pub), 0, "reserved bytes of 1.4 are not a ring");
	/*
	 * The daemon writes 1.5 records from now on and says so (minor 5); the
	 * words it never checked must not then read as a ring (found by review:
	 * with them left, every 1.5 reader's attach failed, or jst_changed()
	 * served statuses that were never published).
	 */
	cr_assert_eq(h->version_minor, 5, "the daemon writes 1.5 from now on");
	cr_assert(h->ring_size == 0 && h->ring_offset == 0, "1.4's reserved words left as a ring");
	cr_assert_eq(jst_attach(ns, &r), 0);
	cr_assert_null(r->ring, "no ring in a 1.4 segment");
	cursor = jst_change_seq(r);
	test_status_fill(&st, 6);
	cr_assert_eq(jst_pub_publish(pub, jh, &(struct jst_pub_change){.status = &st}), 0);
	test_status_fill(&st, 7);
	cr_assert_eq(jst_pub_publish(pub, jh, &(struct jst_pub_change){.status = &st}), 0);
	cr_assert_eq(jst_changed(r, &cursor, got, 4, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(test_status_check(&got[0]), 7, "without a ring: the job now");
	cr_assert_eq(test_status_check(&got[1]), 7);
	jst_detach(r);
	munmap(h, sizeof(*h));
	jst_pub_close(pub, true);
}

/* The ring's fields are hostile input too: adoption refuses them out of place, and says so. */
Test(adopt, a_status_ring_out_of_place_is_refused_and_named)
{
	struct jst_pub_config cfg = {.capacity = 16};
	char ns[64], shm[JST_SHM_NAME_MAX], why[256];
	struct jst_shm_header *h;
	struct jst_pub *pub;
	uint64_t ring_offset;
	uint32_t ring_size;

	closed_segment("ring", ns, shm, &cfg);
	h = map_header(shm);
	ring_offset = h->ring_offset;
	ring_size = h->ring_size;
	cfg.why = why;
	cfg.why_len = sizeof(why);
	h->ring_size = 3;
	cr_assert_eq(jst_pub_adopt(&cfg, &pub), JST_ECORRUPT);
	cr_assert(strstr(why, "status ring (3 entries"), "says what was wrong: %s", why);
	h->ring_size = h->log_size * 2;
	cr_assert_eq(jst_pub_adopt(&cfg, &pub), JST_ECORRUPT, "longer than the log");
	h->ring_size = h->log_size;
	h->ring_offset = h->segment_size;
	cr_assert_eq(jst_pub_adopt(&cfg, &pub), JST_ECORRUPT, "past the end");
	h->ring_offset = h->log_offset;
	cr_assert_eq(jst_pub_adopt(&cfg, &pub), JST_ECORRUPT, "over the change log");
	h->ring_offset = ring_offset;
	h->ring_size = ring_size;
	cr_assert_eq(jst_pub_adopt(&cfg, &pub), 0, "put back, it is adopted");
	munmap(h, sizeof(*h));
	jst_pub_close(pub, true);
}
