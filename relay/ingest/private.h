/* Inside ingest: the IntelMQ normalizer shared by the readers.  Only
 * files under relay/ingest/ include this. */
#ifndef RENRAKU_INGEST_PRIVATE_H
#define RENRAKU_INGEST_PRIVATE_H

#include <jansson.h>

#include "renraku/ingest.h"

/* Size of a rejection reason, NUL included. */
#define INTELMQ_REASON 320

/* State reused from one event to the next, so that the hot path allocates
 * little beyond what jansson needs.  Initialise with intelmq_norm_init,
 * free with intelmq_norm_release. */
struct intelmq_norm {
	json_t *fields;        /* the flat normalized event, owned */
	/* The event as store_event_add wants it.  A view: every string is
	 * borrowed from fields or the buffers below and stays valid until
	 * the next intelmq_normalize or intelmq_norm_release.  report_id is
	 * the caller's to set. */
	struct store_event ev;
	struct rk_buf key;     /* flattened field name being built */
	struct rk_buf name;    /* the stored name ("extra.<key>") */
	struct rk_buf data;    /* ev.data: fields as compact JSON */
	struct rk_buf dedup;   /* ev.dedup_key */
	json_t *tlp_names[RK_TLP_RED + 1]; /* shared "CLEAR", "GREEN", ... */
	size_t nfields;
	char reason[INTELMQ_REASON]; /* why the last event was rejected */
};

enum rk_err intelmq_norm_init(struct intelmq_norm *n);
void intelmq_norm_release(struct intelmq_norm *n);

/* Normalize one IntelMQ event.  root must be a JSON object; it is
 * borrowed (values are shared with n->fields, so root may be released
 * right after).  Returns RK_OK with n->ev filled, RK_ERR_INVAL with the
 * reason in n->reason for a bad event, or RK_ERR_NOMEM. */
enum rk_err intelmq_normalize(struct intelmq_norm *n,
			      const struct rk_config *cfg, json_t *root);

/* Flags every reader parses one record with. */
#define INTELMQ_JSON_FLAGS (JSON_DECODE_ANY | JSON_REJECT_DUPLICATES)

#endif
