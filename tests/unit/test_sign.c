/*
 * Signed notices (RFC 3156), checked the way a recipient checks them: the
 * message is split at the multipart/signed boundary as the RFC says and
 * the real gpg binary verifies the first part against the detached
 * signature, in a second GnuPG home that only has the exported public
 * key.  gpg must be installed: without it these tests fail, they do not
 * skip.
 */
#include <gmime/gmime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "renraku/mail.h"
#include "testutil.h"

#define BODY_JA                                                             \
	"ご担当者様\n"                                                      \
	"\n"                                                                \
	"貴組織のネットワークから不正なアクセスが観測されました。\n"        \
	"From the logs we received: 192.0.2.10 (TCP/23)\n"                  \
	"行末の空白はそのまま   \n"                                          \
	"\n"                                                                \
	"-- \n"                                                             \
	"Example CSIRT / 連絡窓口\n"
#define SUBJECT_JA "[RENRAKU #20261120-000001] 不正アクセスに関するご連絡"
#define CSV_DATA                                                            \
	"time_source,source.ip,classification.type\r\n"                     \
	"2026-11-20T10:15:00Z,192.0.2.10,infected-system\r\n"                \
	"2026-11-20T10:16:00Z,2001:db8::1,\"a,b\"\r\n"

struct fixture {
	char *dir;       /* /tmp/rkt.XXXXXX */
	char *home;      /* dir/g: the relay's GnuPG home */
	char *verify;    /* dir/v: a recipient's home with the public key */
	char fpr[41];
	struct mail_signer *signer;
	struct rk_log log;
};

/* Run a shell command; its stdout+stderr into out (may be NULL).  Returns
 * the exit status (-1 when it did not exit). */
static int run(const char *cmd, struct rk_buf *out)
{
	char chunk[4096];
	size_t n;
	FILE *p = popen(cmd, "r");
	int status;

	assert_non_null(p);
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		if (out)
			assert_int_equal(rk_buf_add(out, chunk, n), RK_OK);
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void kill_agent(const char *home)
{
	struct rk_buf cmd;

	rk_buf_init(&cmd, 4096);
	assert_int_equal(rk_buf_addf(&cmd, "gpgconf --homedir '%s' --kill all "
				     ">/dev/null 2>&1", home), RK_OK);
	run(cmd.data, NULL);
	rk_buf_release(&cmd);
}

static void write_file(const char *dir, const char *name, const void *data,
		       size_t len)
{
	char *path = NULL;

	assert_int_equal(rk_path_join(dir, name, &path), RK_OK);
	assert_int_equal(rk_write_file_atomic(path, data, len, 0600), RK_OK);
	free(path);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct rk_buf pub, cmd, out;

	assert_non_null(f);
	/* No gpg, no test: fail loudly rather than skip. */
	rk_buf_init(&out, 1 << 16);
	if (run("gpg --version 2>&1", &out) != 0)
		fail_msg("the gpg binary is needed to verify signatures: %s",
			 out.data);
	rk_buf_release(&out);
	rk_log_init(&f->log, RK_LOG_ERROR);
	f->dir = rk_test_tmpdir();
	assert_int_equal(rk_path_join(f->dir, "g", &f->home), RK_OK);
	assert_int_equal(rk_path_join(f->dir, "v", &f->verify), RK_OK);
	assert_int_equal(mail_gen_key(f->home, "Example CSIRT 連絡窓口",
					"csirt@example.org", f->fpr, &f->log),
			 RK_OK);
	assert_int_equal(strlen(f->fpr), 40);
	assert_int_equal(mail_signer_open(&f->signer, f->home, NULL, &f->log),
			 RK_OK);
	assert_string_equal(mail_signer_fpr(f->signer), f->fpr);

	/* The recipient: a fresh home that knows only the public key. */
	rk_buf_init(&pub, 1 << 20);
	assert_int_equal(mail_export_key(f->home, f->fpr, &pub, &f->log),
			 RK_OK);
	assert_non_null(strstr(pub.data, "-----BEGIN PGP PUBLIC KEY BLOCK-----"));
	assert_null(strstr(pub.data, "PRIVATE KEY"));
	write_file(f->dir, "pub.asc", pub.data, pub.len);
	assert_int_equal(rk_mkdir_p(f->verify, 0700), RK_OK);
	rk_buf_init(&cmd, 4096);
	rk_buf_init(&out, 1 << 16);
	assert_int_equal(rk_buf_addf(&cmd, "gpg --homedir '%s' --batch --quiet "
				     "--import '%s/pub.asc' 2>&1",
				     f->verify, f->dir), RK_OK);
	if (run(cmd.data, &out) != 0)
		fail_msg("gpg --import failed: %s", out.data);
	rk_buf_release(&cmd);
	rk_buf_release(&out);
	rk_buf_release(&pub);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	mail_signer_close(f->signer);
	kill_agent(f->home);
	kill_agent(f->verify);
	rk_test_rmtree(f->dir);
	free(f->home);
	free(f->verify);
	free(f->dir);
	free(f);
	return 0;
}

static void sample_mail(struct mail_message *m)
{
	memset(m, 0, sizeof(*m));
	m->from_name = "Example CSIRT";
	m->from_addr = "csirt@example.org";
	m->to_name = "ネットワーク管理者";
	m->to_addr = "abuse@example.net";
	m->cc = "noc@example.net";
	m->reply_to = "csirt@example.org";
	m->subject = SUBJECT_JA;
	m->message_id = "<20261120-000001.0123456789abcdef@example.org>";
	m->ticket_id = "20261120-000001";
	m->ack_url = "https://renraku.example.org/ack/20261120-000001/abcdef";
	m->date = 1795169700;
	m->body = BODY_JA;
	m->attach_name = "events-20261120-000001.csv";
	m->attach_type = "text/csv";
	m->attach = CSV_DATA;
	m->attach_len = strlen(CSV_DATA);
}

/* Every line ends with CRLF (the last too) and holds at most 998 bytes. */
static void assert_wire_lines(const struct rk_buf *msg)
{
	size_t line = 0;

	assert_true(msg->len >= 2);
	assert_memory_equal(msg->data + msg->len - 2, "\r\n", 2);
	for (size_t i = 0; i < msg->len; i++) {
		char c = msg->data[i];

		if (c == '\r') {
			assert_true(i + 1 < msg->len);
			assert_int_equal(msg->data[i + 1], '\n');
			i++;
			line = 0;
			continue;
		}
		assert_int_not_equal(c, '\n');
		assert_true((unsigned char)c < 0x80);
		line++;
		assert_true(line <= 998);
	}
}

static GMimeMessage *parse(const struct rk_buf *msg)
{
	return rk_test_parse_mail(msg->data, msg->len);
}

/* Decoded content of a leaf part (caller frees). */
static char *part_text(GMimeObject *obj, size_t *len)
{
	GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(obj));
	GMimeStream *mem = g_mime_stream_mem_new();
	GByteArray *bytes;
	char *copy;

	assert_non_null(w);
	assert_true(g_mime_data_wrapper_write_to_stream(w, mem) >= 0);
	bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	copy = rk_strndup((const char *)bytes->data, bytes->len);
	*len = bytes->len;
	g_object_unref(mem);
	return copy;
}

/* LF line ends, for comparing decoded text with what went in. */
static void to_lf(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++)
		if (!(r[0] == '\r' && r[1] == '\n'))
			*w++ = *r;
	*w = '\0';
}

/* RFC 3156 section 5, from the receiving side: the signed data is the
 * first body part exactly, from after the CRLF that ends the first
 * delimiter line up to (not including) the CRLF before the next delimiter;
 * the signature is the content of the second part. */
static void split_signed(const struct rk_buf *msg, const char *boundary,
			 struct rk_buf *signed_part, struct rk_buf *sig)
{
	struct rk_buf delim;
	const char *start, *end, *sig_start, *sig_end, *limit;

	limit = msg->data + msg->len;
	rk_buf_init(&delim, 512);
	assert_int_equal(rk_buf_addf(&delim, "\r\n--%s\r\n", boundary), RK_OK);
	start = memmem(msg->data, msg->len, delim.data, delim.len);
	assert_non_null(start);
	start += delim.len;
	end = memmem(start, (size_t)(limit - start), delim.data, delim.len);
	assert_non_null(end);
	assert_int_equal(rk_buf_add(signed_part, start, (size_t)(end - start)),
			 RK_OK);
	/* the second part: its headers, a blank line, the armored text */
	sig_start = memmem(end + delim.len,
			   (size_t)(limit - end - delim.len), "\r\n\r\n", 4);
	assert_non_null(sig_start);
	sig_start += 4;
	rk_buf_reset(&delim);
	assert_int_equal(rk_buf_addf(&delim, "\r\n--%s--", boundary), RK_OK);
	sig_end = memmem(sig_start, (size_t)(limit - sig_start), delim.data,
			 delim.len);
	assert_non_null(sig_end);
	assert_int_equal(rk_buf_add(sig, sig_start, (size_t)(sig_end - sig_start)),
			 RK_OK);
	rk_buf_release(&delim);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static const char *hash_name(int algo)
{
	switch (algo) {
	case 2: return "pgp-sha1";
	case 3: return "pgp-ripemd160";
	case 8: return "pgp-sha256";
	case 9: return "pgp-sha384";
	case 10: return "pgp-sha512";
	case 11: return "pgp-sha224";
	default: return "?";
	}
}

/* The hash algorithm number from gpg's VALIDSIG status line. */
static int validsig_hash(const char *status)
{
	const char *p = strstr(status, "[GNUPG:] VALIDSIG ");
	long long algo;
	char field[16];
	size_t n;

	assert_non_null(p);
	p += strlen("[GNUPG:] VALIDSIG ");
	/* fpr date timestamp expire version reserved pk-algo HASH-ALGO ... */
	for (int i = 0; i < 7; i++) {
		p = strchr(p, ' ');
		assert_non_null(p);
		p++;
	}
	n = strcspn(p, " \n");
	assert_true(n > 0 && n < sizeof(field));
	memcpy(field, p, n);
	field[n] = '\0';
	assert_int_equal(rk_parse_long(field, 1, 255, &algo), RK_OK);
	return (int)algo;
}

static void test_signed_verifies_with_gpg(void **state)
{
	struct fixture *f = *state;
	struct mail_message m;
	struct rk_buf msg, part, sig, cmd, out;
	GMimeMessage *parsed;
	GMimeObject *top, *content, *text, *csv;
	const char *boundary, *micalg, *protocol;
	char *decoded;
	size_t len;

	sample_mail(&m);
	rk_buf_init(&msg, RK_MAX_MESSAGE);
	rk_buf_init(&part, RK_MAX_MESSAGE);
	rk_buf_init(&sig, 1 << 20);
	rk_buf_init(&cmd, 8192);
	rk_buf_init(&out, 1 << 20);
	assert_int_equal(mail_build(f->signer, &m, &msg), RK_OK);
	assert_wire_lines(&msg);

	parsed = parse(&msg);
	top = g_mime_message_get_mime_part(parsed);
	assert_true(GMIME_IS_MULTIPART_SIGNED(top));
	assert_int_equal(g_mime_multipart_get_count(GMIME_MULTIPART(top)), 2);
	protocol = g_mime_object_get_content_type_parameter(top, "protocol");
	micalg = g_mime_object_get_content_type_parameter(top, "micalg");
	assert_non_null(protocol);
	assert_string_equal(protocol, "application/pgp-signature");
	assert_non_null(micalg);
	assert_int_equal(strncmp(micalg, "pgp-", 4), 0);
	boundary = g_mime_multipart_get_boundary(GMIME_MULTIPART(top));
	assert_non_null(boundary);

	split_signed(&msg, boundary, &part, &sig);
	assert_int_equal(count(sig.data, "-----BEGIN PGP SIGNATURE-----"), 1);
	assert_int_equal(count(msg.data, "-----BEGIN PGP SIGNATURE-----"), 1);
	/* the signed part is 7-bit, CRLF, "From " escaped */
	assert_null(strstr(part.data, "\r\nFrom "));
	assert_non_null(strstr(part.data, "=46rom the logs"));
	write_file(f->dir, "part", part.data, part.len);
	write_file(f->dir, "sig.asc", sig.data, sig.len);

	assert_int_equal(rk_buf_addf(&cmd, "LC_ALL=C gpg --homedir '%s' --batch "
				     "--status-fd 1 --verify '%s/sig.asc' "
				     "'%s/part' 2>&1",
				     f->verify, f->dir, f->dir), RK_OK);
	if (run(cmd.data, &out) != 0)
		fail_msg("gpg --verify failed:\n%s", out.data);
	assert_non_null(strstr(out.data, "Good signature"));
	assert_int_equal(count(out.data, "[GNUPG:] NEWSIG"), 1);
	assert_int_equal(count(out.data, "[GNUPG:] GOODSIG"), 1);
	assert_int_equal(count(out.data, "[GNUPG:] BADSIG"), 0);
	assert_non_null(strstr(out.data, f->fpr));
	/* micalg names the hash the signature really uses */
	assert_string_equal(micalg, hash_name(validsig_hash(out.data)));

	/* what a mail reader shows */
	assert_string_equal(g_mime_message_get_subject(parsed), SUBJECT_JA);
	content = g_mime_multipart_get_part(GMIME_MULTIPART(top), 0);
	assert_true(GMIME_IS_MULTIPART(content));
	text = g_mime_multipart_get_part(GMIME_MULTIPART(content), 0);
	csv = g_mime_multipart_get_part(GMIME_MULTIPART(content), 1);
	assert_true(GMIME_IS_TEXT_PART(text));
	decoded = g_mime_text_part_get_text(GMIME_TEXT_PART(text));
	to_lf(decoded);
	assert_string_equal(decoded, BODY_JA);
	g_free(decoded);
	decoded = part_text(csv, &len);
	assert_int_equal(len, strlen(CSV_DATA));
	assert_memory_equal(decoded, CSV_DATA, len);
	free(decoded);
	assert_string_equal(g_mime_part_get_filename(GMIME_PART(csv)),
			    "events-20261120-000001.csv");

	/* a changed byte in the signed part no longer verifies */
	part.data[part.len / 2] ^= 1;
	write_file(f->dir, "part", part.data, part.len);
	rk_buf_reset(&out);
	assert_int_not_equal(run(cmd.data, &out), 0);
	assert_int_equal(count(out.data, "[GNUPG:] GOODSIG"), 0);

	g_object_unref(parsed);
	rk_buf_release(&msg);
	rk_buf_release(&part);
	rk_buf_release(&sig);
	rk_buf_release(&cmd);
	rk_buf_release(&out);
}

/* The same message without an attachment: the signed part is the text
 * part itself; ASCII subject with a tag. */
static void test_signed_text_only(void **state)
{
	struct fixture *f = *state;
	struct mail_message m;
	struct rk_buf msg, part, sig, cmd, out;
	GMimeMessage *parsed;
	GMimeObject *top, *text;
	char *decoded;

	sample_mail(&m);
	m.attach_name = NULL;
	m.attach = NULL;
	m.attach_len = 0;
	m.subject = "[RENRAKU #20261120-000002] Infected system in your network";
	m.body = "Hello,\n\nFrom our sensors: 192.0.2.10.\n";
	rk_buf_init(&msg, RK_MAX_MESSAGE);
	rk_buf_init(&part, RK_MAX_MESSAGE);
	rk_buf_init(&sig, 1 << 20);
	rk_buf_init(&cmd, 8192);
	rk_buf_init(&out, 1 << 20);
	assert_int_equal(mail_build(f->signer, &m, &msg), RK_OK);
	assert_wire_lines(&msg);
	parsed = parse(&msg);
	assert_string_equal(g_mime_message_get_subject(parsed), m.subject);
	assert_non_null(strstr(msg.data, "\r\nSubject: [RENRAKU #20261120-000002] "
					 "Infected system in your network\r\n"));
	top = g_mime_message_get_mime_part(parsed);
	assert_true(GMIME_IS_MULTIPART_SIGNED(top));
	text = g_mime_multipart_get_part(GMIME_MULTIPART(top), 0);
	assert_true(GMIME_IS_TEXT_PART(text));
	decoded = g_mime_text_part_get_text(GMIME_TEXT_PART(text));
	to_lf(decoded);
	assert_string_equal(decoded, m.body);
	g_free(decoded);

	split_signed(&msg, g_mime_multipart_get_boundary(GMIME_MULTIPART(top)),
		     &part, &sig);
	assert_int_equal(strncmp(part.data, "Content-Type: text/plain; "
					    "charset=utf-8\r\n", 41), 0);
	write_file(f->dir, "part2", part.data, part.len);
	write_file(f->dir, "sig2.asc", sig.data, sig.len);
	assert_int_equal(rk_buf_addf(&cmd, "LC_ALL=C gpg --homedir '%s' --batch "
				     "--status-fd 1 --verify '%s/sig2.asc' "
				     "'%s/part2' 2>&1",
				     f->verify, f->dir, f->dir), RK_OK);
	if (run(cmd.data, &out) != 0)
		fail_msg("gpg --verify failed:\n%s", out.data);
	assert_int_equal(count(out.data, "[GNUPG:] GOODSIG"), 1);
	assert_non_null(strstr(out.data, "Good signature"));

	g_object_unref(parsed);
	rk_buf_release(&msg);
	rk_buf_release(&part);
	rk_buf_release(&sig);
	rk_buf_release(&cmd);
	rk_buf_release(&out);
}

/* Count the header lines of the top-level header block (continuation
 * lines excluded) and whether one is named `name`. */
static size_t header_lines(const struct rk_buf *msg, const char *name,
			   bool *found)
{
	size_t n = 0, nlen = strlen(name);
	const char *p = msg->data;

	*found = false;
	while (p && strncmp(p, "\r\n", 2) != 0) {
		if (*p != ' ' && *p != '\t') {
			n++;
			if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':')
				*found = true;
		}
		p = strstr(p, "\r\n");
		if (p)
			p += 2;
	}
	return n;
}

static void assert_no_ctl_in_headers(GMimeMessage *parsed)
{
	GMimeHeaderList *list = g_mime_object_get_header_list(GMIME_OBJECT(parsed));
	InternetAddressList *addrs;

	for (int i = 0; i < g_mime_header_list_get_count(list); i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(list, i);

		assert_false(strcasecmp(g_mime_header_get_name(h), "Bcc") == 0);
		assert_null(strpbrk(g_mime_header_get_value(h), "\r\n"));
	}
	assert_null(strpbrk(g_mime_message_get_subject(parsed), "\r\n"));
	addrs = g_mime_message_get_from(parsed);
	for (int i = 0; i < internet_address_list_length(addrs); i++) {
		const char *name = internet_address_get_name(
			internet_address_list_get_address(addrs, i));

		assert_true(!name || !strpbrk(name, "\r\n"));
	}
}

static void test_header_injection(void **state)
{
	struct fixture *f = *state;
	struct mail_message m;
	struct rk_buf clean, evil;
	GMimeMessage *parsed;
	bool bcc;
	size_t n_clean, n_evil;

	sample_mail(&m);
	rk_buf_init(&clean, RK_MAX_MESSAGE);
	rk_buf_init(&evil, RK_MAX_MESSAGE);
	m.subject = "Notice";
	m.from_name = "CSIRT";
	m.to_name = "NOC";
	assert_int_equal(mail_build(f->signer, &m, &clean), RK_OK);
	n_clean = header_lines(&clean, "Bcc", &bcc);
	assert_false(bcc);

	m.subject = "Notice\r\nBcc: evil@x";
	m.from_name = "CSIRT\r\nBcc: evil@x";
	m.to_name = "NOC\nBcc: evil@x\r\n\r\nbody";
	assert_int_equal(mail_build(f->signer, &m, &evil), RK_OK);
	n_evil = header_lines(&evil, "Bcc", &bcc);
	assert_false(bcc);
	assert_int_equal(n_evil, n_clean);
	assert_wire_lines(&evil);
	parsed = parse(&evil);
	assert_no_ctl_in_headers(parsed);
	assert_string_equal(g_mime_message_get_subject(parsed),
			    "Notice  Bcc: evil@x");
	g_object_unref(parsed);

	/* an encoded word typed into the subject does not decode to CR LF */
	rk_buf_reset(&evil);
	m.subject = "=?utf-8?q?x=0D=0ABcc:_evil@x?=";
	m.from_name = "=?utf-8?q?x=0D=0ABcc:_evil@x?=";
	assert_int_equal(mail_build(f->signer, &m, &evil), RK_OK);
	assert_int_equal(header_lines(&evil, "Bcc", &bcc), n_clean);
	assert_false(bcc);
	parsed = parse(&evil);
	assert_no_ctl_in_headers(parsed);
	g_object_unref(parsed);

	rk_buf_release(&clean);
	rk_buf_release(&evil);
}

static void test_invalid_addresses(void **state)
{
	struct fixture *f = *state;
	struct mail_message m;
	struct rk_buf msg;

	rk_buf_init(&msg, RK_MAX_MESSAGE);
	assert_int_equal(rk_buf_adds(&msg, "kept"), RK_OK);
	sample_mail(&m);
	m.to_addr = "abuse@example.net\r\nBcc: evil@x";
	assert_int_equal(mail_build(f->signer, &m, &msg), RK_ERR_INVAL);
	sample_mail(&m);
	m.to_addr = "abuse@example.net\n";
	assert_int_equal(mail_build(f->signer, &m, &msg), RK_ERR_INVAL);
	sample_mail(&m);
	m.from_addr = "csirt@example.org\rBcc: x@y";
	assert_int_equal(mail_build(f->signer, &m, &msg), RK_ERR_INVAL);
	sample_mail(&m);
	m.cc = "noc@example.net, a@b.example\r\nBcc: evil@x";
	assert_int_equal(mail_build(f->signer, &m, &msg), RK_ERR_INVAL);
	sample_mail(&m);
	m.message_id = "<a@b>\r\nBcc: evil@x";
	assert_int_equal(mail_build(f->signer, &m, &msg), RK_ERR_INVAL);
	sample_mail(&m);
	m.ack_url = "https://x.example/ack\r\nBcc: evil@x";
	assert_int_equal(mail_build(f->signer, &m, &msg), RK_ERR_INVAL);
	sample_mail(&m);
	m.ticket_id = "1\r\nBcc: evil@x";
	assert_int_equal(mail_build(f->signer, &m, &msg), RK_ERR_INVAL);
	/* nothing was appended by the failures */
	assert_string_equal(msg.data, "kept");
	rk_buf_release(&msg);
}

/* Signer selection: none, several, by fingerprint. */
static void test_signer_selection(void **state)
{
	struct fixture *f = *state;
	struct mail_signer *s = NULL;
	struct rk_log quiet;
	char *empty = NULL, *two = NULL, fpr2[41], fpr3[41], first[41];
	size_t n = 0;
	FILE *devnull = fopen("/dev/null", "w");

	assert_non_null(devnull);
	quiet.level = RK_LOG_ERROR;
	quiet.stream = devnull;
	assert_int_equal(rk_path_join(f->dir, "e", &empty), RK_OK);
	assert_int_equal(rk_path_join(f->dir, "t", &two), RK_OK);

	/* a home that does not exist: no key, nothing created */
	assert_int_equal(mail_secret_keys(empty, first, &n, &quiet), RK_OK);
	assert_int_equal(n, 0);
	assert_int_equal(mail_signer_open(&s, empty, NULL, &quiet),
			 RK_ERR_NOTFOUND);
	assert_null(s);
	/* an existing home without keys */
	assert_int_equal(rk_mkdir_p(empty, 0700), RK_OK);
	assert_int_equal(mail_signer_open(&s, empty, NULL, &quiet),
			 RK_ERR_NOTFOUND);
	assert_int_equal(mail_secret_keys(f->home, first, &n, &quiet), RK_OK);
	assert_int_equal(n, 1);
	assert_string_equal(first, f->fpr);

	assert_int_equal(mail_gen_key(two, "One", "one@example.org", fpr2,
					&quiet), RK_OK);
	assert_int_equal(mail_gen_key(two, "Two", "two@example.org", fpr3,
					&quiet), RK_OK);
	assert_int_equal(mail_secret_keys(two, first, &n, &quiet), RK_OK);
	assert_int_equal(n, 2);
	assert_int_equal(mail_signer_open(&s, two, NULL, &quiet),
			 RK_ERR_CONFIG);
	assert_int_equal(mail_signer_open(&s, two, fpr3, &quiet), RK_OK);
	assert_string_equal(mail_signer_fpr(s), fpr3);
	mail_signer_close(s);
	s = NULL;
	assert_int_equal(mail_signer_open(&s, two, "one@example.org", &quiet),
			 RK_OK);
	assert_string_equal(mail_signer_fpr(s), fpr2);
	mail_signer_close(s);
	s = NULL;
	assert_int_equal(mail_signer_open(&s, two, "nobody@example.org",
					    &quiet),
			 RK_ERR_NOTFOUND);
	assert_int_equal(mail_signer_open(&s, two, "example.org", &quiet),
			 RK_ERR_CONFIG);
	/* the home was made 0700 */
	{
		struct stat st;

		assert_int_equal(stat(two, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0700);
	}
	assert_int_equal(mail_gen_key(two, "Bad\nName", "x@example.org",
					fpr2, &quiet), RK_ERR_INVAL);
	assert_int_equal(mail_gen_key(two, "Bad", "not an address", fpr2,
					&quiet), RK_ERR_INVAL);

	kill_agent(two);
	kill_agent(empty);
	free(empty);
	free(two);
	fclose(devnull);
}

/* Many messages through one signer: each verifies on its own (the context
 * is reused and each result holds one signature). */
static void test_signer_reuse(void **state)
{
	struct fixture *f = *state;
	struct mail_message m;
	struct rk_buf msg;

	sample_mail(&m);
	rk_buf_init(&msg, RK_MAX_MESSAGE);
	for (int i = 0; i < 20; i++) {
		rk_buf_reset(&msg);
		assert_int_equal(mail_build(f->signer, &m, &msg), RK_OK);
		assert_int_equal(count(msg.data, "-----BEGIN PGP SIGNATURE-----"),
				 1);
	}
	rk_buf_release(&msg);
}

/* ------------------------------------------------------------ encryption */

/* A recipient with a key of its own in home dir/r (made once), its
 * public key imported into the relay's home; the relay's public key is
 * in dir/r too, so the signature inside verifies there. */
static void recipient_home(struct fixture *f, char **home, char fpr[41])
{
	struct rk_buf pub, cmd, out;
	char imported[41];

	assert_int_equal(rk_path_join(f->dir, "r", home), RK_OK);
	rk_buf_init(&pub, 1 << 20);
	rk_buf_init(&cmd, 4096);
	rk_buf_init(&out, 1 << 16);
	if (mail_secret_keys(*home, fpr, &(size_t){0}, &f->log) == RK_OK && !fpr[0])
		assert_int_equal(mail_gen_key(*home, "NOC", "abuse@example.net",
					      fpr, &f->log), RK_OK);
	assert_int_equal(mail_export_key(*home, fpr, &pub, &f->log), RK_OK);
	assert_int_equal(mail_import_key(f->home, pub.data, pub.len, imported,
					 &f->log), RK_OK);
	assert_string_equal(imported, fpr);
	assert_int_equal(rk_buf_addf(&cmd, "gpg --homedir '%s' --batch --quiet "
				     "--import '%s/pub.asc' 2>&1", *home, f->dir),
			 RK_OK);
	if (run(cmd.data, &out) != 0)
		fail_msg("gpg --import failed: %s", out.data);
	rk_buf_release(&pub);
	rk_buf_release(&cmd);
	rk_buf_release(&out);
}

/* RFC 3156 section 4 and 6.2: multipart/encrypted with the version part
 * and the ciphertext; it decrypts in the recipient's home to the content
 * entity (CRLF), signed inside by the relay; the outer headers carry the
 * TLP. */
static void test_encrypted_structure(void **state)
{
	struct fixture *f = *state;
	struct mail_message m;
	struct rk_buf msg, why, cmd, out;
	GMimeMessage *parsed;
	GMimeObject *top, *ver, *data;
	const char *protocol, *to[1];
	struct mail_crypt crypt = {MAIL_FORM_PGP_MIME, to, 1};
	char fpr[41], found[41], *rhome = NULL, *text;
	bool found_tlp;
	size_t len;

	recipient_home(f, &rhome, fpr);
	sample_mail(&m);
	m.tlp = "AMBER";
	rk_buf_init(&msg, RK_MAX_MESSAGE);
	rk_buf_init(&why, 4096);
	rk_buf_init(&cmd, 8192);
	rk_buf_init(&out, 1 << 20);
	assert_int_equal(mail_recipient_key(f->signer, "abuse@example.net", NULL,
					    1795169700, found, &why), RK_OK);
	assert_string_equal(found, fpr);
	/* by fingerprint too */
	assert_int_equal(mail_recipient_key(f->signer, "other@example.net", fpr,
					    1795169700, found, &why), RK_OK);
	assert_string_equal(found, fpr);
	to[0] = found;
	assert_int_equal(mail_build_crypt(f->signer, &m, &crypt, &msg), RK_OK);
	assert_wire_lines(&msg);
	header_lines(&msg, "X-Renraku-TLP", &found_tlp);
	assert_true(found_tlp);
	assert_non_null(strstr(msg.data, "\r\nX-Renraku-TLP: AMBER\r\n"));
	/* nothing of the body or the CSV in the clear */
	assert_null(strstr(msg.data, "192.0.2.10"));
	assert_null(strstr(msg.data, "BEGIN PGP SIGNATURE"));

	parsed = parse(&msg);
	assert_string_equal(g_mime_message_get_subject(parsed), SUBJECT_JA);
	top = g_mime_message_get_mime_part(parsed);
	assert_true(GMIME_IS_MULTIPART_ENCRYPTED(top));
	protocol = g_mime_object_get_content_type_parameter(top, "protocol");
	assert_non_null(protocol);
	assert_string_equal(protocol, "application/pgp-encrypted");
	assert_int_equal(g_mime_multipart_get_count(GMIME_MULTIPART(top)), 2);
	ver = g_mime_multipart_get_part(GMIME_MULTIPART(top), 0);
	data = g_mime_multipart_get_part(GMIME_MULTIPART(top), 1);
	assert_true(g_mime_content_type_is_type(g_mime_object_get_content_type(ver),
						"application", "pgp-encrypted"));
	assert_true(g_mime_content_type_is_type(g_mime_object_get_content_type(data),
						"application", "octet-stream"));
	text = part_text(ver, &len);
	to_lf(text);
	assert_string_equal(text, "Version: 1\n");
	free(text);
	text = part_text(data, &len);
	assert_int_equal(strncmp(text, "-----BEGIN PGP MESSAGE-----", 27), 0);
	write_file(f->dir, "msg.asc", text, len);
	free(text);

	assert_int_equal(rk_buf_addf(&cmd, "LC_ALL=C gpg --homedir '%s' --batch "
				     "--status-fd 1 --decrypt '%s/msg.asc' 2>/dev/null",
				     rhome, f->dir), RK_OK);
	if (run(cmd.data, &out) != 0)
		fail_msg("gpg --decrypt failed:\n%s", out.data);
	assert_non_null(strstr(out.data, "[GNUPG:] DECRYPTION_OKAY"));
	assert_int_equal(count(out.data, "[GNUPG:] GOODSIG"), 1);
	assert_non_null(strstr(out.data, f->fpr));
	assert_non_null(strstr(out.data, "Content-Type: multipart/mixed"));
	assert_non_null(strstr(out.data, "events-20261120-000001.csv"));
	assert_non_null(strstr(out.data, "\r\n\r\n"));

	/* a fingerprint that is not looked up first is refused */
	to[0] = "0000000000000000000000000000000000000000";
	rk_buf_reset(&msg);
	assert_int_equal(mail_build_crypt(f->signer, &m, &crypt, &msg),
			 RK_ERR_INTERNAL);
	assert_int_equal(msg.len, 0);
	g_object_unref(parsed);
	rk_buf_release(&msg);
	rk_buf_release(&why);
	rk_buf_release(&cmd);
	rk_buf_release(&out);
	kill_agent(rhome);
	free(rhome);
}

/* The keyring is listed once and indexed by the mailbox of each user id:
 * the key found for an address is the one gpg's own "<addr>" search
 * finds (checked against gpg for user ids of every shape), and a key
 * imported after the listing is found by the next lookup. */
static void test_recipient_key_listing(void **state)
{
	static const char *const uids[] = {
		"Org <Abuse@Case.Example>", "bare@bare.example",
		"<<w@w.example>>", "Name plain@x.example",
		"Two <t1@t.example> <t2@t.example>", "Q <q@q.example> (note)",
	};
	static const char *const addrs[] = {
		"abuse@case.example", "ABUSE@CASE.EXAMPLE", "bare@bare.example",
		"w@w.example", "plain@x.example", "t1@t.example", "t2@t.example",
		"q@q.example", "none@none.example",
	};
	struct fixture *f = *state;
	struct rk_buf cmd, out, why;
	char found[41], fpr[41];
	char *khome = NULL;

	assert_int_equal(rk_path_join(f->dir, "kl", &khome), RK_OK);
	assert_int_equal(rk_mkdir_p(khome, 0700), RK_OK);
	rk_buf_init(&cmd, 8192);
	rk_buf_init(&out, 1 << 20);
	rk_buf_init(&why, 4096);
	assert_int_equal(rk_buf_addf(&cmd, "G() { gpg --homedir '%s' --batch "
				     "--quiet --pinentry-mode loopback --passphrase '' "
				     "\"$@\"; }; ", khome), RK_OK);
	for (size_t i = 0; i < sizeof(uids) / sizeof(uids[0]); i++)
		assert_int_equal(rk_buf_addf(&cmd, "G --quick-gen-key '%s' "
					     "future-default default never && ",
					     uids[i]), RK_OK);
	assert_int_equal(rk_buf_adds(&cmd, "G --armor --export 2>&1"), RK_OK);
	if (run(cmd.data, &out) != 0)
		fail_msg("making keys failed: %s", out.data);
	assert_int_equal(mail_import_key(f->home, out.data, out.len, fpr, &f->log),
			 RK_OK);
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		bool gpg_has;

		rk_buf_reset(&cmd);
		rk_buf_reset(&out);
		assert_int_equal(rk_buf_addf(&cmd, "gpg --homedir '%s' --batch "
					     "--with-colons --list-keys '<%s>' "
					     "2>/dev/null | grep -c '^pub'",
					     f->home, addrs[i]), RK_OK);
		run(cmd.data, &out);
		gpg_has = out.len && out.data[0] != '0';
		rk_buf_reset(&why);
		assert_int_equal(mail_recipient_key(f->signer, addrs[i], NULL,
						    1795169700, found, &why),
				 RK_OK);
		if (gpg_has != (found[0] != '\0'))
			fail_msg("%s: gpg %s a key, the listing %s", addrs[i],
				 gpg_has ? "finds" : "finds no",
				 found[0] ? "does" : "does not");
	}
	/* a key imported after the listing: found at the next lookup */
	rk_buf_reset(&cmd);
	rk_buf_reset(&out);
	assert_int_equal(rk_buf_addf(&cmd, "G() { gpg --homedir '%s' --batch "
				     "--quiet --pinentry-mode loopback --passphrase '' "
				     "\"$@\"; }; G --quick-gen-key 'L <late@late.example>' "
				     "future-default default never && G --armor --export "
				     "late@late.example 2>&1", khome), RK_OK);
	assert_int_equal(mail_recipient_key(f->signer, "late@late.example", NULL,
					    1795169700, found, &why), RK_OK);
	assert_string_equal(found, "");
	if (run(cmd.data, &out) != 0)
		fail_msg("making a key failed: %s", out.data);
	assert_int_equal(mail_import_key(f->home, out.data, out.len, fpr, &f->log),
			 RK_OK);
	assert_int_equal(mail_recipient_key(f->signer, "late@late.example", NULL,
					    1795169701, found, &why), RK_OK);
	assert_string_equal(found, fpr);
	/* and by the contact's fingerprint */
	assert_int_equal(mail_recipient_key(f->signer, "other@late.example", fpr,
					    1795169701, found, &why), RK_OK);
	assert_string_equal(found, fpr);
	kill_agent(khome);
	rk_buf_release(&cmd);
	rk_buf_release(&out);
	rk_buf_release(&why);
	free(khome);
}

/* Keys that cannot take a notice are skipped with the reason: a
 * signing-only key, a key expired at the caller's `now`, an address
 * nobody has a key for; a secret key is never imported. */
static void test_recipient_key_reasons(void **state)
{
	struct fixture *f = *state;
	struct rk_buf cmd, out, why, pub;
	char found[41], fpr[41];
	char *khome = NULL;

	assert_int_equal(rk_path_join(f->dir, "k", &khome), RK_OK);
	assert_int_equal(rk_mkdir_p(khome, 0700), RK_OK);
	rk_buf_init(&cmd, 8192);
	rk_buf_init(&out, 1 << 20);
	rk_buf_init(&why, 4096);
	rk_buf_init(&pub, 1 << 20);
	assert_int_equal(rk_buf_addf(&cmd, "G() { gpg --homedir '%s' --batch --quiet "
				     "--pinentry-mode loopback --passphrase '' \"$@\"; }; "
				     "G --quick-gen-key 'S <sign@example.net>' ed25519 sign never && "
				     "G --quick-gen-key 'E <exp@example.net>' future-default default 2y && "
				     "G --armor --export 2>&1", khome), RK_OK);
	if (run(cmd.data, &out) != 0)
		fail_msg("making keys failed: %s", out.data);
	assert_int_equal(mail_import_key(f->home, out.data, out.len, fpr, &f->log),
			 RK_OK);
	assert_int_equal(mail_recipient_key(f->signer, "sign@example.net", NULL,
					    1795169700, found, &why), RK_OK);
	assert_string_equal(found, "");
	assert_non_null(strstr(why.data, "has no encryption subkey"));
	rk_buf_reset(&why);
	assert_int_equal(mail_recipient_key(f->signer, "exp@example.net", NULL,
					    1795169700, found, &why), RK_OK);
	assert_int_equal(strlen(found), 40);
	/* the same key, three years on */
	assert_int_equal(mail_recipient_key(f->signer, "exp@example.net", NULL,
					    1795169700 + 3LL * 365 * 86400, found,
					    &why), RK_OK);
	assert_int_equal(mail_recipient_key(f->signer, "EXP@example.net", NULL,
					    1795169700 + 3LL * 365 * 86400, found,
					    &why), RK_OK);
	assert_string_equal(found, "");
	assert_non_null(strstr(why.data, "is expired"));
	rk_buf_reset(&why);
	assert_int_equal(mail_recipient_key(f->signer, "nobody@example.net", NULL,
					    1795169700, found, &why), RK_OK);
	assert_string_equal(found, "");
	assert_non_null(strstr(why.data, "no key in the relay's GnuPG home"));

	/* secret key material never goes in */
	rk_buf_reset(&cmd);
	assert_int_equal(rk_buf_addf(&cmd, "gpg --homedir '%s' --batch --quiet "
				     "--pinentry-mode loopback --passphrase '' "
				     "--armor --export-secret-keys sign@example.net",
				     khome), RK_OK);
	assert_int_equal(run(cmd.data, &pub), 0);
	assert_int_equal(mail_import_key(f->home, pub.data, pub.len, fpr, &f->log),
			 RK_ERR_INVAL);
	kill_agent(khome);
	free(khome);
	rk_buf_release(&cmd);
	rk_buf_release(&out);
	rk_buf_release(&why);
	rk_buf_release(&pub);
}

/* Inline: one text/plain part whose decoded body is a cleartext
 * signature gpg --verify accepts; nothing attached. */
static void test_inline_clearsigned(void **state)
{
	struct fixture *f = *state;
	struct mail_message m;
	struct mail_crypt crypt = {MAIL_FORM_INLINE, NULL, 0};
	struct rk_buf msg, cmd, out;
	GMimeMessage *parsed;
	GMimeObject *top;
	char *text;
	size_t len;

	sample_mail(&m);
	rk_buf_init(&msg, RK_MAX_MESSAGE);
	rk_buf_init(&cmd, 8192);
	rk_buf_init(&out, 1 << 20);
	assert_int_equal(mail_build_crypt(f->signer, &m, &crypt, &msg), RK_OK);
	assert_wire_lines(&msg);
	parsed = parse(&msg);
	top = g_mime_message_get_mime_part(parsed);
	assert_true(GMIME_IS_TEXT_PART(top));
	assert_string_equal(g_mime_object_get_content_type_parameter(top, "charset"),
			    "utf-8");
	text = part_text(top, &len);
	assert_int_equal(strncmp(text, "-----BEGIN PGP SIGNED MESSAGE-----", 34), 0);
	assert_non_null(strstr(text, "貴組織のネットワーク"));
	assert_null(strstr(text, "events-20261120-000001.csv"));
	write_file(f->dir, "inline.txt", text, len);
	free(text);
	assert_int_equal(rk_buf_addf(&cmd, "LC_ALL=C gpg --homedir '%s' --batch "
				     "--status-fd 1 --verify '%s/inline.txt' 2>&1",
				     f->verify, f->dir), RK_OK);
	if (run(cmd.data, &out) != 0)
		fail_msg("gpg --verify failed:\n%s", out.data);
	assert_int_equal(count(out.data, "[GNUPG:] GOODSIG"), 1);
	assert_non_null(strstr(out.data, f->fpr));
	/* without a signer there is nothing to sign with */
	rk_buf_reset(&msg);
	assert_int_equal(mail_build_crypt(NULL, &m, &crypt, &msg), RK_ERR_INVAL);
	g_object_unref(parsed);
	rk_buf_release(&msg);
	rk_buf_release(&cmd);
	rk_buf_release(&out);
}

/* WKD URLs as gpg-wks-client --print-wkd-url prints them (GnuPG 2.2.40:
 * noc@wkd.test), the local part lower-cased for the hash only. */
static void test_wkd_urls(void **state)
{
	struct rk_buf adv, dir;
	char hash[33];

	(void)state;
	rk_buf_init(&adv, 4096);
	rk_buf_init(&dir, 4096);
	assert_int_equal(mail_wkd_hash("noc", 3, hash), RK_OK);
	assert_string_equal(hash, "e1bxuz5fmgbtjxtngwnb56rnahtt48ij");
	assert_int_equal(mail_wkd_hash("NoC", 3, hash), RK_OK);
	assert_string_equal(hash, "e1bxuz5fmgbtjxtngwnb56rnahtt48ij");
	assert_int_equal(mail_wkd_urls("noc@wkd.test", 0, &adv, &dir), RK_OK);
	assert_string_equal(adv.data, "https://openpgpkey.wkd.test/.well-known/"
			    "openpgpkey/wkd.test/hu/e1bxuz5fmgbtjxtngwnb56rnahtt48ij?l=noc");
	assert_string_equal(dir.data, "https://wkd.test/.well-known/openpgpkey/hu/"
			    "e1bxuz5fmgbtjxtngwnb56rnahtt48ij?l=noc");
	rk_buf_reset(&adv);
	rk_buf_reset(&dir);
	assert_int_equal(mail_wkd_urls("a+b@x.test", 8443, &adv, &dir), RK_OK);
	assert_non_null(strstr(adv.data, "https://openpgpkey.x.test:8443/"));
	assert_non_null(strstr(adv.data, "?l=a%2Bb"));
	rk_buf_reset(&adv);
	rk_buf_reset(&dir);
	assert_int_equal(mail_wkd_urls("x@evil.test/../", 0, &adv, &dir), RK_ERR_INVAL);
	assert_int_equal(mail_wkd_urls("nobody", 0, &adv, &dir), RK_ERR_INVAL);
	assert_int_equal(mail_wkd_urls("a@b.test:99", 0, &adv, &dir), RK_ERR_INVAL);
	rk_buf_release(&adv);
	rk_buf_release(&dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signed_verifies_with_gpg),
		cmocka_unit_test(test_signed_text_only),
		cmocka_unit_test(test_header_injection),
		cmocka_unit_test(test_invalid_addresses),
		cmocka_unit_test(test_signer_selection),
		cmocka_unit_test(test_signer_reuse),
		cmocka_unit_test(test_encrypted_structure),
		cmocka_unit_test(test_recipient_key_reasons),
		cmocka_unit_test(test_recipient_key_listing),
		cmocka_unit_test(test_inline_clearsigned),
		cmocka_unit_test(test_wkd_urls),
	};
	int rc;

	mail_init();
	rc = cmocka_run_group_tests(tests, setup, teardown);
	mail_shutdown();
	return rc;
}
