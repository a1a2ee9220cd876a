/* SPDX-License-Identifier: MIT */
/*
 * fuzz_proto.c - fuzzes jobstatd's control plane: every input is one packet
 * handled by the real server (decoder, validation, every request handler,
 * the publisher behind them) as if a connection had sent it. The first byte
 * chooses the connection: bit 0 past HELLO, bit 1 an unprivileged uid.
 * Built with libFuzzer (make fuzz) or with replay.c (make test replays the
 * seed corpus and every regression input).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "publish.h"
#include "server.h"
#include "shm-check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct jst_pub *pub;
static struct jst_server *srv;
static int replies[2];
static char shm[JST_SHM_NAME_MAX], dir[64];

void jst_log(int prio, const char *fmt, ...)
{
	(void)prio;
	(void)fmt; /* the fuzzer's output is for findings */
}

static void cleanup(void)
{
	jst_server_destroy(srv);
	jst_pub_close(pub, true);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct jst_pub_config cfg = {.capacity = 64};
	struct jst_server_config sc = {0};
	char ns[64], sock[128];
	struct jst_status st = {.job_state = JST_JOB_RUNNING, .n_operational_status = 1,
				.operational_status = {JST_OPS_OK}, .flags = JST_STATUS_CANCELLABLE};
	jst_handle h;

	(void)argc;
	(void)argv;
	snprintf(ns, sizeof(ns), "fuzz-proto-%ld", (long)getpid());
	jst_shm_name(ns, shm, sizeof(shm));
	strcpy(dir, "/tmp/jst-fuzz-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(sock, sizeof(sock), "%s/s.sock", dir);
	cfg.shm_name = shm;
	sc.socket_path = sock;
	if (jst_pub_create(&cfg, &pub) != 0)
		abort();
	/* A few jobs for the requests to find: slots 0.. with gen 1, ids "fuzz:0".. */
	for (int i = 0; i < 4; i++) {
		char id[16];

		snprintf(id, sizeof(id), "fuzz:%d", i);
		jst_pub_job_create(pub, id, &st, NULL, &h);
	}
	if (jst_server_create(pub, &sc, &srv) != 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, replies) != 0)
		abort();
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t sink[1 << 17];

	if (size < 1)
		return 0;
	jst_server_feed(srv, replies[0], data[0] & 1, (data[0] & 2) ? 65534 : 0, data + 1,
			size - 1);
	while (recv(replies[1], sink, sizeof(sink), MSG_DONTWAIT) > 0)
		; /* the replies: their content is checked by the unit tests */
	return 0;
}
