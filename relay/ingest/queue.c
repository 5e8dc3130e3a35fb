/*
 * The record queue of readers that find several records at a time (a CSV
 * chunk fed to the CSV reader, an IODEF document walked whole): records
 * are pushed as found and handed out one by one by format->next.  For a
 * CSV reader the queue also feeds the input chunk by chunk, so that
 * memory stays flat in the size of the file.
 */
#include <stdlib.h>
#include <string.h>

#include "private.h"
#include "renraku/csvread.h"

/* Input is fed this much at a time. */
#define QUEUE_CHUNK (64u << 10)

struct ingest_item {
	long long line;
	json_t *value;  /* owned; NULL = bad (unless fields) */
	struct ingest_flat_field *fields; /* owned, with their values; NULL:
					     none */
	size_t nfields;
	int severity;   /* enum rk_severity or -1 */
	char *reason;   /* owned; bad records */
};

static void free_fields(struct ingest_flat_field *f, size_t n)
{
	for (size_t i = 0; f && i < n; i++)
		json_decref(f[i].value);
	free(f);
}

/* Room for one more item (a slot at q->len), or RK_ERR_NOMEM. */
static enum rk_err room(struct ingest_queue *q)
{
	if (q->head > 0 && q->head == q->len)
		q->head = q->len = 0;
	if (q->len == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 64;
		struct ingest_item *items = realloc(q->items,
						    cap * sizeof(*items));

		if (!items)
			return RK_ERR_NOMEM;
		q->items = items;
		q->cap = cap;
	}
	return RK_OK;
}

enum rk_err ingest_queue_push_fields(struct ingest_queue *q, long long line,
				     struct ingest_flat_field *fields,
				     size_t n, int severity)
{
	struct ingest_item *it;

	if (room(q)) {
		free_fields(fields, n);
		return RK_ERR_NOMEM;
	}
	it = &q->items[q->len++];
	it->line = line;
	it->value = NULL;
	it->fields = fields;
	it->nfields = n;
	it->severity = severity;
	it->reason = NULL;
	return RK_OK;
}

enum rk_err ingest_queue_push(struct ingest_queue *q, long long line,
			      json_t *value, int severity, const char *reason)
{
	struct ingest_item *it;

	if (room(q)) {
		json_decref(value);
		return RK_ERR_NOMEM;
	}
	it = &q->items[q->len];
	it->line = line;
	it->fields = NULL;
	it->nfields = 0;
	it->value = value;
	it->severity = severity;
	it->reason = reason ? rk_strdup(reason) : NULL;
	if (reason && !it->reason) {
		json_decref(value);
		return RK_ERR_NOMEM;
	}
	q->len++;
	return RK_OK;
}

enum rk_err ingest_queue_reject(struct ingest_queue *q, long long line,
				const char *fmt, ...)
{
	char reason[INGEST_REASON];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return ingest_queue_push(q, line, NULL, -1, reason);
}

/* The fields of it into norm as ingest_normalize would flatten their
 * object; false (norm in any state) when one of them would make it say
 * something of its own: the object is normalized instead.  The values
 * stay it's either way (the normalizer holds references of its own). */
static bool fields_into(const struct ingest_queue *q, struct ingest_norm *norm,
			const struct ingest_item *it)
{
	ingest_norm_start(norm, q->cfg);
	for (size_t i = 0; i < it->nfields; i++) {
		const struct ingest_flat_field *f = &it->fields[i];

		/* flatten's checks of a key, and its descent into objects */
		if (!f->len || json_is_object(f->value) ||
		    rk_str_has_ctl(f->name, false) ||
		    ingest_norm_field(norm, f->name, f->len,
				      json_incref(f->value), 1))
			return false;
	}
	return true;
}

/* The JSON object of it's fields (their values taken), NULL: memory. */
static json_t *fields_object(struct ingest_item *it)
{
	json_t *obj = json_object();
	size_t i = 0;

	for (; obj && i < it->nfields; i++) {
		if (json_object_setn_new_nocheck(obj, it->fields[i].name,
						 it->fields[i].len,
						 it->fields[i].value)) {
			i++;
			json_decref(obj);
			obj = NULL;
			break;
		}
	}
	for (; i < it->nfields; i++)
		json_decref(it->fields[i].value);
	free(it->fields);
	it->fields = NULL;
	return obj;
}

enum rk_err ingest_queue_next(struct ingest_queue *q, struct ingest_record *rec)
{
	struct ingest_item *it;
	enum rk_err err;

	rec->kind = INGEST_RECORD_END;
	rec->value = NULL;
	while (q->head == q->len && q->csv && !q->finished) {
		size_t n = (size_t)(q->end - q->p);

		if (n > QUEUE_CHUNK)
			n = QUEUE_CHUNK;
		if (n) {
			err = rk_csv_feed(q->csv, q->p, n);
			q->p += n;
		} else {
			err = rk_csv_finish(q->csv);
			q->finished = true;
		}
		if (err)
			return err;
	}
	if (q->head == q->len)
		return RK_OK;
	it = &q->items[q->head++];
	rec->line = it->line + q->line_offset;
	rec->offset = q->data ? (size_t)(q->p - q->data) : 0;
	if (it->fields) {
		rec->severity = it->severity;
		if (rec->norm && q->cfg && fields_into(q, rec->norm, it)) {
			free_fields(it->fields, it->nfields);
			it->fields = NULL;
			rec->kind = INGEST_RECORD_FIELDS;
			return RK_OK;
		}
		if (!(it->value = fields_object(it)))
			return RK_ERR_NOMEM;
	}
	if (it->value) {
		rec->kind = INGEST_RECORD_VALUE;
		rec->value = it->value;
		rec->severity = it->severity;
	} else {
		rec->kind = INGEST_RECORD_BAD;
		snprintf(rec->reason, sizeof(rec->reason), "%s",
			 it->reason ? it->reason : "bad record");
		free(it->reason);
	}
	it->value = NULL;
	it->reason = NULL;
	return RK_OK;
}

void ingest_queue_release(struct ingest_queue *q)
{
	for (size_t i = q->head; i < q->len; i++) {
		json_decref(q->items[i].value);
		free_fields(q->items[i].fields, q->items[i].nfields);
		free(q->items[i].reason);
	}
	free(q->items);
	rk_csv_free(q->csv);
	memset(q, 0, sizeof(*q));
}
