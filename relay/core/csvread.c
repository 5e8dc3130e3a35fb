/*
 * The shared CSV reader: libcsv underneath, records with their line.
 *
 * The input is cut into physical lines before libcsv sees it, so that the
 * line a record starts on is known: a record is still open after a line
 * only when it continues inside a quoted cell.  A record that would grow
 * past the record limit is not given to libcsv any further (its buffer
 * stays bounded): the rest of it is skipped by counting quotes per line
 * (an even count keeps the quoting state, an odd one flips it) until a
 * line ends outside quotes.
 */
#include <csv.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "renraku/csvread.h"

#define CSV_OPTIONS (CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL)
/* libcsv's parser state "inside a cell" (libcsv.c FIELD_BEGUN): with
 * `quoted` set, the parser is inside quotes. */
#define LIBCSV_FIELD_BEGUN 2

struct rk_csv {
	struct rk_csv_opts o;
	struct csv_parser p;
	bool p_live;

	/* the record being read */
	struct rk_buf rec;      /* cells, each NUL-terminated */
	size_t *off, *len;      /* o.fields.max entries */
	char **cell;            /* o.fields.max entries */
	size_t nfields;         /* cells seen, may exceed the limit */
	size_t rec_bytes;
	long long rec_line;
	size_t index;

	/* position */
	long long line;         /* physical line being fed */
	bool mid_line;          /* the last piece did not end its line */
	bool cr_pending;        /* the last piece ended in "\r" */
	bool started;           /* byte order mark looked for */
	size_t bom_have;        /* bytes of it seen so far */

	/* a record past the limit, being skipped */
	bool skipping, skip_in_quotes;
	bool drop_line;         /* after bad quoting: the rest of the line */

	size_t fed;             /* bytes of input so far */
	size_t problems;
	bool stopped;
	enum rk_err err;
};

static void limit_default(struct rk_csv_limit *l, size_t max, const char *name)
{
	if (!l->name)
		l->name = l->max ? "the limit" : name;
	if (!l->max)
		l->max = max;
}

/* With a tab as the delimiter only spaces are trimmed. */
static int space_only(unsigned char c)
{
	return c == ' ';
}

static enum rk_err parser_init(struct rk_csv *csv)
{
	if (csv->p_live)
		csv_free(&csv->p);
	csv->p_live = false;
	if (csv_init(&csv->p, CSV_OPTIONS))
		return RK_ERR_NOMEM;
	csv->p_live = true;
	csv_set_delim(&csv->p, (unsigned char)csv->o.delim);
	csv_set_quote(&csv->p, (unsigned char)csv->o.quote);
	if (csv->o.delim == '\t')
		csv_set_space_func(&csv->p, space_only);
	return RK_OK;
}

enum rk_err rk_csv_new(struct rk_csv **out, const struct rk_csv_opts *opts)
{
	struct rk_csv *csv = calloc(1, sizeof(*csv));
	enum rk_err err;

	*out = NULL;
	if (!csv)
		return RK_ERR_NOMEM;
	csv->o = *opts;
	if (!csv->o.delim)
		csv->o.delim = ',';
	if (!csv->o.quote)
		csv->o.quote = '"';
	limit_default(&csv->o.input, RK_MAX_REPORT, "RK_MAX_REPORT");
	limit_default(&csv->o.record, RK_MAX_CSV_LINE, "RK_MAX_CSV_LINE");
	limit_default(&csv->o.cell, RK_MAX_FIELD, "RK_MAX_FIELD");
	limit_default(&csv->o.fields, RK_MAX_CSV_FIELDS, "RK_MAX_CSV_FIELDS");
	limit_default(&csv->o.problems, RK_MAX_ERRORS_LISTED,
		      "RK_MAX_ERRORS_LISTED");
	rk_buf_init(&csv->rec, csv->o.record.max + csv->o.fields.max);
	csv->off = calloc(csv->o.fields.max, sizeof(*csv->off));
	csv->len = calloc(csv->o.fields.max, sizeof(*csv->len));
	csv->cell = calloc(csv->o.fields.max, sizeof(*csv->cell));
	if (!csv->off || !csv->len || !csv->cell ||
	    (err = parser_init(csv)) != RK_OK) {
		rk_csv_free(csv);
		return RK_ERR_NOMEM;
	}
	*out = csv;
	return RK_OK;
}

void rk_csv_free(struct rk_csv *csv)
{
	if (!csv)
		return;
	if (csv->p_live)
		csv_free(&csv->p);
	rk_buf_release(&csv->rec);
	free(csv->off);
	free(csv->len);
	free(csv->cell);
	free(csv);
}

static enum rk_err vproblem(struct rk_csv *csv, long long line,
			    const char *fmt, va_list ap) RK_PRINTF(3, 0);
static enum rk_err vproblem(struct rk_csv *csv, long long line,
			    const char *fmt, va_list ap)
{
	char reason[512];

	if (csv->err || csv->stopped)
		return csv->err;
	if (csv->problems == csv->o.problems.max) {
		snprintf(reason, sizeof(reason),
			 "more than %s (%zu) problems; the rest of the file was "
			 "not read", csv->o.problems.name, csv->o.problems.max);
		csv->stopped = true;
	} else {
		vsnprintf(reason, sizeof(reason), fmt, ap);
		csv->problems++;
	}
	if (csv->o.on_problem)
		csv->err = csv->o.on_problem(csv->o.arg, line, reason);
	return csv->err;
}

enum rk_err rk_csv_problem(struct rk_csv *csv, long long line,
			   const char *fmt, ...)
{
	va_list ap;
	enum rk_err err;

	va_start(ap, fmt);
	err = vproblem(csv, line, fmt, ap);
	va_end(ap);
	return err;
}

size_t rk_csv_problem_count(const struct rk_csv *csv)
{
	return csv->problems;
}

bool rk_csv_stopped(const struct rk_csv *csv)
{
	return csv->stopped;
}

static void rec_reset(struct rk_csv *csv)
{
	csv->nfields = 0;
	csv->rec_bytes = 0;
	rk_buf_reset(&csv->rec);
}

static void deliver(struct rk_csv *csv, bool skipped)
{
	struct rk_csv_record r;

	if (csv->err || csv->stopped)
		return;
	memset(&r, 0, sizeof(r));
	r.line = csv->rec_line;
	r.index = csv->index++;
	r.skipped = skipped;
	if (!skipped) {
		for (size_t i = 0; i < csv->nfields; i++)
			csv->cell[i] = csv->rec.data + csv->off[i];
		r.nfields = csv->nfields;
		r.field = csv->cell;
		r.len = csv->len;
	}
	if (csv->o.on_record)
		csv->err = csv->o.on_record(csv->o.arg, csv, &r);
}

static void skipped(struct rk_csv *csv, const char *fmt, ...) RK_PRINTF(2, 3);
static void skipped(struct rk_csv *csv, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vproblem(csv, csv->rec_line, fmt, ap);
	va_end(ap);
	deliver(csv, true);
}

/* Whether s[0..len) is ASCII without NUL (so text_ok's checks pass),
 * eight bytes at a time: most cells are. */
static bool plain_ascii(const char *s, size_t len)
{
	const uint64_t ones = 0x0101010101010101ull;
	const uint64_t highs = 0x8080808080808080ull;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t w;

		memcpy(&w, s + i, 8);
		if ((w & highs) || ((w - ones) & ~w & highs))
			return false;
	}
	for (; i < len; i++)
		if (s[i] == '\0' || (unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

static bool text_ok(struct rk_csv *csv)
{
	for (size_t i = 0; i < csv->nfields; i++) {
		const char *s = csv->rec.data + csv->off[i];

		if (plain_ascii(s, csv->len[i]))
			continue;
		if (memchr(s, '\0', csv->len[i])) {
			skipped(csv, "NUL byte in cell %zu: this is not a text file",
				i + 1);
			return false;
		}
		if (!rk_utf8_valid(s, csv->len[i])) {
			skipped(csv, "cell %zu is not valid UTF-8 (save the file as UTF-8)",
				i + 1);
			return false;
		}
	}
	return true;
}

/* libcsv: end of a cell. */
static void on_cell(void *s, size_t n, void *data)
{
	struct rk_csv *csv = data;
	enum rk_err err;

	if (csv->err || csv->stopped)
		return;
	csv->nfields++;
	if (csv->nfields > csv->o.fields.max)
		return;
	csv->off[csv->nfields - 1] = csv->rec.len;
	csv->len[csv->nfields - 1] = n;
	err = rk_buf_add(&csv->rec, s, n);
	if (!err)
		err = rk_buf_addc(&csv->rec, '\0');
	if (err)
		csv->err = err; /* cannot be RK_ERR_LIMIT: bytes are counted */
}

/* libcsv: end of a record. */
static void on_row(int c, void *data)
{
	struct rk_csv *csv = data;

	(void)c;
	if (csv->err || csv->stopped)
		goto done;
	if (csv->nfields > csv->o.fields.max) {
		skipped(csv, "more than %s (%zu) fields", csv->o.fields.name,
			csv->o.fields.max);
		goto done;
	}
	for (size_t i = 0; i < csv->nfields; i++) {
		if (csv->len[i] > csv->o.cell.max) {
			skipped(csv, "cell %zu longer than %s (%zu bytes)", i + 1,
				csv->o.cell.name, csv->o.cell.max);
			goto done;
		}
	}
	if (!csv->o.check_text || text_ok(csv))
		deliver(csv, false);
done:
	rec_reset(csv);
}

/* A record is still open after a whole physical line only inside a
 * quoted cell: then cells were already submitted or libcsv's cell buffer
 * holds at least the line break. */
static bool rec_open(const struct rk_csv *csv)
{
	return csv->nfields > 0 || csv->p.entry_pos > 0;
}

const char *csvread_line_end(const char *p, const char *end)
{
	for (; p < end; p++) {
		if (*p == '\n')
			return p + 1;
		if (*p == '\r')
			return p + 1 < end && p[1] == '\n' ? p + 2 : p + 1;
	}
	return end;
}

static bool odd_quotes(const char *p, size_t n)
{
	size_t count = 0;

	for (size_t i = 0; i < n; i++)
		count += p[i] == '"';
	return count & 1;
}

/* Give n bytes to libcsv; false after bad quoting (reported; the rest of
 * the line, up to line_ends, is dropped). */
static bool parse_bytes(struct rk_csv *csv, const char *p, size_t n,
			bool line_ends)
{
	size_t used = csv_parse(&csv->p, p, n, on_cell, on_row, csv);

	if (used >= n || csv->err || csv->stopped)
		return true;
	if (csv_error(&csv->p) != CSV_EPARSE) {
		csv->err = RK_ERR_NOMEM;
		return false;
	}
	if (csv->line != csv->rec_line)
		skipped(csv, "bad quoting on line %lld: a quoted field must end "
			     "with \" and a \" inside it be doubled (\"\")",
			csv->line);
	else
		skipped(csv, "bad quoting: a quoted field must end with \" and "
			     "a \" inside it be doubled (\"\")");
	/* Resynchronise at the next physical line. */
	rec_reset(csv);
	if (!csv->err)
		csv->err = parser_init(csv);
	csv->drop_line = !line_ends;
	return false;
}

/* One piece of a physical line (all of it, or up to the end of a chunk);
 * ends: the piece holds the line's end; continuation: the "\n" of a
 * "\r\n" cut between chunks (no new line).  The record limit counts
 * every byte but is only ever met inside a line's text, never inside its
 * line break, so the bytes libcsv sees of an over-long record are the
 * same however the input is cut. */
static void piece(struct rk_csv *csv, const char *p, size_t n, bool ends,
		  bool continuation)
{
	size_t max = csv->o.record.max, text = n, allowed;

	if (continuation) {
		if (!csv->skipping && !csv->drop_line) {
			csv->rec_bytes += n;
			parse_bytes(csv, p, n, true);
		}
		return;
	}
	if (!csv->mid_line) {
		csv->line++;
		if (!csv->skipping && !rec_open(csv)) {
			csv->rec_line = csv->line;
			rec_reset(csv);
		}
	}
	csv->mid_line = !ends;
	if (csv->drop_line) {
		csv->drop_line = !ends;
		return;
	}
	if (ends)
		text -= n >= 2 && p[n - 2] == '\r' && p[n - 1] == '\n' ? 2 : 1;
	if (!csv->skipping &&
	    (csv->rec_bytes > max || csv->rec_bytes + text > max)) {
		/* Too long: libcsv gets no more of this record than the
		 * limit allows. */
		allowed = csv->rec_bytes >= max ? 0 : max - csv->rec_bytes;
		if (allowed && !parse_bytes(csv, p, allowed, ends))
			return;
		if (csv->err || csv->stopped)
			return;
		csv->skipping = true;
		csv->skip_in_quotes = csv->p.quoted &&
				      csv->p.pstate == LIBCSV_FIELD_BEGUN;
		rec_reset(csv);
		if ((csv->err = parser_init(csv)))
			return;
		p += allowed;
		n -= allowed;
	}
	if (csv->skipping) {
		csv->skip_in_quotes ^= odd_quotes(p, n);
		if (ends && !csv->skip_in_quotes) {
			csv->skipping = false;
			skipped(csv, "record longer than %s (%zu bytes)",
				csv->o.record.name, csv->o.record.max);
		}
		return;
	}
	csv->rec_bytes += n;
	parse_bytes(csv, p, n, ends);
}

static const char utf8_bom[] = "\xef\xbb\xbf";

static enum rk_err feed_data(struct rk_csv *csv, const char *p, const char *end)
{
	if (csv->cr_pending && p < end && *p == '\n') {
		/* the "\n" of a "\r\n" cut between two chunks */
		piece(csv, p, 1, true, true);
		p++;
	}
	csv->cr_pending = false;
	while (p < end && !csv->err && !csv->stopped) {
		const char *next = csvread_line_end(p, end);
		size_t n = (size_t)(next - p);
		bool ends = next[-1] == '\n' || next[-1] == '\r';

		csv->cr_pending = next == end && next[-1] == '\r';
		piece(csv, p, n, ends, false);
		p = next;
	}
	return csv->err;
}

enum rk_err rk_csv_feed(struct rk_csv *csv, const char *data, size_t len)
{
	const char *p = data, *end = data + len;

	if (csv->err || csv->stopped || !len)
		return csv->err;
	if (len > csv->o.input.max - csv->fed) {
		/* the chunk that crosses the limit and all after it are
		 * not read */
		rk_csv_problem(csv, csv->line + !csv->mid_line,
			       "input larger than %s (%zu bytes); the rest was not read",
			       csv->o.input.name, csv->o.input.max);
		csv->stopped = true;
		return csv->err;
	}
	csv->fed += len;
	/* A UTF-8 byte order mark at the start is skipped, even when it is
	 * cut between chunks. */
	while (!csv->started && p < end) {
		if (*p == utf8_bom[csv->bom_have]) {
			p++;
			csv->started = ++csv->bom_have == 3;
		} else {
			csv->started = true;
			if (csv->bom_have &&
			    feed_data(csv, utf8_bom, utf8_bom + csv->bom_have))
				return csv->err;
		}
	}
	return feed_data(csv, p, end);
}

enum rk_err rk_csv_finish(struct rk_csv *csv)
{
	if (!csv->started && csv->bom_have) {
		csv->started = true; /* a file of a BOM's first bytes only */
		if (feed_data(csv, utf8_bom, utf8_bom + csv->bom_have))
			return csv->err;
	}
	if (csv->err || csv->stopped)
		return csv->err;
	if (csv->skipping) {
		csv->skipping = false;
		skipped(csv, "record longer than %s (%zu bytes)",
			csv->o.record.name, csv->o.record.max);
		return csv->err;
	}
	if (csv_fini(&csv->p, on_cell, on_row, csv) != 0 && !csv->err) {
		skipped(csv, "unterminated quoted field (a closing \" is missing)");
		rec_reset(csv);
	}
	return csv->err;
}

enum rk_err rk_csv_read(const struct rk_csv_opts *opts, const char *data,
			size_t len)
{
	struct rk_csv *csv;
	enum rk_err err;

	if ((err = rk_csv_new(&csv, opts)))
		return err;
	err = rk_csv_feed(csv, data, len);
	if (!err)
		err = rk_csv_finish(csv);
	rk_csv_free(csv);
	return err;
}
