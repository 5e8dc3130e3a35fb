/*
 * The raw GPGME signing floor: `count` operations on one message, spread
 * over `threads` threads, each with its own gpgme_ctx_t set up as
 * relay/mail/sign.c sets up the signer's (OpenPGP, the GnuPG home as
 * engine info, loopback pinentry, local key listing, offline, armor,
 * binary mode), all talking to the same gpg-agent.  Sign: detached
 * (gpgme_op_sign, GPGME_SIG_MODE_DETACH); encrypt: gpgme_op_encrypt_sign
 * (always-trust) to the recipients and the signer's own key, as
 * relay/mail/encrypt.c does.
 *
 * Contexts and keys are made before the clock starts; the threads wait
 * at a barrier and the time runs from its release to the last thread's
 * end.  The caller must have called gpgme_check_version (mail_init)
 * before, as GPGME wants it once before threads start.
 */
#include <gpgme.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

struct raw_worker {
	pthread_t tid;
	gpgme_ctx_t ctx;
	gpgme_key_t keys[RK_BENCH_RAWSIGN_MAX_RCPT + 2]; /* NULL-terminated */
	gpgme_key_t signer;
	const void *msg;
	size_t len;
	int count;
	bool encrypt;
	pthread_barrier_t *start;
	const char *failed; /* static text, or NULL */
};

static const char *raw_setup(struct raw_worker *w, const char *home,
			     const char *fpr, const char *const *rcpt,
			     size_t nrcpt)
{
	gpgme_error_t gerr;
	size_t n = 0;

	if ((gerr = gpgme_new(&w->ctx)) ||
	    (gerr = gpgme_set_protocol(w->ctx, GPGME_PROTOCOL_OpenPGP)) ||
	    (gerr = gpgme_ctx_set_engine_info(w->ctx, GPGME_PROTOCOL_OpenPGP,
					      NULL, home)) ||
	    (gerr = gpgme_set_pinentry_mode(w->ctx,
					    GPGME_PINENTRY_MODE_LOOPBACK)) ||
	    (gerr = gpgme_set_keylist_mode(w->ctx, GPGME_KEYLIST_MODE_LOCAL)))
		return "rawsign: gpgme context setup failed";
	gpgme_set_offline(w->ctx, 1);
	gpgme_set_armor(w->ctx, 1);
	gpgme_set_textmode(w->ctx, 0);
	if (gpgme_get_key(w->ctx, fpr, &w->signer, 1) ||
	    gpgme_signers_add(w->ctx, w->signer))
		return "rawsign: the signing key is not in the GnuPG home";
	if (!w->encrypt)
		return NULL;
	for (size_t i = 0; i < nrcpt; i++) {
		if (gpgme_get_key(w->ctx, rcpt[i], &w->keys[n], 0))
			return "rawsign: a recipient key is not in the GnuPG home";
		n++;
	}
	if (gpgme_get_key(w->ctx, fpr, &w->keys[n], 0))
		return "rawsign: the signer's public key is not in the home";
	return NULL;
}

static const char *raw_one(struct raw_worker *w)
{
	gpgme_data_t plain = NULL, out = NULL;
	gpgme_error_t gerr;
	const char *failed = NULL;
	char *bytes = NULL;
	size_t len = 0;

	if (gpgme_data_new_from_mem(&plain, w->msg, w->len, 0) ||
	    gpgme_data_new(&out)) {
		failed = "rawsign: out of memory";
		goto cleanup;
	}
	if (w->encrypt) {
		gpgme_encrypt_result_t r;

		gerr = gpgme_op_encrypt_sign(w->ctx, w->keys,
					     GPGME_ENCRYPT_ALWAYS_TRUST, plain,
					     out);
		r = gerr ? NULL : gpgme_op_encrypt_result(w->ctx);
		if (gerr || !r || r->invalid_recipients)
			failed = "rawsign: gpgme_op_encrypt_sign failed";
	} else {
		gpgme_sign_result_t r;

		gerr = gpgme_op_sign(w->ctx, plain, out, GPGME_SIG_MODE_DETACH);
		r = gerr ? NULL : gpgme_op_sign_result(w->ctx);
		if (gerr || !r || !r->signatures || r->invalid_signers)
			failed = "rawsign: gpgme_op_sign failed";
	}
	if (failed)
		goto cleanup;
	bytes = gpgme_data_release_and_get_mem(out, &len);
	out = NULL;
	if (!bytes || !len)
		failed = "rawsign: GnuPG returned nothing";
cleanup:
	gpgme_free(bytes);
	gpgme_data_release(out);
	gpgme_data_release(plain);
	return failed;
}

static void *raw_run(void *arg)
{
	struct raw_worker *w = arg;

	pthread_barrier_wait(w->start);
	for (int i = 0; i < w->count && !w->failed; i++)
		w->failed = raw_one(w);
	return NULL;
}

static void raw_release(struct raw_worker *w)
{
	for (size_t i = 0; w->keys[i]; i++)
		gpgme_key_unref(w->keys[i]);
	gpgme_key_unref(w->signer);
	gpgme_release(w->ctx);
}

double bench_rawsign_rate(const char *gnupghome, const char *fpr,
			  const void *msg, size_t len, int threads, int count,
			  bool encrypt, const char *const *recipients,
			  size_t nrecipients)
{
	struct raw_worker *w;
	pthread_barrier_t start;
	const char *failed = NULL;
	double t0, t;

	if (threads < 1 || count < 1 || nrecipients > RK_BENCH_RAWSIGN_MAX_RCPT ||
	    (encrypt && nrecipients == 0))
		bench_die("bench_rawsign_rate: bad arguments (threads %d, count "
			  "%d, %zu recipients)",
			  threads, count, nrecipients);
	if (!(w = calloc((size_t)threads, sizeof(*w))))
		bench_die("out of memory");
	if (pthread_barrier_init(&start, NULL, (unsigned)threads + 1))
		bench_die("pthread_barrier_init failed");
	for (int i = 0; i < threads; i++) {
		w[i].msg = msg;
		w[i].len = len;
		w[i].encrypt = encrypt;
		w[i].start = &start;
		/* count split as evenly as it goes */
		w[i].count = count / threads + (i < count % threads ? 1 : 0);
		if ((failed = raw_setup(&w[i], gnupghome, fpr, recipients,
					nrecipients)))
			bench_die("%s (home '%s', key %s)", failed, gnupghome, fpr);
	}
	for (int i = 0; i < threads; i++)
		if (pthread_create(&w[i].tid, NULL, raw_run, &w[i]))
			bench_die("pthread_create failed");
	pthread_barrier_wait(&start);
	t0 = bench_now();
	for (int i = 0; i < threads; i++)
		pthread_join(w[i].tid, NULL);
	t = bench_now() - t0;
	for (int i = 0; i < threads; i++) {
		if (w[i].failed && !failed)
			failed = w[i].failed;
		raw_release(&w[i]);
	}
	pthread_barrier_destroy(&start);
	free(w);
	if (failed)
		bench_die("%s", failed);
	return t > 0 ? (double)count / t : 0.0;
}
