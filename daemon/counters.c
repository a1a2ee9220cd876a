/* SPDX-License-Identifier: MIT */
/*
 * counters.c - raise the segment's cumulative counters and set the daemon's
 * gauges (struct jst_shm_counters); called by the segment's only writer.
 *
 * The counters live in the segment, not in the daemon's memory: a daemon
 * that adopts the segment after kill -9 carries on from what is there, so
 * they never go back. Reading a counter back to add to it is not deciding
 * anything from our own output: the word is ours alone (one writer, one
 * thread), and the value read is the value this writer, or the one it
 * adopted from, last stored.
 */
#include "counters.h"

/*
 * One counter word: load our own last store, store the sum whole. Readers
 * load each word whole with uatomic_read(); no other access is ordered
 * against it (the counters are independent), so a relaxed store suffices.
 */
static inline void bump(uint64_t *w, uint64_t n)
{
	uatomic_set(w, CMM_LOAD_SHARED(*w) + n);
}

void jst_counters_add(struct jst_shm_header *h, enum jst_counter which, uint64_t n)
{
	switch (which) {
	case JST_COUNTER_JOBS_CREATED:
		bump(&h->counters.jobs_created, n);
		break;
	case JST_COUNTER_SESSIONS_LOST:
		bump(&h->counters.sessions_lost, n);
		break;
	}
}

/* The row counting @job_type: its own, a newly claimed one, or the shared last row. */
static struct jst_shm_ctr_type *type_row(struct jst_shm_counters *c, uint16_t job_type)
{
	const uint32_t key = (uint32_t)job_type + 1;
	struct jst_shm_ctr_type *other = &c->types[JST_SHM_CTR_TYPES - 1];

	for (unsigned i = 0; i < JST_SHM_CTR_TYPES - 1; i++) {
		struct jst_shm_ctr_type *t = &c->types[i];
		uint32_t k = CMM_LOAD_SHARED(t->key); /* ours: only this thread writes keys */

		if (k == key)
			return t;
		if (k == 0) {
			/*
			 * Claim the row: its key is stored before its first count.
			 * Pairs with the cmm_smp_rmb() in jst_counters() between
			 * loading a row's counts and its key: a reader that sees a
			 * count sees the key too, so no count is hidden under a row
			 * that looks unclaimed, nor shown under another type.
			 */
			uatomic_set(&t->key, key);
			cmm_smp_wmb();
			return t;
		}
	}
	if (CMM_LOAD_SHARED(other->key) != JST_SHM_CTR_OTHER) {
		uatomic_set(&other->key, JST_SHM_CTR_OTHER);
		cmm_smp_wmb(); /* key before first count, as above */
	}
	return other;
}

void jst_counters_finished(struct jst_shm_header *h, uint16_t job_state, uint16_t job_type)
{
	unsigned f = jst_shm_ctr_final_index(job_state);

	if (f >= JST_SHM_CTR_FINAL_COUNT)
		return;
	bump(&type_row(&h->counters, job_type)->finished[f], 1);
}

void jst_counters_error(struct jst_shm_header *h, uint16_t perceived_severity)
{
	/* CIM's PerceivedSeverity 0..7 by value; DMTF-reserved and vendor values together. */
	bump(&h->counters.errors[perceived_severity <= 7 ? perceived_severity : 8], 1);
}

void jst_counters_rsc(struct jst_shm_header *h, uint32_t code)
{
	bump(&h->counters.rsc[jst_shm_ctr_rsc_index(code)], 1);
}

void jst_counters_refused(struct jst_shm_header *h, unsigned reason)
{
	if (reason < JST_SHM_REFUSE_COUNT)
		bump(&h->counters.refusals[reason], 1);
}

void jst_counters_gauges(struct jst_shm_header *h, uint32_t connections, uint32_t sessions,
			 const uint32_t in_use[JST_POOL_COUNT], uint64_t now_ns)
{
	struct jst_shm_counters *c = &h->counters;

	/* Informational words, each stored whole; readers order none against another. */
	uatomic_set(&c->connections, connections);
	uatomic_set(&c->sessions, sessions);
	for (unsigned i = 0; i < JST_POOL_COUNT; i++)
		uatomic_set(&c->pool_in_use[i], in_use[i]);
	uatomic_set(&c->gauges_ns, now_ns);
}
