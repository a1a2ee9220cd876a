/* SPDX-License-Identifier: MIT */
/*
 * test_restart.c - proves that jobstatd can be killed with SIGKILL at any
 * moment while producers push updates: restarted, it adopts the segment,
 * every update it acknowledged is there, a monitor attached before the first
 * crash reads on without reattaching, and the producers reconnect by
 * themselves (the library retries with backoff) and carry on with the same
 * handles.
 *
 * JST_STRESS_CYCLES (make stress) raises the number of kill/restart cycles.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <urcu/arch.h>
#include <urcu/uatomic.h>

#include "testdaemon.h"

#define PRODUCERS 2
#define NJOBS 32

/* Shared with the producers: the last value each job was acknowledged with. */
struct acks {
	uint64_t acked[PRODUCERS][NJOBS];
	jst_handle h[PRODUCERS][NJOBS];
	uint32_t ready[PRODUCERS];
};

static struct test_daemon d;

static void setup(void)
{
	test_daemon_init(&d, "restart");
}

static void teardown(void)
{
	test_daemon_cleanup(&d);
}

TestSuite(restart, .init = setup, .fini = teardown, .timeout = 1800);

/*
 * A producer: NJOBS jobs, then batches setting every job's ErrorCode to the
 * round number; a round counts as acknowledged only when jst_update()
 * returned 0 for the whole batch.
 */
static void producer_main(struct acks *a, int p)
{
	struct jst_connect_options o = {.socket_path = d.sock, .producer = true,
					.reconnect_timeout_ns = 60ll * 1000 * 1000 * 1000};
	struct jst_update u[NJOBS];
	jst_conn *c;

	if (jst_connect(&o, &c) != 0)
		_exit(2);
	for (int j = 0; j < NJOBS; j++) {
		char id[64];
		struct jst_job_spec spec = {.instance_id = id, .initial_state = JST_JOB_RUNNING};

		snprintf(id, sizeof(id), "restart:p%d-j%d", p, j);
		if (jst_job_create(c, &spec, &a->h[p][j], NULL) != 0)
			_exit(3);
	}
	/* The handles before the flag: pairs with the parent's cmm_smp_rmb() after reading it. */
	cmm_smp_wmb();
	uatomic_set(&a->ready[p], 1);
	for (uint64_t round = 1;; round++) {
		int rc;

		for (int j = 0; j < NJOBS; j++)
			u[j] = (struct jst_update){.handle = a->h[p][j], .set = JST_SET_ERROR_CODE,
						   .error_code = (uint16_t)round};
		rc = jst_update(c, u, NJOBS, NULL);
		if (rc != 0)
			_exit(10 + (rc < 0 ? -rc : rc) % 100);
		for (int j = 0; j < NJOBS; j++)
			/* After the acknowledgement; each word stands alone, no ordering needed. */
			uatomic_set(&a->acked[p][j], round);
		if (round % 64 == 0)
			usleep(1000); /* let the monitor and the killer get a look in */
	}
}

static unsigned cycles(unsigned dflt)
{
	const char *e = getenv("JST_STRESS_CYCLES");

	return e && atoi(e) > 0 ? (unsigned)atoi(e) : dflt;
}

static uint64_t min_acked(struct acks *a, int p)
{
	uint64_t m = UINT64_MAX;

	for (int j = 0; j < NJOBS; j++) {
		/* A single word written by the producer; no ordering with anything else. */
		uint64_t v = uatomic_read(&a->acked[p][j]);

		m = v < m ? v : m;
	}
	return m;
}

Test(restart, sigkill_while_producers_push_loses_no_acknowledged_update)
{
	struct acks *a = mmap(NULL, sizeof(*a), PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	unsigned n = cycles(4);
	pid_t prod[PRODUCERS];
	jst_reader *r;
	uint64_t gen;

	cr_assert_neq(a, MAP_FAILED);
	srand((unsigned)getpid());
	test_daemon_start(&d);
	for (int p = 0; p < PRODUCERS; p++) {
		int fd;

		prod[p] = test_fork_piped(&fd);
		if (prod[p] == 0)
			producer_main(a, p);
		close(fd);
	}
	for (int p = 0; p < PRODUCERS; p++)
		for (int i = 0; !uatomic_read(&a->ready[p]); i++) { /* see cmm_smp_rmb() below */
			cr_assert_lt(i, 5000, "producer %d did not start", p);
			usleep(1000);
		}
	/* The flags before the handles: pairs with the producers' cmm_smp_wmb(). */
	cmm_smp_rmb();
	r = test_attach(&d); /* the monitor: attached once, before any crash */
	gen = jst_generation(r);
	for (unsigned cycle = 0; cycle < n; cycle++) {
		uint64_t snap[PRODUCERS][NJOBS], before[PRODUCERS];

		usleep((useconds_t)(20000 + rand() % 150000));
		test_daemon_signal(&d, SIGKILL);
		/* No daemon, no acknowledgement: what is acked now must survive. */
		for (int p = 0; p < PRODUCERS; p++) {
			for (int j = 0; j < NJOBS; j++)
				/* The producer is stopped on a socket with no daemon behind it. */
				snap[p][j] = uatomic_read(&a->acked[p][j]);
			before[p] = min_acked(a, p);
		}
		test_daemon_start(&d);
		cr_assert_eq(jst_generation(r), gen + 1, "cycle %u: adopted, generation moved",
			     cycle);
		gen++;
		for (int p = 0; p < PRODUCERS; p++) {
			for (int j = 0; j < NJOBS; j++) {
				struct jst_status st = test_read(r, a->h[p][j]);
				uint16_t want = (uint16_t)snap[p][j];

				/* Equal, or later (a round in flight may have landed unacked). */
				cr_assert((uint16_t)(st.error_code - want) < 0x8000,
					  "cycle %u producer %d job %d: acked %u, segment %u", cycle,
					  p, j, want, st.error_code);
				cr_assert_eq(st.job_state, JST_JOB_RUNNING);
			}
		}
		/* The producers find the new daemon on their own and push on. */
		for (int p = 0; p < PRODUCERS; p++) {
			for (int i = 0; min_acked(a, p) <= before[p] + 1; i++) {
				int status;

				cr_assert_eq(waitpid(prod[p], &status, WNOHANG), 0,
					     "producer %d died: %#x", p, status);
				cr_assert_lt(i, 10000, "cycle %u: producer %d did not reconnect",
					     cycle, p);
				usleep(1000);
			}
		}
	}
	for (int p = 0; p < PRODUCERS; p++) {
		kill(prod[p], SIGKILL);
		waitpid(prod[p], NULL, 0);
	}
	cr_assert(jst_daemon_alive(r));
	jst_detach(r);
	munmap(a, sizeof(*a));
}
