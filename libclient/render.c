/* SPDX-License-Identifier: MIT */
/*
 * render.c - a CIM_Error, a set of them and a whole job as text for other
 * programs: DSP0201 CIM-XML (what Hyper-V's GetError returns), JSON for
 * scripts, and CIM datetime strings.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "jobstat.h"

/* An output that counts what it would write, so a short buffer can say what it needs. */
struct out {
	char *buf;
	size_t n, len;
};

static void put(struct out *o, const char *s, size_t k)
{
	if (o->len + k < o->n)
		memcpy(o->buf + o->len, s, k);
	o->len += k;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void putu(struct out *o, uint64_t v)
{
	char tmp[24];
	size_t i = sizeof(tmp);

	/* Digits from the right: snprintf() cost more than the rest of a property. */
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(o, tmp + i, sizeof(tmp) - i);
}

static int finish(struct out *o, size_t *ret_len)
{
	if (ret_len)
		*ret_len = o->len;
	if (!o->buf)
		return 0; /* measured: the caller allocates *ret_len + 1 and calls again */
	if (o->len >= o->n) {
		if (o->n)
			o->buf[0] = 0;
		return JST_ETOOLONG;
	}
	o->buf[o->len] = 0;
	return 0;
}

/* Length of the UTF-8 sequence at @s (the publisher stored valid UTF-8), and its code point. */
static size_t utf8_next(const unsigned char *s, uint32_t *cp)
{
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0 && s[1]) {
		*cp = ((uint32_t)(s[0] & 0x1f) << 6) | (s[1] & 0x3f);
		return 2;
	}
	if ((s[0] & 0xf0) == 0xe0 && s[1] && s[2]) {
		*cp = ((uint32_t)(s[0] & 0x0f) << 12) | ((uint32_t)(s[1] & 0x3f) << 6) | (s[2] & 0x3f);
		return 3;
	}
	if ((s[0] & 0xf8) == 0xf0 && s[1] && s[2] && s[3]) {
		*cp = ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3f) << 12) |
		      ((uint32_t)(s[2] & 0x3f) << 6) | (s[3] & 0x3f);
		return 4;
	}
	*cp = 0xfffd; /* not UTF-8 after all: replace the byte */
	return 1;
}

/* Bytes that pass through both XML text and JSON strings unchanged: printable ASCII. */
static size_t plain_run(const unsigned char *p, bool xml)
{
	size_t k = 0;

	for (; p[k] >= 0x20 && p[k] < 0x7f; k++) {
		if (p[k] == '"' || (xml ? (p[k] == '&' || p[k] == '<' || p[k] == '>' || p[k] == '\'')
					: p[k] == '\\'))
			break;
	}
	return k;
}

/*
 * plain_run() for XML text of known length: whole blocks while none of their
 * bytes needs a look (control, non-ASCII, DEL, " & < > '), then bytes. Reads
 * only bytes before @len, nothing past the string's NUL. '<' and '>' differ
 * in bit 1 only, '&' and '\'' in bit 0: one comparison covers each pair.
 */
static size_t xml_plain_run(const unsigned char *p, size_t len)
{
	size_t k = 0;

#ifdef __SSE2__
	for (; k + 16 <= len; k += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + k));
		/* signed: bytes >= 0x80 are negative, so one compare takes them and controls */
		__m128i bad = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));

		bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)));
		bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, _mm_set1_epi8('"')));
		bad = _mm_or_si128(bad, _mm_cmpeq_epi8(_mm_andnot_si128(_mm_set1_epi8(2), v),
						       _mm_set1_epi8('<')));
		bad = _mm_or_si128(bad, _mm_cmpeq_epi8(_mm_or_si128(v, _mm_set1_epi8(1)),
						       _mm_set1_epi8('\'')));
		if (_mm_movemask_epi8(bad))
			break;
	}
#else
	const uint64_t ones = UINT64_C(0x0101010101010101), high = ones << 7;

	for (; k + 8 <= len; k += 8) {
		uint64_t w, x, y, z;

		memcpy(&w, p + k, sizeof(w));
		/* A byte of x, y or z is zero where w has '"', '<' or '>', '&' or '\''. */
		x = w ^ (ones * '"');
		y = (w & ~(ones * 2)) ^ (ones * '<');
		z = (w | ones) ^ (ones * '\'');
		if (((w | (w + ones)) & high) | ((w - ones * 0x20) & ~w & high) |
		    ((x - ones) & ~x & high) | ((y - ones) & ~y & high) | ((z - ones) & ~z & high))
			break;
	}
#endif
	return k + plain_run(p + k, true);
}

static void xml_text(struct out *o, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *end = p + strlen(s);

	while (*p) {
		uint32_t cp;
		size_t k = xml_plain_run(p, (size_t)(end - p));

		if (k) { /* the common case, copied in one go */
			put(o, (const char *)p, k);
			p += k;
			continue;
		}
		k = utf8_next(p, &cp);

		switch (cp) {
		case '&':
			puts_(o, "&amp;");
			break;
		case '<':
			puts_(o, "&lt;");
			break;
		case '>':
			puts_(o, "&gt;");
			break;
		case '"':
			puts_(o, "&quot;");
			break;
		case '\'':
			puts_(o, "&apos;");
			break;
		case '\r':
			puts_(o, "&#13;"); /* a raw CR would be normalised away by the parser */
			break;
		default:
			/* XML 1.0 Char: no C0 control but TAB and LF, no U+FFFE/U+FFFF. */
			if ((cp < 0x20 && cp != '\t' && cp != '\n') || cp == 0xfffe || cp == 0xffff ||
			    (cp == 0xfffd && k == 1))
				puts_(o, "\xef\xbf\xbd");
			else
				put(o, (const char *)p, k);
		}
		p += k;
	}
}

static void xml_scalar(struct out *o, const char *name, const char *type, const char *text,
		       bool null, uint64_t num)
{
	puts_(o, "<PROPERTY NAME=\"");
	puts_(o, name);
	puts_(o, "\" TYPE=\"");
	puts_(o, type);
	puts_(o, "\">");
	if (!null) {
		puts_(o, "<VALUE>");
		if (text)
			xml_text(o, text);
		else
			putu(o, num);
		puts_(o, "</VALUE>");
	}
	puts_(o, "</PROPERTY>");
}

static void xml_str(struct out *o, const char *name, const char *s)
{
	xml_scalar(o, name, "string", s, s == NULL, 0);
}

static void xml_array(struct out *o, const char *name, const char *const *a, unsigned n)
{
	puts_(o, "<PROPERTY.ARRAY NAME=\"");
	puts_(o, name);
	puts_(o, "\" TYPE=\"string\">");
	if (n) {
		puts_(o, "<VALUE.ARRAY>");
		for (unsigned i = 0; i < n && i < JST_ERROR_ARGS_MAX; i++) {
			if (!a[i]) {
				puts_(o, "<VALUE.NULL/>");
				continue;
			}
			puts_(o, "<VALUE>");
			xml_text(o, a[i]);
			puts_(o, "</VALUE>");
		}
		puts_(o, "</VALUE.ARRAY>");
	}
	puts_(o, "</PROPERTY.ARRAY>");
}

static void error_instance(struct out *o, const struct jst_error *e);

int jst_error_to_cimxml(const struct jst_error *e, char *buf, size_t n, size_t *ret_len)
{
	struct out o = {buf, buf ? n : 0, 0};

	if (!e || (!buf && n))
		return JST_EINVAL;
	error_instance(&o, e);
	return finish(&o, ret_len);
}

static void error_instance(struct out *o_, const struct jst_error *e)
{
	struct out o = *o_;

	puts_(&o, "<INSTANCE CLASSNAME=\"CIM_Error\">");
	xml_scalar(&o, "ErrorType", "uint16", NULL, false, e->error_type);
	xml_str(&o, "OtherErrorType", e->other_error_type);
	xml_str(&o, "OwningEntity", e->owning_entity);
	xml_str(&o, "MessageID", e->message_id);
	xml_str(&o, "Message", e->message);
	xml_array(&o, "MessageArguments", e->message_arguments, e->n_message_arguments);
	xml_scalar(&o, "PerceivedSeverity", "uint16", NULL, false, e->perceived_severity);
	xml_scalar(&o, "ProbableCause", "uint16", NULL, false, e->probable_cause);
	xml_str(&o, "ProbableCauseDescription", e->probable_cause_description);
	xml_array(&o, "RecommendedActions", e->recommended_actions, e->n_recommended_actions);
	xml_str(&o, "ErrorSource", e->error_source);
	xml_scalar(&o, "ErrorSourceFormat", "uint16", NULL, false, e->error_source_format);
	xml_str(&o, "OtherErrorSourceFormat", e->other_error_source_format);
	/* CIM status codes start at 1: 0 means the producer gave none. */
	xml_scalar(&o, "CIMStatusCode", "uint32", NULL, e->cim_status_code == 0,
		   e->cim_status_code);
	xml_str(&o, "CIMStatusCodeDescription", e->cim_status_code_description);
	puts_(&o, "</INSTANCE>");
	*o_ = o;
}

/* ---- JSON ---- */

static void json_str(struct out *o, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!s) {
		puts_(o, "null");
		return;
	}
	puts_(o, "\"");
	while (*p) {
		uint32_t cp;
		size_t k = plain_run(p, false);
		char esc[8];

		if (k) {
			put(o, (const char *)p, k);
			p += k;
			continue;
		}
		k = utf8_next(p, &cp);
		if (cp == '"' || cp == '\\') {
			put(o, "\\", 1);
			put(o, (const char *)p, 1);
		} else if (cp < 0x20) {
			put(o, esc, (size_t)snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)cp));
		} else if (cp == 0xfffd && k == 1) {
			puts_(o, "\xef\xbf\xbd");
		} else {
			put(o, (const char *)p, k);
		}
		p += k;
	}
	puts_(o, "\"");
}

int jst_json_string(const char *s, char *buf, size_t n, size_t *ret_len)
{
	struct out o = {buf, buf ? n : 0, 0};

	json_str(&o, s);
	return finish(&o, ret_len);
}

static void json_key(struct out *o, const char *k, bool first)
{
	if (!first)
		puts_(o, ",");
	puts_(o, "\"");
	puts_(o, k);
	puts_(o, "\":");
}

static void json_num(struct out *o, const char *k, uint64_t v)
{
	json_key(o, k, false);
	putu(o, v);
}

static void json_field(struct out *o, const char *k, const char *s)
{
	json_key(o, k, false);
	json_str(o, s);
}

static void json_array(struct out *o, const char *k, const char *const *a, unsigned n)
{
	json_key(o, k, false);
	if (!n) {
		puts_(o, "null");
		return;
	}
	puts_(o, "[");
	for (unsigned i = 0; i < n && i < JST_ERROR_ARGS_MAX; i++) {
		if (i)
			puts_(o, ",");
		json_str(o, a[i]);
	}
	puts_(o, "]");
}

int jst_error_to_json(const struct jst_error *e, char *buf, size_t n, size_t *ret_len)
{
	struct out o = {buf, buf ? n : 0, 0};

	if (!e || (!buf && n))
		return JST_EINVAL;
	puts_(&o, "{");
	json_key(&o, "ErrorType", true);
	putu(&o, e->error_type);
	json_field(&o, "OtherErrorType", e->other_error_type);
	json_field(&o, "OwningEntity", e->owning_entity);
	json_field(&o, "MessageID", e->message_id);
	json_field(&o, "Message", e->message);
	json_array(&o, "MessageArguments", e->message_arguments, e->n_message_arguments);
	json_num(&o, "PerceivedSeverity", e->perceived_severity);
	json_num(&o, "ProbableCause", e->probable_cause);
	json_field(&o, "ProbableCauseDescription", e->probable_cause_description);
	json_array(&o, "RecommendedActions", e->recommended_actions, e->n_recommended_actions);
	json_field(&o, "ErrorSource", e->error_source);
	json_num(&o, "ErrorSourceFormat", e->error_source_format);
	json_field(&o, "OtherErrorSourceFormat", e->other_error_source_format);
	json_key(&o, "CIMStatusCode", false);
	if (e->cim_status_code)
		putu(&o, e->cim_status_code);
	else
		puts_(&o, "null");
	json_field(&o, "CIMStatusCodeDescription", e->cim_status_code_description);
	json_num(&o, "Time", e->time);
	json_num(&o, "Sequence", e->sequence);
	json_num(&o, "JobState", e->job_state);
	json_num(&o, "HResult", e->hresult);
	json_num(&o, "Context", e->context);
	json_field(&o, "File", e->file);
	puts_(&o, "}");
	return finish(&o, ret_len);
}

/* ---- CIM datetime (DSP0004) ---- */

/* Days since 1970-01-01 to a proleptic Gregorian date (the era-based civil calendar). */
static void civil(uint64_t days, unsigned *y, unsigned *m, unsigned *d)
{
	uint64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
	uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;

	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = (unsigned)(yoe + era * 400 + (*m <= 2));
}

int jst_cim_datetime(uint64_t ns, bool interval, char *buf)
{
	uint64_t s = ns / 1000000000u, us = ns % 1000000000u / 1000u, days = s / 86400;
	unsigned sod = (unsigned)(s % 86400), y, m, d;
	char tmp[80]; /* more than the format can give, so the compiler sees no truncation */

	if (!buf)
		return JST_EINVAL;
	/* 2^64 ns is 213503 days, in year 2554: both forms always fit their fields. */
	if (interval) {
		snprintf(tmp, sizeof(tmp), "%08u%02u%02u%02u.%06u:000", (unsigned)days, sod / 3600,
			 sod / 60 % 60, sod % 60, (unsigned)us);
	} else {
		civil(days, &y, &m, &d);
		snprintf(tmp, sizeof(tmp), "%04u%02u%02u%02u%02u%02u.%06u+000", y, m, d, sod / 3600,
			 sod / 60 % 60, sod % 60, (unsigned)us);
	}
	memcpy(buf, tmp, JST_DATETIME_LEN + 1);
	return 0;
}

/* ---- a whole job ---- */

/* A datetime property: NULL for 0 (a timestamp never set) or for @null. */
static void xml_datetime(struct out *o, const char *name, uint64_t ns, bool interval, bool null)
{
	char dt[JST_DATETIME_LEN + 1];

	null = null || jst_cim_datetime(ns, interval, dt) < 0;
	xml_scalar(o, name, "datetime", dt, null, 0);
}

static void xml_u(struct out *o, const char *name, const char *type, uint64_t v)
{
	xml_scalar(o, name, type, NULL, false, v);
}

static void xml_bool(struct out *o, const char *name, bool v)
{
	xml_scalar(o, name, "boolean", v ? "true" : "false", false, 0);
}

static void xml_u16_array(struct out *o, const char *name, const uint16_t *a, unsigned n)
{
	puts_(o, "<PROPERTY.ARRAY NAME=\"");
	puts_(o, name);
	puts_(o, "\" TYPE=\"uint16\">");
	if (n) {
		puts_(o, "<VALUE.ARRAY>");
		for (unsigned i = 0; i < n && i < JST_OPSTATUS_MAX; i++) {
			puts_(o, "<VALUE>");
			putu(o, a[i]);
			puts_(o, "</VALUE>");
		}
		puts_(o, "</VALUE.ARRAY>");
	}
	puts_(o, "</PROPERTY.ARRAY>");
}

static unsigned n_descriptions(const struct jst_job *job)
{
	return job->n_status_descriptions < JST_OPSTATUS_MAX ? job->n_status_descriptions
							     : JST_OPSTATUS_MAX;
}

/*
 * The tail of a caller's struct jst_job_ext of @size bytes, in @t (its job
 * part untouched): what the caller's struct does not have is at its default.
 */
static int ext_tail(const struct jst_job_ext *x, size_t size, struct jst_job_ext *t)
{
	const size_t head = offsetof(struct jst_job_ext, element_name);

	if (!x || size < sizeof(struct jst_job))
		return JST_EINVAL;
	memset((char *)t + head, 0, sizeof(*t) - head);
	t->job_run_times = 1;
	if (size > head)
		memcpy((char *)t + head, (const char *)x + head,
		       (size < sizeof(*t) ? size : sizeof(*t)) - head);
	return 0;
}

/* The properties of format 1.5 (struct jst_job_ext's tail). */
static void xml_ext(struct out *o, const struct jst_job_ext *t)
{
	xml_str(o, "ElementName", t->element_name);
	xml_str(o, "Caption", t->caption);
	xml_str(o, "Description", t->description);
	xml_u(o, "CommunicationStatus", "uint16", t->communication_status);
	xml_u(o, "HealthState", "uint16", t->health_state);
	xml_u(o, "PrimaryStatus", "uint16", t->primary_status);
	xml_u(o, "DetailedStatus", "uint16", t->detailed_status);
	xml_u(o, "OperatingStatus", "uint16", t->operating_status);
	xml_datetime(o, "ScheduledStartTime", t->scheduled_start_time, false,
		     !t->scheduled_start_time);
	xml_datetime(o, "UntilTime", t->until_time, false, !t->until_time);
	xml_u(o, "JobRunTimes", "uint32", t->job_run_times);
	if (t->local_or_utc_time)
		xml_u(o, "LocalOrUtcTime", "uint16", t->local_or_utc_time);
	else
		xml_scalar(o, "LocalOrUtcTime", "uint16", NULL, true, 0);
}

static void job_instance(struct out *o, const struct jst_job *job, unsigned flags,
			 const struct jst_job_ext *t)
{
	const struct jst_status *st = &job->status;
	bool started = st->start_time != 0;

	puts_(o, flags & JST_CIMXML_MSVM ? "<INSTANCE CLASSNAME=\"Msvm_ConcreteJob\">"
					 : "<INSTANCE CLASSNAME=\"CIM_ConcreteJob\">");
	xml_str(o, "InstanceID", job->instance_id);
	xml_str(o, "Name", job->name);
	xml_u(o, "JobState", "uint16", st->job_state);
	xml_u16_array(o, "OperationalStatus", st->operational_status,
		      st->n_operational_status);
	xml_array(o, "StatusDescriptions", job->status_descriptions, n_descriptions(job));
	xml_u(o, "PercentComplete", "uint16", st->percent_complete);
	xml_u(o, "ErrorCode", "uint16", st->error_code);
	xml_str(o, "ErrorDescription", job->error_description);
	xml_str(o, "JobStatus", job->job_status);
	xml_str(o, "Owner", job->owner);
	xml_str(o, "Notify", job->notify);
	xml_u(o, "Priority", "uint32", st->priority);
	xml_u(o, "RecoveryAction", "uint16", st->recovery_action);
	xml_str(o, "OtherRecoveryAction", job->other_recovery_action);
	xml_bool(o, "DeleteOnCompletion", st->flags & JST_STATUS_DELETE_ON_COMPLETION);
	xml_datetime(o, "TimeSubmitted", st->time_submitted, false, !st->time_submitted);
	xml_datetime(o, "StartTime", st->start_time, false, !started);
	xml_datetime(o, "TimeOfLastStateChange", st->time_of_last_state_change, false,
		     !st->time_of_last_state_change);
	xml_datetime(o, "ElapsedTime", st->elapsed_ns, true, !started);
	xml_datetime(o, "TimeBeforeRemoval", st->time_before_removal_ns, true, false);
	if (flags & JST_CIMXML_MSVM) {
		xml_str(o, "ErrorSummaryDescription", job->error_summary_description);
		xml_bool(o, "Cancellable", st->flags & JST_STATUS_CANCELLABLE);
		xml_u(o, "JobType", "uint16", st->job_type);
	}
	if (t)
		xml_ext(o, t);
	puts_(o, "</INSTANCE>");
}

static void doc_begin(struct out *o)
{
	puts_(o, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
		 "<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.4\"><DECLARATION><DECLGROUP>");
}

static void doc_end(struct out *o)
{
	puts_(o, "</DECLGROUP></DECLARATION></CIM>\n");
}

static int job_cimxml(const struct jst_job *job, const struct jst_job_ext *t, unsigned flags,
		      char *buf, size_t n, size_t *ret_len)
{
	struct out o = {buf, buf ? n : 0, 0};

	if (!job || (!buf && n) || (flags & ~(unsigned)(JST_CIMXML_MSVM | JST_CIMXML_DOCUMENT)))
		return JST_EINVAL;
	if (flags & JST_CIMXML_DOCUMENT) {
		doc_begin(&o);
		puts_(&o, "<VALUE.OBJECT>");
	}
	job_instance(&o, job, flags, t);
	if (flags & JST_CIMXML_DOCUMENT) {
		puts_(&o, "</VALUE.OBJECT>");
		doc_end(&o);
	}
	return finish(&o, ret_len);
}

int jst_job_to_cimxml(const struct jst_job *job, unsigned flags, char *buf, size_t n,
		      size_t *ret_len)
{
	return job_cimxml(job, NULL, flags, buf, n, ret_len);
}

int jst_job_ext_to_cimxml(const struct jst_job_ext *x, size_t size, unsigned flags, char *buf,
			  size_t n, size_t *ret_len)
{
	struct jst_job_ext t;

	if (ext_tail(x, size, &t) < 0)
		return JST_EINVAL;
	return job_cimxml(&x->job, &t, flags, buf, n, ret_len);
}

int jst_errors_to_cimxml(const struct jst_error *errors, size_t n, char *buf, size_t len,
			 size_t *ret_len)
{
	struct out o = {buf, buf ? len : 0, 0};

	if ((n && !errors) || (!buf && len))
		return JST_EINVAL;
	doc_begin(&o);
	for (size_t i = 0; i < n; i++) {
		puts_(&o, "<VALUE.OBJECT>");
		error_instance(&o, &errors[i]);
		puts_(&o, "</VALUE.OBJECT>");
	}
	doc_end(&o);
	return finish(&o, ret_len);
}

static void json_datetime(struct out *o, const char *k, uint64_t ns, bool interval, bool null)
{
	char dt[JST_DATETIME_LEN + 1];

	json_field(o, k, null || jst_cim_datetime(ns, interval, dt) < 0 ? NULL : dt);
}

static int job_json(const struct jst_job *job, const struct jst_job_ext *t, char *buf, size_t n,
		    size_t *ret_len)
{
	struct out o = {buf, buf ? n : 0, 0};
	const struct jst_status *st;

	if (!job || (!buf && n))
		return JST_EINVAL;
	st = &job->status;
	puts_(&o, "{");
	json_key(&o, "InstanceID", true);
	json_str(&o, job->instance_id);
	json_field(&o, "Name", job->name);
	json_num(&o, "JobState", st->job_state);
	json_key(&o, "OperationalStatus", false);
	puts_(&o, "[");
	for (unsigned i = 0; i < st->n_operational_status && i < JST_OPSTATUS_MAX; i++) {
		if (i)
			puts_(&o, ",");
		putu(&o, st->operational_status[i]);
	}
	puts_(&o, "]");
	json_array(&o, "StatusDescriptions", job->status_descriptions, n_descriptions(job));
	json_num(&o, "PercentComplete", st->percent_complete);
	json_num(&o, "ErrorCode", st->error_code);
	json_field(&o, "ErrorDescription", job->error_description);
	json_field(&o, "JobStatus", job->job_status);
	json_field(&o, "Owner", job->owner);
	json_field(&o, "Notify", job->notify);
	json_num(&o, "Priority", st->priority);
	json_num(&o, "RecoveryAction", st->recovery_action);
	json_field(&o, "OtherRecoveryAction", job->other_recovery_action);
	json_key(&o, "DeleteOnCompletion", false);
	puts_(&o, st->flags & JST_STATUS_DELETE_ON_COMPLETION ? "true" : "false");
	json_datetime(&o, "TimeSubmitted", st->time_submitted, false, !st->time_submitted);
	json_datetime(&o, "StartTime", st->start_time, false, !st->start_time);
	json_datetime(&o, "TimeOfLastStateChange", st->time_of_last_state_change, false,
		      !st->time_of_last_state_change);
	json_datetime(&o, "ElapsedTime", st->elapsed_ns, true, !st->start_time);
	json_datetime(&o, "TimeBeforeRemoval", st->time_before_removal_ns, true, false);
	json_field(&o, "ErrorSummaryDescription", job->error_summary_description);
	json_key(&o, "Cancellable", false);
	puts_(&o, st->flags & JST_STATUS_CANCELLABLE ? "true" : "false");
	json_num(&o, "JobType", st->job_type);
	if (t) {
		json_field(&o, "ElementName", t->element_name);
		json_field(&o, "Caption", t->caption);
		json_field(&o, "Description", t->description);
		json_num(&o, "CommunicationStatus", t->communication_status);
		json_num(&o, "HealthState", t->health_state);
		json_num(&o, "PrimaryStatus", t->primary_status);
		json_num(&o, "DetailedStatus", t->detailed_status);
		json_num(&o, "OperatingStatus", t->operating_status);
		json_datetime(&o, "ScheduledStartTime", t->scheduled_start_time, false,
			      !t->scheduled_start_time);
		json_datetime(&o, "UntilTime", t->until_time, false, !t->until_time);
		json_num(&o, "JobRunTimes", t->job_run_times);
		if (t->local_or_utc_time)
			json_num(&o, "LocalOrUtcTime", t->local_or_utc_time);
		else
			json_field(&o, "LocalOrUtcTime", NULL);
	}
	puts_(&o, "}");
	return finish(&o, ret_len);
}

int jst_job_to_json(const struct jst_job *job, char *buf, size_t n, size_t *ret_len)
{
	return job_json(job, NULL, buf, n, ret_len);
}

int jst_job_ext_to_json(const struct jst_job_ext *x, size_t size, char *buf, size_t n,
			size_t *ret_len)
{
	struct jst_job_ext t;

	if (ext_tail(x, size, &t) < 0)
		return JST_EINVAL;
	return job_json(&x->job, &t, buf, n, ret_len);
}
