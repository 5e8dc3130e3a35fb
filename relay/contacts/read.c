/*
 * The contacts directory: constituency.csv, national-csirts.csv and
 * suppress.csv, read with the shared CSV reader (core/csvread.c) and
 * checked line by line; the key files under keys/ are checked in keys.c.
 *
 * A bad line becomes a contacts_problem {file, line, reason} and the
 * other lines are kept; a file that is not text (NUL bytes, not UTF-8,
 * larger than RK_MAX_CONTACTS_FILE) is rejected as a whole.  Line numbers
 * are the physical line where a record starts.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "private.h"

/* ------------------------------------------------------------ kinds */

enum contacts_kind { KIND_CONSTITUENCY, KIND_NATIONAL, KIND_SUPPRESS };

/* Columns, in the order of the enums below. */
enum { C_ORG, C_MATCH, C_EMAIL, C_CC, C_PGP, C_LANG, C_FORMAT, C_NOTES };
enum { N_COUNTRY, N_TEAM, N_EMAIL, N_PGP, N_LANG };
enum { S_MATCH, S_TYPE, S_UNTIL, S_REASON };

#define MAX_COLUMNS 8

struct kind_def {
	enum contacts_kind kind;
	const char *name; /* as contacts_parse takes it */
	const char *file;
	const char *columns[MAX_COLUMNS];
	size_t ncolumns;
	unsigned required; /* bit i: columns[i] is required */
};

static const struct kind_def kinds[] = {
	{KIND_CONSTITUENCY, "constituency", CONTACTS_FILE_CONSTITUENCY,
	 {"org", "match", "email", "cc", "pgp", "lang", "format", "notes"}, 8,
	 1u << C_ORG | 1u << C_MATCH | 1u << C_EMAIL},
	{KIND_NATIONAL, "national-csirts", CONTACTS_FILE_NATIONAL,
	 {"country", "team", "email", "pgp", "lang"}, 5,
	 1u << N_COUNTRY | 1u << N_TEAM | 1u << N_EMAIL},
	{KIND_SUPPRESS, "suppress", CONTACTS_FILE_SUPPRESS,
	 {"match", "type", "until", "reason"}, 4, 1u << S_MATCH},
};

/* The formats notify produces; keep CONTACTS_FORMATS in step. */
static const char *const formats[] = {"csv-attach", "csv-inline", "json",
				      "inline"};

/* ------------------------------------------------------------ duplicates */

struct dup_entry {
	char *key; /* owned, NULL = empty slot */
	long long line;
};

struct dup_table {
	struct dup_entry *slot;
	size_t mask, used;
};

static uint64_t dup_hash(const char *s)
{
	return rk_hash(s, strlen(s));
}

static void dup_release(struct dup_table *t)
{
	for (size_t i = 0; t->slot && i <= t->mask; i++)
		free(t->slot[i].key);
	free(t->slot);
	memset(t, 0, sizeof(*t));
}

static enum rk_err dup_rehash(struct dup_table *t)
{
	size_t slots = t->slot ? (t->mask + 1) * 2 : 64;
	struct dup_entry *fresh = calloc(slots, sizeof(*fresh));

	if (!fresh)
		return RK_ERR_NOMEM;
	for (size_t i = 0; t->slot && i <= t->mask; i++) {
		size_t at;

		if (!t->slot[i].key)
			continue;
		at = dup_hash(t->slot[i].key) & (slots - 1);
		while (fresh[at].key)
			at = (at + 1) & (slots - 1);
		fresh[at] = t->slot[i];
	}
	free(t->slot);
	t->slot = fresh;
	t->mask = slots - 1;
	return RK_OK;
}

/* Remember key at line; if it was seen before, *earlier is that line (and
 * nothing is added), else 0. */
static enum rk_err dup_check(struct dup_table *t, const char *key,
			     long long line, long long *earlier)
{
	size_t at;
	enum rk_err err;

	*earlier = 0;
	if (!t->slot || (t->used + 1) * 2 > t->mask + 1)
		if ((err = dup_rehash(t)))
			return err;
	at = dup_hash(key) & t->mask;
	while (t->slot[at].key) {
		if (strcmp(t->slot[at].key, key) == 0) {
			*earlier = t->slot[at].line;
			return RK_OK;
		}
		at = (at + 1) & t->mask;
	}
	t->slot[at].key = rk_strdup(key);
	if (!t->slot[at].key)
		return RK_ERR_NOMEM;
	t->slot[at].line = line;
	t->used++;
	return RK_OK;
}

/* ------------------------------------------------------------ parsing */

struct parse_ctx {
	const struct kind_def *def;
	const char *name;     /* file name used in problems and sources */
	bool check_keys;      /* pgp columns checked against set->keys */
	struct contacts_set *set;
	struct rk_csv *csv;

	/* the record being read */
	const struct rk_csv_record *cur;
	long long rec_line;   /* where the current record started */

	/* header */
	bool have_header, header_ok;
	int column[MAX_COLUMNS]; /* field index of each known column, -1 */
	size_t header_fields;

	struct dup_table dups;
	enum rk_err err;      /* out of memory: stop */
};

static void add_problem(struct parse_ctx *ctx, long long line,
			const char *fmt, ...) RK_PRINTF(3, 4);

enum rk_err contacts_push_problem(struct contacts_set *set, const char *file,
				long long line, const char *reason)
{
	struct contacts_problem *p;

	if (rk_array_room((void **)&set->problems, set->nproblems, sizeof(*p)))
		return RK_ERR_NOMEM;
	p = &set->problems[set->nproblems];
	p->file = rk_strdup(file);
	p->reason = rk_strdup(reason);
	p->line = line;
	if (!p->file || !p->reason) {
		free(p->file);
		free(p->reason);
		return RK_ERR_NOMEM;
	}
	set->nproblems++;
	return RK_OK;
}

/* The reader's on_problem: every problem of the file, its own and ours. */
static enum rk_err on_problem(void *arg, long long line, const char *reason)
{
	struct parse_ctx *ctx = arg;

	return contacts_push_problem(ctx->set, ctx->name, line, reason);
}

static void add_problem(struct parse_ctx *ctx, long long line,
			const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	if (ctx->err)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (ctx->csv)
		ctx->err = rk_csv_problem(ctx->csv, line, "%s", reason);
	else
		ctx->err = contacts_push_problem(ctx->set, ctx->name, line, reason);
}

/* A field of the current row by known column, trimmed; "" when the
 * header has no such column. */
static char *field(struct parse_ctx *ctx, int col)
{
	int at = ctx->column[col];

	return at < 0 ? (char *)"" : rk_str_trim(ctx->cur->field[at]);
}

static bool lang_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 2 || n > 3)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 'a' || s[i] > 'z')
			return false;
	return true;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

/* The pgp column: a fingerprint (40 or 64 hex digits, spaces allowed;
 * stored without spaces, upper case) or a key file name under keys/.
 * *out is NULL for an empty value.  false (with why) when bad. */
static bool pgp_value(struct parse_ctx *ctx, const char *s, char **out,
		      char *why, size_t why_len, enum rk_err *err)
{
	const struct contacts_key *k;
	char q[RK_QUOTE], fpr[65];
	size_t n = 0;
	bool hex = true;

	*out = NULL;
	if (!*s)
		return true;
	for (const char *p = s; *p && hex; p++) {
		if (*p == ' ')
			continue;
		if (!is_hex(*p) || n == 64)
			hex = false;
		else
			fpr[n++] = (char)((*p >= 'a' && *p <= 'f') ? *p - 32 : *p);
	}
	fpr[n] = '\0';
	if (hex && (n == 40 || n == 64)) {
		if (ctx->check_keys) {
			k = contacts_key_find(ctx->set, NULL, fpr);
			if (!k) {
				snprintf(why, why_len,
					 "pgp %s: no key file in keys/ holds this key "
					 "(export the public key there: gpg --armor "
					 "--export %s > keys/NAME.asc)", fpr, fpr);
				return false;
			}
			if (!k->usable) {
				rk_quote(k->file, q);
				snprintf(why, why_len, "pgp %s: key file 'keys/%s' is "
					 "unusable: %s", fpr, q, k->reason);
				return false;
			}
		}
		*out = rk_strdup(fpr);
		*err = *out ? RK_OK : RK_ERR_NOMEM;
		return true;
	}
	rk_quote(s, q);
	if (!rk_name_safe(s) || strlen(s) < 5 ||
	    strcmp(s + strlen(s) - 4, ".asc") != 0) {
		snprintf(why, why_len,
			 "pgp '%s' is neither a key fingerprint (40 hex digits) "
			 "nor a key file name in keys/ (like isp-a.asc)", q);
		return false;
	}
	if (ctx->check_keys) {
		k = contacts_key_find(ctx->set, s, NULL);
		if (!k) {
			snprintf(why, why_len, "pgp key file 'keys/%s' not found", q);
			return false;
		}
		if (!k->usable) {
			snprintf(why, why_len, "pgp key file 'keys/%s' is unusable: %s",
				 q, k->reason);
			return false;
		}
		/* what is stored: the fingerprint of the checked key */
		*out = rk_strdup(k->fpr);
		*err = *out ? RK_OK : RK_ERR_NOMEM;
		return true;
	}
	*out = rk_strdup(s);
	*err = *out ? RK_OK : RK_ERR_NOMEM;
	return true;
}

/* Comma-separated addresses, each valid; stored as "a@x,b@y". */
static bool cc_value(const char *s, char **out, char *why, size_t why_len,
		     enum rk_err *err)
{
	struct rk_buf b;
	char addr[RK_MAX_EMAIL + 1], q[RK_QUOTE];
	const char *p = s, *item;
	size_t n, count = 0;
	bool ok = true;

	*out = NULL;
	if (!*s)
		return true;
	rk_buf_init(&b, RK_MAX_CSV_LINE);
	while (ok && rk_list_next(&p, &item, &n)) {
		if (++count > RK_MAX_CC) {
			snprintf(why, why_len, "cc has more than RK_MAX_CC (%d) addresses",
				 RK_MAX_CC);
			ok = false;
			break;
		}
		if (n == 0) {
			snprintf(why, why_len, "cc has an empty address (a stray comma?)");
			ok = false;
			break;
		}
		memcpy(addr, item, n < sizeof(addr) ? n : sizeof(addr) - 1);
		addr[n < sizeof(addr) ? n : sizeof(addr) - 1] = '\0';
		if (n >= sizeof(addr) || !rk_email_valid(addr)) {
			rk_quote(addr, q);
			snprintf(why, why_len, "cc '%s' is not a valid e-mail address", q);
			ok = false;
			break;
		}
		if ((b.len && (*err = rk_buf_addc(&b, ','))) ||
		    (*err = rk_buf_adds(&b, addr)))
			break;
	}
	if (ok && !*err) {
		*out = rk_buf_detach(&b, NULL);
		if (!*out)
			*err = RK_ERR_NOMEM;
	}
	rk_buf_release(&b);
	return ok;
}

/* YYYY-MM-DD, through the end of that day UTC. */
static bool until_value(const char *s, int64_t *out)
{
	int64_t day;

	*out = 0;
	if (!*s)
		return true;
	if (strlen(s) != 10 || rk_time_parse(s, &day))
		return false;
	*out = day + 86399;
	return true;
}

static char *source_of(struct parse_ctx *ctx, long long line)
{
	struct rk_buf b;

	rk_buf_init(&b, 4096);
	if (rk_buf_addf(&b, "%s:%lld", ctx->name, line)) {
		rk_buf_release(&b);
		return NULL;
	}
	return rk_buf_detach(&b, NULL);
}

/* Remember key; false (with the problem "duplicate WHAT 'SHOWN' (first at
 * line N)") when an earlier line of the file had it. */
static bool first_of(struct parse_ctx *ctx, const char *key, const char *what,
		     const char *shown)
{
	long long earlier;
	char q[RK_QUOTE];

	if ((ctx->err = dup_check(&ctx->dups, key, ctx->rec_line, &earlier)))
		return false;
	if (earlier) {
		rk_quote(shown, q);
		add_problem(ctx, ctx->rec_line, "duplicate %s '%s' (first at line %lld)",
			    what, q, earlier);
		return false;
	}
	return true;
}

/* Strings of a row under construction; whatever is left is freed. */
struct row_text {
	char *cc, *pgp;
};

static enum rk_err push_contact(struct parse_ctx *ctx,
				enum store_contact_kind kind, const char *org,
				const char *match, const char *email,
				struct row_text *t, const char *lang,
				const char *format, const char *notes)
{
	struct contacts_set *set = ctx->set;
	struct store_contact *c;

	if (rk_array_room((void **)&set->contacts, set->ncontacts, sizeof(*c)))
		return RK_ERR_NOMEM;
	c = &set->contacts[set->ncontacts];
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->org = rk_strdup(org);
	c->match = rk_strdup(match);
	c->email = rk_strdup(email);
	c->cc = t->cc;
	c->pgp = t->pgp;
	t->cc = t->pgp = NULL;
	c->lang = *lang ? rk_strdup(lang) : NULL;
	c->format = *format ? rk_strdup(format) : NULL;
	c->notes = *notes ? rk_strdup(notes) : NULL;
	c->source = source_of(ctx, ctx->rec_line);
	if (!c->org || !c->match || !c->email || (*lang && !c->lang) ||
	    (*format && !c->format) || (*notes && !c->notes) || !c->source) {
		store_contact_release(c);
		return RK_ERR_NOMEM;
	}
	set->ncontacts++;
	return RK_OK;
}

/* Control characters: never in a value that may reach a header or a log;
 * notes may hold tabs and line breaks. */
static bool check_ctl(struct parse_ctx *ctx)
{
	for (size_t i = 0; i < ctx->def->ncolumns; i++) {
		const unsigned char *p = (const unsigned char *)field(ctx, (int)i);
		bool notes = ctx->def->kind == KIND_CONSTITUENCY && i == C_NOTES;
		bool bad = false;

		for (; *p && !bad; p++)
			bad = (*p < 0x20 || *p == 0x7f) &&
			      !(notes && (*p == '\t' || *p == '\n' || *p == '\r'));
		if (bad) {
			add_problem(ctx, ctx->rec_line,
				    "%s: control character (such as a line break) "
				    "not allowed", ctx->def->columns[i]);
			return false;
		}
	}
	return true;
}

static void require_missing(struct parse_ctx *ctx, bool *ok)
{
	for (size_t i = 0; *ok && i < ctx->def->ncolumns; i++) {
		if ((ctx->def->required & (1u << i)) && !*field(ctx, (int)i)) {
			add_problem(ctx, ctx->rec_line, "%s is empty (required)",
				    ctx->def->columns[i]);
			*ok = false;
		}
	}
}

static bool email_ok(struct parse_ctx *ctx, const char *column,
		     const char *email)
{
	char q[RK_QUOTE];

	if (rk_email_valid(email))
		return true;
	rk_quote(email, q);
	add_problem(ctx, ctx->rec_line, "%s '%s' is not a valid e-mail address",
		    column, q);
	return false;
}

static bool lang_format_ok(struct parse_ctx *ctx, const char *lang,
			   const char *format)
{
	char q[RK_QUOTE];
	bool known = !*format;

	if (*lang && !lang_ok(lang)) {
		rk_quote(lang, q);
		add_problem(ctx, ctx->rec_line,
			    "lang '%s' must be 2 or 3 lowercase letters (like en, ja, de)", q);
		return false;
	}
	for (size_t i = 0; !known && i < RK_ARRAY_LEN(formats); i++)
		known = strcmp(format, formats[i]) == 0;
	if (!known) {
		rk_quote(format, q);
		add_problem(ctx, ctx->rec_line,
			    "format '%s' is not one renraku produces (accepted: "
			    CONTACTS_FORMATS ", or empty for csv-attach)", q);
	}
	return known;
}

/* A name that goes into the To header's display name must fit it. */
static bool org_ok(struct parse_ctx *ctx, const char *column, const char *org)
{
	if (strlen(org) <= RK_MAX_ORG)
		return true;
	add_problem(ctx, ctx->rec_line, "%s is longer than RK_MAX_ORG (%d bytes)",
		    column, RK_MAX_ORG);
	return false;
}

static void row_constituency(struct parse_ctx *ctx)
{
	const char *org = field(ctx, C_ORG), *email = field(ctx, C_EMAIL);
	const char *lang = field(ctx, C_LANG), *format = field(ctx, C_FORMAT);
	struct match_spec m;
	struct row_text t = {NULL, NULL};
	char why[400];
	bool ok = true;
	enum rk_err err = RK_OK;

	require_missing(ctx, &ok);
	if (!ok || !org_ok(ctx, "org", org))
		return;
	err = match_parse(field(ctx, C_MATCH), false, &m, why, sizeof(why));
	if (err == RK_ERR_INVAL) {
		add_problem(ctx, ctx->rec_line, "match: %s", why);
		ok = false;
		err = RK_OK;
	} else if (err) {
		ctx->err = err;
		ok = false;
	}
	ok = ok && email_ok(ctx, "email", email);
	if (ok && !cc_value(field(ctx, C_CC), &t.cc, why, sizeof(why), &err)) {
		add_problem(ctx, ctx->rec_line, "%s", why);
		ok = false;
	}
	if (ok && !err &&
	    !pgp_value(ctx, field(ctx, C_PGP), &t.pgp, why, sizeof(why), &err)) {
		add_problem(ctx, ctx->rec_line, "%s", why);
		ok = false;
	}
	if (err)
		ctx->err = err;
	ok = ok && !err && lang_format_ok(ctx, lang, format);
	if (ok && first_of(ctx, m.text, "match", m.text))
		ctx->err = push_contact(ctx, STORE_CONTACT_CONSTITUENCY, org,
					m.text, email, &t, lang, format,
					field(ctx, C_NOTES));
	free(t.cc);
	free(t.pgp);
	match_release(&m);
}

static void row_national(struct parse_ctx *ctx)
{
	char *country = field(ctx, N_COUNTRY);
	const char *email = field(ctx, N_EMAIL), *lang = field(ctx, N_LANG);
	struct row_text t = {NULL, NULL};
	char why[400], q[RK_QUOTE];
	enum rk_err err = RK_OK;
	bool ok = true;

	require_missing(ctx, &ok);
	if (!ok || !org_ok(ctx, "team", field(ctx, N_TEAM)))
		return;
	if (strlen(country) != 2 ||
	    !((country[0] | 32) >= 'a' && (country[0] | 32) <= 'z') ||
	    !((country[1] | 32) >= 'a' && (country[1] | 32) <= 'z')) {
		rk_quote(country, q);
		add_problem(ctx, ctx->rec_line,
			    "country '%s' must be a two-letter ISO 3166 code (like JP)", q);
		return;
	}
	country[0] = (char)(country[0] & ~32);
	country[1] = (char)(country[1] & ~32);
	if (!email_ok(ctx, "email", email))
		return;
	if (!pgp_value(ctx, field(ctx, N_PGP), &t.pgp, why, sizeof(why), &err)) {
		add_problem(ctx, ctx->rec_line, "%s", why);
		return;
	}
	if ((ctx->err = err))
		return;
	if (lang_format_ok(ctx, lang, "") && first_of(ctx, country, "country", country))
		ctx->err = push_contact(ctx, STORE_CONTACT_NATIONAL,
					field(ctx, N_TEAM), country, email, &t,
					lang, "", "");
	free(t.pgp);
}

static void row_suppress(struct parse_ctx *ctx)
{
	const char *type = field(ctx, S_TYPE), *until_text = field(ctx, S_UNTIL);
	const char *reason = field(ctx, S_REASON);
	struct contacts_set *set = ctx->set;
	struct store_suppression *s;
	struct match_spec m;
	struct rk_buf key;
	const struct rk_type_info *info = NULL;
	char why[400], q[RK_QUOTE];
	int64_t until;
	bool any_type = !*type || strcmp(type, "*") == 0;
	enum rk_err err;

	if (!*field(ctx, S_MATCH)) {
		add_problem(ctx, ctx->rec_line, "match is empty (required; \"*\" for everything)");
		return;
	}
	err = match_parse(field(ctx, S_MATCH), true, &m, why, sizeof(why));
	rk_buf_init(&key, RK_MAX_CSV_LINE);
	if (err == RK_ERR_INVAL) {
		add_problem(ctx, ctx->rec_line, "match: %s", why);
		goto cleanup;
	}
	if ((ctx->err = err))
		goto cleanup;
	if (!any_type && !(info = rk_type_find(type))) {
		rk_quote(type, q);
		add_problem(ctx, ctx->rec_line,
			    "type '%s' is not an IntelMQ classification type "
			    "(like vulnerable-system, or * for any)", q);
		goto cleanup;
	}
	if (info)
		type = info->type; /* its canonical spelling */
	if (!until_value(until_text, &until)) {
		rk_quote(until_text, q);
		add_problem(ctx, ctx->rec_line,
			    "until '%s' is not a date (YYYY-MM-DD, or empty for forever)", q);
		goto cleanup;
	}
	if ((ctx->err = rk_buf_addf(&key, "%s type %s", m.text,
				    any_type ? "*" : type)))
		goto cleanup;
	if (!first_of(ctx, key.data, "rule for", key.data))
		goto cleanup;
	if ((ctx->err = rk_array_room((void **)&set->supps, set->nsupps, sizeof(*s))))
		goto cleanup;
	s = &set->supps[set->nsupps];
	memset(s, 0, sizeof(*s));
	s->match = rk_strdup(m.text);
	s->type = any_type ? NULL : rk_strdup(type);
	s->until = until;
	s->reason = *reason ? rk_strdup(reason) : NULL;
	s->source = source_of(ctx, ctx->rec_line);
	if (!s->match || (!any_type && !s->type) || (*reason && !s->reason) ||
	    !s->source) {
		store_suppression_release(s);
		ctx->err = RK_ERR_NOMEM;
		goto cleanup;
	}
	set->nsupps++;
cleanup:
	rk_buf_release(&key);
	match_release(&m);
}

static void header(struct parse_ctx *ctx)
{
	const struct kind_def *def = ctx->def;
	struct rk_buf unknown, expected;
	char q[RK_QUOTE];
	bool ok = true;

	ctx->have_header = true;
	rk_buf_init(&unknown, 4096);
	rk_buf_init(&expected, 4096);
	for (size_t i = 0; i < def->ncolumns; i++) {
		ctx->column[i] = -1;
		rk_buf_addf(&expected, "%s%s", i ? "," : "", def->columns[i]);
	}
	ctx->header_fields = ctx->cur->nfields;
	for (size_t f = 0; f < ctx->cur->nfields; f++) {
		char *name = rk_str_trim(ctx->cur->field[f]);
		size_t col;

		for (col = 0; col < def->ncolumns; col++)
			if (rk_str_ieq(name, def->columns[col]))
				break;
		rk_quote(name, q);
		if (col == def->ncolumns) {
			if (unknown.len < 1024)
				rk_buf_addf(&unknown, "%s'%s'", unknown.len ? ", " : "", q);
		} else if (ctx->column[col] >= 0) {
			add_problem(ctx, ctx->rec_line, "column '%s' appears twice", q);
			ok = false;
		} else {
			ctx->column[col] = (int)f;
		}
	}
	if (unknown.len)
		add_problem(ctx, ctx->rec_line,
			    "unknown column%s %s (the header is %s)",
			    strchr(unknown.data, ',') ? "s" : "", unknown.data,
			    expected.data);
	for (size_t i = 0; i < def->ncolumns; i++) {
		if ((def->required & (1u << i)) && ctx->column[i] < 0) {
			add_problem(ctx, ctx->rec_line,
				    "missing column '%s' (the header is %s)",
				    def->columns[i], expected.data);
			ok = false;
		}
	}
	ctx->header_ok = ok;
	rk_buf_release(&unknown);
	rk_buf_release(&expected);
}

/* The reader's on_record. */
static enum rk_err record(void *arg, struct rk_csv *csv,
			  const struct rk_csv_record *rec)
{
	struct parse_ctx *ctx = arg;

	(void)csv;
	ctx->cur = rec;
	ctx->rec_line = rec->line;
	if (rec->skipped) {
		/* a broken first record: there is no header to go by */
		if (!ctx->have_header) {
			ctx->have_header = true;
			ctx->header_ok = false;
		}
		goto done;
	}
	if (!ctx->have_header) {
		header(ctx);
		goto done;
	}
	if (!ctx->header_ok)
		goto done;
	if (rec->nfields != ctx->header_fields) {
		add_problem(ctx, ctx->rec_line, "%zu field%s, but the header has %zu",
			    rec->nfields, rec->nfields == 1 ? "" : "s",
			    ctx->header_fields);
		goto done;
	}
	if (!check_ctl(ctx))
		goto done;
	switch (ctx->def->kind) {
	case KIND_CONSTITUENCY: row_constituency(ctx); break;
	case KIND_NATIONAL: row_national(ctx); break;
	case KIND_SUPPRESS: row_suppress(ctx); break;
	}
done:
	ctx->cur = NULL;
	return ctx->err;
}

/* Text checks on the whole file: no NUL byte, valid UTF-8.  Returns the
 * 1-based line of the first bad byte, 0 when fine. */
static long long bad_text_line(const char *data, size_t len, bool *nul)
{
	const char *p = data, *end = data + len;
	long long line = 0;

	*nul = false;
	while (p < end) {
		const char *next = csvread_line_end(p, end);

		line++;
		if (memchr(p, '\0', (size_t)(next - p))) {
			*nul = true;
			return line;
		}
		if (!rk_utf8_valid(p, (size_t)(next - p)))
			return line;
		p = next;
	}
	return 0;
}

static const struct kind_def *kind_by_name(const char *kind)
{
	for (size_t i = 0; kind && i < RK_ARRAY_LEN(kinds); i++)
		if (strcmp(kind, kinds[i].name) == 0)
			return &kinds[i];
	return NULL;
}

/* Parse one file's bytes into set (appending). */
static enum rk_err parse_file(const struct kind_def *def, const char *name,
			      bool check_keys, const char *data, size_t len,
			      struct contacts_set *set)
{
	struct rk_csv_opts opts;
	struct parse_ctx ctx;
	long long bad;
	bool nul;
	enum rk_err err = RK_OK;

	memset(&ctx, 0, sizeof(ctx));
	ctx.def = def;
	ctx.name = name;
	ctx.check_keys = check_keys;
	ctx.set = set;
	if (len > RK_MAX_CONTACTS_FILE) {
		add_problem(&ctx, 0, "larger than RK_MAX_CONTACTS_FILE (%u bytes)",
			    RK_MAX_CONTACTS_FILE);
		goto cleanup;
	}
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0) {
		data += 3; /* UTF-8 byte order mark */
		len -= 3;
	}
	bad = bad_text_line(data, len, &nul);
	if (bad) {
		add_problem(&ctx, bad, nul ? "NUL byte: this is not a text file"
					   : "not valid UTF-8 (save the file as UTF-8)");
		goto cleanup;
	}
	memset(&opts, 0, sizeof(opts));
	opts.on_record = record;
	opts.on_problem = on_problem;
	opts.arg = &ctx;
	if ((err = rk_csv_new(&ctx.csv, &opts)))
		goto cleanup;
	err = rk_csv_feed(ctx.csv, data, len);
	if (!err)
		err = rk_csv_finish(ctx.csv);
	if (!err && !rk_csv_stopped(ctx.csv) && !ctx.have_header)
		add_problem(&ctx, 1, "no header row (the first line names the "
				     "columns, like %s,...)", def->columns[0]);
cleanup:
	if (!err)
		err = ctx.err;
	rk_csv_free(ctx.csv);
	dup_release(&ctx.dups);
	return err;
}

enum rk_err contacts_parse(const char *kind, const char *name,
			   const char *data, size_t len,
			   struct contacts_set *set)
{
	const struct kind_def *def = kind_by_name(kind);

	if (!def)
		return RK_ERR_INVAL;
	return parse_file(def, name ? name : def->file, false, data, len, set);
}

void contacts_set_release(struct contacts_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->ncontacts; i++)
		store_contact_release(&set->contacts[i]);
	for (size_t i = 0; i < set->nsupps; i++)
		store_suppression_release(&set->supps[i]);
	for (size_t i = 0; i < set->nkeys; i++)
		contacts_key_release(&set->keys[i]);
	free(set->keys);
	for (size_t i = 0; i < set->nproblems; i++) {
		free(set->problems[i].file);
		free(set->problems[i].reason);
	}
	free(set->contacts);
	free(set->supps);
	free(set->problems);
	memset(set, 0, sizeof(*set));
}

/* Warn about CSV files the directory holds but renraku does not read
 * (a misspelt name would otherwise be ignored without a word). */
static void warn_unknown_files(const char *dir, const struct rk_log *log)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		bool known = false;

		if (n < 4 || strcmp(de->d_name + n - 4, ".csv") != 0)
			continue;
		for (size_t i = 0; i < RK_ARRAY_LEN(kinds); i++)
			known = known || strcmp(de->d_name, kinds[i].file) == 0;
		if (!known)
			rk_log_warn(log, "%s: '%s' is not a contacts file renraku "
					 "reads (%s, %s, %s); ignored",
				    dir, de->d_name, CONTACTS_FILE_CONSTITUENCY,
				    CONTACTS_FILE_NATIONAL, CONTACTS_FILE_SUPPRESS);
	}
	closedir(d);
}

enum rk_err contacts_read_dir(const char *dir, int64_t now,
			      const struct rk_log *log,
			      struct contacts_set *set)
{
	char *path = NULL, *keys_dir = NULL;
	struct rk_buf data;
	struct stat st;
	enum rk_err err = RK_OK;

	memset(set, 0, sizeof(*set));
	rk_buf_init(&data, RK_MAX_CONTACTS_FILE);
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		err = rk_fail(log, errno == ENOENT ? RK_ERR_NOTFOUND : RK_ERR_IO,
			      "'%s' is not a contacts directory: %s", dir,
			      errno ? strerror(errno) : "not a directory");
		goto cleanup;
	}
	if ((err = rk_path_join(dir, CONTACTS_KEYS_DIR, &keys_dir)) ||
	    (err = contacts_keys_read(keys_dir, now, log, set)))
		goto cleanup;
	for (size_t i = 0; i < RK_ARRAY_LEN(kinds); i++) {
		const struct kind_def *def = &kinds[i];

		free(path);
		path = NULL;
		rk_buf_reset(&data);
		if ((err = rk_path_join(dir, def->file, &path)))
			goto cleanup;
		errno = 0;
		err = rk_buf_read_file(&data, path);
		if (err == RK_ERR_NOTFOUND && def->kind != KIND_CONSTITUENCY) {
			rk_log_debug(log, "%s: not present (optional)", path);
			err = RK_OK;
			continue;
		}
		if (err == RK_ERR_NOTFOUND || err == RK_ERR_LIMIT) {
			char reason[128];

			if (err == RK_ERR_LIMIT)
				snprintf(reason, sizeof(reason),
					 "larger than RK_MAX_CONTACTS_FILE (%u bytes)",
					 RK_MAX_CONTACTS_FILE);
			else
				snprintf(reason, sizeof(reason),
					 "missing: the constituency table is required");
			err = contacts_push_problem(set, def->file, 0, reason);
			if (err)
				goto cleanup;
			continue;
		}
		if (err) {
			err = rk_fail(log, err, "cannot read '%s': %s", path,
				      strerror(errno ? errno : EIO));
			goto cleanup;
		}
		if ((err = parse_file(def, def->file, true, data.data,
				      data.len, set)))
			goto cleanup;
	}
	warn_unknown_files(dir, log);
cleanup:
	if (err)
		contacts_set_release(set);
	free(path);
	free(keys_dir);
	rk_buf_release(&data);
	return err;
}
