/*
 * Generic CSV with a mapping file (--format csv:MAPPING, or [ingest]
 * csv_mappings with --format auto): the mapping names the delimiter, the
 * quote, whether there is a header, the lines to skip, the time format
 * and which column goes to which event field, plus constant fields.
 * Each row becomes one record; the rows go through the shared CSV reader
 * (relay/core/csvread.c) and the shared normalizer.  The syntax is in
 * docs/ingest.md ("Input format: generic CSV").
 *
 * A mapping that cannot be used fails the file, naming the mapping's
 * file and line; a bad row is rejected with its line and reason.
 */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "private.h"
#include "renraku/csvread.h"

/* Lines of a mapping, and keys in one. */
#define CM_MAX_KEYS 1024
#define CM_MAX_MATCH 32

enum cm_time { TIME_ISO, TIME_EPOCH, TIME_EPOCH_MS, TIME_PATTERN };

/* column.NAME = FIELD */
struct cm_column {
	char *name;     /* header name (header = yes), owned */
	long index;     /* 0-based position (header = no), else -1 */
	char *field;    /* owned; NULL = the column is ignored */
	long col;       /* where it is in this file, -1 = absent */
	long long line; /* of the mapping, for messages */
};

/* constant.FIELD = VALUE */
struct cm_const {
	char *field, *value; /* owned */
};

struct cm_map {
	char *path;          /* owned, for messages */
	char delim, quote;
	bool header;
	long long skip_lines;
	enum cm_time time;
	char *time_pattern;  /* owned, TIME_PATTERN */
	int tz_min;          /* offset of times without one, minutes east */
	bool keep_unmapped;  /* unmapped = extra (the default) */
	char *match[CM_MAX_MATCH]; /* owned */
	size_t nmatch;
	struct cm_column *cols; /* owned */
	size_t ncols;
	struct cm_const *consts; /* owned */
	size_t nconsts;
};

struct cm_reader {
	struct cm_map map;
	char **header;       /* owned, nheader (header = yes) */
	size_t nheader;
	bool *mapped;        /* owned, nheader */
	bool got_header;
	enum rk_err header_err; /* RK_ERR_PARSE: header_why says why */
	char header_why[INGEST_REASON];
	struct ingest_queue q;
};

/* ------------------------------------------------------------ mapping */

static void map_release(struct cm_map *m)
{
	free(m->path);
	free(m->time_pattern);
	for (size_t i = 0; i < m->nmatch; i++)
		free(m->match[i]);
	for (size_t i = 0; i < m->ncols; i++) {
		free(m->cols[i].name);
		free(m->cols[i].field);
	}
	free(m->cols);
	for (size_t i = 0; i < m->nconsts; i++) {
		free(m->consts[i].field);
		free(m->consts[i].value);
	}
	free(m->consts);
	memset(m, 0, sizeof(*m));
}

/* An event field name as a mapping gives it: IntelMQ style. */
static bool field_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n < 128 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n &&
	       s[0] != '.' && s[n - 1] != '.';
}

/* The value of a line: trimmed; "..." unquoted with \t, \\ and \"
 * escapes.  Written over v; false when a quote is not closed. */
static bool unquote(char *v)
{
	size_t n = strlen(v), o = 0;

	if (n < 1 || v[0] != '"')
		return true;
	if (n < 2 || v[n - 1] != '"')
		return false;
	for (size_t i = 1; i < n - 1; i++) {
		char c = v[i];

		if (c == '\\' && i + 1 < n - 1) {
			c = v[++i];
			if (c == 't')
				c = '\t';
		}
		v[o++] = c;
	}
	v[o] = '\0';
	return true;
}

/* delimiter / quote: one character, or its name. */
static bool char_value(const char *v, char *out)
{
	static const struct {
		const char *name;
		char c;
	} names[] = {{"comma", ','}, {"semicolon", ';'}, {"tab", '\t'},
		     {"pipe", '|'},  {"space", ' '},     {"colon", ':'}};

	for (size_t i = 0; i < RK_ARRAY_LEN(names); i++) {
		if (rk_str_ieq(v, names[i].name)) {
			*out = names[i].c;
			return true;
		}
	}
	if (strlen(v) != 1 || v[0] == '\r' || v[0] == '\n' ||
	    (unsigned char)v[0] >= 0x80)
		return false;
	*out = v[0];
	return true;
}

/* "UTC", "Z", "+09:00", "-0500" into minutes east of UTC. */
static bool tz_value(const char *v, int *out)
{
	int h, m;
	size_t n = strlen(v);

	if (rk_str_ieq(v, "UTC") || rk_str_ieq(v, "Z") || rk_str_ieq(v, "GMT")) {
		*out = 0;
		return true;
	}
	if ((n != 6 && n != 5) || (v[0] != '+' && v[0] != '-'))
		return false;
	if (n == 6 && v[3] != ':')
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(n == 6 && i == 3) && (v[i] < '0' || v[i] > '9'))
			return false;
	h = (v[1] - '0') * 10 + (v[2] - '0');
	m = (v[n - 2] - '0') * 10 + (v[n - 1] - '0');
	if (h > 23 || m > 59)
		return false;
	*out = (v[0] == '-' ? -1 : 1) * (h * 60 + m);
	return true;
}

static bool pattern_ok(const char *p)
{
	bool has_year = false;

	for (; *p; p++) {
		if (*p != '%')
			continue;
		p++;
		if (!*p || !strchr("YmdHMSbzfT%", *p))
			return false;
		has_year |= *p == 'Y';
	}
	return has_year;
}

static enum rk_err map_fail(const char *path, long long line, char *reason,
			    size_t reason_len, const char *fmt, ...)
	RK_PRINTF(5, 6);

static enum rk_err map_fail(const char *path, long long line, char *reason,
			    size_t reason_len, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(reason, reason_len, "csv mapping %s:%lld: %s", path,
			 line, why);
	else
		snprintf(reason, reason_len, "csv mapping %s: %s", path, why);
	return RK_ERR_PARSE;
}

#define FAIL(...) map_fail(m->path, line, reason, reason_len, __VA_ARGS__)

/* One `key = value` of the mapping. */
static enum rk_err map_key(struct cm_map *m, long long line, const char *key,
			   char *v, char *reason, size_t reason_len)
{
	long long n;
	bool b;

	if (strcmp(key, "delimiter") == 0) {
		if (!char_value(v, &m->delim) || m->delim == '"')
			return FAIL("delimiter: '%.32s' is not one character "
				    "(or comma, semicolon, tab, pipe, space, "
				    "colon)", v);
	} else if (strcmp(key, "quote") == 0) {
		if (!char_value(v, &m->quote))
			return FAIL("quote: '%.32s' is not one character", v);
	} else if (strcmp(key, "header") == 0) {
		if (rk_parse_bool(v, &b))
			return FAIL("header: '%.32s' is not yes or no", v);
		m->header = b;
	} else if (strcmp(key, "skip_lines") == 0) {
		if (rk_parse_long(v, 0, 1000000, &n))
			return FAIL("skip_lines: '%.32s' is not a number from "
				    "0 to 1000000", v);
		m->skip_lines = n;
	} else if (strcmp(key, "time_format") == 0) {
		free(m->time_pattern);
		m->time_pattern = NULL;
		if (strcmp(v, "iso8601") == 0) {
			m->time = TIME_ISO;
		} else if (strcmp(v, "epoch") == 0) {
			m->time = TIME_EPOCH;
		} else if (strcmp(v, "epoch_ms") == 0) {
			m->time = TIME_EPOCH_MS;
		} else if (pattern_ok(v)) {
			m->time = TIME_PATTERN;
			if (!(m->time_pattern = rk_strdup(v)))
				return RK_ERR_NOMEM;
		} else {
			return FAIL("time_format: '%.64s' is not iso8601, "
				    "epoch, epoch_ms or a pattern with %%Y and "
				    "only %%Y %%m %%d %%H %%M %%S %%T %%b %%z "
				    "%%f %%%%", v);
		}
	} else if (strcmp(key, "timezone") == 0) {
		if (!tz_value(v, &m->tz_min))
			return FAIL("timezone: '%.32s' is not UTC or an offset "
				    "like +09:00", v);
	} else if (strcmp(key, "unmapped") == 0) {
		if (strcmp(v, "extra") != 0 && strcmp(v, "ignore") != 0)
			return FAIL("unmapped: '%.32s' is not extra or ignore",
				    v);
		m->keep_unmapped = strcmp(v, "extra") == 0;
	} else if (strcmp(key, "match") == 0) {
		const char *p = v, *item;
		size_t len;

		while (rk_list_next(&p, &item, &len)) {
			if (!len)
				continue;
			if (m->nmatch >= CM_MAX_MATCH)
				return FAIL("match: more than %d patterns",
					    CM_MAX_MATCH);
			if (!(m->match[m->nmatch] = rk_strndup(item, len)))
				return RK_ERR_NOMEM;
			m->nmatch++;
		}
	} else if (strncmp(key, "column.", 7) == 0 && key[7]) {
		struct cm_column *c;
		void *grown = m->cols;
		enum rk_err err;
		bool ignore = strcmp(v, "ignore") == 0 || strcmp(v, "-") == 0;

		if (!ignore && !field_name_ok(v))
			return FAIL("%s: '%.64s' is not an event field name "
				    "(like source.ip, time.source, extra.x) or "
				    "ignore", key, v);
		for (size_t i = 0; i < m->ncols; i++)
			if (strcmp(m->cols[i].name, key + 7) == 0)
				return FAIL("%s is given twice", key);
		if ((err = rk_array_room(&grown, m->ncols, sizeof(*m->cols))))
			return err;
		m->cols = grown;
		c = &m->cols[m->ncols];
		memset(c, 0, sizeof(*c));
		c->index = -1;
		c->col = -1;
		c->line = line;
		c->name = rk_strdup(key + 7);
		c->field = ignore ? NULL : rk_strdup(v);
		m->ncols++;
		if (!c->name || (!ignore && !c->field))
			return RK_ERR_NOMEM;
	} else if (strncmp(key, "constant.", 9) == 0 && key[9]) {
		struct cm_const *c;
		void *grown = m->consts;
		enum rk_err err;

		if (!field_name_ok(key + 9))
			return FAIL("%s: '%.64s' is not an event field name",
				    key, key + 9);
		if ((err = rk_array_room(&grown, m->nconsts,
					 sizeof(*m->consts))))
			return err;
		m->consts = grown;
		c = &m->consts[m->nconsts];
		c->field = rk_strdup(key + 9);
		c->value = rk_strdup(v);
		m->nconsts++;
		if (!c->field || !c->value)
			return RK_ERR_NOMEM;
	} else {
		return FAIL("unknown key '%.64s' (delimiter, quote, header, "
			    "skip_lines, time_format, timezone, unmapped, "
			    "match, column.NAME, constant.FIELD)", key);
	}
	return RK_OK;
}

static bool map_gives(const struct cm_map *m, const char *field)
{
	for (size_t i = 0; i < m->ncols; i++)
		if (m->cols[i].field && strcmp(m->cols[i].field, field) == 0)
			return true;
	for (size_t i = 0; i < m->nconsts; i++)
		if (strcmp(m->consts[i].field, field) == 0)
			return true;
	return false;
}

/* Read the mapping at path into *m (released by the caller, also on
 * failure).  RK_ERR_PARSE with the reason naming the file and line. */
static enum rk_err map_load(struct cm_map *m, const char *path, char *reason,
			    size_t reason_len)
{
	struct rk_buf text;
	char *p, *end;
	long long line = 0;
	size_t keys = 0;
	enum rk_err err;

	memset(m, 0, sizeof(*m));
	m->delim = ',';
	m->quote = '"';
	m->header = true;
	m->keep_unmapped = true;
	if (!(m->path = rk_strdup(path)))
		return RK_ERR_NOMEM;
	rk_buf_init(&text, RK_MAX_CSVMAP_FILE);
	err = rk_buf_read_file(&text, path);
	if (err) {
		rk_buf_release(&text);
		return FAIL("cannot read: %s",
			    err == RK_ERR_LIMIT
				    ? "larger than RK_MAX_CSVMAP_FILE (65536 "
				      "bytes)"
				    : err == RK_ERR_NOTFOUND ? "no such file"
							     : rk_strerror(err));
	}
	if (memchr(text.data, '\0', text.len) ||
	    !rk_utf8_valid(text.data, text.len)) {
		rk_buf_release(&text);
		return FAIL("not UTF-8 text");
	}
	p = text.data;
	end = text.data + text.len;
	while (!err && p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p)), *eq, *key, *v;

		line++;
		if (nl)
			*nl = '\0';
		key = rk_str_trim(p);
		p = nl ? nl + 1 : end;
		if (!*key || *key == '#' || *key == ';')
			continue;
		if (++keys > CM_MAX_KEYS) {
			err = FAIL("more than %d keys", CM_MAX_KEYS);
			break;
		}
		eq = strchr(key, '=');
		if (!eq) {
			err = FAIL("'%.64s' is not key = value", key);
			break;
		}
		*eq = '\0';
		v = rk_str_trim(eq + 1);
		rk_str_trim(key);
		if (!unquote(v)) {
			err = FAIL("%s: the quote is not closed", key);
			break;
		}
		err = map_key(m, line, key, v, reason, reason_len);
	}
	rk_buf_release(&text);
	if (err)
		return err;
	line = 0;
	if (m->quote == m->delim)
		return FAIL("quote and delimiter are the same character");
	if (!map_gives(m, "time.source"))
		return FAIL("no column or constant gives time.source "
			    "(column.NAME = time.source)");
	if (!map_gives(m, "classification.type"))
		return FAIL("no column or constant gives classification.type "
			    "(constant.classification.type = ...)");
	for (size_t i = 0; i < m->ncols; i++) {
		struct cm_column *c = &m->cols[i];
		long long idx;

		if (m->header)
			continue;
		if (rk_parse_long(c->name, 1, RK_MAX_CSVMAP_COLUMNS, &idx)) {
			line = c->line;
			return FAIL("column.%.64s: with header = no a column "
				    "is named by its position, 1 to %d",
				    c->name, RK_MAX_CSVMAP_COLUMNS);
		}
		c->index = (long)idx - 1;
		c->col = c->index;
	}
	return RK_OK;
}

#undef FAIL

/* ------------------------------------------------------------ spool */

static bool map_matches(const struct cm_map *m, const char *file)
{
	const char *base = strrchr(file, '/');

	base = base ? base + 1 : file;
	for (size_t i = 0; i < m->nmatch; i++)
		if (fnmatch(m->match[i], base, 0) == 0)
			return true;
	return false;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

enum rk_err ingest_csvmap_find(const struct rk_config *cfg, const char *file,
			       char **path, char *reason, size_t reason_len)
{
	char *dir = NULL, *names[RK_MAX_CSVMAP_FILES];
	size_t n = 0;
	DIR *d;
	struct dirent *de;
	enum rk_err err = RK_OK;

	*path = NULL;
	if (!cfg || !cfg->ingest.csv_mappings || !file || strcmp(file, "-") == 0)
		return RK_OK;
	if ((err = rk_config_path(cfg, cfg->ingest.csv_mappings, &dir)))
		return err;
	d = opendir(dir);
	if (!d) {
		snprintf(reason, reason_len,
			 "[ingest] csv_mappings: cannot read '%s': %s", dir,
			 strerror(errno));
		free(dir);
		return RK_ERR_CONFIG;
	}
	while ((de = readdir(d)) && n < RK_MAX_CSVMAP_FILES) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' || len < 5 ||
		    strcmp(de->d_name + len - 4, ".map") != 0)
			continue;
		if (!(names[n] = rk_strdup(de->d_name))) {
			err = RK_ERR_NOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	/* In name order: the first mapping that takes the file wins. */
	qsort(names, n, sizeof(names[0]), cmp_names);
	for (size_t i = 0; !err && !*path && i < n; i++) {
		struct cm_map m;
		char *mp = NULL;
		char why[INGEST_REASON];

		if ((err = rk_path_join(dir, names[i], &mp)))
			break;
		err = map_load(&m, mp, why, sizeof(why));
		/* A broken mapping fails only the files its match takes:
		 * its open() says why. */
		if (err == RK_ERR_PARSE)
			err = RK_OK;
		if (!err && map_matches(&m, file)) {
			*path = mp;
			mp = NULL;
		}
		free(mp);
		map_release(&m);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(dir);
	if (err) {
		free(*path);
		*path = NULL;
	}
	return err;
}

/* ------------------------------------------------------------ time */

static bool take_digits(const char **p, int min, int max, int *out)
{
	int v = 0, n = 0;

	while (n < max && **p >= '0' && **p <= '9') {
		v = v * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	*out = v;
	return n >= min;
}

/* s read with the mapping's pattern into Unix seconds. */
static bool time_pattern(const struct cm_map *m, const char *s, int64_t *out)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	int y = -1, mo = 1, d = 1, h = 0, mi = 0, sec = 0, tz = m->tz_min, v;
	const char *p = s;

	for (const char *f = m->time_pattern; *f; f++) {
		if (*f != '%') {
			if (*f == ' ') {
				while (*p == ' ')
					p++;
				continue;
			}
			if (*p++ != *f)
				return false;
			continue;
		}
		{
			/* the numeric fields: where, and how many digits */
			const char *fields = "YmdHMSf";
			int *const slots[] = {&y, &mo, &d, &h, &mi, &sec, &v};
			const char *at = *++f ? strchr(fields, *f) : NULL;

			if (at) {
				size_t i = (size_t)(at - fields);

				if (!take_digits(&p, i == 0 ? 4 : 1,
						 i == 0 ? 4 : i == 6 ? 9 : 2,
						 slots[i]))
					return false;
				continue;
			}
		}
		switch (*f) {
		case 'T':
			if (!take_digits(&p, 1, 2, &h) || *p++ != ':' ||
			    !take_digits(&p, 1, 2, &mi) || *p++ != ':' ||
			    !take_digits(&p, 1, 2, &sec))
				return false;
			break;
		case 'b': {
			char mon[4] = {0};
			const char *at;

			for (int i = 0; i < 3; i++) {
				if (!p[i])
					return false;
				mon[i] = (char)(p[i] | 0x20);
			}
			at = strstr(months, mon);
			if (!at || (at - months) % 3)
				return false;
			mo = (int)(at - months) / 3 + 1;
			p += 3;
			break;
		}
		case 'z':
			if (*p == 'Z' || *p == 'z') {
				tz = 0;
				p++;
			} else {
				char zone[7] = {0};
				size_t n = strspn(p, "+-0123456789:");

				if (n > 6 || n < 5)
					return false;
				memcpy(zone, p, n);
				if (!tz_value(zone, &tz))
					return false;
				p += n;
			}
			break;
		default: /* %% */
			if (*p++ != '%')
				return false;
		}
	}
	return !*p && rk_time_from_civil(y, mo, d, h, mi, sec, tz, out) == RK_OK;
}

/* A cell of a time field into ISO 8601 UTC text. */
static bool convert_time(const struct cm_map *m, const char *s,
			 char iso[RK_TIME_TEXT])
{
	int64_t t;
	long long n;
	const char *p;
	bool has_zone;

	switch (m->time) {
	case TIME_EPOCH:
	case TIME_EPOCH_MS:
		if (rk_parse_long(s, 0, 253402300799999LL, &n))
			return false;
		t = m->time == TIME_EPOCH_MS ? n / 1000 : n;
		if (t > 253402300799LL)
			return false;
		break;
	case TIME_PATTERN:
		if (!time_pattern(m, s, &t))
			return false;
		break;
	default:
		if (rk_time_parse(s, &t))
			return false;
		/* A time without a zone is in the mapping's timezone. */
		p = strlen(s) > 10 ? s + 10 : s + strlen(s);
		has_zone = strpbrk(p, "Zz+") || strchr(p, '-');
		if (!has_zone)
			t -= (int64_t)m->tz_min * 60;
		if (t < 0)
			return false;
	}
	rk_time_format_iso(t, iso);
	return true;
}

/* ------------------------------------------------------------ rows */

static const char *cell_of(const struct rk_csv_record *rec, long col)
{
	if (col < 0 || (size_t)col >= rec->nfields)
		return "";
	return rec->field[col];
}

static bool is_time_field(const char *field)
{
	return strcmp(field, "time.source") == 0 ||
	       strcmp(field, "time.observation") == 0;
}

static enum rk_err header_row(struct cm_reader *r,
			      const struct rk_csv_record *rec, char *why,
			      size_t why_len)
{
	r->header = calloc(rec->nfields ? rec->nfields : 1, sizeof(char *));
	r->mapped = calloc(rec->nfields ? rec->nfields : 1, sizeof(bool));
	if (!r->header || !r->mapped)
		return RK_ERR_NOMEM;
	for (size_t i = 0; i < rec->nfields; i++) {
		if (!(r->header[i] = rk_strndup(rec->field[i], rec->len[i])))
			return RK_ERR_NOMEM;
		r->nheader = i + 1;
	}
	for (size_t i = 0; i < r->map.ncols; i++) {
		struct cm_column *c = &r->map.cols[i];

		for (size_t k = 0; k < r->nheader && c->col < 0; k++)
			if (strcmp(r->header[k], c->name) == 0)
				c->col = (long)k;
		if (c->col < 0 && c->field) {
			snprintf(why, why_len,
				 "the header has no column '%.64s' (column.%.64s "
				 "of %.128s)",
				 c->name, c->name, r->map.path);
			return RK_ERR_PARSE;
		}
		if (c->col >= 0)
			r->mapped[c->col] = true;
	}
	return RK_OK;
}

/* extra.<column> for an unmapped column: lower case, every character
 * but letters, digits, '_' and '-' as '_' ("Hit Count" is
 * extra.hit_count). */
static void extra_name(const char *column, char *out, size_t len)
{
	size_t o = (size_t)snprintf(out, len, "extra.");

	for (const char *p = column; *p && o + 1 < len; p++) {
		char c = *p;

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			   c == '-'))
			c = '_';
		out[o++] = c;
	}
	out[o] = '\0';
}

static enum rk_err data_row(struct cm_reader *r,
			    const struct rk_csv_record *rec)
{
	const struct cm_map *m = &r->map;
	json_t *obj = json_object(), *value;
	char iso[RK_TIME_TEXT];
	int severity = -1;

	if (!obj)
		return RK_ERR_NOMEM;
	if (m->header && rec->nfields != r->nheader) {
		json_decref(obj);
		return ingest_queue_reject(&r->q, rec->line,
					   "row has %zu cells, the header %zu",
					   rec->nfields, r->nheader);
	}
	for (size_t i = 0; i < m->nconsts; i++)
		if (json_object_set_new(obj, m->consts[i].field,
					json_string(m->consts[i].value)))
			goto nomem;
	for (size_t i = 0; i < m->ncols; i++) {
		const struct cm_column *c = &m->cols[i];
		const char *v = cell_of(rec, c->col);

		if (!c->field || !*v)
			continue; /* an empty cell is no value */
		if (is_time_field(c->field)) {
			if (!convert_time(m, v, iso)) {
				json_decref(obj);
				return ingest_queue_reject(
					&r->q, rec->line,
					"column '%.64s': '%.64s' is not a time "
					"as time_format %.64s",
					c->name, v,
					m->time_pattern ? m->time_pattern
					: m->time == TIME_ISO ? "iso8601"
					: m->time == TIME_EPOCH ? "epoch"
								: "epoch_ms");
			}
			v = iso;
		}
		if (strcmp(c->field, "severity") == 0) {
			enum rk_severity sev;

			if (rk_severity_parse(v, &sev) == RK_OK)
				severity = (int)sev;
		}
		if (json_object_get(obj, c->field)) {
			json_decref(obj);
			return ingest_queue_reject(
				&r->q, rec->line,
				"column '%.64s': %.64s is given twice", c->name,
				c->field);
		}
		if (json_object_set_new(obj, c->field, json_string(v)))
			goto nomem;
	}
	for (size_t i = 0; m->header && m->keep_unmapped && i < r->nheader;
	     i++) {
		char name[300];

		if (r->mapped[i] || rec->len[i] == 0 || !r->header[i][0])
			continue;
		extra_name(r->header[i], name, sizeof(name));
		value = json_stringn(rec->field[i], rec->len[i]);
		if (!value || json_object_set_new(obj, name, value))
			goto nomem;
	}
	for (size_t i = 0; i < m->nconsts; i++) {
		enum rk_severity sev;

		if (severity < 0 && strcmp(m->consts[i].field, "severity") == 0 &&
		    rk_severity_parse(m->consts[i].value, &sev) == RK_OK)
			severity = (int)sev;
	}
	return ingest_queue_push(&r->q, rec->line, obj, severity, NULL);
nomem:
	json_decref(obj);
	return RK_ERR_NOMEM;
}

static enum rk_err on_header(void *arg, struct rk_csv *csv,
			     const struct rk_csv_record *rec)
{
	struct cm_reader *r = arg;

	(void)csv;
	if (r->got_header || rec->skipped)
		return RK_OK;
	r->got_header = true;
	r->header_err = header_row(r, rec, r->header_why,
				   sizeof(r->header_why));
	return r->header_err == RK_ERR_PARSE ? RK_OK : r->header_err;
}

static enum rk_err on_row(void *arg, struct rk_csv *csv,
			  const struct rk_csv_record *rec)
{
	(void)csv;
	if (rec->skipped)
		return RK_OK; /* reported by on_problem */
	if (rec->nfields == 1 && rec->len[0] == 0)
		return RK_OK; /* a blank line */
	return data_row(arg, rec);
}

static enum rk_err on_problem(void *arg, long long line, const char *reason)
{
	struct cm_reader *r = arg;

	return ingest_queue_push(&r->q, line, NULL, -1, reason);
}

/* ------------------------------------------------------------ format */

static int cm_detect(const char *name, const char *data, size_t len)
{
	/* Never by content: a CSV of one tool cannot be told from another's
	 * safely.  Only --format csv:MAPPING or a mapping's match. */
	(void)name;
	(void)data;
	(void)len;
	return 0;
}

static void cm_close(void *reader)
{
	struct cm_reader *r = reader;

	if (!r)
		return;
	ingest_queue_release(&r->q);
	for (size_t i = 0; i < r->nheader; i++)
		free(r->header[i]);
	free(r->header);
	free(r->mapped);
	map_release(&r->map);
	free(r);
}

static enum rk_err cm_open(const struct ingest_source *src, void **out,
			   char *reason, size_t reason_len)
{
	struct cm_reader *r;
	struct rk_csv_opts o;
	const char *data = src->data, *end;
	size_t len = src->len;
	enum rk_err err;

	*out = NULL;
	if (!src->format_arg || !*src->format_arg) {
		snprintf(reason, reason_len,
			 "generic CSV needs a mapping: --format csv:MAPPING "
			 "(or [ingest] csv_mappings)");
		return RK_ERR_PARSE;
	}
	if (!(r = calloc(1, sizeof(*r))))
		return RK_ERR_NOMEM;
	if ((err = map_load(&r->map, src->format_arg, reason, reason_len)))
		goto fail;
	data = ingest_skip_bom(data, &len);
	end = data + len;
	for (long long i = 0; i < r->map.skip_lines && data < end; i++) {
		data = csvread_line_end(data, end);
		r->q.line_offset++;
	}
	memset(&o, 0, sizeof(o));
	o.delim = r->map.delim;
	o.quote = r->map.quote;
	o.check_text = true;
	ingest_csv_limits(src->cfg, &o);
	o.fields.max = RK_MAX_CSVMAP_COLUMNS;
	o.fields.name = "RK_MAX_CSVMAP_COLUMNS";
	o.arg = r;
	if (r->map.header) {
		/* The header: the first line after the skipped ones. */
		const char *line_end = csvread_line_end(data, end);

		o.on_record = on_header;
		if ((err = rk_csv_read(&o, data, (size_t)(line_end - data))))
			goto fail;
		if (!r->got_header) {
			snprintf(reason, reason_len,
				 "not generic CSV: no header line (the mapping "
				 "%s says header = yes)",
				 r->map.path);
			err = RK_ERR_PARSE;
			goto fail;
		}
		if (r->header_err) {
			snprintf(reason, reason_len, "%s", r->header_why);
			err = RK_ERR_PARSE;
			goto fail;
		}
		data = line_end;
		r->q.line_offset++;
	}
	o.on_record = on_row;
	o.on_problem = on_problem;
	if ((err = rk_csv_new(&r->q.csv, &o)))
		goto fail;
	r->q.data = r->q.p = data;
	r->q.end = end;
	*out = r;
	return RK_OK;
fail:
	cm_close(r);
	return err;
}

static enum rk_err cm_next(void *reader, struct ingest_record *rec)
{
	struct cm_reader *r = reader;

	rec->what = "row";
	return ingest_queue_next(&r->q, rec);
}

const struct ingest_format_ops ingest_format_csvmap = {
	.name = "csv",
	.id = INGEST_FORMAT_CSV,
	.label = "generic CSV",
	.detect = cm_detect,
	.open = cm_open,
	.next = cm_next,
	.close = cm_close,
};
