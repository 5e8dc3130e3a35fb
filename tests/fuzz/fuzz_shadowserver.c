/*
 * libFuzzer harness for the Shadowserver CSV format
 * (relay/ingest/shadowserver.c).
 *
 * The first line of the input is the report type (as --format
 * shadowserver:TYPE takes it), the rest the CSV report; it goes through
 * ingest_buffer into a store with the bundled schema.  Invariants: the
 * totals add up, at most RK_MAX_ERRORS_LISTED errors are listed, every
 * accepted event has a dedup key, a known TLP and severity, a subject and
 * data that is a JSON object (tests/fuzz/lib/ingest_harness.c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ingest_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW 1795169700LL /* 2026-11-20T10:15:00Z */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_store *h = fuzz_store("shadowserver");
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
	fuzz_check_result(err, &res);
	fuzz_check_report_events(h, res.nfiles ? res.files[0].report_id : 0);
	ingest_result_release(&res);
	/* rows queued as fields against their objects: the same totals and
	 * errors in a dry run each way */
	{
		struct ingest_result fast, slow;
		enum rk_err ferr, serr;

		memset(&fast, 0, sizeof(fast));
		memset(&slow, 0, sizeof(slow));
		ferr = ingest_buffer(NULL, &h->cfg, &h->log, &opts,
				     "2026-11-21-fuzz-x.csv", nl + 1,
				     size - tlen - 1, &fast);
		opts.objects = true;
		serr = ingest_buffer(NULL, &h->cfg, &h->log, &opts,
				     "2026-11-21-fuzz-x.csv", nl + 1,
				     size - tlen - 1, &slow);
		if (ferr != serr || fast.events != slow.events ||
		    fast.rejected != slow.rejected ||
		    fast.nerrors != slow.nerrors || slow.fields != 0)
			abort();
		for (size_t i = 0; i < fast.nerrors; i++)
			if (fast.errors[i].line != slow.errors[i].line ||
			    strcmp(fast.errors[i].reason,
				   slow.errors[i].reason) != 0)
				abort();
		ingest_result_release(&fast);
		ingest_result_release(&slow);
	}
	return 0;
}
