/* SPDX-License-Identifier: MIT */
/*
 * metrics.h - jobstat-exporter's metrics: what it reads from each
 * namespace's segment and how it writes one scrape in the Prometheus text
 * format 0.0.4 or OpenMetrics 1.0. No HTTP here (main.c), so the tests and
 * the bench call it directly.
 */
#ifndef JOBSTAT_EXPORTER_METRICS_H
#define JOBSTAT_EXPORTER_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jobstat.h"

#define JX_MAX_NAMESPACES   16
#define JX_DEFAULT_MAX_JOBS 10000u
#define JX_DEFAULT_FAILED_WINDOW_S 3600u
#define JX_LABEL_MAX        128u /* bytes of a producer string kept in a label (MessageID) */
#define JX_TYPES_MAX        64u  /* job_type label values per namespace in jobstat_jobs */

/* The two exposition formats. */
enum jx_format {
	JX_TEXT = 0,        /* text/plain; version=0.0.4 */
	JX_OPENMETRICS = 1, /* application/openmetrics-text; version=1.0.0 */
};

/* The Content-Type header of each format. */
const char *jx_content_type(enum jx_format f);

/*
 * jx_negotiate() - the format an Accept header asks for: OpenMetrics 1.0
 * when it ranks application/openmetrics-text (version absent or 1.0.0)
 * at least as high as text/plain 0.0.4 and above q=0, the text format
 * otherwise (also for NULL, an empty header or one naming neither: a
 * scraper always gets metrics, never 406).
 */
enum jx_format jx_negotiate(const char *accept);

/* An output buffer that never grows by itself: a write that does not fit sets full. */
struct jx_buf {
	char *p;
	size_t len, cap;
	bool full;
};

/* One namespace the exporter watches. */
struct jx_ns {
	char name[65];
	jst_reader *r;      /* NULL while the segment cannot be attached */
	int attach_rc;      /* why not (JST_E*), 0 when attached */
	uint64_t attaches;  /* successful attaches, the first included */
};

/* A job that gets per-job series in this scrape. */
struct jx_job {
	uint16_t ns;
	uint16_t job_state;
	uint16_t job_type;
	uint16_t percent;   /* 101: undefined, no progress series */
	uint64_t start_time; /* ns since the epoch; 0: none */
	bool failed;        /* Exception within the window: has the error series */
	bool has_error;
	uint16_t severity;
	uint32_t cim_status_code;
	char message_id[JX_LABEL_MAX + 1];
	char instance_id[JST_ID_MAX + 1];
};

/*
 * Jobs by state and type in one namespace (jobstat_jobs): a column per
 * job_type in order of first sight, JX_TYPES_MAX of them, then one for
 * every other type; a row per state class (JobState 2..12 as themselves,
 * 13 CompletedWithWarnings, 1 the other vendor values, 0 reserved values).
 */
#define JX_CLASSES    14u
#define JX_TYPE_OTHER JX_TYPES_MAX

struct jx_ns_scan {
	bool attached, up;
	struct jst_info info;
	struct jst_counters ctr;
	uint64_t heartbeat_age_ns;
	uint32_t n_types;
	bool other_used;
	uint16_t types[JX_TYPES_MAX];                   /* the job_type of each column */
	uint64_t counts[JX_TYPES_MAX + 1][JX_CLASSES];
	uint8_t column_of[65536];                       /* job_type -> column + 1; 0: none */
	uint64_t dropped;   /* jobs that qualified for per-job series past the cap */
	uint64_t scanned;
};

/* The exporter: its namespaces, settings and the memory one scrape uses. */
struct jx_exporter {
	unsigned n_ns;
	struct jx_ns ns[JX_MAX_NAMESPACES];
	uint32_t max_jobs;          /* --max-job-series */
	uint64_t failed_window_ns;  /* failed jobs keep their series this long */
	/* Scratch, allocated once by jx_init(): a scrape allocates nothing. */
	struct jx_job *jobs;
	uint32_t n_jobs;
	struct jx_ns_scan *scan;    /* [JX_MAX_NAMESPACES] */
	struct jst_status *batch;   /* JX_BATCH statuses for jst_scan() */
	struct jst_job *job;
	struct jst_error *err;
	uint64_t scrapes[2];        /* by enum jx_format, this one included */
	uint64_t last_render_ns;
};
#define JX_BATCH 512u

/*
 * jx_init() - set up @x for @n namespaces named in @names, with @max_jobs
 * per-job series at most and failed jobs shown for @failed_window_s.
 * Return: 0; JST_EINVAL (too many namespaces, or a bad name); JST_ENOMEM.
 */
int jx_init(struct jx_exporter *x, const char *const *names, unsigned n, uint32_t max_jobs,
	    uint32_t failed_window_s);

/** jx_free() - detach and free. Accepts a zeroed @x. */
void jx_free(struct jx_exporter *x);

/*
 * jx_refresh() - before a scrape: attach the namespaces that are not
 * attached, and re-attach one whose daemon is not alive (it may have made a
 * new segment). The only step of a scrape that makes syscalls, a few per
 * namespace, none per job.
 */
void jx_refresh(struct jx_exporter *x);

/*
 * jx_render() - write one scrape of every namespace into @b in format @f.
 * Reads the segments with no syscall and allocates nothing; when @b is too
 * small it sets b->full and the caller grows it and calls again.
 */
void jx_render(struct jx_exporter *x, enum jx_format f, struct jx_buf *b);

/*
 * jx_scrape() - jx_refresh() and jx_render() into @b, growing it as needed.
 * Return: 0; JST_ENOMEM.
 */
int jx_scrape(struct jx_exporter *x, enum jx_format f, struct jx_buf *b);

/* jx_label_escape() - append @s (at most @max bytes, cut at a UTF-8 boundary) escaped. */
void jx_label_escape(struct jx_buf *b, const char *s, size_t max);

#endif /* JOBSTAT_EXPORTER_METRICS_H */
