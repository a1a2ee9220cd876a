/* SPDX-License-Identifier: MIT */
/*
 * pidfile.c - the namespace's pidfile: opened without following a link and
 * without blocking, refused unless it is a regular file, locked for the
 * daemon's life, and then holding its pid. The directory around it is
 * checked first (jst_rundir_check()), so nobody else can have put anything
 * here; these checks stand even so.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pidfile.h"

int jst_pidfile_open(const char *path, uid_t also_uid, struct jst_pidfile *pf, char *why,
		     size_t n)
{
	const int flags = O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
	struct stat sb;
	char buf[32];
	ssize_t got;
	bool created;
	int fd;

	for (int tries = 0;; tries++) {
		fd = open(path, flags | O_EXCL, 0644);
		created = fd >= 0;
		if (fd < 0 && errno == EEXIST) /* there before (a link: O_NOFOLLOW refuses it) */
			fd = open(path, flags, 0644);
		if (fd < 0) {
			snprintf(why, n, "cannot open pidfile %s: %s%s", path, strerror(errno),
				 errno == ELOOP ? " (it is a symbolic link)" : "");
			return -1;
		}
		if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
			snprintf(why, n, "pidfile %s is not a regular file", path);
			close(fd);
			return -1;
		}
		if (sb.st_nlink == 1 && (sb.st_uid == geteuid() || sb.st_uid == also_uid))
			break;
		close(fd);
		/* Another file linked in, or someone else's: not ours to write. */
		if (tries || unlink(path) < 0) {
			snprintf(why, n, "pidfile %s is not a single-linked file of ours", path);
			return -1;
		}
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		got = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[got > 0 ? got : 0] = '\0';
		snprintf(why, n, "already served by pid %ld (pidfile %s)", strtol(buf, NULL, 10),
			 path);
		close(fd);
		return 1;
	}
	pf->fd = fd;
	pf->dev = sb.st_dev;
	pf->ino = sb.st_ino;
	pf->created = created;
	snprintf(pf->path, sizeof(pf->path), "%s", path);
	return 0;
}

int jst_pidfile_write(struct jst_pidfile *pf)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	if (ftruncate(pf->fd, 0) < 0 || pwrite(pf->fd, buf, (size_t)len, 0) != len)
		return -1;
	return 0;
}

bool jst_pidfile_present(const struct jst_pidfile *pf)
{
	struct stat sb;

	return stat(pf->path, &sb) == 0 && sb.st_dev == pf->dev && sb.st_ino == pf->ino;
}

void jst_pidfile_close(struct jst_pidfile *pf, bool remove)
{
	if (pf->fd < 0)
		return;
	if (remove && jst_pidfile_present(pf))
		unlink(pf->path);
	close(pf->fd);
	pf->fd = -1;
}
