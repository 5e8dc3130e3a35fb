/*
 * The normalizer every format shares: flatten one record (a JSON object,
 * nested or with flat IntelMQ names) to IntelMQ harmonization field
 * names, validate and normalize the fields renraku relies on, and build
 * the event's dedup key and data JSON.
 *
 * Field names and classification types follow IntelMQ's harmonization
 * (3.x).  Anything not in it is kept under "extra.<name>".
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "private.h"

/* IntelMQ harmonization event fields (hashed into ingest_norm.known).
 * "extra.*" is handled by prefix. */
static const char *const intelmq_fields[] = {
	"classification.identifier", "classification.taxonomy",
	"classification.type", "comment", "destination.abuse_contact",
	"destination.account", "destination.allocated", "destination.as_name",
	"destination.asn", "destination.domain_suffix", "destination.fqdn",
	"destination.geolocation.cc", "destination.geolocation.city",
	"destination.geolocation.country", "destination.geolocation.latitude",
	"destination.geolocation.longitude", "destination.geolocation.region",
	"destination.geolocation.state", "destination.ip",
	"destination.local_hostname", "destination.local_ip",
	"destination.network", "destination.port", "destination.registry",
	"destination.reverse_dns", "destination.tor_node", "destination.url",
	"destination.urlpath", "event_description.target",
	"event_description.text", "event_description.url", "event_hash",
	"feed.accuracy", "feed.code", "feed.documentation", "feed.name",
	"feed.provider", "feed.url", "malware.hash.md5", "malware.hash.sha1",
	"malware.hash.sha256", "malware.name", "malware.version",
	"misp.attribute_uuid", "misp.event_uuid", "output",
	"product.full_name", "product.name", "product.product",
	"product.vendor", "product.version", "product.vulnerabilities",
	"protocol.application", "protocol.transport", "raw", "rtir_id",
	"screenshot_url", "severity", "source.abuse_contact",
	"source.account", "source.allocated", "source.as_name", "source.asn",
	"source.domain_suffix", "source.fqdn", "source.geolocation.cc",
	"source.geolocation.city", "source.geolocation.country",
	"source.geolocation.cymru_cc", "source.geolocation.geoip_cc",
	"source.geolocation.latitude", "source.geolocation.longitude",
	"source.geolocation.region", "source.geolocation.state", "source.ip",
	"source.local_hostname", "source.local_ip", "source.network",
	"source.port", "source.registry", "source.reverse_dns",
	"source.tor_node", "source.url", "source.urlpath", "status",
	"time.observation", "time.source", "tlp",
};


/* Fields whose value renraku validates and rewrites to a canonical form.
 * Control characters are rejected in these (they reach headers, file
 * names and lookups); every other string is kept as it came. */
enum field_kind {
	KIND_TIME,
	KIND_TYPE,
	KIND_IP,
	KIND_ASN,
	KIND_PORT,
	KIND_FQDN,
	KIND_URL,
	KIND_CC,
	KIND_TLP,
	KIND_TEXT /* must be a string; kept as it is */
};

/* In the order they are checked: the first problem found is reported. */
static const struct {
	const char *name;
	enum field_kind kind;
	bool required;
} checked_fields[] = {
	{"time.source", KIND_TIME, true},
	{"classification.type", KIND_TYPE, true},
	{"classification.taxonomy", KIND_TEXT},
	{"source.ip", KIND_IP},
	{"source.asn", KIND_ASN},
	{"source.port", KIND_PORT},
	{"source.fqdn", KIND_FQDN},
	{"source.url", KIND_URL},
	{"source.geolocation.cc", KIND_CC},
	{"destination.ip", KIND_IP},
	{"destination.asn", KIND_ASN},
	{"destination.port", KIND_PORT},
	{"destination.fqdn", KIND_FQDN},
	{"destination.url", KIND_URL},
	{"destination.geolocation.cc", KIND_CC},
	{"time.observation", KIND_TIME},
	{"tlp", KIND_TLP},
};

/* Fields an event can have: the input's and the derived ones. */
#define DEDUP_FIELDS_ROOM (RK_MAX_EVENT_FIELDS + 16)
/* Slots of the name hash: a power of two, at least twice the fields. */
#define INDEX_SLOTS 2048
#define INDEX_EMPTY 0xffffu
/* Values replaced in one event: every checked and derived field at most
 * once or twice. */
#define OWNED_ROOM (2 * DEDUP_FIELDS_ROOM)

/* rk_buf_add and rk_buf_addc where the buffer has the room already (the
 * buffers are reused, so nearly always): the same result without a call
 * per piece of the canonical text and the data. */
static inline enum rk_err bput(struct rk_buf *b, const void *p, size_t n)
{
	if (b->alloc && n < b->alloc - b->len) {
		memcpy(b->data + b->len, p, n);
		b->len += n;
		b->data[b->len] = '\0';
		return RK_OK;
	}
	return rk_buf_add(b, p, n);
}

static inline enum rk_err bputc(struct rk_buf *b, char c)
{
	if (b->alloc && b->len + 1 < b->alloc) {
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
		return RK_OK;
	}
	return rk_buf_addc(b, c);
}

/* Room for a value quoted in a reason. */
#define SHOWN_MAX 64
#define SHOWN_SIZE (SHOWN_MAX + 4)

static size_t name_hash(const char *s, size_t len);

/* The slot of n->known for name: KNOWN_SLOTS, a power of two. */
static size_t known_slot(const struct ingest_norm *n, const char *name,
			 size_t len)
{
	size_t slot = name_hash(name, len) & (INGEST_KNOWN_SLOTS - 1);

	for (;;) {
		uint8_t k = n->known[slot];

		if (k == 0 || (strlen(intelmq_fields[k - 1]) == len &&
			       memcmp(intelmq_fields[k - 1], name, len) == 0))
			return slot;
		slot = (slot + 1) & (INGEST_KNOWN_SLOTS - 1);
	}
}

/* Whether name is a harmonization field: the hash of the list that
 * ingest_norm_init fills (the same answer as a search of the list). */
static bool known_field(const struct ingest_norm *n, const char *name,
			size_t len)
{
	return n->known[known_slot(n, name, len)] != 0;
}


static enum rk_err reject(struct ingest_norm *n, const char *fmt, ...)
	RK_PRINTF(2, 3);

static enum rk_err reject(struct ingest_norm *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(n->reason, sizeof(n->reason), fmt, ap);
	va_end(ap);
	return RK_ERR_INVAL;
}

/* s shortened for a reason: at most SHOWN_MAX bytes, cut at a UTF-8
 * character boundary, "..." when cut. */
static const char *shown(const char *s, char out[SHOWN_SIZE])
{
	size_t n = strlen(s);

	if (n <= SHOWN_MAX)
		return s;
	n = SHOWN_MAX;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	memcpy(out, s, n);
	memcpy(out + n, "...", 4);
	return out;
}

/* ------------------------------------------------------------ lifecycle */

enum rk_err ingest_norm_init(struct ingest_norm *n)
{
	memset(n, 0, sizeof(*n));
	rk_buf_init(&n->key, RK_MAX_JSON_LINE);
	rk_buf_init(&n->name, RK_MAX_JSON_LINE + 8);
	/* The data is the input re-encoded: derived fields and escapes can
	 * make it somewhat longer than the line it came from. */
	rk_buf_init(&n->data, 2 * (size_t)RK_MAX_JSON_LINE);
	/* The canonical text holds every field once, like the data. */
	rk_buf_init(&n->canon, 2 * (size_t)RK_MAX_JSON_LINE);
	/* Names are at most a line long in all. */
	rk_buf_init(&n->names, 2 * (size_t)RK_MAX_JSON_LINE);
	n->fields = calloc(DEDUP_FIELDS_ROOM, sizeof(*n->fields));
	n->name_off = calloc(DEDUP_FIELDS_ROOM, sizeof(*n->name_off));
	n->index = malloc(INDEX_SLOTS * sizeof(*n->index));
	n->owned = calloc(OWNED_ROOM, sizeof(*n->owned));
	n->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	n->md = EVP_MD_CTX_new();
	if (!n->fields || !n->name_off || !n->index || !n->owned ||
	    !n->sha256 || !n->md)
		goto fail;
	memset(n->index, 0xff, INDEX_SLOTS * sizeof(*n->index));
	_Static_assert(RK_ARRAY_LEN(intelmq_fields) < 255 &&
			       2 * RK_ARRAY_LEN(intelmq_fields) <
				       INGEST_KNOWN_SLOTS,
		       "the known-field hash is too small");
	for (size_t k = 0; k < RK_ARRAY_LEN(intelmq_fields); k++) {
		const char *f = intelmq_fields[k];

		n->known[known_slot(n, f, strlen(f))] = (uint8_t)(k + 1);
	}
	for (int t = RK_TLP_CLEAR; t <= RK_TLP_RED; t++) {
		n->tlp_names[t] = json_string(rk_tlp_name((enum rk_tlp)t));
		if (!n->tlp_names[t])
			goto fail;
	}
	return RK_OK;
fail:
	ingest_norm_release(n);
	return RK_ERR_NOMEM;
}

static void release_owned(struct ingest_norm *n)
{
	for (size_t i = 0; i < n->nowned; i++)
		json_decref(n->owned[i]);
	n->nowned = 0;
}

void ingest_norm_release(struct ingest_norm *n)
{
	if (n->owned)
		release_owned(n);
	free(n->owned);
	n->owned = NULL;
	free(n->fields);
	n->fields = NULL;
	free(n->name_off);
	n->name_off = NULL;
	free(n->index);
	n->index = NULL;
	rk_buf_release(&n->names);
	for (size_t t = 0; t < RK_ARRAY_LEN(n->tlp_names); t++) {
		json_decref(n->tlp_names[t]);
		n->tlp_names[t] = NULL;
	}
	rk_buf_release(&n->key);
	rk_buf_release(&n->name);
	rk_buf_release(&n->data);
	rk_buf_release(&n->canon);
	EVP_MD_CTX_free(n->md);
	n->md = NULL;
	EVP_MD_free(n->sha256);
	n->sha256 = NULL;
	memset(&n->ev, 0, sizeof(n->ev));
}

/* ------------------------------------------------------------ the fields */

/* The name of field i. */
static const char *fname(const struct ingest_norm *n, size_t i)
{
	return n->name_off[i] == SIZE_MAX ? n->fields[i].name
					  : n->names.data + n->name_off[i];
}

/* A hash of the name, eight bytes at a time (a byte-wise FNV-1a was a
 * tenth of the normalizer's time: every field is hashed when added and
 * each checked or derived one again when looked up). */
static size_t name_hash(const char *s, size_t len)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ len, w;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, s + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	/* The last 1-7 bytes in loads of a fixed size (a memcpy of a
	 * variable length was a library call, for each of the 20-odd
	 * lookups an event makes; perf put 3.8 % of ingest's CPU here):
	 * overlapping the bytes already read, or each other.  Only this
	 * process's tables use the value, so any function of the bytes
	 * and the length will do. */
	if (i < len) {
		size_t rest = len - i;

		if (len >= 8) {
			memcpy(&w, s + len - 8, 8);
		} else if (rest >= 4) {
			uint32_t a, b;

			memcpy(&a, s + i, 4);
			memcpy(&b, s + len - 4, 4);
			w = a | (uint64_t)b << 32;
		} else if (rest >= 2) {
			uint16_t a, b;

			memcpy(&a, s + i, 2);
			memcpy(&b, s + len - 2, 2);
			w = a | (uint64_t)b << 16;
		} else {
			w = (unsigned char)s[i];
		}
		h = (h ^ w) * 0xff51afd7ed558ccdull;
	}
	h ^= h >> 29;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 32;
	return (size_t)h & (INDEX_SLOTS - 1);
}

/* The slot of the index holding name's field, or the empty slot where
 * it would go. */
static size_t find_slot(const struct ingest_norm *n, const char *name,
			size_t len)
{
	size_t slot = name_hash(name, len);

	for (;;) {
		uint16_t i = n->index[slot];

		if (i == INDEX_EMPTY ||
		    (n->fields[i].name_len == len &&
		     memcmp(fname(n, i), name, len) == 0))
			return slot;
		slot = (slot + 1) & (INDEX_SLOTS - 1);
	}
}

/* The value of field name, NULL when the event has none. */
static json_t *get(const struct ingest_norm *n, const char *name)
{
	uint16_t i = n->index[find_slot(n, name, strlen(name))];

	return i == INDEX_EMPTY ? NULL : n->fields[i].value;
}

/* Keep value (a new reference) until the next event; NULL is out of
 * memory. */
static enum rk_err own(struct ingest_norm *n, json_t *value)
{
	if (!value)
		return RK_ERR_NOMEM;
	if (n->nowned == OWNED_ROOM) {
		json_decref(value);
		return RK_ERR_INTERNAL;
	}
	n->owned[n->nowned++] = value;
	return RK_OK;
}

/* Field name (static text) takes value (a new reference, taken over
 * even on failure): replaced when there, else added. */
static enum rk_err put(struct ingest_norm *n, const char *name, json_t *value)
{
	size_t len = strlen(name), slot;
	uint16_t i;
	enum rk_err err;

	if ((err = own(n, value)))
		return err;
	slot = find_slot(n, name, len);
	i = n->index[slot];
	if (i == INDEX_EMPTY) {
		if (n->nstored == DEDUP_FIELDS_ROOM)
			return RK_ERR_INTERNAL;
		i = (uint16_t)n->nstored++;
		n->fields[i].name = name;
		n->fields[i].name_len = len;
		n->name_off[i] = SIZE_MAX;
		n->index[slot] = i;
	}
	n->fields[i].value = value;
	return RK_OK;
}

/* ------------------------------------------------------------ flattening */

/* Depth and string lengths inside a value that is kept as it is (arrays
 * and the objects inside them). */
static enum rk_err check_value(struct ingest_norm *n, const char *name,
			       json_t *value, int depth)
{
	enum rk_err err;

	if (depth > RK_MAX_JSON_DEPTH)
		return reject(n, "nesting deeper than RK_MAX_JSON_DEPTH (%d)",
			      RK_MAX_JSON_DEPTH);
	if (json_is_string(value)) {
		if (json_string_length(value) > n->max_field)
			return reject(n,
				      "%s: value is longer than RK_MAX_FIELD "
				      "(%zu bytes)",
				      name, n->max_field);
	} else if (json_is_array(value)) {
		size_t i;
		json_t *item;

		json_array_foreach(value, i, item)
			if ((err = check_value(n, name, item, depth + 1)))
				return err;
	} else if (json_is_object(value)) {
		const char *key;
		json_t *item;

		json_object_foreach(value, key, item)
			if ((err = check_value(n, name, item, depth + 1)))
				return err;
	}
	return RK_OK;
}

/* Store one leaf under its IntelMQ name: a harmonization field or an
 * "extra." name as it is, anything else under "extra.". */
static enum rk_err add_field(struct ingest_norm *n, json_t *value, int depth)
{
	const char *name = n->key.data;
	size_t len, slot;
	uint16_t i;
	enum rk_err err;

	if (++n->nfields > RK_MAX_EVENT_FIELDS)
		return reject(n, "more than RK_MAX_EVENT_FIELDS (%d) fields",
			      RK_MAX_EVENT_FIELDS);
	if (json_is_array(value) &&
	    (err = check_value(n, name, value, depth + 1)))
		return err;
	if (json_is_string(value) &&
	    (err = check_value(n, name, value, depth)))
		return err;
	if (depth == 1 && n->key.len == 6 && memcmp(name, "__type", 6) == 0)
		return RK_OK; /* IntelMQ's message type ("Event") */
	if (strncmp(name, "extra.", 6) != 0 &&
	    !known_field(n, name, n->key.len)) {
		rk_buf_reset(&n->name);
		if (rk_buf_adds(&n->name, "extra.") ||
		    bput(&n->name, n->key.data, n->key.len))
			return reject(n, "field name is too long");
		name = n->name.data;
	}
	len = strlen(name);
	slot = find_slot(n, name, len);
	if (n->index[slot] != INDEX_EMPTY) {
		char tmp[SHOWN_SIZE];

		return reject(n, "duplicate field '%s'", shown(name, tmp));
	}
	if (n->nstored == DEDUP_FIELDS_ROOM)
		return RK_ERR_INTERNAL;
	i = (uint16_t)n->nstored++;
	n->name_off[i] = n->names.len;
	n->fields[i].name = NULL; /* set once names stops growing */
	n->fields[i].name_len = len;
	n->fields[i].value = value;
	if (bput(&n->names, name, len) || bputc(&n->names, '\0'))
		return reject(n, "field names are too long");
	n->index[slot] = i;
	return RK_OK;
}

static enum rk_err flatten(struct ingest_norm *n, json_t *obj, int depth)
{
	size_t prefix_len = n->key.len;
	const char *key;
	json_t *value;
	enum rk_err err;

	json_object_foreach(obj, key, value) {
		rk_buf_truncate(&n->key, prefix_len);
		if (!*key)
			return reject(n, "empty field name");
		if (rk_str_has_ctl(key, false))
			return reject(n, "field name contains control "
					 "characters");
		if ((prefix_len && bputc(&n->key, '.')) ||
		    rk_buf_adds(&n->key, key))
			return reject(n, "field name is too long");
		if (json_is_object(value)) {
			if (depth + 1 > RK_MAX_JSON_DEPTH)
				return reject(n,
					      "nesting deeper than "
					      "RK_MAX_JSON_DEPTH (%d)",
					      RK_MAX_JSON_DEPTH);
			if ((err = flatten(n, value, depth + 1)))
				return err;
			continue;
		}
		if ((err = add_field(n, value, depth)))
			return err;
	}
	rk_buf_truncate(&n->key, prefix_len);
	return RK_OK;
}

/* ------------------------------------------------------------ fields */

/* The string value of a checked field; rejects other types and control
 * characters. */
static enum rk_err want_string(struct ingest_norm *n, const char *name,
			       json_t *value, const char **out)
{
	if (!json_is_string(value))
		return reject(n, "%s: not a string", name);
	*out = json_string_value(value);
	if (rk_str_has_ctl(*out, false))
		return reject(n, "%s: contains control characters", name);
	return RK_OK;
}

/* Replace the value of name with the string s (unless already equal). */
static enum rk_err set_string(struct ingest_norm *n, const char *name,
			      json_t *old, const char *s)
{
	if (old && strcmp(json_string_value(old), s) == 0)
		return RK_OK;
	return put(n, name, json_string(s));
}

/* An integer field given as a number or a decimal string. */
static enum rk_err want_integer(struct ingest_norm *n, const char *name,
				json_t *value, long long min, long long max,
				const char *what, long long *out)
{
	char tmp[SHOWN_SIZE];
	const char *s;
	enum rk_err err;

	if (json_is_integer(value)) {
		*out = json_integer_value(value);
		if (*out < min || *out > max)
			return reject(n, "%s: %lld is not %s", name, *out,
				      what);
	} else {
		if (!json_is_string(value))
			return reject(n, "%s: not an integer", name);
		if ((err = want_string(n, name, value, &s)))
			return err;
		if (rk_parse_long(s, min, max, out))
			return reject(n, "%s: '%s' is not %s", name,
				      shown(s, tmp), what);
		if ((err = put(n, name, json_integer(*out))))
			return err;
	}
	return RK_OK;
}

/* Two digits of v (0..99) at p. */
static void two_digits(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
}

/* t as "YYYY-MM-DDTHH:MM:SS+00:00": what rk_time_format (gmtime_r and
 * strftime) gives with the 'T' and the offset put in, by arithmetic for
 * the years 1000..9999 (days to the civil date: H. Hinnant's
 * days_from_civil inverted), by rk_time_format for any other year
 * (strftime's %Y is not four digits there). */
static void iso_utc(int64_t t, char out[RK_TIME_TEXT + 8])
{
	/* 1000-01-01T00:00:00Z and 9999-12-31T23:59:59Z */
	if (t >= -30610224000LL && t <= 253402300799LL) {
		int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
		int64_t secs = t - days * 86400;
		int64_t z = days + 719468;
		int64_t era = (z >= 0 ? z : z - 146096) / 146097;
		unsigned doe = (unsigned)(z - era * 146097);
		unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) /
			       365;
		int64_t y = (int64_t)yoe + era * 400;
		unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
		unsigned mp = (5 * doy + 2) / 153;
		unsigned d = doy - (153 * mp + 2) / 5 + 1;
		unsigned m = mp < 10 ? mp + 3 : mp - 9;

		if (m <= 2)
			y++;
		two_digits(out, (unsigned)(y / 100));
		two_digits(out + 2, (unsigned)(y % 100));
		out[4] = '-';
		two_digits(out + 5, m);
		out[7] = '-';
		two_digits(out + 8, d);
		out[10] = 'T';
		two_digits(out + 11, (unsigned)(secs / 3600));
		out[13] = ':';
		two_digits(out + 14, (unsigned)(secs / 60 % 60));
		out[16] = ':';
		two_digits(out + 17, (unsigned)(secs % 60));
	} else {
		rk_time_format(t, 0, out); /* "YYYY-MM-DD HH:MM:SS" */
		out[10] = 'T';
	}
	memcpy(out + 19, "+00:00", 7);
}

static enum rk_err norm_time(struct ingest_norm *n, const char *name,
			     json_t *value, int64_t *epoch)
{
	char tmp[SHOWN_SIZE], text[RK_TIME_TEXT + 8];
	const char *s;
	enum rk_err err;

	if ((err = want_string(n, name, value, &s)))
		return err;
	if (rk_time_parse(s, epoch))
		return reject(n, "%s: '%s' is not a timestamp", name,
			      shown(s, tmp));
	iso_utc(*epoch, text);
	return set_string(n, name, value, text);
}

/* Whether s is an IPv4 address as rk_addr_format writes one: four
 * decimal parts 0..255 without leading zeros, three dots, nothing else. */
static bool canonical_ipv4(const char *s)
{
	for (int part = 0; part < 4; part++) {
		unsigned v = 0;
		int digits = 0;

		if (part && *s++ != '.')
			return false;
		while (*s >= '0' && *s <= '9' && digits < 4) {
			v = v * 10 + (unsigned)(*s++ - '0');
			digits++;
		}
		if (digits == 0 || digits > 3 || v > 255 ||
		    (digits > 1 && s[-digits] == '0'))
			return false;
	}
	return *s == '\0';
}

static enum rk_err norm_ip(struct ingest_norm *n, const char *name,
			   json_t *value)
{
	char tmp[SHOWN_SIZE], text[RK_ADDR_TEXT];
	struct rk_addr addr;
	const char *s;
	enum rk_err err;

	if ((err = want_string(n, name, value, &s)))
		return err;
	if (rk_addr_parse(s, &addr))
		return reject(n, "%s: '%s' is not an IP address", name,
			      shown(s, tmp));
	if (canonical_ipv4(s))
		return RK_OK; /* rk_addr_format would write it back as it is */
	rk_addr_format(&addr, text);
	return set_string(n, name, value, text);
}

static enum rk_err norm_asn(struct ingest_norm *n, const char *name,
			    json_t *value)
{
	char tmp[SHOWN_SIZE];
	const char *s;
	uint32_t asn;
	enum rk_err err;

	if (json_is_integer(value)) {
		long long v = json_integer_value(value);

		if (v < 1 || v > 4294967295LL)
			return reject(n, "%s: %lld is not an AS number", name,
				      v);
		return RK_OK;
	}
	if (!json_is_string(value))
		return reject(n, "%s: not an AS number", name);
	if ((err = want_string(n, name, value, &s)))
		return err;
	if (rk_asn_parse(s, &asn))
		return reject(n, "%s: '%s' is not an AS number", name,
			      shown(s, tmp));
	return put(n, name, json_integer(asn));
}

static enum rk_err norm_fqdn_text(struct ingest_norm *n, const char *name,
				  const char *s, json_t *old)
{
	char tmp[SHOWN_SIZE];
	char *fqdn = NULL;
	enum rk_err err;

	err = rk_domain_normalize(s, &fqdn);
	if (err == RK_ERR_NOMEM)
		return err;
	if (err)
		return reject(n, "%s: '%s' is not a domain name", name,
			      shown(s, tmp));
	err = set_string(n, name, old, fqdn);
	free(fqdn);
	return err;
}

static enum rk_err norm_fqdn(struct ingest_norm *n, const char *name,
			     json_t *value)
{
	const char *s;
	enum rk_err err;

	if ((err = want_string(n, name, value, &s)))
		return err;
	return norm_fqdn_text(n, name, s, value);
}

/* RFC 3986 scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
static size_t url_scheme_len(const char *s)
{
	size_t i = 0;

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	while (s[i] && s[i] != ':') {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '+' || c == '-' ||
		      c == '.'))
			return 0;
		i++;
	}
	return s[i] == ':' ? i : 0;
}

static enum rk_err norm_url(struct ingest_norm *n, const char *name,
			    json_t *value)
{
	char tmp[SHOWN_SIZE];
	const char *s;
	enum rk_err err;

	if (!json_is_string(value))
		return reject(n, "%s: not a string", name);
	s = json_string_value(value);
	if (json_string_length(value) > RK_MAX_URL)
		return reject(n, "%s: longer than RK_MAX_URL (%d bytes)", name,
			      RK_MAX_URL);
	if ((err = want_string(n, name, value, &s)))
		return err;
	for (const char *p = s; *p; p++)
		if (*p == ' ')
			return reject(n, "%s: contains spaces", name);
	if (!url_scheme_len(s))
		return reject(n, "%s: '%s' has no scheme", name,
			      shown(s, tmp));
	return RK_OK;
}

/* One part of a WHATWG IPv4 host: decimal, 0x hex or 0-prefixed octal.
 * false when it is not a number. */
static bool ipv4_part(const char *p, size_t len, uint64_t *out)
{
	unsigned base = 10;
	uint64_t v = 0;

	if (len >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
		len -= 2;
	} else if (len >= 2 && p[0] == '0') {
		base = 8;
		p++;
		len--;
	}
	for (size_t i = 0; i < len; i++) {
		int d;

		if (p[i] >= '0' && p[i] <= '9')
			d = p[i] - '0';
		else if (base == 16 && p[i] >= 'a' && p[i] <= 'f')
			d = p[i] - 'a' + 10;
		else if (base == 16 && p[i] >= 'A' && p[i] <= 'F')
			d = p[i] - 'A' + 10;
		else
			return false;
		if (d >= (int)base)
			return false;
		v = v * base + (uint64_t)d;
		if (v > 0xffffffffULL)
			v = 0x100000000ULL; /* too large: stays too large */
	}
	*out = v;
	return true;
}

/* How a browser reads a URL host that ends in a number (the WHATWG URL
 * standard's IPv4 parser): "3221225516", "0xc0.0.2.49", "192.0.2.40."
 * and "192.168.1" are all IPv4 addresses there, so that is where the
 * notice must go.  *ends_in_number tells whether the host is one the
 * browser reads as IPv4 at all; the result says whether it is a valid
 * one (a host that ends in a number but is no valid address is refused
 * by browsers: it names nobody). */
static bool url_host_ipv4(const char *host, struct rk_addr *out,
			  bool *ends_in_number)
{
	const char *parts[5];
	size_t lens[5], n = 0, len = strlen(host);
	uint64_t v[5] = {0}, addr;
	const char *p = host, *last;
	size_t lastlen;

	*ends_in_number = false;
	if (len && host[len - 1] == '.')
		len--; /* one trailing dot is allowed */
	if (len == 0)
		return false;
	last = host;
	for (size_t i = 0; i < len; i++)
		if (host[i] == '.')
			last = host + i + 1;
	lastlen = (size_t)(host + len - last);
	/* ends in a number: the last label is decimal digits, or 0x hex */
	if (lastlen == 0)
		return false;
	if (strspn(last, "0123456789") >= lastlen)
		*ends_in_number = true;
	else if (lastlen >= 2 && last[0] == '0' && (last[1] | 32) == 'x' &&
		 strspn(last + 2, "0123456789abcdefABCDEF") >= lastlen - 2)
		*ends_in_number = true;
	if (!*ends_in_number)
		return false;
	while (p < host + len) {
		const char *dot = memchr(p, '.', (size_t)(host + len - p));
		size_t l = dot ? (size_t)(dot - p) : (size_t)(host + len - p);

		if (n == 4 || l == 0)
			return false;
		parts[n] = p;
		lens[n] = l;
		n++;
		p += l + (dot ? 1 : 0);
		if (dot && p == host + len)
			return false; /* "a..": an empty last part */
	}
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!ipv4_part(parts[i], lens[i], &v[i]) ||
		    (i + 1 < n && v[i] > 255))
			return false;
	if (v[n - 1] >= (1ULL << (8 * (5 - n))))
		return false;
	addr = v[n - 1];
	for (size_t i = 0; i + 1 < n; i++)
		addr += v[i] << (8 * (3 - i));
	memset(out, 0, sizeof(*out));
	out->family = 4;
	out->bytes[0] = (uint8_t)(addr >> 24);
	out->bytes[1] = (uint8_t)(addr >> 16);
	out->bytes[2] = (uint8_t)(addr >> 8);
	out->bytes[3] = (uint8_t)addr;
	return true;
}

/* source.ip from an address found in a URL. */
static enum rk_err set_source_ip(struct ingest_norm *n, const struct rk_addr *addr)
{
	char text[RK_ADDR_TEXT];

	rk_addr_format(addr, text);
	return put(n, "source.ip", json_string(text));
}

/* The host of an "scheme://[userinfo@]host[:port]/..." URL, when the
 * event lacks them: as source.ip when the host is an address (IPv4, an
 * IPv6 literal in brackets, an IPv4-mapped address as IPv4), else as
 * source.fqdn when it is a domain name; nothing when the URL has no
 * authority or its host is neither. */
static enum rk_err host_from_url(struct ingest_norm *n, const char *url,
				 bool want_ip, bool want_fqdn)
{
	const char *host, *end, *at, *colon;
	char buf[RK_MAX_DOMAIN + 2];
	char *fqdn = NULL;
	struct rk_addr addr;
	size_t len;
	enum rk_err err;

	host = url + url_scheme_len(url) + 1;
	if (strncmp(host, "//", 2) != 0)
		return RK_OK;
	host += 2;
	/* a browser ends the authority at a backslash too (WHATWG, for
	 * http, https, ftp, ws): "http://192.0.2.50\\@evil.example/" is a
	 * request to 192.0.2.50 */
	end = host + strcspn(host, "/?#\\");
	at = memchr(host, '@', (size_t)(end - host));
	while (at) { /* the last '@' ends the userinfo */
		host = at + 1;
		at = memchr(host, '@', (size_t)(end - host));
	}
	if (host < end && *host == '[') {
		/* An IPv6 literal: "[2001:db8::1]:8080" */
		const char *close = memchr(host, ']', (size_t)(end - host));

		if (!close || (close + 1 < end && close[1] != ':'))
			return RK_OK;
		host++;
		end = close;
	} else {
		colon = memchr(host, ':', (size_t)(end - host));
		if (colon)
			end = colon;
	}
	len = (size_t)(end - host);
	if (len == 0 || len >= sizeof(buf))
		return RK_OK;
	memcpy(buf, host, len);
	buf[len] = '\0';
	if (host[-1] != '[') {
		bool numeric = false;

		if (url_host_ipv4(buf, &addr, &numeric))
			return want_ip ? set_source_ip(n, &addr) : RK_OK;
		if (numeric)
			return RK_OK; /* no valid address, and no name either */
	}
	if (rk_addr_parse(buf, &addr) == RK_OK) {
		if (!want_ip || (host[-1] == '[' && !strchr(buf, ':')))
			return RK_OK;
		return set_source_ip(n, &addr);
	}
	if (!want_fqdn || host[-1] == '[')
		return RK_OK;
	err = rk_domain_normalize(buf, &fqdn);
	if (err == RK_ERR_NOMEM)
		return err;
	if (err)
		return RK_OK;
	err = put(n, "source.fqdn", json_string(fqdn));
	free(fqdn);
	return err;
}

static enum rk_err norm_cc(struct ingest_norm *n, const char *name,
			   json_t *value)
{
	char tmp[SHOWN_SIZE], cc[3];
	const char *s;
	enum rk_err err;

	if ((err = want_string(n, name, value, &s)))
		return err;
	for (int i = 0; i < 2; i++) {
		char c = s[i];

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 32);
		if (c < 'A' || c > 'Z')
			goto bad;
		cc[i] = c;
	}
	if (s[2])
		goto bad;
	cc[2] = '\0';
	return set_string(n, name, value, cc);
bad:
	return reject(n, "%s: '%s' is not a two-letter country code", name,
		      shown(s, tmp));
}

/* ------------------------------------------------------------ the event */

static void reset(struct ingest_norm *n)
{
	release_owned(n);
	if (n->nstored)
		memset(n->index, 0xff, INDEX_SLOTS * sizeof(*n->index));
	n->nstored = 0;
	rk_buf_reset(&n->names);
	n->nfields = 0;
	n->reason[0] = '\0';
	rk_buf_reset(&n->key);
	rk_buf_reset(&n->data);
	rk_buf_reset(&n->canon);
	n->dedup_hex[0] = '\0';
	memset(&n->ev, 0, sizeof(n->ev));
}

#define DUMP_FLAGS (JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15))

/* v in decimal, ending at tmp + 32: returns where it starts. */
static char *decimal(char tmp[32], int64_t v)
{
	char *p = tmp + 32;
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	return p;
}

/* A string as Jansson writes it: UTF-8 as it is, '"', '\\' and control
 * characters escaped (\uXXXX in upper case where there is no short
 * form).  RK_ERR_NOMEM, as json_dumpb fails, when s is not UTF-8. */
#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Whether one of the eight bytes of w is not plain printable ASCII or
 * is '"' or '\\' (a string's bytes that dump_string must look at). */
static bool needs_look(uint64_t w)
{
	uint64_t q = w ^ (ONES * '"'), bs = w ^ (ONES * '\\');

	return ((w | ((w - ONES * 0x20) & ~w) | ((q - ONES) & ~q) |
		 ((bs - ONES) & ~bs)) &
		HIGHS) != 0;
}

static enum rk_err dump_string_slow(struct rk_buf *b, const char *s,
				    size_t len);

/* Strings up to this long are written straight into room reserved for
 * the worst case (every byte a \uXXXX). */
#define DUMP_DIRECT_MAX 4096

static enum rk_err dump_string(struct rk_buf *b, const char *s, size_t len)
{
	static const char hexd[] = "0123456789ABCDEF";
	bool high = false;
	char *o;
	size_t i = 0;

	if (len > DUMP_DIRECT_MAX || rk_buf_grow(b, 6 * len + 2))
		return dump_string_slow(b, s, len);
	o = b->data + b->len;
	*o++ = '"';
	while (i < len) {
		unsigned char c;
		uint64_t w;

		if (len - i >= 8) {
			memcpy(&w, s + i, 8);
			if (!needs_look(w)) {
				memcpy(o, s + i, 8);
				o += 8;
				i += 8;
				continue;
			}
		}
		c = (unsigned char)s[i++];
		if (c >= 0x20 && c != '"' && c != '\\') {
			high |= c >= 0x80;
			*o++ = (char)c;
			continue;
		}
		*o++ = '\\';
		switch (c) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '\b': *o++ = 'b'; break;
		case '\f': *o++ = 'f'; break;
		case '\n': *o++ = 'n'; break;
		case '\r': *o++ = 'r'; break;
		case '\t': *o++ = 't'; break;
		default:
			memcpy(o, "u00", 3);
			o[3] = hexd[c >> 4];
			o[4] = hexd[c & 15];
			o += 5;
			break;
		}
	}
	*o++ = '"';
	if (high && !rk_utf8_valid(s, len))
		return RK_ERR_NOMEM;
	b->len = (size_t)(o - b->data);
	b->data[b->len] = '\0';
	return RK_OK;
}

/* dump_string one piece at a time, for long strings. */
static enum rk_err dump_string_slow(struct rk_buf *b, const char *s,
				    size_t len)
{
	static const char hexd[] = "0123456789ABCDEF";
	size_t run = 0;
	bool high = false;
	enum rk_err err = bputc(b, '"');

	for (size_t i = 0; !err && i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char u[6] = {'\\', 'u', '0', '0', hexd[c >> 4], hexd[c & 15]};
		const char *esc = u;
		size_t elen = 2;

		if (c >= 0x20 && c != '"' && c != '\\') {
			high |= c >= 0x80;
			continue;
		}
		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		default: elen = 6; break;
		}
		if (!(err = bput(b, s + run, i - run)))
			err = bput(b, esc, elen);
		run = i + 1;
	}
	if (!err && high && !rk_utf8_valid(s, len))
		return RK_ERR_NOMEM;
	if (!err)
		err = bput(b, s + run, len - run);
	return err ? err : bputc(b, '"');
}

/* ------------------------------------------------------------ reals */

__extension__ typedef unsigned __int128 real_u128;

/* d as "%.<prec>g" writes it (prec 15 or 17), into out (at least 32
 * bytes); returns the length.  Reals between 1e-4 and 10^prec (what
 * "%g" writes without an exponent) are converted exactly here: the
 * significand times a power of ten is at most 120 bits, so the digits
 * are those of the exact binary value rounded to nearest, ties to even,
 * as glibc's printf rounds them; the rest (zero, exponents, NaN) go
 * through snprintf.  tests/unit/test_ingest.c compares the two on
 * millions of values.  snprintf took a fifth of a wide event's dedup
 * key. */
size_t ingest_format_real(char *out, double d, int prec)
{
	static const uint64_t pow10[] = {
		1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull,
		1000000ull, 10000000ull, 100000000ull, 1000000000ull,
		10000000000ull, 100000000000ull, 1000000000000ull,
		10000000000000ull, 100000000000000ull, 1000000000000000ull,
		10000000000000000ull, 100000000000000000ull,
		1000000000000000000ull, 10000000000000000000ull};
	double a = d < 0 ? -d : d;
	char digits[24];
	size_t len = 0;
	uint64_t bits, mant, n = 0;
	int exp2, x, j, tries;

	if ((prec != 15 && prec != 17) || !(a >= 1e-4 && a < 1e15)) {
		int w = snprintf(out, 32, "%.*g", prec, d);

		return w > 0 && w < 32 ? (size_t)w : 0;
	}
	memcpy(&bits, &a, sizeof(bits));
	exp2 = (int)(bits >> 52);
	mant = bits & ((1ull << 52) - 1);
	if (exp2 == 0)
		return 0; /* subnormal: out of the range above anyway */
	mant |= 1ull << 52;
	exp2 -= 1075; /* a = mant * 2^exp2 */
	/* the decimal exponent: a first guess, corrected below */
	x = 0;
	for (double t = a; t >= 10.0; t /= 10.0)
		x++;
	for (double t = a; t < 1.0; t *= 10.0)
		x--;
	for (tries = 0; tries < 3; tries++) {
		real_u128 prod;

		j = prec - 1 - x; /* a * 10^j has prec digits */
		if (j < 0 || j > 19) {
			int w = snprintf(out, 32, "%.*g", prec, d);

			return w > 0 && w < 32 ? (size_t)w : 0;
		}
		prod = (real_u128)mant * pow10[j];
		if (exp2 >= 0) {
			n = (uint64_t)(prod << exp2);
		} else {
			int sh = -exp2;
			real_u128 q = prod >> sh;
			real_u128 r = prod - (q << sh);
			real_u128 half = (real_u128)1 << (sh - 1);

			if (r > half || (r == half && (q & 1)))
				q++;
			n = (uint64_t)q;
		}
		if (n >= pow10[prec])
			x++;
		else if (n < pow10[prec - 1])
			x--;
		else
			break;
	}
	if (tries == 3) { /* cannot happen in the range; be safe */
		int w = snprintf(out, 32, "%.*g", prec, d);

		return w > 0 && w < 32 ? (size_t)w : 0;
	}
	for (int k = prec - 1; k >= 0; k--) {
		digits[k] = (char)('0' + n % 10);
		n /= 10;
	}
	{
		int last = prec - 1; /* the last digit kept: no trailing 0 */

		while (last > 0 && digits[last] == '0' && last > x)
			last--;
		if (d < 0)
			out[len++] = '-';
		if (x >= 0) {
			for (int k = 0; k <= x; k++)
				out[len++] = digits[k];
			if (last > x) {
				out[len++] = '.';
				for (int k = x + 1; k <= last; k++)
					out[len++] = digits[k];
			}
		} else {
			out[len++] = '0';
			out[len++] = '.';
			for (int k = 0; k < -x - 1; k++)
				out[len++] = '0';
			for (int k = 0; k <= last; k++)
				out[len++] = digits[k];
		}
	}
	out[len] = '\0';
	return len;
}

/* A real as Jansson writes it with JSON_REAL_PRECISION(15): "%.15g",
 * ".0" when that looks like an integer, no '+' or leading zeros in the
 * exponent. */
static enum rk_err dump_real(struct rk_buf *b, double d)
{
	char tmp[64], *e;
	int len = (int)ingest_format_real(tmp, d, 15);

	if (len <= 0 || (size_t)len >= sizeof(tmp) - 2)
		return RK_ERR_INTERNAL;
	if (!strchr(tmp, '.') && !strchr(tmp, 'e')) {
		memcpy(tmp + len, ".0", 3);
		len += 2;
	}
	if ((e = strchr(tmp, 'e'))) {
		char *start = e + 1, *end = start + 1;

		if (*start == '-')
			start++;
		while (*end == '0')
			end++;
		if (end != start) {
			memmove(start, end, (size_t)(tmp + len - end) + 1);
			len -= (int)(end - start);
		}
	}
	return bput(b, tmp, (size_t)len);
}

static enum rk_err dump_value(struct rk_buf *b, json_t *v)
{
	char tmp[32], *text;
	enum rk_err err;

	switch (json_typeof(v)) {
	case JSON_STRING:
		return dump_string(b, json_string_value(v),
				   json_string_length(v));
	case JSON_INTEGER:
		text = decimal(tmp, (int64_t)json_integer_value(v));
		return bput(b, text, (size_t)(tmp + 32 - text));
	case JSON_REAL: return dump_real(b, json_real_value(v));
	case JSON_TRUE: return bput(b, "true", 4);
	case JSON_FALSE: return bput(b, "false", 5);
	case JSON_NULL: return bput(b, "null", 4);
	case JSON_ARRAY:
	case JSON_OBJECT:
		text = json_dumps(v, DUMP_FLAGS);
		if (!text)
			return RK_ERR_NOMEM;
		err = rk_buf_adds(b, text);
		free(text);
		return err;
	}
	return RK_ERR_INTERNAL;
}

/* The fields (sorted by name) as compact JSON into n->data, byte for
 * byte what json_dumpb with DUMP_FLAGS writes for them as one object:
 * the stored data of events ingested before stays comparable. */
static enum rk_err dump_fields(struct ingest_norm *n)
{
	struct rk_buf *b = &n->data;
	enum rk_err err;

	rk_buf_reset(b);
	err = bputc(b, '{');
	for (size_t i = 0; !err && i < n->nstored; i++) {
		const struct ingest_field_ref *f = &n->fields[i];

		if ((i && (err = bputc(b, ','))) ||
		    (err = dump_string(b, f->name, f->name_len)) ||
		    (err = bputc(b, ':')))
			break;
		err = dump_value(b, f->value);
	}
	if (!err)
		err = bputc(b, '}');
	if (err == RK_ERR_LIMIT)
		return reject(n, "normalized event is larger than %zu bytes",
			      b->max);
	return err;
}

/* The string value of field name in n->fields, NULL if absent or not a
 * string.  Borrowed from n->fields. */
static char *field_text(struct ingest_norm *n, const char *name)
{
	json_t *value = get(n, name);

	/* store_event's members are not const; the view is only read. */
	return json_is_string(value) ? (char *)json_string_value(value) : NULL;
}

/* "365d", "1d", "2h", "10m" or "90s": a duration as the config takes it. */
static void format_duration(long long seconds, char out[32])
{
	if (seconds && seconds % 86400 == 0)
		snprintf(out, 32, "%lldd", seconds / 86400);
	else if (seconds && seconds % 3600 == 0)
		snprintf(out, 32, "%lldh", seconds / 3600);
	else if (seconds && seconds % 60 == 0)
		snprintf(out, 32, "%lldm", seconds / 60);
	else
		snprintf(out, 32, "%llds", seconds);
}

/* time.source against now: not older than [ingest] max_age (0 = no
 * limit), not further ahead than [ingest] max_skew.  text is the value
 * as given, for the reason. */
static enum rk_err check_age(struct ingest_norm *n,
			     const struct rk_config *cfg, int64_t now,
			     const char *text, int64_t t)
{
	char tmp[SHOWN_SIZE], limit[32];

	/* Both times are within a few hundred billion seconds of 0
	 * (rk_time_parse takes years 0000..9999): no overflow. */
	if (cfg->ingest.max_age > 0 && t < now &&
	    now - t > cfg->ingest.max_age) {
		format_duration(cfg->ingest.max_age, limit);
		return reject(n, "time.source: '%s' is older than [ingest] "
				 "max_age (%s)",
			      shown(text, tmp), limit);
	}
	if (t > now && t - now > cfg->ingest.max_skew) {
		format_duration(cfg->ingest.max_skew, limit);
		return reject(n, "time.source: '%s' is more than [ingest] "
				 "max_skew (%s) in the future",
			      shown(text, tmp), limit);
	}
	return RK_OK;
}

/* The fields by name, in place: a binary insertion sort.  An event has
 * tens of fields, often nearly in order; qsort's merge sort copied them
 * through a buffer and called back for every comparison, a tenth of the
 * normalizer's time.  Names are distinct (the table holds each once), so
 * the order is the one qsort gave. */
static void sort_fields(struct ingest_field_ref *f, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct ingest_field_ref cur = f[i];
		size_t lo = 0, hi = i;

		if (strcmp(f[i - 1].name, cur.name) <= 0)
			continue; /* already in place */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (strcmp(f[mid].name, cur.name) <= 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		memmove(&f[lo + 1], &f[lo], (i - lo) * sizeof(*f));
		f[lo] = cur;
	}
}

static bool dedup_ignored(const struct rk_config *cfg, const char *name,
			  size_t len)
{
	if (len == sizeof("time.observation") - 1 &&
	    memcmp(name, "time.observation", len) == 0)
		return true;
	for (size_t i = 0; i < cfg->ingest.ndedup_ignore; i++)
		if (cfg->ingest.dedup_ignore[i][0] == name[0] &&
		    strcmp(name, cfg->ingest.dedup_ignore[i]) == 0)
			return true;
	return false;
}

/* tag (when not NUL), the decimal v, then end: without printf, which
 * would be the largest cost of the key. */
static enum rk_err canon_number(struct rk_buf *b, char tag, int64_t v,
				char end)
{
	char tmp[32], *text = decimal(tmp, v);
	enum rk_err err = RK_OK;

	if (tag)
		err = bputc(b, tag);
	if (!err)
		err = bput(b, text, (size_t)(tmp + 32 - text));
	return err ? err : bputc(b, end);
}

/* One value in the canonical text: a type letter, then the value with
 * its length where it has no end of its own. */
static enum rk_err canon_value(struct rk_buf *b, json_t *value)
{
	char *text;
	size_t len;
	enum rk_err err;

	switch (json_typeof(value)) {
	case JSON_STRING:
		len = json_string_length(value);
		if ((err = canon_number(b, 's', (int64_t)len, ':')))
			return err;
		return bput(b, json_string_value(value), len);
	case JSON_INTEGER:
		return canon_number(b, 'i', (int64_t)json_integer_value(value),
				    ';');
	case JSON_REAL:
	{
		char tmp[40];

		tmp[0] = 'r';
		len = ingest_format_real(tmp + 1, json_real_value(value), 17);
		if (!len)
			return RK_ERR_INTERNAL;
		tmp[len + 1] = ';';
		return bput(b, tmp, len + 2);
	}
	case JSON_TRUE: return bputc(b, 't');
	case JSON_FALSE: return bputc(b, 'f');
	case JSON_NULL: return bputc(b, 'n');
	case JSON_ARRAY:
	case JSON_OBJECT:
		text = json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS |
						 JSON_ENCODE_ANY);
		if (!text)
			return RK_ERR_NOMEM;
		len = strlen(text);
		err = canon_number(b, 'j', (int64_t)len, ':');
		if (!err)
			err = bput(b, text, len);
		free(text);
		return err;
	}
	return RK_ERR_INTERNAL;
}

/* ev.dedup_key: SHA-256 (hex) of every normalized field but
 * time.observation and [ingest] dedup_ignore, as "<len>:<name>=<value>"
 * in name order.  Two events are duplicates only when all of those are
 * equal; the order the input gave them in does not matter. */
static enum rk_err dedup_key(struct ingest_norm *n,
			     const struct rk_config *cfg)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	enum rk_err err = RK_OK;

	/* Once sorted, the fields are looked up no more: the index is
	 * stale until the next event. */
	sort_fields(n->fields, n->nstored);
	rk_buf_reset(&n->canon);
	for (size_t i = 0; i < n->nstored && !err; i++) {
		const struct ingest_field_ref *f = &n->fields[i];

		if (dedup_ignored(cfg, f->name, f->name_len))
			continue;
		if (!(err = canon_number(&n->canon, '\0', (int64_t)f->name_len,
					 ':')) &&
		    !(err = bput(&n->canon, f->name, f->name_len)) &&
		    !(err = bputc(&n->canon, '=')))
			err = canon_value(&n->canon, f->value);
	}
	if (err == RK_ERR_LIMIT)
		return reject(n, "normalized event is larger than %zu bytes",
			      n->canon.max);
	if (err)
		return err;
	if (!EVP_DigestInit_ex(n->md, n->sha256, NULL) ||
	    !EVP_DigestUpdate(n->md, n->canon.data, n->canon.len) ||
	    !EVP_DigestFinal_ex(n->md, digest, &dlen) || dlen != 32)
		return RK_ERR_INTERNAL;
	for (unsigned int i = 0; i < dlen; i++) {
		n->dedup_hex[2 * i] = hex[digest[i] >> 4];
		n->dedup_hex[2 * i + 1] = hex[digest[i] & 15];
	}
	n->dedup_hex[2 * dlen] = '\0';
	return RK_OK;
}

/* rk_config_category(cfg, type, identifier), remembered: the default
 * looks at every word of the identifier, and a report has few distinct
 * (type, identifier) pairs.  type is rk_type_find's static text, so its
 * address is its identity; the answer is static or cfg's text. */
static const char *category(struct ingest_norm *n,
			    const struct rk_config *cfg, const char *type,
			    const char *identifier)
{
	size_t len = identifier ? strlen(identifier) : 0;
	struct ingest_category_memo *m;
	const char *c;

	if (len >= sizeof(m->identifier))
		return rk_config_category(cfg, type, identifier);
	m = &n->categories[(name_hash(identifier ? identifier : "", len) ^
			    ((uintptr_t)type >> 4)) &
			   (INGEST_CATEGORY_MEMO - 1)];
	if (m->cfg == cfg && m->type == type &&
	    m->has_identifier == (identifier != NULL) &&
	    (!identifier || strcmp(m->identifier, identifier) == 0))
		return m->category;
	c = rk_config_category(cfg, type, identifier);
	m->cfg = cfg;
	m->type = type;
	m->has_identifier = identifier != NULL;
	memcpy(m->identifier, identifier ? identifier : "", len + 1);
	m->category = c;
	return c;
}

enum rk_err ingest_normalize(struct ingest_norm *n,
			     const struct rk_config *cfg, int64_t now,
			     json_t *root)
{
	enum rk_err err;

	ingest_norm_start(n, cfg);
	if (!json_is_object(root))
		return reject(n, "not a JSON object");
	/* the fields borrow their values from root */
	if ((err = own(n, json_incref(root))) || (err = flatten(n, root, 1)))
		return err;
	return ingest_norm_finish(n, cfg, now);
}

void ingest_norm_start(struct ingest_norm *n, const struct rk_config *cfg)
{
	reset(n);
	n->max_field = ingest_max_field(cfg); /* [ingest] max_field */
}

enum rk_err ingest_norm_field(struct ingest_norm *n, const char *name,
			      size_t len, json_t *value, int depth)
{
	enum rk_err err;

	if ((err = own(n, value)))
		return err;
	rk_buf_reset(&n->key);
	if (bput(&n->key, name, len))
		return reject(n, "field name is too long");
	return add_field(n, value, depth);
}

enum rk_err ingest_norm_finish(struct ingest_norm *n,
			       const struct rk_config *cfg, int64_t now)
{
	const struct rk_type_info *type = NULL;
	struct store_event *ev = &n->ev;
	json_t *value;
	const char *s;
	char tmp[SHOWN_SIZE];
	enum rk_tlp tlp = cfg->relay.default_tlp;
	int64_t observed;
	enum rk_err err;

	for (size_t i = 0; i < n->nstored; i++) {
		n->fields[i].name = n->names.data + n->name_off[i];
		n->name_off[i] = SIZE_MAX;
	}

	for (size_t i = 0; i < RK_ARRAY_LEN(checked_fields); i++) {
		const char *name = checked_fields[i].name;

		value = get(n, name);
		if (!value) {
			if (checked_fields[i].required)
				return reject(n, "missing %s", name);
			continue;
		}
		switch (checked_fields[i].kind) {
		case KIND_TIME:
			err = norm_time(n, name, value,
					i == 0 ? &ev->time_source : &observed);
			if (!err && i == 0)
				err = check_age(n, cfg, now,
						json_string_value(value),
						ev->time_source);
			break;
		case KIND_TYPE:
			if ((err = want_string(n, name, value, &s)))
				break;
			type = rk_type_find(s);
			if (!type) {
				err = reject(n, "%s: '%s' is not an IntelMQ "
						"type",
					     name, shown(s, tmp));
				break;
			}
			err = set_string(n, name, value, type->type);
			break;
		case KIND_TEXT:
			err = json_is_string(value)
				      ? RK_OK
				      : reject(n, "%s: not a string", name);
			break;
		case KIND_IP: err = norm_ip(n, name, value); break;
		case KIND_ASN: err = norm_asn(n, name, value); break;
		case KIND_PORT: {
			long long port;

			err = want_integer(n, name, value, 0, 65535,
					   "a port number", &port);
			break;
		}
		case KIND_FQDN: err = norm_fqdn(n, name, value); break;
		case KIND_URL: err = norm_url(n, name, value); break;
		case KIND_CC: err = norm_cc(n, name, value); break;
		case KIND_TLP:
			if ((err = want_string(n, name, value, &s)))
				break;
			if (rk_tlp_parse(s, &tlp)) {
				err = reject(n, "tlp: '%s' is not a TLP label",
					     shown(s, tmp));
				break;
			}
			break;
		}
		if (err)
			return err;
	}

	/* Derived fields. */
	if ((s = field_text(n, "source.url")) &&
	    (err = host_from_url(n, s, !get(n, "source.ip"),
				 !get(n, "source.fqdn"))))
		return err;
	if (!get(n, "classification.taxonomy") &&
	    (err = put(n, "classification.taxonomy",
		       json_string(type->taxonomy))))
		return err;
	if ((err = put(n, "tlp", json_incref(n->tlp_names[tlp]))))
		return err;

	/* The view handed to the store. */
	ev->type = (char *)type->type;
	ev->taxonomy = field_text(n, "classification.taxonomy");
	ev->identifier = field_text(n, "classification.identifier");
	ev->feed_name = field_text(n, "feed.name");
	ev->source_ip = field_text(n, "source.ip");
	ev->source_fqdn = field_text(n, "source.fqdn");
	ev->source_url = field_text(n, "source.url");
	ev->source_cc = field_text(n, "source.geolocation.cc");
	value = get(n, "source.asn");
	ev->source_asn = json_is_integer(value)
				 ? (uint32_t)json_integer_value(value)
				 : 0;
	ev->tlp = tlp;
	ev->severity = rk_config_severity(cfg, type->type);
	/* a view like the rest: static text, never freed through it */
	ev->category = (char *)category(n, cfg, type->type, ev->identifier);

	/* An event needs a subject: IP, URL, domain or AS. */
	if (!ev->source_ip && !ev->source_url && !ev->source_fqdn &&
	    !ev->source_asn)
		return reject(n, "no source.ip, source.fqdn, source.url or "
				 "source.asn");
	if ((err = dedup_key(n, cfg)))
		return err;
	ev->dedup_key = n->dedup_hex;
	ev->dedup_time = dedup_ignored(cfg, "time.source",
				       sizeof("time.source") - 1) ? 0
							  : ev->time_source;

	if ((err = dump_fields(n)))
		return err;
	ev->data = n->data.data;
	return RK_OK;
}

/* ------------------------------------------------------------ copies */

static enum rk_err copy_text(char **dst, const char *src)
{
	if (!src)
		return RK_OK;
	*dst = rk_strdup(src);
	return *dst ? RK_OK : RK_ERR_NOMEM;
}

enum rk_err ingest_event_copy(const struct store_event *view,
			      struct store_event *ev)
{
	enum rk_err err;

	memset(ev, 0, sizeof(*ev));
	ev->report_id = view->report_id;
	ev->time_source = view->time_source;
	ev->dedup_time = view->dedup_time;
	ev->source_asn = view->source_asn;
	ev->tlp = view->tlp;
	ev->severity = view->severity;
	if ((err = copy_text(&ev->dedup_key, view->dedup_key)) ||
	    (err = copy_text(&ev->type, view->type)) ||
	    (err = copy_text(&ev->taxonomy, view->taxonomy)) ||
	    (err = copy_text(&ev->identifier, view->identifier)) ||
	    (err = copy_text(&ev->feed_name, view->feed_name)) ||
	    (err = copy_text(&ev->source_ip, view->source_ip)) ||
	    (err = copy_text(&ev->source_fqdn, view->source_fqdn)) ||
	    (err = copy_text(&ev->source_url, view->source_url)) ||
	    (err = copy_text(&ev->source_cc, view->source_cc)) ||
	    (err = copy_text(&ev->data, view->data)) ||
	    (err = copy_text(&ev->category, view->category)) ||
	    (err = copy_text(&ev->state, STORE_EVENT_NEW)))
		store_event_release(ev);
	return err;
}
