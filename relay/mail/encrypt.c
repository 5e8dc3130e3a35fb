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

/* ------------------------------------------------------------ the ring */

void mail_ring_release(struct mail_signer *s)
{
	struct mail_ring *r = &s->ring;

	for (size_t i = 0; i < r->nkeys; i++)
		gpgme_key_unref(r->keys[i]);
	for (size_t i = 0; i < r->nmails; i++)
		free(r->mails[i].mail);
	free(r->keys);
	free(r->mails);
	memset(r, 0, sizeof(*r));
}

/* What the keyring files look like now: inode, size and change time of
 * pubring.kbx and pubring.gpg ("-" for one that is missing). */
static void ring_stamp(const struct mail_signer *s, char out[160])
{
	static const char *const files[] = {"pubring.kbx", "pubring.gpg"};
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < RK_ARRAY_LEN(files); i++) {
		struct rk_buf path;
		struct stat st;
		int n;

		rk_buf_init(&path, 4096);
		if (rk_buf_addf(&path, "%s/%s", s->home, files[i]) ||
		    stat(path.data, &st) != 0)
			n = snprintf(out + used, 160 - used, "-;");
		else
			n = snprintf(out + used, 160 - used, "%llu:%lld:%lld.%09ld;",
				     (unsigned long long)st.st_ino,
				     (long long)st.st_size,
				     (long long)st.st_ctim.tv_sec,
				     (long)st.st_ctim.tv_nsec);
		rk_buf_release(&path);
		if (n < 0 || (size_t)n >= 160 - used)
			break;
		used += (size_t)n;
	}
}

static int mail_cmp(const void *a, const void *b)
{
	const struct mail_ring_mail *x = a, *y = b;
	int c = strcmp(x->mail, y->mail);

	if (c)
		return c;
	return x->key < y->key ? -1 : x->key > y->key;
}

/* The mailbox of a user id as gpg's "<addr>" search sees it (GnuPG
 * 2.2, kbx/keybox-search.c, blob_cmp_mail): from the first '<' to the
 * next '>' (none: not a mailbox), or, without '<', the whole user id
 * (a bare address).  Its start and *len, NULL = none. */
static const char *uid_mailbox(const char *uid, size_t *len)
{
	const char *lt = strchr(uid, '<'), *gt;

	if (!lt) {
		*len = strlen(uid);
		return *len && strchr(uid, '@') ? uid : NULL;
	}
	if (!(gt = strchr(lt + 1, '>')) || gt == lt + 1)
		return NULL;
	*len = (size_t)(gt - lt - 1);
	return lt + 1;
}

/* List every public key of the home once (one gpg run, keyring order)
 * and index the mailboxes of their user ids (uid_mailbox), which a
 * lookup compares with the address as gpg does: ASCII case ignored. */
static enum rk_err ring_load(struct mail_signer *s)
{
	struct mail_ring *r = &s->ring;
	gpgme_key_t key = NULL;
	gpgme_error_t gerr;
	char stamp[160];
	enum rk_err err = RK_OK;

	ring_stamp(s, stamp);
	if (r->loaded && strcmp(stamp, r->stamp) == 0)
		return RK_OK;
	mail_ring_release(s);
	if ((gerr = gpgme_op_keylist_start(s->ctx, NULL, 0)))
		return rk_fail(s->log, RK_ERR_GPG, "cannot list keys in '%s': %s",
			       s->home, gpgme_strerror(gerr));
	while (!(gerr = gpgme_op_keylist_next(s->ctx, &key))) {
		if ((err = rk_array_room((void **)&r->keys, r->nkeys,
					 sizeof(*r->keys)))) {
			gpgme_key_unref(key);
			break;
		}
		r->keys[r->nkeys] = key;
		for (gpgme_user_id_t u = key->uids; u && !err; u = u->next) {
			const char *box;
			size_t len;
			char *mail;

			if (!u->uid || !(box = uid_mailbox(u->uid, &len)))
				continue;
			if ((err = rk_array_room((void **)&r->mails, r->nmails,
						 sizeof(*r->mails))))
				break;
			if (!(mail = rk_strndup(box, len))) {
				err = RK_ERR_NOMEM;
				break;
			}
			rk_str_lower(mail);
			r->mails[r->nmails].mail = mail;
			r->mails[r->nmails].key = r->nkeys;
			r->nmails++;
		}
		r->nkeys++;
		if (err)
			break;
	}
	gpgme_op_keylist_end(s->ctx);
	if (!err && gpg_err_code(gerr) != GPG_ERR_EOF)
		err = rk_fail(s->log, RK_ERR_GPG, "cannot list keys in '%s': %s",
			      s->home, gpgme_strerror(gerr));
	if (err) {
		mail_ring_release(s);
		return err;
	}
	if (r->nmails)
		qsort(r->mails, r->nmails, sizeof(*r->mails), mail_cmp);
	snprintf(r->stamp, sizeof(r->stamp), "%s", stamp);
	r->loaded = true;
	rk_log_debug(s->log, "listed %zu public keys (%zu mail addresses) in '%s'",
		     r->nkeys, r->nmails, s->home);
	return RK_OK;
}

/* Does key have a primary key or subkey of fingerprint fpr? */
static bool key_has_fpr(gpgme_key_t key, const char *fpr)
{
	for (gpgme_subkey_t sk = key->subkeys; sk; sk = sk->next)
		if (sk->fpr && rk_str_ieq(sk->fpr, fpr))
			return true;
	return false;
}

/* Judge one key listed for a query, as gpg would list it: the first
 * usable one kept (*found, referenced), else the reason of the last
 * unusable one in why. */
static enum rk_err judge(gpgme_key_t key, int64_t now, gpgme_key_t *found,
			 size_t *seen, struct rk_buf *why)
{
	const char *bad = unusable(key, now);

	(*seen)++;
	if (*found)
		return RK_OK;
	if (!bad) {
		gpgme_key_ref(key);
		*found = key;
		return RK_OK;
	}
	rk_buf_reset(why);
	return rk_buf_addf(why, "key %s %s",
			   key->subkeys && key->subkeys->fpr ? key->subkeys->fpr
							     : "?",
			   bad);
}

/* The keys gpg would list for the fingerprint fpr (is_fpr) or, fpr NULL,
 * for "<addr>", judged in keyring order: the first usable one in *found
 * (caller unrefs), else why says why (the last unusable one, or that
 * there is none). */
static enum rk_err lookup(struct mail_signer *s, const char *fpr,
			  const char *addr, int64_t now, gpgme_key_t *found,
			  struct rk_buf *why)
{
	struct mail_ring *r = &s->ring;
	size_t seen = 0;
	enum rk_err err;

	*found = NULL;
	if ((err = ring_load(s)))
		return err;
	if (fpr) {
		for (size_t i = 0; i < r->nkeys && !err; i++)
			if (key_has_fpr(r->keys[i], fpr))
				err = judge(r->keys[i], now, found, &seen, why);
	} else {
		struct mail_ring_mail probe = {.key = 0};
		size_t lo = 0, hi = r->nmails, last = SIZE_MAX;

		if (!(probe.mail = rk_strdup(addr)))
			return RK_ERR_NOMEM;
		rk_str_lower(probe.mail);
		while (lo < hi) { /* the first entry >= (mail, 0) */
			size_t mid = lo + (hi - lo) / 2;

			if (mail_cmp(&r->mails[mid], &probe) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (size_t i = lo; i < r->nmails && !err &&
				    strcmp(r->mails[i].mail, probe.mail) == 0;
		     i++) {
			if (r->mails[i].key == last)
				continue; /* two user ids of one key */
			last = r->mails[i].key;
			err = judge(r->keys[last], now, found, &seen, why);
		}
		free(probe.mail);
	}
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
	struct rk_buf query, reason;
	struct mail_rcpt_key *slot = NULL;
	gpgme_key_t key = NULL;
	enum rk_err err;

	fpr_out[0] = '\0';
	rk_buf_init(&query, RK_MAX_EMAIL + 128);
	rk_buf_init(&reason, 1024);
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
			err = lookup(s, fpr, NULL, now, &key, &reason);
			if (!err && !key)
				err = rk_buf_addf(&reason, " (the contact's pgp %s)",
						  fpr);
		}
		if (!err && !key) {
			struct rk_buf by_addr;

			rk_buf_init(&by_addr, 1024);
			err = lookup(s, NULL, addr, now, &key, &by_addr);
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
			if (!err && imported) {
				s->ring.loaded = false; /* list it again */
				err = lookup(s, NULL, addr, now, &key, &by_wkd);
			}
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

	if (s->helper_fd >= 0)
		return mail_helper_protect(s, keys, data, len, out);
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
