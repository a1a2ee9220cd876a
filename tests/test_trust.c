/* SPDX-License-Identifier: MIT */
/*
 * test_trust.c - the segment is jobstatd's output, never its input: each
 * attack a hostile local user tried on 0.1.0, played here by a second uid
 * (or, where the attack needs the daemon's own uid, by the test itself),
 * and the defence that now stops it (shm-layout/PROTOCOL.md, "Trust").
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "testdaemon.h"

#define OWNER    65534 /* a producer's uid */
#define ATTACKER 65533 /* another user on the same machine */

static struct test_daemon d;

static void setup(void)
{
	test_daemon_init(&d, "trust");
}

static void teardown(void)
{
	test_daemon_cleanup(&d);
}

TestSuite(trust, .init = setup, .fini = teardown, .timeout = 60);

/* Become @uid, a member of group 65534 (the daemon's socket group in these tests). */
static void become(uid_t uid)
{
	gid_t g = 65534;

	if (setgroups(1, &g) < 0 || setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)
		_exit(90);
}

/* Run jobstatd with d's names and @extra; it must exit by itself. Its status; stderr in @err. */
static int daemon_must_exit(const char *extra, char *err, size_t n)
{
	int status = 0;

	d.args[0] = extra;
	d.args[1] = NULL;
	{
		const char *argv[16] = {"jobstatd", "-f", "-n", d.ns, "-c", "4096",
					"--runtime-dir", d.rundir, extra, NULL};
		int fd;
		pid_t pid = test_fork_piped(&fd);

		if (pid == 0) {
			dup2(fd, 2);
			execv(JST_BUILD_DIR "/jobstatd", (char *const *)argv);
			_exit(127);
		}
		for (int i = 0; i < 500; i++) {
			if (waitpid(pid, &status, WNOHANG) == pid)
				break;
			usleep(10000);
			if (i == 499) {
				kill(pid, SIGKILL);
				waitpid(pid, &status, 0);
				cr_assert_fail("jobstatd did not exit (it serves, or hangs)");
			}
		}
		err[0] = 0;
		d.err_fd = fd;
		test_daemon_stderr(&d, err, n);
		close(fd);
		d.err_fd = -1;
	}
	d.args[0] = NULL;
	return status;
}

/* A valid segment, created by the calling process with its uid, jobs and all. */
static void plant_segment(const char *shm, mode_t mode)
{
	struct jst_pub_config cfg = {.shm_name = shm, .capacity = 64, .mode = 0644};
	struct jst_status st = {.job_state = JST_JOB_COMPLETED, .n_operational_status = 1,
				.operational_status = {JST_OPS_OK}, .percent_complete = 100};
	struct jst_pub *p;
	jst_handle h;

	if (jst_pub_create(&cfg, &p) != 0 || jst_pub_job_create(p, "evil:job", &st, NULL, &h) != 0)
		_exit(91);
	jst_pub_close(p, false);
	if (mode != 0644) {
		char path[128];

		snprintf(path, sizeof(path), "/dev/shm%s", shm);
		chmod(path, mode);
	}
}

/*
 * 1. Squatting: another user creates the segment (a valid one, mode 0644)
 * before jobstatd starts. 0.1.0 adopted and served it while the squatter kept
 * write access. Now jobstatd refuses it, naming its owner; clients refuse it
 * too; --replace removes it and serves a segment of its own.
 */
Test(trust, a_segment_planted_by_another_user_is_refused_and_never_served)
{
	char err[4096], path[128];
	struct stat sb;
	jst_reader *r;
	jst_handle h;
	int status;
	pid_t pid;

	if (geteuid() != 0)
		cr_skip_test("needs root to play a second uid");
	pid = fork();
	if (pid == 0) {
		become(ATTACKER);
		plant_segment(d.shm, 0644);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "could not plant: %#x", status);
	status = daemon_must_exit(NULL, err, sizeof(err));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %#x: %s", status, err);
	cr_assert_not_null(strstr(err, "belongs to uid 65533"), "stderr: %s", err);
	snprintf(path, sizeof(path), "/dev/shm%s", d.shm);
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(sb.st_uid, ATTACKER, "left as it was, not taken over");
	cr_assert_eq(jst_attach(d.ns, &r), JST_EOWNER, "a client refuses it too");
	cr_assert_not_null(strstr(jst_last_error(), "uid 65533"), "%s", jst_last_error());
	d.args[0] = "--replace";
	test_daemon_start(&d);
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(sb.st_uid, 0, "--replace made a segment of its own");
	r = test_attach(&d);
	cr_assert_eq(jst_lookup(r, "evil:job", &h), JST_ENOJOB, "nothing of the squatter's is served");
	jst_detach(r);
}

/* The header, and the status reference and blocks of slot @slot, of a mapped segment. */
struct seg_view {
	char *base;
	size_t size;
	struct jst_shm_header *h;
};

static void view_open(struct seg_view *v, const char *shm)
{
	struct stat sb;
	int fd = shm_open(shm, O_RDWR, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(fstat(fd, &sb), 0);
	v->size = (size_t)sb.st_size;
	v->base = mmap(NULL, v->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_assert_neq(v->base, MAP_FAILED);
	close(fd);
	v->h = (struct jst_shm_header *)v->base;
}

static uint64_t *view_ref(struct seg_view *v, uint32_t slot)
{
	return (uint64_t *)(v->base + v->h->refs_offset) + slot;
}

static void *view_block(struct seg_view *v, unsigned pool, uint32_t idx)
{
	return jst_shm_block(v->base, &v->h->pools[pool], idx);
}

static struct jst_shm_detail *view_detail(struct seg_view *v, uint32_t slot)
{
	struct jst_shm_status *st = view_block(v, JST_POOL_STATUS,
					       jst_shm_ref_index(*view_ref(v, slot)));
	uint32_t idx = jst_shm_ref_index(st->detail_ref);

	return view_block(v, idx & JST_SHM_REF_LARGE ? JST_POOL_DETAIL_LARGE
						      : JST_POOL_DETAIL_SMALL,
			  idx & ~JST_SHM_REF_LARGE);
}

/*
 * 2. Planted indexes in a segment of the daemon's own uid (left by a crash,
 * or written by anything running as that uid): 0.1.0 retired and reused
 * block indexes from the segment without a range check, writing attacker
 * bytes outside the mapping. Now adoption range-checks everything and
 * refuses, naming the problem; run under ASan, any stray access would fail.
 */
Test(trust, planted_out_of_range_indexes_are_refused_at_adoption)
{
	struct jst_pub_config cfg = {.shm_name = d.shm, .capacity = 64};
	struct jst_error e = {.message_id = "T1", .message = "x"};
	struct jst_status st = {.job_state = JST_JOB_RUNNING, .n_operational_status = 1,
				.operational_status = {JST_OPS_OK}};
	char why[256];
	struct seg_view v;
	struct jst_pub *p;
	jst_handle h;
	enum { N_PATCHES = 9 };

	cr_assert_eq(jst_pub_create(&cfg, &p), 0);
	for (int i = 0; i < 4; i++) {
		char id[16];

		snprintf(id, sizeof(id), "own:%d", i);
		cr_assert_eq(jst_pub_job_create(p, id, &st, NULL, &h), 0);
		cr_assert_eq(jst_pub_publish(p, h, &(struct jst_pub_change){.error = &e}), 0);
	}
	jst_pub_close(p, false);
	view_open(&v, d.shm);
	for (unsigned k = 0; k < N_PATCHES; k++) {
		uint64_t *ref = view_ref(&v, 1), ref0 = *ref;
		struct jst_shm_status *sb = view_block(&v, JST_POOL_STATUS, jst_shm_ref_index(ref0));
		struct jst_shm_detail *db = view_detail(&v, 1);
		struct jst_shm_status s_save = *sb;
		struct jst_shm_detail d_save = *db;
		uint32_t hwm = v.h->slot_hwm;
		const char *what[N_PATCHES] = {
			"status index past its pool", "status index 0", "detail index past its pool",
			"error index past its pool", "error count past the limit", "slot_hwm past capacity",
			"a block named by two slots", "a status of another slot", "a string past its block",
		};
		int rc;

		switch (k) {
		case 0: *ref = jst_shm_ref_make(jst_shm_ref_stamp(ref0), 0x7fffff00); break;
		case 1: *ref = jst_shm_ref_make(jst_shm_ref_stamp(ref0), 0); break;
		case 2: sb->detail_ref = jst_shm_ref_make(jst_shm_ref_stamp(sb->detail_ref),
							  JST_SHM_REF_LARGE | 0x7ffff000); break;
		case 3: db->error_refs[0] = jst_shm_ref_make(2, 0x40000000); break;
		case 4: db->n_errors = 200; sb->n_errors = 200; break;
		case 5: v.h->slot_hwm = v.h->capacity + 10; break;
		case 6: *ref = *view_ref(&v, 2); break;
		case 7: sb->slot = 3; break;
		case 8: db->str[JST_DSTR_NAME] = (struct jst_shm_str){db->used, 5}; break;
		}
		cfg.why = why;
		cfg.why_len = sizeof(why);
		rc = jst_pub_adopt(&cfg, &p);
		cr_assert_eq(rc, JST_ECORRUPT, "%s: adopted (%d)", what[k], rc);
		cr_assert_not_null(strstr(why, "is damaged"), "%s: %s", what[k], why);
		*ref = ref0;
		*sb = s_save;
		*db = d_save;
		v.h->slot_hwm = hwm;
	}
	cr_assert_eq(jst_pub_adopt(&cfg, &p), 0, "the intact segment is adopted: %s", why);
	cr_assert_eq(jst_pub_lookup(p, "own:3", &h), 0);
	jst_pub_close(p, true);
	munmap(v.base, v.size);
}

/*
 * 3. The segment rewritten in place under a running daemon, by its own uid:
 * the job's owner flipped to the attacker, its error references and counts
 * pointed far outside the pools. 0.1.0 read the owner back and accepted the
 * attacker's update and remove, and retired the planted blocks. Now nothing
 * of it reaches a decision: the attacker is refused, the owner's and root's
 * requests work, and the daemon (under ASan in CI) touches nothing outside.
 */
Test(trust, a_segment_rewritten_under_the_daemon_changes_no_decision)
{
	struct seg_view v;
	jst_reader *r;
	jst_handle h;
	int status, fd;
	pid_t pid;
	char go;

	if (geteuid() != 0)
		cr_skip_test("needs root to play a second uid");
	d.args[0] = "-g";
	d.args[1] = "65534";
	test_daemon_start(&d);
	pid = test_fork_piped(&fd);
	if (pid == 0) {
		struct jst_error e = {.message_id = "OWN1", .message = "owner's error"};
		struct jst_job_spec spec = {.instance_id = "own:job"};
		jst_conn *c;

		become(OWNER);
		if (jst_connect(&(struct jst_connect_options){.socket_path = d.sock, .producer = true},
				&c) != 0 ||
		    jst_job_create(c, &spec, &h, NULL) != 0 || jst_job_set_state(c, h, JST_JOB_RUNNING) ||
		    jst_job_report_error(c, h, &e, false) != 0)
			_exit(3);
		_exit(write(fd, "k", 1) == 1 ? 0 : 4);
	}
	cr_assert_eq(read(fd, &go, 1), 1, "the owner could not create its job");
	waitpid(pid, &status, 0);
	close(fd);
	r = test_attach(&d);
	cr_assert_eq(jst_lookup(r, "own:job", &h), 0);
	/* The rewrite: owner, error references, counts. */
	view_open(&v, d.shm);
	{
		struct jst_shm_status *sb = view_block(&v, JST_POOL_STATUS,
						       jst_shm_ref_index(*view_ref(&v, h.slot)));
		struct jst_shm_detail *db = view_detail(&v, h.slot);

		sb->owner_uid = ATTACKER;
		sb->n_errors = 8;
		v.h->counters.jobs_created = UINT64_C(1) << 40;
		for (unsigned k = 0; k < JST_SHM_ERRORS_KEPT; k++)
			db->error_refs[k] = jst_shm_ref_make(2, 0x7fff0000u + k);
		db->n_errors = 8;
	}
	cr_assert_eq(test_read(r, h).owner_uid, ATTACKER, "readers see the rewrite");
	pid = fork();
	if (pid == 0) {
		jst_conn *c;
		struct jst_update u = {.handle = h, .set = JST_SET_PERCENT, .percent_complete = 66};
		uint32_t code;

		become(ATTACKER);
		if (jst_connect(&(struct jst_connect_options){.socket_path = d.sock, .producer = true},
				&c) != 0)
			_exit(10);
		if (jst_update(c, &u, 1, NULL) != JST_EPERM)
			_exit(11);
		if (jst_job_remove(c, h, JST_REMOVE_NOW, NULL) != JST_EPERM)
			_exit(12);
		if (jst_request_state_change(c, "own:job", JST_REQ_TERMINATE, 0, &code) != JST_EPERM)
			_exit(13);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "the attacker was let in (exit %d: 11 update, 12 remove, 13 terminate)",
		  WEXITSTATUS(status));
	/* The daemon republishes from its own table: the owner it knows is back. */
	{
		jst_conn *c = test_connect(&d, true, 0, NULL, NULL);
		struct jst_error e = {.message_id = "ROOT1", .message = "root's error"};
		struct jst_job_spec spec = {0};
		struct jst_error got;
		jst_handle nh;

		cr_assert_eq(jst_job_report_error(c, h, &e, false), 0);
		cr_assert_eq(test_read(r, h).owner_uid, OWNER, "republished from the private table");
		cr_assert_eq(test_read(r, h).n_errors, 2, "its own count, not the planted one");
		cr_assert_eq(jst_error_read(r, h, 0, &got), 0);
		cr_assert_str_eq(got.message_id, "OWN1");
		cr_assert_eq(jst_job_remove(c, h, JST_REMOVE_NOW, NULL), 0);
		/* Blocks are taken and retired many times: none of the planted ones. */
		for (int i = 0; i < 200; i++) {
			char id[32];

			snprintf(id, sizeof(id), "new:%d", i);
			spec.instance_id = id;
			cr_assert_eq(jst_job_create(c, &spec, &nh, NULL), 0);
			cr_assert_eq(jst_job_report_error(c, nh, &e, false), 0);
			cr_assert_eq(jst_job_remove(c, nh, JST_REMOVE_NOW, NULL), 0);
		}
		jst_disconnect(c);
		{
			struct jst_counters ctr;

			cr_assert_eq(jst_counters(r, &ctr), 0);
			cr_assert_eq(ctr.jobs_created, 1 + 200, "counted on from its own count");
		}
	}
	cr_assert_eq(kill(d.pid, 0), 0, "jobstatd is alive");
	cr_assert_eq(waitpid(d.pid, &status, WNOHANG), 0, "jobstatd is alive");
	cr_assert(WIFEXITED(test_daemon_signal(&d, SIGTERM)), "and stops cleanly");
	munmap(v.base, v.size);
	jst_detach(r);
}

/* 4. Modes that let group or others write the segment are refused everywhere. */
Test(trust, group_or_world_writable_modes_are_refused)
{
	static const unsigned modes[] = {0660, 0620, 0664, 0666, 0602};
	struct jst_pub_config cfg = {.shm_name = d.shm, .capacity = 64};
	char why[256], path[128];
	struct jst_pub *p;
	jst_reader *r;

	for (unsigned i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		cfg.mode = modes[i];
		cfg.why = why;
		cfg.why_len = sizeof(why);
		cr_assert_eq(jst_pub_create(&cfg, &p), JST_EUNSAFE, "mode %o created", modes[i]);
		cr_assert_not_null(strstr(why, "group or others"), "%s", why);
	}
	/* One that became group-writable after creation: adoption and clients refuse it. */
	cfg.mode = 0644;
	cr_assert_eq(jst_pub_create(&cfg, &p), 0);
	jst_pub_close(p, false);
	snprintf(path, sizeof(path), "/dev/shm%s", d.shm);
	cr_assert_eq(chmod(path, 0664), 0);
	cr_assert_eq(jst_pub_adopt(&cfg, &p), JST_EUNSAFE, "adopted a group-writable segment");
	cr_assert_not_null(strstr(why, "0664"), "%s", why);
	cr_assert_eq(jst_attach(d.ns, &r), JST_EUNSAFE);
	cr_assert_not_null(strstr(jst_last_error(), "0664"), "%s", jst_last_error());
}

/*
 * 5. Something else at the segment's name: a FIFO made every reader hang in
 * attach; a directory and a symlink were misreported. Each is now named,
 * at once, by the client and by the daemon (the suite's timeout bounds a hang).
 */
Test(trust, a_fifo_a_directory_or_a_symlink_at_the_name_is_named, .timeout = 30)
{
	static const char *kinds[] = {"a FIFO", "a directory", "a symbolic link"};
	char path[128], other[160], err[4096];
	struct jst_pub_config cfg = {.capacity = 64};
	struct jst_pub *p;
	jst_reader *r;

	snprintf(path, sizeof(path), "/dev/shm%s", d.shm);
	snprintf(other, sizeof(other), "%s.real", d.shm);
	cfg.shm_name = other;
	cr_assert_eq(jst_pub_create(&cfg, &p), 0); /* a valid segment for the link to name */
	for (unsigned k = 0; k < 3; k++) {
		int status;

		if (k == 0)
			cr_assert_eq(mkfifo(path, 0644), 0);
		else if (k == 1)
			cr_assert_eq(mkdir(path, 0755), 0);
		else
			cr_assert_eq(symlink(other + 1, path), 0);
		cr_assert_eq(jst_attach(d.ns, &r), JST_ENOTREG, "%s attached", kinds[k]);
		cr_assert_not_null(strstr(jst_last_error(), kinds[k]), "%s", jst_last_error());
		status = daemon_must_exit(NULL, err, sizeof(err));
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "%s: %#x %s", kinds[k],
			  status, err);
		cr_assert_not_null(strstr(err, kinds[k]), "%s: stderr: %s", kinds[k], err);
		if (k == 1)
			rmdir(path);
		else
			unlink(path);
	}
	jst_pub_close(p, true);
}

/*
 * 6. The runtime directory removed under a running daemon: 0.1.0 carried on
 * without socket or lock and a second daemon adopted the live segment. Now
 * the second refuses, naming the first's pid (the segment's own lock), and
 * the first makes its socket and pidfile again within seconds.
 */
Test(trust, with_the_runtime_directory_gone_a_second_daemon_refuses)
{
	char path[256], err[4096];
	jst_conn *c;
	struct stat sb;
	int status;
	char pid[32];

	test_daemon_start(&d);
	snprintf(pid, sizeof(pid), "pid %ld", (long)d.pid);
	unlink(d.sock);
	snprintf(path, sizeof(path), "%s/%s.pid", d.rundir, d.ns);
	unlink(path);
	cr_assert_eq(rmdir(d.rundir), 0);
	status = daemon_must_exit(NULL, err, sizeof(err));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "%#x: %s", status, err);
	cr_assert_not_null(strstr(err, pid), "the first daemon's %s is not named: %s", pid, err);
	for (int i = 0; i < 400 && stat(d.sock, &sb) != 0; i++)
		usleep(10000);
	cr_assert_eq(stat(d.sock, &sb), 0, "the first daemon did not make its socket again");
	c = test_connect(&d, false, 0, NULL, NULL);
	jst_disconnect(c);
	for (int i = 0; i < 400 && stat(path, &sb) != 0; i++)
		usleep(10000);
	cr_assert_eq(stat(path, &sb), 0, "nor its pidfile");
}
