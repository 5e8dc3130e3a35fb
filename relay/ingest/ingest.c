/*
 * Reading reports: a file or buffer of IntelMQ events (JSON Lines or one
 * JSON array), record by record, into the store; the result totals and
 * the errors list.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "private.h"

/* Events stored between commits on a long file. */
#define INGEST_BATCH 10000
/* Records between looks at the clock for progress. */
#define INGEST_PROGRESS_EVERY 4096

/* One file being read. */
struct ingest_run {
	struct rk_store *store;
	const struct rk_config *cfg;
	const struct rk_log *log;
	const struct ingest_options *opts;
	const char *name;
	struct ingest_result *res;
	struct intelmq_norm norm;
	int64_t report_id;
	bool in_tx;
	bool counted;           /* the report is counted in res->reports */
	long long records;      /* records met (parsed or not) */
	long long objects;      /* records that were JSON objects */
	long long events, duplicates, rejected; /* this file */
	long long batch;        /* records since the last commit */
	long long uncounted_events, uncounted_duplicates; /* not yet in res */
	struct timespec last_progress;
	bool progress_shown;
};

/* ------------------------------------------------------------ errors */

void ingest_result_release(struct ingest_result *res)
{
	if (!res)
		return;
	for (size_t i = 0; i < res->nerrors; i++) {
		free(res->errors[i].file);
		free(res->errors[i].reason);
	}
	free(res->errors);
	memset(res, 0, sizeof(*res));
}

/* Count a rejected record (or file) and list it while there is room.
 * Logged at warn level while listed, at debug level after. */
static enum rk_err add_error(struct ingest_result *res,
			     const struct rk_log *log,
			     enum rk_log_level level, const char *file,
			     long long line, const char *reason)
{
	struct ingest_error *e;

	res->rejected++;
	if (res->nerrors >= RK_MAX_ERRORS_LISTED) {
		res->errors_truncated = true;
		rk_logf(log, RK_LOG_DEBUG, "%s:%lld: %s", file, line, reason);
		return RK_OK;
	}
	if (line > 0)
		rk_logf(log, level, "%s:%lld: %s", file, line, reason);
	else
		rk_logf(log, level, "%s: %s", file, reason);
	if (!res->errors) {
		/* Listed errors are few; take the room once. */
		res->errors = calloc(RK_MAX_ERRORS_LISTED, sizeof(*res->errors));
		if (!res->errors)
			return RK_ERR_NOMEM;
	}
	e = &res->errors[res->nerrors];
	e->file = rk_strdup(file);
	e->reason = rk_strdup(reason);
	e->line = line;
	if (!e->file || !e->reason) {
		free(e->file);
		free(e->reason);
		e->file = e->reason = NULL;
		return RK_ERR_NOMEM;
	}
	res->nerrors++;
	return RK_OK;
}

static enum rk_err reject_record(struct ingest_run *run, long long line,
				 const char *fmt, ...) RK_PRINTF(3, 4);

static enum rk_err reject_record(struct ingest_run *run, long long line,
				 const char *fmt, ...)
{
	char reason[INTELMQ_REASON + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	run->rejected++;
	return add_error(run->res, run->log, RK_LOG_WARN, run->name, line,
			 reason);
}

/* A file that cannot be read (as the format) at all: one error with
 * line 0; returns err. */
static enum rk_err reject_file(struct ingest_result *res,
			       const struct rk_log *log, const char *name,
			       enum rk_err err, const char *fmt, ...)
	RK_PRINTF(5, 6);

static enum rk_err reject_file(struct ingest_result *res,
			       const struct rk_log *log, const char *name,
			       enum rk_err err, const char *fmt, ...)
{
	char reason[256];
	va_list ap;
	enum rk_err add_err;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	add_err = add_error(res, log, RK_LOG_ERROR, name, 0, reason);
	return add_err ? add_err : err;
}

/* ------------------------------------------------------------ content */

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static long long line_of(const char *start, const char *at)
{
	long long line = 1;

	for (const char *p = start; (p = memchr(p, '\n', (size_t)(at - p)));
	     p++)
		line++;
	return line;
}

/* Text check over the whole content: no NUL byte, valid UTF-8.  ASCII
 * runs are skipped eight bytes at a time. */
static bool content_is_text(const char *data, size_t len, char *reason,
			    size_t reason_len)
{
	const unsigned char *p = (const unsigned char *)data;
	size_t i = 0;

	if (memchr(data, '\0', len)) {
		const char *nul = memchr(data, '\0', len);

		snprintf(reason, reason_len,
			 "not text: NUL byte on line %lld",
			 line_of(data, nul));
		return false;
	}
	while (i < len) {
		uint64_t word;
		size_t n;

		if (len - i >= 8) {
			memcpy(&word, p + i, 8);
			if (!(word & 0x8080808080808080ull)) {
				i += 8;
				continue;
			}
		}
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		n = p[i] >= 0xf0 ? 4 : p[i] >= 0xe0 ? 3 : p[i] >= 0xc0 ? 2 : 0;
		if (!n || n > len - i || !rk_utf8_valid(data + i, n)) {
			snprintf(reason, reason_len,
				 "not UTF-8 text: invalid byte sequence on "
				 "line %lld",
				 line_of(data, data + i));
			return false;
		}
		i += n;
	}
	return true;
}

/* ------------------------------------------------------------ storing */

static void show_progress(struct ingest_run *run, bool force)
{
	struct timespec now;

	if (!run->opts || !run->opts->progress)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!force && now.tv_sec - run->last_progress.tv_sec < 1)
		return;
	if (force && !run->progress_shown)
		return; /* short files need no progress */
	run->last_progress = now;
	run->progress_shown = true;
	fprintf(stderr, "ingest: %s: %lld events\n", run->name,
		run->events + run->duplicates);
}

static enum rk_err begin(struct ingest_run *run)
{
	enum rk_err err = store_begin(run->store);

	run->in_tx = err == RK_OK;
	return err;
}

static enum rk_err commit(struct ingest_run *run)
{
	enum rk_err err = store_commit(run->store);

	run->in_tx = false;
	if (err)
		return err;
	if (!run->counted) {
		run->res->reports++;
		run->counted = true;
	}
	run->res->events += run->uncounted_events;
	run->res->duplicates += run->uncounted_duplicates;
	run->uncounted_events = run->uncounted_duplicates = 0;
	run->batch = 0;
	return RK_OK;
}

/* One record, already parsed (root is taken over). */
static enum rk_err store_record(struct ingest_run *run, json_t *root,
				long long line, const char *what)
{
	bool duplicate = false;
	enum rk_err err = RK_OK;

	run->records++;
	if ((run->records % INGEST_PROGRESS_EVERY) == 0)
		show_progress(run, false);
	if (!json_is_object(root)) {
		err = reject_record(run, line, "%s is not a JSON object", what);
		goto cleanup;
	}
	run->objects++;
	err = intelmq_normalize(&run->norm, run->cfg, root);
	if (err == RK_ERR_INVAL) {
		err = reject_record(run, line, "%s", run->norm.reason);
		goto cleanup;
	}
	if (err)
		goto cleanup;
	run->norm.ev.report_id = run->report_id;
	if ((err = store_event_add(run->store, &run->norm.ev, NULL,
				   &duplicate)))
		goto cleanup;
	if (duplicate) {
		run->duplicates++;
		run->uncounted_duplicates++;
	} else {
		run->events++;
		run->uncounted_events++;
	}
	/* Long files commit in batches once they are known to be JSON. */
	if (++run->batch >= INGEST_BATCH) {
		if ((err = commit(run)) || (err = begin(run)))
			goto cleanup;
	}
cleanup:
	json_decref(root);
	return err;
}

/* JSON Lines: one object per line, blank lines skipped. */
static enum rk_err read_lines(struct ingest_run *run, const char *data,
			      const char *end)
{
	const char *p = data;
	long long line = 1;
	enum rk_err err = RK_OK;

	for (; p < end && !err; line++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl ? nl : end;
		const char *q = p;
		size_t len = (size_t)(stop - p);
		json_error_t jerr;
		json_t *root;

		while (q < stop && is_ws(*q))
			q++;
		if (q == stop) {
			/* blank */
		} else if (len > RK_MAX_JSON_LINE) {
			run->records++;
			err = reject_record(run, line,
					    "line is longer than "
					    "RK_MAX_JSON_LINE (%u bytes)",
					    RK_MAX_JSON_LINE);
		} else {
			root = json_loadb(p, len, INTELMQ_JSON_FLAGS, &jerr);
			if (root) {
				err = store_record(run, root, line, "line");
			} else {
				run->records++;
				err = reject_record(run, line,
						    "line is not valid JSON: %s",
						    jerr.text);
			}
		}
		p = nl ? nl + 1 : end;
	}
	return err;
}

static const char *skip_ws(const char *p, const char *end, long long *line)
{
	for (; p < end && is_ws(*p); p++)
		if (*p == '\n')
			(*line)++;
	return p;
}

/* One JSON array of objects, element by element, so that each element's
 * line is known and one bad element does not lose the others. */
static enum rk_err read_array(struct ingest_run *run, const char *data,
			      const char *p, const char *end)
{
	long long line = line_of(data, p);
	bool first = true;
	enum rk_err err = RK_OK;

	p++; /* '[' */
	for (;;) {
		size_t cap, avail;
		long long start;
		json_error_t jerr;
		json_t *root;

		p = skip_ws(p, end, &line);
		if (p == end) {
			run->records++;
			return reject_record(run, line,
					     "array is not closed: ']' "
					     "expected at the end of the input");
		}
		if (first && *p == ']') {
			p++;
			break;
		}
		first = false;
		start = line;
		avail = (size_t)(end - p);
		cap = avail > RK_MAX_JSON_LINE ? RK_MAX_JSON_LINE : avail;
		root = json_loadb(p, cap,
				  INTELMQ_JSON_FLAGS | JSON_DISABLE_EOF_CHECK,
				  &jerr);
		if (!root) {
			run->records++;
			if (cap < avail && (size_t)jerr.position >= cap)
				return reject_record(
					run, start,
					"element is longer than "
					"RK_MAX_JSON_LINE (%u bytes); the rest "
					"of the array is skipped",
					RK_MAX_JSON_LINE);
			return reject_record(run, start,
					     "element is not valid JSON (line "
					     "%lld): %s; the rest of the array "
					     "is skipped",
					     start + jerr.line - 1, jerr.text);
		}
		line += line_of(p, p + jerr.position) - 1;
		p += jerr.position;
		if ((err = store_record(run, root, start, "element")))
			return err;
		p = skip_ws(p, end, &line);
		if (p < end && *p == ',') {
			p++;
			continue;
		}
		if (p < end && *p == ']') {
			p++;
			break;
		}
		run->records++;
		return reject_record(run, line,
				     p == end ? "array is not closed: ']' "
						"expected at the end of the "
						"input"
					      : "',' or ']' expected after "
						"an element; the rest of the "
						"array is skipped");
	}
	p = skip_ws(p, end, &line);
	if (p < end) {
		run->records++;
		return reject_record(run, line,
				     "content after the end of the array");
	}
	return RK_OK;
}

/* ------------------------------------------------------------ files */

enum rk_err ingest_buffer(struct rk_store *store, const struct rk_config *cfg,
			  const struct rk_log *log,
			  const struct ingest_options *opts, const char *name,
			  const char *data, size_t len,
			  struct ingest_result *res)
{
	static const char bom[] = "\xef\xbb\xbf";
	struct ingest_run run;
	struct store_report report = {"intelmq", name, NULL};
	const char *p, *end;
	char reason[128];
	long long rejected0 = res->rejected;
	size_t listed0 = res->nerrors;
	enum rk_err err;

	if (len > RK_MAX_REPORT)
		return reject_file(res, log, name, RK_ERR_LIMIT,
				   "file is larger than RK_MAX_REPORT (%u bytes)",
				   RK_MAX_REPORT);
	if (!data)
		data = "";
	if (len >= 3 && memcmp(data, bom, 3) == 0) {
		data += 3;
		len -= 3;
	}
	if (!content_is_text(data, len, reason, sizeof(reason)))
		return reject_file(res, log, name, RK_ERR_PARSE, "%s", reason);
	end = data + len;
	for (p = data; p < end && is_ws(*p); p++)
		;
	if (p < end && *p != '{' && *p != '[')
		return reject_file(res, log, name, RK_ERR_PARSE,
				   "not IntelMQ JSON: neither a JSON object "
				   "per line nor a JSON array (line %lld)",
				   line_of(data, p));

	memset(&run, 0, sizeof(run));
	run.store = store;
	run.cfg = cfg;
	run.log = log;
	run.opts = opts;
	run.name = name;
	run.res = res;
	report.reporter = opts ? opts->reporter : NULL;
	if ((err = intelmq_norm_init(&run.norm)))
		return err;
	clock_gettime(CLOCK_MONOTONIC, &run.last_progress);
	if ((err = begin(&run)) ||
	    (err = store_report_add(store, &report, &run.report_id)))
		goto cleanup;
	run.norm.ev.report_id = run.report_id;
	if (p < end)
		err = *p == '[' ? read_array(&run, data, p, end)
				: read_lines(&run, data, end);
	if (err)
		goto cleanup;
	if (run.objects == 0 && run.rejected > 0) {
		/* Not one record was a JSON object: not this format. */
		store_rollback(store);
		run.in_tx = false;
		err = reject_file(res, log, name, RK_ERR_PARSE,
				  "not IntelMQ JSON: no record is a JSON "
				  "object");
		goto cleanup;
	}
	if ((err = store_report_finish(store, run.report_id, run.events,
				       run.duplicates, run.rejected)) ||
	    (err = commit(&run)))
		goto cleanup;
	show_progress(&run, true);
cleanup:
	if (run.in_tx)
		store_rollback(store);
	intelmq_norm_release(&run.norm);
	if (res->rejected - rejected0 > (long long)(res->nerrors - listed0))
		rk_log_warn(log, "%s: %lld more rejected records not listed "
				 "(RK_MAX_ERRORS_LISTED is %d)",
			    name,
			    res->rejected - rejected0 -
				    (long long)(res->nerrors - listed0),
			    RK_MAX_ERRORS_LISTED);
	return err;
}

enum rk_err ingest_file(struct rk_store *store, const struct rk_config *cfg,
			const struct rk_log *log,
			const struct ingest_options *opts, const char *path,
			struct ingest_result *res)
{
	struct rk_buf content;
	FILE *f = NULL;
	struct stat st;
	enum rk_err err;

	rk_buf_init(&content, RK_MAX_REPORT);
	if (strcmp(path, "-") == 0) {
		f = stdin;
	} else {
		f = fopen(path, "rb");
		if (!f) {
			err = reject_file(res, log, path,
					  errno == ENOENT ? RK_ERR_NOTFOUND
							  : RK_ERR_IO,
					  "cannot open: %s",
					  errno == ENOENT ? "no such file"
					  : errno == EACCES
						  ? "permission denied"
						  : strerror(errno));
			goto cleanup;
		}
		if (fstat(fileno(f), &st) == 0) {
			if (S_ISDIR(st.st_mode)) {
				err = reject_file(res, log, path, RK_ERR_IO,
						  "cannot read: is a directory");
				goto cleanup;
			}
			if (S_ISREG(st.st_mode) &&
			    (unsigned long long)st.st_size > RK_MAX_REPORT) {
				err = reject_file(res, log, path, RK_ERR_LIMIT,
						  "file is larger than "
						  "RK_MAX_REPORT (%u bytes)",
						  RK_MAX_REPORT);
				goto cleanup;
			}
			/* Read a regular file in one allocation. */
			if (S_ISREG(st.st_mode) && st.st_size > 0 &&
			    (err = rk_buf_grow(&content, (size_t)st.st_size)))
				goto cleanup;
		}
	}
	err = rk_buf_read_stream(&content, f);
	if (err == RK_ERR_LIMIT) {
		err = reject_file(res, log, path, RK_ERR_LIMIT,
				  "file is larger than RK_MAX_REPORT (%u bytes)",
				  RK_MAX_REPORT);
		goto cleanup;
	}
	if (err) {
		err = reject_file(res, log, path, err, "cannot read: %s",
				  err == RK_ERR_IO ? "input/output error"
						   : rk_strerror(err));
		goto cleanup;
	}
	err = ingest_buffer(store, cfg, log, opts, path, content.data,
			    content.len, res);
cleanup:
	if (f && f != stdin)
		fclose(f);
	rk_buf_release(&content);
	return err;
}

/* ------------------------------------------------------------ output */

/* A JSON string for text that should be UTF-8 but might not be (file
 * names): invalid bytes become '?'. */
static json_t *json_text(const char *s)
{
	json_t *out;
	char *copy;
	size_t len = strlen(s);

	if (rk_utf8_valid(s, len))
		return json_stringn(s, len);
	copy = rk_strndup(s, len);
	if (!copy)
		return NULL;
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)copy[i];
		size_t n = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3
						    : c >= 0xc0 ? 2 : 0;

		if (n && n <= len - i && rk_utf8_valid(copy + i, n)) {
			i += n;
		} else {
			copy[i] = '?';
			i++;
		}
	}
	out = json_stringn(copy, len);
	free(copy);
	return out;
}

static int dump_to_buf(const char *buffer, size_t size, void *data)
{
	return rk_buf_add(data, buffer, size) == RK_OK ? 0 : -1;
}

enum rk_err ingest_result_json(const struct ingest_result *res,
			       struct rk_buf *out)
{
	json_t *doc = json_object();
	json_t *errors = json_array();
	enum rk_err err = RK_ERR_NOMEM;

	if (!doc || !errors)
		goto cleanup;
	for (size_t i = 0; i < res->nerrors; i++) {
		const struct ingest_error *e = &res->errors[i];
		json_t *item = json_object();

		if (!item || json_array_append_new(errors, item) ||
		    json_object_set_new(item, "file", json_text(e->file)) ||
		    json_object_set_new(item, "line", json_integer(e->line)) ||
		    json_object_set_new(item, "reason", json_text(e->reason)))
			goto cleanup;
	}
	if (json_object_set_new(doc, "reports", json_integer(res->reports)) ||
	    json_object_set_new(doc, "events", json_integer(res->events)) ||
	    json_object_set_new(doc, "duplicates",
				json_integer(res->duplicates)) ||
	    json_object_set_new(doc, "rejected", json_integer(res->rejected)) ||
	    json_object_set(doc, "errors", errors) ||
	    (res->errors_truncated &&
	     json_object_set_new(doc, "errors_truncated", json_true())))
		goto cleanup;
	err = json_dump_callback(doc, dump_to_buf, out,
				 JSON_COMPACT | JSON_PRESERVE_ORDER) == 0
		      ? RK_OK
		      : RK_ERR_LIMIT;
cleanup:
	json_decref(errors);
	json_decref(doc);
	return err;
}
