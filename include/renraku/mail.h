/*
 * Mail: messages as bytes on the wire, apart from what they say.
 *
 *   mime.c   the MIME tree (GMime), RFC 2047 headers, quoted-printable,
 *            the wire form (CRLF, 7-bit, checked)
 *   sign.c   OpenPGP/MIME signing (RFC 3156) with GPGME; key creation,
 *            export and listing
 *   encrypt.c recipient keys in the relay's GnuPG home (import, lookup,
 *            usability at a given time), sign+encrypt, clearsigning
 *   init.c   process-wide initialisation of GMime and GPGME
 *
 * Parsing inbound mail (GMime) comes here too: what notify builds, track
 * will read.  Notice composition (templates, context, CSV) stays in
 * notify (include/renraku/notify.h).
 *
 * mail_init() must be called once per process before any other mail_
 * function (it initialises GMime and GPGME), mail_shutdown() at the end.
 *
 * Owns: the bytes of a message and the signing keys in a GnuPG home; no
 * database rows.  May call: core, GMime, GPGME.  Called by notify (a
 * notice), the command line (init, demo: keys) and, next, track.
 */
#ifndef RENRAKU_MAIL_H
#define RENRAKU_MAIL_H

#include "renraku/core.h"

void mail_init(void);
void mail_shutdown(void);

/* One outgoing mail.  Every string is borrowed.  Header values must not
 * contain CR or LF (names and subjects are sanitised; addresses with
 * control characters are refused with RK_ERR_INVAL). */
struct mail_message {
	const char *from_name;   /* display name, NULL = none */
	const char *from_addr;
	const char *to_name;     /* NULL = none */
	const char *to_addr;
	const char *cc;          /* comma-separated, NULL = none */
	const char *reply_to;    /* NULL = none */
	const char *subject;     /* UTF-8 */
	const char *message_id;  /* "<...@...>" */
	const char *in_reply_to; /* NULL = none */
	const char *references;  /* NULL = none */
	const char *ticket_id;   /* X-Renraku-Ticket, NULL = none */
	const char *ack_url;     /* NULL = none */
	const char *tlp;         /* X-Renraku-TLP ("AMBER"), NULL = none */
	int64_t date;            /* Unix seconds */
	const char *body;        /* UTF-8 text, LF or CRLF */
	const char *attach_name; /* NULL = no attachment */
	const char *attach_type; /* "text/csv" */
	const char *attach;
	size_t attach_len;
};

struct mail_signer;

/* Open GnuPG home `home` for signing with `signer` (fingerprint, key id
 * or user id; NULL = the only secret key there, an error if there are
 * none or several).  log borrowed for the signer's lifetime.  Caller
 * closes *out with mail_signer_close. */
enum rk_err mail_signer_open(struct mail_signer **out, const char *home,
			     const char *signer, const struct rk_log *log);
void mail_signer_close(struct mail_signer *s);
/* A second signer with s's home and key, for another thread: its own
 * GPGME context, no gpg run (the key is the one s listed), no recipient
 * keys and no WKD.  s is only read (any thread may clone it while no
 * thread changes it) and may be closed before *out.  Caller closes *out
 * with mail_signer_close. */
enum rk_err mail_signer_clone(const struct mail_signer *s,
			      struct mail_signer **out);
/* Run s's signing and encryption in a renraku-gpg-helper process (the
 * program installed next to this executable): started here with
 * posix_spawn, so that its gpg runs are forks of a small process rather
 * than of this one; it signs only what s hands it over a socketpair and
 * dies with this process.  Call it on the thread that lives longest (the
 * helper gets SIGKILL when that thread ends).  RK_ERR_NOTFOUND when
 * there is no helper next to the executable (s keeps signing in
 * process), RK_ERR_GPG / RK_ERR_IO when it does not start (logged; s
 * signs in process).  mail_signer_close stops it. */
enum rk_err mail_signer_spawn_helper(struct mail_signer *s);
/* Fingerprint of the signing key (borrowed from s). */
const char *mail_signer_fpr(const struct mail_signer *s);

/* The envelope recipients of a message with these To and Cc
 * (comma-separated): To, then each Cc address, in the wire form the
 * headers carry (the domain as an A-label), repeats (ASCII case ignored)
 * left out -- exactly the addresses mail_build writes into To and Cc.
 * Appended to out as "a@x,b@y".  RK_ERR_INVAL for an address no header
 * may carry, RK_ERR_LIMIT past the Cc limit (logged). */
enum rk_err mail_envelope(const char *to, const char *cc, struct rk_buf *out,
			  const struct rk_log *log);

/* Build the whole message (headers and body, CRLF line ends) into out
 * (appended, bounded by out->max).  signer NULL: a plain unsigned message
 * (mode none).  Otherwise multipart/signed (RFC 3156): the content part
 * is 7-bit (quoted-printable), canonical CRLF, signed detached and
 * armored; the sign result must hold exactly one signature; micalg comes
 * from its hash algorithm.  signer and mail borrowed. */
enum rk_err mail_build(struct mail_signer *signer,
		       const struct mail_message *mail, struct rk_buf *out);

/* ------------------------------------------------------------ encryption */

enum mail_form {
	MAIL_FORM_PGP_MIME = 0, /* RFC 3156 multipart/signed or /encrypted */
	MAIL_FORM_INLINE = 1    /* text/plain: a cleartext signature of the
				   body, or the body signed and encrypted
				   as one armored OpenPGP message; nothing
				   attached (put the CSV in the body) */
};

/* How mail_build_crypt protects a message.  encrypt_to: fingerprints
 * mail_recipient_key returned with the same signer (borrowed); none =
 * signed only.  Encrypted messages are signed and encrypted in one
 * OpenPGP message (RFC 3156 section 6.2, the combined method) inside
 * multipart/encrypted, also to the signer's own key when it has an
 * encryption subkey (the relay can read what it sent). */
struct mail_keyset;
struct mail_crypt {
	enum mail_form form;
	const char *const *encrypt_to;
	size_t nencrypt_to;
	/* NULL: encrypt_to's keys come from the signer's cache.  Set (made
	 * by mail_keyset_take): they come from here, so that a signer on
	 * another thread (one that never ran mail_recipient_key) can
	 * encrypt to them.  Borrowed. */
	const struct mail_keyset *keys;
};

/* The keys of fprs[0..n) (each returned by mail_recipient_key on s),
 * taken out of s's cache with their own references: *out holds them
 * until mail_keyset_free, however s's cache changes meanwhile, and may
 * be used (read only) by any thread.  RK_ERR_INTERNAL when one was not
 * looked up on s.  Caller frees *out. */
enum rk_err mail_keyset_take(const struct mail_signer *s,
			     const char *const *fprs, size_t n,
			     struct mail_keyset **out);
void mail_keyset_free(struct mail_keyset *k);

/* mail_build with a form and encryption (crypt NULL = mail_build).
 * Inline and encryption need a signer (RK_ERR_INVAL otherwise). */
enum rk_err mail_build_crypt(struct mail_signer *signer,
			     const struct mail_message *mail,
			     const struct mail_crypt *crypt,
			     struct rk_buf *out);

/* The key a notice to addr is encrypted to, from the relay's GnuPG home
 * (the signer's): the key with fingerprint fpr when fpr is one (the
 * contact's pgp column), else a key whose user id holds <addr>.  A key
 * that is revoked, expired at `now`, disabled, or has no usable
 * encryption subkey is skipped.  Found: its primary fingerprint in
 * fpr_out.  None: fpr_out is "" and why (the caller's buffer) gets the
 * reason ("key 0123... is expired for a@x").  Answers are cached for
 * the signer's lifetime.  Errors only when the lookup cannot run. */
enum rk_err mail_recipient_key(struct mail_signer *s, const char *addr,
			       const char *fpr, int64_t now, char fpr_out[41],
			       struct rk_buf *why);

/* Web Key Directory lookups for mail_recipient_key (relay/mail/wkd.c,
 * over include/renraku/http.h): when no usable key for an address is in
 * the home, its domain's WKD (advanced method, then direct) is asked
 * and a key with a user id for the address imported.  Strings are
 * copied. */
struct mail_wkd_options {
	const char *ca_file; /* extra CA bundle (PEM), NULL = system CAs */
	int port;            /* 0 = 443 */
	const char *resolve; /* tests: "HOST:ADDRESS,..." (curl resolve at
				port), NULL = DNS */
	long timeout_ms;     /* 0 = 10000 */
};
/* Turn WKD lookups on (opt) or off (NULL) for signer s. */
enum rk_err mail_signer_wkd(struct mail_signer *s,
			    const struct mail_wkd_options *opt);
/* The WKD URLs of addr (advanced and direct method), appended;
 * RK_ERR_INVAL for an address WKD cannot name. */
enum rk_err mail_wkd_urls(const char *addr, int port, struct rk_buf *advanced,
			  struct rk_buf *direct);
/* The z-base-32 SHA-1 of the lower-cased local part local[0..len). */
enum rk_err mail_wkd_hash(const char *local, size_t len, char out[33]);

/* Import the public key in data[0..len) (armored or binary, one key)
 * into GnuPG home `home` (created 0700 when missing); fpr_out gets its
 * fingerprint.  Secret key material is refused (RK_ERR_INVAL). */
enum rk_err mail_import_key(const char *home, const void *data, size_t len,
			    char fpr_out[41], const struct rk_log *log);

/* Create an OpenPGP key (signing primary and encryption subkey, no
 * passphrase) for "name <email>" in GnuPG home `home` (created 0700 when
 * missing).  fpr_out receives the primary key's fingerprint. */
enum rk_err mail_gen_key(const char *home, const char *name,
			 const char *email, char fpr_out[41],
			 const struct rk_log *log);

/* Armored public key for fpr (NULL = the only secret key) appended to
 * out. */
enum rk_err mail_export_key(const char *home, const char *fpr,
			    struct rk_buf *out, const struct rk_log *log);

/* How many secret keys GnuPG home `home` holds (*n = 0 when the directory
 * does not exist; nothing is created), and the first one's fingerprint
 * in fpr_out ("" when none). */
enum rk_err mail_secret_keys(const char *home, char fpr_out[41], size_t *n,
			     const struct rk_log *log);

#endif /* RENRAKU_MAIL_H */
