/*
 * A notice as a MIME message (GMime), and its wire form.
 *
 *   headers   From, To, Cc, Reply-To, Subject (RFC 2047 UTF-8 B-encoded
 *             words where not plain ASCII, encoded here, not by GMime),
 *             Date, Message-ID, In-Reply-To, References,
 *             Auto-Submitted: auto-generated, X-Renraku-Ticket,
 *             X-Renraku-Ack: <url>, MIME-Version
 *   content   text/plain; charset=utf-8, quoted-printable, or
 *             multipart/mixed of that text and the attachment (base64)
 *   signed    multipart/signed; protocol="application/pgp-signature";
 *             micalg=pgp-<hash> of the content and the armored detached
 *             signature (RFC 3156)
 *
 * Header injection: every address, Message-ID, ticket id and URL is
 * checked and refused (RK_ERR_INVAL) when it holds a control character;
 * display names and the subject have control characters replaced with
 * spaces.  What GMime writes is checked again at the end: CRLF line ends,
 * 7-bit, no line over 998 bytes, and, when signed, the first part of the
 * multipart/signed is byte for byte what was signed.
 *
 * The content is written once in Unix form with "From " armored (=46rom)
 * and trailing white space stripped, re-parsed with GMimeParser into the
 * part that goes into the message (this is how GMime's own
 * g_mime_multipart_signed_sign works), and signed in its CRLF form: the
 * whole message is written in Unix form and converted to CRLF at the end,
 * so the signed part on the wire is exactly the signed bytes.
 */
#include <gmime/gmime.h>
#include <idn2.h>
#include <stdlib.h>
#include <string.h>

#include "private.h"

#define MIME_MAX_LINE 998 /* RFC 5322 2.1.1, without the CRLF */
#define MIME_MAX_CC 100   /* addresses in one Cc */
#define MIME_SIG_PROLOGUE \
	"This is an OpenPGP/MIME signed message (RFC 4880 and 3156)"
#define MIME_ENC_PROLOGUE \
	"This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)"

/* Log a refusal when there is a log (signed builds); unsigned builds are
 * silent: their callers (and the fuzzer) see the code only. */
static enum rk_err refuse(const struct rk_log *log, enum rk_err err,
			  const char *field, const char *why)
{
	if (log)
		rk_log_warn(log, "notice %s %s", field, why);
	return err;
}

/* ------------------------------------------------------------ checks */

static bool is_atext(unsigned char c);

/* "<left@right>" with dot-atom-text on both sides (RFC 5322 3.6.4). */
static bool msgid_valid(const char *s, size_t n)
{
	size_t at = 0;

	if (n < 5 || n > RK_MAX_HEADER_VALUE || s[0] != '<' || s[n - 1] != '>')
		return false;
	for (size_t i = 1; i + 1 < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '@') {
			if (at)
				return false;
			at = i;
		} else if (!is_atext(c) && c != '.') {
			return false;
		}
	}
	return at > 1 && at < n - 2;
}

/* A domain as it may go on the wire: LDH labels, and A-labels ("xn--")
 * that decode and encode back to themselves.  GMime writes a label it
 * cannot decode as raw 8-bit text. */
static bool domain_wire_ok(const char *domain)
{
	const char *p = domain;

	if (!*domain)
		return false;
	while (*p) {
		size_t n = strcspn(p, ".");

		if (n == 0 || n > 63 || p[0] == '-' || p[n - 1] == '-')
			return false;
		for (size_t i = 0; i < n; i++) {
			char c = p[i];

			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			      c == '-'))
				return false;
		}
		if (n >= 4 && memcmp(p, "xn--", 4) == 0) {
			char label[64], *uni = NULL, *back = NULL;
			bool same;

			memcpy(label, p, n);
			label[n] = '\0';
			same = idn2_to_unicode_8z8z(label, &uni, 0) == IDN2_OK &&
			       idn2_to_ascii_8z(uni, &back, IDN2_NONTRANSITIONAL) ==
				       IDN2_OK &&
			       strcmp(back, label) == 0;
			idn2_free(uni);
			idn2_free(back);
			if (!same)
				return false;
		}
		p += n;
		if (*p == '.' && *++p == '\0')
			return false;
	}
	return true;
}

/* The ASCII form of an address: local part as renraku accepts it for
 * contacts (printable ASCII, no specials), domain normalised to A-labels.
 * Anything else, control characters first of all, is RK_ERR_INVAL. */
static enum rk_err addr_ascii(const char *in, struct rk_buf *out)
{
	const char *at;
	char *domain = NULL;
	enum rk_err err;

	rk_buf_reset(out);
	if (!in || strlen(in) > RK_MAX_EMAIL || rk_str_has_ctl(in, false))
		return RK_ERR_INVAL;
	at = strrchr(in, '@');
	if (!at || at == in || at - in > 64 || in[0] == '.' || at[-1] == '.')
		return RK_ERR_INVAL;
	for (const char *p = in; p < at; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= 0x20 || c >= 0x7f || strchr("\"(),:;<>@[\\]", c) ||
		    (c == '.' && p[1] == '.'))
			return RK_ERR_INVAL;
	}
	if (rk_domain_normalize(at + 1, &domain) != RK_OK ||
	    !domain_wire_ok(domain)) {
		free(domain);
		return RK_ERR_INVAL;
	}
	err = rk_buf_add(out, in, (size_t)(at - in + 1));
	if (!err)
		err = rk_buf_adds(out, domain);
	free(domain);
	if (!err && out->len > RK_MAX_EMAIL)
		err = RK_ERR_INVAL;
	return err;
}

/* One line of display text: valid UTF-8; C0/C1 controls, the Unicode
 * line and paragraph separators and the bidirectional controls become
 * spaces (rk_str_clean_line); trimmed.  "=?" becomes "= ?": a decoder
 * would take "=?utf-8?q?=0D=0ABcc:...?=" typed into a subject or name for
 * an encoded word and hand CR LF to whatever shows or copies the decoded
 * text. */
static enum rk_err clean_text(const char *in, struct rk_buf *out)
{
	size_t n = strlen(in);
	enum rk_err err = RK_OK;

	rk_buf_reset(out);
	if (n > RK_MAX_HEADER_VALUE)
		return RK_ERR_LIMIT;
	if (!rk_utf8_valid(in, n))
		return RK_ERR_INVAL;
	for (size_t i = 0; i < n && !err; i++) {
		if (in[i] == '=' && in[i + 1] == '?')
			err = rk_buf_add(out, "= ", 2);
		else
			err = rk_buf_addc(out, in[i]);
	}
	if (!err && out->len) {
		rk_str_clean_line(out->data);
		rk_str_trim(out->data);
		out->len = strlen(out->data);
		if (out->len > RK_MAX_HEADER_VALUE)
			err = RK_ERR_LIMIT;
	}
	return err;
}

/* A token for our own headers: printable ASCII, no space, none of the
 * characters in `bad`. */
static bool token_valid(const char *s, size_t max, const char *bad)
{
	size_t n;

	if (!s)
		return false;
	n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || strchr(bad, c))
			return false;
	}
	return true;
}

/* "type/subtype" made of RFC 2045 token characters. */
static bool mime_type_valid(const char *s)
{
	const char *slash = s ? strchr(s, '/') : NULL;

	return slash && slash != s && slash[1] &&
	       token_valid(s, 127, "()<>@,;:\\\"[]?=") &&
	       strchr(slash + 1, '/') == NULL;
}

/* ------------------------------------------------------------ headers */

/*
 * Header text is encoded here, not by GMime: GMime's folding of long
 * display names re-wraps Q-encoded words without escaping '=' (text
 * "x=0ABcc" came out as "=?us-ascii?q?x=0ABcc?=", which decodes to a line
 * break).  Words of plain ASCII stay as they are (the subject tag
 * "[RENRAKU #...]" stays greppable); runs of other words become UTF-8
 * B-encoded words of at most 45 bytes of text each (72 characters), on
 * whole characters.  Lines are folded before 76 columns where there is
 * white space.
 */
#define MIME_EW_TEXT 45   /* UTF-8 bytes in one encoded word */
#define MIME_FOLD_AT 76   /* fold before a line grows past this */
#define MIME_PLAIN_WORD 70 /* longer ASCII words are encoded (and fold) */

/* A header value being written: raw holds " value\n" with folds. */
struct header_text {
	struct rk_buf raw;
	size_t col; /* length of the current line, the name included */
};

static void header_text_init(struct header_text *h, const char *name)
{
	/* room for a Cc of MIME_MAX_CC addresses; single values are held to
	 * RK_MAX_HEADER_VALUE before they get here */
	rk_buf_init(&h->raw, (size_t)MIME_MAX_CC * (RK_MAX_EMAIL + 4) + 4096);
	h->col = strlen(name) + 1; /* "Name:" */
}

/* Append a word, after a space (folding there when the line would grow
 * too long) unless it is the first. */
static enum rk_err header_word(struct header_text *h, const char *w, size_t n,
			       bool first)
{
	enum rk_err err = RK_OK;

	if (!first && h->col + 1 + n > MIME_FOLD_AT && h->col > 1) {
		err = rk_buf_add(&h->raw, "\n ", 2);
		h->col = 1;
	} else {
		err = rk_buf_addc(&h->raw, ' ');
		h->col++;
	}
	if (!err)
		err = rk_buf_add(&h->raw, w, n);
	h->col += n;
	return err;
}

/* Length of the UTF-8 sequence starting with byte c (text is valid). */
static size_t utf8_len(unsigned char c)
{
	return c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

/* text[0..n) as UTF-8 B-encoded words. */
static enum rk_err header_encoded(struct header_text *h, const char *text,
				  size_t n, bool first)
{
	enum rk_err err = RK_OK;
	size_t i = 0;

	while (i < n && !err) {
		size_t take = 0;
		gchar *b64;
		char word[96];

		while (i + take < n) {
			size_t c = utf8_len((unsigned char)text[i + take]);

			if (take + c > MIME_EW_TEXT)
				break;
			take += c;
		}
		b64 = g_base64_encode((const guchar *)text + i, take);
		snprintf(word, sizeof(word), "=?UTF-8?B?%s?=", b64);
		g_free(b64);
		err = header_word(h, word, strlen(word), first);
		first = false;
		i += take;
	}
	return err;
}

static bool is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* A word written as it is: printable ASCII (atext only in a phrase), not
 * too long. */
static bool word_plain(const char *w, size_t n, bool phrase)
{
	if (n > MIME_PLAIN_WORD)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)w[i];

		if (phrase ? !is_atext(c) : (c <= 0x20 || c >= 0x7f))
			return false;
	}
	return true;
}

/* Text cleaned by clean_text (one line of UTF-8, no "=?") as header
 * words: plain words as they are, each run of other words (with the
 * spaces inside it, and any empty words after it, so that no space is
 * lost between two encoded words) as encoded words. */
static enum rk_err header_words(struct header_text *h, const char *text,
				bool phrase, bool first)
{
	const char *p = text;
	enum rk_err err = RK_OK;

	while (!err) {
		size_t n = strcspn(p, " ");

		if (word_plain(p, n, phrase)) {
			err = header_word(h, p, n, first);
			p += n;
		} else {
			const char *end = p + n;

			while (*end == ' ') {
				size_t m = strcspn(end + 1, " ");

				if (m && word_plain(end + 1, m, phrase))
					break;
				end += 1 + m;
			}
			err = header_encoded(h, p, (size_t)(end - p), first);
			p = end;
		}
		first = false;
		if (*p != ' ')
			break;
		p++;
	}
	return err;
}

/* Set header `name` to the value in h (raw, folded): GMime keeps raw
 * values as they are when it writes the message. */
static enum rk_err header_set(GMimeObject *obj, const char *name,
			      struct header_text *h)
{
	GMimeHeaderList *list = g_mime_object_get_header_list(obj);
	struct rk_buf flat;
	GMimeHeader *hdr;
	enum rk_err err;

	rk_buf_init(&flat, h->raw.max);
	if ((err = rk_buf_addc(&h->raw, '\n')))
		goto cleanup;
	for (size_t i = 1; i + 1 < h->raw.len && !err; i++)
		if (h->raw.data[i] != '\n')
			err = rk_buf_addc(&flat, h->raw.data[i]);
	if (err)
		goto cleanup;
	g_mime_header_list_append(list, name, flat.data, NULL);
	hdr = g_mime_header_list_get_header_at(
		list, g_mime_header_list_get_count(list) - 1);
	g_mime_header_set_raw_value(hdr, h->raw.data);
cleanup:
	rk_buf_release(&flat);
	return err;
}

/* A header whose value is one checked ASCII token. */
static enum rk_err header_token(GMimeObject *obj, const char *name,
				const char *value)
{
	struct header_text h;
	enum rk_err err;

	header_text_init(&h, name);
	err = header_word(&h, value, strlen(value), true);
	if (!err)
		err = header_set(obj, name, &h);
	rk_buf_release(&h.raw);
	return err;
}

/* One mailbox into h: [display-name] <addr>, or addr alone. */
static enum rk_err mailbox_words(struct header_text *h, const char *name,
				 const char *addr, bool first,
				 const char *field, const struct rk_log *log)
{
	struct rk_buf ascii, clean, angle;
	enum rk_err err;

	rk_buf_init(&ascii, RK_MAX_EMAIL + 256);
	rk_buf_init(&clean, RK_MAX_HEADER_VALUE * 2);
	rk_buf_init(&angle, RK_MAX_EMAIL + 256);
	if ((err = addr_ascii(addr, &ascii))) {
		err = refuse(log, err, field, "address is not valid");
		goto cleanup;
	}
	if (name && (err = clean_text(name, &clean))) {
		err = refuse(log, err, field,
			     "display name is not valid UTF-8 or too long");
		goto cleanup;
	}
	if (clean.len == 0) {
		err = header_word(h, ascii.data, ascii.len, first);
		goto cleanup;
	}
	if ((err = header_words(h, clean.data, true, first)) ||
	    (err = rk_buf_addf(&angle, "<%s>", ascii.data)))
		goto cleanup;
	err = header_word(h, angle.data, angle.len, false);
cleanup:
	rk_buf_release(&ascii);
	rk_buf_release(&clean);
	rk_buf_release(&angle);
	return err;
}

static enum rk_err add_mailbox(GMimeMessage *msg, const char *header,
			       const char *name, const char *addr,
			       const struct rk_log *log)
{
	struct header_text h;
	enum rk_err err;

	header_text_init(&h, header);
	err = mailbox_words(&h, name, addr, true, header, log);
	if (!err)
		err = header_set(GMIME_OBJECT(msg), header, &h);
	rk_buf_release(&h.raw);
	return err;
}

/* The recipients of a message: To, then each Cc address, each in its
 * wire form (the domain as an A-label), a repeat (ASCII case ignored)
 * left out.  One list serves the Cc header and the envelope, so that
 * the envelope is exactly the To and Cc.  *out holds "a@x\0b@y\0...",
 * *n addresses; caller frees *out. */
static enum rk_err recipient_list(const char *to, const char *cc,
				  struct rk_buf *out, size_t *n,
				  const struct rk_log *log)
{
	struct rk_buf one, ascii;
	enum rk_err err = RK_OK;
	const char *p = cc ? cc : "";

	*n = 0;
	rk_buf_init(&one, RK_MAX_EMAIL * 2);
	rk_buf_init(&ascii, RK_MAX_EMAIL + 256);
	if (strlen(p) > (size_t)MIME_MAX_CC * (RK_MAX_EMAIL + 2)) {
		err = refuse(log, RK_ERR_LIMIT, "Cc", "is too long");
		goto cleanup;
	}
	for (bool first = true; !err && (first || *p); first = false) {
		size_t len = first ? strlen(to ? to : "") : strcspn(p, ",");
		const char *at = first ? (to ? to : "") : p;
		bool repeat = false;

		rk_buf_reset(&one);
		if (len > RK_MAX_EMAIL + 64) {
			err = refuse(log, RK_ERR_INVAL, first ? "To" : "Cc",
				     "address is too long");
			break;
		}
		if ((err = rk_buf_add(&one, at, len)))
			break;
		if (!first) {
			p += len;
			if (*p == ',')
				p++;
		}
		if (one.len)
			rk_str_trim(one.data);
		if (!*one.data) {
			if (first) {
				err = refuse(log, RK_ERR_INVAL, "To", "has no address");
				break;
			}
			continue;
		}
		if ((err = addr_ascii(one.data, &ascii))) {
			err = refuse(log, err, first ? "To" : "Cc",
				     "address is not valid");
			break;
		}
		for (size_t i = 0, off = 0; i < *n; i++) {
			if (rk_str_ieq(out->data + off, ascii.data))
				repeat = true;
			off += strlen(out->data + off) + 1;
		}
		if (repeat)
			continue;
		if (*n > MIME_MAX_CC) {
			err = refuse(log, RK_ERR_LIMIT, "Cc",
				     "has too many addresses");
			break;
		}
		if (!(err = rk_buf_add(out, ascii.data, ascii.len + 1)))
			(*n)++;
	}
cleanup:
	rk_buf_release(&one);
	rk_buf_release(&ascii);
	return err;
}

static enum rk_err add_cc(GMimeMessage *msg, const char *to, const char *cc,
			  const struct rk_log *log)
{
	struct header_text h;
	struct rk_buf list;
	size_t n = 0, off;
	enum rk_err err;

	header_text_init(&h, "Cc");
	rk_buf_init(&list, (size_t)(MIME_MAX_CC + 1) * (RK_MAX_EMAIL + 1) + 1);
	if ((err = recipient_list(to, cc, &list, &n, log)))
		goto cleanup;
	off = strlen(list.data) + 1; /* the To address comes first */
	for (size_t i = 1; i < n && !err; i++) {
		const char *addr = list.data + off;

		if (i > 1) {
			if ((err = rk_buf_addc(&h.raw, ',')))
				break;
			h.col++;
		}
		err = mailbox_words(&h, NULL, addr, i == 1, "Cc", log);
		off += strlen(addr) + 1;
	}
	if (!err && n > 1)
		err = header_set(GMIME_OBJECT(msg), "Cc", &h);
cleanup:
	rk_buf_release(&h.raw);
	rk_buf_release(&list);
	return err;
}

enum rk_err mail_envelope(const char *to, const char *cc, struct rk_buf *out,
			  const struct rk_log *log)
{
	struct rk_buf list;
	size_t n = 0, off = 0;
	enum rk_err err;

	rk_buf_init(&list, (size_t)(MIME_MAX_CC + 1) * (RK_MAX_EMAIL + 1) + 1);
	err = recipient_list(to, cc, &list, &n, log);
	for (size_t i = 0; !err && i < n; i++) {
		err = rk_buf_addf(out, "%s%s", i ? "," : "", list.data + off);
		off += strlen(list.data + off) + 1;
	}
	rk_buf_release(&list);
	return err;
}

/* In-Reply-To / References: Message-IDs separated by spaces, folded
 * between them. */
static enum rk_err add_msgid_list(GMimeMessage *msg, const char *name,
				  const char *value, const struct rk_log *log)
{
	struct header_text h;
	size_t ids = 0;
	enum rk_err err = RK_OK;

	header_text_init(&h, name);
	if (strlen(value) > RK_MAX_HEADER_VALUE) {
		err = refuse(log, RK_ERR_LIMIT, name, "is too long");
		goto cleanup;
	}
	for (const char *p = value; *p && !err;) {
		size_t n;

		if (*p == ' ') {
			p++;
			continue;
		}
		n = strcspn(p, " ");
		if (!msgid_valid(p, n)) {
			err = refuse(log, RK_ERR_INVAL, name,
				     "holds something that is not a Message-ID");
			break;
		}
		err = header_word(&h, p, n, ids == 0);
		ids++;
		p += n;
	}
	if (!err && ids == 0)
		err = refuse(log, RK_ERR_INVAL, name, "is empty");
	if (!err)
		err = header_set(GMIME_OBJECT(msg), name, &h);
cleanup:
	rk_buf_release(&h.raw);
	return err;
}

static enum rk_err add_subject(GMimeMessage *msg, const char *subject,
			       const struct rk_log *log)
{
	struct header_text h;
	struct rk_buf clean;
	enum rk_err err;

	header_text_init(&h, "Subject");
	rk_buf_init(&clean, RK_MAX_HEADER_VALUE * 2);
	if (!subject || (err = clean_text(subject, &clean))) {
		err = refuse(log, subject ? err : RK_ERR_INVAL, "Subject",
			     "is missing, not valid UTF-8 or too long");
		goto cleanup;
	}
	if ((err = header_words(&h, clean.data, false, true)) ||
	    (err = header_set(GMIME_OBJECT(msg), "Subject", &h)))
		goto cleanup;
cleanup:
	rk_buf_release(&h.raw);
	rk_buf_release(&clean);
	return err;
}

static enum rk_err set_headers(GMimeMessage *msg, const struct mail_message *m,
			       const struct rk_log *log)
{
	GMimeObject *obj = GMIME_OBJECT(msg);
	GDateTime *date = NULL;
	struct rk_buf text;
	size_t idlen;
	enum rk_err err;

	rk_buf_init(&text, RK_MAX_HEADER_VALUE + 16);
	date = g_date_time_new_from_unix_utc(m->date);
	if (!date || m->date < 0) {
		err = refuse(log, RK_ERR_INVAL, "Date", "is out of range");
		goto cleanup;
	}
	g_mime_message_set_date(msg, date);
	if ((err = add_mailbox(msg, "From", m->from_name, m->from_addr, log)) ||
	    (err = add_mailbox(msg, "To", m->to_name, m->to_addr, log)) ||
	    (m->cc && (err = add_cc(msg, m->to_addr, m->cc, log))) ||
	    (m->reply_to &&
	     (err = add_mailbox(msg, "Reply-To", NULL, m->reply_to, log))) ||
	    (err = add_subject(msg, m->subject, log)))
		goto cleanup;
	idlen = m->message_id ? strlen(m->message_id) : 0;
	if (!m->message_id || !msgid_valid(m->message_id, idlen)) {
		err = refuse(log, RK_ERR_INVAL, "Message-ID",
			     "is not <left@right>");
		goto cleanup;
	}
	if ((err = rk_buf_add(&text, m->message_id + 1, idlen - 2)))
		goto cleanup;
	g_mime_message_set_message_id(msg, text.data);
	if ((m->in_reply_to &&
	     (err = add_msgid_list(msg, "In-Reply-To", m->in_reply_to, log))) ||
	    (m->references &&
	     (err = add_msgid_list(msg, "References", m->references, log))) ||
	    (err = header_token(obj, "Auto-Submitted", "auto-generated")))
		goto cleanup;
	if (m->ticket_id) {
		if (!token_valid(m->ticket_id, 64, "()<>@,;:\\\"[]?=/")) {
			err = refuse(log, RK_ERR_INVAL, "ticket id",
				     "is not a plain token");
			goto cleanup;
		}
		if ((err = header_token(obj, "X-Renraku-Ticket", m->ticket_id)))
			goto cleanup;
	}
	if (m->tlp) {
		if (!token_valid(m->tlp, 32, "()<>@,;:\\\"[]?=/")) {
			err = refuse(log, RK_ERR_INVAL, "TLP", "is not a plain token");
			goto cleanup;
		}
		if ((err = header_token(obj, "X-Renraku-TLP", m->tlp)))
			goto cleanup;
	}
	if (m->ack_url) {
		if (!token_valid(m->ack_url, RK_MAX_HEADER_VALUE, "<>\"\\{}|^`") ||
		    (strncmp(m->ack_url, "https://", 8) != 0 &&
		     strncmp(m->ack_url, "http://", 7) != 0)) {
			err = refuse(log, RK_ERR_INVAL, "acknowledgement URL",
				     "is not an http(s) URL without spaces "
				     "or control characters");
			goto cleanup;
		}
		rk_buf_reset(&text);
		if ((err = rk_buf_addf(&text, "<%s>", m->ack_url))) {
			err = refuse(log, RK_ERR_LIMIT, "acknowledgement URL",
				     "is too long");
			goto cleanup;
		}
		if ((err = header_token(obj, "X-Renraku-Ack", text.data)))
			goto cleanup;
	}
cleanup:
	if (date)
		g_date_time_unref(date);
	rk_buf_release(&text);
	return err;
}

/* ------------------------------------------------------------ content */

/* The body with LF line ends (CRLF and lone CR become LF), ending with a
 * newline. */
static enum rk_err body_text(const char *body, struct rk_buf *out)
{
	size_t n = strlen(body);
	enum rk_err err = RK_OK;

	if (n > RK_MAX_MESSAGE)
		return RK_ERR_LIMIT;
	if (!rk_utf8_valid(body, n))
		return RK_ERR_INVAL;
	if ((err = rk_buf_grow(out, n + 1)))
		return err;
	for (size_t i = 0; i < n && !err; i++) {
		if (body[i] == '\r') {
			if (i + 1 < n && body[i + 1] == '\n')
				i++;
			err = rk_buf_addc(out, '\n');
		} else {
			err = rk_buf_addc(out, body[i]);
		}
	}
	if (!err && (out->len == 0 || out->data[out->len - 1] != '\n'))
		err = rk_buf_addc(out, '\n');
	return err;
}

static enum rk_err build_attachment(const struct mail_message *m,
				    GMimePart **out, const struct rk_log *log)
{
	const char *type = m->attach_type ? m->attach_type : "text/csv";
	char major[128], *minor;
	GMimePart *part = NULL;
	GMimeStream *stream = NULL;
	GMimeDataWrapper *wrapper = NULL;
	enum rk_err err = RK_OK;

	*out = NULL;
	if (!m->attach && m->attach_len) {
		err = refuse(log, RK_ERR_INVAL, "attachment", "has no data");
		goto cleanup;
	}
	if (m->attach_len > RK_MAX_ATTACHMENT) {
		err = refuse(log, RK_ERR_LIMIT, "attachment",
			     "exceeds RK_MAX_ATTACHMENT");
		goto cleanup;
	}
	if (!mime_type_valid(type)) {
		err = refuse(log, RK_ERR_INVAL, "attachment type",
			     "is not type/subtype");
		goto cleanup;
	}
	if (strlen(m->attach_name) > 255 || !*m->attach_name ||
	    rk_str_has_ctl(m->attach_name, false) ||
	    !rk_utf8_valid(m->attach_name, strlen(m->attach_name)) ||
	    strpbrk(m->attach_name, "/\\\"") || strstr(m->attach_name, "=?")) {
		err = refuse(log, RK_ERR_INVAL, "attachment name",
			     "is not a plain UTF-8 file name");
		goto cleanup;
	}
	snprintf(major, sizeof(major), "%s", type);
	minor = strchr(major, '/');
	*minor++ = '\0';
	part = g_mime_part_new_with_type(major, minor);
	if (rk_str_ieq(major, "text"))
		g_mime_object_set_content_type_parameter(GMIME_OBJECT(part),
							 "charset", "utf-8");
	g_mime_part_set_filename(part, m->attach_name);
	stream = g_mime_stream_mem_new_with_buffer(m->attach ? m->attach : "",
						   m->attach_len);
	wrapper = g_mime_data_wrapper_new_with_stream(
		stream, GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(part, wrapper);
	g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_BASE64);
	*out = part;
	part = NULL;
cleanup:
	if (wrapper)
		g_object_unref(wrapper);
	if (stream)
		g_object_unref(stream);
	if (part)
		g_object_unref(part);
	return err;
}

/* The content part: the text, or multipart/mixed of text and attachment. */
static enum rk_err build_content(const struct mail_message *m,
				 GMimeObject **out, const struct rk_log *log)
{
	GMimeTextPart *text = NULL;
	GMimePart *attachment = NULL;
	GMimeMultipart *mixed = NULL;
	GMimeStream *stream = NULL;
	GMimeDataWrapper *wrapper = NULL;
	struct rk_buf body;
	enum rk_err err;

	*out = NULL;
	rk_buf_init(&body, RK_MAX_MESSAGE);
	if (!m->body || (err = body_text(m->body, &body))) {
		err = refuse(log, m->body ? err : RK_ERR_INVAL, "body",
			     "is missing, not valid UTF-8 or too long");
		goto cleanup;
	}
	/* The UTF-8 bytes as they are: g_mime_text_part_set_text would pick
	 * the "best" charset and turn text that fits in Latin-1 ("café")
	 * into ISO-8859-1 bytes. */
	text = g_mime_text_part_new_with_subtype("plain");
	g_mime_object_set_content_type_parameter(GMIME_OBJECT(text), "charset",
						 "utf-8");
	stream = g_mime_stream_mem_new_with_buffer(body.data, body.len);
	wrapper = g_mime_data_wrapper_new_with_stream(
		stream, GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(GMIME_PART(text), wrapper);
	g_mime_part_set_content_encoding(GMIME_PART(text),
					 GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
	if (!m->attach_name) {
		*out = GMIME_OBJECT(text);
		text = NULL;
		goto cleanup;
	}
	if ((err = build_attachment(m, &attachment, log)))
		goto cleanup;
	mixed = g_mime_multipart_new_with_subtype("mixed");
	g_mime_multipart_add(mixed, GMIME_OBJECT(text));
	g_mime_multipart_add(mixed, GMIME_OBJECT(attachment));
	*out = GMIME_OBJECT(mixed);
	mixed = NULL;
cleanup:
	if (text)
		g_object_unref(text);
	if (attachment)
		g_object_unref(attachment);
	if (mixed)
		g_object_unref(mixed);
	if (wrapper)
		g_object_unref(wrapper);
	if (stream)
		g_object_unref(stream);
	rk_buf_release(&body);
	return err;
}

/* ------------------------------------------------------------ wire form */

/* Append p[0..n) to out with every LF not preceded by CR made CRLF. */
static enum rk_err add_crlf(struct rk_buf *out, const char *p, size_t n)
{
	const char *end = p + n, *from = p, *lf;
	size_t extra = 0;
	char *w;
	enum rk_err err;

	if (!n) {
		if ((err = rk_buf_grow(out, 0)))
			return err;
		out->data[out->len] = '\0';
		return RK_OK;
	}
	/* line by line (memchr): a message is mostly long runs of text */
	for (lf = p; (lf = memchr(lf, '\n', (size_t)(end - lf))); lf++)
		if (lf == p || lf[-1] != '\r')
			extra++;
	if (n > SIZE_MAX - extra)
		return RK_ERR_LIMIT;
	if ((err = rk_buf_grow(out, n + extra)))
		return err;
	w = out->data + out->len;
	for (lf = p; (lf = memchr(lf, '\n', (size_t)(end - lf))); lf++) {
		if (lf != p && lf[-1] == '\r')
			continue;
		/* the text up to the LF, a CR; the LF starts the next run */
		memcpy(w, from, (size_t)(lf - from));
		w += lf - from;
		*w++ = '\r';
		from = lf;
	}
	memcpy(w, from, (size_t)(end - from));
	out->len += n + extra;
	out->data[out->len] = '\0';
	return RK_OK;
}

/* What goes over SMTP: lines end with CRLF (also the last), no bare CR
 * or LF, 7-bit printable text and TAB only, no line over 998 bytes. */
static enum rk_err check_wire(const char *p, size_t n)
{
	size_t line = 0;

	if (n < 2 || p[n - 2] != '\r' || p[n - 1] != '\n')
		return RK_ERR_MIME;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\r') {
			if (i + 1 >= n || p[i + 1] != '\n')
				return RK_ERR_MIME;
			i++;
			line = 0;
			continue;
		}
		if (c == '\n' || c >= 0x7f || (c < 0x20 && c != '\t'))
			return RK_ERR_MIME;
		if (++line > MIME_MAX_LINE)
			return RK_ERR_LIMIT;
	}
	return RK_OK;
}

/* Write obj in Unix form into a new memory stream (caller unrefs). */
static enum rk_err write_unix(GMimeObject *obj, GMimeStream **out)
{
	GMimeFormatOptions *fmt = g_mime_format_options_new();
	GMimeStream *mem = g_mime_stream_mem_new();
	enum rk_err err = RK_OK;

	*out = NULL;
	g_mime_format_options_set_newline_format(fmt, GMIME_NEWLINE_FORMAT_UNIX);
	if (g_mime_object_write_to_stream(obj, fmt, mem) < 0 ||
	    g_mime_stream_flush(mem) != 0)
		err = RK_ERR_MIME;
	g_mime_format_options_free(fmt);
	if (err) {
		g_object_unref(mem);
		return err;
	}
	*out = mem;
	return RK_OK;
}

/* The content as it is signed (RFC 3156 section 3 and 5.4): "From " at
 * the start of a line becomes "=46rom " (only quoted-printable text can
 * start a line with it here: part headers never do, base64 has no
 * spaces) and trailing white space is stripped (quoted-printable encodes
 * its own, so this only guards against what an MTA would strip).
 * GMime's From filter is not used: it drops a last line that starts with
 * "F" when no newline follows. */
static enum rk_err armor(struct rk_buf *out, const char *p, size_t n)
{
	enum rk_err err = RK_OK;
	size_t i = 0;

	while (i < n && !err) {
		const char *nl = memchr(p + i, '\n', n - i);
		size_t end = nl ? (size_t)(nl - p) : n, keep = end;

		while (keep > i && (p[keep - 1] == ' ' || p[keep - 1] == '\t'))
			keep--;
		if (keep - i >= 5 && memcmp(p + i, "From ", 5) == 0) {
			err = rk_buf_add(out, "=46", 3);
			i++;
		}
		if (!err)
			err = rk_buf_add(out, p + i, keep - i);
		if (!err && nl)
			err = rk_buf_addc(out, '\n');
		i = end + 1;
	}
	return err;
}

/* RFC 3156 section 5 from the receiving side: the bytes between the first
 * delimiter line's CRLF and the CRLF before the next delimiter must be
 * the signed bytes. */
static bool signed_part_matches(const char *wire, size_t n,
				const char *boundary, const struct rk_buf *signed_bytes)
{
	struct rk_buf delim;
	const char *start, *end, *limit = wire + n;
	bool ok = false;

	rk_buf_init(&delim, 256);
	if (rk_buf_addf(&delim, "\r\n--%s\r\n", boundary))
		goto cleanup;
	start = memmem(wire, n, delim.data, delim.len);
	if (!start)
		goto cleanup;
	start += delim.len;
	delim.len -= 2; /* "\r\n--boundary" ends the part */
	end = memmem(start, (size_t)(limit - start), delim.data, delim.len);
	ok = end && (size_t)(end - start) == signed_bytes->len &&
	     memcmp(start, signed_bytes->data, signed_bytes->len) == 0;
cleanup:
	rk_buf_release(&delim);
	return ok;
}

static enum rk_err sign_content(struct mail_signer *signer,
				GMimeObject *part, const struct rk_buf *dos,
				GMimeObject **out, const char **boundary)
{
	const struct rk_log *log = mail_signer_log(signer);
	GMimeMultipartSigned *mps = NULL;
	GMimePart *sigpart = NULL;
	GMimeStream *stream = NULL;
	GMimeDataWrapper *wrapper = NULL;
	struct rk_buf sig;
	char micalg[MAIL_MICALG_MAX];
	enum rk_err err;

	*out = NULL;
	rk_buf_init(&sig, 1u << 20);
	if ((err = mail_sign_detached(signer, dos->data, dos->len, &sig,
					micalg)))
		goto cleanup;
	sigpart = g_mime_part_new_with_type("application", "pgp-signature");
	g_mime_part_set_filename(sigpart, "signature.asc");
	g_mime_part_set_content_description(sigpart,
					    "OpenPGP digital signature");
	stream = g_mime_stream_mem_new_with_buffer(sig.data, sig.len);
	wrapper = g_mime_data_wrapper_new_with_stream(
		stream, GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(sigpart, wrapper);
	g_mime_part_set_content_encoding(sigpart, GMIME_CONTENT_ENCODING_7BIT);

	mps = g_mime_multipart_signed_new();
	g_mime_multipart_add(GMIME_MULTIPART(mps), part);
	g_mime_multipart_add(GMIME_MULTIPART(mps), GMIME_OBJECT(sigpart));
	g_mime_object_set_content_type_parameter(GMIME_OBJECT(mps), "protocol",
						 "application/pgp-signature");
	g_mime_object_set_content_type_parameter(GMIME_OBJECT(mps), "micalg",
						 micalg);
	g_mime_multipart_set_boundary(GMIME_MULTIPART(mps), NULL);
	g_mime_multipart_set_prologue(GMIME_MULTIPART(mps), MIME_SIG_PROLOGUE);
	*boundary = g_mime_multipart_get_boundary(GMIME_MULTIPART(mps));
	if (!*boundary) {
		err = rk_fail(log, RK_ERR_MIME, "multipart/signed without a "
			      "boundary");
		goto cleanup;
	}
	*out = GMIME_OBJECT(mps);
	mps = NULL;
cleanup:
	if (mps)
		g_object_unref(mps);
	if (wrapper)
		g_object_unref(wrapper);
	if (stream)
		g_object_unref(stream);
	if (sigpart)
		g_object_unref(sigpart);
	rk_buf_release(&sig);
	return err;
}

/* The multipart/encrypted of RFC 3156 section 4 around the armored
 * OpenPGP message: the version part, then the ciphertext. */
static enum rk_err encrypted_entity(const struct rk_buf *cipher,
				    GMimeObject **out)
{
	static const char version[] = "Version: 1\n";
	GMimeMultipartEncrypted *mpe = g_mime_multipart_encrypted_new();
	GMimePart *ver = g_mime_part_new_with_type("application",
						    "pgp-encrypted");
	GMimePart *data = g_mime_part_new_with_type("application",
						     "octet-stream");
	GMimeStream *vs = g_mime_stream_mem_new_with_buffer(version,
							    sizeof(version) - 1);
	GMimeStream *ds = g_mime_stream_mem_new_with_buffer(cipher->data,
							    cipher->len);
	GMimeDataWrapper *vw = g_mime_data_wrapper_new_with_stream(
		vs, GMIME_CONTENT_ENCODING_DEFAULT);
	GMimeDataWrapper *dw = g_mime_data_wrapper_new_with_stream(
		ds, GMIME_CONTENT_ENCODING_DEFAULT);

	g_mime_part_set_content_description(ver, "PGP/MIME version identification");
	g_mime_part_set_content(ver, vw);
	g_mime_part_set_content_encoding(ver, GMIME_CONTENT_ENCODING_7BIT);
	g_mime_part_set_content_description(data, "OpenPGP encrypted message");
	g_mime_part_set_filename(data, "encrypted.asc");
	g_mime_object_set_disposition(GMIME_OBJECT(data), "inline");
	g_mime_part_set_content(data, dw);
	g_mime_part_set_content_encoding(data, GMIME_CONTENT_ENCODING_7BIT);
	g_mime_multipart_add(GMIME_MULTIPART(mpe), GMIME_OBJECT(ver));
	g_mime_multipart_add(GMIME_MULTIPART(mpe), GMIME_OBJECT(data));
	g_mime_object_set_content_type_parameter(GMIME_OBJECT(mpe), "protocol",
						 "application/pgp-encrypted");
	g_mime_multipart_set_boundary(GMIME_MULTIPART(mpe), NULL);
	g_mime_multipart_set_prologue(GMIME_MULTIPART(mpe), MIME_ENC_PROLOGUE);
	g_object_unref(vw);
	g_object_unref(dw);
	g_object_unref(vs);
	g_object_unref(ds);
	g_object_unref(ver);
	g_object_unref(data);
	*out = GMIME_OBJECT(mpe);
	return RK_OK;
}

/* The recipients' keys (crypt->keys, else the signer's cache) and the
 * signer's own when it can encrypt, so that the relay can read what it
 * sent; NULL-ended, caller frees the array (the keys are borrowed). */
static enum rk_err encryption_keys(struct mail_signer *signer,
				   const struct mail_crypt *crypt,
				   gpgme_key_t **out)
{
	const struct rk_log *log = mail_signer_log(signer);
	gpgme_key_t *keys = calloc(crypt->nencrypt_to + 2, sizeof(*keys));
	size_t n = 0;

	*out = NULL;
	if (!keys)
		return RK_ERR_NOMEM;
	for (size_t i = 0; i < crypt->nencrypt_to; i++) {
		gpgme_key_t k = crypt->keys
				? mail_keyset_find(crypt->keys, crypt->encrypt_to[i])
				: mail_recipient_cached(signer, crypt->encrypt_to[i]);

		if (!k) {
			free(keys);
			return rk_fail(log, RK_ERR_INTERNAL, "key %s was not looked "
				       "up with mail_recipient_key",
				       crypt->encrypt_to[i]);
		}
		keys[n++] = k;
	}
	for (gpgme_subkey_t sub = signer->key->subkeys; sub; sub = sub->next)
		if (sub->can_encrypt && !sub->revoked && !sub->expired) {
			keys[n++] = signer->key;
			break;
		}
	*out = keys;
	return RK_OK;
}

/* Inline form: the body clearsigned, or signed and encrypted into an
 * armored OpenPGP message; the CSV is in the body (the caller put it
 * there) and nothing is attached. */
static enum rk_err inline_body(struct mail_signer *signer,
			       const struct mail_message *mail,
			       const struct mail_crypt *crypt,
			       struct rk_buf *body)
{
	struct rk_buf text;
	gpgme_key_t *keys = NULL;
	enum rk_err err;

	rk_buf_init(&text, RK_MAX_MESSAGE);
	if (!mail->body || (err = body_text(mail->body, &text))) {
		err = refuse(mail_signer_log(signer), mail->body ? err : RK_ERR_INVAL,
			     "body", "is missing, not valid UTF-8 or too long");
		goto cleanup;
	}
	if (crypt->nencrypt_to) {
		if (!(err = encryption_keys(signer, crypt, &keys)))
			err = mail_encrypt_signed(signer, keys, text.data, text.len,
						  body);
	} else {
		err = mail_clearsign(signer, text.data, text.len, body);
	}
cleanup:
	free(keys);
	rk_buf_release(&text);
	return err;
}

enum rk_err mail_build(struct mail_signer *signer,
		       const struct mail_message *mail, struct rk_buf *out)
{
	return mail_build_crypt(signer, mail, NULL, out);
}

enum rk_err mail_build_crypt(struct mail_signer *signer,
			     const struct mail_message *mail,
			     const struct mail_crypt *crypt, struct rk_buf *out)
{
	const struct rk_log *log = signer ? mail_signer_log(signer) : NULL;
	GMimeMessage *msg = NULL;
	GMimeObject *content = NULL, *part = NULL, *top = NULL;
	GMimeStream *content_stream = NULL, *wire = NULL;
	GMimeParser *parser = NULL;
	GByteArray *bytes;
	struct rk_buf armored, dos, inline_text;
	struct mail_message plain;
	const struct mail_message *m = mail;
	gpgme_key_t *keys = NULL;
	const char *boundary = NULL;
	size_t start = out->len;
	bool is_inline = crypt && crypt->form == MAIL_FORM_INLINE;
	bool encrypt = crypt && crypt->nencrypt_to > 0;
	enum rk_err err;

	rk_buf_init(&armored, RK_MAX_MESSAGE);
	rk_buf_init(&dos, RK_MAX_MESSAGE);
	rk_buf_init(&inline_text, RK_MAX_MESSAGE);
	if ((is_inline || encrypt) && !signer) {
		err = RK_ERR_INVAL;
		goto cleanup;
	}
	if (is_inline) {
		if ((err = inline_body(signer, mail, crypt, &inline_text)))
			goto cleanup;
		plain = *mail;
		plain.body = inline_text.data;
		plain.attach_name = NULL;
		plain.attach = NULL;
		plain.attach_len = 0;
		m = &plain;
	}
	msg = g_mime_message_new(FALSE);
	if ((err = set_headers(msg, m, log)) ||
	    (err = build_content(m, &content, log)))
		goto cleanup;

	/* The content once, armored; what is signed is its CRLF form, what
	 * goes into the message is it parsed back. */
	if ((err = write_unix(content, &content_stream)))
		goto cleanup;
	bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(content_stream));
	err = armor(&armored, (const char *)bytes->data, bytes->len);
	g_object_unref(content_stream);
	content_stream = NULL;
	if (err || (err = add_crlf(&dos, armored.data, armored.len)))
		goto cleanup;
	if (encrypt && !is_inline) {
		struct rk_buf cipher;

		rk_buf_init(&cipher, RK_MAX_MESSAGE);
		if (!(err = encryption_keys(signer, crypt, &keys)) &&
		    !(err = mail_encrypt_signed(signer, keys, dos.data, dos.len,
						&cipher)))
			err = encrypted_entity(&cipher, &top);
		rk_buf_release(&cipher);
		if (err)
			goto cleanup;
	} else {
		content_stream = g_mime_stream_mem_new_with_buffer(armored.data,
								   armored.len);
		parser = g_mime_parser_new_with_stream(content_stream);
		part = g_mime_parser_construct_part(parser, NULL);
		if (!part) {
			err = RK_ERR_MIME;
			goto cleanup;
		}
		if (signer && !is_inline) {
			if ((err = sign_content(signer, part, &dos, &top, &boundary)))
				goto cleanup;
		} else {
			top = part;
			g_object_ref(top);
		}
	}
	g_mime_message_set_mime_part(msg, top);

	if ((err = write_unix(GMIME_OBJECT(msg), &wire)))
		goto cleanup;
	bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(wire));
	if (bytes->len > RK_MAX_MESSAGE) {
		err = refuse(log, RK_ERR_LIMIT, "message",
			     "exceeds RK_MAX_MESSAGE");
		goto cleanup;
	}
	if ((err = add_crlf(out, (const char *)bytes->data, bytes->len)))
		goto cleanup;
	err = check_wire(out->data + start, out->len - start);
	if (err == RK_ERR_LIMIT) {
		err = refuse(log, err, "header or line",
			     "is longer than 998 bytes on the wire");
		goto cleanup;
	}
	if (err) {
		err = rk_fail(log, RK_ERR_MIME, "the built message is not 7-bit "
			      "CRLF text");
		goto cleanup;
	}
	if (boundary && !signed_part_matches(out->data + start, out->len - start,
					     boundary, &dos)) {
		err = rk_fail(log, RK_ERR_MIME, "the signed part on the wire "
			      "differs from the bytes that were signed");
		goto cleanup;
	}
cleanup:
	if (err)
		rk_buf_truncate(out, start);
	free(keys);
	if (wire)
		g_object_unref(wire);
	if (top)
		g_object_unref(top);
	if (part)
		g_object_unref(part);
	if (parser)
		g_object_unref(parser);
	if (content_stream)
		g_object_unref(content_stream);
	if (content)
		g_object_unref(content);
	if (msg)
		g_object_unref(msg);
	rk_buf_release(&armored);
	rk_buf_release(&dos);
	rk_buf_release(&inline_text);
	return err;
}
