/*
 * ingest: four inputs into SQLite through ingest_file, each next to two
 * references measured in the same run on the same file:
 *
 *   lines  IntelMQ JSON lines (~480 bytes, bench_events_jsonl)
 *   array  the same events as one JSON array
 *   wide   ~40-field events of ~2 KB, as IntelMQ's Shadowserver parser
 *          writes them (bench_events_wide)
 *   scan   a Shadowserver scan_http CSV of the same addresses
 *
 * Measured: ingest_file of the file into a fresh database (events/s,
 * peak RSS of the process that did it).
 * Reference 1, parse-only: ingest_file with no store: the same reader
 * and normalizer, nothing stored.
 * Reference 2, the store's floor: the rows that ingest stored, inserted
 * by a bare SQLite loop (one prepared INSERT ... ON CONFLICT DO NOTHING,
 * commits at the same points as ingest (INGEST_BATCH, INGEST_BATCH_BYTES),
 * the same schema, indexes and pragmas, store_ingest_pragmas included) into
 * a fresh database; only the inserts and commits are timed.
 *
 * Detail: the same ingest with ingest_options.serial (no reading
 * thread beside the storing one).
 *
 * Every measurement runs in a child process of its own (fork), so that
 * its peak RSS (wait4) is its own and not the generator's.  Best of
 * RK_BENCH_RUNS (3) runs each, interleaved.
 *
 * Then the JSON readers side by side on the same lines, one by one:
 * Jansson json_loadb (+ json_decref), yajl's event parser (yajl_alloc,
 * yajl_parse, yajl_complete_parse, yajl_free; callbacks that only
 * count), cJSON_ParseWithLength (+ cJSON_Delete): microseconds a line.
 *
 * Sizes: RK_BENCH_INGEST_EVENTS (200,000: lines, array, scan),
 * RK_BENCH_INGEST_WIDE (100,000); 1,000,000 works for both ([ingest]
 * max_file is set to 4 GiB, the configuration's largest: 1,000,000
 * wide events are 2.4 GB).  RK_BENCH_INGEST_ONLY: a subset of the
 * inputs (lines,array,wide,scan).
 */
#include <cjson/cJSON.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yajl/yajl_parse.h>

#include "bench.h"
#include "renraku/store.h"
#include "renraku/ingest.h"

struct input {
	const char *name;      /* in the table */
	const char *file;      /* under the scratch directory */
	enum bench_input kind;
	enum ingest_format format;
	double target;         /* events/s */
	long long count;
};

/* What one child measured. */
struct sample {
	double seconds;
	long long events, duplicates;
	long maxrss_kb;
	double cpu;       /* user + system seconds of the whole child */
};

/* ------------------------------------------------------------ children */

/* ingest_file of path into db (NULL: no store, parse-only). */
static void child_ingest(const struct input *in, const char *path,
			 const char *db, bool serial, struct sample *s)
{
	struct ingest_options opts = {in->format, "bench", false, rk_now()};
	struct rk_store *store = NULL;
	struct rk_config cfg;
	struct rk_log log;
	struct ingest_result res;
	double t0;

	rk_log_init(&log, RK_LOG_ERROR);
	bench_check(rk_config_defaults(&cfg), "config");
	/* the generated times are fixed: no age limit */
	cfg.ingest.max_age = 0;
	/* 1,000,000 bench lines are 478 MB, wide events 2.4 GB: over the
	 * default RK_MAX_REPORT (256 MiB); [ingest] max_file = 4G does the
	 * same for renraku ingest */
	cfg.ingest.max_file = (long long)4 << 30;
	if (db) {
		bench_remove_db(db);
		bench_check(store_open(&store, db, 5000, &log), "store_open");
	}
	opts.serial = serial;
	memset(&res, 0, sizeof(res));
	t0 = bench_now();
	bench_check(ingest_file(store, &cfg, &log, &opts, path, &res),
		    "ingest_file");
	s->seconds = bench_now() - t0;
	if (res.rejected)
		bench_die("%s: %lld generated records rejected: %s", in->name,
			  res.rejected,
			  res.nerrors ? res.errors[0].reason : "?");
	s->events = res.events;
	s->duplicates = res.duplicates;
	ingest_result_release(&res);
	if (store)
		store_close(store);
	rk_config_release(&cfg);
}

enum what { PARSE_ONLY, INGEST, FLOOR, INGEST_SERIAL, NWHAT };

/* Run one measurement in a child; its peak RSS from wait4. */
static struct sample measure(enum what what, const struct input *in,
			     const char *path, const char *db,
			     const char *db2)
{
	struct sample s;
	struct rusage ru;
	int fd[2], status;
	pid_t pid;

	memset(&s, 0, sizeof(s));
	if (pipe(fd))
		bench_die("pipe failed");
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		bench_die("fork failed");
	if (pid == 0) {
		close(fd[0]);
		if (what == FLOOR)
			s.seconds = bench_insert_floor(db, db2, &s.events);
		else
			child_ingest(in, path, what == PARSE_ONLY ? NULL : db,
				     what == INGEST_SERIAL, &s);
		if (write(fd[1], &s, sizeof(s)) != (ssize_t)sizeof(s))
			_exit(1);
		_exit(0);
	}
	close(fd[1]);
	if (read(fd[0], &s, sizeof(s)) != (ssize_t)sizeof(s))
		s.seconds = -1;
	close(fd[0]);
	if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0 || s.seconds < 0)
		bench_die("%s: measurement %d failed", in->name, (int)what);
	s.maxrss_kb = ru.ru_maxrss;
	s.cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		(double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	return s;
}

/* ------------------------------------------------------------ JSON libraries */

static int y_null(void *ctx)
{
	(*(long long *)ctx)++;
	return 1;
}
static int y_bool(void *ctx, int b)
{
	(void)b;
	return y_null(ctx);
}
static int y_num(void *ctx, const char *s, size_t n)
{
	(void)s;
	(void)n;
	return y_null(ctx);
}
static int y_str(void *ctx, const unsigned char *s, size_t n)
{
	(void)s;
	(void)n;
	return y_null(ctx);
}

static const yajl_callbacks y_callbacks = {
	y_null, y_bool, NULL, NULL, y_num, y_str,
	y_null, y_str, y_null, y_null, y_null,
};

enum jsonlib { LIB_JANSSON, LIB_YAJL, LIB_CJSON };

/* Seconds for parsing every line of data with lib. */
static double parse_lines(enum jsonlib lib, const char *data, size_t len,
			  long long *lines)
{
	const char *p = data, *end = data + len;
	long long tokens = 0;
	double t0 = bench_now();

	*lines = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		bool ok = false;

		switch (lib) {
		case LIB_JANSSON: {
			json_error_t jerr;
			json_t *root = json_loadb(p, n,
						  JSON_DECODE_ANY |
							  JSON_REJECT_DUPLICATES,
						  &jerr);

			ok = root != NULL;
			json_decref(root);
			break;
		}
		case LIB_YAJL: {
			yajl_handle h = yajl_alloc(&y_callbacks, NULL, &tokens);

			ok = h && yajl_parse(h, (const unsigned char *)p, n) ==
					  yajl_status_ok &&
			     yajl_complete_parse(h) == yajl_status_ok;
			yajl_free(h);
			break;
		}
		case LIB_CJSON: {
			cJSON *root = cJSON_ParseWithLength(p, n);

			ok = root != NULL;
			cJSON_Delete(root);
			break;
		}
		}
		if (!ok)
			bench_die("generated line %lld is not JSON (%d)",
				  *lines + 1, (int)lib);
		(*lines)++;
		p = nl ? nl + 1 : end;
	}
	return bench_now() - t0;
}

#define JSON_COMPARE_BYTES ((size_t)256 << 20)

static void compare_json(const char *what, const char *path, int runs)
{
	static const char *const names[] = {"jansson json_loadb",
					    "yajl event parser",
					    "cJSON_ParseWithLength"};
	double best[3] = {1e30, 1e30, 1e30};
	struct {
		char *data;
		size_t len;
	} data;
	long long lines = 0;
	char line[512];
	size_t at = 0;

	FILE *f = fopen(path, "rb");
	char *cut;

	/* The first JSON_COMPARE_BYTES of the file, whole lines: enough
	 * lines for the comparison, whatever the file's size (a 1,000,000
	 * wide events file is 2.4 GB). */
	if (!f)
		bench_die("cannot open %s", path);
	data.data = malloc(JSON_COMPARE_BYTES + 1);
	if (!data.data)
		bench_die("out of memory");
	data.len = fread(data.data, 1, JSON_COMPARE_BYTES, f);
	fclose(f);
	if (data.len == JSON_COMPARE_BYTES &&
	    (cut = memrchr(data.data, '\n', data.len)))
		data.len = (size_t)(cut - data.data);
	data.data[data.len] = '\0';
	for (int run = 0; run < runs; run++)
		for (int lib = 0; lib < 3; lib++) {
			double t = parse_lines((enum jsonlib)lib, data.data,
					       data.len, &lines);

			if (t < best[lib])
				best[lib] = t;
		}
	at = (size_t)snprintf(line, sizeof(line),
			      "DETAIL|json readers on the %s lines (%.0f "
			      "bytes): ",
			      what, (double)data.len / (double)lines);
	for (int lib = 0; lib < 3 && at < sizeof(line); lib++)
		at += (size_t)snprintf(line + at, sizeof(line) - at,
				       "%s%s %.2f us", lib ? ", " : "",
				       names[lib], 1e6 * best[lib] / (double)lines);
	printf("%s\n", line);
	free(data.data);
}

/* ------------------------------------------------------------ main */

/* RK_BENCH_INGEST_ONLY: a comma-separated list of inputs by the start of
 * their file name (lines, array, wide, 2026 for the CSV; "scan" also
 * names the CSV); unset: all four. */
static bool wanted(const char *only, const char *file)
{
	const char *p = only;

	if (!only || !*only)
		return true;
	while (*p) {
		size_t n = strcspn(p, ",");

		if (n && (strncmp(file, p, n) == 0 ||
			  (n == 4 && strncmp(p, "scan", 4) == 0 &&
			   strstr(file, "scan_http"))))
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

int main(void)
{
	long long n = bench_env_ll("RK_BENCH_INGEST_EVENTS", 200000);
	long long nwide = bench_env_ll("RK_BENCH_INGEST_WIDE", 100000);
	int runs = (int)bench_env_ll("RK_BENCH_RUNS", 3);
	const char *only = getenv("RK_BENCH_INGEST_ONLY");
	struct input inputs[] = {
		{"ingest lines (IntelMQ JSON lines)", "lines.jsonl",
		 BENCH_INPUT_LINES, INGEST_FORMAT_INTELMQ, 200000, n},
		{"ingest array (one IntelMQ JSON array)", "array.json",
		 BENCH_INPUT_ARRAY, INGEST_FORMAT_INTELMQ, 200000, n},
		{"ingest wide (40 fields, 2 KB)", "wide.jsonl", BENCH_INPUT_WIDE,
		 INGEST_FORMAT_INTELMQ, 100000, nwide},
		{"ingest scan CSV (Shadowserver scan_http)",
		 "2026-11-20-scan_http-bench-asn.csv", BENCH_INPUT_SCAN,
		 INGEST_FORMAT_SHADOWSERVER, 200000, n},
	};
	struct bench_constituency c;
	char *dir = bench_tmpdir(), *db = bench_join(dir, "ingest.db");
	char *db2 = bench_join(dir, "floor.db");
	char *paths[RK_ARRAY_LEN(inputs)];
	/* as the program does (relay/main.c): the floors and the
	 * measured paths run with the same SQLite settings */
	store_library_init();

	if (runs < 1)
		runs = 1;
	bench_constituency_size(&c, 1000, 0);
	for (size_t i = 0; i < RK_ARRAY_LEN(inputs); i++) {
		struct bench_events g = {&c, 0, 100, 42};

		paths[i] = bench_join(dir, inputs[i].file);
		if (!wanted(only, inputs[i].file))
			continue;
		FILE *f;

		g.naddr = (uint64_t)(inputs[i].count / 10 > 0
					     ? inputs[i].count / 10
					     : 1);
		f = fopen(paths[i], "wb");
		if (!f)
			bench_die("cannot create %s", paths[i]);
		bench_check(bench_write_input(inputs[i].kind, &g,
					      (uint64_t)inputs[i].count, f),
			    "generate");
		if (fclose(f))
			bench_die("write failed");
	}

	for (size_t i = 0; i < RK_ARRAY_LEN(inputs); i++) {
		const struct input *in = &inputs[i];
		struct sample best[NWHAT];
		char measured[128], reference[160], ratio[64], target[64];
		double rate, parse, floor_rate;
		struct stat st;

		if (!wanted(only, in->file))
			continue;
		if (stat(paths[i], &st))
			bench_die("stat %s failed", paths[i]);
		for (int k = 0; k < NWHAT; k++)
			best[k].seconds = 1e30;
		for (int run = 0; run < runs; run++) {
			for (int k = 0; k < NWHAT; k++) {
				struct sample s = measure((enum what)k, in,
							  paths[i], db, db2);

				if (s.seconds < best[k].seconds)
					best[k] = s;
			}
			fprintf(stderr, "%s: run %d: parse-only %.3f s, ingest "
					"%.3f s, floor %.3f s, serial ingest "
					"%.3f s\n",
				in->name, run + 1, best[PARSE_ONLY].seconds,
				best[INGEST].seconds, best[FLOOR].seconds,
				best[INGEST_SERIAL].seconds);
		}
		if (best[INGEST].events + best[INGEST].duplicates != in->count ||
		    best[FLOOR].events != best[INGEST].events)
			bench_die("%s: %lld stored + %lld duplicates of %lld, "
				  "floor %lld",
				  in->name, best[INGEST].events,
				  best[INGEST].duplicates, in->count,
				  best[FLOOR].events);
		rate = (double)in->count / best[INGEST].seconds;
		parse = (double)in->count / best[PARSE_ONLY].seconds;
		floor_rate = (double)best[FLOOR].events / best[FLOOR].seconds;
		snprintf(measured, sizeof(measured), "%.0f events/s, peak %.0f MB",
			 rate, (double)best[INGEST].maxrss_kb / 1024.0);
		snprintf(reference, sizeof(reference),
			 "parse-only %.0f/s (%.0f MB); sqlite floor %.0f/s",
			 parse, (double)best[PARSE_ONLY].maxrss_kb / 1024.0,
			 floor_rate);
		snprintf(ratio, sizeof(ratio), "%.3f / %.3f", rate / parse,
			 rate / floor_rate);
		snprintf(target, sizeof(target), ">= %.0f events/s", in->target);
		bench_row(in->name, measured, reference, ratio, target,
			  rate >= in->target ? "ok" : "MISS");
		printf("DETAIL|%s: %lld records, %.1f MB (%.0f bytes each), "
		       "%lld duplicates; per record: parse+normalize %.2f us, "
		       "ingest %.2f us (one thread: %.2f us, peak %.0f MB), "
		       "bare insert %.2f us\n",
		       in->name, in->count, (double)st.st_size / 1e6,
		       (double)st.st_size / (double)in->count,
		       best[INGEST].duplicates, 1e6 / parse, 1e6 / rate,
		       1e6 * best[INGEST_SERIAL].seconds / (double)in->count,
		       (double)best[INGEST_SERIAL].maxrss_kb / 1024.0,
		       1e6 / floor_rate);
		printf("DETAIL|%s: CPU (user+system) per record: parse-only "
		       "%.2f us, ingest %.2f us (one thread: %.2f us); wall "
		       "time counts when the machine is shared\n",
		       in->name, 1e6 * best[PARSE_ONLY].cpu / (double)in->count,
		       1e6 * best[INGEST].cpu / (double)in->count,
		       1e6 * best[INGEST_SERIAL].cpu / (double)in->count);
		fflush(stdout);
	}
	if (wanted(only, inputs[0].file))
		compare_json("IntelMQ", paths[0], runs);
	if (wanted(only, inputs[2].file))
		compare_json("wide", paths[2], runs);
	printf("DETAIL|ratios: measured / parse-only and measured / sqlite "
	       "floor\n");

	bench_remove_db(db);
	bench_remove_db(db2);
	for (size_t i = 0; i < RK_ARRAY_LEN(inputs); i++) {
		unlink(paths[i]);
		free(paths[i]);
	}
	bench_rmtree(dir);
	free(db);
	free(db2);
	free(dir);
	return 0;
}
