/* The event spool: the unnotified events of many due tickets, read from
 * the database in one pass in event order and kept by ticket in an
 * unnamed temporary file, so that notify reads each ticket's events with
 * a few sequential reads instead of two random page reads an event.
 *
 * Why: a ticket's events were ingested among everyone else's, so in
 * ticket order they lie all over the file.  With a page cache far
 * smaller than the events (1M events: 670 MB of pages), store_ticket_events
 * reads two pages from the kernel for every event (the events row and
 * its data), each a 16 KiB pread; in event order each page is read once.
 *
 * How: (1) every covered ticket's event ids from ticket_events (clustered
 * by ticket: a range each), with the ticket's position; (2) sorted by
 * event id; (3) each event read by id in that order (the pages come in
 * file order, each once) and its columns appended to its ticket's staging
 * buffer, which goes to the file as one chunk when full; (4) a ticket's
 * chunks read back when it is taken, decoded into struct store_event and
 * sorted as store_ticket_events sorts them (time_source, id).  A large
 * spool's step (3) runs on two threads, each half of the sorted ids on a
 * connection of its own with its own staging and a file of its own (a
 * ticket's chunk list, shared, under a mutex); the sort at take makes
 * the order of a ticket's records.  Each thread writes its file through
 * a buffer of OUT_BUF bytes, whole and aligned (struct spool_out).
 *
 * The files are opened O_TMPFILE beside the database (or created and
 * unlinked at once): nothing remains of them after a crash.  Memory: 16
 * bytes an event covered while it is built, the staging buffers (at
 * most STAGE_BUDGET) and OUT_BUF a thread, then one chunk list a
 * ticket. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "private.h"

enum {
	STAGE_BUDGET = 16 << 20, /* all staging buffers together */
	STAGE_MIN = 2048,
	STAGE_MAX = 64 << 10,
	OUT_BUF = 1 << 20, /* a writer's buffer: a multiple of any page */
	NOUT = 2,          /* writers: the spool's two building threads */
	NCOLS = 22, /* STORE_EVENT_COLS */
};

/* STORE_EVENT_COLS' columns that are text (the others are integers) */
static const bool col_is_text[NCOLS] = {
	[2] = true,  [4] = true,  [5] = true,  [6] = true,  [7] = true,
	[8] = true,  [9] = true,  [10] = true, [11] = true, [15] = true,
	[16] = true, [17] = true, [21] = true,
};

struct spool_chunk {
	off_t off;
	size_t len;
	unsigned file; /* which of the spool's files: its writer's */
};

/* One building thread's file, and the bytes not yet written to it.
 * Chunks are appended to `buf` and the file is written OUT_BUF bytes
 * at a time at OUT_BUF-aligned offsets, so that every write covers
 * whole pages: ext4 zeroes the rest of each new page a write covers
 * in part, which with 16 KiB chunks at any offset was a quarter of the
 * kernel's share of building the spool (perf, 1M events).  A thread
 * of its own per file: no lock around the writes. */
struct spool_out {
	int fd;          /* owned; -1 until opened */
	off_t flushed;   /* bytes in the file */
	unsigned char *buf; /* owned, OUT_BUF bytes, lazily */
	size_t n;        /* bytes in buf, after `flushed` */
};

/* Records of one ticket not yet in the file, and how many records the
 * ticket has (in the file and here). */
struct spool_stage {
	unsigned char *buf; /* owned, lazily */
	size_t n;
	size_t nevents;
};

struct spool_ticket {
	char *id;                   /* owned */
	struct spool_chunk *chunks; /* owned; under mu while built */
	size_t nchunks, capchunks;
	struct spool_stage st;      /* the building thread's */
};

struct store_event_spool {
	const struct rk_log *log;
	struct spool_out out[NOUT];
	pthread_mutex_t mu; /* the chunk lists, while built */
	size_t stage_cap;
	struct spool_ticket *t; /* owned, n of them */
	size_t n;
};

/* An event id and the position of the ticket it goes to. */
struct spool_pair {
	int64_t event_id;
	size_t ticket;
};

static int pair_cmp(const void *a, const void *b)
{
	const struct spool_pair *x = a, *y = b;

	if (x->event_id != y->event_id)
		return x->event_id < y->event_id ? -1 : 1;
	return x->ticket < y->ticket ? -1 : x->ticket > y->ticket;
}

static int event_cmp(const void *a, const void *b)
{
	const struct store_event *x = a, *y = b;

	if (x->time_source != y->time_source)
		return x->time_source < y->time_source ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* An unnamed file beside the database (whose file system holds the
 * events already; /tmp may be memory), else in $TMPDIR or /tmp. */
static int open_tmp(struct rk_store *store)
{
	const char *db = sqlite3_db_filename(store->db, "main");
	const char *slash = db ? strrchr(db, '/') : NULL;
	char dir[4096], path[4200];
	int fd;

	if (db && db[0] == '/' && slash && (size_t)(slash - db) < sizeof(dir)) {
		memcpy(dir, db, (size_t)(slash - db));
		dir[slash - db] = '\0';
		if (!dir[0])
			memcpy(dir, "/", 2);
	} else {
		const char *t = getenv("TMPDIR");

		if (!t || t[0] != '/' || strlen(t) >= sizeof(dir))
			t = "/tmp";
		memcpy(dir, t, strlen(t) + 1);
	}
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR &&
			errno != EINVAL))
		return fd;
	/* a file system without O_TMPFILE: created, then unlinked at once */
	snprintf(path, sizeof(path), "%s/.renraku-spool.XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	return fd;
}

/* All of p[0..len) at off, written (out) or read back. */
static enum rk_err file_io(const struct store_event_spool *sp, int fd,
			   bool out, unsigned char *p, size_t len, off_t off)
{
	while (len > 0) {
		ssize_t r = out ? pwrite(fd, p, len, off)
				: pread(fd, p, len, off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return rk_fail(sp->log, RK_ERR_IO,
				       "event spool: cannot %s the temporary file: %s",
				       out ? "write" : "read",
				       r < 0 ? strerror(errno)
				       : out ? "no space" : "short file");
		p += r;
		len -= (size_t)r;
		off += r;
	}
	return RK_OK;
}

/* Writer w's buffered bytes to its file (a whole buffer, or the rest
 * at the end of the build). */
static enum rk_err out_flush(struct store_event_spool *sp, unsigned w)
{
	struct spool_out *o = &sp->out[w];
	enum rk_err err;

	if (o->n == 0)
		return RK_OK;
	if ((err = file_io(sp, o->fd, true, o->buf, o->n, o->flushed)))
		return err;
	o->flushed += (off_t)o->n;
	o->n = 0;
	return RK_OK;
}

/* Bytes p[0..len) of ticket t to the end of writer w's file, as a
 * chunk (each writer on one thread; the chunk lists under mu). */
static enum rk_err chunk_out(struct store_event_spool *sp, unsigned w,
			     struct spool_ticket *t, const unsigned char *p,
			     size_t len)
{
	struct spool_out *o = &sp->out[w];
	struct spool_chunk c = {o->flushed + (off_t)o->n, len, w};
	enum rk_err err = RK_OK;

	if (len == 0)
		return RK_OK;
	if (!o->buf && !(o->buf = malloc(OUT_BUF)))
		return RK_ERR_NOMEM;
	while (len > 0) {
		size_t k = OUT_BUF - o->n < len ? OUT_BUF - o->n : len;

		memcpy(o->buf + o->n, p, k);
		o->n += k;
		p += k;
		len -= k;
		if (o->n == OUT_BUF && (err = out_flush(sp, w)))
			return err;
	}
	pthread_mutex_lock(&sp->mu);
	if (t->nchunks == t->capchunks) {
		size_t cap = t->capchunks ? 2 * t->capchunks : 8;
		struct spool_chunk *grown =
			realloc(t->chunks, cap * sizeof(*grown));

		if (!grown)
			err = RK_ERR_NOMEM;
		else {
			t->chunks = grown;
			t->capchunks = cap;
		}
	}
	if (!err)
		t->chunks[t->nchunks++] = c;
	pthread_mutex_unlock(&sp->mu);
	return err;
}

/* One record: for each column a tag (0 NULL, 1 integer: 8 bytes, 2 text:
 * a 4-byte length and the bytes), all in host order (the file never
 * leaves this process). */
static enum rk_err encode_row(sqlite3_stmt *stmt, struct rk_buf *rec)
{
	enum rk_err err = RK_OK;

	rk_buf_reset(rec);
	for (int c = 0; !err && c < NCOLS; c++) {
		unsigned char tag;

		if (col_is_text[c]) {
			const unsigned char *s = sqlite3_column_text(stmt, c);
			int bytes = sqlite3_column_bytes(stmt, c);
			uint32_t len = bytes > 0 ? (uint32_t)bytes : 0;

			if (!s) {
				tag = 0;
				err = rk_buf_add(rec, &tag, 1);
				continue;
			}
			tag = 2;
			if (!(err = rk_buf_add(rec, &tag, 1)) &&
			    !(err = rk_buf_add(rec, &len, sizeof(len))))
				err = rk_buf_add(rec, s, len);
		} else {
			int64_t v = sqlite3_column_int64(stmt, c);

			tag = 1;
			if (!(err = rk_buf_add(rec, &tag, 1)))
				err = rk_buf_add(rec, &v, sizeof(v));
		}
	}
	return err;
}

/* One record of ticket t, staged in st (the building thread's). */
static enum rk_err stage_add(struct store_event_spool *sp, unsigned w,
			     struct spool_ticket *t, struct spool_stage *st,
			     const struct rk_buf *rec)
{
	enum rk_err err;

	if (st->n + rec->len > sp->stage_cap) {
		if ((err = chunk_out(sp, w, t, st->buf, st->n)))
			return err;
		st->n = 0;
	}
	if (rec->len > sp->stage_cap)
		err = chunk_out(sp, w, t, (const unsigned char *)rec->data,
				rec->len);
	else if (!st->buf && !(st->buf = malloc(sp->stage_cap)))
		err = RK_ERR_NOMEM;
	else {
		memcpy(st->buf + st->n, rec->data, rec->len);
		st->n += rec->len;
		err = RK_OK;
	}
	if (!err)
		st->nevents++;
	return err;
}

/* Phase 1: the covered tickets' unnotified event ids, in *pairs. */
static enum rk_err collect_pairs(struct rk_store *store,
				 struct store_event_spool *sp,
				 const struct store_ticket *tickets, size_t n,
				 size_t max_events, struct spool_pair **pairs,
				 size_t *npairs)
{
	static const char sql[] =
		"SELECT event_id FROM ticket_events"
		" WHERE ticket_id = ?1 AND message_row IS NULL";
	struct spool_pair *out = NULL;
	size_t count = 0, cap = 0;
	enum rk_err err = RK_OK;

	for (size_t i = 0; !err && i < n; i++) {
		sqlite3_stmt *stmt;
		int rc;

		/* at least one ticket, however many events it has */
		if (i > 0 && count >= max_events)
			break;
		if (!(sp->t[i].id = rk_strdup(tickets[i].id))) {
			err = RK_ERR_NOMEM;
			break;
		}
		sp->n = i + 1;
		if (!(stmt = store_stmt(store, sql))) {
			err = RK_ERR_DB;
			break;
		}
		sqlite3_bind_text(stmt, 1, tickets[i].id, -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
			if (count == cap) {
				size_t ncap = cap ? 2 * cap : 4096;
				struct spool_pair *grown =
					realloc(out, ncap * sizeof(*grown));

				if (!grown) {
					err = RK_ERR_NOMEM;
					break;
				}
				out = grown;
				cap = ncap;
			}
			out[count].event_id = sqlite3_column_int64(stmt, 0);
			out[count].ticket = i;
			count++;
		}
		if (!err && rc != SQLITE_DONE)
			err = store_fail(store, "list a ticket's events for the spool");
		store_done(stmt);
	}
	if (err) {
		free(out);
		return err;
	}
	*pairs = out;
	*npairs = count;
	return RK_OK;
}

/* Phase 3 for pairs[0..npairs) (sorted): the events in id order, each
 * to its ticket, staged in stages[ticket] (NULL: the tickets' own) and
 * written by writer w.
 * Ids closer than RUN_GAP go in one range scan (the rows between read
 * and passed over: at most RUN_GAP - 1 of them a wanted one), the
 * others on their own; every page comes in file order. */
enum { RUN_GAP = 8 };

static enum rk_err spool_range(struct rk_store *store,
			       struct store_event_spool *sp,
			       const struct spool_pair *pairs, size_t npairs,
			       struct spool_stage *stages, unsigned w)
{
	static const char sql[] =
		"SELECT " STORE_EVENT_COLS " FROM events e"
		STORE_EVENT_DATA_JOIN " WHERE e.id >= ?1 AND e.id <= ?2"
		" ORDER BY e.id";
	struct rk_buf rec;
	enum rk_err err = RK_OK;

	rk_buf_init(&rec, (size_t)1 << 30);
	for (size_t k = 0, m; !err && k < npairs; k = m) {
		sqlite3_stmt *stmt;
		size_t j = k;
		int rc = SQLITE_DONE;

		for (m = k + 1; m < npairs &&
				pairs[m].event_id - pairs[m - 1].event_id < RUN_GAP;
		     m++)
			;
		if (!(stmt = store_stmt(store, sql))) {
			err = RK_ERR_DB;
			break;
		}
		sqlite3_bind_int64(stmt, 1, pairs[k].event_id);
		sqlite3_bind_int64(stmt, 2, pairs[m - 1].event_id);
		while (!err && j < m && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
			int64_t id = sqlite3_column_int64(stmt, 0);

			/* an id without its row is gone: the join drops it */
			while (j < m && pairs[j].event_id < id)
				j++;
			if (j == m || pairs[j].event_id != id)
				continue;
			err = encode_row(stmt, &rec);
			/* the same event in several tickets: one record each */
			for (; !err && j < m && pairs[j].event_id == id; j++) {
				struct spool_ticket *t = &sp->t[pairs[j].ticket];

				err = stage_add(sp, w, t,
						stages ? &stages[pairs[j].ticket]
						       : &t->st,
						&rec);
			}
		}
		if (!err && j < m && rc != SQLITE_DONE && rc != SQLITE_ROW)
			err = store_fail(store, "read the events for the spool");
		store_done(stmt);
	}
	rk_buf_release(&rec);
	return err;
}

/* Spools this large are read on two connections at once, each half of
 * the ids (a second connection costs a few milliseconds to open). */
#define SPOOL_SPLIT_MIN 20000
#define SPOOL_SIBLING_BUSY_MS 5000

/* The second half, on a thread of its own with its own connection and
 * read transaction, and its own staging. */
struct spool_half {
	struct rk_store *store; /* the sibling, owned by the caller */
	struct store_event_spool *sp;
	const struct spool_pair *pairs;
	size_t npairs;
	struct spool_stage *stages; /* sp->n of them, owned by the caller */
	enum rk_err err;
};

static void *spool_half_main(void *arg)
{
	struct spool_half *h = arg;

	if (!(h->err = store_read_begin(h->store))) {
		h->err = spool_range(h->store, h->sp, h->pairs, h->npairs,
				     h->stages, 1);
		store_read_end(h->store);
	}
	return NULL;
}

/* Phases 2 and 3: the pairs sorted by event id, and their events read;
 * large spools on two threads (the events of one moment either way for
 * what notify reads: nothing but a purge changes an event row, and a
 * purged one is left out as it would be on one connection). */
static enum rk_err spool_events(struct rk_store *store,
				struct store_event_spool *sp,
				struct spool_pair *pairs, size_t npairs)
{
	struct spool_half h;
	pthread_t tid;
	size_t mid = npairs / 2;
	enum rk_err err;

	qsort(pairs, npairs, sizeof(*pairs), pair_cmp);
	memset(&h, 0, sizeof(h));
	if (npairs < SPOOL_SPLIT_MIN ||
	    (sp->out[1].fd = open_tmp(store)) < 0 ||
	    store_open_sibling(store, SPOOL_SIBLING_BUSY_MS, &h.store))
		return spool_range(store, sp, pairs, npairs, NULL, 0);
	/* it reads each page once, in file order: a small cache will do */
	if (store_step_once(h.store, "PRAGMA cache_size = -2048",
			    "size the spool reader's page cache")) {
		store_close(h.store);
		return spool_range(store, sp, pairs, npairs, NULL, 0);
	}
	h.sp = sp;
	h.pairs = pairs + mid;
	h.npairs = npairs - mid;
	if (!(h.stages = calloc(sp->n, sizeof(*h.stages))) ||
	    pthread_create(&tid, NULL, spool_half_main, &h)) {
		free(h.stages);
		store_close(h.store);
		return spool_range(store, sp, pairs, npairs, NULL, 0);
	}
	err = spool_range(store, sp, pairs, mid, NULL, 0);
	pthread_join(tid, NULL);
	if (!err)
		err = h.err;
	/* the second half's staged records to the file, its counts to
	 * the tickets */
	for (size_t i = 0; i < sp->n; i++) {
		if (!err)
			err = chunk_out(sp, 1, &sp->t[i], h.stages[i].buf,
					h.stages[i].n);
		sp->t[i].st.nevents += h.stages[i].nevents;
		free(h.stages[i].buf);
	}
	free(h.stages);
	store_close(h.store);
#ifdef __GLIBC__
	/* the thread's arena holds its staging and page cache, free now
	 * but kept by glibc: given back before notify's peak */
	malloc_trim(0);
#endif
	return err;
}

enum rk_err store_event_spool_open(struct rk_store *store,
				   const struct store_ticket *tickets,
				   size_t n, size_t max_events,
				   struct store_event_spool **out)
{
	struct store_event_spool *sp;
	struct spool_pair *pairs = NULL;
	size_t npairs = 0;
	enum rk_err err;

	*out = NULL;
	if (n == 0)
		return rk_fail(store->log, RK_ERR_INVAL,
			       "event spool: no tickets");
	if (!(sp = calloc(1, sizeof(*sp))) ||
	    !(sp->t = calloc(n, sizeof(*sp->t)))) {
		free(sp);
		return RK_ERR_NOMEM;
	}
	sp->log = store->log;
	for (unsigned w = 0; w < NOUT; w++)
		sp->out[w].fd = -1;
	if (pthread_mutex_init(&sp->mu, NULL)) {
		free(sp->t);
		free(sp);
		return RK_ERR_NOMEM;
	}
	if ((sp->out[0].fd = open_tmp(store)) < 0) {
		err = rk_fail(store->log, RK_ERR_IO,
			      "event spool: cannot create a temporary file: %s",
			      strerror(errno));
		pthread_mutex_destroy(&sp->mu);
		free(sp->t);
		free(sp);
		return err;
	}
	/* one read transaction: the events of one moment, and no snapshot
	 * taken for every statement */
	if ((err = store_read_begin(store)))
		goto fail;
	err = collect_pairs(store, sp, tickets, n, max_events, &pairs, &npairs);
	if (!err) {
		/* the budget shared by the two halves' staging when split */
		sp->stage_cap = STAGE_BUDGET / sp->n /
				(npairs < SPOOL_SPLIT_MIN ? 1 : 2);
		if (sp->stage_cap < STAGE_MIN)
			sp->stage_cap = STAGE_MIN;
		if (sp->stage_cap > STAGE_MAX)
			sp->stage_cap = STAGE_MAX;
		err = spool_events(store, sp, pairs, npairs);
	}
	/* what the writers still hold to their files: taking reads them */
	for (unsigned w = 0; !err && w < NOUT; w++)
		err = out_flush(sp, w);
	for (unsigned w = 0; w < NOUT; w++) {
		free(sp->out[w].buf);
		sp->out[w].buf = NULL;
	}
	free(pairs);
	store_read_end(store);
fail:
	if (err) {
		store_event_spool_close(sp);
		return err;
	}
	*out = sp;
	return RK_OK;
}

size_t store_event_spool_count(const struct store_event_spool *sp)
{
	return sp ? sp->n : 0;
}

/* Decode one record at *p (end at `end`) into ev (zeroed); *p moves on. */
static enum rk_err decode_row(const unsigned char **p,
			      const unsigned char *end, struct store_event *ev)
{
	int64_t iv[NCOLS] = {0};
	char *tv[NCOLS] = {NULL};
	const unsigned char *q = *p;

	for (int c = 0; c < NCOLS; c++) {
		unsigned char tag;

		if (q >= end)
			goto corrupt;
		tag = *q++;
		if (tag == 1 && !col_is_text[c]) {
			if ((size_t)(end - q) < sizeof(int64_t))
				goto corrupt;
			memcpy(&iv[c], q, sizeof(int64_t));
			q += sizeof(int64_t);
		} else if (tag == 2 && col_is_text[c]) {
			uint32_t len;

			if ((size_t)(end - q) < sizeof(len))
				goto corrupt;
			memcpy(&len, q, sizeof(len));
			q += sizeof(len);
			if ((size_t)(end - q) < len)
				goto corrupt;
			if (!(tv[c] = rk_strndup((const char *)q, len)))
				goto nomem;
			q += len;
		} else if (tag != 0) {
			goto corrupt;
		}
	}
	memset(ev, 0, sizeof(*ev));
	ev->id = iv[0];
	ev->report_id = iv[1];
	ev->dedup_key = tv[2];
	ev->time_source = iv[3];
	ev->type = tv[4];
	ev->taxonomy = tv[5];
	ev->identifier = tv[6];
	ev->feed_name = tv[7];
	ev->source_ip = tv[8];
	ev->source_fqdn = tv[9];
	ev->source_url = tv[10];
	ev->source_cc = tv[11];
	ev->source_asn = store_asn_value(iv[12]);
	ev->tlp = store_tlp_value((int)iv[13]);
	ev->severity = store_severity_value((int)iv[14]);
	ev->data = tv[15];
	ev->state = tv[16];
	ev->state_reason = tv[17];
	ev->created_at = iv[18];
	ev->chain_id = iv[19];
	ev->retry_at = iv[20];
	ev->category = tv[21];
	*p = q;
	return RK_OK;
corrupt:
	for (int c = 0; c < NCOLS; c++)
		free(tv[c]);
	return RK_ERR_PARSE;
nomem:
	for (int c = 0; c < NCOLS; c++)
		free(tv[c]);
	return RK_ERR_NOMEM;
}

enum rk_err store_event_spool_take(struct store_event_spool *sp, size_t i,
				   const char *ticket_id,
				   struct store_event **rows, size_t *n)
{
	struct spool_ticket *t;
	struct store_event *out = NULL;
	unsigned char *buf = NULL;
	const unsigned char *p, *end;
	size_t len = 0, count = 0;
	enum rk_err err = RK_OK;

	*rows = NULL;
	*n = 0;
	if (!sp || i >= sp->n || strcmp(sp->t[i].id, ticket_id) != 0)
		return RK_ERR_NOTFOUND;
	t = &sp->t[i];
	for (size_t c = 0; c < t->nchunks; c++)
		len += t->chunks[c].len;
	len += t->st.n;
	if (t->st.nevents == 0)
		goto done;
	if (!(buf = malloc(len)) ||
	    !(out = calloc(t->st.nevents, sizeof(*out)))) {
		err = RK_ERR_NOMEM;
		goto done;
	}
	len = 0;
	for (size_t c = 0; !err && c < t->nchunks; c++) {
		err = file_io(sp, sp->out[t->chunks[c].file].fd, false,
			      buf + len, t->chunks[c].len, t->chunks[c].off);
		len += t->chunks[c].len;
	}
	if (err)
		goto done;
	if (t->st.n)
		memcpy(buf + len, t->st.buf, t->st.n);
	len += t->st.n;
	p = buf;
	end = buf + len;
	while (!err && count < t->st.nevents && p < end) {
		if (!(err = decode_row(&p, end, &out[count])))
			count++;
	}
	if (!err && (count != t->st.nevents || p != end))
		err = RK_ERR_PARSE;
	if (err == RK_ERR_PARSE)
		err = rk_fail(sp->log, RK_ERR_IO,
			      "event spool: ticket %s: the temporary file does "
			      "not read back as written", ticket_id);
	if (!err)
		qsort(out, count, sizeof(*out), event_cmp);
done:
	free(buf);
	/* taken once: its memory goes back now */
	free(t->chunks);
	free(t->st.buf);
	t->chunks = NULL;
	t->nchunks = t->capchunks = 0;
	memset(&t->st, 0, sizeof(t->st));
	if (err) {
		store_events_free(out, count);
		return err;
	}
	*rows = out;
	*n = count;
	return RK_OK;
}

void store_event_spool_close(struct store_event_spool *sp)
{
	if (!sp)
		return;
	for (size_t i = 0; i < sp->n; i++) {
		free(sp->t[i].id);
		free(sp->t[i].chunks);
		free(sp->t[i].st.buf);
	}
	free(sp->t);
	for (unsigned w = 0; w < NOUT; w++) {
		if (sp->out[w].fd >= 0)
			close(sp->out[w].fd);
		free(sp->out[w].buf);
	}
	pthread_mutex_destroy(&sp->mu);
	free(sp);
}
