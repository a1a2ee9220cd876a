/* SPDX-License-Identifier: MIT */
/*
 * benchutil.h - what every benchmark here measures with: the clock, pinning,
 * and medians and 99th percentiles of samples.
 */
#ifndef JOBSTAT_BENCHUTIL_H
#define JOBSTAT_BENCHUTIL_H

#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

/* Keep the compiler from dropping work whose result is otherwise unused. */
#define KEEP(p) __asm__ volatile("" : : "r"(p) : "memory")

/* CLOCK_MONOTONIC through the vDSO, in nanoseconds. */
static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct dist {
	double median, p99;
};

/* Sorts @v. */
static inline struct dist summarize(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return (struct dist){v[n / 2], v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1]};
}

#endif /* JOBSTAT_BENCHUTIL_H */
