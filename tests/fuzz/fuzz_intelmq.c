/*
 * libFuzzer harness for IntelMQ ingest (relay/ingest/).
 *
 * The input goes through ingest_buffer into a store (format detected,
 * JSON Lines or an array, every check on the way), and as one event
 * through ingest_event_text.  The reference time is fixed so that a
 * corpus input always meets the same [ingest] max_age / max_skew checks.
 * Invariants checked: the totals add up, at most RK_MAX_ERRORS_LISTED
 * errors are listed, every accepted event has a dedup key of 64 hex
 * digits, a known TLP and severity, and data that is a JSON object.
 *
 * The store lives in a temporary file opened once per process (harness
 * state only) and is recreated every STORE_RUNS inputs so that it stays
 * small.
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
		snprintf(h->dir, sizeof(h->dir), "/tmp/rk-fuzz-intelmq.XXXXXX");
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

static void check_event(const struct store_event *ev)
{
	json_t *doc;

	if (!ev->dedup_key || strlen(ev->dedup_key) != 64 ||
	    strspn(ev->dedup_key, "0123456789abcdef") != 64)
		abort();
	if (!ev->type || !ev->taxonomy || !ev->data ||
	    (unsigned)ev->tlp > RK_TLP_RED ||
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct harness *h = harness();
	struct ingest_options opts = {INGEST_FORMAT_AUTO, "fuzz", false,
				      FUZZ_NOW};
	struct ingest_result res;
	struct store_event ev;
	struct rk_buf doc;
	char reason[256];
	enum rk_err err;

	memset(&res, 0, sizeof(res));
	err = ingest_buffer(h->store, &h->cfg, &h->log, &opts, "fuzz",
			    (const char *)data, size, &res);
	if (err != RK_OK && err != RK_ERR_PARSE && err != RK_ERR_NOMEM)
		abort();
	if (res.nerrors > RK_MAX_ERRORS_LISTED ||
	    (long long)res.nerrors > res.rejected || res.reports > 1 ||
	    (err == RK_ERR_PARSE && (res.reports || res.events)))
		abort();
	rk_buf_init(&doc, 64u << 20);
	if (ingest_result_json(&res, &doc) != RK_OK)
		abort();
	rk_buf_release(&doc);
	ingest_result_release(&res);

	err = ingest_event_text(&h->cfg, &opts, (const char *)data, size, &ev,
				reason, sizeof(reason));
	if (err == RK_OK)
		check_event(&ev);
	else if (err != RK_ERR_INVAL || !reason[0])
		abort();
	store_event_release(&ev);
	return 0;
}
