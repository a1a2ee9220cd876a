/* SPDX-License-Identifier: MIT */
/*
 * proto.c - encoder and validating decoder of the control protocol
 * (jobstat-proto.h), used by jobstatd and by libjobstat alike.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "jobstat-proto.h"
#include "shm-check.h"

/* ---- encoding ---- */

static void put(struct jst_wbuf *w, const void *v, size_t n)
{
	if (w->overflow || n > sizeof(w->buf) - w->len) {
		w->overflow = true;
		return;
	}
	memcpy(w->buf + w->len, v, n);
	w->len += n;
}

void jst_wire_u8(struct jst_wbuf *w, uint8_t v)
{
	put(w, &v, sizeof(v));
}

void jst_wire_u16(struct jst_wbuf *w, uint16_t v)
{
	put(w, &v, sizeof(v));
}

void jst_wire_u32(struct jst_wbuf *w, uint32_t v)
{
	put(w, &v, sizeof(v));
}

void jst_wire_u64(struct jst_wbuf *w, uint64_t v)
{
	put(w, &v, sizeof(v));
}

void jst_wire_bytes(struct jst_wbuf *w, const void *p, size_t n)
{
	put(w, p, n);
}

void jst_wire_str(struct jst_wbuf *w, const char *s)
{
	size_t n;

	if (!s) {
		jst_wire_u32(w, JST_WIRE_NULL);
		return;
	}
	n = strlen(s);
	if (n >= JST_MSG_MAX) {
		w->overflow = true;
		return;
	}
	jst_wire_u32(w, (uint32_t)n);
	put(w, s, n + 1);
}

void jst_wire_begin(struct jst_wbuf *w, uint16_t type, uint32_t id)
{
	struct jst_msg_hdr h = {
		.magic = JST_PROTO_MAGIC, .version = JST_PROTO_VERSION, .type = type, .id = id,
	};

	w->len = 0;
	w->overflow = false;
	put(w, &h, sizeof(h));
}

int jst_wire_finish(struct jst_wbuf *w)
{
	uint32_t len = (uint32_t)w->len;

	if (w->overflow)
		return JST_EMSGSIZE;
	memcpy(w->buf + offsetof(struct jst_msg_hdr, len), &len, sizeof(len));
	return 0;
}

void jst_enc_hello(struct jst_wbuf *w, uint32_t id, const struct jst_msg_hello *m)
{
	jst_wire_begin(w, JST_MSG_HELLO, id);
	jst_wire_u32(w, m->flags);
	jst_wire_u64(w, m->session);
	jst_wire_u64(w, m->token);
}

void jst_enc_create(struct jst_wbuf *w, uint32_t id, const struct jst_msg_create *m)
{
	jst_wire_begin(w, JST_MSG_CREATE, id);
	jst_wire_str(w, m->instance_id);
	jst_wire_str(w, m->name);
	jst_wire_str(w, m->owner);
	jst_wire_str(w, m->notify);
	jst_wire_str(w, m->job_status);
	jst_wire_u16(w, m->job_type);
	jst_wire_u16(w, m->initial_state);
	jst_wire_u32(w, m->priority);
	jst_wire_u32(w, m->flags);
	jst_wire_u64(w, m->time_before_removal_ns);
}

void jst_enc_update_rec(struct jst_wbuf *w, const struct jst_update *u)
{
	uint16_t n = u->set & JST_SET_OP_STATUS ? u->n_operational_status : 0;

	jst_wire_u32(w, u->handle.slot);
	jst_wire_u32(w, u->handle.gen);
	jst_wire_u32(w, u->set);
	jst_wire_u16(w, u->job_state);
	jst_wire_u16(w, u->percent_complete);
	jst_wire_u16(w, u->error_code);
	jst_wire_u16(w, u->transfer_state);
	jst_wire_u16(w, n);
	if (n > JST_OPSTATUS_MAX) {
		w->overflow = true; /* the caller checks the count; never encode past the array */
		return;
	}
	for (unsigned k = 0; k < n; k++)
		jst_wire_u16(w, u->operational_status[k]);
	for (unsigned k = 0; k < n; k++)
		jst_wire_str(w, u->status_descriptions[k]);
	if (u->set & JST_SET_JOB_STATUS)
		jst_wire_str(w, u->job_status);
	if (u->set & JST_SET_ERROR_DESCRIPTION)
		jst_wire_str(w, u->error_description);
}

void jst_enc_error_body(struct jst_wbuf *w, const struct jst_error *e)
{
	jst_wire_u16(w, e->error_type);
	jst_wire_str(w, e->other_error_type);
	jst_wire_str(w, e->owning_entity);
	jst_wire_str(w, e->message_id);
	jst_wire_str(w, e->message);
	jst_wire_u16(w, e->n_message_arguments);
	for (unsigned k = 0; k < e->n_message_arguments && k < JST_ERROR_ARGS_MAX; k++)
		jst_wire_str(w, e->message_arguments[k]);
	jst_wire_u16(w, e->perceived_severity);
	jst_wire_u16(w, e->probable_cause);
	jst_wire_str(w, e->probable_cause_description);
	jst_wire_u16(w, e->n_recommended_actions);
	for (unsigned k = 0; k < e->n_recommended_actions && k < JST_ERROR_ARGS_MAX; k++)
		jst_wire_str(w, e->recommended_actions[k]);
	jst_wire_str(w, e->error_source);
	jst_wire_u16(w, e->error_source_format);
	jst_wire_str(w, e->other_error_source_format);
	jst_wire_u32(w, e->cim_status_code);
	jst_wire_str(w, e->cim_status_code_description);
	jst_wire_u32(w, e->hresult);
	jst_wire_u16(w, e->context);
	jst_wire_str(w, e->file);
	if (e->n_message_arguments > JST_ERROR_ARGS_MAX ||
	    e->n_recommended_actions > JST_ERROR_ARGS_MAX)
		w->overflow = true; /* callers check; an encoder never reads past an array */
}

void jst_enc_error(struct jst_wbuf *w, uint32_t id, jst_handle h, bool fail,
		   const struct jst_error *e)
{
	jst_wire_begin(w, JST_MSG_ERROR, id);
	jst_wire_u32(w, h.slot);
	jst_wire_u32(w, h.gen);
	jst_wire_u8(w, fail);
	jst_enc_error_body(w, e);
}

void jst_enc_remove(struct jst_wbuf *w, uint32_t id, const struct jst_msg_remove *m)
{
	jst_wire_begin(w, JST_MSG_REMOVE, id);
	jst_wire_u32(w, m->handle.slot);
	jst_wire_u32(w, m->handle.gen);
	jst_wire_u32(w, m->flags);
}

void jst_enc_props(struct jst_wbuf *w, uint32_t id, const struct jst_msg_props *m)
{
	const struct jst_job_props *p = &m->p;

	jst_wire_begin(w, JST_MSG_PROPS, id);
	jst_wire_u32(w, m->handle.slot);
	jst_wire_u32(w, m->handle.gen);
	jst_wire_u32(w, p->set);
	jst_wire_u32(w, p->priority);
	jst_wire_u8(w, p->delete_on_completion);
	jst_wire_u16(w, p->recovery_action);
	jst_wire_u64(w, (uint64_t)p->time_before_removal_ns);
	jst_wire_str(w, p->other_recovery_action);
	jst_wire_str(w, p->error_summary_description);
	jst_wire_str(w, p->element_name);
	jst_wire_str(w, p->caption);
	jst_wire_str(w, p->description);
	jst_wire_u64(w, p->scheduled_start_time);
	jst_wire_u64(w, p->until_time);
	jst_wire_u32(w, p->job_run_times);
	jst_wire_u16(w, p->local_or_utc_time);
}

void jst_enc_request(struct jst_wbuf *w, uint32_t id, const struct jst_msg_request *m)
{
	jst_wire_begin(w, JST_MSG_REQUEST, id);
	jst_wire_str(w, m->instance_id);
	jst_wire_u16(w, m->requested_state);
	jst_wire_u64(w, m->timeout_ns);
}

void jst_enc_event(struct jst_wbuf *w, const struct jst_msg_event *m)
{
	jst_wire_begin(w, JST_MSG_EVENT, 0);
	jst_wire_u32(w, m->event_id);
	jst_wire_u32(w, m->rq.handle.slot);
	jst_wire_u32(w, m->rq.handle.gen);
	jst_wire_u16(w, m->rq.requested_state);
	jst_wire_u32(w, m->rq.requester_uid);
	jst_wire_u32(w, (uint32_t)m->rq.requester_pid);
	jst_wire_u64(w, m->rq.timeout_ns);
	jst_wire_str(w, m->rq.instance_id);
}

void jst_enc_event_reply(struct jst_wbuf *w, const struct jst_msg_event_reply *m)
{
	jst_wire_begin(w, JST_MSG_EVENT_REPLY, 0);
	jst_wire_u32(w, m->event_id);
	jst_wire_u32(w, m->cim);
}

void jst_enc_fail(struct jst_wbuf *w, uint16_t type, uint32_t id, int rc, const char *detail)
{
	char d[JST_DETAIL_MAX];

	jst_wire_begin(w, (uint16_t)(type | JST_MSG_REPLY), id);
	jst_wire_u32(w, (uint32_t)rc);
	snprintf(d, sizeof(d), "%s", detail ? detail : jst_strerror(rc));
	jst_wire_str(w, d);
}

/* ---- replies ---- */

static void reply_begin(struct jst_wbuf *w, uint16_t type, uint32_t id)
{
	jst_wire_begin(w, (uint16_t)(type | JST_MSG_REPLY), id);
	jst_wire_u32(w, 0);
}

void jst_enc_reply_ok(struct jst_wbuf *w, uint16_t type, uint32_t id)
{
	reply_begin(w, type, id);
}

void jst_enc_reply_hello(struct jst_wbuf *w, uint32_t id, const struct jst_msg_hello_reply *m)
{
	reply_begin(w, JST_MSG_HELLO, id);
	jst_wire_u64(w, m->session);
	jst_wire_u64(w, m->generation);
	jst_wire_u32(w, m->reclaimed);
	jst_wire_u32(w, m->uid);
}

void jst_enc_reply_create(struct jst_wbuf *w, uint32_t id, const struct jst_msg_create_reply *m)
{
	reply_begin(w, JST_MSG_CREATE, id);
	jst_wire_u32(w, m->handle.slot);
	jst_wire_u32(w, m->handle.gen);
	jst_wire_str(w, m->instance_id);
}

void jst_enc_reply_update(struct jst_wbuf *w, uint32_t id, int rc, const char *why,
			  const struct jst_msg_update_reply *m)
{
	jst_wire_begin(w, (uint16_t)(JST_MSG_UPDATE | JST_MSG_REPLY), id);
	jst_wire_u32(w, (uint32_t)rc);
	jst_wire_str(w, rc ? why : NULL);
	jst_wire_u32(w, m->n);
	for (uint32_t i = 0; i < m->n && i < JST_BATCH_MAX; i++)
		jst_wire_u16(w, (uint16_t)m->codes[i]);
}

void jst_enc_reply_remove(struct jst_wbuf *w, uint32_t id, const struct jst_msg_remove_reply *m)
{
	reply_begin(w, JST_MSG_REMOVE, id);
	jst_wire_u64(w, m->when);
}

void jst_enc_reply_request(struct jst_wbuf *w, uint32_t id, const struct jst_msg_request_reply *m)
{
	reply_begin(w, JST_MSG_REQUEST, id);
	jst_wire_u32(w, m->cim);
}

void jst_enc_reply_stats(struct jst_wbuf *w, uint32_t id, const struct jst_daemon_stats *m)
{
	reply_begin(w, JST_MSG_STATS, id);
	jst_wire_u32(w, m->connections);
	jst_wire_u32(w, m->sessions);
	jst_wire_u32(w, m->timers);
	jst_wire_u32(w, m->pending);
	jst_wire_u64(w, m->heap_bytes);
}

void jst_enc_reply_quota(struct jst_wbuf *w, uint32_t id, uint32_t n)
{
	reply_begin(w, JST_MSG_QUOTA, id);
	jst_wire_u32(w, n);
}

void jst_enc_reply_quota_item(struct jst_wbuf *w, const struct jst_quota_use *q)
{
	jst_wire_u32(w, q->uid);
	jst_wire_u32(w, q->jobs);
	jst_wire_u32(w, q->jobs_max);
	jst_wire_u32(w, q->errors);
	jst_wire_u32(w, q->errors_max);
	jst_wire_u32(w, q->connections);
	jst_wire_u32(w, q->connections_max);
	jst_wire_u32(w, q->pending);
	jst_wire_u32(w, q->pending_max);
}

void jst_enc_reply_get(struct jst_wbuf *w, uint32_t id, uint32_t n)
{
	reply_begin(w, JST_MSG_GET, id);
	jst_wire_str(w, NULL); /* the explanation slot UPDATE's reply also has */
	jst_wire_u32(w, n);
}

void jst_enc_reply_get_item(struct jst_wbuf *w, int rc, const struct jst_status *st)
{
	static const struct jst_status none;

	jst_wire_u32(w, (uint32_t)rc);
	jst_wire_bytes(w, rc < 0 ? &none : st, sizeof(*st)); /* raw: both ends are this machine */
}

void jst_enc_reply_get_by_id(struct jst_wbuf *w, uint32_t id, const struct jst_status *st)
{
	reply_begin(w, JST_MSG_GET_BY_ID, id);
	jst_wire_bytes(w, st, sizeof(*st));
}

void jst_enc_reply_get_error(struct jst_wbuf *w, uint32_t id, const struct jst_error *e)
{
	reply_begin(w, JST_MSG_GET_ERROR, id);
	jst_enc_error_body(w, e);
}

/* ---- decoding ---- */

int jst_wire_check(const uint8_t *pkt, size_t n, bool truncated, struct jst_msg_hdr *ret_hdr)
{
	if (n < sizeof(*ret_hdr))
		return JST_EPROTO;
	memcpy(ret_hdr, pkt, sizeof(*ret_hdr));
	if (ret_hdr->magic != JST_PROTO_MAGIC)
		return JST_EPROTO;
	if (truncated || n > JST_MSG_MAX)
		return JST_EMSGSIZE;
	if (ret_hdr->version != JST_PROTO_VERSION)
		return JST_EPROTOVERSION;
	if (ret_hdr->len != n)
		return JST_EINVAL;
	return 0;
}

void jst_rbuf_init(struct jst_rbuf *r, const uint8_t *pkt, size_t n)
{
	r->p = pkt;
	r->len = n;
	r->off = n < JST_MSG_HDR_SIZE ? n : JST_MSG_HDR_SIZE;
	r->bad = n < JST_MSG_HDR_SIZE;
}

static bool take(struct jst_rbuf *r, void *v, size_t n)
{
	if (r->bad || n > r->len - r->off) {
		r->bad = true;
		memset(v, 0, n);
		return false;
	}
	memcpy(v, r->p + r->off, n);
	r->off += n;
	return true;
}

uint8_t jst_rd_u8(struct jst_rbuf *r)
{
	uint8_t v;

	take(r, &v, sizeof(v));
	return v;
}

uint16_t jst_rd_u16(struct jst_rbuf *r)
{
	uint16_t v;

	take(r, &v, sizeof(v));
	return v;
}

uint32_t jst_rd_u32(struct jst_rbuf *r)
{
	uint32_t v;

	take(r, &v, sizeof(v));
	return v;
}

uint64_t jst_rd_u64(struct jst_rbuf *r)
{
	uint64_t v;

	take(r, &v, sizeof(v));
	return v;
}

const char *jst_rd_str(struct jst_rbuf *r)
{
	uint32_t n = jst_rd_u32(r);
	const char *s;

	if (r->bad || n == JST_WIRE_NULL)
		return NULL;
	/* n bytes and the NUL must be in the packet, and the NUL must be the first one. */
	if (n >= r->len - r->off || r->p[r->off + n] != 0 || memchr(r->p + r->off, 0, n)) {
		r->bad = true;
		return NULL;
	}
	s = (const char *)r->p + r->off;
	r->off += (size_t)n + 1;
	return s;
}

int jst_rd_end(const struct jst_rbuf *r)
{
	return r->bad || r->off != r->len ? JST_EPROTO : 0;
}

int jst_dec_hello(struct jst_rbuf *r, struct jst_msg_hello *m)
{
	m->flags = jst_rd_u32(r);
	m->session = jst_rd_u64(r);
	/* The token came with the exactly-once answers; a 0.1.0 client sends none. */
	m->token = r->off < r->len ? jst_rd_u64(r) : 0;
	return jst_rd_end(r);
}

int jst_dec_create(struct jst_rbuf *r, struct jst_msg_create *m)
{
	m->instance_id = jst_rd_str(r);
	m->name = jst_rd_str(r);
	m->owner = jst_rd_str(r);
	m->notify = jst_rd_str(r);
	m->job_status = jst_rd_str(r);
	m->job_type = jst_rd_u16(r);
	m->initial_state = jst_rd_u16(r);
	m->priority = jst_rd_u32(r);
	m->flags = jst_rd_u32(r);
	m->time_before_removal_ns = jst_rd_u64(r);
	return jst_rd_end(r);
}

int jst_dec_update_count(struct jst_rbuf *r, uint32_t *ret_n)
{
	uint32_t n = jst_rd_u32(r);

	if (r->bad || n == 0 || n > JST_BATCH_MAX)
		return JST_EPROTO;
	*ret_n = n;
	return 0;
}

int jst_dec_update_rec(struct jst_rbuf *r, struct jst_update *u)
{
	memset(u, 0, sizeof(*u));
	u->handle.slot = jst_rd_u32(r);
	u->handle.gen = jst_rd_u32(r);
	u->set = jst_rd_u32(r);
	u->job_state = jst_rd_u16(r);
	u->percent_complete = jst_rd_u16(r);
	u->error_code = jst_rd_u16(r);
	u->transfer_state = jst_rd_u16(r);
	u->n_operational_status = jst_rd_u16(r);
	if (u->n_operational_status > JST_OPSTATUS_MAX ||
	    (u->n_operational_status && !(u->set & JST_SET_OP_STATUS)))
		return JST_EPROTO;
	for (unsigned k = 0; k < u->n_operational_status; k++)
		u->operational_status[k] = jst_rd_u16(r);
	for (unsigned k = 0; k < u->n_operational_status; k++)
		u->status_descriptions[k] = jst_rd_str(r);
	if (u->set & JST_SET_JOB_STATUS)
		u->job_status = jst_rd_str(r);
	if (u->set & JST_SET_ERROR_DESCRIPTION)
		u->error_description = jst_rd_str(r);
	return r->bad ? JST_EPROTO : 0;
}

static int rd_array(struct jst_rbuf *r, uint16_t *ret_n, const char **a)
{
	*ret_n = jst_rd_u16(r);
	if (*ret_n > JST_ERROR_ARGS_MAX) {
		*ret_n = 0;
		return JST_EPROTO;
	}
	for (unsigned k = 0; k < *ret_n; k++)
		a[k] = jst_rd_str(r);
	return 0;
}

int jst_dec_error_body(struct jst_rbuf *r, struct jst_error *e)
{
	memset(e, 0, offsetof(struct jst_error, text));
	e->error_type = jst_rd_u16(r);
	e->other_error_type = jst_rd_str(r);
	e->owning_entity = jst_rd_str(r);
	e->message_id = jst_rd_str(r);
	e->message = jst_rd_str(r);
	if (rd_array(r, &e->n_message_arguments, e->message_arguments) < 0)
		return JST_EPROTO;
	e->perceived_severity = jst_rd_u16(r);
	e->probable_cause = jst_rd_u16(r);
	e->probable_cause_description = jst_rd_str(r);
	if (rd_array(r, &e->n_recommended_actions, e->recommended_actions) < 0)
		return JST_EPROTO;
	e->error_source = jst_rd_str(r);
	e->error_source_format = jst_rd_u16(r);
	e->other_error_source_format = jst_rd_str(r);
	e->cim_status_code = jst_rd_u32(r);
	e->cim_status_code_description = jst_rd_str(r);
	e->hresult = jst_rd_u32(r);
	e->context = jst_rd_u16(r);
	e->file = jst_rd_str(r);
	return r->bad ? JST_EPROTO : 0;
}

int jst_dec_error(struct jst_rbuf *r, jst_handle *ret_h, bool *ret_fail, struct jst_error *e)
{
	ret_h->slot = jst_rd_u32(r);
	ret_h->gen = jst_rd_u32(r);
	*ret_fail = jst_rd_u8(r) != 0;
	if (jst_dec_error_body(r, e) < 0)
		return JST_EPROTO;
	return jst_rd_end(r);
}

int jst_dec_remove(struct jst_rbuf *r, struct jst_msg_remove *m)
{
	m->handle.slot = jst_rd_u32(r);
	m->handle.gen = jst_rd_u32(r);
	m->flags = jst_rd_u32(r);
	return jst_rd_end(r);
}

int jst_dec_props(struct jst_rbuf *r, struct jst_msg_props *m)
{
	struct jst_job_props *p = &m->p;
	uint8_t doc;

	memset(m, 0, sizeof(*m));
	m->handle.slot = jst_rd_u32(r);
	m->handle.gen = jst_rd_u32(r);
	p->set = jst_rd_u32(r);
	p->priority = jst_rd_u32(r);
	doc = jst_rd_u8(r);
	p->recovery_action = jst_rd_u16(r);
	p->time_before_removal_ns = (int64_t)jst_rd_u64(r);
	p->other_recovery_action = jst_rd_str(r);
	p->error_summary_description = jst_rd_str(r);
	p->element_name = jst_rd_str(r);
	p->caption = jst_rd_str(r);
	p->description = jst_rd_str(r);
	p->scheduled_start_time = jst_rd_u64(r);
	p->until_time = jst_rd_u64(r);
	p->job_run_times = jst_rd_u32(r);
	p->local_or_utc_time = jst_rd_u16(r);
	if (doc > 1)
		return JST_EPROTO; /* a boolean is 0 or 1 on the wire */
	p->delete_on_completion = doc;
	return jst_rd_end(r);
}

int jst_dec_request(struct jst_rbuf *r, struct jst_msg_request *m)
{
	m->instance_id = jst_rd_str(r);
	m->requested_state = jst_rd_u16(r);
	m->timeout_ns = jst_rd_u64(r);
	return jst_rd_end(r);
}

int jst_dec_event(struct jst_rbuf *r, struct jst_msg_event *m)
{
	m->event_id = jst_rd_u32(r);
	m->rq.handle.slot = jst_rd_u32(r);
	m->rq.handle.gen = jst_rd_u32(r);
	m->rq.requested_state = jst_rd_u16(r);
	m->rq.requester_uid = jst_rd_u32(r);
	m->rq.requester_pid = (int32_t)jst_rd_u32(r);
	m->rq.timeout_ns = jst_rd_u64(r);
	m->rq.instance_id = jst_rd_str(r);
	return jst_rd_end(r);
}

int jst_dec_event_reply(struct jst_rbuf *r, struct jst_msg_event_reply *m)
{
	m->event_id = jst_rd_u32(r);
	m->cim = jst_rd_u32(r);
	return jst_rd_end(r);
}

/* ---- reply bodies ---- */

static int take_bytes(struct jst_rbuf *r, void *out, size_t n)
{
	if (r->bad || n > r->len - r->off) {
		r->bad = true;
		return JST_EPROTO;
	}
	memcpy(out, r->p + r->off, n);
	r->off += n;
	return 0;
}

int jst_dec_reply_hello(struct jst_rbuf *r, struct jst_msg_hello_reply *m)
{
	m->session = jst_rd_u64(r);
	m->generation = jst_rd_u64(r);
	m->reclaimed = jst_rd_u32(r);
	m->uid = jst_rd_u32(r);
	return jst_rd_end(r);
}

int jst_dec_reply_create(struct jst_rbuf *r, struct jst_msg_create_reply *m)
{
	m->handle.slot = jst_rd_u32(r);
	m->handle.gen = jst_rd_u32(r);
	m->instance_id = jst_rd_str(r);
	return jst_rd_end(r) == 0 && m->instance_id ? 0 : JST_EPROTO;
}

int jst_dec_reply_update(struct jst_rbuf *r, struct jst_msg_update_reply *m)
{
	m->n = jst_rd_u32(r);
	if (r->bad || m->n == 0 || m->n > JST_BATCH_MAX)
		return JST_EPROTO;
	for (uint32_t i = 0; i < m->n; i++)
		m->codes[i] = (int16_t)jst_rd_u16(r);
	return jst_rd_end(r);
}

int jst_dec_reply_remove(struct jst_rbuf *r, struct jst_msg_remove_reply *m)
{
	m->when = jst_rd_u64(r);
	return jst_rd_end(r);
}

int jst_dec_reply_request(struct jst_rbuf *r, struct jst_msg_request_reply *m)
{
	m->cim = jst_rd_u32(r);
	return jst_rd_end(r);
}

int jst_dec_reply_stats(struct jst_rbuf *r, struct jst_daemon_stats *m)
{
	m->connections = jst_rd_u32(r);
	m->sessions = jst_rd_u32(r);
	m->timers = jst_rd_u32(r);
	m->pending = jst_rd_u32(r);
	m->heap_bytes = jst_rd_u64(r);
	return jst_rd_end(r);
}

int jst_dec_reply_quota(struct jst_rbuf *r, uint32_t *ret_n)
{
	uint32_t n = jst_rd_u32(r);

	if (r->bad || n > JST_QUOTA_MAX)
		return JST_EPROTO;
	*ret_n = n;
	return 0;
}

int jst_dec_reply_quota_item(struct jst_rbuf *r, struct jst_quota_use *q)
{
	q->uid = jst_rd_u32(r);
	q->jobs = jst_rd_u32(r);
	q->jobs_max = jst_rd_u32(r);
	q->errors = jst_rd_u32(r);
	q->errors_max = jst_rd_u32(r);
	q->connections = jst_rd_u32(r);
	q->connections_max = jst_rd_u32(r);
	q->pending = jst_rd_u32(r);
	q->pending_max = jst_rd_u32(r);
	return r->bad ? JST_EPROTO : 0;
}

int jst_dec_reply_get(struct jst_rbuf *r, uint32_t *ret_n)
{
	uint32_t n;

	jst_rd_str(r); /* the explanation slot, NULL for GET */
	n = jst_rd_u32(r);
	if (r->bad || n == 0 || n > JST_GET_MAX)
		return JST_EPROTO;
	*ret_n = n;
	return 0;
}

int jst_dec_reply_get_item(struct jst_rbuf *r, int *ret_rc, struct jst_status *st)
{
	*ret_rc = (int32_t)jst_rd_u32(r);
	return take_bytes(r, st, sizeof(*st));
}

int jst_dec_reply_get_by_id(struct jst_rbuf *r, struct jst_status *st)
{
	if (take_bytes(r, st, sizeof(*st)) < 0)
		return JST_EPROTO;
	return jst_rd_end(r);
}

void jst_random_instance_id(char *buf, size_t n)
{
	uint8_t b[16] = {0};
	size_t got = 0;

	while (got < sizeof(b)) {
		ssize_t k = getrandom(b + got, sizeof(b) - got, 0);

		if (k <= 0) {
			/* No entropy source at all: time and pid still make a unique name. */
			struct timespec ts;
			uint64_t t;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			t = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ ((uint64_t)getpid() << 48);

			memcpy(b, &t, sizeof(t));
			break;
		}
		got += (size_t)k;
	}
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* an RFC 4122 version 4 UUID */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(buf, n,
		 "jobstat:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}

/* ---- where things are ---- */

int jst_runtime_dir(uid_t euid, char *buf, size_t n)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int len;

	if (euid == 0)
		len = snprintf(buf, n, JST_SYSTEM_RUNDIR);
	else if (xdg && *xdg == '/')
		len = snprintf(buf, n, "%s/jobstat", xdg);
	else
		len = snprintf(buf, n, "/tmp/jobstat-%ld", (long)euid);
	return len < 0 || (size_t)len >= n ? JST_ETOOLONG : 0;
}

int jst_socket_path(const char *rundir, const char *ns, char *buf, size_t n)
{
	char shm[JST_SHM_NAME_MAX];
	int len, rc = jst_shm_name(ns, shm, sizeof(shm)); /* validates the namespace */

	if (rc < 0)
		return rc;
	len = snprintf(buf, n, "%s/%s.sock", rundir, ns);
	return len < 0 || (size_t)len >= n ? JST_ETOOLONG : 0;
}

int jst_rundir_check(const char *path, uid_t a, uid_t b, char *why, size_t n)
{
	struct stat sb;

	if (lstat(path, &sb) < 0) {
		snprintf(why, n, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? JST_ENOENT : JST_ESYS;
	}
	if (!S_ISDIR(sb.st_mode)) {
		snprintf(why, n, "%s is not a directory%s", path,
			 S_ISLNK(sb.st_mode) ? " (a symbolic link)" : "");
		return JST_ENOTREG;
	}
	if (sb.st_uid != a && sb.st_uid != b) {
		snprintf(why, n, "%s belongs to uid %ld: another user may have made it first",
			 path, (long)sb.st_uid);
		return JST_EOWNER;
	}
	if (sb.st_mode & 022) {
		snprintf(why, n, "%s has mode %04o: group or others may write in it", path,
			 (unsigned)(sb.st_mode & 07777));
		return JST_EUNSAFE;
	}
	return 0;
}
