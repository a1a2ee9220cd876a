/* SPDX-License-Identifier: MIT */
/*
 * test_wait.c - proves jst_wait_changes(): it returns at once when changes
 * are there, times out when none come, wakes on a publication in another
 * process without losing a wake over hundreds of rounds, costs the writer one
 * syscall per flush however many changes it carries, and nothing another
 * user does (a second uid in the segment's group) delays a waiter.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <time.h>

#include "read-internal.h"
#include "testutil.h"

static struct test_seg seg;
static jst_reader *rd;
static jst_handle job;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void setup(void)
{
	struct jst_status st;

	test_seg_create(&seg, "wait", NULL);
	test_status_fill(&st, 1);
	cr_assert_eq(jst_pub_job_create(seg.pub, "org:w", &st, NULL, &job), 0);
	cr_assert_eq(jst_attach(seg.ns, &rd), 0);
}

static void teardown(void)
{
	jst_detach(rd);
	test_seg_destroy(&seg);
}

static void publish(uint64_t c)
{
	struct jst_status st;

	test_status_fill(&st, c);
	cr_assert_eq(jst_pub_publish(seg.pub, job, &(struct jst_pub_change){.status = &st}), 0);
	jst_pub_flush(seg.pub); /* what jobstatd does at the end of each loop turn */
}

TestSuite(wait, .init = setup, .fini = teardown);

Test(wait, returns_at_once_when_changes_are_there)
{
	uint64_t cursor = jst_change_seq(rd);

	publish(2);
	cr_assert_eq(jst_wait_changes(rd, cursor, 10ll * 1000000000), 0);
	cr_assert_eq(jst_wait_changes(rd, cursor, 0), 0);
}

/* A monitor waiting while nothing happens sleeps: it burns no CPU. */
Test(wait, a_waiting_monitor_uses_no_cpu_while_nothing_changes)
{
	struct rusage ru;
	int fd, status;
	pid_t pid = test_fork_piped(&fd);

	if (pid == 0) {
		jst_reader *r;

		if (jst_attach(seg.ns, &r) != 0)
			_exit(3);
		/* A second of nothing, then the change log says nothing came. */
		if (jst_wait_changes(r, jst_change_seq(r), 1000ll * 1000000) != JST_ETIMEDOUT)
			_exit(4);
		_exit(0);
	}
	cr_assert_eq(wait4(pid, &status, 0, &ru), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%#x", status);
	/* Attaching and exiting cost a little; a polling loop would cost the whole second. */
	cr_assert_lt(ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1000000 +
			     ru.ru_stime.tv_usec,
		     50000, "the waiter used %ld us of user and %ld us of system time",
		     (long)ru.ru_utime.tv_usec, (long)ru.ru_stime.tv_usec);
	close(fd);
}

Test(wait, times_out_when_nothing_changes)
{
	uint64_t cursor = jst_change_seq(rd), t0;

	cr_assert_eq(jst_wait_changes(rd, cursor, 0), JST_ETIMEDOUT, "0 only checks");
	t0 = mono_ns();
	cr_assert_eq(jst_wait_changes(rd, cursor, 50 * 1000 * 1000), JST_ETIMEDOUT);
	cr_assert_geq(mono_ns() - t0, 45 * 1000 * 1000, "returned before its timeout");
}

/* Publishing makes no syscall; a flush makes one wake for all changes since the last. */
Test(wait, a_flush_costs_one_wake_however_many_changes)
{
	struct jst_pub_stats ps;
	struct jst_status st;
	uint64_t before;

	jst_pub_stats(seg.pub, &ps);
	before = ps.wakes;
	for (uint64_t c = 0; c < 10000; c++) {
		test_status_fill(&st, c);
		cr_assert_eq(jst_pub_publish(seg.pub, job, &(struct jst_pub_change){.status = &st}), 0);
	}
	jst_pub_stats(seg.pub, &ps);
	cr_assert_eq(ps.wakes, before, "publishing alone makes no wake");
	jst_pub_flush(seg.pub);
	jst_pub_flush(seg.pub);
	jst_pub_stats(seg.pub, &ps);
	cr_assert_eq(ps.wakes, before + 1, "one wake for 10,000 changes, none for no change");
}

/*
 * A waiter in another process, woken round after round: a lost wake (the
 * writer missing a waiter that registered as it published) would show as a
 * round that only ends at the 5 s timeout.
 */
Test(wait, every_publication_wakes_a_waiter_in_another_process, .timeout = 120)
{
	enum { ROUNDS = 300 };
	struct jst_pub_stats ps;
	int fd, status;
	uint64_t cursor = jst_change_seq(rd);
	pid_t pid = test_fork_piped(&fd);

	if (pid == 0) {
		jst_reader *r;
		char go = 1;

		if (jst_attach(seg.ns, &r) != 0)
			_exit(3);
		for (unsigned i = 0; i < ROUNDS; i++) {
			uint64_t t0 = mono_ns();

			if (write(fd, &go, 1) != 1) /* "I am about to wait" */
				_exit(4);
			if (jst_wait_changes(r, cursor, 2ll * 1000000000) != 0)
				_exit(5); /* timed out: a wake was lost */
			if (mono_ns() - t0 > 1000000000ull)
				_exit(6); /* woken only by chance, a second late */
			cursor = jst_change_seq(r);
		}
		_exit(0);
	}
	for (unsigned i = 0; i < ROUNDS; i++) {
		char go;

		if (read(fd, &go, 1) != 1)
			break; /* the waiter gave up: its exit status says why */
		/* Vary the moment of publication around the waiter's registration. */
		if (i % 3 == 1)
			usleep(200);
		else if (i % 3 == 2)
			usleep(2000);
		publish(100 + i);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status), "waiter died: %#x", status);
	cr_assert_eq(WEXITSTATUS(status), 0, "waiter exit %d (5, 6: a wake was lost)",
		     WEXITSTATUS(status));
	close(fd);
	jst_pub_stats(seg.pub, &ps);
	cr_assert_gt(ps.wakes, 0, "the writer woke the sleeping waiter");
	cr_assert_leq(ps.wakes, ROUNDS, "one wake at most per publication");
}

/*
 * The attacker: a second uid in the segment's group, so it may read the
 * segment (on 0.1.0 it could also write the wait object's waiter count).
 * It does everything it can to make a waiter miss a change: zero (or
 * scribble) any wait object it can open, squat the old wait object's name,
 * and storm the futex word with wakes. A waiter with no timeout must still
 * see each change within the bound.
 */
#define WAKE_BOUND_NS (100ull * 1000 * 1000)

static void attacker(const char *shm, int fd)
{
	char wname[JST_SHM_NAME_MAX + 8];
	jst_reader *r;
	char go = 1;

	if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)
		_exit(20);
	if (shm_open(shm, O_RDWR, 0) >= 0)
		_exit(21); /* the segment must not be writable to it */
	if (jst_attach_shm(shm, &r) != 0)
		_exit(22); /* it is a legitimate reader otherwise */
	snprintf(wname, sizeof(wname), "%s.wait", shm);
	if (write(fd, &go, 1) != 1)
		_exit(23);
	for (;;) {
		int wfd = shm_open(wname, O_RDWR | O_CREAT, 0666);

		if (wfd >= 0) {
			/* Whatever object is there (0.1.0's, or one we planted): zero it. */
			void *m = ftruncate(wfd, 4096) == 0
					  ? mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, wfd, 0)
					  : MAP_FAILED;

			if (m != MAP_FAILED) {
				memset(m, 0, 4096);
				munmap(m, 4096);
			}
			close(wfd);
		}
		syscall(SYS_futex, &r->hdr->change_futex,
			FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
	}
}

Test(wait, another_user_cannot_delay_a_waiter, .timeout = 60)
{
	enum { ROUNDS = 40 };
	struct test_seg gs;
	struct jst_pub_config cfg = {.capacity = 64, .mode = 0640, .set_group = true, .gid = 65534};
	struct jst_status st;
	jst_handle h;
	int afd, wfd, status;
	pid_t att, waiter;
	char go;

	if (geteuid() != 0)
		cr_skip_test("needs root to play a second uid");
	test_seg_create(&gs, "waitatt", &cfg);
	test_status_fill(&st, 1);
	cr_assert_eq(jst_pub_job_create(gs.pub, "org:att", &st, NULL, &h), 0);
	jst_pub_flush(gs.pub);
	att = test_fork_piped(&afd);
	if (att == 0)
		attacker(gs.shm, afd);
	cr_assert_eq(read(afd, &go, 1), 1, "the attacker could not start (exit codes 20-23)");
	waiter = test_fork_piped(&wfd);
	if (waiter == 0) {
		jst_reader *r;

		if (jst_attach_shm(gs.shm, &r) != 0)
			_exit(3);
		for (unsigned i = 0; i < ROUNDS; i++) {
			uint64_t cursor = jst_change_seq(r), t0;

			if (write(wfd, &cursor, sizeof(cursor)) != sizeof(cursor))
				_exit(4);
			if (jst_wait_changes(r, cursor, -1) != 0) /* no timeout at all */
				_exit(5);
			t0 = mono_ns();
			if (write(wfd, &t0, sizeof(t0)) != sizeof(t0))
				_exit(6);
		}
		_exit(0);
	}
	for (unsigned i = 0; i < ROUNDS; i++) {
		uint64_t cursor, published, woke;

		cr_assert_eq(read(wfd, &cursor, sizeof(cursor)), sizeof(cursor));
		usleep(i % 2 ? 3000 : 300); /* let it sleep, mostly */
		test_status_fill(&st, 100 + i);
		cr_assert_eq(jst_pub_publish(gs.pub, h, &(struct jst_pub_change){.status = &st}), 0);
		published = mono_ns();
		jst_pub_flush(gs.pub);
		/* A waiter that missed its wake never writes: the test's timeout fails it. */
		cr_assert_eq(read(wfd, &woke, sizeof(woke)), sizeof(woke), "round %u", i);
		cr_assert_lt(woke - published, WAKE_BOUND_NS,
			     "round %u: the waiter saw the change %llu ms late", i,
			     (unsigned long long)((woke - published) / 1000000));
	}
	cr_assert_eq(waitpid(waiter, &status, 0), waiter);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "waiter: %#x", status);
	kill(att, SIGKILL);
	waitpid(att, NULL, 0);
	close(afd);
	close(wfd);
	{
		char wname[JST_SHM_NAME_MAX + 8];

		snprintf(wname, sizeof(wname), "%s.wait", gs.shm);
		shm_unlink(wname);
	}
	test_seg_destroy(&gs);
}
