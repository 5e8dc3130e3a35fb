/* Unit tests for the generic CSV reader (relay/ingest/csvmap.c), the
 * IODEF reader (relay/ingest/iodef.c) and the [ingest] size limits:
 * fixtures under tests/fixtures/csv and tests/fixtures/iodef, hostile
 * inputs written by the tests. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renraku/ingest.h"
#include "renraku/limits.h"
#include "testutil.h"

/* 2026-11-21T00:00:00Z */
#define NOW 1795219200LL

struct fx {
	char *dir;
	struct rk_log log;
	struct rk_config cfg;
	struct ingest_options opts;
	struct ingest_result res;
	struct store_event *ev;
	size_t n;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = rk_test_tmpdir();
	rk_log_init(&f->log, RK_LOG_ERROR);
	f->log.stream = fopen("/dev/null", "w");
	rk_test_config(&f->cfg);
	f->opts.now = NOW;
	*state = f;
	return 0;
}

static void reset(struct fx *f)
{
	store_events_free(f->ev, f->n);
	f->ev = NULL;
	f->n = 0;
	ingest_result_release(&f->res);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	reset(f);
	rk_config_release(&f->cfg);
	fclose(f->log.stream);
	rk_test_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* A fixture's path (caller frees). */
static char *fixture(const char *rel)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "tests/fixtures/%s", rel);
	return rk_test_source_path(buf);
}

/* Write text to DIR/name; its path (caller frees). */
static char *write_tmp(struct fx *f, const char *name, const char *text)
{
	char *path = NULL;
	FILE *fp;

	assert_int_equal(rk_path_join(f->dir, name, &path), RK_OK);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
	fclose(fp);
	return path;
}

static enum rk_err read_file(struct fx *f, const char *path)
{
	reset(f);
	return ingest_file_events(&f->cfg, &f->log, &f->opts, path, &f->ev,
				  &f->n, &f->res);
}

/* A field of event i's data as text ("" when absent; numbers printed). */
static const char *field(struct fx *f, size_t i, const char *key)
{
	static char buf[512];
	json_t *d, *v;

	assert_true(i < f->n);
	d = json_loads(f->ev[i].data, 0, NULL);
	assert_non_null(d);
	v = json_object_get(d, key);
	if (json_is_string(v))
		snprintf(buf, sizeof(buf), "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, sizeof(buf), "%lld",
			 (long long)json_integer_value(v));
	else
		buf[0] = '\0';
	json_decref(d);
	return buf;
}

/* Error i's line and that its reason holds text. */
static void assert_error(struct fx *f, size_t i, long long line,
			 const char *text)
{
	if (i >= f->res.nerrors)
		fail_msg("error %zu wanted (%s), %zu listed", i, text,
			 f->res.nerrors);
	if (f->res.errors[i].line != line || !strstr(f->res.errors[i].reason, text))
		fail_msg("error %zu: line %lld '%s', wanted line %lld '%s'", i,
			 f->res.errors[i].line, f->res.errors[i].reason, line,
			 text);
}

/* Event i: its subject (source.ip, else source.fqdn), type, time.source
 * and severity. */
static void expect_event(struct fx *f, size_t i, const char *subject,
			 const char *type, const char *time, int severity)
{
	const char *got;

	if (i >= f->n)
		fail_msg("event %zu wanted (%s), %zu stored", i, subject, f->n);
	got = f->ev[i].source_ip ? f->ev[i].source_ip : f->ev[i].source_fqdn;
	assert_non_null(got);
	assert_string_equal(got, subject);
	assert_string_equal(f->ev[i].type, type);
	assert_string_equal(field(f, i, "time.source"), time);
	assert_int_equal(f->ev[i].severity, severity);
}

/* ------------------------------------------------------------ csv */

static enum rk_err read_csv(struct fx *f, const char *map, const char *data)
{
	char *path = fixture(data), *mpath = fixture(map);
	enum rk_err err;

	f->opts.format = INGEST_FORMAT_CSV;
	f->opts.format_arg = mpath;
	err = read_file(f, path);
	f->opts.format_arg = NULL;
	free(path);
	free(mpath);
	return err;
}

static void test_csv_tool_export(void **state)
{
	struct fx *f = *state;

	assert_int_equal(read_csv(f, "csv/tool-export.map",
				  "csv/fw-export-2026-11-20.csv"),
			 RK_OK);
	assert_int_equal(f->n, 3);
	/* JST (+09:00) into UTC; severity from its column, else the
	 * type's (scanner: low) */
	expect_event(f, 0, "192.0.2.31", "scanner",
		     "2026-11-20T00:00:00+00:00", RK_SEV_HIGH);
	expect_event(f, 1, "192.0.2.32", "scanner",
		     "2026-11-20T00:05:00+00:00", RK_SEV_LOW);
	assert_string_equal(field(f, 0, "source.port"), "51515");
	assert_string_equal(field(f, 0, "classification.identifier"),
			    "ssh-scan");
	assert_string_equal(field(f, 0, "feed.name"), "fw-export");
	/* an unmapped column is kept as extra.<name>, an ignored one not */
	assert_string_equal(field(f, 0, "extra.hits"), "12");
	assert_string_equal(field(f, 0, "extra.note"), "");
	/* quoted cells, the delimiter inside quotes */
	expect_event(f, 2, "2001:db8::35", "scanner",
		     "2026-11-20T00:09:00+00:00", RK_SEV_MEDIUM);
	assert_string_equal(field(f, 2, "classification.identifier"),
			    "tls;scan");
	assert_int_equal(f->res.rejected, 3);
	assert_error(f, 0, 6, "source.ip: 'not-an-ip' is not an IP address");
	assert_error(f, 1, 7,
		     "column 'When': '2026-11-20 09:07' is not a time as "
		     "time_format %d/%m/%Y %H:%M:%S");
	assert_error(f, 2, 8, "row has 4 cells, the header 7");
	assert_string_equal(f->res.files[0].format, "csv");
}

static void test_csv_no_header_epoch(void **state)
{
	struct fx *f = *state;

	assert_int_equal(read_csv(f, "csv/noheader.map", "csv/noheader.tsv"),
			 RK_OK);
	assert_int_equal(f->n, 2);
	expect_event(f, 0, "192.0.2.41", "brute-force",
		     "2026-11-20T10:15:00+00:00", RK_SEV_MEDIUM);
	expect_event(f, 1, "192.0.2.42", "spam",
		     "2026-11-20T10:16:00+00:00", RK_SEV_MEDIUM);
	assert_error(f, 0, 3, "'soon' is not a time as time_format epoch");
}

/* Mappings that cannot be used fail the file, naming file and line. */
static void test_csv_bad_mappings(void **state)
{
	static const struct {
		const char *map, *why;
	} cases[] = {
		{"delimiter = ab\ncolumn.a = time.source\n"
		 "constant.classification.type = spam\n",
		 ":1: delimiter: 'ab' is not one character"},
		{"column.a = time.source\n", "no column or constant gives "
					     "classification.type"},
		{"constant.classification.type = spam\n",
		 "no column or constant gives time.source"},
		{"# c\n\nbogus = 1\n", ":3: unknown key 'bogus'"},
		{"column.a = Source IP\n", ":1: column.a: 'Source IP' is not "
					   "an event field name"},
		{"header = no\ncolumn.a = time.source\n"
		 "constant.classification.type = spam\n",
		 ":2: column.a: with header = no a column is named by its "
		 "position"},
		{"time_format = %Q\n", ":1: time_format: '%Q' is not"},
		{"timezone = Asia/Tokyo\n", ":1: timezone: 'Asia/Tokyo' is not"},
		{"delimiter = \"x\n", ":1: delimiter: the quote is not closed"},
		{"just words\n", ":1: 'just words' is not key = value"},
		{"column.ts = time.source\ncolumn.ts = source.ip\n",
		 ":2: column.ts is given twice"},
		{"quote = ;\ndelimiter = ;\ncolumn.a = time.source\n"
		 "constant.classification.type = spam\n",
		 "quote and delimiter are the same character"},
	};
	struct fx *f = *state;
	char *data = write_tmp(f, "data.csv", "a,b\n2026-11-20,192.0.2.1\n");

	for (size_t i = 0; i < RK_ARRAY_LEN(cases); i++) {
		char *map = write_tmp(f, "bad.map", cases[i].map);

		f->opts.format = INGEST_FORMAT_CSV;
		f->opts.format_arg = map;
		assert_int_equal(read_file(f, data), RK_ERR_PARSE);
		assert_int_equal(f->res.nerrors, 1);
		if (!strstr(f->res.errors[0].reason, cases[i].why) ||
		    !strstr(f->res.errors[0].reason, "csv mapping "))
			fail_msg("case %zu: '%s', wanted '%s'", i,
				 f->res.errors[0].reason, cases[i].why);
		free(map);
	}
	/* a missing mapping file, a header without a mapped column */
	f->opts.format_arg = "/nonexistent/x.map";
	assert_int_equal(read_file(f, data), RK_ERR_PARSE);
	assert_non_null(strstr(f->res.errors[0].reason, "no such file"));
	{
		char *map = write_tmp(f, "ok.map",
				      "column.when = time.source\n"
				      "constant.classification.type = spam\n");

		f->opts.format_arg = map;
		assert_int_equal(read_file(f, data), RK_ERR_PARSE);
		assert_non_null(strstr(f->res.errors[0].reason,
				       "the header has no column 'when'"));
		free(map);
	}
	f->opts.format_arg = NULL;
	free(data);
}

/* Hostile rows: NUL, invalid UTF-8, an open quote, a cell over
 * max_field, a row over max_line; the good rows around them stay. */
static void test_csv_hostile_rows(void **state)
{
	struct fx *f = *state;
	char *map = write_tmp(f, "h.map",
			      "column.t = time.source\ncolumn.ip = source.ip\n"
			      "constant.classification.type = spam\n");
	struct rk_buf text;
	char *path = NULL;
	FILE *fp;

	f->cfg.ingest.max_field = 2048;
	f->cfg.ingest.max_line = 4096;
	rk_buf_init(&text, 1 << 20);
	assert_int_equal(rk_buf_adds(&text, "t,ip\n"
					    "2026-11-20T01:00:00Z,192.0.2.1\n"
					    "2026-11-20T01:00:00Z,bad\xff\n"),
			 RK_OK);
	assert_int_equal(rk_buf_add(&text, "x\0y,192.0.2.3\n", 14), RK_OK);
	assert_int_equal(rk_buf_adds(&text, "2026-11-20T01:00:00Z,"), RK_OK);
	for (int i = 0; i < 3000; i++)
		assert_int_equal(rk_buf_addc(&text, 'a'), RK_OK);
	assert_int_equal(rk_buf_adds(&text, "\n2026-11-20T01:00:00Z,\""),
			 RK_OK);
	for (int i = 0; i < 5000; i++)
		assert_int_equal(rk_buf_adds(&text, "b,"), RK_OK);
	assert_int_equal(rk_buf_adds(&text, "\"\n2026-11-20T02:00:00Z,192.0.2.9\n"
					    "2026-11-20T03:00:00Z,\"192.0.2.10"),
			 RK_OK);
	assert_int_equal(rk_path_join(f->dir, "h.csv", &path), RK_OK);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(text.data, 1, text.len, fp), text.len);
	fclose(fp);
	f->opts.format = INGEST_FORMAT_CSV;
	f->opts.format_arg = map;
	assert_int_equal(read_file(f, path), RK_OK);
	f->opts.format_arg = NULL;
	assert_int_equal(f->n, 2);
	assert_string_equal(f->ev[0].source_ip, "192.0.2.1");
	assert_string_equal(f->ev[1].source_ip, "192.0.2.9");
	assert_int_equal(f->res.rejected, 5);
	assert_error(f, 0, 3, "UTF-8");
	assert_error(f, 1, 4, "NUL");
	assert_error(f, 2, 5, "RK_MAX_FIELD ([ingest] max_field)");
	assert_error(f, 3, 6, "[ingest] max_line");
	assert_non_null(strstr(f->res.errors[4].reason, "quote"));
	rk_buf_release(&text);
	free(path);
	free(map);
}

/* [ingest] csv_mappings: a mapping's match takes a file under
 * --format auto; other files are untouched. */
static void test_csv_mappings_dir(void **state)
{
	struct fx *f = *state;
	char *dir = fixture("csv"), *path = fixture("csv/fw-export-2026-11-20.csv");
	char *other = fixture("intelmq/sample.jsonl");

	f->cfg.ingest.csv_mappings = rk_strdup(dir);
	f->opts.format = INGEST_FORMAT_AUTO;
	assert_int_equal(read_file(f, path), RK_OK);
	assert_int_equal(f->n, 3);
	assert_string_equal(f->res.files[0].format, "csv");
	assert_int_equal(read_file(f, other), RK_OK);
	assert_string_equal(f->res.files[0].format, "intelmq");
	/* without csv_mappings a CSV is never taken for generic CSV */
	free(f->cfg.ingest.csv_mappings);
	f->cfg.ingest.csv_mappings = NULL;
	assert_int_equal(read_file(f, path), RK_ERR_PARSE);
	assert_string_equal(f->res.files[0].format, "intelmq");
	/* an unreadable directory fails the file and says so */
	f->cfg.ingest.csv_mappings = rk_strdup("/nonexistent-dir");
	assert_int_equal(read_file(f, path), RK_ERR_CONFIG);
	assert_non_null(strstr(f->res.errors[0].reason,
			       "[ingest] csv_mappings: cannot read"));
	free(dir);
	free(path);
	free(other);
}

static void test_csv_time_formats(void **state)
{
	static const struct {
		const char *format, *tz, *cell, *want;
	} cases[] = {
		{"iso8601", "UTC", "2026-11-20T10:00:00+02:00",
		 "2026-11-20T08:00:00+00:00"},
		{"iso8601", "+09:00", "2026-11-20 10:00:00",
		 "2026-11-20T01:00:00+00:00"},
		{"iso8601", "-0500", "2026-11-20T10:00:00Z",
		 "2026-11-20T10:00:00+00:00"},
		{"epoch_ms", "UTC", "1795169700123", "2026-11-20T10:15:00+00:00"},
		{"\"%b %d %Y %T\"", "UTC", "Nov 20 2026 10:15:00",
		 "2026-11-20T10:15:00+00:00"},
		{"\"%Y%m%dT%H%M%S%z\"", "UTC", "20261120T101500+0100",
		 "2026-11-20T09:15:00+00:00"},
		{"\"%Y-%m-%d %H:%M:%S.%f\"", "UTC", "2026-11-20 10:15:00.250",
		 "2026-11-20T10:15:00+00:00"},
	};
	struct fx *f = *state;

	for (size_t i = 0; i < RK_ARRAY_LEN(cases); i++) {
		char maptext[512], rows[256];
		char *map, *data;

		snprintf(maptext, sizeof(maptext),
			 "time_format = %s\ntimezone = %s\ndelimiter = |\n"
			 "column.t = time.source\ncolumn.ip = source.ip\n"
			 "constant.classification.type = spam\n",
			 cases[i].format, cases[i].tz);
		snprintf(rows, sizeof(rows), "t|ip\n%s|192.0.2.1\n",
			 cases[i].cell);
		map = write_tmp(f, "t.map", maptext);
		data = write_tmp(f, "t.csv", rows);
		f->opts.format = INGEST_FORMAT_CSV;
		f->opts.format_arg = map;
		assert_int_equal(read_file(f, data), RK_OK);
		if (f->n != 1)
			fail_msg("case %zu: %s", i,
				 f->res.nerrors ? f->res.errors[0].reason : "");
		assert_string_equal(field(f, 0, "time.source"), cases[i].want);
		free(map);
		free(data);
	}
	f->opts.format_arg = NULL;
}

/* ------------------------------------------------------------ iodef */

static enum rk_err read_iodef(struct fx *f, const char *rel)
{
	char *path = fixture(rel);
	enum rk_err err;

	f->opts.format = INGEST_FORMAT_AUTO;
	err = read_file(f, path);
	free(path);
	return err;
}

static void test_iodef_scan_report(void **state)
{
	struct fx *f = *state;

	assert_int_equal(read_iodef(f, "iodef/scan-report.xml"), RK_OK);
	assert_string_equal(f->res.files[0].format, "iodef");
	assert_int_equal(f->n, 1);
	assert_int_equal(f->res.rejected, 0);
	/* DetectTime, in UTC */
	expect_event(f, 0, "192.0.2.200", "system-compromise",
		     "2026-11-20T00:15:00+00:00", RK_SEV_MEDIUM);
	assert_string_equal(field(f, 0, "source.port"), "38765");
	assert_string_equal(field(f, 0, "destination.ip"), "198.51.100.10");
	assert_string_equal(field(f, 0, "destination.port"), "22");
	assert_string_equal(field(f, 0, "protocol.transport"), "tcp");
	assert_string_equal(field(f, 0, "extra.incident_id"), "189493");
	assert_string_equal(field(f, 0, "extra.incident_id_name"),
			    "csirt.example.com");
	assert_string_equal(field(f, 0, "extra.reporter_email"),
			    "contact@csirt.example.com");
	assert_string_equal(field(f, 0, "feed.provider"), "example.com CSIRT");
	assert_string_equal(field(f, 0, "feed.name"), "IODEF");
	assert_string_equal(field(f, 0, "event_description.text"),
			    "Host involved in a scan of our network");
}

static void test_iodef_several(void **state)
{
	struct fx *f = *state;

	assert_int_equal(read_iodef(f, "iodef/several.xml"), RK_OK);
	assert_int_equal(f->n, 5);
	/* one event per source address; nested EventData keeps its own
	 * time and assessment, a prefixed namespace is the same */
	expect_event(f, 0, "192.0.2.1", "data-leak",
		     "2026-11-20T07:00:00+00:00", RK_SEV_HIGH);
	expect_event(f, 1, "2001:db8::1", "data-leak",
		     "2026-11-20T07:00:00+00:00", RK_SEV_HIGH);
	expect_event(f, 2, "203.0.113.0", "sniffing",
		     "2026-11-20T07:30:00+00:00", RK_SEV_LOW);
	assert_string_equal(field(f, 2, "source.network"), "203.0.113.0/24");
	expect_event(f, 3, "phish.example.org", "sniffing",
		     "2026-11-20T07:30:00+00:00", RK_SEV_LOW);
	/* no DetectTime: ReportTime; no assessment: undetermined (its
	 * severity: the type's) */
	expect_event(f, 4, "198.51.100.99", "undetermined",
		     "2026-11-20T06:00:00+00:00", RK_SEV_LOW);
	/* rejected with the line of their element */
	assert_int_equal(f->res.rejected, 3);
	assert_error(f, 0, 23, "source.ip: '999.1.1.1' is not an IP address");
	assert_error(f, 1, 26, "element System (category source) has no Node");
	assert_error(f, 2, 54, "element Incident (IncidentID A-2) has no "
			       "EventData/Flow/System with category source");
}

static void test_iodef_v1(void **state)
{
	struct fx *f = *state;

	assert_int_equal(read_iodef(f, "iodef/iodef-1.0.xml"), RK_OK);
	assert_int_equal(f->n, 1);
	expect_event(f, 0, "192.0.2.77", "scanner",
		     "2026-11-20T04:30:00+00:00", RK_SEV_LOW);
	assert_string_equal(f->ev[0].source_fqdn, "scanner.example.net");
	assert_string_equal(field(f, 0, "extra.reporter_email"),
			    "csirt@example.com");
}

/* Documents refused whole, each with its reason. */
static void test_iodef_refused(void **state)
{
	static const struct {
		const char *text, *why;
	} cases[] = {
		{"<?xml version=\"1.0\"?>\n<!DOCTYPE x [\n<!ENTITY e SYSTEM "
		 "\"file:///etc/passwd\">\n]>\n<x>&e;</x>",
		 "has a DOCTYPE (line 2)"},
		{"<?xml version=\"1.0\"?>\n<!DOCTYPE IODEF-Document SYSTEM "
		 "\"http://127.0.0.1:9/iodef.dtd\">\n<IODEF-Document/>",
		 "has a DOCTYPE"},
		{"<!DOCTYPE a [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b "
		 "\"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]><a>&b;</a>",
		 "has a DOCTYPE"},
		{"<IODEF-Document xmlns=\"urn:ietf:params:xml:ns:iodef-2.0\">"
		 "<Incident>", "not well-formed XML (line 1)"},
		{"<a xmlns=\"urn:x\"/>",
		 "the root element is 'a' in namespace 'urn:x'"},
		{"<IODEF-Document xmlns=\"urn:ietf:params:xml:ns:iodef-2.0\"/>",
		 "no Incident element"},
		{"<IODEF-Document>&undeclared;</IODEF-Document>",
		 "not well-formed XML"},
		{"<?xml version=\"1.0\"?>\n<IODEF-Document xmlns=\"urn:ietf:"
		 "params:xml:ns:iodef-2.0\"><Incident>\xff</Incident>"
		 "</IODEF-Document>",
		 "not an IODEF document: not UTF-8 text"},
	};
	struct fx *f = *state;

	for (size_t i = 0; i < RK_ARRAY_LEN(cases); i++) {
		char *path = write_tmp(f, "bad.xml", cases[i].text);

		f->opts.format = INGEST_FORMAT_IODEF;
		assert_int_equal(read_file(f, path), RK_ERR_PARSE);
		if (f->res.nerrors != 1 ||
		    !strstr(f->res.errors[0].reason, cases[i].why))
			fail_msg("case %zu: '%s', wanted '%s'", i,
				 f->res.nerrors ? f->res.errors[0].reason : "",
				 cases[i].why);
		free(path);
	}
}

/* Nesting past RK_MAX_XML_DEPTH is refused while parsing. */
static void test_iodef_deep(void **state)
{
	struct fx *f = *state;
	struct rk_buf b;
	char *path = NULL;
	FILE *fp;

	rk_buf_init(&b, 1 << 20);
	assert_int_equal(rk_buf_adds(&b, "<IODEF-Document xmlns=\"urn:ietf:"
					 "params:xml:ns:iodef-2.0\"><Incident>"),
			 RK_OK);
	for (int i = 0; i < 5000; i++)
		assert_int_equal(rk_buf_adds(&b, "<EventData>"), RK_OK);
	assert_int_equal(rk_path_join(f->dir, "deep.xml", &path), RK_OK);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(b.data, 1, b.len, fp), b.len);
	fclose(fp);
	f->opts.format = INGEST_FORMAT_AUTO;
	assert_int_equal(read_file(f, path), RK_ERR_PARSE);
	assert_non_null(strstr(f->res.errors[0].reason,
			       "deeper than RK_MAX_XML_DEPTH (64)"));
	assert_string_equal(f->res.files[0].format, "iodef");
	rk_buf_release(&b);
	free(path);
}

/* Auto detection: IODEF by its root element and namespace; any other
 * XML goes to the IODEF reader too, which says why it is not IODEF. */
static void test_iodef_detect(void **state)
{
	struct fx *f = *state;

	assert_int_equal(read_iodef(f, "iodef/not-iodef.xml"), RK_ERR_PARSE);
	assert_string_equal(f->res.files[0].format, "iodef");
	assert_non_null(strstr(f->res.errors[0].reason,
			       "not an IODEF document"));
	f->opts.format = INGEST_FORMAT_IODEF;
	{
		char *path = fixture("intelmq/sample.jsonl");

		assert_int_equal(read_file(f, path), RK_ERR_PARSE);
		assert_non_null(strstr(f->res.errors[0].reason, "not XML"));
		free(path);
	}
}

/* ------------------------------------------------------------ limits */

/* A file over [ingest] max_file fails, naming the limit and its value
 * (the keys themselves: test_config_checks.c). */
static void test_limits_file(void **state)
{
	struct fx *f = *state;
	struct rk_buf big;
	char *path;

	rk_buf_init(&big, 1 << 20);
	for (int i = 0; i < 100; i++)
		assert_int_equal(rk_buf_adds(&big, "{\"a\":\"xxxxxxxxxxxxxxxxxxxxx\"}\n"),
				 RK_OK);
	path = write_tmp(f, "big.jsonl", big.data);
	rk_buf_release(&big);
	f->cfg.ingest.max_file = 2048;
	f->opts.format = INGEST_FORMAT_AUTO;
	assert_int_equal(read_file(f, path), RK_ERR_LIMIT);
	assert_non_null(strstr(f->res.errors[0].reason,
			       "larger than RK_MAX_REPORT ([ingest] max_file, "
			       "2048 bytes)"));
	f->cfg.ingest.max_file = 1 << 20;
	assert_int_equal(read_file(f, path), RK_OK);
	free(path);
}

/* max_line and max_field reach the IntelMQ reader and the normalizer. */
static void test_limits_applied(void **state)
{
	struct fx *f = *state;
	char line[3000];
	char *path;
	int n;

	n = snprintf(line, sizeof(line),
		     "{\"time.source\":\"2026-11-20T00:00:00Z\","
		     "\"classification.type\":\"spam\",\"source.ip\":"
		     "\"192.0.2.2\"}\n"
		     "{\"time.source\":\"2026-11-20T00:00:00Z\","
		     "\"classification.type\":\"spam\",\"source.ip\":"
		     "\"192.0.2.1\",\"comment\":\"");
	memset(line + n, 'c', 1500);
	snprintf(line + n + 1500, sizeof(line) - (size_t)n - 1500, "\"}\n");
	path = write_tmp(f, "l.jsonl", line);
	f->opts.format = INGEST_FORMAT_AUTO;
	f->cfg.ingest.max_field = 1024;
	assert_int_equal(read_file(f, path), RK_OK);
	assert_int_equal(f->n, 1);
	assert_error(f, 0, 2, "comment: value is longer than RK_MAX_FIELD "
			      "(1024 bytes)");
	f->cfg.ingest.max_field = 4096;
	f->cfg.ingest.max_line = 1024;
	assert_int_equal(read_file(f, path), RK_OK);
	assert_int_equal(f->n, 1);
	assert_error(f, 0, 2, "line is longer than RK_MAX_JSON_LINE (1024 "
			      "bytes)");
	f->cfg.ingest.max_line = 4096;
	assert_int_equal(read_file(f, path), RK_OK);
	assert_int_equal(f->n, 2);
	free(path);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_csv_tool_export),
		T(test_csv_no_header_epoch),
		T(test_csv_bad_mappings),
		T(test_csv_hostile_rows),
		T(test_csv_mappings_dir),
		T(test_csv_time_formats),
		T(test_iodef_scan_report),
		T(test_iodef_several),
		T(test_iodef_v1),
		T(test_iodef_refused),
		T(test_iodef_deep),
		T(test_iodef_detect),
		T(test_limits_file),
		T(test_limits_applied),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
