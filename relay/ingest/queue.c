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
	json_t *value;  /* owned; NULL = bad */
	int severity;   /* enum rk_severity or -1 */
	char *reason;   /* owned; bad records */
};

enum rk_err ingest_queue_push(struct ingest_queue *q, long long line,
			      json_t *value, int severity, const char *reason)
{
	struct ingest_item *it;

	if (q->head > 0 && q->head == q->len)
		q->head = q->len = 0;
	if (q->len == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 64;
		struct ingest_item *items = realloc(q->items,
						    cap * sizeof(*items));

		if (!items) {
			json_decref(value);
			return RK_ERR_NOMEM;
		}
		q->items = items;
		q->cap = cap;
	}
	it = &q->items[q->len];
	it->line = line;
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
		free(q->items[i].reason);
	}
	free(q->items);
	rk_csv_free(q->csv);
	memset(q, 0, sizeof(*q));
}
