/* SPDX-License-Identifier: MIT */
/*
 * testutil.h - helpers shared by the Criterion suites: unique segment names
 * and a ready-made publisher.
 */
#ifndef JOBSTAT_TESTUTIL_H
#define JOBSTAT_TESTUTIL_H

#include <stdio.h>
#include <unistd.h>

#include "jobstat.h"
#include "publish.h"

/* A namespace no other test (or test run) uses. */
static inline void test_ns(char *buf, size_t n, const char *what)
{
	static unsigned counter;

	snprintf(buf, n, "test-%s-%ld-%u", what, (long)getpid(), counter++);
}

#endif /* JOBSTAT_TESTUTIL_H */
