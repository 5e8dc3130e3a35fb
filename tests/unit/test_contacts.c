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
	assert_int_equal(contacts_read_dir(dir, rk_now(), &quiet, &set), RK_OK);
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
	assert_int_equal(contacts_read_dir(dir, rk_now(), &quiet, &set), RK_OK);
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
	assert_int_equal(contacts_read_dir(dir, rk_now(), &quiet, &set), RK_OK);
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
	assert_int_equal(contacts_read_dir(dir, rk_now(), &quiet, &set), RK_OK);
	assert_int_equal(set.nproblems, 1);
	assert_string_equal(set.problems[0].file, "constituency.csv");
	assert_int_equal(set.problems[0].line, 0);
	contacts_set_release(&set);
	rk_test_rmtree(dir);
	silent.stream = fopen("/dev/null", "w");
	assert_non_null(silent.stream);
	assert_int_equal(contacts_read_dir(dir, rk_now(), &silent, &set), RK_ERR_NOTFOUND);
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
	assert_int_equal(contacts_read_dir(sample_dir, rk_now(), &quiet, &sample), RK_OK);
	assert_int_equal(contacts_read_dir(good_dir, rk_now(), &quiet, &good), RK_OK);

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


/* (C) a format notify does not produce is refused at import, with the
 * list of accepted values; (B) so is a suppression type IntelMQ does not
 * have. */
static void test_formats_and_types(void **state)
{
	struct contacts_set set;

	(void)state;
	parse("constituency",
	      "org,match,email,format\n"
	      "A,AS1,a@a.example,xarf\n"       /* 2 */
	      "A,AS2,a@a.example,json\n"       /* 3 */
	      "A,AS3,a@a.example,csv-inline\n" /* 4 */
	      "A,AS4,a@a.example,\n"           /* 5 */
	      "A,AS5,a@a.example,JSON\n",      /* 6 */
	      &set);
	expect_problem(&set, "constituency.csv", 2,
		       "format 'xarf' is not one renraku produces (accepted: "
		       "csv-attach, csv-inline, json, inline, or empty for "
		       "csv-attach)");
	expect_problem(&set, "constituency.csv", 6, "format 'JSON'");
	assert_int_equal(set.nproblems, 2);
	assert_int_equal(set.ncontacts, 3);
	assert_string_equal(set.contacts[0].format, "json");
	assert_null(set.contacts[2].format);
	contacts_set_release(&set);

	parse("suppress",
	      "match,type,until,reason\n"
	      "AS1,vulnerable-systems,,\n"     /* 2: a typo */
	      "AS2,Vulnerable-System,,\n"      /* 3: case does not matter */
	      "AS3,no-such-type,,\n",          /* 4 */
	      &set);
	expect_problem(&set, "suppress.csv", 2,
		       "type 'vulnerable-systems' is not an IntelMQ classification type");
	expect_problem(&set, "suppress.csv", 4, "type 'no-such-type'");
	assert_int_equal(set.nproblems, 2);
	assert_int_equal(set.nsupps, 1);
	assert_string_equal(set.supps[0].type, "vulnerable-system");
	contacts_set_release(&set);
}

/* ------------------------------------------------------------ keys */

struct keys_fixture {
	char *tmp;       /* the test's directory */
	char home[512];  /* the test's own GnuPG home */
	char dir[512];   /* a contacts directory */
	char keys[512];  /* its keys/ */
};

static void run(const char *fmt, ...) RK_PRINTF(1, 2);
static void run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

static void write_text(const char *dir, const char *name, const char *text)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int keys_setup(void **state)
{
	struct keys_fixture *f = calloc(1, sizeof(*f));
	static const char gen[] =
		"gpg --homedir %s --batch --quiet --passphrase '' %s "
		"--quick-gen-key '%s' %s %s %s 2>/dev/null";
	static const char exp[] =
		"gpg --homedir %s --batch --quiet --armor --export %s > %s/%s";

	if (!f)
		return -1;
	f->tmp = rk_test_tmpdir();
	snprintf(f->home, sizeof(f->home), "%s/g", f->tmp);
	snprintf(f->dir, sizeof(f->dir), "%s/c", f->tmp);
	snprintf(f->keys, sizeof(f->keys), "%s/c/keys", f->tmp);
	run("mkdir -m 700 %s && mkdir -p %s", f->home, f->keys);
	run(gen, f->home, "", "Good <good@a.example>", "future-default", "default", "never");
	run(gen, f->home, "", "Sign <sign@a.example>", "ed25519", "sign", "never");
	run(gen, f->home, "--faked-system-time 20200101T000000",
	    "Old <old@a.example>", "future-default", "default", "1d");
	run(gen, f->home, "", "Short <short@a.example>", "future-default", "default", "1d");
	run(exp, f->home, "good@a.example", f->keys, "good.asc");
	run(exp, f->home, "sign@a.example", f->keys, "sign.asc");
	run(exp, f->home, "old@a.example", f->keys, "old.asc");
	run(exp, f->home, "short@a.example", f->tmp, "short.asc");
	run("gpg --homedir %s --batch --quiet --armor --export good@a.example "
	    "sign@a.example > %s/two.asc", f->home, f->keys);
	run("gpg --homedir %s --batch --quiet --pinentry-mode loopback "
	    "--passphrase '' --armor --export-secret-keys good@a.example > %s/secret.asc",
	    f->home, f->keys);
	run("gpg --homedir %s --batch --quiet --pinentry-mode loopback "
	    "--passphrase '' --export-secret-keys good@a.example > %s/secret-bin.asc",
	    f->home, f->keys);
	run("gpgconf --homedir %s --kill gpg-agent", f->home);
	write_text(f->keys, "garbage.asc", "this is not a key\n");
	write_text(f->keys, "README", "not a key file: ignored\n");
	*state = f;
	return 0;
}

static int keys_teardown(void **state)
{
	struct keys_fixture *f = *state;

	rk_test_rmtree(f->tmp);
	free(f->tmp);
	free(f);
	return 0;
}

static const struct contacts_key *key_named(const struct contacts_set *set,
					    const char *file)
{
	for (size_t i = 0; i < set->nkeys; i++)
		if (strcmp(set->keys[i].file, file) == 0)
			return &set->keys[i];
	fail_msg("no key file %s", file);
	return NULL;
}

/* (D) every key file is checked: only a public key usable for encryption
 * passes; a secret key is refused; a contact stores the fingerprint. */
static void test_key_files(void **state)
{
	struct keys_fixture *f = *state;
	const struct contacts_key *good;
	const struct store_contact *c;
	struct contacts_set set;
	struct rk_buf csv;
	char *fpr;

	rk_buf_init(&csv, 1 << 16);
	assert_int_equal(rk_buf_adds(&csv, "org,match,email,pgp\n"
					   "A,AS1,a@a.example,good.asc\n"     /* 2 */
					   "B,AS2,b@b.example,sign.asc\n"     /* 3 */
					   "C,AS3,c@c.example,old.asc\n"      /* 4 */
					   "D,AS4,d@d.example,secret.asc\n"   /* 5 */
					   "E,AS5,e@e.example,garbage.asc\n"  /* 6 */
					   "F,AS6,f@f.example,missing.asc\n"  /* 7 */
					   "G,AS7,g@g.example,0123456789ABCDEF0123456789ABCDEF01234567\n"),
			 RK_OK);
	write_text(f->dir, "constituency.csv", csv.data);
	assert_int_equal(contacts_read_dir(f->dir, rk_now(), &quiet, &set), RK_OK);

	/* the key files, in name order, README ignored */
	assert_int_equal(set.nkeys, 7);
	assert_string_equal(set.keys[0].file, "garbage.asc");
	good = key_named(&set, "good.asc");
	assert_true(good->usable);
	assert_non_null(good->fpr);
	assert_int_equal(strlen(good->fpr), 40);
	assert_string_equal(good->uid, "Good <good@a.example>");
	assert_null(good->reason);
	expect_problem(&set, "keys/garbage.asc", 0, "no OpenPGP public key in the file");
	expect_problem(&set, "keys/sign.asc", 0, "cannot encrypt");
	expect_problem(&set, "keys/old.asc", 0, "expired on 2020-01-02");
	expect_problem(&set, "keys/two.asc", 0, "holds 2 keys");
	expect_problem(&set, "keys/secret.asc", 0, "holds a SECRET key");
	expect_problem(&set, "keys/secret-bin.asc", 0, "holds a SECRET key");
	assert_null(key_named(&set, "secret.asc")->fpr);

	/* each contact names what is wrong with its key */
	expect_problem(&set, "constituency.csv", 3, "pgp key file 'keys/sign.asc' is unusable");
	expect_problem(&set, "constituency.csv", 4, "expired on 2020-01-02");
	expect_problem(&set, "constituency.csv", 5, "SECRET");
	expect_problem(&set, "constituency.csv", 6, "keys/garbage.asc' is unusable");
	expect_problem(&set, "constituency.csv", 7, "keys/missing.asc' not found");
	expect_problem(&set, "constituency.csv", 8, "no key file in keys/ holds this key");
	assert_int_equal(set.nproblems, 12);

	/* what is stored: the checked key's fingerprint */
	assert_int_equal(set.ncontacts, 1);
	c = find_contact(&set, "AS1");
	assert_non_null(c);
	assert_string_equal(c->pgp, good->fpr);
	fpr = rk_strdup(good->fpr);
	contacts_set_release(&set);

	/* a fingerprint column finds its key in keys/ (any case, spaces) */
	rk_str_lower(fpr);
	rk_buf_reset(&csv);
	assert_int_equal(rk_buf_addf(&csv, "org,match,email,pgp\nA,AS1,a@a.example,"
					   "%.20s %s\n", fpr, fpr + 20), RK_OK);
	write_text(f->dir, "constituency.csv", csv.data);
	assert_int_equal(contacts_read_dir(f->dir, rk_now(), &quiet, &set), RK_OK);
	assert_int_equal(set.ncontacts, 1);
	assert_true(rk_str_ieq(set.contacts[0].pgp, fpr));
	assert_int_equal(set.nproblems, 6); /* the bad key files only */
	contacts_set_release(&set);
	free(fpr);
	rk_buf_release(&csv);
}

/* (D) expiry is judged at `now`, the clock renraku runs with. */
static void test_key_expiry(void **state)
{
	struct keys_fixture *f = *state;
	struct contacts_key k;
	char path[1024];
	int64_t now = rk_now();

	snprintf(path, sizeof(path), "%s/short.asc", f->tmp);
	assert_int_equal(contacts_key_check_file(path, now, &quiet, &k), RK_OK);
	assert_true(k.usable);
	assert_true(k.expires > now);
	contacts_key_release(&k);
	assert_int_equal(contacts_key_check_file(path, now + 2 * 86400, &quiet, &k),
			 RK_OK);
	assert_false(k.usable);
	assert_non_null(strstr(k.reason, "expired"));
	contacts_key_release(&k);
}

/* (D) what notify says for a held AMBER ticket. */
static void test_key_explain(void **state)
{
	struct keys_fixture *f = *state;
	struct contacts_set set;
	struct rk_buf out;
	char *fpr;
	bool usable;

	write_text(f->dir, "constituency.csv", "org,match,email\nA,AS1,a@a.example\n");
	assert_int_equal(contacts_read_dir(f->dir, rk_now(), &quiet, &set), RK_OK);
	fpr = rk_strdup(key_named(&set, "good.asc")->fpr);
	contacts_set_release(&set);

	rk_buf_init(&out, 4096);
	assert_int_equal(contacts_key_explain(f->dir, fpr, rk_now(), &quiet, &out,
					      &usable), RK_OK);
	assert_true(usable);
	assert_non_null(strstr(out.data, fpr));
	assert_non_null(strstr(out.data, "(keys/good.asc, Good <good@a.example>) "
					 "is usable for encryption"));
	rk_buf_reset(&out);
	assert_int_equal(contacts_key_explain(f->dir, "old.asc", rk_now(), &quiet,
					      &out, &usable), RK_OK);
	assert_false(usable);
	assert_non_null(strstr(out.data, "key keys/old.asc is unusable: key "));
	assert_non_null(strstr(out.data, "expired on 2020-01-02"));
	rk_buf_reset(&out);
	assert_int_equal(contacts_key_explain(f->dir, NULL, rk_now(), &quiet, &out,
					      &usable), RK_OK);
	assert_false(usable);
	assert_string_equal(out.data, "no key: the contact has no pgp value");
	rk_buf_reset(&out);
	assert_int_equal(contacts_key_explain(f->dir, "0123456789ABCDEF0123456789ABCDEF01234567",
					      rk_now(), &quiet, &out, &usable), RK_OK);
	assert_false(usable);
	assert_non_null(strstr(out.data, "not found in"));
	rk_buf_release(&out);
	free(fpr);
}

/* (E) what an import adds, changes and removes. */
static void test_diff(void **state)
{
	struct contacts_set before, after;
	struct contacts_changes ch;

	(void)state;
	parse("constituency", "org,match,email,pgp\n"
			      "A,AS1,a@a.example,\n"
			      "B,AS2,b@b.example,0123456789ABCDEF0123456789ABCDEF01234567\n"
			      "C,AS3,c@c.example,0123456789ABCDEF0123456789ABCDEF01234567\n"
			      "D,AS4,d@d.example,\n", &before);
	assert_int_equal(contacts_parse("national-csirts", NULL,
					"country,team,email\nJP,T,t@t.example\n", 36,
					&before), RK_OK);
	assert_int_equal(contacts_parse("suppress", NULL,
					"match,type\nAS1,scanner\nAS2,\n", 28,
					&before), RK_OK);
	parse("constituency", "org,match,email,pgp\n"
			      "\n"
			      "A,AS1,a@a.example,\n"           /* same, other line */
			      "B2,AS2,b@b.example,0123456789ABCDEF0123456789ABCDEF01234567\n"
			      "C,AS3,c@c.example,\n"           /* key removed */
			      "E,AS5,e@e.example,1123456789ABCDEF0123456789ABCDEF01234567\n",
	      &after);
	assert_int_equal(contacts_parse("suppress", NULL,
					"match,type,reason\nAS1,scanner,why\nAS3,,\n",
					40, &after), RK_OK);
	assert_int_equal(after.nsupps, 2);
	assert_int_equal(contacts_diff(before.contacts, before.ncontacts,
				       before.supps, before.nsupps, &after, &ch),
			 RK_OK);
	assert_int_equal(ch.constituency.added, 1);     /* AS5 */
	assert_int_equal(ch.constituency.changed, 2);   /* AS2 org, AS3 pgp */
	assert_int_equal(ch.constituency.removed, 1);   /* AS4 */
	assert_int_equal(ch.constituency.unchanged, 1); /* AS1 */
	assert_int_equal(ch.national.removed, 1);
	assert_int_equal(ch.suppressions.added, 1);
	assert_int_equal(ch.suppressions.changed, 1);
	assert_int_equal(ch.suppressions.removed, 1);
	assert_int_equal(ch.keys.added, 1);
	assert_int_equal(ch.keys.removed, 1);
	assert_int_equal(ch.keys.unchanged, 1);
	assert_int_equal(ch.keys.changed, 0);
	contacts_set_release(&before);
	contacts_set_release(&after);
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
		cmocka_unit_test(test_formats_and_types),
		cmocka_unit_test(test_diff),
	};
	const struct CMUnitTest key_tests[] = {
		cmocka_unit_test(test_key_files),
		cmocka_unit_test(test_key_expiry),
		cmocka_unit_test(test_key_explain),
	};

	int failed = cmocka_run_group_tests(tests, NULL, NULL);

	return failed + cmocka_run_group_tests(key_tests, keys_setup, keys_teardown);
}
