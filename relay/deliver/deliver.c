/*
 * Choosing a transport by URL.  Each backend (maildir.c, later smtp.c)
 * fills a struct deliver_transport whose free() releases the backend's
 * state; deliver_close() then frees the struct itself.
 */
#include <stdlib.h>
#include <string.h>

#include "renraku/deliver.h"

/* smtp://HOST[:PORT]: HOST a name, an address or [v6]; port 25 unless
 * given.  The rest of the options from [transport]. */
static enum rk_err open_smtp(struct deliver_transport **out,
			     const char *hostport, const struct rk_config *cfg,
			     const struct rk_log *log)
{
	struct deliver_smtp_options o;
	char *host = NULL, *ca = NULL, *pw = NULL;
	const char *colon, *end;
	enum rk_err err;

	memset(&o, 0, sizeof(o));
	end = hostport[0] == '[' ? strchr(hostport, ']') : hostport;
	colon = end ? strchr(end, ':') : NULL;
	host = colon ? rk_strndup(hostport, (size_t)(colon - hostport))
		     : rk_strdup(hostport);
	if (!host)
		return RK_ERR_NOMEM;
	if (!*host || (colon && !colon[1])) {
		free(host);
		return rk_fail(log, RK_ERR_CONFIG,
			       "[transport] url 'smtp://%s' is not "
			       "smtp://HOST[:PORT]", hostport);
	}
	o.host = host;
	o.port = colon ? colon + 1 : "25";
	o.starttls = cfg->transport.starttls;
	o.user = cfg->transport.user;
	o.timeout_ms = cfg->transport.timeout;
	if ((cfg->transport.ca_file &&
	     (err = rk_config_path(cfg, cfg->transport.ca_file, &ca))) ||
	    (cfg->transport.password_file &&
	     (err = rk_config_path(cfg, cfg->transport.password_file, &pw)))) {
		free(host);
		free(ca);
		return err;
	}
	o.ca_file = ca;
	o.password_file = pw;
	err = deliver_smtp_open(out, &o, log);
	free(host);
	free(ca);
	free(pw);
	return err;
}

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
	if (strncmp(url, "smtps://", 8) == 0)
		return rk_fail(log, RK_ERR_CONFIG,
			       "[transport] url '%s': smtps:// (implicit TLS) is "
			       "not supported by libESMTP; use smtp://HOST:587 "
			       "with starttls = required",
			       url);
	if (strncmp(url, "smtp://", 7) == 0)
		return open_smtp(out, url + 7, cfg, log);
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
