/* SPDX-License-Identifier: MIT */
/*
 * geterror.c - GetError in the three flavours the seeds define (CIM,
 * Hyper-V, Delivery Optimization): when a job has an error to give, which
 * one, and the return codes each API uses. Reads only: no syscall.
 */
#include <string.h>

#include "jobstat.h"
#include "read-internal.h"

#define HR_E_ACCESSDENIED 0x80070005u
#define HR_E_INVALIDARG   0x80070057u
#define HR_E_OUTOFMEMORY  0x8007000eu
#define HR_E_NOTIMPL      0x80004001u
#define HR_E_FAIL         0x80004005u
#define HR_ERROR_TIMEOUT  0x800705b4u
#define HR_ERROR_BUSY     0x800700aau

static bool op_status_ok(const struct jst_status *st)
{
	for (unsigned i = 0; i < st->n_operational_status && i < JST_OPSTATUS_MAX; i++)
		if (st->operational_status[i] == JST_OPS_OK)
			return true;
	return false;
}

/* Whether @flavour gives an error for a job in @st. */
static bool has_error(const struct jst_status *st, unsigned flavour)
{
	if (st->n_errors == 0)
		return false;
	if (flavour == JST_FLAVOUR_DO)
		return st->transfer_state && (st->flags & JST_STATUS_DO_ERROR);
	return !op_status_ok(st);
}

int jst_get_error(jst_reader *r, jst_handle h, unsigned flavour, struct jst_error *ret_error)
{
	if (!r || !ret_error || flavour > JST_FLAVOUR_DO)
		return JST_EINVAL;
	for (unsigned i = 0; i < JST_READ_RETRIES; i++) {
		struct jst_status st;
		int rc = jst_status(r, h, &st);

		if (rc < 0)
			return rc;
		if (!has_error(&st, flavour))
			return JST_ENOERROR;
		rc = jst_error_read(r, h, st.n_errors - 1u, ret_error);
		if (rc == JST_ENOERROR)
			continue; /* the job changed between the two reads */
		if (rc < 0)
			return rc;
		/* The latest one of the status we judged by, not one reported since. */
		if (ret_error->sequence == st.errors_total)
			return 0;
	}
	return JST_EAGAIN;
}

int jst_get_errors(jst_reader *r, jst_handle h, unsigned flavour, struct jst_error *ret_errors,
		   size_t max, size_t *ret_n)
{
	if (!r || !ret_n || (max && !ret_errors) || flavour > JST_FLAVOUR_DO)
		return JST_EINVAL;
	if (flavour == JST_FLAVOUR_DO)
		return JST_ENOTSUP;
	for (unsigned i = 0; i < JST_READ_RETRIES; i++) {
		struct jst_status st;
		unsigned n, k;
		int rc = jst_status(r, h, &st);

		if (rc < 0)
			return rc;
		if (!has_error(&st, flavour)) {
			*ret_n = 0;
			return JST_ENOERROR;
		}
		n = st.n_errors < max ? st.n_errors : (unsigned)max;
		/* The newest n of them, oldest first, with consecutive sequence numbers. */
		for (k = 0; k < n; k++) {
			unsigned idx = st.n_errors - n + k;

			rc = jst_error_read(r, h, idx, &ret_errors[k]);
			if (rc < 0 && rc != JST_ENOERROR)
				return rc;
			if (rc < 0 || ret_errors[k].sequence != st.errors_total - (n - 1 - k))
				break; /* another error came in meanwhile: read the set again */
		}
		if (k == n) {
			*ret_n = n;
			return 0;
		}
	}
	return JST_EAGAIN;
}

uint32_t jst_method_code(int rc, unsigned flavour)
{
	static const struct {
		int rc;
		uint32_t cim, hyperv, dox;
	} map[] = {
		{JST_OK, 0, 0, JST_DO_S_OK},
		{JST_ENOERROR, 0, 0, JST_DO_E_ERROR_INFORMATION_UNAVAILABLE},
		{JST_EPERM, 6, 32769, HR_E_ACCESSDENIED},
		{JST_EACCES, 6, 32769, HR_E_ACCESSDENIED},
		{JST_ENOJOB, 5, 32773, JST_DO_E_JOB_NOT_FOUND},
		{JST_ESTALE, 5, 32773, JST_DO_E_JOB_NOT_FOUND},
		{JST_EINVAL, 5, 32773, HR_E_INVALIDARG},
		{JST_EINSTANCEID, 5, 32773, HR_E_INVALIDARG},
		{JST_ETOOLONG, 5, 32773, HR_E_INVALIDARG},
		{JST_EUTF8, 5, 32776, HR_E_INVALIDARG},
		{JST_ETRANSITION, 4, 32775, JST_DO_E_INVALID_STATE},
		{JST_ENOTFINISHED, 4, 32775, JST_DO_E_INVALID_STATE},
		{JST_ETIMEDOUT, 3, 32772, HR_ERROR_TIMEOUT},
		{JST_ENOTSUP, 1, 32770, HR_E_NOTIMPL},
		{JST_ENOMEM, 4, 32778, HR_E_OUTOFMEMORY},
		{JST_ENOSPC, 4, 32778, HR_E_OUTOFMEMORY},
		{JST_EPENDING, 4, 32774, HR_ERROR_BUSY},
		{JST_EBUSY, 4, 32774, HR_ERROR_BUSY},
		{JST_ENODAEMON, 4, 32777, JST_DO_E_NO_SERVICE},
		{JST_EDISCONNECTED, 4, 32777, JST_DO_E_NO_SERVICE},
		{JST_ENOPRODUCER, 4, 32777, JST_DO_E_NO_SERVICE},
		{JST_ENOENT, 4, 32777, JST_DO_E_NO_SERVICE},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (map[i].rc != rc)
			continue;
		return flavour == JST_FLAVOUR_CIM ? map[i].cim
		       : flavour == JST_FLAVOUR_HYPERV ? map[i].hyperv : map[i].dox;
	}
	/* Anything else (a damaged segment, retries exhausted) is a plain failure. */
	return flavour == JST_FLAVOUR_CIM ? 2 : flavour == JST_FLAVOUR_HYPERV ? 32768 : HR_E_FAIL;
}
