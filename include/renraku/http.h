/*
 * HTTP client: a batch of GET requests run concurrently over libcurl's
 * multi interface, with the limits hostile servers need (body size, time,
 * redirects, https only).  Used by the network contact sources (RDAP,
 * security.txt), the RDAP bootstrap update and key lookups (WKD).
 *
 * Owns: the libcurl multi handle and its connection cache.  May call:
 * core, libcurl.  Called by resolve (sources), mail (key lookups), the
 * command line (`renraku bootstrap update`).
 *
 * A client is used by one thread at a time.  Nothing here reads or
 * writes the store.
 */
#ifndef RENRAKU_HTTP_H
#define RENRAKU_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "renraku/core.h"

struct rk_http_options {
	const char *ca_file;     /* extra CA bundle (PEM) for HTTPS, NULL = system's only */
	long timeout_ms;         /* whole request, connect included; 0 = 10000 */
	long connect_timeout_ms; /* 0 = min(timeout_ms, 5000) */
	int max_redirects;       /* hops followed; 0 = do not follow */
	bool allow_http;         /* false: https:// only, for the first URL and every hop */
	size_t concurrency;      /* requests in flight at once over the batch; 0 = 16 */
	size_t per_host;         /* in flight per host; 0 = 4 */
	const char *user_agent;  /* NULL = "renraku/VERSION" */
	/* Tests: "HOST:PORT:ADDRESS" entries (curl's CURLOPT_RESOLVE), NULL-ended;
	 * NULL = none.  Borrowed for the client's lifetime. */
	const char *const *resolve;
};

struct rk_http_request {
	const char *url;    /* borrowed until rk_http_fetch returns */
	const char *accept; /* Accept header value, NULL = none */
	size_t max_body;    /* larger bodies fail with RK_ERR_LIMIT; 0 = 1 MiB */
};

struct rk_http_response {
	/* RK_OK: an HTTP answer came (any status, see `status`).
	 * RK_ERR_TEMPFAIL: no answer (timeout, refused, DNS, TLS handshake,
	 *   connection reset): worth trying again later.
	 * RK_ERR_LIMIT: the body exceeded max_body, or too many redirects.
	 * RK_ERR_INVAL: the URL, or a redirect, is not allowed (not https, bad
	 *   syntax).
	 * RK_ERR_NOMEM. */
	enum rk_err err;
	long status;          /* HTTP status of the last hop, 0 if none */
	char *body;           /* NUL-terminated (the NUL not counted), NULL if none */
	size_t body_len;
	char *final_url;      /* URL of the last hop (after redirects), NULL if none */
	char *content_type;   /* NULL if none */
	long long retry_after; /* seconds from a Retry-After header (delta or
				* HTTP-date, relative to the answer's time),
				* -1 if none */
	int redirects;        /* hops followed */
	char error[256];      /* what went wrong, for logs, "" if nothing */
};

struct rk_http;

/* A client.  opt is copied (its strings borrowed for the client's
 * lifetime).  *out is the caller's; free with rk_http_free. */
enum rk_err rk_http_new(struct rk_http **out, const struct rk_http_options *opt);
void rk_http_free(struct rk_http *h);

/* Run n requests concurrently (bounded by the options) and wait for all.
 * resps[] is the caller's, n long; each is filled (zeroed first) and must
 * be released with rk_http_response_release, whatever its err.  Returns
 * RK_OK when every request got its own outcome in resps[i].err, or a
 * batch-wide error (RK_ERR_NOMEM) after which resps[] are still safe to
 * release. */
enum rk_err rk_http_fetch(struct rk_http *h, const struct rk_http_request *reqs,
			  size_t n, struct rk_http_response *resps);
void rk_http_response_release(struct rk_http_response *r);

#endif /* RENRAKU_HTTP_H */
