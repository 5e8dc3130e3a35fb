/* The ingest fuzz harnesses' shared store and invariants. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ingest_harness.h"

/* Harness state only: one store per fuzzing process. */
static struct fuzz_store *the_store;

static void store_drop(struct fuzz_store *s)
{
	static const char *const suffixes[] = {"", "-wal", "-shm"};

	store_close(s->store);
	s->store = NULL;
	for (size_t i = 0; i < RK_ARRAY_LEN(suffixes); i++) {
		char file[128];

		snprintf(file, sizeof(file), "%s%s", s->path, suffixes[i]);
		unlink(file);
	}
}

static void store_exit(void)
{
	struct fuzz_store *s = the_store;

	if (!s)
		return;
	store_drop(s);
	rmdir(s->dir);
	rk_config_release(&s->cfg);
	if (s->log.stream)
		fclose(s->log.stream);
	free(s);
	the_store = NULL;
}

struct fuzz_store *fuzz_store(const char *tag)
{
	struct fuzz_store *s = the_store;

	if (!s) {
		if (!(s = calloc(1, sizeof(*s))))
			abort();
		snprintf(s->dir, sizeof(s->dir), "/tmp/rk-fuzz-%.16s.XXXXXX", tag);
		if (!mkdtemp(s->dir))
			abort();
		snprintf(s->path, sizeof(s->path), "%s/fuzz.db", s->dir);
		rk_log_init(&s->log, RK_LOG_ERROR);
		s->log.stream = fopen("/dev/null", "w");
		if (rk_config_defaults(&s->cfg))
			abort();
		the_store = s;
		atexit(store_exit);
	}
	if (s->store && ++s->runs % FUZZ_STORE_RUNS == 0)
		store_drop(s); /* keep it small */
	if (!s->store && store_open(&s->store, s->path, 1000, &s->log))
		abort();
	return s;
}

void fuzz_check_result(enum rk_err err, const struct ingest_result *res)
{
	if (err != RK_OK && err != RK_ERR_PARSE && err != RK_ERR_NOMEM)
		abort();
	if (res->nerrors > RK_MAX_ERRORS_LISTED ||
	    (long long)res->nerrors > res->rejected || res->reports > 1 ||
	    (err == RK_ERR_PARSE && (res->reports || res->events)))
		abort();
}

void fuzz_check_event(const struct store_event *ev)
{
	json_t *doc;

	if (!ev->dedup_key || strlen(ev->dedup_key) != 64 ||
	    strspn(ev->dedup_key, "0123456789abcdef") != 64)
		abort();
	if (!ev->type || !ev->taxonomy || !ev->data || (unsigned)ev->tlp > RK_TLP_RED ||
	    (unsigned)ev->severity >= RK_SEV_COUNT)
		abort();
	if (!ev->source_ip && !ev->source_fqdn && !ev->source_url &&
	    !ev->source_asn)
		abort();
	doc = json_loads(ev->data, 0, NULL);
	if (!json_is_object(doc))
		abort();
	json_decref(doc);
}

void fuzz_check_report_events(struct fuzz_store *s, int64_t report_id)
{
	struct store_event *rows = NULL;
	size_t n = 0;

	if (report_id <= 0)
		return;
	if (store_events_list(s->store, NULL, report_id, 100000, &rows, &n))
		abort();
	for (size_t i = 0; i < n; i++)
		fuzz_check_event(&rows[i]);
	store_events_free(rows, n);
}

void fuzz_ingest(struct fuzz_store *s, const struct ingest_options *opts,
		 const char *name, const char *data, size_t len)
{
	struct ingest_result res;
	enum rk_err err;

	memset(&res, 0, sizeof(res));
	err = ingest_buffer(s->store, &s->cfg, &s->log, opts, name, data, len,
			    &res);
	fuzz_check_result(err, &res);
	fuzz_check_report_events(s, res.nfiles ? res.files[0].report_id : 0);
	ingest_result_release(&res);
}
