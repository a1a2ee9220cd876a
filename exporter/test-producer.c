/* SPDX-License-Identifier: MIT */
/*
 * test-producer.c - the producer of jobstat-exporter's Prometheus test:
 * known jobs in known states, so the test can check what Prometheus stores.
 *
 * Usage: exporter-test-producer SOCKET setup   3 Running jobs of JobType 5 at 40 %,
 *                                              1 Completed of JobType 5
 *        exporter-test-producer SOCKET fail N  N jobs of JobType 6 that fail with a
 *                                              CIM_Error (MessageID JST9001, severity 6)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobstat.h"

static int create(jst_conn *c, uint16_t type, uint16_t state, jst_handle *ret)
{
	struct jst_job_spec spec = {.name = "exporter test job", .job_type = type,
				    .initial_state = state};

	return jst_job_create(c, &spec, ret, NULL);
}

int main(int argc, char **argv)
{
	struct jst_connect_options o = {.producer = true};
	jst_conn *c = NULL;
	jst_handle h;
	int rc;

	if (argc < 3 || (strcmp(argv[2], "setup") != 0 && strcmp(argv[2], "fail") != 0) ||
	    (strcmp(argv[2], "fail") == 0 && argc != 4)) {
		fprintf(stderr, "usage: exporter-test-producer SOCKET setup | SOCKET fail N\n");
		return 2;
	}
	o.socket_path = argv[1];
	rc = jst_connect(&o, &c);
	if (rc == 0 && strcmp(argv[2], "setup") == 0) {
		for (int i = 0; i < 3 && rc == 0; i++) {
			rc = create(c, 5, JST_JOB_RUNNING, &h);
			if (rc == 0)
				rc = jst_job_set_progress(c, h, 40);
		}
		if (rc == 0)
			rc = create(c, 5, JST_JOB_RUNNING, &h);
		if (rc == 0)
			rc = jst_job_complete(c, h);
	} else if (rc == 0) {
		struct jst_error e = {
			.message_id = "JST9001",
			.message = "the \"disk\" is full\\gone",
			.perceived_severity = 6,
			.cim_status_code = 4,
		};

		for (int i = 0, n = atoi(argv[3]); i < n && rc == 0; i++) {
			rc = create(c, 6, JST_JOB_RUNNING, &h);
			if (rc == 0)
				rc = jst_job_report_error(c, h, &e, true);
		}
	}
	if (rc < 0)
		fprintf(stderr, "exporter-test-producer: %s: %s\n", jst_strerror(rc),
			c ? jst_conn_error(c) : "");
	jst_disconnect(c);
	return rc < 0;
}
