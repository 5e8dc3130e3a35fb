/*
 * SMTP deliver: messages/s through the real path, deliver_pending over
 * the smtp transport (libESMTP, one session per 100 messages, the store's
 * sending / outcome transactions for every message), to a sink of the
 * bench's own on 127.0.0.1 (a child process: EHLO with PIPELINING, 250 to
 * everything, reads each DATA to its end).
 *
 * Reference: the same sink's rate with a trivial client in the same run:
 * one connection, for each message MAIL, RCPT and DATA written together
 * (as libESMTP does with PIPELINING), their answers read, the same bytes
 * dot-stuffed as they are (they need none) and the final dot, its answer
 * read.  No store, no libESMTP: what SMTP over loopback costs at least.
 *
 * K messages (RK_BENCH_SMTP_COUNT, default 2000) of ~8 KB per run, best
 * of 3, interleaved; each run of the real path queues its K messages in
 * a fresh store first, untimed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "renraku/config.h"
#include "renraku/deliver.h"
#include "renraku/store.h"

#define RUNS 3
#define MSG_SIZE 8192
#define SINK_BUF 65536

/* ------------------------------------------------------------ the sink */

struct sink_conn {
	int fd;
	char in[SINK_BUF];
	size_t inlen;
	char out[8192];
	size_t outlen;
	bool data;        /* inside DATA */
	uint64_t tail;    /* the last bytes seen in DATA, for "\r\n.\r\n" */
};

static bool sink_flush(struct sink_conn *c)
{
	size_t off = 0;

	while (off < c->outlen) {
		ssize_t n = write(c->fd, c->out + off, c->outlen - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		off += (size_t)n;
	}
	c->outlen = 0;
	return true;
}

static bool sink_reply(struct sink_conn *c, const char *text)
{
	size_t len = strlen(text);

	if (c->outlen + len > sizeof(c->out) && !sink_flush(c))
		return false;
	memcpy(c->out + c->outlen, text, len);
	c->outlen += len;
	return true;
}

/* One command line (without CRLF); false: close. */
static bool sink_command(struct sink_conn *c, const char *line, size_t len)
{
	if (len >= 4 && strncasecmp(line, "EHLO", 4) == 0)
		return sink_reply(c, "250-sink.bench\r\n250-PIPELINING\r\n"
				     "250 8BITMIME\r\n");
	if (len >= 4 && strncasecmp(line, "DATA", 4) == 0) {
		c->data = true;
		c->tail = 0x0d0a; /* the CRLF before DATA ends a line */
		return sink_reply(c, "354 go ahead\r\n");
	}
	if (len >= 4 && strncasecmp(line, "QUIT", 4) == 0) {
		sink_reply(c, "221 bye\r\n");
		return false;
	}
	return sink_reply(c, "250 ok\r\n"); /* HELO MAIL RCPT RSET NOOP */
}

static void sink_serve(int fd)
{
	struct sink_conn *c = calloc(1, sizeof(*c));
	bool open = c != NULL;

	if (!c) {
		close(fd);
		return;
	}
	c->fd = fd;
	open = sink_reply(c, "220 sink.bench ESMTP\r\n") && sink_flush(c);
	while (open) {
		ssize_t n = read(fd, c->in + c->inlen, sizeof(c->in) - c->inlen);
		size_t start = 0, i;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		c->inlen += (size_t)n;
		for (i = 0; i < c->inlen && open; i++) {
			unsigned char ch = (unsigned char)c->in[i];

			if (c->data) {
				/* "\r\n.\r\n": the tail holds the bytes before */
				c->tail = (c->tail << 8) | ch;
				if ((c->tail & 0xffffffffffULL) ==
				    0x0d0a2e0d0aULL) {
					c->data = false;
					open = sink_reply(c, "250 queued\r\n");
					start = i + 1;
				}
				continue;
			}
			if (ch == '\n' && i > start && c->in[i - 1] == '\r') {
				open = sink_command(c, c->in + start,
						    i - 1 - start);
				start = i + 1;
			}
		}
		if (c->data)
			start = c->inlen; /* data bytes are not kept */
		memmove(c->in, c->in + start, c->inlen - start);
		c->inlen -= start;
		if (c->inlen == sizeof(c->in))
			break; /* a line longer than the buffer */
		/* answer what the input held, then read on */
		if (c->outlen && !sink_flush(c))
			break;
	}
	sink_flush(c);
	close(fd);
	free(c);
}

/* Fork the sink; *port gets its port.  Returns the child's pid. */
static pid_t sink_start(int *port)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int one = 1, lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	pid_t pid;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one,
				  sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 16) ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen))
		bench_die("sink: %s", strerror(errno));
	*port = ntohs(a.sin_port);
	pid = fork();
	if (pid < 0)
		bench_die("fork: %s", strerror(errno));
	if (pid == 0) {
		for (;;) {
			int fd = accept(lfd, NULL, NULL);

			if (fd < 0) {
				if (errno == EINTR)
					continue;
				_exit(1);
			}
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				   sizeof(one));
			sink_serve(fd);
		}
	}
	close(lfd);
	return pid;
}

/* ------------------------------------------------------------ messages */

static void make_notice(struct rk_buf *msg, long long i)
{
	long long line = 0;

	bench_check(rk_buf_addf(msg,
		"Date: Fri, 20 Nov 2026 00:00:00 +0000\r\n"
		"From: Bench CSIRT <csirt@bench.example>\r\n"
		"To: <abuse%lld@org%lld.example>\r\n"
		"Subject: [BENCH #20261120-%06lld] Vulnerable hosts\r\n"
		"Message-Id: <20261120-%06lld.smtpbench@bench.example>\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n\r\n",
		i % 50, i % 50, i, i), "message");
	for (; msg->len < MSG_SIZE - 80; line++)
		bench_check(rk_buf_addf(msg,
			"%06lld 192.0.2.%lld vulnerable-system port 53 "
			"open resolver, seen 2026-11-20\r\n",
			line, line % 250), "message");
}

/* ------------------------------------------------------------ runs */

/* A transport that answers 250 to everything at once: what the store's
 * bookkeeping (sending, outcome) costs alone, for the detail line. */
static enum rk_err null_batch(void *self, const struct deliver_msg *msgs,
			      size_t n, struct deliver_result *res,
			      const struct deliver_session_ops *ops,
			      char *reason)
{
	(void)self;
	(void)msgs;
	(void)reason;
	for (size_t i = 0; i < n; i++) {
		enum rk_err err;

		if (ops->begin(ops->ctx, i))
			continue;
		snprintf(res[i].reply, sizeof(res[i].reply), "250 ok");
		if ((err = ops->finish(ops->ctx, i, RK_OK, &res[i])))
			return err;
	}
	return RK_OK;
}

static void null_free(void *self)
{
	(void)self;
}

static enum rk_err nop_begin(void *ctx, size_t i)
{
	(void)ctx;
	(void)i;
	return RK_OK;
}

static enum rk_err nop_finish(void *ctx, size_t i, enum rk_err sent,
			      struct deliver_result *res)
{
	(void)ctx;
	(void)i;
	(void)sent;
	(void)res;
	return RK_OK;
}

/* The smtp transport alone (libESMTP, sessions of 100 as deliver_pending
 * hands them, no store): the floor libESMTP sets, for the detail line. */
static double libesmtp_run(int port, long long k, const struct rk_log *log)
{
	enum { BATCH = 100 };
	struct deliver_transport *t = NULL;
	struct deliver_session_ops ops = {nop_begin, nop_finish, NULL};
	struct deliver_msg msgs[BATCH];
	struct deliver_result *res;
	struct deliver_rcpt_result *rr;
	struct rk_buf *bodies;
	static const char *const rcpt[] = {"abuse1@org1.example"};
	struct rk_config cfg;
	char url[64], reason[DELIVER_REPLY_MAX];
	double t0;

	res = calloc(BATCH, sizeof(*res));
	rr = calloc(BATCH, sizeof(*rr));
	bodies = calloc(BATCH, sizeof(*bodies));
	if (!res || !rr || !bodies)
		bench_die("smtp: out of memory");
	for (int i = 0; i < BATCH; i++) {
		rk_buf_init(&bodies[i], MSG_SIZE * 2);
		make_notice(&bodies[i], i);
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].key = "bench";
		msgs[i].mail_from = "csirt@bench.example";
		msgs[i].rcpts = rcpt;
		msgs[i].nrcpts = 1;
		msgs[i].data = bodies[i].data;
		msgs[i].len = bodies[i].len;
	}
	bench_check(rk_config_defaults(&cfg), "config");
	cfg.transport.starttls = RK_STARTTLS_DISABLED;
	snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", port);
	t0 = bench_now();
	bench_check(deliver_open(&t, url, &cfg, log), "deliver_open");
	for (long long done = 0; done < k; done += BATCH) {
		size_t n = k - done < BATCH ? (size_t)(k - done) : BATCH;

		for (size_t i = 0; i < n; i++) {
			memset(&res[i], 0, sizeof(res[i]));
			res[i].rcpts = &rr[i];
			res[i].nrcpts = 1;
		}
		bench_check(t->send_batch(t->self, msgs, n, res, &ops, reason),
			    "send_batch");
	}
	deliver_close(t);
	t0 = bench_now() - t0;
	rk_config_release(&cfg);
	for (int i = 0; i < BATCH; i++)
		rk_buf_release(&bodies[i]);
	free(bodies);
	free(rr);
	free(res);
	return t0;
}

static double renraku_run(const char *dir, int run, int port, long long k,
			  const struct rk_log *log)
{
	struct deliver_transport *t = NULL;
	struct deliver_policy policy;
	struct deliver_stats stats;
	struct rk_config cfg;
	struct rk_store *store = NULL;
	struct rk_buf msg, rcpt, id;
	char db[512], url[64];
	double t0;

	snprintf(db, sizeof(db), "%s/smtp-%d.db", dir, run);
	bench_check(store_open(&store, db, 5000, log), "store_open");
	store_set_now(store, 1795170000);
	rk_buf_init(&msg, MSG_SIZE * 2);
	rk_buf_init(&rcpt, 256);
	rk_buf_init(&id, 256);
	bench_check(store_begin(store), "begin");
	for (long long i = 0; i < k; i++) {
		struct store_message m;

		rk_buf_reset(&msg);
		rk_buf_reset(&rcpt);
		rk_buf_reset(&id);
		make_notice(&msg, i);
		bench_check(rk_buf_addf(&rcpt, "abuse%lld@org%lld.example",
					i % 50, i % 50), "rcpt");
		bench_check(rk_buf_addf(&id, "<20261120-%06lld.smtpbench@bench."
					     "example>", i), "id");
		memset(&m, 0, sizeof(m));
		m.direction = "out";
		m.kind = "notice";
		m.message_id = id.data;
		m.mail_from = "csirt@bench.example";
		m.rcpt = rcpt.data;
		m.subject = "bench";
		m.raw = (unsigned char *)msg.data;
		m.raw_len = msg.len;
		bench_check(store_message_add(store, &m, NULL), "queue");
	}
	bench_check(store_commit(store), "commit");
	bench_check(rk_config_defaults(&cfg), "config");
	cfg.transport.starttls = RK_STARTTLS_DISABLED;
	snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", port);
	bench_check(deliver_policy_from_config(&cfg, &policy), "policy");
	memset(&stats, 0, sizeof(stats));
	t0 = bench_now();
	if (port == 0) {
		static struct deliver_transport null_t = {
			"null", NULL, null_free, NULL, null_batch};

		t = &null_t;
	} else {
		bench_check(deliver_open(&t, url, &cfg, log), "deliver_open");
	}
	bench_check(deliver_pending(store, t, log, &policy, 1795170000,
				    &stats), "deliver_pending");
	if (port != 0)
		deliver_close(t);
	t0 = bench_now() - t0;
	if (stats.sent != k)
		bench_die("smtp: %lld of %lld sent", stats.sent, k);
	rk_config_release(&cfg);
	store_close(store);
	rk_buf_release(&msg);
	rk_buf_release(&rcpt);
	rk_buf_release(&id);
	return t0;
}

static void put(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			bench_die("trivial client: write: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

/* Read until `replies` replies have ended (a line "NNN text", not
 * "NNN-text"). */
static void get(int fd, int replies)
{
	char buf[4096];
	int col = 0;
	bool last = false;

	while (replies > 0) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n <= 0)
			bench_die("trivial client: read: %s",
				  n ? strerror(errno) : "closed");
		for (ssize_t i = 0; i < n; i++) {
			if (col == 3)
				last = buf[i] != '-';
			col++;
			if (buf[i] == '\n') {
				if (last)
					replies--;
				col = 0;
				last = false;
			}
		}
	}
}

static double trivial_run(int port, long long k)
{
	struct sockaddr_in a;
	struct rk_buf msg, cmd;
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	double t0 = bench_now();

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		bench_die("trivial client: connect: %s", strerror(errno));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	rk_buf_init(&msg, MSG_SIZE * 2);
	rk_buf_init(&cmd, 512);
	get(fd, 1);
	put(fd, "EHLO bench\r\n", 12);
	get(fd, 1);
	for (long long i = 0; i < k; i++) {
		rk_buf_reset(&msg);
		rk_buf_reset(&cmd);
		make_notice(&msg, i);
		bench_check(rk_buf_addf(&cmd,
			"MAIL FROM:<csirt@bench.example>\r\n"
			"RCPT TO:<abuse%lld@org%lld.example>\r\nDATA\r\n",
			i % 50, i % 50), "cmd");
		put(fd, cmd.data, cmd.len);
		get(fd, 3);
		put(fd, msg.data, msg.len);
		put(fd, ".\r\n", 3);
		get(fd, 1);
	}
	put(fd, "QUIT\r\n", 6);
	get(fd, 1);
	close(fd);
	rk_buf_release(&msg);
	rk_buf_release(&cmd);
	return bench_now() - t0;
}

int main(void)
{
	long long k = bench_env_ll("RK_BENCH_SMTP_COUNT", 2000);
	char *dir = bench_tmpdir();
	double best = 1e30, ref = 1e30, store_only = 1e30, esmtp = 1e30, rate,
	       refrate, ratio;
	struct rk_log log;
	int port, status;
	pid_t sink;
	char detail[512];

	signal(SIGPIPE, SIG_IGN);
	rk_log_init(&log, RK_LOG_WARN);
	sink = sink_start(&port);
	for (int run = 0; run < RUNS; run++) {
		double r = trivial_run(port, k);
		double m = renraku_run(dir, run, port, k, &log);

		double b = renraku_run(dir, run + RUNS, 0, k, &log);
		double e = libesmtp_run(port, k, &log);

		if (e < esmtp)
			esmtp = e;

		if (r < ref)
			ref = r;
		if (m < best)
			best = m;
		if (b < store_only)
			store_only = b;
	}
	kill(sink, SIGTERM);
	waitpid(sink, &status, 0);
	rate = (double)k / best;
	refrate = (double)k / ref;
	ratio = rate / refrate;
	bench_result("smtp deliver (8 KB, store + libESMTP)", rate,
		     "messages/s", refrate, "trivial client, same sink", ratio,
		     ">= 1000 msg/s and >= 0.80",
		     rate >= 1000 && ratio >= 0.8 ? "ok" : "MISS");
	snprintf(detail, sizeof(detail),
		 "DETAIL|smtp: %lld messages a run, best of %d: renraku %.3f s, "
		 "trivial client %.3f s; the store's sending/outcome "
		 "transactions alone %.3f s (%.0f messages/s); the smtp "
		 "transport (libESMTP) alone %.3f s (%.0f messages/s, %.3f "
		 "of the trivial client)",
		 k, RUNS, best, ref, store_only, (double)k / store_only, esmtp,
		 (double)k / esmtp, ref / esmtp);
	puts(detail);
	bench_rmtree(dir);
	free(dir);
	return 0;
}
