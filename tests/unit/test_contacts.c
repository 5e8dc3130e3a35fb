/* Unit tests for the contacts directory: reading, checking, storing. */
#include <stdlib.h>
#include <string.h>

#include "renraku/contacts.h"
#include "testutil.h"

static const struct rk_log quiet = {RK_LOG_ERROR, NULL};

static const struct store_contact *find_contact(const struct contacts_set *set,
						const char *match)
{
	for (size_t i = 0; i < set->ncontacts; i++)
		if (strcmp(set->contacts[i].match, match) == 0)
			return &set->contacts[i];
	return NULL;
}

static size_t count_kind(const struct contacts_set *set,
			 enum store_contact_kind kind)
{
	size_t n = 0;

	for (size_t i = 0; i < set->ncontacts; i++)
		n += set->contacts[i].kind == kind;
	return n;
}

/* Fail unless a problem at file:line says text. */
static void expect_problem(const struct contacts_set *set, const char *file,
			   long long line, const char *text)
{
	for (size_t i = 0; i < set->nproblems; i++)
		if (strcmp(set->problems[i].file, file) == 0 &&
		    set->problems[i].line == line &&
		    strstr(set->problems[i].reason, text))
			return;
	for (size_t i = 0; i < set->nproblems; i++)
		print_error("  %s:%lld: %s\n", set->problems[i].file,
			    set->problems[i].line, set->problems[i].reason);
	fail_msg("no problem at %s:%lld says '%s'", file, line, text);
}

static void parse(const char *kind, const char *text, struct contacts_set *set)
{
	memset(set, 0, sizeof(*set));
	assert_int_equal(contacts_parse(kind, NULL, text, strlen(text), set),
			 RK_OK);
}

static void test_sample_dir(void **state)
{
	struct contacts_set set;
	const struct store_contact *c;
	char *dir = rk_test_source_path("contacts");
	int64_t end_of_day;

	(void)state;
	assert_int_equal(contacts_read_dir(dir, &quiet, &set), RK_OK);
	for (size_t i = 0; i < set.nproblems; i++)
		print_error("%s:%lld: %s\n", set.problems[i].file,
			    set.problems[i].line, set.problems[i].reason);
	assert_int_equal(set.nproblems, 0);
	assert_int_equal(count_kind(&set, STORE_CONTACT_CONSTITUENCY), 5);
	assert_int_equal(count_kind(&set, STORE_CONTACT_NATIONAL), 2);
	assert_int_equal(set.nsupps, 1);

	c = find_contact(&set, "192.0.2.0/24");
	assert_non_null(c);
	assert_string_equal(c->org, "ISP A Inc.");
	assert_string_equal(c->email, "noc@isp-a.example");
	assert_string_equal(c->cc, "abuse@isp-a.example");
	assert_null(c->pgp);
	assert_string_equal(c->lang, "ja");
	assert_string_equal(c->format, "csv-inline");
	assert_string_equal(c->notes, "prefers NOC for this block");
	assert_string_equal(c->source, "constituency.csv:3");
	c = find_contact(&set, "bank-example.test");
	assert_non_null(c);
	assert_null(c->format); /* empty: the default */
	assert_null(c->cc);
	assert_string_equal(c->source, "constituency.csv:5");
	assert_non_null(find_contact(&set, "AS64500"));
	assert_non_null(find_contact(&set, "2001:db8:10::/48"));
	c = find_contact(&set, "JP");
	assert_non_null(c);
	assert_int_equal(c->kind, STORE_CONTACT_NATIONAL);
	assert_string_equal(c->org, "JPCERT/CC");
	assert_string_equal(c->email, "info@jpcert.or.jp");
	assert_string_equal(c->lang, "ja");
	assert_string_equal(c->source, "national-csirts.csv:2");
	assert_string_equal(set.supps[0].match, "198.51.100.53");
	assert_string_equal(set.supps[0].type, "vulnerable-system");
	assert_int_equal(rk_time_parse("2027-01-31T23:59:59Z", &end_of_day), RK_OK);
	assert_int_equal(set.supps[0].until, end_of_day);
	assert_string_equal(set.supps[0].reason,
			    "research resolver operated with consent");
	assert_string_equal(set.supps[0].source, "suppress.csv:2");
	contacts_set_release(&set);
	assert_null(set.contacts);
	free(dir);
}

static void test_bad_dir(void **state)
{
	struct contacts_set set;
	char *dir = rk_test_source_path("tests/fixtures/contacts/bad");
	static const struct {
		const char *file;
		long long line;
		const char *text;
	} expected[] = {
		{"constituency.csv", 4, "'192.0.2.300/24' is not an IP address"},
		{"constituency.csv", 5, "192.0.2.1/24 has host bits set"},
		{"constituency.csv", 6, "email 'not-an-address' is not a valid"},
		{"constituency.csv", 7, "email: control character"},
		{"constituency.csv", 9, "org: control character"},
		{"constituency.csv", 11, "duplicate match '192.0.2.0/24' (first at line 3)"},
		{"constituency.csv", 15, "lang 'EN'"},
		{"constituency.csv", 17, "format 'pdf'"},
		{"constituency.csv", 18, "cc 'not valid'"},
		{"constituency.csv", 19, "3 fields, but the header has 8"},
		{"constituency.csv", 20, "bad quoting"},
		{"constituency.csv", 21, "keys/missing.asc' not found"},
		{"national-csirts.csv", 3, "country 'JPN'"},
		{"national-csirts.csv", 4, "duplicate country 'JP' (first at line 2)"},
		{"suppress.csv", 1, "unknown column 'expires'"},
		{"suppress.csv", 3, "until '2027-02-30' is not a date"},
		{"suppress.csv", 4, "until '31/01/2027' is not a date"},
	};
	static const char *const kept[] = {
		"constituency.csv:2", "constituency.csv:3", "constituency.csv:12",
		"constituency.csv:16", "constituency.csv:22",
		"national-csirts.csv:2", "national-csirts.csv:5",
	};
	const struct store_contact *c;

	(void)state;
	assert_int_equal(contacts_read_dir(dir, &quiet, &set), RK_OK);
	for (size_t i = 0; i < RK_ARRAY_LEN(expected); i++)
		expect_problem(&set, expected[i].file, expected[i].line,
			       expected[i].text);
	assert_int_equal(set.nproblems, RK_ARRAY_LEN(expected));
	/* the good lines are kept, with the lines they start on */
	assert_int_equal(set.ncontacts, RK_ARRAY_LEN(kept));
	for (size_t i = 0; i < RK_ARRAY_LEN(kept); i++)
		assert_string_equal(set.contacts[i].source, kept[i]);
	c = find_contact(&set, "multi.example");
	assert_non_null(c);
	assert_string_equal(c->notes, "notes\nspanning\nthree lines");
	c = find_contact(&set, "DE");
	assert_non_null(c); /* "de" upper-cased */
	assert_int_equal(set.nsupps, 2);
	assert_string_equal(set.supps[0].source, "suppress.csv:2");
	assert_string_equal(set.supps[1].match, "*");
	assert_string_equal(set.supps[1].type, "scanner");
	assert_int_equal(set.supps[1].until, 0);
	contacts_set_release(&set);
	free(dir);
}

static void test_good_dir(void **state)
{
	struct contacts_set set;
	const struct store_contact *c;
	char *dir = rk_test_source_path("tests/fixtures/contacts/good");

	(void)state;
	assert_int_equal(contacts_read_dir(dir, &quiet, &set), RK_OK);
	for (size_t i = 0; i < set.nproblems; i++)
		print_error("%s:%lld: %s\n", set.problems[i].file,
			    set.problems[i].line, set.problems[i].reason);
	assert_int_equal(set.nproblems, 0);
	assert_int_equal(count_kind(&set, STORE_CONTACT_CONSTITUENCY), 14);
	assert_int_equal(count_kind(&set, STORE_CONTACT_NATIONAL), 3);
	assert_int_equal(set.nsupps, 4);
	/* BOM, CRLF and a reordered header */
	c = find_contact(&set, "AS64500");
	assert_non_null(c);
	assert_string_equal(c->email, "abuse@isp-a.example");
	assert_string_equal(c->source, "constituency.csv:2");
	/* normalized matches */
	assert_non_null(find_contact(&set, "AS64510"));      /* as64510 */
	assert_non_null(find_contact(&set, "*.cdn.example")); /* *.CDN.example */
	assert_non_null(find_contact(&set, "2001:db8:1::/48"));
	c = find_contact(&set, "xn--r8jz45g.xn--zckzah");
	assert_non_null(c);
	assert_string_equal(c->org, "日本の機関");
	c = find_contact(&set, "secure.example");
	assert_non_null(c);
	assert_string_equal(c->org, "Secure Org, Ltd.");
	assert_string_equal(c->pgp, "13EB26352077B2443DC2C1B4DE7FD034E44026AC");
	assert_string_equal(c->format, "json");
	assert_string_equal(c->notes, "quoted, with a comma and \"quotes\"");
	assert_null(set.supps[1].type);
	assert_null(set.supps[3].type); /* "*" */
	assert_null(set.supps[3].reason);
	contacts_set_release(&set);
	free(dir);
}

static void test_missing(void **state)
{
	struct rk_log silent = {RK_LOG_ERROR, NULL};
	struct contacts_set set;
	char *dir = rk_test_tmpdir();

	(void)state;
	/* an empty directory: the constituency table is required */
	assert_int_equal(contacts_read_dir(dir, &quiet, &set), RK_OK);
	assert_int_equal(set.nproblems, 1);
	assert_string_equal(set.problems[0].file, "constituency.csv");
	assert_int_equal(set.problems[0].line, 0);
	contacts_set_release(&set);
	rk_test_rmtree(dir);
	silent.stream = fopen("/dev/null", "w");
	assert_non_null(silent.stream);
	assert_int_equal(contacts_read_dir(dir, &silent, &set), RK_ERR_NOTFOUND);
	fclose(silent.stream);
	free(dir);
}

static void test_line_numbers(void **state)
{
	struct contacts_set set;

	(void)state;
	parse("constituency",
	      "org,match,email,notes\n"                     /* 1 */
	      "\n"                                          /* 2 */
	      "A,192.0.2.0/25,a@a.example,\"one\n"          /* 3 */
	      "\n"                                          /* 4 */
	      "two\"\n"                                     /* 5 */
	      "   \n"                                       /* 6 */
	      "\"B\nB\",192.0.2.128/25,b@b.example,x\n"     /* 7: bad org */
	      "C,\"AS64500\",\"c@c.example\",\"\"\"q\"\"\"\n" /* 9 */
	      "D,d.example,d@d.example,last line without a newline", /* 10 */
	      &set);
	assert_int_equal(set.ncontacts, 3);
	assert_string_equal(set.contacts[0].source, "constituency.csv:3");
	assert_string_equal(set.contacts[0].notes, "one\n\ntwo");
	assert_string_equal(set.contacts[1].source, "constituency.csv:9");
	assert_string_equal(set.contacts[1].notes, "\"q\"");
	assert_string_equal(set.contacts[2].source, "constituency.csv:10");
	assert_int_equal(set.nproblems, 1);
	expect_problem(&set, "constituency.csv", 7, "org: control character");
	contacts_set_release(&set);

	/* an unterminated quote: reported where its record starts */
	parse("constituency", "org,match,email\nA,AS1,a@a.example\n"
			      "\"B,AS2,b@b.example\nC,AS3,c@c.example\n", &set);
	assert_int_equal(set.ncontacts, 1);
	expect_problem(&set, "constituency.csv", 3, "unterminated quoted field");
	contacts_set_release(&set);

	/* old Mac line ends */
	parse("national-csirts", "country,team,email\rJP,T,t@t.example\r"
				 "XX,U,bad\r", &set);
	assert_int_equal(set.ncontacts, 1);
	expect_problem(&set, "national-csirts.csv", 3, "email 'bad'");
	contacts_set_release(&set);
}

static void test_header(void **state)
{
	struct contacts_set set;

	(void)state;
	parse("constituency", "", &set);
	expect_problem(&set, "constituency.csv", 1, "no header row");
	contacts_set_release(&set);

	parse("constituency", "org,email,colour\nA,a@a.example,red\n", &set);
	expect_problem(&set, "constituency.csv", 1, "unknown column 'colour'");
	assert_non_null(strstr(set.problems[0].reason, "org,match,email,cc"));
	expect_problem(&set, "constituency.csv", 1, "missing column 'match'");
	assert_int_equal(set.ncontacts, 0);
	contacts_set_release(&set);

	parse("constituency", "org,match,email,EMAIL\nA,AS1,a@a.example,b@b.example\n",
	      &set);
	expect_problem(&set, "constituency.csv", 1, "column 'EMAIL' appears twice");
	assert_int_equal(set.ncontacts, 0);
	contacts_set_release(&set);

	/* required values */
	parse("constituency", "org,match,email\n,AS1,a@a.example\nA,,a@a.example\n"
			      "A,AS2,\n", &set);
	expect_problem(&set, "constituency.csv", 2, "org is empty");
	expect_problem(&set, "constituency.csv", 3, "match is empty");
	expect_problem(&set, "constituency.csv", 4, "email is empty");
	contacts_set_release(&set);
	assert_int_equal(contacts_parse("bogus", NULL, "", 0, &set), RK_ERR_INVAL);
}

static void test_values(void **state)
{
	struct contacts_set set;

	(void)state;
	parse("constituency",
	      "org,match,email,cc,pgp,lang\n"
	      "A,*,a@a.example,,,\n"                               /* 2 */
	      "A,*.*.example,a@a.example,,,\n"                     /* 3 */
	      "A,localhost,a@a.example,,,\n"                       /* 4 */
	      "A,AS0,a@a.example,,,\n"                             /* 5 */
	      "A,192.0.2.0/33,a@a.example,,,\n"                    /* 6 */
	      "A,2001:db8::1/32,a@a.example,,,\n"                  /* 7 */
	      "A,a.example,a@a.example,\"b@b.example,,c@c.example\",,\n" /* 8 */
	      "A,b.example,a@a.example,,not a key,\n"               /* 9 */
	      "A,c.example,a@a.example,,0123 4567 89ab CDEF 0123 4567 89AB CDEF 0123 4567,ja\n" /* 10 */
	      "A,d.example,a@a.example,,,english\n"                /* 11 */
	      "A,e.example,<a@a.example>,,,\n"                     /* 12 */
	      "A,f.example,a@a.example, b@b.example ; c@c.example,,\n" /* 13 */
	      "A,2001:db8::,a@a.example,,,\n",                     /* 14 */
	      &set);
	expect_problem(&set, "constituency.csv", 2, "only allowed in suppress.csv");
	expect_problem(&set, "constituency.csv", 3, "wildcard is only allowed as a leading");
	expect_problem(&set, "constituency.csv", 4, "'localhost' is not a CIDR prefix, AS number or domain name");
	expect_problem(&set, "constituency.csv", 5, "'AS0' is not an AS number");
	expect_problem(&set, "constituency.csv", 6, "prefix length must be 0 to 32");
	expect_problem(&set, "constituency.csv", 7,
		       "2001:db8::1/32 has host bits set (the network is 2001:db8::/32)");
	expect_problem(&set, "constituency.csv", 8, "cc has an empty address");
	expect_problem(&set, "constituency.csv", 9, "pgp 'not a key'");
	expect_problem(&set, "constituency.csv", 11, "lang 'english'");
	expect_problem(&set, "constituency.csv", 12, "email '<a@a.example>'");
	expect_problem(&set, "constituency.csv", 13, "cc 'b@b.example ; c@c.example'");
	assert_int_equal(set.nproblems, 11);
	assert_int_equal(set.ncontacts, 2);
	assert_string_equal(set.contacts[0].pgp,
			    "0123456789ABCDEF0123456789ABCDEF01234567");
	assert_string_equal(set.contacts[1].match, "2001:db8::"); /* a host */
	contacts_set_release(&set);

	parse("suppress",
	      "match,type,until,reason\n"
	      "*,,,\n"
	      "*,scanner,2026-12-31,x\n"
	      "*,Scanner!,,\n"
	      "AS64500,,2026-1-1,\n"
	      "*, * ,,dup\n"
	      "192.0.2.0/24,scanner,,\"line\nbreak\"\n",
	      &set);
	assert_int_equal(set.nsupps, 2);
	expect_problem(&set, "suppress.csv", 4, "type 'Scanner!'");
	expect_problem(&set, "suppress.csv", 5, "until '2026-1-1'");
	expect_problem(&set, "suppress.csv", 6, "duplicate rule for '* type *' (first at line 2)");
	expect_problem(&set, "suppress.csv", 7, "reason: control character");
	contacts_set_release(&set);
}

/* What a notice needs of a contact is checked at import, not found out
 * when every notice to it is refused. */
static void test_mail_limits(void **state)
{
	struct contacts_set set;
	struct rk_buf b;

	(void)state;
	rk_buf_init(&b, 1 << 20);
	assert_int_equal(rk_buf_adds(&b, "org,match,email,cc\n"), RK_OK);
	for (int i = 0; i < 300; i++)
		assert_int_equal(rk_buf_addc(&b, 'O'), RK_OK);
	assert_int_equal(rk_buf_adds(&b, ",AS1,a@a.example,\nB,AS2,b@b.example,\""), RK_OK);
	for (int i = 0; i < 101; i++)
		assert_int_equal(rk_buf_addf(&b, "%sc%d@c.example", i ? "," : "", i), RK_OK);
	assert_int_equal(rk_buf_adds(&b, "\"\nC,AS3,c@under_score.example,\n"), RK_OK);
	parse("constituency", b.data, &set);
	assert_int_equal(set.ncontacts, 0);
	expect_problem(&set, "constituency.csv", 2, "RK_MAX_ORG");
	expect_problem(&set, "constituency.csv", 3, "RK_MAX_CC");
	expect_problem(&set, "constituency.csv", 4, "under_score");
	contacts_set_release(&set);
	rk_buf_release(&b);
}

static void test_limits(void **state)
{
	static const char with_nul[] = "org,match,email\nA,AS1,a\0@a.example\n";
	struct contacts_set set;
	struct rk_buf b;
	char *big;

	(void)state;
	/* not UTF-8: the whole file is rejected, naming the line */
	parse("constituency", "org,match,email\nA,AS1,a@a.example\nB\xff,AS2,b@b.example\n",
	      &set);
	assert_int_equal(set.ncontacts, 0);
	expect_problem(&set, "constituency.csv", 3, "not valid UTF-8");
	contacts_set_release(&set);
	memset(&set, 0, sizeof(set));
	assert_int_equal(contacts_parse("constituency", NULL, with_nul,
					sizeof(with_nul) - 1, &set), RK_OK);
	expect_problem(&set, "constituency.csv", 2, "NUL byte");
	contacts_set_release(&set);

	/* a record over RK_MAX_CSV_LINE, inside quotes across lines */
	rk_buf_init(&b, 1u << 20);
	assert_int_equal(rk_buf_adds(&b, "org,match,email,notes\nA,AS1,a@a.example,\""), RK_OK);
	for (int i = 0; i < 2000; i++)
		assert_int_equal(rk_buf_adds(&b, "0123456789012345678901234567890123456789\n"), RK_OK);
	assert_int_equal(rk_buf_adds(&b, "\"\nB,AS2,b@b.example,ok\n"), RK_OK);
	parse("constituency", b.data, &set);
	expect_problem(&set, "constituency.csv", 2, "RK_MAX_CSV_LINE");
	assert_int_equal(set.ncontacts, 1);
	assert_string_equal(set.contacts[0].source, "constituency.csv:2003");
	contacts_set_release(&set);

	/* more than RK_MAX_CSV_FIELDS fields */
	rk_buf_reset(&b);
	assert_int_equal(rk_buf_adds(&b, "org,match,email\nA"), RK_OK);
	for (int i = 0; i < RK_MAX_CSV_FIELDS; i++)
		assert_int_equal(rk_buf_addc(&b, ','), RK_OK);
	assert_int_equal(rk_buf_adds(&b, "\nB,AS2,b@b.example\n"), RK_OK);
	parse("constituency", b.data, &set);
	expect_problem(&set, "constituency.csv", 2, "RK_MAX_CSV_FIELDS");
	assert_int_equal(set.ncontacts, 1);
	contacts_set_release(&set);

	/* at most RK_MAX_ERRORS_LISTED problems per file */
	rk_buf_reset(&b);
	assert_int_equal(rk_buf_adds(&b, "org,match,email\n"), RK_OK);
	for (int i = 0; i < 1500; i++)
		assert_int_equal(rk_buf_adds(&b, "A,AS1,bad\n"), RK_OK);
	parse("constituency", b.data, &set);
	assert_int_equal(set.nproblems, RK_MAX_ERRORS_LISTED + 1);
	assert_non_null(strstr(set.problems[RK_MAX_ERRORS_LISTED].reason,
			       "RK_MAX_ERRORS_LISTED"));
	contacts_set_release(&set);
	rk_buf_release(&b);

	/* a file over RK_MAX_CONTACTS_FILE */
	big = malloc((size_t)RK_MAX_CONTACTS_FILE + 1);
	assert_non_null(big);
	memset(big, 'a', (size_t)RK_MAX_CONTACTS_FILE + 1);
	memset(&set, 0, sizeof(set));
	assert_int_equal(contacts_parse("suppress", "s.csv", big,
					(size_t)RK_MAX_CONTACTS_FILE + 1, &set),
			 RK_OK);
	assert_int_equal(set.nproblems, 1);
	assert_string_equal(set.problems[0].file, "s.csv");
	assert_non_null(strstr(set.problems[0].reason, "RK_MAX_CONTACTS_FILE"));
	contacts_set_release(&set);
	free(big);
}

static void test_store(void **state)
{
	struct contacts_set sample, good;
	struct store_contact *rows;
	struct store_suppression *supps;
	struct rk_store *store;
	char *tmp = rk_test_tmpdir();
	char *sample_dir = rk_test_source_path("contacts");
	char *good_dir = rk_test_source_path("tests/fixtures/contacts/good");
	size_t n, ns;

	(void)state;
	store = rk_test_store(tmp, &quiet);
	assert_int_equal(contacts_read_dir(sample_dir, &quiet, &sample), RK_OK);
	assert_int_equal(contacts_read_dir(good_dir, &quiet, &good), RK_OK);

	assert_int_equal(store_contacts_load(store, &rows, &n), RK_OK);
	assert_int_equal(n, 0);
	store_contacts_free(rows, n);

	assert_int_equal(store_contacts_replace(store, sample.contacts,
						sample.ncontacts, sample.supps,
						sample.nsupps), RK_OK);
	assert_int_equal(store_contacts_load(store, &rows, &n), RK_OK);
	assert_int_equal(n, 7);
	for (size_t i = 0; i < n; i++) {
		const struct store_contact *a = &sample.contacts[i], *b = &rows[i];

		assert_true(b->id > 0);
		assert_int_equal(a->kind, b->kind);
		assert_string_equal(a->org, b->org);
		assert_string_equal(a->match, b->match);
		assert_string_equal(a->email, b->email);
		assert_string_equal(a->source, b->source);
		if (a->cc)
			assert_string_equal(a->cc, b->cc);
		else
			assert_null(b->cc);
		if (a->format)
			assert_string_equal(a->format, b->format);
		else
			assert_null(b->format);
	}
	store_contacts_free(rows, n);
	assert_int_equal(store_suppressions_load(store, &supps, &ns), RK_OK);
	assert_int_equal(ns, 1);
	assert_string_equal(supps[0].type, "vulnerable-system");
	assert_int_equal(supps[0].until, sample.supps[0].until);
	store_suppressions_free(supps, ns);

	/* a second import replaces the whole set */
	assert_int_equal(store_contacts_replace(store, good.contacts,
						good.ncontacts, good.supps,
						good.nsupps), RK_OK);
	assert_int_equal(store_contacts_load(store, &rows, &n), RK_OK);
	assert_int_equal(n, 17);
	assert_string_equal(rows[0].source, "constituency.csv:2");
	store_contacts_free(rows, n);
	assert_int_equal(store_suppressions_load(store, &supps, &ns), RK_OK);
	assert_int_equal(ns, 4);
	assert_null(supps[1].type);
	store_suppressions_free(supps, ns);

	/* and an empty set empties it */
	assert_int_equal(store_contacts_replace(store, NULL, 0, NULL, 0), RK_OK);
	assert_int_equal(store_contacts_load(store, &rows, &n), RK_OK);
	assert_int_equal(n, 0);
	store_contacts_free(rows, n);

	contacts_set_release(&sample);
	contacts_set_release(&good);
	store_close(store);
	rk_test_rmtree(tmp);
	free(tmp);
	free(sample_dir);
	free(good_dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample_dir),
		cmocka_unit_test(test_bad_dir),
		cmocka_unit_test(test_good_dir),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_line_numbers),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_mail_limits),
		cmocka_unit_test(test_store),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
