/* Events as CSV: columns, RFC 4180 quoting, formula-injection prefix,
 * values from the event data with the struct fields as fallback. */
#include <stdlib.h>
#include <string.h>

#include "renraku/notify.h"
#include "testutil.h"

#define HEADER                                                              \
	"time_source,source.ip,source.port,source.asn,source.fqdn,"         \
	"source.url,source.geolocation.cc,classification.type,"             \
	"classification.identifier,malware.name,protocol.transport,"        \
	"protocol.application,destination.ip,destination.port,feed.name\r\n"

static void event_init(struct store_event *ev, const char *data)
{
	memset(ev, 0, sizeof(*ev));
	ev->time_source = 1795169700;
	ev->type = "infected-system";
	ev->source_ip = "192.0.2.10";
	ev->source_asn = 64500;
	ev->feed_name = "Sinkhole";
	ev->data = (char *)data;
}

/* The n-th data line (0 = header) of a CSV document, without CRLF. */
static char *line_at(const char *csv, int n)
{
	const char *p = csv, *end;

	for (int i = 0; i < n; i++) {
		p = strstr(p, "\r\n");
		assert_non_null(p);
		p += 2;
	}
	end = strstr(p, "\r\n");
	assert_non_null(end);
	return rk_strndup(p, (size_t)(end - p));
}

static void test_header_and_fallback(void **state)
{
	struct store_event ev;
	struct rk_buf out;
	char *line;

	(void)state;
	event_init(&ev, NULL);
	rk_buf_init(&out, RK_MAX_ATTACHMENT);
	assert_int_equal(notify_events_csv(&ev, 1, &out), RK_OK);
	assert_int_equal(strncmp(out.data, HEADER, strlen(HEADER)), 0);
	line = line_at(out.data, 1);
	assert_string_equal(line, "2026-11-20T10:15:00Z,192.0.2.10,,64500,,,,"
				  "infected-system,,,,,,,Sinkhole");
	free(line);
	/* every record ends with CRLF, nothing after the last */
	assert_int_equal(out.len, strlen(HEADER) + strlen("2026-11-20T10:15:00Z,"
		"192.0.2.10,,64500,,,,infected-system,,,,,,,Sinkhole\r\n"));
	rk_buf_release(&out);

	/* no events: the header row alone */
	rk_buf_init(&out, RK_MAX_ATTACHMENT);
	assert_int_equal(notify_events_csv(NULL, 0, &out), RK_OK);
	assert_string_equal(out.data, HEADER);
	rk_buf_release(&out);
}

static void test_values_from_data(void **state)
{
	struct store_event ev[2];
	struct rk_buf out;
	char *line;

	(void)state;
	event_init(&ev[0],
		   "{\"time.source\": \"2026-11-20T19:16:00+09:00\","
		   " \"source.ip\": \"2001:db8::1\", \"source.port\": 23,"
		   " \"source.asn\": 64501, \"source.fqdn\": \"host.example.jp\","
		   " \"source.geolocation.cc\": \"JP\","
		   " \"classification.type\": \"infected-system\","
		   " \"classification.identifier\": \"mirai\","
		   " \"malware.name\": \"mirai\", \"protocol.transport\": \"tcp\","
		   " \"protocol.application\": \"telnet\","
		   " \"destination.ip\": \"198.51.100.7\", \"destination.port\": 2323,"
		   " \"feed.name\": \"Shadowserver Sinkhole\", \"extra.x\": 1}");
	/* unreadable data: the struct fields carry the row */
	event_init(&ev[1], "{not json");
	rk_buf_init(&out, RK_MAX_ATTACHMENT);
	assert_int_equal(notify_events_csv(ev, 2, &out), RK_OK);
	line = line_at(out.data, 1);
	assert_string_equal(line, "2026-11-20T10:16:00Z,2001:db8::1,23,64501,"
				  "host.example.jp,,JP,infected-system,mirai,mirai,"
				  "tcp,telnet,198.51.100.7,2323,Shadowserver Sinkhole");
	free(line);
	line = line_at(out.data, 2);
	assert_string_equal(line, "2026-11-20T10:15:00Z,192.0.2.10,,64500,,,,"
				  "infected-system,,,,,,,Sinkhole");
	free(line);
	rk_buf_release(&out);
}

/* Numbers and the other kinds of values, as Jansson's values printed
 * (integers "%lld", reals "%.17g", containers compact JSON), the
 * fallback read (exponent, a 19-digit integer, "\u") as the fast one. */
static void test_value_kinds(void **state)
{
	struct store_event ev;
	struct rk_buf out;
	char *line;

	(void)state;
	event_init(&ev,
		   "{\"source.port\": -9223372036854775808, \"source.asn\": 0,"
		   " \"destination.port\": 0.1, \"source.fqdn\": true,"
		   " \"source.url\": false, \"malware.name\": [1, {\"a\": \"\\u00e4\"}],"
		   " \"protocol.transport\": 2.5e3, \"protocol.application\": -7,"
		   " \"destination.ip\": -0.0, \"source.ip\": null}");
	rk_buf_init(&out, RK_MAX_ATTACHMENT);
	assert_int_equal(notify_events_csv(&ev, 1, &out), RK_OK);
	line = line_at(out.data, 1);
	assert_string_equal(line, "2026-11-20T10:15:00Z,192.0.2.10,"
				  "'-9223372036854775808,0,true,false,,"
				  "infected-system,,\"[1,{\"\"a\"\":\"\"\\u00E4\"\"}]\","
				  "2500,'-7,'-0,0.10000000000000001,Sinkhole");
	free(line);
	rk_buf_release(&out);

	event_init(&ev, "{\"source.port\": 1234567890123456, \"source.asn\": 52.5,"
			" \"destination.port\": -999999999999999999}");
	rk_buf_init(&out, RK_MAX_ATTACHMENT);
	assert_int_equal(notify_events_csv(&ev, 1, &out), RK_OK);
	line = line_at(out.data, 1);
	assert_string_equal(line, "2026-11-20T10:15:00Z,192.0.2.10,"
				  "1234567890123456,52.5,,,,infected-system,,,,,,"
				  "'-999999999999999999,Sinkhole");
	free(line);
	rk_buf_release(&out);
}

static void test_quoting(void **state)
{
	struct store_event ev;
	struct rk_buf out;
	char *line;

	(void)state;
	event_init(&ev,
		   "{\"source.url\": \"http://x.example/a,b?q=\\\"1\\\"\","
		   " \"malware.name\": \"line1\\r\\nline2\","
		   " \"feed.name\": \"日本語, フィード\","
		   " \"classification.identifier\": \"plain\"}");
	rk_buf_init(&out, RK_MAX_ATTACHMENT);
	assert_int_equal(notify_events_csv(&ev, 1, &out), RK_OK);
	assert_non_null(strstr(out.data,
			       ",\"http://x.example/a,b?q=\"\"1\"\"\","));
	/* control characters become spaces: one line per event, also when
	 * the CSV is inlined in a notice body */
	assert_non_null(strstr(out.data, ",line1  line2,"));
	assert_non_null(strstr(out.data, ",\"日本語, フィード\"\r\n"));
	assert_non_null(strstr(out.data, ",plain,"));
	line = line_at(out.data, 1);
	assert_int_equal(strncmp(line, "2026-11-20T10:15:00Z,192.0.2.10,", 32), 0);
	free(line);
	rk_buf_release(&out);
}

static void test_formula_prefix(void **state)
{
	static const struct {
		const char *json_value;
		const char *cell;
	} cases[] = {
		{"=HYPERLINK(\\\"http://evil\\\")", "\"'=HYPERLINK(\"\"http://evil\"\")\""},
		{"=1+1", "'=1+1"},
		{"+1", "'+1"},
		{"-1", "'-1"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\\tx", "' x"},
		{"\\rx", "' x"},
		{"a\\nb", "a b"},
		{"=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"},
		{"a=1", "a=1"},
		{"2001:db8::1", "2001:db8::1"},
		{"::1", "::1"},
	};
	struct rk_buf out, data;
	struct store_event ev;

	(void)state;
	rk_buf_init(&out, RK_MAX_ATTACHMENT);
	rk_buf_init(&data, 4096);
	for (size_t i = 0; i < RK_ARRAY_LEN(cases); i++) {
		rk_buf_reset(&out);
		rk_buf_reset(&data);
		assert_int_equal(rk_buf_addf(&data, "{\"malware.name\": \"%s\"}",
					     cases[i].json_value), RK_OK);
		event_init(&ev, data.data);
		assert_int_equal(notify_events_csv(&ev, 1, &out), RK_OK);
		{
			/* malware.name is the 10th column */
			const char *row = strstr(out.data, "\r\n") + 2;
			const char *p = row;

			for (int c = 0; c < 9; c++) {
				p = strchr(p, ',');
				assert_non_null(p);
				p++;
			}
			if (strncmp(p, cases[i].cell, strlen(cases[i].cell)) != 0 ||
			    p[strlen(cases[i].cell)] != ',')
				fail_msg("value %s: got row %s", cases[i].json_value,
					 row);
		}
	}
	/* struct fallbacks are prefixed too */
	rk_buf_reset(&out);
	event_init(&ev, NULL);
	ev.source_url = "=1+2";
	assert_int_equal(notify_events_csv(&ev, 1, &out), RK_OK);
	assert_non_null(strstr(out.data, ",,'=1+2,"));
	rk_buf_release(&out);
	rk_buf_release(&data);
}

static void test_limit(void **state)
{
	struct store_event *evs;
	struct rk_buf out, url, data;
	size_t n = 5000;

	(void)state;
	rk_buf_init(&url, 1 << 20);
	rk_buf_init(&data, 1 << 20);
	/* a value over RK_MAX_CSV_CELL is cut, not refused */
	while (url.len < 9000)
		assert_int_equal(rk_buf_adds(&url, "abcdefghij"), RK_OK);
	assert_int_equal(rk_buf_addf(&data, "{\"source.url\": \"http://x/%s\"}",
				     url.data), RK_OK);
	evs = calloc(n, sizeof(*evs));
	assert_non_null(evs);
	for (size_t i = 0; i < n; i++)
		event_init(&evs[i], data.data);
	rk_buf_init(&out, RK_MAX_MESSAGE);
	assert_int_equal(rk_buf_adds(&out, "kept"), RK_OK);
	assert_int_equal(notify_events_csv(evs, n, &out), RK_ERR_LIMIT);
	assert_string_equal(out.data, "kept");
	/* fewer rows fit; each long URL is cut to RK_MAX_CSV_CELL bytes */
	assert_int_equal(notify_events_csv(evs, 100, &out), RK_OK);
	assert_true(out.len > 100 * RK_MAX_CSV_CELL);
	assert_true(out.len < 100 * (RK_MAX_CSV_CELL + 200));
	assert_non_null(strstr(out.data, "[...truncated]"));
	rk_buf_release(&out);
	rk_buf_release(&url);
	rk_buf_release(&data);
	free(evs);
}

/* ------------------------------------------------------------ JSON */

/* The JSON attachment: an array of the events' data exactly as stored,
 * one per line; TLP:RED left out (by the event's tlp or its data's);
 * data that is not an object refused; the cap holds. */
static void test_json_attachment(void **state)
{
	const char *a = "{\"source.ip\": \"192.0.2.10\", \"extra.x\": 1.50}";
	const char *b = "{\"source.ip\": \"192.0.2.11\", \"tlp\": \"GREEN\"}";
	const char *red = "{\"source.ip\": \"192.0.2.12\", \"tlp\": \"TLP:RED\"}";
	struct store_event ev[4];
	struct rk_buf out;
	json_t *parsed;

	(void)state;
	event_init(&ev[0], a);
	event_init(&ev[1], red);
	event_init(&ev[2], b);
	event_init(&ev[3], b);
	ev[3].tlp = RK_TLP_RED;
	rk_buf_init(&out, RK_MAX_ATTACHMENT);
	assert_int_equal(notify_events_json(ev, 4, &out), RK_OK);
	assert_string_equal(out.data,
			    "[\n{\"source.ip\": \"192.0.2.10\", \"extra.x\": 1.50},\n"
			    "{\"source.ip\": \"192.0.2.11\", \"tlp\": \"GREEN\"}\n]\n");
	parsed = json_loads(out.data, 0, NULL);
	assert_true(json_is_array(parsed));
	assert_int_equal(json_array_size(parsed), 2);
	json_decref(parsed);

	rk_buf_reset(&out);
	assert_int_equal(notify_events_json(ev, 0, &out), RK_OK);
	assert_string_equal(out.data, "[]\n");

	rk_buf_reset(&out);
	event_init(&ev[0], "[1, 2]");
	assert_int_equal(notify_events_json(ev, 1, &out), RK_ERR_INVAL);
	event_init(&ev[0], "{\"a\": ");
	assert_int_equal(notify_events_json(ev, 1, &out), RK_ERR_INVAL);
	assert_int_equal(out.len, 0);
	rk_buf_release(&out);

	rk_buf_init(&out, 16);
	event_init(&ev[0], a);
	assert_int_equal(notify_events_json(ev, 1, &out), RK_ERR_LIMIT);
	rk_buf_release(&out);

	assert_int_equal(notify_attach_for(NULL), NOTIFY_ATTACH_CSV);
	assert_int_equal(notify_attach_for("csv-attach"), NOTIFY_ATTACH_CSV);
	assert_int_equal(notify_attach_for("csv-inline"),
			 NOTIFY_ATTACH_CSV_INLINE);
	assert_int_equal(notify_attach_for("json"), NOTIFY_ATTACH_JSON);
	assert_int_equal(notify_attach_for("xarf"), NOTIFY_ATTACH_UNKNOWN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_and_fallback),
		cmocka_unit_test(test_values_from_data),
		cmocka_unit_test(test_value_kinds),
		cmocka_unit_test(test_quoting),
		cmocka_unit_test(test_formula_prefix),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_json_attachment),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
