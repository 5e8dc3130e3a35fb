/*
 * libFuzzer harness for the Shadowserver CSV format
 * (relay/ingest/shadowserver.c).
 *
 * The first line of the input is the report type (as --format
 * shadowserver:TYPE takes it), the rest the CSV report; it goes through
 * ingest_buffer into a store with the bundled schema.  Invariants: the
 * totals add up, at most RK_MAX_ERRORS_LISTED errors are listed, every
 * accepted event has a dedup key, a known TLP and severity, a subject and
 * data that is a JSON object.  The store is recreated every STORE_RUNS
 * inputs.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "renraku/ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define STORE_RUNS 5000
#define FUZZ_NOW 1795169700LL /* 2026-11-20T10:15:00Z */

struct harness {
	char dir[64];
	char path[96];
	struct rk_log log;
	struct rk_config cfg;
	struct rk_store *store;
	long runs;
};

/* Harness state only: one store per fuzzing process. */
static struct harness *the_harness;

static void harness_close(struct harness *h)
{
	static const char *const suffixes[] = {"", "-wal", "-shm"};

	store_close(h->store);
	h->store = NULL;
	for (size_t i = 0; i < RK_ARRAY_LEN(suffixes); i++) {
		char file[128];

		snprintf(file, sizeof(file), "%s%s", h->path, suffixes[i]);
		unlink(file);
	}
}

static void harness_exit(void)
{
	struct harness *h = the_harness;

	if (!h)
		return;
	harness_close(h);
	rmdir(h->dir);
	rk_config_release(&h->cfg);
	if (h->log.stream)
		fclose(h->log.stream);
	free(h);
	the_harness = NULL;
}

static struct harness *harness(void)
{
	struct harness *h = the_harness;

	if (!h) {
		h = calloc(1, sizeof(*h));
		if (!h)
			abort();
		snprintf(h->dir, sizeof(h->dir), "/tmp/rk-fuzz-shadowserver.XXXXXX");
		if (!mkdtemp(h->dir))
			abort();
		snprintf(h->path, sizeof(h->path), "%s/fuzz.db", h->dir);
		rk_log_init(&h->log, RK_LOG_ERROR);
		h->log.stream = fopen("/dev/null", "w");
		if (rk_config_defaults(&h->cfg))
			abort();
		the_harness = h;
		atexit(harness_exit);
	}
	if (h->store && ++h->runs % STORE_RUNS == 0)
		harness_close(h);
	if (!h->store && store_open(&h->store, h->path, 1000, &h->log))
		abort();
	return h;
}

static void check_events(struct rk_store *store)
{
	struct store_event *rows = NULL;
	size_t n = 0;

	if (store_events_new(store, 0, 100000, &rows, &n))
		abort();
	for (size_t i = 0; i < n; i++) {
		const struct store_event *ev = &rows[i];
		json_t *doc;

		if (!ev->dedup_key || strlen(ev->dedup_key) != 64 ||
		    !ev->type || !ev->data ||
		    (unsigned)ev->tlp > RK_TLP_RED ||
		    (unsigned)ev->severity >= RK_SEV_COUNT ||
		    (!ev->source_ip && !ev->source_fqdn && !ev->source_url &&
		     !ev->source_asn))
			abort();
		doc = json_loads(ev->data, 0, NULL);
		if (!json_is_object(doc))
			abort();
		json_decref(doc);
	}
	store_events_free(rows, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct harness *h = harness();
	struct ingest_options opts = {INGEST_FORMAT_SHADOWSERVER, "fuzz",
				      false, FUZZ_NOW, NULL};
	struct ingest_result res;
	const char *text = (const char *)data;
	const char *nl = memchr(text, '\n', size);
	char type[65];
	size_t tlen;
	enum rk_err err;

	if (!nl || (tlen = (size_t)(nl - text)) >= sizeof(type))
		return 0;
	memcpy(type, text, tlen);
	type[tlen] = '\0';
	if (strlen(type) != tlen)
		return 0; /* a NUL in the type */
	opts.format_arg = type;
	memset(&res, 0, sizeof(res));
	err = ingest_buffer(h->store, &h->cfg, &h->log, &opts,
			    "2026-11-21-fuzz-x.csv", nl + 1,
			    size - tlen - 1, &res);
	if (err != RK_OK && err != RK_ERR_PARSE && err != RK_ERR_NOMEM)
		abort();
	if (res.nerrors > RK_MAX_ERRORS_LISTED ||
	    (long long)res.nerrors > res.rejected || res.reports > 1 ||
	    (err == RK_ERR_PARSE && (res.reports || res.events)))
		abort();
	check_events(h->store);
	/* Keep the store small: the events are checked once. */
	harness_close(h);
	ingest_result_release(&res);
	return 0;
}
