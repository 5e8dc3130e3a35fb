/*
 * libFuzzer harness for the inbound classifier (relay/track/classify.c):
 * the input is one message.  Invariants: only RK_OK comes back (memory
 * aside), the class is one of the five, every list within its limit,
 * the body within TRACK_MAX_BODY, and no string that may reach a header
 * or a log line (Message-ID, From, Subject, status, remote ticket, ids,
 * recipients) holds a control character; a remote ticket is short.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "renraku/mail.h"
#include "renraku/track.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_line(const char *s)
{
	if (s && rk_str_has_ctl(s, false))
		abort();
}

static void check_list(const struct track_list *l, size_t max)
{
	if (l->n > max)
		abort();
	for (size_t i = 0; i < l->n; i++) {
		if (!l->item[i] || !*l->item[i])
			abort();
		check_line(l->item[i]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool mail_ready; /* harness state only */
	struct track_mail m;
	enum rk_err err;

	if (!mail_ready) {
		mail_init();
		mail_ready = true;
	}
	err = track_classify((const char *)data, size, "RENRAKU", &m);
	if (err == RK_ERR_NOMEM)
		return 0;
	if (err != RK_OK || m.cls > TRACK_MALFORMED || !m.why)
		abort();
	check_line(m.message_id);
	check_line(m.from);
	check_line(m.subject);
	check_line(m.status);
	check_line(m.remote_ticket);
	if (m.remote_ticket && strlen(m.remote_ticket) >= TRACK_MAX_REMOTE)
		abort();
	if (m.body && strlen(m.body) > TRACK_MAX_BODY)
		abort();
	check_list(&m.refs, TRACK_MAX_IDS);
	check_list(&m.tags, TRACK_MAX_IDS);
	check_list(&m.orig_refs, TRACK_MAX_IDS);
	check_list(&m.orig_tags, TRACK_MAX_IDS);
	check_list(&m.failed, TRACK_MAX_RCPTS);
	if (m.cls == TRACK_MALFORMED && (m.refs.n || m.tags.n || m.subject))
		abort(); /* an unreadable message yields nothing to match */
	track_mail_release(&m);
	return 0;
}
