/* SPDX-License-Identifier: MIT */
/*
 * test_hardening.c - the attacks a hostile review of 0.2's own defences
 * found, each played as the attacker (a second uid, the service user, or a
 * reader), each failing before its fix: root changing files by path in the
 * service user's directory, the job quota dodged with the resend flag, a
 * reader's lock keeping the daemon from restarting, a freed session taken
 * by another uid, a directory squatting the segment's name, a request that
 * pins a job against the administrator, a full backlog hanging connect, and
 * another user squatting a producer's InstanceIDs.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include "jobstat-proto.h"
#include "testdaemon.h"

#define HOG    65534
#define OTHER  65533

static struct test_daemon d;

static void setup(void)
{
	test_daemon_init(&d, "hard");
}

static void teardown(void)
{
	test_daemon_cleanup(&d);
}

TestSuite(hardening, .init = setup, .fini = teardown, .timeout = 90);

static void become(uid_t uid)
{
	gid_t g = 65534;

	if (setgroups(1, &g) < 0 || setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)
		_exit(90);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Run jobstatd (root, -g 65534, d's namespace and directory) under strace -f
 * tracing @syscalls into @trace, wait until it serves a client, stop it with
 * SIGTERM (sent to the daemon, not to strace); its stderr in @err.
 */
static void traced_daemon(const char *syscalls, const char *trace, char *err, size_t en)
{
	const char *argv[] = {"strace", "-f", "-qq", "-o", trace, "-e", syscalls,
			      JST_BUILD_DIR "/jobstatd", "-f", "-n", d.ns, "-c", "64",
			      "--runtime-dir", d.rundir, "-g", "65534", NULL};
	char pidpath[192], line[64];
	struct stat sb;
	int fd;
	FILE *f;
	pid_t pid = test_fork_piped(&fd);

	if (pid == 0) {
		dup2(fd, 2);
		execv("/usr/bin/strace", (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 500 && stat(d.sock, &sb) != 0; i++)
		usleep(10000);
	jst_disconnect(test_connect(&d, false, 0, NULL, NULL));
	snprintf(pidpath, sizeof(pidpath), "%s/%s.pid", d.rundir, d.ns);
	f = fopen(pidpath, "r");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(line, sizeof(line), f));
	fclose(f);
	kill((pid_t)atol(line), SIGTERM);
	waitpid(pid, NULL, 0);
	d.err_fd = fd;
	test_daemon_stderr(&d, err, en);
	close(fd);
	d.err_fd = -1;
}

/*
 * The service user keeps the runtime directory. 0.1.0's successor chmod-ed
 * and chown-ed the socket by path there as root, so the service user could
 * swap a link in and have root change any file; and it truncated a pidfile
 * the service user had hard-linked to another file. Now root does neither:
 * strace sees no chmod or chown at all, and the linked file is untouched.
 */
Test(hardening, root_changes_nothing_by_path_in_the_service_users_directory)
{
	struct passwd *pw = getpwnam("jobstat");
	char trace[128], victim[128], pidpath[192], line[512], err[2048] = "";
	struct stat sb;
	FILE *f;
	int fd, n = 0;

	if (geteuid() != 0 || !pw)
		cr_skip_test("needs root and the jobstat user");
	if (access("/usr/bin/strace", X_OK) != 0)
		cr_skip_test("no strace");
	/* A first start gives the directory to the service user, as in production. */
	d.args[0] = "-g";
	d.args[1] = "65534";
	test_daemon_start(&d);
	test_daemon_signal(&d, SIGTERM);
	cr_assert_eq(stat(d.rundir, &sb), 0);
	cr_assert_eq(sb.st_uid, pw->pw_uid, "the service user keeps its runtime directory");
	/* The service user plants a hard link to a file of its own as the next pidfile. */
	snprintf(victim, sizeof(victim), "%s/precious", d.rundir);
	snprintf(pidpath, sizeof(pidpath), "%s/%s.pid", d.rundir, d.ns);
	unlink(pidpath);
	fd = open(victim, O_WRONLY | O_CREAT, 0644);
	cr_assert_eq(write(fd, "precious\n", 9), 9);
	close(fd);
	cr_assert_eq(chown(victim, pw->pw_uid, pw->pw_gid), 0);
	cr_assert_eq(link(victim, pidpath), 0);
	snprintf(trace, sizeof(trace), "%s/strace.out", d.rundir);
	traced_daemon("trace=chmod,fchmodat,chown,fchownat,lchown,truncate", trace, err,
		      sizeof(err));
	f = fopen(victim, "r");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(line, sizeof(line), f), "the linked file was truncated");
	cr_assert_str_eq(line, "precious\n");
	fclose(f);
	f = fopen(trace, "r");
	cr_assert_not_null(f, "strace wrote nothing: %s", err);
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, d.rundir) && !strstr(line, "+++") && !strstr(line, "---")) {
			cr_log_error("root changed a file by path: %s", line);
			n++;
		}
	}
	fclose(f);
	unlink(trace);
	unlink(victim);
	cr_assert_eq(n, 0);
}

/* A raw producer of uid HOG: CREATE @n jobs with the resend flag; how many were refused. */
static int raw_creates(int n)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	static struct jst_wbuf w;
	static uint8_t buf[JST_MSG_MAX];
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0), refused = 0;

	memcpy(sa.sun_path, d.sock, strlen(d.sock) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	jst_enc_hello(&w, 1, &(struct jst_msg_hello){.flags = JST_HELLO_PRODUCER});
	jst_wire_finish(&w);
	if (send(fd, w.buf, w.len, 0) < 0 || recv(fd, buf, sizeof(buf), 0) <= 0)
		return -2;
	for (int i = 0; i < n; i++) {
		char id[32];
		struct jst_rbuf r;
		ssize_t got;

		snprintf(id, sizeof(id), "hog:retry-%d", i);
		jst_enc_create(&w, (uint32_t)(2 + i), &(struct jst_msg_create){
			.instance_id = id, .flags = JST_CREATE_RETRY});
		jst_wire_finish(&w);
		if (send(fd, w.buf, w.len, 0) < 0)
			return -3;
		got = recv(fd, buf, sizeof(buf), 0);
		if (got < JST_MSG_HDR_SIZE + 4)
			return -4;
		jst_rbuf_init(&r, buf, (size_t)got);
		r.off = JST_MSG_HDR_SIZE;
		if ((int32_t)jst_rd_u32(&r) == JST_EQUOTA)
			refused++;
	}
	close(fd);
	return refused;
}

/* The resend flag is the client's word: it created new jobs past the quota. */
Test(hardening, the_resend_flag_does_not_get_round_the_job_quota)
{
	int status;
	pid_t pid;

	if (geteuid() != 0)
		cr_skip_test("needs root to play another uid");
	d.args[0] = "-g";
	d.args[1] = "65534";
	d.args[2] = "--quota-jobs";
	d.args[3] = "10";
	test_daemon_start(&d);
	pid = fork();
	if (pid == 0) {
		become(HOG);
		_exit(raw_creates(25));
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status));
	cr_assert_eq(WEXITSTATUS(status), 15, "refused %d of 25 (want 15: a quota of 10)",
		     (int)(int8_t)WEXITSTATUS(status));
}

/*
 * Any reader may open the segment and hold a read lock on it. 0.2's first lock
 * was on the segment itself, so that kept every daemon out, --replace too.
 * Now the writer's lock is a 0600 object beside it, and the reader is no bar.
 */
Test(hardening, a_reader_holding_a_lock_on_the_segment_does_not_stop_a_restart)
{
	int fd, status;
	char ok;
	pid_t pid;

	if (geteuid() != 0)
		cr_skip_test("needs root to play another uid");
	test_daemon_start(&d);
	pid = test_fork_piped(&fd);
	if (pid == 0) {
		struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
		int sfd;

		become(OTHER);
		sfd = shm_open(d.shm, O_RDONLY, 0);
		if (sfd < 0 || fcntl(sfd, F_OFD_SETLKW, &fl) < 0 || write(fd, "k", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	/* The daemon holds its lock: the reader waits until it is gone. */
	test_daemon_signal(&d, SIGKILL);
	cr_assert_eq(read(fd, &ok, 1), 1, "the reader did not get its lock");
	test_daemon_start(&d); /* adopts, though the reader holds its lock */
	jst_disconnect(test_connect(&d, false, 0, NULL, NULL));
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	close(fd);
}

/* Session IDs are visible to every reader: a freed one must not be claimable by another uid. */
Test(hardening, a_freed_session_cannot_be_taken_by_another_uid)
{
	uint64_t session;
	jst_conn *c;
	jst_handle h;
	int status;
	pid_t pid;

	if (geteuid() != 0)
		cr_skip_test("needs root to play another uid");
	d.args[0] = "-g";
	d.args[1] = "65534";
	test_daemon_start(&d);
	c = test_connect(&d, true, 0, NULL, NULL);
	session = jst_session(c);
	cr_assert_eq(jst_job_create(c, &(struct jst_job_spec){.instance_id = "sess:1"}, &h, NULL),
		     0);
	cr_assert_eq(jst_job_remove(c, h, JST_REMOVE_NOW, NULL), 0);
	jst_disconnect(c); /* no job, no connection: the session is freed */
	usleep(100000);
	pid = fork();
	if (pid == 0) {
		jst_conn *x;

		become(HOG);
		if (jst_connect(&(struct jst_connect_options){.socket_path = d.sock,
							      .producer = true, .session = session},
				&x) != 0)
			_exit(2);
		_exit(jst_session(x) == session ? 1 : 0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "another uid got the freed session (exit %d)", WEXITSTATUS(status));
	c = test_connect(&d, true, session, NULL, NULL); /* its owner is never refused */
	jst_disconnect(c);
}

/* Another user's non-empty directory at the segment's name: root with --replace moves it aside. */
Test(hardening, a_squatting_directory_is_moved_aside_by_root_with_replace)
{
	char path[128], file[160], cmd[300];
	struct stat sb;
	int status;
	pid_t pid;

	if (geteuid() != 0)
		cr_skip_test("needs root to play another uid");
	snprintf(path, sizeof(path), "/dev/shm%s", d.shm);
	pid = fork();
	if (pid == 0) {
		become(HOG);
		snprintf(file, sizeof(file), "%s/x", path);
		_exit(mkdir(path, 0755) < 0 || creat(file, 0644) < 0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	d.args[0] = "--replace";
	test_daemon_start(&d);
	cr_assert_eq(lstat(path, &sb), 0);
	cr_assert(S_ISREG(sb.st_mode), "the segment is served where the directory was");
	snprintf(cmd, sizeof(cmd), "rm -rf %s.squatted.*", path);
	cr_assert_eq(system(cmd), 0);
}

/* A request that never lets go (the owner's producer does not answer). */
static uint32_t never(jst_conn *c, const struct jst_request *rq, void *arg)
{
	(void)c;
	(void)rq;
	(void)arg;
	pause();
	return 0;
}

/*
 * An owner sent itself a request with an endless TimeoutPeriod and never
 * answered it: every later request, root's Terminate included, got 4099
 * Busy. Now the period is capped, and an administrator's Terminate
 * supersedes what is pending.
 */
Test(hardening, an_owner_cannot_pin_its_job_against_the_administrator)
{
	uint32_t code = 0;
	jst_conn *c;
	jst_handle h;
	int fd;
	pid_t pin;

	if (geteuid() != 0)
		cr_skip_test("needs root to play another uid");
	d.args[0] = "-g";
	d.args[1] = "65534";
	test_daemon_start(&d);
	c = test_connect(&d, false, 0, NULL, NULL);
	pin = test_fork_piped(&fd);
	if (pin == 0) {
		jst_conn *x;
		jst_handle j;
		uint32_t got;

		become(HOG);
		if (jst_connect(&(struct jst_connect_options){.socket_path = d.sock,
							      .producer = true, .on_request = never},
				&x) != 0 ||
		    jst_job_create(x, &(struct jst_job_spec){.instance_id = "pin:job",
							    .initial_state = JST_JOB_RUNNING},
				   &j, NULL) != 0)
			_exit(2);
		if (jst_request_state_change(x, "pin:job", JST_REQ_SUSPEND, UINT64_C(1) << 62,
					     &got) != JST_EINVAL)
			_exit(3); /* the endless period is refused */
		if (write(fd, "k", 1) != 1)
			_exit(4);
		jst_conn_set_timeout(x, -1);
		jst_request_state_change(x, "pin:job", JST_REQ_SUSPEND, 3000ull * 1000000000, &got);
		_exit(0);
	}
	{
		char k;

		cr_assert_eq(read(fd, &k, 1), 1, "the pinning producer failed early");
	}
	usleep(300000); /* its request is pending now */
	cr_assert_eq(jst_request_state_change(c, "pin:job", JST_REQ_TERMINATE, 0, &code), 0,
		     "%s", jst_conn_error(c));
	cr_assert_eq(code, JST_RSC_COMPLETED);
	{
		jst_reader *r = test_attach(&d);

		cr_assert_eq(jst_lookup(r, "pin:job", &h), 0);
		cr_assert_eq(test_read(r, h).job_state, JST_JOB_TERMINATED);
		jst_detach(r);
	}
	kill(pin, SIGKILL);
	waitpid(pin, NULL, 0);
	close(fd);
	jst_disconnect(c);
}

/* A stopped daemon whose backlog is full: connect() blocked for ever; now the deadline holds. */
Test(hardening, a_full_backlog_does_not_hang_connect)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fds[300], n = 0, rc;
	jst_conn *c;
	uint64_t t0;

	test_daemon_start(&d);
	memcpy(sa.sun_path, d.sock, strlen(d.sock) + 1);
	kill(d.pid, SIGSTOP);
	for (n = 0; n < 300; n++) {
		fds[n] = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0);
		if (connect(fds[n], (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			close(fds[n]);
			break; /* EAGAIN: the backlog is full */
		}
	}
	cr_assert_lt(n, 300, "the backlog never filled");
	t0 = mono_ms();
	rc = jst_connect(&(struct jst_connect_options){.socket_path = d.sock,
						       .reconnect_timeout_ns = -1},
			 &c);
	cr_assert_eq(rc, JST_ETIMEDOUT, "%s (%s)", jst_strerror(rc), jst_last_error());
	cr_assert_lt(mono_ms() - t0, 15000, "took %llu ms", (unsigned long long)(mono_ms() - t0));
	kill(d.pid, SIGCONT);
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

/*
 * Any uid may create any InstanceID, so another user could create
 * "Contoso:backup-17" before Contoso's producer does, and a monitor looking it
 * up would read the squatter's job. --reserve-org binds an OrgID to a uid:
 * the squatter is refused (JST_EPERM, naming the owner), the owner and root
 * are not, other OrgIDs are untouched, and SIGHUP reloads the list.
 */
static int create_as(uid_t uid, const char *id)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		jst_conn *x;
		jst_handle h;
		int rc;

		if (uid)
			become(uid);
		if (jst_connect(&(struct jst_connect_options){.socket_path = d.sock,
							      .producer = true},
				&x) != 0)
			_exit(100);
		rc = jst_job_create(x, &(struct jst_job_spec){.instance_id = id}, &h, NULL);
		if (rc == JST_EPERM && !strstr(jst_conn_error(x), "reserved for uid 65533"))
			_exit(101); /* refused, but without saying whose the OrgID is */
		jst_disconnect(x);
		_exit(rc == 0 ? 0 : rc == JST_EPERM ? 1 : 102);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

Test(hardening, an_orgid_reserved_for_a_user_cannot_be_squatted)
{
	int rc;
	FILE *f;

	if (geteuid() != 0)
		cr_skip_test("needs root to play other uids");
	test_daemon_start_config(&d, "reserve-org = Contoso:65533\n");
	rc = create_as(HOG, "Contoso:backup-17");
	cr_assert_eq(rc, 1, "the squatter must get JST_EPERM naming the owner (%d)", rc);
	cr_assert_eq(create_as(HOG, "Fabrikam:backup-17"), 0, "other OrgIDs are free");
	cr_assert_eq(create_as(HOG, "Contoso-x:1"), 0, "the OrgID is matched whole");
	cr_assert_eq(create_as(OTHER, "Contoso:backup-17"), 0, "its owner creates it");
	cr_assert_eq(create_as(0, "Contoso:backup-18"), 0, "root may");
	/* Reloaded: the reservation lifted, the same create goes through. */
	f = fopen(d.conf, "w");
	cr_assert_not_null(f);
	fclose(f);
	kill(d.pid, SIGHUP);
	for (int i = 0; i < 100 && create_as(HOG, "Contoso:backup-19") == 1; i++)
		usleep(20000);
	cr_assert_eq(create_as(HOG, "Contoso:backup-20"), 0, "SIGHUP reloads reserve-org");
}

/*
 * A segment left by the last daemon is bytes the service user could have
 * written (that daemon ran as it). The root-started daemon used to parse them
 * as root; now it becomes the service user first: in its system calls, the
 * drop (setresuid) comes before the first read of the segment's header.
 */
Test(hardening, root_reads_an_adopted_segment_only_as_the_service_user)
{
	struct passwd *pw = getpwnam("jobstat");
	char trace[128], line[512], want[64], err[4096] = "";
	long dropped_at = -1, read_at = -1, n = 0;
	FILE *f;

	if (geteuid() != 0 || !pw)
		cr_skip_test("needs root and the jobstat user");
	if (access("/usr/bin/strace", X_OK) != 0)
		cr_skip_test("no strace");
	d.args[0] = "-g";
	d.args[1] = "65534";
	test_daemon_start(&d); /* makes the segment; a clean stop leaves it to adopt */
	test_daemon_signal(&d, SIGTERM);
	snprintf(trace, sizeof(trace), "%s/strace.out", d.rundir);
	traced_daemon("trace=setresuid,pread64", trace, err, sizeof(err));
	cr_assert_not_null(strstr(err, "adopted"), "it must have adopted the segment: %s", err);
	snprintf(want, sizeof(want), "setresuid(%ld, %ld, %ld)", (long)pw->pw_uid,
		 (long)pw->pw_uid, (long)pw->pw_uid);
	f = fopen(trace, "r");
	cr_assert_not_null(f, "strace wrote nothing: %s", err);
	while (fgets(line, sizeof(line), f)) {
		n++;
		if (dropped_at < 0 && strstr(line, want))
			dropped_at = n;
		/* The header read: pread(fd, &h, sizeof(struct jst_shm_header), 0). */
		if (read_at < 0 && strstr(line, "pread64(") && strstr(line, ", 4096, 0)"))
			read_at = n;
	}
	fclose(f);
	unlink(trace);
	cr_assert_gt(read_at, 0, "no header read seen");
	cr_assert_gt(dropped_at, 0, "never became the service user");
	cr_assert_lt(dropped_at, read_at, "the segment was read as root (line %ld) before the drop "
					  "(line %ld)", read_at, dropped_at);
}

/* A segment in a fresh namespace that jobstatd cannot adopt: its magic is gone. */
static void plant_unadoptable_segment(struct test_seg *seg)
{
	char path[sizeof(seg->shm) + 16];
	int fd;

	test_seg_create(seg, "janitor", NULL);
	jst_pub_close(seg->pub, false); /* no writer holds it */
	seg->pub = NULL;
	snprintf(path, sizeof(path), "/dev/shm%s", seg->shm);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, "\0\0\0\0\0\0\0\0", 8, 0), 8);
	close(fd);
}

/* Remove @ns's segment and its lock object, whoever made them. */
static void remove_segment(const char *ns)
{
	char shm[JST_SHM_NAME_MAX], lock[JST_SHM_NAME_MAX + 8];

	cr_assert_eq(jst_shm_name(ns, shm, sizeof(shm)), 0);
	snprintf(lock, sizeof(lock), "%s.lock", shm);
	shm_unlink(shm);
	shm_unlink(lock);
}

/*
 * Start jobstatd as root (serving as the jobstat user) in namespace @ns with
 * runtime directory @dir, under @wrap (a command and its arguments, NULL-ended)
 * or directly when @wrap is NULL; wait for it to end. Its wait status; its
 * stderr in @err.
 */
static int start_as_root(const char *const *wrap, const char *ns, const char *dir, char *err,
			 size_t en)
{
	const char *argv[32];
	unsigned n = 0;
	int status, fd;
	pid_t pid;

	for (; wrap && wrap[n]; n++)
		argv[n] = wrap[n];
	argv[n++] = JST_BUILD_DIR "/jobstatd";
	argv[n++] = "-f";
	argv[n++] = "-n";
	argv[n++] = ns;
	argv[n++] = "-c";
	argv[n++] = "64";
	argv[n++] = "--runtime-dir";
	argv[n++] = dir;
	argv[n] = NULL;
	pid = test_fork_piped(&fd);
	if (pid == 0) {
		dup2(fd, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	test_daemon_stderr(&(struct test_daemon){.err_fd = fd}, err, en);
	close(fd);
	return status;
}

/* Wait for @path to be gone: the janitor removes it once jobstatd has ended. */
static bool gone(const char *path)
{
	for (int i = 0; i < 200 && access(path, F_OK) == 0; i++)
		usleep(10000);
	return access(path, F_OK) != 0;
}

/*
 * A root-started jobstatd that made its runtime directory and then failed
 * after becoming the service user (here: adopting a segment that turns out
 * not to be one) left the directory behind, the service user's, as it
 * can no longer remove it from root's parent. Now a root child waits for
 * the start to succeed and removes the directory, empty, when it does not.
 */
Test(hardening, a_start_that_fails_after_the_drop_leaves_no_runtime_directory)
{
	struct test_seg seg;
	char dir[128], err[4096] = "";
	int status;

	if (geteuid() != 0 || !getpwnam("jobstat"))
		cr_skip_test("needs root and the jobstat user");
	plant_unadoptable_segment(&seg);
	snprintf(dir, sizeof(dir), "%s/run", d.rundir); /* not there yet: jobstatd makes it */
	status = start_as_root(NULL, seg.ns, dir, err, sizeof(err));
	remove_segment(seg.ns);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %#x: %s", status, err);
	cr_assert_not_null(strstr(err, "cannot adopt"), "it must fail adopting: %s", err);
	cr_assert(gone(dir), "%s was left behind: %s", dir, err);
}

/*
 * Killed after the drop (a segment whose parsing crashes it, say), jobstatd
 * removes nothing itself: the janitor only removed the directory if empty,
 * so the pidfile and the socket it had made kept it there, the service
 * user's. Now the janitor removes those first, by inode, in both starts: one
 * that drops to adopt (its socket still under the temporary name) and one
 * that drops once its new segment serves (the socket in place). strace
 * kills it at capset(), the drop's last step.
 */
Test(hardening, a_start_killed_after_the_drop_leaves_no_runtime_directory)
{
	static const char *const kill_at_drop[] = {"/usr/bin/strace", "-f", "-qq", "-o",
						   "/dev/null", "-e", "trace=capset", "-e",
						   "inject=capset:signal=KILL", NULL};
	struct test_seg seg;
	char dir[128], err[4096], fresh[64];
	int status;

	if (geteuid() != 0 || !getpwnam("jobstat"))
		cr_skip_test("needs root and the jobstat user");
	if (access("/usr/bin/strace", X_OK) != 0)
		cr_skip_test("no strace");
	snprintf(fresh, sizeof(fresh), "t-killed-%ld", (long)getpid()); /* no segment there */
	for (int adopt = 1; adopt >= 0; adopt--) {
		const char *ns = adopt ? seg.ns : fresh;

		if (adopt)
			plant_unadoptable_segment(&seg);
		snprintf(dir, sizeof(dir), "%s/run%d", d.rundir, adopt);
		err[0] = 0;
		status = start_as_root(kill_at_drop, ns, dir, err, sizeof(err));
		remove_segment(ns);
		/* strace ends as its tracee did */
		cr_assert((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ||
			      (WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGKILL),
			  "adopting %d: not killed: status %#x: %s", adopt, status, err);
		cr_assert(gone(dir), "adopting %d: %s was left behind: %s", adopt, dir, err);
	}
}

/*
 * A start that fails leaves what it found: a runtime directory of an earlier
 * daemon's, with the pidfile a killed one left in it. It removed that pidfile
 * as if it had made it. Now the pidfile stays, the same file with the same
 * pid, and nothing this start made (its socket) stays beside it.
 */
Test(hardening, a_failed_start_leaves_the_pidfile_it_found)
{
	struct passwd *pw = getpwnam("jobstat");
	struct test_seg seg;
	char dir[128], pidpath[256], err[4096] = "", line[32] = "";
	struct stat before, after;
	struct dirent *e;
	int status, fd, n = 0;
	DIR *dh;

	if (geteuid() != 0 || !pw)
		cr_skip_test("needs root and the jobstat user");
	plant_unadoptable_segment(&seg);
	snprintf(dir, sizeof(dir), "%s/run", d.rundir);
	snprintf(pidpath, sizeof(pidpath), "%s/%s.pid", dir, seg.ns);
	cr_assert_eq(mkdir(dir, 0755), 0);
	cr_assert_eq(chown(dir, pw->pw_uid, pw->pw_gid), 0);
	fd = open(pidpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "4194000\n", 8), 8);
	cr_assert_eq(fchown(fd, pw->pw_uid, pw->pw_gid), 0);
	close(fd);
	cr_assert_eq(stat(pidpath, &before), 0);
	status = start_as_root(NULL, seg.ns, dir, err, sizeof(err));
	remove_segment(seg.ns);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %#x: %s", status, err);
	cr_assert_not_null(strstr(err, "cannot adopt"), "it must fail adopting: %s", err);
	usleep(100000); /* the janitor, if any, has run */
	cr_assert_eq(stat(pidpath, &after), 0, "the pidfile it found was removed: %s", err);
	cr_assert_eq(after.st_ino, before.st_ino);
	fd = open(pidpath, O_RDONLY | O_CLOEXEC);
	cr_assert_eq(read(fd, line, sizeof(line) - 1), 8);
	close(fd);
	cr_assert_str_eq(line, "4194000\n");
	dh = opendir(dir);
	cr_assert_not_null(dh);
	while ((e = readdir(dh)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			cr_assert_eq(n++, 0, "%s left %s beside the pidfile", dir, e->d_name);
	closedir(dh);
	unlink(pidpath);
	rmdir(dir);
}
