/* Unit tests for the security.txt parser (RFC 9116): fields, Expires,
 * Canonical, the signature frame, limits, hostile lines. */
#include <stdlib.h>
#include <string.h>

#include "renraku/resolve.h"
#include "testutil.h"

#define NOW 1795169700LL /* 2026-11-20T10:15:00Z */

static enum rk_err parse(const char *text, struct sectxt *st, char *why)
{
	return sectxt_parse(text, strlen(text), st, why, 256);
}

static void test_fields(void **state)
{
	struct sectxt st;
	char why[256];

	(void)state;
	assert_int_equal(parse("# our policy\n"
			       "Contact: https://example.test/report\n"
			       "Contact: mailto:security%40example.test?subject=hi\r\n"
			       "contact: mailto:cert@example.test\n"
			       "Expires: 2027-01-01T00:00:00.000Z\n"
			       "Encryption: https://example.test/pgp-key.txt\n"
			       "Preferred-Languages: JA, en\n"
			       "Canonical: https://example.test/.well-known/security.txt\n"
			       "Policy: https://example.test/policy\n", &st, why), RK_OK);
	assert_int_equal(st.ncontacts, 2);
	assert_string_equal(st.contacts[0], "security@example.test");
	assert_string_equal(st.contacts[1], "cert@example.test");
	assert_int_equal(st.nother_contacts, 1);
	assert_string_equal(st.encryption[0], "https://example.test/pgp-key.txt");
	assert_string_equal(st.lang, "ja");
	assert_int_equal(st.expires, 1798761600LL);
	assert_false(st.is_signed);
	assert_true(sectxt_usable(&st, "https://example.test/.well-known/security.txt",
				  NOW, why, sizeof(why)));
	/* read from another URL than its Canonical names: not trusted */
	assert_false(sectxt_usable(&st, "https://evil.test/.well-known/security.txt",
				   NOW, why, sizeof(why)));
	assert_non_null(strstr(why, "Canonical"));
	/* after its Expires: stale */
	assert_false(sectxt_usable(&st, "https://example.test/.well-known/security.txt",
				   1798761600LL + 1, why, sizeof(why)));
	assert_non_null(strstr(why, "expired"));
	sectxt_release(&st);
}

static void test_rejects(void **state)
{
	struct sectxt st;
	char why[256];

	(void)state;
	assert_int_equal(parse("Contact: mailto:a@b.test\nExpires: 2027-01-01T00:00:00Z\n"
			       "Expires: 2028-01-01T00:00:00Z\n", &st, why), RK_ERR_PARSE);
	assert_non_null(strstr(why, "more than once"));
	assert_int_equal(parse("Contact: mailto:a@b.test\nExpires: tomorrow\n", &st, why),
			 RK_ERR_PARSE);
	assert_non_null(strstr(why, "RFC 3339"));
	assert_int_equal(parse("", &st, why), RK_ERR_PARSE);
	/* no mailto: parsed, but not usable */
	assert_int_equal(parse("Contact: tel:+1-555-0100\n", &st, why), RK_OK);
	assert_false(sectxt_usable(&st, "https://x.test/", NOW, why, sizeof(why)));
	sectxt_release(&st);
	/* bad lines are counted and skipped; header injection never reaches
	 * a contact */
	assert_int_equal(parse("<html><body>Not Found</body></html>\n"
			       "Contact: mailto:a@b.test\rBcc: x@y.test\n"
			       "Contact: mailto:ok@b.test\n", &st, why), RK_OK);
	assert_int_equal(st.ncontacts, 1);
	assert_string_equal(st.contacts[0], "ok@b.test");
	assert_int_equal(st.nrejected, 2);
	sectxt_release(&st);
}

static void test_signed(void **state)
{
	struct sectxt st;
	char why[256];
	const char *good =
		"-----BEGIN PGP SIGNED MESSAGE-----\n"
		"Hash: SHA256\n"
		"\n"
		"Contact: mailto:signed@example.test\n"
		"- -not a field, dash-escaped\n"
		"Expires: 2027-01-01T00:00:00Z\n"
		"-----BEGIN PGP SIGNATURE-----\n"
		"\n"
		"iQEzBAEBCAAdFiEE\n"
		"-----END PGP SIGNATURE-----\n"
		"Contact: mailto:unsigned@evil.test\n";

	(void)state;
	assert_int_equal(parse(good, &st, why), RK_OK);
	assert_true(st.is_signed);
	/* only the signed text counts */
	assert_int_equal(st.ncontacts, 1);
	assert_string_equal(st.contacts[0], "signed@example.test");
	sectxt_release(&st);
	assert_int_equal(parse("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n"
			       "Contact: mailto:a@b.test\n", &st, why), RK_ERR_PARSE);
	assert_non_null(strstr(why, "no signature"));
	assert_int_equal(parse("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n"
			       "Contact: mailto:a@b.test\n-----BEGIN PGP SIGNATURE-----\n"
			       "abc\n", &st, why), RK_ERR_PARSE);
	assert_non_null(strstr(why, "not closed"));
}

static void test_limits(void **state)
{
	struct sectxt st;
	char why[256];
	size_t big = RK_MAX_SECURITY_TXT + 1;
	char *text = malloc(big + 1);

	(void)state;
	assert_non_null(text);
	memset(text, '#', big);
	text[big] = '\0';
	assert_int_equal(sectxt_parse(text, big, &st, why, sizeof(why)), RK_ERR_LIMIT);
	/* a line longer than RK_MAX_SECURITY_TXT_LINE is rejected, the next kept */
	memset(text, 'x', RK_MAX_SECURITY_TXT_LINE + 10);
	memcpy(text, "Contact: mailto:", 16);
	memcpy(text + RK_MAX_SECURITY_TXT_LINE + 10, "\nContact: mailto:a@b.test\n", 27);
	assert_int_equal(parse(text, &st, why), RK_OK);
	assert_int_equal(st.ncontacts, 1);
	assert_int_equal(st.nrejected, 1);
	sectxt_release(&st);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_signed),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
