/* SPDX-License-Identifier: MIT */
/*
 * pidfile.h - jobstatd's pidfile (pidfile.c): the namespace's lock in its
 * runtime directory, beside the segment's own lock.
 */
#ifndef JOBSTAT_PIDFILE_H
#define JOBSTAT_PIDFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct jst_pidfile {
	int fd;                  /* holds the flock; -1 when closed */
	dev_t dev;               /* the file we locked, to notice it vanish */
	ino_t ino;
	bool created;            /* this open made the file: it was not there before */
	char path[4096];
};

/*
 * jst_pidfile_open() - open and lock @path (never through a link, never
 * blocking on a FIFO), trusting only a regular file with one link owned by us
 * or by @also_uid (the service user, who keeps the runtime directory): a
 * hard link to another file there would have us truncate that file. An
 * untrusted one is removed and made anew. @pf->created says whether the file
 * was there before, so that a start that fails can leave things as it found them.
 * Return: 0; 1 when another process holds it (@why names its pid); -1 on
 * anything else (@why says what).
 */
int jst_pidfile_open(const char *path, uid_t also_uid, struct jst_pidfile *pf, char *why,
		     size_t n);

/* jst_pidfile_write() - write our pid into it. Return: 0; -1. */
int jst_pidfile_write(struct jst_pidfile *pf);

/* jst_pidfile_present() - is the file we locked still at its path? */
bool jst_pidfile_present(const struct jst_pidfile *pf);

/* jst_pidfile_close() - release it, and remove it when @remove and it is still ours. */
void jst_pidfile_close(struct jst_pidfile *pf, bool remove);

#endif /* JOBSTAT_PIDFILE_H */
