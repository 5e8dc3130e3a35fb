/*
 * The IntelMQ format: events as JSON, either one object per line (JSON
 * Lines, IntelMQ's file output) or one array of objects.  The reader
 * yields each object with the line it starts on; ingest_normalize does
 * the rest.
 */
#include <stdlib.h>
#include <string.h>

#include "private.h"

enum layout { LAYOUT_LINES, LAYOUT_ARRAY };

enum array_state {
	ARRAY_ELEMENTS, /* before an element (or the closing ']') */
	ARRAY_CLOSED,   /* after ']': only white space may follow */
	ARRAY_DONE
};

struct intelmq_reader {
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
};

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

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
	if (!ingest_text_check(data, len, reason, reason_len))
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
	r->data = data;
	r->end = data + len;
	r->first = true;
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
static void next_line(struct intelmq_reader *r, struct ingest_record *rec)
{
	while (r->p < r->end) {
		const char *nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
		const char *stop = nl ? nl : r->end, *start = r->p, *q = r->p;
		size_t len = (size_t)(stop - start);
		long long line = r->line++;
		json_error_t jerr;

		r->p = nl ? nl + 1 : r->end;
		while (q < stop && is_ws(*q))
			q++;
		if (q == stop)
			continue; /* blank */
		rec->what = "line";
		if (len > RK_MAX_JSON_LINE) {
			bad(rec, line,
			    "line is longer than RK_MAX_JSON_LINE (%u bytes)",
			    RK_MAX_JSON_LINE);
			return;
		}
		rec->value = json_loadb(start, len, INGEST_JSON_FLAGS, &jerr);
		if (!rec->value) {
			bad(rec, line, "line is not valid JSON: %s", jerr.text);
			return;
		}
		rec->kind = INGEST_RECORD_VALUE;
		rec->line = line;
		return;
	}
	rec->kind = INGEST_RECORD_END;
}

/* One JSON array of objects, element by element, so that each element's
 * line is known and one bad element does not lose the others before it. */
static void next_element(struct intelmq_reader *r, struct ingest_record *rec)
{
	size_t cap, avail;
	long long start;
	json_error_t jerr;

	rec->what = "element";
	if (r->pending) {
		r->pending = false;
		r->state = ARRAY_DONE;
		bad(rec, r->pending_line, "%s", r->pending_reason);
		return;
	}
	if (r->state == ARRAY_CLOSED) {
		r->state = ARRAY_DONE;
		r->p = skip_ws(r->p, r->end, &r->line);
		if (r->p < r->end) {
			bad(rec, r->line, "content after the end of the array");
			return;
		}
	}
	if (r->state == ARRAY_DONE) {
		rec->kind = INGEST_RECORD_END;
		return;
	}
	r->p = skip_ws(r->p, r->end, &r->line);
	if (r->p == r->end) {
		r->state = ARRAY_DONE;
		bad(rec, r->line,
		    "array is not closed: ']' expected at the end of the input");
		return;
	}
	if (r->first && *r->p == ']') {
		r->p++;
		r->state = ARRAY_CLOSED;
		next_element(r, rec);
		return;
	}
	r->first = false;
	start = r->line;
	avail = (size_t)(r->end - r->p);
	cap = avail > RK_MAX_JSON_LINE ? RK_MAX_JSON_LINE : avail;
	rec->value = json_loadb(r->p, cap,
				INGEST_JSON_FLAGS | JSON_DISABLE_EOF_CHECK,
				&jerr);
	if (!rec->value) {
		r->state = ARRAY_DONE;
		if (cap < avail && (size_t)jerr.position >= cap)
			bad(rec, start,
			    "element is longer than RK_MAX_JSON_LINE (%u "
			    "bytes); the rest of the array is skipped",
			    RK_MAX_JSON_LINE);
		else
			bad(rec, start,
			    "element is not valid JSON (line %lld): %s; the "
			    "rest of the array is skipped",
			    start + jerr.line - 1, jerr.text);
		return;
	}
	rec->kind = INGEST_RECORD_VALUE;
	rec->line = start;
	r->line += ingest_line_of(r->p, r->p + jerr.position) - 1;
	r->p += jerr.position;
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
}

static enum rk_err intelmq_next(void *reader, struct ingest_record *rec)
{
	struct intelmq_reader *r = reader;

	rec->kind = INGEST_RECORD_END;
	rec->value = NULL;
	rec->reason[0] = '\0';
	if (r->layout == LAYOUT_LINES)
		next_line(r, rec);
	else
		next_element(r, rec);
	rec->offset = (size_t)(r->p - r->data);
	return RK_OK;
}

static void intelmq_close(void *reader)
{
	free(reader);
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
