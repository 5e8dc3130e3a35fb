/*
 * Events as CSV for the recipient: RFC 4180 (fields with a comma, quote,
 * CR or LF are quoted, quotes doubled; CRLF after every record), UTF-8, a
 * header row.  Values come from the event's data (flat IntelMQ keys),
 * with the struct fields as a fallback.
 *
 * Spreadsheets run a cell starting with = + - @ TAB or CR as a formula
 * (CSV injection); such cells get a leading ' so they stay text.  That
 * includes negative numbers ("-5" becomes "'-5"): safe beats pretty.
 *
 * Control characters inside a value (CR, LF, ...) become spaces: event
 * fields are single-line by nature, and a multi-line cell in a notice
 * body (inline CSV) would let a report forge lines of our text.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "renraku/notify.h"

enum csv_fallback {
	CSV_NONE,
	CSV_TIME,
	CSV_IP,
	CSV_ASN,
	CSV_FQDN,
	CSV_URL,
	CSV_CC,
	CSV_TYPE,
	CSV_IDENTIFIER,
	CSV_FEED
};

static const struct {
	const char *header;     /* column name */
	enum notify_field key;  /* its IntelMQ key in the event data */
	enum csv_fallback fallback;
} csv_columns[] = {
	{"time_source", NOTIFY_F_TIME_SOURCE, CSV_TIME},
	{"source.ip", NOTIFY_F_SOURCE_IP, CSV_IP},
	{"source.port", NOTIFY_F_SOURCE_PORT, CSV_NONE},
	{"source.asn", NOTIFY_F_SOURCE_ASN, CSV_ASN},
	{"source.fqdn", NOTIFY_F_SOURCE_FQDN, CSV_FQDN},
	{"source.url", NOTIFY_F_SOURCE_URL, CSV_URL},
	{"source.geolocation.cc", NOTIFY_F_SOURCE_CC, CSV_CC},
	{"classification.type", NOTIFY_F_TYPE, CSV_TYPE},
	{"classification.identifier", NOTIFY_F_IDENTIFIER, CSV_IDENTIFIER},
	{"malware.name", NOTIFY_F_MALWARE, CSV_NONE},
	{"protocol.transport", NOTIFY_F_PROTO_TRANSPORT, CSV_NONE},
	{"protocol.application", NOTIFY_F_PROTO_APPLICATION, CSV_NONE},
	{"destination.ip", NOTIFY_F_DEST_IP, CSV_NONE},
	{"destination.port", NOTIFY_F_DEST_PORT, CSV_NONE},
	{"feed.name", NOTIFY_F_FEED, CSV_FEED},
};

/* One cell: formula prefix, control characters as spaces, then quoting
 * as RFC 4180 asks.  Bytes that are not UTF-8 become '?' (the data is
 * UTF-8 by construction; this only keeps a broken value from breaking the
 * file). */
static enum rk_err add_cell_slow(struct rk_buf *out, const char *raw,
				 size_t n)
{
	bool quote = false, formula;
	bool valid = rk_utf8_valid(raw, n);
	enum rk_err err = RK_OK;
	char *v = rk_strndup(raw, n);

	if (!v)
		return RK_ERR_NOMEM;
	/* C1 controls, line separators and bidi overrides too, as in the
	 * body (a NUL inside the value ends it here: never part of a cell) */
	if (valid)
		rk_str_clean_line(v);
	n = strlen(v);

	formula = n > 0 && memchr("=+-@\t\r", raw[0], 6) != NULL;
	/* CR and LF never reach the output (see below), so a comma or a
	 * quote is what needs quoting */
	for (size_t i = 0; i < n && !quote; i++)
		quote = v[i] == ',' || v[i] == '"';
	if (quote)
		err = rk_buf_addc(out, '"');
	if (!err && formula)
		err = rk_buf_addc(out, '\'');
	for (size_t i = 0; i < n && !err; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '"')
			err = rk_buf_add(out, "\"\"", 2);
		else if (c < 0x20 || c == 0x7f)
			err = rk_buf_addc(out, ' ');
		else if (!valid && c >= 0x80)
			err = rk_buf_addc(out, '?');
		else
			err = rk_buf_addc(out, (char)c);
	}
	if (!err && quote)
		err = rk_buf_addc(out, '"');
	free(v);
	return err;
}

/* Printable ASCII (most cells): nothing to clean, nothing invalid, so
 * only the quoting and the formula prefix, without a copy. */
static bool printable(const char *raw, size_t n, bool *quote)
{
	*quote = false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)raw[i];

		if (c < 0x20 || c >= 0x7f)
			return false;
		*quote |= c == ',' || c == '"';
	}
	return true;
}

static enum rk_err add_cell(struct rk_buf *out, const char *raw, size_t n)
{
	bool quote, formula;
	enum rk_err err = RK_OK;
	const char *p = raw, *end = raw + n, *q;

	if (!printable(raw, n, &quote))
		return add_cell_slow(out, raw, n);
	formula = n > 0 && memchr("=+-@", raw[0], 4) != NULL;
	if (quote)
		err = rk_buf_addc(out, '"');
	if (!err && formula)
		err = rk_buf_addc(out, '\'');
	/* quotes doubled: each run up to and with a quote, then one more */
	while (!err && quote && (q = memchr(p, '"', (size_t)(end - p)))) {
		err = rk_buf_add(out, p, (size_t)(q - p) + 1);
		if (!err)
			err = rk_buf_addc(out, '"');
		p = q + 1;
	}
	if (!err)
		err = rk_buf_add(out, p, (size_t)(end - p));
	if (!err && quote)
		err = rk_buf_addc(out, '"');
	return err;
}

/* i in decimal, as "%lld" prints it (a cell of every event: without
 * the cost of a printf). */
static enum rk_err add_integer(struct rk_buf *val, long long i)
{
	char digits[24];
	size_t n = sizeof(digits);
	/* the magnitude as unsigned: LLONG_MIN has no positive twin */
	unsigned long long u = i < 0 ? 0ULL - (unsigned long long)i
				     : (unsigned long long)i;

	do {
		digits[--n] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (i < 0)
		digits[--n] = '-';
	return rk_buf_add(val, digits + n, sizeof(digits) - n);
}

/* The text of a value (strings as they are, numbers in decimal,
 * objects and arrays as compact JSON; null is empty) into val. */
static enum rk_err value_text(const struct notify_fieldset *set,
			      const struct notify_value *v, struct rk_buf *val)
{
	switch (v->kind) {
	case NOTIFY_V_STRING:
	case NOTIFY_V_JSON:
		return rk_buf_add(val, notify_value_text(set, v), v->len);
	case NOTIFY_V_INTEGER:
		return add_integer(val, v->num.i);
	case NOTIFY_V_REAL:
		return rk_buf_addf(val, "%.17g", v->num.d);
	case NOTIFY_V_TRUE:
		return rk_buf_adds(val, "true");
	case NOTIFY_V_FALSE:
		return rk_buf_adds(val, "false");
	case NOTIFY_V_NULL:
	case NOTIFY_V_ABSENT:
		break;
	}
	return RK_OK;
}

static enum rk_err fallback_text(const struct store_event *ev,
				 enum csv_fallback which, struct rk_buf *val)
{
	char t[RK_TIME_TEXT];
	const char *s = NULL;

	switch (which) {
	case CSV_TIME:
		if (ev->time_source <= 0)
			return RK_OK;
		rk_time_format_iso(ev->time_source, t);
		return rk_buf_adds(val, t);
	case CSV_ASN:
		return ev->source_asn ? rk_buf_addf(val, "%lu",
						    (unsigned long)ev->source_asn)
				      : RK_OK;
	case CSV_IP: s = ev->source_ip; break;
	case CSV_FQDN: s = ev->source_fqdn; break;
	case CSV_URL: s = ev->source_url; break;
	case CSV_CC: s = ev->source_cc; break;
	case CSV_TYPE: s = ev->type; break;
	case CSV_IDENTIFIER: s = ev->identifier; break;
	case CSV_FEED: s = ev->feed_name; break;
	case CSV_NONE: break;
	}
	return s ? rk_buf_adds(val, s) : RK_OK;
}

/* The value of one column for one event into val (reset first). */
static enum rk_err column_value(const struct store_event *ev,
				const struct notify_fieldset *set,
				const struct notify_fields *data, size_t col,
				struct rk_buf *val)
{
	const struct notify_value *j = &data->v[csv_columns[col].key];
	enum rk_err err;

	rk_buf_reset(val);
	if (csv_columns[col].fallback == CSV_TIME) {
		int64_t t;

		/* Always ISO 8601 UTC: a time the data spells otherwise is
		 * normalised, one that cannot be read falls back to the
		 * event's own time. */
		if (j->kind == NOTIFY_V_STRING &&
		    rk_time_parse(notify_value_text(set, j), &t) == RK_OK) {
			char iso[RK_TIME_TEXT];

			rk_time_format_iso(t, iso);
			return rk_buf_adds(val, iso);
		}
		return fallback_text(ev, CSV_TIME, val);
	}
	if (j->kind != NOTIFY_V_ABSENT && j->kind != NOTIFY_V_NULL) {
		err = value_text(set, j, val);
		if (err == RK_ERR_LIMIT || val->len > RK_MAX_CSV_CELL) {
			/* One huge value must not keep the notice from going
			 * out: cut it (on a character boundary) and say so. */
			size_t n = val->len > RK_MAX_CSV_CELL ? RK_MAX_CSV_CELL : 0;

			while (n && ((unsigned char)val->data[n] & 0xc0) == 0x80)
				n--;
			rk_buf_truncate(val, n);
			return rk_buf_adds(val, "[...truncated]");
		}
		if (err)
			return err;
		if (val->len)
			return RK_OK;
	}
	return fallback_text(ev, csv_columns[col].fallback, val);
}

enum rk_err notify_events_csv(const struct store_event *events, size_t n,
			      struct rk_buf *out)
{
	return notify_events_csv_fields(events, NULL, n, out);
}

enum rk_err notify_events_csv_fields(const struct store_event *events,
				     const struct notify_fieldset *fields,
				     size_t n, struct rk_buf *out)
{
	struct rk_buf csv, val;
	struct notify_fieldset own;
	enum rk_err err = RK_OK;

	rk_buf_init(&csv, RK_MAX_ATTACHMENT);
	rk_buf_init(&val, RK_MAX_FIELD * 4);
	notify_fieldset_init(&own);
	if (!fields) {
		err = notify_fieldset_read(&own, events, n);
		fields = &own;
	}
	if (!err && fields->n < n)
		err = RK_ERR_INTERNAL; /* not these events' fields */
	for (size_t c = 0; c < RK_ARRAY_LEN(csv_columns) && !err; c++) {
		if (c)
			err = rk_buf_addc(&csv, ',');
		if (!err)
			err = rk_buf_adds(&csv, csv_columns[c].header);
	}
	if (!err)
		err = rk_buf_add(&csv, "\r\n", 2);
	for (size_t i = 0; i < n && !err; i++) {
		const struct store_event *ev = &events[i];
		const struct notify_fields *data = &fields->ev[i];

		for (size_t c = 0; c < RK_ARRAY_LEN(csv_columns) && !err; c++) {
			if (c)
				err = rk_buf_addc(&csv, ',');
			if (!err)
				err = column_value(ev, fields, data, c, &val);
			if (!err)
				err = add_cell(&csv, val.data, val.len);
		}
		if (!err)
			err = rk_buf_add(&csv, "\r\n", 2);
	}
	if (!err)
		err = rk_buf_add(out, csv.data, csv.len);
	rk_buf_release(&csv);
	rk_buf_release(&val);
	notify_fieldset_release(&own);
	return err;
}
