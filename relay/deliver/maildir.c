/*
 * The maildir transport: each message becomes one file in DIR/new/.
 *
 * Names are deterministic, "renraku-KEY.HOST.eml", so that delivering the
 * same key twice (a run that died between writing the file and recording
 * "sent") finds the first copy, in new/ or, once a mail reader has moved
 * it, in cur/ ("renraku-KEY.HOST.eml:2,S"), and does not make a second.
 * The file is written to tmp/, fsynced, hard-linked into new/ (link()
 * refuses to replace an existing name, as qmail does it), unlinked from
 * tmp/, and new/ is fsynced (once a session of many messages, before
 * any of them is recorded as delivered).  The ".eml" suffix lets
 * reviewers open a file in a mail program directly; maildir readers
 * ignore it.
 */
#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "renraku/deliver.h"

struct maildir {
	char *dir;
	char *tmp;
	char *new_dir;
	char *cur;
	const struct rk_log *log; /* borrowed */
};

static void maildir_free(void *self)
{
	struct maildir *md = self;

	if (!md)
		return;
	free(md->dir);
	free(md->tmp);
	free(md->new_dir);
	free(md->cur);
	free(md);
}

static void result(struct deliver_result *res, const char *location,
		   const char *fmt, ...) RK_PRINTF(3, 4);
static void result(struct deliver_result *res, const char *location,
		   const char *fmt, ...)
{
	va_list ap;

	if (location)
		snprintf(res->location, sizeof(res->location), "%s", location);
	va_start(ap, fmt);
	vsnprintf(res->reply, sizeof(res->reply), fmt, ap);
	va_end(ap);
}

/* A copy of `name` already delivered?  new/NAME, or (on a retry only:
 * it means reading the whole directory) cur/NAME with the reader's
 * ":2,FLAGS" info.  *path gets its path (caller frees). */
static enum rk_err find_delivered(const struct maildir *md, const char *name,
				  bool retry, char **path)
{
	struct stat st;
	size_t nlen = strlen(name);
	DIR *dir;
	struct dirent *de;
	enum rk_err err = RK_OK;

	*path = NULL;
	if ((err = rk_path_join(md->new_dir, name, path)))
		return err;
	if (lstat(*path, &st) == 0)
		return RK_OK;
	free(*path);
	*path = NULL;
	if (!retry)
		return RK_OK;
	dir = opendir(md->cur);
	if (!dir)
		return errno == ENOENT ? RK_OK : RK_ERR_IO;
	while ((de = readdir(dir)) != NULL) {
		if (strncmp(de->d_name, name, nlen) == 0 &&
		    (de->d_name[nlen] == '\0' || de->d_name[nlen] == ':' ||
		     de->d_name[nlen] == '!')) {
			err = rk_path_join(md->cur, de->d_name, path);
			break;
		}
	}
	closedir(dir);
	return err;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* msg into new/ (written to tmp/, fsynced, linked, unlinked from tmp/).
 * With sync, new/ is fsynced too; without, *linked says whether a name
 * was added to new/ that a later fsync of new/ must make durable before
 * the message counts as delivered. */
static enum rk_err maildir_put(struct maildir *md, const struct deliver_msg *msg,
			       struct deliver_result *res, bool sync,
			       bool *linked)
{
	struct rk_buf name;
	char *final = NULL, *tmp = NULL, *found = NULL, rnd[17];
	enum rk_err err;
	int fd = -1, saved;

	res->location[0] = '\0';
	res->reply[0] = '\0';
	rk_buf_init(&name, 512);
	if (!rk_name_safe(msg->key)) {
		result(res, NULL, "maildir: message key '%s' is not a safe name",
		       msg->key ? msg->key : "");
		err = RK_ERR_TRANSPORT;
		goto cleanup;
	}
	if (!msg->data || msg->len == 0) {
		result(res, NULL, "maildir: message %s is empty", msg->key);
		err = RK_ERR_TRANSPORT;
		goto cleanup;
	}
	/* The name depends only on the message (no host name: a relay
	 * restarted on another host must still recognise its delivery). */
	if ((err = rk_buf_addf(&name, "renraku-%s.eml", msg->key)))
		goto cleanup;
	if ((err = find_delivered(md, name.data, msg->retry, &found))) {
		result(res, NULL, "maildir: cannot read '%s'", md->cur);
		err = RK_ERR_TEMPFAIL;
		goto cleanup;
	}
	if (found) {
		/* a run that died before syncing new/ may have left it:
		 * a session syncs new/ before recording it */
		*linked = true;
		result(res, found, "already delivered to maildir");
		goto cleanup;
	}
	if ((err = rk_path_join(md->new_dir, name.data, &final)) ||
	    (err = rk_random_hex(rnd, 8)) ||
	    (err = rk_buf_addf(&name, ".%s", rnd)) ||
	    (err = rk_path_join(md->tmp, name.data, &tmp)))
		goto cleanup;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		result(res, NULL, "maildir: cannot create '%s': %s", tmp,
		       strerror(errno));
		err = RK_ERR_TEMPFAIL;
		goto cleanup;
	}
	if (write_all(fd, msg->data, msg->len) != 0 || fsync(fd) != 0) {
		saved = errno;
		close(fd);
		fd = -1;
		unlink(tmp);
		result(res, NULL, "maildir: cannot write '%s': %s", tmp,
		       strerror(saved));
		err = RK_ERR_TEMPFAIL;
		goto cleanup;
	}
	if (close(fd) != 0) {
		fd = -1;
		saved = errno;
		unlink(tmp);
		result(res, NULL, "maildir: cannot write '%s': %s", tmp,
		       strerror(saved));
		err = RK_ERR_TEMPFAIL;
		goto cleanup;
	}
	fd = -1;
	if (link(tmp, final) != 0) {
		saved = errno;
		/* EEXIST: another run delivered the same key meanwhile.  File
		 * systems without hard links: rename, the name was free a
		 * moment ago. */
		if (saved != EEXIST && rename(tmp, final) == 0) {
			saved = 0;
		} else {
			unlink(tmp);
			if (saved == EEXIST) {
				*linked = true;
				result(res, final, "already delivered to maildir");
				err = RK_OK;
			} else {
				result(res, NULL, "maildir: cannot move the "
				       "message into '%s': %s", md->new_dir,
				       strerror(saved));
				err = RK_ERR_TEMPFAIL;
			}
			goto cleanup;
		}
	} else {
		unlink(tmp);
	}
	*linked = true;
	if (sync && fsync_dir(md->new_dir) != 0) {
		result(res, NULL, "maildir: cannot sync '%s': %s", md->new_dir,
		       strerror(errno));
		err = RK_ERR_TEMPFAIL;
		goto cleanup;
	}
	result(res, final, "delivered to maildir");
	err = RK_OK;
cleanup:
	free(final);
	free(tmp);
	free(found);
	rk_buf_release(&name);
	return err;
}

static enum rk_err maildir_send(void *self, const struct deliver_msg *msg,
				struct deliver_result *res)
{
	bool linked = false;

	return maildir_put(self, msg, res, true, &linked);
}

/* A session: every message written and linked into new/ as maildir_send
 * does it, then one fsync of new/ for all of them (a durable name each,
 * as before, for one directory sync a session instead of one a
 * message), and only then each message's outcome.  A crash before the
 * outcomes leaves the session's messages "sending": the next run finds
 * each copy by its name and makes no second one. */
static enum rk_err maildir_send_batch(void *self,
				      const struct deliver_msg *msgs, size_t n,
				      struct deliver_result *res,
				      const struct deliver_session_ops *ops,
				      char *reason)
{
	struct maildir *md = self;
	enum rk_err *sent;
	bool *begun, *linked, any = false;
	enum rk_err err = RK_OK;

	sent = calloc(n ? n : 1, sizeof(*sent));
	begun = calloc(n ? n : 1, sizeof(*begun));
	linked = calloc(n ? n : 1, sizeof(*linked));
	if (!sent || !begun || !linked) {
		snprintf(reason, DELIVER_REPLY_MAX, "out of memory");
		err = RK_ERR_NOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++) {
		if (ops->begin(ops->ctx, i))
			continue; /* not to be sent (given up, logged) */
		begun[i] = true;
		if (deliver_msg_unsendable(&msgs[i], &res[i], &sent[i]))
			continue;
		sent[i] = maildir_put(md, &msgs[i], &res[i], false, &linked[i]);
		any = any || linked[i];
	}
	if (any && fsync_dir(md->new_dir) != 0) {
		int saved = errno;

		/* the names may not last: none of them counts as delivered */
		for (size_t i = 0; i < n; i++)
			if (linked[i] && sent[i] == RK_OK) {
				result(&res[i], NULL, "maildir: cannot sync '%s': %s",
				       md->new_dir, strerror(saved));
				res[i].location[0] = '\0';
				sent[i] = RK_ERR_TEMPFAIL;
			}
	}
	for (size_t i = 0; i < n && !err; i++)
		if (begun[i] && (err = ops->finish(ops->ctx, i, sent[i], &res[i])))
			snprintf(reason, DELIVER_REPLY_MAX,
				 "maildir: recording an outcome: %s",
				 rk_strerror(err));
cleanup:
	free(sent);
	free(begun);
	free(linked);
	return err;
}

enum rk_err deliver_maildir_open(struct deliver_transport **out,
				 const char *dir, const struct rk_log *log)
{
	struct deliver_transport *t = NULL;
	struct maildir *md = NULL;
	enum rk_err err;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	md = calloc(1, sizeof(*md));
	if (!t || !md) {
		err = RK_ERR_NOMEM;
		goto cleanup;
	}
	md->log = log;
	if (!(md->dir = rk_strdup(dir)) ||
	    (err = rk_path_join(dir, "tmp", &md->tmp)) ||
	    (err = rk_path_join(dir, "new", &md->new_dir)) ||
	    (err = rk_path_join(dir, "cur", &md->cur))) {
		err = RK_ERR_NOMEM;
		goto cleanup;
	}
	if (rk_mkdir_p(md->tmp, 0700) || rk_mkdir_p(md->new_dir, 0700) ||
	    rk_mkdir_p(md->cur, 0700)) {
		err = rk_fail(log, RK_ERR_IO, "cannot create maildir '%s': %s",
			      dir, strerror(errno));
		goto cleanup;
	}
	t->name = "maildir";
	t->send = maildir_send;
	t->send_batch = maildir_send_batch;
	t->free = maildir_free;
	t->self = md;
	md = NULL;
	*out = t;
	t = NULL;
	rk_log_debug(log, "delivering into maildir '%s'", dir);
	err = RK_OK;
cleanup:
	maildir_free(md);
	free(t);
	return err;
}
