/*
 * A signer's GnuPG operations in renraku-gpg-helper (relay/mail/helper/
 * gpg_helper.c): a small process started with posix_spawn (no copy of
 * this one), talking over a socketpair, whose gpg runs are forks of a
 * small process instead of this one.  The checks on the results are the
 * ones sign.c and encrypt.c make in process, with the same messages.
 *
 * A helper that stops (crashed, killed) is started again once and the
 * operation asked again (an operation has no effect but its output);
 * when that fails too, the operation fails with RK_ERR_GPG, which the
 * notify stage treats as the operator's (the ticket stays due).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper/helper_wire.h"
#include "private.h"

extern char **environ;

#define HELPER_NAME "renraku-gpg-helper"

void mail_helper_stop(struct mail_signer *s)
{
	if (s->helper_fd >= 0)
		close(s->helper_fd); /* the helper sees EOF and exits */
	s->helper_fd = -1;
	if (s->helper_pid > 0)
		while (waitpid(s->helper_pid, NULL, 0) < 0 && errno == EINTR)
			;
	s->helper_pid = 0;
}

/* The helper next to this executable, or RK_ERR_NOTFOUND. */
static enum rk_err helper_path(struct rk_buf *path)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n <= 0)
		return RK_ERR_NOTFOUND;
	self[n] = '\0';
	if (!(slash = strrchr(self, '/')))
		return RK_ERR_NOTFOUND;
	slash[1] = '\0';
	if (rk_buf_addf(path, "%s%s", self, HELPER_NAME))
		return RK_ERR_NOTFOUND;
	return access(path->data, X_OK) == 0 ? RK_OK : RK_ERR_NOTFOUND;
}

/* An answer's header, fingerprint (into fpr, cut to its size) and
 * payload (appended to out, NULL = dropped); -1 when the helper is gone
 * or says nonsense. */
static int read_answer(int fd, struct helper_answer *a, char *fpr,
		       size_t fpr_size, struct rk_buf *out)
{
	char chunk[4096];
	size_t left;

	if (helper_read_all(fd, a, sizeof(*a)) || a->fpr_len > 4096 ||
	    a->len > HELPER_MAX_DATA * 2u)
		return -1;
	left = a->fpr_len;
	fpr[0] = '\0';
	if (left) {
		if (helper_read_all(fd, chunk, left))
			return -1;
		if (left >= fpr_size)
			left = fpr_size - 1;
		memcpy(fpr, chunk, left);
		fpr[left] = '\0';
	}
	for (left = a->len; left;) {
		size_t n = left < sizeof(chunk) ? left : sizeof(chunk);

		if (helper_read_all(fd, chunk, n))
			return -1;
		if (out && rk_buf_add(out, chunk, n))
			return -2;
		left -= n;
	}
	return 0;
}

enum rk_err mail_signer_spawn_helper(struct mail_signer *s)
{
	posix_spawn_file_actions_t fa;
	struct helper_answer a;
	struct rk_buf path, msg;
	char pid[32], fpr[8];
	int sv[2] = {-1, -1}, child = -1, rc;
	pid_t p;
	enum rk_err err = RK_OK;

	if (s->helper_fd >= 0)
		return RK_OK;
	rk_buf_init(&path, PATH_MAX + 64);
	rk_buf_init(&msg, 4096);
	if ((err = helper_path(&path)))
		goto cleanup;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 ||
	    /* above the helper's fd, so that dup2 always clears CLOEXEC */
	    (child = fcntl(sv[1], F_DUPFD_CLOEXEC, HELPER_FD + 1)) < 0) {
		rk_log_warn(s->log, "cannot make a socket for the signing "
			    "helper: %s", strerror(errno));
		err = RK_ERR_IO;
		goto cleanup;
	}
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	{
		char *argv[] = {path.data, s->home, s->fpr, pid, NULL};

		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
		posix_spawn_file_actions_adddup2(&fa, child, HELPER_FD);
		rc = posix_spawn(&p, path.data, &fa, NULL, argv, environ);
		posix_spawn_file_actions_destroy(&fa);
	}
	if (rc != 0) {
		rk_log_warn(s->log, "cannot start %s: %s", path.data,
			    strerror(rc));
		err = RK_ERR_IO;
		goto cleanup;
	}
	s->helper_pid = p;
	s->helper_fd = sv[0];
	sv[0] = -1;
	if (read_answer(s->helper_fd, &a, fpr, sizeof(fpr), &msg) ||
	    a.status != HELPER_READY) {
		rk_log_warn(s->log, "the signing helper %s did not start%s%.*s",
			    path.data, msg.len ? ": " : "", (int)msg.len,
			    msg.len ? msg.data : "");
		err = RK_ERR_GPG;
		mail_helper_stop(s);
		goto cleanup;
	}
	rk_log_debug(s->log, "signing helper %ld for %s", (long)p, s->fpr);
cleanup:
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	if (child >= 0)
		close(child);
	rk_buf_release(&path);
	rk_buf_release(&msg);
	return err;
}

/* One operation in the helper: the answer in *a, the signature's
 * fingerprint in fpr, the output appended to out.  A helper that is
 * gone is started again once. */
static enum rk_err helper_call(struct mail_signer *s, enum helper_op op,
			       gpgme_key_t *keys, const void *data, size_t len,
			       struct helper_answer *a, char fpr[65],
			       struct rk_buf *out)
{
	struct rk_buf rcpt;
	size_t mark = out->len;
	enum rk_err err = RK_OK;

	if (len > HELPER_MAX_DATA)
		return rk_fail(s->log, RK_ERR_LIMIT, "too much to sign at once");
	rk_buf_init(&rcpt, HELPER_MAX_RCPT);
	for (size_t i = 0; keys && keys[i] && !err; i++)
		err = rk_buf_addf(&rcpt, "%s\n", keys[i]->subkeys &&
				  keys[i]->subkeys->fpr ? keys[i]->subkeys->fpr
							: "");
	for (int attempt = 0; !err && attempt < 2; attempt++) {
		struct helper_request rq = {
			.magic = HELPER_MAGIC, .op = (uint32_t)op,
			.rcpt_len = (uint32_t)rcpt.len, .len = (uint32_t)len,
		};
		int rc = 0;

		if (s->helper_fd < 0 && (err = mail_signer_spawn_helper(s)))
			break;
		rk_buf_truncate(out, mark);
		if (helper_write_all(s->helper_fd, &rq, sizeof(rq)) == 0 &&
		    (!rcpt.len || helper_write_all(s->helper_fd, rcpt.data, rcpt.len) == 0) &&
		    (!len || helper_write_all(s->helper_fd, data, len) == 0) &&
		    (rc = read_answer(s->helper_fd, a, fpr, 65, out)) == 0 &&
		    a->status == HELPER_DONE)
			goto done;
		if (rc == -2) {
			/* more than out may hold: the rest of the answer is
			 * unread, so this helper is done with */
			mail_helper_stop(s);
			err = rk_fail(s->log, RK_ERR_LIMIT, "GnuPG's output for %s is "
				      "larger than the message limit", s->fpr);
			break;
		}
		rk_log_warn(s->log, "the signing helper %ld stopped%s",
			    (long)s->helper_pid, attempt ? "" : ": starting it again");
		mail_helper_stop(s);
	}
	if (!err)
		err = rk_fail(s->log, RK_ERR_GPG, "signing with %s: the signing "
			      "helper stopped twice", s->fpr);
done:
	if (err)
		rk_buf_truncate(out, mark);
	rk_buf_release(&rcpt);
	return err;
}

enum rk_err mail_helper_sign_detached(struct mail_signer *s, const void *data,
				      size_t len, struct rk_buf *sig,
				      char micalg[MAIL_MICALG_MAX])
{
	struct helper_answer a;
	struct rk_buf out;
	char fpr[65];
	const char *hash;
	enum rk_err err;

	micalg[0] = '\0';
	rk_buf_init(&out, sig->max);
	if ((err = helper_call(s, HELPER_OP_SIGN_DETACHED, NULL, data, len, &a,
			       fpr, &out)))
		goto cleanup;
	if (a.invalid_signer) {
		err = rk_fail(s->log, RK_ERR_GPG, "key %s cannot sign: %s",
			      fpr[0] ? fpr : s->fpr, gpgme_strerror(a.reason));
		goto cleanup;
	}
	if (a.gerr) {
		err = rk_fail(s->log, RK_ERR_GPG, "signing with %s failed: %s",
			      s->fpr, gpgme_strerror(a.gerr));
		goto cleanup;
	}
	if (a.nsig != 1) {
		err = rk_fail(s->log, RK_ERR_GPG,
			      "signing with %s made %u signatures, not one", s->fpr,
			      a.nsig);
		goto cleanup;
	}
	if (a.sig_type != GPGME_SIG_MODE_DETACH || !mail_signer_owns(s, fpr)) {
		err = rk_fail(s->log, RK_ERR_GPG,
			      "unexpected signature from %s (wanted a detached "
			      "signature by %s)",
			      fpr[0] ? fpr : "?", s->fpr);
		goto cleanup;
	}
	hash = gpgme_hash_algo_name((gpgme_hash_algo_t)a.hash_algo);
	if (!hash || !*hash ||
	    (size_t)snprintf(micalg, MAIL_MICALG_MAX, "pgp-%s", hash) >=
		    MAIL_MICALG_MAX) {
		micalg[0] = '\0';
		err = rk_fail(s->log, RK_ERR_GPG,
			      "unknown hash algorithm %d in the signature",
			      (int)a.hash_algo);
		goto cleanup;
	}
	rk_str_lower(micalg);
	if (!out.len) {
		err = rk_fail(s->log, RK_ERR_GPG, "GnuPG returned no signature");
		goto cleanup;
	}
	err = rk_buf_add(sig, out.data, out.len);
cleanup:
	if (err)
		micalg[0] = '\0';
	rk_buf_release(&out);
	return err;
}

enum rk_err mail_helper_protect(struct mail_signer *s, gpgme_key_t *keys,
				const void *data, size_t len, struct rk_buf *dst)
{
	struct helper_answer a;
	struct rk_buf out;
	char fpr[65];
	gpgme_sig_mode_t mode = keys ? GPGME_SIG_MODE_NORMAL : GPGME_SIG_MODE_CLEAR;
	enum rk_err err;

	rk_buf_init(&out, dst->max);
	if ((err = helper_call(s, keys ? HELPER_OP_ENCRYPT_SIGN
				       : HELPER_OP_CLEARSIGN,
			       keys, data, len, &a, fpr, &out)))
		goto cleanup;
	if (a.invalid_recipient) {
		err = rk_fail(s->log, RK_ERR_GPG, "cannot encrypt to %s: %s",
			      fpr[0] ? fpr : "?", gpgme_strerror(a.reason));
		goto cleanup;
	}
	if (a.gerr) {
		err = rk_fail(s->log, RK_ERR_GPG, "%s with %s failed: %s",
			      keys ? "encrypting and signing" : "clearsigning",
			      s->fpr, gpgme_strerror(a.gerr));
		goto cleanup;
	}
	if (a.invalid_signer) {
		err = rk_fail(s->log, RK_ERR_GPG, "key %s cannot sign: %s", s->fpr,
			      gpgme_strerror(a.reason));
		goto cleanup;
	}
	if (a.nsig != 1 || a.sig_type != (uint32_t)mode) {
		err = rk_fail(s->log, RK_ERR_GPG,
			      "signing with %s made %u signatures, not one", s->fpr,
			      a.nsig);
		goto cleanup;
	}
	if (!out.len) {
		err = rk_fail(s->log, RK_ERR_GPG, "GnuPG returned nothing");
		goto cleanup;
	}
	err = rk_buf_add(dst, out.data, out.len);
cleanup:
	rk_buf_release(&out);
	return err;
}
