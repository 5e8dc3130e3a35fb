/* Opening the database, migrations, transactions, the statement cache. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "private.h"

/* Each entry moves the schema from version i to i+1.  Append only: a
 * shipped migration is never edited. */
static const char *const migrations[] = {
	/* 1: the first schema */
	"CREATE TABLE reports ("
	"  id INTEGER PRIMARY KEY,"
	"  received_at INTEGER NOT NULL,"
	"  format TEXT NOT NULL,"
	"  source_name TEXT NOT NULL,"
	"  reporter TEXT,"
	"  events INTEGER NOT NULL DEFAULT 0,"
	"  duplicates INTEGER NOT NULL DEFAULT 0,"
	"  rejected INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY,"
	"  report_id INTEGER NOT NULL REFERENCES reports(id),"
	"  dedup_key TEXT NOT NULL UNIQUE,"
	"  time_source INTEGER NOT NULL,"
	"  type TEXT NOT NULL,"
	"  taxonomy TEXT NOT NULL,"
	"  identifier TEXT,"
	"  feed_name TEXT,"
	"  source_ip TEXT,"
	"  source_fqdn TEXT,"
	"  source_url TEXT,"
	"  source_cc TEXT,"
	"  source_asn INTEGER,"
	"  tlp INTEGER NOT NULL,"
	"  severity INTEGER NOT NULL,"
	"  data TEXT NOT NULL,"
	"  state TEXT NOT NULL DEFAULT 'new',"
	"  state_reason TEXT,"
	"  created_at INTEGER NOT NULL"
	");"
	"CREATE INDEX events_by_state ON events(state, id);"
	"CREATE TABLE contacts ("
	"  id INTEGER PRIMARY KEY,"
	"  kind INTEGER NOT NULL,"
	"  org TEXT NOT NULL,"
	"  match TEXT NOT NULL,"
	"  email TEXT NOT NULL,"
	"  cc TEXT, pgp TEXT, lang TEXT, format TEXT, notes TEXT,"
	"  source TEXT"
	");"
	"CREATE TABLE suppressions ("
	"  id INTEGER PRIMARY KEY,"
	"  match TEXT NOT NULL,"
	"  type TEXT,"
	"  until INTEGER NOT NULL DEFAULT 0,"
	"  reason TEXT,"
	"  source TEXT"
	");"
	"CREATE TABLE resolutions ("
	"  id INTEGER PRIMARY KEY,"
	"  net_start BLOB, net_end BLOB, domain TEXT, asn INTEGER,"
	"  level INTEGER NOT NULL,"
	"  email TEXT, org TEXT, country TEXT, source TEXT NOT NULL,"
	"  negative INTEGER NOT NULL DEFAULT 0,"
	"  fetched_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL"
	");"
	"CREATE INDEX resolutions_by_range ON resolutions(net_start, net_end);"
	"CREATE TABLE ticket_seq ("
	"  day TEXT PRIMARY KEY,"
	"  last INTEGER NOT NULL"
	");"
	"CREATE TABLE tickets ("
	"  id TEXT PRIMARY KEY,"
	"  state TEXT NOT NULL,"
	"  level INTEGER NOT NULL DEFAULT 0,"
	"  contact TEXT NOT NULL,"
	"  template TEXT NOT NULL,"
	"  lang TEXT NOT NULL,"
	"  format TEXT,"
	"  tlp INTEGER NOT NULL,"
	"  severity INTEGER NOT NULL,"
	"  hold_reason TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  send_after INTEGER NOT NULL,"
	"  notified_at INTEGER NOT NULL DEFAULT 0,"
	"  event_count INTEGER NOT NULL DEFAULT 0,"
	"  approved_by TEXT,"
	"  updated_at INTEGER NOT NULL"
	");"
	"CREATE INDEX tickets_by_contact ON tickets(contact, template, state);"
	"CREATE INDEX tickets_by_state ON tickets(state, send_after);"
	"CREATE TABLE ticket_contacts ("
	"  ticket_id TEXT NOT NULL REFERENCES tickets(id),"
	"  level INTEGER NOT NULL,"
	"  email TEXT NOT NULL, cc TEXT, org TEXT, lang TEXT, format TEXT,"
	"  pgp TEXT, source TEXT,"
	"  PRIMARY KEY (ticket_id, level)"
	");"
	"CREATE TABLE ticket_events ("
	"  ticket_id TEXT NOT NULL REFERENCES tickets(id),"
	"  event_id INTEGER NOT NULL REFERENCES events(id),"
	"  added_at INTEGER NOT NULL,"
	"  message_row INTEGER REFERENCES messages(id),"
	"  PRIMARY KEY (ticket_id, event_id)"
	");"
	"CREATE INDEX ticket_events_by_event ON ticket_events(event_id);"
	"CREATE TABLE messages ("
	"  id INTEGER PRIMARY KEY,"
	"  ticket_id TEXT REFERENCES tickets(id),"
	"  direction TEXT NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  message_id TEXT NOT NULL UNIQUE,"
	"  mail_from TEXT,"
	"  rcpt TEXT,"
	"  subject TEXT,"
	"  state TEXT NOT NULL,"
	"  location TEXT,"
	"  reply TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  sent_at INTEGER NOT NULL DEFAULT 0,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_attempt INTEGER NOT NULL DEFAULT 0,"
	"  raw BLOB"
	");"
	"CREATE INDEX messages_by_state ON messages(state, id);"
	"CREATE INDEX messages_by_ticket ON messages(ticket_id);"
	"CREATE TABLE deliveries ("
	"  id INTEGER PRIMARY KEY,"
	"  message_row INTEGER NOT NULL REFERENCES messages(id),"
	"  rcpt TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_attempt INTEGER NOT NULL DEFAULT 0,"
	"  reply TEXT"
	");"
	"CREATE TABLE api_tokens ("
	"  id INTEGER PRIMARY KEY,"
	"  reporter TEXT NOT NULL,"
	"  token_hash TEXT NOT NULL UNIQUE,"
	"  created_at INTEGER NOT NULL,"
	"  revoked_at INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE TABLE audit_log ("
	"  id INTEGER PRIMARY KEY,"
	"  at INTEGER NOT NULL,"
	"  actor TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  object TEXT,"
	"  detail TEXT"
	");"
	"CREATE INDEX audit_by_object ON audit_log(object);",
	/* 2: stage shapes.  Events get a resolve step (chains shared by the
	 * events of one subject, a retry time for unresolved ones); tickets
	 * get a closed set of states checked here and a timeline; deliveries
	 * record one outcome per envelope recipient. */
	"CREATE TABLE chains ("
	"  id INTEGER PRIMARY KEY,"
	"  subject TEXT NOT NULL,"
	"  contact TEXT NOT NULL,"
	"  chain TEXT NOT NULL,"
	"  country TEXT,"
	"  created_at INTEGER NOT NULL"
	");"
	"CREATE INDEX chains_by_subject ON chains(subject);"
	"ALTER TABLE events ADD COLUMN chain_id INTEGER REFERENCES chains(id);"
	"ALTER TABLE events ADD COLUMN retry_at INTEGER NOT NULL DEFAULT 0;"
	/* the JPCERT/CC-style category reports count by; version 1's
	 * events get their type's default */
	"ALTER TABLE events ADD COLUMN category TEXT;"
	"UPDATE events SET category = CASE type"
	" WHEN 'phishing' THEN 'phishing-site'"
	" WHEN 'masquerade' THEN 'phishing-site'"
	" WHEN 'unauthorised-information-modification' THEN 'website-defacement'"
	" WHEN 'malware-distribution' THEN 'malware-site'"
	" WHEN 'malware-configuration' THEN 'malware-site'"
	" WHEN 'c2-server' THEN 'malware-site'"
	" WHEN 'scanner' THEN 'scan' WHEN 'sniffing' THEN 'scan'"
	" WHEN 'brute-force' THEN 'scan' WHEN 'exploit' THEN 'scan'"
	" WHEN 'ids-alert' THEN 'scan'"
	" WHEN 'ddos' THEN 'dos' WHEN 'dos' THEN 'dos' WHEN 'outage' THEN 'dos'"
	" WHEN 'sabotage' THEN 'dos'"
	" ELSE 'other' END;"
	"CREATE TABLE tickets_v2 ("
	"  id TEXT PRIMARY KEY,"
	"  state TEXT NOT NULL CHECK (state IN ('open', 'held', 'notified',"
	"    'acknowledged', 'auto-acknowledged', 'resolved', 'disputed',"
	"    'expired', 'failed')),"
	"  level INTEGER NOT NULL DEFAULT 0,"
	"  contact TEXT NOT NULL,"
	"  template TEXT NOT NULL,"
	"  lang TEXT NOT NULL,"
	"  format TEXT,"
	"  tlp INTEGER NOT NULL,"
	"  severity INTEGER NOT NULL,"
	"  hold_reason TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  send_after INTEGER NOT NULL,"
	"  notified_at INTEGER NOT NULL DEFAULT 0,"
	"  event_count INTEGER NOT NULL DEFAULT 0,"
	"  approved_by TEXT,"
	"  updated_at INTEGER NOT NULL"
	");"
	"INSERT INTO tickets_v2 (id, state, level, contact, template, lang,"
	"  format, tlp, severity, hold_reason, created_at, send_after,"
	"  notified_at, event_count, approved_by, updated_at)"
	" SELECT id, state, level, contact, template, lang, format, tlp,"
	"  severity, hold_reason, created_at, send_after, notified_at,"
	"  event_count, approved_by, updated_at FROM tickets;"
	"DROP TABLE tickets;"
	"ALTER TABLE tickets_v2 RENAME TO tickets;"
	"CREATE INDEX tickets_by_contact ON tickets(contact, template, state);"
	"CREATE INDEX tickets_by_state ON tickets(state, send_after);"
	"CREATE TABLE ticket_timeline ("
	"  id INTEGER PRIMARY KEY,"
	"  ticket_id TEXT NOT NULL REFERENCES tickets(id),"
	"  at INTEGER NOT NULL,"
	"  from_state TEXT,"
	"  to_state TEXT NOT NULL,"
	"  level INTEGER NOT NULL,"
	"  actor TEXT NOT NULL,"
	"  cause TEXT NOT NULL,"
	"  message_row INTEGER REFERENCES messages(id),"
	"  detail TEXT"
	");"
	"CREATE INDEX ticket_timeline_by_ticket ON ticket_timeline(ticket_id, id);"
	/* the history version 1 kept, as timeline rows */
	"INSERT INTO ticket_timeline (ticket_id, at, from_state, to_state,"
	"  level, actor, cause, detail)"
	" SELECT id, created_at, NULL, 'open', level, 'run', 'created', NULL"
	" FROM tickets ORDER BY created_at, id;"
	"INSERT INTO ticket_timeline (ticket_id, at, from_state, to_state,"
	"  level, actor, cause, message_row, detail)"
	" SELECT t.id, t.notified_at, 'open', 'notified', t.level, 'run',"
	"  'notice-queued', (SELECT min(m.id) FROM messages m"
	"  WHERE m.ticket_id = t.id), NULL"
	" FROM tickets t WHERE t.notified_at > 0 ORDER BY t.notified_at, t.id;"
	"INSERT INTO ticket_timeline (ticket_id, at, from_state, to_state,"
	"  level, actor, cause, detail)"
	" SELECT id, updated_at, 'open', 'held', level, 'run', 'held',"
	"  hold_reason FROM tickets WHERE state = 'held' ORDER BY id;"
	"ALTER TABLE deliveries ADD COLUMN location TEXT;"
	"ALTER TABLE deliveries ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX deliveries_by_message ON deliveries(message_row);"
	/* counters the stages compare across a transaction boundary */
	"CREATE TABLE store_meta ("
	"  key TEXT PRIMARY KEY,"
	"  value INTEGER NOT NULL"
	");"
	"INSERT INTO store_meta (key, value) VALUES ('contacts_generation', 0);",
	/* 3: who let a ticket that must go out encrypted (TLP:AMBER) go
	 * out in the clear (tickets approve --cleartext), and when; messages
	 * may also be in state 'review' (built for [relay] review, not yet
	 * released) */
	"CREATE TABLE ticket_cleartext ("
	"  ticket_id TEXT PRIMARY KEY REFERENCES tickets(id),"
	"  actor TEXT NOT NULL,"
	"  at INTEGER NOT NULL"
	");",
	/* 4: registries.  Resolutions (version 1's cache table, unused until
	 * now) get what an RDAP answer carries besides the address: the AS
	 * range's end, the other addresses, the registry that answered and a
	 * national IRT passed over; registries that asked us to wait (429
	 * Retry-After) are remembered across runs. */
	"ALTER TABLE resolutions ADD COLUMN asn_end INTEGER;"
	"ALTER TABLE resolutions ADD COLUMN cc TEXT;"
	"ALTER TABLE resolutions ADD COLUMN registry TEXT;"
	"ALTER TABLE resolutions ADD COLUMN irt TEXT;"
	"CREATE INDEX resolutions_by_source ON resolutions(source, expires_at);"
	"CREATE TABLE registry_backoff ("
	"  registry TEXT PRIMARY KEY,"
	"  until INTEGER NOT NULL,"
	"  reason TEXT"
	");",
	/* 5: SMTP.  Addresses a server refused for good (5xx) are not used
	 * again until an operator clears them; deliveries are counted by
	 * time for the rate limits. */
	"CREATE TABLE failing_addresses ("
	"  address TEXT PRIMARY KEY COLLATE NOCASE,"
	"  since INTEGER NOT NULL,"
	"  reply TEXT,"
	"  message_id TEXT"
	");"
	"CREATE INDEX deliveries_by_updated ON deliveries(updated_at);",
	/* 6: tracking.  Every notice carries its own acknowledgement link;
	 * only the SHA-256 of its random token is kept. */
	"CREATE TABLE ack_tokens ("
	"  token_hash TEXT PRIMARY KEY,"
	"  ticket_id TEXT NOT NULL REFERENCES tickets(id),"
	"  level INTEGER NOT NULL,"
	"  message_id TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  used_at INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE INDEX ack_tokens_by_ticket ON ack_tokens(ticket_id);"
	/* responsiveness per address and per origin AS, from the timeline */
	"CREATE INDEX ticket_contacts_by_email ON ticket_contacts(email COLLATE NOCASE);"
	"CREATE INDEX events_by_asn ON events(source_asn);",
	/* 7: tracking, inbound.  Every inbound message (pipe, maildir,
	 * IMAP) with its class and the ticket it matched; the remote ticket
	 * number an auto-reply gave, kept for the ticket; where an IMAP
	 * mailbox was read up to. */
	"CREATE TABLE inbound ("
	"  id INTEGER PRIMARY KEY,"
	"  received_at INTEGER NOT NULL,"
	"  source TEXT NOT NULL,"
	"  message_id TEXT,"
	"  hash TEXT NOT NULL,"
	"  mail_from TEXT,"
	"  subject TEXT,"
	"  size INTEGER NOT NULL,"
	"  truncated INTEGER NOT NULL DEFAULT 0,"
	"  class TEXT NOT NULL,"
	"  ticket_id TEXT REFERENCES tickets(id),"
	"  matched_by TEXT,"
	"  remote_ticket TEXT,"
	"  failed_rcpts TEXT,"
	"  status TEXT,"
	"  effect TEXT,"
	"  body TEXT,"
	"  raw BLOB NOT NULL"
	");"
	"CREATE UNIQUE INDEX inbound_by_hash ON inbound(hash);"
	"CREATE INDEX inbound_by_ticket ON inbound(ticket_id);"
	/* the ticket's remote number beside it, so that the tickets rows
	 * stay as they were (additive) */
	"CREATE TABLE ticket_remote ("
	"  ticket_id TEXT PRIMARY KEY REFERENCES tickets(id),"
	"  remote_ticket TEXT NOT NULL,"
	"  updated_at INTEGER NOT NULL"
	");"
	"CREATE TABLE imap_state ("
	"  mailbox TEXT PRIMARY KEY,"
	"  uidvalidity INTEGER NOT NULL,"
	"  last_uid INTEGER NOT NULL"
	");",
	/* 8: a message's raw bytes in a table of their own, written once:
	 * SQLite rewrites a whole row (its overflow pages too) on every
	 * update, and the messages row changes state at least twice per
	 * delivery.  New messages leave messages.raw NULL; the rows queued
	 * before keep their bytes where they are (additive: nothing moves),
	 * and readers take message_raw first, the old column otherwise. */
	"CREATE TABLE message_raw ("
	"  message_row INTEGER PRIMARY KEY REFERENCES messages(id),"
	"  raw BLOB NOT NULL"
	");",
	/* 9: the service.  What each API token may do (comma-separated
	 * scopes: submit, read, admin) and when it was last used. */
	"ALTER TABLE api_tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT 'submit';"
	"ALTER TABLE api_tokens ADD COLUMN last_used_at INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX api_tokens_by_reporter ON api_tokens(reporter);"
	/* the key of the acknowledgement pages' form tokens (HMAC), made
	 * once; the form tokens used, so that none is taken twice */
	"CREATE TABLE serve_secret ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  secret TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL"
	");"
	"CREATE TABLE ack_forms_used ("
	"  form_hash TEXT PRIMARY KEY,"
	"  used_at INTEGER NOT NULL"
	");",
	/* 10: statistics.  Reports count a period by its time columns: each
	 * gets an index so that a quarter of a large history is read by
	 * range, not by scanning every row (the events' one covers what
	 * the report reads of them). */
	"CREATE INDEX reports_by_received ON reports(received_at);"
	"CREATE INDEX events_by_created ON events(created_at, category, state);"
	"CREATE INDEX tickets_by_created ON tickets(created_at);"
	"CREATE INDEX messages_by_created ON messages(created_at);"
	"CREATE INDEX ticket_timeline_by_at ON ticket_timeline(at);"
	/* the bounces of one address, for the networks a report ranks */
	"CREATE INDEX deliveries_by_rcpt ON deliveries(rcpt COLLATE NOCASE);",
	/* 11: statistics, faster.  Events are counted by category and time
	 * (one range of the index per category and month, no sort), and
	 * version 10's index, which held the state, is dropped: the run
	 * stage changes an event's state twice and no longer rewrites an
	 * index entry for it.  The events a report lists as suppressed or
	 * withheld get a partial index of their own (the other states
	 * never enter it). */
	"DROP INDEX events_by_created;"
	"CREATE INDEX events_by_category ON events(category, created_at);"
	"CREATE INDEX events_held ON events(state, created_at)"
	" WHERE state IN ('suppressed', 'withheld');"
	/* the escalations a report counts by level: a few rows, not every
	 * timeline row of the period */
	"CREATE INDEX ticket_timeline_climbs ON ticket_timeline(at, level)"
	" WHERE to_state = 'open' AND cause IN ('no-answer', 'bounce')"
	" AND level > 0;",
	/* 12: ingest speed.  The dedup key's unique index took every insert
	 * at a random place (the key is a hash): each batch dirtied leaf
	 * pages all over it, and once it outgrew the page cache every insert
	 * read one back.  It now leads with dedup_time, the event's
	 * time_source when time.source is hashed into the key (the default;
	 * else 0): equal keys still mean equal dedup_time, so duplicates are
	 * found as before, and a day's keys sit together.  SQLite cannot
	 * drop a column's UNIQUE: the table is rebuilt (same columns, same
	 * order, same rows and ids) with dedup_time added at the end; the
	 * rows stored so far get their time_source (a database whose
	 * [ingest] dedup_ignore named time.source finds their duplicates
	 * again only among events ingested after this version). */
	"CREATE TABLE events_v12 ("
	"  id INTEGER PRIMARY KEY,"
	"  report_id INTEGER NOT NULL REFERENCES reports(id),"
	"  dedup_key TEXT NOT NULL,"
	"  time_source INTEGER NOT NULL,"
	"  type TEXT NOT NULL,"
	"  taxonomy TEXT NOT NULL,"
	"  identifier TEXT,"
	"  feed_name TEXT,"
	"  source_ip TEXT,"
	"  source_fqdn TEXT,"
	"  source_url TEXT,"
	"  source_cc TEXT,"
	"  source_asn INTEGER,"
	"  tlp INTEGER NOT NULL,"
	"  severity INTEGER NOT NULL,"
	"  data TEXT NOT NULL,"
	"  state TEXT NOT NULL DEFAULT 'new',"
	"  state_reason TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  chain_id INTEGER REFERENCES chains(id),"
	"  retry_at INTEGER NOT NULL DEFAULT 0,"
	"  category TEXT,"
	"  dedup_time INTEGER NOT NULL DEFAULT 0"
	");"
	"INSERT INTO events_v12 (id, report_id, dedup_key, time_source, type,"
	"  taxonomy, identifier, feed_name, source_ip, source_fqdn, source_url,"
	"  source_cc, source_asn, tlp, severity, data, state, state_reason,"
	"  created_at, chain_id, retry_at, category, dedup_time)"
	" SELECT id, report_id, dedup_key, time_source, type,"
	"  taxonomy, identifier, feed_name, source_ip, source_fqdn, source_url,"
	"  source_cc, source_asn, tlp, severity, data, state, state_reason,"
	"  created_at, chain_id, retry_at, category, time_source"
	" FROM events ORDER BY id;"
	"DROP TABLE events;"
	"ALTER TABLE events_v12 RENAME TO events;"
	"CREATE UNIQUE INDEX events_by_dedup ON events(dedup_time, dedup_key);"
	"CREATE INDEX events_by_state ON events(state, id);"
	"CREATE INDEX events_by_asn ON events(source_asn);"
	/* and the indexes of version 11, which went with the old table */
	"CREATE INDEX events_by_category ON events(category, created_at);"
	"CREATE INDEX events_held ON events(state, created_at)"
	" WHERE state IN ('suppressed', 'withheld');",
	/* 13: run-stage speed.  An event's state changes two or three times
	 * after ingest (resolved, ticketed), and each change rewrote the
	 * whole row, data and all (about 1 KB of a 4 KB page): the data
	 * moves to a table of its own, written once at ingest and read by
	 * id, and the row the stages rewrite is the narrow rest (same
	 * columns but data, same order, same ids).  ticket_events becomes
	 * a WITHOUT ROWID table clustered by its key (ticket_id, event_id):
	 * a ticket's rows sit together, so a notice reads and marks a few
	 * pages instead of one page per event. */
	"CREATE TABLE event_data ("
	"  id INTEGER PRIMARY KEY,"
	"  data TEXT NOT NULL"
	");"
	"INSERT INTO event_data (id, data) SELECT id, data FROM events"
	" ORDER BY id;"
	"CREATE TABLE events_v13 ("
	"  id INTEGER PRIMARY KEY,"
	"  report_id INTEGER NOT NULL REFERENCES reports(id),"
	"  dedup_key TEXT NOT NULL,"
	"  time_source INTEGER NOT NULL,"
	"  type TEXT NOT NULL,"
	"  taxonomy TEXT NOT NULL,"
	"  identifier TEXT,"
	"  feed_name TEXT,"
	"  source_ip TEXT,"
	"  source_fqdn TEXT,"
	"  source_url TEXT,"
	"  source_cc TEXT,"
	"  source_asn INTEGER,"
	"  tlp INTEGER NOT NULL,"
	"  severity INTEGER NOT NULL,"
	"  state TEXT NOT NULL DEFAULT 'new',"
	"  state_reason TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  chain_id INTEGER REFERENCES chains(id),"
	"  retry_at INTEGER NOT NULL DEFAULT 0,"
	"  category TEXT,"
	"  dedup_time INTEGER NOT NULL DEFAULT 0"
	");"
	"INSERT INTO events_v13 (id, report_id, dedup_key, time_source, type,"
	"  taxonomy, identifier, feed_name, source_ip, source_fqdn, source_url,"
	"  source_cc, source_asn, tlp, severity, state, state_reason,"
	"  created_at, chain_id, retry_at, category, dedup_time)"
	" SELECT id, report_id, dedup_key, time_source, type,"
	"  taxonomy, identifier, feed_name, source_ip, source_fqdn, source_url,"
	"  source_cc, source_asn, tlp, severity, state, state_reason,"
	"  created_at, chain_id, retry_at, category, dedup_time"
	" FROM events ORDER BY id;"
	"DROP TABLE events;"
	"ALTER TABLE events_v13 RENAME TO events;"
	"CREATE UNIQUE INDEX events_by_dedup ON events(dedup_time, dedup_key);"
	"CREATE INDEX events_by_state ON events(state, id);"
	"CREATE INDEX events_by_asn ON events(source_asn);"
	"CREATE INDEX events_by_category ON events(category, created_at);"
	"CREATE INDEX events_held ON events(state, created_at)"
	" WHERE state IN ('suppressed', 'withheld');"
	"CREATE TABLE ticket_events_v13 ("
	"  ticket_id TEXT NOT NULL REFERENCES tickets(id),"
	"  event_id INTEGER NOT NULL REFERENCES events(id),"
	"  added_at INTEGER NOT NULL,"
	"  message_row INTEGER REFERENCES messages(id),"
	"  PRIMARY KEY (ticket_id, event_id)"
	") WITHOUT ROWID;"
	"INSERT INTO ticket_events_v13 (ticket_id, event_id, added_at,"
	"  message_row)"
	" SELECT ticket_id, event_id, added_at, message_row FROM ticket_events"
	" ORDER BY ticket_id, event_id;"
	"DROP TABLE ticket_events;"
	"ALTER TABLE ticket_events_v13 RENAME TO ticket_events;"
	"CREATE INDEX ticket_events_by_event ON ticket_events(event_id);",
	/* 14: run-stage speed.  events_by_state held every event, and an
	 * event's move from 'new' to 'ticketed' took its entry out of the
	 * front of the index and put one in at the back of the 'ticketed'
	 * range, which nothing ever reads by state: half the cost of the
	 * resolve stage's UPDATE (measured on a million events: 4.8 s of a
	 * set-based UPDATE, 2.4 s without).  The index now holds only the
	 * states the stages queue by; suppressed and withheld events have
	 * events_held (version 11).  The queries read it with these terms
	 * written as literals ('new', never ?1), which is how SQLite's
	 * planner knows that a partial index covers them. */
	"DROP INDEX events_by_state;"
	"CREATE INDEX events_by_state ON events(state, id)"
	" WHERE state = 'new' OR state = 'resolved' OR state = 'unresolved'"
	" OR state = 'failed';",
};

void store_library_init(void)
{
	/* refused (SQLITE_MISUSE) once the library is initialized: then
	 * the statistics simply stay on */
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int store_schema_version(void)
{
	return (int)RK_ARRAY_LEN(migrations);
}

enum rk_err store_fail(struct rk_store *store, const char *what)
{
	int code = sqlite3_extended_errcode(store->db);

	const char *file = sqlite3_db_filename(store->db, "main");

	rk_log_error(store->log, "database '%s': %s: %s",
		     file && *file ? file : ":memory:", what,
		     sqlite3_errmsg(store->db));
	if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED)
		return RK_ERR_BUSY;
	return RK_ERR_DB;
}

sqlite3_stmt *store_stmt(struct rk_store *store, const char *sql)
{
	struct store_stmt_slot *slot;

	for (size_t i = 0; i < store->nstmts; i++)
		if (store->stmts[i].sql == sql)
			return store->stmts[i].stmt;
	/* The cache grows: the program has a fixed set of statements, so it
	 * is bounded by the SQL literals in relay/store/. */
	if (store->nstmts == store->capstmts) {
		size_t cap = store->capstmts ? store->capstmts * 2 : 64;
		struct store_stmt_slot *grown =
			realloc(store->stmts, cap * sizeof(*grown));

		if (!grown) {
			rk_log_error(store->log, "database: out of memory for statements");
			return NULL;
		}
		store->stmts = grown;
		store->capstmts = cap;
	}
	slot = &store->stmts[store->nstmts];
	if (sqlite3_prepare_v3(store->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
			       &slot->stmt, NULL) != SQLITE_OK) {
		store_fail(store, "prepare");
		return NULL;
	}
	slot->sql = sql;
	store->nstmts++;
	return slot->stmt;
}

void store_done(sqlite3_stmt *stmt)
{
	if (stmt) {
		sqlite3_reset(stmt);
		sqlite3_clear_bindings(stmt);
	}
}

int store_bind_text(sqlite3_stmt *stmt, int idx, const char *text)
{
	if (!text)
		return sqlite3_bind_null(stmt, idx);
	return sqlite3_bind_text(stmt, idx, text, -1, SQLITE_TRANSIENT);
}

char *store_col_text(sqlite3_stmt *stmt, int col, bool *ok)
{
	const unsigned char *t = sqlite3_column_text(stmt, col);
	char *copy;

	if (!t)
		return NULL;
	copy = rk_strndup((const char *)t,
			  (size_t)sqlite3_column_bytes(stmt, col));
	if (!copy)
		*ok = false;
	return copy;
}

enum rk_err store_collect(struct rk_store *store, sqlite3_stmt *stmt,
			  size_t size, store_row_fn read_row,
			  void (*release_row)(void *row), const char *what,
			  void **rows, size_t *n)
{
	unsigned char *out = NULL;
	size_t count = 0;
	enum rk_err err = RK_OK;
	int rc;

	*rows = NULL;
	*n = 0;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		void *grown = out;

		if ((err = rk_array_room(&grown, count, size)))
			break;
		out = grown;
		memset(out + count * size, 0, size);
		err = read_row(stmt, out + count * size);
		count++; /* a failed row is half-filled: release it too */
		if (err)
			break;
	}
	if (!err && rc != SQLITE_DONE)
		err = store_fail(store, what);
	store_done(stmt);
	if (err) {
		for (size_t i = 0; i < count; i++)
			release_row(out + i * size);
		free(out);
		return err;
	}
	*rows = out;
	*n = count;
	return RK_OK;
}

static enum rk_err exec(struct rk_store *store, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(store->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		int code = sqlite3_extended_errcode(store->db) & 0xff;
		const char *file = sqlite3_db_filename(store->db, "main");

		rk_log_error(store->log, "database '%s': %s",
			     file && *file ? file : ":memory:", msg ? msg : "error");
		sqlite3_free(msg);
		return code == SQLITE_BUSY || code == SQLITE_LOCKED ? RK_ERR_BUSY
								     : RK_ERR_DB;
	}
	return RK_OK;
}

static enum rk_err user_version(struct rk_store *store, int *out)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite3_prepare_v2(store->db, "PRAGMA user_version", -1, &stmt,
			       NULL) != SQLITE_OK)
		return store_fail(store, "read schema version");
	rc = sqlite3_step(stmt);
	*out = rc == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : -1;
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW ? RK_OK : store_fail(store, "read schema version");
}

/* After a migration: every reference must still hold. */
static enum rk_err foreign_key_check(struct rk_store *store, const char *path)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite3_prepare_v2(store->db, "PRAGMA foreign_key_check", -1, &stmt,
			       NULL) != SQLITE_OK)
		return store_fail(store, "check references");
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		rk_log_error(store->log,
			     "database '%s': migration left a broken reference "
			     "in table %s (row %lld): not migrated",
			     path, (const char *)sqlite3_column_text(stmt, 0),
			     (long long)sqlite3_column_int64(stmt, 1));
	sqlite3_finalize(stmt);
	if (rc == SQLITE_ROW)
		return RK_ERR_DB;
	return rc == SQLITE_DONE ? RK_OK : store_fail(store, "check references");
}

static enum rk_err migrate(struct rk_store *store, const char *path)
{
	int have, want = store_schema_version();
	char pragma[64];
	enum rk_err err;

	/* A migration may rebuild a table others refer to: foreign keys are
	 * off while it runs (the pragma is a no-op inside a transaction) and
	 * checked as a whole before the commit. */
	if ((err = exec(store, "PRAGMA foreign_keys = OFF")) ||
	    (err = exec(store, "BEGIN IMMEDIATE")))
		return err;
	if ((err = user_version(store, &have)))
		goto fail;
	if (have > want) {
		rk_log_error(store->log,
			     "database '%s' has schema version %d, newer than "
			     "this program's %d: upgrade renraku",
			     path, have, want);
		err = RK_ERR_DB_NEWER;
		goto fail;
	}
	for (int v = have; v < want; v++) {
		rk_log_debug(store->log, "migrating '%s' to schema version %d",
			     path, v + 1);
		if ((err = exec(store, migrations[v])))
			goto fail;
	}
	if (have != want) {
		if ((err = foreign_key_check(store, path)))
			goto fail;
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", want);
		if ((err = exec(store, pragma)))
			goto fail;
	}
	if ((err = exec(store, "COMMIT")))
		goto fail;
	return exec(store, "PRAGMA foreign_keys = ON");
fail:
	exec(store, "ROLLBACK");
	return err;
}

enum rk_err store_open(struct rk_store **out, const char *path,
		       long long busy_timeout_ms, const struct rk_log *log)
{
	struct rk_store *store;
	enum rk_err err;
	int rc;

	*out = NULL;
	store = calloc(1, sizeof(*store));
	if (!store)
		return RK_ERR_NOMEM;
	store->log = log;
	store->lock_fd = -1;
	/* The database holds TLP:RED events and raw mail: it is created
	 * private to the user (0600) whatever the umask.  SQLite creates
	 * the -wal and -shm files with the mode of the main file. */
	if (*path && strcmp(path, ":memory:") != 0 &&
	    strncmp(path, "file:", 5) != 0) {
		int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

		if (fd >= 0) {
			if (fchmod(fd, 0600) != 0)
				rk_log_warn(log, "cannot make database '%s' mode 0600: %s",
					    path, strerror(errno));
			close(fd);
		} else if (errno != EEXIST) {
			rk_log_error(log, "cannot create database '%s': %s", path,
				     strerror(errno));
			err = RK_ERR_IO;
			goto fail;
		}
	}
	rc = sqlite3_open_v2(path, &store->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				     SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc != SQLITE_OK) {
		rk_log_error(log, "cannot open database '%s': %s", path,
			     store->db ? sqlite3_errmsg(store->db)
				       : sqlite3_errstr(rc));
		err = RK_ERR_DB;
		goto fail;
	}
	if (sqlite3_db_readonly(store->db, "main") == 1) {
		rk_log_error(log, "database '%s' is read-only (the file or its "
			     "directory is not writable by this user)", path);
		err = RK_ERR_DB;
		goto fail;
	}
	sqlite3_extended_result_codes(store->db, 1);
	sqlite3_busy_timeout(store->db, (int)busy_timeout_ms);
	sqlite3_db_config(store->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(store->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(store->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0,
			  NULL);
	/* A new database gets 16 KiB pages (an existing one keeps its own:
	 * the pragma changes nothing once the first table exists, nor ever
	 * in WAL mode).  An event's row and its data are about 1.2 KB, and
	 * bulk ingest writes each page to the WAL and again at checkpoint:
	 * a quarter of the pages means a quarter of the system calls. */
	if ((err = exec(store, "PRAGMA page_size = 16384")) ||
	    (err = exec(store, "PRAGMA journal_mode = WAL")) ||
	    (err = exec(store, "PRAGMA synchronous = NORMAL")) ||
	    /* 32 MiB of page cache: a run touches events, tickets and
	     * their links all over the file; the 2 MiB default rereads
	     * them from the kernel page by page */
	    (err = exec(store, "PRAGMA cache_size = -32768")))
		goto fail;
	/* Migrations run with temporary files on disk: one that rebuilds a
	 * table (12: events) sorts its indexes through them, which in
	 * memory would take the size of those indexes. */
	if ((err = migrate(store, path)) ||
	    (err = exec(store, "PRAGMA temp_store = MEMORY")))
		goto fail;
	*out = store;
	return RK_OK;
fail:
	store_close(store);
	return err;
}

enum rk_err store_open_sibling(const struct rk_store *store,
			       long long busy_timeout_ms,
			       struct rk_store **out)
{
	const char *path = sqlite3_db_filename(store->db, "main");
	enum rk_err err;

	*out = NULL;
	if (!path || !*path)
		return RK_ERR_NOTFOUND; /* in memory: no second connection */
	if ((err = store_open(out, path, busy_timeout_ms, store->log)))
		return err;
	(*out)->now = store->now;
	return RK_OK;
}

void store_close(struct rk_store *store)
{
	if (!store)
		return;
	for (size_t i = 0; i < store->nstmts; i++)
		sqlite3_finalize(store->stmts[i].stmt);
	free(store->stmts);
	if (store->lock_fd >= 0)
		close(store->lock_fd); /* releases the flock */
	if (store->db)
		sqlite3_close(store->db);
	free(store);
}

enum rk_err store_runner_lock(struct rk_store *store, bool wait)
{
	const char *db = sqlite3_db_filename(store->db, "main");
	struct rk_buf path;
	enum rk_err err = RK_OK;
	int fd;

	if (store->lock_fd >= 0)
		return RK_OK;
	rk_buf_init(&path, 8192);
	if ((err = rk_buf_addf(&path, "%s-run.lock", db && *db ? db : "renraku.db")))
		goto cleanup;
	fd = open(path.data, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = rk_fail(store->log, RK_ERR_IO, "cannot open lock '%s': %s",
			      path.data, strerror(errno));
		goto cleanup;
	}
	while (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK)
			err = rk_fail(store->log, RK_ERR_BUSY,
				      "another renraku process is running the pipeline on '%s'",
				      db);
		else
			err = rk_fail(store->log, RK_ERR_IO, "cannot lock '%s': %s",
				      path.data, strerror(errno));
		close(fd);
		goto cleanup;
	}
	store->lock_fd = fd;
cleanup:
	rk_buf_release(&path);
	return err;
}

void store_set_now(struct rk_store *store, int64_t now)
{
	store->now = now;
}

int64_t store_now(const struct rk_store *store)
{
	return store->now;
}

enum rk_err store_begin(struct rk_store *store)
{
	enum rk_err err;

	if (store->in_tx)
		RK_BUG("nested transaction");
	err = exec(store, "BEGIN IMMEDIATE");
	if (!err)
		store->in_tx = true;
	return err;
}

enum rk_err store_commit(struct rk_store *store)
{
	enum rk_err err = exec(store, "COMMIT");

	if (!err)
		store->in_tx = false;
	else
		store_rollback(store);
	return err;
}

/* One prepared statement, stepped once: the savepoints of a batch are
 * thousands of statements, not worth parsing each time. */
enum rk_err store_step_done(struct rk_store *store, sqlite3_stmt *stmt,
			    const char *what)
{
	int rc;

	if (!stmt)
		return RK_ERR_DB;
	rc = sqlite3_step(stmt);
	store_done(stmt);
	return rc == SQLITE_DONE ? RK_OK : store_fail(store, what);
}

enum rk_err store_step_once(struct rk_store *store, const char *sql,
			    const char *what)
{
	return store_step_done(store, store_stmt(store, sql), what);
}

enum rk_err store_savepoint(struct rk_store *store)
{
	static const char sql[] = "SAVEPOINT rk_item";

	if (!store->in_tx)
		RK_BUG("savepoint outside a transaction");
	return store_step_once(store, sql, "savepoint");
}

enum rk_err store_savepoint_release(struct rk_store *store)
{
	static const char sql[] = "RELEASE rk_item";

	return store_step_once(store, sql, "release savepoint");
}

enum rk_err store_savepoint_rollback(struct rk_store *store)
{
	static const char sql[] = "ROLLBACK TO rk_item";
	enum rk_err err = store_step_once(store, sql, "roll back to savepoint");

	return err ? err : store_savepoint_release(store);
}

void store_rollback(struct rk_store *store)
{
	if (!store->in_tx)
		return;
	if (sqlite3_get_autocommit(store->db) == 0)
		sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
	store->in_tx = false;
}
