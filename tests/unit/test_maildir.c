/* The maildir transport, transport selection, the messages table and
 * deliver_pending. */
#include <dirent.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "renraku/deliver.h"
#include "renraku/store.h"
#include "testutil.h"

/* The retry policy of max_attempts attempts, no jitter, no time limit. */
#define RETRY(n) (&(const struct store_retry[]){store_retry_attempts(n)}[0])
#define POLICY(n)                                                         \
	(&(const struct deliver_policy[]){{store_retry_attempts(n), 0, 0, 0}}[0])

static const char sample[] =
	"From: a@example.org\r\nTo: b@example.net\r\nSubject: x\r\n"
	"Message-ID: <1@example.org>\r\n\r\nbody\r\n";

/* Names in dir (not starting with '.'), count returned; first name copied
 * into first (may be NULL). */
static size_t list_dir(const char *dir, char **first)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	if (first)
		*first = NULL;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (first && !*first)
			*first = rk_strdup(de->d_name);
		n++;
	}
	closedir(d);
	return n;
}

static char *sub(const char *dir, const char *name)
{
	char *path = NULL;

	assert_int_equal(rk_path_join(dir, name, &path), RK_OK);
	return path;
}

static void send_msg(struct deliver_transport *t, const char *key,
		     const char *data, struct deliver_result *res,
		     enum rk_err want)
{
	const char *rcpts[] = {"b@example.net"};
	/* every send after the first of a key is a retry */
	struct deliver_msg msg = {key, "a@example.org", rcpts, 1, data,
				  strlen(data), true};

	memset(res, 0, sizeof(*res));
	assert_int_equal(t->send(t->self, &msg, res), want);
}

static void test_maildir_delivery(void **state)
{
	struct rk_log log;
	struct deliver_transport *t = NULL;
	struct deliver_result res;
	char *dir = rk_test_tmpdir(), *md = sub(dir, "Maildir");
	char *newd = sub(md, "new"), *cur = sub(md, "cur"), *tmp = sub(md, "tmp");
	char *name = NULL, *path, *data, *moved, *cur_path;
	struct stat st;
	size_t len;

	(void)state;
	rk_log_init(&log, RK_LOG_ERROR);
	assert_int_equal(deliver_maildir_open(&t, md, &log), RK_OK);
	assert_string_equal(t->name, "maildir");
	assert_int_equal(stat(newd, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(cur, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(tmp, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	send_msg(t, "42-00aa", sample, &res, RK_OK);
	assert_string_equal(res.reply, "delivered to maildir");
	assert_int_equal(list_dir(newd, &name), 1);
	assert_int_equal(list_dir(tmp, NULL), 0);
	assert_null(strchr(name, ':'));
	assert_int_equal(strncmp(name, "renraku-42-00aa.", 16), 0);
	path = sub(newd, name);
	assert_string_equal(res.location, path);
	data = rk_test_read(path, &len);
	assert_int_equal(len, strlen(sample));
	assert_memory_equal(data, sample, len);
	free(data);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* the same key again: still one file, the first one */
	send_msg(t, "42-00aa", "other bytes\r\n", &res, RK_OK);
	assert_string_equal(res.location, path);
	assert_string_equal(res.reply, "already delivered to maildir");
	assert_int_equal(list_dir(newd, NULL), 1);
	data = rk_test_read(path, &len);
	assert_memory_equal(data, sample, len);
	free(data);

	/* a reader moved it to cur/ and flagged it seen: still found */
	{
		struct rk_buf b;

		rk_buf_init(&b, 4096);
		assert_int_equal(rk_buf_addf(&b, "%s:2,S", name), RK_OK);
		moved = rk_buf_detach(&b, NULL);
	}
	cur_path = sub(cur, moved);
	assert_int_equal(rename(path, cur_path), 0);
	send_msg(t, "42-00aa", sample, &res, RK_OK);
	assert_string_equal(res.location, cur_path);
	assert_int_equal(list_dir(newd, NULL), 0);
	assert_int_equal(list_dir(cur, NULL), 1);

	/* another key: another file */
	send_msg(t, "43-00bb", sample, &res, RK_OK);
	assert_int_equal(list_dir(newd, NULL), 1);

	/* keys that are not safe names never reach the file system */
	send_msg(t, "../../x", sample, &res, RK_ERR_TRANSPORT);
	send_msg(t, "a:b", sample, &res, RK_ERR_TRANSPORT);
	send_msg(t, "", sample, &res, RK_ERR_TRANSPORT);
	send_msg(t, "44", "", &res, RK_ERR_TRANSPORT);
	assert_int_equal(list_dir(newd, NULL), 1);
	assert_int_equal(list_dir(tmp, NULL), 0);

	deliver_close(t);
	rk_test_rmtree(dir);
	free(name);
	free(path);
	free(moved);
	free(cur_path);
	free(newd);
	free(cur);
	free(tmp);
	free(md);
	free(dir);
}

static void test_deliver_open(void **state)
{
	struct rk_config cfg;
	struct rk_log log;
	struct deliver_transport *t = NULL;
	struct stat st;
	FILE *devnull = fopen("/dev/null", "w");
	char *dir = rk_test_tmpdir(), *expect;

	(void)state;
	assert_non_null(devnull);
	log.level = RK_LOG_ERROR;
	log.stream = devnull;
	rk_test_config(&cfg);
	assert_int_equal(rk_str_set(&cfg.base_dir, dir), RK_OK);
	assert_int_equal(deliver_open(&t, "maildir:outbox", &cfg, &log), RK_OK);
	expect = sub(dir, "outbox/new");
	assert_int_equal(stat(expect, &st), 0);
	deliver_close(t);
	t = NULL;
	/* smtp opens without connecting; smtps (implicit TLS) is refused */
	assert_int_equal(deliver_open(&t, "smtp://127.0.0.1:25", &cfg, &log),
			 RK_OK);
	assert_non_null(t);
	assert_non_null(t->send_batch);
	deliver_close(t);
	t = NULL;
	assert_int_equal(deliver_open(&t, "smtps://127.0.0.1:465", &cfg, &log),
			 RK_ERR_CONFIG);
	assert_null(t);
	assert_int_equal(deliver_open(&t, "maildir:", &cfg, &log),
			 RK_ERR_CONFIG);
	assert_int_equal(deliver_open(&t, "mbox:/tmp/x", &cfg, &log),
			 RK_ERR_CONFIG);
	assert_int_equal(deliver_open(&t, "", &cfg, &log), RK_ERR_CONFIG);
	deliver_close(NULL);
	rk_config_release(&cfg);
	rk_test_rmtree(dir);
	free(expect);
	free(dir);
	fclose(devnull);
}

static void add_message(struct rk_store *store, const char *msgid,
			const char *rcpt, int64_t *id)
{
	struct store_message m;

	memset(&m, 0, sizeof(m));
	m.direction = "out";
	m.kind = "notice";
	m.message_id = (char *)msgid;
	m.mail_from = "csirt@example.org";
	m.rcpt = (char *)rcpt;
	m.subject = "件名";
	m.created_at = 1795169700;
	m.raw = (unsigned char *)sample;
	m.raw_len = strlen(sample);
	assert_int_equal(store_begin(store), RK_OK);
	assert_int_equal(store_message_add(store, &m, id), RK_OK);
	assert_int_equal(store_commit(store), RK_OK);
}

/* A transport scripted per recipient: status[i] / reply[i] for the i-th
 * envelope address it is handed (matched by address), and msg_status for
 * the DATA part.  It records what it was given. */
#define FAKE_MAX 8
struct fake {
	enum rk_err answer;          /* what send returns */
	enum deliver_status msg_status;
	const char *addr[FAKE_MAX];  /* scripted recipients */
	enum deliver_status status[FAKE_MAX];
	int calls;
	size_t nrcpts;
	char seen[FAKE_MAX][64];     /* the last call's recipients */
	bool retry;
};

static enum rk_err fake_send(void *self, const struct deliver_msg *msg,
			     struct deliver_result *res)
{
	struct fake *f = self;

	f->calls++;
	f->nrcpts = msg->nrcpts;
	f->retry = msg->retry;
	assert_int_equal(res->nrcpts, msg->nrcpts);
	for (size_t i = 0; i < msg->nrcpts && i < FAKE_MAX; i++) {
		snprintf(f->seen[i], sizeof(f->seen[i]), "%s", msg->rcpts[i]);
		/* every recipient arrives accepted and empty */
		assert_int_equal(res->rcpts[i].status, DELIVER_ACCEPTED);
		assert_string_equal(res->rcpts[i].reply, "");
		for (size_t j = 0; j < FAKE_MAX && f->addr[j]; j++) {
			if (strcmp(f->addr[j], msg->rcpts[i]) != 0)
				continue;
			res->rcpts[i].status = f->status[j];
			snprintf(res->rcpts[i].reply,
				 sizeof(res->rcpts[i].reply), "%s",
				 f->status[j] == DELIVER_ACCEPTED ? "250 2.1.5 ok"
				 : f->status[j] == DELIVER_DEFERRED
				     ? "451 4.2.0 greylisted"
				     : "550 5.1.1 no such user");
		}
	}
	res->status = f->msg_status;
	snprintf(res->reply, sizeof(res->reply), "%s",
		 f->answer == RK_ERR_TEMPFAIL ? "451 try later"
		 : f->answer ? "transport broken"
		 : f->msg_status == DELIVER_ACCEPTED ? "250 2.0.0 queued as X1"
		 : f->msg_status == DELIVER_DEFERRED ? "452 4.3.1 disk full"
						     : "554 5.6.0 refused");
	return f->answer;
}

static void fake_free(void *self)
{
	(void)self;
}

static struct rk_store *quiet_store(char *dir, struct rk_log *log,
				    FILE **devnull)
{
	*devnull = fopen("/dev/null", "w");
	assert_non_null(*devnull);
	log->level = RK_LOG_INFO;
	log->stream = *devnull;
	return rk_test_store(dir, log);
}

/* The deliveries of message row id (caller frees). */
static void deliveries(struct rk_store *store, int64_t id,
		       struct store_delivery **rows, size_t *n)
{
	assert_int_equal(store_message_deliveries(store, id, rows, n), RK_OK);
}

static void test_pending(void **state)
{
	struct rk_log log;
	struct rk_store *store;
	struct deliver_transport *t = NULL;
	struct deliver_stats stats = {0, 0, 0};
	struct store_message *rows = NULL;
	struct store_delivery *dl = NULL;
	char *dir = rk_test_tmpdir(), *md = sub(dir, "Maildir");
	char *newd = sub(md, "new");
	int64_t id1, id2, id3, id4;
	size_t n;
	FILE *devnull;

	(void)state;
	store = quiet_store(dir, &log, &devnull);
	add_message(store, "<1@example.org>", "a@example.net", &id1);
	add_message(store, "<2@example.org>", "b@example.net, c@example.net", &id2);
	add_message(store, "<3@example.org>", "d@example.net", &id3);
	add_message(store, "<4@example.org>", " , ", &id4);
	assert_true(id1 < id2 && id2 < id3);
	{
		struct store_message dup;

		memset(&dup, 0, sizeof(dup));
		dup.message_id = "<1@example.org>";
		assert_int_equal(store_begin(store), RK_OK);
		assert_int_equal(store_message_add(store, &dup, NULL),
				 RK_ERR_EXISTS);
		store_rollback(store);
	}
	/* one delivery per envelope recipient, queued with the message */
	deliveries(store, id2, &dl, &n);
	assert_int_equal(n, 2);
	assert_string_equal(dl[0].rcpt, "b@example.net");
	assert_string_equal(dl[1].rcpt, "c@example.net");
	assert_string_equal(dl[0].state, STORE_DLV_QUEUED);
	assert_int_equal(dl[0].message_row, id2);
	assert_null(dl[0].reply);
	store_deliveries_free(dl, n);
	deliveries(store, id4, &dl, &n);
	assert_int_equal(n, 0);
	store_deliveries_free(dl, n);

	assert_int_equal(store_messages_pending(store, 0, 10, &rows, &n), RK_OK);
	assert_int_equal(n, 4);
	assert_int_equal(rows[0].id, id1);
	assert_string_equal(rows[0].state, STORE_MSG_QUEUED);
	assert_string_equal(rows[0].subject, "件名");
	assert_int_equal(rows[0].raw_len, strlen(sample));
	assert_memory_equal(rows[0].raw, sample, rows[0].raw_len);
	assert_int_equal(rows[0].attempts, 0);
	store_messages_free(rows, n);
	assert_int_equal(store_messages_pending(store, 0, 2, &rows, &n), RK_OK);
	assert_int_equal(n, 2);
	store_messages_free(rows, n);

	assert_int_equal(deliver_maildir_open(&t, md, &log), RK_OK);
	assert_int_equal(deliver_pending(store, t, &log, POLICY(24), 1795170000,
					 &stats), RK_OK);
	assert_int_equal(stats.sent, 3);
	assert_int_equal(stats.failed, 1); /* no recipients */
	assert_int_equal(stats.deferred, 0);
	assert_int_equal(list_dir(newd, NULL), 3);
	assert_int_equal(store_messages_pending(store, 0, 10, &rows, &n), RK_OK);
	assert_int_equal(n, 0);
	store_messages_free(rows, n);
	/* maildir accepts every recipient, with the file as location */
	deliveries(store, id2, &dl, &n);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(dl[i].state, STORE_DLV_SENT);
		assert_int_equal(dl[i].attempts, 1);
		assert_non_null(dl[i].location);
		assert_int_equal(strncmp(dl[i].location, newd, strlen(newd)), 0);
		assert_string_equal(dl[i].reply, "delivered to maildir");
		assert_int_equal(dl[i].updated_at, 1795170000);
	}
	store_deliveries_free(dl, n);
	/* a message that is not pending cannot be attempted again */
	{
		bool gave_up;

		assert_int_equal(store_message_attempt(store, id2, RETRY(24), 1, &dl,
						       &n, &gave_up),
				 RK_ERR_INVAL);
		assert_int_equal(store_message_attempt(store, 9999, RETRY(24), 1, &dl,
						       &n, &gave_up),
				 RK_ERR_NOTFOUND);
	}

	/* a run that died after "sending": the attempt was counted, the
	 * message goes again as a retry, and the maildir has it already */
	{
		struct store_delivery *todo = NULL;
		size_t ntodo = 0;
		bool gave_up = true;
		int64_t id5;

		add_message(store, "<5@example.org>", "e@example.net", &id5);
		memset(&stats, 0, sizeof(stats));
		/* the transport wrote the file, then the run was killed */
		assert_int_equal(store_message_attempt(store, id5, RETRY(24), 1795170001,
						       &todo, &ntodo, &gave_up),
				 RK_OK);
		assert_false(gave_up);
		assert_int_equal(ntodo, 1);
		assert_string_equal(todo[0].rcpt, "e@example.net");
		store_deliveries_free(todo, ntodo);
		assert_int_equal(deliver_pending(store, t, &log, POLICY(24), 1795170002,
						 &stats), RK_OK);
		assert_int_equal(stats.sent, 1);
		assert_int_equal(list_dir(newd, NULL), 4);
		assert_int_equal(store_messages_pending(store, 0, 10, &rows, &n),
				 RK_OK);
		assert_int_equal(n, 0);
		store_messages_free(rows, n);
		assert_int_equal(store_message_attempt(store, id5, RETRY(24), 1, &todo,
						       &ntodo, &gave_up),
				 RK_ERR_INVAL);
	}
	deliver_close(t);

	/* a temporary failure of the whole attempt defers every recipient;
	 * any other failure fails them */
	{
		struct fake f = {.answer = RK_ERR_TEMPFAIL};
		struct deliver_transport ft = {"fake", fake_send, fake_free, &f};
		int64_t id6, id7;

		add_message(store, "<6@example.org>", "e@example.net,f@example.net",
			    &id6);
		memset(&stats, 0, sizeof(stats));
		assert_int_equal(deliver_pending(store, &ft, &log, POLICY(24), 1795170003,
						 &stats), RK_OK);
		assert_int_equal(stats.deferred, 1);
		assert_int_equal(f.calls, 1);
		assert_int_equal(f.nrcpts, 2);
		assert_false(f.retry);
		deliveries(store, id6, &dl, &n);
		assert_string_equal(dl[0].state, STORE_DLV_DEFERRED);
		assert_string_equal(dl[1].state, STORE_DLV_DEFERRED);
		assert_string_equal(dl[1].reply, "451 try later");
		assert_int_equal(dl[1].next_attempt, 1795170003 + 300);
		store_deliveries_free(dl, n);
		f.answer = RK_ERR_TRANSPORT;
		add_message(store, "<7@example.org>", "g@example.net", &id7);
		memset(&stats, 0, sizeof(stats));
		assert_int_equal(deliver_pending(store, &ft, &log, POLICY(24), 1795170004,
						 &stats), RK_OK);
		assert_int_equal(stats.failed, 1);
		assert_int_equal(f.calls, 2);
		deliveries(store, id7, &dl, &n);
		assert_string_equal(dl[0].state, STORE_DLV_FAILED);
		assert_string_equal(dl[0].reply, "transport broken");
		store_deliveries_free(dl, n);
	}
	store_close(store);
	rk_test_rmtree(dir);
	free(newd);
	free(md);
	free(dir);
	fclose(devnull);
}

/* A maildir session writes every message and syncs new/ once before it
 * records any outcome.  When recording stops it (here the second
 * outcome fails), the messages not recorded wait for a retry, and the
 * retry records them from the copies it finds, without a second file
 * (a crash leaves them "sending": the same path, test_crash). */
struct stopping {
	struct deliver_transport *md; /* the real maildir transport */
	const struct deliver_session_ops *ops;
	size_t finished;
};

static enum rk_err stop_finish(void *ctx, size_t i, enum rk_err sent,
			       struct deliver_result *res)
{
	struct stopping *s = ctx;

	if (i == 1)
		return RK_ERR_DB;
	s->finished++;
	return s->ops->finish(s->ops->ctx, i, sent, res);
}

static enum rk_err stop_begin(void *ctx, size_t i)
{
	struct stopping *s = ctx;

	return s->ops->begin(s->ops->ctx, i);
}

static enum rk_err stop_send_batch(void *self, const struct deliver_msg *msgs,
				   size_t n, struct deliver_result *res,
				   const struct deliver_session_ops *ops,
				   char *reason)
{
	struct stopping *s = self;
	struct deliver_session_ops mine = {stop_begin, stop_finish, s};

	s->ops = ops;
	return s->md->send_batch(s->md->self, msgs, n, res, &mine, reason);
}

static void test_session_stopped(void **state)
{
	struct rk_log log;
	struct rk_store *store;
	struct deliver_transport *t = NULL;
	struct deliver_stats stats = {0, 0, 0};
	struct store_message *rows = NULL;
	char *dir = rk_test_tmpdir(), *md = sub(dir, "Maildir");
	char *newd = sub(md, "new"), *tmpd = sub(md, "tmp");
	int64_t id[3];
	size_t n;
	FILE *devnull;

	(void)state;
	store = quiet_store(dir, &log, &devnull);
	add_message(store, "<s1@example.org>", "a@example.net", &id[0]);
	add_message(store, "<s2@example.org>", "b@example.net", &id[1]);
	add_message(store, "<s3@example.org>", "c@example.net", &id[2]);
	assert_int_equal(deliver_maildir_open(&t, md, &log), RK_OK);
	assert_non_null(t->send_batch);
	{
		struct stopping s = {t, NULL, 0};
		struct deliver_transport st = {"stopping", NULL, NULL, &s,
					       stop_send_batch};

		assert_int_not_equal(deliver_pending(store, &st, &log, POLICY(24),
						     1795170000, &stats),
				     RK_OK);
		assert_int_equal(s.finished, 1);
	}
	/* all three written and linked, none left in tmp/ */
	assert_int_equal(list_dir(newd, NULL), 3);
	assert_int_equal(list_dir(tmpd, NULL), 0);
	assert_int_equal(store_messages_pending(store, 1795170001, 10, &rows, &n),
			 RK_OK);
	assert_int_equal(n, 0);
	store_messages_free(rows, n);
	/* the session's unrecorded messages wait for the first retry */
	assert_int_equal(store_messages_pending(store, 1795170300, 10, &rows, &n),
			 RK_OK);
	assert_int_equal(n, 2);
	assert_int_equal(rows[0].id, id[1]);
	assert_string_equal(rows[0].state, STORE_MSG_DEFERRED);
	assert_int_equal(rows[1].id, id[2]);
	store_messages_free(rows, n);
	memset(&stats, 0, sizeof(stats));
	assert_int_equal(deliver_pending(store, t, &log, POLICY(24), 1795170300,
					 &stats), RK_OK);
	assert_int_equal(stats.sent, 2);
	assert_int_equal(list_dir(newd, NULL), 3);
	assert_int_equal(store_messages_pending(store, 0, 10, &rows, &n), RK_OK);
	assert_int_equal(n, 0);
	store_messages_free(rows, n);
	{
		struct store_delivery *dl = NULL;

		deliveries(store, id[2], &dl, &n);
		assert_int_equal(n, 1);
		assert_string_equal(dl[0].state, STORE_DLV_SENT);
		assert_string_equal(dl[0].reply, "already delivered to maildir");
		assert_int_equal(dl[0].attempts, 1); /* the stopped one uncounted */
		store_deliveries_free(dl, n);
	}
	deliver_close(t);
	store_close(store);
	rk_test_rmtree(dir);
	free(tmpd);
	free(newd);
	free(md);
	free(dir);
	fclose(devnull);
}

/* deliver_policy.pass_max: a pass takes at most that many messages, the
 * oldest first, and the next pass the rest (delivery alongside the
 * notify stage takes one session a pass). */
static void test_pass_max(void **state)
{
	struct rk_log log;
	struct rk_store *store;
	struct deliver_transport *t = NULL;
	struct deliver_stats stats = {0, 0, 0};
	struct deliver_policy policy = {store_retry_attempts(24), 0, 0, 0, 2};
	struct store_message *rows = NULL;
	char *dir = rk_test_tmpdir(), *md = sub(dir, "Maildir");
	char *newd = sub(md, "new");
	int64_t id[3];
	size_t n, queued = 0;
	FILE *devnull;

	(void)state;
	store = quiet_store(dir, &log, &devnull);
	add_message(store, "<p1@example.org>", "a@example.net", &id[0]);
	add_message(store, "<p2@example.org>", "b@example.net", &id[1]);
	add_message(store, "<p3@example.org>", "c@example.net", &id[2]);
	assert_int_equal(store_messages_queued(store, 10, &queued), RK_OK);
	assert_int_equal(queued, 3);
	assert_int_equal(store_messages_queued(store, 2, &queued), RK_OK);
	assert_int_equal(queued, 2); /* counted up to the limit */
	assert_int_equal(deliver_maildir_open(&t, md, &log), RK_OK);
	assert_int_equal(deliver_pending(store, t, &log, &policy, 1795170000,
					 &stats), RK_OK);
	assert_int_equal(stats.sent, 2);
	assert_int_equal(list_dir(newd, NULL), 2);
	assert_int_equal(store_messages_pending(store, 1795170000, 10, &rows, &n),
			 RK_OK);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].id, id[2]); /* the newest waits */
	store_messages_free(rows, n);
	assert_int_equal(store_messages_queued(store, 10, &queued), RK_OK);
	assert_int_equal(queued, 1);
	memset(&stats, 0, sizeof(stats));
	assert_int_equal(deliver_pending(store, t, &log, &policy, 1795170001,
					 &stats), RK_OK);
	assert_int_equal(stats.sent, 1);
	assert_int_equal(list_dir(newd, NULL), 3);
	assert_int_equal(store_messages_queued(store, 10, &queued), RK_OK);
	assert_int_equal(queued, 0);
	deliver_close(t);
	store_close(store);
	rk_test_rmtree(dir);
	free(newd);
	free(md);
	free(dir);
	fclose(devnull);
}

/* Outcomes per recipient: a rejected one bounces and is not tried again, a
 * deferred one is the only one the retry goes to, and the message is sent
 * once every recipient is final with one accepted. */
static void test_per_recipient(void **state)
{
	struct rk_log log;
	struct rk_store *store;
	struct deliver_stats stats = {0, 0, 0};
	struct store_delivery *dl = NULL;
	struct store_message *rows = NULL;
	char *dir = rk_test_tmpdir();
	struct fake f = {.answer = RK_OK, .msg_status = DELIVER_ACCEPTED,
			 .addr = {"gone@example.net", "grey@example.net",
				  "ok@example.net"},
			 .status = {DELIVER_REJECTED, DELIVER_DEFERRED,
				    DELIVER_ACCEPTED}};
	struct deliver_transport ft = {"fake", fake_send, fake_free, &f};
	int64_t id, id2, id3, now = 1795170000;
	size_t n;
	FILE *devnull;

	(void)state;
	store = quiet_store(dir, &log, &devnull);
	add_message(store, "<p1@example.org>",
		    "gone@example.net, grey@example.net, ok@example.net", &id);
	assert_int_equal(deliver_pending(store, &ft, &log, POLICY(24), now, &stats),
			 RK_OK);
	assert_int_equal(stats.deferred, 1);
	assert_int_equal(f.nrcpts, 3);
	deliveries(store, id, &dl, &n);
	assert_int_equal(n, 3);
	assert_string_equal(dl[0].state, STORE_DLV_BOUNCED);
	assert_string_equal(dl[0].reply, "550 5.1.1 no such user");
	assert_null(dl[0].location);
	assert_string_equal(dl[1].state, STORE_DLV_DEFERRED);
	assert_string_equal(dl[1].reply, "451 4.2.0 greylisted");
	assert_int_equal(dl[1].next_attempt, now + 300);
	assert_string_equal(dl[2].state, STORE_DLV_SENT);
	assert_string_equal(dl[2].reply, "250 2.1.5 ok");
	store_deliveries_free(dl, n);

	/* not before its time */
	memset(&stats, 0, sizeof(stats));
	assert_int_equal(deliver_pending(store, &ft, &log, POLICY(24), now + 299,
					 &stats), RK_OK);
	assert_int_equal(f.calls, 1);
	/* the retry goes to the deferred recipient only */
	f.status[1] = DELIVER_ACCEPTED;
	assert_int_equal(deliver_pending(store, &ft, &log, POLICY(24), now + 300,
					 &stats), RK_OK);
	assert_int_equal(f.calls, 2);
	assert_int_equal(f.nrcpts, 1);
	assert_string_equal(f.seen[0], "grey@example.net");
	assert_true(f.retry);
	assert_int_equal(stats.sent, 1);
	deliveries(store, id, &dl, &n);
	assert_string_equal(dl[0].state, STORE_DLV_BOUNCED);
	assert_int_equal(dl[0].attempts, 1);
	assert_string_equal(dl[1].state, STORE_DLV_SENT);
	assert_int_equal(dl[1].attempts, 2);
	assert_string_equal(dl[2].state, STORE_DLV_SENT);
	assert_int_equal(dl[2].attempts, 1);
	store_deliveries_free(dl, n);

	/* every recipient rejected: failed; an accepted RCPT whose DATA was
	 * deferred is deferred */
	add_message(store, "<p2@example.org>", "gone@example.net", &id2);
	memset(&stats, 0, sizeof(stats));
	assert_int_equal(deliver_pending(store, &ft, &log, POLICY(24), now + 400,
					 &stats), RK_OK);
	assert_int_equal(stats.failed, 1);
	deliveries(store, id2, &dl, &n);
	assert_string_equal(dl[0].state, STORE_DLV_BOUNCED);
	store_deliveries_free(dl, n);
	f.msg_status = DELIVER_DEFERRED;
	add_message(store, "<p3@example.org>", "ok@example.net, gone@example.net",
		    &id3);
	memset(&stats, 0, sizeof(stats));
	assert_int_equal(deliver_pending(store, &ft, &log, POLICY(24), now + 500,
					 &stats), RK_OK);
	assert_int_equal(stats.deferred, 1);
	deliveries(store, id3, &dl, &n);
	assert_string_equal(dl[0].state, STORE_DLV_DEFERRED);
	assert_string_equal(dl[0].reply, "250 2.1.5 ok");
	assert_string_equal(dl[1].state, STORE_DLV_BOUNCED);
	store_deliveries_free(dl, n);

	assert_int_equal(store_ticket_messages(store, NULL, &rows, &n), RK_OK);
	store_messages_free(rows, n);
	store_close(store);
	rk_test_rmtree(dir);
	free(dir);
	fclose(devnull);
}

/* [transport] max_attempts: every attempt counts, also one a crash cut
 * short (the store marks the message sending and counts it before the
 * transport runs); after max_attempts the message is failed, with its
 * attempts and each recipient's history. */
static void test_max_attempts(void **state)
{
	struct rk_log log;
	struct rk_store *store;
	struct deliver_stats stats = {0, 0, 0};
	struct store_delivery *dl = NULL, *todo = NULL;
	struct store_message *rows = NULL;
	char *dir = rk_test_tmpdir();
	struct fake f = {.answer = RK_ERR_TEMPFAIL};
	struct deliver_transport ft = {"fake", fake_send, fake_free, &f};
	int64_t id, id2, now = 1795170000;
	size_t n, ntodo;
	bool gave_up;
	FILE *devnull;

	(void)state;
	store = quiet_store(dir, &log, &devnull);
	add_message(store, "<c1@example.org>", "a@example.net,b@example.net",
		    &id);
	/* three runs die while sending it */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(store_message_attempt(store, id, RETRY(3), now + i,
						       &todo, &ntodo, &gave_up),
				 RK_OK);
		assert_false(gave_up);
		assert_int_equal(ntodo, 2);
		store_deliveries_free(todo, ntodo);
	}
	assert_int_equal(store_messages_pending(store, now, 10, &rows, &n),
			 RK_OK);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].state, STORE_MSG_SENDING);
	assert_int_equal(rows[0].attempts, 3);
	store_messages_free(rows, n);
	/* the fourth run does not send it again: it has failed */
	assert_int_equal(deliver_pending(store, &ft, &log, POLICY(3), now + 10, &stats),
			 RK_OK);
	assert_int_equal(f.calls, 0);
	assert_int_equal(stats.failed, 1);
	assert_int_equal(store_messages_pending(store, now + 86400, 10, &rows,
						&n), RK_OK);
	assert_int_equal(n, 0);
	store_messages_free(rows, n);
	deliveries(store, id, &dl, &n);
	assert_int_equal(n, 2);
	assert_string_equal(dl[0].state, STORE_DLV_FAILED);
	assert_string_equal(dl[0].reply, "gave up after 3 attempts");
	assert_string_equal(dl[1].state, STORE_DLV_FAILED);
	store_deliveries_free(dl, n);

	/* deferrals count the same way, with the doubling delay */
	add_message(store, "<c2@example.org>", "a@example.net", &id2);
	memset(&stats, 0, sizeof(stats));
	assert_int_equal(deliver_pending(store, &ft, &log, POLICY(3), now, &stats),
			 RK_OK);
	assert_int_equal(stats.deferred, 1);
	deliveries(store, id2, &dl, &n);
	assert_int_equal(dl[0].next_attempt, now + 300);
	store_deliveries_free(dl, n);
	assert_int_equal(deliver_pending(store, &ft, &log, POLICY(3), now + 300, &stats),
			 RK_OK);
	deliveries(store, id2, &dl, &n);
	assert_int_equal(dl[0].next_attempt, now + 300 + 600);
	store_deliveries_free(dl, n);
	memset(&stats, 0, sizeof(stats));
	assert_int_equal(deliver_pending(store, &ft, &log, POLICY(3), now + 900, &stats),
			 RK_OK);
	assert_int_equal(f.calls, 3);
	assert_int_equal(stats.failed, 1);
	assert_int_equal(stats.deferred, 0);
	deliveries(store, id2, &dl, &n);
	assert_string_equal(dl[0].state, STORE_DLV_FAILED);
	assert_string_equal(dl[0].reply, "gave up after 3 attempts: 451 try later");
	assert_int_equal(dl[0].attempts, 3);
	store_deliveries_free(dl, n);
	memset(&stats, 0, sizeof(stats));
	assert_int_equal(deliver_pending(store, &ft, &log, POLICY(3), now + 86400,
					 &stats), RK_OK);
	assert_int_equal(f.calls, 3);
	assert_int_equal(stats.failed + stats.sent + stats.deferred, 0);
	store_close(store);
	rk_test_rmtree(dir);
	free(dir);
	fclose(devnull);
}

/* A message queued before deliveries were recorded per recipient (a
 * database migrated from version 1) gets its deliveries at its first
 * attempt; a message cannot have more recipients than the limit. */
static void test_legacy_and_limits(void **state)
{
	struct rk_log log;
	struct rk_store *store;
	struct deliver_stats stats = {0, 0, 0};
	struct store_delivery *dl = NULL;
	struct store_message m;
	struct rk_buf many;
	struct fake f = {.answer = RK_OK, .msg_status = DELIVER_ACCEPTED};
	struct deliver_transport ft = {"fake", fake_send, fake_free, &f};
	char *dir = rk_test_tmpdir(), *path = sub(dir, "test.db");
	sqlite3 *db;
	int64_t id;
	size_t n;
	FILE *devnull;

	(void)state;
	store = quiet_store(dir, &log, &devnull);
	add_message(store, "<v1@example.org>", "a@example.net, b@example.net",
		    &id);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DELETE FROM deliveries", NULL, NULL,
				      NULL), SQLITE_OK);
	sqlite3_close(db);
	deliveries(store, id, &dl, &n);
	assert_int_equal(n, 0);
	store_deliveries_free(dl, n);
	assert_int_equal(deliver_pending(store, &ft, &log, POLICY(24), 1795170000,
					 &stats), RK_OK);
	assert_int_equal(stats.sent, 1);
	assert_int_equal(f.nrcpts, 2);
	deliveries(store, id, &dl, &n);
	assert_int_equal(n, 2);
	assert_string_equal(dl[0].rcpt, "a@example.net");
	assert_string_equal(dl[1].state, STORE_DLV_SENT);
	store_deliveries_free(dl, n);

	rk_buf_init(&many, 1 << 20);
	for (int i = 0; i <= STORE_MSG_MAX_RCPTS; i++)
		assert_int_equal(rk_buf_addf(&many, "%su%d@example.net",
					     i ? "," : "", i), RK_OK);
	memset(&m, 0, sizeof(m));
	m.message_id = "<many@example.org>";
	m.rcpt = many.data;
	assert_int_equal(store_begin(store), RK_OK);
	assert_int_equal(store_message_add(store, &m, NULL), RK_ERR_LIMIT);
	m.rcpt = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		 "@example.net"; /* longer than any envelope address */
	assert_int_equal(store_message_add(store, &m, NULL), RK_ERR_INVAL);
	store_rollback(store);
	rk_buf_release(&many);
	store_close(store);
	rk_test_rmtree(dir);
	free(path);
	free(dir);
	fclose(devnull);
}

/* The states, locations and audit rows recorded. */
static void test_message_rows(void **state)
{
	struct rk_log log;
	struct rk_store *store;
	struct store_message *rows = NULL;
	struct store_delivery *todo = NULL, *dl = NULL;
	struct store_ticket t;
	struct store_chain_entry chain = {0, "abuse@example.net", NULL, "Org",
					  "en", NULL, NULL, "local"};
	struct store_message m;
	struct store_delivery_outcome o;
	const char *final = NULL;
	char *dir = rk_test_tmpdir();
	int64_t id;
	size_t n, ntodo;
	bool gave_up;

	(void)state;
	rk_log_init(&log, RK_LOG_ERROR);
	store = rk_test_store(dir, &log);
	memset(&t, 0, sizeof(t));
	t.contact = "abuse@example.net";
	t.template_name = "default";
	t.lang = "en";
	t.tlp = RK_TLP_GREEN;
	t.severity = RK_SEV_MEDIUM;
	t.created_at = 1795169700;
	t.send_after = 1795169700;
	t.chain = &chain;
	t.nchain = 1;
	assert_int_equal(store_begin(store), RK_OK);
	assert_int_equal(store_ticket_create(store, &t), RK_OK);
	memset(&m, 0, sizeof(m));
	m.ticket_id = t.id;
	m.message_id = "<t1@example.org>";
	m.rcpt = "abuse@example.net";
	m.raw = (unsigned char *)sample;
	m.raw_len = strlen(sample);
	assert_int_equal(store_message_add(store, &m, &id), RK_OK);
	/* recipients no envelope can carry */
	m.message_id = "<t2@example.org>";
	m.rcpt = "a@example.net,b\r\nRCPT TO:<x@example.com>";
	assert_int_equal(store_message_add(store, &m, NULL), RK_ERR_INVAL);
	assert_int_equal(store_commit(store), RK_OK);

	assert_int_equal(store_message_attempt(store, id, RETRY(24), 1795170000, &todo,
					       &ntodo, &gave_up), RK_OK);
	assert_int_equal(ntodo, 1);
	/* a finish for a delivery of another message, or an unknown state */
	o.delivery_id = todo[0].id + 1000;
	o.state = STORE_DLV_SENT;
	o.reply = "250 ok";
	o.location = "/x/new/f";
	assert_int_equal(store_message_finish(store, id, &o, 1, NULL, NULL, RETRY(24),
					      1795170000, &final), RK_ERR_INVAL);
	o.delivery_id = todo[0].id;
	o.state = "bogus";
	assert_int_equal(store_message_finish(store, id, &o, 1, NULL, NULL, RETRY(24),
					      1795170000, &final), RK_ERR_INVAL);
	o.state = STORE_DLV_SENT;
	assert_int_equal(store_message_finish(store, id, &o, 1, "delivered",
					      "/x/new/f", RETRY(24), 1795170001,
					      &final), RK_OK);
	assert_string_equal(final, STORE_MSG_SENT);
	/* recorded once: a second finish is refused */
	assert_int_equal(store_message_finish(store, id, &o, 1, NULL, NULL, RETRY(24),
					      1795170002, &final), RK_ERR_INVAL);
	store_deliveries_free(todo, ntodo);

	assert_int_equal(store_ticket_messages(store, t.id, &rows, &n), RK_OK);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].state, STORE_MSG_SENT);
	assert_string_equal(rows[0].location, "/x/new/f");
	assert_string_equal(rows[0].reply, "delivered");
	assert_string_equal(rows[0].direction, "out");
	assert_string_equal(rows[0].kind, "notice");
	assert_string_equal(rows[0].ticket_id, t.id);
	assert_int_equal(rows[0].sent_at, 1795170001);
	assert_int_equal(rows[0].attempts, 1);
	assert_int_equal(rows[0].created_at != 0, 1);
	assert_null(rows[0].raw);
	assert_int_equal(rows[0].raw_len, 0);
	store_messages_free(rows, n);
	assert_int_equal(store_message_deliveries(store, id, &dl, &n), RK_OK);
	assert_int_equal(n, 1);
	assert_string_equal(dl[0].rcpt, "abuse@example.net");
	assert_string_equal(dl[0].state, STORE_DLV_SENT);
	assert_string_equal(dl[0].reply, "250 ok");
	assert_string_equal(dl[0].location, "/x/new/f");
	store_deliveries_free(dl, n);
	/* the bytes, read back from their own table */
	assert_int_equal(store_ticket_messages_raw(store, t.id, NULL, &rows, &n),
			 RK_OK);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].raw_len, strlen(sample));
	assert_memory_equal(rows[0].raw, sample, strlen(sample));
	store_messages_free(rows, n);
	store_close(store);
	{
		/* written once, in message_raw (migration 6), not in the row
		 * that changes state; one audit row for the attempt, naming
		 * the recipient's outcome */
		sqlite3 *db;
		sqlite3_stmt *st;
		char *path = NULL;

		assert_int_equal(rk_path_join(dir, "test.db", &path), RK_OK);
		assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
		assert_int_equal(
			sqlite3_prepare_v2(db,
					   "SELECT m.raw IS NULL, length(r.raw) "
					   "FROM messages m JOIN message_raw r "
					   "ON r.message_row = m.id",
					   -1, &st, NULL),
			SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), 1);
		assert_int_equal(sqlite3_column_int(st, 1), (int)strlen(sample));
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_finalize(st);
		assert_int_equal(
			sqlite3_prepare_v2(db,
					   "SELECT action, detail FROM audit_log "
					   "WHERE object = '<t1@example.org>' "
					   "AND actor = 'deliver'",
					   -1, &st, NULL),
			SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(st, 0),
				    "message.sent");
		assert_string_equal((const char *)sqlite3_column_text(st, 1),
				    "attempt 1: 1 of 1 recipients accepted: "
				    "delivered; abuse@example.net sent: 250 ok");
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_finalize(st);
		/* a row queued before migration 6 keeps its bytes inline */
		assert_int_equal(sqlite3_exec(db,
					      "DELETE FROM message_raw;"
					      "UPDATE messages SET raw = x'41';",
					      NULL, NULL, NULL),
				 SQLITE_OK);
		sqlite3_close(db);
		free(path);
	}
	store = rk_test_store(dir, &log);
	assert_int_equal(store_ticket_messages_raw(store, t.id, NULL, &rows, &n),
			 RK_OK);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].raw_len, 1);
	assert_memory_equal(rows[0].raw, "A", 1);
	store_messages_free(rows, n);
	store_close(store);
	rk_test_rmtree(dir);
	free(dir);
}

/* The SMTP half of the store: retry_initial with jitter, give_up_after,
 * a connection failure taken back (requeue), a 5xx marking the address
 * failing until cleared, and the counts the rate limits read. */
static void test_retry_failing_rate(void **state)
{
	struct rk_log log;
	struct rk_store *store;
	struct store_delivery *todo = NULL, *dl = NULL;
	struct store_delivery_outcome o;
	struct store_failing *failing = NULL;
	struct store_domain_count *counts = NULL;
	struct store_retry retry = store_retry_attempts(24);
	struct store_message *rows = NULL;
	const char *final = NULL;
	char *dir = rk_test_tmpdir();
	int64_t id1, id2, id3, now = 1795170000;
	size_t n, ntodo;
	long long total;
	bool gave_up, flag;
	FILE *devnull;

	(void)state;
	store = quiet_store(dir, &log, &devnull);
	store_set_now(store, now);
	add_message(store, "<j@example.org>", "a@big.example", &id1);
	add_message(store, "<g@example.org>", "b@big.example", &id2);
	add_message(store, "<f@example.org>", "Bad@Small.example, c@big.example",
		    &id3);

	/* a 4xx: the retry comes after retry_initial plus up to 20 % */
	retry.initial = 600;
	retry.max_delay = 21600;
	retry.jitter_pct = 20;
	retry.jitter_seed = 12345;
	assert_int_equal(store_message_attempt(store, id1, &retry, now, &todo,
					       &ntodo, &gave_up), RK_OK);
	o = (struct store_delivery_outcome){todo[0].id, STORE_DLV_DEFERRED,
					    "451 later", NULL};
	assert_int_equal(store_message_finish(store, id1, &o, 1, NULL, NULL,
					      &retry, now, &final), RK_OK);
	assert_string_equal(final, STORE_MSG_DEFERRED);
	store_deliveries_free(todo, ntodo);
	deliveries(store, id1, &dl, &n);
	assert_in_range(dl[0].next_attempt, now + 600, now + 720);
	store_deliveries_free(dl, n);

	/* a connection failure takes the attempt back */
	assert_int_equal(store_message_attempt(store, id2, &retry, now, &todo,
					       &ntodo, &gave_up), RK_OK);
	store_deliveries_free(todo, ntodo);
	assert_int_equal(store_message_requeue(store, id2, now + 600,
					       "connection refused"), RK_OK);
	assert_int_equal(store_messages_pending(store, now + 599, 10, &rows,
						&n), RK_OK);
	for (size_t i = 0; i < n; i++)
		assert_true(rows[i].id != id2 && rows[i].id != id1);
	store_messages_free(rows, n);
	assert_int_equal(store_messages_pending(store, now + 600, 10, &rows,
						&n), RK_OK);
	flag = false;
	for (size_t i = 0; i < n; i++)
		if (rows[i].id == id2) {
			flag = true;
			assert_int_equal(rows[i].attempts, 0);
			assert_string_equal(rows[i].state, STORE_MSG_DEFERRED);
			assert_string_equal(rows[i].reply, "connection refused");
		}
	assert_true(flag);
	store_messages_free(rows, n);

	/* give_up_after: past it, no more attempts */
	retry.give_up_after = 3600;
	assert_int_equal(store_message_attempt(store, id2, &retry,
					       1795169700 + 3600, &todo, &ntodo,
					       &gave_up), RK_OK);
	assert_true(gave_up);
	assert_int_equal(ntodo, 0);
	deliveries(store, id2, &dl, &n);
	assert_string_equal(dl[0].state, STORE_DLV_FAILED);
	assert_non_null(strstr(dl[0].reply, "(give_up_after)"));
	store_deliveries_free(dl, n);

	/* a 5xx: bounced, the address failing (any case) until cleared */
	retry.give_up_after = 0;
	assert_int_equal(store_message_attempt(store, id3, &retry, now, &todo,
					       &ntodo, &gave_up), RK_OK);
	assert_int_equal(ntodo, 2);
	{
		struct store_delivery_outcome two[2] = {
			{todo[0].id, STORE_DLV_BOUNCED, "550 5.1.1 unknown", NULL},
			{todo[1].id, STORE_DLV_SENT, "250 ok", NULL},
		};

		assert_int_equal(store_message_finish(store, id3, two, 2, NULL,
						      NULL, &retry, now, &final),
				 RK_OK);
	}
	store_deliveries_free(todo, ntodo);
	assert_string_equal(final, STORE_MSG_SENT);
	assert_int_equal(store_address_failing(store, "bad@small.example",
					       &flag), RK_OK);
	assert_true(flag);
	assert_int_equal(store_address_failing(store, "c@big.example", &flag),
			 RK_OK);
	assert_false(flag);
	assert_int_equal(store_failing_list(store, &failing, &n), RK_OK);
	assert_int_equal(n, 1);
	assert_string_equal(failing[0].reply, "550 5.1.1 unknown");
	assert_string_equal(failing[0].message_id, "<f@example.org>");
	store_failing_free(failing, n);

	/* the rate limits: messages whose recipients were tried in the
	 * window, by domain (the one that never reached a server is not) */
	assert_int_equal(store_recent_deliveries(store, now - 59, &counts, &n,
						 &total), RK_OK);
	assert_int_equal(total, 2);
	assert_int_equal(n, 2);
	assert_string_equal(counts[0].domain, "big.example");
	assert_int_equal(counts[0].messages, 2);
	assert_string_equal(counts[1].domain, "small.example");
	assert_int_equal(counts[1].messages, 1);
	store_domain_counts_free(counts, n);
	assert_int_equal(store_recent_deliveries(store, now + 1, &counts, &n,
						 &total), RK_OK);
	assert_int_equal(total, 0);
	store_domain_counts_free(counts, n);

	assert_int_equal(store_address_clear(store, "BAD@small.example", "op",
					     &flag), RK_OK);
	assert_true(flag);
	assert_int_equal(store_address_failing(store, "bad@small.example",
					       &flag), RK_OK);
	assert_false(flag);
	assert_int_equal(store_address_clear(store, "bad@small.example", "op",
					     &flag), RK_OK);
	assert_false(flag);
	store_close(store);
	fclose(devnull);
	rk_test_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maildir_delivery),
		cmocka_unit_test(test_deliver_open),
		cmocka_unit_test(test_pending),
		cmocka_unit_test(test_session_stopped),
		cmocka_unit_test(test_pass_max),
		cmocka_unit_test(test_per_recipient),
		cmocka_unit_test(test_max_attempts),
		cmocka_unit_test(test_legacy_and_limits),
		cmocka_unit_test(test_message_rows),
		cmocka_unit_test(test_retry_failing_rate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
