/* Resolve and aggregation into tickets: ids per day, joining by contact
 * and template, RED / suppressed / unresolved events, the window, TLP
 * raising; and the notice context a template sees. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "renraku/ingest.h"
#include "renraku/notify.h"
#include "renraku/contacts.h"
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

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct contacts_set set;
	char *contacts = rk_test_source_path("contacts");

	rk_log_init(&e->log, RK_LOG_ERROR);
	e->dir = rk_test_tmpdir();
	e->store = rk_test_store(e->dir, &e->log);
	rk_test_config(&e->cfg);
	free(e->cfg.relay.templates);
	e->cfg.relay.templates = rk_test_source_path("templates");
	memset(&set, 0, sizeof(set));
	assert_int_equal(contacts_read_dir(contacts, rk_now(), &e->log, &set), RK_OK);
	assert_int_equal(set.nproblems, 0);
	assert_int_equal(store_contacts_replace(e->store, set.contacts,
						set.ncontacts, set.supps,
						set.nsupps),
			 RK_OK);
	contacts_set_release(&set);
	free(contacts);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	store_close(e->store);
	rk_config_release(&e->cfg);
	rk_test_rmtree(e->dir);
	free(e->dir);
	free(e);
	return 0;
}

static void ingest_text(struct env *e, const char *text)
{
	struct ingest_options opts = {INGEST_FORMAT_INTELMQ, NULL, false,
				      T0 + 86400};
	struct ingest_result res;

	memset(&res, 0, sizeof(res));
	assert_int_equal(ingest_buffer(e->store, &e->cfg, &e->log, &opts,
				       "test", text, strlen(text), &res),
			 RK_OK);
	assert_int_equal(res.rejected, 0);
	ingest_result_release(&res);
}

/* What one resolve + aggregation pass did. */
struct agg_stats {
	long long events_seen, ticketed, withheld, suppressed, unresolved,
		tickets_created;
};

static void aggregate(struct env *e, int64_t now, struct agg_stats *st)
{
	struct resolver *r = NULL;
	struct resolve_stats rs;
	struct tickets_stats ts;

	memset(st, 0, sizeof(*st));
	memset(&rs, 0, sizeof(rs));
	memset(&ts, 0, sizeof(ts));
	store_set_now(e->store, now);
	assert_int_equal(resolve_new(&r, e->store, &e->cfg, &e->log, true), RK_OK);
	assert_int_equal(resolve_pending(e->store, r, &e->cfg, &e->log, now, &rs),
			 RK_OK);
	resolve_free(r);
	assert_int_equal(tickets_aggregate(e->store, &e->cfg, &e->log, now, &ts),
			 RK_OK);
	st->events_seen = rs.seen;
	st->withheld = rs.withheld;
	st->suppressed = rs.suppressed;
	st->unresolved = rs.unresolved;
	st->ticketed = ts.ticketed;
	st->tickets_created = ts.tickets_created;
}

static const char sample[] =
	"{\"time.source\":\"2026-11-20T10:15:00Z\",\"source.ip\":\"192.0.2.10\",\"source.asn\":64500,\"source.geolocation.cc\":\"JP\",\"classification.type\":\"infected-system\",\"classification.identifier\":\"mirai\",\"tlp\":\"GREEN\"}\n"
	"{\"time.source\":\"2026-11-20T10:20:00Z\",\"source.ip\":\"192.0.2.11\",\"source.asn\":64500,\"source.geolocation.cc\":\"JP\",\"classification.type\":\"infected-system\",\"classification.identifier\":\"emotet\",\"tlp\":\"GREEN\"}\n"
	"{\"time.source\":\"2026-11-20T12:00:00Z\",\"source.ip\":\"192.0.2.99\",\"source.asn\":64500,\"classification.type\":\"c2-server\",\"tlp\":\"RED\"}\n"
	"{\"time.source\":\"2026-11-20T03:00:00Z\",\"source.ip\":\"198.51.100.53\",\"classification.type\":\"vulnerable-system\",\"tlp\":\"GREEN\"}\n"
	"{\"time.source\":\"2026-11-20T03:00:00Z\",\"source.ip\":\"198.18.0.1\",\"classification.type\":\"scanner\"}\n"
	"{\"time.source\":\"2026-11-20T09:00:00Z\",\"source.ip\":\"198.51.100.77\",\"source.asn\":64501,\"source.geolocation.cc\":\"DE\",\"classification.type\":\"brute-force\",\"tlp\":\"GREEN\"}\n";

static void test_aggregate(void **state)
{
	struct env *e = *state;
	struct agg_stats st;
	struct store_ticket *rows = NULL, t;
	size_t n = 0;
	char id[32];
	bool found;

	store_set_now(e->store, T0);
	ingest_text(e, sample);
	aggregate(e, T0, &st);
	assert_int_equal(st.events_seen, 6);
	assert_int_equal(st.ticketed, 3);
	assert_int_equal(st.withheld, 1);
	assert_int_equal(st.suppressed, 1);
	assert_int_equal(st.unresolved, 1);
	assert_int_equal(st.tickets_created, 2);

	/* the window: nothing due before it passes */
	assert_int_equal(store_tickets_due(e->store, T0, &rows, &n), RK_OK);
	assert_int_equal(n, 0);
	free(rows);
	assert_int_equal(store_tickets_due(e->store, T0 + 600, &rows, &n), RK_OK);
	assert_int_equal(n, 2);
	store_tickets_free(rows, n);

	assert_int_equal(store_ticket_find_open(e->store, "noc@isp-a.example",
						"infected-system", false, 10000,
						id, &found),
			 RK_OK);
	assert_true(found);
	assert_string_equal(id, "20261120-000001");
	assert_int_equal(store_ticket_get(e->store, id, &t), RK_OK);
	assert_int_equal(t.event_count, 2);
	assert_string_equal(t.lang, "ja");
	assert_string_equal(t.format, "csv-inline");
	assert_int_equal(t.level, 0);
	assert_int_equal(t.nchain, 3);
	assert_string_equal(t.chain[1].email, "abuse@isp-a.example");
	assert_string_equal(t.chain[2].email, "info@jpcert.or.jp");
	store_ticket_release(&t);

	/* no direct contact: the national CSIRT, in English (no de template) */
	assert_int_equal(store_ticket_get(e->store, "20261120-000002", &t), RK_OK);
	assert_string_equal(t.contact, "cert@national-csirt-de.example");
	assert_int_equal(t.level, 2);
	assert_string_equal(t.lang, "en");
	assert_string_equal(t.template_name, "brute-force");
	store_ticket_release(&t);
}

static void test_join_and_tlp_class(void **state)
{
	struct env *e = *state;
	struct agg_stats st;
	struct store_ticket t;

	ingest_text(e, sample);
	aggregate(e, T0, &st);
	/* a later GREEN event for the same contact and template joins the
	 * open ticket; an AMBER one does not (it would hold the shareable
	 * events back): it starts a restricted ticket of its own */
	ingest_text(e, "{\"time.source\":\"2026-11-21T01:00:00Z\",\"source.ip\":\"192.0.2.12\",\"source.asn\":64500,\"classification.type\":\"infected-system\",\"tlp\":\"GREEN\"}\n"
		       "{\"time.source\":\"2026-11-21T01:00:00Z\",\"source.ip\":\"192.0.2.13\",\"source.asn\":64500,\"classification.type\":\"infected-system\",\"tlp\":\"AMBER\"}\n");
	aggregate(e, T0 + 86400, &st);
	assert_int_equal(st.tickets_created, 1);
	assert_int_equal(st.ticketed, 2);
	assert_int_equal(store_ticket_get(e->store, "20261120-000001", &t), RK_OK);
	assert_int_equal(t.event_count, 3);
	assert_int_equal(t.tlp, RK_TLP_GREEN);
	store_ticket_release(&t);
	assert_int_equal(store_ticket_get(e->store, "20261121-000001", &t), RK_OK);
	assert_int_equal(t.event_count, 1);
	assert_int_equal(t.tlp, RK_TLP_AMBER);
	store_ticket_release(&t);
	/* a new ticket the next day restarts the sequence */
	ingest_text(e, "{\"time.source\":\"2026-11-21T01:00:00Z\",\"source.ip\":\"203.0.113.9\",\"classification.type\":\"phishing\"}\n");
	aggregate(e, T0 + 86400, &st);
	assert_int_equal(st.tickets_created, 1);
	assert_int_equal(store_ticket_get(e->store, "20261121-000002", &t), RK_OK);
	assert_string_equal(t.contact, "security@hosting-c.example");
	store_ticket_release(&t);
}

static void test_max_events(void **state)
{
	struct env *e = *state;
	struct agg_stats st;
	struct store_ticket *rows = NULL;
	size_t n = 0;

	/* a full ticket is due at once, and the next event starts another */
	e->cfg.aggregate.max_events = 2;
	ingest_text(e, sample);
	ingest_text(e, "{\"time.source\":\"2026-11-21T01:00:00Z\",\"source.ip\":\"192.0.2.12\",\"source.asn\":64500,\"classification.type\":\"infected-system\",\"tlp\":\"GREEN\"}\n");
	aggregate(e, T0, &st);
	assert_int_equal(st.tickets_created, 3);
	assert_int_equal(store_tickets_due(e->store, T0, &rows, &n), RK_OK);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].id, "20261120-000001");
	assert_int_equal(rows[0].event_count, 2);
	store_tickets_free(rows, n);
}

/* One event that cannot be ticketed (its stored chain is unreadable) is
 * set aside as failed with the reason; the rest of its batch goes on. */
static void test_poisoned_event(void **state)
{
	struct env *e = *state;
	struct resolver *r = NULL;
	struct resolve_stats rs;
	struct tickets_stats ts;
	struct store_event *rows = NULL;
	size_t n = 0;
	char *db = NULL, *sql;
	sqlite3 *raw;

	memset(&rs, 0, sizeof(rs));
	memset(&ts, 0, sizeof(ts));
	ingest_text(e, sample);
	assert_int_equal(resolve_new(&r, e->store, &e->cfg, &e->log, true), RK_OK);
	assert_int_equal(resolve_pending(e->store, r, &e->cfg, &e->log, T0, &rs),
			 RK_OK);
	resolve_free(r);
	assert_int_equal(rs.resolved, 3);
	/* poison the chain of the brute-force event (a subject of its own) */
	assert_int_equal(rk_path_join(e->dir, "test.db", &db), RK_OK);
	assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
	sql = "UPDATE chains SET chain = '{\"chain\":[{\"level\":9}]}' WHERE id ="
	      " (SELECT chain_id FROM events WHERE type = 'brute-force')";
	assert_int_equal(sqlite3_exec(raw, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(raw);
	free(db);
	assert_int_equal(tickets_aggregate(e->store, &e->cfg, &e->log, T0, &ts),
			 RK_OK);
	assert_int_equal(ts.events_seen, 3);
	assert_int_equal(ts.failed, 1);
	assert_int_equal(ts.ticketed, 2);
	assert_int_equal(store_events_list(e->store, STORE_EVENT_FAILED, 0, 10, &rows, &n),
			 RK_OK);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].type, "brute-force");
	assert_non_null(strstr(rows[0].state_reason, "contact chain"));
	store_events_free(rows, n);
	/* and nothing of it was half-written: no ticket for brute-force */
	{
		char id[32];
		bool found = true;

		assert_int_equal(store_ticket_find_open(e->store,
							"cert@national-csirt-de.example",
							"brute-force", false, 10000,
							id, &found),
				 RK_OK);
		assert_false(found);
	}
	/* put back, it is looked up and ticketed like any other */
	{
		long long back = 0;

		assert_int_equal(store_events_retry(e->store, STORE_EVENT_FAILED, 0,
						    &back),
				 RK_OK);
		assert_int_equal(back, 1);
	}
}

/* An event whose chain row is missing (a damaged or hand-edited store)
 * is set aside like one with an unreadable chain, and marking the
 * batch's events by id range leaves it alone. */
static void test_missing_chain(void **state)
{
	struct env *e = *state;
	struct resolver *r = NULL;
	struct resolve_stats rs;
	struct tickets_stats ts;
	struct store_event *rows = NULL;
	struct store_event_counts counts;
	size_t n = 0;
	char *db = NULL;
	sqlite3 *raw;

	memset(&rs, 0, sizeof(rs));
	memset(&ts, 0, sizeof(ts));
	ingest_text(e, sample);
	assert_int_equal(resolve_new(&r, e->store, &e->cfg, &e->log, true), RK_OK);
	assert_int_equal(resolve_pending(e->store, r, &e->cfg, &e->log, T0, &rs),
			 RK_OK);
	resolve_free(r);
	assert_int_equal(rs.resolved, 3);
	assert_int_equal(rk_path_join(e->dir, "test.db", &db), RK_OK);
	assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
	assert_int_equal(sqlite3_exec(raw,
				      "DELETE FROM chains WHERE id = (SELECT chain_id"
				      " FROM events WHERE type = 'brute-force')",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(raw);
	free(db);
	assert_int_equal(tickets_aggregate(e->store, &e->cfg, &e->log, T0, &ts),
			 RK_OK);
	assert_int_equal(ts.events_seen, 3);
	assert_int_equal(ts.failed, 1);
	assert_int_equal(ts.ticketed, 2);
	assert_int_equal(store_events_list(e->store, STORE_EVENT_FAILED, 0, 10,
					   &rows, &n),
			 RK_OK);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].type, "brute-force");
	store_events_free(rows, n);
	assert_int_equal(store_event_counts(e->store, &counts), RK_OK);
	assert_int_equal(counts.ticketed, 2);
	assert_int_equal(counts.resolved, 0);
}

static void test_context(void **state)
{
	struct env *e = *state;
	struct store_event *evs = calloc(25, sizeof(*evs));
	struct store_chain_entry who = {0, "noc@isp-a.example", NULL,
					"ISP A Inc.", "ja", NULL, NULL, "local"};
	struct store_ticket t;
	json_t *ctx = NULL;
	const char *table;
	char ip[32], data[256];

	memset(&t, 0, sizeof(t));
	snprintf(t.id, sizeof(t.id), "20261120-000007");
	t.contact = "noc@isp-a.example";
	t.template_name = "infected-system";
	t.lang = "ja";
	t.chain = &who;
	t.nchain = 1;
	t.tlp = RK_TLP_GREEN;
	for (int i = 0; i < 25; i++) {
		snprintf(ip, sizeof(ip), "192.0.2.%d", i + 1);
		snprintf(data, sizeof(data),
			 "{\"source.ip\":\"%s\",\"source.port\":%d,"
			 "\"classification.identifier\":\"mirai\\r\\nBcc: x\"}",
			 ip, 1000 + i);
		evs[i].id = i + 1;
		evs[i].time_source = T0 + i;
		evs[i].type = rk_strdup("infected-system");
		evs[i].source_ip = rk_strdup(ip);
		evs[i].data = rk_strdup(data);
	}
	assert_int_equal(notify_ticket_context(&e->cfg, &t, evs, 25, "ABCD", T0, &ctx),
			 RK_OK);
	assert_int_equal(json_integer_value(json_object_get(ctx, "event_count")), 25);
	assert_int_equal(json_integer_value(json_object_get(ctx, "shown_count")), 20);
	assert_true(json_is_true(json_object_get(ctx, "has_more")));
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(ctx, "ticket"), "tag")),
			    "[RENRAKU #20261120-000007]");
	table = json_string_value(json_object_get(ctx, "evidence_table"));
	assert_non_null(strstr(table, "観測日時 (JST)"));
	assert_non_null(strstr(table, "2026-11-20 19:15:00")); /* JST */
	assert_null(strstr(table, "\r"));
	assert_null(strstr(table, "192.0.2.21")); /* beyond 20 rows */
	assert_non_null(strstr(table, "mirai  Bcc: x")); /* CR/LF flattened */
	json_decref(ctx);
	/* a default ticket holding several types names them all */
	free(evs[3].type);
	evs[3].type = rk_strdup("malware-distribution");
	t.template_name = "default";
	assert_int_equal(notify_ticket_context(&e->cfg, &t, evs, 25, "ABCD", T0, &ctx),
			 RK_OK);
	assert_string_equal(json_string_value(json_object_get(ctx, "type")),
			    "infected-system, malware-distribution");
	assert_true(json_is_true(json_object_get(ctx, "types_multiple")));
	json_decref(ctx);
	store_events_free(evs, 25);
}

/* A vulnerable service whose report gives its port as destination.port
 * (a scanner's view) still shows that port in the table. */
static void test_service_port_from_destination(void **state)
{
	struct env *e = *state;
	struct store_event ev;
	struct store_chain_entry who = {0, "soc@x.example", NULL, "X", "en",
					NULL, NULL, "local"};
	struct store_ticket t;
	json_t *ctx = NULL;
	const char *table;

	memset(&ev, 0, sizeof(ev));
	ev.id = 1;
	ev.time_source = T0;
	ev.type = "vulnerable-system";
	ev.source_ip = "192.0.2.50";
	ev.data = "{\"source.ip\":\"192.0.2.50\",\"destination.port\":3389,"
		  "\"protocol.transport\":\"tcp\",\"classification.identifier\":"
		  "\"open-rdp\"}";
	memset(&t, 0, sizeof(t));
	snprintf(t.id, sizeof(t.id), "20261120-000009");
	t.contact = "soc@x.example";
	t.template_name = "vulnerable-system";
	t.lang = "en";
	t.chain = &who;
	t.nchain = 1;
	assert_int_equal(notify_ticket_context(&e->cfg, &t, &ev, 1, "ABCD", T0, &ctx),
			 RK_OK);
	table = json_string_value(json_object_get(ctx, "evidence_table"));
	assert_non_null(strstr(table, "Port"));
	assert_non_null(strstr(table, "3389"));
	json_decref(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_aggregate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_join_and_tlp_class, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_poisoned_event, setup, teardown),
		cmocka_unit_test_setup_teardown(test_context, setup, teardown),
		cmocka_unit_test_setup_teardown(test_service_port_from_destination, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
