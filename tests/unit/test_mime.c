/* Unsigned notices ([gpg] mode = none): headers, MIME structure,
 * encodings, limits, and refusals. */
#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>

#include "renraku/mail.h"
#include "testutil.h"

static void sample_mail(struct mail_message *m)
{
	memset(m, 0, sizeof(*m));
	m->from_name = "Example CSIRT";
	m->from_addr = "csirt@example.org";
	m->to_name = "ネットワーク管理者";
	m->to_addr = "abuse@example.net";
	m->subject = "[RENRAKU #20261120-000001] Infected system";
	m->message_id = "<20261120-000001.0123456789abcdef@example.org>";
	m->date = 1795169700;
	m->body = "Hello,\n\nFrom our sensors: 192.0.2.10.\n";
}

static GMimeMessage *parse(const struct rk_buf *msg)
{
	return rk_test_parse_mail(msg->data, msg->len);
}

/* The header block of the wire form (up to the blank line). */
static char *header_block(const struct rk_buf *msg)
{
	const char *end = strstr(msg->data, "\r\n\r\n");

	assert_non_null(end);
	return rk_strndup(msg->data, (size_t)(end - msg->data) + 2);
}

static void assert_wire_lines(const struct rk_buf *msg)
{
	size_t line = 0;

	assert_memory_equal(msg->data + msg->len - 2, "\r\n", 2);
	for (size_t i = 0; i < msg->len; i++) {
		if (msg->data[i] == '\r') {
			assert_int_equal(msg->data[i + 1], '\n');
			i++;
			line = 0;
			continue;
		}
		assert_int_not_equal(msg->data[i], '\n');
		assert_true((unsigned char)msg->data[i] < 0x80);
		assert_true(++line <= 998);
	}
}

static void test_headers(void **state)
{
	struct mail_message m;
	struct rk_buf msg;
	GMimeMessage *parsed;
	InternetAddressList *to;
	char *hdr;

	(void)state;
	sample_mail(&m);
	m.cc = " noc@example.net ,, sec@example.com ";
	m.reply_to = "reply@example.org";
	m.in_reply_to = "<a.1@example.org>";
	m.references = "<root@example.org> <a.1@example.org>";
	m.ticket_id = "20261120-000001";
	m.ack_url = "https://renraku.example.org/ack/20261120-000001/tok";
	rk_buf_init(&msg, RK_MAX_MESSAGE);
	assert_int_equal(mail_build(NULL, &m, &msg), RK_OK);
	assert_wire_lines(&msg);
	hdr = header_block(&msg);
	assert_non_null(strstr(hdr, "Date: Fri, 20 Nov 2026 10:15:00 +0000\r\n"));
	assert_non_null(strstr(hdr, "From: Example CSIRT <csirt@example.org>\r\n"));
	assert_non_null(strstr(hdr, "Cc: noc@example.net, sec@example.com\r\n"));
	assert_non_null(strstr(hdr, "Reply-To: reply@example.org\r\n"));
	assert_non_null(strstr(hdr, "Subject: [RENRAKU #20261120-000001] "
				    "Infected system\r\n"));
	assert_non_null(strcasestr(hdr, "Message-ID: <20261120-000001."
					"0123456789abcdef@example.org>\r\n"));
	assert_non_null(strstr(hdr, "In-Reply-To: <a.1@example.org>\r\n"));
	assert_non_null(strstr(hdr, "References: <root@example.org> "
				    "<a.1@example.org>\r\n"));
	assert_non_null(strstr(hdr, "Auto-Submitted: auto-generated\r\n"));
	assert_non_null(strstr(hdr, "X-Renraku-Ticket: 20261120-000001\r\n"));
	assert_non_null(strstr(hdr, "X-Renraku-Ack: <https://renraku.example.org"
				    "/ack/20261120-000001/tok>\r\n"));
	assert_non_null(strstr(hdr, "MIME-Version: 1.0\r\n"));
	assert_non_null(strstr(hdr, "Content-Type: text/plain; charset=utf-8\r\n"));
	assert_non_null(strstr(hdr, "Content-Transfer-Encoding: quoted-printable\r\n"));
	assert_null(strstr(hdr, "Bcc"));
	/* the Japanese display name is RFC 2047 encoded and decodes back */
	parsed = parse(&msg);
	to = g_mime_message_get_addresses(parsed, GMIME_ADDRESS_TYPE_TO);
	assert_int_equal(internet_address_list_length(to), 1);
	assert_string_equal(internet_address_get_name(
				    internet_address_list_get_address(to, 0)),
			    "ネットワーク管理者");
	assert_string_equal(g_mime_message_get_message_id(parsed),
			    "20261120-000001.0123456789abcdef@example.org");
	g_object_unref(parsed);
	free(hdr);
	rk_buf_release(&msg);
}

static void test_body_qp(void **state)
{
	struct mail_message m;
	struct rk_buf msg, crlf, line;
	GMimeMessage *parsed;
	char *text;

	(void)state;
	rk_buf_init(&msg, RK_MAX_MESSAGE);
	rk_buf_init(&crlf, RK_MAX_MESSAGE);
	rk_buf_init(&line, 1 << 16);
	for (int i = 0; i < 300; i++)
		assert_int_equal(rk_buf_adds(&line, "長い行 "), RK_OK);
	sample_mail(&m);
	assert_int_equal(rk_buf_addf(&line, "\nFrom here on\n. \n=?x?=\ttab\n"),
			 RK_OK);
	m.body = line.data;
	m.subject = "件名: 日本語の件名とタグ [RENRAKU #20261120-000001]";
	assert_int_equal(mail_build(NULL, &m, &msg), RK_OK);
	assert_wire_lines(&msg);
	assert_non_null(strstr(msg.data, "\r\n=46rom here on\r\n"));
	assert_null(strstr(msg.data, "\r\nFrom here"));
	parsed = parse(&msg);
	assert_string_equal(g_mime_message_get_subject(parsed), m.subject);
	text = g_mime_text_part_get_text(
		GMIME_TEXT_PART(g_mime_message_get_mime_part(parsed)));
	/* decoded with CRLF line ends: compare without the CRs */
	{
		char *w = text;

		for (char *r = text; *r; r++)
			if (!(r[0] == '\r' && r[1] == '\n'))
				*w++ = *r;
		*w = '\0';
	}
	assert_string_equal(text, line.data);
	g_free(text);
	g_object_unref(parsed);

	/* CRLF in the body gives the same message as LF */
	{
		struct rk_buf body;

		rk_buf_init(&body, 1 << 16);
		for (const char *p = line.data; *p; p++) {
			if (*p == '\n')
				assert_int_equal(rk_buf_addc(&body, '\r'), RK_OK);
			assert_int_equal(rk_buf_addc(&body, *p), RK_OK);
		}
		m.body = body.data;
		assert_int_equal(mail_build(NULL, &m, &crlf), RK_OK);
		assert_int_equal(crlf.len, msg.len);
		assert_memory_equal(crlf.data, msg.data, msg.len);
		rk_buf_release(&body);
	}
	rk_buf_release(&msg);
	rk_buf_release(&crlf);
	rk_buf_release(&line);
}

/* The last line survives whatever it starts with (GMime's From filter
 * drops a last line starting with "F"; renraku does not use it). */
static void test_body_last_line(void **state)
{
	static const char *const bodies[] = {
		"F", "F#", "From us", "Fr\n", "a\nFrom the CSIRT", "x\nF",
		/* fits in Latin-1: must stay UTF-8 all the same */
		"café, Größe, ÅÆØ\n", "a\x7f" "d\xc2\x85\x01" "b\n"};
	struct mail_message m;
	struct rk_buf msg;

	(void)state;
	rk_buf_init(&msg, RK_MAX_MESSAGE);
	for (size_t i = 0; i < RK_ARRAY_LEN(bodies); i++) {
		GMimeMessage *parsed;
		char *text, *w;
		size_t n = strlen(bodies[i]);

		rk_buf_reset(&msg);
		sample_mail(&m);
		m.body = bodies[i];
		assert_int_equal(mail_build(NULL, &m, &msg), RK_OK);
		parsed = parse(&msg);
		text = g_mime_text_part_get_text(
			GMIME_TEXT_PART(g_mime_message_get_mime_part(parsed)));
		w = text;
		for (char *r = text; *r; r++)
			if (*r != '\r')
				*w++ = *r;
		*w = '\0';
		assert_int_equal(strncmp(text, bodies[i], n), 0);
		assert_string_equal(text + n, bodies[i][n - 1] == '\n' ? "" : "\n");
		g_free(text);
		g_object_unref(parsed);
	}
	rk_buf_release(&msg);
}

static void test_attachment(void **state)
{
	static const char csv[] = "a,b\r\n\"x,y\",'=1\r\n";
	struct mail_message m;
	struct rk_buf msg;
	GMimeMessage *parsed;
	GMimeObject *top, *att;
	GMimeContentType *ct;
	GMimeStream *mem;
	GByteArray *bytes;

	(void)state;
	sample_mail(&m);
	m.attach_name = "events-20261120-000001.csv";
	m.attach_type = "text/csv";
	m.attach = csv;
	m.attach_len = strlen(csv);
	rk_buf_init(&msg, RK_MAX_MESSAGE);
	assert_int_equal(mail_build(NULL, &m, &msg), RK_OK);
	assert_wire_lines(&msg);
	assert_non_null(strstr(msg.data, "Content-Type: text/csv; charset=utf-8"));
	assert_non_null(strstr(msg.data, "Content-Disposition: attachment; "
					 "filename=events-20261120-000001.csv"));
	assert_non_null(strstr(msg.data, "Content-Transfer-Encoding: base64"));
	parsed = parse(&msg);
	top = g_mime_message_get_mime_part(parsed);
	assert_true(GMIME_IS_MULTIPART(top));
	ct = g_mime_object_get_content_type(top);
	assert_string_equal(g_mime_content_type_get_media_subtype(ct), "mixed");
	assert_int_equal(g_mime_multipart_get_count(GMIME_MULTIPART(top)), 2);
	assert_true(GMIME_IS_TEXT_PART(g_mime_multipart_get_part(
		GMIME_MULTIPART(top), 0)));
	att = g_mime_multipart_get_part(GMIME_MULTIPART(top), 1);
	assert_true(g_mime_part_is_attachment(GMIME_PART(att)));
	mem = g_mime_stream_mem_new();
	g_mime_data_wrapper_write_to_stream(g_mime_part_get_content(GMIME_PART(att)),
					    mem);
	bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	assert_int_equal(bytes->len, strlen(csv));
	assert_memory_equal(bytes->data, csv, bytes->len);
	g_object_unref(mem);
	g_object_unref(parsed);

	/* file names that are not plain names are refused */
	rk_buf_reset(&msg);
	m.attach_name = "../../etc/passwd";
	assert_int_equal(mail_build(NULL, &m, &msg), RK_ERR_INVAL);
	m.attach_name = "a\r\nb.csv";
	assert_int_equal(mail_build(NULL, &m, &msg), RK_ERR_INVAL);
	m.attach_name = "events.csv";
	m.attach_type = "text/csv\r\nX: y";
	assert_int_equal(mail_build(NULL, &m, &msg), RK_ERR_INVAL);
	assert_int_equal(msg.len, 0);
	rk_buf_release(&msg);
}

static void test_sanitised_text(void **state)
{
	struct mail_message m;
	struct rk_buf msg;
	GMimeMessage *parsed;
	InternetAddressList *from;
	char *hdr;

	(void)state;
	sample_mail(&m);
	m.subject = "a\tb\x01" "c\x7f" "d\r\ne \xc2\x85" "f";
	m.from_name = "CSIRT\r\nBcc: evil@x";
	rk_buf_init(&msg, RK_MAX_MESSAGE);
	assert_int_equal(mail_build(NULL, &m, &msg), RK_OK);
	hdr = header_block(&msg);
	assert_null(strstr(hdr, "\r\nBcc"));
	parsed = parse(&msg);
	/* one space per byte: the two bytes of U+0085 give two */
	assert_string_equal(g_mime_message_get_subject(parsed), "a b c d  e   f");
	from = g_mime_message_get_from(parsed);
	assert_string_equal(internet_address_get_name(
				    internet_address_list_get_address(from, 0)),
			    "CSIRT  Bcc: evil@x");
	g_object_unref(parsed);
	free(hdr);

	/* bidirectional overrides cannot turn a name or subject around */
	rk_buf_reset(&msg);
	sample_mail(&m);
	m.subject = "invoice \xe2\x80\xae" "cod.exe";
	m.to_name = "a\xe2\x81\xa6" "b";
	assert_int_equal(mail_build(NULL, &m, &msg), RK_OK);
	parsed = parse(&msg);
	assert_string_equal(g_mime_message_get_subject(parsed),
			    "invoice    cod.exe");
	g_object_unref(parsed);
	rk_buf_release(&msg);
}

/* Subjects and display names come back as they went in, and encoded
 * words stay within RFC 2047's 75 characters. */
static void test_header_encoding(void **state)
{
	static const char *const texts[] = {
		"[RENRAKU #20261120-000001] 不正アクセスに関するご連絡",
		"a  日本  b",
		"日本  語",
		"日本 語 ascii 日本",
		"x=0ABcc= y=0D=0A",
		"0123456789012345678901234567890123456789012345678901234567890123456789"
		"0123456789=0A=",
		"名名名名名名名名名名名名名名名名名名名名名名名名名名名名名名名名名名名名名名名"
		"名名名名名名名名名名名名名名名名名名名名名名名名名名名名名名名名名名名名名名名",
		"café ü Größe",
		"\"quoted\" <not@addr> , ; :",
	};
	struct mail_message m;
	struct rk_buf msg;

	(void)state;
	rk_buf_init(&msg, RK_MAX_MESSAGE);
	for (size_t i = 0; i < RK_ARRAY_LEN(texts); i++) {
		GMimeMessage *parsed;
		InternetAddressList *to;
		char *hdr, *p;

		rk_buf_reset(&msg);
		sample_mail(&m);
		m.subject = texts[i];
		m.to_name = texts[i];
		assert_int_equal(mail_build(NULL, &m, &msg), RK_OK);
		assert_wire_lines(&msg);
		hdr = header_block(&msg);
		for (p = strstr(hdr, "=?"); p; p = strstr(p + 2, "=?")) {
			const char *end;

			/* "=?UTF-8?B?...?=": base64 holds no '?' */
			assert_int_equal(strncmp(p, "=?UTF-8?B?", 10), 0);
			end = strstr(p + 10, "?=");
			assert_non_null(end);
			assert_true(end + 2 - p <= 75);
			p = (char *)end;
		}
		parsed = parse(&msg);
		assert_string_equal(g_mime_message_get_subject(parsed), texts[i]);
		to = g_mime_message_get_addresses(parsed, GMIME_ADDRESS_TYPE_TO);
		assert_int_equal(internet_address_list_length(to), 1);
		assert_string_equal(internet_address_mailbox_get_addr(
			INTERNET_ADDRESS_MAILBOX(internet_address_list_get_address(to, 0))),
			"abuse@example.net");
		g_object_unref(parsed);
		free(hdr);
	}
	rk_buf_release(&msg);
}

static void test_refusals(void **state)
{
	struct mail_message m;
	struct rk_buf msg, big;

	(void)state;
	rk_buf_init(&msg, RK_MAX_MESSAGE);
	rk_buf_init(&big, 1 << 20);
	sample_mail(&m);
	m.body = "bad \xff\xfe utf-8\n";
	assert_int_equal(mail_build(NULL, &m, &msg), RK_ERR_INVAL);
	sample_mail(&m);
	m.subject = "bad \xc3\x28";
	assert_int_equal(mail_build(NULL, &m, &msg), RK_ERR_INVAL);
	sample_mail(&m);
	m.to_addr = "no-at-sign";
	assert_int_equal(mail_build(NULL, &m, &msg), RK_ERR_INVAL);
	m.to_addr = "Name <a@example.net>";
	assert_int_equal(mail_build(NULL, &m, &msg), RK_ERR_INVAL);
	m.to_addr = "a@example.net, b@example.net";
	assert_int_equal(mail_build(NULL, &m, &msg), RK_ERR_INVAL);
	sample_mail(&m);
	m.message_id = "no-brackets@example.org";
	assert_int_equal(mail_build(NULL, &m, &msg), RK_ERR_INVAL);
	m.message_id = "<two@at@example.org>";
	assert_int_equal(mail_build(NULL, &m, &msg), RK_ERR_INVAL);
	sample_mail(&m);
	m.ack_url = "javascript:alert(1)";
	assert_int_equal(mail_build(NULL, &m, &msg), RK_ERR_INVAL);
	m.ack_url = "https://x.example/a b";
	assert_int_equal(mail_build(NULL, &m, &msg), RK_ERR_INVAL);
	sample_mail(&m);
	m.references = "<a@b.example> junk";
	assert_int_equal(mail_build(NULL, &m, &msg), RK_ERR_INVAL);

	/* RK_MAX_HEADER_VALUE */
	for (int i = 0; i < 1000; i++)
		assert_int_equal(rk_buf_addc(&big, 'x'), RK_OK);
	sample_mail(&m);
	m.subject = big.data;
	assert_int_equal(mail_build(NULL, &m, &msg), RK_ERR_LIMIT);
	sample_mail(&m);
	m.from_name = big.data;
	assert_int_equal(mail_build(NULL, &m, &msg), RK_ERR_LIMIT);
	/* a URL that fits the value limit but not the 998-byte line */
	rk_buf_reset(&big);
	assert_int_equal(rk_buf_adds(&big, "https://x.example/"), RK_OK);
	while (big.len < 990)
		assert_int_equal(rk_buf_addc(&big, 'a'), RK_OK);
	sample_mail(&m);
	m.ack_url = big.data;
	assert_int_equal(mail_build(NULL, &m, &msg), RK_ERR_LIMIT);
	/* a long subject of short words folds and is fine */
	rk_buf_reset(&big);
	while (big.len < 900)
		assert_int_equal(rk_buf_adds(&big, "word "), RK_OK);
	sample_mail(&m);
	m.subject = big.data;
	assert_int_equal(mail_build(NULL, &m, &msg), RK_OK);
	assert_wire_lines(&msg);
	rk_buf_reset(&msg);

	/* a Cc of 100 addresses folds; 101 is too many */
	rk_buf_reset(&big);
	for (int i = 0; i < 100; i++)
		assert_int_equal(rk_buf_addf(&big, "%snoc-%03d@example.net",
					     i ? ", " : "", i), RK_OK);
	sample_mail(&m);
	m.cc = big.data;
	assert_int_equal(mail_build(NULL, &m, &msg), RK_OK);
	assert_wire_lines(&msg);
	{
		GMimeMessage *parsed = parse(&msg);

		assert_int_equal(internet_address_list_length(
			g_mime_message_get_addresses(parsed, GMIME_ADDRESS_TYPE_CC)),
			100);
		g_object_unref(parsed);
	}
	rk_buf_reset(&msg);
	assert_int_equal(rk_buf_adds(&big, ", one-more@example.net"), RK_OK);
	assert_int_equal(mail_build(NULL, &m, &msg), RK_ERR_LIMIT);

	/* missing required fields */
	sample_mail(&m);
	m.body = NULL;
	assert_int_equal(mail_build(NULL, &m, &msg), RK_ERR_INVAL);
	sample_mail(&m);
	m.message_id = NULL;
	assert_int_equal(mail_build(NULL, &m, &msg), RK_ERR_INVAL);
	sample_mail(&m);
	m.from_addr = NULL;
	assert_int_equal(mail_build(NULL, &m, &msg), RK_ERR_INVAL);
	/* an output buffer too small: RK_ERR_LIMIT, left as it was */
	{
		struct rk_buf small;

		rk_buf_init(&small, 200);
		sample_mail(&m);
		assert_int_equal(mail_build(NULL, &m, &small), RK_ERR_LIMIT);
		assert_int_equal(small.len, 0);
		rk_buf_release(&small);
	}
	assert_int_equal(msg.len, 0);
	rk_buf_release(&msg);
	rk_buf_release(&big);
}

/* An internationalised domain goes out as A-labels. */
static void test_idn_address(void **state)
{
	struct mail_message m;
	struct rk_buf msg;
	char *hdr;

	(void)state;
	sample_mail(&m);
	m.to_addr = "abuse@例え.jp";
	rk_buf_init(&msg, RK_MAX_MESSAGE);
	assert_int_equal(mail_build(NULL, &m, &msg), RK_OK);
	hdr = header_block(&msg);
	assert_non_null(strstr(hdr, "<abuse@xn--r8jz45g.jp>"));
	free(hdr);
	/* A-labels that do not decode would reach the wire as 8-bit text */
	rk_buf_reset(&msg);
	m.to_addr = "s@xn--S_.";
	assert_int_equal(mail_build(NULL, &m, &msg), RK_ERR_INVAL);
	m.to_addr = "s@xn--s.example";
	assert_int_equal(mail_build(NULL, &m, &msg), RK_ERR_INVAL);
	m.to_addr = "s@under_score.example";
	assert_int_equal(mail_build(NULL, &m, &msg), RK_ERR_INVAL);
	m.to_addr = "abuse@xn--r8jz45g.jp";
	assert_int_equal(mail_build(NULL, &m, &msg), RK_OK);
	rk_buf_release(&msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_body_qp),
		cmocka_unit_test(test_body_last_line),
		cmocka_unit_test(test_attachment),
		cmocka_unit_test(test_sanitised_text),
		cmocka_unit_test(test_header_encoding),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_idn_address),
	};
	int rc;

	mail_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	mail_shutdown();
	return rc;
}
