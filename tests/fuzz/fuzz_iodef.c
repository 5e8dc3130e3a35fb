/*
 * libFuzzer harness for IODEF ingest (relay/ingest/iodef.c): the input is
 * read as an IODEF document through ingest_buffer into a store.
 * Invariants: only RK_OK, RK_ERR_PARSE or RK_ERR_NOMEM come back, a
 * refused document stores nothing, the totals add up, every event stored
 * is whole (tests/fuzz/lib/ingest_harness.c); and nothing outside the
 * input is read: the corpus has documents whose entities name local
 * files and URLs, refused with their DOCTYPE.
 */
#include <stdint.h>
#include <string.h>

#include "lib/ingest_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW 1795219200LL /* 2026-11-21T00:00:00Z */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_store *h = fuzz_store("iodef");
	struct ingest_options opts = {INGEST_FORMAT_IODEF, "fuzz", false,
				      FUZZ_NOW, NULL};
	struct ingest_result res;
	enum rk_err err;

	memset(&res, 0, sizeof(res));
	err = ingest_buffer(h->store, &h->cfg, &h->log, &opts, "fuzz.xml",
			    (const char *)data, size, &res);
	fuzz_check_result(err, &res);
	fuzz_check_report_events(h, res.nfiles ? res.files[0].report_id : 0);
	ingest_result_release(&res);
	return 0;
}
