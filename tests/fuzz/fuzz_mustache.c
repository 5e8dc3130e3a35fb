/*
 * libFuzzer harness for the Mustache engine (relay/notify/mustache.c).
 *
 * Input: a template, a NUL byte, then JSON data (an object when the part
 * is missing or is not JSON).  Every partial name loads the template
 * itself, so recursion meets RK_MAX_MUSTACHE_DEPTH; the output is capped
 * small so the output limit is met too.  Rendered in both escape modes,
 * strict about missing partials in one and spec-lenient in the other.
 */
#include <stdint.h>
#include <string.h>

#include "renraku/notify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct self {
	const char *text;
	size_t len;
};

static enum rk_err self_partial(void *ud, const char *name,
				struct rk_buf *out)
{
	const struct self *s = ud;

	if (name[0] == 'x') /* some names are missing */
		return RK_ERR_NOTFOUND;
	return rk_buf_add(out, s->text, s->len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *nul = memchr(text, '\0', size);
	size_t tlen = nul ? (size_t)(nul - text) : size;
	struct self self = {text, tlen};
	struct mustache_opts opts = {.partial = self_partial,
				     .partial_ud = &self};
	json_t *json = NULL;
	struct rk_buf out;
	char err[256];

	if (nul)
		json = json_loadb(nul + 1, size - tlen - 1,
				  JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	if (!json)
		json = json_object();
	rk_buf_init(&out, 64u << 10);
	for (int mode = 0; mode < 2; mode++) {
		opts.escape = mode ? MUSTACHE_ESCAPE_HTML : MUSTACHE_ESCAPE_NONE;
		opts.missing_partial_empty = mode != 0; /* both behaviours */
		if (mustache_render(text, tlen, json, &opts, &out, err,
				    sizeof(err)) != RK_OK &&
		    (!err[0] || out.len != 0))
			RK_BUG("error without a message or with output left");
		rk_buf_reset(&out);
	}
	rk_buf_release(&out);
	json_decref(json);
	return 0;
}
