/* SPDX-License-Identifier: MIT */
/*
 * testutil.h - helpers shared by the Criterion suites: segments with unique
 * names, and jobs whose every field derives from one counter.
 */
#ifndef JOBSTAT_TESTUTIL_H
#define JOBSTAT_TESTUTIL_H

#include <criterion/criterion.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "jobstat.h"
#include "publish.h"
#include "shm-check.h"

struct test_seg {
	char ns[64];
	char shm[JST_SHM_NAME_MAX];
	struct jst_pub *pub;
};

/* Create a segment in a namespace no other test (or test run) uses. */
static inline void test_seg_create(struct test_seg *t, const char *what,
				   const struct jst_pub_config *base)
{
	static unsigned counter;
	struct jst_pub_config cfg = base ? *base : (struct jst_pub_config){.capacity = 1024};
	int rc;

	snprintf(t->ns, sizeof(t->ns), "test-%s-%ld-%u", what, (long)getpid(), counter++);
	cr_assert_eq(jst_shm_name(t->ns, t->shm, sizeof(t->shm)), 0);
	cfg.shm_name = t->shm;
	rc = jst_pub_create(&cfg, &t->pub);
	cr_assert_eq(rc, 0, "jst_pub_create: %s", jst_strerror(rc));
}

static inline void test_seg_destroy(struct test_seg *t)
{
	jst_pub_close(t->pub, true);
	t->pub = NULL;
}

/*
 * Fork a child joined to the test by a pipe. In the child (0 returned) *fd
 * is the write end, and the child is killed if the test process dies, so a
 * failed assertion leaves nothing running; in the parent *fd is the read end.
 */
static inline pid_t test_fork_piped(int *fd)
{
	int fds[2];
	pid_t pid;

	cr_assert_eq(pipe(fds), 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(fds[0]);
		*fd = fds[1];
		return 0;
	}
	close(fds[1]);
	*fd = fds[0];
	return pid;
}

/* A status whose every field derives from @c; test_status_check() verifies that. */
static inline void test_status_fill(struct jst_status *s, uint64_t c)
{
	memset(s, 0, sizeof(*s));
	s->job_state = (uint16_t)(2 + c % 11);
	s->percent_complete = (uint16_t)(c % 101);
	s->error_code = (uint16_t)(c * 7);
	s->recovery_action = (uint16_t)(c % 6);
	s->job_type = (uint16_t)(c >> 16);
	s->n_operational_status = (uint8_t)(1 + c % JST_OPSTATUS_MAX);
	for (unsigned i = 0; i < s->n_operational_status; i++)
		s->operational_status[i] = (uint16_t)(c + i);
	s->priority = (uint32_t)c;
	s->owner_uid = (uint32_t)(c >> 32) ^ 0x5a5a5a5au;
	s->flags = (uint8_t)(c & (JST_STATUS_DELETE_ON_COMPLETION | JST_STATUS_CANCELLABLE));
	s->time_submitted = c * 3;
	s->start_time = c * 5;
	s->time_of_last_state_change = c * 11;
	s->time_before_removal_ns = c ^ UINT64_C(0x0123456789abcdef);
	/* elapsed_ns is the checksum of the fields above */
	s->elapsed_ns = (c * UINT64_C(0x9E3779B97F4A7C15)) ^ (c >> 7);
}

/* Return the counter @s was filled from, or UINT64_MAX if any field disagrees (a torn read). */
static inline uint64_t test_status_check(const struct jst_status *s)
{
	uint64_t c = s->start_time / 5;
	struct jst_status w;
	bool same;

	test_status_fill(&w, c);
	/* Field by field: the struct has padding, which readers need not write. */
	same = w.job_state == s->job_state && w.percent_complete == s->percent_complete &&
	       w.error_code == s->error_code && w.recovery_action == s->recovery_action &&
	       w.job_type == s->job_type && w.transfer_state == s->transfer_state &&
	       w.n_operational_status == s->n_operational_status &&
	       memcmp(w.operational_status, s->operational_status,
		      sizeof(w.operational_status)) == 0 &&
	       w.priority == s->priority && w.owner_uid == s->owner_uid &&
	       w.flags == s->flags && w.time_submitted == s->time_submitted &&
	       w.start_time == s->start_time &&
	       w.time_of_last_state_change == s->time_of_last_state_change &&
	       w.time_before_removal_ns == s->time_before_removal_ns &&
	       w.elapsed_ns == s->elapsed_ns;
	return same ? c : UINT64_MAX;
}

/*
 * As test_status_check(), for the status of a whole-job read (jst_job()):
 * its ElapsedTime is computed at the read for a job that started and has not
 * finished (README.md), the one field that is not the published version's.
 */
static inline uint64_t test_job_status_check(const struct jst_status *s)
{
	struct jst_status c = *s;

	if (c.start_time && !jst_job_state_is_final(c.job_state)) {
		struct jst_status w;

		test_status_fill(&w, c.start_time / 5);
		c.elapsed_ns = w.elapsed_ns;
	}
	return test_status_check(&c);
}

/*
 * Does the vDSO answer CLOCK_MONOTONIC and CLOCK_REALTIME without a syscall?
 * Only for some clocksources; elsewhere the kernel falls back to the real
 * syscall, and a test that reads the clock under seccomp strict would rightly
 * fail.
 */
static inline bool test_vdso_clock(void)
{
	char cs[64] = "";
	FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");

	if (f) {
		if (!fgets(cs, sizeof(cs), f))
			cs[0] = 0;
		fclose(f);
	}
	return !strcmp(cs, "tsc\n") || !strcmp(cs, "kvm-clock\n") ||
	       !strcmp(cs, "arch_sys_counter\n");
}

#endif /* JOBSTAT_TESTUTIL_H */
