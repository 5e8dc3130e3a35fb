/* Inside mail: what mime.c needs from sign.c.  Only relay/mail/ includes
 * this. */
#ifndef RENRAKU_MAIL_PRIVATE_H
#define RENRAKU_MAIL_PRIVATE_H

#include "renraku/mail.h"

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

/* The log the signer was opened with (borrowed, may be NULL). */
const struct rk_log *mail_signer_log(const struct mail_signer *s);

#endif
