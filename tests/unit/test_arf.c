/* Unit tests for relay/ingest/arf.c: ARF, X-ARF 0.2 and XARF v4 abuse
 * mail in, events and rejected parts out. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renraku/ingest.h"
#include "renraku/mail.h"
#include "testutil.h"

/* 2026-11-21T00:00:00Z: a day after the samples. */
#define NOW 1795219200LL

struct fixture {
	char *dir;
	struct rk_log log;
	struct rk_config cfg;
	struct ingest_options opts;
	struct ingest_result res;
	struct store_event *events;
	size_t n;
	json_t *data; /* events[0].data parsed */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = rk_test_tmpdir();
	rk_log_init(&f->log, RK_LOG_ERROR);
	f->log.stream = fopen("/dev/null", "w");
	rk_test_config(&f->cfg);
	f->opts.format = INGEST_FORMAT_AUTO;
	f->opts.now = NOW;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	json_decref(f->data);
	store_events_free(f->events, f->n);
	ingest_result_release(&f->res);
	rk_config_release(&f->cfg);
	if (f->log.stream)
		fclose(f->log.stream);
	rk_test_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static enum rk_err read_path(struct fixture *f, const char *path)
{
	enum rk_err err = ingest_file_events(&f->cfg, &f->log, &f->opts, path,
					     &f->events, &f->n, &f->res);

	if (f->n)
		f->data = json_loads(f->events[0].data, 0, NULL);
	return err;
}

static enum rk_err read_fixture(struct fixture *f, const char *name)
{
	char *dir = rk_test_source_path("tests/fixtures/mail"), *path = NULL;
	enum rk_err err;

	assert_int_equal(rk_path_join(dir, name, &path), RK_OK);
	err = read_path(f, path);
	free(path);
	free(dir);
	return err;
}

/* Write text to DIR/name and read it. */
static enum rk_err read_text(struct fixture *f, const char *name,
			     const char *text, size_t len)
{
	char *path = NULL;
	FILE *fp;
	enum rk_err err;

	assert_int_equal(rk_path_join(f->dir, name, &path), RK_OK);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	fclose(fp);
	err = read_path(f, path);
	free(path);
	return err;
}

static const char *text_of(struct fixture *f, const char *key)
{
	return json_string_value(json_object_get(f->data, key));
}

static void test_arf_sample(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(read_fixture(f, "arf-abuse-report.eml"), RK_OK);
	assert_int_equal(f->n, 1);
	assert_int_equal(f->res.rejected, 0);
	assert_string_equal(f->events[0].source_ip, "192.0.2.25");
	assert_string_equal(f->events[0].source_fqdn, "spam-origin.example");
	assert_string_equal(f->events[0].source_url,
			    "http://spam-origin.example/earn");
	assert_string_equal(f->events[0].type, "spam");
	assert_string_equal(text_of(f, "time.source"),
			    "2026-11-20T08:14:21+00:00");
	assert_string_equal(text_of(f, "extra.original_mail_from"),
			    "<somespammer@spam-origin.example>");
	assert_string_equal(text_of(f, "extra.feedback_type"), "abuse");
	assert_non_null(strstr(text_of(f, "extra.evidence"),
			       "Subject: Earn money"));
}

static void test_xarf_sample(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(read_fixture(f, "xarf-0.2-login-attack.eml"), RK_OK);
	assert_int_equal(f->n, 1);
	assert_string_equal(f->events[0].source_ip, "198.51.100.77");
	assert_string_equal(f->events[0].type, "brute-force");
	assert_int_equal(json_integer_value(json_object_get(f->data,
							    "source.port")),
			 22);
	assert_string_equal(text_of(f, "protocol.application"), "ssh");
	assert_string_equal(text_of(f, "time.source"),
			    "2026-11-20T09:00:00+00:00");
	assert_non_null(strstr(text_of(f, "extra.evidence"),
			       "Failed password for root"));
}

static void test_arf_01_rfc822_headers(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(read_fixture(f, "arf-0.1-headers.eml"), RK_OK);
	assert_int_equal(f->n, 1);
	assert_string_equal(f->events[0].source_ip, "203.0.113.9");
	assert_string_equal(f->events[0].type, "malware-distribution");
	/* Received-Date when there is no Arrival-Date. */
	assert_string_equal(text_of(f, "time.source"),
			    "2026-11-19T06:59:00+00:00");
	assert_non_null(strstr(text_of(f, "extra.evidence"),
			       "From: <worm@infected.example>"));
}

static void test_xarf_v4_json(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(read_fixture(f, "xarf-v4-json.eml"), RK_OK);
	assert_int_equal(f->n, 1);
	assert_string_equal(f->events[0].source_ip, "198.51.100.12");
	assert_string_equal(f->events[0].type, "scanner");
	assert_string_equal(text_of(f, "feed.name"), "XARF");
	assert_string_equal(text_of(f, "extra.reporter_org"), "Scanner Watch");
}

static void test_xarf_multi_with_bad_part(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(read_fixture(f, "xarf-0.2-multi.eml"), RK_OK);
	assert_int_equal(f->n, 2);
	assert_string_equal(f->events[0].type, "phishing");
	assert_string_equal(f->events[0].source_url,
			    "http://phish.example/login");
	assert_string_equal(f->events[1].type, "spam");
	assert_string_equal(f->events[1].source_fqdn, "spammer.example");
	assert_int_equal(f->res.rejected, 1);
	assert_int_equal(f->res.errors[0].line, 3);
	assert_string_equal(f->res.errors[0].reason,
			    "part 3: X-ARF report without Source or "
			    "Source-Type");
}

static void test_not_a_report(void **state)
{
	struct fixture *f = *state;

	f->opts.format = INGEST_FORMAT_ARF;
	assert_int_equal(read_fixture(f, "not-a-report.eml"), RK_ERR_PARSE);
	assert_int_equal(f->n, 0);
	assert_int_equal(f->res.nerrors, 1);
	assert_int_equal(f->res.errors[0].line, 0);
	assert_non_null(strstr(f->res.errors[0].reason,
			       "not an abuse report mail"));
}

static void test_feedback_without_type_or_subject(void **state)
{
	struct fixture *f = *state;
	static const char mail[] =
		"From: a@example.org\nMIME-Version: 1.0\n"
		"Content-Type: multipart/report; report-type=feedback-report; "
		"boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\nx\n"
		"--b\nContent-Type: message/feedback-report\n\n"
		"User-Agent: x\nVersion: 1\nSource-IP: 192.0.2.1\n\n"
		"--b\nContent-Type: message/feedback-report\n\n"
		"Feedback-Type: abuse\nVersion: 1\n"
		"Arrival-Date: Thu, 20 Nov 2026 08:14:21 +0000\n\n"
		"--b\nContent-Type: message/feedback-report\n\n"
		"Feedback-Type: not-spam\nSource-IP: 192.0.2.1\n\n--b--\n";

	assert_int_equal(read_text(f, "bad.eml", mail, sizeof(mail) - 1),
			 RK_ERR_PARSE);
	assert_int_equal(f->res.rejected, 4);
	assert_int_equal(f->res.errors[0].line, 2);
	assert_string_equal(f->res.errors[0].reason,
			    "part 2: feedback report without Feedback-Type");
	assert_int_equal(f->res.errors[1].line, 3);
	assert_non_null(strstr(f->res.errors[1].reason, "without Source-IP"));
	assert_non_null(strstr(f->res.errors[2].reason,
			       "'not-spam' does not report an incident"));
}

static void test_evidence_cut(void **state)
{
	struct fixture *f = *state;
	static const char head[] =
		"From: a@example.org\nMIME-Version: 1.0\n"
		"Content-Type: multipart/report; report-type=feedback-report; "
		"boundary=\"b\"\n\n--b\nContent-Type: message/feedback-report\n\n"
		"Feedback-Type: abuse\nSource-IP: 192.0.2.1\n"
		"Arrival-Date: Thu, 20 Nov 2026 08:14:21 +0000\n\n"
		"--b\nContent-Type: message/rfc822\n\nSubject: big\n\n";
	size_t body = 3 * RK_MAX_EVIDENCE, len = sizeof(head) - 1 + body + 6;
	char *mail = malloc(len + 1);

	assert_non_null(mail);
	memcpy(mail, head, sizeof(head) - 1);
	for (size_t i = 0; i < body; i++)
		mail[sizeof(head) - 1 + i] = (i % 64 == 63) ? '\n' : 'e';
	memcpy(mail + sizeof(head) - 1 + body, "\n--b--", 6);
	assert_int_equal(read_text(f, "big.eml", mail, len), RK_OK);
	assert_int_equal(f->n, 1);
	assert_true(strlen(text_of(f, "extra.evidence")) <= RK_MAX_EVIDENCE);
	assert_true(strlen(text_of(f, "extra.evidence")) > RK_MAX_EVIDENCE / 2);
	assert_true(json_is_true(json_object_get(f->data,
						 "extra.evidence_truncated")));
	/* [ingest] max_evidence sets the cut */
	json_decref(f->data);
	f->data = NULL;
	store_events_free(f->events, f->n);
	f->events = NULL;
	f->n = 0;
	f->cfg.ingest.max_evidence = 1024;
	assert_int_equal(read_text(f, "big.eml", mail, len), RK_OK);
	free(mail);
	assert_int_equal(f->n, 1);
	assert_true(strlen(text_of(f, "extra.evidence")) <= 1024);
	assert_true(strlen(text_of(f, "extra.evidence")) > 512);
	assert_true(json_is_true(json_object_get(f->data,
						 "extra.evidence_truncated")));
}

static void test_nesting_refused(void **state)
{
	struct fixture *f = *state;
	struct rk_buf mail;

	rk_buf_init(&mail, 1u << 20);
	assert_int_equal(rk_buf_adds(&mail, "From: a@example.org\n"
					    "MIME-Version: 1.0\nX-XARF: PLAIN\n"),
			 RK_OK);
	for (int i = 0; i < 40; i++)
		assert_int_equal(rk_buf_addf(&mail,
					     "Content-Type: multipart/mixed; "
					     "boundary=\"b%d\"\n\n--b%d\n",
					     i, i),
				 RK_OK);
	assert_int_equal(rk_buf_adds(&mail, "Content-Type: text/plain\n\nx\n"),
			 RK_OK);
	assert_int_equal(read_text(f, "deep.eml", mail.data, mail.len),
			 RK_ERR_PARSE);
	rk_buf_release(&mail);
	assert_non_null(strstr(f->res.errors[0].reason, "RK_MAX_ARF_DEPTH"));
}

static void test_format_names(void **state)
{
	enum ingest_format fmt = INGEST_FORMAT_AUTO;

	(void)state;
	assert_true(ingest_format_lookup("arf", &fmt));
	assert_int_equal(fmt, INGEST_FORMAT_ARF);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_arf_sample),
		T(test_xarf_sample),
		T(test_arf_01_rfc822_headers),
		T(test_xarf_v4_json),
		T(test_xarf_multi_with_bad_part),
		T(test_not_a_report),
		T(test_feedback_without_type_or_subject),
		T(test_evidence_cut),
		T(test_nesting_refused),
		cmocka_unit_test(test_format_names),
	};

	mail_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
