/* The inbound classifier (relay/track/classify.c): classes, what it
 * extracts for matching, remote ticket numbers, limits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renraku/mail.h"
#include "renraku/track.h"
#include "testutil.h"

static void classify(const char *text, struct track_mail *m)
{
	assert_int_equal(track_classify(text, strlen(text), "RENRAKU", m), RK_OK);
}

static void test_samples(void **state)
{
	static const struct {
		const char *file;
		enum track_class cls;
		const char *remote;
	} samples[] = {
		{"bounce-postfix-dsn.eml", TRACK_BOUNCE, NULL},
		{"autoreply-rt.eml", TRACK_AUTO_REPLY, "[isp-b.example #88123]"},
		{"human-reply-ja.eml", TRACK_REPLY, NULL},
	};

	(void)state;
	for (size_t i = 0; i < RK_ARRAY_LEN(samples); i++) {
		char rel[256], *path, *text;
		struct track_mail m;
		size_t len;

		snprintf(rel, sizeof(rel), "tests/fixtures/mail/%s",
			 samples[i].file);
		path = rk_test_source_path(rel);
		text = rk_test_read(path, &len);
		assert_int_equal(track_classify(text, len, "CSIRT-EXAMPLE", &m),
				 RK_OK);
		assert_int_equal(m.cls, samples[i].cls);
		if (samples[i].remote)
			assert_string_equal(m.remote_ticket, samples[i].remote);
		else
			assert_null(m.remote_ticket);
		if (m.cls == TRACK_BOUNCE) {
			assert_int_equal(m.failed.n, 1);
			assert_string_equal(m.failed.item[0], "abuse@isp-a.example");
			assert_string_equal(m.orig_refs.item[0],
					    "<20261121-000001.k3j4h5@csirt.example>");
			assert_string_equal(m.orig_tags.item[0], "20261121-000001");
			/* the folded Diagnostic-Code read whole */
			assert_non_null(strstr(m.status, "local recipient table"));
		}
		if (m.cls == TRACK_REPLY) {
			/* the tag inside the RFC 2047 subject */
			assert_int_equal(m.tags.n, 1);
			assert_string_equal(m.tags.item[0], "20261121-000003");
			assert_string_equal(m.refs.item[0],
					    "<20261121-000003.z1x2c3@csirt.example>");
		}
		track_mail_release(&m);
		free(text);
		free(path);
	}
}

static void test_qmail(void **state)
{
	struct track_mail m;

	(void)state;
	classify("From: MAILER-DAEMON@qmail.example\n"
		 "Subject: failure notice\n\n"
		 "Hi. This is the qmail-send program at qmail.example.\n"
		 "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
		 "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
		 "<gone@qmail.example>:\n"
		 "Sorry, no mailbox here by that name. (#5.1.1)\n\n"
		 "--- Below this line is a copy of the message.\n\n"
		 "Message-ID: <20261121-000009.aa@test.example>\n"
		 "Subject: [RENRAKU #20261121-000009] notice\n",
		 &m);
	assert_int_equal(m.cls, TRACK_BOUNCE);
	assert_int_equal(m.failed.n, 1);
	assert_string_equal(m.failed.item[0], "gone@qmail.example");
	assert_string_equal(m.orig_refs.item[0], "<20261121-000009.aa@test.example>");
	assert_string_equal(m.orig_tags.item[0], "20261121-000009");
	assert_non_null(m.status);
	assert_int_equal(strncmp(m.status, "5.1.1", 5), 0);
	track_mail_release(&m);
}

static void test_auto_replies(void **state)
{
	static const struct {
		const char *headers;
		enum track_class cls;
		const char *remote;
	} cases[] = {
		{"Auto-Submitted: no\nSubject: Re: [RENRAKU #20261121-000001]\n",
		 TRACK_REPLY, NULL},
		{"Auto-Submitted: auto-replied\nSubject: Re: [RENRAKU #20261121-000001]\n",
		 TRACK_AUTO_REPLY, NULL},
		{"Precedence: junk\nSubject: x\n", TRACK_AUTO_REPLY, NULL},
		{"X-Autoreply: yes\nSubject: x\n", TRACK_AUTO_REPLY, NULL},
		{"Subject: =?UTF-8?Q?R=C3=A9ponse_automatique?= : [RENRAKU #20261121-000001]\n",
		 TRACK_AUTO_REPLY, NULL},
		{"Subject: Respuesta =?UTF-8?Q?autom=C3=A1tica?=\n", TRACK_AUTO_REPLY, NULL},
		{"Subject: Automatic reply: [RENRAKU #20261121-000001] x\n",
		 TRACK_AUTO_REPLY, NULL},
		{"Auto-Submitted: auto-replied\nSubject: [RT #4711] AutoReply: [RENRAKU #20261121-000001]\n",
		 TRACK_AUTO_REPLY, "[RT #4711]"},
		{"X-Zendesk-From-Account-Id: 1\nSubject: Request #12345 received: [RENRAKU #20261121-000001]\n",
		 TRACK_AUTO_REPLY, "Request #12345"},
		{"Auto-Submitted: auto-generated\nSubject: [Ticket#2026112110000012] [RENRAKU #20261121-000001]\n",
		 TRACK_AUTO_REPLY, "[Ticket#2026112110000012]"},
		/* our own tag is never taken for a remote ticket */
		{"Auto-Submitted: auto-replied\nSubject: [RENRAKU #20261121-000001]\n",
		 TRACK_AUTO_REPLY, NULL},
		/* a person's reply: no remote ticket is taken */
		{"Subject: Thanks, looking at it [RENRAKU #20261121-000001]\n",
		 TRACK_REPLY, NULL},
	};

	(void)state;
	for (size_t i = 0; i < RK_ARRAY_LEN(cases); i++) {
		char text[1024];
		struct track_mail m;

		snprintf(text, sizeof(text),
			 "From: a@b.example\nMessage-ID: <c%zu@b.example>\n%s\nbody\n",
			 i, cases[i].headers);
		classify(text, &m);
		assert_int_equal(m.cls, cases[i].cls);
		if (cases[i].remote)
			assert_string_equal(m.remote_ticket, cases[i].remote);
		else
			assert_null(m.remote_ticket);
		track_mail_release(&m);
	}
}

static void test_tags(void **state)
{
	struct track_mail m;

	(void)state;
	/* inside another system's subject; not-quite tags refused */
	classify("From: a@b.example\n"
		 "Subject: [isp.example #88123] AutoReply: [renraku #20261121-000042] "
		 "[RENRAKU #2026112-1] [RENRAKU #20261121-] [RENRAKU #20261121-7\n\n",
		 &m);
	assert_int_equal(m.tags.n, 1);
	assert_string_equal(m.tags.item[0], "20261121-000042");
	track_mail_release(&m);
}

static void test_limits(void **state)
{
	struct rk_buf b;
	struct track_mail m;

	(void)state;
	rk_buf_init(&b, 1u << 24);
	assert_int_equal(rk_buf_adds(&b, "From: a@b.example\nReferences:"), RK_OK);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(rk_buf_addf(&b, " <r%d@x.example>", i), RK_OK);
	assert_int_equal(rk_buf_adds(&b, "\nSubject: x\n\n"), RK_OK);
	for (size_t i = 0; i < TRACK_MAX_BODY + 1000; i++)
		assert_int_equal(rk_buf_addc(&b, 'y'), RK_OK);
	assert_int_equal(track_classify(b.data, b.len, "RENRAKU", &m), RK_OK);
	assert_int_equal(m.refs.n, TRACK_MAX_IDS);
	assert_true(strlen(m.body) <= TRACK_MAX_BODY);
	track_mail_release(&m);
	/* nothing that is a message */
	assert_int_equal(track_classify("\x01\x02\x03", 3, "RENRAKU", &m), RK_OK);
	assert_int_equal(m.cls, TRACK_MALFORMED);
	track_mail_release(&m);
	assert_int_equal(track_classify(NULL, 0, "RENRAKU", &m), RK_OK);
	assert_int_equal(m.cls, TRACK_MALFORMED);
	track_mail_release(&m);
	rk_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_samples),
		cmocka_unit_test(test_qmail),
		cmocka_unit_test(test_auto_replies),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_limits),
	};
	int rc;

	mail_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	mail_shutdown();
	return rc;
}
