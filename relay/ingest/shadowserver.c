/*
 * The Shadowserver format: Shadowserver's CSV reports, all report types,
 * driven by Shadowserver's published IntelMQ schema (data/shadowserver/
 * intelmq.json, or [ingest] shadowserver_schema).  The report type comes
 * from the file name (YYYY-MM-DD-TYPE-....csv; the schema's file_name
 * maps legacy names) or from --format shadowserver:TYPE.
 *
 * Each row becomes a JSON object of IntelMQ fields: the schema's
 * required, optional and constant fields with its named conversions, and
 * every column the schema does not know under "extra.<column>".  A
 * missing required column rejects the file; a bad row is rejected with
 * its line and reason.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "private.h"
#include "renraku/csvread.h"

enum ss_conv {
	CONV_NONE = 0, CONV_TO_NONE, CONV_INT, CONV_ZERO, CONV_BOOL,
	CONV_FLOAT, CONV_IP, CONV_UTC, CONV_CVE, CONV_DATE, CONV_DATE_UTC,
	CONV_HOST_URL, CONV_FQDN, CONV_NETWORK, CONV_CAT_DETAIL,
	CONV_BASE64, CONV_EX_TAXONOMY, CONV_EX_TYPE, CONV_EX_IDENTIFIER
};

static const struct {
	const char *name;
	enum ss_conv conv;
} conv_names[] = {
	{"validate_to_none", CONV_TO_NONE}, {"convert_int", CONV_INT},
	{"invalidate_zero", CONV_ZERO}, {"convert_bool", CONV_BOOL},
	{"convert_float", CONV_FLOAT}, {"validate_ip", CONV_IP},
	{"add_UTC_to_timestamp", CONV_UTC}, {"extract_cve_from_tag", CONV_CVE},
	{"convert_date", CONV_DATE}, {"convert_date_utc", CONV_DATE_UTC},
	{"convert_http_host_and_url", CONV_HOST_URL},
	{"validate_fqdn", CONV_FQDN}, {"validate_network", CONV_NETWORK},
	{"category_or_detail", CONV_CAT_DETAIL}, {"force_base64", CONV_BASE64},
	{"scan_exchange_taxonomy", CONV_EX_TAXONOMY},
	{"scan_exchange_type", CONV_EX_TYPE},
	{"scan_exchange_identifier", CONV_EX_IDENTIFIER},
};

static bool conv_lookup(const char *name, enum ss_conv *out)
{
	for (size_t i = 0; i < RK_ARRAY_LEN(conv_names); i++)
		if (strcmp(name, conv_names[i].name) == 0) {
			*out = conv_names[i].conv;
			return true;
		}
	return false;
}

/* One field of the report's schema. */
struct ss_field {
	const char *key;    /* IntelMQ name, "extra." = extra.<column>;
			       borrowed from the schema */
	const char *column; /* borrowed from the schema */
	enum ss_conv conv;
	bool required;
	long col;           /* header index, -1 = not in the file */
	char *name;         /* owned: the name stored (key, or
			       "extra.<column>", at most 255 bytes) */
	size_t name_len;
	bool name_checked;  /* name is valid UTF-8: set without a check */
};

struct ss_reader {
	json_t *schema;      /* owned */
	json_t *report;      /* borrowed from schema */
	const char *type;    /* the report's file_name, borrowed */
	const char *feed;    /* borrowed */
	json_t *feed_value;  /* owned: feed as a JSON string, shared by
				every row (NULL without a feed name) */
	int default_sev;     /* -1 = none */
	struct ss_field *fields; /* owned */
	size_t nfields;
	char **extra;        /* owned, per column: "extra.<header>" (at
				most 255 bytes), what an unknown column is
				stored as */
	char **header;       /* owned, ncols */
	bool *used;          /* owned, ncols: a schema field reads it */
	size_t ncols;
	long severity_col;
	struct ingest_queue q; /* the rows read ahead; owns the CSV
				  reader */
	enum rk_err failure; /* NOMEM from a callback */
	bool flat;           /* rows are queued as fields, not objects: no
				two names a row can have are the same (so
				the object would replace none) */
};

/* ------------------------------------------------------------ schema */

static enum rk_err read_small_file(const char *path, size_t max,
				   struct rk_buf *out)
{
	FILE *f;
	enum rk_err err;

	rk_buf_init(out, max); /* released by the caller whatever happens */
	f = fopen(path, "rb");
	if (!f)
		return errno == ENOENT ? RK_ERR_NOTFOUND : RK_ERR_IO;
	err = rk_buf_read_stream(out, f);
	fclose(f);
	return err;
}

enum rk_err ingest_shadowserver_schema_path(const struct rk_config *cfg,
					    const char *file, char **out)
{
	char *dir = NULL, *sub = NULL;
	enum rk_err err;

	*out = NULL;
	if (cfg && cfg->ingest.shadowserver_schema &&
	    strcmp(file, "intelmq.json") == 0)
		/* Relative to the configuration file. */
		return rk_config_path(cfg, cfg->ingest.shadowserver_schema,
				      out);
	if (cfg && cfg->ingest.shadowserver_schema) {
		/* The severity table lives beside the schema. */
		char *s = NULL;
		const char *slash;

		if ((err = rk_config_path(cfg, cfg->ingest.shadowserver_schema,
					  &s)))
			return err;
		slash = strrchr(s, '/');
		dir = slash ? rk_strndup(s, (size_t)(slash - s + 1))
			    : rk_strdup("./");
		free(s);
		if (!dir)
			return RK_ERR_NOMEM;
		err = rk_path_join(dir, file, out);
		free(dir);
		dir = NULL;
		if (err || access(*out, F_OK) == 0)
			return err;
		/* None there: the bundled one. */
		free(*out);
		*out = NULL;
	}
	if ((err = rk_data_dir(&dir)))
		return err;
	/* Installed: <datadir>/shadowserver; the source tree keeps it under
	 * data/shadowserver. */
	if (!(err = rk_path_join(dir, "shadowserver", &sub)))
		err = rk_path_join(sub, file, out);
	free(sub);
	sub = NULL;
	if (!err && access(*out, F_OK) != 0) {
		char *alt = NULL;

		if (!(err = rk_path_join(dir, "data/shadowserver", &sub)))
			err = rk_path_join(sub, file, &alt);
		if (!err && access(alt, F_OK) == 0) {
			free(*out);
			*out = alt;
			alt = NULL;
		}
		free(alt);
		free(sub);
	}
	free(dir);
	return err;
}

/* The schema's checks, shared by the reader and `schema update`: an
 * object of reports, each with file_name, feed_name, constant_fields (an
 * object of strings) and required_fields / optional_fields (arrays of
 * [key, column, conversion?, bool?] with known conversions). */
static bool check_fields(const char *report, json_t *list, const char *what,
			 char *reason, size_t reason_len)
{
	size_t i;
	json_t *item;

	if (!json_is_array(list)) {
		snprintf(reason, reason_len, "report '%s': %s is not an array",
			 report, what);
		return false;
	}
	json_array_foreach(list, i, item) {
		size_t n = json_array_size(item);
		enum ss_conv conv;

		if (!json_is_array(item) || n < 2 || n > 4 ||
		    !json_is_string(json_array_get(item, 0)) ||
		    !json_is_string(json_array_get(item, 1)) ||
		    json_string_length(json_array_get(item, 1)) == 0 ||
		    (n > 2 && !json_is_string(json_array_get(item, 2))) ||
		    (n > 3 && !json_is_boolean(json_array_get(item, 3)))) {
			snprintf(reason, reason_len,
				 "report '%s': %s[%zu] is not [field, column, "
				 "conversion]",
				 report, what, i);
			return false;
		}
		if (n > 2 &&
		    !conv_lookup(json_string_value(json_array_get(item, 2)),
				 &conv)) {
			snprintf(reason, reason_len,
				 "report '%s': unknown conversion '%.64s'",
				 report,
				 json_string_value(json_array_get(item, 2)));
			return false;
		}
	}
	return true;
}

static json_t *schema_parse(const char *data, size_t len, char *reason,
			    size_t reason_len)
{
	json_error_t jerr;
	json_t *root, *report, *v;
	const char *key, *k2;
	size_t reports = 0;

	if (len > RK_MAX_SHADOWSERVER_SCHEMA) {
		snprintf(reason, reason_len,
			 "schema is larger than RK_MAX_SHADOWSERVER_SCHEMA (%u "
			 "bytes)",
			 RK_MAX_SHADOWSERVER_SCHEMA);
		return NULL;
	}
	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(reason, reason_len,
			 "schema is not valid JSON (line %d): %s", jerr.line,
			 jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		snprintf(reason, reason_len, "schema is not a JSON object");
		goto bad;
	}
	json_object_foreach(root, key, report) {
		if (key[0] == '_')
			continue; /* _meta */
		if (!json_is_object(report) ||
		    !json_is_string(json_object_get(report, "file_name")) ||
		    !json_is_string(json_object_get(report, "feed_name"))) {
			snprintf(reason, reason_len,
				 "report '%.64s' has no file_name or feed_name",
				 key);
			goto bad;
		}
		v = json_object_get(report, "constant_fields");
		if (!json_is_object(v)) {
			snprintf(reason, reason_len,
				 "report '%.64s': constant_fields is not an "
				 "object",
				 key);
			goto bad;
		}
		json_object_foreach(v, k2, report) {
			(void)k2;
			if (!json_is_string(report)) {
				snprintf(reason, reason_len,
					 "report '%.64s': a constant field is "
					 "not a string",
					 key);
				goto bad;
			}
		}
		report = json_object_get(root, key);
		if (!check_fields(key, json_object_get(report,
							"required_fields"),
				  "required_fields", reason, reason_len) ||
		    !check_fields(key, json_object_get(report,
							"optional_fields"),
				  "optional_fields", reason, reason_len))
			goto bad;
		reports++;
	}
	if (reports == 0) {
		snprintf(reason, reason_len, "schema holds no report");
		goto bad;
	}
	return root;
bad:
	json_decref(root);
	return NULL;
}

enum rk_err ingest_shadowserver_schema_check(const char *data, size_t len,
					     size_t *reports, char *reason,
					     size_t reason_len)
{
	json_t *root = schema_parse(data, len, reason, reason_len);
	const char *key;
	json_t *v;

	if (!root)
		return RK_ERR_PARSE;
	if (reports) {
		*reports = 0;
		json_object_foreach(root, key, v)
			if (key[0] != '_')
				(*reports)++;
	}
	json_decref(root);
	return RK_OK;
}

/* The report for type: a schema key or a report's file_name. */
static json_t *find_report(json_t *schema, const char *type)
{
	const char *key;
	json_t *report = json_object_get(schema, type);

	if (report && type[0] != '_')
		return report;
	json_object_foreach(schema, key, report) {
		if (key[0] != '_' &&
		    strcmp(json_string_value(json_object_get(report,
							     "file_name")),
			   type) == 0)
			return report;
	}
	return NULL;
}

/* The report type from a Shadowserver file name:
 * YYYY-MM-DD-TYPE-anything.csv. */
static bool type_from_name(const char *name, char *out, size_t out_len)
{
	const char *base = strrchr(name, '/'), *p, *dash;
	size_t n = strlen(base ? base + 1 : name);

	base = base ? base + 1 : name;
	if (n < 16 || !rk_str_ieq(base + n - 4, ".csv"))
		return false;
	for (int i = 0; i < 10; i++) {
		bool want_dash = i == 4 || i == 7;

		if (want_dash ? base[i] != '-'
			      : !isdigit((unsigned char)base[i]))
			return false;
	}
	if (base[10] != '-')
		return false;
	p = base + 11;
	dash = strchr(p, '-');
	if (!dash || dash == p || (size_t)(dash - p) >= out_len ||
	    dash >= base + n - 4)
		return false;
	memcpy(out, p, (size_t)(dash - p));
	out[dash - p] = '\0';
	return true;
}

/* The default severity of the report type from severity.csv beside the
 * schema; -1 when not listed or the table cannot be read. */
struct sev_lookup {
	const char *type;
	int sev;
};

static enum rk_err sev_record(void *arg, struct rk_csv *csv,
			      const struct rk_csv_record *rec)
{
	struct sev_lookup *l = arg;
	enum rk_severity sev;

	(void)csv;
	if (rec->skipped || rec->nfields < 2 || rec->index == 0)
		return RK_OK;
	if (strcmp(rec->field[0], l->type) == 0 &&
	    rk_severity_parse(rec->field[1], &sev) == RK_OK)
		l->sev = (int)sev;
	return RK_OK;
}

static int default_severity(const struct rk_config *cfg, const char *type)
{
	struct sev_lookup l = {type, -1};
	struct rk_csv_opts o;
	struct rk_buf b;
	char *path = NULL;

	if (ingest_shadowserver_schema_path(cfg, "severity.csv", &path))
		return -1;
	if (read_small_file(path, 1u << 20, &b) == RK_OK) {
		memset(&o, 0, sizeof(o));
		o.on_record = sev_record;
		o.arg = &l;
		(void)rk_csv_read(&o, b.data ? b.data : "", b.len);
	}
	rk_buf_release(&b);
	free(path);
	return l.sev;
}

/* ------------------------------------------------------------ header */

struct header_grab {
	struct ss_reader *r;
	bool got;
	enum rk_err err;
};

static enum rk_err header_record(void *arg, struct rk_csv *csv,
				 const struct rk_csv_record *rec)
{
	struct header_grab *h = arg;
	struct ss_reader *r = h->r;

	(void)csv;
	if (rec->index != 0 || rec->skipped)
		return RK_OK;
	h->got = true;
	r->header = calloc(rec->nfields ? rec->nfields : 1, sizeof(char *));
	r->used = calloc(rec->nfields ? rec->nfields : 1, sizeof(bool));
	if (!r->header || !r->used)
		return RK_ERR_NOMEM;
	r->extra = calloc(rec->nfields ? rec->nfields : 1, sizeof(char *));
	if (!r->extra)
		return RK_ERR_NOMEM;
	for (size_t i = 0; i < rec->nfields; i++) {
		char name[256];

		r->header[i] = rk_strndup(rec->field[i], rec->len[i]);
		r->ncols = i + 1;
		if (!r->header[i])
			return RK_ERR_NOMEM;
		snprintf(name, sizeof(name), "extra.%s", r->header[i]);
		if (!(r->extra[i] = rk_strdup(name)))
			return RK_ERR_NOMEM;
	}
	return RK_OK;
}

static long column_of(const struct ss_reader *r, const char *name)
{
	for (size_t i = 0; i < r->ncols; i++)
		if (strcmp(r->header[i], name) == 0)
			return (long)i;
	return -1;
}

static enum rk_err add_fields(struct ss_reader *r, json_t *list,
			      bool required)
{
	size_t i;
	json_t *item;

	json_array_foreach(list, i, item) {
		struct ss_field *f = &r->fields[r->nfields++];

		f->key = json_string_value(json_array_get(item, 0));
		f->column = json_string_value(json_array_get(item, 1));
		f->conv = CONV_NONE;
		if (json_array_size(item) > 2)
			(void)conv_lookup(json_string_value(
						  json_array_get(item, 2)),
					  &f->conv);
		f->required = required;
		if (strcmp(f->key, "extra.") == 0) {
			char name[256];

			snprintf(name, sizeof(name), "extra.%s", f->column);
			f->name = rk_strdup(name);
		} else {
			f->name = rk_strdup(f->key);
		}
		if (!f->name)
			return RK_ERR_NOMEM;
		f->name_len = strlen(f->name);
		f->name_checked = rk_utf8_valid(f->name, f->name_len);
		f->col = column_of(r, f->column);
		if (f->col >= 0)
			r->used[f->col] = true;
	}
	return RK_OK;
}

/* ------------------------------------------------------------ rows */

static enum rk_err enqueue(struct ss_reader *r, long long line, json_t *value,
			   int severity, const char *reason)
{
	return ingest_queue_push(&r->q, line, value, severity, reason);
}

static const char *cell(const struct rk_csv_record *rec, long col)
{
	if (col < 0 || (size_t)col >= rec->nfields)
		return "";
	return rec->field[col];
}

static bool parse_ll(const char *s, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(s, &end, 10);
	if (errno || end == s)
		return false;
	while (*end == ' ')
		end++;
	return *end == '\0';
}

/* "YYYY-MM-DD HH:MM:SS[.fff][zone]" as ISO 8601 in UTC: a time without
 * a zone is UTC. */
static json_t *utc_time(const char *s, char *why, size_t why_len)
{
	char out[64];
	size_t n = strlen(s);
	bool zone;

	if (n < 19 || n > 40 || !isdigit((unsigned char)s[0]) || s[4] != '-' ||
	    s[7] != '-' || (s[10] != ' ' && s[10] != 'T') || s[13] != ':') {
		snprintf(why, why_len, "'%.40s' is not a timestamp", s);
		return NULL;
	}
	zone = s[n - 1] == 'Z' ||
	       (n > 19 && (strchr(s + 19, '+') || strchr(s + 19, '-')));
	snprintf(out, sizeof(out), "%.10sT%s%s", s, s + 11,
		 zone ? "" : "+00:00");
	return json_string(out);
}

/* The CVE ids in a tag list ("cve-2021-26855;exchange"), upper case and
 * joined by ','; NULL when there are none. */
static json_t *cves(const char *tag)
{
	char out[1024];
	size_t o = 0;
	const char *p = tag;

	while (*p) {
		const char *e = p + strcspn(p, ";,");
		size_t n = (size_t)(e - p);

		if (n > 4 && n < 40 && strncasecmp(p, "cve-", 4) == 0 &&
		    o + n + 2 < sizeof(out)) {
			if (o)
				out[o++] = ',';
			for (size_t i = 0; i < n; i++)
				out[o++] = (char)toupper((unsigned char)p[i]);
		}
		p = *e ? e + 1 : e;
	}
	out[o] = '\0';
	return o ? json_string(out) : NULL;
}

static bool tag_has(const char *tag, const char *word)
{
	return strstr(tag, word) != NULL;
}

/* One value through the field's conversion: *out NULL = no value (the
 * field is left out), false with why = the row is bad. */
static bool convert(const struct ss_reader *r, const struct ss_field *f,
		    const struct rk_csv_record *rec, const char *v,
		    json_t **out, char *why, size_t why_len)
{
	long long n;

	*out = NULL;
	switch (f->conv) {
	case CONV_CAT_DETAIL:
		if (!*v)
			v = cell(rec, column_of(r, "detail"));
		break;
	default:
		break;
	}
	if (!*v && f->conv != CONV_EX_TAXONOMY && f->conv != CONV_EX_TYPE &&
	    f->conv != CONV_EX_IDENTIFIER)
		return true;
	switch (f->conv) {
	case CONV_INT:
	case CONV_ZERO:
		if (!parse_ll(v, &n)) {
			snprintf(why, why_len,
				 "column '%.64s': '%.40s' is not an integer",
				 f->column, v);
			return false;
		}
		if (f->conv == CONV_ZERO && n == 0)
			return true;
		*out = json_integer(n);
		break;
	case CONV_FLOAT: {
		char *end;
		double d;

		errno = 0;
		d = strtod(v, &end);
		if (errno || end == v || *end) {
			snprintf(why, why_len,
				 "column '%.64s': '%.40s' is not a number",
				 f->column, v);
			return false;
		}
		*out = json_real(d);
		break;
	}
	case CONV_BOOL:
		if (rk_str_ieq(v, "true") || rk_str_ieq(v, "y") ||
		    rk_str_ieq(v, "yes") || strcmp(v, "1") == 0)
			*out = json_true();
		else if (rk_str_ieq(v, "false") || rk_str_ieq(v, "n") ||
			 rk_str_ieq(v, "no") || strcmp(v, "0") == 0)
			*out = json_false();
		return true;
	case CONV_UTC:
	case CONV_DATE_UTC:
		*out = utc_time(v, why, why_len);
		if (!*out && f->conv == CONV_UTC)
			return false;
		if (!*out)
			*out = json_string(v);
		break;
	case CONV_CVE:
		*out = cves(v);
		return true;
	case CONV_HOST_URL: {
		const char *host = cell(rec, column_of(r, "http_host"));
		struct rk_buf url;

		if (strstr(v, "://")) {
			*out = json_string(v);
			break;
		}
		if (!*host)
			host = cell(rec, column_of(r, "hostname"));
		if (!*host)
			host = cell(rec, column_of(r, "ip"));
		if (!*host)
			return true;
		rk_buf_init(&url, RK_MAX_FIELD);
		if (rk_buf_addf(&url, "http://%s%s%s", host,
				v[0] == '/' ? "" : "/", v) == RK_OK)
			*out = json_string(url.data);
		rk_buf_release(&url);
		return true;
	}
	case CONV_EX_TAXONOMY:
	case CONV_EX_TYPE:
	case CONV_EX_IDENTIFIER: {
		bool compromised = tag_has(v, "backdoor") ||
				   tag_has(v, "compromised") ||
				   tag_has(v, "webshell");

		if (f->conv == CONV_EX_TAXONOMY)
			*out = json_string(compromised ? "intrusions"
						       : "vulnerable");
		else if (f->conv == CONV_EX_TYPE)
			*out = json_string(compromised ? "system-compromise"
						       : "vulnerable-system");
		else
			*out = json_string(compromised
						   ? "exchange-server-webshell"
						   : "vulnerable-exchange-server");
		break;
	}
	default:
		/* the CSV reader checked the cell is UTF-8 without NUL
		 * (check_text), as json_string would */
		*out = json_string_nocheck(v);
		break;
	}
	if (!*out) {
		if (!why[0])
			snprintf(why, why_len,
				 "column '%.64s': value is not valid UTF-8",
				 f->column);
		return false;
	}
	return true;
}

/* Where a row's fields go: its JSON object, or (the reader's flat) the
 * list of fields that object would hold, in its order. */
struct row_sink {
	json_t *obj;                    /* !flat: owned */
	struct ingest_flat_field *f;    /* flat: owned, with the values */
	size_t n, cap;
	bool subject;                   /* flat: a subject field is set */
};

static bool is_subject(const char *name)
{
	return strncmp(name, "source.", 7) == 0 &&
	       (strcmp(name + 7, "ip") == 0 || strcmp(name + 7, "fqdn") == 0 ||
		strcmp(name + 7, "url") == 0 || strcmp(name + 7, "asn") == 0);
}

/* json_object_set_new (check: the name's UTF-8 checked) or
 * json_object_setn_new_nocheck of the row: name (borrowed from the
 * reader or static, len bytes) takes value (taken, also on failure;
 * NULL fails).  0, or -1 as Jansson fails. */
static int sink_set(struct row_sink *s, const char *name, size_t len,
		    json_t *value, bool check)
{
	if (s->obj)
		return check ? json_object_set_new(s->obj, name, value)
			     : json_object_setn_new_nocheck(s->obj, name, len,
							    value);
	if (!value)
		return -1;
	if (check && !rk_utf8_valid(name, len)) {
		json_decref(value);
		return -1;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 32;
		struct ingest_flat_field *f = realloc(s->f, cap * sizeof(*f));

		if (!f) {
			json_decref(value);
			return -1;
		}
		s->f = f;
		s->cap = cap;
	}
	s->f[s->n].name = name;
	s->f[s->n].len = len;
	s->f[s->n].value = value;
	s->n++;
	if (is_subject(name))
		s->subject = true;
	return 0;
}

/* json_object_get of the row. */
static json_t *sink_get(const struct row_sink *s, const char *name)
{
	if (s->obj)
		return json_object_get(s->obj, name);
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->f[i].name, name) == 0)
			return s->f[i].value;
	return NULL;
}

static void sink_release(struct row_sink *s)
{
	json_decref(s->obj);
	for (size_t i = 0; i < s->n; i++)
		json_decref(s->f[i].value);
	free(s->f);
	memset(s, 0, sizeof(*s));
}

static int set_field(struct row_sink *s, const struct ss_field *f,
		     json_t *value)
{
	return sink_set(s, f->name, f->name_len, value, !f->name_checked);
}

/* Reports whose schema maps no column to source.ip, .fqdn, .url or .asn:
 * the column that names who is affected, as IntelMQ keeps it under
 * extra.  Without it such a row would reach nobody. */
static const struct {
	const char *type;
	const char *field; /* as stored: extra.<column> */
	bool email;        /* the domain of an address */
} subject_columns[] = {
	{"compromised_account", "extra.email", true},
	{"ransomware_victim", "extra.website", false},
	{"sandbox_dns", "extra.request", false},
};

/* A row without a subject of a report above: source.url (a URL) or
 * source.fqdn (the host of a website, the domain of a mail address, a
 * queried name) from its column; the normalizer validates it. */
static enum rk_err add_subject(const struct ss_reader *r,
			       struct row_sink *obj)
{
	static const char *const subjects[] = {"source.ip", "source.fqdn",
					       "source.url", "source.asn"};
	const char *v = NULL, *at, *end;
	json_t *value;

	if (obj->subject)
		return RK_OK;
	for (size_t i = 0; !obj->f && i < RK_ARRAY_LEN(subjects); i++)
		if (sink_get(obj, subjects[i]))
			return RK_OK;
	for (size_t i = 0; !v && i < RK_ARRAY_LEN(subject_columns); i++) {
		if (strcmp(r->type, subject_columns[i].type) != 0)
			continue;
		v = json_string_value(
			sink_get(obj, subject_columns[i].field));
		if (v && subject_columns[i].email) {
			at = strrchr(v, '@');
			v = at ? at + 1 : NULL;
		}
	}
	if (!v || !*v)
		return RK_OK;
	if (strstr(v, "://"))
		return sink_set(obj, "source.url", sizeof("source.url") - 1,
				json_string(v), true)
			       ? RK_ERR_NOMEM
			       : RK_OK;
	end = v + strcspn(v, "/:?# ");
	value = json_stringn(v, (size_t)(end - v));
	return !value || sink_set(obj, "source.fqdn",
				  sizeof("source.fqdn") - 1, value, true)
		       ? RK_ERR_NOMEM
		       : RK_OK;
}

static enum rk_err row_record(void *arg, struct rk_csv *csv,
			      const struct rk_csv_record *rec)
{
	struct ss_reader *r = arg;
	char why[INGEST_REASON] = "";
	struct row_sink sink, *obj = &sink;
	json_t *consts, *value;
	const char *key;
	int severity = r->default_sev;
	enum rk_err err = RK_OK;

	(void)csv;
	if (rec->index == 0 || rec->skipped)
		return RK_OK; /* the header; problems come by on_problem */
	if (rec->nfields == 1 && rec->len[0] == 0)
		return RK_OK; /* a blank line */
	if (rec->nfields != r->ncols) {
		snprintf(why, sizeof(why),
			 "row has %zu cells, the header %zu", rec->nfields,
			 r->ncols);
		return enqueue(r, rec->line, NULL, -1, why);
	}
	memset(&sink, 0, sizeof(sink));
	if (!r->flat && !(sink.obj = json_object()))
		return RK_ERR_NOMEM;
	consts = json_object_get(r->report, "constant_fields");
	json_object_foreach(consts, key, value)
		if (sink_set(obj, key, strlen(key), json_incref(value), true))
			goto nomem;
	if (sink_set(obj, "feed.name", sizeof("feed.name") - 1,
		     json_incref(r->feed_value), false))
		goto nomem;
	for (size_t i = 0; i < r->nfields; i++) {
		const struct ss_field *f = &r->fields[i];
		const char *v = cell(rec, f->col);

		if (f->required && !*v) {
			snprintf(why, sizeof(why),
				 "required column '%.64s' is empty", f->column);
			goto bad;
		}
		if (!convert(r, f, rec, v, &value, why, sizeof(why)))
			goto bad;
		if (value && set_field(obj, f, value))
			goto nomem;
	}
	for (size_t i = 0; i < r->ncols; i++) {
		const char *name = r->extra[i];

		if (r->used[i] || rec->len[i] == 0)
			continue;
		/* A column the schema does not know: kept, never a reason
		 * to reject the row. */
		value = json_stringn_nocheck(rec->field[i], rec->len[i]);
		if (!value) {
			snprintf(why, sizeof(why),
				 "column '%.64s': value is not valid UTF-8",
				 r->header[i]);
			goto bad;
		}
		if (sink_set(obj, name, strlen(name), value, true))
			goto nomem;
	}
	if ((err = add_subject(r, obj)))
		goto nomem;
	if (r->severity_col >= 0) {
		enum rk_severity sev;

		if (rk_severity_parse(cell(rec, r->severity_col), &sev) ==
		    RK_OK)
			severity = (int)sev;
	}
	if (sink.obj) {
		value = sink.obj;
		sink.obj = NULL;
		return enqueue(r, rec->line, value, severity, NULL);
	}
	err = ingest_queue_push_fields(&r->q, rec->line, sink.f, sink.n,
				       severity);
	sink.f = NULL;
	sink.n = 0;
	return err;
bad:
	sink_release(&sink);
	return enqueue(r, rec->line, NULL, -1, why);
nomem:
	sink_release(&sink);
	return err ? err : RK_ERR_NOMEM;
}

/* Whether every name a row can set is distinct (the constant fields,
 * feed.name, the schema's fields, the unknown columns; source.url and
 * source.fqdn only come when no subject is there): then a row's object
 * replaces no value and its fields can be queued as a list. */
static bool names_distinct(const struct ss_reader *r)
{
	const char **names;
	size_t n = 0, cap = r->nfields + r->ncols + 1;
	json_t *consts = json_object_get(r->report, "constant_fields"), *v;
	const char *key;
	bool distinct = true;

	cap += json_object_size(consts);
	if (!(names = calloc(cap, sizeof(*names))))
		return false;
	json_object_foreach(consts, key, v)
		names[n++] = key;
	names[n++] = "feed.name";
	for (size_t i = 0; i < r->nfields; i++)
		names[n++] = r->fields[i].name;
	for (size_t i = 0; i < r->ncols; i++)
		if (!r->used[i])
			names[n++] = r->extra[i];
	for (size_t i = 0; distinct && i < n; i++)
		for (size_t j = i + 1; distinct && j < n; j++)
			if (strcmp(names[i], names[j]) == 0)
				distinct = false;
	free(names);
	return distinct;
}

static enum rk_err row_problem(void *arg, long long line, const char *reason)
{
	return enqueue(arg, line, NULL, -1, reason);
}

/* ------------------------------------------------------------ format */

static int ss_detect(const char *name, const char *data, size_t len)
{
	char type[128];
	const char *p = ingest_skip_bom(data, &len);

	if (len > 0 && (*p == '{' || *p == '['))
		return 0;
	return name && type_from_name(name, type, sizeof(type)) ? 2 : 0;
}

static void ss_close(void *reader)
{
	struct ss_reader *r = reader;

	if (!r)
		return;
	ingest_queue_release(&r->q);
	for (size_t i = 0; i < r->ncols; i++) {
		free(r->header[i]);
		free(r->extra ? r->extra[i] : NULL);
	}
	free(r->header);
	free(r->extra);
	for (size_t i = 0; r->fields && i < r->nfields; i++)
		free(r->fields[i].name);
	free(r->used);
	free(r->fields);
	json_decref(r->feed_value);
	json_decref(r->schema);
	free(r);
}

static enum rk_err ss_open(const struct ingest_source *src, void **out,
			   char *reason, size_t reason_len)
{
	struct ss_reader *r;
	struct rk_buf b;
	struct rk_csv_opts o;
	struct header_grab h;
	const char *data = src->data, *line_end;
	size_t len = src->len, nreq, nopt;
	char type[128], *path = NULL;
	json_t *req, *opt;
	enum rk_err err;

	*out = NULL;
	data = ingest_skip_bom(data, &len);
	if (src->format_arg && *src->format_arg) {
		snprintf(type, sizeof(type), "%s", src->format_arg);
	} else if (!type_from_name(src->name, type, sizeof(type))) {
		snprintf(reason, reason_len,
			 "not a Shadowserver report: no report type in the "
			 "file name (YYYY-MM-DD-TYPE-....csv); give "
			 "--format shadowserver:TYPE");
		return RK_ERR_PARSE;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return RK_ERR_NOMEM;
	r->severity_col = -1;
	if ((err = ingest_shadowserver_schema_path(src->cfg, "intelmq.json",
						   &path)))
		goto fail;
	err = read_small_file(path, RK_MAX_SHADOWSERVER_SCHEMA, &b);
	if (err == RK_OK)
		r->schema = schema_parse(b.data ? b.data : "", b.len, reason,
					 reason_len);
	else
		snprintf(reason, reason_len,
			 "cannot read the Shadowserver schema '%s': %s", path,
			 err == RK_ERR_LIMIT ? "larger than "
					       "RK_MAX_SHADOWSERVER_SCHEMA"
					     : rk_strerror(err));
	rk_buf_release(&b);
	free(path);
	if (!r->schema) {
		err = RK_ERR_PARSE;
		goto fail;
	}
	r->report = find_report(r->schema, type);
	if (!r->report) {
		snprintf(reason, reason_len,
			 "unknown Shadowserver report type '%.100s'", type);
		err = RK_ERR_PARSE;
		goto fail;
	}
	r->type = json_string_value(json_object_get(r->report, "file_name"));
	r->feed = json_string_value(json_object_get(r->report, "feed_name"));
	r->feed_value = r->feed ? json_string(r->feed) : NULL;
	r->default_sev = default_severity(src->cfg, r->type);

	/* The header: the first line. */
	line_end = csvread_line_end(data, data + len);
	memset(&o, 0, sizeof(o));
	memset(&h, 0, sizeof(h));
	h.r = r;
	o.on_record = header_record;
	o.arg = &h;
	o.check_text = true;
	ingest_csv_limits(src->cfg, &o);
	o.fields.max = RK_MAX_SHADOWSERVER_COLUMNS;
	o.fields.name = "RK_MAX_SHADOWSERVER_COLUMNS";
	if ((err = rk_csv_read(&o, data, (size_t)(line_end - data))))
		goto fail;
	if (!h.got || r->ncols == 0) {
		snprintf(reason, reason_len,
			 "not a Shadowserver report: no header line");
		err = RK_ERR_PARSE;
		goto fail;
	}
	req = json_object_get(r->report, "required_fields");
	opt = json_object_get(r->report, "optional_fields");
	nreq = json_array_size(req);
	nopt = json_array_size(opt);
	r->fields = calloc(nreq + nopt + 1, sizeof(*r->fields));
	if (!r->fields) {
		err = RK_ERR_NOMEM;
		goto fail;
	}
	if ((err = add_fields(r, req, true)) ||
	    (err = add_fields(r, opt, false)))
		goto fail;
	for (size_t i = 0; i < nreq; i++) {
		if (r->fields[i].col < 0) {
			snprintf(reason, reason_len,
				 "Shadowserver report '%s': required column "
				 "'%.64s' is missing",
				 r->type, r->fields[i].column);
			err = RK_ERR_PARSE;
			goto fail;
		}
	}
	r->severity_col = column_of(r, "severity");
	r->flat = names_distinct(r);
	r->q.cfg = src->cfg;

	memset(&o, 0, sizeof(o));
	o.on_record = row_record;
	o.on_problem = row_problem;
	o.arg = r;
	o.check_text = true;
	ingest_csv_limits(src->cfg, &o);
	o.fields.max = RK_MAX_SHADOWSERVER_COLUMNS;
	o.fields.name = "RK_MAX_SHADOWSERVER_COLUMNS";
	if ((err = rk_csv_new(&r->q.csv, &o)))
		goto fail;
	r->q.data = r->q.p = data;
	r->q.end = data + len;
	*out = r;
	return RK_OK;
fail:
	ss_close(r);
	return err;
}

static enum rk_err ss_next(void *reader, struct ingest_record *rec)
{
	struct ss_reader *r = reader;

	rec->what = "row";
	return ingest_queue_next(&r->q, rec);
}

const struct ingest_format_ops ingest_format_shadowserver = {
	.name = "shadowserver",
	.id = INGEST_FORMAT_SHADOWSERVER,
	.label = "a Shadowserver CSV report",
	.detect = ss_detect,
	.open = ss_open,
	.next = ss_next,
	.close = ss_close,
};
