/* The wire between relay/mail/helper.c and renraku-gpg-helper: fixed
 * headers in the host's byte order (both ends are the same build on the
 * same machine), each followed by its strings.  Only relay/mail/
 * includes this. */
#ifndef RENRAKU_MAIL_HELPER_WIRE_H
#define RENRAKU_MAIL_HELPER_WIRE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#define HELPER_FD 3                    /* the helper's end of the socket */
#define HELPER_MAGIC 0x52474831u       /* "RGH1" */
#define HELPER_MAX_DATA (256u << 20)   /* bytes to sign, at most */
#define HELPER_MAX_RCPT (64u << 10)    /* recipients' fingerprints, at most */

enum helper_op {
	HELPER_OP_SIGN_DETACHED = 1, /* gpgme_op_sign, detached */
	HELPER_OP_CLEARSIGN = 2,     /* gpgme_op_sign, cleartext */
	HELPER_OP_ENCRYPT_SIGN = 3   /* gpgme_op_encrypt_sign, always-trust */
};

/* A request: then rcpt_len bytes of fingerprints (one a line, encrypt
 * only) and len bytes of data. */
struct helper_request {
	uint32_t magic;
	uint32_t op;
	uint32_t rcpt_len;
	uint32_t len;
};

enum helper_status {
	HELPER_READY = 1,  /* the first answer: the key is there */
	HELPER_DONE = 2,   /* the operation ran: see gerr and the checks */
	HELPER_FAILED = 3  /* could not run it: the payload says why */
};

/* An answer: then fpr_len bytes (the signature's, or the invalid
 * signer's or recipient's, fingerprint) and len bytes (the output when
 * the operation succeeded, else nothing; HELPER_FAILED: a message). */
struct helper_answer {
	uint32_t status;
	uint32_t gerr;              /* the operation's gpgme_error_t */
	uint32_t invalid_signer;    /* 1: the sign result named one */
	uint32_t invalid_recipient; /* 1: the encrypt result named one */
	uint32_t reason;            /* its gpgme_error_t */
	uint32_t nsig;              /* signatures in the sign result */
	uint32_t sig_type;          /* the first one's gpgme_sig_mode_t */
	uint32_t hash_algo;         /* and its gpgme_hash_algo_t */
	uint32_t fpr_len;
	uint32_t len;
};

/* Whole reads and writes on the socket, both ends (EINTR retried; -1 on
 * an error or the end of the stream). */
static inline int helper_read_all(int fd, void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static inline int helper_write_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

#endif
