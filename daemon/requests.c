/* SPDX-License-Identifier: MIT */
/*
 * requests.c - one handler per control message: decode it, check it against
 * the job rules (jobs.c) and the caller's rights, apply it through the
 * publisher, and reply. A change is acknowledged only once it is published.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server-internal.h"

static bool may_modify(const struct conn *c, const struct jst_status *st)
{
	return c->admin || c->uid == st->owner_uid;
}

static void on_hello(struct jst_server *s, struct conn *c, const struct jst_msg_hdr *h,
		     struct jst_rbuf *r)
{
	struct jst_msg_hello m;
	struct session *x = NULL;
	uint32_t reclaimed = 0;

	if (jst_dec_hello(r, &m) < 0)
		return jst__reply_fail(s, c, h, JST_EPROTO, "malformed HELLO");
	if (c->hello)
		return jst__reply_fail(s, c, h, JST_EPROTO, "HELLO was already sent on this connection");
	if (m.flags & ~(uint32_t)JST_HELLO_PRODUCER)
		return jst__reply_fail(s, c, h, JST_EINVAL, "unknown HELLO flags 0x%" PRIx32, m.flags);
	if (m.flags & JST_HELLO_PRODUCER) {
		x = m.session ? jst__session_find(s, m.session) : NULL;
		if (x && x->uid != c->uid)
			return jst__reply_fail(s, c, h, JST_EPERM,
					  "session %016" PRIx64 " belongs to uid %ld", m.session,
					  (long)x->uid);
		/*
		 * An unknown session gets a new one, never the ID the client chose:
		 * session IDs are visible to every reader, and a freed one must not
		 * be claimable by another uid (its owner's producer would then be
		 * refused for ever). Sessions owning jobs are known from adoption.
		 */
		if (!x)
			x = jst__session_new(s, 0, c->uid);
		if (!x)
			return jst__reply_fail(s, c, h, JST_ENOMEM, "out of memory");
		if (x->conn && x->conn != c)
			x->conn->sess = NULL; /* a reconnect overtook the old connection's close */
		x->conn = c;
		x->lost_due = 0;
		x->gone_since = 0;
		c->sess = x;
		jst__session_set_lost(s, x, false);
		reclaimed = x->njobs;
	}
	c->hello = true;
	/* A producer is known by its session; another client by the token it chose. */
	c->token = x ? x->id : m.token;
	jst__timer_cancel(s, T_HELLO, 0, c->id);
	jst_enc_reply_hello(&s->w, h->id, &(struct jst_msg_hello_reply){
		.session = x ? x->id : 0, .generation = s->generation, .reclaimed = reclaimed,
		.uid = (uint32_t)c->uid});
	jst__conn_send(s, c);
}

/*
 * An InstanceID whose OrgID (what precedes its first ':') is reserved for
 * another uid by --reserve-org: only that uid and root create under it, so a
 * monitor reading "Contoso:backup-17" knows whose job it is. 0, or JST_EPERM
 * with @why naming the owner.
 */
static int org_check(const struct jst_server *s, uid_t uid, const char *id, char *why, size_t wn)
{
	const char *colon = strchr(id, ':');
	size_t len;

	if (!colon || uid == 0)
		return 0;
	len = (size_t)(colon - id);
	for (unsigned i = 0; i < s->cfg.orgs.n; i++) {
		const struct jst_org_reserve *o = &s->cfg.orgs.v[i];

		if (strlen(o->org) == len && !memcmp(o->org, id, len) && o->uid != (uint32_t)uid) {
			snprintf(why, wn, "%s: the OrgID \"%s\" is reserved for uid %" PRIu32
				 " (jobstatd --reserve-org); uid %ld may not create jobs under it",
				 id, o->org, o->uid, (long)uid);
			return JST_EPERM;
		}
	}
	return 0;
}

static void on_create(struct jst_server *s, struct conn *c, const struct jst_msg_hdr *h,
		      struct jst_rbuf *r)
{
	struct jst_msg_create m;
	struct jst_status st = {0};
	struct jst_job *job = &s->scratch;
	char genid[64];
	uint64_t now = jst__wall();
	uint16_t init;
	jst_handle jh;
	int rc;

	if (jst_dec_create(r, &m) < 0)
		return jst__reply_fail(s, c, h, JST_EPROTO, "malformed CREATE");
	if (!c->sess)
		return jst__reply_fail(s, c, h, JST_EINVAL,
				  "only a producer connection creates jobs (connect as a producer)");
	if (m.flags & ~(uint32_t)(JST_CREATE_DELETE_ON_COMPLETION | JST_CREATE_CANCELLABLE |
				  JST_CREATE_HAS_TBR | JST_CREATE_RETRY | JST_CREATE_TRANSFER))
		return jst__reply_fail(s, c, h, JST_EINVAL, "unknown CREATE flags 0x%" PRIx32, m.flags);
	if ((m.flags & JST_CREATE_TRANSFER) && m.initial_state)
		return jst__reply_fail(s, c, h, JST_EINVAL,
				  "a transfer job starts SUSPENDED: give no initial JobState");
	init = m.initial_state ? m.initial_state : JST_JOB_NEW;
	if (jst_job_state_check(JST_JOB_NEW, init) < 0 || jst_job_state_is_final(init))
		return jst__reply_fail(s, c, h, JST_ETRANSITION,
				  "a job cannot start in JobState %u (%s)", init,
				  jst_job_state_name(init));
	if (!m.instance_id) {
		jst_random_instance_id(genid, sizeof(genid));
		m.instance_id = genid;
	} else {
		char why[JST_DETAIL_MAX];

		if (org_check(s, c->uid, m.instance_id, why, sizeof(why)) < 0)
			return jst__reply_fail(s, c, h, JST_EPERM, "%s", why);
	}
	st.percent_complete = 0;
	st.job_type = m.job_type;
	st.priority = m.priority;
	st.flags = (uint8_t)(((m.flags & JST_CREATE_DELETE_ON_COMPLETION)
				      ? JST_STATUS_DELETE_ON_COMPLETION : 0) |
			     ((m.flags & JST_CREATE_CANCELLABLE) ? JST_STATUS_CANCELLABLE : 0));
	st.time_submitted = now;
	st.job_state = JST_JOB_NEW;
	if (m.flags & JST_CREATE_TRANSFER)
		jst__transfer_move(&st, JST_BG_SUSPENDED, false, now, false);
	else
		jst__state_move(&st, init, false, now);
	/*
	 * TimeOfLastStateChange stays NULL until the state changes (CIM_Job):
	 * a job created in Running, or a transfer job in SUSPENDED, has not
	 * changed state yet, whatever the moves above wrote.
	 */
	st.time_of_last_state_change = 0;
	st.time_before_removal_ns = (m.flags & JST_CREATE_HAS_TBR) ? m.time_before_removal_ns
								   : JST_DEFAULT_TIME_BEFORE_REMOVAL_NS;
	st.owner_uid = (uint32_t)c->uid;
	st.producer_session = c->sess->id;
	memset(job, 0, offsetof(struct jst_job, text));
	job->name = m.name ? m.name : "job";
	job->owner = m.owner;
	job->notify = m.notify;
	job->job_status = m.job_status;
	if (m.flags & JST_CREATE_RETRY) {
		struct jst_status cur;

		/*
		 * A resend: if the first copy created it before a daemon restart, the
		 * job is this session's already and is the answer. Anything else is an
		 * ordinary create, quota and all (the flag is the client's word only).
		 */
		if (jst_pub_lookup(s->pub, m.instance_id, &jh) == 0 &&
		    jst_pub_status(s->pub, jh, &cur) == 0 &&
		    cur.producer_session == c->sess->id && cur.owner_uid == (uint32_t)c->uid)
			goto created;
	}
	{
		char why[JST_DETAIL_MAX], why_large[JST_DETAIL_MAX];
		/* Strings long enough for a large detail count against that quota too. */
		bool no_large = jst__quota_check(s, c->uid, c->admin, Q_LARGE, why_large,
						 sizeof(why_large)) < 0;

		if (jst__quota_check(s, c->uid, c->admin, Q_JOBS, why, sizeof(why)) < 0)
			return jst__reply_fail(s, c, h, JST_EQUOTA, "%s", why);
		rc = jst_pub_job_create_with(s->pub, m.instance_id, &st, job,
					     no_large ? JST_PUB_REFUSE_LARGE : 0, &jh);
		if (rc == JST_EQUOTA)
			return jst__reply_fail(s, c, h, rc, "%s: its strings need a large detail "
					       "block: %s", m.instance_id, why_large);
	}
	if (rc < 0)
		return rc == JST_ENOSPC ? jst__reply_fail(s, c, h, rc, "%s: the segment's %s pool is full",
							  m.instance_id, jst_pub_full_pool(s->pub))
					: jst__reply_fail(s, c, h, rc, "%s: %s", m.instance_id,
							  jst_strerror(rc));
	jst__job_track(s, jh, c->sess, c->uid);
	jst__job_usage_changed(s, jh);
	jst_counters_add(jst_pub_counters(s->pub), JST_COUNTER_JOBS_CREATED, 1);
created:
	jst_enc_reply_create(&s->w, h->id, &(struct jst_msg_create_reply){jh, m.instance_id});
	jst__conn_send(s, c);
}

/* Apply one update record; its result code. */
static int apply_update(struct jst_server *s, struct conn *c, const struct jst_update *u,
			char *why, size_t wn)
{
	struct jst_status st;
	struct jobpriv *jp;
	uint64_t now = jst__wall();
	bool strings = false, entering_final = false;
	int rc = jst_pub_status(s->pub, u->handle, &st);

	if (rc < 0)
		return rc == JST_ESTALE || rc == JST_EINVAL ? JST_ESTALE : rc;
	if (!may_modify(c, &st)) {
		snprintf(why, wn, "job %" PRIu32 " belongs to uid %" PRIu32, u->handle.slot,
			 st.owner_uid);
		return JST_EPERM;
	}
	if (u->set & ~(uint32_t)JST_SET_ALL) {
		snprintf(why, wn, "unknown update fields 0x%" PRIx32, u->set);
		return JST_EINVAL;
	}
	if ((u->set & JST_SET_PERCENT) && u->percent_complete > 101) {
		snprintf(why, wn, "PercentComplete %u is not 0..100 (or 101, undefined)",
			 u->percent_complete);
		return JST_EINVAL;
	}
	if ((u->set & JST_SET_OP_STATUS) && u->n_operational_status == 0) {
		snprintf(why, wn, "OperationalStatus needs at least one value");
		return JST_EINVAL;
	}
	if ((u->set & JST_SET_STATE) && st.transfer_state) {
		snprintf(why, wn, "a transfer job's JobState follows its transfer state "
				  "(set JST_SET_TRANSFER_STATE)");
		return JST_EINVAL;
	}
	if ((u->set & JST_SET_TRANSFER_STATE) && !st.transfer_state) {
		snprintf(why, wn, "not a transfer job: it has no transfer state");
		return JST_EINVAL;
	}
	jp = jst__jp_of(s, u->handle);
	if (u->set & JST_SET_TRANSFER_STATE) {
		uint16_t from = (uint16_t)(st.transfer_state - 1);

		rc = jst_transfer_check(from, u->transfer_state);
		if (rc < 0) {
			snprintf(why, wn, "transfer state %s cannot become %s",
				 jst_transfer_state_name(from),
				 jst_transfer_state_name(u->transfer_state));
			return rc;
		}
		if (u->transfer_state != from) {
			uint16_t old_state = st.job_state;

			if (jp && u->transfer_state == JST_BG_TRANSFERRING)
				jp->do_err = false; /* transferring again: the episode is over */
			jst__transfer_move(&st, u->transfer_state,
				      (u->set & JST_SET_OP_STATUS) || (jp && jp->lost), now,
				      jp && jp->do_err);
			entering_final = !jst_job_state_is_final(old_state) &&
					 jst_job_state_is_final(st.job_state);
			strings = old_state != st.job_state;
		}
	}
	if (u->set & JST_SET_STATE) {
		rc = jst_job_state_check(st.job_state, u->job_state);
		if (rc < 0) {
			snprintf(why, wn, "JobState %u (%s) cannot become %u (%s)", st.job_state,
				 jst_job_state_name(st.job_state), u->job_state,
				 jst_job_state_name(u->job_state));
			return rc;
		}
		entering_final = !jst_job_state_is_final(st.job_state) &&
				 jst_job_state_is_final(u->job_state);
		if (u->job_state != st.job_state && !(u->set & JST_SET_OP_STATUS)) {
			jst__state_move(&st, u->job_state, jp && jp->lost, now);
			strings = true; /* the old StatusDescriptions described the old status */
		} else {
			jst__state_move(&st, u->job_state, true, now);
		}
	}
	if (u->set & JST_SET_PERCENT)
		st.percent_complete = u->percent_complete;
	if (u->set & JST_SET_ERROR_CODE)
		st.error_code = u->error_code;
	if (u->set & JST_SET_OP_STATUS) {
		memset(st.operational_status, 0, sizeof(st.operational_status));
		memcpy(st.operational_status, u->operational_status,
		       u->n_operational_status * sizeof(uint16_t));
		st.n_operational_status = (uint8_t)u->n_operational_status;
		if (jp)
			jp->lost = false;
	}
	jst__elapsed_update(&st, now);
	if (u->set & (JST_SET_OP_STATUS | JST_SET_JOB_STATUS | JST_SET_ERROR_DESCRIPTION))
		strings = true;
	if (strings) {
		rc = jst_pub_job(s->pub, u->handle, &s->scratch);
		if (rc < 0)
			return rc;
		if (u->set & JST_SET_OP_STATUS) {
			s->scratch.n_status_descriptions = u->n_operational_status;
			memcpy(s->scratch.status_descriptions, u->status_descriptions,
			       sizeof(s->scratch.status_descriptions));
		} else if (u->set & JST_SET_STATE) {
			s->scratch.n_status_descriptions = 0;
		}
		if (u->set & JST_SET_JOB_STATUS)
			s->scratch.job_status = u->job_status;
		if (u->set & JST_SET_ERROR_DESCRIPTION)
			s->scratch.error_description = u->error_description;
	}
	{
		char why_large[160]; /* the quota's sentence, with room for ours before it */
		bool no_large = strings && jst__large_refused(s, u->handle, c->admin, why_large,
							      sizeof(why_large));

		rc = jst__job_publish(s, u->handle, &st, strings, entering_final, no_large);
		if (rc == JST_EQUOTA)
			snprintf(why, wn, "job %" PRIu32 ": its strings would need a large detail "
				 "block: %s", u->handle.slot, why_large);
	}
	if (rc == JST_ENOSPC)
		snprintf(why, wn, "the segment's %s pool is full", jst_pub_full_pool(s->pub));
	else if (rc < 0 && rc != JST_EQUOTA)
		snprintf(why, wn, "%s", jst_strerror(rc));
	return rc;
}

static void on_update(struct jst_server *s, struct conn *c, const struct jst_msg_hdr *h,
		      struct jst_rbuf *r)
{
	static struct jst_msg_update_reply rep;
	int16_t *codes = rep.codes;
	struct jst_rbuf check = *r;
	struct jst_update u;
	char why[JST_DETAIL_MAX] = "";
	uint32_t n;
	int first = 0;

	/* Decode everything first: a malformed batch changes nothing. */
	if (jst_dec_update_count(&check, &n) < 0)
		return jst__reply_fail(s, c, h, JST_EPROTO, "UPDATE needs 1..%d records",
				  JST_BATCH_MAX);
	for (uint32_t i = 0; i < n; i++)
		if (jst_dec_update_rec(&check, &u) < 0)
			return jst__reply_fail(s, c, h, JST_EPROTO, "malformed UPDATE record %" PRIu32, i);
	if (jst_rd_end(&check) < 0)
		return jst__reply_fail(s, c, h, JST_EPROTO, "trailing bytes after the UPDATE records");
	jst_dec_update_count(r, &n);
	for (uint32_t i = 0; i < n; i++) {
		char w1[JST_DETAIL_MAX] = "";

		jst_dec_update_rec(r, &u);
		codes[i] = (int16_t)apply_update(s, c, &u, w1, sizeof(w1));
		if (codes[i] == JST_ENOSPC)
			jst_counters_refused(jst_pub_counters(s->pub), JST_SHM_REFUSE_SEGMENT_FULL);
		else if (codes[i] == JST_EQUOTA)
			jst_counters_refused(jst_pub_counters(s->pub), JST_SHM_REFUSE_QUOTA);
		if (codes[i] < 0 && !first) {
			first = codes[i];
			snprintf(why, sizeof(why), "record %" PRIu32 ": %s", i,
				 w1[0] ? w1 : jst_strerror(first));
		}
	}
	rep.n = n;
	jst_enc_reply_update(&s->w, h->id, first, why, &rep);
	jst__conn_send(s, c);
}

static void on_error(struct jst_server *s, struct conn *c, const struct jst_msg_hdr *h,
		     struct jst_rbuf *r)
{
	struct jst_status st;
	char why_large[JST_DETAIL_MAX];
	jst_handle jh;
	uint64_t rec;
	bool fail, no_large;
	int rc;

	if (jst_dec_error(r, &jh, &fail, &s->err) < 0)
		return jst__reply_fail(s, c, h, JST_EPROTO, "malformed ERROR");
	if (!s->err.message_id)
		return jst__reply_fail(s, c, h, JST_EINVAL, "a CIM_Error needs a MessageID");
	{
		char why[JST_DETAIL_MAX];
		int vr = jst_error_validate(&s->err, why, sizeof(why));

		/* The library checks before sending; a client that does not is refused here. */
		if (vr < 0)
			return jst__reply_fail(s, c, h, vr, "%s", why);
	}
	rc = jst_pub_status(s->pub, jh, &st);
	if (rc < 0)
		return jst__reply_fail(s, c, h, JST_ESTALE, "no job behind handle %" PRIu32 "/%" PRIu32,
				  jh.slot, jh.gen);
	if (!may_modify(c, &st))
		return jst__reply_fail(s, c, h, JST_EPERM, "the job belongs to uid %" PRIu32,
				  st.owner_uid);
	if (c->resent && jst_req_record_matches(st.reserved, c->token, h->id)) {
		/* Applied before the daemon was lost, not acknowledged: acknowledge it now. */
		jst_enc_reply_ok(&s->w, h->type, h->id);
		return jst__conn_send(s, c);
	}
	rec = jst_req_record(c->token, h->id, 0);
	{
		char why[JST_DETAIL_MAX];

		/* A job keeping its last 8 drops one for each new: no growth, no refusal. */
		if (st.n_errors < JST_ERRORS_KEPT &&
		    jst__quota_check(s, (uid_t)st.owner_uid, c->admin, Q_ERRORS, why,
				     sizeof(why)) < 0)
			return jst__reply_fail(s, c, h, JST_EQUOTA, "%s", why);
	}
	/* A failure's message becomes ErrorDescription: it may make the detail large. */
	no_large = jst__large_refused(s, jh, c->admin, why_large, sizeof(why_large));
	if (fail) {
		uint64_t now = jst__wall();

		if (jst_job_state_is_final(st.job_state) ||
		    (st.transfer_state &&
		     jst_transfer_check((uint16_t)(st.transfer_state - 1), JST_BG_ERROR) < 0))
			return jst__reply_fail(s, c, h, JST_ETRANSITION,
					  "JobState %u (%s) cannot fail now", st.job_state,
					  jst_job_state_name(st.job_state));
		rc = jst_pub_job(s->pub, jh, &s->scratch);
		if (rc == 0) {
			bool entering = !jst_job_state_is_final(st.job_state);

			if (st.transfer_state) /* a transfer fails into ERROR, Resume retries */
				jst__transfer_move(&st, JST_BG_ERROR, false, now, true);
			else
				jst__state_move(&st, JST_JOB_EXCEPTION, false, now);
			entering = entering && jst_job_state_is_final(st.job_state);
			jst__elapsed_update(&st, now);
			s->scratch.n_status_descriptions = 0;
			s->scratch.error_description = s->err.message ? s->err.message
								     : s->err.message_id;
			rc = jst_pub_publish(s->pub, jh, &(struct jst_pub_change){
				.status = &st, .strings = &s->scratch, .error = &s->err,
				.request_record = c->token ? &rec : NULL, .refuse_large = no_large});
			if (rc == 0 && entering)
				jst_counters_finished(jst_pub_counters(s->pub), st.job_state,
						      st.job_type);
			if (rc == 0 && entering && (st.flags & JST_STATUS_DELETE_ON_COMPLETION))
				jst__schedule_removal(s, jh, &st);
		}
	} else {
		uint16_t bg = st.transfer_state ? (uint16_t)(st.transfer_state - 1) : 0xffff;

		/* In ERROR or TRANSIENT_ERROR, this error is the episode's error object. */
		if (bg == JST_BG_ERROR || bg == JST_BG_TRANSIENT_ERROR)
			st.flags |= JST_STATUS_DO_ERROR;
		rc = jst_pub_publish(s->pub, jh, &(struct jst_pub_change){
			.status = st.transfer_state ? &st : NULL, .error = &s->err,
			.request_record = c->token ? &rec : NULL, .refuse_large = no_large});
	}
	if (rc == 0 && st.transfer_state) {
		struct jobpriv *jp = jst__jp_of(s, jh);

		if (jp)
			jp->do_err = true; /* this episode has an error now */
	}
	if (rc == JST_EQUOTA)
		return jst__reply_fail(s, c, h, rc, "the job's detail with this error would need a "
				       "large block: %s", why_large);
	if (rc == JST_ENOSPC)
		return jst__reply_fail(s, c, h, rc, "the segment's %s pool is full",
				       jst_pub_full_pool(s->pub));
	if (rc < 0)
		return jst__reply_fail(s, c, h, rc, "%s", jst_strerror(rc));
	jst__job_usage_changed(s, jh);
	jst_counters_error(jst_pub_counters(s->pub), s->err.perceived_severity);
	if (s->cfg.crash_after == JST_MSG_ERROR)
		raise(SIGKILL); /* tests: applied, never acknowledged */
	jst_enc_reply_ok(&s->w, h->type, h->id);
	jst__conn_send(s, c);
}

/* PROPS: the producer changes properties of its job, all in one version. */
static void on_props(struct jst_server *s, struct conn *c, const struct jst_msg_hdr *h,
		     struct jst_rbuf *r)
{
	struct jst_msg_props m;
	const struct jst_job_props *p = &m.p;
	struct jst_status st;
	struct jst_pub_ext x;
	char why[JST_DETAIL_MAX];
	bool strings, ext;
	int rc;

	if (jst_dec_props(r, &m) < 0)
		return jst__reply_fail(s, c, h, JST_EPROTO, "malformed PROPS");
	/* The library checks before sending; a client that does not is refused here. */
	rc = jst_job_props_validate(p, sizeof(*p), why, sizeof(why));
	if (rc < 0)
		return jst__reply_fail(s, c, h, rc, "%s", why);
	rc = jst_pub_status(s->pub, m.handle, &st);
	if (rc < 0)
		return jst__reply_fail(s, c, h, JST_ESTALE, "no job behind handle %" PRIu32 "/%" PRIu32,
				       m.handle.slot, m.handle.gen);
	if (!may_modify(c, &st))
		return jst__reply_fail(s, c, h, JST_EPERM, "the job belongs to uid %" PRIu32,
				       st.owner_uid);
	if (p->set & JST_PROP_PRIORITY)
		st.priority = p->priority;
	if (p->set & JST_PROP_DELETE_ON_COMPLETION)
		st.flags = (uint8_t)((st.flags & ~JST_STATUS_DELETE_ON_COMPLETION) |
				     (p->delete_on_completion ? JST_STATUS_DELETE_ON_COMPLETION : 0));
	if (p->set & JST_PROP_TIME_BEFORE_REMOVAL)
		st.time_before_removal_ns = (uint64_t)p->time_before_removal_ns;
	if (p->set & JST_PROP_RECOVERY_ACTION)
		st.recovery_action = p->recovery_action;
	strings = p->set & (JST_PROP_RECOVERY_ACTION | JST_PROP_ERROR_SUMMARY);
	if (strings) {
		rc = jst_pub_job(s->pub, m.handle, &s->scratch);
		if (rc < 0)
			return jst__reply_fail(s, c, h, rc, "%s", jst_strerror(rc));
		if (p->set & JST_PROP_RECOVERY_ACTION)
			s->scratch.other_recovery_action = p->other_recovery_action;
		if (p->set & JST_PROP_ERROR_SUMMARY)
			s->scratch.error_summary_description = p->error_summary_description;
	}
	ext = p->set & (JST_PROP_ELEMENT_NAME | JST_PROP_CAPTION | JST_PROP_DESCRIPTION |
			JST_PROP_SCHEDULED_START_TIME | JST_PROP_UNTIL_TIME |
			JST_PROP_JOB_RUN_TIMES | JST_PROP_LOCAL_OR_UTC_TIME);
	if (ext) {
		rc = jst_pub_ext_get(s->pub, m.handle, &x);
		if (rc < 0)
			return jst__reply_fail(s, c, h, rc, "%s", jst_strerror(rc));
		if (p->set & JST_PROP_ELEMENT_NAME)
			x.element_name = p->element_name;
		if (p->set & JST_PROP_CAPTION)
			x.caption = p->caption;
		if (p->set & JST_PROP_DESCRIPTION)
			x.description = p->description;
		if (p->set & JST_PROP_SCHEDULED_START_TIME)
			x.scheduled_start_time = p->scheduled_start_time;
		if (p->set & JST_PROP_UNTIL_TIME)
			x.until_time = p->until_time;
		if (p->set & JST_PROP_JOB_RUN_TIMES)
			x.job_run_times = p->job_run_times;
		if (p->set & JST_PROP_LOCAL_OR_UTC_TIME)
			x.local_or_utc_time = p->local_or_utc_time;
	}
	{
		char why_large[JST_DETAIL_MAX];
		bool no_large = jst__large_refused(s, m.handle, c->admin, why_large,
						   sizeof(why_large));

		rc = jst_pub_publish(s->pub, m.handle, &(struct jst_pub_change){
			.status = &st, .strings = strings ? &s->scratch : NULL,
			.ext = ext ? &x : NULL, .refuse_large = no_large});
		if (rc == JST_EQUOTA)
			return jst__reply_fail(s, c, h, rc, "these properties would need a large "
					       "detail block: %s", why_large);
	}
	if (rc == 0 && (strings || ext))
		jst__job_usage_changed(s, m.handle);
	if (rc == JST_ENOSPC)
		return jst__reply_fail(s, c, h, rc, "the segment's %s pool is full",
				       jst_pub_full_pool(s->pub));
	if (rc < 0)
		return jst__reply_fail(s, c, h, rc, "%s", jst_strerror(rc));
	/*
	 * A finished job's removal that DeleteOnCompletion scheduled follows the
	 * new settings: moved to the new TimeBeforeRemoval, or dropped with
	 * DeleteOnCompletion; one its owner or the orphan timeout asked for stays.
	 */
	if ((p->set & (JST_PROP_DELETE_ON_COMPLETION | JST_PROP_TIME_BEFORE_REMOVAL)) &&
	    jst_job_state_is_final(st.job_state)) {
		struct jobpriv *jp = jst__jp_of(s, m.handle);

		if (jp && jp->remove_due && !jp->remove_asked) {
			jst__timer_cancel(s, T_REMOVE, m.handle.slot, 0);
			jp->remove_due = 0;
		}
		if (st.flags & JST_STATUS_DELETE_ON_COMPLETION)
			jst__schedule_removal(s, m.handle, &st);
	}
	jst_enc_reply_ok(&s->w, h->type, h->id);
	jst__conn_send(s, c);
}

static void on_remove(struct jst_server *s, struct conn *c, const struct jst_msg_hdr *h,
		      struct jst_rbuf *r)
{
	struct jst_msg_remove m;
	struct jst_status st;
	uint64_t when = jst__wall();
	int rc;

	if (jst_dec_remove(r, &m) < 0)
		return jst__reply_fail(s, c, h, JST_EPROTO, "malformed REMOVE");
	if (m.flags & ~(uint32_t)JST_REMOVE_NOW)
		return jst__reply_fail(s, c, h, JST_EINVAL, "unknown REMOVE flags 0x%" PRIx32, m.flags);
	if (jst_pub_status(s->pub, m.handle, &st) < 0)
		return jst__reply_fail(s, c, h, JST_ESTALE, "no job behind handle %" PRIu32 "/%" PRIu32,
				  m.handle.slot, m.handle.gen);
	if (!may_modify(c, &st))
		return jst__reply_fail(s, c, h, JST_EPERM, "the job belongs to uid %" PRIu32,
				  st.owner_uid);
	if (!(m.flags & JST_REMOVE_NOW) && !jst_job_state_is_final(st.job_state))
		return jst__reply_fail(s, c, h, JST_ENOTFINISHED,
				  "JobState %u (%s) is not final: terminate it, or remove it now",
				  st.job_state, jst_job_state_name(st.job_state));
	if (!(m.flags & JST_REMOVE_NOW) &&
	    st.time_of_last_state_change + st.time_before_removal_ns > when) {
		struct jobpriv *jp = jst__jp_of(s, m.handle);

		when = jst__schedule_removal(s, m.handle, &st);
		if (jp)
			jp->remove_asked = true;
	} else {
		rc = jst__job_remove(s, m.handle);
		if (rc < 0)
			return jst__reply_fail(s, c, h, rc, "%s", jst_strerror(rc));
	}
	jst_enc_reply_remove(&s->w, h->id, &(struct jst_msg_remove_reply){when});
	jst__conn_send(s, c);
}

static void on_request(struct jst_server *s, struct conn *c, const struct jst_msg_hdr *h,
		       struct jst_rbuf *r)
{
	struct jst_msg_request m;
	struct jst_msg_event ev;
	struct jst_status st;
	struct jobpriv *jp;
	struct pending *p;
	jst_handle jh;
	uint16_t target;
	uint32_t cim;
	int rc;

	if (jst_dec_request(r, &m) < 0)
		return jst__reply_fail(s, c, h, JST_EPROTO, "malformed REQUEST");
	if (!m.instance_id || jst_pub_lookup(s->pub, m.instance_id, &jh) < 0 ||
	    jst_pub_status(s->pub, jh, &st) < 0)
		return jst__reply_fail(s, c, h, JST_ENOJOB, "no job \"%s\"",
				  m.instance_id ? m.instance_id : "(null)");
	if (!may_modify(c, &st))
		return jst__reply_fail(s, c, h, JST_EPERM, "%s belongs to uid %" PRIu32, m.instance_id,
				  st.owner_uid);
	/* A request may not hold its job for longer than this: others must get their turn. */
	if (m.timeout_ns > JST_SERVER_MAX_RSC_TIMEOUT_NS)
		return jst__reply_fail(s, c, h, JST_EINVAL,
				       "TimeoutPeriod %" PRIu64 " s is over the %llu s jobstatd allows",
				       m.timeout_ns / 1000000000,
				       JST_SERVER_MAX_RSC_TIMEOUT_NS / 1000000000);
	target = jst__requested_target(m.requested_state);
	if (c->resent && target) {
		/*
		 * Sent again after the daemon was lost: if the first copy was answered,
		 * that answer; if it was carried out but not answered, the job is where
		 * it was asked to go, and that is a success. Not applied a second time.
		 */
		bool there = st.transfer_state
				     ? (target == JST_JOB_TERMINATED || target == JST_JOB_KILLED) &&
					       st.transfer_state == JST_BG_CANCELLED + 1
				     : st.job_state == target;
		uint32_t answer = JST_RSC_COMPLETED;

		if (jst_req_record_matches(st.reserved, c->token, h->id) &&
		    jst_req_record_answer(st.reserved) != JST_REQ_NO_ANSWER)
			answer = jst_req_record_answer(st.reserved);
		else if (!there)
			goto fresh;
		jst_counters_rsc(jst_pub_counters(s->pub), answer);
		jst_enc_reply_request(&s->w, h->id, &(struct jst_msg_request_reply){answer});
		return jst__conn_send(s, c);
	}
fresh:
	if (!target)
		return jst__reply_fail(s, c, h, JST_EINVAL,
				  "RequestedState %u is not 2 Start, 3 Suspend, 4 Terminate, "
				  "5 Kill or 6 Service", m.requested_state);
	if ((m.requested_state == JST_REQ_TERMINATE || m.requested_state == JST_REQ_KILL) &&
	    !(st.flags & JST_STATUS_CANCELLABLE))
		return jst__reply_fail(s, c, h, JST_ENOTSUP, "%s is not cancellable", m.instance_id);
	if (st.transfer_state) {
		/* BITS: Resume (Start), Suspend, Cancel (Terminate or Kill); nothing else. */
		uint16_t bg = m.requested_state == JST_REQ_START	? JST_BG_QUEUED
			      : m.requested_state == JST_REQ_SUSPEND ? JST_BG_SUSPENDED
			      : m.requested_state == JST_REQ_SERVICE ? 0xffff
								      : JST_BG_CANCELLED;
		uint16_t from = (uint16_t)(st.transfer_state - 1);

		if (bg == 0xffff)
			return jst__reply_fail(s, c, h, JST_ENOTSUP, "a transfer job has no Service state");
		if (jst_transfer_check(from, bg) < 0 || from == JST_BG_ACKNOWLEDGED ||
		    from == JST_BG_CANCELLED)
			return jst__reply_fail(s, c, h, JST_ETRANSITION,
					  "transfer state %s cannot become %s",
					  jst_transfer_state_name(from), jst_transfer_state_name(bg));
	} else if (jst_job_state_is_final(st.job_state) ||
		   jst_job_state_check(st.job_state, target) < 0)
		return jst__reply_fail(s, c, h, JST_ETRANSITION, "JobState %u (%s) cannot become %u (%s)",
				  st.job_state, jst_job_state_name(st.job_state), target,
				  jst_job_state_name(target));
	jp = jst__jp_of(s, jh);
	if (!jp)
		return jst__reply_fail(s, c, h, JST_ENOJOB, "no job \"%s\"", m.instance_id);
	if (jp->pending && c->admin && c->uid != st.owner_uid &&
	    (target == JST_JOB_TERMINATED || target == JST_JOB_KILLED)) {
		/*
		 * An administrator's Terminate or Kill is not kept waiting behind a
		 * request the owner's side may never let go of: that one is answered
		 * as failed, and this one goes ahead.
		 */
		for (struct pending *q = s->pendings; q; q = q->next) {
			if (q->h.slot == jh.slot && q->h.gen == jh.gen) {
				jst__pending_answer(s, q, 0, JST_RSC_FAILED);
				jst__pending_unlink(s, q);
				break;
			}
		}
	}
	if (jp->pending)
		return jst__reply_fail(s, c, h, JST_EPENDING, "a request for %s is already pending",
				  m.instance_id);
	if (target == JST_JOB_TERMINATED || target == JST_JOB_KILLED) {
		jp->by_state = target; /* whoever ends it now, it ends at this client's request */
		jp->by_uid = (uint32_t)c->uid;
		jp->by_pid = (int32_t)c->pid;
	}
	if (!jp->sess || !jp->sess->conn) {
		rc = jst__terminate_orphan(s, jh, m.requested_state, &cim);
		if (rc < 0) {
			jp->by_state = 0;
			return jst__reply_fail(s, c, h, rc, "%s: %s", m.instance_id,
					  rc == JST_ENOPRODUCER ? "its producer is not connected"
								: jst_strerror(rc));
		}
		jst__record_answer(s, jh, c->token, h->id, cim);
		jst_counters_rsc(jst_pub_counters(s->pub), cim);
		jst_enc_reply_request(&s->w, h->id, &(struct jst_msg_request_reply){cim});
		return jst__conn_send(s, c);
	}
	{
		char why[JST_DETAIL_MAX];

		if (jst__quota_check(s, c->uid, c->admin, Q_PENDING, why, sizeof(why)) < 0) {
			jp->by_state = 0;
			return jst__reply_fail(s, c, h, JST_EQUOTA, "%s", why);
		}
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return jst__reply_fail(s, c, h, JST_ENOMEM, "out of memory");
	if (!++s->next_event)
		s->next_event = 1;
	*p = (struct pending){
		.event_id = s->next_event, .h = jh, .requested = m.requested_state,
		.requester = c, .req_id = h->id, .uid = c->uid, .token = c->token, .sess = jp->sess,
		.due = jst__mono() + (m.timeout_ns ? m.timeout_ns : JST_SERVER_DEFAULT_RSC_TIMEOUT_NS),
		.timeout_given = m.timeout_ns != 0,
		.by_admin = c->admin && c->uid != st.owner_uid,
		.next = s->pendings,
	};
	s->pendings = p;
	jst__use_add(s, p->uid, Q_PENDING, 1);
	jp->pending = true;
	jst__timer_add(s, p->due, T_RSC, p->event_id, 0, 0);
	ev = (struct jst_msg_event){
		.event_id = p->event_id,
		.rq = {.handle = jh, .instance_id = m.instance_id,
		       .requested_state = m.requested_state, .requester_uid = (uint32_t)c->uid,
		       .requester_pid = (int32_t)c->pid, .timeout_ns = m.timeout_ns},
	};
	jst_enc_event(&s->w, &ev);
	jst__conn_send(s, jp->sess->conn);
}

static void on_event_reply(struct jst_server *s, struct conn *c, const struct jst_msg_hdr *h,
			   struct jst_rbuf *r)
{
	struct jst_msg_event_reply m;

	if (jst_dec_event_reply(r, &m) < 0)
		return jst__reply_fail(s, c, h, JST_EPROTO, "malformed EVENT_REPLY");
	for (struct pending *p = s->pendings; p; p = p->next) {
		if (p->event_id == m.event_id && p->sess && p->sess->conn == c && !p->under_way) {
			struct jst_status st;

			/*
			 * TimeoutPeriod is how long the requester expects the transition to
			 * take (DMTF): a producer that started it (4096) has until then to
			 * bring the job there, and the requester gets 0 when it does.
			 */
			if (m.cim == JST_RSC_STARTED && p->timeout_given &&
			    jst_pub_status(s->pub, p->h, &st) == 0 && !st.transfer_state &&
			    st.job_state != jst__requested_target(p->requested)) {
				p->under_way = true;
				return;
			}
			jst__pending_answer(s, p, 0, m.cim);
			jst__pending_unlink(s, p);
			return;
		}
	}
	/* Late (timed out) or not ours: nothing waits for it. */
}

static void on_get(struct jst_server *s, struct conn *c, const struct jst_msg_hdr *h,
		   struct jst_rbuf *r)
{
	struct jst_rbuf check = *r;
	uint32_t n = jst_rd_u32(&check);

	if (check.bad || n == 0 || n > JST_GET_MAX)
		return jst__reply_fail(s, c, h, JST_EPROTO, "GET needs 1..%d handles", JST_GET_MAX);
	for (uint32_t i = 0; i < n; i++)
		jst_rd_u64(&check);
	if (jst_rd_end(&check) < 0)
		return jst__reply_fail(s, c, h, JST_EPROTO, "malformed GET");
	n = jst_rd_u32(r);
	jst_enc_reply_get(&s->w, h->id, n);
	for (uint32_t i = 0; i < n; i++) {
		struct jst_status st;
		jst_handle jh;
		int rc;

		jh.slot = jst_rd_u32(r);
		jh.gen = jst_rd_u32(r);
		rc = jst_pub_status(s->pub, jh, &st);
		jst_enc_reply_get_item(&s->w, rc, &st);
	}
	jst__conn_send(s, c);
}

static void on_get_by_id(struct jst_server *s, struct conn *c, const struct jst_msg_hdr *h,
			 struct jst_rbuf *r)
{
	const char *id = jst_rd_str(r);
	struct jst_status st;
	jst_handle jh;
	int rc;

	if (jst_rd_end(r) < 0 || !id)
		return jst__reply_fail(s, c, h, JST_EPROTO, "malformed GET_BY_ID");
	rc = jst_pub_lookup(s->pub, id, &jh);
	if (rc == 0)
		rc = jst_pub_status(s->pub, jh, &st);
	if (rc < 0)
		return jst__reply_fail(s, c, h, rc, "%s: %s", id, jst_strerror(rc));
	jst_enc_reply_get_by_id(&s->w, h->id, &st);
	jst__conn_send(s, c);
}

static void on_get_error(struct jst_server *s, struct conn *c, const struct jst_msg_hdr *h,
			 struct jst_rbuf *r)
{
	jst_handle jh;
	uint32_t idx;
	int rc;

	jh.slot = jst_rd_u32(r);
	jh.gen = jst_rd_u32(r);
	idx = jst_rd_u32(r);
	if (jst_rd_end(r) < 0)
		return jst__reply_fail(s, c, h, JST_EPROTO, "malformed GET_ERROR");
	rc = jst_error_read(s->reads, jh, idx, &s->err);
	if (rc < 0)
		return jst__reply_fail(s, c, h, rc, "%s", jst_strerror(rc));
	jst_enc_reply_get_error(&s->w, h->id, &s->err);
	jst__conn_send(s, c);
}

static void on_stats(struct jst_server *s, struct conn *c, const struct jst_msg_hdr *h,
		     struct jst_rbuf *r)
{
	struct jst_daemon_stats st = {.connections = s->nconns, .timers = s->ntimers,
				      .heap_bytes = (uint64_t)mallinfo2().uordblks};

	if (jst_rd_end(r) < 0)
		return jst__reply_fail(s, c, h, JST_EPROTO, "STATS has no body");
	for (struct session *x = s->sessions; x; x = x->next)
		st.sessions++;
	for (struct pending *p = s->pendings; p; p = p->next)
		st.pending++;
	jst_enc_reply_stats(&s->w, h->id, &st);
	jst__conn_send(s, c);
}

static void on_quota(struct jst_server *s, struct conn *c, const struct jst_msg_hdr *h,
		     struct jst_rbuf *r)
{
	uint32_t n = 0;
	bool own = false;

	if (jst_rd_end(r) < 0)
		return jst__reply_fail(s, c, h, JST_EPROTO, "QUOTA has no body");
	for (struct uid_use *u = s->uses; u; u = u->next)
		if (c->admin || u->uid == c->uid)
			n++, own |= u->uid == c->uid;
	if (!own && !c->admin)
		n++; /* the caller's own row, empty */
	if (n > JST_QUOTA_MAX)
		n = JST_QUOTA_MAX;
	jst_enc_reply_quota(&s->w, h->id, n);
	for (struct uid_use *u = s->uses; u && n; u = u->next) {
		bool exempt = u->uid == 0 || (u->uid == c->uid && c->admin);

		if (!c->admin && u->uid != c->uid)
			continue;
		jst_enc_reply_quota_item(&s->w, &(struct jst_quota_use){
			.uid = (uint32_t)u->uid, .jobs = u->jobs, .errors = u->errors,
			.connections = u->conns, .pending = u->pending,
			.jobs_max = exempt ? UINT32_MAX : s->limits.jobs,
			.errors_max = exempt ? UINT32_MAX : s->limits.errors,
			.connections_max = exempt ? UINT32_MAX : s->limits.conns,
			.pending_max = exempt ? UINT32_MAX : s->limits.pending});
		n--;
	}
	if (n)
		jst_enc_reply_quota_item(&s->w, &(struct jst_quota_use){
			.uid = (uint32_t)c->uid, .jobs_max = s->limits.jobs,
			.errors_max = s->limits.errors, .connections_max = s->limits.conns,
			.pending_max = s->limits.pending});
	jst__conn_send(s, c);
}

void jst__handle_request(struct jst_server *s, struct conn *c, const struct jst_msg_hdr *h,
			 struct jst_rbuf *r)
{
	switch (h->type) {
	case JST_MSG_HELLO:
		return on_hello(s, c, h, r);
	case JST_MSG_CREATE:
		return on_create(s, c, h, r);
	case JST_MSG_UPDATE:
		return on_update(s, c, h, r);
	case JST_MSG_ERROR:
		return on_error(s, c, h, r);
	case JST_MSG_REMOVE:
		return on_remove(s, c, h, r);
	case JST_MSG_REQUEST:
		return on_request(s, c, h, r);
	case JST_MSG_EVENT_REPLY:
		return on_event_reply(s, c, h, r);
	case JST_MSG_GET:
		return on_get(s, c, h, r);
	case JST_MSG_GET_BY_ID:
		return on_get_by_id(s, c, h, r);
	case JST_MSG_GET_ERROR:
		return on_get_error(s, c, h, r);
	case JST_MSG_STATS:
		return on_stats(s, c, h, r);
	case JST_MSG_QUOTA:
		return on_quota(s, c, h, r);
	case JST_MSG_PROPS:
		return on_props(s, c, h, r);
	default:
		return jst__reply_fail(s, c, h, JST_EPROTO, "unknown message type %u", h->type);
	}
}

