/*
 * ingest: IntelMQ JSON Lines -> events in SQLite through ingest_buffer.
 *
 * Measured: one ingest_buffer call over N generated lines (default
 * 200,000; RK_BENCH_INGEST_EVENTS) into a fresh database, per run.
 * Reference: jansson json_loadb of the same lines, one by one, with the
 * flags ingest uses, then json_decref: the parse floor no ingest can beat
 * without replacing the JSON parser.
 * Detail: ingest_intelmq_event alone (parse + normalize, no store), which
 * splits the gap into normalizing and storing.
 * Best of 3 runs each, interleaved.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "renraku/ingest.h"

#define RUNS 3

static double normalize_only(const struct rk_config *cfg,
			     const struct rk_buf *data)
{
	const char *p = data->data, *end = data->data + data->len;
	struct ingest_options now_opts = {.now = rk_now()}; /* bench edge */
	char reason[256];
	double t0 = bench_now();

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl : end) - p);
		struct store_event ev;

		memset(&ev, 0, sizeof(ev));
		if (ingest_event_text(cfg, &now_opts, p, len, &ev, reason,
				      sizeof(reason)))
			bench_die("generated event rejected: %s", reason);
		store_event_release(&ev);
		p = nl ? nl + 1 : end;
	}
	return bench_now() - t0;
}

static void remove_db(const char *db)
{
	char side[4096];

	unlink(db);
	snprintf(side, sizeof(side), "%s-wal", db);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", db);
	unlink(side);
	snprintf(side, sizeof(side), "%s-run.lock", db);
	unlink(side);
}

static double ingest_once(const struct rk_config *cfg,
			  const struct rk_log *log, const char *db,
			  const struct rk_buf *data,
			  struct ingest_result *res)
{
	struct ingest_options opts = {INGEST_FORMAT_INTELMQ, "bench", false,
				      rk_now()};
	struct rk_store *store = NULL;
	double t0, t;

	remove_db(db);
	bench_check(store_open(&store, db, 5000, log), "store_open");
	memset(res, 0, sizeof(*res));
	t0 = bench_now();
	bench_check(ingest_buffer(store, cfg, log, &opts, "bench.jsonl",
				  data->data, data->len, res),
		    "ingest_buffer");
	t = bench_now() - t0;
	store_close(store);
	return t;
}

int main(void)
{
	long long n = bench_env_ll("RK_BENCH_INGEST_EVENTS", 200000);
	struct bench_constituency c;
	struct bench_events g;
	struct rk_config cfg;
	struct rk_log log;
	struct rk_buf data;
	struct ingest_result res;
	char *dir = bench_tmpdir(), *db = bench_join(dir, "ingest.db");
	double best_ref = 1e30, best = 1e30, best_norm = 1e30;
	long long lines = 0, stored = 0, dups = 0;
	double rate, ref, norm;

	rk_log_init(&log, RK_LOG_ERROR);
	bench_check(rk_config_defaults(&cfg), "config");
	bench_constituency_size(&c, 1000, 0);
	g.c = &c;
	g.naddr = (uint64_t)(n / 10 > 0 ? n / 10 : 1);
	g.dup_every = 100;
	g.seed = 42;
	rk_buf_init(&data, RK_MAX_REPORT);
	bench_check(bench_events_jsonl(&g, 0, (uint64_t)n, &data), "generate");
	fprintf(stderr, "ingest: %lld lines, %.1f MB, %.0f bytes/line, 1%% exact "
			"duplicates\n",
		n, (double)data.len / 1e6, (double)data.len / (double)n);

	for (int run = 0; run < RUNS; run++) {
		double t = bench_parse_floor(data.data, data.len, &lines);

		if (t < best_ref)
			best_ref = t;
		t = normalize_only(&cfg, &data);
		if (t < best_norm)
			best_norm = t;
		t = ingest_once(&cfg, &log, db, &data, &res);
		if (res.rejected)
			bench_die("ingest rejected %lld generated events",
				  res.rejected);
		stored = res.events;
		dups = res.duplicates;
		ingest_result_release(&res);
		if (t < best)
			best = t;
		fprintf(stderr, "ingest: run %d: %.3f s (%.0f lines/s)\n", run + 1,
			t, (double)lines / t);
	}
	remove_db(db);
	bench_rmtree(dir);
	if (stored + dups != lines)
		bench_die("ingest stored %lld + %lld duplicates of %lld lines",
			  stored, dups, lines);
	rate = (double)lines / best;
	ref = (double)lines / best_ref;
	norm = (double)lines / best_norm;
	fprintf(stderr, "ingest: %lld stored, %lld duplicates dropped\n", stored,
		dups);
	printf("DETAIL|ingest: time split per line: json_loadb %.2f us, "
	       "+normalize %.2f us, +store %.2f us (total %.2f us)\n",
	       1e6 / ref, 1e6 / norm - 1e6 / ref, 1e6 / rate - 1e6 / norm,
	       1e6 / rate);
	bench_result("ingest (IntelMQ -> SQLite)", rate, "events/s", ref,
		     "json_loadb only", rate / ref, ">= 200000 events/s",
		     rate >= 200000 ? "ok" : "MISS");
	rk_buf_release(&data);
	rk_config_release(&cfg);
	free(db);
	free(dir);
	return 0;
}
