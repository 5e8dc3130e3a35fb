/* The per-source counts of the resolve stage (/metrics of renraku serve):
 * resolve_pending reports, for each configured source in order, the
 * queries it was handed and what its own counters say (cache hits,
 * remote queries); a source without counters reports zeros. */
#include <stdlib.h>
#include <string.h>

#include "renraku/ingest.h"
#include "renraku/resolve.h"
#include "testutil.h"

#define T0 RK_TEST_NOW

/* A source with a cache of one address: 192.0.2.10 is answered from it,
 * anything else is "asked" (counted as a remote query) and unknown. */
struct cached_source {
	struct resolve_source_counts counts;
};

static enum rk_err cached_lookup(void *self, const struct resolve_query *qs,
				 size_t n, int level,
				 struct resolve_contact *outs, enum rk_err *errs)
{
	struct cached_source *s = self;
	struct rk_addr hit;

	assert_int_equal(rk_addr_parse("192.0.2.10", &hit), RK_OK);
	for (size_t i = 0; i < n; i++) {
		errs[i] = RK_ERR_NOTFOUND;
		if (level != 0 || !qs[i].has_addr)
			continue;
		if (memcmp(qs[i].addr.bytes, hit.bytes, 4) == 0) {
			s->counts.cache_hits++;
			outs[i].email = rk_strdup("abuse@cached.example");
			outs[i].source = rk_strdup("cached");
			outs[i].cached = true;
			assert_non_null(outs[i].email);
			errs[i] = RK_OK;
		} else {
			s->counts.remote_queries++;
		}
	}
	return RK_OK;
}

/* The same without counters. */
static enum rk_err silent_lookup(void *self, const struct resolve_query *qs,
				 size_t n, int level,
				 struct resolve_contact *outs, enum rk_err *errs)
{
	(void)self;
	(void)qs;
	(void)level;
	(void)outs;
	for (size_t i = 0; i < n; i++)
		errs[i] = RK_ERR_NOTFOUND;
	return RK_OK;
}

static const char events[] =
	"{\"time.source\":\"2026-11-20T09:00:00Z\",\"source.ip\":\"192.0.2.10\",\"classification.type\":\"scanner\"}\n"
	"{\"time.source\":\"2026-11-20T09:00:01Z\",\"source.ip\":\"192.0.2.11\",\"classification.type\":\"scanner\"}\n"
	"{\"time.source\":\"2026-11-20T09:00:02Z\",\"source.ip\":\"192.0.2.12\",\"classification.type\":\"scanner\"}\n";

static void test_counts_by_source(void **state)
{
	struct rk_log log;
	struct rk_config cfg;
	struct rk_store *store;
	struct resolver *r = NULL;
	struct resolve_stats st;
	struct ingest_options opts;
	struct ingest_result res;
	struct cached_source cs;
	char *dir = rk_test_tmpdir();
	struct resolve_source cached = {
		.name = "cached", .network = true, .lookup = cached_lookup,
		.self = &cs, .counts = &cs.counts,
	};
	struct resolve_source silent = {
		.name = "silent", .network = true, .lookup = silent_lookup,
	};

	(void)state;
	memset(&cs, 0, sizeof(cs));
	rk_log_init(&log, RK_LOG_ERROR);
	store = rk_test_store(dir, &log);
	rk_test_config(&cfg);
	free(cfg.resolve.sources);
	cfg.resolve.sources = rk_strdup("local");
	memset(&opts, 0, sizeof(opts));
	memset(&res, 0, sizeof(res));
	opts.format = INGEST_FORMAT_INTELMQ;
	opts.now = T0;
	assert_int_equal(ingest_buffer(store, &cfg, &log, &opts, "test", events,
				       strlen(events), &res),
			 RK_OK);
	ingest_result_release(&res);

	assert_int_equal(resolve_new(&r, store, &cfg, &log, false), RK_OK);
	assert_int_equal(resolve_add_source(r, &cached), RK_OK);
	assert_int_equal(resolve_add_source(r, &silent), RK_OK);
	memset(&st, 0, sizeof(st));
	assert_int_equal(resolve_pending(store, r, &cfg, &log, T0, &st), RK_OK);

	assert_int_equal(st.seen, 3);
	assert_int_equal(st.nsources, 3);
	assert_string_equal(st.sources[0].name, "local");
	assert_string_equal(st.sources[1].name, "cached");
	assert_string_equal(st.sources[2].name, "silent");
	/* local has no contact: every query goes on to the next sources */
	assert_true(st.sources[0].lookups >= 3);
	assert_int_equal(st.sources[0].cache_hits, 0);
	assert_int_equal(st.sources[0].remote_queries, 0);
	assert_true(st.sources[1].lookups >= 3);
	assert_int_equal(st.sources[1].cache_hits, 1);
	assert_int_equal(st.sources[1].remote_queries, 2);
	/* the two the cache did not know reach the last source */
	assert_true(st.sources[2].lookups >= 2);
	assert_int_equal(st.sources[2].cache_hits, 0);
	assert_int_equal(st.sources[2].remote_queries, 0);

	resolve_free(r);
	store_close(store);
	rk_config_release(&cfg);
	rk_test_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_by_source),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
