/* SPDX-License-Identifier: MIT */
/*
 * shm-atomic.h - the segment's layout with the atomics and barriers of its
 * publication protocol (liburcu's uatomic_* and cmm_*), for the project's own
 * writer and readers. Internal: not installed, so the installed
 * <jobstat/jobstat-shm.h> needs no liburcu headers to describe the bytes.
 */
#ifndef JOBSTAT_SHM_ATOMIC_H
#define JOBSTAT_SHM_ATOMIC_H

#include <urcu/arch.h>
#include <urcu/system.h>
#include <urcu/uatomic.h>

#include "jobstat-shm.h"

#endif /* JOBSTAT_SHM_ATOMIC_H */
