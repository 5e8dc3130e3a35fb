/*
 * Notify: turn a ticket into a signed mail.
 *
 *   mustache.c  the Mustache engine (the full required spec)
 *   template.c  finding templates/<template>/<lang>.mustache, rendering a
 *               template file (first line "Subject: ...", a blank line,
 *               the body), the preview command's work
 *   fields.c    the fields of each event's data a notice uses, read
 *               once (yajl callbacks, Jansson for anything unusual)
 *   context.c   the data a notice template sees (docs/templates.md)
 *   csv.c       events as CSV, formula-injection safe
 *   attach.c    which attachment a contact's format asks for; events as
 *               a JSON array
 *   notice.c    one ticket -> one queued message in the store
 *
 * Building, encoding and signing the message itself is the mail stage's
 * (include/renraku/mail.h); mail_init() must have been called.
 *
 * Owns: the queued message rows of notices (through relay/store/).  May
 * call: store, mail, tickets (every ticket state change goes through
 * tickets_transition()), contacts (why a held ticket's key is missing or
 * unusable), core.  Called by the pipeline driver, tickets
 * (which template and language a ticket uses) and the command line
 * (preview).
 */
#ifndef RENRAKU_NOTIFY_H
#define RENRAKU_NOTIFY_H

#include <jansson.h>

#include "renraku/config.h"
#include "renraku/mail.h"
#include "renraku/store.h"

/* ------------------------------------------------------------ mustache */

enum mustache_escape {
	MUSTACHE_ESCAPE_NONE = 0, /* text output: {{x}} is not escaped */
	MUSTACHE_ESCAPE_HTML = 1  /* the spec's HTML escaping of {{x}} */
};

/* Load the partial `name`, appending its text to out.  Return
 * RK_ERR_NOTFOUND for a missing partial (an error naming the line and the
 * partial, unless missing_partial_empty); other errors stop rendering. */
typedef enum rk_err (*mustache_partial_fn)(void *ud, const char *name,
					   struct rk_buf *out);

struct mustache_opts {
	enum mustache_escape escape;
	mustache_partial_fn partial; /* NULL = no partials */
	void *partial_ud;
	/* false (the default, notices and preview): a partial that does not
	 * exist is RK_ERR_TEMPLATE "line N: partial 'NAME' not found", so a
	 * typo cannot drop a section of a notice.  true: it renders as
	 * empty text, as the Mustache spec says (the spec test runner). */
	bool missing_partial_empty;
};

/* Render tmpl[0..len) with data (borrowed) into out (appended, bounded by
 * out->max).  On a template error returns RK_ERR_TEMPLATE with
 * "line N: reason" in err[errlen]; RK_ERR_LIMIT when the output or the
 * nesting (RK_MAX_MUSTACHE_DEPTH) grows too large. */
enum rk_err mustache_render(const char *tmpl, size_t len, const json_t *data,
			    const struct mustache_opts *opts,
			    struct rk_buf *out, char *err, size_t errlen);

/* A partial loader reading DIR/NAME.mustache (ud is the directory as a
 * const char *).  Names failing rk_name_safe are RK_ERR_NOTFOUND: no
 * path traversal through partial names. */
enum rk_err mustache_partial_from_dir(void *ud, const char *name,
				      struct rk_buf *out);

/* ------------------------------------------------------------ templates */

/* The template a classification.type uses: the type itself when
 * templates_dir/<type>/ exists, else "default".  Caller frees. */
enum rk_err notify_template_for_type(const char *templates_dir,
				     const char *type, char **out);

/* Path of templates_dir/<template>/<lang>.mustache, falling back to lang
 * "en" when that language is missing.  *lang_used is a copy of the language
 * chosen.  Caller frees both.  Names are checked with rk_name_safe. */
enum rk_err notify_template_path(const char *templates_dir,
				 const char *template_name, const char *lang,
				 char **path_out, char **lang_used);

struct notify_rendered {
	char *subject; /* one line: control characters replaced by spaces,
			  trimmed, at most RK_MAX_SUBJECT bytes */
	char *body;    /* UTF-8, LF line ends, ends with one newline */
	/* on failure: why, "line N: ..." with N a line of the template file
	 * ("line 31: partial 'tlp-enn' not found"); "" on success */
	char error[512];
};
void notify_rendered_release(struct notify_rendered *r);

/* Render a notice template (first line "Subject: ...", blank line, body)
 * with data.  Partials come from partials_dir (NULL = none); a partial
 * that does not exist is RK_ERR_TEMPLATE.  On failure out->error says
 * why (also logged). */
enum rk_err notify_render_template(const char *text, size_t len,
				   const char *partials_dir,
				   const json_t *data,
				   struct notify_rendered *out,
				   const struct rk_log *log);

/* ------------------------------------------------------------ fields */

/*
 * The fields of an event's data (its flat IntelMQ JSON object) that a
 * notice uses: the context, the evidence table and the CSV.  A notice
 * reads each event's data once into a notify_fieldset and every part of
 * it works from that (relay/notify/fields.c).
 *
 * The text is read with yajl's event parser, keeping only these keys of
 * the top-level object; whatever yajl might read otherwise than
 * json_loads(data, 0, NULL) does -- a "\u" escape, a control character
 * other than TAB, CR and LF anywhere, bytes that are not UTF-8, a number
 * with an exponent, an integer of more than 18 digits or with a leading
 * zero, a real of more than 40 characters, nesting deeper than 32, one
 * of these keys holding an object or an array, a top level that is not
 * an object, anything but white space after the object, any error --
 * is read by json_loads instead, so the values are always those Jansson
 * gives (a duplicate key: the last value).
 * Data that is not a JSON object has no fields.
 */
enum notify_field {
	NOTIFY_F_TIME_SOURCE,          /* time.source */
	NOTIFY_F_SOURCE_IP,            /* source.ip */
	NOTIFY_F_SOURCE_PORT,          /* source.port */
	NOTIFY_F_SOURCE_ASN,           /* source.asn */
	NOTIFY_F_SOURCE_FQDN,          /* source.fqdn */
	NOTIFY_F_SOURCE_URL,           /* source.url */
	NOTIFY_F_SOURCE_CC,            /* source.geolocation.cc */
	NOTIFY_F_TYPE,                 /* classification.type */
	NOTIFY_F_IDENTIFIER,           /* classification.identifier */
	NOTIFY_F_MALWARE,              /* malware.name */
	NOTIFY_F_PROTO_TRANSPORT,      /* protocol.transport */
	NOTIFY_F_PROTO_APPLICATION,    /* protocol.application */
	NOTIFY_F_DEST_IP,              /* destination.ip */
	NOTIFY_F_DEST_PORT,            /* destination.port */
	NOTIFY_F_FEED,                 /* feed.name */
	NOTIFY_F_COUNT
};

/* The IntelMQ key of a field ("source.ip"); static. */
const char *notify_field_key(enum notify_field f);

enum notify_value_kind {
	NOTIFY_V_ABSENT = 0, /* not in the data */
	NOTIFY_V_NULL,
	NOTIFY_V_STRING,     /* text: the decoded string (no NUL, UTF-8) */
	NOTIFY_V_INTEGER,    /* num.i */
	NOTIFY_V_REAL,       /* num.d */
	NOTIFY_V_TRUE,
	NOTIFY_V_FALSE,
	NOTIFY_V_JSON        /* an object or array: text is its compact
				JSON (JSON_COMPACT | JSON_ENSURE_ASCII) */
};

struct notify_value {
	enum notify_value_kind kind;
	size_t off, len;     /* STRING, JSON: text at the set's text + off,
				len bytes, NUL-terminated */
	union {
		long long i;
		double d;
	} num;
};

/* One event's fields. */
struct notify_fields {
	struct notify_value v[NOTIFY_F_COUNT];
	bool jansson;        /* read by json_loads (the fallback) */
};

/* The fields of a notice's events: ev[i] is events[i]'s.  The text of
 * every value lives in text (at most RK_MAX_NOTICE_FIELDS bytes). */
struct notify_fieldset {
	struct notify_fields *ev; /* owned, n */
	size_t n;
	struct rk_buf text;       /* owned */
};

void notify_fieldset_init(struct notify_fieldset *set);
void notify_fieldset_release(struct notify_fieldset *set);

/* events[0..n)'s data (NULL: no fields) into set (init'ed; what it held
 * before is dropped).  RK_ERR_NOMEM, RK_ERR_LIMIT (the text outgrew
 * RK_MAX_NOTICE_FIELDS). */
enum rk_err notify_fieldset_read(struct notify_fieldset *set,
				 const struct store_event *events, size_t n);

/* One event's data text[0..len) (a NUL ends it early, as it ends the
 * string json_loads is given) into *out, its text appended to set->text;
 * set->ev is not touched.  RK_ERR_NOMEM, RK_ERR_LIMIT. */
enum rk_err notify_fields_read(struct notify_fieldset *set, const char *text,
			       size_t len, struct notify_fields *out);
/* The same from a parsed value (borrowed; NULL or not an object: no
 * fields): what the fallback does, and the reference the tests and the
 * fuzzer compare the fast reader with. */
enum rk_err notify_fields_from_json(struct notify_fieldset *set,
				    const json_t *data,
				    struct notify_fields *out);

/* The text of a STRING or JSON value (borrowed from set; "" otherwise). */
const char *notify_value_text(const struct notify_fieldset *set,
			      const struct notify_value *v);

/* ------------------------------------------------------------ context */

/* The data a notice template sees for a ticket and its events (see
 * docs/templates.md), as of now (its date_utc).  Caller owns *out (json_decref). */
enum rk_err notify_ticket_context(const struct rk_config *cfg,
				  const struct store_ticket *t,
				  const struct store_event *events, size_t n,
				  const char *signer_fpr, int64_t now,
				  json_t **out);
/* The same with the events' fields already read (fields: n events,
 * borrowed; NULL = read here), so that a notice reads its events once
 * for the context and the CSV. */
enum rk_err notify_ticket_context_fields(const struct rk_config *cfg,
					 const struct store_ticket *t,
					 const struct store_event *events,
					 const struct notify_fieldset *fields,
					 size_t n, const char *signer_fpr,
					 int64_t now, json_t **out);

/* ------------------------------------------------------------ CSV */

/* Events as CSV with a header row.  Cells starting with = + - @ (or TAB /
 * CR) are prefixed with ' so spreadsheets do not run them as formulas. */
enum rk_err notify_events_csv(const struct store_event *events, size_t n,
			      struct rk_buf *out);
/* The same with the events' fields already read (see
 * notify_ticket_context_fields). */
enum rk_err notify_events_csv_fields(const struct store_event *events,
				     const struct notify_fieldset *fields,
				     size_t n, struct rk_buf *out);

/* ------------------------------------------------------------ attachment */

/* What a contact's format (constituency `format`) sends the events as. */
enum notify_attach {
	NOTIFY_ATTACH_CSV,        /* "csv-attach", the default (NULL, "") */
	NOTIFY_ATTACH_CSV_INLINE, /* "csv-inline": CSV in the body, nothing
				     attached; also "inline" (the body
				     clearsigned, notify_form_for) */
	NOTIFY_ATTACH_JSON,       /* "json": events-TICKET.json */
	NOTIFY_ATTACH_UNKNOWN     /* anything else: not produced (contacts
				     import refuses it); a notice for an
				     older row gets CSV and a warning */
};
enum notify_attach notify_attach_for(const char *format /* borrowed */);

/* The events as a JSON array (application/json) of their flat IntelMQ
 * objects, each exactly as stored in events[i].data, one per line.
 * Events with TLP:RED (the event's tlp, or its data's "tlp") are left
 * out; data that is not a JSON object is RK_ERR_INVAL; more than
 * RK_MAX_ATTACHMENT bytes is RK_ERR_LIMIT.  Appended to out. */
enum rk_err notify_events_json(const struct store_event *events, size_t n,
			       struct rk_buf *out);

/* ------------------------------------------------------------ notices */

/* The form a notice takes: inline for [gpg] mode = inline or a contact
 * whose format is "inline", else PGP/MIME. */
enum mail_form notify_form_for(const struct rk_config *cfg,
			       const char *format /* borrowed, NULL */);

/* Whether ticket t may go out only encrypted: TLP:AMBER or AMBER+STRICT,
 * or [gpg] encrypt = always, unless an operator approved it with
 * --cleartext. */
bool notify_must_encrypt(const struct rk_config *cfg,
			 const struct store_ticket *t);

struct notify_stats {
	long long built;  /* notices queued */
	long long held;   /* tickets held for a person (TLP:AMBER, no key) */
	long long failed; /* tickets set aside: their notice cannot be built */
};

/* Open the signer [gpg] home / signer name (nothing when *signer is set
 * or [gpg] mode is none).  A signer that cannot be opened is the
 * operator's problem: logged with the key and path, RK_ERR_CONFIG (or
 * RK_ERR_NOMEM / RK_ERR_IO).  Caller closes *signer. */
enum rk_err notify_signer_from_config(const struct rk_config *cfg,
				      const struct rk_log *log,
				      struct mail_signer **signer);

/* For every ticket due at `now`: render its notice, sign it, and queue
 * it in the store (message row + ticket notified, one transaction).  A
 * ticket with TLP:AMBER or AMBER+STRICT is held for a person (no
 * encryption yet) unless an operator approved it; a ticket whose own
 * data or template cannot make a notice is set to failed with the
 * reason, and the others go on.  Problems that are the operator's (the
 * GnuPG home or signer, unreadable files, the database) set nothing
 * aside: the stage stops with the error, naming the key or path, and
 * the tickets stay due.  *signer: when NULL and [gpg] mode is not none,
 * the signer is opened from [gpg] home / signer before the first notice
 * and handed back (caller closes).  Ticket states change only through
 * tickets_transition().  With more than one ticket due the notices are
 * composed and signed on [gpg] threads threads (1 too: one notice is
 * signed at a time while the calling thread gathers the next; each
 * thread has its own signer, a mail_signer_clone of *signer with a
 * signing helper, mail_signer_spawn_helper, when one is installed) and
 * committed in ticket order by a thread with a second connection to
 * store's file; store itself is used only by the calling thread, and all
 * threads are joined before this returns. */
enum rk_err notify_due_tickets(struct rk_store *store,
			       const struct rk_config *cfg,
			       const struct rk_log *log,
			       struct mail_signer **signer, int64_t now,
			       struct notify_stats *stats);

/* Build ticket t's notice as notify_due_tickets would now, without
 * storing or queueing anything: the exact bytes appended to out (when
 * the recipients get two messages, each after a line "--- message N of
 * M: MESSAGE-ID to RCPT ---").  A ticket that would be held for a key
 * shows what approve --cleartext would send (said in the log).  The
 * signer is opened as in notify_due_tickets (caller closes). */
enum rk_err notify_preview(struct rk_store *store, const struct rk_config *cfg,
			   const struct rk_log *log,
			   struct mail_signer **signer,
			   const struct store_ticket *t, int64_t now,
			   struct rk_buf *out);

/* Whether the To recipient of ticket t has a usable key in the relay's
 * GnuPG home at now (*ready); why it has none appended to why.  Opens
 * the signer as notify_due_tickets does (caller closes). */
enum rk_err notify_key_ready(const struct rk_config *cfg,
			     const struct rk_log *log,
			     struct mail_signer **signer,
			     const struct store_ticket *t, int64_t now,
			     bool *ready, struct rk_buf *why);

#endif /* RENRAKU_NOTIFY_H */
