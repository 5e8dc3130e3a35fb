/*
 * Ingest: read reports, normalize each record to an IntelMQ-named event,
 * validate it, give it a TLP, a severity and a dedup key, and store it.
 *
 * Every format is a reader behind one interface (relay/ingest/private.h,
 * one file per format); every record of every format goes through one
 * normalizer.  `ingest` and `preview --events` read through the same code.
 *
 * A bad record is rejected with file, line and reason; the good records of
 * the same file are kept.  A file that cannot be read as its format at all
 * fails the file with RK_ERR_PARSE (exit 65 at the command line).
 *
 * Owns: reports and events rows up to state new (through relay/store/),
 * the formats and the normalizer.  May call: store, core (types, TLP,
 * addresses, the CSV reader), Jansson, libcrypto (the dedup hash),
 * GMime (abuse mail), libxml2 (IODEF: no network, no DTD, no entities).
 * Called by the command line (ingest, preview --events, demo) and, next,
 * the HTTP service.  It never reads the clock: the reference time is the
 * caller's (ingest_options.now).
 */
#ifndef RENRAKU_INGEST_H
#define RENRAKU_INGEST_H

#include "renraku/config.h"
#include "renraku/store.h"

enum ingest_format {
	INGEST_FORMAT_AUTO = 0,   /* from the file name / content */
	INGEST_FORMAT_INTELMQ = 1, /* IntelMQ events: JSON lines or array */
	INGEST_FORMAT_SHADOWSERVER = 2, /* Shadowserver CSV reports */
	INGEST_FORMAT_ARF = 3,     /* abuse mail: ARF, X-ARF 0.2, XARF v4 */
	INGEST_FORMAT_CSV = 4,     /* generic CSV with a mapping file
				      (format_arg: its path) */
	INGEST_FORMAT_IODEF = 5    /* IODEF v2 (RFC 7970) XML, and 1.0 */
};

/* One rejected record. */
struct ingest_error {
	char *file;   /* as given on the command line, "-" for stdin */
	long long line; /* 1-based line where the record starts, 0 = file */
	char *reason;
};

/* Totals over one ingest call (all files). */
/* What one file became. */
struct ingest_file_result {
	char *file;           /* as given; owned */
	const char *format;   /* the reader chosen (static), NULL = none */
	int64_t report_id;    /* 0 = none stored */
	long long events, duplicates, rejected;
	bool failed;          /* the file as a whole was refused */
};

struct ingest_result {
	long long reports;    /* files read as a report */
	long long events;     /* events stored */
	long long duplicates; /* exact repeats dropped */
	long long rejected;   /* records rejected */
	struct ingest_error *errors; /* first RK_MAX_ERRORS_LISTED, owned */
	size_t nerrors;
	bool errors_truncated;
	struct ingest_file_result *files; /* one per file, the first
					     RK_MAX_FILES_LISTED; owned */
	size_t nfiles;
	long long fields;     /* records the reader handed to the normalizer
				 field by field (its fast path), not as a
				 JSON object: events or rejected alike */
};

void ingest_result_release(struct ingest_result *res);

/* A long file is stored in transactions of INGEST_BATCH events or
 * INGEST_BATCH_BYTES of their data (store_event.data), whichever is
 * reached first: each one committed is kept should the process die in
 * the next (a re-ingest of the file finds those as duplicates). */
#define INGEST_BATCH 50000
#define INGEST_BATCH_BYTES ((size_t)48 << 20)

struct ingest_options {
	enum ingest_format format;
	const char *reporter;  /* NULL = none; borrowed */
	bool progress;         /* progress on stderr (a terminal) */
	/* The reference time (Unix seconds) for [ingest] max_age and
	 * max_skew, required: the command line reads the clock once for
	 * all its files (or takes --now), tests and replays fix it; the
	 * ingest stage never reads the clock (0 is RK_ERR_INTERNAL). */
	int64_t now;
	/* The TYPE of --format NAME:TYPE (shadowserver:scan_dns), or the
	 * MAPPING file of csv:MAPPING, NULL = none; borrowed. */
	const char *format_arg;
	/* Read, normalize and store in the calling thread only.  By
	 * default a file of 64 KB or more going into a store is read and
	 * normalized by a second thread while the caller's stores (the same
	 * events, errors and transactions, in the same order); the
	 * benchmark compares the two. */
	bool serial;
	/* Every record through its JSON object, none through a reader's
	 * fast path (IntelMQ's yajl callbacks, Shadowserver rows as
	 * fields): the same events and reasons, slower; for the tests that
	 * compare the two. */
	bool objects;
};

/* --format NAME: "auto" or a format's name; false when unknown. */
bool ingest_format_lookup(const char *name, enum ingest_format *out);
/* The names --format takes, "auto, intelmq", appended to out. */
enum rk_err ingest_format_names(struct rk_buf *out);

/* Ingest one file (path "-" = stdin) into the store, adding to *res.
 * Returns RK_OK when the file was processed (even with rejected records),
 * RK_ERR_PARSE when it cannot be read as the format at all (the reason is
 * also added to res->errors with line 0), RK_ERR_IO / RK_ERR_NOTFOUND when
 * it cannot be opened, RK_ERR_LIMIT when larger than [ingest] max_file
 * (RK_MAX_REPORT).  With --format auto and [ingest] csv_mappings, a file
 * whose name a mapping's `match` takes is read as generic CSV with it;
 * RK_ERR_CONFIG when that directory cannot be read.
 * store NULL is a dry run: every record is read, normalized and counted
 * (res->events, never duplicates) and nothing is stored. */
enum rk_err ingest_file(struct rk_store *store, const struct rk_config *cfg,
			const struct rk_log *log,
			const struct ingest_options *opts, const char *path,
			struct ingest_result *res);

/* Ingest a buffer already in memory (the HTTP API and fuzzers use this);
 * name is used in errors.  Same results as ingest_file (store NULL: a
 * dry run). */
enum rk_err ingest_buffer(struct rk_store *store, const struct rk_config *cfg,
			  const struct rk_log *log,
			  const struct ingest_options *opts, const char *name,
			  const char *data, size_t len,
			  struct ingest_result *res);

/* Read one file (path "-" = stdin) exactly as ingest_file does, same
 * format choice, reader, normalizer and errors in *res, but without a
 * store: the accepted events, in file order with ids 1..*n, go to
 * *events (caller frees with store_events_free).  Duplicates are kept.
 * Same return values as ingest_file.  preview --events uses this. */
enum rk_err ingest_file_events(const struct rk_config *cfg,
			       const struct rk_log *log,
			       const struct ingest_options *opts,
			       const char *path, struct store_event **events,
			       size_t *n, struct ingest_result *res);

/* Parse and normalize one IntelMQ event object given as JSON text,
 * without touching a store: fills *ev (caller releases with
 * store_event_release).  Only opts->now is used.  On
 * a bad record returns RK_ERR_INVAL with the reason in
 * reason[reason_len]. */
enum rk_err ingest_event_text(const struct rk_config *cfg,
			      const struct ingest_options *opts,
			      const char *json, size_t len,
			      struct store_event *ev, char *reason,
			      size_t reason_len);

/* ------------------------------------------------------------ spool */

struct ingest_spool_stats {
	long long files;      /* ingested and moved to done/ */
	long long failed;     /* moved to failed/ with NAME.error */
	long long events, duplicates, rejected;
};

/* Ingest every complete file in [ingest] spool (nothing when unset), in
 * name order, as of now, and move each to done/ (NAME.rejected beside it
 * when records were rejected) or failed/ (NAME.error says why).  Files
 * whose names start with '.' are still being written: left alone.  A
 * failure that is not the file's (the database, memory) leaves the file
 * where it is and stops with the error. */
enum rk_err ingest_spool(struct rk_store *store, const struct rk_config *cfg,
			 const struct rk_log *log, int64_t now,
			 struct ingest_spool_stats *stats);

/* The Shadowserver data file called file ("intelmq.json", the schema,
 * or "severity.csv", the default severities) into *out (caller frees):
 * [ingest] shadowserver_schema when set (the severity table beside it
 * when there is one there),
 * else <data dir>/shadowserver/<file>. */
enum rk_err ingest_shadowserver_schema_path(const struct rk_config *cfg,
					    const char *file, char **out);
/* Check data as a Shadowserver schema (JSON, at most
 * RK_MAX_SHADOWSERVER_SCHEMA bytes, every report with its fields and
 * known conversions).  RK_OK with the number of report types in
 * *reports (may be NULL), or RK_ERR_PARSE with the reason. */
enum rk_err ingest_shadowserver_schema_check(const char *data, size_t len,
					     size_t *reports, char *reason,
					     size_t reason_len);

/* Write res as the JSON document `renraku ingest --json` prints. */
enum rk_err ingest_result_json(const struct ingest_result *res,
			       struct rk_buf *out);

/* d as snprintf "%.<prec>g" writes it (prec 15 or 17) into out (32
 * bytes or more, caller's; NUL-terminated): the length, 0 if it cannot
 * be.  Exact without printf for the reals events carry (1e-4 <= |d| <
 * 1e15): what the normalizer writes reals with, in the stored data
 * (15) and the dedup key (17); public for tests/unit/test_ingest.c. */
size_t ingest_format_real(char *out, double d, int prec);

#endif /* RENRAKU_INGEST_H */
