/* The data a notice template sees (docs/templates.md). */
#include <stdlib.h>
#include <string.h>

#include "renraku/notify.h"

#define JST_OFFSET_MIN (9 * 60)

/* One evidence row, as display text ("" = not in this event). */
struct row {
	char *addr, *sport, *dport, *proto, *time, *what, *url;
};

static void row_release(struct row *r)
{
	free(r->addr);
	free(r->sport);
	free(r->dport);
	free(r->proto);
	free(r->time);
	free(r->what);
	free(r->url);
}

/* What an event is about: the subject resolve used (IP, else domain,
 * else AS number). */
enum subject { SUBJ_IP, SUBJ_DOMAIN, SUBJ_ASN, SUBJ_OTHER };

static enum subject subject_of(const struct store_event *ev)
{
	if (ev->source_ip && *ev->source_ip)
		return SUBJ_IP;
	if (ev->source_fqdn && *ev->source_fqdn)
		return SUBJ_DOMAIN;
	if (ev->source_asn)
		return SUBJ_ASN;
	return SUBJ_OTHER;
}

static const char *const subject_names[] = {"ip", "domain", "asn", "other"};

/* Which ports the evidence table shows, by the kind of event: the
 * source port means the attacked service for some types and a random
 * client port for others, so a column is named for what it holds. */
enum table_kind {
	TABLE_ATTACK,   /* brute-force, scanner, ddos, exploit: the
			   destination (the attacked port) and protocol */
	TABLE_SERVICE,  /* vulnerable-system, c2-server: the source port is
			   the service on the recipient's host */
	TABLE_INFECTED, /* infected-system: the source port (finds the
			   device behind NAT) */
	TABLE_URL,      /* phishing, malware-distribution: URLs, no ports */
	TABLE_GENERIC   /* anything else: every port, named */
};

static enum table_kind table_kind_of(const char *type)
{
	static const struct {
		const char *type;
		enum table_kind kind;
	} kinds[] = {
		{"brute-force", TABLE_ATTACK},
		{"scanner", TABLE_ATTACK},
		{"ddos", TABLE_ATTACK},
		{"exploit", TABLE_ATTACK},
		{"vulnerable-system", TABLE_SERVICE},
		{"c2-server", TABLE_SERVICE},
		{"infected-system", TABLE_INFECTED},
		{"phishing", TABLE_URL},
		{"malware-distribution", TABLE_URL},
	};

	for (size_t i = 0; type && i < RK_ARRAY_LEN(kinds); i++)
		if (strcmp(type, kinds[i].type) == 0)
			return kinds[i].kind;
	return TABLE_GENERIC;
}

/* What the table shows: which columns, under which headers. */
struct table_cols {
	enum table_kind kind;
	enum subject subject; /* SUBJ_OTHER: mixed */
	bool sport, dport, proto;
};

/* A copy of s with control characters replaced by spaces (values from
 * reports are untrusted: they must not break lines or headers). */
static char *clean(const char *s)
{
	char *copy = rk_strdup(s ? s : "");

	return copy ? rk_str_clean_line(copy) : NULL;
}

/* One event's data fields, as the notice read them. */
struct evdata {
	const struct notify_fieldset *set;
	const struct notify_fields *f;
};

/* A field of the event's data as text (numbers printed), cleaned; NULL
 * when absent, empty or neither a string nor a number.  Caller frees. */
static char *field(const struct evdata *d, enum notify_field key)
{
	const struct notify_value *v = &d->f->v[key];
	char num[32];

	switch (v->kind) {
	case NOTIFY_V_STRING:
		return v->len ? clean(notify_value_text(d->set, v)) : NULL;
	case NOTIFY_V_INTEGER:
		snprintf(num, sizeof(num), "%lld", v->num.i);
		return rk_strdup(num);
	case NOTIFY_V_REAL:
		snprintf(num, sizeof(num), "%g", v->num.d);
		return rk_strdup(num);
	default:
		return NULL;
	}
}

/* Does the event's data carry a value field() gives text for? */
static bool has_field(const struct evdata *d, enum notify_field key)
{
	const struct notify_value *v = &d->f->v[key];

	return (v->kind == NOTIFY_V_STRING && v->len) ||
	       v->kind == NOTIFY_V_INTEGER || v->kind == NOTIFY_V_REAL;
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

/* The table's address cell: IP, else domain, else "AS64500"; NULL when
 * the event has none of them.  Caller frees. */
static char *addr_text(const struct store_event *ev)
{
	char asn[32];

	switch (subject_of(ev)) {
	case SUBJ_IP: return clean(ev->source_ip);
	case SUBJ_DOMAIN: return clean(ev->source_fqdn);
	case SUBJ_ASN:
		snprintf(asn, sizeof(asn), "AS%lu", (unsigned long)ev->source_asn);
		return rk_strdup(asn);
	case SUBJ_OTHER: break;
	}
	return NULL;
}

/* protocol.application, else protocol.transport; caller frees */
static char *protocol_text(const struct evdata *data)
{
	char *proto = field(data, NOTIFY_F_PROTO_APPLICATION);

	return proto ? proto : field(data, NOTIFY_F_PROTO_TRANSPORT);
}

static json_t *event_json(const struct store_event *ev,
			  const struct evdata *data)
{
	json_t *o = json_object();
	char utc[RK_TIME_TEXT], jst[RK_TIME_TEXT];
	char *what;

	if (!o)
		return NULL;
	rk_time_format(ev->time_source, 0, utc);
	rk_time_format(ev->time_source, JST_OFFSET_MIN, jst);
	what = field(data, NOTIFY_F_IDENTIFIER);
	if (!what)
		what = field(data, NOTIFY_F_MALWARE);
	if (!what)
		what = clean(ev->type);
	set_own(o, "ip", field(data, NOTIFY_F_SOURCE_IP));
	set_own(o, "port", field(data, NOTIFY_F_SOURCE_PORT));
	set_own(o, "asn", field(data, NOTIFY_F_SOURCE_ASN));
	set_own(o, "fqdn", field(data, NOTIFY_F_SOURCE_FQDN));
	set_own(o, "url", field(data, NOTIFY_F_SOURCE_URL));
	set_own(o, "addr", addr_text(ev));
	set_str(o, "subject", subject_names[subject_of(ev)]);
	json_object_set_new(o, "has_ip", json_boolean(json_object_get(o, "ip")));
	json_object_set_new(o, "has_fqdn",
			    json_boolean(json_object_get(o, "fqdn")));
	json_object_set_new(o, "has_asn", json_boolean(json_object_get(o, "asn")));
	json_object_set_new(o, "has_url", json_boolean(json_object_get(o, "url")));
	json_object_set_new(o, "has_port",
			    json_boolean(json_object_get(o, "port")));
	set_str(o, "time_utc", utc);
	set_str(o, "time_jst", jst);
	set_own(o, "type", clean(ev->type));
	set_own(o, "identifier", field(data, NOTIFY_F_IDENTIFIER));
	set_own(o, "malware", field(data, NOTIFY_F_MALWARE));
	set_own(o, "protocol", protocol_text(data));
	set_own(o, "dest_ip", field(data, NOTIFY_F_DEST_IP));
	set_own(o, "dest_port", field(data, NOTIFY_F_DEST_PORT));
	json_object_set_new(o, "has_dest_port",
			    json_boolean(json_object_get(o, "dest_port")));
	json_object_set_new(o, "has_protocol",
			    json_boolean(json_object_get(o, "protocol")));
	set_own(o, "what", what);
	set_own(o, "feed", field(data, NOTIFY_F_FEED));
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

static const char *addr_header(enum subject subj, bool ja)
{
	switch (subj) {
	case SUBJ_IP: return ja ? "IP アドレス" : "IP address";
	case SUBJ_DOMAIN: return ja ? "ドメイン" : "Domain";
	case SUBJ_ASN: return ja ? "AS 番号" : "AS number";
	case SUBJ_OTHER: break;
	}
	return ja ? "対象" : "Address";
}

/* The evidence table: header row and one line per event, columns padded
 * to their widest cell; only the columns of cols; a URL goes on its own
 * indented line. */
static enum rk_err evidence_table(const struct row *rows, size_t n, bool ja,
				  const struct table_cols *cols,
				  struct rk_buf *out)
{
	const char *h_port = cols->kind == TABLE_SERVICE
				     ? (ja ? "ポート" : "Port")
				     : (ja ? "送信元ポート" : "Src port");
	const char *h[6] = {
		addr_header(cols->subject, ja), h_port,
		ja ? "宛先ポート" : "Dst port", ja ? "プロトコル" : "Protocol",
		ja ? "観測日時 (JST)" : "Time (UTC)", ja ? "内容" : "Observed",
	};
	bool on[6] = {true, cols->sport, cols->dport, cols->proto, true, true};
	size_t w[6];
	enum rk_err err = RK_OK;

	for (size_t c = 0; c < 6; c++)
		w[c] = rk_utf8_width(h[c]);
	for (size_t i = 0; i < n; i++) {
		const char *cell[5] = {rows[i].addr, rows[i].sport,
				       rows[i].dport, rows[i].proto,
				       rows[i].time};

		for (size_t c = 0; c < 5; c++)
			if (rk_utf8_width(cell[c]) > w[c])
				w[c] = rk_utf8_width(cell[c]);
	}
	for (size_t i = 0; !err && i <= n; i++) {
		const struct row *r = i ? &rows[i - 1] : NULL;
		const char *cell[6] = {NULL};

		if (r) {
			cell[0] = r->addr;
			cell[1] = r->sport[0] ? r->sport : "-";
			cell[2] = r->dport[0] ? r->dport : "-";
			cell[3] = r->proto[0] ? r->proto : "-";
			cell[4] = r->time;
			cell[5] = r->what;
		}
		err = rk_buf_adds(out, "  ");
		for (size_t c = 0; c < 6 && !err; c++) {
			if (!on[c])
				continue;
			err = c == 5 ? rk_buf_adds(out, r ? cell[c] : h[c])
				     : pad_to(out, r ? cell[c] : h[c], w[c] + 2);
		}
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

static char *or_empty(char *s)
{
	return s ? s : rk_strdup("");
}

static enum rk_err row_from_event(const struct store_event *ev,
				  const struct evdata *data, bool ja,
				  struct row *r)
{
	char t[RK_TIME_TEXT];

	memset(r, 0, sizeof(*r));
	rk_time_format(ev->time_source, ja ? JST_OFFSET_MIN : 0, t);
	r->addr = addr_text(ev);
	if (!r->addr)
		r->addr = rk_strdup("-");
	r->sport = or_empty(field(data, NOTIFY_F_SOURCE_PORT));
	r->dport = or_empty(field(data, NOTIFY_F_DEST_PORT));
	/* a service on the recipient's host: its port is the source port
	 * in Shadowserver-style reports, the destination port in others
	 * (a scanner's view); either way it is the service's port */
	if (r->sport && r->dport && !r->sport[0] && r->dport[0] &&
	    table_kind_of(ev->type) == TABLE_SERVICE) {
		free(r->sport);
		r->sport = r->dport;
		r->dport = rk_strdup("");
	}
	r->proto = or_empty(protocol_text(data));
	r->time = rk_strdup(t);
	r->what = field(data, NOTIFY_F_IDENTIFIER);
	if (!r->what)
		r->what = field(data, NOTIFY_F_MALWARE);
	if (!r->what)
		r->what = clean(ev->type);
	r->url = field(data, NOTIFY_F_SOURCE_URL);
	if (!r->addr || !r->sport || !r->dport || !r->proto || !r->time ||
	    !r->what)
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

enum rk_err notify_ticket_context(const struct rk_config *cfg,
				  const struct store_ticket *t,
				  const struct store_event *events, size_t n,
				  const char *signer_fpr, int64_t now,
				  json_t **out)
{
	return notify_ticket_context_fields(cfg, t, events, NULL, n,
					    signer_fpr, now, out);
}

/* The ticket's types, in the order the events show them, into types
 * ("scanner, malware-distribution"); *distinct how many. */
static void type_list(const struct store_event *events, size_t n,
		      struct rk_buf *types, size_t *distinct)
{
	const char *seen[16];
	size_t nseen = 0;

	*distinct = 0;
	for (size_t i = 0; i < n; i++) {
		const char *type = events[i].type;
		bool known = false;

		if (!type)
			continue;
		/* most tickets have one type: the last one seen first */
		for (size_t k = nseen; k-- > 0 && !known;)
			known = strcmp(seen[k], type) == 0;
		if (known)
			continue;
		if (nseen == RK_ARRAY_LEN(seen)) {
			/* many types: every earlier event is the list */
			for (size_t k = 0; k < i && !known; k++)
				known = events[k].type &&
					strcmp(events[k].type, type) == 0;
			if (known)
				continue;
		} else {
			seen[nseen++] = type;
		}
		if (rk_buf_addf(types, "%s%s", *distinct ? ", " : "", type) !=
		    RK_OK)
			break;
		(*distinct)++;
	}
}

enum rk_err notify_ticket_context_fields(const struct rk_config *cfg,
					 const struct store_ticket *t,
					 const struct store_event *events,
					 const struct notify_fieldset *fields,
					 size_t n, const char *signer_fpr,
					 int64_t now, json_t **out)
{
	struct notify_fieldset own;
	const char *last_type = NULL;
	enum table_kind last_kind = TABLE_GENERIC;
	const struct store_chain_entry *who = chain_entry(t);
	bool ja = t->lang && strcmp(t->lang, "ja") == 0;
	size_t shown = n < RK_MAX_NOTICE_ROWS ? n : RK_MAX_NOTICE_ROWS;
	struct row *rows = calloc(shown ? shown : 1, sizeof(*rows));
	json_t *ctx = json_object(), *list = json_array(), *relay, *ticket;
	struct rk_buf table, tag, csv;
	char now_text[RK_TIME_TEXT], first[RK_TIME_TEXT], last[RK_TIME_TEXT];
	int64_t tmin = 0, tmax = 0;
	struct table_cols cols = {.kind = TABLE_GENERIC,
				  .subject = SUBJ_OTHER};
	struct {
		bool any_ip, any_url, all_url, any_dport, all_dport, any_proto;
	} flags = {.all_url = true, .all_dport = true};
	enum rk_err err = RK_OK;

	rk_buf_init(&table, RK_MAX_RENDERED);
	rk_buf_init(&tag, 256);
	rk_buf_init(&csv, RK_MAX_ATTACHMENT);
	notify_fieldset_init(&own);
	*out = NULL;
	if (!rows || !ctx || !list) {
		err = RK_ERR_NOMEM;
		goto cleanup;
	}
	if (!fields) {
		if ((err = notify_fieldset_read(&own, events, n)))
			goto cleanup;
		fields = &own;
	}
	if (fields->n < n) {
		err = RK_ERR_INTERNAL; /* not these events' fields */
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++) {
		enum subject subj = subject_of(&events[i]);
		enum table_kind kind;
		struct evdata data = {fields, &fields->ev[i]};
		bool url, dport, proto;

		/* runs of events share a type: its kind looked up once */
		if (!events[i].type || !last_type ||
		    strcmp(events[i].type, last_type) != 0) {
			last_type = events[i].type;
			last_kind = table_kind_of(last_type);
		}
		kind = last_kind;
		if (i == 0 || events[i].time_source < tmin)
			tmin = events[i].time_source;
		if (i == 0 || events[i].time_source > tmax)
			tmax = events[i].time_source;
		/* what every event has, or some: so that a sentence can be
		 * true for all of them */
		url = has_field(&data, NOTIFY_F_SOURCE_URL);
		dport = has_field(&data, NOTIFY_F_DEST_PORT);
		proto = has_field(&data, NOTIFY_F_PROTO_APPLICATION) ||
			has_field(&data, NOTIFY_F_PROTO_TRANSPORT);
		if (i == 0) {
			cols.subject = subj;
			cols.kind = kind;
		}
		if (cols.subject != subj)
			cols.subject = SUBJ_OTHER;
		if (cols.kind != kind)
			cols.kind = TABLE_GENERIC;
		flags.any_ip |= subj == SUBJ_IP;
		flags.any_url |= url;
		flags.all_url &= url;
		flags.any_dport |= dport;
		flags.all_dport &= dport;
		flags.any_proto |= proto;
		if (i < shown) {
			json_t *ev = event_json(&events[i], &data);

			if (!ev || json_array_append_new(list, ev) ||
			    (err = row_from_event(&events[i], &data, ja,
						  &rows[i]))) {
				err = err ? err : RK_ERR_NOMEM;
				goto cleanup;
			}
		}
	}
	/* the columns: those the shown rows have something for */
	for (size_t i = 0; i < shown; i++) {
		bool sport = rows[i].sport[0], dport = rows[i].dport[0];
		bool proto = rows[i].proto[0];

		switch (cols.kind) {
		case TABLE_ATTACK:
			cols.dport |= dport;
			cols.proto |= proto;
			break;
		case TABLE_SERVICE:
			cols.sport |= sport;
			cols.proto |= proto;
			break;
		case TABLE_INFECTED:
			cols.sport |= sport;
			break;
		case TABLE_URL:
			break;
		case TABLE_GENERIC:
			cols.sport |= sport;
			cols.dport |= dport;
			cols.proto |= proto;
			break;
		}
	}
	if (!n)
		flags.all_url = flags.all_dport = false;
	if ((err = evidence_table(rows, shown, ja, &cols, &table)) ||
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
	/* a ticket of the default template may hold several types: "type"
	 * names them all, in the order the events show them */
	{
		struct rk_buf types;
		size_t distinct = 0;

		rk_buf_init(&types, 4096);
		type_list(events, n, &types, &distinct);
		set_own(ctx, "type", clean(distinct ? types.data : t->template_name));
		json_object_set_new(ctx, "types_multiple",
				    json_boolean(distinct > 1));
		rk_buf_release(&types);
	}
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
	/* what the events are about, and what they carry (docs/templates.md):
	 * a template says only what is true for every event */
	set_str(ctx, "subject", subject_names[cols.subject]);
	json_object_set_new(ctx, "subject_ip",
			    json_boolean(n && cols.subject == SUBJ_IP));
	json_object_set_new(ctx, "subject_domain",
			    json_boolean(n && cols.subject == SUBJ_DOMAIN));
	json_object_set_new(ctx, "subject_asn",
			    json_boolean(n && cols.subject == SUBJ_ASN));
	json_object_set_new(ctx, "subject_mixed",
			    json_boolean(!n || cols.subject == SUBJ_OTHER));
	json_object_set_new(ctx, "any_ip", json_boolean(flags.any_ip));
	json_object_set_new(ctx, "any_url", json_boolean(flags.any_url));
	json_object_set_new(ctx, "all_url", json_boolean(flags.all_url));
	json_object_set_new(ctx, "any_dest_port",
			    json_boolean(flags.any_dport));
	json_object_set_new(ctx, "all_dest_port",
			    json_boolean(flags.all_dport));
	json_object_set_new(ctx, "any_protocol", json_boolean(flags.any_proto));
	json_object_set_new(ctx, "columns",
			    json_pack("{s:b, s:b, s:b, s:b}", "port",
				      cols.kind == TABLE_SERVICE && cols.sport,
				      "src_port",
				      cols.kind != TABLE_SERVICE && cols.sport,
				      "dest_port", cols.dport, "protocol",
				      cols.proto));
	json_object_set_new(ctx, "events", list);
	list = NULL;
	{
		enum notify_attach attach = notify_attach_for(t->format);
		char csv_name[64], json_name[64];

		snprintf(csv_name, sizeof(csv_name), "events-%s.csv", t->id);
		snprintf(json_name, sizeof(json_name), "events-%s.json", t->id);
		if (attach == NOTIFY_ATTACH_CSV_INLINE) {
			if ((err = notify_events_csv_fields(events, fields, n,
							    &csv)))
				goto cleanup;
			json_object_set_new(ctx, "csv",
					    json_pack("{s:b, s:b, s:s}",
						      "attached", 0, "inline", 1,
						      "text", csv.data));
		} else {
			json_object_set_new(ctx, "csv",
					    json_pack("{s:b, s:b, s:s}",
						      "attached",
						      attach != NOTIFY_ATTACH_JSON,
						      "inline", 0, "filename",
						      csv_name));
		}
		if (attach == NOTIFY_ATTACH_JSON)
			json_object_set_new(ctx, "json",
					    json_pack("{s:b, s:s}", "attached", 1,
						      "filename", json_name));
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
	rk_time_format(now, 0, now_text);
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
	notify_fieldset_release(&own);
	return err;
}
