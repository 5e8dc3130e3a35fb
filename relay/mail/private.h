/* Inside mail: what mime.c needs from sign.c.  Only relay/mail/ includes
 * this. */
#ifndef RENRAKU_MAIL_PRIVATE_H
#define RENRAKU_MAIL_PRIVATE_H

#include <gpgme.h>
#include <sys/types.h>

#include "renraku/mail.h"

/* A recipient key looked up once per signer (per run): the address or
 * fingerprint asked for, and the key found (NULL = none, why says why). */
struct mail_rcpt_key {
	char *query;    /* "NOW:FPR:ADDR" as asked; owned */
	gpgme_key_t key; /* usable encryption key, NULL = none */
	char *why;      /* owned, NULL when key is set */
};

/* The public keys of the signer's home, listed once (one gpg run) and
 * indexed by the mailbox of each user id, so that a run asks gpg once
 * instead of once per recipient address.  Listed again when the keyring
 * files change (a WKD import, a concurrent contacts import). */
struct mail_ring_mail {
	char *mail;  /* a user id's mailbox, ASCII lower-cased; owned */
	size_t key;  /* index in keys */
};
struct mail_ring {
	bool loaded;
	gpgme_key_t *keys;           /* in keyring order, each referenced */
	size_t nkeys;
	struct mail_ring_mail *mails; /* sorted by (mail, key) */
	size_t nmails;
	char stamp[160];              /* the keyring files' stat when listed */
};

/* The relay's OpenPGP context: one GPGME context on its GnuPG home,
 * the signing key, and the recipient keys looked up so far. */
struct mail_signer {
	gpgme_ctx_t ctx;
	gpgme_key_t key;
	char fpr[41];
	char *home;               /* owned */
	const struct rk_log *log; /* borrowed */
	struct mail_rcpt_key *rcpts;
	size_t nrcpts;
	struct mail_wkd *wkd;     /* NULL = no WKD lookups */
	struct mail_ring ring;    /* the home's public keys (encrypt.c) */
	int helper_fd;            /* -1 = operations in process (helper.c) */
	pid_t helper_pid;         /* 0 = no helper */
};

/* WKD (wkd.c): free the lookup state; fetch addr's key from its domain
 * and import it into the signer's home (*imported), or append why not
 * ("; WKD: no key published") to why. */
struct mail_wkd;
void mail_wkd_free(struct mail_wkd *w);
enum rk_err mail_wkd_fetch(struct mail_signer *s, const char *addr,
			   bool *imported, struct rk_buf *why);

/* A context bound to home (OpenPGP, loopback pinentry, local key
 * listing, armor, offline).  Caller releases with gpgme_release. */
enum rk_err mail_gpg_ctx(const char *home, gpgme_ctx_t *out,
			 const struct rk_log *log);

/* Free the recipient key cache of s (encrypt.c). */
void mail_recipients_release(struct mail_signer *s);
/* Free the listed keyring of s (encrypt.c). */
void mail_ring_release(struct mail_signer *s);

/* The cached key for fingerprint fpr (borrowed from s), NULL if none. */
gpgme_key_t mail_recipient_cached(const struct mail_signer *s,
				  const char *fpr);
/* The key of fingerprint fpr in keyset k (borrowed), NULL = not there. */
gpgme_key_t mail_keyset_find(const struct mail_keyset *k, const char *fpr);

/* Encrypt data[0..len) to keys (NULL-ended) and sign it with the
 * signer's key in one OpenPGP message (RFC 3156 section 6.2, the
 * combined method), armored, appended to out.  The signature result must
 * hold exactly one signature and the encryption no invalid recipient. */
enum rk_err mail_encrypt_signed(struct mail_signer *s, gpgme_key_t *keys,
				const void *data, size_t len,
				struct rk_buf *out);

/* An OpenPGP cleartext signature (RFC 4880 section 7) of the UTF-8 text
 * data[0..len) with the signer's key, appended to out. */
enum rk_err mail_clearsign(struct mail_signer *s, const void *data,
			   size_t len, struct rk_buf *out);

/* "pgp-sha512" and the like (RFC 3156 section 5 / RFC 4880 names). */
#define MAIL_MICALG_MAX 32

/* Sign data[0..len) exactly as given (binary mode, no canonicalisation
 * by GnuPG: the caller hands over CRLF text), detached and armored, with
 * the signer's key.  The armored signature is appended to sig (LF line
 * ends, as gpg writes it) and micalg receives "pgp-<hash>" from the sign
 * result.  The result must hold exactly one new signature and no invalid
 * signer, or RK_ERR_GPG. */
enum rk_err mail_sign_detached(struct mail_signer *s, const void *data,
			       size_t len, struct rk_buf *sig,
			       char micalg[MAIL_MICALG_MAX]);

/* Does fpr name the signer's primary key or one of its subkeys? */
bool mail_signer_owns(const struct mail_signer *s, const char *fpr);

/* The signing helper (helper.c): stop it (and wait for it), or run
 * mail_sign_detached / mail_encrypt_signed (keys) / mail_clearsign (keys
 * NULL) there, with the same checks and messages as in process. */
void mail_helper_stop(struct mail_signer *s);
enum rk_err mail_helper_sign_detached(struct mail_signer *s, const void *data,
				      size_t len, struct rk_buf *sig,
				      char micalg[MAIL_MICALG_MAX]);
enum rk_err mail_helper_protect(struct mail_signer *s, gpgme_key_t *keys,
				const void *data, size_t len, struct rk_buf *out);

/* The log the signer was opened with (borrowed, may be NULL). */
const struct rk_log *mail_signer_log(const struct mail_signer *s);

#endif
