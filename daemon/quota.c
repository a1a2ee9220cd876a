/* SPDX-License-Identifier: MIT */
/*
 * quota.c - what each uid holds (jobs, retained errors, connections, pending
 * requests) and the quotas that keep any one uid below the whole, so no
 * client can starve the others. Root and the admin group have no quota:
 * they run the service.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "server-internal.h"

void jst__quota_limits(struct jst_server *s, const struct jst_quota *q)
{
	uint32_t errors = jst_pub_pool_count(s->pub, JST_POOL_ERROR);
	uint32_t large = jst_pub_pool_count(s->pub, JST_POOL_DETAIL_LARGE);

	s->limits.jobs = q->jobs ? q->jobs : (s->capacity / 4 ? s->capacity / 4 : 1);
	s->limits.errors = q->errors ? q->errors : (errors / 4 ? errors / 4 : 1);
	s->limits.conns = q->conns ? q->conns : (s->cfg.max_conns / 4 ? s->cfg.max_conns / 4 : 1);
	s->limits.pending = q->pending ? q->pending : 64;
	s->limits.large = q->large ? q->large : (large / 4 ? large / 4 : 1);
}

struct uid_use *jst__use(struct jst_server *s, uid_t uid)
{
	struct uid_use *u;

	for (u = s->uses; u; u = u->next)
		if (u->uid == uid)
			return u;
	u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->uid = uid;
	u->next = s->uses;
	s->uses = u;
	return u;
}

/* Forget a uid that holds nothing. */
static void use_gc(struct jst_server *s, struct uid_use *u)
{
	if (u->jobs || u->errors || u->conns || u->pending || u->parked)
		return;
	for (struct uid_use **pp = &s->uses; *pp; pp = &(*pp)->next) {
		if (*pp == u) {
			*pp = u->next;
			free(u);
			return;
		}
	}
}

static uint32_t *field(struct uid_use *u, enum quota_kind k)
{
	switch (k) {
	case Q_JOBS:
		return &u->jobs;
	case Q_ERRORS:
		return &u->errors;
	case Q_CONNS:
		return &u->conns;
	case Q_LARGE:
		return &u->large;
	case Q_PARKED:
		return &u->parked;
	case Q_PENDING:
		break;
	}
	return &u->pending;
}

void jst__use_add(struct jst_server *s, uid_t uid, enum quota_kind k, int delta)
{
	struct uid_use *u = jst__use(s, uid);
	uint32_t *f;

	if (!u)
		return; /* out of memory: the count is lost, never the job */
	f = field(u, k);
	*f = delta < 0 && (uint32_t)-delta > *f ? 0 : (uint32_t)((int64_t)*f + delta);
	use_gc(s, u);
}

int jst__quota_check(struct jst_server *s, uid_t uid, bool admin, enum quota_kind k, char *why,
		     size_t n)
{
	static const char *const what[] = {
		[Q_JOBS] = "jobs", [Q_ERRORS] = "retained errors", [Q_CONNS] = "connections",
		[Q_PENDING] = "pending requests", [Q_LARGE] = "jobs with a large detail",
	};
	static const char *const option[] = {
		[Q_JOBS] = "quota-jobs", [Q_ERRORS] = "quota-errors",
		[Q_CONNS] = "quota-connections", [Q_PENDING] = "quota-pending",
		[Q_LARGE] = "quota-large-details",
	};
	uint32_t limit = k == Q_JOBS	  ? s->limits.jobs
			 : k == Q_ERRORS  ? s->limits.errors
			 : k == Q_CONNS	  ? s->limits.conns
			 : k == Q_LARGE	  ? s->limits.large
					  : s->limits.pending;
	struct uid_use *u;
	uint32_t have;

	if (admin || uid == 0 || k == Q_PARKED)
		return 0;
	for (u = s->uses; u && u->uid != uid; u = u->next)
		;
	have = u ? *field(u, k) : 0;
	if (have < limit)
		return 0;
	snprintf(why, n, "uid %ld holds %" PRIu32 " %s, its quota (%s) is %" PRIu32,
		 (long)uid, have, what[k], option[k], limit);
	return JST_EQUOTA;
}

/*
 * The large-detail pool is shared like the error pool: a job whose strings
 * (and extension record) do not fit a small block takes a large one, and
 * one uid with long strings could take them all. A change that would give
 * job @h a large detail it does not have yet is refused when its owner holds
 * its quota of them (@why says so); one that keeps a large detail large, or
 * makes it small, is not. Return: true to refuse.
 */
bool jst__large_refused(struct jst_server *s, jst_handle h, bool admin, char *why, size_t n)
{
	struct jobpriv *jp = jst__jp_of(s, h);

	return jp && !jp->large && jst__quota_check(s, jp->owner, admin, Q_LARGE, why, n) < 0;
}

void jst__use_free_all(struct jst_server *s)
{
	while (s->uses) {
		struct uid_use *u = s->uses;

		s->uses = u->next;
		free(u);
	}
}
