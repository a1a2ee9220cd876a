# SPDX-License-Identifier: MIT
"""_native.py - the one place that declares libjobstat's C API to cffi and loads the library.

ABI mode (ffi.dlopen): nothing is compiled at install time, so neither a C compiler nor
python3-dev is needed; the price is that cffi lays the structs out from these
declarations, not from jobstat.h, so tests/test_layout.py compares every offset and
size against the C compiler's. Keep these in step with include/jobstat.h.
"""

import os

from cffi import FFI

CDEFS = r"""
#define JST_ID_MAX 255
#define JST_OPSTATUS_MAX 8
#define JST_ERRORS_KEPT 8
#define JST_ERROR_ARGS_MAX 16
#define JST_JOB_TEXT_MAX 8448
#define JST_ERROR_TEXT_MAX 20480

#define JST_SET_STATE 1
#define JST_SET_PERCENT 2
#define JST_SET_OP_STATUS 4
#define JST_SET_JOB_STATUS 8
#define JST_SET_ERROR_CODE 16
#define JST_SET_ERROR_DESCRIPTION 32
#define JST_SET_TRANSFER_STATE 64
#define JST_REMOVE_NOW 1

const char *jst_strerror(int code);
const char *jst_errname(int code);
const char *jst_version(void);

typedef struct jst_handle {
	uint32_t slot;
	uint32_t gen;
} jst_handle;

struct jst_status {
	uint32_t internal_stamp;
	jst_handle handle;
	uint16_t job_state;
	uint16_t percent_complete;
	uint64_t change_seq;
	uint64_t internal_detail;
	uint16_t operational_status[8];
	uint8_t n_operational_status;
	uint8_t flags;
	uint16_t error_code;
	uint16_t recovery_action;
	uint16_t job_type;
	uint32_t priority;
	uint16_t transfer_state;
	uint16_t n_errors;
	uint64_t time_submitted;
	uint64_t start_time;
	uint64_t time_of_last_state_change;
	uint64_t elapsed_ns;
	uint64_t time_before_removal_ns;
	uint32_t owner_uid;
	uint32_t errors_total;
	uint64_t producer_session;
	uint64_t reserved;
};

struct jst_job {
	struct jst_status status;
	const char *instance_id;
	const char *name;
	const char *job_status;
	const char *error_description;
	const char *owner;
	const char *notify;
	const char *error_summary_description;
	const char *other_recovery_action;
	uint16_t n_status_descriptions;
	const char *status_descriptions[8];
	char text[8448];
};

struct jst_error {
	uint64_t time;
	uint32_t sequence;
	uint16_t job_state;
	uint16_t error_type;
	const char *other_error_type;
	const char *owning_entity;
	const char *message_id;
	const char *message;
	uint16_t n_message_arguments;
	const char *message_arguments[16];
	uint16_t perceived_severity;
	uint16_t probable_cause;
	const char *probable_cause_description;
	uint16_t n_recommended_actions;
	const char *recommended_actions[16];
	const char *error_source;
	uint16_t error_source_format;
	const char *other_error_source_format;
	uint32_t cim_status_code;
	const char *cim_status_code_description;
	uint32_t hresult;
	uint16_t context;
	const char *file;
	char text[20480];
};

struct jst_job_ext {
	struct jst_job job;
	const char *element_name;
	const char *caption;
	const char *description;
	uint64_t scheduled_start_time;
	uint64_t until_time;
	uint32_t job_run_times;
	uint16_t local_or_utc_time;
	uint16_t communication_status;
	uint16_t health_state;
	uint16_t primary_status;
	uint16_t detailed_status;
	uint16_t operating_status;
};

struct jst_derived_status {
	uint16_t communication_status;
	uint16_t health_state;
	uint16_t primary_status;
	uint16_t detailed_status;
	uint16_t operating_status;
};

typedef struct jst_reader jst_reader;

const char *jst_default_namespace(void);
int jst_attach(const char *ns, jst_reader **ret_reader);
int jst_attach_shm(const char *shm_name, jst_reader **ret_reader);
void jst_detach(jst_reader *r);
int jst_lookup(jst_reader *r, const char *instance_id, jst_handle *ret_handle);
int jst_status(jst_reader *r, jst_handle h, struct jst_status *ret_status);
int jst_status_many(jst_reader *r, const jst_handle *handles, size_t n,
		    struct jst_status *ret_status, int *ret_codes);
int jst_job(jst_reader *r, jst_handle h, struct jst_job *ret_job);
int jst_error_read(jst_reader *r, jst_handle h, unsigned index, struct jst_error *ret_error);
int jst_job_ext(jst_reader *r, jst_handle h, struct jst_job_ext *ret, size_t size);
int jst_status_derive(const struct jst_status *st, struct jst_derived_status *ret);
int jst_job_ext_to_cimxml(const struct jst_job_ext *x, size_t size, unsigned flags, char *buf,
			  size_t n, size_t *ret_len);
int jst_job_ext_to_json(const struct jst_job_ext *x, size_t size, char *buf, size_t n,
			size_t *ret_len);
int jst_next(jst_reader *r, uint32_t *pos, struct jst_status *ret_status);
int jst_scan(jst_reader *r, uint32_t *pos, struct jst_status *ret_status, size_t max,
	     size_t *ret_n);
uint64_t jst_change_seq(jst_reader *r);
int jst_changes(jst_reader *r, uint64_t *cursor, jst_handle *ret_handles, size_t max,
		size_t *ret_n);
int jst_changed(jst_reader *r, uint64_t *cursor, struct jst_status *ret, size_t max,
		size_t *ret_n);
int jst_wait_changes(jst_reader *r, uint64_t cursor, int64_t timeout_ns);

struct jst_info {
	uint16_t version_major, version_minor;
	uint32_t capacity;
	uint32_t njobs;
	uint32_t log_size;
	uint64_t segment_size;
	uint64_t generation;
	uint64_t daemon_pid;
	uint64_t daemon_birth_ns;
	uint64_t heartbeat_ns;
	uint64_t change_seq;
	uint32_t state;
	uint64_t pool_bytes;
};
int jst_info(jst_reader *r, struct jst_info *ret_info);
uint64_t jst_generation(jst_reader *r);
bool jst_daemon_alive(jst_reader *r);

int jst_get_error(jst_reader *r, jst_handle h, unsigned flavour, struct jst_error *ret_error);
int jst_get_errors(jst_reader *r, jst_handle h, unsigned flavour, struct jst_error *ret_errors,
		   size_t max, size_t *ret_n);
uint32_t jst_method_code(int rc, unsigned flavour);
int jst_error_to_cimxml(const struct jst_error *e, char *buf, size_t n, size_t *ret_len);
int jst_error_to_json(const struct jst_error *e, char *buf, size_t n, size_t *ret_len);

const char *jst_job_state_name(uint16_t state);
bool jst_job_state_is_final(uint16_t state);
int jst_job_state_check(uint16_t from, uint16_t to);
unsigned jst_default_op_status(uint16_t state, uint16_t *ret_ops);
const char *jst_transfer_state_name(uint16_t bg_state);
int jst_transfer_check(uint16_t from, uint16_t to);

typedef struct jst_conn jst_conn;

struct jst_request {
	jst_handle handle;
	const char *instance_id;
	uint16_t requested_state;
	uint32_t requester_uid;
	int32_t requester_pid;
	uint64_t timeout_ns;
};

typedef uint32_t (*jst_request_fn)(jst_conn *c, const struct jst_request *rq, void *arg);

struct jst_connect_options {
	const char *ns;
	const char *socket_path;
	uint64_t session;
	bool producer;
	jst_request_fn on_request;
	void *arg;
	int64_t reconnect_timeout_ns;
};

int jst_connect(const struct jst_connect_options *opt, jst_conn **ret_conn);
void jst_disconnect(jst_conn *c);
uint64_t jst_session(jst_conn *c);
const char *jst_conn_error(jst_conn *c);
int jst_conn_fd(jst_conn *c);
int jst_dispatch(jst_conn *c, int64_t timeout_ns);

struct jst_job_spec {
	const char *instance_id;
	const char *name;
	const char *owner, *notify, *job_status;
	uint16_t job_type;
	uint16_t initial_state;
	uint32_t priority;
	bool delete_on_completion;
	bool not_cancellable;
	bool transfer;
	int64_t time_before_removal_ns;
};

int jst_job_create(jst_conn *c, const struct jst_job_spec *spec, jst_handle *ret_handle,
		   char *ret_instance_id);

struct jst_update {
	jst_handle handle;
	uint32_t set;
	uint16_t job_state;
	uint16_t percent_complete;
	uint16_t error_code;
	uint16_t transfer_state;
	uint16_t n_operational_status;
	uint16_t operational_status[8];
	const char *status_descriptions[8];
	const char *job_status;
	const char *error_description;
};

int jst_update(jst_conn *c, const struct jst_update *u, size_t n, int *ret_results);
int jst_job_report_error(jst_conn *c, jst_handle h, const struct jst_error *e, bool fail);
int jst_job_remove(jst_conn *c, jst_handle h, unsigned flags, uint64_t *ret_when_ns);

#define JST_PROP_PRIORITY 1
#define JST_PROP_DELETE_ON_COMPLETION 2
#define JST_PROP_TIME_BEFORE_REMOVAL 4
#define JST_PROP_RECOVERY_ACTION 8
#define JST_PROP_ERROR_SUMMARY 16
#define JST_PROP_ELEMENT_NAME 32
#define JST_PROP_CAPTION 64
#define JST_PROP_DESCRIPTION 128
#define JST_PROP_SCHEDULED_START_TIME 256
#define JST_PROP_UNTIL_TIME 512
#define JST_PROP_JOB_RUN_TIMES 1024
#define JST_PROP_LOCAL_OR_UTC_TIME 2048

struct jst_job_props {
	uint32_t set;
	uint32_t priority;
	bool delete_on_completion;
	uint16_t recovery_action;
	int64_t time_before_removal_ns;
	const char *other_recovery_action;
	const char *error_summary_description;
	const char *element_name, *caption, *description;
	uint64_t scheduled_start_time;
	uint64_t until_time;
	uint32_t job_run_times;
	uint16_t local_or_utc_time;
};
int jst_job_props_validate(const struct jst_job_props *p, size_t size, char *msg, size_t n);
int jst_job_set_props(jst_conn *c, jst_handle h, const struct jst_job_props *p, size_t size);

struct jst_daemon_stats {
	uint32_t connections;
	uint32_t sessions;
	uint32_t timers;
	uint32_t pending;
	uint64_t heap_bytes;
};
int jst_daemon_stats(jst_conn *c, struct jst_daemon_stats *ret_stats);
int jst_request_state_change(jst_conn *c, const char *instance_id, uint16_t requested_state,
			     uint64_t timeout_ns, uint32_t *ret_code);
"""

# The structs whose layout tests/test_layout.py checks against the C compiler's.
STRUCTS = ("jst_handle", "struct jst_status", "struct jst_job", "struct jst_error",
           "struct jst_info", "struct jst_request", "struct jst_connect_options",
           "struct jst_job_spec", "struct jst_update", "struct jst_daemon_stats",
           "struct jst_job_ext", "struct jst_derived_status", "struct jst_job_props")

SONAME = "libjobstat.so.0"

ffi = FFI()
ffi.cdef(CDEFS)


def _load():
    # $JOBSTAT_LIBRARY names a library file (a build tree's, for tests); otherwise the
    # dynamic linker finds the installed soname as it would for a C program.
    path = os.environ.get("JOBSTAT_LIBRARY") or SONAME
    try:
        return ffi.dlopen(path)
    except OSError as e:
        raise ImportError(
            f"jobstat: cannot load {path}: {e} (install libjobstat, run ldconfig, or set "
            "JOBSTAT_LIBRARY to the library's path)") from e


lib = _load()
