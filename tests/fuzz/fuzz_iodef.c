/*
 * libFuzzer harness for IODEF ingest (relay/ingest/iodef.c): the input is
 * read as an IODEF document through ingest_buffer into a store.
 * Invariants: only RK_OK, RK_ERR_PARSE or RK_ERR_NOMEM come back, a
 * refused document stores nothing, the totals add up, every event stored
 * is whole (tests/fuzz/lib/ingest_harness.c); the corpus has documents
 * whose entities name local files and URLs (refused with their DOCTYPE).
 */
#include <stdint.h>

#include "lib/ingest_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* 2026-11-21T00:00:00Z */
	struct ingest_options opts = {INGEST_FORMAT_IODEF, "fuzz", false,
				      1795219200LL, NULL};

	fuzz_ingest(fuzz_store("iodef"), &opts, "fuzz.xml",
		    (const char *)data, size);
	return 0;
}
