/* SPDX-License-Identifier: MIT */
/*
 * test_syscalls.c - proves the read path makes no syscall: a child attaches,
 * enters seccomp strict mode (any syscall but read, write, exit and
 * sigreturn kills it), then looks up, reads statuses (through the library
 * and the inline tier), jobs and errors, iterates and follows the change
 * log over thousands of jobs while the parent keeps publishing, and leaves
 * through the raw exit syscall.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dlfcn.h>
#include <time.h>

#include "jobstat-inline.h"
#include "testutil.h"

/*
 * Which clock the library asks for: this definition of clock_gettime() takes
 * the library's calls (it is linked statically into this program), notes the
 * clock and hands the call to the C library's own, resolved before any test
 * runs so that the sandboxed children make no dlsym() call.
 */
static int (*real_clock_gettime)(clockid_t, struct timespec *);
static clockid_t last_clock = -1; /* this process's own note */

__attribute__((constructor)) static void find_real_clock(void)
{
	real_clock_gettime = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT,
									   "clock_gettime");
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
	last_clock = id;
	if (!real_clock_gettime)
		find_real_clock();
	return real_clock_gettime(id, ts);
}

#define NJOBS 4000
#define ROUNDS 40

struct result {
	uint64_t lookups, statuses, inlined, jobs, errors, iterated, changes, failures, alive;
};

static char ids[NJOBS][32];
static struct jst_job job;
static struct jst_error err;
static jst_handle got[256];

static char xml[65536];

/* Everything here runs under SECCOMP_MODE_STRICT: no libc call that might make a syscall. */
static void read_everything(jst_reader *r, struct result *res)
{
	uint64_t cursor = jst_change_seq(r);
	struct jst_fast fast;
	static jst_handle all[NJOBS];
	static struct jst_status many[NJOBS];

	if (jst_fast_attach(r, &fast) != 0)
		res->failures++;
	for (unsigned round = 0; round < ROUNDS; round++) {
		struct jst_status st;
		uint32_t pos = 0;
		size_t n;
		int rc;

		for (unsigned i = 0; i < NJOBS; i++) {
			jst_handle h;

			if (jst_lookup(r, ids[i], &h) != 0) {
				res->failures++;
				continue;
			}
			res->lookups++;
			all[i] = h;
			if (jst_status(r, h, &st) == 0 && test_status_check(&st) != UINT64_MAX)
				res->statuses++;
			else
				res->failures++;
			/* The inline tier (jobstat-inline.h), compiled into this program. */
			if (jst_status_inline(&fast, h, &st) == 0 && test_status_check(&st) != UINT64_MAX)
				res->inlined++;
			else
				res->failures++;
			if (i % 16 == 0) {
				if (jst_job(r, h, &job) == 0 && job.name)
					res->jobs++;
				else
					res->failures++;
				if (jst_error_read(r, h, 0, &err) == 0 && err.message_id)
					res->errors++;
				else
					res->failures++;
				/* The same error in place, and the check after its use. */
				for (int tries = 0, v_rc = JST_EAGAIN; v_rc == JST_EAGAIN; tries++) {
					struct jst_error_view v;

					v_rc = jst_status(r, h, &st);
					if (v_rc == 0)
						v_rc = jst_error_view(r, &st, 0, &v);
					if (v_rc == 0 && !v.message_id.p)
						v_rc = JST_ECORRUPT;
					if (v_rc == 0)
						v_rc = jst_error_view_check(&v);
					if (v_rc == 0)
						res->errors++;
					else if (v_rc != JST_EAGAIN || tries == 100) {
						res->failures++;
						break;
					}
				}
				/* GetError in each flavour, rendered as Hyper-V hands it out. */
				for (unsigned f = JST_FLAVOUR_CIM; f <= JST_FLAVOUR_DO; f++) {
					int g = jst_get_error(r, h, f, &err);

					if (g == JST_ENOERROR ||
					    (g == 0 && jst_error_to_cimxml(&err, xml, sizeof(xml),
									   NULL) == 0 &&
					     jst_error_to_json(&err, xml, sizeof(xml), NULL) == 0))
						res->errors++;
					else
						res->failures++;
				}
			}
		}
		/* Many jobs in one call, their misses overlapped. */
		if (jst_status_many(r, all, NJOBS, many, NULL) != 0)
			res->failures++;
		while (jst_next(r, &pos, &st) == 0)
			res->iterated++;
		{
			static struct jst_status changed[64];
			uint64_t c2 = cursor;

			/* The change log with the statuses, in one pass. */
			if (jst_changed(r, &c2, changed, 64, &n) < 0 && c2 != jst_change_seq(r))
				res->failures++;
		}
		do {
			rc = jst_changes(r, &cursor, got, 256, &n);
			res->changes += n;
			for (size_t k = 0; k < n; k++)
				if (jst_status(r, got[k], &st) < 0)
					res->failures++;
		} while (rc == 0 && n == 256);
		if (rc == JST_EOVERRUN)
			cursor = jst_change_seq(r);
	}
}

/*
 * A child that attaches to @ns, enters the sandbox @enter sets up, runs
 * @body, reports @len bytes of @result through a pipe (write is allowed in
 * both sandboxes) and leaves through the raw exit syscall (exit_group, what
 * exit() uses, is not). Returns its pid and the pipe's read end.
 */
static pid_t sandboxed(const char *ns, int (*enter)(void), void (*body)(jst_reader *, void *),
		       void *result, size_t len, int *ret_fd)
{
	pid_t pid = test_fork_piped(ret_fd);

	if (pid == 0) {
		jst_reader *r;

		if (jst_attach(ns, &r) != 0)
			syscall(SYS_exit, 3);
		if (enter() != 0)
			syscall(SYS_exit, 4);
		body(r, result);
		if (write(*ret_fd, result, len) != (ssize_t)len)
			syscall(SYS_exit, 5);
		syscall(SYS_exit, 0);
	}
	return pid;
}

/* The sandboxed child ended by itself, its report in @result; @killer is the sandbox's signal. */
static void sandboxed_done(int status, int killer, int fd, void *result, size_t len)
{
	cr_assert_not(WIFSIGNALED(status) && WTERMSIG(status) == killer,
		      "the reader made a syscall: seccomp killed it");
	cr_assert(WIFEXITED(status), "reader died (status %#x)", status);
	cr_assert_eq(WEXITSTATUS(status), 0, "reader exit code %d", WEXITSTATUS(status));
	cr_assert_eq(read(fd, result, len), (ssize_t)len);
	close(fd);
}

static int enter_strict(void)
{
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT);
}

static void read_everything_body(jst_reader *r, void *res)
{
	read_everything(r, res);
}

Test(syscalls, read_path_runs_under_seccomp_strict)
{
	struct jst_pub_config cfg = {.capacity = NJOBS + 16};
	static struct jst_job names;
	struct jst_error e = {.message_id = "JST1", .message = "disk full"};
	struct test_seg seg;
	struct result res = {0};
	struct jst_status st;
	jst_handle hs[NJOBS];
	int fd, status;
	uint64_t c = 0;
	pid_t pid;

	test_seg_create(&seg, "seccomp", &cfg);
	names.name = "a job with a name";
	for (unsigned i = 0; i < NJOBS; i++) {
		snprintf(ids[i], sizeof(ids[i]), "jobstat:seccomp-%u", i);
		test_status_fill(&st, i);
		cr_assert_eq(jst_pub_job_create(seg.pub, ids[i], &st, &names, &hs[i]), 0);
		cr_assert_eq(jst_pub_publish(seg.pub, hs[i], &(struct jst_pub_change){.error = &e}), 0);
	}
	pid = sandboxed(seg.ns, enter_strict, read_everything_body, &res, sizeof(res), &fd);
	/* Keep publishing until the child is done: its reads race with real updates. */
	while (waitpid(pid, &status, WNOHANG) == 0) {
		for (unsigned k = 0; k < 1000; k++, c++) {
			test_status_fill(&st, c);
			cr_assert_eq(jst_pub_publish(seg.pub, hs[c % NJOBS], &(struct jst_pub_change){.status = &st}), 0);
		}
		jst_pub_heartbeat(seg.pub);
	}
	sandboxed_done(status, SIGKILL, fd, &res, sizeof(res));
	cr_assert_eq(res.failures, 0);
	cr_assert_eq(res.lookups, (uint64_t)NJOBS * ROUNDS);
	cr_assert_eq(res.statuses, (uint64_t)NJOBS * ROUNDS);
	cr_assert_eq(res.inlined, (uint64_t)NJOBS * ROUNDS);
	cr_assert_eq(res.jobs, (uint64_t)NJOBS / 16 * ROUNDS);
	cr_assert_eq(res.errors, (uint64_t)NJOBS / 16 * ROUNDS * 5,
		     "error reads, views and GetErrors");
	cr_assert_eq(res.iterated, (uint64_t)NJOBS * ROUNDS);
	cr_assert_gt(c, 0, "the writer published while the child read");
	cr_log_info("seccomp child: %lu lookups, %lu changes read while %lu updates published",
		    (unsigned long)res.lookups, (unsigned long)res.changes, (unsigned long)c);
	test_seg_destroy(&seg);
}

/* The control: the same child making one syscall is killed, so the test above can fail. */
Test(syscalls, a_syscall_under_seccomp_strict_is_fatal)
{
	int status;
	pid_t pid = fork();

	cr_assert_neq(pid, -1);
	if (pid == 0) {
		if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT) != 0)
			syscall(SYS_exit, 4);
		syscall(SYS_getpid);
		syscall(SYS_exit, 0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/*
 * A seccomp filter that kills the process on any syscall but write and exit:
 * unlike strict mode it leaves the TSC enabled, so it also shows that the
 * precise vDSO clock would have been no syscall. The strict-mode test after
 * it is the one that matters for jst_daemon_alive().
 */
static int deny_all_syscalls(void)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_write, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_exit, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(code) / sizeof(code[0]), .filter = code};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

static void check_alive(jst_reader *r, void *result)
{
	uint64_t *alive = result;

	for (unsigned i = 0; i < 100000; i++)
		*alive += jst_daemon_alive(r) && jst_generation(r) == 1;
}

Test(syscalls, daemon_liveness_reads_only_the_vdso_clock)
{
	struct test_seg seg;
	uint64_t alive = 0;
	int fd, status;
	pid_t pid;

	if (!test_vdso_clock()) {
		cr_skip_test("this clocksource is not served by the vDSO");
		return;
	}
	test_seg_create(&seg, "alive", &(struct jst_pub_config){.capacity = 16});
	jst_pub_heartbeat(seg.pub);
	pid = sandboxed(seg.ns, deny_all_syscalls, check_alive, &alive, sizeof(alive), &fd);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	sandboxed_done(status, SIGSYS, fd, &alive, sizeof(alive));
	cr_assert_eq(alive, 100000);
	test_seg_destroy(&seg);
}

/*
 * Strict mode also disables the TSC on x86 (rdtsc faults), so a vDSO read of
 * CLOCK_MONOTONIC with a tsc or kvm-clock clocksource dies with SIGSEGV
 * (0.1.0 did). jst_daemon_alive() reads CLOCK_MONOTONIC_COARSE, the vDSO's
 * last-tick copy, which needs neither a syscall nor the TSC, on any
 * clocksource.
 */
Test(syscalls, daemon_liveness_works_under_seccomp_strict)
{
	struct test_seg seg;
	uint64_t alive = 0;
	int fd, status;
	pid_t pid;

	test_seg_create(&seg, "alive-strict", &(struct jst_pub_config){.capacity = 16});
	jst_pub_heartbeat(seg.pub);
	pid = sandboxed(seg.ns, enter_strict, check_alive, &alive, sizeof(alive), &fd);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert_not(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
		      "the clock read faulted: strict mode disables the TSC");
	sandboxed_done(status, SIGKILL, fd, &alive, sizeof(alive));
	cr_assert_eq(alive, 100000, "alive in every call");
	test_seg_destroy(&seg);
}

/*
 * The same, on any machine: some hypervisors do not enforce the TSC switch
 * that strict mode sets, so the test above cannot fail there. The clock asked
 * for is the coarse one (0.1.0 asked for CLOCK_MONOTONIC).
 */
Test(syscalls, daemon_liveness_asks_for_the_coarse_clock)
{
	struct test_seg seg;
	jst_reader *r;

	test_seg_create(&seg, "alive-coarse", &(struct jst_pub_config){.capacity = 16});
	jst_pub_heartbeat(seg.pub);
	cr_assert_eq(jst_attach(seg.ns, &r), 0);
	last_clock = -1;
	cr_assert(jst_daemon_alive(r));
	cr_assert_eq(last_clock, CLOCK_MONOTONIC_COARSE, "clock %d", (int)last_clock);
	jst_detach(r);
	test_seg_destroy(&seg);
}

struct model_result {
	int get_cim, get_xml, job, render;
	size_t xml_len;
	char message_id[16];
};

static char model_xml[65536];
static struct jst_job model_job;

/* GetError's synthesized error, Hyper-V's string and the job's CIM-XML: no syscall either. */
static void read_model(jst_reader *r, void *result)
{
	struct model_result *res = result;
	jst_handle h;

	if (jst_lookup(r, "jobstat:failed", &h) != 0) {
		res->get_cim = -1000;
		return;
	}
	res->get_cim = jst_get_error(r, h, JST_FLAVOUR_CIM, &err);
	if (res->get_cim == 0)
		memcpy(res->message_id, err.message_id, 8);
	res->get_xml = jst_get_error_cimxml(r, h, model_xml, sizeof(model_xml), &res->xml_len);
	res->job = jst_job(r, h, &model_job);
	res->render = jst_job_to_cimxml(&model_job, JST_CIMXML_MSVM | JST_CIMXML_DOCUMENT,
					model_xml, sizeof(model_xml), NULL);
}

struct ext_result {
	int ext, render;
	uint64_t elapsed;
	char caption[16];
};

static struct jst_job_ext model_ext;

/* A running job with format 1.5's properties: ElapsedTime read from the coarse clock. */
static void read_ext(jst_reader *r, void *result)
{
	struct ext_result *res = result;
	jst_handle h;

	if (jst_lookup(r, "jobstat:running", &h) != 0) {
		res->ext = -1000;
		return;
	}
	res->ext = jst_job_ext(r, h, &model_ext, sizeof(model_ext));
	if (res->ext == 0 && model_ext.caption)
		snprintf(res->caption, sizeof(res->caption), "%s", model_ext.caption);
	res->elapsed = model_ext.job.status.elapsed_ns;
	res->render = jst_job_ext_to_cimxml(&model_ext, sizeof(model_ext), JST_CIMXML_DOCUMENT,
					    model_xml, sizeof(model_xml), NULL);
}

Test(syscalls, job_ext_of_a_running_job_makes_no_syscall_under_strict_seccomp)
{
	struct test_seg seg;
	struct ext_result res = {0};
	struct jst_status st = {.job_state = JST_JOB_RUNNING, .n_operational_status = 1,
				.operational_status = {JST_OPS_OK},
				.start_time = 1000000000ull}; /* started long ago */
	struct jst_pub_ext ext = {.job_run_times = 1, .caption = "cap"};
	jst_handle h;
	int fd, status;
	pid_t pid;

	test_seg_create(&seg, "ext-strict", &(struct jst_pub_config){.capacity = 16});
	cr_assert_eq(jst_pub_job_create(seg.pub, "jobstat:running", &st, NULL, &h), 0);
	cr_assert_eq(jst_pub_publish(seg.pub, h, &(struct jst_pub_change){.ext = &ext}), 0);
	pid = sandboxed(seg.ns, enter_strict, read_ext, &res, sizeof(res), &fd);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	sandboxed_done(status, SIGKILL, fd, &res, sizeof(res));
	cr_assert_eq(res.ext, 0);
	cr_assert_str_eq(res.caption, "cap");
	cr_assert_gt(res.elapsed, 0, "computed from the clock, not the published 0");
	cr_assert_eq(res.render, 0);
	/* Whatever this machine's clocksource, the clock is the coarse one (no TSC read). */
	{
		jst_reader *r;

		cr_assert_eq(jst_attach(seg.ns, &r), 0);
		last_clock = -1;
		cr_assert_eq(jst_job_ext(r, h, &model_ext, sizeof(model_ext)), 0);
		cr_assert_eq(last_clock, CLOCK_REALTIME_COARSE, "clock %d", (int)last_clock);
		jst_detach(r);
	}
	test_seg_destroy(&seg);
}

Test(syscalls, synthesized_get_error_and_job_cimxml_make_no_syscall)
{
	struct test_seg seg;
	struct model_result res = {0};
	struct jst_status st = {.job_state = JST_JOB_EXCEPTION, .n_operational_status = 2,
				.operational_status = {JST_OPS_COMPLETED, JST_OPS_ERROR},
				.error_code = 5, .time_submitted = 1234567890123456789ull,
				.start_time = 1234567890123456789ull};
	static struct jst_job strings;
	jst_handle h;
	int fd, status;
	pid_t pid;

	test_seg_create(&seg, "model-strict", &(struct jst_pub_config){.capacity = 16});
	strings.name = "failed without a word";
	strings.error_description = "it broke";
	cr_assert_eq(jst_pub_job_create(seg.pub, "jobstat:failed", &st, &strings, &h), 0);
	pid = sandboxed(seg.ns, enter_strict, read_model, &res, sizeof(res), &fd);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	sandboxed_done(status, SIGKILL, fd, &res, sizeof(res));
	cr_assert_eq(res.get_cim, 0, "an Exception with no error: synthesized");
	cr_assert_str_eq(res.message_id, JST_MSGID_SYNTHESIZED);
	cr_assert_eq(res.get_xml, 0);
	cr_assert_gt(res.xml_len, 100);
	cr_assert_eq(res.job, 0);
	cr_assert_eq(res.render, 0);
	test_seg_destroy(&seg);
}
