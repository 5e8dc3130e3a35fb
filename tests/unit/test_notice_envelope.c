/* A notice's envelope recipients are exactly the To and Cc of the
 * message, at whatever level of the chain the ticket is (the envelope
 * used to take the level-0 contact while To took the current level's
 * address). */
#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>

#include "renraku/mail.h"
#include "renraku/notify.h"
#include "testutil.h"

static char *first_addr(GMimeMessage *msg, GMimeAddressType type,
			int *count)
{
	InternetAddressList *list = g_mime_message_get_addresses(msg, type);
	InternetAddress *a;

	*count = list ? internet_address_list_length(list) : 0;
	if (*count < 1)
		return NULL;
	a = internet_address_list_get_address(list, 0);
	assert_true(INTERNET_ADDRESS_IS_MAILBOX(a));
	return rk_strdup(internet_address_mailbox_get_addr(
		INTERNET_ADDRESS_MAILBOX(a)));
}

static void test_envelope_is_to_and_cc(void **state)
{
	struct rk_log log;
	struct rk_config cfg;
	struct rk_store *store;
	struct store_report report = {"intelmq", "test", NULL};
	struct store_event ev;
	struct store_ticket t;
	struct store_chain_entry chain[2] = {
		{0, "abuse@net.example", NULL, "Net", "en", NULL, NULL, "local"},
		{1, "upstream@transit.example", "noc@transit.example",
		 "Transit", "en", NULL, NULL, "rdap"},
	};
	struct notify_stats stats = {0, 0, 0};
	struct mail_signer *signer = NULL;
	struct store_message *rows = NULL;
	struct store_delivery *dl = NULL;
	GMimeMessage *msg;
	char *dir = rk_test_tmpdir(), *to, *cc;
	int64_t report_id, event_id, now = 1795170000;
	size_t n, ndl;
	bool dup;
	int nto, ncc;

	(void)state;
	rk_log_init(&log, RK_LOG_ERROR);
	rk_test_config(&cfg);
	cfg.gpg.mode = RK_SIGN_NONE;
	store = rk_test_store(dir, &log);

	memset(&ev, 0, sizeof(ev));
	ev.dedup_key = "infected-system\x1f" "192.0.2.7\x1f" "1795160000";
	ev.time_source = 1795160000;
	ev.type = "infected-system";
	ev.taxonomy = "malicious-code";
	ev.source_ip = "192.0.2.7";
	ev.tlp = RK_TLP_GREEN;
	ev.severity = RK_SEV_MEDIUM;
	ev.data = "{\"source.ip\":\"192.0.2.7\","
		  "\"classification.type\":\"infected-system\"}";
	memset(&t, 0, sizeof(t));
	t.contact = "abuse@net.example";
	t.level = 1; /* escalated: the upstream gets this notice */
	t.template_name = "default";
	t.lang = "en";
	t.tlp = RK_TLP_GREEN;
	t.severity = RK_SEV_MEDIUM;
	t.created_at = now - 60;
	t.send_after = now - 1;
	t.chain = chain;
	t.nchain = 2;
	assert_int_equal(store_begin(store), RK_OK);
	assert_int_equal(store_report_add(store, &report, &report_id), RK_OK);
	ev.report_id = report_id;
	assert_int_equal(store_event_add(store, &ev, &event_id, &dup), RK_OK);
	ev.id = event_id;
	assert_int_equal(store_ticket_create(store, &t), RK_OK);
	assert_int_equal(store_ticket_add_event(store, t.id, &ev, NULL), RK_OK);
	assert_int_equal(store_commit(store), RK_OK);

	assert_int_equal(notify_due_tickets(store, &cfg, &log, &signer, now,
					    &stats), RK_OK);
	assert_int_equal(stats.built, 1);
	assert_null(signer);

	assert_int_equal(store_messages_pending(store, now, 10, &rows, &n),
			 RK_OK);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].rcpt,
			    "upstream@transit.example,noc@transit.example");
	msg = rk_test_parse_mail((const char *)rows[0].raw, rows[0].raw_len);
	to = first_addr(msg, GMIME_ADDRESS_TYPE_TO, &nto);
	cc = first_addr(msg, GMIME_ADDRESS_TYPE_CC, &ncc);
	assert_int_equal(nto, 1);
	assert_int_equal(ncc, 1);
	assert_string_equal(to, "upstream@transit.example");
	assert_string_equal(cc, "noc@transit.example");
	/* one delivery for each, nothing for the level-0 address */
	assert_int_equal(store_message_deliveries(store, rows[0].id, &dl, &ndl),
			 RK_OK);
	assert_int_equal(ndl, 2);
	assert_string_equal(dl[0].rcpt, to);
	assert_string_equal(dl[1].rcpt, cc);
	store_deliveries_free(dl, ndl);
	g_object_unref(msg);
	free(to);
	free(cc);
	store_messages_free(rows, n);
	store_close(store);
	rk_config_release(&cfg);
	rk_test_rmtree(dir);
	free(dir);
}

/* The envelope carries the addresses exactly as the headers do: an IDN
 * domain as its A-label, a Cc repeating the To (or another Cc, in any
 * case) once; and the Cc header leaves the repeats out too. */
static void test_envelope_wire_form(void **state)
{
	struct rk_log log;
	struct rk_buf env, raw;
	struct mail_message m;
	GMimeMessage *msg;
	InternetAddressList *cc;

	(void)state;
	rk_log_init(&log, RK_LOG_ERROR);
	rk_buf_init(&env, 4096);
	assert_int_equal(mail_envelope("abuse@b\xc3\xbc" "cher.example",
				       "Sec@B\xc3\x9c" "CHER.example, ABUSE@xn--bcher-kva.example,"
				       " noc@x.example ,noc@X.example,",
				       &env, &log),
			 RK_OK);
	assert_string_equal(env.data, "abuse@xn--bcher-kva.example,"
				      "Sec@xn--bcher-kva.example,noc@x.example");
	rk_buf_reset(&env);
	assert_int_equal(mail_envelope("a@x.example", NULL, &env, &log), RK_OK);
	assert_string_equal(env.data, "a@x.example");
	rk_buf_reset(&env);
	assert_int_equal(mail_envelope("a@x.example", "b@x.example\r\nBcc: c@y",
				       &env, &log),
			 RK_ERR_INVAL);
	rk_buf_release(&env);

	memset(&m, 0, sizeof(m));
	m.from_addr = "csirt@example.org";
	m.to_addr = "noc@x.example";
	m.cc = "NOC@x.example,abuse@x.example,abuse@x.example";
	m.subject = "s";
	m.message_id = "<a.b@example.org>";
	m.date = 1795170000;
	m.body = "body\n";
	rk_buf_init(&raw, 1 << 20);
	assert_int_equal(mail_build(NULL, &m, &raw), RK_OK);
	msg = rk_test_parse_mail(raw.data, raw.len);
	cc = g_mime_message_get_addresses(msg, GMIME_ADDRESS_TYPE_CC);
	assert_int_equal(internet_address_list_length(cc), 1);
	g_object_unref(msg);
	rk_buf_release(&raw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_envelope_is_to_and_cc),
		cmocka_unit_test(test_envelope_wire_form),
	};
	int rc;

	mail_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	mail_shutdown();
	return rc;
}
