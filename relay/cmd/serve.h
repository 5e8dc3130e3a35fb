/* Inside `renraku serve`: the context the scheduler (serve.c) and the
 * HTTP handlers (serve_api.c) share. */
#ifndef RENRAKU_CMD_SERVE_H
#define RENRAKU_CMD_SERVE_H

#include <pthread.h>
#include <sys/socket.h>

#include "cmd.h"
#include "renraku/resolve.h"

/* Requests counted per route and status for /metrics. */
#define SERVE_ROUTES 12
#define SERVE_STATUSES 15
/* Tokens the rate limiter tracks at once (the oldest window is reused). */
#define SERVE_RATE_SLOTS 256

/* Contact sources /metrics counts for (names seen across reloads). */
#define SERVE_SOURCES (2 * RESOLVE_STATS_SOURCES)

/* A contact source's counts summed over the passes of this process. */
struct serve_source_count {
	char name[16];
	long long lookups, cache_hits, remote_queries;
};

struct serve_rate_slot {
	char hash[65];        /* "" = free */
	int64_t window;       /* minute the count is for */
	long long count;
};

struct serve_ctx {
	struct app *app;           /* cfg guarded by cfg_lock */
	pthread_rwlock_t cfg_lock; /* readers: requests and passes */
	struct rk_log http_log;    /* stderr, for the HTTP threads */
	pthread_mutex_t db_lock;   /* guards store */
	struct rk_store *store;    /* the API's connection */
	int wake_fd[2];            /* a byte wakes the scheduler */
	long long max_body;
	unsigned port;             /* the port bound */
	struct MHD_Daemon *mhd;
	struct rk_buf tls_cert, tls_key; /* PEM, NUL-terminated; len 0 = none */
	pthread_mutex_t metrics_lock; /* guards everything below */
	long long passes, sent, deferred, bounced;
	struct serve_source_count sources[SERVE_SOURCES];
	size_t nsources;
	long long requests[SERVE_ROUTES][SERVE_STATUSES];
	struct serve_rate_slot rate[SERVE_RATE_SLOTS];
};

/* Start libmicrohttpd on addr (its thread pool answers the routes of
 * serve_api.c); ctx->port gets the bound port. */
enum rk_err serve_http_start(struct serve_ctx *ctx, const struct sockaddr *addr,
			     socklen_t addrlen);
/* Stop it (requests in hand finish); nothing when not started. */
void serve_http_stop(struct serve_ctx *ctx);
/* What the context owns beyond its locks and descriptors. */
void serve_ctx_release(struct serve_ctx *ctx);
/* Ask the scheduler for a pass now (any thread). */
void serve_wake(struct serve_ctx *ctx);

#endif
