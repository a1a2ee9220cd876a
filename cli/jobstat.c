/* SPDX-License-Identifier: MIT */
/*
 * jobstat.c - the jobstat command-line tool: reads jobs and their errors
 * through the public libjobstat API only.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "jobstat.h"

static const char *state_name(uint16_t s)
{
	static const char *names[] = {
		[2] = "New", [3] = "Starting", [4] = "Running", [5] = "Suspended",
		[6] = "Shutting Down", [7] = "Completed", [8] = "Terminated", [9] = "Killed",
		[10] = "Exception", [11] = "Service", [12] = "Query Pending",
	};

	if (s < sizeof(names) / sizeof(names[0]) && names[s])
		return names[s];
	return s >= 32768 ? "Vendor" : "Unknown";
}

static void usage(FILE *f)
{
	fprintf(f, "usage: jobstat [-n NAMESPACE] COMMAND\n\n"
		   "  info        the segment and its daemon\n"
		   "  list        every job: InstanceID, state, percent complete\n"
		   "  get ID      every property of one job\n\n"
		   "  -n, --namespace NS   default: $JOBSTAT_NAMESPACE or \"default\"\n"
		   "      --help, --version\n");
}

static int fail(const char *what, int rc)
{
	fprintf(stderr, "jobstat: %s: %s\n", what, jst_strerror(rc));
	if (rc == JST_ENOENT)
		fprintf(stderr, "hint: start jobstatd, or set JOBSTAT_NAMESPACE / -n to its namespace\n");
	else if (rc == JST_EACCES)
		fprintf(stderr, "hint: the segment's group must include you (jobstatd --group)\n");
	return 1;
}

static int cmd_info(jst_reader *r)
{
	struct jst_info in;

	jst_info(r, &in);
	printf("format      %u.%u\n"
	       "daemon pid  %" PRIu64 " (%s)\n"
	       "generation  %" PRIu64 "\n"
	       "capacity    %u jobs\n"
	       "jobs        %u\n"
	       "changes     %" PRIu64 " (log of %u)\n"
	       "segment     %" PRIu64 " bytes reserved\n",
	       in.version_major, in.version_minor, in.daemon_pid,
	       jst_daemon_alive(r) ? "alive" : "not running", in.generation, in.capacity,
	       in.njobs, in.change_seq, in.log_size, in.segment_size);
	return 0;
}

static int cmd_list(jst_reader *r)
{
	static struct jst_job job;
	struct jst_status st;
	uint32_t pos = 0;
	int rc;

	printf("%-40s %-14s %5s\n", "INSTANCEID", "STATE", "PCT");
	while ((rc = jst_next(r, &pos, &st)) == 0) {
		if (jst_job(r, st.handle, &job) < 0)
			continue; /* removed between the two reads */
		printf("%-40s %-14s %4u%%\n", job.instance_id, state_name(st.job_state),
		       st.percent_complete);
	}
	return rc == JST_ENOJOB ? 0 : fail("list", rc);
}

static int cmd_get(jst_reader *r, const char *id)
{
	static struct jst_job job;
	jst_handle h;
	int rc = jst_lookup(r, id, &h);

	if (rc == 0)
		rc = jst_job(r, h, &job);
	if (rc < 0)
		return fail(id, rc);
	printf("InstanceID        %s\nName              %s\nJobState          %u (%s)\n"
	       "PercentComplete   %u\nJobStatus         %s\nErrors            %u retained, %u total\n",
	       job.instance_id, job.name ? job.name : "", job.status.job_state,
	       state_name(job.status.job_state), job.status.percent_complete,
	       job.job_status ? job.job_status : "", job.status.n_errors, job.status.errors_total);
	printf("OperationalStatus");
	for (unsigned i = 0; i < job.status.n_operational_status; i++)
		printf(" %u", job.status.operational_status[i]);
	printf("\n");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"namespace", required_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	const char *ns = NULL;
	jst_reader *r;
	int c, rc;

	while ((c = getopt_long(argc, argv, "+n:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			ns = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("jobstat %s\n", jst_version());
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[optind], "info") && strcmp(argv[optind], "list") &&
	    strcmp(argv[optind], "get")) {
		fprintf(stderr, "jobstat: unknown command \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[optind], "get") && optind + 2 != argc) {
		fprintf(stderr, "jobstat: get takes one InstanceID\n");
		return 2;
	}
	rc = jst_attach(ns, &r);
	if (rc < 0)
		return fail(ns ? ns : jst_default_namespace(), rc);
	if (!strcmp(argv[optind], "info"))
		rc = cmd_info(r);
	else if (!strcmp(argv[optind], "list"))
		rc = cmd_list(r);
	else
		rc = cmd_get(r, argv[optind + 1]);
	jst_detach(r);
	return rc;
}
