/* Unit tests for relay/store/events.c: reports and events. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

struct fixture {
	char *dir;
	struct rk_log log;
	struct rk_store *store;
	int64_t report_id;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct store_report report = {"intelmq", "feed.jsonl", "unit-test"};

	assert_non_null(f);
	f->dir = rk_test_tmpdir();
	rk_log_init(&f->log, RK_LOG_ERROR);
	f->store = rk_test_store(f->dir, &f->log);
	assert_int_equal(store_begin(f->store), RK_OK);
	assert_int_equal(store_report_add(f->store, &report, &f->report_id),
			 RK_OK);
	assert_true(f->report_id > 0);
	assert_int_equal(store_commit(f->store), RK_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_close(f->store);
	rk_test_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* An event as ingest hands it over (strings borrowed). */
static struct store_event make_event(int64_t report_id, const char *ip,
				     int64_t when)
{
	static char key[128];
	struct store_event ev;

	memset(&ev, 0, sizeof(ev));
	snprintf(key, sizeof(key), "scanner\x1f%s\x1f%lld", ip,
		 (long long)when);
	ev.report_id = report_id;
	ev.dedup_key = key;
	ev.time_source = when;
	ev.type = "scanner";
	ev.taxonomy = "information-gathering";
	ev.identifier = "open-port";
	ev.feed_name = "Scan";
	ev.source_ip = (char *)ip;
	ev.source_cc = "JP";
	ev.source_asn = 64500;
	ev.tlp = RK_TLP_AMBER;
	ev.severity = RK_SEV_LOW;
	ev.data = "{\"source.ip\":\"x\"}";
	return ev;
}

static int64_t add(struct fixture *f, const char *ip, int64_t when,
		   bool *duplicate)
{
	struct store_event ev = make_event(f->report_id, ip, when);
	int64_t id = -1;

	assert_int_equal(store_begin(f->store), RK_OK);
	assert_int_equal(store_event_add(f->store, &ev, &id, duplicate),
			 RK_OK);
	assert_int_equal(store_commit(f->store), RK_OK);
	return id;
}

static void test_add_and_read_back(void **state)
{
	struct fixture *f = *state;
	struct store_event *rows = NULL;
	size_t n = 0;
	bool dup = true;
	int64_t id;

	id = add(f, "192.0.2.1", 1795169700, &dup);
	assert_false(dup);
	assert_true(id > 0);
	assert_int_equal(store_events_new(f->store, 0, 10, &rows, &n), RK_OK);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].id, id);
	assert_int_equal(rows[0].report_id, f->report_id);
	assert_string_equal(rows[0].dedup_key,
			    "scanner\x1f" "192.0.2.1\x1f" "1795169700");
	assert_int_equal(rows[0].time_source, 1795169700);
	assert_string_equal(rows[0].type, "scanner");
	assert_string_equal(rows[0].taxonomy, "information-gathering");
	assert_string_equal(rows[0].identifier, "open-port");
	assert_string_equal(rows[0].feed_name, "Scan");
	assert_string_equal(rows[0].source_ip, "192.0.2.1");
	assert_null(rows[0].source_fqdn);
	assert_null(rows[0].source_url);
	assert_string_equal(rows[0].source_cc, "JP");
	assert_int_equal(rows[0].source_asn, 64500);
	assert_int_equal(rows[0].tlp, RK_TLP_AMBER);
	assert_int_equal(rows[0].severity, RK_SEV_LOW);
	assert_string_equal(rows[0].data, "{\"source.ip\":\"x\"}");
	assert_string_equal(rows[0].state, STORE_EVENT_NEW);
	store_events_free(rows, n);
}

static void test_duplicate(void **state)
{
	struct fixture *f = *state;
	struct store_event_counts counts;
	bool dup = true;
	int64_t first, again;

	first = add(f, "192.0.2.1", 1795169700, &dup);
	assert_false(dup);
	again = add(f, "192.0.2.1", 1795169700, &dup);
	assert_true(dup);
	assert_int_equal(again, 0);
	/* Same subject at another time is another event. */
	again = add(f, "192.0.2.1", 1795169701, &dup);
	assert_false(dup);
	assert_true(again > first);
	assert_int_equal(store_event_counts(f->store, &counts), RK_OK);
	assert_int_equal(counts.total, 2);
	assert_int_equal(counts.pending, 2);
}

static void test_new_list_paging(void **state)
{
	struct fixture *f = *state;
	struct store_event *rows = NULL;
	size_t n = 0;
	int64_t ids[40];
	char ip[32];

	for (int i = 0; i < 40; i++) {
		snprintf(ip, sizeof(ip), "192.0.2.%d", i + 1);
		ids[i] = add(f, ip, 1795169700, NULL);
	}
	assert_int_equal(store_events_new(f->store, 0, 25, &rows, &n), RK_OK);
	assert_int_equal(n, 25);
	assert_int_equal(rows[0].id, ids[0]);
	assert_int_equal(rows[24].id, ids[24]);
	store_events_free(rows, n);
	assert_int_equal(store_events_new(f->store, ids[24], 100, &rows, &n),
			 RK_OK);
	assert_int_equal(n, 15);
	assert_int_equal(rows[0].id, ids[25]);
	store_events_free(rows, n);
	/* Events that moved on are no longer new. */
	assert_int_equal(store_begin(f->store), RK_OK);
	assert_int_equal(store_event_set_state(f->store, ids[0],
					       STORE_EVENT_TICKETED, NULL),
			 RK_OK);
	assert_int_equal(store_commit(f->store), RK_OK);
	assert_int_equal(store_events_new(f->store, 0, 1, &rows, &n), RK_OK);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].id, ids[1]);
	store_events_free(rows, n);
	assert_int_equal(store_events_new(f->store, ids[39], 10, &rows, &n),
			 RK_OK);
	assert_int_equal(n, 0);
	store_events_free(rows, n);
}

static void test_set_state_and_counts(void **state)
{
	struct fixture *f = *state;
	struct store_event_counts counts;
	int64_t ids[8];
	long long retried = 0;
	char ip[32];

	for (int i = 0; i < 8; i++) {
		snprintf(ip, sizeof(ip), "198.51.100.%d", i + 1);
		ids[i] = add(f, ip, 1795169700, NULL);
	}
	assert_int_equal(store_begin(f->store), RK_OK);
	assert_int_equal(store_event_set_state(f->store, ids[0],
					       STORE_EVENT_TICKETED, NULL),
			 RK_OK);
	assert_int_equal(store_event_set_state(f->store, ids[1],
					       STORE_EVENT_SUPPRESSED,
					       "suppress.csv:3"),
			 RK_OK);
	assert_int_equal(store_event_set_state(f->store, ids[2],
					       STORE_EVENT_WITHHELD, "TLP:RED"),
			 RK_OK);
	assert_int_equal(store_event_set_state(f->store, ids[3],
					       STORE_EVENT_UNRESOLVED,
					       "no contact"),
			 RK_OK);
	assert_int_equal(store_event_set_state(f->store, ids[4],
					       STORE_EVENT_RESOLVED, NULL),
			 RK_OK);
	assert_int_equal(store_event_set_state(f->store, ids[5],
					       STORE_EVENT_FAILED, "template"),
			 RK_OK);
	assert_int_equal(store_event_set_state(f->store, 999999,
					       STORE_EVENT_TICKETED, NULL),
			 RK_ERR_NOTFOUND);
	/* inside the caller's transaction: its snapshot */
	assert_int_equal(store_event_counts(f->store, &counts), RK_OK);
	assert_int_equal(counts.ticketed, 1);
	assert_int_equal(store_commit(f->store), RK_OK);
	/* every state counted, 'ticketed' (outside events_by_state since
	 * version 14) as the rest */
	assert_int_equal(store_event_counts(f->store, &counts), RK_OK);
	assert_int_equal(counts.total, 8);
	assert_int_equal(counts.pending, 2);
	assert_int_equal(counts.resolved, 1);
	assert_int_equal(counts.ticketed, 1);
	assert_int_equal(counts.suppressed, 1);
	assert_int_equal(counts.withheld, 1);
	assert_int_equal(counts.unresolved, 1);
	assert_int_equal(counts.failed, 1);
	/* a failed event is put back, then an unresolved one */
	assert_int_equal(store_events_retry(f->store, STORE_EVENT_FAILED, 0,
					    &retried),
			 RK_OK);
	assert_int_equal(retried, 1);
	assert_int_equal(store_events_retry(f->store, STORE_EVENT_UNRESOLVED,
					    0, &retried),
			 RK_OK);
	assert_int_equal(retried, 1);
	assert_int_equal(store_events_retry(f->store, STORE_EVENT_TICKETED, 0,
					    &retried),
			 RK_ERR_INVAL);
	assert_int_equal(store_event_counts(f->store, &counts), RK_OK);
	assert_int_equal(counts.pending, 4);
	assert_int_equal(counts.failed, 0);
	assert_int_equal(counts.unresolved, 0);
}

static void test_empty_counts(void **state)
{
	struct fixture *f = *state;
	struct store_event_counts counts;

	memset(&counts, 0xff, sizeof(counts));
	assert_int_equal(store_event_counts(f->store, &counts), RK_OK);
	assert_int_equal(counts.total, 0);
	assert_int_equal(counts.pending, 0);
	assert_int_equal(counts.unresolved, 0);
}

static void test_report_finish(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(store_begin(f->store), RK_OK);
	assert_int_equal(store_report_finish(f->store, f->report_id, 5, 1, 2),
			 RK_OK);
	assert_int_equal(store_report_finish(f->store, f->report_id + 100, 0,
					     0, 0),
			 RK_ERR_NOTFOUND);
	assert_int_equal(store_commit(f->store), RK_OK);
}

static void test_rollback_drops_events(void **state)
{
	struct fixture *f = *state;
	struct store_event ev = make_event(f->report_id, "192.0.2.9", 1);
	struct store_event_counts counts;

	assert_int_equal(store_begin(f->store), RK_OK);
	assert_int_equal(store_event_add(f->store, &ev, NULL, NULL), RK_OK);
	store_rollback(f->store);
	assert_int_equal(store_event_counts(f->store, &counts), RK_OK);
	assert_int_equal(counts.total, 0);
}

/* store_ingest_start/_end nest: only the outermost pair changes the
 * connection's settings.  Seen through the one that shows: ingest turns
 * the foreign key check off (an event naming no report goes in), and
 * only the last end turns it back on. */
static void test_ingest_nesting(void **state)
{
	struct fixture *f = *state;
	struct store_event ev = make_event(f->report_id + 1000, "192.0.2.10", 2);
	struct store_event_counts counts;

	assert_int_equal(store_ingest_start(f->store), RK_OK);
	assert_int_equal(store_ingest_start(f->store), RK_OK);
	store_ingest_end(f->store);
	assert_int_equal(store_begin(f->store), RK_OK);
	assert_int_equal(store_event_add(f->store, &ev, NULL, NULL), RK_OK);
	store_rollback(f->store);
	store_ingest_end(f->store);
	/* make_event's key is one static buffer: a new event, made now */
	ev = make_event(f->report_id + 1000, "192.0.2.11", 3);
	assert_int_equal(store_begin(f->store), RK_OK);
	assert_int_not_equal(store_event_add(f->store, &ev, NULL, NULL),
			     RK_OK);
	store_rollback(f->store);
	assert_int_equal(store_event_counts(f->store, &counts), RK_OK);
	assert_int_equal(counts.total, 0);
}

/* Begins a transaction and creates ticket t with events ids[0..n-1]. */
static void open_ticket(struct fixture *f, struct store_ticket *t,
			const int64_t *ids, size_t n)
{
	memset(t, 0, sizeof(*t));
	t->contact = "abuse@example.net";
	t->template_name = "scanner";
	t->lang = "en";
	t->tlp = RK_TLP_GREEN;
	t->created_at = 1795169700;
	t->send_after = 1795169700;
	assert_int_equal(store_begin(f->store), RK_OK);
	assert_int_equal(store_ticket_create(f->store, t), RK_OK);
	for (size_t i = 0; i < n; i++) {
		struct store_event ev = {.id = ids[i]};

		assert_int_equal(store_ticket_add_event(f->store, t->id, &ev,
							NULL),
				 RK_OK);
	}
}

static void test_ticket_events(void **state)
{
	struct fixture *f = *state;
	struct store_ticket t;
	struct store_message m;
	struct store_event *rows = NULL;
	size_t n = 0;
	int64_t ids[3], message_row = 0;

	/* Added out of time order: a ticket lists its events by time. */
	ids[0] = add(f, "192.0.2.1", 300, NULL);
	ids[1] = add(f, "192.0.2.2", 100, NULL);
	ids[2] = add(f, "192.0.2.3", 200, NULL);
	open_ticket(f, &t, ids, 2);
	memset(&m, 0, sizeof(m));
	m.ticket_id = t.id;
	m.message_id = "<test.1@example.org>";
	assert_int_equal(store_message_add(f->store, &m, &message_row), RK_OK);
	assert_int_equal(store_ticket_events_mark(f->store, t.id, message_row,
						  ids, 2),
			 RK_OK);
	{
		struct store_event ev = {.id = ids[2]};

		assert_int_equal(store_ticket_add_event(f->store, t.id, &ev,
							NULL),
				 RK_OK);
	}
	assert_int_equal(store_commit(f->store), RK_OK);

	assert_int_equal(store_ticket_events(f->store, t.id, false, &rows, &n),
			 RK_OK);
	assert_int_equal(n, 3);
	assert_int_equal(rows[0].id, ids[1]); /* time 100 */
	assert_int_equal(rows[1].id, ids[2]); /* time 200 */
	assert_int_equal(rows[2].id, ids[0]); /* time 300 */
	store_events_free(rows, n);
	assert_int_equal(store_ticket_events(f->store, t.id, true, &rows, &n),
			 RK_OK);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].id, ids[2]);
	store_events_free(rows, n);
	assert_int_equal(store_ticket_events(f->store, "19700101-000000", false,
					     &rows, &n),
			 RK_OK);
	assert_int_equal(n, 0);
	store_events_free(rows, n);
}

/* The ids still unnotified on ticket id, in the ticket's time order. */
static size_t unnotified(struct fixture *f, const char *id, int64_t *out,
			 size_t max)
{
	struct store_event *rows = NULL;
	size_t n = 0;

	assert_int_equal(store_ticket_events(f->store, id, true, &rows, &n),
			 RK_OK);
	assert_true(n <= max);
	for (size_t i = 0; i < n; i++)
		out[i] = rows[i].id;
	store_events_free(rows, n);
	return n;
}

static void test_mark_exact(void **state)
{
	struct fixture *f = *state;
	struct store_ticket t;
	struct store_message m;
	int64_t e[6], left[6], message_row = 0;

	/* A notice marks exactly the events it carried, whether they are
	 * the whole unnotified span of the ticket (marked by range) or
	 * not (a gap, an event marked meanwhile, an unsorted or repeated
	 * list).  e[i] is at time 100 + i: time order is e[] order. */
	for (int i = 0; i < 6; i++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "192.0.2.%d", 10 + i);
		e[i] = add(f, ip, 100 + i, NULL);
	}
	open_ticket(f, &t, e, 6);
	memset(&m, 0, sizeof(m));
	m.ticket_id = t.id;
	m.message_id = "<mark.1@example.org>";
	assert_int_equal(store_message_add(f->store, &m, &message_row), RK_OK);

	/* indexes into e[]: what the notice carried, what stays unnotified
	 * after it (-1 ends a list) */
	static const struct {
		int carried[3];
		int left[5];
	} steps[] = {
		/* a gap: e[1] was not carried */
		{{2, 0, -1}, {1, 3, 4, 5, -1}},
		/* e[2] marked already inside the span: the rest, unsorted */
		{{3, 1, 4}, {5, -1}},
		/* repeated ids, and one already marked */
		{{5, 5, 0}, {-1}},
	};
	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		int64_t carried[3];
		size_t nc = 0, nl = 0;

		while (nc < 3 && steps[s].carried[nc] >= 0) {
			carried[nc] = e[steps[s].carried[nc]];
			nc++;
		}
		assert_int_equal(store_ticket_events_mark(f->store, t.id,
							  message_row, carried,
							  nc),
				 RK_OK);
		while (steps[s].left[nl] >= 0)
			nl++;
		assert_int_equal(unnotified(f, t.id, left, 6), nl);
		for (size_t i = 0; i < nl; i++)
			assert_int_equal(left[i], e[steps[s].left[i]]);
	}
	assert_int_equal(store_commit(f->store), RK_OK);
}

static void assert_text_equal(const char *a, const char *b)
{
	if (!a || !b)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void assert_event_equal(const struct store_event *a,
			       const struct store_event *b)
{
	assert_int_equal(a->id, b->id);
	assert_int_equal(a->report_id, b->report_id);
	assert_text_equal(a->dedup_key, b->dedup_key);
	assert_int_equal(a->time_source, b->time_source);
	assert_text_equal(a->type, b->type);
	assert_text_equal(a->taxonomy, b->taxonomy);
	assert_text_equal(a->identifier, b->identifier);
	assert_text_equal(a->feed_name, b->feed_name);
	assert_text_equal(a->source_ip, b->source_ip);
	assert_text_equal(a->source_fqdn, b->source_fqdn);
	assert_text_equal(a->source_url, b->source_url);
	assert_text_equal(a->source_cc, b->source_cc);
	assert_int_equal(a->source_asn, b->source_asn);
	assert_int_equal(a->tlp, b->tlp);
	assert_int_equal(a->severity, b->severity);
	assert_text_equal(a->category, b->category);
	assert_text_equal(a->data, b->data);
	assert_text_equal(a->state, b->state);
	assert_text_equal(a->state_reason, b->state_reason);
	assert_int_equal(a->created_at, b->created_at);
	assert_int_equal(a->chain_id, b->chain_id);
	assert_int_equal(a->retry_at, b->retry_at);
}

/* The spool gives every ticket exactly what store_ticket_events(only
 * unnotified) gives: events interleaved among tickets, far apart and
 * close together, NULL and empty fields, data larger than a staging
 * buffer, an event in two tickets, events already notified, a ticket
 * without events, and a cap that leaves tickets to the next spool. */
enum { SPOOL_NT = 7 };

/* Spools over t[0..NT) opened as notify opens them, from the first
 * ticket the last did not cover (cap: their events at most); each gives
 * every ticket exactly what store_ticket_events gives. */
static void check_spools(struct fixture *f, const struct store_ticket *t,
			 size_t cap)
{
	enum { NT = SPOOL_NT };
	struct store_event_spool *sp = NULL;
	size_t covered = 0;

	for (size_t base = 0; base < NT; base += covered) {
		assert_int_equal(store_event_spool_open(f->store, t + base,
							NT - base, cap, &sp),
				 RK_OK);
		covered = store_event_spool_count(sp);
		assert_true(covered >= 1 && covered <= NT - base);
		for (size_t k = 0; k < covered; k++) {
			struct store_event *want = NULL, *got = NULL;
			size_t nwant = 0, ngot = 0;

			assert_int_equal(store_ticket_events(f->store,
							     t[base + k].id,
							     true, &want,
							     &nwant),
					 RK_OK);
			/* another ticket's id at this place: not found */
			assert_int_equal(store_event_spool_take(
						 sp, k, t[(base + k + 1) % NT].id,
						 &got, &ngot),
					 RK_ERR_NOTFOUND);
			assert_int_equal(store_event_spool_take(sp, k,
								t[base + k].id,
								&got, &ngot),
					 RK_OK);
			assert_int_equal(ngot, nwant);
			if (base + k == 5)
				assert_int_equal(ngot, 0);
			else
				assert_true(ngot > 0);
			for (size_t i = 0; i < ngot; i++)
				assert_event_equal(&got[i], &want[i]);
			store_events_free(got, ngot);
			store_events_free(want, nwant);
			/* taken once */
			assert_int_equal(store_event_spool_take(sp, k,
								t[base + k].id,
								&got, &ngot),
					 RK_OK);
			assert_int_equal(ngot, 0);
		}
		{
			struct store_event *none = NULL;
			size_t nnone = 0;

			/* past the spool's tickets: not found */
			assert_int_equal(store_event_spool_take(sp, covered,
								t[0].id, &none,
								&nnone),
					 RK_ERR_NOTFOUND);
		}
		store_event_spool_close(sp);
		sp = NULL;
	}
}

/* ne events (a spool of more than 20,000 is read on two connections at
 * once: 24,000 takes that path, 600 the single one) */
static void event_spool_case(struct fixture *f, int ne)
{
	enum { NT = SPOOL_NT };
	struct store_ticket t[NT];
	char *big = malloc(200001);
	int64_t *ids = calloc((size_t)ne, sizeof(*ids)), notified[8];
	size_t nnotified = 0;
	struct store_message m;
	int64_t message_row = 0;

	assert_non_null(big);
	assert_non_null(ids);
	memset(big, 'x', 200000);
	big[0] = '"';
	big[199999] = '"';
	big[200000] = '\0';
	assert_int_equal(store_begin(f->store), RK_OK);
	for (int i = 0; i < ne; i++) {
		char ip[64], key[64];
		struct store_event ev = make_event(f->report_id, ip, 0);
		bool dup = false;

		snprintf(ip, sizeof(ip), "198.51.100.%d", i % 250);
		snprintf(key, sizeof(key), "spool-%d", i);
		ev.dedup_key = key;
		/* times out of id order, some equal: sorted by (time, id) */
		ev.time_source = 1795169700 + (i * 7919) % 97;
		ev.source_ip = ip;
		if (i % 5 == 0) {
			ev.identifier = NULL;
			ev.source_cc = NULL;
			ev.source_fqdn = "host.example";
			ev.category = "scan";
		}
		if (i % 11 == 0)
			ev.feed_name = "";
		if (i == 17 || i == 401)
			ev.data = big;
		assert_int_equal(store_event_add(f->store, &ev, &ids[i], &dup),
				 RK_OK);
		assert_false(dup);
	}
	for (int k = 0; k < NT; k++) {
		memset(&t[k], 0, sizeof(t[k]));
		t[k].contact = "abuse@example.net";
		t[k].template_name = "scanner";
		t[k].lang = "en";
		t[k].tlp = RK_TLP_GREEN;
		t[k].created_at = 1795169700;
		t[k].send_after = 1795169700;
		assert_int_equal(store_ticket_create(f->store, &t[k]), RK_OK);
	}
	/* tickets 0-4 take the events in turns, in runs and alone; 5 has
	 * none; 6 takes every 50th, which 2 also has */
	for (int i = 0; i < ne; i++) {
		int k = (i / 3 + i * i) % 5;
		struct store_event ev = {.id = ids[i]};

		assert_int_equal(store_ticket_add_event(f->store, t[k].id, &ev,
							NULL),
				 RK_OK);
		if (i % 50 == 0 && k != 2) {
			assert_int_equal(store_ticket_add_event(f->store, t[2].id,
								&ev, NULL),
					 RK_OK);
		}
		if (i % 50 == 0)
			assert_int_equal(store_ticket_add_event(f->store, t[6].id,
								&ev, NULL),
					 RK_OK);
		if (k == 1 && nnotified < 8)
			notified[nnotified++] = ids[i];
	}
	memset(&m, 0, sizeof(m));
	m.ticket_id = t[1].id;
	m.message_id = "<spool.1@example.org>";
	assert_int_equal(store_message_add(f->store, &m, &message_row), RK_OK);
	assert_int_equal(store_ticket_events_mark(f->store, t[1].id, message_row,
						  notified, nnotified),
			 RK_OK);
	assert_int_equal(store_commit(f->store), RK_OK);

	/* a cap of 150 events: the tickets in several spools; then one
	 * spool for all */
	check_spools(f, t, 150);
	check_spools(f, t, 1000000);
	store_event_spool_close(NULL);
	free(big);
	free(ids);
}

static void test_event_spool(void **state)
{
	event_spool_case(*state, 600);
}

static void test_event_spool_split(void **state)
{
	event_spool_case(*state, 24000);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_and_read_back, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_duplicate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_list_paging, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_set_state_and_counts, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_empty_counts, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_report_finish, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rollback_drops_events,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_ingest_nesting, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_event_spool_split, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_event_spool, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_mark_exact, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ticket_events, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
