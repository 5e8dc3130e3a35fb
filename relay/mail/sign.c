/*
 * OpenPGP with GPGME: the signer (one context kept open for every notice,
 * since signing is the hot path), detached signatures for RFC 3156,
 * creating the relay's key and exporting its public half.
 *
 * Every context talks to GnuPG home `home` only (engine info), with
 * pinentry in loopback mode and no passphrase callback: the relay's keys
 * have no passphrase, and a key that wants one fails instead of hanging
 * on a pinentry nobody sees.
 */
#include <errno.h>
#include <gpgme.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "private.h"

static enum rk_err gpg_fail(const struct rk_log *log, gpgme_error_t gerr,
			    const char *what, const char *home)
{
	return rk_fail(log, RK_ERR_GPG, "%s (GnuPG home '%s'): %s", what, home,
		       gpgme_strerror(gerr));
}

enum rk_err mail_gpg_ctx(const char *home, gpgme_ctx_t *out,
			    const struct rk_log *log)
{
	gpgme_ctx_t ctx = NULL;
	gpgme_error_t gerr;
	enum rk_err err = RK_OK;

	*out = NULL;
	if ((gerr = gpgme_new(&ctx))) {
		err = gpg_fail(log, gerr, "cannot create a GPGME context", home);
		goto cleanup;
	}
	if ((gerr = gpgme_set_protocol(ctx, GPGME_PROTOCOL_OpenPGP)) ||
	    (gerr = gpgme_ctx_set_engine_info(ctx, GPGME_PROTOCOL_OpenPGP, NULL,
					      home)) ||
	    (gerr = gpgme_set_pinentry_mode(ctx, GPGME_PINENTRY_MODE_LOOPBACK)) ||
	    (gerr = gpgme_set_keylist_mode(ctx, GPGME_KEYLIST_MODE_LOCAL))) {
		err = gpg_fail(log, gerr, "cannot set up GnuPG", home);
		goto cleanup;
	}
	gpgme_set_offline(ctx, 1);
	gpgme_set_armor(ctx, 1);
	gpgme_set_textmode(ctx, 0);
	*out = ctx;
	ctx = NULL;
cleanup:
	gpgme_release(ctx);
	return err;
}

static bool key_can_sign(const gpgme_key_t key)
{
	return key && key->can_sign && !key->revoked && !key->expired &&
	       !key->disabled && !key->invalid && key->secret;
}

static bool home_exists(const char *home)
{
	struct stat st;

	return stat(home, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Secret keys matching pattern (NULL = all): the first one is kept in
 * *first (caller unrefs), *n counts them. */
static enum rk_err list_secret(gpgme_ctx_t ctx, const char *home,
			       const char *pattern, gpgme_key_t *first,
			       size_t *n, const struct rk_log *log)
{
	gpgme_key_t key = NULL;
	gpgme_error_t gerr;
	enum rk_err err = RK_OK;

	*first = NULL;
	*n = 0;
	if ((gerr = gpgme_op_keylist_start(ctx, pattern, 1)))
		return gpg_fail(log, gerr, "cannot list secret keys", home);
	for (;;) {
		gerr = gpgme_op_keylist_next(ctx, &key);
		if (gpg_err_code(gerr) == GPG_ERR_EOF)
			break;
		if (gerr) {
			err = gpg_fail(log, gerr, "cannot list secret keys", home);
			break;
		}
		if (!*first)
			*first = key;
		else
			gpgme_key_unref(key);
		key = NULL;
		(*n)++;
	}
	gpgme_op_keylist_end(ctx);
	if (err) {
		gpgme_key_unref(*first);
		*first = NULL;
		*n = 0;
	}
	return err;
}

/* The one secret key for signer (NULL = the only secret key in home). */
static enum rk_err find_signing_key(gpgme_ctx_t ctx, const char *home,
				    const char *signer, gpgme_key_t *out,
				    const struct rk_log *log)
{
	gpgme_key_t key = NULL;
	size_t n = 0;
	enum rk_err err;

	*out = NULL;
	if ((err = list_secret(ctx, home, signer, &key, &n, log)))
		goto cleanup;
	if (n == 0 && !signer) {
		err = rk_fail(log, RK_ERR_NOTFOUND,
			      "no secret key in '%s': run 'renraku init --gen-key'",
			      home);
		goto cleanup;
	}
	if (n == 0) {
		err = rk_fail(log, RK_ERR_NOTFOUND,
			      "no secret key matching '%s' in '%s' ([gpg] signer)",
			      signer, home);
		goto cleanup;
	}
	if (n > 1 && !signer) {
		err = rk_fail(log, RK_ERR_CONFIG,
			      "several secret keys in '%s': set [gpg] signer",
			      home);
		goto cleanup;
	}
	if (n > 1) {
		err = rk_fail(log, RK_ERR_CONFIG,
			      "several secret keys in '%s' match '%s': set [gpg] "
			      "signer to the full fingerprint",
			      home, signer);
		goto cleanup;
	}
	if (!key_can_sign(key) || !key->fpr) {
		err = rk_fail(log, RK_ERR_GPG,
			      "secret key %s in '%s' cannot sign (expired, "
			      "revoked, disabled or without a signing subkey)",
			      key->fpr ? key->fpr : "?", home);
		goto cleanup;
	}
	*out = key;
	key = NULL;
cleanup:
	gpgme_key_unref(key);
	return err;
}

enum rk_err mail_signer_open(struct mail_signer **out, const char *home,
			       const char *signer, const struct rk_log *log)
{
	struct mail_signer *s = NULL;
	gpgme_error_t gerr;
	enum rk_err err;

	*out = NULL;
	if (signer && (!*signer || rk_str_has_ctl(signer, false)))
		return rk_fail(log, RK_ERR_CONFIG, "[gpg] signer is not a key "
				   "fingerprint, id or user id");
	if (!home_exists(home))
		return rk_fail(log, RK_ERR_NOTFOUND,
			       "GnuPG home '%s' does not exist: run 'renraku "
			       "init --gen-key'",
			       home);
	s = calloc(1, sizeof(*s));
	if (!s)
		return RK_ERR_NOMEM;
	s->log = log;
	s->helper_fd = -1;
	if (!(s->home = rk_strdup(home))) {
		err = RK_ERR_NOMEM;
		goto cleanup;
	}
	if ((err = mail_gpg_ctx(home, &s->ctx, log)) ||
	    (err = find_signing_key(s->ctx, home, signer, &s->key, log)))
		goto cleanup;
	if (strlen(s->key->fpr) >= sizeof(s->fpr)) {
		err = rk_fail(log, RK_ERR_GPG, "unexpected fingerprint '%s'",
			      s->key->fpr);
		goto cleanup;
	}
	snprintf(s->fpr, sizeof(s->fpr), "%s", s->key->fpr);
	gpgme_signers_clear(s->ctx);
	if ((gerr = gpgme_signers_add(s->ctx, s->key))) {
		err = gpg_fail(log, gerr, "cannot use the signing key", home);
		goto cleanup;
	}
	rk_log_debug(log, "signing with %s from '%s'", s->fpr, home);
	*out = s;
	s = NULL;
cleanup:
	mail_signer_close(s);
	return err;
}

enum rk_err mail_signer_clone(const struct mail_signer *s,
			      struct mail_signer **out)
{
	struct mail_signer *c;
	gpgme_error_t gerr;
	enum rk_err err;

	*out = NULL;
	if (!(c = calloc(1, sizeof(*c))))
		return RK_ERR_NOMEM;
	c->log = s->log;
	c->helper_fd = -1;
	memcpy(c->fpr, s->fpr, sizeof(c->fpr));
	if (!(c->home = rk_strdup(s->home))) {
		err = RK_ERR_NOMEM;
		goto cleanup;
	}
	if ((err = mail_gpg_ctx(s->home, &c->ctx, s->log)))
		goto cleanup;
	/* the key listed once; GPGME's key references are thread-safe */
	gpgme_key_ref(s->key);
	c->key = s->key;
	if ((gerr = gpgme_signers_add(c->ctx, c->key))) {
		err = gpg_fail(s->log, gerr, "cannot use the signing key", s->home);
		goto cleanup;
	}
	*out = c;
	c = NULL;
cleanup:
	mail_signer_close(c);
	return err;
}

void mail_signer_close(struct mail_signer *s)
{
	if (!s)
		return;
	mail_helper_stop(s);
	mail_recipients_release(s);
	mail_ring_release(s);
	mail_wkd_free(s->wkd);
	gpgme_key_unref(s->key);
	gpgme_release(s->ctx);
	free(s->home);
	free(s);
}

const char *mail_signer_fpr(const struct mail_signer *s)
{
	return s->fpr;
}

const struct rk_log *mail_signer_log(const struct mail_signer *s)
{
	return s->log;
}

bool mail_signer_owns(const struct mail_signer *s, const char *fpr)
{
	if (!fpr)
		return false;
	for (gpgme_subkey_t sk = s->key->subkeys; sk; sk = sk->next)
		if (sk->fpr && rk_str_ieq(sk->fpr, fpr))
			return true;
	return false;
}

enum rk_err mail_sign_detached(struct mail_signer *s, const void *data,
				 size_t len, struct rk_buf *sig,
				 char micalg[MAIL_MICALG_MAX])
{
	gpgme_data_t plain = NULL, armored = NULL;
	gpgme_sign_result_t result;
	gpgme_new_signature_t one;
	gpgme_error_t gerr;
	const char *hash;
	char *sig_bytes = NULL;
	size_t sig_len = 0, nsig = 0;
	enum rk_err err = RK_OK;

	micalg[0] = '\0';
	if (s->helper_fd >= 0)
		return mail_helper_sign_detached(s, data, len, sig, micalg);
	if ((gerr = gpgme_data_new_from_mem(&plain, data, len, 0)) ||
	    (gerr = gpgme_data_new(&armored))) {
		err = rk_fail(s->log, RK_ERR_NOMEM, "cannot set up signing: %s",
			      gpgme_strerror(gerr));
		goto cleanup;
	}
	gerr = gpgme_op_sign(s->ctx, plain, armored, GPGME_SIG_MODE_DETACH);
	result = gpgme_op_sign_result(s->ctx);
	if (result && result->invalid_signers) {
		err = rk_fail(s->log, RK_ERR_GPG, "key %s cannot sign: %s",
			      result->invalid_signers->fpr
				      ? result->invalid_signers->fpr
				      : s->fpr,
			      gpgme_strerror(result->invalid_signers->reason));
		goto cleanup;
	}
	if (gerr) {
		err = rk_fail(s->log, RK_ERR_GPG, "signing with %s failed: %s",
			      s->fpr, gpgme_strerror(gerr));
		goto cleanup;
	}
	for (one = result ? result->signatures : NULL; one; one = one->next)
		nsig++;
	if (nsig != 1) {
		err = rk_fail(s->log, RK_ERR_GPG,
			      "signing with %s made %zu signatures, not one",
			      s->fpr, nsig);
		goto cleanup;
	}
	one = result->signatures;
	if (one->type != GPGME_SIG_MODE_DETACH || !mail_signer_owns(s, one->fpr)) {
		err = rk_fail(s->log, RK_ERR_GPG,
			      "unexpected signature from %s (wanted a detached "
			      "signature by %s)",
			      one->fpr ? one->fpr : "?", s->fpr);
		goto cleanup;
	}
	hash = gpgme_hash_algo_name(one->hash_algo);
	if (!hash || !*hash ||
	    (size_t)snprintf(micalg, MAIL_MICALG_MAX, "pgp-%s", hash) >=
		    MAIL_MICALG_MAX) {
		micalg[0] = '\0';
		err = rk_fail(s->log, RK_ERR_GPG,
			      "unknown hash algorithm %d in the signature",
			      (int)one->hash_algo);
		goto cleanup;
	}
	rk_str_lower(micalg);
	sig_bytes = gpgme_data_release_and_get_mem(armored, &sig_len);
	armored = NULL;
	if (!sig_bytes || sig_len == 0) {
		err = rk_fail(s->log, RK_ERR_GPG, "GnuPG returned no signature");
		goto cleanup;
	}
	err = rk_buf_add(sig, sig_bytes, sig_len);
cleanup:
	gpgme_free(sig_bytes);
	gpgme_data_release(armored);
	gpgme_data_release(plain);
	return err;
}

/* ------------------------------------------------------------ keys */

enum rk_err mail_secret_keys(const char *home, char fpr_out[41], size_t *n,
			       const struct rk_log *log)
{
	gpgme_ctx_t ctx = NULL;
	gpgme_key_t first = NULL;
	enum rk_err err;

	fpr_out[0] = '\0';
	*n = 0;
	if (!home_exists(home))
		return RK_OK;
	if ((err = mail_gpg_ctx(home, &ctx, log)) ||
	    (err = list_secret(ctx, home, NULL, &first, n, log)))
		goto cleanup;
	if (first && first->fpr)
		snprintf(fpr_out, 41, "%s", first->fpr);
cleanup:
	gpgme_key_unref(first);
	gpgme_release(ctx);
	return err;
}

enum rk_err mail_gen_key(const char *home, const char *name,
			   const char *email, char fpr_out[41],
			   const struct rk_log *log)
{
	const unsigned long flags_primary =
		GPGME_CREATE_SIGN | GPGME_CREATE_CERT | GPGME_CREATE_NOPASSWD |
		GPGME_CREATE_NOEXPIRE;
	const unsigned long flags_sub =
		GPGME_CREATE_ENCR | GPGME_CREATE_NOPASSWD | GPGME_CREATE_NOEXPIRE;
	gpgme_ctx_t ctx = NULL;
	gpgme_key_t key = NULL;
	gpgme_genkey_result_t result;
	gpgme_error_t gerr;
	struct rk_buf uid;
	enum rk_err err;

	fpr_out[0] = '\0';
	rk_buf_init(&uid, 1024);
	if (!email || !rk_email_valid(email)) {
		err = rk_fail(log, RK_ERR_INVAL, "'%s' is not an e-mail address "
			      "a key can be made for", email ? email : "");
		goto cleanup;
	}
	if (name && (rk_str_has_ctl(name, false) ||
		     !rk_utf8_valid(name, strlen(name)) || strchr(name, '<') ||
		     strchr(name, '>'))) {
		err = rk_fail(log, RK_ERR_INVAL,
			      "the key's name must be one line of UTF-8 text "
			      "without '<' or '>'");
		goto cleanup;
	}
	if (name && *name)
		err = rk_buf_addf(&uid, "%s <%s>", name, email);
	else
		err = rk_buf_addf(&uid, "<%s>", email);
	if (err) {
		err = rk_fail(log, err, "the key's user id is too long");
		goto cleanup;
	}
	if (rk_mkdir_p(home, 0700) != RK_OK) {
		err = rk_fail(log, RK_ERR_IO, "cannot create GnuPG home '%s': %s",
			      home, strerror(errno));
		goto cleanup;
	}
	if ((err = mail_gpg_ctx(home, &ctx, log)))
		goto cleanup;
	gerr = gpgme_op_createkey(ctx, uid.data, "ed25519", 0, 0, NULL,
				  flags_primary);
	result = gerr ? NULL : gpgme_op_genkey_result(ctx);
	if (gerr || !result || !result->fpr || strlen(result->fpr) > 40) {
		err = gpg_fail(log, gerr ? gerr : gpg_error(GPG_ERR_GENERAL),
			       "cannot create the signing key", home);
		goto cleanup;
	}
	snprintf(fpr_out, 41, "%s", result->fpr);
	if ((gerr = gpgme_get_key(ctx, fpr_out, &key, 1))) {
		err = gpg_fail(log, gerr, "cannot read back the new key", home);
		goto cleanup;
	}
	if ((gerr = gpgme_op_createsubkey(ctx, key, "cv25519", 0, 0,
					  flags_sub))) {
		err = gpg_fail(log, gerr, "cannot add the encryption subkey",
			       home);
		goto cleanup;
	}
	rk_log_debug(log, "created key %s for %s in '%s'", fpr_out, uid.data,
		     home);
	err = RK_OK;
cleanup:
	if (err)
		fpr_out[0] = '\0';
	gpgme_key_unref(key);
	gpgme_release(ctx);
	rk_buf_release(&uid);
	return err;
}

enum rk_err mail_export_key(const char *home, const char *fpr,
			      struct rk_buf *out, const struct rk_log *log)
{
	gpgme_ctx_t ctx = NULL;
	gpgme_key_t key = NULL;
	gpgme_data_t data = NULL;
	gpgme_error_t gerr;
	char *bytes = NULL;
	size_t len = 0;
	enum rk_err err;

	if (!home_exists(home))
		return rk_fail(log, RK_ERR_NOTFOUND,
			       "GnuPG home '%s' does not exist", home);
	if ((err = mail_gpg_ctx(home, &ctx, log)) ||
	    (err = find_signing_key(ctx, home, fpr, &key, log)))
		goto cleanup;
	if ((gerr = gpgme_data_new(&data)) ||
	    (gerr = gpgme_op_export(ctx, key->fpr, 0, data))) {
		err = gpg_fail(log, gerr, "cannot export the public key", home);
		goto cleanup;
	}
	bytes = gpgme_data_release_and_get_mem(data, &len);
	data = NULL;
	if (!bytes || len == 0) {
		err = rk_fail(log, RK_ERR_NOTFOUND,
			      "no public key %s in '%s'", key->fpr, home);
		goto cleanup;
	}
	err = rk_buf_add(out, bytes, len);
cleanup:
	gpgme_free(bytes);
	gpgme_data_release(data);
	gpgme_key_unref(key);
	gpgme_release(ctx);
	return err;
}
