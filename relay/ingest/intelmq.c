/*
 * The IntelMQ format: events as JSON, either one object per line (JSON
 * Lines, IntelMQ's file output) or one array of objects.  The reader
 * yields each object with the line it starts on; ingest_normalize does
 * the rest.
 *
 * Each line or element is parsed by yajl's event parser into Jansson
 * values (bench/README.md: yajl's parser is about seven times faster
 * than json_loadb on the same lines; the records stay Jansson values, as
 * every reader yields them).  The rules are json_loadb's with
 * INGEST_JSON_FLAGS: any value at the top (the driver rejects what is
 * not an object), duplicate keys and "\u0000" rejected, integers that
 * do not fit 64 bits and reals that overflow rejected, nesting at most
 * JSON_MAX_DEPTH deep.  The rare value yajl would read otherwise (a
 * surrogate escape, a form feed or vertical tab) is read by json_loadb.
 * tests/fuzz/fuzz_intelmq.c checks the two agree.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "private.h"

/* Nesting json_loadb allows (its JSON_PARSER_MAX_DEPTH): deeper values
 * could exhaust the stack when released. */
#define JSON_MAX_DEPTH 2048

/* Building one value from yajl's events. */
struct builder {
	json_t *root;          /* the value being built, owned */
	json_t **stack;        /* open containers, JSON_MAX_DEPTH */
	size_t depth;
	struct rk_buf key;     /* the object key waiting for its value */
	struct rk_buf num;     /* a number's text, NUL-terminated */
	bool nomem;
	char error[128];       /* why the builder stopped the parse */
};

enum layout { LAYOUT_LINES, LAYOUT_ARRAY };

enum array_state {
	ARRAY_ELEMENTS, /* before an element (or the closing ']') */
	ARRAY_CLOSED,   /* after ']': only white space may follow */
	ARRAY_DONE
};

/* The fast path: one record's leaves straight into the driver's
 * normalizer (ingest_norm_field), no JSON object built.  Anything out of
 * the ordinary (an array, a duplicate or rejected key or field, a parse
 * error, text yajl reads otherwise than json_loadb) gives up on it and
 * the record is read again through the builder: the outcome and reasons
 * are the builder's by construction. */
struct flat {
	struct ingest_norm *n;  /* borrowed: the record's */
	struct rk_buf path;     /* the flattened name of the current key */
	size_t prefix[RK_MAX_JSON_DEPTH + 2]; /* path length at each depth */
	int depth;              /* objects open (1: inside the record) */
	bool done;              /* the record's object closed */
	bool bail;              /* give up: read it through the builder */
	struct rk_buf num;      /* a number's text, NUL-terminated */
};

struct intelmq_reader {
	struct builder b;
	struct flat f;
	const struct rk_config *cfg;
	const char *data, *p, *end;
	long long line;        /* line of p */
	enum layout layout;
	enum array_state state;
	bool first;            /* no element read yet */
	/* A problem found after the element just returned, reported by
	 * the next call. */
	bool pending;
	long long pending_line;
	const char *pending_reason; /* static */
	size_t max_line;       /* [ingest] max_line */
};

/* ------------------------------------------------------------ yajl */

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int stop(struct builder *b, const char *why)
{
	snprintf(b->error, sizeof(b->error), "%s", why);
	return 0;
}

/* value (a new reference, taken over) into the open container, or as
 * the root; a container is opened. */
static int add(struct builder *b, json_t *value)
{
	json_t *parent;
	bool open = json_is_object(value) || json_is_array(value);

	if (!value) {
		b->nomem = true;
		return stop(b, "out of memory");
	}
	if (b->depth == 0) {
		json_decref(b->root);
		b->root = value;
	} else {
		parent = b->stack[b->depth - 1];
		if (json_is_array(parent)) {
			if (json_array_append_new(parent, value)) {
				b->nomem = true;
				return stop(b, "out of memory");
			}
		} else {
			if (json_object_get(parent, b->key.data)) {
				char why[100];

				json_decref(value);
				snprintf(why, sizeof(why),
					 "duplicate object key '%.64s'",
					 b->key.data);
				return stop(b, why);
			}
			if (json_object_set_new_nocheck(parent, b->key.data,
							value)) {
				b->nomem = true;
				return stop(b, "out of memory");
			}
		}
	}
	if (open) {
		if (b->depth == JSON_MAX_DEPTH)
			return stop(b, "maximum parsing depth reached");
		b->stack[b->depth++] = value;
	}
	return 1;
}

static int on_null(void *ctx)
{
	return add(ctx, json_null());
}

static int on_boolean(void *ctx, int v)
{
	return add(ctx, json_boolean(v));
}

static int on_number(void *ctx, const char *s, size_t len)
{
	struct builder *b = ctx;
	char *end;

	rk_buf_reset(&b->num);
	if (rk_buf_add(&b->num, s, len)) {
		b->nomem = true;
		return stop(b, "out of memory");
	}
	errno = 0;
	if (memchr(s, '.', len) || memchr(s, 'e', len) || memchr(s, 'E', len)) {
		double d = strtod(b->num.data, &end);

		if (!isfinite(d))
			return stop(b, "real number overflow");
		return add(b, json_real(d));
	} else {
		long long v = strtoll(b->num.data, &end, 10);

		if (errno == ERANGE)
			return stop(b, v < 0 ? "too big negative integer"
					     : "too big integer");
		return add(b, json_integer(v));
	}
}

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
	if (memchr(s, '\0', len))
		return stop(ctx, "\\u0000 is not allowed without "
				 "JSON_ALLOW_NUL");
	return add(ctx, json_stringn_nocheck((const char *)s, len));
}

static int on_key(void *ctx, const unsigned char *s, size_t len)
{
	struct builder *b = ctx;

	if (memchr(s, '\0', len))
		return stop(b, "NUL byte in object key not supported");
	rk_buf_reset(&b->key);
	if (rk_buf_add(&b->key, s, len)) {
		b->nomem = true;
		return stop(b, "out of memory");
	}
	return 1;
}

static int on_start_map(void *ctx)
{
	return add(ctx, json_object());
}

static int on_start_array(void *ctx)
{
	return add(ctx, json_array());
}

static int on_end(void *ctx)
{
	struct builder *b = ctx;

	b->depth--;
	return 1;
}

static const yajl_callbacks callbacks = {
	.yajl_null = on_null,
	.yajl_boolean = on_boolean,
	.yajl_number = on_number,
	.yajl_string = on_string,
	.yajl_start_map = on_start_map,
	.yajl_map_key = on_key,
	.yajl_end_map = on_end,
	.yajl_start_array = on_start_array,
	.yajl_end_array = on_end,
};

/* The outcome of parsing one value. */
struct parsed {
	json_t *value;   /* owned by the caller; NULL on error */
	size_t end;      /* bytes up to the end of the value, or up to where
			    the error was found */
	bool eof;        /* the error is that the text ended early */
	char error[JSON_ERROR_TEXT_LENGTH];
};

/* Whether text has a "\uD800".."\uDFFF" escape: yajl turns a lone
 * surrogate into '?' or bytes that are not UTF-8 where json_loadb
 * rejects it, so such text is left to json_loadb. */
static bool has_surrogate_escape(const char *text, size_t len)
{
	const char *p = text, *end = text + len;

	while ((p = memchr(p, '\\', (size_t)(end - p)))) {
		if (end - p >= 6 && p[1] == 'u' && (p[2] == 'd' || p[2] == 'D') &&
		    strchr("89abcdefABCDEF", p[3]))
			return true;
		p += p + 1 < end ? 2 : 1; /* an escape is two bytes at least */
	}
	return false;
}

/* Text yajl reads otherwise than json_loadb: a surrogate escape, or a
 * form feed or vertical tab (white space to yajl, not to JSON; a raw
 * control character in a string is an error to both). */
static bool needs_jansson(const char *text, size_t len)
{
	return memchr(text, '\f', len) || memchr(text, '\v', len) ||
	       has_surrogate_escape(text, len);
}

/* The same with json_loadb (INGEST_JSON_FLAGS), for the rare text
 * needs_jansson finds. */
static void parse_jansson(const char *text, size_t len, bool rest,
			  struct parsed *out)
{
	json_error_t jerr;

	memset(out, 0, sizeof(*out));
	out->value = json_loadb(text, len,
				INGEST_JSON_FLAGS |
					(rest ? JSON_DISABLE_EOF_CHECK : 0),
				&jerr);
	if (out->value) {
		out->end = rest ? (size_t)jerr.position : len;
		return;
	}
	out->end = (size_t)jerr.position;
	out->eof = (size_t)jerr.position >= len;
	snprintf(out->error, sizeof(out->error), "%s", jerr.text);
}

/* One JSON value from text[0..len): the whole text (rest) when !rest,
 * else its first value, the rest left (rest: bytes after it).
 * RK_ERR_NOMEM, else RK_OK with out->value or out->error. */
static enum rk_err parse_value(struct builder *b, const char *text,
			       size_t len, bool rest, struct parsed *out)
{
	yajl_handle h = yajl_alloc(&callbacks, NULL, b);
	yajl_status st;

	memset(out, 0, sizeof(*out));
	if (!h)
		return RK_ERR_NOMEM;
	b->root = NULL;
	b->depth = 0;
	b->nomem = false;
	b->error[0] = '\0';
	/* The parse stops at the end of the first value; what follows is
	 * checked here (yajl lets an unterminated string through). */
	yajl_config(h, yajl_allow_trailing_garbage, 1);
	st = yajl_parse(h, (const unsigned char *)text, len);
	out->end = yajl_get_bytes_consumed(h);
	if (st == yajl_status_ok && (!b->root || b->depth > 0)) {
		/* the text ended inside the value (or a number) */
		st = yajl_complete_parse(h);
		if (st != yajl_status_ok)
			out->eof = b->depth > 0 || !b->root;
	}
	if (st == yajl_status_ok && b->root && !rest) {
		for (size_t i = out->end; i < len; i++) {
			if (!is_ws(text[i])) {
				out->end = i;
				snprintf(out->error, sizeof(out->error),
					 "end of file expected");
				st = yajl_status_error;
				break;
			}
		}
	}
	if (out->error[0]) {
		/* said above */
	} else if (st == yajl_status_ok && b->root) {
		out->value = b->root;
		b->root = NULL;
	} else if (b->nomem) {
		st = yajl_status_error;
	} else if (b->error[0]) {
		snprintf(out->error, sizeof(out->error), "%s", b->error);
	} else {
		unsigned char *e = yajl_get_error(h, 0, NULL, 0);
		char *nl;

		snprintf(out->error, sizeof(out->error), "%s",
			 e ? (const char *)e : "not JSON");
		if ((nl = strchr(out->error, '\n')))
			*nl = '\0';
		if (e)
			yajl_free_error(h, e);
	}
	yajl_free(h);
	json_decref(b->root);
	b->root = NULL;
	if (b->nomem)
		return RK_ERR_NOMEM;
	if (out->value && needs_jansson(text, out->end)) {
		json_decref(out->value);
		parse_jansson(text, len, rest, out);
	}
	return RK_OK;
}

/* ------------------------------------------------------------ fast path */

static int flat_bail(struct flat *f)
{
	f->bail = true;
	return 0;
}

/* A leaf (a new reference, NULL: out of memory) under the current key. */
static int flat_leaf(struct flat *f, json_t *value)
{
	if (!value || f->depth < 1 || f->done) {
		json_decref(value);
		return flat_bail(f); /* a record that is not an object */
	}
	if (ingest_norm_field(f->n, f->path.data, f->path.len, value,
			      f->depth))
		return flat_bail(f);
	return 1;
}

static int flat_null(void *ctx)
{
	return flat_leaf(ctx, json_null());
}

static int flat_boolean(void *ctx, int v)
{
	return flat_leaf(ctx, json_boolean(v));
}

/* The builder's rules (on_number); anything it would stop on, bail. */
static int flat_number(void *ctx, const char *s, size_t len)
{
	struct flat *f = ctx;
	char *end;

	rk_buf_reset(&f->num);
	if (rk_buf_add(&f->num, s, len))
		return flat_bail(f);
	errno = 0;
	if (memchr(s, '.', len) || memchr(s, 'e', len) || memchr(s, 'E', len)) {
		double d = strtod(f->num.data, &end);

		if (!isfinite(d))
			return flat_bail(f);
		return flat_leaf(f, json_real(d));
	} else {
		long long v = strtoll(f->num.data, &end, 10);

		if (errno == ERANGE)
			return flat_bail(f);
		return flat_leaf(f, json_integer(v));
	}
}

static int flat_string(void *ctx, const unsigned char *s, size_t len)
{
	if (memchr(s, '\0', len))
		return flat_bail(ctx);
	return flat_leaf(ctx, json_stringn_nocheck((const char *)s, len));
}

/* rk_str_has_ctl(s, false) of s[0..len) (no NUL in it): a byte below
 * 0x20 or 0x7f, eight bytes at a time. */
static bool has_ctl(const char *s, size_t len)
{
	const uint64_t ones = 0x0101010101010101ull;
	const uint64_t highs = 0x8080808080808080ull;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t w, d;

		memcpy(&w, s + i, 8);
		d = w ^ (0x7f * ones);
		if (((w - 0x20 * ones) & ~w & highs) ||
		    ((d - ones) & ~d & highs))
			return true;
	}
	for (; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

/* The key's name joined to the object's: flatten's checks (not empty,
 * no control character) fail over to the builder, which says why. */
static int flat_key(void *ctx, const unsigned char *s, size_t len)
{
	struct flat *f = ctx;
	size_t start = f->prefix[f->depth];

	if (len == 0 || memchr(s, '\0', len))
		return flat_bail(f);
	rk_buf_truncate(&f->path, start);
	if ((start && rk_buf_addc(&f->path, '.')) ||
	    rk_buf_add(&f->path, s, len))
		return flat_bail(f);
	if (has_ctl((const char *)s, len))
		return flat_bail(f);
	return 1;
}

static int flat_start_map(void *ctx)
{
	struct flat *f = ctx;

	if (f->done)
		return flat_bail(f);
	if (f->depth == 0) {
		f->depth = 1;
		f->prefix[1] = 0;
		rk_buf_reset(&f->path);
		return 1;
	}
	if (f->depth + 1 > RK_MAX_JSON_DEPTH)
		return flat_bail(f); /* flatten's limit: its reason */
	f->depth++;
	f->prefix[f->depth] = f->path.len;
	return 1;
}

static int flat_end_map(void *ctx)
{
	struct flat *f = ctx;

	if (--f->depth == 0)
		f->done = true;
	return 1;
}

static int flat_start_array(void *ctx)
{
	return flat_bail(ctx); /* kept as a value: the builder's */
}

static const yajl_callbacks flat_callbacks = {
	.yajl_null = flat_null,
	.yajl_boolean = flat_boolean,
	.yajl_number = flat_number,
	.yajl_string = flat_string,
	.yajl_start_map = flat_start_map,
	.yajl_map_key = flat_key,
	.yajl_end_map = flat_end_map,
	.yajl_start_array = flat_start_array,
	.yajl_end_array = flat_start_array,
};

/* The fast path of parse_value: the fields of the object text[0..len)
 * (!rest: and only white space after it) into n, *end the bytes up to
 * its end.  false when the record must be read by parse_value instead
 * (n is then in any state: ingest_normalize starts it afresh). */
static bool parse_fields(struct flat *f, struct ingest_norm *n,
			 const struct rk_config *cfg, const char *text,
			 size_t len, bool rest, size_t *end)
{
	yajl_handle h;
	yajl_status st;

	f->n = n;
	f->depth = 0;
	f->done = false;
	f->bail = false;
	ingest_norm_start(n, cfg);
	h = yajl_alloc(&flat_callbacks, NULL, f);
	if (!h)
		return false;
	yajl_config(h, yajl_allow_trailing_garbage, 1);
	st = yajl_parse(h, (const unsigned char *)text, len);
	*end = yajl_get_bytes_consumed(h);
	yajl_free(h);
	if (st != yajl_status_ok || f->bail || !f->done)
		return false;
	if (!rest)
		for (size_t i = *end; i < len; i++)
			if (!is_ws(text[i]))
				return false;
	return !needs_jansson(text, *end);
}

/* ------------------------------------------------------------ reading */

static const char *skip_ws(const char *p, const char *end, long long *line)
{
	for (; p < end && is_ws(*p); p++)
		if (*p == '\n')
			(*line)++;
	return p;
}

static bool has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), m = strlen(suffix);

	return n >= m && rk_str_ieq(name + n - m, suffix);
}

static int intelmq_detect(const char *name, const char *data, size_t len)
{
	const char *p = ingest_skip_bom(data, &len), *end = p + len;
	bool named = name && (has_suffix(name, ".json") ||
			      has_suffix(name, ".jsonl") ||
			      has_suffix(name, ".ndjson"));

	while (p < end && is_ws(*p))
		p++;
	if (p < end && *p != '{' && *p != '[')
		return 0;
	return named ? 2 : 1; /* empty content is an empty report */
}

static enum rk_err intelmq_open(const struct ingest_source *src, void **out,
				char *reason, size_t reason_len)
{
	struct intelmq_reader *r;
	const char *p, *data = src->data;
	size_t len = src->len;

	*out = NULL;
	data = ingest_skip_bom(data, &len);
	if (!ingest_text_check_input(src, data, len, reason, reason_len))
		return RK_ERR_PARSE;
	for (p = data; p < data + len && is_ws(*p); p++)
		;
	if (p < data + len && *p != '{' && *p != '[') {
		snprintf(reason, reason_len,
			 "not IntelMQ JSON: neither a JSON object per line nor "
			 "a JSON array (line %lld)",
			 ingest_line_of(data, p));
		return RK_ERR_PARSE;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return RK_ERR_NOMEM;
	r->b.stack = calloc(JSON_MAX_DEPTH, sizeof(*r->b.stack));
	if (!r->b.stack) {
		free(r);
		return RK_ERR_NOMEM;
	}
	rk_buf_init(&r->b.key, RK_MAX_JSON_LINE);
	rk_buf_init(&r->b.num, RK_MAX_JSON_LINE);
	rk_buf_init(&r->f.path, RK_MAX_JSON_LINE);
	rk_buf_init(&r->f.num, RK_MAX_JSON_LINE);
	r->cfg = src->cfg;
	r->data = data;
	r->end = data + len;
	r->first = true;
	r->max_line = ingest_max_line(src->cfg);
	if (p < r->end && *p == '[') {
		r->layout = LAYOUT_ARRAY;
		r->line = ingest_line_of(data, p);
		r->p = p + 1;
	} else {
		r->layout = LAYOUT_LINES;
		r->line = 1;
		r->p = data;
	}
	*out = r;
	return RK_OK;
}

static void bad(struct ingest_record *rec, long long line, const char *fmt,
		...) RK_PRINTF(3, 4);

static void bad(struct ingest_record *rec, long long line, const char *fmt,
		...)
{
	va_list ap;

	rec->kind = INGEST_RECORD_BAD;
	rec->line = line;
	va_start(ap, fmt);
	vsnprintf(rec->reason, sizeof(rec->reason), fmt, ap);
	va_end(ap);
}

/* JSON Lines: one object per line, blank lines skipped. */
static enum rk_err next_line(struct intelmq_reader *r,
			     struct ingest_record *rec)
{
	while (r->p < r->end) {
		const char *nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
		const char *stop = nl ? nl : r->end, *start = r->p, *q = r->p;
		size_t len = (size_t)(stop - start);
		long long line = r->line++;
		struct parsed v;

		r->p = nl ? nl + 1 : r->end;
		while (q < stop && is_ws(*q))
			q++;
		if (q == stop)
			continue; /* blank */
		rec->what = "line";
		if (len > r->max_line) {
			bad(rec, line,
			    "line is longer than RK_MAX_JSON_LINE (%zu bytes)",
			    r->max_line);
			return RK_OK;
		}
		if (rec->norm) {
			size_t end;

			if (parse_fields(&r->f, rec->norm, r->cfg, start, len,
					 false, &end)) {
				rec->kind = INGEST_RECORD_FIELDS;
				rec->line = line;
				return RK_OK;
			}
		}
		if (parse_value(&r->b, start, len, false, &v))
			return RK_ERR_NOMEM;
		if (!v.value) {
			bad(rec, line, "line is not valid JSON: %s", v.error);
			return RK_OK;
		}
		rec->value = v.value;
		rec->kind = INGEST_RECORD_VALUE;
		rec->line = line;
		return RK_OK;
	}
	rec->kind = INGEST_RECORD_END;
	return RK_OK;
}

static enum rk_err after_element(struct intelmq_reader *r, size_t used);

/* One JSON array of objects, element by element, so that each element's
 * line is known and one bad element does not lose the others before it. */
static enum rk_err next_element(struct intelmq_reader *r,
				struct ingest_record *rec)
{
	size_t cap, avail;
	long long start;
	struct parsed v;

	rec->what = "element";
	if (r->pending) {
		r->pending = false;
		r->state = ARRAY_DONE;
		bad(rec, r->pending_line, "%s", r->pending_reason);
		return RK_OK;
	}
	if (r->state == ARRAY_CLOSED) {
		r->state = ARRAY_DONE;
		r->p = skip_ws(r->p, r->end, &r->line);
		if (r->p < r->end) {
			bad(rec, r->line, "content after the end of the array");
			return RK_OK;
		}
	}
	if (r->state == ARRAY_DONE) {
		rec->kind = INGEST_RECORD_END;
		return RK_OK;
	}
	r->p = skip_ws(r->p, r->end, &r->line);
	if (r->p == r->end) {
		r->state = ARRAY_DONE;
		bad(rec, r->line,
		    "array is not closed: ']' expected at the end of the input");
		return RK_OK;
	}
	if (r->first && *r->p == ']') {
		r->p++;
		r->state = ARRAY_CLOSED;
		return next_element(r, rec);
	}
	r->first = false;
	start = r->line;
	avail = (size_t)(r->end - r->p);
	cap = avail > r->max_line ? r->max_line : avail;
	if (rec->norm && parse_fields(&r->f, rec->norm, r->cfg, r->p, cap,
				      true, &v.end)) {
		rec->kind = INGEST_RECORD_FIELDS;
		rec->line = start;
		return after_element(r, v.end);
	}
	if (parse_value(&r->b, r->p, cap, true, &v))
		return RK_ERR_NOMEM;
	if (!v.value) {
		r->state = ARRAY_DONE;
		if (cap < avail && v.eof)
			bad(rec, start,
			    "element is longer than RK_MAX_JSON_LINE (%zu "
			    "bytes); the rest of the array is skipped",
			    r->max_line);
		else
			bad(rec, start,
			    "element is not valid JSON (line %lld): %s; the "
			    "rest of the array is skipped",
			    ingest_line_of(r->p, r->p + v.end) + start - 1,
			    v.error);
		return RK_OK;
	}
	rec->value = v.value;
	rec->kind = INGEST_RECORD_VALUE;
	rec->line = start;
	return after_element(r, v.end);
}

/* Past an element of used bytes: the ',' or ']' after it, or the problem
 * the next call reports. */
static enum rk_err after_element(struct intelmq_reader *r, size_t used)
{
	r->line += ingest_line_of(r->p, r->p + used) - 1;
	r->p += used;
	r->p = skip_ws(r->p, r->end, &r->line);
	if (r->p < r->end && *r->p == ',') {
		r->p++;
	} else if (r->p < r->end && *r->p == ']') {
		r->p++;
		r->state = ARRAY_CLOSED;
	} else {
		r->pending = true;
		r->pending_line = r->line;
		r->pending_reason =
			r->p == r->end
				? "array is not closed: ']' expected at the "
				  "end of the input"
				: "',' or ']' expected after an element; the "
				  "rest of the array is skipped";
	}
	return RK_OK;
}

static enum rk_err intelmq_next(void *reader, struct ingest_record *rec)
{
	struct intelmq_reader *r = reader;

	enum rk_err err;

	rec->kind = INGEST_RECORD_END;
	rec->value = NULL;
	rec->reason[0] = '\0';
	if (r->layout == LAYOUT_LINES)
		err = next_line(r, rec);
	else
		err = next_element(r, rec);
	rec->offset = (size_t)(r->p - r->data);
	return err;
}

static void intelmq_close(void *reader)
{
	struct intelmq_reader *r = reader;

	if (!r)
		return;
	free(r->b.stack);
	rk_buf_release(&r->b.key);
	rk_buf_release(&r->b.num);
	rk_buf_release(&r->f.path);
	rk_buf_release(&r->f.num);
	free(r);
}

const struct ingest_format_ops ingest_format_intelmq = {
	.name = "intelmq",
	.id = INGEST_FORMAT_INTELMQ,
	.label = "IntelMQ JSON",
	.detect = intelmq_detect,
	.open = intelmq_open,
	.next = intelmq_next,
	.close = intelmq_close,
};
