/* The HTTP side of `renraku serve`: libmicrohttpd's handler, the /v1 API,
 * the acknowledgement pages, /healthz, /readyz and /metrics.  Every
 * request that touches the database holds ctx->db_lock on the API's own
 * connection; no request runs a pipeline pass (serve_wake asks the
 * scheduler for one). */
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve.h"
#include "renraku/ingest.h"
#include "renraku/track.h"

/* A form token of an acknowledgement page is good for this long. */
#define ACK_FORM_TTL 3600
/* Bytes of a note sent from an acknowledgement page or the API. */
#define ACK_NOTE_MAX 4000
/* Largest body of a request other than POST /v1/reports. */
#define SMALL_BODY_MAX 16384

enum route {
	R_OTHER, R_HEALTHZ, R_READYZ, R_METRICS, R_REPORTS_POST, R_REPORT_GET,
	R_TICKETS, R_TICKET_GET, R_TICKET_ACK, R_ACK_PAGE, R_ACK_POST
};
static const char *const route_names[SERVE_ROUTES] = {
	"other", "healthz", "readyz", "metrics", "reports_post", "report_get",
	"tickets_list", "ticket_get", "ticket_ack", "ack_page", "ack_post", "-"};
static const unsigned statuses[SERVE_STATUSES] = {
	200, 202, 400, 401, 403, 404, 405, 409, 413, 415, 429, 500, 501, 503,
	0 /* other */};

struct request {
	enum route route;
	char path_id[64];       /* {id} or {token} of the path */
	struct rk_buf body;
	bool too_large;         /* the body went over its limit */
	bool answered;          /* a response was queued early */
	size_t limit;           /* bytes of body kept at most */
	size_t dropped;         /* bytes read past the limit */
	unsigned status;
	char reporter[257];     /* the token's reporter, "" = none */
	char scopes[64];
	struct timespec start;
	char method[8];
	char path[128];         /* for the access log, control bytes replaced */
};

/* ------------------------------------------------------------ replies */

static enum MHD_Result reply(struct request *rq, struct MHD_Connection *conn,
			     unsigned status, const char *type, const char *body,
			     size_t len, bool page)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", type);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (page) {
		MHD_add_response_header(
			resp, "Content-Security-Policy",
			"default-src 'none'; style-src 'unsafe-inline'; "
			"form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
		MHD_add_response_header(resp, "X-Frame-Options", "DENY");
		MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	}
	if (status == 401)
		MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
	rq->status = status;
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Reply with doc (consumed) as JSON. */
static enum MHD_Result reply_json(struct request *rq, struct MHD_Connection *conn,
				  unsigned status, json_t *doc)
{
	char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	enum MHD_Result ret;

	json_decref(doc);
	if (!text)
		return reply(rq, conn, 500, "application/json",
			     "{\"error\":\"out of memory\"}", 25, false);
	ret = reply(rq, conn, status, "application/json", text, strlen(text), false);
	free(text);
	return ret;
}

static enum MHD_Result reply_error(struct request *rq, struct MHD_Connection *conn,
				   unsigned status, const char *message)
{
	return reply_json(rq, conn, status,
			  json_pack("{s:{s:i, s:s}}", "error", "status", (int)status,
				    "message", message));
}

/* ------------------------------------------------------------ routing */

/* Route of method + url; the {id} goes to rq->path_id.  405 when the path
 * is known but not the method (*bad_method). */
static enum route route_of(const char *method, const char *url,
			   char id[64], bool *bad_method)
{
	bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	bool post = strcmp(method, "POST") == 0;
	const char *rest;
	size_t n;

	*bad_method = false;
	id[0] = '\0';
	if (strcmp(url, "/healthz") == 0 || strcmp(url, "/readyz") == 0 ||
	    strcmp(url, "/metrics") == 0) {
		*bad_method = !get;
		return url[1] == 'h' ? R_HEALTHZ : url[1] == 'r' ? R_READYZ : R_METRICS;
	}
	if (strcmp(url, "/v1/reports") == 0) {
		*bad_method = !post;
		return R_REPORTS_POST;
	}
	if (strcmp(url, "/v1/tickets") == 0) {
		*bad_method = !get;
		return R_TICKETS;
	}
	if (strncmp(url, "/v1/reports/", 12) == 0 ||
	    strncmp(url, "/v1/tickets/", 12) == 0 || strncmp(url, "/ack/", 5) == 0) {
		bool ack = url[1] == 'a';

		rest = url + (ack ? 5 : 12);
		n = strcspn(rest, "/");
		if (n == 0 || n >= 64)
			return R_OTHER;
		memcpy(id, rest, n);
		id[n] = '\0';
		rest += n;
		if (ack && !*rest)
			return post ? R_ACK_POST : (*bad_method = !get, R_ACK_PAGE);
		if (url[4] == 'r' && !*rest) {
			*bad_method = !get;
			return R_REPORT_GET;
		}
		if (url[4] == 't' && !*rest) {
			*bad_method = !get;
			return R_TICKET_GET;
		}
		if (url[4] == 't' && strcmp(rest, "/ack") == 0) {
			*bad_method = !post;
			return R_TICKET_ACK;
		}
	}
	return R_OTHER;
}

/* The scope a route needs, NULL = none (public). */
static const char *route_scope(enum route r)
{
	switch (r) {
	case R_REPORTS_POST: return "submit";
	case R_REPORT_GET:
	case R_TICKETS:
	case R_TICKET_GET: return "read";
	case R_TICKET_ACK: return "admin";
	default: return NULL;
	}
}

/* Count one request against the token's minute; false when over. */
static bool rate_ok(struct serve_ctx *ctx, const char *hash, long long limit)
{
	int64_t minute = rk_now() / 60;
	struct serve_rate_slot *slot = NULL, *oldest = &ctx->rate[0];
	bool ok;

	if (limit <= 0)
		return true;
	pthread_mutex_lock(&ctx->metrics_lock);
	for (size_t i = 0; i < SERVE_RATE_SLOTS && !slot; i++) {
		if (strcmp(ctx->rate[i].hash, hash) == 0)
			slot = &ctx->rate[i];
		else if (ctx->rate[i].window < oldest->window)
			oldest = &ctx->rate[i];
	}
	if (!slot) {
		slot = oldest;
		memcpy(slot->hash, hash, 65);
		slot->window = minute;
		slot->count = 0;
	}
	if (slot->window != minute) {
		slot->window = minute;
		slot->count = 0;
	}
	ok = ++slot->count <= limit;
	pthread_mutex_unlock(&ctx->metrics_lock);
	return ok;
}

/* Check the bearer token for the route's scope: 0 = allowed, else the
 * status to answer (401, 403, 429). */
static unsigned authorize(struct serve_ctx *ctx, struct MHD_Connection *conn,
			  struct request *rq, long long rate)
{
	const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						       "Authorization");
	const char *scope = route_scope(rq->route);
	char hash[65], stored[65];
	bool found = false;
	enum rk_err err;

	if (!scope)
		return 0;
	if (!auth || strncasecmp(auth, "Bearer ", 7) != 0 || strlen(auth + 7) > 200 ||
	    track_token_hash(auth + 7, hash) != RK_OK)
		return 401;
	pthread_mutex_lock(&ctx->db_lock);
	err = store_api_token_find(ctx->store, hash, stored, rq->reporter,
				   rq->scopes, &found);
	if (!err && found) {
		/* a write a minute at most per token; its failure (a busy
		 * database) does not refuse the request */
		store_set_now(ctx->store, rk_now());
		(void)store_api_token_touch(ctx->store, hash);
	}
	pthread_mutex_unlock(&ctx->db_lock);
	if (err)
		return 503;
	/* found by its hash; the bytes compared again in constant time */
	if (!found || strlen(stored) != 64 || CRYPTO_memcmp(stored, hash, 64) != 0) {
		rq->reporter[0] = '\0';
		return 401;
	}
	if (!rate_ok(ctx, hash, rate))
		return 429;
	if (!api_scopes_allow(rq->scopes, scope))
		return 403;
	return 0;
}

/* ------------------------------------------------------------ reports */

/* The format of a submission: ?format= (as --format), else the
 * Content-Type.  false = unknown (415). */
static bool submission_format(struct MHD_Connection *conn,
			      struct ingest_options *opts, char arg[64])
{
	const char *f = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "format");
	const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     "Content-Type");
	static const struct {
		const char *type;
		const char *format;
	} types[] = {
		{"application/json", "intelmq"},  {"application/x-ndjson", "intelmq"},
		{"application/jsonl", "intelmq"}, {"application/x-jsonlines", "intelmq"},
		{"message/rfc822", "arf"},        {"message/feedback-report", "arf"},
		{"application/xml", "iodef"},     {"text/xml", "iodef"},
		{"application/iodef+xml", "iodef"}, {"text/csv", "auto"},
		{"application/octet-stream", "auto"}, {"text/plain", "auto"},
	};
	char name[64];

	arg[0] = '\0';
	if (f) {
		const char *colon = strchr(f, ':');
		size_t n = colon ? (size_t)(colon - f) : strlen(f);

		if (n >= sizeof(name))
			return false;
		memcpy(name, f, n);
		name[n] = '\0';
		/* a mapping file is the operator's: csv:MAPPING is not taken
		 * from the network */
		if (colon) {
			if (strcmp(name, "shadowserver") != 0 || strlen(colon + 1) >= 64 ||
			    !rk_name_safe(colon + 1))
				return false;
			memcpy(arg, colon + 1, strlen(colon + 1) + 1);
			opts->format_arg = arg;
		}
		if (strcmp(name, "csv") == 0)
			return false;
		return ingest_format_lookup(strcmp(name, "xarf") == 0 ? "arf" : name,
					    &opts->format);
	}
	if (!ct || !*ct)
		return ingest_format_lookup("auto", &opts->format);
	for (size_t i = 0; i < RK_ARRAY_LEN(types); i++) {
		size_t n = strlen(types[i].type);

		if (strncasecmp(ct, types[i].type, n) == 0 &&
		    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' '))
			return ingest_format_lookup(types[i].format, &opts->format);
	}
	return false;
}

static enum MHD_Result post_report(struct serve_ctx *ctx, struct MHD_Connection *conn,
				   struct request *rq)
{
	struct ingest_options opts;
	struct ingest_result res;
	char arg[64];
	json_t *doc, *errors;
	unsigned status = 202;
	enum rk_err err;

	memset(&opts, 0, sizeof(opts));
	memset(&res, 0, sizeof(res));
	if (!submission_format(conn, &opts, arg))
		return reply_error(rq, conn, 415, "unknown format: give ?format= (auto, "
				   "intelmq, shadowserver[:TYPE], arf, iodef) or a known "
				   "Content-Type");
	opts.reporter = rq->reporter;
	opts.now = rk_now();
	pthread_mutex_lock(&ctx->db_lock);
	pthread_rwlock_rdlock(&ctx->cfg_lock);
	store_set_now(ctx->store, opts.now);
	err = ingest_buffer(ctx->store, &ctx->app->cfg, &ctx->http_log, &opts, "http",
			    rq->body.data ? rq->body.data : "", rq->body.len, &res);
	pthread_rwlock_unlock(&ctx->cfg_lock);
	pthread_mutex_unlock(&ctx->db_lock);
	if (err == RK_ERR_LIMIT)
		status = 413;
	else if (err == RK_ERR_PARSE || (!err && res.events == 0 &&
					 res.duplicates == 0 && res.rejected > 0))
		status = 400;
	else if (err == RK_ERR_BUSY)
		status = 503;
	else if (err)
		status = 500;
	errors = json_array();
	for (size_t i = 0; errors && i < res.nerrors; i++)
		json_array_append_new(errors,
				      json_pack("{s:I, s:s}", "line",
						(json_int_t)res.errors[i].line, "reason",
						res.errors[i].reason ? res.errors[i].reason : ""));
	doc = json_pack("{s:I, s:s?, s:s, s:I, s:I, s:I, s:o, s:b}", "report_id",
			(json_int_t)(res.nfiles ? res.files[0].report_id : 0), "format",
			res.nfiles ? res.files[0].format : NULL, "reporter", rq->reporter,
			"events", (json_int_t)res.events, "duplicates",
			(json_int_t)res.duplicates, "rejected", (json_int_t)res.rejected,
			"errors", errors ? errors : json_array(), "errors_truncated",
			res.errors_truncated);
	if (doc && status >= 500)
		json_object_set_new(doc, "error", json_string(rk_strerror(err)));
	ingest_result_release(&res);
	if (status == 202)
		serve_wake(ctx);
	return reply_json(rq, conn, status, doc);
}

static enum MHD_Result get_report(struct serve_ctx *ctx, struct MHD_Connection *conn,
				  struct request *rq)
{
	struct store_report_row r;
	char *end = NULL, at[RK_TIME_TEXT];
	long long id = strtoll(rq->path_id, &end, 10);
	enum rk_err err;
	json_t *doc;

	if (!end || *end || id <= 0)
		return reply_error(rq, conn, 404, "no such report");
	pthread_mutex_lock(&ctx->db_lock);
	err = store_report_get(ctx->store, id, &r);
	pthread_mutex_unlock(&ctx->db_lock);
	if (err == RK_ERR_NOTFOUND)
		return reply_error(rq, conn, 404, "no such report");
	if (err)
		return reply_error(rq, conn, 503, rk_strerror(err));
	rk_time_format_iso(r.received_at, at);
	doc = json_pack("{s:I, s:s, s:s?, s:s?, s:s?, s:I, s:I, s:I}", "id",
			(json_int_t)r.id, "received_at", at, "format", r.format,
			"source", r.source_name, "reporter", r.reporter, "events",
			(json_int_t)r.events, "duplicates", (json_int_t)r.duplicates,
			"rejected", (json_int_t)r.rejected);
	store_report_row_release(&r);
	return reply_json(rq, conn, 200, doc);
}

/* ------------------------------------------------------------ tickets */

/* The cursor of GET /v1/tickets: opaque to clients; inside, the hex of
 * "CREATED_AT:ID" of the last ticket of the page before. */
#define CURSOR_MAX 160
#define TICKETS_PAGE_MAX 1000

static void cursor_make(int64_t created_at, const char *id, char out[CURSOR_MAX + 1])
{
	char plain[CURSOR_MAX / 2 + 1];
	int n = snprintf(plain, sizeof(plain), "%lld:%s", (long long)created_at, id);

	out[0] = '\0';
	if (n < 0 || (size_t)n >= sizeof(plain))
		return;
	for (int i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", (unsigned char)plain[i]);
}

/* false when the cursor is not one cursor_make made */
static bool cursor_parse(const char *cursor, int64_t *created_at, char id[64])
{
	char plain[CURSOR_MAX / 2 + 1], *colon, *end = NULL;
	size_t len = strlen(cursor), n = len / 2;
	long long at;

	if (len == 0 || len % 2 || len > CURSOR_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned v = 0;

		for (size_t k = 0; k < 2; k++) {
			char c = cursor[2 * i + k];

			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v |= (unsigned)(c - 'a' + 10);
			else
				return false;
		}
		plain[i] = (char)v;
	}
	plain[n] = '\0';
	if (strlen(plain) != n || !(colon = strchr(plain, ':')) || colon == plain)
		return false;
	*colon = '\0';
	at = strtoll(plain, &end, 10);
	if (!end || *end || at < 0 || strlen(colon + 1) == 0 ||
	    strlen(colon + 1) >= 64 || !rk_name_safe(colon + 1))
		return false;
	*created_at = at;
	memcpy(id, colon + 1, strlen(colon + 1) + 1);
	return true;
}

static enum MHD_Result list_tickets(struct serve_ctx *ctx, struct MHD_Connection *conn,
				    struct request *rq)
{
	const char *state = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "state");
	const char *since = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "since");
	const char *lim = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit");
	const char *cursor = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "cursor");
	struct store_ticket *rows = NULL;
	size_t n = 0, shown;
	int64_t since_t = 0, before_at = 0;
	long long limit = 100;
	char *end = NULL, before_id[64], next[CURSOR_MAX + 1];
	json_t *arr, *doc;
	enum rk_err err;

	if (lim && (limit = strtoll(lim, &end, 10), !end || *end || end == lim ||
		    limit < 1))
		return reply_error(rq, conn, 400, "limit is a number from 1 (at most "
				   "1000 are answered)");
	if (limit > TICKETS_PAGE_MAX)
		limit = TICKETS_PAGE_MAX;
	if (since && rk_time_parse(since, &since_t) != RK_OK)
		return reply_error(rq, conn, 400, "since is a time like 2026-12-01T10:00:00Z");
	if (state && (strlen(state) > 32 || !rk_name_safe(state)))
		return reply_error(rq, conn, 400, "bad state");
	if (cursor && *cursor && !cursor_parse(cursor, &before_at, before_id))
		return reply_error(rq, conn, 400, "bad cursor: pass the next_cursor "
				   "of the page before");
	arr = json_array();
	next[0] = '\0';
	pthread_mutex_lock(&ctx->db_lock);
	pthread_rwlock_rdlock(&ctx->cfg_lock);
	/* one row more than the page tells whether another page follows */
	err = store_tickets_page(ctx->store, state && *state ? state : NULL, since_t,
				 before_at, cursor && *cursor ? before_id : NULL,
				 (size_t)limit + 1, &rows, &n);
	shown = n > (size_t)limit ? (size_t)limit : n;
	for (size_t i = 0; !err && arr && i < shown; i++)
		json_array_append_new(arr, ticket_json(ctx->store, &ctx->app->cfg,
						       &rows[i], false));
	if (!err && n > shown)
		cursor_make(rows[shown - 1].created_at, rows[shown - 1].id, next);
	pthread_rwlock_unlock(&ctx->cfg_lock);
	pthread_mutex_unlock(&ctx->db_lock);
	doc = json_pack("{s:o, s:s?, s:I}", "tickets", arr ? arr : json_array(),
			"next_cursor", next[0] ? next : NULL, "limit", (json_int_t)limit);
	store_tickets_free(rows, n);
	if (err) {
		json_decref(doc);
		return reply_error(rq, conn, 503, rk_strerror(err));
	}
	return reply_json(rq, conn, 200, doc);
}

static enum MHD_Result get_ticket(struct serve_ctx *ctx, struct MHD_Connection *conn,
				  struct request *rq)
{
	struct store_ticket t;
	json_t *doc = NULL;
	enum rk_err err;

	pthread_mutex_lock(&ctx->db_lock);
	pthread_rwlock_rdlock(&ctx->cfg_lock);
	err = store_ticket_get(ctx->store, rq->path_id, &t);
	if (!err) {
		doc = ticket_json(ctx->store, &ctx->app->cfg, &t, true);
		store_ticket_release(&t);
	}
	pthread_rwlock_unlock(&ctx->cfg_lock);
	pthread_mutex_unlock(&ctx->db_lock);
	if (err == RK_ERR_NOTFOUND)
		return reply_error(rq, conn, 404, "no such ticket");
	if (err)
		return reply_error(rq, conn, 503, rk_strerror(err));
	return reply_json(rq, conn, 200, doc);
}

/* Status of an acknowledgement error. */
static unsigned ack_status(enum rk_err err)
{
	return err == RK_ERR_NOTFOUND     ? 404
	       : err == RK_ERR_TRANSITION ? 409
	       : err == RK_ERR_INVAL      ? 400
	       : err == RK_ERR_BUSY       ? 503
					  : 500;
}

static enum MHD_Result ack_ticket(struct serve_ctx *ctx, struct MHD_Connection *conn,
				  struct request *rq)
{
	json_error_t jerr;
	json_t *body = json_loadb(rq->body.data ? rq->body.data : "", rq->body.len, 0, &jerr);
	const char *status = body ? json_string_value(json_object_get(body, "status")) : NULL;
	const char *note = body ? json_string_value(json_object_get(body, "note")) : NULL;
	enum track_ack_status st;
	json_t *doc;
	char actor[300];
	enum rk_err err;

	if (!status || track_ack_status_parse(status, &st) != RK_OK ||
	    (note && strlen(note) > ACK_NOTE_MAX)) {
		json_decref(body);
		return reply_error(rq, conn, 400, "want {\"status\": \"received\"|"
				   "\"resolved\"|\"disputed\", \"note\": TEXT}");
	}
	snprintf(actor, sizeof(actor), "api:%s", rq->reporter);
	pthread_mutex_lock(&ctx->db_lock);
	pthread_rwlock_rdlock(&ctx->cfg_lock);
	err = track_ack(ctx->store, &ctx->app->cfg, &ctx->http_log, rq->path_id, st,
			note, actor, rk_now());
	pthread_rwlock_unlock(&ctx->cfg_lock);
	pthread_mutex_unlock(&ctx->db_lock);
	doc = err ? NULL
		  : json_pack("{s:s, s:s}", "ticket", rq->path_id, "status", status);
	json_decref(body);
	if (err) {
		rk_log_warn(&ctx->http_log, "ticket %s: ack: %s", rq->path_id,
			    rk_strerror(err));
		return reply_error(rq, conn, ack_status(err), rk_strerror(err));
	}
	return reply_json(rq, conn, 200, doc);
}

/* ------------------------------------------------------------ ack pages */

struct page_text {
	const char *lang, *title, *intro, *what, *when, *events, *note, *received,
		*resolved, *disputed, *done, *gone, *stale;
};

static const struct page_text page_texts[] = {
	{"en", "Incident notification", "Please tell us what became of this notice.",
	 "Type", "Notified", "Events", "Note (optional)", "Received",
	 "Resolved", "Not ours / false positive",
	 "Thank you: your answer is recorded.",
	 "This link is not known, or the ticket is closed.",
	 "This form has expired or was sent before: open the link again."},
	{"ja", "インシデント通知", "この通知への対応状況をお知らせください。",
	 "種別", "通知日時", "イベント数", "備考（任意）", "受領しました",
	 "対応済み", "当組織の管理外／誤検知",
	 "ありがとうございました。回答を記録しました。",
	 "このリンクは無効か、チケットは終了しています。",
	 "このフォームは期限切れか送信済みです。リンクを開き直してください。"},
};

static const struct page_text *page_lang(const char *lang)
{
	for (size_t i = 0; lang && i < RK_ARRAY_LEN(page_texts); i++)
		if (strcmp(page_texts[i].lang, lang) == 0)
			return &page_texts[i];
	return &page_texts[0];
}

/* Append s to b with HTML escaping. */
static enum rk_err add_html(struct rk_buf *b, const char *s)
{
	enum rk_err err = RK_OK;

	for (; s && *s && !err; s++) {
		switch (*s) {
		case '<': err = rk_buf_adds(b, "&lt;"); break;
		case '>': err = rk_buf_adds(b, "&gt;"); break;
		case '&': err = rk_buf_adds(b, "&amp;"); break;
		case '"': err = rk_buf_adds(b, "&quot;"); break;
		case '\'': err = rk_buf_adds(b, "&#39;"); break;
		default: err = rk_buf_add(b, s, 1);
		}
	}
	return err;
}

/* form token = EXPIRY "." hex(HMAC-SHA256(secret, token_hash "|" EXPIRY)) */
static enum rk_err form_token(const char secret[65], const char *token_hash,
			      long long expiry, char out[96])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char msg[128];
	int n = snprintf(msg, sizeof(msg), "%s|%lld", token_hash, expiry);
	int at = snprintf(out, 96, "%lld.", expiry);

	if (n < 0 || (size_t)n >= sizeof(msg) || at < 0 ||
	    !HMAC(EVP_sha256(), secret, 64, (const unsigned char *)msg, (size_t)n, mac,
		  &len) || len != 32 || at + 65 > 96)
		return RK_ERR_INTERNAL;
	for (unsigned int i = 0; i < len; i++)
		snprintf(out + at + 2 * i, 3, "%02x", mac[i]);
	return RK_OK;
}

static enum MHD_Result page(struct request *rq, struct MHD_Connection *conn,
			    unsigned status, const struct page_text *tx,
			    struct rk_buf *body)
{
	struct rk_buf html;
	enum MHD_Result ret;
	bool bad;

	rk_buf_init(&html, 1 << 20);
	bad = rk_buf_addf(&html,
			  "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
			  "<meta name=\"viewport\" content=\"width=device-width\">"
			  "<title>%s</title><style>"
			  "body{font-family:sans-serif;max-width:36em;margin:2em auto;"
			  "padding:0 1em;color:#222}table{border-collapse:collapse}"
			  "td,th{text-align:left;padding:.2em .8em .2em 0}"
			  "textarea{width:100%%;height:5em}"
			  "button{margin:.4em .4em 0 0;padding:.5em 1em}"
			  "</style></head><body><h1>%s</h1>\n",
			  tx->lang, tx->title, tx->title) ||
	      rk_buf_add(&html, body->data ? body->data : "", body->len) ||
	      rk_buf_adds(&html, "</body></html>\n");
	ret = bad ? reply(rq, conn, 500, "text/plain", "error\n", 6, true)
		  : reply(rq, conn, status, "text/html; charset=utf-8", html.data,
			  html.len, true);
	rk_buf_release(&html);
	return ret;
}

static enum MHD_Result page_message(struct request *rq, struct MHD_Connection *conn,
				    unsigned status, const struct page_text *tx,
				    const char *text)
{
	struct rk_buf b;
	enum MHD_Result ret;

	rk_buf_init(&b, 4096);
	if (rk_buf_adds(&b, "<p>") || add_html(&b, text) || rk_buf_adds(&b, "</p>\n"))
		b.len = 0;
	ret = page(rq, conn, status, tx, &b);
	rk_buf_release(&b);
	return ret;
}

/* The ticket an acknowledgement token stands for (its hash to hash). */
static enum rk_err ack_lookup(struct serve_ctx *ctx, const char *token,
			      char hash[65], struct store_ticket *t)
{
	char stored[65], id[32];
	bool found = false;
	enum rk_err err;

	if (strlen(token) != TRACK_TOKEN_HEX - 1 || track_token_hash(token, hash))
		return RK_ERR_NOTFOUND;
	if ((err = store_ack_token_find(ctx->store, hash, stored, id, &found)))
		return err;
	if (!found || CRYPTO_memcmp(stored, hash, 64) != 0)
		return RK_ERR_NOTFOUND;
	return store_ticket_get(ctx->store, id, t);
}

static enum MHD_Result ack_page(struct serve_ctx *ctx, struct MHD_Connection *conn,
				struct request *rq)
{
	struct store_ticket t;
	char hash[65], secret[65], ft[96], when[RK_TIME_TEXT];
	const struct page_text *tx = page_lang(NULL);
	struct rk_buf b;
	enum MHD_Result ret;
	enum rk_err err;
	bool bad;

	memset(&t, 0, sizeof(t));
	pthread_mutex_lock(&ctx->db_lock);
	store_set_now(ctx->store, rk_now());
	err = ack_lookup(ctx, rq->path_id, hash, &t);
	if (!err)
		err = store_serve_secret(ctx->store, secret);
	pthread_mutex_unlock(&ctx->db_lock);
	if (err == RK_ERR_NOTFOUND)
		return page_message(rq, conn, 404, tx, tx->gone);
	if (err)
		return page_message(rq, conn, 503, tx, rk_strerror(err));
	tx = page_lang(t.lang);
	rk_time_format_iso(t.notified_at ? t.notified_at : t.created_at, when);
	rk_buf_init(&b, 1 << 16);
	/* what, when and how many: nothing of another organization */
	bad = form_token(secret, hash, (long long)rk_now() + ACK_FORM_TTL, ft) ||
	      rk_buf_adds(&b, "<p>") || add_html(&b, tx->intro) ||
	      rk_buf_adds(&b, "</p>\n<table><tr><th>#</th><td>") ||
	      add_html(&b, t.id) || rk_buf_adds(&b, "</td></tr><tr><th>") ||
	      add_html(&b, tx->what) || rk_buf_adds(&b, "</th><td>") ||
	      add_html(&b, t.template_name) || rk_buf_adds(&b, "</td></tr><tr><th>") ||
	      add_html(&b, tx->when) ||
	      rk_buf_addf(&b, "</th><td>%s</td></tr><tr><th>", when) ||
	      add_html(&b, tx->events) ||
	      rk_buf_addf(&b, "</th><td>%lld</td></tr></table>\n"
			  "<form method=\"post\"><input type=\"hidden\" name=\"form\" "
			  "value=\"%s\"><p><label for=\"note\">", t.event_count, ft) ||
	      add_html(&b, tx->note) ||
	      rk_buf_adds(&b, "</label><br><textarea id=\"note\" name=\"note\" "
			  "maxlength=\"4000\"></textarea></p>\n"
			  "<button type=\"submit\" name=\"status\" value=\"received\" "
			  "id=\"received\">") ||
	      add_html(&b, tx->received) ||
	      rk_buf_adds(&b, "</button><button type=\"submit\" name=\"status\" "
			  "value=\"resolved\" id=\"resolved\">") ||
	      add_html(&b, tx->resolved) ||
	      rk_buf_adds(&b, "</button><button type=\"submit\" name=\"status\" "
			  "value=\"disputed\" id=\"disputed\">") ||
	      add_html(&b, tx->disputed) || rk_buf_adds(&b, "</button></form>\n");
	store_ticket_release(&t);
	ret = bad ? reply(rq, conn, 500, "text/plain", "error\n", 6, true)
		  : page(rq, conn, 200, tx, &b);
	rk_buf_release(&b);
	return ret;
}

/* One field of the form body (rk_form_field). */
static bool form_field(const struct rk_buf *body, const char *name, char *out,
		       size_t size)
{
	return rk_form_field(body->data ? body->data : "", body->len, name, out, size);
}

static enum MHD_Result ack_post(struct serve_ctx *ctx, struct MHD_Connection *conn,
				struct request *rq)
{
	struct store_ticket t;
	char hash[65], secret[65], want[96], form[96], status[16], *note, *dot,
		*end = NULL, fhash[65];
	const struct page_text *tx = page_lang(NULL);
	enum track_ack_status st;
	long long expiry;
	int64_t now = rk_now();
	bool fresh = false, ok;
	enum rk_err err;

	memset(&t, 0, sizeof(t));
	if (!(note = calloc(1, ACK_NOTE_MAX * 3 + 1)))
		return reply(rq, conn, 500, "text/plain", "error\n", 6, true);
	if (!form_field(&rq->body, "note", note, ACK_NOTE_MAX * 3 + 1))
		note[0] = '\0';
	ok = form_field(&rq->body, "form", form, sizeof(form)) &&
	     form_field(&rq->body, "status", status, sizeof(status)) &&
	     track_ack_status_parse(status, &st) == RK_OK &&
	     !rk_str_has_ctl(note, true);
	pthread_mutex_lock(&ctx->db_lock);
	pthread_rwlock_rdlock(&ctx->cfg_lock);
	store_set_now(ctx->store, now);
	err = ack_lookup(ctx, rq->path_id, hash, &t);
	if (!err)
		err = store_serve_secret(ctx->store, secret);
	if (!err) {
		tx = page_lang(t.lang);
		dot = ok ? strchr(form, '.') : NULL;
		expiry = dot ? strtoll(form, &end, 10) : 0;
		/* forged (the MAC), expired, or taken before: nothing changes */
		ok = dot && end == dot && expiry >= now &&
		     form_token(secret, hash, expiry, want) == RK_OK &&
		     strlen(want) == strlen(form) &&
		     CRYPTO_memcmp(want, form, strlen(want)) == 0 &&
		     track_token_hash(form, fhash) == RK_OK &&
		     store_ack_form_use(ctx->store, fhash, &fresh) == RK_OK && fresh;
		if (ok)
			err = track_ack_by_token(ctx->store, &ctx->app->cfg,
						 &ctx->http_log, rq->path_id, st,
						 note[0] ? note : NULL, now, NULL);
	}
	pthread_rwlock_unlock(&ctx->cfg_lock);
	pthread_mutex_unlock(&ctx->db_lock);
	store_ticket_release(&t);
	free(note);
	if (err == RK_ERR_NOTFOUND || err == RK_ERR_TRANSITION)
		return page_message(rq, conn, err == RK_ERR_NOTFOUND ? 404 : 409, tx,
				    tx->gone);
	if (err)
		return page_message(rq, conn, 503, tx, rk_strerror(err));
	if (!ok)
		return page_message(rq, conn, 403, tx, tx->stale);
	return page_message(rq, conn, 200, tx, tx->done);
}

/* ------------------------------------------------------------ operations */

/* Prometheus text format (0.0.4): a family's HELP and TYPE lines, then
 * its samples; label values escaped (backslash, double quote, line
 * feed), HELP text escaped (backslash, line feed). */
static enum rk_err prom_family(struct rk_buf *b, const char *name,
			       const char *type, const char *help)
{
	enum rk_err err = rk_buf_addf(b, "# HELP %s ", name);

	for (const char *p = help; !err && *p; p++)
		err = *p == '\\'  ? rk_buf_adds(b, "\\\\")
		      : *p == '\n' ? rk_buf_adds(b, "\\n")
				   : rk_buf_addc(b, *p);
	return err ? err : rk_buf_addf(b, "\n# TYPE %s %s\n", name, type);
}

static enum rk_err prom_label_value(struct rk_buf *b, const char *v)
{
	enum rk_err err = RK_OK;

	for (; !err && v && *v; v++)
		err = *v == '\\'  ? rk_buf_adds(b, "\\\\")
		      : *v == '"'  ? rk_buf_adds(b, "\\\"")
		      : *v == '\n' ? rk_buf_adds(b, "\\n")
				   : rk_buf_addc(b, *v);
	return err;
}

/* name{label="value"} count, or name count when label is NULL */
static enum rk_err prom_sample(struct rk_buf *b, const char *name,
			       const char *label, const char *value, long long count)
{
	enum rk_err err = rk_buf_adds(b, name);

	if (!err && label)
		err = rk_buf_addf(b, "{%s=\"", label);
	if (!err && label)
		err = prom_label_value(b, value);
	if (!err && label)
		err = rk_buf_adds(b, "\"}");
	return err ? err : rk_buf_addf(b, " %lld\n", count);
}

static enum rk_err prom_counts(struct rk_buf *b, const char *name, const char *help,
			       const char *label, const struct store_count *rows,
			       size_t n)
{
	enum rk_err err = prom_family(b, name, "gauge", help);

	for (size_t i = 0; !err && i < n; i++)
		err = prom_sample(b, name, label, rows[i].name ? rows[i].name : "",
				  rows[i].count);
	return err;
}

static enum rk_err prom_groups(struct rk_buf *b, const char *name, const char *help,
			       const char *label, const struct store_stats_group *rows,
			       size_t n)
{
	enum rk_err err = prom_family(b, name, "gauge", help);

	for (size_t i = 0; !err && i < n; i++)
		err = prom_sample(b, name, label, rows[i].key, rows[i].n);
	return err;
}

/* What /metrics reads from the database, in one read transaction. */
struct metrics_db {
	struct store_stats_counts all;    /* as `renraku stats`, all time */
	struct store_stats_group *states, *formats;
	size_t nstates, nformats;
	struct store_count *events, *msgs;
	size_t nevents, nmsgs;
	int64_t msg_at, ev_at;
};

static void metrics_db_release(struct metrics_db *m)
{
	free(m->states);
	free(m->formats);
	store_counts_free(m->events, m->nevents);
	store_counts_free(m->msgs, m->nmsgs);
}

/* The counts /metrics shares with `renraku stats` come from the same
 * store functions (relay/store/stats.c) over all time, so the two agree
 * on one database. */
static enum rk_err metrics_read(struct rk_store *store, struct metrics_db *m)
{
	enum rk_err err = store_read_begin(store);

	if (err)
		return err;
	err = store_stats_counts_get(store, 0, INT64_MAX, &m->all);
	if (!err)
		err = store_stats_groups(store, STORE_STATS_TICKETS_BY_STATE, 0,
					 INT64_MAX, &m->states, &m->nstates);
	if (!err)
		err = store_stats_groups(store, STORE_STATS_REPORTS_BY_FORMAT, 0,
					 INT64_MAX, &m->formats, &m->nformats);
	if (!err)
		err = store_count_events_by_format(store, &m->events, &m->nevents);
	if (!err)
		err = store_count_messages_by_state(store, &m->msgs, &m->nmsgs);
	if (!err)
		err = store_queue_oldest(store, &m->msg_at, &m->ev_at);
	store_read_end(store);
	return err;
}

static enum rk_err metrics_text(struct serve_ctx *ctx, const struct metrics_db *m,
				int64_t now, struct rk_buf *b)
{
	static const char *const held[] = {"suppressed", "withheld"};
	static const char *const outcomes[] = {"sent", "deferred", "bounced"};
	const long long held_n[] = {m->all.suppressed, m->all.withheld};
	const long long out_n[] = {m->all.sent, m->all.deferred, m->all.bounced};
	enum rk_err err;

	err = prom_family(b, "renraku_reports", "gauge", "reports received (as renraku stats)");
	if (!err)
		err = prom_sample(b, "renraku_reports", NULL, NULL, m->all.reports);
	if (!err)
		err = prom_groups(b, "renraku_reports_by_format",
				  "reports received, by format (as renraku stats)", "format",
				  m->formats, m->nformats);
	if (!err)
		err = prom_family(b, "renraku_events", "gauge", "events stored (as renraku stats)");
	if (!err)
		err = prom_sample(b, "renraku_events", NULL, NULL, m->all.events);
	if (!err)
		err = prom_counts(b, "renraku_events_ingested",
				  "events stored, by report format (the reports' counts)",
				  "format", m->events, m->nevents);
	if (!err)
		err = prom_family(b, "renraku_events_held", "gauge",
				  "events never notified, by reason (as renraku stats)");
	for (size_t i = 0; !err && i < RK_ARRAY_LEN(held); i++)
		err = prom_sample(b, "renraku_events_held", "reason", held[i], held_n[i]);
	if (!err)
		err = prom_groups(b, "renraku_tickets", "tickets by state (as renraku stats)",
				  "state", m->states, m->nstates);
	if (!err)
		err = prom_family(b, "renraku_notices", "gauge",
				  "notices (outbound messages) made (as renraku stats)");
	if (!err)
		err = prom_sample(b, "renraku_notices", NULL, NULL, m->all.notices);
	if (!err)
		err = prom_family(b, "renraku_deliveries", "gauge",
				  "deliveries of notices by state (as renraku stats)");
	for (size_t i = 0; !err && i < RK_ARRAY_LEN(outcomes); i++)
		err = prom_sample(b, "renraku_deliveries", "state", outcomes[i], out_n[i]);
	if (!err)
		err = prom_counts(b, "renraku_messages", "outbound and inbound messages by state",
				  "state", m->msgs, m->nmsgs);
	if (!err)
		err = prom_family(b, "renraku_queue_age_seconds", "gauge",
				  "age of the oldest item waiting");
	if (!err)
		err = prom_sample(b, "renraku_queue_age_seconds", "queue", "messages",
				  m->msg_at ? (long long)(now - m->msg_at) : 0LL);
	if (!err)
		err = prom_sample(b, "renraku_queue_age_seconds", "queue", "events",
				  m->ev_at ? (long long)(now - m->ev_at) : 0LL);
	pthread_mutex_lock(&ctx->metrics_lock);
	if (!err)
		err = prom_family(b, "renraku_passes_total", "counter",
				  "pipeline passes of this process");
	if (!err)
		err = prom_sample(b, "renraku_passes_total", NULL, NULL, ctx->passes);
	if (!err)
		err = prom_family(b, "renraku_delivery_total", "counter",
				  "delivery outcomes of this process's passes");
	if (!err)
		err = prom_sample(b, "renraku_delivery_total", "outcome", "sent", ctx->sent);
	if (!err)
		err = prom_sample(b, "renraku_delivery_total", "outcome", "deferred",
				  ctx->deferred);
	if (!err)
		err = prom_sample(b, "renraku_delivery_total", "outcome", "bounced",
				  ctx->bounced);
	if (!err)
		err = prom_family(b, "renraku_resolve_lookups_total", "counter",
				  "queries handed to each contact source, this process");
	for (size_t i = 0; !err && i < ctx->nsources; i++)
		err = prom_sample(b, "renraku_resolve_lookups_total", "source",
				  ctx->sources[i].name, ctx->sources[i].lookups);
	if (!err)
		err = prom_family(b, "renraku_resolve_cache_hits_total", "counter",
				  "lookups a contact source answered from its cache, this process");
	for (size_t i = 0; !err && i < ctx->nsources; i++)
		err = prom_sample(b, "renraku_resolve_cache_hits_total", "source",
				  ctx->sources[i].name, ctx->sources[i].cache_hits);
	if (!err)
		err = prom_family(b, "renraku_resolve_remote_queries_total", "counter",
				  "questions a contact source sent over the network, this process");
	for (size_t i = 0; !err && i < ctx->nsources; i++)
		err = prom_sample(b, "renraku_resolve_remote_queries_total", "source",
				  ctx->sources[i].name, ctx->sources[i].remote_queries);
	if (!err)
		err = prom_family(b, "renraku_http_requests_total", "counter",
				  "HTTP requests by route and status, this process");
	for (size_t r = 0; !err && r < SERVE_ROUTES; r++)
		for (size_t s = 0; !err && s < SERVE_STATUSES; s++)
			if (ctx->requests[r][s])
				err = rk_buf_addf(b,
						  "renraku_http_requests_total{route=\"%s\","
						  "status=\"%.0u%s\"} %lld\n",
						  route_names[r], statuses[s],
						  statuses[s] ? "" : "other",
						  ctx->requests[r][s]);
	pthread_mutex_unlock(&ctx->metrics_lock);
	return err;
}

static enum MHD_Result metrics(struct serve_ctx *ctx, struct MHD_Connection *conn,
			       struct request *rq)
{
	struct metrics_db m;
	struct rk_buf b;
	enum rk_err err;
	enum MHD_Result ret;

	memset(&m, 0, sizeof(m));
	pthread_mutex_lock(&ctx->db_lock);
	err = metrics_read(ctx->store, &m);
	pthread_mutex_unlock(&ctx->db_lock);
	rk_buf_init(&b, 1 << 20);
	if (!err)
		err = metrics_text(ctx, &m, rk_now(), &b);
	metrics_db_release(&m);
	ret = err ? reply_error(rq, conn, 503, rk_strerror(err))
		  : reply(rq, conn, 200, "text/plain; version=0.0.4; charset=utf-8",
			  b.data, b.len, false);
	rk_buf_release(&b);
	return ret;
}

static enum MHD_Result dispatch(struct serve_ctx *ctx, struct MHD_Connection *conn,
				struct request *rq)
{
	enum rk_err err;

	switch (rq->route) {
	case R_HEALTHZ:
		return reply(rq, conn, 200, "application/json", "{\"status\":\"ok\"}", 15,
			     false);
	case R_READYZ:
		pthread_mutex_lock(&ctx->db_lock);
		err = store_ping(ctx->store);
		pthread_mutex_unlock(&ctx->db_lock);
		return err ? reply_error(rq, conn, 503, "the database does not answer")
			   : reply(rq, conn, 200, "application/json",
				   "{\"status\":\"ready\"}", 18, false);
	case R_METRICS: return metrics(ctx, conn, rq);
	case R_REPORTS_POST: return post_report(ctx, conn, rq);
	case R_REPORT_GET: return get_report(ctx, conn, rq);
	case R_TICKETS: return list_tickets(ctx, conn, rq);
	case R_TICKET_GET: return get_ticket(ctx, conn, rq);
	case R_TICKET_ACK: return ack_ticket(ctx, conn, rq);
	case R_ACK_PAGE: return ack_page(ctx, conn, rq);
	case R_ACK_POST: return ack_post(ctx, conn, rq);
	case R_OTHER: break;
	}
	return reply_error(rq, conn, 404, "not found");
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
			       const char *method, const char *version,
			       const char *upload_data, size_t *upload_data_size,
			       void **con_cls)
{
	struct serve_ctx *ctx = cls;
	struct request *rq = *con_cls;
	bool bad_method;

	(void)version;
	if (!rq) {
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     "Content-Length");
		long long limit, rate, length = -1;
		unsigned deny;
		size_t i;

		if (!(rq = calloc(1, sizeof(*rq))))
			return MHD_NO;
		*con_cls = rq;
		clock_gettime(CLOCK_MONOTONIC, &rq->start);
		snprintf(rq->method, sizeof(rq->method), "%s", method);
		for (i = 0; url[i] && i + 1 < sizeof(rq->path); i++)
			rq->path[i] = (unsigned char)url[i] < 0x21 || url[i] == 0x7f
					      ? '?' : url[i];
		rq->path[i] = '\0';
		rq->route = route_of(method, url, rq->path_id, &bad_method);
		pthread_rwlock_rdlock(&ctx->cfg_lock);
		limit = rq->route == R_REPORTS_POST ? ctx->max_body : SMALL_BODY_MAX;
		rate = ctx->app->cfg.http.rate;
		pthread_rwlock_unlock(&ctx->cfg_lock);
		rq->limit = (size_t)limit;
		rk_buf_init(&rq->body, rq->limit);
		if (bad_method) {
			rq->answered = true;
			return reply_error(rq, conn, 405, "method not allowed");
		}
		/* before any byte of the body: who asks, and how much */
		if ((deny = authorize(ctx, conn, rq, rate))) {
			rq->answered = true;
			return reply_error(rq, conn, deny,
					   deny == 401   ? "a valid bearer token is needed"
					   : deny == 403 ? "the token's scopes do not allow this"
					   : deny == 429 ? "too many requests: slow down"
							 : "the database does not answer");
		}
		if (cl) {
			char *end = NULL;

			length = strtoll(cl, &end, 10);
			if (!end || *end)
				length = -1;
		}
		if (length > limit) {
			rq->answered = true;
			return reply_error(rq, conn, 413, "the body is larger than [http] max_body");
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!rq->too_large &&
		    rk_buf_add(&rq->body, upload_data, *upload_data_size) != RK_OK) {
			rq->too_large = true;
			rk_buf_release(&rq->body);
		}
		if (rq->too_large) {
			/* over the limit while reading (chunked): nothing more
			 * is kept; libmicrohttpd cannot answer in the middle of
			 * a body, so the rest is read and dropped; past the
			 * limit again (at least 1 MiB) the connection closes */
			rq->dropped += *upload_data_size;
			if (rq->dropped > rq->limit && rq->dropped > (1u << 20))
				return MHD_NO;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (rq->answered)
		return MHD_YES;
	if (rq->too_large)
		return reply_error(rq, conn, 413, "the body is larger than [http] max_body");
	return dispatch(ctx, conn, rq);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct serve_ctx *ctx = cls;
	struct request *rq = *con_cls;
	struct timespec end;
	size_t s;
	double ms;

	(void)conn;
	if (!rq)
		return;
	clock_gettime(CLOCK_MONOTONIC, &end);
	ms = (double)(end.tv_sec - rq->start.tv_sec) * 1e3 +
	     (double)(end.tv_nsec - rq->start.tv_nsec) / 1e6;
	for (s = 0; s + 1 < SERVE_STATUSES && statuses[s] != rq->status; s++)
		;
	pthread_mutex_lock(&ctx->metrics_lock);
	ctx->requests[rq->route][s]++;
	pthread_mutex_unlock(&ctx->metrics_lock);
	/* the access log: one line, key=value, on stderr */
	rk_log_info(&ctx->http_log,
		    "http method=%s path=%s route=%s status=%u ms=%.2f reporter=%s%s",
		    rq->method, rq->path, route_names[rq->route], rq->status, ms,
		    rq->reporter[0] ? rq->reporter : "-",
		    toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted=1");
	rk_buf_release(&rq->body);
	free(rq);
	*con_cls = NULL;
}

enum rk_err serve_http_start(struct serve_ctx *ctx, const struct sockaddr *addr,
			     socklen_t addrlen)
{
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			 MHD_USE_ERROR_LOG;
	const struct rk_config *cfg = &ctx->app->cfg;
	struct MHD_OptionItem ops[9];
	size_t k = 0;

	(void)addrlen;
	if (addr->sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	ops[k++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, (void *)addr};
	ops[k++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE,
					   (intptr_t)cfg->http.threads, NULL};
	ops[k++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT,
					   (intptr_t)cfg->http.max_connections, NULL};
	ops[k++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT,
					   (intptr_t)cfg->http.timeout, NULL};
	ops[k++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT,
					   128 * 1024, NULL};
	if (ctx->tls_cert.len) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			rk_log_error(&ctx->http_log, "serve: this libmicrohttpd has no "
				     "TLS: use a reverse proxy (docs/operations.md)");
			return RK_ERR_UNSUPPORTED;
		}
		flags |= MHD_USE_TLS;
		ops[k++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0,
						   ctx->tls_cert.data};
		ops[k++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0,
						   ctx->tls_key.data};
	}
	ops[k] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	ctx->mhd = MHD_start_daemon(flags, 0, NULL, NULL, handler, ctx,
				    MHD_OPTION_ARRAY, ops, MHD_OPTION_NOTIFY_COMPLETED,
				    completed, ctx, MHD_OPTION_END);
	if (!ctx->mhd)
		return RK_ERR_IO;
	info = MHD_get_daemon_info(ctx->mhd, MHD_DAEMON_INFO_BIND_PORT);
	ctx->port = info ? info->port : 0;
	return RK_OK;
}

void serve_http_stop(struct serve_ctx *ctx)
{
	if (ctx->mhd)
		MHD_stop_daemon(ctx->mhd);
	ctx->mhd = NULL;
}

void serve_ctx_release(struct serve_ctx *ctx)
{
	rk_buf_release(&ctx->tls_cert);
	rk_buf_release(&ctx->tls_key);
}
