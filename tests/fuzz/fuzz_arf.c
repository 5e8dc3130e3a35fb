/*
 * libFuzzer harness for abuse mail ingest (relay/ingest/arf.c): the input
 * is read as ARF / X-ARF / XARF v4 mail through ingest_buffer into a
 * store.  Invariants: only RK_OK, RK_ERR_PARSE or RK_ERR_NOMEM come back,
 * a refused mail stores nothing, the totals add up, and every event
 * stored is whole (tests/fuzz/lib/ingest_harness.c).
 */
#include <stdint.h>
#include <string.h>

#include "lib/ingest_harness.h"
#include "renraku/mail.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW 1795219200LL /* 2026-11-21T00:00:00Z */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool mail_ready; /* harness state only */
	struct fuzz_store *h = fuzz_store("arf");
	struct ingest_options opts = {INGEST_FORMAT_ARF, "fuzz", false,
				      FUZZ_NOW};
	struct ingest_result res;
	enum rk_err err;

	if (!mail_ready) {
		mail_init();
		mail_ready = true;
	}
	memset(&res, 0, sizeof(res));
	err = ingest_buffer(h->store, &h->cfg, &h->log, &opts, "fuzz.eml",
			    (const char *)data, size, &res);
	fuzz_check_result(err, &res);
	fuzz_check_report_events(h, res.nfiles ? res.files[0].report_id : 0);
	ingest_result_release(&res);
	return 0;
}
