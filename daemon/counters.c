/* SPDX-License-Identifier: MIT */
/*
 * counters.c - raise the segment's cumulative counters and set the daemon's
 * gauges (struct jst_shm_counters); called by the segment's only writer.
 *
 * The counts live in the writer's private memory (struct
 * jst_counters_writer.mine) and each change is stored whole into the
 * segment; the segment's words are never read back. They still survive
 * kill -9: an adopting daemon starts `mine` from the header it copied and
 * checked (jst_pub_adopt()), so the published counters never go back.
 */
#include <string.h>

#include "counters.h"

void jst_counters_writer_init(struct jst_counters_writer *w, struct jst_shm_counters *out,
			      const struct jst_shm_counters *adopted)
{
	if (adopted)
		memcpy(&w->mine, adopted, sizeof(w->mine));
	else
		memset(&w->mine, 0, sizeof(w->mine));
	w->out = out;
}

/*
 * Raise one counter in private memory and store the new value whole.
 * Readers load each word whole with uatomic_read(); no other access is
 * ordered against it (the counters are independent), so a relaxed store
 * suffices.
 */
#define BUMP(w, field, n)                                          \
	do {                                                       \
		(w)->mine.field += (n);                            \
		/* whole word, unordered: pairs with uatomic_read() */ \
		uatomic_set(&(w)->out->field, (w)->mine.field);    \
	} while (0)

void jst_counters_add(struct jst_counters_writer *w, enum jst_counter which, uint64_t n)
{
	switch (which) {
	case JST_COUNTER_JOBS_CREATED:
		BUMP(w, jobs_created, n);
		break;
	case JST_COUNTER_SESSIONS_LOST:
		BUMP(w, sessions_lost, n);
		break;
	}
}

/*
 * The row counting @job_type: its own, a newly claimed one, or the shared
 * last row. Decided from the private keys; an adopted key that is not a
 * job type + 1 never matches and only wastes its row.
 */
static unsigned type_row(struct jst_counters_writer *w, uint16_t job_type)
{
	const uint32_t key = (uint32_t)job_type + 1;
	const unsigned other = JST_SHM_CTR_TYPES - 1;

	for (unsigned i = 0; i < other; i++) {
		if (w->mine.types[i].key == key)
			return i;
		if (w->mine.types[i].key == 0) {
			w->mine.types[i].key = key;
			/*
			 * Claim the row: its key is stored before its first count.
			 * Pairs with the cmm_smp_rmb() in jst_counters() between
			 * loading a row's counts and its key: a reader that sees a
			 * count sees the key too, so no count is hidden under a row
			 * that looks unclaimed, nor shown under another type.
			 */
			uatomic_set(&w->out->types[i].key, key);
			cmm_smp_wmb();
			return i;
		}
	}
	if (w->mine.types[other].key != JST_SHM_CTR_OTHER) {
		w->mine.types[other].key = JST_SHM_CTR_OTHER;
		/* The key, then the wmb below, then the row's first count (see above). */
		uatomic_set(&w->out->types[other].key, JST_SHM_CTR_OTHER);
		cmm_smp_wmb(); /* key before first count; pairs with jst_counters()' cmm_smp_rmb() */
	}
	return other;
}

void jst_counters_finished(struct jst_counters_writer *w, uint16_t job_state, uint16_t job_type)
{
	unsigned f = jst_shm_ctr_final_index(job_state);
	unsigned row;

	if (f >= JST_SHM_CTR_FINAL_COUNT)
		return;
	row = type_row(w, job_type);
	BUMP(w, types[row].finished[f], 1);
}

void jst_counters_error(struct jst_counters_writer *w, uint16_t perceived_severity)
{
	/* CIM's PerceivedSeverity 0..7 by value; DMTF-reserved and vendor values together. */
	BUMP(w, errors[perceived_severity <= 7 ? perceived_severity : 8], 1);
}

void jst_counters_rsc(struct jst_counters_writer *w, uint32_t code)
{
	BUMP(w, rsc[jst_shm_ctr_rsc_index(code)], 1);
}

void jst_counters_refused(struct jst_counters_writer *w, unsigned reason)
{
	if (reason < JST_SHM_REFUSE_COUNT)
		BUMP(w, refusals[reason], 1);
}

void jst_counters_gauges(struct jst_counters_writer *w, uint32_t connections, uint32_t sessions,
			 const uint32_t in_use[JST_POOL_COUNT], uint64_t now_ns)
{
	struct jst_shm_counters *c = w->out;

	/*
	 * Informational words, each stored whole and never read back; readers
	 * order none against another, so no barrier.
	 */
	uatomic_set(&c->connections, connections);
	uatomic_set(&c->sessions, sessions);
	for (unsigned i = 0; i < JST_POOL_COUNT; i++)
		uatomic_set(&c->pool_in_use[i], in_use[i]); /* whole; unordered, as above */
	uatomic_set(&c->gauges_ns, now_ns); /* whole; unordered, as above */
}
