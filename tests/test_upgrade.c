/* SPDX-License-Identifier: MIT */
/*
 * test_upgrade.c - a segment written by an earlier jobstatd is taken over by
 * this one with nothing lost: every job, state, progress, string and retained
 * error, and the jobs go on changing. The fixtures (tests/fixtures/, made by
 * make-fixture.sh with fixture-producer.c) are release 0.1.0's (format 1.1)
 * and the last format 1.4 daemon's. Within a major version the format only
 * adds, so the segment is adopted in place (PROTOCOL.md, "Versions of the
 * format").
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>

#include "testdaemon.h"

static struct test_daemon d;

static void setup(void)
{
	test_daemon_init(&d, "upg");
}

static void teardown(void)
{
	test_daemon_cleanup(&d);
}

TestSuite(upgrade, .init = setup, .fini = teardown, .timeout = 60);

/* Put fixture @name's bytes at d's segment name, as the old daemon left them. */
static void install_fixture(const char *name)
{
	static char buf[16 << 20];
	char cmd[128];
	size_t n;
	FILE *f;
	int fd;

	snprintf(cmd, sizeof(cmd), "gzip -dc tests/fixtures/segment-%s.bin.gz", name);
	f = popen(cmd, "r");
	cr_assert_not_null(f);
	n = fread(buf, 1, sizeof(buf), f);
	cr_assert_eq(pclose(f), 0, "gzip failed (run from the source tree)");
	cr_assert_gt(n, 4096);
	fd = shm_open(d.shm, O_RDWR | O_CREAT | O_EXCL, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, buf, n, 0), (ssize_t)n);
	close(fd);
}

/*
 * Install fixture @name (format 1.@minor), check that a current client reads it
 * as it is, start the daemon on it and check that every job of
 * fixture-producer.c is there and goes on changing.
 */
static void adopt_fixture(const char *name, unsigned minor)
{
	struct jst_status st;
	struct jst_info in;
	struct jst_error e;
	static struct jst_job job;
	jst_handle h[5];
	jst_reader *r;
	jst_conn *c;

	install_fixture(name);
	r = test_attach(&d); /* a current client reads the old format as it is */
	jst_info(r, &in);
	cr_assert_eq(in.version_major, 1);
	cr_assert_eq(in.version_minor, minor, "the fixture is format 1.%u", minor);
	jst_detach(r);
	test_daemon_start(&d);
	r = test_attach(&d);
	jst_info(r, &in);
	cr_assert_eq(in.njobs, 5);
	cr_assert_eq(in.generation, 2, "adopted, not recreated");
	for (int i = 0; i < 5; i++) {
		char id[64];

		snprintf(id, sizeof(id), "fixture:job-%d", i);
		cr_assert_eq(jst_lookup(r, id, &h[i]), 0, "%s lost", id);
		cr_assert_eq(jst_job(r, h[i], &job), 0);
		cr_assert_str_eq(job.name, "fixture job");
		cr_assert_str_eq(job.owner, "fixture owner");
		cr_assert_eq(job.status.job_type, 10 + i);
		cr_assert_eq(job.status.owner_uid, 0);
	}
	cr_assert_eq(test_read(r, h[0]).job_state, JST_JOB_NEW);
	st = test_read(r, h[1]);
	cr_assert_eq(st.job_state, JST_JOB_RUNNING);
	cr_assert_eq(st.percent_complete, 42);
	st = test_read(r, h[2]);
	cr_assert_eq(st.job_state, JST_JOB_COMPLETED);
	cr_assert_eq(st.percent_complete, 100);
	st = test_read(r, h[3]);
	cr_assert_eq(st.job_state, JST_JOB_EXCEPTION);
	cr_assert_eq(st.n_errors, 3);
	for (unsigned k = 0; k < 3; k++) {
		char msg[64];

		snprintf(msg, sizeof(msg), "fixture error %u", k);
		cr_assert_eq(jst_error_read(r, h[3], k, &e), 0);
		cr_assert_str_eq(e.message_id, "FIX0001");
		cr_assert_str_eq(e.message, msg);
		cr_assert_eq(e.perceived_severity, 3);
	}
	cr_assert_eq(test_read(r, h[4]).job_state, JST_JOB_SUSPENDED);
	/* And they go on: root may change any job. */
	c = test_connect(&d, true, 0, NULL, NULL);
	cr_assert_eq(jst_job_set_progress(c, h[1], 77), 0);
	cr_assert_eq(test_read(r, h[1]).percent_complete, 77);
	cr_assert_eq(jst_job_complete(c, h[1]), 0);
	cr_assert_eq(test_read(r, h[1]).job_state, JST_JOB_COMPLETED);
	jst_disconnect(c);
	jst_detach(r);
}

Test(upgrade, a_0_1_0_segment_is_adopted_with_nothing_lost)
{
	adopt_fixture("0.1.0", 1);
}

/*
 * The last 1.4 daemon's segment: 1.4 added the counters (1.3) and the request
 * record (1.4); the counters must carry on from the fixture's, not restart.
 */
Test(upgrade, a_format_1_4_segment_is_adopted_with_nothing_lost)
{
	struct jst_counters k;
	jst_reader *r;

	adopt_fixture("1.4", 4);
	r = test_attach(&d);
	cr_assert_eq(jst_counters(r, &k), 0);
	/* 5 created by the fixture's producer, none since: a restart would say 0. */
	cr_assert_eq(k.jobs_created, 5, "jobs_created %llu", (unsigned long long)k.jobs_created);
	jst_detach(r);
}
