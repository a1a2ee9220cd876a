/* SPDX-License-Identifier: MIT */
/*
 * counters.c - libjobstat's read side of the daemon's cumulative counters
 * and gauges (struct jst_shm_counters in the segment header): plain loads
 * from the read-only mapping, no syscall.
 */
#include <string.h>

#include "read-internal.h"

_Static_assert(JST_POOLS == JST_POOL_COUNT, "public and segment pool counts agree");
_Static_assert(JST_COUNTERS_FINAL == JST_SHM_CTR_FINAL_COUNT, "final states agree");
_Static_assert(JST_COUNTERS_TYPES == JST_SHM_CTR_TYPES, "job type rows agree");
_Static_assert(JST_COUNTERS_SEVERITY <= JST_SHM_CTR_SEVERITIES, "severities fit");
_Static_assert(JST_COUNTERS_RSC == JST_SHM_CTR_RSC_OTHER + 1, "result buckets agree");
_Static_assert(JST_COUNTERS_REFUSALS == JST_SHM_REFUSE_COUNT, "refusal reasons agree");

int jst_counters(jst_reader *r, struct jst_counters *ret)
{
	const struct jst_shm_counters *c;
	struct jst_counters o;

	if (!r || !ret)
		return JST_EINVAL;
	c = &r->hdr->counters;
	memset(&o, 0, sizeof(o));
	/*
	 * Each word whole, as the writer's BUMP() stores it (daemon/counters.c);
	 * the counters are independent, so no load is ordered against another.
	 */
	o.jobs_created = uatomic_read(&c->jobs_created);
	o.sessions_lost = uatomic_read(&c->sessions_lost);
	for (unsigned i = 0; i < JST_COUNTERS_SEVERITY; i++)
		o.errors[i] = uatomic_read(&c->errors[i]); /* whole; unordered */
	for (unsigned i = 0; i < JST_COUNTERS_RSC; i++)
		o.rsc[i] = uatomic_read(&c->rsc[i]); /* whole; unordered */
	for (unsigned i = 0; i < JST_COUNTERS_REFUSALS; i++)
		o.refusals[i] = uatomic_read(&c->refusals[i]); /* whole; unordered */
	for (unsigned i = 0; i < JST_SHM_CTR_TYPES; i++) {
		const struct jst_shm_ctr_type *t = &c->types[i];
		struct jst_counters_type *ot = &o.types[o.n_types];
		uint64_t finished[JST_COUNTERS_FINAL];
		uint32_t key;

		/* Counts first, then the key, below. */
		for (unsigned f = 0; f < JST_COUNTERS_FINAL; f++)
			finished[f] = uatomic_read(&t->finished[f]);
		/*
		 * Counts before key. Pairs with the cmm_smp_wmb() in the writer's
		 * type_row() between storing a row's key and its first count: a
		 * count seen here means the key is seen too.
		 */
		cmm_smp_rmb();
		key = uatomic_read(&t->key);
		if (key == 0)
			continue; /* unclaimed, so its counts were 0 */
		if (key == JST_SHM_CTR_OTHER)
			ot->other = true;
		else if (key <= 65536)
			ot->job_type = (uint16_t)(key - 1);
		else
			continue; /* not a key the writer makes: show nothing rather than guess */
		memcpy(ot->finished, finished, sizeof(finished));
		o.n_types++;
	}
	/* Gauges: each word whole, none ordered against another (jst_counters_gauges()). */
	o.connections = uatomic_read(&c->connections);
	o.sessions = uatomic_read(&c->sessions);
	/* Whole words, unordered; pair with the writer's uatomic_set() in counters.c. */
	o.gauges_ns = uatomic_read(&c->gauges_ns);
	for (unsigned i = 0; i < JST_POOLS; i++) {
		/* Capacity from the geometry validated at attach; block 0 is never used. */
		uint32_t blocks = r->pools[i].count ? r->pools[i].count - 1 : 0;
		uint32_t in_use = uatomic_read(&c->pool_in_use[i]);
		uint32_t used = uatomic_read(&r->hdr->pool_used[i]); /* high-water, [1, used) */

		o.pools[i].blocks = blocks;
		o.pools[i].block_size = r->pools[i].block_size;
		o.pools[i].in_use = in_use < blocks ? in_use : blocks;
		used = used ? used - 1 : 0;
		o.pools[i].touched = used < blocks ? used : blocks;
	}
	*ret = o;
	return 0;
}

const char *jst_pool_name(unsigned pool)
{
	static const char *const names[JST_POOLS] = {"status", "detail_small", "detail_large",
						     "error"};

	return pool < JST_POOLS ? names[pool] : "?";
}
