/*
 * The ingest driver: pick the format, read a report record by record
 * through the format's reader, normalize each record (normalize.c), and
 * store the events in batches, or hand them to the caller (preview);
 * the result totals, the errors list with file:line:reason, progress.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "private.h"

/* Events stored between commits on a long file: INGEST_BATCH and
 * INGEST_BATCH_BYTES (renraku/ingest.h), so that a batch's new pages
 * stay within the page cache store_ingest_start sets. */
/* Records between looks at the clock for progress. */
#define INGEST_PROGRESS_EVERY 1024
/* Files this large get a progress bar (when stderr is a terminal). */
#define INGEST_PROGRESS_MIN_BYTES (8u << 20)
/* Files this large are read and normalized in a thread beside the one
 * storing their events. */
#define INGEST_THREAD_MIN_BYTES (64u << 10)
/* A mapped file's pages the reader has passed are given back every
 * INGEST_DROP_STEP bytes, all but the last INGEST_DROP_SLACK: peak memory
 * does not grow with the file. */
#define INGEST_DROP_STEP (4u << 20)
#define INGEST_DROP_SLACK (1u << 20)
/* Seconds between redraws of the bar. */
#define INGEST_PROGRESS_PERIOD 0.25

/* Every format, in the order auto detection prefers them on a tie.  The
 * first is read when no format recognizes the content, so that its
 * reader says why. */
static const struct ingest_format_ops *const formats[] = {
	&ingest_format_intelmq,
	&ingest_format_shadowserver,
	&ingest_format_arf,
	&ingest_format_iodef,
	&ingest_format_csvmap, /* never by content: only by a mapping */
};

/* Events handed back instead of stored (ingest_file_events). */
struct event_list {
	struct store_event *events; /* owned */
	size_t n;
};

/* One file being read. */
struct ingest_run {
	struct rk_store *store; /* NULL: events go to list */
	struct event_list *list;
	const struct ingest_format_ops *format;
	int64_t now;
	const struct rk_config *cfg;
	const struct rk_log *log;
	const struct ingest_options *opts;
	const char *name;
	struct ingest_result *res;
	struct ingest_norm norm;
	int64_t report_id;
	bool in_tx;
	bool counted;           /* the report is counted in res->reports */
	long long records;      /* records met (parsed or not) */
	long long objects;      /* records that were JSON objects */
	long long events, duplicates, rejected; /* this file */
	long long batch;        /* records since the last commit */
	size_t batch_bytes;     /* their data's bytes */
	bool ingest_mode;       /* store_ingest_start is in force */
	long long uncounted_events, uncounted_duplicates; /* not yet in res */
	struct timespec started, last_progress;
	size_t size;            /* bytes of the input */
	size_t offset;          /* bytes read, as the reader said last */
	bool progress_shown;
};

/* ------------------------------------------------------------ errors */

void ingest_result_release(struct ingest_result *res)
{
	if (!res)
		return;
	for (size_t i = 0; i < res->nfiles; i++)
		free(res->files[i].file);
	free(res->files);
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
	char reason[INGEST_REASON + 64];
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

/* ------------------------------------------------------------ text */

const char *ingest_skip_bom(const char *data, size_t *len)
{
	static const char bom[] = "\xef\xbb\xbf";

	if (*len >= 3 && memcmp(data, bom, 3) == 0) {
		*len -= 3;
		return data + 3;
	}
	return data;
}

long long ingest_line_of(const char *start, const char *at)
{
	long long line = 1;

	for (const char *p = start; (p = memchr(p, '\n', (size_t)(at - p)));
	     p++)
		line++;
	return line;
}

/* Give back the pages of a mapped file from the page holding from to
 * the one before the page holding upto. */
static void release_pages(const char *from, const char *upto)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t a = (uintptr_t)from / page * page;
	uintptr_t b = (uintptr_t)upto / page * page;

	if (b > a)
		madvise((void *)a, (size_t)(b - a), MADV_DONTNEED);
}

/* Text check over the whole content: no NUL byte, valid UTF-8.  ASCII
 * runs are skipped eight bytes at a time.  mapped: give back the pages
 * checked every INGEST_DROP_STEP bytes. */
static bool text_check(const char *data, size_t len, bool mapped,
		       char *reason, size_t reason_len)
{
	const unsigned char *p = (const unsigned char *)data;
	const char *nul = NULL;
	size_t i = 0, released = 0;

	/* First pass: a NUL byte anywhere says "not text" first. */
	for (size_t at = 0; at < len && !nul; at += INGEST_DROP_STEP) {
		size_t n = len - at < INGEST_DROP_STEP ? len - at
						       : INGEST_DROP_STEP;

		nul = memchr(data + at, '\0', n);
		if (mapped)
			release_pages(data + at, data + at + n);
	}
	if (nul) {
		snprintf(reason, reason_len,
			 "not text: NUL byte on line %lld",
			 ingest_line_of(data, nul));
		return false;
	}
	while (i < len) {
		uint64_t word;
		size_t n;

		if (mapped && i - released >= INGEST_DROP_STEP) {
			release_pages(data + released, data + i);
			released = i;
		}
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
				 ingest_line_of(data, data + i));
			return false;
		}
		i += n;
	}
	if (mapped)
		release_pages(data + released, data + len);
	return true;
}

bool ingest_text_check(const char *data, size_t len, char *reason,
		       size_t reason_len)
{
	return text_check(data, len, false, reason, reason_len);
}

bool ingest_text_check_input(const struct ingest_source *src,
			     const char *data, size_t len, char *reason,
			     size_t reason_len)
{
	return text_check(data, len, src->mapped, reason, reason_len);
}

/* ------------------------------------------------------------ formats */

static const struct ingest_format_ops *format_by_id(enum ingest_format id)
{
	for (size_t i = 0; i < RK_ARRAY_LEN(formats); i++)
		if (formats[i]->id == id)
			return formats[i];
	return NULL;
}

bool ingest_format_lookup(const char *name, enum ingest_format *out)
{
	if (strcmp(name, "auto") == 0) {
		*out = INGEST_FORMAT_AUTO;
		return true;
	}
	for (size_t i = 0; i < RK_ARRAY_LEN(formats); i++) {
		if (strcmp(name, formats[i]->name) == 0) {
			*out = formats[i]->id;
			return true;
		}
	}
	return false;
}

enum rk_err ingest_format_names(struct rk_buf *out)
{
	enum rk_err err = rk_buf_adds(out, "auto");

	for (size_t i = 0; !err && i < RK_ARRAY_LEN(formats); i++)
		err = rk_buf_addf(out, ", %s", formats[i]->name);
	return err;
}

/* The format to read data with: the one asked for, else the one that
 * recognizes the content (and the file name) best. */
static const struct ingest_format_ops *
choose_format(const struct ingest_options *opts, const char *name,
	      const char *data, size_t len)
{
	const struct ingest_format_ops *best = formats[0];
	int best_score = 0;

	if (opts && opts->format != INGEST_FORMAT_AUTO)
		return format_by_id(opts->format);
	for (size_t i = 0; i < RK_ARRAY_LEN(formats); i++) {
		int score = formats[i]->detect(name, data, len);

		if (score > best_score) {
			best = formats[i];
			best_score = score;
		}
	}
	return best;
}

/* ------------------------------------------------------------ storing */

/* The progress bar on stderr, for files of INGEST_PROGRESS_MIN_BYTES or
 * more when opts->progress (the command line sets it when stderr is a
 * terminal): "NAME [#####.....]  45%  120.3/267.1 MB  85,000 events/s
 * 0:02 left", redrawn in place at most every INGEST_PROGRESS_PERIOD; the
 * last call (final) draws 100% and ends the line. */
static void show_progress(struct ingest_run *run, bool final)
{
	struct timespec now;
	char amount[64];
	double elapsed;
	long long records = run->events + run->duplicates + run->rejected;

	if (!run->opts || !run->opts->progress ||
	    run->size < INGEST_PROGRESS_MIN_BYTES)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!final && run->progress_shown &&
	    rk_seconds_between(&run->last_progress, &now) <
		    INGEST_PROGRESS_PERIOD)
		return;
	run->last_progress = now;
	run->progress_shown = true;
	elapsed = rk_seconds_between(&run->started, &now);
	snprintf(amount, sizeof(amount), "%.1f/%.1f MB",
		 (double)(final ? run->size : run->offset) / 1e6,
		 (double)run->size / 1e6);
	rk_progress_draw(run->name, 0,
			 final ? 1.0 : (double)run->offset / (double)run->size,
			 amount, elapsed > 0 ? (double)records / elapsed : 0,
			 "events", elapsed, final);
}

static enum rk_err begin(struct ingest_run *run)
{
	enum rk_err err;

	if (!run->store)
		return RK_OK;
	err = store_begin(run->store);

	run->in_tx = err == RK_OK;
	return err;
}

static enum rk_err commit(struct ingest_run *run)
{
	enum rk_err err = run->store ? store_commit(run->store) : RK_OK;

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
	run->batch_bytes = 0;
	return RK_OK;
}

/* Keep one normalized event: into the store (a duplicate when its dedup
 * key is there already), a copy onto the list, or (a dry run) neither. */
static enum rk_err keep_event(struct ingest_run *run,
			      const struct store_event *ev, bool *duplicate)
{
	struct event_list *l = run->list;
	enum rk_err err;

	*duplicate = false;
	if (run->store)
		return store_event_add(run->store, ev, NULL, duplicate);
	if (!l)
		return RK_OK; /* a dry run: counted, not kept */
	if ((err = rk_array_room((void **)&l->events, l->n,
				 sizeof(*l->events))) ||
	    (err = ingest_event_copy(ev, &l->events[l->n])))
		return err;
	l->events[l->n].id = (int64_t)l->n + 1;
	l->n++;
	return RK_OK;
}

/* ------------------------------------------------------------ records */

/* What a record became, handed from the reading side (reader and
 * normalizer) to the storing side in input order. */
enum item_kind {
	ITEM_EVENT,  /* ev: a normalized event */
	ITEM_REJECT, /* buf: the reason */
	ITEM_END,    /* no more records */
	ITEM_FAIL    /* err: reading cannot go on (memory) */
};

struct ingest_item {
	enum item_kind kind;
	long long line;
	size_t offset;        /* the reader's, for progress */
	bool object;          /* the record was a JSON object */
	bool fields;          /* ... handed over as fields (RECORD_FIELDS) */
	enum rk_err err;      /* ITEM_FAIL */
	struct store_event ev; /* ITEM_EVENT: a view into the normalizer
				  or, when packed, into buf */
	struct rk_buf buf;    /* the reason, or the packed event's text */
	size_t data_len;      /* ITEM_EVENT: strlen(ev.data) */
};

/* The reading side of one file: reader, normalizer, what they need. */
struct ingest_reading {
	const struct ingest_format_ops *format;
	void *reader;
	const struct rk_config *cfg;
	int64_t now;
	struct ingest_norm *norm;
	bool pack;            /* copy events into the item (another thread
				 stores them while the next is normalized) */
	const char *map;      /* the input when it is a mapped file, else
				 NULL */
	size_t dropped;       /* bytes of map given back so far */
	bool objects;         /* ingest_options.objects: no reader fast
				 path */
};

/* Give back the pages of the mapped input below the reader's offset
 * (less a slack): they are read again from the file should a reader
 * look back, so this is only ever about memory. */
static void drop_pages(struct ingest_reading *rd, size_t offset)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), cut;

	if (!rd->map || offset < rd->dropped + INGEST_DROP_STEP +
					 INGEST_DROP_SLACK)
		return;
	cut = (offset - INGEST_DROP_SLACK) / page * page;
	madvise((void *)rd->map, cut, MADV_DONTNEED);
	rd->dropped = cut;
}

static void item_init(struct ingest_item *it)
{
	memset(it, 0, sizeof(*it));
	rk_buf_init(&it->buf, 4 * (size_t)RK_MAX_JSON_LINE);
}

static enum rk_err item_reason(struct ingest_item *it, const char *fmt, ...)
	RK_PRINTF(2, 3);

static enum rk_err item_reason(struct ingest_item *it, const char *fmt, ...)
{
	char reason[INGEST_REASON + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	it->kind = ITEM_REJECT;
	rk_buf_reset(&it->buf);
	return rk_buf_adds(&it->buf, reason);
}

/* The event's strings copied into it->buf, it->ev pointing there. */
static enum rk_err item_pack(struct ingest_item *it,
			     const struct store_event *view)
{
	const char *const src[] = {view->dedup_key, view->type,
				   view->taxonomy, view->identifier,
				   view->feed_name, view->source_ip,
				   view->source_fqdn, view->source_url,
				   view->source_cc, view->data,
				   view->category};
	char **const dst[] = {&it->ev.dedup_key, &it->ev.type,
			      &it->ev.taxonomy, &it->ev.identifier,
			      &it->ev.feed_name, &it->ev.source_ip,
			      &it->ev.source_fqdn, &it->ev.source_url,
			      &it->ev.source_cc, &it->ev.data,
			      &it->ev.category};
	size_t off[RK_ARRAY_LEN(src)];
	enum rk_err err = RK_OK;

	rk_buf_reset(&it->buf);
	for (size_t k = 0; !err && k < RK_ARRAY_LEN(src); k++) {
		off[k] = it->buf.len;
		if (src[k])
			err = rk_buf_add(&it->buf, src[k], strlen(src[k]) + 1);
	}
	if (err)
		return err;
	memset(&it->ev, 0, sizeof(it->ev));
	it->ev.time_source = view->time_source;
	it->ev.dedup_time = view->dedup_time;
	it->ev.source_asn = view->source_asn;
	it->ev.tlp = view->tlp;
	it->ev.severity = view->severity;
	for (size_t k = 0; k < RK_ARRAY_LEN(src); k++)
		*dst[k] = src[k] ? it->buf.data + off[k] : NULL;
	return RK_OK;
}

/* The next record of the file as an item (reading side). */
static void produce(struct ingest_reading *rd, struct ingest_item *it)
{
	struct ingest_record rec;
	enum rk_err err;

	memset(&rec, 0, sizeof(rec));
	rec.severity = -1;
	rec.norm = rd->objects ? NULL : rd->norm;
	it->object = false;
	it->fields = false;
	it->err = RK_OK;
	if ((err = rd->format->next(rd->reader, &rec))) {
		it->kind = ITEM_FAIL;
		it->err = err;
		return;
	}
	it->line = rec.line;
	it->offset = rec.offset;
	drop_pages(rd, rec.offset);
	if (rec.kind == INGEST_RECORD_END) {
		it->kind = ITEM_END;
		return;
	}
	if (rec.kind == INGEST_RECORD_BAD) {
		err = item_reason(it, "%s", rec.reason);
	} else if (rec.kind == INGEST_RECORD_VALUE &&
		   !json_is_object(rec.value)) {
		err = item_reason(it, "%s is not a JSON object",
				  rec.what ? rec.what : "record");
	} else {
		it->object = true;
		it->fields = rec.kind == INGEST_RECORD_FIELDS;
		if (rec.kind == INGEST_RECORD_FIELDS)
			err = ingest_norm_finish(rd->norm, rd->cfg, rd->now);
		else
			err = ingest_normalize(rd->norm, rd->cfg, rd->now,
					       rec.value);
		if (err == RK_ERR_INVAL) {
			err = item_reason(it, "%s", rd->norm->reason);
		} else if (!err) {
			struct store_event *ev = &rd->norm->ev;

			if (rec.severity >= 0 && rec.severity < RK_SEV_COUNT)
				ev->severity = (enum rk_severity)rec.severity;
			it->kind = ITEM_EVENT;
			it->data_len = rd->norm->data.len;
			if (rd->pack)
				err = item_pack(it, ev);
			else
				it->ev = *ev;
		}
	}
	json_decref(rec.value);
	if (err) {
		it->kind = ITEM_FAIL;
		it->err = err;
	}
}

/* One item on the storing side: counted, rejected or kept, in input
 * order. */
static enum rk_err consume(struct ingest_run *run, struct ingest_item *it)
{
	bool duplicate = false;
	enum rk_err err;

	run->records++;
	if (it->offset)
		run->offset = it->offset;
	if ((run->records % INGEST_PROGRESS_EVERY) == 0)
		show_progress(run, false);
	if (it->object)
		run->objects++;
	if (it->fields)
		run->res->fields++;
	if (it->kind == ITEM_REJECT)
		return reject_record(run, it->line, "%s", it->buf.data);
	it->ev.report_id = run->report_id;
	if ((err = keep_event(run, &it->ev, &duplicate)))
		return err;
	if (duplicate) {
		run->duplicates++;
		run->uncounted_duplicates++;
	} else {
		run->events++;
		run->uncounted_events++;
	}
	/* Long files commit in batches. */
	run->batch_bytes += it->data_len;
	if ((++run->batch >= INGEST_BATCH ||
	     run->batch_bytes >= INGEST_BATCH_BYTES) && run->store) {
		if ((err = commit(run)) || (err = begin(run)))
			return err;
	}
	return RK_OK;
}

/* Read, normalize and keep every record, one after the other. */
static enum rk_err pump_serial(struct ingest_run *run,
			       struct ingest_reading *rd)
{
	struct ingest_item it;
	enum rk_err err = RK_OK;

	item_init(&it);
	for (;;) {
		produce(rd, &it);
		if (it.kind == ITEM_END)
			break;
		if (it.kind == ITEM_FAIL) {
			err = it.err;
			break;
		}
		if ((err = consume(run, &it)))
			break;
	}
	rk_buf_release(&it.buf);
	return err;
}

/* Items between the reading thread and the storing one: enough for the
 * reading thread to go on normalizing while the storing one commits a
 * batch (with 512 the reader waited out every commit and each side
 * idled a fifth of a 1M-event ingest: perf sched).  A slot keeps its
 * buffer, about one event's packed text: 2,048 of them add ~2 MB for
 * the bench's lines, ~6 MB for 2 KB wide events. */
#define QUEUE_SLOTS 2048
/* Items change hands a block at a time: the reading thread fills up to
 * QUEUE_BLOCK slots past the published ones without the lock, then
 * publishes them together; the storing thread takes every published
 * item (up to a block) under one lock, stores them without it, and hands
 * their slots back together.  Two lock round trips per block on each
 * side instead of two per item, and the two threads do not write the
 * same cache line (the count) for every record. */
#define QUEUE_BLOCK 64

/* A bounded ring of items, filled by the reading thread, emptied in
 * order by the storing thread.  Slots [head, head + count) are published
 * (the storing thread's); the slots after them are the reading thread's
 * until it publishes them.  No state outside it. */
struct item_queue {
	pthread_mutex_t lock;
	pthread_cond_t filled, emptied;
	struct ingest_item slots[QUEUE_SLOTS];
	size_t head, count;   /* next to take; items published */
	bool stop;            /* the storing side gives up: stop reading */
	bool reader_waits, writer_waits;
	struct ingest_reading *rd;
};

/* The reading thread: fill a block of slots, publish it; until the end,
 * a failure or stop. */
static void *read_thread(void *arg)
{
	struct item_queue *q = arg;
	bool done = false;

	while (!done) {
		size_t tail, room, made = 0;

		pthread_mutex_lock(&q->lock);
		while (q->count == QUEUE_SLOTS && !q->stop) {
			q->reader_waits = true;
			pthread_cond_wait(&q->emptied, &q->lock);
		}
		q->reader_waits = false;
		if (q->stop) {
			pthread_mutex_unlock(&q->lock);
			break;
		}
		tail = (q->head + q->count) % QUEUE_SLOTS;
		room = QUEUE_SLOTS - q->count;
		pthread_mutex_unlock(&q->lock);
		if (room > QUEUE_BLOCK)
			room = QUEUE_BLOCK;
		/* slots tail.. are the reader's alone until published (the
		 * storing side only ever frees more room meanwhile) */
		while (made < room && !done) {
			struct ingest_item *it =
				&q->slots[(tail + made) % QUEUE_SLOTS];

			produce(q->rd, it);
			made++;
			done = it->kind == ITEM_END || it->kind == ITEM_FAIL;
		}
		pthread_mutex_lock(&q->lock);
		q->count += made;
		if (q->writer_waits)
			pthread_cond_signal(&q->filled);
		pthread_mutex_unlock(&q->lock);
	}
	return NULL;
}

/* Read and normalize in a thread of its own while this one stores: the
 * same items in the same order as pump_serial, the same transactions. */
static enum rk_err pump_threaded(struct ingest_run *run,
				 struct ingest_reading *rd)
{
	struct item_queue *q = calloc(1, sizeof(*q));
	pthread_t thread;
	enum rk_err err = RK_OK;
	bool started = false;

	if (!q)
		return RK_ERR_NOMEM;
	for (size_t i = 0; i < QUEUE_SLOTS; i++)
		item_init(&q->slots[i]);
	q->rd = rd;
	rd->pack = true;
	if (pthread_mutex_init(&q->lock, NULL) ||
	    pthread_cond_init(&q->filled, NULL) ||
	    pthread_cond_init(&q->emptied, NULL)) {
		free(q);
		return pump_serial(run, rd);
	}
	if (pthread_create(&thread, NULL, read_thread, q) == 0) {
		started = true;
	} else {
		/* no thread to be had: read here */
		rd->pack = false;
		err = pump_serial(run, rd);
	}
	while (started) {
		size_t head, avail, taken = 0;
		bool last = false;

		pthread_mutex_lock(&q->lock);
		while (q->count == 0) {
			q->writer_waits = true;
			pthread_cond_wait(&q->filled, &q->lock);
		}
		q->writer_waits = false;
		head = q->head;
		avail = q->count < QUEUE_BLOCK ? q->count : QUEUE_BLOCK;
		pthread_mutex_unlock(&q->lock);
		while (taken < avail && !err && !last) {
			struct ingest_item *it =
				&q->slots[(head + taken) % QUEUE_SLOTS];

			if (it->kind == ITEM_END) {
				last = true;
				break;
			}
			if (it->kind == ITEM_FAIL) {
				err = it->err;
				last = true;
				break;
			}
			err = consume(run, it);
			taken++;
		}
		if (last)
			break;
		pthread_mutex_lock(&q->lock);
		q->head = (q->head + taken) % QUEUE_SLOTS;
		q->count -= taken;
		if (err)
			q->stop = true;
		if (q->reader_waits || err)
			pthread_cond_signal(&q->emptied);
		pthread_mutex_unlock(&q->lock);
		if (err)
			break;
	}
	if (started) {
		pthread_mutex_lock(&q->lock);
		q->stop = true;
		pthread_cond_signal(&q->emptied);
		pthread_mutex_unlock(&q->lock);
		pthread_join(thread, NULL);
	}
	pthread_cond_destroy(&q->filled);
	pthread_cond_destroy(&q->emptied);
	pthread_mutex_destroy(&q->lock);
	for (size_t i = 0; i < QUEUE_SLOTS; i++)
		rk_buf_release(&q->slots[i].buf);
	free(q);
	return err;
}

/* ------------------------------------------------------------ reports */

/* Read one report (data borrowed) with its format into the store or
 * the list. */
/* Note what a file became, while there is room in the list. */
static enum rk_err add_file(struct ingest_result *res, const char *name,
			    const char *format, const struct ingest_run *run,
			    bool failed)
{
	struct ingest_file_result *f;
	void *grown = res->files;
	enum rk_err err;

	if (res->nfiles >= RK_MAX_FILES_LISTED)
		return RK_OK;
	if ((err = rk_array_room(&grown, res->nfiles, sizeof(*res->files))))
		return err;
	res->files = grown;
	f = &res->files[res->nfiles];
	memset(f, 0, sizeof(*f));
	if (!(f->file = rk_strdup(name ? name : "-")))
		return RK_ERR_NOMEM;
	f->format = format;
	f->failed = failed;
	if (run) {
		f->report_id = failed ? 0 : run->report_id;
		f->events = failed ? 0 : run->events;
		f->duplicates = failed ? 0 : run->duplicates;
		f->rejected = run->rejected;
	}
	res->nfiles++;
	return RK_OK;
}

static enum rk_err read_report(struct rk_store *store, struct event_list *list,
			       const struct rk_config *cfg,
			       const struct rk_log *log,
			       const struct ingest_options *opts,
			       const char *name, const char *data, size_t len,
			       bool mapped, struct ingest_result *res)
{
	struct ingest_run run;
	struct store_report report = {NULL, name, NULL};
	void *reader = NULL;
	char reason[INGEST_REASON];
	long long rejected0 = res->rejected;
	size_t listed0 = res->nerrors;
	char *mapping = NULL;
	const char *format_arg = opts ? opts->format_arg : NULL;
	enum rk_err err;

	/* The reference time is the caller's: the stage reads no clock. */
	if (!opts || !opts->now)
		return rk_fail(log, RK_ERR_INTERNAL,
			       "ingest: no reference time (ingest_options.now)");
	if (len > ingest_max_file(cfg)) {
		if ((err = add_file(res, name, NULL, NULL, true)))
			return err;
		return reject_file(res, log, name, RK_ERR_LIMIT,
				   "file is larger than RK_MAX_REPORT "
				   "([ingest] max_file, %zu bytes)",
				   ingest_max_file(cfg));
	}
	if (!data)
		data = "";
	memset(&run, 0, sizeof(run));
	run.format = choose_format(opts, name, data, len);
	if (opts->format == INGEST_FORMAT_AUTO) {
		/* Generic CSV cannot be sniffed: only a mapping of [ingest]
		 * csv_mappings that names the file makes it csv. */
		err = ingest_csvmap_find(cfg, name, &mapping, reason,
					 sizeof(reason));
		if (err == RK_ERR_NOMEM)
			return err;
		if (err) {
			if ((err = add_file(res, name, NULL, NULL, true)))
				return err;
			/* the configuration's fault, not the file's */
			return reject_file(res, log, name, RK_ERR_CONFIG, "%s",
					   reason);
		}
		if (mapping) {
			run.format = &ingest_format_csvmap;
			format_arg = mapping;
		}
	}
	if (run.format)
		rk_log_debug(log, "%s: read as %s%s%s%s", name,
			     run.format->name,
			     mapping ? " with the mapping " : "",
			     mapping ? mapping : "",
			     opts->format == INGEST_FORMAT_AUTO
				     ? (mapping ? " ([ingest] csv_mappings: its "
						  "match takes the name)"
						: " (--format auto: from its "
						  "content and name)")
				     : "");
	if (!run.format)
		return reject_file(res, log, name, RK_ERR_INVAL,
				   "no reader for format %d", (int)opts->format);
	{
		struct ingest_source src = {name, data, len, cfg,
					    format_arg, mapped};

		err = run.format->open(&src, &reader, reason, sizeof(reason));
	}
	free(mapping); /* the reader keeps what it needs */
	if (err == RK_ERR_PARSE) {
		if ((err = add_file(res, name, run.format->name, NULL, true)))
			return err;
		return reject_file(res, log, name, RK_ERR_PARSE, "%s", reason);
	}
	if (err)
		return err;

	run.store = store;
	run.list = list;
	run.cfg = cfg;
	run.log = log;
	run.opts = opts;
	run.name = name;
	run.res = res;
	run.now = opts->now;
	report.format = run.format->name;
	report.reporter = opts ? opts->reporter : NULL;
	if ((err = ingest_norm_init(&run.norm))) {
		run.format->close(reader);
		return err;
	}
	clock_gettime(CLOCK_MONOTONIC, &run.started);
	run.last_progress = run.started;
	run.size = len;
	if (store) {
		if ((err = store_ingest_start(store)))
			goto cleanup;
		run.ingest_mode = true;
	}
	if ((err = begin(&run)) ||
	    (store && (err = store_report_add(store, &report, &run.report_id))))
		goto cleanup;
	{
		struct ingest_reading rd = {run.format, reader, cfg, run.now,
					    &run.norm, false,
					    mapped && len ? data : NULL, 0,
					    opts->objects};

		/* open read it all (the text check): start afresh */
		if (rd.map)
			madvise((void *)data, len, MADV_DONTNEED);

		/* A store is written beside the reading; a dry run or a list
		 * has nothing to overlap with. */
		err = store && !opts->serial &&
				      len >= INGEST_THREAD_MIN_BYTES
			      ? pump_threaded(&run, &rd)
			      : pump_serial(&run, &rd);
		if (err)
			goto cleanup;
	}
	if (run.objects == 0 && run.rejected > 0) {
		/* Not one record could be read: not this format. */
		if (store)
			store_rollback(store);
		run.in_tx = false;
		err = reject_file(res, log, name, RK_ERR_PARSE,
				  "not %s: no record is a JSON object",
				  run.format->label);
		goto cleanup;
	}
	if ((store && (err = store_report_finish(store, run.report_id,
						 run.events, run.duplicates,
						 run.rejected))) ||
	    (err = commit(&run)))
		goto cleanup;
	show_progress(&run, true);
cleanup:
	if (run.in_tx)
		store_rollback(store);
	if (run.ingest_mode)
		store_ingest_end(store);
	run.format->close(reader);
	ingest_norm_release(&run.norm);
	if (!store || err != RK_ERR_NOMEM) {
		enum rk_err ferr = add_file(res, name, run.format->name, &run,
					    err != RK_OK);

		if (!err)
			err = ferr;
	}
	if (res->rejected - rejected0 > (long long)(res->nerrors - listed0))
		rk_log_warn(log, "%s: %lld more rejected records not listed "
				 "(RK_MAX_ERRORS_LISTED is %d)",
			    name,
			    res->rejected - rejected0 -
				    (long long)(res->nerrors - listed0),
			    RK_MAX_ERRORS_LISTED);
	return err;
}

enum rk_err ingest_buffer(struct rk_store *store, const struct rk_config *cfg,
			  const struct rk_log *log,
			  const struct ingest_options *opts, const char *name,
			  const char *data, size_t len,
			  struct ingest_result *res)
{
	return read_report(store, NULL, cfg, log, opts, name, data, len, false,
			   res);
}

/* A file's content: mapped (a regular file) or read into buf. */
struct ingest_input {
	struct rk_buf buf;
	char *map;
	size_t map_len;
};

static void input_release(struct ingest_input *in)
{
	if (in->map)
		munmap(in->map, in->map_len);
	in->map = NULL;
	rk_buf_release(&in->buf);
}

/* The content of path ("-" = stdin) into in: a regular file is mapped
 * (read as it is needed; see drop_pages), anything else read whole.  A
 * failure is listed in res with line 0. */
static enum rk_err read_input(const struct rk_log *log, const char *path,
			      size_t max, struct ingest_input *in,
			      struct ingest_result *res)
{
	FILE *f = NULL;
	struct stat st;
	enum rk_err err;

	memset(in, 0, sizeof(*in));
	rk_buf_init(&in->buf, max);
	if (strcmp(path, "-") == 0) {
		f = stdin;
	} else {
		f = fopen(path, "rb");
		if (!f)
			return reject_file(res, log, path,
					   errno == ENOENT ? RK_ERR_NOTFOUND
							   : RK_ERR_IO,
					   "cannot open: %s",
					   errno == ENOENT ? "no such file"
					   : errno == EACCES
						   ? "permission denied"
						   : strerror(errno));
		if (fstat(fileno(f), &st) == 0) {
			if (S_ISDIR(st.st_mode)) {
				err = reject_file(res, log, path, RK_ERR_IO,
						  "cannot read: is a directory");
				goto cleanup;
			}
			if (S_ISREG(st.st_mode) &&
			    (unsigned long long)st.st_size > max) {
				err = reject_file(res, log, path, RK_ERR_LIMIT,
						  "file is larger than "
						  "RK_MAX_REPORT ([ingest] "
						  "max_file, %zu bytes)",
						  max);
				goto cleanup;
			}
			if (S_ISREG(st.st_mode) && st.st_size > 0) {
				void *m = mmap(NULL, (size_t)st.st_size,
					       PROT_READ, MAP_PRIVATE,
					       fileno(f), 0);

				if (m != MAP_FAILED) {
					in->map = m;
					in->map_len = (size_t)st.st_size;
					madvise(m, in->map_len,
						MADV_SEQUENTIAL);
					err = RK_OK;
					goto cleanup;
				}
				/* Not mappable: read in one allocation. */
				if ((err = rk_buf_grow(&in->buf,
						       (size_t)st.st_size)))
					goto cleanup;
			}
		}
	}
	err = rk_buf_read_stream(&in->buf, f);
	if (err == RK_ERR_LIMIT)
		err = reject_file(res, log, path, RK_ERR_LIMIT,
				  "file is larger than RK_MAX_REPORT ([ingest] "
				  "max_file, %zu bytes)",
				  max);
	else if (err)
		err = reject_file(res, log, path, err, "cannot read: %s",
				  err == RK_ERR_IO ? "input/output error"
						   : rk_strerror(err));
cleanup:
	if (f && f != stdin)
		fclose(f);
	return err;
}

/* Read path as a report into the store or the list. */
static enum rk_err read_path(struct rk_store *store, struct event_list *list,
			     const struct rk_config *cfg,
			     const struct rk_log *log,
			     const struct ingest_options *opts,
			     const char *path, struct ingest_result *res)
{
	struct ingest_input in;
	enum rk_err err = read_input(log, path, ingest_max_file(cfg), &in, res);

	if (!err)
		err = read_report(store, list, cfg, log, opts, path,
				  in.map ? in.map : in.buf.data,
				  in.map ? in.map_len : in.buf.len,
				  in.map != NULL, res);
	input_release(&in);
	return err;
}

enum rk_err ingest_file(struct rk_store *store, const struct rk_config *cfg,
			const struct rk_log *log,
			const struct ingest_options *opts, const char *path,
			struct ingest_result *res)
{
	return read_path(store, NULL, cfg, log, opts, path, res);
}

enum rk_err ingest_file_events(const struct rk_config *cfg,
			       const struct rk_log *log,
			       const struct ingest_options *opts,
			       const char *path, struct store_event **events,
			       size_t *n, struct ingest_result *res)
{
	struct event_list list = {NULL, 0};
	enum rk_err err;

	*events = NULL;
	*n = 0;
	err = read_path(NULL, &list, cfg, log, opts, path, res);
	if (err) {
		store_events_free(list.events, list.n);
		return err;
	}
	*events = list.events;
	*n = list.n;
	return RK_OK;
}

/* One event given as JSON text, through the IntelMQ normalizer. */
enum rk_err ingest_event_text(const struct rk_config *cfg,
			      const struct ingest_options *opts,
			      const char *json, size_t len,
			      struct store_event *ev, char *reason,
			      size_t reason_len)
{
	struct ingest_norm n;
	json_error_t jerr;
	json_t *root = NULL;
	enum rk_err err;

	memset(ev, 0, sizeof(*ev));
	if (reason_len)
		reason[0] = '\0';
	if ((err = ingest_norm_init(&n)))
		return err;
	if (len > RK_MAX_JSON_LINE) {
		snprintf(n.reason, sizeof(n.reason),
			 "event is longer than RK_MAX_JSON_LINE (%u bytes)",
			 RK_MAX_JSON_LINE);
		err = RK_ERR_INVAL;
		goto cleanup;
	}
	root = json_loadb(json, len, INGEST_JSON_FLAGS, &jerr);
	if (!root) {
		snprintf(n.reason, sizeof(n.reason),
			 "event is not valid JSON: %s", jerr.text);
		err = RK_ERR_INVAL;
		goto cleanup;
	}
	if (!json_is_object(root)) {
		snprintf(n.reason, sizeof(n.reason),
			 "event is not a JSON object");
		err = RK_ERR_INVAL;
		goto cleanup;
	}
	if (!opts || !opts->now) {
		snprintf(n.reason, sizeof(n.reason),
			 "no reference time (ingest_options.now)");
		err = RK_ERR_INTERNAL;
		goto cleanup;
	}
	if ((err = ingest_normalize(&n, cfg, opts->now, root)))
		goto cleanup;
	err = ingest_event_copy(&n.ev, ev);
cleanup:
	if (err == RK_ERR_INVAL && reason_len)
		snprintf(reason, reason_len, "%s", n.reason);
	json_decref(root);
	ingest_norm_release(&n);
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

/* "files":[{"file":..,"format":..,"report":..,"events":..,...}] */
static json_t *files_json(const struct ingest_result *res)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < res->nfiles; i++) {
		const struct ingest_file_result *f = &res->files[i];
		json_t *o = json_object();

		if (!o || json_array_append_new(arr, o) ||
		    json_object_set_new(o, "file", json_text(f->file)) ||
		    json_object_set_new(o, "format", f->format ? json_string(f->format)
							       : json_null()) ||
		    json_object_set_new(o, "report", f->report_id
							 ? json_integer(f->report_id)
							 : json_null()) ||
		    json_object_set_new(o, "events", json_integer(f->events)) ||
		    json_object_set_new(o, "duplicates", json_integer(f->duplicates)) ||
		    json_object_set_new(o, "rejected", json_integer(f->rejected)) ||
		    json_object_set_new(o, "failed", json_boolean(f->failed))) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
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
	    json_object_set_new(doc, "files", files_json(res)) ||
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
