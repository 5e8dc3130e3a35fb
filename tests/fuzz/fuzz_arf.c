/*
 * libFuzzer harness for abuse mail ingest (relay/ingest/arf.c): the input
 * is read as ARF / X-ARF / XARF v4 mail through ingest_buffer into a
 * store.  Invariants: only RK_OK, RK_ERR_PARSE or RK_ERR_NOMEM come back,
 * a refused mail stores nothing, and the totals add up.  The store lives
 * in a temporary file opened once per process (harness state only).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "renraku/ingest.h"
#include "renraku/mail.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW 1795219200LL /* 2026-11-21T00:00:00Z */

struct harness {
	char dir[64];
	char path[96];
	struct rk_log log;
	struct rk_config cfg;
	struct rk_store *store;
};

/* Harness state only: one store per fuzzing process. */
static struct harness *the_harness;

static void harness_exit(void)
{
	static const char *const suffixes[] = {"", "-wal", "-shm"};
	struct harness *h = the_harness;

	if (!h)
		return;
	store_close(h->store);
	for (size_t i = 0; i < RK_ARRAY_LEN(suffixes); i++) {
		char file[128];

		snprintf(file, sizeof(file), "%s%s", h->path, suffixes[i]);
		unlink(file);
	}
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

	if (h)
		return h;
	h = calloc(1, sizeof(*h));
	if (!h)
		abort();
	mail_init();
	snprintf(h->dir, sizeof(h->dir), "/tmp/rk-fuzz-arf.XXXXXX");
	if (!mkdtemp(h->dir))
		abort();
	snprintf(h->path, sizeof(h->path), "%s/fuzz.db", h->dir);
	rk_log_init(&h->log, RK_LOG_ERROR);
	h->log.stream = fopen("/dev/null", "w");
	if (rk_config_defaults(&h->cfg) ||
	    store_open(&h->store, h->path, 1000, &h->log))
		abort();
	the_harness = h;
	atexit(harness_exit);
	return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct harness *h = harness();
	struct ingest_options opts = {INGEST_FORMAT_ARF, "fuzz", false,
				      FUZZ_NOW};
	struct ingest_result res;
	enum rk_err err;

	memset(&res, 0, sizeof(res));
	err = ingest_buffer(h->store, &h->cfg, &h->log, &opts, "fuzz.eml",
			    (const char *)data, size, &res);
	if (err != RK_OK && err != RK_ERR_PARSE && err != RK_ERR_NOMEM)
		abort();
	if (res.nerrors > RK_MAX_ERRORS_LISTED ||
	    (long long)res.nerrors > res.rejected || res.reports > 1 ||
	    (err == RK_ERR_PARSE && (res.reports || res.events)))
		abort();
	ingest_result_release(&res);
	return 0;
}
