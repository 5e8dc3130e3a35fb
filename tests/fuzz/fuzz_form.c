/*
 * libFuzzer harness: rk_form_field, the parser of the acknowledgement
 * pages' POST bodies (application/x-www-form-urlencoded from anyone on
 * the network).  The input is a body; the fields the page reads (form,
 * status, note) are taken into small and large buffers.  A field taken
 * must be NUL-terminated inside its buffer, no longer than the raw body,
 * and the same in both buffers when it fits the small one.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "renraku/core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond))                                                 \
			RK_BUG("fuzz_form: %s", #cond);                      \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"form", "status", "note", ""};
	char *body = malloc(size ? size : 1);
	char small[16], large[4096];

	if (!body)
		return 0;
	if (size)
		memcpy(body, data, size);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		bool in_small, in_large;

		memset(small, 'x', sizeof(small));
		memset(large, 'x', sizeof(large));
		in_small = rk_form_field(body, size, names[i], small, sizeof(small));
		in_large = rk_form_field(body, size, names[i], large, sizeof(large));
		if (in_small) {
			CHECK(memchr(small, '\0', sizeof(small)) != NULL);
			CHECK(in_large);
			CHECK(strcmp(small, large) == 0);
		}
		if (in_large) {
			CHECK(memchr(large, '\0', sizeof(large)) != NULL);
			CHECK(strlen(large) <= size);
		}
	}
	CHECK(!rk_form_field(body, size, "note", large, 0));
	free(body);
	return 0;
}
