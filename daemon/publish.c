/* SPDX-License-Identifier: MIT */
/*
 * publish.c - the segment's only writer: creates the segment, writes every
 * new version of a job into a block no reader can be holding, publishes it
 * with one release store, and reuses retired blocks only after the grace
 * period (shm-layout/PROTOCOL.md is the protocol and its proof sketch).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <stdint.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>

#include "shm-atomic.h"
#include "publish.h"
#include "shm-check.h"
#include "shm-status.h"

/* Memory is committed (fallocated) to growing regions in chunks of this size. */
#define COMMIT_CHUNK (1u << 20)

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
	struct reuse_queue retired;
};

struct jst_pub {
	char shm_name[JST_SHM_NAME_MAX];
	char wait_name[JST_SHM_NAME_MAX + 8];
	struct jst_shm_wait *wait; /* client-writable: read only as a hint */
	bool need_fence;         /* membarrier registration failed: fence every publication */
	char *base;
	uint64_t size;
	int fd;
	struct jst_shm_header *hdr;
	uint64_t *refs;
	struct jst_shm_job *jobs;
	uint64_t *index[2];
	uint64_t *log;
	uint32_t capacity, index_mask, log_mask;
	uint64_t grace_ns;
	uint64_t seq;            /* == hdr->change_seq; the writer's own copy */
	uint64_t index_gen;      /* == hdr->index_gen */
	uint32_t index_live, index_tombs;
	uint32_t slot_hwm;
	uint64_t slots_committed;
	bool index1_committed;
	struct reuse_queue free_slots;
	struct pool_state pools[JST_POOL_COUNT];
	struct jst_pub_stats stats;
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
	if (rc == 0)
		*committed = want;
	return rc;
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
 * Start rewriting a block: make its stamp odd before touching anything else
 * in it. Returns the stamp the new version will carry.
 */
static uint32_t block_begin(void *blk)
{
	uint32_t *stamp = blk;
	/*
	 * Only this thread writes stamps. Even unless a writer crashed in the
	 * middle of rewriting this block: then it is odd already, and stays so
	 * until this rewrite ends.
	 */
	uint32_t odd = *stamp | 1;

	uatomic_set(stamp, odd); /* "being rewritten": ordered before the bytes below */
	/*
	 * Order the odd stamp before the block's new bytes. Pairs with the
	 * cmm_smp_rmb() in the reader's jst_read_block() between its copy and
	 * its stamp re-check: a reader that copied any new byte sees the stamp
	 * changed.
	 */
	cmm_smp_wmb();
	return odd + 1 ? odd + 1 : 2; /* stamps wrap, skipping 0: ref 0 must stay "none" */
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

/* ---- change log --------------------------------------------------------------------------- */

static uint64_t next_seq(struct jst_pub *p)
{
	return p->seq + 1;
}

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
	uatomic_set(&p->hdr->change_futex, (uint32_t)seq); /* the waiters' futex word */
	/*
	 * Order the futex word's store before the waiters load, so that either
	 * we see a waiter and wake it, or it sees the new word and does not
	 * sleep. Registered for global expedited membarrier, we need only a
	 * compiler barrier: it pairs with the membarrier call a waiter makes
	 * after its waiters increment (jst_wait_changes()), which runs a full
	 * barrier on this CPU. Unregistered, a full barrier here pairs with
	 * the waiter's own full barrier.
	 */
	if (p->need_fence)
		cmm_smp_mb(); /* pairs with the waiter's full barrier */
	else
		cmm_barrier(); /* pairs with the waiter's membarrier */
	/* A hint only: clients write this count. */
	if (uatomic_read(&p->wait->waiters) != 0) {
		syscall(SYS_futex, &p->hdr->change_futex, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
		p->stats.wakes++;
	}
	p->seq = seq;
}

/* ---- validation of producer input -------------------------------------------------------- */

/* Strict UTF-8: no overlongs, no surrogates, nothing above U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t k;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xC2 && c <= 0xDF) {
			k = 1;
			cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			k = 2;
			cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			k = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (n - i <= k)
			return false;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + j] & 0x3F);
		}
		if ((k == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
		    (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
			return false;
		i += k + 1;
	}
	return true;
}

static int check_str(const char *s, size_t max)
{
	size_t n;

	if (!s)
		return 0;
	n = strnlen(s, max + 1);
	if (n > max)
		return JST_ETOOLONG;
	return utf8_valid((const unsigned char *)s, n) ? 0 : JST_EUTF8;
}

static int check_instance_id(const char *id, size_t *ret_len)
{
	size_t n;
	const char *colon;
	int rc;

	if (!id)
		return JST_EINVAL;
	n = strnlen(id, JST_ID_MAX + 1);
	if (n > JST_ID_MAX)
		return JST_ETOOLONG;
	rc = check_str(id, JST_ID_MAX);
	if (rc < 0)
		return rc;
	/* OrgID:LocalID: OrgID is non-empty and has no colon; LocalID is non-empty. */
	colon = memchr(id, ':', n);
	if (!colon || colon == id || colon == id + n - 1)
		return JST_EINSTANCEID;
	*ret_len = n;
	return 0;
}

/* ---- string tables ------------------------------------------------------------------------ */

/* Builds the data area of a detail or error block: each string followed by a NUL. */
struct strtab {
	char *data;
	uint32_t used, max;
};

static int strtab_add(struct strtab *t, const char *s, struct jst_shm_str *out)
{
	size_t n;

	if (!s) {
		*out = (struct jst_shm_str){0, JST_SHM_STR_NULL};
		return 0;
	}
	n = strlen(s);
	if (n + 1 > t->max - t->used)
		return JST_ETOOLONG;
	memcpy(t->data + t->used, s, n + 1);
	*out = (struct jst_shm_str){t->used, (uint32_t)n};
	t->used += (uint32_t)n + 1;
	return 0;
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

_Static_assert(JST_NAME_MAX + JST_JOB_STATUS_MAX + 2 * JST_TEXT_FIELD_MAX +
			       (3 + JST_SHM_OPSTATUS_MAX) * JST_SHORT_FIELD_MAX + JST_DSTR_COUNT <=
		       JST_SHM_DETAIL_DATA_LARGE,
	       "every job's strings at their limits fit a large detail block");

/* ---- job slots ----------------------------------------------------------------------------- */

static struct jst_shm_status *current_status(struct jst_pub *p, uint32_t slot)
{
	jst_shm_ref ref = p->refs[slot]; /* the writer's own store: no ordering needed */

	if (ref == 0)
		return NULL;
	return block_addr(p, JST_POOL_STATUS, jst_shm_ref_index(ref));
}

static struct jst_shm_status *live_status(struct jst_pub *p, jst_handle h)
{
	struct jst_shm_status *st;

	if (h.slot >= p->capacity)
		return NULL;
	st = current_status(p, h.slot);
	return st && st->job_gen == h.gen ? st : NULL;
}

static struct jst_shm_detail *detail_addr(struct jst_pub *p, jst_shm_ref ref, unsigned *ret_pool,
					  uint32_t *ret_idx)
{
	uint32_t idx = jst_shm_ref_index(ref);
	unsigned pool = idx & JST_SHM_REF_LARGE ? JST_POOL_DETAIL_LARGE : JST_POOL_DETAIL_SMALL;

	idx &= ~JST_SHM_REF_LARGE;
	if (ret_pool)
		*ret_pool = pool;
	if (ret_idx)
		*ret_idx = idx;
	return block_addr(p, pool, idx);
}

/* Claim a slot for a new job: a free one whose grace is over, a fresh one, or the oldest free. */
static int slot_claim(struct jst_pub *p, const char *id, size_t len, uint64_t hash,
		      uint32_t *ret_slot)
{
	uint64_t now = p->free_slots.len ? now_ns(CLOCK_MONOTONIC_COARSE) : 0;
	struct jst_shm_job *j;
	uint32_t slot;
	int rc;

	if (!rq_pop(&p->free_slots, now, p->grace_ns, false, &slot)) {
		if (p->slot_hwm < p->capacity) {
			rc = commit_upto(p, p->hdr->jobs_offset,
					 (uint64_t)p->capacity * JST_SHM_JOB_SIZE,
					 &p->slots_committed,
					 (uint64_t)(p->slot_hwm + 1) * JST_SHM_JOB_SIZE);
			if (rc < 0)
				return rc;
			slot = p->slot_hwm;
		} else if (!rq_pop(&p->free_slots, now, p->grace_ns, true, &slot)) {
			return JST_ENOSPC;
		}
	}
	j = &p->jobs[slot];
	if ((j->gen & 1) == 0)
		uatomic_set(&j->gen, j->gen + 1); /* a fresh slot: 0 -> 1, "free" */
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
	/*
	 * Order the identity before the even gen that vouches for it. Pairs with
	 * the cmm_smp_rmb() in slot_matches()/read_identity() after their first
	 * gen load.
	 */
	cmm_smp_wmb();
	uatomic_set(&j->gen, j->gen + 1);
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
	struct jst_shm_job *j = &p->jobs[slot];

	/*
	 * Odd gen: the slot is free. Its identity stays as it was until
	 * slot_claim() reuses the slot after the grace period; lookups skip
	 * odd slots. The ordering pairs as described in slot_claim().
	 */
	uatomic_set(&j->gen, j->gen + 1);
	cmm_smp_wmb(); /* gen odd before any later rewrite; pairs with readers' gen re-check rmb */
	rq_push(&p->free_slots, slot, now_ns(CLOCK_MONOTONIC_COARSE));
}

/* ---- the index --------------------------------------------------------------------------- */

static void index_put(uint64_t *index, uint32_t mask, uint64_t hash, uint32_t slot)
{
	for (uint32_t i = (uint32_t)hash & mask;; i = (i + 1) & mask) {
		uint64_t e = index[i];

		if (e == JST_SHM_IDX_EMPTY || (uint32_t)e == JST_SHM_IDX_TOMB) {
			/*
			 * One atomic store inserts the entry. The job it names is
			 * already published (its status reference was release-stored
			 * before this call), so a reader that finds the entry finds
			 * the job: pairs with the reader's gen/identity checks.
			 */
			cmm_smp_wmb();
			uatomic_set(&index[i], jst_shm_idx_make(hash, slot));
			return;
		}
	}
}

static uint32_t *index_find(struct jst_pub *p, const char *id, size_t len, uint64_t hash)
{
	uint64_t *index = p->index[p->index_gen & 1];

	for (uint32_t i = (uint32_t)hash & p->index_mask, n = 0; n <= p->index_mask;
	     i = (i + 1) & p->index_mask, n++) {
		uint64_t e = index[i];
		uint32_t slot = (uint32_t)e;

		if (e == JST_SHM_IDX_EMPTY)
			return NULL;
		if (slot == JST_SHM_IDX_TOMB || (e >> 32) != (hash >> 32))
			continue;
		if (p->jobs[slot].id_len == len && memcmp(p->jobs[slot].instance_id, id, len) == 0)
			return (uint32_t *)&index[i];
	}
	return NULL;
}

/*
 * Rebuild the index without tombstones into the other copy, then switch
 * readers to it with one release store of index_gen.
 */
static int index_rebuild(struct jst_pub *p)
{
	uint64_t next = p->index_gen + 1;
	uint64_t *dst = p->index[next & 1];
	uint64_t bytes = (uint64_t)(p->index_mask + 1) * sizeof(uint64_t);

	if (!p->index1_committed) {
		int rc = commit(p, p->hdr->index_offset[1], bytes);

		if (rc < 0)
			return rc;
		p->index1_committed = true;
	}
	/*
	 * The current index_gen is visible before we rewrite the other copy: a
	 * reader still searching that copy (from two rebuilds ago) re-checks
	 * index_gen after its probes and retries. Pairs with the read barrier
	 * before that re-check in jst_lookup().
	 */
	cmm_smp_wmb();
	for (uint32_t i = 0; i <= p->index_mask; i++) /* single stores: readers may probe it */
		uatomic_set(&dst[i], JST_SHM_IDX_EMPTY);
	for (uint32_t s = 0; s < p->slot_hwm; s++)
		if (p->refs[s])
			index_put(dst, p->index_mask, p->jobs[s].id_hash, s);
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

/* ---- creating the segment ----------------------------------------------------------------- */

/* Is the segment at @name owned by a live daemon? Reads it the way a client would. */
static bool segment_live(const char *name)
{
	struct jst_shm_header h;
	struct stat st;
	bool live = false;
	int fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);

	if (fd < 0)
		return false;
	if (fstat(fd, &st) == 0 && (uint64_t)st.st_size >= sizeof(h) &&
	    pread(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h) && h.magic == JST_SHM_MAGIC &&
	    h.state == JST_SHM_STATE_READY && h.daemon_pid > 0 && h.daemon_pid != (uint64_t)getpid())
		live = kill((pid_t)h.daemon_pid, 0) == 0 || errno == EPERM;
	close(fd);
	return live;
}

static int set_geometry(struct jst_pub *p, const struct jst_pub_config *cfg)
{
	struct jst_shm_header *h = p->hdr;
	uint32_t cap = cfg->capacity ? cfg->capacity : JST_PUB_DEFAULT_CAPACITY;
	uint32_t counts[JST_POOL_COUNT];
	const uint32_t sizes[JST_POOL_COUNT] = {JST_SHM_STATUS_SIZE, JST_SHM_DETAIL_SMALL,
						JST_SHM_DETAIL_LARGE, JST_SHM_ERROR_BLOCK};
	uint64_t off = JST_SHM_HEADER_SIZE, spare;

	if (cap >= (1u << 30))
		return JST_EINVAL;
	spare = cfg->status_spare ? cfg->status_spare : (cap / 4 > 262144 ? cap / 4 : 262144);
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
	if (p->wait)
		munmap(p->wait, JST_SHM_WAIT_SIZE);
	if (p->base)
		munmap(p->base, p->size);
	if (p->fd >= 0)
		close(p->fd);
	rq_free(&p->free_slots);
	for (unsigned i = 0; i < JST_POOL_COUNT; i++)
		rq_free(&p->pools[i].retired);
	free(p);
}

static int setup_private(struct jst_pub *p)
{
	struct jst_shm_header *h = p->hdr;
	int rc;

	p->capacity = h->capacity;
	p->index_mask = h->index_size - 1;
	p->log_mask = h->log_size - 1;
	p->grace_ns = h->grace_ns;
	p->refs = (uint64_t *)(p->base + h->refs_offset);
	p->jobs = (struct jst_shm_job *)(p->base + h->jobs_offset);
	p->index[0] = (uint64_t *)(p->base + h->index_offset[0]);
	p->index[1] = (uint64_t *)(p->base + h->index_offset[1]);
	p->log = (uint64_t *)(p->base + h->log_offset);
	rc = rq_init(&p->free_slots, p->capacity);
	for (unsigned i = 0; rc == 0 && i < JST_POOL_COUNT; i++) {
		struct pool_state *ps = &p->pools[i];

		ps->count = h->pools[i].count;
		ps->offset = h->pools[i].offset;
		ps->block_size = h->pools[i].block_size;
		ps->fresh = 1;
		rc = rq_init(&ps->retired, ps->count);
	}
	return rc;
}

/* Register for membarrier: waiters' membarrier then stands in for our fence (log_append()). */
static void wait_register(struct jst_pub *p)
{
	p->need_fence = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0) != 0;
}

static int errno_rc(int e)
{
	switch (e) {
	case EACCES:
	case EPERM:
		return JST_EACCES;
	case ENOSPC:
		return JST_ENOSPC;
	case ENOMEM:
		return JST_ENOMEM;
	default:
		return JST_ESYS;
	}
}

/*
 * The wait object: writable by everyone who may read the segment (its mode
 * is the segment's plus a write bit wherever there is a read bit), since a
 * reader must register as a waiter. It holds no job data.
 */
static int wait_create(struct jst_pub *p, mode_t mode, const struct jst_pub_config *cfg)
{
	/*
	 * Writable by the owner and, when the segment is group-readable, the group:
	 * never by others (they can still wait, polling in 1 ms slices).
	 */
	mode_t wmode = (mode | ((mode & 0440) >> 1)) & ~(mode_t)0002;
	void *m;
	int fd;

	snprintf(p->wait_name, sizeof(p->wait_name), "%s.wait", p->shm_name);
	shm_unlink(p->wait_name); /* a dead daemon's, like the segment */
	fd = shm_open(p->wait_name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, wmode);
	if (fd < 0)
		return errno_rc(errno);
	if (fchmod(fd, wmode) < 0 ||
	    (cfg->set_group && fchown(fd, (uid_t)-1, (gid_t)cfg->gid) < 0) ||
	    ftruncate(fd, JST_SHM_WAIT_SIZE) < 0 || fallocate(fd, 0, 0, JST_SHM_WAIT_SIZE) < 0) {
		int rc = errno_rc(errno);

		close(fd);
		shm_unlink(p->wait_name);
		return rc;
	}
	m = mmap(NULL, JST_SHM_WAIT_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		shm_unlink(p->wait_name);
		return errno_rc(errno);
	}
	p->wait = m;
	p->wait->magic = JST_SHM_WAIT_MAGIC;
	p->wait->generation = 1;
	wait_register(p);
	return 0;
}

/*
 * Map an existing wait object (adoption): monitors attached before the
 * crash hold it mapped, and their registrations must keep reaching us.
 */
static int wait_open(struct jst_pub *p)
{
	struct stat st;
	void *m;
	int fd;

	snprintf(p->wait_name, sizeof(p->wait_name), "%s.wait", p->shm_name);
	fd = shm_open(p->wait_name, O_RDWR | O_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size < JST_SHM_WAIT_SIZE) {
		close(fd);
		return -1;
	}
	m = mmap(NULL, JST_SHM_WAIT_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return -1;
	if (((struct jst_shm_wait *)m)->magic != JST_SHM_WAIT_MAGIC) {
		munmap(m, JST_SHM_WAIT_SIZE);
		return -1;
	}
	p->wait = m;
	wait_register(p);
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
	if (mode & 0002)
		return JST_EINVAL; /* never world-writable */
	p = calloc(1, sizeof(*p));
	if (!p)
		return JST_ENOMEM;
	p->fd = -1;
	strcpy(p->shm_name, cfg->shm_name);
	p->hdr = &geo;
	rc = set_geometry(p, cfg);
	if (rc < 0)
		goto fail;

	if (!cfg->namespace_locked && segment_live(p->shm_name)) {
		rc = JST_EBUSY;
		goto fail;
	}
	shm_unlink(p->shm_name); /* a dead daemon's segment (adoption arrives with jobstatd) */
	p->fd = shm_open(p->shm_name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (p->fd < 0) {
		rc = errno == EEXIST ? JST_EBUSY : errno_rc(errno);
		goto fail;
	}
	if (fchmod(p->fd, mode) < 0 ||
	    (cfg->set_group && fchown(p->fd, (uid_t)-1, (gid_t)cfg->gid) < 0) ||
	    ftruncate(p->fd, (off_t)geo.segment_size) < 0) {
		rc = errno_rc(errno);
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
	p->hdr->daemon_birth_ns = now_ns(CLOCK_REALTIME);
	p->hdr->created_ns = p->hdr->daemon_birth_ns;
	p->hdr->generation = 1;
	p->hdr->heartbeat_ns = now_ns(CLOCK_MONOTONIC);
	rc = setup_private(p);
	if (rc == 0)
		rc = wait_create(p, mode, cfg);
	if (rc < 0)
		goto fail_unlink;
	/* The regions every publication writes into, committed now (PROTOCOL.md, "Memory"). */
	rc = commit(p, p->hdr->refs_offset, (uint64_t)p->capacity * sizeof(uint64_t));
	if (rc == 0)
		rc = commit(p, p->hdr->index_offset[0], (uint64_t)p->hdr->index_size * 8);
	if (rc == 0)
		rc = commit(p, p->hdr->log_offset, (uint64_t)p->hdr->log_size * 8);
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
	if (p->wait)
		shm_unlink(p->wait_name);
fail:
	pub_free(p);
	return rc;
}

/* ---- adopting a dead daemon's segment ---------------------------------------------------- */

/* Mark block @idx of @pool in use while rebuilding; false if out of range or taken twice. */
static bool adopt_mark(struct jst_pub *p, uint8_t **used, unsigned pool, uint32_t idx)
{
	if (idx == 0 || idx >= p->pools[pool].count || used[pool][idx])
		return false;
	used[pool][idx] = 1;
	p->pools[pool].in_use++;
	return true;
}

/* Claim the blocks of the live job in @slot; false if its references are inconsistent. */
static bool adopt_job(struct jst_pub *p, uint8_t **used, uint32_t slot)
{
	jst_shm_ref ref = p->refs[slot];
	struct jst_shm_status *st;
	struct jst_shm_detail *d;
	unsigned dpool;
	uint32_t didx;

	if (!adopt_mark(p, used, JST_POOL_STATUS, jst_shm_ref_index(ref)))
		return false;
	st = block_addr(p, JST_POOL_STATUS, jst_shm_ref_index(ref));
	if (st->stamp != jst_shm_ref_stamp(ref) || st->slot != slot ||
	    st->job_gen != p->jobs[slot].gen || (st->job_gen & 1))
		return false;
	if (!st->detail_ref)
		return true;
	d = detail_addr(p, st->detail_ref, &dpool, &didx);
	if (!adopt_mark(p, used, dpool, didx) || d->n_errors > JST_SHM_ERRORS_KEPT)
		return false;
	for (unsigned k = 0; k < d->n_errors; k++)
		if (!adopt_mark(p, used, JST_POOL_ERROR, jst_shm_ref_index(d->error_refs[k])))
			return false;
	return true;
}

/*
 * Rebuild the writer's private state from the segment: live jobs are the
 * slots with a status reference; every other block below a pool's
 * high-water mark, and every other slot, is treated as retired now, so a
 * reader still inside a version the dead writer retired keeps its grace.
 */
static int adopt_rebuild(struct jst_pub *p)
{
	struct jst_shm_header *h = p->hdr;
	uint64_t now = now_ns(CLOCK_MONOTONIC_COARSE);
	uint8_t *used[JST_POOL_COUNT] = {0};
	int rc = 0;

	p->slot_hwm = h->slot_hwm <= p->capacity ? h->slot_hwm : p->capacity;
	p->seq = h->change_seq;
	p->index_gen = h->index_gen;
	for (unsigned i = 0; i < JST_POOL_COUNT; i++) {
		used[i] = calloc(p->pools[i].count, 1);
		if (!used[i]) {
			rc = JST_ENOMEM;
			goto out;
		}
	}
	for (uint32_t s = 0; s < p->slot_hwm; s++) {
		struct jst_shm_job *j = &p->jobs[s];

		if (p->refs[s] && !adopt_job(p, used, s)) {
			rc = JST_ECORRUPT;
			goto out;
		}
		if (p->refs[s]) {
			p->index_live++;
			continue;
		}
		/* Free, or claimed by a create the crash interrupted: free it. */
		if ((j->gen & 1) == 0)
			uatomic_set(&j->gen, j->gen + 1); /* odd: lookups skip it */
		rq_push(&p->free_slots, s, now);
	}
	for (unsigned i = 0; i < JST_POOL_COUNT; i++) {
		struct pool_state *ps = &p->pools[i];
		uint32_t hwm = h->pool_used[i];

		if (hwm < 1 || hwm > ps->count)
			hwm = ps->count; /* unknown: every block may have been used */
		for (uint32_t b = hwm; b < ps->count; b++)
			if (used[i][b])
				hwm = b + 1; /* a live block above the mark: trust the block */
		ps->fresh = hwm;
		/* The dead writer committed what it used, in whole chunks. */
		ps->committed = align_up((uint64_t)hwm * ps->block_size, COMMIT_CHUNK);
		if (ps->committed > (uint64_t)ps->count * ps->block_size)
			ps->committed = (uint64_t)ps->count * ps->block_size;
		for (uint32_t b = 1; b < hwm; b++)
			if (!used[i][b])
				rq_push(&ps->retired, b, now);
		p->stats.touched[i] = hwm - 1;
	}
	p->slots_committed = align_up((uint64_t)p->slot_hwm * JST_SHM_JOB_SIZE, COMMIT_CHUNK);
	/* A fresh index without the dead writer's tombstones or half-done inserts. */
	rc = index_rebuild(p);
out:
	for (unsigned i = 0; i < JST_POOL_COUNT; i++)
		free(used[i]);
	return rc;
}

int jst_pub_adopt(const struct jst_pub_config *cfg, struct jst_pub **ret_pub)
{
	struct stat st;
	struct jst_pub *p;
	int rc;

	if (!cfg || !cfg->shm_name || !ret_pub || strlen(cfg->shm_name) >= JST_SHM_NAME_MAX)
		return JST_EINVAL;
	if (!cfg->namespace_locked && segment_live(cfg->shm_name))
		return JST_EBUSY;
	p = calloc(1, sizeof(*p));
	if (!p)
		return JST_ENOMEM;
	p->fd = -1;
	strcpy(p->shm_name, cfg->shm_name);
	p->fd = shm_open(p->shm_name, O_RDWR | O_CLOEXEC, 0);
	if (p->fd < 0) {
		rc = errno == ENOENT ? JST_ENOENT : errno_rc(errno);
		goto fail;
	}
	if (fstat(p->fd, &st) < 0) {
		rc = errno_rc(errno);
		goto fail;
	}
	if ((uint64_t)st.st_size < JST_SHM_HEADER_SIZE) {
		rc = JST_ETRUNCATED;
		goto fail;
	}
	p->size = (uint64_t)st.st_size;
	p->base = mmap(NULL, p->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, p->fd, 0);
	if (p->base == MAP_FAILED) {
		p->base = NULL;
		rc = errno_rc(errno);
		goto fail;
	}
	/* The checks a client makes: a segment it would refuse, we refuse to adopt. */
	rc = jst_shm_check(p->base, p->size);
	if (rc < 0)
		goto fail;
	p->hdr = (struct jst_shm_header *)p->base;
	p->stats.committed_bytes = (uint64_t)st.st_blocks * 512;
	rc = setup_private(p);
	if (rc == 0)
		rc = adopt_rebuild(p);
	if (rc == 0 && wait_open(p) != 0)
		rc = wait_create(p, st.st_mode & 0777, cfg);
	if (rc < 0)
		goto fail;
	/*
	 * Jobs may have changed after the dead writer's last log entry: move
	 * change_seq a whole log past every cursor, so each monitor's next
	 * jst_changes() reports JST_EOVERRUN and it rescans.
	 */
	p->seq += (uint64_t)p->log_mask + 2;
	uatomic_set(&p->hdr->change_seq, p->seq);
	uatomic_set(&p->hdr->change_futex, (uint32_t)p->seq); /* wakes below */
	/* A new daemon identity; readers keep their mapping and read on throughout. */
	uatomic_set(&p->hdr->state, JST_SHM_STATE_INIT);
	cmm_smp_wmb(); /* INIT before the identity changes; pairs with attach's state check */
	p->hdr->daemon_pid = (uint64_t)getpid();
	p->hdr->daemon_birth_ns = now_ns(CLOCK_REALTIME);
	p->hdr->generation++;
	p->wait->generation = p->hdr->generation;
	p->hdr->heartbeat_ns = now_ns(CLOCK_MONOTONIC);
	cmm_smp_wmb(); /* the identity before READY; pairs with attach's state check */
	uatomic_set(&p->hdr->state, JST_SHM_STATE_READY);
	/* Waiters from before the crash: the sequence moved, let them see it. */
	syscall(SYS_futex, &p->hdr->change_futex, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
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
	/* Readers see CLOSED: the data stays valid, the daemon is gone. */
	cmm_smp_wmb(); /* every publication before CLOSED; pairs with jst_daemon_alive()'s state load */
	uatomic_set(&p->hdr->state, JST_SHM_STATE_CLOSED);
	if (unlink) {
		shm_unlink(p->shm_name);
		shm_unlink(p->wait_name);
	}
	pub_free(p);
}

void jst_pub_reown(struct jst_pub *p)
{
	/* One word; readers use it for display and liveness only. */
	uatomic_set(&p->hdr->daemon_pid, (uint64_t)getpid());
	wait_register(p); /* a forked process is a new address space to register */
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

/*
 * Publish a new status version of @slot: @pub gives the producer's fields
 * (or NULL to keep the current ones); the other arguments the writer's own.
 */
static int status_publish(struct jst_pub *p, uint32_t slot, uint32_t gen,
			  const struct jst_status *pub, jst_shm_ref detail_ref, uint16_t n_errors,
			  uint32_t errors_total)
{
	jst_shm_ref old_ref = p->refs[slot]; /* the writer's own store: no ordering needed */
	struct jst_shm_status *old = current_status(p, slot), *st;
	uint64_t seq = next_seq(p);
	uint32_t idx, stamp;
	int rc = block_alloc(p, JST_POOL_STATUS, &idx);

	if (rc < 0)
		return rc;
	st = block_addr(p, JST_POOL_STATUS, idx);
	stamp = block_begin(st);
	/* Bytes after the stamp: a plain copy, no reader holds a reference to this block. */
	if (old)
		memcpy((char *)st + 4, (char *)old + 4, sizeof(*st) - 4);
	else
		memset((char *)st + 4, 0, sizeof(*st) - 4);
	if (pub)
		jst_shm_status_from_public(st, pub);
	st->slot = slot;
	st->job_gen = gen;
	st->change_seq = seq;
	st->detail_ref = detail_ref;
	st->n_errors = n_errors;
	st->errors_total = errors_total;
	publish_ref(&p->refs[slot], block_end(st, stamp, idx));
	if (old)
		block_retire(p, JST_POOL_STATUS, jst_shm_ref_index(old_ref));
	log_append(p, seq, slot);
	p->stats.publishes++;
	return 0;
}

/*
 * Write a detail version for @slot with the strings of @job (or those of
 * @old when @job is NULL) and the error references @errs.
 */
static int detail_write(struct jst_pub *p, uint32_t slot, uint32_t gen, const struct jst_job *job,
			const struct jst_shm_detail *old, const jst_shm_ref *errs, uint16_t n_errs,
			jst_shm_ref *ret_ref)
{
	const char *strs[JST_DSTR_COUNT];
	size_t max[JST_DSTR_COUNT];
	size_t need = 0;
	unsigned pool;
	struct jst_shm_detail *d;
	struct strtab t;
	uint32_t idx, stamp;
	int rc;

	if (job) {
		unsigned n = job_strings(job, strs, max);

		if (job->n_status_descriptions > JST_SHM_OPSTATUS_MAX)
			return JST_ETOOLONG;
		for (unsigned k = 0; k < n; k++) {
			rc = check_str(strs[k], max[k]);
			if (rc < 0)
				return rc;
			need += strs[k] ? strlen(strs[k]) + 1 : 0;
		}
	} else {
		need = old ? old->used : 0;
	}
	pool = need <= JST_SHM_DETAIL_DATA_SMALL ? JST_POOL_DETAIL_SMALL : JST_POOL_DETAIL_LARGE;
	rc = block_alloc(p, pool, &idx);
	if (rc < 0)
		return rc;
	d = block_addr(p, pool, idx);
	stamp = block_begin(d);
	memset((char *)d + 4, 0, sizeof(*d) - 4);
	d->slot = slot;
	d->job_gen = gen;
	t = (struct strtab){d->data, 0, (uint32_t)(p->pools[pool].block_size - sizeof(*d))};
	if (job) {
		for (unsigned k = 0; k < JST_DSTR_COUNT; k++)
			strtab_add(&t, strs[k], &d->str[k]); /* sizes checked above */
		d->n_status_descriptions = job->n_status_descriptions;
	} else if (old) {
		memcpy(d->data, old->data, old->used);
		memcpy(d->str, old->str, sizeof(d->str));
		d->n_status_descriptions = old->n_status_descriptions;
		t.used = old->used;
	} else {
		for (unsigned k = 0; k < JST_DSTR_COUNT; k++)
			d->str[k] = (struct jst_shm_str){0, JST_SHM_STR_NULL};
	}
	d->used = t.used;
	if (n_errs)
		memcpy(d->error_refs, errs, n_errs * sizeof(*errs));
	d->n_errors = n_errs;
	*ret_ref = block_end(d, stamp, idx) | (pool == JST_POOL_DETAIL_LARGE ? JST_SHM_REF_LARGE : 0);
	return 0;
}

static void detail_retire(struct jst_pub *p, jst_shm_ref ref)
{
	unsigned pool;
	uint32_t idx;

	if (!ref)
		return;
	detail_addr(p, ref, &pool, &idx);
	block_retire(p, pool, idx);
}

int jst_pub_job_create(struct jst_pub *p, const char *instance_id, const struct jst_status *st,
		       const struct jst_job *job, jst_handle *ret_handle)
{
	jst_shm_ref dref = 0;
	uint64_t hash;
	size_t len;
	uint32_t slot, gen;
	int rc;

	if (!p || !st || !ret_handle)
		return JST_EINVAL;
	rc = check_instance_id(instance_id, &len);
	if (rc < 0)
		return rc;
	hash = jst_shm_hash(instance_id, len);
	if (index_find(p, instance_id, len, hash))
		return JST_EEXIST;
	if (p->index_live + p->index_tombs + 1 > (p->index_mask + 1) / 4 * 3) {
		/* Tombstones would fill the table: probe chains must stay short and end. */
		rc = index_rebuild(p);
		if (rc < 0)
			return rc;
	}
	rc = slot_claim(p, instance_id, len, hash, &slot);
	if (rc < 0)
		return rc;
	gen = p->jobs[slot].gen;
	rc = detail_write(p, slot, gen, job, NULL, NULL, 0, &dref);
	if (rc == 0)
		rc = status_publish(p, slot, gen, st, dref, 0, 0);
	if (rc < 0) {
		detail_retire(p, dref);
		slot_release(p, slot);
		return rc;
	}
	index_put(p->index[p->index_gen & 1], p->index_mask, hash, slot);
	p->index_live++;
	uatomic_set(&p->hdr->njobs, p->index_live); /* informational; no ordering */
	ret_handle->slot = slot;
	ret_handle->gen = gen;
	return 0;
}

int jst_pub_set_status(struct jst_pub *p, jst_handle h, const struct jst_status *st)
{
	struct jst_shm_status *cur;

	if (!p || !st)
		return JST_EINVAL;
	cur = live_status(p, h);
	if (!cur)
		return JST_ESTALE;
	return status_publish(p, h.slot, h.gen, st, cur->detail_ref, cur->n_errors,
			      cur->errors_total);
}

int jst_pub_set_strings(struct jst_pub *p, jst_handle h, const struct jst_job *job)
{
	return jst_pub_update(p, h, NULL, job);
}

int jst_pub_update(struct jst_pub *p, jst_handle h, const struct jst_status *st,
		   const struct jst_job *job)
{
	struct jst_shm_status *cur;
	struct jst_shm_detail *old;
	jst_shm_ref dref, old_ref;
	int rc;

	if (!p || !job)
		return JST_EINVAL;
	cur = live_status(p, h);
	if (!cur)
		return JST_ESTALE;
	old_ref = cur->detail_ref;
	old = old_ref ? detail_addr(p, old_ref, NULL, NULL) : NULL;
	rc = detail_write(p, h.slot, h.gen, job, NULL, old ? old->error_refs : NULL,
			  old ? old->n_errors : 0, &dref);
	if (rc < 0)
		return rc;
	rc = status_publish(p, h.slot, h.gen, st, dref, cur->n_errors, cur->errors_total);
	if (rc < 0) {
		detail_retire(p, dref);
		return rc;
	}
	detail_retire(p, old_ref);
	return 0;
}

static int error_write(struct jst_pub *p, uint32_t slot, uint32_t gen, uint32_t sequence,
		       uint16_t job_state, const struct jst_error *e, jst_shm_ref *ret_ref)
{
	const char *scalars[JST_ESTR_MESSAGE_ARGUMENTS] = {
		e->other_error_type, e->owning_entity, e->message_id, e->message,
		e->probable_cause_description, e->error_source, e->other_error_source_format,
		e->cim_status_code_description, e->file,
	};
	struct jst_shm_error *b;
	struct strtab t;
	size_t need = 0;
	uint32_t idx, stamp;
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
	rc = block_alloc(p, JST_POOL_ERROR, &idx);
	if (rc < 0)
		return rc;
	b = block_addr(p, JST_POOL_ERROR, idx);
	stamp = block_begin(b);
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
	return 0;
}

int jst_pub_add_error(struct jst_pub *p, jst_handle h, const struct jst_error *e)
{
	return jst_pub_add_error_with(p, h, e, NULL, NULL);
}

int jst_pub_add_error_with(struct jst_pub *p, jst_handle h, const struct jst_error *e,
			   const struct jst_status *st, const struct jst_job *job)
{
	jst_shm_ref errs[JST_SHM_ERRORS_KEPT], eref, dref, old_ref, dropped = 0;
	struct jst_shm_status *cur;
	struct jst_shm_detail *old;
	uint16_t n = 0;
	int rc;

	if (!p || !e)
		return JST_EINVAL;
	cur = live_status(p, h);
	if (!cur)
		return JST_ESTALE;
	old_ref = cur->detail_ref;
	old = old_ref ? detail_addr(p, old_ref, NULL, NULL) : NULL;
	rc = error_write(p, h.slot, h.gen, cur->errors_total + 1, cur->job_state, e, &eref);
	if (rc < 0)
		return rc;
	if (old) {
		n = old->n_errors;
		memcpy(errs, old->error_refs, n * sizeof(*errs));
	}
	if (n == JST_SHM_ERRORS_KEPT) {
		dropped = errs[0];
		memmove(errs, errs + 1, (n - 1) * sizeof(*errs));
		n--;
	}
	errs[n++] = eref;
	rc = detail_write(p, h.slot, h.gen, job, old, errs, n, &dref);
	if (rc == 0) {
		rc = status_publish(p, h.slot, h.gen, st, dref, n, cur->errors_total + 1);
		if (rc < 0)
			detail_retire(p, dref);
	}
	if (rc < 0) {
		block_retire(p, JST_POOL_ERROR, jst_shm_ref_index(eref));
		return rc;
	}
	detail_retire(p, old_ref);
	if (dropped)
		block_retire(p, JST_POOL_ERROR, jst_shm_ref_index(dropped));
	return 0;
}

int jst_pub_remove(struct jst_pub *p, jst_handle h)
{
	struct jst_shm_status *cur;
	struct jst_shm_job *j;
	uint32_t *entry;
	jst_shm_ref ref;

	if (!p)
		return JST_EINVAL;
	cur = live_status(p, h);
	if (!cur)
		return JST_ESTALE;
	j = &p->jobs[h.slot];
	entry = index_find(p, j->instance_id, j->id_len, j->id_hash);
	if (entry) {
		/* One store makes the entry a tombstone; probe chains through it stay intact. */
		uatomic_set((uint64_t *)entry, (uint64_t)JST_SHM_IDX_TOMB);
		p->index_live--;
		p->index_tombs++;
	}
	ref = p->refs[h.slot];
	/*
	 * The slot reads "removed" from here: readers that load 0 stop; readers
	 * that loaded the old reference still copy a valid version, reused only
	 * after the grace period. A plain store is enough: 0 names no bytes, so
	 * nothing before it needs ordering for the reader.
	 */
	uatomic_set(&p->refs[h.slot], 0);
	if (cur->detail_ref) {
		struct jst_shm_detail *d = detail_addr(p, cur->detail_ref, NULL, NULL);

		for (unsigned k = 0; k < d->n_errors; k++)
			block_retire(p, JST_POOL_ERROR, jst_shm_ref_index(d->error_refs[k]));
		detail_retire(p, cur->detail_ref);
	}
	block_retire(p, JST_POOL_STATUS, jst_shm_ref_index(ref));
	slot_release(p, h.slot);
	log_append(p, next_seq(p), h.slot);
	uatomic_set(&p->hdr->njobs, p->index_live); /* informational; no ordering */
	return 0;
}

int jst_pub_status(struct jst_pub *p, jst_handle h, struct jst_status *o)
{
	struct jst_shm_status *s;

	if (!p || !o)
		return JST_EINVAL;
	s = live_status(p, h);
	if (!s)
		return JST_ESTALE;
	jst_shm_status_to_public(s, o);
	return 0;
}
