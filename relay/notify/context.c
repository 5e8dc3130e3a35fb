/* The data a notice template sees (docs/templates.md). */
#include <stdlib.h>
#include <string.h>

#include "renraku/notify.h"

#define JST_OFFSET_MIN (9 * 60)

/* One evidence row, as display text. */
struct row {
	char *addr, *port, *time, *what, *url;
};

static void row_release(struct row *r)
{
	free(r->addr);
	free(r->port);
	free(r->time);
	free(r->what);
	free(r->url);
}

/* A copy of s with control characters replaced by spaces (values from
 * reports are untrusted: they must not break lines or headers). */
static char *clean(const char *s)
{
	char *copy = rk_strdup(s ? s : "");

	return copy ? rk_str_clean_line(copy) : NULL;
}

/* A field of the event's data JSON as text (numbers printed), cleaned;
 * NULL when absent or empty.  Caller frees. */
static char *field(json_t *data, const char *key)
{
	json_t *v = json_object_get(data, key);
	char num[32];

	if (json_is_string(v))
		return json_string_length(v) ? clean(json_string_value(v)) : NULL;
	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld",
			 (long long)json_integer_value(v));
		return rk_strdup(num);
	}
	if (json_is_real(v)) {
		snprintf(num, sizeof(num), "%g", json_real_value(v));
		return rk_strdup(num);
	}
	return NULL;
}

static int set_str(json_t *obj, const char *key, const char *value)
{
	if (!value)
		return 0;
	return json_object_set_new(obj, key, json_string(value));
}

/* set_str for a value we own: consumed. */
static int set_own(json_t *obj, const char *key, char *value)
{
	int rc = set_str(obj, key, value);

	free(value);
	return rc;
}

static json_t *event_json(const struct store_event *ev, json_t *data)
{
	json_t *o = json_object();
	char utc[RK_TIME_TEXT], jst[RK_TIME_TEXT];
	char *what;

	if (!o)
		return NULL;
	rk_time_format(ev->time_source, 0, utc);
	rk_time_format(ev->time_source, JST_OFFSET_MIN, jst);
	what = field(data, "classification.identifier");
	if (!what)
		what = field(data, "malware.name");
	if (!what)
		what = clean(ev->type);
	set_own(o, "ip", field(data, "source.ip"));
	set_own(o, "port", field(data, "source.port"));
	set_own(o, "asn", field(data, "source.asn"));
	set_own(o, "fqdn", field(data, "source.fqdn"));
	set_own(o, "url", field(data, "source.url"));
	set_own(o, "addr", ev->source_ip ? clean(ev->source_ip)
		: ev->source_fqdn ? clean(ev->source_fqdn) : NULL);
	set_str(o, "time_utc", utc);
	set_str(o, "time_jst", jst);
	set_own(o, "type", clean(ev->type));
	set_own(o, "identifier", field(data, "classification.identifier"));
	set_own(o, "malware", field(data, "malware.name"));
	{
		char *proto = field(data, "protocol.application");

		if (!proto)
			proto = field(data, "protocol.transport");
		set_own(o, "protocol", proto);
	}
	set_own(o, "dest_ip", field(data, "destination.ip"));
	set_own(o, "dest_port", field(data, "destination.port"));
	set_own(o, "what", what);
	set_own(o, "feed", field(data, "feed.name"));
	return o;
}

static enum rk_err pad_to(struct rk_buf *b, const char *s, size_t width)
{
	size_t w = rk_utf8_width(s);
	enum rk_err err = rk_buf_adds(b, s);

	while (!err && w++ < width)
		err = rk_buf_addc(b, ' ');
	return err;
}

/* The evidence table: header row and one line per event, columns padded
 * to their widest cell; a URL goes on its own indented line. */
static enum rk_err evidence_table(const struct row *rows, size_t n, bool ja,
				  struct rk_buf *out)
{
	const char *h_addr = ja ? "IP アドレス" : "Address";
	const char *h_port = ja ? "ポート" : "Port";
	const char *h_time = ja ? "観測日時 (JST)" : "Time (UTC)";
	const char *h_what = ja ? "内容" : "Observed";
	size_t w_addr = rk_utf8_width(h_addr), w_port = rk_utf8_width(h_port);
	size_t w_time = rk_utf8_width(h_time);
	bool any_port = false;
	enum rk_err err = RK_OK;

	for (size_t i = 0; i < n; i++) {
		size_t w = rk_utf8_width(rows[i].addr);

		if (w > w_addr)
			w_addr = w;
		if (rows[i].port[0]) {
			any_port = true;
			if (rk_utf8_width(rows[i].port) > w_port)
				w_port = rk_utf8_width(rows[i].port);
		}
		if (rk_utf8_width(rows[i].time) > w_time)
			w_time = rk_utf8_width(rows[i].time);
	}
	for (size_t i = 0; !err && i <= n; i++) {
		const struct row *r = i ? &rows[i - 1] : NULL;

		err = rk_buf_adds(out, "  ");
		if (!err)
			err = pad_to(out, r ? r->addr : h_addr, w_addr + 2);
		if (!err && any_port)
			err = pad_to(out, r ? r->port : h_port, w_port + 2);
		if (!err)
			err = pad_to(out, r ? r->time : h_time, w_time + 2);
		if (!err)
			err = rk_buf_adds(out, r ? r->what : h_what);
		/* no trailing spaces */
		while (!err && out->len && out->data[out->len - 1] == ' ')
			rk_buf_truncate(out, out->len - 1);
		if (!err && r && r->url && r->url[0])
			err = rk_buf_addf(out, "\n    URL: %s", r->url);
		if (!err && i < n)
			err = rk_buf_addc(out, '\n');
	}
	return err;
}

static enum rk_err row_from_event(const struct store_event *ev, json_t *data,
				  bool ja, struct row *r)
{
	char t[RK_TIME_TEXT];

	memset(r, 0, sizeof(*r));
	rk_time_format(ev->time_source, ja ? JST_OFFSET_MIN : 0, t);
	r->addr = ev->source_ip ? clean(ev->source_ip)
		  : ev->source_fqdn ? clean(ev->source_fqdn)
		  : clean("-");
	r->port = field(data, "source.port");
	if (!r->port)
		r->port = rk_strdup("");
	r->time = rk_strdup(t);
	r->what = field(data, "classification.identifier");
	if (!r->what)
		r->what = field(data, "malware.name");
	if (!r->what)
		r->what = clean(ev->type);
	r->url = field(data, "source.url");
	if (!r->addr || !r->port || !r->time || !r->what)
		return RK_ERR_NOMEM;
	return RK_OK;
}

static json_t *tlp_json(enum rk_tlp tlp)
{
	char label[32];

	snprintf(label, sizeof(label), "TLP:%s", rk_tlp_name(tlp));
	return json_pack("{s:s, s:s, s:b, s:b, s:b, s:b}", "label", label,
			 "name", rk_tlp_name(tlp), "clear", tlp == RK_TLP_CLEAR,
			 "green", tlp == RK_TLP_GREEN, "amber",
			 tlp == RK_TLP_AMBER, "amber_strict",
			 tlp == RK_TLP_AMBER_STRICT);
}

static const struct store_chain_entry *chain_entry(const struct store_ticket *t)
{
	for (size_t i = 0; i < t->nchain; i++)
		if (t->chain[i].level == t->level)
			return &t->chain[i];
	return t->nchain ? &t->chain[0] : NULL;
}

static bool is_inline(const char *format)
{
	return format && strcmp(format, "csv-inline") == 0;
}

enum rk_err notify_ticket_context(const struct rk_config *cfg,
				  const struct store_ticket *t,
				  const struct store_event *events, size_t n,
				  const char *signer_fpr, json_t **out)
{
	return notify_ticket_context_parsed(cfg, t, events, NULL, n,
					    signer_fpr, out);
}

enum rk_err notify_ticket_context_parsed(const struct rk_config *cfg,
					 const struct store_ticket *t,
					 const struct store_event *events,
					 json_t *const *datas, size_t n,
					 const char *signer_fpr, json_t **out)
{
	const struct store_chain_entry *who = chain_entry(t);
	bool ja = t->lang && strcmp(t->lang, "ja") == 0;
	size_t shown = n < RK_MAX_NOTICE_ROWS ? n : RK_MAX_NOTICE_ROWS;
	struct row *rows = calloc(shown ? shown : 1, sizeof(*rows));
	json_t *ctx = json_object(), *list = json_array(), *relay, *ticket;
	struct rk_buf table, tag, csv;
	char now_text[RK_TIME_TEXT], first[RK_TIME_TEXT], last[RK_TIME_TEXT];
	int64_t tmin = 0, tmax = 0;
	enum rk_err err = RK_OK;

	rk_buf_init(&table, RK_MAX_RENDERED);
	rk_buf_init(&tag, 256);
	rk_buf_init(&csv, RK_MAX_ATTACHMENT);
	*out = NULL;
	if (!rows || !ctx || !list) {
		err = RK_ERR_NOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *data;

		if (i >= shown) { /* only the time range is needed */
			if (events[i].time_source < tmin)
				tmin = events[i].time_source;
			if (events[i].time_source > tmax)
				tmax = events[i].time_source;
			continue;
		}
		data = datas ? json_incref(datas[i])
			     : json_loads(events[i].data ? events[i].data : "{}",
					  0, NULL);
		if (!data)
			data = json_object();
		if (i == 0 || events[i].time_source < tmin)
			tmin = events[i].time_source;
		if (i == 0 || events[i].time_source > tmax)
			tmax = events[i].time_source;
		if (i < shown) {
			json_t *ev = event_json(&events[i], data);

			if (!ev || json_array_append_new(list, ev) ||
			    (err = row_from_event(&events[i], data, ja,
						  &rows[i]))) {
				json_decref(data);
				err = err ? err : RK_ERR_NOMEM;
				goto cleanup;
			}
		}
		json_decref(data);
	}
	if ((err = evidence_table(rows, shown, ja, &table)) ||
	    (err = rk_buf_addf(&tag, "[%s #%s]", cfg->relay.ticket_prefix,
			       t->id)))
		goto cleanup;

	relay = json_pack("{s:s, s:s}", "name", cfg->relay.name, "from",
			  cfg->relay.from);
	ticket = json_pack("{s:s, s:s, s:s}", "id", t->id, "tag", tag.data,
			   "prefix", cfg->relay.ticket_prefix);
	if (!relay || !ticket) {
		json_decref(relay);
		json_decref(ticket);
		err = RK_ERR_NOMEM;
		goto cleanup;
	}
	if (cfg->relay.public_url) {
		struct rk_buf url;
		size_t ul = strlen(cfg->relay.public_url);
		bool slash = ul && cfg->relay.public_url[ul - 1] == '/';

		set_str(relay, "public_url", cfg->relay.public_url);
		rk_buf_init(&url, 4096);
		if (!rk_buf_addf(&url, "%s%sack/%s", cfg->relay.public_url,
				 slash ? "" : "/", t->id))
			set_str(ticket, "ack_url", url.data);
		rk_buf_release(&url);
	}
	json_object_set_new(ctx, "relay", relay);
	json_object_set_new(ctx, "ticket", ticket);
	json_object_set_new(ctx, "contact",
			    json_pack("{s:s, s:s}", "org",
				      who && who->org ? who->org : t->contact,
				      "email", t->contact));
	if (who && who->email)
		json_object_set_new(json_object_get(ctx, "contact"), "email",
				    json_string(who->email));
	set_str(ctx, "lang", t->lang);
	json_object_set_new(ctx, "level", json_integer(t->level));
	json_object_set_new(ctx, "direct", json_boolean(t->level == 0));
	json_object_set_new(ctx, "upstream", json_boolean(t->level == 1));
	json_object_set_new(ctx, "national", json_boolean(t->level == 2));
	set_own(ctx, "type", clean(n ? events[0].type : t->template_name));
	set_str(ctx, "template", t->template_name);
	set_str(ctx, "severity", rk_severity_name(t->severity));
	json_object_set_new(ctx, "tlp", tlp_json(t->tlp));
	json_object_set_new(ctx, "event_count", json_integer((json_int_t)n));
	json_object_set_new(ctx, "shown_count", json_integer((json_int_t)shown));
	json_object_set_new(ctx, "more_count",
			    json_integer((json_int_t)(n - shown)));
	json_object_set_new(ctx, "has_more", json_boolean(n > shown));
	rk_time_format(tmin, 0, first);
	rk_time_format(tmax, 0, last);
	set_str(ctx, "first_seen_utc", first);
	set_str(ctx, "last_seen_utc", last);
	rk_time_format(tmin, JST_OFFSET_MIN, first);
	rk_time_format(tmax, JST_OFFSET_MIN, last);
	set_str(ctx, "first_seen_jst", first);
	set_str(ctx, "last_seen_jst", last);
	set_str(ctx, "evidence_table", table.data);
	json_object_set_new(ctx, "events", list);
	list = NULL;
	if (is_inline(t->format)) {
		if ((err = notify_events_csv_parsed(events, datas, n, &csv)))
			goto cleanup;
		json_object_set_new(ctx, "csv",
				    json_pack("{s:b, s:b, s:s}", "attached", 0,
					      "inline", 1, "text", csv.data));
	} else {
		char name[64];

		snprintf(name, sizeof(name), "events-%s.csv", t->id);
		json_object_set_new(ctx, "csv",
				    json_pack("{s:b, s:b, s:s}", "attached", 1,
					      "inline", 0, "filename", name));
	}
	json_object_set_new(ctx, "signing", json_object());
	if (signer_fpr)
		set_str(json_object_get(ctx, "signing"), "fingerprint",
			signer_fpr);
	if (cfg->relay.public_url) {
		struct rk_buf url;
		size_t ul = strlen(cfg->relay.public_url);

		rk_buf_init(&url, 4096);
		if (!rk_buf_addf(&url, "%s%skey.asc", cfg->relay.public_url,
				 ul && cfg->relay.public_url[ul - 1] == '/' ? ""
									      : "/"))
			set_str(json_object_get(ctx, "signing"), "key_url",
				url.data);
		rk_buf_release(&url);
	}
	rk_time_format(rk_now(), 0, now_text);
	set_str(ctx, "date_utc", now_text);
	*out = ctx;
	ctx = NULL;
cleanup:
	for (size_t i = 0; rows && i < shown; i++)
		row_release(&rows[i]);
	free(rows);
	json_decref(ctx);
	json_decref(list);
	rk_buf_release(&table);
	rk_buf_release(&tag);
	rk_buf_release(&csv);
	return err;
}
