/* SPDX-License-Identifier: MIT */
/*
 * attach-mapping.h - the one libjobstat internal jobstatd calls: a reader over
 * the daemon's own mapping, to serve GET and GET_ERROR over its socket with
 * the readers' code. Kept apart from read-internal.h so that the daemon sees
 * nothing of the reader's state.
 */
#ifndef JOBSTAT_ATTACH_MAPPING_H
#define JOBSTAT_ATTACH_MAPPING_H

#include <stdint.h>

#include "jobstat.h"

/*
 * jst__attach_mapping() - a reader over a mapping the caller owns and keeps
 * (jobstatd's own, for serving reads over its socket). @base must have passed
 * jst_shm_check(); jst_detach() frees the reader but leaves the mapping.
 * Return: 0; JST_ECORRUPT; JST_ENOMEM.
 */
int jst__attach_mapping(const void *base, uint64_t size, jst_reader **ret_reader);

#endif
