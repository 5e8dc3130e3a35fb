/*
 * renraku-gpg-helper: the relay's GPGME operations in a small process.
 *
 * GPGME starts one gpg process per operation by fork + exec, and a fork
 * copies the page tables of the whole process (and the parent then takes
 * a copy-on-write fault for every page it touches): for the relay's
 * process that was about a quarter of the notify stage's CPU.  This
 * program links GPGME and libc only; relay/mail/helper.c starts one per
 * signing thread (posix_spawn, which does not copy the parent) and
 * hands it the bytes to sign over a socketpair, so that the gpg runs
 * are forks of this small process.
 *
 *   renraku-gpg-helper HOME FPR PARENT_PID      (fd 3: the socket)
 *
 * It signs only what comes over fd 3, which only the process that
 * started it holds (no listening socket, nothing on stdin), with the key
 * FPR of GnuPG home HOME; it exits when the socket closes or the parent
 * dies (PR_SET_PDEATHSIG), and refuses to start when its parent is not
 * PARENT_PID.  Each request is one operation, each answer the output
 * and what the parent checks (relay/mail/helper.c has the wire format).
 * Nothing here is state kept between requests but the context.
 */
#include <errno.h>
#include <gpgme.h>
#include <locale.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helper_wire.h"

/* One answer: the header, then the fingerprint and the payload. */
static int answer(int fd, struct helper_answer *a, const char *fpr,
		  const void *payload, size_t len)
{
	a->fpr_len = fpr ? (uint32_t)strlen(fpr) : 0;
	a->len = (uint32_t)len;
	return helper_write_all(fd, a, sizeof(*a)) ||
	       (a->fpr_len && helper_write_all(fd, fpr, a->fpr_len)) ||
	       (len && helper_write_all(fd, payload, len));
}

static int fail(int fd, const char *what, gpgme_error_t gerr)
{
	struct helper_answer a = {.status = HELPER_FAILED};
	char msg[512];
	int n = snprintf(msg, sizeof(msg), "%s: %s", what, gpgme_strerror(gerr));

	return answer(fd, &a, NULL, msg, n < 0 ? 0 : strlen(msg));
}

static gpgme_ctx_t setup(const char *home, const char *fpr)
{
	gpgme_ctx_t ctx = NULL;
	gpgme_key_t key = NULL;

	if (gpgme_new(&ctx) ||
	    gpgme_set_protocol(ctx, GPGME_PROTOCOL_OpenPGP) ||
	    gpgme_ctx_set_engine_info(ctx, GPGME_PROTOCOL_OpenPGP, NULL, home) ||
	    gpgme_set_pinentry_mode(ctx, GPGME_PINENTRY_MODE_LOOPBACK) ||
	    gpgme_set_keylist_mode(ctx, GPGME_KEYLIST_MODE_LOCAL))
		return NULL;
	gpgme_set_offline(ctx, 1);
	gpgme_set_armor(ctx, 1);
	gpgme_set_textmode(ctx, 0);
	if (gpgme_get_key(ctx, fpr, &key, 1) || !key ||
	    gpgme_signers_add(ctx, key)) {
		gpgme_key_unref(key);
		gpgme_release(ctx);
		return NULL;
	}
	gpgme_key_unref(key);
	return ctx;
}

/* One request: read it, run it, answer.  -1 when the socket is gone. */
static int serve_one(int fd, gpgme_ctx_t ctx)
{
	struct helper_request rq;
	struct helper_answer a;
	gpgme_data_t plain = NULL, out = NULL;
	gpgme_error_t gerr;
	char *data = NULL, *rcpt = NULL, *bytes = NULL;
	const char *sig_fpr = NULL;
	size_t len = 0;
	int rc = -1;

	memset(&a, 0, sizeof(a));
	if (helper_read_all(fd, &rq, sizeof(rq)) || rq.magic != HELPER_MAGIC ||
	    rq.len > HELPER_MAX_DATA || rq.rcpt_len > HELPER_MAX_RCPT)
		return -1;
	if (!(data = malloc(rq.len ? rq.len : 1)) ||
	    !(rcpt = malloc(rq.rcpt_len + 1)) ||
	    helper_read_all(fd, rcpt, rq.rcpt_len) || helper_read_all(fd, data, rq.len))
		goto cleanup;
	rcpt[rq.rcpt_len] = '\0';
	if ((gerr = gpgme_data_new_from_mem(&plain, data, rq.len, 0)) ||
	    (gerr = gpgme_data_new(&out))) {
		rc = fail(fd, "cannot set up the operation", gerr);
		goto cleanup;
	}
	if (rq.op == HELPER_OP_ENCRYPT_SIGN) {
		gpgme_encrypt_result_t enc;

		if (!rq.rcpt_len) {
			rc = fail(fd, "no recipients", gpg_error(GPG_ERR_INV_VALUE));
			goto cleanup;
		}
		/* the recipients as gpg's -r arguments, one fingerprint a
		 * line: what GPGME passes for key objects too */
		gerr = gpgme_op_encrypt_sign_ext(ctx, NULL, rcpt,
						 GPGME_ENCRYPT_ALWAYS_TRUST, plain,
						 out);
		enc = gpgme_op_encrypt_result(ctx);
		if (enc && enc->invalid_recipients) {
			a.invalid_recipient = 1;
			a.reason = enc->invalid_recipients->reason;
			sig_fpr = enc->invalid_recipients->fpr;
		}
	} else if (rq.op == HELPER_OP_SIGN_DETACHED ||
		   rq.op == HELPER_OP_CLEARSIGN) {
		gerr = gpgme_op_sign(ctx, plain, out,
				     rq.op == HELPER_OP_CLEARSIGN
					     ? GPGME_SIG_MODE_CLEAR
					     : GPGME_SIG_MODE_DETACH);
	} else {
		goto cleanup;
	}
	a.gerr = gerr;
	if (!a.invalid_recipient) {
		gpgme_sign_result_t res = gpgme_op_sign_result(ctx);

		if (res && res->invalid_signers) {
			a.invalid_signer = 1;
			a.reason = res->invalid_signers->reason;
			sig_fpr = res->invalid_signers->fpr;
		}
		for (gpgme_new_signature_t s = res ? res->signatures : NULL; s;
		     s = s->next)
			a.nsig++;
		if (!a.invalid_signer && res && res->signatures) {
			a.sig_type = res->signatures->type;
			a.hash_algo = res->signatures->hash_algo;
			sig_fpr = res->signatures->fpr;
		}
	}
	if (!gerr && !a.invalid_recipient && !a.invalid_signer) {
		bytes = gpgme_data_release_and_get_mem(out, &len);
		out = NULL;
	}
	a.status = HELPER_DONE;
	rc = answer(fd, &a, sig_fpr, bytes, bytes ? len : 0);
cleanup:
	gpgme_free(bytes);
	gpgme_data_release(out);
	gpgme_data_release(plain);
	free(rcpt);
	free(data);
	return rc;
}

int main(int argc, char **argv)
{
	gpgme_ctx_t ctx;
	char *end;
	long parent;

	if (argc != 4) {
		fputs("renraku-gpg-helper: started by renraku only\n", stderr);
		return 2;
	}
	/* die with the relay; refuse to run for anyone else */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	errno = 0;
	parent = strtol(argv[3], &end, 10);
	if (errno || *end || parent <= 1 || (long)getppid() != parent) {
		fputs("renraku-gpg-helper: started by renraku only\n", stderr);
		return 2;
	}
	setlocale(LC_ALL, "");
	gpgme_check_version(NULL);
	gpgme_set_locale(NULL, LC_CTYPE, setlocale(LC_CTYPE, NULL));
	if (!(ctx = setup(argv[1], argv[2]))) {
		struct helper_answer a = {.status = HELPER_FAILED};

		answer(HELPER_FD, &a, NULL, "no signing key", 14);
		return 1;
	}
	{
		struct helper_answer a = {.status = HELPER_READY};

		if (answer(HELPER_FD, &a, NULL, NULL, 0))
			return 1;
	}
	while (serve_one(HELPER_FD, ctx) == 0)
		;
	gpgme_release(ctx);
	return 0;
}
