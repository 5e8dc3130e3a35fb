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
 *
 * Then a differential check of the reader (yajl's event parser) against
 * json_loadb: for a JSON Lines input, ingest_event_text (json_loadb and
 * the normalizer) must accept exactly as many of its lines as a dry run
 * of ingest_buffer (the reader and the normalizer, no store) stores;
 * and when every line is a JSON value, the same lines joined into one
 * array must give that count too.
 *
 * And the reader's fast path (yajl callbacks filling the normalizer's
 * fields) against its JSON objects (ingest_options.objects): a dry run
 * each way must give the same totals and the same errors, line by line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/ingest_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW 1795169700LL /* 2026-11-20T10:15:00Z */

static bool blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
			return false;
	return true;
}

/* Events of a dry run of data as IntelMQ JSON. */
static long long dry_run(struct fuzz_store *h, const char *data, size_t len)
{
	struct ingest_options opts = {INGEST_FORMAT_INTELMQ, "fuzz", false,
				      FUZZ_NOW};
	struct ingest_result res;
	enum rk_err err;
	long long events;

	memset(&res, 0, sizeof(res));
	err = ingest_buffer(NULL, &h->cfg, &h->log, &opts, "fuzz", data, len,
			    &res);
	if (err != RK_OK && err != RK_ERR_PARSE)
		abort();
	if (res.duplicates)
		abort(); /* a dry run stores nothing to repeat */
	events = res.events;
	ingest_result_release(&res);
	return events;
}

static void differential(struct fuzz_store *h, const char *data, size_t len)
{
	struct ingest_options opts = {INGEST_FORMAT_INTELMQ, "fuzz", false,
				      FUZZ_NOW};
	const char *p = data, *end = data + len;
	long long accepted = 0, lines = 0;
	bool all_values = true;
	struct rk_buf arr;
	char reason[256];

	/* JSON Lines only: UTF-8 text, no byte order mark, an object first */
	if (!len || memchr(data, '\0', len) || !rk_utf8_valid(data, len) ||
	    (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0))
		return;
	while (p < end && strchr(" \t\r\n", *p))
		p++;
	if (p == end || *p != '{')
		return;
	rk_buf_init(&arr, 2 * len + 16);
	if (rk_buf_addc(&arr, '['))
		abort();
	for (p = data; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		struct store_event ev;
		json_error_t jerr;
		json_t *v;
		enum rk_err err;

		if (!blank(p, n)) {
			err = ingest_event_text(&h->cfg, &opts, p, n, &ev,
						reason, sizeof(reason));
			if (err == RK_OK)
				accepted++;
			else if (err != RK_ERR_INVAL)
				abort();
			store_event_release(&ev);
			v = json_loadb(p, n, JSON_DECODE_ANY |
						     JSON_REJECT_DUPLICATES,
				       &jerr);
			if (!v)
				all_values = false;
			json_decref(v);
			if ((lines++ && rk_buf_addc(&arr, ',')) ||
			    rk_buf_add(&arr, p, n))
				abort();
		}
		p = nl ? nl + 1 : end;
	}
	if (dry_run(h, data, len) != accepted)
		abort(); /* the reader and json_loadb disagree on a line */
	if (all_values && lines > 0) {
		if (rk_buf_addc(&arr, ']'))
			abort();
		if (dry_run(h, arr.data, arr.len) != accepted)
			abort(); /* the array form reads otherwise */
	}
	rk_buf_release(&arr);
}

static void fast_vs_objects(struct fuzz_store *h, const char *data,
			    size_t len)
{
	struct ingest_options opts = {INGEST_FORMAT_INTELMQ, "fuzz", false,
				      FUZZ_NOW};
	struct ingest_result fast, slow;
	enum rk_err ferr, serr;

	memset(&fast, 0, sizeof(fast));
	memset(&slow, 0, sizeof(slow));
	ferr = ingest_buffer(NULL, &h->cfg, &h->log, &opts, "fuzz", data, len,
			     &fast);
	opts.objects = true;
	serr = ingest_buffer(NULL, &h->cfg, &h->log, &opts, "fuzz", data, len,
			     &slow);
	if (ferr != serr || fast.events != slow.events ||
	    fast.rejected != slow.rejected || fast.nerrors != slow.nerrors ||
	    slow.fields != 0)
		abort();
	for (size_t i = 0; i < fast.nerrors; i++)
		if (fast.errors[i].line != slow.errors[i].line ||
		    strcmp(fast.errors[i].reason, slow.errors[i].reason) != 0)
			abort(); /* the fast path says otherwise */
	ingest_result_release(&fast);
	ingest_result_release(&slow);
}

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

	differential(h, (const char *)data, size);
	fast_vs_objects(h, (const char *)data, size);
	return 0;
}
