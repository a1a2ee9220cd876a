/* SPDX-License-Identifier: MIT */
/*
 * fuzz_attach.c - fuzzes a client facing a corrupted segment: each input is
 * a list of patches (u32 offset, u8 length, bytes) applied to a copy of a
 * valid segment; the client then attaches and reads everything it can. Any
 * outcome but a crash, a hang or a sanitizer report is fine: errors are the
 * expected answer. Built with libFuzzer (make fuzz) or with replay.c.
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
	shm_unlink(scratch);
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
	struct jst_status st = {.job_state = JST_JOB_EXCEPTION, .n_operational_status = 2,
				.operational_status = {JST_OPS_COMPLETED, JST_OPS_ERROR}};
	struct jst_pub *p;
	struct stat sb;
	int src;

	(void)argc;
	(void)argv;
	snprintf(ns, sizeof(ns), "fuzz-attach-%ld", (long)getpid());
	jst_shm_name(ns, shm, sizeof(shm));
	snprintf(scratch, sizeof(scratch), "/jobstat.fuzz-attach-scratch-%ld", (long)getpid());
	cfg.shm_name = shm;
	if (jst_pub_create(&cfg, &p) != 0)
		abort();
	for (int i = 0; i < 4; i++) {
		char id[16];
		jst_handle h;

		snprintf(id, sizeof(id), "f:%d", i);
		st.transfer_state = (uint16_t)(i == 3 ? JST_BG_ERROR + 1 : 0);
		st.flags = i == 3 ? JST_STATUS_DO_ERROR : 0;
		jst_pub_job_create(p, id, &st, &job, &h);
		jst_pub_publish(p, h, &(struct jst_pub_change){.error = &e});
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
	snprintf(lock, sizeof(lock), "%s.lock", shm); /* the writer's lock object, left by close */
	shm_unlink(lock);
	fd = shm_open(scratch, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || pwrite(fd, snapshot, seg_size, 0) != (ssize_t)seg_size)
		abort();
	atexit(cleanup);
	return 0;
}

static void read_everything(jst_reader *r)
{
	static struct jst_job job;
	static struct jst_error err;
	static struct jst_status many[32];
	static char text[65536];
	struct jst_status st;
	struct jst_info in;
	jst_handle hs[32];
	uint64_t cursor = 0;
	uint32_t pos = 0;
	size_t n;

	jst_info(r, &in);
	for (unsigned i = 0; i < in.capacity + 8 && jst_next(r, &pos, &st) == 0; i++) {
		jst_job(r, st.handle, &job);
		for (unsigned k = 0; k < 9; k++)
			jst_error_read(r, st.handle, k, &err);
		for (unsigned f = 0; f < 3; f++) {
			if (jst_get_error(r, st.handle, f, &err) == 0) {
				jst_error_to_cimxml(&err, text, sizeof(text), NULL);
				jst_error_to_json(&err, text, sizeof(text), NULL);
			}
		}
	}
	for (int i = 0; i < 5; i++) {
		char id[16];
		jst_handle h;

		snprintf(id, sizeof(id), "f:%d", i);
		if (jst_lookup(r, id, &h) == 0)
			jst_status(r, h, &st);
	}
	pos = 0;
	jst_scan(r, &pos, many, 32, &n);
	jst_changes(r, &cursor, hs, 32, &n);
	cursor = 0;
	jst_changed(r, &cursor, many, 32, &n);
	jst_wait_changes(r, jst_change_seq(r), 0);
	jst_daemon_alive(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t offs[64];
	uint8_t lens[64];
	unsigned np = 0;
	size_t i = 0;
	jst_reader *r;

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
		offs[np] = off;
		lens[np++] = len;
		i += len;
	}
	if (jst_attach_shm(scratch, &r) == 0) {
		read_everything(r);
		jst_detach(r);
	}
	while (np--) /* back to the valid segment for the next input */
		if (pwrite(fd, snapshot + offs[np], lens[np], offs[np]) != lens[np])
			abort();
	return 0;
}
