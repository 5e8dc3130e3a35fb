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
 * events, chains), contacts.c (constituency, national CSIRTs,
 * suppressions), tickets.c (tickets, ticket events, ticket contacts, the
 * timeline), messages.c (messages and their per-recipient deliveries),
 * audit.c (audit log).
 *
 * Owns: every byte of SQL and the schema.  May call: core, SQLite.  Every
 * stage calls it; it calls no stage and never reads the clock (the time
 * it records is the caller's, store_set_now).  A struct rk_store is one
 * connection for one thread at a time: each thread opens its own.
 */
#ifndef RENRAKU_STORE_H
#define RENRAKU_STORE_H

#include "renraku/core.h"

struct rk_store;

/* The schema version this program writes (PRAGMA user_version). */
int store_schema_version(void);

/* Once, at the start of main, before any other store call: SQLite's
 * process-wide settings (no memory statistics: each of its allocations
 * otherwise takes a global mutex, and nothing here reads them).  A
 * program that skips it works the same, a little slower. */
void store_library_init(void);

/* Open (creating when missing) and migrate.  A database newer than this
 * program is refused with RK_ERR_DB_NEWER.  busy_timeout_ms applies to
 * every lock wait.  log is borrowed for the life of the store. */
enum rk_err store_open(struct rk_store **out, const char *path,
		       long long busy_timeout_ms, const struct rk_log *log);
void store_close(struct rk_store *store);

/* A second connection to store's database file (for another thread),
 * with the same `now`; RK_ERR_NOTFOUND for a database in memory.  The
 * caller closes *out with store_close. */
enum rk_err store_open_sibling(const struct rk_store *store,
			       long long busy_timeout_ms,
			       struct rk_store **out);

/* Take the runner lock: one process at a time advances the pipeline
 * (run, serve); ingest and queries need no lock.  It is an flock on
 * "<database>-run.lock", held until store_close and released by the kernel
 * if the process dies.  RK_ERR_BUSY when another process holds it and
 * wait is false.  Taking it twice in one store is a no-op. */
enum rk_err store_runner_lock(struct rk_store *store, bool wait);

/* The time every write of this store records (created_at, updated_at,
 * timeline and audit rows).  The store never reads the clock: the command
 * line sets it once per command or daemon pass (its --now, else the
 * clock), and tests set what they need.  0 until set. */
void store_set_now(struct rk_store *store, int64_t now);
int64_t store_now(const struct rk_store *store);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK.  Not nestable. */
enum rk_err store_begin(struct rk_store *store);
enum rk_err store_commit(struct rk_store *store);
void store_rollback(struct rk_store *store);

/* Inside a transaction: a savepoint around one item of a batch, so that
 * one bad item is undone and set aside while the batch goes on.  Not
 * nestable.  _rollback undoes the item's writes and ends the savepoint. */
enum rk_err store_savepoint(struct rk_store *store);
enum rk_err store_savepoint_release(struct rk_store *store);
enum rk_err store_savepoint_rollback(struct rk_store *store);

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

/* Event states.
 *   new -> withheld (TLP:RED) | suppressed | resolved | unresolved
 *   resolved -> ticketed | failed
 *   unresolved -> new (retried after [resolve] negative_ttl, at once
 *                 after a contacts import, or by `events retry`)
 *   failed -> new (`events retry --state failed`) */
#define STORE_EVENT_NEW "new"
#define STORE_EVENT_RESOLVED "resolved"     /* has its contact chain */
#define STORE_EVENT_TICKETED "ticketed"
#define STORE_EVENT_SUPPRESSED "suppressed"
#define STORE_EVENT_WITHHELD "withheld"     /* TLP:RED: never leaves */
#define STORE_EVENT_UNRESOLVED "unresolved" /* no contact found */
#define STORE_EVENT_FAILED "failed"         /* set aside, with a reason */

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
	char *category;       /* JPCERT/CC-style incident category
			         (rk_config_category), NULL = none */
	char *data;           /* the whole normalized event as a JSON object
			         with IntelMQ field names as flat keys */
	char *state;          /* on rows read back */
	char *state_reason;   /* on rows read back, NULL = none */
	int64_t created_at;   /* on rows read back */
	int64_t chain_id;     /* on rows read back, 0 = none */
	int64_t retry_at;     /* on rows read back: when an unresolved event
				 is looked up again */
	char *chain;          /* the chain as resolve_chain_encode wrote it,
				 when a caller fills it (freed with ev) */
	char *chain_contact;  /* store_events_resolved only: its level-0
				 address */
	int64_t dedup_time;   /* the first column of the dedup key's unique
				 index (schema version 12): time_source
				 when time.source is one of the fields
				 dedup_key hashes (the default), else 0, so
				 that events with equal keys always have
				 equal dedup_time.  Keys of one period sit
				 together in the index instead of all over
				 it.  Not read back. */
};

void store_event_release(struct store_event *ev);

/* In a transaction.  Insert an event unless an event with the same
 * dedup_key (and dedup_time) exists: then *duplicate is set and nothing
 * is written.
 * ev->state is ignored (new events are STORE_EVENT_NEW). */
enum rk_err store_event_add(struct rk_store *store,
			    const struct store_event *ev, int64_t *id_out,
			    bool *duplicate);

/* A bulk insert of events on this connection (ingest of a file), outside
 * any transaction: store_ingest_start sets what a run of many
 * store_event_add wants (STORE_INGEST_PRAGMAS: a larger page cache for
 * the random-order dedup index, a larger WAL between automatic
 * checkpoints, no foreign key check: the events' report_id is the report
 * the same run added), store_ingest_end puts back what store_open set.
 * Both are no-ops inside a transaction for the parts SQLite ignores
 * there; call end on every path once start succeeded.  They nest: a
 * command ingesting many files brackets them all, and only the
 * outermost pair changes anything, so that the page cache and the
 * checkpoint thread carry over from one file to the next instead of
 * being given up (and the checkpoint waited for) after each. */
enum rk_err store_ingest_start(struct rk_store *store);
void store_ingest_end(struct rk_store *store);
/* The statements store_ingest_start runs (static text), for a bench that
 * must insert under the same settings. */
const char *store_ingest_pragmas(void);

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

/* Up to limit events the resolver should look at now, id > after_id,
 * oldest first: those in state new, or (unresolved true) the unresolved
 * ones whose retry_at <= now.  Only what the resolve stage reads is
 * filled: id, type, source_ip, source_fqdn, source_cc, source_asn, tlp,
 * severity, state, retry_at, chain_id (the rest 0 / NULL, data too).
 * Caller frees with store_events_free. */
enum rk_err store_events_to_resolve(struct rk_store *store, int64_t now,
				    bool unresolved, int64_t after_id,
				    size_t limit, struct store_event **rows,
				    size_t *n);

/* In a transaction.  Store a resolved chain (subject: the query it
 * answers, for operators and reuse; contact: its level-0 address, what
 * tickets aggregate on; chain: resolve_chain_encode's text; country NULL
 * = none); *id_out gets its row. */
enum rk_err store_chain_add(struct rk_store *store, const char *subject,
			    const char *contact, const char *chain,
			    const char *country, int64_t *id_out);
/* In a transaction.  What a lookup found for an event, recorded only if
 * the event is still as the resolver read it (seen->state and
 * seen->retry_at: nobody retried or changed it meanwhile; *applied tells).
 * state: resolved (chain_id), unresolved (reason, retry_at), withheld or
 * suppressed (reason). */
enum rk_err store_event_resolve_outcome(struct rk_store *store,
					const struct store_event *seen,
					const char *state, int64_t chain_id,
					const char *reason, int64_t retry_at,
					bool *applied);

/* Outside a transaction.  For the run stages' batches: a 32 MB page
 * cache (instead of SQLite's 2 MB) and a checkpoint every 32 MB of WAL,
 * for this connection. */
enum rk_err store_tune_for_batches(struct rk_store *store);

/* Outside a transaction.  Whether this connection checks foreign keys
 * (store_open turns them on).  The run stage's fused resolve + tickets
 * batches turn them off for their pass: every reference they write is
 * to a row they made or read themselves (an event's chain stored by the
 * pass, a ticket found or made in the batch, the batch's events), and
 * no code deletes chains, tickets or events.  Checked, each chain_id
 * written was a random read of the chains table (~550 bytes a row,
 * larger than the page cache at 100,000 chains). */
enum rk_err store_check_references(struct rk_store *store, bool on);

/* In a transaction.  Every event still resolved with first_id <= id <=
 * last_id becomes ticketed (state_reason cleared); *changed (may be
 * NULL) gets how many. */
enum rk_err store_events_mark_ticketed(struct rk_store *store,
				       int64_t first_id, int64_t last_id,
				       long long *changed);

/* One event's outcome for store_events_resolve_outcomes (strings and
 * seen borrowed). */
struct store_resolve_outcome {
	const struct store_event *seen;
	const char *state;
	int64_t chain_id;
	const char *reason;
	int64_t retry_at;
	bool applied; /* out: written (the event was still as seen) */
};

/* In a transaction.  store_event_resolve_outcome for o[0..n) (in
 * ascending seen->id order): one prepared statement stepped an outcome
 * (cheaper than one statement over a JSON text of the batch: nothing
 * built or parsed); o[i].applied tells. */
enum rk_err store_events_resolve_outcomes(struct rk_store *store,
					  struct store_resolve_outcome *o,
					  size_t n);

/* Up to limit resolved events with id > after_id, oldest first, with
 * only what the tickets stage reads: id, type, source_cc, tlp, severity,
 * chain_id, retry_at and chain_contact (NULL when the chain row is
 * missing); every other field NULL/0, ev->chain too (store_chain_text). */
enum rk_err store_events_resolved(struct rk_store *store, int64_t after_id,
				  size_t limit, struct store_event **rows,
				  size_t *n);
/* The text of chain chain_id as resolve_chain_encode wrote it (caller
 * frees); RK_ERR_PARSE when there is no such chain. */
enum rk_err store_chain_text(struct rk_store *store, int64_t chain_id,
			     char **out);

/* Takes its own transaction.  Put events set aside back to new: state
 * is STORE_EVENT_UNRESOLVED or STORE_EVENT_FAILED; only events created at
 * or after since (0 = all).  *count gets how many. */
enum rk_err store_events_retry(struct rk_store *store, const char *state,
			       int64_t since, long long *count);

/* Events in a state (NULL = all) of one report (0 = any), newest first,
 * at most limit, with their data.  Caller frees with store_events_free. */
enum rk_err store_events_list(struct rk_store *store, const char *state,
			      int64_t report_id, size_t limit,
			      struct store_event **rows, size_t *n);

/* Events of a ticket, oldest first (caller frees with store_events_free).
 * only_unnotified: only events no notice has carried yet. */
enum rk_err store_ticket_events(struct rk_store *store,
				const char *ticket_id, bool only_unnotified,
				struct store_event **rows, size_t *n);

/* The event spool (spool.c): store_ticket_events(only_unnotified) for
 * many tickets at once, read in one pass in event order into an unnamed
 * temporary file beside the database (an in-memory one: $TMPDIR or
 * /tmp; gone on close or crash) and kept by
 * ticket, for notify, which takes each ticket's events once.  It holds
 * the events as they were when it was opened.
 *
 * store_event_spool_open covers tickets[0..k) for the largest k <= n
 * whose unnotified events number at most max_events (k >= 1 whatever
 * the first ticket has); store_event_spool_count gives k.  Memory while
 * it is opened: 16 bytes an event covered; then at most 16 MiB of
 * staging buffers and a chunk list a ticket.  Caller closes *out. */
struct store_event_spool;
struct store_ticket;
enum rk_err store_event_spool_open(struct rk_store *store,
				   const struct store_ticket *tickets,
				   size_t n, size_t max_events,
				   struct store_event_spool **out);
size_t store_event_spool_count(const struct store_event_spool *sp);
/* The events of covered ticket i (whose id must be ticket_id, else
 * RK_ERR_NOTFOUND), oldest first as store_ticket_events orders them
 * (caller frees with store_events_free).  Each ticket once: its memory
 * is released, and a second take gives no rows. */
enum rk_err store_event_spool_take(struct store_event_spool *sp, size_t i,
				   const char *ticket_id,
				   struct store_event **rows, size_t *n);
/* NULL is fine. */
void store_event_spool_close(struct store_event_spool *sp);

/* Counts by state, for summaries. */
struct store_event_counts {
	long long total, pending, resolved, ticketed, suppressed, withheld,
		unresolved, failed;
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
 * deleted and the given ones inserted.  Unresolved events become due for
 * another lookup at once (the constituency changed). */
enum rk_err store_contacts_replace(struct rk_store *store,
				   const struct store_contact *contacts,
				   size_t ncontacts,
				   const struct store_suppression *supps,
				   size_t nsupps);

/* How many times the contact set was replaced: a stage that read the
 * contacts before a long wait compares it inside its write transaction
 * and writes nothing computed from an older set. */
enum rk_err store_contacts_generation(struct rk_store *store, int64_t *out);

/* Load every contact / suppression (caller frees with *_free). */
enum rk_err store_contacts_load(struct rk_store *store,
				struct store_contact **rows, size_t *n);
void store_contacts_free(struct store_contact *rows, size_t n);
enum rk_err store_suppressions_load(struct rk_store *store,
				    struct store_suppression **rows,
				    size_t *n);
void store_suppressions_free(struct store_suppression *rows, size_t n);

/* ------------------------------------------------------------ tickets */

/* Ticket states: the closed set the database checks (schema 2).  Which
 * changes are allowed is the tickets stage's transition table
 * (relay/tickets/states.c); every change goes through it. */
#define STORE_TICKET_OPEN "open"
#define STORE_TICKET_HELD "held"
#define STORE_TICKET_NOTIFIED "notified"
#define STORE_TICKET_FAILED "failed"

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
	char *cleartext_by;   /* operator who let a TLP:AMBER ticket go out
				 unencrypted (approve --cleartext), NULL */
	int64_t created_at;
	int64_t send_after;   /* first notice not before this */
	int64_t notified_at;  /* 0 = never */
	long long event_count;
	struct store_chain_entry *chain; /* owned */
	size_t nchain;
};

void store_ticket_release(struct store_ticket *t);

/* In a transaction.  The ticket still aggregating (state open, not
 * approved by an operator: an approval covers exactly the events that
 * were reviewed; fewer than max_events events) for (contact, template)
 * whose TLP class matches
 * `restricted` (true: AMBER or AMBER+STRICT; false: CLEAR or GREEN), so
 * that one AMBER event cannot hold back shareable ones.  *found set, id
 * copied into id_out. */
enum rk_err store_ticket_find_open(struct rk_store *store,
				   const char *contact,
				   const char *template_name, bool restricted,
				   long long max_events, char id_out[32],
				   bool *found);

/* A ticket as the aggregation finds it: id, events so far, severity. */
struct store_ticket_slot {
	char id[32];
	long long event_count;
	int severity;
};

/* store_ticket_find_open with the ticket's count and severity. */
enum rk_err store_ticket_find_open_slot(struct rk_store *store,
					const char *contact,
					const char *template_name,
					bool restricted, long long max_events,
					struct store_ticket_slot *out,
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

/* One event joining one ticket (ticket_id borrowed). */
struct store_ticket_join {
	const char *ticket_id;
	int64_t event_id;
	int tlp, severity;
};

/* In a transaction.  store_ticket_add_event for n events at once (joins
 * borrowed): one prepared insert stepped a row, a ticket's rows
 * together in (ticket, event) order, then one update a ticket raises its
 * tlp, severity and count. */
enum rk_err store_ticket_add_events(struct rk_store *store,
				    const struct store_ticket_join *joins,
				    size_t n);

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
/* One page of tickets for GET /v1/tickets, newest first by (created_at,
 * id): both are fixed when a ticket is made, so a walk from page to page
 * sees every ticket that existed when it started exactly once, whatever
 * changes state meanwhile.  state NULL = any; since: created_at >= since
 * (0 = all); the page starts after (before_at, before_id), the last row
 * of the page before (before_id NULL = from the newest).  At most limit
 * rows (one query: ... WHERE (created_at, id) < (?, ?) ORDER BY
 * created_at DESC, id DESC LIMIT limit); caller frees with
 * store_tickets_free. */
enum rk_err store_tickets_page(struct rk_store *store, const char *state,
			       int64_t since, int64_t before_at,
			       const char *before_id, size_t limit,
			       struct store_ticket **rows, size_t *n);
/* One ticket with its chain; RK_ERR_NOTFOUND if none. */
enum rk_err store_ticket_get(struct rk_store *store, const char *id,
			     struct store_ticket *out);
void store_tickets_free(struct store_ticket *rows, size_t n);

/* The current state (into state[32]) and level (may be NULL) of a
 * ticket; RK_ERR_NOTFOUND if none. */
enum rk_err store_ticket_state(struct rk_store *store, const char *id,
			       char state[32], int *level);

/* One ticket state change, as the state machine decided it. */
struct store_ticket_change {
	const char *id;
	const char *from;        /* the state it must be in; NULL: the
				    ticket was just created (timeline row
				    only) */
	const char *to;
	const char *cause;       /* "created", "notice-queued", ... */
	const char *actor;       /* "run", an operator name; NULL = "run" */
	const char *detail;      /* reason kept with held/failed, shown in
				    the timeline; NULL = none */
	const char *approved_by; /* recorded when not NULL */
	const char *cleartext_by; /* recorded when not NULL */
	int level;               /* new level, -1 = unchanged */
	int64_t message_row;     /* the message that caused it, 0 = none */
	bool due_now;            /* send_after = min(send_after, now) */
	bool notified;           /* notified_at = now */
};

/* In a transaction.  Only the tickets stage's state machine calls this.
 * Compare and set: the ticket moves only if it is still in ch->from
 * (RK_ERR_EXISTS when it moved on meanwhile, RK_ERR_NOTFOUND when there
 * is no such ticket); the timeline row and the audit row are written in
 * the same transaction. */
enum rk_err store_ticket_change(struct rk_store *store,
				const struct store_ticket_change *ch);

/* In a transaction.  Record that message message_row carried the given
 * events of ticket id (event_ids borrowed, in any order), exactly those:
 * by range when they are every unnotified event of the ticket in the
 * span of their ids, else as one list; two statements whatever nevents. */
enum rk_err store_ticket_events_mark(struct rk_store *store, const char *id,
				     int64_t message_row,
				     const int64_t *event_ids, size_t nevents);

/* One row of a ticket's timeline. */
struct store_timeline_row {
	int64_t at;
	char *from_state;  /* NULL for the creation */
	char *to_state;
	int level;
	char *actor;
	char *cause;
	int64_t message_row; /* 0 = none */
	char *message_id;    /* of message_row, NULL = none */
	char *detail;        /* NULL = none */
};

/* A ticket's timeline, oldest first (caller frees with
 * store_timeline_free). */
enum rk_err store_ticket_timeline(struct rk_store *store, const char *id,
				  struct store_timeline_row **rows, size_t *n);
void store_timeline_free(struct store_timeline_row *rows, size_t n);

/* Tickets still aggregating at now (open, send_after > now): how many,
 * and the earliest send_after (0 when none). */
enum rk_err store_tickets_waiting(struct rk_store *store, int64_t now,
				  long long *count, int64_t *first_due);

/* ------------------------------------------------------------ messages */

/* Message states.  queued -> sending -> sent | deferred -> sending ... |
 * failed.  A message's state follows from its recipients' deliveries. */
#define STORE_MSG_QUEUED "queued"   /* built and signed, not yet sent */
#define STORE_MSG_SENDING "sending" /* handed to the transport */
#define STORE_MSG_SENT "sent"       /* every recipient final, one accepted */
#define STORE_MSG_DEFERRED "deferred" /* a recipient is still deferred */
#define STORE_MSG_FAILED "failed"   /* no recipient accepted it */
#define STORE_MSG_REVIEW "review"   /* built for [relay] review: waits for
				       'tickets approve', never delivered */

/* Delivery states: one row per envelope recipient (table deliveries). */
#define STORE_DLV_QUEUED "queued"     /* not tried yet */
#define STORE_DLV_SENT "sent"         /* accepted by the transport */
#define STORE_DLV_DEFERRED "deferred" /* temporary failure, tried again */
#define STORE_DLV_BOUNCED "bounced"   /* rejected for good (SMTP 5xx) */
#define STORE_DLV_FAILED "failed"     /* given up: max attempts, or the
					 message could not be sent at all */

/* Envelope recipients one message may have. */
#define STORE_MSG_MAX_RCPTS 1000

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
	long long attempts;   /* delivery attempts begun (crashed ones too) */
	int64_t next_attempt; /* when a deferred message is tried again */
	unsigned char *raw; /* the whole message, CRLF */
	size_t raw_len;
};

void store_message_release(struct store_message *m);
void store_messages_free(struct store_message *rows, size_t n);

/* One envelope recipient of a message and what became of it. */
struct store_delivery {
	int64_t id;
	int64_t message_row;
	char *rcpt;
	char *state;          /* STORE_DLV_* */
	long long attempts;   /* attempts that reached this recipient */
	int64_t next_attempt; /* 0 unless deferred */
	char *reply;          /* the server's (or transport's) reply, NULL */
	char *location;       /* where it went, NULL = not delivered */
	int64_t updated_at;
};

void store_delivery_release(struct store_delivery *d);
void store_deliveries_free(struct store_delivery *rows, size_t n);

/* In a transaction.  Insert an outgoing message in state queued, with
 * one delivery (state queued) per address in m->rcpt (comma-separated,
 * blanks skipped; RK_ERR_LIMIT beyond STORE_MSG_MAX_RCPTS, RK_ERR_INVAL
 * for an address with control characters). */
enum rk_err store_message_add(struct rk_store *store,
			      const struct store_message *m,
			      int64_t *id_out);
/* How deferred deliveries are retried: the n-th attempt's retry waits
 * min(max_delay, initial << (n - 1)) seconds, lengthened by up to
 * jitter_pct percent (so that many messages deferred together do not
 * come back together); a message is given up (its unfinished deliveries
 * failed) after max_attempts attempts or once give_up_after seconds have
 * passed since it was queued, whichever comes first.  From [transport]
 * retry_initial (default STORE_RETRY_FIRST), give_up_after (default 5d)
 * and max_attempts (default 24). */
#define STORE_RETRY_FIRST 300
#define STORE_RETRY_MAX 21600
struct store_retry {
	long long max_attempts; /* >= 1 */
	int64_t initial;        /* seconds, >= 1 */
	int64_t max_delay;      /* seconds, >= initial */
	int64_t give_up_after;  /* seconds after created_at, 0 = no limit */
	unsigned jitter_pct;    /* 0 to 100 */
	uint64_t jitter_seed;   /* the caller's random value (the store reads
				   no clock and no random source) */
};
/* The policy of the previous versions: max_attempts attempts, 5 minutes
 * doubling up to 6 hours, no jitter, no time limit. */
struct store_retry store_retry_attempts(long long max_attempts);

/* Messages to deliver now: queued, sending (in flight when a run died),
 * and deferred ones whose retry time has come; oldest first, with raw
 * bytes. */
enum rk_err store_messages_pending(struct rk_store *store, int64_t now,
				   size_t limit, struct store_message **rows,
				   size_t *n);
/* The same, only those with id > after_id (a cursor through a pass). */
enum rk_err store_messages_pending_after(struct rk_store *store, int64_t now,
					 int64_t after_id, size_t limit,
					 struct store_message **rows,
					 size_t *n);
/* How many outbound messages are queued (never tried), counted up to
 * limit: a cheap look, through messages_by_state, at whether a session's
 * worth is waiting. */
enum rk_err store_messages_queued(struct rk_store *store, size_t limit,
				  size_t *n);
enum rk_err store_messages_pending(struct rk_store *store, int64_t now,
				   size_t limit, struct store_message **rows,
				   size_t *n);

/* Takes its own transaction.  Begin a delivery attempt of outgoing
 * message id (state queued, sending or deferred; RK_ERR_INVAL for any
 * other, RK_ERR_NOTFOUND when there is no such message).
 * When it has had retry->max_attempts attempts already (counting runs
 * that died while sending it), or its give_up_after has passed, nothing
 * more is sent: its unfinished
 * deliveries become failed ("gave up after N attempts"), the message
 * sent if a recipient accepted it earlier, else failed; *gave_up is set
 * and *todo empty.  Otherwise the message is marked sending with its
 * attempt counted, and *todo gets the recipients to send to this time
 * (deliveries queued or deferred, oldest first; created from
 * messages.rcpt for a message that has none).  Caller frees *todo with
 * store_deliveries_free.  Audited. */
enum rk_err store_message_attempt(struct rk_store *store, int64_t id,
				  const struct store_retry *retry, int64_t now,
				  struct store_delivery **todo, size_t *n,
				  bool *gave_up);

/* The outcome of one delivery in an attempt (strings borrowed). */
struct store_delivery_outcome {
	int64_t delivery_id;  /* a row store_message_attempt handed out */
	const char *state;    /* STORE_DLV_SENT, _DEFERRED, _BOUNCED, _FAILED */
	const char *reply;    /* NULL = none */
	const char *location; /* NULL = none */
};

/* Takes its own transaction (one per attempt).  Record the outcome of
 * each recipient of the attempt, then the message state that follows
 * from all its deliveries: deferred, retried after the backoff delay,
 * while one is queued or deferred and the retry policy allows another
 * attempt (retry, above); otherwise those still unfinished become failed, and the
 * message is sent (sent_at = now) when a recipient accepted it, failed
 * when none did.  reply and location are the message's (NULL keeps the
 * old value).  *state_out (may be NULL) gets the message state, one of
 * the STORE_MSG_ constants.  RK_ERR_INVAL for an unknown state or a
 * delivery not in flight for this message.  Audited: one row per
 * recipient and one for the message.  Every bounced recipient is marked
 * failing (store_address_failing) in the same transaction. */
enum rk_err store_message_finish(struct rk_store *store, int64_t id,
				 const struct store_delivery_outcome *outcomes,
				 size_t n, const char *reply,
				 const char *location,
				 const struct store_retry *retry, int64_t now,
				 const char **state_out);

/* Takes its own transaction.  An attempt that never reached the
 * recipients (the connection failed: refused, TLS, dropped before the
 * end of DATA): message id (queued, sending or deferred) becomes
 * deferred until next_attempt, its deliveries unchanged, and the attempt
 * store_message_attempt counted is taken back, so connection trouble
 * does not count against the recipients (give_up_after still applies).
 * reason is kept as the message's reply.  Audited. */
enum rk_err store_message_requeue(struct rk_store *store, int64_t id,
				  int64_t next_attempt, const char *reason);

/* The deliveries of a message, one per envelope recipient, in the order
 * of the message's recipients (caller frees with store_deliveries_free).
 * For `tickets show`. */
enum rk_err store_message_deliveries(struct rk_store *store,
				     int64_t message_row,
				     struct store_delivery **rows, size_t *n);

/* The Message-IDs of a ticket's messages, oldest first (caller frees
 * with store_messages_free; raw is not loaded). */
enum rk_err store_ticket_messages(struct rk_store *store,
				  const char *ticket_id,
				  struct store_message **rows, size_t *n);

/* In a transaction.  Set a message just added (queued) aside for review
 * (state review: no transport picks it up). */
enum rk_err store_message_to_review(struct rk_store *store, int64_t row);
/* In a transaction.  Release a ticket's messages in review to the
 * queue, exactly as built; *first_row gets the oldest one's row and *n
 * how many (0 and 0 when there are none). */
enum rk_err store_ticket_release_review(struct rk_store *store,
					const char *ticket_id,
					int64_t *first_row, size_t *n);
/* A ticket's outgoing messages with their raw bytes, oldest first; only
 * those in `state` unless state is NULL (caller frees with
 * store_messages_free). */
enum rk_err store_ticket_messages_raw(struct rk_store *store,
				      const char *ticket_id, const char *state,
				      struct store_message **rows, size_t *n);

/* ------------------------------------------------------------ resolutions */

/* A cached registry answer, keyed by what the registry said it covers:
 * an address range (level 0), an AS range (level 1) or a domain.  A
 * negative row says the registry named nobody for it. */
struct store_resolution {
	int64_t id;
	int level;
	bool has_range;
	struct rk_addr start, end;
	uint32_t asn, asn_end;  /* 0 = none */
	char *domain;           /* NULL = none */
	char *email, *cc, *org, *country, *registry, *irt; /* NULL = none */
	bool negative;
	int64_t fetched_at, expires_at;
};

void store_resolution_release(struct store_resolution *r);
void store_resolutions_free(struct store_resolution *rows, size_t n);

/* Every unexpired (expires_at > now) row of source, oldest first
 * (caller frees with store_resolutions_free). */
enum rk_err store_resolutions_load(struct rk_store *store, const char *source,
				   int64_t now, struct store_resolution **rows,
				   size_t *n);
/* In a transaction.  Add rows of source (their ids are set); rows of the
 * same key that expired are removed first. */
enum rk_err store_resolutions_put(struct rk_store *store, const char *source,
				  struct store_resolution *rows, size_t n);
/* Registries asked to be left alone until a time (429 Retry-After):
 * *until is 0 when not (or no longer) so.  set is in a transaction. */
enum rk_err store_backoff_get(struct rk_store *store, const char *registry,
			      int64_t now, int64_t *until);
enum rk_err store_backoff_set(struct rk_store *store, const char *registry,
			      int64_t until, const char *reason);

/* ------------------------------------------------------------ failing addresses */

/* An address a mail server refused for good (SMTP 5xx).  It is not used
 * again (tickets skip it when choosing a level of the chain) until an
 * operator clears it (`renraku contacts clear ADDR`). */
struct store_failing {
	char *address;
	int64_t since;
	char *reply;      /* the server's reply, NULL = none */
	char *message_id; /* of the message that bounced, NULL = none */
};
void store_failing_free(struct store_failing *rows, size_t n);

/* Whether address is marked failing (case-insensitive). */
enum rk_err store_address_failing(struct rk_store *store, const char *address,
				  bool *failing);
/* Every failing address, oldest first (caller frees). */
enum rk_err store_failing_list(struct rk_store *store,
			       struct store_failing **rows, size_t *n);
/* Takes its own transaction.  Clear a failing address; *cleared tells
 * whether it was marked.  Audited under actor. */
enum rk_err store_address_clear(struct rk_store *store, const char *address,
				const char *actor, bool *cleared);

/* A ticket whose notice bounced at the address of its current level. */
struct store_bounce {
	char ticket_id[32];
	int level;          /* the ticket's level now */
	int64_t message_row; /* the bounced notice */
	char *rcpt;         /* the address that bounced */
	char *reply;        /* the server's reply, NULL = none */
};
void store_bounces_free(struct store_bounce *rows, size_t n);
/* Tickets in state notified whose latest notice has a bounced delivery
 * to the address of the ticket's current level (caller frees). */
enum rk_err store_tickets_bounced(struct rk_store *store,
				  struct store_bounce **rows, size_t *n);
/* In a transaction.  The events message_row carried for ticket id count
 * as not notified again (the notice never reached anyone): the next
 * notice of the ticket carries them. */
enum rk_err store_ticket_events_unnotify(struct rk_store *store,
					 const char *id, int64_t message_row);

/* ------------------------------------------------------------ rate limits */

/* Recipients attempted since `since` (deliveries whose last attempt is
 * at or after it), counted by messages per recipient domain. */
struct store_domain_count {
	char *domain; /* lower case */
	long long messages;
};
void store_domain_counts_free(struct store_domain_count *rows, size_t n);
enum rk_err store_recent_deliveries(struct rk_store *store, int64_t since,
				    struct store_domain_count **rows,
				    size_t *n, long long *total_messages);

/* ------------------------------------------------------------ inbound */

/* One inbound message (table inbound).  Rows handed out own every
 * string; a row passed to store_inbound_add is only read. */
struct store_inbound {
	int64_t id;
	int64_t received_at;
	char *source;        /* "pipe", "maildir", "imap" */
	char *message_id;    /* "<...>", NULL = none */
	char *hash;          /* SHA-256 of the bytes received, hex */
	char *mail_from;     /* the From header, decoded */
	char *subject;       /* decoded, UTF-8 */
	long long size;      /* bytes received */
	bool truncated;      /* raw holds only the first [inbound] max_message */
	char *class_name;    /* bounce, delayed, auto-reply, reply, malformed */
	char *ticket_id;     /* NULL = unmatched */
	char *matched_by;    /* in-reply-to, references, subject, bounce, operator */
	char *remote_ticket; /* from an auto-reply's subject, NULL = none */
	char *failed_rcpts;  /* a bounce's failed recipients, comma-separated */
	char *status;        /* a bounce's status ("5.1.1 ..."), NULL */
	char *effect;        /* what was done ("notified -> acknowledged") */
	char *body;          /* text for the operator, size-limited */
	unsigned char *raw;  /* the bytes (only store_inbound_get fills it) */
	size_t raw_len;
};

void store_inbound_release(struct store_inbound *in);
void store_inbound_free(struct store_inbound *rows, size_t n);

/* Whether a message with these bytes (hash) was stored already. */
enum rk_err store_inbound_find(struct rk_store *store, const char *hash,
			       int64_t *id, bool *found);
/* In a transaction.  Store one message (received_at = now). */
enum rk_err store_inbound_add(struct rk_store *store,
			      const struct store_inbound *in, int64_t *id_out);
/* In a transaction.  Record the ticket a message was attached to. */
enum rk_err store_inbound_set_ticket(struct rk_store *store, int64_t id,
				     const char *ticket_id,
				     const char *matched_by, const char *effect);
/* Inbound messages, oldest first: all, the unmatched ones, or those of
 * one ticket (ticket_id not NULL); without raw.  Caller frees. */
enum rk_err store_inbound_list(struct rk_store *store, bool unmatched,
			       const char *ticket_id,
			       struct store_inbound **rows, size_t *n);
/* One message with its raw bytes (NUL-terminated); RK_ERR_NOTFOUND. */
enum rk_err store_inbound_get(struct rk_store *store, int64_t id,
			      struct store_inbound *out);

/* The notice renraku sent with this Message-ID: its row and ticket. */
enum rk_err store_sent_message_find(struct rk_store *store,
				    const char *message_id,
				    int64_t *message_row,
				    char ticket_id[32], bool *found);
/* The latest notice sent for a ticket (0 = none). */
enum rk_err store_ticket_last_notice(struct rk_store *store,
				     const char *ticket_id,
				     int64_t *message_row);
/* In a transaction.  A bounce that came back by mail after the notice
 * was accepted: the recipient's delivery of message_row becomes bounced
 * with reply (*found: there was such a delivery) and the address is
 * marked failing, as a 5xx at delivery time does; the tickets stage's
 * tickets_escalate_bounced() then sends the ticket up its chain. */
enum rk_err store_delivery_bounced_later(struct rk_store *store,
					 int64_t message_row,
					 const char *rcpt, const char *reply,
					 bool *found);

/* In a transaction.  The remote ticket number (as quoted in subjects,
 * "[isp.example #88123]") an auto-reply gave for a ticket. */
enum rk_err store_ticket_set_remote(struct rk_store *store,
				    const char *ticket_id, const char *remote);
/* A ticket's remote ticket (caller frees; NULL = none). */
enum rk_err store_ticket_remote(struct rk_store *store, const char *ticket_id,
				char **remote);

/* Where an IMAP mailbox was read up to (0, 0 = never). */
enum rk_err store_imap_state(struct rk_store *store, const char *mailbox,
			     int64_t *uidvalidity, int64_t *last_uid);
/* In a transaction. */
enum rk_err store_imap_state_set(struct rk_store *store, const char *mailbox,
				 int64_t uidvalidity, int64_t last_uid);

/* ------------------------------------------------------------ audit */

/* In a transaction.  actor: "run", "cli", "ingest", an operator name.
 * object: a ticket id, message id, ... detail may be NULL. */
enum rk_err store_audit(struct rk_store *store, const char *actor,
			const char *action, const char *object,
			const char *detail);

/* ------------------------------------------------------------ tracking */

/* In a transaction.  Keep the SHA-256 (hex) of a notice's
 * acknowledgement token, never the token (relay/store/track.c). */
enum rk_err store_ack_token_add(struct rk_store *store, const char *hash_hex,
				const char *ticket_id, int level,
				const char *message_id);
/* The token row whose hash is hash_hex: stored_hash and ticket_id copied
 * out, *found set (false: no such token). */
enum rk_err store_ack_token_find(struct rk_store *store, const char *hash_hex,
				 char stored_hash[65], char ticket_id[32],
				 bool *found);
/* In a transaction.  The token was used now. */
enum rk_err store_ack_token_used(struct rk_store *store, const char *hash_hex);
/* The ids of the tickets a follow-up may concern (notified or
 * auto-acknowledged, their latest notice delivered: one still being
 * retried, or given up, gets no reminder), in id order (caller frees
 * *ids). */
enum rk_err store_tickets_following(struct rk_store *store,
				    char (**ids)[32], size_t *n);
/* In a transaction.  Every event of ticket id counts as not notified:
 * the next notice (a reminder, the next level) carries them all. */
enum rk_err store_ticket_events_unnotify_all(struct rk_store *store,
					     const char *id);
/* The first message renraku sent for ticket id: its Message-ID (caller
 * frees; NULL when none), recipients (may be NULL) and creation time. */
enum rk_err store_ticket_first_notice(struct rk_store *store, const char *id,
				      char **message_id, char **rcpt,
				      int64_t *created_at);
/* In a transaction.  Like store_ticket_find_open, for a ticket already
 * notified and not yet answered (notified or auto-acknowledged) whose
 * severity's bit is set in severity_mask (the severities that have a
 * follow-up): a new event joins it and goes out with its next reminder
 * or escalation. */
enum rk_err store_ticket_find_followed(struct rk_store *store,
				       const char *contact,
				       const char *template_name,
				       bool restricted, long long max_events,
				       unsigned severity_mask, char id_out[32],
				       bool *found);
/* store_ticket_find_followed with the ticket's count and severity. */
enum rk_err store_ticket_find_followed_slot(struct rk_store *store,
					    const char *contact,
					    const char *template_name,
					    bool restricted,
					    long long max_events,
					    unsigned severity_mask,
					    struct store_ticket_slot *out,
					    bool *found);
/* How a contact address or an origin AS answers (tracking item 7),
 * computed from the timeline when asked (indexes of schema 4). */
struct store_responsiveness {
	long long tickets;           /* tickets concerned */
	long long sent;              /* notices and follow-ups queued */
	long long bounced;           /* refused for good */
	long long auto_acknowledged; /* auto-replies */
	long long acknowledged;      /* human answers (reply or ack) */
	long long answered;          /* ticket levels with a human answer */
	long long median_answer;     /* seconds from the first notice to the
					first human answer, -1 = none */
};

/* For address (not NULL), else the origin AS asn. */
enum rk_err store_responsiveness_get(struct rk_store *store,
				     const char *address, int64_t asn,
				     struct store_responsiveness *out);
/* The same over the tickets opened in [since, until) only. */
enum rk_err store_responsiveness_period(struct rk_store *store,
					const char *address, int64_t asn,
					int64_t since, int64_t until,
					struct store_responsiveness *out);

/* The same figures for every contact address (by_asn false: address
 * in lower case) or every origin AS of the tickets opened in [since,
 * until), from the same SQL grouped by network: three queries in all
 * (renraku stats ranks the networks with it).  Rows in address or AS
 * order; caller frees *rows. */
struct store_responsiveness_row {
	char address[256]; /* "" for an AS */
	int64_t asn;       /* 0 for an address */
	struct store_responsiveness r;
};
enum rk_err store_responsiveness_all(struct rk_store *store, bool by_asn,
				     int64_t since, int64_t until,
				     struct store_responsiveness_row **rows,
				     size_t *n);

/* In a transaction.  Add one suppression rule (contacts.c). */
enum rk_err store_suppression_add(struct rk_store *store,
				  const struct store_suppression *s);

/* ------------------------------------------------------------ service */

/* One API token as `tokens list` shows it (relay/store/tokens.c); the
 * token itself is never stored, only the SHA-256 (hex) of it. */
struct store_api_token {
	int64_t id;
	char *reporter;       /* the name it was issued to */
	char *scopes;         /* "submit,read", ... */
	int64_t created_at;
	int64_t revoked_at;   /* 0 = valid */
	int64_t last_used_at; /* 0 = never */
};
void store_api_tokens_free(struct store_api_token *rows, size_t n);

/* In a transaction.  Keep a token's hash for reporter with scopes. */
enum rk_err store_api_token_add(struct rk_store *store, const char *reporter,
				const char *hash_hex, const char *scopes,
				int64_t *id_out);
/* The valid (not revoked) token whose hash is hash_hex: stored_hash,
 * reporter (at most 256 bytes + NUL) and scopes copied out, *found set. */
enum rk_err store_api_token_find(struct rk_store *store, const char *hash_hex,
				 char stored_hash[65], char reporter[257],
				 char scopes[64], bool *found);
/* The token was used now: recorded (in its own transaction) when its
 * last use is a minute old or more, so that a busy token costs a write a
 * minute at most. */
enum rk_err store_api_token_touch(struct rk_store *store, const char *hash_hex);
/* Every token, revoked ones too, by id (caller frees with
 * store_api_tokens_free). */
enum rk_err store_api_tokens_list(struct rk_store *store,
				  struct store_api_token **rows, size_t *n);
/* In a transaction.  Revoke the token with id `id` (when id > 0) or
 * every valid token of reporter; *count = tokens revoked. */
enum rk_err store_api_token_revoke(struct rk_store *store, int64_t id,
				   const char *reporter, long long *count);
/* The acknowledgement pages' HMAC key (64 hex digits): the stored one,
 * else fresh (a random 32 bytes, in its own transaction). */
enum rk_err store_serve_secret(struct rk_store *store, char secret[65]);
/* Take a form token (its hash) once, in its own transaction: *fresh is
 * false when it was taken before. */
enum rk_err store_ack_form_use(struct rk_store *store, const char *hash_hex,
			       bool *fresh);
/* The oldest message waiting to go out (queued or deferred) and the
 * oldest event not yet resolved (new): their created_at, 0 = none. */
enum rk_err store_queue_oldest(struct rk_store *store, int64_t *message_at,
			       int64_t *event_at);
/* A read transaction (BEGIN DEFERRED): the reads until store_read_end
 * see one snapshot (/metrics).  Not nestable, nor inside store_begin. */
enum rk_err store_read_begin(struct rk_store *store);
void store_read_end(struct rk_store *store);
/* The database answers a read (readiness). */
enum rk_err store_ping(struct rk_store *store);

/* One report row (GET /v1/reports/{id}). */
struct store_report_row {
	int64_t id;
	int64_t received_at;
	char *format;
	char *source_name;
	char *reporter;       /* NULL = none */
	long long events, duplicates, rejected;
};
void store_report_row_release(struct store_report_row *r);
/* RK_ERR_NOTFOUND when there is no report id. */
enum rk_err store_report_get(struct rk_store *store, int64_t id,
			     struct store_report_row *out);

/* Counts /metrics exports beside those of relay/store/stats.c (which
 * it takes from there, as `renraku stats` does): events per report
 * format (the reports' counts) and messages per state (name, count
 * pairs; caller frees with store_counts_free). */
struct store_count {
	char *name;
	long long count;
};
void store_counts_free(struct store_count *rows, size_t n);
enum rk_err store_count_events_by_format(struct rk_store *store,
					 struct store_count **rows, size_t *n);
enum rk_err store_count_messages_by_state(struct rk_store *store,
					  struct store_count **rows, size_t *n);


/* ------------------------------------------------------------ statistics */

/* Counts over a period [since, until) (Unix seconds), relay/store/stats.c.
 * The report of `renraku stats` and the service's /metrics both read
 * these, so shared counts agree.  What a period holds: reports by
 * received_at, events by created_at (when renraku received them),
 * tickets by created_at, notices (outbound messages) and their
 * deliveries by the message's created_at. */
struct store_stats_counts {
	long long reports;           /* reports received */
	long long events;            /* events stored */
	long long tickets;           /* tickets (incidents) opened */
	long long notices;           /* outbound messages (coordinations) */
	long long sent;              /* deliveries sent */
	long long deferred;          /* deliveries deferred (waiting) */
	long long bounced;           /* deliveries bounced */
	long long notified;          /* tickets with at least one notice */
	long long first_bounced;     /* tickets whose first notice bounced */
	long long acknowledged;      /* tickets now acknowledged or resolved */
	long long auto_acknowledged; /* tickets now auto-acknowledged */
	long long disputed;          /* tickets now disputed */
	long long expired;           /* tickets now expired */
	long long suppressed;        /* events suppressed */
	long long withheld;          /* events withheld (TLP:RED) */
};

enum rk_err store_stats_counts_get(struct rk_store *store, int64_t since,
				   int64_t until,
				   struct store_stats_counts *out);

/* The same for reports, events, tickets, notices, suppressed and
 * withheld only (the rest 0): what a report compares with the period
 * before, without the costlier delivery and response counts. */
enum rk_err store_stats_totals_get(struct rk_store *store, int64_t since,
				   int64_t until,
				   struct store_stats_counts *out);

/* A count grouped by one or two keys. */
enum store_stats_grouping {
	STORE_STATS_EVENTS_BY_MONTH_CATEGORY, /* key "YYYY-MM", key2 category */
	STORE_STATS_REPORTS_BY_MONTH,         /* key "YYYY-MM" */
	STORE_STATS_TICKETS_BY_MONTH,
	STORE_STATS_NOTICES_BY_MONTH,
	STORE_STATS_REPORTS_BY_FORMAT,        /* key format */
	STORE_STATS_REPORTS_BY_REPORTER,      /* key reporter ("" none) */
	STORE_STATS_TICKETS_BY_STATE,         /* key state (now) */
	STORE_STATS_ESCALATIONS_BY_LEVEL,     /* key level climbed to */
	STORE_STATS_GROUPINGS
};

struct store_stats_group {
	char key[128];
	char key2[64];
	long long n;
};

/* The groups of grouping g over [since, until), ordered by key, key2.
 * Caller frees *rows. */
enum rk_err store_stats_groups(struct rk_store *store,
			       enum store_stats_grouping g, int64_t since,
			       int64_t until, struct store_stats_group **rows,
			       size_t *n);

/* For each ticket opened in [since, until) that a person answered
 * (timeline cause reply or ack), the seconds from its first notice to
 * its first human answer, sorted ascending, one query.  Caller frees
 * *v. */
enum rk_err store_stats_ack_delays(struct rk_store *store, int64_t since,
				   int64_t until, long long **v, size_t *n);

/* What the report's answer times and ranked networks are computed from,
 * read once for the tickets opened in [since, until) (renraku stats
 * aggregates them, so that the timeline is read once for both).
 * Tickets are named by their row number.  Every array is sorted as
 * said, whatever plan SQLite chose. */
enum store_stats_cause {
	STORE_STATS_CAUSE_OTHER,  /* created, held, no-answer, ... */
	STORE_STATS_CAUSE_NOTICE, /* notice-queued: a notice or follow-up */
	STORE_STATS_CAUSE_BOUNCE, /* bounce */
	STORE_STATS_CAUSE_AUTO,   /* auto-reply */
	STORE_STATS_CAUSE_HUMAN,  /* reply or ack: a person answered */
};
struct store_stats_step {    /* one timeline row */
	int64_t ticket;
	int64_t at;
	int level;
	enum store_stats_cause cause;
};
struct store_stats_level {   /* the contact of a ticket at a level */
	int64_t ticket;
	int level;
	char *email;         /* in lower case (SQL lower()), owned */
};
struct store_stats_origin {  /* an origin AS of a ticket's events */
	int64_t ticket;
	int64_t asn;
};
struct store_stats_facts {
	struct store_stats_step *steps;     /* by ticket, level, at */
	size_t n_steps;
	struct store_stats_level *levels;   /* by ticket, level */
	size_t n_levels;
	struct store_stats_origin *origins; /* by ticket, asn; distinct */
	size_t n_origins;
	struct store_count *bounces; /* bounced deliveries by lower(rcpt),
					in address order */
	size_t n_bounces;
};
/* Fill *out (release with store_stats_facts_release, also after an
 * error: it is then empty). */
enum rk_err store_stats_facts_get(struct rk_store *store, int64_t since,
				  int64_t until, struct store_stats_facts *out);
void store_stats_facts_release(struct store_stats_facts *f);


#endif /* RENRAKU_STORE_H */
