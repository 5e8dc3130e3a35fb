/*
 * Recipient keys and encryption with GPGME, in the relay's own GnuPG
 * home (the one that holds the signing key):
 *
 *   mail_import_key      a public key from contacts/keys/ (or WKD) into
 *                        the home; secret keys are refused
 *   mail_recipient_key   the key a notice to an address is encrypted to,
 *                        judged at the caller's `now`, or why there is
 *                        none (logged by the caller); cached per signer
 *   mail_encrypt_signed  sign and encrypt in one OpenPGP message (RFC
 *                        3156 section 6.2, the combined method: one gpg
 *                        run per notice, the signature inside)
 *   mail_clearsign       a cleartext signature for inline notices
 *
 * Trust: the keys in the relay's home are the operator's choice (the
 * contacts directory, a fingerprint in the constituency, WKD of the
 * recipient's own domain), so encryption uses them with always-trust;
 * gpg's web of trust is not consulted.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "private.h"

/* Recipient keys one signer remembers (a run's worth of contacts). */
#define MAIL_MAX_RCPT_CACHE 4096

void mail_recipients_release(struct mail_signer *s)
{
	for (size_t i = 0; i < s->nrcpts; i++) {
		free(s->rcpts[i].query);
		free(s->rcpts[i].why);
		gpgme_key_unref(s->rcpts[i].key);
	}
	free(s->rcpts);
	s->rcpts = NULL;
	s->nrcpts = 0;
}

gpgme_key_t mail_recipient_cached(const struct mail_signer *s, const char *fpr)
{
	for (size_t i = 0; fpr && i < s->nrcpts; i++) {
		gpgme_key_t k = s->rcpts[i].key;

		if (k && k->subkeys && k->subkeys->fpr &&
		    rk_str_ieq(k->subkeys->fpr, fpr))
			return k;
	}
	return NULL;
}

struct mail_keyset {
	size_t n;
	gpgme_key_t keys[]; /* each with its own reference */
};

enum rk_err mail_keyset_take(const struct mail_signer *s,
			     const char *const *fprs, size_t n,
			     struct mail_keyset **out)
{
	struct mail_keyset *k;

	*out = NULL;
	if (!(k = calloc(1, sizeof(*k) + (n + 1) * sizeof(k->keys[0]))))
		return RK_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		gpgme_key_t key = mail_recipient_cached(s, fprs[i]);

		if (!key) {
			mail_keyset_free(k);
			return rk_fail(s->log, RK_ERR_INTERNAL, "key %s was not "
				       "looked up with mail_recipient_key",
				       fprs[i] ? fprs[i] : "?");
		}
		gpgme_key_ref(key);
		k->keys[k->n++] = key;
	}
	*out = k;
	return RK_OK;
}

void mail_keyset_free(struct mail_keyset *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->n; i++)
		gpgme_key_unref(k->keys[i]);
	free(k);
}

gpgme_key_t mail_keyset_find(const struct mail_keyset *k, const char *fpr)
{
	for (size_t i = 0; fpr && i < k->n; i++) {
		gpgme_key_t key = k->keys[i];

		if (key->subkeys && key->subkeys->fpr &&
		    rk_str_ieq(key->subkeys->fpr, fpr))
			return key;
	}
	return NULL;
}

/* ------------------------------------------------------------ judging */

static bool expired_at(long expires, int64_t now)
{
	return expires > 0 && (int64_t)expires <= now;
}

/* Why key cannot take an encrypted notice at `now`, NULL when it can. */
static const char *unusable(gpgme_key_t key, int64_t now)
{
	gpgme_subkey_t main_key = key->subkeys;
	bool can = false, had = false;

	if (!main_key)
		return "has no primary key";
	if (key->revoked || main_key->revoked)
		return "is revoked";
	if (expired_at(main_key->expires, now))
		return "is expired";
	if (key->disabled || key->invalid || main_key->invalid)
		return "is disabled or invalid";
	for (gpgme_subkey_t sub = main_key; sub; sub = sub->next) {
		if (!sub->can_encrypt)
			continue;
		had = true;
		if (!sub->revoked && !sub->invalid && !sub->disabled &&
		    !expired_at(sub->expires, now))
			can = true;
	}
	if (!had)
		return "has no encryption subkey (a signing-only key)";
	return can ? NULL : "has only expired or revoked encryption subkeys";
}

static bool is_fpr(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return (n == 40 || n == 64) && strspn(s, "0123456789abcdefABCDEF") == n;
}

/* Look the query up in the home: every key listed, the first usable one
 * kept (*found, caller unrefs), else the reason of the last unusable
 * one in why. */
static enum rk_err lookup(struct mail_signer *s, const char *pattern,
			  int64_t now, gpgme_key_t *found, struct rk_buf *why)
{
	gpgme_key_t key = NULL;
	gpgme_error_t gerr;
	size_t seen = 0;
	enum rk_err err = RK_OK;

	*found = NULL;
	if ((gerr = gpgme_op_keylist_start(s->ctx, pattern, 0)))
		return rk_fail(s->log, RK_ERR_GPG, "cannot list keys in '%s': %s",
			       s->home, gpgme_strerror(gerr));
	while (!(gerr = gpgme_op_keylist_next(s->ctx, &key))) {
		const char *bad = unusable(key, now);

		seen++;
		if (!bad && !*found) {
			*found = key;
			continue;
		}
		if (bad && !*found) {
			rk_buf_reset(why);
			err = rk_buf_addf(why, "key %s %s",
					  key->subkeys && key->subkeys->fpr
						  ? key->subkeys->fpr : "?",
					  bad);
		}
		gpgme_key_unref(key);
		if (err)
			break;
	}
	gpgme_op_keylist_end(s->ctx);
	if (!err && gpg_err_code(gerr) != GPG_ERR_EOF && !seen)
		err = rk_fail(s->log, RK_ERR_GPG, "cannot list keys in '%s': %s",
			      s->home, gpgme_strerror(gerr));
	if (!err && !seen)
		err = rk_buf_adds(why, "no key in the relay's GnuPG home");
	if (err) {
		gpgme_key_unref(*found);
		*found = NULL;
	}
	return err;
}

enum rk_err mail_recipient_key(struct mail_signer *s, const char *addr,
			       const char *fpr, int64_t now, char fpr_out[41],
			       struct rk_buf *why)
{
	struct rk_buf query, reason, pattern;
	struct mail_rcpt_key *slot = NULL;
	gpgme_key_t key = NULL;
	enum rk_err err;

	fpr_out[0] = '\0';
	rk_buf_init(&query, RK_MAX_EMAIL + 128);
	rk_buf_init(&reason, 1024);
	rk_buf_init(&pattern, RK_MAX_EMAIL + 128);
	if (!addr || rk_str_has_ctl(addr, false) ||
	    (fpr && rk_str_has_ctl(fpr, false))) {
		err = RK_ERR_INVAL;
		goto cleanup;
	}
	/* judged at now: the same key may be good today and expired in a
	 * --now replay */
	if ((err = rk_buf_addf(&query, "%lld:%s:%s", (long long)now,
			       is_fpr(fpr) ? fpr : "", addr)))
		goto cleanup;
	for (size_t i = 0; i < s->nrcpts && !slot; i++)
		if (rk_str_ieq(s->rcpts[i].query, query.data))
			slot = &s->rcpts[i];
	if (!slot) {
		/* the contact's own fingerprint first, then the address */
		if (is_fpr(fpr)) {
			err = rk_buf_addf(&pattern, "%s", fpr);
			if (!err)
				err = lookup(s, pattern.data, now, &key, &reason);
			if (!err && !key)
				err = rk_buf_addf(&reason, " (the contact's pgp %s)",
						  fpr);
		}
		if (!err && !key) {
			struct rk_buf by_addr;

			rk_buf_init(&by_addr, 1024);
			rk_buf_reset(&pattern);
			err = rk_buf_addf(&pattern, "<%s>", addr);
			if (!err)
				err = lookup(s, pattern.data, now, &key, &by_addr);
			if (!err && !key)
				err = rk_buf_addf(&reason, "%s%s for %s",
						  reason.len ? "; " : "",
						  by_addr.data, addr);
			rk_buf_release(&by_addr);
		}
		if (!err && !key && s->wkd) {
			/* the recipient's own domain may publish one */
			struct rk_buf by_wkd;
			bool imported = false;

			rk_buf_init(&by_wkd, 1024);
			err = mail_wkd_fetch(s, addr, &imported, &reason);
			if (!err && imported)
				err = lookup(s, pattern.data, now, &key, &by_wkd);
			if (!err && imported && !key)
				err = rk_buf_addf(&reason, "; from WKD: %s", by_wkd.data);
			rk_buf_release(&by_wkd);
		}
		if (err)
			goto cleanup;
		if (s->nrcpts >= MAIL_MAX_RCPT_CACHE)
			mail_recipients_release(s);
		if ((err = rk_array_room((void **)&s->rcpts, s->nrcpts,
					 sizeof(*s->rcpts))))
			goto cleanup;
		slot = &s->rcpts[s->nrcpts];
		memset(slot, 0, sizeof(*slot));
		if (!(slot->query = rk_strdup(query.data)) ||
		    (!key && !(slot->why = rk_strdup(reason.data)))) {
			free(slot->query);
			err = RK_ERR_NOMEM;
			goto cleanup;
		}
		slot->key = key;
		key = NULL;
		s->nrcpts++;
	}
	if (slot->key && slot->key->subkeys && slot->key->subkeys->fpr &&
	    strlen(slot->key->subkeys->fpr) <= 40)
		snprintf(fpr_out, 41, "%s", slot->key->subkeys->fpr);
	else
		err = rk_buf_adds(why, slot->why ? slot->why : "no usable key");
cleanup:
	gpgme_key_unref(key);
	rk_buf_release(&query);
	rk_buf_release(&reason);
	rk_buf_release(&pattern);
	return err;
}

/* ------------------------------------------------------------ import */

enum rk_err mail_import_key(const char *home, const void *data, size_t len,
			    char fpr_out[41], const struct rk_log *log)
{
	gpgme_ctx_t ctx = NULL;
	gpgme_data_t d = NULL;
	gpgme_import_result_t res;
	gpgme_error_t gerr;
	enum rk_err err;

	fpr_out[0] = '\0';
	if (len > RK_MAX_KEY_FILE)
		return rk_fail(log, RK_ERR_LIMIT, "key larger than RK_MAX_KEY_FILE");
	if (memmem(data, len, "PRIVATE KEY BLOCK", 17))
		return rk_fail(log, RK_ERR_INVAL, "refusing to import a secret key");
	if (rk_mkdir_p(home, 0700) != RK_OK)
		return rk_fail(log, RK_ERR_IO, "cannot create GnuPG home '%s': %s",
			       home, strerror(errno));
	if ((err = mail_gpg_ctx(home, &ctx, log)))
		return err;
	if ((gerr = gpgme_data_new_from_mem(&d, data, len, 0))) {
		err = RK_ERR_NOMEM;
		goto cleanup;
	}
	gerr = gpgme_op_import(ctx, d);
	res = gerr ? NULL : gpgme_op_import_result(ctx);
	if (!res) {
		err = rk_fail(log, RK_ERR_GPG, "cannot import a key into '%s': %s",
			      home, gpgme_strerror(gerr));
		goto cleanup;
	}
	if (res->secret_read > 0) {
		err = rk_fail(log, RK_ERR_INVAL, "the key data holds a secret key");
		goto cleanup;
	}
	if (!res->imports || !res->imports->fpr || res->imports->result ||
	    strlen(res->imports->fpr) > 40) {
		err = rk_fail(log, RK_ERR_GPG, "no key imported into '%s'%s%s",
			      home, res->imports && res->imports->result ? ": " : "",
			      res->imports && res->imports->result
				      ? gpgme_strerror(res->imports->result) : "");
		goto cleanup;
	}
	snprintf(fpr_out, 41, "%s", res->imports->fpr);
cleanup:
	gpgme_data_release(d);
	gpgme_release(ctx);
	return err;
}

/* ------------------------------------------------------------ operations */

/* The output of an operation that wrote into out_data, appended. */
static enum rk_err take_output(struct mail_signer *s, gpgme_data_t *out_data,
			       struct rk_buf *out)
{
	size_t len = 0;
	char *bytes = gpgme_data_release_and_get_mem(*out_data, &len);
	enum rk_err err;

	*out_data = NULL;
	if (!bytes || !len)
		err = rk_fail(s->log, RK_ERR_GPG, "GnuPG returned nothing");
	else
		err = rk_buf_add(out, bytes, len);
	gpgme_free(bytes);
	return err;
}

/* Exactly one new signature, made by the signer. */
static enum rk_err check_signed(struct mail_signer *s, gpgme_sig_mode_t mode)
{
	gpgme_sign_result_t res = gpgme_op_sign_result(s->ctx);
	size_t n = 0;

	if (res && res->invalid_signers)
		return rk_fail(s->log, RK_ERR_GPG, "key %s cannot sign: %s", s->fpr,
			       gpgme_strerror(res->invalid_signers->reason));
	for (gpgme_new_signature_t sig = res ? res->signatures : NULL; sig;
	     sig = sig->next)
		n++;
	if (n != 1 || res->signatures->type != mode)
		return rk_fail(s->log, RK_ERR_GPG,
			       "signing with %s made %zu signatures, not one", s->fpr,
			       n);
	return RK_OK;
}

/* Sign data (clearsigned when keys is NULL) or sign and encrypt it to
 * keys, into out. */
static enum rk_err protect(struct mail_signer *s, gpgme_key_t *keys,
			   const void *data, size_t len, struct rk_buf *out)
{
	gpgme_data_t plain = NULL, result = NULL;
	gpgme_encrypt_result_t enc;
	gpgme_error_t gerr;
	enum rk_err err;

	if (gpgme_data_new_from_mem(&plain, data, len, 0) ||
	    gpgme_data_new(&result)) {
		err = RK_ERR_NOMEM;
		goto cleanup;
	}
	if (keys)
		gerr = gpgme_op_encrypt_sign(s->ctx, keys, GPGME_ENCRYPT_ALWAYS_TRUST,
					     plain, result);
	else
		gerr = gpgme_op_sign(s->ctx, plain, result, GPGME_SIG_MODE_CLEAR);
	enc = keys ? gpgme_op_encrypt_result(s->ctx) : NULL;
	if (enc && enc->invalid_recipients) {
		err = rk_fail(s->log, RK_ERR_GPG, "cannot encrypt to %s: %s",
			      enc->invalid_recipients->fpr
				      ? enc->invalid_recipients->fpr : "?",
			      gpgme_strerror(enc->invalid_recipients->reason));
		goto cleanup;
	}
	if (gerr) {
		err = rk_fail(s->log, RK_ERR_GPG, "%s with %s failed: %s",
			      keys ? "encrypting and signing" : "clearsigning",
			      s->fpr, gpgme_strerror(gerr));
		goto cleanup;
	}
	if (!(err = check_signed(s, keys ? GPGME_SIG_MODE_NORMAL
					 : GPGME_SIG_MODE_CLEAR)))
		err = take_output(s, &result, out);
cleanup:
	gpgme_data_release(plain);
	gpgme_data_release(result);
	return err;
}

enum rk_err mail_encrypt_signed(struct mail_signer *s, gpgme_key_t *keys,
				const void *data, size_t len,
				struct rk_buf *out)
{
	return keys ? protect(s, keys, data, len, out) : RK_ERR_INVAL;
}

enum rk_err mail_clearsign(struct mail_signer *s, const void *data,
			   size_t len, struct rk_buf *out)
{
	return protect(s, NULL, data, len, out);
}
