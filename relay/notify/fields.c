/*
 * The fields of an event's data a notice uses, read once per event
 * (include/renraku/notify.h, "fields").
 *
 * yajl's event parser walks the top-level object; the keys a notice
 * needs (NOTIFY_F_COUNT of them) are kept, everything else is skipped
 * as the parser goes (no values are built).  The values must be exactly
 * those json_loads(data, 0, NULL) gives, because that is what the
 * notices were made from before and what the fallback uses: so whatever
 * yajl could read otherwise than Jansson -- or whatever is merely rare
 * -- is handed to Jansson (json_loadb, flags 0) and its object is read
 * by notify_fields_from_json:
 *
 *   - a "\u" escape anywhere (surrogates, "\u0000": Jansson's rules);
 *   - a control character other than TAB, LF, CR anywhere (yajl takes
 *     form feed and vertical tab as white space; Jansson does not);
 *   - bytes that are not strict UTF-8 (yajl lets overlongs and encoded
 *     surrogates through);
 *   - a number with an exponent, an integer of more than 18 digits (it
 *     may not fit 64 bits: Jansson fails the whole text), a real of more
 *     than 40 characters (it may overflow), a leading zero;
 *   - nesting deeper than RK_MAX_JSON_DEPTH (Jansson stops at 2048);
 *   - a needed key holding an object or an array (kept as JSON text);
 *   - a top level that is not an object, anything but white space after
 *     the object (yajl lets an unterminated string there through), and
 *     any error yajl reports.
 *
 * A duplicate key keeps its last value, as Jansson does without
 * JSON_REJECT_DUPLICATES.  tests/fuzz/fuzz_fields.c checks that the two
 * readers agree on arbitrary input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "renraku/notify.h"

static const struct {
	const char *name;
	size_t len;
} field_keys[NOTIFY_F_COUNT] = {
#define KEY(f, s) [f] = {s, sizeof(s) - 1}
	KEY(NOTIFY_F_TIME_SOURCE, "time.source"),
	KEY(NOTIFY_F_SOURCE_IP, "source.ip"),
	KEY(NOTIFY_F_SOURCE_PORT, "source.port"),
	KEY(NOTIFY_F_SOURCE_ASN, "source.asn"),
	KEY(NOTIFY_F_SOURCE_FQDN, "source.fqdn"),
	KEY(NOTIFY_F_SOURCE_URL, "source.url"),
	KEY(NOTIFY_F_SOURCE_CC, "source.geolocation.cc"),
	KEY(NOTIFY_F_TYPE, "classification.type"),
	KEY(NOTIFY_F_IDENTIFIER, "classification.identifier"),
	KEY(NOTIFY_F_MALWARE, "malware.name"),
	KEY(NOTIFY_F_PROTO_TRANSPORT, "protocol.transport"),
	KEY(NOTIFY_F_PROTO_APPLICATION, "protocol.application"),
	KEY(NOTIFY_F_DEST_IP, "destination.ip"),
	KEY(NOTIFY_F_DEST_PORT, "destination.port"),
	KEY(NOTIFY_F_FEED, "feed.name"),
#undef KEY
};

/* Longest number text read here; a longer one goes to Jansson. */
#define MAX_REAL_TEXT 40
#define MAX_INT_DIGITS 18

const char *notify_field_key(enum notify_field f)
{
	return f < NOTIFY_F_COUNT ? field_keys[f].name : "";
}

void notify_fieldset_init(struct notify_fieldset *set)
{
	memset(set, 0, sizeof(*set));
	rk_buf_init(&set->text, RK_MAX_NOTICE_FIELDS);
}

void notify_fieldset_release(struct notify_fieldset *set)
{
	free(set->ev);
	rk_buf_release(&set->text);
	notify_fieldset_init(set);
}

const char *notify_value_text(const struct notify_fieldset *set,
			      const struct notify_value *v)
{
	if ((v->kind != NOTIFY_V_STRING && v->kind != NOTIFY_V_JSON) ||
	    !set->text.data)
		return "";
	return set->text.data + v->off;
}

/* s[0..len) and a NUL into the set's text as v's (kind set by caller). */
static enum rk_err keep_text(struct notify_fieldset *set, const char *s,
			     size_t len, struct notify_value *v)
{
	size_t off = set->text.len;
	enum rk_err err = rk_buf_add(&set->text, s, len);

	if (!err)
		err = rk_buf_addc(&set->text, '\0');
	if (err) {
		rk_buf_truncate(&set->text, off);
		return err;
	}
	v->off = off;
	v->len = len;
	return RK_OK;
}

/* ------------------------------------------------------------ Jansson */

enum rk_err notify_fields_from_json(struct notify_fieldset *set,
				    const json_t *data,
				    struct notify_fields *out)
{
	enum rk_err err = RK_OK;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(data))
		return RK_OK;
	for (size_t f = 0; f < NOTIFY_F_COUNT && !err; f++) {
		const json_t *j = json_object_get(data, field_keys[f].name);
		struct notify_value *v = &out->v[f];
		char *dump;

		if (!j)
			continue; /* absent */
		switch (json_typeof(j)) {
		case JSON_STRING:
			v->kind = NOTIFY_V_STRING;
			err = keep_text(set, json_string_value(j),
					json_string_length(j), v);
			break;
		case JSON_INTEGER:
			v->kind = NOTIFY_V_INTEGER;
			v->num.i = (long long)json_integer_value(j);
			break;
		case JSON_REAL:
			v->kind = NOTIFY_V_REAL;
			v->num.d = json_real_value(j);
			break;
		case JSON_TRUE: v->kind = NOTIFY_V_TRUE; break;
		case JSON_FALSE: v->kind = NOTIFY_V_FALSE; break;
		case JSON_NULL: v->kind = NOTIFY_V_NULL; break;
		case JSON_OBJECT:
		case JSON_ARRAY:
			dump = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
			if (!dump)
				return RK_ERR_NOMEM;
			v->kind = NOTIFY_V_JSON;
			err = keep_text(set, dump, strlen(dump), v);
			free(dump);
			break;
		}
	}
	return err;
}

/* ------------------------------------------------------------ yajl */

struct reader {
	struct notify_fieldset *set;
	struct notify_fields *out;
	size_t depth;   /* containers open */
	int field;      /* the needed key at depth 1 waiting for its value,
			   or -1 */
	bool done;      /* the top-level object is closed */
	bool unusual;   /* leave this text to Jansson */
	enum rk_err err; /* RK_ERR_NOMEM, RK_ERR_LIMIT */
};

static int to_jansson(struct reader *r)
{
	r->unusual = true;
	return 0;
}

/* The needed field a key of the top-level object names, or -1. */
static int field_of(const unsigned char *key, size_t len)
{
	for (int f = 0; f < NOTIFY_F_COUNT; f++)
		if (field_keys[f].len == len &&
		    (unsigned char)field_keys[f].name[0] == key[0] &&
		    memcmp(field_keys[f].name, key, len) == 0)
			return f;
	return -1;
}

/* The value slot a scalar at this point goes to, or NULL (not needed);
 * a scalar as the whole text is unusual. */
static struct notify_value *slot(struct reader *r)
{
	int f = r->field;

	if (r->depth != 1)
		return NULL;
	r->field = -1;
	return f < 0 ? NULL : &r->out->v[f];
}

static int on_null(void *ctx)
{
	struct reader *r = ctx;
	struct notify_value *v;

	if (!r->depth)
		return to_jansson(r);
	if ((v = slot(r)))
		v->kind = NOTIFY_V_NULL;
	return 1;
}

static int on_boolean(void *ctx, int b)
{
	struct reader *r = ctx;
	struct notify_value *v;

	if (!r->depth)
		return to_jansson(r);
	if ((v = slot(r)))
		v->kind = b ? NOTIFY_V_TRUE : NOTIFY_V_FALSE;
	return 1;
}

static int on_number(void *ctx, const char *s, size_t len)
{
	struct reader *r = ctx;
	struct notify_value *v;
	bool real = memchr(s, '.', len) != NULL;
	size_t digits = len - (len && s[0] == '-');
	const char *d = s + (len - digits);
	char num[MAX_REAL_TEXT + 1];

	if (!r->depth || memchr(s, 'e', len) || memchr(s, 'E', len) ||
	    digits == 0 || (digits > 1 && d[0] == '0' && d[1] != '.'))
		return to_jansson(r);
	if (real ? len > MAX_REAL_TEXT : digits > MAX_INT_DIGITS)
		return to_jansson(r);
	if (!(v = slot(r)))
		return 1;
	memcpy(num, s, len);
	num[len] = '\0';
	if (real) {
		v->kind = NOTIFY_V_REAL;
		v->num.d = strtod(num, NULL);
	} else {
		v->kind = NOTIFY_V_INTEGER;
		v->num.i = strtoll(num, NULL, 10);
	}
	return 1;
}

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
	struct reader *r = ctx;
	struct notify_value *v;

	if (!r->depth || memchr(s, '\0', len))
		return to_jansson(r);
	if (!(v = slot(r)))
		return 1;
	v->kind = NOTIFY_V_STRING;
	if ((r->err = keep_text(r->set, (const char *)s, len, v)))
		return 0;
	return 1;
}

static int on_key(void *ctx, const unsigned char *s, size_t len)
{
	struct reader *r = ctx;

	if (r->depth == 1)
		r->field = len ? field_of(s, len) : -1;
	return 1;
}

static int on_open(void *ctx)
{
	struct reader *r = ctx;

	/* a needed key holding a container: Jansson's JSON text of it */
	if (r->depth == 1 && r->field >= 0)
		return to_jansson(r);
	if (r->depth == RK_MAX_JSON_DEPTH)
		return to_jansson(r);
	r->depth++;
	return 1;
}

static int on_start_array(void *ctx)
{
	struct reader *r = ctx;

	return r->depth ? on_open(ctx) : to_jansson(r);
}

static int on_close(void *ctx)
{
	struct reader *r = ctx;

	r->done = --r->depth == 0;
	return 1;
}

static const yajl_callbacks callbacks = {
	.yajl_null = on_null,
	.yajl_boolean = on_boolean,
	.yajl_number = on_number,
	.yajl_string = on_string,
	.yajl_start_map = on_open,
	.yajl_map_key = on_key,
	.yajl_end_map = on_close,
	.yajl_start_array = on_start_array,
	.yajl_end_array = on_close,
};

/* Whether any byte of the word w is below 0x20, is a backslash or has
 * its high bit set (the bytes plain_text must look at). */
static bool word_special(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	uint64_t bs = w ^ (ones * '\\');

	return ((w - ones * 0x20) | (bs - ones) | w) & highs;
}

/* Whether text[0..len) has nothing yajl might read otherwise than
 * Jansson outside the parse: a "\u" escape, a control character but
 * TAB, LF and CR, or bytes that are not strict UTF-8. */
static bool plain_text(const char *text, size_t len)
{
	const unsigned char *p = (const unsigned char *)text;
	bool ascii = true;
	size_t i = 0;

	while (i < len) {
		unsigned char c;
		uint64_t w;

		/* eight plain ASCII bytes at a time: most of the text */
		if (len - i >= 8) {
			memcpy(&w, p + i, sizeof(w));
			if (!word_special(w)) {
				i += 8;
				continue;
			}
		}
		c = p[i];
		if (c >= 0x20 && c != '\\') {
			ascii &= c < 0x80;
		} else if (c == '\\') {
			/* in a string an escape is two bytes; outside one a
			 * backslash is an error anyway */
			if (i + 1 < len && p[i + 1] == 'u')
				return false;
			i++;
		} else if (c != '\t' && c != '\n' && c != '\r') {
			return false;
		}
		i++;
	}
	return ascii || rk_utf8_valid(text, len);
}

/* JSON white space only (what Jansson allows after the value). */
static bool only_space(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\n' && p[i] != '\r')
			return false;
	return true;
}

enum rk_err notify_fields_read(struct notify_fieldset *set, const char *text,
			       size_t len, struct notify_fields *out)
{
	struct reader r = {.set = set, .out = out, .field = -1};
	size_t start = set->text.len;
	yajl_handle h;
	yajl_status st = yajl_status_error;
	size_t end;
	json_t *data;
	enum rk_err err;

	memset(out, 0, sizeof(*out));
	len = strnlen(text, len);
	if (plain_text(text, len)) {
		if (!(h = yajl_alloc(&callbacks, NULL, &r)))
			return RK_ERR_NOMEM;
		/* The parse stops where the object ends; what follows is
		 * checked here: yajl would let an unterminated string
		 * after it through. */
		yajl_config(h, yajl_allow_trailing_garbage, 1);
		st = yajl_parse(h, (const unsigned char *)text, len);
		end = yajl_get_bytes_consumed(h);
		yajl_free(h);
		if (r.err) {
			rk_buf_truncate(&set->text, start);
			return r.err;
		}
		if (st == yajl_status_ok && r.done && !r.unusual &&
		    only_space(text + end, len - end))
			return RK_OK;
	}
	/* Jansson's reading, from the start */
	rk_buf_truncate(&set->text, start);
	data = json_loadb(text, len, 0, NULL);
	err = notify_fields_from_json(set, data, out);
	json_decref(data);
	out->jansson = true;
	if (err)
		rk_buf_truncate(&set->text, start);
	return err;
}

enum rk_err notify_fieldset_read(struct notify_fieldset *set,
				 const struct store_event *events, size_t n)
{
	enum rk_err err = RK_OK;

	free(set->ev);
	set->ev = NULL;
	set->n = 0;
	rk_buf_reset(&set->text);
	if (n && !(set->ev = calloc(n, sizeof(*set->ev))))
		return RK_ERR_NOMEM;
	for (size_t i = 0; i < n && !err; i++)
		if (events[i].data)
			err = notify_fields_read(set, events[i].data, SIZE_MAX,
						 &set->ev[i]);
	if (err) {
		free(set->ev);
		set->ev = NULL;
		return err;
	}
	set->n = n;
	return RK_OK;
}
