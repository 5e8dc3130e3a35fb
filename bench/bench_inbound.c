/*
 * inbound: messages/s through track_inbound (classify with GMime, hash,
 * match against the store, one transaction storing the row), for a mix
 * of a Postfix DSN, an RT autoreply and a 2 KB human reply, each with
 * its own Message-ID (none matches a ticket: the lookups run, nothing
 * moves).
 *
 * Reference: track_classify of the same messages (GMime parse and the
 * rules, no store): the parse floor every inbound message pays.
 *
 * K messages (RK_BENCH_INBOUND_COUNT, default 3000) per run, best of 3,
 * interleaved; each run stores into a fresh database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "renraku/mail.h"
#include "renraku/track.h"

#define RUNS 3

static const char dsn[] =
	"From: MAILER-DAEMON@mx.bench.example (Mail Delivery System)\r\n"
	"To: csirt@bench.example\r\nSubject: Undelivered Mail Returned to Sender\r\n"
	"Message-ID: <dsn-%lld@mx.bench.example>\r\nAuto-Submitted: auto-replied\r\n"
	"MIME-Version: 1.0\r\nContent-Type: multipart/report; "
	"report-type=delivery-status; boundary=\"B\"\r\n\r\n"
	"--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be "
	"delivered.\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\n"
	"Reporting-MTA: dns; mx.bench.example\r\n\r\nFinal-Recipient: rfc822; "
	"abuse@org%lld.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
	"--B\r\nContent-Type: text/rfc822-headers\r\n\r\nSubject: [BENCH "
	"#20261120-%06lld] notice\r\nMessage-ID: <20261120-%06lld.x@bench.example>"
	"\r\n\r\n--B--\r\n";
static const char autoreply[] =
	"From: Desk <abuse@org%lld.example>\r\nTo: csirt@bench.example\r\n"
	"Subject: [org.example #%lld] AutoReply: [BENCH #20261120-%06lld] notice\r\n"
	"Message-ID: <rt-%lld@org.example>\r\nIn-Reply-To: "
	"<20261120-%06lld.x@bench.example>\r\nAuto-Submitted: auto-replied\r\n"
	"Precedence: bulk\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
	"Your ticket has been created.\r\n";
static const char reply[] =
	"From: NOC <noc@org%lld.example>\r\nTo: csirt@bench.example\r\n"
	"Subject: Re: [BENCH #20261120-%06lld] notice\r\nMessage-ID: "
	"<reply-%lld@org.example>\r\nIn-Reply-To: <20261120-%06lld.x@bench.example>"
	"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
	"Content-Transfer-Encoding: 8bit\r\n\r\n";

static void make_message(long long i, struct rk_buf *b)
{
	rk_buf_reset(b);
	switch (i % 3) {
	case 0:
		bench_check(rk_buf_addf(b, dsn, i, i, i, i), "message");
		break;
	case 1:
		bench_check(rk_buf_addf(b, autoreply, i, i, i, i, i), "message");
		break;
	default:
		bench_check(rk_buf_addf(b, reply, i, i, i, i), "message");
		while (b->len < 2048)
			bench_check(rk_buf_adds(b, "> quoted notice text, "
						   "\xe3\x81\x94\xe9\x80\xa3\xe7"
						   "\xb5\xa1\r\n"),
				    "message");
	}
}

int main(void)
{
	long long k = bench_env_ll("RK_BENCH_INBOUND_COUNT", 3000);
	char *dir = bench_tmpdir();
	struct rk_buf *msgs = calloc((size_t)k, sizeof(*msgs));
	struct rk_config cfg;
	struct rk_log log;
	double best = 1e30, best_ref = 1e30, rate, refrate;

	if (!msgs)
		bench_die("out of memory");
	rk_log_init(&log, RK_LOG_ERROR);
	mail_init();
	bench_check(rk_config_defaults(&cfg), "config");
	bench_check(rk_str_set(&cfg.relay.ticket_prefix, "BENCH"), "config");
	for (long long i = 0; i < k; i++) {
		rk_buf_init(&msgs[i], 1u << 20);
		make_message(i, &msgs[i]);
	}
	fprintf(stderr, "inbound: %lld messages per run in %s\n", k, dir);
	for (int run = 0; run < RUNS; run++) {
		char name[64], *path;
		struct rk_store *store;
		double t0 = bench_now(), tr, tt;

		for (long long i = 0; i < k; i++) {
			struct track_mail m;

			bench_check(track_classify(msgs[i].data, msgs[i].len,
						   "BENCH", &m),
				    "track_classify");
			track_mail_release(&m);
		}
		tr = bench_now() - t0;
		snprintf(name, sizeof(name), "run%d.db", run);
		path = bench_join(dir, name);
		bench_check(store_open(&store, path, 5000, &log), "store_open");
		store_set_now(store, 1795219200LL);
		t0 = bench_now();
		for (long long i = 0; i < k; i++) {
			struct track_result res;

			bench_check(track_inbound(store, &cfg, &log, msgs[i].data,
						  msgs[i].len, msgs[i].len,
						  "pipe", &res),
				    "track_inbound");
			if (res.duplicate)
				bench_die("message %lld taken for a repeat", i);
		}
		tt = bench_now() - t0;
		store_close(store);
		free(path);
		if (tr < best_ref)
			best_ref = tr;
		if (tt < best)
			best = tt;
		fprintf(stderr, "inbound: run %d: classify %.0f/s, track_inbound %.0f/s\n",
			run + 1, (double)k / tr, (double)k / tt);
	}
	rate = (double)k / best;
	refrate = (double)k / best_ref;
	bench_result("inbound (DSN, autoreply, reply)", rate, "messages/s",
		     refrate, "track_classify alone", rate / refrate,
		     "- (no target)", "-");
	for (long long i = 0; i < k; i++)
		rk_buf_release(&msgs[i]);
	free(msgs);
	rk_config_release(&cfg);
	mail_shutdown();
	bench_rmtree(dir);
	free(dir);
	return 0;
}
