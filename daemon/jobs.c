/* SPDX-License-Identifier: MIT */
/*
 * jobs.c - jobstatd's job rules: state transitions and the times CIM defines,
 * sessions and lost communication, scheduled removal, pending state change
 * requests, the timers behind them, and taking the jobs of an adopted
 * segment back. Every decision reads the daemon's private state and the
 * publisher's private table; the segment is only written (server-internal.h).
 */
#define _GNU_SOURCE
#include <bsd/stdlib.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "server-internal.h"

/* ---- clocks and timers ---- */

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t jst__mono(void)
{
	return now_ns(CLOCK_MONOTONIC);
}

uint64_t jst__wall(void)
{
	return now_ns(CLOCK_REALTIME);
}

static void timer_swap(struct timer *t, uint32_t i, uint32_t j)
{
	struct timer x = t[i];

	t[i] = t[j];
	t[j] = x;
}

void jst__timer_add(struct jst_server *s, uint64_t due, enum timer_kind kind, uint32_t a,
		      uint32_t b, uint64_t c)
{
	uint32_t i;

	if (s->ntimers == s->timer_cap) {
		uint32_t cap = s->timer_cap ? s->timer_cap * 2 : 256;
		struct timer *t = realloc(s->timers, cap * sizeof(*t));

		if (!t) {
			/* Without memory the timer is lost: the job stays until removed by hand. */
			jst_log(LOG_ERR, "out of memory for a timer; a scheduled action is dropped");
			return;
		}
		s->timers = t;
		s->timer_cap = cap;
	}
	i = s->ntimers++;
	s->timers[i] = (struct timer){due, kind, a, b, c};
	while (i > 0 && s->timers[(i - 1) / 2].due > s->timers[i].due) {
		timer_swap(s->timers, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

/* Restore the heap below @i after its timer grew later. */
static void timer_sift_down(struct jst_server *s, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < s->ntimers && s->timers[l].due < s->timers[m].due)
			m = l;
		if (r < s->ntimers && s->timers[r].due < s->timers[m].due)
			m = r;
		if (m == i)
			return;
		timer_swap(s->timers, i, m);
		i = m;
	}
}

static struct timer timer_pop(struct jst_server *s)
{
	struct timer top = s->timers[0];

	s->timers[0] = s->timers[--s->ntimers];
	timer_sift_down(s, 0);
	return top;
}

/*
 * Take the timer of @kind for (@a, @c) out of the heap, so that a request that
 * ended frees its timer now rather than when it would have fired.
 */
void jst__timer_cancel(struct jst_server *s, enum timer_kind kind, uint32_t a, uint64_t c)
{
	for (uint32_t i = 0; i < s->ntimers; i++) {
		struct timer *t = &s->timers[i];

		if (t->kind != kind || t->a != a || t->c != c)
			continue;
		s->timers[i] = s->timers[--s->ntimers];
		/* The moved timer may belong above or below: restore the heap both ways. */
		while (i > 0 && s->timers[(i - 1) / 2].due > s->timers[i].due) {
			timer_swap(s->timers, i, (i - 1) / 2);
			i = (i - 1) / 2;
		}
		timer_sift_down(s, i);
		return;
	}
}

static void orphan_session(struct jst_server *s, struct session *x);

bool jst__timers_run(struct jst_server *s, uint64_t now, uint64_t budget_ns)
{
	uint64_t t0 = jst__mono();
	unsigned ran = 0;

	while (s->ntimers && s->timers[0].due <= now) {
		struct timer t;

		/*
		 * Like a turn of messages, a run of timers ends after its budget
		 * (one timer at least, so that each run makes progress): 80
		 * request timeouts set together expire together, and answering
		 * them all at once held up every message that arrived meanwhile.
		 */
		if (ran++ && jst__mono() - t0 >= budget_ns)
			return true;
		t = timer_pop(s);

		if (t.kind == T_REMOVE) {
			jst_handle h = {t.a, t.b};
			struct jobpriv *jp = jst__jp_of(s, h);

			if (jp && jp->remove_due == t.due)
				jst__job_remove(s, h);
		} else if (t.kind == T_LOST) {
			struct session *x = jst__session_find(s, t.c);

			if (x)
				x->lost_timer = false;
			if (x && !x->conn && x->lost_due > now) {
				/* It reconnected and left again since: wait for the new deadline. */
				jst__timer_add(s, x->lost_due, T_LOST, 0, 0, x->id);
				x->lost_timer = true;
			} else if (x && !x->conn && x->lost_due) {
				jst__session_set_lost(s, x, true);
				jst_counters_add(jst_pub_counters(s->pub), JST_COUNTER_SESSIONS_LOST, 1);
				jst_log(LOG_INFO, "session %016" PRIx64 " (uid %ld): producer gone, "
					"%u jobs show Lost Communication", x->id, (long)x->uid,
					x->njobs);
				if (!x->orphan_timer) {
					jst__timer_add(s, x->gone_since + s->cfg.orphan_timeout_ns,
						       T_ORPHAN, 0, 0, x->id);
					x->orphan_timer = true;
				}
			}
		} else if (t.kind == T_ORPHAN) {
			struct session *x = jst__session_find(s, t.c);

			if (x)
				x->orphan_timer = false;
			if (x && !x->conn && x->gone_since &&
			    x->gone_since + s->cfg.orphan_timeout_ns > now) {
				/* It came back and left again since: wait for the new deadline. */
				jst__timer_add(s, x->gone_since + s->cfg.orphan_timeout_ns, T_ORPHAN,
					       0, 0, x->id);
				x->orphan_timer = true;
			} else if (x && !x->conn && x->gone_since) {
				orphan_session(s, x);
			}
		} else if (t.kind == T_BACKOFF) {
			jst__conn_backoff_end(s, t.c);
		} else if (t.kind == T_PARK) {
			jst__park_end(s, t.a, t.c);
		} else if (t.kind == T_HELLO) {
			for (struct conn *c = s->conns; c; c = c->next) {
				if (c->id == t.c && !c->dead && !c->hello) {
					jst_log(LOG_WARNING, "closing connection of pid %ld uid %ld: "
						"no HELLO within %" PRIu64 " ms", (long)c->pid,
						(long)c->uid, s->cfg.hello_timeout_ns / 1000000);
					jst__conn_close(s, c);
					break;
				}
			}
		} else if (t.kind == T_RSC) {
			for (struct pending *p = s->pendings; p; p = p->next) {
				if (p->event_id == t.a && p->due == t.due) {
					/*
					 * TimeoutPeriod passed: a transition the producer
					 * started is still under way (4096); one it never
					 * answered did not complete in time (3).
					 */
					uint32_t cim = 0;

					if (p->under_way)
						jst__pending_answer(s, p, 0, JST_RSC_STARTED);
					else if (p->by_admin &&
						 jst__terminate_orphan(s, p->h, p->requested, &cim) == 0)
						/* An administrator's Terminate or Kill that the
						 * producer sat on: carried out by the daemon. */
						jst__pending_answer(s, p, 0, cim);
					else
						jst__pending_answer(s, p, JST_ETIMEDOUT, 0);
					jst__pending_unlink(s, p);
					break;
				}
			}
		}
	}
	return false;
}

struct session *jst__session_find(struct jst_server *s, uint64_t id)
{
	for (struct session *x = s->sessions; x; x = x->next)
		if (x->id == id)
			return x;
	return NULL;
}

struct session *jst__session_new(struct jst_server *s, uint64_t id, uid_t uid)
{
	struct session *x = calloc(1, sizeof(*x));

	if (!x)
		return NULL;
	while (!id || jst__session_find(s, id))
		arc4random_buf(&id, sizeof(id)); /* unguessable, so only its holder names it */
	x->id = id;
	x->uid = uid;
	x->next = s->sessions;
	s->sessions = x;
	return x;
}

/* Free a session nobody speaks for and that owns no job. */
void jst__session_gc(struct jst_server *s, struct session *x)
{
	if (x->conn || x->njobs)
		return;
	for (struct session **pp = &s->sessions; *pp; pp = &(*pp)->next) {
		if (*pp == x) {
			*pp = x->next;
			free(x);
			return;
		}
	}
}

struct jobpriv *jst__jp_of(struct jst_server *s, jst_handle h)
{
	if (h.slot >= s->capacity || !h.gen || s->jobs[h.slot].gen != h.gen)
		return NULL;
	return &s->jobs[h.slot];
}

/* The job is gone from the segment: forget it. */
static void job_forget(struct jst_server *s, uint32_t slot)
{
	struct jobpriv *jp = &s->jobs[slot];
	struct session *x = jp->sess;

	jst__use_add(s, jp->owner, Q_JOBS, -1);
	jst__use_add(s, jp->owner, Q_ERRORS, -(int)jp->n_errors);
	if (jp->large)
		jst__use_add(s, jp->owner, Q_LARGE, -1);
	memset(jp, 0, sizeof(*jp));
	if (x) {
		x->njobs--;
		jst__session_gc(s, x);
	}
}

int jst__job_remove(struct jst_server *s, jst_handle h)
{
	int rc = jst_pub_remove(s->pub, h);

	if (rc == 0)
		job_forget(s, h.slot);
	return rc;
}

/* Schedule the removal CIM asks for: TimeBeforeRemoval after the job finished. */
uint64_t jst__schedule_removal(struct jst_server *s, jst_handle h, const struct jst_status *st)
{
	uint64_t now_w = jst__wall(), at_w = st->time_of_last_state_change + st->time_before_removal_ns;
	struct jobpriv *jp = jst__jp_of(s, h);
	uint64_t due = jst__mono() + (at_w > now_w ? at_w - now_w : 0);

	if (jp && (!jp->remove_due || due < jp->remove_due)) {
		if (jp->remove_due) /* one T_REMOVE a job: the later one would only weigh */
			jst__timer_cancel(s, T_REMOVE, h.slot, 0);
		jp->remove_due = due;
		jst__timer_add(s, due, T_REMOVE, h.slot, h.gen, 0);
	}
	return at_w > now_w ? at_w : now_w;
}

/*
 * Fill @st for a move to @to at @now: the times CIM defines, and the default
 * OperationalStatus unless @keep_ops.
 */
void jst__state_move(struct jst_status *st, uint16_t to, bool keep_ops, uint64_t now)
{
	if (st->job_state != to) {
		st->time_of_last_state_change = now;
		if (!st->start_time && to != JST_JOB_NEW && to != JST_JOB_QUERY_PENDING &&
		    !jst_job_state_is_final(to))
			st->start_time = now;
	}
	if (!keep_ops) {
		memset(st->operational_status, 0, sizeof(st->operational_status));
		st->n_operational_status =
			(uint8_t)jst_default_op_status(to, st->operational_status);
	}
	st->job_state = to;
}

/*
 * Move a transfer job to BITS state @bg: its JobState and, unless @keep_ops,
 * its OperationalStatus follow; its DO error object appears on entering
 * ERROR or TRANSIENT_ERROR and goes when it transfers again.
 */
void jst__transfer_move(struct jst_status *st, uint16_t bg, bool keep_ops, uint64_t now,
			bool episode_error)
{
	uint16_t js, ops[JST_OPSTATUS_MAX] = {0};
	unsigned n = jst_transfer_job_state(bg, &js, ops);

	jst__state_move(st, js, true, now);
	if (!keep_ops) {
		memcpy(st->operational_status, ops, sizeof(ops));
		st->n_operational_status = (uint8_t)n;
	}
	/*
	 * Delivery Optimization's error object describes this episode's error: it
	 * exists in ERROR and TRANSIENT_ERROR only if an error was reported since
	 * the job last transferred (the caller knows), never an older one.
	 */
	if ((bg == JST_BG_ERROR || bg == JST_BG_TRANSIENT_ERROR) && episode_error)
		st->flags |= JST_STATUS_DO_ERROR;
	else if (bg == JST_BG_ERROR || bg == JST_BG_TRANSIENT_ERROR || bg == JST_BG_TRANSFERRING ||
		 bg == JST_BG_TRANSFERRED || bg == JST_BG_ACKNOWLEDGED || bg == JST_BG_CANCELLED)
		st->flags &= (uint8_t)~JST_STATUS_DO_ERROR;
	/* QUEUED, CONNECTING, SUSPENDED: the object stays until the job transfers. */
	st->transfer_state = (uint16_t)(bg + 1);
}

void jst__elapsed_update(struct jst_status *st, uint64_t now)
{
	if (st->start_time && !jst_job_state_is_final(st->job_state))
		st->elapsed_ns = now > st->start_time ? now - st->start_time : 0;
	else if (st->start_time && jst_job_state_is_final(st->job_state))
		st->elapsed_ns = st->time_of_last_state_change - st->start_time;
}

/* The CIM_Error a job terminated or killed at a client's request carries. */
static void requested_error(struct jst_error *e, const struct jobpriv *jp, char *buf, size_t n,
			    char *args, size_t an, uint64_t orphan_timeout_ns)
{
	bool kill = jp->by_state == JST_JOB_KILLED;

	memset(e, 0, offsetof(struct jst_error, text));
	if (jp->orphaned) {
		snprintf(buf, n, "The job was terminated by jobstatd: its producer (uid %ld) was "
			 "gone longer than the orphan timeout of %" PRIu64 " s.", (long)jp->owner,
			 orphan_timeout_ns / 1000000000);
		snprintf(args, an, "%ld%c%" PRIu64, (long)jp->owner, 0,
			 orphan_timeout_ns / 1000000000);
		e->error_type = 1; /* Other */
		e->other_error_type = "Producer lost";
		e->owning_entity = "jobstat";
		e->message_id = "JST0004";
		e->message = buf;
		e->n_message_arguments = 2;
		e->message_arguments[0] = args;
		e->message_arguments[1] = args + strlen(args) + 1;
		e->perceived_severity = 4; /* Major: the work was abandoned */
		e->probable_cause = 1;     /* Other */
		e->probable_cause_description = "The job's producer was gone too long";
		return;
	}
	snprintf(buf, n, "The job was %s at the request of uid %" PRIu32 " (pid %" PRId32 ").",
		 kill ? "killed" : "terminated", jp->by_uid, jp->by_pid);
	snprintf(args, an, "%" PRIu32 "%c%" PRId32, jp->by_uid, 0, jp->by_pid);
	e->error_type = 1; /* Other */
	e->other_error_type = "Job control request";
	e->owning_entity = "jobstat";
	e->message_id = kill ? "JST0002" : "JST0001";
	e->message = buf;
	e->n_message_arguments = 2;
	e->message_arguments[0] = args;
	e->message_arguments[1] = args + strlen(args) + 1;
	e->perceived_severity = 2; /* Information: it was asked for */
	e->probable_cause = 1;     /* Other */
	e->probable_cause_description = kill ? "Killed by a client request"
					     : "Terminated by a client request";
	e->cim_status_code = 0;
}

/*
 * Publish @st (and, when @new_strings, the strings in s->scratch) for job
 * @h. A move into Terminated or Killed that a client requested also records
 * the requester's CIM_Error, in the same version: the daemon's own record,
 * never refused. Otherwise @refuse_large: strings that would need a new large
 * detail are refused with JST_EQUOTA (jst__large_refused()).
 */
int jst__job_publish(struct jst_server *s, jst_handle h, struct jst_status *st,
		       bool new_strings, bool entering_final, bool refuse_large)
{
	struct jobpriv *jp = jst__jp_of(s, h);
	int rc;

	if (jp && entering_final && (jp->by_state || jp->orphaned) &&
	    (st->job_state == JST_JOB_TERMINATED || st->job_state == JST_JOB_KILLED)) {
		char msg[200], args[48];

		if (!new_strings) {
			rc = jst_pub_job(s->pub, h, &s->scratch);
			if (rc < 0)
				return rc;
		}
		requested_error(&s->err, jp, msg, sizeof(msg), args, sizeof(args),
				s->cfg.orphan_timeout_ns);
		s->scratch.error_description = msg;
		/* The daemon's own record: it never fails for lack of space. */
		rc = jst_pub_publish(s->pub, h, &(struct jst_pub_change){
			.status = st, .strings = &s->scratch, .error = &s->err,
			.daemon_record = true});
		if (rc == 0) {
			jst__job_usage_changed(s, h);
			jst_counters_error(jst_pub_counters(s->pub), s->err.perceived_severity);
		}
	} else {
		rc = jst_pub_publish(s->pub, h, &(struct jst_pub_change){
			.status = st, .strings = new_strings ? &s->scratch : NULL,
			.refuse_large = refuse_large});
		if (rc == 0 && new_strings)
			jst__job_usage_changed(s, h);
	}
	if (rc == 0)
		jst__pending_reached(s, h, st->job_state);
	if (rc == 0 && entering_final) {
		jst_counters_finished(jst_pub_counters(s->pub), st->job_state, st->job_type);
		if (jp)
			jp->by_state = 0;
		if (st->flags & JST_STATUS_DELETE_ON_COMPLETION)
			jst__schedule_removal(s, h, st);
	}
	return rc;
}

/* Move a job to @to on the daemon's own account (its producer is gone). */
static int job_force_state(struct jst_server *s, jst_handle h, uint16_t to)
{
	struct jst_status st;
	uint64_t now = jst__wall();
	int rc = jst_pub_status(s->pub, h, &st);
	bool entering_final;

	if (rc < 0)
		return rc;
	if (st.transfer_state) {
		/* A transfer job ends CANCELLED, whether terminated or killed. */
		rc = jst_transfer_check((uint16_t)(st.transfer_state - 1), JST_BG_CANCELLED);
		if (rc < 0)
			return rc;
		entering_final = !jst_job_state_is_final(st.job_state);
		jst__transfer_move(&st, JST_BG_CANCELLED, false, now, false);
		jst__elapsed_update(&st, now);
		return jst__job_publish(s, h, &st, false, entering_final, false);
	}
	rc = jst_job_state_check(st.job_state, to);
	if (rc < 0)
		return rc;
	entering_final = !jst_job_state_is_final(st.job_state) && jst_job_state_is_final(to);
	jst__state_move(&st, to, false, now);
	jst__elapsed_update(&st, now);
	return jst__job_publish(s, h, &st, false, entering_final, false);
}

/* Show, or stop showing, Lost Communication on every unfinished job of @x. */
void jst__session_set_lost(struct jst_server *s, struct session *x, bool lost)
{
	for (uint32_t slot = 0; slot < s->hwm; slot++) {
		struct jobpriv *jp = &s->jobs[slot];
		jst_handle h = {slot, jp->gen};
		struct jst_status st;

		if (jp->sess != x || !jp->gen || jp->lost == lost ||
		    jst_pub_status(s->pub, h, &st) < 0)
			continue;
		if (lost) {
			if (jst_job_state_is_final(st.job_state))
				continue;
			jp->n_saved = st.n_operational_status;
			memcpy(jp->saved, st.operational_status, sizeof(jp->saved));
			memset(st.operational_status, 0, sizeof(st.operational_status));
			st.operational_status[0] = JST_OPS_LOST_COMMUNICATION;
			st.n_operational_status = 1;
		} else {
			st.n_operational_status = jp->n_saved;
			memcpy(st.operational_status, jp->saved, sizeof(jp->saved));
		}
		if (jst_pub_publish(s->pub, h, &(struct jst_pub_change){.status = &st}) == 0)
			jp->lost = lost;
	}
}

void jst__pending_answer(struct jst_server *s, struct pending *p, int rc, uint32_t cim)
{
	struct jobpriv *jp = jst__jp_of(s, p->h);
	struct jst_msg_hdr h = {.type = JST_MSG_REQUEST, .id = p->req_id};

	if (jp) {
		jp->pending = false;
		if (rc < 0 || (cim != JST_RSC_COMPLETED && cim != JST_RSC_STARTED))
			jp->by_state = 0; /* refused: nobody terminated it */
		if (rc == 0)
			jst__record_answer(s, p->h, p->token, p->req_id, cim);
	}
	if (rc == 0 && s->cfg.crash_after == JST_MSG_REQUEST)
		raise(SIGKILL); /* tests: answered and recorded, the answer never sent */
	if (p->requester) {
		if (rc < 0) {
			jst__reply_fail(s, p->requester, &h, rc, "%s", jst_strerror(rc));
		} else {
			jst_counters_rsc(jst_pub_counters(s->pub), cim);
			jst_enc_reply_request(&s->w, h.id, &(struct jst_msg_request_reply){cim});
			jst__conn_send(s, p->requester);
		}
	}
}

void jst__pending_unlink(struct jst_server *s, struct pending *p)
{
	for (struct pending **pp = &s->pendings; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			/* Its timer goes with it (it may be the one firing: then it is gone). */
			jst__timer_cancel(s, T_RSC, p->event_id, 0);
			jst__use_add(s, p->uid, Q_PENDING, -1);
			free(p);
			return;
		}
	}
}

uint16_t jst__requested_target(uint16_t rq)
{
	switch (rq) {
	case JST_REQ_START:
		return JST_JOB_RUNNING;
	case JST_REQ_SUSPEND:
		return JST_JOB_SUSPENDED;
	case JST_REQ_TERMINATE:
		return JST_JOB_TERMINATED;
	case JST_REQ_KILL:
		return JST_JOB_KILLED;
	case JST_REQ_SERVICE:
		return JST_JOB_SERVICE;
	}
	return 0;
}

/*
 * A Terminate or Kill whose producer is not there to act: the daemon moves
 * the job itself, so a client can always stop a job it may stop.
 */
int jst__terminate_orphan(struct jst_server *s, jst_handle h, uint16_t requested,
			    uint32_t *ret_cim)
{
	int rc;

	if (requested != JST_REQ_TERMINATE && requested != JST_REQ_KILL)
		return JST_ENOPRODUCER;
	rc = job_force_state(s, h, jst__requested_target(requested));
	if (rc < 0)
		return rc;
	*ret_cim = JST_RSC_COMPLETED;
	return 0;
}

/* Rebuild the private view of the jobs an adopted segment holds. */
int jst__adopt_jobs(struct jst_server *s)
{
	struct jst_status st;
	uint32_t pos = 0;
	uint64_t due = jst__mono() + s->cfg.lost_grace_ns;

	while (jst_pub_next(s->pub, &pos, &st) == 0) {
		jst_handle h = st.handle;
		struct jobpriv *jp = &s->jobs[h.slot];
		struct session *x = NULL;

		jp->gen = h.gen;
		jp->owner = st.owner_uid;
		jp->n_errors = st.n_errors;
		jp->do_err = st.flags & JST_STATUS_DO_ERROR;
		jst__use_add(s, jp->owner, Q_JOBS, 1);
		jst__use_add(s, jp->owner, Q_ERRORS, st.n_errors);
		/* Counted from what the adopted segment holds, as the dead daemon had it. */
		jp->large = jst_pub_detail_large(s->pub, h);
		if (jp->large)
			jst__use_add(s, jp->owner, Q_LARGE, 1);
		if (h.slot >= s->hwm)
			s->hwm = h.slot + 1;
		if (st.producer_session) {
			x = jst__session_find(s, st.producer_session);
			if (!x) {
				x = jst__session_new(s, st.producer_session, st.owner_uid);
				if (!x)
					return JST_ENOMEM;
				x->lost_due = due;
				x->gone_since = jst__mono();
				jst__timer_add(s, due, T_LOST, 0, 0, x->id);
				x->lost_timer = true;
			}
			if (x->uid != st.owner_uid)
				x = NULL; /* inconsistent: leave the job without a producer */
		}
		jp->sess = x;
		if (x)
			x->njobs++;
		if (st.n_operational_status && st.operational_status[0] == JST_OPS_LOST_COMMUNICATION) {
			jp->lost = true;
			jp->n_saved = (uint8_t)jst_default_op_status(st.job_state, jp->saved);
		}
		if (jst_job_state_is_final(st.job_state) &&
		    (st.flags & JST_STATUS_DELETE_ON_COMPLETION))
			jst__schedule_removal(s, h, &st);
	}
	return 0;
}

/*
 * Connection @c is closing: nobody waits on its requests any more; the
 * requests made to its producer are answered as if it had refused them
 * (or, for Terminate and Kill, carried out by the daemon); its session
 * starts its lost-communication grace.
 */
void jst__conn_gone(struct jst_server *s, struct conn *c)
{
	struct session *x = c->sess;

	for (struct pending *p = s->pendings, *nx; p; p = nx) {
		nx = p->next;
		if (p->requester == c)
			p->requester = NULL;
		if (x && p->sess == x && !s->stopping) {
			uint32_t cim = 0;
			int rc = jst__terminate_orphan(s, p->h, p->requested, &cim);

			jst__pending_answer(s, p, rc, cim);
			jst__pending_unlink(s, p);
		}
	}
	if (!x)
		return;
	x->conn = NULL;
	c->sess = NULL;
	x->gone_since = jst__mono();
	if (x->njobs && !s->stopping) {
		x->lost_due = x->gone_since + s->cfg.lost_grace_ns;
		/* One queued timer per session, however often its producer reconnects. */
		if (!x->lost_timer) {
			jst__timer_add(s, x->lost_due, T_LOST, 0, 0, x->id);
			x->lost_timer = true;
		}
	}
	jst__session_gc(s, x);
}

/* Job @h was just created for session @x: the rules start tracking it. */
void jst__job_track(struct jst_server *s, jst_handle h, struct session *x, uid_t owner)
{
	struct jobpriv *jp;

	if (h.slot >= s->capacity)
		return;
	jp = &s->jobs[h.slot];
	memset(jp, 0, sizeof(*jp));
	jp->gen = h.gen;
	jp->sess = x;
	jp->owner = owner;
	jst__use_add(s, owner, Q_JOBS, 1);
	if (x)
		x->njobs++;
	if (h.slot >= s->hwm)
		s->hwm = h.slot + 1;
}

/*
 * Job @h was just published with new strings or errors: its retained errors
 * and whether its detail is large may have changed; move its owner's counts
 * with them.
 */
void jst__job_usage_changed(struct jst_server *s, jst_handle h)
{
	struct jobpriv *jp = jst__jp_of(s, h);
	struct jst_status st;
	bool large;

	if (!jp || jst_pub_status(s->pub, h, &st) < 0)
		return;
	if (st.n_errors != jp->n_errors) {
		jst__use_add(s, jp->owner, Q_ERRORS, (int)st.n_errors - (int)jp->n_errors);
		jp->n_errors = st.n_errors;
	}
	large = jst_pub_detail_large(s->pub, h);
	if (large != jp->large) {
		jst__use_add(s, jp->owner, Q_LARGE, large ? 1 : -1);
		jp->large = large;
	}
}

/*
 * The producer of @x has been gone longer than the orphan timeout: nobody
 * will finish its jobs. Terminate each unfinished one, recording why, and
 * remove it after its TimeBeforeRemoval as any finished job.
 */
static void orphan_session(struct jst_server *s, struct session *x)
{
	unsigned n = 0;

	for (uint32_t slot = 0; slot < s->hwm; slot++) {
		struct jobpriv *jp = &s->jobs[slot];
		jst_handle h = {slot, jp->gen};
		struct jst_status st;

		if (jp->sess != x || !jp->gen || jst_pub_status(s->pub, h, &st) < 0 ||
		    jst_job_state_is_final(st.job_state))
			continue;
		jp->orphaned = true;
		if (job_force_state(s, h, JST_JOB_TERMINATED) == 0) {
			n++;
			if (jst_pub_status(s->pub, h, &st) == 0) {
				jst__schedule_removal(s, h, &st);
				jp->remove_asked = true;
			}
		}
		jp->orphaned = false;
	}
	jst_log(LOG_WARNING, "session %016" PRIx64 " (uid %ld): producer gone %" PRIu64 " s; "
		"terminated its %u unfinished jobs", x->id, (long)x->uid,
		s->cfg.orphan_timeout_ns / 1000000000, n);
}

/*
 * Keep the answer to a client's RequestStateChange with the job, in the
 * segment so it survives kill -9: a resend of the same request after a
 * restart gets this answer instead of being applied again.
 */
void jst__record_answer(struct jst_server *s, jst_handle h, uint64_t token, uint32_t id,
			uint32_t answer)
{
	uint64_t rec = jst_req_record(token, id, (uint16_t)(answer < JST_REQ_NO_ANSWER ? answer
											 : 4));

	if (token)
		jst_pub_publish(s->pub, h, &(struct jst_pub_change){.request_record = &rec});
}

/* Job @h is now in @job_state: a transition under way to it is complete, within its time. */
void jst__pending_reached(struct jst_server *s, jst_handle h, uint16_t job_state)
{
	for (struct pending *p = s->pendings; p; p = p->next) {
		if (p->under_way && p->h.slot == h.slot && p->h.gen == h.gen &&
		    jst__requested_target(p->requested) == job_state) {
			jst__pending_answer(s, p, 0, JST_RSC_COMPLETED);
			jst__pending_unlink(s, p);
			return;
		}
	}
}
