/* Acknowledgements: by command (renraku ack ID) and by the link every
 * notice carries (a random token, only its SHA-256 kept). */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "renraku/track.h"

enum rk_err track_ack_status_parse(const char *s, enum track_ack_status *out)
{
	static const char *const names[] = {"received", "resolved", "disputed"};

	for (size_t i = 0; s && i < RK_ARRAY_LEN(names); i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum track_ack_status)i;
			return RK_OK;
		}
	return RK_ERR_INVAL;
}

enum rk_err track_token_hash(const char *token, char hash[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	hash[0] = '\0';
	if (!token ||
	    !EVP_Digest(token, strlen(token), md, &len, EVP_sha256(), NULL) ||
	    len != 32)
		return RK_ERR_INTERNAL;
	for (unsigned int i = 0; i < len; i++) {
		hash[2 * i] = hex[md[i] >> 4];
		hash[2 * i + 1] = hex[md[i] & 15];
	}
	hash[64] = '\0';
	return RK_OK;
}

enum rk_err track_token_new(char token[TRACK_TOKEN_HEX], char hash[65])
{
	enum rk_err err;

	if ((err = rk_random_hex(token, TRACK_TOKEN_BYTES)))
		return err;
	return track_token_hash(token, hash);
}

static const char *target_state(enum track_ack_status s)
{
	switch (s) {
	case TRACK_ACK_RECEIVED: return "acknowledged";
	case TRACK_ACK_RESOLVED: return "resolved";
	case TRACK_ACK_DISPUTED: return "disputed";
	}
	return "acknowledged";
}

/* In a transaction.  One suppression per distinct subject and type of
 * ticket id's events. */
static enum rk_err suppress_subjects(struct rk_store *store,
				     const struct rk_config *cfg,
				     const char *id, const char *note,
				     int64_t now)
{
	struct store_event *ev = NULL;
	size_t n = 0;
	char source[64], reason[512];
	enum rk_err err;

	if ((err = store_ticket_events(store, id, false, &ev, &n)))
		return err;
	snprintf(source, sizeof(source), "ack:%s", id);
	snprintf(reason, sizeof(reason), "disputed (ticket %s)%s%s", id,
		 note && *note ? ": " : "", note ? note : "");
	for (size_t i = 0; i < n && !err; i++) {
		const char *subject =
			ev[i].source_ip ? ev[i].source_ip : ev[i].source_fqdn;
		bool seen = false;

		if (!subject)
			continue;
		for (size_t j = 0; j < i && !seen; j++) {
			const char *o = ev[j].source_ip ? ev[j].source_ip
							: ev[j].source_fqdn;

			seen = o && strcmp(o, subject) == 0 &&
			       strcmp(ev[j].type, ev[i].type) == 0;
		}
		if (seen)
			continue;
		struct store_suppression s = {
			.match = (char *)subject, .type = ev[i].type,
			.until = cfg->tracking.dispute_suppress
					 ? now + cfg->tracking.dispute_suppress
					 : 0,
			.reason = reason, .source = source,
		};
		err = store_suppression_add(store, &s);
	}
	store_events_free(ev, n);
	return err;
}

/* In a transaction. */
static enum rk_err ack_locked(struct rk_store *store,
			      const struct rk_config *cfg,
			      const struct rk_log *log, const char *id,
			      enum track_ack_status status, const char *note,
			      const char *actor, int64_t now)
{
	enum rk_err err;
	struct store_ticket_change ch = {
		.id = id, .to = target_state(status), .cause = TICKETS_CAUSE_ACK,
		.actor = actor ? actor : "ack", .detail = note, .level = -1,
	};

	if ((err = tickets_transition(store, log, &ch)))
		return err;
	if (status == TRACK_ACK_DISPUTED)
		err = suppress_subjects(store, cfg, id, note, now);
	return err;
}

enum rk_err track_ack(struct rk_store *store, const struct rk_config *cfg,
		      const struct rk_log *log, const char *id,
		      enum track_ack_status status, const char *note,
		      const char *actor, int64_t now)
{
	enum rk_err err;

	store_set_now(store, now);
	if ((err = store_begin(store)))
		return err;
	if ((err = ack_locked(store, cfg, log, id, status, note, actor, now)) ||
	    (err = store_commit(store))) {
		store_rollback(store);
		return err;
	}
	rk_log_info(log, "ticket %s: %s", id, target_state(status));
	return RK_OK;
}

enum rk_err track_ack_by_token(struct rk_store *store,
			       const struct rk_config *cfg,
			       const struct rk_log *log, const char *token,
			       enum track_ack_status status, const char *note,
			       int64_t now, char *ticket_out)
{
	char hash[65], stored[65], id[32];
	bool found = false;
	enum rk_err err;

	if (ticket_out)
		ticket_out[0] = '\0';
	if (!token || strlen(token) != TRACK_TOKEN_HEX - 1)
		return rk_fail(log, RK_ERR_NOTFOUND, "unknown acknowledgement token");
	if ((err = track_token_hash(token, hash)))
		return err;
	store_set_now(store, now);
	if ((err = store_begin(store)))
		return err;
	if ((err = store_ack_token_find(store, hash, stored, id, &found)))
		goto fail;
	/* the lookup found the row by its hash; the bytes are compared again
	 * in constant time so that no partial match is ever taken */
	if (!found || strlen(stored) != 64 ||
	    CRYPTO_memcmp(stored, hash, 64) != 0) {
		err = rk_fail(log, RK_ERR_NOTFOUND, "unknown acknowledgement token");
		goto fail;
	}
	if ((err = ack_locked(store, cfg, log, id, status, note, "ack-link",
			      now)) ||
	    (err = store_ack_token_used(store, hash)) ||
	    (err = store_commit(store)))
		goto fail;
	if (ticket_out)
		memcpy(ticket_out, id, strlen(id) + 1);
	rk_log_info(log, "ticket %s: %s by its acknowledgement link", id,
		    target_state(status));
	return RK_OK;
fail:
	store_rollback(store);
	return err;
}
