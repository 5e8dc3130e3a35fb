/*
 * A record-oriented CSV reader over libcsv, shared by every reader of
 * CSV input (the contacts directory now, the Shadowserver and generic
 * CSV ingest formats next).
 *
 * Input is fed in chunks of any size (memory stays flat in the size of
 * the file: one record is held at a time).  Each record comes with the
 * physical line it starts on (1-based; "\n", "\r\n" and a lone "\r" end a
 * line, and a quoted cell may hold line breaks).  A UTF-8 byte order mark
 * at the start is skipped.  A record that breaks a limit or the quoting
 * rules is reported (line and reason) through on_problem and skipped; the
 * records after it are still read.  After max_problems problems the rest
 * of the input is skipped (with one last problem saying so).
 *
 * The reader does not interpret a header: the first record is delivered
 * like any other and the caller decides.
 */
#ifndef RENRAKU_CSVREAD_H
#define RENRAKU_CSVREAD_H

#include "renraku/core.h"

struct rk_csv;

/* One record, borrowed until the callback returns. */
struct rk_csv_record {
	long long line;           /* physical line the record starts on */
	size_t index;             /* 0-based, skipped records included */
	bool skipped;             /* broke a limit or the quoting: the problem
				     was reported, nfields is 0 */
	size_t nfields;
	char *const *field;       /* NUL-terminated cells as read (quotes
				     removed, spaces around unquoted cells
				     trimmed by libcsv); the callback may
				     change them in place */
	const size_t *len;        /* their lengths (a cell may hold NUL when
				     check_text is off) */
};

/* A limit and its name, as messages cite it ("RK_MAX_CSV_LINE"). */
struct rk_csv_limit {
	size_t max;       /* 0: the default below */
	const char *name; /* NULL: the default's name, or "the limit"
			     when max is given */
};

struct rk_csv_opts {
	char delim;                   /* 0: ',' */
	char quote;                   /* 0: '"' */
	struct rk_csv_limit input;    /* bytes of the whole input; RK_MAX_REPORT:
					 past it one problem and the rest is
					 not read */
	struct rk_csv_limit record;   /* bytes of one record; RK_MAX_CSV_LINE */
	struct rk_csv_limit cell;     /* bytes of one cell; RK_MAX_FIELD */
	struct rk_csv_limit fields;   /* cells of one record; RK_MAX_CSV_FIELDS */
	struct rk_csv_limit problems; /* problems listed; RK_MAX_ERRORS_LISTED */
	bool check_text;              /* a cell with NUL or invalid UTF-8 makes
					 its record skipped */
	/* Called for every record, skipped ones included (so that a caller
	 * waiting for a header knows one was there).  A return other than
	 * RK_OK stops the reader, and rk_csv_feed/finish return it. */
	enum rk_err (*on_record)(void *arg, struct rk_csv *csv,
				 const struct rk_csv_record *rec);
	/* Called for every problem: reason is borrowed for the call.  NULL:
	 * problems are only counted. */
	enum rk_err (*on_problem)(void *arg, long long line, const char *reason);
	void *arg;
};

/* A reader; opts is copied.  Caller frees with rk_csv_free. */
enum rk_err rk_csv_new(struct rk_csv **out, const struct rk_csv_opts *opts);
void rk_csv_free(struct rk_csv *csv);
/* Feed the next bytes (borrowed for the call). */
enum rk_err rk_csv_feed(struct rk_csv *csv, const char *data, size_t len);
/* End of input: the last record (without a final line break) is
 * delivered, an open quoted cell reported. */
enum rk_err rk_csv_finish(struct rk_csv *csv);
/* Whole input in one call: new, feed, finish, free. */
enum rk_err rk_csv_read(const struct rk_csv_opts *opts, const char *data,
			size_t len);

/* Report a problem of the caller's own (a bad value in a record) at line,
 * counted against the same limit; from inside on_record too. */
enum rk_err rk_csv_problem(struct rk_csv *csv, long long line,
			   const char *fmt, ...) RK_PRINTF(3, 4);
/* Problems reported so far (the "rest skipped" one excluded). */
size_t rk_csv_problem_count(const struct rk_csv *csv);
/* True once max_problems was reached and the rest is skipped. */
bool rk_csv_stopped(const struct rk_csv *csv);

/* End of the physical line starting at p: just after "\n", "\r\n" or a
 * lone "\r", else end. */
const char *csvread_line_end(const char *p, const char *end);

#endif /* RENRAKU_CSVREAD_H */
