/* Inside notify: what mime.c needs from sign.c.  Only relay/notify/
 * includes this. */
#ifndef RENRAKU_NOTIFY_MAIL_H
#define RENRAKU_NOTIFY_MAIL_H

#include "renraku/notify.h"

/* "pgp-sha512" and the like (RFC 3156 section 5 / RFC 4880 names). */
#define NOTIFY_MICALG_MAX 32

/* Sign data[0..len) exactly as given (binary mode, no canonicalisation
 * by GnuPG: the caller hands over CRLF text), detached and armored, with
 * the signer's key.  The armored signature is appended to sig (LF line
 * ends, as gpg writes it) and micalg receives "pgp-<hash>" from the sign
 * result.  The result must hold exactly one new signature and no invalid
 * signer, or RK_ERR_GPG. */
enum rk_err notify_sign_detached(struct notify_signer *s, const void *data,
				 size_t len, struct rk_buf *sig,
				 char micalg[NOTIFY_MICALG_MAX]);

/* The log the signer was opened with (borrowed, may be NULL). */
const struct rk_log *notify_signer_log(const struct notify_signer *s);

#endif
