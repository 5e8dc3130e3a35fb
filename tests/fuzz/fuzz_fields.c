/*
 * libFuzzer harness for the fields a notice reads from an event's data
 * (relay/notify/fields.c).
 *
 * Differential: notify_fields_read (yajl's event parser, Jansson for
 * whatever it leaves to it) must give exactly the values json_loadb
 * (flags 0, as json_loads) and notify_fields_from_json give, for any
 * input: the same kinds, the same text byte for byte, the same numbers
 * bit for bit.  The input is read as it is, and again with its first
 * byte cut (so that a corpus of event lines also reaches the parser
 * mid-token).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "renraku/notify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const struct notify_fieldset *sa, const struct notify_fields *a,
		 const struct notify_fieldset *sb, const struct notify_fields *b)
{
	for (int f = 0; f < NOTIFY_F_COUNT; f++) {
		const struct notify_value *x = &a->v[f], *y = &b->v[f];

		if (x->kind != y->kind)
			abort();
		switch (x->kind) {
		case NOTIFY_V_STRING:
		case NOTIFY_V_JSON:
			if (x->len != y->len ||
			    memcmp(notify_value_text(sa, x),
				   notify_value_text(sb, y), x->len + 1) != 0)
				abort();
			break;
		case NOTIFY_V_INTEGER:
			if (x->num.i != y->num.i)
				abort();
			break;
		case NOTIFY_V_REAL:
			if (memcmp(&x->num.d, &y->num.d, sizeof(x->num.d)) != 0)
				abort();
			break;
		default:
			break;
		}
	}
}

static void one(const char *text, size_t len)
{
	struct notify_fieldset fast, ref;
	struct notify_fields a, b;
	json_t *j;

	notify_fieldset_init(&fast);
	notify_fieldset_init(&ref);
	if (notify_fields_read(&fast, text, len, &a) != RK_OK)
		abort();
	j = json_loadb(text, strnlen(text, len), 0, NULL);
	if (notify_fields_from_json(&ref, j, &b) != RK_OK)
		abort();
	json_decref(j);
	same(&fast, &a, &ref, &b);
	notify_fieldset_release(&fast);
	notify_fieldset_release(&ref);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (!size) {
		one("", 0);
		return 0;
	}
	/* a copy of its own, so that a read past the end is seen */
	if (!(text = malloc(size)))
		return 0;
	memcpy(text, data, size);
	one(text, size);
	if (size > 1)
		one(text + 1, size - 1);
	free(text);
	return 0;
}
