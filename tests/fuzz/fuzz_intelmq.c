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
 * The store and the invariants are tests/fuzz/lib/ingest_harness.c's.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ingest_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW 1795169700LL /* 2026-11-20T10:15:00Z */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_store *h = fuzz_store("intelmq");
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
	fuzz_check_result(err, &res);
	rk_buf_init(&doc, 64u << 20);
	if (ingest_result_json(&res, &doc) != RK_OK)
		abort();
	rk_buf_release(&doc);
	ingest_result_release(&res);

	err = ingest_event_text(&h->cfg, &opts, (const char *)data, size, &ev,
				reason, sizeof(reason));
	if (err == RK_OK)
		fuzz_check_event(&ev);
	else if (err != RK_ERR_INVAL || !reason[0])
		abort();
	store_event_release(&ev);
	return 0;
}
