/* SPDX-License-Identifier: MIT */
/*
 * fuzz_adopt.c - fuzzes jobstatd's adoption of a segment, the one time the
 * daemon reads what it wrote: each input is a list of patches (u32 offset,
 * u8 length, bytes) applied to a copy of a valid segment (jobs with strings,
 * errors, removed jobs, format 1.5 extension records); the publisher then
 * adopts it and, if it accepts, updates, fails, removes and creates jobs in
 * it, and sets their extension properties. A refusal is the expected
 * answer to most inputs; a crash, a hang, a write outside the mapping or a
 * sanitizer report is a finding. Built with libFuzzer (make fuzz) or with
 * replay.c for make test.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jobstat.h"
#include "publish.h"
#include "shm-check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char scratch[JST_SHM_NAME_MAX];
static uint8_t *snapshot;
static size_t seg_size;
static int fd = -1;

static void cleanup(void)
{
	char lock[JST_SHM_NAME_MAX + 8];

	shm_unlink(scratch);
	snprintf(lock, sizeof(lock), "%s.lock", scratch); /* each adoption's writer lock */
	shm_unlink(lock);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct jst_pub_config cfg = {.capacity = 16, .status_spare = 64, .detail_small = 64,
				     .detail_large = 8, .errors = 16, .log_size = 64};
	char ns[64], shm[JST_SHM_NAME_MAX], lock[JST_SHM_NAME_MAX + 8];
	struct jst_error e = {.message_id = "F1", .message = "fuzz", .n_message_arguments = 1,
			      .message_arguments = {"a"}, .file = "/f"};
	struct jst_job job = {.name = "name", .job_status = "status", .n_status_descriptions = 1,
			      .status_descriptions = {"d"}};
	struct jst_status st = {.job_state = JST_JOB_RUNNING, .n_operational_status = 1,
				.operational_status = {JST_OPS_OK}};
	struct jst_pub_ext ext = {.scheduled_start_time = 1, .until_time = 2, .job_run_times = 3,
				  .local_or_utc_time = 2, .element_name = "element",
				  .caption = "caption", .description = NULL};
	struct jst_pub *p;
	struct stat sb;
	int src;

	(void)argc;
	(void)argv;
	snprintf(ns, sizeof(ns), "fuzz-adopt-%ld", (long)getpid());
	jst_shm_name(ns, shm, sizeof(shm));
	snprintf(scratch, sizeof(scratch), "/jobstat.fuzz-adopt-scratch-%ld", (long)getpid());
	cfg.shm_name = shm;
	if (jst_pub_create(&cfg, &p) != 0)
		abort();
	for (int i = 0; i < 6; i++) {
		char id[16];
		jst_handle h;

		snprintf(id, sizeof(id), "f:%d", i);
		jst_pub_job_create(p, id, &st, &job, &h);
		for (int k = 0; k < i; k++)
			jst_pub_publish(p, h, &(struct jst_pub_change){.error = &e});
		if (i % 2) /* 1.5: an extension record before the strings */
			jst_pub_publish(p, h, &(struct jst_pub_change){.ext = &ext});
		if (i == 2)
			jst_pub_remove(p, h);
	}
	jst_pub_close(p, false);
	src = shm_open(shm, O_RDONLY, 0);
	if (src < 0 || fstat(src, &sb) < 0)
		abort();
	seg_size = (size_t)sb.st_size;
	snapshot = malloc(seg_size);
	if (!snapshot || pread(src, snapshot, seg_size, 0) != (ssize_t)seg_size)
		abort();
	close(src);
	shm_unlink(shm);
	snprintf(lock, sizeof(lock), "%s.lock", shm);
	shm_unlink(lock);
	fd = shm_open(scratch, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || fchmod(fd, 0600) < 0 || pwrite(fd, snapshot, seg_size, 0) != (ssize_t)seg_size)
		abort();
	atexit(cleanup);
	return 0;
}

/* Everything a daemon does with the jobs it adopted. */
static void use_everything(struct jst_pub *p)
{
	static const struct jst_error e = {.message_id = "F2", .message = "again"};
	static const struct jst_job job = {.name = "renamed", .n_status_descriptions = 2,
					   .status_descriptions = {"a", "b"}};
	static const struct jst_pub_ext ext = {.job_run_times = 0, .description = "described"};
	struct jst_pub_ext cur_ext;
	struct jst_status st;
	struct jst_job cur;
	uint32_t pos = 0;
	jst_handle h;

	while (jst_pub_next(p, &pos, &st) == 0) {
		h = st.handle;
		jst_pub_job(p, h, &cur);
		jst_pub_lookup(p, cur.instance_id, &h);
		st.percent_complete = 50;
		jst_pub_publish(p, h, &(struct jst_pub_change){.status = &st});
		jst_pub_publish(p, h, &(struct jst_pub_change){.strings = &job, .error = &e});
		if (jst_pub_ext_get(p, h, &cur_ext) == 0 && cur_ext.caption)
			jst_pub_publish(p, h, &(struct jst_pub_change){.ext = &ext});
		if (h.slot % 2)
			jst_pub_remove(p, h);
	}
	for (int i = 0; i < 20; i++) {
		char id[16];

		snprintf(id, sizeof(id), "n:%d", i);
		if (jst_pub_job_create(p, id, &st, &job, &h) == 0 && i % 3 == 0)
			jst_pub_remove(p, h);
	}
	jst_pub_flush(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jst_pub_config cfg = {.shm_name = scratch};
	struct jst_pub *p;
	size_t i = 0;
	unsigned np = 0;

	while (i + 5 <= size && np < 64) {
		uint32_t off;
		uint8_t len;

		memcpy(&off, data + i, 4);
		len = data[i + 4];
		i += 5;
		off %= (uint32_t)seg_size;
		if (len > size - i)
			len = (uint8_t)(size - i);
		if (len > seg_size - off)
			len = (uint8_t)(seg_size - off);
		if (pwrite(fd, data + i, len, off) != len)
			abort();
		np++;
		i += len;
	}
	if (jst_pub_adopt(&cfg, &p) == 0) {
		use_everything(p);
		jst_pub_close(p, false);
	}
	/* Adoption writes too: back to the whole valid segment for the next input. */
	if (ftruncate(fd, (off_t)seg_size) != 0 ||
	    pwrite(fd, snapshot, seg_size, 0) != (ssize_t)seg_size)
		abort();
	return 0;
}
