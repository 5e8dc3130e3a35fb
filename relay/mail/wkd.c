/*
 * Web Key Directory (draft-koch-openpgp-webkey-service): the key of an
 * address from its own domain, over the project HTTP client
 * (include/renraku/http.h), imported into the relay's GnuPG home.
 *
 * Why not GnuPG's own locate (auto-key-locate wkd, which dirmngr does):
 * Debian 12's dirmngr (2.2.40) fetches WKD URLs trusting only the system
 * CAs and /etc/gnupg/trusted-certs (ks_http_fetch with
 * KS_HTTP_FETCH_TRUST_CFG; hkp-cacert is for keyservers only), connects
 * to port 443 of the real host name through its own resolver, and has
 * no option mapping a name to an address: pointing it at a loopback
 * server with a throwaway CA would need /etc/hosts, a DNS server on port
 * 53 and a CA in /etc, all machine-wide.  The HTTP client takes a CA
 * file and curl's resolve list per client, so tests run unprivileged.
 *
 * The lookup: the local part lower-cased (ASCII), SHA-1, z-base-32; the
 * advanced method https://openpgpkey.DOMAIN/.well-known/openpgpkey/
 * DOMAIN/hu/HASH?l=LOCAL first, the direct method https://DOMAIN/
 * .well-known/openpgpkey/hu/HASH?l=LOCAL only when the openpgpkey host
 * gave no HTTP answer at all (as the draft says: an existing subdomain
 * is authoritative).  What comes back must be one public key with a user
 * id for exactly the address; then it is imported.
 */
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "private.h"
#include "renraku/http.h"

#define WKD_MAX_RESOLVE 16

struct mail_wkd {
	struct rk_http *http;
	char *ca_file;
	int port;
	char *resolve[WKD_MAX_RESOLVE + 1]; /* "HOST:PORT:ADDRESS", NULL-ended */
	long timeout_ms;
};

void mail_wkd_free(struct mail_wkd *w)
{
	if (!w)
		return;
	rk_http_free(w->http);
	free(w->ca_file);
	for (size_t i = 0; w->resolve[i]; i++)
		free(w->resolve[i]);
	free(w);
}

enum rk_err mail_signer_wkd(struct mail_signer *s,
			    const struct mail_wkd_options *opt)
{
	struct mail_wkd *w;
	size_t n = 0;

	mail_wkd_free(s->wkd);
	s->wkd = NULL;
	if (!opt)
		return RK_OK;
	if (!(w = calloc(1, sizeof(*w))))
		return RK_ERR_NOMEM;
	w->port = opt->port > 0 ? opt->port : 443;
	w->timeout_ms = opt->timeout_ms > 0 ? opt->timeout_ms : 10000;
	if (opt->ca_file && !(w->ca_file = rk_strdup(opt->ca_file)))
		goto nomem;
	/* "HOST:ADDRESS,HOST:ADDRESS" -> curl's "HOST:PORT:ADDRESS" */
	for (const char *p = opt->resolve ? opt->resolve : ""; *p;) {
		size_t len = strcspn(p, ",");
		const char *colon = memchr(p, ':', len);
		struct rk_buf one;

		if (!colon || colon == p || n == WKD_MAX_RESOLVE) {
			mail_wkd_free(w);
			return rk_fail(s->log, RK_ERR_CONFIG,
				       "[gpg] wkd_resolve: '%.*s' is not HOST:ADDRESS",
				       (int)len, p);
		}
		rk_buf_init(&one, 512);
		if (rk_buf_addf(&one, "%.*s:%d:%.*s", (int)(colon - p), p, w->port,
				(int)(len - (size_t)(colon - p) - 1), colon + 1) ||
		    !(w->resolve[n] = rk_strdup(one.data))) {
			rk_buf_release(&one);
			goto nomem;
		}
		rk_buf_release(&one);
		n++;
		p += len;
		if (*p == ',')
			p++;
	}
	s->wkd = w;
	return RK_OK;
nomem:
	mail_wkd_free(w);
	return RK_ERR_NOMEM;
}

/* z-base-32 (RFC 6189 section 5.1.6) of 20 bytes: 32 characters. */
static void zbase32(const unsigned char *in, size_t n, char *out)
{
	static const char alphabet[] = "ybndrfg8ejkmcpqxot1uwisza345h769";
	unsigned int acc = 0, bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = alphabet[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits)
		out[o++] = alphabet[(acc << (5 - bits)) & 31];
	out[o] = '\0';
}

enum rk_err mail_wkd_hash(const char *local, size_t len, char out[33])
{
	GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA1);
	unsigned char digest[20];
	gsize dlen = sizeof(digest);

	if (!sum)
		return RK_ERR_NOMEM;
	for (size_t i = 0; i < len; i++) {
		guchar c = (guchar)local[i];

		if (c >= 'A' && c <= 'Z')
			c = (guchar)(c + 32);
		g_checksum_update(sum, &c, 1);
	}
	g_checksum_get_digest(sum, digest, &dlen);
	g_checksum_free(sum);
	zbase32(digest, sizeof(digest), out);
	return RK_OK;
}

/* %-escape the local part for ?l= (unreserved characters stay). */
static enum rk_err add_escaped(struct rk_buf *b, const char *s, size_t n)
{
	enum rk_err err = RK_OK;

	for (size_t i = 0; i < n && !err; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-._~", c))
			err = rk_buf_addc(b, (char)c);
		else
			err = rk_buf_addf(b, "%%%02X", c);
	}
	return err;
}

enum rk_err mail_wkd_urls(const char *addr, int port, struct rk_buf *advanced,
			  struct rk_buf *direct)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;
	char hash[33], portstr[16] = "";
	enum rk_err err;

	if (!at || at == addr || !at[1] || rk_str_has_ctl(addr, false) ||
	    strpbrk(at + 1, "/?#:@[]% ") || strlen(addr) > RK_MAX_EMAIL)
		return RK_ERR_INVAL;
	if (port > 0 && port != 443)
		snprintf(portstr, sizeof(portstr), ":%d", port);
	if ((err = mail_wkd_hash(addr, (size_t)(at - addr), hash)))
		return err;
	if ((err = rk_buf_addf(advanced, "https://openpgpkey.%s%s/.well-known/"
			       "openpgpkey/%s/hu/%s?l=", at + 1, portstr, at + 1,
			       hash)) ||
	    (err = add_escaped(advanced, addr, (size_t)(at - addr))) ||
	    (err = rk_buf_addf(direct, "https://%s%s/.well-known/openpgpkey/hu/"
			       "%s?l=", at + 1, portstr, hash)) ||
	    (err = add_escaped(direct, addr, (size_t)(at - addr))))
		return err;
	return RK_OK;
}

/* Exactly one public key in data, with a user id whose address is addr
 * (*ok); why it is refused otherwise, appended to why. */
static enum rk_err check_key(struct mail_signer *s, const char *addr,
			     const char *data, size_t len, bool *ok,
			     struct rk_buf *why)
{
	gpgme_data_t d = NULL;
	gpgme_key_t key = NULL;
	gpgme_error_t gerr;
	size_t n = 0;
	bool match = false, secret = false;

	*ok = false;
	if (gpgme_data_new_from_mem(&d, data, len, 0))
		return RK_ERR_NOMEM;
	if ((gerr = gpgme_op_keylist_from_data_start(s->ctx, d, 0))) {
		gpgme_data_release(d);
		return rk_buf_addf(why, "; WKD answer is not a key: %s",
				   gpgme_strerror(gerr));
	}
	while (!gpgme_op_keylist_next(s->ctx, &key)) {
		n++;
		secret = secret || key->secret;
		for (gpgme_user_id_t u = key->uids; u; u = u->next)
			if (u->email && rk_str_ieq(u->email, addr))
				match = true;
		gpgme_key_unref(key);
	}
	gpgme_op_keylist_end(s->ctx);
	gpgme_data_release(d);
	if (n != 1 || secret)
		return rk_buf_addf(why, "; WKD answer holds %zu keys, not one "
				   "public key", n);
	if (!match)
		return rk_buf_addf(why, "; WKD key has no user id for %s", addr);
	*ok = true;
	return RK_OK;
}

enum rk_err mail_wkd_fetch(struct mail_signer *s, const char *addr,
			   bool *imported, struct rk_buf *why)
{
	struct mail_wkd *w = s->wkd;
	struct rk_buf adv, dir;
	struct rk_http_request req = {NULL, "application/octet-stream",
				      RK_MAX_KEY_FILE};
	struct rk_http_response resp;
	char fpr[41];
	bool ok;
	enum rk_err err;

	*imported = false;
	memset(&resp, 0, sizeof(resp));
	if (!w)
		return RK_OK;
	rk_buf_init(&adv, 4096);
	rk_buf_init(&dir, 4096);
	if ((err = mail_wkd_urls(addr, w->port, &adv, &dir))) {
		err = err == RK_ERR_INVAL ? rk_buf_adds(why, "; no WKD lookup for "
							     "this address") : err;
		goto cleanup;
	}
	if (!w->http) {
		struct rk_http_options opt = {
			.ca_file = w->ca_file, .timeout_ms = w->timeout_ms,
			.max_redirects = 3, .concurrency = 1, .per_host = 1,
			.resolve = w->resolve[0] ? (const char *const *)w->resolve
						 : NULL,
		};

		if ((err = rk_http_new(&w->http, &opt)))
			goto cleanup;
	}
	req.url = adv.data;
	if ((err = rk_http_fetch(w->http, &req, 1, &resp)))
		goto cleanup;
	if (resp.err == RK_ERR_TEMPFAIL && resp.status == 0) {
		/* no such host (or it does not answer): the direct method */
		rk_log_debug(s->log, "WKD %s: %s; trying %s", adv.data, resp.error,
			     dir.data);
		rk_http_response_release(&resp);
		req.url = dir.data;
		if ((err = rk_http_fetch(w->http, &req, 1, &resp)))
			goto cleanup;
	}
	if (resp.err || resp.status != 200 || !resp.body_len) {
		err = rk_buf_addf(why, "; WKD: %s", resp.err ? resp.error
					: resp.status == 404 ? "no key published"
							     : "no key");
		if (!err && !resp.err && resp.status != 200 && resp.status != 404)
			err = rk_buf_addf(why, " (HTTP %ld)", resp.status);
		goto cleanup;
	}
	if ((err = check_key(s, addr, resp.body, resp.body_len, &ok, why)) ||
	    !ok)
		goto cleanup; /* refused: why says it */
	if ((err = mail_import_key(s->home, resp.body, resp.body_len, fpr, s->log)))
		goto cleanup;
	rk_log_info(s->log, "WKD: key %s for %s imported from %s", fpr, addr,
		    resp.final_url ? resp.final_url : req.url);
	*imported = true;
cleanup:
	rk_http_response_release(&resp);
	rk_buf_release(&adv);
	rk_buf_release(&dir);
	return err;
}
