/*
 * The store: one SQLite file holding everything renraku knows.
 *
 * All SQL lives in relay/store/.  Writes happen inside store_begin() /
 * store_commit() (BEGIN IMMEDIATE); a function documented "in a
 * transaction" expects the caller to hold one, the others take their own
 * when they need it.  Statements are prepared once and reused.
 *
 * Rows handed out (struct store_*) own their strings; release them with
 * the matching *_release / *_free function.
 *
 * Files: db.c (open, migrations, transactions), events.c (reports,
 * events), contacts.c (constituency, national CSIRTs, suppressions),
 * tickets.c (tickets, ticket events, ticket contacts), messages.c
 * (messages), audit.c (audit log).
 */
#ifndef RENRAKU_STORE_H
#define RENRAKU_STORE_H

#include "renraku/core.h"

struct rk_store;

/* The schema version this program writes (PRAGMA user_version). */
int store_schema_version(void);

/* Open (creating when missing) and migrate.  A database newer than this
 * program is refused with RK_ERR_DB_NEWER.  busy_timeout_ms applies to
 * every lock wait.  log is borrowed for the life of the store. */
enum rk_err store_open(struct rk_store **out, const char *path,
		       long long busy_timeout_ms, const struct rk_log *log);
void store_close(struct rk_store *store);

/* Take the runner lock: one process at a time advances the pipeline
 * (run, serve); ingest and queries need no lock.  It is an flock on
 * "<database>-run.lock", held until store_close and released by the kernel
 * if the process dies.  RK_ERR_BUSY when another process holds it and
 * wait is false.  Taking it twice in one store is a no-op. */
enum rk_err store_runner_lock(struct rk_store *store, bool wait);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK.  Not nestable. */
enum rk_err store_begin(struct rk_store *store);
enum rk_err store_commit(struct rk_store *store);
void store_rollback(struct rk_store *store);

/* ------------------------------------------------------------ reports */

struct store_report {
	const char *format;      /* "intelmq", ... */
	const char *source_name; /* file name or "-" */
	const char *reporter;    /* NULL = none */
};

/* In a transaction.  Inserts a report row (received_at = now). */
enum rk_err store_report_add(struct rk_store *store,
			     const struct store_report *report,
			     int64_t *id_out);
/* In a transaction.  Records the counts once the report is read. */
enum rk_err store_report_finish(struct rk_store *store, int64_t report_id,
				long long events, long long duplicates,
				long long rejected);

/* ------------------------------------------------------------ events */

/* Event states.  new -> ticketed | suppressed | withheld | unresolved */
#define STORE_EVENT_NEW "new"
#define STORE_EVENT_TICKETED "ticketed"
#define STORE_EVENT_SUPPRESSED "suppressed"
#define STORE_EVENT_WITHHELD "withheld"     /* TLP:RED: never leaves */
#define STORE_EVENT_UNRESOLVED "unresolved" /* no contact found */

/* A normalized event.  The strings are owned by whoever filled the
 * struct: store_event_add only reads them; rows returned by the store are
 * owned by the caller and freed with store_event_release. */
struct store_event {
	int64_t id;
	int64_t report_id;
	char *dedup_key;      /* SHA-256 (hex) of the normalized fields but
				 time.observation and [ingest] dedup_ignore
				 (docs/ingest.md) */
	int64_t time_source;  /* Unix seconds, UTC */
	char *type;           /* classification.type */
	char *taxonomy;       /* classification.taxonomy */
	char *identifier;     /* classification.identifier, NULL = none */
	char *feed_name;      /* NULL = none */
	char *source_ip;      /* canonical text form, NULL = none */
	char *source_fqdn;    /* normalized (A-label), NULL = none */
	char *source_url;     /* NULL = none */
	char *source_cc;      /* source.geolocation.cc, upper case, NULL */
	uint32_t source_asn;  /* 0 = none */
	enum rk_tlp tlp;
	enum rk_severity severity;
	char *data;           /* the whole normalized event as a JSON object
			         with IntelMQ field names as flat keys */
	char *state;          /* on rows read back */
};

void store_event_release(struct store_event *ev);

/* In a transaction.  Insert an event unless an event with the same
 * dedup_key exists: then *duplicate is set and nothing is written.
 * ev->state is ignored (new events are STORE_EVENT_NEW). */
enum rk_err store_event_add(struct rk_store *store,
			    const struct store_event *ev, int64_t *id_out,
			    bool *duplicate);

/* Up to limit events in state new with id > after_id, oldest first.
 * *rows (caller frees with store_events_free) holds *n rows. */
enum rk_err store_events_new(struct rk_store *store, int64_t after_id,
			     size_t limit, struct store_event **rows,
			     size_t *n);
void store_events_free(struct store_event *rows, size_t n);

/* In a transaction.  Move an event to a new state; reason (NULL = none)
 * is kept for operators (why it was suppressed / unresolved). */
enum rk_err store_event_set_state(struct rk_store *store, int64_t event_id,
				  const char *state, const char *reason);

/* Events of a ticket, oldest first (caller frees with store_events_free).
 * only_unnotified: only events no notice has carried yet. */
enum rk_err store_ticket_events(struct rk_store *store,
				const char *ticket_id, bool only_unnotified,
				struct store_event **rows, size_t *n);

/* Counts by state, for summaries. */
struct store_event_counts {
	long long total, pending, ticketed, suppressed, withheld, unresolved;
};
enum rk_err store_event_counts(struct rk_store *store,
			       struct store_event_counts *out);

/* ------------------------------------------------------------ contacts */

enum store_contact_kind {
	STORE_CONTACT_CONSTITUENCY = 0, /* constituency.csv */
	STORE_CONTACT_NATIONAL = 1      /* national-csirts.csv */
};

/* One contacts row.  For constituency rows `match` is the text as written
 * (CIDR, ASxxx, domain or *.domain); for national rows `match` is the
 * ISO 3166 country code and org is the team name. */
struct store_contact {
	int64_t id;
	enum store_contact_kind kind;
	char *org;
	char *match;
	char *email;
	char *cc;     /* NULL = none; comma-separated addresses */
	char *pgp;    /* fingerprint or key file name, NULL = none */
	char *lang;   /* "ja", "en", NULL = unset */
	char *format; /* "csv-attach", "csv-inline", ... NULL = default */
	char *notes;
	char *source; /* "constituency.csv:12" */
};

struct store_suppression {
	int64_t id;
	char *match;   /* IP, CIDR, ASxxx, domain, *.domain or "*" */
	char *type;    /* classification.type, NULL or "*" = any */
	int64_t until; /* Unix seconds (end of day UTC), 0 = forever */
	char *reason;
	char *source;
};

void store_contact_release(struct store_contact *c);
void store_suppression_release(struct store_suppression *s);

/* Replace the whole imported contact set in one transaction (takes its
 * own): every constituency row, national CSIRT row and suppression is
 * deleted and the given ones inserted. */
enum rk_err store_contacts_replace(struct rk_store *store,
				   const struct store_contact *contacts,
				   size_t ncontacts,
				   const struct store_suppression *supps,
				   size_t nsupps);

/* Load every contact / suppression (caller frees with *_free). */
enum rk_err store_contacts_load(struct rk_store *store,
				struct store_contact **rows, size_t *n);
void store_contacts_free(struct store_contact *rows, size_t n);
enum rk_err store_suppressions_load(struct rk_store *store,
				    struct store_suppression **rows,
				    size_t *n);
void store_suppressions_free(struct store_suppression *rows, size_t n);

/* ------------------------------------------------------------ tickets */

/* Ticket states.  open: aggregating until send_after.  held: waits for an
 * operator (e.g. TLP:AMBER and no key).  notified: first notice sent.
 * Later stages add acknowledged, escalated, resolved, expired. */
#define STORE_TICKET_OPEN "open"
#define STORE_TICKET_HELD "held"
#define STORE_TICKET_NOTIFIED "notified"

/* One level of a ticket's contact chain. */
struct store_chain_entry {
	int level;     /* 0 responsible party, 1 upstream, 2 national */
	char *email;
	char *cc;
	char *org;
	char *lang;
	char *format;
	char *pgp;
	char *source;  /* "local", "rdap", ... */
};

struct store_ticket {
	char id[32];          /* "YYYYMMDD-NNNNNN" */
	char *state;
	int level;            /* current chain level notified */
	char *contact;        /* level-0 address the ticket aggregates on */
	char *template_name;
	char *lang;
	char *format;
	enum rk_tlp tlp;      /* most restrictive of its events */
	enum rk_severity severity; /* highest of its events */
	char *hold_reason;    /* NULL unless held */
	char *approved_by;    /* operator who released it from a hold, NULL */
	int64_t created_at;
	int64_t send_after;   /* first notice not before this */
	int64_t notified_at;  /* 0 = never */
	long long event_count;
	struct store_chain_entry *chain; /* owned */
	size_t nchain;
};

void store_ticket_release(struct store_ticket *t);

/* In a transaction.  The ticket still aggregating (state open, fewer
 * than max_events events) for (contact, template) whose TLP class matches
 * `restricted` (true: AMBER or AMBER+STRICT; false: CLEAR or GREEN), so
 * that one AMBER event cannot hold back shareable ones.  *found set, id
 * copied into id_out. */
enum rk_err store_ticket_find_open(struct rk_store *store,
				   const char *contact,
				   const char *template_name, bool restricted,
				   long long max_events, char id_out[32],
				   bool *found);

/* In a transaction.  Create a ticket with the next id of its UTC day
 * (YYYYMMDD-NNNNNN) in state open, with its chain.  t->id is filled in;
 * t->state, event_count and notified_at are ignored. */
enum rk_err store_ticket_create(struct rk_store *store,
				struct store_ticket *t);

/* In a transaction.  Attach an event; raises the ticket's tlp and
 * severity to the event's when higher.  *count_out (may be NULL) gets the
 * ticket's event count afterwards. */
enum rk_err store_ticket_add_event(struct rk_store *store,
				   const char *ticket_id,
				   const struct store_event *ev,
				   long long *count_out);

/* In a transaction.  Make an open ticket due now (it is full). */
enum rk_err store_ticket_due_now(struct rk_store *store,
				 const char *ticket_id, int64_t now);

/* Tickets in state open whose send_after <= now (caller frees with
 * store_tickets_free). */
enum rk_err store_tickets_due(struct rk_store *store, int64_t now,
			      struct store_ticket **rows, size_t *n);

/* All tickets, or those in one state (state NULL = all), newest first. */
enum rk_err store_tickets_list(struct rk_store *store, const char *state,
			       struct store_ticket **rows, size_t *n);
/* One ticket with its chain; RK_ERR_NOTFOUND if none. */
enum rk_err store_ticket_get(struct rk_store *store, const char *id,
			     struct store_ticket *out);
void store_tickets_free(struct store_ticket *rows, size_t n);

/* In a transaction.  Change state (and hold reason, NULL clears it). */
enum rk_err store_ticket_set_state(struct rk_store *store, const char *id,
				   const char *state,
				   const char *hold_reason);

/* In a transaction.  An operator's decision on a ticket: approve
 * releases a held ticket (state open, due now; a TLP:AMBER ticket then
 * goes out signed but not encrypted: the operator has reviewed it); hold
 * stops an open one.  RK_ERR_NOTFOUND: no such ticket; RK_ERR_INVAL: the
 * ticket is not in a state the decision applies to.  Audited under
 * `actor`. */
enum rk_err store_ticket_approve(struct rk_store *store, const char *id,
				 const char *actor, int64_t now);
enum rk_err store_ticket_hold(struct rk_store *store, const char *id,
			      const char *actor, const char *reason);

/* In a transaction.  Mark the ticket notified at `now` and record that
 * message message_row carried the given events.  The ticket must still
 * be open: RK_ERR_EXISTS otherwise (someone else notified it; roll
 * back). */
enum rk_err store_ticket_mark_notified(struct rk_store *store,
				       const char *id, int64_t message_row,
				       int64_t now, const int64_t *event_ids,
				       size_t nevents);

/* ------------------------------------------------------------ messages */

#define STORE_MSG_QUEUED "queued"   /* built and signed, not yet sent */
#define STORE_MSG_SENDING "sending" /* handed to the transport */
#define STORE_MSG_SENT "sent"
#define STORE_MSG_DEFERRED "deferred"
#define STORE_MSG_FAILED "failed"

struct store_message {
	int64_t id;
	char *ticket_id;
	char *direction;   /* "out" or "in" */
	char *kind;        /* "notice", ... */
	char *message_id;  /* "<...>" */
	char *mail_from;
	char *rcpt;        /* comma-separated envelope recipients */
	char *subject;     /* decoded, UTF-8 */
	char *state;
	char *location;    /* where the transport put it, NULL = not yet */
	char *reply;       /* transport's reply */
	int64_t created_at;
	int64_t sent_at;
	unsigned char *raw; /* the whole message, CRLF */
	size_t raw_len;
};

void store_message_release(struct store_message *m);
void store_messages_free(struct store_message *rows, size_t n);

/* In a transaction.  Insert an outgoing message in state queued. */
enum rk_err store_message_add(struct rk_store *store,
			      const struct store_message *m,
			      int64_t *id_out);
/* Deferred deliveries are retried with a doubling delay from
 * STORE_RETRY_FIRST up to STORE_RETRY_MAX, and fail after
 * STORE_RETRY_ATTEMPTS attempts (about five days). */
#define STORE_RETRY_FIRST 300
#define STORE_RETRY_MAX 21600
#define STORE_RETRY_ATTEMPTS 24

/* Messages to deliver now: queued, sending (in flight when a run died),
 * and deferred ones whose retry time has come; oldest first, with raw
 * bytes. */
enum rk_err store_messages_pending(struct rk_store *store, int64_t now,
				   size_t limit, struct store_message **rows,
				   size_t *n);
/* Takes its own transaction.  Set state, location and reply (NULL keeps
 * the old value); sets sent_at when state is sent.  Setting deferred
 * counts an attempt and schedules the next one; past
 * STORE_RETRY_ATTEMPTS the message becomes failed instead. */
enum rk_err store_message_set_state(struct rk_store *store, int64_t id,
				    const char *state, const char *location,
				    const char *reply, int64_t now);
/* The Message-IDs of a ticket's messages, oldest first (caller frees
 * with store_messages_free; raw is not loaded). */
enum rk_err store_ticket_messages(struct rk_store *store,
				  const char *ticket_id,
				  struct store_message **rows, size_t *n);

/* ------------------------------------------------------------ audit */

/* In a transaction.  actor: "run", "cli", "ingest", an operator name.
 * object: a ticket id, message id, ... detail may be NULL. */
enum rk_err store_audit(struct rk_store *store, const char *actor,
			const char *action, const char *object,
			const char *detail);

#endif /* RENRAKU_STORE_H */
