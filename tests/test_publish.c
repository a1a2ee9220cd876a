/* SPDX-License-Identifier: MIT */
/*
 * test_publish.c - proves, in one process, what readers see of what the
 * publisher writes: lookup, status, strings, errors, iteration, the change
 * log and its overrun, removal and slot reuse, the index under churn, and a
 * reader that resumes after its version was reclaimed.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "read-internal.h"
#include "testutil.h"

static struct test_seg seg;
static jst_reader *rd;

static void setup(void)
{
	test_seg_create(&seg, "pub", NULL);
	cr_assert_eq(jst_attach(seg.ns, &rd), 0);
}

static void teardown(void)
{
	jst_detach(rd);
	test_seg_destroy(&seg);
}

static jst_handle create(const char *id, uint64_t c)
{
	struct jst_status st;
	jst_handle h;
	int rc;

	test_status_fill(&st, c);
	rc = jst_pub_job_create(seg.pub, id, &st, NULL, &h);
	cr_assert_eq(rc, 0, "create %s: %s", id, jst_strerror(rc));
	return h;
}

TestSuite(publish, .init = setup, .fini = teardown);

Test(publish, lookup_then_status_sees_every_field)
{
	struct jst_status st;
	jst_handle h = create("org:job-1", 1234567), found;

	cr_assert_eq(jst_lookup(rd, "org:job-1", &found), 0);
	cr_assert_eq(found.slot, h.slot);
	cr_assert_eq(found.gen, h.gen);
	cr_assert_eq(jst_status(rd, found, &st), 0);
	cr_assert_eq(test_status_check(&st), 1234567);
	cr_assert_eq(st.handle.slot, h.slot);
	cr_assert_eq(jst_lookup(rd, "org:job-2", &found), JST_ENOJOB);
	cr_assert_eq(jst_lookup(rd, "", &found), JST_ENOJOB);
}

Test(publish, update_is_seen_and_handle_survives_it)
{
	struct jst_status st;
	jst_handle h = create("org:u", 1);

	for (uint64_t c = 2; c < 5000; c++) {
		test_status_fill(&st, c);
		cr_assert_eq(jst_pub_publish(seg.pub, h, &(struct jst_pub_change){.status = &st}), 0);
		cr_assert_eq(jst_status(rd, h, &st), 0);
		cr_assert_eq(test_status_check(&st), c);
	}
}

Test(publish, strings_round_trip_and_null_differs_from_empty)
{
	static struct jst_job in, out;
	jst_handle h = create("org:s", 7);

	in.name = "Backup of /srv — ünïcødé";
	in.job_status = "";
	in.owner = "alice";
	in.n_status_descriptions = 2;
	in.status_descriptions[0] = "OK";
	in.status_descriptions[1] = "Copying";
	cr_assert_eq(jst_pub_publish(seg.pub, h, &(struct jst_pub_change){.strings = &in}), 0);
	cr_assert_eq(jst_job(rd, h, &out), 0);
	cr_assert_str_eq(out.instance_id, "org:s");
	cr_assert_str_eq(out.name, in.name);
	cr_assert_str_eq(out.job_status, "");
	cr_assert_null(out.error_description);
	cr_assert_str_eq(out.owner, "alice");
	cr_assert_eq(out.n_status_descriptions, 2);
	cr_assert_str_eq(out.status_descriptions[1], "Copying");
	cr_assert_eq(test_status_check(&out.status), 7, "strings kept the status");
}

Test(publish, long_strings_use_a_large_block)
{
	static struct jst_job in, out;
	static char name[JST_NAME_MAX + 1], big[JST_NAME_MAX + 2];
	jst_handle h = create("org:big", 9);

	memset(name, 'n', JST_NAME_MAX);
	in.name = name;
	in.error_description = name;
	cr_assert_eq(jst_pub_publish(seg.pub, h, &(struct jst_pub_change){.strings = &in}), 0);
	cr_assert_eq(jst_job(rd, h, &out), 0);
	cr_assert_eq(strlen(out.name), JST_NAME_MAX);
	cr_assert_eq(strlen(out.error_description), JST_NAME_MAX);
	memset(big, 'b', JST_NAME_MAX + 1);
	in.name = big;
	cr_assert_eq(jst_pub_publish(seg.pub, h, &(struct jst_pub_change){.strings = &in}), JST_ETOOLONG);
	cr_assert_eq(jst_job(rd, h, &out), 0, "a refused update loses nothing");
	cr_assert_eq(strlen(out.name), JST_NAME_MAX);
}

Test(publish, bad_input_gets_named_errors)
{
	struct jst_status st;
	static struct jst_job in;
	jst_handle h;
	char id[JST_ID_MAX + 2];

	test_status_fill(&st, 1);
	cr_assert_eq(jst_pub_job_create(seg.pub, "nocolon", &st, NULL, &h), JST_EINSTANCEID);
	cr_assert_eq(jst_pub_job_create(seg.pub, ":local", &st, NULL, &h), JST_EINSTANCEID);
	cr_assert_eq(jst_pub_job_create(seg.pub, "org:", &st, NULL, &h), JST_EINSTANCEID);
	cr_assert_eq(jst_pub_job_create(seg.pub, "org:\xff\xfe", &st, NULL, &h), JST_EUTF8);
	cr_assert_eq(jst_pub_job_create(seg.pub, "org:\xc0\x80", &st, NULL, &h), JST_EUTF8,
		     "overlong encoding");
	cr_assert_eq(jst_pub_job_create(seg.pub, "org:\xed\xa0\x80", &st, NULL, &h), JST_EUTF8,
		     "surrogate");
	memset(id, 'x', sizeof(id) - 1);
	id[3] = ':';
	id[sizeof(id) - 1] = 0;
	cr_assert_eq(jst_pub_job_create(seg.pub, id, &st, NULL, &h), JST_ETOOLONG);
	id[JST_ID_MAX] = 0;
	cr_assert_eq(jst_pub_job_create(seg.pub, id, &st, NULL, &h), 0, "255 bytes is allowed");
	cr_assert_eq(jst_pub_job_create(seg.pub, id, &st, NULL, &h), JST_EEXIST);
	in.name = "bad \x80 byte";
	cr_assert_eq(jst_pub_publish(seg.pub, h, &(struct jst_pub_change){.strings = &in}), JST_EUTF8);
	cr_assert_eq(jst_pub_job_create(seg.pub, "org:x", &st, &in, &h), JST_EUTF8);
	cr_assert_eq(jst_lookup(rd, "org:x", &h), JST_ENOJOB, "a refused create leaves nothing");
}

static void fill_error(struct jst_error *e, unsigned i, char *msg, size_t msglen)
{
	memset(e, 0, offsetof(struct jst_error, text));
	snprintf(msg, msglen, "copy failed <%u> & \"quoted\"", i);
	e->message_id = "JST0042";
	e->message = msg;
	e->owning_entity = "jobstat";
	e->error_type = 4;
	e->perceived_severity = 5;
	e->probable_cause = 47;
	e->cim_status_code = 1;
	e->n_message_arguments = 2;
	e->message_arguments[0] = "arg0";
	e->message_arguments[1] = NULL;
	e->n_recommended_actions = 1;
	e->recommended_actions[0] = "retry";
	e->hresult = 0x80d02014u;
	e->context = 5;
	e->file = "/tmp/x";
}

Test(publish, errors_keep_the_last_eight_oldest_first)
{
	static struct jst_error e, out;
	struct jst_status st;
	char msg[128];
	jst_handle h = create("org:err", 3);

	cr_assert_eq(jst_error_read(rd, h, 0, &out), JST_ENOERROR);
	for (unsigned i = 1; i <= 11; i++) {
		fill_error(&e, i, msg, sizeof(msg));
		cr_assert_eq(jst_pub_publish(seg.pub, h, &(struct jst_pub_change){.error = &e}), 0);
	}
	cr_assert_eq(jst_status(rd, h, &st), 0);
	cr_assert_eq(st.n_errors, JST_ERRORS_KEPT);
	cr_assert_eq(st.errors_total, 11);
	cr_assert_eq(test_status_check(&st), 3, "errors kept the status");
	for (unsigned k = 0; k < JST_ERRORS_KEPT; k++) {
		cr_assert_eq(jst_error_read(rd, h, k, &out), 0);
		cr_assert_eq(out.sequence, 4 + k, "oldest retained first");
		snprintf(msg, sizeof(msg), "copy failed <%u> & \"quoted\"", 4 + k);
		cr_assert_str_eq(out.message, msg);
		cr_assert_str_eq(out.message_id, "JST0042");
		cr_assert_null(out.other_error_type);
		cr_assert_eq(out.n_message_arguments, 2);
		cr_assert_str_eq(out.message_arguments[0], "arg0");
		cr_assert_null(out.message_arguments[1]);
		cr_assert_str_eq(out.recommended_actions[0], "retry");
		cr_assert_eq(out.probable_cause, 47);
		cr_assert_eq(out.hresult, 0x80d02014u);
		cr_assert_str_eq(out.file, "/tmp/x");
	}
	cr_assert_eq(jst_error_read(rd, h, JST_ERRORS_KEPT, &out), JST_ENOERROR);
	e.message_id = NULL;
	cr_assert_eq(jst_pub_publish(seg.pub, h, &(struct jst_pub_change){.error = &e}), JST_EINVAL, "MessageID is required");
}

Test(publish, an_error_carries_16_kib_of_text)
{
	static struct jst_error e, out;
	static char big[16384 + 1], bigger[20480];
	jst_handle h = create("org:big-error", 3);

	memset(big, 'm', 16384);
	memset(&e, 0, sizeof(e));
	e.message_id = "X";
	e.message = big;
	cr_assert_eq(jst_pub_publish(seg.pub, h, &(struct jst_pub_change){.error = &e}), 0);
	cr_assert_eq(jst_error_read(rd, h, 0, &out), 0);
	cr_assert_eq(strlen(out.message), 16384);
	memset(bigger, 'm', sizeof(bigger) - 1);
	e.message = bigger;
	cr_assert_eq(jst_pub_publish(seg.pub, h, &(struct jst_pub_change){.error = &e}), JST_ETOOLONG);
}

/* Resident bytes of the writer's mapping of @shm (the read-write one), from /proc/self/smaps. */
static uint64_t writer_rss(const char *shm)
{
	char line[512], want[JST_SHM_NAME_MAX + 16];
	bool ours = false;
	uint64_t kib = 0;
	FILE *f = fopen("/proc/self/smaps", "r");

	cr_assert_not_null(f);
	snprintf(want, sizeof(want), "/dev/shm%s\n", shm);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char perms[5];
		int path = 0;

		/* A mapping's first line: "lo-hi perms offset dev inode   path". */
		if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %n", &lo, &hi, perms, &path) == 3 && path)
			ours = !strcmp(perms, "rw-s") && !strcmp(line + path, want);
		else if (ours && sscanf(line, "Rss: %" SCNu64 " kB", &kib) == 1)
			break;
	}
	fclose(f);
	return kib * 1024;
}

/* Create @n jobs from @from on, each with one error (a block of the error pool). */
static void create_failed(struct test_seg *t, int from, int n)
{
	struct jst_status st;
	jst_handle h;

	for (int i = from; i < from + n; i++) {
		char id[32];

		snprintf(id, sizeof(id), "org:ahead-%d", i);
		test_status_fill(&st, (uint64_t)i);
		cr_assert_eq(jst_pub_job_create(t->pub, id, &st, NULL, &h), 0);
		cr_assert_eq(jst_pub_publish(t->pub, h, &(struct jst_pub_change){
			.error = &(struct jst_error){.message_id = "AHEAD1"}}), 0);
	}
}

/* Run jst_pub_prepare() until it has nothing left; how many steps it took. */
static int prepare_all(struct test_seg *t)
{
	int steps = 0;

	while (jst_pub_prepare(t->pub, false))
		cr_assert_lt(++steps, 100000, "jst_pub_prepare() never finishes");
	return steps;
}

/*
 * A publication that is first to need a page waited for the kernel to
 * commit it (fallocate, 1 MiB at a time) and to fault it into the writer's
 * mapping: on a fresh daemon that was whichever client came first. With
 * jst_pub_prepare() run between bursts (the daemon runs it when idle), no
 * publication commits anything itself, and the pages are mapped already.
 */
Test(publish, memory_prepared_ahead_leaves_publications_nothing_to_commit)
{
	struct test_seg cold;
	struct jst_pub_stats ps;
	uint64_t rss0, rss1;

	/* Without preparation: 400 jobs with an error each commit as they go. */
	test_seg_create(&cold, "pub-cold", &(struct jst_pub_config){.capacity = 4096});
	create_failed(&cold, 0, 400);
	jst_pub_stats(cold.pub, &ps);
	cr_assert_gt(ps.inline_commits, 0, "the counter counts nothing");
	test_seg_destroy(&cold);

	test_seg_create(&cold, "pub-warm", &(struct jst_pub_config){.capacity = 4096});
	rss0 = writer_rss(cold.shm);
	cr_assert_gt(prepare_all(&cold), 0);
	rss1 = writer_rss(cold.shm);
	cr_assert_geq(rss1, rss0 + (2u << 20), "prepared but not mapped: rss %" PRIu64
		      " -> %" PRIu64, rss0, rss1);
	cr_assert_eq(prepare_all(&cold), 0, "a second round found more to do");
	for (int burst = 0; burst < 8; burst++) { /* 50 errors: 1 MiB of the error pool */
		create_failed(&cold, burst * 50, 50);
		prepare_all(&cold);
	}
	jst_pub_stats(cold.pub, &ps);
	cr_assert_eq(ps.inline_commits, 0, "%" PRIu64 " publications committed memory themselves",
		     ps.inline_commits);
	cr_assert_gt(ps.prepared_steps, 0);
	test_seg_destroy(&cold);
}

Test(publish, iteration_sees_each_live_job_once)
{
	struct jst_status st;
	jst_handle hs[300];
	unsigned seen[300] = {0}, n = 0;
	uint32_t pos = 0;
	char id[32];

	for (unsigned i = 0; i < 300; i++) {
		snprintf(id, sizeof(id), "org:it-%u", i);
		hs[i] = create(id, i);
	}
	for (unsigned i = 0; i < 300; i += 3)
		cr_assert_eq(jst_pub_remove(seg.pub, hs[i]), 0);
	while (jst_next(rd, &pos, &st) == 0) {
		uint64_t c = test_status_check(&st);

		cr_assert_lt(c, 300);
		cr_assert_neq(c % 3, 0, "removed job %lu iterated", (unsigned long)c);
		seen[c]++;
		n++;
	}
	cr_assert_eq(n, 200);
	for (unsigned i = 0; i < 300; i++)
		cr_assert_eq(seen[i], i % 3 ? 1u : 0u);

	/* jst_scan() in batches of 7 sees exactly what jst_next() saw. */
	{
		struct jst_status batch[7];
		size_t got, total = 0;
		unsigned again[300] = {0};

		pos = 0;
		while (jst_scan(rd, &pos, batch, 7, &got) == 0 && got) {
			cr_assert_leq(got, 7);
			for (size_t k = 0; k < got; k++)
				again[test_status_check(&batch[k])]++;
			total += got;
		}
		cr_assert_eq(total, 200);
		cr_assert_eq(memcmp(seen, again, sizeof(seen)), 0);
		cr_assert_eq(jst_scan(rd, &pos, batch, 7, &got), 0);
		cr_assert_eq(got, 0, "the end stays the end");
		cr_assert_eq(jst_scan(rd, NULL, batch, 7, &got), JST_EINVAL);
	}
}

Test(publish, removal_makes_handles_stale_and_reuse_is_detected)
{
	struct jst_status st;
	struct jst_pub_config cfg = {.capacity = 4, .grace_ns = 1};
	struct test_seg s2;
	jst_reader *r2;
	jst_handle old, fresh, h;
	char id[32];

	test_seg_create(&s2, "reuse", &cfg);
	cr_assert_eq(jst_attach(s2.ns, &r2), 0);
	test_status_fill(&st, 1);
	cr_assert_eq(jst_pub_job_create(s2.pub, "org:old", &st, NULL, &old), 0);
	cr_assert_eq(jst_pub_remove(s2.pub, old), 0);
	cr_assert_eq(jst_status(r2, old, &st), JST_ESTALE);
	cr_assert_eq(jst_lookup(r2, "org:old", &h), JST_ENOJOB);
	cr_assert_eq(jst_pub_remove(s2.pub, old), JST_ESTALE);
	/* Fill every slot so the freed one is reused (its 1 ns grace is long over). */
	for (unsigned i = 0; i < 4; i++) {
		snprintf(id, sizeof(id), "org:new-%u", i);
		test_status_fill(&st, 100 + i);
		cr_assert_eq(jst_pub_job_create(s2.pub, id, &st, NULL, &fresh), 0);
		if (fresh.slot == old.slot)
			cr_assert_neq(fresh.gen, old.gen);
	}
	cr_assert_eq(jst_status(r2, old, &st), JST_ESTALE, "an old handle never reads a new job");
	cr_assert_eq(jst_pub_job_create(s2.pub, "org:one-too-many", &st, NULL, &h), JST_ENOSPC);
	jst_detach(r2);
	test_seg_destroy(&s2);
}

Test(publish, index_survives_churn_and_rebuilds)
{
	struct jst_pub_config cfg = {.capacity = 64, .grace_ns = 1};
	struct jst_pub_stats ps;
	struct jst_status st;
	struct test_seg s2;
	jst_reader *r2;
	jst_handle live[32], h;
	char id[32];

	test_seg_create(&s2, "churn", &cfg);
	cr_assert_eq(jst_attach(s2.ns, &r2), 0);
	for (unsigned i = 0; i < 32; i++) {
		snprintf(id, sizeof(id), "org:keep-%u", i);
		test_status_fill(&st, i);
		cr_assert_eq(jst_pub_job_create(s2.pub, id, &st, NULL, &live[i]), 0);
	}
	for (unsigned i = 0; i < 2000; i++) {
		snprintf(id, sizeof(id), "org:tmp-%u", i);
		test_status_fill(&st, 1000 + i);
		cr_assert_eq(jst_pub_job_create(s2.pub, id, &st, NULL, &h), 0, "round %u", i);
		cr_assert_eq(jst_lookup(r2, id, &h), 0);
		cr_assert_eq(jst_pub_remove(s2.pub, h), 0);
	}
	jst_pub_stats(s2.pub, &ps);
	cr_assert_gt(ps.index_rebuilds, 0, "tombstones forced a rebuild");
	for (unsigned i = 0; i < 32; i++) {
		snprintf(id, sizeof(id), "org:keep-%u", i);
		cr_assert_eq(jst_lookup(r2, id, &h), 0, "%s lost", id);
		cr_assert_eq(h.slot, live[i].slot);
		cr_assert_eq(jst_status(r2, h, &st), 0);
		cr_assert_eq(test_status_check(&st), i);
	}
	cr_assert_eq(jst_lookup(r2, "org:tmp-5", &h), JST_ENOJOB);
	jst_detach(r2);
	test_seg_destroy(&s2);
}

Test(publish, change_log_reports_changes_and_overrun)
{
	struct jst_pub_config cfg = {.capacity = 16, .log_size = 16};
	struct jst_status st;
	struct test_seg s2;
	jst_reader *r2;
	jst_handle h, a, b, got[64];
	uint64_t cursor;
	size_t n;

	test_seg_create(&s2, "log", &cfg);
	cr_assert_eq(jst_attach(s2.ns, &r2), 0);
	cursor = jst_change_seq(r2);
	test_status_fill(&st, 1);
	cr_assert_eq(jst_pub_job_create(s2.pub, "org:a", &st, NULL, &a), 0);
	cr_assert_eq(jst_pub_job_create(s2.pub, "org:b", &st, NULL, &b), 0);
	cr_assert_eq(jst_pub_publish(s2.pub, a, &(struct jst_pub_change){.status = &st}), 0);
	cr_assert_eq(jst_changes(r2, &cursor, got, 64, &n), 0);
	cr_assert_eq(n, 3);
	cr_assert_eq(got[0].slot, a.slot);
	cr_assert_eq(got[1].slot, b.slot);
	cr_assert_eq(got[2].slot, a.slot);
	cr_assert_eq(got[2].gen, a.gen);
	cr_assert_eq(jst_changes(r2, &cursor, got, 64, &n), 0);
	cr_assert_eq(n, 0, "caught up");
	/* A bounded batch leaves the cursor where the caller stopped. */
	cr_assert_eq(jst_pub_publish(s2.pub, b, &(struct jst_pub_change){.status = &st}), 0);
	cr_assert_eq(jst_pub_remove(s2.pub, a), 0);
	cr_assert_eq(jst_changes(r2, &cursor, got, 1, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(got[0].slot, b.slot);
	cr_assert_eq(jst_changes(r2, &cursor, got, 64, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(jst_status(r2, got[0], &st), JST_ESTALE, "the removal is a change too");
	/* Lapping the ring is reported, with the cursor moved to the head. */
	for (unsigned i = 0; i < 40; i++)
		cr_assert_eq(jst_pub_publish(s2.pub, b, &(struct jst_pub_change){.status = &st}), 0);
	cr_assert_eq(jst_changes(r2, &cursor, got, 64, &n), JST_EOVERRUN);
	cr_assert_eq(n, 0);
	cr_assert_eq(cursor, jst_change_seq(r2));
	cr_assert_eq(jst_lookup(r2, "org:b", &h), 0);
	jst_detach(r2);
	test_seg_destroy(&s2);
}

/*
 * jst_changed(): one entry per change, in change order, across its internal
 * chunks. With the status ring (format 1.5) each entry is the status its
 * change published; a change the ring no longer holds (or every change, in
 * a segment without a ring) is read through the job: its status now.
 */
enum ring_case { RING_ALL, RING_NONE, RING_LAPPED };

static void changed_case(enum ring_case mode)
{
	/* A lapped ring of 64 still holds creations of jobs that changed again since. */
	enum { N = 100, LAPPED_RING = 64 };
	struct jst_pub_config cfg = {
		.capacity = 1024, .log_size = 1024,
		.ring_size = mode == RING_NONE ? JST_PUB_NO_RING
			     : mode == RING_LAPPED ? LAPPED_RING : 1024,
	};
	struct jst_status st, *out = calloc(4 * N, sizeof(*out));
	struct test_seg s;
	jst_handle h[N];
	jst_reader *r;
	uint64_t cursor;
	size_t n;

	test_seg_create(&s, "changed", &cfg);
	cr_assert_eq(jst_attach(s.ns, &r), 0);
	cursor = jst_change_seq(r);
	for (unsigned i = 0; i < N; i++) {
		char id[32];

		snprintf(id, sizeof(id), "org:changed-%u", i);
		test_status_fill(&st, 1000 + i);
		cr_assert_eq(jst_pub_job_create(s.pub, id, &st, NULL, &h[i]), 0);
	}
	/* Every third job changes again, then one is removed. */
	for (unsigned i = 0; i < N; i += 3) {
		test_status_fill(&st, 5000 + i);
		cr_assert_eq(jst_pub_publish(s.pub, h[i], &(struct jst_pub_change){.status = &st}), 0);
	}
	cr_assert_eq(jst_pub_remove(s.pub, h[1]), 0);
	cr_assert_eq(jst_changed(r, &cursor, out, 4 * N, &n), 0);
	cr_assert_eq(n, N + (N + 2) / 3 + 1, "one entry per change");
	for (unsigned e = 0; e < n; e++) {
		bool in_ring = mode == RING_ALL || (mode == RING_LAPPED && e >= n - LAPPED_RING);
		/* The job of change e, and what that change published. */
		unsigned i = e < N ? e : e < n - 1 ? 3 * (e - N) : 1;
		uint64_t published = e < N ? 1000 + i : 5000 + i;
		uint64_t now = i % 3 == 0 ? 5000 + i : 1000 + i;
		bool removed = e == n - 1 || (!in_ring && i == 1);

		cr_assert_eq(out[e].handle.slot, h[i].slot, "change %u", e);
		if (in_ring || removed)
			cr_assert_eq(out[e].change_seq, cursor - n + e + 1, "change %u: its seq %lu, want %lu", e, (unsigned long)out[e].change_seq, (unsigned long)(cursor - n + e + 1));
		else
			cr_assert_geq(out[e].change_seq, cursor - n + e + 1, "change %u: later", e);
		if (removed) {
			cr_assert_eq(out[e].handle.gen, 0, "change %u: removed, gen 0", e);
			continue;
		}
		cr_assert_eq(out[e].handle.gen, h[i].gen, "change %u", e);
		cr_assert_eq(test_status_check(&out[e]), in_ring ? published : now,
			     "change %u of job %u: %s", e, i,
			     in_ring ? "the ring holds the version it published" : "the job now");
	}
	cr_assert_eq(jst_changed(r, &cursor, out, 4 * N, &n), 0);
	cr_assert_eq(n, 0, "caught up");
	/* A bounded call stops where asked, and the next goes on from there. */
	for (unsigned i = 0; i < 40; i++)
		cr_assert_eq(jst_pub_publish(s.pub, h[2], &(struct jst_pub_change){.status = &st}), 0);
	cr_assert_eq(jst_changed(r, &cursor, out, 33, &n), 0);
	cr_assert_eq(n, 33);
	cr_assert_eq(jst_changed(r, &cursor, out, 33, &n), 0);
	cr_assert_eq(n, 7);
	free(out);
	jst_detach(r);
	test_seg_destroy(&s);
}

Test(publish, changed_gives_each_change_the_status_it_published_from_the_ring)
{
	changed_case(RING_ALL);
}

Test(publish, changed_without_a_ring_reads_each_changed_job_now)
{
	changed_case(RING_NONE);
}

Test(publish, changed_further_behind_than_the_ring_reads_those_jobs_now)
{
	changed_case(RING_LAPPED);
}

/*
 * A reader that loaded a reference, then stalled past the grace period while
 * the writer reused its block, must notice and retry rather than return the
 * new occupant's bytes.
 */
Test(publish, stalled_reader_detects_reclaimed_version)
{
	struct jst_pub_config cfg = {.capacity = 4, .status_spare = 1, .grace_ns = 1};
	struct jst_shm_status copy;
	struct jst_status st;
	struct test_seg s2;
	jst_reader *r2;
	jst_handle h;
	jst_shm_ref ref;

	test_seg_create(&s2, "stall", &cfg);
	cr_assert_eq(jst_attach(s2.ns, &r2), 0);
	test_status_fill(&st, 1);
	cr_assert_eq(jst_pub_job_create(s2.pub, "org:s", &st, NULL, &h), 0);
	ref = uatomic_read(&r2->refs[h.slot]); /* the stalled reader's reference */
	cr_assert_eq(jst_read_block(r2, ref, JST_POOL_STATUS, &copy, sizeof(copy), NULL, 0), 0);
	/* Six status blocks in all: a dozen updates must recycle the reader's block. */
	for (uint64_t c = 2; c < 13; c++) {
		test_status_fill(&st, c);
		cr_assert_eq(jst_pub_publish(s2.pub, h, &(struct jst_pub_change){.status = &st}), 0);
	}
	cr_assert_eq(jst_read_block(r2, ref, JST_POOL_STATUS, &copy, sizeof(copy), NULL, 0),
		     JST_EAGAIN);
	cr_assert_eq(jst_status(r2, h, &st), 0, "a fresh read succeeds");
	cr_assert_eq(test_status_check(&st), 12);
	jst_detach(r2);
	test_seg_destroy(&s2);
}

Test(publish, daemon_liveness_and_generation)
{
	struct jst_info in;

	cr_assert(jst_daemon_alive(rd));
	cr_assert_eq(jst_generation(rd), 1);
	cr_assert_eq(jst_info(rd, &in), 0);
	cr_assert_eq(in.daemon_pid, (uint64_t)getpid());
	cr_assert_eq(in.capacity, 1024);
	cr_assert_eq(in.state, 1);
}

Test(publish, closed_segment_reads_but_is_not_alive)
{
	struct test_seg s2;
	struct jst_status st;
	jst_reader *r2;
	jst_handle h;

	test_seg_create(&s2, "closed", NULL);
	test_status_fill(&st, 77);
	cr_assert_eq(jst_pub_job_create(s2.pub, "org:c", &st, NULL, &h), 0);
	cr_assert_eq(jst_attach(s2.ns, &r2), 0);
	jst_pub_close(s2.pub, true);
	cr_assert_not(jst_daemon_alive(r2));
	cr_assert_eq(jst_status(r2, h, &st), 0, "the data outlives the daemon");
	cr_assert_eq(test_status_check(&st), 77);
	jst_detach(r2);
}

static void on_segv(int sig)
{
	(void)sig;
	_exit(42);
}

/* Clients map job data read-only: a store through the mapping faults. */
Test(publish, client_mapping_is_read_only)
{
	struct sigaction sa = {.sa_handler = on_segv};
	int status;
	pid_t pid;

	create("org:ro", 1);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		volatile uint64_t *refs = (volatile uint64_t *)rd->refs;

		/* Our own handler, so that a sanitizer's SEGV report cannot stand in for it. */
		sigaction(SIGSEGV, &sa, NULL);
		refs[0] = 0; /* must fault */
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 42,
		  "a client's store into job data did not fault (status %#x)", status);
}

Test(publish, null_and_bad_arguments)
{
	struct jst_status st;
	jst_handle h = {.slot = 1u << 30, .gen = 0};

	cr_assert_eq(jst_attach("bad name", &rd), JST_ENAMESPACE);
	cr_assert_eq(jst_attach(seg.ns, NULL), JST_EINVAL);
	cr_assert_eq(jst_status(rd, h, &st), JST_EINVAL);
	cr_assert_eq(jst_status(NULL, h, &st), JST_EINVAL);
	cr_assert_eq(jst_lookup(rd, NULL, &h), JST_EINVAL);
	jst_detach(NULL);
}

/*
 * The publisher takes the geometry from its private memory, never from the
 * header it wrote: offsets scribbled into the segment send no commit
 * (fallocate) elsewhere, and every job slot stays usable.
 */
Test(publish, geometry_scribbled_in_the_header_is_not_read_back)
{
	struct jst_pub_config cfg = {.capacity = 8192};
	struct jst_status st = {.job_state = JST_JOB_RUNNING};
	struct test_seg gs;
	struct jst_shm_header *h;
	struct stat before, after;
	jst_handle hd;
	char id[32];
	int fd;

	test_seg_create(&gs, "pub-geo", &cfg);
	fd = shm_open(gs.shm, O_RDWR, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(fstat(fd, &before), 0);
	h = mmap(NULL, JST_SHM_HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_assert_neq(h, MAP_FAILED);
	h->jobs_offset = UINT64_C(1) << 50;
	h->index_offset[1] = UINT64_C(1) << 50;
	/* Past the first 1 MiB of slots, so the publisher commits more of them. */
	for (unsigned i = 0; i < 4000; i++) {
		snprintf(id, sizeof(id), "geo:%u", i);
		cr_assert_eq(jst_pub_job_create(gs.pub, id, &st, NULL, &hd), 0, "job %u", i);
	}
	cr_assert_eq(fstat(fd, &after), 0);
	cr_assert_eq(after.st_size, before.st_size, "no commit past the segment's end");
	munmap(h, JST_SHM_HEADER_SIZE);
	close(fd);
	test_seg_destroy(&gs);
}
