/*
 * Choosing a transport by URL.  Each backend (maildir.c, later smtp.c)
 * fills a struct deliver_transport whose free() releases the backend's
 * state; deliver_close() then frees the struct itself.
 */
#include <stdlib.h>
#include <string.h>

#include "renraku/deliver.h"

enum rk_err deliver_open(struct deliver_transport **out, const char *url,
			 const struct rk_config *cfg,
			 const struct rk_log *log)
{
	char *dir = NULL;
	enum rk_err err;

	*out = NULL;
	if (!url || !*url || rk_str_has_ctl(url, false))
		return rk_fail(log, RK_ERR_CONFIG, "[transport] url is empty or "
			       "holds control characters");
	if (strncmp(url, "maildir:", 8) == 0) {
		const char *path = url + 8;

		if (!*path)
			return rk_fail(log, RK_ERR_CONFIG,
				       "[transport] url '%s' names no directory "
				       "(maildir:PATH)",
				       url);
		if ((err = rk_config_path(cfg, path, &dir)))
			return err;
		err = deliver_maildir_open(out, dir, log);
		free(dir);
		return err;
	}
	if (strncmp(url, "smtp://", 7) == 0 || strncmp(url, "smtps://", 8) == 0)
		return rk_fail(log, RK_ERR_UNSUPPORTED,
			       "[transport] url '%s': the smtp transport arrives "
			       "with a later version (use maildir:PATH)",
			       url);
	return rk_fail(log, RK_ERR_CONFIG,
		       "[transport] url '%s' is not maildir:PATH or "
		       "smtp://HOST:PORT",
		       url);
}

void deliver_close(struct deliver_transport *t)
{
	if (!t)
		return;
	if (t->free)
		t->free(t->self);
	free(t);
}

enum deliver_status deliver_rcpt_status(const struct deliver_result *res,
					size_t i)
{
	enum deliver_status own = DELIVER_ACCEPTED;

	if (res->rcpts && i < res->nrcpts)
		own = res->rcpts[i].status;
	/* an accepted RCPT shares the fate of the DATA that followed; one
	 * the server refused or deferred never took part in it */
	return own != DELIVER_ACCEPTED ? own : res->status;
}
