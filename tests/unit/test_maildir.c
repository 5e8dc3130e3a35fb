/* The maildir transport, transport selection, the messages table and
 * deliver_pending. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "renraku/deliver.h"
#include "renraku/store.h"
#include "testutil.h"

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
	assert_int_equal(deliver_open(&t, "smtp://127.0.0.1:25", &cfg, &log),
			 RK_ERR_UNSUPPORTED);
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

/* A transport that fails as told. */
struct fake {
	enum rk_err answer;
	int calls;
	size_t nrcpts;
};

static enum rk_err fake_send(void *self, const struct deliver_msg *msg,
			     struct deliver_result *res)
{
	struct fake *f = self;

	f->calls++;
	f->nrcpts = msg->nrcpts;
	snprintf(res->reply, sizeof(res->reply), "451 try later");
	return f->answer;
}

static void fake_free(void *self)
{
	(void)self;
}

static void test_pending(void **state)
{
	struct rk_log log;
	struct rk_store *store;
	struct deliver_transport *t = NULL;
	struct deliver_stats stats = {0, 0, 0};
	struct store_message *rows = NULL;
	char *dir = rk_test_tmpdir(), *md = sub(dir, "Maildir");
	char *newd = sub(md, "new");
	int64_t id1, id2, id3, id4;
	size_t n;
	FILE *devnull = fopen("/dev/null", "w");

	(void)state;
	assert_non_null(devnull);
	log.level = RK_LOG_INFO;
	log.stream = devnull;
	store = rk_test_store(dir, &log);
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

	assert_int_equal(store_messages_pending(store, 0, 10, &rows, &n), RK_OK);
	assert_int_equal(n, 4);
	assert_int_equal(rows[0].id, id1);
	assert_string_equal(rows[0].state, STORE_MSG_QUEUED);
	assert_string_equal(rows[0].subject, "件名");
	assert_int_equal(rows[0].raw_len, strlen(sample));
	assert_memory_equal(rows[0].raw, sample, rows[0].raw_len);
	store_messages_free(rows, n);
	assert_int_equal(store_messages_pending(store, 0, 2, &rows, &n), RK_OK);
	assert_int_equal(n, 2);
	store_messages_free(rows, n);

	assert_int_equal(deliver_maildir_open(&t, md, &log), RK_OK);
	assert_int_equal(deliver_pending(store, t, &log, 1795170000, &stats),
			 RK_OK);
	assert_int_equal(stats.sent, 3);
	assert_int_equal(stats.failed, 1);
	assert_int_equal(stats.deferred, 0);
	assert_int_equal(list_dir(newd, NULL), 3);
	assert_int_equal(store_messages_pending(store, 0, 10, &rows, &n), RK_OK);
	assert_int_equal(n, 0);
	store_messages_free(rows, n);

	/* a run that died after "sending": the message goes again, the
	 * maildir already has it */
	assert_int_equal(store_message_set_state(store, id2, STORE_MSG_SENDING,
						 NULL, NULL, 1795170001),
			 RK_OK);
	memset(&stats, 0, sizeof(stats));
	assert_int_equal(deliver_pending(store, t, &log, 1795170002, &stats),
			 RK_OK);
	assert_int_equal(stats.sent, 1);
	assert_int_equal(list_dir(newd, NULL), 3);
	deliver_close(t);

	/* rows without raw: a ticket's messages, oldest first */
	assert_int_equal(store_ticket_messages(store, NULL, &rows, &n), RK_OK);
	assert_int_equal(n, 0);
	store_messages_free(rows, n);

	/* a temporary failure defers, a permanent one fails */
	{
		struct fake f = {RK_ERR_TEMPFAIL, 0, 0};
		struct deliver_transport ft = {"fake", fake_send, fake_free, &f};
		int64_t id5, id6;

		add_message(store, "<5@example.org>", "e@example.net,f@example.net",
			    &id5);
		memset(&stats, 0, sizeof(stats));
		assert_int_equal(deliver_pending(store, &ft, &log, 1795170003,
						 &stats), RK_OK);
		assert_int_equal(stats.deferred, 1);
		assert_int_equal(f.calls, 1);
		assert_int_equal(f.nrcpts, 2);
		f.answer = RK_ERR_TRANSPORT;
		add_message(store, "<6@example.org>", "g@example.net", &id6);
		memset(&stats, 0, sizeof(stats));
		assert_int_equal(deliver_pending(store, &ft, &log, 1795170004,
						 &stats), RK_OK);
		assert_int_equal(stats.failed, 1);
		assert_int_equal(f.calls, 2);
	}

	assert_int_equal(store_message_set_state(store, 9999, STORE_MSG_SENT,
						 NULL, NULL, 1), RK_ERR_NOTFOUND);
	assert_int_equal(store_message_set_state(store, id1, "bogus", NULL,
						 NULL, 1), RK_ERR_INVAL);
	store_close(store);
	rk_test_rmtree(dir);
	free(newd);
	free(md);
	free(dir);
	fclose(devnull);
}

/* The states, locations and audit rows recorded. */
static void test_message_rows(void **state)
{
	struct rk_log log;
	struct rk_store *store;
	struct store_message *rows = NULL;
	struct store_ticket t;
	struct store_chain_entry chain = {0, "abuse@example.net", NULL, "Org",
					  "en", NULL, NULL, "local"};
	struct store_message m;
	char *dir = rk_test_tmpdir();
	int64_t id;
	size_t n;

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
	assert_int_equal(store_commit(store), RK_OK);

	assert_int_equal(store_message_set_state(store, id, STORE_MSG_SENT,
						 "/x/new/f", "delivered", 1795170000),
			 RK_OK);
	/* NULL keeps location and reply */
	assert_int_equal(store_message_set_state(store, id, STORE_MSG_SENT,
						 NULL, NULL, 1795170001), RK_OK);
	assert_int_equal(store_ticket_messages(store, t.id, &rows, &n), RK_OK);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].state, STORE_MSG_SENT);
	assert_string_equal(rows[0].location, "/x/new/f");
	assert_string_equal(rows[0].reply, "delivered");
	assert_string_equal(rows[0].direction, "out");
	assert_string_equal(rows[0].kind, "notice");
	assert_string_equal(rows[0].ticket_id, t.id);
	assert_int_equal(rows[0].sent_at, 1795170001);
	assert_int_equal(rows[0].created_at != 0, 1);
	assert_null(rows[0].raw);
	assert_int_equal(rows[0].raw_len, 0);
	store_messages_free(rows, n);
	store_close(store);
	rk_test_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maildir_delivery),
		cmocka_unit_test(test_deliver_open),
		cmocka_unit_test(test_pending),
		cmocka_unit_test(test_message_rows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
