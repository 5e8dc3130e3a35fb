/* renraku serve [--offline] [--listen ADDR:PORT] [--interval DURATION]
 *
 * One process: libmicrohttpd answers the API (serve_api.c) on its own
 * thread pool, each request on the HTTP store connection (one mutex);
 * the main thread is the scheduler and runs the pipeline on its own
 * connection, every interval and as soon as a report arrives (the HTTP
 * threads write one byte to a pipe; they never run a pass).  Signals are
 * blocked and read from a signalfd: SIGTERM/SIGINT let the pass in hand
 * finish and commit, then the server stops and the process exits 0;
 * SIGHUP reloads the configuration and the contacts directory. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "serve.h"
#include "renraku/contacts.h"
#include "renraku/limits.h"
#include "renraku/pipeline.h"

static const char serve_help[] =
	"usage: renraku [--config FILE] [--db FILE] serve [--offline] "
	"[--listen ADDR:PORT] [--interval DURATION]\n"
	"\n"
	"The HTTP API (/v1, bearer tokens: renraku tokens), /healthz, /readyz\n"
	"and /metrics, and the scheduler: the pipeline runs in this process\n"
	"every interval and as soon as a report arrives.  SIGTERM or SIGINT\n"
	"finish the pass in hand and exit 0; SIGHUP reloads the configuration\n"
	"and, with [relay] contacts, the contacts directory.\n"
	"\n"
	"  --listen ADDR:PORT   where to listen (default [http] listen,\n"
	"                       127.0.0.1:8080; port 0 picks a free port, which\n"
	"                       is logged)\n"
	"  --interval DURATION  time between passes (default [http] interval, 15s)\n"
	"  --offline            only local contact sources (no network)\n"
	"  --help               this text\n"
	"\n"
	"exit codes: 0 stopped by a signal, 1 failure, 2 usage\n";

/* Parse "host:port" / "[v6]:port" into a socket address. */
static enum rk_err parse_listen(const char *listen, struct sockaddr_storage *ss,
				socklen_t *sslen)
{
	char host[256];
	const char *colon = strrchr(listen, ':'), *h = listen;
	size_t hl;
	struct addrinfo hints, *ai = NULL;

	if (!colon || !colon[1])
		return RK_ERR_CONFIG;
	hl = (size_t)(colon - listen);
	if (hl && listen[0] == '[' && listen[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host))
		return RK_ERR_CONFIG;
	memcpy(host, h, hl);
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0 || !ai)
		return RK_ERR_CONFIG;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*sslen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return RK_OK;
}

/* One pass of the pipeline on the scheduler's store. */
static void scheduler_pass(struct serve_ctx *ctx, struct rk_store *store,
			   const struct pipeline_options *base)
{
	struct pipeline_options po = *base;
	struct pipeline_stats stats;
	enum rk_err err;

	memset(&stats, 0, sizeof(stats));
	po.now = ctx->app->now_fixed ? ctx->app->now : rk_now();
	pthread_rwlock_rdlock(&ctx->cfg_lock);
	err = pipeline_run_once(store, &ctx->app->cfg, &ctx->app->log, &po, &stats);
	pthread_rwlock_unlock(&ctx->cfg_lock);
	if (err)
		rk_log_error(&ctx->app->log, "serve: pass: %s", rk_strerror(err));
	if (stats.resolve.seen || stats.notify.built || stats.sent ||
	    stats.deferred || stats.failed || stats.spool.files)
		rk_log_info(&ctx->app->log,
			    "pass: %lld events looked up, %lld tickets created, "
			    "%lld notices, %lld sent, %lld deferred, %lld failed",
			    stats.resolve.seen, stats.tickets.tickets_created,
			    stats.notify.built, stats.sent, stats.deferred,
			    stats.failed);
	pthread_mutex_lock(&ctx->metrics_lock);
	ctx->passes++;
	ctx->sent += stats.sent;
	ctx->deferred += stats.deferred;
	ctx->bounced += stats.bounced;
	for (size_t i = 0; i < stats.resolve.nsources; i++) {
		const struct resolve_source_stats *s = &stats.resolve.sources[i];
		struct serve_source_count *c = NULL;

		for (size_t k = 0; k < ctx->nsources && !c; k++)
			if (strcmp(ctx->sources[k].name, s->name) == 0)
				c = &ctx->sources[k];
		if (!c && ctx->nsources < SERVE_SOURCES) {
			c = &ctx->sources[ctx->nsources++];
			memcpy(c->name, s->name, sizeof(c->name));
		}
		if (!c)
			continue;
		c->lookups += s->lookups;
		c->cache_hits += s->cache_hits;
		c->remote_queries += s->remote_queries;
	}
	pthread_mutex_unlock(&ctx->metrics_lock);
}

/* SIGHUP, after the configuration: the constituency of [relay] contacts
 * read again into the database (as contacts import does; keys/ files are
 * for `renraku contacts import`), unless the directory has problems. */
static void reload_contacts(struct serve_ctx *ctx, struct rk_store *store)
{
	struct app *app = ctx->app;
	struct contacts_set set;
	char *dir = NULL;
	enum rk_err err;

	memset(&set, 0, sizeof(set));
	if (!app->cfg.relay.contacts)
		return;
	if ((err = rk_config_path(&app->cfg, app->cfg.relay.contacts, &dir)) ||
	    (err = contacts_read_dir(dir, rk_now(), &app->log, &set))) {
		rk_log_error(&app->log, "serve: SIGHUP: contacts: %s", rk_strerror(err));
	} else if (set.nproblems) {
		rk_log_error(&app->log, "serve: SIGHUP: '%s' has %zu problems "
			     "(renraku contacts check); the contacts stay as they were",
			     dir, set.nproblems);
	} else if ((err = store_contacts_replace(store, set.contacts, set.ncontacts,
						 set.supps, set.nsupps))) {
		rk_log_error(&app->log, "serve: SIGHUP: contacts from '%s': %s", dir,
			     rk_strerror(err));
	} else {
		rk_log_info(&app->log, "serve: contacts reloaded from '%s' (%zu entries)",
			    dir, set.ncontacts);
	}
	contacts_set_release(&set);
	free(dir);
}

/* SIGHUP: read the configuration again; the old one stays when the new
 * one has an error (logged with its file and line). */
static void reload_config(struct serve_ctx *ctx)
{
	struct rk_config fresh;
	struct app *app = ctx->app;

	if (rk_config_defaults(&fresh) != RK_OK)
		return;
	if (rk_config_load(&fresh, app->config_path, &app->log) != RK_OK) {
		rk_config_release(&fresh);
		rk_log_error(&app->log, "serve: SIGHUP: '%s' has errors; the "
			     "running configuration stays", app->config_path);
		return;
	}
	pthread_rwlock_wrlock(&ctx->cfg_lock);
	rk_config_release(&app->cfg);
	app->cfg = fresh;
	ctx->max_body = app->cfg.http.max_body;
	pthread_rwlock_unlock(&ctx->cfg_lock);
	rk_log_info(&app->log, "serve: configuration reloaded from '%s'",
		    app->config_path);
}

/* A PEM file of [http] tls_cert / tls_key (relative to the config file)
 * into b, NUL-terminated as libmicrohttpd wants it. */
static enum rk_err read_pem(struct app *app, const char *value, struct rk_buf *b)
{
	char *path = NULL;
	enum rk_err err = rk_config_path(&app->cfg, value, &path);

	if (!err && (err = rk_buf_read_file(b, path)))
		rk_log_error(&app->log, "serve: cannot read '%s': %s", path,
			     rk_strerror(err));
	if (!err && (b->len == 0 || (err = rk_buf_add(b, "", 1)) != RK_OK)) {
		rk_log_error(&app->log, "serve: '%s' is empty or too large", path);
		err = RK_ERR_CONFIG;
	}
	free(path);
	return err;
}

void serve_wake(struct serve_ctx *ctx)
{
	char b = 1;

	/* a full pipe already holds a wake-up */
	if (write(ctx->wake_fd[1], &b, 1) < 0 && errno != EAGAIN)
		rk_log_warn(&ctx->http_log, "serve: cannot wake the scheduler");
}

int cmd_serve(struct app *app, int argc, char **argv)
{
	static const struct option opts[] = {
		{"offline", no_argument, NULL, 'n'},
		{"listen", required_argument, NULL, 'l'},
		{"interval", required_argument, NULL, 'i'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct pipeline_options po;
	struct serve_ctx ctx;
	struct rk_store *sched = NULL;
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	const char *listen = NULL;
	long long interval = -1;
	char *db_path = NULL;
	sigset_t sigs;
	int sfd = -1, rc = RK_EXIT_FAILURE, c;
	enum rk_err err;

	memset(&po, 0, sizeof(po));
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': po.offline = true; break;
		case 'l': listen = optarg; break;
		case 'h': return app_help(serve_help);
		case 'i':
			if (rk_parse_duration(optarg, &interval) || interval < 1)
				return app_usage("serve: --interval takes a duration like 15s or 1m");
			break;
		default:
			return app_usage("serve [--offline] [--listen ADDR:PORT] [--interval DURATION]");
		}
	}
	if (optind < argc)
		return app_usage("serve takes no arguments");
	if ((err = app_store(app, &sched)) || (err = app_db_path(app, &db_path)))
		return (int)rk_exit_code(err);
	if (!listen)
		listen = app->cfg.http.listen;
	if (interval < 0)
		interval = app->cfg.http.interval;
	if (parse_listen(listen, &ss, &sslen)) {
		rk_log_error(&app->log, "serve: listen '%s' is not ADDR:PORT", listen);
		free(db_path);
		return RK_EXIT_USAGE;
	}
	if ((err = store_runner_lock(sched, false))) {
		rk_log_error(&app->log, "serve: another 'renraku run' or 'serve' "
			     "holds the runner lock of this database");
		free(db_path);
		return (int)rk_exit_code(err);
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.app = app;
	ctx.max_body = app->cfg.http.max_body;
	rk_log_init(&ctx.http_log, app->log.level);
	pthread_mutex_init(&ctx.db_lock, NULL);
	pthread_mutex_init(&ctx.metrics_lock, NULL);
	pthread_rwlock_init(&ctx.cfg_lock, NULL);
	ctx.wake_fd[0] = ctx.wake_fd[1] = -1;
	if (pipe2(ctx.wake_fd, O_CLOEXEC | O_NONBLOCK) != 0) {
		rk_log_error(&app->log, "serve: pipe: %s", strerror(errno));
		goto cleanup;
	}
	if ((err = store_open(&ctx.store, db_path, 5000, &ctx.http_log))) {
		rk_log_error(&app->log, "serve: cannot open '%s' for the API", db_path);
		goto cleanup;
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGPIPE);
	/* blocked before MHD starts its threads, so they inherit the mask */
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	if ((sfd = signalfd(-1, &sigs, SFD_CLOEXEC)) < 0) {
		rk_log_error(&app->log, "serve: signalfd: %s", strerror(errno));
		goto cleanup;
	}
	rk_buf_init(&ctx.tls_cert, RK_MAX_TLS_PEM);
	rk_buf_init(&ctx.tls_key, RK_MAX_TLS_PEM);
	if ((app->cfg.http.tls_cert != NULL) != (app->cfg.http.tls_key != NULL)) {
		rk_log_error(&app->log, "serve: [http] tls_cert and tls_key go together");
		rc = RK_EXIT_USAGE;
		goto cleanup;
	}
	if (app->cfg.http.tls_cert &&
	    ((err = read_pem(app, app->cfg.http.tls_cert, &ctx.tls_cert)) ||
	     (err = read_pem(app, app->cfg.http.tls_key, &ctx.tls_key))))
		goto cleanup;
	if ((err = serve_http_start(&ctx, (const struct sockaddr *)&ss, sslen))) {
		rk_log_error(&app->log, "serve: cannot listen on '%s'", listen);
		goto cleanup;
	}
	rk_log_info(&app->log, "serve: listening on %s (port %u%s), a pass every %llds",
		    listen, ctx.port, ctx.tls_cert.len ? ", TLS" : "", interval);
	for (;;) {
		struct pollfd fds[2] = {{sfd, POLLIN, 0}, {ctx.wake_fd[0], POLLIN, 0}};
		struct signalfd_siginfo si;
		int n;

		scheduler_pass(&ctx, sched, &po);
		n = poll(fds, 2, (int)(interval * 1000));
		if (n < 0 && errno != EINTR)
			break;
		if (fds[1].revents & POLLIN) {
			char drain[64];

			while (read(ctx.wake_fd[0], drain, sizeof(drain)) > 0)
				;
		}
		if (fds[0].revents & POLLIN &&
		    read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if (si.ssi_signo == SIGHUP) {
				reload_config(&ctx);
				store_set_now(sched, rk_now());
				reload_contacts(&ctx, sched);
				continue;
			}
			if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
				rk_log_info(&app->log, "serve: %s: stopping",
					    si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
				rc = RK_EXIT_OK;
				break;
			}
		}
	}
cleanup:
	/* MHD_stop_daemon lets the requests in hand finish */
	serve_http_stop(&ctx);
	if (ctx.store)
		store_close(ctx.store);
	if (sfd >= 0)
		close(sfd);
	if (ctx.wake_fd[0] >= 0)
		close(ctx.wake_fd[0]);
	if (ctx.wake_fd[1] >= 0)
		close(ctx.wake_fd[1]);
	serve_ctx_release(&ctx);
	pthread_rwlock_destroy(&ctx.cfg_lock);
	pthread_mutex_destroy(&ctx.metrics_lock);
	pthread_mutex_destroy(&ctx.db_lock);
	free(db_path);
	return rc;
}
