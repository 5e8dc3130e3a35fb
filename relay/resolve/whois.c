/*
 * The port-43 whois answer parser (RFC 3912 leaves the text free; this
 * reads the shapes the registries use): a pure function from the answer's
 * bytes to the contact address, the next server, the range, the country,
 * the organization, a contact handle and the origin AS.
 *
 *   IANA       refer: whois.ripe.net
 *   ARIN       NetRange/CIDR, OrgAbuseEmail, ReferralServer (last wins),
 *              several networks in one answer, the most specific last
 *   RPSL       % Abuse contact for 'R' is 'E', inetnum/inet6num,
 *              abuse-mailbox, e-mail, country, origin
 *   JPNIC      ISO-2022-JP text, "a. [label]  value" lines, the contact
 *              named by handle (m. [管理者連絡窓口]) and asked for next
 *   domains    Registrar Abuse Contact Email, Registrar WHOIS Server
 */
#include <errno.h>
#include <iconv.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "private.h"

void whois_answer_release(struct whois_answer *a)
{
	if (!a)
		return;
	free(a->email);
	free(a->referral);
	free(a->range);
	free(a->country);
	free(a->org);
	free(a->handle);
	memset(a, 0, sizeof(*a));
}

/* What a field means. */
enum wf {
	WF_EMAIL0, WF_EMAIL1, WF_EMAIL2, WF_EMAIL3,
	WF_REFER, WF_REFER_LAST, WF_REFER_DOMAIN,
	WF_RANGE, WF_CIDR, WF_COUNTRY, WF_ORG, WF_ASN,
	WF_HANDLE_ADMIN, WF_HANDLE_TECH
};

struct field {
	const char *key; /* ASCII case ignored */
	enum wf what;
	bool last_wins;  /* ARIN lists the most specific network last */
};

static const struct field colon_fields[] = {
	{"refer", WF_REFER, false},
	{"ReferralServer", WF_REFER_LAST, true},
	{"Registrar WHOIS Server", WF_REFER_DOMAIN, false},
	{"abuse-mailbox", WF_EMAIL1, false},
	{"OrgAbuseEmail", WF_EMAIL1, true},
	{"RAbuseEmail", WF_EMAIL1, true},
	{"Registrar Abuse Contact Email", WF_EMAIL1, false},
	{"OrgTechEmail", WF_EMAIL2, true},
	{"RTechEmail", WF_EMAIL2, true},
	{"e-mail", WF_EMAIL3, false},
	{"OrgNOCEmail", WF_EMAIL3, true},
	{"inetnum", WF_RANGE, false},
	{"inet6num", WF_RANGE, false},
	{"NetRange", WF_RANGE, true},
	{"CIDR", WF_CIDR, true},
	{"country", WF_COUNTRY, false},
	{"OrgName", WF_ORG, true},
	{"org-name", WF_ORG, false},
	{"owner", WF_ORG, false},
	{"OriginAS", WF_ASN, true},
	{"origin", WF_ASN, false},
	{"aut-num", WF_ASN, false},
	/* RWhois (RFC 2167) "network:Key:value" lines, prefix dropped */
	{"IP-Network", WF_CIDR, false},
	{"Org-Name", WF_ORG, false},
	{"Abuse-Email", WF_EMAIL1, false},
	{"Tech-Email", WF_EMAIL2, false},
	{"Email", WF_EMAIL3, false},
};

/* JPNIC's bracketed labels, after decoding (Japanese and /e English). */
static const struct field bracket_fields[] = {
	{"Abuse", WF_EMAIL1, false},
	{"\xe9\x9b\xbb\xe5\xad\x90\xe3\x83\xa1\xe3\x83\xbc\xe3\x83\xab", /* 電子メール */
	 WF_EMAIL3, false},
	{"E-Mail", WF_EMAIL3, false},
	{"IP\xe3\x83\x8d\xe3\x83\x83\xe3\x83\x88\xe3\x83\xaf\xe3\x83\xbc\xe3\x82\xaf"
	 "\xe3\x82\xa2\xe3\x83\x89\xe3\x83\xac\xe3\x82\xb9", /* IPネットワークアドレス */
	 WF_CIDR, false},
	{"Network Number", WF_CIDR, false},
	{"Organization", WF_ORG, false},
	{"\xe7\xae\xa1\xe7\x90\x86\xe8\x80\x85\xe9\x80\xa3\xe7\xb5\xa1\xe7\xaa\x93"
	 "\xe5\x8f\xa3", /* 管理者連絡窓口 */
	 WF_HANDLE_ADMIN, false},
	{"Administrative Contact", WF_HANDLE_ADMIN, false},
	{"\xe6\x8a\x80\xe8\xa1\x93\xe9\x80\xa3\xe7\xb5\xa1\xe6\x8b\x85\xe5\xbd\x93"
	 "\xe8\x80\x85", /* 技術連絡担当者 */
	 WF_HANDLE_TECH, false},
	{"Technical Contact", WF_HANDLE_TECH, false},
};

static bool key_eq(const char *key, const char *s, size_t n)
{
	size_t k = strlen(key);

	if (k != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char a = key[i], b = s[i];

		if (a >= 'A' && a <= 'Z')
			a = (char)(a + 32);
		if (b >= 'A' && b <= 'Z')
			b = (char)(b + 32);
		if (a != b)
			return false;
	}
	return true;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* A copy of [s, s+n) trimmed, quotes and angle brackets around it gone,
 * made safe for one line. */
static char *value_dup(const char *s, size_t n)
{
	char *v;

	while (n && is_space(*s)) {
		s++;
		n--;
	}
	while (n && is_space(s[n - 1]))
		n--;
	while (n >= 2 && ((s[0] == '\'' && s[n - 1] == '\'') ||
			  (s[0] == '"' && s[n - 1] == '"') ||
			  (s[0] == '<' && s[n - 1] == '>'))) {
		s++;
		n -= 2;
	}
	v = rk_strndup(s, n);
	if (v)
		rk_str_clean_line(v);
	return v;
}

/* A mailto: prefix is dropped; the address must be one renraku can send to. */
static char *email_dup(const char *s, size_t n)
{
	char *v = value_dup(s, n), *at;

	if (!v)
		return NULL;
	if (strncasecmp(v, "mailto:", 7) == 0)
		memmove(v, v + 7, strlen(v + 7) + 1);
	at = strchr(v, ' ');
	if (at)
		*at = '\0';
	return v;
}

/* A referral "whois://host:port", "rwhois://host:4321/", "host",
 * "[v6]:port" as "host:port"; NULL when it is not a port-43 style one
 * (http:// referrals name web pages). */
static char *referral_dup(const char *s, size_t n)
{
	char *v = value_dup(s, n), *p, *end, *host = NULL;
	const char *port = "43";
	size_t hostlen;

	if (!v)
		return NULL;
	p = v;
	if (strncasecmp(p, "whois://", 8) == 0) {
		p += 8;
	} else if (strncasecmp(p, "rwhois://", 9) == 0) {
		p += 9;
		port = "4321";
	} else if (strstr(p, "://")) {
		goto bad;
	}
	end = p + strcspn(p, "/ \t");
	*end = '\0';
	if (*p == '[') {
		char *close = strchr(p, ']');

		if (!close)
			goto bad;
		hostlen = (size_t)(close - p) + 1;
		if (close[1] == ':')
			port = close + 2;
		else if (close[1])
			goto bad;
	} else {
		char *colon = strchr(p, ':');

		hostlen = colon ? (size_t)(colon - p) : strlen(p);
		if (colon)
			port = colon + 1;
		if (strchr(port, ':'))
			goto bad;
	}
	if (hostlen == 0 || hostlen > RK_MAX_DOMAIN + 2 || !*port ||
	    strlen(port) > 5 || strspn(port, "0123456789") != strlen(port) ||
	    strspn(p, "[]:.-_0123456789abcdefghijklmnopqrstuvwxyz"
		      "ABCDEFGHIJKLMNOPQRSTUVWXYZ") < hostlen)
		goto bad;
	host = malloc(hostlen + strlen(port) + 2);
	if (host) {
		memcpy(host, p, hostlen);
		host[hostlen] = ':';
		memcpy(host + hostlen + 1, port, strlen(port) + 1);
		rk_str_lower(host);
	}
	free(v);
	return host;
bad:
	free(v);
	return rk_strdup("");
}

/* "A - B" as a prefix when it is exactly one, else as given. */
static char *range_dup(const char *s, size_t n)
{
	char *v = value_dup(s, n), *dash, *out;
	char a_text[RK_ADDR_TEXT + 8], b_text[RK_ADDR_TEXT + 8];
	struct rk_addr a, b;
	int prefix = -1;

	if (!v)
		return NULL;
	dash = strstr(v, " - ");
	if (!dash) {
		char *comma = strchr(v, ','); /* ARIN: CIDR: a/24, b/25 */

		if (comma)
			*comma = '\0';
		rk_str_trim(v);
		return v;
	}
	if ((size_t)(dash - v) >= sizeof(a_text) ||
	    strlen(dash + 3) >= sizeof(b_text))
		return v;
	memcpy(a_text, v, (size_t)(dash - v));
	a_text[dash - v] = '\0';
	memcpy(b_text, dash + 3, strlen(dash + 3) + 1);
	rk_str_trim(a_text);
	rk_str_trim(b_text);
	if (rk_addr_parse(a_text, &a) || rk_addr_parse(b_text, &b) ||
	    a.family != b.family)
		return v;
	{
		int bits = a.family == 4 ? 32 : 128;

		/* the prefix length where a and b part; below it a all 0, b all 1 */
		for (prefix = 0; prefix < bits; prefix++) {
			int byte = prefix / 8, bit = 7 - prefix % 8;

			if (((a.bytes[byte] >> bit) & 1) != ((b.bytes[byte] >> bit) & 1))
				break;
		}
		for (int i = prefix; i < bits; i++) {
			int byte = i / 8, bit = 7 - i % 8;

			if (((a.bytes[byte] >> bit) & 1) != 0 ||
			    ((b.bytes[byte] >> bit) & 1) != 1) {
				prefix = -1;
				break;
			}
		}
	}
	if (prefix < 0)
		return v;
	out = malloc(RK_ADDR_TEXT + 8);
	if (out) {
		char text[RK_ADDR_TEXT];

		rk_addr_format(&a, text);
		snprintf(out, RK_ADDR_TEXT + 8, "%s/%d", text, prefix);
	}
	free(v);
	return out;
}

static char *country_dup(const char *s, size_t n)
{
	char *v = value_dup(s, n);

	if (!v)
		return NULL;
	if (strlen(v) != 2 || !((v[0] | 32) >= 'a' && (v[0] | 32) <= 'z') ||
	    !((v[1] | 32) >= 'a' && (v[1] | 32) <= 'z')) {
		v[0] = '\0';
		return v;
	}
	v[0] = (char)(v[0] & ~32);
	v[1] = (char)(v[1] & ~32);
	return v;
}

/* Replace *slot with v when the field's rule says so; v is consumed.
 * Empty values never replace anything. */
static void take(char **slot, char *v, bool last_wins)
{
	if (!v || !*v || (*slot && !last_wins)) {
		free(v);
		return;
	}
	free(*slot);
	*slot = v;
}

struct parse_ctx {
	struct whois_answer *a;
	char *handle_admin, *handle_tech;
	char *cidr;
	char *info_range; /* "% Information related to 'R'" */
	bool nomem;
};

static void set_field(struct parse_ctx *c, const struct field *f,
		      const char *v, size_t n)
{
	struct whois_answer *a = c->a;
	char *val = NULL;
	int rank;

	switch (f->what) {
	case WF_EMAIL0: case WF_EMAIL1: case WF_EMAIL2: case WF_EMAIL3:
		rank = (int)(f->what - WF_EMAIL0);
		val = email_dup(v, n);
		if (!val)
			break;
		if (!rk_email_valid(val) || !strchr(val, '@') ||
		    (a->email && (rank > a->email_rank ||
				  (rank == a->email_rank && !f->last_wins)))) {
			free(val);
			return;
		}
		free(a->email);
		a->email = val;
		a->email_rank = rank;
		return;
	case WF_REFER: case WF_REFER_LAST: case WF_REFER_DOMAIN:
		val = referral_dup(v, n);
		if (val)
			take(&a->referral, val, f->last_wins);
		break;
	case WF_RANGE:
		val = range_dup(v, n);
		if (val)
			take(&a->range, val, f->last_wins);
		break;
	case WF_CIDR:
		val = range_dup(v, n);
		if (val)
			take(&c->cidr, val, f->last_wins);
		break;
	case WF_COUNTRY:
		val = country_dup(v, n);
		if (val)
			take(&a->country, val, f->last_wins);
		break;
	case WF_ORG:
		val = value_dup(v, n);
		if (val && strlen(val) > RK_MAX_ORG) {
			size_t cut = RK_MAX_ORG;

			/* not inside a UTF-8 sequence */
			while (cut && ((unsigned char)val[cut] & 0xc0) == 0x80)
				cut--;
			val[cut] = '\0';
		}
		if (val && !rk_utf8_valid(val, strlen(val)))
			val[0] = '\0';
		if (val)
			take(&a->org, val, f->last_wins);
		break;
	case WF_ASN: {
		uint32_t asn;

		val = value_dup(v, n);
		if (!val)
			break;
		val[strcspn(val, " ,")] = '\0';
		if (rk_asn_parse(val, &asn) == RK_OK && (!a->asn || f->last_wins))
			a->asn = asn;
		free(val);
		return;
	}
	case WF_HANDLE_ADMIN: case WF_HANDLE_TECH:
		val = value_dup(v, n);
		if (val && (strlen(val) > 64 ||
			    strspn(val, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
					"abcdefghijklmnopqrstuvwxyz") != strlen(val)))
			val[0] = '\0';
		if (val)
			take(f->what == WF_HANDLE_ADMIN ? &c->handle_admin
							: &c->handle_tech, val, false);
		break;
	}
	if (!val)
		c->nomem = true;
}

static void info_range(struct parse_ctx *c, const char *s, size_t n)
{
	const struct field r = {"", WF_RANGE, false};
	char *keep = c->a->range;

	if (c->info_range)
		return;
	c->a->range = NULL;
	set_field(c, &r, s, n);
	c->info_range = c->a->range;
	c->a->range = keep;
}

/* "% Abuse contact for 'R' is 'E'" (RIPE, APNIC, AFRINIC) and
 * "% Information related to 'R'". */
static void comment_line(struct parse_ctx *c, const char *s, size_t n)
{
	static const char abuse[] = "% Abuse contact for ";
	static const char info[] = "% Information related to ";
	const struct field f = {"", WF_EMAIL0, false};

	if (n > sizeof(abuse) - 1 && strncasecmp(s, abuse, sizeof(abuse) - 1) == 0) {
		const char *is = NULL;

		/* the last " is " after the prefix */
		for (size_t i = n; i-- > sizeof(abuse) - 1 + 4;)
			if (memcmp(s + i - 4, " is ", 4) == 0) {
				is = s + i;
				break;
			}
		if (!is)
			return;
		set_field(c, &f, is, n - (size_t)(is - s));
		/* the range named there, when no other line names one */
		info_range(c, s + sizeof(abuse) - 1, (size_t)(is - 4 - s) -
			   (sizeof(abuse) - 1));
	} else if (n > sizeof(info) - 1 &&
		   strncasecmp(s, info, sizeof(info) - 1) == 0) {
		info_range(c, s + sizeof(info) - 1, n - (sizeof(info) - 1));
	}
}

/* "a. [label]   value" or "[label]   value" (JPNIC). */
static bool bracket_line(struct parse_ctx *c, const char *s, size_t n)
{
	const char *p = s, *end = s + n, *close;

	if (n >= 3 && ((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')) &&
	    s[1] == '.' && s[2] == ' ') {
		p += 3;
		while (p < end && is_space(*p))
			p++;
	}
	if (p >= end || *p != '[')
		return false;
	close = memchr(p, ']', (size_t)(end - p));
	if (!close)
		return false;
	for (size_t i = 0; i < RK_ARRAY_LEN(bracket_fields); i++)
		if (key_eq(bracket_fields[i].key, p + 1, (size_t)(close - p - 1))) {
			set_field(c, &bracket_fields[i], close + 1,
				  (size_t)(end - close - 1));
			break;
		}
	return true;
}

static void key_line(struct parse_ctx *c, const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);
	size_t klen;

	if (!colon)
		return;
	klen = (size_t)(colon - s);
	if ((klen == 7 && strncasecmp(s, "network", 7) == 0) ||
	    (klen == 7 && strncasecmp(s, "contact", 7) == 0)) {
		/* RWhois: the object class before the key */
		n -= klen + 1;
		s = colon + 1;
		colon = memchr(s, ':', n);
		if (!colon)
			return;
		klen = (size_t)(colon - s);
	}
	while (klen && is_space(s[klen - 1]))
		klen--;
	if (klen == 0 || klen > 64)
		return;
	for (size_t i = 0; i < RK_ARRAY_LEN(colon_fields); i++)
		if (key_eq(colon_fields[i].key, s, klen)) {
			struct field f = colon_fields[i];

			/* ARIN's "Country:" (capital C) is per network, the
			 * most specific last; RPSL's "country:" comes first */
			if (f.what == WF_COUNTRY && s[0] == 'C')
				f.last_wins = true;
			set_field(c, &f, colon + 1, n - (size_t)(colon + 1 - s));
			return;
		}
}

/* ISO-2022-JP (JIS X 0208 behind ESC $ B) to UTF-8; bytes iconv cannot
 * read are dropped. */
static enum rk_err decode_iso2022jp(const char *data, size_t len,
				    struct rk_buf *out)
{
	iconv_t cd = iconv_open("UTF-8", "ISO-2022-JP");
	char *in = (char *)data;
	size_t inleft = len;
	enum rk_err err = RK_OK;

	if (cd == (iconv_t)-1)
		return RK_ERR_UNSUPPORTED;
	while (inleft && !err) {
		char chunk[4096], *o = chunk;
		size_t oleft = sizeof(chunk);
		size_t r = iconv(cd, &in, &inleft, &o, &oleft);

		err = rk_buf_add(out, chunk, sizeof(chunk) - oleft);
		if (r == (size_t)-1 && !err) {
			if (errno == E2BIG)
				continue;
			/* EILSEQ or EINVAL: skip the byte, back to ASCII */
			in++;
			inleft--;
			iconv(cd, NULL, NULL, NULL, NULL);
		}
	}
	iconv_close(cd);
	return err;
}

static bool looks_iso2022jp(const char *data, size_t len)
{
	for (size_t i = 0; i + 2 < len; i++)
		if (data[i] == 0x1b &&
		    ((data[i + 1] == '$' && (data[i + 2] == 'B' || data[i + 2] == '@')) ||
		     (data[i + 1] == '(' && (data[i + 2] == 'J' || data[i + 2] == 'B'))))
			return true;
	return false;
}

enum rk_err whois_parse(const char *data, size_t len, struct whois_answer *out)
{
	struct rk_buf decoded;
	struct parse_ctx c;
	const char *p, *end;
	bool jpnic = false;
	enum rk_err err = RK_OK;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	c.a = out;
	if (len > RK_MAX_WHOIS_REPLY)
		return RK_ERR_LIMIT;
	rk_buf_init(&decoded, (size_t)RK_MAX_WHOIS_REPLY * 3);
	if (looks_iso2022jp(data, len)) {
		err = decode_iso2022jp(data, len, &decoded);
		if (err == RK_ERR_NOMEM)
			goto cleanup;
		if (!err) {
			data = decoded.data;
			len = decoded.len;
			out->decoded = true;
		}
		err = RK_OK;
	}
	for (p = data, end = data + len; p < end && !c.nomem;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		size_t n = (size_t)(eol - p);

		if (n && p[n - 1] == '\r')
			n--;
		while (n && is_space(*p)) {
			p++;
			n--;
		}
		if (n && n <= RK_MAX_WHOIS_LINE && !memchr(p, '\0', n)) {
			if (*p == '%')
				comment_line(&c, p, n);
			else if (*p == '#')
				;
			else if (*p == '[' && n > 16 && memcmp(p, "[ JPNIC database", 16) == 0)
				jpnic = true;
			else if (!bracket_line(&c, p, n))
				key_line(&c, p, n);
		}
		p = nl ? nl + 1 : end;
	}
	if (c.nomem) {
		err = RK_ERR_NOMEM;
		goto cleanup;
	}
	/* a CIDR line is more exact than a range; the header line is the
	 * last resort */
	if (c.cidr) {
		free(out->range);
		out->range = c.cidr;
		c.cidr = NULL;
	} else if (!out->range && c.info_range) {
		out->range = c.info_range;
		c.info_range = NULL;
	}
	if (out->referral && !*out->referral) {
		free(out->referral);
		out->referral = NULL;
	}
	if (out->country && !*out->country) {
		free(out->country);
		out->country = NULL;
	}
	if (out->org && !*out->org) {
		free(out->org);
		out->org = NULL;
	}
	if (!out->country && jpnic && !(out->country = rk_strdup("JP"))) {
		err = RK_ERR_NOMEM;
		goto cleanup;
	}
	if (c.handle_admin && *c.handle_admin) {
		out->handle = c.handle_admin;
		c.handle_admin = NULL;
	} else if (c.handle_tech && *c.handle_tech) {
		out->handle = c.handle_tech;
		c.handle_tech = NULL;
	}
cleanup:
	free(c.handle_admin);
	free(c.handle_tech);
	free(c.cidr);
	free(c.info_range);
	rk_buf_release(&decoded);
	if (err)
		whois_answer_release(out);
	return err;
}

/* ARIN's server lists every covering network in full only when asked
 * "n + ADDR"; an AS is "a + N". */
enum rk_err whois_query_line(const char *host, const char *subject,
			     char *out, size_t outlen)
{
	size_t hl = strlen(host);
	bool arin = (hl >= 8 && strcasecmp(host + hl - 8, "arin.net") == 0);
	/* RIPE's software (RIPE, APNIC, AFRINIC): -r leaves out the
	 * person and role objects, which count against a daily limit and
	 * get a client blocked; the "% Abuse contact" line stays */
	bool rpsl = strcasecmp(host, "whois.ripe.net") == 0 ||
		    strcasecmp(host, "whois.apnic.net") == 0 ||
		    strcasecmp(host, "whois.afrinic.net") == 0;
	int w;

	if (rk_str_has_ctl(subject, false))
		return RK_ERR_INVAL;
	if (arin && (subject[0] == 'A' || subject[0] == 'a') &&
	    (subject[1] == 'S' || subject[1] == 's') &&
	    subject[2] >= '0' && subject[2] <= '9')
		w = snprintf(out, outlen, "a + %s\r\n", subject + 2);
	else if (arin && strspn(subject, "0123456789.:abcdefABCDEF") == strlen(subject))
		w = snprintf(out, outlen, "n + %s\r\n", subject);
	else if (rpsl)
		w = snprintf(out, outlen, "-r %s\r\n", subject);
	else
		w = snprintf(out, outlen, "%s\r\n", subject);
	return w < 0 || (size_t)w >= outlen ? RK_ERR_LIMIT : RK_OK;
}

/* ------------------------------------------------------------ the source
 *
 * Every query of a batch is one job walking its referral chain; jobs run
 * concurrently over non-blocking sockets and one poll(), at most
 * [resolve] concurrency connections at once and RK_MAX_WHOIS_PER_HOST to
 * one server.  Each server gets [resolve] timeout for its whole answer.
 */

#define WHOIS_NAME "whois"
#define WHOIS_DEFAULT_SERVER "whois.iana.org:43"
#define WHOIS_MAX_MAP 32
#define WHOIS_SERVER_TEXT (RK_MAX_DOMAIN + 16)

struct whois_map_entry {
	char name[WHOIS_SERVER_TEXT]; /* "host:port" as referrals name it */
	char to[WHOIS_SERVER_TEXT];   /* where it is reached */
};

/* A server's address, resolved once per batch: getaddrinfo blocks, and
 * a batch asks the same few servers again and again. */
struct whois_addr {
	char target[WHOIS_SERVER_TEXT];
	struct sockaddr_storage sa;
	socklen_t salen;
	int rc; /* getaddrinfo's result */
};
#define WHOIS_ADDR_CACHE 32

struct whois_source {
	struct whois_addr addrs[WHOIS_ADDR_CACHE];
	size_t naddrs;
	const struct rk_log *log;
	char first[WHOIS_SERVER_TEXT];
	struct whois_map_entry map[WHOIS_MAX_MAP];
	size_t nmap;
	long long timeout_ms;
	size_t concurrency;
	struct resolve_source_counts counts; /* connections made (no cache) */
};

enum job_state { JOB_WAIT, JOB_CONNECT, JOB_SEND, JOB_READ, JOB_DONE };

struct whois_job {
	enum job_state state;
	char subject[RK_MAX_DOMAIN + 2];     /* what is asked */
	char server[WHOIS_SERVER_TEXT];      /* current server, logical name */
	char visited[RK_MAX_WHOIS_REFERRALS][WHOIS_SERVER_TEXT];
	size_t nvisited;
	bool handle_asked;                   /* the JPNIC follow-up */
	int fd;
	char query[RK_MAX_DOMAIN + 16];
	size_t qlen, qsent;
	struct rk_buf in;
	long long deadline;                  /* monotonic ms */
	struct whois_answer kept;            /* range/country/org while a
						handle is asked */
	enum rk_err err;                     /* outcome */
	struct resolve_contact *out;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "host:port" (port 43 when left out; [v6]:port) into host and port. */
static enum rk_err split_server(const char *text, char *host, size_t hostlen,
				char *port, size_t portlen)
{
	const char *colon, *h = text;
	size_t n;

	if (*text == '[') {
		const char *close = strchr(text, ']');

		if (!close)
			return RK_ERR_INVAL;
		h = text + 1;
		n = (size_t)(close - h);
		colon = close[1] == ':' ? close + 1 : NULL;
		if (close[1] && !colon)
			return RK_ERR_INVAL;
	} else {
		colon = strrchr(text, ':');
		if (colon && strchr(text, ':') != colon)
			return RK_ERR_INVAL; /* bare v6 without brackets */
		n = colon ? (size_t)(colon - text) : strlen(text);
	}
	if (n == 0 || n >= hostlen)
		return RK_ERR_INVAL;
	memcpy(host, h, n);
	host[n] = '\0';
	if (snprintf(port, portlen, "%s", colon ? colon + 1 : "43") >= (int)portlen ||
	    !*port || strspn(port, "0123456789") != strlen(port) ||
	    strtol(port, NULL, 10) <= 0 || strtol(port, NULL, 10) > 65535)
		return RK_ERR_INVAL;
	return RK_OK;
}

/* The server text normalised to "host:port". */
static enum rk_err server_norm(const char *text, char *out, size_t outlen)
{
	char host[WHOIS_SERVER_TEXT], port[8];
	bool v6;

	if (split_server(text, host, sizeof(host), port, sizeof(port)))
		return RK_ERR_INVAL;
	rk_str_lower(host);
	v6 = strchr(host, ':') != NULL;
	if (snprintf(out, outlen, v6 ? "[%s]:%s" : "%s:%s", host, port) >= (int)outlen)
		return RK_ERR_LIMIT;
	return RK_OK;
}

static enum rk_err parse_map(struct whois_source *ws, const char *text)
{
	const char *p = text ? text : "", *item;
	size_t n;

	while (rk_list_next(&p, &item, &n)) {
		char entry[2 * WHOIS_SERVER_TEXT], *eq;
		struct whois_map_entry *m;

		if (!n)
			continue;
		if (n >= sizeof(entry) || ws->nmap == WHOIS_MAX_MAP)
			return rk_fail(ws->log, RK_ERR_CONFIG,
				       "[resolve] whois_map: too long (at most %d entries)",
				       WHOIS_MAX_MAP);
		memcpy(entry, item, n);
		entry[n] = '\0';
		eq = strchr(entry, '=');
		m = &ws->map[ws->nmap];
		if (!eq)
			return rk_fail(ws->log, RK_ERR_CONFIG,
				       "[resolve] whois_map: '%s' is not NAME=HOST:PORT", entry);
		*eq = '\0';
		rk_str_trim(entry);
		rk_str_trim(eq + 1);
		if (server_norm(entry, m->name, sizeof(m->name)) ||
		    server_norm(eq + 1, m->to, sizeof(m->to)))
			return rk_fail(ws->log, RK_ERR_CONFIG,
				       "[resolve] whois_map: '%s=%s' is not NAME=HOST:PORT",
				       entry, eq + 1);
		ws->nmap++;
	}
	return RK_OK;
}

/* Where the server named `server` is reached. */
static const char *server_target(const struct whois_source *ws,
				 const char *server)
{
	for (size_t i = 0; i < ws->nmap; i++)
		if (strcmp(ws->map[i].name, server) == 0)
			return ws->map[i].to;
	return server;
}

static void job_close(struct whois_job *j)
{
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
}

static void job_finish(struct whois_job *j, enum rk_err err)
{
	job_close(j);
	j->err = err;
	j->state = JOB_DONE;
}

/* The address of target "host:port" (numeric first: no resolver wait
 * for an address), from the batch's cache. */
static const struct whois_addr *server_addr(struct whois_source *ws,
					    const char *target, const char *host,
					    const char *port)
{
	struct whois_addr *wa;
	struct addrinfo hints, *ai = NULL;

	for (size_t i = 0; i < ws->naddrs; i++)
		if (strcmp(ws->addrs[i].target, target) == 0)
			return &ws->addrs[i];
	if (ws->naddrs == WHOIS_ADDR_CACHE)
		ws->naddrs = 0; /* a batch asking this many servers: start over */
	wa = &ws->addrs[ws->naddrs++];
	memset(wa, 0, sizeof(*wa));
	snprintf(wa->target, sizeof(wa->target), "%s", target);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST;
	wa->rc = getaddrinfo(host, port, &hints, &ai);
	if (wa->rc == EAI_NONAME) {
		hints.ai_flags &= ~AI_NUMERICHOST;
		wa->rc = getaddrinfo(host, port, &hints, &ai);
	}
	if (wa->rc == 0 && ai && ai->ai_addrlen <= sizeof(wa->sa)) {
		memcpy(&wa->sa, ai->ai_addr, ai->ai_addrlen);
		wa->salen = ai->ai_addrlen;
	} else if (wa->rc == 0) {
		wa->rc = EAI_FAIL;
	}
	if (ai)
		freeaddrinfo(ai);
	return wa;
}

/* Connect to the job's current server and queue its query line. */
static void job_start(struct whois_source *ws, struct whois_job *j,
		      long long now)
{
	char host[WHOIS_SERVER_TEXT], port[8];
	const struct whois_addr *wa;
	const char *target = server_target(ws, j->server);
	char hostname[WHOIS_SERVER_TEXT];

	if (split_server(j->server, hostname, sizeof(hostname), port, sizeof(port)) ||
	    whois_query_line(hostname, j->subject, j->query, sizeof(j->query)) ||
	    split_server(target, host, sizeof(host), port, sizeof(port))) {
		rk_log_warn(ws->log, "whois %s: cannot ask '%s'", j->subject, j->server);
		job_finish(j, RK_ERR_NOTFOUND);
		return;
	}
	j->qlen = strlen(j->query);
	j->qsent = 0;
	rk_buf_reset(&j->in);
	wa = server_addr(ws, target, host, port);
	if (wa->rc != 0) {
		/* a referral to a name that does not exist will not get
		 * better: nobody; the first server, or a resolver that
		 * cannot tell now, is worth another try */
		bool gone = wa->rc == EAI_NONAME && j->nvisited > 1;

		rk_log_warn(ws->log, "whois %s: cannot resolve '%s': %s", j->subject,
			    host, gai_strerror(wa->rc));
		job_finish(j, gone ? RK_ERR_NOTFOUND : RK_ERR_TEMPFAIL);
		return;
	}
	ws->counts.remote_queries++;
	j->fd = socket(wa->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (j->fd < 0 ||
	    (connect(j->fd, (const struct sockaddr *)&wa->sa, wa->salen) != 0 &&
	     errno != EINPROGRESS)) {
		rk_log_warn(ws->log, "whois %s: cannot connect to '%s': %s",
			    j->subject, j->server, strerror(errno));
		job_finish(j, RK_ERR_TEMPFAIL);
		return;
	}
	j->state = JOB_CONNECT;
	j->deadline = now + ws->timeout_ms;
}

static bool job_visited(const struct whois_job *j, const char *server)
{
	for (size_t i = 0; i < j->nvisited; i++)
		if (strcmp(j->visited[i], server) == 0)
			return true;
	return false;
}

static bool referral_port_ok(const struct whois_source *ws, const char *server)
{
	const char *colon = strrchr(server, ':');

	if (server_target(ws, server) != server)
		return true; /* mapped by the operator */
	return colon && (strcmp(colon, ":43") == 0 || strcmp(colon, ":4321") == 0);
}

/* Move on to server (a referral), or say why not. */
static bool job_refer(struct whois_source *ws, struct whois_job *j,
		      const char *referral)
{
	char next[WHOIS_SERVER_TEXT];

	if (server_norm(referral, next, sizeof(next)))
		return false;
	if (!referral_port_ok(ws, next)) {
		/* an answer must not send us to any port of any host (a mail
		 * server next door): whois and RWhois ports only, unless the
		 * operator mapped the name */
		rk_log_warn(ws->log, "whois %s: referral to '%s' refused (only ports "
			    "43 and 4321, or a name in [resolve] whois_map)",
			    j->subject, next);
		return false;
	}
	if (strcmp(next, j->server) == 0)
		return false; /* a server naming itself: its answer is the one */
	if (job_visited(j, next)) {
		rk_log_warn(ws->log, "whois %s: referral loop back to '%s'",
			    j->subject, next);
		return false;
	}
	if (j->nvisited == RK_MAX_WHOIS_REFERRALS) {
		rk_log_warn(ws->log, "whois %s: more than RK_MAX_WHOIS_REFERRALS (%d) "
			    "servers", j->subject, RK_MAX_WHOIS_REFERRALS);
		return false;
	}
	memcpy(j->server, next, sizeof(next));
	memcpy(j->visited[j->nvisited++], next, sizeof(next));
	j->state = JOB_WAIT;
	return true;
}

static enum rk_err contact_from(struct whois_job *j, struct whois_answer *a)
{
	struct resolve_contact *c = j->out;
	struct whois_answer *k = &j->kept;
	char server[WHOIS_SERVER_TEXT + 8];

	snprintf(server, sizeof(server), "%s", j->server);
	memset(c, 0, sizeof(*c));
	c->email = a->email;
	a->email = NULL;
	c->source = rk_strdup(WHOIS_NAME);
	c->registry = rk_strdup(server);
	c->range = a->range ? a->range : k->range;
	c->country = a->country ? a->country : k->country;
	c->org = a->org ? a->org : k->org;
	if (c->range == a->range)
		a->range = NULL;
	else
		k->range = NULL;
	if (c->country == a->country)
		a->country = NULL;
	else
		k->country = NULL;
	if (c->org == a->org)
		a->org = NULL;
	else
		k->org = NULL;
	/* what matched: the network (the subject when none is named) */
	c->match = rk_strdup(c->range ? c->range : j->subject);
	if (!c->source || !c->registry || !c->match) {
		resolve_contact_release(c);
		return RK_ERR_NOMEM;
	}
	return RK_OK;
}

/* The whole answer is in: decide what comes next. */
static void job_answer(struct whois_source *ws, struct whois_job *j)
{
	struct whois_answer a;
	enum rk_err err = whois_parse(j->in.data, j->in.len, &a);

	job_close(j);
	if (err) {
		rk_log_warn(ws->log, "whois %s: answer of '%s' unreadable: %s",
			    j->subject, j->server, rk_strerror(err));
		job_finish(j, err == RK_ERR_NOMEM ? err : RK_ERR_NOTFOUND);
		return;
	}
	rk_log_debug(ws->log, "whois %s: '%s' answered %zu bytes%s%s", j->subject,
		     j->server, j->in.len, a.referral ? ", referral to " : "",
		     a.referral ? a.referral : "");
	if (!j->handle_asked && a.referral && job_refer(ws, j, a.referral)) {
		whois_answer_release(&a);
		return;
	}
	if (a.email) {
		err = contact_from(j, &a);
		whois_answer_release(&a);
		job_finish(j, err);
		return;
	}
	if (!j->handle_asked && a.handle && strlen(a.handle) < sizeof(j->subject)) {
		/* JPNIC: the network names its contact; ask for it */
		whois_answer_release(&j->kept);
		j->kept = a;
		memcpy(j->subject, a.handle, strlen(a.handle) + 1);
		j->kept.handle = NULL;
		free(a.handle);
		j->handle_asked = true;
		j->state = JOB_WAIT;
		return;
	}
	whois_answer_release(&a);
	job_finish(j, RK_ERR_NOTFOUND);
}

static void job_io(struct whois_source *ws, struct whois_job *j, short revents)
{
	if (j->state == JOB_CONNECT) {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		if (getsockopt(j->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr) {
			rk_log_warn(ws->log, "whois %s: cannot connect to '%s': %s",
				    j->subject, j->server, strerror(soerr ? soerr : errno));
			job_finish(j, RK_ERR_TEMPFAIL);
			return;
		}
		j->state = JOB_SEND;
	}
	if (j->state == JOB_SEND && (revents & (POLLOUT | POLLERR | POLLHUP))) {
		ssize_t w = send(j->fd, j->query + j->qsent, j->qlen - j->qsent,
				 MSG_NOSIGNAL);

		if (w < 0 && errno != EAGAIN && errno != EINTR) {
			rk_log_warn(ws->log, "whois %s: '%s': %s", j->subject,
				    j->server, strerror(errno));
			job_finish(j, RK_ERR_TEMPFAIL);
			return;
		}
		if (w > 0)
			j->qsent += (size_t)w;
		if (j->qsent == j->qlen)
			j->state = JOB_READ;
		return;
	}
	if (j->state == JOB_READ && (revents & (POLLIN | POLLERR | POLLHUP))) {
		char chunk[16384];
		ssize_t r = recv(j->fd, chunk, sizeof(chunk), 0);

		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (r < 0) {
			rk_log_warn(ws->log, "whois %s: '%s': %s", j->subject,
				    j->server, strerror(errno));
			job_finish(j, RK_ERR_TEMPFAIL);
			return;
		}
		if (r == 0) {
			job_answer(ws, j);
			return;
		}
		if (rk_buf_add(&j->in, chunk, (size_t)r)) {
			rk_log_warn(ws->log, "whois %s: answer of '%s' is larger than "
				    "RK_MAX_WHOIS_REPLY (%u bytes): ignored", j->subject,
				    j->server, RK_MAX_WHOIS_REPLY);
			job_finish(j, RK_ERR_NOTFOUND);
		}
	}
}

static size_t host_active(const struct whois_job *jobs, size_t n,
			  const char *server)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (jobs[i].state >= JOB_CONNECT && jobs[i].state <= JOB_READ &&
		    strcmp(jobs[i].server, server) == 0)
			k++;
	return k;
}

static enum rk_err run_jobs(struct whois_source *ws, struct whois_job *jobs,
			    size_t n)
{
	struct pollfd *pfd = calloc(n ? n : 1, sizeof(*pfd));
	size_t *who = calloc(n ? n : 1, sizeof(*who));
	enum rk_err err = RK_OK;

	if (!pfd || !who) {
		err = RK_ERR_NOMEM;
		goto cleanup;
	}
	for (;;) {
		long long now = now_ms(), wait = -1;
		size_t active = 0, npfd = 0;
		bool left = false;

		for (size_t i = 0; i < n; i++)
			if (jobs[i].state >= JOB_CONNECT && jobs[i].state <= JOB_READ)
				active++;
		for (size_t i = 0; i < n && active < ws->concurrency; i++)
			if (jobs[i].state == JOB_WAIT &&
			    host_active(jobs, n, jobs[i].server) < RK_MAX_WHOIS_PER_HOST) {
				job_start(ws, &jobs[i], now);
				if (jobs[i].state != JOB_DONE)
					active++;
			}
		for (size_t i = 0; i < n; i++) {
			struct whois_job *j = &jobs[i];

			if (j->state == JOB_WAIT)
				left = true;
			if (j->state < JOB_CONNECT || j->state > JOB_READ)
				continue;
			if (j->deadline <= now) {
				rk_log_warn(ws->log, "whois %s: '%s' did not answer in time",
					    j->subject, j->server);
				job_finish(j, RK_ERR_TEMPFAIL);
				continue;
			}
			if (wait < 0 || j->deadline - now < wait)
				wait = j->deadline - now;
			pfd[npfd].fd = j->fd;
			pfd[npfd].events = j->state == JOB_READ ? POLLIN : POLLOUT;
			pfd[npfd].revents = 0;
			who[npfd++] = i;
		}
		if (npfd == 0) {
			if (!left)
				break;
			continue;
		}
		if (poll(pfd, npfd, (int)(wait > 1000 ? 1000 : wait + 1)) < 0 &&
		    errno != EINTR) {
			err = RK_ERR_IO;
			break;
		}
		for (size_t k = 0; k < npfd; k++)
			if (pfd[k].revents)
				job_io(ws, &jobs[who[k]], pfd[k].revents);
		for (size_t i = 0; i < n; i++)
			if (jobs[i].state == JOB_DONE && jobs[i].err == RK_ERR_NOMEM)
				err = RK_ERR_NOMEM;
		if (err)
			break;
	}
cleanup:
	free(pfd);
	free(who);
	return err;
}

/* The subject a query asks about at level, "" when whois has nothing to
 * say there. */
static void job_subject(const struct resolve_query *q, int level,
			char *out, size_t outlen)
{
	out[0] = '\0';
	if (level == 0 && q->has_addr)
		rk_addr_format(&q->addr, out);
	else if (level == 0 && q->domain && strlen(q->domain) < outlen)
		snprintf(out, outlen, "%s", q->domain);
	else if (level == 0 && q->asn)
		snprintf(out, outlen, "AS%u", (unsigned)q->asn);
	else if (level == 1 && q->asn)
		snprintf(out, outlen, "AS%u", (unsigned)q->asn);
	else if (level == 1 && q->domain && q->has_addr)
		rk_addr_format(&q->addr, out); /* the hosting network */
}

static enum rk_err whois_lookup(void *self, const struct resolve_query *qs,
				size_t n, int level,
				struct resolve_contact *outs, enum rk_err *errs)
{
	struct whois_source *ws = self;
	struct whois_job *jobs = calloc(n ? n : 1, sizeof(*jobs));
	enum rk_err err;

	if (!jobs)
		return RK_ERR_NOMEM;
	ws->naddrs = 0; /* addresses are looked up again for every batch */
	for (size_t i = 0; i < n; i++) {
		struct whois_job *j = &jobs[i];

		j->fd = -1;
		j->out = &outs[i];
		rk_buf_init(&j->in, RK_MAX_WHOIS_REPLY);
		job_subject(&qs[i], level, j->subject, sizeof(j->subject));
		if (!j->subject[0]) {
			j->state = JOB_DONE;
			j->err = RK_ERR_NOTFOUND;
			continue;
		}
		memcpy(j->server, ws->first, sizeof(j->server));
		memcpy(j->visited[j->nvisited++], ws->first, sizeof(ws->first));
	}
	err = run_jobs(ws, jobs, n);
	for (size_t i = 0; i < n; i++) {
		job_close(&jobs[i]);
		errs[i] = jobs[i].state == JOB_DONE ? jobs[i].err : RK_ERR_TEMPFAIL;
		if (errs[i])
			resolve_contact_release(&outs[i]);
		rk_buf_release(&jobs[i].in);
		whois_answer_release(&jobs[i].kept);
	}
	free(jobs);
	return err;
}

static void whois_free(void *self)
{
	free(self);
}

enum rk_err whois_source_new(struct rk_store *store, const struct rk_config *cfg,
			     const struct rk_log *log, bool offline,
			     struct resolve_source *out)
{
	struct whois_source *ws = calloc(1, sizeof(*ws));
	const char *first = cfg && cfg->resolve.whois_server ? cfg->resolve.whois_server
							     : WHOIS_DEFAULT_SERVER;
	enum rk_err err;

	(void)store;
	(void)offline; /* no cache: never made offline */
	memset(out, 0, sizeof(*out));
	if (!ws)
		return RK_ERR_NOMEM;
	ws->log = log;
	ws->timeout_ms = (cfg ? cfg->resolve.timeout : 10) * 1000;
	ws->concurrency = cfg && cfg->resolve.concurrency > 0
				  ? (size_t)cfg->resolve.concurrency : 8;
	if (server_norm(first, ws->first, sizeof(ws->first))) {
		free(ws);
		return rk_fail(log, RK_ERR_CONFIG,
			       "[resolve] whois_server: '%s' is not HOST:PORT", first);
	}
	if ((err = parse_map(ws, cfg ? cfg->resolve.whois_map : NULL))) {
		free(ws);
		return err;
	}
	out->name = WHOIS_NAME;
	out->network = true;
	out->lookup = whois_lookup;
	out->counts = &ws->counts;
	out->free = whois_free;
	out->self = ws;
	return RK_OK;
}
