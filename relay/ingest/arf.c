/*
 * Abuse mail: ARF (RFC 5965 feedback reports, the historic Version 0.1
 * too), X-ARF 0.2 (X-XARF: PLAIN, a report.txt part of "Key: value"
 * lines) and XARF v4 (a JSON part with "Version": "4").  GMime parses
 * the mail and, for the ARF and X-ARF report parts, their "Key: value"
 * fields (read as a header block).  Each report part is one record, a
 * JSON object of IntelMQ field names; its line is the part number
 * (rec->what = "part", parts numbered depth first from 1).  The evidence
 * (message/rfc822 or text/rfc822-headers, or X-ARF's attachment) rides
 * along under extra.evidence, cut to RK_MAX_EVIDENCE.
 *
 * The whole mail is parsed at open and the records are made there; next
 * hands them out.  Limits: RK_MAX_ARF_MESSAGE, RK_MAX_ARF_HEADERS (checked
 * before GMime sees the mail, which bounds its nesting), RK_MAX_ARF_PARTS,
 * RK_MAX_ARF_DEPTH (multiparts walked; message parts are never entered).
 */
#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>

#include "private.h"

enum arf_kind { KIND_NONE, KIND_ARF, KIND_XARF, KIND_XARF4 };

struct arf_item {
	bool bad;
	long long part;
	json_t *value; /* owned until handed out */
	char reason[INGEST_REASON - 32]; /* room for "part N: " */
};

struct arf_reader {
	struct arf_item *items; /* owned */
	size_t n, next;
	size_t max_evidence;    /* [ingest] max_evidence */
};

/* One leaf part of the mail, borrowed from the message. */
struct arf_part {
	GMimeObject *obj;
	long long number;
};

struct arf_parts {
	struct arf_part list[RK_MAX_ARF_PARTS];
	size_t n;
	bool too_many;
};

/* ------------------------------------------------------------ helpers */

static bool has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), m = strlen(suffix);

	return n >= m && rk_str_ieq(name + n - m, suffix);
}

/* Case-insensitive search of needle in the first len bytes of hay. */
static const char *find_ci(const char *hay, size_t len, const char *needle)
{
	size_t m = strlen(needle);

	for (size_t i = 0; m && i + m <= len; i++)
		if (g_ascii_strncasecmp(hay + i, needle, m) == 0)
			return hay + i;
	return NULL;
}

/* Lines starting with "Content-Type:" in data. */
static size_t count_content_types(const char *data, size_t len)
{
	static const char ct[] = "content-type:";
	size_t count = 0;
	const char *p = data, *end = data + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if ((size_t)(end - p) >= sizeof(ct) - 1 &&
		    g_ascii_strncasecmp(p, ct, sizeof(ct) - 1) == 0)
			count++;
		p = nl ? nl + 1 : end;
	}
	return count;
}

/* Text as JSON takes it: NUL bytes and invalid UTF-8 replaced. */
static json_t *text_value(const char *s, size_t len)
{
	char *copy = g_strndup(s, len), *valid;
	json_t *v;

	for (size_t i = 0; i < len; i++)
		if (copy[i] == '\0')
			copy[i] = '?';
	valid = g_utf8_make_valid(copy, (gssize)len);
	v = json_string(valid);
	g_free(valid);
	g_free(copy);
	return v;
}

static int set_text(json_t *obj, const char *key, const char *s)
{
	json_t *v = text_value(s, strlen(s));

	return v ? json_object_set_new(obj, key, v) : -1;
}

/* A part's decoded content, or a message part written out; caller
 * frees with g_byte_array_unref.  NULL when empty or unreadable. */
static GByteArray *part_bytes(GMimeObject *obj)
{
	GMimeStream *mem = g_mime_stream_mem_new();
	GByteArray *bytes = NULL;
	gssize n = -1;

	if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *m =
			g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));

		if (m)
			n = g_mime_object_write_to_stream(GMIME_OBJECT(m), NULL,
							  mem);
	} else if (GMIME_IS_PART(obj)) {
		GMimeDataWrapper *w =
			g_mime_part_get_content(GMIME_PART(obj));

		if (w)
			n = g_mime_data_wrapper_write_to_stream(w, mem);
	}
	if (n >= 0) {
		/* The stream frees its array unless it is told not to. */
		bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
		g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
	}
	g_object_unref(mem);
	if (bytes && !bytes->len) {
		g_byte_array_unref(bytes);
		bytes = NULL;
	}
	return bytes;
}

/* The fields of a "Key: value" block (an ARF report, X-ARF report.txt)
 * read by GMime as a header block; caller unrefs.  NULL when none. */
static GMimeMessage *field_block(GByteArray *bytes)
{
	const char *p = (const char *)bytes->data;
	size_t len = bytes->len;
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeMessage *m;

	/* A YAML document marker before the fields. */
	while (len && (*p == '\r' || *p == '\n')) {
		p++;
		len--;
	}
	if (len >= 3 && memcmp(p, "---", 3) == 0) {
		const char *nl = memchr(p, '\n', len);

		len = nl ? len - (size_t)(nl + 1 - p) : 0;
		p = nl ? nl + 1 : p;
	}
	stream = g_mime_stream_mem_new_with_buffer(p, len);
	parser = g_mime_parser_new_with_stream(stream);
	m = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	g_object_unref(stream);
	return m;
}

/* The value of field name (first occurrence), surrounding quotes of a
 * YAML scalar removed, into out; false when absent or empty. */
static bool field(GMimeMessage *m, const char *name, char *out, size_t size)
{
	const char *v = g_mime_object_get_header(GMIME_OBJECT(m), name);
	size_t len;

	if (!v)
		return false;
	while (*v == ' ' || *v == '\t')
		v++;
	len = strlen(v);
	while (len && (v[len - 1] == ' ' || v[len - 1] == '\t' ||
		       v[len - 1] == '\r' || v[len - 1] == '\n'))
		len--;
	if (len >= 2 && (v[0] == '"' || v[0] == '\'') && v[len - 1] == v[0]) {
		v++;
		len -= 2;
	}
	if (!len)
		return false;
	if (len >= size)
		len = size - 1;
	memcpy(out, v, len);
	out[len] = '\0';
	return true;
}

/* "Original-Mail-From" -> "extra.original_mail_from". */
static void extra_name(const char *prefix, const char *name, char *out,
		       size_t size)
{
	size_t n = (size_t)snprintf(out, size, "extra.%s", prefix);

	for (; *name && n + 1 < size; name++)
		out[n++] = (*name == '-' || *name == ' ')
				   ? '_'
				   : (char)g_ascii_tolower(*name);
	out[n < size ? n : size - 1] = '\0';
}

/* Every field of m not in skip under extra.<prefix><name>; repeated
 * fields joined with ", ". */
static int fields_to_extra(GMimeMessage *m, json_t *rec, const char *prefix,
			   const char *const *skip)
{
	GMimeHeaderList *list = g_mime_object_get_header_list(GMIME_OBJECT(m));
	int count = list ? g_mime_header_list_get_count(list) : 0;

	for (int i = 0; i < count && i < RK_MAX_EVENT_FIELDS; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(list, i);
		const char *name = g_mime_header_get_name(h);
		const char *value = g_mime_header_get_value(h);
		char key[128];
		bool skipped = false;
		json_t *old;

		if (!name || !value)
			continue;
		for (size_t k = 0; skip[k]; k++)
			if (rk_str_ieq(name, skip[k]))
				skipped = true;
		if (skipped)
			continue;
		extra_name(prefix, name, key, sizeof(key));
		while (*value == ' ' || *value == '\t')
			value++;
		old = json_object_get(rec, key);
		if (old && json_is_string(old)) {
			char *joined = g_strdup_printf("%s, %s",
						       json_string_value(old),
						       value);
			int rc = set_text(rec, key, joined);

			g_free(joined);
			if (rc)
				return -1;
		} else if (set_text(rec, key, value)) {
			return -1;
		}
	}
	return 0;
}

/* A date as RFC 5322 (ARF) or ISO 8601 (X-ARF) into ISO 8601 UTC. */
static bool iso_date(const char *s, char out[RK_TIME_TEXT])
{
	int64_t t;
	GDateTime *dt;

	if (rk_time_parse(s, &t) == RK_OK) {
		rk_time_format_iso(t, out);
		return true;
	}
	dt = g_mime_utils_header_decode_date(s);
	if (!dt)
		return false;
	rk_time_format_iso(g_date_time_to_unix(dt), out);
	g_date_time_unref(dt);
	return true;
}

/* extra.evidence: the bytes of obj, cut to max ([ingest] max_evidence,
 * RK_MAX_EVIDENCE). */
static int add_evidence(json_t *rec, GMimeObject *obj, size_t max)
{
	GByteArray *bytes = obj ? part_bytes(obj) : NULL;
	size_t len;
	json_t *v;
	int rc = 0;

	if (!bytes)
		return 0;
	len = bytes->len;
	if (len > max) {
		len = max;
		/* Do not end inside a UTF-8 sequence. */
		while (len && (bytes->data[len] & 0xc0) == 0x80)
			len--;
		rc = json_object_set_new(rec, "extra.evidence_truncated",
					 json_true());
	}
	v = text_value((const char *)bytes->data, len);
	if (!v || rc || json_object_set_new(rec, "extra.evidence", v))
		rc = -1;
	g_byte_array_unref(bytes);
	return rc;
}

/* ------------------------------------------------------------ types */

struct type_map {
	const char *from;
	const char *type;
};

/* X-ARF 0.2 Report-Type / Category and XARF v4 Type / Category to
 * classification.type (docs/ingest.md has this table). */
static const struct type_map xarf_types[] = {
	{"login-attack", "brute-force"}, {"loginattack", "brute-force"},
	{"brute-force", "brute-force"},  {"bruteforce", "brute-force"},
	{"spam", "spam"},                {"abuse", "spam"},
	{"phishing", "phishing"},        {"fraud", "phishing"},
	{"malware", "malware-distribution"},
	{"malware-distribution", "malware-distribution"},
	{"virus", "malware-distribution"},
	{"ddos", "ddos"},                {"dos", "ddos"},
	{"portscan", "scanner"},         {"port-scan", "scanner"},
	{"scan", "scanner"},             {"scanner", "scanner"},
	{"bot", "infected-system"},      {"botnet", "infected-system"},
	{"infected", "infected-system"}, {"c2", "c2-server"},
	{"cnc", "c2-server"},            {"copyright", "copyright"},
	{"vulnerable", "vulnerable-system"},
	{"vulnerability", "vulnerable-system"},
	{"intrusion", "system-compromise"},
	{"compromised", "system-compromise"},
};

static const char *xarf_type(const char *report_type, const char *category)
{
	for (size_t i = 0; report_type && i < RK_ARRAY_LEN(xarf_types); i++)
		if (rk_str_ieq(report_type, xarf_types[i].from))
			return xarf_types[i].type;
	for (size_t i = 0; category && i < RK_ARRAY_LEN(xarf_types); i++)
		if (rk_str_ieq(category, xarf_types[i].from))
			return xarf_types[i].type;
	return "other";
}

/* ARF Feedback-Type to classification.type; NULL: not an incident. */
static const char *arf_type(const char *feedback, bool has_uri)
{
	if (rk_str_ieq(feedback, "abuse") || rk_str_ieq(feedback, "opt-out"))
		return "spam";
	if (rk_str_ieq(feedback, "fraud"))
		return has_uri ? "phishing" : "other";
	if (rk_str_ieq(feedback, "virus"))
		return "malware-distribution";
	if (rk_str_ieq(feedback, "not-spam"))
		return NULL;
	return "other"; /* auth-failure, other, unknown */
}

/* ------------------------------------------------------------ parts */

static void collect(GMimeObject *obj, int depth, struct arf_parts *parts,
		    long long *number)
{
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int count = g_mime_multipart_get_count(mp);

		if (depth >= RK_MAX_ARF_DEPTH) {
			parts->too_many = true;
			return;
		}
		for (int i = 0; i < count; i++)
			collect(g_mime_multipart_get_part(mp, i), depth + 1,
				parts, number);
		return;
	}
	++*number;
	if (parts->n >= RK_MAX_ARF_PARTS) {
		parts->too_many = true;
		return;
	}
	parts->list[parts->n].obj = obj;
	parts->list[parts->n].number = *number;
	parts->n++;
}

static bool type_is(GMimeObject *obj, const char *type, const char *sub)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);

	return ct && g_mime_content_type_is_type(ct, type, sub);
}

static bool is_evidence(GMimeObject *obj)
{
	return type_is(obj, "message", "rfc822") ||
	       type_is(obj, "text", "rfc822-headers") ||
	       type_is(obj, "message", "rfc822-headers");
}

static bool is_xarf_report(GMimeObject *obj)
{
	const char *name = GMIME_IS_PART(obj)
				   ? g_mime_part_get_filename(GMIME_PART(obj))
				   : NULL;

	return name && rk_str_ieq(name, "report.txt");
}

/* A JSON part that is an XARF v4 report: the parsed object (caller
 * decrefs) or NULL. */
static json_t *xarf4_json(GMimeObject *obj)
{
	const char *name;
	GByteArray *bytes;
	json_t *doc, *version;

	if (!GMIME_IS_PART(obj))
		return NULL;
	name = g_mime_part_get_filename(GMIME_PART(obj));
	if (!type_is(obj, "application", "json") &&
	    !(name && has_suffix(name, ".json")))
		return NULL;
	bytes = part_bytes(obj);
	if (!bytes)
		return NULL;
	doc = bytes->len <= RK_MAX_JSON_LINE
		      ? json_loadb((const char *)bytes->data, bytes->len,
				   JSON_REJECT_DUPLICATES, NULL)
		      : NULL;
	g_byte_array_unref(bytes);
	version = json_object_get(doc, "Version");
	if ((json_is_string(version) &&
	     strcmp(json_string_value(version), "4") == 0) ||
	    (json_is_integer(version) && json_integer_value(version) == 4))
		return doc;
	json_decref(doc);
	return NULL;
}

/* ------------------------------------------------------------ records */

static enum rk_err add_item(struct arf_reader *r, struct arf_item **out)
{
	enum rk_err err = rk_array_room((void **)&r->items, r->n,
					sizeof(*r->items));

	if (err)
		return err;
	*out = &r->items[r->n++];
	memset(*out, 0, sizeof(**out));
	return RK_OK;
}

static enum rk_err add_bad(struct arf_reader *r, long long part,
			   const char *fmt, ...) RK_PRINTF(3, 4);

static enum rk_err add_bad(struct arf_reader *r, long long part,
			   const char *fmt, ...)
{
	struct arf_item *it;
	va_list ap;
	enum rk_err err = add_item(r, &it);

	if (err)
		return err;
	it->bad = true;
	it->part = part;
	va_start(ap, fmt);
	vsnprintf(it->reason, sizeof(it->reason), fmt, ap);
	va_end(ap);
	return RK_OK;
}

static enum rk_err add_value(struct arf_reader *r, long long part, json_t *v)
{
	struct arf_item *it;
	enum rk_err err = add_item(r, &it);

	if (err) {
		json_decref(v);
		return err;
	}
	it->part = part;
	it->value = v;
	return RK_OK;
}

/* A report part read as a block of "Key: value" fields (ARF's
 * message/feedback-report, X-ARF's report.txt). */
struct field_part {
	GByteArray *bytes;
	GMimeMessage *m;   /* NULL: the part holds no field block */
};

static void field_part_open(struct field_part *f, const struct arf_part *p)
{
	f->bytes = part_bytes(p->obj);
	f->m = f->bytes ? field_block(f->bytes) : NULL;
}

static void field_part_close(struct field_part *f)
{
	if (f->m)
		g_object_unref(f->m);
	if (f->bytes)
		g_byte_array_unref(f->bytes);
}

/* The end of a field-block report: the fields not mapped (skip) go
 * under extra., the evidence is attached, and the record is queued; rec
 * is taken in every case. */
static enum rk_err field_part_finish(struct arf_reader *r,
				     const struct arf_part *p,
				     const struct field_part *f, json_t *rec,
				     const char *const *skip,
				     GMimeObject *evidence)
{
	if (fields_to_extra(f->m, rec, "", skip) || add_evidence(rec, evidence, r->max_evidence)) {
		json_decref(rec);
		return RK_ERR_NOMEM;
	}
	return add_value(r, p->number, rec);
}

/* The source by its type (X-ARF Source-Type, XARF v4 SourceType). */
static bool set_source(json_t *rec, const char *type, const char *source)
{
	const char *key = NULL;

	if (rk_str_ieq(type, "ip-address") || rk_str_ieq(type, "ipv4") ||
	    rk_str_ieq(type, "ipv6") || rk_str_ieq(type, "ip") ||
	    rk_str_ieq(type, "ipaddress"))
		key = "source.ip";
	else if (rk_str_ieq(type, "uri") || rk_str_ieq(type, "url"))
		key = "source.url";
	else if (rk_str_ieq(type, "domain") || rk_str_ieq(type, "fqdn") ||
		 rk_str_ieq(type, "hostname"))
		key = "source.fqdn";
	return key && set_text(rec, key, source) == 0;
}

static void set_port(json_t *rec, const char *port)
{
	char *end;
	long v = strtol(port, &end, 10);

	if (end != port && !*end && v > 0 && v < 65536)
		json_object_set_new(rec, "source.port", json_integer(v));
	else
		set_text(rec, "extra.port", port);
}

/* One message/feedback-report part. */
static enum rk_err arf_record(struct arf_reader *r, const struct arf_part *p,
			      GMimeObject *evidence, const char *mail_date)
{
	static const char *const skip[] = {
		"Feedback-Type", "Source-IP", "Arrival-Date", "Received-Date",
		"Reported-Domain", "Reported-Uri", NULL};
	char feedback[64], value[RK_MAX_HEADER_VALUE + 1], iso[RK_TIME_TEXT];
	struct field_part f;
	GMimeMessage *m;
	json_t *rec = NULL;
	const char *type;
	bool subject = false, has_uri;
	enum rk_err err = RK_OK;

	field_part_open(&f, p);
	m = f.m;
	if (!m) {
		err = add_bad(r, p->number, "feedback report has no fields");
		goto cleanup;
	}
	if (!field(m, "Feedback-Type", feedback, sizeof(feedback))) {
		err = add_bad(r, p->number,
			      "feedback report without Feedback-Type");
		goto cleanup;
	}
	has_uri = field(m, "Reported-Uri", value, sizeof(value));
	type = arf_type(feedback, has_uri);
	if (!type) {
		err = add_bad(r, p->number,
			      "Feedback-Type '%s' does not report an incident",
			      feedback);
		goto cleanup;
	}
	if (!(rec = json_object()))
		goto nomem;
	if (set_text(rec, "classification.type", type) ||
	    set_text(rec, "feed.name", "ARF") ||
	    set_text(rec, "extra.feedback_type", feedback))
		goto nomem;
	if (field(m, "Source-IP", value, sizeof(value))) {
		subject = true;
		if (set_text(rec, "source.ip", value))
			goto nomem;
	}
	if (field(m, "Reported-Domain", value, sizeof(value))) {
		subject = true;
		if (set_text(rec, "source.fqdn", value))
			goto nomem;
	}
	if (field(m, "Reported-Uri", value, sizeof(value))) {
		subject = true;
		if (set_text(rec, "source.url", value))
			goto nomem;
	}
	if (!subject) {
		err = add_bad(r, p->number,
			      "feedback report without Source-IP, "
			      "Reported-Domain or Reported-Uri");
		goto cleanup;
	}
	if ((field(m, "Arrival-Date", value, sizeof(value)) ||
	     field(m, "Received-Date", value, sizeof(value)) ||
	     (mail_date && snprintf(value, sizeof(value), "%s", mail_date))) &&
	    iso_date(value, iso)) {
		if (set_text(rec, "time.source", iso))
			goto nomem;
	}
	err = field_part_finish(r, p, &f, rec, skip, evidence);
	rec = NULL;
	goto cleanup;
nomem:
	err = RK_ERR_NOMEM;
cleanup:
	json_decref(rec);
	field_part_close(&f);
	return err;
}

/* One X-ARF 0.2 report.txt part. */
static enum rk_err xarf_record(struct arf_reader *r, const struct arf_part *p,
			       GMimeObject *evidence)
{
	static const char *const skip[] = {"Category", "Report-Type",
					   "Source", "Source-Type", "Date",
					   "Port", "Service", NULL};
	char source[RK_MAX_HEADER_VALUE + 1], stype[64], rtype[64], cat[64];
	char date[128], value[RK_MAX_HEADER_VALUE + 1], iso[RK_TIME_TEXT];
	struct field_part f;
	GMimeMessage *m;
	json_t *rec = NULL;
	bool has_type, has_cat;
	enum rk_err err = RK_OK;

	field_part_open(&f, p);
	m = f.m;
	if (!m) {
		err = add_bad(r, p->number, "X-ARF report.txt has no fields");
		goto cleanup;
	}
	has_type = field(m, "Report-Type", rtype, sizeof(rtype));
	has_cat = field(m, "Category", cat, sizeof(cat));
	if (!has_type && !has_cat) {
		err = add_bad(r, p->number,
			      "X-ARF report without Report-Type or Category");
		goto cleanup;
	}
	if (!field(m, "Source", source, sizeof(source)) ||
	    !field(m, "Source-Type", stype, sizeof(stype))) {
		err = add_bad(r, p->number,
			      "X-ARF report without Source or Source-Type");
		goto cleanup;
	}
	if (!field(m, "Date", date, sizeof(date)) || !iso_date(date, iso)) {
		err = add_bad(r, p->number,
			      "X-ARF report without a readable Date");
		goto cleanup;
	}
	if (!(rec = json_object()))
		goto nomem;
	if (!set_source(rec, stype, source)) {
		err = add_bad(r, p->number,
			      "X-ARF Source-Type '%s' is not ip-address, uri "
			      "or domain",
			      stype);
		goto cleanup;
	}
	if (set_text(rec, "classification.type",
		     xarf_type(has_type ? rtype : NULL, has_cat ? cat : NULL)) ||
	    set_text(rec, "time.source", iso) ||
	    set_text(rec, "feed.name", "X-ARF") ||
	    (has_type && set_text(rec, "extra.report_type", rtype)) ||
	    (has_cat && set_text(rec, "extra.category", cat)))
		goto nomem;
	if (field(m, "Port", value, sizeof(value)))
		set_port(rec, value);
	if (field(m, "Service", value, sizeof(value)) &&
	    set_text(rec, "protocol.application", value))
		goto nomem;
	err = field_part_finish(r, p, &f, rec, skip, evidence);
	rec = NULL;
	goto cleanup;
nomem:
	err = RK_ERR_NOMEM;
cleanup:
	json_decref(rec);
	field_part_close(&f);
	return err;
}

/* A string member of the XARF v4 report (top level or "Report"). */
static const char *v4_text(json_t *doc, const char *a, const char *b)
{
	json_t *report = json_object_get(doc, "Report");
	json_t *objs[2] = {report, doc};

	for (size_t i = 0; i < 2; i++) {
		json_t *v = json_object_get(objs[i], a);

		if (!v && b)
			v = json_object_get(objs[i], b);
		if (json_is_string(v) && json_string_length(v))
			return json_string_value(v);
	}
	return NULL;
}

/* One XARF v4 JSON part (doc taken over). */
static enum rk_err xarf4_record(struct arf_reader *r,
				const struct arf_part *p, json_t *doc,
				GMimeObject *evidence)
{
	const char *type = v4_text(doc, "ReportType", "Type");
	const char *cat = v4_text(doc, "Category", "ReportClass");
	const char *source = v4_text(doc, "Source", "SourceIp");
	const char *stype = v4_text(doc, "SourceType", NULL);
	const char *date = v4_text(doc, "Date", "FirstSeen");
	const char *port = v4_text(doc, "SourcePort", "Port");
	char iso[RK_TIME_TEXT];
	json_t *rec = NULL, *report;
	enum rk_err err = RK_OK;

	if (!type && !cat) {
		err = add_bad(r, p->number,
			      "XARF v4 report without Type or Category");
		goto cleanup;
	}
	if (!source) {
		err = add_bad(r, p->number, "XARF v4 report without Source");
		goto cleanup;
	}
	if (!stype)
		stype = json_object_get(json_object_get(doc, "Report"),
					"SourceIp") ||
				json_object_get(doc, "SourceIp")
			? "ip-address"
			: NULL;
	if (!date || !iso_date(date, iso)) {
		err = add_bad(r, p->number,
			      "XARF v4 report without a readable Date");
		goto cleanup;
	}
	if (!(rec = json_object()))
		goto nomem;
	if (!stype || !set_source(rec, stype, source)) {
		err = add_bad(r, p->number,
			      "XARF v4 SourceType '%s' is not ip-address, uri "
			      "or domain",
			      stype ? stype : "");
		goto cleanup;
	}
	if (set_text(rec, "classification.type", xarf_type(type, cat)) ||
	    set_text(rec, "time.source", iso) ||
	    set_text(rec, "feed.name", "XARF") ||
	    (type && set_text(rec, "extra.report_type", type)) ||
	    (cat && set_text(rec, "extra.category", cat)))
		goto nomem;
	report = json_object_get(doc, "Report");
	if (port)
		set_port(rec, port);
	else if (json_is_integer(json_object_get(report, "SourcePort")))
		json_object_set(rec, "source.port",
				json_object_get(report, "SourcePort"));
	if (json_is_object(json_object_get(doc, "ReporterInfo"))) {
		const char *org = json_string_value(json_object_get(
			json_object_get(doc, "ReporterInfo"), "ReporterOrg"));

		if (org && set_text(rec, "extra.reporter_org", org))
			goto nomem;
	}
	if (add_evidence(rec, evidence, r->max_evidence))
		goto nomem;
	err = add_value(r, p->number, rec);
	rec = NULL;
	goto cleanup;
nomem:
	err = RK_ERR_NOMEM;
cleanup:
	json_decref(rec);
	json_decref(doc);
	return err;
}

/* ------------------------------------------------------------ format */

static int arf_detect(const char *name, const char *data, size_t len)
{
	size_t head = len < (64u << 10) ? len : (64u << 10);
	bool named = name && has_suffix(name, ".eml");
	bool mail = find_ci(data, head, "content-type:") != NULL;

	/* Larger mail is refused by open anyway: look no further. */
	if (len > RK_MAX_ARF_MESSAGE)
		len = RK_MAX_ARF_MESSAGE;

	if (!mail)
		return 0;
	if (find_ci(data, head, "feedback-report") ||
	    find_ci(data, head, "x-xarf:") ||
	    (find_ci(data, len, "\"Version\"") &&
	     find_ci(data, len, "application/json")))
		return named ? 2 : 1;
	return 0;
}

static void arf_close(void *reader)
{
	struct arf_reader *r = reader;

	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		json_decref(r->items[i].value);
	free(r->items);
	free(r);
}

static enum rk_err read_parts(struct arf_reader *r, GMimeMessage *msg,
			      struct arf_parts *parts, char *reason,
			      size_t reason_len)
{
	GMimeObject *top = g_mime_message_get_mime_part(msg);
	const char *xarf = g_mime_object_get_header(GMIME_OBJECT(msg), "X-XARF");
	const char *mail_date = g_mime_object_get_header(GMIME_OBJECT(msg),
							 "Date");
	GMimeObject *first_evidence = NULL;
	long long number = 0;
	size_t reports = 0;
	enum rk_err err = RK_OK;

	if (!top) {
		snprintf(reason, reason_len,
			 "not an abuse report mail: no MIME body");
		return RK_ERR_PARSE;
	}
	collect(top, 0, parts, &number);
	if (parts->too_many) {
		snprintf(reason, reason_len,
			 "abuse report mail has more than RK_MAX_ARF_PARTS (%d) "
			 "parts or RK_MAX_ARF_DEPTH (%d) nested multiparts",
			 RK_MAX_ARF_PARTS, RK_MAX_ARF_DEPTH);
		return RK_ERR_PARSE;
	}
	for (size_t i = 0; i < parts->n && !first_evidence; i++)
		if (is_evidence(parts->list[i].obj))
			first_evidence = parts->list[i].obj;
	for (size_t i = 0; !err && i < parts->n; i++) {
		const struct arf_part *p = &parts->list[i];
		json_t *doc;

		if (type_is(p->obj, "message", "feedback-report")) {
			reports++;
			err = arf_record(r, p, first_evidence, mail_date);
		} else if (xarf && is_xarf_report(p->obj)) {
			/* The evidence: the part after the report, unless it
			 * is the next report. */
			GMimeObject *ev = NULL;

			if (i + 1 < parts->n &&
			    !is_xarf_report(parts->list[i + 1].obj))
				ev = parts->list[i + 1].obj;
			reports++;
			err = xarf_record(r, p, ev);
		} else if ((doc = xarf4_json(p->obj))) {
			reports++;
			err = xarf4_record(r, p, doc, first_evidence);
		}
	}
	if (!err && !reports) {
		snprintf(reason, reason_len,
			 "not an abuse report mail: no message/feedback-report "
			 "part (ARF), no report.txt with X-XARF (X-ARF 0.2), "
			 "no JSON part with \"Version\": \"4\" (XARF v4)");
		err = RK_ERR_PARSE;
	}
	return err;
}

static enum rk_err arf_open(const struct ingest_source *src, void **out,
			    char *reason, size_t reason_len)
{
	const char *data = src->data;
	size_t len = src->len;
	struct arf_reader *r;
	struct arf_parts *parts = NULL;
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeMessage *msg;
	enum rk_err err;

	*out = NULL;
	if (len > RK_MAX_ARF_MESSAGE) {
		snprintf(reason, reason_len,
			 "abuse report mail is larger than RK_MAX_ARF_MESSAGE "
			 "(%u bytes)",
			 RK_MAX_ARF_MESSAGE);
		return RK_ERR_PARSE;
	}
	/* Bounds how deep GMime's parser can nest. */
	if (count_content_types(data, len) > RK_MAX_ARF_HEADERS) {
		snprintf(reason, reason_len,
			 "abuse report mail has more than RK_MAX_ARF_HEADERS "
			 "(%d) Content-Type lines",
			 RK_MAX_ARF_HEADERS);
		return RK_ERR_PARSE;
	}
	stream = g_mime_stream_mem_new_with_buffer(data, len);
	parser = g_mime_parser_new_with_stream(stream);
	msg = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	g_object_unref(stream);
	if (!msg) {
		snprintf(reason, reason_len,
			 "not an abuse report mail: not a MIME message");
		return RK_ERR_PARSE;
	}
	r = calloc(1, sizeof(*r));
	parts = calloc(1, sizeof(*parts));
	if (!r || !parts) {
		err = RK_ERR_NOMEM;
		goto cleanup;
	}
	r->max_evidence = ingest_max_evidence(src->cfg);
	err = read_parts(r, msg, parts, reason, reason_len);
cleanup:
	g_object_unref(msg);
	free(parts);
	if (err) {
		arf_close(r);
		return err;
	}
	*out = r;
	return RK_OK;
}

static enum rk_err arf_next(void *reader, struct ingest_record *rec)
{
	struct arf_reader *r = reader;
	struct arf_item *it;

	rec->kind = INGEST_RECORD_END;
	rec->value = NULL;
	rec->reason[0] = '\0';
	rec->what = "part";
	if (r->next >= r->n)
		return RK_OK;
	it = &r->items[r->next++];
	rec->line = it->part;
	if (it->bad) {
		rec->kind = INGEST_RECORD_BAD;
		snprintf(rec->reason, sizeof(rec->reason), "part %lld: %s",
			 it->part, it->reason);
	} else {
		rec->kind = INGEST_RECORD_VALUE;
		rec->value = it->value;
		it->value = NULL;
	}
	return RK_OK;
}

const struct ingest_format_ops ingest_format_arf = {
	.name = "arf",
	.id = INGEST_FORMAT_ARF,
	.label = "an abuse report mail (ARF, X-ARF)",
	.detect = arf_detect,
	.open = arf_open,
	.next = arf_next,
	.close = arf_close,
};
