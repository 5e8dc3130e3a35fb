/* What the ingest fuzz harnesses (fuzz_intelmq, fuzz_shadowserver,
 * fuzz_arf) share: one store in a temporary directory per fuzzing
 * process, recreated every FUZZ_STORE_RUNS inputs, and the invariants
 * every ingest must keep.  Harness state only: the library has none. */
#ifndef RK_FUZZ_INGEST_HARNESS_H
#define RK_FUZZ_INGEST_HARNESS_H

#include "renraku/ingest.h"

#define FUZZ_STORE_RUNS 5000

struct fuzz_store {
	char dir[64];
	char path[96];
	struct rk_log log;   /* errors only, to /dev/null */
	struct rk_config cfg; /* defaults */
	struct rk_store *store;
	long runs;
};

/* The process's store (tag names its directory: /tmp/rk-fuzz-TAG.*),
 * opened on first use; removed at exit.  Aborts when it cannot be set
 * up. */
struct fuzz_store *fuzz_store(const char *tag);

/* After one ingest_buffer call: only RK_OK, RK_ERR_PARSE or RK_ERR_NOMEM,
 * at most RK_MAX_ERRORS_LISTED errors listed and no more than were
 * rejected, one report at most, nothing stored from a refused file.
 * Aborts otherwise. */
void fuzz_check_result(enum rk_err err, const struct ingest_result *res);

/* An accepted event: a dedup key of 64 hex digits, a type and taxonomy, data that is
 * a JSON object, a known TLP and severity, a subject.  Aborts otherwise. */
void fuzz_check_event(const struct store_event *ev);

/* Every event stored for report_id (0: none stored) passes
 * fuzz_check_event. */
void fuzz_check_report_events(struct fuzz_store *s, int64_t report_id);

/* One ingest_buffer of data (named name) into s with opts, then every
 * check above. */
void fuzz_ingest(struct fuzz_store *s, const struct ingest_options *opts,
		 const char *name, const char *data, size_t len);

#endif
