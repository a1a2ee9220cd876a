/* SPDX-License-Identifier: MIT */
/*
 * test_props.c - issue 14 point 5: the CIM properties a producer sets after
 * creating its job (RecoveryAction and OtherRecoveryAction,
 * ErrorSummaryDescription, Priority, DeleteOnCompletion, TimeBeforeRemoval,
 * ElementName, Caption, Description, ScheduledStartTime, UntilTime,
 * JobRunTimes, LocalOrUtcTime) round-trip through the segment's format 1.5
 * extension record, bad values are refused with a specific code and a
 * sentence naming the property, another uid is refused, the derived
 * statuses follow README.md's table row by row, every new property renders
 * in CIM-XML (valid against DSP0203) and JSON, a 1.4 segment is adopted and
 * reads at the defaults, a damaged extension record is refused at adoption,
 * TimeOfLastStateChange is NULL until the first change and ElapsedTime is
 * computed when read.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include "jobstat-proto.h"
#include "testdaemon.h"
#include "testutil.h"

static struct test_daemon d;

static void setup(void)
{
	test_daemon_init(&d, "props");
}

static void teardown(void)
{
	test_daemon_cleanup(&d);
}

TestSuite(props, .init = setup, .fini = teardown, .timeout = 60);

static struct jst_job_ext x;

static void read_ext(jst_reader *r, jst_handle h)
{
	int rc = jst_job_ext(r, h, &x, sizeof(x));

	cr_assert_eq(rc, 0, "jst_job_ext: %s", jst_strerror(rc));
}

static jst_handle make_job(jst_conn *c, const char *id, uint16_t state)
{
	jst_handle h;
	int rc = jst_job_create(c, &(struct jst_job_spec){.instance_id = id, .initial_state = state},
				&h, NULL);

	cr_assert_eq(rc, 0, "create %s: %s (%s)", id, jst_strerror(rc), jst_conn_error(c));
	return h;
}

static const struct jst_job_props every = {
	.set = JST_PROP_ALL,
	.priority = 9,
	.delete_on_completion = true,
	.recovery_action = 1,
	.other_recovery_action = "page the operator",
	.time_before_removal_ns = 42000000000,
	.error_summary_description = "summary <&>",
	.element_name = "nightly backup",
	.caption = "backup",
	.description = "copies /srv to the tape library",
	.scheduled_start_time = 1234567890123456000ull,
	.until_time = 1234567990000000000ull,
	.job_run_times = 0,
	.local_or_utc_time = 2,
};

Test(props, every_property_round_trips_and_survives_other_changes)
{
	jst_conn *c;
	jst_reader *r;
	jst_handle h;
	struct jst_status before;

	test_daemon_start(&d);
	c = test_connect(&d, true, 0, NULL, NULL);
	r = test_attach(&d);
	h = make_job(c, "acme:props-1", JST_JOB_RUNNING);
	read_ext(r, h);
	cr_assert_null(x.element_name);
	cr_assert_null(x.caption);
	cr_assert_null(x.description);
	cr_assert_eq(x.job_run_times, 1, "CIM's default");
	cr_assert_eq(x.local_or_utc_time, 0);
	cr_assert_eq(x.scheduled_start_time, 0);
	cr_assert_eq(x.until_time, 0);
	before = test_read(r, h);

	cr_assert_eq(jst_job_set_props(c, h, &every, sizeof(every)), 0, "%s", jst_conn_error(c));
	read_ext(r, h);
	cr_assert_gt(x.job.status.change_seq, before.change_seq, "published");
	cr_assert_eq(x.job.status.priority, 9);
	cr_assert(x.job.status.flags & JST_STATUS_DELETE_ON_COMPLETION);
	cr_assert_eq(x.job.status.time_before_removal_ns, 42000000000);
	cr_assert_eq(x.job.status.recovery_action, 1);
	cr_assert_str_eq(x.job.other_recovery_action, "page the operator");
	cr_assert_str_eq(x.job.error_summary_description, "summary <&>");
	cr_assert_str_eq(x.element_name, "nightly backup");
	cr_assert_str_eq(x.caption, "backup");
	cr_assert_str_eq(x.description, "copies /srv to the tape library");
	cr_assert_eq(x.scheduled_start_time, 1234567890123456000ull);
	cr_assert_eq(x.until_time, 1234567990000000000ull);
	cr_assert_eq(x.job_run_times, 0);
	cr_assert_eq(x.local_or_utc_time, 2);
	cr_assert_str_eq(x.job.name, "job", "the other strings are kept");

	/* Only what @set names changes; NULL clears a string. */
	cr_assert_eq(jst_job_set_props(c, h, &(struct jst_job_props){
		.set = JST_PROP_CAPTION | JST_PROP_RECOVERY_ACTION | JST_PROP_PRIORITY,
		.caption = NULL, .recovery_action = 4, .priority = 1}, sizeof(struct jst_job_props)),
		0, "%s", jst_conn_error(c));
	read_ext(r, h);
	cr_assert_null(x.caption);
	cr_assert_null(x.job.other_recovery_action);
	cr_assert_eq(x.job.status.recovery_action, 4);
	cr_assert_eq(x.job.status.priority, 1);
	cr_assert_str_eq(x.element_name, "nightly backup");
	cr_assert_str_eq(x.description, "copies /srv to the tape library");
	cr_assert_eq(x.local_or_utc_time, 2);

	/* A string update, an error and a state change keep the extension record. */
	cr_assert_eq(jst_update(c, &(struct jst_update){.handle = h, .set = JST_SET_JOB_STATUS,
							.job_status = "busy"}, 1, NULL), 0);
	cr_assert_eq(jst_job_report_error(c, h, &(struct jst_error){.message_id = "E1"}, false), 0);
	cr_assert_eq(jst_job_set_state(c, h, JST_JOB_SUSPENDED), 0);
	read_ext(r, h);
	cr_assert_str_eq(x.job.job_status, "busy");
	cr_assert_eq(x.job.status.n_errors, 1);
	cr_assert_str_eq(x.element_name, "nightly backup");
	cr_assert_str_eq(x.description, "copies /srv to the tape library");
	cr_assert_eq(x.until_time, 1234567990000000000ull);

	/* A caller compiled with a shorter struct gets only that much written. */
	{
		static struct jst_job_ext y;

		memset(&y, 0xAB, sizeof(y));
		cr_assert_eq(jst_job_ext(r, h, &y, sizeof(struct jst_job)), 0);
		cr_assert_eq(((unsigned char *)&y)[sizeof(struct jst_job)], 0xAB, "nothing past size");
		cr_assert_eq(jst_job_ext(r, h, &y, sizeof(struct jst_job) - 1), JST_EINVAL);
	}
	jst_detach(r);
	jst_disconnect(c);
}

/* A refused set: @want from the library and from the daemon, the sentence naming @what. */
static void refused(jst_conn *c, int raw, jst_handle h, const struct jst_job_props *p, int want,
		    const char *what)
{
	char why[256];
	struct jst_wbuf *w = malloc(sizeof(*w));
	uint8_t *reply = malloc(JST_MSG_MAX);
	struct jst_msg_props m = {.handle = h, .p = *p};
	struct jst_rbuf rb;
	ssize_t n;
	int rc;

	cr_assert_eq(jst_job_props_validate(p, sizeof(*p), why, sizeof(why)), want, "%s: %s", what,
		     why);
	cr_assert_not_null(strstr(why, what), "'%s' does not name %s", why, what);
	cr_assert_eq(jst_job_set_props(c, h, p, sizeof(*p)), want);
	cr_assert_not_null(strstr(jst_conn_error(c), what), "%s", jst_conn_error(c));
	/* The daemon does not trust the library's check: the same message sent raw. */
	jst_enc_props(w, 77, &m);
	cr_assert_eq(jst_wire_finish(w), 0);
	cr_assert_eq(send(raw, w->buf, w->len, 0), (ssize_t)w->len);
	n = recv(raw, reply, JST_MSG_MAX, 0);
	cr_assert_gt(n, JST_MSG_HDR_SIZE + 4);
	jst_rbuf_init(&rb, reply, (size_t)n); /* the cursor starts past the header */
	rc = (int32_t)jst_rd_u32(&rb);
	cr_assert_eq(rc, want, "daemon answered %s (%d, %zd bytes, type %x) to a bad %s", jst_errname(rc), rc, n, ((struct jst_msg_hdr *)reply)->type, what);
	cr_assert_not_null(strstr(jst_rd_str(&rb), what), "the daemon's reason names %s", what);
	free(w);
	free(reply);
}

/* A raw producer connection, past HELLO, to send what the library would refuse. */
static int raw_connect(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct jst_wbuf *w = malloc(sizeof(*w));
	uint8_t buf[256];
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	cr_assert_lt(strlen(d.sock), sizeof(a.sun_path));
	memcpy(a.sun_path, d.sock, strlen(d.sock) + 1);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	jst_enc_hello(w, 1, &(struct jst_msg_hello){.flags = JST_HELLO_PRODUCER});
	cr_assert_eq(jst_wire_finish(w), 0);
	cr_assert_eq(send(fd, w->buf, w->len, 0), (ssize_t)w->len);
	cr_assert_gt(recv(fd, buf, sizeof(buf), 0), 0);
	free(w);
	return fd;
}

Test(props, bad_values_are_refused_with_a_code_naming_the_property)
{
	char caption65[66], caption64[2 * 64 + 1], longdesc[JST_DESCRIPTION_MAX + 2];
	struct jst_job_props p;
	jst_conn *c, *root;
	jst_reader *r;
	jst_handle h;
	uint64_t seq;
	int raw;

	test_daemon_start(&d);
	c = test_connect(&d, true, 0, NULL, NULL);
	r = test_attach(&d);
	h = make_job(c, "acme:props-bad", JST_JOB_RUNNING);
	seq = test_read(r, h).change_seq;
	raw = raw_connect();
	root = c;

	p = (struct jst_job_props){.set = JST_PROP_RECOVERY_ACTION, .recovery_action = 6};
	refused(root, raw, h, &p, JST_EVALUEMAP, "RecoveryAction 6");
	p = (struct jst_job_props){.set = JST_PROP_RECOVERY_ACTION, .recovery_action = 1};
	refused(root, raw, h, &p, JST_EOTHERPAIR, "OtherRecoveryAction is not set");
	p = (struct jst_job_props){.set = JST_PROP_RECOVERY_ACTION, .recovery_action = 2,
				   .other_recovery_action = "x"};
	refused(root, raw, h, &p, JST_EOTHERPAIR, "OtherRecoveryAction is set");
	p = (struct jst_job_props){.set = JST_PROP_LOCAL_OR_UTC_TIME, .local_or_utc_time = 3};
	refused(root, raw, h, &p, JST_EVALUEMAP, "LocalOrUtcTime 3");
	p = (struct jst_job_props){.set = JST_PROP_TIME_BEFORE_REMOVAL,
				   .time_before_removal_ns = -1};
	refused(root, raw, h, &p, JST_EINVAL, "TimeBeforeRemoval");
	memset(caption65, 'c', 65);
	caption65[65] = 0;
	p = (struct jst_job_props){.set = JST_PROP_CAPTION, .caption = caption65};
	refused(root, raw, h, &p, JST_ETOOLONG, "Caption has 65 characters");
	p = (struct jst_job_props){.set = JST_PROP_ELEMENT_NAME, .element_name = "bad \xC0\xAF"};
	refused(root, raw, h, &p, JST_EUTF8, "ElementName");
	memset(longdesc, 'd', sizeof(longdesc) - 1);
	longdesc[sizeof(longdesc) - 1] = 0;
	p = (struct jst_job_props){.set = JST_PROP_DESCRIPTION, .description = longdesc};
	refused(root, raw, h, &p, JST_ETOOLONG, "Description");
	p = (struct jst_job_props){.set = 0x1000};
	refused(root, raw, h, &p, JST_EINVAL, "unknown property bits");
	cr_assert_eq(test_read(r, h).change_seq, seq, "nothing refused was published");

	/* MaxLen counts characters: 64 two-byte characters are a valid Caption. */
	for (int i = 0; i < 64; i++)
		memcpy(caption64 + 2 * i, "\xC3\xA9", 2);
	caption64[128] = 0;
	cr_assert_eq(jst_job_set_props(c, h, &(struct jst_job_props){
		.set = JST_PROP_CAPTION, .caption = caption64}, sizeof(struct jst_job_props)), 0,
		"%s", jst_conn_error(c));
	read_ext(r, h);
	cr_assert_str_eq(x.caption, caption64);
	cr_assert_eq(jst_job_props_validate(&p, 4, NULL, 0), JST_EINVAL, "a size too small");
	cr_assert_eq(jst_job_props_validate(NULL, sizeof(p), NULL, 0), JST_EINVAL);
	close(raw);
	jst_detach(r);
	jst_disconnect(c);
}

Test(props, another_uid_cannot_set_properties)
{
	jst_conn *c;
	jst_reader *r;
	jst_handle h;
	uint64_t seq;
	int fd, status;
	pid_t pid;

	if (geteuid() != 0)
		cr_skip_test("needs root to run a client as another uid");
	d.args[0] = "-g";
	d.args[1] = "65534"; /* nobody may connect */
	test_daemon_start(&d);
	c = test_connect(&d, true, 0, NULL, NULL);
	r = test_attach(&d);
	h = make_job(c, "acme:props-root", JST_JOB_RUNNING);
	seq = test_read(r, h).change_seq;
	pid = test_fork_piped(&fd);
	if (pid == 0) {
		struct jst_connect_options o = {.socket_path = d.sock, .producer = true};
		jst_conn *n;

		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
			_exit(90);
		if (jst_connect(&o, &n) != 0)
			_exit(91);
		if (jst_job_set_props(n, h, &every, sizeof(every)) != JST_EPERM)
			_exit(1);
		if (!strstr(jst_conn_error(n), "belongs to uid 0"))
			_exit(2);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	close(fd);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "as nobody: step %d",
		  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	cr_assert_eq(test_read(r, h).change_seq, seq, "nothing changed");
	jst_detach(r);
	jst_disconnect(c);
}

/* ---- derived statuses: every row of README.md's table ---- */

struct row {
	uint16_t state;
	uint16_t ops[3];
	unsigned nops;
	uint64_t session;
	struct jst_derived_status want;
};

Test(props, derived_statuses_follow_the_table_row_by_row)
{
	static const struct row rows[] = {
		/* state, OperationalStatus, session: comm, health, primary, detailed, operating */
		{2, {15}, 1, 1, {2, 5, 1, 1, 7}},           /* New {Dormant} */
		{3, {8}, 1, 1, {2, 5, 1, 1, 3}},            /* Starting {Starting} */
		{4, {2}, 1, 1, {2, 5, 1, 1, 16}},           /* Running {OK} */
		{5, {2}, 1, 1, {2, 5, 1, 1, 7}},            /* Suspended {OK} */
		{6, {9}, 1, 1, {2, 5, 1, 1, 4}},            /* Shutting Down {Stopping} */
		{7, {17, 2}, 2, 1, {2, 5, 1, 1, 8}},        /* Completed {Completed, OK} */
		{8, {10}, 1, 1, {2, 5, 1, 1, 5}},           /* Terminated {Stopped} */
		{9, {10, 14}, 2, 1, {2, 5, 1, 1, 6}},       /* Killed {Stopped, Aborted} */
		{10, {17, 6}, 2, 1, {2, 20, 3, 1, 8}},      /* Exception {Completed, Error} */
		{11, {11}, 1, 1, {2, 5, 1, 1, 2}},          /* Service {In Service} */
		{12, {2}, 1, 1, {2, 5, 1, 1, 7}},           /* Query Pending {OK} */
		{32768, {17, 3}, 2, 1, {2, 10, 2, 1, 8}},   /* CompletedWithWarnings */
		{40000, {1}, 1, 1, {2, 0, 0, 0, 0}},        /* a vendor state {Other} */
		{4, {2, 13}, 2, 1, {3, 0, 0, 0, 16}},       /* Running, producer lost */
		{10, {17, 6, 13}, 3, 1, {3, 20, 3, 1, 8}},  /* an error outranks lost */
		{4, {4}, 1, 1, {2, 10, 2, 2, 16}},          /* Stressed */
		{4, {5}, 1, 1, {2, 10, 2, 3, 16}},          /* Predictive Failure */
		{4, {7}, 1, 1, {2, 30, 3, 4, 16}},          /* Non-Recoverable Error */
		{4, {16}, 1, 1, {2, 20, 3, 5, 16}},         /* Supporting Entity in Error */
		{4, {0}, 1, 1, {2, 0, 0, 0, 16}},           /* Unknown */
		{4, {0}, 0, 1, {2, 0, 0, 0, 16}},           /* no OperationalStatus */
		{4, {2}, 1, 0, {0, 5, 1, 1, 16}},           /* no session known (a 1.0 job) */
	};
	struct jst_derived_status got;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct jst_status st = {.job_state = rows[i].state,
					.n_operational_status = (uint8_t)rows[i].nops,
					.producer_session = rows[i].session};

		memcpy(st.operational_status, rows[i].ops, sizeof(rows[i].ops));
		cr_assert_eq(jst_status_derive(&st, &got), 0);
		cr_assert_eq(memcmp(&got, &rows[i].want, sizeof(got)), 0,
			     "row %zu: got %u %u %u %u %u", i, got.communication_status,
			     got.health_state, got.primary_status, got.detailed_status,
			     got.operating_status);
	}
	cr_assert_eq(jst_status_derive(NULL, &got), JST_EINVAL);
}

/* ---- rendering ---- */

static int run_on(const char *text, const char *cmd)
{
	char path[] = "/tmp/jst-props-XXXXXX", full[512];
	int fd = mkstemp(path), status;

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	snprintf(full, sizeof(full), "%s %s", cmd, path);
	status = system(full);
	unlink(path);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define DTD "tests/dtd/DSP0203_2.4.0.dtd"

static const char *checker =
	"import sys, json, xml.etree.ElementTree as ET\n"
	"doc = ET.parse(sys.argv[2]).getroot()\n"
	"root = doc.find('./DECLARATION/DECLGROUP/VALUE.OBJECT/INSTANCE')\n"
	"def val(name, typ):\n"
	"    p = root.findall(\"./PROPERTY[@NAME='%s']\" % name)\n"
	"    assert len(p) == 1, (name, len(p))\n"
	"    assert p[0].get('TYPE') == typ, (name, p[0].get('TYPE'))\n"
	"    v = p[0].findall('VALUE')\n"
	"    return None if not v else (v[0].text or '')\n"
	"want = {'ElementName': ('string', 'nightly backup'), 'Caption': ('string', 'backup'),\n"
	"        'Description': ('string', 'copies /srv to the tape library'),\n"
	"        'CommunicationStatus': ('uint16', '2'), 'HealthState': ('uint16', '5'),\n"
	"        'PrimaryStatus': ('uint16', '1'), 'DetailedStatus': ('uint16', '1'),\n"
	"        'OperatingStatus': ('uint16', '16'),\n"
	"        'ScheduledStartTime': ('datetime', '20090213233130.123456+000'),\n"
	"        'UntilTime': ('datetime', '20090213233310.000000+000'),\n"
	"        'JobRunTimes': ('uint32', '0'), 'LocalOrUtcTime': ('uint16', '2'),\n"
	"        'RecoveryAction': ('uint16', '1'),\n"
	"        'OtherRecoveryAction': ('string', 'page the operator'),\n"
	"        'Priority': ('uint32', '9'), 'DeleteOnCompletion': ('boolean', 'true'),\n"
	"        'TimeBeforeRemoval': ('datetime', '00000000000042.000000:000')}\n"
	"for k, (t, v) in want.items():\n"
	"    assert val(k, t) == v, (k, val(k, t), v)\n"
	"j = json.load(open(sys.argv[1]))\n"
	"for k, (t, v) in want.items():\n"
	"    got = j[k]\n"
	"    if t in ('uint16', 'uint32'): got = str(got)\n"
	"    if t == 'boolean': got = 'true' if got else 'false'\n"
	"    assert got == v, (k, got, v)\n"
	"assert j['ErrorSummaryDescription'] == 'summary <&>'\n"
	"print('props parsed: ok')\n";

Test(props, the_new_properties_render_in_cimxml_and_json)
{
	static char xml[1 << 16], json[1 << 16];
	char cmd[1024], pyp[] = "/tmp/jst-propscheck-XXXXXX", jp[] = "/tmp/jst-propsjson-XXXXXX";
	jst_conn *c;
	jst_reader *r;
	jst_handle h;
	size_t need;
	int fd;

	test_daemon_start(&d);
	c = test_connect(&d, true, 0, NULL, NULL);
	r = test_attach(&d);
	h = make_job(c, "acme:props-render", JST_JOB_RUNNING);
	cr_assert_eq(jst_job_set_props(c, h, &every, sizeof(every)), 0);
	read_ext(r, h);
	cr_assert_eq(jst_job_ext_to_cimxml(&x, sizeof(x), JST_CIMXML_DOCUMENT, NULL, 0, &need), 0);
	cr_assert_lt(need, sizeof(xml));
	cr_assert_eq(jst_job_ext_to_cimxml(&x, sizeof(x), JST_CIMXML_DOCUMENT, xml, sizeof(xml),
					   NULL), 0);
	cr_assert_eq(run_on(xml, "xmllint --noout --dtdvalid " DTD), 0,
		     "not valid against DSP0203:\n%s", xml);
	cr_assert_eq(jst_job_ext_to_json(&x, sizeof(x), json, sizeof(json), NULL), 0);
	fd = mkstemp(pyp);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, checker, strlen(checker)), (ssize_t)strlen(checker));
	close(fd);
	fd = mkstemp(jp);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, json, strlen(json)), (ssize_t)strlen(json));
	close(fd);
	snprintf(cmd, sizeof(cmd), "python3 %s %s", pyp, jp);
	cr_assert_eq(run_on(xml, cmd), 0, "python3 rejected:\n%s\n%s", xml, json);
	/* jobstat get prints them in each of its formats. */
	snprintf(cmd, sizeof(cmd),
		 "JOBSTAT_NAMESPACE=%s " JST_BUILD_DIR "/jobstat get acme:props-render --format json"
		 " | python3 -c 'import json,sys; v=json.load(sys.stdin); "
		 "assert (v[\"Caption\"], v[\"JobRunTimes\"], v[\"LocalOrUtcTime\"], "
		 "v[\"OperatingStatus\"]) == (\"backup\", 0, 2, 16), v'", d.ns);
	cr_assert_eq(system(cmd), 0, "jobstat get --format json");
	snprintf(cmd, sizeof(cmd),
		 "JOBSTAT_NAMESPACE=%s " JST_BUILD_DIR "/jobstat get acme:props-render --format cimxml"
		 " | xmllint --noout --dtdvalid " DTD " - && JOBSTAT_NAMESPACE=%s " JST_BUILD_DIR
		 "/jobstat get acme:props-render --format cimxml | grep -q 'NAME=\"ElementName\"'"
		 " && JOBSTAT_NAMESPACE=%s " JST_BUILD_DIR "/jobstat get acme:props-render"
		 " | grep -q '^Description  *copies /srv'", d.ns, d.ns, d.ns);
	cr_assert_eq(system(cmd), 0, "jobstat get --format cimxml and text");
	/* NULLs: a job at its defaults renders the new properties without VALUE / as null. */
	h = make_job(c, "acme:props-null", 0);
	read_ext(r, h);
	cr_assert_eq(jst_job_ext_to_cimxml(&x, sizeof(x), 0, xml, sizeof(xml), NULL), 0);
	cr_assert_not_null(strstr(xml, "<PROPERTY NAME=\"Caption\" TYPE=\"string\"></PROPERTY>"),
			   "%s", xml);
	cr_assert_not_null(strstr(xml, "<PROPERTY NAME=\"LocalOrUtcTime\" TYPE=\"uint16\">"
				       "</PROPERTY>"), "%s", xml);
	cr_assert_eq(run_on(xml, "xmllint --noout --dtdvalid " DTD), 0, "%s", xml);
	cr_assert_eq(jst_job_ext_to_json(&x, sizeof(x), json, sizeof(json), NULL), 0);
	cr_assert_not_null(strstr(json, "\"Caption\":null"), "%s", json);
	cr_assert_not_null(strstr(json, "\"JobRunTimes\":1"), "%s", json);
	cr_assert_eq(jst_job_ext_to_json(&x, 8, json, sizeof(json), NULL), JST_EINVAL);
	unlink(pyp);
	unlink(jp);
	jst_detach(r);
	jst_disconnect(c);
}

/* ---- adoption ---- */

/* The detail block of @slot's current version, in a writable mapping @base. */
static struct jst_shm_detail *detail_of(char *base, uint32_t slot)
{
	struct jst_shm_header *hdr = (struct jst_shm_header *)base;
	uint64_t sref = ((uint64_t *)(base + hdr->refs_offset))[slot];
	struct jst_shm_status *st = jst_shm_block(base, &hdr->pools[JST_POOL_STATUS],
						  jst_shm_ref_index(sref));
	uint32_t idx = jst_shm_ref_index(st->detail_ref);
	unsigned pool = idx & JST_SHM_REF_LARGE ? JST_POOL_DETAIL_LARGE : JST_POOL_DETAIL_SMALL;

	return jst_shm_block(base, &hdr->pools[pool], idx & ~JST_SHM_REF_LARGE);
}

static char *map_rw(const char *shm, size_t *ret_size)
{
	int fd = shm_open(shm, O_RDWR, 0);
	struct stat sb;
	char *base;

	cr_assert_geq(fd, 0);
	cr_assert_eq(fstat(fd, &sb), 0);
	base = mmap(NULL, (size_t)sb.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	cr_assert_neq(base, MAP_FAILED);
	*ret_size = (size_t)sb.st_size;
	return base;
}

Test(props, a_1_4_segment_is_adopted_with_nothing_lost_and_reads_at_the_defaults)
{
	struct jst_pub_config cfg = {.capacity = 64};
	struct jst_status st = {.job_state = JST_JOB_RUNNING, .priority = 3};
	struct jst_job job = {.name = "old job", .owner = "someone"};
	struct jst_pub_ext ext = {.job_run_times = 5, .caption = "cap", .until_time = 7};
	struct test_seg t;
	struct jst_info in;
	jst_reader *r;
	jst_handle h;
	size_t size;
	char *base;

	test_seg_create(&t, "props-14", &cfg);
	cr_assert_eq(jst_pub_job_create(t.pub, "old:one", &st, &job, &h), 0);
	jst_pub_close(t.pub, false);
	/* As a 1.4 daemon left it: a job without extension records says 1.4. */
	base = map_rw(t.shm, &size);
	cr_assert_eq(detail_of(base, h.slot)->ext_len, 0, "defaults: no record, 1.4's bytes");
	((struct jst_shm_header *)base)->version_minor = 4;
	cfg.shm_name = t.shm;
	cr_assert_eq(jst_pub_adopt(&cfg, &t.pub), 0);
	cr_assert_eq(jst_attach(t.ns, &r), 0);
	jst_info(r, &in);
	cr_assert_eq(in.version_minor, JST_SHM_VERSION_MINOR, "it writes 1.5 records from now on");
	read_ext(r, h);
	cr_assert_str_eq(x.job.name, "old job");
	cr_assert_str_eq(x.job.owner, "someone");
	cr_assert_eq(x.job.status.priority, 3);
	cr_assert_null(x.caption);
	cr_assert_eq(x.job_run_times, 1);
	cr_assert_eq(jst_pub_publish(t.pub, h, &(struct jst_pub_change){.ext = &ext}), 0);
	read_ext(r, h);
	cr_assert_str_eq(x.caption, "cap");
	cr_assert_eq(x.job_run_times, 5);
	cr_assert_eq(x.until_time, 7);
	cr_assert_str_eq(x.job.name, "old job", "strings kept beside the new record");
	cr_assert_eq(detail_of(base, h.slot)->ext_len, JST_SHM_DETAIL_EXT_SIZE);
	jst_detach(r);

	/* A 1.5 segment with records is adopted with them. */
	jst_pub_close(t.pub, false);
	cr_assert_eq(jst_pub_adopt(&cfg, &t.pub), 0);
	cr_assert_eq(jst_attach(t.ns, &r), 0);
	read_ext(r, h);
	cr_assert_str_eq(x.caption, "cap");
	cr_assert_eq(x.job_run_times, 5);
	jst_detach(r);
	munmap(base, size);
	test_seg_destroy(&t);
}

/* Damage the record of a stopped writer's segment one way; adoption must refuse it. */
static void damaged(void (*harm)(struct jst_shm_detail *), const char *what)
{
	struct jst_pub_config cfg = {.capacity = 64};
	struct jst_status st = {.job_state = JST_JOB_RUNNING};
	struct jst_pub_ext ext = {.job_run_times = 2, .element_name = "el", .caption = "ca",
				  .description = "de", .local_or_utc_time = 1};
	char why[256] = "";
	struct test_seg t;
	struct jst_pub *p;
	jst_handle h;
	size_t size;
	char *base;

	test_seg_create(&t, "props-harm", &cfg);
	cr_assert_eq(jst_pub_job_create(t.pub, "harm:one", &st, NULL, &h), 0);
	cr_assert_eq(jst_pub_publish(t.pub, h, &(struct jst_pub_change){.ext = &ext}), 0);
	jst_pub_close(t.pub, false);
	base = map_rw(t.shm, &size);
	harm(detail_of(base, h.slot));
	cfg.shm_name = t.shm;
	cfg.why = why;
	cfg.why_len = sizeof(why);
	cr_assert_eq(jst_pub_adopt(&cfg, &p), JST_ECORRUPT, "%s was adopted", what);
	cr_assert_not_null(strstr(why, "slot"), "%s: '%s' names no slot", what, why);
	munmap(base, size);
	cfg.why = NULL;
	/* A new segment at the name replaces the damaged one; closing it removes both objects. */
	cr_assert_eq(jst_pub_create(&cfg, &t.pub), 0);
	test_seg_destroy(&t);
}

static struct jst_shm_detail_ext *rec(struct jst_shm_detail *dt)
{
	return (struct jst_shm_detail_ext *)dt->data;
}

static void ext_len_odd(struct jst_shm_detail *dt) { dt->ext_len = 40; }
static void ext_len_past(struct jst_shm_detail *dt) { dt->ext_len = 72; dt->used = 64; }
static void ext_local(struct jst_shm_detail *dt) { rec(dt)->local_or_utc_time = 9; }
static void ext_str_out(struct jst_shm_detail *dt) { rec(dt)->str[1].off = 100000; }
static void ext_str_over(struct jst_shm_detail *dt) { rec(dt)->str[0].off = 8; }
static void ext_str_nonul(struct jst_shm_detail *dt) { rec(dt)->str[2].len += 1; }

Test(props, adoption_refuses_a_damaged_extension_record)
{
	damaged(ext_len_odd, "a record of 40 bytes");
	damaged(ext_len_past, "a record past the used bytes");
	damaged(ext_local, "LocalOrUtcTime 9");
	damaged(ext_str_out, "a string outside the block");
	damaged(ext_str_over, "a string inside the record");
	damaged(ext_str_nonul, "a string without its NUL");
}

/* ---- times ---- */

Test(props, time_of_last_state_change_is_null_until_the_first_change)
{
	jst_conn *c;
	jst_reader *r;
	jst_handle h1, h2, h3;
	struct jst_status st;

	test_daemon_start(&d);
	c = test_connect(&d, true, 0, NULL, NULL);
	r = test_attach(&d);
	h1 = make_job(c, "acme:tolsc-new", 0);
	h2 = make_job(c, "acme:tolsc-running", JST_JOB_RUNNING);
	cr_assert_eq(jst_job_create(c, &(struct jst_job_spec){.instance_id = "acme:tolsc-xfer",
							       .transfer = true}, &h3, NULL), 0);
	cr_assert_eq(test_read(r, h1).time_of_last_state_change, 0);
	st = test_read(r, h2);
	cr_assert_eq(st.time_of_last_state_change, 0, "created Running: no change yet");
	cr_assert_neq(st.start_time, 0, "but it has started");
	cr_assert_eq(test_read(r, h3).time_of_last_state_change, 0, "created SUSPENDED");
	cr_assert_eq(jst_job_set_progress(c, h2, 5), 0);
	cr_assert_eq(test_read(r, h2).time_of_last_state_change, 0, "progress is no state change");
	cr_assert_eq(jst_job_set_state(c, h2, JST_JOB_SUSPENDED), 0);
	cr_assert_neq(test_read(r, h2).time_of_last_state_change, 0);
	jst_detach(r);
	jst_disconnect(c);
}

Test(props, elapsed_time_is_computed_when_read)
{
	static struct jst_job job;
	struct timespec nap = {0, 60 * 1000 * 1000};
	jst_conn *c;
	jst_reader *r;
	jst_handle h;
	uint64_t seq, e1, e2;

	test_daemon_start(&d);
	c = test_connect(&d, true, 0, NULL, NULL);
	r = test_attach(&d);
	h = make_job(c, "acme:elapsed", JST_JOB_RUNNING);
	cr_assert_eq(jst_job(r, h, &job), 0);
	seq = job.status.change_seq;
	e1 = job.status.elapsed_ns;
	nanosleep(&nap, NULL);
	cr_assert_eq(jst_job(r, h, &job), 0);
	cr_assert_eq(job.status.change_seq, seq, "nothing was published in between");
	e2 = job.status.elapsed_ns;
	cr_assert_gt(e2, e1, "a running job's ElapsedTime grows between reads");
	read_ext(r, h);
	cr_assert_geq(x.job.status.elapsed_ns, e2, "jst_job_ext computes it too");
	cr_assert_eq(jst_job_complete(c, h), 0);
	cr_assert_eq(jst_job(r, h, &job), 0);
	e1 = job.status.elapsed_ns;
	nanosleep(&nap, NULL);
	cr_assert_eq(jst_job(r, h, &job), 0);
	cr_assert_eq(job.status.elapsed_ns, e1, "a finished job's is final");
	cr_assert_eq(e1, job.status.time_of_last_state_change - job.status.start_time);
	jst_detach(r);
	jst_disconnect(c);
}

static jst_handle finished_job(jst_conn *c, const char *id)
{
	jst_handle h;

	cr_assert_eq(jst_job_create(c, &(struct jst_job_spec){.instance_id = id,
			.initial_state = JST_JOB_RUNNING}, &h, NULL), 0, "%s", jst_conn_error(c));
	cr_assert_eq(jst_job_set_state(c, h, JST_JOB_COMPLETED), 0, "%s", jst_conn_error(c));
	return h;
}

/*
 * Every PROPS that moves a finished job's removal earlier adds a T_REMOVE
 * timer (jobs.c jst__schedule_removal()); the old one stays in the heap
 * until its (far) due time. One producer grows the daemon's heap without bound.
 * (Found by review: 19,996 timers after 20,000 PROPS.)
 */
Test(props, props_on_a_finished_job_do_not_pile_up_timers)
{
	struct jst_daemon_stats ds;
	jst_conn *c;
	jst_handle h;
	uint32_t before;

	test_daemon_start(&d);
	c = test_connect(&d, true, 0, NULL, NULL);
	h = finished_job(c, "acme:red2-timers");
	cr_assert_eq(jst_daemon_stats(c, &ds), 0);
	before = ds.timers;
	for (int i = 0; i < 20000; i++) {
		struct jst_job_props p = {.set = JST_PROP_DELETE_ON_COMPLETION |
						 JST_PROP_TIME_BEFORE_REMOVAL,
					  .delete_on_completion = true,
					  .time_before_removal_ns = 1000000000000000ll - 1000 * i};
		cr_assert_eq(jst_job_set_props(c, h, &p, sizeof(p)), 0, "%s", jst_conn_error(c));
	}
	cr_assert_eq(jst_daemon_stats(c, &ds), 0);
	cr_expect_lt(ds.timers, before + 10, "timers: %u before, %u after 20000 PROPS", before,
		     ds.timers);
	jst_disconnect(c);
}

/*
 * DeleteOnCompletion cleared by PROPS: the removal scheduled because of it is
 * cancelled (found by review; the job went away although no longer asked to).
 */
Test(props, clearing_delete_on_completion_cancels_the_scheduled_removal)
{
	jst_conn *c;
	jst_reader *r;
	jst_handle h;
	struct jst_status st;

	test_daemon_start(&d);
	c = test_connect(&d, true, 0, NULL, NULL);
	r = test_attach(&d);
	h = finished_job(c, "acme:red2-doc");
	cr_assert_eq(jst_job_set_props(c, h, &(struct jst_job_props){
		.set = JST_PROP_DELETE_ON_COMPLETION | JST_PROP_TIME_BEFORE_REMOVAL,
		.delete_on_completion = true, .time_before_removal_ns = 300000000}, sizeof(struct jst_job_props)), 0);
	cr_assert_eq(jst_job_set_props(c, h, &(struct jst_job_props){
		.set = JST_PROP_DELETE_ON_COMPLETION, .delete_on_completion = false},
		sizeof(struct jst_job_props)), 0);
	usleep(800000);
	cr_expect_eq(jst_status(r, h, &st), 0, "job removed although DeleteOnCompletion is false");
	jst_detach(r);
	jst_disconnect(c);
}


/* An explicit remove (jst_job_remove after TimeBeforeRemoval) stays when DeleteOnCompletion goes. */
Test(props, clearing_delete_on_completion_keeps_an_explicit_removal)
{
	jst_conn *c;
	jst_reader *r;
	jst_handle h;
	struct jst_status st;
	int rc = 0;

	test_daemon_start(&d);
	c = test_connect(&d, true, 0, NULL, NULL);
	r = test_attach(&d);
	h = finished_job(c, "acme:review-remove");
	cr_assert_eq(jst_job_set_props(c, h, &(struct jst_job_props){
		.set = JST_PROP_TIME_BEFORE_REMOVAL, .time_before_removal_ns = 300000000},
		sizeof(struct jst_job_props)), 0);
	cr_assert_eq(jst_job_remove(c, h, 0, NULL), 0, "%s", jst_conn_error(c));
	cr_assert_eq(jst_job_set_props(c, h, &(struct jst_job_props){
		.set = JST_PROP_DELETE_ON_COMPLETION, .delete_on_completion = false},
		sizeof(struct jst_job_props)), 0);
	for (int i = 0; i < 300 && (rc = jst_status(r, h, &st)) == 0; i++)
		usleep(10000);
	cr_assert_neq(rc, 0, "the removal the owner asked for was cancelled");
	jst_detach(r);
	jst_disconnect(c);
}
