/*
 * One inbound message stored, matched and applied in one transaction;
 * the maildir intake.  Matching: In-Reply-To and References against the
 * Message-IDs renraku sent, then the [PREFIX #id] subject tag, then the
 * original message's headers inside a bounce.
 */
#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "renraku/track.h"

static enum rk_err hash_hex(const char *raw, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(raw, len, md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen != 32)
		return RK_ERR_INTERNAL;
	for (unsigned int i = 0; i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return RK_OK;
}

/* "a, b" of a list (caller frees; NULL when empty). */
static char *join(const struct track_list *l)
{
	struct rk_buf b;

	if (!l->n)
		return NULL;
	rk_buf_init(&b, 64u << 10);
	for (size_t i = 0; i < l->n; i++)
		if (rk_buf_addf(&b, "%s%s", i ? ", " : "", l->item[i])) {
			rk_buf_release(&b);
			return NULL;
		}
	return rk_buf_detach(&b, NULL);
}

struct match {
	char ticket_id[32];
	const char *by;
	int64_t message_row; /* the notice it answers, 0 = unknown */
};

static enum rk_err match_ids(struct rk_store *store,
			     const struct track_list *ids, const char *by,
			     struct match *mt)
{
	for (size_t i = 0; i < ids->n && !mt->ticket_id[0]; i++) {
		bool found;
		enum rk_err err = store_sent_message_find(
			store, ids->item[i], &mt->message_row, mt->ticket_id,
			&found);

		if (err)
			return err;
		if (found)
			mt->by = by;
	}
	return RK_OK;
}

static enum rk_err match_tags(struct rk_store *store,
			      const struct track_list *tags, const char *by,
			      struct match *mt)
{
	for (size_t i = 0; i < tags->n && !mt->ticket_id[0]; i++) {
		char state[32];
		enum rk_err err = store_ticket_state(store, tags->item[i], state,
						     NULL);

		if (err == RK_ERR_NOTFOUND)
			continue;
		if (err)
			return err;
		snprintf(mt->ticket_id, sizeof(mt->ticket_id), "%s",
			 tags->item[i]);
		mt->by = by;
		return store_ticket_last_notice(store, mt->ticket_id,
						&mt->message_row);
	}
	return RK_OK;
}

static enum rk_err match(struct rk_store *store, const struct track_mail *m,
			 struct match *mt)
{
	enum rk_err err;

	memset(mt, 0, sizeof(*mt));
	if ((err = match_ids(store, &m->refs, "references", mt)) ||
	    (err = match_tags(store, &m->tags, "subject", mt)))
		return err;
	if (m->cls == TRACK_BOUNCE || m->cls == TRACK_DELAYED) {
		if ((err = match_ids(store, &m->orig_refs, "bounce", mt)) ||
		    (err = match_tags(store, &m->orig_tags, "bounce", mt)))
			return err;
	}
	return RK_OK;
}

static bool in_state(const char *state, const char *a, const char *b)
{
	return strcmp(state, a) == 0 || (b && strcmp(state, b) == 0);
}

/* In a transaction: what message inbound_id of class m->cls does to
 * ticket mt->ticket_id.  effect gets a line saying so. */
static enum rk_err apply(struct rk_store *store, const struct rk_log *log,
			 const struct track_mail *m, const struct match *mt,
			 int64_t inbound_id, const char *actor,
			 struct track_result *res)
{
	char state[32], detail[512];
	struct store_ticket_change ch;
	enum rk_err err;

	if ((err = store_ticket_state(store, mt->ticket_id, state, NULL)))
		return err;
	memset(&ch, 0, sizeof(ch));
	ch.id = mt->ticket_id;
	ch.actor = actor;
	ch.level = -1;
	ch.detail = detail;
	switch (m->cls) {
	case TRACK_REPLY:
		snprintf(detail, sizeof(detail), "reply from %s (inbound %lld)",
			 m->from ? m->from : "?", (long long)inbound_id);
		if (in_state(state, STORE_TICKET_NOTIFIED, "auto-acknowledged")) {
			ch.to = "acknowledged";
			ch.cause = TICKETS_CAUSE_REPLY;
		}
		break;
	case TRACK_AUTO_REPLY:
		snprintf(detail, sizeof(detail),
			 "auto-reply from %s (%s)%s%s (inbound %lld)",
			 m->from ? m->from : "?", m->why,
			 m->remote_ticket ? ": remote ticket " : "",
			 m->remote_ticket ? m->remote_ticket : "",
			 (long long)inbound_id);
		if (m->remote_ticket &&
		    (err = store_ticket_set_remote(store, mt->ticket_id,
						   m->remote_ticket)))
			return err;
		if (in_state(state, STORE_TICKET_NOTIFIED, NULL)) {
			ch.to = "auto-acknowledged";
			ch.cause = TICKETS_CAUSE_AUTO_REPLY;
		}
		break;
	case TRACK_DELAYED:
		snprintf(detail, sizeof(detail), "delivery delayed%s%s (inbound %lld)",
			 m->status ? ": " : "", m->status ? m->status : "",
			 (long long)inbound_id);
		if (in_state(state, STORE_TICKET_NOTIFIED, "auto-acknowledged")) {
			ch.to = state; /* recorded, no change */
			ch.cause = TICKETS_CAUSE_DELAYED;
		}
		break;
	case TRACK_BOUNCE: {
		struct store_ticket t;
		bool found = false;
		size_t n = m->failed.n;

		memset(&t, 0, sizeof(t));
		if (!n) { /* no recipient named: the one the ticket is at */
			if ((err = store_ticket_get(store, mt->ticket_id, &t)))
				return err;
		}
		for (size_t i = 0; i < (n ? n : t.nchain) && !err; i++) {
			const char *rcpt = n ? m->failed.item[i] : t.chain[i].email;
			bool hit = false;

			if (!n && (t.chain[i].level != t.level || !rcpt))
				continue;
			err = store_delivery_bounced_later(
				store, mt->message_row, rcpt,
				m->status ? m->status : "bounced (inbound DSN)",
				&hit);
			found = found || hit;
		}
		store_ticket_release(&t);
		if (err)
			return err;
		res->escalate = found;
		snprintf(res->effect, sizeof(res->effect),
			 "bounce: %s marked failing%s", n ? m->failed.item[0] : "the address",
			 found ? "; the ticket goes up its chain" : "");
		return store_audit(store, actor, "inbound.bounce", mt->ticket_id,
				   res->effect);
	}
	case TRACK_MALFORMED:
		snprintf(detail, sizeof(detail), "unreadable message (inbound %lld)",
			 (long long)inbound_id);
		break;
	}
	if (!ch.to) {
		snprintf(res->effect, sizeof(res->effect), "recorded (ticket %s)",
			 state);
		return store_audit(store, actor, "inbound.recorded", mt->ticket_id,
				   detail);
	}
	snprintf(res->effect, sizeof(res->effect), "%s -> %s", state, ch.to);
	return tickets_transition(store, log, &ch);
}

static void result_init(struct track_result *res, enum track_class cls)
{
	memset(res, 0, sizeof(*res));
	res->cls = cls;
}

static void escalate_after(struct rk_store *store, const struct rk_log *log,
			   struct track_result *res)
{
	struct tickets_bounce_stats b = {0, 0};

	/* committed already: a failure here is picked up by the next run */
	if (res->escalate &&
	    tickets_escalate_bounced(store, log, store_now(store), &b))
		rk_log_warn(log, "inbound %lld: the bounce is recorded; the "
				 "next run escalates the ticket",
			    (long long)res->inbound_id);
}

enum rk_err track_inbound(struct rk_store *store, const struct rk_config *cfg,
			  const struct rk_log *log, const char *raw,
			  size_t len, size_t total, const char *source,
			  struct track_result *res)
{
	size_t keep = len;
	struct track_mail m;
	struct store_inbound in;
	struct match mt;
	char hash[65];
	bool found;
	enum rk_err err;

	if (cfg->inbound.max_message > 0 &&
	    keep > (size_t)cfg->inbound.max_message)
		keep = (size_t)cfg->inbound.max_message;
	if ((err = track_classify(raw, keep, cfg->relay.ticket_prefix, &m)))
		return err;
	result_init(res, m.cls);
	memset(&in, 0, sizeof(in));
	if ((err = hash_hex(raw, keep, hash)))
		goto cleanup;
	if ((err = store_begin(store)))
		goto cleanup;
	if ((err = store_inbound_find(store, hash, &res->inbound_id, &found)))
		goto rollback;
	if (found) {
		res->duplicate = true;
		store_rollback(store);
		goto cleanup;
	}
	if ((err = match(store, &m, &mt)))
		goto rollback;
	in.source = (char *)source;
	in.message_id = m.message_id;
	in.hash = hash;
	in.mail_from = m.from;
	in.subject = m.subject;
	in.size = (long long)(total > len ? total : len);
	in.truncated = keep < len || total > len;
	in.class_name = (char *)track_class_name(m.cls);
	in.remote_ticket = m.remote_ticket;
	in.failed_rcpts = join(&m.failed);
	in.status = m.status;
	in.body = m.body;
	in.raw = (unsigned char *)raw;
	in.raw_len = keep;
	if (m.failed.n && !in.failed_rcpts) {
		err = RK_ERR_NOMEM;
		goto rollback;
	}
	err = store_inbound_add(store, &in, &res->inbound_id);
	free(in.failed_rcpts);
	if (err)
		goto rollback;
	if (mt.ticket_id[0]) {
		if ((err = apply(store, log, &m, &mt, res->inbound_id, "inbound",
				 res)) ||
		    (err = store_inbound_set_ticket(store, res->inbound_id,
						    mt.ticket_id, mt.by,
						    res->effect)))
			goto rollback;
		snprintf(res->ticket_id, sizeof(res->ticket_id), "%s",
			 mt.ticket_id);
		snprintf(res->matched_by, sizeof(res->matched_by), "%s", mt.by);
	}
	if ((err = store_commit(store)))
		goto cleanup;
	escalate_after(store, log, res);
	goto cleanup;
rollback:
	store_rollback(store);
	res->escalate = false;
cleanup:
	track_mail_release(&m);
	return err;
}

enum rk_err track_assign(struct rk_store *store, const struct rk_config *cfg,
			 const struct rk_log *log, int64_t inbound_id,
			 const char *ticket_id, const char *actor,
			 struct track_result *res)
{
	struct store_inbound in;
	struct track_mail m;
	struct match mt;
	char state[32];
	enum rk_err err;

	memset(&m, 0, sizeof(m));
	result_init(res, TRACK_MALFORMED);
	if ((err = store_inbound_get(store, inbound_id, &in)))
		return err == RK_ERR_NOTFOUND
			       ? rk_fail(log, err, "no inbound message %lld",
					 (long long)inbound_id)
			       : err;
	res->inbound_id = inbound_id;
	if (in.ticket_id) {
		err = rk_fail(log, RK_ERR_EXISTS,
			      "inbound message %lld is attached to ticket %s "
			      "already", (long long)inbound_id, in.ticket_id);
		goto cleanup;
	}
	if ((err = track_classify((const char *)in.raw, in.raw_len,
				  cfg->relay.ticket_prefix, &m)))
		goto cleanup;
	res->cls = m.cls;
	if ((err = store_begin(store)))
		goto cleanup;
	if ((err = store_ticket_state(store, ticket_id, state, NULL))) {
		store_rollback(store);
		if (err == RK_ERR_NOTFOUND)
			err = rk_fail(log, err, "no ticket %s", ticket_id);
		goto cleanup;
	}
	memset(&mt, 0, sizeof(mt));
	snprintf(mt.ticket_id, sizeof(mt.ticket_id), "%s", ticket_id);
	mt.by = "operator";
	if ((err = store_ticket_last_notice(store, ticket_id, &mt.message_row)) ||
	    (err = apply(store, log, &m, &mt, inbound_id, actor, res)) ||
	    (err = store_inbound_set_ticket(store, inbound_id, ticket_id,
					    mt.by, res->effect)) ||
	    (err = store_audit(store, actor, "inbound.assign", ticket_id,
			       res->effect))) {
		store_rollback(store);
		res->escalate = false;
		goto cleanup;
	}
	if ((err = store_commit(store)))
		goto cleanup;
	snprintf(res->ticket_id, sizeof(res->ticket_id), "%s", ticket_id);
	snprintf(res->matched_by, sizeof(res->matched_by), "%s", mt.by);
	escalate_after(store, log, res);
cleanup:
	track_mail_release(&m);
	store_inbound_release(&in);
	return err;
}

/* ------------------------------------------------------------ maildir */

enum rk_err track_read_message(FILE *f, long long max, struct rk_buf *b,
			       size_t *total)
{
	char chunk[65536];
	size_t n;
	enum rk_err err = RK_OK;

	rk_buf_reset(b);
	*total = 0;
	while (!err && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		size_t room = (size_t)max > b->len ? (size_t)max - b->len : 0;

		*total += n;
		if (room)
			err = rk_buf_add(b, chunk, n < room ? n : room);
	}
	if (!err && ferror(f))
		err = RK_ERR_IO;
	return err;
}

enum rk_err track_maildir(struct rk_store *store, const struct rk_config *cfg,
			  const struct rk_log *log, const char *dir,
			  struct track_intake_stats *stats)
{
	char *newdir = NULL, *curdir = NULL;
	DIR *d = NULL;
	struct dirent *e;
	struct rk_buf b;
	enum rk_err err = RK_OK;

	rk_buf_init(&b, (size_t)cfg->inbound.max_message);
	if ((err = rk_path_join(dir, "new", &newdir)) ||
	    (err = rk_path_join(dir, "cur", &curdir)))
		goto cleanup;
	if (!(d = opendir(newdir))) {
		err = rk_fail(log, RK_ERR_IO, "maildir '%s': %s", newdir,
			      strerror(errno));
		goto cleanup;
	}
	while (!err && (e = readdir(d)) != NULL) {
		char *from = NULL, *to = NULL, name[512];
		struct track_result res;

		if (e->d_name[0] == '.')
			continue;
		snprintf(name, sizeof(name), "%s:2,S", e->d_name);
		if ((err = rk_path_join(newdir, e->d_name, &from)) ||
		    (err = rk_path_join(curdir, name, &to))) {
			free(from);
			break;
		}
		stats->seen++;
		FILE *f = fopen(from, "rb");
		size_t total = 0;

		if (!f || (err = track_read_message(f, cfg->inbound.max_message,
						    &b, &total))) {
			rk_log_warn(log, "maildir: '%s' cannot be read: left in new/",
				    from);
			err = RK_OK;
		} else if (!(err = track_inbound(store, cfg, log, b.data, b.len,
						 total, "maildir", &res))) {
			if (res.duplicate)
				stats->duplicates++;
			else
				stats->stored++;
			if (res.ticket_id[0] && !res.duplicate)
				stats->matched++;
			/* stored first: a crash before the move is a repeat
			 * the next pass recognises */
			if (rename(from, to) != 0)
				err = rk_fail(log, RK_ERR_IO,
					      "maildir: cannot move '%s' to cur/: %s",
					      from, strerror(errno));
		}
		if (f)
			fclose(f);
		free(from);
		free(to);
	}
cleanup:
	if (d)
		closedir(d);
	free(newdir);
	free(curdir);
	rk_buf_release(&b);
	return err;
}
