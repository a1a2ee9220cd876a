/* SPDX-License-Identifier: MIT */
/*
 * test_control.c - proves the control side of jobstatd: RequestStateChange
 * reaches the owning producer's handler and returns CIM's codes, a client's
 * Terminate or Kill is recorded as a CIM_Error naming it, jobs of a gone
 * producer still stop; only the owner, root or the admin group may change a
 * job (a second uid is refused, then let in by a reloaded admin group); a
 * producer that disconnects leaves its jobs in Lost Communication until it
 * takes them back; and malformed, oversized, unknown or garbage messages get
 * their errors without disturbing anyone else.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <pwd.h>
#include <grp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "jobstat-proto.h"
#include "testdaemon.h"

static struct test_daemon d;

static void setup(void)
{
	test_daemon_init(&d, "ctl");
}

static void teardown(void)
{
	test_daemon_cleanup(&d);
}

TestSuite(control, .init = setup, .fini = teardown, .timeout = 60);

static void start_plain(void)
{
	d.args[0] = "--lost-grace";
	d.args[1] = "0.3";
	test_daemon_start(&d);
}

/* ---- a producer in a child process ---- */

static uint32_t handler(jst_conn *c, const struct jst_request *rq, void *arg)
{
	(void)arg;
	switch (rq->requested_state) {
	case JST_REQ_TERMINATE:
		return jst_job_set_state(c, rq->handle, JST_JOB_TERMINATED) == 0
			       ? JST_RSC_COMPLETED : JST_RSC_FAILED;
	case JST_REQ_SUSPEND:
		return JST_RSC_STARTED; /* will suspend at the next checkpoint */
	default:
		return JST_RSC_NOT_SUPPORTED;
	}
}

/*
 * Fork a producer that creates @n jobs "acme:<tag>-<i>" (Running; the last
 * one not cancellable when @last_uncancellable), reports "ready", then
 * serves requests when @serve, or just sits there.
 */
static pid_t producer(const char *tag, int n, bool serve, bool last_uncancellable)
{
	int fd;
	pid_t pid = test_fork_piped(&fd);

	if (pid == 0) {
		jst_conn *c = test_connect(&d, true, 0, handler, NULL);

		for (int i = 0; i < n; i++) {
			char id[64];
			struct jst_job_spec spec = {.instance_id = id, .initial_state = 4,
						    .not_cancellable =
							    last_uncancellable && i == n - 1};
			jst_handle h;

			snprintf(id, sizeof(id), "acme:%s-%d", tag, i);
			if (jst_job_create(c, &spec, &h, NULL) != 0)
				_exit(3);
		}
		if (write(fd, "r", 1) != 1)
			_exit(4);
		for (;;) {
			if (serve)
				jst_dispatch(c, -1);
			else
				pause();
		}
	}
	{
		char ch;

		cr_assert_eq(read(fd, &ch, 1), 1, "the producer came up");
		close(fd);
	}
	return pid;
}

static jst_handle lookup(jst_reader *r, const char *id)
{
	jst_handle h;

	cr_assert_eq(jst_lookup(r, id, &h), 0, "%s", id);
	return h;
}

Test(control, a_request_reaches_the_producer_and_the_terminator_is_recorded)
{
	jst_conn *c;
	jst_reader *r;
	struct jst_error *e = malloc(sizeof(*e));
	struct jst_job *job = malloc(sizeof(*job));
	uint32_t code = 99;
	jst_handle h;
	pid_t p;

	start_plain();
	p = producer("rsc", 1, true, false);
	c = test_connect(&d, false, 0, NULL, NULL);
	r = test_attach(&d);
	h = lookup(r, "acme:rsc-0");

	cr_assert_eq(jst_request_state_change(c, "acme:rsc-0", JST_REQ_SUSPEND, 0, &code), 0,
		     "%s", jst_conn_error(c));
	cr_assert_eq(code, JST_RSC_STARTED, "the handler's answer reaches the requester");
	cr_assert_eq(jst_request_state_change(c, "acme:rsc-0", JST_REQ_SERVICE, 0, &code), 0);
	cr_assert_eq(code, JST_RSC_NOT_SUPPORTED);
	cr_assert_eq(test_read(r, h).n_errors, 0, "refused requests record nothing");

	cr_assert_eq(jst_request_state_change(c, "acme:rsc-0", JST_REQ_TERMINATE, 0, &code), 0);
	cr_assert_eq(code, JST_RSC_COMPLETED);
	cr_assert_eq(jst_job(r, h, job), 0);
	cr_assert_eq(job->status.job_state, JST_JOB_TERMINATED, "the handler terminated it");
	cr_assert_eq(job->status.operational_status[0], JST_OPS_STOPPED);
	cr_assert_eq(job->status.n_errors, 1, "and the request is on record");
	cr_assert_not_null(strstr(job->error_description, "terminated at the request of uid"));
	cr_assert_eq(jst_error_read(r, h, 0, e), 0);
	cr_assert_str_eq(e->message_id, "JST0001");
	cr_assert_str_eq(e->owning_entity, "jobstat");
	cr_assert_eq(e->n_message_arguments, 2);
	cr_assert_eq(atol(e->message_arguments[0]), (long)getuid());
	cr_assert_eq(atol(e->message_arguments[1]), (long)getpid(), "the requester's pid");

	/* CIM's codes for requests the daemon refuses itself. */
	cr_assert_eq(jst_request_state_change(c, "acme:rsc-0", JST_REQ_TERMINATE, 0, &code),
		     JST_ETRANSITION);
	cr_assert_eq(code, JST_RSC_INVALID_TRANSITION);
	cr_assert_eq(jst_request_state_change(c, "acme:nope", JST_REQ_TERMINATE, 0, &code),
		     JST_ENOJOB);
	cr_assert_eq(code, JST_RSC_INVALID_PARAMETER);
	cr_assert_eq(jst_request_state_change(c, "acme:rsc-0", 9, 0, &code), JST_EINVAL);
	cr_assert_eq(code, JST_RSC_INVALID_PARAMETER);
	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
	free(e);
	free(job);
	jst_detach(r);
	jst_disconnect(c);
}

Test(control, an_unanswered_request_times_out_and_a_second_one_is_busy)
{
	jst_conn *c;
	uint32_t code = 0;
	int fd, status;
	pid_t p, q;

	start_plain();
	p = producer("busy", 2, false, true);
	q = test_fork_piped(&fd);
	if (q == 0) {
		jst_conn *c2 = test_connect(&d, false, 0, NULL, NULL);
		int rc = jst_request_state_change(c2, "acme:busy-0", JST_REQ_SUSPEND, 600000000,
						  &code);

		_exit(rc == JST_ETIMEDOUT && code == JST_RSC_TIMEOUT ? 0 : 1);
	}
	usleep(200 * 1000);
	c = test_connect(&d, false, 0, NULL, NULL);
	cr_assert_eq(jst_request_state_change(c, "acme:busy-0", JST_REQ_KILL, 0, &code),
		     JST_EPENDING);
	cr_assert_eq(code, JST_RSC_BUSY);
	cr_assert_eq(waitpid(q, &status, 0), q);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "the first request timed out with code 3 (%#x)", status);
	cr_assert_eq(jst_request_state_change(c, "acme:busy-1", JST_REQ_TERMINATE, 0, &code),
		     JST_ENOTSUP, "a job that is not cancellable");
	cr_assert_eq(code, JST_RSC_NOT_SUPPORTED);
	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
	close(fd);
	jst_disconnect(c);
}

Test(control, a_producer_may_request_a_change_of_its_own_job)
{
	jst_conn *c;
	jst_reader *r;
	uint32_t code = 0;
	jst_handle h;

	start_plain();
	c = test_connect(&d, true, 0, handler, NULL);
	r = test_attach(&d);
	cr_assert_eq(jst_job_create(c, &(struct jst_job_spec){.instance_id = "acme:self",
							       .initial_state = 4}, &h, NULL), 0);
	/* The request comes back to this very connection: its handler runs inside the call. */
	cr_assert_eq(jst_request_state_change(c, "acme:self", JST_REQ_TERMINATE, 0, &code), 0);
	cr_assert_eq(code, JST_RSC_COMPLETED);
	cr_assert_eq(test_read(r, h).job_state, JST_JOB_TERMINATED);
	jst_detach(r);
	jst_disconnect(c);
}

Test(control, a_job_whose_producer_is_gone_can_still_be_killed)
{
	jst_conn *c;
	jst_reader *r;
	struct jst_error *e = malloc(sizeof(*e));
	struct jst_status st;
	uint32_t code = 0;
	jst_handle h;
	pid_t p;

	start_plain();
	p = producer("orphan", 2, true, false);
	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
	c = test_connect(&d, false, 0, NULL, NULL);
	r = test_attach(&d);
	cr_assert_eq(jst_request_state_change(c, "acme:orphan-1", JST_REQ_SUSPEND, 0, &code),
		     JST_ENOPRODUCER, "only its producer can suspend it");
	cr_assert_eq(code, JST_RSC_FAILED);
	cr_assert_eq(jst_request_state_change(c, "acme:orphan-0", JST_REQ_KILL, 0, &code), 0,
		     "%s", jst_conn_error(c));
	cr_assert_eq(code, JST_RSC_COMPLETED);
	h = lookup(r, "acme:orphan-0");
	st = test_read(r, h);
	cr_assert_eq(st.job_state, JST_JOB_KILLED);
	cr_assert_eq(st.n_operational_status, 2);
	cr_assert_eq(st.operational_status[1], JST_OPS_ABORTED);
	cr_assert_eq(jst_error_read(r, h, 0, e), 0);
	cr_assert_str_eq(e->message_id, "JST0002");
	cr_assert_not_null(strstr(e->message, "killed at the request of uid"));
	free(e);
	jst_detach(r);
	jst_disconnect(c);
}

/* ---- ownership ---- */

enum { NOBODY = 65534 };

/*
 * In a child running as nobody/nogroup: try every change on root's job
 * "acme:root-0" and expect Access Denied (or, with @admin, success).
 * Exit status: 0 when every answer was as expected, else the step number.
 */
static void as_nobody(bool admin, int fd)
{
	jst_reader *r;
	jst_conn *c;
	struct jst_connect_options o = {.socket_path = d.sock, .producer = true};
	struct jst_error e = {.message_id = "X"};
	uint32_t code = 0;
	jst_handle h, mine;
	int want = admin ? 0 : JST_EPERM;

	if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
		_exit(90);
	if (jst_connect(&o, &c) != 0)
		_exit(91);
	if (jst_attach(d.ns, &r) != 0 || jst_lookup(r, "acme:root-0", &h) != 0)
		_exit(92);
	if (jst_job_set_progress(c, h, 77) != want)
		_exit(1);
	if (!admin && !strstr(jst_conn_error(c), "belongs to uid 0"))
		_exit(2);
	if (jst_job_report_error(c, h, &e, false) != want)
		_exit(3);
	if (jst_request_state_change(c, "acme:root-0", JST_REQ_SUSPEND, 300000000, &code) !=
		    (admin ? JST_ETIMEDOUT : JST_EPERM) ||
	    code != (admin ? JST_RSC_TIMEOUT : JST_RSC_ACCESS_DENIED))
		_exit(4);
	if (!admin && jst_job_remove(c, h, JST_REMOVE_NOW, NULL) != JST_EPERM)
		_exit(5);
	if (jst_job_create(c, &(struct jst_job_spec){.instance_id = admin ? "acme:nb2" : "acme:nb"},
			   &mine, NULL) != 0)
		_exit(6);
	if (write(fd, &mine, sizeof(mine)) != sizeof(mine))
		_exit(7);
	_exit(0);
}

static int run_as_nobody(bool admin, jst_handle *ret_mine)
{
	int fd, status;
	pid_t pid = test_fork_piped(&fd);

	if (pid == 0)
		as_nobody(admin, fd);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		cr_assert_eq(read(fd, ret_mine, sizeof(*ret_mine)), sizeof(*ret_mine));
	close(fd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

Test(control, another_uid_cannot_change_a_job_until_it_is_in_the_admin_group)
{
	char cfg[128];
	FILE *f;
	jst_conn *c;
	jst_reader *r;
	struct jst_status before, after;
	jst_handle h, mine;
	int step;

	if (geteuid() != 0)
		cr_skip_test("needs root to run a client as another uid");
	snprintf(cfg, sizeof(cfg), "%s/jobstatd.conf", d.rundir);
	f = fopen(cfg, "w");
	cr_assert_not_null(f);
	fputs("# the admin group comes with SIGHUP\nlost-grace = 5\n", f);
	fclose(f);
	d.args[0] = "-g";
	d.args[1] = "65534"; /* the socket's group: nobody may connect, not change */
	d.args[2] = "--config";
	d.args[3] = cfg;
	test_daemon_start(&d);
	c = test_connect(&d, true, 0, handler, NULL);
	r = test_attach(&d);
	cr_assert_eq(jst_job_create(c, &(struct jst_job_spec){.instance_id = "acme:root-0",
							       .initial_state = 4}, &h, NULL), 0);
	before = test_read(r, h);
	step = run_as_nobody(false, &mine);
	cr_assert_eq(step, 0, "as nobody, step %d did not get Access Denied", step);
	after = test_read(r, h);
	cr_assert_eq(after.change_seq, before.change_seq, "nothing changed");
	cr_assert_eq(after.n_errors, 0);
	cr_assert_eq(test_read(r, mine).owner_uid, NOBODY, "nobody's own job is nobody's");
	cr_assert_eq(jst_job_set_progress(c, mine, 5), 0, "root may change anyone's job");

	/* Make nogroup the admin group, reload, and the same client is let in. */
	f = fopen(cfg, "a");
	fputs("admin-group = 65534\n", f);
	fclose(f);
	kill(d.pid, SIGHUP);
	for (int i = 0; i < 200; i++) {
		char err[4096] = "";

		if (strstr(test_daemon_stderr(&d, err, sizeof(err)), "reloaded"))
			break;
		usleep(10000);
	}
	step = run_as_nobody(true, &mine);
	cr_assert_eq(step, 0, "as an admin, step %d failed", step);
	cr_assert_eq(test_read(r, h).percent_complete, 77);
	jst_detach(r);
	jst_disconnect(c);
}

Test(control, another_uid_cannot_take_over_a_session)
{
	jst_conn *c;
	int fd, status;
	pid_t pid;

	if (geteuid() != 0)
		cr_skip_test("needs root to run a client as another uid");
	d.args[0] = "-g";
	d.args[1] = "65534";
	test_daemon_start(&d);
	c = test_connect(&d, true, 0, NULL, NULL);
	cr_assert_eq(jst_job_create(c, NULL, &(jst_handle){0}, NULL), 0);
	pid = test_fork_piped(&fd);
	if (pid == 0) {
		struct jst_connect_options o = {.socket_path = d.sock, .producer = true,
						.session = jst_session(c)};
		jst_conn *x;

		if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
			_exit(90);
		_exit(jst_connect(&o, &x) == JST_EPERM ? 0 : 1);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "refused with JST_EPERM");
	close(fd);
	jst_disconnect(c);
}

Test(control, a_uid_outside_the_sockets_group_cannot_connect)
{
	int fd, status;
	pid_t pid;

	if (geteuid() != 0)
		cr_skip_test("needs root to run a client as another uid");
	start_plain(); /* no -g: the socket is root's, mode 0660 */
	pid = test_fork_piped(&fd);
	if (pid == 0) {
		struct jst_connect_options o = {.socket_path = d.sock};
		jst_conn *x;

		if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
			_exit(90);
		_exit(jst_connect(&o, &x) == JST_EACCES ? 0 : 1);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "refused with JST_EACCES");
	close(fd);
}

static void mode_is(const char *path, mode_t mode, gid_t gid)
{
	struct stat sb;

	cr_assert_eq(stat(path, &sb), 0, "%s", path);
	cr_assert_eq(sb.st_mode & 07777, mode, "%s: mode %o, want %o", path, sb.st_mode & 07777,
		     mode);
	cr_assert_eq(sb.st_gid, gid, "%s: group %u, want %u", path, sb.st_gid, gid);
	cr_assert_eq(sb.st_mode & 0002, 0, "%s is world-writable", path);
	if (strstr(path, "/dev/shm"))
		cr_assert_eq(sb.st_mode & 0022, 0, "%s is writable by group or others", path);
}

/* Nothing clients could write: the segment is read-only to all but the daemon, no wait object. */
Test(control, segment_and_socket_get_the_configured_group_and_mode)
{
	char seg[128], wait[140];
	struct stat sb;

	snprintf(seg, sizeof(seg), "/dev/shm%s", d.shm);
	snprintf(wait, sizeof(wait), "%s.wait", seg);
	test_daemon_start(&d); /* the defaults */
	mode_is(seg, 0644, getegid());
	cr_assert_eq(stat(wait, &sb), -1, "no client-writable wait object");
	mode_is(d.sock, 0660, getegid());
	test_daemon_signal(&d, SIGTERM);
	shm_unlink(d.shm);
	if (geteuid() != 0)
		return;
	d.args[0] = "-m";
	d.args[1] = "0640";
	d.args[2] = "-g";
	d.args[3] = "65534";
	test_daemon_start(&d);
	mode_is(seg, 0640, 65534);
	cr_assert_eq(stat(wait, &sb), -1, "no client-writable wait object");
	mode_is(d.sock, 0660, 65534);
}

/*
 * 0.1.0 dropped its capabilities but stayed uid 0 (it could still read
 * /etc/shadow). Now it serves as the service user, every id of it, with no
 * supplementary group, no capability and no_new_privs.
 */
Test(control, started_as_root_it_serves_as_the_service_user_with_nothing_else)
{
	char path[64], line[256], want_uid[64], want_gid[64];
	bool eff = false, bnd = false, nnp = false, uid = false, gid = false, groups = false;
	struct passwd *pw = getpwnam("jobstat");
	FILE *f;

	if (geteuid() != 0)
		cr_skip_test("needs root");
	cr_assert_not_null(pw, "make test makes the jobstat user (tests/ensure-service-user.sh)");
	snprintf(want_uid, sizeof(want_uid), "Uid:\t%u\t%u\t%u\t%u\n", pw->pw_uid, pw->pw_uid,
		 pw->pw_uid, pw->pw_uid);
	snprintf(want_gid, sizeof(want_gid), "Gid:\t%u\t%u\t%u\t%u\n", pw->pw_gid, pw->pw_gid,
		 pw->pw_gid, pw->pw_gid);
	start_plain();
	/* A HELLO answered means the daemon is in its loop: past the drop. */
	jst_disconnect(test_connect(&d, true, 0, NULL, NULL));
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)d.pid);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f)) {
		eff |= !strcmp(line, "CapEff:\t0000000000000000\n");
		bnd |= !strcmp(line, "CapBnd:\t0000000000000000\n");
		nnp |= !strcmp(line, "NoNewPrivs:\t1\n");
		uid |= !strcmp(line, want_uid);
		gid |= !strcmp(line, want_gid);
		groups |= !strcmp(line, "Groups:\t\n") || !strcmp(line, "Groups:\t \n");
	}
	fclose(f);
	cr_assert(eff && bnd && nnp, "capabilities left (effective %d, bounding %d, no_new_privs %d)",
		  eff, bnd, nnp);
	cr_assert(uid && gid && groups, "not the jobstat user alone (uid %d, gid %d, no groups %d)",
		  uid, gid, groups);
	/* And it still serves, without them. */
	jst_disconnect(test_connect(&d, true, 0, NULL, NULL));
}

/* ---- lost communication ---- */

Test(control, a_gone_producer_shows_lost_communication_until_it_reconnects)
{
	jst_reader *r;
	jst_conn *c;
	jst_handle h[3];
	uint64_t session;
	int fd;
	pid_t pid;

	start_plain(); /* --lost-grace 0.3 */
	pid = test_fork_piped(&fd);
	if (pid == 0) {
		jst_conn *pc = test_connect(&d, true, 0, NULL, NULL);
		uint64_t s = jst_session(pc);

		for (int i = 0; i < 3; i++)
			if (jst_job_create(pc, &(struct jst_job_spec){.initial_state = 4}, &h[i],
					   NULL) != 0)
				_exit(2);
		jst_job_complete(pc, h[2]);
		if (write(fd, &s, sizeof(s)) != sizeof(s) || write(fd, h, sizeof(h)) != sizeof(h))
			_exit(3);
		_exit(0); /* gone without a word */
	}
	cr_assert_eq(read(fd, &session, sizeof(session)), sizeof(session));
	cr_assert_eq(read(fd, h, sizeof(h)), sizeof(h));
	waitpid(pid, NULL, 0);
	close(fd);
	r = test_attach(&d);
	cr_assert_eq(test_read(r, h[0]).operational_status[0], JST_OPS_OK, "not before the grace");
	usleep(700 * 1000);
	for (int i = 0; i < 2; i++) {
		struct jst_status st = test_read(r, h[i]);

		cr_assert_eq(st.n_operational_status, 1);
		cr_assert_eq(st.operational_status[0], JST_OPS_LOST_COMMUNICATION);
		cr_assert_eq(st.job_state, JST_JOB_RUNNING, "its state is what it was");
	}
	cr_assert_eq(test_read(r, h[2]).operational_status[0], JST_OPS_COMPLETED,
		     "a finished job has nothing to lose");

	/* The producer comes back with its session and has its jobs again. */
	c = test_connect(&d, true, session, NULL, NULL);
	cr_assert_eq(jst_session(c), session);
	cr_assert_eq(test_read(r, h[0]).operational_status[0], JST_OPS_OK, "restored");
	cr_assert_eq(jst_job_complete(c, h[1]), 0);
	usleep(700 * 1000);
	cr_assert_eq(test_read(r, h[0]).operational_status[0], JST_OPS_OK,
		     "connected again: no new loss");
	jst_detach(r);
	jst_disconnect(c);
}

/* ---- bad input on the socket ---- */

static int raw_connect(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);

	strcpy(sa.sun_path, d.sock);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Send @n bytes; return the reply's code (detail into @detail), or 1 for a closed connection. */
static int raw_ask(int fd, const void *msg, size_t n, char *detail, size_t dn)
{
	static uint8_t buf[JST_MSG_MAX];
	struct pollfd p = {.fd = fd, .events = POLLIN};
	struct jst_rbuf r;
	ssize_t got;
	int rc;

	cr_assert_eq(send(fd, msg, n, MSG_NOSIGNAL), (ssize_t)n);
	cr_assert_eq(poll(&p, 1, 5000), 1, "the daemon answers or hangs up, it does not stall");
	got = recv(fd, buf, sizeof(buf), 0);
	if (got <= 0)
		return 1;
	jst_rbuf_init(&r, buf, (size_t)got);
	rc = (int32_t)jst_rd_u32(&r);
	if (rc < 0 && detail) {
		const char *s = jst_rd_str(&r);

		snprintf(detail, dn, "%s", s ? s : "");
	}
	return rc;
}

static size_t hello_msg(struct jst_wbuf *w)
{
	jst_enc_hello(w, 1, &(struct jst_msg_hello){.flags = JST_HELLO_PRODUCER});
	jst_wire_finish(w);
	return w->len;
}

Test(control, bad_messages_get_named_errors_and_disturb_no_one)
{
	static struct jst_wbuf w;
	static uint8_t big[JST_MSG_MAX + 100];
	struct jst_msg_hdr *hdr = (struct jst_msg_hdr *)w.buf;
	char detail[256];
	jst_conn *good;
	jst_reader *r;
	jst_handle h;
	struct jst_status before;
	int fd, rc;

	start_plain();
	good = test_connect(&d, true, 0, NULL, NULL);
	r = test_attach(&d);
	cr_assert_eq(jst_job_create(good, &(struct jst_job_spec){.initial_state = 4}, &h, NULL), 0);
	cr_assert_eq(jst_job_set_progress(good, h, 42), 0);
	before = test_read(r, h);

	fd = raw_connect();
	/* Before HELLO, nothing else is heard. */
	jst_enc_remove(&w, 2, &(struct jst_msg_remove){.handle = h, .flags = JST_REMOVE_NOW});
	jst_wire_finish(&w);
	rc = raw_ask(fd, w.buf, w.len, detail, sizeof(detail));
	cr_assert_eq(rc, JST_EPROTO);
	cr_assert_not_null(strstr(detail, "first message must be HELLO"), "%s", detail);
	cr_assert_eq(raw_ask(fd, w.buf, hello_msg(&w), NULL, 0), 0);
	/* Another protocol version. */
	hello_msg(&w);
	hdr->version = 7;
	rc = raw_ask(fd, w.buf, w.len, detail, sizeof(detail));
	cr_assert_eq(rc, JST_EPROTOVERSION);
	cr_assert_not_null(strstr(detail, "version 1, not 7"), "%s", detail);
	/* An unknown message type. */
	jst_wire_begin(&w, 77, 3);
	jst_wire_finish(&w);
	cr_assert_eq(raw_ask(fd, w.buf, w.len, detail, sizeof(detail)), JST_EPROTO);
	cr_assert_not_null(strstr(detail, "unknown message type 77"), "%s", detail);
	/* A length field that disagrees with the packet. */
	jst_enc_remove(&w, 4, &(struct jst_msg_remove){.handle = h});
	jst_wire_finish(&w);
	hdr->len += 4;
	cr_assert_eq(raw_ask(fd, w.buf, w.len, detail, sizeof(detail)), JST_EPROTO);
	cr_assert_not_null(strstr(detail, "header says"), "%s", detail);
	/* A truncated body, a string without its NUL, trailing bytes. */
	jst_enc_remove(&w, 5, &(struct jst_msg_remove){.handle = h, .flags = JST_REMOVE_NOW});
	w.len -= 2;
	jst_wire_finish(&w);
	cr_assert_eq(raw_ask(fd, w.buf, w.len, detail, sizeof(detail)), JST_EPROTO);
	jst_enc_request(&w, 6, &(struct jst_msg_request){.instance_id = "acme:x",
							  .requested_state = 4});
	jst_wire_finish(&w);
	w.buf[JST_MSG_HDR_SIZE + 4 + 6] = 'X'; /* the NUL after "acme:x" */
	cr_assert_eq(raw_ask(fd, w.buf, w.len, detail, sizeof(detail)), JST_EPROTO);
	jst_enc_remove(&w, 7, &(struct jst_msg_remove){.handle = h, .flags = JST_REMOVE_NOW});
	jst_wire_u32(&w, 0);
	jst_wire_finish(&w);
	cr_assert_eq(raw_ask(fd, w.buf, w.len, detail, sizeof(detail)), JST_EPROTO);
	/* An UPDATE with too many records, and one whose count lies. */
	jst_wire_begin(&w, JST_MSG_UPDATE, 8);
	jst_wire_u32(&w, JST_BATCH_MAX + 1);
	jst_wire_finish(&w);
	cr_assert_eq(raw_ask(fd, w.buf, w.len, detail, sizeof(detail)), JST_EPROTO);
	jst_wire_begin(&w, JST_MSG_UPDATE, 9);
	jst_wire_u32(&w, 2);
	jst_enc_update_rec(&w, &(struct jst_update){.handle = h, .set = JST_SET_PERCENT,
						    .percent_complete = 1});
	jst_wire_finish(&w);
	cr_assert_eq(raw_ask(fd, w.buf, w.len, detail, sizeof(detail)), JST_EPROTO);
	cr_assert_eq(test_read(r, h).percent_complete, 42, "a malformed batch applies nothing");
	/* Oversized: more than the protocol's limit. */
	memcpy(big, w.buf, JST_MSG_HDR_SIZE);
	((struct jst_msg_hdr *)big)->len = sizeof(big);
	cr_assert_eq(raw_ask(fd, big, sizeof(big), detail, sizeof(detail)), JST_EMSGSIZE);
	cr_assert_not_null(strstr(detail, "65536-byte limit"), "%s", detail);
	/* HELLO twice. */
	cr_assert_eq(raw_ask(fd, w.buf, hello_msg(&w), NULL, 0), JST_EPROTO);
	/* Garbage: the connection is closed. */
	cr_assert_eq(raw_ask(fd, "GET / HTTP/1.0\r\n\r\n", 18, NULL, 0), 1);
	close(fd);
	/* Too short to be a header: closed as well. */
	fd = raw_connect();
	cr_assert_eq(raw_ask(fd, "JS", 2, NULL, 0), 1);
	close(fd);

	/* The job is as it was; the good client and a new one carry on. */
	cr_assert_eq(test_read(r, h).change_seq, before.change_seq);
	cr_assert_eq(jst_job_set_progress(good, h, 43), 0);
	cr_assert_eq(test_read(r, h).percent_complete, 43);
	jst_disconnect(good);
	good = test_connect(&d, false, 0, NULL, NULL);
	jst_disconnect(good);
	jst_detach(r);
}

Test(control, a_client_that_does_not_read_does_not_stall_the_daemon)
{
	static struct jst_wbuf w;
	jst_conn *good;
	jst_reader *r;
	jst_handle h;
	int fd;

	start_plain();
	good = test_connect(&d, true, 0, NULL, NULL);
	r = test_attach(&d);
	cr_assert_eq(jst_job_create(good, NULL, &h, NULL), 0);
	fd = raw_connect();
	fcntl(fd, F_SETFL, O_NONBLOCK);
	hello_msg(&w);
	/* Requests without ever reading a reply, until our own socket is full. */
	for (int i = 0; i < 100000; i++)
		if (send(fd, w.buf, w.len, MSG_NOSIGNAL) < 0)
			break;
	for (int i = 0; i < 100; i++)
		cr_assert_eq(jst_job_set_progress(good, h, (uint16_t)i), 0, "%s",
			     jst_conn_error(good));
	cr_assert_eq(test_read(r, h).percent_complete, 99);
	close(fd);
	jst_detach(r);
	jst_disconnect(good);
}

Test(control, connections_past_max_clients_are_refused_by_name)
{
	struct jst_connect_options o = {0};
	jst_conn *a, *b, *x = NULL;

	d.args[0] = "--max-clients";
	d.args[1] = "2";
	test_daemon_start(&d);
	o.socket_path = d.sock;
	o.reconnect_timeout_ns = -1;
	cr_assert_eq(jst_connect(&o, &a), 0);
	cr_assert_eq(jst_connect(&o, &b), 0);
	{
		int rc = jst_connect(&o, &x);

		cr_assert_eq(rc, JST_ELIMIT, "the third of two: %s", jst_errname(rc));
	}
	jst_disconnect(a); /* a place frees up */
	usleep(100 * 1000);
	cr_assert_eq(jst_connect(&o, &x), 0, "and is taken");
	jst_disconnect(b);
	jst_disconnect(x);
}

Test(control, a_bad_configuration_file_is_named)
{
	char cfg[128], err[4096] = "";
	FILE *f;
	int status;

	snprintf(cfg, sizeof(cfg), "%s/bad.conf", d.rundir);
	f = fopen(cfg, "w");
	cr_assert_not_null(f);
	fputs("lost-grace = 2\n\nfrobnicate = 1\n", f);
	fclose(f);
	d.args[0] = "--config";
	d.args[1] = cfg;
	{
		const char *argv[] = {"jobstatd", "-f", "-n", d.ns, "--runtime-dir", d.rundir,
				      "--config", cfg, NULL};
		int fd;
		pid_t pid = test_fork_piped(&fd);

		if (pid == 0) {
			dup2(fd, 2);
			execv(JST_BUILD_DIR "/jobstatd", (char *const *)argv);
			_exit(127);
		}
		cr_assert_eq(waitpid(pid, &status, 0), pid);
		d.err_fd = fd;
	}
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 2, "%#x", status);
	test_daemon_stderr(&d, err, sizeof(err));
	cr_assert_not_null(strstr(err, "bad.conf:3: unknown setting \"frobnicate\""), "%s", err);
	unlink(cfg);
}
