/*
 * libFuzzer harness for generic CSV ingest (relay/ingest/csvmap.c): the
 * input is a mapping file, a line "---", then the CSV.  The mapping is
 * written to the harness's directory and the CSV read with
 * --format csv:MAPPING through ingest_buffer into a store.  Invariants:
 * only RK_OK, RK_ERR_PARSE or RK_ERR_NOMEM come back, a refused file
 * stores nothing, the totals add up, every event stored is whole
 * (tests/fuzz/lib/ingest_harness.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lib/ingest_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_store *h = fuzz_store("csvmap");
	/* 2026-11-21T00:00:00Z */
	struct ingest_options opts = {INGEST_FORMAT_CSV, "fuzz", false,
				      1795219200LL, NULL};
	const char *text = (const char *)data;
	const char *sep = size >= 4 ? memmem(text, size, "\n---\n", 5) : NULL;
	char map[128];
	size_t mlen, written;
	FILE *fp;

	if (!sep)
		return 0;
	mlen = (size_t)(sep - text) + 1;
	snprintf(map, sizeof(map), "%s/fuzz.map", h->dir);
	/* plainly written: no fsync */
	fp = fopen(map, "wb");
	if (!fp)
		return 0;
	written = fwrite(text, 1, mlen, fp);
	if (fclose(fp) != 0 || written != mlen)
		return 0;
	opts.format_arg = map;
	fuzz_ingest(h, &opts, "fuzz.csv", sep + 5, size - mlen - 4);
	return 0;
}
