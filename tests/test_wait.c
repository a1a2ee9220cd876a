/* SPDX-License-Identifier: MIT */
/*
 * test_wait.c - proves jst_wait_changes(): it returns at once when changes
 * are there, times out when none come, wakes on a publication in another
 * process without losing a wake over hundreds of rounds, costs the writer no
 * syscall while nobody waits, and survives garbage in the wait object.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
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
	cr_assert_eq(jst_pub_set_status(seg.pub, job, &st), 0);
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
	cr_assert_eq(rd->wait->waiters, 0, "the waiter deregistered");
}

Test(wait, nobody_waiting_costs_the_writer_no_syscall)
{
	struct jst_pub_stats ps;

	for (uint64_t c = 0; c < 10000; c++)
		publish(c);
	jst_pub_stats(seg.pub, &ps);
	cr_assert_eq(ps.wakes, 0);
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

/* The wait object is client-writable: garbage there must not hurt the writer or the data. */
Test(wait, garbage_in_the_wait_object_is_harmless)
{
	struct jst_pub_stats ps;
	struct jst_status st;

	memset(rd->wait, 0xA5, JST_SHM_WAIT_SIZE);
	for (uint64_t c = 0; c < 1000; c++)
		publish(c);
	jst_pub_stats(seg.pub, &ps);
	cr_assert_eq(ps.wakes, 1000, "a bogus waiter count only costs wakes");
	cr_assert_eq(jst_status(rd, job, &st), 0);
	cr_assert_eq(test_status_check(&st), 999);
	rd->wait->waiters = 0;
}

Test(wait, reading_works_without_the_wait_object)
{
	char name[JST_SHM_NAME_MAX + 8];
	struct jst_status st;
	jst_reader *r2;

	snprintf(name, sizeof(name), "%s.wait", seg.shm);
	cr_assert_eq(shm_unlink(name), 0);
	cr_assert_eq(jst_attach(seg.ns, &r2), 0);
	cr_assert_eq(jst_status(r2, job, &st), 0);
	cr_assert_eq(jst_wait_changes(r2, jst_change_seq(r2), 3000000), JST_ETIMEDOUT,
		     "it waits, in 1 ms slices");
	cr_assert_eq(jst_wait_changes(r2, jst_change_seq(r2) - 1, 1000), 0,
		     "a change already there needs no wait object");
	{
		/* A change while it sleeps is seen within a slice, though nobody wakes it. */
		uint64_t cursor = jst_change_seq(r2), t0;
		int fd;
		pid_t pid = test_fork_piped(&fd);

		if (pid == 0) {
			usleep(50000);
			publish(4242); /* the child writes through the parent's publisher mapping */
			_exit(0);
		}
		t0 = mono_ns();
		cr_assert_eq(jst_wait_changes(r2, cursor, 2000ll * 1000000), 0);
		cr_assert_lt(mono_ns() - t0, 1000ull * 1000000, "seen long before the timeout");
		waitpid(pid, NULL, 0);
		close(fd);
	}
	jst_detach(r2);
}
