/*
 * The SMTP transport, with libESMTP (Debian's 1.1.0).
 *
 * One libESMTP session carries a whole batch: every message is added to
 * the session before it starts, and libESMTP runs MAIL / RCPT / DATA for
 * each in turn on one connection.  The store hears of each message at
 * two points: when libESMTP rewinds the message to send its data (after
 * the server's 354, before the first byte: ops->begin marks it sending)
 * and when the server has answered the end of its data
 * (SMTP_EV_MESSAGESENT: ops->finish records every recipient's outcome).
 * A message the server refused before its data is finished after the
 * session from the statuses libESMTP kept.
 *
 * The message goes out exactly as built: it carries Date, From and
 * Message-ID, so libESMTP adds none, and Bcc is prohibited (stripped if
 * it were ever present).
 *
 * TLS (1.2, see make_ctx): one SSL_CTX for the transport's lifetime, handed to every session
 * with smtp_starttls_set_ctx (libESMTP 1.1.0 frees the context it makes
 * itself when a session ends and crashes in the next STARTTLS session of
 * the process otherwise).  OpenSSL verifies the chain against ca_file or
 * the system CAs and the host name or address of the URL; libESMTP's own
 * name check, which knows no IP addresses, is answered by OpenSSL's.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <auth-client.h>
#include <libesmtp.h>

#include "renraku/deliver.h"

/* The longest password a password file may hold. */
#define SMTP_MAX_PASSWORD 1024
/* Data handed to libESMTP per callback. */
#define SMTP_CHUNK 65536

struct smtp_transport {
	const struct rk_log *log;
	char *server;   /* "host:port" as libESMTP takes it */
	char *host;     /* what the certificate must name */
	enum rk_starttls starttls;
	SSL_CTX *ctx;   /* NULL with starttls off */
	char *user;     /* NULL = no AUTH */
	char *password;
	char *helo;
	long long timeout_ms;
	int port;       /* the server's port, for nodelay() */
};

struct smtp_run;

struct smtp_item {
	struct smtp_run *run;
	size_t index;
	const struct deliver_msg *msg;
	smtp_message_t m;       /* owned by the session */
	size_t pos;
	bool added, begun, begin_failed, finished;
};

struct smtp_run {
	struct smtp_transport *t;
	const struct deliver_session_ops *ops;
	struct deliver_result *res;
	struct smtp_item *items;
	size_t n;
	char reason[DELIVER_REPLY_MAX]; /* why the session failed */
	char refusal[DELIVER_REPLY_MAX]; /* the server's last 4xx/5xx line */
	enum rk_err finish_err;
};

/* ------------------------------------------------------------ helpers */

static void set_reason(struct smtp_run *run, const char *fmt, ...)
	RK_PRINTF(2, 3);
static void set_reason(struct smtp_run *run, const char *fmt, ...)
{
	va_list ap;

	if (run->reason[0])
		return; /* the first cause is the one to report */
	va_start(ap, fmt);
	vsnprintf(run->reason, sizeof(run->reason), fmt, ap);
	va_end(ap);
}

/* "250 2.0.0 Ok: queued as X" from a libESMTP status, control
 * characters of the server's text as spaces. */
static void status_text(const smtp_status_t *st, char *out, size_t len)
{
	size_t n;

	if (!st || st->code == 0) {
		out[0] = '\0';
		return;
	}
	snprintf(out, len, "%d %s", st->code, st->text ? st->text : "");
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	n = strlen(out);
	while (n > 0 && out[n - 1] == ' ')
		out[--n] = '\0';
}

static enum deliver_status code_status(int code)
{
	if (code >= 200 && code < 300)
		return DELIVER_ACCEPTED;
	if (code >= 500 && code < 600)
		return DELIVER_REJECTED;
	return DELIVER_DEFERRED; /* 4xx, or no answer */
}

/* ------------------------------------------------------------ callbacks */

/* The message's bytes, as they are.  A rewind (len NULL) comes after the
 * server's 354, before any byte of the data: the moment the store marks
 * the message sending. */
static const char *message_cb(void **ctx, int *len, void *arg)
{
	struct smtp_item *it = arg;
	size_t left;

	(void)ctx;
	if (!len) {
		it->pos = 0;
		if (!it->begun) {
			it->begun = true;
			if (it->run->ops->begin(it->run->ops->ctx, it->index)) {
				/* The data phase has begun and libESMTP cannot
				 * take it back: the message goes, and the store
				 * may not know.  Said loudly. */
				it->begin_failed = true;
				rk_log_error(it->run->t->log,
					     "smtp: message %s could not be "
					     "marked sending before its data",
					     it->msg->key);
			}
		}
		return NULL;
	}
	left = it->msg->len - it->pos;
	if (left == 0) {
		*len = 0;
		return NULL;
	}
	if (left > SMTP_CHUNK)
		left = SMTP_CHUNK;
	*len = (int)left;
	it->pos += left;
	return it->msg->data + it->pos - left;
}

struct rcpt_walk {
	struct smtp_item *it;
	struct deliver_result *res;
	size_t answered, accepted;
};

static void rcpt_cb(smtp_recipient_t r, const char *mailbox, void *arg)
{
	struct rcpt_walk *w = arg;
	uintptr_t k = (uintptr_t)smtp_recipient_get_application_data(r);
	const smtp_status_t *st = smtp_recipient_status(r);

	(void)mailbox;
	if (k == 0 || k > w->res->nrcpts)
		return;
	k--;
	w->res->rcpts[k].status = code_status(st ? st->code : 0);
	status_text(st, w->res->rcpts[k].reply, sizeof(w->res->rcpts[k].reply));
	if (st && st->code)
		w->answered++;
	if (st && st->code >= 200 && st->code < 300)
		w->accepted++;
}

/* Fill it's result from libESMTP's statuses and report it, when the
 * server has said enough: an answer to the data, or (no data went) an
 * answer to every recipient and none accepted.  Otherwise the message
 * stays unfinished (the connection failed). */
static void item_settle(struct smtp_item *it, smtp_message_t m)
{
	struct smtp_run *run = it->run;
	struct deliver_result *res = &run->res[it->index];
	const smtp_status_t *st = smtp_message_transfer_status(m);
	const smtp_status_t *rp = smtp_reverse_path_status(m);
	struct rcpt_walk w = {it, res, 0, 0};
	enum rk_err err;

	if (it->finished)
		return;
	if (rp && rp->code >= 400) {
		/* MAIL FROM refused: the sender (or a failed AUTH), not the
		 * recipients; the session's trouble */
		char text[DELIVER_REPLY_MAX];

		status_text(rp, text, sizeof(text));
		set_reason(run, "the server refused MAIL FROM:<%s>: %s",
			   it->msg->mail_from ? it->msg->mail_from : "",
			   text);
		return;
	}
	smtp_enumerate_recipients(m, rcpt_cb, &w);
	if (!(st && st->code) &&
	    !(w.answered == it->msg->nrcpts && w.accepted == 0))
		return;
	res->status = st && st->code ? code_status(st->code)
				     : DELIVER_DEFERRED;
	if (w.accepted == 0)
		/* the DATA answer would only say there was no RCPT */
		snprintf(res->reply, sizeof(res->reply),
			 "no recipient accepted");
	else
		status_text(st, res->reply, sizeof(res->reply));
	it->finished = true;
	err = run->ops->finish(run->ops->ctx, it->index, RK_OK, res);
	if (err && !run->finish_err)
		run->finish_err = err;
}

/* The protocol as libESMTP reads it (commands, replies; never the
 * message data): the last refusal is kept for the error, so that a
 * failed AUTH (libESMTP goes on to MAIL, or quits) is named.  What the
 * client writes (AUTH carries the password) is not looked at. */
static void monitor_cb(const char *buf, int len, int writing, void *arg)
{
	struct smtp_run *run = arg;
	size_t n;

	if (writing != SMTP_CB_READING || len < 3 ||
	    (buf[0] != '4' && buf[0] != '5'))
		return;
	n = (size_t)len < sizeof(run->refusal) - 1 ? (size_t)len
						    : sizeof(run->refusal) - 1;
	memcpy(run->refusal, buf, n);
	run->refusal[n] = '\0';
	for (char *p = run->refusal; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	while (n > 0 && run->refusal[n - 1] == ' ')
		run->refusal[--n] = '\0';
}

/* TCP_NODELAY on libESMTP's connection.  libESMTP writes the message in
 * 2 KB pieces and the final dot separately, and does not set the option:
 * with Nagle on, that last small write waits for the server's delayed
 * ACK (40 ms on Linux) before it leaves, a cap of ~25 messages a second
 * per connection.  libESMTP does not hand out its socket, so at
 * SMTP_EV_CONNECT the process's TCP sockets connected to the server's
 * port get the option (a session is the only such connection the
 * process has while it runs; the option is harmless on any other).
 *
 * The open descriptors are read from /proc/self/fd: trying every number
 * up to RLIMIT_NOFILE (20,000 here) cost a getsockopt each, ~20 ms a
 * session, a fifth of a millisecond per message (bench_smtp).  Without
 * /proc, the first 1,024 numbers are tried. */
static void nodelay_fd(int fd, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int type = 0, one = 1, peer_port = -1;
	socklen_t tlen = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) != 0 ||
	    type != SOCK_STREAM ||
	    getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET)
		peer_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	else if (ss.ss_family == AF_INET6)
		peer_port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	if (peer_port == port)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void nodelay(int port)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	if (!d) {
		for (int fd = 3; fd < 1024; fd++)
			nodelay_fd(fd, port);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		long long fd = 0;

		if (de->d_name[0] == '.' ||
		    rk_parse_long(de->d_name, 3, INT_MAX, &fd) != RK_OK ||
		    (int)fd == dirfd(d))
			continue;
		nodelay_fd((int)fd, port);
	}
	closedir(d);
}

static void event_cb(smtp_session_t session, int event, void *arg, ...)
{
	struct smtp_run *run = arg;
	va_list ap;

	(void)session;
	va_start(ap, arg);
	switch (event) {
	case SMTP_EV_CONNECT:
		nodelay(run->t->port);
		break;
	case SMTP_EV_MESSAGESENT: {
		smtp_message_t m = va_arg(ap, smtp_message_t);
		struct smtp_item *it = smtp_message_get_application_data(m);

		if (it)
			item_settle(it, m);
		break;
	}
	case SMTP_EV_EXTNA_STARTTLS:
		set_reason(run, "the server does not offer STARTTLS and "
				"[transport] starttls = required");
		break;
	case SMTP_EV_INVALID_PEER_CERTIFICATE: {
		long vfy = va_arg(ap, long);
		int *ok = va_arg(ap, int *);

		*ok = 0;
		set_reason(run, "TLS: the server's certificate is not valid: %s",
			   X509_verify_cert_error_string(vfy));
		break;
	}
	case SMTP_EV_NO_PEER_CERTIFICATE: {
		int *ok = va_arg(ap, int *);

		*ok = 0;
		set_reason(run, "TLS: the server sent no certificate");
		break;
	}
	case SMTP_EV_WRONG_PEER_CERTIFICATE: {
		/* OpenSSL checked the name (or address) during the
		 * handshake already (X509_VERIFY_PARAM_set1_host/_ip): a
		 * handshake that got here passed it */
		int *ok = va_arg(ap, int *);

		*ok = 1;
		break;
	}
	case SMTP_EV_WEAK_CIPHER: {
		int bits = va_arg(ap, int);
		int *ok = va_arg(ap, int *);

		*ok = 0;
		set_reason(run, "TLS: cipher too weak (%d bits)", bits);
		break;
	}
	case SMTP_EV_UNUSABLE_CA_LIST:
		set_reason(run, "TLS: the CA list cannot be used");
		break;
	default:
		break;
	}
	va_end(ap);
}

static int auth_interact(auth_client_request_t request, char **result,
			 int fields, void *arg)
{
	const struct smtp_transport *t = arg;

	for (int i = 0; i < fields; i++) {
		if (request[i].flags & AUTH_USER)
			result[i] = t->user;
		else if (request[i].flags & AUTH_PASS)
			result[i] = t->password;
		else
			return 0; /* a realm, ...: not ours to answer */
	}
	return 1;
}

/* ------------------------------------------------------------ a session */

static enum rk_err smtp_send_batch(void *self, const struct deliver_msg *msgs,
				   size_t n, struct deliver_result *res,
				   const struct deliver_session_ops *ops,
				   char *reason)
{
	struct smtp_transport *t = self;
	struct smtp_run run;
	smtp_session_t session = NULL;
	auth_context_t auth = NULL;
	enum rk_err err = RK_OK;
	size_t added = 0, unfinished = 0;
	static const int timeouts[] = {Timeout_GREETING, Timeout_ENVELOPE,
				       Timeout_DATA, Timeout_TRANSFER,
				       Timeout_DATA2};

	memset(&run, 0, sizeof(run));
	run.t = t;
	run.ops = ops;
	run.res = res;
	run.n = n;
	reason[0] = '\0';
	if (!(run.items = calloc(n ? n : 1, sizeof(*run.items))))
		return RK_ERR_NOMEM;
	if (!(session = smtp_create_session())) {
		err = RK_ERR_NOMEM;
		goto cleanup;
	}
	if (!smtp_set_server(session, t->server) ||
	    (t->helo && !smtp_set_hostname(session, t->helo)) ||
	    !smtp_set_eventcb(session, event_cb, &run)) {
		err = rk_fail(t->log, RK_ERR_INTERNAL, "smtp: session setup failed");
		goto cleanup;
	}
	smtp_set_monitorcb(session, monitor_cb, &run, 0);
	for (size_t i = 0; i < RK_ARRAY_LEN(timeouts); i++)
		smtp_set_timeout(session,
				 timeouts[i] | Timeout_OVERRIDE_RFC2822_MINIMUM,
				 (long)t->timeout_ms);
	if (t->ctx) {
		smtp_starttls_enable(session, t->starttls == RK_STARTTLS_REQUIRED
						      ? Starttls_REQUIRED
						      : Starttls_ENABLED);
		smtp_starttls_set_ctx(session, t->ctx);
	} else {
		smtp_starttls_enable(session, Starttls_DISABLED);
	}
	if (t->user) {
		if (!(auth = auth_create_context())) {
			err = RK_ERR_NOMEM;
			goto cleanup;
		}
		auth_set_mechanism_flags(auth, AUTH_PLUGIN_PLAIN, 0);
		auth_set_interact_cb(auth, auth_interact, t);
		smtp_auth_set_context(session, auth);
	}
	for (size_t i = 0; i < n; i++) {
		struct smtp_item *it = &run.items[i];
		const struct deliver_msg *msg = &msgs[i];
		smtp_message_t m;

		it->run = &run;
		it->index = i;
		it->msg = msg;
		if (msg->nrcpts == 0 || !msg->data || msg->len == 0 ||
		    msg->len > INT_MAX) {
			/* nothing to send (the store says why), or nothing
			 * that can be: reported as such, no connection */
			if (msg->nrcpts > 0)
				snprintf(res[i].reply, sizeof(res[i].reply),
					 "no message data");
			if (!ops->begin(ops->ctx, i)) {
				it->finished = true;
				err = ops->finish(ops->ctx, i,
						  msg->nrcpts ? RK_ERR_TRANSPORT
							      : RK_OK,
						  &res[i]);
				if (err)
					goto cleanup;
			}
			it->finished = true;
			continue;
		}
		if (!(m = smtp_add_message(session)) ||
		    !smtp_set_reverse_path(m, msg->mail_from ? msg->mail_from
							     : "") ||
		    !smtp_set_messagecb(m, message_cb, it)) {
			err = RK_ERR_NOMEM;
			goto cleanup;
		}
		smtp_set_header_option(m, "Bcc", Hdr_PROHIBIT, 1);
		smtp_message_set_application_data_release(m, it, NULL);
		it->m = m;
		for (size_t k = 0; k < msg->nrcpts; k++) {
			smtp_recipient_t r = smtp_add_recipient(m, msg->rcpts[k]);

			if (!r) {
				err = RK_ERR_NOMEM;
				goto cleanup;
			}
			smtp_recipient_set_application_data_release(
				r, (void *)(uintptr_t)(k + 1), NULL);
		}
		it->added = true;
		added++;
	}
	if (added > 0) {
		int ok;

		ERR_clear_error();
		ok = smtp_start_session(session);
		{
			unsigned long ssl_err = ERR_peek_last_error();

			if (ssl_err && !run.reason[0])
				set_reason(&run, "TLS with %s: %s", t->server,
					   ERR_reason_error_string(ssl_err)
						   ? ERR_reason_error_string(ssl_err)
						   : "handshake failed");
		}
		if (run.refusal[0])
			set_reason(&run, "smtp %s: the server answered: %s",
				   t->server, run.refusal);
		if (!ok) {
			char buf[256];

			set_reason(&run, "smtp %s: %s", t->server,
				   smtp_strerror(smtp_errno(), buf, sizeof(buf)));
		}
		/* what the server refused before any data: finished from
		 * the statuses libESMTP kept */
		for (size_t i = 0; i < n; i++) {
			struct smtp_item *it = &run.items[i];

			if (it->added && !it->finished)
				item_settle(it, it->m);
			if (it->added && !it->finished)
				unfinished++;
		}
		if (run.finish_err)
			err = run.finish_err;
		else if (unfinished > 0) {
			set_reason(&run, "smtp %s: the connection ended before "
					 "the server answered",
				   t->server);
			err = RK_ERR_TEMPFAIL;
		}
	}
cleanup:
	if (session)
		smtp_destroy_session(session);
	if (auth)
		auth_destroy_context(auth);
	free(run.items);
	if (err && run.reason[0])
		snprintf(reason, DELIVER_REPLY_MAX, "%s", run.reason);
	return err;
}

/* ------------------------------------------------------------ open */

static void smtp_free(void *self)
{
	struct smtp_transport *t = self;

	if (!t)
		return;
	if (t->password) {
		OPENSSL_cleanse(t->password, strlen(t->password));
		free(t->password);
	}
	SSL_CTX_free(t->ctx);
	free(t->server);
	free(t->host);
	free(t->user);
	free(t->helo);
	free(t);
}

/* The password: the file's first line, which only its owner may read. */
static enum rk_err read_password(const char *path, const struct rk_log *log,
				 char **out)
{
	char buf[SMTP_MAX_PASSWORD + 2];
	struct stat st;
	ssize_t got;
	size_t len = 0;
	int fd;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return rk_fail(log, RK_ERR_CONFIG,
			       "[transport] password_file '%s': %s", path,
			       strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return rk_fail(log, RK_ERR_CONFIG,
			       "[transport] password_file '%s' is not a "
			       "regular file", path);
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		close(fd);
		return rk_fail(log, RK_ERR_CONFIG,
			       "[transport] password_file '%s' can be read by "
			       "group or others (mode %04o): chmod 600 it",
			       path, (unsigned)(st.st_mode & 07777));
	}
	while (len < sizeof(buf) - 1 &&
	       (got = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)got;
	close(fd);
	buf[len] = '\0';
	len = strcspn(buf, "\r\n");
	buf[len] = '\0';
	if (len == 0 || len > SMTP_MAX_PASSWORD || memchr(buf, '\0', len)) {
		OPENSSL_cleanse(buf, sizeof(buf));
		return rk_fail(log, RK_ERR_CONFIG,
			       "[transport] password_file '%s' holds no password "
			       "on its first line (at most %d bytes)",
			       path, SMTP_MAX_PASSWORD);
	}
	*out = rk_strdup(buf);
	OPENSSL_cleanse(buf, sizeof(buf));
	return *out ? RK_OK : RK_ERR_NOMEM;
}

static enum rk_err make_ctx(struct smtp_transport *t, const char *ca_file)
{
	X509_VERIFY_PARAM *param;
	unsigned char addr[16];
	bool is_ip;

	if (!(t->ctx = SSL_CTX_new(TLS_client_method())))
		return RK_ERR_NOMEM;
	/* TLS 1.2 only: a TLS 1.3 server sends its session tickets after
	 * the handshake, and libESMTP 1.1.0, finding them readable when it
	 * has queued EHLO but not flushed it, blocks reading the answer to a
	 * command it never sent (until the timeout).  In TLS 1.2 tickets
	 * are part of the handshake. */
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(t->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	if (ca_file) {
		if (SSL_CTX_load_verify_locations(t->ctx, ca_file, NULL) != 1)
			return rk_fail(t->log, RK_ERR_CONFIG,
				       "[transport] ca_file '%s' cannot be "
				       "read as PEM certificates", ca_file);
	} else if (SSL_CTX_set_default_verify_paths(t->ctx) != 1) {
		return rk_fail(t->log, RK_ERR_CONFIG,
			       "smtp: the system CA certificates cannot be "
			       "loaded (set [transport] ca_file)");
	}
	param = SSL_CTX_get0_param(t->ctx);
	is_ip = inet_pton(AF_INET, t->host, addr) == 1 ||
		inet_pton(AF_INET6, t->host, addr) == 1;
	X509_VERIFY_PARAM_set_hostflags(param,
					X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, t->host) != 1
		  : X509_VERIFY_PARAM_set1_host(param, t->host, 0) != 1)
		return rk_fail(t->log, RK_ERR_CONFIG,
			       "smtp: cannot check certificates for '%s'",
			       t->host);
	return RK_OK;
}

enum rk_err deliver_smtp_open(struct deliver_transport **out,
			      const struct deliver_smtp_options *opts,
			      const struct rk_log *log)
{
	struct deliver_transport *tr = NULL;
	struct smtp_transport *t = NULL;
	struct sigaction sa;
	size_t hostlen;
	enum rk_err err;

	*out = NULL;
	if (!opts->host || !*opts->host || !opts->port)
		return rk_fail(log, RK_ERR_CONFIG, "smtp: no server");
	if (opts->user && !opts->password_file)
		return rk_fail(log, RK_ERR_CONFIG,
			       "[transport] user is set but password_file is not");
	if (opts->user && opts->starttls == RK_STARTTLS_DISABLED)
		return rk_fail(log, RK_ERR_CONFIG,
			       "[transport] user with starttls = off would send "
			       "the password in clear: use starttls = required");
	/* a server that closes on us must not kill the process */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, NULL);
	tr = calloc(1, sizeof(*tr));
	t = calloc(1, sizeof(*t));
	if (!tr || !t) {
		err = RK_ERR_NOMEM;
		goto cleanup;
	}
	t->log = log;
	t->starttls = opts->starttls;
	t->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 60000;
	hostlen = strlen(opts->host);
	/* [::1] in the URL: the address without brackets for the check */
	if (opts->host[0] == '[' && hostlen > 2 && opts->host[hostlen - 1] == ']')
		t->host = rk_strndup(opts->host + 1, hostlen - 2);
	else
		t->host = rk_strdup(opts->host);
	t->server = malloc(hostlen + strlen(opts->port) + 2);
	if (!t->host || !t->server ||
	    (opts->user && !(t->user = rk_strdup(opts->user))) ||
	    (opts->helo && !(t->helo = rk_strdup(opts->helo)))) {
		err = RK_ERR_NOMEM;
		goto cleanup;
	}
	snprintf(t->server, hostlen + strlen(opts->port) + 2, "%s:%s",
		 opts->host, opts->port);
	{
		long long port = 0;

		if (rk_parse_long(opts->port, 1, 65535, &port) != RK_OK) {
			err = rk_fail(log, RK_ERR_CONFIG,
				      "smtp: port '%s' is not a number from 1 "
				      "to 65535", opts->port);
			goto cleanup;
		}
		t->port = (int)port;
	}
	if (opts->user &&
	    (err = read_password(opts->password_file, log, &t->password)))
		goto cleanup;
	if (opts->starttls != RK_STARTTLS_DISABLED &&
	    (err = make_ctx(t, opts->ca_file)))
		goto cleanup;
	auth_client_init();
	tr->name = "smtp";
	tr->send = NULL;
	tr->send_batch = smtp_send_batch;
	tr->free = smtp_free;
	tr->self = t;
	t = NULL;
	*out = tr;
	tr = NULL;
	rk_log_debug(log, "delivering over SMTP to %s:%s (starttls %s)",
		     opts->host, opts->port,
		     opts->starttls == RK_STARTTLS_REQUIRED	 ? "required"
		     : opts->starttls == RK_STARTTLS_OPPORTUNISTIC ? "opportunistic"
								   : "off");
	err = RK_OK;
cleanup:
	smtp_free(t);
	free(tr);
	return err;
}
