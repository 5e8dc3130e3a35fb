/*
 * The HTTP client of include/renraku/http.h: a batch of GETs over
 * libcurl's multi interface.
 *
 * Limits a hostile server cannot talk us out of: the body cap is checked
 * in the write callback while bytes arrive (and from Content-Length before
 * they do), every redirect hop is held to the allowed protocols by curl's
 * CURLOPT_REDIR_PROTOCOLS_STR, the whole request has a deadline, and the
 * batch starts at most `concurrency` transfers and `per_host` per host at
 * a time (the rest wait here, not inside curl, so their deadline only
 * starts when they do).
 */
#include <curl/curl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "renraku/http.h"

#define HTTP_DEFAULT_TIMEOUT_MS 10000L
#define HTTP_DEFAULT_CONNECT_MS 5000L
#define HTTP_DEFAULT_CONCURRENCY 16
#define HTTP_DEFAULT_PER_HOST 4
#define HTTP_DEFAULT_MAX_BODY (1u << 20)
#define HTTP_MAX_HOST 256

struct rk_http {
	CURLM *multi;
	struct rk_http_options opt;
	struct curl_slist *resolve;
	char user_agent[64];
};

/* One transfer of a batch. */
struct http_xfer {
	CURL *easy;
	struct curl_slist *headers;
	struct rk_http_response *resp;
	struct rk_buf body;
	bool over_limit;
	bool started;
	bool done;
	char host[HTTP_MAX_HOST];
	long long retry_after_delta; /* -1 none */
	time_t retry_after_date;     /* 0 none */
	time_t date;                 /* the answer's Date header, 0 none */
};

/* In-flight count per host. */
struct http_host {
	char host[HTTP_MAX_HOST];
	size_t in_flight;
};

enum rk_err rk_http_new(struct rk_http **out, const struct rk_http_options *opt)
{
	struct rk_http *h;
	static const struct rk_http_options none;

	*out = NULL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return RK_ERR_INTERNAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return RK_ERR_NOMEM;
	h->opt = opt ? *opt : none;
	if (h->opt.timeout_ms <= 0)
		h->opt.timeout_ms = HTTP_DEFAULT_TIMEOUT_MS;
	if (h->opt.connect_timeout_ms <= 0)
		h->opt.connect_timeout_ms = h->opt.timeout_ms < HTTP_DEFAULT_CONNECT_MS
						    ? h->opt.timeout_ms
						    : HTTP_DEFAULT_CONNECT_MS;
	if (h->opt.max_redirects < 0)
		h->opt.max_redirects = 0;
	if (h->opt.concurrency == 0)
		h->opt.concurrency = HTTP_DEFAULT_CONCURRENCY;
	if (h->opt.per_host == 0)
		h->opt.per_host = HTTP_DEFAULT_PER_HOST;
	snprintf(h->user_agent, sizeof(h->user_agent), "renraku/%s", RK_VERSION);
	if (!h->opt.user_agent)
		h->opt.user_agent = h->user_agent;
	for (const char *const *r = h->opt.resolve; r && *r; r++) {
		struct curl_slist *l = curl_slist_append(h->resolve, *r);

		if (!l) {
			rk_http_free(h);
			return RK_ERR_NOMEM;
		}
		h->resolve = l;
	}
	h->multi = curl_multi_init();
	if (!h->multi) {
		rk_http_free(h);
		return RK_ERR_NOMEM;
	}
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS,
			  (long)h->opt.concurrency);
	*out = h;
	return RK_OK;
}

void rk_http_free(struct rk_http *h)
{
	if (!h)
		return;
	if (h->multi)
		curl_multi_cleanup(h->multi);
	curl_slist_free_all(h->resolve);
	free(h);
}

void rk_http_response_release(struct rk_http_response *r)
{
	if (!r)
		return;
	free(r->body);
	free(r->final_url);
	free(r->content_type);
	r->body = NULL;
	r->final_url = NULL;
	r->content_type = NULL;
	r->body_len = 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_xfer *x = arg;
	size_t n = size * nmemb;

	if (rk_buf_add(&x->body, data, n) != RK_OK) {
		x->over_limit = true;
		return 0; /* curl aborts the transfer: CURLE_WRITE_ERROR */
	}
	return n;
}

/* A header value starting after "Name:" if line is that header. */
static const char *header_value(const char *line, size_t len, const char *name,
				size_t *vlen)
{
	size_t nl = strlen(name);

	if (len <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
		return NULL;
	line += nl + 1;
	len -= nl + 1;
	while (len && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	while (len && (line[len - 1] == '\r' || line[len - 1] == '\n' ||
		       line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	*vlen = len;
	return line;
}

static time_t http_date(const char *v, size_t len)
{
	char text[128];
	time_t t;

	if (len == 0 || len >= sizeof(text))
		return 0;
	memcpy(text, v, len);
	text[len] = '\0';
	t = curl_getdate(text, NULL);
	return t > 0 ? t : 0;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_xfer *x = arg;
	size_t n = size * nmemb, vlen;
	const char *v;

	/* A new status line: the headers of an earlier hop no longer count. */
	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		x->retry_after_delta = -1;
		x->retry_after_date = 0;
		x->date = 0;
		return n;
	}
	if ((v = header_value(data, n, "Retry-After", &vlen))) {
		size_t i = 0;
		long long secs = 0;

		while (i < vlen && v[i] >= '0' && v[i] <= '9') {
			if (secs < 100000000000LL)
				secs = secs * 10 + (v[i] - '0');
			i++;
		}
		if (i > 0 && i == vlen) {
			x->retry_after_delta = secs;
		} else {
			x->retry_after_date = http_date(v, vlen);
		}
	} else if ((v = header_value(data, n, "Date", &vlen))) {
		x->date = http_date(v, vlen);
	}
	return n;
}

/* The scheme and host of url, checked against the options. */
static enum rk_err url_check(const struct rk_http *h, const char *url,
			     char host[HTTP_MAX_HOST], char *error, size_t errlen)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *hostpart = NULL;
	enum rk_err err = RK_OK;

	if (!u)
		return RK_ERR_NOMEM;
	if (!url || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &hostpart, 0) != CURLUE_OK) {
		snprintf(error, errlen, "not a valid URL");
		err = RK_ERR_INVAL;
		goto cleanup;
	}
	if (!rk_str_ieq(scheme, "https") &&
	    !(h->opt.allow_http && rk_str_ieq(scheme, "http"))) {
		snprintf(error, errlen, "scheme '%s' is not allowed", scheme);
		err = RK_ERR_INVAL;
		goto cleanup;
	}
	if (strlen(hostpart) >= HTTP_MAX_HOST) {
		snprintf(error, errlen, "host name too long");
		err = RK_ERR_INVAL;
		goto cleanup;
	}
	snprintf(host, HTTP_MAX_HOST, "%s", hostpart);
	rk_str_lower(host);
cleanup:
	curl_free(scheme);
	curl_free(hostpart);
	curl_url_cleanup(u);
	return err;
}

/* Add the extra CA bundle to the store curl has already filled with the
 * system's roots (CURLOPT_CAINFO would replace them). */
static CURLcode on_ssl_ctx(CURL *easy, void *ssl_ctx, void *arg)
{
	const char *ca_file = arg;
	X509_STORE *store = SSL_CTX_get_cert_store((SSL_CTX *)ssl_ctx);

	(void)easy;
	if (!store || X509_STORE_load_file(store, ca_file) != 1)
		return CURLE_SSL_CACERT_BADFILE;
	return CURLE_OK;
}

static enum rk_err xfer_setup(struct rk_http *h, struct http_xfer *x,
			      const struct rk_http_request *req)
{
	const char *protocols = h->opt.allow_http ? "http,https" : "https";
	size_t max = req->max_body ? req->max_body : HTTP_DEFAULT_MAX_BODY;
	CURL *e;

	rk_buf_init(&x->body, max);
	x->retry_after_delta = -1;
	x->easy = e = curl_easy_init();
	if (!e)
		return RK_ERR_NOMEM;
	if (req->accept) {
		char line[512];

		if (rk_str_has_ctl(req->accept, false) ||
		    (size_t)snprintf(line, sizeof(line), "Accept: %s",
				     req->accept) >= sizeof(line))
			return RK_ERR_INVAL;
		x->headers = curl_slist_append(NULL, line);
		if (!x->headers)
			return RK_ERR_NOMEM;
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
	}
	curl_easy_setopt(e, CURLOPT_URL, req->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, protocols);
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, protocols);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION,
			 h->opt.max_redirects > 0 ? 1L : 0L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)h->opt.max_redirects);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, h->opt.timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, h->opt.connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max);
	curl_easy_setopt(e, CURLOPT_USERAGENT, h->opt.user_agent);
	curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (h->opt.ca_file) {
		curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
		curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, (void *)h->opt.ca_file);
	}
	if (h->resolve)
		curl_easy_setopt(e, CURLOPT_RESOLVE, h->resolve);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	return RK_OK;
}

static enum rk_err map_curl(CURLcode rc, const struct http_xfer *x)
{
	switch (rc) {
	case CURLE_OK:
		return RK_OK;
	case CURLE_WRITE_ERROR:
		return x->over_limit ? RK_ERR_LIMIT : RK_ERR_TEMPFAIL;
	case CURLE_FILESIZE_EXCEEDED:
	case CURLE_TOO_MANY_REDIRECTS:
		return RK_ERR_LIMIT;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return RK_ERR_INVAL;
	case CURLE_OUT_OF_MEMORY:
		return RK_ERR_NOMEM;
	default:
		return RK_ERR_TEMPFAIL;
	}
}

/* Fill x->resp once curl is done with x. */
static enum rk_err xfer_finish(struct http_xfer *x, CURLcode rc,
			       const char *curl_error)
{
	struct rk_http_response *r = x->resp;
	char *s = NULL;
	long redirects = 0;

	r->err = map_curl(rc, x);
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_getinfo(x->easy, CURLINFO_REDIRECT_COUNT, &redirects);
	r->redirects = (int)redirects;
	if (curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &s) == CURLE_OK &&
	    s && !(r->final_url = rk_strdup(s)))
		return RK_ERR_NOMEM;
	s = NULL;
	if (curl_easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &s) == CURLE_OK &&
	    s && !(r->content_type = rk_strdup(s)))
		return RK_ERR_NOMEM;
	if (r->err == RK_OK) {
		r->body = rk_buf_detach(&x->body, &r->body_len);
		if (!r->body)
			return RK_ERR_NOMEM;
	}
	if (x->retry_after_delta >= 0) {
		r->retry_after = x->retry_after_delta;
	} else if (x->retry_after_date > 0) {
		/* The answer's own Date, else the moment it arrived. */
		time_t base = x->date > 0 ? x->date : (time_t)rk_now();
		long long d = (long long)x->retry_after_date - (long long)base;

		r->retry_after = d > 0 ? d : 0;
	}
	if (r->err == RK_ERR_LIMIT &&
	    (x->over_limit || rc == CURLE_FILESIZE_EXCEEDED))
		snprintf(r->error, sizeof(r->error), "body larger than %zu bytes",
			 x->body.max);
	else if (r->err != RK_OK)
		snprintf(r->error, sizeof(r->error), "%s",
			 curl_error && *curl_error ? curl_error
						   : curl_easy_strerror(rc));
	return RK_OK;
}

static struct http_host *host_slot(struct http_host *hosts, size_t *nhosts,
				   const char *host)
{
	for (size_t i = 0; i < *nhosts; i++)
		if (strcmp(hosts[i].host, host) == 0)
			return &hosts[i];
	snprintf(hosts[*nhosts].host, HTTP_MAX_HOST, "%s", host);
	hosts[*nhosts].in_flight = 0;
	return &hosts[(*nhosts)++];
}

enum rk_err rk_http_fetch(struct rk_http *h, const struct rk_http_request *reqs,
			  size_t n, struct rk_http_response *resps)
{
	struct http_xfer *xs = NULL;
	struct http_host *hosts = NULL;
	char (*errbufs)[CURL_ERROR_SIZE] = NULL;
	size_t nhosts = 0, in_flight = 0, remaining = 0, next = 0;
	enum rk_err err = RK_OK;

	for (size_t i = 0; i < n; i++) {
		memset(&resps[i], 0, sizeof(resps[i]));
		resps[i].retry_after = -1;
	}
	if (n == 0)
		return RK_OK;
	xs = calloc(n, sizeof(*xs));
	hosts = calloc(n, sizeof(*hosts));
	errbufs = calloc(n, sizeof(*errbufs));
	if (!xs || !hosts || !errbufs) {
		err = RK_ERR_NOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++) {
		struct http_xfer *x = &xs[i];

		x->resp = &resps[i];
		rk_buf_init(&x->body, 0);
		x->retry_after_delta = -1;
		resps[i].err = url_check(h, reqs[i].url, x->host, resps[i].error,
					 sizeof(resps[i].error));
		if (resps[i].err == RK_OK)
			resps[i].err = xfer_setup(h, x, &reqs[i]);
		if (resps[i].err == RK_ERR_NOMEM) {
			err = RK_ERR_NOMEM;
			goto cleanup;
		}
		if (resps[i].err != RK_OK) {
			if (!resps[i].error[0])
				snprintf(resps[i].error, sizeof(resps[i].error),
					 "request not allowed");
			x->done = true;
			continue;
		}
		curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, errbufs[i]);
		remaining++;
	}

	while (remaining > 0) {
		int running = 0, queued = 0;
		CURLMsg *msg;

		/* Start what the bounds allow, in request order. */
		while (next < n && (xs[next].started || xs[next].done))
			next++;
		for (size_t i = next; i < n && in_flight < h->opt.concurrency; i++) {
			struct http_xfer *x = &xs[i];
			struct http_host *hs;

			if (x->started || x->done)
				continue;
			hs = host_slot(hosts, &nhosts, x->host);
			if (hs->in_flight >= h->opt.per_host)
				continue;
			if (curl_multi_add_handle(h->multi, x->easy) != CURLM_OK) {
				err = RK_ERR_NOMEM;
				goto cleanup;
			}
			x->started = true;
			hs->in_flight++;
			in_flight++;
		}
		if (curl_multi_perform(h->multi, &running) != CURLM_OK) {
			err = RK_ERR_INTERNAL;
			goto cleanup;
		}
		while ((msg = curl_multi_info_read(h->multi, &queued))) {
			struct http_xfer *x = NULL;
			size_t idx;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
					  (char **)&x);
			idx = (size_t)(x - xs);
			err = xfer_finish(x, msg->data.result, errbufs[idx]);
			curl_multi_remove_handle(h->multi, x->easy);
			x->done = true;
			host_slot(hosts, &nhosts, x->host)->in_flight--;
			in_flight--;
			remaining--;
			if (err != RK_OK)
				goto cleanup;
		}
		if (remaining > 0 && running > 0 &&
		    curl_multi_poll(h->multi, NULL, 0, 1000, NULL) != CURLM_OK) {
			err = RK_ERR_INTERNAL;
			goto cleanup;
		}
	}

cleanup:
	for (size_t i = 0; xs && i < n; i++) {
		struct http_xfer *x = &xs[i];

		if (x->easy) {
			if (x->started && !x->done)
				curl_multi_remove_handle(h->multi, x->easy);
			curl_easy_cleanup(x->easy);
		}
		if (!x->done && err != RK_OK) {
			resps[i].err = err;
			snprintf(resps[i].error, sizeof(resps[i].error), "%s",
				 rk_strerror(err));
		}
		curl_slist_free_all(x->headers);
		rk_buf_release(&x->body);
	}
	free(xs);
	free(hosts);
	free(errbufs);
	return err;
}
