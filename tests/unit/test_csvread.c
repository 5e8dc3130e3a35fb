/* The shared CSV reader (core/csvread.c): records with their starting
 * line, whatever the chunks the input arrives in; limits; bad records
 * reported with line and reason while the good ones continue. */
#include <stdlib.h>
#include <string.h>

#include "renraku/csvread.h"
#include "testutil.h"

/* Everything the reader said, as text: "L<line>:<cell>|<cell>" per
 * record, "S<line>" per skipped record, "P<line>:<reason>" per problem. */
struct transcript {
	struct rk_buf text;
};

static enum rk_err on_record(void *arg, struct rk_csv *csv,
			     const struct rk_csv_record *rec)
{
	struct transcript *t = arg;

	(void)csv;
	if (rec->skipped)
		return rk_buf_addf(&t->text, "S%lld\n", rec->line);
	rk_buf_addf(&t->text, "L%lld:", rec->line);
	for (size_t i = 0; i < rec->nfields; i++)
		rk_buf_addf(&t->text, "%s%s", i ? "|" : "", rec->field[i]);
	return rk_buf_addc(&t->text, '\n');
}

static enum rk_err on_problem(void *arg, long long line, const char *reason)
{
	struct transcript *t = arg;

	return rk_buf_addf(&t->text, "P%lld:%s\n", line, reason);
}

/* Read data fed in chunks of `chunk` bytes (0: all at once); caller frees. */
static char *read_csv(const struct rk_csv_opts *base, const char *data,
		      size_t len, size_t chunk)
{
	struct rk_csv_opts o = *base;
	struct transcript t;
	struct rk_csv *csv;

	rk_buf_init(&t.text, 1u << 24);
	o.on_record = on_record;
	o.on_problem = on_problem;
	o.arg = &t;
	assert_int_equal(rk_csv_new(&csv, &o), RK_OK);
	if (!chunk)
		chunk = len ? len : 1;
	for (size_t at = 0; at < len; at += chunk)
		assert_int_equal(rk_csv_feed(csv, data + at,
					     len - at < chunk ? len - at : chunk),
				 RK_OK);
	assert_int_equal(rk_csv_finish(csv), RK_OK);
	rk_csv_free(csv);
	return rk_buf_detach(&t.text, NULL);
}

/* The same transcript for every chunk size. */
static char *read_all_ways(const struct rk_csv_opts *o, const char *data,
			   size_t len)
{
	char *whole = read_csv(o, data, len, 0);
	static const size_t chunks[] = {1, 2, 3, 5, 7, 64};

	for (size_t i = 0; i < RK_ARRAY_LEN(chunks); i++) {
		char *part = read_csv(o, data, len, chunks[i]);

		assert_string_equal(part, whole);
		free(part);
	}
	return whole;
}

static void test_lines_and_chunks(void **state)
{
	static const char data[] =
		"\xef\xbb\xbf" "a,b,c\r\n"           /* 1: BOM skipped */
		"1,\"two\r\nlines\",3\r\n"           /* 2-3 */
		"\r\n"                               /* 4: empty */
		"x,\"q\"\"uote\",z\r"                /* 5: old Mac end */
		"p,\"lf\nonly\",r\n"                 /* 6-7 */
		"last,,line";                        /* 8: no line end */
	struct rk_csv_opts o;
	char *t;

	(void)state;
	memset(&o, 0, sizeof(o));
	t = read_all_ways(&o, data, sizeof(data) - 1);
	assert_string_equal(t, "L1:a|b|c\n"
			       "L2:1|two\r\nlines|3\n"
			       "L5:x|q\"uote|z\n"
			       "L6:p|lf\nonly|r\n"
			       "L8:last||line\n");
	free(t);
}

static void test_delimiter(void **state)
{
	static const char data[] = "a\tb c\t\"d\te\"\n 1 \t2\t3\n";
	struct rk_csv_opts o;
	char *t;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.delim = '\t';
	t = read_all_ways(&o, data, sizeof(data) - 1);
	assert_string_equal(t, "L1:a|b c|d\te\nL2:1|2|3\n");
	free(t);
	o.delim = ';';
	t = read_all_ways(&o, "a;b,c\n", 6);
	assert_string_equal(t, "L1:a|b,c\n");
	free(t);
}

static void test_bad_records_continue(void **state)
{
	static const char data[] =
		"a,b\n"                    /* 1 */
		"x\"y,1\n"                 /* 2: bad quoting */
		"ok,2\n"                   /* 3 */
		"\"open,3\n"               /* 4: quote opened ... */
		"more\"\"x,4\n"            /* 5  ... still open */
		"\"\n"                     /* 6  ... closed */
		"bad\xff,5\n"              /* 7: not UTF-8 */
		"ok,6\n"                   /* 8 */
		"\"never closed,7\n";      /* 9 */
	struct rk_csv_opts o;
	char *t;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.check_text = true;
	t = read_all_ways(&o, data, sizeof(data) - 1);
	assert_non_null(strstr(t, "L1:a|b\n"));
	assert_non_null(strstr(t, "P2:bad quoting: a quoted field"));
	assert_non_null(strstr(t, "S2\n"));
	assert_non_null(strstr(t, "L3:ok|2\n"));
	assert_non_null(strstr(t, "L4:open,3\nmore\"x,4\n\n"));
	assert_non_null(strstr(t, "P7:cell 1 is not valid UTF-8"));
	assert_non_null(strstr(t, "L8:ok|6\n"));
	assert_non_null(strstr(t, "P9:unterminated quoted field"));
	free(t);
}

static void test_limits(void **state)
{
	struct rk_csv_opts o;
	struct rk_buf b;
	char *t;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.record.max = 32;
	o.record.name = "TEST_MAX_RECORD";
	o.fields.max = 3;
	rk_buf_init(&b, 1u << 20);
	assert_int_equal(rk_buf_adds(&b, "a,b,c\n"                     /* 1 */
					 "0123456789,0123456789,0123456789,x\n" /* 2: long */
					 "1,\"quoted\n"                 /* 3: long, */
					 "0123456789012345678901234567890123456789\n" /* 4 */
					 "\"\"inside\n"                 /* 5 still quoted */
					 "end\",2\n"                    /* 6 ends */
					 "1,2,3,4\n"                    /* 7: 4 fields */
					 "d,e,f\n"),                    /* 8 */
			 RK_OK);
	t = read_all_ways(&o, b.data, b.len);
	assert_string_equal(t, "L1:a|b|c\n"
			       "P2:record longer than TEST_MAX_RECORD (32 bytes)\nS2\n"
			       "P3:record longer than TEST_MAX_RECORD (32 bytes)\nS3\n"
			       "P7:more than the limit (3) fields\nS7\n"
			       "L8:d|e|f\n");
	free(t);

	/* a huge line without a line break is skipped, not buffered */
	rk_buf_reset(&b);
	assert_int_equal(rk_buf_adds(&b, "a\n"), RK_OK);
	for (int i = 0; i < 10000; i++)
		assert_int_equal(rk_buf_adds(&b, "xxxxxxxxxx"), RK_OK);
	t = read_all_ways(&o, b.data, b.len);
	assert_string_equal(t, "L1:a\nP2:record longer than TEST_MAX_RECORD (32 bytes)\nS2\n");
	free(t);

	/* at most `problems` problems, then one that says the rest was skipped */
	memset(&o, 0, sizeof(o));
	o.problems.max = 2;
	o.problems.name = "TEST_MAX_PROBLEMS";
	t = read_all_ways(&o, "a\"\nb\"\nc\"\nd\n", 12);
	assert_string_equal(t, "P1:bad quoting: a quoted field must end with \" and a \" "
			       "inside it be doubled (\"\")\nS1\n"
			       "P2:bad quoting: a quoted field must end with \" and a \" "
			       "inside it be doubled (\"\")\nS2\n"
			       "P3:more than TEST_MAX_PROBLEMS (2) problems; the rest of "
			       "the file was not read\n");
	free(t);
	rk_buf_release(&b);
}

static void test_cell_and_input_limits(void **state)
{
	struct rk_csv_opts o;
	char *t;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.cell.max = 4;
	o.cell.name = "TEST_MAX_CELL";
	t = read_all_ways(&o, "abcd,e\nabcde,f\n\"ab\ncd\",x\n",
			  strlen("abcd,e\nabcde,f\n\"ab\ncd\",x\n"));
	assert_string_equal(t, "L1:abcd|e\n"
			       "P2:cell 1 longer than TEST_MAX_CELL (4 bytes)\nS2\n"
			       "P3:cell 1 longer than TEST_MAX_CELL (4 bytes)\nS3\n");
	free(t);

	memset(&o, 0, sizeof(o));
	o.input.max = 8;
	o.input.name = "TEST_MAX_INPUT";
	t = read_csv(&o, "a,b\nc,d\ne,f\n", 12, 4);
	assert_string_equal(t, "L1:a|b\nL2:c|d\n"
			       "P3:input larger than TEST_MAX_INPUT (8 bytes); the "
			       "rest was not read\n");
	free(t);
}

/* A caller's own problems count against the same limit. */
static enum rk_err reject_all(void *arg, struct rk_csv *csv,
			      const struct rk_csv_record *rec)
{
	(void)arg;
	return rk_csv_problem(csv, rec->line, "value '%s' refused", rec->field[0]);
}

static void test_caller_problems(void **state)
{
	struct rk_csv_opts o;
	struct transcript t;

	(void)state;
	memset(&o, 0, sizeof(o));
	rk_buf_init(&t.text, 1 << 16);
	o.on_record = reject_all;
	o.on_problem = on_problem;
	o.arg = &t;
	o.problems.max = 1;
	assert_int_equal(rk_csv_read(&o, "a\nb\nc\n", 6), RK_OK);
	assert_string_equal(t.text.data, "P1:value 'a' refused\n"
					 "P2:more than the limit (1) problems; "
					 "the rest of the file was not read\n");
	rk_buf_release(&t.text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_and_chunks),
		cmocka_unit_test(test_delimiter),
		cmocka_unit_test(test_bad_records_continue),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_cell_and_input_limits),
		cmocka_unit_test(test_caller_problems),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
