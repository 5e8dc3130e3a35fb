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
	const char *header; /* column name */
	const char *key;    /* IntelMQ key in the event data */
	enum csv_fallback fallback;
} csv_columns[] = {
	{"time_source", "time.source", CSV_TIME},
	{"source.ip", "source.ip", CSV_IP},
	{"source.port", "source.port", CSV_NONE},
	{"source.asn", "source.asn", CSV_ASN},
	{"source.fqdn", "source.fqdn", CSV_FQDN},
	{"source.url", "source.url", CSV_URL},
	{"source.geolocation.cc", "source.geolocation.cc", CSV_CC},
	{"classification.type", "classification.type", CSV_TYPE},
	{"classification.identifier", "classification.identifier",
	 CSV_IDENTIFIER},
	{"malware.name", "malware.name", CSV_NONE},
	{"protocol.transport", "protocol.transport", CSV_NONE},
	{"protocol.application", "protocol.application", CSV_NONE},
	{"destination.ip", "destination.ip", CSV_NONE},
	{"destination.port", "destination.port", CSV_NONE},
	{"feed.name", "feed.name", CSV_FEED},
};

/* One cell: formula prefix, control characters as spaces, then quoting
 * as RFC 4180 asks.  Bytes that are not UTF-8 become '?' (the data is
 * UTF-8 by construction; this only keeps a broken value from breaking the
 * file). */
static enum rk_err add_cell(struct rk_buf *out, const char *raw, size_t n)
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

/* The text of a JSON value (strings as they are, numbers in decimal,
 * objects and arrays as compact JSON; null is empty) into val. */
static enum rk_err json_text(const json_t *j, struct rk_buf *val)
{
	char *dump;
	enum rk_err err;

	switch (json_typeof(j)) {
	case JSON_STRING:
		return rk_buf_add(val, json_string_value(j),
				  json_string_length(j));
	case JSON_INTEGER:
		return rk_buf_addf(val, "%" JSON_INTEGER_FORMAT,
				   json_integer_value(j));
	case JSON_REAL:
		return rk_buf_addf(val, "%.17g", json_real_value(j));
	case JSON_TRUE:
		return rk_buf_adds(val, "true");
	case JSON_FALSE:
		return rk_buf_adds(val, "false");
	case JSON_NULL:
		return RK_OK;
	default:
		dump = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
		if (!dump)
			return RK_ERR_NOMEM;
		err = rk_buf_adds(val, dump);
		free(dump);
		return err;
	}
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
				const json_t *data, size_t col,
				struct rk_buf *val)
{
	const json_t *j = data ? json_object_get(data, csv_columns[col].key)
			       : NULL;
	enum rk_err err;

	rk_buf_reset(val);
	if (csv_columns[col].fallback == CSV_TIME) {
		int64_t t;

		/* Always ISO 8601 UTC: a time the data spells otherwise is
		 * normalised, one that cannot be read falls back to the
		 * event's own time. */
		if (json_is_string(j) &&
		    rk_time_parse(json_string_value(j), &t) == RK_OK) {
			char iso[RK_TIME_TEXT];

			rk_time_format_iso(t, iso);
			return rk_buf_adds(val, iso);
		}
		return fallback_text(ev, CSV_TIME, val);
	}
	if (j && !json_is_null(j)) {
		err = json_text(j, val);
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
	return notify_events_csv_parsed(events, NULL, n, out);
}

enum rk_err notify_events_csv_parsed(const struct store_event *events,
				     json_t *const *datas, size_t n,
				     struct rk_buf *out)
{
	struct rk_buf csv, val;
	json_t *data = NULL;
	enum rk_err err = RK_OK;

	rk_buf_init(&csv, RK_MAX_ATTACHMENT);
	rk_buf_init(&val, RK_MAX_FIELD * 4);
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

		if (datas)
			data = json_incref(datas[i]);
		else
			data = ev->data ? json_loads(ev->data, 0, NULL) : NULL;
		if (data && !json_is_object(data)) {
			json_decref(data);
			data = NULL;
		}
		for (size_t c = 0; c < RK_ARRAY_LEN(csv_columns) && !err; c++) {
			if (c)
				err = rk_buf_addc(&csv, ',');
			if (!err)
				err = column_value(ev, data, c, &val);
			if (!err)
				err = add_cell(&csv, val.data, val.len);
		}
		if (!err)
			err = rk_buf_add(&csv, "\r\n", 2);
		json_decref(data);
		data = NULL;
	}
	if (!err)
		err = rk_buf_add(out, csv.data, csv.len);
	rk_buf_release(&csv);
	rk_buf_release(&val);
	return err;
}
