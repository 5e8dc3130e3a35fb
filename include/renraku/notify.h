/*
 * Notify: turn a ticket into a signed mail.
 *
 *   mustache.c  the Mustache engine (the full required spec)
 *   template.c  finding templates/<template>/<lang>.mustache, rendering a
 *               template file (first line "Subject: ...", a blank line,
 *               the body), the preview command's work
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

/* ------------------------------------------------------------ context */

/* The data a notice template sees for a ticket and its events (see
 * docs/templates.md), as of now (its date_utc).  Caller owns *out (json_decref). */
enum rk_err notify_ticket_context(const struct rk_config *cfg,
				  const struct store_ticket *t,
				  const struct store_event *events, size_t n,
				  const char *signer_fpr, int64_t now,
				  json_t **out);
/* The same with each event's data already parsed (datas[i] is events[i]'s
 * data as a JSON object, borrowed; NULL = parse here), so that a notice
 * parses its events once for the context and the CSV. */
enum rk_err notify_ticket_context_parsed(const struct rk_config *cfg,
					 const struct store_ticket *t,
					 const struct store_event *events,
					 json_t *const *datas, size_t n,
					 const char *signer_fpr, int64_t now,
					 json_t **out);

/* ------------------------------------------------------------ CSV */

/* Events as CSV with a header row.  Cells starting with = + - @ (or TAB /
 * CR) are prefixed with ' so spreadsheets do not run them as formulas. */
enum rk_err notify_events_csv(const struct store_event *events, size_t n,
			      struct rk_buf *out);
/* The same with the events' data already parsed (see
 * notify_ticket_context_parsed). */
enum rk_err notify_events_csv_parsed(const struct store_event *events,
				     json_t *const *datas, size_t n,
				     struct rk_buf *out);

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
