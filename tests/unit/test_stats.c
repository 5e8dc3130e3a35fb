/* The statistics computation: quantiles, quarters in UTC, empty periods,
 * the boundaries of a period, the SVG writer. */
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renraku/stats.h"
#include "testutil.h"

static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
	int64_t t = 0;

	assert_int_equal(rk_time_from_civil(y, mo, d, h, mi, s, 0, &t), RK_OK);
	return t;
}

static void test_median_p90(void **state)
{
	const long long one[] = {42};
	const long long two[] = {10, 21};
	const long long five[] = {1800, 3600, 7200, 22800, 86400};
	long long ten[10], eleven[11];

	(void)state;
	assert_int_equal(stats_median(NULL, 0), -1);
	assert_int_equal(stats_p90(NULL, 0), -1);
	assert_int_equal(stats_median(one, 1), 42);
	assert_int_equal(stats_p90(one, 1), 42);
	assert_int_equal(stats_median(two, 2), 15); /* mean, rounded down */
	assert_int_equal(stats_p90(two, 2), 21);
	assert_int_equal(stats_median(five, 5), 7200);
	assert_int_equal(stats_p90(five, 5), 86400); /* rank ceil(4.5) = 5 */
	for (int i = 0; i < 10; i++)
		ten[i] = i + 1;
	for (int i = 0; i < 11; i++)
		eleven[i] = i + 1;
	assert_int_equal(stats_p90(ten, 10), 9);     /* rank 9 */
	assert_int_equal(stats_p90(eleven, 11), 10); /* rank ceil(9.9) = 10 */
	assert_int_equal(stats_median(ten, 10), 5);  /* (5 + 6) / 2 */
}

static void test_quarters(void **state)
{
	int64_t s, u, ps, pu;

	(void)state;
	assert_int_equal(stats_quarter_parse("2026Q4", &s, &u), RK_OK);
	assert_int_equal(s, utc(2026, 10, 1, 0, 0, 0));
	assert_int_equal(u, utc(2027, 1, 1, 0, 0, 0));
	assert_int_equal(stats_quarter_parse("2027q1", &s, &u), RK_OK);
	assert_int_equal(s, utc(2027, 1, 1, 0, 0, 0));
	assert_int_equal(u, utc(2027, 4, 1, 0, 0, 0));
	assert_int_equal(stats_quarter_parse("2026Q5", &s, &u), RK_ERR_INVAL);
	assert_int_equal(stats_quarter_parse("2026Q", &s, &u), RK_ERR_INVAL);
	assert_int_equal(stats_quarter_parse("26Q4xx", &s, &u), RK_ERR_INVAL);
	assert_int_equal(stats_quarter_parse("Q42026", &s, &u), RK_ERR_INVAL);
	/* the quarter of a time, at its edges (UTC, whatever TZ says) */
	stats_quarter_of(utc(2026, 12, 31, 23, 59, 59), &s, &u);
	assert_int_equal(s, utc(2026, 10, 1, 0, 0, 0));
	stats_quarter_of(utc(2027, 1, 1, 0, 0, 0), &s, &u);
	assert_int_equal(s, utc(2027, 1, 1, 0, 0, 0));
	assert_int_equal(u, utc(2027, 4, 1, 0, 0, 0));
	stats_quarter_of(utc(2026, 9, 30, 23, 59, 59), &s, &u);
	assert_int_equal(s, utc(2026, 7, 1, 0, 0, 0));
	assert_int_equal(u, utc(2026, 10, 1, 0, 0, 0));
	/* the previous period: the previous quarter (across a year) */
	stats_previous(utc(2027, 1, 1, 0, 0, 0), utc(2027, 4, 1, 0, 0, 0), &ps, &pu);
	assert_int_equal(ps, utc(2026, 10, 1, 0, 0, 0));
	assert_int_equal(pu, utc(2027, 1, 1, 0, 0, 0));
	/* else the same length before */
	stats_previous(utc(2026, 11, 1, 0, 0, 0), utc(2026, 11, 11, 0, 0, 0), &ps, &pu);
	assert_int_equal(ps, utc(2026, 10, 22, 0, 0, 0));
	assert_int_equal(pu, utc(2026, 11, 1, 0, 0, 0));
}

struct fixture {
	char *dir;
	struct rk_store *store;
	struct rk_log log;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	rk_log_init(&f->log, RK_LOG_ERROR);
	f->dir = rk_test_tmpdir();
	f->store = rk_test_store(f->dir, &f->log);
	assert_non_null(f->store);
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

static void test_empty_period(void **state)
{
	struct fixture *f = *state;
	struct stats_report r;
	struct rk_buf b;
	json_t *doc;
	int64_t s, u;

	assert_int_equal(stats_quarter_parse("2026Q4", &s, &u), RK_OK);
	assert_int_equal(stats_compute(f->store, s, u, "ja", 5, &r), RK_OK);
	assert_int_equal(r.n_months, 3);
	assert_string_equal(r.months[0].month, "2026-10");
	assert_string_equal(r.months[2].month, "2026-12");
	assert_int_equal(r.cur.events, 0);
	assert_int_equal(r.cur.tickets, 0);
	assert_int_equal(r.median_ack, -1);
	assert_int_equal(r.p90_ack, -1);
	assert_true(r.ack_rate == 0.0);
	assert_int_equal(r.n_least[0] + r.n_least[1] + r.n_most[0] + r.n_most[1], 0);
	doc = stats_to_json(&r);
	assert_non_null(doc);
	assert_true(json_is_null(json_object_get(json_object_get(doc, "response"),
						 "median_ack_seconds")));
	assert_int_equal(json_array_size(json_object_get(doc, "by_month")), 3);
	json_decref(doc);
	rk_buf_init(&b, 1u << 24);
	assert_int_equal(stats_write_html(&r, &b), RK_OK);
	assert_non_null(strstr(b.data, "Noto Sans CJK JP"));
	rk_buf_release(&b);
	stats_report_release(&r);
	/* a period no longer than STATS_MAX_MONTHS */
	assert_int_equal(stats_compute(f->store, utc(2000, 1, 1, 0, 0, 0),
				       utc(2026, 1, 1, 0, 0, 0), "en", 5, &r),
			 RK_ERR_INVAL);
	assert_int_equal(stats_compute(f->store, u, s, "en", 5, &r), RK_ERR_INVAL);
}

static void add_event_cat(struct fixture *f, int64_t report, int64_t at, int n,
			  const char *category)
{
	char key[64];
	struct store_event ev;

	memset(&ev, 0, sizeof(ev));
	snprintf(key, sizeof(key), "k%d", n);
	ev.report_id = report;
	ev.dedup_key = key;
	ev.time_source = at;
	ev.type = "phishing";
	ev.taxonomy = "fraud";
	ev.source_ip = "192.0.2.1";
	ev.tlp = RK_TLP_GREEN;
	ev.severity = RK_SEV_HIGH;
	ev.category = (char *)category; /* store_event_add only reads it */
	ev.data = "{}";
	store_set_now(f->store, at);
	assert_int_equal(store_begin(f->store), RK_OK);
	assert_int_equal(store_event_add(f->store, &ev, NULL, NULL), RK_OK);
	assert_int_equal(store_commit(f->store), RK_OK);
}

static void add_event(struct fixture *f, int64_t report, int64_t at, int n)
{
	add_event_cat(f, report, at, n, "phishing-site");
}

/* Events by month and category: one range per category and month; a
 * NULL category (an event stored before categories) counts as other,
 * with the events of category other; a period that starts and ends
 * inside months counts only its own part of them. */
static void test_events_by_month(void **state)
{
	struct fixture *f = *state;
	struct store_report rep = {.format = "intelmq", .source_name = "-"};
	struct store_stats_group *g;
	struct store_stats_counts c;
	size_t n;
	int64_t report;

	store_set_now(f->store, utc(2026, 10, 1, 0, 0, 0));
	assert_int_equal(store_begin(f->store), RK_OK);
	assert_int_equal(store_report_add(f->store, &rep, &report), RK_OK);
	assert_int_equal(store_commit(f->store), RK_OK);
	add_event_cat(f, report, utc(2026, 10, 10, 0, 0, 0), 1, "scan");
	add_event_cat(f, report, utc(2026, 10, 14, 23, 59, 59), 2, NULL);
	add_event_cat(f, report, utc(2026, 10, 20, 0, 0, 0), 3, "other");
	add_event_cat(f, report, utc(2026, 10, 21, 0, 0, 0), 4, NULL);
	add_event_cat(f, report, utc(2026, 11, 2, 0, 0, 0), 5, "dos");
	add_event_cat(f, report, utc(2026, 11, 20, 0, 0, 0), 6, "scan");
	/* [10-15, 11-15): half of October, half of November */
	assert_int_equal(store_stats_groups(f->store, STORE_STATS_EVENTS_BY_MONTH_CATEGORY,
					    utc(2026, 10, 15, 0, 0, 0),
					    utc(2026, 11, 15, 0, 0, 0), &g, &n),
			 RK_OK);
	assert_int_equal(n, 2);
	assert_string_equal(g[0].key, "2026-10");
	assert_string_equal(g[0].key2, "other");
	assert_int_equal(g[0].n, 2); /* 'other' and NULL, one row */
	assert_string_equal(g[1].key, "2026-11");
	assert_string_equal(g[1].key2, "dos");
	assert_int_equal(g[1].n, 1);
	free(g);
	/* the whole of both months, in month and category order */
	assert_int_equal(store_stats_groups(f->store, STORE_STATS_EVENTS_BY_MONTH_CATEGORY,
					    utc(2026, 10, 1, 0, 0, 0),
					    utc(2026, 12, 1, 0, 0, 0), &g, &n),
			 RK_OK);
	assert_int_equal(n, 4);
	assert_string_equal(g[0].key2, "other");
	assert_int_equal(g[0].n, 3);
	assert_string_equal(g[1].key2, "scan");
	assert_string_equal(g[2].key, "2026-11");
	assert_string_equal(g[2].key2, "dos");
	assert_string_equal(g[3].key2, "scan");
	free(g);
	/* the total counts the NULL ones too */
	assert_int_equal(store_stats_counts_get(f->store, utc(2026, 10, 1, 0, 0, 0),
						utc(2026, 12, 1, 0, 0, 0), &c),
			 RK_OK);
	assert_int_equal(c.events, 6);
	assert_int_equal(store_stats_counts_get(f->store, utc(2026, 10, 14, 23, 59, 59),
						utc(2026, 10, 21, 0, 0, 0), &c),
			 RK_OK);
	assert_int_equal(c.events, 2);
}

static void test_durations(void **state)
{
	char s[64];

	(void)state;
	stats_duration_text(-1, "ja", s, sizeof(s));
	assert_string_equal(s, "-");
	stats_duration_text(1800, "en", s, sizeof(s));
	assert_string_equal(s, "30m 0s");
	stats_duration_text(1800, "ja", s, sizeof(s));
	assert_string_equal(s, "30分0秒");
	stats_duration_text(7800, "en", s, sizeof(s));
	assert_string_equal(s, "2h 10m");
	stats_duration_text(7800, "ja", s, sizeof(s));
	assert_string_equal(s, "2時間10分");
	stats_duration_text(180060, "en", s, sizeof(s));
	assert_string_equal(s, "2d 2h");
	stats_duration_text(180060, "ja", s, sizeof(s));
	assert_string_equal(s, "2日2時間");
	stats_duration_text(59, "ja", s, sizeof(s));
	assert_string_equal(s, "0分59秒");
}

static void sql(sqlite3 *db, const char *text)
{
	char *msg = NULL;

	if (sqlite3_exec(db, text, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", text, msg ? msg : "?");
}

static unsigned next_rand(unsigned long long *x)
{
	*x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)(*x >> 33);
}

/* The networks and answer times aggregated in C from the facts read once
 * (stats_networks, stats_compute) are those of the SQL of record
 * (store_responsiveness_all, store_stats_ack_delays), on a random
 * history: tickets of up to three levels, contacts in mixed case,
 * several origin ASes a ticket (some events without one), bounces,
 * auto-replies, answers before and after a level's notice, tickets
 * outside the period. */
static void test_networks_as_sql(void **state)
{
	struct fixture *f = *state;
	static const char *const emails[] = {"noc@a.example", "NOC@A.example",
					     "abuse@b.example", "cert@c.example",
					     "soc@d.example", "x@e.example"};
	static const char *const causes[] = {"notice-queued", "notice-queued",
					     "reply", "ack", "auto-reply",
					     "bounce", "reminder", "no-answer"};
	unsigned long long seed = 12;
	char *path = NULL, q[512];
	sqlite3 *db = NULL;
	int64_t s, u;
	long long ev = 0, msg = 0;
	struct store_stats_facts facts;
	struct stats_report r;
	long long *delays;
	size_t nd;

	assert_int_equal(stats_quarter_parse("2026Q4", &s, &u), RK_OK);
	assert_int_equal(rk_path_join(f->dir, "test.db", &path), RK_OK);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sql(db, "BEGIN; INSERT INTO reports (id, received_at, format, source_name)"
		" VALUES (1, 0, 'intelmq', '-')");
	for (int t = 0; t < 60; t++) {
		/* a few tickets of Q3: outside the period */
		int64_t created = (t % 10 == 9 ? s - 86400 : s) + (int64_t)t * 3600;
		int levels = 1 + (int)(next_rand(&seed) % 3);
		int nev = 1 + (int)(next_rand(&seed) % 4);

		snprintf(q, sizeof(q),
			 "INSERT INTO tickets (id, state, contact, template, lang, tlp,"
			 " severity, created_at, send_after, updated_at) VALUES"
			 " ('T%02d', 'notified', 'c', 'x', 'en', 1, 2, %lld, 0, 0)",
			 t, (long long)created);
		sql(db, q);
		for (int l = 0; l < levels; l++) {
			snprintf(q, sizeof(q),
				 "INSERT INTO ticket_contacts (ticket_id, level, email)"
				 " VALUES ('T%02d', %d, '%s')",
				 t, l, emails[next_rand(&seed) % 6]);
			sql(db, q);
		}
		for (int e = 0; e < nev; e++) {
			unsigned a = next_rand(&seed) % 5;

			ev++;
			snprintf(q, sizeof(q),
				 "INSERT INTO events (id, report_id, dedup_key, time_source,"
				 " type, taxonomy, source_asn, tlp, severity, created_at)"
				 " VALUES (%lld, 1, 'k%lld', 0, 'scanner', 'x', %s, 1, 2, %lld);"
				 "INSERT INTO event_data (id, data) VALUES (%lld, '{}');"
				 "INSERT INTO ticket_events (ticket_id, event_id, added_at)"
				 " VALUES ('T%02d', %lld, 0)",
				 ev, ev, a == 4 ? "NULL" : (a == 3 ? "64503" : a == 2 ? "64502" : "64501"),
				 (long long)created, ev, t, ev);
			sql(db, q);
		}
		snprintf(q, sizeof(q),
			 "INSERT INTO ticket_timeline (ticket_id, at, to_state, level,"
			 " actor, cause) VALUES ('T%02d', %lld, 'open', 0, 'run', 'created')",
			 t, (long long)created);
		sql(db, q);
		for (int k = 0, n = (int)(next_rand(&seed) % 9); k < n; k++) {
			const char *cause = causes[next_rand(&seed) % 8];
			int l = (int)(next_rand(&seed) % (unsigned)levels);
			long long at = created + (long long)(next_rand(&seed) % 200000);

			snprintf(q, sizeof(q),
				 "INSERT INTO ticket_timeline (ticket_id, at, to_state, level,"
				 " actor, cause) VALUES ('T%02d', %lld, 'notified', %d, 'run', '%s')",
				 t, at, l, cause);
			sql(db, q);
			if (strcmp(cause, "notice-queued") == 0) {
				msg++;
				snprintf(q, sizeof(q),
					 "INSERT INTO messages (id, ticket_id, direction, kind,"
					 " message_id, state, created_at) VALUES (%lld, 'T%02d',"
					 " 'out', 'notice', '<m%lld@t>', 'sent', %lld);"
					 "INSERT INTO deliveries (message_row, rcpt, state) VALUES"
					 " (%lld, '%s', '%s')",
					 msg, t, msg, at, msg, emails[next_rand(&seed) % 6],
					 next_rand(&seed) % 3 ? "sent" : "bounced");
				sql(db, q);
			}
		}
	}
	sql(db, "COMMIT");
	sqlite3_close(db);
	free(path);

	assert_int_equal(store_stats_facts_get(f->store, s, u, &facts), RK_OK);
	for (int kind = 0; kind < 2; kind++) {
		struct store_responsiveness_row *want, *got;
		size_t nw, ng;

		assert_int_equal(store_responsiveness_all(f->store, kind, s, u, &want, &nw), RK_OK);
		assert_int_equal(stats_networks(&facts, kind, &got, &ng), RK_OK);
		assert_true(nw > 2);
		assert_int_equal(ng, nw);
		for (size_t i = 0; i < nw; i++) {
			assert_string_equal(got[i].address, want[i].address);
			assert_int_equal(got[i].asn, want[i].asn);
			assert_int_equal(got[i].r.tickets, want[i].r.tickets);
			assert_int_equal(got[i].r.sent, want[i].r.sent);
			assert_int_equal(got[i].r.bounced, want[i].r.bounced);
			assert_int_equal(got[i].r.auto_acknowledged, want[i].r.auto_acknowledged);
			assert_int_equal(got[i].r.acknowledged, want[i].r.acknowledged);
			assert_int_equal(got[i].r.answered, want[i].r.answered);
			assert_int_equal(got[i].r.median_answer, want[i].r.median_answer);
		}
		free(want);
		free(got);
	}
	store_stats_facts_release(&facts);
	/* the report's answer times: those of the one query of record */
	assert_int_equal(store_stats_ack_delays(f->store, s, u, &delays, &nd), RK_OK);
	assert_int_equal(stats_compute(f->store, s, u, "en", 1, &r), RK_OK);
	assert_true(nd > 5);
	assert_int_equal(r.n_delays, nd);
	for (size_t i = 0; i < nd; i++)
		assert_int_equal(r.delays[i], delays[i]);
	free(delays);
	stats_report_release(&r);
}

static void test_boundaries(void **state)
{
	struct fixture *f = *state;
	struct store_report rep = {.format = "intelmq", .source_name = "-",
				   .reporter = "feed"};
	struct stats_report r;
	int64_t report, s, u;

	assert_int_equal(stats_quarter_parse("2026Q4", &s, &u), RK_OK);
	store_set_now(f->store, s - 1);
	assert_int_equal(store_begin(f->store), RK_OK);
	assert_int_equal(store_report_add(f->store, &rep, &report), RK_OK);
	assert_int_equal(store_commit(f->store), RK_OK);
	add_event(f, report, s - 1, 1);  /* 2026-09-30T23:59:59Z: Q3 */
	add_event(f, report, s, 2);      /* 2026-10-01T00:00:00Z: Q4 */
	add_event(f, report, utc(2026, 11, 30, 23, 59, 59), 3);
	add_event(f, report, utc(2026, 12, 1, 0, 0, 0), 4);
	add_event(f, report, u - 1, 5);  /* 2026-12-31T23:59:59Z: Q4 */
	add_event(f, report, u, 6);      /* 2027-01-01T00:00:00Z: Q1 */
	assert_int_equal(stats_compute(f->store, s, u, "en", 5, &r), RK_OK);
	assert_int_equal(r.cur.events, 4);
	assert_int_equal(r.cur.reports, 0); /* received in Q3 */
	assert_int_equal(r.prev.events, 1);
	assert_int_equal(r.prev.reports, 1);
	assert_int_equal(r.months[0].events, 1);
	assert_int_equal(r.months[1].events, 1);
	assert_int_equal(r.months[2].events, 2);
	assert_int_equal(r.by_cat[stats_category_index("phishing-site")], 4);
	assert_int_equal(r.prev_by_cat[stats_category_index("phishing-site")], 1);
	assert_int_equal(r.months[2].by_cat[0], 2);
	stats_report_release(&r);
}

static void test_svg(void **state)
{
	const char *const x[] = {"a<b", "c&d"};
	const char *const series[] = {"\"q\"", "it's"};
	const long long values[] = {1, 2, 3, 0};
	struct svg_chart c = {.title = "T <1>", .x_label = "x", .y_label = "y",
			      .x = x, .n_x = 2, .series = series, .n_series = 2,
			      .values = values, .lang = "en"};
	struct rk_buf b;

	(void)state;
	rk_buf_init(&b, 1u << 20);
	assert_int_equal(svg_escape(&b, "<&>\"'\x01z"), RK_OK);
	assert_int_equal(b.len, strlen("&lt;&amp;&gt;&quot;&apos; z"));
	assert_memory_equal(b.data, "&lt;&amp;&gt;&quot;&apos; z", b.len);
	rk_buf_reset(&b);
	assert_int_equal(svg_bars(&b, &c), RK_OK);
	assert_int_equal(rk_buf_addc(&b, '\0'), RK_OK);
	assert_non_null(strstr(b.data, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
	assert_non_null(strstr(b.data, ">a&lt;b</text>"));
	assert_non_null(strstr(b.data, ">c&amp;d</text>"));
	assert_non_null(strstr(b.data, ">&quot;q&quot;</text>"));
	assert_non_null(strstr(b.data, "<title>T &lt;1&gt;</title>"));
	assert_null(strstr(b.data, "a<b"));
	/* three non-zero segments: 1 and 2 stacked, then 3 */
	{
		size_t rects = 0;

		for (const char *p = b.data; (p = strstr(p, "<rect x")); p++)
			rects++;
		assert_int_equal(rects, 3 + 2); /* bars + legend boxes */
	}
	assert_non_null(strstr(b.data, "</svg>\n"));
	rk_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_median_p90),
		cmocka_unit_test(test_quarters),
		cmocka_unit_test(test_svg),
		cmocka_unit_test(test_durations),
		cmocka_unit_test_setup_teardown(test_events_by_month, setup, teardown),
		cmocka_unit_test_setup_teardown(test_networks_as_sql, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_period, setup, teardown),
		cmocka_unit_test_setup_teardown(test_boundaries, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
