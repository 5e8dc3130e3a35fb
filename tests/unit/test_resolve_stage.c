/* The resolve stage: lookups outside any write transaction (a slow
 * source does not block a concurrent ingest), one batch per source and
 * level, distinct subjects asked once, unresolved events retried after
 * negative_ttl and at once after a contacts import, TEMPFAIL left new. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "renraku/ingest.h"
#include "renraku/resolve.h"
#include "testutil.h"

#define T0 RK_TEST_NOW

/* A contact source that takes its time, like a registry. */
struct slow_source {
	int started[2];      /* a byte is written here when a lookup begins */
	unsigned sleep_ms;
	int calls;           /* level-0 batches seen */
	size_t last_batch;   /* queries in the last level-0 batch */
	enum rk_err answer;  /* RK_OK: a contact; else this error */
};

static enum rk_err slow_lookup(void *self, const struct resolve_query *qs,
			       size_t n, int level,
			       struct resolve_contact *outs, enum rk_err *errs)
{
	struct slow_source *s = self;
	struct timespec ts = {(time_t)(s->sleep_ms / 1000),
			      (long)(s->sleep_ms % 1000) * 1000000L};
	char b = 'x';

	if (level != 0) {
		for (size_t i = 0; i < n; i++)
			errs[i] = RK_ERR_NOTFOUND;
		return RK_OK;
	}
	s->calls++;
	s->last_batch = n;
	assert_int_equal(write(s->started[1], &b, 1), 1);
	nanosleep(&ts, NULL);
	for (size_t i = 0; i < n; i++) {
		(void)qs;
		errs[i] = s->answer;
		if (s->answer)
			continue;
		outs[i].email = rk_strdup("abuse@slow.example");
		outs[i].org = rk_strdup("Slow Registry");
		outs[i].source = rk_strdup("slow");
		if (!outs[i].email || !outs[i].org || !outs[i].source)
			return RK_ERR_NOMEM;
	}
	return RK_OK;
}

struct env {
	char *dir;
	char *db;
	struct rk_store *store;
	struct rk_config cfg;
	struct rk_log log;
	struct slow_source slow;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	rk_log_init(&e->log, RK_LOG_ERROR);
	e->dir = rk_test_tmpdir();
	e->store = rk_test_store(e->dir, &e->log);
	assert_int_equal(rk_path_join(e->dir, "test.db", &e->db), RK_OK);
	rk_test_config(&e->cfg);
	free(e->cfg.resolve.sources);
	e->cfg.resolve.sources = rk_strdup("local");
	assert_int_equal(pipe(e->slow.started), 0);
	e->slow.sleep_ms = 1500;
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	close(e->slow.started[0]);
	close(e->slow.started[1]);
	store_close(e->store);
	rk_config_release(&e->cfg);
	rk_test_rmtree(e->dir);
	free(e->dir);
	free(e->db);
	free(e);
	return 0;
}

static void ingest_into(struct env *e, struct rk_store *store, const char *text)
{
	struct ingest_options opts;
	struct ingest_result res;

	memset(&opts, 0, sizeof(opts));
	opts.format = INGEST_FORMAT_INTELMQ;
	opts.now = T0;
	memset(&res, 0, sizeof(res));
	assert_int_equal(ingest_buffer(store, &e->cfg, &e->log, &opts, "test",
				       text, strlen(text), &res),
			 RK_OK);
	assert_int_equal(res.rejected, 0);
	ingest_result_release(&res);
}

static const char three[] =
	"{\"time.source\":\"2026-11-20T09:00:00Z\",\"source.ip\":\"192.0.2.10\",\"classification.type\":\"scanner\",\"destination.port\":22}\n"
	"{\"time.source\":\"2026-11-20T09:05:00Z\",\"source.ip\":\"192.0.2.10\",\"classification.type\":\"scanner\",\"destination.port\":23}\n"
	"{\"time.source\":\"2026-11-20T09:00:01Z\",\"source.ip\":\"192.0.2.11\",\"classification.type\":\"scanner\"}\n";

struct resolve_job {
	struct env *e;
	struct resolve_stats stats;
	enum rk_err err;
};

static void add_slow(struct env *e, struct resolver *r)
{
	struct resolve_source src = {
		.name = "slow", .network = true, .lookup = slow_lookup,
		.self = &e->slow,
	};

	assert_int_equal(resolve_add_source(r, &src), RK_OK);
}

static void *run_resolve(void *arg)
{
	struct resolve_job *job = arg;
	struct resolver *r = NULL;

	job->err = resolve_new(&r, job->e->store, &job->e->cfg, &job->e->log,
			       false);
	if (!job->err) {
		add_slow(job->e, r);
		job->err = resolve_pending(job->e->store, r, &job->e->cfg,
					   &job->e->log, T0, &job->stats);
	}
	resolve_free(r);
	return NULL;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static long long count(struct rk_store *store, const char *state)
{
	struct store_event *rows = NULL;
	size_t n = 0;

	assert_int_equal(store_events_list(store, state, 0, 1000, &rows, &n), RK_OK);
	store_events_free(rows, n);
	return (long long)n;
}

/* While the slow source is being consulted, another process's ingest
 * (its own connection) commits at once. */
static void test_ingest_during_slow_resolve(void **state)
{
	struct env *e = *state;
	struct resolve_job job = {.e = e};
	struct rk_store *other = NULL;
	struct timespec t0;
	pthread_t th;
	char b;
	double took;

	ingest_into(e, e->store, three);
	assert_int_equal(pthread_create(&th, NULL, run_resolve, &job), 0);
	assert_int_equal(read(e->slow.started[0], &b, 1), 1); /* lookup began */
	assert_int_equal(store_open(&other, e->db, 5000, &e->log), RK_OK);
	store_set_now(other, T0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ingest_into(e, other, "{\"time.source\":\"2026-11-20T09:30:00Z\",\"source.ip\":\"192.0.2.12\",\"classification.type\":\"scanner\"}\n");
	took = seconds_since(&t0);
	print_message("ingest during a 1.5 s lookup took %.3f s\n", took);
	assert_true(took < 1.0);
	/* committed: visible to a third connection while the lookup runs */
	{
		struct rk_store *third = NULL;

		assert_int_equal(store_open(&third, e->db, 5000, &e->log), RK_OK);
		assert_int_equal(count(third, STORE_EVENT_NEW), 4);
		store_close(third);
	}
	store_close(other);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(job.err, RK_OK);
	/* two distinct subjects in the first batch, asked in one call; the
	 * event ingested meanwhile came in a second batch of the same pass */
	assert_int_equal(e->slow.calls, 2);
	assert_int_equal(job.stats.resolved, 4);
	assert_int_equal(job.stats.subjects, 3);
	assert_int_equal(count(e->store, STORE_EVENT_RESOLVED), 4);
}

static void resolve_once(struct env *e, int64_t now, bool slow,
			 struct resolve_stats *st)
{
	struct resolver *r = NULL;

	memset(st, 0, sizeof(*st));
	store_set_now(e->store, now);
	assert_int_equal(resolve_new(&r, e->store, &e->cfg, &e->log, true), RK_OK);
	if (slow)
		add_slow(e, r);
	assert_int_equal(resolve_pending(e->store, r, &e->cfg, &e->log, now, st),
			 RK_OK);
	resolve_free(r);
}

/* Nothing is stuck for ever: no contact now -> unresolved, looked up
 * again after negative_ttl, and at once after a contacts import. */
static void test_unresolved_retried(void **state)
{
	struct env *e = *state;
	struct resolve_stats st;
	struct store_contact c = {
		.kind = STORE_CONTACT_CONSTITUENCY, .org = "Net A",
		.match = "192.0.2.0/24", .email = "noc@a.example",
		.source = "constituency.csv:2",
	};
	long long n = 0;

	e->cfg.resolve.negative_ttl = 3600;
	ingest_into(e, e->store, three);
	resolve_once(e, T0, false, &st);
	assert_int_equal(st.unresolved, 3);
	assert_int_equal(count(e->store, STORE_EVENT_UNRESOLVED), 3);
	/* before negative_ttl: not looked at */
	resolve_once(e, T0 + 1800, false, &st);
	assert_int_equal(st.seen, 0);
	/* after it: looked up again (still nobody) */
	resolve_once(e, T0 + 3601, false, &st);
	assert_int_equal(st.seen, 3);
	assert_int_equal(st.unresolved, 3);
	/* the constituency changes: at once, whatever the ttl says */
	assert_int_equal(store_contacts_replace(e->store, &c, 1, NULL, 0), RK_OK);
	resolve_once(e, T0 + 3602, false, &st);
	assert_int_equal(st.seen, 3);
	assert_int_equal(st.resolved, 3);
	assert_int_equal(count(e->store, STORE_EVENT_RESOLVED), 3);
	/* `events retry` puts unresolved or failed ones back */
	assert_int_equal(store_events_retry(e->store, STORE_EVENT_UNRESOLVED, 0, &n),
			 RK_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_events_retry(e->store, "ticketed", 0, &n),
			 RK_ERR_INVAL);
}

/* A contacts import while the lookups run: the batch was looked up with
 * the old constituency, so nothing of it is written; the next pass finds
 * the new contact at once.  An `events retry` meanwhile is not undone. */
static void test_import_during_lookup(void **state)
{
	struct env *e = *state;
	struct resolve_job job = {.e = e};
	struct store_contact c = {
		.kind = STORE_CONTACT_CONSTITUENCY, .org = "Net A",
		.match = "192.0.2.0/24", .email = "noc@a.example",
		.source = "constituency.csv:2",
	};
	struct rk_store *other = NULL;
	struct resolve_stats st;
	pthread_t th;
	char b;

	e->slow.answer = RK_ERR_NOTFOUND; /* the old world knows nobody */
	e->slow.sleep_ms = 800;
	ingest_into(e, e->store, three);
	assert_int_equal(pthread_create(&th, NULL, run_resolve, &job), 0);
	assert_int_equal(read(e->slow.started[0], &b, 1), 1);
	assert_int_equal(store_open(&other, e->db, 5000, &e->log), RK_OK);
	store_set_now(other, T0);
	assert_int_equal(store_contacts_replace(other, &c, 1, NULL, 0), RK_OK);
	store_close(other);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(job.err, RK_OK);
	assert_int_equal(job.stats.stale, 3);
	assert_int_equal(job.stats.unresolved, 0);
	assert_int_equal(count(e->store, STORE_EVENT_NEW), 3);
	/* the next pass, a second later: the new contact, not a day later */
	resolve_once(e, T0 + 1, false, &st);
	assert_int_equal(st.resolved, 3);
}

/* A source that cannot tell now: the events stay new, nothing cached. */
static void test_tempfail_left_new(void **state)
{
	struct env *e = *state;
	struct resolve_stats st;

	e->slow.sleep_ms = 0;
	e->slow.answer = RK_ERR_TEMPFAIL;
	ingest_into(e, e->store, three);
	resolve_once(e, T0, true, &st);
	assert_int_equal(st.later, 3);
	assert_int_equal(count(e->store, STORE_EVENT_NEW), 3);
	assert_int_equal(e->slow.last_batch, 2);
	e->slow.answer = RK_OK;
	resolve_once(e, T0 + 60, true, &st);
	assert_int_equal(st.resolved, 3);
}

/* Chains round-trip through the store's text. */
static void test_chain_codec(void **state)
{
	struct resolve_chain c, back;
	struct rk_buf text;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.count = 2;
	c.entry[0].level = 0;
	c.entry[0].email = "a@x.example";
	c.entry[0].cc = "b@x.example";
	c.entry[0].lang = "ja";
	c.entry[0].source = "local";
	c.entry[1].level = 2;
	c.entry[1].email = "cert@y.example";
	c.country = "JP";
	rk_buf_init(&text, 1 << 16);
	assert_int_equal(resolve_chain_encode(&c, &text), RK_OK);
	assert_int_equal(resolve_chain_decode(text.data, &back), RK_OK);
	assert_int_equal(back.count, 2);
	assert_string_equal(back.entry[0].cc, "b@x.example");
	assert_string_equal(back.entry[0].lang, "ja");
	assert_int_equal(back.entry[1].level, 2);
	assert_string_equal(back.country, "JP");
	resolve_chain_release(&back);
	assert_int_equal(resolve_chain_decode("{\"chain\":[{\"level\":7}]}", &back),
			 RK_ERR_PARSE);
	assert_int_equal(resolve_chain_decode("not json", &back), RK_ERR_PARSE);
	assert_int_equal(resolve_chain_decode(NULL, &back), RK_ERR_PARSE);
	rk_buf_release(&text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ingest_during_slow_resolve, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unresolved_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_during_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tempfail_left_new, setup, teardown),
		cmocka_unit_test(test_chain_codec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
