/*
 * libFuzzer harness: mail_build (unsigned) with hostile text where
 * template output and contact data end up: the input is split at NUL
 * bytes into subject, from name, to name, body, attachment name and To
 * address.  A build that succeeds must hold exactly the headers renraku
 * writes (nothing injected), no header value may carry a CR or LF (also
 * after RFC 2047 decoding), every line must be CRLF-terminated 7-bit text
 * of at most 998 bytes, and the body must decode back to what went in.
 */
#include <gmime/gmime.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "renraku/mail.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { F_SUBJECT, F_FROM_NAME, F_TO_NAME, F_BODY, F_ATTACH_NAME, F_TO_ADDR,
       F_COUNT };

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond))                                                 \
			RK_BUG("fuzz_mail_headers: %s", #cond);              \
	} while (0)

static const char csv[] = "time_source,source.ip\r\n2026-11-20T10:15:00Z,"
			  "192.0.2.1\r\n";

/* The wire form: CRLF everywhere, 7-bit, lines of at most 998 bytes.
 * Returns the number of header lines of the top-level header block
 * (continuation lines not counted). */
static size_t check_wire(const struct rk_buf *msg)
{
	size_t line = 0, headers = 0;
	bool in_headers = true, line_start = true;

	CHECK(msg->len >= 4);
	CHECK(memcmp(msg->data + msg->len - 2, "\r\n", 2) == 0);
	for (size_t i = 0; i < msg->len; i++) {
		unsigned char c = (unsigned char)msg->data[i];

		if (c == '\r') {
			CHECK(i + 1 < msg->len && msg->data[i + 1] == '\n');
			if (line_start)
				in_headers = false; /* the blank line */
			i++;
			line = 0;
			line_start = true;
			continue;
		}
		CHECK(c != '\n' && c != 0 && c < 0x80);
		CHECK(c >= 0x20 || c == '\t');
		if (line_start && in_headers && c != ' ' && c != '\t')
			headers++;
		line_start = false;
		CHECK(++line <= 998);
	}
	return headers;
}

/* A CR or LF that is not part of a fold (CRLF followed by a space or a
 * TAB).  GMime's address parser keeps the folding white space of a long
 * display name in the decoded name; a fold is not an injection. */
static bool has_break(const char *s)
{
	for (const char *p = s; p && *p; p++) {
		if (*p == '\r' && p[1] == '\n' && (p[2] == ' ' || p[2] == '\t')) {
			p += 2;
			continue;
		}
		if (*p == '\r' || *p == '\n')
			return true;
	}
	return false;
}

static void check_names(InternetAddressList *list)
{
	for (int i = 0; list && i < internet_address_list_length(list); i++)
		CHECK(!has_break(internet_address_get_name(
			internet_address_list_get_address(list, i))));
}

/* body as mail_build normalises it: LF line ends, one final newline */
static char *normal_body(const char *body)
{
	size_t n = strlen(body), w = 0;
	char *out = malloc(n + 2);

	CHECK(out != NULL);
	for (size_t i = 0; i < n; i++) {
		if (body[i] == '\r') {
			if (body[i + 1] == '\n')
				i++;
			out[w++] = '\n';
		} else {
			out[w++] = body[i];
		}
	}
	if (w == 0 || out[w - 1] != '\n')
		out[w++] = '\n';
	out[w] = '\0';
	return out;
}

static void check_parsed(const struct rk_buf *msg, const char *body,
			 bool attached)
{
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(msg->data,
								msg->len);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *m = g_mime_parser_construct_message(parser, NULL);
	GMimeHeaderList *list;
	GMimeObject *top, *text;
	char *decoded, *want, *w;
	int bcc = 0;

	CHECK(m != NULL);
	list = g_mime_object_get_header_list(GMIME_OBJECT(m));
	for (int i = 0; i < g_mime_header_list_get_count(list); i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(list, i);

		CHECK(!has_break(g_mime_header_get_value(h)));
		if (strcasecmp(g_mime_header_get_name(h), "Bcc") == 0)
			bcc++;
	}
	CHECK(bcc == 0);
	CHECK(!has_break(g_mime_message_get_subject(m)));
	check_names(g_mime_message_get_from(m));
	check_names(g_mime_message_get_addresses(m, GMIME_ADDRESS_TYPE_TO));
	check_names(g_mime_message_get_addresses(m, GMIME_ADDRESS_TYPE_CC));
	CHECK(internet_address_list_length(g_mime_message_get_addresses(
		      m, GMIME_ADDRESS_TYPE_TO)) == 1);
	CHECK(internet_address_list_length(g_mime_message_get_addresses(
		      m, GMIME_ADDRESS_TYPE_BCC)) == 0);

	top = g_mime_message_get_mime_part(m);
	CHECK(top != NULL);
	if (attached) {
		CHECK(GMIME_IS_MULTIPART(top));
		CHECK(g_mime_multipart_get_count(GMIME_MULTIPART(top)) == 2);
		text = g_mime_multipart_get_part(GMIME_MULTIPART(top), 0);
	} else {
		text = top;
	}
	CHECK(GMIME_IS_TEXT_PART(text));
	decoded = g_mime_text_part_get_text(GMIME_TEXT_PART(text));
	CHECK(decoded != NULL);
	w = decoded;
	for (char *r = decoded; *r; r++)
		if (!(r[0] == '\r' && r[1] == '\n'))
			*w++ = *r;
	*w = '\0';
	want = normal_body(body);
	CHECK(strcmp(decoded, want) == 0);
	free(want);
	g_free(decoded);
	g_object_unref(m);
	g_object_unref(parser);
	g_object_unref(stream);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready; /* the harness's one-time library set-up */
	char *copy, *field[F_COUNT] = {NULL};
	struct mail_message mail;
	struct rk_buf out;
	size_t nfield = 0, headers, expected;
	enum rk_err err;

	if (!ready) {
		mail_init();
		ready = true;
	}
	if (size > (1u << 20))
		return 0;
	copy = malloc(size + 1);
	CHECK(copy != NULL);
	memcpy(copy, data, size);
	copy[size] = '\0';
	field[0] = copy;
	for (size_t i = 0; i < size && nfield + 1 < F_COUNT; i++) {
		if (copy[i] == '\0')
			field[++nfield] = copy + i + 1;
	}

	memset(&mail, 0, sizeof(mail));
	mail.subject = field[F_SUBJECT];
	mail.from_name = field[F_FROM_NAME];
	mail.from_addr = "csirt@example.org";
	mail.to_name = field[F_TO_NAME];
	mail.to_addr = field[F_TO_ADDR] ? field[F_TO_ADDR] : "abuse@example.net";
	mail.cc = "noc@example.net";
	mail.reply_to = "csirt@example.org";
	mail.message_id = "<20261120-000001.0123456789abcdef@example.org>";
	mail.in_reply_to = "<20261119-000001.00@example.org>";
	mail.ticket_id = "20261120-000001";
	mail.ack_url = "https://renraku.example.org/ack/20261120-000001/tok";
	mail.date = 1795169700;
	mail.body = field[F_BODY] ? field[F_BODY] : "";
	if (field[F_ATTACH_NAME]) {
		mail.attach_name = field[F_ATTACH_NAME];
		mail.attach_type = "text/csv";
		mail.attach = csv;
		mail.attach_len = sizeof(csv) - 1;
	}

	rk_buf_init(&out, RK_MAX_MESSAGE);
	err = mail_build(NULL, &mail, &out);
	/* refusing hostile input is fine; anything else is a bug */
	CHECK(err == RK_OK || err == RK_ERR_INVAL || err == RK_ERR_LIMIT);
	if (err == RK_OK) {
		/* Date From To Cc Reply-To Subject Message-Id In-Reply-To
		 * Auto-Submitted X-Renraku-Ticket X-Renraku-Ack MIME-Version
		 * Content-Type [Content-Transfer-Encoding] */
		expected = mail.attach_name ? 13 : 14;
		headers = check_wire(&out);
		if (headers != expected)
			RK_BUG("fuzz_mail_headers: %zu header lines, not %zu",
			       headers, expected);
		check_parsed(&out, mail.body, mail.attach_name != NULL);
	} else {
		CHECK(out.len == 0);
	}
	rk_buf_release(&out);
	free(copy);
	return 0;
}
