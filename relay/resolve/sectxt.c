/*
 * The security.txt contact source (RFC 9116) for domain subjects:
 * https://HOST/.well-known/security.txt fetched through rk_http (the batch
 * at once), read by a pure parser:
 *
 *   Contact              mailto: only (other URIs are counted, not used)
 *   Expires              a stale file is ignored; twice, or not a date:
 *                        the file is not used
 *   Preferred-Languages  the first tag chooses the notice's language
 *   Encryption           the key URL is kept with the contact
 *   Canonical            when present, the URL read must be among them,
 *                        else the file is not trusted
 *
 * An OpenPGP cleartext signature is checked with GPGME against the
 * relay's keyring ([gpg] home): good -> "signed by FPR", key not there
 * -> "signed, key unknown" (still used: most signers are strangers),
 * bad -> the file is not used.  Only the signed text is read; anything
 * around the signature frame is ignored.
 *
 * No file (404, an HTML page, no web server at all) is "nobody here"
 * (the next source is asked); 429 and 5xx are "try later".
 */
#include <gpgme.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "renraku/http.h"
#include "private.h"

#define SECTXT_NAME "security.txt"
#define SECTXT_DEFAULT_URL "https://{host}/.well-known/security.txt"
#define SIG_BEGIN "-----BEGIN PGP SIGNED MESSAGE-----"
#define SIG_MIDDLE "-----BEGIN PGP SIGNATURE-----"
#define SIG_END "-----END PGP SIGNATURE-----"

void sectxt_release(struct sectxt *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->ncontacts; i++)
		free(st->contacts[i]);
	for (size_t i = 0; i < st->nencryption; i++)
		free(st->encryption[i]);
	for (size_t i = 0; i < st->ncanonical; i++)
		free(st->canonical[i]);
	free(st->contacts);
	free(st->encryption);
	free(st->canonical);
	free(st->lang);
	memset(st, 0, sizeof(*st));
}

static void set_why(char *why, size_t whylen, const char *text)
{
	if (why && whylen)
		snprintf(why, whylen, "%s", text);
}

static enum rk_err list_add(char ***list, size_t *n, const char *v, size_t len)
{
	char *copy;

	if (*n >= RK_MAX_SECURITY_TXT_FIELDS)
		return RK_OK; /* the rest is not kept */
	if (rk_array_room((void **)list, *n, sizeof(**list)))
		return RK_ERR_NOMEM;
	if (!(copy = rk_strndup(v, len)))
		return RK_ERR_NOMEM;
	(*list)[(*n)++] = copy;
	return RK_OK;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 32);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* "mailto:a%40b.example?subject=x" -> "a@b.example", "" when it is not a
 * usable address. */
static enum rk_err mailto_address(const char *v, size_t n, char **out)
{
	char buf[RK_MAX_EMAIL + 1];
	size_t k = 0;

	*out = NULL;
	if (n < 7 || strncasecmp(v, "mailto:", 7) != 0)
		return RK_OK;
	for (size_t i = 7; i < n && v[i] != '?'; i++) {
		char c = v[i];

		if (c == '%' && i + 2 < n && hexval(v[i + 1]) >= 0 && hexval(v[i + 2]) >= 0) {
			c = (char)(hexval(v[i + 1]) * 16 + hexval(v[i + 2]));
			i += 2;
		}
		if (k == RK_MAX_EMAIL)
			return RK_OK;
		buf[k++] = c;
	}
	buf[k] = '\0';
	if (!strchr(buf, '@') || !rk_email_valid(buf))
		return RK_OK;
	*out = rk_strdup(buf);
	return *out ? RK_OK : RK_ERR_NOMEM;
}

struct sectxt_parse {
	struct sectxt *st;
	int nexpires;
	bool bad_expires;
};

static bool name_is(const char *name, size_t n, const char *want)
{
	return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

static enum rk_err field(struct sectxt_parse *p, const char *name, size_t nlen,
			 const char *v, size_t vlen)
{
	struct sectxt *st = p->st;

	if (name_is(name, nlen, "Contact")) {
		char *addr;
		enum rk_err err = mailto_address(v, vlen, &addr);

		if (err)
			return err;
		if (!addr) {
			st->nother_contacts++;
			return RK_OK;
		}
		err = list_add(&st->contacts, &st->ncontacts, addr, strlen(addr));
		free(addr);
		return err;
	}
	if (name_is(name, nlen, "Encryption"))
		return list_add(&st->encryption, &st->nencryption, v, vlen);
	if (name_is(name, nlen, "Canonical"))
		return list_add(&st->canonical, &st->ncanonical, v, vlen);
	if (name_is(name, nlen, "Expires")) {
		char text[64];
		int64_t t;

		p->nexpires++;
		if (vlen >= sizeof(text)) {
			p->bad_expires = true;
			return RK_OK;
		}
		memcpy(text, v, vlen);
		text[vlen] = '\0';
		/* RFC 3339 date-time: a date and a time */
		if (!strchr(text, 'T') && !strchr(text, 't'))
			p->bad_expires = true;
		else if (rk_time_parse(text, &t) != RK_OK)
			p->bad_expires = true;
		else if (!st->expires)
			st->expires = t;
		return RK_OK;
	}
	if (name_is(name, nlen, "Preferred-Languages") && !st->lang) {
		size_t n = 0;

		/* the first tag (v is not NUL-terminated: bounded by vlen) */
		while (n < vlen && v[n] != ',' && v[n] != ' ' && v[n] != '\t')
			n++;
		if (n == 0 || n > 35)
			return RK_OK;
		for (size_t i = 0; i < n; i++)
			if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
			      (v[i] >= '0' && v[i] <= '9') || v[i] == '-'))
				return RK_OK;
		if (!(st->lang = rk_strndup(v, n)))
			return RK_ERR_NOMEM;
		rk_str_lower(st->lang);
	}
	return RK_OK;
}

/* One line of the (signed) text: "Name: value", a comment or blank. */
static enum rk_err parse_line(struct sectxt_parse *p, const char *s, size_t n)
{
	const char *colon, *v;
	size_t nlen, vlen;

	if (n && s[n - 1] == '\r')
		n--;
	if (n == 0 || s[0] == '#')
		return RK_OK;
	if (n > RK_MAX_SECURITY_TXT_LINE || memchr(s, '\0', n)) {
		p->st->nrejected++;
		return RK_OK;
	}
	colon = memchr(s, ':', n);
	nlen = colon ? (size_t)(colon - s) : 0;
	if (!colon || nlen == 0 || nlen > 64 ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") < nlen) {
		p->st->nrejected++;
		return RK_OK;
	}
	v = colon + 1;
	vlen = n - nlen - 1;
	while (vlen && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	for (size_t i = 0; i < vlen; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) {
			p->st->nrejected++;
			return RK_OK;
		}
	return field(p, s, nlen, v, vlen);
}

/* The next line of [*pos, end): sets *line, *n (without the LF). */
static bool next_line(const char **pos, const char *end, const char **line,
		      size_t *n)
{
	const char *nl;

	if (*pos >= end)
		return false;
	nl = memchr(*pos, '\n', (size_t)(end - *pos));
	*line = *pos;
	*n = (size_t)((nl ? nl : end) - *pos);
	*pos = nl ? nl + 1 : end;
	return true;
}

static bool line_is(const char *s, size_t n, const char *want)
{
	size_t w = strlen(want);

	while (n && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return n == w && memcmp(s, want, w) == 0;
}

enum rk_err sectxt_parse(const char *data, size_t len, struct sectxt *out,
			 char *why, size_t whylen)
{
	struct sectxt_parse p;
	const char *pos = data, *end = data + len, *line;
	size_t n, lines = 0;
	bool in_sig = false, signed_done = false;
	enum rk_err err = RK_OK;

	memset(out, 0, sizeof(*out));
	memset(&p, 0, sizeof(p));
	p.st = out;
	set_why(why, whylen, "");
	if (len > RK_MAX_SECURITY_TXT) {
		set_why(why, whylen, "larger than RK_MAX_SECURITY_TXT");
		return RK_ERR_LIMIT;
	}
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		pos += 3; /* a BOM */
	/* skip blank lines before a signature frame */
	while (pos < end && (*pos == '\n' || *pos == '\r'))
		pos++;
	if ((size_t)(end - pos) >= strlen(SIG_BEGIN) &&
	    memcmp(pos, SIG_BEGIN, strlen(SIG_BEGIN)) == 0) {
		out->is_signed = true;
		next_line(&pos, end, &line, &n);
		/* armor headers ("Hash: SHA256") up to a blank line */
		while (next_line(&pos, end, &line, &n) && !line_is(line, n, ""))
			;
		in_sig = true;
	}
	while (!err && next_line(&pos, end, &line, &n)) {
		if (in_sig && line_is(line, n, SIG_MIDDLE)) {
			signed_done = true;
			break; /* the rest is the signature and whatever follows */
		}
		if (in_sig && n >= 2 && line[0] == '-' && line[1] == ' ') {
			line += 2; /* dash-escaped */
			n -= 2;
		} else if (in_sig && n >= 1 && line[0] == '-') {
			set_why(why, whylen, "a line in the signed text is not dash-escaped");
			err = RK_ERR_PARSE;
			break;
		}
		lines++;
		err = parse_line(&p, line, n);
	}
	if (err == RK_ERR_PARSE || err == RK_ERR_NOMEM)
		goto cleanup;
	if (in_sig && !signed_done) {
		set_why(why, whylen, "the signed text has no signature");
		err = RK_ERR_PARSE;
	} else if (in_sig) {
		bool ended = false;

		while (next_line(&pos, end, &line, &n))
			if (line_is(line, n, SIG_END)) {
				ended = true;
				break;
			}
		if (!ended) {
			set_why(why, whylen, "the signature is not closed");
			err = RK_ERR_PARSE;
		}
	}
	if (!err && p.nexpires > 1) {
		set_why(why, whylen, "Expires appears more than once");
		err = RK_ERR_PARSE;
	}
	if (!err && p.bad_expires) {
		set_why(why, whylen, "Expires is not an RFC 3339 date-time");
		err = RK_ERR_PARSE;
	}
	if (!err && lines == 0) {
		set_why(why, whylen, "empty");
		err = RK_ERR_PARSE;
	}
cleanup:
	if (err)
		sectxt_release(out);
	if (err == RK_ERR_PARSE && out && why && !*why)
		set_why(why, whylen, "unreadable");
	return err;
}

bool sectxt_usable(const struct sectxt *st, const char *url, int64_t now,
		   char *why, size_t whylen)
{
	bool canonical = st->ncanonical == 0;

	if (st->expires && st->expires <= now) {
		set_why(why, whylen, "expired (Expires is in the past)");
		return false;
	}
	for (size_t i = 0; !canonical && i < st->ncanonical; i++)
		canonical = url && strcmp(st->canonical[i], url) == 0;
	if (!canonical) {
		if (why && whylen)
			snprintf(why, whylen, "its Canonical URLs do not name %s",
				 url ? url : "the URL read");
		return false;
	}
	if (st->ncontacts == 0) {
		set_why(why, whylen, "no mailto: Contact");
		return false;
	}
	return true;
}

/* ------------------------------------------------------------ the source */

struct sectxt_source {
	const struct rk_log *log;
	struct rk_http *http;
	char *url_template;  /* "{host}" replaced by the domain */
	char *gpg_home;      /* the relay's keyring, NULL = none */
	char *ca_file;       /* [resolve] ca_file, relative to the config */
	struct rk_store *store; /* its clock (store_now) dates Expires; NULL = no
				   date known: nothing counts as expired */
	struct resolve_source_counts counts; /* fetches (no cache) */
};

/* The URL for a domain: the template with {host} replaced. */
static enum rk_err sectxt_url(const struct sectxt_source *ss, const char *host,
			      char **out)
{
	struct rk_buf b;
	const char *t = ss->url_template, *at = strstr(t, "{host}");
	enum rk_err err;

	rk_buf_init(&b, RK_MAX_URL);
	err = at ? rk_buf_add(&b, t, (size_t)(at - t)) : rk_buf_adds(&b, t);
	if (!err && at)
		err = rk_buf_adds(&b, host);
	if (!err && at)
		err = rk_buf_adds(&b, at + 6);
	*out = err ? NULL : rk_buf_detach(&b, NULL);
	rk_buf_release(&b);
	return err ? err : (*out ? RK_OK : RK_ERR_NOMEM);
}

/* Check the cleartext signature: *detail is what --explain says, and
 * false means a bad signature (the file is not used). */
static bool signature_check(const struct sectxt_source *ss, const char *text,
			    size_t len, const char *url, char **detail)
{
	gpgme_ctx_t ctx = NULL;
	gpgme_data_t sig = NULL, plain = NULL;
	gpgme_verify_result_t res;
	gpgme_error_t gerr;
	char buf[256];
	bool ok = true;

	*detail = NULL;
	if (!ss->gpg_home) {
		*detail = rk_strdup("signed, not checked (no keyring)");
		return true;
	}
	gerr = gpgme_new(&ctx);
	if (!gerr)
		gerr = gpgme_set_protocol(ctx, GPGME_PROTOCOL_OpenPGP);
	if (!gerr)
		gerr = gpgme_ctx_set_engine_info(ctx, GPGME_PROTOCOL_OpenPGP, NULL,
						 ss->gpg_home);
	if (!gerr)
		gerr = gpgme_data_new_from_mem(&sig, text, len, 0);
	if (!gerr)
		gerr = gpgme_data_new(&plain);
	if (!gerr)
		gerr = gpgme_op_verify(ctx, sig, NULL, plain);
	res = gerr ? NULL : gpgme_op_verify_result(ctx);
	if (!res || !res->signatures) {
		snprintf(buf, sizeof(buf), "signed, not checked (%s)",
			 gerr ? gpgme_strerror(gerr) : "no signature found");
	} else if (gpgme_err_code(res->signatures->status) == GPG_ERR_NO_ERROR) {
		snprintf(buf, sizeof(buf), "signed by %s",
			 res->signatures->fpr ? res->signatures->fpr : "?");
	} else if (gpgme_err_code(res->signatures->status) == GPG_ERR_NO_PUBKEY) {
		snprintf(buf, sizeof(buf), "signed, key unknown (%s)",
			 res->signatures->fpr ? res->signatures->fpr : "?");
	} else if (gpgme_err_code(res->signatures->status) == GPG_ERR_BAD_SIGNATURE) {
		rk_log_warn(ss->log, "security.txt %s: bad signature: not used", url);
		ok = false;
		buf[0] = '\0';
	} else {
		snprintf(buf, sizeof(buf), "signed, %s",
			 gpgme_strerror(res->signatures->status));
	}
	gpgme_data_release(sig);
	gpgme_data_release(plain);
	gpgme_release(ctx);
	if (ok)
		*detail = rk_strdup(buf);
	return ok;
}

static enum rk_err contact_from(const struct sectxt_source *ss,
				const struct rk_http_response *resp,
				const char *url, const char *domain,
				struct resolve_contact *c)
{
	struct sectxt st;
	char why[256];
	char *detail = NULL;
	const char *read_url = resp->final_url ? resp->final_url : url;
	enum rk_err err;

	memset(c, 0, sizeof(*c));
	err = sectxt_parse(resp->body ? resp->body : "", resp->body_len, &st, why,
			   sizeof(why));
	if (err == RK_ERR_NOMEM)
		return err;
	if (err) {
		rk_log_warn(ss->log, "security.txt %s: %s: not used", read_url, why);
		return RK_ERR_NOTFOUND;
	}
	if (!sectxt_usable(&st, read_url, ss->store ? store_now(ss->store) : 0,
			   why, sizeof(why))) {
		rk_log_warn(ss->log, "security.txt %s: %s: not used", read_url, why);
		sectxt_release(&st);
		return RK_ERR_NOTFOUND;
	}
	if (st.is_signed &&
	    !signature_check(ss, resp->body, resp->body_len, read_url, &detail)) {
		sectxt_release(&st);
		return RK_ERR_NOTFOUND;
	}
	c->email = rk_strdup(st.contacts[0]);
	c->source = rk_strdup(SECTXT_NAME);
	c->registry = rk_strdup(read_url);
	c->match = rk_strdup(domain);
	c->lang = st.lang ? rk_strdup(st.lang) : NULL;
	c->encryption = st.nencryption ? rk_strdup(st.encryption[0]) : NULL;
	c->detail = detail ? detail : rk_strdup(st.is_signed ? "signed" : "not signed");
	err = (!c->email || !c->source || !c->registry || !c->match ||
	       (st.lang && !c->lang) || (st.nencryption && !c->encryption) ||
	       !c->detail) ? RK_ERR_NOMEM : RK_OK;
	if (!err) {
		rk_str_clean_line(c->registry);
		if (c->encryption)
			rk_str_clean_line(c->encryption);
	}
	sectxt_release(&st);
	if (err)
		resolve_contact_release(c);
	return err;
}

/* What an HTTP outcome means: a file to read, nobody, or later. */
static enum rk_err response_outcome(const struct sectxt_source *ss,
				    const struct rk_http_response *r,
				    const char *url)
{
	if (r->err == RK_ERR_NOMEM)
		return RK_ERR_NOMEM;
	if (r->err == RK_ERR_LIMIT) {
		rk_log_warn(ss->log, "security.txt %s: larger than RK_MAX_SECURITY_TXT "
			    "(%u bytes) or too many redirects: not used", url,
			    RK_MAX_SECURITY_TXT);
		return RK_ERR_NOTFOUND;
	}
	if (r->err) {
		/* most domains have no web server or no HTTPS: that is an
		 * answer ("no security.txt"), not a reason to wait */
		rk_log_debug(ss->log, "security.txt %s: %s", url, r->error);
		return RK_ERR_NOTFOUND;
	}
	if (r->status == 429 || r->status >= 500) {
		rk_log_warn(ss->log, "security.txt %s: HTTP %ld: try later", url, r->status);
		return RK_ERR_TEMPFAIL;
	}
	if (r->status != 200)
		return RK_ERR_NOTFOUND;
	if (r->content_type && strncasecmp(r->content_type, "text/plain", 10) != 0) {
		rk_log_debug(ss->log, "security.txt %s: Content-Type %s is not text/plain",
			     url, r->content_type);
		return RK_ERR_NOTFOUND;
	}
	return RK_OK;
}

/* One round: the file of hosts[i] for every i with one (NULL = skip).
 * nofile[i] is set when the host has no file at all (404, an HTML page,
 * no web server), as opposed to a file that is not used. */
static enum rk_err fetch_round(struct sectxt_source *ss, const char *const *hosts,
			       size_t n, struct resolve_contact *outs,
			       enum rk_err *errs, bool *nofile)
{
	struct rk_http_request *reqs = calloc(n ? n : 1, sizeof(*reqs));
	struct rk_http_response *resps = calloc(n ? n : 1, sizeof(*resps));
	char **urls = calloc(n ? n : 1, sizeof(*urls));
	size_t *which = calloc(n ? n : 1, sizeof(*which));
	size_t m = 0;
	enum rk_err err = RK_OK;

	if (!reqs || !resps || !urls || !which) {
		err = RK_ERR_NOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < n && !err; i++) {
		nofile[i] = false;
		if (!hosts[i])
			continue;
		if ((err = sectxt_url(ss, hosts[i], &urls[m])))
			break;
		reqs[m].url = urls[m];
		reqs[m].accept = "text/plain";
		reqs[m].max_body = RK_MAX_SECURITY_TXT;
		which[m++] = i;
	}
	if (!err && m) {
		ss->counts.remote_queries += (long long)m;
		err = rk_http_fetch(ss->http, reqs, m, resps);
	}
	for (size_t k = 0; !err && k < m; k++) {
		size_t i = which[k];

		errs[i] = response_outcome(ss, &resps[k], urls[k]);
		nofile[i] = errs[i] == RK_ERR_NOTFOUND && resps[k].err != RK_ERR_LIMIT;
		if (errs[i] == RK_OK)
			errs[i] = contact_from(ss, &resps[k], urls[k], hosts[i], &outs[i]);
		if (errs[i] == RK_ERR_NOMEM)
			err = RK_ERR_NOMEM;
	}
cleanup:
	for (size_t k = 0; k < m; k++) {
		rk_http_response_release(&resps[k]);
		free(urls[k]);
	}
	free(reqs);
	free(resps);
	free(urls);
	free(which);
	return err;
}

/* The domain one label up when that is still a registrable-looking name
 * (the domain had three labels or more): "login.bank.example" ->
 * "bank.example"; NULL otherwise. */
static const char *parent_host(const char *domain)
{
	const char *dot = strchr(domain, '.');

	return dot && strchr(dot + 1, '.') ? dot + 1 : NULL;
}

/* Each domain's own file, then, for those with none, the parent's (a
 * phishing page on a subdomain of the organization that has one). */
static enum rk_err sectxt_lookup(void *self, const struct resolve_query *qs,
				 size_t n, int level, struct resolve_contact *outs,
				 enum rk_err *errs)
{
	struct sectxt_source *ss = self;
	const char **hosts = calloc(n ? n : 1, sizeof(*hosts));
	bool *nofile = calloc(n ? n : 1, sizeof(*nofile));
	bool again = false;
	enum rk_err err = RK_OK;

	for (size_t i = 0; i < n; i++)
		errs[i] = RK_ERR_NOTFOUND;
	if (!hosts || !nofile) {
		err = RK_ERR_NOMEM;
		goto cleanup;
	}
	if (level != 0)
		goto cleanup;
	for (size_t i = 0; i < n; i++)
		hosts[i] = qs[i].domain;
	err = fetch_round(ss, hosts, n, outs, errs, nofile);
	for (size_t i = 0; !err && i < n; i++) {
		hosts[i] = nofile[i] && qs[i].domain ? parent_host(qs[i].domain) : NULL;
		again = again || hosts[i];
	}
	if (!err && again)
		err = fetch_round(ss, hosts, n, outs, errs, nofile);
cleanup:
	free(hosts);
	free(nofile);
	return err;
}

static void sectxt_free(void *self)
{
	struct sectxt_source *ss = self;

	if (!ss)
		return;
	rk_http_free(ss->http);
	free(ss->url_template);
	free(ss->gpg_home);
	free(ss->ca_file);
	free(ss);
}

enum rk_err sectxt_source_new(struct rk_store *store, const struct rk_config *cfg,
			      const struct rk_log *log, bool offline,
			      struct resolve_source *out)
{
	struct sectxt_source *ss = calloc(1, sizeof(*ss));
	struct rk_http_options opt;
	const char *tmpl = cfg && cfg->resolve.security_txt_url
				   ? cfg->resolve.security_txt_url : SECTXT_DEFAULT_URL;
	enum rk_err err = RK_ERR_NOMEM;

	(void)offline; /* no cache: never made offline */
	memset(out, 0, sizeof(*out));
	if (!ss)
		return RK_ERR_NOMEM;
	ss->log = log;
	ss->store = store;
	if (!strstr(tmpl, "{host}") || strncmp(tmpl, "https://", 8) != 0) {
		err = rk_fail(log, RK_ERR_CONFIG, "[resolve] security_txt_url: '%s' is "
			      "not an https:// URL with {host} in it", tmpl);
		goto fail;
	}
	if (!(ss->url_template = rk_strdup(tmpl)))
		goto fail;
	if (cfg && cfg->gpg.home && (err = rk_config_path(cfg, cfg->gpg.home, &ss->gpg_home)))
		goto fail;
	if (cfg && cfg->resolve.ca_file &&
	    (err = rk_config_path(cfg, cfg->resolve.ca_file, &ss->ca_file)))
		goto fail;
	memset(&opt, 0, sizeof(opt));
	opt.ca_file = ss->ca_file;
	opt.timeout_ms = (cfg ? cfg->resolve.timeout : 10) * 1000;
	opt.max_redirects = 3;
	opt.concurrency = cfg && cfg->resolve.concurrency > 0 ? (size_t)cfg->resolve.concurrency : 8;
	if ((err = rk_http_new(&ss->http, &opt)))
		goto fail;
	out->name = SECTXT_NAME;
	out->network = true;
	out->lookup = sectxt_lookup;
	out->counts = &ss->counts;
	out->free = sectxt_free;
	out->self = ss;
	return RK_OK;
fail:
	sectxt_free(ss);
	return err;
}
