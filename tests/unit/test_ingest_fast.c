/*
 * Unit tests for ingest's fast paths (relay/ingest/intelmq.c: yajl
 * callbacks filling the normalizer's fields; relay/ingest/shadowserver.c
 * and queue.c: rows queued as fields) and their fallbacks: every record
 * is read twice, once with the driver's normalizer handed to the reader
 * (the fast path where it applies) and once without (the JSON object
 * through ingest_normalize, as before the fast paths), and the outcomes
 * must be the same byte for byte: the event (dedup key, data, columns)
 * or the reason.  Also the normalizer's own shortcuts against what they
 * replace: the time text against rk_time_format, canonical IPv4 against
 * rk_addr_format, the remembered categories against rk_config_category.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../relay/ingest/private.h"
#include "renraku/ingest.h"
#include "renraku/limits.h"
#include "testutil.h"

/* 2026-11-21T00:00:00Z */
#define NOW 1795219200

/* What one record became. */
struct outcome {
	int kind;          /* 0 end, 1 event, 2 rejected by the reader,
			      3 rejected by the normalizer, 4 not an object */
	bool fast;         /* the reader handed fields (RECORD_FIELDS) */
	char text[8192];   /* the event's columns and data, or the reason */
};

struct fixture {
	struct rk_config cfg;
	struct ingest_norm n;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	rk_test_config(&f->cfg);
	f->cfg.ingest.max_age = 0;
	f->cfg.ingest.shadowserver_schema =
		rk_test_source_path("data/shadowserver/intelmq.json");
	assert_int_equal(ingest_norm_init(&f->n), RK_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ingest_norm_release(&f->n);
	rk_config_release(&f->cfg);
	free(f);
	return 0;
}

static void describe(struct outcome *o, const struct store_event *ev)
{
	snprintf(o->text, sizeof(o->text),
		 "key=%s t=%lld dt=%lld type=%s tax=%s id=%s feed=%s ip=%s "
		 "fqdn=%s url=%s cc=%s asn=%u tlp=%d sev=%d cat=%s data=%s",
		 ev->dedup_key, (long long)ev->time_source,
		 (long long)ev->dedup_time, ev->type, ev->taxonomy,
		 ev->identifier ? ev->identifier : "-",
		 ev->feed_name ? ev->feed_name : "-",
		 ev->source_ip ? ev->source_ip : "-",
		 ev->source_fqdn ? ev->source_fqdn : "-",
		 ev->source_url ? ev->source_url : "-",
		 ev->source_cc ? ev->source_cc : "-", ev->source_asn,
		 (int)ev->tlp, (int)ev->severity,
		 ev->category ? ev->category : "-", ev->data);
}

/* Every record of text read by format (file name name, --format TYPE
 * arg), with (fast) or without the normalizer handed to the reader, as
 * the driver's produce() does; at most max outcomes. */
static size_t read_all(struct fixture *f,
		       const struct ingest_format_ops *format,
		       const char *name, const char *arg, const char *text,
		       size_t len, bool fast, struct outcome *out, size_t max)
{
	struct ingest_source src = {name, text, len, &f->cfg, arg, false};
	char reason[INGEST_REASON];
	void *reader = NULL;
	size_t count = 0;
	enum rk_err err;

	err = format->open(&src, &reader, reason, sizeof(reason));
	if (err) {
		assert_int_equal(err, RK_ERR_PARSE);
		out[0].kind = 2;
		out[0].fast = false;
		snprintf(out[0].text, sizeof(out[0].text), "open: %s", reason);
		return 1;
	}
	while (count < max) {
		struct ingest_record rec;
		struct outcome *o = &out[count];

		memset(&rec, 0, sizeof(rec));
		rec.severity = -1;
		rec.norm = fast ? &f->n : NULL;
		assert_int_equal(format->next(reader, &rec), RK_OK);
		if (rec.kind == INGEST_RECORD_END)
			break;
		count++;
		o->fast = rec.kind == INGEST_RECORD_FIELDS;
		if (rec.kind == INGEST_RECORD_BAD) {
			o->kind = 2;
			snprintf(o->text, sizeof(o->text), "%s", rec.reason);
			continue;
		}
		if (rec.kind == INGEST_RECORD_VALUE &&
		    !json_is_object(rec.value)) {
			o->kind = 4;
			o->text[0] = '\0';
			json_decref(rec.value);
			continue;
		}
		if (rec.kind == INGEST_RECORD_FIELDS)
			err = ingest_norm_finish(&f->n, &f->cfg, NOW);
		else
			err = ingest_normalize(&f->n, &f->cfg, NOW, rec.value);
		json_decref(rec.value);
		if (err == RK_ERR_INVAL) {
			o->kind = 3;
			snprintf(o->text, sizeof(o->text), "%s", f->n.reason);
			continue;
		}
		assert_int_equal(err, RK_OK);
		if (rec.severity >= 0)
			f->n.ev.severity = (enum rk_severity)rec.severity;
		o->kind = 1;
		describe(o, &f->n.ev);
	}
	format->close(reader);
	return count;
}

#define MAX_OUT 64

/* text read both ways gives the same outcomes; returns them (fast). */
static struct outcome *same_both_ways(struct fixture *f,
				      const struct ingest_format_ops *format,
				      const char *name, const char *arg,
				      const char *text, size_t *n)
{
	struct outcome *a = calloc(MAX_OUT, sizeof(*a));
	struct outcome *b = calloc(MAX_OUT, sizeof(*b));
	size_t na, nb;

	assert_non_null(a);
	assert_non_null(b);
	na = read_all(f, format, name, arg, text, strlen(text), true, a,
		      MAX_OUT);
	nb = read_all(f, format, name, arg, text, strlen(text), false, b,
		      MAX_OUT);
	assert_int_equal(na, nb);
	if (getenv("RK_TEST_VERBOSE"))
		for (size_t i = 0; i < na; i++)
			fprintf(stderr, "%zu: %d %d %.160s\n", i, a[i].kind,
				a[i].fast, a[i].text);
	for (size_t i = 0; i < na; i++) {
		assert_false(b[i].fast);
		if (a[i].kind != b[i].kind || strcmp(a[i].text, b[i].text)) {
			fprintf(stderr, "record %zu of:\n%s\nfast:  %d %s\nslow:  %d %s\n",
				i + 1, text, a[i].kind, a[i].text, b[i].kind,
				b[i].text);
			fail();
		}
	}
	free(b);
	*n = na;
	return a;
}

/* One IntelMQ line read both ways: same outcome, and the fast path
 * taken (fast) or not. */
static struct outcome line_both_ways(struct fixture *f, const char *line,
				     bool fast)
{
	struct outcome *o, one;
	size_t n;

	o = same_both_ways(f, &ingest_format_intelmq, "x.jsonl", NULL, line,
			   &n);
	if (n != 1)
		fprintf(stderr, "%s: %zu records\n", line, n);
	assert_int_equal(n, 1);
	if (o[0].fast != fast) {
		fprintf(stderr, "%s: fast path %s\n", line,
			o[0].fast ? "taken" : "not taken");
		fail();
	}
	one = o[0];
	free(o);
	return one;
}

#define BASE "\"time.source\":\"2026-11-20T10:15:00Z\"," \
	     "\"classification.type\":\"infected-system\"," \
	     "\"source.ip\":\"192.0.2.1\""

static void test_intelmq_fast_path(void **state)
{
	struct fixture *f = *state;
	static const char *const ordinary[] = {
		"{" BASE "}",
		"{" BASE ",\"feed.name\":\"x\",\"extra.n\":1,\"extra.r\":2.5}",
		/* nested objects flatten to the same names */
		"{\"time\":{\"source\":\"2026-11-20T10:15:00Z\"},"
		"\"classification\":{\"type\":\"scanner\"},"
		"\"source\":{\"ip\":\"2001:DB8::1\",\"port\":\"443\","
		"\"geolocation\":{\"cc\":\"jp\"}}}",
		/* escapes yajl decodes as json_loadb does */
		"{" BASE ",\"comment\":\"a\\\"b\\\\c\\/d\\n\\t\\u00e9\\u3042\"}",
		"{" BASE ",\"extra.utf8\":\"\xe6\x97\xa5\xe6\x9c\xac\"}",
		/* unknown names under extra., __type dropped, literals */
		"{\"__type\":\"Event\"," BASE ",\"foo\":true,\"bar\":null,"
		"\"baz\":false,\"extra.e\":{}}",
		/* numbers: negative, exponent, -0, the 64-bit edges */
		"{" BASE ",\"extra.a\":-5,\"extra.b\":1e3,\"extra.c\":-0,"
		"\"extra.d\":9223372036854775807,"
		"\"extra.f\":-9223372036854775808,\"extra.g\":0.1}",
		/* white space around and inside */
		"  { " BASE " , \"extra.x\" : \"y\" }  \r",
		/* rejected by the normalizer, from the fast path's fields */
		"{\"time.source\":\"2026-11-20T10:15:00Z\","
		"\"classification.type\":\"nope\",\"source.ip\":\"192.0.2.1\"}",
		"{\"classification.type\":\"scanner\"}",
		"{" BASE ",\"source.asn\":\"AS-x\"}",
		"{\"time.source\":\"yesterday\",\"classification.type\":\"scanner\","
		"\"source.ip\":\"192.0.2.1\"}",
	};
	static const char *const unusual[] = {
		/* arrays are the builder's */
		"{" BASE ",\"extra.list\":[1,\"a\",{\"b\":[]}]}",
		/* duplicate keys: the parser's reason */
		"{" BASE ",\"extra.x\":1,\"extra.x\":2}",
		/* the same flattened name twice: the normalizer's reason */
		"{" BASE ",\"source\":{\"port\":1},\"source.port\":2}",
		"{" BASE ",\"x\":1,\"extra.x\":2}",
		/* surrogate escapes, form feed, vertical tab */
		"{" BASE ",\"comment\":\"\\ud83d\\ude00\"}",
		"{" BASE ",\"comment\":\"\\udc00\"}",
		"{" BASE ",\f\"comment\":\"x\"}",
		"{" BASE ",\"comment\":\"x\"}\v",
		/* keys flatten rejects */
		"{" BASE ",\"\":1}",
		"{" BASE ",\"a\\u0001b\":1}",
		"{" BASE ",\"a\\u0000b\":1}",
		"{" BASE ",\"comment\":\"a\\u0000b\"}",
		/* numbers out of range */
		"{" BASE ",\"extra.big\":9223372036854775808}",
		"{" BASE ",\"extra.neg\":-9223372036854775809}",
		"{" BASE ",\"extra.huge\":1e400}",
		/* not JSON, not an object, trailing content */
		"{" BASE ",}",
		"{" BASE,
		"true",
		"\"text\"",
		"42",
		"{" BASE "} x",
		"{" BASE "}{}",
		"{\"a\":\"\\x\"}",
	};
	char deep[512];
	size_t p = 0;

	for (size_t i = 0; i < RK_ARRAY_LEN(ordinary); i++)
		line_both_ways(f, ordinary[i], true);
	for (size_t i = 0; i < RK_ARRAY_LEN(unusual); i++)
		line_both_ways(f, unusual[i], false);
	/* deeper than RK_MAX_JSON_DEPTH: flatten's reason */
	p += (size_t)snprintf(deep + p, sizeof(deep) - p, "{" BASE ",\"a\":");
	for (int d = 0; d < RK_MAX_JSON_DEPTH + 1; d++)
		p += (size_t)snprintf(deep + p, sizeof(deep) - p, "{\"a\":");
	p += (size_t)snprintf(deep + p, sizeof(deep) - p, "1");
	for (int d = 0; d < RK_MAX_JSON_DEPTH + 1; d++)
		p += (size_t)snprintf(deep + p, sizeof(deep) - p, "}");
	snprintf(deep + p, sizeof(deep) - p, "}");
	assert_int_equal(line_both_ways(f, deep, false).kind, 3);
}

/* More fields than RK_MAX_EVENT_FIELDS: the normalizer's reason, from
 * the builder's object. */
static void test_intelmq_too_many_fields(void **state)
{
	struct fixture *f = *state;
	struct rk_buf b;
	struct outcome o;

	rk_buf_init(&b, 1u << 20);
	assert_int_equal(rk_buf_adds(&b, "{" BASE), RK_OK);
	for (int i = 0; i < RK_MAX_EVENT_FIELDS; i++)
		assert_int_equal(rk_buf_addf(&b, ",\"extra.f%d\":%d", i, i),
				 RK_OK);
	assert_int_equal(rk_buf_adds(&b, "}"), RK_OK);
	o = line_both_ways(f, b.data, false);
	assert_int_equal(o.kind, 3);
	assert_non_null(strstr(o.text, "RK_MAX_EVENT_FIELDS"));
	rk_buf_release(&b);
}

/* A JSON array of the same records, and lines with bad ones between
 * good ones: the fast path leaves the reader where the builder would. */
static void test_intelmq_array_and_mix(void **state)
{
	struct fixture *f = *state;
	static const char array[] =
		"[\n{" BASE "},\n {" BASE ",\"extra.x\":[1]},\n"
		"{" BASE ",\"extra.y\":\"\\ud83d\\ude00\"} ,{" BASE ",\"extra.z\":1}\n]\n";
	static const char broken[] = "[{" BASE "},{" BASE "} {" BASE "}]";
	static const char lines[] =
		"{" BASE "}\n\n{" BASE ",\"a\":1,\"a\":2}\nnot json\n"
		"{" BASE ",\"extra.q\":\"\xc3\xa9\"}\n[]\n{" BASE ",\"b\":2}";
	struct outcome *o;
	size_t n;

	o = same_both_ways(f, &ingest_format_intelmq, "x.json", NULL, array,
			   &n);
	assert_int_equal(n, 4);
	assert_true(o[0].fast);
	assert_false(o[1].fast);
	assert_false(o[2].fast);
	assert_true(o[3].fast);
	free(o);
	o = same_both_ways(f, &ingest_format_intelmq, "x.json", NULL, broken,
			   &n);
	assert_int_equal(n, 3);
	assert_int_equal(o[2].kind, 2);
	free(o);
	o = same_both_ways(f, &ingest_format_intelmq, "x.jsonl", NULL, lines,
			   &n);
	assert_int_equal(n, 6);
	assert_true(o[0].fast);
	assert_int_equal(o[1].kind, 2);
	assert_int_equal(o[2].kind, 2);
	assert_true(o[3].fast);
	assert_int_equal(o[4].kind, 4);
	assert_true(o[5].fast);
	free(o);
	/* not UTF-8: the whole file is refused before any record */
	o = same_both_ways(f, &ingest_format_intelmq, "x.jsonl", NULL,
			   "{" BASE ",\"x\":\"\xff\"}", &n);
	assert_int_equal(n, 1);
	assert_int_equal(o[0].kind, 2);
	free(o);
}

#define SCAN_HEADER \
	"\"timestamp\",\"ip\",\"port\",\"protocol\",\"hostname\",\"tag\"," \
	"\"asn\",\"geo\",\"severity\""

/* Shadowserver rows: queued as fields, the same events and reasons as
 * their objects. */
static void test_shadowserver_fields(void **state)
{
	struct fixture *f = *state;
	static const char csv[] =
		SCAN_HEADER ",\"extra_col\"\n"
		"\"2026-11-20 00:00:00\",\"192.0.2.1\",80,\"tcp\",\"h.example\","
		"\"http\",64500,\"JP\",\"high\",\"x\"\n"
		"\"2026-11-20 00:00:01\",\"192.0.2.2\",81,\"tcp\",,,,\"\",,\n"
		"\"2026-11-20 00:00:02\",\"192.0.2.3\",\"eighty\",\"tcp\",,,,,,\n"
		"\"2026-11-20 00:00:03\",\"999.0.2.3\",80,\"tcp\",,,,,,\n"
		"\"2026-11-20 00:00:04\",\"192.0.2.5\",80\n"
		"\"2026-11-20 00:00:05\",\"2001:db8::5\",443,\"tcp\","
		"\"a,b\",\"q\"\"uote\",64501,\"NL\",\"medium\",\"\xc3\xa9\"\n";
	/* a column whose name the normalizer refuses: the object's reason */
	static const char ctl[] =
		SCAN_HEADER ",\"bad\x01name\"\n"
		"\"2026-11-20 00:00:00\",\"192.0.2.1\",80,\"tcp\",,,,,,\"v\"\n";
	/* an unknown column stored under the name a schema field has
	 * (extra.source.naics): objects, not fields (the later replaces) */
	static const char dup[] =
		SCAN_HEADER ",\"naics\",\"source.naics\"\n"
		"\"2026-11-20 00:00:00\",\"192.0.2.1\",80,\"tcp\",,,,,,1,\"b\"\n";
	struct outcome *o;
	size_t n;

	o = same_both_ways(f, &ingest_format_shadowserver,
			   "2026-11-20-scan_http-test-asn.csv", NULL, csv, &n);
	assert_int_equal(n, 6);
	assert_int_equal(o[0].kind, 1);
	assert_true(o[0].fast);
	assert_true(o[1].fast);
	assert_int_equal(o[2].kind, 2);
	assert_int_equal(o[3].kind, 3);
	assert_true(o[3].fast);
	assert_int_equal(o[4].kind, 2);
	assert_int_equal(o[5].kind, 1);
	assert_true(o[5].fast);
	free(o);
	o = same_both_ways(f, &ingest_format_shadowserver,
			   "2026-11-20-scan_http-test-asn.csv", NULL, ctl, &n);
	assert_int_equal(n, 1);
	assert_false(o[0].fast);
	assert_int_equal(o[0].kind, 3);
	free(o);
	o = same_both_ways(f, &ingest_format_shadowserver,
			   "2026-11-20-scan_http-test-asn.csv", NULL, dup, &n);
	assert_int_equal(n, 1);
	assert_false(o[0].fast);
	free(o);
}

/* The normalized time against rk_time_format, across the years the
 * arithmetic covers and beyond them. */
static void test_time_text(void **state)
{
	struct fixture *f = *state;
	static const long long times[] = {
		0, 1, -1, 86399, 86400, -86400, -86401, 951782400 /* 2000-02-29 */,
		951868799, 4107542400LL /* 2100-03-01 */, 1795169700,
		-30610224000LL /* 1000-01-01 */, -30610224001LL,
		253402300799LL /* 9999-12-31T23:59:59 */, -62135596800LL,
		-2208988800LL /* 1900-01-01 */, 1582934400, 13569465600LL};

	f->cfg.ingest.max_skew = (long long)1 << 40;
	for (size_t i = 0; i < RK_ARRAY_LEN(times) + 400; i++) {
		long long t = i < RK_ARRAY_LEN(times)
				      ? times[i]
				      : -30610224000LL +
						(long long)(i - RK_ARRAY_LEN(times)) *
							711012345LL;
		char iso[RK_TIME_TEXT], want[RK_TIME_TEXT + 8], line[512];
		struct outcome o;

		rk_time_format_iso(t, iso);
		rk_time_format(t, 0, want);
		want[10] = 'T';
		memcpy(want + 19, "+00:00", 7);
		snprintf(line, sizeof(line),
			 "{\"time.source\":\"%s\",\"classification.type\":"
			 "\"scanner\",\"source.ip\":\"192.0.2.1\"}",
			 iso);
		o = line_both_ways(f, line, true);
		if (o.kind != 1)
			continue; /* a year rk_time_parse does not take */
		if (!strstr(o.text, want)) {
			fprintf(stderr, "%lld: want %s in %s\n", t, want,
				o.text);
			fail();
		}
	}
}

/* An IPv4 address kept as it came is what rk_addr_format writes. */
static void test_ipv4_text(void **state)
{
	struct fixture *f = *state;
	static const char *const addrs[] = {
		"192.0.2.1", "0.0.0.0", "255.255.255.255", "10.0.0.10",
		"01.2.3.4", "1.2.3.04", "00.0.0.0", "1.2.3", "1.2.3.4.5",
		"256.1.1.1", "1.2.3.400", "1..2.3", "1.2.3.4 ", " 1.2.3.4",
		"::ffff:192.0.2.1", "2001:DB8::1", "2001:db8:0:0:0:0:0:1",
		"0x1.2.3.4", "1.2.3.1234", "99.99.99.99"};

	for (size_t i = 0; i < RK_ARRAY_LEN(addrs); i++) {
		char line[512], text[RK_ADDR_TEXT], want[256];
		struct rk_addr a;
		struct outcome o;

		snprintf(line, sizeof(line),
			 "{\"time.source\":\"2026-11-20T10:15:00Z\","
			 "\"classification.type\":\"scanner\","
			 "\"source.ip\":\"%s\"}",
			 addrs[i]);
		o = line_both_ways(f, line, true);
		if (rk_addr_parse(addrs[i], &a)) {
			assert_int_equal(o.kind, 3);
			continue;
		}
		rk_addr_format(&a, text);
		snprintf(want, sizeof(want), " ip=%s ", text);
		assert_int_equal(o.kind, 1);
		if (!strstr(o.text, want)) {
			fprintf(stderr, "%s: want%sin %s\n", addrs[i], want,
				o.text);
			fail();
		}
	}
}

/* Categories remembered per (type, identifier) are rk_config_category's,
 * whatever the order the events come in. */
static void test_categories(void **state)
{
	struct fixture *f = *state;
	static const char *const types[] = {"scanner", "infected-system",
					    "vulnerable-system", "phishing"};
	static const char *const ids[] = {NULL, "open-modbus", "scada-x",
					  "open-memcached", "", "mirai",
					  "a-very-long-identifier-beyond-the-"
					  "memo-of-sixty-four-bytes-modbus-x"};

	for (int round = 0; round < 3; round++) {
		for (size_t t = 0; t < RK_ARRAY_LEN(types); t++) {
			for (size_t i = 0; i < RK_ARRAY_LEN(ids); i++) {
				char line[512], want[256];
				struct outcome o;

				if (ids[i])
					snprintf(line, sizeof(line),
						 "{" "\"time.source\":\"2026-11-20T10:15:00Z\","
						 "\"source.ip\":\"192.0.2.1\","
						 "\"classification.type\":\"%s\","
						 "\"classification.identifier\":\"%s\"}",
						 types[t], ids[i]);
				else
					snprintf(line, sizeof(line),
						 "{" "\"time.source\":\"2026-11-20T10:15:00Z\","
						 "\"source.ip\":\"192.0.2.1\","
						 "\"classification.type\":\"%s\"}",
						 types[t]);
				o = line_both_ways(f, line, true);
				assert_int_equal(o.kind, 1);
				snprintf(want, sizeof(want), " cat=%s ",
					 rk_config_category(&f->cfg, types[t],
							    ids[i]));
				assert_non_null(strstr(o.text, want));
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_intelmq_fast_path, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_intelmq_too_many_fields,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_intelmq_array_and_mix,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_shadowserver_fields, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_time_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv4_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_categories, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
