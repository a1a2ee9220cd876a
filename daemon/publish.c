/* SPDX-License-Identifier: MIT */
/*
 * publish.c - the segment's only writer. It keeps the job table in private
 * memory and decides from it alone; the segment is its output: every new
 * version of a job goes into a block no reader can be holding, is published
 * with one release store, and retired blocks are reused only after the grace
 * period (shm-layout/PROTOCOL.md is the protocol, its proof sketch and the
 * trust model). The segment is read back once, at adoption, as hostile input.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>

#include "counters.h"
#include "shm-atomic.h"
#include "publish.h"
#include "attach-mapping.h"
#include "shm-check.h"
#include "shm-status.h"

/* Memory is committed (fallocated) to growing regions in chunks of this size. */
#define COMMIT_CHUNK (1u << 20)

/*
 * What jst_pub_prepare() keeps committed and mapped beyond each growing
 * region's high-water mark, and how much of it one idle step does: a step
 * is what a message arriving meanwhile may wait for (about 30-60 us here).
 */
#define PREP_AHEAD (2u * COMMIT_CHUNK)
#define PREP_STEP  (128u << 10)

/* After a failed commit (a full /dev/shm), idle steps wait this long to try again. */
#define PREP_RETRY_NS 1000000000u

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14; older kernels say EINVAL and we only commit */
#endif

/* Where POSIX shared memory lives on Linux: shm_open("/x") is /dev/shm/x. */
#define SHM_DIR "/dev/shm"

/*
 * A FIFO of retired indices with their retirement times: blocks and slots
 * leave it oldest first, so the head is always the one that waited longest.
 */
struct reuse_queue {
	uint32_t *idx;
	uint64_t *when;
	uint32_t cap, head, len;
};

struct pool_state {
	uint32_t count;
	uint32_t fresh;          /* next never-used index (block 0 is never used) */
	uint32_t in_use;
	uint64_t offset, block_size;
	uint64_t committed;      /* bytes of the pool's region committed so far */
	uint64_t mapped;         /* bytes of it in our page tables (jst_pub_prepare()) */
	uint64_t stamps_mapped;  /* and of @stamps */
	uint32_t *stamps;        /* [count]: each block's stamp, the writer's own copy */
	uint32_t reserve;        /* blocks only daemon records may take */
	struct reuse_queue retired;
};

/*
 * The writer's private record of one job slot: the authority. The segment
 * holds copies of these bytes for readers; nothing is ever read back from it.
 * Invariant: gen is even exactly while a job occupies the slot, and then
 * status is the version status_ref names, detail (or NULL) the one
 * status.detail_ref names, and detail->error_refs[] the job's error blocks.
 */
struct pjob {
	uint32_t gen;
	uint32_t id_len;
	uint64_t id_hash;
	char id[JST_SHM_ID_MAX + 1];
	jst_shm_ref status_ref;
	struct jst_shm_status status;
	struct jst_shm_detail *detail; /* malloc'd: header + used data bytes */
};

struct jst_pub {
	char shm_name[JST_SHM_NAME_MAX];
	char *base;
	uint64_t size;
	int fd;
	int lock_fd;             /* holds the writer's OFD lock on "<segment>.lock" */
	struct jst_shm_header *hdr;
	uint64_t *refs;
	struct jst_shm_job *jobs;
	uint64_t *index[2];
	uint64_t *log;
	struct jst_shm_status *ring; /* 1.5: the status ring, or NULL (an older segment) */
	uint32_t capacity, index_mask, log_mask, ring_mask;
	uint64_t grace_ns;
	uint64_t generation;
	uint64_t seq;            /* the last change published */
	uint64_t woken_seq;      /* the last change jst_pub_flush() woke waiters for */
	uint64_t index_gen;      /* the current index copy is index_gen & 1 */
	uint64_t *pindex;        /* private mirror of the current index copy */
	uint32_t index_live, index_tombs;
	uint32_t slot_hwm;
	uint64_t slots_committed;
	/* jst_pub_prepare()'s progress: bytes of each region in our page tables. */
	uint64_t slots_mapped, pj_mapped, refs_mapped, ring_mapped, log_mapped, index_mapped[2];
	uint64_t index1_committed; /* bytes of the second index copy committed */
	bool no_populate;        /* the kernel has no MADV_POPULATE_WRITE */
	long page_size;
	uint64_t prep_retry_ns;  /* no idle commit before this (one failed) */
	struct pjob *pj;         /* [capacity], touched lazily */
	struct reuse_queue free_slots;
	struct pool_state pools[JST_POOL_COUNT];
	struct jst_pub_stats stats;
	struct jst_counters_writer ctr; /* the header's counters, kept here, stored there */
	char *why;
	size_t why_len;
	bool for_daemon;         /* publishing a daemon record: the pools' reserves are open */
	struct jst_job view;     /* a job's strings as its private detail has them (scratch) */
	int full_pool;           /* the pool of the last JST_ENOSPC, or -1 */
};

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

static uint32_t pow2_at_least(uint64_t v)
{
	uint32_t p = 1;

	while (p < v && p < (1u << 31))
		p <<= 1;
	return p;
}

/* Say why the call fails, when the caller gave room for it; returns @rc. */
static int why(char *buf, size_t n, int rc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int why(char *buf, size_t n, int rc, const char *fmt, ...)
{
	va_list ap;

	if (buf && n) {
		va_start(ap, fmt);
		vsnprintf(buf, n, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* ---- reuse queues ---------------------------------------------------------------------- */

static int rq_init(struct reuse_queue *q, uint32_t cap)
{
	q->idx = calloc(cap, sizeof(*q->idx));
	q->when = calloc(cap, sizeof(*q->when));
	q->cap = cap;
	q->head = q->len = 0;
	return q->idx && q->when ? 0 : JST_ENOMEM;
}

static void rq_free(struct reuse_queue *q)
{
	free(q->idx);
	free(q->when);
}

static void rq_push(struct reuse_queue *q, uint32_t idx, uint64_t when)
{
	uint32_t at = (q->head + q->len) % q->cap;

	/* Capacity equals the number of indices, and each is queued at most once. */
	q->idx[at] = idx;
	q->when[at] = when;
	q->len++;
}

/* Pop the oldest entry if it retired at least @grace ago (or @force). */
static bool rq_pop(struct reuse_queue *q, uint64_t now, uint64_t grace, bool force, uint32_t *idx)
{
	if (q->len == 0 || (!force && now - q->when[q->head] < grace))
		return false;
	*idx = q->idx[q->head];
	q->head = (q->head + 1) % q->cap;
	q->len--;
	return true;
}

/* ---- memory commitment ------------------------------------------------------------------ */

/*
 * Back [off, off + len) of the segment with memory before the first store
 * into it, so that a full /dev/shm is an error code here rather than a
 * SIGBUS in the middle of a publication.
 */
static int commit(struct jst_pub *p, uint64_t off, uint64_t len)
{
	if (len == 0)
		return 0;
	if (fallocate(p->fd, 0, (off_t)off, (off_t)len) < 0)
		return errno == ENOSPC || errno == ENOMEM ? JST_ENOSPC : JST_ESYS;
	p->stats.committed_bytes += len;
	return 0;
}

/* Make sure [region_off, region_off + end) is committed, growing in chunks. */
static int commit_upto(struct jst_pub *p, uint64_t region_off, uint64_t region_len,
		       uint64_t *committed, uint64_t end)
{
	uint64_t want;
	int rc;

	if (end <= *committed)
		return 0;
	want = align_up(end, COMMIT_CHUNK);
	if (want > region_len)
		want = region_len;
	rc = commit(p, region_off + *committed, want - *committed);
	if (rc == 0) {
		*committed = want;
		p->stats.inline_commits++;
	}
	return rc;
}

/*
 * Ahead of need, in idle time (jst_pub_prepare()). A region's first use of
 * a page costs a commit (fallocate: the kernel allocates and zeroes it) and
 * a page fault in our mapping, both slow on a virtual machine (0.1-0.5 ms
 * per 1 MiB commit and tens of microseconds per fault were measured on the
 * bench machine); paid inline, they land on whichever client's message
 * first needs the page. bench/noisy's first flood of a fresh daemon was
 * 2-6x its quiet p99 from this alone.
 *
 * One step for the region of @len bytes at @base whose first @used bytes are
 * in use: commit (a segment region, @committed not NULL) and map the next
 * PREP_STEP bytes of the @ahead beyond @used, once that much is missing (or
 * the region's tail): steps of a block's size would cost a system call per
 * publication, and keep the regions after this one from their turn. Return:
 * 1 a step was done, 0 the region is ready (or, @urgent, has half its
 * margin left), or JST_ENOSPC/JST_ESYS from the commit.
 */
static int prep_region(struct jst_pub *p, void *region, uint64_t len, uint64_t used,
		       uint64_t ahead, uint64_t *committed, uint64_t *mapped, bool urgent)
{
	uint64_t want = used + ahead < len ? used + ahead : len, end;
	char *base = region;
	uintptr_t page = (uintptr_t)p->page_size, from, to;
	int rc;

	if (*mapped < used)
		*mapped = used; /* pages in use were mapped by their use */
	if (*mapped >= want || (want - *mapped < PREP_STEP && want < len))
		return 0;
	if (urgent && *mapped - used >= ahead / 2)
		return 0; /* half the margin left: it can wait for an idle moment */
	end = *mapped + PREP_STEP < want ? *mapped + PREP_STEP : want;
	if (committed && end > *committed) {
		rc = commit(p, (uint64_t)(base - p->base) + *committed, end - *committed);
		if (rc < 0)
			return rc;
		*committed = end;
	}
	/* Whole pages only: a page past @end may be another region's, not committed. */
	from = ((uintptr_t)base + *mapped) / page * page;
	to = ((uintptr_t)base + end) / page * page;
	if (!p->no_populate && to > from &&
	    madvise((void *)from, to - from, MADV_POPULATE_WRITE) < 0 && errno == EINVAL)
		p->no_populate = true; /* before Linux 5.14: the commit alone is still ahead */
	*mapped = end;
	return 1;
}

/* One region jst_pub_prepare() keeps ahead: see prep_region() for the fields. */
struct prep {
	void *base;
	uint64_t len, used, ahead;
	uint64_t *committed; /* NULL: nothing to commit (private memory, or committed at creation) */
	uint64_t *mapped;
};

bool jst_pub_prepare(struct jst_pub *p, bool busy)
{
	uint64_t now = now_ns(CLOCK_MONOTONIC_COARSE);
	uint64_t idx_bytes = (uint64_t)(p->index_mask + 1) * sizeof(uint64_t);
	uint64_t slots_ahead = PREP_AHEAD / JST_SHM_JOB_SIZE; /* jobs' worth of slot table */
	struct prep r[3 * JST_POOL_COUNT + 8];
	unsigned n = 0, growing;
	int rc = 0;

	if (now < p->prep_retry_ns)
		return false;
	/* First what grows with use, nearest need first: pools, slots, their private mirrors. */
	for (unsigned i = 0; i < JST_POOL_COUNT; i++) {
		struct pool_state *ps = &p->pools[i];
		uint64_t blocks_ahead = PREP_AHEAD / ps->block_size + 1;

		r[n++] = (struct prep){p->base + ps->offset, (uint64_t)ps->count * ps->block_size,
				       (uint64_t)ps->fresh * ps->block_size, PREP_AHEAD,
				       &ps->committed, &ps->mapped};
		r[n++] = (struct prep){ps->stamps, (uint64_t)ps->count * sizeof(*ps->stamps),
				       (uint64_t)ps->fresh * sizeof(*ps->stamps),
				       blocks_ahead * sizeof(*ps->stamps), NULL, &ps->stamps_mapped};
	}
	r[n++] = (struct prep){p->jobs, (uint64_t)p->capacity * JST_SHM_JOB_SIZE,
			       (uint64_t)p->slot_hwm * JST_SHM_JOB_SIZE, PREP_AHEAD,
			       &p->slots_committed, &p->slots_mapped};
	r[n++] = (struct prep){p->pj, (uint64_t)p->capacity * sizeof(*p->pj),
			       (uint64_t)p->slot_hwm * sizeof(*p->pj), slots_ahead * sizeof(*p->pj),
			       NULL, &p->pj_mapped};
	r[n++] = (struct prep){p->refs, (uint64_t)p->capacity * sizeof(*p->refs),
			       (uint64_t)p->slot_hwm * sizeof(*p->refs),
			       slots_ahead * sizeof(*p->refs), NULL, &p->refs_mapped};
	growing = n;
	/* Then what was committed at creation and is written all over: map all of it. */
	if (p->ring)
		r[n++] = (struct prep){p->ring, (uint64_t)(p->ring_mask + 1) * sizeof(*p->ring), 0,
				       UINT64_MAX / 2, NULL, &p->ring_mapped};
	r[n++] = (struct prep){p->log, (uint64_t)(p->log_mask + 1) * sizeof(*p->log), 0,
			       UINT64_MAX / 2, NULL, &p->log_mapped};
	r[n++] = (struct prep){p->index[p->index_gen & 1], idx_bytes, 0, UINT64_MAX / 2, NULL,
			       &p->index_mapped[p->index_gen & 1]};
	/* The other index copy once removals leave tombstones: the first rebuild is coming. */
	if (p->index_tombs)
		r[n++] = (struct prep){p->index[(p->index_gen + 1) & 1], idx_bytes, 0,
				       UINT64_MAX / 2,
				       p->index_gen & 1 ? NULL : &p->index1_committed,
				       &p->index_mapped[(p->index_gen + 1) & 1]};
	/* Busy: only a growing region that is using up its margin, before it runs out. */
	for (unsigned i = 0; rc == 0 && i < (busy ? growing : n); i++)
		rc = prep_region(p, r[i].base, r[i].len, r[i].used, r[i].ahead, r[i].committed,
				 r[i].mapped, busy);
	if (rc < 0) {
		p->prep_retry_ns = now + PREP_RETRY_NS;
		return false;
	}
	if (rc > 0)
		p->stats.prepared_steps++;
	return rc > 0;
}

/* ---- blocks ----------------------------------------------------------------------------- */

/*
 * Take a block for a new version: the oldest retired block whose grace
 * period is over, else a never-used one, else (pool exhausted) the oldest
 * retired block even though its grace period is not over: readers still in
 * it see its stamp change and retry, so this costs them time, never
 * correctness.
 */
static int block_alloc(struct jst_pub *p, unsigned pool, uint32_t *ret_idx)
{
	struct pool_state *ps = &p->pools[pool];
	uint64_t now = ps->retired.len ? now_ns(CLOCK_MONOTONIC_COARSE) : 0;
	uint32_t idx;
	int rc;

	/*
	 * The last few blocks of each pool are the daemon's own: a client's
	 * terminate or kill is always recorded (jst_pub_change.daemon_record),
	 * however full producers made the pool.
	 */
	if (!p->for_daemon && ps->count - 1 - ps->in_use <= ps->reserve) {
		p->full_pool = (int)pool;
		return JST_ENOSPC;
	}
	if (rq_pop(&ps->retired, now, p->grace_ns, false, &idx))
		goto got;
	if (ps->fresh < ps->count) {
		rc = commit_upto(p, ps->offset, (uint64_t)ps->count * ps->block_size,
				 &ps->committed, (uint64_t)(ps->fresh + 1) * ps->block_size);
		if (rc < 0)
			return rc;
		idx = ps->fresh++;
		p->stats.touched[pool] = ps->fresh - 1;
		/* For a writer adopting the segment after us; readers do not depend on it. */
		uatomic_set(&p->hdr->pool_used[pool], ps->fresh);
		goto got;
	}
	if (rq_pop(&ps->retired, now, p->grace_ns, true, &idx)) {
		p->stats.early_reuse[pool]++;
		goto got;
	}
	p->full_pool = (int)pool;
	return JST_ENOSPC;
got:
	ps->in_use++;
	*ret_idx = idx;
	return 0;
}

static void block_retire(struct jst_pub *p, unsigned pool, uint32_t idx)
{
	struct pool_state *ps = &p->pools[pool];

	ps->in_use--;
	rq_push(&ps->retired, idx, now_ns(CLOCK_MONOTONIC_COARSE));
}

static void *block_addr(struct jst_pub *p, unsigned pool, uint32_t idx)
{
	return p->base + p->pools[pool].offset + (uint64_t)idx * p->pools[pool].block_size;
}

/*
 * Start rewriting block @idx of @pool: make its stamp odd before touching
 * anything else in it. Returns the stamp the new version will carry. The
 * stamp comes from the writer's private copy, never from the segment.
 */
static uint32_t block_begin(struct jst_pub *p, unsigned pool, uint32_t idx, void *blk)
{
	uint32_t *stamp = blk;
	/*
	 * Even, unless a writer crashed in the middle of rewriting this block:
	 * then it is odd already (adoption copied it), and stays so until this
	 * rewrite ends.
	 */
	uint32_t odd = p->pools[pool].stamps[idx] | 1;

	uatomic_set(stamp, odd); /* "being rewritten": ordered before the bytes below */
	/*
	 * Order the odd stamp before the block's new bytes. Pairs with the
	 * cmm_smp_rmb() in the reader's jst_read_block() between its copy and
	 * its stamp re-check: a reader that copied any new byte sees the stamp
	 * changed.
	 */
	cmm_smp_wmb();
	odd = odd + 1 ? odd + 1 : 2; /* stamps wrap, skipping 0: ref 0 must stay "none" */
	p->pools[pool].stamps[idx] = odd;
	return odd;
}

/* Finish a block rewritten since block_begin(): give it its new (even) stamp. */
static jst_shm_ref block_end(void *blk, uint32_t stamp, uint32_t idx)
{
	/*
	 * Order the block's bytes before its final stamp. Readers acquire the
	 * version through its reference (publish_ref()), so this pairs with
	 * nothing by itself; it keeps the stamp the last byte written, as
	 * PROTOCOL.md's invariant 2 states.
	 */
	cmm_smp_wmb();
	uatomic_set((uint32_t *)blk, stamp);
	return jst_shm_ref_make(stamp, idx);
}

/* Release-store a reference: the version it names becomes visible, whole. */
static void publish_ref(uint64_t *where, jst_shm_ref ref)
{
	/*
	 * Order the version's bytes and stamp before the reference. Pairs with
	 * the cmm_smp_rmb() after the reader's reference load (load_status_ref()
	 * and the detail/error reference loads that follow it).
	 */
	cmm_smp_wmb();
	uatomic_set(where, ref);
}

/* ---- change log ---------------------------------------------------------------------------- */

/*
 * Put the status change @seq published into its ring entry (format 1.5):
 * @st is the version's bytes, or NULL for a removal (zeroes but for the
 * slot). Before log_append(): the entry is whole before the head covers
 * it. The writer never waits: a reader still copying the entry sees its
 * version change and reads the job's reference instead.
 */
static void ring_put(struct jst_pub *p, uint64_t seq, uint32_t slot, const struct jst_shm_status *st)
{
	struct jst_shm_status *e;

	if (!p->ring)
		return;
	e = &p->ring[seq & p->ring_mask];
	uatomic_set(&e->change_seq, JST_SHM_RING_BUSY); /* "being rewritten" */
	/*
	 * Order BUSY before the entry's new bytes. Pairs with the cmm_smp_rmb()
	 * in the reader's ring_read() between its copy and its re-load of
	 * change_seq: a reader that copied any new byte sees BUSY or a later
	 * seq, never the seq it expects (a version is used once: seqs only grow).
	 */
	cmm_smp_wmb();
	if (st) {
		memcpy(e, st, offsetof(struct jst_shm_status, change_seq));
		memcpy((char *)e + offsetof(struct jst_shm_status, detail_ref),
		       (const char *)st + offsetof(struct jst_shm_status, detail_ref),
		       sizeof(*e) - offsetof(struct jst_shm_status, detail_ref));
	} else {
		memset(e, 0, offsetof(struct jst_shm_status, change_seq));
		memset((char *)e + offsetof(struct jst_shm_status, detail_ref), 0,
		       sizeof(*e) - offsetof(struct jst_shm_status, detail_ref));
		e->slot = slot; /* job_gen 0: removed, as jst_changed() reports it */
	}
	/*
	 * Order the entry's bytes before its version. Pairs with the
	 * cmm_smp_rmb() after the reader's first load of change_seq in
	 * ring_read(): a reader that loads seq there copies these bytes. The
	 * head (change_seq in the header) is stored after this, behind
	 * log_append()'s cmm_smp_wmb(), so a reader that saw the head sees the
	 * entry's version at seq or later.
	 */
	cmm_smp_wmb();
	uatomic_set(&e->change_seq, seq);
}

/*
 * Append change @seq of @slot and move change_seq to it. Waiters are woken
 * by jst_pub_flush(), once for any number of changes: the futex word stored
 * here is what their FUTEX_WAIT compares, so no change can slip between a
 * waiter's check and its sleep (the kernel compares under its own lock).
 */
static void log_append(struct jst_pub *p, uint64_t seq, uint32_t slot)
{
	/* One store: the entry carries its own sequence, so readers detect a lap. */
	uatomic_set(&p->log[seq & p->log_mask], jst_shm_log_make(seq, slot));
	/*
	 * Order the entry before the head that covers it. Pairs with the
	 * cmm_smp_rmb() in jst_changes() after it loads change_seq.
	 */
	cmm_smp_wmb();
	uatomic_set(&p->hdr->change_seq, seq);
	/*
	 * The futex word, after the sequence it mirrors (the waiter re-reads
	 * change_seq after waking; FUTEX_WAKE in jst_pub_flush() is a full
	 * barrier in the kernel, pairing with the waiter's FUTEX_WAIT compare).
	 */
	uatomic_set(&p->hdr->change_futex, (uint32_t)seq);
	p->seq = seq;
}

void jst_pub_flush(struct jst_pub *p)
{
	if (!p || p->woken_seq == p->seq)
		return;
	/*
	 * Unconditional: the writer keeps no waiter count that a client could
	 * falsify, so a waiter is never missed and a hostile client can make
	 * this cost no more than one syscall per flush.
	 */
	syscall(SYS_futex, &p->hdr->change_futex, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
	p->woken_seq = p->seq;
	p->stats.wakes++;
}

/* ---- validation of producer input ---------------------------------------------------------- */

static int check_str(const char *s, size_t max)
{
	size_t n;

	if (!s)
		return 0;
	n = strnlen(s, max + 1);
	if (n > max)
		return JST_ETOOLONG;
	return jst_utf8_valid(s, n) ? 0 : JST_EUTF8;
}

/* An InstanceID of @n bytes: UTF-8, "OrgID:LocalID", OrgID non-empty without a colon. */
static int check_instance_id_n(const char *id, size_t n)
{
	const char *colon;

	if (n == 0 || n > JST_ID_MAX)
		return n ? JST_ETOOLONG : JST_EINSTANCEID;
	if (!jst_utf8_valid(id, n) || memchr(id, '\0', n))
		return JST_EUTF8;
	colon = memchr(id, ':', n);
	if (!colon || colon == id || colon == id + n - 1)
		return JST_EINSTANCEID;
	return 0;
}

static int check_instance_id(const char *id, size_t *ret_len)
{
	size_t n;
	int rc;

	if (!id)
		return JST_EINVAL;
	n = strnlen(id, JST_ID_MAX + 1);
	rc = check_instance_id_n(id, n);
	if (rc == 0)
		*ret_len = n;
	return rc;
}

/* ---- string tables ------------------------------------------------------------------------ */

/* Builds the data area of a detail or error block: each string followed by a NUL. */
struct strtab {
	char *data;
	uint32_t used, max;
};

static void strtab_add(struct strtab *t, const char *s, struct jst_shm_str *out)
{
	size_t n;

	if (!s) {
		*out = (struct jst_shm_str){0, JST_SHM_STR_NULL};
		return;
	}
	n = strlen(s); /* the caller checked that everything fits */
	memcpy(t->data + t->used, s, n + 1);
	*out = (struct jst_shm_str){t->used, (uint32_t)n};
	t->used += (uint32_t)n + 1;
}

/* The strings of a job, gathered in table order, with their limits. */
static unsigned job_strings(const struct jst_job *j, const char **s, size_t *max)
{
	unsigned n = 0;

	s[n] = j->name, max[n++] = JST_NAME_MAX;
	s[n] = j->job_status, max[n++] = JST_JOB_STATUS_MAX;
	s[n] = j->error_description, max[n++] = JST_TEXT_FIELD_MAX;
	s[n] = j->owner, max[n++] = JST_SHORT_FIELD_MAX;
	s[n] = j->notify, max[n++] = JST_SHORT_FIELD_MAX;
	s[n] = j->error_summary_description, max[n++] = JST_TEXT_FIELD_MAX;
	s[n] = j->other_recovery_action, max[n++] = JST_SHORT_FIELD_MAX;
	for (unsigned k = 0; k < JST_SHM_OPSTATUS_MAX; k++)
		s[n] = k < j->n_status_descriptions ? j->status_descriptions[k] : NULL,
		max[n++] = JST_SHORT_FIELD_MAX;
	return n;
}

/* The limit of detail string @k (JST_DSTR_*). */
static size_t dstr_max(unsigned k)
{
	static const size_t max[JST_DSTR_STATUS_DESCRIPTIONS] = {
		[JST_DSTR_NAME] = JST_NAME_MAX,
		[JST_DSTR_JOB_STATUS] = JST_JOB_STATUS_MAX,
		[JST_DSTR_ERROR_DESCRIPTION] = JST_TEXT_FIELD_MAX,
		[JST_DSTR_OWNER] = JST_SHORT_FIELD_MAX,
		[JST_DSTR_NOTIFY] = JST_SHORT_FIELD_MAX,
		[JST_DSTR_ERROR_SUMMARY] = JST_TEXT_FIELD_MAX,
		[JST_DSTR_OTHER_RECOVERY_ACTION] = JST_SHORT_FIELD_MAX,
	};

	return k < JST_DSTR_STATUS_DESCRIPTIONS ? max[k] : JST_SHORT_FIELD_MAX;
}

static const struct jst_pub_ext ext_default = {.job_run_times = 1};

static bool ext_is_default(const struct jst_pub_ext *x)
{
	return !x->scheduled_start_time && !x->until_time && x->job_run_times == 1 &&
	       !x->local_or_utc_time && !x->element_name && !x->caption && !x->description;
}

/* The limits of the extension record's strings (JST_XSTR_*). */
static const size_t xstr_max[JST_XSTR_COUNT] = {
	[JST_XSTR_ELEMENT_NAME] = JST_ELEMENT_NAME_MAX,
	[JST_XSTR_CAPTION] = 4 * JST_CAPTION_MAX,
	[JST_XSTR_DESCRIPTION] = JST_DESCRIPTION_MAX,
};

_Static_assert(JST_NAME_MAX + JST_JOB_STATUS_MAX + 2 * JST_TEXT_FIELD_MAX +
			       (3 + JST_SHM_OPSTATUS_MAX) * JST_SHORT_FIELD_MAX + JST_DSTR_COUNT +
			       JST_SHM_DETAIL_EXT_SIZE + JST_ELEMENT_NAME_MAX + 4 * JST_CAPTION_MAX +
			       JST_DESCRIPTION_MAX + JST_XSTR_COUNT <=
		       JST_SHM_DETAIL_DATA_LARGE,
	       "every job's strings and extension at their limits fit a large detail block");

/*
 * Build a private detail image for @job's strings (NULL: none) and the
 * extension properties @ext (NULL: the defaults), carrying @errs. The
 * extension record, when any property is not at its default, goes first in
 * data[]. Checked before anything is allocated.
 * Return: 0; JST_ETOOLONG; JST_EUTF8; JST_ENOMEM.
 */
static int detail_build(const struct jst_job *job, const struct jst_pub_ext *ext,
			const jst_shm_ref *errs, uint16_t n_errs, struct jst_shm_detail **ret)
{
	const char *strs[JST_DSTR_COUNT] = {0}, *xs[JST_XSTR_COUNT];
	size_t max[JST_DSTR_COUNT];
	struct jst_shm_detail_ext rec = {0};
	struct jst_shm_detail *d;
	size_t need = 0;
	struct strtab t;
	bool with_ext;
	int rc;

	if (!ext)
		ext = &ext_default;
	with_ext = !ext_is_default(ext);
	if (job) {
		unsigned n;

		if (job->n_status_descriptions > JST_SHM_OPSTATUS_MAX)
			return JST_ETOOLONG;
		n = job_strings(job, strs, max);
		for (unsigned k = 0; k < n; k++) {
			rc = check_str(strs[k], max[k]);
			if (rc < 0)
				return rc;
			need += strs[k] ? strlen(strs[k]) + 1 : 0;
		}
	}
	xs[JST_XSTR_ELEMENT_NAME] = ext->element_name;
	xs[JST_XSTR_CAPTION] = ext->caption;
	xs[JST_XSTR_DESCRIPTION] = ext->description;
	if (with_ext) {
		need += JST_SHM_DETAIL_EXT_SIZE;
		for (unsigned k = 0; k < JST_XSTR_COUNT; k++) {
			rc = check_str(xs[k], xstr_max[k]);
			if (rc < 0)
				return rc;
			need += xs[k] ? strlen(xs[k]) + 1 : 0;
		}
	}
	d = malloc(sizeof(*d) + need);
	if (!d)
		return JST_ENOMEM;
	memset(d, 0, sizeof(*d));
	t = (struct strtab){d->data, 0, (uint32_t)need};
	if (with_ext) {
		t.used = JST_SHM_DETAIL_EXT_SIZE; /* the record first; its strings after it */
		rec.scheduled_start_time = ext->scheduled_start_time;
		rec.until_time = ext->until_time;
		rec.job_run_times = ext->job_run_times;
		rec.local_or_utc_time = ext->local_or_utc_time;
		for (unsigned k = 0; k < JST_XSTR_COUNT; k++)
			strtab_add(&t, xs[k], &rec.str[k]);
		memcpy(d->data, &rec, sizeof(rec));
		d->ext_len = JST_SHM_DETAIL_EXT_SIZE;
	}
	for (unsigned k = 0; k < JST_DSTR_COUNT; k++)
		strtab_add(&t, strs[k], &d->str[k]);
	d->n_status_descriptions = job ? job->n_status_descriptions : 0;
	d->used = t.used;
	if (n_errs)
		memcpy(d->error_refs, errs, n_errs * sizeof(*errs));
	d->n_errors = n_errs;
	*ret = d;
	return 0;
}

static const char *dstr(const struct jst_shm_detail *d, unsigned k)
{
	if (!d || d->str[k].len == JST_SHM_STR_NULL)
		return NULL;
	return d->data + d->str[k].off;
}

/* @d's strings as a struct jst_job (pointing into @d; status and identity left 0). */
static void detail_job_view(const struct jst_shm_detail *d, struct jst_job *o)
{
	memset(o, 0, offsetof(struct jst_job, text));
	o->name = dstr(d, JST_DSTR_NAME);
	o->job_status = dstr(d, JST_DSTR_JOB_STATUS);
	o->error_description = dstr(d, JST_DSTR_ERROR_DESCRIPTION);
	o->owner = dstr(d, JST_DSTR_OWNER);
	o->notify = dstr(d, JST_DSTR_NOTIFY);
	o->error_summary_description = dstr(d, JST_DSTR_ERROR_SUMMARY);
	o->other_recovery_action = dstr(d, JST_DSTR_OTHER_RECOVERY_ACTION);
	o->n_status_descriptions = d ? d->n_status_descriptions : 0;
	for (unsigned k = 0; k < o->n_status_descriptions; k++)
		o->status_descriptions[k] = dstr(d, JST_DSTR_STATUS_DESCRIPTIONS + k);
}

/* @d's extension properties (the defaults when it has no record), pointing into @d. */
static void detail_ext_view(const struct jst_shm_detail *d, struct jst_pub_ext *x)
{
	struct jst_shm_detail_ext rec;
	const char **xs[JST_XSTR_COUNT] = {&x->element_name, &x->caption, &x->description};

	*x = ext_default;
	if (!d || d->ext_len < JST_SHM_DETAIL_EXT_SIZE)
		return; /* private details were written or checked by us: no other length */
	memcpy(&rec, d->data, sizeof(rec));
	x->scheduled_start_time = rec.scheduled_start_time;
	x->until_time = rec.until_time;
	x->job_run_times = rec.job_run_times;
	x->local_or_utc_time = rec.local_or_utc_time;
	for (unsigned k = 0; k < JST_XSTR_COUNT; k++)
		*xs[k] = rec.str[k].len == JST_SHM_STR_NULL ? NULL : d->data + rec.str[k].off;
}

/* ---- the private table ---------------------------------------------------------------------- */

static struct pjob *live_job(const struct jst_pub *p, jst_handle h)
{
	struct pjob *j;

	if (!p || h.slot >= p->capacity)
		return NULL;
	j = &p->pj[h.slot];
	return j->status_ref && j->gen == h.gen && (h.gen & 1) == 0 ? j : NULL;
}

static unsigned detail_pool(jst_shm_ref ref, uint32_t *ret_idx)
{
	uint32_t idx = jst_shm_ref_index(ref);

	*ret_idx = idx & ~JST_SHM_REF_LARGE;
	return idx & JST_SHM_REF_LARGE ? JST_POOL_DETAIL_LARGE : JST_POOL_DETAIL_SMALL;
}

/* ---- job slots ----------------------------------------------------------------------------- */

/* Claim a slot for a new job: a free one whose grace is over, a fresh one, or the oldest free. */
static int slot_claim(struct jst_pub *p, const char *id, size_t len, uint64_t hash,
		      uint32_t *ret_slot)
{
	uint64_t now = p->free_slots.len ? now_ns(CLOCK_MONOTONIC_COARSE) : 0;
	struct jst_shm_job *j;
	struct pjob *pj;
	uint32_t slot;
	int rc;

	if (!rq_pop(&p->free_slots, now, p->grace_ns, false, &slot)) {
		if (p->slot_hwm < p->capacity) {
			rc = commit_upto(p, (uint64_t)((char *)p->jobs - p->base), /* private, not the header's */
					 (uint64_t)p->capacity * JST_SHM_JOB_SIZE,
					 &p->slots_committed,
					 (uint64_t)(p->slot_hwm + 1) * JST_SHM_JOB_SIZE);
			if (rc < 0)
				return rc;
			slot = p->slot_hwm;
		} else if (!rq_pop(&p->free_slots, now, p->grace_ns, true, &slot)) {
			p->full_pool = -1; /* "job slots" */
			return JST_ENOSPC;
		}
	}
	j = &p->jobs[slot];
	pj = &p->pj[slot];
	if ((pj->gen & 1) == 0)
		pj->gen++; /* a fresh slot: 0 -> 1, "free" */
	uatomic_set(&j->gen, pj->gen);
	/*
	 * gen is odd: order it before the identity is rewritten. Pairs with the
	 * cmm_smp_rmb() in the reader's slot_matches()/read_identity() before
	 * their gen re-check.
	 */
	cmm_smp_wmb();
	uatomic_set(&j->id_len, (uint32_t)len);
	j->id_hash = hash;
	memcpy(j->instance_id, id, len);
	memset(j->instance_id + len, 0, sizeof(j->instance_id) - len);
	pj->id_len = (uint32_t)len;
	pj->id_hash = hash;
	memcpy(pj->id, id, len);
	pj->id[len] = '\0';
	/*
	 * Order the identity before the even gen that vouches for it. Pairs with
	 * the cmm_smp_rmb() in slot_matches()/read_identity() after their first
	 * gen load.
	 */
	cmm_smp_wmb();
	pj->gen++;
	uatomic_set(&j->gen, pj->gen); /* even: live; after the identity, by the wmb above */
	if (slot == p->slot_hwm) {
		p->slot_hwm++;
		/* Readers bound iteration by slot_hwm; the slot's gen is set before it. */
		cmm_smp_wmb();
		uatomic_set(&p->hdr->slot_hwm, p->slot_hwm);
	}
	*ret_slot = slot;
	return 0;
}

static void slot_release(struct jst_pub *p, uint32_t slot)
{
	struct pjob *pj = &p->pj[slot];

	/*
	 * Odd gen: the slot is free. Its identity stays as it was until
	 * slot_claim() reuses the slot after the grace period; lookups skip
	 * odd slots. The ordering pairs as described in slot_claim().
	 */
	pj->gen |= 1;
	uatomic_set(&p->jobs[slot].gen, pj->gen);
	cmm_smp_wmb(); /* gen odd before any later rewrite; pairs with readers' gen re-check rmb */
	pj->status_ref = 0;
	free(pj->detail);
	pj->detail = NULL;
	rq_push(&p->free_slots, slot, now_ns(CLOCK_MONOTONIC_COARSE));
}

/* ---- the index --------------------------------------------------------------------------- */

/*
 * Put (hash, slot) into the private index and the same position of the
 * segment's copy @shm (NULL while rebuilding the private one alone). The two
 * have the same content, so the same probe finds the same position.
 */
static void index_put(struct jst_pub *p, uint64_t *shm, uint64_t hash, uint32_t slot)
{
	for (uint32_t i = (uint32_t)hash & p->index_mask;; i = (i + 1) & p->index_mask) {
		uint64_t e = p->pindex[i];

		if (e == JST_SHM_IDX_EMPTY || (uint32_t)e == JST_SHM_IDX_TOMB) {
			p->pindex[i] = jst_shm_idx_make(hash, slot);
			if (!shm)
				return;
			/*
			 * One atomic store inserts the entry. The job it names is
			 * already published (its status reference was release-stored
			 * before this call), so a reader that finds the entry finds
			 * the job: pairs with the reader's gen/identity checks.
			 */
			cmm_smp_wmb();
			uatomic_set(&shm[i], p->pindex[i]);
			return;
		}
	}
}

/* The private index position of the live job @id, or -1. */
static int64_t index_find(const struct jst_pub *p, const char *id, size_t len, uint64_t hash)
{
	for (uint32_t i = (uint32_t)hash & p->index_mask, n = 0; n <= p->index_mask;
	     i = (i + 1) & p->index_mask, n++) {
		uint64_t e = p->pindex[i];
		uint32_t slot = (uint32_t)e;

		if (e == JST_SHM_IDX_EMPTY)
			return -1;
		if (slot == JST_SHM_IDX_TOMB || (e >> 32) != (hash >> 32) || slot >= p->capacity)
			continue;
		if (p->pj[slot].id_len == len && memcmp(p->pj[slot].id, id, len) == 0)
			return i;
	}
	return -1;
}

/*
 * Rebuild the index without tombstones: the private one from the private
 * table, then the segment's other copy from it, then switch readers to that
 * copy with one release store of index_gen.
 */
static int index_rebuild(struct jst_pub *p)
{
	uint64_t next = p->index_gen + 1;
	uint64_t *dst = p->index[next & 1];
	uint64_t bytes = (uint64_t)(p->index_mask + 1) * sizeof(uint64_t);

	if (p->index1_committed < bytes) {
		/* What jst_pub_prepare() has not committed yet; the offset is ours, not the header's. */
		int rc = commit(p, (uint64_t)((char *)p->index[1] - p->base) + p->index1_committed,
				bytes - p->index1_committed);

		if (rc < 0)
			return rc;
		p->index1_committed = bytes;
		p->stats.inline_commits++;
	}
	memset(p->pindex, 0, bytes);
	for (uint32_t s = 0; s < p->slot_hwm; s++)
		if (p->pj[s].status_ref)
			index_put(p, NULL, p->pj[s].id_hash, s);
	/*
	 * The current index_gen is visible before we rewrite the other copy: a
	 * reader still searching that copy (from two rebuilds ago) re-checks
	 * index_gen after its probes and retries. Pairs with the read barrier
	 * before that re-check in jst_lookup().
	 */
	cmm_smp_wmb();
	for (uint32_t i = 0; i <= p->index_mask; i++) /* single stores: readers may probe it */
		uatomic_set(&dst[i], p->pindex[i]);
	/*
	 * Order the whole new copy before the index_gen that selects it. Pairs
	 * with the cmm_smp_rmb() after the reader's index_gen load.
	 */
	cmm_smp_wmb();
	uatomic_set(&p->hdr->index_gen, next);
	p->index_gen = next;
	p->index_tombs = 0;
	p->stats.index_rebuilds++;
	return 0;
}

/* ---- the segment's file: opening, checking, locking --------------------------------------- */

static int errno_rc(int e)
{
	switch (e) {
	case EACCES:
	case EPERM:
		return JST_EACCES;
	case ENOENT:
		return JST_ENOENT;
	case ENOSPC:
		return JST_ENOSPC;
	case ENOMEM:
		return JST_ENOMEM;
	default:
		return JST_ESYS;
	}
}

/*
 * Open the segment at @name without following a link and without blocking
 * (a FIFO there must not hang us), and check that what we opened is ours to
 * trust: a regular file, owned by our effective uid, writable by nobody else.
 */
static int open_checked(const char *name, int flags, struct stat *st, char *w, size_t wn)
{
	int fd = shm_open(name, flags | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC, 0);

	if (fd < 0) {
		int e = errno;
		struct stat lst;
		char path[sizeof(SHM_DIR) + JST_SHM_NAME_MAX];

		snprintf(path, sizeof(path), SHM_DIR "%s", name);
		if (e == ELOOP || (lstat(path, &lst) == 0 && !S_ISREG(lst.st_mode)))
			return why(w, wn, JST_ENOTREG, "%s is %s, not a jobstat segment", path,
				   e == ELOOP ? "a symbolic link" : jst_file_kind(lst.st_mode));
		if (e == ENOENT)
			return JST_ENOENT;
		return why(w, wn, errno_rc(e), "cannot open %s: %s", path, strerror(e));
	}
	if (fstat(fd, st) < 0) {
		int e = errno;

		close(fd);
		return why(w, wn, JST_ESYS, "cannot fstat " SHM_DIR "%s: %s", name, strerror(e));
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return why(w, wn, JST_ENOTREG, SHM_DIR "%s is %s, not a jobstat segment", name,
			   jst_file_kind(st->st_mode));
	}
	if (st->st_uid != geteuid()) {
		close(fd);
		return why(w, wn, JST_EOWNER,
			   SHM_DIR "%s belongs to uid %ld, not to this daemon's uid %ld: another "
			   "user may have planted it", name, (long)st->st_uid, (long)geteuid());
	}
	if (st->st_mode & 022) {
		close(fd);
		return why(w, wn, JST_EUNSAFE,
			   SHM_DIR "%s has mode %04o: group or others may write it", name,
			   (unsigned)(st->st_mode & 07777));
	}
	return fd;
}

/*
 * The writer's lock: an OFD write lock on the object beside the segment,
 * "/jobstat.NS.lock" (mode 0600, the daemon's uid), held for the
 * publisher's life. Not on the segment itself: any reader may open the
 * segment and hold a read lock on it, which would keep every daemon out. The
 * lock belongs to the open file, not to a path, so no runtime directory's
 * fate can release it; it survives fork() and dies with the last
 * descriptor, so a killed writer leaves no stale lock. It holds the writer's
 * pid, for messages.
 */
static struct flock writer_lock(short type)
{
	return (struct flock){.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
}

static void lock_name(const char *shm_name, char *buf, size_t n)
{
	snprintf(buf, n, "%s.lock", shm_name);
}

/* The pid a lock object holds (our own uid's file), for messages only. */
static long lock_pid(int fd)
{
	char buf[24] = "";

	if (pread(fd, buf, sizeof(buf) - 1, 0) <= 0)
		return 0;
	return strtol(buf, NULL, 10);
}

long jst_pub_locked_by(const char *shm_name)
{
	char name[JST_SHM_NAME_MAX + 8];
	struct flock fl = writer_lock(F_WRLCK);
	struct stat st;
	long rc = 0;
	int fd;

	lock_name(shm_name, name, sizeof(name));
	fd = shm_open(name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	/* Only our uid's lock object counts, and only a write lock on it. */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
	    fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type == F_WRLCK) {
		rc = lock_pid(fd);
		if (rc <= 0)
			rc = 1;
	}
	close(fd);
	return rc;
}

/*
 * Open (making it if need be) and lock the segment's lock object. One left
 * by another uid (a squatter) is refused, or removed when we are root.
 */
static int take_lock(struct jst_pub *p)
{
	char name[JST_SHM_NAME_MAX + 8], pid[24];
	struct flock fl = writer_lock(F_WRLCK);
	struct stat st;
	int fd, len;

	lock_name(p->shm_name, name, sizeof(name));
	for (int tries = 0;; tries++) {
		fd = shm_open(name, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
		if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_uid == geteuid() && !(st.st_mode & 077))
			break;
		if (fd >= 0)
			close(fd);
		if (tries || geteuid() != 0 || shm_unlink(name) < 0)
			return why(p->why, p->why_len, JST_EOWNER,
				   SHM_DIR "%s is not this daemon's uid's own 0600 file (another "
				   "user's?): remove it", name);
		/* Root: whatever another user put at our lock's name goes. */
	}
	if (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
		int e = errno;
		long holder = lock_pid(fd);

		close(fd);
		if (e != EAGAIN && e != EACCES)
			return why(p->why, p->why_len, JST_ESYS, "cannot lock " SHM_DIR "%s: %s",
				   name, strerror(e));
		return why(p->why, p->why_len, JST_EBUSY,
			   SHM_DIR "%s is written by a live jobstatd (pid %ld)", p->shm_name,
			   holder);
	}
	len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)len, 0) != len) {
		close(fd);
		return why(p->why, p->why_len, JST_ESYS, "cannot write " SHM_DIR "%s", name);
	}
	p->lock_fd = fd;
	return 0;
}

/* ---- geometry and private state -------------------------------------------------------------- */

static int set_geometry(struct jst_shm_header *h, const struct jst_pub_config *cfg)
{
	uint32_t cap = cfg->capacity ? cfg->capacity : JST_PUB_DEFAULT_CAPACITY;
	uint32_t counts[JST_POOL_COUNT];
	const uint32_t sizes[JST_POOL_COUNT] = {JST_SHM_STATUS_SIZE, JST_SHM_DETAIL_SMALL,
						JST_SHM_DETAIL_LARGE, JST_SHM_ERROR_BLOCK};
	uint64_t off = JST_SHM_HEADER_SIZE, spare;

	if (cap >= (1u << 30))
		return JST_EINVAL;
	spare = cfg->status_spare ? cfg->status_spare : (cap / 4 > 262144 ? cap / 4 : 262144);
	if (1 + (uint64_t)cap + spare >= JST_SHM_REF_LARGE)
		return JST_EINVAL;
	counts[JST_POOL_STATUS] = (uint32_t)(1 + cap + spare);
	counts[JST_POOL_DETAIL_SMALL] = 1 + (cfg->detail_small ? cfg->detail_small
							       : cap + cap / 4 + 4096);
	counts[JST_POOL_DETAIL_LARGE] = 1 + (cfg->detail_large ? cfg->detail_large
							       : cap / 4 + 1024);
	counts[JST_POOL_ERROR] = 1 + (cfg->errors ? cfg->errors : cap / 4 + 4096);
	for (unsigned i = 0; i < JST_POOL_COUNT; i++)
		if (counts[i] < 2 || counts[i] >= JST_SHM_REF_LARGE)
			return JST_EINVAL;

	h->capacity = cap;
	h->index_size = pow2_at_least(2ull * cap);
	h->log_size = pow2_at_least(cfg->log_size ? cfg->log_size : (cap > 65536 ? cap : 65536));
	h->grace_ns = cfg->grace_ns ? cfg->grace_ns : JST_PUB_DEFAULT_GRACE_NS;
#define PLACE(field, bytes)                                                                    \
	do {                                                                                   \
		field = off;                                                                   \
		off = align_up(off + (bytes), JST_SHM_ALIGN);                                  \
	} while (0)
	PLACE(h->refs_offset, (uint64_t)cap * sizeof(uint64_t));
	PLACE(h->jobs_offset, (uint64_t)cap * JST_SHM_JOB_SIZE);
	PLACE(h->index_offset[0], (uint64_t)h->index_size * sizeof(uint64_t));
	PLACE(h->index_offset[1], (uint64_t)h->index_size * sizeof(uint64_t));
	PLACE(h->log_offset, (uint64_t)h->log_size * sizeof(uint64_t));
	/*
	 * 1.5: the status ring, at most the log's length: by default four
	 * changes per job and at least 1,024, at most 65,536 (8 MiB). A monitor
	 * further behind than the ring reads those changes through references.
	 */
	if (cfg->ring_size != JST_PUB_NO_RING) {
		uint64_t want = cfg->ring_size ? cfg->ring_size : 4ull * cap;

		if (!cfg->ring_size)
			want = want < 1024 ? 1024 : want > 65536 ? 65536 : want;
		h->ring_size = pow2_at_least(want);
		if (h->ring_size > h->log_size)
			h->ring_size = h->log_size;
		PLACE(h->ring_offset, (uint64_t)h->ring_size * JST_SHM_STATUS_SIZE);
	}
	for (unsigned i = 0; i < JST_POOL_COUNT; i++) {
		h->pools[i].block_size = sizes[i];
		h->pools[i].count = counts[i];
		PLACE(h->pools[i].offset, (uint64_t)counts[i] * sizes[i]);
	}
#undef PLACE
	h->segment_size = off;
	return 0;
}

/* Unmap and free everything a publisher holds; each part may be missing. */
static void pub_free(struct jst_pub *p)
{
	if (p->base)
		munmap(p->base, p->size);
	if (p->fd >= 0)
		close(p->fd);
	if (p->lock_fd >= 0)
		close(p->lock_fd); /* releases the writer's lock */
	if (p->pj) {
		for (uint32_t s = 0; s < p->slot_hwm; s++)
			free(p->pj[s].detail);
		free(p->pj);
	}
	free(p->pindex);
	rq_free(&p->free_slots);
	for (unsigned i = 0; i < JST_POOL_COUNT; i++) {
		rq_free(&p->pools[i].retired);
		free(p->pools[i].stamps);
	}
	free(p);
}

static struct jst_pub *pub_new(const struct jst_pub_config *cfg)
{
	struct jst_pub *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->fd = -1;
	p->lock_fd = -1;
	p->page_size = sysconf(_SC_PAGESIZE);
	strcpy(p->shm_name, cfg->shm_name);
	p->why = cfg->why;
	p->why_len = cfg->why_len;
	p->full_pool = -1;
	if (p->why && p->why_len)
		p->why[0] = '\0';
	return p;
}

/* The private state for geometry @h (validated): tables, queues, stamps, pointers. */
static int setup_private(struct jst_pub *p, const struct jst_shm_header *h)
{
	int rc;

	p->capacity = h->capacity;
	p->index_mask = h->index_size - 1;
	p->log_mask = h->log_size - 1;
	p->grace_ns = h->grace_ns ? h->grace_ns : JST_PUB_DEFAULT_GRACE_NS;
	p->refs = (uint64_t *)(p->base + h->refs_offset);
	p->jobs = (struct jst_shm_job *)(p->base + h->jobs_offset);
	p->index[0] = (uint64_t *)(p->base + h->index_offset[0]);
	p->index[1] = (uint64_t *)(p->base + h->index_offset[1]);
	p->log = (uint64_t *)(p->base + h->log_offset);
	/* A segment from before 1.5 (adopted) has none: its geometry is fixed, readers fall back. */
	if (jst_shm_has_ring(h)) {
		p->ring = (struct jst_shm_status *)(p->base + h->ring_offset);
		p->ring_mask = h->ring_size - 1;
	}
	/* calloc: large tables come from mmap, backed only as slots are touched. */
	p->pj = calloc(p->capacity, sizeof(*p->pj));
	p->pindex = calloc((size_t)h->index_size, sizeof(*p->pindex));
	if (!p->pj || !p->pindex)
		return JST_ENOMEM;
	rc = rq_init(&p->free_slots, p->capacity);
	for (unsigned i = 0; rc == 0 && i < JST_POOL_COUNT; i++) {
		struct pool_state *ps = &p->pools[i];

		ps->count = h->pools[i].count;
		ps->offset = h->pools[i].offset;
		ps->block_size = h->pools[i].block_size;
		ps->fresh = 1;
		/* A reserve for the daemon's own records: 1/16 of the pool, 1 to 64 blocks. */
		ps->reserve = ps->count < 8 ? 0 : ps->count / 16 < 1 ? 1
				  : ps->count / 16 > 64 ? 64 : ps->count / 16;
		ps->stamps = calloc(ps->count, sizeof(*ps->stamps));
		rc = ps->stamps ? rq_init(&ps->retired, ps->count) : JST_ENOMEM;
	}
	return rc;
}

/* Remove whatever is at @name so a new segment can take it; the caller holds the lock. */
static int clear_name(struct jst_pub *p)
{
	char path[sizeof(SHM_DIR) + JST_SHM_NAME_MAX];

	/* We hold the writer's lock (take_lock()): no live writer is using what is here. */
	snprintf(path, sizeof(path), SHM_DIR "%s", p->shm_name);
	if (shm_unlink(p->shm_name) < 0 && errno == EISDIR && rmdir(path) < 0 && geteuid() == 0) {
		/* Root: another user's non-empty directory at the name is moved aside. */
		char aside[sizeof(path) + 32];

		snprintf(aside, sizeof(aside), "%s.squatted.%ld", path, (long)getpid());
		rename(path, aside);
	}
	/* A 0.1.0 daemon's wait object: clients no longer write anything. */
	snprintf(path, sizeof(path), "%s.wait", p->shm_name);
	shm_unlink(path);
	return 0;
}

int jst_pub_create(const struct jst_pub_config *cfg, struct jst_pub **ret_pub)
{
	struct jst_shm_header geo = {0};
	struct jst_pub *p;
	mode_t mode;
	int rc;

	if (!cfg || !cfg->shm_name || !ret_pub || strlen(cfg->shm_name) >= JST_SHM_NAME_MAX)
		return JST_EINVAL;
	mode = cfg->mode ? (mode_t)cfg->mode : 0644;
	if (mode & 022)
		return why(cfg->why, cfg->why_len, JST_EUNSAFE,
			   "segment mode %04o lets group or others write it: readers must not "
			   "write the segment (use 0644 or 0640)", (unsigned)mode);
	if (mode & ~(mode_t)0777)
		return why(cfg->why, cfg->why_len, JST_EINVAL, "segment mode %04o has bits "
			   "beyond 0777", (unsigned)mode);
	rc = set_geometry(&geo, cfg);
	if (rc < 0)
		return why(cfg->why, cfg->why_len, rc, "segment geometry out of range");
	geo.version_minor = JST_SHM_VERSION_MINOR; /* setup_private() reads the 1.5 ring by it */
	p = pub_new(cfg);
	if (!p)
		return JST_ENOMEM;
	rc = take_lock(p);
	if (rc == 0)
		rc = clear_name(p);
	if (rc < 0)
		goto fail;
	p->fd = shm_open(p->shm_name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (p->fd < 0) {
		rc = errno == EEXIST ? why(p->why, p->why_len, JST_EBUSY,
					   SHM_DIR "%s exists and cannot be removed (another "
					   "user's?)", p->shm_name)
				     : why(p->why, p->why_len, errno_rc(errno),
					   "cannot create " SHM_DIR "%s: %s", p->shm_name,
					   strerror(errno));
		goto fail;
	}
	if (fchmod(p->fd, mode) < 0 ||
	    (cfg->set_group && fchown(p->fd, (uid_t)-1, (gid_t)cfg->gid) < 0) ||
	    ftruncate(p->fd, (off_t)geo.segment_size) < 0) {
		rc = why(p->why, p->why_len, errno_rc(errno), "cannot set up " SHM_DIR "%s: %s",
			 p->shm_name, strerror(errno));
		goto fail_unlink;
	}
	p->size = geo.segment_size;
	p->base = mmap(NULL, p->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, p->fd, 0);
	if (p->base == MAP_FAILED) {
		p->base = NULL;
		rc = errno_rc(errno);
		goto fail_unlink;
	}
	p->hdr = (struct jst_shm_header *)p->base;
	jst_counters_writer_init(&p->ctr, &p->hdr->counters, NULL);
	rc = commit(p, 0, JST_SHM_HEADER_SIZE);
	if (rc < 0)
		goto fail_unlink;
	/* The header, with state still INIT (0): nothing a reader may trust yet. */
	memcpy(p->hdr, &geo, sizeof(geo));
	p->hdr->magic = JST_SHM_MAGIC;
	p->hdr->version_major = JST_SHM_VERSION_MAJOR;
	p->hdr->version_minor = JST_SHM_VERSION_MINOR;
	p->hdr->header_size = JST_SHM_HEADER_SIZE;
	p->hdr->layout = JST_SHM_LAYOUT;
	p->hdr->daemon_pid = (uint64_t)getpid();
	p->hdr->daemon_birth_ns = p->hdr->created_ns = now_ns(CLOCK_REALTIME);
	p->hdr->generation = p->generation = 1;
	p->hdr->heartbeat_ns = now_ns(CLOCK_MONOTONIC);
	rc = setup_private(p, &geo);
	if (rc < 0)
		goto fail_unlink;
	/* The regions every publication writes into, committed now (PROTOCOL.md, "Memory"). */
	rc = commit(p, geo.refs_offset, (uint64_t)p->capacity * sizeof(uint64_t));
	if (rc == 0)
		rc = commit(p, geo.index_offset[0], (uint64_t)geo.index_size * 8);
	if (rc == 0)
		rc = commit(p, geo.log_offset, (uint64_t)geo.log_size * 8);
	if (rc == 0)
		rc = commit(p, geo.ring_offset, (uint64_t)geo.ring_size * JST_SHM_STATUS_SIZE);
	if (rc < 0)
		goto fail_unlink;
	/*
	 * Everything above before the ready word. Pairs with the reader's
	 * attach, which checks state before trusting the geometry (and maps
	 * the segment after we wrote it, so it sees these bytes).
	 */
	cmm_smp_wmb();
	uatomic_set(&p->hdr->state, JST_SHM_STATE_READY);
	*ret_pub = p;
	return 0;

fail_unlink:
	shm_unlink(p->shm_name);
fail:
	pub_free(p);
	return rc;
}

/* ---- adopting a dead daemon's segment: the one time the segment is read ------------------- */

/*
 * Everything below reads the segment as hostile input (a fuzzer's target:
 * tests/fuzz/fuzz_adopt.c). Each block is copied to private memory first and
 * the copy is checked, so nothing can change between check and use; every
 * index is range-checked before it names an address; each block may belong
 * to one version of one job only.
 */
struct adopt {
	struct jst_pub *p;
	uint8_t *used[JST_POOL_COUNT];
	char *scratch;           /* one error block's data */
	char *w;
	size_t wn;
};

static int bad(struct adopt *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(struct adopt *a, const char *fmt, ...)
{
	va_list ap;
	char msg[200];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return why(a->w, a->wn, JST_ECORRUPT, SHM_DIR "%s is damaged: %s", a->p->shm_name, msg);
}

/*
 * Claim block @idx of @pool for slot @slot and copy its first @n bytes into
 * @out; check its stamp against @ref's. The caller checks the owner.
 */
static int adopt_block(struct adopt *a, unsigned pool, uint32_t idx, jst_shm_ref ref,
		       uint32_t slot, void *out, size_t n)
{
	struct pool_state *ps = &a->p->pools[pool];
	uint32_t hdr[4]; /* stamp, used or slot, ... : every block starts with the stamp */

	if (idx == 0 || idx >= ps->count)
		return bad(a, "slot %u names block %u of pool %u, which has %u", slot, idx, pool,
			   ps->count);
	if (a->used[pool][idx])
		return bad(a, "block %u of pool %u is named twice", idx, pool);
	a->used[pool][idx] = 1;
	ps->in_use++;
	memcpy(out, block_addr(a->p, pool, idx), n);
	memcpy(hdr, out, sizeof(hdr));
	if (hdr[0] != jst_shm_ref_stamp(ref) || (hdr[0] & 1) || hdr[0] == 0)
		return bad(a, "block %u of pool %u has stamp %u, its reference says %u", idx, pool,
			   hdr[0], jst_shm_ref_stamp(ref));
	return 0;
}

/*
 * The 1.5 extension record of adopted detail @d (already private): none
 * (ext_len 0, a 1.4 detail), or exactly the record this daemon writes, with
 * strings inside the block, NUL-terminated, UTF-8 and within their limits,
 * and LocalOrUtcTime in its ValueMap. A record of a later minor is refused:
 * this daemon could not carry its unknown bytes forward.
 */
static int adopt_ext(struct adopt *a, uint32_t slot, struct jst_shm_detail *d)
{
	struct jst_shm_detail_ext rec;

	if (d->ext_len == 0)
		return 0;
	if (d->ext_len != JST_SHM_DETAIL_EXT_SIZE || d->used < JST_SHM_DETAIL_EXT_SIZE)
		return bad(a, "slot %u: the detail's extension record is %u bytes of %u used, not %u",
			   slot, d->ext_len, d->used, JST_SHM_DETAIL_EXT_SIZE);
	memcpy(&rec, d->data, sizeof(rec));
	if (rec.local_or_utc_time > 2)
		return bad(a, "slot %u: LocalOrUtcTime %u is not in its ValueMap", slot,
			   rec.local_or_utc_time);
	for (unsigned k = 0; k < JST_XSTR_COUNT; k++) {
		const struct jst_shm_str *s = &rec.str[k];

		if (!jst_shm_str_ok(s, d->data, d->used))
			return bad(a, "slot %u: extension string %u lies outside its block", slot, k);
		if (s->len != JST_SHM_STR_NULL &&
		    (s->off < JST_SHM_DETAIL_EXT_SIZE || s->len > xstr_max[k] ||
		     !jst_utf8_valid(d->data + s->off, s->len)))
			return bad(a, "slot %u: extension string %u overlaps the record, is too long "
				   "or is not UTF-8", slot, k);
	}
	return 0;
}

static int adopt_strings(struct adopt *a, uint32_t slot, struct jst_shm_detail *d)
{
	for (unsigned k = 0; k < JST_DSTR_COUNT; k++) {
		const struct jst_shm_str *s = &d->str[k];

		if (!jst_shm_str_ok(s, d->data, d->used))
			return bad(a, "slot %u: string %u lies outside its block", slot, k);
		if (s->len != JST_SHM_STR_NULL &&
		    (s->len > dstr_max(k) || !jst_utf8_valid(d->data + s->off, s->len)))
			return bad(a, "slot %u: string %u is too long or not UTF-8", slot, k);
	}
	return adopt_ext(a, slot, d);
}

static int adopt_error(struct adopt *a, uint32_t slot, uint32_t gen, jst_shm_ref ref)
{
	struct jst_shm_error e;
	uint32_t idx = jst_shm_ref_index(ref);
	int rc = adopt_block(a, JST_POOL_ERROR, idx, ref, slot, &e, sizeof(e));

	if (rc < 0)
		return rc;
	if (e.slot != slot || e.job_gen != gen)
		return bad(a, "error block %u belongs to slot %u/%u, not %u/%u", idx, e.slot,
			   e.job_gen, slot, gen);
	if (e.used > JST_SHM_ERROR_DATA || e.n_message_arguments > JST_SHM_ERROR_ARGS_MAX ||
	    e.n_recommended_actions > JST_SHM_ERROR_ARGS_MAX)
		return bad(a, "error block %u: sizes out of range", idx);
	memcpy(a->scratch, (char *)block_addr(a->p, JST_POOL_ERROR, idx) + sizeof(e), e.used);
	for (unsigned k = 0; k < JST_ESTR_COUNT; k++)
		if (!jst_shm_str_ok(&e.str[k], a->scratch, e.used) ||
		    (e.str[k].len != JST_SHM_STR_NULL &&
		     !jst_utf8_valid(a->scratch + e.str[k].off, e.str[k].len)))
			return bad(a, "error block %u: string %u is damaged", idx, k);
	if (e.str[JST_ESTR_MESSAGE_ID].len == JST_SHM_STR_NULL)
		return bad(a, "error block %u has no MessageID", idx);
	return 0;
}

/* The live job in @slot: identity, status, detail and errors, each checked, made private. */
static int adopt_job(struct adopt *a, uint32_t slot, jst_shm_ref ref, const struct jst_shm_job *jc)
{
	struct jst_pub *p = a->p;
	struct pjob *pj = &p->pj[slot];
	struct jst_shm_status *st = &pj->status;
	struct jst_shm_detail dh, *d;
	unsigned dpool;
	uint32_t didx;
	int rc;

	if (jc->gen & 1)
		return bad(a, "slot %u has a status but a free generation", slot);
	if (jc->id_len == 0 || jc->id_len > JST_SHM_ID_MAX || jc->instance_id[jc->id_len] != '\0' ||
	    check_instance_id_n(jc->instance_id, jc->id_len) < 0)
		return bad(a, "slot %u: the InstanceID is not valid", slot);
	if (jc->id_hash != jst_shm_hash(jc->instance_id, jc->id_len))
		return bad(a, "slot %u: the InstanceID's hash is wrong", slot);
	rc = adopt_block(a, JST_POOL_STATUS, jst_shm_ref_index(ref), ref, slot, st, sizeof(*st));
	if (rc < 0)
		return rc;
	if (st->slot != slot || st->job_gen != jc->gen)
		return bad(a, "slot %u's status belongs to slot %u/%u", slot, st->slot, st->job_gen);
	if (st->n_op_status > JST_SHM_OPSTATUS_MAX || st->n_errors > JST_SHM_ERRORS_KEPT ||
	    st->percent_complete > 101 || st->errors_total < st->n_errors ||
	    (st->flags & ~(JST_SHM_F_DELETE_ON_COMPLETION | JST_SHM_F_CANCELLABLE |
			   JST_SHM_F_DO_ERROR)))
		return bad(a, "slot %u's status has counts or flags out of range", slot);
	pj->gen = jc->gen;
	pj->id_len = jc->id_len;
	pj->id_hash = jc->id_hash;
	memcpy(pj->id, jc->instance_id, jc->id_len + 1);
	pj->status_ref = ref;
	if (!st->detail_ref) {
		if (st->n_errors)
			return bad(a, "slot %u counts errors but has no detail", slot);
		return 0;
	}
	dpool = detail_pool(st->detail_ref, &didx);
	rc = adopt_block(a, dpool, didx, st->detail_ref & ~(jst_shm_ref)JST_SHM_REF_LARGE, slot,
			 &dh, sizeof(dh));
	if (rc < 0)
		return rc;
	if (dh.slot != slot || dh.job_gen != jc->gen)
		return bad(a, "slot %u's detail belongs to slot %u/%u", slot, dh.slot, dh.job_gen);
	if (dh.used > p->pools[dpool].block_size - sizeof(dh) || dh.n_errors != st->n_errors ||
	    dh.n_status_descriptions > JST_SHM_OPSTATUS_MAX)
		return bad(a, "slot %u's detail has sizes out of range", slot);
	d = malloc(sizeof(*d) + dh.used);
	if (!d)
		return JST_ENOMEM;
	memcpy(d, &dh, sizeof(dh));
	memcpy(d->data, (char *)block_addr(p, dpool, didx) + sizeof(dh), dh.used);
	pj->detail = d; /* freed with the table whatever follows */
	rc = adopt_strings(a, slot, d);
	for (unsigned k = 0; rc == 0 && k < d->n_errors; k++)
		rc = adopt_error(a, slot, jc->gen, d->error_refs[k]);
	return rc;
}

/*
 * Rebuild the writer's private state from the segment: live jobs are the
 * slots with a status reference; every other block below a pool's
 * high-water mark, and every other slot, is treated as retired now, so a
 * reader still inside a version the dead writer retired keeps its grace.
 */
static int adopt_rebuild(struct jst_pub *p, const struct jst_shm_header *h)
{
	uint64_t now = now_ns(CLOCK_MONOTONIC_COARSE);
	struct adopt a = {.p = p, .w = p->why, .wn = p->why_len};
	int rc = 0;

	if (h->slot_hwm > p->capacity)
		return bad(&a, "slot_hwm %u is beyond its capacity %u", h->slot_hwm, p->capacity);
	p->slot_hwm = h->slot_hwm;
	p->seq = p->woken_seq = h->change_seq;
	p->index_gen = h->index_gen;
	a.scratch = malloc(JST_SHM_ERROR_DATA);
	rc = a.scratch ? 0 : JST_ENOMEM;
	for (unsigned i = 0; rc == 0 && i < JST_POOL_COUNT; i++) {
		a.used[i] = calloc(p->pools[i].count, 1);
		if (!a.used[i])
			rc = JST_ENOMEM;
	}
	for (uint32_t s = 0; rc == 0 && s < p->slot_hwm; s++) {
		struct jst_shm_job jc;
		/* The dead writer's word, whole; no order to pair with: it is gone. */
		jst_shm_ref ref = uatomic_read(&p->refs[s]);

		memcpy(&jc, &p->jobs[s], sizeof(jc));
		if (ref) {
			rc = adopt_job(&a, s, ref, &jc);
			if (rc == 0 && index_find(p, p->pj[s].id, p->pj[s].id_len, p->pj[s].id_hash) >= 0)
				rc = bad(&a, "two jobs have the InstanceID %s", p->pj[s].id);
			if (rc == 0) {
				index_put(p, NULL, p->pj[s].id_hash, s);
				p->index_live++;
			}
			continue;
		}
		/* Free, or claimed by a create the crash interrupted: free it. */
		p->pj[s].gen = jc.gen | 1;
		uatomic_set(&p->jobs[s].gen, p->pj[s].gen); /* odd: lookups skip it */
		rq_push(&p->free_slots, s, now);
	}
	for (unsigned i = 0; rc == 0 && i < JST_POOL_COUNT; i++) {
		struct pool_state *ps = &p->pools[i];
		uint32_t hwm = h->pool_used[i];

		if (hwm < 1 || hwm > ps->count)
			hwm = ps->count; /* unknown: every block may have been used */
		for (uint32_t b = hwm; b < ps->count; b++)
			if (a.used[i][b])
				hwm = b + 1; /* a live block above the mark: trust the block */
		ps->fresh = hwm;
		/*
		 * The dead writer committed at least what it used, in whole chunks,
		 * and perhaps more (jst_pub_prepare()): committing a backed range
		 * again changes nothing but our committed_bytes figure.
		 */
		ps->committed = align_up((uint64_t)hwm * ps->block_size, COMMIT_CHUNK);
		if (ps->committed > (uint64_t)ps->count * ps->block_size)
			ps->committed = (uint64_t)ps->count * ps->block_size;
		for (uint32_t b = 1; b < hwm; b++) {
			/* The block's stamp as it stands, odd if a rewrite was cut short. */
			ps->stamps[b] = uatomic_read((uint32_t *)block_addr(p, i, b));
			if (!a.used[i][b])
				rq_push(&ps->retired, b, now);
		}
		p->stats.touched[i] = hwm - 1;
	}
	p->slots_committed = align_up((uint64_t)p->slot_hwm * JST_SHM_JOB_SIZE, COMMIT_CHUNK);
	/* A fresh index without the dead writer's tombstones or half-done inserts. */
	if (rc == 0)
		rc = index_rebuild(p);
	for (unsigned i = 0; i < JST_POOL_COUNT; i++)
		free(a.used[i]);
	free(a.scratch);
	return rc;
}

int jst_pub_adopt(const struct jst_pub_config *cfg, struct jst_pub **ret_pub)
{
	struct jst_shm_header h;
	struct stat st;
	struct jst_pub *p;
	int rc;

	if (!cfg || !cfg->shm_name || !ret_pub || strlen(cfg->shm_name) >= JST_SHM_NAME_MAX)
		return JST_EINVAL;
	p = pub_new(cfg);
	if (!p)
		return JST_ENOMEM;
	rc = open_checked(p->shm_name, O_RDWR, &st, p->why, p->why_len);
	if (rc < 0)
		goto fail;
	p->fd = rc;
	rc = take_lock(p);
	if (rc < 0)
		goto fail;
	if (cfg->before_parse && cfg->before_parse(cfg->arg) != 0) {
		rc = why(p->why, p->why_len, JST_ESYS, "cannot drop privileges before reading "
			 SHM_DIR "%s: %s", p->shm_name, strerror(errno));
		goto fail;
	}
	if ((uint64_t)st.st_size < JST_SHM_HEADER_SIZE) {
		rc = why(p->why, p->why_len, JST_ETRUNCATED, SHM_DIR "%s is smaller than a header",
			 p->shm_name);
		goto fail;
	}
	if (pread(p->fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		rc = why(p->why, p->why_len, JST_ESYS, "cannot read " SHM_DIR "%s", p->shm_name);
		goto fail;
	}
	/* The checks a client makes, on our private copy of the header. */
	rc = jst_shm_check(&h, (uint64_t)st.st_size);
	if (rc == JST_ECORRUPT && jst_shm_ring_check(&h) < 0) {
		why(p->why, p->why_len, rc, SHM_DIR "%s: its status ring (%" PRIu32 " entries at "
		    "offset %" PRIu64 ") is not a power of two of entries no longer than the change "
		    "log (%" PRIu32 ") on a page inside the segment: not a segment jobstatd wrote "
		    "(--replace starts a new one)", p->shm_name, h.ring_size, h.ring_offset,
		    h.log_size);
		goto fail;
	}
	if (rc < 0) {
		why(p->why, p->why_len, rc, SHM_DIR "%s: %s", p->shm_name, jst_strerror(rc));
		goto fail;
	}
	p->size = (uint64_t)st.st_size;
	p->base = mmap(NULL, p->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, p->fd, 0);
	if (p->base == MAP_FAILED) {
		p->base = NULL;
		rc = errno_rc(errno);
		goto fail;
	}
	p->hdr = (struct jst_shm_header *)p->base;
	/* Any count is a valid count: go on from the dead writer's, as copied in h. */
	jst_counters_writer_init(&p->ctr, &p->hdr->counters, &h.counters);
	p->stats.committed_bytes = (uint64_t)st.st_blocks * 512;
	rc = setup_private(p, &h);
	if (rc == 0)
		rc = adopt_rebuild(p, &h);
	if (rc < 0 || cfg->check_only) {
		*ret_pub = NULL;
		goto fail; /* rc 0 for check_only: valid, and nothing of it is ours */
	}
	/*
	 * Jobs may have changed after the dead writer's last log entry: move
	 * change_seq a whole log past every cursor, so each monitor's next
	 * jst_changes() reports JST_EOVERRUN and it rescans.
	 */
	p->seq += (uint64_t)p->log_mask + 2;
	uatomic_set(&p->hdr->change_seq, p->seq);
	uatomic_set(&p->hdr->change_futex, (uint32_t)p->seq); /* flushed below */
	/* A new daemon identity; readers keep their mapping and read on throughout. */
	uatomic_set(&p->hdr->state, JST_SHM_STATE_INIT);
	cmm_smp_wmb(); /* INIT before the identity changes; pairs with attach's state check */
	p->generation = h.generation + 1;
	p->hdr->daemon_pid = (uint64_t)getpid();
	p->hdr->daemon_birth_ns = now_ns(CLOCK_REALTIME);
	p->hdr->generation = p->generation;
	/*
	 * From now on this daemon writes its own minor's additions (a 1.4
	 * segment gets 1.5 extension records): the header says so. Never
	 * lowered: a later minor's segment was refused above if its bytes
	 * would be misread, and keeps its number otherwise.
	 */
	if (h.version_minor < JST_SHM_VERSION_MINOR) {
		/*
		 * Before 1.5 the ring words were reserved and nobody checked them:
		 * they are not a ring this daemon writes (setup_private() gave it
		 * none), and 1.5 readers must not take them for one. Written with
		 * state INIT, before READY's release below.
		 */
		if (h.version_minor < 5) {
			p->hdr->ring_offset = 0;
			p->hdr->ring_size = 0;
			p->hdr->ring_reserved0 = 0;
		}
		p->hdr->version_minor = JST_SHM_VERSION_MINOR;
	}
	p->hdr->heartbeat_ns = now_ns(CLOCK_MONOTONIC);
	cmm_smp_wmb(); /* the identity before READY; pairs with attach's state check */
	uatomic_set(&p->hdr->state, JST_SHM_STATE_READY);
	/* Waiters from before the crash: the sequence moved, let them see it. */
	jst_pub_flush(p);
	*ret_pub = p;
	return 0;
fail:
	pub_free(p);
	return rc;
}

void jst_pub_close(struct jst_pub *p, bool unlink)
{
	if (!p)
		return;
	jst_pub_flush(p);
	/* Readers see CLOSED: the data stays valid, the daemon is gone. */
	cmm_smp_wmb(); /* every publication before CLOSED; pairs with jst_daemon_alive()'s state load */
	uatomic_set(&p->hdr->state, JST_SHM_STATE_CLOSED);
	if (unlink) {
		char name[JST_SHM_NAME_MAX + 8];

		shm_unlink(p->shm_name);
		lock_name(p->shm_name, name, sizeof(name));
		shm_unlink(name);
	}
	pub_free(p);
}

void jst_pub_reown(struct jst_pub *p)
{
	/* One word; readers use it for display and liveness only. */
	uatomic_set(&p->hdr->daemon_pid, (uint64_t)getpid());
}

void jst_pub_heartbeat(struct jst_pub *p)
{
	/* A single word; readers compare it with their own clock, nothing else depends on it. */
	uatomic_set(&p->hdr->heartbeat_ns, now_ns(CLOCK_MONOTONIC));
}

void jst_pub_stats(const struct jst_pub *p, struct jst_pub_stats *o)
{
	*o = p->stats;
	for (unsigned i = 0; i < JST_POOL_COUNT; i++)
		o->in_use[i] = p->pools[i].in_use;
}

/* ---- publishing ----------------------------------------------------------------------------- */

/* Copy the private detail @d of @slot into a fresh block and give it a reference. */
static int detail_emit(struct jst_pub *p, uint32_t slot, uint32_t gen, struct jst_shm_detail *d,
		       jst_shm_ref *ret_ref)
{
	unsigned pool = d->used <= JST_SHM_DETAIL_DATA_SMALL ? JST_POOL_DETAIL_SMALL
							    : JST_POOL_DETAIL_LARGE;
	struct jst_shm_detail *b;
	uint32_t idx, stamp;
	int rc = block_alloc(p, pool, &idx);

	if (rc < 0)
		return rc;
	b = block_addr(p, pool, idx);
	stamp = block_begin(p, pool, idx, b);
	d->slot = slot;
	d->job_gen = gen;
	d->stamp = stamp;
	/* Bytes after the stamp: a plain copy, no reader holds a reference to this block. */
	memcpy((char *)b + 4, (char *)d + 4, sizeof(*d) - 4 + d->used);
	*ret_ref = block_end(b, stamp, idx) | (pool == JST_POOL_DETAIL_LARGE ? JST_SHM_REF_LARGE : 0);
	p->stats.publishes++;
	return 0;
}

static void detail_retire(struct jst_pub *p, jst_shm_ref ref)
{
	unsigned pool;
	uint32_t idx;

	if (!ref)
		return;
	pool = detail_pool(ref, &idx);
	block_retire(p, pool, idx);
}

/*
 * Publish @st as the new status version of @slot, in a fresh block, and
 * append the change to the log. @st becomes the private record.
 */
static int status_emit(struct jst_pub *p, uint32_t slot, struct jst_shm_status *st)
{
	struct pjob *pj = &p->pj[slot];
	struct jst_shm_status *b;
	uint64_t seq = p->seq + 1;
	uint32_t idx, stamp;
	int rc = block_alloc(p, JST_POOL_STATUS, &idx);

	if (rc < 0)
		return rc;
	b = block_addr(p, JST_POOL_STATUS, idx);
	stamp = block_begin(p, JST_POOL_STATUS, idx, b);
	st->stamp = stamp;
	st->slot = slot;
	st->job_gen = pj->gen;
	st->change_seq = seq;
	memcpy((char *)b + 4, (char *)st + 4, sizeof(*st) - 4);
	publish_ref(&p->refs[slot], block_end(b, stamp, idx));
	if (pj->status_ref)
		block_retire(p, JST_POOL_STATUS, jst_shm_ref_index(pj->status_ref));
	pj->status_ref = jst_shm_ref_make(stamp, idx);
	pj->status = *st;
	ring_put(p, seq, slot, st);
	log_append(p, seq, slot);
	p->stats.publishes++;
	return 0;
}

static int error_size(const struct jst_error *e, size_t *ret_need)
{
	const char *scalars[JST_ESTR_MESSAGE_ARGUMENTS] = {
		e->other_error_type, e->owning_entity, e->message_id, e->message,
		e->probable_cause_description, e->error_source, e->other_error_source_format,
		e->cim_status_code_description, e->file,
	};
	size_t need = 0;
	int rc;

	if (!e->message_id)
		return JST_EINVAL; /* CIM_Error.MessageID is required */
	if (e->n_message_arguments > JST_SHM_ERROR_ARGS_MAX ||
	    e->n_recommended_actions > JST_SHM_ERROR_ARGS_MAX)
		return JST_ETOOLONG;
	for (unsigned k = 0; k < JST_ESTR_MESSAGE_ARGUMENTS; k++) {
		rc = check_str(scalars[k], JST_SHM_ERROR_DATA);
		if (rc < 0)
			return rc;
		need += scalars[k] ? strlen(scalars[k]) + 1 : 0;
	}
	for (unsigned k = 0; k < e->n_message_arguments; k++) {
		rc = check_str(e->message_arguments[k], JST_SHM_ERROR_DATA);
		if (rc < 0)
			return rc;
		need += e->message_arguments[k] ? strlen(e->message_arguments[k]) + 1 : 0;
	}
	for (unsigned k = 0; k < e->n_recommended_actions; k++) {
		rc = check_str(e->recommended_actions[k], JST_SHM_ERROR_DATA);
		if (rc < 0)
			return rc;
		need += e->recommended_actions[k] ? strlen(e->recommended_actions[k]) + 1 : 0;
	}
	if (need > JST_SHM_ERROR_DATA)
		return JST_ETOOLONG;
	*ret_need = need;
	return 0;
}

/* Write error @e (checked by error_size()) into a fresh block. */
static int error_emit(struct jst_pub *p, uint32_t slot, uint32_t gen, uint32_t sequence,
		      uint16_t job_state, const struct jst_error *e, jst_shm_ref *ret_ref)
{
	const char *scalars[JST_ESTR_MESSAGE_ARGUMENTS] = {
		e->other_error_type, e->owning_entity, e->message_id, e->message,
		e->probable_cause_description, e->error_source, e->other_error_source_format,
		e->cim_status_code_description, e->file,
	};
	struct jst_shm_error *b;
	struct strtab t;
	uint32_t idx, stamp;
	int rc = block_alloc(p, JST_POOL_ERROR, &idx);

	if (rc < 0)
		return rc;
	b = block_addr(p, JST_POOL_ERROR, idx);
	stamp = block_begin(p, JST_POOL_ERROR, idx, b);
	memset((char *)b + 4, 0, sizeof(*b) - 4);
	b->slot = slot;
	b->job_gen = gen;
	b->time = e->time ? e->time : now_ns(CLOCK_REALTIME);
	b->sequence = sequence;
	b->cim_status_code = e->cim_status_code;
	b->error_type = e->error_type;
	b->perceived_severity = e->perceived_severity;
	b->probable_cause = e->probable_cause;
	b->error_source_format = e->error_source_format;
	b->n_message_arguments = e->n_message_arguments;
	b->n_recommended_actions = e->n_recommended_actions;
	b->context = e->context;
	b->job_state = job_state;
	b->hresult = e->hresult;
	t = (struct strtab){b->data, 0, JST_SHM_ERROR_DATA};
	for (unsigned k = 0; k < JST_ESTR_COUNT; k++)
		b->str[k] = (struct jst_shm_str){0, JST_SHM_STR_NULL};
	for (unsigned k = 0; k < JST_ESTR_MESSAGE_ARGUMENTS; k++)
		strtab_add(&t, scalars[k], &b->str[k]);
	for (unsigned k = 0; k < e->n_message_arguments; k++)
		strtab_add(&t, e->message_arguments[k], &b->str[JST_ESTR_MESSAGE_ARGUMENTS + k]);
	for (unsigned k = 0; k < e->n_recommended_actions; k++)
		strtab_add(&t, e->recommended_actions[k], &b->str[JST_ESTR_RECOMMENDED_ACTIONS + k]);
	b->used = t.used;
	*ret_ref = block_end(b, stamp, idx);
	p->stats.publishes++;
	return 0;
}

int jst_pub_job_create(struct jst_pub *p, const char *instance_id, const struct jst_status *st,
		       const struct jst_job *job, jst_handle *ret_handle)
{
	return jst_pub_job_create_with(p, instance_id, st, job, 0, ret_handle);
}

/* A detail built for a publication that may not take a large block. */
static bool refused_large(const struct jst_shm_detail *d, bool refuse)
{
	return refuse && d->used > JST_SHM_DETAIL_DATA_SMALL; /* detail_emit()'s choice */
}

bool jst_pub_detail_large(const struct jst_pub *p, jst_handle h)
{
	const struct pjob *pj = live_job(p, h);

	return pj && (pj->status.detail_ref & JST_SHM_REF_LARGE);
}

int jst_pub_job_create_with(struct jst_pub *p, const char *instance_id,
			    const struct jst_status *st, const struct jst_job *job, unsigned flags,
			    jst_handle *ret_handle)
{
	struct jst_shm_detail *d = NULL;
	struct jst_shm_status s = {0};
	jst_shm_ref dref = 0;
	struct pjob *pj;
	uint64_t hash;
	size_t len = 0;
	uint32_t slot;
	int rc;

	if (!p || !st || !ret_handle)
		return JST_EINVAL;
	rc = check_instance_id(instance_id, &len);
	if (rc < 0)
		return rc;
	hash = jst_shm_hash(instance_id, len);
	if (index_find(p, instance_id, len, hash) >= 0)
		return JST_EEXIST;
	rc = detail_build(job, NULL, NULL, 0, &d);
	if (rc < 0)
		return rc;
	if (refused_large(d, flags & JST_PUB_REFUSE_LARGE)) {
		rc = JST_EQUOTA;
		goto fail;
	}
	if (p->index_live + p->index_tombs + 1 > (p->index_mask + 1) / 4 * 3) {
		/* Tombstones would fill the table: probe chains must stay short and end. */
		rc = index_rebuild(p);
		if (rc < 0)
			goto fail;
	}
	rc = slot_claim(p, instance_id, len, hash, &slot);
	if (rc < 0)
		goto fail;
	pj = &p->pj[slot];
	rc = detail_emit(p, slot, pj->gen, d, &dref);
	if (rc == 0) {
		jst_shm_status_from_public(&s, st);
		s.detail_ref = dref;
		rc = status_emit(p, slot, &s);
	}
	if (rc < 0) {
		detail_retire(p, dref);
		slot_release(p, slot);
		goto fail;
	}
	pj->detail = d;
	index_put(p, p->index[p->index_gen & 1], hash, slot);
	p->index_live++;
	uatomic_set(&p->hdr->njobs, p->index_live); /* informational; no ordering */
	ret_handle->slot = slot;
	ret_handle->gen = pj->gen;
	return 0;
fail:
	free(d);
	return rc;
}

static int publish_change(struct jst_pub *p, jst_handle h, struct pjob *pj,
			  const struct jst_pub_change *c);

int jst_pub_publish(struct jst_pub *p, jst_handle h, const struct jst_pub_change *c)
{
	struct pjob *pj = live_job(p, h);
	int rc;

	if (!p || !c)
		return JST_EINVAL;
	if (!pj)
		return JST_ESTALE;
	p->for_daemon = c->daemon_record;
	rc = publish_change(p, h, pj, c);
	p->for_daemon = false;
	return rc;
}

static int publish_change(struct jst_pub *p, jst_handle h, struct pjob *pj,
			  const struct jst_pub_change *c)
{
	struct jst_shm_detail *old, *d = NULL;
	struct jst_pub_ext xview;
	struct jst_shm_status s;
	jst_shm_ref errs[JST_SHM_ERRORS_KEPT], eref = 0, dref = 0, dropped = 0, old_dref;
	uint16_t n = 0;
	size_t need;
	int rc;

	old = pj->detail;
	old_dref = pj->status.detail_ref;
	s = pj->status;
	if (c->status)
		jst_shm_status_from_public(&s, c->status);
	if (c->request_record)
		s.last_request = *c->request_record;
	if (c->error) {
		rc = error_size(c->error, &need);
		if (rc < 0)
			return rc;
	}
	if (c->strings || c->ext || c->error) {
		if (old) {
			n = old->n_errors;
			memcpy(errs, old->error_refs, n * sizeof(*errs));
		}
		if (c->error && n == JST_SHM_ERRORS_KEPT) {
			dropped = errs[0];
			memmove(errs, errs + 1, (n - 1) * sizeof(*errs));
			n--;
		}
		/*
		 * Errors first in the new detail's list; the new one is appended
		 * below. What the change does not name is kept from the old detail.
		 */
		if (!c->strings)
			detail_job_view(old, &p->view);
		if (!c->ext)
			detail_ext_view(old, &xview);
		rc = detail_build(c->strings ? c->strings : &p->view, c->ext ? c->ext : &xview, errs,
				  n, &d);
		if (rc < 0)
			return rc;
		/* Before the error's block too: a refused change writes nothing. */
		if (refused_large(d, c->refuse_large)) {
			free(d);
			return JST_EQUOTA;
		}
		if (c->error) {
			/* The JobState the job was in when the error was reported. */
			rc = error_emit(p, h.slot, h.gen, s.errors_total + 1, pj->status.job_state,
					c->error, &eref);
			if (rc == JST_ENOSPC && c->daemon_record && d->n_errors) {
				/* No block even in the reserve: the job's oldest error makes room. */
				dropped = d->error_refs[0];
				memmove(d->error_refs, d->error_refs + 1,
					(d->n_errors - 1) * sizeof(*d->error_refs));
				d->n_errors--;
				block_retire(p, JST_POOL_ERROR, jst_shm_ref_index(dropped));
				dropped = 0; /* retired already */
				rc = error_emit(p, h.slot, h.gen, s.errors_total + 1,
						pj->status.job_state, c->error, &eref);
			}
			if (rc < 0)
				goto fail;
			d->error_refs[d->n_errors++] = eref;
			s.n_errors = d->n_errors;
			s.errors_total++;
		}
		rc = detail_emit(p, h.slot, h.gen, d, &dref);
		if (rc < 0)
			goto fail;
		s.detail_ref = dref;
	}
	rc = status_emit(p, h.slot, &s);
	if (rc < 0)
		goto fail;
	if (d) {
		detail_retire(p, old_dref);
		pj->detail = d;
		free(old);
	}
	if (dropped)
		block_retire(p, JST_POOL_ERROR, jst_shm_ref_index(dropped));
	return 0;
fail:
	detail_retire(p, dref);
	if (eref)
		block_retire(p, JST_POOL_ERROR, jst_shm_ref_index(eref));
	free(d);
	return rc;
}

int jst_pub_remove(struct jst_pub *p, jst_handle h)
{
	struct pjob *pj = live_job(p, h);
	int64_t at;

	if (!p)
		return JST_EINVAL;
	if (!pj)
		return JST_ESTALE;
	at = index_find(p, pj->id, pj->id_len, pj->id_hash);
	if (at >= 0) {
		/* One store makes the entry a tombstone; probe chains through it stay intact. */
		p->pindex[at] = (uint64_t)JST_SHM_IDX_TOMB;
		uatomic_set(&p->index[p->index_gen & 1][at], (uint64_t)JST_SHM_IDX_TOMB);
		p->index_live--;
		p->index_tombs++;
	}
	/*
	 * The slot reads "removed" from here: readers that load 0 stop; readers
	 * that loaded the old reference still copy a valid version, reused only
	 * after the grace period. A plain store is enough: 0 names no bytes, so
	 * nothing before it needs ordering for the reader.
	 */
	uatomic_set(&p->refs[h.slot], 0);
	if (pj->detail) {
		for (unsigned k = 0; k < pj->detail->n_errors; k++)
			block_retire(p, JST_POOL_ERROR, jst_shm_ref_index(pj->detail->error_refs[k]));
		detail_retire(p, pj->status.detail_ref);
	}
	block_retire(p, JST_POOL_STATUS, jst_shm_ref_index(pj->status_ref));
	slot_release(p, h.slot);
	ring_put(p, p->seq + 1, h.slot, NULL);
	log_append(p, p->seq + 1, h.slot);
	uatomic_set(&p->hdr->njobs, p->index_live); /* informational; no ordering */
	return 0;
}

/* ---- the writer's own questions, from private memory ---------------------------------------- */

int jst_pub_status(const struct jst_pub *p, jst_handle h, struct jst_status *o)
{
	const struct pjob *pj = live_job(p, h);

	if (!p || !o)
		return JST_EINVAL;
	if (!pj)
		return JST_ESTALE;
	jst_shm_status_to_public(&pj->status, o);
	return 0;
}

int jst_pub_job(const struct jst_pub *p, jst_handle h, struct jst_job *o)
{
	const struct pjob *pj = live_job(p, h);
	const struct jst_shm_detail *d;

	if (!p || !o)
		return JST_EINVAL;
	if (!pj)
		return JST_ESTALE;
	d = pj->detail;
	detail_job_view(d, o);
	jst_shm_status_to_public(&pj->status, &o->status);
	o->instance_id = pj->id;
	return 0;
}

int jst_pub_ext_get(const struct jst_pub *p, jst_handle h, struct jst_pub_ext *o)
{
	const struct pjob *pj = live_job(p, h);

	if (!p || !o)
		return JST_EINVAL;
	if (!pj)
		return JST_ESTALE;
	detail_ext_view(pj->detail, o);
	return 0;
}

int jst_pub_lookup(const struct jst_pub *p, const char *instance_id, jst_handle *ret_handle)
{
	int64_t at;
	size_t len;
	uint32_t slot;

	if (!p || !instance_id || !ret_handle)
		return JST_EINVAL;
	len = strnlen(instance_id, JST_ID_MAX + 1);
	if (len > JST_ID_MAX)
		return JST_ENOJOB;
	at = index_find(p, instance_id, len, jst_shm_hash(instance_id, len));
	if (at < 0)
		return JST_ENOJOB;
	slot = (uint32_t)p->pindex[at];
	ret_handle->slot = slot;
	ret_handle->gen = p->pj[slot].gen;
	return 0;
}

int jst_pub_next(const struct jst_pub *p, uint32_t *pos, struct jst_status *o)
{
	if (!p || !pos || !o)
		return JST_EINVAL;
	for (uint32_t s = *pos; s < p->slot_hwm; s++) {
		if (!p->pj[s].status_ref)
			continue;
		jst_shm_status_to_public(&p->pj[s].status, o);
		*pos = s + 1;
		return 0;
	}
	*pos = p->slot_hwm;
	return JST_ENOJOB;
}

uint32_t jst_pub_capacity(const struct jst_pub *p)
{
	return p ? p->capacity : 0;
}

uint64_t jst_pub_generation(const struct jst_pub *p)
{
	return p ? p->generation : 0;
}

int jst_pub_reader(const struct jst_pub *p, jst_reader **ret_reader)
{
	if (!p || !ret_reader)
		return JST_EINVAL;
	return jst__attach_mapping(p->base, p->size, ret_reader);
}

uint32_t jst_pub_pool_count(const struct jst_pub *p, unsigned pool)
{
	return p && pool < JST_POOL_COUNT ? p->pools[pool].count - 1 : 0;
}

const char *jst_pub_full_pool(const struct jst_pub *p)
{
	static const char *const names[JST_POOL_COUNT] = {
		[JST_POOL_STATUS] = "status", [JST_POOL_DETAIL_SMALL] = "small detail",
		[JST_POOL_DETAIL_LARGE] = "large detail", [JST_POOL_ERROR] = "error",
	};

	if (!p)
		return NULL;
	if (p->full_pool < 0)
		return "job slots";
	return names[p->full_pool];
}

struct jst_counters_writer *jst_pub_counters(struct jst_pub *p)
{
	return &p->ctr;
}
