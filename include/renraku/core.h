/*
 * renraku core: the error convention, logging, bounded buffers, small
 * parsing helpers shared by every stage.
 *
 * Conventions (every stage follows them):
 *  - A function that can fail returns enum rk_err; RK_OK is 0.  Detail text
 *    goes to the log passed in (or an out-parameter), never into the enum.
 *  - Ownership is written at each declaration: "caller frees" means the
 *    returned memory belongs to the caller; "borrowed" means it stays owned
 *    by the callee and is valid for the stated time.
 *  - No global mutable state: everything a function needs is passed in.
 */
#ifndef RENRAKU_CORE_H
#define RENRAKU_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <stdio.h>

#include "renraku/limits.h"

#if defined(__GNUC__) || defined(__clang__)
#define RK_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define RK_NORETURN __attribute__((noreturn))
#define RK_UNUSED __attribute__((unused))
#else
#define RK_PRINTF(fmt, args)
#define RK_NORETURN
#define RK_UNUSED
#endif

#define RK_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------- errors */

/* One error enum for the whole program.  Numbers are explicit and never
 * reused; add new codes at the end. */
enum rk_err {
	RK_OK = 0,
	RK_ERR_NOMEM = 1,       /* out of memory */
	RK_ERR_IO = 2,          /* file system or stream error */
	RK_ERR_USAGE = 3,       /* bad command line */
	RK_ERR_CONFIG = 4,      /* bad configuration */
	RK_ERR_PARSE = 5,       /* input cannot be read as its format */
	RK_ERR_LIMIT = 6,       /* a named size limit was exceeded */
	RK_ERR_INVAL = 7,       /* a value is not valid */
	RK_ERR_NOTFOUND = 8,    /* no such object */
	RK_ERR_EXISTS = 9,      /* object already exists */
	RK_ERR_DB = 10,         /* database error */
	RK_ERR_DB_NEWER = 11,   /* database schema newer than this program */
	RK_ERR_BUSY = 12,       /* database locked beyond the busy timeout */
	RK_ERR_TEMPLATE = 13,   /* template cannot be found or rendered */
	RK_ERR_GPG = 14,        /* OpenPGP operation failed */
	RK_ERR_MIME = 15,       /* MIME construction or parsing failed */
	RK_ERR_TRANSPORT = 16,  /* permanent delivery failure */
	RK_ERR_TEMPFAIL = 17,   /* temporary failure, try again later */
	RK_ERR_INTERNAL = 18,   /* broken invariant */
	RK_ERR_UNSUPPORTED = 19, /* recognised but not supported (yet) */
	RK_ERR_TRANSITION = 20  /* a state change the state machine forbids */
};

/* Static text for an error code; never NULL. */
const char *rk_strerror(enum rk_err err);

/* Process exit codes (sysexits where design.md asks for them). */
enum rk_exit {
	RK_EXIT_OK = 0,
	RK_EXIT_FAILURE = 1,
	RK_EXIT_USAGE = 2,
	RK_EXIT_DATAERR = 65,
	RK_EXIT_TEMPFAIL = 75
};

/* Map an error to the exit code the command line returns for it.  Only the
 * command-line edge calls this. */
enum rk_exit rk_exit_code(enum rk_err err);

/* ---------------------------------------------------------------- logging */

enum rk_log_level {
	RK_LOG_ERROR = 0,
	RK_LOG_WARN = 1,
	RK_LOG_INFO = 2,
	RK_LOG_DEBUG = 3
};

/* A logger is a small value passed down to every stage.  stream is
 * borrowed (NULL means stderr).  Messages are one line each; control
 * characters in the formatted text are escaped as \xNN so that hostile
 * input cannot forge log lines.  Never log secrets (passwords, tokens,
 * key material). */
struct rk_log {
	enum rk_log_level level;
	FILE *stream;
};

void rk_log_init(struct rk_log *log, enum rk_log_level level);

/* log may be NULL: then messages at WARN and above go to stderr. */
void rk_logf(const struct rk_log *log, enum rk_log_level level,
	     const char *fmt, ...) RK_PRINTF(3, 4);
void rk_vlogf(const struct rk_log *log, enum rk_log_level level,
	      const char *fmt, va_list ap) RK_PRINTF(3, 0);

#define rk_log_error(log, ...) rk_logf((log), RK_LOG_ERROR, __VA_ARGS__)
#define rk_log_warn(log, ...) rk_logf((log), RK_LOG_WARN, __VA_ARGS__)
#define rk_log_info(log, ...) rk_logf((log), RK_LOG_INFO, __VA_ARGS__)
#define rk_log_debug(log, ...) rk_logf((log), RK_LOG_DEBUG, __VA_ARGS__)

/* Log at error level and return err, so that
 *     return rk_fail(log, RK_ERR_IO, "cannot open '%s'", path);
 * reads as one step.  Messages are lowercase with no full stop. */
enum rk_err rk_fail(const struct rk_log *log, enum rk_err err,
		    const char *fmt, ...) RK_PRINTF(3, 4);

/* A broken invariant: print file, line and message, then abort. */
RK_NORETURN void rk_bug(const char *file, int line, const char *fmt, ...)
	RK_PRINTF(3, 4);
#define RK_BUG(...) rk_bug(__FILE__, __LINE__, __VA_ARGS__)

/* ---------------------------------------------------------------- buffers */

/* A growable byte buffer with a mandatory cap (git strbuf + curl dynbuf).
 * data is never NULL and always NUL-terminated; len excludes the NUL.
 * Appending past max fails with RK_ERR_LIMIT and leaves the buffer as it
 * was.  A buffer owns its memory; rk_buf_release frees it. */
struct rk_buf {
	char *data;
	size_t len;
	size_t alloc; /* 0 while data points at the shared empty string */
	size_t max;   /* largest len allowed */
};

void rk_buf_init(struct rk_buf *b, size_t max);
void rk_buf_release(struct rk_buf *b);        /* free; back to empty */
void rk_buf_reset(struct rk_buf *b);          /* len = 0, memory kept */
enum rk_err rk_buf_grow(struct rk_buf *b, size_t extra);
enum rk_err rk_buf_add(struct rk_buf *b, const void *p, size_t n);
enum rk_err rk_buf_adds(struct rk_buf *b, const char *s);
enum rk_err rk_buf_addc(struct rk_buf *b, char c);
enum rk_err rk_buf_addf(struct rk_buf *b, const char *fmt, ...)
	RK_PRINTF(2, 3);
enum rk_err rk_buf_vaddf(struct rk_buf *b, const char *fmt, va_list ap)
	RK_PRINTF(2, 0);
/* Shorten to n bytes (n <= len). */
void rk_buf_truncate(struct rk_buf *b, size_t n);
/* Hand the contents over: caller frees the returned string (never NULL
 * unless out of memory); the buffer is left empty.  len_out may be NULL. */
char *rk_buf_detach(struct rk_buf *b, size_t *len_out);
/* Append a whole file / stream; RK_ERR_LIMIT if it exceeds b->max. */
enum rk_err rk_buf_read_file(struct rk_buf *b, const char *path);
enum rk_err rk_buf_read_stream(struct rk_buf *b, FILE *f);

/* ---------------------------------------------------------------- progress */

/* A progress bar on stderr for a long step (run's stages); the caller
 * decides `on` (stderr is a terminal) and owns the struct; label and
 * unit are borrowed and must outlive it.  Off: every call does nothing. */
struct rk_progress {
	bool on, shown;
	const char *label, *unit;
	long long total;            /* expected units, 0 = unknown */
	struct timespec started, last;
};

void rk_progress_start(struct rk_progress *p, bool on, const char *label,
		       const char *unit, long long total);
/* done units so far; redrawn at most every 0.25 s, except final, which
 * draws 100% and ends the line.  p may be NULL. */
void rk_progress_show(struct rk_progress *p, long long done, bool final);
/* One redraw of a bar in place on stderr: "LABEL [####......]  45%  AMOUNT
 * 85000 UNIT/s  0:02 left" (label left-aligned in width columns), frac of
 * the work done after elapsed seconds; final ends the line.  What
 * rk_progress_show and ingest's bar (by bytes) both draw. */
void rk_progress_draw(const char *label, int width, double frac,
		      const char *amount, double rate, const char *unit,
		      double elapsed, bool final);

/* ---------------------------------------------------------------- strings */

/* strdup that returns NULL only when s is NULL or memory is exhausted. */
char *rk_strdup(const char *s);
char *rk_strndup(const char *s, size_t n);
/* Free *p and set it to a copy of s (NULL allowed). */
enum rk_err rk_str_set(char **p, const char *s);
/* ASCII case-insensitive equality. */
/* FNV-1a, 64 bits, over n bytes: for hash tables and stable names, not
 * for anything a stranger may want to collide on purpose. */
uint64_t rk_hash(const void *data, size_t n);
bool rk_str_ieq(const char *a, const char *b);
/* The first place of needle in hay[0..len), ASCII case ignored; NULL
 * when none (or needle is empty). */
const char *rk_str_find_ci(const char *hay, size_t len, const char *needle);
/* Lowercase ASCII letters in place. */
void rk_str_lower(char *s);
/* Trim ASCII white space at both ends in place; returns s. */
char *rk_str_trim(char *s);
/* True if s holds any byte below 0x20 (other than TAB when allow_tab) or
 * 0x7f: such a value must never reach a header line. */
bool rk_str_has_ctl(const char *s, bool allow_tab);
/* Make s safe to show on one line of a notice, in place: C0 controls
 * (CR, LF, TAB, ...), DEL, C1 controls (NEL, ...), the Unicode line and
 * paragraph separators and the bidirectional overrides/isolates become
 * spaces (one per byte, so the length is unchanged).  Returns s. */
char *rk_str_clean_line(char *s);
/* True if the NUL-terminated string is valid UTF-8 (no overlongs, no
 * surrogates). */
bool rk_utf8_valid(const char *s, size_t len);
/* Display width of UTF-8 text in a terminal/plain-text window: East Asian
 * wide and fullwidth characters count 2, combining marks 0. */
size_t rk_utf8_width(const char *s);

/* Parse a whole decimal integer in [min, max]; no trailing garbage. */
enum rk_err rk_parse_long(const char *s, long long min, long long max,
			  long long *out);
/* Parse "0", "90", "90s", "10m", "2h", "7d" into seconds. */
enum rk_err rk_parse_duration(const char *s, long long *seconds);
/* Parse a boolean: yes/no, true/false, on/off, 1/0. */
enum rk_err rk_parse_bool(const char *s, bool *out);

/* Iterate a comma-separated list ("a, b,c"): each call sets *item and
 * *len to the next entry with spaces and tabs around it trimmed (it may
 * be empty: "a,,b") and advances *p; false when the list is done.  *p
 * starts at the list's text. */
bool rk_list_next(const char **p, const char **item, size_t *len);

/* ---------------------------------------------------------------- arrays */

/* Make room for one more element in an array that only grows by appending
 * (n elements of `size` bytes so far): capacity is implied (the next power
 * of two, at least 16), so no capacity field is needed.  *arr is
 * realloc'd when n reaches a power of two. */
enum rk_err rk_array_room(void **arr, size_t n, size_t size);

/* ---------------------------------------------------------------- time */

/* Parse an ISO 8601 / RFC 3339 timestamp ("2026-11-20T10:15:00+00:00",
 * "...Z", fractional seconds, "2026-11-20 10:15:00" taken as UTC, a date
 * alone as midnight UTC) into Unix seconds. */
enum rk_err rk_time_parse(const char *s, int64_t *out);
/* A calendar date and time at offset_min minutes east of UTC into Unix
 * seconds; RK_ERR_INVAL when a part is out of range (second 60 is read
 * as 59) or the time is before 1970 or after 9999. */
enum rk_err rk_time_from_civil(int y, int mo, int d, int h, int mi, int sec,
			       int offset_min, int64_t *out);
/* Format Unix seconds with an offset in minutes east of UTC as
 * "YYYY-MM-DD HH:MM:SS" (out must hold RK_TIME_TEXT bytes). */
#define RK_TIME_TEXT 32
void rk_time_format(int64_t t, int offset_min, char out[RK_TIME_TEXT]);
/* "YYYY-MM-DDTHH:MM:SSZ" */
void rk_time_format_iso(int64_t t, char out[RK_TIME_TEXT]);
/* A duration of s seconds for people: "2d 3h", "4h 5m", "6m 7s"; "-"
 * when s < 0 (none).  Always NUL-terminated within len. */
void rk_duration_text(long long s, char *out, size_t len);
/* Seconds from a to b (timespecs of one clock, e.g. CLOCK_MONOTONIC). */
double rk_seconds_between(const struct timespec *a, const struct timespec *b);
/* "YYYYMMDD" of the UTC day */
void rk_time_format_day(int64_t t, char out[RK_TIME_TEXT]);
/* The wall clock.  Only the command-line edge calls it (once per command
 * or daemon pass, unless --now gives the time); every stage below takes
 * the `now` it is handed.  No environment variable changes it. */
int64_t rk_now(void);

/* ---------------------------------------------------------------- forms */

/* The first field called name of an application/x-www-form-urlencoded
 * body (data, len bytes, no NUL needed), decoded ('+' and %XX) into out
 * (size bytes, NUL-terminated); false when absent, malformed (a bad %
 * escape) or not shorter than size.  relay/core/form.c. */
bool rk_form_field(const char *data, size_t len, const char *name, char *out,
		   size_t size);

/* ---------------------------------------------------------------- random */

/* Fill out with n random bytes from the kernel. */
enum rk_err rk_random(void *out, size_t n);
/* n random bytes as 2n lowercase hex digits plus NUL (out holds 2n+1). */
enum rk_err rk_random_hex(char *out, size_t n);

/* ---------------------------------------------------------------- net */

/* An IPv4 or IPv6 address.  IPv4 is stored as its 4 bytes, family 4. */
struct rk_addr {
	int family; /* 4 or 6 */
	uint8_t bytes[16];
};
#define RK_ADDR_TEXT 46

/* Strict parse (inet_pton).  An IPv4-mapped IPv6 address
 * (::ffff:198.51.100.7) is read as the IPv4 address (family 4). */
enum rk_err rk_addr_parse(const char *s, struct rk_addr *out);
void rk_addr_format(const struct rk_addr *a, char out[RK_ADDR_TEXT]);
/* "192.0.2.0/24", "2001:db8::/32"; a bare address means a host prefix.
 * Host bits beyond the prefix must be zero.  An IPv4-mapped prefix
 * (::ffff:192.0.2.0/120, length 96..128) is the IPv4 prefix. */
enum rk_err rk_cidr_parse(const char *s, struct rk_addr *net, int *prefix);
bool rk_addr_in_prefix(const struct rk_addr *a, const struct rk_addr *net,
		       int prefix);
/* "AS64500", "as64500" or "64500" into 1..4294967295. */
enum rk_err rk_asn_parse(const char *s, uint32_t *out);
/* Normalise a domain name: lowercase, strip one trailing dot, convert
 * U-labels to A-labels (IDNA2008), check label syntax and lengths.
 * Caller frees *out. */
enum rk_err rk_domain_normalize(const char *s, char **out);
/* Syntax check of an e-mail address as renraku accepts it for contacts:
 * local@domain, printable ASCII, no spaces, quotes, angle brackets, CR or
 * LF, at most RK_MAX_EMAIL bytes. */
bool rk_email_valid(const char *s);

/* ---------------------------------------------------------------- TLP */

/* FIRST TLP 2.0.  Ordered: a larger value is more restricted. */
enum rk_tlp {
	RK_TLP_CLEAR = 0,
	RK_TLP_GREEN = 1,
	RK_TLP_AMBER = 2,
	RK_TLP_AMBER_STRICT = 3,
	RK_TLP_RED = 4
};
/* Case-insensitive, the optional "TLP:" prefix too ("tLp:green");
 * WHITE is read as CLEAR. */
enum rk_err rk_tlp_parse(const char *s, enum rk_tlp *out);
/* "CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED" */
const char *rk_tlp_name(enum rk_tlp tlp);

/* ---------------------------------------------------------------- types */

/* An IntelMQ classification type and its taxonomy (static data). */
struct rk_type_info {
	const char *type;
	const char *taxonomy;
};
/* The entry for type (ASCII case ignored), NULL when IntelMQ has no such
 * type. */
const struct rk_type_info *rk_type_find(const char *type);
/* The i-th known type in name order, NULL past the end (for listing). */
const struct rk_type_info *rk_type_at(size_t i);

/* JPCERT/CC-style incident categories (phishing-site, website-defacement,
 * malware-site, scan, dos, ics, targeted-attack, other), for reporting.
 * rk_category_default maps an IntelMQ type (and an identifier naming an
 * ICS protocol) to one; [categories] in the config overrides it per
 * type (rk_config_category).  Strings are static. */
bool rk_category_known(const char *name);
const char *rk_category_at(size_t i); /* NULL past the end */
const char *rk_category_label(const char *name, const char *lang);
const char *rk_category_default(const char *type, const char *identifier);

/* ---------------------------------------------------------------- severity */

enum rk_severity {
	RK_SEV_INFO = 0,
	RK_SEV_LOW = 1,
	RK_SEV_MEDIUM = 2,
	RK_SEV_HIGH = 3,
	RK_SEV_CRITICAL = 4
};
#define RK_SEV_COUNT 5
enum rk_err rk_severity_parse(const char *s, enum rk_severity *out);
const char *rk_severity_name(enum rk_severity sev); /* "info" ... */

/* ---------------------------------------------------------------- files */

/* mkdir -p with the given mode for every directory it creates. */
enum rk_err rk_mkdir_p(const char *path, unsigned mode);
/* Write a whole file atomically: tmp file in the same directory, fsync,
 * rename, fsync the directory. */
enum rk_err rk_write_file_atomic(const char *path, const void *data,
				 size_t len, unsigned mode);
/* A single path component that is safe to join under a directory:
 * non-empty, at most 128 bytes, [A-Za-z0-9._-] only, not "." or "..",
 * not starting with '.'.  Guards template names, partial names, etc. */
bool rk_name_safe(const char *name);
/* Remove a directory tree (like rm -rf; does not follow links). */
enum rk_err rk_rmtree(const char *path);
/* Join dir and name into out (caller frees). */
enum rk_err rk_path_join(const char *dir, const char *name, char **out);
/* The directory holding templates/, contacts/ and demo/ (caller frees):
 * <dir of the executable>/../share/renraku when it holds templates/ (an
 * installed binary, wherever the prefix was moved), else the source tree
 * of an uninstalled build, else the compiled-in install datadir.
 * docs/operations.md describes it. */
enum rk_err rk_data_dir(char **out);

#endif /* RENRAKU_CORE_H */
