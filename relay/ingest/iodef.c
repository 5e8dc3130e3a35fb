/*
 * IODEF v2 (RFC 7970) XML documents, and IODEF 1.0 (RFC 5070) whose
 * classes the walk shares, parsed with libxml2:
 *
 *   IODEF-Document / Incident / EventData (nested) / Flow / System
 *   (category source or target) / Node / Address, DomainData/Name
 *   (v2) or NodeName (1.0), Service / Port
 *
 * with the incident's (or an EventData's own) Assessment (SystemImpact,
 * 1.0 Impact: type -> classification.type, severity), DetectTime,
 * StartTime, EndTime, ReportTime, GenerationTime, IncidentID and the
 * reporter's Contact.  One record per address (or name) of every source
 * System; the first target System of the same Flow gives destination.*.
 *
 * The parser reads nothing but the bytes it is given: no network
 * (XML_PARSE_NONET), no DTD loading or validation, no entity
 * substitution, and a document with a DOCTYPE is refused outright (IODEF
 * needs none; refusing it is what keeps an external entity from ever
 * being declared, so nothing is fetched or read whatever the libxml2
 * version).  Its external entity resolver is replaced by one that
 * resolves nothing, as a second fence.  Nesting is bounded by
 * RK_MAX_XML_DEPTH and the element count by RK_MAX_XML_ELEMENTS, checked
 * while parsing; the size by [ingest] max_file.  A record's line is the
 * line of its element (xmlGetLineNo).
 */
#include <stdlib.h>
#include <string.h>

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>

#include "private.h"

#define IODEF_NS2 "urn:ietf:params:xml:ns:iodef-2.0"
#define IODEF_NS1 "urn:ietf:params:xml:ns:iodef-1.0"
/* How far into a file detection looks for the root element. */
#define IODEF_SNIFF 4096

/* Checks made while libxml2 parses (ctxt->_private). */
struct parse_guard {
	int depth;
	long elements;
	bool too_deep, too_many, has_dtd;
	long line;           /* where the parse was stopped */
	char error[200];     /* the first parser error */
	long error_line;
};

struct iodef_reader {
	struct ingest_queue q; /* the records of the incident being read */
	const xmlChar *ns;   /* the document's IODEF namespace (static) */
	xmlDocPtr doc;       /* owned */
	xmlNode *next;       /* the next Incident to read, NULL = done */
};

/* ------------------------------------------------------------ parsing */

static void stop(xmlParserCtxtPtr ctxt, struct parse_guard *g)
{
	g->line = xmlSAX2GetLineNumber(ctxt);
	xmlStopParser(ctxt);
}

static void guard_start(void *ctx, const xmlChar *localname,
			const xmlChar *prefix, const xmlChar *uri,
			int nb_namespaces, const xmlChar **namespaces,
			int nb_attributes, int nb_defaulted,
			const xmlChar **attributes)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct parse_guard *g = ctxt->_private;

	if (++g->depth > RK_MAX_XML_DEPTH) {
		g->too_deep = true;
		stop(ctxt, g);
		return;
	}
	if (++g->elements > RK_MAX_XML_ELEMENTS) {
		g->too_many = true;
		stop(ctxt, g);
		return;
	}
	xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces,
			      namespaces, nb_attributes, nb_defaulted,
			      attributes);
}

static void guard_end(void *ctx, const xmlChar *localname,
		      const xmlChar *prefix, const xmlChar *uri)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct parse_guard *g = ctxt->_private;

	g->depth--;
	xmlSAX2EndElementNs(ctx, localname, prefix, uri);
}

/* <!DOCTYPE ...>: refused before its internal subset is read. */
static void guard_doctype(void *ctx, const xmlChar *name,
			  const xmlChar *external_id, const xmlChar *system_id)
{
	xmlParserCtxtPtr ctxt = ctx;

	(void)name;
	(void)external_id;
	(void)system_id;
	((struct parse_guard *)ctxt->_private)->has_dtd = true;
	stop(ctxt, ctxt->_private);
}

static xmlParserInputPtr resolve_nothing(void *ctx, const xmlChar *public_id,
					 const xmlChar *system_id)
{
	(void)ctx;
	(void)public_id;
	(void)system_id;
	return NULL;
}

static void no_external_subset(void *ctx, const xmlChar *name,
			       const xmlChar *external_id,
			       const xmlChar *system_id)
{
	(void)ctx;
	(void)name;
	(void)external_id;
	(void)system_id;
}

/* Parser errors are kept (the first), never printed.  data is the
 * context's userData: the context. */
static void keep_error(void *data, xmlErrorPtr e)
{
	xmlParserCtxtPtr ctxt = data;
	struct parse_guard *g = ctxt->_private;
	size_t n;

	if (!e || g->error[0] || e->level < XML_ERR_ERROR)
		return;
	snprintf(g->error, sizeof(g->error), "%s",
		 e->message ? e->message : "parse error");
	n = strlen(g->error);
	while (n && (g->error[n - 1] == '\n' || g->error[n - 1] == ' '))
		g->error[--n] = '\0';
	g->error_line = e->line;
}

/* The document in data, or NULL with the reason. */
static xmlDocPtr parse(const char *data, size_t len, char *reason,
		       size_t reason_len)
{
	struct parse_guard g;
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc;

	if (len > INT32_MAX) {
		snprintf(reason, reason_len, "IODEF document is too large");
		return NULL;
	}
	memset(&g, 0, sizeof(g));
	ctxt = xmlCreateMemoryParserCtxt(data, (int)len);
	if (!ctxt) {
		snprintf(reason, reason_len, "not an IODEF document: empty");
		return NULL;
	}
	/* No XML_PARSE_NOENT, DTDLOAD, DTDATTR, DTDVALID, XINCLUDE or
	 * HUGE. */
	xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_BIG_LINES |
					XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
					XML_PARSE_IGNORE_ENC);
	ctxt->_private = &g;
	ctxt->sax->startElementNs = guard_start;
	ctxt->sax->endElementNs = guard_end;
	ctxt->sax->internalSubset = guard_doctype;
	ctxt->sax->externalSubset = no_external_subset;
	ctxt->sax->resolveEntity = resolve_nothing;
	ctxt->sax->serror = keep_error;
	ctxt->sax->error = NULL;
	ctxt->sax->warning = NULL;
	ctxt->sax->fatalError = NULL;
	ctxt->vctxt.error = NULL;
	ctxt->vctxt.warning = NULL;
	ctxt->replaceEntities = 0;
	ctxt->loadsubset = 0;
	ctxt->validate = 0;
	xmlParseDocument(ctxt);
	doc = ctxt->myDoc;
	ctxt->myDoc = NULL;
	if (g.has_dtd)
		snprintf(reason, reason_len,
			 "IODEF document has a DOCTYPE (line %ld): DTDs and "
			 "entities are never read (IODEF needs neither)",
			 g.line);
	else if (g.too_deep)
		snprintf(reason, reason_len,
			 "IODEF document nests elements deeper than "
			 "RK_MAX_XML_DEPTH (%d) at line %ld",
			 RK_MAX_XML_DEPTH, g.line);
	else if (g.too_many)
		snprintf(reason, reason_len,
			 "IODEF document has more than RK_MAX_XML_ELEMENTS "
			 "(%u) elements (line %ld)",
			 RK_MAX_XML_ELEMENTS, g.line);
	else if (!ctxt->wellFormed || !doc)
		snprintf(reason, reason_len,
			 "not well-formed XML (line %ld): %s",
			 g.error_line ? g.error_line : g.line,
			 g.error[0] ? g.error : "parse error");
	if (g.has_dtd || g.too_deep || g.too_many || !ctxt->wellFormed ||
	    !doc) {
		xmlFreeDoc(doc);
		doc = NULL;
	}
	xmlFreeParserCtxt(ctxt);
	return doc;
}

/* ------------------------------------------------------------ tree */

static bool is_el(const xmlNode *n, const char *name, const xmlChar *ns)
{
	return n && n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
	       xmlStrEqual(n->ns->href, ns) &&
	       xmlStrEqual(n->name, (const xmlChar *)name);
}

static xmlNode *first_child(const xmlNode *n, const char *name,
			    const xmlChar *ns)
{
	for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
		if (is_el(c, name, ns))
			return c;
	return NULL;
}

static xmlNode *next_sibling(const xmlNode *n, const char *name,
			     const xmlChar *ns)
{
	for (xmlNode *c = n->next; c; c = c->next)
		if (is_el(c, name, ns))
			return c;
	return NULL;
}

#define EACH_CHILD(var, parent, name, ns)                                  \
	for (xmlNode *var = first_child(parent, name, ns); var;            \
	     var = next_sibling(var, name, ns))

/* The text of n, trimmed, into a JSON string (NULL when empty). */
static json_t *text_json(const xmlNode *n)
{
	xmlChar *c = n ? xmlNodeGetContent(n) : NULL;
	const char *s = (const char *)c, *e;
	json_t *v = NULL;

	if (!c)
		return NULL;
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
			 e[-1] == '\n'))
		e--;
	if (e > s)
		v = json_stringn(s, (size_t)(e - s));
	xmlFree(c);
	return v;
}

/* Set field to the text of n when there is any; -1 out of memory. */
static int set_text(json_t *obj, const char *field, const xmlNode *n)
{
	json_t *v = text_json(n);

	return v ? json_object_set_new(obj, field, v) : 0;
}

/* An attribute into out (truncated), "" when absent. */
static const char *attr(const xmlNode *n, const char *name, char *out,
			size_t len)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)name);

	snprintf(out, len, "%s", v ? (const char *)v : "");
	xmlFree(v);
	return out;
}

/* ------------------------------------------------------------ mapping */

/* Impact types (v2 SystemImpact, 1.0 Impact) and IntelMQ types. */
static const struct {
	const char *impact, *type;
} impact_types[] = {
	/* RFC 7970 SystemImpact */
	{"takeover-account", "unprivileged-account-compromise"},
	{"takeover-service", "application-compromise"},
	{"takeover-system", "system-compromise"},
	{"cps-manipulation", "system-compromise"},
	{"cps-damage", "sabotage"},
	{"availability-data", "dos"},
	{"availability-account", "dos"},
	{"availability-service", "dos"},
	{"availability-system", "dos"},
	{"damaged-system", "sabotage"},
	{"damaged-data", "data-loss"},
	{"breach-proprietary", "data-leak"},
	{"breach-privacy", "data-leak"},
	{"breach-credential", "data-leak"},
	{"breach-configuration", "data-leak"},
	{"integrity-data", "unauthorised-information-modification"},
	{"integrity-configuration", "unauthorised-information-modification"},
	{"integrity-hardware", "system-compromise"},
	{"traffic-redirection", "masquerade"},
	{"monitoring-traffic", "sniffing"},
	{"monitoring-host", "system-compromise"},
	{"policy", "other"},
	/* RFC 5070 Impact */
	{"admin", "privileged-account-compromise"},
	{"user", "unprivileged-account-compromise"},
	{"dos", "dos"},
	{"extortion", "other"},
	{"file", "unauthorised-information-modification"},
	{"info-leak", "data-leak"},
	{"misconfiguration", "vulnerable-system"},
	{"recon", "scanner"},
	{"social-engineering", "social-engineering"},
	{"unknown", "undetermined"},
};

static const char *type_of_impact(const char *impact)
{
	for (size_t i = 0; i < RK_ARRAY_LEN(impact_types); i++)
		if (strcmp(impact, impact_types[i].impact) == 0)
			return impact_types[i].type;
	return NULL;
}

/* What the records of an incident or EventData share. */
struct scope {
	json_t *fields;  /* owned */
	int severity;    /* -1 = the normalizer's */
};

/* The times of n (an Incident or EventData) into s, each as extra.*;
 * time.source is this scope's DetectTime, else its StartTime, else the
 * inherited one, else ReportTime, GenerationTime or EndTime. */
static int add_times(struct scope *s, const xmlNode *n, const xmlChar *ns)
{
	static const struct {
		const char *el, *extra;
		bool event_time; /* beats an inherited time.source */
	} times[] = {{"DetectTime", "extra.detect_time", true},
		     {"StartTime", "extra.start_time", true},
		     {"ReportTime", "extra.report_time", false},
		     {"GenerationTime", "extra.generation_time", false},
		     {"EndTime", "extra.end_time", false}};
	bool set_here = false;

	for (size_t i = 0; i < RK_ARRAY_LEN(times); i++) {
		json_t *v = text_json(first_child(n, times[i].el, ns));

		if (!v)
			continue;
		if (!set_here &&
		    (times[i].event_time ||
		     !json_object_get(s->fields, "time.source"))) {
			if (json_object_set(s->fields, "time.source", v)) {
				json_decref(v);
				return -1;
			}
			set_here = true;
		}
		if (json_object_set_new(s->fields, times[i].extra, v))
			return -1;
	}
	return 0;
}

/* Assessment of n: the first impact with a type gives
 * classification.type and extra.impact, its severity the event's. */
static int add_assessment(struct scope *s, const xmlNode *n,
			  const xmlChar *ns)
{
	char type[64], sev[16];

	EACH_CHILD(a, n, "Assessment", ns) {
		static const char *const impacts[] = {"SystemImpact",
						      "Impact"};

		for (size_t k = 0; k < RK_ARRAY_LEN(impacts); k++) {
			EACH_CHILD(i, a, impacts[k], ns) {
				const char *t;

				attr(i, "type", type, sizeof(type));
				if (!type[0])
					continue;
				t = type_of_impact(type);
				if (json_object_set_new(s->fields,
							"classification.type",
							json_string(t ? t
								      : "other")) ||
				    json_object_set_new(s->fields,
							"extra.impact",
							json_string(type)))
					return -1;
				attr(i, "severity", sev, sizeof(sev));
				if (strcmp(sev, "low") == 0)
					s->severity = RK_SEV_LOW;
				else if (strcmp(sev, "medium") == 0)
					s->severity = RK_SEV_MEDIUM;
				else if (strcmp(sev, "high") == 0)
					s->severity = RK_SEV_HIGH;
				return 0;
			}
		}
	}
	return 0;
}

/* The reporter: the first Contact with role creator, reporter or irt,
 * else the first. */
static int add_contact(struct scope *s, const xmlNode *incident,
		       const xmlChar *ns)
{
	xmlNode *pick = NULL, *name;
	char role[32];

	EACH_CHILD(c, incident, "Contact", ns) {
		attr(c, "role", role, sizeof(role));
		if (!pick)
			pick = c;
		if (strcmp(role, "creator") == 0 ||
		    strcmp(role, "reporter") == 0 || strcmp(role, "irt") == 0) {
			pick = c;
			break;
		}
	}
	if (!pick)
		return 0;
	name = first_child(pick, "ContactName", ns);
	if (set_text(s->fields, "extra.reporter_name", name) ||
	    set_text(s->fields, "feed.provider", name) ||
	    set_text(s->fields, "extra.reporter_email",
		     first_child(pick, "Email", ns)))
		return -1;
	return 0;
}

/* ------------------------------------------------------------ systems */

/* Address categories that name a subject, and how. */
enum addr_kind { ADDR_NONE, ADDR_IP, ADDR_NET, ADDR_ASN, ADDR_URL };

static enum addr_kind addr_kind(const char *category)
{
	if (!*category || strcmp(category, "ipv4-addr") == 0 ||
	    strcmp(category, "ipv6-addr") == 0)
		return ADDR_IP;
	if (strncmp(category, "ipv4-net", 8) == 0 ||
	    strncmp(category, "ipv6-net", 8) == 0)
		return ADDR_NET;
	if (strcmp(category, "asn") == 0)
		return ADDR_ASN;
	if (strcmp(category, "site-uri") == 0)
		return ADDR_URL;
	return ADDR_NONE;
}

/* side "source" or "destination": one address into obj. */
static int set_address(json_t *obj, const char *side, const xmlNode *a,
		       enum addr_kind kind)
{
	char field[40];
	json_t *v = text_json(a);
	const char *s, *slash;
	int rc;

	if (!v)
		return 0;
	s = json_string_value(v);
	switch (kind) {
	case ADDR_NET:
		slash = strchr(s, '/');
		snprintf(field, sizeof(field), "%s.ip", side);
		rc = json_object_set_new(obj, field,
					 json_stringn(s, slash ? (size_t)(slash - s)
							       : strlen(s)));
		snprintf(field, sizeof(field), "%s.network", side);
		break;
	case ADDR_ASN:
		snprintf(field, sizeof(field), "%s.asn", side);
		rc = 0;
		break;
	case ADDR_URL:
		snprintf(field, sizeof(field), "%s.url", side);
		rc = 0;
		break;
	default:
		snprintf(field, sizeof(field), "%s.ip", side);
		rc = 0;
	}
	if (rc) {
		json_decref(v);
		return -1;
	}
	return json_object_set_new(obj, field, v);
}

/* Node name and service of system (side source or destination). */
static int set_system_extras(json_t *obj, const char *side,
			     const xmlNode *system, const xmlChar *ns)
{
	xmlNode *node = first_child(system, "Node", ns);
	xmlNode *domain = first_child(node, "DomainData", ns);
	xmlNode *name = domain ? first_child(domain, "Name", ns)
			       : first_child(node, "NodeName", ns);
	xmlNode *service = first_child(system, "Service", ns);
	char field[40], proto[8];

	snprintf(field, sizeof(field), "%s.fqdn", side);
	if (name && set_text(obj, field, name))
		return -1;
	if (!service)
		return 0;
	snprintf(field, sizeof(field), "%s.port", side);
	if (set_text(obj, field, first_child(service, "Port", ns)))
		return -1;
	attr(service, "ip-protocol", proto, sizeof(proto));
	if (strcmp(proto, "6") == 0 || strcmp(proto, "17") == 0 ||
	    strcmp(proto, "1") == 0)
		return json_object_set_new(
			obj, "protocol.transport",
			json_string(proto[0] == '6'   ? "tcp"
				    : proto[1] == '7' ? "udp"
						      : "icmp"));
	return 0;
}

/* The first target System of flow into obj as destination.*. */
static int set_target(json_t *obj, const xmlNode *flow, const xmlChar *ns)
{
	char cat[32];

	EACH_CHILD(sys, flow, "System", ns) {
		xmlNode *node = first_child(sys, "Node", ns);

		if (strcmp(attr(sys, "category", cat, sizeof(cat)),
			   "target") != 0)
			continue;
		EACH_CHILD(a, node, "Address", ns) {
			enum addr_kind k = addr_kind(
				attr(a, "category", cat, sizeof(cat)));

			if (k == ADDR_IP || k == ADDR_NET) {
				if (set_address(obj, "destination", a, k))
					return -1;
				break;
			}
		}
		return set_system_extras(obj, "destination", sys, ns);
	}
	return 0;
}

/* A record of scope for one source address (or none: the name only);
 * target holds the flow's destination.* fields. */
static enum rk_err push_record(struct iodef_reader *r, const struct scope *s,
			       json_t *target, const xmlNode *sys,
			       const xmlNode *a, enum addr_kind kind,
			       const xmlChar *ns)
{
	json_t *obj = json_copy(s->fields);

	if (!obj || (a && set_address(obj, "source", a, kind)) ||
	    set_system_extras(obj, "source", sys, ns) ||
	    json_object_update(obj, target)) {
		json_decref(obj);
		return RK_ERR_NOMEM;
	}
	return ingest_queue_push(&r->q, xmlGetLineNo(a ? a : sys), obj,
				 s->severity, NULL);
}

/* Every source System of flow: its records. *found counts them. */
static enum rk_err read_flow(struct iodef_reader *r, const struct scope *s,
			     const xmlNode *flow, long *found)
{
	const xmlChar *ns = r->ns;
	char cat[32];
	json_t *target = json_object(); /* once per flow */
	enum rk_err err = RK_OK;

	if (!target || set_target(target, flow, ns)) {
		json_decref(target);
		return RK_ERR_NOMEM;
	}
	EACH_CHILD(sys, flow, "System", ns) {
		xmlNode *node = first_child(sys, "Node", ns);
		xmlNode *domain = first_child(node, "DomainData", ns);
		long here = 0;

		if (strcmp(attr(sys, "category", cat, sizeof(cat)),
			   "source") != 0)
			continue;
		(*found)++;
		EACH_CHILD(a, node, "Address", ns) {
			enum addr_kind k = addr_kind(
				attr(a, "category", cat, sizeof(cat)));

			if (k == ADDR_NONE)
				continue;
			if ((err = push_record(r, s, target, sys, a, k, ns)))
				goto cleanup;
			here++;
		}
		if (here)
			continue;
		if ((domain && first_child(domain, "Name", ns)) ||
		    first_child(node, "NodeName", ns)) {
			if ((err = push_record(r, s, target, sys, NULL,
					       ADDR_NONE, ns)))
				goto cleanup;
			continue;
		}
		if ((err = ingest_queue_reject(
			     &r->q, xmlGetLineNo(sys),
			     "element System (category source) has no "
			     "Node with an IP address, network, ASN, "
			     "site-uri or a name")))
			goto cleanup;
	}
cleanup:
	json_decref(target);
	return err;
}

/* An EventData (or, at the top, the Incident itself: its EventData
 * children) under the inherited scope. */
static enum rk_err read_event_data(struct iodef_reader *r,
				   const struct scope *parent,
				   const xmlNode *ed, long *found)
{
	const xmlChar *ns = r->ns;
	struct scope s = {json_copy(parent->fields), parent->severity};
	enum rk_err err = RK_OK;

	if (!s.fields || add_times(&s, ed, ns) || add_assessment(&s, ed, ns) ||
	    set_text(s.fields, "event_description.text",
		     first_child(ed, "Description", ns))) {
		err = RK_ERR_NOMEM;
		goto cleanup;
	}
	EACH_CHILD(flow, ed, "Flow", ns) {
		if ((err = read_flow(r, &s, flow, found)))
			goto cleanup;
	}
	EACH_CHILD(child, ed, "EventData", ns) {
		if ((err = read_event_data(r, &s, child, found)))
			goto cleanup;
	}
cleanup:
	json_decref(s.fields);
	return err;
}

static enum rk_err read_incident(struct iodef_reader *r, const xmlNode *inc)
{
	const xmlChar *ns = r->ns;
	struct scope s = {json_object(), -1};
	xmlNode *id = first_child(inc, "IncidentID", ns);
	char buf[128];
	long found = 0;
	enum rk_err err = RK_OK;

	if (!s.fields ||
	    json_object_set_new(s.fields, "feed.name", json_string("IODEF")) ||
	    json_object_set_new(s.fields, "classification.type",
				json_string("undetermined")) ||
	    set_text(s.fields, "extra.incident_id", id) ||
	    (id && *attr(id, "name", buf, sizeof(buf)) &&
	     json_object_set_new(s.fields, "extra.incident_id_name",
				 json_string(buf))) ||
	    (*attr(inc, "purpose", buf, sizeof(buf)) &&
	     json_object_set_new(s.fields, "extra.purpose",
				 json_string(buf))) ||
	    add_times(&s, inc, ns) || add_assessment(&s, inc, ns) ||
	    add_contact(&s, inc, ns) ||
	    set_text(s.fields, "event_description.text",
		     first_child(inc, "Description", ns))) {
		err = RK_ERR_NOMEM;
		goto cleanup;
	}
	EACH_CHILD(ed, inc, "EventData", ns) {
		if ((err = read_event_data(r, &s, ed, &found)))
			goto cleanup;
	}
	if (!found) {
		json_t *idv = json_object_get(s.fields, "extra.incident_id");

		err = ingest_queue_reject(
			&r->q, xmlGetLineNo(inc),
			"element Incident%s%.64s%s has no EventData/Flow/System "
			"with category source: nobody to notify",
			idv ? " (IncidentID " : "",
			idv ? json_string_value(idv) : "", idv ? ")" : "");
	}
cleanup:
	json_decref(s.fields);
	return err;
}

/* ------------------------------------------------------------ format */

/* Data after a BOM and white space starts with '<'. */
static const char *xml_start(const char *data, size_t *len)
{
	data = ingest_skip_bom(data, len);
	while (*len && (*data == ' ' || *data == '\t' || *data == '\r' ||
			*data == '\n')) {
		data++;
		(*len)--;
	}
	return *len && *data == '<' ? data : NULL;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && rk_str_ieq(s + n - k, suffix);
}

static int iodef_detect(const char *name, const char *data, size_t len)
{
	const char *p = xml_start(data, &len);
	size_t n = len < IODEF_SNIFF ? len : IODEF_SNIFF;

	/* Any XML is read as IODEF (whose reader says why it is not);
	 * the root element and namespace with an .xml name are sure. */
	if (!p)
		return 0;
	if (!memmem(p, n, "IODEF-Document", 14) ||
	    !memmem(p, n, "urn:ietf:params:xml:ns:iodef-", 29))
		return 1;
	return name && (has_suffix(name, ".xml") || has_suffix(name, ".iodef"))
		       ? 2
		       : 1;
}

static void iodef_close(void *reader)
{
	struct iodef_reader *r = reader;

	if (!r)
		return;
	ingest_queue_release(&r->q);
	xmlFreeDoc(r->doc);
	free(r);
}

static enum rk_err iodef_open(const struct ingest_source *src, void **out,
			      char *reason, size_t reason_len)
{
	struct iodef_reader *r;
	xmlDocPtr doc;
	xmlNode *root;
	enum rk_err err = RK_OK;

	*out = NULL;
	if (!src->len || !xml_start(src->data, &(size_t){src->len})) {
		snprintf(reason, reason_len,
			 "not an IODEF document: not XML (no '<' at the "
			 "start)");
		return RK_ERR_PARSE;
	}
	/* IODEF is read as UTF-8 only (what CSIRTs exchange): checked here,
	 * and libxml2 is told to ignore any other encoding declared, so
	 * that it converts nothing. */
	{
		char why[INGEST_REASON];

		if (!ingest_text_check(src->data, src->len, why, sizeof(why))) {
			snprintf(reason, reason_len,
				 "not an IODEF document: %s (IODEF is read as UTF-8)",
				 why);
			return RK_ERR_PARSE;
		}
	}
	doc = parse(src->data, src->len, reason, reason_len);
	if (!doc)
		return RK_ERR_PARSE;
	root = xmlDocGetRootElement(doc);
	r = calloc(1, sizeof(*r));
	if (!r) {
		xmlFreeDoc(doc);
		return RK_ERR_NOMEM;
	}
	r->doc = doc;
	if (is_el(root, "IODEF-Document", (const xmlChar *)IODEF_NS2)) {
		r->ns = (const xmlChar *)IODEF_NS2;
	} else if (is_el(root, "IODEF-Document",
			 (const xmlChar *)IODEF_NS1)) {
		r->ns = (const xmlChar *)IODEF_NS1; /* the classes we read
						       are the same */
	} else {
		snprintf(reason, reason_len,
			 "not an IODEF document: the root element is '%.64s' "
			 "in namespace '%.100s' (IODEF v2 is IODEF-Document "
			 "in " IODEF_NS2 ")",
			 root ? (const char *)root->name : "",
			 root && root->ns && root->ns->href
				 ? (const char *)root->ns->href
				 : "");
		err = RK_ERR_PARSE;
		goto cleanup;
	}
	/* Incidents are read one at a time by next(): the records queued
	 * are one incident's, not the document's. */
	r->next = first_child(root, "Incident", r->ns);
	if (!r->next) {
		snprintf(reason, reason_len,
			 "not an IODEF document with incidents: no Incident "
			 "element");
		err = RK_ERR_PARSE;
	}
cleanup:
	if (err) {
		iodef_close(r);
		return err;
	}
	*out = r;
	return RK_OK;
}

static enum rk_err iodef_next(void *reader, struct ingest_record *rec)
{
	struct iodef_reader *r = reader;
	enum rk_err err;

	rec->what = "element";
	while (r->q.head == r->q.len && r->next) {
		xmlNode *inc = r->next;

		r->next = next_sibling(inc, "Incident", r->ns);
		if ((err = read_incident(r, inc)))
			return err;
	}
	return ingest_queue_next(&r->q, rec);
}

const struct ingest_format_ops ingest_format_iodef = {
	.name = "iodef",
	.id = INGEST_FORMAT_IODEF,
	.label = "IODEF XML",
	.detect = iodef_detect,
	.open = iodef_open,
	.next = iodef_next,
	.close = iodef_close,
};
