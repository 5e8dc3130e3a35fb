/* The follow-up schedule (track_next_action, track_facts_from): every
 * default policy, the auto-acknowledged clock, answered tickets stop,
 * and the answer depends only on stored times (a restart changes
 * nothing). */
#include <string.h>

#include "renraku/track.h"
#include "testutil.h"

#define T0 1795000000LL /* the first notice */
#define H 3600LL

static struct rk_config cfg;

static int setup(void **state)
{
	(void)state;
	return rk_config_defaults(&cfg) == RK_OK ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	rk_config_release(&cfg);
	return 0;
}

static struct track_facts facts(const char *st, int level, int top,
				bool reminded, bool auto_ack)
{
	struct track_facts f = {st, level, top, T0, reminded, auto_ack};

	return f;
}

static void expect(enum rk_severity sev, struct track_facts f,
		   enum track_action_kind kind, long long at)
{
	struct track_action a;

	track_next_action(&cfg.escalation[sev], cfg.tracking.auto_ack_factor,
			  &f, &a);
	assert_string_equal(track_action_name(a.kind), track_action_name(kind));
	assert_int_equal(a.at, kind == TRACK_NONE ? 0 : T0 + at);
}

static void test_defaults(void **state)
{
	(void)state;
	/* critical 4h / 24h / 2 levels */
	expect(RK_SEV_CRITICAL, facts("notified", 0, 2, false, false), TRACK_REMIND, 4 * H);
	expect(RK_SEV_CRITICAL, facts("notified", 0, 2, true, false), TRACK_ESCALATE, 24 * H);
	expect(RK_SEV_CRITICAL, facts("notified", 1, 2, true, false), TRACK_ESCALATE, 24 * H);
	expect(RK_SEV_CRITICAL, facts("notified", 2, 2, true, false), TRACK_EXPIRE, 24 * H);
	/* high 24h / 72h / 2 */
	expect(RK_SEV_HIGH, facts("notified", 0, 1, false, false), TRACK_REMIND, 24 * H);
	expect(RK_SEV_HIGH, facts("notified", 0, 1, true, false), TRACK_ESCALATE, 72 * H);
	/* the chain has no level above: expired at the end of it */
	expect(RK_SEV_HIGH, facts("notified", 1, 1, true, false), TRACK_EXPIRE, 72 * H);
	/* medium 72h / 7d / 1 */
	expect(RK_SEV_MEDIUM, facts("notified", 0, 2, false, false), TRACK_REMIND, 72 * H);
	expect(RK_SEV_MEDIUM, facts("notified", 0, 2, true, false), TRACK_ESCALATE, 7 * 24 * H);
	expect(RK_SEV_MEDIUM, facts("notified", 1, 2, true, false), TRACK_EXPIRE, 7 * 24 * H);
	/* low and info: no follow-up */
	expect(RK_SEV_LOW, facts("notified", 0, 2, false, false), TRACK_NONE, 0);
	expect(RK_SEV_INFO, facts("notified", 0, 2, false, false), TRACK_NONE, 0);
}

static void test_auto_ack_longer_clock(void **state)
{
	(void)state;
	expect(RK_SEV_CRITICAL, facts("auto-acknowledged", 0, 2, false, true), TRACK_REMIND, 12 * H);
	expect(RK_SEV_CRITICAL, facts("auto-acknowledged", 0, 2, true, true), TRACK_ESCALATE, 72 * H);
	/* reminded (back to notified), the clock stays the longer one */
	expect(RK_SEV_HIGH, facts("notified", 0, 2, true, true), TRACK_ESCALATE, 3 * 72 * H);
}

static void test_answered_stop(void **state)
{
	static const char *const done[] = {"acknowledged", "resolved", "disputed",
					   "expired", "open", "held", "failed"};

	(void)state;
	for (size_t i = 0; i < RK_ARRAY_LEN(done); i++)
		expect(RK_SEV_CRITICAL, facts(done[i], 0, 2, false, false), TRACK_NONE, 0);
	/* never sent: nothing to follow */
	{
		struct track_facts f = facts("notified", 0, 2, false, false);
		struct track_action a;

		f.level_since = 0;
		track_next_action(&cfg.escalation[RK_SEV_CRITICAL], 3, &f, &a);
		assert_int_equal(a.kind, TRACK_NONE);
	}
}

/* The facts come from the timeline only: the same rows read again (a
 * restart, a second run) give the same action at the same time. */
static void test_from_timeline_restart(void **state)
{
	struct store_chain_entry chain[2] = {{.level = 0, .email = "a@x.example"},
					     {.level = 1, .email = "b@x.example"}};
	struct store_ticket t = {.state = "notified", .level = 0, .chain = chain,
				 .nchain = 2, .severity = RK_SEV_HIGH};
	struct store_timeline_row rows[] = {
		{.at = T0 - 600, .to_state = "open", .level = 0, .cause = "created"},
		{.at = T0, .to_state = "notified", .level = 0, .cause = "notice-queued"},
		{.at = T0 + 24 * H, .to_state = "open", .level = 0, .cause = "reminder"},
		{.at = T0 + 24 * H, .to_state = "notified", .level = 0, .cause = "notice-queued"},
	};
	struct track_facts f;
	struct track_action a1, a2;

	(void)state;
	track_facts_from(&t, rows, 2, &f);
	assert_int_equal(f.level_since, T0);
	assert_false(f.reminded);
	assert_int_equal(f.top_level, 1);
	track_next_action(&cfg.escalation[RK_SEV_HIGH], 3, &f, &a1);
	assert_int_equal(a1.kind, TRACK_REMIND);
	assert_int_equal(a1.at, T0 + 24 * H);
	/* after the reminder: escalation from the first notice's time, not
	 * the reminder's */
	track_facts_from(&t, rows, 4, &f);
	assert_true(f.reminded);
	assert_int_equal(f.level_since, T0);
	track_next_action(&cfg.escalation[RK_SEV_HIGH], 3, &f, &a1);
	track_facts_from(&t, rows, 4, &f);
	track_next_action(&cfg.escalation[RK_SEV_HIGH], 3, &f, &a2);
	assert_int_equal(a1.kind, TRACK_ESCALATE);
	assert_int_equal(a1.at, T0 + 72 * H);
	assert_int_equal(a2.kind, a1.kind);
	assert_int_equal(a2.at, a1.at);
	/* an auto-reply at this level slows the clock */
	{
		struct store_timeline_row r2[] = {
			rows[0], rows[1],
			{.at = T0 + H, .to_state = "auto-acknowledged", .level = 0,
			 .cause = "auto-reply"},
		};

		t.state = "auto-acknowledged";
		track_facts_from(&t, r2, 3, &f);
		assert_true(f.auto_ack);
		track_next_action(&cfg.escalation[RK_SEV_HIGH], 3, &f, &a1);
		assert_int_equal(a1.kind, TRACK_REMIND);
		assert_int_equal(a1.at, T0 + 72 * H);
	}
}

static void test_tokens(void **state)
{
	char tok[TRACK_TOKEN_HEX], tok2[TRACK_TOKEN_HEX], h[65], h2[65];
	enum track_ack_status st;

	(void)state;
	assert_int_equal(track_token_new(tok, h), RK_OK);
	assert_int_equal(track_token_new(tok2, h2), RK_OK);
	assert_int_equal(strlen(tok), 32); /* 128 bits */
	assert_int_equal(strlen(h), 64);
	assert_string_not_equal(tok, tok2);
	assert_int_equal(track_token_hash(tok, h2), RK_OK);
	assert_string_equal(h, h2);
	assert_int_equal(track_token_hash("abc", h), RK_OK);
	assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(track_ack_status_parse("disputed", &st), RK_OK);
	assert_int_equal(st, TRACK_ACK_DISPUTED);
	assert_int_equal(track_ack_status_parse("bogus", &st), RK_ERR_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_auto_ack_longer_clock),
		cmocka_unit_test(test_answered_stop),
		cmocka_unit_test(test_from_timeline_restart),
		cmocka_unit_test(test_tokens),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
