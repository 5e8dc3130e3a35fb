/*
 * fetch-mail: one pass over an IMAP mailbox through libcurl.  UID based:
 * the mailbox's UIDVALIDITY and the last UID taken are kept in the
 * store; each message after it is fetched, stored (track_inbound, its
 * own transaction), then its UID recorded, then it is flagged \Seen or
 * moved to [inbound] imap_done.  A crash between storing and recording
 * fetches the message again next time, and the store recognises the
 * bytes (nothing is applied twice).  No transaction is open while the
 * server is asked.
 */
#include <curl/curl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "renraku/track.h"

#define IMAP_MAX_REPLY (1u << 20) /* a STATUS / SEARCH answer, bytes */
#define IMAP_MAX_PER_PASS 10000   /* messages taken in one pass */
#define IMAP_MAX_PASSWORD 1024

struct imap {
	CURL *curl;
	const struct rk_log *log;
	char *base;    /* imap://host:port */
	char *box_url; /* base/MAILBOX */
	struct rk_buf reply;
	char password[IMAP_MAX_PASSWORD];
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct rk_buf *b = arg;
	size_t len = size * n;

	return rk_buf_add(b, p, len) ? 0 : len;
}

static enum rk_err read_password(const struct rk_config *cfg,
				 const struct rk_log *log, char *out,
				 size_t size)
{
	char *path = NULL;
	struct stat st;
	FILE *f;
	size_t n;
	enum rk_err err;

	out[0] = '\0';
	if (!cfg->inbound.password_file)
		return RK_OK;
	if ((err = rk_config_path(cfg, cfg->inbound.password_file, &path)))
		return err;
	if (stat(path, &st) != 0) {
		err = rk_fail(log, RK_ERR_CONFIG,
			      "[inbound] password_file '%s' cannot be read", path);
	} else if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		err = rk_fail(log, RK_ERR_CONFIG,
			      "[inbound] password_file '%s' is readable by "
			      "others (mode %03o): chmod 600 it",
			      path, (unsigned)(st.st_mode & 0777));
	} else if (!(f = fopen(path, "r"))) {
		err = rk_fail(log, RK_ERR_CONFIG,
			      "[inbound] password_file '%s' cannot be read", path);
	} else {
		n = fread(out, 1, size - 1, f);
		fclose(f);
		out[n] = '\0';
		while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
			out[--n] = '\0';
	}
	free(path);
	return err;
}

static enum rk_err imap_open(struct imap *im, const struct rk_config *cfg,
			     const struct rk_log *log)
{
	const char *url = cfg->inbound.imap_url, *box = cfg->inbound.mailbox;
	char *esc;
	size_t len;
	enum rk_err err;

	memset(im, 0, sizeof(*im));
	im->log = log;
	rk_buf_init(&im->reply, (size_t)cfg->inbound.max_message + IMAP_MAX_REPLY);
	if (strncmp(url, "imap://", 7) != 0 && strncmp(url, "imaps://", 8) != 0)
		return rk_fail(log, RK_ERR_CONFIG,
			       "[inbound] imap_url '%s' is not imap:// or imaps://",
			       url);
	if (!box || !*box || strpbrk(box, "\"\\") || rk_str_has_ctl(box, false))
		return rk_fail(log, RK_ERR_CONFIG,
			       "[inbound] mailbox: a name without quotes, "
			       "backslashes or control characters");
	if (cfg->inbound.imap_done &&
	    (!*cfg->inbound.imap_done || strpbrk(cfg->inbound.imap_done, "\"\\") ||
	     rk_str_has_ctl(cfg->inbound.imap_done, false)))
		return rk_fail(log, RK_ERR_CONFIG,
			       "[inbound] imap_done: a folder name without "
			       "quotes, backslashes or control characters");
	if ((err = read_password(cfg, log, im->password, sizeof(im->password))))
		return err;
	len = strlen(url);
	while (len > 8 && url[len - 1] == '/')
		len--;
	if (!(im->base = rk_strndup(url, len)) || !(im->curl = curl_easy_init()))
		return RK_ERR_NOMEM;
	esc = curl_easy_escape(im->curl, box, 0);
	if (!esc)
		return RK_ERR_NOMEM;
	im->box_url = malloc(len + strlen(esc) + 2);
	if (im->box_url)
		snprintf(im->box_url, len + strlen(esc) + 2, "%s/%s", im->base, esc);
	curl_free(esc);
	if (!im->box_url)
		return RK_ERR_NOMEM;
	curl_easy_setopt(im->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(im->curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(im->curl, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(im->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(im->curl, CURLOPT_WRITEDATA, &im->reply);
	if (cfg->inbound.user)
		curl_easy_setopt(im->curl, CURLOPT_USERNAME, cfg->inbound.user);
	if (im->password[0])
		curl_easy_setopt(im->curl, CURLOPT_PASSWORD, im->password);
	if (cfg->inbound.ca_file) {
		char *ca = NULL;

		if ((err = rk_config_path(cfg, cfg->inbound.ca_file, &ca)))
			return err;
		curl_easy_setopt(im->curl, CURLOPT_CAINFO, ca);
		free(ca); /* libcurl copies string options */
	}
	return RK_OK;
}

static void imap_close(struct imap *im)
{
	if (im->curl)
		curl_easy_cleanup(im->curl);
	free(im->base);
	free(im->box_url);
	rk_buf_release(&im->reply);
	memset(im->password, 0, sizeof(im->password));
}

/* One request: url, and a command (NULL: fetch the URL). */
static enum rk_err imap_do(struct imap *im, const char *url,
			   const char *command)
{
	CURLcode rc;

	rk_buf_reset(&im->reply);
	curl_easy_setopt(im->curl, CURLOPT_URL, url);
	curl_easy_setopt(im->curl, CURLOPT_CUSTOMREQUEST, command);
	rc = curl_easy_perform(im->curl);
	if (rc == CURLE_OK)
		return RK_OK;
	if (rc == CURLE_LOGIN_DENIED)
		return rk_fail(im->log, RK_ERR_TEMPFAIL,
			       "fetch-mail: %s refused the login", im->base);
	return rk_fail(im->log, RK_ERR_TEMPFAIL, "fetch-mail: %s%s%s: %s",
		       im->base, command ? ": " : "", command ? command : "",
		       curl_easy_strerror(rc));
}

/* The number after word in the reply, 0 when absent. */
static int64_t reply_number(const struct rk_buf *b, const char *word)
{
	const char *p = b->data ? strstr(b->data, word) : NULL;
	int64_t v = 0;

	if (!p)
		return 0;
	p += strlen(word);
	while (*p == ' ')
		p++;
	for (; *p >= '0' && *p <= '9' && v < (INT64_C(1) << 40); p++)
		v = v * 10 + (*p - '0');
	return v;
}

static int cmp_uid(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* The UIDs of "* SEARCH 1 2 3" above last, ascending (caller frees). */
static enum rk_err search_uids(const struct rk_buf *b, int64_t last,
			       int64_t **uids, size_t *n)
{
	const char *p = b->data ? strstr(b->data, "* SEARCH") : NULL;

	*uids = NULL;
	*n = 0;
	if (!p)
		return RK_OK;
	p += 8;
	while (*p && *p != '\r' && *p != '\n' && *n < IMAP_MAX_PER_PASS) {
		int64_t v = 0;
		bool digits = false;

		while (*p == ' ')
			p++;
		for (; *p >= '0' && *p <= '9' && v < (INT64_C(1) << 40); p++) {
			v = v * 10 + (*p - '0');
			digits = true;
		}
		if (!digits) {
			if (*p && *p != '\r' && *p != '\n')
				p++;
			continue;
		}
		if (v <= last)
			continue;
		if (rk_array_room((void **)uids, *n, sizeof(**uids)))
			return RK_ERR_NOMEM;
		(*uids)[(*n)++] = v;
	}
	if (*n > 1)
		qsort(*uids, *n, sizeof(**uids), cmp_uid);
	return RK_OK;
}

enum rk_err track_fetch_mail(struct rk_store *store,
			     const struct rk_config *cfg,
			     const struct rk_log *log,
			     struct track_intake_stats *stats)
{
	struct imap im;
	int64_t validity = 0, last = 0, server_validity, *uids = NULL;
	size_t nuids = 0;
	char cmd[512], url[2048];
	const char *box = cfg->inbound.mailbox;
	const char *crash = getenv("RENRAKU_TEST_IMAP_KILL_AFTER_STORE");
	enum rk_err err;

	if (!cfg->inbound.imap_url)
		return rk_fail(log, RK_ERR_CONFIG, "fetch-mail: no [inbound] imap_url");
	if ((err = imap_open(&im, cfg, log)))
		goto cleanup;
	if ((err = store_imap_state(store, box, &validity, &last)))
		goto cleanup;
	snprintf(cmd, sizeof(cmd), "STATUS \"%s\" (UIDVALIDITY UIDNEXT)", box);
	if ((err = imap_do(&im, im.base, cmd)))
		goto cleanup;
	server_validity = reply_number(&im.reply, "UIDVALIDITY");
	if (!server_validity) {
		err = rk_fail(log, RK_ERR_TEMPFAIL,
			      "fetch-mail: %s gave no UIDVALIDITY for %s",
			      im.base, box);
		goto cleanup;
	}
	if (server_validity != validity) {
		if (validity)
			rk_log_warn(log, "fetch-mail: %s: UIDVALIDITY changed "
					 "(%lld -> %lld): reading it again "
					 "(stored messages are recognised)",
				    box, (long long)validity,
				    (long long)server_validity);
		last = 0;
	}
	snprintf(cmd, sizeof(cmd), "UID SEARCH UID %lld:*", (long long)last + 1);
	if ((err = imap_do(&im, im.box_url, cmd)) ||
	    (err = search_uids(&im.reply, last, &uids, &nuids)))
		goto cleanup;
	for (size_t i = 0; i < nuids && !err; i++) {
		struct track_result res;

		snprintf(url, sizeof(url), "%s/;UID=%lld", im.box_url,
			 (long long)uids[i]);
		if ((err = imap_do(&im, url, NULL)))
			break;
		stats->seen++;
		if ((err = track_inbound(store, cfg, log, im.reply.data,
					 im.reply.len, im.reply.len, "imap",
					 &res)))
			break;
		if (res.duplicate)
			stats->duplicates++;
		else
			stats->stored++;
		if (!res.duplicate && res.ticket_id[0])
			stats->matched++;
		if (crash && *crash)
			raise(SIGKILL); /* tests: a crash before the UID is kept */
		if ((err = store_begin(store)))
			break;
		if ((err = store_imap_state_set(store, box, server_validity,
						uids[i])) ||
		    (err = store_commit(store))) {
			store_rollback(store);
			break;
		}
		if (cfg->inbound.imap_done)
			snprintf(cmd, sizeof(cmd), "UID MOVE %lld \"%s\"",
				 (long long)uids[i], cfg->inbound.imap_done);
		else
			snprintf(cmd, sizeof(cmd), "UID STORE %lld +FLAGS (\\Seen)",
				 (long long)uids[i]);
		if ((err = imap_do(&im, im.box_url, cmd)))
			break;
	}
	if (!err && server_validity != validity && !nuids) {
		/* remember the mailbox even when it held nothing */
		if (!(err = store_begin(store))) {
			if ((err = store_imap_state_set(store, box, server_validity,
							last)) ||
			    (err = store_commit(store)))
				store_rollback(store);
		}
	}
cleanup:
	free(uids);
	imap_close(&im);
	return err;
}
