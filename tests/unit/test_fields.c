/* The fields a notice reads from an event's data (relay/notify/fields.c):
 * yajl's reading agrees with json_loads; every case left to Jansson is
 * left to it and reads as Jansson reads it. */
#include <stdlib.h>
#include <string.h>

#include "renraku/notify.h"
#include "testutil.h"

/* The values of a and b (each in its own set) are the same. */
static void assert_same(const struct notify_fieldset *sa,
			const struct notify_fields *a,
			const struct notify_fieldset *sb,
			const struct notify_fields *b)
{
	for (int f = 0; f < NOTIFY_F_COUNT; f++) {
		const struct notify_value *x = &a->v[f], *y = &b->v[f];

		if (x->kind != y->kind)
			fail_msg("%s: kind %d, Jansson %d",
				 notify_field_key((enum notify_field)f), x->kind,
				 y->kind);
		switch (x->kind) {
		case NOTIFY_V_STRING:
		case NOTIFY_V_JSON:
			assert_int_equal(x->len, y->len);
			assert_memory_equal(notify_value_text(sa, x),
					    notify_value_text(sb, y), x->len + 1);
			break;
		case NOTIFY_V_INTEGER:
			assert_true(x->num.i == y->num.i);
			break;
		case NOTIFY_V_REAL:
			assert_memory_equal(&x->num.d, &y->num.d,
					    sizeof(x->num.d));
			break;
		default:
			break;
		}
	}
}

/* text read by notify_fields_read into *out (set), checked against
 * json_loads + notify_fields_from_json; jansson: whether the reader must
 * have left it to Jansson. */
static void read_checked(struct notify_fieldset *set, const char *text,
			 size_t len, bool jansson, struct notify_fields *out)
{
	struct notify_fieldset ref;
	struct notify_fields want;
	json_t *data;

	assert_int_equal(notify_fields_read(set, text, len, out), RK_OK);
	notify_fieldset_init(&ref);
	data = json_loadb(text, strnlen(text, len), 0, NULL);
	assert_int_equal(notify_fields_from_json(&ref, data, &want), RK_OK);
	json_decref(data);
	assert_same(set, out, &ref, &want);
	if (out->jansson != jansson)
		fail_msg("'%s': read by %s", text,
			 out->jansson ? "Jansson" : "yajl");
	notify_fieldset_release(&ref);
}

static void check(const char *text, bool jansson)
{
	struct notify_fieldset set;
	struct notify_fields out;

	notify_fieldset_init(&set);
	read_checked(&set, text, strlen(text), jansson, &out);
	notify_fieldset_release(&set);
}

/* No field has a value. */
static void check_none(const char *text, size_t len)
{
	struct notify_fieldset set;
	struct notify_fields out;

	notify_fieldset_init(&set);
	read_checked(&set, text, len, true, &out);
	for (int f = 0; f < NOTIFY_F_COUNT; f++)
		assert_int_equal(out.v[f].kind, NOTIFY_V_ABSENT);
	assert_int_equal(set.text.len, 0);
	notify_fieldset_release(&set);
}

static void test_plain_event(void **state)
{
	const char *text =
		"{\"feed.name\": \"Sinkhole\", \"extra.tags\": [1, {\"a\": [true]}],"
		" \"source.ip\": \"192.0.2.10\", \"source.port\": 51234,"
		" \"source.asn\": -64500, \"extra.ratio\": 0.25,"
		" \"destination.port\": 52.5, \"malware.name\": \"a\\\"b\\\\c\\/d\\n\","
		" \"protocol.transport\": true, \"protocol.application\": false,"
		" \"destination.ip\": null, \"source.fqdn\": \"\","
		" \"extra.deep\": {\"b\": {\"c\": {\"d\": \"e\"}}},"
		" \"time.source\": \"2026-11-20T10:15:00+00:00\","
		" \"source.url\": \"http://ex\xc3\xa4mple.jp/\xe3\x83\x91\"}\n";
	struct notify_fieldset set;
	struct notify_fields f;

	(void)state;
	notify_fieldset_init(&set);
	read_checked(&set, text, strlen(text), false, &f);
	assert_int_equal(f.v[NOTIFY_F_FEED].kind, NOTIFY_V_STRING);
	assert_string_equal(notify_value_text(&set, &f.v[NOTIFY_F_FEED]),
			    "Sinkhole");
	assert_int_equal(f.v[NOTIFY_F_SOURCE_PORT].kind, NOTIFY_V_INTEGER);
	assert_int_equal(f.v[NOTIFY_F_SOURCE_PORT].num.i, 51234);
	assert_true(f.v[NOTIFY_F_SOURCE_ASN].num.i == -64500);
	assert_int_equal(f.v[NOTIFY_F_DEST_PORT].kind, NOTIFY_V_REAL);
	assert_true(f.v[NOTIFY_F_DEST_PORT].num.d == 52.5);
	assert_string_equal(notify_value_text(&set, &f.v[NOTIFY_F_MALWARE]),
			    "a\"b\\c/d\n");
	assert_int_equal(f.v[NOTIFY_F_PROTO_TRANSPORT].kind, NOTIFY_V_TRUE);
	assert_int_equal(f.v[NOTIFY_F_PROTO_APPLICATION].kind, NOTIFY_V_FALSE);
	assert_int_equal(f.v[NOTIFY_F_DEST_IP].kind, NOTIFY_V_NULL);
	assert_int_equal(f.v[NOTIFY_F_SOURCE_FQDN].kind, NOTIFY_V_STRING);
	assert_int_equal(f.v[NOTIFY_F_SOURCE_FQDN].len, 0);
	assert_int_equal(f.v[NOTIFY_F_TYPE].kind, NOTIFY_V_ABSENT);
	assert_string_equal(notify_value_text(&set, &f.v[NOTIFY_F_TYPE]), "");
	assert_string_equal(notify_value_text(&set, &f.v[NOTIFY_F_SOURCE_URL]),
			    "http://ex\xc3\xa4mple.jp/\xe3\x83\x91");
	notify_fieldset_release(&set);

	check("{}", false);
	check(" \t\r\n{ } \n", false);
	check("{\"\": 1, \"source.ip\": \"x\"}", false);
	check("{\"source.port\": -0, \"destination.port\": -0.0}", false);
	check("{\"source.port\": 999999999999999999}", false);
	check("{\"source.port\": -999999999999999999}", false);
	check("{\"destination.port\": 0.1000000000000000055511151231257827}",
	      false);
	check("{\"source.ip\": \"\x7f\"}", false);
}

static void test_duplicates_last(void **state)
{
	struct notify_fieldset set;
	struct notify_fields f;

	(void)state;
	notify_fieldset_init(&set);
	read_checked(&set,
		     "{\"source.ip\": \"192.0.2.1\", \"source.port\": 1,"
		     " \"source.ip\": \"192.0.2.2\", \"source.port\": null}",
		     SIZE_MAX, false, &f);
	assert_string_equal(notify_value_text(&set, &f.v[NOTIFY_F_SOURCE_IP]),
			    "192.0.2.2");
	assert_int_equal(f.v[NOTIFY_F_SOURCE_PORT].kind, NOTIFY_V_NULL);
	notify_fieldset_release(&set);
	check("{\"source.ip\": 1, \"source.ip\": \"a\", \"source.ip\": 2.5}",
	      false);
	/* a later container: Jansson's JSON text of it */
	check("{\"source.ip\": \"a\", \"source.ip\": [1, 2]}", true);
}

/* Every case left to Jansson reads as Jansson reads it. */
static void test_fallbacks(void **state)
{
	struct notify_fieldset set;
	struct notify_fields f;
	char deep[400];
	size_t n = 0;

	(void)state;
	/* "\u" escapes: decoded by Jansson, surrogates and NUL its way */
	check("{\"source.ip\": \"\\u00e9t\\u00E9\", \"feed.name\": \"x\"}", true);
	check("{\"source.url\": \"\\ud83d\\ude00\"}", true);
	check_none("{\"source.url\": \"\\ud83d\"}", SIZE_MAX);
	check_none("{\"source.url\": \"a\\u0000b\"}", SIZE_MAX);
	check("{\"extra.x\\u0041\": 1, \"source\\u002eip\": \"x\"}", true);
	/* an escaped backslash before a u is no escape */
	check("{\"source.ip\": \"a\\\\u\"}", false);
	/* control characters */
	check_none("{\f\"source.ip\": \"x\"}", SIZE_MAX);
	check_none("{\v\"source.ip\": \"x\"}", SIZE_MAX);
	check_none("{\"source.ip\": \"a\x01\"}", SIZE_MAX);
	check_none("{\"source.ip\": \"a\tb\"}", SIZE_MAX);
	check_none("{\"source.ip\": \"a\nb\"}", SIZE_MAX);
	/* bytes that are not UTF-8: an overlong NUL, an encoded surrogate,
	 * a lone continuation byte, past U+10FFFF, cut short */
	check_none("{\"source.ip\": \"\xc0\x80\"}", SIZE_MAX);
	check_none("{\"source.ip\": \"\xed\xa0\x80\"}", SIZE_MAX);
	check_none("{\"extra.x\": \"\x80\"}", SIZE_MAX);
	check_none("{\"source.ip\": \"\xf4\x90\x80\x80\"}", SIZE_MAX);
	check_none("{\"source.ip\": \"\xe3\x83\"}", SIZE_MAX);
	/* numbers */
	check("{\"source.port\": 1e3}", true);
	check("{\"source.port\": 2.5E-3, \"extra.x\": 1}", true);
	check("{\"extra.x\": 1E400}", true); /* Jansson: overflow, no fields */
	check("{\"source.port\": 1234567890123456789}", true);
	check("{\"extra.big\": 99999999999999999999999, \"source.ip\": \"x\"}",
	      true);
	check("{\"extra.big\": -9223372036854775808, \"source.ip\": \"x\"}", true);
	check_none("{\"source.port\": 007}", SIZE_MAX);
	check_none("{\"source.port\": -01}", SIZE_MAX);
	check("{\"destination.port\": "
	      "1234567890123456789012345678901234567890.5}",
	      true);
	check("{\"extra.x\": 0.00000000000000000000000000000000000000000001,"
	      " \"source.ip\": \"x\"}",
	      true);
	/* a needed key holding a container */
	notify_fieldset_init(&set);
	read_checked(&set,
		     "{\"source.ip\": {\"a\": [1, \"\xc3\xa4\"]}, "
		     "\"feed.name\": [], \"source.port\": 3}",
		     SIZE_MAX, true, &f);
	assert_int_equal(f.v[NOTIFY_F_SOURCE_IP].kind, NOTIFY_V_JSON);
	assert_string_equal(notify_value_text(&set, &f.v[NOTIFY_F_SOURCE_IP]),
			    "{\"a\":[1,\"\\u00E4\"]}");
	assert_string_equal(notify_value_text(&set, &f.v[NOTIFY_F_FEED]), "[]");
	assert_int_equal(f.v[NOTIFY_F_SOURCE_PORT].num.i, 3);
	notify_fieldset_release(&set);
	/* the top level is not an object */
	check_none("[{\"source.ip\": \"x\"}]", SIZE_MAX);
	check_none("\"source.ip\"", SIZE_MAX);
	check_none("42", SIZE_MAX);
	check_none("null", SIZE_MAX);
	check_none("", SIZE_MAX);
	check_none("   ", SIZE_MAX);
	/* errors */
	check_none("{\"source.ip\": \"x\"", SIZE_MAX);
	check_none("{\"source.ip\": \"x}", SIZE_MAX);
	check_none("{\"source.ip\": \"x\"} {}", SIZE_MAX);
	check_none("{\"source.ip\": \"x\"} x", SIZE_MAX);
	/* yajl would let an unterminated string after the object through */
	check_none("{\"source.ip\": \"x\"}\"", SIZE_MAX);
	check_none("{\"source.ip\": \"x\"} \"abc", SIZE_MAX);
	check("{\"source.ip\": \"x\"} \r\n\t ", false);
	check_none("{\"source.ip\": \"x\",}", SIZE_MAX);
	check_none("{\"extra.a\": [1,]}", SIZE_MAX);
	check_none("{\"source.ip\": \"\\x\"}", SIZE_MAX);
	check_none("{source.ip: 1}", SIZE_MAX);
	check_none("{\"source.ip\": 'x'}", SIZE_MAX);
	check_none("{\"source.ip\": tru}", SIZE_MAX);
	check_none("{\"a\": 1 /* c */}", SIZE_MAX);
	check_none("\xef\xbb\xbf{\"source.ip\": \"x\"}", SIZE_MAX);
	/* nesting deeper than RK_MAX_JSON_DEPTH, in a key not needed */
	n += (size_t)snprintf(deep + n, sizeof(deep) - n, "{\"source.ip\": \"x\", \"extra.d\": ");
	for (int i = 0; i < 40; i++)
		deep[n++] = '[';
	for (int i = 0; i < 40; i++)
		deep[n++] = ']';
	deep[n++] = '}';
	deep[n] = '\0';
	check(deep, true);
	/* a NUL ends the text, as it ends json_loads' string */
	check_none("{\"source.ip\": \"x\0\"}", sizeof("{\"source.ip\": \"x\0\"}") - 1);
	check("{\"source.ip\": \"x\"}\0garbage", false);
}

static void test_fieldset(void **state)
{
	struct store_event ev[3];
	struct notify_fieldset set;

	(void)state;
	memset(ev, 0, sizeof(ev));
	ev[0].data = (char *)"{\"source.ip\": \"192.0.2.1\", \"source.port\": 7}";
	ev[1].data = NULL;
	ev[2].data = (char *)"{\"source.ip\": \"\\u0041\"}";
	notify_fieldset_init(&set);
	assert_int_equal(notify_fieldset_read(&set, ev, 3), RK_OK);
	assert_int_equal(set.n, 3);
	assert_string_equal(notify_value_text(&set, &set.ev[0].v[NOTIFY_F_SOURCE_IP]),
			    "192.0.2.1");
	assert_int_equal(set.ev[0].v[NOTIFY_F_SOURCE_PORT].num.i, 7);
	assert_false(set.ev[0].jansson);
	for (int f = 0; f < NOTIFY_F_COUNT; f++)
		assert_int_equal(set.ev[1].v[f].kind, NOTIFY_V_ABSENT);
	assert_true(set.ev[2].jansson);
	assert_string_equal(notify_value_text(&set, &set.ev[2].v[NOTIFY_F_SOURCE_IP]),
			    "A");
	/* read again: what it held is dropped */
	assert_int_equal(notify_fieldset_read(&set, ev + 1, 2), RK_OK);
	assert_int_equal(set.n, 2);
	assert_string_equal(notify_value_text(&set, &set.ev[1].v[NOTIFY_F_SOURCE_IP]),
			    "A");
	assert_int_equal(notify_fieldset_read(&set, NULL, 0), RK_OK);
	assert_int_equal(set.n, 0);
	notify_fieldset_release(&set);

	assert_string_equal(notify_field_key(NOTIFY_F_SOURCE_CC),
			    "source.geolocation.cc");
	assert_string_equal(notify_field_key(NOTIFY_F_COUNT), "");
}

/* The text limit: a set that cannot hold a value says so. */
static void test_limit(void **state)
{
	struct notify_fieldset set;
	struct notify_fields f;

	(void)state;
	notify_fieldset_init(&set);
	set.text.max = 8;
	assert_int_equal(notify_fields_read(&set, "{\"source.ip\": \"123456789\"}",
					    SIZE_MAX, &f),
			 RK_ERR_LIMIT);
	assert_int_equal(set.text.len, 0);
	assert_int_equal(notify_fields_read(&set, "{\"source.ip\": \"\\u0041234567890\"}",
					    SIZE_MAX, &f),
			 RK_ERR_LIMIT);
	assert_int_equal(set.text.len, 0);
	assert_int_equal(notify_fields_read(&set, "{\"source.ip\": \"1234\"}",
					    SIZE_MAX, &f),
			 RK_OK);
	notify_fieldset_release(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_event),
		cmocka_unit_test(test_duplicates_last),
		cmocka_unit_test(test_fallbacks),
		cmocka_unit_test(test_fieldset),
		cmocka_unit_test(test_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
