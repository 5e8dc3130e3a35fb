/*
 * One inbound message, classified.  Order of the rules: a DSN (RFC 3464
 * multipart/report; report-type=delivery-status), then the plain-text
 * bounce shapes of the pattern table (Postfix, Exim, Exchange, qmail,
 * "Mail Delivery Failure"), then auto-replies (RFC 3834 Auto-Submitted,
 * Precedence, X-Autoreply, ticket systems, out-of-office subjects),
 * else a human reply.  Message bodies of replies are never searched for
 * ticket tags: only a bounce's quoted original is.
 */
#include <gmime/gmime.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renraku/track.h"

const char *track_class_name(enum track_class c)
{
	switch (c) {
	case TRACK_REPLY: return "reply";
	case TRACK_AUTO_REPLY: return "auto-reply";
	case TRACK_BOUNCE: return "bounce";
	case TRACK_DELAYED: return "delayed";
	case TRACK_MALFORMED: return "malformed";
	}
	return "malformed";
}

/* ------------------------------------------------------------ helpers */

static enum rk_err list_add(struct track_list *l, const char *s, size_t len,
			    size_t max)
{
	char *copy;

	if (!len || l->n >= max)
		return RK_OK;
	for (size_t i = 0; i < l->n; i++)
		if (strlen(l->item[i]) == len &&
		    g_ascii_strncasecmp(l->item[i], s, len) == 0)
			return RK_OK;
	if (rk_array_room((void **)&l->item, l->n, sizeof(*l->item)) ||
	    !(copy = rk_strndup(s, len)))
		return RK_ERR_NOMEM;
	rk_str_clean_line(copy);
	l->item[l->n++] = copy;
	return RK_OK;
}

static void list_release(struct track_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->item[i]);
	free(l->item);
	l->item = NULL;
	l->n = 0;
}

/* A copy of s cleaned for one line (NULL stays NULL). */
static char *line_dup(const char *s, size_t max)
{
	char *copy;
	size_t len;

	if (!s)
		return NULL;
	len = strlen(s);
	if (len > max)
		len = max;
	while (len && ((unsigned char)s[len] & 0xC0) == 0x80)
		len--; /* do not cut a UTF-8 sequence */
	if (!(copy = rk_strndup(s, len)))
		return NULL;
	rk_str_trim(rk_str_clean_line(copy));
	return copy;
}


/* A header of m, white space trimmed off the front; NULL when absent. */
static const char *header(GMimeObject *m, const char *name)
{
	const char *v = g_mime_object_get_header(m, name);

	while (v && (*v == ' ' || *v == '\t'))
		v++;
	return v;
}

/* "<id>" for every Message-ID in value. */
static enum rk_err add_msgids(struct track_list *l, const char *value)
{
	GMimeReferences *refs;
	enum rk_err err = RK_OK;

	if (!value)
		return RK_OK;
	refs = g_mime_references_parse(NULL, value);
	for (int i = 0; refs && i < g_mime_references_length(refs) && !err;
	     i++) {
		const char *id = g_mime_references_get_message_id(refs, i);
		char buf[1024];
		int n;

		if (!id || !*id)
			continue;
		n = snprintf(buf, sizeof(buf), "<%s>", id);
		if (n > 0 && (size_t)n < sizeof(buf))
			err = list_add(l, buf, (size_t)n, TRACK_MAX_IDS);
	}
	if (refs)
		g_mime_references_free(refs);
	return err;
}

/* Every "[PREFIX #YYYYMMDD-N...]" of s into l (the ticket ids). */
static enum rk_err add_tags(struct track_list *l, const char *s,
			    const char *prefix)
{
	size_t plen = strlen(prefix), len;
	const char *p, *end;

	if (!s || !plen)
		return RK_OK;
	len = strlen(s);
	end = s + len;
	for (p = s; (p = rk_str_find_ci(p, (size_t)(end - p), "[")) != NULL; p++) {
		const char *q = p + 1, *id;
		size_t digits = 0, seq = 0;
		enum rk_err err;

		if ((size_t)(end - q) < plen ||
		    g_ascii_strncasecmp(q, prefix, plen) != 0)
			continue;
		q += plen;
		while (q < end && *q == ' ')
			q++;
		if (q >= end || *q != '#')
			continue;
		id = ++q;
		while (q < end && g_ascii_isdigit(*q) && digits < 9) {
			q++;
			digits++;
		}
		if (digits != 8 || q >= end || *q != '-')
			continue;
		q++;
		while (q < end && g_ascii_isdigit(*q) && seq < 10) {
			q++;
			seq++;
		}
		if (!seq || q >= end || *q != ']')
			continue;
		if ((err = list_add(l, id, (size_t)(q - id), TRACK_MAX_IDS)))
			return err;
	}
	return RK_OK;
}

static bool label_char(char c)
{
	return g_ascii_isalnum(c) || c == '.' || c == '-' || c == '_' ||
	       c == ' ' || c == ':';
}

/* A remote ticket reference in a subject (not renraku's own tag):
 * "[label #digits]" (RT and its kin), "Ticket#digits" (OTRS, Znuny),
 * "[#digits]" / "Request #digits" (Zendesk), "(KEY-123)" (Jira).  The
 * token as it stands, so that quoting it files a notice with it. */
static char *remote_ticket(const char *s, const char *prefix)
{
	size_t len, plen = strlen(prefix);
	const char *end, *p;

	if (!s)
		return NULL;
	len = strlen(s);
	end = s + len;
	for (p = s; p < end; p++) {
		const char *q = p, *start = p;
		size_t digits = 0;

		if (*p == '[') {
			/* [label #digits] */
			q = p + 1;
			while (q < end && label_char(*q) && q - p < 64)
				q++;
			if (q >= end || *q != '#')
				continue;
			if ((size_t)(q - p - 1) >= plen && plen &&
			    g_ascii_strncasecmp(p + 1, prefix, plen) == 0)
				continue; /* our own */
			q++;
			while (q < end && g_ascii_isdigit(*q) && digits < 20) {
				q++;
				digits++;
			}
			if (!digits || q >= end || *q != ']')
				continue;
			return rk_strndup(start, (size_t)(q + 1 - start));
		}
		if ((size_t)(end - p) > 7 && g_ascii_strncasecmp(p, "Ticket#", 7) == 0) {
			q = p + 7;
			while (q < end && g_ascii_isdigit(*q) && digits < 24) {
				q++;
				digits++;
			}
			if (!digits)
				continue;
			if (p > s && p[-1] == '[' && q < end && *q == ']')
				return rk_strndup(p - 1, (size_t)(q + 2 - p));
			return rk_strndup(p, (size_t)(q - p));
		}
		if ((size_t)(end - p) > 9 && g_ascii_strncasecmp(p, "Request #", 9) == 0) {
			q = p + 9;
			while (q < end && g_ascii_isdigit(*q) && digits < 20) {
				q++;
				digits++;
			}
			if (digits)
				return rk_strndup(p, (size_t)(q - p));
		}
	}
	return NULL;
}

/* ------------------------------------------------------------ parts */

struct walk {
	struct track_mail *out;
	const char *prefix;
	int parts;
	bool report;           /* multipart/report delivery-status seen */
	bool failed, delayed;  /* from the delivery-status fields */
	GString *text;         /* text parts (for the plain bounces) */
	enum rk_err err;
};

/* The decoded content of a leaf part; caller unrefs.  NULL if none. */
static GByteArray *leaf_bytes(GMimeObject *obj)
{
	GMimeStream *mem;
	GMimeDataWrapper *w;
	GByteArray *bytes = NULL;

	if (!GMIME_IS_PART(obj) ||
	    !(w = g_mime_part_get_content(GMIME_PART(obj))))
		return NULL;
	mem = g_mime_stream_mem_new();
	if (g_mime_data_wrapper_write_to_stream(w, mem) >= 0) {
		bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
		g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
	}
	g_object_unref(mem);
	return bytes;
}

/* The fields of one delivery-status recipient block. */
struct dsn_block {
	char rcpt[320];
	char action[32];
	char status[32];
	char diag[256];
};

static void dsn_field(struct dsn_block *b, const char *line, size_t len)
{
	static const struct {
		const char *name;
		size_t off, size;
	} fields[] = {
		{"Final-Recipient:", offsetof(struct dsn_block, rcpt), 320},
		{"Action:", offsetof(struct dsn_block, action), 32},
		{"Status:", offsetof(struct dsn_block, status), 32},
		{"Diagnostic-Code:", offsetof(struct dsn_block, diag), 256},
	};

	for (size_t i = 0; i < RK_ARRAY_LEN(fields); i++) {
		size_t n = strlen(fields[i].name);
		char *dst = (char *)b + fields[i].off;
		const char *v;
		size_t vlen;

		if (len < n || g_ascii_strncasecmp(line, fields[i].name, n))
			continue;
		v = line + n;
		vlen = len - n;
		if (i == 0) { /* "rfc822; addr" */
			const char *semi = memchr(v, ';', vlen);

			if (semi) {
				vlen -= (size_t)(semi + 1 - v);
				v = semi + 1;
			}
		}
		while (vlen && (*v == ' ' || *v == '\t')) {
			v++;
			vlen--;
		}
		while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\r'))
			vlen--;
		if (vlen >= fields[i].size)
			vlen = fields[i].size - 1;
		memcpy(dst, v, vlen);
		dst[vlen] = '\0';
	}
}

static enum rk_err dsn_block_done(struct walk *w, struct dsn_block *b)
{
	enum rk_err err = RK_OK;

	if (g_ascii_strcasecmp(b->action, "failed") == 0 &&
	    b->status[0] == '5') {
		w->failed = true;
		if (b->rcpt[0])
			err = list_add(&w->out->failed, b->rcpt,
				       strlen(b->rcpt), TRACK_MAX_RCPTS);
		if (!err && !w->out->status) {
			char s[320];

			snprintf(s, sizeof(s), "%s%s%s", b->status,
				 b->diag[0] ? " " : "", b->diag);
			if (!(w->out->status = line_dup(s, sizeof(s))))
				err = RK_ERR_NOMEM;
		}
	} else if (g_ascii_strcasecmp(b->action, "delayed") == 0 ||
		   (g_ascii_strcasecmp(b->action, "failed") == 0 &&
		    b->status[0] == '4')) {
		w->delayed = true;
		if (!w->out->status && b->status[0] &&
		    !(w->out->status = line_dup(b->status, 32)))
			err = RK_ERR_NOMEM;
	}
	memset(b, 0, sizeof(*b));
	return err;
}

/* message/delivery-status: blocks of fields, folded lines joined. */
static enum rk_err read_dsn(struct walk *w, const char *p, size_t len)
{
	struct dsn_block b;
	const char *end;
	bool in_diag = false;
	enum rk_err err = RK_OK;

	if (!p || !len) /* an empty part: GMime's array has no data */
		return RK_OK;
	end = p + len;
	memset(&b, 0, sizeof(b));
	while (p < end && !err) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		size_t n = (size_t)(eol - p);

		if (n && p[n - 1] == '\r')
			n--;
		if (n == 0) {
			err = dsn_block_done(w, &b);
			in_diag = false;
		} else if (*p != ' ' && *p != '\t') {
			dsn_field(&b, p, n);
			in_diag = n >= 16 &&
				  g_ascii_strncasecmp(p, "Diagnostic-Code:", 16) == 0;
		} else if (in_diag) { /* a folded diagnostic */
			size_t have = strlen(b.diag);

			while (n && (*p == ' ' || *p == '\t')) {
				p++;
				n--;
			}
			if (have + 1 + n < sizeof(b.diag)) {
				b.diag[have] = ' ';
				memcpy(b.diag + have + 1, p, n);
				b.diag[have + 1 + n] = '\0';
			}
		}
		p = nl ? nl + 1 : end;
	}
	if (!err)
		err = dsn_block_done(w, &b);
	return err;
}

/* Message-ID and subject tag of an original message's header block. */
static enum rk_err read_original(struct walk *w, GMimeObject *headers,
				 const char *subject)
{
	enum rk_err err = add_msgids(&w->out->orig_refs,
				     header(headers, "Message-ID"));

	if (!err)
		err = add_tags(&w->out->orig_tags,
			       subject ? subject : header(headers, "Subject"),
			       w->prefix);
	return err;
}

static GMimeMessage *parse_bytes(const char *p, size_t len)
{
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(p, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *m = g_mime_parser_construct_message(parser, NULL);

	g_object_unref(parser);
	g_object_unref(stream);
	return m;
}

static void walk_part(struct walk *w, GMimeObject *obj, int depth,
		      bool inside_original)
{
	GMimeContentType *ct;

	if (w->err || !obj || depth > TRACK_MAX_DEPTH ||
	    ++w->parts > TRACK_MAX_PARTS)
		return;
	ct = g_mime_object_get_content_type(obj);
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int n = g_mime_multipart_get_count(mp);

		if (ct && g_mime_content_type_is_type(ct, "multipart", "report")) {
			const char *rt =
				g_mime_content_type_get_parameter(ct, "report-type");

			if (rt && g_ascii_strcasecmp(rt, "delivery-status") == 0)
				w->report = true;
		}
		for (int i = 0; i < n && !w->err; i++)
			walk_part(w, g_mime_multipart_get_part(mp, i), depth + 1,
				  inside_original);
		return;
	}
	if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *m =
			g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));

		if (m && !inside_original) {
			w->err = read_original(w, GMIME_OBJECT(m),
					       g_mime_message_get_subject(m));
			walk_part(w, g_mime_message_get_mime_part(m), depth + 1,
				  true);
		}
		return;
	}
	if (inside_original)
		return;
	if (ct && (g_mime_content_type_is_type(ct, "message", "delivery-status") ||
		   g_mime_content_type_is_type(ct, "message",
					       "global-delivery-status"))) {
		GByteArray *b = leaf_bytes(obj);

		if (b) {
			w->err = read_dsn(w, (const char *)b->data,
					  b->len < TRACK_MAX_TEXT_SCAN
						  ? b->len
						  : TRACK_MAX_TEXT_SCAN);
			g_byte_array_unref(b);
		}
		return;
	}
	if (ct && (g_mime_content_type_is_type(ct, "text", "rfc822-headers") ||
		   g_mime_content_type_is_type(ct, "message", "rfc822-headers"))) {
		GByteArray *b = leaf_bytes(obj);
		GMimeMessage *m = NULL;

		if (b && b->len)
			m = parse_bytes((const char *)b->data, b->len);
		if (m) {
			w->err = read_original(w, GMIME_OBJECT(m),
					       g_mime_message_get_subject(m));
			g_object_unref(m);
		}
		if (b)
			g_byte_array_unref(b);
		return;
	}
	if (GMIME_IS_TEXT_PART(obj) && ct &&
	    g_mime_content_type_is_type(ct, "text", "plain")) {
		char *text = g_mime_text_part_get_text(GMIME_TEXT_PART(obj));

		if (text) {
			size_t len = strlen(text), keep = len;

			if (!w->out->body) {
				if (keep > TRACK_MAX_BODY) {
					keep = TRACK_MAX_BODY;
					while (keep && ((unsigned char)text[keep] &
							0xC0) == 0x80)
						keep--; /* whole characters */
				}
				if (!(w->out->body = rk_strndup(text, keep)))
					w->err = RK_ERR_NOMEM;
			}
			if (w->text->len < TRACK_MAX_TEXT_SCAN)
				g_string_append_len(
					w->text, text,
					(gssize)(len < TRACK_MAX_TEXT_SCAN -
								w->text->len
							 ? len
							 : TRACK_MAX_TEXT_SCAN -
								   w->text->len));
			g_free(text);
		}
	}
}

/* ------------------------------------------------------------ bounces */

/* The plain-text bounce shapes: a marker line, and where the failed
 * recipients follow it. */
struct bounce_shape {
	const char *name;
	const char *marker;
};

static const struct bounce_shape bounce_shapes[] = {
	{"exim", "following address(es) failed:"},
	{"exim", "could not be delivered to one or more of its recipients"},
	{"exchange", "Delivery has failed to these recipients or groups:"},
	{"exchange", "Your message to "},
	{"qmail", "I wasn't able to deliver your message to the following addresses"},
	{"postfix", "could not be delivered to one or more recipients"},
	{"sendmail", "----- The following addresses had permanent fatal errors -----"},
	{"generic", "Mail Delivery Failure"},
	{"generic", "delivery to the following recipient"},
};

static const char *const bounce_subjects[] = {
	"Undelivered Mail Returned to Sender", "Mail delivery failed",
	"Undeliverable:", "Undeliverable mail", "failure notice",
	"Returned mail:", "Delivery Status Notification (Failure)",
	"Mail Delivery Failure", "Delivery Failure", "Nondeliverable",
	"Mail System Error", "Delivery Status Notification (Delay)",
	"Delayed Mail", "Warning: could not send message",
};

static const char *const delay_words[] = {
	"Delivery Status Notification (Delay)", "Delayed Mail",
	"has not yet been delivered", "will continue trying",
	"will retry", "still trying", "delivery temporarily suspended",
	"Warning: message", "This is a warning message only",
};

static bool addr_char(char c)
{
	return g_ascii_isalnum(c) || (c && strchr(".-_+=!#$%&'*/?^`{|}~@", c));
}

/* Up to TRACK_MAX_RCPTS addresses in p[0..len) (the lines after a
 * marker, until a blank line after the first address). */
static enum rk_err addresses_after(struct track_mail *out, const char *p,
				   size_t len)
{
	const char *end = p + (len > 4096 ? 4096 : len);
	bool any = false;
	enum rk_err err = RK_OK;

	for (const char *q = p; q < end && !err; q++) {
		const char *at, *a, *b;

		if (any && *q == '\n' && q + 1 < end &&
		    (q[1] == '\n' || (q[1] == '\r' && q + 2 < end && q[2] == '\n')))
			break;
		if (*q != '@')
			continue;
		at = q;
		for (a = at; a > p && addr_char(a[-1]) && a[-1] != '@'; a--)
			;
		for (b = at + 1; b < end && addr_char(*b) && *b != '@'; b++)
			;
		while (b > at + 1 && (b[-1] == '.' || b[-1] == '-'))
			b--;
		if (a == at || b == at + 1 || !memchr(at, '.', (size_t)(b - at)))
			continue;
		err = list_add(&out->failed, a, (size_t)(b - a), TRACK_MAX_RCPTS);
		any = true;
		q = b;
		if (out->failed.n >= 1 && strcmp(out->why, "exchange") == 0)
			break;
	}
	return err;
}

/* "Message-ID:" and "Subject:" lines quoted in a bounce's text. */
static enum rk_err quoted_original(struct walk *w, const char *p, size_t len)
{
	const char *end = p + len;
	enum rk_err err = RK_OK;

	while (p < end && !err) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end, *s = p;
		char line[1024];
		size_t n;

		while (s < eol && (*s == ' ' || *s == '\t' || *s == '>'))
			s++;
		n = (size_t)(eol - s);
		if (n >= sizeof(line))
			n = sizeof(line) - 1;
		memcpy(line, s, n);
		line[n] = '\0';
		if (n > 11 && g_ascii_strncasecmp(line, "Message-ID:", 11) == 0)
			err = add_msgids(&w->out->orig_refs, line + 11);
		else if (n > 8 && g_ascii_strncasecmp(line, "Subject:", 8) == 0) {
			char *dec = g_mime_utils_header_decode_text(NULL, line + 8);

			err = add_tags(&w->out->orig_tags, dec ? dec : line + 8,
				       w->prefix);
			g_free(dec);
		}
		p = nl ? nl + 1 : end;
	}
	return err;
}

/* The sender is a mail system's ("MAILER-DAEMON@", "postmaster@"). */
static bool from_mailer(GMimeMessage *m)
{
	InternetAddressList *l = g_mime_message_get_from(m);
	InternetAddress *a;
	const char *addr;

	if (!l || internet_address_list_length(l) < 1 ||
	    !(a = internet_address_list_get_address(l, 0)) ||
	    !INTERNET_ADDRESS_IS_MAILBOX(a) ||
	    !(addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a))))
		return false;
	return g_ascii_strncasecmp(addr, "mailer-daemon@", 14) == 0 ||
	       g_ascii_strncasecmp(addr, "postmaster@", 11) == 0 ||
	       g_ascii_strncasecmp(addr, "mail-daemon@", 12) == 0;
}

static bool any_in(const char *s, size_t len, const char *const *words,
		   size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		if (rk_str_find_ci(s, len, words[i]))
			return true;
	return false;
}

static enum rk_err plain_bounce(struct walk *w, GMimeMessage *m, bool *is)
{
	struct track_mail *out = w->out;
	const char *subj = out->subject ? out->subject : "";
	const char *xfr = header(GMIME_OBJECT(m), "X-Failed-Recipients");
	const char *text = w->text->str;
	size_t tlen = w->text->len;
	enum rk_err err = RK_OK;
	const char *hit = NULL;

	*is = false;
	for (size_t i = 0; i < RK_ARRAY_LEN(bounce_shapes) && !hit; i++)
		if ((hit = rk_str_find_ci(text, tlen, bounce_shapes[i].marker))) {
			out->why = bounce_shapes[i].name;
			hit += strlen(bounce_shapes[i].marker);
		}
	if (!xfr && !(hit && (from_mailer(m) ||
			      any_in(subj, strlen(subj), bounce_subjects,
				     RK_ARRAY_LEN(bounce_subjects)))) &&
	    !(from_mailer(m) && any_in(subj, strlen(subj), bounce_subjects,
				       RK_ARRAY_LEN(bounce_subjects))))
		return RK_OK;
	*is = true;
	if (!hit)
		out->why = xfr ? "x-failed-recipients" : "bounce-subject";
	if (any_in(subj, strlen(subj), delay_words, RK_ARRAY_LEN(delay_words)) ||
	    any_in(text, tlen < 4096 ? tlen : 4096, delay_words,
		   RK_ARRAY_LEN(delay_words)))
		w->delayed = true;
	else
		w->failed = true;
	if (xfr) {
		const char *p = xfr;
		const char *item;
		size_t ilen;

		while (!err && rk_list_next(&p, &item, &ilen))
			err = list_add(&out->failed, item, ilen, TRACK_MAX_RCPTS);
	}
	if (!err && !out->failed.n && hit)
		err = addresses_after(out, hit, tlen - (size_t)(hit - text));
	if (!err && !out->status) {
		/* the first "5.x.y" or "5xx" the text gives */
		for (size_t i = 0; i + 5 <= tlen && i < 65536; i++) {
			const char *s = text + i;

			if ((s[0] == '5' || s[0] == '4') && s[1] == '.' &&
			    g_ascii_isdigit(s[2]) && (i == 0 || s[-1] == ' ' ||
						     s[-1] == '#' || s[-1] == '(')) {
				size_t n = 0;

				while (i + n < tlen && n < 80 && s[n] != '\n' &&
				       s[n] != '\r')
					n++;
				if (!(out->status = rk_strndup(s, n)))
					err = RK_ERR_NOMEM;
				else
					rk_str_clean_line(out->status);
				break;
			}
		}
	}
	if (!err)
		err = quoted_original(w, text, tlen);
	return err;
}

/* ------------------------------------------------------------ auto-replies */

/* Out-of-office and autoreply subjects, en/ja/de/fr/es/it/nl/pt/zh/ko/sv. */
static const char *const autoreply_subjects[] = {
	"Out of Office", "Out of the Office", "Automatic reply",
	"Auto reply", "Auto-reply", "AutoReply", "Autoresponse",
	"Auto Response", "Away from", "I am away", "On vacation",
	"Vacation reply", "[Auto]", "Auto:",
	"\xe4\xb8\x8d\xe5\x9c\xa8",                         /* 不在 */
	"\xe8\x87\xaa\xe5\x8b\x95\xe5\xbf\x9c\xe7\xad\x94", /* 自動応答 */
	"\xe8\x87\xaa\xe5\x8b\x95\xe8\xbf\x94\xe4\xbf\xa1", /* 自動返信 */
	"\xe8\x87\xaa\xe5\x8b\x95\xe5\x9b\x9e\xe8\xa6\x86", /* 自動回覆 */
	"\xe8\x87\xaa\xe5\x8a\xa8\xe5\x9b\x9e\xe5\xa4\x8d", /* 自动回复 */
	"\xec\x9e\x90\xeb\x8f\x99 \xec\x9d\x91\xeb\x8b\xb5", /* 자동 응답 */
	"Abwesenheitsnotiz", "Abwesenheit", "Automatische Antwort",
	"Ich bin nicht im B", "Out of office:",
	"R\xc3\xa9ponse automatique", "Absence du bureau", "Absent du bureau",
	"Respuesta autom\xc3\xa1tica", "Fuera de la oficina",
	"Ausente", "Risposta automatica", "Fuori sede", "Assente",
	"Automatisch antwoord", "Afwezig", "Resposta autom\xc3\xa1tica",
	"Fora do escrit\xc3\xb3rio", "Autosvar", "Fr\xc3\xa5nvarande",
};

/* Headers a ticket system sets on what it sends. */
static const char *const ticket_system_headers[] = {
	"RT-Ticket", "X-RT-Loop-Prevention", "X-OTRS-Loop",
	"X-OTRS-Ticket", "X-Znuny-Loop", "X-Zendesk-From-Account-Id",
	"X-JIRA-FingerPrint", "X-ServiceDesk",
};

/* Words of a ticket system's acknowledgement subject. */
static const char *const ticket_ack_words[] = {
	"received", "created", "opened", "registered", "logged",
	"acknowledg", "\xe5\x8f\x97\xe4\xbb\x98", /* 受付 */
	"eingegangen", "erhalten", "re\xc3\xa7u", "recibid",
};

static bool is_auto_reply(GMimeMessage *m, const char *subject,
			  const char **why)
{
	GMimeObject *o = GMIME_OBJECT(m);
	const char *v;
	size_t slen = subject ? strlen(subject) : 0;

	if ((v = header(o, "Auto-Submitted")) &&
	    g_ascii_strncasecmp(v, "no", 2) != 0) {
		*why = "auto-submitted";
		return true;
	}
	if ((v = header(o, "Precedence")) &&
	    (g_ascii_strncasecmp(v, "bulk", 4) == 0 ||
	     g_ascii_strncasecmp(v, "junk", 4) == 0 ||
	     g_ascii_strncasecmp(v, "list", 4) == 0 ||
	     g_ascii_strncasecmp(v, "auto_reply", 10) == 0)) {
		*why = "precedence";
		return true;
	}
	if (header(o, "X-Autoreply") || header(o, "X-Autorespond") ||
	    header(o, "X-Autoresponder") || header(o, "X-Autogenerated")) {
		*why = "x-autoreply";
		return true;
	}
	if ((v = header(o, "X-Auto-Response-Suppress")) &&
	    rk_str_find_ci(v, strlen(v), "oof")) {
		*why = "x-auto-response-suppress";
		return true;
	}
	if (any_in(subject, slen, autoreply_subjects,
		   RK_ARRAY_LEN(autoreply_subjects))) {
		*why = "out-of-office subject";
		return true;
	}
	for (size_t i = 0; i < RK_ARRAY_LEN(ticket_system_headers); i++)
		if (header(o, ticket_system_headers[i]) &&
		    any_in(subject, slen, ticket_ack_words,
			   RK_ARRAY_LEN(ticket_ack_words))) {
			*why = "ticket system";
			return true;
		}
	return false;
}

/* ------------------------------------------------------------ classify */

void track_mail_release(struct track_mail *m)
{
	free(m->message_id);
	free(m->from);
	free(m->subject);
	list_release(&m->refs);
	list_release(&m->tags);
	list_release(&m->orig_refs);
	list_release(&m->orig_tags);
	list_release(&m->failed);
	free(m->status);
	free(m->remote_ticket);
	free(m->body);
	memset(m, 0, sizeof(*m));
}

static enum rk_err classify_message(GMimeMessage *m, const char *prefix,
				    struct track_mail *out)
{
	GMimeObject *o = GMIME_OBJECT(m);
	struct walk w;
	const char *id = g_mime_message_get_message_id(m);
	InternetAddressList *from = g_mime_message_get_from(m);
	enum rk_err err = RK_OK;
	bool plain = false;

	memset(&w, 0, sizeof(w));
	w.out = out;
	w.prefix = prefix;
	if (id && *id) {
		char buf[1024];
		int n = snprintf(buf, sizeof(buf), "<%s>", id);

		if (n > 0 && (size_t)n < sizeof(buf) &&
		    !(out->message_id = line_dup(buf, sizeof(buf))))
			return RK_ERR_NOMEM;
	}
	if (from && internet_address_list_length(from) > 0) {
		char *s = internet_address_list_to_string(from, NULL, FALSE);

		out->from = line_dup(s ? s : "", 998);
		g_free(s);
		if (!out->from)
			return RK_ERR_NOMEM;
	}
	if (g_mime_message_get_subject(m) &&
	    !(out->subject = line_dup(g_mime_message_get_subject(m), 998)))
		return RK_ERR_NOMEM;
	if ((err = add_msgids(&out->refs, header(o, "In-Reply-To"))) ||
	    (err = add_msgids(&out->refs, header(o, "References"))) ||
	    (err = add_tags(&out->tags, out->subject, prefix)))
		return err;
	w.text = g_string_new(NULL);
	walk_part(&w, g_mime_message_get_mime_part(m), 0, false);
	if ((err = w.err))
		goto cleanup;
	if (w.report && (w.failed || w.delayed)) {
		out->cls = w.failed ? TRACK_BOUNCE : TRACK_DELAYED;
		out->why = "dsn";
		/* a DSN's text may still quote headers the parts did not */
		if (!out->orig_refs.n)
			err = quoted_original(&w, w.text->str, w.text->len);
		goto cleanup;
	}
	if ((err = plain_bounce(&w, m, &plain)))
		goto cleanup;
	if (plain) {
		out->cls = w.failed ? TRACK_BOUNCE : TRACK_DELAYED;
		goto cleanup;
	}
	if (is_auto_reply(m, out->subject, &out->why)) {
		const char *rt = header(o, "RT-Ticket");

		out->cls = TRACK_AUTO_REPLY;
		out->remote_ticket = remote_ticket(out->subject, prefix);
		if (!out->remote_ticket && rt && strlen(rt) < TRACK_MAX_REMOTE - 2) {
			char buf[TRACK_MAX_REMOTE];

			snprintf(buf, sizeof(buf), "[%s]", rt);
			out->remote_ticket = rk_strdup(buf);
			if (!out->remote_ticket)
				err = RK_ERR_NOMEM;
		}
		if (out->remote_ticket) {
			rk_str_clean_line(out->remote_ticket);
			if (strlen(out->remote_ticket) >= TRACK_MAX_REMOTE ||
			    !rk_utf8_valid(out->remote_ticket,
					   strlen(out->remote_ticket))) {
				free(out->remote_ticket);
				out->remote_ticket = NULL;
			}
		}
		goto cleanup;
	}
	out->cls = TRACK_REPLY;
	out->why = "reply";
cleanup:
	g_string_free(w.text, TRUE);
	return err;
}

enum rk_err track_classify(const char *raw, size_t len, const char *prefix,
			   struct track_mail *out)
{
	GMimeMessage *m;
	enum rk_err err;

	memset(out, 0, sizeof(*out));
	out->cls = TRACK_MALFORMED;
	out->why = "unreadable";
	if (!raw || !len)
		return RK_OK;
	m = parse_bytes(raw, len);
	if (!m || !g_mime_object_get_header_list(GMIME_OBJECT(m)) ||
	    g_mime_header_list_get_count(
		    g_mime_object_get_header_list(GMIME_OBJECT(m))) == 0) {
		if (m)
			g_object_unref(m);
		return RK_OK;
	}
	err = classify_message(m, prefix ? prefix : "", out);
	g_object_unref(m);
	if (err)
		track_mail_release(out);
	return err;
}
