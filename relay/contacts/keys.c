/*
 * Key files under contacts/keys/: what each holds, checked with GPGME.
 *
 * Keys are listed from the file's bytes (gpgme_op_keylist_from_data,
 * gpg --show-keys underneath) in a throwaway GnuPG home under /tmp
 * (short path) with gpg-agent autostart off, removed afterwards: nothing
 * is imported anywhere, and a secret key never reaches an agent.  A file
 * that looks like secret key material is refused before gpg sees it.
 *
 * A key is usable when the file holds exactly one public key, neither
 * revoked, disabled, invalid nor expired, with a subkey (or the primary
 * key) that can encrypt and is itself neither revoked nor expired at
 * `now` (the caller's time: the command line's clock or --now).
 */
#include <dirent.h>
#include <errno.h>
#include <gpgme.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "private.h"

void contacts_key_release(struct contacts_key *k)
{
	if (!k)
		return;
	free(k->file);
	free(k->fpr);
	free(k->uid);
	free(k->reason);
	memset(k, 0, sizeof(*k));
}

/* ------------------------------------------------------------ home */

struct key_home {
	char dir[32];
	bool made;
	gpgme_ctx_t ctx;
};

static void home_close(struct key_home *h)
{
	if (h->ctx)
		gpgme_release(h->ctx);
	h->ctx = NULL;
	if (h->made)
		rk_rmtree(h->dir);
	h->made = false;
}

static enum rk_err home_open(struct key_home *h, const struct rk_log *log)
{
	static const char conf[] = "no-autostart\n";
	gpgme_error_t gerr;
	char *path = NULL;
	enum rk_err err;

	memset(h, 0, sizeof(*h));
	snprintf(h->dir, sizeof(h->dir), "/tmp/rk-keys-XXXXXX");
	if (!mkdtemp(h->dir))
		return rk_fail(log, RK_ERR_IO, "cannot make a GnuPG home for "
				   "checking keys: %s", strerror(errno));
	h->made = true;
	if ((err = rk_path_join(h->dir, "gpg.conf", &path)) ||
	    (err = rk_write_file_atomic(path, conf, sizeof(conf) - 1, 0600))) {
		free(path);
		home_close(h);
		return rk_fail(log, err, "cannot write '%s/gpg.conf'", h->dir);
	}
	free(path);
	gpgme_check_version(NULL);
	if ((gerr = gpgme_new(&h->ctx)) ||
	    (gerr = gpgme_set_protocol(h->ctx, GPGME_PROTOCOL_OpenPGP)) ||
	    (gerr = gpgme_ctx_set_engine_info(h->ctx, GPGME_PROTOCOL_OpenPGP,
					      NULL, h->dir))) {
		home_close(h);
		return rk_fail(log, RK_ERR_GPG, "cannot set up GPGME to check keys: %s",
			       gpgme_strerror(gerr));
	}
	return RK_OK;
}

/* ------------------------------------------------------------ judging */

/* Secret key material: an armored private key block, or a binary file
 * whose first packet is a secret key or secret subkey (tags 5 and 7). */
static bool looks_secret(const char *data, size_t len)
{
	const unsigned char first = len ? (unsigned char)data[0] : 0;
	int tag = -1;

	if (memmem(data, len, "PRIVATE KEY BLOCK", 17) ||
	    memmem(data, len, "SECRET KEY BLOCK", 16))
		return true;
	if (first & 0x80)
		tag = first & 0x40 ? first & 0x3f : (first >> 2) & 0x0f;
	return tag == 5 || tag == 7;
}

static void date_of(int64_t t, char out[RK_TIME_TEXT])
{
	rk_time_format_iso(t, out);
	out[10] = '\0';
}

static enum rk_err set_reason(struct contacts_key *out, const char *fmt, ...)
	RK_PRINTF(2, 3);
static enum rk_err set_reason(struct contacts_key *out, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	out->usable = false;
	free(out->reason);
	out->reason = rk_strdup(text);
	return out->reason ? RK_OK : RK_ERR_NOMEM;
}

/* Judged at `now` alone: GPGME's own expired flags follow the wall
 * clock, which a run --now replay does not. */
static bool subkey_expired(gpgme_subkey_t s, int64_t now)
{
	return s->expires > 0 && (int64_t)s->expires <= now;
}

/* What one listed key is good for. */
static enum rk_err judge(gpgme_key_t key, int64_t now, struct contacts_key *out)
{
	gpgme_subkey_t primary = key->subkeys, enc = NULL;
	char day[RK_TIME_TEXT];
	bool any_enc = false;

	if (!primary || !primary->fpr)
		return set_reason(out, "the key has no fingerprint");
	if (!(out->fpr = rk_strdup(primary->fpr)))
		return RK_ERR_NOMEM;
	rk_str_lower(out->fpr);
	for (char *p = out->fpr; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 32);
	if (key->uids && key->uids->uid && !rk_str_has_ctl(key->uids->uid, false) &&
	    !(out->uid = rk_strdup(key->uids->uid)))
		return RK_ERR_NOMEM;
	if (key->revoked || primary->revoked)
		return set_reason(out, "key %s is revoked", out->fpr);
	if (key->disabled || key->invalid || primary->invalid)
		return set_reason(out, "key %s is disabled or invalid", out->fpr);
	if (subkey_expired(primary, now)) {
		if (primary->expires > 0) {
			date_of(primary->expires, day);
			return set_reason(out, "key %s expired on %s", out->fpr, day);
		}
		return set_reason(out, "key %s is expired", out->fpr);
	}
	for (gpgme_subkey_t s = primary; s; s = s->next) {
		if (!s->can_encrypt)
			continue;
		any_enc = true;
		if (s->revoked || s->disabled || s->invalid || subkey_expired(s, now))
			continue;
		if (!enc || (enc->expires && (!s->expires || s->expires > enc->expires)))
			enc = s;
	}
	if (!enc)
		return set_reason(out, any_enc
			? "key %s: every encryption subkey is expired or revoked"
			: "key %s cannot encrypt (a signing-only key; renraku needs "
			  "an encryption subkey)", out->fpr);
	/* the key stops working at the earlier of the primary key's and the
	 * subkey's expiry */
	out->expires = enc->expires > 0 ? (int64_t)enc->expires : 0;
	if (primary->expires > 0 &&
	    (!out->expires || (int64_t)primary->expires < out->expires))
		out->expires = (int64_t)primary->expires;
	out->usable = true;
	return RK_OK;
}

/* Check the bytes of one key file into out (file already set). */
static enum rk_err check_data(struct key_home *h, const char *data, size_t len,
			      int64_t now, struct contacts_key *out)
{
	gpgme_data_t d = NULL;
	gpgme_key_t key = NULL;
	gpgme_error_t gerr;
	size_t nkeys = 0;
	bool secret = false;
	enum rk_err err = RK_OK;

	if (looks_secret(data, len))
		return set_reason(out, "holds a SECRET key: only public keys belong "
				  "in keys/ (gpg --armor --export KEY); it was not "
				  "imported, remove it from the contacts directory");
	if ((gerr = gpgme_data_new_from_mem(&d, data, len, 0)))
		return RK_ERR_NOMEM;
	if ((gerr = gpgme_op_keylist_from_data_start(h->ctx, d, 0))) {
		/* gpg missing or unusable: the check cannot run at all */
		if (gpg_err_code(gerr) == GPG_ERR_INV_ENGINE ||
		    gpg_err_code(gerr) == GPG_ERR_ENOENT ||
		    gpg_err_code(gerr) == GPG_ERR_ENOMEM)
			err = gpg_err_code(gerr) == GPG_ERR_ENOMEM ? RK_ERR_NOMEM
								   : RK_ERR_GPG;
		else
			err = set_reason(out, "not a readable OpenPGP key: %s",
					 gpgme_strerror(gerr));
		goto cleanup;
	}
	while (!(gerr = gpgme_op_keylist_next(h->ctx, &key))) {
		nkeys++;
		secret = secret || key->secret;
		if (nkeys == 1 && !secret)
			err = judge(key, now, out);
		gpgme_key_unref(key);
		if (err)
			break;
	}
	gpgme_op_keylist_end(h->ctx);
	if (err)
		goto cleanup;
	if (gpg_err_code(gerr) != GPG_ERR_EOF && !nkeys) {
		err = set_reason(out, "not a readable OpenPGP key: %s",
				 gpgme_strerror(gerr));
	} else if (secret) {
		free(out->fpr);
		out->fpr = NULL;
		err = set_reason(out, "holds a SECRET key: only public keys belong "
				 "in keys/ (gpg --armor --export KEY); it was not "
				 "imported, remove it from the contacts directory");
	} else if (!nkeys) {
		err = set_reason(out, "no OpenPGP public key in the file (an armored "
				 "key starts with -----BEGIN PGP PUBLIC KEY BLOCK-----)");
	} else if (nkeys > 1) {
		err = set_reason(out, "holds %zu keys: put one public key in each "
				 "file", nkeys);
	}
cleanup:
	gpgme_data_release(d);
	return err;
}

static enum rk_err check_path(struct key_home *h, const char *path,
			      const char *file, int64_t now,
			      const struct rk_log *log, struct contacts_key *out)
{
	struct rk_buf data;
	enum rk_err err;

	memset(out, 0, sizeof(*out));
	if (!(out->file = rk_strdup(file)))
		return RK_ERR_NOMEM;
	rk_buf_init(&data, RK_MAX_KEY_FILE);
	errno = 0;
	err = rk_buf_read_file(&data, path);
	if (err == RK_ERR_LIMIT)
		err = set_reason(out, "larger than RK_MAX_KEY_FILE (%u bytes)",
				 RK_MAX_KEY_FILE);
	else if (err == RK_ERR_NOTFOUND)
		err = set_reason(out, "not found");
	else if (err)
		err = rk_fail(log, err, "cannot read '%s': %s", path,
			      strerror(errno ? errno : EIO));
	else if ((err = check_data(h, data.data, data.len, now, out)) == RK_ERR_GPG)
		rk_log_error(log, "cannot check '%s': gpg cannot run (is GnuPG "
				  "installed?)", path);
	rk_buf_release(&data);
	if (!err && out->reason && strstr(out->reason, "SECRET"))
		rk_log_error(log, "%s: %s", path, out->reason);
	return err;
}

enum rk_err contacts_key_check_file(const char *path, int64_t now,
				    const struct rk_log *log,
				    struct contacts_key *out)
{
	const char *slash = strrchr(path, '/');
	struct key_home h;
	enum rk_err err;

	memset(out, 0, sizeof(*out));
	if ((err = home_open(&h, log)))
		return err;
	err = check_path(&h, path, slash ? slash + 1 : path, now, log, out);
	home_close(&h);
	if (err)
		contacts_key_release(out);
	return err;
}

/* ------------------------------------------------------------ directory */

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.asc names of dir, sorted (caller frees each and the array). */
static enum rk_err list_names(const char *dir, const struct rk_log *log,
			      char ***names, size_t *n, bool *too_many)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	enum rk_err err = RK_OK;

	*names = NULL;
	*n = 0;
	*too_many = false;
	if (!d)
		return errno == ENOENT ? RK_OK
				       : rk_fail(log, RK_ERR_IO, "cannot read '%s': %s",
						 dir, strerror(errno));
	while (!err && (de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		if (len < 5 || strcmp(de->d_name + len - 4, ".asc") != 0 ||
		    !rk_name_safe(de->d_name)) {
			rk_log_debug(log, "%s/%s: not a key file (NAME.asc); ignored",
				     dir, de->d_name);
			continue;
		}
		if (*n == RK_MAX_KEY_FILES) {
			*too_many = true;
			break;
		}
		if ((err = rk_array_room((void **)names, *n, sizeof(**names))))
			break;
		if (!((*names)[*n] = rk_strdup(de->d_name)))
			err = RK_ERR_NOMEM;
		else
			(*n)++;
	}
	closedir(d);
	if (!err && *n)
		qsort(*names, *n, sizeof(**names), name_cmp);
	return err;
}

enum rk_err contacts_keys_read(const char *keys_dir, int64_t now,
			       const struct rk_log *log,
			       struct contacts_set *set)
{
	struct key_home h = {.made = false};
	char **names = NULL, *path = NULL;
	char file[RK_QUOTE + 16];
	size_t n = 0;
	bool too_many;
	enum rk_err err;

	if ((err = list_names(keys_dir, log, &names, &n, &too_many)))
		goto cleanup;
	if (too_many &&
	    (err = contacts_push_problem(set, CONTACTS_KEYS_DIR, 0,
					 "more than RK_MAX_KEY_FILES key files; "
					 "the rest were not read")))
		goto cleanup;
	if (!n)
		goto cleanup;
	if ((err = home_open(&h, log)))
		goto cleanup;
	for (size_t i = 0; i < n; i++) {
		struct contacts_key *k;

		free(path);
		path = NULL;
		if ((err = rk_path_join(keys_dir, names[i], &path)) ||
		    (err = rk_array_room((void **)&set->keys, set->nkeys,
					 sizeof(*set->keys))))
			goto cleanup;
		k = &set->keys[set->nkeys];
		if ((err = check_path(&h, path, names[i], now, log, k))) {
			contacts_key_release(k);
			goto cleanup;
		}
		set->nkeys++;
		if (k->usable)
			continue;
		snprintf(file, sizeof(file), CONTACTS_KEYS_DIR "/%s", names[i]);
		if ((err = contacts_push_problem(set, file, 0, k->reason)))
			goto cleanup;
	}
cleanup:
	home_close(&h);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(path);
	return err;
}

const struct contacts_key *contacts_key_find(const struct contacts_set *set,
					     const char *file, const char *fpr)
{
	for (size_t i = 0; i < set->nkeys; i++) {
		const struct contacts_key *k = &set->keys[i];

		if (file && strcmp(k->file, file) == 0)
			return k;
		if (fpr && k->fpr && rk_str_ieq(k->fpr, fpr))
			return k;
	}
	return NULL;
}

/* ------------------------------------------------------------ explain */

static enum rk_err describe(const struct contacts_key *k, struct rk_buf *out,
			    bool *usable)
{
	char day[RK_TIME_TEXT], q[RK_QUOTE];
	enum rk_err err;

	*usable = k->usable;
	rk_quote(k->file, q);
	if (!k->usable)
		return rk_buf_addf(out, "key keys/%s is unusable: %s", q, k->reason);
	err = rk_buf_addf(out, "key %s (keys/%s", k->fpr, q);
	if (!err && k->uid) {
		rk_quote(k->uid, q);
		err = rk_buf_addf(out, ", %s", q);
	}
	if (!err)
		err = rk_buf_adds(out, ") is usable for encryption");
	if (!err && k->expires) {
		date_of(k->expires, day);
		err = rk_buf_addf(out, " until %s", day);
	}
	return err;
}

enum rk_err contacts_key_explain(const char *contacts_dir, const char *pgp,
				 int64_t now, const struct rk_log *log,
				 struct rk_buf *out, bool *usable)
{
	struct contacts_set set;
	const struct contacts_key *k;
	char *keys_dir = NULL, q[RK_QUOTE];
	size_t n = pgp ? strlen(pgp) : 0;
	bool is_file = n > 4 && strcmp(pgp + n - 4, ".asc") == 0;
	bool ok = false;
	enum rk_err err;

	memset(&set, 0, sizeof(set));
	rk_quote(pgp, q);
	if (!n) {
		err = rk_buf_adds(out, "no key: the contact has no pgp value");
		goto cleanup;
	}
	if (!contacts_dir) {
		err = rk_buf_addf(out, "key %s: not checked ([relay] contacts is "
				       "not set)", q);
		goto cleanup;
	}
	if (is_file && !rk_name_safe(pgp)) {
		err = rk_buf_addf(out, "key '%s' is not a key file name", q);
		goto cleanup;
	}
	if ((err = rk_path_join(contacts_dir, CONTACTS_KEYS_DIR, &keys_dir)) ||
	    (err = contacts_keys_read(keys_dir, now, log, &set)))
		goto cleanup;
	k = contacts_key_find(&set, is_file ? pgp : NULL, is_file ? NULL : pgp);
	if (k)
		err = describe(k, out, &ok);
	else
		err = rk_buf_addf(out, "key %s: not found in %s/", q, keys_dir);
cleanup:
	if (usable)
		*usable = ok;
	contacts_set_release(&set);
	free(keys_dir);
	return err;
}
