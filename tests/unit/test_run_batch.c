/* The run stage's fused batches (resolve_pending_sink feeding a
 * tickets_pass): the same rows as resolve then tickets_aggregate, for a
 * mix of new tickets, open tickets of an earlier pass, tickets filled
 * across a batch boundary, subjects on both sides of it, duplicates,
 * withheld, suppressed and unresolved events; a resolved event left
 * from before that cannot be ticketed; and a batch rolled back in the
 * middle of a pass (what a crash leaves), finished by the next pass;
 * and a batch naming more groups (contact, template, class) than the
 * pass's first group table holds. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "renraku/contacts.h"
#include "renraku/ingest.h"
#include "renraku/resolve.h"
#include "renraku/tickets.h"
#include "testutil.h"

#define T0 1795169700LL /* 2026-11-20T10:15:00Z */

struct env {
	char *dir;
	struct rk_store *store;
	struct rk_config cfg;
	struct rk_log log;
};

/* dir: the contacts directory to import (the caller's; NULL: the
 * project's own contacts/) */
static struct env *env_with(const char *dir)
{
	struct env *e = calloc(1, sizeof(*e));
	struct contacts_set set;
	char *contacts = dir ? rk_strdup(dir) : rk_test_source_path("contacts");

	assert_non_null(e);
	rk_log_init(&e->log, RK_LOG_ERROR);
	e->dir = rk_test_tmpdir();
	e->store = rk_test_store(e->dir, &e->log);
	rk_test_config(&e->cfg);
	free(e->cfg.relay.templates);
	e->cfg.relay.templates = rk_test_source_path("templates");
	e->cfg.aggregate.window = 3600; /* tickets stay open between passes */
	e->cfg.aggregate.max_events = 2500;
	memset(&set, 0, sizeof(set));
	assert_int_equal(contacts_read_dir(contacts, rk_now(), &e->log, &set), RK_OK);
	assert_int_equal(store_contacts_replace(e->store, set.contacts,
						set.ncontacts, set.supps,
						set.nsupps),
			 RK_OK);
	contacts_set_release(&set);
	free(contacts);
	return e;
}

static struct env *env_new(void)
{
	return env_with(NULL);
}

static void env_free(struct env *e)
{
	store_close(e->store);
	rk_config_release(&e->cfg);
	rk_test_rmtree(e->dir);
	free(e->dir);
	free(e);
}

static int setup(void **state)
{
	struct env **pair = calloc(2, sizeof(*pair));

	assert_non_null(pair);
	pair[0] = env_new();
	pair[1] = env_new();
	*state = pair;
	return 0;
}

static int teardown(void **state)
{
	struct env **pair = *state;

	env_free(pair[0]);
	env_free(pair[1]);
	free(pair);
	return 0;
}

static void ingest_text(struct env *e, const char *text)
{
	struct ingest_options opts = {INGEST_FORMAT_INTELMQ, NULL, false,
				      T0 + 86400};
	struct ingest_result res;

	memset(&res, 0, sizeof(res));
	store_set_now(e->store, T0);
	assert_int_equal(ingest_buffer(e->store, &e->cfg, &e->log, &opts,
				       "test", text, strlen(text), &res),
			 RK_OK);
	assert_int_equal(res.rejected, 0);
	ingest_result_release(&res);
}

/* count events from `first` on: addresses of three networks, two types,
 * a few RED / suppressed / unknown ones, and every 50th line twice. */
static char *events_text(int first, int count)
{
	static const char *const types[] = {"infected-system", "brute-force"};
	struct rk_buf b;
	char *out;

	rk_buf_init(&b, SIZE_MAX / 2);
	for (int i = first; i < first + count; i++) {
		char line[512], ip[64];
		const char *cc = ",\"source.geolocation.cc\":\"DE\"";
		const char *tlp = i % 997 == 0 ? "RED" : "GREEN";
		const char *type = types[(i / 7) % 2];
		int n;

		if (i % 401 == 0)
		{
			snprintf(ip, sizeof(ip), "198.18.0.%d", i % 250 + 1);
			cc = ""; /* nobody: unresolved */
		} else if (i % 331 == 0) {
			snprintf(ip, sizeof(ip), "198.51.100.53");
			type = "vulnerable-system";
		} else if (i % 3 == 0)
			snprintf(ip, sizeof(ip), "203.0.113.%d", i % 200 + 1);
		else if (i % 3 == 1)
			snprintf(ip, sizeof(ip), "192.0.2.%d", i % 250 + 1);
		else
			snprintf(ip, sizeof(ip), "198.51.100.%d", i % 40 + 100);
		n = snprintf(line, sizeof(line),
			     "{\"time.source\":\"2026-11-20T%02d:%02d:%02dZ\","
			     "\"source.ip\":\"%s\"%s,"
			     "\"classification.type\":\"%s\",\"tlp\":\"%s\"}\n",
			     (i / 3600) % 24, (i / 60) % 60, i % 60, ip, cc, type,
			     tlp);
		assert_true(n > 0 && (size_t)n < sizeof(line));
		assert_int_equal(rk_buf_adds(&b, line), RK_OK);
		if (i % 50 == 0)
			assert_int_equal(rk_buf_adds(&b, line), RK_OK);
	}
	out = rk_buf_detach(&b, NULL);
	rk_buf_release(&b);
	assert_non_null(out);
	return out;
}

static void ingest_events(struct env *e, int first, int count)
{
	char *text = events_text(first, count);

	ingest_text(e, text);
	free(text);
}

/* The sink as the run stage wires it, with a fault on one batch. */
struct test_sink {
	struct tickets_pass *pass;
	int calls, fail_on; /* fail_on: the call that fails, 0 = none */
	/* given: the contacts replaced through it once the first batch
	 * is committed (an import between two batches) */
	struct rk_store *importer;
	int commits;
	/* the first batch taken slowly (a second): by the time it is
	 * written, the lookups of the next are ready, even under ASan on
	 * a loaded machine (the writer's transaction then holds both,
	 * given tx_events) */
	bool slow;
};

static enum rk_err take(void *self, const struct store_event *ev, size_t n)
{
	struct test_sink *s = self;

	if (++s->calls == 1 && s->slow) {
		struct timespec t = {1, 0};

		nanosleep(&t, NULL);
	}
	if (s->calls == s->fail_on)
		return RK_ERR_DB;
	return tickets_pass_take(s->pass, ev, n);
}

static void committed(void *self)
{
	struct test_sink *s = self;
	struct store_contact c = {
		.kind = STORE_CONTACT_CONSTITUENCY, .org = "Net A",
		.match = "192.0.2.0/24", .email = "noc@a.example",
		.source = "constituency.csv:2",
	};

	tickets_pass_committed(s->pass);
	if (++s->commits == 1 && s->importer)
		assert_int_equal(store_contacts_replace(s->importer, &c, 1,
							NULL, 0),
				 RK_OK);
}

static void rolled_back(void *self)
{
	tickets_pass_rolled_back(((struct test_sink *)self)->pass);
}

/* One pass the old way: resolve every batch, then ticket them. */
static void two_stage(struct env *e, struct resolve_stats *rs,
		      struct tickets_stats *ts)
{
	struct resolver *r = NULL;

	store_set_now(e->store, T0);
	assert_int_equal(resolve_new(&r, e->store, &e->cfg, &e->log, true), RK_OK);
	assert_int_equal(resolve_pending(e->store, r, &e->cfg, &e->log, T0, rs),
			 RK_OK);
	resolve_free(r);
	assert_int_equal(tickets_aggregate(e->store, &e->cfg, &e->log, T0, ts),
			 RK_OK);
}

/* One pass as the run stage does it: fused, then the leftovers; the
 * lookups on a second connection and a thread of their own
 * (lookup_store), as the run stage does, or on the writer's connection
 * one batch after the other. */
static enum rk_err fused_with(struct env *e, int fail_on, bool ahead,
			      size_t tx_events, struct rk_store *importer,
			      struct resolve_stats *rs,
			      struct tickets_stats *ts)
{
	struct test_sink s = {NULL, 0, fail_on, importer, 0, tx_events > 0};
	struct resolve_sink sink = {&s, STORE_EVENT_TICKETED, take, committed,
				    rolled_back, NULL, tx_events};
	struct resolver *r = NULL;
	enum rk_err err;

	store_set_now(e->store, T0);
	if (ahead)
		assert_int_equal(store_open_sibling(e->store, 5000,
						    &sink.lookup_store),
				 RK_OK);
	assert_int_equal(resolve_new(&r, ahead ? sink.lookup_store : e->store,
				     &e->cfg, &e->log, true),
			 RK_OK);
	assert_int_equal(tickets_pass_open(e->store, &e->cfg, &e->log, T0, ts,
					   &s.pass),
			 RK_OK);
	err = resolve_pending_sink(e->store, r, &e->cfg, &e->log, T0, rs, NULL,
				   &sink);
	tickets_pass_close(s.pass);
	resolve_free(r);
	store_close(sink.lookup_store);
	if (!err)
		err = tickets_aggregate(e->store, &e->cfg, &e->log, T0, ts);
	return err;
}

static enum rk_err fused(struct env *e, int fail_on, struct resolve_stats *rs,
			 struct tickets_stats *ts)
{
	return fused_with(e, fail_on, true, 0, NULL, rs, ts);
}

/* Every row of sql in e's database, as text. */
static char *dump(struct env *e, const char *sql)
{
	char *db = NULL, *out;
	sqlite3 *raw;
	sqlite3_stmt *stmt;
	struct rk_buf b;

	assert_int_equal(rk_path_join(e->dir, "test.db", &db), RK_OK);
	assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(raw, sql, -1, &stmt, NULL), SQLITE_OK);
	rk_buf_init(&b, SIZE_MAX / 2);
	while (sqlite3_step(stmt) == SQLITE_ROW) {
		for (int c = 0; c < sqlite3_column_count(stmt); c++) {
			const unsigned char *v = sqlite3_column_text(stmt, c);

			assert_int_equal(rk_buf_adds(&b, v ? (const char *)v : "NULL"),
					 RK_OK);
			assert_int_equal(rk_buf_addc(&b, '|'), RK_OK);
		}
		assert_int_equal(rk_buf_addc(&b, '\n'), RK_OK);
	}
	sqlite3_finalize(stmt);
	sqlite3_close(raw);
	free(db);
	out = rk_buf_detach(&b, NULL);
	rk_buf_release(&b);
	if (!out)
		out = rk_strdup("");
	assert_non_null(out);
	return out;
}

static void assert_same_rows(struct env *a, struct env *b)
{
	static const char *const queries[] = {
		"SELECT * FROM tickets ORDER BY id",
		"SELECT * FROM ticket_events ORDER BY ticket_id, event_id",
		"SELECT * FROM ticket_contacts ORDER BY ticket_id, level",
		"SELECT * FROM ticket_timeline ORDER BY id",
		"SELECT * FROM events ORDER BY id",
		"SELECT * FROM chains ORDER BY id",
	};

	for (size_t i = 0; i < RK_ARRAY_LEN(queries); i++) {
		char *x = dump(a, queries[i]), *y = dump(b, queries[i]);

		if (strcmp(x, y) != 0)
			fail_msg("%s: rows differ", queries[i]);
		free(x);
		free(y);
	}
}

static long long count(struct env *e, const char *sql)
{
	char *text = dump(e, sql);
	long long v = strtoll(text, NULL, 10);

	free(text);
	return v;
}

/* Two passes each way: the second's events join the first's open
 * tickets, fill them (max_events) and start new ones across the fused
 * batch boundary (10,000 events). */
static void same_rows(struct env **pair, bool ahead, size_t tx_events)
{
	struct resolve_stats rs[2];
	struct tickets_stats ts[2];

	for (int side = 0; side < 2; side++) {
		ingest_events(pair[side], 0, 3000);
		memset(&rs[side], 0, sizeof(rs[side]));
		memset(&ts[side], 0, sizeof(ts[side]));
		if (side == 0)
			two_stage(pair[side], &rs[side], &ts[side]);
		else
			assert_int_equal(fused_with(pair[side], 0, ahead,
						    tx_events, NULL, &rs[side],
						    &ts[side]),
					 RK_OK);
	}
	assert_true(ts[0].ticketed > 2000);
	assert_int_equal(ts[1].ticketed, ts[0].ticketed);
	assert_int_equal(ts[1].tickets_created, ts[0].tickets_created);
	assert_same_rows(pair[0], pair[1]);
	for (int side = 0; side < 2; side++) {
		/* 2,900 of them again (duplicates), then 11,100 new ones */
		ingest_events(pair[side], 100, 14000);
		memset(&rs[side], 0, sizeof(rs[side]));
		memset(&ts[side], 0, sizeof(ts[side]));
		if (side == 0)
			two_stage(pair[side], &rs[side], &ts[side]);
		else
			assert_int_equal(fused_with(pair[side], 0, ahead,
						    tx_events, NULL, &rs[side],
						    &ts[side]),
					 RK_OK);
	}
	assert_int_equal(rs[1].seen, 11100);
	assert_true(rs[1].withheld > 0);
	assert_true(rs[1].suppressed > 0);
	assert_true(rs[1].unresolved > 0);
	assert_int_equal(rs[1].resolved, rs[0].resolved);
	assert_int_equal(ts[1].events_seen, ts[0].events_seen);
	assert_int_equal(ts[1].ticketed, ts[0].ticketed);
	assert_int_equal(ts[1].tickets_created, ts[0].tickets_created);
	assert_int_equal(ts[1].failed, 0);
	/* some ticket got events of both passes */
	assert_true(count(pair[1], "SELECT count(*) FROM (SELECT ticket_id FROM"
				   " ticket_events GROUP BY ticket_id"
				   " HAVING count(DISTINCT event_id > 3100) = 2)") > 0);
	assert_int_equal(count(pair[1], "SELECT count(*) FROM events"
					" WHERE state = 'resolved'"),
			 0);
	assert_int_equal(count(pair[1], "SELECT count(*) FROM tickets t WHERE"
					" event_count != (SELECT count(*) FROM"
					" ticket_events te WHERE te.ticket_id = t.id)"),
			 0);
	/* written with the foreign key checks off: every reference holds */
	assert_int_equal(count(pair[1], "SELECT count(*) FROM"
					" pragma_foreign_key_check"),
			 0);
	assert_same_rows(pair[0], pair[1]);
}

/* The lookups on a thread and connection of their own (as the run
 * stage does them), then on the writer's one batch after the other. */
static void test_same_rows(void **state)
{
	same_rows(*state, true, 0);
}

static void test_same_rows_serial(void **state)
{
	same_rows(*state, false, 0);
}

/* The writer's transaction held across batches for as long as the
 * lookups keep up (as the run stage does, up to RUN_TX_EVENTS): the
 * same rows. */
static void test_same_rows_one_tx(void **state)
{
	same_rows(*state, true, SIZE_MAX);
}

/* A contacts import committed between the first and the second batch:
 * the second was looked up with the old set (ahead of time, or after
 * the import by a resolver made before it), so nothing of it is
 * written and the pass ends there; the same either way. */
static void test_import_between_batches(void **state)
{
	struct env **pair = *state;
	struct resolve_stats rs[2];
	struct tickets_stats ts[2];

	for (int side = 0; side < 2; side++) {
		struct rk_store *importer = NULL;

		ingest_events(pair[side], 0, 25000);
		memset(&rs[side], 0, sizeof(rs[side]));
		memset(&ts[side], 0, sizeof(ts[side]));
		assert_int_equal(store_open_sibling(pair[side]->store, 5000,
						    &importer),
				 RK_OK);
		assert_int_equal(fused_with(pair[side], 0, side == 1, 0, importer,
					    &rs[side], &ts[side]),
				 RK_OK);
		store_close(importer);
		assert_int_equal(rs[side].seen, 10000);
		assert_int_equal(rs[side].stale, 10000);
		assert_int_equal(count(pair[side], "SELECT count(*) FROM events"
						   " WHERE state = 'new' AND id <= 10000"),
				 0);
		assert_int_equal(count(pair[side], "SELECT count(*) FROM events"
						   " WHERE state = 'new'"),
				 count(pair[side], "SELECT count(*) FROM events")
					 - 10000);
	}
	assert_same_rows(pair[0], pair[1]);
}

/* A batch that fails after its outcomes were written is rolled back
 * whole: its events are new again, in no ticket; the batches before it
 * stay, unless they shared its transaction (tx_events).  The next pass
 * finishes: the same rows as one clean pass. */
static void rolled_back_batch(struct env **pair, size_t tx_events)
{
	struct resolve_stats rs;
	struct tickets_stats ts;
	long long fresh;

	for (int side = 0; side < 2; side++)
		ingest_events(pair[side], 0, 21000);
	memset(&rs, 0, sizeof(rs));
	memset(&ts, 0, sizeof(ts));
	two_stage(pair[0], &rs, &ts);
	memset(&rs, 0, sizeof(rs));
	memset(&ts, 0, sizeof(ts));
	assert_int_equal(fused_with(pair[1], 2, true, tx_events, NULL, &rs, &ts),
			 RK_ERR_DB);
	fresh = count(pair[1], "SELECT count(*) FROM events WHERE state = 'new'");
	if (tx_events == 0) {
		assert_int_equal(count(pair[1], "SELECT count(*) FROM events"
						" WHERE state = 'new' AND id <= 10000"),
				 0);
		assert_true(fresh > 10000);
	} else {
		/* the first batch was in the second's transaction (its
		 * lookups were ready, see test_sink.slow): rolled back
		 * with it */
		assert_int_equal(fresh, count(pair[1], "SELECT count(*) FROM events"));
	}
	assert_int_equal(count(pair[1], "SELECT count(*) FROM ticket_events te"
					" JOIN events e ON e.id = te.event_id"
					" WHERE e.state != 'ticketed'"),
			 0);
	assert_int_equal(count(pair[1], "SELECT count(*) FROM tickets t WHERE"
					" event_count != (SELECT count(*) FROM"
					" ticket_events te WHERE te.ticket_id = t.id)"),
			 0);
	memset(&rs, 0, sizeof(rs));
	assert_int_equal(fused(pair[1], 0, &rs, &ts), RK_OK);
	assert_int_equal(count(pair[1], "SELECT count(*) FROM events"
					" WHERE state IN ('new', 'resolved')"),
			 0);
	/* the chains of the rolled-back batch were stored again: their
	 * ids moved, the rest is the same */
	{
		static const char tickets_sql[] =
			"SELECT id, state, contact, template, lang, tlp, severity,"
			" event_count FROM tickets ORDER BY id";
		static const char joins_sql[] =
			"SELECT ticket_id, event_id FROM ticket_events"
			" ORDER BY ticket_id, event_id";
		char *x = dump(pair[0], tickets_sql), *y = dump(pair[1], tickets_sql);

		assert_string_equal(x, y);
		free(x);
		free(y);
		x = dump(pair[0], joins_sql);
		y = dump(pair[1], joins_sql);
		assert_string_equal(x, y);
		free(x);
		free(y);
	}
}

static void test_rolled_back_batch(void **state)
{
	rolled_back_batch(*state, 0);
}

/* The same with the transaction held across batches: whatever it held
 * is rolled back, and the next pass finishes alike. */
static void test_rolled_back_tx(void **state)
{
	rolled_back_batch(*state, SIZE_MAX);
}

/* Resolved events left by an earlier version (resolve done, tickets
 * not), one of them (a ticket of its own) with a chain that cannot be
 * read: the tickets stage after the fused pass tickets them and sets
 * that one aside as failed; the new events are ticketed. */
static void test_leftover_failed(void **state)
{
	struct env *e = ((struct env **)*state)[1];
	struct resolver *r = NULL;
	struct resolve_stats rs;
	struct tickets_stats ts;
	char *db = NULL;
	sqlite3 *raw;

	memset(&rs, 0, sizeof(rs));
	memset(&ts, 0, sizeof(ts));
	ingest_events(e, 0, 30);
	ingest_text(e, "{\"time.source\":\"2026-11-20T03:00:00Z\","
		       "\"source.ip\":\"203.0.113.7\",\"classification.type\":"
		       "\"phishing\",\"tlp\":\"GREEN\"}\n");
	store_set_now(e->store, T0);
	assert_int_equal(resolve_new(&r, e->store, &e->cfg, &e->log, true), RK_OK);
	assert_int_equal(resolve_pending(e->store, r, &e->cfg, &e->log, T0, &rs),
			 RK_OK);
	resolve_free(r);
	assert_int_equal(rk_path_join(e->dir, "test.db", &db), RK_OK);
	assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
	assert_int_equal(sqlite3_exec(raw,
				      "UPDATE chains SET chain = '{\"chain\":[{\"level\":9}]}'"
				      " WHERE id = (SELECT chain_id FROM events"
				      " WHERE type = 'phishing')",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(raw);
	free(db);
	ingest_events(e, 1000, 40);
	memset(&rs, 0, sizeof(rs));
	assert_int_equal(fused(e, 0, &rs, &ts), RK_OK);
	assert_true(rs.resolved > 20);
	assert_int_equal(ts.failed, 1);
	assert_int_equal(count(e, "SELECT count(*) FROM events WHERE"
				  " state = 'failed' AND type = 'phishing'"),
			 1);
	assert_int_equal(count(e, "SELECT count(*) FROM events"
				  " WHERE state IN ('new', 'resolved')"),
			 0);
	assert_int_equal(count(e, "SELECT count(*) FROM events e WHERE"
				  " e.state = 'ticketed' AND NOT EXISTS (SELECT 1"
				  " FROM ticket_events te WHERE te.event_id = e.id)"),
			 0);
	assert_int_equal(count(e, "SELECT count(*) FROM ticket_events te"
				  " JOIN events e ON e.id = te.event_id"
				  " WHERE e.state != 'ticketed'"),
			 0);
}

#define MANY_NETS 6000

/* A constituency of MANY_NETS networks, each its own contact, and one
 * event of each of two types in every network, all in the first fused
 * batch: 12,000 groups, three times the table a pass starts with.  (A
 * full table once made the lookup of a new group probe for ever.) */
static void test_many_groups(void **state)
{
	struct env *pair[2];
	char *dir = rk_test_tmpdir(), *path = NULL, *text;
	struct rk_buf b;
	FILE *f;

	(void)state;
	assert_int_equal(rk_path_join(dir, "constituency.csv", &path), RK_OK);
	assert_non_null(f = fopen(path, "w"));
	fputs("org,match,email,cc,pgp,lang,format,notes\n", f);
	for (int k = 0; k < MANY_NETS; k++)
		fprintf(f, "Net %d,10.%d.%d.0/24,abuse@n%d.example,,,en,,\n", k,
			k / 256, k % 256, k);
	assert_int_equal(fclose(f), 0);
	free(path);
	rk_buf_init(&b, SIZE_MAX / 2);
	for (int i = 0; i < 2 * MANY_NETS; i++) {
		int k = i % MANY_NETS;

		assert_int_equal(rk_buf_addf(&b, "{\"time.source\":"
					     "\"2026-11-20T%02d:%02d:%02dZ\","
					     "\"source.ip\":\"10.%d.%d.%d\","
					     "\"classification.type\":\"%s\"}\n",
					     (i / 3600) % 24, (i / 60) % 60, i % 60,
					     k / 256, k % 256, i / MANY_NETS + 1,
					     i < MANY_NETS ? "infected-system"
							   : "brute-force"),
				 RK_OK);
	}
	text = rk_buf_detach(&b, NULL);
	rk_buf_release(&b);
	assert_non_null(text);
	for (int side = 0; side < 2; side++) {
		struct resolve_stats rs;
		struct tickets_stats ts;

		memset(&rs, 0, sizeof(rs));
		memset(&ts, 0, sizeof(ts));
		pair[side] = env_with(dir);
		ingest_text(pair[side], text);
		if (side == 0)
			two_stage(pair[side], &rs, &ts);
		else
			assert_int_equal(fused(pair[side], 0, &rs, &ts), RK_OK);
		assert_int_equal(ts.ticketed, 2 * MANY_NETS);
		assert_int_equal(ts.tickets_created, 2 * MANY_NETS);
	}
	assert_int_equal(count(pair[1], "SELECT count(DISTINCT contact)"
					" FROM tickets"),
			 MANY_NETS);
	assert_same_rows(pair[0], pair[1]);
	env_free(pair[0]);
	env_free(pair[1]);
	free(text);
	rk_test_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_same_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_rows_one_tx, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rolled_back_tx, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_same_rows_serial, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_import_between_batches,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_rolled_back_batch, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_leftover_failed, setup,
						teardown),
		cmocka_unit_test(test_many_groups),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
